/*
 * test_loader.c - every way a plugin can be refused has its own message with the
 * path and the expected and found values, and a refused plugin leaves nothing
 * registered. Fixtures are built from tests/fixtures/fixture.c.
 */
#include "config.h"
#include "conf.h"
#include "loader.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

static char fixdir[4096];

static void fixture_path(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s.la", fixdir, name);
}

/* Load one fixture; expect refusal with every needle in the message. */
static void expect_refused(const char *name, const char *const *needles)
{
	cs_config *cfg = cs_config_new();
	cs_error err = CS_ERROR_INIT;
	cs_loader *ld = cs_loader_new(cfg, &err);
	cs_plugin *p = NULL;
	char path[4200];

	assert_non_null(ld);
	fixture_path(path, sizeof path, name);
	assert_int_not_equal(cs_loader_load_file(ld, path, &p, &err), 0);
	assert_null(p);
	assert_null(cs_loader_plugins(ld)); /* nothing half-registered */
	assert_non_null(strstr(err.msg, path));
	for (const char *const *n = needles; *n; n++) {
		if (!strstr(err.msg, *n))
			print_error("message '%s' lacks '%s'\n", err.msg, *n);
		assert_non_null(strstr(err.msg, *n));
	}
	cs_loader_free(ld);
	cs_config_free(cfg);
}

static void test_good_plugin_loads_and_inits(void **state)
{
	(void)state;
	cs_config *cfg = cs_config_new();
	cs_error err = CS_ERROR_INIT;
	cs_loader *ld = cs_loader_new(cfg, &err);
	cs_plugin *p = NULL;
	char path[4200];

	assert_int_equal(cs_config_set(cfg, "good", "greeting", "hi there", "test", &err), 0);
	fixture_path(path, sizeof path, "good");
	assert_int_equal(cs_loader_load_file(ld, path, &p, &err), 0);
	assert_non_null(p);
	assert_string_equal(p->name, "good");
	assert_string_equal(p->desc->version, "9.8.7");
	assert_int_equal(p->kind, CRMSYNC_KIND_OBJECT);
	assert_string_equal((const char *)p->state, "hi there");
	const crmsync_object_ops *ops = cs_plugin_object(p);
	assert_int_equal(ops->unit_count(p->state), 1);
	assert_string_equal(ops->unit_at(p->state, 0)->sobject, "Widget__c");
	/* the key it read is known; nothing else in its section */
	const char *sections[] = {"good", NULL};
	assert_int_equal(cs_config_check_unread(cfg, sections, &err), 0);
	/* loading the same name again is refused */
	cs_plugin *again = NULL;
	assert_int_not_equal(cs_loader_load_file(ld, path, &again, &err), 0);
	assert_non_null(strstr(err.msg, "already loaded"));
	cs_loader_free(ld);
	cs_config_free(cfg);
}

static void test_unread_plugin_key_is_reported(void **state)
{
	(void)state;
	cs_config *cfg = cs_config_new();
	cs_error err = CS_ERROR_INIT;
	cs_loader *ld = cs_loader_new(cfg, &err);
	char path[4200];

	assert_int_equal(cs_config_override(cfg, "good.greting=typo", &err), 0);
	fixture_path(path, sizeof path, "good");
	assert_int_equal(cs_loader_load_file(ld, path, NULL, &err), 0);
	const char *sections[] = {"good", NULL};
	assert_int_not_equal(cs_config_check_unread(cfg, sections, &err), 0);
	assert_non_null(strstr(err.msg, "-o good.greting=typo"));
	assert_non_null(strstr(err.msg, "unknown key 'greting'"));
	cs_loader_free(ld);
	cs_config_free(cfg);
}

static void test_refuse_no_descriptor(void **state)
{
	(void)state;
	const char *n[] = {"no plugin descriptor", "crmsync_plugin", NULL};
	expect_refused("nodesc", n);
}

static void test_refuse_bad_magic(void **state)
{
	(void)state;
	const char *n[] = {"bad descriptor magic", "expected 0x434d5359", "found 0xdeadbeef", NULL};
	expect_refused("badmagic", n);
}

static void test_refuse_other_major(void **state)
{
	(void)state;
	const char *n[] = {"built for plugin ABI 2.0", "speaks ABI 1.0", "major", NULL};
	expect_refused("major2", n);
}

static void test_refuse_newer_minor(void **state)
{
	(void)state;
	const char *n[] = {"built for plugin ABI 1.99", "newer than", "ABI 1.0", NULL};
	expect_refused("minor99", n);
}

static void test_refuse_small_descriptor(void **state)
{
	(void)state;
	const char *n[] = {"descriptor too small", "found 8", NULL};
	expect_refused("small", n);
}

static void test_refuse_small_ops(void **state)
{
	(void)state;
	const char *n[] = {"object ops too small", "found 4", NULL};
	expect_refused("smallops", n);
}

