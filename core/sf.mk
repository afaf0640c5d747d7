# core/sf_*: the Salesforce REST client (appended to core/libcore.la)
core_libcore_la_SOURCES += \
	core/sf.h core/sf_internal.h \
	core/sf_http.c core/sf_auth.c core/sf_soql.c core/sf_query.c \
	core/sf_describe.c core/sf_write.c core/sf_composite.c

if ENABLE_TESTS
# Unit tests of the client's pieces that need no server.
check_PROGRAMS += tests/unit/test_sf_soql tests/unit/test_sf_parts
TESTS += tests/unit/test_sf_soql tests/unit/test_sf_parts
tests_unit_test_sf_soql_SOURCES = tests/unit/test_sf_soql.c
tests_unit_test_sf_soql_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_sf_soql_LDADD = core/libcore.la $(CMOCKA_LIBS)
tests_unit_test_sf_parts_SOURCES = tests/unit/test_sf_parts.c
tests_unit_test_sf_parts_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(CURL_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_sf_parts_LDADD = core/libcore.la $(CMOCKA_LIBS) $(JANSSON_LIBS)
endif
