/*
 * pg_rows.c - the sync's writes to unit tables (upsert, tombstones, merges,
 * row updates) and typed reads of a row. None of them is captured as a local
 * change: they run with crmsync.sync set (pgb_op_begin).
 *
 * Upsert sends a page as one statement: every column of the page is one text
 * array parameter, unnested into rows; an UPDATE ... FROM changes only the rows
 * where a value IS DISTINCT FROM the stored one (or that were tombstones), an
 * INSERT adds the rows whose id is not stored yet, and the statement returns
 * which row of the page was new or updated. Everything else was skipped.
 * A page of new records whose ids ascend (a first copy) goes in by COPY
 * instead (pgb_upsert_copy): a third of the server's time.
 */
#include "pg_int.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The shortest decimal text that reads back as the same double; the
 * infinities as PostgreSQL spells them. */
static void pgb_double_text(double d, char *buf, size_t cap)
{
	if (isinf(d)) {
		snprintf(buf, cap, "%s", d < 0 ? "-Infinity" : "Infinity");
		return;
	}
	bk_double_text(d, buf, cap);
}

int pgb_value_text(pgb *s, const pgb_unit *u, const pgb_field *f, const crmsync_value *v,
		   const char *id, const char **txt, size_t *len, char *buf, size_t cap,
		   crmsync_error *err)
{
	*txt = NULL;
	*len = 0;
	if (v->type == CRMSYNC_NULL)
		return 0;
	int text_col = f->kind == PGB_K_TEXT;
	switch (f->type) {
	case CRMSYNC_STRING:
	case CRMSYNC_ID:
	case CRMSYNC_DATE:
		if (!bk_is_text_type(v->type))
			break;
		if (v->len && (!bk_utf8_valid((const unsigned char *)v->u.s, v->len) ||
			       memchr(v->u.s, 0, v->len)))
			return pgb_errf(s, err, CRMSYNC_EINVAL,
					"unit %s, record %s: field %s is not valid UTF-8 text",
					u->name, id, f->name);
		*txt = v->u.s ? v->u.s : "";
		*len = v->len;
		return 0;
	case CRMSYNC_INTEGER:
	case CRMSYNC_BOOLEAN: {
		int64_t i;
		if (!bk_value_int(f->type, v, &i))
			break;
		if (text_col && f->type == CRMSYNC_BOOLEAN)
			snprintf(buf, cap, "%s", i ? "true" : "false");
		else
			snprintf(buf, cap, "%" PRId64, i);
		*txt = buf;
		*len = strlen(buf);
		return 0;
	}
	case CRMSYNC_DOUBLE: {
		double d;
		if (!bk_value_double(v, &d))
			break;
		if (isnan(d))
			return pgb_errf(s, err, CRMSYNC_EINVAL,
					"unit %s, record %s: field %s is NaN, which no CRM number "
					"can be",
					u->name, id, f->name);
		if (d == 0)
			d = 0.0; /* no negative zero: the CRM's numbers are decimals */
		pgb_double_text(d, buf, cap);
		*txt = buf;
		*len = strlen(buf);
		return 0;
	}
	case CRMSYNC_DATETIME: {
		int64_t ms;
		char tmp[64];
		int r = bk_value_ms(s->host, v, &ms, tmp);
		if (!r)
			break;
		if (r < 0)
			return pgb_errf(s, err, CRMSYNC_EINVAL,
					"unit %s, record %s: field %s: '%s' is not a datetime",
					u->name, id, f->name, tmp);
		if (f->kind == PGB_K_INT8)
			snprintf(buf, cap, "%" PRId64, ms);
		else
			bk_format_datetime(ms, buf);
		*txt = buf;
		*len = strlen(buf);
		return 0;
	}
	}
	return pgb_errf(s, err, CRMSYNC_EINVAL,
			"unit %s, record %s: field %s holds a %s value but is a %s field: the "
			"value does not match the field's describe type",
			u->name, id, f->name, bk_type_name(v->type), bk_type_name(f->type));
}

int pgb_text_value(pgb *s, const pgb_field *f, const char *txt, size_t len, crmsync_value *out,
		   char *why, size_t whycap)
{
	memset(out, 0, sizeof *out);
	out->type = CRMSYNC_NULL;
	if (!txt)
		return 0;
	if (!bk_utf8_valid((const unsigned char *)txt, len)) {
		snprintf(why, whycap,
			 "column %s holds text that is not valid UTF-8: fix the value (the CRM "
			 "accepts UTF-8 only)",
			 f->col);
		return -1;
	}
	char *end;
	switch (f->type) {
	case CRMSYNC_STRING:
	case CRMSYNC_ID:
	case CRMSYNC_DATE:
		out->type = f->type;
		out->u.s = txt;
		out->len = len;
		return 0;
	case CRMSYNC_INTEGER: {
		errno = 0;
		long long v = strtoll(txt, &end, 10);
		if (len && !errno && *end == 0) {
			out->type = CRMSYNC_INTEGER;
			out->u.i = v;
			return 0;
		}
		break;
	}
	case CRMSYNC_BOOLEAN:
		if (!strcasecmp(txt, "true") || !strcmp(txt, "1") || !strcmp(txt, "t")) {
			out->type = CRMSYNC_BOOLEAN;
			out->u.b = 1;
			return 0;
		}
		if (!strcasecmp(txt, "false") || !strcmp(txt, "0") || !strcmp(txt, "f")) {
			out->type = CRMSYNC_BOOLEAN;
			out->u.b = 0;
			return 0;
		}
		if (f->kind != PGB_K_TEXT) { /* any other integer counts as true */
			errno = 0;
			long long v = strtoll(txt, &end, 10);
			if (len && !errno && *end == 0) {
				out->type = CRMSYNC_BOOLEAN;
				out->u.b = v != 0;
				return 0;
			}
		}
		break;
	case CRMSYNC_DOUBLE:
		errno = 0;
		out->u.d = strtod(txt, &end);
		if (len && *end == 0) { /* ERANGE: a subnormal, still exact */
			out->type = CRMSYNC_DOUBLE;
			if (out->u.d == 0)
				out->u.d = 0.0;
			return 0;
		}
		break;
	case CRMSYNC_DATETIME:
		if (s->host->parse_datetime(txt, &out->u.i) == 0) {
			out->type = CRMSYNC_DATETIME;
			return 0;
		}
		if (f->kind == PGB_K_INT8) { /* milliseconds, as an application may write */
			errno = 0;
			long long v = strtoll(txt, &end, 10);
			if (len && !errno && *end == 0) {
				out->type = CRMSYNC_DATETIME;
				out->u.i = v;
				return 0;
			}
		}
		break;
	}
	snprintf(why, whycap, "column %s holds '%.60s', which is not a %s value", f->col, txt,
		 bk_type_name(f->type));
	memset(out, 0, sizeof *out);
	out->type = CRMSYNC_NULL;
	return -1;
}

static int pgb_field_index(const pgb_unit *u, const char *name)
{
	for (size_t i = 0; i < u->nfields; i++)
		if (strcasecmp(u->fields[i].name, name) == 0)
			return (int)i;
	return -1;
}

static const char *pgb_rec_id(pgb *s, const crmsync_record *rec, char *buf, size_t cap)
{
	crmsync_value v;
	if (s->host->record_get(rec, "Id", &v) == 0 && bk_is_text_type(v.type) && v.u.s) {
		snprintf(buf, cap, "%.*s", (int)(v.len < cap - 1 ? v.len : cap - 1), v.u.s);
		return buf;
	}
	return "(no Id)";
}

#define PGB_ROLE_ID (-1)
#define PGB_ROLE_MODSTAMP (-2)
#define PGB_ROLE_IGNORE (-3)

