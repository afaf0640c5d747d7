#!/usr/bin/env python3
"""values.py - hostile CRM values through the real daemon (driven by values.sh).

  values.py crm-to-local | local-to-crm | check-refused

Environment: EMU_URL, DB (the local SQLite file), TAPN (the first TAP number).
Prints TAP lines (no plan) and exits 0; values.sh counts them.
"""
import json
import os
import sqlite3
import subprocess
import sys
import urllib.request

EMU = os.environ["EMU_URL"]
DB = os.environ["DB"]
n = int(os.environ.get("TAPN", "1"))

# (tag, field, value): every value must arrive byte for byte or be refused
VALUES = [
    ("quotes", "LastName", "O'Brien \"the\" `tick` ’curly’"),
    ("sql-injection", "LastName", "x'); DROP TABLE lead; --"),
    ("sql-injection-2", "LastName", 'Robert"); DELETE FROM lead WHERE ("1"="1'),
    ("soql-injection", "LastName", "' OR LastName LIKE '%' OR Id != '"),
    ("soql-escapes", "LastName", "back\\slash \\' \\\" \\n \\u0041 %_ \\%"),
    ("control", "LastName", "line1\nline2\r\n\ttab\x01\x1f\x7f"),
    ("unicode", "LastName", "Zoë 日本語 Ωμέγα ﬁ"),
    ("4-byte", "LastName", "🎉𝄞𠜎 emoji 👩‍👩‍👧"),
    ("combining-rtl", "LastName", "e\u0301 \u202ereversed\u202c \ufeffbom"),
    ("json-ish", "LastName", '{"LastName":null}\\u0000 ]]'),
    ("long-4byte", "Description", "𝄞" * 7000 + "end"),  # 28 KB, 14,000 UTF-16 units
    ("long-ascii", "Description", ("0123456789" * 3100)[:31000]),
]
# Refused by the CRM (Description holds at most 32,000 characters)
TOO_LONG = ("too-long-100k", "Description", "x" * 100 * 1024)


def ok(cond, what, diag=None):
    global n
    print(("ok" if cond else "not ok") + f" {n} - {what}")
    if not cond and diag:
        for line in str(diag).splitlines()[:10]:
            print("#   " + line[:300])
    n += 1


