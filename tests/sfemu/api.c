/*
 * api.c - the data API under /services/data/vNN.N: versions, resources,
 * limits, describe, single records, external ids, getUpdated/getDeleted,
 * sObject collections and composite requests. Query lives in query.c.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "sfemu.h"

#define MINUTE_MS 60000LL
#define DAY_MS 86400000LL

static void api_dispatch(emu *e, req *r, resp *rs, const char *rest);

void api_count(emu *e, const char *endpoint)
{
	if (e->in_composite)
		return;
	json_t *v = json_object_get(e->stats, endpoint);
	json_object_set_new(e->stats, endpoint, json_integer(json_integer_value(v) + 1));
}

static bool seg_eq(const char *p, const char *word)
{
	size_t n = strlen(word);
	return !strncmp(p, word, n) && (p[n] == 0 || (p[n] == '/' && p[n + 1] == 0));
}

static const char *release_name(int v, char *out, size_t n)
{
	static const char *season[] = {"Winter", "Spring", "Summer"};
	int k = v - 59;
	int q = k >= 0 ? k / 3 : -((-k + 2) / 3);
	int rr = k - q * 3;
	snprintf(out, n, "%s '%02d", season[rr], 24 + q);
	return out;
}

void versions_handle(emu *e, req *r, resp *rs)
{
	(void)e;
	(void)r;
	json_t *a = json_array();
	for (int v = API_MIN; v <= API_MAX; v++) {
		char label[32], url[64], ver[16];
		snprintf(url, sizeof url, "/services/data/v%d.0", v);
		snprintf(ver, sizeof ver, "%d.0", v);
		json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "label",
						   release_name(v, label, sizeof label), "url", url,
						   "version", ver));
	}
	resp_json(rs, 200, a);
}

static json_t *parse_body(req *r, resp *rs)
{
	json_error_t je;
	json_t *j = json_loadb(r->body, r->body_len, 0, &je);
	if (!j) {
		char msg[512];
		snprintf(msg, sizeof msg, "%s at [line:%d, column:%d]", je.text, je.line,
			 je.column);
		resp_err(rs, 400, "JSON_PARSER_ERROR", msg);
	}
	return j;
}

/* ---- describe ---- */

static json_t *object_entry(emu *e, req *r, emu_object *o)
{
	(void)e;
	char u1[160], u2[180], u3[180];
	snprintf(u1, sizeof u1, "/services/data/v%s/sobjects/%s", r->version, o->name);
	snprintf(u2, sizeof u2, "%s/describe", u1);
	snprintf(u3, sizeof u3, "%s/{ID}", u1);
	json_t *j = json_object();
	json_object_set_new(j, "activateable", json_false());
	json_object_set_new(j, "createable", json_boolean(o->createable));
	json_object_set_new(j, "custom", json_boolean(o->custom));
	json_object_set_new(j, "customSetting", json_false());
	json_object_set_new(j, "deletable", json_boolean(o->deletable));
	json_object_set_new(j, "deprecatedAndHidden", json_false());
	json_object_set_new(j, "feedEnabled", json_false());
	json_object_set_new(j, "keyPrefix", json_string(o->key_prefix));
	json_object_set_new(j, "label", json_string(o->label));
	json_object_set_new(j, "labelPlural", json_string(o->label_plural));
	json_object_set_new(j, "layoutable", json_boolean(o->layoutable));
	json_object_set_new(j, "mergeable", json_boolean(o->mergeable));
	json_object_set_new(j, "mruEnabled", json_false());
	json_object_set_new(j, "name", json_string(o->name));
	json_object_set_new(j, "queryable", json_boolean(o->queryable));
	json_object_set_new(j, "replicateable", json_boolean(o->replicateable));
	json_object_set_new(j, "retrieveable", json_true());
	json_object_set_new(j, "searchable", json_boolean(o->searchable));
	json_object_set_new(j, "triggerable", json_boolean(o->triggerable));
	json_object_set_new(j, "undeletable", json_boolean(o->undeletable));
	json_object_set_new(j, "updateable", json_boolean(o->updateable));
	json_object_set_new(
	    j, "urls",
	    json_pack("{s:s,s:s,s:s}", "sobject", u1, "describe", u2, "rowTemplate", u3));
	return j;
}

static const char *soap_type(ftype t)
{
	switch (t) {
	case FT_ID:
	case FT_REFERENCE:
		return "tns:ID";
	case FT_BOOLEAN:
		return "xsd:boolean";
	case FT_INT:
		return "xsd:int";
	case FT_DOUBLE:
	case FT_CURRENCY:
	case FT_PERCENT:
		return "xsd:double";
	case FT_DATE:
		return "xsd:date";
	case FT_DATETIME:
		return "xsd:dateTime";
	default:
		return "xsd:string";
	}
}

static json_t *field_entry(emu_field *f)
{
	bool text = f->type != FT_ID && f->type != FT_REFERENCE && f->type != FT_BOOLEAN &&
		    f->type != FT_INT && f->type != FT_DOUBLE && f->type != FT_CURRENCY &&
		    f->type != FT_PERCENT && f->type != FT_DATE && f->type != FT_DATETIME;
	json_t *j = json_object();
	json_t *refs = json_array(), *picks = json_array();
	for (int i = 0; i < f->nref; i++)
		json_array_append_new(refs, json_string(f->reference_to[i]));
	for (int i = 0; i < f->npick; i++)
		json_array_append_new(
		    picks, json_pack("{s:b,s:b,s:s,s:n,s:s}", "active", 1, "defaultValue",
				     f->pick_default && !strcmp(f->pick_default, f->pick[i]),
				     "label", f->pick[i], "validFor", "value", f->pick[i]));
	int len = (f->type == FT_ID || f->type == FT_REFERENCE || text) ? f->length : 0;
	json_object_set_new(j, "aggregatable", json_boolean(f->type != FT_TEXTAREA));
	json_object_set_new(j, "autoNumber", json_boolean(f->auto_number));
	json_object_set_new(j, "byteLength",
			    json_integer(text						 ? 3 * len
					 : (f->type == FT_ID || f->type == FT_REFERENCE) ? 18
											 : 0));
	json_object_set_new(j, "calculated", json_boolean(f->calculated || f->computed));
	json_object_set_new(j, "cascadeDelete", json_false());
	json_object_set_new(j, "caseSensitive", json_boolean(f->case_sensitive));
	json_object_set_new(j, "compoundFieldName", json_null());
	json_object_set_new(j, "createable", json_boolean(f->createable && f->fls_edit));
	json_object_set_new(j, "custom", json_boolean(f->custom));
	json_object_set_new(j, "defaultValue",
			    f->default_value && !json_is_string(f->default_value)
				? json_incref(f->default_value)
				: json_null());
	json_object_set_new(j, "defaultedOnCreate", json_boolean(f->defaulted));
	json_object_set_new(j, "dependentPicklist", json_false());
	json_object_set_new(j, "deprecatedAndHidden", json_false());
	json_object_set_new(j, "digits", json_integer(f->digits));
	json_object_set_new(j, "externalId", json_boolean(f->external_id));
	json_object_set_new(j, "filterable", json_boolean(f->filterable));
	json_object_set_new(j, "groupable", json_boolean(f->groupable));
	json_object_set_new(j, "htmlFormatted", json_false());
	json_object_set_new(j, "idLookup", json_boolean(f->id_lookup));
	json_object_set_new(j, "inlineHelpText", json_null());
	json_object_set_new(j, "label", json_string(f->label));
	json_object_set_new(j, "length", json_integer(len));
	json_object_set_new(j, "name", json_string(f->name));
	json_object_set_new(j, "nameField", json_boolean(f->name_field));
	json_object_set_new(j, "nillable", json_boolean(f->nillable));
	json_object_set_new(j, "permissionable", json_boolean(f->nillable && !f->is_system));
	json_object_set_new(j, "picklistValues", picks);
	json_object_set_new(j, "polymorphicForeignKey", json_boolean(f->polymorphic));
	json_object_set_new(j, "precision", json_integer(f->precision));
	json_object_set_new(j, "referenceTo", refs);
	json_object_set_new(j, "relationshipName",
			    f->relationship ? json_string(f->relationship) : json_null());
	json_object_set_new(j, "restrictedPicklist", json_boolean(f->restricted));
	json_object_set_new(j, "scale", json_integer(f->scale));
	json_object_set_new(j, "soapType", json_string(soap_type(f->type)));
	json_object_set_new(j, "sortable", json_boolean(f->sortable));
	json_object_set_new(j, "type", json_string(ftype_name(f->type)));
	json_object_set_new(j, "unique", json_boolean(f->unique));
	json_object_set_new(j, "updateable", json_boolean(f->updateable && f->fls_edit));
	return j;
}

