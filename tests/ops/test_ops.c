/*
 * test_ops.c - the operator's side without a network: the /metrics text a
 * snapshot renders to, the /healthz verdict at the edges of the age, and the
 * alert command (its JSON on stdin, escaping, the repeat interval, a failing
 * or missing command, the config checks).
 */
#include "config.h"
#include "alerts.h"
#include "conf.h"
#include "metrics.h"
#include "ops_run.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

static cs_ops_snapshot *two_units(void)
{
	cs_ops_snapshot *s = calloc(1, sizeof *s);
	s->process_started_ms = 1000000;
	s->cycles = 3;
	s->cycle = 42;
	s->cycle_started_ms = 2000000;
	s->cycle_ended_ms = 2001500;
	s->api_calls_total = 17;
	s->errors_total = 4;
	s->cycle_errors = 1;
	s->api_used = s->api_max = s->api_budget = -1;
	s->last_success_ms = 2001500;
	s->nunits = 2;
	snprintf(s->units[0].name, sizeof s->units[0].name, "lead");
	s->units[0].direction = CRMSYNC_BOTH;
	s->units[0].pulled[CS_OPS_NEW] = 40;
	s->units[0].pushed[CS_OPS_FAILED] = 3;
	s->units[0].pending = 5;
	s->units[0].push_failed_rows = 3;
	snprintf(s->units[1].name, sizeof s->units[1].name, "we\"ird");
	s->units[1].direction = CRMSYNC_PULL;
	s->units[1].pending = -1;
	s->units[1].push_failed_rows = -1;
	s->units[1].failed = true;
	return s;
}

static void test_render(void **state)
{
	(void)state;
	cs_ops_snapshot *s = two_units();
	size_t len = 0;
	char *t = cs_metrics_render(s, &len);

	assert_non_null(t);
	assert_int_equal(len, strlen(t));
	assert_non_null(strstr(t, "# TYPE crmsync_records_total counter\n"));
	assert_non_null(strstr(
	    t, "\ncrmsync_records_total{unit=\"lead\",direction=\"pull\",outcome=\"new\"} 40\n"));
	assert_non_null(strstr(
	    t, "\ncrmsync_records_total{unit=\"lead\",direction=\"push\",outcome=\"failed\"} 3\n"));
	/* a pull-only unit has no push series; its label is escaped */
	assert_non_null(strstr(
	    t, "crmsync_records_total{unit=\"we\\\"ird\",direction=\"pull\",outcome=\"new\"} 0\n"));
	assert_null(strstr(t, "unit=\"we\\\"ird\",direction=\"push\""));
	assert_non_null(strstr(t, "\ncrmsync_backlog_pending{unit=\"lead\"} 5\n"));
	assert_null(strstr(t, "crmsync_backlog_pending{unit=\"we")); /* unknown: left out */
	assert_non_null(strstr(t, "\ncrmsync_unit_failed{unit=\"we\\\"ird\"} 1\n"));
	assert_non_null(strstr(t, "\ncrmsync_api_calls_total 17\n"));
	assert_non_null(strstr(t, "\ncrmsync_errors_total 4\n"));
	assert_non_null(strstr(t, "\ncrmsync_last_cycle_duration_seconds 1.500\n"));
	assert_non_null(strstr(t, "\ncrmsync_last_success_timestamp_seconds 2001.500\n"));
	assert_null(strstr(t, "crmsync_api_daily_max")); /* not reported yet */
	free(t);

	s->api_used = 250;
	s->api_max = 1000;
	s->api_budget = 500;
	t = cs_metrics_render(s, &len);
	assert_non_null(strstr(t, "\ncrmsync_api_daily_max 1000\n"));
	assert_non_null(strstr(t, "\ncrmsync_api_budget_used_ratio 0.5000\n"));
	free(t);
	free(s);
}

static void test_healthy(void **state)
{
	(void)state;
	cs_ops_snapshot *s = two_units();
	char msg[512];

	/* last success 2001500, age limit 60 s */
	assert_int_equal(cs_metrics_healthy(s, 2001500 + 60000, 60000, msg, sizeof msg), 1);
	assert_non_null(strstr(msg, "ok: last successful cycle"));
	assert_int_equal(cs_metrics_healthy(s, 2001500 + 60001, 60000, msg, sizeof msg), 0);
	assert_non_null(strstr(msg, "stale: no successful cycle for 60s (limit 60s)"));
	/* never a success: the process start is the baseline */
	s->last_success_ms = 0;
	assert_int_equal(cs_metrics_healthy(s, 1000000 + 30000, 60000, msg, sizeof msg), 1);
	assert_int_equal(cs_metrics_healthy(s, 1000000 + 90000, 60000, msg, sizeof msg), 0);
	assert_non_null(strstr(msg, "last successful cycle never"));
	/* a success from before this process started does not hide a young start */
	s->last_success_ms = 500000;
	assert_int_equal(cs_metrics_healthy(s, 1000000 + 30000, 60000, msg, sizeof msg), 1);
	free(s);
}

static char rec_file[64];

/* [alerts] command = /bin/sh alert-recorder FILE [STATUS] */
static cs_config *alert_config(const char *status, const char *repeat, cs_error *err, int *rc)
{
	char cmd[1024];
	const char *src = getenv("top_srcdir");
	cs_config *cfg = cs_config_new();

	snprintf(cmd, sizeof cmd, "/bin/sh %s/tests/ops/alert-recorder %s %s", src ? src : ".",
		 rec_file, status);
	cs_config_set(cfg, "alerts", "command", cmd, "test", err);
	if (repeat)
		cs_config_set(cfg, "alerts", "repeat_interval", repeat, "test", err);
	*rc = cs_alerts_configure(cfg, err);
	return cfg;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	static char buf[8192];
	size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
	if (f)
		fclose(f);
	buf[n] = '\0';
	return buf;
}

