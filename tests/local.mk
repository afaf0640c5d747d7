# tests/: unit tests (cmocka, TAP output), integration tests (shell, TAP).
EXTRA_DIST += tests/valgrind.supp
if ENABLE_TESTS
unit_cflags = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
unit_libs = core/libcore.la $(CMOCKA_LIBS)
endif
include tests/backend/local.mk

# Fixture plugins for the loader tests: one module per way loading can go.
# (deliberately odd descriptors: designated initialisers overridden, code unused)
fixture_warn = -Wno-override-init -Wno-unused-function -Wno-unused-const-variable
if ENABLE_TESTS
check_LTLIBRARIES += tests/fixtures/good.la
tests_fixtures_good_la_SOURCES = tests/fixtures/fixture.c
tests_fixtures_good_la_CFLAGS = $(AM_CFLAGS) $(fixture_warn) 
tests_fixtures_good_la_LDFLAGS = $(FIXTURE_LINK)
check_LTLIBRARIES += tests/fixtures/shadow/good.la
tests_fixtures_shadow_good_la_SOURCES = tests/fixtures/fixture.c
tests_fixtures_shadow_good_la_CFLAGS = $(AM_CFLAGS) $(fixture_warn) 
tests_fixtures_shadow_good_la_LDFLAGS = $(FIXTURE_LINK)
check_LTLIBRARIES += tests/fixtures/nodesc.la
tests_fixtures_nodesc_la_SOURCES = tests/fixtures/fixture.c
tests_fixtures_nodesc_la_CFLAGS = $(AM_CFLAGS) $(fixture_warn) -DFIX_NODESC -DFIX_NAME=\"nodesc\"
tests_fixtures_nodesc_la_LDFLAGS = -module -avoid-version -shared -no-undefined -rpath /nowhere $(SAN_LDFLAGS)
check_LTLIBRARIES += tests/fixtures/badmagic.la
tests_fixtures_badmagic_la_SOURCES = tests/fixtures/fixture.c
tests_fixtures_badmagic_la_CFLAGS = $(AM_CFLAGS) $(fixture_warn) -DFIX_BADMAGIC -DFIX_NAME=\"badmagic\"
tests_fixtures_badmagic_la_LDFLAGS = $(FIXTURE_LINK)
check_LTLIBRARIES += tests/fixtures/major2.la
tests_fixtures_major2_la_SOURCES = tests/fixtures/fixture.c
tests_fixtures_major2_la_CFLAGS = $(AM_CFLAGS) $(fixture_warn) -DFIX_MAJOR=2 -DFIX_NAME=\"major2\"
tests_fixtures_major2_la_LDFLAGS = $(FIXTURE_LINK)
check_LTLIBRARIES += tests/fixtures/minor99.la
tests_fixtures_minor99_la_SOURCES = tests/fixtures/fixture.c
tests_fixtures_minor99_la_CFLAGS = $(AM_CFLAGS) $(fixture_warn) -DFIX_MINOR=99 -DFIX_NAME=\"minor99\"
tests_fixtures_minor99_la_LDFLAGS = $(FIXTURE_LINK)
check_LTLIBRARIES += tests/fixtures/small.la
tests_fixtures_small_la_SOURCES = tests/fixtures/fixture.c
tests_fixtures_small_la_CFLAGS = $(AM_CFLAGS) $(fixture_warn) -DFIX_SMALL -DFIX_NAME=\"small\"
tests_fixtures_small_la_LDFLAGS = $(FIXTURE_LINK)
check_LTLIBRARIES += tests/fixtures/badkind.la
tests_fixtures_badkind_la_SOURCES = tests/fixtures/fixture.c
tests_fixtures_badkind_la_CFLAGS = $(AM_CFLAGS) $(fixture_warn) -DFIX_KIND=7 -DFIX_NAME=\"badkind\"
tests_fixtures_badkind_la_LDFLAGS = $(FIXTURE_LINK)
check_LTLIBRARIES += tests/fixtures/wrongname.la
tests_fixtures_wrongname_la_SOURCES = tests/fixtures/fixture.c
tests_fixtures_wrongname_la_CFLAGS = $(AM_CFLAGS) $(fixture_warn) -DFIX_NAME=\"other\"
tests_fixtures_wrongname_la_LDFLAGS = $(FIXTURE_LINK)
check_LTLIBRARIES += tests/fixtures/initfail.la
tests_fixtures_initfail_la_SOURCES = tests/fixtures/fixture.c
tests_fixtures_initfail_la_CFLAGS = $(AM_CFLAGS) $(fixture_warn) -DFIX_INITFAIL -DFIX_NAME=\"initfail\"
tests_fixtures_initfail_la_LDFLAGS = $(FIXTURE_LINK)
check_LTLIBRARIES += tests/fixtures/smallops.la
tests_fixtures_smallops_la_SOURCES = tests/fixtures/fixture.c
tests_fixtures_smallops_la_CFLAGS = $(AM_CFLAGS) $(fixture_warn) -DFIX_SMALLOPS -DFIX_NAME=\"smallops\"
tests_fixtures_smallops_la_LDFLAGS = $(FIXTURE_LINK)

check_PROGRAMS += tests/unit/test_abi
TESTS += tests/unit/test_abi
tests_unit_test_abi_SOURCES = tests/unit/test_abi.c
tests_unit_test_abi_CFLAGS = $(unit_cflags)
tests_unit_test_abi_LDADD = $(unit_libs)
check_PROGRAMS += tests/unit/test_loader
TESTS += tests/unit/test_loader
tests_unit_test_loader_SOURCES = tests/unit/test_loader.c
tests_unit_test_loader_CFLAGS = $(unit_cflags)
tests_unit_test_loader_LDADD = $(unit_libs)
check_PROGRAMS += tests/unit/test_config
TESTS += tests/unit/test_config
tests_unit_test_config_SOURCES = tests/unit/test_config.c
tests_unit_test_config_CFLAGS = $(unit_cflags)
tests_unit_test_config_LDADD = $(unit_libs)
check_PROGRAMS += tests/unit/test_record
TESTS += tests/unit/test_record
tests_unit_test_record_SOURCES = tests/unit/test_record.c
tests_unit_test_record_CFLAGS = $(unit_cflags)
tests_unit_test_record_LDADD = $(unit_libs)
endif
EXTRA_DIST += tests/unit/abi-pins.py tests/fixtures/fixture.c

if ENABLE_TESTS
TESTS += tests/cli.sh
dist_check_SCRIPTS += tests/cli.sh
endif
EXTRA_DIST += tests/lib.sh

if ENABLE_TESTS
TESTS += tests/install.sh
dist_check_SCRIPTS += tests/install.sh
endif
EXTRA_DIST += tests/thirdparty/greeter.c
include tests/e2e/local.mk
include tests/fuzz/local.mk
include tests/hostile/local.mk
include tests/faults/local.mk
EXTRA_DIST += tests/RELIABILITY.md
