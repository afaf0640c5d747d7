#!/bin/sh
# run.sh [SECONDS] [TARGET...] - build the libFuzzer targets (build.sh) and
# run each for SECONDS (default 60), two at a time, starting from the
# committed seed corpus tests/fuzz/corpus/TARGET (copied: new inputs go to
# $FUZZ_OUT/corpus/TARGET, never into the source tree). Crashes and property
# failures are saved as $FUZZ_OUT/crashes/TARGET/crash-*; the script prints
# them and exits 1 if there is any. Per target it prints the executions done.
# FUZZ_OUT defaults to ./fuzz-out, FUZZ_BUILD to $FUZZ_OUT/build. FUZZ_SEED fixes
# libFuzzer's seed (.ci/run sets it, so the gate is reproducible and a new find
# shows up in a deliberate longer run, not as a random CI failure).
#   tests/fuzz/run.sh 60                 # what .ci/run does
#   tests/fuzz/run.sh 3600 soql page     # longer, some targets
set -eu
secs=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-soql page conf loader}
src=$(cd "$(dirname "$0")/../.." && pwd)
out=${FUZZ_OUT:-$PWD/fuzz-out}
mkdir -p "$out"
out=$(cd "$out" && pwd)
build=${FUZZ_BUILD:-$out/build}
"$src/tests/fuzz/build.sh" "$build" >"$out/build.log" 2>&1 || {
	cat "$out/build.log" >&2
	echo "fuzz: build failed" >&2
	exit 2
}

run_one() {
	t=$1
	mkdir -p "$out/corpus/$t" "$out/crashes/$t"
	cp -n "$src/tests/fuzz/corpus/$t"/* "$out/corpus/$t/" 2>/dev/null || true
	rc=0
	FUZZDESC_DIR=$build "$build/fuzz_$t" -max_total_time="$secs" -timeout=10 \
		${FUZZ_SEED:+-seed=$FUZZ_SEED} \
		-rss_limit_mb=2048 -max_len=8192 -print_final_stats=1 \
		-artifact_prefix="$out/crashes/$t/" "$out/corpus/$t" >"$out/$t.log" 2>&1 || rc=$?
	echo $rc >"$out/$t.rc"
}

set -- $targets
while [ $# -gt 0 ]; do
	run_one "$1" &
	p1=$!
	p2=
	if [ $# -gt 1 ]; then
		run_one "$2" &
		p2=$!
		shift
	fi
	shift
	wait $p1 ${p2:+$p2} || true
done

bad=0
npass=0
nfail=0
for t in $targets; do
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/$t.log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$out/$t.log" | tail -1)
	n=$(find "$out/crashes/$t" -type f | wc -l)
	echo "fuzz_$t: ${execs:-?} executions in ${secs}s, $cov, corpus $(ls "$out/corpus/$t" | wc -l), crashes $n (rc $(cat "$out/$t.rc"))"
	if [ "$n" -gt 0 ] || [ "$(cat "$out/$t.rc")" != 0 ]; then
		bad=1
		grep -E 'ERROR: |fuzz property failed|SUMMARY' "$out/$t.log" | head -5 | sed 's/^/    /'
		find "$out/crashes/$t" -type f | sed 's/^/    saved: /'
		nfail=$((nfail + 1))
	else
		npass=$((npass + 1))
	fi
done
echo "$npass passed, $nfail failed"
exit $bad
