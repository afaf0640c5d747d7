#!/bin/sh
# tests/sfemu/test_api.sh - sfemu against the spec: endpoints, errors, control plane.
# The assertions live in test_api.py (JSON is easier to check there); emu.sh starts
# the emulator and stops it on exit.
. "$top_srcdir/tests/sfemu/emu.sh"
if ! emu_start --refresh-token rt-test-123 --seed-rng 7 \
	--seed users=3,accounts=5,contacts=10,leads=450,campaigns=2,members=6,opportunities=3,tasks=5,events=3,invoices=3; then
	echo "Bail out! sfemu did not start"
	exit 1
fi
python3 "$top_srcdir/tests/sfemu/test_api.py"
