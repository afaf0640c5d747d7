/*
 * control.c - the emulator's control plane under /__emu/ (JSON in, JSON out):
 * what tests use to change the world behind the client's back (records as a
 * CRM user would write them, the clock, faults, expiry, limits, FLS, ...) and
 * to observe what the client did (stats, request log, dumps). Never reachable
 * under /services. Also the fault matcher and the request log.
 */
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sfemu.h"

#define LOG_MAX 2000

struct fault {
	fault *next;
	int id;
	char method[16];
	char path[512];
	int status;
	char *body, *ctype;
	int delay_ms;
	bool drop, truncate;
	int after, count; /* count < 0: unlimited */
	int seen, fired;
};

static void fault_free(fault *f)
{
	free(f->body);
	free(f->ctype);
	free(f);
}

void faults_free(emu *e)
{
	while (e->faults) {
		fault *n = e->faults->next;
		fault_free(e->faults);
		e->faults = n;
	}
}

static const char *default_fault_body(int status, const char **code)
{
	switch (status) {
	case 400:
		*code = "UNABLE_TO_LOCK_ROW";
		return "unable to obtain exclusive access to this record or 1 records";
	case 401:
		*code = "INVALID_SESSION_ID";
		return "Session expired or invalid";
	case 403:
		*code = "REQUEST_LIMIT_EXCEEDED";
		return "TotalRequests Limit exceeded.";
	case 404:
		*code = "NOT_FOUND";
		return "The requested resource does not exist";
	case 503:
		*code = "SERVER_UNAVAILABLE";
		return "Server unavailable, please retry later";
	default:
		*code = "UNKNOWN_EXCEPTION";
		return "An unexpected error occurred. Please include this ErrorId if you contact "
		       "support: 1926458745-123456 (-1234567890)";
	}
}

void faults_match(emu *e, req *r, resp *rs, fault_action *fa)
{
	if (!strncmp(r->path, "/__emu", 6))
		return;
	for (fault **pp = &e->faults; *pp;) {
		fault *f = *pp;
		bool m = (!f->method[0] || !strcmp(f->method, "*") ||
			  !strcasecmp(f->method, r->method)) &&
			 !strncmp(r->path, f->path, strlen(f->path));
		if (!m || f->count == 0) {
			pp = &f->next;
			continue;
		}
		f->seen++;
		if (f->seen <= f->after) {
			pp = &f->next;
			continue;
		}
		f->fired++;
		if (f->count > 0)
			f->count--;
		fa->delay_ms += f->delay_ms;
		fa->drop |= f->drop;
		fa->truncate |= f->truncate;
		if (f->status && !fa->respond) {
			fa->respond = true;
			rs->status = f->status;
			buf_free(&rs->body);
			if (f->ctype)
				rs->ctype = f->ctype;
			if (f->body) {
				buf_puts(&rs->body, f->body);
			} else if (f->ctype && strstr(f->ctype, "html")) {
				buf_printf(
				    &rs->body,
				    "<html><head><title>Service unavailable</title></head><body>"
				    "<p>Salesforce is down for maintenance (%d).</p></body></html>",
				    f->status);
			} else {
				const char *code, *msg = default_fault_body(f->status, &code);
				json_t *a =
				    json_pack("[{s:s,s:s}]", "message", msg, "errorCode", code);
				char *t = json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER);
				buf_puts(&rs->body, t);
				free(t);
				json_decref(a);
			}
			if (!strncmp(r->path, "/services/data/v", 16))
				api_count(e, "fault");
		}
		pp = &f->next;
	}
}

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
	(void)kind;
	if (!strcasecmp(k, "password") || !strcasecmp(k, "client_secret") ||
	    !strcasecmp(k, "token") || !strcasecmp(k, "refresh_token") ||
	    !strcasecmp(k, "assertion"))
		v = "***";
	json_object_set_new(cls, k, v ? json_string(v) : json_null());
	return MHD_YES;
}

