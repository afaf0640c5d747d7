/* SOQL compiler tests: every query is compiled against a small in-memory SQLite org
 * (User, Account, Contact, Lead) and run, so what is checked is the rows a client would
 * get back, plus Salesforce's exact error texts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>

#include "soql.h"

/* ---------------------------------------------------------------- schema */

struct obj {
	const char *name, *table;
	const soql_field *fields;
};

static const soql_field user_fields[] = {
    {"Id", "id", SOQL_T_ID, 0, NULL, NULL},
    {"Name", "name", SOQL_T_STRING, 0, NULL, NULL},
    {"Username", "username", SOQL_T_STRING, 1, NULL, NULL},
    {"IsActive", "is_active", SOQL_T_BOOLEAN, 0, NULL, NULL},
    {"ManagerId", "manager_id", SOQL_T_REFERENCE, 0, "Manager", "User"},
    {NULL, NULL, 0, 0, NULL, NULL}};
static const soql_field account_fields[] = {
    {"Id", "id", SOQL_T_ID, 0, NULL, NULL},
    {"Name", "name", SOQL_T_STRING, 0, NULL, NULL},
    {"OwnerId", "owner_id", SOQL_T_REFERENCE, 0, "Owner", "User"},
    {"IsDeleted", "is_deleted", SOQL_T_BOOLEAN, 0, NULL, NULL},
    {NULL, NULL, 0, 0, NULL, NULL}};
static const soql_field contact_fields[] = {
    {"Id", "id", SOQL_T_ID, 0, NULL, NULL},
    {"LastName", "last_name", SOQL_T_STRING, 0, NULL, NULL},
    {"AccountId", "account_id", SOQL_T_REFERENCE, 0, "Account", "Account"},
    {"IsDeleted", "is_deleted", SOQL_T_BOOLEAN, 0, NULL, NULL},
    {NULL, NULL, 0, 0, NULL, NULL}};
/* Column names differ from API names (one has a space and one a quote) to prove the
 * compiler only uses what the schema says, quoted. */
static const soql_field lead_fields[] = {
    {"Id", "id", SOQL_T_ID, 0, NULL, NULL},
    {"FirstName", "first name", SOQL_T_STRING, 0, NULL, NULL},
    {"LastName", "last\"name", SOQL_T_STRING, 0, NULL, NULL},
    {"OwnerId", "owner_id", SOQL_T_REFERENCE, 0, "Owner", "User"},
    {"IsDeleted", "is_deleted", SOQL_T_BOOLEAN, 0, NULL, NULL},
    {"IsConverted", "is_converted", SOQL_T_BOOLEAN, 0, NULL, NULL},
    {"SystemModstamp", "sms", SOQL_T_DATETIME, 0, NULL, NULL},
    {"ConvertedDate", "converted_date", SOQL_T_DATE, 0, NULL, NULL},
    {"NumberOfEmployees", "employees", SOQL_T_INT, 0, NULL, NULL},
    {"AnnualRevenue", "revenue", SOQL_T_DOUBLE, 0, NULL, NULL},
    {"Ext__c", "ext", SOQL_T_STRING, 1, NULL, NULL},
    {"Secret__c", "secret", SOQL_T_STRING, 0, NULL, NULL}, /* FLS-hidden below */
    {NULL, NULL, 0, 0, NULL, NULL}};

/* Queues (Group) and Task: OwnerId is polymorphic (User or Group), and Task has
 * IsArchived, which only queryAll shows. */
static const soql_field group_fields[] = {
    {"Id", "id", SOQL_T_ID, 0, NULL, NULL},
    {"Name", "name", SOQL_T_STRING, 0, NULL, NULL},
    {"Type", "type", SOQL_T_STRING, 0, NULL, NULL},
    {"IsActive", "is_active", SOQL_T_STRING, 0, NULL, NULL}, /* not User's type: ignored */
    {NULL, NULL, 0, 0, NULL, NULL}};
static const soql_field task_fields[] = {
    {"Id", "id", SOQL_T_ID, 0, NULL, NULL},
    {"Subject", "subject", SOQL_T_STRING, 0, NULL, NULL},
    {"OwnerId", "owner_id", SOQL_T_REFERENCE, 0, "Owner", "User"},
    {"IsDeleted", "is_deleted", SOQL_T_BOOLEAN, 0, NULL, NULL},
    {"IsArchived", "is_archived", SOQL_T_BOOLEAN, 0, NULL, NULL},
    {NULL, NULL, 0, 0, NULL, NULL}};

static const struct obj objects[] = {
    {"User", "users", user_fields},	     {"Account", "accounts", account_fields},
    {"Contact", "contacts", contact_fields}, {"Lead", "lea\"ds", lead_fields},
    {"Bench", "bench", lead_fields},	     {"Group", "gro\"ups", group_fields},
    {"Task", "tasks", task_fields},	     {NULL, NULL, NULL}};

static const struct obj *find_obj(const char *name)
{
	for (const struct obj *o = objects; o->name; o++)
		if (strcasecmp(o->name, name) == 0)
			return o;
	return NULL;
}

static const char *cb_object(void *ud, const char *name, const char **table)
{
	(void)ud;
	const struct obj *o = find_obj(name);
	if (!o)
		return NULL;
	*table = o->table;
	return o->name;
}

static const soql_field *cb_field(void *ud, const char *object, const char *name)
{
	(void)ud;
	const struct obj *o = find_obj(object);
	if (!o || strcasecmp(name, "Secret__c") == 0)
		return NULL;
	for (const soql_field *f = o->fields; f->name; f++)
		if (strcasecmp(f->name, name) == 0)
			return f;
	return NULL;
}

static const soql_field *cb_rel(void *ud, const char *object, const char *rel)
{
	(void)ud;
	const struct obj *o = find_obj(object);
	if (!o)
		return NULL;
	for (const soql_field *f = o->fields; f->name; f++)
		if (f->relationship && strcasecmp(f->relationship, rel) == 0)
			return f;
	return NULL;
}

static const soql_schema schema = {NULL, cb_object, cb_field, cb_rel};

static const char *const owner_more[] = {"Group", NULL};
static const char *const *cb_more(void *ud, const char *object, const soql_field *ref)
{
	(void)ud;
	return strcmp(ref->name, "OwnerId") == 0 &&
		       (strcmp(object, "Task") == 0 || strcmp(object, "Lead") == 0)
		   ? owner_more
		   : NULL;
}

/* ---------------------------------------------------------------- org */

static sqlite3 *db;
static char L[7][19], U[3][19], A[3][19], G[2][19]; /* 18-char ids */
static char L15[7][16];

#define MS(y, mo, d, h, mi, s, ms)                                                                 \
	((int64_t)(days(y, mo, d)) * 86400000 + (h)*3600000LL + (mi)*60000LL + (s)*1000LL + (ms))

static int64_t days(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void exec(const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "sql: %s\n%s\n", msg, sql);
		sqlite3_free(msg);
		fail();
	}
}

static void insert(const char *sql, int n, ...)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	va_list ap;
	va_start(ap, n);
	for (int i = 1; i <= n; i++) {
		int kind = va_arg(ap, int);
		if (kind == 's') {
			const char *s = va_arg(ap, const char *);
			if (s)
				sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
		} else if (kind == 'i') {
			sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
		} else if (kind == 'd') {
			sqlite3_bind_double(st, i, va_arg(ap, double));
		}
	}
	va_end(ap);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
}

