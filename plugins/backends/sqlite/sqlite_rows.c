/*
 * sqlite_rows.c - the sync's writes to unit tables (upsert, tombstones, merges,
 * row updates) and typed reads of a row. None of them is captured as a local
 * change: they run with the capture flag set (sqb_op_begin).
 *
 * Upsert compares the stored values with the record's and writes nothing when
 * no synced field changed; its statements are prepared once per unit and list
 * of record fields and reused for every page.
 */
#include "sqlite_int.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SQB_MAX_SETS 16
/* Rows per statement of the bulk insert: 64 rows of a 21-field lead bind
 * 1,472 parameters, far below SQLite's limit (32,766 since 3.32); a longer
 * statement saves little more per row. */
#define SQB_BULK_ROWS 64

int sqb_bval_from(sqb *s, const sqb_unit *u, const sqb_field *f, const crmsync_value *v,
		  const char *id, sqb_bval *b, crmsync_error *err)
{
	b->kind = SQLITE_NULL;
	if (v->type == CRMSYNC_NULL)
		return 0;
	int text_col = f->aff == SQB_AFF_TEXT;
	switch (f->type) {
	case CRMSYNC_STRING:
	case CRMSYNC_ID:
	case CRMSYNC_DATE:
		if (!bk_is_text_type(v->type))
			break;
		if (v->len > INT32_MAX)
			return sqb_errf(s, err, CRMSYNC_EINVAL,
					"unit %s, record %s: field %s is longer than 2 GB", u->name,
					id, f->name);
		b->kind = SQLITE_TEXT;
		b->s = v->u.s ? v->u.s : "";
		b->len = (int)v->len;
		return 0;
	case CRMSYNC_INTEGER:
	case CRMSYNC_BOOLEAN:
		if (!bk_value_int(f->type, v, &b->i))
			break;
		if (!text_col) {
			b->kind = SQLITE_INTEGER;
			return 0;
		}
		if (f->type == CRMSYNC_BOOLEAN)
			snprintf(b->buf, sizeof b->buf, "%s", b->i ? "true" : "false");
		else
			snprintf(b->buf, sizeof b->buf, "%" PRId64, b->i);
		b->kind = SQLITE_TEXT;
		b->s = b->buf;
		b->len = (int)strlen(b->buf);
		return 0;
	case CRMSYNC_DOUBLE:
		if (!bk_value_double(v, &b->d))
			break;
		if (isnan(b->d))
			return sqb_errf(s, err, CRMSYNC_EINVAL,
					"unit %s, record %s: field %s is NaN, which no CRM number "
					"can be",
					u->name, id, f->name);
		if (!text_col) {
			b->kind = SQLITE_FLOAT;
			return 0;
		}
		bk_double_text(b->d, b->buf, sizeof b->buf);
		b->kind = SQLITE_TEXT;
		b->s = b->buf;
		b->len = (int)strlen(b->buf);
		return 0;
	case CRMSYNC_DATETIME: {
		int64_t ms;
		char tmp[64];
		int r = bk_value_ms(s->host, v, &ms, tmp);
		if (!r)
			break;
		if (r < 0)
			return sqb_errf(s, err, CRMSYNC_EINVAL,
					"unit %s, record %s: field %s: '%s' is not a datetime",
					u->name, id, f->name, tmp);
		bk_format_datetime(ms, b->buf);
		b->kind = SQLITE_TEXT;
		b->s = b->buf;
		b->len = (int)strlen(b->buf);
		return 0;
	}
	}
	return sqb_errf(s, err, CRMSYNC_EINVAL,
			"unit %s, record %s: field %s holds a %s value but is a %s field: the "
			"value does not match the field's describe type",
			u->name, id, f->name, bk_type_name(v->type), bk_type_name(f->type));
}

void sqb_bind_bval(sqlite3_stmt *st, int i, const sqb_bval *b)
{
	switch (b->kind) {
	case SQLITE_INTEGER:
		sqlite3_bind_int64(st, i, b->i);
		break;
	case SQLITE_FLOAT:
		sqlite3_bind_double(st, i, b->d);
		break;
	case SQLITE_TEXT:
		sqlite3_bind_text(st, i, b->s, b->len, SQLITE_STATIC);
		break;
	default:
		sqlite3_bind_null(st, i);
	}
}

static int sqb_bval_equal(const sqb_bval *b, sqlite3_stmt *st, int col)
{
	int t = sqlite3_column_type(st, col);
	switch (b->kind) {
	case SQLITE_NULL:
		return t == SQLITE_NULL;
	case SQLITE_INTEGER:
		return t == SQLITE_INTEGER && sqlite3_column_int64(st, col) == b->i;
	case SQLITE_FLOAT:
		/* An INTEGER column keeps whole doubles as integers. */
		return (t == SQLITE_FLOAT || t == SQLITE_INTEGER) &&
		       sqlite3_column_double(st, col) == b->d;
	case SQLITE_TEXT:
		if (t != SQLITE_TEXT)
			return 0;
		const void *p = sqlite3_column_blob(st, col);
		return sqlite3_column_bytes(st, col) == b->len &&
		       (b->len == 0 || memcmp(p, b->s, (size_t)b->len) == 0);
	}
	return 0;
}

int sqb_column_value(sqb *s, const sqb_field *f, sqlite3_stmt *st, int col, crmsync_value *out,
		     char *buf, size_t cap, char *why, size_t whycap)
{
	int t = sqlite3_column_type(st, col);
	memset(out, 0, sizeof *out);
	out->type = CRMSYNC_NULL;
	if (t == SQLITE_NULL)
		return 0;
	if (t == SQLITE_BLOB) {
		snprintf(why, whycap, "column %s holds binary data (%d bytes), not a %s value",
			 f->col, sqlite3_column_bytes(st, col), bk_type_name(f->type));
		return -1;
	}
	const char *txt = NULL;
	size_t len = 0;
	if (t == SQLITE_TEXT) {
		txt = (const char *)sqlite3_column_text(st, col);
		len = (size_t)sqlite3_column_bytes(st, col);
		if (!bk_utf8_valid((const unsigned char *)txt, len)) {
			snprintf(why, whycap,
				 "column %s holds text that is not valid UTF-8: fix the value "
				 "(the CRM accepts UTF-8 only)",
				 f->col);
			return -1;
		}
		if (memchr(txt, 0, len)) {
			snprintf(why, whycap, "column %s holds text with a NUL byte", f->col);
			return -1;
		}
	}
	char *end;
	switch (f->type) {
	case CRMSYNC_STRING:
	case CRMSYNC_ID:
	case CRMSYNC_DATE:
		out->type = f->type;
		if (t == SQLITE_TEXT) {
			out->u.s = txt;
			out->len = len;
		} else if (t == SQLITE_INTEGER) {
			snprintf(buf, cap, "%lld", (long long)sqlite3_column_int64(st, col));
			out->u.s = buf;
			out->len = strlen(buf);
		} else {
			bk_double_text(sqlite3_column_double(st, col), buf, cap);
			out->u.s = buf;
			out->len = strlen(buf);
		}
		return 0;
	case CRMSYNC_INTEGER:
		out->type = CRMSYNC_INTEGER;
		if (t == SQLITE_INTEGER) {
			out->u.i = sqlite3_column_int64(st, col);
			return 0;
		}
		if (t == SQLITE_TEXT) {
			errno = 0;
			long long v = strtoll(txt, &end, 10);
			if (len && !errno && *end == 0) {
				out->u.i = v;
				return 0;
			}
		} else {
			double d = sqlite3_column_double(st, col);
			if (d == floor(d) && fabs(d) < 9.2e18) {
				out->u.i = (int64_t)d;
				return 0;
			}
		}
		break;
	case CRMSYNC_BOOLEAN:
		out->type = CRMSYNC_BOOLEAN;
		if (t == SQLITE_INTEGER) {
			out->u.b = sqlite3_column_int64(st, col) != 0;
			return 0;
		}
		if (t == SQLITE_TEXT) {
			if (!strcasecmp(txt, "true") || !strcmp(txt, "1")) {
				out->u.b = 1;
				return 0;
			}
			if (!strcasecmp(txt, "false") || !strcmp(txt, "0")) {
				out->u.b = 0;
				return 0;
			}
		}
		break;
	case CRMSYNC_DOUBLE:
		out->type = CRMSYNC_DOUBLE;
		if (t == SQLITE_FLOAT || t == SQLITE_INTEGER) {
			out->u.d = sqlite3_column_double(st, col);
			return 0;
		}
		errno = 0;
		out->u.d = strtod(txt, &end);
		if (len && !errno && *end == 0)
			return 0;
		break;
	case CRMSYNC_DATETIME:
		out->type = CRMSYNC_DATETIME;
		if (t == SQLITE_TEXT && s->host->parse_datetime(txt, &out->u.i) == 0)
			return 0;
		if (t == SQLITE_INTEGER) { /* milliseconds, as an application may write */
			out->u.i = sqlite3_column_int64(st, col);
			return 0;
		}
		break;
	}
	snprintf(why, whycap, "column %s holds '%.60s', which is not a %s value", f->col,
		 (const char *)sqlite3_column_text(st, col), bk_type_name(f->type));
	out->type = CRMSYNC_NULL;
	return -1;
}

