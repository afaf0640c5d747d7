#!/bin/sh
# tests/sfemu/test_api.sh - sfemu against the spec: endpoints, errors, control plane.
# The assertions live in test_api.py (JSON is easier to check there); emu.sh starts
# the emulator, and its exit status after SIGTERM is checked last (under ASan a
# leak anywhere the API went makes it non-zero).
. "$top_srcdir/tests/sfemu/emu.sh"
count=$(mktemp "${TMPDIR:-/tmp}/sfemu-count.XXXXXX")
EMU_KEEP=1
if ! emu_start --refresh-token rt-test-123 --seed-rng 7 \
	--seed users=3,accounts=5,contacts=10,leads=450,campaigns=2,members=6,opportunities=3,tasks=5,events=3,invoices=3; then
	echo "Bail out! sfemu did not start"
	rm -f "$count"
	exit 1
fi
TAP_COUNT_FILE=$count python3 "$top_srcdir/tests/sfemu/test_api.py"
rc=$?
n=$(cat "$count")
rm -f "$count"
n=${n:-0}
emu_stop
n=$((n + 1))
if [ "$EMU_EXIT" = 0 ]; then
	echo "ok $n - sfemu exits cleanly after SIGTERM"
else
	echo "not ok $n - sfemu exits cleanly after SIGTERM (status $EMU_EXIT)"
	printf '%s\n' "$EMU_STDERR" | head -40 | sed 's/^/# /'
	rc=1
fi
echo "1..$n"
exit $rc
