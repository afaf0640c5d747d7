#!/bin/sh
# tests/e2e/crash.sh - kill crmsync with SIGKILL at random moments of its
# initial copy and of incremental cycles, with edits on both sides in between;
# then let it finish and demand: both sides equal field by field, no duplicate
# CRM record, no lost local edit. Reproducible: CRASH_SEED (printed) and
# CRASH_KILLS (default 20) choose the moments.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e/e2e.sh"
KILLS=${CRASH_KILLS:-20}
SEED=${CRASH_SEED:-$(date +%s)}
echo "# CRASH_SEED=$SEED CRASH_KILLS=$KILLS"
plan 8

emu_start --seed users=5,accounts=300,contacts=2000,leads=6000,campaigns=3,members=200,tasks=300,invoices=50 --seed-rng 3
ok $? "the emulator starts seeded"
# random numbers from the seed: rnd N sets R to 0..N-1 (a variable, not
# output: $(rnd) would run in a subshell and never advance the state)
rnd_state=$SEED
rnd() {
	rnd_state=$(( (rnd_state * 1103515245 + 12345) % 2147483648 ))
	R=$(( rnd_state / 65536 % $1 ))
}
: >"$T/expect"   # lines: local_email title  (local edits that must reach the CRM)
kills=0
edits=0
i=0
while [ $i -lt "$KILLS" ]; do
	i=$((i + 1))
	CS_LOG=info CS_OPTS="-o sync.interval=1s -o sync.page_size=500 -o sync.turn_pages=4" cs_bg run >>"$T/run.log" 2>&1
	pid=$CS_PID
	# early kills land in the initial copy, later ones in incremental cycles
	# The first kill waits for the first committed lead page (so it lands in the
	# initial copy), the last for a completed cycle (so it lands in an incremental
	# one): both phases are covered whatever the machine's speed. The kills in
	# between fall at seeded random moments, early ones early.
	if [ $i -eq 1 ]; then
		for _ in $(seq 400); do
			[ "$(sql "select count(*) from lead" 2>/dev/null || echo 0)" -gt 0 ] && break
			sleep 0.025
		done
	elif [ $i -eq "$KILLS" ]; then
		for _ in $(seq 600); do
			grep -q 'cycle [0-9]* done' "$T/run.log" 2>/dev/null && break
			sleep 0.05
		done
		rnd 1500
		sleep "$(awk "BEGIN{print $R/1000}")"
	else
		if [ $i -le $((KILLS / 3)) ]; then rnd 600; else rnd 2500; fi
		sleep "$(awk "BEGIN{print $R/1000}")"
	fi
	if kill -9 $pid 2>/dev/null; then kills=$((kills + 1)); fi
	wait $pid 2>/dev/null
	# CRM-side edits, as a CRM user would
	if [ -s "$T/local.db" ]; then
		rnd 5000
		crm_id=$(sql "select id from lead where is_deleted=0 and id is not null order by local_id limit 1 offset $R" 2>/dev/null)
		[ -n "$crm_id" ] && emu POST records/Lead "{\"op\":\"update\",\"id\":\"$crm_id\",\"fields\":{\"Company\":\"crm-edit-$i\"}}" >/dev/null
		emu POST records/Lead "{\"op\":\"create\",\"fields\":{\"LastName\":\"crm-new-$i\",\"Company\":\"C\"}}" >/dev/null
		# local edits: a new marked lead and a title change, with unique values
		lsql "insert into lead(lastname, company, email, sync_mark) values('local-new-$i', 'LocalCo', 'local-$i@example.com', 1);" 2>>"$T/sql.err" &&
			echo "local-$i@example.com -" >>"$T/expect"
		rnd 5000
		row=$(sql "select local_id from lead where is_deleted=0 and id is not null order by local_id limit 1 offset $R" 2>/dev/null)
		if [ -n "$row" ] && lsql "update lead set title='local-edit-$i' where local_id=$row" 2>>"$T/sql.err"; then
			echo "$(sql "select coalesce(email,'row:'||local_id) from lead where local_id=$row") local-edit-$i" >>"$T/expect"
			edits=$((edits + 1))
		fi
	fi
done
ok $([ "$kills" -ge "$KILLS" ]; echo $?) "crmsync was killed $kills times (wanted $KILLS)"
# run to completion: two clean cycles (the second settles what the first pushed)
cs sync --once >"$T/o1" 2>&1; st1=$?
cs sync --once >"$T/o2" 2>&1; st2=$?
ok $([ $st1 -eq 0 ] && [ $st2 -eq 0 ]; echo $?) "after the kills, sync --once completes"
[ $st1 -eq 0 ] || sed 's/^/# /' "$T/o1" | tail -5
compare_sides >"$T/cmp" 2>&1; st=$?
ok $st "both sides are equal field by field, no duplicate CRM record"
[ $st -eq 0 ] || sed 's/^/# /' "$T/cmp" | head -20
emu GET dump/Lead >"$T/leads.json"
python3 - "$T/leads.json" "$T/expect" >"$T/lost" <<'PY'
import json, sys
recs = json.load(open(sys.argv[1]))["records"]
live = [r for r in recs if not r["IsDeleted"]]
by_email = {}
for r in live:
    if r.get("Email"):
        by_email.setdefault(r["Email"], []).append(r)
lost = 0
last = {}
for line in open(sys.argv[2]):
    email, title = line.split()
    if title != "-":
        last[email] = title
    elif len(by_email.get(email, [])) != 1:
        print(f"local lead {email}: {len(by_email.get(email, []))} CRM records, expected 1")
        lost += 1
for email, title in last.items():
    rs = by_email.get(email, [])
    if email.startswith("row:") or not rs:
        continue
    if not any(r.get("Title") == title for r in rs):
        print(f"local edit lost: {email} title {title}, CRM has {[r.get('Title') for r in rs]}")
        lost += 1
print(f"# checked {len(last)} local edits and the local creates")
sys.exit(1 if lost else 0)
PY
st=$?
ok $st "no local edit lost, every local create exactly once in the CRM"
[ $st -eq 0 ] || sed 's/^/# /' "$T/lost" | head
ok $([ "$(sql "select count(*) from lead where id is null")" = 0 ]; echo $?) "every marked local lead got its CRM id"
ok $([ "$edits" -gt 0 ]; echo $?) "local edits were made between kills ($edits)"
resumed=$(grep -c 'initial copy of Lead.*resuming' "$T/run.log")
cycles=$(grep -c 'cycle [0-9]* done' "$T/run.log")
echo "# $resumed kills resumed an interrupted initial copy; $cycles cycles completed between kills"
ok $([ "$resumed" -ge 1 ] && [ "$cycles" -ge 1 ]; echo $?) "kills landed both in the initial copy and in incremental cycles"
done_testing