static json_t *child_relationships(emu *e, emu_object *o)
{
	json_t *a = json_array();
	for (int i = 0; i < e->schema.nobjs; i++) {
		emu_object *c = &e->schema.objs[i];
		int nfrom = 0;
		for (int k = 0; k < c->nfields; k++) {
			emu_field *f = &c->fields[k];
			if (f->type != FT_REFERENCE || f->is_system)
				continue;
			for (int rr = 0; rr < f->nref; rr++)
				if (!strcmp(f->reference_to[rr], o->name))
					nfrom++;
		}
		for (int k = 0; k < c->nfields; k++) {
			emu_field *f = &c->fields[k];
			if (f->type != FT_REFERENCE || f->is_system || !f->fls_read)
				continue;
			bool to = false;
			for (int rr = 0; rr < f->nref; rr++)
				to |= !strcmp(f->reference_to[rr], o->name);
			if (!to)
				continue;
			json_t *rel = json_null();
			if (nfrom == 1 || !strcmp(f->name, "AccountId") ||
			    !strcmp(f->name, "WhoId") || !strcmp(f->name, "WhatId")) {
				buf b = {0};
				for (const char *p = c->label_plural; *p; p++)
					if (*p != ' ' && *p != '-')
						buf_putc(&b, *p);
				if (c->custom)
					buf_puts(&b, "__r");
				rel = json_string(b.p);
				buf_free(&b);
			}
			json_array_append_new(
			    a, json_pack("{s:b,s:s,s:b,s:s,s:o,s:b}", "cascadeDelete",
					 store_cascades(o->name, c->name, f->name), "childSObject",
					 c->name, "deprecatedAndHidden", 0, "field", f->name,
					 "relationshipName", rel, "restrictedDelete", 0));
		}
	}
	return a;
}

