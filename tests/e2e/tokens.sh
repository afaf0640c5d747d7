#!/bin/sh
# tests/e2e/tokens.sh - the refresh_token grant against a connected app with
# refresh token rotation (sfemu refreshRotation: every refresh hands out a new
# refresh token and invalidates the old one; using a rotated-out one revokes
# the current one). crmsync keeps the newest token in salesforce.token_file
# (default <storage.path>.token), so fresh processes, a SIGHUP reload and
# commands run next to the daemon all keep working; without the file the
# refusal says what happened. No token ever shows in any output.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e/e2e.sh"
plan 28

RT=RT-configured-Tok3n-4b5c6d7e8f
TF=$T/local.db.token
emu_start --seed users=2,leads=40 --seed-rng 13 --refresh-token "$RT"
ok $? "the emulator starts"
emu POST config '{"refreshRotation":true}' >/dev/null
unset CRMSYNC_SF_PASSWORD
export CRMSYNC_SF_REFRESH_TOKEN="$RT"
export CS_OPTS="-o salesforce.grant=refresh_token -o sync.units=user,lead"
: >"$T/seen"
# remember every refresh token the file held, to look for them in the outputs
note_token() { [ -f "$TF" ] && sed -n 's/^token //p' "$TF" >>"$T/seen"; }
# token_logins: successful refresh_token logins so far
token_logins() {
	emu GET log | python3 -c '
import json, sys
print(sum(1 for r in json.load(sys.stdin)["requests"]
          if r.get("path") == "/services/oauth2/token" and r.get("status") == 200))'
}

# --- fresh processes one after another ------------------------------------------
for i in 1 2 3; do
	CS_LOG=debug cs sync --once >"$T/once$i.log" 2>&1
	exit_is "sync --once #$i with the refresh_token grant succeeds (a fresh process each)" 0 $?
	note_token
done
n=$(token_logins)
ok $([ "$n" = 3 ]; echo $?) "each run refreshed once, from the token the run before got ($n logins)"
ok $([ -f "$TF" ] && [ "$(stat -c %a "$TF")" = 600 ]; echo $?) \
	"the token file exists next to the database with mode 600 ($(stat -c %a "$TF" 2>/dev/null))"
ok $([ "$(sort -u "$T/seen" | wc -l)" = 3 ] && ! grep -qF "$RT" "$TF"; echo $?) \
	"it held a new token after each run, never the configured one"

# --- a private token file only -----------------------------------------------------
chmod 644 "$TF"
cs sync --once >"$T/mode.log" 2>&1; st=$?
chmod 600 "$TF"
ok $([ $st = 2 ]; echo $?) "a token file other users can read is refused at start (exit $st)"
contains "the refusal names the file and the fix" "$T/mode.log" "$TF: mode 644"
contains "... and says chmod 600" "$T/mode.log" "chmod 600 $TF"

# --- the daemon, a SIGHUP reload, and commands run next to it ----------------------
CS_LOG=info CS_OPTS="$CS_OPTS -o sync.interval=1s" cs_bg run >"$T/run.log" 2>&1
DPID=$CS_PID
at_exit "kill $DPID 2>/dev/null"
# cycles_done N: wait (up to 60 s) until the daemon finished N cycles
cycles_done() {
	for _ in $(seq 1200); do
		[ "$(grep -c 'cycle [0-9]* done' "$T/run.log")" -ge "$1" ] && return 0
		kill -0 $DPID 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}
cycles_done 1
ok $? "the daemon completes a cycle"
note_token
L=$(lsql "select id from lead where id is not null order by id limit 1")
# all at once, twice: two sync --once, a push, while the daemon's tokens expire
# (it logs in again at its next cycle) and the daemon reloads on SIGHUP
fails=0
for round in 1 2; do
	lsql "update lead set title = 'Pushed $round' where id = '$L'"
	emu POST tokens/expire '{}' >/dev/null
	cs sync --once >"$T/par-a$round.log" 2>&1 &
	pa=$!
	cs sync --once >"$T/par-b$round.log" 2>&1 &
	pb=$!
	cs push lead "$L" >"$T/push$round.log" 2>&1 &
	pp=$!
	kill -HUP $DPID
	wait $pa || fails=$((fails + 1))
	wait $pb || fails=$((fails + 1))
	wait $pp || fails=$((fails + 1))
	note_token
