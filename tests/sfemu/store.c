/*
 * store.c - the record store: one SQLite table per object (the layout the
 * SOQL compiler relies on, see /work/notes/soql-contract.md), id generation,
 * validation of writes the way an org validates them, system fields, the
 * recycle bin, merge and lead conversion.
 *
 * Values are handled in their storage form (json_t mirroring the SQLite
 * value): text as strings, booleans as 0/1, datetimes as integer epoch ms,
 * dates as 'YYYY-MM-DD'.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sfemu.h"

#define DAY_MS 86400000LL

static const char b62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

/* prefix + 6 base-62 chars of a counter (so ids sort by creation) + 6 mixed-case
 * chars of its hash + the checksum. */
void store_new_id(emu *e, const emu_object *o, char out[19])
{
	uint64_t n = ++e->id_counter;
	memcpy(out, o ? o->key_prefix : "000", 3);
	uint64_t c = n;
	for (int i = 8; i >= 3; i--) {
		out[i] = b62[c % 62];
		c /= 62;
	}
	uint64_t h = mix64(n ^ e->id_salt);
	for (int i = 9; i < 15; i++) {
		out[i] = b62[10 + h % 52]; /* letters only: mixed case in every id */
		h /= 52;
	}
	id_checksum(out, out + 15);
	out[18] = 0;
}

static const char *col_type(ftype t)
{
	switch (t) {
	case FT_BOOLEAN:
	case FT_INT:
	case FT_DATETIME:
		return "INTEGER";
	case FT_DOUBLE:
	case FT_CURRENCY:
	case FT_PERCENT:
		return "REAL";
	default:
		return "TEXT";
	}
}

int emu_db_exec(emu *e, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(e->db, sql, NULL, NULL, &msg);
	if (rc != SQLITE_OK) {
		fprintf(stderr, "sfemu: sql error: %s\n  in: %.200s\n", msg ? msg : "?", sql);
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int store_create_schema(emu *e)
{
	buf b = {0};
	for (int i = 0; i < e->schema.nobjs; i++) {
		emu_object *o = &e->schema.objs[i];
		buf_printf(&b, "CREATE TABLE IF NOT EXISTS \"%s\"(", o->name);
		for (int k = 0; k < o->nfields; k++) {
			emu_field *f = &o->fields[k];
			buf_printf(&b, "%s\"%s\" %s%s", k ? "," : "", f->name, col_type(f->type),
				   f->type == FT_ID ? " NOT NULL UNIQUE" : "");
		}
		buf_printf(&b, ",\"_DeletedDate\" INTEGER);");
		/* IsDeleted (and IsArchived, which query filters on too) makes the
		 * (SystemModstamp, Id) scans of query covering */
		buf_printf(&b,
			   "CREATE INDEX IF NOT EXISTS \"%s_stamp\" ON \"%s\"(\"SystemModstamp\","
			   "\"Id\"%s%s);",
			   o->name, o->name, o->has_is_deleted ? ",\"IsDeleted\"" : "",
			   object_field(o, "IsArchived") ? ",\"IsArchived\"" : "");
		for (int k = 0; k < o->nfields; k++) {
			emu_field *f = &o->fields[k];
			/* partial indexes: mostly-empty columns cost nothing to seed */
			if (f->unique || f->external_id)
				buf_printf(
				    &b,
				    "CREATE INDEX IF NOT EXISTS \"%s_%s\" ON \"%s\"(\"%s\"%s) "
				    "WHERE \"%s\" IS NOT NULL;",
				    o->name, f->name, o->name, f->name,
				    f->case_sensitive ? "" : " COLLATE NOCASE", f->name);
			else if (f->type == FT_REFERENCE && strcmp(f->name, "CreatedById") &&
				 strcmp(f->name, "LastModifiedById") && strcmp(f->name, "OwnerId"))
				buf_printf(&b,
					   "CREATE INDEX IF NOT EXISTS \"%s_%s\" ON \"%s\"(\"%s\") "
					   "WHERE \"%s\" IS NOT NULL;",
					   o->name, f->name, o->name, f->name, f->name);
		}
		if (o->has_is_deleted)
			buf_printf(
			    &b,
			    "CREATE INDEX IF NOT EXISTS \"%s_del\" ON \"%s\"(\"_DeletedDate\") "
			    "WHERE \"_DeletedDate\" IS NOT NULL;",
			    o->name, o->name);
	}
	buf_puts(&b, "CREATE TABLE IF NOT EXISTS _meta(k TEXT PRIMARY KEY, v);"
		     "CREATE TABLE IF NOT EXISTS _purge(object TEXT PRIMARY KEY, ts INTEGER);");
	int rc = emu_db_exec(e, b.p);
	buf_free(&b);
	return rc;
}

static int64_t meta_get(emu *e, const char *k, int64_t def)
{
	sqlite3_stmt *st;
	int64_t v = def;
	if (sqlite3_prepare_v2(e->db, "SELECT v FROM _meta WHERE k=?", -1, &st, NULL))
		return def;
	sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

static void meta_set(emu *e, const char *k, int64_t v)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(e->db, "INSERT OR REPLACE INTO _meta VALUES(?,?)", -1, &st, NULL))
		return;
	sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, v);
	sqlite3_step(st);
	sqlite3_finalize(st);
}

static void make_users(emu *e)
{
	emu_object *u = schema_object(&e->schema, "User");
	write_opts w = {.system = true, .ts = e->org_created_ms};
	emu_err err;
	if (!u)
		return;
	char ids[1][19];
	emu_field *un = object_field(u, "Username");
	if (un && rec_find_by(e, u, un, e->username, ids, 1) > 0) {
		memcpy(e->user_id, ids[0], 19);
	} else {
		json_t *f = json_pack("{s:s,s:s,s:s,s:s,s:s}", "Username", e->username, "Email",
				      e->username, "FirstName", "Sync", "LastName", "Integration",
				      "Alias", "sync");
		w.user_id = NULL;
		rec_create(e, u, f, &w, e->user_id, &err);
		json_decref(f);
	}
	if (un && rec_find_by(e, u, un, "crm.user@example.com", ids, 1) > 0) {
		memcpy(e->crm_user_id, ids[0], 19);
	} else {
		json_t *f = json_pack("{s:s,s:s,s:s,s:s,s:s}", "Username", "crm.user@example.com",
				      "Email", "crm.user@example.com", "FirstName", "Casey",
				      "LastName", "Seller", "Alias", "cseller");
		rec_create(e, u, f, &w, e->crm_user_id, &err);
		json_decref(f);
	}
}

int store_open(emu *e, char *err, size_t errlen)
{
	int rc =
	    sqlite3_open_v2(e->state_file ? e->state_file : ":memory:", &e->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		snprintf(err, errlen, "cannot open state %s: %s",
			 e->state_file ? e->state_file : ":memory:", sqlite3_errstr(rc));
		return -1;
	}
	emu_db_exec(e, "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF; "
		       "PRAGMA cache_size=-200000; PRAGMA temp_store=MEMORY;");
	if (store_create_schema(e)) {
		snprintf(err, errlen, "cannot create the tables (schema and state file disagree?)");
		return -1;
	}
	e->id_counter = (uint64_t)meta_get(e, "id_counter", (int64_t)e->id_counter);
	/* the org and its users are fixed for a given rng seed */
	uint64_t saved = e->id_counter;
	e->id_counter = 0;
	store_new_id(e, NULL, e->org_id);
	memcpy(e->org_id, "00D", 3);
	id_checksum(e->org_id, e->org_id + 15);
	e->id_counter = saved ? saved : 16;
	make_users(e);
	return 0;
}