static bool not_modified(emu *e, req *r, resp *rs)
{
	char lm[64];
	time_t t = (time_t)(e->schema.changed_ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(lm, sizeof lm, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	snprintf(rs->last_modified, sizeof rs->last_modified, "%s", lm);
	const char *ims = req_header(r, "If-Modified-Since");
	if (!ims)
		return false;
	struct tm it = {0};
	if (!strptime(ims, "%a, %d %b %Y %H:%M:%S", &it))
		return false;
	/* HTTP dates have whole seconds: modified means in a later second */
	int64_t since = (int64_t)timegm(&it);
	if (e->schema.changed_ms / 1000 <= since) {
		rs->status = 304;
		return true;
	}
	return false;
}

static void describe_global(emu *e, req *r, resp *rs)
{
	if (not_modified(e, r, rs))
		return;
	json_t *a = json_array();
	for (int i = 0; i < e->schema.nobjs; i++)
		if (e->schema.objs[i].readable)
			json_array_append_new(a, object_entry(e, r, &e->schema.objs[i]));
	resp_json(
	    rs, 200,
	    json_pack("{s:s,s:i,s:o}", "encoding", "UTF-8", "maxBatchSize", 200, "sobjects", a));
}

static void describe_object(emu *e, req *r, resp *rs, emu_object *o)
{
	if (not_modified(e, r, rs))
		return;
	json_t *j = object_entry(e, r, o);
	json_t *fields = json_array();
	for (int i = 0; i < o->nfields; i++)
		if (o->fields[i].fls_read)
			json_array_append_new(fields, field_entry(&o->fields[i]));
	json_object_set_new(j, "fields", fields);
	json_object_set_new(j, "childRelationships", child_relationships(e, o));
	json_object_set_new(j, "recordTypeInfos",
			    json_pack("[{s:b,s:b,s:b,s:s,s:b,s:s,s:s}]", "active", 1, "available",
				      1, "defaultRecordTypeMapping", 1, "name", "Master", "master",
				      1, "recordTypeId", "012000000000000AAA", "developerName",
				      "Master"));
	json_object_set_new(j, "namedLayoutInfos", json_array());
	json_object_set_new(j, "supportedScopes", json_array());
	resp_json(rs, 200, j);
}

/* ---- limits ---- */

static void limits_handle(emu *e, resp *rs)
{
	long rem = e->api_max - e->api_used;
	if (rem < 0)
		rem = 0;
	resp_json(rs, 200,
		  json_pack("{s:{s:i,s:i},s:{s:I,s:I},s:{s:i,s:i},s:{s:i,s:i},s:{s:i,s:i},"
			    "s:{s:i,s:i}}",
			    "ConcurrentAsyncGetReportInstances", "Max", 200, "Remaining", 200,
			    "DailyApiRequests", "Max", (json_int_t)e->api_max, "Remaining",
			    (json_int_t)rem, "DailyBulkApiBatches", "Max", 15000, "Remaining",
			    15000, "DailyBulkV2QueryJobs", "Max", 10000, "Remaining", 10000,
			    "DataStorageMB", "Max", 1024, "Remaining", 1000, "FileStorageMB", "Max",
			    1024, "Remaining", 1024));
}

/* ---- single records ---- */

static void success_body(resp *rs, int status, const char *id, int created)
{
	json_t *j = json_pack("{s:s,s:b,s:[]}", "id", id, "success", 1, "errors");
	if (created >= 0)
		json_object_set_new(j, "created", json_boolean(created));
	resp_json(rs, status, j);
}

static json_t *split_fields(const char *s)
{
	if (!s)
		return NULL;
	json_t *a = json_array();
	char *tmp = strdup(s);
	for (char *save = NULL, *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		while (*t == ' ')
			t++;
		if (*t)
			json_array_append_new(a, json_string(t));
	}
	free(tmp);
	return a;
}

static void get_record(emu *e, req *r, resp *rs, emu_object *o, const char *id)
{
	json_t *fields = split_fields(req_arg(r, "fields"));
	emu_err err;
	buf out = {0};
	if (rec_emit(e, r, o, id, fields, false, &out, &err)) {
		resp_error(rs, &err);
		buf_free(&out);
	} else {
		buf_free(&rs->body);
		rs->body = out;
		rs->status = 200;
	}
	json_decref(fields);
}

static bool body_object(req *r, resp *rs, json_t **j)
{
	*j = parse_body(r, rs);
	if (!*j)
		return false;
	if (!json_is_object(*j)) {
		json_decref(*j);
		*j = NULL;
		resp_err(rs, 400, "JSON_PARSER_ERROR",
			 "Cannot deserialize instance of sObject from START_ARRAY value");
		return false;
	}
	return true;
}

static void ext_not_found(resp *rs, const char *seg)
{
	char msg[512];
	snprintf(msg, sizeof msg,
		 "Provided external ID field does not exist or is not accessible: %.300s", seg);
	resp_err(rs, 404, "NOT_FOUND", msg);
}

static void multiple_choices(emu *e, req *r, resp *rs, emu_object *o, emu_field *f, const char *v)
{
	char ids[50][19];
	int n = rec_find_by(e, o, f, v, ids, 50);
	json_t *a = json_array();
	for (int i = 0; i < n && i < 50; i++) {
		char u[1200];
		snprintf(u, sizeof u, "/services/data/v%s/sobjects/%s/%s", r->version, o->name,
			 ids[i]);
		json_array_append_new(a, json_string(u));
	}
	resp_json(rs, 300, a);
}

/* What an API write's headers ask of it: Sforce-Duplicate-Rule-Header
 * "allowSave=true" saves a record a duplicate rule only alerts on. */
static write_opts api_write_opts(req *r)
{
	write_opts w = {0};
	const char *h = req_header(r, "Sforce-Duplicate-Rule-Header");
	w.allow_save = h && strcasestr(h, "allowSave=true") != NULL;
	return w;
}

static void upsert_one(emu *e, req *r, resp *rs, emu_object *o, emu_field *f, const char *v)
{
	json_t *body;
	if (!body_object(r, rs, &body))
		return;
	char ids[2][19];
	int n = rec_find_by(e, o, f, v, ids, 2);
	emu_err err;
	write_opts w = api_write_opts(r);
	if (n > 1) {
		multiple_choices(e, r, rs, o, f, v);
	} else if (n == 1) {
		json_object_del(body, f->name);
		if (rec_update(e, o, ids[0], body, &w, &err))
			resp_error(rs, &err);
		else if (r->api_version >= 46)
			success_body(rs, 200, ids[0], 0);
		else
			rs->status = 204;
	} else if (req_arg(r, "updateOnly") && !strcasecmp(req_arg(r, "updateOnly"), "true")) {
		resp_err(rs, 404, "NOT_FOUND", "The requested resource does not exist");
	} else if (f->type == FT_ID) {
		resp_err(rs, 404, "NOT_FOUND", "The requested resource does not exist");
	} else {
		char id[19];
		json_object_set_new(body, f->name, json_string(v));
		if (rec_create(e, o, body, &w, id, &err))
			resp_error(rs, &err);
		else
			success_body(rs, 201, id, r->api_version >= 46 ? 1 : -1);
	}
	json_decref(body);
}

static bool is_id_of(emu_object *o, const char *seg, char id[19])
{
	return !id_norm(seg, id) && !strncmp(id, o->key_prefix, 3);
}

/* ---- getUpdated / getDeleted ---- */

static int replication_window(emu *e, req *r, resp *rs, int lookback_days, int64_t *start,
			      int64_t *end)
{
	const char *s = req_arg(r, "start"), *en = req_arg(r, "end");
	if (!s || !en || parse_datetime(s, start) || parse_datetime(en, end)) {
		resp_err(rs, 400, "INVALID_REPLICATION_DATE",
			 s && en ? "start and end must be ISO 8601 dateTimes"
				 : "Missing required parameters start and end");
		return -1;
	}
	*start = *start / MINUTE_MS * MINUTE_MS;
	*end = *end / MINUTE_MS * MINUTE_MS;
	int64_t now = emu_now(e);
	if (*end - *start <= (int64_t)e->cfg.min_replication_gap_s * 1000) {
		resp_err(rs, 400, "INVALID_REPLICATION_DATE",
			 "startDate must chronologically precede endDate by more than one minute");
		return -1;
	}
	if (*start < now - lookback_days * DAY_MS) {
		char msg[128];
		snprintf(msg, sizeof msg, "startDate cannot be more than %d days ago",
			 lookback_days);
		resp_err(rs, 400, "INVALID_REPLICATION_DATE", msg);
		return -1;
	}
	return 0;
}

static int64_t latest_covered(emu *e, int64_t end)
{
	int64_t l = end, now = emu_now(e);
	if (l > now)
		l = now;
	if (e->open_txn_start && l > e->open_txn_start)
		l = e->open_txn_start;
	return l;
}

static int64_t earliest_available(emu *e, emu_object *o)
{
	sqlite3_stmt *st;
	int64_t ts = e->org_created_ms;
	if (!sqlite3_prepare_v2(e->db, "SELECT ts FROM _purge WHERE object=?", -1, &st, NULL)) {
		sqlite3_bind_text(st, 1, o->name, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int64(st, 0) > ts)
			ts = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	return ts;
}

static void get_updated(emu *e, req *r, resp *rs, emu_object *o, bool deleted)
{
	int64_t start, end;
	if (!o->replicateable) {
		resp_err(rs, 400, "INVALID_TYPE", "Replication is not enabled for this object");
		return;
	}
	if (replication_window(e, r, rs, deleted ? 15 : 30, &start, &end))
		return;
	/* the recycle bin keeps rows for 15 days */
	store_purge(e, o, emu_now(e) - 15 * DAY_MS);
	int64_t earliest = earliest_available(e, o);
	if (deleted && start < earliest) {
		resp_err(rs, 400, "INVALID_REPLICATION_DATE",
			 "startDate is before the earliest date available for replication");
		return;
	}
	int64_t latest = latest_covered(e, end);
	char sql[512];
	if (deleted)
		snprintf(sql, sizeof sql,
			 "SELECT \"Id\", \"_DeletedDate\" FROM \"%s\" WHERE \"IsDeleted\"=1 AND "
			 "\"_DeletedDate\">=?1 AND \"_DeletedDate\"<?2 ORDER BY \"_DeletedDate\", "
			 "\"Id\"",
			 o->name);
	else
		snprintf(sql, sizeof sql,
			 "SELECT \"Id\" FROM \"%s\" WHERE \"SystemModstamp\">=?1 AND "
			 "\"SystemModstamp\"<?2%s ORDER BY \"SystemModstamp\", \"Id\"",
			 o->name, o->has_is_deleted ? " AND \"IsDeleted\"=0" : "");
	sqlite3_stmt *st;
	if (!o->has_is_deleted && deleted) {
		char d1[32], d2[32];
		fmt_datetime(earliest, d1);
		fmt_datetime(latest, d2);
		resp_json(rs, 200,
			  json_pack("{s:[],s:s,s:s}", "deletedRecords", "earliestDateAvailable", d1,
				    "latestDateCovered", d2));
		return;
	}
	if (sqlite3_prepare_v2(e->db, sql, -1, &st, NULL)) {
		resp_err(rs, 500, "UNKNOWN_EXCEPTION", sqlite3_errmsg(e->db));
		return;
	}
	sqlite3_bind_int64(st, 1, start);
	sqlite3_bind_int64(st, 2, latest);
	buf b = {0};
	buf_puts(&b, deleted ? "{\"deletedRecords\":[" : "{\"ids\":[");
	int n = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (++n > e->cfg.max_ids)
			break;
		if (n > 1)
			buf_putc(&b, ',');
		if (deleted) {
			char d[32];
			fmt_datetime(sqlite3_column_int64(st, 1), d);
			buf_printf(&b, "{\"id\":\"%s\",\"deletedDate\":\"%s\"}",
				   sqlite3_column_text(st, 0), d);
		} else {
			buf_printf(&b, "\"%s\"", sqlite3_column_text(st, 0));
		}
	}
	sqlite3_finalize(st);
	if (n > e->cfg.max_ids) {
		buf_free(&b);
		resp_err(rs, 400, "EXCEEDED_ID_LIMIT",
			 "Too many ids were requested; use a shorter date range");
		return;
	}
	char d1[32], d2[32];
	fmt_datetime(latest, d2);
	if (deleted) {
		fmt_datetime(earliest, d1);
		buf_printf(&b, "],\"earliestDateAvailable\":\"%s\",\"latestDateCovered\":\"%s\"}",
			   d1, d2);
	} else {
		buf_printf(&b, "],\"latestDateCovered\":\"%s\"}", d2);
	}
	buf_free(&rs->body);
	rs->body = b;
	rs->status = 200;
}

/* ---- /sobjects/... ---- */

static void sobjects(emu *e, req *r, resp *rs, const char *rest)
{
	/* rest: "" | "T" | "T/describe" | "T/updated" | "T/{id}" | "T/{ext}/{v}" */
	if (!*rest || !strcmp(rest, "/")) {
		if (strcmp(r->method, "GET")) {
			resp_err(rs, 405, "METHOD_NOT_ALLOWED", "HTTP Method not allowed");
			return;
		}
		api_count(e, "describeGlobal");
		describe_global(e, r, rs);
		return;
	}
	char type[128];
	const char *slash = strchr(rest, '/');
	size_t tn = slash ? (size_t)(slash - rest) : strlen(rest);
	snprintf(type, sizeof type, "%.*s", (int)(tn < 127 ? tn : 127), rest);
	emu_object *o = schema_object(&e->schema, type);
	if (!o || !o->readable) {
		char msg[300];
		snprintf(msg, sizeof msg, "The requested resource does not exist");
		resp_err(rs, 404, "NOT_FOUND", msg);
		return;
	}
	const char *sub = slash ? slash + 1 : "";
	char seg1[256] = "", seg2[1024] = "";
	const char *s2 = strchr(sub, '/');
	if (s2) {
		snprintf(seg1, sizeof seg1, "%.*s", (int)(s2 - sub), sub);
		snprintf(seg2, sizeof seg2, "%s", s2 + 1);
	} else {
		snprintf(seg1, sizeof seg1, "%s", sub);
	}
	size_t l2 = strlen(seg2);
	if (l2 && seg2[l2 - 1] == '/')
		seg2[l2 - 1] = 0;
	emu_err err;
	write_opts w = api_write_opts(r);
	if (!*seg1) {
		if (!strcmp(r->method, "GET")) {
			api_count(e, "sobject.basic");
			json_t *j = json_pack("{s:o,s:[]}", "objectDescribe", object_entry(e, r, o),
					      "recentItems");
			resp_json(rs, 200, j);
		} else if (!strcmp(r->method, "POST")) {
			api_count(e, "sobject.create");
			json_t *body;
			char id[19];
			if (!body_object(r, rs, &body))
				return;
			if (json_object_get(body, "Id") || json_object_get(body, "id")) {
				resp_err_fields(
				    rs, 400, "INVALID_FIELD_FOR_INSERT_UPDATE", "Id",
				    "Unable to create/update fields: Id. Please check the "
				    "security settings of this field and verify that it is "
				    "read/write for your profile or permission set.");
			} else if (rec_create(e, o, body, &w, id, &err)) {
				resp_error(rs, &err);
			} else {
				success_body(rs, 201, id, -1);
				snprintf(rs->location, sizeof rs->location,
					 "/services/data/v%s/sobjects/%s/%s", r->version, o->name,
					 id);
			}
			json_decref(body);
		} else {
			resp_err(rs, 405, "METHOD_NOT_ALLOWED", "HTTP Method not allowed");
		}
		return;
	}
	if (!*seg2 && !strcmp(seg1, "describe")) {
		api_count(e, "describe");
		describe_object(e, r, rs, o);
		return;
	}
	if (!*seg2 && (!strcmp(seg1, "updated") || !strcmp(seg1, "deleted"))) {
		api_count(e, seg1[0] == 'u' ? "getUpdated" : "getDeleted");
		get_updated(e, r, rs, o, seg1[0] == 'd');
		return;
	}
	char id[19];
	if (!*seg2) {
		if (!is_id_of(o, seg1, id)) {
			if (!id_norm(seg1, id) || strlen(seg1) == 15 || strlen(seg1) == 18)
				resp_err(rs, 404, "NOT_FOUND",
					 "The requested resource does not exist");
			else
				ext_not_found(rs, seg1);
			return;
		}
		if (!strcmp(r->method, "GET")) {
			api_count(e, "sobject.read");
			get_record(e, r, rs, o, id);
		} else if (!strcmp(r->method, "PATCH")) {
			api_count(e, "sobject.update");
			json_t *body;
			if (!body_object(r, rs, &body))
				return;
			if (rec_update(e, o, id, body, &w, &err))
				resp_error(rs, &err);
			else
				rs->status = 204;
			json_decref(body);
		} else if (!strcmp(r->method, "DELETE")) {
			api_count(e, "sobject.delete");
			if (rec_delete(e, o, id, &w, &err))
				resp_error(rs, &err);
			else
				rs->status = 204;
		} else {
			resp_err(rs, 405, "METHOD_NOT_ALLOWED", "HTTP Method not allowed");
		}
		return;
	}
	emu_field *f = object_readable_field(o, seg1);
	if (!f || (!f->id_lookup && !f->external_id) || strchr(seg2, '/')) {
		ext_not_found(rs, seg1);
		return;
	}
	const char *v = seg2;
	char idv[19];
	if (f->type == FT_ID) {
		if (id_norm(seg2, idv)) {
			resp_err(rs, 404, "NOT_FOUND", "The requested resource does not exist");
			return;
		}
		v = idv;
	}
	if (!strcmp(r->method, "GET")) {
		api_count(e, "sobject.readByExternalId");
		char ids[2][19];
		int n = rec_find_by(e, o, f, v, ids, 2);
		if (n == 0)
			resp_err(rs, 404, "NOT_FOUND", "The requested resource does not exist");
		else if (n > 1)
			multiple_choices(e, r, rs, o, f, v);
		else
			get_record(e, r, rs, o, ids[0]);
	} else if (!strcmp(r->method, "PATCH")) {
		api_count(e, "sobject.upsert");
		upsert_one(e, r, rs, o, f, v);
	} else if (!strcmp(r->method, "DELETE")) {
		api_count(e, "sobject.delete");
		char ids[2][19];
		int n = rec_find_by(e, o, f, v, ids, 2);
		if (n == 0)
			resp_err(rs, 404, "NOT_FOUND", "The requested resource does not exist");
		else if (n > 1)
			multiple_choices(e, r, rs, o, f, v);
		else if (rec_delete(e, o, ids[0], &w, &err))
			resp_error(rs, &err);
		else
			rs->status = 204;
	} else {
		resp_err(rs, 405, "METHOD_NOT_ALLOWED", "HTTP Method not allowed");
	}
}

/* ---- sObject collections ---- */

static json_t *rec_error(const emu_err *err)
{
	json_t *fields = json_array();
	char tmp[256];
	snprintf(tmp, sizeof tmp, "%s", err->fields);
	for (char *save = NULL, *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save))
		json_array_append_new(fields, json_string(t));
	return json_pack("{s:s,s:s,s:o}", "statusCode", err->code, "message", err->msg, "fields",
			 fields);
}

static json_t *result_fail(const char *id, const emu_err *err)
{
	json_t *j = json_object();
	if (id)
		json_object_set_new(j, "id", json_string(id));
	json_object_set_new(j, "success", json_false());
	json_object_set_new(j, "errors", json_pack("[o]", rec_error(err)));
	return j;
}

static json_t *result_ok(const char *id, int created)
{
	json_t *j = json_pack("{s:s,s:b,s:[]}", "id", id, "success", 1, "errors");
	if (created >= 0)
		json_object_set_new(j, "created", json_boolean(created));
	return j;
}

/* allOrNone: when something failed, roll back and mark every success as rolled back. */
static void finish_collection(emu *e, resp *rs, json_t *results, bool all_or_none, bool failed)
{
	if (all_or_none && failed) {
		emu_db_exec(e, "ROLLBACK TO coll");
		size_t i;
		json_t *v;
		json_array_foreach(results, i, v)
		{
			if (!json_is_true(json_object_get(v, "success")))
				continue;
			emu_err err;
			emu_seterr(&err, 400, "ALL_OR_NONE_OPERATION_ROLLED_BACK", "",
				   "Record rolled back because not all records were valid and the "
				   "request was using AllOrNone header");
			json_t *created = json_object_get(v, "created");
			const char *id = json_is_true(created)
					     ? NULL
					     : json_string_value(json_object_get(v, "id"));
			json_t *f = result_fail(id, &err);
			json_array_set_new(results, i, f);
		}
	}
	emu_db_exec(e, "RELEASE coll");
	resp_json(rs, 200, results);
}

static const char *rec_type(json_t *rec)
{
	return json_string_value(json_object_get(json_object_get(rec, "attributes"), "type"));
}

static void collection_write(emu *e, req *r, resp *rs, bool create)
{
	json_t *body;
	if (!body_object(r, rs, &body))
		return;
	json_t *recs = json_object_get(body, "records");
	bool aon = json_is_true(json_object_get(body, "allOrNone"));
	if (!json_is_array(recs)) {
		resp_err(rs, 400, "INVALID_FIELD", "Missing records");
		json_decref(body);
		return;
	}
	if (json_array_size(recs) > 200) {
		resp_err(
		    rs, 400, "EXCEEDED_ID_LIMIT",
		    "record limit reached. cannot submit more than 200 records into this call");
		json_decref(body);
		return;
	}
	/* validate shape first: types and chunk count */
	int chunks = 0;
	const char *prev = NULL;
	size_t i;
	json_t *rec;
	json_array_foreach(recs, i, rec)
	{
		const char *t = rec_type(rec);
		if (!json_is_object(rec) || !t) {
			resp_err(rs, 400, "INVALID_TYPE", "Must send a concrete entity type.");
			json_decref(body);
			return;
		}
		if (!prev || strcasecmp(prev, t))
			chunks++;
		prev = t;
	}
	if (chunks > 10) {
		resp_err(rs, 400, "INVALID_BATCH_REQUEST",
			 "Number of chunks exceeded: a request can contain at most 10 chunks of "
			 "different object types");
		json_decref(body);
		return;
	}
	emu_db_exec(e, "SAVEPOINT coll");
	json_t *results = json_array();
	bool failed = false;
	json_array_foreach(recs, i, rec)
	{
		emu_err err;
		write_opts w = api_write_opts(r);
		emu_object *o = schema_object(&e->schema, rec_type(rec));
		json_t *fields = json_deep_copy(rec);
		json_object_del(fields, "attributes");
		const char *rid = json_string_value(json_object_get(rec, "id"));
		if (!rid)
			rid = json_string_value(json_object_get(rec, "Id"));
		json_object_del(fields, "id");
		json_object_del(fields, "Id");
		char id[19] = "";
		int rc;
		if (!o || !o->readable) {
			char msg[200];
			snprintf(msg, sizeof msg, "sObject type '%s' is not supported.",
				 rec_type(rec));
			rc = emu_seterr(&err, 400, "INVALID_TYPE", "", "%s", msg);
		} else if (create) {
			if (rid)
				rc = emu_seterr(&err, 400, "INVALID_FIELD", "",
						"cannot specify Id in an insert call");
			else
				rc = rec_create(e, o, fields, &w, id, &err);
		} else if (!rid || id_norm(rid, id) || strncmp(id, o->key_prefix, 3)) {
			rc = emu_seterr(&err, 400, rid ? "MALFORMED_ID" : "MISSING_ARGUMENT", "Id",
					rid ? "%s ID: id value of incorrect type: %s"
					    : "%sId not specified in an update call%s",
					o->label, rid ? rid : "");
			snprintf(id, sizeof id, "%s", rid ? rid : "");
		} else {
			rc = rec_update(e, o, id, fields, &w, &err);
		}
		json_decref(fields);
		if (rc) {
			failed = true;
			json_array_append_new(results,
					      result_fail(create || !*id ? NULL : id, &err));
		} else {
			json_array_append_new(results, result_ok(id, -1));
		}
	}
	json_decref(body);
	finish_collection(e, rs, results, aon, failed);
}

static void collection_delete(emu *e, req *r, resp *rs)
{
	const char *ids = req_arg(r, "ids");
	const char *aon_s = req_arg(r, "allOrNone");
	bool aon = aon_s && !strcasecmp(aon_s, "true");
	json_t *list = split_fields(ids);
	if (!list || !json_array_size(list)) {
		json_decref(list);
		resp_err(rs, 400, "MISSING_ARGUMENT", "ids parameter is required");
		return;
	}
	if (json_array_size(list) > 200) {
		json_decref(list);
		resp_err(
		    rs, 400, "EXCEEDED_ID_LIMIT",
		    "record limit reached. cannot submit more than 200 records into this call");
		return;
	}
	emu_db_exec(e, "SAVEPOINT coll");
	json_t *results = json_array();
	bool failed = false;
	size_t i;
	json_t *v;
	json_array_foreach(list, i, v)
	{
		const char *s = json_string_value(v);
		char id[19];
		emu_err err;
		write_opts w = api_write_opts(r);
		emu_object *o = NULL;
		int rc;
		if (id_norm(s, id))
			rc = emu_seterr(&err, 400, "MALFORMED_ID", "", "malformed id %s", s);
		else if (!(o = object_of_id(e, id)))
			rc = emu_seterr(&err, 400, "INVALID_CROSS_REFERENCE_KEY", "",
					"invalid cross reference id");
		else
			rc = rec_delete(e, o, id, &w, &err);
		if (rc) {
			failed = true;
			json_array_append_new(results, result_fail(s, &err));
		} else {
			json_array_append_new(results, result_ok(id, -1));
		}
	}
	json_decref(list);
	finish_collection(e, rs, results, aon, failed);
}

static void collection_upsert(emu *e, req *r, resp *rs, emu_object *o, const char *fname)
{
	emu_field *f = object_readable_field(o, fname);
	if (!f || (!f->external_id && f->type != FT_ID)) {
		ext_not_found(rs, fname);
		return;
	}
	json_t *body;
	if (!body_object(r, rs, &body))
		return;
	json_t *recs = json_object_get(body, "records");
	bool aon = json_is_true(json_object_get(body, "allOrNone"));
	if (!json_is_array(recs)) {
		resp_err(rs, 400, "INVALID_FIELD", "Missing records");
		json_decref(body);
		return;
	}
	if (json_array_size(recs) > 200) {
		resp_err(
		    rs, 400, "EXCEEDED_ID_LIMIT",
		    "record limit reached. cannot submit more than 200 records into this call");
		json_decref(body);
		return;
	}
	size_t i;
	json_t *rec;
	json_array_foreach(recs, i, rec)
	{
		const char *t = rec_type(rec);
		if (!t || strcasecmp(t, o->name)) {
			resp_err(rs, 400, "INVALID_TYPE", "Must send a concrete entity type.");
			json_decref(body);
			return;
		}
	}
	emu_db_exec(e, "SAVEPOINT coll");
	json_t *results = json_array();
	bool failed = false;
	json_array_foreach(recs, i, rec)
	{
		emu_err err;
		write_opts w = api_write_opts(r);
		json_t *fields = json_deep_copy(rec);
		json_object_del(fields, "attributes");
		json_t *kv = json_object_get(rec, f->name);
		char vbuf[64];
		const char *v = json_string_value(kv);
		if (!v && json_is_integer(kv)) {
			snprintf(vbuf, sizeof vbuf, "%lld", (long long)json_integer_value(kv));
			v = vbuf;
		}
		char id[19] = "";
		int rc, created = 0;
		char ids[2][19];
		int n = v ? rec_find_by(e, o, f, v, ids, 2) : 0;
		if (!v) {
			rc = emu_seterr(&err, 400, "MISSING_ARGUMENT", f->name, "%s not specified",
					f->name);
		} else if (n > 1) {
			rc = emu_seterr(
			    &err, 300, "DUPLICATE_EXTERNAL_ID", f->name,
			    "%s: more than one record found for external id field: [%s, %s]",
			    f->name, ids[0], ids[1]);
		} else if (n == 1) {
			snprintf(id, sizeof id, "%s", ids[0]);
			json_object_del(fields, f->name);
			json_object_del(fields, "Id");
			rc = rec_update(e, o, id, fields, &w, &err);
		} else {
			created = 1;
			rc = rec_create(e, o, fields, &w, id, &err);
		}
		json_decref(fields);
		if (rc) {
			failed = true;
			json_array_append_new(results, result_fail(n == 1 ? id : NULL, &err));
		} else {
			json_array_append_new(results, result_ok(id, created));
		}
	}
	json_decref(body);
	finish_collection(e, rs, results, aon, failed);
}

static void collection_retrieve(emu *e, req *r, resp *rs, emu_object *o)
{
	json_t *ids = NULL, *fields = NULL, *body = NULL;
	if (!strcmp(r->method, "POST")) {
		if (!body_object(r, rs, &body))
			return;
		ids = json_incref(json_object_get(body, "ids"));
		fields = json_incref(json_object_get(body, "fields"));
	} else {
		ids = split_fields(req_arg(r, "ids"));
		fields = split_fields(req_arg(r, "fields"));
	}
	json_decref(body);
	if (!json_array_size(ids) || !json_array_size(fields)) {
		resp_err(rs, 400, "MISSING_ARGUMENT", "ids and fields are required");
		goto out;
	}
	if (json_array_size(ids) > 2000) {
		resp_err(rs, 400, "EXCEEDED_ID_LIMIT", "too many ids");
		goto out;
	}
	buf b = {0};
	buf_putc(&b, '[');
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v)
	{
		char id[19];
		emu_err err;
		if (i)
			buf_putc(&b, ',');
		size_t mark = b.len;
		if (id_norm(json_string_value(v), id) || strncmp(id, o->key_prefix, 3)) {
			buf_puts(&b, "null");
			continue;
		}
		if (rec_emit(e, r, o, id, fields, false, &b, &err)) {
			if (!strcmp(err.code, "INVALID_FIELD")) {
				buf_free(&b);
				resp_error(rs, &err);
				goto out;
			}
			b.len = mark;
			buf_puts(&b, "null");
		}
	}
	buf_putc(&b, ']');
	buf_free(&rs->body);
	rs->body = b;
	rs->status = 200;
out:
	json_decref(ids);
	json_decref(fields);
}