static void sqb_set_free(sqb *s, sqb_upsert_set *set)
{
	for (size_t i = 0; i < set->npos; i++)
		s->host->free(set->names[i]);
	s->host->free(set->names);
	s->host->free(set->role);
	s->host->free(set->bv);
	sqb_finalize(s, set->sel);
	sqb_finalize(s, set->ins);
	sqb_finalize(s, set->upd);
	sqb_finalize(s, set->bulk);
	sqb_finalize(s, set->look);
	s->host->free(set->bulk_bv);
	s->host->free(set);
}

void sqb_upsert_sets_free(sqb *s, sqb_unit *u)
{
	while (u->sets) {
		sqb_upsert_set *set = u->sets;
		u->sets = set->next;
		sqb_set_free(s, set);
	}
	u->nsets = 0;
}

static int sqb_field_index(const sqb_unit *u, const char *name)
{
	for (size_t i = 0; i < u->nfields; i++)
		if (strcasecmp(u->fields[i].name, name) == 0)
			return (int)i;
	return -1;
}

static int sqb_set_build(sqb *s, sqb_unit *u, const crmsync_record *rec, sqb_upsert_set **out,
			 crmsync_error *err)
{
	size_t n = s->host->record_count(rec);
	sqb_upsert_set *set = s->host->alloc(sizeof *set);
	sqlite3_str *sel = NULL, *ins = NULL, *insv = NULL, *upd = NULL;
	int rc = 0;
	if (!set)
		return sqb_errf(s, err, CRMSYNC_ENOMEM, "unit %s: out of memory", u->name);
	memset(set, 0, sizeof *set);
	set->names = s->host->alloc((n ? n : 1) * sizeof *set->names);
	set->role = s->host->alloc((n ? n : 1) * sizeof *set->role);
	set->bv = s->host->alloc((n ? n : 1) * sizeof *set->bv);
	if (!set->names || !set->role || !set->bv) {
		s->host->free(set->names);
		set->names = NULL;
		goto nomem;
	}
	sel = sqlite3_str_new(s->db);
	ins = sqlite3_str_new(s->db);
	insv = sqlite3_str_new(s->db);
	upd = sqlite3_str_new(s->db);
	sqlite3_str_appendf(sel, "SELECT local_id, is_deleted");
	sqlite3_str_appendf(ins, "INSERT INTO %s(id, crm_modstamp, sync_state", u->qname);
	sqlite3_str_appendf(insv, ") VALUES(?1, ?2, 'synced'");
	sqlite3_str_appendf(upd,
			    "UPDATE %s SET is_deleted = 0, merged_into = NULL, crm_modstamp = "
			    "coalesce(?2, crm_modstamp)",
			    u->qname);
	int has_id = 0;
	for (size_t i = 0; i < n; i++) {
		const char *name;
		s->host->record_at(rec, i, &name, NULL);
		set->names[i] = s->host->strdup(name);
		set->npos = i + 1;
		if (!set->names[i])
			goto nomem;
		if (strcasecmp(name, "Id") == 0) {
			set->role[i] = SQB_ROLE_ID;
			set->id_pos = i;
			has_id = 1;
			continue;
		}
		if (strcasecmp(name, "SystemModstamp") == 0) {
			set->role[i] = SQB_ROLE_MODSTAMP;
			continue;
		}
		int fi = sqb_field_index(u, name);
		if (fi < 0) {
			/* Stored only where the table has the column (engine contract):
			 * said once per field list, since the statements are cached. */
			s->host->log(s->self, CRMSYNC_LOG_WARN,
				     "unit %s: records carry field %s, which is not in the unit's "
				     "schema: it is not stored (declare the field, or drop it in "
				     "map_in)",
				     u->name, name);
			set->role[i] = SQB_ROLE_IGNORE;
			continue;
		}
		set->role[i] = fi;
		int p = 3 + (int)set->ncols++;
		const char *qc = u->fields[fi].qcol;
		sqlite3_str_appendf(sel, ", %s", qc);
		sqlite3_str_appendf(ins, ", %s", qc);
		sqlite3_str_appendf(insv, ", ?%d", p);
		sqlite3_str_appendf(upd, ", %s = ?%d", qc, p);
	}
	if (!has_id) {
		rc = sqb_errf(s, err, CRMSYNC_EINVAL,
			      "unit %s: a record to store has no Id field: every record pulled "
			      "from the CRM must carry its Id",
			      u->name);
		goto out;
	}
	sqlite3_str_appendf(sel, " FROM %s WHERE id = ?1", u->qname);
	sqlite3_str_appendf(upd, " WHERE local_id = ?1");
	sqlite3_str_appendf(insv, ") ON CONFLICT(id) DO NOTHING");
	char *v = sqlite3_str_finish(insv);
	insv = NULL;
	if (!v)
		goto nomem;
	sqlite3_str_appendall(ins, v);
	sqlite3_free(v);
	sqlite3_str *strs[3] = {sel, ins, upd};
	sqlite3_stmt **stmts[3] = {&set->sel, &set->ins, &set->upd};
	for (int k = 0; k < 3; k++) {
		char *sql = sqlite3_str_finish(strs[k]);
		if (k == 0)
			sel = NULL;
		else if (k == 1)
			ins = NULL;
		else
			upd = NULL;
		if (!sql)
			goto nomem;
		int r =
		    sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, stmts[k], NULL);
		sqlite3_free(sql);
		if (r != SQLITE_OK) {
			rc = sqb_fail(s, err, r, "unit %s: preparing the upsert", u->name);
			goto out;
		}
	}
	*out = set;
	set = NULL;
	goto out;
