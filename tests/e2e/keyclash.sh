#!/bin/sh
# tests/e2e/keyclash.sh - a local new row and a CRM record already pulled into
# another row carry the same crmsync_Key__c (what a crash between a create and
# its acknowledgement can leave): the push's upsert by that key lands on the
# pulled record, and the store refuses to give its id to a second row. The
# outcome is recorded as a failure with backoff, once, instead of the row
# being sent again and again, an API call each time, until the budget is gone.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e/e2e.sh"
plan 5
emu_start --seed users=2,leads=20 --seed-rng 4
ok $? "the emulator starts seeded"
CS_OPTS="-o sync.units=user,lead" cs sync --once >"$T/o" 2>&1
ok $? "the initial copy succeeds"
emu POST records/Lead '{"op":"create","fields":{"LastName":"Clash","Company":"K","crmsync_Key__c":"clash-key-1"}}' >/dev/null
CS_OPTS="-o sync.units=user,lead" cs sync --once >"$T/o" 2>&1
lsql "insert into lead(lastname, company, crmsync_key__c, sync_mark) values('Clash', 'K', 'clash-key-1', 1)"
a=$(api_calls)
CS_OPTS="-o sync.units=user,lead" cs sync --once >"$T/clash.log" 2>&1
b=$(api_calls)
ok $([ $((b - a)) -le 10 ]; echo $?) "the clash costs a handful of API calls, not a loop ($((b - a)))"
CS_OPTS="-o sync.units=user,lead" cs errors --csv >"$T/err.csv" 2>&1
contains "the clash is recorded as an error of the row" "$T/err.csv" "LOCAL_STORE"
n=$(lsql "select count(*) from lead where crmsync_key__c = 'clash-key-1'")
ok $([ "$n" = 2 ]; echo $?) "nothing stored is lost: both rows stay ($n)"
