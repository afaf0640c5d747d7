/*
 * test_config.c - every malformed config line is reported with its file:line (or
 * its -o argument), the key, and what was expected; secrets never appear in a
 * message; environment variables stand in for secrets.
 */
#include "config.h"
#include "conf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

static char conf_path[64];

static int write_conf(const char *text)
{
	strcpy(conf_path, "/tmp/crmsync-conf-XXXXXX");
	int fd = mkstemp(conf_path);
	if (fd < 0)
		return -1;
	FILE *f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	return 0;
}

/* Load text; expect failure whose message contains path:line and the needle. */
static void expect_error(const char *text, int line, const char *needle)
{
	cs_config *cfg = cs_config_new();
	cs_error err = CS_ERROR_INIT;
	char where[128];

	assert_int_equal(write_conf(text), 0);
	assert_int_not_equal(cs_config_load_file(cfg, conf_path, &err), 0);
	snprintf(where, sizeof where, "%s:%d:", conf_path, line);
	if (!strstr(err.msg, where) || !strstr(err.msg, needle))
		print_error("message '%s' lacks '%s' or '%s'\n", err.msg, where, needle);
	assert_non_null(strstr(err.msg, where));
	assert_non_null(strstr(err.msg, needle));
	unlink(conf_path);
	cs_config_free(cfg);
}

static void test_misspelt_key(void **state)
{
	(void)state;
	expect_error("[salesforce]\nlogin_url = http://127.0.0.1:1\nusernme = a\n", 3,
		     "unknown key 'usernme' in section [salesforce] (did you mean 'username'?)");
}

static void test_key_outside_section(void **state)
{
	(void)state;
	expect_error("# comment\nlevel = debug\n", 2, "outside any section");
}

static void test_garbage_line(void **state)
{
	(void)state;
	expect_error("[log]\nlevel = info\nthis is not a setting\n", 3, "not a config line");
}

static void test_duplicate_key(void **state)
{
	(void)state;
	expect_error("[log]\nlevel = info\n\n[log]\nlevel = debug\n", 5, "set twice (first at");
}

static void test_bad_section_name(void **state)
{
	(void)state;
	expect_error("[sal es]\nx = 1\n", 2, "bad section or key name");
}

static void test_overlong_line(void **state)
{
	(void)state;
	char text[600];
	snprintf(text, sizeof text, "[sync]\nunits = %0300d\n", 0);
	expect_error(text, 2, "line longer than");
}

static void test_unknown_section_after_plugins(void **state)
{
	(void)state;
	cs_config *cfg = cs_config_new();
	cs_error err = CS_ERROR_INIT;
	char where[128];

	assert_int_equal(write_conf("[log]\nlevel = info\n[salesfroce]\nusername = x\n"), 0);
	assert_int_equal(cs_config_load_file(cfg, conf_path, &err), 0);
	const char *plugins[] = {"lead", NULL};
	assert_int_not_equal(cs_config_check_unread(cfg, plugins, &err), 0);
	snprintf(where, sizeof where, "%s:4:", conf_path);
	assert_non_null(strstr(err.msg, where));
	assert_non_null(strstr(err.msg, "unknown section [salesfroce]"));
	unlink(conf_path);
	cs_config_free(cfg);
}

static void test_bad_values_name_place_and_expectation(void **state)
{
	(void)state;
	cs_config *cfg = cs_config_new();
	cs_error err = CS_ERROR_INIT;
	char where[128];
	int64_t ms, n;
	bool b;

	assert_int_equal(write_conf("[sync]\ninterval = 5x\npage_size = 99999\npush_deletes = maybe\n"), 0);
	assert_int_equal(cs_config_load_file(cfg, conf_path, &err), 0);
	assert_int_not_equal(cs_config_duration(cfg, "sync", "interval", 300000, 1000, &ms, &err), 0);
	snprintf(where, sizeof where, "%s:2: sync.interval = '5x': expected a duration", conf_path);
	assert_non_null(strstr(err.msg, where));
	assert_int_not_equal(cs_config_int(cfg, "sync", "page_size", 2000, 200, 2000, &n, &err), 0);
	assert_non_null(strstr(err.msg, ":3: sync.page_size = '99999': expected a whole number from 200 to 2000"));
	assert_int_not_equal(cs_config_bool(cfg, "sync", "push_deletes", false, &b, &err), 0);
	assert_non_null(strstr(err.msg, ":4: sync.push_deletes = 'maybe': expected yes or no"));
	unlink(conf_path);
	cs_config_free(cfg);
}

