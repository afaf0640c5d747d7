#!/bin/sh
# tests/hostile/secrets.sh - no password, client secret, access or refresh
# token in any log line (debug level, a full cycle with failures: a per-record
# refusal, a 503, an expired token), error, status/errors/history output, the
# local database or a core file; wrong credentials are refused without
# echoing them; TLS with a wrong CA or host name and http:// to a non-loopback
# login URL are refused by the daemon itself.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e/e2e.sh"
plan 29

RT=RT-refresh-Secret-9f8e7d6c5b
emu_start --seed users=2,leads=20 --seed-rng 5 --refresh-token "$RT"
ok $? "the emulator starts"
PW=$CRMSYNC_SF_PASSWORD CSEC=$CRMSYNC_SF_CLIENT_SECRET
ulimit -c unlimited 2>/dev/null
cd "$T" || exit 1

# secrets_absent DESCRIPTION FILE...: none of the secrets, nor anything shaped
# like an access token ("<org id>!AQ..."), in the files
secrets_absent() {
	d=$1; shift
	found=$(grep -a -n -o -e "$PW" -e "$CSEC" -e "$RT" -e "Wrong-Pa55word-xyz" -e "RT-wrong-Zz9" \
		-e '![A-Za-z0-9]\{2\}[A-Za-z0-9._]\{20,\}' "$@" 2>/dev/null | head -3)
	ok $([ -z "$found" ]; echo $?) "$d"
	[ -z "$found" ] || echo "$found" | sed 's/^/#   /'
}

# --- a full cycle at debug level, with failures --------------------------------
CS_LOG=debug cs sync --once >"$T/log1" 2>&1; ok $? "first cycle (debug log)"
lsql "insert into lead(lastname, company, description, sync_mark) values('big', 'c', printf('%.*c', 100000, 'x'), 1);
  update lead set title = 'edited' where id = (select id from lead where id is not null limit 1);"
emu POST faults '{"method":"GET","path":"/services/data/v59.0/query","status":503,"once":true}' >/dev/null
emu POST tokens/expire '{}' >/dev/null
CS_LOG=debug cs sync --once >"$T/log2" 2>&1; st=$?
ok $([ $st -le 1 ]; echo $?) "a cycle with a 503, an expired token and a refused record ends normally (exit $st)"
contains "the debug log shows the re-login after the expired token" "$T/log2" "oauth2/token"
contains "the refused record is logged" "$T/log2" "STRING_TOO_LONG"
secrets_absent "no secret or token in the debug log of the cycles" "$T/log1" "$T/log2"
for c in "status" "status --json" "errors" "errors --json" "errors --csv" "history" "history --json" "backlog" "plugins --json"; do
	# shellcheck disable=SC2086
	cs $c >>"$T/reports" 2>&1
done
contains "the reports ran (errors lists the refusal)" "$T/reports" "STRING_TOO_LONG"
secrets_absent "no secret or token in status, errors, history, backlog or plugins output" "$T/reports"
secrets_absent "no secret or token in the local database" "$T/local.db"

# --- wrong credentials -----------------------------------------------------------
CRMSYNC_SF_PASSWORD=Wrong-Pa55word-xyz CS_LOG=debug cs sync --once >"$T/wrongpw" 2>&1; st=$?
ok $([ $st -ne 0 ] && [ $st -lt 128 ]; echo $?) "a wrong password fails the sync cleanly (exit $st)"
grep -qi "refused\|invalid_grant\|authentication failure" "$T/wrongpw"; ok $? "the error says the credentials were refused"
secrets_absent "the wrong-password error and log hold no password" "$T/wrongpw"
CRMSYNC_SF_CLIENT_SECRET=RT-wrong-Zz9-secret cs sync --once >"$T/wrongsec" 2>&1; st=$?
ok $([ $st -ne 0 ] && [ $st -lt 128 ]; echo $?) "a wrong client secret fails the sync cleanly (exit $st)"
secrets_absent "the wrong-secret error holds no secret" "$T/wrongsec"

