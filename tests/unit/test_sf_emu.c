/* test_sf_emu.c - the Salesforce client against tests/sfemu: the three grants,
 * describe with If-Modified-Since, paging (with a 401 and a dead locator between
 * pages), COUNT, getUpdated/getDeleted (split when a window holds too many
 * ids), collection writes with per-record
 * errors, composite, the API budget, and every injected fault: 500, 503 HTML,
 * 429, dropped connection, timeout, truncated JSON, REQUEST_LIMIT_EXCEEDED.
 * Each test starts its own emulator on a free port. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../sf/emu.h"
#include "log.h"
#include "sf_internal.h"
#include "timeutil.h"

#define PASSWORD "sync-password"
#define SECRET "crmsync-demo-secret"
#define REFRESH "refresh-tok-5Aep861TSESvWeug"

struct fx {
	emu e;
	sf_client *c;
	cs_error err;
};

static sf_config base_config(const char *url)
{
	sf_config cfg = {.login_url = url,
			 .client_id = "crmsync-demo",
			 .client_secret = SECRET,
			 .username = "sync@example.com",
			 .password = PASSWORD,
			 .max_retries = 2,
			 .retry_base_ms = 10,
			 .retry_max_ms = 50,
			 .transfer_timeout_ms = 1000,
			 .connect_timeout_ms = 2000};
	return cfg;
}

/* The fixture of the running test, stopped by the teardown when an assertion
 * jumps out of the test, so no emulator outlives its test. */
static struct fx *current;

static struct fx *fx_start(const char *const *args)
{
	struct fx *f = calloc(1, sizeof *f);
	assert_non_null(f);
	current = f;
	if (emu_start(&f->e, args))
		fail_msg("cannot start the emulator %s", emu_binary());
	sf_config cfg = base_config(f->e.url);
	f->c = sf_client_new(&cfg, &f->err);
	assert_non_null(f->c);
	return f;
}

static void fx_stop(struct fx *f)
{
	if (!f)
		return;
	sf_client_free(f->c);
	emu_stop(&f->e);
	free(f);
	current = NULL;
}

static int teardown(void **state)
{
	fx_stop(current);
	cs_log_set_level(CRMSYNC_LOG_INFO);
	return 0;
}

/* ---- control plane ---- */

static void ctl_ok(long status, emu *e, const char *what)
{
	if (status < 200 || status >= 300)
		fail_msg("control call %s failed: HTTP %ld: %s", what, status, e->body);
}

/* Inject a fault: rule is the JSON object of /__emu/fault. */
static void fault(struct fx *f, const char *rule)
{
	ctl_ok(emu_ctl(&f->e, "POST", "/__emu/faults", rule), &f->e, rule);
}

/* Number of requests the emulator received on paths starting with prefix. */
static long calls(struct fx *f, const char *prefix)
{
	json_t *j;
	long n = 0;
	ctl_ok(emu_ctl(&f->e, "GET", "/__emu/log", NULL), &f->e, "log");
	j = json_loads(f->e.body, 0, NULL);
	json_t *arr = json_is_array(j) ? j : json_object_get(j, "requests");
	size_t i;
	json_t *r;
	json_array_foreach(arr, i, r)
	{
		const char *p = json_string_value(json_object_get(r, "path"));
		if (p && strncmp(p, prefix, strlen(prefix)) == 0)
			n++;
	}
	json_decref(j);
	return n;
}

static void clear_log(struct fx *f)
{
	ctl_ok(emu_ctl(&f->e, "DELETE", "/__emu/log", NULL), &f->e, "clear log");
}

/* ---- helpers ---- */

struct collect {
	int64_t records, pages, total;
	char first_id[19], last_id[19];
	int expire_tokens_after_page, expire_cursors_after_page;
	struct fx *f;
	int all_ids_valid, datetimes_typed;
};

static int collect_cb(void *ud, const sf_page *p, cs_error *err)
{
	struct collect *c = ud;
	for (size_t i = 0; i < p->count; i++) {
		const char *id = cs_record_str(p->records[i], "Id");
		crmsync_value v;
		if (!sf_id_valid(id) || strlen(id) != 18)
			c->all_ids_valid = 0;
		if (cs_record_get(p->records[i], "SystemModstamp", &v) == 0 &&
		    v.type != CRMSYNC_DATETIME)
			c->datetimes_typed = 0;
		if (!c->records && id)
			snprintf(c->first_id, sizeof c->first_id, "%s", id);
		if (id)
			snprintf(c->last_id, sizeof c->last_id, "%s", id);
		c->records++;
	}
	c->pages++;
	c->total = p->total_size;
	if (c->pages == c->expire_tokens_after_page)
		ctl_ok(emu_ctl(&c->f->e, "POST", "/__emu/tokens/expire", "{}"), &c->f->e,
		       "tokens/expire");
	if (c->pages == c->expire_cursors_after_page)
		ctl_ok(emu_ctl(&c->f->e, "POST", "/__emu/cursors/expire", "{}"), &c->f->e,
		       "cursors/expire");
	return 0;
}

static void no_secret_in(const char *text)
{
	assert_null(strstr(text, PASSWORD));
	assert_null(strstr(text, SECRET));
	assert_null(strstr(text, REFRESH));
}

/* Create n records of type through the client itself (independent of the
 * emulator's generator), then forget the calls in the emulator's log. */
static void seed(struct fx *f, const char *type, int n)
{
	cs_record **recs = calloc((size_t)n, sizeof *recs);
	sf_write_results res;
	char name[32];
	for (int i = 0; i < n; i++) {
		recs[i] = cs_record_new();
		snprintf(name, sizeof name, "Seed%04d", i);
		cs_record_set_str(recs[i], strcmp(type, "Lead") ? "Name" : "LastName",
				  CRMSYNC_STRING, name, -1);
		if (!strcmp(type, "Lead"))
			cs_record_set_str(recs[i], "Company", CRMSYNC_STRING, "Seed Co", -1);
	}
	if (sf_create(f->c, type, recs, (size_t)n, &res, &f->err))
		fail_msg("seeding %d %s: %s", n, type, f->err.msg);
	for (int i = 0; i < n; i++) {
		if (!res.items[i].success)
			fail_msg("seeding %s %d: %s", type, i, res.items[i].errors[0].message);
		cs_record_free(recs[i]);
	}
	sf_write_results_free(&res);
	free(recs);
	clear_log(f);
}

/* ---- tests ---- */

