/* fuzz_soql.c - libFuzzer target: the SOQL literal escaping and the keyset
 * query builder of core/sf_soql.c, checked against the emulator's SOQL
 * compiler (tests/sfemu/soql.c) over an in-memory SQLite table.
 *
 * The first input byte picks the builder, the rest is its argument:
 *   0 sf_soql_string   accepted text compiles in "WHERE Name = <lit>" and finds
 *                      exactly the row holding the input (bound value == input);
 *                      refused only for a NUL byte or invalid UTF-8
 *   1 sf_soql_like_literal  the same with LIKE: the pattern matches itself only
 *   2 sf_soql_date     accepted dates compile in "WHERE ConvertedDate = <lit>"
 *   3 sf_soql_datetime any int64 (8 bytes): accepted values compile
 *   4 sf_soql_id       accepted iff sf_id_valid; accepted ids compile
 *   5 sf_soql_keyset   since (8 bytes), limit (2 bytes), last id and field
 *                      names from the rest: accepted queries are never
 *                      MALFORMED_QUERY
 *   6 sf_soql_value    a typed value (type byte): accepted values compile
 */
#include "fuzz.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include <sqlite3.h>

#include "sf.h"
#include "soql.h"

static const soql_field lead_fields[] = {
    {"Id", "id", SOQL_T_ID, 0, NULL, NULL},
    {"Name", "name", SOQL_T_STRING, 1, NULL, NULL},
    {"Title", "title", SOQL_T_STRING, 0, NULL, NULL},
    {"IsDeleted", "is_deleted", SOQL_T_BOOLEAN, 0, NULL, NULL},
    {"SystemModstamp", "sms", SOQL_T_DATETIME, 0, NULL, NULL},
    {"ConvertedDate", "converted_date", SOQL_T_DATE, 0, NULL, NULL},
    {"NumberOfEmployees", "employees", SOQL_T_INT, 0, NULL, NULL},
    {"AnnualRevenue", "revenue", SOQL_T_DOUBLE, 0, NULL, NULL},
    {"IsConverted", "is_converted", SOQL_T_BOOLEAN, 0, NULL, NULL},
    {NULL, NULL, 0, 0, NULL, NULL}};

static const char *cb_object(void *ud, const char *name, const char **table)
{
	(void)ud;
	if (strcasecmp(name, "Lead"))
		return NULL;
	*table = "lead";
	return "Lead";
}

static const soql_field *cb_field(void *ud, const char *object, const char *name)
{
	(void)ud;
	(void)object;
	for (const soql_field *f = lead_fields; f->name; f++)
		if (strcasecmp(f->name, name) == 0)
			return f;
	return NULL;
}

static const soql_field *cb_rel(void *ud, const char *object, const char *rel)
{
	(void)ud;
	(void)object;
	(void)rel;
	return NULL;
}

static const soql_schema schema = {NULL, cb_object, cb_field, cb_rel};
static sqlite3 *db;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (sqlite3_open(":memory:", &db) != SQLITE_OK ||
	    sqlite3_exec(db,
			 "CREATE TABLE lead(id TEXT, name TEXT, title TEXT, is_deleted INTEGER,"
			 " sms INTEGER, converted_date TEXT, employees INTEGER, revenue REAL,"
			 " is_converted INTEGER)",
			 NULL, NULL, NULL) != SQLITE_OK)
		abort();
	return 0;
}

/* Strict UTF-8 (RFC 3629: no overlongs, surrogates or code points past U+10FFFF). */
static bool utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint8_t c = s[i];
		size_t k;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			k = 1, cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			k = 2, cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			k = 3, cp = c & 0x07;
		} else {
			return false;
		}
		if (n - i < k + 1)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + j] & 0x3F);
		}
		if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
		    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += k + 1;
	}
	return true;
}

/* Compile "SELECT Id FROM Lead WHERE <cond>"; returns the compiled query or
 * NULL with err filled. */
