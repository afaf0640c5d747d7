/*
 * conformance.c - the backend conformance suite. It loads a backend plugin with
 * the real loader and drives it only through the ABI (ops, host record
 * functions); application edits made with plain SQL go through a small
 * per-backend hook (hooks.h). The same code checks every backend; each
 * program built from it links the hooks it names with -DBT_HOOK_<NAME>
 * (tests/backend/conformance: SQLite, tests/pg/conformance_pg: PostgreSQL):
 *
 *   CRMSYNC_TEST_BACKEND_SO   the plugin file (default: the sqlite plugin of
 *                             this build)
 *   CRMSYNC_TEST_STORAGE      [storage] settings, "key=value;key=value"
 *                             (default: path=<a fresh temporary directory>/t.db)
 *
 * Every test starts from an empty store (the hook's reset).
 */
#include "config.h"
#include "conf.h"
#include "host.h"
#include "loader.h"
#include "hooks.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

static const crmsync_host *H;
static bt_settings settings;
static char so_path[4096];
static char tmpdir[4096];
static const bt_hook *hook;

static const bt_hook *const all_hooks[] = {
#ifdef BT_HOOK_SQLITE
    &bt_hook_sqlite,
#endif
#ifdef BT_HOOK_PG
    &bt_hook_pg,
#endif
    NULL};

const char *bt_setting(const bt_settings *s, const char *key)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->key[i], key) == 0)
			return s->value[i];
	return NULL;
}

typedef struct bt {
	cs_config *cfg;
	cs_loader *ld;
	cs_plugin *p;
	const crmsync_backend_ops *ops;
	void *st;
	cs_error err;
} bt;

#define OK(call)                                                                                   \
	do {                                                                                       \
		int rc_ = (call);                                                                  \
		if (rc_ != 0)                                                                      \
			fail_msg("%s -> %d: %s", #call, rc_, t->err.msg);                          \
	} while (0)

static void hook_exec(const char *fmt, ...) CRMSYNC_PRINTF(1, 2);
static void hook_exec(const char *fmt, ...)
{
	char sql[8192], msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof sql, fmt, ap);
	va_end(ap);
	if (hook->exec(&settings, sql, msg, sizeof msg))
		fail_msg("application SQL failed: %s", msg);
}

static const char *hook_query(char *out, size_t cap, const char *fmt, ...) CRMSYNC_PRINTF(3, 4);
static const char *hook_query(char *out, size_t cap, const char *fmt, ...)
{
	char sql[4096], msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof sql, fmt, ap);
	va_end(ap);
	if (hook->query(&settings, sql, out, cap, msg, sizeof msg))
		fail_msg("application query failed: %s", msg);
	return out;
}

static int bt_load(bt *t)
{
	t->cfg = cs_config_new();
	assert_non_null(t->cfg);
	for (size_t i = 0; i < settings.n; i++)
		if (cs_config_set(t->cfg, "storage", settings.key[i], settings.value[i], "test",
				  &t->err))
			fail_msg("config: %s", t->err.msg);
	t->ld = cs_loader_new(t->cfg, &t->err);
	if (!t->ld)
		fail_msg("loader: %s", t->err.msg);
	if (cs_loader_load_file(t->ld, so_path, &t->p, &t->err))
		fail_msg("loading %s: %s", so_path, t->err.msg);
	assert_int_equal(t->p->kind, CRMSYNC_KIND_BACKEND);
	t->ops = cs_plugin_backend(t->p);
	t->st = t->p->state;
	assert_true(t->ops->size >= offsetof(crmsync_backend_ops, row_read) + sizeof(void *));
	return t->ops->open(t->st, &t->err);
}

static void bt_unload(bt *t)
{
	if (t->ops)
		t->ops->close(t->st);
	cs_loader_free(t->ld);
	cs_config_free(t->cfg);
	t->ld = NULL;
	t->cfg = NULL;
	t->ops = NULL;
}

