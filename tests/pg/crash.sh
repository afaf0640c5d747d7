#!/bin/sh
# tests/pg/crash.sh - the PostgreSQL server dies in the middle of the initial
# copy (an immediate shutdown: every connection drops, open transactions are
# lost) and comes back. The running sync reconnects by itself and, once the
# server is back, the local table holds every CRM record exactly once, and
# later local edits still reach the CRM.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e/e2e.sh"
. "$top_srcdir/tests/pg/pg.sh"
plan 9

pg_start; ok $? "a private PostgreSQL server starts"
CI=$(pg_createdb crmsync_crash)
SCHEMA=crash
N=8000
pg_e2e "$CI" $SCHEMA

emu_start --seed users=2,leads=$N --seed-rng 11
ok $? "the emulator starts with $N leads"
LIVE=$(emu GET dump/Lead | python3 -c "import json,sys; print(sum(1 for r in json.load(sys.stdin)['records'] if not r['IsDeleted']))")

# each page held 200 ms by the CRM: the copy (40 pages) outlasts the polling
# below on any machine, so the kill lands mid-copy (COPY stores a page of 200
# in a few milliseconds; without the hold the copy could finish first)
emu POST faults '{"method":"GET","path":"/services/data/v59.0/query","delayMs":200,"count":100000}' >/dev/null
CS_LOG=info CS_OPTS="-o storage.reconnect_delay=100 -o sync.units=lead -o sync.page_size=200 -o sync.interval=1s" \
	cs_bg run >"$T/cs.log" 2>&1
at_exit "kill $CS_PID 2>/dev/null; wait $CS_PID 2>/dev/null"

# wait until part of the copy is stored, then kill the server under it
n=0
for _ in $(seq 600); do
	n=$(sql "select count(*) from lead" 2>/dev/null || echo 0)
	[ "${n:-0}" -ge 600 ] && break
	kill -0 $CS_PID 2>/dev/null || break
	sleep 0.05
done
pg_kill; st=$?
emu DELETE faults >/dev/null
ok $([ $st -eq 0 ] && [ "${n:-0}" -ge 600 ] && [ "$n" -lt $LIVE ]; echo $?) "the server is killed mid-copy ($n of $LIVE leads stored)"
kill -0 $CS_PID 2>/dev/null || { echo "Bail out! crmsync is not running:"; sed 's/^/# /' "$T/cs.log" | tail; exit 1; }
sleep 1
pg_restart; ok $? "the server restarts"

# the daemon reconnects and finishes the copy
for _ in $(seq 300); do
	n=$(sql "select count(*) from lead" 2>/dev/null || echo 0)
	[ "${n:-0}" -ge $LIVE ] && break
	kill -0 $CS_PID 2>/dev/null || break
	sleep 0.2
done
ok $([ "$n" -eq $LIVE ]; echo $?) "after the restart the copy completes: $n of $LIVE leads"
ok $([ "$(sql "select count(distinct id) from lead")" -eq "$n" ]; echo $?) "no lead is stored twice"
grep -qi "connection\|terminat\|server closed" "$T/cs.log"; ok $? "the sync noticed the lost connection"
[ $? -eq 0 ] || tail -5 "$T/cs.log" | sed 's/^/# /'

# a local edit after the crash is pushed once
ID=$(sql "select id from lead order by id limit 1")
sql "update lead set title='after-the-crash' where id='$ID'"
for _ in $(seq 100); do
	[ "$(sql "select count(*) from _crmsync_log")" = 0 ] && break
	sleep 0.1
done
emu GET dump/Lead >"$T/leads.json"
python3 -c "
import json,sys
r=[x for x in json.load(open('$T/leads.json'))['records'] if x['Id']=='$ID']
sys.exit(0 if r and r[0]['Title']=='after-the-crash' else 1)"; ok $? "a local edit after the restart reached the CRM"
UNITS_CMP=lead=Lead compare_sides >"$T/cmp" 2>&1
st=$?; ok $st "both sides are equal field by field"
[ $st -eq 0 ] || sed 's/^/# /' "$T/cmp" | head -20
done_testing