static int setup(void **state)
{
	(void)state;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	exec("CREATE TABLE users(id TEXT, name TEXT, username TEXT, is_active INTEGER,"
	     " manager_id TEXT);"
	     "CREATE TABLE accounts(id TEXT, name TEXT, owner_id TEXT, is_deleted INTEGER);"
	     "CREATE TABLE contacts(id TEXT, last_name TEXT, account_id TEXT, is_deleted INTEGER);"
	     "CREATE TABLE \"lea\"\"ds\"(id TEXT, \"first name\" TEXT, \"last\"\"name\" TEXT,"
	     " owner_id TEXT, is_deleted INTEGER, is_converted INTEGER, sms INTEGER,"
	     " converted_date TEXT, employees INTEGER, revenue REAL, ext TEXT, secret TEXT);"
	     "CREATE TABLE \"gro\"\"ups\"(id TEXT, name TEXT, type TEXT, is_active TEXT);"
	     "CREATE TABLE tasks(id TEXT, subject TEXT, owner_id TEXT, is_deleted INTEGER,"
	     " is_archived INTEGER);");
	/* mixed-case ids: the 15-char forms differ only in case between L[1] and L[2] */
	static const char *const l15[] = {"",
					  "00Q5g00000AbCdE",
					  "00Q5g00000aBcDe",
					  "00Q5g00000XyZ01",
					  "00Q5g00000Del04",
					  "00Q5g00000Bsl05",
					  "00Q5g00000Uni06"};
	for (int i = 1; i <= 6; i++) {
		strcpy(L15[i], l15[i]);
		soql_id18(l15[i], L[i]);
	}
	soql_id18("0055g00000UsrA1", U[1]);
	soql_id18("0055g00000UsrB2", U[2]);
	soql_id18("0015g00000AccA1", A[1]);
	soql_id18("0015g00000AccB2", A[2]);
	const char *ui = "INSERT INTO users VALUES(?,?,?,?,?)";
	insert(ui, 5, 's', U[1], 's', "Alice Admin", 's', "alice@EX.com", 'i', (int64_t)1, 's',
	       U[2]);
	insert(ui, 5, 's', U[2], 's', "Bob Boss", 's', "bob@ex.com", 'i', (int64_t)1, 's', NULL);
	soql_id18("00G5g00000QueA1", G[1]);
	insert("INSERT INTO \"gro\"\"ups\" VALUES(?,'Sales Queue','Queue','x')", 1, 's', G[1]);
	const char *ti = "INSERT INTO tasks VALUES(?,?,?,?,?)";
	insert(ti, 5, 's', "00T5g00000Tsk01AAA", 's', "a user's", 's', U[1], 'i', (int64_t)0, 'i',
	       (int64_t)0);
	insert(ti, 5, 's', "00T5g00000Tsk02AAA", 's', "b queue's", 's', G[1], 'i', (int64_t)0, 'i',
	       (int64_t)0);
	insert(ti, 5, 's', "00T5g00000Tsk03AAA", 's', "c nobody's", 's', NULL, 'i', (int64_t)0, 'i',
	       (int64_t)0);
	insert(ti, 5, 's', "00T5g00000Tsk04AAA", 's', "d archived", 's', U[2], 'i', (int64_t)0, 'i',
	       (int64_t)1);
	insert(ti, 5, 's', "00T5g00000Tsk05AAA", 's', "e archived+deleted", 's', G[1], 'i',
	       (int64_t)1, 'i', (int64_t)1);
	insert(ti, 5, 's', "00T5g00000Tsk06AAA", 's', "f unset", 's', U[2], 'i', (int64_t)0, 's',
	       NULL);
	const char *ai = "INSERT INTO accounts VALUES(?,?,?,0)";
	insert(ai, 3, 's', A[1], 's', "Acme", 's', U[1]);
	insert(ai, 3, 's', A[2], 's', "Globex", 's', U[2]);
	const char *ci = "INSERT INTO contacts VALUES(?,?,?,0)";
	insert(ci, 3, 's', "0035g00000Con01AAA", 's', "Doe", 's', A[1]);
	insert(ci, 3, 's', "0035g00000Con02AAA", 's', "Roe", 's', A[2]);
	insert(ci, 3, 's', "0035g00000Con03AAA", 's', "Poe", 's', NULL);
	const char *li = "INSERT INTO \"lea\"\"ds\" VALUES(?,?,?,?,?,?,?,?,?,?,?,NULL)";
	insert(li, 11, 's', L[1], 's', "Ann", 's', "Smith", 's', U[1], 'i', (int64_t)0, 'i',
	       (int64_t)1, 'i', MS(2024, 1, 1, 0, 0, 0, 0), 's', "2024-01-05", 'i', (int64_t)10,
	       'd', 1.5, 's', "AbC");
	insert(li, 11, 's', L[2], 's', NULL, 's', "smith", 's', U[2], 'i', (int64_t)0, 'i',
	       (int64_t)0, 'i', MS(2024, 1, 1, 0, 0, 0, 0), 's', NULL, 'i', (int64_t)3, 'd', 2.5,
	       's', "abc");
	insert(li, 11, 's', L[3], 's', "Bob", 's', "O'Brien", 's', U[1], 'i', (int64_t)0, 'i',
	       (int64_t)0, 'i', MS(2024, 2, 1, 12, 0, 0, 500), 's', NULL, 'i', (int64_t)0, 'd', 0.0,
	       's', "50%_off");
	insert(li, 11, 's', L[4], 's', "Del", 's', "Deleted", 's', U[1], 'i', (int64_t)1, 'i',
	       (int64_t)0, 'i', MS(2024, 3, 1, 9, 0, 0, 0), 's', NULL, 'i', (int64_t)0, 'd', 0.0,
	       's', NULL);
	insert(li, 11, 's', L[5], 's', "Zoe", 's', "Zed\\slash", 's', NULL, 'i', (int64_t)0, 'i',
	       (int64_t)0, 'i', MS(2024, 3, 2, 8, 0, 0, 0), 's', NULL, 's', NULL, 's', NULL, 's',
	       "a*b?[c]");
	insert(li, 11, 's', L[6], 's', NULL, 's',
	       "\xc3\x9cn\xc3\xaf"
	       "code",
	       's', U[2], 'i', (int64_t)0, 'i', (int64_t)0, 'i', MS(2024, 1, 1, 0, 0, 0, 1), 's',
	       NULL, 's', NULL, 's', NULL, 's', NULL);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sqlite3_close(db);
	return 0;
}

/* ---------------------------------------------------------------- helpers */

static soql_options opts = {.seed = 42};

/* Compile and run `q`; returns the first column of sql_row for each id, joined by ",",
 * with "-" for NULL. Also checks sql_count agrees with the number of ids. */
static const char *run_opt(const char *q, const soql_options *o)
{
	static char out[8192];
	soql_compiled *c = NULL;
	soql_error err;
	char *exact = strdup(q); /* so a read past the NUL is caught */
	assert_non_null(exact);
	int rc = soql_compile(exact, &schema, o, &c, &err);
	free(exact);
	if (rc != 0) {
		fprintf(stderr, "compile failed: %s: %s %s\n", q, err.code, err.message);
		fail();
	}
	sqlite3_stmt *ids, *cnt, *row;
	if (sqlite3_prepare_v2(db, c->sql_ids, -1, &ids, NULL) != SQLITE_OK) {
		fprintf(stderr, "prepare %s: %s\n", c->sql_ids, sqlite3_errmsg(db));
		fail();
	}
	assert_int_equal(sqlite3_prepare_v2(db, c->sql_count, -1, &cnt, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, c->sql_row, -1, &row, NULL), SQLITE_OK);
	assert_int_equal(soql_bind(c, ids), SQLITE_OK);
	assert_int_equal(soql_bind(c, cnt), SQLITE_OK);
	out[0] = '\0';
	int n = 0;
	while (sqlite3_step(ids) == SQLITE_ROW) {
		sqlite3_bind_int64(row, 1, sqlite3_column_int64(ids, 0));
		assert_int_equal(sqlite3_step(row), SQLITE_ROW);
		const char *v = (const char *)sqlite3_column_text(row, 0);
		if (n++)
			strcat(out, ",");
		strcat(out, c->is_count ? "#" : v ? v : "-");
		sqlite3_reset(row);
	}
	assert_int_equal(sqlite3_step(cnt), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(cnt, 0), n);
	sqlite3_finalize(ids);
	sqlite3_finalize(cnt);
	sqlite3_finalize(row);
	soql_free(c);
	return out;
}

/* Every column of every row: "a|b,c|d" ("-" for NULL). */
static const char *run_rows(const char *q, const soql_options *o)
{
	static char out[8192];
	soql_compiled *c = NULL;
	soql_error e;
	if (soql_compile(q, &schema, o, &c, &e) != 0) {
		fprintf(stderr, "compile failed: %s: %s %s\n", q, e.code, e.message);
		fail();
	}
	sqlite3_stmt *ids, *row;
	assert_int_equal(sqlite3_prepare_v2(db, c->sql_ids, -1, &ids, NULL), SQLITE_OK);
	if (sqlite3_prepare_v2(db, c->sql_row, -1, &row, NULL) != SQLITE_OK) {
		fprintf(stderr, "prepare %s: %s\n", c->sql_row, sqlite3_errmsg(db));
		fail();
	}
	assert_int_equal(soql_bind(c, ids), SQLITE_OK);
	out[0] = '\0';
	int n = 0;
	while (sqlite3_step(ids) == SQLITE_ROW) {
		sqlite3_bind_int64(row, 1, sqlite3_column_int64(ids, 0));
		assert_int_equal(sqlite3_step(row), SQLITE_ROW);
		if (n++)
			strcat(out, ",");
		for (int k = 0; k < sqlite3_column_count(row); k++) {
			const char *v = (const char *)sqlite3_column_text(row, k);
			if (k)
				strcat(out, "|");
			strcat(out, v ? v : "-");
		}
		sqlite3_reset(row);
	}
	sqlite3_finalize(ids);
	sqlite3_finalize(row);
	soql_free(c);
	return out;
}

