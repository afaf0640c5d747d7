# plugins/backends/postgres: PostgreSQL storage on libpq (included inside if HAVE_PQ).
plugin_LTLIBRARIES += plugins/backends/postgres/postgres.la
plugins_backends_postgres_postgres_la_SOURCES = \
	plugins/backends/postgres/pg.c \
	plugins/backends/postgres/pg_schema.c \
	plugins/backends/postgres/pg_rows.c \
	plugins/backends/postgres/pg_changes.c \
	plugins/backends/postgres/pg_int.h \
	plugins/backends/common/bk_values.c \
	plugins/backends/common/bk_values.h \
	plugins/backends/common/bk_schema.c \
	plugins/backends/common/bk_schema.h
plugins_backends_postgres_postgres_la_CFLAGS = $(AM_CFLAGS) $(PQ_CFLAGS)
plugins_backends_postgres_postgres_la_LDFLAGS = $(PLUGIN_LINK)
plugins_backends_postgres_postgres_la_LIBADD = $(PQ_LIBS) -lm

# tests/pg: the conformance suite against a private server, capture, crash and
# end-to-end tests. tests/pg/pg.sh starts the server; the end-to-end tests
# also use tests/e2e/e2e.sh and tests/e2e/compare.py --backend=postgres
# (distributed by tests/e2e/local.mk).
if ENABLE_TESTS
check_PROGRAMS += tests/pg/conformance_pg
# The backend conformance suite (tests/backend/conformance.c) with the
# PostgreSQL application-side hook; where the stores legitimately differ, the
# hook says how (hooks.h) and the suite checks each store's own behaviour.
tests_pg_conformance_pg_SOURCES = tests/backend/conformance.c tests/backend/hooks.h \
	tests/pg/hook_pg.c
tests_pg_conformance_pg_CFLAGS = $(unit_cflags) $(PQ_CFLAGS) -I$(top_srcdir)/tests/backend \
	-DBT_HOOK_PG
tests_pg_conformance_pg_LDADD = $(unit_libs) $(PQ_LIBS)
TESTS += tests/pg/conformance.sh
dist_check_SCRIPTS += tests/pg/conformance.sh
EXTRA_DIST += tests/pg/pg.sh
endif
if ENABLE_TESTS
TESTS += tests/pg/e2e.sh tests/pg/crash.sh
dist_check_SCRIPTS += tests/pg/e2e.sh tests/pg/crash.sh
endif
if ENABLE_TESTS
# The first copy's COPY path (pg_rows.c) against the one-statement path.
check_PROGRAMS += tests/pg/copy_pg
tests_pg_copy_pg_SOURCES = tests/pg/copy_pg.c
tests_pg_copy_pg_CFLAGS = $(unit_cflags) $(PQ_CFLAGS)
tests_pg_copy_pg_LDADD = $(unit_libs) $(PQ_LIBS)
TESTS += tests/pg/copy.sh
dist_check_SCRIPTS += tests/pg/copy.sh
endif