nomem:
	rc = sqb_errf(s, err, CRMSYNC_ENOMEM, "unit %s: out of memory", u->name);
out:
	sqlite3_free(sqlite3_str_finish(sel));
	sqlite3_free(sqlite3_str_finish(ins));
	sqlite3_free(sqlite3_str_finish(insv));
	sqlite3_free(sqlite3_str_finish(upd));
	if (set)
		sqb_set_free(s, set);
	return rc;
}

/* The statements for this record's field list: most pages reuse the first. */
static int sqb_set_for(sqb *s, sqb_unit *u, const crmsync_record *rec, sqb_upsert_set **out,
		       crmsync_error *err)
{
	size_t n = s->host->record_count(rec);
	sqb_upsert_set *prev = NULL;
	for (sqb_upsert_set *set = u->sets; set; prev = set, set = set->next) {
		if (set->npos != n)
			continue;
		size_t i;
		for (i = 0; i < n; i++) {
			const char *name;
			s->host->record_at(rec, i, &name, NULL);
			if (strcmp(name, set->names[i]) != 0 &&
			    strcasecmp(name, set->names[i]) != 0)
				break;
		}
		if (i < n)
			continue;
		if (prev) { /* move to the front */
			prev->next = set->next;
			set->next = u->sets;
			u->sets = set;
		}
		*out = set;
		return 0;
	}
	sqb_upsert_set *set = NULL;
	int rc = sqb_set_build(s, u, rec, &set, err);
	if (rc)
		return rc;
	set->next = u->sets;
	u->sets = set;
	if (++u->nsets > SQB_MAX_SETS) { /* drop the least recently used */
		sqb_upsert_set *p = u->sets;
		while (p->next && p->next->next)
			p = p->next;
		sqb_set_free(s, p->next);
		p->next = NULL;
		u->nsets--;
	}
	*out = set;
	return 0;
}

/* Runs the insert (row 0) or the update of one record. */
static int sqb_upsert_write(sqb *s, sqb_unit *u, sqb_upsert_set *set, sqlite3_stmt *st, int64_t row,
			    const char *id, int id_len, const sqb_bval *ms, const sqb_bval *bv,
			    crmsync_error *err)
{
	if (row)
		sqlite3_bind_int64(st, 1, row);
	else
		sqlite3_bind_text(st, 1, id, id_len, SQLITE_STATIC);
	sqb_bind_bval(st, 2, ms);
	for (size_t k = 0; k < set->ncols; k++)
		sqb_bind_bval(st, 3 + (int)k, &bv[k]);
	int r = sqlite3_step(st);
	sqlite3_reset(st);
	if (r != SQLITE_DONE)
		return sqb_fail(s, err, r, "unit %s, record %.*s: storing it", u->name, id_len, id);
	return 0;
}

/* A record's Id: text, not empty. */
static int sqb_set_id(sqb *s, sqb_unit *u, const sqb_upsert_set *set, const crmsync_record *rec,
		      const char **id, int *id_len, crmsync_error *err)
{
	crmsync_value v;
	s->host->record_at(rec, set->id_pos, NULL, &v);
	if (!bk_is_text_type(v.type) || v.len == 0 || !v.u.s)
		return sqb_errf(s, err, CRMSYNC_EINVAL,
				"unit %s: a record's Id is empty or not text: every record pulled "
				"from the CRM must carry its Id",
				u->name);
	*id = v.u.s;
	*id_len = (int)v.len;
	return 0;
}

/* The record's values as they are bound: its modstamp, and the set's columns
 * into bv[0 .. ncols). With check_names, the record's field names are
 * compared with the set's in the same walk, and 1 says they differ (the
 * bulk paths learn it here instead of in a walk of their own). */
static int sqb_set_values(sqb *s, sqb_unit *u, const sqb_upsert_set *set, const crmsync_record *rec,
			  const char *id, int check_names, sqb_bval *ms, sqb_bval *bv,
			  crmsync_error *err)
{
	static const sqb_field msf = {.name = "SystemModstamp",
				      .col = "crm_modstamp",
				      .type = CRMSYNC_DATETIME,
				      .aff = SQB_AFF_TEXT};
	ms->kind = SQLITE_NULL;
	size_t c = 0;
	for (size_t i = 0; i < set->npos; i++) {
		const char *name;
		crmsync_value v;
		s->host->record_at(rec, i, check_names ? &name : NULL, &v);
		if (check_names && strcmp(name, set->names[i]) != 0 &&
		    strcasecmp(name, set->names[i]) != 0)
			return 1;
		int role = set->role[i], rc;
		if (role >= 0) {
			const sqb_field *f = &u->fields[role];
			sqb_bval *b = &bv[c++];
			/* most values are text for a text field: as sqb_bval_from */
			if (bk_is_text_type(v.type) && bk_is_text_type(f->type) &&
			    v.len <= INT32_MAX) {
				b->kind = SQLITE_TEXT;
				b->s = v.u.s ? v.u.s : "";
				b->len = (int)v.len;
				continue;
			}
			rc = sqb_bval_from(s, u, f, &v, id, b, err);
		} else if (role == SQB_ROLE_MODSTAMP)
			rc = sqb_bval_from(s, u, &msf, &v, id, ms, err);
		else
			continue;
		if (rc)
			return rc;
	}
	return 0;
}

static int sqb_upsert_one(sqb *s, sqb_unit *u, const crmsync_record *rec, uint8_t *out,
			  crmsync_error *err)
{
	sqb_upsert_set *set = NULL;
	int rc = sqb_set_for(s, u, rec, &set, err);
	if (rc)
		return rc;
	const char *id = NULL;
	int id_len = 0;
	sqb_bval ms;
	rc = sqb_set_id(s, u, set, rec, &id, &id_len, err);
	if (!rc)
		rc = sqb_set_values(s, u, set, rec, id, 0, &ms, set->bv, err);
	if (rc)
		return rc;
	sqlite3_stmt *st = set->sel;
	int r;
	/* While records keep being new (a first sync), try the insert first: it
	 * saves the lookup. Otherwise look first: most records exist. */
	if (u->last_new) {
		r = sqb_upsert_write(s, u, set, set->ins, 0, id, id_len, &ms, set->bv, err);
		if (r)
			return r;
		if (sqlite3_changes(s->db) == 1) {
			*out = CRMSYNC_OUT_NEW;
			return 0;
		}
	}
	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, id, id_len, SQLITE_STATIC);
	r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		int64_t row = sqlite3_column_int64(st, 0);
		int same = sqlite3_column_int(st, 1) == 0;
		for (size_t k = 0; same && k < set->ncols; k++)
			same = sqb_bval_equal(&set->bv[k], st, 2 + (int)k);
		sqlite3_reset(st);
		u->last_new = 0;
		if (same) {
			*out = CRMSYNC_OUT_SKIPPED;
			return 0;
		}
		*out = CRMSYNC_OUT_UPDATED;
		return sqb_upsert_write(s, u, set, set->upd, row, id, id_len, &ms, set->bv, err);
	}
	sqlite3_reset(st);
	if (r != SQLITE_DONE)
		return sqb_fail(s, err, r, "unit %s, record %.*s: reading the stored row", u->name,
				id_len, id);
	r = sqb_upsert_write(s, u, set, set->ins, 0, id, id_len, &ms, set->bv, err);
	if (r)
		return r;
	u->last_new = 1;
	*out = CRMSYNC_OUT_NEW;
	return 0;
}