/* Said once per unit and field: every page would repeat it. */
static void pgb_warn_unknown(pgb *s, pgb_unit *u, const char *name)
{
	size_t n = strlen(name), have = u->warned ? strlen(u->warned) : 0;
	if (u->warned) {
		for (const char *p = u->warned; (p = strstr(p, name)); p++)
			if ((p == u->warned || p[-1] == '\n') && p[n] == '\n')
				return;
	}
	char *w = s->host->realloc(u->warned, have + n + 2);
	if (w) {
		memcpy(w + have, name, n);
		w[have + n] = '\n';
		w[have + n + 1] = 0;
		u->warned = w;
	}
	s->host->log(s->self, CRMSYNC_LOG_WARN,
		     "unit %s: records carry field %s, which is not in the unit's schema: it is "
		     "not stored (declare the field, or drop it in map_in)",
		     u->name, name);
}

static uint64_t pgb_hash(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 1099511628211ull;
	}
	return h;
}

typedef struct pgb_run {
	size_t npos;
	int *role;
	size_t ncols;
	pgb_buf *arr; /* ncols + 2 arrays: id, ms, columns */
	int *first;
} pgb_run;

static int pgb_run_setup(pgb *s, pgb_unit *u, const crmsync_record *rec, pgb_run *run,
			 crmsync_error *err)
{
	size_t n = s->host->record_count(rec);
	run->npos = n;
	run->role = s->host->alloc((n ? n : 1) * sizeof *run->role);
	run->arr = s->host->alloc((n + 2) * sizeof *run->arr);
	if (!run->role || !run->arr)
		return pgb_errf(s, err, CRMSYNC_ENOMEM, "unit %s: out of memory", u->name);
	memset(run->arr, 0, (n + 2) * sizeof *run->arr);
	int has_id = 0;
	for (size_t i = 0; i < n; i++) {
		const char *name;
		s->host->record_at(rec, i, &name, NULL);
		if (strcasecmp(name, "Id") == 0) {
			run->role[i] = PGB_ROLE_ID;
			has_id = 1;
		} else if (strcasecmp(name, "SystemModstamp") == 0) {
			run->role[i] = PGB_ROLE_MODSTAMP;
		} else {
			int fi = pgb_field_index(u, name);
			if (fi < 0) {
				/* stored only where the table has the column (engine
				 * contract: map_in may add fields) */
				pgb_warn_unknown(s, u, name);
				run->role[i] = PGB_ROLE_IGNORE;
				continue;
			}
			run->role[i] = fi;
			run->ncols++;
		}
	}
	if (!has_id)
		return pgb_errf(s, err, CRMSYNC_EINVAL,
				"unit %s: a record to store has no Id field: every record pulled "
				"from the CRM must carry its Id",
				u->name);
	for (size_t k = 0; k < run->ncols + 2; k++)
		pgb_buf_puts(s, &run->arr[k], "{");
	return 0;
}

static void pgb_run_free(pgb *s, pgb_run *run)
{
	if (run->arr)
		for (size_t k = 0; k < run->ncols + 2; k++)
			pgb_buf_free(s, &run->arr[k]);
	s->host->free(run->arr);
	s->host->free(run->role);
	memset(run, 0, sizeof *run);
}

/* Append one record's values to the run's arrays. */
static int pgb_run_add(pgb *s, pgb_unit *u, pgb_run *run, const crmsync_record *rec, int first,
		       const char **idp, size_t *idlen, crmsync_error *err)
{
	char rid[64], buf[64];
	const char *rids = pgb_rec_id(s, rec, rid, sizeof rid);
	size_t c = 2;
	int have_ms = 0;
	for (size_t i = 0; i < run->npos; i++) {
		crmsync_value v;
		s->host->record_at(rec, i, NULL, &v);
		const char *t;
		size_t len;
		if (run->role[i] == PGB_ROLE_ID) {
			if (!bk_is_text_type(v.type) || v.len == 0)
				return pgb_errf(
				    s, err, CRMSYNC_EINVAL,
				    "unit %s: a record's Id is empty or not text: every "
				    "record pulled from the CRM must carry its Id",
				    u->name);
			if (!bk_utf8_valid((const unsigned char *)v.u.s, v.len) ||
			    memchr(v.u.s, 0, v.len))
				return pgb_errf(s, err, CRMSYNC_EINVAL,
						"unit %s: a record's Id is not valid text",
						u->name);
			*idp = v.u.s;
			*idlen = v.len;
			pgb_buf_array_elem(s, &run->arr[0], v.u.s, v.len, first);
		} else if (run->role[i] == PGB_ROLE_MODSTAMP) {
			static const pgb_field msf = {.name = "SystemModstamp",
						      .col = "crm_modstamp",
						      .type = CRMSYNC_DATETIME,
						      .kind = PGB_K_TEXT};
			int rc =
			    pgb_value_text(s, u, &msf, &v, rids, &t, &len, buf, sizeof buf, err);
			if (rc)
				return rc;
			pgb_buf_array_elem(s, &run->arr[1], t, len, first);
			have_ms = 1;
		} else if (run->role[i] >= 0) {
			int rc = pgb_value_text(s, u, &u->fields[run->role[i]], &v, rids, &t, &len,
						buf, sizeof buf, err);
			if (rc)
				return rc;
			pgb_buf_array_elem(s, &run->arr[c++], t, len, first);
		}
	}
	if (!have_ms)
		pgb_buf_array_elem(s, &run->arr[1], NULL, 0, first);
	return 0;
}

