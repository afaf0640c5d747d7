#!/bin/sh
# tests/e2e/inflight.sh - crmsync dies while a create it sent is inside the
# CRM: the record is created, the answer never arrives. The next cycle must
# find that record in the local row that asked for it, not pull it into a row
# of its own beside the waiting one (two local rows, the second push refused).
# The CRM holds the request with a delay fault, so the kill lands between send
# and answer every time. The same for an answer lost on the wire (truncated),
# without a crash.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e/e2e.sh"
plan 19
UPSERT=/services/data/v59.0/composite/sobjects/Lead/crmsync_Key__c
# held_kill FAULT LOG: hold the matching CRM call with FAULT, run a cycle in
# the background, SIGKILL crmsync once the CRM has the call, and wait for the
# CRM to finish it
held_kill() {
	emu DELETE faults >/dev/null
	emu POST faults "$1" >/dev/null
	CS_LOG=info cs_bg sync --once >"$2" 2>&1
	pid=$CS_PID
	for _ in $(seq 400); do
		emu GET faults | grep -q '"seen": *[1-9]' && break
		sleep 0.025
	done
	kill -9 $pid 2>/dev/null
	wait $pid 2>/dev/null
	sleep 3 # the CRM finishes the held call after its delay
}
emu_start --seed users=2,leads=20,accounts=2,contacts=4,campaigns=1 --seed-rng 4
ok $? "the emulator starts seeded"
export CS_OPTS="-o sync.units=user,lead"
cs sync --once >"$T/o" 2>&1
ok $? "the initial copy succeeds"

# 1. killed while the CRM holds the create
lsql "insert into lead(lastname, company, email, sync_mark) values('Inflight', 'K', 'inflight@example.com', 1)"
held_kill "{\"method\":\"PATCH\",\"path\":\"$UPSERT\",\"delayMs\":2500,\"once\":true}" "$T/kill.log"
crm=$(emu GET dump/Lead | python3 -c "import json,sys; print(' '.join(r['Id'] for r in json.load(sys.stdin)['records'] if r.get('LastName') == 'Inflight'))")
ok $([ -n "$crm" ] && [ "$(echo $crm | wc -w)" = 1 ]; echo $?) "the CRM created the record while crmsync was killed ($crm)"
n=$(sql "select count(*) from lead where lastname = 'Inflight' and id is null")
ok $([ "$n" = 1 ]; echo $?) "the local row still waits for its CRM id"
CS_LOG=info cs sync --once >"$T/after.log" 2>&1
ok $? "the next cycle succeeds"
contains "it says the create had landed" "$T/after.log" "landed as $crm"
rows=$(sql "select count(*) || ':' || coalesce(max(id), '') from lead where lastname = 'Inflight'")
ok $([ "$rows" = "1:$crm" ]; echo $?) "one local row, holding the CRM id ($rows)"
n=$(emu GET dump/Lead | python3 -c "import json,sys; print(sum(1 for r in json.load(sys.stdin)['records'] if r.get('LastName') == 'Inflight'))")
ok $([ "$n" = 1 ]; echo $?) "one CRM record ($n)"

# 1b. a whole batch in flight: 120 creates in one call, looked for 50 keys
# per query
lsql "with recursive n(i) as (select 1 union all select i + 1 from n where i < 120)
  insert into lead(lastname, company, email, sync_mark)
  select 'Batch', 'K', 'batch-' || i || '@example.com', 1 from n"
held_kill "{\"method\":\"PATCH\",\"path\":\"$UPSERT\",\"delayMs\":2500,\"once\":true}" "$T/kill1b.log"
n=$(emu GET dump/Lead | python3 -c "import json,sys; print(sum(1 for r in json.load(sys.stdin)['records'] if r.get('LastName') == 'Batch'))")
ok $([ "$n" = 120 ]; echo $?) "the CRM created the batch's 120 records while crmsync was killed ($n)"
CS_LOG=info cs sync --once >"$T/after1b.log" 2>&1
ok $? "the next cycle succeeds"
found=$(grep -c "landed as" "$T/after1b.log")
rows=$(sql "select count(*) || ':' || count(id) || ':' || count(distinct id) from lead where lastname = 'Batch'")
ok $([ "$rows" = "120:120:120" ] && [ "$found" = 120 ]; echo $?) "120 local rows, each with its own CRM id ($rows; $found found)"
emu DELETE faults >/dev/null

# 2. the answer is lost on the wire, crmsync lives on
lsql "insert into lead(lastname, company, email, sync_mark) values('Lost', 'K', 'lost@example.com', 1)"
emu POST faults "{\"method\":\"PATCH\",\"path\":\"$UPSERT\",\"truncate\":true,\"count\":10}" >/dev/null
cs sync --once >"$T/lost.log" 2>&1
emu DELETE faults >/dev/null
n=$(emu GET dump/Lead | python3 -c "import json,sys; print(sum(1 for r in json.load(sys.stdin)['records'] if r.get('LastName') == 'Lost'))")
ok $([ "$n" = 1 ]; echo $?) "the CRM took the create whose answer was lost ($n)"
cs sync --once >"$T/o" 2>&1 && cs sync --once >>"$T/o" 2>&1
ok $? "the next cycles succeed"
rows=$(sql "select count(*) || ':' || (id is not null) from lead where lastname = 'Lost'")
ok $([ "$rows" = "1:1" ]; echo $?) "one local row, holding the CRM id ($rows)"

# 3. an object without crmsync_Key__c (CampaignMember): the record is found by
# what was sent and when
export CS_OPTS="-o sync.units=user,lead,contact,account,campaign"
cs sync --once >"$T/o" 2>&1
camp=$(sql "select id from campaign limit 1")
lead=$(sql "select id from lead where lastname = 'Inflight'")
lsql "insert into campaignmember(campaignid, leadid, status, sync_mark) values('$camp', '$lead', 'Sent', 1)"
held_kill '{"method":"POST","path":"/services/data/v59.0/composite/sobjects","delayMs":2500,"once":true}' "$T/kill2.log"
cm=$(emu GET dump/CampaignMember | python3 -c "import json,sys; print(' '.join(r['Id'] for r in json.load(sys.stdin)['records'] if r.get('LeadId') == '$lead'))")
ok $([ -n "$cm" ] && [ "$(echo $cm | wc -w)" = 1 ]; echo $?) "the CRM created the campaign member while crmsync was killed ($cm)"
CS_LOG=info cs sync --once >"$T/after2.log" 2>&1
ok $? "the next cycle succeeds"
contains "it says the campaign member's create had landed" "$T/after2.log" "landed as $cm"
rows=$(sql "select count(*) || ':' || coalesce(max(id), '') from campaignmember where leadid = '$lead'")
ok $([ -n "$cm" ] && [ "$rows" = "1:$cm" ]; echo $?) "one local campaign member row, holding the CRM id ($rows)"
UNITS_CMP="lead=Lead user=User campaignmember=CampaignMember" compare_sides >"$T/cmp" 2>&1; st=$?
ok $st "both sides are equal field by field"
[ $st -eq 0 ] || sed 's/^/# /' "$T/cmp" | head