void store_close(emu *e)
{
	if (!e->db)
		return;
	meta_set(e, "id_counter", (int64_t)e->id_counter);
	sqlite3_close(e->db);
	e->db = NULL;
}

/* Seeding: bulk loads are much faster into bare tables; store_create_schema()
 * rebuilds the indexes afterwards. The unique Id constraint stays. */
int store_drop_indexes(emu *e)
{
	sqlite3_stmt *st;
	buf b = {0};
	if (sqlite3_prepare_v2(
		e->db, "SELECT name FROM sqlite_master WHERE type='index' AND sql IS NOT NULL", -1,
		&st, NULL))
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW)
		buf_printf(&b, "DROP INDEX \"%s\";", sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	int rc = b.len ? emu_db_exec(e, b.p) : 0;
	buf_free(&b);
	return rc;
}

int store_reset(emu *e)
{
	buf b = {0};
	for (int i = 0; i < e->schema.nobjs; i++)
		buf_printf(&b, "DELETE FROM \"%s\";", e->schema.objs[i].name);
	buf_puts(&b, "DELETE FROM _meta; DELETE FROM _purge;");
	int rc = emu_db_exec(e, b.p);
	buf_free(&b);
	e->id_counter = 16;
	make_users(e);
	return rc;
}

emu_object *object_of_id(emu *e, const char *id18)
{
	return schema_object_by_prefix(&e->schema, id18);
}

/* ---- value conversion ---- */

