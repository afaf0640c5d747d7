/*
 * copy_pg.c - the PostgreSQL backend's first-copy path: a page of new records
 * whose ids ascend is written by COPY (pg_rows.c). These tests drive the plugin
 * through the ABI like tests/backend/conformance.c and check, as an
 * application would see it, that such a page stores exactly what the
 * one-statement path stores, reports every record new, is not captured as a
 * local change, and that pages COPY must not write (stored ids among them,
 * a collation that hides them from the range probe, a column type an
 * application chose, a bad value) are stored and reported as before.
 *
 * Which path wrote a page is seen the way an application could see it: a
 * statement trigger of the test's own records the client's statement
 * (current_query()) of each committed insert.
 *
 *   CRMSYNC_TEST_BACKEND_SO   the plugin file (postgres.so of this build)
 *   CRMSYNC_TEST_PG_CONNINFO  a database the test may fill (schema crmsync_copy)
 */
#include "config.h"
#include "conf.h"
#include "host.h"
#include "loader.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCHEMA "crmsync_copy"
#define N 64 /* records per page: enough for the COPY path (32 or more) */

static const crmsync_host *H;
static const char *so_path, *conninfo;

typedef struct ct {
	cs_config *cfg;
	cs_loader *ld;
	cs_plugin *p;
	const crmsync_backend_ops *ops;
	void *st;
	cs_error err;
	PGconn *app; /* the application's own connection */
} ct;

