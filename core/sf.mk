# core/sf_*: the Salesforce REST client (appended to core/libcore.la)
core_libcore_la_SOURCES += \
	core/sf.h core/sf_internal.h \
	core/sf_http.c core/sf_auth.c core/sf_soql.c core/sf_query.c core/sf_page.c \
	core/sf_describe.c core/sf_write.c core/sf_composite.c
# libcrypto signs the assertion of the JWT bearer grant (sf_auth.c)
core_libcore_la_CFLAGS += $(CRYPTO_CFLAGS)
core_libcore_la_LIBADD += $(CRYPTO_LIBS)

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

if ENABLE_TESTS
# The client against tests/sfemu (started by the test on a free port).
check_PROGRAMS += tests/unit/test_sf_emu tests/unit/test_sf_tls
TESTS += tests/unit/test_sf_emu tests/unit/test_sf_tls
dist_check_SCRIPTS += tests/sf/make-ca.sh
tests_unit_test_sf_emu_SOURCES = tests/unit/test_sf_emu.c tests/sf/emu.c tests/sf/emu.h
tests_unit_test_sf_emu_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(CURL_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_sf_emu_LDADD = core/libcore.la $(CMOCKA_LIBS) $(CURL_LIBS) $(JANSSON_LIBS)
tests_unit_test_sf_tls_SOURCES = tests/unit/test_sf_tls.c tests/sf/emu.c tests/sf/emu.h
tests_unit_test_sf_tls_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(CURL_CFLAGS)
tests_unit_test_sf_tls_LDADD = core/libcore.la $(CMOCKA_LIBS) $(CURL_LIBS)
# Retry-After on 503/429, against a scripted HTTP server in the test (the
# emulator's faults send no headers).
check_PROGRAMS += tests/unit/test_sf_retry
TESTS += tests/unit/test_sf_retry
tests_unit_test_sf_retry_SOURCES = tests/unit/test_sf_retry.c
tests_unit_test_sf_retry_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_sf_retry_LDADD = core/libcore.la $(CMOCKA_LIBS) -lpthread
# The JWT bearer grant (keys made by the openssl CLI at test time).
check_PROGRAMS += tests/unit/test_sf_jwt
TESTS += tests/unit/test_sf_jwt
tests_unit_test_sf_jwt_SOURCES = tests/unit/test_sf_jwt.c tests/sf/emu.c tests/sf/emu.h
tests_unit_test_sf_jwt_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(CURL_CFLAGS) $(JANSSON_CFLAGS)
tests_unit_test_sf_jwt_LDADD = core/libcore.la $(CMOCKA_LIBS) $(CURL_LIBS) $(JANSSON_LIBS)
endif
