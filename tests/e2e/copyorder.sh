#!/bin/sh
# tests/e2e/copyorder.sh - the first copy pages in Id order (the store appends
# ascending ids instead of scattering them over its id index) and ends with
# the watermark of the moment it began: whatever changes in the CRM while it
# runs, behind it or ahead of it, is in the local database after the next
# cycle. The copy is stopped mid-way (SIGTERM), the CRM changed, the copy
# resumed and finished, one incremental cycle run. Then a field becomes
# visible to the sync user in the middle of a first copy: the copy starts over,
# so the rows it had stored get the field too. Last, a field hidden and shown
# again once the copy is done: every record is read again (a refill), stopped
# and resumed; status and status --json say which copy is in progress.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e/e2e.sh"
plan 25
emu_start --seed users=2,leads=20000 --seed-rng 11
ok $? "the emulator starts seeded"
export CS_OPTS="-o sync.units=user,lead -o sync.page_size=500"
# stop_copy LOG: start `crmsync run`, SIGTERM it once 1000 leads are stored
stop_copy() {
	CS_LOG=info cs_bg run >"$1" 2>&1
	for _ in $(seq 600); do
		[ "$(sql "select count(*) from lead" 2>/dev/null || echo 0)" -ge 1000 ] && break
		sleep 0.05
	done
	kill -TERM $CS_PID
	wait $CS_PID
}
newest=$(emu GET dump/Lead | python3 -c "
import json,sys
print(max(r['SystemModstamp'] for r in json.load(sys.stdin)['records']))")

stop_copy "$T/copy.log"
n1=$(sql "select count(*) from lead")
ok $([ "$n1" -gt 0 ] && [ "$n1" -lt 19000 ]; echo $?) "the copy was stopped mid-way ($n1 leads stored)"
ok $([ "$(sql "select count(*) from lead a join lead b on a.local_id < b.local_id and a.id > b.id")" = 0 ]; echo $?) \
	"the copy stored the leads in Id order"
ok $([ -z "$(sql "select value from _crmsync_state where unit='lead' and key='watermark'")" ]; echo $?) \
	"no watermark while the copy runs (it resumes from its own cursor)"
cs status >"$T/status" 2>&1
contains "status says the copy is in progress" "$T/status" "initial copy in progress"
# copy_is JSON UNIT VALUE: status --json says unit's "copy" is VALUE (None: no copy)
copy_is() {
	python3 -c "
import json,sys
u={x['unit']: x for x in json.load(open(sys.argv[1]))['units']}[sys.argv[2]]
want=None if sys.argv[3] == 'None' else sys.argv[3]
sys.exit(0 if u['copy'] == want and u['initial_copy_done'] == (want is None) else 1)" "$@"
}
cs status --json >"$T/status.json" 2>&1
ok $(copy_is "$T/status.json" lead initial && copy_is "$T/status.json" user None; echo $?) \
	"status --json: the lead copy is in progress (\"copy\": \"initial\"), the user copy done"

# the CRM changes while the copy is stopped: behind it and ahead of it
behind=$(sql "select id from lead order by id limit 1 offset 10")
gone=$(sql "select id from lead order by id limit 1 offset 20")
ahead=$(emu GET dump/Lead | python3 -c "
import json,sys
print(max(r['Id'] for r in json.load(sys.stdin)['records'] if not r.get('IsDeleted')))")
emu POST records/Lead "{\"op\":\"update\",\"id\":\"$behind\",\"fields\":{\"Title\":\"Edited behind the copy\"}}" >/dev/null
emu POST records/Lead "{\"op\":\"update\",\"id\":\"$ahead\",\"fields\":{\"Title\":\"Edited ahead of the copy\"}}" >/dev/null
emu POST records/Lead "{\"op\":\"delete\",\"id\":\"$gone\"}" >/dev/null
emu POST records/Lead '{"op":"create","fields":{"LastName":"Created during the copy","Company":"Midway"}}' >/dev/null

CS_LOG=info cs sync --once >"$T/resume.log" 2>&1
ok $? "the resumed copy completes"
contains "it resumed where it stopped" "$T/resume.log" "(resuming)"
ok $([ "$(sql "select title from lead where id = '$ahead'")" = "Edited ahead of the copy" ]; echo $?) \
	"a record changed ahead of the copy arrives with the change"
wm=$(sql "select value from _crmsync_state where unit='lead' and key='watermark'")
wm_iso=$(python3 -c "import datetime; print(datetime.datetime.fromtimestamp(${wm%% *}/1000, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%f')[:23])")
ok $([ "$wm_iso" = "${newest%Z}" ] || [ "$wm_iso" = "$(echo "$newest" | cut -c1-23)" ]; echo $?) \
	"the copy's watermark is the newest stamp when it began ($wm_iso, newest $newest)"

cs sync --once >"$T/incr.log" 2>&1
ok $? "the next cycle runs"
ok $([ "$(sql "select title from lead where id = '$behind'")" = "Edited behind the copy" ]; echo $?) \
	"a record changed behind the copy is updated by the next cycle"
ok $([ "$(sql "select is_deleted from lead where id = '$gone'")" = 1 ]; echo $?) \
	"a record deleted behind the copy is a tombstone after the next cycle"
ok $([ "$(sql "select count(*) from lead where lastname = 'Created during the copy'")" = 1 ]; echo $?) \
	"a record created during the copy is stored once"
UNITS_CMP="lead=Lead user=User" compare_sides >"$T/cmp" 2>&1; st=$?
ok $st "every record is equal on both sides"
[ $st -eq 0 ] || sed 's/^/# /' "$T/cmp" | head

# --- a field becomes visible in the middle of a first copy ---------------------------
rm -f "$T/local.db" "$T/local.db-wal" "$T/local.db-shm"
emu POST fls '{"object":"Lead","field":"Industry","read":false}' >/dev/null
stop_copy "$T/copy2.log"
n2=$(sql "select count(*) from lead")
ok $([ "$n2" -gt 0 ] && [ "$n2" -lt 19000 ] && ! sql "select industry from lead limit 1" >/dev/null 2>&1; echo $?) \
	"a copy without the hidden field was stopped mid-way ($n2 leads stored, no industry column)"
emu POST fls '{"object":"Lead","field":"Industry","read":true}' >/dev/null
CS_LOG=info cs sync --once >"$T/restart.log" 2>&1
ok $? "the copy completes after the field appeared"
contains "the copy started over for the new field" "$T/restart.log" "new fields (Industry): the first copy of Lead starts over"
UNITS_CMP="lead=Lead user=User" compare_sides >"$T/cmp2" 2>&1; st=$?
ok $st "every record is equal on both sides, the new field included"
[ $st -eq 0 ] || sed 's/^/# /' "$T/cmp2" | head

# --- a field shown again once the copy is done: every lead is read again ---------
emu POST fls '{"object":"Lead","field":"Title","read":false}' >/dev/null
cs sync --once >"$T/hide.log" 2>&1
emu POST fls '{"object":"Lead","field":"Title","read":true}' >/dev/null
emu POST records/Lead "{\"op\":\"update\",\"id\":\"$behind\",\"fields\":{\"Title\":\"Edited while hidden\"}}" >/dev/null
# each query held 300 ms, so the refill is stopped between its pages
emu POST faults '{"method":"GET","path":"/services/data/v59.0/query","delayMs":300,"count":100000}' >/dev/null
CS_LOG=info cs_bg run >"$T/refill.log" 2>&1
for _ in $(seq 600); do
	[ -n "$(sql "select value from _crmsync_state where unit='lead' and key='copy_cursor'" 2>/dev/null)" ] && break
	sleep 0.05
done
kill -TERM $CS_PID
wait $CS_PID
emu DELETE faults >/dev/null
cs status >"$T/status3" 2>&1
contains "status says a refill is in progress" "$T/status3" "refill for new fields in progress"
cs status --json >"$T/status3.json" 2>&1
ok $(copy_is "$T/status3.json" lead refill; echo $?) "status --json: \"copy\": \"refill\" for leads"
CS_LOG=info cs sync --once >"$T/refill2.log" 2>&1
ok $? "the refill completes"
cs status --json >"$T/status4.json" 2>&1
ok $(copy_is "$T/status4.json" lead None && ! grep -q "in progress" "$T/status4.json"; echo $?) \
	"status --json: no copy in progress once it is done"
ok $([ "$(sql "select title from lead where id = '$behind'")" = "Edited while hidden" ]; echo $?) \
	"the refill brought the change made while the field was hidden"
UNITS_CMP="lead=Lead user=User" compare_sides >"$T/cmp3" 2>&1; st=$?
ok $st "every record is equal on both sides after the refill"
[ $st -eq 0 ] || sed 's/^/# /' "$T/cmp3" | head