static void test_refuse_unknown_kind(void **state)
{
	(void)state;
	const char *n[] = {"unknown plugin kind 7", "1 (object) or 2 (backend)", NULL};
	expect_refused("badkind", n);
}

static void test_refuse_name_not_stem(void **state)
{
	(void)state;
	const char *n[] = {"calls itself 'other'", "named 'wrongname'", NULL};
	expect_refused("wrongname", n);
}

static void test_refuse_init_failure(void **state)
{
	(void)state;
	const char *n[] = {"failed to initialise", "the widget API key is missing", NULL};
	expect_refused("initfail", n);
}

static void test_refuse_not_shared_object(void **state)
{
	(void)state;
	char dir[] = "/tmp/crmsync-loader-XXXXXX", path[4200];
	cs_config *cfg = cs_config_new();
	cs_error err = CS_ERROR_INIT;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/notso.so", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("this is not an ELF file\n", f);
	fclose(f);
	cs_loader *ld = cs_loader_new(cfg, &err);
	assert_int_not_equal(cs_loader_load_file(ld, path, NULL, &err), 0);
	assert_non_null(strstr(err.msg, "not a loadable shared object"));
	assert_non_null(strstr(err.msg, path));
	cs_loader_free(ld);
	cs_config_free(cfg);
	unlink(path);
	rmdir(dir);
}

/* The search path is plugin_path, then CRMSYNC_PLUGIN_PATH, then the installed
 * directory; an earlier directory shadows a later one; each refused file is
 * listed with its reason; LD_LIBRARY_PATH plays no part. */
static void test_search_path_order_and_rejects(void **state)
{
	(void)state;
	cs_config *cfg = cs_config_new();
	cs_error err = CS_ERROR_INIT;
	char shadow[4200], envpath[4200];

	snprintf(shadow, sizeof shadow, "%s/shadow", fixdir);
	assert_int_equal(cs_config_set(cfg, "crmsync", "plugin_path", shadow, "test", &err), 0);
	snprintf(envpath, sizeof envpath, "%s", fixdir);
	setenv("CRMSYNC_PLUGIN_PATH", envpath, 1);
	cs_loader *ld = cs_loader_new(cfg, &err);
	const char *const *dirs = cs_loader_path(ld);
	assert_string_equal(dirs[0], shadow);
	assert_string_equal(dirs[1], fixdir);
	assert_string_equal(dirs[2], CRMSYNC_PLUGIN_DIR);
	assert_null(dirs[3]);
	assert_int_equal(cs_loader_load_all(ld, &err), 0);
	/* exactly one plugin: good, from the shadow directory */
	cs_plugin *p = cs_loader_plugins(ld);
	assert_non_null(p);
	assert_string_equal(p->name, "good");
	assert_non_null(strstr(p->path, "/shadow/good.la"));
	assert_null(p->next);
	int nrej = 0, shadowed = 0;
	for (cs_plugin_reject *r = cs_loader_rejects(ld); r; r = r->next) {
		nrej++;
		if (strstr(r->reason, "shadowed by"))
			shadowed++;
	}
	assert_int_equal(shadowed, 1);
	assert_int_equal(nrej, 10); /* shadowed good + the nine bad fixtures */
	cs_loader_free(ld);
	cs_config_free(cfg);

	/* LD_LIBRARY_PATH is not a plugin directory */
	unsetenv("CRMSYNC_PLUGIN_PATH");
	setenv("LD_LIBRARY_PATH", fixdir, 1);
	cfg = cs_config_new();
	ld = cs_loader_new(cfg, &err);
	cs_plugin *found = NULL;
	assert_int_equal(cs_loader_load_name(ld, "good", CRMSYNC_KIND_OBJECT, &found, &err),
			 CRMSYNC_ENOENT);
	assert_non_null(strstr(err.msg, "no object plugin named 'good'"));
	cs_loader_free(ld);
	cs_config_free(cfg);
	unsetenv("LD_LIBRARY_PATH");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_plugin_loads_and_inits),
		cmocka_unit_test(test_unread_plugin_key_is_reported),
		cmocka_unit_test(test_refuse_no_descriptor),
		cmocka_unit_test(test_refuse_bad_magic),
		cmocka_unit_test(test_refuse_other_major),
		cmocka_unit_test(test_refuse_newer_minor),
		cmocka_unit_test(test_refuse_small_descriptor),
		cmocka_unit_test(test_refuse_small_ops),
		cmocka_unit_test(test_refuse_unknown_kind),
		cmocka_unit_test(test_refuse_name_not_stem),
		cmocka_unit_test(test_refuse_init_failure),
		cmocka_unit_test(test_refuse_not_shared_object),
		cmocka_unit_test(test_search_path_order_and_rejects),
	};
	const char *b = getenv("top_builddir");
	snprintf(fixdir, sizeof fixdir, "%s/tests/fixtures", b ? b : ".");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