#define OK(call)                                                                                   \
	do {                                                                                       \
		int rc_ = (call);                                                                  \
		if (rc_ != 0)                                                                      \
			fail_msg("%s -> %d: %s", #call, rc_, t->err.msg);                          \
	} while (0)

/* ---- the application's side ------------------------------------------- */

static void app_exec(ct *t, const char *fmt, ...) CRMSYNC_PRINTF(2, 3);
static void app_exec(ct *t, const char *fmt, ...)
{
	char sql[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof sql, fmt, ap);
	va_end(ap);
	PGresult *r = PQexec(t->app, sql);
	ExecStatusType st = PQresultStatus(r);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
		fail_msg("application SQL failed: %s: %s", sql, PQerrorMessage(t->app));
	PQclear(r);
}

/* The first column of the first row ("NULL" for null, "" for no row). */
static const char *app_query(ct *t, char *out, size_t cap, const char *fmt, ...)
    CRMSYNC_PRINTF(4, 5);
static const char *app_query(ct *t, char *out, size_t cap, const char *fmt, ...)
{
	char sql[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(sql, sizeof sql, fmt, ap);
	va_end(ap);
	PGresult *r = PQexec(t->app, sql);
	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		fail_msg("application query failed: %s: %s", sql, PQerrorMessage(t->app));
	out[0] = 0;
	if (PQntuples(r))
		snprintf(out, cap, "%s", PQgetisnull(r, 0, 0) ? "NULL" : PQgetvalue(r, 0, 0));
	PQclear(r);
	return out;
}

/* Record, for each committed insert statement into TABLE, how the client
 * sent it: "COPY" or "WITH" (the one-statement upsert). */
static void watch_inserts(ct *t, const char *table)
{
	app_exec(t,
		 "CREATE TABLE IF NOT EXISTS ins_seen(tab text, how text);"
		 "CREATE OR REPLACE FUNCTION ins_seen_note() RETURNS trigger LANGUAGE plpgsql AS "
		 "$$BEGIN INSERT INTO ins_seen VALUES (TG_TABLE_NAME, "
		 "upper(left(ltrim(current_query()), 4))); RETURN NULL; END$$;"
		 "CREATE TRIGGER %s_seen AFTER INSERT ON \"%s\" FOR EACH STATEMENT "
		 "EXECUTE FUNCTION ins_seen_note()",
		 table, table);
}

/* How the inserts into TABLE since the last call were sent, e.g. "COPY" or
 * "WITH,WITH" ("" for none). */
static const char *inserts_seen(ct *t, const char *table, char *out, size_t cap)
{
	app_query(t, out, cap,
		  "WITH d AS (DELETE FROM ins_seen WHERE tab = '%s' RETURNING how) SELECT "
		  "coalesce(string_agg(how, ',' ORDER BY how), '') FROM d",
		  table);
	return out;
}

/* ---- plugin ------------------------------------------------------------ */

static int setup(void **state)
{
	ct *t = calloc(1, sizeof *t);
	if (!t)
		return -1;
	*state = t;
	t->app = PQconnectdb(conninfo);
	if (PQstatus(t->app) != CONNECTION_OK) {
		fprintf(stderr, "# connecting: %s\n", PQerrorMessage(t->app));
		return -1;
	}
	PQclear(PQexec(t->app, "SET client_min_messages = warning; DROP SCHEMA IF EXISTS " SCHEMA
			       " CASCADE; CREATE SCHEMA " SCHEMA "; SET search_path = " SCHEMA));
	t->cfg = cs_config_new();
	if (!t->cfg || cs_config_set(t->cfg, "storage", "conninfo", conninfo, "test", &t->err) ||
	    cs_config_set(t->cfg, "storage", "schema", SCHEMA, "test", &t->err))
		return -1;
	t->ld = cs_loader_new(t->cfg, &t->err);
	if (!t->ld || cs_loader_load_file(t->ld, so_path, &t->p, &t->err)) {
		fprintf(stderr, "# loading %s: %s\n", so_path, t->err.msg);
		return -1;
	}
	t->ops = cs_plugin_backend(t->p);
	t->st = t->p->state;
	if (t->ops->open(t->st, &t->err)) {
		fprintf(stderr, "# open: %s\n", t->err.msg);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	ct *t = *state;
	if (t->ops)
		t->ops->close(t->st);
	cs_loader_free(t->ld);
	cs_config_free(t->cfg);
	PQfinish(t->app);
	free(t);
	return 0;
}

static const crmsync_field_desc lead_fields[] = {
    {.name = "Id", .type = CRMSYNC_ID, .crm_type = "id"},
    {.name = "FirstName", .type = CRMSYNC_STRING, .crm_type = "string"},
    {.name = "LastName", .type = CRMSYNC_STRING, .crm_type = "string"},
    {.name = "NumberOfEmployees", .type = CRMSYNC_INTEGER, .crm_type = "int"},
    {.name = "AnnualRevenue", .type = CRMSYNC_DOUBLE, .crm_type = "currency"},
    {.name = "HasOptedOutOfEmail", .type = CRMSYNC_BOOLEAN, .crm_type = "boolean"},
    {.name = "Birthdate__c", .type = CRMSYNC_DATE, .crm_type = "date"},
    {.name = "LastTransferDate", .type = CRMSYNC_DATETIME, .crm_type = "datetime"},
    {.name = "OwnerId", .type = CRMSYNC_ID, .crm_type = "reference", .reference_to = "User"},
    {.name = "SystemModstamp", .type = CRMSYNC_DATETIME, .crm_type = "datetime"},
    {.name = "x\"; DROP TABLE lead; --", .type = CRMSYNC_STRING, .crm_type = "string"},
};

static void ensure(ct *t, const char *unit)
{
	crmsync_unit_schema s = {.size = sizeof s,
				 .unit = unit,
				 .sobject = "Lead",
				 .direction = CRMSYNC_BOTH,
				 .nfields = sizeof lead_fields / sizeof *lead_fields,
				 .fields = lead_fields};
	OK(t->ops->ensure_unit(t->st, &s, &t->err));
}

/* ---- records ------------------------------------------------------------ */

static void set_s(crmsync_record *r, const char *f, int type, const char *v)
{
	crmsync_value x = {.type = v ? type : CRMSYNC_NULL, .len = v ? strlen(v) : 0, .u.s = v};
	assert_int_equal(H->record_set(r, f, &x), 0);
}
static void set_i(crmsync_record *r, const char *f, int type, int64_t v)
{
	crmsync_value x = {.type = type, .u.i = v};
	if (type == CRMSYNC_BOOLEAN)
		x.u.b = (int)v;
	assert_int_equal(H->record_set(r, f, &x), 0);
}
static void set_null(crmsync_record *r, const char *f)
{
	crmsync_value x = {.type = CRMSYNC_NULL};
	assert_int_equal(H->record_set(r, f, &x), 0);
}

static char longtext[20001];

/* Text that COPY's format treats specially, and text that is plain. */
static const char *const texts[] = {
    NULL,
    "",
    "\\N",
    "\\.",
    "a\tb",
    "line\nbreak\r\nend\r",
    "back\\slash\\",
    "O'Brien \"quoted\"; DROP TABLE lead; -- %s _ *",
    "Zoë Ærøskøbing – 東京 🚀 \xd9\x85\xd8\xb1\xd8\xad\xd8\xa8\xd8\xa7",
    " leading and trailing ",
    "\\\\t\\n not escapes",
    longtext,
    "NULL",
    "0123456\t89abcdef", /* the special bytes at each place of an 8-byte word */
    "tab at nine\there and \\ at 24",
    "abcdefgh\\jklmnop\nrst",
    "ctrl \x01 and del \x7f",
    "12345678\xc3\xa9",
};
#define NTEXTS (sizeof texts / sizeof *texts)
static const double dbls[] = {0.1,
			      1e300,
			      12345678901234.56,
			      -0.0,
			      5e-324,
			      -1.7976931348623157e308,
			      3,
			      0.05,
			      -0.5,
			      1234.5678,
			      999999999999999.9,
			      0.30000000000000004,
			      1e-5,
			      -123.45,
			      100.01,
			      1e15,
			      -999999999999999.0,
			      2.675,
			      9007199254740993.0};
#define NDBLS (sizeof dbls / sizeof *dbls)
static const int64_t ints[] = {INT64_MAX, INT64_MIN, 0, -1, 42};
#define NINTS (sizeof ints / sizeof *ints)
static const int64_t dt0 = 1764288000123; /* 2025-11-28T00:00:00.123Z */

static void lead_id(char *buf, size_t cap, int k)
{
	snprintf(buf, cap, "00Q%012dAAA", k);
}

/* Lead k: every value varies with k, NULL included. */
static crmsync_record *lead(int k)
{
	char id[32];
	lead_id(id, sizeof id, k);
	crmsync_record *r = H->record_new();
	set_s(r, "Id", CRMSYNC_ID, id);
	set_s(r, "FirstName", CRMSYNC_STRING, texts[k % NTEXTS]);
	set_s(r, "LastName", CRMSYNC_STRING, texts[(k + 5) % NTEXTS]);
	if (k % 7 == 6)
		set_null(r, "NumberOfEmployees");
	else
		set_i(r, "NumberOfEmployees", CRMSYNC_INTEGER, ints[k % NINTS]);
	if (k % 8 == 7)
		set_null(r, "AnnualRevenue");
	else {
		crmsync_value x = {.type = CRMSYNC_DOUBLE, .u.d = dbls[k % NDBLS]};
		assert_int_equal(H->record_set(r, "AnnualRevenue", &x), 0);
	}
	if (k % 3 == 2)
		set_null(r, "HasOptedOutOfEmail");
	else
		set_i(r, "HasOptedOutOfEmail", CRMSYNC_BOOLEAN, k % 3);
	set_s(r, "Birthdate__c", CRMSYNC_DATE, k % 4 ? "1815-12-10" : NULL);
	if (k % 5 == 4)
		set_null(r, "LastTransferDate");
	else
		set_i(r, "LastTransferDate", CRMSYNC_DATETIME, dt0 + k * 1001);
	set_s(r, "OwnerId", CRMSYNC_ID, k % 2 ? "005000000000001AAA" : NULL);
	set_s(r, "x\"; DROP TABLE lead; --", CRMSYNC_STRING, texts[(k + 3) % NTEXTS]);
	set_i(r, "SystemModstamp", CRMSYNC_DATETIME, dt0 + 1000 * k);
	return r;
}

static void free_recs(crmsync_record **recs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		H->record_free(recs[i]);
}

/* Records that differ between two tables, every column but local_id, as
 * text (so that -0 and 0, or '' and NULL, count as different). */
static long differing_rows(ct *t, const char *a, const char *b)
{
	char cond[4096], buf[32];
	app_query(t, cond, sizeof cond,
		  "SELECT string_agg(format('x.%%1$I::text IS DISTINCT FROM y.%%1$I::text', "
		  "attname), ' OR ') FROM pg_attribute WHERE attrelid = '%s'::regclass AND attnum "
		  "> 0 AND NOT attisdropped AND attname <> 'local_id'",
		  a);
	return atol(app_query(t, buf, sizeof buf,
			      "SELECT count(*) FROM \"%s\" x FULL JOIN \"%s\" y ON x.id = y.id "
			      "WHERE %s",
			      a, b, cond));
}

static void expect_out(const uint8_t *out, size_t n, const int *want, const char *what)
{
	for (size_t i = 0; i < n; i++)
		if (out[i] != want[i])
			fail_msg("%s: record %zu: outcome %d, expected %d", what, i, out[i],
				 want[i]);
}

static void expect_all(const uint8_t *out, size_t n, int want, const char *what)
{
	for (size_t i = 0; i < n; i++)
		if (out[i] != want)
			fail_msg("%s: record %zu: outcome %d, expected %d", what, i, out[i], want);
}

/* ---- tests ------------------------------------------------------------ */

/* A page of new ascending ids goes in by COPY and stores exactly what the
 * one-statement path stores for the same records; the sync's own inserts
 * are not local changes; the same page again is all skipped. */
static void t_copy_values(void **state)
{
	ct *t = *state;
	crmsync_record *recs[N];
	uint8_t out[N];
	char buf[256];
	ensure(t, "lead");
	ensure(t, "lead_one");
	watch_inserts(t, "lead");
	watch_inserts(t, "lead_one");
	for (int k = 0; k < N; k++)
		recs[k] = lead(k);
	OK(t->ops->upsert(t->st, "lead", recs, N, out, &t->err));
	expect_all(out, N, CRMSYNC_OUT_NEW, "first copy");
	assert_string_equal(inserts_seen(t, "lead", buf, sizeof buf), "COPY");
	/* the one-statement path, a record at a time */
	for (int k = 0; k < N; k++) {
		OK(t->ops->upsert(t->st, "lead_one", &recs[k], 1, &out[k], &t->err));
		assert_int_equal(out[k], CRMSYNC_OUT_NEW);
	}
	assert_string_not_equal(inserts_seen(t, "lead_one", buf, sizeof buf), "");
	assert_string_equal(app_query(t, buf, sizeof buf, "SELECT count(*) FROM lead"), "64");
	assert_int_equal(differing_rows(t, "lead", "lead_one"), 0);
	/* the rows in page order, and the values as read through the ABI */
	assert_string_equal(app_query(t, buf, sizeof buf,
				      "SELECT bool_and(id = format('00Q%%s%%sAAA', repeat('0', 12 "
				      "- length((local_id - 1)::text)), local_id - 1)) FROM lead"),
			    "t");
	for (int k = 0; k < N; k++) {
		char id[32];
		lead_id(id, sizeof id, k);
		crmsync_record *r = H->record_new();
		OK(t->ops->row_read(t->st, "lead", id, 0, r, &t->err));
		crmsync_value v;
		const char *want = texts[k % NTEXTS];
		assert_int_equal(H->record_get(r, "FirstName", &v), 0);
		if (!want)
			assert_int_equal(v.type, CRMSYNC_NULL);
		else {
			assert_int_equal(v.type, CRMSYNC_STRING);
			assert_int_equal(v.len, strlen(want));
			assert_memory_equal(v.u.s, want, v.len);
		}
		assert_int_equal(H->record_get(r, "AnnualRevenue", &v), 0);
		if (k % 8 == 7)
			assert_int_equal(v.type, CRMSYNC_NULL);
		else {
			double d = dbls[k % NDBLS] == 0 ? 0.0 : dbls[k % NDBLS];
			assert_int_equal(v.type, CRMSYNC_DOUBLE);
			assert_memory_equal(&v.u.d, &d, sizeof d);
		}
		assert_int_equal(H->record_get(r, "NumberOfEmployees", &v), 0);
		if (k % 7 == 6)
			assert_int_equal(v.type, CRMSYNC_NULL);
		else
			assert_true(v.type == CRMSYNC_INTEGER && v.u.i == ints[k % NINTS]);
		assert_int_equal(H->record_get(r, "LastTransferDate", &v), 0);
		if (k % 5 == 4)
			assert_int_equal(v.type, CRMSYNC_NULL);
		else
			assert_true(v.type == CRMSYNC_DATETIME && v.u.i == dt0 + k * 1001);
		assert_int_equal(H->record_get(r, "crm_modstamp", &v), 0);
		assert_true(v.type == CRMSYNC_DATETIME && v.u.i == dt0 + 1000 * k);
		assert_int_equal(H->record_get(r, "sync_state", &v), 0);
		assert_true(v.len == 6 && !memcmp(v.u.s, "synced", 6));
		H->record_free(r);
	}
	/* the sync's writes are not local changes; an application's are */
	assert_string_equal(
	    app_query(t, buf, sizeof buf, "SELECT count(*) FROM _crmsync_log WHERE unit = 'lead'"),
	    "0");
	app_exec(t, "UPDATE lead SET firstname = 'Edited' WHERE id = '00Q000000000010AAA'");
	assert_string_equal(
	    app_query(t, buf, sizeof buf, "SELECT count(*) FROM _crmsync_log WHERE unit = 'lead'"),
	    "1");
	/* the same page again: stored ids, the one-statement path */
	OK(t->ops->upsert(t->st, "lead", recs, N, out, &t->err));
	for (int k = 0; k < N; k++)
		assert_int_equal(out[k], k == 10 ? CRMSYNC_OUT_UPDATED : CRMSYNC_OUT_SKIPPED);
	assert_string_equal(inserts_seen(t, "lead", buf, sizeof buf), "WITH");
	assert_int_equal(differing_rows(t, "lead", "lead_one"), 0);
	free_recs(recs, N);
}

/* A page whose records do not all have the same fields in the same order is
 * stored in runs that do: each as the one-statement path stores it. */
static void t_copy_mixed_fields(void **state)
{
	ct *t = *state;
	crmsync_record *recs[3 * N];
	uint8_t out[3 * N];
	char buf[256];
	ensure(t, "lead");
	ensure(t, "lead_one");
	for (int k = 0; k < 3 * N; k++) {
		recs[k] = lead(k);
		if (k >= N && k < 2 * N) /* a run without Birthdate__c */
			assert_int_equal(H->record_unset(recs[k], "Birthdate__c"), 0);
		if (k == 2 * N + 5) { /* one record with its fields in another order */
			crmsync_record *r = H->record_new();
			const char *f;
			crmsync_value v;
			size_t nf = H->record_count(recs[k]);
			H->record_at(recs[k], 0, &f, &v); /* the Id first, the rest reversed */
			assert_int_equal(H->record_set(r, f, &v), 0);
			for (size_t i = nf; i-- > 1;) {
				H->record_at(recs[k], i, &f, &v);
				assert_int_equal(H->record_set(r, f, &v), 0);
			}
			H->record_free(recs[k]);
			recs[k] = r;
		}
	}
	OK(t->ops->upsert(t->st, "lead", recs, 3 * N, out, &t->err));
	expect_all(out, 3 * N, CRMSYNC_OUT_NEW, "mixed fields");
	for (int k = 0; k < 3 * N; k++) {
		OK(t->ops->upsert(t->st, "lead_one", &recs[k], 1, &out[k], &t->err));
		assert_int_equal(out[k], CRMSYNC_OUT_NEW);
	}
	assert_string_equal(app_query(t, buf, sizeof buf, "SELECT count(*) FROM lead"), "192");
	assert_string_equal(app_query(t, buf, sizeof buf,
				      "SELECT count(birthdate__c) FROM lead WHERE local_id > 64 "
				      "AND local_id <= 128"),
			    "0");
	assert_int_equal(differing_rows(t, "lead", "lead_one"), 0);
	free_recs(recs, 3 * N);
}

/* Ascending pages with stored ids among them (one a tombstone) take the
 * one-statement path and report each record; ascending pages below and
 * above every stored id are copied. */
static void t_copy_stored_among(void **state)
{
	ct *t = *state;
	crmsync_record *recs[N];
	uint8_t out[N];
	int want[N];
	char buf[256];
	ensure(t, "lead");
	watch_inserts(t, "lead");
	int stored[] = {110, 120, 130};
	for (int i = 0; i < 3; i++) {
		crmsync_record *r = lead(stored[i]);
		OK(t->ops->upsert(t->st, "lead", &r, 1, out, &t->err));
		H->record_free(r);
	}
	char dead[32];
	lead_id(dead, sizeof dead, 120);
	const char *d1[1] = {dead};
	OK(t->ops->mark_deleted(t->st, "lead", d1, NULL, 1, 0, out, &t->err));
	inserts_seen(t, "lead", buf, sizeof buf);
	/* 100..163: 110 unchanged, 120 a tombstone, 130 changed */
	for (int k = 0; k < N; k++) {
		recs[k] = lead(100 + k);
		want[k] = CRMSYNC_OUT_NEW;
	}
	set_s(recs[30], "LastName", CRMSYNC_STRING, "Changed");
	want[10] = CRMSYNC_OUT_SKIPPED;
	want[20] = CRMSYNC_OUT_UPDATED;
	want[30] = CRMSYNC_OUT_UPDATED;
	OK(t->ops->upsert(t->st, "lead", recs, N, out, &t->err));
	expect_out(out, N, want, "stored ids among new ones");
	assert_string_equal(inserts_seen(t, "lead", buf, sizeof buf), "WITH");
	assert_string_equal(app_query(t, buf, sizeof buf, "SELECT count(*) FROM lead"), "64");
	assert_string_equal(
	    app_query(t, buf, sizeof buf, "SELECT count(*) FROM lead WHERE is_deleted <> 0"), "0");
	assert_string_equal(app_query(t, buf, sizeof buf,
				      "SELECT lastname FROM lead WHERE id = '00Q000000000130AAA'"),
			    "Changed");
	free_recs(recs, N);
	/* below every stored id, then above: copied, all new */
	for (int base = 0; base <= 200; base += 200) { /* 0..63, 200..263 */
		for (int k = 0; k < N; k++)
			recs[k] = lead(base + k);
		OK(t->ops->upsert(t->st, "lead", recs, N, out, &t->err));
		expect_all(out, N, CRMSYNC_OUT_NEW, base ? "above" : "below");
		assert_string_equal(inserts_seen(t, "lead", buf, sizeof buf), "COPY");
		free_recs(recs, N);
	}
	assert_string_equal(app_query(t, buf, sizeof buf, "SELECT count(*) FROM lead"), "192");
	assert_string_equal(
	    app_query(t, buf, sizeof buf, "SELECT count(*) FROM _crmsync_log WHERE unit = 'lead'"),
	    "0");
	/* not ascending: the one-statement path */
	for (int k = 0; k < N; k++)
		recs[k] = lead(400 - k);
	OK(t->ops->upsert(t->st, "lead", recs, N, out, &t->err));
	expect_all(out, N, CRMSYNC_OUT_NEW, "descending");
	assert_string_equal(inserts_seen(t, "lead", buf, sizeof buf), "WITH");
	free_recs(recs, N);
}

/* Under a collation that orders ids otherwise than their bytes, the range
 * probe can miss a stored id of the page: COPY then fails on the unique id
 * and the page is stored by the one-statement path, nothing twice. */
static void t_copy_collation(void **state)
{
	ct *t = *state;
	crmsync_record *recs[N];
	uint8_t out[N];
	int want[N];
	char buf[256];
	ensure(t, "lead");
	if (strcmp(app_query(t, buf, sizeof buf,
			     "SELECT count(*) FROM pg_collation WHERE collname = 'und-x-icu'"),
		   "1") != 0)
		skip(); /* a server built without ICU */
	app_exec(t, "ALTER TABLE lead ALTER COLUMN id TYPE text COLLATE \"und-x-icu\"");
	watch_inserts(t, "lead");
	/* bytes: 00QA... < 00QB... < 00Qa...; ICU: 00QB... sorts after 00Qa... */
	char ids[N][32];
	for (int k = 0; k < N; k++) {
		if (k < N / 2)
			snprintf(ids[k], sizeof ids[k], "00QA%011dAAA", k);
		else if (k == N / 2)
			snprintf(ids[k], sizeof ids[k], "00QB%011dAAA", 0);
		else
			snprintf(ids[k], sizeof ids[k], "00Qa%011dAAA", k);
		recs[k] = lead(k);
		set_s(recs[k], "Id", CRMSYNC_ID, ids[k]);
		want[k] = CRMSYNC_OUT_NEW;
	}
	OK(t->ops->upsert(t->st, "lead", &recs[N / 2], 1, out, &t->err));
	inserts_seen(t, "lead", buf, sizeof buf);
	set_s(recs[N / 2], "LastName", CRMSYNC_STRING, "Changed");
	want[N / 2] = CRMSYNC_OUT_UPDATED;
	OK(t->ops->upsert(t->st, "lead", recs, N, out, &t->err));
	expect_out(out, N, want, "collation");
	assert_string_equal(inserts_seen(t, "lead", buf, sizeof buf), "WITH");
	assert_string_equal(app_query(t, buf, sizeof buf, "SELECT count(*) FROM lead"), "64");
	assert_string_equal(
	    app_query(t, buf, sizeof buf, "SELECT lastname FROM lead WHERE id = '%s'", ids[N / 2]),
	    "Changed");
	free_recs(recs, N);
}

/* A column an application gave a type of its own keeps the one-statement
 * path's cast (varchar(n) truncates); a bad value fails the page with the
 * same error as before, nothing stored. */
static void t_copy_refused(void **state)
{
	ct *t = *state;
	crmsync_record *recs[N];
	uint8_t out[N];
	char buf[256];
	ensure(t, "lead");
	watch_inserts(t, "lead");
	/* an application's varchar(4) */
	app_exec(t, "ALTER TABLE lead ALTER COLUMN firstname TYPE varchar(4)");
	for (int k = 0; k < N; k++)
		recs[k] = lead(k);
	/* bytes that are not UTF-8 in record 40 */
	crmsync_value bad = {.type = CRMSYNC_STRING, .len = 2, .u.s = "\xc3\x28"};
	assert_int_equal(H->record_set(recs[40], "LastName", &bad), 0);
	assert_int_equal(t->ops->upsert(t->st, "lead", recs, N, out, &t->err), CRMSYNC_EINVAL);
	assert_non_null(strstr(t->err.msg, "00Q000000000040AAA"));
	assert_non_null(strstr(t->err.msg, "LastName is not valid UTF-8"));
	assert_string_equal(app_query(t, buf, sizeof buf, "SELECT count(*) FROM lead"), "0");
	set_s(recs[40], "LastName", CRMSYNC_STRING, "Fixed");
	for (int k = 0; k < N; k++)
		set_s(recs[k], "FirstName", CRMSYNC_STRING, "Adalbert");
	OK(t->ops->upsert(t->st, "lead", recs, N, out, &t->err));
	expect_all(out, N, CRMSYNC_OUT_NEW, "varchar");
	assert_string_equal(inserts_seen(t, "lead", buf, sizeof buf), "WITH");
	assert_string_equal(
	    app_query(t, buf, sizeof buf, "SELECT string_agg(DISTINCT firstname, ',') FROM lead"),
	    "Adal");
	assert_string_equal(app_query(t, buf, sizeof buf,
				      "SELECT lastname FROM lead WHERE id = '00Q000000000040AAA'"),
			    "Fixed");
	free_recs(recs, N);
}

int main(void)
{
	H = cs_host_table();
	so_path = getenv("CRMSYNC_TEST_BACKEND_SO");
	conninfo = getenv("CRMSYNC_TEST_PG_CONNINFO");
	if (!so_path || !conninfo) {
		printf("Bail out! set CRMSYNC_TEST_BACKEND_SO and CRMSYNC_TEST_PG_CONNINFO\n");
		return 1;
	}
	for (size_t i = 0; i < sizeof longtext - 1; i++)
		longtext[i] = (char)('a' + i % 26);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(t_copy_values, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_copy_mixed_fields, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_copy_stored_among, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_copy_collation, setup, teardown),
	    cmocka_unit_test_setup_teardown(t_copy_refused, setup, teardown),
	};
	return cmocka_run_group_tests_name("postgres first copy", tests, NULL, NULL);
}