static int setup(void **state)
{
	char msg[1024];
	bt *t = calloc(1, sizeof *t);
	if (!t)
		return -1;
	if (hook->reset(&settings, msg, sizeof msg)) {
		fprintf(stderr, "# reset failed: %s\n", msg);
		free(t);
		return -1;
	}
	*state = t;
	if (bt_load(t)) {
		fprintf(stderr, "# open failed: %s\n", t->err.msg);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	bt *t = *state;
	bt_unload(t);
	free(t);
	return 0;
}

/* ---- schemas ---------------------------------------------------------- */

#define INJECT "x\"; DROP TABLE lead; --"

static const crmsync_field_desc lead_fields[] = {
    {.name = "Id", .type = CRMSYNC_ID, .crm_type = "id"},
    {.name = "FirstName", .type = CRMSYNC_STRING, .crm_type = "string"},
    {.name = "LastName", .type = CRMSYNC_STRING, .crm_type = "string"},
    {.name = "Company", .type = CRMSYNC_STRING, .crm_type = "string"},
    {.name = "Email", .type = CRMSYNC_STRING, .crm_type = "email"},
    {.name = "NumberOfEmployees", .type = CRMSYNC_INTEGER, .crm_type = "int"},
    {.name = "AnnualRevenue", .type = CRMSYNC_DOUBLE, .crm_type = "currency"},
    {.name = "HasOptedOutOfEmail", .type = CRMSYNC_BOOLEAN, .crm_type = "boolean"},
    {.name = "Birthdate__c", .type = CRMSYNC_DATE, .crm_type = "date"},
    {.name = "LastTransferDate", .type = CRMSYNC_DATETIME, .crm_type = "datetime"},
    {.name = "Interests__c", .type = CRMSYNC_STRING, .crm_type = "multipicklist"},
    {.name = "OwnerId", .type = CRMSYNC_ID, .crm_type = "reference", .reference_to = "User"},
    {.name = "SystemModstamp", .type = CRMSYNC_DATETIME, .crm_type = "datetime"},
    {.name = INJECT, .type = CRMSYNC_STRING, .crm_type = "string"},
};

static crmsync_unit_schema lead_schema(void)
{
	crmsync_unit_schema s = {.size = sizeof s,
				 .unit = "lead",
				 .sobject = "Lead",
				 .direction = CRMSYNC_BOTH,
				 .nfields = sizeof lead_fields / sizeof *lead_fields,
				 .fields = lead_fields};
	return s;
}

static const crmsync_field_desc account_fields[] = {
    {.name = "Id", .type = CRMSYNC_ID},
    {.name = "Name", .type = CRMSYNC_STRING},
    {.name = "Phone", .type = CRMSYNC_STRING},
    {.name = "SystemModstamp", .type = CRMSYNC_DATETIME},
};
static const crmsync_field_desc contact_fields[] = {
    {.name = "Id", .type = CRMSYNC_ID},
    {.name = "LastName", .type = CRMSYNC_STRING},
    {.name = "AccountId",
     .type = CRMSYNC_ID,
     .flags = CRMSYNC_FIELD_REFERENCE,
     .reference_to = "Account"},
    {.name = "SystemModstamp", .type = CRMSYNC_DATETIME},
};

static void ensure_lead(bt *t)
{
	crmsync_unit_schema s = lead_schema();
	OK(t->ops->ensure_unit(t->st, &s, &t->err));
}

/* ---- records ---------------------------------------------------------- */

static void set_str(crmsync_record *r, const char *f, int type, const char *v)
{
	crmsync_value x = {.type = type, .len = strlen(v), .u.s = v};
	assert_int_equal(H->record_set(r, f, &x), 0);
}
static void set_s(crmsync_record *r, const char *f, const char *v)
{
	if (v)
		set_str(r, f, CRMSYNC_STRING, v);
	else {
		crmsync_value x = {.type = CRMSYNC_NULL};
		assert_int_equal(H->record_set(r, f, &x), 0);
	}
}
static void set_i(crmsync_record *r, const char *f, int type, int64_t v)
{
	crmsync_value x = {.type = type, .u.i = v};
	if (type == CRMSYNC_BOOLEAN)
		x.u.b = (int)v;
	assert_int_equal(H->record_set(r, f, &x), 0);
}
static void set_d(crmsync_record *r, const char *f, double v)
{
	crmsync_value x = {.type = CRMSYNC_DOUBLE, .u.d = v};
	assert_int_equal(H->record_set(r, f, &x), 0);
}

/* A lead as the CRM sends it. */
static crmsync_record *lead_rec(const char *id, const char *last, int64_t stamp)
{
	crmsync_record *r = H->record_new();
	set_str(r, "Id", CRMSYNC_ID, id);
	set_s(r, "FirstName", "Ada");
	set_s(r, "LastName", last);
	set_s(r, "Company", "Analytical Engines");
	set_i(r, "NumberOfEmployees", CRMSYNC_INTEGER, 12);
	set_i(r, "SystemModstamp", CRMSYNC_DATETIME, stamp);
	return r;
}

static int upsert1(bt *t, const char *unit, crmsync_record *r, uint8_t *out)
{
	crmsync_record *recs[1] = {r};
	return t->ops->upsert(t->st, unit, recs, 1, out, &t->err);
}

/* Upsert one record and free it; returns the outcome. */
static int put(bt *t, crmsync_record *r)
{
	uint8_t out = 0;
	int rc = upsert1(t, "lead", r, &out);
	H->record_free(r);
	if (rc)
		fail_msg("upsert: %s", t->err.msg);
	return out;
}

static crmsync_record *read_row(bt *t, const char *unit, const char *id, int64_t row)
{
	crmsync_record *r = H->record_new();
	int rc = t->ops->row_read(t->st, unit, id, row, r, &t->err);
	if (rc)
		fail_msg("row_read %s %s: %s", unit, id ? id : "(row)", t->err.msg);
	return r;
}

static crmsync_value getv(const crmsync_record *r, const char *f)
{
	crmsync_value v;
	if (H->record_get(r, f, &v))
		fail_msg("field %s missing from the row", f);
	return v;
}

static void assert_text(const crmsync_record *r, const char *f, const char *want)
{
	crmsync_value v = getv(r, f);
	if (!want) {
		assert_int_equal(v.type, CRMSYNC_NULL);
		return;
	}
	if (v.type == CRMSYNC_NULL)
		fail_msg("%s is null, expected '%.40s'", f, want);
	assert_int_equal(v.len, strlen(want));
	assert_memory_equal(v.u.s, want, v.len);
}

/* ---- changes ---------------------------------------------------------- */

typedef struct got_change {
	int op;
	int64_t row, seq;
	char id[64];
	int attempts, marked;
	char last_error[512];
	char error[512];
	crmsync_record *values, *before;
} got_change;

typedef struct got {
	size_t n;
	got_change c[16];
} got;

static crmsync_record *copy_rec(const crmsync_record *src)
{
	if (!src)
		return NULL;
	crmsync_record *r = H->record_new();
	const char *f;
	crmsync_value v;
	for (size_t i = 0; H->record_at(src, i, &f, &v) == 0; i++)
		H->record_set(r, f, &v);
	return r;
}

static int collect(void *ud, const crmsync_change *c)
{
	got *g = ud;
	if (g->n == 16)
		return 1;
	got_change *x = &g->c[g->n++];
	memset(x, 0, sizeof *x);
	x->op = c->op;
	x->row = c->row;
	x->seq = c->seq;
	snprintf(x->id, sizeof x->id, "%s", c->id ? c->id : "");
	x->attempts = c->attempts;
	x->marked = c->marked;
	snprintf(x->last_error, sizeof x->last_error, "%s", c->last_error ? c->last_error : "");
	snprintf(x->error, sizeof x->error, "%s", c->error ? c->error : "");
	x->values = copy_rec(c->values);
	x->before = copy_rec(c->before);
	return 0;
}

static void got_free(got *g)
{
	for (size_t i = 0; i < g->n; i++) {
		H->record_free(g->c[i].values);
		H->record_free(g->c[i].before);
	}
	g->n = 0;
}

static void read_changes(bt *t, const crmsync_change_query *q, got *g)
{
	got_free(g);
	OK(t->ops->changes_read(t->st, "lead", q, collect, g, &t->err));
}

static size_t nfields(const crmsync_record *r)
{
	return r ? H->record_count(r) : 0;
}

/* ======================================================================= */

static void t_open_and_ensure(void **state)
{
	bt *t = *state;
	char buf[64];
	ensure_lead(t);
	ensure_lead(t); /* idempotent */
	assert_int_equal(put(t, lead_rec("00Q000000000001AAA", "Lovelace", 1000)), CRMSYNC_OUT_NEW);
	OK(t->ops->state_set(t->st, "lead", "watermark", "2026-01-01T00:00:00.000Z", &t->err));
	/* Close and open again: the table, the row and the state are still there. */
	bt_unload(t);
	OK(bt_load(t));
	ensure_lead(t);
	int n = t->ops->state_get(t->st, "lead", "watermark", buf, sizeof buf, &t->err);
	assert_int_equal(n, 24);
	assert_string_equal(buf, "2026-01-01T00:00:00.000Z");
	crmsync_record *r = read_row(t, "lead", "00Q000000000001AAA", 0);
	assert_text(r, "LastName", "Lovelace");
	H->record_free(r);
	/* Applications see plain tables and columns. */
	assert_string_equal(hook_query(buf, sizeof buf,
				       "SELECT lastname FROM lead WHERE id = '00Q000000000001AAA'"),
			    "Lovelace");
	assert_string_equal(hook_query(buf, sizeof buf, "SELECT numberofemployees + 1 FROM lead"),
			    "13");
}

static void t_upsert_outcomes(void **state)
{
	bt *t = *state;
	char buf[64];
	ensure_lead(t);
	crmsync_record *recs[3] = {lead_rec("00Q000000000001AAA", "One", 1000),
				   lead_rec("00Q000000000002AAA", "Two", 1000),
				   lead_rec("00Q000000000003AAA", "Three", 1000)};
	uint8_t out[3];
	OK(t->ops->upsert(t->st, "lead", recs, 3, out, &t->err));
	assert_int_equal(out[0], CRMSYNC_OUT_NEW);
	assert_int_equal(out[2], CRMSYNC_OUT_NEW);
	/* Same values, a newer stamp: skipped, and nothing is written. */
	set_i(recs[0], "SystemModstamp", CRMSYNC_DATETIME, 2000);
	set_s(recs[1], "LastName", "Two v2");
	set_i(recs[1], "SystemModstamp", CRMSYNC_DATETIME, 2000);
	H->record_unset(recs[2], "FirstName"); /* absent: left as it is */
	set_s(recs[2], "Company", "New Co");
	OK(t->ops->upsert(t->st, "lead", recs, 3, out, &t->err));
	assert_int_equal(out[0], CRMSYNC_OUT_SKIPPED);
	assert_int_equal(out[1], CRMSYNC_OUT_UPDATED);
	assert_int_equal(out[2], CRMSYNC_OUT_UPDATED);
	crmsync_record *r = read_row(t, "lead", "00Q000000000001AAA", 0);
	assert_int_equal(getv(r, "crm_modstamp").u.i, 1000);
	assert_int_equal(getv(r, "is_deleted").u.b, 0);
	assert_text(r, "sync_state", "synced");
	H->record_free(r);
	r = read_row(t, "lead", "00Q000000000002AAA", 0);
	assert_text(r, "LastName", "Two v2");
	assert_int_equal(getv(r, "crm_modstamp").u.i, 2000);
	H->record_free(r);
	r = read_row(t, "lead", "00Q000000000003AAA", 0);
	assert_text(r, "FirstName", "Ada");
	assert_text(r, "Company", "New Co");
	H->record_free(r);
	/* crm_modstamp is ISO text for applications. */
	assert_string_equal(hook_query(buf, sizeof buf,
				       "SELECT crm_modstamp FROM lead WHERE id = "
				       "'00Q000000000002AAA'"),
			    "1970-01-01T00:00:02.000Z");
	/* A tombstone is cleared by the next upsert even with equal values. */
	const char *ids[1] = {"00Q000000000001AAA"};
	OK(t->ops->mark_deleted(t->st, "lead", ids, NULL, 1, 0, out, &t->err));
	assert_int_equal(out[0], CRMSYNC_OUT_DELETED);
	OK(upsert1(t, "lead", recs[0], out));
	assert_int_equal(out[0], CRMSYNC_OUT_UPDATED);
	r = read_row(t, "lead", "00Q000000000001AAA", 0);
	assert_int_equal(getv(r, "is_deleted").u.b, 0);
	H->record_free(r);
	for (int i = 0; i < 3; i++)
		H->record_free(recs[i]);
}

/* Pages as a pull delivers them (hundreds of records in ascending Id order),
 * which a backend may store in bulk: every record's outcome and value must be
 * exactly what the row-by-row rules give, whether none, some or all of the
 * page's ids are stored, tombstones included, and in any order. */
/* Every outcome of a page is `want`; else fail naming the first other one. */
static void expect_all(const uint8_t *out, char (*id)[19], int n, int want, const char *what)
{
	for (int i = 0; i < n; i++)
		if (out[i] != want)
			fail_msg("%s record %d (%s): outcome %d, expected %d", what, i, id[i],
				 out[i], want);
}

static void t_upsert_pages(void **state)
{
	bt *t = *state;
	enum { N = 300 };
	crmsync_record *recs[N];
	uint8_t out[N];
	char id[N][19], last[32], buf[64];
	ensure_lead(t);
	/* a first copy: ids 00Q...000, 002, 004, ... (even), all new */
	for (int i = 0; i < N; i++) {
		snprintf(id[i], sizeof id[i], "00Q%012dAAA", 2 * i);
		snprintf(last, sizeof last, "Even %d", i);
		recs[i] = lead_rec(id[i], last, 1000 + i);
	}
	OK(t->ops->upsert(t->st, "lead", recs, N, out, &t->err));
	expect_all(out, id, N, CRMSYNC_OUT_NEW, "first copy");
	assert_string_equal(hook_query(buf, sizeof buf, "SELECT count(*) FROM lead"), "300");
	int probe[] = {0, 63, 64, 65, 127, 128, 255, 256, N - 1};
	for (size_t k = 0; k < sizeof probe / sizeof *probe; k++) {
		int i = probe[k];
		crmsync_record *r = read_row(t, "lead", id[i], 0);
		snprintf(last, sizeof last, "Even %d", i);
		assert_text(r, "LastName", last);
		assert_int_equal(getv(r, "crm_modstamp").u.i, 1000 + i);
		assert_int_equal(getv(r, "NumberOfEmployees").u.i, 12);
		assert_text(r, "sync_state", "synced");
		H->record_free(r);
	}
	/* one stored row becomes a tombstone (same values: the next upsert revives it) */
	const char *dead[1] = {id[70]};
	OK(t->ops->mark_deleted(t->st, "lead", dead, NULL, 1, 0, out, &t->err));
	for (int i = 0; i < N; i++)
		H->record_free(recs[i]);
	/* an incremental page: stored ids (even) and new ones (odd) interleaved;
	 * one stored row changed, the tombstone, the rest equal */
	for (int i = 0; i < N; i++) {
		int n = i; /* 0, 1, 2, ...: evens are stored (n/2), odds new */
		snprintf(id[i], sizeof id[i], "00Q%012dAAA", n);
		if (n % 2 == 0)
			snprintf(last, sizeof last, "Even %d", n / 2);
		else
			snprintf(last, sizeof last, "Odd %d", n);
		recs[i] = lead_rec(id[i], last, n % 2 == 0 ? 1000 + n / 2 : 5000 + n);
	}
	set_s(recs[100], "LastName", "Changed");
	OK(t->ops->upsert(t->st, "lead", recs, N, out, &t->err));
	for (int i = 0; i < N; i++) {
		int want = i % 2		    ? CRMSYNC_OUT_NEW
			   : (i == 100 || i == 140) ? CRMSYNC_OUT_UPDATED
						    : CRMSYNC_OUT_SKIPPED;
		if (out[i] != want)
			fail_msg("record %d (%s): outcome %d, expected %d", i, id[i], out[i], want);
	}
	crmsync_record *r = read_row(t, "lead", id[100], 0);
	assert_text(r, "LastName", "Changed");
	H->record_free(r);
	r = read_row(t, "lead", id[140], 0);
	assert_int_equal(getv(r, "is_deleted").u.b, 0);
	H->record_free(r);
	r = read_row(t, "lead", id[141], 0);
	assert_text(r, "LastName", "Odd 141");
	assert_int_equal(getv(r, "crm_modstamp").u.i, 5141);
	H->record_free(r);
	/* 150 new rows, 150 evens beyond the first copy's 300 */
	assert_string_equal(hook_query(buf, sizeof buf, "SELECT count(*) FROM lead"), "450");
	for (int i = 0; i < N; i++)
		H->record_free(recs[i]);
	/* the same in descending order, every value changed: all updated */
	for (int i = 0; i < N; i++) {
		snprintf(id[i], sizeof id[i], "00Q%012dAAA", N - 1 - i);
		snprintf(last, sizeof last, "Down %d", i);
		recs[i] = lead_rec(id[i], last, 9000 + i);
	}
	OK(t->ops->upsert(t->st, "lead", recs, N, out, &t->err));
	expect_all(out, id, N, CRMSYNC_OUT_UPDATED, "descending");
	r = read_row(t, "lead", id[N - 1], 0);
	snprintf(last, sizeof last, "Down %d", N - 1);
	assert_text(r, "LastName", last);
	H->record_free(r);
	for (int i = 0; i < N; i++)
		H->record_free(recs[i]);
	assert_string_equal(hook_query(buf, sizeof buf, "SELECT count(*) FROM lead"), "450");
	/* a page in no Id order (a pull is in SystemModstamp order), new records
	 * first; then one where a new id comes twice (the second copy wins) and
	 * stored rows, changed and unchanged, sit among new ones */
	for (int i = 0; i < N; i++) {
		snprintf(id[i], sizeof id[i], "00Q%012dBBB", (i * 7919) % N);
		snprintf(last, sizeof last, "Mixed %d", i);
		recs[i] = lead_rec(id[i], last, 20000 + i);
	}
	OK(t->ops->upsert(t->st, "lead", recs, N, out, &t->err));
	expect_all(out, id, N, CRMSYNC_OUT_NEW, "shuffled");
	for (int i = 0; i < N; i++)
		H->record_free(recs[i]);
	assert_string_equal(hook_query(buf, sizeof buf, "SELECT count(*) FROM lead"), "750");
	for (int i = 0; i < N; i++) {
		snprintf(id[i], sizeof id[i], "00Q%012dCCC", (i * 7919) % N);
		snprintf(last, sizeof last, "Again %d", i);
		recs[i] = lead_rec(id[i], last, 30000 + i);
	}
	snprintf(id[10], sizeof id[10], "%s", id[3]); /* the same new id twice */
	set_str(recs[10], "Id", CRMSYNC_ID, id[10]);
	snprintf(id[20], sizeof id[20], "00Q%012dBBB", 5); /* stored, changed */
	set_str(recs[20], "Id", CRMSYNC_ID, id[20]);
	for (int k = 0; k < N; k++) /* stored, unchanged: a copy of its record */
		if ((k * 7919) % N == 6) {
			snprintf(id[30], sizeof id[30], "00Q%012dBBB", 6);
			snprintf(last, sizeof last, "Mixed %d", k);
			H->record_free(recs[30]);
			recs[30] = lead_rec(id[30], last, 20000 + k);
		}
	OK(t->ops->upsert(t->st, "lead", recs, N, out, &t->err));
	for (int i = 0; i < N; i++) {
		int want = i == 10 || i == 20 ? CRMSYNC_OUT_UPDATED
			   : i == 30	      ? CRMSYNC_OUT_SKIPPED
					      : CRMSYNC_OUT_NEW;
		if (out[i] != want)
			fail_msg("mixed record %d (%s): outcome %d, expected %d", i, id[i], out[i],
				 want);
	}
	r = read_row(t, "lead", id[3], 0);
	assert_text(r, "LastName", "Again 10");
	assert_int_equal(getv(r, "crm_modstamp").u.i, 30010);
	H->record_free(r);
	r = read_row(t, "lead", id[20], 0);
	assert_text(r, "LastName", "Again 20");
	H->record_free(r);
	for (int i = 0; i < N; i++)
		H->record_free(recs[i]);
	/* 300 - 3 new rows (the copy, the two stored) */
	assert_string_equal(hook_query(buf, sizeof buf, "SELECT count(*) FROM lead"), "1047");
}

/* A page of new records in ascending Id order, as a first copy stores it,
 * with values of every kind: each must read back as one stored by itself.
 * One record lists its fields in another order and one carries another field
 * in place of one: stored with their own fields, in bulk or not. The page
 * again, unchanged but for one record: one updated, the rest skipped. */
static const char page_uni[] = "Zoë – 東京 🚀";
static const char page_meta[] = "O'Brien \"q\" \\; DROP TABLE lead; --";
static const double page_dbl[] = {0.1, 1e300, 12345678901234.56, 5e-324, -2.5, 3};

static crmsync_record *page_rec(int i, const char *last)
{
	static const int64_t stamps[] = {1764288000123,	  -1,	       0, 253402300799999,
					 -62135596800000, 951782400000};
	char id[32];
	snprintf(id, sizeof id, "00Q%012dVVV", i);
	crmsync_record *r = H->record_new();
	set_str(r, "Id", CRMSYNC_ID, id);
	const char *first = i % 4 == 0 ? page_uni : i % 4 == 1 ? "" : i % 4 == 2 ? NULL : page_meta;
	if (i == 70) /* another order */
		set_s(r, "LastName", last);
	set_s(r, "FirstName", first);
	if (i != 70)
		set_s(r, "LastName", last);
	set_i(r, "NumberOfEmployees", CRMSYNC_INTEGER,
	      i % 3 == 0   ? INT64_MAX
	      : i % 3 == 1 ? INT64_MIN
			   : i);
	set_d(r, "AnnualRevenue", page_dbl[i % 6]);
	set_i(r, "HasOptedOutOfEmail", CRMSYNC_BOOLEAN, i & 1);
	set_str(r, "Birthdate__c", CRMSYNC_DATE, "1815-12-10");
	set_i(r, "LastTransferDate", CRMSYNC_DATETIME,
	      stamps[i % 6] + (i % 6 == 0 || i % 6 == 4 ? i : 0));
	if (i == 140) /* another field in its place */
		set_s(r, "Email", "ada@example.com");
	else
		set_s(r, "Interests__c", "golf;chess");
	set_str(r, "OwnerId", CRMSYNC_ID, "005000000000001AAA");
	set_i(r, "SystemModstamp", CRMSYNC_DATETIME, 1000 + i);
	set_s(r, INJECT, page_meta);
	return r;
}

static void page_check(bt *t, int i, const char *last)
{
	char id[32];
	snprintf(id, sizeof id, "00Q%012dVVV", i);
	crmsync_record *want = page_rec(i, last), *r = read_row(t, "lead", id, 0);
	size_t n = H->record_count(want);
	for (size_t k = 0; k < n; k++) {
		const char *f;
		crmsync_value w, v;
		H->record_at(want, k, &f, &w);
		if (strcmp(f, "SystemModstamp") == 0) {
			assert_int_equal(getv(r, "crm_modstamp").u.i, w.u.i);
			continue;
		}
		v = getv(r, f);
		if (v.type != w.type)
			fail_msg("record %d, %s: type %d, expected %d", i, f, v.type, w.type);
		if (w.type == CRMSYNC_DOUBLE	? memcmp(&v.u.d, &w.u.d, sizeof w.u.d) != 0
		    : w.type == CRMSYNC_BOOLEAN ? v.u.b != w.u.b
		    : w.type == CRMSYNC_INTEGER || w.type == CRMSYNC_DATETIME ? v.u.i != w.u.i
		    : w.type == CRMSYNC_NULL				      ? 0
					     : v.len != w.len || memcmp(v.u.s, w.u.s, w.len) != 0)
			fail_msg("record %d, %s: stored value differs", i, f);
	}
	assert_text(r, "Email", i == 140 ? "ada@example.com" : NULL);
	assert_text(r, "Interests__c", i == 140 ? NULL : "golf;chess");
	assert_text(r, "sync_state", "synced");
	H->record_free(want);
	H->record_free(r);
}

static void t_upsert_page_values(void **state)
{
	bt *t = *state;
	enum { N = 200 };
	crmsync_record *recs[N];
	uint8_t out[N];
	char id[N][19], last[32], buf[64];
	ensure_lead(t);
	for (int i = 0; i < N; i++) {
		snprintf(id[i], sizeof id[i], "00Q%012dVVV", i);
		snprintf(last, sizeof last, "Row %d", i);
		recs[i] = page_rec(i, last);
	}
	OK(t->ops->upsert(t->st, "lead", recs, N, out, &t->err));
	expect_all(out, id, N, CRMSYNC_OUT_NEW, "first copy");
	assert_string_equal(hook_query(buf, sizeof buf, "SELECT count(*) FROM lead"), "200");
	for (int i = 0; i < N; i++) {
		snprintf(last, sizeof last, "Row %d", i);
		page_check(t, i, last);
	}
	/* datetimes read as ISO text, the year 1 and 9999 included */
	assert_string_equal(hook_query(buf, sizeof buf,
				       "SELECT lasttransferdate FROM lead WHERE id = "
				       "'00Q000000000003VVV'"),
			    "9999-12-31T23:59:59.999Z");
	assert_string_equal(hook_query(buf, sizeof buf,
				       "SELECT lasttransferdate FROM lead WHERE id = "
				       "'00Q000000000004VVV'"),
			    "0001-01-01T00:00:00.004Z");
	assert_string_equal(hook_query(buf, sizeof buf,
				       "SELECT lasttransferdate FROM lead WHERE id = "
				       "'00Q000000000001VVV'"),
			    "1969-12-31T23:59:59.999Z");
	for (int i = 0; i < N; i++)
		H->record_free(recs[i]);
	for (int i = 0; i < N; i++) {
		snprintf(last, sizeof last, i == 100 ? "Changed" : "Row %d", i);
		recs[i] = page_rec(i, last);
	}
	OK(t->ops->upsert(t->st, "lead", recs, N, out, &t->err));
	for (int i = 0; i < N; i++) {
		int want = i == 100 ? CRMSYNC_OUT_UPDATED : CRMSYNC_OUT_SKIPPED;
		if (out[i] != want)
			fail_msg("again, record %d: outcome %d, expected %d", i, out[i], want);
	}
	page_check(t, 100, "Changed");
	page_check(t, 70, "Row 70");
	for (int i = 0; i < N; i++)
		H->record_free(recs[i]);
	assert_string_equal(hook_query(buf, sizeof buf, "SELECT count(*) FROM lead"), "200");
}

static void t_values_round_trip(void **state)
{
	bt *t = *state;
	ensure_lead(t);
	size_t big = 100 * 1024;
	char *longtext = malloc(big + 1);
	for (size_t i = 0; i < big; i++)
		longtext[i] = (char)('a' + i % 26);
	longtext[big] = 0;
	static const char uni[] =
	    "Zoë Ærøskøbing – 東京 🚀 \xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7";
	static const char meta[] = "O'Brien \"quoted\" back\\slash; DROP TABLE lead; -- %s _ *";
	const int64_t dt = 1764288000123; /* 2025-11-28T00:00:00.123Z */
	static const double dbl[] = {0.1,  1e300,  12345678901234.56,
				     -0.0, 5e-324, -1.7976931348623157e308};
	for (int k = 0; k < 6; k++) {
		char id[32];
		snprintf(id, sizeof id, "00Q0000000000%02dAAA", k);
		crmsync_record *r = H->record_new();
		set_str(r, "Id", CRMSYNC_ID, id);
		set_s(r, "FirstName", k == 0 ? uni : k == 1 ? "" : k == 2 ? NULL : meta);
		set_s(r, "LastName", k == 0 ? longtext : "x");
		set_i(r, "NumberOfEmployees", CRMSYNC_INTEGER,
		      k == 0   ? INT64_MAX
		      : k == 1 ? INT64_MIN
			       : k);
		set_d(r, "AnnualRevenue", dbl[k]);
		set_i(r, "HasOptedOutOfEmail", CRMSYNC_BOOLEAN, k & 1);
		set_str(r, "Birthdate__c", CRMSYNC_DATE, "1815-12-10");
		set_i(r, "LastTransferDate", CRMSYNC_DATETIME, dt + k);
		set_s(r, "Interests__c", "golf;chess;a\\b");
		set_str(r, "OwnerId", CRMSYNC_ID, "005000000000001AAA");
		set_s(r, INJECT, meta);
		assert_int_equal(put(t, r), CRMSYNC_OUT_NEW);
	}
	for (int k = 0; k < 6; k++) {
		char id[32];
		snprintf(id, sizeof id, "00Q0000000000%02dAAA", k);
		crmsync_record *r = read_row(t, "lead", id, 0);
		assert_text(r, "FirstName", k == 0 ? uni : k == 1 ? "" : k == 2 ? NULL : meta);
		assert_text(r, "LastName", k == 0 ? longtext : "x");
		crmsync_value v = getv(r, "NumberOfEmployees");
		assert_int_equal(v.type, CRMSYNC_INTEGER);
		assert_true(v.u.i == (k == 0 ? INT64_MAX : k == 1 ? INT64_MIN : k));
		v = getv(r, "AnnualRevenue");
		assert_int_equal(v.type, CRMSYNC_DOUBLE);
		/* Bit for bit; -0.0 is documented to read back as 0.0. */
		double want = dbl[k] == 0 ? 0.0 : dbl[k];
		assert_memory_equal(&v.u.d, &want, sizeof want);
		v = getv(r, "HasOptedOutOfEmail");
		assert_int_equal(v.type, CRMSYNC_BOOLEAN);
		assert_int_equal(v.u.b, k & 1);
		v = getv(r, "Birthdate__c");
		assert_int_equal(v.type, CRMSYNC_DATE);
		assert_text(r, "Birthdate__c", "1815-12-10");
		v = getv(r, "LastTransferDate");
		assert_int_equal(v.type, CRMSYNC_DATETIME);
		assert_true(v.u.i == dt + k);
		assert_text(r, "Interests__c", "golf;chess;a\\b");
		assert_int_equal(getv(r, "OwnerId").type, CRMSYNC_ID);
		assert_text(r, INJECT, meta);
		H->record_free(r);
	}
	/* Writing the same values again changes nothing: exact comparison. */
	crmsync_record *r = read_row(t, "lead", "00Q000000000000AAA", 0);
	const char *drop[] = {"local_id",    "is_deleted", "crm_modstamp",
			      "merged_into", "sync_state", "sync_mark"};
	for (size_t i = 0; i < sizeof drop / sizeof *drop; i++)
		H->record_unset(r, drop[i]);
	assert_int_equal(put(t, r), CRMSYNC_OUT_SKIPPED);
	/* The table survived the field named like an injection. */
	char buf[64];
	assert_string_equal(hook_query(buf, sizeof buf, "SELECT count(*) FROM lead"), "6");
	/* Applications read datetimes as ISO text. */
	assert_string_equal(hook_query(buf, sizeof buf,
				       "SELECT lasttransferdate FROM lead WHERE id = "
				       "'00Q000000000000AAA'"),
			    "2025-11-28T00:00:00.123Z");
	free(longtext);
}

static void t_schema_growth(void **state)
{
	bt *t = *state;
	char buf[64];
	crmsync_field_desc f[] = {
	    {.name = "Id", .type = CRMSYNC_ID},
	    {.name = "LastName", .type = CRMSYNC_STRING},
	    {.name = "NumberOfEmployees", .type = CRMSYNC_INTEGER},
	    {.name = "Rating", .type = CRMSYNC_STRING},
	    {.name = "Score__c", .type = CRMSYNC_DOUBLE},
	};
	crmsync_unit_schema s = {.size = sizeof s,
				 .unit = "lead",
				 .sobject = "Lead",
				 .direction = CRMSYNC_BOTH,
				 .nfields = 5,
				 .fields = f};
	OK(t->ops->ensure_unit(t->st, &s, &t->err));
	crmsync_record *r = H->record_new();
	set_str(r, "Id", CRMSYNC_ID, "00Q000000000001AAA");
	set_s(r, "LastName", "Old");
	set_i(r, "NumberOfEmployees", CRMSYNC_INTEGER, 42);
	set_s(r, "Rating", "Hot");
	set_d(r, "Score__c", 0.1);
	assert_int_equal(put(t, r), CRMSYNC_OUT_NEW);

	/* NumberOfEmployees and Score__c become text, Rating goes away,
	 * Email is new. */
	crmsync_field_desc g[] = {
	    {.name = "Id", .type = CRMSYNC_ID},
	    {.name = "LastName", .type = CRMSYNC_STRING},
	    {.name = "NumberOfEmployees", .type = CRMSYNC_STRING},
	    {.name = "Score__c", .type = CRMSYNC_STRING},
	    {.name = "Email", .type = CRMSYNC_STRING},
	};
	s.fields = g;
	OK(t->ops->ensure_unit(t->st, &s, &t->err));
	OK(t->ops->ensure_unit(t->st, &s, &t->err));
	r = read_row(t, "lead", "00Q000000000001AAA", 0);
	assert_text(r, "NumberOfEmployees", "42");
	assert_text(r, "Score__c", "0.1");
	assert_text(r, "Email", NULL);
	assert_int_equal(H->record_get(r, "Rating", NULL), CRMSYNC_ENOENT);
	H->record_free(r);
	/* The removed field keeps its column and value for applications. */
	assert_string_equal(hook_query(buf, sizeof buf, "SELECT rating FROM lead"), "Hot");
	/* The old values are also kept as they were, in their old type (a
	 * store with strict types refuses to compare text with a number), and
	 * the new text column holds the same number. */
	assert_string_equal(hook_query(buf, sizeof buf,
				       "SELECT count(*) FROM lead WHERE score__c__was_real = 0.1 "
				       "AND numberofemployees__was_integer = 42 AND "
				       "CAST(score__c AS DOUBLE PRECISION) = 0.1"),
			    "1");
	/* New values of the changed type store and read back. */
	r = H->record_new();
	set_str(r, "Id", CRMSYNC_ID, "00Q000000000001AAA");
	set_s(r, "NumberOfEmployees", "007");
	set_s(r, "Email", "a@b.c");
	assert_int_equal(put(t, r), CRMSYNC_OUT_UPDATED);
	r = read_row(t, "lead", "00Q000000000001AAA", 0);
	assert_text(r, "NumberOfEmployees", "007");
	assert_text(r, "Email", "a@b.c");
	H->record_free(r);
}

static void t_transactions(void **state)
{
	bt *t = *state;
	char buf[64];
	uint8_t out[2];
	ensure_lead(t);
	/* A page and its checkpoint roll back together. */
	OK(t->ops->begin(t->st, &t->err));
	crmsync_record *a = lead_rec("00Q000000000001AAA", "A", 1000);
	OK(upsert1(t, "lead", a, out));
	OK(t->ops->state_set(t->st, "lead", "checkpoint", "page-1", &t->err));
	/* Applications keep reading while the page is open, and see none of it. */
	assert_string_equal(hook_query(buf, sizeof buf, "SELECT count(*) FROM lead"), "0");
	OK(t->ops->rollback(t->st, &t->err));
	assert_int_equal(t->ops->state_get(t->st, "lead", "checkpoint", buf, sizeof buf, &t->err),
			 CRMSYNC_ENOENT);
	crmsync_record *r = H->record_new();
	assert_int_equal(t->ops->row_read(t->st, "lead", "00Q000000000001AAA", 0, r, &t->err),
			 CRMSYNC_ENOENT);
	assert_non_null(strstr(t->err.msg, "00Q000000000001AAA"));
	/* A page and its checkpoint commit together. */
	OK(t->ops->begin(t->st, &t->err));
	OK(upsert1(t, "lead", a, out));
	OK(t->ops->state_set(t->st, "lead", "checkpoint", "page-1", &t->err));
	OK(t->ops->commit(t->st, &t->err));
	assert_int_equal(t->ops->state_get(t->st, "lead", "checkpoint", buf, sizeof buf, &t->err),
			 6);
	/* A failing page stores nothing of itself and keeps what came before. */
	crmsync_record *b = lead_rec("00Q000000000002AAA", "B", 1000);
	crmsync_record *bad = lead_rec("00Q000000000003AAA", "C", 1000);
	set_s(bad, "NumberOfEmployees", "many"); /* a string in an integer field */
	crmsync_record *page[2] = {b, bad};
	assert_int_equal(t->ops->upsert(t->st, "lead", page, 2, out, &t->err), CRMSYNC_EINVAL);
	assert_non_null(strstr(t->err.msg, "lead"));
	assert_non_null(strstr(t->err.msg, "00Q000000000003AAA"));
	assert_non_null(strstr(t->err.msg, "NumberOfEmployees"));
	assert_int_equal(t->ops->row_read(t->st, "lead", "00Q000000000002AAA", 0, r, &t->err),
			 CRMSYNC_ENOENT);
	/* The same inside a transaction: the op undoes itself, the rest commits. */
	OK(t->ops->begin(t->st, &t->err));
	OK(t->ops->state_set(t->st, "lead", "checkpoint", "page-2", &t->err));
	assert_int_equal(t->ops->upsert(t->st, "lead", page, 2, out, &t->err), CRMSYNC_EINVAL);
	OK(t->ops->commit(t->st, &t->err));
	assert_int_equal(t->ops->row_read(t->st, "lead", "00Q000000000002AAA", 0, r, &t->err),
			 CRMSYNC_ENOENT);
	t->ops->state_get(t->st, "lead", "checkpoint", buf, sizeof buf, &t->err);
	assert_string_equal(buf, "page-2");
	assert_string_equal(hook_query(buf, sizeof buf, "SELECT count(*) FROM lead"), "1");
	/* Nested begin and stray commit are refused with a message. */
	OK(t->ops->begin(t->st, &t->err));
	assert_int_equal(t->ops->begin(t->st, &t->err), CRMSYNC_EINVAL);
	OK(t->ops->commit(t->st, &t->err));
	assert_int_equal(t->ops->commit(t->st, &t->err), CRMSYNC_EINVAL);
	H->record_free(r);
	H->record_free(a);
	H->record_free(b);
	H->record_free(bad);
}

static void t_state(void **state)
{
	bt *t = *state;
	char buf[8];
	assert_int_equal(t->ops->state_get(t->st, "lead", "k", buf, sizeof buf, &t->err),
			 CRMSYNC_ENOENT);
	OK(t->ops->state_set(t->st, "lead", "k", "v1", &t->err));
	OK(t->ops->state_set(t->st, "lead", "k", "a longer value", &t->err));
	OK(t->ops->state_set(t->st, "contact", "k", "other", &t->err));
	assert_int_equal(t->ops->state_get(t->st, "lead", "k", buf, sizeof buf, &t->err), 14);
	assert_string_equal(buf, "a longe"); /* truncated like snprintf */
	assert_int_equal(t->ops->state_get(t->st, "contact", "k", buf, sizeof buf, &t->err), 5);
	assert_string_equal(buf, "other");
}

static void t_capture_app_edits(void **state)
{
	bt *t = *state;
	got g = {0};
	uint8_t out[1];
	ensure_lead(t);
	put(t, lead_rec("00Q000000000001AAA", "One", 1000));
	put(t, lead_rec("00Q000000000002AAA", "Two", 1000));
	put(t, lead_rec("00Q000000000003AAA", "Three", 1000));
	read_changes(t, NULL, &g);
	assert_int_equal(g.n, 0); /* the sync's own writes are not captured */

	hook_exec("UPDATE lead SET firstname = 'Grace', email = 'g@x.org' WHERE id = "
		  "'00Q000000000002AAA'");
	hook_exec("INSERT INTO lead(lastname, company) VALUES('Local', 'Shop')");
	hook_exec("DELETE FROM lead WHERE id = '00Q000000000003AAA'");
	hook_exec("UPDATE lead SET lastname = lastname WHERE id = '00Q000000000001AAA'");
	read_changes(t, NULL, &g);
	assert_int_equal(g.n, 3);
	/* oldest first */
	assert_int_equal(g.c[0].op, CRMSYNC_CHANGE_UPDATE);
	assert_string_equal(g.c[0].id, "00Q000000000002AAA");
	assert_int_equal(nfields(g.c[0].values), 2);
	assert_text(g.c[0].values, "FirstName", "Grace");
	assert_text(g.c[0].values, "Email", "g@x.org");
	assert_text(g.c[0].before, "FirstName", "Ada");
	assert_text(g.c[0].before, "Email", NULL);
	assert_int_equal(g.c[1].op, CRMSYNC_CHANGE_INSERT);
	assert_string_equal(g.c[1].id, "");
	assert_null(g.c[1].before);
	assert_int_equal(nfields(g.c[1].values), 2);
	assert_text(g.c[1].values, "LastName", "Local");
	assert_int_equal(g.c[2].op, CRMSYNC_CHANGE_DELETE);
	assert_string_equal(g.c[2].id, "00Q000000000003AAA");
	assert_true(g.c[0].seq < g.c[1].seq && g.c[1].seq < g.c[2].seq);

	/* None of the sync's writes adds to the log. */
	crmsync_record *r = lead_rec("00Q000000000002AAA", "Two v2", 3000);
	OK(upsert1(t, "lead", r, out));
	H->record_free(r);
	const char *ids[1] = {"00Q000000000001AAA"};
	OK(t->ops->mark_deleted(t->st, "lead", ids, NULL, 1, 0, out, &t->err));
	r = H->record_new();
	set_s(r, "Company", "Fixed");
	OK(t->ops->row_update(t->st, "lead", g.c[1].row, r, &t->err));
	H->record_free(r);
	got g2 = {0};
	read_changes(t, NULL, &g2);
	assert_int_equal(g2.n, 3);
	for (size_t i = 0; i < 3; i++)
		assert_true(g2.c[i].seq == g.c[i].seq);
	/* The engine's upsert of LastName is not a local change either. */
	assert_int_equal(H->record_get(g2.c[0].values, "LastName", NULL), CRMSYNC_ENOENT);
	crmsync_unit_stats st = {.size = sizeof st};
	OK(t->ops->unit_stats(t->st, "lead", &st, &t->err));
	assert_int_equal(st.pending, 3);
	got_free(&g);
	got_free(&g2);
}

/* A delete and a later insert stay two changes, also when the insert gets
 * the deleted row's key again (SQLite reuses the key of the table's last row
 * once it is deleted): there the insert waits until the delete is acked;
 * where keys are never reused, both are read at once. */
static void t_delete_then_insert_same_key(void **state)
{
	bt *t = *state;
	got g = {0};
	ensure_lead(t);
	put(t, lead_rec("00Q000000000001AAA", "One", 1000));
	hook_exec("DELETE FROM lead WHERE id = '00Q000000000001AAA'");
	hook_exec("INSERT INTO lead(lastname, company) VALUES('Fresh', 'Co')");
	read_changes(t, NULL, &g);
	assert_int_equal(g.n, hook->reuses_deleted_key ? 1 : 2);
	assert_int_equal(g.c[0].op, CRMSYNC_CHANGE_DELETE);
	assert_string_equal(g.c[0].id, "00Q000000000001AAA");
	int64_t deleted_row = g.c[0].row;
	if (!hook->reuses_deleted_key) {
		assert_int_equal(g.c[1].op, CRMSYNC_CHANGE_INSERT);
		assert_true(g.c[1].row != deleted_row);
		assert_true(g.c[1].seq > g.c[0].seq);
		assert_string_equal(g.c[1].id, "");
		assert_text(g.c[1].values, "LastName", "Fresh");
	}
	crmsync_change_ack a = {.size = sizeof a,
				.row = g.c[0].row,
				.seq = g.c[0].seq,
				.ok = 1,
				.id = "00Q000000000001AAA"};
	OK(t->ops->change_ack(t->st, "lead", &a, &t->err));
	read_changes(t, NULL, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.c[0].op, CRMSYNC_CHANGE_INSERT);
	if (hook->reuses_deleted_key)
		assert_true(g.c[0].row == deleted_row);
	else
		assert_true(g.c[0].row != deleted_row);
	assert_string_equal(g.c[0].id, ""); /* the deleted record's id did not stick */
	assert_text(g.c[0].values, "LastName", "Fresh");
	got_free(&g);
}

static void t_coalesce(void **state)
{
	bt *t = *state;
	got g = {0};
	char buf[64];
	ensure_lead(t);
	put(t, lead_rec("00Q000000000001AAA", "One", 1000));
	hook_exec("INSERT INTO lead(lastname, company) VALUES('L', 'C')");
	hook_query(buf, sizeof buf, "SELECT local_id FROM lead WHERE id IS NULL");
	hook_exec("UPDATE lead SET firstname = 'F' WHERE local_id = %s", buf);
	hook_exec("UPDATE lead SET lastname = 'L2' WHERE local_id = %s", buf);
	hook_exec("UPDATE lead SET email = 'e1' WHERE id = '00Q000000000001AAA'");
	hook_exec("UPDATE lead SET email = 'e2', firstname = 'Zed' WHERE id = "
		  "'00Q000000000001AAA'");
	hook_exec("UPDATE lead SET firstname = 'Ada' WHERE id = '00Q000000000001AAA'");
	read_changes(t, NULL, &g);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.c[0].op, CRMSYNC_CHANGE_INSERT);
	assert_int_equal(g.c[0].row, atoll(buf));
	assert_text(g.c[0].values, "LastName", "L2");
	assert_text(g.c[0].values, "FirstName", "F");
	assert_text(g.c[0].values, "Company", "C");
	assert_int_equal(g.c[1].op, CRMSYNC_CHANGE_UPDATE);
	/* FirstName went Ada -> Zed -> Ada: nothing to send for it. */
	assert_int_equal(nfields(g.c[1].values), 1);
	assert_text(g.c[1].values, "Email", "e2");
	assert_text(g.c[1].before, "Email", NULL);
	got_free(&g);
}