static void collections(emu *e, req *r, resp *rs, const char *rest)
{
	/* rest after "composite/sobjects" */
	if (!*rest || !strcmp(rest, "/")) {
		if (!strcmp(r->method, "POST")) {
			api_count(e, "composite.sobjects.create");
			collection_write(e, r, rs, true);
		} else if (!strcmp(r->method, "PATCH")) {
			api_count(e, "composite.sobjects.update");
			collection_write(e, r, rs, false);
		} else if (!strcmp(r->method, "DELETE")) {
			api_count(e, "composite.sobjects.delete");
			collection_delete(e, r, rs);
		} else {
			resp_err(rs, 405, "METHOD_NOT_ALLOWED", "HTTP Method not allowed");
		}
		return;
	}
	char type[128] = "", field[128] = "";
	sscanf(rest, "/%127[^/]/%127[^/]", type, field);
	emu_object *o = schema_object(&e->schema, type);
	if (!o || !o->readable) {
		resp_err(rs, 404, "NOT_FOUND", "The requested resource does not exist");
		return;
	}
	if (*field) {
		if (strcmp(r->method, "PATCH")) {
			resp_err(rs, 405, "METHOD_NOT_ALLOWED", "HTTP Method not allowed");
			return;
		}
		api_count(e, "composite.sobjects.upsert");
		if (r->api_version < 46) {
			resp_err(rs, 404, "NOT_FOUND", "The requested resource does not exist");
			return;
		}
		collection_upsert(e, r, rs, o, field);
		return;
	}
	if (strcmp(r->method, "GET") && strcmp(r->method, "POST")) {
		resp_err(rs, 405, "METHOD_NOT_ALLOWED", "HTTP Method not allowed");
		return;
	}
	api_count(e, "composite.sobjects.retrieve");
	collection_retrieve(e, r, rs, o);
}