static const char *run(const char *q)
{
	return run_opt(q, &opts);
}

static soql_error err;

static const soql_error *fails(const char *q)
{
	soql_compiled *c = (soql_compiled *)1;
	memset(&err, 0x55, sizeof err);
	char *exact = strdup(q);
	assert_non_null(exact);
	int rc = soql_compile(exact, &schema, &opts, &c, &err);
	free(exact);
	if (rc == 0) {
		fprintf(stderr, "unexpectedly compiled: %s\n", q);
		soql_free(c);
		fail();
	}
	assert_null(c);
	assert_int_equal(err.http_status, 400);
	assert_non_null(memchr(err.message, '\0', sizeof err.message));
	return &err;
}

/* printf into one of a few rotating buffers (two may be live in one assertion) */
__attribute__((format(printf, 1, 2))) static const char *q(const char *fmt, ...)
{
	static char bufs[4][4096];
	static int next;
	char *b = bufs[next++ % 4];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(b, sizeof bufs[0], fmt, ap);
	va_end(ap);
	return b;
}

/* ---------------------------------------------------------------- tests */

static void test_id18(void **state)
{
	(void)state;
	static const char *const v[][2] = {{"a0BA0000000L2ZC", "a0BA0000000L2ZCMA0"},
					   {"AAaAAbbBBBCcCCC", "AAaAAbbBBBCcCCC123"},
					   {"ABCDEFGHIJKLMNO", "ABCDEFGHIJKLMNO555"},
					   {"70130000001tcyI", "70130000001tcyIAAQ"},
					   {"001D000000IRFma", "001D000000IRFmaIAH"}};
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		char out[19];
		soql_id18(v[i][0], out);
		assert_string_equal(out, v[i][1]);
	}
}

static void test_sync_shapes(void **state)
{
	(void)state;
	assert_string_equal(run("SELECT Id, LastName FROM Lead WHERE SystemModstamp > "
				"2024-01-01T00:00:00Z ORDER BY SystemModstamp, Id LIMIT 2000"),
			    q("%s,%s,%s", L[6], L[3], L[5]));
	/* keywords, object and field names in any case */
	assert_string_equal(run("select lastname from LEAD where systemmodstamp > "
				"2024-01-01T00:00:00Z order by SYSTEMMODSTAMP, id limit 2"),
			    "\xc3\x9cn\xc3\xaf"
			    "code,O'Brien");
	/* keyset paging over a tie on SystemModstamp, ids compared exactly */
	const char *first = strcmp(L[1], L[2]) < 0 ? L[1] : L[2];
	const char *second = first == L[1] ? L[2] : L[1];
	assert_string_equal(run(q("SELECT Id FROM Lead WHERE SystemModstamp >= 2024-01-01T00:00:00Z"
				  " ORDER BY SystemModstamp, Id LIMIT 2")),
			    q("%s,%s", first, second));
	assert_string_equal(
	    run(q("SELECT Id FROM Lead WHERE (SystemModstamp > 2024-01-01T00:00:00Z OR "
		  "(SystemModstamp = 2024-01-01T00:00:00Z AND Id > '%s')) ORDER BY SystemModstamp, "
		  "Id LIMIT 2",
		  first)),
	    q("%s,%s", second, L[6]));
	/* the complement of a keyset condition (no row-value rewrite under NOT) */
	assert_string_equal(
	    run(q("SELECT Id FROM Lead WHERE NOT (SystemModstamp > 2024-01-01T00:00:00Z OR "
		  "(SystemModstamp = 2024-01-01T00:00:00Z AND Id > '%s'))",
		  first)),
	    first);
	/* the same with the terms swapped and a 15-char id literal */
	const char *first15 = first == L[1] ? L15[1] : L15[2];
	assert_string_equal(
	    run(q("SELECT Id FROM Lead WHERE ((Id > '%s' AND SystemModstamp = 2024-01-01T00:00:00Z)"
		  " OR SystemModstamp > 2024-01-01T00:00:00Z) ORDER BY SystemModstamp, Id",
		  first15)),
	    q("%s,%s,%s,%s", second, L[6], L[3], L[5]));
	/* descending keyset */
	assert_string_equal(
	    run(q("SELECT Id FROM Lead WHERE SystemModstamp < 2024-02-01T12:00:00.500Z OR "
		  "(SystemModstamp = 2024-02-01T12:00:00.500Z AND Id <= '%s') ORDER BY "
		  "SystemModstamp DESC, Id DESC",
		  L[3])),
	    q("%s,%s,%s,%s", L[3], L[6], second, first));
	/* Id IN with one 15-char and one 18-char id */
	assert_string_equal(
	    run(q("SELECT LastName FROM Lead WHERE Id IN ('%s', '%s') ORDER BY LastName", L15[3],
		  L[1])),
	    "O'Brien,Smith");
	/* a 15-char id against a reference field too */
	assert_string_equal(run("SELECT LastName FROM Lead WHERE OwnerId = '0055g00000UsrA1' ORDER "
				"BY LastName"),
			    "O'Brien,Smith");
	assert_string_equal(run("SELECT LastName FROM Lead WHERE OwnerId = '0055G00000USRA1'"), "");
	assert_string_equal(run("SELECT LastName FROM Lead WHERE OwnerId = ''"), "Zed\\slash");
	/* 15-char ids that differ only in case are different records */
	assert_string_equal(run(q("SELECT LastName FROM Lead WHERE Id = '%s'", L15[2])), "smith");
	assert_string_equal(run(q("SELECT LastName FROM Lead WHERE Id = '%s'", L15[1])), "Smith");
}

static void test_deleted(void **state)
{
	(void)state;
	soql_options all = {.query_all = 1, .seed = 42};
	assert_string_equal(run("SELECT LastName FROM Lead WHERE IsDeleted = true"), "");
	assert_string_equal(run_opt("SELECT LastName FROM Lead WHERE IsDeleted = true", &all),
			    "Deleted");
	assert_string_equal(run("SELECT COUNT() FROM Lead"), "#,#,#,#,#");
	assert_string_equal(run_opt("SELECT COUNT() FROM Lead", &all), "#,#,#,#,#,#");
	/* User has no IsDeleted: no filter, no error */
	assert_string_equal(run("SELECT Name FROM User ORDER BY Name"), "Alice Admin,Bob Boss");
}