void log_request(emu *e, req *r, int status)
{
	if (!strncmp(r->path, "/__emu", 6))
		return;
	json_t *h = json_object();
	static const char *keep[] = {"Sforce-Query-Options", "Content-Type",	  "Accept",
				     "Sforce-Call-Options",  "If-Modified-Since", "User-Agent",
				     "Accept-Encoding",	     "Sforce-Auto-Assign"};
	for (size_t i = 0; i < sizeof keep / sizeof *keep; i++) {
		const char *v = req_header(r, keep[i]);
		if (v)
			json_object_set_new(h, keep[i], json_string(v));
	}
	const char *auth = req_header(r, "Authorization");
	if (auth) {
		const char *sp = strchr(auth, ' ');
		char red[64];
		snprintf(red, sizeof red, "%.*s ***", sp ? (int)(sp - auth) : 0, auth);
		json_object_set_new(h, "Authorization", json_string(sp ? red : "***"));
	}
	json_t *args = json_object();
	if (r->conn)
		MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, collect_arg, args);
	char ts[32];
	fmt_datetime(wall_ms(), ts);
	json_array_append_new(e->log, json_pack("{s:I,s:s,s:s,s:o,s:o,s:i,s:s}", "seq",
						(json_int_t)++e->log_seq, "method", r->method,
						"path", r->path, "args", args, "headers", h,
						"status", status, "at", ts));
	while (json_array_size(e->log) > LOG_MAX)
		json_array_remove(e->log, 0);
}

/* ---- helpers ---- */

static void ok(resp *rs, json_t *extra)
{
	json_t *j = extra ? extra : json_object();
	json_object_set_new(j, "ok", json_true());
	resp_json(rs, 200, j);
}

static void bad(resp *rs, int status, const char *msg)
{
	resp_json(rs, status, json_pack("{s:b,s:s}", "ok", 0, "error", msg));
}

static int ts_of(json_t *v, int64_t *ms)
{
	if (!v || json_is_null(v))
		return 1;
	if (json_is_integer(v)) {
		*ms = json_integer_value(v);
		return 0;
	}
	if (json_is_string(v) && !parse_datetime(json_string_value(v), ms))
		return 0;
	return -1;
}

static void err_json(resp *rs, const emu_err *err)
{
	resp_json(rs, err->http ? err->http : 400,
		  json_pack("{s:b,s:s,s:s,s:s}", "ok", 0, "errorCode", err->code, "message",
			    err->msg, "fields", err->fields));
}

static emu_object *obj_arg(emu *e, json_t *in, const char *key, resp *rs)
{
	const char *t = json_string_value(json_object_get(in, key));
	emu_object *o = t ? schema_object(&e->schema, t) : NULL;
	if (!o)
		bad(rs, 404, "unknown or missing object type");
	return o;
}

static int user_of(emu *e, json_t *in, write_opts *w, char buf19[19], resp *rs)
{
	json_t *u = json_object_get(in, "user");
	w->user_id = e->crm_user_id;
	if (json_is_string(u)) {
		if (!strcmp(json_string_value(u), "api"))
			w->user_id = e->user_id;
		else if (id_norm(json_string_value(u), buf19)) {
			bad(rs, 400, "user: not an id");
			return -1;
		} else
			w->user_id = buf19;
	}
	return 0;
}

/* POST /__emu/records/{Type} {"op":"create|update|delete|undelete|touch","id":..,
 *   "fields":{..},"ts":..,"user":"api"|id,"system":true} */
static void records(emu *e, emu_object *o, json_t *in, resp *rs)
{
	const char *op = json_string_value(json_object_get(in, "op"));
	if (!op)
		op = json_object_get(in, "id") ? "update" : "create";
	write_opts w = {.system = !json_is_false(json_object_get(in, "system")),
			.allow_converted = true,
			.skip_unique = json_is_true(json_object_get(in, "allowDuplicates"))};
	char ub[19], id[19];
	emu_err err;
	if (user_of(e, in, &w, ub, rs))
		return;
	if (ts_of(json_object_get(in, "ts"), &w.ts) < 0) {
		bad(rs, 400, "ts: not a datetime");
		return;
	}
	json_t *fields = json_object_get(in, "fields");
	if (!fields)
		fields = json_object_get(in, "record");
	if (!strcmp(op, "create")) {
		if (!json_is_object(fields)) {
			bad(rs, 400, "fields: object required");
			return;
		}
		if (rec_create(e, o, fields, &w, id, &err))
			err_json(rs, &err);
		else
			ok(rs, json_pack("{s:s}", "id", id));
		return;
	}
	const char *sid = json_string_value(json_object_get(in, "id"));
	if (!sid || id_norm(sid, id)) {
		bad(rs, 400, "id: a 15- or 18-character id is required");
		return;
	}
	int rc;
	if (!strcmp(op, "update")) {
		json_t *empty = json_object();
		rc = rec_update(e, o, id, fields ? fields : empty, &w, &err);
		json_decref(empty);
	} else if (!strcmp(op, "delete")) {
		rc = rec_delete(e, o, id, &w, &err);
	} else if (!strcmp(op, "undelete")) {
		rc = rec_undelete(e, o, id, &w, &err);
	} else if (!strcmp(op, "touch")) {
		rc = rec_touch(e, o, id, w.ts);
		if (rc)
			emu_seterr(&err, 404, "NOT_FOUND", "", "no such record");
	} else {
		bad(rs, 400, "op: create, update, delete, undelete or touch");
		return;
	}
	if (rc)
		err_json(rs, &err);
	else
		ok(rs, json_pack("{s:s}", "id", id));
}

