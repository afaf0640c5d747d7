#!/bin/sh
# tests/objects/e2e.sh - the object plugins' rules end to end: crmsync against
# sfemu into SQLite, CRM-side edits through the emulator's control plane, local
# edits with plain SQL. Activities only with a person, lead defaults on create,
# lead conversion, a contact's owner never changed from the local side,
# campaign member statuses refused locally, the sync filter (an excluded record
# keeps its last values), custom objects by name, and the out-of-tree
# Invoice__c plugin dropped in.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e/e2e.sh"
plan 29

# dump TYPE: the CRM's records of TYPE as JSON lines, one per record
dump() { emu GET "dump/$1" | python3 -c "
import json,sys
for r in json.load(sys.stdin)['records']:
    print(json.dumps(r))"; }
# crm TYPE ID FIELD: one field of one CRM record
crm() { dump "$1" | python3 -c "
import json,sys
for l in sys.stdin:
    r=json.loads(l)
    if r['Id']=='$2': print('' if r.get('$3') is None else r['$3'])"; }

emu_start --seed users=3,accounts=6,contacts=12,leads=30,campaigns=2,members=12,tasks=40,events=20,invoices=6 --seed-rng 11
ok $? "the emulator starts seeded"
CS_OPTS="-o lead.default_company=Unknown_Co"
cs sync --once >"$T/o" 2>&1
st=$?; ok $st "a first sync with all eight plugins succeeds"
[ $st -eq 0 ] || sed 's/^/# /' "$T/o"

# --- activities: only those tied to a lead or contact -------------------------------
for t in Task Event; do
	all=$(dump $t | grep -c '"Id"')
	who=$(dump $t | grep -c '"WhoId": *"')
	loc=$(sql "select count(*) from $(echo $t | tr A-Z a-z)")
	ok $([ "$loc" -eq "$who" ] && [ "$who" -gt 0 ] && [ "$all" -gt "$who" ]; echo $?) \
		"$t: the $who of $all with a WhoId are local ($loc)"
done
inv=$(dump Invoice__c | grep -c '"Id"')
ok $([ "$(sql "select count(*) from invoice__c")" -eq "$inv" ] && [ "$inv" -gt 0 ]; echo $?) \
	"custom object Invoice__c from [sync] custom_objects is copied ($inv)"

# --- lead: defaults for LastName and Company on create only ------------------------------
lsql "insert into lead(email, sync_mark) values('nobody@example.com', 1);
  insert into lead(email, lastname, company, sync_mark) values('some@example.com', 'Some', 'SomeCo', 1);"
cs sync --once >"$T/o" 2>&1; ok $? "sync pushes two marked local leads"
N1=$(sql "select id from lead where email='nobody@example.com'")
N2=$(sql "select id from lead where email='some@example.com'")
ok $([ "$(crm Lead "$N1" LastName)|$(crm Lead "$N1" Company)" = "[not provided]|Unknown_Co" ]; echo $?) \
	"a new lead without LastName and Company gets the defaults (configured Company)"
ok $([ "$(crm Lead "$N2" LastName)|$(crm Lead "$N2" Company)" = "Some|SomeCo" ]; echo $?) \
	"a new lead with both keeps its own values"
lsql "update lead set title='Buyer' where id='$N1'"
cs sync --once >"$T/o" 2>&1
ok $([ "$(crm Lead "$N1" Title)" = Buyer ] && [ "$(crm Lead "$N1" Company)" = Unknown_Co ]; echo $?) \
	"a later update goes out as it is"

# --- lead conversion: linked locally, and the plugin says so --------------------------
CV=$(sql "select id from lead where is_deleted=0 and isconverted=0 and id is not null order by id desc limit 1")
CVC=$(emu POST convert-lead "{\"leadId\":\"$CV\"}" | json_get contactId)
CS_LOG=info cs sync --once >"$T/o" 2>&1
ok $([ "$(sql "select convertedcontactid from lead where id='$CV'")" = "$CVC" ]; echo $?) \
	"a lead converted in the CRM is linked to its contact locally"
contains "the lead plugin logs the conversion" "$T/o" "lead $CV was converted to contact $CVC"

# --- contact: the owner is never changed from the local side -------------------------
C=$(sql "select id from contact where is_deleted=0 order by id limit 1")
OWNER=$(crm Contact "$C" OwnerId)
OTHER=$(sql "select id from user where id != '$OWNER' order by id limit 1")
lsql "update contact set ownerid='$OTHER', title='Owner test' where id='$C'"
cs sync --once >"$T/o" 2>&1; ok $? "sync after a local owner change"
ok $([ "$(crm Contact "$C" Title)" = "Owner test" ]; echo $?) "the rest of the local contact edit reached the CRM"
ok $([ -n "$OWNER" ] && [ -n "$OTHER" ] && [ "$(crm Contact "$C" OwnerId)" = "$OWNER" ]; echo $?) \
	"the contact's owner in the CRM is unchanged"

# --- campaign members: a status the campaign does not define is refused locally ---------
M=$(sql "select id from campaignmember where is_deleted=0 and status='Sent' order by id limit 1")
lsql "update campaignmember set status='Attended' where id='$M'"
cs sync --once >"$T/o" 2>&1
ok $([ "$(crm CampaignMember "$M" Status)" = Sent ]; echo $?) "a member status not allowed is not sent"
cs errors --csv >"$T/err.csv" 2>&1
contains "its error names the status and the allowed ones" "$T/err.csv" \
	"Status 'Attended' is not a status of the campaign; allowed: Sent, Responded"
lsql "update campaignmember set status='Responded' where id='$M'"
cs sync --once >"$T/o" 2>&1
ok $([ "$(crm CampaignMember "$M" Status)" = Responded ]; echo $?) "an allowed member status reaches the CRM"

# --- the sync filter: only an explicit false excludes; excluded rows go stale -----------
set -- $(sql "select id from lead where is_deleted=0 and isconverted=0 and id is not null order by id limit 2")
IN=$1 OUT=$2
emu POST records/Lead "{\"op\":\"update\",\"id\":\"$IN\",\"fields\":{\"HasOptedOutOfEmail\":true,\"LastName\":\"Included\"}}" >/dev/null
emu POST records/Lead "{\"op\":\"update\",\"id\":\"$OUT\",\"fields\":{\"HasOptedOutOfEmail\":false,\"LastName\":\"Excluded\"}}" >/dev/null
before=$(sql "select lastname from lead where id='$OUT'")
CS_OPTS="-o lead.filter=HasOptedOutOfEmail" cs sync --once >"$T/o" 2>&1; ok $? "sync with [lead] filter"
ok $([ "$(sql "select lastname from lead where id='$IN'")" = Included ]; echo $?) "a record with the filter field true syncs"
ok $([ "$(sql "select lastname||'/'||is_deleted from lead where id='$OUT'")" = "$before/0" ]; echo $?) \
	"a record with the filter field false keeps its last values and is not deleted"

# --- custom objects: names are checked --------------------------------------------------
cs -o sync.custom_objects="Invoice__c, Bad-Name" sync --once >"$T/o" 2>&1
st=$?
ok $([ $st -ne 0 ]; echo $?) "a bad custom object name stops the sync ($st)"
contains "the message names the value and the config place" "$T/o" \
	"[sync] custom_objects = 'Invoice__c, Bad-Name': 'Bad-Name' is not the API name of a custom object"

# --- the drop-in plugin: built from its source alone, no rebuild of crmsync -----------
mkdir -p "$T/drop"
${CC:-cc} -shared -fPIC -I"$top_srcdir/include" "$top_srcdir/tests/thirdparty/invoice.c" \
	-o "$T/drop/invoice.so" 2>"$T/cc.log"
ok $? "the Invoice__c plugin builds out of tree"
ACC=$(sql "select id from account order by id limit 1")
LATE=$(emu POST records/Invoice__c "{\"op\":\"create\",\"fields\":{\"Name\":\"INV-late\",\"Account__c\":\"$ACC\",\"Status__c\":\"Sent\",\"Paid__c\":false,\"Due_Date__c\":\"2020-01-02\"}}" | json_get id)
SOON=$(emu POST records/Invoice__c "{\"op\":\"create\",\"fields\":{\"Name\":\"INV-soon\",\"Account__c\":\"$ACC\",\"Status__c\":\"Sent\",\"Paid__c\":false,\"Due_Date__c\":\"2099-01-02\"}}" | json_get id)
CRMSYNC_PLUGIN_PATH="$T/drop:$CRMSYNC_PLUGIN_PATH" "$CS" -o salesforce.login_url="$EMU_URL" \
	-o salesforce.client_id=crmsync-demo -o salesforce.username=sync@example.com \
	-o storage.path="$T/drop.db" -o log.level=warn \
	-o sync.units="user, account, contact, invoice" sync --once >"$T/o" 2>&1
st=$?; ok $st "crmsync syncs with the dropped-in plugin in [sync] units"
[ $st -eq 0 ] || sed 's/^/# /' "$T/o"
dsql() { sqlite3 -batch "$T/drop.db" "$@"; }
ok $([ "$(dsql "select count(*) from invoice__c")" -eq $((inv + 2)) ]; echo $?) \
	"every invoice is stored by the drop-in"
ok $([ "$(dsql "select status__c from invoice__c where id='$LATE'")|$(dsql "select status__c from invoice__c where id='$SOON'")" = "Overdue|Sent" ]; echo $?) \
	"its map_in hook marks the sent, unpaid, past-due invoice Overdue, and only that one"
# Field names in the config that describe does not list: a typo, or a field the
# sync user cannot read (field-level security). Nothing of them is synced, and
# the user is told where the name was set and what it could have meant.
emu POST fls '{"object":"Lead","field":"Phone","read":false,"edit":false}' >/dev/null
"$CS" -o salesforce.login_url="$EMU_URL" -o salesforce.client_id=crmsync-demo \
	-o salesforce.username=sync@example.com -o storage.path="$T/names.db" -o log.level=warn \
	-o sync.units="user, lead" -o "lead.fields=LastName, Company, Emial, Phone" \
	sync --once >"$T/names.out" 2>&1 &&
"$CS" -o salesforce.login_url="$EMU_URL" -o salesforce.client_id=crmsync-demo \
	-o salesforce.username=sync@example.com -o storage.path="$T/names2.db" -o log.level=warn \
	-o sync.units="user, lead" -o "lead.local_wins=Titel" sync --once >>"$T/names.out" 2>&1
st=$?; ok $st "syncs with unknown field names still run"
contains "a misspelt field is named with its place and the field meant" "$T/names.out" \
	"-o lead.fields=LastName, Company, Emial, Phone: Lead has no field 'Emial' the sync user can read: not synced (did you mean 'Email'?)"
ok $(grep -q "Lead has no field 'Phone' the sync user can read: not synced" "$T/names.out" &&
	grep -q "lead.local_wins=Titel: Lead has no field 'Titel' the sync user can read: the rule does nothing (did you mean 'Title'?)" "$T/names.out" &&
	[ -z "$(sqlite3 "$T/names.db" "select name from pragma_table_info('lead') where name in ('emial', 'phone')")" ]; echo $?) \
	"a field hidden from the sync user, and a conflict rule on a misspelt field, are named too; no column for either"
[ $st -eq 0 ] || sed 's/^/# /' "$T/names.out"
done_testing