static void test_strings(void **state)
{
	(void)state;
	/* = is case-insensitive, except on case-sensitive fields */
	assert_string_equal(run("SELECT LastName FROM Lead WHERE LastName = 'SMITH' ORDER BY Id"),
			    strcmp(L[1], L[2]) < 0 ? "Smith,smith" : "smith,Smith");
	assert_string_equal(run("SELECT Ext__c FROM Lead WHERE Ext__c = 'abc'"), "abc");
	assert_string_equal(run("SELECT Ext__c FROM Lead WHERE Ext__c IN ('ABC', 'AbC')"), "AbC");
	assert_string_equal(run("SELECT LastName FROM Lead WHERE LastName IN ('ox', 'O\\'BRIEN')"),
			    "O'Brien");
	/* escapes */
	assert_string_equal(run("SELECT LastName FROM Lead WHERE LastName = 'O\\'Brien'"),
			    "O'Brien");
	assert_string_equal(run("SELECT LastName FROM Lead WHERE LastName = 'zed\\\\SLASH'"),
			    "Zed\\slash");
	assert_string_equal(run("SELECT LastName FROM Lead WHERE LastName = '\\u00dcn\\u00EFcode'"),
			    "\xc3\x9cn\xc3\xaf"
			    "code");
	assert_string_equal(run("SELECT LastName FROM Lead WHERE LastName = "
				"'\xc3\x9cn\xc3\xaf"
				"code'"),
			    "\xc3\x9cn\xc3\xaf"
			    "code");
	assert_string_equal(run("SELECT LastName FROM Lead WHERE LastName = 'a\\n\\N\\r\\R\\t\\T"
				"\\b\\B\\f\\F\\\"\\'\\\\\\uD83D\\uDE00'"),
			    "");
	/* LIKE: wildcards, escaped wildcards, case rules */
	assert_string_equal(run("SELECT LastName FROM Lead WHERE LastName LIKE 'sm%' ORDER BY Id"),
			    strcmp(L[1], L[2]) < 0 ? "Smith,smith" : "smith,Smith");
	assert_string_equal(run("SELECT LastName FROM Lead WHERE LastName LIKE 'O_Brien'"),
			    "O'Brien");
	assert_string_equal(run("SELECT Ext__c FROM Lead WHERE Ext__c LIKE '50\\%\\_off'"),
			    "50%_off");
	assert_string_equal(run("SELECT Ext__c FROM Lead WHERE Ext__c LIKE '50\\%\\_of'"), "");
	assert_string_equal(run("SELECT Ext__c FROM Lead WHERE Ext__c LIKE '5_\\%%'"), "50%_off");
	assert_string_equal(run("SELECT Ext__c FROM Lead WHERE Ext__c LIKE 'ab%'"), "abc");
	assert_string_equal(run("SELECT Ext__c FROM Lead WHERE Ext__c LIKE '50\\u0025\\u005foff'"),
			    "50%_off");
	assert_string_equal(run("SELECT LastName FROM Lead WHERE LastName LIKE 'o\\u0025'"), "");
	assert_string_equal(run("SELECT Ext__c FROM Lead WHERE Ext__c LIKE 'a*b?[c]'"), "a*b?[c]");
	assert_string_equal(run("SELECT Ext__c FROM Lead WHERE Ext__c LIKE 'a_b_[c%'"), "a*b?[c]");
	assert_string_equal(run("SELECT Ext__c FROM Lead WHERE Ext__c LIKE 'a*%'"), "a*b?[c]");
	assert_string_equal(run("SELECT LastName FROM Lead WHERE LastName LIKE 'zed\\\\%'"),
			    "Zed\\slash");
	/* NOT LIKE keeps nulls (SOQL logic is two-valued) */
	assert_string_equal(
	    run("SELECT LastName FROM Lead WHERE Ext__c NOT LIKE '%b%' ORDER BY LastName"),
	    "O'Brien,\xc3\x9cn\xc3\xaf"
	    "code");
	/* hostile values are data, never SQL */
	assert_string_equal(run("SELECT LastName FROM Lead WHERE LastName = '\\'; DROP TABLE "
				"users; --' OR LastName = '\" OR 1=1 --'"),
			    "");
	assert_string_equal(run("SELECT Name FROM User WHERE Name LIKE '%\\'%' OR Name = ''"), "");
	assert_string_equal(run("SELECT COUNT() FROM User"), "#,#");
}

static void test_logic_and_nulls(void **state)
{
	(void)state;
	assert_string_equal(run("SELECT LastName FROM Lead WHERE FirstName != 'ann' ORDER BY "
				"SystemModstamp, Id"),
			    "smith,\xc3\x9cn\xc3\xaf"
			    "code,O'Brien,Zed\\slash");
	assert_string_equal(run("SELECT LastName FROM Lead WHERE NOT FirstName = 'ann' ORDER BY "
				"SystemModstamp, Id"),
			    "smith,\xc3\x9cn\xc3\xaf"
			    "code,O'Brien,Zed\\slash");
	assert_string_equal(run("SELECT LastName FROM Lead WHERE FirstName = null ORDER BY "
				"SystemModstamp"),
			    "smith,\xc3\x9cn\xc3\xaf"
			    "code");
	assert_string_equal(run("SELECT LastName FROM Lead WHERE FirstName != NULL AND NOT "
				"(FirstName = 'Ann' OR FirstName = 'Bob')"),
			    "Zed\\slash");
	assert_string_equal(
	    run("SELECT LastName FROM Lead WHERE NOT (NumberOfEmployees > 5) ORDER BY "
		"SystemModstamp"),
	    "smith,\xc3\x9cn\xc3\xaf"
	    "code,O'Brien,Zed\\slash");
	assert_string_equal(run("SELECT LastName FROM Lead WHERE NumberOfEmployees < 5 AND "
				"NumberOfEmployees >= 0 ORDER BY SystemModstamp"),
			    "smith,O'Brien");
	assert_string_equal(run("SELECT LastName FROM Lead WHERE FirstName NOT IN ('Ann', 'Bob') "
				"ORDER BY SystemModstamp"),
			    "smith,\xc3\x9cn\xc3\xaf"
			    "code,Zed\\slash");
	assert_string_equal(
	    run("SELECT LastName FROM Lead WHERE FirstName IN ('Ann', NULL) ORDER BY "
		"SystemModstamp, Id"),
	    strcmp(L[1], L[2]) < 0 ? "Smith,smith,\xc3\x9cn\xc3\xaf"
				     "code"
				   : "smith,Smith,\xc3\x9cn\xc3\xaf"
				     "code");
	assert_string_equal(run("SELECT LastName FROM Lead WHERE NOT FirstName NOT IN ('Ann')"),
			    "Smith");
	assert_string_equal(
	    run("SELECT LastName FROM Lead WHERE ((((LastName = 'smith' AND "
		"FirstName = 'Ann'))) OR (NOT (IsConverted = false) AND AnnualRevenue "
		"> 9.5))"),
	    "Smith");
	assert_string_equal(run("SELECT LastName FROM Lead WHERE AnnualRevenue = 1.5e0 OR "
				"AnnualRevenue > 1E+20 OR NumberOfEmployees = 3e-0"
				" ORDER BY Id"),
			    strcmp(L[1], L[2]) < 0 ? "Smith,smith" : "smith,Smith");
	/* \u0000 is a character like any other: no row has it */
	assert_string_equal(run("SELECT LastName FROM Lead WHERE LastName = 'Smith\\u0000'"), "");
	assert_string_equal(run("SELECT LastName FROM Lead WHERE IsConverted = true AND "
				"AnnualRevenue < 2 AND AnnualRevenue > 1.25"),
			    "Smith");
	assert_string_equal(
	    run("SELECT LastName FROM Lead WHERE AnnualRevenue = 2.5 OR "
		"NumberOfEmployees = -3 OR NumberOfEmployees = +10 ORDER BY LastName, Id"),
	    strcmp(L[1], L[2]) < 0 ? "Smith,smith" : "smith,Smith");
}

static void test_dates(void **state)
{
	(void)state;
	/* datetimes at millisecond precision, with offsets */
	assert_string_equal(run("SELECT LastName FROM Lead WHERE SystemModstamp = "
				"2024-02-01T13:00:00.500+01:00"),
			    "O'Brien");
	assert_string_equal(run("SELECT LastName FROM Lead WHERE SystemModstamp = "
				"2024-02-01T10:30:00.5-01:30"),
			    "O'Brien");
	assert_string_equal(run("SELECT LastName FROM Lead WHERE SystemModstamp = "
				"2024-02-01T12:00:00Z"),
			    "");
	assert_string_equal(
	    run("SELECT LastName FROM Lead WHERE SystemModstamp > "
		"2024-01-01T00:00:00.000Z AND SystemModstamp < 2024-01-01T00:00:00.002Z"),
	    "\xc3\x9cn\xc3\xaf"
	    "code");
	assert_string_equal(run("SELECT LastName FROM Lead WHERE ConvertedDate = 2024-01-05"),
			    "Smith");
	assert_string_equal(run("SELECT LastName FROM Lead WHERE ConvertedDate > 2024-01-04 AND "
				"ConvertedDate IN (2024-01-05, 2024-02-29)"),
			    "Smith");
	/* relative dates against the emulator clock */
	soql_options now = {.query_all = 1, .seed = 42, .now_ms = MS(2024, 3, 2, 10, 0, 0, 0)};
	assert_string_equal(run_opt("SELECT LastName FROM Lead WHERE SystemModstamp = TODAY", &now),
			    "Zed\\slash");
	assert_string_equal(
	    run_opt("SELECT LastName FROM Lead WHERE SystemModstamp = YESTERDAY", &now), "Deleted");
	assert_string_equal(
	    run_opt("SELECT LastName FROM Lead WHERE SystemModstamp = LAST_N_DAYS:1 "
		    "ORDER BY SystemModstamp",
		    &now),
	    "Deleted,Zed\\slash");
	assert_string_equal(
	    run_opt("SELECT LastName FROM Lead WHERE SystemModstamp < YESTERDAY AND "
		    "SystemModstamp > 2024-01-01T00:00:00Z ORDER BY SystemModstamp",
		    &now),
	    "\xc3\x9cn\xc3\xaf"
	    "code,O'Brien");
	assert_string_equal(run_opt("SELECT LastName FROM Lead WHERE SystemModstamp != TODAY AND "
				    "SystemModstamp >= YESTERDAY",
				    &now),
			    "Deleted");
	assert_string_equal(
	    run_opt("SELECT LastName FROM Lead WHERE ConvertedDate = LAST_N_DAYS:60", &now),
	    "Smith");
	assert_string_equal(
	    run_opt("SELECT LastName FROM Lead WHERE ConvertedDate = LAST_N_DAYS:50", &now), "");
	assert_string_equal(run_opt("SELECT LastName FROM Lead WHERE ConvertedDate < TODAY", &now),
			    "Smith");
}