static void test_login_grants(void **state)
{
	const char *args[] = {"--refresh-token", REFRESH, NULL};
	struct fx *f = fx_start(args);

	assert_int_equal(sf_login(f->c, &f->err), 0);
	assert_string_equal(sf_instance_url(f->c), f->e.url);

	sf_config cfg = base_config(f->e.url);
	cfg.grant = SF_GRANT_REFRESH_TOKEN;
	cfg.refresh_token = REFRESH;
	cfg.password = NULL;
	sf_client *c = sf_client_new(&cfg, &f->err);
	assert_non_null(c);
	assert_int_equal(sf_login(c, &f->err), 0);
	int64_t n = 0;
	assert_int_equal(sf_query_count(c, "SELECT COUNT() FROM Lead", &n, &f->err), 0);
	sf_client_free(c);

	cfg = base_config(f->e.url);
	cfg.grant = SF_GRANT_CLIENT_CREDENTIALS;
	cfg.username = cfg.password = NULL;
	c = sf_client_new(&cfg, &f->err);
	assert_non_null(c);
	assert_int_equal(sf_login(c, &f->err), 0);
	sf_client_free(c);
	fx_stop(f);
}

static void test_login_refused(void **state)
{
	struct fx *f = fx_start(NULL);
	sf_config cfg = base_config(f->e.url);
	cfg.password = "wrong-" PASSWORD;
	sf_client *c = sf_client_new(&cfg, &f->err);
	assert_int_not_equal(sf_login(c, &f->err), 0);
	assert_int_equal(sf_error_kind(c), SF_E_AUTH);
	assert_non_null(strstr(f->err.msg, "Salesforce refused the credentials of user "
					   "sync@example.com (grant password)"));
	no_secret_in(f->err.msg);
	sf_client_free(c);

	cfg = base_config(f->e.url);
	cfg.grant = SF_GRANT_REFRESH_TOKEN;
	cfg.refresh_token = REFRESH;
	c = sf_client_new(&cfg, &f->err);
	assert_int_not_equal(sf_login(c, &f->err), 0);
	assert_int_equal(sf_error_kind(c), SF_E_AUTH);
	assert_non_null(strstr(f->err.msg, "grant refresh_token"));
	no_secret_in(f->err.msg);
	sf_client_free(c);

	cfg = base_config(f->e.url);
	cfg.client_id = "no-such-app";
	c = sf_client_new(&cfg, &f->err);
	assert_int_not_equal(sf_login(c, &f->err), 0);
	assert_int_equal(sf_error_kind(c), SF_E_AUTH);
	no_secret_in(f->err.msg);
	sf_client_free(c);
	fx_stop(f);
}

static void test_instance_url_refused(void **state)
{
	const char *args[] = {"--instance-url", "http://192.0.2.1:8080", NULL};
	struct fx *f = fx_start(args);
	int64_t t0 = cs_now_ms();
	assert_int_not_equal(sf_login(f->c, &f->err), 0);
	assert_int_equal(sf_error_kind(f->c), SF_E_CONFIG);
	assert_non_null(strstr(f->err.msg, "instance_url"));
	assert_non_null(strstr(f->err.msg, "http://192.0.2.1:8080"));
	assert_non_null(strstr(f->err.msg, "not loopback"));
	assert_true(cs_now_ms() - t0 < 1000); /* refused, not a connection timeout */
	fx_stop(f);
}

static void test_describe(void **state)
{
	struct fx *f = fx_start(NULL);
	const sf_describe *d, *d2;
	int changed = -1;

	assert_int_equal(sf_describe_object(f->c, "Lead", &d, &changed, &f->err), 0);
	assert_int_equal(changed, 1);
	assert_string_equal(d->name, "Lead");
	assert_true(d->replicateable);
	int seen = 0;
	for (size_t i = 0; i < d->nfields; i++) {
		const crmsync_field_desc *fd = &d->fields[i];
		if (!strcmp(fd->name, "Id")) {
			assert_int_equal(fd->type, CRMSYNC_ID);
			assert_true(fd->flags & CRMSYNC_FIELD_ID_LOOKUP);
			assert_false(fd->flags & CRMSYNC_FIELD_CREATEABLE);
			seen |= 1;
		} else if (!strcmp(fd->name, "SystemModstamp")) {
			assert_int_equal(fd->type, CRMSYNC_DATETIME);
			seen |= 2;
		} else if (!strcmp(fd->name, "ConvertedAccountId")) {
			assert_int_equal(fd->type, CRMSYNC_ID);
			assert_string_equal(fd->reference_to, "Account");
			assert_true(fd->flags & CRMSYNC_FIELD_REFERENCE);
			seen |= 4;
		} else if (!strcmp(fd->name, "crmsync_Key__c")) {
			assert_true(fd->flags & CRMSYNC_FIELD_EXTERNAL_ID);
			seen |= 8;
		} else if (!strcmp(fd->name, "IsConverted")) {
			assert_int_equal(fd->type, CRMSYNC_BOOLEAN);
			seen |= 16;
		} else if (!strcmp(fd->name, "LastName")) {
			assert_int_equal(fd->type, CRMSYNC_STRING);
			assert_int_equal(fd->length, 80);
			seen |= 32;
		}
	}
	assert_int_equal(seen, 63);

	/* cached and refreshed conditionally: same pointer, no change */
	clear_log(f);
	assert_int_equal(sf_describe_object(f->c, "Lead", &d2, &changed, &f->err), 0);
	assert_ptr_equal(d, d2);
	assert_int_equal(changed, 0);
	assert_int_equal(calls(f, "/services/data/v59.0/sobjects/Lead/describe"), 1);
	assert_non_null(strstr(f->e.body, "If-Modified-Since"));

	/* the sync user loses read access to Title: the describe changes, the
	 * field is gone, and the earlier describe stays valid for its holders */
	ctl_ok(emu_ctl(&f->e, "POST", "/__emu/fls",
		       "{\"object\":\"Lead\",\"field\":\"Title\",\"read\":false}"),
	       &f->e, "fls");
	sleep(1); /* Last-Modified has whole seconds */
	const sf_describe *d3;
	assert_int_equal(sf_describe_object(f->c, "Lead", &d3, &changed, &f->err), 0);
	assert_int_equal(changed, 1);
	assert_ptr_not_equal(d3, d);
	assert_int_equal(d3->nfields + 1, d->nfields);
	for (size_t i = 0; i < d3->nfields; i++)
		assert_string_not_equal(d3->fields[i].name, "Title");
	assert_string_equal(d->name, "Lead");

	const char *want[] = {"lastname", "Email", "NoSuchField__c", NULL};
	crmsync_field_desc *sel;
	size_t n;
	assert_int_equal(sf_fields_select(d, want, &sel, &n, &f->err), 0);
	assert_int_equal(n, 3);
	int have_id = 0, have_ln = 0, have_em = 0;
	for (size_t i = 0; i < n; i++) {
		have_id |= !strcmp(sel[i].name, "Id");
		have_ln |= !strcmp(sel[i].name, "LastName");
		have_em |= !strcmp(sel[i].name, "Email");
	}
	assert_true(have_id && have_ln && have_em);
	free(sel);

	assert_int_not_equal(sf_describe_object(f->c, "NoSuchThing__c", &d, NULL, &f->err), 0);
	assert_int_equal(sf_error_kind(f->c), SF_E_HTTP);
	assert_int_equal(sf_error_status(f->c), 404);
	assert_string_equal(sf_error_code(f->c), "NOT_FOUND");
	fx_stop(f);
}