static void t_ack(void **state)
{
	bt *t = *state;
	got g = {0};
	char buf[64];
	ensure_lead(t);
	hook_exec("INSERT INTO lead(lastname, company, sync_mark) VALUES('New', 'Co', 1)");
	read_changes(t, NULL, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.c[0].marked, 1);
	/* The application edits again while the push is in flight. */
	hook_exec("UPDATE lead SET email = 'late@x.org' WHERE local_id = %lld",
		  (long long)g.c[0].row);
	crmsync_change_ack a = {.size = sizeof a,
				.row = g.c[0].row,
				.seq = g.c[0].seq,
				.ok = 1,
				.id = "00Q00000000000NAAA",
				.modstamp_ms = 5000};
	OK(t->ops->change_ack(t->st, "lead", &a, &t->err));
	crmsync_record *r = read_row(t, "lead", NULL, g.c[0].row);
	assert_text(r, "Id", "00Q00000000000NAAA");
	assert_int_equal(getv(r, "crm_modstamp").u.i, 5000);
	assert_text(r, "sync_state", "synced");
	H->record_free(r);
	/* Only the entries up to seq are done: the late edit is still pending. */
	read_changes(t, NULL, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.c[0].op, CRMSYNC_CHANGE_UPDATE);
	assert_string_equal(g.c[0].id, "00Q00000000000NAAA");
	assert_int_equal(nfields(g.c[0].values), 1);
	assert_text(g.c[0].values, "Email", "late@x.org");
	a.seq = g.c[0].seq;
	a.id = NULL;
	a.modstamp_ms = 6000;
	OK(t->ops->change_ack(t->st, "lead", &a, &t->err));
	read_changes(t, NULL, &g);
	assert_int_equal(g.n, 0);
	assert_string_equal(hook_query(buf, sizeof buf, "SELECT crm_modstamp FROM lead"),
			    "1970-01-01T00:00:06.000Z");
	got_free(&g);
}

