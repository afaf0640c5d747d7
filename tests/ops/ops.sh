# tests/ops/ops.sh - shared by the operator tests: the emulator helpers of
# tests/e2e/e2e.sh plus a crmsync run with its metrics listener on a free port.
# Source after tests/lib.sh.
. "$top_srcdir/tests/e2e/e2e.sh"

# run_bg ARGS...: crmsync ARGS run in the background with the listener on a
# free port; sets CS_PID and METRICS (http://127.0.0.1:PORT), log in $T/run.err
run_bg() {
	CS_LOG=info cs_bg -o metrics.listen=127.0.0.1:0 "$@" run 2>"$T/run.err"
	at_exit "kill $CS_PID 2>/dev/null; wait $CS_PID 2>/dev/null"
	METRICS=""
	for _ in $(seq 200); do
		METRICS=$(sed -n 's/.*metrics: listening on \(http:[^ ]*\).*/\1/p' "$T/run.err")
		[ -n "$METRICS" ] && return 0
		kill -0 "$CS_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "# crmsync run did not start its listener:"; sed 's/^/#   /' "$T/run.err"
	return 1
}
# scrape: /metrics into $T/metrics
scrape() { curl -s "$METRICS/metrics" >"$T/metrics"; }
# metric 'NAME{LABELS}': its value in the last scrape (empty when absent)
metric() { awk -v k="$1" '$1 == k { print $2 }' "$T/metrics"; }
# wait_cycles N: until crmsync_cycles_total >= N (10 s at most); scrapes
wait_cycles() {
	for _ in $(seq 200); do
		scrape
		c=$(metric crmsync_cycles_total)
		[ -n "$c" ] && [ "$c" -ge "$1" ] && return 0
		sleep 0.05
	done
	return 1
}
# healthz: the HTTP status of /healthz, body in $T/healthz
healthz() { curl -s -o "$T/healthz" -w '%{http_code}' "$METRICS/healthz"; }