static void query_leads(struct fx *f, struct collect *col, int batch, int all)
{
	const sf_describe *d;
	crmsync_field_desc *sel;
	size_t n;
	const char *want[] = {"LastName", "Email", "SystemModstamp", "IsConverted", NULL};
	sf_buf q = {0};
	assert_int_equal(sf_describe_object(f->c, "Lead", &d, NULL, &f->err), 0);
	assert_int_equal(sf_fields_select(d, want, &sel, &n, &f->err), 0);
	const char *names[8];
	for (size_t i = 0; i < n; i++)
		names[i] = sel[i].name;
	assert_int_equal(sf_soql_keyset(&q, "Lead", names, n, 0, NULL, NULL, 0, &f->err), 0);
	sf_query_opts o = {.all = all, .batch_size = batch, .fields = sel, .nfields = n};
	col->f = f;
	col->all_ids_valid = col->datetimes_typed = 1;
	int rc = sf_query(f->c, q.s, &o, collect_cb, col, &f->err);
	free(sel);
	sf_buf_free(&q);
	if (rc) {
		col->total = -rc;
		print_message("query stopped: %s\n", f->err.msg);
	}
}

static void test_query_paging(void **state)
{
	struct fx *f = fx_start(NULL);
	seed(f, "Lead", 450);
	struct collect col = {0};

	clear_log(f);
	query_leads(f, &col, 200, 0);
	assert_int_equal(col.total, 450);
	assert_int_equal(col.records, 450);
	assert_int_equal(col.pages, 3);
	assert_true(col.all_ids_valid);
	assert_true(col.datetimes_typed);
	/* the batch size went out as a header (one query + two query-more calls) */
	assert_int_equal(calls(f, "/services/data/v59.0/query"), 3);
	ctl_ok(emu_ctl(&f->e, "GET", "/__emu/log", NULL), &f->e, "log");
	assert_non_null(strstr(f->e.body, "batchSize=200"));

	int64_t n = -1;
	int64_t conns = f->c->connects, reqs = sf_request_count(f->c);
	assert_int_equal(sf_query_count(f->c, "SELECT COUNT() FROM Lead", &n, &f->err), 0);
	assert_int_equal(n, 450);
	assert_int_equal(sf_query_count(f->c, "SELECT COUNT() FROM Lead", &n, &f->err), 0);
	/* keep-alive: two more requests on the connection already open */
	assert_int_equal(sf_request_count(f->c) - reqs, 2);
	assert_int_equal(f->c->connects - conns, 0);

	/* queryAll sees the same live rows */
	struct collect all = {0};
	query_leads(f, &all, 2000, 1);
	assert_int_equal(all.records, 450);
	assert_int_equal(all.pages, 1);

	/* a bad query is an HTTP error with Salesforce's code */
	assert_int_not_equal(sf_query_count(f->c, "SELECT Id FRM Lead", &n, &f->err), 0);
	assert_int_equal(sf_error_kind(f->c), SF_E_HTTP);
	assert_string_equal(sf_error_code(f->c), "MALFORMED_QUERY");
	fx_stop(f);
}

static void test_reauth_mid_paging(void **state)
{
	struct fx *f = fx_start(NULL);
	seed(f, "Lead", 450);
	struct collect col = {.expire_tokens_after_page = 1};

	clear_log(f);
	query_leads(f, &col, 200, 0);
	assert_int_equal(col.total, 450);
	assert_int_equal(col.records, 450);
	/* logged in (while seeding) before the log was cleared; here: one 401 on
	 * page 2, one login, the page fetched again */
	assert_int_equal(calls(f, "/services/oauth2/token"), 1);
	assert_int_equal(calls(f, "/services/data/v59.0/query"), 3 + 1);
	fx_stop(f);
}

static void test_locator_expiry(void **state)
{
	struct fx *f = fx_start(NULL);
	seed(f, "Lead", 450);
	struct collect col = {.expire_cursors_after_page = 1};

	query_leads(f, &col, 200, 0);
	assert_int_equal(col.records, 200);
	assert_int_equal(sf_error_kind(f->c), SF_E_LOCATOR);
	assert_non_null(strstr(f->err.msg, "INVALID_QUERY_LOCATOR"));
	fx_stop(f);

	/* the same when the org answers 404 for a dead locator */
	const char *args[] = {"--locator-status", "404", NULL};
	f = fx_start(args);
	seed(f, "Lead", 250);
	struct collect col2 = {.expire_cursors_after_page = 1};
	query_leads(f, &col2, 200, 0);
	assert_int_equal(col2.records, 200);
	assert_int_equal(sf_error_kind(f->c), SF_E_LOCATOR);
	assert_int_equal(sf_error_status(f->c), 404);
	fx_stop(f);
}

static void test_faults_retried(void **state)
{
	struct fx *f = fx_start(NULL);
	seed(f, "Lead", 5);
	int64_t n;

	/* each transient failure once, then the call succeeds */
	const char *rules[] = {
	    "{\"method\":\"GET\",\"path\":\"/services/data/v59.0/query\",\"status\":500,"
	    "\"count\":1}",
	    "{\"method\":\"GET\",\"path\":\"/services/data/v59.0/query\",\"status\":429,"
	    "\"count\":1}",
	    "{\"method\":\"GET\",\"path\":\"/services/data/v59.0/query\",\"drop\":true,"
	    "\"count\":1}",
	    "{\"method\":\"GET\",\"path\":\"/services/data/v59.0/query\",\"status\":503,"
	    "\"content_type\":\"text/html\",\"body\":\"<html>down</html>\",\"count\":2}",
	    /* stalls past the 1 s transfer timeout once */
	    "{\"method\":\"GET\",\"path\":\"/services/data/v59.0/query\",\"delay_ms\":2500,"
	    "\"count\":1}",
	};
	/* requests the emulator saw (the stalled one is logged only once it has
	 * slept, after the test looked) */
	const long seen[] = {2, 2, 2, 3, 1};
	for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
		assert_int_equal(sf_login(f->c, &f->err), 0);
		clear_log(f);
		fault(f, rules[i]);
		n = -1;
		int64_t t0 = cs_now_ms();
		if (sf_query_count(f->c, "SELECT COUNT() FROM Lead", &n, &f->err))
			fail_msg("rule %s: %s", rules[i], f->err.msg);
		assert_int_equal(n, 5);
		assert_int_equal(calls(f, "/services/data/v59.0/query"), seen[i]);
		if (i == 4)
			assert_true(cs_now_ms() - t0 >= 1000); /* it did wait for the timeout */
	}
	fx_stop(f);
}

