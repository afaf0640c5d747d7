# core/: the host. A convenience library linked by the daemon and by the unit
# tests. The Salesforce client's files are listed in core/sf.mk.
noinst_LTLIBRARIES += core/libcore.la
core_libcore_la_SOURCES = \
	core/error.c core/error.h \
	core/log.c core/log.h \
	core/record.c core/record.h \
	core/timeutil.c core/timeutil.h \
	core/conf.c core/conf.h \
	core/host.c core/host.h \
	core/loader.c core/loader.h \
	core/engine.c core/engine.h core/engine_int.h \
	core/engine_pull.c core/engine_push.c core/report.c \
	core/sf_multi.c core/sf_multi.h \
	core/sf_token.c core/sf_token.h
core_libcore_la_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(JANSSON_CFLAGS) $(INIH_CFLAGS)
core_libcore_la_LIBADD = $(CURL_LIBS) $(JANSSON_LIBS) $(INIH_LIBS) $(LTDL_LIBS) -lm

bin_PROGRAMS += crmsync
crmsync_SOURCES = core/main.c
crmsync_LDADD = core/libcore.la

crmsyncinclude_HEADERS += include/crmsync/plugin.h

include core/sf.mk
include core/ops.mk

if ENABLE_TESTS
# The refresh token file of the refresh_token grant (core/sf_token.c).
check_PROGRAMS += tests/unit/test_sf_token
TESTS += tests/unit/test_sf_token
tests_unit_test_sf_token_SOURCES = tests/unit/test_sf_token.c tests/sf/emu.c tests/sf/emu.h
tests_unit_test_sf_token_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(CURL_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_sf_token_LDADD = core/libcore.la $(CMOCKA_LIBS) $(CURL_LIBS) $(JANSSON_LIBS)
endif
