#!/bin/sh
# tests/e2e/signals.sh - SIGTERM finishes the page and exits cleanly, the copy
# resumes where it stopped; SIGHUP reloads the config (a bad one is refused and
# the old one kept); the API budget stops a cycle cleanly at a page boundary
# and the next cycle resumes when the allowance allows.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e/e2e.sh"
plan 13
emu_start --seed users=3,accounts=50,leads=30000 --seed-rng 5
ok $? "the emulator starts seeded"

# --- SIGTERM in the middle of the initial copy -----------------------------------
CS_LOG=info CS_OPTS="-o sync.units=user,account,lead -o sync.page_size=500" cs_bg run >"$T/term.log" 2>&1
# wait for the first committed pages (not a fixed time: sanitized builds are slower)
for _ in $(seq 600); do
	[ "$(sql "select count(*) from lead" 2>/dev/null || echo 0)" -gt 0 ] && break
	sleep 0.05
done
kill -TERM $CS_PID
t0=$(date +%s)
wait $CS_PID; st=$?
t1=$(date +%s)
exit_is "SIGTERM: crmsync exits with status 0" 0 $st
ok $([ $((t1 - t0)) -le 5 ]; echo $?) "SIGTERM: it stops promptly ($((t1 - t0)) s)"
contains "SIGTERM: it says it stopped at a page boundary" "$T/term.log" "stopped cleanly"
n1=$(sql "select count(*) from lead")
ok $([ "$n1" -gt 0 ] && [ "$n1" -lt 30000 ]; echo $?) "SIGTERM came mid-copy ($n1 of 30000 leads stored)"
CS_LOG=info CS_OPTS="-o sync.units=user,account,lead" cs sync --once >"$T/resume.log" 2>&1
contains "the next run resumes the interrupted copy" "$T/resume.log" "(resuming)"
UNITS_CMP="lead=Lead account=Account user=User" compare_sides >"$T/cmp" 2>&1; st=$?
ok $st "after resuming, every record is equal"
[ $st -eq 0 ] || sed 's/^/# /' "$T/cmp" | head

# --- SIGHUP -------------------------------------------------------------------------
cat >"$T/c.conf" <<CONF
[salesforce]
login_url = $EMU_URL
client_id = crmsync-demo
username = sync@example.com
[storage]
path = $T/local.db
[sync]
units = user, account, lead
interval = 1s
[log]
level = info
CONF
"$CS" -c "$T/c.conf" run >"$T/hup.log" 2>&1 &
pid=$!
sleep 1.5
printf '[log]\nlevel = info\n[sync]\nintervl = 1s\n' >"$T/bad.conf"
cp "$T/c.conf" "$T/good.conf"
cp "$T/bad.conf" "$T/c.conf"
kill -HUP $pid; sleep 1.5
contains "SIGHUP with a broken config: the error names file:line" "$T/hup.log" "c.conf:4: unknown key 'intervl'"
contains "SIGHUP with a broken config: the old config is kept" "$T/hup.log" "keeping the old one"
sed 's/^level = info/level = debug/' "$T/good.conf" >"$T/c.conf"
kill -HUP $pid; sleep 2.5
contains "SIGHUP with a good config: it is loaded (debug lines appear)" "$T/hup.log" "debug"
kill -TERM $pid; wait $pid
exit_is "the daemon survived both reloads and stops with 0" 0 $?

# --- the API budget ------------------------------------------------------------------
emu POST records/Lead '{"op":"create","fields":{"LastName":"after-budget","Company":"B"}}' >/dev/null
used=$(emu POST limits '{"max":1000}' | json_get used)
emu POST limits "{\"max\":1000,\"used\":499}" >/dev/null
CS_OPTS="-o sync.units=user,account,lead -o salesforce.api_budget=50%" cs sync --once >"$T/budget.log" 2>&1
st=$?
contains "at the budget the cycle stops with a clear message" "$T/budget.log" "API budget is reached"
emu POST limits '{"max":100000,"used":0}' >/dev/null
CS_OPTS="-o sync.units=user,account,lead" cs sync --once >"$T/o" 2>&1
ok $([ "$(sql "select count(*) from lead where lastname='after-budget'")" = 1 ]; echo $?) "when the allowance allows, the next cycle catches up (exit $st before)"
done_testing
