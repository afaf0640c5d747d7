#!/bin/sh
# tests/pg/conformance.sh - the backend conformance suite (tests/backend) run
# against postgres.so on a private PostgreSQL server. The suite's own TAP
# output is this test's output. The database is UTF8, as deployments are: it
# refuses an application's invalid UTF-8 itself (the plugin also reads a
# SQL_ASCII database byte for byte and reports such rows like SQLite's).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/pg/pg.sh"
if ! pg_start; then
	echo "1..1"; echo "not ok 1 - a PostgreSQL server starts"; exit 1
fi
CI=$(pg_createdb crmsync_conf) || { echo "1..1"; echo "not ok 1 - create a database"; exit 1; }
export CRMSYNC_TEST_BACKEND_SO="$top_builddir/plugins/backends/postgres/.libs/postgres.so"
export CRMSYNC_TEST_STORAGE="conninfo=$CI;schema=crmsync_conf"
${SHELL:-/bin/sh} "$top_srcdir/tests/run-test" "$top_builddir/tests/pg/conformance_pg"