static int sqb_bulk_prepare(sqb *s, sqb_unit *u, sqb_upsert_set *set, crmsync_error *err)
{
	sqlite3_str *q = sqlite3_str_new(s->db);
	sqlite3_str_appendf(q, "INSERT OR FAIL INTO %s(id, crm_modstamp, sync_state", u->qname);
	for (size_t i = 0; i < set->npos; i++)
		if (set->role[i] >= 0)
			sqlite3_str_appendf(q, ", %s", u->fields[set->role[i]].qcol);
	sqlite3_str_appendall(q, ") VALUES");
	for (int r = 0; r < SQB_BULK_ROWS; r++) {
		sqlite3_str_appendall(q, r ? ",(?,?,'synced'" : "(?,?,'synced'");
		for (size_t k = 0; k < set->ncols; k++)
			sqlite3_str_appendall(q, ",?");
		sqlite3_str_appendall(q, ")");
	}
	char *sql = sqlite3_str_finish(q);
	set->bulk_bv = s->host->alloc(SQB_BULK_ROWS * (set->ncols + 1) * sizeof *set->bulk_bv);
	if (!sql || !set->bulk_bv) {
		sqlite3_free(sql);
		return sqb_errf(s, err, CRMSYNC_ENOMEM, "unit %s: out of memory", u->name);
	}
	int r = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &set->bulk, NULL);
	sqlite3_free(sql);
	if (r != SQLITE_OK)
		return sqb_fail(s, err, r, "unit %s: preparing the bulk insert", u->name);
	q = sqlite3_str_new(s->db);
	sqlite3_str_appendall(q, "SELECT id, local_id, is_deleted");
	for (size_t i = 0; i < set->npos; i++)
		if (set->role[i] >= 0)
			sqlite3_str_appendf(q, ", %s", u->fields[set->role[i]].qcol);
	sqlite3_str_appendf(q, " FROM %s WHERE id IN (?", u->qname);
	for (int k = 1; k < SQB_BULK_ROWS; k++)
		sqlite3_str_appendall(q, ",?");
	sqlite3_str_appendall(q, ")");
	if (!(sql = sqlite3_str_finish(q)))
		return sqb_errf(s, err, CRMSYNC_ENOMEM, "unit %s: out of memory", u->name);
	r = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &set->look, NULL);
	sqlite3_free(sql);
	if (r != SQLITE_OK)
		return sqb_fail(s, err, r, "unit %s: preparing the bulk lookup", u->name);
	return 0;
}

/* SQB_BULK_ROWS records of ascending ids, some stored: their stored rows are
 * read with one statement, compared, and only the changed ones written. 1,
 * with nothing written, when a record's field list is not the set's. */
static int sqb_upsert_chunk_lookup(sqb *s, sqb_unit *u, sqb_upsert_set *set,
				   crmsync_record *const *recs, uint8_t *out, crmsync_error *err)
{
	enum { N = SQB_BULK_ROWS };
	const char *ids[N];
	int lens[N];
	int64_t rows[N];
	signed char state[N]; /* 0 not stored, 1 same, 2 differs */
	size_t per = set->ncols + 1;
	sqlite3_stmt *st = set->look;
	int rc = 0;
	for (size_t k = 0; k < N; k++) {
		sqb_bval *bv = &set->bulk_bv[k * per];
		if ((rc = sqb_set_id(s, u, set, recs[k], &ids[k], &lens[k], err)) ||
		    (rc =
			 sqb_set_values(s, u, set, recs[k], ids[k], 1, &bv[set->ncols], bv, err))) {
			sqlite3_clear_bindings(st);
			return rc;
		}
		sqlite3_bind_text(st, (int)k + 1, ids[k], lens[k], SQLITE_STATIC);
		state[k] = 0;
	}
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *sid = (const char *)sqlite3_column_blob(st, 0);
		int slen = sqlite3_column_bytes(st, 0);
		size_t lo = 0, hi = N; /* the ids ascend: binary search */
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			int c =
			    memcmp(ids[mid], sid, (size_t)(lens[mid] < slen ? lens[mid] : slen));
			if (c < 0 || (c == 0 && lens[mid] < slen))
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo >= N || lens[lo] != slen || memcmp(ids[lo], sid, (size_t)slen) != 0)
			continue;
		const sqb_bval *bv = &set->bulk_bv[lo * per];
		int same = sqlite3_column_int(st, 2) == 0;
		for (size_t c = 0; same && c < set->ncols; c++)
			same = sqb_bval_equal(&bv[c], st, 3 + (int)c);
		rows[lo] = sqlite3_column_int64(st, 1);
		state[lo] = same ? 1 : 2;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (r != SQLITE_DONE)
		return sqb_fail(s, err, r, "unit %s: reading stored rows", u->name);
	/* writes only once the read is over */
	for (size_t k = 0; k < N && !rc; k++) {
		const sqb_bval *bv = &set->bulk_bv[k * per];
		if (state[k] == 1) {
			out[k] = CRMSYNC_OUT_SKIPPED;
			continue;
		}
		rc = sqb_upsert_write(s, u, set, state[k] ? set->upd : set->ins,
				      state[k] ? rows[k] : 0, ids[k], lens[k], &bv[set->ncols], bv,
				      err);
		out[k] = state[k] ? CRMSYNC_OUT_UPDATED : CRMSYNC_OUT_NEW;
	}
	return rc;
}

/* A first copy stores pages of records the store has never seen. When the
 * ids ascend (the engine pulls in Id order) and no stored row, tombstones
 * included, has an id between the first and the last, every record is new:
 * they are inserted SQB_BULK_ROWS per statement, which saves most of the
 * per-statement cost of a row (one execution, halt and reset per row). The
 * statement is INSERT OR FAIL: no id can clash (the probe, and the write
 * transaction held), and a multi-row INSERT that may ABORT keeps a statement
 * journal of every page it touches (4% of the instructions of a row); should
 * it fail all the same, the op's savepoint undoes the rows it wrote. A chunk
 * of records whose field list is not the first record's, and every record
 * after it, take the row-by-row path. *bulk says whether this function
 * handled the page; otherwise nothing was written and the caller takes the
 * row-by-row path. */