/* ---- composite ---- */

/* Resolves "@{ref.path[0].x}" against earlier subrequest bodies. */
static char *resolve_refs(const char *s, json_t *refs, bool *bad)
{
	buf b = {0};
	for (const char *p = s; *p;) {
		if (p[0] == '@' && p[1] == '{') {
			const char *end = strchr(p, '}');
			if (!end) {
				buf_puts(&b, p);
				break;
			}
			char expr[256];
			snprintf(expr, sizeof expr, "%.*s", (int)(end - p - 2), p + 2);
			char *save = NULL, *tok = strtok_r(expr, ".", &save);
			json_t *cur = tok ? json_object_get(refs, tok) : NULL;
			while (cur && (tok = strtok_r(NULL, ".", &save))) {
				char *br = strchr(tok, '[');
				if (br)
					*br = 0;
				cur = json_object_get(cur, tok);
				while (cur && br) {
					cur = json_array_get(cur, (size_t)atoi(br + 1));
					br = strchr(br + 1, '[');
				}
			}
			if (json_is_string(cur))
				buf_puts(&b, json_string_value(cur));
			else if (json_is_integer(cur))
				buf_printf(&b, "%lld", (long long)json_integer_value(cur));
			else
				*bad = true;
			p = end + 1;
		} else {
			buf_putc(&b, *p++);
		}
	}
	return buf_take(&b);
}