static void test_faults_fatal(void **state)
{
	struct fx *f = fx_start(NULL);
	seed(f, "Lead", 5);
	int64_t n;

	assert_int_equal(sf_login(f->c, &f->err), 0);
	/* 503 with an HTML maintenance page, every time */
	fault(f, "{\"method\":\"GET\",\"path\":\"/services/data/v59.0/query\",\"status\":503,"
		 "\"content_type\":\"text/html\",\"body\":\"<html><body>Down for "
		 "maintenance</body></html>\"}");
	clear_log(f);
	assert_int_not_equal(sf_query_count(f->c, "SELECT COUNT() FROM Lead", &n, &f->err), 0);
	assert_int_equal(sf_error_kind(f->c), SF_E_HTTP);
	assert_int_equal(sf_error_status(f->c), 503);
	assert_non_null(strstr(f->err.msg, "503"));
	assert_non_null(strstr(f->err.msg, "non-JSON"));
	assert_non_null(strstr(f->err.msg, "text/html"));
	assert_int_equal(calls(f, "/services/data/v59.0/query"), 1 + 2); /* max_retries 2 */
	ctl_ok(emu_ctl(&f->e, "DELETE", "/__emu/faults", NULL), &f->e, "clear faults");

	/* a dropped connection every time */
	fault(f, "{\"method\":\"GET\",\"path\":\"/services/data/v59.0/query\",\"drop\":true}");
	assert_int_not_equal(sf_query_count(f->c, "SELECT COUNT() FROM Lead", &n, &f->err), 0);
	assert_int_equal(sf_error_kind(f->c), SF_E_NETWORK);
	ctl_ok(emu_ctl(&f->e, "DELETE", "/__emu/faults", NULL), &f->e, "clear faults");

	/* a server that stalls far past the transfer timeout (1 s; curl checks it
	 * once a second, so it fires within 1-2 s), with no retry left */
	sf_config cfg = base_config(f->e.url);
	cfg.max_retries = 0;
	sf_client *c0 = sf_client_new(&cfg, &f->err);
	assert_int_equal(sf_login(c0, &f->err), 0);
	fault(f, "{\"method\":\"GET\",\"path\":\"/services/data/v59.0/query\",\"delay_ms\":6000}");
	int64_t t0 = cs_now_ms();
	assert_int_not_equal(sf_query_count(c0, "SELECT COUNT() FROM Lead", &n, &f->err), 0);
	int64_t waited = cs_now_ms() - t0;
	assert_int_equal(sf_error_kind(c0), SF_E_NETWORK);
	assert_non_null(strstr(f->err.msg, "imeout"));
	assert_true(waited >= 900 && waited < 5000);
	sf_client_free(c0);
	ctl_ok(emu_ctl(&f->e, "DELETE", "/__emu/faults", NULL), &f->e, "clear faults");

	/* truncated JSON */
	fault(f, "{\"method\":\"GET\",\"path\":\"/services/data/v59.0/query\",\"truncate\":true}");
	assert_int_not_equal(sf_query_count(f->c, "SELECT Id, LastName FROM Lead", &n, &f->err), 0);
	assert_true(sf_error_kind(f->c) == SF_E_PARSE || sf_error_kind(f->c) == SF_E_NETWORK);
	assert_non_null(strstr(f->err.msg, "/services/data/v59.0/query"));
	ctl_ok(emu_ctl(&f->e, "DELETE", "/__emu/faults", NULL), &f->e, "clear faults");

	/* a 200 whose JSON stops half-way: the path and the byte are named */
	fault(f, "{\"method\":\"GET\",\"path\":\"/services/data/v59.0/query\",\"status\":200,"
		 "\"body\":\"{\\\"totalSize\\\":5,\\\"done\\\":true,\\\"records\\\":[{\\\"Id\\\":"
		 "\\\"00Q\"}");
	assert_int_not_equal(sf_query_count(f->c, "SELECT COUNT() FROM Lead", &n, &f->err), 0);
	assert_int_equal(sf_error_kind(f->c), SF_E_PARSE);
	assert_non_null(strstr(f->err.msg, "GET /services/data/v59.0/query"));
	assert_non_null(strstr(f->err.msg, "truncated at byte"));
	ctl_ok(emu_ctl(&f->e, "DELETE", "/__emu/faults", NULL), &f->e, "clear faults");

	/* REQUEST_LIMIT_EXCEEDED */
	fault(f, "{\"method\":\"GET\",\"path\":\"/services/data/v59.0/query\",\"status\":403,"
		 "\"body\":\"[{\\\"message\\\":\\\"TotalRequests Limit exceeded.\\\","
		 "\\\"errorCode\\\":\\\"REQUEST_LIMIT_EXCEEDED\\\"}]\"}");
	assert_int_not_equal(sf_query_count(f->c, "SELECT COUNT() FROM Lead", &n, &f->err), 0);
	assert_int_equal(sf_error_kind(f->c), SF_E_LIMIT);
	assert_int_equal(f->err.code, CRMSYNC_EBUSY);
	fx_stop(f);
}

/* A session refused again right after logging in: one re-login, then a clear
 * error naming the user and grant, and no secret. */
static void test_second_401(void **state)
{
	struct fx *f = fx_start(NULL);
	int64_t n;

	assert_int_equal(sf_login(f->c, &f->err), 0);
	fault(f,
	      "{\"method\":\"GET\",\"path\":\"/services/data/v59.0/query\",\"status\":401,"
	      "\"errorCode\":\"INVALID_SESSION_ID\",\"message\":\"Session expired or invalid\"}");
	clear_log(f);
	assert_int_not_equal(sf_query_count(f->c, "SELECT COUNT() FROM Lead", &n, &f->err), 0);
	assert_int_equal(sf_error_kind(f->c), SF_E_AUTH);
	assert_int_equal(sf_error_status(f->c), 401);
	assert_non_null(strstr(f->err.msg, "Salesforce refused the credentials of user "
					   "sync@example.com (grant password)"));
	no_secret_in(f->err.msg);
	assert_int_equal(calls(f, "/services/oauth2/token"), 1);
	assert_int_equal(calls(f, "/services/data/v59.0/query"), 2);
	fx_stop(f);
}

