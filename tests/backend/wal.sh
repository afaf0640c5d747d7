#!/bin/sh
# tests/backend/wal.sh - the SQLite store while a big pull writes: its WAL is
# copied back into the database file on the way (by the plugin's checkpoint
# thread) and stays bounded, an application reading the file with the sqlite3
# shell meanwhile is never refused and sees the committed rows grow, and at
# the end every row is in the database file and the WAL is gone.
# bench/backend_upsert does the writing: 300,000 lead rows through the ABI,
# a commit every 20,000 as the engine's pull does.
. "$top_srcdir/tests/lib.sh"
plan 6
DB="$T/store.db"
"$top_builddir/bench/backend_upsert" --rows 300000 --path "$DB" >"$T/bench.out" 2>&1 &
pid=$!
at_exit "kill $pid 2>/dev/null"
max=0 reads=0 refused=0 last=0 grew=0
while kill -0 $pid 2>/dev/null; do
	w=$(stat -c %s "$DB-wal" 2>/dev/null || echo 0)
	[ "$w" -gt "$max" ] && max=$w
	if n=$(sqlite3 -batch -cmd ".timeout 10000" "$DB" "select count(*) from lead" 2>>"$T/reads.err"); then
		reads=$((reads + 1))
		[ "$n" -gt "$last" ] && { [ "$last" -gt 0 ] && grew=1; last=$n; }
	elif [ "$reads" -gt 0 ]; then # (before the first read: no table yet)
		refused=$((refused + 1))
	fi
	sleep 0.05
done
wait $pid
ok $? "300,000 rows are stored"
[ $? -eq 0 ] || sed 's/^/# /' "$T/bench.out" | tail -5
contains "every one of them as new" "$T/bench.out" "outcomes: new 300000"
# at 6000 pages of 8 KiB the writer checkpoints itself; one transaction of
# 20,000 rows adds about 1000 pages before the WAL starts over: 64 MiB at most
# while the database grows past 100 MB
size=$(stat -c %s "$DB")
ok $([ "$max" -gt 0 ] && [ "$max" -le $((64 * 1048576)) ] && [ "$size" -gt 100000000 ]; echo $?) \
	"the WAL stays bounded while the rows are written (at most $max bytes, the database $size bytes)"
ok $([ "$refused" -eq 0 ] && [ "$reads" -gt 0 ] && [ "$grew" -eq 1 ]; echo $?) \
	"a reader meanwhile is never refused and sees the rows grow ($reads reads, $refused refused)"
[ -s "$T/reads.err" ] && sed 's/^/# /' "$T/reads.err" | head -3
n=$(sqlite3 "$DB" "select count(*) from lead")
ok $([ "$n" = 300000 ]; echo $?) "all rows are in the database file ($n)"
ok $([ ! -s "$DB-wal" ]; echo $?) "the WAL is copied back and gone when the store closes"