static void test_parents(void **state)
{
	(void)state;
	assert_string_equal(run("SELECT LastName, Owner.Name FROM Lead WHERE Owner.Name = 'alice "
				"ADMIN' ORDER BY LastName"),
			    "O'Brien,Smith");
	assert_string_equal(run("SELECT LastName FROM Lead WHERE Owner.Manager.Name = 'Bob Boss' "
				"ORDER BY LastName DESC"),
			    "Smith,O'Brien");
	assert_string_equal(run("SELECT LastName FROM Contact ORDER BY Account.Owner.Name DESC"),
			    "Poe,Roe,Doe");
	assert_string_equal(
	    run("SELECT LastName FROM Contact ORDER BY Account.Owner.Name DESC NULLS LAST"),
	    "Roe,Doe,Poe");
	assert_string_equal(
	    run("SELECT LastName FROM Contact WHERE Account.Owner.Name LIKE 'b%' OR "
		"Account.Name = null ORDER BY LastName"),
	    "Poe,Roe");
}

/* OwnerId -> User or Group: fields resolve on User, values come from whichever the id is;
 * a field the queue lacks (Username, Manager) reads null, and so does a Group field of
 * another type than User's. Without the more_parents option a queue owner reads null. */
static void test_polymorphic_owner(void **state)
{
	(void)state;
	soql_options poly = {.seed = 42, .more_parents = cb_more};
	assert_string_equal(
	    run_rows("SELECT Subject, Owner.Name, Owner.Username FROM Task ORDER BY Subject",
		     &poly),
	    q("a user's|%s|Alice Admin|alice@EX.com,b queue's|%s|Sales Queue|-,c nobody's|-|-|-,"
	      "f unset|%s|Bob Boss|bob@ex.com",
	      U[1], G[1], U[2]));
	assert_string_equal(
	    run_rows("SELECT Subject, Owner.Name FROM Task ORDER BY Subject", &opts),
	    q("a user's|%s|Alice Admin,b queue's|-|-,c nobody's|-|-,f unset|%s|Bob Boss", U[1],
	      U[2]));
	assert_string_equal(
	    run_rows("SELECT Subject FROM Task WHERE Owner.Name = 'sales queue'", &poly),
	    "b queue's");
	assert_string_equal(
	    run_rows("SELECT Subject FROM Task WHERE Owner.Name != null ORDER BY Owner.Name DESC",
		     &poly),
	    "b queue's,f unset,a user's");
	assert_string_equal(
	    run_rows(
		"SELECT Subject, Owner.IsActive, Owner.Manager.Name FROM Task WHERE OwnerId != "
		"null ORDER BY Subject",
		&poly),
	    q("a user's|%s|1|%s|Bob Boss,b queue's|%s|-|-|-,f unset|%s|1|-|-", U[1], U[2], G[1],
	      U[2]));
	/* the Group-only field is no field of the relationship (it resolves on User) */
	soql_compiled *c;
	soql_error e;
	assert_int_equal(soql_compile("SELECT Owner.Type FROM Task", &schema, &poly, &c, &e), -1);
	assert_string_equal(e.code, "INVALID_FIELD");
	/* only the polymorphic reference gets the extra join */
	assert_int_equal(soql_compile("SELECT LastName, Account.Owner.Name FROM Contact", &schema,
				      &poly, &c, &e),
			 0);
	assert_null(strstr(c->sql_row, "t2_1"));
	soql_free(c);
}

/* query hides archived activities; queryAll shows them with the deleted ones */
static void test_archived(void **state)
{
	(void)state;
	soql_options all = {.query_all = 1, .seed = 42};
	assert_string_equal(run("SELECT Subject FROM Task ORDER BY Subject"),
			    "a user's,b queue's,c nobody's,f unset");
	assert_string_equal(run("SELECT Subject FROM Task WHERE IsArchived = true"), "");
	assert_string_equal(run("SELECT COUNT() FROM Task"), "#,#,#,#");
	assert_string_equal(run_opt("SELECT Subject FROM Task WHERE IsArchived = true ORDER BY "
				    "Subject",
				    &all),
			    "d archived,e archived+deleted");
	assert_string_equal(run_opt("SELECT Subject FROM Task WHERE IsDeleted = false AND "
				    "IsArchived = true",
				    &all),
			    "d archived");
	assert_string_equal(run_opt("SELECT COUNT() FROM Task", &all), "#,#,#,#,#,#");
	/* objects without IsArchived are untouched */
	assert_string_equal(run("SELECT COUNT() FROM Lead"), "#,#,#,#,#");
}

static void test_items(void **state)
{
	(void)state;
	soql_compiled *c;
	soql_error e;
	assert_int_equal(soql_compile("SELECT LastName, Account.Owner.Name, Account.Name, id, "
				      "LASTNAME FROM Contact WHERE LastName = 'Poe' OR LastName "
				      "= 'Doe' ORDER BY LastName",
				      &schema, &opts, &c, &e),
			 0);
	assert_string_equal(c->object, "Contact");
	assert_int_equal(c->is_count, 0);
	assert_int_equal(c->nitems, 6);
	assert_int_equal(c->items[0].kind, SOQL_ITEM_FIELD);
	assert_int_equal(c->items[0].depth, 0);
	assert_string_equal(c->items[0].path[0], "LastName");
	assert_int_equal(c->items[1].kind, SOQL_ITEM_PARENT_ID);
	assert_int_equal(c->items[1].depth, 1);
	assert_string_equal(c->items[1].path[0], "Account");
	assert_string_equal(c->items[1].object, "Account");
	assert_int_equal(c->items[2].kind, SOQL_ITEM_PARENT_ID);
	assert_int_equal(c->items[2].depth, 2);
	assert_string_equal(c->items[2].path[0], "Account");
	assert_string_equal(c->items[2].path[1], "Owner");
	assert_string_equal(c->items[2].object, "User");
	assert_int_equal(c->items[3].kind, SOQL_ITEM_FIELD);
	assert_int_equal(c->items[3].depth, 2);
	assert_string_equal(c->items[3].path[2], "Name");
	assert_string_equal(c->items[3].object, "User");
	assert_int_equal(c->items[4].depth, 1);
	assert_string_equal(c->items[4].path[1], "Name");
	assert_string_equal(c->items[4].object, "Account");
	assert_string_equal(c->items[5].path[0], "Id");
	/* run it: Doe has the whole chain, Poe has no account */
	sqlite3_stmt *ids, *row;
	assert_int_equal(sqlite3_prepare_v2(db, c->sql_ids, -1, &ids, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, c->sql_row, -1, &row, NULL), SQLITE_OK);
	assert_int_equal(soql_bind(c, ids), SQLITE_OK);
	assert_int_equal(sqlite3_step(ids), SQLITE_ROW);
	sqlite3_bind_int64(row, 1, sqlite3_column_int64(ids, 0));
	assert_int_equal(sqlite3_step(row), SQLITE_ROW);
	assert_int_equal(sqlite3_column_count(row), 6);
	assert_string_equal(sqlite3_column_text(row, 0), "Doe");
	assert_string_equal(sqlite3_column_text(row, 1), A[1]);
	assert_string_equal(sqlite3_column_text(row, 2), U[1]);
	assert_string_equal(sqlite3_column_text(row, 3), "Alice Admin");
	assert_string_equal(sqlite3_column_text(row, 4), "Acme");
	sqlite3_reset(row);
	assert_int_equal(sqlite3_step(ids), SQLITE_ROW);
	sqlite3_bind_int64(row, 1, sqlite3_column_int64(ids, 0));
	assert_int_equal(sqlite3_step(row), SQLITE_ROW);
	assert_string_equal(sqlite3_column_text(row, 0), "Poe");
	assert_int_equal(sqlite3_column_type(row, 1), SQLITE_NULL);
	assert_int_equal(sqlite3_column_type(row, 2), SQLITE_NULL);
	assert_int_equal(sqlite3_step(ids), SQLITE_DONE);
	sqlite3_finalize(ids);
	sqlite3_finalize(row);
	soql_free(c);

	/* the object's own name as a prefix; ORDER and OFFSET right after FROM are no alias */
	assert_string_equal(run("SELECT Lead.LastName FROM Lead WHERE Lead.FirstName = 'bob' ORDER "
				"BY Lead.Id"),
			    "O'Brien");
	assert_string_equal(run("SELECT LastName FROM Lead ORDER BY SystemModstamp DESC, Id OFFSET "
				"3 "),
			    strcmp(L[1], L[2]) < 0 ? "Smith,smith" : "smith,Smith");
	assert_string_equal(run("SELECT LastName FROM Lead OFFSET 5"), "");
	/* object alias */
	assert_string_equal(run("SELECT l.LastName FROM Lead l WHERE l.Owner.Name = 'Bob Boss' "
				"AND l.Id != null ORDER BY l.LastName"),
			    "smith,\xc3\x9cn\xc3\xaf"
			    "code");
}