# --- refresh-token grant ------------------------------------------------------------
CRMSYNC_SF_REFRESH_TOKEN=$RT CS_LOG=debug cs -o salesforce.grant=refresh_token sync --once >"$T/refresh" 2>&1
ok $? "the refresh_token grant works"
CRMSYNC_SF_REFRESH_TOKEN=RT-wrong-Zz9 CS_LOG=debug cs -o salesforce.grant=refresh_token sync --once >"$T/refresh-bad" 2>&1; st=$?
ok $([ $st -ne 0 ] && [ $st -lt 128 ]; echo $?) "a wrong refresh token fails cleanly (exit $st)"
secrets_absent "no refresh token or access token in the refresh-grant logs" "$T/refresh" "$T/refresh-bad"
cores=$(find "$T" -maxdepth 2 -name 'core*' -type f | wc -l)
ok $([ "$cores" -eq 0 ]; echo $?) "no normal failure path dumped core ($cores core files)"

# --- TLS: the daemon refuses a wrong CA and a wrong host name ------------------------
sh "$top_srcdir/tests/sf/make-ca.sh" "$T/pki" >/dev/null 2>&1; ok $? "a test CA is made"
tls_start() { # tls_start NAME CERT: sets TLS_URL
	"$EMU" --listen 127.0.0.1:0 --seed users=1,leads=2 --tls-cert "$T/pki/$2.pem" --tls-key "$T/pki/$2.key" \
		>"$T/$1.out" 2>"$T/$1.err" &
	pid=$!
	at_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
	TLS_URL=
	for _ in $(seq 100); do
		TLS_URL=$(sed -n 's/^listening on //p' "$T/$1.out")
		[ -n "$TLS_URL" ] && break
		sleep 0.05
	done
	TLS_URL=$(echo "$TLS_URL" | sed 's|^http://|https://|')
}
tcs() { # tcs URL CA ARGS...
	u=$1 ca=$2; shift 2
	"$CS" -o salesforce.login_url="$u" -o salesforce.client_id=crmsync-demo \
		-o salesforce.username=sync@example.com -o storage.path="$T/tls.db" \
		-o salesforce.ca_file="$ca" -o salesforce.max_retries=0 -o sync.units=lead "$@"
}
tls_start tls server
tcs "$TLS_URL" "$T/pki/ca.pem" sync --once >"$T/tls-ok" 2>&1
ok $? "https with the right CA syncs (the control for the two refusals)"
tcs "$TLS_URL" "$T/pki/wrongca.pem" sync --once >"$T/tls-ca" 2>&1; st=$?
ok $([ $st -ne 0 ] && [ $st -lt 128 ]; echo $?) "the daemon refuses a server certificate from the wrong CA (exit $st)"
grep -qi "certificate\|SSL\|TLS" "$T/tls-ca"; ok $? "the wrong-CA refusal says it is the certificate"
tls_start other other
tcs "$TLS_URL" "$T/pki/ca.pem" sync --once >"$T/tls-host" 2>&1; st=$?
ok $([ $st -ne 0 ] && [ $st -lt 128 ]; echo $?) "the daemon refuses a certificate for another host name (exit $st)"
grep -qi "certificate\|SSL\|host\|name" "$T/tls-host"; ok $? "the host-name refusal says why"
secrets_absent "no secret in the TLS refusals" "$T/tls-ca" "$T/tls-host"

# --- http:// only for loopback -------------------------------------------------------
"$CS" -o salesforce.login_url=http://login.example.com -o salesforce.client_id=c \
	-o salesforce.username=u -o storage.path="$T/h.db" sync --once >"$T/http" 2>&1; st=$?
ok $([ $st -ne 0 ] && [ $st -lt 128 ]; echo $?) "http:// to a non-loopback login URL is refused (exit $st)"
grep -qi "http://.*\(loopback\|https\)" "$T/http"; ok $? "the refusal says http:// is for loopback only"
ok $([ "$(emu GET stats | sed 's/.*"apiCalls":\([0-9]*\).*/\1/')" -ge 0 ]; echo $?) "the emulator is still up"
"$CS" -o salesforce.login_url=http://10.1.2.3:80 -o salesforce.client_id=c \
	-o salesforce.username=u -o storage.path="$T/h.db" sync --once >"$T/http2" 2>&1; st=$?
ok $([ $st -ne 0 ] && [ $st -lt 128 ] && grep -qi "loopback\|https" "$T/http2"; echo $?) "http:// to a private address is refused too, without connecting"
done_testing
