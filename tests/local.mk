# tests/: unit tests (cmocka, TAP output), integration tests (shell, TAP).
EXTRA_DIST += tests/valgrind.supp
if ENABLE_TESTS
unit_cflags = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
unit_libs = core/libcore.la $(CMOCKA_LIBS)
endif
include tests/backend/local.mk
