#!/bin/sh
# tests/pg/e2e.sh - crmsync against sfemu into PostgreSQL, as a user runs it:
# the same config as with SQLite except [storage] backend = postgres and its
# conninfo. Local edits are made with psql, on connections of their own. After
# every cycle both sides are compared field by field (tests/e2e/compare.py).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e/e2e.sh"
. "$top_srcdir/tests/pg/pg.sh"
plan 26

pg_start; ok $? "a private PostgreSQL server starts"
CI=$(pg_createdb crmsync_e2e)
SCHEMA=sync1
pg_e2e "$CI" $SCHEMA

emu_start --seed users=5,accounts=30,contacts=60,leads=400,opportunities=30,campaigns=4,members=40,tasks=50,events=15,invoices=12 --seed-rng 7
ok $? "the emulator starts seeded"

# --- initial copy -------------------------------------------------------------
cs sync --once >"$T/o" 2>&1; st=$?; ok $st "initial sync --once into PostgreSQL succeeds"
[ $st -eq 0 ] || sed 's/^/# /' "$T/o" | tail -20
compare_sides >"$T/cmp" 2>&1; st=$?; ok $st "initial copy: every visible field of every record is equal"
[ $st -eq 0 ] || sed 's/^/# /' "$T/cmp"
ok $([ "$(sql "select count(*) from lead")" -ge 400 ]; echo $?) "the leads are plain rows of $SCHEMA.lead"
ok $([ "$(sql "select count(*) from _crmsync_log")" = 0 ]; echo $?) "the sync's own writes are not captured as local edits"
ok $([ "$(sql "select data_type from information_schema.columns where table_schema='$SCHEMA' and table_name='lead' and column_name='numberofemployees'")" = bigint ]; echo $?) "integers are bigint columns"
ok $([ "$(sql "select count(*) from lead where crm_modstamp !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}[.][0-9]{3}Z\$'")" = 0 ]; echo $?) "crm_modstamp is ISO text"

a=$(api_calls); cs sync --once >"$T/o" 2>&1; b=$(api_calls)
ok $([ $((b - a)) -eq 1 ]; echo $?) "an idle cycle costs exactly one API call (cost $((b - a)))"

# --- CRM-side changes -----------------------------------------------------------
set -- $(sql "select id from lead where is_deleted=0 and isconverted=0 order by id limit 6")
L1=$1 L2=$2 L5=$5
set -- $(sql "select id from contact where is_deleted=0 order by id limit 4")
C3=$3 C4=$4
emu POST records/Lead "{\"op\":\"update\",\"id\":\"$L1\",\"fields\":{\"LastName\":\"Renamed-in-CRM\"}}" >/dev/null
NEW=$(emu POST records/Lead '{"op":"create","fields":{"LastName":"Created-in-CRM","Company":"Initech"}}' | json_get id)
emu POST records/Lead "{\"op\":\"delete\",\"id\":\"$L2\"}" >/dev/null
cs sync --once >"$T/o" 2>&1; ok $? "sync after CRM changes"
compare_sides >"$T/cmp" 2>&1; st=$?; ok $st "CRM creates, updates and deletes are local after one cycle"
[ $st -eq 0 ] || sed 's/^/# /' "$T/cmp"
ok $([ "$(sql "select lastname from lead where id='$L1'")" = Renamed-in-CRM ]; echo $?) "a CRM update is stored"
ok $([ "$(sql "select count(*) from lead where id='$NEW' and is_deleted=0")" = 1 ]; echo $?) "a CRM create is stored"
ok $([ "$(sql "select is_deleted from lead where id='$L2'")" = 1 ]; echo $?) "a CRM delete is a tombstone"

# --- local changes, made with psql ------------------------------------------------
lsql "update contact set title='Edited locally', phone='+1 555 0100' where id='$C3';
  insert into lead(lastname, company, email, sync_mark) values('Local-marked', 'LocalCo', 'marked@example.com', 1);
  insert into lead(lastname, company) values('Local-unmarked', 'LocalCo');"
ok $([ "$(sql "select count(distinct \"row\")||' '||count(*) from _crmsync_log")" = "3 4" ]; echo $?) "psql edits are captured once each: 3 rows, 4 entries (2 changed columns, 2 inserts)"
cs sync --once >"$T/o" 2>&1; ok $? "sync after local edits"
compare_sides --allow-local >"$T/cmp" 2>&1; st=$?; ok $st "local updates and marked inserts are in the CRM after one cycle"
[ $st -eq 0 ] || sed 's/^/# /' "$T/cmp"
emu GET dump/Contact >"$T/contacts.json"
contains "the psql contact edit reached the CRM" "$T/contacts.json" "Edited locally"
emu GET dump/Lead >"$T/leads.json"
contains "a marked local lead was created in the CRM" "$T/leads.json" "Local-marked"
lacks "an unmarked local lead was not pushed" "$T/leads.json" "Local-unmarked"
ok $([ -n "$(sql "select id from lead where lastname='Local-marked'")" ]; echo $?) "the pushed row got its CRM id"
ok $([ "$(sql "select l.op||' '||t.lastname from _crmsync_log l join lead t on t.local_id = l.\"row\"")" = "1 Local-unmarked" ]; echo $?) "pushed edits leave the change log (only the unmarked insert waits), storing CRM ids is not captured"

# --- conflicts: edits on both sides ----------------------------------------------------
emu POST records/Lead "{\"op\":\"update\",\"id\":\"$L5\",\"fields\":{\"Title\":\"crm-title\"}}" >/dev/null
emu POST records/Contact "{\"op\":\"update\",\"id\":\"$C4\",\"fields\":{\"Title\":\"crm-title\"}}" >/dev/null
lsql "update lead set title='local-title' where id='$L5';
  update contact set title='local-title', mobilephone='+1 555 0199' where id='$C4';"
cs sync --once >"$T/o" 2>&1; ok $? "sync with edits on both sides"
ok $([ "$(sql "select title from lead where id='$L5'")" = local-title ] && [ "$(sql "select title from contact where id='$C4'")" = crm-title ]; echo $?) "each unit's conflict rule decides locally (lead: local wins, contact: CRM wins)"
compare_sides --allow-local >"$T/cmp" 2>&1; st=$?; ok $st "after the conflicts both sides are equal"
[ $st -eq 0 ] || sed 's/^/# /' "$T/cmp"

# --- idle again --------------------------------------------------------------------------
a=$(api_calls); cs sync --once >"$T/o" 2>&1; b=$(api_calls)
ok $([ $((b - a)) -eq 1 ]; echo $?) "after all that, an idle cycle is one API call again (cost $((b - a)))"
done_testing
