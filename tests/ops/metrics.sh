#!/bin/sh
# tests/ops/metrics.sh - the metrics listener of crmsync run, scraped with curl
# as Prometheus would: the counters match what the sync did (records in the
# local tables, API calls the emulator counted), pushes and refusals show up,
# and /healthz turns 503 once no cycle has succeeded for healthz_max_age, and
# 200 again after a good cycle. The interval is an hour: SIGHUP (reload) starts
# each next cycle, so every step is deterministic.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/ops/ops.sh"
plan 25

emu_start --seed users=3,accounts=5,contacts=12,leads=40 --seed-rng 11
ok $? "the emulator starts seeded"
run_bg -o sync.interval=1h -o metrics.healthz_max_age=2s -o salesforce.max_retries=0
ok $? "crmsync run starts its metrics listener on a free port"
cycle=1
next_cycle() { # SIGHUP reloads and runs the next cycle at once
	kill -HUP "$CS_PID"; cycle=$((cycle + 1)); wait_cycles $cycle
}
wait_cycles 1; ok $? "the first cycle is published"

nlead=$(sql "select count(*) from lead"); ncontact=$(sql "select count(*) from contact")
ok $([ "$(metric 'crmsync_records_total{unit="lead",direction="pull",outcome="new"}')" = 40 ] && [ "$nlead" = 40 ]; echo $?) \
	"records_total counts the 40 leads pulled, as many as the local table holds ($nlead)"
ok $([ "$(metric 'crmsync_records_total{unit="contact",direction="pull",outcome="new"}')" = "$ncontact" ]; echo $?) \
	"and the contacts ($ncontact)"
code=$(healthz); exit_is "/healthz answers 200 after a good cycle" 200 "$code"
contains "and says so" "$T/healthz" "ok: last successful cycle"
calls=$(api_calls); mine=$(metric crmsync_api_calls_total)
ok $([ "$mine" -eq "$calls" ]; echo $?) \
	"api_calls_total ($mine) is the emulator's count ($calls) (the login is no API call)"
ok $([ "$(metric crmsync_api_daily_max)" = "$(emu GET stats | json_get max)" ]; echo $?) \
	"the daily allowance is the org's"
curl -sI "$METRICS/metrics" >"$T/head"
contains "/metrics is the Prometheus text format" "$T/head" "text/plain; version=0.0.4"

# --- a local edit pushed, one refused ------------------------------------------------
set -- $(sql "select id from lead where is_deleted=0 and isconverted=0 order by id limit 2")
long=$(python3 -c "print('x'*90)")
lsql "update lead set title='from-local' where id='$1'; update lead set lastname='$long' where id='$2';"
next_cycle; ok $? "a reload runs the next cycle"
ok $([ "$(metric 'crmsync_records_total{unit="lead",direction="push",outcome="updated"}')" = 1 ]; echo $?) \
	"the pushed local edit is counted"
ok $([ "$(metric 'crmsync_records_total{unit="lead",direction="push",outcome="failed"}')" = 1 ]; echo $?) \
	"the refused one is counted as failed"
ok $([ "$(metric 'crmsync_push_failed_rows{unit="lead"}')" = 1 ] && [ "$(metric 'crmsync_backlog_pending{unit="lead"}')" = 1 ]; echo $?) \
	"the refused row waits: pending 1, failed 1"
ok $([ "$(metric crmsync_last_cycle_errors)" = 1 ] && [ "$(metric crmsync_errors_total)" -ge 1 ]; echo $?) \
	"the cycle's error is counted"

# --- health: stale after the age, failing cycles do not refresh it ---------------------
sleep 2.3
code=$(healthz); exit_is "/healthz answers 503 once no cycle succeeded for healthz_max_age" 503 "$code"
contains "naming the age and where to look" "$T/healthz" "stale: no successful cycle for"
emu POST faults '{"path":"/services/data","status":500}' >/dev/null
next_cycle; ok $? "a cycle against a failing CRM is published"
ok $([ "$(metric crmsync_last_cycle_success)" = 0 ] && [ "$(metric 'crmsync_unit_failed{unit="user"}')" = 1 ]; echo $?) \
	"it shows as failed, per unit"
code=$(healthz); exit_is "a failing cycle keeps /healthz at 503" 503 "$code"
emu DELETE faults >/dev/null
next_cycle
code=$(healthz); exit_is "a good cycle brings /healthz back to 200" 200 "$code"
now=$(date +%s); last=$(metric crmsync_last_success_timestamp_seconds)
ok $(python3 -c "import sys; sys.exit(0 if abs($now - $last) < 10 else 1)"; echo $?) \
	"last_success_timestamp_seconds is now ($last)"
code=$(curl -s -o /dev/null -w '%{http_code}' "$METRICS/nope"); exit_is "other paths are 404" 404 "$code"

kill -TERM "$CS_PID"; wait "$CS_PID"; st=$?
exit_is "SIGTERM stops crmsync run cleanly" 0 "$st"
curl -s -o /dev/null "$METRICS/metrics"; ok $([ $? -ne 0 ]; echo $?) "and closes the listener"
done_testing