static int count_lines(const char *s)
{
	int n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static void test_alerts(void **state)
{
	(void)state;
	cs_error err = CS_ERROR_INIT;
	int rc;
	cs_ops_snapshot *s = two_units();

	strcpy(rec_file, "/tmp/crmsync-alerts-XXXXXX");
	int fd = mkstemp(rec_file);
	assert_true(fd >= 0);
	close(fd);
	cs_alerts_reset();
	cs_config *cfg = alert_config("0", NULL, &err, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(cs_alert_raise(CS_ALERT_AUTH, NULL, "refused \"x\" \\ y\nz", s), 1);
	char *got = slurp(rec_file);
	assert_int_equal(count_lines(got), 1);
	assert_non_null(strstr(got, "{\"kind\":\"auth\",\"unit\":null,"));
	assert_non_null(strstr(got, "\"message\":\"refused \\\"x\\\" \\\\ y\\nz\""));
	assert_non_null(strstr(got, "\"cycle\":42,"));
	assert_non_null(strstr(got, "\"counts\":{\"cycle_errors\":1,"));
	assert_non_null(strstr(got, "\"pending\":5,"));
	/* the same kind again within repeat_interval: suppressed; another kind runs */
	assert_int_equal(cs_alert_raise(CS_ALERT_AUTH, NULL, "again", s), 0);
	assert_int_equal(cs_alert_raise(CS_ALERT_ERRORS, "lead", "many", NULL), 1);
	got = slurp(rec_file);
	assert_int_equal(count_lines(got), 2);
	assert_non_null(strstr(got, "{\"kind\":\"errors\",\"unit\":\"lead\","));
	assert_null(strstr(got, "again"));
	cs_config_free(cfg);

	/* repeat_interval 0: every alert; a failing command is reported, not fatal */
	cs_alerts_reset();
	cfg = alert_config("3", "0", &err, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(cs_alert_raise(CS_ALERT_BUDGET, NULL, "one", s), -1);
	assert_int_equal(cs_alert_raise(CS_ALERT_BUDGET, NULL, "two", s), -1);
	assert_int_equal(count_lines(slurp(rec_file)), 4);
	cs_config_free(cfg);
	unlink(rec_file);

	/* the config is checked: absolute path, an executable program, numbers */
	cfg = cs_config_new();
	cs_config_set(cfg, "alerts", "command", "notify-send", "crm.conf:3", &err);
	assert_int_equal(cs_alerts_configure(cfg, &err), CRMSYNC_EINVAL);
	assert_non_null(strstr(err.msg, "crm.conf:3: alerts.command = 'notify-send': give the "
					"program's absolute path"));
	cs_config_set(cfg, "alerts", "command", "/nonexistent/alert --x", "crm.conf:3", &err);
	assert_int_equal(cs_alerts_configure(cfg, &err), CRMSYNC_EINVAL);
	assert_non_null(strstr(err.msg, "/nonexistent/alert: No such file or directory"));
	cs_config_set(cfg, "alerts", "command", "/bin/true", "crm.conf:3", &err);
	cs_config_set(cfg, "alerts", "error_threshold", "-2", "crm.conf:4", &err);
	assert_int_equal(cs_alerts_configure(cfg, &err), CRMSYNC_EINVAL);
	assert_non_null(strstr(err.msg, "crm.conf:4: alerts.error_threshold = '-2'"));
	cs_config_set(cfg, "alerts", "error_threshold", "5", "crm.conf:4", &err);
	assert_int_equal(cs_alerts_configure(cfg, &err), 0);
	assert_int_equal(cs_alerts_error_threshold(), 5);
	cs_config_free(cfg);
	/* no command: no alerts, no threshold */
	cfg = cs_config_new();
	assert_int_equal(cs_alerts_configure(cfg, &err), 0);
	assert_int_equal(cs_alerts_error_threshold(), -1);
	assert_int_equal(cs_alert_raise(CS_ALERT_STOPPED, NULL, "bye", s), 0);
	cs_config_free(cfg);
	free(s);
}

static void test_listen_config(void **state)
{
	(void)state;
	cs_error err = CS_ERROR_INIT;

	assert_int_equal(cs_metrics_start("9464", "crm.conf:9", &err), CRMSYNC_EINVAL);
	assert_non_null(strstr(err.msg, "crm.conf:9: metrics.listen = '9464': expected host:port"));
	assert_int_equal(cs_metrics_start("no.such.host.invalid:9464", "-o metrics.listen", &err),
			 CRMSYNC_EINVAL);
	assert_non_null(
	    strstr(err.msg, "-o metrics.listen: metrics.listen = 'no.such.host.invalid:9464'"));
	/* a free port; stopping is idempotent */
	assert_int_equal(cs_metrics_start("127.0.0.1:0", "test", &err), 0);
	cs_metrics_stop();
	cs_metrics_stop(); /* twice is fine */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_render),
	    cmocka_unit_test(test_healthy),
	    cmocka_unit_test(test_alerts),
	    cmocka_unit_test(test_listen_config),
	};
	return cmocka_run_group_tests_name("ops", tests, NULL, NULL);
}