static void app_limit_clear(emu *e)
{
	free(e->app_client);
	free(e->app_name);
	e->app_client = e->app_name = NULL;
	e->app_max = e->app_used = 0;
}

/* "app": {"clientId","name","max","used"?} sets the connected app's allowance that
 * Sforce-Limit-Info reports as per-app-api-usage; null removes it. Returns -1 after
 * answering a bad request. */
static int app_limit_set(emu *e, json_t *v, resp *rs)
{
	if (json_is_null(v)) {
		app_limit_clear(e);
		return 0;
	}
	const char *cid = json_string_value(json_object_get(v, "clientId"));
	const char *name = json_string_value(json_object_get(v, "name"));
	json_t *max = json_object_get(v, "max"), *used = json_object_get(v, "used");
	bool name_ok = name && *name && strlen(name) <= 64;
	for (const char *c = name; name_ok && *c; c++)
		name_ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			  (*c >= '0' && *c <= '9') || strchr("_-. ", *c);
	if (!json_is_object(v) || !cid || !*cid || strlen(cid) > 127 || !name_ok ||
	    !json_is_integer(max) || json_integer_value(max) <= 0 ||
	    (used && (!json_is_integer(used) || json_integer_value(used) < 0))) {
		bad(rs, 400,
		    "app: {\"clientId\":id,\"name\":\"1-64 of A-Z a-z 0-9 _-. and space\","
		    "\"max\":N>0,\"used\"?:N} or null");
		return -1;
	}
	bool same = e->app_client && !strcmp(e->app_client, cid);
	long was = same ? e->app_used : 0;
	char *c2 = strdup(cid), *n2 = strdup(name);
	app_limit_clear(e);
	e->app_client = c2;
	e->app_name = n2;
	e->app_max = (long)json_integer_value(max);
	e->app_used = used ? (long)json_integer_value(used) : was;
	return 0;
}

/* POST /__emu/archive {"type"?:"Task"|"Event","ids"?:[..],"olderThanDays"?:N,
 * "unarchive"?:bool,"touch"?:bool}: sets IsArchived on live activities, as the org's
 * archiving job does: the given ids, or (with olderThanDays) events whose end or
 * ActivityDate and closed tasks whose ActivityDate (else creation day) lie more than N
 * days before the emulator's today; both given: those of the ids that are that old.
 * "touch" also bumps SystemModstamp (the job does not by default). */
