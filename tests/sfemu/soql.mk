# tests/sfemu/soql.*: SOQL parser and compiler to SQLite SQL
if ENABLE_TESTS
noinst_LTLIBRARIES += tests/sfemu/libsoql.la
tests_sfemu_libsoql_la_SOURCES = tests/sfemu/soql.c tests/sfemu/soql.h
tests_sfemu_libsoql_la_CFLAGS = $(AM_CFLAGS) $(SQLITE3_CFLAGS)

check_PROGRAMS += tests/sfemu/test_soql
TESTS += tests/sfemu/test_soql
tests_sfemu_test_soql_SOURCES = tests/sfemu/test_soql.c
tests_sfemu_test_soql_CFLAGS = $(AM_CFLAGS) $(SQLITE3_CFLAGS) $(CMOCKA_CFLAGS)
tests_sfemu_test_soql_LDADD = tests/sfemu/libsoql.la $(SQLITE3_LIBS) $(CMOCKA_LIBS)
endif
