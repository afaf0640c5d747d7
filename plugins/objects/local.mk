# plugins/objects: the eight object plugins of the reference sync, one module
# each. objcommon.c (standard config keys, filters, helpers) is compiled into
# every plugin: a plugin links nothing but libc and uses only the host table.
objc_common = plugins/objects/objcommon.c plugins/objects/objcommon.h
plugin_LTLIBRARIES += plugins/objects/lead.la
plugins_objects_lead_la_SOURCES = plugins/objects/lead.c $(objc_common)
plugins_objects_lead_la_CFLAGS = $(AM_CFLAGS)
plugins_objects_lead_la_LDFLAGS = $(PLUGIN_LINK)
plugin_LTLIBRARIES += plugins/objects/contact.la
plugins_objects_contact_la_SOURCES = plugins/objects/contact.c $(objc_common)
plugins_objects_contact_la_CFLAGS = $(AM_CFLAGS)
plugins_objects_contact_la_LDFLAGS = $(PLUGIN_LINK)
plugin_LTLIBRARIES += plugins/objects/account.la
plugins_objects_account_la_SOURCES = plugins/objects/account.c $(objc_common)
plugins_objects_account_la_CFLAGS = $(AM_CFLAGS)
plugins_objects_account_la_LDFLAGS = $(PLUGIN_LINK)
plugin_LTLIBRARIES += plugins/objects/user.la
plugins_objects_user_la_SOURCES = plugins/objects/user.c $(objc_common)
plugins_objects_user_la_CFLAGS = $(AM_CFLAGS)
plugins_objects_user_la_LDFLAGS = $(PLUGIN_LINK)
plugin_LTLIBRARIES += plugins/objects/opportunity.la
plugins_objects_opportunity_la_SOURCES = plugins/objects/opportunity.c $(objc_common)
plugins_objects_opportunity_la_CFLAGS = $(AM_CFLAGS)
plugins_objects_opportunity_la_LDFLAGS = $(PLUGIN_LINK)
plugin_LTLIBRARIES += plugins/objects/campaign.la
plugins_objects_campaign_la_SOURCES = plugins/objects/campaign.c $(objc_common)
plugins_objects_campaign_la_CFLAGS = $(AM_CFLAGS)
plugins_objects_campaign_la_LDFLAGS = $(PLUGIN_LINK)
plugin_LTLIBRARIES += plugins/objects/activity.la
plugins_objects_activity_la_SOURCES = plugins/objects/activity.c $(objc_common)
plugins_objects_activity_la_CFLAGS = $(AM_CFLAGS)
plugins_objects_activity_la_LDFLAGS = $(PLUGIN_LINK)
plugin_LTLIBRARIES += plugins/objects/custom.la
plugins_objects_custom_la_SOURCES = plugins/objects/custom.c $(objc_common)
plugins_objects_custom_la_CFLAGS = $(AM_CFLAGS)
plugins_objects_custom_la_LDFLAGS = $(PLUGIN_LINK)

# Tests: the plugins loaded through the real loader (cmocka, under valgrind),
# the out-of-tree example built as a test module, `crmsync plugins`, and
# every plugin rule end to end against sfemu.
if ENABLE_TESTS
check_LTLIBRARIES += tests/thirdparty/invoice.la
tests_thirdparty_invoice_la_SOURCES = tests/thirdparty/invoice.c
tests_thirdparty_invoice_la_CFLAGS = $(AM_CFLAGS)
tests_thirdparty_invoice_la_LDFLAGS = $(FIXTURE_LINK)

check_PROGRAMS += tests/objects/test_objects
TESTS += tests/objects/test_objects
tests_objects_test_objects_SOURCES = tests/objects/test_objects.c
tests_objects_test_objects_CFLAGS = $(unit_cflags)
tests_objects_test_objects_LDADD = $(unit_libs)

TESTS += tests/objects/plugins.sh tests/objects/e2e.sh
dist_check_SCRIPTS += tests/objects/plugins.sh tests/objects/e2e.sh
endif
EXTRA_DIST += tests/thirdparty/invoice.c docs/PLUGINS.md
dist_doc_DATA += docs/PLUGINS.md