static int sqb_upsert_bulk(sqb *s, sqb_unit *u, crmsync_record *const *recs, size_t n, uint8_t *out,
			   int *bulk, crmsync_error *err)
{
	*bulk = 0;
	if (n < SQB_BULK_ROWS)
		return 0;
	sqb_upsert_set *set = NULL;
	int rc = sqb_set_for(s, u, recs[0], &set, err);
	if (rc)
		return rc;
	const char *first = NULL, *prev = NULL, *id = NULL;
	int first_len = 0, prev_len = 0, id_len = 0;
	for (size_t i = 0; i < n; i++) {
		if (s->host->record_count(recs[i]) != set->npos ||
		    sqb_set_id(s, u, set, recs[i], &id, &id_len, err))
			return 0; /* the row-by-row path reports it */
		if (prev) {
			int c = memcmp(prev, id, (size_t)(prev_len < id_len ? prev_len : id_len));
			if (c > 0 || (c == 0 && prev_len >= id_len))
				return 0;
		} else {
			first = id;
			first_len = id_len;
		}
		prev = id;
		prev_len = id_len;
	}
	sqlite3_stmt *probe;
	char *sql = sqb_printf(s, "SELECT 1 FROM %s WHERE id BETWEEN ?1 AND ?2", u->qname);
	rc = sql ? sqb_prepare(s, sql, &probe, "probing stored ids", err)
		 : sqb_errf(s, err, CRMSYNC_ENOMEM, "out of memory");
	s->host->free(sql);
	if (rc)
		return rc;
	sqlite3_bind_text(probe, 1, first, first_len, SQLITE_STATIC);
	sqlite3_bind_text(probe, 2, prev, prev_len, SQLITE_STATIC);
	int r = sqlite3_step(probe);
	sqb_finalize(s, probe);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return sqb_fail(s, err, r, "unit %s: probing stored ids", u->name);
	if (!set->bulk && (rc = sqb_bulk_prepare(s, u, set, err)))
		return rc;
	size_t per = set->ncols + 1, i = 0;
	if (r == SQLITE_ROW) { /* some are stored: look them up 64 at a time */
		for (; i + SQB_BULK_ROWS <= n; i += SQB_BULK_ROWS)
			if ((rc = sqb_upsert_chunk_lookup(s, u, set, &recs[i], &out[i], err)))
				break;
		if (rc < 0)
			return rc;
		u->last_new = 0;
		for (rc = 0; i < n && !rc; i++)
			rc = sqb_upsert_one(s, u, recs[i], &out[i], err);
		*bulk = 1;
		return rc;
	}
	for (; i + SQB_BULK_ROWS <= n; i += SQB_BULK_ROWS) {
		sqlite3_stmt *st = set->bulk;
		int p = 1;
		for (size_t k = 0; k < SQB_BULK_ROWS; k++) {
			sqb_bval *bv = &set->bulk_bv[k * per];
			sqb_set_id(s, u, set, recs[i + k], &id, &id_len, err);
			if ((rc = sqb_set_values(s, u, set, recs[i + k], id, 1, &bv[set->ncols], bv,
						 err)))
				break;
			sqlite3_bind_text(st, p++, id, id_len, SQLITE_STATIC);
			sqb_bind_bval(st, p++, &bv[set->ncols]);
			for (size_t c = 0; c < set->ncols; c++)
				sqb_bind_bval(st, p++, &bv[c]);
		}
		if (rc) {
			sqlite3_clear_bindings(st);
			if (rc < 0)
				return rc;
			rc = 0; /* another field list: row by row from this chunk on */
			break;
		}
		r = sqlite3_step(st);
		sqlite3_reset(st);
		if (r != SQLITE_DONE)
			return sqb_fail(s, err, r, "unit %s, records %s to %s: storing them",
					u->name, first, prev);
		memset(&out[i], CRMSYNC_OUT_NEW, SQB_BULK_ROWS);
	}
	u->last_new = 1;
	for (; i < n && !rc; i++)
		rc = sqb_upsert_one(s, u, recs[i], &out[i], err);
	*bulk = 1;
	return rc;
}

int sqb_upsert(void *state, const char *unit, crmsync_record *const *recs, size_t n, uint8_t *out,
	       crmsync_error *err)
{
	sqb *s = state;
	sqb_unit *u;
	int rc = sqb_unit_get(s, unit, &u, err);
	if (rc)
		return rc;
	rc = sqb_op_begin(s, err);
	if (rc)
		return rc;
	int bulk = 0;
	rc = sqb_upsert_bulk(s, u, recs, n, out, &bulk, err);
	for (size_t i = 0; i < n && !rc && !bulk; i++)
		rc = sqb_upsert_one(s, u, recs[i], &out[i], err);
	return sqb_op_end(s, rc, err);
}

/* Drop what the change log and push state hold for a row the sync removed. */
static int sqb_forget_row(sqb *s, sqb_unit *u, int64_t row, crmsync_error *err)
{
	static const char *const sql[] = {
	    "DELETE FROM _crmsync_log WHERE unit = ?1 AND row = ?2",
	    "DELETE FROM _crmsync_push WHERE unit = ?1 AND row = ?2",
	};
	for (int k = 0; k < 2; k++) {
		sqlite3_stmt *st;
		int rc = sqb_prepare(s, sql[k], &st, "clearing a row's change log", err);
		if (rc)
			return rc;
		sqlite3_bind_text(st, 1, u->name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, row);
		int r = sqlite3_step(st);
		sqb_finalize(s, st);
		if (r != SQLITE_DONE)
			return sqb_fail(s, err, r, "unit %s, row %lld: clearing its change log",
					u->name, (long long)row);
	}
	return 0;
}

static int sqb_prep_unit(sqb *s, sqb_unit *u, const char *fmt, sqlite3_stmt **st,
			 crmsync_error *err)
{
	char *sql = sqlite3_mprintf(fmt, u->qname);
	if (!sql)
		return sqb_errf(s, err, CRMSYNC_ENOMEM, "unit %s: out of memory", u->name);
	int rc = sqb_prepare(s, sql, st, u->name, err);
	sqlite3_free(sql);
	return rc;
}

int sqb_mark_deleted(void *state, const char *unit, const char *const *ids,
		     const char *const *merged_into, size_t n, int remove, uint8_t *out,
		     crmsync_error *err)
{
	sqb *s = state;
	sqb_unit *u;
	sqlite3_stmt *sel = NULL, *del = NULL, *tomb = NULL;
	int rc = sqb_unit_get(s, unit, &u, err);
	if (rc)
		return rc;
	rc = sqb_op_begin(s, err);
	if (rc)
		return rc;
	rc = sqb_prep_unit(s, u, "SELECT local_id, is_deleted, merged_into FROM %s WHERE id = ?1",
			   &sel, err);
	if (!rc)
		rc = sqb_prep_unit(s, u, "DELETE FROM %s WHERE local_id = ?1", &del, err);
	if (!rc)
		rc = sqb_prep_unit(s, u,
				   "UPDATE %s SET is_deleted = 1, merged_into = ?2 WHERE "
				   "local_id = ?1",
				   &tomb, err);
	for (size_t i = 0; i < n && !rc; i++) {
		const char *mi = merged_into ? merged_into[i] : NULL;
		if (!ids[i] || !*ids[i]) {
			rc = sqb_errf(s, err, CRMSYNC_EINVAL,
				      "unit %s: delete %zu of the batch has no CRM id", u->name, i);
			break;
		}
		sqlite3_reset(sel);
		sqlite3_bind_text(sel, 1, ids[i], -1, SQLITE_STATIC);
		int r = sqlite3_step(sel);
		if (r == SQLITE_DONE) {
			out[i] = CRMSYNC_OUT_SKIPPED; /* never stored here: nothing to do */
			continue;
		}
		if (r != SQLITE_ROW) {
			rc = sqb_fail(s, err, r, "unit %s, record %s: reading it", u->name, ids[i]);
			break;
		}
		int64_t row = sqlite3_column_int64(sel, 0);
		int was = sqlite3_column_int(sel, 1);
		const char *old_mi = (const char *)sqlite3_column_text(sel, 2);
		int same_mi = (!old_mi && !mi) || (old_mi && mi && strcmp(old_mi, mi) == 0);
		sqlite3_stmt *st;
		if (remove) {
			st = del;
			sqlite3_reset(st);
			sqlite3_bind_int64(st, 1, row);
		} else {
			if (was && same_mi) {
				out[i] = CRMSYNC_OUT_SKIPPED;
				continue;
			}
			st = tomb;
			sqlite3_reset(st);
			sqlite3_bind_int64(st, 1, row);
			if (mi)
				sqlite3_bind_text(st, 2, mi, -1, SQLITE_STATIC);
			else
				sqlite3_bind_null(st, 2);
		}
		r = sqlite3_step(st);
		if (r != SQLITE_DONE) {
			rc = sqb_fail(s, err, r, "unit %s, record %s: %s", u->name, ids[i],
				      remove ? "deleting it" : "marking it deleted");
			break;
		}
		if (remove)
			rc = sqb_forget_row(s, u, row, err);
		out[i] = CRMSYNC_OUT_DELETED;
	}
	sqb_finalize(s, sel);
	sqb_finalize(s, del);
	sqb_finalize(s, tomb);
	return sqb_op_end(s, rc, err);
}