def emu(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{EMU}/__emu/{path}", data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def dump_leads():
    return emu("GET", "dump/Lead")[1]["records"]


def db():
    c = sqlite3.connect(DB, timeout=10)
    c.text_factory = bytes  # compare bytes, not what Python makes of them
    return c


def crm_to_local():
    made = {}
    for tag, field, value in VALUES + [("nul", "LastName", "a\u0000b")]:
        st, r = emu("POST", "records/Lead", {"op": "create", "allowDuplicates": True,
                                            "fields": {"LastName": "h", "Company": "crm-" + tag,
                                                       field: value}})
        if tag == "nul":
            made[tag] = (st, r)
            continue
        ok(st == 200 and r.get("id"), f"the emulator stores a {tag} value", r)
        made[tag] = r.get("id")
    st, r = emu("POST", "records/Lead", {"op": "create", "fields": {
        "LastName": "h", "Company": "crm-too-long", "Description": TOO_LONG[2]}})
    ok(st == 400 and "STRING_TOO_LONG" in json.dumps(r), "the CRM refuses 100 KB in a 32,000-character field", r)
    print(json.dumps({k: v for k, v in made.items() if k != "nul"}), file=open(DB + ".crm-ids", "w"))
    print(json.dumps(made.get("nul")), file=open(DB + ".nul", "w"))


def check_local():
    made = json.load(open(DB + ".crm-ids"))
    c = db()
    for tag, field, value in VALUES:
        rows = c.execute(f"select {field.lower()} from lead where id = ?", (made[tag],)).fetchall()
        got = rows[0][0] if rows else None
        ok(len(rows) == 1 and got == value.encode(),
           f"CRM -> local: the {tag} value is stored exactly",
           f"expected {value[:80]!r}, got {got[:80] if got else got!r}")
    tables = {r[0] for r in c.execute("select name from sqlite_master where type='table'")}
    ok(b"lead" in tables and c.execute("select count(*) from lead").fetchone()[0] >= len(VALUES),
       "the lead table still exists with every row", tables)
    # \u0000: the emulator may refuse it; if it stored it, crmsync must store
    # the exact bytes or leave the record out with a recorded error, never crash
    st, r = json.load(open(DB + ".nul"))
    if st == 200:
        rows = c.execute("select lastname from lead where id = ?", (r["id"],)).fetchall()
        ok(not rows or rows[0][0] in (b"a\x00b",),
           "CRM -> local: a \\u0000 value is stored exactly or not at all", rows)
    else:
        ok(True, "CRM -> local: \\u0000 refused by the emulator itself (" + str(st) + ")")


def local_insert():
    """Rows written with the sqlite3 shell: values as hex, so the shell's own
    quoting plays no part."""
    sql = []
    for tag, field, value in VALUES + [TOO_LONG]:
        hexv = value.encode().hex()
        sql.append(f"insert into lead(lastname, company, {field.lower()}, sync_mark) values("
                   f"'h', 'local-{tag}', cast(x'{hexv}' as text), 1);"
                   if field != "LastName" else
                   f"insert into lead(lastname, company, sync_mark) values("
                   f"cast(x'{hexv}' as text), 'local-{tag}', 1);")
    # a wrong-shaped id on a local row, and a reference that tries to inject
    sql.append("insert into lead(id, lastname, company, sync_mark) values("
               "'x''); DROP TABLE lead; --', 'badid', 'local-badid', 1);")
    sql.append("insert into lead(lastname, company, ownerid, sync_mark) values("
               "'badref', 'local-badref', '005'' OR ''1''=''1', 1);")
    p = subprocess.run(["sqlite3", "-batch", "-cmd", ".timeout 10000", DB], input="\n".join(sql),
                       text=True, capture_output=True)
    ok(p.returncode == 0, "hostile values written locally with the sqlite3 shell", p.stderr)


def local_to_crm():
    recs = [r for r in dump_leads() if str(r.get("Company", "")).startswith("local-")]
    by = {}
    for r in recs:
        by.setdefault(r["Company"][6:], []).append(r)
    for tag, field, value in VALUES:
        got = by.get(tag, [])
        ok(len(got) == 1 and got[0].get(field) == value,
           f"local -> CRM: the {tag} value arrives exactly, once",
           f"{len(got)} records; got {str(got[0].get(field))[:80]!r}" if got else "no record")
    ok("too-long-100k" not in by, "local -> CRM: 100 KB text is refused, not truncated",
       str(by.get("too-long-100k", ""))[:200])
    ok("badid" not in by, "local -> CRM: a row with a wrong-shaped id creates nothing")
    bad = by.get("badref", [])
    ok(not bad or bad[0].get("OwnerId", "").startswith("005") and "'" not in bad[0]["OwnerId"],
       "local -> CRM: an injected reference id is refused (or ignored), never stored", bad)
    c = db()
    row = c.execute("select description from lead where company = 'local-too-long-100k'").fetchone()
    ok(row and row[0] == TOO_LONG[2].encode(), "the refused 100 KB value is kept locally, unchanged")
    ok(c.execute("select count(*) from lead where company like 'local-%' and id is not null"
                 " and company not in ('local-too-long-100k', 'local-badid', 'local-badref')"
                 ).fetchone()[0] == len(VALUES), "every pushed row got its CRM id")


cmd = sys.argv[1]
{"crm-to-local": crm_to_local, "check-local": check_local, "local-insert": local_insert,
 "local-to-crm": local_to_crm}[cmd]()

with open(DB + ".tapn", "w") as f:
    f.write(str(n))
