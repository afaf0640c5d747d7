#!/bin/sh
# tests/faults/http.sh - HTTP faults on every kind of call a cycle makes (pull
# pages, describe, the composite idle check, push batches), injected with the
# emulator's control plane (POST /__emu/faults). Transient faults (once) are
# retried and the cycle completes with both sides equal; persistent ones fail
# the unit's step with a job error naming the unit, the step and the status,
# lose nothing stored before, and the next cycle (fault removed) converges.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e/e2e.sh"
. "$top_srcdir/tests/faults/faults.sh"
plan 70
export CS_OPTS="-o sync.units=user,account,lead,contact $FAULT_OPTS"
UNITS_CMP="lead=Lead contact=Contact account=Account user=User"

emu_start --seed users=3,accounts=10,contacts=20,leads=300 --seed-rng 11
ok $? "the emulator starts seeded"
sync_once
ok $SYNC_RC "the initial copy completes"
set -- $(sql "select id from lead where is_deleted=0 order by id desc limit 1")
LX=$1

# --- pull pages (keyset paging: every page is a query; "after":1 spares the first)
# transient NAME JSON: the fault answers once on a page after the first; 250
# touched leads make the pull three pages, and the edit rides on the last one
transient_page() {
	name=$1
	touch_leads 250
	crm_set Lead "$LX" Title "t-$name"
	fault_add "$2"
	sync_once
	fired=$(fault_fired "$FAULT_ID")
	ok $([ "$SYNC_RC" -eq 0 ] && [ "$fired" -ge 1 ]; echo $?) \
		"page, $name once: retried, the cycle completes (fired $fired, exit $SYNC_RC)"
	[ "$SYNC_RC" -eq 0 ] || sed 's/^/# /' "$T/sync.out" | head -5
	faults_clear
	ok $([ "$(sql "select title from lead where id='$LX'")" = "t-$name" ]; echo $?) \
		"page, $name once: the edit on the last page is stored"
}
P="\"method\":\"GET\",\"path\":\"$V/queryAll\",\"after\":1"
transient_page "HTTP 500" "{$P,\"status\":500,\"once\":true}"
transient_page "HTTP 503 HTML page" "{$P,\"status\":503,\"contentType\":\"text/html\",\"once\":true}"
transient_page "HTTP 429" "{$P,\"status\":429,\"once\":true}"
transient_page "dropped connection" "{$P,\"drop\":true,\"once\":true}"
transient_page "truncated body" "{$P,\"truncate\":true,\"once\":true}"
transient_page "3 s stall (timeout 2 s)" "{$P,\"delayMs\":3000,\"once\":true}"
compare_sides >"$T/cmp" 2>&1; st=$?
ok $st "after the transient page faults both sides are equal field by field"
[ $st -eq 0 ] || sed 's/^/# /' "$T/cmp" | head

# persistent NAME JSON NEEDLE: every later page fails; the first page (200
# records) is committed, nothing stored is lost, the job error says what
persistent_page() {
	name=$1
	UNITS_CMP="lead=Lead"
	before=$(rows lead)
	touch_leads 250
	crm_set Lead "$LX" Title "p-$name"
	fault_add "$2"
	sync_once
	ok $([ "$SYNC_RC" -ne 0 ]; echo $?) "page, $name every time: the cycle fails (exit $SYNC_RC)"
	errors_has "page, $name: crmsync errors names the unit, the step and the cause" \
		",lead,pull," "$3"
	after=$(rows lead)
	ok $([ "$before" = "$after" ]; echo $?) "page, $name: no stored row lost ($before -> $after)"
	converge "page, $name"
	ok $([ "$(sql "select title from lead where id='$LX'")" = "p-$name" ]; echo $?) \
		"page, $name: the edit arrives once the fault is gone"
	UNITS_CMP="lead=Lead contact=Contact account=Account user=User"
}
persistent_page "HTTP 500" "{$P,\"status\":500}" "HTTP 500"
persistent_page "HTTP 503 HTML page" "{$P,\"status\":503,\"contentType\":\"text/html\"}" "HTTP 503 with a non-JSON body"
persistent_page "HTTP 429" "{$P,\"status\":429}" "429"
persistent_page "dropped connection" "{$P,\"drop\":true}" "queryAll"
persistent_page "truncated body" "{$P,\"truncate\":true}" "queryAll"
persistent_page "stall past the timeout" "{$P,\"delayMs\":2500}" "Timeout"
persistent_page "malformed JSON" "{$P,\"status\":200,\"body\":\"{\\\"totalSize\\\":3,\\\"done\\\":true,\\\"records\\\":[{\\\"Id\\\":\"}" "malformed"

# a malformed page is not retried (a 200 that does not parse is not transient):
# once is enough to fail the step; the next cycle repairs it
touch_leads 250
crm_set Lead "$LX" Title "m-once"
fault_add "{$P,\"status\":200,\"body\":\"<html>not json</html>\",\"contentType\":\"application/json\",\"once\":true}"
sync_once
errors_has "page, malformed JSON once: the step fails with a job error" ",lead,pull," "malformed"
converge "page, malformed JSON once"