/* One statement for recs[0..n) (same fields, distinct ids). */
static int pgb_upsert_run(pgb *s, pgb_unit *u, crmsync_record *const *recs, size_t n, uint8_t *out,
			  crmsync_error *err)
{
	pgb_run run = {0};
	pgb_buf q = {0};
	const char **params = NULL;
	PGresult *r = NULL;
	int rc = pgb_run_setup(s, u, recs[0], &run, err);
	if (rc)
		goto out;
	for (size_t k = 0; k < n && !rc; k++) {
		const char *id;
		size_t idlen;
		rc = pgb_run_add(s, u, &run, recs[k], k == 0, &id, &idlen, err);
		out[k] = CRMSYNC_OUT_SKIPPED;
	}
	if (rc)
		goto out;
	size_t na = run.ncols + 2;
	params = s->host->alloc(na * sizeof *params);
	if (!params) {
		rc = pgb_errf(s, err, CRMSYNC_ENOMEM, "unit %s: out of memory", u->name);
		goto out;
	}
	for (size_t k = 0; k < na; k++) {
		pgb_buf_puts(s, &run.arr[k], "}");
		rc = pgb_buf_ok(s, &run.arr[k], err);
		if (rc)
			goto out;
		params[k] = run.arr[k].p;
	}
	/* The columns of the page, in record order. */
	const pgb_field **cf = s->host->alloc((run.ncols ? run.ncols : 1) * sizeof *cf);
	if (!cf) {
		rc = pgb_errf(s, err, CRMSYNC_ENOMEM, "unit %s: out of memory", u->name);
		goto out;
	}
	size_t c = 0;
	for (size_t i = 0; i < run.npos; i++)
		if (run.role[i] >= 0)
			cf[c++] = &u->fields[run.role[i]];
	/* The arrays side by side: set-returning functions in the select list
	 * run in lockstep, one value per call (unnest in FROM would first copy
	 * every array into a tuplestore: ~5 us more per record). */
	pgb_buf_puts(s, &q,
		     "WITH v AS (SELECT generate_series(1, cardinality($1::text[])) AS ord, "
		     "unnest($1::text[]) AS id, unnest($2::text[]) AS ms");
	for (size_t k = 0; k < c; k++)
		pgb_buf_printf(s, &q, ", unnest($%zu::text[]) AS c%zu", k + 3, k);
	pgb_buf_puts(s, &q, "), w AS (SELECT ord, id, ms");
	for (size_t k = 0; k < c; k++)
		pgb_buf_printf(s, &q, ", c%zu::%s AS c%zu", k, cf[k]->decl, k);
	/* e: each record with its stored row (local_id) and whether a synced
	 * field differs. The stored row is looked up by id through the id index
	 * for each record (a lateral subquery the planner cannot flatten), never
	 * by a join that reads the whole table: a hash join over every row for
	 * every page made a sync quadratic. One lookup serves both the update
	 * and the insert. */
	pgb_buf_puts(s, &q,
		     " FROM v), e AS (SELECT w.*, t.lid, t.chg FROM w LEFT JOIN LATERAL (SELECT "
		     "t.local_id AS lid, (t.is_deleted <> 0");
	for (size_t k = 0; k < c; k++)
		pgb_buf_printf(s, &q, " OR t.%s IS DISTINCT FROM w.c%zu", cf[k]->qcol, k);
	pgb_buf_printf(s, &q,
		       ") AS chg FROM %s t WHERE t.id = w.id OFFSET 0) t ON true), upd AS (UPDATE "
		       "%s AS t SET is_deleted = 0, merged_into = NULL, crm_modstamp = "
		       "coalesce(e.ms, t.crm_modstamp)",
		       u->qname, u->qname);
	for (size_t k = 0; k < c; k++)
		pgb_buf_printf(s, &q, ", %s = e.c%zu", cf[k]->qcol, k);
	/* The changed rows by primary key; the comparison is repeated so that a
	 * row an application changed meanwhile is judged by its new values. */
	pgb_buf_puts(s, &q,
		     " FROM e WHERE t.local_id = ANY(ARRAY(SELECT lid FROM e WHERE chg)) AND "
		     "t.local_id = e.lid AND (t.is_deleted <> 0");
	for (size_t k = 0; k < c; k++)
		pgb_buf_printf(s, &q, " OR t.%s IS DISTINCT FROM e.c%zu", cf[k]->qcol, k);
	pgb_buf_printf(s, &q,
		       ") RETURNING e.ord), ins AS (INSERT INTO %s(id, crm_modstamp, sync_state",
		       u->qname);
	for (size_t k = 0; k < c; k++)
		pgb_buf_printf(s, &q, ", %s", cf[k]->qcol);
	pgb_buf_puts(s, &q, ") SELECT e.id, e.ms, 'synced'");
	for (size_t k = 0; k < c; k++)
		pgb_buf_printf(s, &q, ", e.c%zu", k);
	pgb_buf_puts(s, &q,
		     " FROM e WHERE e.lid IS NULL ORDER BY e.ord ON CONFLICT (id) DO NOTHING "
		     "RETURNING id) SELECT e.ord, 1 FROM e WHERE e.lid IS NULL AND e.id IN "
		     "(SELECT id FROM ins) UNION ALL SELECT ord, 2 FROM upd");
	s->host->free(cf);
	rc = pgb_buf_ok(s, &q, err);
	if (rc)
		goto out;
	rc = pgb_query(s, q.p, (int)na, params, &r, "storing records", err);
	if (rc) {
		char why[1536];
		snprintf(why, sizeof why, "%s", s->host->error_message(err));
		char rid0[64];
		s->host->error_set(err, rc, "unit %s: storing a page of %zu records (from %s): %s",
				   u->name, n, pgb_rec_id(s, recs[0], rid0, sizeof rid0), why);
		goto out;
	}
	for (int i = 0; i < PQntuples(r); i++) {
		long long ord = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		int what = atoi(PQgetvalue(r, i, 1));
		if (ord >= 1 && (size_t)ord <= n)
			out[ord - 1] = what == 1 ? CRMSYNC_OUT_NEW : CRMSYNC_OUT_UPDATED;
	}
out:
	PQclear(r);
	s->host->free(params);
	pgb_buf_free(s, &q);
	pgb_run_free(s, &run);
	return rc;
}

/* The longest run from recs[0] with the same fields and distinct ids. The
 * names of recs[0]'s fields and the place of its Id are looked up once: the
 * records of a run have the same fields in the same order. */
static size_t pgb_run_len(pgb *s, crmsync_record *const *recs, size_t n, uint64_t *tab, size_t cap)
{
	size_t nf = s->host->record_count(recs[0]), idpos = nf, k;
	const char **names = s->host->alloc((nf ? nf : 1) * sizeof *names);
	if (!names)
		return 1;
	for (size_t i = 0; i < nf; i++) {
		s->host->record_at(recs[0], i, &names[i], NULL);
		if (idpos == nf && strcasecmp(names[i], "Id") == 0)
			idpos = i;
	}
	memset(tab, 0, cap * sizeof *tab);
	for (k = 0; k < n; k++) {
		crmsync_value v = {.type = CRMSYNC_NULL};
		if (k && s->host->record_count(recs[k]) != nf)
			break;
		int same = 1;
		for (size_t i = 0; i < nf && same; i++) {
			const char *y;
			s->host->record_at(recs[k], i, &y, i == idpos ? &v : NULL);
			same = names[i] == y || !strcmp(names[i], y) || !strcasecmp(names[i], y);
		}
		if (!same)
			break;
		if (idpos == nf || !bk_is_text_type(v.type))
			break; /* the run setup reports it */
		uint64_t h = pgb_hash(v.u.s, v.len) | 1;
		size_t i = (size_t)h & (cap - 1);
		int dup = 0;
		while (tab[i]) {
			if (tab[i] == h) { /* maybe the same id: compare */
				for (size_t j = 0; j < k; j++) {
					crmsync_value w;
					if (s->host->record_at(recs[j], idpos, NULL, &w) == 0 &&
					    w.len == v.len && !memcmp(w.u.s, v.u.s, v.len)) {
						dup = 1;
						break;
					}
				}
				if (dup)
					break;
			}
			i = (i + 1) & (cap - 1);
		}
		if (dup)
			break;
		tab[i] = h;
	}
	s->host->free(names);
	return k ? k : 1;
}

/* ---- the first copy: pages of new records by COPY --------------------------
 *
 * A first copy pulls in Id order, so each page holds ids that ascend and that
 * no stored row has. Such a page is sent by COPY straight into the table:
 * no text arrays to parse and unnest, no lookup of each id, no comparison,
 * no CTE, and the server inserts in batches. The one statement above costs
 * about 25 us of server CPU per lead (bench/backend_upsert), COPY about 11.
 *
 * The COPY runs in a savepoint of its own: if it fails for any reason but a
 * lost connection (an id stored meanwhile, a value the column refuses), it
 * is rolled back and the page takes the one-statement path, which stores it
 * or reports the error exactly as it always did. When COPY succeeds, every
 * record of the page was inserted: each is new. The writes run with
 * crmsync.sync set like every other write, so the capture trigger's WHEN
 * condition keeps them out of the change log. */

#define PGB_COPY_MIN 32 /* fewer records: the extra round trips are not worth it */

/* Columns of the types crmsync lays out, whose COPY input is exactly the
 * one-statement path's cast from text; any other type an application gave a
 * column (varchar(n), numeric, a domain) keeps the cast's own semantics. */
static int pgb_copy_decl_ok(const char *decl)
{
	static const char *const ok[] = {"text", "bigint", "smallint", "integer",
					 "double precision"};
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
		if (!strcmp(decl, ok[i]))
			return 1;
	return 0;
}

/* Is the table still the one ensure_unit laid out, as far as COPY cares:
 * an ordinary table (COPY ignores rules; row security refuses COPY) whose
 * id, crm_modstamp and sync_state are text? Asked once per loaded unit. */
static int pgb_copy_table_ok(pgb *s, pgb_unit *u, crmsync_error *err)
{
	if (u->copy_ok)
		return u->copy_ok > 0;
	PGresult *r = NULL;
	const char *p[1] = {u->qname};
	int rc = pgb_query(s,
			   "SELECT c.relkind = 'r' AND NOT c.relhasrules AND NOT c.relrowsecurity "
			   "AND (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = c.oid AND "
			   "a.attname IN ('id', 'crm_modstamp', 'sync_state') AND NOT "
			   "a.attisdropped AND a.atttypid = 'text'::regtype) = 3 FROM pg_class c "
			   "WHERE c.oid = to_regclass($1)",
			   1, p, &r, "inspecting a unit's table", err);
	if (rc)
		return rc;
	u->copy_ok = PQntuples(r) == 1 && !strcmp(PQgetvalue(r, 0, 0), "t") ? 1 : -1;
	PQclear(r);
	return u->copy_ok > 0;
}

