#!/bin/sh
# tests/objects/plugins.sh - what an operator sees: `crmsync plugins` with the
# built object plugins on CRMSYNC_PLUGIN_PATH lists all eight with their units,
# directions and dependencies and exits 0; a bad value in a plugin's section
# makes it exit non-zero naming the plugin, the place and the key; the
# out-of-tree Invoice__c example, built from its source with the compiler
# alone, is listed next to them, and the author guide shows its source as it is.
. "$top_srcdir/tests/lib.sh"
plan 26
objs="$top_builddir/plugins/objects"
bin="$top_builddir/crmsync"

CRMSYNC_PLUGIN_PATH="$objs" "$bin" -o sync.custom_objects=Invoice__c plugins >"$T/o" 2>"$T/e"
st=$?
exit_is "crmsync plugins exits 0 when every plugin loads" 0 $st
[ $st -eq 0 ] || sed 's/^/# /' "$T/e"
n=$(grep -c '^object ' "$T/o")
ok $([ "$n" -eq 8 ]; echo $?) "eight object plugins are listed ($n)"
for p in lead contact account user opportunity campaign activity custom; do
	contains "plugin $p is listed with its path" "$T/o" "$objs/$p.la"
done
contains "lead: two-way, after users" "$T/o" "unit lead (Lead, two-way; after user)"
contains "contact: two-way, after accounts and users" "$T/o" \
	"unit contact (Contact, two-way; after account, user)"
contains "account: CRM to local" "$T/o" "unit account (Account, CRM to local; after user)"
contains "user: CRM to local, first" "$T/o" "unit user (User, CRM to local)"
contains "opportunity" "$T/o" "unit opportunity (Opportunity, CRM to local; after account, campaign)"
contains "opportunity contact roles" "$T/o" \
	"unit opportunitycontactrole (OpportunityContactRole, CRM to local; after opportunity, contact)"
contains "campaign" "$T/o" "unit campaign (Campaign, CRM to local)"
contains "campaign members: two-way" "$T/o" \
	"unit campaignmember (CampaignMember, two-way; after campaign, lead, contact)"
contains "tasks and events after people" "$T/o" "unit event (Event, CRM to local; after lead, contact)"
contains "custom objects from [sync] custom_objects" "$T/o" \
	"unit invoice__c (Invoice__c, CRM to local; after account, contact)"

CRMSYNC_PLUGIN_PATH="$objs" "$bin" -o contact.conflict=remote plugins >"$T/o" 2>"$T/e"
st=$?
ok $([ $st -ne 0 ]; echo $?) "a bad plugin setting makes crmsync plugins fail ($st)"
contains "the message names the plugin, the place, the key and what is expected" "$T/e" \
	"plugin 'contact' failed to initialise: -o contact.conflict=remote: [contact] conflict = 'remote': expected crm or local"

# the drop-in example: compiler and header only, no build system
mkdir -p "$T/drop"
${CC:-cc} -shared -fPIC -I"$top_srcdir/include" "$top_srcdir/tests/thirdparty/invoice.c" \
	-o "$T/drop/invoice.so" 2>"$T/cc.log"
ok $? "tests/thirdparty/invoice.c builds with the plugin header alone"
CRMSYNC_PLUGIN_PATH="$T/drop:$objs" "$bin" plugins >"$T/o" 2>"$T/e"
exit_is "with the drop-in next to the built plugins, nothing is rejected" 0 $?
contains "the drop-in is listed with its unit" "$T/o" \
	"unit invoice__c (Invoice__c, CRM to local; after account, contact)"
python3 -c "
import sys
doc = open(sys.argv[1]).read()
src = open(sys.argv[2]).read().rstrip('\\n')
sys.exit(0 if src in doc else 1)" "$top_srcdir/docs/PLUGINS.md" "$top_srcdir/tests/thirdparty/invoice.c"
ok $? "docs/PLUGINS.md walks through tests/thirdparty/invoice.c exactly as it is built"
done_testing
