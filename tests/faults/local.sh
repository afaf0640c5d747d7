#!/bin/sh
# tests/faults/local.sh - local faults: the database's filesystem full, the
# database read-only, the database locked by another process for longer than
# the busy timeout. Each time the sync stops with a clear error, loses nothing,
# and the next cycle (fault removed) completes with both sides equal.
# Disk full and read-only use a 2 MB tmpfs mounted for the test: that needs
# root (as in CI); without it those checks are reported as SKIP (not a pass).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e/e2e.sh"
. "$top_srcdir/tests/faults/faults.sh"
plan 14
export CS_OPTS="-o sync.units=user,account,lead,contact $FAULT_OPTS -o storage.busy_timeout=500"
UNITS_CMP="lead=Lead contact=Contact account=Account user=User"
skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $1 # SKIP $2"; }

emu_start --seed users=3,accounts=10,contacts=20,leads=300 --seed-rng 13
ok $? "the emulator starts seeded"
mounted=0
mkdir -p "$T/mnt"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=2m tmpfs "$T/mnt" 2>"$T/mount.err"; then
	mounted=1
	at_exit "umount '$T/mnt' 2>/dev/null"
	ln -s "$T/mnt/local.db" "$T/local.db" # cs, sql and lsql use $T/local.db
fi
sync_once
ok $SYNC_RC "the initial copy completes"
LX=$(sql "select id from lead where is_deleted=0 order by id desc limit 1")

# --- disk full -------------------------------------------------------------------
if [ $mounted = 1 ]; then
	before=$(rows lead)
	touch_leads 250
	crm_set Lead "$LX" Title "after-full"
	lsql "update lead set phone='+1 555 0111' where id='$LX'"
	# leave 48 KB: the store opens, then a page of 250 leads does not fit
	avail=$(df --output=avail -k "$T/mnt" | tail -1)
	dd if=/dev/zero of="$T/mnt/filler" bs=1k count=$((avail - 48)) 2>/dev/null
	FAULTS_TRIED=$((FAULTS_TRIED + 1))
	sync_once
	ok $([ "$SYNC_RC" -ne 0 ] && grep -qi 'disk is full\|disk I/O' "$T/sync.out" && grep -q local.db "$T/sync.out"; echo $?) \
		"disk full: the sync stops with an error naming the file and the full disk (exit $SYNC_RC)"
	sed 's/^/# /' "$T/sync.out" | tail -3
	rm -f "$T/mnt/filler" # (a reader needs a little room too: WAL index)
	ok $([ "$(rows lead)" = "$before" ] && [ "$(sql 'pragma integrity_check')" = ok ]; echo $?) \
		"disk full: nothing stored is lost, the database is intact"
	converge "disk full"
	ok $([ "$(sql "select title from lead where id='$LX'")" = after-full ] &&
		[ "$(crm_get Lead "$LX" Phone)" = "+1 555 0111" ]; echo $?) \
		"disk full: the CRM edit and the local edit both went through afterwards"
else
	for d in "disk full: the sync stops with a clear error" "disk full: nothing lost" \
		"disk full: the next cycle converges" "disk full: both edits go through"; do
		skip "$d" "needs root to mount a small tmpfs (uid $(id -u)) $(cat "$T/mount.err" 2>/dev/null)"
	done
fi

# --- read-only database --------------------------------------------------------------
crm_set Lead "$LX" Title "after-ro"
if [ $mounted = 1 ]; then
	mount -o remount,ro "$T/mnt"
else
	chmod a-w "$T/local.db" "$T"
fi
FAULTS_TRIED=$((FAULTS_TRIED + 1))
sync_once
ok $([ "$SYNC_RC" -ne 0 ]; echo $?) "read-only database: the sync stops (exit $SYNC_RC)"
grep -qi 'read-only\|readonly\|read only\|permission' "$T/sync.out" && grep -q 'local.db' "$T/sync.out"
ok $? "read-only database: the error names the file and points at its permissions"
sed 's/^/# /' "$T/sync.out" | tail -2
if [ $mounted = 1 ]; then mount -o remount,rw "$T/mnt"; else chmod u+w "$T/local.db" "$T"; fi
converge "read-only database"
ok $([ "$(sql "select title from lead where id='$LX'")" = after-ro ]; echo $?) \
	"read-only database: the edit arrives once it is writable again"

# --- locked by another process -------------------------------------------------------
crm_set Lead "$LX" Title "after-lock"
lsql "update lead set mobilephone='+1 555 0122' where id='$LX'"
before=$(rows lead)
# an application holds a write transaction for 4 s (busy timeout: 0.5 s)
(printf 'BEGIN IMMEDIATE;\nUPDATE lead SET title=title WHERE 0;\n'; sleep 4; printf 'COMMIT;\n') |
	sqlite3 "$T/local.db" &
holder=$!
at_exit "kill $holder 2>/dev/null"
sleep 1
FAULTS_TRIED=$((FAULTS_TRIED + 1))
sync_once
ok $([ "$SYNC_RC" -ne 0 ] && grep -qi 'locked\|busy' "$T/sync.out"; echo $?) \
	"locked database: the sync stops with a clear error (exit $SYNC_RC)"
sed 's/^/# /' "$T/sync.out" | tail -2
ok $([ "$(rows lead)" = "$before" ]; echo $?) "locked database: nothing stored is lost"
wait $holder
converge "locked database"
ok $([ "$(sql "select title from lead where id='$LX'")" = after-lock ] &&
	[ "$(crm_get Lead "$LX" MobilePhone)" = "+1 555 0122" ]; echo $?) \
	"locked database: both edits go through afterwards"
figures
done_testing
