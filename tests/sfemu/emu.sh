# emu.sh - sourceable helper for tests that run against the Salesforce emulator.
#
#   . "$top_srcdir/tests/sfemu/emu.sh"
#   emu_start --seed leads=100          # exports EMU_URL, EMU_PID; kills it on exit
#                                       # (and EMU_INSTANCE_URL with --instance-listen)
#   emu_login                           # exports EMU_TOKEN (password grant)
#   emu_api GET /services/data/v59.0/limits
#   emu_ctl POST /__emu/clock '{"advance":60}'
#
# emu_start installs an EXIT/INT/TERM trap that stops the emulator; a test that
# sets its own trap must call emu_stop in it. EMU_BIN overrides the binary.
# emu_stop leaves sfemu's exit status in EMU_EXIT (0 after SIGTERM; under
# ASan a leak makes it non-zero) and its stderr in EMU_STDERR when EMU_KEEP=1.
# emu_api and emu_ctl print the response body; EMU_STATUS (or emu_status, which
# also works after a command substitution) gives the HTTP status.

EMU_BIN=${EMU_BIN:-${top_builddir:-.}/tests/sfemu/sfemu}
EMU_USER=${EMU_USER:-sync@example.com}
EMU_PASSWORD=${EMU_PASSWORD:-sync-password}
EMU_CLIENT_ID=${EMU_CLIENT_ID:-crmsync-demo}
EMU_CLIENT_SECRET=${EMU_CLIENT_SECRET:-crmsync-demo-secret}
EMU_API=${EMU_API:-v59.0}

emu_stop() {
	if [ -n "${EMU_PID:-}" ]; then
		kill "$EMU_PID" 2>/dev/null
		wait "$EMU_PID" 2>/dev/null
		EMU_EXIT=$?
		EMU_PID=
	fi
	if [ -n "${EMU_DIR:-}" ]; then
		[ "${EMU_KEEP:-}" = 1 ] && EMU_STDERR=$(cat "$EMU_DIR/err" 2>/dev/null)
		rm -rf "$EMU_DIR"
		EMU_DIR=
	fi
}

emu_start() {
	EMU_DIR=$(mktemp -d "${TMPDIR:-/tmp}/sfemu.XXXXXX") || return 1
	"$EMU_BIN" --listen 127.0.0.1:0 "$@" >"$EMU_DIR/out" 2>"$EMU_DIR/err" &
	EMU_PID=$!
	_emu_lines=1
	for _emu_a in "$@"; do
		[ "$_emu_a" = --instance-listen ] && _emu_lines=2
	done
	trap 'emu_stop' EXIT
	trap 'emu_stop; exit 130' INT
	trap 'emu_stop; exit 143' TERM
	_emu_i=0
	while :; do
		# only complete lines: the port may still be half written
		if [ -f "$EMU_DIR/out" ] && [ "$(wc -l <"$EMU_DIR/out")" -ge "$_emu_lines" ]; then
			EMU_URL=$(sed -n '1s/^listening on \(http[s]*:\/\/[^ ]*\)$/\1/p' "$EMU_DIR/out")
			EMU_INSTANCE_URL=$(sed -n '2s/^instance on \(http[s]*:\/\/[^ ]*\)$/\1/p' "$EMU_DIR/out")
			[ -n "$EMU_URL" ] && break
		fi
		if ! kill -0 "$EMU_PID" 2>/dev/null; then
			echo "# sfemu exited before listening:" >&2
			sed 's/^/# /' "$EMU_DIR/err" >&2
			EMU_PID=
			return 1
		fi
		_emu_i=$((_emu_i + 1))
		if [ "$_emu_i" -gt 1200 ]; then
			echo "# sfemu did not start within 120 s" >&2
			return 1
		fi
		sleep 0.1
	done
	export EMU_URL EMU_PID EMU_INSTANCE_URL
}

# emu_ctl METHOD PATH [JSON]: the control plane; PATH is /__emu/reset or just reset.
emu_ctl() {
	case "$2" in
	/*) _emu_p=$2 ;;
	*) _emu_p=/__emu/$2 ;;
	esac
	_emu_out=$(curl -sS -k -X "$1" -H 'Content-Type: application/json' \
		${3:+--data-binary "$3"} -w '\n%{http_code}' "$EMU_URL$_emu_p") || return 1
	EMU_STATUS=$(printf '%s' "$_emu_out" | tail -n 1)
	printf '%s' "$EMU_STATUS" >"$EMU_DIR/status"
	printf '%s\n' "$_emu_out" | sed '$d'
}

# emu_status: the HTTP status of the last emu_ctl/emu_api (also from a subshell).
emu_status() {
	cat "$EMU_DIR/status"
}

# emu_login: password grant with the default credentials; exports EMU_TOKEN.
emu_login() {
	_emu_out=$(curl -sS -k "$EMU_URL/services/oauth2/token" \
		--data-urlencode grant_type=password \
		--data-urlencode "client_id=$EMU_CLIENT_ID" \
		--data-urlencode "client_secret=$EMU_CLIENT_SECRET" \
		--data-urlencode "username=$EMU_USER" \
		--data-urlencode "password=$EMU_PASSWORD") || return 1
	EMU_TOKEN=$(printf '%s' "$_emu_out" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
	[ -n "$EMU_TOKEN" ] || return 1
	export EMU_TOKEN
}

# emu_api METHOD PATH [JSON] [extra curl args...]: the data API with the token.
emu_api() {
	_emu_m=$1
	_emu_p=$2
	_emu_b=${3:-}
	shift 2
	[ $# -gt 0 ] && shift
	_emu_out=$(curl -sS -k -X "$_emu_m" -H "Authorization: Bearer $EMU_TOKEN" \
		-H 'Content-Type: application/json' ${_emu_b:+--data-binary "$_emu_b"} \
		-w '\n%{http_code}' "$@" "$EMU_URL$_emu_p") || return 1
	EMU_STATUS=$(printf '%s' "$_emu_out" | tail -n 1)
	printf '%s' "$EMU_STATUS" >"$EMU_DIR/status"
	printf '%s\n' "$_emu_out" | sed '$d'
}