static void t_ack_failure_and_retry(void **state)
{
	bt *t = *state;
	got g = {0};
	ensure_lead(t);
	put(t, lead_rec("00Q000000000001AAA", "One", 1000));
	put(t, lead_rec("00Q000000000002AAA", "Two", 1000));
	hook_exec("UPDATE lead SET company = 'X' WHERE id = '00Q000000000001AAA'");
	hook_exec("UPDATE lead SET company = 'Y' WHERE id = '00Q000000000002AAA'");
	read_changes(t, NULL, &g);
	assert_int_equal(g.n, 2);
	static const char msg[] = "Company: data value too large: \"X\" (max length=255) ü";
	crmsync_change_ack a = {.size = sizeof a,
				.row = g.c[0].row,
				.seq = g.c[0].seq,
				.ok = 0,
				.error_code = "STRING_TOO_LONG",
				.error_message = msg,
				.retry_at_ms = 10000};
	OK(t->ops->change_ack(t->st, "lead", &a, &t->err));
	crmsync_change_query q = {.size = sizeof q, .now_ms = 9999};
	read_changes(t, &q, &g);
	assert_int_equal(g.n, 1); /* the failed row waits; the other proceeds */
	assert_string_equal(g.c[0].id, "00Q000000000002AAA");
	q.now_ms = 10000;
	read_changes(t, &q, &g);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.c[0].id, "00Q000000000001AAA");
	assert_int_equal(g.c[0].attempts, 1);
	assert_string_equal(g.c[0].last_error, msg);
	assert_text(g.c[0].values, "Company", "X");
	crmsync_record *r = read_row(t, "lead", "00Q000000000001AAA", 0);
	assert_text(r, "sync_state", "failed");
	H->record_free(r);
	/* Failing again counts, and retry_at 0 means: not until edited again. */
	a.retry_at_ms = 0;
	OK(t->ops->change_ack(t->st, "lead", &a, &t->err));
	q.now_ms = INT64_MAX;
	read_changes(t, &q, &g);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.c[0].id, "00Q000000000002AAA");
	/* ... except when asked for by id ... */
	const char *ids[1] = {"00Q000000000001AAA"};
	crmsync_change_query qi = {.size = sizeof qi, .ids = ids, .nids = 1};
	read_changes(t, &qi, &g);
	assert_int_equal(g.n, 1);
	assert_string_equal(g.c[0].id, "00Q000000000001AAA");
	assert_int_equal(g.c[0].attempts, 2);
	crmsync_unit_stats st = {.size = sizeof st};
	OK(t->ops->unit_stats(t->st, "lead", &st, &t->err));
	assert_int_equal(st.pending, 2);
	assert_int_equal(st.failed, 1);
	/* ... or when retry times are ignored (now_ms 0, an explicit push) ... */
	crmsync_change_query q0 = {.size = sizeof q0};
	read_changes(t, &q0, &g);
	assert_int_equal(g.n, 2);
	/* ... and an application edit makes it due again. */
	hook_exec("UPDATE lead SET company = 'Z' WHERE id = '00Q000000000001AAA'");
	read_changes(t, &q, &g);
	assert_int_equal(g.n, 2);
	/* max limits the rows. */
	crmsync_change_query qm = {.size = sizeof qm, .max = 1, .now_ms = INT64_MAX};
	read_changes(t, &qm, &g);
	assert_int_equal(g.n, 1);
	got_free(&g);
}

