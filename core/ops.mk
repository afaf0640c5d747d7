# core/ops.mk: the operator's side of crmsync (issue 11): the snapshot the
# engine publishes after each cycle, the metrics listener (libmicrohttpd),
# alerts, crmsync backlog; the man pages, the systemd unit, the example config;
# and their tests. Included at the end of core/local.mk.
core_libcore_la_SOURCES += \
	core/ops_run.c core/ops_run.h \
	core/metrics.c core/metrics.h \
	core/alerts.c core/alerts.h \
	core/backlog.c
core_libcore_la_CFLAGS += $(MHD_CFLAGS)
core_libcore_la_LIBADD += $(MHD_LIBS) -lpthread

# Manuals, the service unit and an example configuration.
dist_man_MANS = docs/man/crmsync.1 docs/man/crmsync.conf.5 docs/man/crmsync-plugin.7
dist_doc_DATA += dist/crmsync.conf.example
# The unit names the installed binary and config: made from the .in at build time.
if HAVE_SYSTEMD_UNITDIR
systemdsystemunit_DATA = dist/systemd/crmsync.service
endif
dist/systemd/crmsync.service: $(top_srcdir)/dist/systemd/crmsync.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) dist/systemd && \
	sed -e 's|@bindir[@]|$(bindir)|g' -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
		-e 's|@docdir[@]|$(docdir)|g' $(top_srcdir)/dist/systemd/crmsync.service.in >$@.tmp && \
	mv $@.tmp $@
CLEANFILES += dist/systemd/crmsync.service
EXTRA_DIST += dist/systemd/crmsync.service.in
all-local: dist/systemd/crmsync.service

if ENABLE_TESTS
TESTS += tests/ops/docs.sh tests/ops/metrics.sh tests/ops/alerts.sh tests/ops/backlog.sh
dist_check_SCRIPTS += tests/ops/docs.sh tests/ops/metrics.sh tests/ops/alerts.sh \
	tests/ops/backlog.sh
check_PROGRAMS += tests/ops/test_ops
TESTS += tests/ops/test_ops
tests_ops_test_ops_SOURCES = tests/ops/test_ops.c
tests_ops_test_ops_CFLAGS = $(unit_cflags)
tests_ops_test_ops_LDADD = $(unit_libs)
endif
EXTRA_DIST += tests/ops/ops.sh tests/ops/alert-recorder