static void test_budget(void **state)
{
	const char *args[] = {"--api-limit", "100", NULL};
	struct fx *f = fx_start(args);
	int64_t n, used, max, budget;

	/* default budget 50%: calls go out until 50 of 100 are used */
	for (int i = 0; i < 200; i++)
		if (sf_query_count(f->c, "SELECT COUNT() FROM Lead", &n, &f->err))
			break;
	assert_int_equal(sf_error_kind(f->c), SF_E_BUDGET);
	assert_int_equal(f->err.code, CRMSYNC_EBUSY);
	assert_non_null(strstr(f->err.msg, "budget"));
	sf_limits(f->c, &used, &max, &budget);
	assert_int_equal(max, 100);
	assert_int_equal(budget, 50);
	assert_int_equal(used, 50);
	/* nothing was sent for the refused call */
	clear_log(f);
	assert_int_not_equal(sf_query_count(f->c, "SELECT COUNT() FROM Lead", &n, &f->err), 0);
	assert_int_equal(calls(f, "/services/data"), 0);

	/* the allowance rolls over: /limits is asked even past the budget, and
	 * calls flow again */
	ctl_ok(emu_ctl(&f->e, "POST", "/__emu/limits", "{\"used\":10}"), &f->e, "limits");
	assert_int_equal(sf_refresh_limits(f->c, &f->err), 0);
	sf_limits(f->c, &used, &max, &budget);
	assert_int_equal(max, 100);
	assert_true(used >= 10 && used <= 11);
	assert_int_equal(sf_query_count(f->c, "SELECT COUNT() FROM Lead", &n, &f->err), 0);
	fx_stop(f);
}

static cs_record *lead(const char *last, const char *company, const char *key)
{
	cs_record *r = cs_record_new();
	if (last)
		cs_record_set_str(r, "LastName", CRMSYNC_STRING, last, -1);
	if (company)
		cs_record_set_str(r, "Company", CRMSYNC_STRING, company, -1);
	if (key)
		cs_record_set_str(r, "crmsync_Key__c", CRMSYNC_STRING, key, -1);
	return r;
}

static void test_writes(void **state)
{
	struct fx *f = fx_start(NULL);
	cs_record *recs[3] = {lead("Ng", "Acme", NULL), lead(NULL, "NoName Inc", NULL),
			      lead("O'Hara", "Beta \xe2\x82\xac", NULL)};
	sf_write_results res;

	clear_log(f);
	assert_int_equal(sf_create(f->c, "Lead", recs, 3, &res, &f->err), 0);
	/* a create leaves the org's lead assignment rules on */
	ctl_ok(emu_ctl(&f->e, "GET", "/__emu/log", NULL), &f->e, "log");
	assert_null(strstr(f->e.body, "Sforce-Auto-Assign"));
	assert_int_equal(res.count, 3);
	assert_true(res.items[0].success && res.items[0].created);
	assert_int_equal(strlen(res.items[0].id), 18);
	assert_false(res.items[1].success);
	assert_int_equal(res.items[1].nerrors, 1);
	assert_string_equal(res.items[1].errors[0].status_code, "REQUIRED_FIELD_MISSING");
	assert_true(res.items[1].errors[0].nfields >= 1);
	assert_string_equal(res.items[1].errors[0].fields[0], "LastName");
	assert_true(res.items[2].success);
	char id0[19], id2[19];
	strcpy(id0, res.items[0].id);
	strcpy(id2, res.items[2].id);
	sf_write_results_free(&res);

	/* update by id: one good, one unknown field */
	cs_record *up[2] = {cs_record_new(), cs_record_new()};
	cs_record_set_str(up[0], "Id", CRMSYNC_ID, id0, -1);
	cs_record_set_str(up[0], "Title", CRMSYNC_STRING, "CTO", -1);
	cs_record_set_str(up[1], "Id", CRMSYNC_ID, id2, -1);
	cs_record_set_str(up[1], "NoSuchField__c", CRMSYNC_STRING, "x", -1);
	clear_log(f);
	assert_int_equal(sf_update(f->c, "Lead", up, 2, &res, &f->err), 0);
	/* an update does not run them: the owner stays */
	ctl_ok(emu_ctl(&f->e, "GET", "/__emu/log", NULL), &f->e, "log");
	const char *aa = strstr(f->e.body, "\"Sforce-Auto-Assign\"");
	assert_non_null(aa);
	assert_non_null(strstr(aa, "FALSE"));
	assert_true(strstr(aa, "FALSE") - aa < 32);
	assert_true(res.items[0].success);
	assert_false(res.items[1].success);
	assert_string_equal(res.items[1].errors[0].status_code, "INVALID_FIELD");
	sf_write_results_free(&res);

	/* upsert by external id: new, then the same key again matches */
	cs_record *ups[1] = {lead("Key", "K Ltd", "ext-1")};
	assert_int_equal(sf_upsert(f->c, "Lead", "crmsync_Key__c", ups, 1, &res, &f->err), 0);
	assert_true(res.items[0].success && res.items[0].created);
	sf_write_results_free(&res);
	assert_int_equal(sf_upsert(f->c, "Lead", "crmsync_Key__c", ups, 1, &res, &f->err), 0);
	assert_true(res.items[0].success);
	assert_false(res.items[0].created);
	sf_write_results_free(&res);

	/* delete: one real, one already gone */
	const char *ids[2] = {id0, id0};
	assert_int_equal(sf_delete(f->c, ids, 1, &res, &f->err), 0);
	assert_true(res.items[0].success);
	sf_write_results_free(&res);
	assert_int_equal(sf_delete(f->c, ids, 2, &res, &f->err), 0);
	assert_false(res.items[0].success);
	assert_string_equal(res.items[0].errors[0].status_code, "ENTITY_IS_DELETED");
	sf_write_results_free(&res);

	for (int i = 0; i < 3; i++)
		cs_record_free(recs[i]);
	cs_record_free(up[0]);
	cs_record_free(up[1]);
	cs_record_free(ups[0]);
	fx_stop(f);
}

/* Duplicate rules: one that alerts refuses an API write unless it allows the
 * save (duplicate_alerts = save); one that blocks refuses it either way. */
static void test_duplicate_rules(void **state)
{
	struct fx *f = fx_start(NULL);
	sf_write_results res;
	ctl_ok(emu_ctl(&f->e, "POST", "/__emu/validation",
		       "{\"object\":\"Lead\",\"field\":\"Email\",\"duplicates\":true,"
		       "\"reject\":\"any\",\"action\":\"alert\"}"),
	       &f->e, "alert rule");
	cs_record *a[1] = {lead("First", "Dup Co", NULL)};
	cs_record_set_str(a[0], "Email", CRMSYNC_STRING, "dup@example.com", -1);
	assert_int_equal(sf_create(f->c, "Lead", a, 1, &res, &f->err), 0);
	assert_true(res.items[0].success);
	sf_write_results_free(&res);
	/* the second with the same email: refused as the API does by default */
	assert_int_equal(sf_create(f->c, "Lead", a, 1, &res, &f->err), 0);
	assert_false(res.items[0].success);
	assert_string_equal(res.items[0].errors[0].status_code, "DUPLICATES_DETECTED");
	sf_write_results_free(&res);
	/* a client that saves past alerts */
	sf_config cfg = base_config(f->e.url);
	cfg.duplicates_save = 1;
	sf_client *c2 = sf_client_new(&cfg, &f->err);
	assert_non_null(c2);
	assert_int_equal(sf_create(c2, "Lead", a, 1, &res, &f->err), 0);
	assert_true(res.items[0].success);
	sf_write_results_free(&res);
	/* a blocking rule still blocks it */
	ctl_ok(emu_ctl(&f->e, "DELETE", "/__emu/validation", NULL), &f->e, "clear rules");
	ctl_ok(emu_ctl(&f->e, "POST", "/__emu/validation",
		       "{\"object\":\"Lead\",\"field\":\"Email\",\"duplicates\":true,"
		       "\"reject\":\"any\"}"),
	       &f->e, "block rule");
	assert_int_equal(sf_create(c2, "Lead", a, 1, &res, &f->err), 0);
	assert_false(res.items[0].success);
	assert_string_equal(res.items[0].errors[0].status_code, "DUPLICATES_DETECTED");
	sf_write_results_free(&res);
	sf_client_free(c2);
	cs_record_free(a[0]);
	fx_stop(f);
}