static void subrequest(emu *e, req *parent, const char *method, const char *url, json_t *body,
		       json_t *hdrs, resp *out)
{
	req r = *parent;
	r.method = method;
	r.sub = true;
	r.hdrs = json_is_object(hdrs) ? hdrs : NULL;
	char *path = strdup(url);
	char *q = strchr(path, '?');
	json_t *qa = json_object();
	if (q) {
		*q = 0;
		json_decref(qa);
		qa = parse_form(q + 1, strlen(q + 1));
	}
	r.qargs = qa;
	char *bodytext = body ? json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
	r.body = bodytext ? bodytext : "";
	r.body_len = bodytext ? strlen(bodytext) : 0;
	const char *p = path;
	if (!strncmp(p, "/services/data/", 15))
		p += 15;
	else if (*p == '/')
		p++;
	int major = 0;
	char ver[16];
	if (sscanf(p, "v%d.0", &major) != 1 || major < API_MIN || major > API_MAX) {
		resp_err(out, 404, "NOT_FOUND", "The requested resource does not exist");
	} else {
		snprintf(ver, sizeof ver, "%d.0", major);
		r.version = ver;
		r.api_version = major;
		const char *rest = strchr(p, '/');
		api_dispatch(e, &r, out, rest ? rest : "");
	}
	free(bodytext);
	json_decref(qa);
	free(path);
}

