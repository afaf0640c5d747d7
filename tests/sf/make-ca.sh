#!/bin/sh
# make-ca.sh DIR - a throwaway PKI for the TLS tests of the Salesforce client:
#   ca.pem            the test CA
#   server.pem/.key   a server certificate for 127.0.0.1 and localhost, signed by ca
#   other.pem/.key    a server certificate for "otherhost" only, signed by ca
#   wrongca.pem       an unrelated CA that signed nothing the server has
# Uses $OPENSSL (from configure) or openssl. EC P-256 keys: fast to make.
set -e
dir=$1
ossl=${OPENSSL:-openssl}
[ -n "$dir" ] || { echo "usage: make-ca.sh DIR" >&2; exit 2; }
mkdir -p "$dir"
cd "$dir"
ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
"$ossl" req -x509 $ec -keyout ca.key -out ca.pem -days 2 -subj "/CN=crmsync test CA" \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
	>/dev/null 2>&1
"$ossl" req -x509 $ec -keyout wrongca.key -out wrongca.pem -days 2 -subj "/CN=crmsync wrong CA" \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
	>/dev/null 2>&1
mk() { # name cn san
	"$ossl" req $ec -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" >/dev/null 2>&1
	printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$3" > "$1.ext"
	"$ossl" x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
		-extfile "$1.ext" -out "$1.pem" >/dev/null 2>&1
}
mk server 127.0.0.1 "IP:127.0.0.1,DNS:localhost"
mk other otherhost "DNS:otherhost"