static void test_writes_batched(void **state)
{
	struct fx *f = fx_start(NULL);
	cs_record *recs[450];
	sf_write_results res;
	char name[32];

	for (int i = 0; i < 450; i++) {
		snprintf(name, sizeof name, "Batch%03d", i);
		recs[i] = lead(name, "Batch Co", NULL);
	}
	clear_log(f);
	assert_int_equal(sf_create(f->c, "Lead", recs, 450, &res, &f->err), 0);
	assert_int_equal(res.count, 450);
	for (int i = 0; i < 450; i++)
		assert_true(res.items[i].success);
	assert_int_equal(calls(f, "/services/data/v59.0/composite/sobjects"), 3);
	sf_write_results_free(&res);
	int64_t n;
	assert_int_equal(sf_query_count(f->c, "SELECT COUNT() FROM Lead WHERE Company = 'Batch Co'",
					&n, &f->err),
			 0);
	assert_int_equal(n, 450);
	for (int i = 0; i < 450; i++)
		cs_record_free(recs[i]);
	fx_stop(f);
}

static void test_create_not_retried(void **state)
{
	struct fx *f = fx_start(NULL);
	cs_record *recs[1] = {lead("Once", "Only", NULL)};
	sf_write_results res;

	assert_int_equal(sf_login(f->c, &f->err), 0);
	fault(f, "{\"method\":\"POST\",\"path\":\"/services/data/v59.0/composite/sobjects\","
		 "\"status\":500,\"count\":1}");
	clear_log(f);
	assert_int_not_equal(sf_create(f->c, "Lead", recs, 1, &res, &f->err), 0);
	assert_int_equal(sf_error_kind(f->c), SF_E_OUTCOME_UNKNOWN);
	assert_int_equal(res.count, 0);
	assert_int_equal(calls(f, "/services/data/v59.0/composite/sobjects"), 1);
	sf_write_results_free(&res);

	/* nor after the connection dropped with the request sent */
	fault(f, "{\"method\":\"POST\",\"path\":\"/services/data/v59.0/composite/sobjects\","
		 "\"drop\":true,\"count\":1}");
	clear_log(f);
	assert_int_not_equal(sf_create(f->c, "Lead", recs, 1, &res, &f->err), 0);
	assert_int_equal(sf_error_kind(f->c), SF_E_OUTCOME_UNKNOWN);
	assert_non_null(strstr(f->err.msg, "outcome is unknown"));
	assert_int_equal(calls(f, "/services/data/v59.0/composite/sobjects"), 1);
	sf_write_results_free(&res);

	/* an update by id is retried after a drop: it cannot duplicate */
	cs_record *up[1] = {cs_record_new()};
	seed(f, "Lead", 1);
	struct collect one = {0};
	assert_int_equal(
	    sf_query(f->c, "SELECT Id FROM Lead LIMIT 1", NULL, collect_cb, &one, &f->err), 0);
	cs_record_set_str(up[0], "Id", CRMSYNC_ID, one.first_id, -1);
	cs_record_set_str(up[0], "Title", CRMSYNC_STRING, "Retried", -1);
	fault(f, "{\"method\":\"PATCH\",\"path\":\"/services/data/v59.0/composite/sobjects\","
		 "\"drop\":true,\"count\":1}");
	clear_log(f);
	assert_int_equal(sf_update(f->c, "Lead", up, 1, &res, &f->err), 0);
	assert_true(res.items[0].success);
	assert_int_equal(calls(f, "/services/data/v59.0/composite/sobjects"), 2);
	sf_write_results_free(&res);
	cs_record_free(up[0]);

	/* an upsert by external id is retried: it cannot duplicate */
	cs_record *ups[1] = {lead("Twice", "Safe", "ext-safe")};
	fault(f, "{\"method\":\"PATCH\",\"path\":\"/services/data/v59.0/composite/sobjects\","
		 "\"status\":500,\"count\":1}");
	assert_int_equal(sf_upsert(f->c, "Lead", "crmsync_Key__c", ups, 1, &res, &f->err), 0);
	assert_true(res.items[0].success);
	sf_write_results_free(&res);
	cs_record_free(recs[0]);
	cs_record_free(ups[0]);
	fx_stop(f);
}

struct idlist {
	int n;
	char last[19];
};

static int upd_cb(void *ud, const char *id, cs_error *err)
{
	struct idlist *l = ud;
	l->n++;
	snprintf(l->last, sizeof l->last, "%s", id);
	return 0;
}

static int del_cb(void *ud, const char *id, int64_t when, cs_error *err)
{
	struct idlist *l = ud;
	l->n++;
	snprintf(l->last, sizeof l->last, "%s", id);
	return when > 0 ? 0 : CRMSYNC_EINVAL;
}