static int pgb_copy_plain(const char *p, size_t n);
static inline void pgb_copy_add(pgb *s, pgb_buf *b, const char *str, size_t n);

/* One field of a COPY text row: \N for null, else the text with backslash,
 * newline, carriage return and tab escaped. */
static void pgb_buf_copy_field(pgb *s, pgb_buf *b, const char *v, size_t len)
{
	if (!v) {
		pgb_buf_add(s, b, "\\N", 2);
		return;
	}
	if (pgb_copy_plain(v, len)) {
		pgb_copy_add(s, b, v, len);
		return;
	}
	size_t run = 0;
	for (size_t i = 0; i < len; i++) {
		const char *esc;
		switch (v[i]) {
		case '\\':
			esc = "\\\\";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		case '\t':
			esc = "\\t";
			break;
		default:
			continue;
		}
		pgb_buf_add(s, b, v + run, i - run);
		pgb_buf_add(s, b, esc, 2);
		run = i + 1;
	}
	pgb_buf_add(s, b, v + run, len - run);
}

/* Text both paths store as it is and COPY needs no escape for: printable
 * ASCII but the backslash (most CRM values). One pass instead of the UTF-8
 * check, the NUL check and the escape scan. */
static int pgb_copy_plain(const char *p, size_t n)
{
	/* eight bytes at a time: any byte >= 0x80, < 0x20, 0x7f or '\\'? */
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t v, x, y;
		memcpy(&v, p + i, 8);
		x = v ^ (ones * 0x7f);
		y = v ^ (ones * '\\');
		if ((v | ((v - ones * 0x20) & ~v) | ((x - ones) & ~x) | ((y - ones) & ~y)) & high)
			return 0;
	}
	for (; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c < 0x20 || c >= 0x7f || c == '\\')
			return 0;
	}
	return 1;
}

/* pgb_buf_add, inline while the buffer has room (a row appends some 70
 * pieces). */
static inline void pgb_copy_add(pgb *s, pgb_buf *b, const char *str, size_t n)
{
	if (b->len + n < b->cap) {
		memcpy(b->p + b->len, str, n);
		b->len += n;
		b->p[b->len] = 0;
	} else
		pgb_buf_add(s, b, str, n);
}

