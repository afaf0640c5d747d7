#!/bin/sh
# tests/e2e/sync.sh - crmsync against sfemu into SQLite, as a user runs it.
# After every cycle both sides are compared field by field (compare.py).
# With E2E_BACKEND=postgres (tests/pg/e2e.sh) the same cycles run into a
# private PostgreSQL server, the local edits made with psql.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e/e2e.sh"
BACKEND=${E2E_BACKEND:-sqlite}
if [ "$BACKEND" = postgres ]; then
	. "$top_srcdir/tests/pg/pg.sh"
	plan 48
	pg_start; ok $? "a private PostgreSQL server starts"
	CI=$(pg_createdb crmsync_e2e)
	pg_e2e "$CI" sync1
else
	plan 46
fi

emu_start --seed users=5,accounts=30,contacts=60,leads=400,opportunities=30,campaigns=4,members=40,tasks=50,events=15,invoices=12 --seed-rng 7
ok $? "the emulator starts seeded"

# --- initial copy -------------------------------------------------------------
cs sync --once >"$T/o" 2>&1; st=$?; ok $st "initial sync --once into $BACKEND succeeds"
[ $st -eq 0 ] || sed 's/^/# /' "$T/o" | tail -20
compare_sides >"$T/cmp" 2>&1; st=$?; ok $st "initial copy: every visible field of every record is equal"
[ $st -eq 0 ] || sed 's/^/# /' "$T/cmp"
ok $([ "$(sql "select count(*) from lead")" -ge 400 ]; echo $?) "the leads are plain rows of table lead"
ok $([ "$(sql "select count(*) from _crmsync_log")" = 0 ]; echo $?) "the sync's own writes are not captured as local edits"
ok $([ "$(sql "select count(*) from lead where length(crm_modstamp) != 24 or substr(crm_modstamp, 11, 1) != 'T' or substr(crm_modstamp, 24, 1) != 'Z'")" = 0 ]; echo $?) "crm_modstamp is ISO text"
if [ "$BACKEND" = postgres ]; then
	ok $([ "$(sql "select data_type from information_schema.columns where table_schema='sync1' and table_name='lead' and column_name='numberofemployees'")" = bigint ]; echo $?) "integers are bigint columns"
fi

# an idle cycle asks every unit at once: one composite request per five units
# (Salesforce takes at most five queries in one), so 3 calls for these 11
a=$(api_calls); cs sync --once >"$T/o" 2>&1; b=$(api_calls)
ok $([ $((b - a)) -eq 3 ]; echo $?) "an idle cycle of 11 units costs exactly 3 API calls (cost $((b - a)))"

# --- CRM-side changes -----------------------------------------------------------
set -- $(sql "select id from lead where is_deleted=0 and isconverted=0 order by id limit 6")
L1=$1 L2=$2 L4=$4 L5=$5 L6=$6
set -- $(sql "select id from contact where is_deleted=0 order by id limit 4")
C1=$1 C2=$2 C3=$3 C4=$4
emu POST records/Lead "{\"op\":\"update\",\"id\":\"$L1\",\"fields\":{\"LastName\":\"Renamed-in-CRM\"}}" >/dev/null
NEW=$(emu POST records/Lead '{"op":"create","fields":{"LastName":"Created-in-CRM","Company":"Initech"}}' | json_get id)
emu POST records/Lead "{\"op\":\"delete\",\"id\":\"$L2\"}" >/dev/null
emu POST merge "{\"type\":\"Contact\",\"master\":\"$C1\",\"losers\":[\"$C2\"]}" >/dev/null
CONV=$(emu POST convert-lead "{\"leadId\":\"$L4\"}")
CONV_CONTACT=$(echo "$CONV" | json_get contactId)
cs sync --once >"$T/o" 2>&1; ok $? "sync after CRM changes"
compare_sides >"$T/cmp" 2>&1; st=$?; ok $st "CRM creates, updates, deletes, merges, conversions are local after one cycle"
[ $st -eq 0 ] || sed 's/^/# /' "$T/cmp"
ok $([ "$(sql "select lastname from lead where id='$L1'")" = Renamed-in-CRM ]; echo $?) "a CRM update is stored"
ok $([ "$(sql "select count(*) from lead where id='$NEW' and is_deleted=0")" = 1 ]; echo $?) "a CRM create is stored"
ok $([ "$(sql "select is_deleted from lead where id='$L2'")" = 1 ]; echo $?) "a CRM delete is a tombstone, not a local delete"
ok $([ "$(sql "select merged_into from contact where id='$C2'")" = "$C1" ]; echo $?) "a merge loser points at its winner"
ok $([ "$(sql "select is_deleted from contact where id='$C2'")" = 1 ]; echo $?) "a merge loser is a tombstone"
ok $([ "$(sql "select isconverted||' '||convertedcontactid from lead where id='$L4'")" = "1 $CONV_CONTACT" ]; echo $?) "a converted lead is linked to its contact"
ok $([ "$(sql "select count(*) from contact where id='$CONV_CONTACT'")" = 1 ]; echo $?) "the contact of a conversion is stored"