static soql_compiled *compile_where(const char *cond, soql_error *err)
{
	sf_buf q = {0};
	soql_compiled *c = NULL;
	soql_options opt = {.now_ms = 1700000000000LL};
	sf_buf_add(&q, "SELECT Id FROM Lead WHERE ", 26);
	sf_buf_add(&q, cond, strlen(cond));
	FUZZ_CHECK(!q.oom, "out of memory");
	if (soql_compile(q.s, &schema, &opt, &c, err))
		c = NULL;
	sf_buf_free(&q);
	return c;
}

/* Run the ids query of c; the number of rows. */
static int run_count(const soql_compiled *c)
{
	sqlite3_stmt *st;
	int n = 0, rc;
	FUZZ_CHECK(sqlite3_prepare_v2(db, c->sql_ids, -1, &st, NULL) == SQLITE_OK, "prepare %s: %s",
		   c->sql_ids, sqlite3_errmsg(db));
	FUZZ_CHECK(soql_bind(c, st) == SQLITE_OK, "bind");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		n++;
	FUZZ_CHECK(rc == SQLITE_DONE, "step: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return n;
}

/* Two rows: the input itself and the input with one more character. */
static void put_rows(const uint8_t *s, size_t n)
{
	sqlite3_stmt *st;
	sqlite3_exec(db, "DELETE FROM lead", NULL, NULL, NULL);
	FUZZ_CHECK(sqlite3_prepare_v2(
		       db,
		       "INSERT INTO lead(id, name, is_deleted) VALUES"
		       " ('00Q000000000001AAA', ?1, 0), ('00Q000000000002AAA', ?1 || 'x', 0)",
		       -1, &st, NULL) == SQLITE_OK,
		   "insert: %s", sqlite3_errmsg(db));
	sqlite3_bind_text(st, 1, (const char *)s, (int)n, SQLITE_TRANSIENT);
	FUZZ_CHECK(sqlite3_step(st) == SQLITE_DONE, "insert step");
	sqlite3_finalize(st);
}

static void check_text(const uint8_t *s, size_t n, int like)
{
	sf_buf b = {0};
	cs_error e = CS_ERROR_INIT;
	int rc = like ? sf_soql_like_literal(&b, (const char *)s, n, &e)
		      : sf_soql_string(&b, (const char *)s, n, &e);
	bool has_nul = memchr(s, 0, n) != NULL;

	if (rc) {
		FUZZ_CHECK(has_nul || !utf8_valid(s, n), "refused valid text (%zu bytes): %s", n,
			   e.msg);
		FUZZ_CHECK(e.msg[0], "refusal without a message");
		sf_buf_free(&b);
		return;
	}
	FUZZ_CHECK(!has_nul, "accepted a NUL byte");
	FUZZ_CHECK(b.s && strlen(b.s) == b.len, "literal holds a NUL");
	char cond[64];
	snprintf(cond, sizeof cond, "Name %s ", like ? "LIKE" : "=");
	sf_buf q = {0};
	sf_buf_add(&q, cond, strlen(cond));
	sf_buf_add(&q, b.s, b.len);
	soql_error err;
	soql_compiled *c = compile_where(q.s, &err);
	/* a valid literal never fails to compile (strings past the emulator's
	 * length limits aside) */
	FUZZ_CHECK(c, "literal %s does not compile: %s %s", b.s, err.code, err.message);
	if (utf8_valid(s, n)) {
		put_rows(s, n);
		int rows = run_count(c);
		FUZZ_CHECK(rows == 1, "literal %s matched %d rows, not exactly the input", b.s,
			   rows);
	}
	soql_free(c);
	sf_buf_free(&q);
	sf_buf_free(&b);
}

static void check_compiles(const char *field, const char *lit)
{
	char cond[256];
	soql_error err;
	snprintf(cond, sizeof cond, "%s = %s", field, lit);
	soql_compiled *c = compile_where(cond, &err);
	FUZZ_CHECK(c, "accepted literal %s does not compile: %s %s", lit, err.code, err.message);
	run_count(c);
	soql_free(c);
}

static int64_t get_i64(const uint8_t *d, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < 8 && i < n; i++)
		v |= (uint64_t)d[i] << (8 * i);
	return (int64_t)v;
}