static void test_replication(void **state)
{
	struct fx *f = fx_start(NULL);
	cs_record *recs[2] = {lead("Rep", "One", NULL), lead("Rep", "Two", NULL)};
	sf_write_results res;
	int64_t latest = 0, earliest = 0;
	struct idlist l = {0};

	int64_t start = cs_now_ms() - 5 * 60000;
	assert_int_equal(sf_create(f->c, "Lead", recs, 2, &res, &f->err), 0);
	const char *del[1] = {res.items[1].id};
	sf_write_results del_res;
	assert_int_equal(sf_delete(f->c, del, 1, &del_res, &f->err), 0);
	sf_write_results_free(&del_res);
	int64_t end = cs_now_ms() + 2 * 60000;
	/* let the emulator's clock pass the writes, as real time would */
	ctl_ok(emu_ctl(&f->e, "POST", "/__emu/clock", "{\"advanceMs\":180000}"), &f->e, "clock");

	assert_int_equal(sf_get_updated(f->c, "Lead", start, end, upd_cb, &l, &latest, &f->err), 0);
	assert_true(l.n >= 1);
	assert_true(latest > start);
	l.n = 0;
	assert_int_equal(
	    sf_get_deleted(f->c, "Lead", start, end, del_cb, &l, &latest, &earliest, &f->err), 0);
	if (l.n != 1)
		fail_msg("getDeleted gave %d ids: %s", l.n, f->c->body);
	assert_string_equal(l.last, res.items[1].id);

	/* queryAll sees the deleted row, query does not */
	int64_t n_live = -1;
	assert_int_equal(sf_query_count(f->c, "SELECT COUNT() FROM Lead WHERE IsDeleted = true",
					&n_live, &f->err),
			 0);
	assert_int_equal(n_live, 0);
	struct collect del_rows = {0};
	sf_query_opts all = {.all = 1};
	del_rows.all_ids_valid = del_rows.datetimes_typed = 1;
	assert_int_equal(sf_query(f->c, "SELECT Id FROM Lead WHERE IsDeleted = true", &all,
				  collect_cb, &del_rows, &f->err),
			 0);
	assert_int_equal(del_rows.records, 1);
	assert_string_equal(del_rows.first_id, res.items[1].id);

	/* local date rules: nothing sent */
	assert_int_not_equal(sf_get_updated(f->c, "Lead", start - start % 60000 + 1000,
					    start - start % 60000 + 59000, upd_cb, &l, &latest,
					    &f->err),
			     0);
	assert_int_equal(sf_error_kind(f->c), SF_E_CONFIG);
	assert_int_not_equal(sf_get_deleted(f->c, "Lead", cs_now_ms() - 16 * 86400000LL, end,
					    del_cb, &l, &latest, &earliest, &f->err),
			     0);
	assert_int_equal(sf_error_kind(f->c), SF_E_REPLICATION_DATE);

	/* the bin was purged after start: Salesforce says INVALID_REPLICATION_DATE */
	ctl_ok(emu_ctl(&f->e, "POST", "/__emu/purge", "{}"), &f->e, "purge");
	assert_int_not_equal(
	    sf_get_deleted(f->c, "Lead", start, end, del_cb, &l, &latest, &earliest, &f->err), 0);
	assert_int_equal(sf_error_kind(f->c), SF_E_REPLICATION_DATE);
	assert_non_null(strstr(f->err.msg, "INVALID_REPLICATION_DATE"));
	sf_write_results_free(&res);
	cs_record_free(recs[0]);
	cs_record_free(recs[1]);
	fx_stop(f);
}

/* ids in the order the callbacks got them */
struct idseq {
	int n;
	char ids[32][19];
};

static int seq_upd(void *ud, const char *id, cs_error *err)
{
	struct idseq *q = ud;
	if (q->n < 32)
		snprintf(q->ids[q->n], sizeof q->ids[0], "%s", id);
	q->n++;
	return 0;
}

static int seq_del(void *ud, const char *id, int64_t when, cs_error *err)
{
	return when > 0 ? seq_upd(ud, id, err) : CRMSYNC_EINVAL;
}

/* A window holding more ids than Salesforce lists in one answer
 * (EXCEEDED_ID_LIMIT; the emulator's maxIds lowered to 4): the client asks for
 * halves of it and hands every id over once, in time order, with the whole
 * window covered. A single minute over the limit cannot be split: a clear error. */
static void test_replication_split(void **state)
{
	struct fx *f = fx_start(NULL);
	int64_t now = cs_now_ms();
	int64_t base = now - 40 * 60000;
	base -= base % 60000;
	int64_t end = base + 37 * 60000;
	char ids[12][19];
	/* 12 leads, one every 3 minutes; then 5 in the 38th minute */
	for (int i = 0; i < 17; i++) {
		int64_t ts = i < 12 ? base + i * 180000 + 10000 : end + 1000 + i;
		ctl_ok(emu_ctlf(&f->e, "POST", "/__emu/records/Lead",
				"{\"op\":\"create\",\"fields\":{\"LastName\":\"Split%d\","
				"\"Company\":\"Split Co\"},\"ts\":%lld}",
				i, (long long)ts),
		       &f->e, "create");
		json_t *j = json_loads(f->e.body, 0, NULL);
		const char *id = json_string_value(json_object_get(j, "id"));
		assert_non_null(id);
		if (i < 12)
			snprintf(ids[i], sizeof ids[i], "%s", id);
		json_decref(j);
	}
	ctl_ok(emu_ctl(&f->e, "POST", "/__emu/config", "{\"maxIds\":4}"), &f->e, "config");
	assert_int_equal(sf_login(f->c, &f->err), 0);
	clear_log(f);

	struct idseq q = {0};
	int64_t latest = 0, earliest = 0;
	if (sf_get_updated(f->c, "Lead", base, end, seq_upd, &q, &latest, &f->err))
		fail_msg("getUpdated over a split window: %s", f->err.msg);
	assert_int_equal(q.n, 12);
	for (int i = 0; i < 12; i++)
		assert_string_equal(q.ids[i], ids[i]);
	assert_true(latest == end);
	assert_int_equal(sf_error_kind(f->c), SF_OK);
	long n = calls(f, "/services/data/v59.0/sobjects/Lead/updated");
	assert_true(n >= 5); /* refused, then halves down to windows of at most 4 ids */
	assert_true(n <= 13);

	/* one minute with 5 changes: nothing to split */
	q.n = 0;
	assert_int_not_equal(
	    sf_get_updated(f->c, "Lead", end, end + 60000, seq_upd, &q, &latest, &f->err), 0);
	assert_int_equal(q.n, 0);
	assert_string_equal(sf_error_code(f->c), "EXCEEDED_ID_LIMIT");
	assert_non_null(strstr(f->err.msg, "a minute cannot be split"));

	/* getDeleted the same way: the 12 deleted one every 3 minutes */
	for (int i = 0; i < 12; i++)
		ctl_ok(emu_ctlf(&f->e, "POST", "/__emu/records/Lead",
				"{\"op\":\"delete\",\"id\":\"%s\",\"ts\":%lld}", ids[i],
				(long long)(base + i * 180000 + 20000)),
		       &f->e, "delete");
	q.n = 0;
	if (sf_get_deleted(f->c, "Lead", base, end, seq_del, &q, &latest, &earliest, &f->err))
		fail_msg("getDeleted over a split window: %s", f->err.msg);
	assert_int_equal(q.n, 12);
	for (int i = 0; i < 12; i++)
		assert_string_equal(q.ids[i], ids[i]);
	assert_true(latest == end);
	assert_true(earliest > 0);
	fx_stop(f);
}

