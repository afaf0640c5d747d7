# tests/pg/pg.sh - a private PostgreSQL server for tests. Source it (after
# tests/lib.sh, which provides at_exit), then:
#   pg_start            start a server (or use $CRMSYNC_TEST_PG, a conninfo);
#                       sets PG_CONNINFO (a superuser on database "postgres")
#   pg_createdb NAME    a fresh database; prints its conninfo
#   pg_psql CONNINFO ARGS...   psql, quiet, stopping at the first error
#   pg_kill             stop the server at once (like a crash: no shutdown)
#   pg_restart          start it again on the same data directory
# The server lives in its own temporary directory, listens on a Unix socket in
# that directory only (no TCP port), with fsync off (tests need no durability
# against power loss), and is stopped by the exit trap. initdb refuses to run
# as root: as root, the server runs as the `postgres` system user.

pg_bindir() {
	if [ -n "${PG_BINDIR:-}" ]; then echo "$PG_BINDIR"; return 0; fi
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
		[ -x "$d/initdb" ] && { echo "$d"; return 0; }
	done
	d=$(pg_config --bindir 2>/dev/null) && [ -x "$d/initdb" ] && { echo "$d"; return 0; }
	command -v initdb >/dev/null 2>&1 && { dirname "$(command -v initdb)"; return 0; }
	return 1
}

# pg_as CMD...: run a server command as the server's owner
pg_as() {
	if [ "$(id -u)" = 0 ]; then
		if command -v runuser >/dev/null 2>&1; then
			runuser -u postgres -- "$@"
		else
			su postgres -s /bin/sh -c "$(printf '%s ' "$@")"
		fi
	else
		"$@"
	fi
}

pg_start() {
	if [ -n "${CRMSYNC_TEST_PG:-}" ]; then
		PG_CONNINFO=$CRMSYNC_TEST_PG
		PG_EXTERNAL=1
		export PG_CONNINFO
		return 0
	fi
	PG_EXTERNAL=0
	PG_BIN=$(pg_bindir) || { echo "# no PostgreSQL server binaries (initdb) found"; return 1; }
	# short path: the socket name must fit in 107 bytes
	PG_DIR=$(mktemp -d /tmp/crmsync-pg.XXXXXX) || return 1
	chmod 755 "$PG_DIR"
	[ "$(id -u)" = 0 ] && chown postgres "$PG_DIR"
	at_exit "pg_stop"
	pg_as "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --locale=C \
		--no-sync >"$PG_DIR/initdb.log" 2>&1 || {
		echo "# initdb failed:"; sed 's/^/#   /' "$PG_DIR/initdb.log"; return 1; }
	cat >>"$PG_DIR/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$PG_DIR'
unix_socket_permissions = 0777
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 40
shared_buffers = 32MB
max_wal_size = 1GB
EOF
	pg_restart || return 1
	PG_CONNINFO="host=$PG_DIR port=5432 dbname=postgres user=postgres"
	export PG_CONNINFO PG_DIR PG_BIN
}

pg_restart() {
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 start \
		>"$PG_DIR/pg_ctl.log" 2>&1 || {
		echo "# the PostgreSQL server did not start:"
		sed 's/^/#   /' "$PG_DIR/pg_ctl.log" "$PG_DIR/server.log" 2>/dev/null | tail -20
		return 1
	}
}

pg_kill() {
	[ "${PG_EXTERNAL:-0}" = 1 ] && return 1
	pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1
}

pg_stop() {
	[ "${PG_EXTERNAL:-0}" = 1 ] && return 0
	[ -n "${PG_DIR:-}" ] || return 0
	if [ -f "$PG_DIR/data/postmaster.pid" ]; then
		pg_as "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m immediate -w stop >/dev/null 2>&1
	fi
	rm -rf "$PG_DIR"
}

pg_psql() {
	ci=$1; shift
	PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -d "$ci" "$@"
}

# pg_createdb NAME [ENCODING]: a fresh database (dropped first)
pg_createdb() {
	pg_psql "$PG_CONNINFO" -c "DROP DATABASE IF EXISTS \"$1\"" \
		-c "CREATE DATABASE \"$1\" TEMPLATE template0 ENCODING '${2:-UTF8}' LC_COLLATE 'C' LC_CTYPE 'C'" \
		>/dev/null || return 1
	echo "$PG_CONNINFO" | sed "s/dbname=[^ ]*/dbname=$1/"
}

# pg_e2e CONNINFO SCHEMA: after tests/e2e/e2e.sh, point its helpers at
# PostgreSQL: cs and cs_bg run crmsync with [storage] backend = postgres (the
# same options as with SQLite otherwise), sql and lsql are what an application
# does (psql on a connection of its own, search_path = SCHEMA), and
# compare_sides compares that schema with the emulator (tests/e2e/compare.py).
pg_e2e() {
	PG_E2E_CI=$1
	PG_E2E_SCHEMA=$2
	export CRMSYNC_PLUGIN_PATH="$top_builddir/plugins/objects:$top_builddir/plugins/backends/postgres"
	cs() {
		"$CS" -o salesforce.login_url="$EMU_URL" -o salesforce.client_id=crmsync-demo \
			-o salesforce.username=sync@example.com -o storage.backend=postgres \
			-o storage.conninfo="$PG_E2E_CI" -o storage.schema="$PG_E2E_SCHEMA" \
			-o sync.custom_objects=Invoice__c -o log.level="${CS_LOG:-warn}" ${CS_OPTS:-} "$@"
	}
	cs_bg() {
		"$CS" -o salesforce.login_url="$EMU_URL" -o salesforce.client_id=crmsync-demo \
			-o salesforce.username=sync@example.com -o storage.backend=postgres \
			-o storage.conninfo="$PG_E2E_CI" -o storage.schema="$PG_E2E_SCHEMA" \
			-o sync.custom_objects=Invoice__c -o log.level="${CS_LOG:-warn}" ${CS_OPTS:-} "$@" &
		CS_PID=$!
	}
	sql() {
		PGOPTIONS="-c search_path=$PG_E2E_SCHEMA" psql -X -q -At -v ON_ERROR_STOP=1 \
			-d "$PG_E2E_CI" -c "$1"
	}
	lsql() { sql "$@"; }
	compare_sides() {
		# shellcheck disable=SC2086
		python3 "$top_srcdir/tests/e2e/compare.py" --backend=postgres \
			--schema="$PG_E2E_SCHEMA" "$EMU_URL" "$PG_E2E_CI" "$@" $UNITS_CMP
	}
}