static json_t *resp_body_json(resp *rs)
{
	if (!rs->body.len || rs->status == 204)
		return json_null();
	json_t *j = json_loadb(rs->body.p, rs->body.len, 0, NULL);
	return j ? j : json_string(rs->body.p);
}

static void composite(emu *e, req *r, resp *rs)
{
	json_t *body;
	if (!body_object(r, rs, &body))
		return;
	json_t *subs = json_object_get(body, "compositeRequest");
	bool aon = json_is_true(json_object_get(body, "allOrNone"));
	if (!json_is_array(subs) || !json_array_size(subs) || json_array_size(subs) > 25) {
		resp_err(
		    rs, 400, "INVALID_BATCH_REQUEST",
		    json_array_size(subs) > 25
			? "Limit Exceeded. A composite request can have at most 25 subrequests."
			: "compositeRequest is required");
		json_decref(body);
		return;
	}
	/* "Up to 5 of these subrequests can be sObject Collections or query
	 * operations, including Query and QueryAll requests" (the Composite
	 * resource's limits; query more counts as a query). The wording of the
	 * refusal is not documented [?]. */
	size_t nq = 0, qi;
	json_t *qs;
	json_array_foreach(subs, qi, qs)
	{
		const char *url = json_string_value(json_object_get(qs, "url"));
		const char *p =
		    url && !strncmp(url, "/services/data/", 15) ? strchr(url + 15, '/') : NULL;
		if (p && (!strncmp(p, "/query", 6) || !strncmp(p, "/composite/sobjects", 19)))
			nq++;
	}
	if (nq > 5) {
		resp_err(rs, 400, "INVALID_BATCH_REQUEST",
			 "Limit Exceeded. A composite request can have at most 5 subrequests that "
			 "are query operations or sObject Collections.");
		json_decref(body);
		return;
	}
	emu_db_exec(e, "SAVEPOINT comp");
	json_t *refs = json_object(), *out = json_array();
	bool failed = false;
	size_t i;
	json_t *s;
	json_array_foreach(subs, i, s)
	{
		const char *method = json_string_value(json_object_get(s, "method"));
		const char *url = json_string_value(json_object_get(s, "url"));
		const char *ref = json_string_value(json_object_get(s, "referenceId"));
		json_t *sb = json_object_get(s, "body");
		resp sr = {.status = 200, .ctype = "application/json;charset=UTF-8"};
		bool bad = false;
		if (failed && aon) {
			resp_err(&sr, 400, "PROCESSING_HALTED",
				 "The transaction was rolled back since another operation in the "
				 "same transaction failed.");
		} else if (!method || !url || !ref) {
			resp_err(&sr, 400, "INVALID_BATCH_REQUEST",
				 "method, url and referenceId are required");
		} else {
			char *u = resolve_refs(url, refs, &bad);
			json_t *b2 = NULL;
			if (sb) {
				char *t = json_dumps(sb, JSON_COMPACT | JSON_ENCODE_ANY);
				char *t2 = resolve_refs(t, refs, &bad);
				b2 = json_loads(t2, JSON_DECODE_ANY, NULL);
				free(t);
				free(t2);
			}
			if (bad)
				resp_err(
				    &sr, 400, "PROCESSING_HALTED",
				    "Invalid reference specified. No value for a reference found "
				    "in an earlier subrequest.");
			else {
				e->in_composite++;
				subrequest(e, r, method, u, b2, json_object_get(s, "httpHeaders"),
					   &sr);
				e->in_composite--;
			}
			free(u);
			json_decref(b2);
		}
		if (sr.status >= 400)
			failed = true;
		json_t *jb = resp_body_json(&sr);
		json_t *hdr = json_object();
		if (sr.location[0])
			json_object_set_new(hdr, "Location", json_string(sr.location));
		if (sr.last_modified[0])
			json_object_set_new(hdr, "Last-Modified", json_string(sr.last_modified));
		if (ref)
			json_object_set(refs, ref, jb);
		json_array_append_new(out, json_pack("{s:o,s:o,s:i,s:s?}", "body", jb,
						     "httpHeaders", hdr, "httpStatusCode",
						     sr.status, "referenceId", ref));
		buf_free(&sr.body);
	}
	if (failed && aon) {
		emu_db_exec(e, "ROLLBACK TO comp");
		json_array_foreach(out, i, s)
		{
			int st = (int)json_integer_value(json_object_get(s, "httpStatusCode"));
			if (st < 400) {
				json_object_set_new(s, "httpStatusCode", json_integer(400));
				json_object_set_new(s, "httpHeaders", json_object());
				json_object_set_new(
				    s, "body",
				    json_pack(
					"[{s:s,s:s}]", "errorCode", "PROCESSING_HALTED", "message",
					"The transaction was rolled back since another operation "
					"in the same transaction failed."));
			}
		}
	}
	emu_db_exec(e, "RELEASE comp");
	json_decref(refs);
	json_decref(body);
	resp_json(rs, 200, json_pack("{s:o}", "compositeResponse", out));
}

