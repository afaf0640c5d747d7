/*
 * sf_write.c - sObject collections: create, update, upsert by external id and
 * delete, 200 records per call, results in input order. Creates are never
 * resent after a failure that may have reached the server; updates, upserts
 * and deletes can be, since repeating them cannot duplicate anything.
 */
#include "config.h"
#include "sf_internal.h"

#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SF_BATCH 200

json_t *sf_record_to_json(const cs_record *rec, const char *type, const char *skip)
{
	json_t *o = json_object(), *attr = json_object();
	size_t n = cs_record_count(rec);

	if (!o || !attr || json_object_set_new(attr, "type", json_string(type)) ||
	    json_object_set_new(o, "attributes", attr)) {
		json_decref(o);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		const char *name;
		crmsync_value v;
		json_t *jv = NULL;
		char t[40];
		cs_record_at(rec, i, &name, &v);
		if (skip && strcasecmp(name, skip) == 0)
			continue;
		switch (v.type) {
		case CRMSYNC_NULL:
			jv = json_null();
			break;
		case CRMSYNC_STRING:
		case CRMSYNC_DATE:
		case CRMSYNC_ID:
			jv = json_stringn(v.u.s, v.len);
			break;
		case CRMSYNC_INTEGER:
			jv = json_integer(v.u.i);
			break;
		case CRMSYNC_DOUBLE:
			jv = json_real(v.u.d);
			break;
		case CRMSYNC_BOOLEAN:
			jv = json_boolean(v.u.b);
			break;
		case CRMSYNC_DATETIME:
			cs_format_datetime_sf(v.u.i, t, sizeof t);
			jv = json_string(t);
			break;
		}
		if (!jv || json_object_set_new(o, name, jv)) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

void sf_write_results_free(sf_write_results *r)
{
	if (!r || !r->items)
		return;
	/* every item of the array may hold errors, not only the first count */
	for (size_t i = 0; i < r->count; i++) {
		sf_write_result *w = &r->items[i];
		for (size_t e = 0; e < w->nerrors; e++) {
			free(w->errors[e].status_code);
			free(w->errors[e].message);
			for (size_t f = 0; f < w->errors[e].nfields; f++)
				free(w->errors[e].fields[f]);
			free(w->errors[e].fields);
		}
		free(w->errors);
	}
	free(r->items);
	r->items = NULL;
	r->count = 0;
}

static char *sf_dup_json_str(json_t *v)
{
	const char *s = json_string_value(v);
	return strdup(s ? s : "");
}

static int sf_fill_result(sf_write_result *w, json_t *j, int is_create)
{
	const char *id = json_string_value(json_object_get(j, "id"));
	json_t *errs = json_object_get(j, "errors");

	w->success = json_is_true(json_object_get(j, "success"));
	if (json_is_boolean(json_object_get(j, "created")))
		w->created = json_is_true(json_object_get(j, "created"));
	else
		w->created = is_create && w->success;
	if (id)
		snprintf(w->id, sizeof w->id, "%s", id);
	size_t ne = json_array_size(errs);
	if (!ne)
		return 0;
	w->errors = calloc(ne, sizeof *w->errors);
	if (!w->errors)
		return CRMSYNC_ENOMEM;
	w->nerrors = ne;
	for (size_t e = 0; e < ne; e++) {
		json_t *je = json_array_get(errs, e);
		json_t *code = json_object_get(je, "statusCode");
		json_t *fields = json_object_get(je, "fields");
		sf_record_error *re = &w->errors[e];
		if (!code)
			code = json_object_get(je, "errorCode");
		re->status_code = sf_dup_json_str(code);
		re->message = sf_dup_json_str(json_object_get(je, "message"));
		if (!re->status_code || !re->message)
			return CRMSYNC_ENOMEM;
		size_t nf = json_array_size(fields);
		if (nf) {
			re->fields = calloc(nf, sizeof *re->fields);
			if (!re->fields)
				return CRMSYNC_ENOMEM;
			re->nfields = nf;
			for (size_t f = 0; f < nf; f++)
				if (!(re->fields[f] = sf_dup_json_str(json_array_get(fields, f))))
					return CRMSYNC_ENOMEM;
		}
	}
	return 0;
}

enum sf_op { SF_OP_CREATE, SF_OP_UPDATE, SF_OP_UPSERT, SF_OP_DELETE };

static int sf_write_batch(sf_client *c, int op, const char *type, const char *ext,
			  cs_record *const *recs, const char *const *ids, size_t n,
			  sf_write_results *out, size_t base, cs_error *err)
{
	static const char *const opname[] = {"create", "update", "upsert", "delete"};
	sf_buf url = {0};
	struct sf_req r = {0};
	json_t *body = NULL, *res = NULL;
	char *text = NULL;
	long status;
	int rc;

	if (op == SF_OP_DELETE) {
		sf_data_path(c, &url, "/composite/sobjects?ids=");
		for (size_t i = 0; i < n; i++) {
			if (!sf_id_valid(ids[i])) {
				rc = sf_fail(c, SF_E_CONFIG, err,
					     "delete: '%.40s' is not a Salesforce id",
					     ids[i] ? ids[i] : "(null)");
				goto out;
			}
			sf_buf_addf(&url, "%s%s", i ? "," : "", ids[i]);
		}
		sf_buf_add(&url, "&allOrNone=false", 16);
		r.method = "DELETE";
		r.safety = SF_IDEMPOTENT;
	} else {
		json_t *arr = json_array();
		body = json_object();
		if (!arr || !body || json_object_set_new(body, "allOrNone", json_false()) ||
		    json_object_set_new(body, "records", arr)) {
			json_decref(arr);
			rc = sf_fail(c, SF_E_NOMEM, err, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < n; i++) {
			json_t *o;
			if (op == SF_OP_UPDATE) {
				const char *id = cs_record_str(recs[i], "Id");
				if (!sf_id_valid(id)) {
					rc = sf_fail(c, SF_E_CONFIG, err,
						     "update of %s: record %zu has no valid Id",
						     type, base + i);
					goto out;
				}
				o = sf_record_to_json(recs[i], type, NULL);
			} else {
				o = sf_record_to_json(recs[i], type,
						      op == SF_OP_CREATE ? "Id" : NULL);
			}
			if (!o || json_array_append_new(arr, o)) {
				rc = sf_fail(c, SF_E_NOMEM, err, "out of memory");
				goto out;
			}
		}
		text = json_dumps(body, JSON_COMPACT);
		if (!text) {
			rc = sf_fail(c, SF_E_NOMEM, err, "out of memory");
			goto out;
		}
		if (op == SF_OP_UPSERT)
			sf_data_path(c, &url, "/composite/sobjects/%s/%s", type, ext);
		else
			sf_data_path(c, &url, "/composite/sobjects");
		r.method = op == SF_OP_CREATE ? "POST" : "PATCH";
		r.safety = op == SF_OP_CREATE ? SF_UNSAFE : SF_IDEMPOTENT;
		r.body = text;
		/* Without the header the org's active assignment rules run on an
		 * update of a Lead, Account or Case, as on a create: a local edit of
		 * a phone number would hand the lead to another owner or a queue.
		 * Creates keep the rules (new leads are routed as the org routes
		 * them). */
		if (op == SF_OP_UPDATE)
			r.headers[0] = "Sforce-Auto-Assign: FALSE";
		/* A duplicate rule whose action is Allow with an alert lets a user
		 * save anyway; through the API only with allowSave (default false:
		 * the record fails with DUPLICATES_DETECTED). Block rules block. */
		if (c->duplicates_save)
			r.headers[1] = "Sforce-Duplicate-Rule-Header: allowSave=true";
	}
	if (url.oom) {
		rc = sf_fail(c, SF_E_NOMEM, err, "out of memory");
		goto out;
	}
	r.url = url.s;
	if ((rc = sf_http(c, &r, &status, err)))
		goto out;
	if (status != 200) {
		rc = sf_fail_status(c, &r, status, err);
		if (op == SF_OP_CREATE && status >= 500)
			c->kind = SF_E_OUTCOME_UNKNOWN;
		cs_err_prefix(err, "%s of %zu %s records", opname[op], n, type ? type : "");
		goto out;
	}
	if ((rc = sf_parse_body(c, &r, &res, err))) {
		if (op == SF_OP_CREATE)
			c->kind = SF_E_OUTCOME_UNKNOWN;
		goto out;
	}
	if (!json_is_array(res) || json_array_size(res) != n) {
		rc = sf_fail(c, op == SF_OP_CREATE ? SF_E_OUTCOME_UNKNOWN : SF_E_PARSE, err,
			     "%s of %zu %s records: expected %zu results, got %zu", opname[op], n,
			     type ? type : "", n, json_array_size(res));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		sf_write_result *w = &out->items[base + i];
		out->count = base + i + 1;
		if (sf_fill_result(w, json_array_get(res, i), op == SF_OP_CREATE)) {
			rc = sf_fail(c, SF_E_NOMEM, err, "out of memory");
			goto out;
		}
	}
	rc = 0;
out:
	json_decref(body);
	json_decref(res);
	free(text);
	sf_buf_free(&url);
	return rc;
}

static int sf_write(sf_client *c, int op, const char *type, const char *ext, cs_record *const *recs,
		    const char *const *ids, size_t n, sf_write_results *out, cs_error *err)
{
	int rc;
	sf_buf chk = {0};

	sf_ok(c);
	out->items = NULL;
	out->count = 0;
	if ((type && sf_soql_ident(&chk, type, err)) || (ext && sf_soql_ident(&chk, ext, err))) {
		sf_buf_free(&chk);
		return sf_fail(c, SF_E_CONFIG, err, "%s", cs_err_msg(err));
	}
	sf_buf_free(&chk);
	if (n == 0)
		return 0;
	out->items = calloc(n, sizeof *out->items);
	if (!out->items)
		return sf_fail(c, SF_E_NOMEM, err, "out of memory");
	for (size_t base = 0; base < n; base += SF_BATCH) {
		size_t k = n - base < SF_BATCH ? n - base : SF_BATCH;
		if ((rc = sf_write_batch(c, op, type, ext, recs ? recs + base : NULL,
					 ids ? ids + base : NULL, k, out, base, err)))
			return rc;
	}
	sf_ok(c);
	return 0;
}

int sf_create(sf_client *c, const char *type, cs_record *const *recs, size_t n,
	      sf_write_results *out, cs_error *err)
{
	return sf_write(c, SF_OP_CREATE, type, NULL, recs, NULL, n, out, err);
}

int sf_update(sf_client *c, const char *type, cs_record *const *recs, size_t n,
	      sf_write_results *out, cs_error *err)
{
	return sf_write(c, SF_OP_UPDATE, type, NULL, recs, NULL, n, out, err);
}

int sf_upsert(sf_client *c, const char *type, const char *ext_field, cs_record *const *recs,
	      size_t n, sf_write_results *out, cs_error *err)
{
	if (!ext_field)
		return sf_fail(c, SF_E_CONFIG, err, "upsert of %s needs an external id field",
			       type);
	return sf_write(c, SF_OP_UPSERT, type, ext_field, recs, NULL, n, out, err);
}

int sf_delete(sf_client *c, const char *const *ids, size_t n, sf_write_results *out, cs_error *err)
{
	return sf_write(c, SF_OP_DELETE, NULL, NULL, NULL, ids, n, out, err);
}