static void archive(emu *e, json_t *in, resp *rs)
{
	const char *tn = json_string_value(json_object_get(in, "type"));
	json_t *ids = json_object_get(in, "ids"), *age = json_object_get(in, "olderThanDays");
	bool un = json_is_true(json_object_get(in, "unarchive"));
	bool touch = json_is_true(json_object_get(in, "touch"));
	if ((!ids && !age) || (ids && !json_is_array(ids)) ||
	    (age && (!json_is_integer(age) || json_integer_value(age) < 0))) {
		bad(rs, 400, "ids (array) and/or olderThanDays (integer >= 0) is required");
		return;
	}
	const char *types[2] = {"Task", "Event"};
	int ntypes = 2;
	if (tn) {
		emu_object *o = schema_object(&e->schema, tn);
		if (!o || !object_field(o, "IsArchived") || !o->has_is_deleted) {
			bad(rs, 400, "type: an activity object (Task or Event)");
			return;
		}
		types[0] = o->name;
		ntypes = 1;
	}
	int64_t now = emu_now(e);
	char cutoff[16];
	fmt_date(now - (age ? (int64_t)json_integer_value(age) : 0) * 86400000LL, cutoff);
	long n = 0;
	for (int t = 0; t < ntypes; t++) {
		emu_object *o = schema_object(&e->schema, types[t]);
		if (!o || !object_field(o, "IsArchived") || !o->has_is_deleted)
			continue;
		bool task = object_field(o, "IsClosed") != NULL;
		bool ends = object_field(o, "EndDateTime") != NULL;
		buf q = {0};
		buf_printf(&q,
			   "UPDATE \"%s\" SET \"IsArchived\"=?1%s WHERE \"IsDeleted\"=0 AND "
			   "\"IsArchived\" IS NOT ?1",
			   o->name, touch ? ", \"SystemModstamp\"=?2" : "");
		if (age && task)
			buf_puts(&q, " AND \"IsClosed\"=1 AND COALESCE(\"ActivityDate\", "
				     "date(\"CreatedDate\"/1000, 'unixepoch')) < ?3");
		else if (age && ends)
			buf_puts(&q, " AND COALESCE(date(\"EndDateTime\"/1000, 'unixepoch'), "
				     "\"ActivityDate\") < ?3");
		else if (age)
			buf_puts(&q, " AND \"ActivityDate\" < ?3");
		if (ids)
			buf_puts(&q, " AND \"Id\"=?4");
		sqlite3_stmt *st;
		int rc = sqlite3_prepare_v2(e->db, q.p, -1, &st, NULL);
		buf_free(&q);
		if (rc) {
			bad(rs, 500, sqlite3_errmsg(e->db));
			return;
		}
		size_t nid = ids ? json_array_size(ids) : 1;
		for (size_t i = 0; i < nid; i++) {
			char id[19];
			if (ids && id_norm(json_string_value(json_array_get(ids, i)) ?: "", id))
				continue;
			sqlite3_reset(st);
			sqlite3_bind_int(st, 1, !un);
			sqlite3_bind_int64(st, 2, now);
			sqlite3_bind_text(st, 3, cutoff, -1, SQLITE_TRANSIENT);
			if (ids)
				sqlite3_bind_text(st, 4, id, -1, SQLITE_TRANSIENT);
			if (sqlite3_step(st) == SQLITE_DONE)
				n += sqlite3_changes(e->db);
		}
		sqlite3_finalize(st);
	}
	ok(rs, json_pack("{s:I}", un ? "unarchived" : "archived", (json_int_t)n));
}

static void dump(emu *e, req *r, emu_object *o, resp *rs)
{
	char sql[256];
	sqlite3_stmt *st;
	snprintf(sql, sizeof sql, "SELECT \"Id\" FROM \"%s\" ORDER BY rowid", o->name);
	if (sqlite3_prepare_v2(e->db, sql, -1, &st, NULL)) {
		bad(rs, 500, sqlite3_errmsg(e->db));
		return;
	}
	char ver[8] = "59.0";
	r->version = ver;
	json_t *all = json_array();
	for (int i = 0; i < o->nfields; i++)
		json_array_append_new(all, json_string(o->fields[i].name));
	buf b = {0};
	buf_puts(&b, "{\"type\":");
	buf_json_str(&b, o->name, strlen(o->name));
	buf_puts(&b, ",\"records\":[");
	int n = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		emu_err err;
		char id[19];
		snprintf(id, sizeof id, "%s", sqlite3_column_text(st, 0));
		if (n++)
			buf_putc(&b, ',');
		/* system view: hidden fields included */
		bool *saved = calloc((size_t)o->nfields, sizeof(bool));
		for (int i = 0; i < o->nfields; i++) {
			saved[i] = o->fields[i].fls_read;
			o->fields[i].fls_read = true;
		}
		rec_emit(e, r, o, id, all, true, &b, &err);
		for (int i = 0; i < o->nfields; i++)
			o->fields[i].fls_read = saved[i];
		free(saved);
	}
	sqlite3_finalize(st);
	json_decref(all);
	buf_printf(&b, "],\"count\":%d}", n);
	buf_free(&rs->body);
	rs->body = b;
	rs->status = 200;
	r->version = NULL;
}

