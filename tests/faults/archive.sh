#!/bin/sh
# tests/faults/archive.sh - the org archives old activities (events that ended
# and closed tasks over a year ago): `query` no longer returns them, `queryAll`
# does, and their SystemModstamp does not move. The id reconciliation (which
# tombstones local rows whose record is gone from the CRM) must list ids with
# queryAll: an archived activity is history, not a deletion. A task deleted
# and purged meanwhile is still found gone.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e/e2e.sh"
. "$top_srcdir/tests/faults/faults.sh"
plan 7
export CS_OPTS="-o sync.units=user,lead,contact,activity $FAULT_OPTS"
emu_start --seed users=2,leads=20,contacts=20,tasks=30,events=10 --seed-rng 5
ok $? "the emulator starts seeded"
sync_once
ok $SYNC_RC "the initial copy completes"
set -- $(sql "select id from task where is_deleted=0 order by id limit 6")
T1=$1 T2=$2 T3=$3 T4=$4 T5=$5 GONE=$6
E1=$(sql "select id from event where is_deleted=0 order by id limit 1")
n=$(emu POST archive "{\"type\":\"Task\",\"ids\":[\"$T1\",\"$T2\",\"$T3\",\"$T4\",\"$T5\"]}" | json_get archived)
m=$(emu POST archive "{\"type\":\"Event\",\"ids\":[\"$E1\"]}" | json_get archived)
emu POST records/Task "{\"op\":\"delete\",\"id\":\"$GONE\"}" >/dev/null
emu POST purge '{"type":"Task"}' >/dev/null
ok $([ "$n" = 5 ] && [ "$m" = 1 ]; echo $?) "the org archives 5 tasks and an event, and purges a deleted task"
# the first reconciliation starts its clock; the second one lists the ids
sync_once -o sync.reconcile_interval=1ms
sync_once -o sync.reconcile_interval=1ms
ok $SYNC_RC "two cycles with the id reconciliation due complete"
ok $([ "$(sql "select count(*) from task where id in ('$T1','$T2','$T3','$T4','$T5') and is_deleted=0")" = 5 ] &&
	[ "$(sql "select is_deleted from event where id='$E1'")" = 0 ]; echo $?) \
	"archived activities stay live rows (not taken for purged)"
ok $([ "$(sql "select is_deleted from task where id='$GONE'")" = 1 ]; echo $?) \
	"the purged task is a tombstone: the reconciliation ran"
recon=$(sql "select coalesce(sum(n_deleted), -1) from _crmsync_history where unit='task' and step='reconcile'")
ok $([ "$recon" = 1 ]; echo $?) "the task reconciliation found exactly one record gone ($recon)"
done_testing