static void composite_batch(emu *e, req *r, resp *rs)
{
	json_t *body;
	if (!body_object(r, rs, &body))
		return;
	json_t *subs = json_object_get(body, "batchRequests");
	bool halt = json_is_true(json_object_get(body, "haltOnError"));
	if (!json_is_array(subs) || !json_array_size(subs) || json_array_size(subs) > 25) {
		resp_err(rs, 400, "INVALID_BATCH_REQUEST",
			 json_array_size(subs) > 25
			     ? "Limit Exceeded. A batch request can have at most 25 subrequests."
			     : "batchRequests is required");
		json_decref(body);
		return;
	}
	json_t *out = json_array();
	bool errors = false, halted = false;
	size_t i;
	json_t *s;
	json_array_foreach(subs, i, s)
	{
		const char *method = json_string_value(json_object_get(s, "method"));
		const char *url = json_string_value(json_object_get(s, "url"));
		json_t *in = json_object_get(s, "richInput");
		resp sr = {.status = 200, .ctype = "application/json;charset=UTF-8"};
		if (halted)
			resp_err(&sr, 412, "BATCH_PROCESSING_HALTED",
				 "Batch processing halted per request");
		else if (!method || !url)
			resp_err(&sr, 400, "INVALID_BATCH_REQUEST", "method and url are required");
		else {
			e->in_composite++;
			subrequest(e, r, method, url, in, NULL, &sr);
			e->in_composite--;
		}
		if (sr.status >= 400) {
			errors = true;
			if (halt)
				halted = true;
		}
		json_array_append_new(out, json_pack("{s:i,s:o}", "statusCode", sr.status, "result",
						     resp_body_json(&sr)));
		buf_free(&sr.body);
	}
	json_decref(body);
	resp_json(rs, 200, json_pack("{s:b,s:o}", "hasErrors", errors, "results", out));
}

/* ---- routing ---- */

static void api_dispatch(emu *e, req *r, resp *rs, const char *rest)
{
	if (!*rest || !strcmp(rest, "/")) {
		api_count(e, "resources");
		char base[64], id[512];
		snprintf(base, sizeof base, "/services/data/v%s", r->version);
		snprintf(id, sizeof id, "%s/id/%s/%s", e->login_url, e->org_id, e->user_id);
		json_t *j = json_object();
		const char *names[] = {"sobjects", "query",  "queryAll", "limits",  "composite",
				       "search",   "recent", "tooling",	 "metadata"};
		for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
			char u[128];
			if (!strcmp(names[i], "tooling") || !strcmp(names[i], "metadata"))
				snprintf(u, sizeof u, "%s/%s", base, names[i]);
			else
				snprintf(u, sizeof u, "%s/%s", base, names[i]);
			json_object_set_new(j, names[i], json_string(u));
		}
		json_object_set_new(j, "identity", json_string(id));
		resp_json(rs, 200, j);
		return;
	}
	rest++;
	if (seg_eq(rest, "limits")) {
		api_count(e, "limits");
		limits_handle(e, rs);
	} else if (!strncmp(rest, "sobjects", 8) && (rest[8] == 0 || rest[8] == '/')) {
		sobjects(e, r, rs, rest[8] ? rest + 9 : "");
	} else if (seg_eq(rest, "query") || seg_eq(rest, "queryAll")) {
		bool all = rest[5] == 'A';
		api_count(e, all ? "queryAll" : "query");
		const char *q = req_arg(r, "q");
		if (strcmp(r->method, "GET"))
			resp_err(rs, 405, "METHOD_NOT_ALLOWED", "HTTP Method not allowed");
		else if (!q)
			resp_err(rs, 400, "MALFORMED_QUERY", "A query string has to be specified");
		else
			query_handle(e, r, rs, q, all);
	} else if (!strncmp(rest, "query/", 6) || !strncmp(rest, "queryAll/", 9)) {
		api_count(e, "queryMore");
		const char *loc = strchr(rest, '/') + 1;
		char l[128];
		snprintf(l, sizeof l, "%s", loc);
		size_t n = strlen(l);
		if (n && l[n - 1] == '/')
			l[n - 1] = 0;
		query_more(e, r, rs, l);
	} else if (!strncmp(rest, "composite/sobjects", 18) && (rest[18] == 0 || rest[18] == '/')) {
		collections(e, r, rs, rest + 18);
	} else if (seg_eq(rest, "composite") && !r->sub) {
		api_count(e, "composite");
		if (strcmp(r->method, "POST"))
			resp_err(rs, 405, "METHOD_NOT_ALLOWED", "HTTP Method not allowed");
		else
			composite(e, r, rs);
	} else if (seg_eq(rest, "composite/batch") && !r->sub) {
		api_count(e, "composite.batch");
		if (strcmp(r->method, "POST"))
			resp_err(rs, 405, "METHOD_NOT_ALLOWED", "HTTP Method not allowed");
		else
			composite_batch(e, r, rs);
	} else {
		resp_err(rs, 404, "NOT_FOUND", "The requested resource does not exist");
	}
}

void api_handle(emu *e, req *r, resp *rs)
{
	/* /services/data/vNN.N[/...] */
	const char *p = r->path + 16;
	char *end;
	long major = strtol(p, &end, 10);
	if (end == p || strncmp(end, ".0", 2) || (end[2] && end[2] != '/') || major < API_MIN ||
	    major > API_MAX) {
		rs->no_limit_info = true;
		resp_err(rs, 404, "NOT_FOUND", "The requested resource does not exist");
		return;
	}
	char ver[16];
	snprintf(ver, sizeof ver, "%ld.0", major);
	r->version = ver;
	r->api_version = (int)major;
	if (token_check(e, r, rs))
		return;
	if (e->api_used >= e->api_max) {
		resp_err(rs, 403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.");
		return;
	}
	e->api_used++;
	e->total_calls++;
	if (e->app_client && !strcmp(r->client, e->app_client))
		e->app_used++;
	const char *ct = req_header(r, "Content-Type");
	if (r->body_len && ct && !strcasestr(ct, "json")) {
		/* JSON bodies only: the emulator speaks no XML */
		resp_err(rs, 415, "UNSUPPORTED_MEDIA_TYPE",
			 "Content type not supported: send application/json");
		return;
	}
	api_dispatch(e, r, rs, end + 2);
	r->version = NULL;
}