static size_t utf8_len(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

static const char *extra_prefix(const char *obj)
{
	if (!strcmp(obj, "Group"))
		return "00G";
	if (!strcmp(obj, "Profile"))
		return "00e";
	if (!strcmp(obj, "UserRole"))
		return "00E";
	return NULL;
}

static bool valid_email(const char *s)
{
	const char *at = strchr(s, '@');
	if (!at || at == s || strchr(at + 1, '@') || !strchr(at + 1, '.') || strchr(s, ' '))
		return false;
	size_t n = strlen(s);
	return s[n - 1] != '.' && at[1] != '.';
}

/* API JSON value -> storage value (new reference, NULL for SQL NULL). */
static int to_storage(emu *e, emu_field *f, json_t *v, json_t **out, emu_err *err)
{
	*out = NULL;
	if (!v || json_is_null(v)) {
		if (f->type == FT_BOOLEAN)
			*out = json_integer(0);
		return 0;
	}
	switch (f->type) {
	case FT_BOOLEAN:
		if (json_is_boolean(v)) {
			*out = json_integer(json_is_true(v));
			return 0;
		}
		break;
	case FT_INT:
		if (json_is_integer(v)) {
			*out = json_incref(v);
			return 0;
		}
		if (json_is_real(v) &&
		    json_real_value(v) == (double)(long long)json_real_value(v)) {
			*out = json_integer((json_int_t)json_real_value(v));
			return 0;
		}
		break;
	case FT_DOUBLE:
	case FT_CURRENCY:
	case FT_PERCENT:
		if (json_is_number(v)) {
			*out = json_real(json_number_value(v));
			return 0;
		}
		break;
	case FT_DATE: {
		char d[11];
		if (json_is_string(v) && !parse_date(json_string_value(v), d)) {
			*out = json_string(d);
			return 0;
		}
		break;
	}
	case FT_DATETIME: {
		int64_t ms;
		if (json_is_string(v) && strchr(json_string_value(v), 'T') &&
		    !parse_datetime(json_string_value(v), &ms)) {
			*out = json_integer(ms);
			return 0;
		}
		break;
	}
	case FT_ID:
	case FT_REFERENCE: {
		char id[19];
		const char *s = json_is_string(v) ? json_string_value(v) : NULL;
		if (s && !*s)
			return 0; /* "" clears a lookup */
		const char *label = f->label;
		if (f->nref && !f->polymorphic) {
			emu_object *p = schema_object(&e->schema, f->reference_to[0]);
			label = p ? p->label : f->reference_to[0];
		}
		if (!s || id_norm(s, id))
			return emu_seterr(err, 400, "MALFORMED_ID", f->name,
					  "%s ID: id value of incorrect type: %s", label,
					  s ? s : "(not a string)");
		emu_object *target = NULL;
		bool ok = false;
		for (int i = 0; i < f->nref; i++) {
			emu_object *p = schema_object(&e->schema, f->reference_to[i]);
			const char *px = p ? p->key_prefix : extra_prefix(f->reference_to[i]);
			if (px && !strncmp(px, id, 3)) {
				ok = true;
				target = p;
			}
		}
		/* a queue where only users may own (Account, Contact, Opportunity, ...): the
		 * id is well-formed, the owner is not allowed */
		if (!ok && !strcmp(f->name, "OwnerId") && !strncmp(id, "00G", 3))
			return emu_seterr(err, 400, "FIELD_INTEGRITY_EXCEPTION", f->name,
					  "Owner ID: id value of incorrect type: %s", id);
		if (!ok)
			return emu_seterr(err, 400, "MALFORMED_ID", f->name,
					  "%s ID: id value of incorrect type: %s", label, s);
		if (target && rec_state(e, target, id) != 1)
			return emu_seterr(err, 400, "INVALID_CROSS_REFERENCE_KEY", f->name,
					  "invalid cross reference id");
		*out = json_string(id);
		return 0;
	}
	default: {
		const char *s;
		char tmp[64];
		if (json_is_string(v))
			s = json_string_value(v);
		else if (json_is_integer(v))
			snprintf(tmp, sizeof tmp, "%lld", (long long)json_integer_value(v)),
			    s = tmp;
		else if (json_is_real(v))
			snprintf(tmp, sizeof tmp, "%g", json_real_value(v)), s = tmp;
		else if (json_is_boolean(v))
			s = json_is_true(v) ? "true" : "false";
		else
			break;
		if (!*s)
			return 0; /* Salesforce stores "" as null */
		if ((int)utf8_len(s) > f->length)
			return emu_seterr(err, 400, "STRING_TOO_LONG", f->name,
					  "%s: data value too large: %.200s (max length=%d)",
					  f->label, s, f->length);
		if (f->type == FT_PICKLIST && f->restricted) {
			bool found = false;
			for (int i = 0; i < f->npick; i++)
				if (!strcmp(f->pick[i], s))
					found = true;
			if (!found)
				return emu_seterr(
				    err, 400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", f->name,
				    "%s: bad value for restricted picklist field: %s", f->label, s);
		}
		if (f->type == FT_EMAIL && !valid_email(s))
			return emu_seterr(err, 400, "INVALID_EMAIL_ADDRESS", f->name,
					  "%s: invalid email address: %s", f->label, s);
		*out = json_string(s);
		return 0;
	}
	}
	return emu_seterr(err, 400, "JSON_PARSER_ERROR", f->name,
			  "Cannot deserialize instance of %s from %s value %s or request may be "
			  "missing a required field",
			  ftype_name(f->type),
			  json_is_string(v)    ? "VALUE_STRING"
			  : json_is_boolean(v) ? "VALUE_BOOLEAN"
			  : json_is_number(v)  ? "VALUE_NUMBER"
					       : "START_OBJECT",
			  json_is_string(v) ? json_string_value(v) : "");
}

int json_to_sql_value(emu *e, emu_field *f, json_t *v, sqlite3_stmt *st, int idx, emu_err *err)
{
	json_t *s;
	if (to_storage(e, f, v, &s, err))
		return -1;
	if (!s)
		sqlite3_bind_null(st, idx);
	else if (json_is_integer(s))
		sqlite3_bind_int64(st, idx, json_integer_value(s));
	else if (json_is_real(s))
		sqlite3_bind_double(st, idx, json_real_value(s));
	else
		sqlite3_bind_text(st, idx, json_string_value(s), -1, SQLITE_TRANSIENT);
	json_decref(s);
	return 0;
}

static void bind_storage(sqlite3_stmt *st, int idx, json_t *s)
{
	if (!s || json_is_null(s))
		sqlite3_bind_null(st, idx);
	else if (json_is_integer(s))
		sqlite3_bind_int64(st, idx, json_integer_value(s));
	else if (json_is_real(s))
		sqlite3_bind_double(st, idx, json_real_value(s));
	else
		sqlite3_bind_text(st, idx, json_string_value(s), -1, SQLITE_TRANSIENT);
}

static json_t *column_storage(sqlite3_stmt *st, int col)
{
	switch (sqlite3_column_type(st, col)) {
	case SQLITE_INTEGER:
		return json_integer(sqlite3_column_int64(st, col));
	case SQLITE_FLOAT:
		return json_real(sqlite3_column_double(st, col));
	case SQLITE_TEXT:
		return json_string((const char *)sqlite3_column_text(st, col));
	default:
		return NULL;
	}
}

/* ---- output ---- */

static void emit_double(buf *b, double d)
{
	char t[40];
	if (d == (double)(long long)d && d > -1e15 && d < 1e15) {
		snprintf(t, sizeof t, "%lld.0", (long long)d);
	} else {
		snprintf(t, sizeof t, "%.15g", d);
		if (strtod(t, NULL) != d)
			snprintf(t, sizeof t, "%.17g", d);
	}
	buf_puts(b, t);
}

void emit_value(buf *b, const emu_field *f, sqlite3_stmt *st, int col)
{
	int t = sqlite3_column_type(st, col);
	if (t == SQLITE_NULL) {
		buf_put(b, "null", 4);
		return;
	}
	switch (f->type) {
	case FT_BOOLEAN:
		if (sqlite3_column_int(st, col))
			buf_put(b, "true", 4);
		else
			buf_put(b, "false", 5);
		return;
	case FT_INT: {
		char t2[24];
		int n = snprintf(t2, sizeof t2, "%lld", (long long)sqlite3_column_int64(st, col));
		buf_put(b, t2, (size_t)n);
		return;
	}
	case FT_DOUBLE:
	case FT_CURRENCY:
	case FT_PERCENT:
		emit_double(b, sqlite3_column_double(st, col));
		return;
	case FT_DATETIME: {
		char d[32];
		fmt_datetime(sqlite3_column_int64(st, col), d);
		buf_putc(b, '"');
		buf_put(b, d, 28);
		buf_putc(b, '"');
		return;
	}
	default: {
		const char *s = (const char *)sqlite3_column_text(st, col);
		buf_json_str(b, s, (size_t)sqlite3_column_bytes(st, col));
	}
	}
}

/* ---- row access ---- */

int rec_state(emu *e, emu_object *o, const char *id18)
{
	char sql[256];
	sqlite3_stmt *st;
	snprintf(sql, sizeof sql, "SELECT %s FROM \"%s\" WHERE \"Id\"=?",
		 o->has_is_deleted ? "\"IsDeleted\"" : "0", o->name);
	if (sqlite3_prepare_v2(e->db, sql, -1, &st, NULL))
		return 0;
	sqlite3_bind_text(st, 1, id18, -1, SQLITE_STATIC);
	int r = 0;
	if (sqlite3_step(st) == SQLITE_ROW)
		r = sqlite3_column_int(st, 0) ? 2 : 1;
	sqlite3_finalize(st);
	return r;
}

/* Loads a row into vals[] (storage values, one per field); 0 ok, -1 missing. */
static int load_row(emu *e, emu_object *o, const char *id18, json_t **vals)
{
	buf b = {0};
	buf_puts(&b, "SELECT ");
	for (int i = 0; i < o->nfields; i++)
		buf_printf(&b, "%s\"%s\"", i ? "," : "", o->fields[i].name);
	buf_printf(&b, " FROM \"%s\" WHERE \"Id\"=?", o->name);
	sqlite3_stmt *st;
	int rc = -1;
	if (sqlite3_prepare_v2(e->db, b.p, -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, id18, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			for (int i = 0; i < o->nfields; i++)
				vals[i] = column_storage(st, i);
			rc = 0;
		}
		sqlite3_finalize(st);
	}
	buf_free(&b);
	return rc;
}

static void free_vals(json_t **vals, int n)
{
	for (int i = 0; i < n; i++)
		json_decref(vals[i]);
	free(vals);
}

static int fidx(emu_object *o, const char *name)
{
	for (int i = 0; i < o->nfields; i++)
		if (!strcmp(o->fields[i].name, name))
			return i;
	return -1;
}

static void setv(emu_object *o, json_t **vals, const char *name, json_t *v)
{
	int i = fidx(o, name);
	if (i < 0) {
		json_decref(v);
		return;
	}
	json_decref(vals[i]);
	vals[i] = v;
}

static const char *sval(emu_object *o, json_t **vals, const char *name)
{
	int i = fidx(o, name);
	return i >= 0 && json_is_string(vals[i]) ? json_string_value(vals[i]) : NULL;
}

/* Derived fields: Name, IsClosed, IsWon, HasResponded, ... */
static void compute(emu *e, emu_object *o, json_t **vals)
{
	for (int i = 0; i < o->nfields; i++) {
		emu_field *f = &o->fields[i];
		if (!f->computed)
			continue;
		json_t *v = NULL;
		if (!strcmp(f->computed, "name")) {
			const char *fn = sval(o, vals, "FirstName"),
				   *ln = sval(o, vals, "LastName");
			buf b = {0};
			if (fn)
				buf_puts(&b, fn);
			if (fn && ln)
				buf_putc(&b, ' ');
			if (ln)
				buf_puts(&b, ln);
			if (b.len)
				v = json_string(b.p);
			buf_free(&b);
		} else if (!strcmp(f->computed, "isclosed") || !strcmp(f->computed, "iswon")) {
			const char *s = sval(o, vals, "StageName");
			bool won = s && !strcmp(s, "Closed Won"),
			     lost = s && !strcmp(s, "Closed Lost");
			v = json_integer(!strcmp(f->computed, "iswon") ? won : (won || lost));
		} else if (!strcmp(f->computed, "responded")) {
			const char *s = sval(o, vals, "Status");
			v = json_integer(s && !strcmp(s, "Responded"));
		} else if (!strcmp(f->computed, "taskclosed")) {
			const char *s = sval(o, vals, "Status");
			v = json_integer(s && !strcmp(s, "Completed"));
		} else if (!strcmp(f->computed, "membertype")) {
			v = json_string(sval(o, vals, "LeadId") ? "Lead" : "Contact");
		} else if (!strcmp(f->computed, "account")) {
			const char *what = sval(o, vals, "WhatId"), *who = sval(o, vals, "WhoId");
			if (what && !strncmp(what, "001", 3)) {
				v = json_string(what);
			} else if (who && !strncmp(who, "003", 3)) {
				sqlite3_stmt *st;
				if (!sqlite3_prepare_v2(e->db,
							"SELECT AccountId FROM Contact WHERE Id=?",
							-1, &st, NULL)) {
					sqlite3_bind_text(st, 1, who, -1, SQLITE_STATIC);
					if (sqlite3_step(st) == SQLITE_ROW)
						v = column_storage(st, 0);
					sqlite3_finalize(st);
				}
			}
		} else {
			continue;
		}
		json_decref(vals[i]);
		vals[i] = v;
	}
}

static int check_unique(emu *e, emu_object *o, json_t **vals, const char *self, emu_err *err)
{
	for (int i = 0; i < o->nfields; i++) {
		emu_field *f = &o->fields[i];
		if (!f->unique || !json_is_string(vals[i]))
			continue;
		char sql[512];
		sqlite3_stmt *st;
		snprintf(sql, sizeof sql,
			 "SELECT \"Id\" FROM \"%s\" WHERE \"%s\"=?%s AND \"Id\"!=?%s", o->name,
			 f->name, f->case_sensitive ? "" : " COLLATE NOCASE",
			 o->has_is_deleted ? " AND \"IsDeleted\"=0" : "");
		if (sqlite3_prepare_v2(e->db, sql, -1, &st, NULL))
			continue;
		sqlite3_bind_text(st, 1, json_string_value(vals[i]), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, self ? self : "", -1, SQLITE_STATIC);
		int rc = 0;
		if (sqlite3_step(st) == SQLITE_ROW)
			rc = emu_seterr(
			    err, 400, "DUPLICATE_VALUE", f->name,
			    "duplicate value found: %s duplicates value on record with id: "
			    "%s",
			    f->name, sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
		if (rc)
			return rc;
	}
	if (!strcmp(o->name, "CampaignMember")) {
		const char *c = sval(o, vals, "CampaignId"), *l = sval(o, vals, "LeadId"),
			   *ct = sval(o, vals, "ContactId");
		if (!l && !ct)
			return emu_seterr(err, 400, "REQUIRED_FIELD_MISSING", "ContactId,LeadId",
					  "Required fields are missing: [ContactId, LeadId]");
		sqlite3_stmt *st;
		if (c && !sqlite3_prepare_v2(e->db,
					     "SELECT Id FROM CampaignMember WHERE CampaignId=? AND "
					     "(LeadId=? OR ContactId=?) AND IsDeleted=0 AND Id!=?",
					     -1, &st, NULL)) {
			sqlite3_bind_text(st, 1, c, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, l ? l : "-", -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 3, ct ? ct : "-", -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 4, self ? self : "", -1, SQLITE_STATIC);
			int rc = 0;
			if (sqlite3_step(st) == SQLITE_ROW)
				rc = emu_seterr(err, 400, "DUPLICATE_VALUE", "",
						"Already a campaign member.");
			sqlite3_finalize(st);
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* Applies the client's fields to vals[]; checks names, FLS and writability. */
static int apply_input(emu *e, emu_object *o, json_t *in, json_t **vals, bool create,
		       const write_opts *w, emu_err *err)
{
	const char *key;
	json_t *v;
	buf ro = {0};
	int rc = 0;
	json_object_foreach(in, key, v)
	{
		if (!strcmp(key, "attributes"))
			continue;
		emu_field *f = object_field(o, key);
		if (!f || (!f->fls_read && !w->system)) {
			rc = emu_seterr(err, 400, "INVALID_FIELD", "",
					"No such column '%s' on sobject of type %s", key, o->name);
			goto out;
		}
		if (!strcmp(f->name, "Id") && !create)
			continue; /* collections carry the id in the body */
		bool writable = create ? f->createable : f->updateable;
		if (!w->system && (!writable || !f->fls_edit)) {
			if (ro.len)
				buf_puts(&ro, ", ");
			buf_puts(&ro, f->name);
			continue;
		}
		json_t *s;
		if (!w->system && !f->nillable && f->type != FT_BOOLEAN && json_is_null(v) &&
		    !create) {
			rc = emu_seterr(err, 400, "REQUIRED_FIELD_MISSING", f->name,
					"Required fields are missing: [%s]", f->name);
			goto out;
		}
		if (w->system && (f->type == FT_REFERENCE || f->type == FT_ID) &&
		    json_is_string(v)) {
			char id[19];
			if (id_norm(json_string_value(v), id)) {
				rc = emu_seterr(err, 400, "MALFORMED_ID", f->name,
						"%s: id value of incorrect type: %s", f->label,
						json_string_value(v));
				goto out;
			}
			s = json_string(id);
		} else if (to_storage(e, f, v, &s, err)) {
			rc = -1;
			goto out;
		}
		int i = (int)(f - o->fields);
		json_decref(vals[i]);
		vals[i] = s;
	}
	if (ro.len) {
		char fields[256];
		snprintf(fields, sizeof fields, "%s", ro.p);
		for (char *p = fields; *p; p++)
			if (*p == ' ')
				memmove(p, p + 1, strlen(p));
		rc = emu_seterr(err, 400, "INVALID_FIELD_FOR_INSERT_UPDATE", fields,
				"Unable to create/update fields: %s. Please check the security "
				"settings of this field and verify that it is read/write for your "
				"profile or permission set.",
				ro.p);
	}
out:
	buf_free(&ro);
	return rc;
}

/* Validation-rule hook (POST /__emu/validation): a rule rejects a value of a field
 * ("reject": a string, or null for "must be filled") with FIELD_CUSTOM_VALIDATION_EXCEPTION. */
/* A duplicate rule: another live record with the same value (case-insensitive). */
static bool duplicate_of(emu *e, emu_object *o, emu_field *f, json_t *v, const char *self)
{
	char sql[512];
	sqlite3_stmt *st;
	bool dup = false;
	if (!json_is_string(v))
		return false;
	snprintf(sql, sizeof sql,
		 "SELECT 1 FROM \"%s\" WHERE \"%s\"=?1 COLLATE NOCASE AND \"Id\"!=?2%s LIMIT 1",
		 o->name, f->name, o->has_is_deleted ? " AND \"IsDeleted\"=0" : "");
	if (sqlite3_prepare_v2(e->db, sql, -1, &st, NULL))
		return false;
	sqlite3_bind_text(st, 1, json_string_value(v), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, self ? self : "", -1, SQLITE_STATIC);
	dup = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	return dup;
}

static int check_rules(emu *e, emu_object *o, json_t **vals, const char *self, const write_opts *w,
		       emu_err *err)
{
	size_t i;
	json_t *rule;
	json_array_foreach(e->rules, i, rule)
	{
		const char *obj = json_string_value(json_object_get(rule, "object"));
		const char *fn = json_string_value(json_object_get(rule, "field"));
		json_t *rej = json_object_get(rule, "reject");
		const char *msg = json_string_value(json_object_get(rule, "message"));
		if (!obj || strcasecmp(obj, o->name) || !fn)
			continue;
		emu_field *f = object_field(o, fn);
		if (!f)
			continue;
		json_t *v = vals[f - o->fields];
		if (json_is_true(json_object_get(rule, "duplicates"))) {
			/* a rule that blocks, or one that alerts: the API saves past an
			 * alert only with allowSave=true */
			const char *act = json_string_value(json_object_get(rule, "action"));
			bool alert = act && !strcasecmp(act, "alert");
			if (duplicate_of(e, o, f, v, self) && !(alert && w->allow_save))
				return emu_seterr(err, 400, "DUPLICATES_DETECTED", "", "%s",
						  msg ? msg : "Use one of these records?");
			continue;
		}
		bool bad = json_is_null(rej)
			       ? (!v || json_is_null(v))
			       : (json_is_string(v) && json_is_string(rej) &&
				  !strcasecmp(json_string_value(v), json_string_value(rej)));
		if (bad)
			return emu_seterr(err, 400, "FIELD_CUSTOM_VALIDATION_EXCEPTION",
					  json_is_true(json_object_get(rule, "noFields")) ? ""
											  : f->name,
					  "%s", msg ? msg : "Validation rule failed");
	}
	return 0;
}

static int check_required(emu_object *o, json_t **vals, emu_err *err)
{
	buf miss = {0}, names = {0};
	for (int i = 0; i < o->nfields; i++) {
		emu_field *f = &o->fields[i];
		if (f->required && (!vals[i] || json_is_null(vals[i]))) {
			buf_printf(&miss, "%s%s", miss.len ? ", " : "", f->name);
			buf_printf(&names, "%s%s", names.len ? "," : "", f->name);
		}
	}
	int rc = 0;
	if (miss.len)
		rc = emu_seterr(err, 400, "REQUIRED_FIELD_MISSING", names.p,
				"Required fields are missing: [%s]", miss.p);
	buf_free(&miss);
	buf_free(&names);
	return rc;
}

static int write_row(emu *e, emu_object *o, json_t **vals, bool insert, const char *id18,
		     emu_err *err)
{
	buf b = {0};
	if (insert) {
		buf_printf(&b, "INSERT INTO \"%s\"(", o->name);
		for (int i = 0; i < o->nfields; i++)
			buf_printf(&b, "%s\"%s\"", i ? "," : "", o->fields[i].name);
		buf_puts(&b, ") VALUES(");
		for (int i = 0; i < o->nfields; i++)
			buf_puts(&b, i ? ",?" : "?");
		buf_puts(&b, ")");
	} else {
		buf_printf(&b, "UPDATE \"%s\" SET ", o->name);
		for (int i = 0; i < o->nfields; i++)
			buf_printf(&b, "%s\"%s\"=?", i ? "," : "", o->fields[i].name);
		buf_printf(&b, " WHERE \"Id\"=?");
	}
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(e->db, b.p, -1, &st, NULL);
	buf_free(&b);
	if (rc)
		return emu_seterr(err, 500, "UNKNOWN_EXCEPTION", "", "prepare: %s",
				  sqlite3_errmsg(e->db));
	for (int i = 0; i < o->nfields; i++)
		bind_storage(st, i + 1, vals[i]);
	if (!insert)
		sqlite3_bind_text(st, o->nfields + 1, id18, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return emu_seterr(err, 500, "UNKNOWN_EXCEPTION", "",
				  "An unexpected error occurred (%s).", sqlite3_errmsg(e->db));
	return 0;
}

static void stamp(emu *e, emu_object *o, json_t **vals, const write_opts *w, bool create)
{
	int64_t ts = w->ts ? w->ts : emu_now(e);
	const char *uid = w->user_id ? w->user_id : e->user_id;
	setv(o, vals, "SystemModstamp", json_integer(ts));
	if (w->touch_only)
		return;
	setv(o, vals, "LastModifiedDate", json_integer(ts));
	setv(o, vals, "LastModifiedById", json_string(uid));
	if (create) {
		int ci = fidx(o, "CreatedDate");
		if (ci >= 0 && !vals[ci])
			setv(o, vals, "CreatedDate", json_integer(ts));
		ci = fidx(o, "CreatedById");
		if (ci >= 0 && !vals[ci])
			setv(o, vals, "CreatedById", json_string(uid));
	}
}

int rec_create(emu *e, emu_object *o, json_t *fields, const write_opts *w, char id[19],
	       emu_err *err)
{
	json_t **vals = calloc((size_t)o->nfields, sizeof(json_t *));
	int rc = -1;
	if (!o->createable && !w->system) {
		emu_seterr(err, 400, "INSUFFICIENT_ACCESS_OR_READONLY", "",
			   "insufficient access rights on object id");
		goto out;
	}
	if (json_is_object(fields)) {
		json_t *attr = json_object_get(fields, "attributes");
		(void)attr;
	}
	if (apply_input(e, o, fields, vals, true, w, err))
		goto out;
	for (int i = 0; i < o->nfields; i++) {
		emu_field *f = &o->fields[i];
		if (vals[i] || json_object_get(fields, f->name))
			continue;
		if (f->default_value)
			to_storage(e, f, f->default_value, &vals[i], NULL);
		else if (f->type == FT_BOOLEAN)
			vals[i] = json_integer(0);
	}
	int oi = fidx(o, "OwnerId");
	if (oi >= 0 && !vals[oi])
		vals[oi] = json_string(w->user_id ? w->user_id : e->user_id);
	int di = fidx(o, "IsDeleted");
	if (di >= 0) {
		json_decref(vals[di]);
		vals[di] = json_integer(0);
	}
	compute(e, o, vals);
	if (check_required(o, vals, err) || (!w->system && check_rules(e, o, vals, NULL, w, err)) ||
	    (!w->skip_unique && check_unique(e, o, vals, NULL, err)))
		goto out;
	int ii = fidx(o, "Id");
	if (w->system && vals[ii]) {
		snprintf(id, 19, "%s", json_string_value(vals[ii]));
		if (rec_state(e, o, id)) {
			emu_seterr(
			    err, 400, "DUPLICATE_VALUE", "Id",
			    "duplicate value found: Id duplicates value on record with id: %s", id);
			goto out;
		}
	} else {
		store_new_id(e, o, id);
		json_decref(vals[ii]);
		vals[ii] = json_string(id);
	}
	stamp(e, o, vals, w, true);
	rc = write_row(e, o, vals, true, NULL, err);
out:
	free_vals(vals, o->nfields);
	return rc;
}

int rec_update(emu *e, emu_object *o, const char *id18, json_t *fields, const write_opts *w,
	       emu_err *err)
{
	json_t **vals = calloc((size_t)o->nfields, sizeof(json_t *));
	int rc = -1;
	if (load_row(e, o, id18, vals)) {
		if (e->cfg.patch_missing_xref)
			emu_seterr(err, 400, "INVALID_CROSS_REFERENCE_KEY", "",
				   "invalid cross reference id");
		else
			emu_seterr(err, 404, "NOT_FOUND", "",
				   "The requested resource does not exist");
		goto out;
	}
	int di = fidx(o, "IsDeleted");
	if (di >= 0 && json_integer_value(vals[di])) {
		emu_seterr(err, 404, "ENTITY_IS_DELETED", "", "entity is deleted");
		goto out;
	}
	int ci = fidx(o, "IsConverted");
	if (!strcmp(o->name, "Lead") && ci >= 0 && json_integer_value(vals[ci]) &&
	    !w->allow_converted) {
		emu_seterr(err, 400, "CANNOT_UPDATE_CONVERTED_LEAD", "", "%s",
			   e->cfg.converted_msg);
		goto out;
	}
	if (!w->touch_only) {
		if (apply_input(e, o, fields, vals, false, w, err))
			goto out;
		compute(e, o, vals);
		if (check_required(o, vals, err) ||
		    (!w->system && check_rules(e, o, vals, id18, w, err)) ||
		    (!w->skip_unique && check_unique(e, o, vals, id18, err)))
			goto out;
	}
	stamp(e, o, vals, w, false);
	rc = write_row(e, o, vals, false, id18, err);
out:
	free_vals(vals, o->nfields);
	return rc;
}

int rec_touch(emu *e, emu_object *o, const char *id18, int64_t ts)
{
	write_opts w = {.system = true, .touch_only = true, .ts = ts, .allow_converted = true};
	emu_err err;
	return rec_update(e, o, id18, NULL, &w, &err);
}

static int set_deleted(emu *e, emu_object *o, const char *id18, bool del, const char *master,
		       const write_opts *w, emu_err *err)
{
	int st = rec_state(e, o, id18);
	if (!st)
		return emu_seterr(err, 404, "NOT_FOUND", "",
				  "The requested resource does not exist");
	if (!o->has_is_deleted || (!o->deletable && !w->system))
		return emu_seterr(err, 400, "INSUFFICIENT_ACCESS_OR_READONLY", "",
				  "insufficient access rights on object id");
	if (del && st == 2)
		return emu_seterr(err, 404, "ENTITY_IS_DELETED", "", "entity is deleted");
	if (!del && st == 1)
		return emu_seterr(err, 400, "UNDELETE_FAILED", "",
				  "Entity is not in the recycle bin");
	int64_t ts = w->ts ? w->ts : emu_now(e);
	char sql[512];
	sqlite3_stmt *s;
	snprintf(sql, sizeof sql,
		 "UPDATE \"%s\" SET \"IsDeleted\"=?1, \"_DeletedDate\"=?2, \"SystemModstamp\"=?3, "
		 "\"LastModifiedDate\"=?3, \"LastModifiedById\"=?4%s WHERE \"Id\"=?5",
		 o->name, object_field(o, "MasterRecordId") ? ", \"MasterRecordId\"=?6" : "");
	if (sqlite3_prepare_v2(e->db, sql, -1, &s, NULL))
		return emu_seterr(err, 500, "UNKNOWN_EXCEPTION", "", "%s", sqlite3_errmsg(e->db));
	sqlite3_bind_int(s, 1, del);
	if (del)
		sqlite3_bind_int64(s, 2, ts);
	sqlite3_bind_int64(s, 3, ts);
	sqlite3_bind_text(s, 4, w->user_id ? w->user_id : e->user_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, id18, -1, SQLITE_STATIC);
	if (master)
		sqlite3_bind_text(s, 6, master, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : emu_seterr(err, 500, "UNKNOWN_EXCEPTION", "", "step failed");
}

/* Children an org deletes with their parent (and restores with it). */
static const struct cascade {
	const char *parent, *child, *field;
} cascades[] = {
    {"Account", "Contact", "AccountId"},
    {"Account", "Opportunity", "AccountId"},
    {"Contact", "CampaignMember", "ContactId"},
    {"Contact", "OpportunityContactRole", "ContactId"},
    {"Lead", "CampaignMember", "LeadId"},
    {"Campaign", "CampaignMember", "CampaignId"},
    {"Opportunity", "OpportunityContactRole", "OpportunityId"},
};

bool store_cascades(const char *parent, const char *child, const char *field)
{
	for (size_t i = 0; i < sizeof cascades / sizeof *cascades; i++)
		if (!strcmp(cascades[i].parent, parent) && !strcmp(cascades[i].child, child) &&
		    !strcmp(cascades[i].field, field))
			return true;
	return false;
}

/* Deletes (or, on undelete, restores the rows deleted at the same instant) the
 * children of id18. */
static void cascade(emu *e, emu_object *o, const char *id18, bool del, int64_t ts,
		    const write_opts *w, int depth)
{
	if (depth > 3 || !e->cfg.cascade_deletes)
		return;
	for (size_t i = 0; i < sizeof cascades / sizeof *cascades; i++) {
		if (strcmp(cascades[i].parent, o->name))
			continue;
		emu_object *c = schema_object(&e->schema, cascades[i].child);
		if (!c || !c->has_is_deleted || !object_field(c, cascades[i].field))
			continue;
		char sql[512];
		sqlite3_stmt *st;
		snprintf(sql, sizeof sql,
			 "SELECT \"Id\" FROM \"%s\" WHERE \"%s\"=?1 AND \"IsDeleted\"=%d%s",
			 c->name, cascades[i].field, del ? 0 : 1,
			 del ? "" : " AND \"_DeletedDate\"=?2");
		if (sqlite3_prepare_v2(e->db, sql, -1, &st, NULL))
			continue;
		sqlite3_bind_text(st, 1, id18, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, ts);
		json_t *ids = json_array();
		while (sqlite3_step(st) == SQLITE_ROW)
			json_array_append_new(
			    ids, json_string((const char *)sqlite3_column_text(st, 0)));
		sqlite3_finalize(st);
		size_t k;
		json_t *v;
		json_array_foreach(ids, k, v)
		{
			emu_err err;
			write_opts w2 = *w;
			w2.ts = del ? ts : w->ts;
			w2.system = true;
			if (!set_deleted(e, c, json_string_value(v), del, NULL, &w2, &err))
				cascade(e, c, json_string_value(v), del, ts, w, depth + 1);
		}
		json_decref(ids);
	}
}

static int64_t deleted_date(emu *e, emu_object *o, const char *id18)
{
	char sql[256];
	sqlite3_stmt *st;
	int64_t ts = 0;
	snprintf(sql, sizeof sql, "SELECT \"_DeletedDate\" FROM \"%s\" WHERE \"Id\"=?", o->name);
	if (sqlite3_prepare_v2(e->db, sql, -1, &st, NULL))
		return 0;
	sqlite3_bind_text(st, 1, id18, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		ts = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return ts;
}

int rec_delete(emu *e, emu_object *o, const char *id18, const write_opts *w, emu_err *err)
{
	write_opts w2 = *w;
	if (!w2.ts)
		w2.ts = emu_now(e);
	if (set_deleted(e, o, id18, true, NULL, &w2, err))
		return -1;
	cascade(e, o, id18, true, w2.ts, &w2, 0);
	return 0;
}

int rec_undelete(emu *e, emu_object *o, const char *id18, const write_opts *w, emu_err *err)
{
	int64_t when = deleted_date(e, o, id18);
	if (set_deleted(e, o, id18, false, NULL, w, err))
		return -1;
	cascade(e, o, id18, false, when, w, 0);
	return 0;
}

int rec_find_by(emu *e, emu_object *o, emu_field *f, const char *v, char ids[][19], int max)
{
	char sql[512];
	sqlite3_stmt *st;
	snprintf(sql, sizeof sql, "SELECT \"Id\" FROM \"%s\" WHERE \"%s\"=?%s%s ORDER BY rowid",
		 o->name, f->name,
		 (f->case_sensitive || f->type == FT_ID || f->type == FT_REFERENCE)
		     ? ""
		     : " COLLATE NOCASE",
		 o->has_is_deleted ? " AND \"IsDeleted\"=0" : "");
	if (sqlite3_prepare_v2(e->db, sql, -1, &st, NULL))
		return 0;
	sqlite3_bind_text(st, 1, v, -1, SQLITE_STATIC);
	if (f->type == FT_INT)
		sqlite3_bind_int64(st, 1, strtoll(v, NULL, 10));
	int n = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (n < max)
			snprintf(ids[n], 19, "%s", sqlite3_column_text(st, 0));
		n++;
	}
	sqlite3_finalize(st);
	return n;
}

int rec_emit(emu *e, req *r, emu_object *o, const char *id18, json_t *fields, bool include_deleted,
	     buf *out, emu_err *err)
{
	emu_field **fl = calloc((size_t)o->nfields, sizeof(emu_field *));
	int nf = 0, rc = -1;
	if (fields && json_array_size(fields)) {
		size_t i;
		json_t *v;
		json_array_foreach(fields, i, v)
		{
			emu_field *f = object_readable_field(o, json_string_value(v));
			if (!f) {
				emu_seterr(
				    err, 400, "INVALID_FIELD", "",
				    "No such column '%s' on entity '%s'. If you are attempting "
				    "to use a custom field, be sure to append the '__c' after "
				    "the custom field name. Please reference your WSDL or the "
				    "describe call for the appropriate names.",
				    json_string_value(v), o->name);
				goto out;
			}
			bool dup = false;
			for (int k = 0; k < nf; k++)
				dup |= fl[k] == f;
			if (!dup && nf < o->nfields)
				fl[nf++] = f;
		}
	} else {
		for (int i = 0; i < o->nfields; i++)
			if (o->fields[i].fls_read)
				fl[nf++] = &o->fields[i];
	}
	buf q = {0};
	buf_printf(&q, "SELECT %s", o->has_is_deleted ? "\"IsDeleted\"" : "0");
	for (int i = 0; i < nf; i++)
		buf_printf(&q, ",\"%s\"", fl[i]->name);
	buf_printf(&q, " FROM \"%s\" WHERE \"Id\"=?", o->name);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(e->db, q.p, -1, &st, NULL)) {
		buf_free(&q);
		emu_seterr(err, 500, "UNKNOWN_EXCEPTION", "", "%s", sqlite3_errmsg(e->db));
		goto out;
	}
	buf_free(&q);
	sqlite3_bind_text(st, 1, id18, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		emu_seterr(err, 404, "NOT_FOUND", "", "The requested resource does not exist");
	} else if (sqlite3_column_int(st, 0) && !include_deleted) {
		if (e->cfg.deleted_get_code)
			emu_seterr(err, 404, "ENTITY_IS_DELETED", "", "entity is deleted");
		else
			emu_seterr(err, 404, "NOT_FOUND", "",
				   "The requested resource does not exist");
	} else {
		buf_printf(out,
			   "{\"attributes\":{\"type\":\"%s\",\"url\":\"/services/data/v%s/sobjects/"
			   "%s/%s\"}",
			   o->name, r && r->version ? r->version : "59.0", o->name, id18);
		for (int i = 0; i < nf; i++) {
			buf_printf(out, ",\"%s\":", fl[i]->name);
			emit_value(out, fl[i], st, i + 1);
		}
		buf_putc(out, '}');
		rc = 0;
	}
	sqlite3_finalize(st);
out:
	free(fl);
	return rc;
}

/* ---- recycle bin, merge, conversion ---- */

int store_purge(emu *e, emu_object *o, int64_t older_than_ms)
{
	int total = 0;
	for (int i = 0; i < e->schema.nobjs; i++) {
		emu_object *x = &e->schema.objs[i];
		if ((o && o != x) || !x->has_is_deleted)
			continue;
		char sql[512];
		sqlite3_stmt *st;
		snprintf(sql, sizeof sql,
			 "DELETE FROM \"%s\" WHERE \"IsDeleted\"=1 AND \"_DeletedDate\"<?1 "
			 "RETURNING \"_DeletedDate\"",
			 x->name);
		if (sqlite3_prepare_v2(e->db, sql, -1, &st, NULL))
			continue;
		sqlite3_bind_int64(st, 1, older_than_ms);
		int64_t newest = 0;
		int n = 0;
		while (sqlite3_step(st) == SQLITE_ROW) {
			int64_t d = sqlite3_column_int64(st, 0);
			if (d > newest)
				newest = d;
			n++;
		}
		sqlite3_finalize(st);
		/* an explicit purge moves earliestDateAvailable to the purge time */
		int64_t mark = older_than_ms == INT64_MAX ? emu_now(e) : newest;
		if (mark && (n || older_than_ms == INT64_MAX)) {
			snprintf(
			    sql, sizeof sql,
			    "INSERT INTO _purge VALUES(?1,?2) ON CONFLICT(object) DO UPDATE SET "
			    "ts=max(ts,excluded.ts)");
			if (!sqlite3_prepare_v2(e->db, sql, -1, &st, NULL)) {
				sqlite3_bind_text(st, 1, x->name, -1, SQLITE_STATIC);
				sqlite3_bind_int64(st, 2, mark);
				sqlite3_step(st);
				sqlite3_finalize(st);
			}
		}
		total += n;
	}
	return total;
}

/* Points every lookup to `from` (of type o) at `to`, bumping the children's stamps. */
static void reparent(emu *e, emu_object *o, const char *from, const char *to, int64_t ts,
		     const char *uid)
{
	for (int i = 0; i < e->schema.nobjs; i++) {
		emu_object *c = &e->schema.objs[i];
		for (int k = 0; k < c->nfields; k++) {
			emu_field *f = &c->fields[k];
			if (f->type != FT_REFERENCE || f->is_system ||
			    !strcmp(f->name, "MasterRecordId"))
				continue;
			bool points = false;
			for (int r = 0; r < f->nref; r++)
				points |= !strcmp(f->reference_to[r], o->name);
			if (!points)
				continue;
			char sql[512];
			sqlite3_stmt *st;
			snprintf(sql, sizeof sql,
				 "UPDATE \"%s\" SET \"%s\"=?1, \"SystemModstamp\"=?2, "
				 "\"LastModifiedDate\"=?2, \"LastModifiedById\"=?4 WHERE \"%s\"=?3",
				 c->name, f->name, f->name);
			if (sqlite3_prepare_v2(e->db, sql, -1, &st, NULL))
				continue;
			sqlite3_bind_text(st, 1, to, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, ts);
			sqlite3_bind_text(st, 3, from, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 4, uid, -1, SQLITE_STATIC);
			sqlite3_step(st);
			sqlite3_finalize(st);
		}
	}
}

int rec_merge(emu *e, emu_object *o, const char *master, json_t *losers, const write_opts *w,
	      emu_err *err)
{
	if (!o->mergeable)
		return emu_seterr(err, 400, "INVALID_TYPE", "", "Cannot merge %s records", o->name);
	if (rec_state(e, o, master) != 1)
		return emu_seterr(err, 400, "INVALID_CROSS_REFERENCE_KEY", "",
				  "invalid cross reference id");
	if (!json_array_size(losers) || json_array_size(losers) > 2)
		return emu_seterr(err, 400, "INVALID_FIELD", "",
				  "A merge needs one or two records to merge into the master");
	int64_t ts = w->ts ? w->ts : emu_now(e);
	const char *uid = w->user_id ? w->user_id : e->user_id;
	size_t i;
	json_t *v;
	json_array_foreach(losers, i, v)
	{
		char id[19];
		if (id_norm(json_string_value(v), id) || !strcmp(id, master) ||
		    rec_state(e, o, id) != 1)
			return emu_seterr(err, 400, "INVALID_CROSS_REFERENCE_KEY", "",
					  "invalid cross reference id");
	}
	emu_db_exec(e, "SAVEPOINT merge");
	json_array_foreach(losers, i, v)
	{
		char id[19];
		id_norm(json_string_value(v), id);
		reparent(e, o, id, master, ts, uid);
		write_opts w2 = *w;
		w2.ts = ts;
		if (set_deleted(e, o, id, true, master, &w2, err)) {
			emu_db_exec(e, "ROLLBACK TO merge; RELEASE merge");
			return -1;
		}
	}
	write_opts w3 = *w;
	w3.ts = ts;
	w3.system = true;
	json_t *none = json_object();
	int rc = rec_update(e, o, master, none, &w3, err);
	json_decref(none);
	emu_db_exec(e, rc ? "ROLLBACK TO merge; RELEASE merge" : "RELEASE merge");
	return rc;
}

static json_t *lead_field(emu *e, const char *lead, const char *name)
{
	char sql[256];
	sqlite3_stmt *st;
	json_t *v = NULL;
	snprintf(sql, sizeof sql, "SELECT \"%s\" FROM Lead WHERE Id=?", name);
	if (sqlite3_prepare_v2(e->db, sql, -1, &st, NULL))
		return NULL;
	sqlite3_bind_text(st, 1, lead, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = column_storage(st, 0);
	sqlite3_finalize(st);
	return v;
}

int rec_convert_lead(emu *e, json_t *in, const write_opts *w, json_t **out, emu_err *err)
{
	emu_object *lo = schema_object(&e->schema, "Lead"),
		   *ao = schema_object(&e->schema, "Account"),
		   *co = schema_object(&e->schema, "Contact"),
		   *oo = schema_object(&e->schema, "Opportunity");
	char lead[19], acc[19] = "", con[19] = "", opp[19] = "";
	const char *s = json_string_value(json_object_get(in, "leadId"));
	if (!lo || !ao || !co || !s || id_norm(s, lead) || rec_state(e, lo, lead) != 1)
		return emu_seterr(err, 400, "INVALID_CROSS_REFERENCE_KEY", "leadId",
				  "invalid cross reference id");
	json_t *conv = lead_field(e, lead, "IsConverted");
	bool already = json_integer_value(conv);
	json_decref(conv);
	if (already)
		return emu_seterr(err, 400, "CANNOT_UPDATE_CONVERTED_LEAD", "", "%s",
				  e->cfg.converted_msg);
	int64_t ts = w->ts ? w->ts : emu_now(e);
	write_opts w2 = *w;
	w2.ts = ts;
	w2.system = true;
	emu_db_exec(e, "SAVEPOINT conv");
	int rc = -1;
	json_t *company = lead_field(e, lead, "Company"), *fn = lead_field(e, lead, "FirstName"),
	       *ln = lead_field(e, lead, "LastName"), *em = lead_field(e, lead, "Email"),
	       *ph = lead_field(e, lead, "Phone"), *ti = lead_field(e, lead, "Title"),
	       *src = lead_field(e, lead, "LeadSource");
	const char *a = json_string_value(json_object_get(in, "accountId"));
	if (a) {
		if (id_norm(a, acc) || rec_state(e, ao, acc) != 1) {
			emu_seterr(err, 400, "INVALID_CROSS_REFERENCE_KEY", "accountId",
				   "invalid cross reference id");
			goto out;
		}
	} else {
		json_t *f = json_pack("{s:O}", "Name", company ? company : json_null());
		rc = rec_create(e, ao, f, &w2, acc, err);
		json_decref(f);
		if (rc)
			goto out;
		rc = -1;
	}
	const char *c = json_string_value(json_object_get(in, "contactId"));
	if (c) {
		if (id_norm(c, con) || rec_state(e, co, con) != 1) {
			emu_seterr(err, 400, "INVALID_CROSS_REFERENCE_KEY", "contactId",
				   "invalid cross reference id");
			goto out;
		}
	} else {
		json_t *f = json_pack("{s:O?,s:O?,s:O?,s:O?,s:O?,s:O?,s:s}", "FirstName", fn,
				      "LastName", ln, "Email", em, "Phone", ph, "Title", ti,
				      "LeadSource", src, "AccountId", acc);
		rc = rec_create(e, co, f, &w2, con, err);
		json_decref(f);
		if (rc)
			goto out;
		rc = -1;
	}
	if (oo && !json_is_true(json_object_get(in, "doNotCreateOpportunity"))) {
		char close[16];
		fmt_date(ts + 30 * DAY_MS, close);
		const char *on = json_string_value(json_object_get(in, "opportunityName"));
		buf nb = {0};
		buf_printf(&nb, "%s-",
			   json_string_value(company) ? json_string_value(company) : "");
		json_t *f = json_pack("{s:s,s:s,s:s,s:s}", "Name", on ? on : nb.p, "StageName",
				      "Prospecting", "CloseDate", close, "AccountId", acc);
		buf_free(&nb);
		rc = rec_create(e, oo, f, &w2, opp, err);
		json_decref(f);
		if (rc)
			goto out;
		rc = -1;
	}
	char today[16];
	fmt_date(ts, today);
	const char *status = json_string_value(json_object_get(in, "convertedStatus"));
	json_t *upd =
	    json_pack("{s:b,s:s,s:s,s:s,s:s,s:s}", "IsConverted", 1, "ConvertedDate", today,
		      "ConvertedAccountId", acc, "ConvertedContactId", con, "Status",
		      status ? status : "Closed - Converted", "ConvertedOpportunityId", opp);
	if (!*opp)
		json_object_set_new(upd, "ConvertedOpportunityId", json_null());
	rc = rec_update(e, lo, lead, upd, &w2, err);
	json_decref(upd);
	if (!rc) {
		/* the lead's campaign memberships and activities follow the contact */
		char sql[256];
		sqlite3_stmt *st;
		snprintf(sql, sizeof sql,
			 "UPDATE Task SET WhoId=?1, SystemModstamp=?3, LastModifiedDate=?3 WHERE "
			 "WhoId=?2");
		if (!sqlite3_prepare_v2(e->db, sql, -1, &st, NULL)) {
			sqlite3_bind_text(st, 1, con, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, lead, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 3, ts);
			sqlite3_step(st);
			sqlite3_finalize(st);
		}
		*out = json_pack("{s:s,s:s,s:s,s:s?}", "leadId", lead, "accountId", acc,
				 "contactId", con, "opportunityId", *opp ? opp : NULL);
	}
out:
	json_decref(company);
	json_decref(fn);
	json_decref(ln);
	json_decref(em);
	json_decref(ph);
	json_decref(ti);
	json_decref(src);
	emu_db_exec(e, rc ? "ROLLBACK TO conv; RELEASE conv" : "RELEASE conv");
	return rc;
}