static void test_order_limit(void **state)
{
	(void)state;
	/* NULLS FIRST by default, both directions; NULLS LAST on request */
	assert_string_equal(run("SELECT FirstName FROM Lead ORDER BY FirstName, SystemModstamp"),
			    "-,-,Ann,Bob,Zoe");
	assert_string_equal(
	    run("SELECT FirstName FROM Lead ORDER BY FirstName DESC, SystemModstamp"),
	    "-,-,Zoe,Bob,Ann");
	assert_string_equal(
	    run("SELECT FirstName FROM Lead ORDER BY FirstName ASC NULLS LAST, SystemModstamp"),
	    "Ann,Bob,Zoe,-,-");
	assert_string_equal(
	    run("SELECT FirstName FROM Lead ORDER BY FirstName DESC NULLS LAST, SystemModstamp"),
	    "Zoe,Bob,Ann,-,-");
	assert_string_equal(run("SELECT FirstName FROM Lead ORDER BY FirstName NULLS FIRST, "
				"SystemModstamp DESC"),
			    "-,-,Ann,Bob,Zoe");
	/* case-insensitive sort */
	assert_string_equal(run("SELECT Username FROM User ORDER BY Username DESC"),
			    "bob@ex.com,alice@EX.com");
	assert_string_equal(run("SELECT LastName FROM Lead ORDER BY LastName, Id"),
			    strcmp(L[1], L[2]) < 0
				? "O'Brien,Smith,smith,Zed\\slash,\xc3\x9cn\xc3\xaf"
				  "code"
				: "O'Brien,smith,Smith,Zed\\slash,\xc3\x9cn\xc3\xaf"
				  "code");
	/* LIMIT and OFFSET cap the rows and totalSize (run() compares sql_count) */
	assert_string_equal(run("SELECT LastName FROM Lead ORDER BY SystemModstamp DESC LIMIT 2"),
			    "Zed\\slash,O'Brien");
	assert_string_equal(
	    run("SELECT LastName FROM Lead ORDER BY SystemModstamp DESC LIMIT 2 OFFSET 1"),
	    "O'Brien,\xc3\x9cn\xc3\xaf"
	    "code");
	assert_string_equal(
	    run("SELECT LastName FROM Lead ORDER BY SystemModstamp DESC, Id DESC OFFSET 4"),
	    strcmp(L[1], L[2]) < 0 ? "Smith" : "smith");
	assert_string_equal(run("SELECT LastName FROM Lead LIMIT 0"), "");
	assert_string_equal(run("SELECT LastName FROM Lead OFFSET 2000"), "");
	assert_string_equal(run("SELECT COUNT() FROM Lead LIMIT 3"), "#,#,#");
	assert_string_equal(run("SELECT COUNT() FROM Lead WHERE FirstName = null OFFSET 1"), "#");
}

/* Ties (and no ORDER BY at all) come back in a seeded shuffle: the same seed gives the
 * same order, different seeds different orders. */
static void test_shuffle(void **state)
{
	(void)state;
	char first[64][512];
	int distinct = 0;
	for (int s = 0; s < 16; s++) {
		soql_options o = {.query_all = 1, .seed = (uint64_t)s * 7919};
		snprintf(first[s], sizeof first[s], "%s",
			 run_opt("SELECT LastName FROM Lead ORDER BY IsDeleted", &o));
		assert_string_equal(run_opt("SELECT LastName FROM Lead ORDER BY IsDeleted", &o),
				    first[s]);
		/* the deleted row sorts last whatever the seed */
		assert_non_null(strstr(first[s], ",Deleted"));
		assert_int_equal(strcmp(first[s] + strlen(first[s]) - 7, "Deleted"), 0);
		int seen = 0;
		for (int k = 0; k < s; k++)
			seen |= strcmp(first[k], first[s]) == 0;
		distinct += !seen;
		char *noorder = strdup(run_opt("SELECT LastName FROM Lead", &o));
		assert_string_equal(run_opt("SELECT LastName FROM Lead", &o), noorder);
		free(noorder);
	}
	assert_true(distinct >= 4);
}

