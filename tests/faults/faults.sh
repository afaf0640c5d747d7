# tests/faults/faults.sh - shared by the fault tests (source after tests/lib.sh
# and tests/e2e/e2e.sh): inject faults with the emulator's control plane, read
# what crmsync reports, and mark known bugs as TODO so the TAP driver reports
# them as XFAIL (and an XPASS, once fixed, fails the suite until the TODO goes).
V=/services/data/v59.0
# short timeouts and one retry: a failing fault costs a second, not minutes
FAULT_OPTS="-o salesforce.timeout=2s -o salesforce.max_retries=1 -o sync.page_size=200"
FAULTS_TRIED=0
CYCLES=0

# fault_add JSON: install a fault, print nothing; FAULT_ID is its id
fault_add() {
	FAULT_ID=$(emu POST faults "$1" | json_get id)
	FAULTS_TRIED=$((FAULTS_TRIED + 1))
}
# fault_fired ID: how many times the fault answered
fault_fired() {
	emu GET faults | python3 -c "
import json,sys
print(sum(f['fired'] for f in json.load(sys.stdin)['faults'] if f['id']==$1))"
}
# when_fired ID CMD...: in the background, run CMD once fault ID has fired
# (the faulted request is then stalling in the emulator); WHEN_PID
when_fired() {
	id=$1
	shift
	(
		for _ in $(seq 200); do # curl and grep: polling must be cheap
			emu GET faults | grep -o "\"id\":$id,[^}]*" | grep -q '"fired":[1-9]' && break
			sleep 0.02
		done
		"$@" >/dev/null
	) &
	WHEN_PID=$!
}
faults_clear() { emu DELETE faults >/dev/null; }
# sync_once [crmsync options]: one cycle; SYNC_RC, output in $T/sync.out
sync_once() {
	cs "$@" sync --once >"$T/sync.out" 2>&1
	SYNC_RC=$?
	CYCLES=$((CYCLES + 1))
}
# converge DESC: the fault removed, the next cycle completes and both sides
# are equal field by field
converge() {
	faults_clear
	sync_once
	if [ "$SYNC_RC" -ne 0 ]; then
		ok 1 "$1: the next cycle completes"
		sed 's/^/# /' "$T/sync.out" | head -5
		return
	fi
	compare_sides --allow-local >"$T/cmp" 2>&1
	st=$?
	ok $st "$1: the next cycle completes and both sides are equal"
	[ $st -eq 0 ] || sed 's/^/# /' "$T/cmp" | head -10
}
# todo STATUS DESC DIAGNOSIS: a test of a known bug (not ok ... # TODO: XFAIL)
todo() {
	tap_n=$((tap_n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $tap_n - $2 # TODO $3"; else echo "not ok $tap_n - $2 # TODO $3"; fi
}
# errors_has DESC NEEDLE...: the newest job error (crmsync errors --csv, last
# line) contains every needle
errors_has() {
	d=$1
	shift
	cs errors --csv >"$T/err.csv" 2>&1
	tail -n 1 "$T/err.csv" >"$T/err.last"
	for n in "$@"; do
		if ! grep -qF -- "$n" "$T/err.last"; then
			ok 1 "$d"
			echo "# '$n' not in the newest error:"
			sed 's/^/#   /' "$T/err.last"
			return
		fi
	done
	ok 0 "$d"
}
# rows UNIT: "rows tombstones" of a local table
rows() { sql "select count(*)||' '||coalesce(sum(is_deleted),0) from $1"; }
# touch_leads N: bump SystemModstamp of N stored leads, so the next pull spans
# several pages (page_size 200)
touch_leads() {
	ids=$(sql "select group_concat('\"'||id||'\"') from (select id from lead where is_deleted=0 limit $1)")
	emu POST touch "{\"type\":\"Lead\",\"ids\":[$ids]}" >/dev/null
}
# crm_set TYPE ID FIELD VALUE: an edit made by a CRM user
crm_set() {
	emu POST "records/$1" "{\"op\":\"update\",\"id\":\"$2\",\"fields\":{\"$3\":\"$4\"}}" >/dev/null
}
# crm_get TYPE ID FIELD: a field of a CRM record (dump)
crm_get() {
	emu GET "dump/$1" | python3 -c "
import json,sys
r=[x for x in json.load(sys.stdin)['records'] if x['Id']=='$2']
print(r[0].get('$3') if r else 'MISSING')"
}
# figures FILE: append this test's counts (for tests/RELIABILITY.md)
figures() {
	echo "# figures: $FAULTS_TRIED faults injected, $CYCLES crmsync cycles run"
}