static int sqb_row_of(sqb *s, sqb_unit *u, const char *id, int64_t *row, crmsync_error *err)
{
	sqlite3_stmt *st;
	int rc = sqb_prep_unit(s, u, "SELECT local_id FROM %s WHERE id = ?1", &st, err);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	int r = sqlite3_step(st);
	*row = r == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqb_finalize(s, st);
	if (r != SQLITE_ROW && r != SQLITE_DONE)
		return sqb_fail(s, err, r, "unit %s, record %s: reading it", u->name, id);
	return 0;
}

/* Point every reference to the loser (in any unit whose field references this
 * unit's object) at the winner. */
static int sqb_repoint(sqb *s, sqb_unit *u, const char *loser, const char *winner,
		       crmsync_error *err)
{
	sqlite3_stmt *refs;
	int rc = sqb_prepare(s,
			     "SELECT f.unit, f.col FROM _crmsync_fields f JOIN _crmsync_units "
			     "t ON t.unit = f.unit WHERE f.active = 1 AND f.reference_to = ?1 "
			     "COLLATE NOCASE",
			     &refs, "finding references", err);
	if (rc)
		return rc;
	sqlite3_bind_text(refs, 1, u->sobject, -1, SQLITE_STATIC);
	int r;
	while (!rc && (r = sqlite3_step(refs)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(refs, 0);
		const char *c = (const char *)sqlite3_column_text(refs, 1);
		char *sql =
		    sqlite3_mprintf("UPDATE \"%w\" SET \"%w\" = ?1 WHERE \"%w\" = ?2", t, c, c);
		sqlite3_stmt *st = NULL;
		rc = sql ? sqb_prepare(s, sql, &st, "re-pointing references", err)
			 : sqb_errf(s, err, CRMSYNC_ENOMEM, "out of memory");
		sqlite3_free(sql);
		if (rc)
			break;
		sqlite3_bind_text(st, 1, winner, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, loser, -1, SQLITE_STATIC);
		r = sqlite3_step(st);
		sqb_finalize(s, st);
		if (r != SQLITE_DONE)
			rc = sqb_fail(s, err, r, "unit %s: re-pointing %s.%s from %s to %s",
				      u->name, t, c, loser, winner);
	}
	sqb_finalize(s, refs);
	return rc;
}

int sqb_merge(void *state, const char *unit, const char *loser_id, const char *winner_id,
	      crmsync_error *err)
{
	sqb *s = state;
	sqb_unit *u;
	int64_t lrow, wrow;
	sqlite3_stmt *st = NULL;
	if (!loser_id || !winner_id || !*loser_id || !*winner_id || !strcmp(loser_id, winner_id))
		return sqb_errf(s, err, CRMSYNC_EINVAL,
				"unit %s: merge needs two different CRM ids (loser %s, winner %s)",
				unit, loser_id ? loser_id : "NULL", winner_id ? winner_id : "NULL");
	int rc = sqb_unit_get(s, unit, &u, err);
	if (rc)
		return rc;
	rc = sqb_op_begin(s, err);
	if (rc)
		return rc;
	rc = sqb_row_of(s, u, loser_id, &lrow, err);
	if (!rc)
		rc = sqb_row_of(s, u, winner_id, &wrow, err);
	if (!rc && lrow && wrow) {
		/* Only an application's own columns are folded (a value beats an
		 * empty one, NULL or ''): the winner's CRM fields are the CRM's,
		 * and so are the bookkeeping columns and the kept values of
		 * fields whose type changed (NAME__was_TYPE). */
		sqlite3_stmt *cols = NULL;
		sqlite3_str *q = sqlite3_str_new(s->db);
		int ncols = 0, r = SQLITE_DONE;
		sqlite3_str_appendf(q, "UPDATE %s AS w SET ", u->qname);
		rc = sqb_prepare(s,
				 "SELECT name FROM pragma_table_xinfo(?1) WHERE hidden = 0 AND "
				 "lower(name) NOT IN (SELECT lower(col) FROM _crmsync_fields WHERE "
				 "unit = ?1) AND name NOT LIKE '%\\_\\_was\\_%' ESCAPE '\\'",
				 &cols, "listing an application's columns", err);
		if (!rc)
			sqlite3_bind_text(cols, 1, u->name, -1, SQLITE_STATIC);
		while (!rc && (r = sqlite3_step(cols)) == SQLITE_ROW) {
			const char *c = (const char *)sqlite3_column_text(cols, 0);
			if (bk_is_bookkeeping(c))
				continue;
			sqlite3_str_appendf(
			    q,
			    "%s\"%w\" = CASE WHEN w.\"%w\" IS NULL OR w.\"%w\" = '' "
			    "THEN coalesce(nullif(l.\"%w\", ''), w.\"%w\") ELSE "
			    "w.\"%w\" END",
			    ncols++ ? ", " : "", c, c, c, c, c, c);
		}
		if (!rc && r != SQLITE_DONE)
			rc = sqb_fail(s, err, r, "unit %s: listing its columns", u->name);
		sqb_finalize(s, cols);
		sqlite3_str_appendf(q,
				    " FROM (SELECT * FROM %s WHERE local_id = ?2) AS l WHERE "
				    "w.local_id = ?1",
				    u->qname);
		char *sql = sqlite3_str_finish(q);
		if (!rc && ncols)
			rc = sql ? sqb_prepare(s, sql, &st, "merging", err)
				 : sqb_errf(s, err, CRMSYNC_ENOMEM, "out of memory");
		sqlite3_free(sql);
		if (!rc && st) {
			sqlite3_bind_int64(st, 1, wrow);
			sqlite3_bind_int64(st, 2, lrow);
			r = sqlite3_step(st);
			if (r != SQLITE_DONE)
				rc = sqb_fail(s, err, r, "unit %s: folding %s into %s", u->name,
					      loser_id, winner_id);
		}
		sqb_finalize(s, st);
		st = NULL;
	}
	/* The loser's pending local edits would go to a record the CRM deleted. */
	if (!rc && lrow)
		rc = sqb_forget_row(s, u, lrow, err);
	if (!rc)
		rc = sqb_repoint(s, u, loser_id, winner_id, err);
	return sqb_op_end(s, rc, err);
}

int sqb_row_update(void *state, const char *unit, int64_t row, const crmsync_record *rec,
		   crmsync_error *err)
{
	sqb *s = state;
	sqb_unit *u;
	sqlite3_stmt *st = NULL;
	int rc = sqb_unit_get(s, unit, &u, err);
	if (rc)
		return rc;
	size_t n = s->host->record_count(rec);
	if (n == 0)
		return 0;
	sqb_bval *bv = s->host->alloc(n * sizeof *bv);
	if (!bv)
		return sqb_errf(s, err, CRMSYNC_ENOMEM, "unit %s: out of memory", u->name);
	char idtxt[32];
	snprintf(idtxt, sizeof idtxt, "row %lld", (long long)row);
	sqlite3_str *q = sqlite3_str_new(s->db);
	sqlite3_str_appendf(q, "UPDATE %s SET ", u->qname);
	for (size_t i = 0; i < n && !rc; i++) {
		const char *name;
		crmsync_value v;
		s->host->record_at(rec, i, &name, &v);
		int fi = sqb_field_index(u, name);
		if (fi >= 0) {
			rc = sqb_bval_from(s, u, &u->fields[fi], &v, idtxt, &bv[i], err);
			sqlite3_str_appendf(q, "%s%s = ?%d", i ? ", " : "", u->fields[fi].qcol,
					    (int)i + 2);
		} else if (!strcasecmp(name, "sync_mark") || !strcasecmp(name, "sync_state") ||
			   !strcasecmp(name, "Id")) {
			const sqb_field bk = {
			    .name = (char *)name,
			    .col = (char *)name,
			    .type =
				strcasecmp(name, "sync_mark") ? CRMSYNC_STRING : CRMSYNC_BOOLEAN,
			    .aff = strcasecmp(name, "sync_mark") ? SQB_AFF_TEXT : SQB_AFF_INTEGER};
			if (bk.type == CRMSYNC_STRING && v.type == CRMSYNC_ID)
				v.type = CRMSYNC_STRING;
			rc = sqb_bval_from(s, u, &bk, &v, idtxt, &bv[i], err);
			sqlite3_str_appendf(q, "%s\"%w\" = ?%d", i ? ", " : "",
					    strcasecmp(name, "Id") ? name : "id", (int)i + 2);
		} else {
			rc = sqb_errf(s, err, CRMSYNC_EINVAL,
				      "unit %s, row %lld: field %s is not in the unit's schema: "
				      "call ensure_unit with the current describe first",
				      u->name, (long long)row, name);
		}
	}
	sqlite3_str_appendf(q, " WHERE local_id = ?1");
	char *sql = sqlite3_str_finish(q);
	if (rc)
		goto out;
	rc = sqb_op_begin(s, err);
	if (rc)
		goto out;
	rc = sql ? sqb_prepare(s, sql, &st, "updating a row", err)
		 : sqb_errf(s, err, CRMSYNC_ENOMEM, "out of memory");
	if (!rc) {
		sqlite3_bind_int64(st, 1, row);
		for (size_t i = 0; i < n; i++)
			sqb_bind_bval(st, (int)i + 2, &bv[i]);
		int r = sqlite3_step(st);
		if (r != SQLITE_DONE)
			rc = sqb_fail(s, err, r, "unit %s, row %lld: updating it", u->name,
				      (long long)row);
		else if (sqlite3_changes(s->db) == 0)
			rc = sqb_errf(s, err, CRMSYNC_ENOENT,
				      "unit %s: there is no row %lld (deleted meanwhile?)", u->name,
				      (long long)row);
	}
	sqb_finalize(s, st);
	rc = sqb_op_end(s, rc, err);
out:
	sqlite3_free(sql);
	s->host->free(bv);
	return rc;
}

int sqb_row_read(void *state, const char *unit, const char *id, int64_t row, crmsync_record *out,
		 crmsync_error *err)
{
	sqb *s = state;
	sqb_unit *u;
	sqlite3_stmt *st = NULL;
	int rc = sqb_unit_get(s, unit, &u, err);
	if (rc)
		return rc;
	s->host->record_clear(out);
	sqlite3_str *q = sqlite3_str_new(s->db);
	sqlite3_str_appendf(q, "SELECT local_id, id, is_deleted, crm_modstamp, merged_into, "
			       "sync_state, sync_mark");
	for (size_t i = 0; i < u->nfields; i++)
		sqlite3_str_appendf(q, ", %s", u->fields[i].qcol);
	sqlite3_str_appendf(q, " FROM %s WHERE %s", u->qname, id ? "id = ?1" : "local_id = ?1");
	char *sql = sqlite3_str_finish(q);
	rc = sql ? sqb_prepare(s, sql, &st, "reading a row", err)
		 : sqb_errf(s, err, CRMSYNC_ENOMEM, "out of memory");
	sqlite3_free(sql);
	if (rc)
		return rc;
	if (id)
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 1, row);
	int r = sqlite3_step(st);
	if (r == SQLITE_DONE) {
		rc =
		    id ? sqb_errf(s, err, CRMSYNC_ENOENT, "unit %s: no row with id %s", u->name, id)
		       : sqb_errf(s, err, CRMSYNC_ENOENT, "unit %s: no row %lld", u->name,
				  (long long)row);
		goto out;
	}
	if (r != SQLITE_ROW) {
		rc = sqb_fail(s, err, r, "unit %s: reading a row", u->name);
		goto out;
	}
	crmsync_value v = {.type = CRMSYNC_INTEGER};
	v.u.i = sqlite3_column_int64(st, 0);
	s->host->record_set(out, "local_id", &v);
	memset(&v, 0, sizeof v);
	if (sqlite3_column_type(st, 1) != SQLITE_NULL) {
		v.type = CRMSYNC_ID;
		v.u.s = (const char *)sqlite3_column_text(st, 1);
		v.len = (size_t)sqlite3_column_bytes(st, 1);
	}
	s->host->record_set(out, "Id", &v);
	memset(&v, 0, sizeof v);
	v.type = CRMSYNC_BOOLEAN;
	v.u.b = sqlite3_column_int(st, 2) != 0;
	s->host->record_set(out, "is_deleted", &v);
	memset(&v, 0, sizeof v);
	if (sqlite3_column_type(st, 3) != SQLITE_NULL &&
	    s->host->parse_datetime((const char *)sqlite3_column_text(st, 3), &v.u.i) == 0)
		v.type = CRMSYNC_DATETIME;
	s->host->record_set(out, "crm_modstamp", &v);
	static const char *const txt[] = {"merged_into", "sync_state"};
	for (int k = 0; k < 2; k++) {
		memset(&v, 0, sizeof v);
		if (sqlite3_column_type(st, 4 + k) != SQLITE_NULL) {
			v.type = k == 0 ? CRMSYNC_ID : CRMSYNC_STRING;
			v.u.s = (const char *)sqlite3_column_text(st, 4 + k);
			v.len = (size_t)sqlite3_column_bytes(st, 4 + k);
		}
		s->host->record_set(out, txt[k], &v);
	}
	memset(&v, 0, sizeof v);
	v.type = CRMSYNC_BOOLEAN;
	v.u.b = sqlite3_column_int(st, 6) != 0;
	s->host->record_set(out, "sync_mark", &v);
	for (size_t i = 0; i < u->nfields; i++) {
		char buf[64], why[256];
		if (sqb_column_value(s, &u->fields[i], st, 7 + (int)i, &v, buf, sizeof buf, why,
				     sizeof why)) {
			rc = sqb_errf(s, err, CRMSYNC_EINVAL, "table %s, row %lld: %s", u->name,
				      (long long)sqlite3_column_int64(st, 0), why);
			goto out;
		}
		if (s->host->record_set(out, u->fields[i].name, &v)) {
			rc = sqb_errf(s, err, CRMSYNC_ENOMEM, "unit %s: out of memory", u->name);
			goto out;
		}
	}
out:
	sqb_finalize(s, st);
	return rc;
}