static void add_fault(emu *e, json_t *in, resp *rs)
{
	fault *f = calloc(1, sizeof *f);
	f->id = ++e->next_fault_id;
	snprintf(f->method, sizeof f->method, "%s",
		 json_string_value(json_object_get(in, "method")) ?: "");
	snprintf(f->path, sizeof f->path, "%s",
		 json_string_value(json_object_get(in, "path")) ?: "/");
	f->status = (int)json_integer_value(json_object_get(in, "status"));
	json_t *body = json_object_get(in, "body");
	if (json_is_string(body))
		f->body = strdup(json_string_value(body));
	else if (body)
		f->body = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
	const char *code = json_string_value(json_object_get(in, "errorCode"));
	if (code && !f->body) {
		const char *msg = json_string_value(json_object_get(in, "message"));
		json_t *a =
		    json_pack("[{s:s,s:s}]", "message", msg ? msg : code, "errorCode", code);
		f->body = json_dumps(a, JSON_COMPACT | JSON_PRESERVE_ORDER);
		json_decref(a);
	}
	const char *ct = json_string_value(json_object_get(in, "contentType"));
	if (!ct)
		ct = json_string_value(json_object_get(in, "content_type"));
	f->ctype = ct ? strdup(ct) : NULL;
	f->delay_ms = (int)json_integer_value(json_object_get(in, "delayMs"));
	if (!f->delay_ms)
		f->delay_ms = (int)json_integer_value(json_object_get(in, "delay_ms"));
	f->drop = json_is_true(json_object_get(in, "drop"));
	f->truncate = json_is_true(json_object_get(in, "truncate"));
	f->after = (int)json_integer_value(json_object_get(in, "after"));
	json_t *cnt = json_object_get(in, "count");
	f->count = json_is_integer(cnt) ? (int)json_integer_value(cnt) : -1;
	if (json_is_true(json_object_get(in, "once")))
		f->count = 1;
	if (!f->status && !f->delay_ms && !f->drop && !f->truncate) {
		fault_free(f);
		bad(rs, 400, "a fault needs status, delayMs, drop or truncate");
		return;
	}
	fault **pp = &e->faults;
	while (*pp)
		pp = &(*pp)->next;
	*pp = f;
	ok(rs, json_pack("{s:i}", "id", f->id));
}

static json_t *list_faults(emu *e)
{
	json_t *a = json_array();
	for (fault *f = e->faults; f; f = f->next)
		json_array_append_new(a, json_pack("{s:i,s:s,s:s,s:i,s:i,s:b,s:b,s:i,s:i,s:i,s:i}",
						   "id", f->id, "method", f->method, "path",
						   f->path, "status", f->status, "delayMs",
						   f->delay_ms, "drop", f->drop, "truncate",
						   f->truncate, "after", f->after, "count",
						   f->count, "seen", f->seen, "fired", f->fired));
	return a;
}

static json_t *config_json(emu *e)
{
	emu_config *c = &e->cfg;
	return json_pack(
	    "{s:i,s:b,s:b,s:s,s:i,s:b,s:i,s:i,s:I,s:I,s:i,s:b,s:i,s:i,s:b,s:s,s:s,s:b}",
	    "locatorStatus", c->locator_status, "deletedGetEntityIsDeleted", c->deleted_get_code,
	    "patchMissingCrossReference", c->patch_missing_xref, "convertedLeadMessage",
	    c->converted_msg, "minReplicationGapSeconds", c->min_replication_gap_s, "cursorReplay",
	    c->cursor_replay, "legacyCursors", c->legacy_cursors, "cursorMax", c->cursor_max,
	    "cursorTtlMs", (json_int_t)c->cursor_ttl_ms, "tokenTtlMs", (json_int_t)c->token_ttl_ms,
	    "chaosBatch", c->chaos_batch, "refreshRotation", c->refresh_rotation, "maxIds",
	    c->max_ids, "defaultBatch", c->default_batch, "cursorLive", c->cursor_live, "keyCasing",
	    c->key_casing_query ? "query" : "canonical", "signature",
	    c->signature_mode ? "none" : "hmac", "cascadeDeletes", c->cascade_deletes);
}

static void set_config(emu *e, json_t *in)
{
	emu_config *c = &e->cfg;
	json_t *v;
#define CI(key, field)                                                                             \
	if ((v = json_object_get(in, key)) && (json_is_integer(v) || json_is_boolean(v)))          \
		c->field = json_is_boolean(v) ? json_is_true(v) : (int)json_integer_value(v);
	CI("locatorStatus", locator_status);
	CI("deletedGetEntityIsDeleted", deleted_get_code);
	CI("patchMissingCrossReference", patch_missing_xref);
	CI("minReplicationGapSeconds", min_replication_gap_s);
	CI("cursorReplay", cursor_replay);
	CI("legacyCursors", legacy_cursors);
	CI("cursorMax", cursor_max);
	CI("chaosBatch", chaos_batch);
	CI("refreshRotation", refresh_rotation);
	CI("cursorLive", cursor_live);
	CI("cascadeDeletes", cascade_deletes);
	CI("maxIds", max_ids);
	CI("defaultBatch", default_batch);
#undef CI
	if ((v = json_object_get(in, "cursorTtlMs")) && json_is_integer(v))
		c->cursor_ttl_ms = json_integer_value(v);
	if ((v = json_object_get(in, "tokenTtlMs")) && json_is_integer(v))
		c->token_ttl_ms = json_integer_value(v);
	if ((v = json_object_get(in, "keyCasing")) && json_is_string(v))
		c->key_casing_query = !strcmp(json_string_value(v), "query");
	if ((v = json_object_get(in, "signature")) && json_is_string(v))
		c->signature_mode = !strcmp(json_string_value(v), "none");
	if ((v = json_object_get(in, "convertedLeadMessage")) && json_is_string(v))
		snprintf(c->converted_msg, sizeof c->converted_msg, "%s", json_string_value(v));
}

