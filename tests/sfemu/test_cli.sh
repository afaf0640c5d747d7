#!/bin/sh
# tests/sfemu/test_cli.sh - sfemu's command line and emu.sh: the helper functions,
# deterministic seeding, --state, --schema, --instance-url, TLS, a clean SIGTERM
# exit (no leaks under ASan) and usage errors.
. "$top_srcdir/tests/sfemu/emu.sh"
n=0
fails=0
t() { # t COND-STATUS WHAT
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		fails=$((fails + 1))
	fi
}
work=$(mktemp -d "${TMPDIR:-/tmp}/sfemu-cli.XXXXXX")
cleanup() {
	emu_stop
	rm -rf "$work"
}
trap cleanup EXIT

# -- emu.sh helpers and a clean exit
EMU_KEEP=1
emu_start --seed leads=5
t $? "emu_start exports EMU_URL"
case "$EMU_URL" in http://127.0.0.1:[0-9]*) r=0 ;; *) r=1 ;; esac
t $r "EMU_URL is http://127.0.0.1:PORT ($EMU_URL)"
emu_login
t $? "emu_login gets a token"
body=$(emu_api GET /services/data/v59.0/query?q=SELECT+COUNT%28%29+FROM+Lead)
[ "$(emu_status)" = 200 ] && echo "$body" | grep -q '"totalSize":5'
t $? "emu_api runs a query ($body)"
body=$(emu_ctl GET /__emu/stats)
[ "$(emu_status)" = 200 ] && echo "$body" | grep -q '"ok":true'
t $? "emu_ctl reaches the control plane"
body=$(emu_ctl POST clock '{"advance":60}')
[ "$(emu_status)" = 200 ] && echo "$body" | grep -q '"now":'
t $? "emu_ctl takes a path relative to /__emu/"
emu_stop
[ "$EMU_EXIT" = 0 ]
t $? "exit status 0 after SIGTERM (ASan: no leaks) ($EMU_EXIT: $EMU_STDERR)"
EMU_KEEP=

# -- deterministic seeding
dump() { # dump RNG: the seeded leads and contacts of a fresh emulator at a fixed clock
	emu_start --clock 2024-06-01T12:00:00Z --seed-rng "$1" \
		--seed users=2,accounts=3,contacts=5,leads=20,campaigns=1,members=3,tasks=2,events=2,invoices=2
	emu_ctl GET /__emu/dump/Lead
	emu_ctl GET /__emu/dump/Contact
	emu_stop
}
dump 5 >"$work/a"
dump 5 >"$work/b"
dump 6 >"$work/c"
cmp -s "$work/a" "$work/b" && grep -q '"count":20' "$work/a"
t $? "same --seed-rng, same records"
! cmp -s "$work/a" "$work/c"
t $? "another --seed-rng, other records"

