#!/bin/sh
# tests/faults/records.sh - per-record push errors (validation rule,
# UNABLE_TO_LOCK_ROW, DUPLICATE_VALUE), a session expiring between pages, the
# org's REQUEST_LIMIT_EXCEEDED, query locators dying between batches, a record
# deleted and purged between cycles, and a field hidden from the sync user.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e/e2e.sh"
. "$top_srcdir/tests/faults/faults.sh"
plan 34
export CS_OPTS="-o sync.units=user,account,lead,contact $FAULT_OPTS"
UNITS_CMP="lead=Lead contact=Contact account=Account user=User"
failed_of() { # failed_of UNIT: the status count of failed pushes
	cs status --json | python3 -c "
import json,sys
print({u['unit']:u for u in json.load(sys.stdin)['units']}['$1']['failed'])"
}

emu_start --seed users=3,accounts=10,contacts=20,leads=300 --seed-rng 11
ok $? "the emulator starts seeded"
sync_once
ok $SYNC_RC "the initial copy completes"
set -- $(sql "select id from lead where is_deleted=0 order by id limit 4")
L1=$1 L2=$2 L3=$3 L4=$4
C1=$(sql "select id from contact where is_deleted=0 order by id limit 1")

# --- validation rule: FIELD_CUSTOM_VALIDATION_EXCEPTION ----------------------------
emu POST validation '{"object":"Lead","field":"Title","reject":"Intern","message":"Interns cannot be leads: ask HR"}' >/dev/null
FAULTS_TRIED=$((FAULTS_TRIED + 1))
lsql "update lead set title='Intern' where id='$L1'; update lead set title='Boss' where id='$L2';
  update contact set title='Also pushed' where id='$C1'"
sync_once
ok $SYNC_RC "validation: a refused record does not fail the cycle"
ok $([ "$(crm_get Lead "$L2" Title)" = Boss ] && [ "$(crm_get Contact "$C1" Title)" = "Also pushed" ]; echo $?) \
	"validation: the other records of the batch and of other units are pushed"
errors_has "validation: crmsync errors keeps the record, the code and the CRM's message verbatim" \
	"$L1" FIELD_CUSTOM_VALIDATION_EXCEPTION "Interns cannot be leads: ask HR"
ok $([ "$(failed_of lead)" = 1 ]; echo $?) "validation: status counts the failed push"
a=$(api_calls); sync_once; b=$(api_calls)
ok $([ "$SYNC_RC" -eq 0 ] && [ $((b - a)) -eq 1 ]; echo $?) \
	"validation: the next cycle waits for the backoff instead of resending (cost $((b - a)) call)"
emu DELETE validation >/dev/null
cs push lead "$L1" >"$T/push.out" 2>&1
prc=$?
ok $([ $prc -eq 0 ] && [ "$(crm_get Lead "$L1" Title)" = Intern ]; echo $?) \
	"validation: after the rule is removed the retry (crmsync push) succeeds"
ok $([ "$(failed_of lead)" = 0 ]; echo $?) "validation: the failure is cleared"

# --- UNABLE_TO_LOCK_ROW (a per-record error in a 200 answer) ------------------------
lsql "update lead set title='Locked' where id='$L3';
  insert into lead(lastname, company, email, sync_mark) values('NotBlocked', 'N', 'notblocked@example.com', 1)"
fault_add "{\"method\":\"PATCH\",\"path\":\"$V/composite/sobjects\",\"status\":200,\"once\":true,\"body\":[{\"id\":\"$L3\",\"success\":false,\"errors\":[{\"statusCode\":\"UNABLE_TO_LOCK_ROW\",\"message\":\"unable to obtain exclusive access to this record or 1 records\",\"fields\":[]}]}]}"
sync_once
ok $SYNC_RC "lock row: the cycle completes"
errors_has "lock row: the error is stored with the CRM's message verbatim" \
	"$L3" UNABLE_TO_LOCK_ROW "unable to obtain exclusive access to this record or 1 records"