static void test_composite(void **state)
{
	struct fx *f = fx_start(NULL);
	seed(f, "Lead", 7);
	seed(f, "Account", 3);
	sf_buf u[3] = {{0}};
	sf_sub_result out[3];

	assert_int_equal(sf_login(f->c, &f->err), 0);
	sf_query_url(f->c, &u[0],
		     "SELECT Id FROM Lead WHERE SystemModstamp > 2000-01-01T00:00:00Z LIMIT 1");
	sf_query_url(f->c, &u[1], "SELECT Id FROM Account LIMIT 1");
	sf_query_url(f->c, &u[2], "SELECT Id FROM NoSuch__c LIMIT 1");
	const char *urls[3] = {u[0].s, u[1].s, u[2].s};
	int64_t before, after;
	sf_limits(f->c, &before, NULL, NULL);
	clear_log(f);
	assert_int_equal(sf_composite_get(f->c, urls, NULL, 3, out, &f->err), 0);
	assert_int_equal(calls(f, "/services/data"), 1);
	sf_limits(f->c, &after, NULL, NULL);
	assert_int_equal(after - before, 1);
	assert_int_equal(out[0].status, 200);
	assert_int_equal(out[0].total_size, 1);
	assert_int_equal(out[1].status, 200);
	assert_int_equal(out[2].status, 400);
	assert_string_equal(out[2].error_code, "INVALID_TYPE");
	assert_non_null(out[0].body);
	sf_sub_results_free(out, 3);
	for (int i = 0; i < 3; i++)
		sf_buf_free(&u[i]);

	/* Salesforce takes at most 5 queries per composite request: 12 queries
	 * and 4 describes go in 3 calls, every answer in its place; a describe
	 * with its own If-Modified-Since: 304 when nothing changed since */
	enum { NQ = 16 };
	sf_buf v[NQ] = {{0}};
	const char *vu[NQ], *ims[NQ] = {0};
	ims[3] = "Fri, 01 Jan 2100 00:00:00 GMT";
	ims[7] = "Thu, 01 Jan 2004 00:00:00 GMT";
	sf_sub_result o2[NQ];
	for (int i = 0; i < NQ; i++) {
		if (i % 4 == 3) {
			sf_data_path(f->c, &v[i], "/sobjects/Account/describe");
		} else {
			char soql[96];
			snprintf(soql, sizeof soql, "SELECT Id FROM %s LIMIT %d",
				 i % 2 ? "Account" : "Lead", i % 3 + 1);
			sf_query_url(f->c, &v[i], soql);
		}
		vu[i] = v[i].s;
	}
	sf_limits(f->c, &before, NULL, NULL);
	clear_log(f);
	assert_int_equal(sf_composite_get(f->c, vu, ims, NQ, o2, &f->err), 0);
	assert_int_equal(calls(f, "/services/data"), 3);
	sf_limits(f->c, &after, NULL, NULL);
	assert_int_equal(after - before, 3);
	assert_int_equal(o2[3].status, 304);
	assert_null(o2[3].body);
	for (int i = 0; i < NQ; i++) {
		if (i == 3)
			continue;
		assert_int_equal(o2[i].status, 200);
		if (i % 4 == 3)
			assert_true(strstr(o2[i].body, "\"name\":\"Account\"") != NULL);
		else
			assert_int_equal(o2[i].total_size, i % 3 + 1);
	}
	sf_sub_results_free(o2, NQ);
	for (int i = 0; i < NQ; i++)
		sf_buf_free(&v[i]);
	fx_stop(f);
}

/* Debug tracing on, stderr captured, every path that talks about auth run:
 * no password, client secret, refresh token or access token in the output. */
static void test_no_secret_in_logs(void **state)
{
	const char *args[] = {"--refresh-token", REFRESH, NULL};
	struct fx *f = fx_start(args);
	seed(f, "Lead", 450);
	char path[] = "/tmp/test_sf_emu_logXXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	int saved = dup(2);
	dup2(fd, 2);
	cs_log_set_level(CRMSYNC_LOG_DEBUG);

	struct collect col = {.expire_tokens_after_page = 1};
	query_leads(f, &col, 200, 0);
	char token[512];
	snprintf(token, sizeof token, "%s", f->c->access_token ? f->c->access_token : "none");
	sf_config cfg = base_config(f->e.url);
	cfg.grant = SF_GRANT_REFRESH_TOKEN;
	cfg.refresh_token = REFRESH;
	sf_client *c = sf_client_new(&cfg, &f->err);
	int rc = sf_login(c, &f->err);
	char token2[512];
	snprintf(token2, sizeof token2, "%s", c->access_token ? c->access_token : "none");
	sf_client_free(c);
	cfg = base_config(f->e.url);
	cfg.password = "wrong-" PASSWORD;
	c = sf_client_new(&cfg, &f->err);
	int rc2 = sf_login(c, &f->err);
	sf_client_free(c);

	cs_log_set_level(CRMSYNC_LOG_INFO);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	assert_int_equal(col.records, 450);
	assert_int_equal(rc, 0);
	assert_int_not_equal(rc2, 0);

	FILE *fp = fdopen(fd, "r");
	rewind(fp);
	static char text[1 << 20];
	size_t n = fread(text, 1, sizeof text - 1, fp);
	text[n] = '\0';
	fclose(fp);
	unlink(path);
	assert_true(n > 100); /* the debug trace was written */
	assert_non_null(strstr(text, "GET /services/data/v59.0/query"));
	no_secret_in(text);
	assert_true(strlen(token) > 8);
	assert_null(strstr(text, token));
	assert_null(strstr(text, token2));
	assert_null(strstr(text, "sync-password"));
	fx_stop(f);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		cmocka_set_test_filter(argv[1]); /* e.g. "test_replication" */
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_login_grants, teardown),
	    cmocka_unit_test_teardown(test_login_refused, teardown),
	    cmocka_unit_test_teardown(test_instance_url_refused, teardown),
	    cmocka_unit_test_teardown(test_describe, teardown),
	    cmocka_unit_test_teardown(test_query_paging, teardown),
	    cmocka_unit_test_teardown(test_reauth_mid_paging, teardown),
	    cmocka_unit_test_teardown(test_locator_expiry, teardown),
	    cmocka_unit_test_teardown(test_faults_retried, teardown),
	    cmocka_unit_test_teardown(test_faults_fatal, teardown),
	    cmocka_unit_test_teardown(test_second_401, teardown),
	    cmocka_unit_test_teardown(test_budget, teardown),
	    cmocka_unit_test_teardown(test_writes, teardown),
	    cmocka_unit_test_teardown(test_writes_batched, teardown),
	    cmocka_unit_test_teardown(test_duplicate_rules, teardown),
	    cmocka_unit_test_teardown(test_create_not_retried, teardown),
	    cmocka_unit_test_teardown(test_replication, teardown),
	    cmocka_unit_test_teardown(test_replication_split, teardown),
	    cmocka_unit_test_teardown(test_composite, teardown),
	    cmocka_unit_test_teardown(test_no_secret_in_logs, teardown),
	};
	return cmocka_run_group_tests_name("sf_emu", tests, NULL, NULL);
}