emu POST records/Lead "{\"op\":\"undelete\",\"id\":\"$L2\"}" >/dev/null
cs sync --once >"$T/o" 2>&1; ok $? "sync after an undelete"
ok $([ "$(sql "select is_deleted from lead where id='$L2'")" = 0 ]; echo $?) "an undelete clears the tombstone"

# --- local changes, made with the sqlite3 shell (psql) ------------------------------
lsql "update contact set title='Edited locally', phone='+1 555 0100' where id='$C3';
  insert into lead(lastname, company, email, sync_mark) values('Local-marked', 'LocalCo', 'marked@example.com', 1);
  insert into lead(lastname, company) values('Local-unmarked', 'LocalCo');
  delete from lead where id='$L6';"
ok $([ "$(sql "select count(distinct \"row\")||' '||count(*) from _crmsync_log")" = "4 5" ]; echo $?) "the shell's edits are captured once each: 4 rows, 5 entries (2 changed columns, 2 inserts, a delete)"
cs -o sync.push_deletes=yes sync --once >"$T/o" 2>&1; ok $? "sync after local edits"
compare_sides --allow-local >"$T/cmp" 2>&1; st=$?; ok $st "local updates, marked inserts and deletes are in the CRM after one cycle"
[ $st -eq 0 ] || sed 's/^/# /' "$T/cmp"
emu GET dump/Contact >"$T/contacts.json"
contains "the local contact edit reached the CRM" "$T/contacts.json" "Edited locally"
emu GET dump/Lead >"$T/leads.json"
contains "a marked local lead was created in the CRM" "$T/leads.json" "Local-marked"
lacks "an unmarked local lead was not pushed" "$T/leads.json" "Local-unmarked"
python3 -c "
import json,sys
r=[x for x in json.load(open('$T/leads.json'))['records'] if x['Id']=='$L6']
sys.exit(0 if r and r[0]['IsDeleted'] else 1)"; ok $? "a local delete reached the CRM (push_deletes = yes)"
ok $([ -n "$(sql "select id from lead where lastname='Local-marked'")" ]; echo $?) "the pushed row got its CRM id"
ok $([ "$(sql "select l.op||' '||t.lastname from _crmsync_log l join lead t on t.local_id = l.\"row\"")" = "1 Local-unmarked" ]; echo $?) "pushed edits leave the change log (only the unmarked insert waits), storing CRM ids is not captured"
cs status --json >"$T/status.json" 2>&1
python3 -c "
import json,sys
u={x['unit']:x for x in json.load(open('$T/status.json'))['units']}
sys.exit(0 if u['lead']['unmarked_local']==1 else 1)"; ok $? "status counts the unmarked local-only lead"

# --- conflicts ---------------------------------------------------------------------
# lead: local wins; contact: CRM wins; a field changed on one side only is kept
emu POST records/Lead "{\"op\":\"update\",\"id\":\"$L5\",\"fields\":{\"Title\":\"crm-title\"}}" >/dev/null
emu POST records/Contact "{\"op\":\"update\",\"id\":\"$C4\",\"fields\":{\"Title\":\"crm-title\",\"Department\":null}}" >/dev/null 2>&1
emu POST records/Contact "{\"op\":\"update\",\"id\":\"$C4\",\"fields\":{\"Title\":\"crm-title\"}}" >/dev/null
lsql "update lead set title='local-title' where id='$L5';
  update contact set title='local-title', mobilephone='+1 555 0199' where id='$C4';"
cs sync --once >"$T/o" 2>&1; ok $? "sync with edits on both sides"
ok $([ "$(sql "select title from lead where id='$L5'")" = local-title ]; echo $?) "lead conflict: the local value wins locally"
emu GET dump/Lead >"$T/leads.json"
contains "lead conflict: the local value wins in the CRM" "$T/leads.json" "local-title"
ok $([ "$(sql "select title from contact where id='$C4'")" = crm-title ]; echo $?) "contact conflict: the CRM value wins locally"
emu GET dump/Contact >"$T/contacts.json"
contains "a field changed only locally on a conflicting row still reaches the CRM" "$T/contacts.json" "+1 555 0199"
compare_sides --allow-local >"$T/cmp" 2>&1; st=$?; ok $st "after the conflicts both sides are equal"
[ $st -eq 0 ] || sed 's/^/# /' "$T/cmp"
ok $([ "$(sql "select count(*) from _crmsync_conflicts where field in ('Title','title')")" -ge 2 ]; echo $?) "both conflicts are recorded with the losing value"
cs status --json >"$T/status.json" 2>&1
python3 -c "
import json,sys
u={x['unit']:x for x in json.load(open('$T/status.json'))['units']}
sys.exit(0 if u['lead']['conflicts']>=1 and u['contact']['conflicts']>=1 else 1)"; ok $? "status counts the conflicts"

# --- a record the CRM refuses does not block the others -------------------------------
long=$(python3 -c "print('x'*90)")
lsql "update lead set lastname='$long' where id='$L1'; update lead set title='still-pushed' where id='$L5';"
cs sync --once >"$T/o" 2>&1
emu GET dump/Lead >"$T/leads.json"
contains "the valid record was pushed" "$T/leads.json" "still-pushed"
cs errors --csv >"$T/err.csv" 2>&1
contains "the refused record's error is kept with the CRM's code" "$T/err.csv" "STRING_TOO_LONG"
contains "and the CRM's message verbatim" "$T/err.csv" "data value too large"
cs status --json >"$T/status.json" 2>&1
python3 -c "
import json,sys
u={x['unit']:x for x in json.load(open('$T/status.json'))['units']}
sys.exit(0 if u['lead']['failed']==1 else 1)"; ok $? "status counts the failed push"

# --- a late commit: visible now, stamped before rows already synced ----------------------
wm=$(sql "select value from _crmsync_state where unit='lead' and key='watermark'")
late_ms=$(( ${wm%% *} - 60000 ))
emu POST late-commit "{\"type\":\"Lead\",\"op\":\"create\",\"fields\":{\"LastName\":\"Committed-late\",\"Company\":\"Slowpoke\"},\"ts\":$late_ms}" >"$T/late.json"
contains "the emulator took a late commit" "$T/late.json" '"ok":true'
cs sync --once >"$T/o" 2>&1
ok $([ "$(sql "select count(*) from lead where lastname='Committed-late'")" = 1 ]; echo $?) "a record committed late with an older stamp is not missed (overlap window)"

# --- idle again, history ---------------------------------------------------------------
lsql "update lead set lastname='Short' where id='$L1'"
cs sync --once >"$T/o" 2>&1
a=$(api_calls); cs sync --once >"$T/o" 2>&1; b=$(api_calls)
ok $([ $((b - a)) -eq 3 ]; echo $?) "after all that, an idle cycle is 3 API calls again (cost $((b - a)))"
cs history --csv >"$T/hist.csv" 2>&1; ok $? "history --csv"
contains "history has the cycle x unit x step counts" "$T/hist.csv" "cycle,unit,step,started,ended,new,updated,deleted,failed,skipped"
lacks "no secret in any output" "$T/o" "sync-password"
done_testing
