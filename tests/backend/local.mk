# tests/backend: the backend conformance suite. One binary for every backend:
# it loads the plugin named by CRMSYNC_TEST_BACKEND_SO (default: this build's
# sqlite.so) with the real loader and drives it through the ABI only. Each
# program built from it compiles the application-side hooks of its backends
# and names them with -DBT_HOOK_<NAME> (tests/pg builds the PostgreSQL one).
if ENABLE_TESTS
check_PROGRAMS += tests/backend/conformance
TESTS += tests/backend/conformance
tests_backend_conformance_SOURCES = tests/backend/conformance.c tests/backend/hooks.h \
	tests/backend/hook_sqlite.c
tests_backend_conformance_CFLAGS = $(unit_cflags) $(SQLITE3_CFLAGS) -DBT_HOOK_SQLITE
tests_backend_conformance_LDADD = $(unit_libs) $(SQLITE3_LIBS)
# the value helpers both stores compile in (plugins/backends/common)
check_PROGRAMS += tests/backend/test_bk_values
TESTS += tests/backend/test_bk_values
tests_backend_test_bk_values_SOURCES = tests/backend/test_bk_values.c \
	plugins/backends/common/bk_values.c plugins/backends/common/bk_values.h
tests_backend_test_bk_values_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/plugins/backends/common
tests_backend_test_bk_values_CFLAGS = $(unit_cflags)
tests_backend_test_bk_values_LDADD = $(CMOCKA_LIBS)
endif
# the SQLite store's WAL while a big pull writes (bench/backend_upsert writes)
if ENABLE_TESTS
TESTS += tests/backend/wal.sh
dist_check_SCRIPTS += tests/backend/wal.sh
endif