static void t_invalid_utf8_fails_one_row(void **state)
{
	bt *t = *state;
	got g = {0};
	char sql[512];
	ensure_lead(t);
	put(t, lead_rec("00Q000000000001AAA", "One", 1000));
	put(t, lead_rec("00Q000000000002AAA", "Two", 1000));
	hook->bad_utf8_sql("lead", "firstname", "00Q000000000001AAA", sql, sizeof sql);
	if (hook->rejects_bad_utf8) {
		/* The store refuses it: nothing invalid can reach the sync. */
		char msg[512];
		assert_int_equal(hook->exec(&settings, sql, msg, sizeof msg), -1);
		hook_exec("UPDATE lead SET company = 'Fine' WHERE id = '00Q000000000002AAA'");
		read_changes(t, NULL, &g);
		assert_int_equal(g.n, 1);
		assert_string_equal(g.c[0].error, "");
		got_free(&g);
		return;
	}
	hook_exec("%s", sql);
	hook_exec("UPDATE lead SET company = 'Fine' WHERE id = '00Q000000000002AAA'");
	read_changes(t, NULL, &g);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.c[0].id, "00Q000000000001AAA");
	assert_non_null(strstr(g.c[0].error, "lead"));
	assert_non_null(strstr(g.c[0].error, "firstname"));
	assert_non_null(strstr(g.c[0].error, "UTF-8"));
	char rowtxt[32];
	snprintf(rowtxt, sizeof rowtxt, "row %lld", (long long)g.c[0].row);
	assert_non_null(strstr(g.c[0].error, rowtxt));
	assert_int_equal(H->record_get(g.c[0].values, "FirstName", NULL), CRMSYNC_ENOENT);
	assert_string_equal(g.c[1].error, "");
	assert_text(g.c[1].values, "Company", "Fine");
	got_free(&g);
}

