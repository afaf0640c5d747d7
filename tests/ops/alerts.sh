#!/bin/sh
# tests/ops/alerts.sh - [alerts] command against the emulator: the command gets
# the right JSON on stdin when the CRM refuses the credentials, when the API
# budget runs out, when a cycle has more errors than error_threshold, and when
# crmsync run stops; one alert per kind per repeat_interval; a failing command
# is logged and changes nothing else.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/ops/ops.sh"
plan 22
REC="/bin/sh $top_srcdir/tests/ops/alert-recorder"
# kinds FILE: the alerts' kinds, one per line
kinds() { python3 -c "import json,sys; [print(json.loads(l)['kind']) for l in open(sys.argv[1])]" "$1"; }
# field FILE N KEY: a field of the Nth alert (1-based); counts.X for a count
field() {
	python3 -c "
import json,sys
a=json.loads(open(sys.argv[1]).readlines()[int(sys.argv[2])-1])
for k in sys.argv[3].split('.'): a=a[k]
print('null' if a is None else a)" "$@"
}

emu_start --seed users=2,accounts=4,contacts=8,leads=20 --seed-rng 5
ok $? "the emulator starts seeded"

# --- credentials refused ---------------------------------------------------------------
cs -o alerts.command="$REC $T/auth.jsonl" -o salesforce.password=wrong-password sync --once >"$T/o" 2>&1
st=$?; ok $([ $st -eq 1 ]; echo $?) "sync --once with a wrong password fails ($st)"
ok $([ "$(kinds "$T/auth.jsonl" 2>/dev/null)" = auth ]; echo $?) "one alert of kind auth"
field "$T/auth.jsonl" 1 message >"$T/msg" 2>&1
contains "its message is the refusal" "$T/msg" "refused the credentials"
ok $([ "$(field "$T/auth.jsonl" 1 unit)" = null ] && [ "$(field "$T/auth.jsonl" 1 counts.cycle_errors)" -ge 1 ]; echo $?) \
	"no unit, and the cycle's error count"
field "$T/auth.jsonl" 1 time >"$T/time"
ok $(grep -Eq '^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$' "$T/time"; echo $?) "the time is UTC ISO 8601 ($(cat "$T/time"))"
lacks "the password is in no alert" "$T/auth.jsonl" "wrong-password"

# --- the API budget runs out ----------------------------------------------------------
emu POST limits '{"max":100,"used":49}' >/dev/null
cs -o alerts.command="$REC $T/budget.jsonl" sync --once >"$T/o" 2>&1
st=$?; ok $([ $st -eq 1 ]; echo $?) "sync --once stops at the API budget ($st)"
ok $([ "$(kinds "$T/budget.jsonl" 2>/dev/null)" = budget ]; echo $?) "one alert of kind budget"
ok $([ "$(field "$T/budget.jsonl" 1 counts.api_budget)" = 50 ] && [ "$(field "$T/budget.jsonl" 1 counts.api_max)" = 100 ]; echo $?) \
	"it carries the budget (50) and the allowance (100)"
field "$T/budget.jsonl" 1 message >"$T/msg"
contains "and says the sync resumes" "$T/msg" "resumes when the daily allowance allows"
emu POST limits '{"max":1000000,"used":0}' >/dev/null
cs sync --once >"$T/o" 2>&1; ok $? "with the allowance back the sync finishes"

# --- errors over the threshold; a failing command ----------------------------------------
set -- $(sql "select id from lead where is_deleted=0 and isconverted=0 order by id limit 2")
long=$(python3 -c "print('x'*90)")
lsql "update lead set lastname='$long' where id='$1'; update lead set lastname='$long' where id='$2';"
cs -o alerts.command="$REC $T/errors.jsonl 3" -o alerts.error_threshold=1 sync --once >"$T/o" 2>&1
exit_is "record errors and a failing alert command leave sync --once successful" 0 $?
ok $([ "$(kinds "$T/errors.jsonl" 2>/dev/null)" = errors ] && [ "$(field "$T/errors.jsonl" 1 unit)" = lead ]; echo $?) \
	"two refused records over a threshold of 1: an errors alert naming unit lead"
contains "the command's failure is logged" "$T/o" "exited with status 3 for the errors alert"
cs -o alerts.command="$REC $T/none.jsonl" -o alerts.error_threshold=2 sync --once >"$T/o" 2>&1
ok $([ ! -e "$T/none.jsonl" ]; echo $?) "two errors do not exceed a threshold of 2: no alert"

# --- crmsync run: one alert per kind per repeat_interval, and a stopped alert ------------
run_bg -o alerts.command="$REC $T/run.jsonl" -o salesforce.password=wrong-password -o sync.interval=1s
wait_cycles 3; ok $? "crmsync run keeps cycling with refused credentials"
kill -TERM "$CS_PID"; wait "$CS_PID"
ok $([ "$(kinds "$T/run.jsonl" | tr '\n' ' ')" = "auth stopped " ]; echo $?) \
	"three refused cycles send one auth alert, then SIGTERM one stopped alert ($(kinds "$T/run.jsonl" | tr '\n' ' '))"
field "$T/run.jsonl" 2 message >"$T/msg"
contains "the stopped alert says why" "$T/msg" "stopped on a signal"

# a fatal error at start: crmsync run cannot open its store
cs -o alerts.command="$REC $T/fatal.jsonl" -o storage.path="$T/no/such/dir/x.db" run >"$T/o" 2>&1
exit_is "crmsync run that cannot open its store exits 1" 1 $?
ok $([ "$(kinds "$T/fatal.jsonl" 2>/dev/null)" = stopped ] && field "$T/fatal.jsonl" 1 message | grep -q "cannot open the sqlite store"; echo $?) \
	"and sends a stopped alert saying why"

cs -o alerts.command=alert-recorder sync --once >"$T/o" 2>&1
exit_is "a command without an absolute path is a config error" 2 $?
done_testing
