#!/bin/sh
# tests/ops/backlog.sh - after a demo sync with injected failures, status,
# backlog and errors answer what is happening: what waits on each side, at
# what rate it goes, whether it grows, which record the CRM refused and why.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/ops/ops.sh"
plan 22
# bl UNIT DIR KEY: a field of backlog --json ($T/bl.json) for one unit and direction
bl() {
	python3 -c "
import json,sys
u=[x for x in json.load(open(sys.argv[1]))['units'] if x['unit']==sys.argv[2] and x['direction']==sys.argv[3]][0]
v=u[sys.argv[4]]
print('null' if v is None else v)" "$T/bl.json" "$@"
}

emu_start --seed users=3,accounts=5,contacts=10,leads=40,campaigns=2,members=6 --seed-rng 9
ok $? "the emulator starts seeded"
cs sync --once >"$T/o" 2>&1; ok $? "the initial sync"

a=$(api_calls)
cs backlog --json >"$T/bl.json" 2>"$T/err"; st=$?
b=$(api_calls)
exit_is "backlog --json after the initial sync" 0 $st
npull=$(python3 -c "import json; print(sum(1 for u in json.load(open('$T/bl.json'))['units'] if u['direction']=='from CRM'))")
ok $([ $((b - a)) -eq "$npull" ]; echo $?) "it costs one API call per CRM-to-local unit ($((b - a)) calls, $npull units)"
ok $([ "$(bl lead 'from CRM' waiting)" = 0 ] && [ "$(bl lead 'to CRM' waiting)" = 0 ]; echo $?) "nothing waits on either side"
ok $([ "$(bl lead 'from CRM' growing)" = null ]; echo $?) "the first sample has no trend"
ok $(python3 -c "import sys; sys.exit(0 if float('$(bl lead 'from CRM' rate_per_hour)') >= 40 else 1)"; echo $?) \
	"the rate counts the 40 leads of the initial copy ($(bl lead 'from CRM' rate_per_hour)/h)"

# --- work piles up on both sides ---------------------------------------------------------
for i in 1 2 3 4 5; do
	emu POST records/Lead "{\"op\":\"create\",\"fields\":{\"LastName\":\"Waiting-$i\",\"Company\":\"Acme\"}}" >/dev/null
done
set -- $(sql "select id from lead where is_deleted=0 and isconverted=0 order by id limit 3")
long=$(python3 -c "print('x'*90)")
lsql "update lead set title='t1' where id='$1'; update lead set title='t2' where id='$2';
	update lead set lastname='$long' where id='$3';"
REFUSED=$3
cs backlog >"$T/bl.txt" 2>&1
ok $(grep -q "^lead .*from CRM *5 .*growing (+5 since" "$T/bl.txt"; echo $?) "the table: 5 new CRM leads wait to come in, growing (+5)"
ok $(grep -q "^lead .*to CRM *3 .*growing (+3 since" "$T/bl.txt"; echo $?) "3 local edits wait to go out, growing (+3)"
[ $tap_failed -eq 0 ] || sed 's/^/# /' "$T/bl.txt"
cs backlog --json >"$T/bl.json" 2>"$T/err"
ok $([ "$(bl lead 'from CRM' waiting)" = 5 ] && [ "$(bl lead 'to CRM' waiting)" = 3 ]; echo $?) "the same in JSON"
ok $([ "$(bl lead 'from CRM' growing)" = False ]; echo $?) "asked again at once: no longer growing"
ok $([ "$(bl lead 'from CRM' eta_seconds)" != null ]; echo $?) "an ETA from the measured speed ($(bl lead 'from CRM' eta_seconds)s)"

# --- a sync with a refused record ------------------------------------------------------------
cs sync --once >"$T/o" 2>&1
cs backlog --json >"$T/bl.json" 2>"$T/err"
ok $([ "$(bl lead 'from CRM' waiting)" = 0 ] && [ "$(bl lead 'from CRM' growing)" = False ]; echo $?) \
	"after the sync nothing waits in the CRM, and it is not growing"
ok $([ "$(bl lead 'to CRM' waiting)" = 1 ]; echo $?) "the refused edit still waits to go out"
cs status --json >"$T/st.json" 2>&1
ok $(python3 -c "
import json,sys
u={x['unit']:x for x in json.load(open('$T/st.json'))['units']}
sys.exit(0 if u['lead']['failed']==1 and u['lead']['pending']==1 else 1)"; echo $?) "status: lead has 1 pending row, whose push failed"
cs status >"$T/st.txt" 2>&1
contains "status names the last successful cycle" "$T/st.txt" "last successful cycle: 20"
cs errors --json >"$T/err.json" 2>&1
ok $(python3 -c "
import json,sys
e=[x for x in json.load(open('$T/err.json')) if x['id']=='$REFUSED']
sys.exit(0 if e and e[-1]['code']=='STRING_TOO_LONG' and e[-1]['level']=='record' and e[-1]['step']=='push' else 1)"; echo $?) \
	"errors: the refused record, its CRM code, record level, push step"
cs errors >"$T/err.txt" 2>&1
contains "errors: the CRM's message verbatim" "$T/err.txt" "data value too large"
cs history --csv >"$T/h.csv" 2>&1
ok $(grep -q "^[0-9]*,lead,push,[^,]*,[^,]*,0,2,0,1,0," "$T/h.csv"; echo $?) "history: the push step of lead with 2 updated and 1 failed"

# --- the CRM side cannot be counted ----------------------------------------------------------
cs -o salesforce.password=wrong backlog >"$T/bl.txt" 2>"$T/err"
exit_is "backlog with refused credentials exits 1" 1 $?
contains "saying why" "$T/err" "refused the credentials"
ok $(grep -q "^lead .*to CRM *1 " "$T/bl.txt"; echo $?) "but still shows the local side"
done_testing
