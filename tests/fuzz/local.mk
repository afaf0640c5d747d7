# tests/fuzz: libFuzzer targets (built with clang by tests/fuzz/build.sh, run by
# tests/fuzz/run.sh: not part of make check). Here: each target's replay over
# its committed corpus (tests/fuzz/corpus/TARGET), built with the normal
# compiler, linking the target source with replay.c's main().
if ENABLE_TESTS
fuzz_replay_cflags = $(AM_CFLAGS) $(CURL_CFLAGS) $(JANSSON_CFLAGS)
check_PROGRAMS += tests/fuzz/replay_soql tests/fuzz/replay_page tests/fuzz/replay_conf \
	tests/fuzz/replay_loader
TESTS += tests/fuzz/replay_soql tests/fuzz/replay_page tests/fuzz/replay_conf \
	tests/fuzz/replay_loader
tests_fuzz_replay_soql_SOURCES = tests/fuzz/fuzz_soql.c tests/fuzz/replay.c tests/fuzz/fuzz.h
tests_fuzz_replay_soql_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/tests/sfemu -DFUZZ_NAME='"soql"'
tests_fuzz_replay_soql_CFLAGS = $(fuzz_replay_cflags) $(SQLITE3_CFLAGS)
tests_fuzz_replay_soql_LDADD = core/libcore.la tests/sfemu/libsoql.la $(SQLITE3_LIBS)
tests_fuzz_replay_page_SOURCES = tests/fuzz/fuzz_page.c tests/fuzz/replay.c tests/fuzz/fuzz.h
tests_fuzz_replay_page_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_NAME='"page"'
tests_fuzz_replay_page_CFLAGS = $(fuzz_replay_cflags)
tests_fuzz_replay_page_LDADD = core/libcore.la
tests_fuzz_replay_conf_SOURCES = tests/fuzz/fuzz_conf.c tests/fuzz/replay.c tests/fuzz/fuzz.h
tests_fuzz_replay_conf_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_NAME='"conf"'
tests_fuzz_replay_conf_CFLAGS = $(fuzz_replay_cflags)
tests_fuzz_replay_conf_LDADD = core/libcore.la
tests_fuzz_replay_loader_SOURCES = tests/fuzz/fuzz_loader.c tests/fuzz/replay.c tests/fuzz/fuzz.h
tests_fuzz_replay_loader_CPPFLAGS = $(AM_CPPFLAGS) -DFUZZ_NAME='"loader"'
tests_fuzz_replay_loader_CFLAGS = $(fuzz_replay_cflags)
tests_fuzz_replay_loader_LDADD = core/libcore.la -ldl
# The module the loader target fills with fuzzed descriptors (it exports a
# setter besides the descriptor, so not FIXTURE_LINK's one-symbol export list).
check_LTLIBRARIES += tests/fuzz/fuzzdesc.la
tests_fuzz_fuzzdesc_la_SOURCES = tests/fuzz/fuzzdesc.c
tests_fuzz_fuzzdesc_la_LDFLAGS = -module -avoid-version -shared -no-undefined -rpath /nowhere \
	$(SAN_LDFLAGS)
endif
EXTRA_DIST += tests/fuzz/build.sh tests/fuzz/run.sh tests/fuzz/corpus
