# tests/e2e/e2e.sh - shared by the end-to-end tests: start sfemu, run crmsync
# against it with no config file (-o only), count API calls, compare sides.
# Source after tests/lib.sh.
CS="$top_builddir/crmsync"
EMU="$top_builddir/tests/sfemu/sfemu"
export CRMSYNC_PLUGIN_PATH="$top_builddir/plugins/objects:$top_builddir/plugins/backends/sqlite"
UNITS_CMP="lead=Lead contact=Contact account=Account user=User opportunity=Opportunity
opportunitycontactrole=OpportunityContactRole campaign=Campaign campaignmember=CampaignMember
task=Task?WhoId event=Event?WhoId invoice__c=Invoice__c"

# emu_start [sfemu options]: sets EMU_URL, EMU_PID
emu_start() {
	"$EMU" --listen 127.0.0.1:0 "$@" >"$T/emu.out" 2>"$T/emu.err" &
	EMU_PID=$!
	at_exit "kill $EMU_PID 2>/dev/null; wait $EMU_PID 2>/dev/null"
	for _ in $(seq 1200); do
		# only a complete line: the port may still be half written
		if [ "$(wc -l <"$T/emu.out")" -ge 1 ]; then
			EMU_URL=$(sed -n '1s/^listening on //p' "$T/emu.out")
			[ -n "$EMU_URL" ] && return 0
		fi
		kill -0 $EMU_PID 2>/dev/null || break
		sleep 0.05
	done
	echo "# sfemu did not start:"; sed 's/^/#   /' "$T/emu.err"
	return 1
}

# cs ARGS...: crmsync against the emulator, the database in $T/db
cs() {
	"$CS" -o salesforce.login_url="$EMU_URL" -o salesforce.client_id=crmsync-demo \
		-o salesforce.username=sync@example.com -o storage.path="$T/local.db" \
		-o sync.custom_objects=Invoice__c -o log.level="${CS_LOG:-warn}" ${CS_OPTS:-} "$@"
}
# cs_bg ARGS...: the same in the background; CS_PID is crmsync's own pid (a
# backgrounded function would be a subshell, and killing it orphans crmsync)
cs_bg() {
	"$CS" -o salesforce.login_url="$EMU_URL" -o salesforce.client_id=crmsync-demo \
		-o salesforce.username=sync@example.com -o storage.path="$T/local.db" \
		-o sync.custom_objects=Invoice__c -o log.level="${CS_LOG:-warn}" ${CS_OPTS:-} "$@" &
	CS_PID=$!
}
# lsql SQL: what an application does: the sqlite3 shell with a busy timeout
lsql() { sqlite3 -batch -cmd ".timeout 10000" "$T/local.db" "$@"; }
export CRMSYNC_SF_PASSWORD=sync-password
export CRMSYNC_SF_CLIENT_SECRET=crmsync-demo-secret

emu() { # emu METHOD PATH [JSON]
	curl -s -X "$1" "$EMU_URL/__emu/$2" ${3:+-d "$3"}
}
api_calls() {
	emu GET stats | sed 's/.*"apiCalls":\([0-9]*\).*/\1/'
}
# compare_sides [--allow-local]: every visible field of every record
compare_sides() {
	# shellcheck disable=SC2086
	python3 "$top_srcdir/tests/e2e/compare.py" "$EMU_URL" "$T/local.db" "$@" $UNITS_CMP
}
sql() { sqlite3 -batch -cmd ".timeout 10000" "$T/local.db" "$@"; }
# json_get FIELD: read a field of the JSON object on stdin
json_get() { python3 -c "import json,sys; print(json.load(sys.stdin)['$1'])"; }