static void t_shell_edit_captured_once(void **state)
{
	bt *t = *state;
	got g = {0};
	char msg[1024];
	uint8_t out[1];
	ensure_lead(t);
	put(t, lead_rec("00Q000000000001AAA", "One", 1000));
	/* The plugin's connection stays open while an operator edits. */
	if (hook->shell(&settings,
			"UPDATE lead SET email = 'shell@example.org' WHERE id = "
			"'00Q000000000001AAA';",
			msg, sizeof msg))
		fail_msg("%s", msg);
	read_changes(t, NULL, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.c[0].op, CRMSYNC_CHANGE_UPDATE);
	assert_int_equal(nfields(g.c[0].values), 1);
	assert_text(g.c[0].values, "Email", "shell@example.org");
	int64_t seq = g.c[0].seq;
	/* An engine write to the same row is never captured. */
	crmsync_record *r = lead_rec("00Q000000000001AAA", "One v2", 2000);
	OK(upsert1(t, "lead", r, out));
	assert_int_equal(out[0], CRMSYNC_OUT_UPDATED);
	H->record_free(r);
	read_changes(t, NULL, &g);
	assert_int_equal(g.n, 1);
	assert_true(g.c[0].seq == seq);
	assert_int_equal(nfields(g.c[0].values), 1);
	got_free(&g);
}

static void t_mark_deleted(void **state)
{
	bt *t = *state;
	char buf[64];
	ensure_lead(t);
	put(t, lead_rec("00Q000000000001AAA", "One", 1000));
	put(t, lead_rec("00Q000000000002AAA", "Two", 1000));
	put(t, lead_rec("00Q000000000003AAA", "Three", 1000));
	const char *ids[3] = {"00Q000000000001AAA", "00Q000000000002AAA", "00Q00000000000XAAA"};
	const char *mi[3] = {NULL, "00Q000000000003AAA", NULL};
	uint8_t out[3];
	OK(t->ops->mark_deleted(t->st, "lead", ids, mi, 3, 0, out, &t->err));
	assert_int_equal(out[0], CRMSYNC_OUT_DELETED);
	assert_int_equal(out[1], CRMSYNC_OUT_DELETED);
	assert_int_equal(out[2], CRMSYNC_OUT_SKIPPED);
	OK(t->ops->mark_deleted(t->st, "lead", ids, mi, 3, 0, out, &t->err));
	assert_int_equal(out[0], CRMSYNC_OUT_SKIPPED);
	crmsync_record *r = read_row(t, "lead", "00Q000000000002AAA", 0);
	assert_int_equal(getv(r, "is_deleted").u.b, 1);
	assert_text(r, "merged_into", "00Q000000000003AAA");
	H->record_free(r);
	assert_string_equal(
	    hook_query(buf, sizeof buf, "SELECT count(*) FROM lead WHERE is_deleted = 1"), "2");
	crmsync_unit_stats st = {.size = sizeof st};
	OK(t->ops->unit_stats(t->st, "lead", &st, &t->err));
	assert_int_equal(st.rows, 1);
	assert_int_equal(st.deleted, 2);
	/* remove=1 deletes the row. */
	OK(t->ops->mark_deleted(t->st, "lead", ids, NULL, 1, 1, out, &t->err));
	assert_int_equal(out[0], CRMSYNC_OUT_DELETED);
	r = H->record_new();
	assert_int_equal(t->ops->row_read(t->st, "lead", ids[0], 0, r, &t->err), CRMSYNC_ENOENT);
	H->record_free(r);
	got g = {0};
	read_changes(t, NULL, &g);
	assert_int_equal(g.n, 0);
}

static void t_merge(void **state)
{
	bt *t = *state;
	char buf[64];
	uint8_t out[1];
	crmsync_unit_schema a = {.size = sizeof a,
				 .unit = "account",
				 .sobject = "Account",
				 .direction = CRMSYNC_PULL,
				 .nfields = 4,
				 .fields = account_fields};
	crmsync_unit_schema c = {.size = sizeof c,
				 .unit = "contact",
				 .sobject = "Contact",
				 .direction = CRMSYNC_BOTH,
				 .nfields = 4,
				 .fields = contact_fields};
	OK(t->ops->ensure_unit(t->st, &a, &t->err));
	OK(t->ops->ensure_unit(t->st, &c, &t->err));
	crmsync_record *r = H->record_new();
	set_str(r, "Id", CRMSYNC_ID, "001000000000WINAAA");
	set_s(r, "Name", "Winner Inc");
	set_s(r, "Phone", "");
	OK(upsert1(t, "account", r, out));
	H->record_clear(r);
	set_str(r, "Id", CRMSYNC_ID, "001000000000LOSAAA");
	set_s(r, "Name", "Loser Ltd");
	set_s(r, "Phone", "+1 555 0100");
	OK(upsert1(t, "account", r, out));
	H->record_clear(r);
	set_str(r, "Id", CRMSYNC_ID, "003000000000001AAA");
	set_s(r, "LastName", "Child");
	set_str(r, "AccountId", CRMSYNC_ID, "001000000000LOSAAA");
	OK(upsert1(t, "contact", r, out));
	H->record_free(r);
	/* An application's own columns, added after the sync laid out the table. */
	hook_exec("ALTER TABLE account ADD COLUMN note TEXT");
	hook_exec("ALTER TABLE account ADD COLUMN tier TEXT");
	hook_exec("UPDATE account SET note = 'vip', tier = 'silver' WHERE id = "
		  "'001000000000LOSAAA'");
	hook_exec("UPDATE account SET tier = 'gold' WHERE id = '001000000000WINAAA'");
	OK(t->ops->merge(t->st, "account", "001000000000LOSAAA", "001000000000WINAAA", &t->err));
	r = read_row(t, "account", "001000000000WINAAA", 0);
	assert_text(r, "Name", "Winner Inc");
	/* The winner's CRM fields are the CRM's: an empty one is not filled
	 * from the loser, whose value the CRM itself dropped. */
	assert_text(r, "Phone", "");
	H->record_free(r);
	/* In the application's columns a value beats an empty one; the
	 * winner keeps its own. */
	assert_string_equal(
	    hook_query(buf, sizeof buf, "SELECT note FROM account WHERE id = '001000000000WINAAA'"),
	    "vip");
	assert_string_equal(
	    hook_query(buf, sizeof buf, "SELECT tier FROM account WHERE id = '001000000000WINAAA'"),
	    "gold");
	const char *dead[1] = {"001000000000LOSAAA"}, *win[1] = {"001000000000WINAAA"};
	OK(t->ops->mark_deleted(t->st, "account", dead, win, 1, 0, out, &t->err));
	assert_int_equal(out[0], CRMSYNC_OUT_DELETED);
	r = read_row(t, "account", "001000000000LOSAAA", 0);
	assert_int_equal(getv(r, "is_deleted").u.b, 1);
	assert_text(r, "merged_into", "001000000000WINAAA");
	H->record_free(r);
	r = read_row(t, "contact", "003000000000001AAA", 0);
	assert_text(r, "AccountId", "001000000000WINAAA");
	H->record_free(r);
	/* The issue found end to end: a winner whose reference is empty in the
	 * CRM must not get the loser's. */
	r = H->record_new();
	set_str(r, "Id", CRMSYNC_ID, "003000000000WINAAA");
	set_s(r, "LastName", "Kept");
	set_s(r, "AccountId", NULL);
	OK(upsert1(t, "contact", r, out));
	H->record_free(r);
	OK(t->ops->merge(t->st, "contact", "003000000000001AAA", "003000000000WINAAA", &t->err));
	r = read_row(t, "contact", "003000000000WINAAA", 0);
	assert_text(r, "AccountId", NULL);
	assert_text(r, "LastName", "Kept");
	H->record_free(r);
	/* Re-pointing the contact is the sync's write: not a local change. */
	assert_string_equal(hook_query(buf, sizeof buf, "SELECT count(*) FROM contact"), "2");
	got g = {0};
	OK(t->ops->changes_read(t->st, "contact", NULL, collect, &g, &t->err));
	assert_int_equal(g.n, 0);
}

/* A local-only row not marked for sync is acknowledged as deferred: a wait,
 * not a failure. Marking it (or editing it) makes it pending again. */
