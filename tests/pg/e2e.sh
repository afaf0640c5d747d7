#!/bin/sh
# tests/pg/e2e.sh - crmsync against sfemu into PostgreSQL, as a user runs it:
# tests/e2e/sync.sh with [storage] backend = postgres and its conninfo (the
# rest of the config as with SQLite), the local edits made with psql on
# connections of their own, both sides compared field by field after every
# cycle, and PostgreSQL's column types checked.
E2E_BACKEND=postgres
. "$top_srcdir/tests/e2e/sync.sh"
