#!/bin/sh
# tests/e2e/jwt.sh - the daemon logs in with the OAuth 2.0 JWT bearer grant
# (salesforce.grant = jwt) from its configuration, syncs, and refuses a key the
# connected app does not trust with a message that names the cause but never
# shows the key.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e/e2e.sh"
plan 9
OPENSSL=${OPENSSL:-openssl}
"$OPENSSL" req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" \
	-days 2 -subj "/CN=crmsync-test" >/dev/null 2>&1 &&
	"$OPENSSL" genrsa -out "$T/other.pem" 2048 >/dev/null 2>&1
ok $? "a key pair and a stranger's key are made"
chmod 600 "$T/key.pem" "$T/other.pem"
emu_start --seed users=2,leads=300 --seed-rng 9 --jwt-cert "$T/cert.pem"
ok $? "the emulator starts, trusting the certificate"
unset CRMSYNC_SF_PASSWORD CRMSYNC_SF_CLIENT_SECRET

CS_OPTS="-o salesforce.grant=jwt -o salesforce.jwt_key_file=$T/key.pem -o sync.units=user,lead" \
	cs sync --once >"$T/ok.log" 2>&1
exit_is "grant = jwt: one cycle succeeds" 0 $?
n=$(lsql "select count(*) from lead where is_deleted = 0")
want=$(curl -s "$EMU_URL/__emu/dump/Lead" | python3 -c '
import json, sys
d = json.load(sys.stdin)
r = d["records"] if isinstance(d, dict) else d
print(sum(1 for x in r if not x.get("IsDeleted")))')
ok $([ "$n" = "$want" ]; echo $?) "every live lead arrived ($n of $want)"

emu DELETE log >/dev/null
CS_LOG=info CS_OPTS="-o salesforce.grant=jwt -o salesforce.jwt_key_file=$T/other.pem -o sync.units=user,lead" \
	cs sync --once >"$T/bad.log" 2>&1
ok $([ $? -ne 0 ]; echo $?) "a key the connected app does not trust: the cycle fails"
# each refused login counts towards locking the user out: one per cycle, not
# one per unit
tokens=$(emu GET log | python3 -c '
import json, sys
print(sum(1 for r in json.load(sys.stdin)["requests"] if "oauth2/token" in r.get("path", "")))')
ok $([ "$tokens" = 1 ]; echo $?) "the refused cycle asked for a token once ($tokens)"
contains "the log says when the next attempt comes" "$T/bad.log" "next attempt in"
contains "the refusal names the JWT assertion" "$T/bad.log" "assertion"
key_line=$(sed -n 2p "$T/other.pem")
lacks "the key never shows in the output" "$T/bad.log" "$key_line"