static void t_deferred_ack(void **state)
{
	bt *t = *state;
	got g = {0};
	ensure_lead(t);
	put(t, lead_rec("00Q000000000001AAA", "One", 1000));
	hook_exec("INSERT INTO lead(lastname, company) VALUES('Later', 'Shop')");
	hook_exec("INSERT INTO lead(lastname, company) VALUES('Edited', 'Shop')");
	hook_exec("UPDATE lead SET company = 'Bad' WHERE id = '00Q000000000001AAA'");
	read_changes(t, NULL, &g);
	assert_int_equal(g.n, 3);
	for (size_t i = 0; i < 3; i++) {
		crmsync_change_ack a = {.size = sizeof a, .row = g.c[i].row, .seq = g.c[i].seq};
		if (g.c[i].id[0]) { /* a real failure, for comparison */
			a.error_code = "FIELD_CUSTOM_VALIDATION_EXCEPTION";
			a.error_message = "no";
		} else {
			assert_int_equal(g.c[i].op, CRMSYNC_CHANGE_INSERT);
			assert_int_equal(g.c[i].marked, 0);
			a.error_code = "NOT_MARKED";
			a.error_message = "a local-only row not marked for sync";
			a.deferred = 1;
		}
		OK(t->ops->change_ack(t->st, "lead", &a, &t->err));
	}
	crmsync_unit_stats st = {.size = sizeof st};
	OK(t->ops->unit_stats(t->st, "lead", &st, &t->err));
	assert_int_equal(st.failed, 1); /* the deferred rows are not failures */
	assert_int_equal(st.unmarked_local, 2);
	crmsync_change_query q = {.size = sizeof q, .now_ms = INT64_MAX};
	read_changes(t, &q, &g);
	assert_int_equal(g.n, 0); /* nothing is due until the application acts */
	char buf[64];
	assert_string_equal(
	    hook_query(buf, sizeof buf,
		       "SELECT count(*) FROM lead WHERE sync_state = 'failed' AND id IS NULL"),
	    "0");

	/* Setting sync_mark, and nothing else, makes the row pending: an insert
	 * with every non-null field. */
	hook_exec("UPDATE lead SET sync_mark = 1 WHERE lastname = 'Later'");
	read_changes(t, &q, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.c[0].op, CRMSYNC_CHANGE_INSERT);
	assert_int_equal(g.c[0].marked, 1);
	assert_string_equal(g.c[0].id, "");
	assert_null(g.c[0].before);
	assert_int_equal(g.c[0].attempts, 0);
	assert_int_equal(nfields(g.c[0].values), 2);
	assert_text(g.c[0].values, "LastName", "Later");
	assert_text(g.c[0].values, "Company", "Shop");
	OK(t->ops->unit_stats(t->st, "lead", &st, &t->err));
	assert_int_equal(st.unmarked_local, 1);
	assert_int_equal(st.failed, 1);

	/* So does an edit of the other one, still unmarked. */
	hook_exec("UPDATE lead SET firstname = 'Eve' WHERE lastname = 'Edited'");
	read_changes(t, &q, &g);
	assert_int_equal(g.n, 2);
	assert_int_equal(g.c[1].op, CRMSYNC_CHANGE_INSERT);
	assert_int_equal(g.c[1].marked, 0);
	assert_text(g.c[1].values, "FirstName", "Eve");
	assert_text(g.c[1].values, "LastName", "Edited");
	got_free(&g);
}

static void put_stamp(bt *t, const char *id, int64_t stamp)
{
	assert_int_equal(put(t, lead_rec(id, "R", stamp)), CRMSYNC_OUT_NEW);
}

/* Id reconciliation finds rows hard-purged in the CRM. */
static void t_reconcile(void **state)
{
	bt *t = *state;
	char buf[64];
	int64_t n = -1;
	if (t->ops->size < offsetof(crmsync_backend_ops, reconcile_finish) + sizeof(void *))
		fail_msg("the backend has no reconcile ops");
	ensure_lead(t);
	put_stamp(t, "00Q000000000001AAA", 1000); /* seen */
	put_stamp(t, "00Q000000000002AAA", 1000); /* seen */
	put_stamp(t, "00Q000000000003AAA", 1000); /* purged */
	put_stamp(t, "00Q000000000004AAA", 1000); /* already a tombstone */
	put_stamp(t, "00Q000000000005AAA", 9000); /* pulled during the sweep */
	const char *dead[1] = {"00Q000000000004AAA"};
	uint8_t out[1];
	OK(t->ops->mark_deleted(t->st, "lead", dead, NULL, 1, 0, out, &t->err));
	hook_exec("INSERT INTO lead(lastname) VALUES('local only')");
	assert_int_equal(t->ops->reconcile_finish(t->st, "lead", &n, &t->err), CRMSYNC_EINVAL);

	OK(t->ops->reconcile_begin(t->st, "lead", 5000, &t->err));
	const char *b1[1] = {"00Q000000000001AAA"};
	const char *b2[2] = {"00Q00000000000ZAAA", "00Q000000000002AAA"};
	OK(t->ops->reconcile_seen(t->st, "lead", b1, 1, &t->err));
	OK(t->ops->begin(t->st, &t->err)); /* batches inside the engine's transactions */
	OK(t->ops->reconcile_seen(t->st, "lead", b2, 2, &t->err));
	OK(t->ops->reconcile_seen(t->st, "lead", b1, 1, &t->err)); /* twice is fine */
	OK(t->ops->commit(t->st, &t->err));
	OK(t->ops->reconcile_finish(t->st, "lead", &n, &t->err));
	assert_int_equal(n, 1);
	crmsync_record *r = read_row(t, "lead", "00Q000000000003AAA", 0);
	assert_int_equal(getv(r, "is_deleted").u.b, 1); /* a tombstone, not removed */
	H->record_free(r);
	assert_string_equal(
	    hook_query(buf, sizeof buf,
		       "SELECT count(*) FROM lead WHERE is_deleted = 0 AND id IS NOT NULL"),
	    "3");
	assert_string_equal(hook_query(buf, sizeof buf,
				       "SELECT is_deleted FROM lead WHERE lastname = 'local only'"),
			    "0");
	/* The sweep is the sync's write: nothing to push. */
	got g = {0};
	read_changes(t, NULL, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.c[0].op, CRMSYNC_CHANGE_INSERT);
	got_free(&g);

	/* A second sweep starts from nothing seen; many ids in batches. */
	enum { MANY = 3000 };
	static char idbuf[MANY][19];
	const char *ids[MANY];
	crmsync_record *recs[100];
	OK(t->ops->begin(t->st, &t->err));
	for (int i = 0; i < MANY; i++) {
		snprintf(idbuf[i], sizeof idbuf[i], "00Q1%011dAAA", i);
		ids[i] = idbuf[i];
		recs[i % 100] = lead_rec(ids[i], "Many", 2000);
		if (i % 100 == 99) {
			uint8_t o[100];
			OK(t->ops->upsert(t->st, "lead", recs, 100, o, &t->err));
			for (int k = 0; k < 100; k++)
				H->record_free(recs[k]);
		}
	}
	OK(t->ops->commit(t->st, &t->err));
	OK(t->ops->reconcile_begin(t->st, "lead", 5000, &t->err));
	for (int i = 0; i < MANY - 10; i += 500)
		OK(t->ops->reconcile_seen(t->st, "lead", ids + i,
					  (size_t)(MANY - 10 - i < 500 ? MANY - 10 - i : 500),
					  &t->err));
	OK(t->ops->reconcile_seen(t->st, "lead", b1, 1, &t->err));
	OK(t->ops->reconcile_finish(t->st, "lead", &n, &t->err));
	assert_int_equal(n, 10 + 1); /* the last ten, and lead 2 not seen this time */
	assert_string_equal(
	    hook_query(buf, sizeof buf,
		       "SELECT is_deleted FROM lead WHERE id = '00Q000000000002AAA'"),
	    "1");
}

/* Owner details next to leads and contacts (issue 7). */
static void t_owner_views(void **state)
{
	bt *t = *state;
	char buf[256];
	uint8_t out[1];
	static const crmsync_field_desc user_fields[] = {
	    {.name = "Id", .type = CRMSYNC_ID},
	    {.name = "Name", .type = CRMSYNC_STRING},
	    {.name = "Email", .type = CRMSYNC_STRING},
	    {.name = "Title", .type = CRMSYNC_STRING},
	    {.name = "Phone", .type = CRMSYNC_STRING},
	    {.name = "SystemModstamp", .type = CRMSYNC_DATETIME},
	};
	static const crmsync_field_desc owned_contact[] = {
	    {.name = "Id", .type = CRMSYNC_ID},
	    {.name = "LastName", .type = CRMSYNC_STRING},
	    {.name = "OwnerId", .type = CRMSYNC_ID, .reference_to = "User"},
	};
	crmsync_unit_schema us = {.size = sizeof us,
				  .unit = "user",
				  .sobject = "User",
				  .direction = CRMSYNC_PULL,
				  .nfields = 6,
				  .fields = user_fields};
	crmsync_unit_schema cs = {.size = sizeof cs,
				  .unit = "contact",
				  .sobject = "Contact",
				  .direction = CRMSYNC_BOTH,
				  .nfields = 3,
				  .fields = owned_contact};
	/* The lead before the user table, the contact after it. */
	ensure_lead(t);
	OK(t->ops->ensure_unit(t->st, &us, &t->err));
	OK(t->ops->ensure_unit(t->st, &cs, &t->err));
	crmsync_record *r = H->record_new();
	set_str(r, "Id", CRMSYNC_ID, "005000000000001AAA");
	set_s(r, "Name", "Olive Owner");
	set_s(r, "Email", "olive@example.org");
	set_s(r, "Title", "Sales Lead");
	set_s(r, "Phone", "+1 555 0199");
	OK(upsert1(t, "user", r, out));
	H->record_free(r);
	r = lead_rec("00Q000000000001AAA", "Owned", 1000);
	set_str(r, "OwnerId", CRMSYNC_ID, "005000000000001AAA");
	put(t, r);
	r = lead_rec("00Q000000000002AAA", "Queued", 1000);
	set_str(r, "OwnerId", CRMSYNC_ID, "00G000000000001AAA"); /* a queue */
	put(t, r);
	r = H->record_new();
	set_str(r, "Id", CRMSYNC_ID, "003000000000001AAA");
	set_s(r, "LastName", "Contact");
	set_str(r, "OwnerId", CRMSYNC_ID, "005000000000001AAA");
	OK(upsert1(t, "contact", r, out));
	H->record_free(r);
	assert_string_equal(
	    hook_query(buf, sizeof buf,
		       "SELECT lastname || '|' || company || '|' || owner_name || '|' || "
		       "owner_email || '|' || owner_title || '|' || owner_phone FROM lead_owner "
		       "WHERE id = '00Q000000000001AAA'"),
	    "Owned|Analytical Engines|Olive Owner|olive@example.org|Sales Lead|+1 555 0199");
	assert_string_equal(
	    hook_query(buf, sizeof buf,
		       "SELECT count(*) FROM lead_owner WHERE id = "
		       "'00Q000000000002AAA' AND owner_name IS NULL AND owner_email "
		       "IS NULL AND owner_title IS NULL AND owner_phone IS NULL"),
	    "1");
	assert_string_equal(hook_query(buf, sizeof buf, "SELECT count(*) FROM lead_owner"), "2");
	assert_string_equal(hook_query(buf, sizeof buf,
				       "SELECT owner_email FROM contact_owner WHERE id = "
				       "'003000000000001AAA'"),
			    "olive@example.org");
	/* A unit that grows a field keeps its view, with the new column. */
	crmsync_field_desc grown[4];
	memcpy(grown, owned_contact, sizeof owned_contact);
	grown[3] = (crmsync_field_desc){.name = "Department", .type = CRMSYNC_STRING};
	cs.fields = grown;
	cs.nfields = 4;
	OK(t->ops->ensure_unit(t->st, &cs, &t->err));
	assert_string_equal(
	    hook_query(buf, sizeof buf, "SELECT count(department) FROM contact_owner"), "0");
	assert_string_equal(hook_query(buf, sizeof buf, "SELECT owner_name FROM contact_owner"),
			    "Olive Owner");
}

/* The sync's writes are never captured, yet an application's own trigger
 * on a unit's table fires for them like for anyone's. */