/* Id reconciliation: the sweep's start time and the ids seen live in tables
 * (_crmsync_sweep, _crmsync_seen), so memory stays bounded whatever the row
 * count and a sweep may span many transactions. */
static int sqb_sweep_step(sqb *s, sqb_unit *u, const char *sql, int64_t i2, int64_t *changes,
			  crmsync_error *err)
{
	sqlite3_stmt *st;
	int rc = sqb_prep_unit(s, u, sql, &st, err);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, u->name, -1, SQLITE_STATIC);
	if (sqlite3_bind_parameter_count(st) >= 2)
		sqlite3_bind_int64(st, 2, i2);
	int r = sqlite3_step(st);
	sqb_finalize(s, st);
	if (r != SQLITE_DONE)
		return sqb_fail(s, err, r, "unit %s: reconciling ids", u->name);
	if (changes)
		*changes = sqlite3_changes64(s->db);
	return 0;
}

int sqb_reconcile_begin(void *state, const char *unit, int64_t started_ms, crmsync_error *err)
{
	sqb *s = state;
	sqb_unit *u;
	int rc = sqb_unit_get(s, unit, &u, err);
	if (rc)
		return rc;
	rc = sqb_op_begin(s, err);
	/* What a sweep that never finished saw. */
	for (int64_t gone = 1; !rc && gone;)
		rc =
		    sqb_sweep_step(s, u,
				   "DELETE FROM _crmsync_seen WHERE unit = ?1 AND id IN (SELECT id "
				   "FROM _crmsync_seen WHERE unit = ?1 LIMIT 4096)",
				   0, &gone, err);
	if (!rc)
		rc = sqb_sweep_step(s, u,
				    "INSERT INTO _crmsync_sweep(unit, started_ms) VALUES(?1, ?2) "
				    "ON CONFLICT(unit) DO UPDATE SET started_ms = "
				    "excluded.started_ms",
				    started_ms, NULL, err);
	return sqb_op_end(s, rc, err);
}