ok $([ -n "$(sql "select id from lead where email='notblocked@example.com'")" ]; echo $?) \
	"lock row: the create in the same push is not blocked"
faults_clear
cs push lead "$L3" >"$T/push.out" 2>&1
ok $([ "$(crm_get Lead "$L3" Title)" = Locked ]; echo $?) "lock row: the retry succeeds once the row is free"

# --- DUPLICATE_VALUE on the unique crmsync_Key__c -----------------------------------
emu POST records/Lead "{\"op\":\"update\",\"id\":\"$L4\",\"fields\":{\"crmsync_Key__c\":\"KEY-4\"}}" >/dev/null
sync_once
lsql "update lead set crmsync_key__c='key-4', title='dup' where id='$L2'"
sync_once
ok $SYNC_RC "duplicate: the cycle completes"
errors_has "duplicate: DUPLICATE_VALUE is stored with the CRM's message" \
	"$L2" DUPLICATE_VALUE "duplicate value found: crmsync_Key__c"
ok $([ "$(crm_get Lead "$L4" crmsync_Key__c)" = KEY-4 ] && [ "$(crm_get Lead "$L2" Title)" = Boss ]; echo $?) \
	"duplicate: neither record changed in the CRM"
lsql "update lead set crmsync_key__c=NULL where id='$L2'"
cs push lead "$L2" >"$T/push.out" 2>&1
ok $([ "$(crm_get Lead "$L2" Title)" = dup ]; echo $?) "duplicate: fixed locally, the retry succeeds"
converge "per-record errors"