static void t_app_trigger_fires(void **state)
{
	bt *t = *state;
	char sql[1024], buf[64];
	got g = {0};
	if (!hook->audit_trigger_sql)
		fail_msg("the %s hook has no audit_trigger_sql", hook->backend);
	ensure_lead(t);
	put(t, lead_rec("00Q000000000001AAA", "One", 1000));
	hook->audit_trigger_sql("lead", 1, sql, sizeof sql);
	hook_exec("%s", sql);
	assert_int_equal(put(t, lead_rec("00Q000000000001AAA", "One v2", 2000)),
			 CRMSYNC_OUT_UPDATED);
	assert_string_equal(hook_query(buf, sizeof buf, "SELECT count(*) FROM audit"), "1");
	read_changes(t, NULL, &g);
	assert_int_equal(g.n, 0);
	hook_exec("UPDATE lead SET email = 'app@x.org' WHERE id = '00Q000000000001AAA'");
	assert_string_equal(hook_query(buf, sizeof buf, "SELECT count(*) FROM audit"), "2");
	read_changes(t, NULL, &g);
	assert_int_equal(g.n, 1);
	/* Once the application drops its trigger, capture still ignores the
	 * sync's writes. */
	hook->audit_trigger_sql("lead", 0, sql, sizeof sql);
	hook_exec("%s", sql);
	assert_int_equal(put(t, lead_rec("00Q000000000001AAA", "One v3", 3000)),
			 CRMSYNC_OUT_UPDATED);
	read_changes(t, NULL, &g);
	assert_int_equal(g.n, 1);
	assert_int_equal(nfields(g.c[0].values), 1);
	assert_string_equal(hook_query(buf, sizeof buf, "SELECT count(*) FROM audit"), "2");
	got_free(&g);
}

static int count_history(void *ud, const crmsync_history_row *h)
{
	int *n = ud;
	assert_string_equal(h->unit, "lead");
	(*n)++;
	return 0;
}

static int check_error(void *ud, const crmsync_error_row *e)
{
	int *n = ud;
	assert_string_equal(e->message, "FIELD_CUSTOM_VALIDATION_EXCEPTION: \"Ünïcode\" 'quoted'");
	assert_string_equal(e->id, "00Q000000000001AAA");
	(*n)++;
	return 0;
}

static void t_bookkeeping(void **state)
{
	bt *t = *state;
	ensure_lead(t);
	for (int i = 0; i < 3; i++) {
		crmsync_history_row h = {.size = sizeof h,
					 .cycle = i + 1,
					 .unit = "lead",
					 .step = "pull",
					 .started_ms = 1000 * (i + 1),
					 .ended_ms = 1000 * (i + 1) + 500,
					 .n_new = 10,
					 .n_updated = 2,
					 .n_skipped = 7,
					 .status = "ok"};
		OK(t->ops->history_add(t->st, &h, &t->err));
		crmsync_error_row e = {.size = sizeof e,
				       .at_ms = 1000 * (i + 1),
				       .cycle = i + 1,
				       .unit = "lead",
				       .step = "push",
				       .id = "00Q000000000001AAA",
				       .code = "FIELD_CUSTOM_VALIDATION_EXCEPTION",
				       .message = "FIELD_CUSTOM_VALIDATION_EXCEPTION: \"Ünïcode\" "
						  "'quoted'"};
		OK(t->ops->error_add(t->st, &e, &t->err));
		crmsync_conflict_row c = {.size = sizeof c,
					  .at_ms = 1000 * (i + 1),
					  .unit = "lead",
					  .id = "00Q000000000001AAA",
					  .field = "Email",
					  .local_value = "a@x",
					  .crm_value = "b@x",
					  .winner = "local"};
		OK(t->ops->conflict_add(t->st, &c, &t->err));
	}
	int n = 0;
	OK(t->ops->history_read(t->st, 2000, count_history, &n, &t->err));
	assert_int_equal(n, 2);
	n = 0;
	OK(t->ops->errors_read(t->st, 0, check_error, &n, &t->err));
	assert_int_equal(n, 3);
	crmsync_unit_stats st = {.size = sizeof st};
	OK(t->ops->unit_stats(t->st, "lead", &st, &t->err));
	assert_int_equal(st.conflicts, 3);
	OK(t->ops->retention(t->st, 2600, &t->err));
	n = 0;
	OK(t->ops->history_read(t->st, 0, count_history, &n, &t->err));
	assert_int_equal(n, 1);
	n = 0;
	OK(t->ops->errors_read(t->st, 0, check_error, &n, &t->err));
	assert_int_equal(n, 1);
	OK(t->ops->unit_stats(t->st, "lead", &st, &t->err));
	assert_int_equal(st.conflicts, 1);
}

static void t_stats_local_rows(void **state)
{
	bt *t = *state;
	ensure_lead(t);
	put(t, lead_rec("00Q000000000001AAA", "One", 1000));
	hook_exec("INSERT INTO lead(lastname) VALUES('unmarked')");
	hook_exec("INSERT INTO lead(lastname, sync_mark) VALUES('marked', 1)");
	crmsync_unit_stats st = {.size = sizeof st};
	OK(t->ops->unit_stats(t->st, "lead", &st, &t->err));
	assert_int_equal(st.rows, 3);
	assert_int_equal(st.unmarked_local, 1);
	assert_int_equal(st.pending, 2);
	/* A local row deleted before it was ever pushed leaves nothing to push. */
	hook_exec("DELETE FROM lead WHERE lastname = 'unmarked'");
	OK(t->ops->unit_stats(t->st, "lead", &st, &t->err));
	assert_int_equal(st.pending, 1);
	assert_int_equal(st.unmarked_local, 0);
}

static void t_errors_name_what_and_where(void **state)
{
	bt *t = *state;
	uint8_t out[1];
	crmsync_record *r = lead_rec("00Q000000000001AAA", "One", 1000);
	assert_int_equal(upsert1(t, "opportunity", r, out), CRMSYNC_ENOENT);
	assert_non_null(strstr(t->err.msg, "opportunity"));
	ensure_lead(t);
	/* A field the schema lacks is not stored, and does not fail the page. */
	set_s(r, "NoSuchField__c", "x");
	OK(upsert1(t, "lead", r, out));
	assert_int_equal(out[0], CRMSYNC_OUT_NEW);
	crmsync_record *back = read_row(t, "lead", "00Q000000000001AAA", 0);
	assert_int_equal(H->record_get(back, "NoSuchField__c", NULL), CRMSYNC_ENOENT);
	assert_text(back, "LastName", "One");
	H->record_free(back);
	/* A value of the wrong type fails, naming unit, record and field. */
	set_s(r, "HasOptedOutOfEmail", "yes");
	assert_int_equal(upsert1(t, "lead", r, out), CRMSYNC_EINVAL);
	assert_non_null(strstr(t->err.msg, "HasOptedOutOfEmail"));
	assert_non_null(strstr(t->err.msg, "00Q000000000001AAA"));
	assert_non_null(strstr(t->err.msg, "lead"));
	H->record_free(r);
	/* A field that would collide with a bookkeeping column is refused. */
	crmsync_field_desc f[] = {{.name = "Id", .type = CRMSYNC_ID},
				  {.name = "Is_Deleted", .type = CRMSYNC_BOOLEAN}};
	crmsync_unit_schema s = {.size = sizeof s,
				 .unit = "thing__c",
				 .sobject = "Thing__c",
				 .direction = CRMSYNC_PULL,
				 .nfields = 2,
				 .fields = f};
	assert_int_equal(t->ops->ensure_unit(t->st, &s, &t->err), CRMSYNC_EINVAL);
	assert_non_null(strstr(t->err.msg, "thing__c"));
	assert_non_null(strstr(t->err.msg, "Is_Deleted"));
}

/* A store without settings is refused at init, naming the config section. */
static void t_config_refused(void **state)
{
	cs_error err = CS_ERROR_INIT;
	cs_config *cfg = cs_config_new();
	cs_loader *ld = cs_loader_new(cfg, &err);
	cs_plugin *p = NULL;
	(void)state;
	assert_non_null(ld);
	assert_true(cs_loader_load_file(ld, so_path, &p, &err) < 0);
	assert_non_null(strstr(err.msg, "[storage]"));
	cs_loader_free(ld);
	cs_config_free(cfg);
}

/* ---- main --------------------------------------------------------------- */

static void parse_settings(const char *spec)
{
	char *dup = strdup(spec), *save = NULL;
	for (char *p = strtok_r(dup, ";", &save); p && settings.n < 16;
	     p = strtok_r(NULL, ";", &save)) {
		char *eq = strchr(p, '=');
		if (!eq)
			continue;
		*eq = 0;
		settings.key[settings.n] = strdup(p);
		settings.value[settings.n] = strdup(eq + 1);
		settings.n++;
	}
	free(dup);
}

static void cleanup(void)
{
	if (tmpdir[0]) {
		char msg[256];
		if (hook)
			hook->reset(&settings, msg, sizeof msg);
		rmdir(tmpdir);
	}
	for (size_t i = 0; i < settings.n; i++) {
		free(settings.key[i]);
		free(settings.value[i]);
	}
}

int main(void)
{
	const char *so = getenv("CRMSYNC_TEST_BACKEND_SO");
	const char *storage = getenv("CRMSYNC_TEST_STORAGE");
	const char *top = getenv("top_builddir");
	H = cs_host_table();
	if (so)
		snprintf(so_path, sizeof so_path, "%s", so);
	else
		snprintf(so_path, sizeof so_path, "%s/plugins/backends/sqlite/.libs/sqlite.so",
			 top ? top : ".");
	if (storage) {
		parse_settings(storage);
	} else {
		snprintf(tmpdir, sizeof tmpdir, "%s/conformance.XXXXXX",
			 top		    ? top
			 : getenv("TMPDIR") ? getenv("TMPDIR")
					    : "/tmp");
		if (!mkdtemp(tmpdir)) {
			printf("Bail out! cannot create a directory under %s\n", tmpdir);
			return 1;
		}
		char spec[4200];
		snprintf(spec, sizeof spec, "path=%s/t.db", tmpdir);
		parse_settings(spec);
	}
	const char *stem = strrchr(so_path, '/');
	stem = stem ? stem + 1 : so_path;
	for (const bt_hook *const *h = all_hooks; *h; h++)
		if (strncmp(stem, (*h)->backend, strlen((*h)->backend)) == 0 &&
		    stem[strlen((*h)->backend)] == '.')
			hook = *h;
	if (!hook) {
		printf("Bail out! no application-side hook for backend %s: add one to "
		       "tests/backend\n",
		       stem);
		cleanup();
		return 1;
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(t_open_and_ensure, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_upsert_outcomes, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_upsert_pages, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_upsert_page_values, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_values_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_schema_growth, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_transactions, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_state, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_capture_app_edits, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_coalesce, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_delete_then_insert_same_key, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_ack, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_ack_failure_and_retry, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_invalid_utf8_fails_one_row, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_shell_edit_captured_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_mark_deleted, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_merge, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_deferred_ack, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_reconcile, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_owner_views, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_app_trigger_fires, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_bookkeeping, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_stats_local_rows, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_errors_name_what_and_where, setup, teardown),
	    cmocka_unit_test(t_config_refused),
	};
	int rc = cmocka_run_group_tests_name("backend conformance", tests, NULL, NULL);
	cleanup();
	return rc;
}