static void test_errors(void **state)
{
	(void)state;
	const soql_error *e = fails("SELECT Id FRM Lead");
	assert_string_equal(e->code, "MALFORMED_QUERY");
	assert_string_equal(
	    e->message, "\nSELECT Id FRM Lead\n          ^\nERROR at Row:1:Column:11\nunexpected "
			"token: 'Lead'");
	e = fails("SELECT Foo FROM Lead");
	assert_string_equal(e->code, "INVALID_FIELD");
	assert_string_equal(
	    e->message, "\nSELECT Foo FROM Lead\n       ^\nERROR at Row:1:Column:8\nNo such "
			"column 'Foo' on entity 'Lead'. If you are attempting to use a custom "
			"field, be sure to append the '__c' after the custom field name. Please "
			"reference your WSDL or the describe call for the appropriate names.");
	/* an FLS-hidden field is the same error */
	e = fails("SELECT Id FROM Lead WHERE Secret__c = 'x'");
	assert_string_equal(e->code, "INVALID_FIELD");
	assert_non_null(strstr(e->message, "ERROR at Row:1:Column:27\nNo such column 'Secret__c' "
					   "on entity 'Lead'."));
	e = fails("SELECT Id, Owner.Nope FROM Lead");
	assert_string_equal(e->code, "INVALID_FIELD");
	assert_non_null(strstr(e->message, "Column:12\nNo such column 'Nope' on entity 'User'."));
	e = fails("SELECT Id, Boss.Name FROM Lead");
	assert_string_equal(e->code, "INVALID_FIELD");
	assert_non_null(strstr(e->message, "Didn't understand relationship 'Boss' in field path."));
	e = fails("SELECT Account.Owner.Manager.Name FROM Contact");
	assert_string_equal(e->code, "INVALID_FIELD");
	e = fails("SELECT Id FROM Foo");
	assert_string_equal(e->code, "INVALID_TYPE");
	assert_string_equal(
	    e->message,
	    "sObject type 'Foo' is not supported. If you are attempting to use a custom object, be "
	    "sure to append the '__c' after the entity name. Please reference your WSDL or the "
	    "describe call for the appropriate names.");
	/* a keyword as an object name: unknown -> INVALID_TYPE, known -> rows */
	assert_string_equal(run("SELECT Name FROM Group WHERE Type = 'Queue'"), "Sales Queue");
	assert_string_equal(fails("SELECT Id FROM Order")->code, "INVALID_TYPE");
	assert_string_equal(fails("SELECT Id FROM WHERE")->code, "MALFORMED_QUERY");
	e = fails("SELECT Id FROM Lead OFFSET 2001");
	assert_string_equal(e->code, "NUMBER_OUTSIDE_VALID_RANGE");
	assert_string_equal(e->message, "Maximum SOQL offset allowed is 2000");

	/* literal types */
	e = fails("SELECT Id FROM Lead WHERE SystemModstamp > '2024-01-01T00:00:00Z'");
	assert_string_equal(e->code, "INVALID_QUERY_FILTER_OPERATOR");
	assert_string_equal(e->message, "value of filter criterion for field 'SystemModstamp' must "
					"be of type dateTime and should not be enclosed in quotes");
	e = fails("SELECT Id FROM Lead WHERE SystemModstamp > 2024-01-01");
	assert_string_equal(e->code, "INVALID_QUERY_FILTER_OPERATOR");
	assert_non_null(strstr(e->message, "must be of type dateTime and should not be enclosed"));
	e = fails("SELECT Id FROM Lead WHERE ConvertedDate > 2024-01-01T00:00:00Z");
	assert_string_equal(e->message,
			    "value of filter criterion for field 'ConvertedDate' must be "
			    "of type date and should not be enclosed in quotes");
	e = fails("SELECT Id FROM Lead WHERE ConvertedDate = '2024-01-01'");
	assert_string_equal(e->code, "INVALID_QUERY_FILTER_OPERATOR");
	e = fails("SELECT Id FROM Lead WHERE IsDeleted = 'true'");
	assert_string_equal(e->code, "INVALID_QUERY_FILTER_OPERATOR");
	e = fails("SELECT Id FROM Lead WHERE LastName = 5");
	assert_non_null(
	    strstr(e->message, "must be of type string and should be enclosed in quotes"));
	e = fails("SELECT Id FROM Lead WHERE NumberOfEmployees = '5'");
	assert_string_equal(e->code, "INVALID_QUERY_FILTER_OPERATOR");
	e = fails("SELECT Id FROM Lead WHERE Id = 'abc'");
	assert_string_equal(e->code, "INVALID_QUERY_FILTER_OPERATOR");
	assert_string_equal(e->message, "invalid ID field: abc");

	/* strings */
	e = fails("SELECT Id FROM Lead WHERE LastName = 'a\\x'");
	assert_string_equal(e->code, "MALFORMED_QUERY");
	assert_non_null(strstr(e->message, "Illegal character sequence '\\x'"));
	e = fails("SELECT Id FROM Lead WHERE LastName = '50\\%'");
	assert_string_equal(e->code, "MALFORMED_QUERY");
	e = fails("SELECT Id FROM Lead WHERE LastName = '\\u12'");
	assert_string_equal(e->code, "MALFORMED_QUERY");
	e = fails("SELECT Id FROM Lead WHERE LastName = \"Smith\"");
	assert_string_equal(e->code, "MALFORMED_QUERY");
	assert_non_null(strstr(e->message, "Column:38\nunexpected token: '\"Smith\"'"));
	e = fails("SELECT Id FROM Lead WHERE LastName = 'Smith");
	assert_string_equal(e->code, "MALFORMED_QUERY");
	e = fails("SELECT Id FROM Lead WHERE LastName = 'Smith\\'");
	assert_string_equal(e->code, "MALFORMED_QUERY");

	/* syntax, with rows and columns on multi-line queries */
	e = fails("SELECT Id\nFROM Lead\nWHERE LastName = = 'x'");
	assert_string_equal(e->message, "\nWHERE LastName = = 'x'\n                 ^\nERROR at "
					"Row:3:Column:18\nunexpected token: '='");
	e = fails("");
	assert_string_equal(e->message,
			    "\n\n^\nERROR at Row:1:Column:1\nunexpected token: '<EOF>'");
	fails("   \n  ");
	e = fails("SELECT Id FROM Lead LIMIT 5 garbage");
	assert_non_null(strstr(e->message, "Column:29\nunexpected token: 'garbage'"));
	e = fails("SELECT Id FROM Lead WHERE");
	assert_non_null(strstr(e->message, "unexpected token: '<EOF>'"));
	e = fails("SELECT Id, FROM Lead");
	assert_non_null(strstr(e->message, "unexpected token: 'FROM'"));
	e = fails("SELECT Id x FROM Lead");
	assert_string_equal(e->code, "MALFORMED_QUERY");
	fails("SELECT Id FROM Lead WHERE LastName IN ()");
	fails("SELECT Id FROM Lead WHERE LastName NOT = 'x'");
	fails("SELECT Id FROM Lead WHERE NOT NOT LastName = 'x'");
	fails("SELECT Id FROM Lead WHERE SystemModstamp > 2024-13-01T00:00:00Z");
	fails("SELECT Id FROM Lead WHERE SystemModstamp > 2024-01-01T00:00:00");
	fails("SELECT Id FROM Lead WHERE SystemModstamp > LAST_N_DAYS");
	fails("SELECT Id FROM Lead WHERE SystemModstamp > LAST_N_DAYS:-1");
	fails("SELECT Id FROM Lead ORDER BY");
	fails("SELECT Id FROM Lead ORDER BY Id NULLS");
	fails("SELECT Id FROM Lead LIMIT -1");
	fails("SELECT Id FROM Lead LIMIT 99999999999999999999");
	fails("SELECT Id FROM Lead; DELETE FROM users");
	fails("SELECT COUNT(Id) FROM Lead");
	fails("SELECT Id FROM Lead WHERE (LastName = 'x'");
	fails("SELECT Id FROM Lead WHERE LastName = 'x')");
	fails("SELECT Id FROM Lead WHERE LastName = 'x' AND");
	fails("SELECT \xc3\x9c FROM Lead");
	/* invalid UTF-8 in the query never reaches the (JSON-bound) message */
	e = fails("SELECT Id FROM Lead WHERE LastName = '\xff\xc3' AND \xe2\x82 = 1");
	assert_string_equal(e->message,
			    "\nSELECT Id FROM Lead WHERE LastName = '?"
			    "?' AND ?"
			    "? = "
			    "1\n                                              ^\nERROR at "
			    "Row:1:Column:47\nunexpected token: '?"
			    "?'");
	/* the database is untouched */
	assert_string_equal(run("SELECT COUNT() FROM User"), "#,#");
}

static void test_hostile_sizes(void **state)
{
	(void)state;
	/* a 100 KB string literal */
	size_t big = 100 * 1024;
	char *s = malloc(big + 200);
	assert_non_null(s);
	strcpy(s, "SELECT LastName FROM Lead WHERE LastName = '");
	size_t n = strlen(s);
	for (size_t i = 0; i < big; i++)
		s[n++] = "ab\xc3\xa9"[i % 4];
	strcpy(s + n, "'");
	assert_string_equal(run(s), "");
	/* the same with an error after it: the message fits and is valid UTF-8-cut text */
	strcpy(s + n, "' garbage");
	const soql_error *e = fails(s);
	assert_string_equal(e->code, "MALFORMED_QUERY");
	assert_true(strlen(e->message) < sizeof e->message);
	assert_non_null(strstr(e->message, "unexpected token: 'garbage'"));
	/* a 100 KB literal with an error at its start */
	memset(s, 'A', big);
	s[big] = '\0';
	e = fails(s);
	assert_non_null(strstr(e->message, "ERROR at Row:1:Column:1\nunexpected token: 'AAAA"));
	free(s);

	/* nesting: 100 levels work, deeper is a clean error, never a stack overflow */
	char *d = malloc(200000);
	assert_non_null(d);
	static const int depths[] = {100, 101, 50000};
	for (size_t k = 0; k < 3; k++) {
		int depth = depths[k];
		n = (size_t)sprintf(d, "SELECT LastName FROM Lead WHERE ");
		for (int i = 0; i < depth; i++)
			d[n++] = '(';
		n += (size_t)sprintf(d + n, "NOT FirstName = 'Ann'");
		for (int i = 0; i < depth; i++)
			d[n++] = ')';
		strcpy(d + n, " ORDER BY SystemModstamp, Id");
		if (depth == 100) {
			assert_string_equal(run(d), "smith,\xc3\x9cn\xc3\xaf"
						    "code,O'Brien,Zed\\slash");
		} else {
			e = fails(d);
			assert_string_equal(e->code, "MALFORMED_QUERY");
			assert_non_null(strstr(e->message, "Column:133\n"));
		}
	}
	/* a long flat chain of ORs and a long IN list */
	n = (size_t)sprintf(d, "SELECT LastName FROM Lead WHERE LastName = 'x'");
	for (int i = 0; i < 1500; i++)
		n += (size_t)sprintf(d + n, " OR LastName LIKE 'y%d'", i);
	strcpy(d + n, " OR LastName = 'smith' ORDER BY Id");
	assert_string_equal(run(d), strcmp(L[1], L[2]) < 0 ? "Smith,smith" : "smith,Smith");
	/* equalities on one column merge into IN (SQLite's OR analysis is quadratic) */
	n = (size_t)sprintf(d, "SELECT LastName FROM Lead WHERE LastName = 'x'");
	for (int i = 0; i < 1000; i++)
		n += (size_t)sprintf(d + n, " OR LastName = 'y%d' OR FirstName = 'y%d'", i, i);
	strcpy(d + n, " OR LastName = 'o\\'brien' OR FirstName = 'zoe' ORDER BY LastName");
	assert_string_equal(run(d), "O'Brien,Zed\\slash");
	n = (size_t)sprintf(d, "SELECT LastName FROM Lead WHERE FirstName IN ('x'");
	for (int i = 0; i < 1500; i++)
		n += (size_t)sprintf(d + n, ", 'y%d'", i);
	strcpy(d + n, ", 'zoe')");
	assert_string_equal(run(d), "Zed\\slash");
	/* a select list of 15000 repeats compiles to one column, quickly */
	n = (size_t)sprintf(d, "SELECT LastName");
	for (int i = 0; i < 15000; i++)
		n += (size_t)sprintf(d + n, ", lastname");
	strcpy(d + n, " FROM Lead WHERE FirstName = 'Zoe'");
	soql_compiled *c;
	soql_error ce;
	assert_int_equal(soql_compile(d, &schema, &opts, &c, &ce), 0);
	assert_int_equal(c->nitems, 1);
	soql_free(c);
	assert_string_equal(run(d), "Zed\\slash");
	free(d);
}

