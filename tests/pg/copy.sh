#!/bin/sh
# tests/pg/copy.sh - the first copy's COPY path (tests/pg/copy_pg.c) on a
# private PostgreSQL server. The program's TAP output is this test's output.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/tests/pg/pg.sh"
if ! pg_start; then
	echo "1..1"; echo "not ok 1 - a PostgreSQL server starts"; exit 1
fi
CI=$(pg_createdb crmsync_copy) || { echo "1..1"; echo "not ok 1 - create a database"; exit 1; }
export CRMSYNC_TEST_BACKEND_SO="$top_builddir/plugins/backends/postgres/.libs/postgres.so"
export CRMSYNC_TEST_PG_CONNINFO="$CI"
${SHELL:-/bin/sh} "$top_srcdir/tests/run-test" "$top_builddir/tests/pg/copy_pg"