void control_handle(emu *e, req *r, resp *rs)
{
	const char *p = r->path + 6; /* after /__emu */
	if (*p == '/')
		p++;
	json_t *in = NULL;
	if (r->body_len) {
		json_error_t je;
		in = json_loadb(r->body, r->body_len, 0, &je);
		if (!json_is_object(in)) {
			json_decref(in);
			bad(rs, 400, "body: a JSON object is required");
			return;
		}
	} else {
		in = json_object();
	}
	bool post = !strcmp(r->method, "POST"), get = !strcmp(r->method, "GET"),
	     del = !strcmp(r->method, "DELETE");
	char when[32];
	if (post && !strcmp(p, "reset")) {
		cursors_free(e);
		faults_free(e);
		store_reset(e);
		json_array_clear(e->log);
		json_object_clear(e->stats);
		json_object_clear(e->tokens);
		json_array_clear(e->rules);
		e->api_used = 0;
		e->total_calls = 0;
		app_limit_clear(e);
		e->open_txn_start = 0;
		e->clock_frozen = false;
		emu_clock_set(e, wall_ms());
		ok(rs, NULL);
	} else if (post && !strcmp(p, "seed")) {
		char err[256];
		const char *spec = json_string_value(json_object_get(in, "spec"));
		json_t *rng = json_object_get(in, "rng");
		json_t *recs = json_object_get(in, "records");
		if (spec &&
		    seed_run(e, spec,
			     json_is_integer(rng) ? (uint64_t)json_integer_value(rng) : e->rng_seed,
			     err, sizeof err)) {
			bad(rs, 400, err);
		} else if (json_is_object(recs)) {
			/* {"records":{"Lead":[{...,"Id":..,"SystemModstamp":..}]}} */
			const char *type;
			json_t *list, *ids = json_object();
			int failed = 0;
			emu_err er;
			json_object_foreach(recs, type, list)
			{
				emu_object *o = schema_object(&e->schema, type);
				json_t *out = json_array();
				size_t i;
				json_t *rec;
				json_array_foreach(list, i, rec)
				{
					write_opts w = {.system = true, .user_id = e->crm_user_id};
					int64_t ts;
					char id[19];
					if (!ts_of(json_object_get(rec, "SystemModstamp"), &ts))
						w.ts = ts;
					if (!o || rec_create(e, o, rec, &w, id, &er)) {
						failed = 1;
						json_array_append_new(
						    out, json_string(o ? er.msg : "unknown type"));
					} else {
						json_array_append_new(out, json_string(id));
					}
				}
				json_object_set_new(ids, type, out);
			}
			if (failed)
				resp_json(rs, 400, json_pack("{s:b,s:o}", "ok", 0, "ids", ids));
			else
				ok(rs, json_pack("{s:o}", "ids", ids));
		} else if (!spec) {
			bad(rs, 400, "seed: give \"spec\" or \"records\"");
		} else {
			ok(rs, NULL);
		}
	} else if (post && !strncmp(p, "records/", 8)) {
		emu_object *o = schema_object(&e->schema, p + 8);
		if (!o)
			bad(rs, 404, "unknown object type");
		else
			records(e, o, in, rs);
	} else if (post && !strcmp(p, "merge")) {
		emu_object *o = obj_arg(e, in, "type", rs);
		const char *m = json_string_value(json_object_get(in, "master"));
		char mid[19], ub[19];
		write_opts w = {.system = true};
		emu_err err;
		int64_t ts;
		if (!o || user_of(e, in, &w, ub, rs))
			goto out;
		if (!ts_of(json_object_get(in, "ts"), &ts))
			w.ts = ts;
		if (!m || id_norm(m, mid))
			bad(rs, 400, "master: id required");
		else if (rec_merge(e, o, mid, json_object_get(in, "losers"), &w, &err))
			err_json(rs, &err);
		else if (json_is_object(json_object_get(in, "fields")) &&
			 rec_update(e, o, mid, json_object_get(in, "fields"), &w, &err))
			err_json(rs, &err); /* the merge stands; the master's values were refused */
		else
			ok(rs, json_pack("{s:s}", "id", mid));
	} else if (post && !strcmp(p, "convert-lead")) {
		write_opts w = {.system = true};
		char ub[19];
		emu_err err;
		json_t *out = NULL;
		int64_t ts;
		if (user_of(e, in, &w, ub, rs))
			goto out;
		if (!ts_of(json_object_get(in, "ts"), &ts))
			w.ts = ts;
		if (rec_convert_lead(e, in, &w, &out, &err))
			err_json(rs, &err);
		else
			ok(rs, out);
	} else if (post && !strcmp(p, "purge")) {
		const char *t = json_string_value(json_object_get(in, "type"));
		emu_object *o = t ? schema_object(&e->schema, t) : NULL;
		if (t && !o) {
			bad(rs, 404, "unknown object type");
			goto out;
		}
		int n = store_purge(e, o, INT64_MAX);
		ok(rs, json_pack("{s:i}", "purged", n));
	} else if (!strcmp(p, "clock") && (post || get)) {
		json_t *v;
		int64_t ms;
		if ((v = json_object_get(in, "set"))) {
			if (ts_of(v, &ms)) {
				bad(rs, 400, "set: not a datetime");
				goto out;
			}
			emu_clock_set(e, ms);
		}
		if ((v = json_object_get(in, "advanceMs")) ||
		    (v = json_object_get(in, "advance_ms")))
			emu_clock_set(e, emu_now(e) + json_integer_value(v));
		if ((v = json_object_get(in, "advance")) && json_is_integer(v))
			emu_clock_set(e, emu_now(e) + json_integer_value(v) * 1000);
		if ((v = json_object_get(in, "freeze"))) {
			int64_t now = emu_now(e);
			e->clock_frozen = json_is_true(v);
			emu_clock_set(e, now);
		}
		fmt_datetime(emu_now(e), when);
		ok(rs, json_pack("{s:s,s:I,s:b}", "now", when, "nowMs", (json_int_t)emu_now(e),
				 "frozen", e->clock_frozen));
	} else if (!strcmp(p, "faults")) {
		if (post)
			add_fault(e, in, rs);
		else if (del) {
			faults_free(e);
			ok(rs, NULL);
		} else
			ok(rs, json_pack("{s:o}", "faults", list_faults(e)));
	} else if (post && !strcmp(p, "tokens/expire")) {
		tokens_expire_all(e);
		ok(rs, NULL);
	} else if (post && !strcmp(p, "cursors/expire")) {
		cursors_expire_all(e);
		ok(rs, NULL);
	} else if (!strcmp(p, "limits") && (post || get)) {
		json_t *v;
		if ((v = json_object_get(in, "app")) && app_limit_set(e, v, rs))
			goto out;
		if ((v = json_object_get(in, "max")))
			e->api_max = (long)json_integer_value(v);
		if ((v = json_object_get(in, "used")))
			e->api_used = (long)json_integer_value(v);
		if ((v = json_object_get(in, "remaining")))
			e->api_used = e->api_max - (long)json_integer_value(v);
		json_t *app = e->app_client
				  ? json_pack("{s:s,s:s,s:I,s:I}", "clientId", e->app_client,
					      "name", e->app_name, "max", (json_int_t)e->app_max,
					      "used", (json_int_t)e->app_used)
				  : json_null();
		ok(rs, json_pack("{s:I,s:I,s:I,s:o}", "max", (json_int_t)e->api_max, "used",
				 (json_int_t)e->api_used, "remaining",
				 (json_int_t)(e->api_max - e->api_used), "app", app));
	} else if (post && !strcmp(p, "archive")) {
		archive(e, in, rs);
	} else if (post && !strcmp(p, "fls")) {
		emu_object *o = obj_arg(e, in, "object", rs);
		if (!o)
			goto out;
		const char *fn = json_string_value(json_object_get(in, "field"));
		emu_field *f = fn ? object_field(o, fn) : NULL;
		if (!fn) {
			json_t *v = json_object_get(in, "read");
			if (v)
				o->readable = json_is_true(v);
		} else if (!f || f->is_system) {
			bad(rs, 404, "unknown field, or a system field");
			goto out;
		} else {
			json_t *v;
			if ((v = json_object_get(in, "read")))
				f->fls_read = json_is_true(v);
			if ((v = json_object_get(in, "edit")))
				f->fls_edit = json_is_true(v);
		}
		e->schema.changed_ms = (wall_ms() / 1000 + 1) * 1000;
		ok(rs, NULL);
	} else if (post && !strcmp(p, "touch")) {
		emu_object *o = obj_arg(e, in, "type", rs);
		int64_t ts = 0;
		if (!o)
			goto out;
		ts_of(json_object_get(in, "ts"), &ts);
		json_t *ids = json_object_get(in, "ids"), *v;
		size_t i;
		int n = 0;
		json_array_foreach(ids, i, v)
		{
			char id[19];
			if (!id_norm(json_string_value(v), id) && !rec_touch(e, o, id, ts))
				n++;
		}
		ok(rs, json_pack("{s:i}", "touched", n));
	} else if (post && !strcmp(p, "late-commit")) {
		/* a write that commits now but carries an older stamp */
		emu_object *o = obj_arg(e, in, "type", rs);
		int64_t ts;
		if (!o)
			goto out;
		if (ts_of(json_object_get(in, "ts"), &ts)) {
			bad(rs, 400, "ts: the (past) stamp is required");
			goto out;
		}
		if (!json_object_get(in, "op"))
			json_object_set_new(
			    in, "op", json_string(json_object_get(in, "id") ? "update" : "create"));
		records(e, o, in, rs);
	} else if (!strcmp(p, "open-txn")) {
		int64_t ts;
		if (del || json_is_true(json_object_get(in, "close")))
			e->open_txn_start = 0;
		else if (post) {
			int rc = ts_of(json_object_get(in, "start"), &ts);
			if (rc < 0) {
				bad(rs, 400, "start: not a datetime");
				goto out;
			}
			e->open_txn_start = rc ? emu_now(e) : ts;
		}
		if (e->open_txn_start)
			fmt_datetime(e->open_txn_start, when);
		ok(rs, json_pack("{s:s?}", "start", e->open_txn_start ? when : NULL));
	} else if (get && !strcmp(p, "stats")) {
		ok(rs, json_pack("{s:I,s:I,s:I,s:O}", "apiCalls", (json_int_t)e->total_calls,
				 "used", (json_int_t)e->api_used, "max", (json_int_t)e->api_max,
				 "byEndpoint", e->stats));
	} else if (del && !strcmp(p, "stats")) {
		json_object_clear(e->stats);
		e->total_calls = 0;
		ok(rs, NULL);
	} else if (!strcmp(p, "log")) {
		if (del) {
			json_array_clear(e->log);
			ok(rs, NULL);
		} else {
			const char *lim = req_arg(r, "limit");
			size_t n = json_array_size(e->log), k = lim ? (size_t)atoi(lim) : n;
			json_t *a = json_array();
			for (size_t i = n > k ? n - k : 0; i < n; i++)
				json_array_append(a, json_array_get(e->log, i));
			ok(rs, json_pack("{s:o}", "requests", a));
		}
	} else if (get && !strncmp(p, "dump/", 5)) {
		emu_object *o = schema_object(&e->schema, p + 5);
		if (!o)
			bad(rs, 404, "unknown object type");
		else
			dump(e, r, o, rs);
	} else if (!strcmp(p, "validation")) {
		/* {"object":"Lead","field":"Title","reject":"Bad"|null,"message":"..."} */
		if (del) {
			json_array_clear(e->rules);
		} else if (post) {
			if (!json_is_string(json_object_get(in, "object")) ||
			    !json_is_string(json_object_get(in, "field")) ||
			    !json_object_get(in, "reject")) {
				bad(rs, 400, "a rule needs object, field and reject");
				goto out;
			}
			json_array_append(e->rules, in);
		}
		ok(rs, json_pack("{s:O}", "rules", e->rules));
	} else if (get && !strcmp(p, "id18")) {
		const char *in15 = req_arg(r, "id");
		char out18[19];
		if (!in15 || id_norm(in15, out18))
			bad(rs, 400, "id: not a 15- or 18-character id");
		else
			ok(rs, json_pack("{s:s}", "id", out18));
	} else if (!strcmp(p, "config") && (post || get)) {
		if (post)
			set_config(e, in);
		ok(rs, json_pack("{s:o}", "config", config_json(e)));
	} else {
		bad(rs, 404, "unknown control call");
	}
out:
	json_decref(in);
}
