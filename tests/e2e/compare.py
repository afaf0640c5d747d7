#!/usr/bin/env python3
"""Compare the emulator's records (GET /__emu/dump/TYPE) with crmsync's local
tables, field by field. Prints one line per difference and exits 1 if any.

  compare.py [--allow-local] EMU_URL DB UNIT=SObject[?Field] ...
  compare.py [--allow-local] --backend=postgres [--schema=NAME] EMU_URL CONNINFO
             UNIT=SObject[?Field] ...

--backend names the store as [storage] backend does: sqlite (the default; DB
is the database file, read with Python's sqlite3 module) or postgres (CONNINFO
is a libpq connection string and NAME the sync's schema, default crmsync; the
tables are read with psql, so no Python driver is needed).

"?Field" limits the CRM side to records whose Field is set (the unit's sync
filter, e.g. task=Task?WhoId: only activities tied to a person).

Rules: every live CRM record has a live local row with equal values in every
column the local table has; every local live row with a CRM id exists live in
the CRM (no stale rows); a record deleted in the CRM is a tombstone or absent
locally; no two CRM records carry the same crmsync_Key__c (no duplicate
creates); local rows without a CRM id are reported unless --allow-local.
"""
import json
import sqlite3
import subprocess
import sys
import urllib.request
from datetime import datetime, timezone

BOOKKEEPING = {"local_id", "id", "is_deleted", "crm_modstamp", "merged_into",
               "sync_state", "sync_mark"}


def norm(v):
    """Normalise a value from either side to a comparable Python value."""
    if v is None:
        return None
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str) and len(v) >= 19 and v[4] == '-' and v[10] == 'T':
        s = v.replace('Z', '+0000')
        if len(s) > 5 and s[-3] == ':':
            s = s[:-3] + s[-2:]
        for fmt in ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z"):
            try:
                d = datetime.strptime(s, fmt)
                return round(d.astimezone(timezone.utc).timestamp() * 1000)
            except ValueError:
                pass
    return v


def quote_ident(name):
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text):
    return "'" + text.replace("'", "''") + "'"


class SqliteStore:
    """A SQLite store: the database file, read with the sqlite3 module."""

    def __init__(self, path):
        self.con = sqlite3.connect(path)
        self.con.row_factory = sqlite3.Row

    def columns(self, table):
        return [r[1] for r in self.con.execute(f"PRAGMA table_info({quote_ident(table)})")]

    def rows(self, table):
        return (dict(r) for r in self.con.execute(f"SELECT * FROM {quote_ident(table)}"))


class PgStore:
    """A PostgreSQL store: the sync's schema, read with psql as JSON."""

    def __init__(self, conninfo, schema):
        self.conninfo, self.schema = conninfo, schema

    def psql(self, sql):
        out = subprocess.run(["psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d",
                              self.conninfo, "-c", sql],
                             check=True, capture_output=True, text=True).stdout
        return json.loads(out) if out.strip() else None

    def columns(self, table):
        return self.psql("SELECT coalesce(json_agg(column_name::text ORDER BY "
                         "ordinal_position), '[]') FROM information_schema.columns "
                         f"WHERE table_schema = {quote_literal(self.schema)} AND "
                         f"table_name = {quote_literal(table)}")

    def rows(self, table):
        return self.psql(f"SELECT coalesce(json_agg(t), '[]') FROM "
                         f"{quote_ident(self.schema)}.{quote_ident(table)} t")


def option(name, default):
    for a in sys.argv[1:]:
        if a.startswith(f"--{name}="):
            return a.split('=', 1)[1]
    return default


def main():
    args = [a for a in sys.argv[1:] if not a.startswith('--')]
    allow_local = '--allow-local' in sys.argv
    backend = option("backend", "sqlite")
    url, where, pairs = args[0], args[1], args[2:]
    if backend == "sqlite":
        store = SqliteStore(where)
    elif backend == "postgres":
        store = PgStore(where, option("schema", "crmsync"))
    else:
        sys.exit(f"compare.py: unknown --backend={backend} (sqlite or postgres)")
    problems = 0
    checked = 0

    def bad(msg):
        nonlocal problems
        problems += 1
        if problems <= 40:
            print(msg)

    for pair in pairs:
        unit, sobject = pair.split('=')
        need = None
        if '?' in sobject:
            sobject, need = sobject.split('?')
        with urllib.request.urlopen(f"{url}/__emu/dump/{sobject}") as r:
            crm = json.load(r)["records"]
        if need:
            crm = [c for c in crm if c.get(need) is not None]
        cols = store.columns(unit)
        fields = [c for c in cols if c not in BOOKKEEPING]
        local = {}
        for row in store.rows(unit):
            if row["id"] is None:
                if not allow_local and not row["is_deleted"]:
                    bad(f"{unit}: local row {row['local_id']} never reached the CRM")
                continue
            local[row["id"]] = row
        keys = {}
        crm_ids = set()
        for rec in crm:
            crm_ids.add(rec["Id"])
            k = rec.get("crmsync_Key__c")
            if k:
                if k in keys:
                    bad(f"{unit}: duplicate CRM records {keys[k]} and {rec['Id']} for key {k}")
                keys[k] = rec["Id"]
            lower = {k.lower(): v for k, v in rec.items()}
            row = local.get(rec["Id"])
            if rec.get("IsDeleted"):
                if row is not None and not row["is_deleted"] and not row["merged_into"]:
                    bad(f"{unit} {rec['Id']}: deleted in the CRM, live locally")
                continue
            if row is None:
                bad(f"{unit} {rec['Id']}: in the CRM, missing locally")
                continue
            if row["is_deleted"]:
                bad(f"{unit} {rec['Id']}: live in the CRM, a tombstone locally")
            for f in fields:
                if f not in lower:
                    continue
                a, b = norm(lower[f]), norm(row[f])
                if isinstance(a, float) and isinstance(b, (int, float)):
                    b = float(b)
                if a != b:
                    bad(f"{unit} {rec['Id']}.{f}: CRM {lower[f]!r} local {row[f]!r}")
                checked += 1
        for lid, row in local.items():
            if lid not in crm_ids and not row["is_deleted"]:
                bad(f"{unit} {lid}: live locally, unknown to the CRM")
    print(f"# compared {checked} values, {problems} differences")
    sys.exit(1 if problems else 0)


main()
