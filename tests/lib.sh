# tests/lib.sh - TAP helpers for shell tests. Source it, call plan N, then
# ok/check/contains for each assertion, and done_testing at the end.
# Every temporary thing lives under $T, removed on exit.
set -u
T=$(mktemp -d "${TMPDIR:-/tmp}/crmsync-test.XXXXXX")
tap_n=0
tap_failed=0
cleanup_hooks=""
at_exit() { cleanup_hooks="$cleanup_hooks
$1"; }
tap_cleanup() {
	eval "$cleanup_hooks"
	if [ -n "${KEEP_TEST_DIR:-}" ]; then echo "# kept $T" >&2; else rm -rf "$T"; fi
}
trap tap_cleanup EXIT
trap 'exit 130' INT TERM

plan() { echo "1..$1"; }
ok() { # ok STATUS DESCRIPTION
	tap_n=$((tap_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $tap_n - $2"
	else
		echo "not ok $tap_n - $2"
		tap_failed=$((tap_failed + 1))
	fi
}
# check DESCRIPTION COMMAND...: passes when the command exits 0
check() {
	d=$1; shift
	"$@" >"$T/out" 2>&1
	st=$?
	ok $st "$d"
	[ $st -eq 0 ] || sed 's/^/# /' "$T/out"
}
# contains DESCRIPTION FILE NEEDLE: passes when FILE contains NEEDLE (fixed string)
contains() {
	if grep -qF -- "$3" "$2"; then ok 0 "$1"; else
		ok 1 "$1"; echo "# '$3' not found in:"; sed 's/^/#   /' "$2" | head -20
	fi
}
# lacks DESCRIPTION FILE NEEDLE: passes when FILE does not contain NEEDLE
lacks() {
	if grep -qF -- "$3" "$2"; then
		ok 1 "$1"; echo "# '$3' found in:"; grep -nF -- "$3" "$2" | sed 's/^/#   /' | head -5
	else ok 0 "$1"; fi
}
# exit_is DESCRIPTION EXPECTED ACTUAL
exit_is() {
	if [ "$2" -eq "$3" ]; then ok 0 "$1"; else ok 1 "$1"; echo "# exit $3, expected $2"; fi
}
done_testing() { exit 0; }