static char *dup_text(const uint8_t *d, size_t n)
{
	char *s = malloc(n + 1);
	FUZZ_CHECK(s, "out of memory");
	memcpy(s, d, n);
	s[n] = '\0';
	return s;
}

/* SOQL's reserved words: not valid field names in Salesforce (describe never
 * returns them), so a query naming one as a field may be malformed. */
static bool reserved(const char *name)
{
	static const char *const words[] = {"AND",
					    "ASC",
					    "DESC",
					    "EXCLUDES",
					    "FIRST",
					    "FROM",
					    "GROUP",
					    "HAVING",
					    "IN",
					    "INCLUDES",
					    "LAST",
					    "LIKE",
					    "LIMIT",
					    "NOT",
					    "NULL",
					    "NULLS",
					    "OR",
					    "SELECT",
					    "WHERE",
					    "WITH",
					    "ORDER",
					    "BY",
					    "OFFSET",
					    "TRUE",
					    "FALSE",
					    "TYPEOF",
					    "END",
					    "ELSE",
					    "WHEN",
					    "THEN",
					    "USING",
					    "FOR",
					    "UPDATE",
					    "VIEW",
					    "REFERENCE",
					    "ALL",
					    "ROWS",
					    "ROLLUP",
					    "CUBE",
					    "FORMAT",
					    "COUNT",
					    "TODAY",
					    "YESTERDAY",
					    "TOMORROW",
					    "SCOPE",
					    "DATA",
					    "CATEGORY",
					    "ABOVE",
					    "BELOW",
					    "AT",
					    "TRACKING",
					    "VIEWSTAT",
					    "CONVERTCURRENCY",
					    "TOLABEL",
					    "SECURITY_ENFORCED"};
	/* any dot-separated part of a path */
	for (const char *p = name; p;) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);
		for (size_t i = 0; i < sizeof words / sizeof *words; i++)
			if (strlen(words[i]) == len && strncasecmp(p, words[i], len) == 0)
				return true;
		p = dot ? dot + 1 : NULL;
	}
	return false;
}

static void check_keyset(const uint8_t *d, size_t n)
{
	int64_t since = get_i64(d, n);
	d += n < 8 ? n : 8;
	n -= n < 8 ? n : 8;
	int limit = n >= 2 ? (int)(d[0] | d[1] << 8) - 100 : 0;
	d += n < 2 ? n : 2;
	n -= n < 2 ? n : 2;
	/* the rest: "lastid\nfield\nfield..." */
	char *text = dup_text(d, n), *save = NULL;
	const char *fields[8];
	size_t nf = 0;
	char *last_id = strtok_r(text, "\n", &save);
	for (char *t; nf < 8 && (t = strtok_r(NULL, "\n", &save));)
		fields[nf++] = t;
	if (nf == 0)
		fields[nf++] = "Id";
	if (last_id && strcmp(last_id, "-") == 0)
		last_id = NULL;

	sf_buf b = {0};
	cs_error e = CS_ERROR_INIT;
	if (sf_soql_keyset(&b, "Lead", fields, nf, since, last_id, NULL, limit, &e) == 0) {
		soql_compiled *c = NULL;
		soql_error err;
		soql_options opt = {.now_ms = 1700000000000LL};
		if (soql_compile(b.s, &schema, &opt, &c, &err) == 0) {
			run_count(c);
			soql_free(c);
		} else {
			/* unknown fields are the schema's business; the syntax must hold.
			 * The emulator's compiler implements the spec's subset of parent
			 * paths (1-2 levels): deeper paths, which real SOQL allows up to 5
			 * levels and the client accepts up to there, are not a client bug. */
			bool any_reserved = false, beyond_subset = false;
			for (size_t i = 0; i < nf; i++) {
				any_reserved |= reserved(fields[i]);
				int dots = 0;
				for (const char *p = fields[i]; *p; p++)
					dots += *p == '.';
				beyond_subset |= dots > 2;
			}
			FUZZ_CHECK(any_reserved || beyond_subset || strcmp(err.code, "MALFORMED_QUERY") != 0,
				   "keyset query %s: %s %s", b.s, err.code, err.message);
		}
	} else {
		FUZZ_CHECK(e.msg[0], "refusal without a message");
	}
	sf_buf_free(&b);
	free(text);
}

