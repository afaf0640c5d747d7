#!/bin/sh
# tests/faults/wide.sh - an object with more readable fields than one query can
# name: Salesforce refuses a request whose URI and headers pass 16,384 bytes,
# and a query carries its SOQL in the URI. crmsync refuses such a unit before
# its first page, says what to do, and syncs the other units; with the fields
# named in the config the unit syncs.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e/e2e.sh"
. "$top_srcdir/tests/faults/faults.sh"
plan 6
export CS_OPTS="-o sync.units=account $FAULT_OPTS" # plus Invoice__c (e2e.sh)
python3 "$top_srcdir/tests/faults/schema.py" "$top_srcdir/tests/sfemu/schema_default.c" "$T/wide.json" wide
ok $? "a schema with a 600-field Invoice__c is written"
emu_start --schema "$T/wide.json" --seed users=2,accounts=4,invoices=6 --seed-rng 3
ok $? "the emulator starts with it"

sync_once
ok $([ "$SYNC_RC" -ne 0 ] && grep -q "Invoice__c: its 6[0-9][0-9] readable fields make a query of [0-9]* bytes, more than Salesforce takes in one request" "$T/sync.out" &&
	grep -q "name the fields to sync in \[custom\] invoice__c.fields" "$T/sync.out"; echo $?) \
	"the wide unit is refused before its first page, saying what to do (exit $SYNC_RC)"
[ "$SYNC_RC" -ne 0 ] || sed 's/^/# /' "$T/sync.out" | tail -5
ok $([ "$(sql "select count(*) from account")" = 4 ] &&
	! emu GET log | grep -q '"status": *41[4-9]\|"status": *431'; echo $?) \
	"the other unit is synced, and no request was too long for the CRM"

sync_once -o "custom.invoice__c.fields=Name,Amount__c,Quarterly_Forecast_Region_007__c"
ok $SYNC_RC "with the fields named in the config, the unit syncs"
[ "$SYNC_RC" -eq 0 ] || sed 's/^/# /' "$T/sync.out" | tail -5
ok $([ "$(sql "select count(*) from invoice__c")" = 6 ] &&
	sql "select quarterly_forecast_region_007__c from invoice__c limit 1" >/dev/null; echo $?) \
	"its records are stored with the named fields"
done_testing
