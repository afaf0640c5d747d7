# tests/sfemu: the Salesforce REST API emulator (owned by the emulator work).
# The SOQL compiler's rules live in tests/sfemu/soql.mk.
include tests/sfemu/soql.mk

if ENABLE_TESTS
# sfemu is built by plain `make` so the demo and the benchmarks can use it.
noinst_PROGRAMS += tests/sfemu/sfemu
tests_sfemu_sfemu_SOURCES = tests/sfemu/main.c tests/sfemu/sfemu.h tests/sfemu/util.c \
	tests/sfemu/schema.c tests/sfemu/schema_default.c tests/sfemu/store.c \
	tests/sfemu/oauth.c tests/sfemu/api.c tests/sfemu/query.c tests/sfemu/control.c \
	tests/sfemu/seed.c
tests_sfemu_sfemu_CFLAGS = $(AM_CFLAGS) $(MHD_CFLAGS) $(JANSSON_CFLAGS) $(SQLITE3_CFLAGS) \
	-pthread
tests_sfemu_sfemu_LDADD = tests/sfemu/libsoql.la $(MHD_LIBS) $(JANSSON_LIBS) \
	$(SQLITE3_LIBS) -lcrypto -lpthread
endif
EXTRA_DIST += tests/sfemu/emu.sh tests/sfemu/README.md

# Tests: shell + curl (emu.sh) and a Python driver for the JSON checks. sfemu is
# started directly (not under valgrind); ASan builds check leaks at its exit.
if ENABLE_TESTS
TESTS += tests/sfemu/test_api.sh tests/sfemu/test_cli.sh
dist_check_SCRIPTS += tests/sfemu/test_api.sh tests/sfemu/test_cli.sh
endif
EXTRA_DIST += tests/sfemu/test_api.py tests/sfemu/bench_query.c