static void check_value(const uint8_t *d, size_t n)
{
	if (n < 1)
		return;
	int type = d[0] % 8;
	d++, n--;
	crmsync_value v = {.type = type};
	char *s = dup_text(d, n);
	const char *field = "Name";
	double dv;
	switch (type) {
	case CRMSYNC_STRING:
		v.u.s = s, v.len = n;
		break;
	case CRMSYNC_DATE:
		v.u.s = s, v.len = strlen(s);
		field = "ConvertedDate";
		break;
	case CRMSYNC_ID:
		v.u.s = s, v.len = strlen(s);
		field = "Id";
		break;
	case CRMSYNC_INTEGER:
		v.u.i = get_i64(d, n);
		field = "NumberOfEmployees";
		break;
	case CRMSYNC_DATETIME:
		v.u.i = get_i64(d, n);
		field = "SystemModstamp";
		break;
	case CRMSYNC_DOUBLE:
		memcpy(&dv, (uint8_t[8]){0}, 8);
		if (n >= 8)
			memcpy(&dv, d, 8);
		v.u.d = dv;
		field = "AnnualRevenue";
		break;
	case CRMSYNC_BOOLEAN:
		v.u.b = n && d[0] & 1;
		field = "IsConverted";
		break;
	default:
		break;
	}
	sf_buf b = {0};
	cs_error e = CS_ERROR_INIT;
	if (sf_soql_value(&b, &v, &e) == 0) {
		FUZZ_CHECK(b.s && strlen(b.s) == b.len, "literal holds a NUL");
		if (type == CRMSYNC_STRING && utf8_valid(d, n)) {
			check_text(d, n, 0);
		} else if (b.len < 200) {
			check_compiles(field, b.s);
		}
	} else {
		FUZZ_CHECK(e.msg[0], "refusal without a message");
	}
	sf_buf_free(&b);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 8192)
		return 0;
	uint8_t op = data[0] % 7;
	const uint8_t *d = data + 1;
	size_t n = size - 1;
	sf_buf b = {0};
	cs_error e = CS_ERROR_INIT;
	char *s;

	switch (op) {
	case 0:
	case 1:
		check_text(d, n, op);
		break;
	case 2:
		s = dup_text(d, n);
		if (sf_soql_date(&b, s, &e) == 0)
			check_compiles("ConvertedDate", b.s);
		free(s);
		break;
	case 3:
		if (sf_soql_datetime(&b, get_i64(d, n)) == 0)
			check_compiles("SystemModstamp", b.s);
		break;
	case 4:
		s = dup_text(d, n);
		if (sf_soql_id(&b, s, &e) == 0) {
			FUZZ_CHECK(sf_id_valid(s), "accepted an invalid id %s", s);
			check_compiles("Id", b.s);
		} else {
			FUZZ_CHECK(!sf_id_valid(s), "refused a valid id %s", s);
		}
		free(s);
		break;
	case 5:
		check_keyset(d, n);
		break;
	case 6:
		check_value(d, n);
		break;
	}
	sf_buf_free(&b);
	return 0;
}