# --- 401 between pages ---------------------------------------------------------------
# the second page stalls 1.5 s; meanwhile every session expires
touch_leads 250
crm_set Lead "$L4" Title "after-401"
fault_add "{\"method\":\"GET\",\"path\":\"$V/queryAll\",\"after\":1,\"delayMs\":1500,\"once\":true}"
emu DELETE log >/dev/null
when_fired "$FAULT_ID" emu POST tokens/expire
sync_once
wait $WHEN_PID
logins=$(emu GET 'log?limit=500' | python3 -c "
import json,sys
print(sum(1 for r in json.load(sys.stdin)['requests'] if r['path'].endswith('/oauth2/token')))")
ok $([ "$SYNC_RC" -eq 0 ] && [ "$logins" -ge 2 ]; echo $?) \
	"401 mid-paging (tokens/expire): logs in again and continues ($logins logins, exit $SYNC_RC)"
ok $([ "$(sql "select title from lead where id='$L4'")" = after-401 ]; echo $?) "401 mid-paging: the last page is stored"
touch_leads 250
crm_set Lead "$L4" Title "after-401b"
fault_add "{\"method\":\"GET\",\"path\":\"$V/queryAll\",\"after\":1,\"status\":401,\"once\":true}"
sync_once
ok $([ "$SYNC_RC" -eq 0 ] && [ "$(sql "select title from lead where id='$L4'")" = after-401b ]; echo $?) \
	"401 INVALID_SESSION_ID on a page: re-auth, the pull completes"
converge "401 mid-paging"

# --- REQUEST_LIMIT_EXCEEDED --------------------------------------------------------
before=$(rows lead)
touch_leads 250
crm_set Lead "$L4" Title "after-limit"
fault_add "{\"method\":\"GET\",\"path\":\"$V/queryAll\",\"after\":1,\"status\":403}"
sync_once
ok $([ "$SYNC_RC" -ne 0 ] && grep -qi 'API budget\|limit' "$T/sync.out"; echo $?) \
	"REQUEST_LIMIT_EXCEEDED: the cycle stops with a limit message (exit $SYNC_RC)"
ok $([ "$(rows lead)" = "$before" ]; echo $?) "REQUEST_LIMIT_EXCEEDED: nothing stored is lost"
grep -q REQUEST_LIMIT_EXCEEDED "$T/sync.out"
ok $? "REQUEST_LIMIT_EXCEEDED: the message says Salesforce refused (not only our own budget figures)"
converge "REQUEST_LIMIT_EXCEEDED"
ok $([ "$(sql "select title from lead where id='$L4'")" = after-limit ]; echo $?) \
	"REQUEST_LIMIT_EXCEEDED: the next cycle resumes and catches up"

# --- query locators dying between batches (the emulator cuts pages to 50) ----------
emu POST config '{"chaosBatch":50}' >/dev/null
touch_leads 250
crm_set Lead "$L4" Title "after-locator"
fault_add "{\"method\":\"GET\",\"path\":\"$V/query/\",\"after\":1,\"delayMs\":1500,\"once\":true}"
when_fired "$FAULT_ID" emu POST cursors/expire
CS_LOG=info sync_once
wait $WHEN_PID
fired=$(fault_fired "$FAULT_ID")
ok $([ "$SYNC_RC" -eq 0 ] && [ "$fired" -ge 1 ] && grep -q 'cursor expired' "$T/sync.out"; echo $?) \
	"locator expiry (cursors/expire): the pull restarts from its checkpoint (fired $fired, exit $SYNC_RC)"
[ "$SYNC_RC" -eq 0 ] || sed 's/^/# /' "$T/sync.out" | tail -3
ok $([ "$(sql "select title from lead where id='$L4'")" = after-locator ]; echo $?) "locator expiry: the pull completes"
touch_leads 250
crm_set Lead "$L4" Title "after-locator2"
fault_add "{\"method\":\"GET\",\"path\":\"$V/query/\",\"after\":2,\"status\":400,\"errorCode\":\"INVALID_QUERY_LOCATOR\",\"message\":\"invalid query locator\",\"once\":true}"
sync_once
ok $([ "$SYNC_RC" -eq 0 ] && [ "$(sql "select title from lead where id='$L4'")" = after-locator2 ]; echo $?) \
	"INVALID_QUERY_LOCATOR answered on a batch: restarted, the pull completes"
# legacy API versions keep at most 10 open cursors per user: another client of
# the same user opens 11 while crmsync (v50.0) waits for a batch
tok=$(curl -s -d grant_type=password -d client_id=crmsync-demo -d client_secret=crmsync-demo-secret \
	-d username=sync@example.com -d password=sync-password "$EMU_URL/services/oauth2/token" | json_get access_token)
open_cursors() {
	for _ in $(seq 11); do
		curl -s -H "Authorization: Bearer $tok" "$EMU_URL/services/data/v50.0/query?q=SELECT+Id+FROM+Lead" >/dev/null
	done
}
touch_leads 250
crm_set Lead "$L4" Title "after-legacy"
fault_add "{\"method\":\"GET\",\"path\":\"/services/data/v50.0/query/\",\"after\":1,\"delayMs\":1500,\"once\":true}"
when_fired "$FAULT_ID" open_cursors
CS_LOG=info sync_once -o salesforce.api_version=50.0
wait $WHEN_PID
ok $([ "$SYNC_RC" -eq 0 ] && grep -q 'cursor expired' "$T/sync.out" &&
	[ "$(sql "select title from lead where id='$L4'")" = after-legacy ]; echo $?) \
	"v50.0, 11 cursors opened meanwhile (the oldest evicted): the pull restarts and completes"
emu POST config '{"chaosBatch":0}' >/dev/null
converge "locator expiry"

# --- purge: deleted and emptied from the recycle bin between cycles ------------------
P1=$(sql "select id from lead where is_deleted=0 order by id desc limit 1")
emu POST records/Lead "{\"op\":\"delete\",\"id\":\"$P1\"}" >/dev/null
emu POST purge '{"type":"Lead"}' >/dev/null
FAULTS_TRIED=$((FAULTS_TRIED + 1))
sync_once -o sync.reconcile_interval=1ms
ok $([ "$SYNC_RC" -eq 0 ] && [ "$(sql "select is_deleted from lead where id='$P1'")" = 1 ]; echo $?) \
	"purge: the id reconciliation tombstones a record purged between cycles"
converge "purge"

figures
done_testing