/* Mutations of valid queries (truncations, byte changes) must compile or fail cleanly;
 * whatever compiles must prepare and run. Deterministic, so a failure reproduces. */
static void test_mutations(void **state)
{
	(void)state;
	static const char *const seeds[] = {
	    "SELECT Id, LastName, Owner.Name FROM Lead WHERE (SystemModstamp > "
	    "2024-01-01T00:00:00.123+02:00 OR (SystemModstamp = 2024-01-01T00:00:00Z AND Id > "
	    "'00Q5g00000AbCdE')) AND LastName LIKE 'a\\%b%' ORDER BY SystemModstamp DESC NULLS "
	    "LAST, Id LIMIT 10 OFFSET 5",
	    "SELECT COUNT() FROM Contact WHERE Account.Owner.Name IN ('a', null, 'b\\u00e9') AND "
	    "NOT (LastName != 'x') AND Id NOT IN ('0035g00000Con01AAA')",
	    "SELECT Id FROM Lead WHERE ConvertedDate = LAST_N_DAYS:30 OR IsConverted = true OR "
	    "AnnualRevenue >= -1.5 OR NumberOfEmployees < 7"};
	uint64_t x = 88172645463325252ULL;
	char buf[512];
	int compiled = 0;
	for (int it = 0; it < 1200; it++) {
		const char *src = seeds[it % 3];
		size_t len = strlen(src);
		memcpy(buf, src, len + 1);
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		int kind = (int)(x % 4);
		size_t at = (size_t)((x >> 8) % len);
		static const char alphabet[] = "()',.\\\"=<>!%_-:TZ0a \n\x80\xff";
		if (kind == 0)
			buf[at] = '\0';
		else if (kind == 1)
			buf[at] = alphabet[(x >> 24) % (sizeof alphabet - 1)];
		else if (kind == 2)
			memmove(buf + at, buf + at + 1, len - at);
		else {
			memmove(buf + at + 1, buf + at, len - at + 1);
			buf[at] = alphabet[(x >> 24) % (sizeof alphabet - 1)];
		}
		soql_compiled *c = NULL;
		soql_error e;
		/* an exact-size heap copy, so valgrind/ASan see any read past the NUL */
		char *exact = strdup(buf);
		assert_non_null(exact);
		int rc = soql_compile(exact, &schema, &opts, &c, &e);
		free(exact);
		if (rc == 0) {
			compiled++;
			sqlite3_stmt *st;
			assert_int_equal(sqlite3_prepare_v2(db, c->sql_ids, -1, &st, NULL),
					 SQLITE_OK);
			assert_int_equal(soql_bind(c, st), SQLITE_OK);
			while (sqlite3_step(st) == SQLITE_ROW)
				;
			assert_int_equal(sqlite3_finalize(st), SQLITE_OK);
			assert_int_equal(sqlite3_prepare_v2(db, c->sql_row, -1, &st, NULL),
					 SQLITE_OK);
			sqlite3_finalize(st);
			soql_free(c);
		} else {
			assert_int_equal(e.http_status, 400);
			assert_true(e.code[0] != '\0');
			assert_true(e.message[0] != '\0');
		}
	}
	assert_true(compiled > 40);
}

/* The keyset page of the sync engine must be an index range scan in index order on
 * (SystemModstamp, Id): no sort of the whole remainder of the table. */
static void test_query_plan(void **state)
{
	(void)state;
	/* as the emulator stores objects: a unique Id, and IsDeleted in the stamp index */
	exec("CREATE TABLE bench(id TEXT NOT NULL UNIQUE, \"first name\" TEXT, \"last\"\"name\" "
	     "TEXT,"
	     " owner_id TEXT, is_deleted INTEGER, is_converted INTEGER, sms INTEGER,"
	     " converted_date TEXT, employees INTEGER, revenue REAL, ext TEXT, secret TEXT);"
	     "CREATE INDEX bench_sms ON bench(sms, id, is_deleted);");
	static const char *const shapes[] = {
	    "SELECT Id, LastName FROM Bench WHERE SystemModstamp > 2024-01-01T00:00:00Z ORDER BY "
	    "SystemModstamp, Id LIMIT 2000",
	    "SELECT Id, LastName FROM Bench WHERE (SystemModstamp > 2024-01-01T00:00:00Z OR "
	    "(SystemModstamp = 2024-01-01T00:00:00Z AND Id > '00Q5g00000AbCdEAAA')) ORDER BY "
	    "SystemModstamp, Id LIMIT 2000",
	    "SELECT Id FROM Bench WHERE SystemModstamp <= 2024-06-01T00:00:00Z AND (SystemModstamp "
	    "> "
	    "2024-01-01T00:00:00Z OR (SystemModstamp = 2024-01-01T00:00:00Z AND Id > "
	    "'00Q5g00000AbCdE')) ORDER BY SystemModstamp, Id LIMIT 2000"};
	for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
		soql_compiled *c;
		soql_error e;
		assert_int_equal(soql_compile(shapes[i], &schema, &opts, &c, &e), 0);
		char *sql = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", c->sql_ids);
		sqlite3_stmt *st;
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
		assert_int_equal(soql_bind(c, st), SQLITE_OK);
		char plan[2048] = "";
		while (sqlite3_step(st) == SQLITE_ROW) {
			strncat(plan, (const char *)sqlite3_column_text(st, 3),
				sizeof plan - strlen(plan) - 2);
			strcat(plan, "\n");
		}
		sqlite3_finalize(st);
		sqlite3_free(sql);
		if (!strstr(plan, "SEARCH t0 USING ") || !strstr(plan, "INDEX bench_sms (") ||
		    strstr(plan, "TEMP B-TREE") || (i > 0 && !strstr(plan, "(sms,id)>(?,?)"))) {
			fprintf(stderr, "# %s\n# plan: %s\n", c->sql_ids, plan);
			fail();
		}
		soql_free(c);
	}
	exec("DROP TABLE bench");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_id18),
	    cmocka_unit_test(test_sync_shapes),
	    cmocka_unit_test(test_deleted),
	    cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_logic_and_nulls),
	    cmocka_unit_test(test_dates),
	    cmocka_unit_test(test_parents),
	    cmocka_unit_test(test_polymorphic_owner),
	    cmocka_unit_test(test_archived),
	    cmocka_unit_test(test_items),
	    cmocka_unit_test(test_order_limit),
	    cmocka_unit_test(test_shuffle),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_hostile_sizes),
	    cmocka_unit_test(test_mutations),
	    cmocka_unit_test(test_query_plan),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