/* An integer as decimal text, as "%" PRId64 prints it; buf has 24 bytes. */
static size_t pgb_copy_int(int64_t i, char *buf)
{
	char tmp[24];
	size_t nd = 0, len = 0;
	uint64_t u = i < 0 ? (uint64_t)0 - (uint64_t)i : (uint64_t)i;
	do {
		tmp[nd++] = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (i < 0)
		buf[len++] = '-';
	while (nd)
		buf[len++] = tmp[--nd];
	return len;
}

/* A double as decimal text that float8in reads back as exactly d, without
 * printf and strtod, for the values money and counts hold: at most 15 digits,
 * 4 of them decimals. The text of m / 10^k reads back as the double nearest
 * m / 10^k, and so does the division m / 10^k of two exact doubles (both are
 * correctly rounded): when the division gives d, the text stores d. 0 for
 * other values (the caller formats them the general way). buf has 32 bytes. */
static size_t pgb_copy_double(double d, char *buf)
{
	static const double p10[] = {1, 10, 100, 1000, 10000};
	if (!(fabs(d) < 1e15)) /* NaN and the infinities too */
		return 0;
	if (d == 0) { /* -0 too: the CRM's numbers are decimals */
		buf[0] = '0';
		return 1;
	}
	for (size_t k = 0; k < sizeof p10 / sizeof *p10; k++) {
		double m = nearbyint(d * p10[k]);
		if (m / p10[k] != d)
			continue;
		char tmp[24];
		size_t nd = 0, len = 0;
		uint64_t u = (uint64_t)fabs(m);
		do {
			tmp[nd++] = (char)('0' + u % 10);
			u /= 10;
		} while (u);
		while (nd <= k) /* a digit before the point */
			tmp[nd++] = '0';
		if (m < 0)
			buf[len++] = '-';
		while (nd > k)
			buf[len++] = tmp[--nd];
		if (k) {
			buf[len++] = '.';
			while (nd)
				buf[len++] = tmp[--nd];
		}
		return len;
	}
	return 0;
}

/* Append one record's COPY text row: id, crm_modstamp, sync_state, then the
 * columns in record order. 0, or -1 for a value the one-statement path
 * reports (err is set, and that path sets it again the same way). */
static int pgb_copy_row(pgb *s, pgb_unit *u, const pgb_run *run, const crmsync_record *rec,
			const crmsync_value *id, pgb_buf *rows, crmsync_error *err)
{
	static const pgb_field msf = {.name = "SystemModstamp",
				      .col = "crm_modstamp",
				      .type = CRMSYNC_DATETIME,
				      .kind = PGB_K_TEXT};
	char rid[64], buf[64];
	size_t rl = id->len < sizeof rid - 1 ? id->len : sizeof rid - 1;
	memcpy(rid, id->u.s, rl); /* as pgb_rec_id gives it */
	rid[rl] = 0;
	crmsync_value ms = {.type = CRMSYNC_NULL};
	for (size_t i = 0; i < run->npos; i++)
		if (run->role[i] == PGB_ROLE_MODSTAMP)
			s->host->record_at(rec, i, NULL, &ms);
	const char *t;
	size_t len;
	pgb_buf_copy_field(s, rows, id->u.s, id->len);
	if (pgb_value_text(s, u, &msf, &ms, rid, &t, &len, buf, sizeof buf, err))
		return -1;
	pgb_copy_add(s, rows, "\t", 1);
	pgb_buf_copy_field(s, rows, t, len);
	pgb_copy_add(s, rows, "\tsynced", 7);
	for (size_t i = 0; i < run->npos; i++) {
		if (run->role[i] < 0)
			continue;
		const pgb_field *f = &u->fields[run->role[i]];
		crmsync_value v;
		s->host->record_at(rec, i, NULL, &v);
		pgb_copy_add(s, rows, "\t", 1);
		/* the common values without pgb_value_text's general formatting:
		 * the same text, or for a double column text of the same double */
		if (bk_is_text_type(f->type) && bk_is_text_type(v.type) &&
		    (v.len == 0 || (v.u.s && pgb_copy_plain(v.u.s, v.len)))) {
			pgb_copy_add(s, rows, v.len ? v.u.s : "", v.len);
			continue;
		}
		int64_t iv;
		double dv;
		if ((f->kind == PGB_K_INT8 || f->kind == PGB_K_INT2) &&
		    (f->type == CRMSYNC_INTEGER || f->type == CRMSYNC_BOOLEAN) &&
		    bk_value_int(f->type, &v, &iv)) {
			pgb_copy_add(s, rows, buf, pgb_copy_int(iv, buf));
			continue;
		}
		if (f->kind == PGB_K_FLOAT8 && f->type == CRMSYNC_DOUBLE &&
		    bk_value_double(&v, &dv) && (len = pgb_copy_double(dv, buf)) > 0) {
			pgb_copy_add(s, rows, buf, len);
			continue;
		}
		if (pgb_value_text(s, u, f, &v, rid, &t, &len, buf, sizeof buf, err))
			return -1;
		pgb_buf_copy_field(s, rows, t, len);
	}
	pgb_copy_add(s, rows, "\n", 1);
	return 0;
}

/* Undo a COPY attempt that failed, unless the connection is gone. */
static int pgb_copy_undo(pgb *s, pgb_unit *u, PGresult *why, crmsync_error *err)
{
	if (!s->conn || PQstatus(s->conn) == CONNECTION_BAD)
		return pgb_fail(s, err, why, "unit %s: storing a page", u->name);
	const char *m = why ? PQresultErrorField(why, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	s->host->log(s->self, CRMSYNC_LOG_DEBUG,
		     "unit %s: a page of new records was not copied (%s): storing it with "
		     "the upsert statement",
		     u->name, m ? m : "no result");
	PQclear(why);
	return pgb_exec(s, "ROLLBACK TO SAVEPOINT pgb_copy; RELEASE SAVEPOINT pgb_copy",
			"storing a page", err);
}

#define PGB_COPY_CHUNK 65536 /* bytes: the server parses while we format */

/* The ids of recs[0..n): valid text, strictly ascending as bytes. 0, or 1
 * when they are not (the one-statement path takes the page). */
static int pgb_copy_ids(pgb *s, const pgb_run *run, crmsync_record *const *recs, size_t n,
			crmsync_value *ids)
{
	size_t idpos = 0;
	for (size_t i = 0; i < run->npos; i++)
		if (run->role[i] == PGB_ROLE_ID)
			idpos = i;
	for (size_t k = 0; k < n; k++) {
		crmsync_value *id = &ids[k];
		if (s->host->record_at(recs[k], idpos, NULL, id) || !bk_is_text_type(id->type) ||
		    id->len == 0 || !id->u.s ||
		    !bk_utf8_valid((const unsigned char *)id->u.s, id->len) ||
		    memchr(id->u.s, 0, id->len))
			return 1;
		if (k) {
			const crmsync_value *p = &ids[k - 1];
			int c = memcmp(p->u.s, id->u.s, p->len < id->len ? p->len : id->len);
			if (c > 0 || (c == 0 && p->len >= id->len))
				return 1;
		}
	}
	return 0;
}

/* Is any id between the first and the last stored (tombstones included)?
 * 1 yes, 0 no, -1 the probe failed (*res keeps the failure, or NULL). (Under
 * a collation other than C the range may miss a stored id of the page: the
 * unique index on id then fails the COPY, which falls back.) */
static int pgb_copy_probe(pgb *s, pgb_unit *u, const crmsync_value *first,
			  const crmsync_value *last, PGresult **res)
{
	pgb_buf q = {0};
	char *a = s->host->alloc(first->len + 1), *b = s->host->alloc(last->len + 1);
	pgb_buf_printf(s, &q, "SELECT 1 FROM %s WHERE id BETWEEN $1 AND $2 LIMIT 1", u->qname);
	int rc = -1;
	*res = NULL;
	if (a && b && !q.oom && q.p) {
		memcpy(a, first->u.s, first->len);
		a[first->len] = 0;
		memcpy(b, last->u.s, last->len);
		b[last->len] = 0;
		const char *p[2] = {a, b};
		*res = PQexecParams(s->conn, q.p, 2, NULL, p, NULL, NULL, 0);
		if (PQresultStatus(*res) == PGRES_TUPLES_OK)
			rc = PQntuples(*res) > 0;
	}
	pgb_buf_free(s, &q);
	s->host->free(a);
	s->host->free(b);
	return rc;
}

/* recs[0..n) (same fields, distinct ids) by COPY when they are new records
 * of ascending ids: *done says whether it stored them (out filled) or failed
 * for good (a lost connection); otherwise nothing was written and the
 * one-statement path stores them. The rows are formatted and sent in chunks,
 * so that the server inserts while the rest is formatted. */
static int pgb_upsert_copy(pgb *s, pgb_unit *u, crmsync_record *const *recs, size_t n, uint8_t *out,
			   int *done, crmsync_error *err)
{
	*done = 0;
	if (n < PGB_COPY_MIN)
		return 0;
	int rc = pgb_copy_table_ok(s, u, err);
	if (rc <= 0)
		return rc;
	rc = 0;
	pgb_run run = {0};
	pgb_buf rows = {0}, q = {0};
	PGresult *r = NULL;
	crmsync_value *ids = s->host->alloc(n * sizeof *ids);
	if (!ids || pgb_run_setup(s, u, recs[0], &run, err))
		goto out; /* the one-statement path reports it */
	size_t nid = 0, nms = 0;
	for (size_t i = 0; i < run.npos; i++) {
		nid += run.role[i] == PGB_ROLE_ID;
		nms += run.role[i] == PGB_ROLE_MODSTAMP;
		if (run.role[i] >= 0 && !pgb_copy_decl_ok(u->fields[run.role[i]].decl))
			goto out;
	}
	if (nid != 1 || nms > 1 || pgb_copy_ids(s, &run, recs, n, ids))
		goto out;
	pgb_buf_printf(s, &q, "COPY %s(id, crm_modstamp, sync_state", u->qname);
	for (size_t i = 0; i < run.npos; i++)
		if (run.role[i] >= 0)
			pgb_buf_printf(s, &q, ", %s", u->fields[run.role[i]].qcol);
	pgb_buf_puts(s, &q, ") FROM STDIN");
	if (q.oom)
		goto out;
	*done = 1; /* from here on, a failure is the page's unless undone */
	rc = pgb_exec(s, "SAVEPOINT pgb_copy", "storing a page", err);
	if (rc)
		goto out;
	int stored = pgb_copy_probe(s, u, &ids[0], &ids[n - 1], &r);
	if (stored != 0) {
		if (stored > 0)
			rc = pgb_exec(s, "RELEASE SAVEPOINT pgb_copy", "storing a page", err);
		else {
			rc = pgb_copy_undo(s, u, r, err);
			r = NULL;
		}
		*done = rc != 0;
		goto out;
	}
	PQclear(r);
	r = PQexec(s->conn, q.p);
	if (PQresultStatus(r) != PGRES_COPY_IN) {
		rc = pgb_copy_undo(s, u, r, err);
		r = NULL;
		*done = rc != 0;
		goto out;
	}
	PQclear(r);
	r = NULL;
	int bad = 0, sent = 1;
	for (size_t k = 0; k < n && !bad && sent; k++) {
		bad = pgb_copy_row(s, u, &run, recs[k], &ids[k], &rows, err) || rows.oom;
		if (!bad && (rows.len >= PGB_COPY_CHUNK || k == n - 1)) {
			sent = PQputCopyData(s->conn, rows.p, (int)rows.len) == 1;
			rows.len = 0;
		}
	}
	if (sent)
		sent =
		    PQputCopyEnd(s->conn, bad ? "a value is for the upsert statement" : NULL) == 1;
	if (sent) {
		r = PQgetResult(s->conn);
		for (PGresult *more; (more = PQgetResult(s->conn));)
			PQclear(more);
	}
	if (!sent || bad || PQresultStatus(r) != PGRES_COMMAND_OK ||
	    strtoull(PQcmdTuples(r), NULL, 10) != n) {
		rc = pgb_copy_undo(s, u, r, err);
		r = NULL;
		*done = rc != 0;
		goto out;
	}
	rc = pgb_exec(s, "RELEASE SAVEPOINT pgb_copy", "storing a page", err);
	if (!rc)
		memset(out, CRMSYNC_OUT_NEW, n);
out:
	PQclear(r);
	s->host->free(ids);
	pgb_buf_free(s, &q);
	pgb_buf_free(s, &rows);
	pgb_run_free(s, &run);
	return rc;
}

#define PGB_PAGE 2000

int pgb_upsert(void *state, const char *unit, crmsync_record *const *recs, size_t n, uint8_t *out,
	       crmsync_error *err)
{
	pgb *s = state;
	pgb_unit *u;
	int rc = pgb_unit_get(s, unit, &u, err);
	if (rc || n == 0)
		return rc;
	size_t cap = 8192; /* > 2 * PGB_PAGE, a power of two */
	uint64_t *tab = s->host->alloc(cap * sizeof *tab);
	if (!tab)
		return pgb_errf(s, err, CRMSYNC_ENOMEM, "unit %s: out of memory", u->name);
	rc = pgb_op_begin(s, err);
	for (size_t i = 0; i < n && !rc;) {
		size_t m = n - i < PGB_PAGE ? n - i : PGB_PAGE;
		size_t k = pgb_run_len(s, recs + i, m, tab, cap);
		int done = 0;
		rc = pgb_upsert_copy(s, u, recs + i, k, out + i, &done, err);
		if (!rc && !done)
			rc = pgb_upsert_run(s, u, recs + i, k, out + i, err);
		i += k;
	}
	s->host->free(tab);
	return pgb_op_end(s, rc, err);
}

/* Drop what the change log and push state hold for a row the sync removed. */
static int pgb_forget_row(pgb *s, pgb_unit *u, int64_t row, crmsync_error *err)
{
	char b[24];
	snprintf(b, sizeof b, "%lld", (long long)row);
	const char *p[2] = {u->name, b};
	int rc = pgb_query(s, "DELETE FROM _crmsync_log WHERE unit = $1 AND \"row\" = $2", 2, p,
			   NULL, "clearing a row's change log", err);
	if (!rc)
		rc = pgb_query(s, "DELETE FROM _crmsync_push WHERE unit = $1 AND \"row\" = $2", 2,
			       p, NULL, "clearing a row's push state", err);
	return rc;
}

int pgb_mark_deleted(void *state, const char *unit, const char *const *ids,
		     const char *const *merged_into, size_t n, int remove, uint8_t *out,
		     crmsync_error *err)
{
	pgb *s = state;
	pgb_unit *u;
	pgb_buf tomb = {0}, del = {0};
	int rc = pgb_unit_get(s, unit, &u, err);
	if (rc)
		return rc;
	pgb_buf_printf(s, &tomb,
		       "UPDATE %s SET is_deleted = 1, merged_into = $2 WHERE id = $1 AND NOT "
		       "(is_deleted <> 0 AND merged_into IS NOT DISTINCT FROM $2::text)",
		       u->qname);
	pgb_buf_printf(
	    s, &del,
	    "WITH d AS (DELETE FROM %s WHERE id = $1 RETURNING local_id), l AS (DELETE "
	    "FROM _crmsync_log WHERE unit = $2 AND \"row\" IN (SELECT local_id FROM d)), "
	    "p AS (DELETE FROM _crmsync_push WHERE unit = $2 AND \"row\" IN (SELECT "
	    "local_id FROM d)) SELECT count(*) FROM d",
	    u->qname);
	rc = pgb_buf_ok(s, &tomb, err);
	if (!rc)
		rc = pgb_buf_ok(s, &del, err);
	if (!rc)
		rc = pgb_op_begin(s, err);
	if (rc)
		goto out;
	for (size_t i = 0; i < n && !rc; i++) {
		PGresult *r = NULL;
		if (!ids[i] || !*ids[i]) {
			rc = pgb_errf(s, err, CRMSYNC_EINVAL,
				      "unit %s: delete %zu of the batch has no CRM id", u->name, i);
			break;
		}
		if (remove) {
			const char *p[2] = {ids[i], u->name};
			rc = pgb_query(s, del.p, 2, p, &r, "deleting a record", err);
			if (!rc)
				out[i] = strcmp(PQgetvalue(r, 0, 0), "0") ? CRMSYNC_OUT_DELETED
									  : CRMSYNC_OUT_SKIPPED;
		} else {
			const char *p[2] = {ids[i], merged_into ? merged_into[i] : NULL};
			rc = pgb_query(s, tomb.p, 2, p, &r, "marking a record deleted", err);
			if (!rc)
				out[i] = strcmp(PQcmdTuples(r), "0") ? CRMSYNC_OUT_DELETED
								     : CRMSYNC_OUT_SKIPPED;
		}
		if (rc) {
			char why[1536];
			snprintf(why, sizeof why, "%s", s->host->error_message(err));
			s->host->error_set(err, rc, "unit %s, record %s: %s", u->name, ids[i], why);
		}
		PQclear(r);
	}
	rc = pgb_op_end(s, rc, err);
out:
	pgb_buf_free(s, &tomb);
	pgb_buf_free(s, &del);
	return rc;
}

static int pgb_row_of(pgb *s, pgb_unit *u, const char *id, int64_t *row, crmsync_error *err)
{
	pgb_buf q = {0};
	PGresult *r = NULL;
	pgb_buf_printf(s, &q, "SELECT local_id FROM %s WHERE id = $1", u->qname);
	int rc = pgb_buf_ok(s, &q, err);
	const char *p[1] = {id};
	if (!rc)
		rc = pgb_query(s, q.p, 1, p, &r, "reading a record", err);
	*row = !rc && PQntuples(r) ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
	PQclear(r);
	pgb_buf_free(s, &q);
	return rc;
}

/* Point every reference to the loser (in any unit whose field references this
 * unit's object) at the winner. */
static int pgb_repoint(pgb *s, pgb_unit *u, const char *loser, const char *winner,
		       crmsync_error *err)
{
	PGresult *refs = NULL;
	const char *p[1] = {u->sobject};
	int rc = pgb_query(s,
			   "SELECT f.unit, f.col FROM _crmsync_fields f JOIN _crmsync_units t ON "
			   "t.unit = f.unit WHERE f.active = 1 AND lower(f.reference_to) = "
			   "lower($1)",
			   1, p, &refs, "finding references", err);
	if (rc)
		return rc;
	for (int i = 0; i < PQntuples(refs) && !rc; i++) {
		const char *t = PQgetvalue(refs, i, 0), *c = PQgetvalue(refs, i, 1);
		pgb_buf q = {0};
		pgb_buf_printf(s, &q, "UPDATE %s.", s->qschema);
		pgb_buf_ident(s, &q, t);
		pgb_buf_puts(s, &q, " SET ");
		pgb_buf_ident(s, &q, c);
		pgb_buf_puts(s, &q, " = $1 WHERE ");
		pgb_buf_ident(s, &q, c);
		pgb_buf_puts(s, &q, " = $2");
		rc = pgb_buf_ok(s, &q, err);
		const char *pp[2] = {winner, loser};
		if (!rc)
			rc = pgb_query(s, q.p, 2, pp, NULL, "re-pointing references", err);
		if (rc) {
			char why[1536];
			snprintf(why, sizeof why, "%s", s->host->error_message(err));
			s->host->error_set(err, rc, "unit %s: re-pointing %s.%s from %s to %s: %s",
					   u->name, t, c, loser, winner, why);
		}
		pgb_buf_free(s, &q);
	}
	PQclear(refs);
	return rc;
}

int pgb_merge(void *state, const char *unit, const char *loser_id, const char *winner_id,
	      crmsync_error *err)
{
	pgb *s = state;
	pgb_unit *u;
	int64_t lrow = 0, wrow = 0;
	if (!loser_id || !winner_id || !*loser_id || !*winner_id || !strcmp(loser_id, winner_id))
		return pgb_errf(s, err, CRMSYNC_EINVAL,
				"unit %s: merge needs two different CRM ids (loser %s, winner %s)",
				unit, loser_id ? loser_id : "NULL", winner_id ? winner_id : "NULL");
	int rc = pgb_unit_get(s, unit, &u, err);
	if (rc)
		return rc;
	rc = pgb_op_begin(s, err);
	if (rc)
		return rc;
	rc = pgb_row_of(s, u, loser_id, &lrow, err);
	if (!rc)
		rc = pgb_row_of(s, u, winner_id, &wrow, err);
	if (!rc && lrow && wrow) {
		/* Only an application's own columns are folded (a value beats an
		 * empty one, NULL or ''): the winner's CRM fields are the CRM's, and
		 * so are the bookkeeping columns and the kept values of fields whose
		 * type changed (NAME__was_TYPE). */
		PGresult *cols = NULL;
		const char *cp[2] = {u->qname, u->name};
		rc = pgb_query(
		    s,
		    "SELECT a.attname, t.typcategory = 'S' FROM pg_attribute a JOIN pg_type "
		    "t ON t.oid = a.atttypid WHERE a.attrelid = to_regclass($1) AND "
		    "a.attnum > 0 AND NOT a.attisdropped AND a.attname NOT IN (SELECT col "
		    "FROM _crmsync_fields WHERE unit = $2) AND strpos(a.attname, '__was_') "
		    "= 0 ORDER BY a.attnum",
		    2, cp, &cols, "listing an application's columns", err);
		pgb_buf q = {0};
		int ncols = 0;
		pgb_buf_printf(s, &q, "UPDATE %s AS w SET ", u->qname);
		for (int i = 0; !rc && i < PQntuples(cols); i++) {
			const char *name = PQgetvalue(cols, i, 0);
			if (bk_is_bookkeeping(name))
				continue;
			char *c = pgb_quote_ident(s, name);
			if (!c) {
				q.oom = 1;
				break;
			}
			if (!strcmp(PQgetvalue(cols, i, 1), "t"))
				pgb_buf_printf(s, &q,
					       "%s%s = CASE WHEN w.%s IS NULL OR w.%s = '' THEN "
					       "coalesce(nullif(l.%s, ''), w.%s) ELSE w.%s END",
					       ncols ? ", " : "", c, c, c, c, c, c);
			else
				pgb_buf_printf(s, &q, "%s%s = coalesce(w.%s, l.%s)",
					       ncols ? ", " : "", c, c, c);
			ncols++;
			s->host->free(c);
		}
		PQclear(cols);
		pgb_buf_printf(s, &q,
			       " FROM (SELECT * FROM %s WHERE local_id = $2) AS l WHERE w.local_id "
			       "= $1",
			       u->qname);
		char a1[24], b1[24];
		snprintf(a1, sizeof a1, "%lld", (long long)wrow);
		snprintf(b1, sizeof b1, "%lld", (long long)lrow);
		const char *p[2] = {a1, b1};
		if (!rc)
			rc = pgb_buf_ok(s, &q, err);
		if (!rc && ncols)
			rc = pgb_query(s, q.p, 2, p, NULL, "merging", err);
		pgb_buf_free(s, &q);
	}
	/* The loser's pending local edits would go to a record the CRM deleted. */
	if (!rc && lrow)
		rc = pgb_forget_row(s, u, lrow, err);
	if (!rc)
		rc = pgb_repoint(s, u, loser_id, winner_id, err);
	return pgb_op_end(s, rc, err);
}

int pgb_row_update(void *state, const char *unit, int64_t row, const crmsync_record *rec,
		   crmsync_error *err)
{
	pgb *s = state;
	pgb_unit *u;
	int rc = pgb_unit_get(s, unit, &u, err);
	if (rc)
		return rc;
	size_t n = s->host->record_count(rec);
	if (n == 0)
		return 0;
	char(*bufs)[64] = s->host->alloc(n * sizeof *bufs);
	const char **params = s->host->alloc((n + 1) * sizeof *params);
	char **owned = s->host->alloc(n * sizeof *owned);
	pgb_buf q = {0};
	PGresult *r = NULL;
	char idtxt[32], rowtxt[24];
	if (!bufs || !params || !owned) {
		rc = pgb_errf(s, err, CRMSYNC_ENOMEM, "unit %s: out of memory", u->name);
		goto out;
	}
	memset(owned, 0, n * sizeof *owned);
	snprintf(idtxt, sizeof idtxt, "row %lld", (long long)row);
	snprintf(rowtxt, sizeof rowtxt, "%lld", (long long)row);
	params[0] = rowtxt;
	pgb_buf_printf(s, &q, "UPDATE %s SET ", u->qname);
	for (size_t i = 0; i < n && !rc; i++) {
		const char *name, *t;
		size_t len;
		crmsync_value v;
		s->host->record_at(rec, i, &name, &v);
		int fi = pgb_field_index(u, name);
		if (fi >= 0) {
			rc = pgb_value_text(s, u, &u->fields[fi], &v, idtxt, &t, &len, bufs[i], 64,
					    err);
			pgb_buf_printf(s, &q, "%s%s = $%zu", i ? ", " : "", u->fields[fi].qcol,
				       i + 2);
		} else if (!strcasecmp(name, "sync_mark") || !strcasecmp(name, "sync_state") ||
			   !strcasecmp(name, "Id")) {
			int mark = !strcasecmp(name, "sync_mark");
			pgb_field bk = {.name = (char *)name,
					.col = (char *)name,
					.type = mark ? CRMSYNC_BOOLEAN : CRMSYNC_STRING,
					.kind = mark ? PGB_K_INT8 : PGB_K_TEXT};
			if (!mark && v.type == CRMSYNC_ID)
				v.type = CRMSYNC_STRING;
			rc = pgb_value_text(s, u, &bk, &v, idtxt, &t, &len, bufs[i], 64, err);
			pgb_buf_printf(s, &q, "%s%s = $%zu", i ? ", " : "",
				       mark			? "sync_mark"
				       : strcasecmp(name, "Id") ? "sync_state"
								: "id",
				       i + 2);
		} else {
			rc = pgb_errf(s, err, CRMSYNC_EINVAL,
				      "unit %s, row %lld: field %s is not in the unit's schema: "
				      "call ensure_unit with the current describe first",
				      u->name, (long long)row, name);
		}
		if (rc)
			break;
		/* values are NUL-terminated for libpq: copy borrowed text */
		if (t && t != bufs[i]) {
			owned[i] = s->host->alloc(len + 1);
			if (!owned[i]) {
				rc = pgb_errf(s, err, CRMSYNC_ENOMEM, "out of memory");
				break;
			}
			memcpy(owned[i], t, len);
			owned[i][len] = 0;
			t = owned[i];
		}
		params[i + 1] = t;
	}
	pgb_buf_puts(s, &q, " WHERE local_id = $1");
	if (!rc)
		rc = pgb_buf_ok(s, &q, err);
	if (rc)
		goto out;
	rc = pgb_op_begin(s, err);
	if (rc)
		goto out;
	rc = pgb_query(s, q.p, (int)n + 1, params, &r, "updating a row", err);
	if (!rc && strcmp(PQcmdTuples(r), "0") == 0)
		rc = pgb_errf(s, err, CRMSYNC_ENOENT,
			      "unit %s: there is no row %lld (deleted meanwhile?)", u->name,
			      (long long)row);
	rc = pgb_op_end(s, rc, err);
out:
	PQclear(r);
	pgb_buf_free(s, &q);
	if (owned)
		for (size_t i = 0; i < n; i++)
			s->host->free(owned[i]);
	s->host->free(owned);
	s->host->free(params);
	s->host->free(bufs);
	return rc;
}

int pgb_row_read(void *state, const char *unit, const char *id, int64_t row, crmsync_record *out,
		 crmsync_error *err)
{
	pgb *s = state;
	pgb_unit *u;
	PGresult *r = NULL;
	int rc = pgb_unit_get(s, unit, &u, err);
	if (rc)
		return rc;
	s->host->record_clear(out);
	pgb_buf q = {0};
	pgb_buf_puts(s, &q,
		     "SELECT local_id, id, is_deleted, crm_modstamp, merged_into, "
		     "sync_state, sync_mark");
	for (size_t i = 0; i < u->nfields; i++)
		pgb_buf_printf(s, &q, ", %s", u->fields[i].qcol);
	pgb_buf_printf(s, &q, " FROM %s WHERE %s", u->qname, id ? "id = $1" : "local_id = $1");
	rc = pgb_buf_ok(s, &q, err);
	if (rc)
		return rc;
	char rowtxt[24];
	snprintf(rowtxt, sizeof rowtxt, "%lld", (long long)row);
	const char *p[1] = {id ? id : rowtxt};
	rc = pgb_query(s, q.p, 1, p, &r, "reading a row", err);
	pgb_buf_free(s, &q);
	if (rc)
		return rc;
	if (PQntuples(r) == 0) {
		rc =
		    id ? pgb_errf(s, err, CRMSYNC_ENOENT, "unit %s: no row with id %s", u->name, id)
		       : pgb_errf(s, err, CRMSYNC_ENOENT, "unit %s: no row %lld", u->name,
				  (long long)row);
		goto out;
	}
	crmsync_value v = {.type = CRMSYNC_INTEGER};
	v.u.i = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	s->host->record_set(out, "local_id", &v);
	memset(&v, 0, sizeof v);
	if (!PQgetisnull(r, 0, 1)) {
		v.type = CRMSYNC_ID;
		v.u.s = PQgetvalue(r, 0, 1);
		v.len = (size_t)PQgetlength(r, 0, 1);
	}
	s->host->record_set(out, "Id", &v);
	memset(&v, 0, sizeof v);
	v.type = CRMSYNC_BOOLEAN;
	v.u.b = !PQgetisnull(r, 0, 2) && strtoll(PQgetvalue(r, 0, 2), NULL, 10) != 0;
	s->host->record_set(out, "is_deleted", &v);
	memset(&v, 0, sizeof v);
	if (!PQgetisnull(r, 0, 3) && s->host->parse_datetime(PQgetvalue(r, 0, 3), &v.u.i) == 0)
		v.type = CRMSYNC_DATETIME;
	s->host->record_set(out, "crm_modstamp", &v);
	static const char *const txt[] = {"merged_into", "sync_state"};
	for (int k = 0; k < 2; k++) {
		memset(&v, 0, sizeof v);
		if (!PQgetisnull(r, 0, 4 + k)) {
			v.type = k == 0 ? CRMSYNC_ID : CRMSYNC_STRING;
			v.u.s = PQgetvalue(r, 0, 4 + k);
			v.len = (size_t)PQgetlength(r, 0, 4 + k);
		}
		s->host->record_set(out, txt[k], &v);
	}
	memset(&v, 0, sizeof v);
	v.type = CRMSYNC_BOOLEAN;
	v.u.b = !PQgetisnull(r, 0, 6) && strtoll(PQgetvalue(r, 0, 6), NULL, 10) != 0;
	s->host->record_set(out, "sync_mark", &v);
	for (size_t i = 0; i < u->nfields; i++) {
		char why[256];
		int c = 7 + (int)i;
		if (pgb_text_value(s, &u->fields[i],
				   PQgetisnull(r, 0, c) ? NULL : PQgetvalue(r, 0, c),
				   (size_t)PQgetlength(r, 0, c), &v, why, sizeof why)) {
			rc = pgb_errf(s, err, CRMSYNC_EINVAL, "table %s, row %s: %s", u->name,
				      PQgetvalue(r, 0, 0), why);
			goto out;
		}
		if (s->host->record_set(out, u->fields[i].name, &v)) {
			rc = pgb_errf(s, err, CRMSYNC_ENOMEM, "unit %s: out of memory", u->name);
			goto out;
		}
	}
out:
	PQclear(r);
	return rc;
}

/* Id reconciliation: the sweep's start time and the ids seen live in tables
 * (_crmsync_sweep, _crmsync_seen), so memory stays bounded whatever the row
 * count and a sweep may span many transactions. */
int pgb_reconcile_begin(void *state, const char *unit, int64_t started_ms, crmsync_error *err)
{
	pgb *s = state;
	pgb_unit *u;
	char ms[24];
	int rc = pgb_unit_get(s, unit, &u, err);
	if (rc)
		return rc;
	snprintf(ms, sizeof ms, "%lld", (long long)started_ms);
	const char *p[2] = {u->name, ms};
	rc = pgb_op_begin(s, err);
	if (!rc)
		rc = pgb_query(s, "DELETE FROM _crmsync_seen WHERE unit = $1", 1, p, NULL,
			       "reconciling ids", err);
	if (!rc)
		rc = pgb_query(s,
			       "INSERT INTO _crmsync_sweep(unit, started_ms) VALUES($1, $2) ON "
			       "CONFLICT(unit) DO UPDATE SET started_ms = excluded.started_ms",
			       2, p, NULL, "reconciling ids", err);
	return pgb_op_end(s, rc, err);
}

int pgb_reconcile_seen(void *state, const char *unit, const char *const *ids, size_t n,
		       crmsync_error *err)
{
	pgb *s = state;
	pgb_unit *u;
	pgb_buf arr = {0};
	int rc = pgb_unit_get(s, unit, &u, err);
	if (rc)
		return rc;
	pgb_buf_puts(s, &arr, "{");
	int first = 1;
	for (size_t i = 0; i < n; i++) {
		if (!ids[i] || !*ids[i])
			continue;
		pgb_buf_array_elem(s, &arr, ids[i], strlen(ids[i]), first);
		first = 0;
	}
	pgb_buf_puts(s, &arr, "}");
	rc = pgb_buf_ok(s, &arr, err);
	if (rc)
		return rc;
	const char *p[2] = {u->name, arr.p};
	rc = pgb_op_begin(s, err);
	if (!rc)
		rc = pgb_query(s,
			       "INSERT INTO _crmsync_seen(unit, id) SELECT DISTINCT $1, x FROM "
			       "unnest($2::text[]) AS x ON CONFLICT DO NOTHING",
			       2, p, NULL, "recording seen ids", err);
	rc = pgb_op_end(s, rc, err);
	pgb_buf_free(s, &arr);
	return rc;
}

int pgb_reconcile_finish(void *state, const char *unit, int64_t *tombstoned, crmsync_error *err)
{
	pgb *s = state;
	pgb_unit *u;
	PGresult *r = NULL;
	pgb_buf q = {0};
	int64_t n = 0;
	int rc = pgb_unit_get(s, unit, &u, err);
	if (rc)
		return rc;
	const char *p[2] = {u->name, NULL};
	char ts[40];
	rc = pgb_op_begin(s, err);
	if (rc)
		return rc;
	rc = pgb_query(s, "SELECT started_ms FROM _crmsync_sweep WHERE unit = $1", 1, p, &r,
		       "reconciling ids", err);
	if (!rc && PQntuples(r) == 0)
		rc = pgb_errf(s, err, CRMSYNC_EINVAL,
			      "unit %s: reconcile_finish without reconcile_begin", u->name);
	if (!rc) {
		bk_format_datetime(strtoll(PQgetvalue(r, 0, 0), NULL, 10), ts);
		p[1] = ts;
	}
	PQclear(r);
	r = NULL;
	/* Rows pulled during the sweep carry a newer modstamp: never swept.
	 * Each row probes the seen ids' primary key (OFFSET 0 keeps the NOT
	 * EXISTS a per-row subplan): with the statistics of a freshly filled
	 * _crmsync_seen the planner chose a nested loop comparing every row
	 * with every seen id, quadratic (2 s at 6,000 rows). */
	pgb_buf_printf(s, &q,
		       "UPDATE %s AS t SET is_deleted = 1 WHERE t.id IS NOT NULL AND "
		       "t.is_deleted = 0 AND t.crm_modstamp < $2 AND NOT EXISTS (SELECT 1 FROM "
		       "_crmsync_seen v WHERE v.unit = $1 AND v.id = t.id OFFSET 0)",
		       u->qname);
	if (!rc)
		rc = pgb_buf_ok(s, &q, err);
	if (!rc)
		rc = pgb_query(s, q.p, 2, p, &r, "reconciling ids", err);
	if (!rc)
		n = strtoll(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	pgb_buf_free(s, &q);
	if (!rc)
		rc = pgb_query(s, "DELETE FROM _crmsync_seen WHERE unit = $1", 1, p, NULL,
			       "reconciling ids", err);
	if (!rc)
		rc = pgb_query(s, "DELETE FROM _crmsync_sweep WHERE unit = $1", 1, p, NULL,
			       "reconciling ids", err);
	rc = pgb_op_end(s, rc, err);
	if (!rc && tombstoned)
		*tombstoned = n;
	if (!rc && n)
		s->host->log(s->self, CRMSYNC_LOG_INFO,
			     "unit %s: %lld rows no longer exist in the CRM: marked deleted",
			     u->name, (long long)n);
	return rc;
}
