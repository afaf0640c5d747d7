#!/bin/sh
# tests/hostile/values.sh - CRM values that try to inject (SQL, SOQL), break
# quoting (quotes, backslashes), encodings (unicode up to 4-byte, control
# characters, \u0000) or sizes (28 KB of 4-byte text, 100 KB over the limit),
# and ids of the wrong shape: round trip through the real daemon against the
# emulator, both ways, compared byte for byte (values.py does the talking).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e/e2e.sh"
plan 53

emu_start --seed users=2,leads=3 --seed-rng 3
ok $? "the emulator starts"
export EMU_URL DB="$T/local.db"
V="$top_srcdir/tests/hostile/values.py"
py() { TAPN=$((tap_n + 1)) python3 "$V" "$1"; st=$?; tap_n=$(($(cat "$DB.tapn") - 1)); return $st; }

cs sync --once >"$T/o" 2>&1; ok $? "initial sync"
py crm-to-local
cs sync --once >"$T/o" 2>&1; st=$?; ok $st "sync of the hostile CRM records succeeds"
[ $st -eq 0 ] || sed 's/^/# /' "$T/o" | head -20
py check-local
py local-insert
cs sync --once >"$T/o" 2>&1; ok $? "sync of the hostile local rows completes (refusals are per record)"
py local-to-crm
cs errors --json >"$T/errors.json" 2>&1
contains "the 100 KB refusal is listed by crmsync errors" "$T/errors.json" "STRING_TOO_LONG"
contains "the wrong-shaped id is refused on its own (MALFORMED_ID), not the batch" "$T/errors.json" "MALFORMED_ID"
cs sync --once >"$T/o" 2>&1; ok $? "a second sync succeeds"
ok $([ "$(sql "select count(*) from lead where lastname = 'x''); DROP TABLE lead; --'")" = 2 ]; echo $?) \
	"the SQL injection value is a plain value on both rows (CRM-made and local-made)"
done_testing