int sqb_reconcile_seen(void *state, const char *unit, const char *const *ids, size_t n,
		       crmsync_error *err)
{
	sqb *s = state;
	sqb_unit *u;
	sqlite3_stmt *st = NULL;
	int rc = sqb_unit_get(s, unit, &u, err);
	if (rc)
		return rc;
	rc = sqb_op_begin(s, err);
	if (rc)
		return rc;
	rc = sqb_prepare(s, "INSERT OR IGNORE INTO _crmsync_seen(unit, id) VALUES(?1, ?2)", &st,
			 "recording seen ids", err);
	for (size_t i = 0; !rc && i < n; i++) {
		if (!ids[i] || !*ids[i])
			continue;
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, u->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, ids[i], -1, SQLITE_STATIC);
		int r = sqlite3_step(st);
		if (r != SQLITE_DONE)
			rc = sqb_fail(s, err, r, "unit %s: recording seen id %s", u->name, ids[i]);
	}
	sqb_finalize(s, st);
	return sqb_op_end(s, rc, err);
}

int sqb_reconcile_finish(void *state, const char *unit, int64_t *tombstoned, crmsync_error *err)
{
	sqb *s = state;
	sqb_unit *u;
	sqlite3_stmt *st = NULL;
	int64_t n = 0, started = 0;
	int rc = sqb_unit_get(s, unit, &u, err);
	if (rc)
		return rc;
	rc = sqb_op_begin(s, err);
	if (rc)
		return rc;
	rc = sqb_prepare(s, "SELECT started_ms FROM _crmsync_sweep WHERE unit = ?1", &st,
			 "reconciling ids", err);
	if (!rc) {
		sqlite3_bind_text(st, 1, u->name, -1, SQLITE_STATIC);
		int r = sqlite3_step(st);
		if (r == SQLITE_ROW)
			started = sqlite3_column_int64(st, 0);
		else if (r == SQLITE_DONE)
			rc = sqb_errf(s, err, CRMSYNC_EINVAL,
				      "unit %s: reconcile_finish without reconcile_begin", u->name);
		else
			rc = sqb_fail(s, err, r, "unit %s: reconciling ids", u->name);
		sqb_finalize(s, st);
		st = NULL;
	}
	/* Rows pulled during the sweep carry a newer modstamp: never swept.
	 * In statements of at most 512 rows, walking the table by row key:
	 * SQLite keeps a statement's undo pages in memory (temp_store), so one
	 * statement over a million rows would cost tens of MiB. */
	char ts[40];
	bk_format_datetime(started, ts);
	if (!rc) {
		char *sql = sqlite3_mprintf(
		    "UPDATE %s SET is_deleted = 1 WHERE local_id IN (SELECT t.local_id FROM %s "
		    "AS t WHERE t.local_id > ?3 AND t.id IS NOT NULL AND t.is_deleted = 0 AND "
		    "t.crm_modstamp < ?2 AND NOT EXISTS (SELECT 1 FROM _crmsync_seen v WHERE "
		    "v.unit = ?1 AND v.id = t.id) ORDER BY t.local_id LIMIT 512) RETURNING "
		    "local_id",
		    u->qname, u->qname);
		rc = sql ? sqb_prepare(s, sql, &st, "marking purged rows deleted", err)
			 : sqb_errf(s, err, CRMSYNC_ENOMEM, "out of memory");
		sqlite3_free(sql);
	}
	for (int64_t last = INT64_MIN, more = 1; !rc && more;) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, u->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, ts, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, last);
		int r;
		more = 0;
		while ((r = sqlite3_step(st)) == SQLITE_ROW) {
			int64_t id = sqlite3_column_int64(st, 0);
			if (id > last)
				last = id;
			n++;
			more = 1;
		}
		if (r != SQLITE_DONE)
			rc = sqb_fail(s, err, r, "unit %s: marking purged rows deleted", u->name);
	}
	sqb_finalize(s, st);
	st = NULL;
	for (int64_t gone = 1; !rc && gone;)
		rc =
		    sqb_sweep_step(s, u,
				   "DELETE FROM _crmsync_seen WHERE unit = ?1 AND id IN (SELECT id "
				   "FROM _crmsync_seen WHERE unit = ?1 LIMIT 4096)",
				   0, &gone, err);
	if (!rc)
		rc = sqb_sweep_step(s, u, "DELETE FROM _crmsync_sweep WHERE unit = ?1", 0, NULL,
				    err);
	rc = sqb_op_end(s, rc, err);
	if (!rc && tombstoned)
		*tombstoned = n;
	if (!rc && n)
		s->host->log(s->self, CRMSYNC_LOG_INFO,
			     "unit %s: %lld rows no longer exist in the CRM: marked deleted",
			     u->name, (long long)n);
	return rc;
}