static void test_comments_quotes_continuations(void **state)
{
	(void)state;
	cs_config *cfg = cs_config_new();
	cs_error err = CS_ERROR_INIT;

	assert_int_equal(write_conf("; header\n[salesforce]\nlogin_url = https://login.salesforce.com   # inline\n"
				    "username = \"a#b@example.com\"\n[sync]\nunits = lead, contact,\n   account\n"),
			 0);
	assert_int_equal(cs_config_load_file(cfg, conf_path, &err), 0);
	assert_string_equal(cs_config_get(cfg, "salesforce", "login_url"), "https://login.salesforce.com");
	assert_string_equal(cs_config_get(cfg, "salesforce", "username"), "a#b@example.com");
	char **units = cs_config_list(cfg, "sync", "units");
	assert_string_equal(units[0], "lead");
	assert_string_equal(units[1], "contact");
	assert_string_equal(units[2], "account");
	assert_null(units[3]);
	cs_strv_free(units);
	unlink(conf_path);
	cs_config_free(cfg);
}

static void test_overrides(void **state)
{
	(void)state;
	cs_config *cfg = cs_config_new();
	cs_error err = CS_ERROR_INIT;

	assert_int_equal(write_conf("[log]\nlevel = info\n"), 0);
	assert_int_equal(cs_config_load_file(cfg, conf_path, &err), 0);
	assert_int_equal(cs_config_override(cfg, "log.level=debug", &err), 0);
	assert_string_equal(cs_config_get(cfg, "log", "level"), "debug");
	assert_string_equal(cs_config_where(cfg, "log", "level"), "-o log.level=debug");
	assert_int_equal(cs_config_override(cfg, "sync.interval=1s", &err), 0); /* no file entry */
	assert_int_not_equal(cs_config_override(cfg, "loglevel=debug", &err), 0);
	assert_non_null(strstr(err.msg, "-o 'loglevel=debug': expected section.key=value"));
	assert_int_not_equal(cs_config_override(cfg, "log.levle=debug", &err), 0);
	assert_non_null(strstr(err.msg, "-o log.levle=debug: unknown key 'levle'"));
	unlink(conf_path);
	cs_config_free(cfg);
}

static void test_secrets_from_env_and_never_echoed(void **state)
{
	(void)state;
	cs_config *cfg = cs_config_new();
	cs_error err = CS_ERROR_INIT;
	bool b;

	setenv("CRMSYNC_SF_PASSWORD", "env-pass-123", 1);
	assert_string_equal(cs_config_get(cfg, "salesforce", "password"), "env-pass-123");
	assert_string_equal(cs_config_where(cfg, "salesforce", "password"), "CRMSYNC_SF_PASSWORD");
	assert_int_equal(cs_config_override(cfg, "salesforce.password=s3cr3t-value", &err), 0);
	assert_string_equal(cs_config_get(cfg, "salesforce", "password"), "s3cr3t-value");
	assert_null(strstr(cs_config_where(cfg, "salesforce", "password"), "s3cr3t"));
	/* a complaint about a secret shows neither its value nor the -o text */
	assert_int_not_equal(cs_config_bool(cfg, "salesforce", "password", false, &b, &err), 0);
	assert_null(strstr(err.msg, "s3cr3t"));
	assert_non_null(strstr(err.msg, "(hidden)"));
	unsetenv("CRMSYNC_SF_PASSWORD");
	cs_config_free(cfg);
}

static void test_sample_config_loads_cleanly(void **state)
{
	(void)state;
	char dir[] = "/tmp/crmsync-sample-XXXXXX", path[128];
	cs_config *cfg = cs_config_new();
	cs_error err = CS_ERROR_INIT;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/crmsync.conf", dir);
	assert_int_equal(cs_config_write_sample(path, false, &err), 0);
	assert_int_not_equal(cs_config_write_sample(path, false, &err), 0); /* never clobbers */
	assert_non_null(strstr(err.msg, "already exists"));
	assert_int_equal(cs_config_load_file(cfg, path, &err), 0);
	assert_string_equal(cs_config_get(cfg, "storage", "backend"), "sqlite");
	assert_string_equal(cs_config_get(cfg, "salesforce", "api_budget"), "50%");
	unlink(path);
	rmdir(dir);
	cs_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_misspelt_key),
		cmocka_unit_test(test_key_outside_section),
		cmocka_unit_test(test_garbage_line),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_bad_section_name),
		cmocka_unit_test(test_overlong_line),
		cmocka_unit_test(test_unknown_section_after_plugins),
		cmocka_unit_test(test_bad_values_name_place_and_expectation),
		cmocka_unit_test(test_comments_quotes_continuations),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_secrets_from_env_and_never_echoed),
		cmocka_unit_test(test_sample_config_loads_cleanly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