done
ok $([ $fails = 0 ]; echo $?) "two sync --once and a push at once, twice, next to the daemon: all succeed ($fails failed)"
[ $fails = 0 ] || tail -n 3 "$T"/par-*.log "$T"/push*.log | sed 's/^/# /'
title=$(emu GET "dump/Lead" | python3 -c "
import json, sys
print([r for r in json.load(sys.stdin)['records'] if r['Id'] == '$L'][0].get('Title'))")
ok $([ "$title" = "Pushed 2" ]; echo $?) "the pushed title reached the CRM ($title)"
contains "the daemon reloaded on SIGHUP" "$T/run.log" "SIGHUP: reloading"
done_before=$(grep -c 'cycle [0-9]* done' "$T/run.log")
emu POST tokens/expire '{}' >/dev/null
cycles_done $((done_before + 2))
ok $? "the daemon keeps working afterwards, logging in again from the token file"
lacks "the daemon was never refused" "$T/run.log" "refused"
kill -TERM $DPID
wait $DPID
exit_is "the daemon stops cleanly" 0 $?
note_token
logins=$(token_logins)
ok $([ "$logins" -ge 9 ]; echo $?) "every process refreshed (the emulator rotated $logins times)"

# --- without the file: the configured token was rotated out ------------------------
mv "$TF" "$T/kept.token"
cs sync --once >"$T/nofile.log" 2>&1; st=$?
ok $([ $st = 1 ]; echo $?) "without the token file the configured token is refused (exit $st)"
contains "the message names the token file" "$T/nofile.log" "$TF, where crmsync keeps the newest one, is missing"
contains "... and says to authorize again" "$T/nofile.log" "authorize the connected app again"
mv "$T/kept.token" "$TF"
cs sync --once >"$T/revoked.log" 2>&1; st=$?
ok $([ $st = 1 ]; echo $?) "the reuse revoked the file's token too, as on an org (exit $st)"
contains "that refusal names the file" "$T/revoked.log" "the refresh token kept in $TF was revoked"

# --- a new authorization: the configured token changes, the file follows --------
RT2=RT-reauthorized-Tok3n-9a8b7c6d
emu_start --seed users=2,leads=10 --seed-rng 14 --refresh-token "$RT2"
emu POST config '{"refreshRotation":true}' >/dev/null
CRMSYNC_SF_REFRESH_TOKEN=$RT2 CS_OPTS="$CS_OPTS -o storage.path=$T/second.db -o salesforce.token_file=$TF" \
	cs sync --once >"$T/reauth1.log" 2>&1
exit_is "with a newly configured token the file of the old one is ignored, and the sync works" 0 $?
want=$(printf %s "$RT2" | sha256sum | cut -c1-64)
ok $(grep -qx "origin $want" "$TF"; echo $?) "the file now holds a token descending from the new one"
note_token
CRMSYNC_SF_REFRESH_TOKEN=$RT2 CS_OPTS="$CS_OPTS -o storage.path=$T/second.db -o salesforce.token_file=$TF" \
	cs sync --once >"$T/reauth2.log" 2>&1
exit_is "... and the next run refreshes from the file (the configured one is rotated out)" 0 $?
note_token
echo "$RT2" >>"$T/seen"

# --- the password grant's refusal hints at the Summer '23 default -----------------
CRMSYNC_SF_PASSWORD=Wrong-Pa55 CS_OPTS="-o sync.units=user,lead" cs sync --once >"$T/pw.log" 2>&1
contains "a refused password login mentions that new orgs block the flow" "$T/pw.log" \
	"Summer '23 or later blocks the username-password flow by default: use grant = jwt or client_credentials"

# --- no token in any output --------------------------------------------------------
echo "$RT" >>"$T/seen"
found=$(cat "$T"/*.log | grep -a -n -o -F -f "$T/seen" | head -3)
[ -z "$found" ] && found=$(cat "$T"/*.log | grep -a -n -o '![A-Za-z0-9]\{2\}[A-Za-z0-9._]\{20,\}' | head -3)
ok $([ -z "$found" ]; echo $?) "no refresh or access token in any output, debug logs included ($(sort -u "$T/seen" | wc -l) tokens looked for)"
[ -z "$found" ] || echo "$found" | sed 's/^/#   /'
done_testing
