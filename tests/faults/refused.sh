#!/bin/sh
# tests/faults/refused.sh - the store refuses a record in the middle of a pull
# (an application's trigger raises on it): the pages written before it in the
# same store transaction go with it, so the run history must not count them
# as stored; once the trigger is gone the next cycle stores and counts them.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/e2e/e2e.sh"
. "$top_srcdir/tests/faults/faults.sh"
plan 6
export CS_OPTS="-o sync.units=user,lead $FAULT_OPTS"
emu_start --seed users=2,leads=50 --seed-rng 21
ok $? "the emulator starts seeded"
sync_once
ok $SYNC_RC "the initial copy completes"
lsql "create trigger no_boom before insert on lead when new.lastname = 'Boom'
  begin select raise(abort, 'no booms in this database'); end;"
# 300 new CRM leads (pages of 200), the refused one last
i=0
while [ $i -lt 300 ]; do
	i=$((i + 1))
	emu POST records/Lead "{\"op\":\"create\",\"fields\":{\"LastName\":\"New-$i\",\"Company\":\"N\"}}" >/dev/null
done
emu POST records/Lead '{"op":"create","fields":{"LastName":"Boom","Company":"B"}}' >/dev/null
sync_once
ok $([ $SYNC_RC -ne 0 ] && grep -q "no booms in this database" "$T/sync.out"; echo $?) \
	"the cycle fails, quoting the store's refusal"
stored=$(sql "select count(*) from lead")
cs history --csv >"$T/hist.csv" 2>&1
counted=$(awk -F, '$1 == 2 && $2 == "lead" && $3 == "pull" {print $6}' "$T/hist.csv")
ok $([ "$stored" = 50 ] && [ "$counted" = 0 ]; echo $?) \
	"nothing of the refused transaction is stored, and history counts nothing new ($stored rows, $counted new)"
lsql "drop trigger no_boom"
sync_once
ok $SYNC_RC "without the trigger the next cycle completes"
cs history --csv >"$T/hist.csv" 2>&1
counted=$(awk -F, '$1 == 3 && $2 == "lead" && $3 == "pull" {print $6}' "$T/hist.csv")
ok $([ "$(sql "select count(*) from lead")" = 351 ] && [ "$counted" = 301 ]; echo $?) \
	"it stores the 301 records and counts 301 new ($counted)"