# -- --state keeps records across restarts
emu_start --state "$work/state.db"
emu_login
id1=$(emu_api POST /services/data/v59.0/sobjects/Lead '{"LastName":"Kept","Company":"c"}' |
	sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
emu_stop
emu_start --state "$work/state.db"
emu_login
body=$(emu_api GET "/services/data/v59.0/sobjects/Lead/$id1")
echo "$body" | grep -q '"LastName":"Kept"'
t $? "--state: a record survives a restart"
id2=$(emu_api POST /services/data/v59.0/sobjects/Lead '{"LastName":"New","Company":"c"}' |
	sed -n 's/.*"id":"\([^"]*\)".*/\1/p')
[ -n "$id2" ] && [ "$id2" != "$id1" ]
t $? "--state: new ids do not repeat old ones ($id1 $id2)"
emu_stop

# -- --schema
cat >"$work/schema.json" <<'EOF'
{"objects":[
 {"name":"Widget__c","label":"Widget","labelPlural":"Widgets","keyPrefix":"a1W","fields":[
  {"name":"Name","type":"string","length":80,"required":true,"nameField":true},
  {"name":"Size__c","type":"int"},
  {"name":"Secret__c","type":"string","length":20,"hidden":true}]},
 {"name":"User","keyPrefix":"005","isDeleted":false,"owner":false,"fields":[
  {"name":"Username","type":"string","length":80,"unique":true,"required":true},
  {"name":"Email","type":"email","length":128},{"name":"FirstName","type":"string","length":40},
  {"name":"LastName","type":"string","length":80},{"name":"Alias","type":"string","length":8},
  {"name":"IsActive","type":"boolean","default":true}]}]}
EOF
emu_start --schema "$work/schema.json"
emu_login
body=$(emu_api GET /services/data/v59.0/sobjects/Widget__c/describe)
echo "$body" | grep -q '"name":"Size__c"' && ! echo "$body" | grep -q Secret__c &&
	! echo "$body" | grep -q '"name":"Lead"'
t $? "--schema: objects and hidden fields from the file"
emu_api POST /services/data/v59.0/sobjects/Widget__c '{"Name":"w","Size__c":3}' >/dev/null
[ "$(emu_status)" = 201 ]
t $? "--schema: records of a custom object"
emu_stop
echo '{"objects":[{"name":"Bad"}]}' >"$work/bad.json"
"$EMU_BIN" --schema "$work/bad.json" --listen 127.0.0.1:0 >"$work/out" 2>"$work/err"
[ $? -ne 0 ] && grep -q keyPrefix "$work/err"
t $? "--schema: a bad file is refused with a reason"

# -- --instance-url
emu_start --instance-url http://127.0.0.2:9999
body=$(curl -sS "$EMU_URL/services/oauth2/token" -d grant_type=password -d client_id=crmsync-demo \
	-d client_secret=crmsync-demo-secret -d username=sync@example.com -d password=sync-password)
echo "$body" | grep -q '"instance_url":"http://127.0.0.2:9999"'
t $? "--instance-url is handed out"
emu_stop

# -- --instance-listen: the data API only on the instance
emu_start --instance-listen 127.0.0.1:0
body=$(curl -sS "$EMU_URL/services/oauth2/token" -d grant_type=password -d client_id=crmsync-demo \
	-d client_secret=crmsync-demo-secret -d username=sync@example.com -d password=sync-password)
tok=$(echo "$body" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
[ -n "$EMU_INSTANCE_URL" ] && [ "$EMU_INSTANCE_URL" != "$EMU_URL" ] &&
	echo "$body" | grep -q "\"instance_url\":\"$EMU_INSTANCE_URL\""
t $? "--instance-listen: instance_url is the second address ($EMU_INSTANCE_URL)"
c1=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" "$EMU_URL/services/data/v59.0/limits")
c2=$(curl -sS -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $tok" "$EMU_INSTANCE_URL/services/data/v59.0/limits")
[ "$c1" = 404 ] && [ "$c2" = 200 ]
t $? "--instance-listen: data calls only on the instance ($c1 $c2)"
emu_stop

# -- TLS with a CA made now
OPENSSL=${OPENSSL:-openssl}
if "$OPENSSL" req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$work/key.pem" -out "$work/cert.pem" \
	>/dev/null 2>&1; then
	emu_start --tls-cert "$work/cert.pem" --tls-key "$work/key.pem"
	case "$EMU_URL" in https://*) r=0 ;; *) r=1 ;; esac
	t $r "TLS: listening on https ($EMU_URL)"
	code=$(curl -sS --cacert "$work/cert.pem" -o /dev/null -w '%{http_code}' "$EMU_URL/services/data/")
	[ "$code" = 200 ]
	t $? "TLS: a client trusting the certificate gets 200"
	curl -sS -o /dev/null "$EMU_URL/services/data/" 2>/dev/null
	[ $? -ne 0 ]
	t $? "TLS: a client that does not trust it fails"
	emu_stop
else
	t 1 "TLS: openssl could not make a certificate"
fi

# -- usage errors
"$EMU_BIN" --no-such-flag >/dev/null 2>&1
[ $? -eq 2 ]
t $? "an unknown flag exits 2"
"$EMU_BIN" --seed bogus=1 --listen 127.0.0.1:0 >/dev/null 2>"$work/err"
[ $? -ne 0 ] && grep -q "bad item" "$work/err"
t $? "a bad --seed is refused"

echo "1..$n"
[ "$fails" -eq 0 ]