# --- the first page of a query (the query call itself) -------------------------
crm_set Lead "$LX" Title "first-page"
fault_add "{\"method\":\"GET\",\"path\":\"$V/queryAll\",\"status\":500,\"once\":true}"
sync_once
ok $([ "$SYNC_RC" -eq 0 ] && [ "$(sql "select title from lead where id='$LX'")" = first-page ]; echo $?) \
	"query, HTTP 500 once: retried, the edit is stored (exit $SYNC_RC)"
faults_clear

# --- describe -------------------------------------------------------------------
D="\"method\":\"GET\",\"path\":\"$V/sobjects/Lead/describe\""
crm_set Lead "$LX" Title "d-once"
fault_add "{$D,\"status\":503,\"contentType\":\"text/html\",\"once\":true}"
sync_once
ok $([ "$SYNC_RC" -eq 0 ] && [ "$(sql "select title from lead where id='$LX'")" = d-once ]; echo $?) \
	"describe, 503 HTML once: retried, the cycle completes (exit $SYNC_RC)"
faults_clear
crm_set Lead "$LX" Title "d-always"
fault_add "{$D,\"status\":500}"
sync_once
ok $([ "$SYNC_RC" -ne 0 ]; echo $?) "describe, 500 every time: the cycle fails (exit $SYNC_RC)"
errors_has "describe, 500: the job error names lead, the schema step, HTTP 500" ",lead,schema," "HTTP 500"
converge "describe, 500"

# --- the composite idle check ----------------------------------------------------
C="\"method\":\"POST\",\"path\":\"$V/composite\""
crm_set Lead "$LX" Title "c-always"
fault_add "{$C,\"status\":500}"
sync_once
fired=$(fault_fired "$FAULT_ID")
ok $([ "$SYNC_RC" -eq 0 ] && [ "$fired" -ge 1 ] && [ "$(sql "select title from lead where id='$LX'")" = c-always ]; echo $?) \
	"idle check, 500 every time: every unit pulls instead, the cycle completes (fired $fired)"
faults_clear
crm_set Lead "$LX" Title "c-drop"
fault_add "{$C,\"drop\":true,\"once\":true}"
sync_once
ok $([ "$SYNC_RC" -eq 0 ] && [ "$(sql "select title from lead where id='$LX'")" = c-drop ]; echo $?) \
	"idle check, dropped connection: the cycle completes (exit $SYNC_RC)"
converge "idle check faults"

# --- push batches (sObject collections) -----------------------------------------
set -- $(sql "select id from lead where is_deleted=0 order by id limit 2")
L1=$1 L2=$2
U="\"method\":\"PATCH\",\"path\":\"$V/composite/sobjects\""
lsql "update lead set title='push-503' where id='$L1'"
fault_add "{$U,\"status\":503,\"contentType\":\"text/html\",\"once\":true}"
sync_once
ok $([ "$SYNC_RC" -eq 0 ] && [ "$(crm_get Lead "$L1" Title)" = push-503 ]; echo $?) \
	"push, 503 HTML once: the update batch is retried and lands (exit $SYNC_RC)"
faults_clear
lsql "update lead set title='push-drop' where id='$L1'"
fault_add "{$U,\"drop\":true,\"once\":true}"
sync_once
ok $([ "$SYNC_RC" -eq 0 ] && [ "$(crm_get Lead "$L1" Title)" = push-drop ]; echo $?) \
	"push, dropped connection once: the (idempotent) update is retried and lands"
faults_clear
lsql "update lead set title='push-500' where id='$L1'"
fault_add "{$U,\"status\":500}"
sync_once
ok $([ "$SYNC_RC" -ne 0 ]; echo $?) "push, 500 every time: the cycle fails (exit $SYNC_RC)"
errors_has "push, 500: the job error names lead, the push step, HTTP 500" ",lead,push," "HTTP 500"
ok $([ "$(sql "select title from lead where id='$L1'")" = push-500 ]; echo $?) \
	"push, 500: the local edit is kept"
converge "push, 500"
ok $([ "$(crm_get Lead "$L1" Title)" = push-500 ]; echo $?) "push, 500: the edit lands once the fault is gone"

# a create whose answer never comes: it must not be duplicated by the resend
lsql "insert into lead(lastname, company, email, sync_mark) values('Dropped', 'D', 'dropped@example.com', 1)"
fault_add "{\"method\":\"PATCH\",\"path\":\"$V/composite/sobjects/Lead\",\"drop\":true}"
sync_once
ok $([ "$SYNC_RC" -ne 0 ]; echo $?) "push, create dropped every time: the cycle fails (exit $SYNC_RC)"
converge "push, create dropped"
n=$(emu GET dump/Lead | python3 -c "
import json,sys
print(sum(1 for r in json.load(sys.stdin)['records'] if r.get('Email')=='dropped@example.com'))")
ok $([ "$n" = 1 ]; echo $?) "push, create dropped: exactly one CRM record after the resend ($n)"

figures
done_testing
