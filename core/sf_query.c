/*
 * sf_query.c - query, queryAll and query-more delivered page by page into
 * reused records (memory bounded by one page), COUNT(), and getUpdated /
 * getDeleted with their date rules.
 */
#include "config.h"
#include "sf_internal.h"

#include "log.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SF_PAGE_MAX 2000

/* The type of field `name` from describe, or -1 when not listed. */
static int sf_field_type(const sf_query_opts *o, const char *name)
{
	if (!o || !o->fields)
		return -1;
	for (size_t i = 0; i < o->nfields; i++)
		if (strcasecmp(o->fields[i].name, name) == 0)
			return o->fields[i].type;
	return -1;
}

/* Type lookups are cached by key position: every record of a page has the
 * same keys in the same order, so the lookup costs one strcmp. */
struct sf_type_cache {
	char name[128];
	int type;
};

static int sf_set_value(cs_record *rec, const char *name, json_t *v, int type, cs_error *err)
{
	int rc = 0;
	switch (json_typeof(v)) {
	case JSON_NULL:
		rc = cs_record_set_null(rec, name);
		break;
	case JSON_TRUE:
	case JSON_FALSE:
		rc = cs_record_set_bool(rec, name, json_is_true(v));
		break;
	case JSON_INTEGER:
		if (type == CRMSYNC_DOUBLE)
			rc = cs_record_set_double(rec, name, (double)json_integer_value(v));
		else
			rc = cs_record_set_int(rec, name, CRMSYNC_INTEGER, json_integer_value(v));
		break;
	case JSON_REAL:
		if (type == CRMSYNC_INTEGER &&
		    json_real_value(v) == (double)(int64_t)json_real_value(v))
			rc = cs_record_set_int(rec, name, CRMSYNC_INTEGER,
					       (int64_t)json_real_value(v));
		else
			rc = cs_record_set_double(rec, name, json_real_value(v));
		break;
	case JSON_STRING: {
		const char *s = json_string_value(v);
		size_t len = json_string_length(v);
		if (type == CRMSYNC_DATETIME) {
			int64_t ms;
			if (cs_parse_datetime(s, &ms))
				return cs_err(err, CRMSYNC_EINVAL,
					      "field %s: '%.40s' is not a datetime", name, s);
			rc = cs_record_set_int(rec, name, CRMSYNC_DATETIME, ms);
		} else if (type == CRMSYNC_DATE || type == CRMSYNC_ID) {
			rc = cs_record_set_str(rec, name, type, s, (long)len);
		} else {
			if (memchr(s, '\0', len))
				return cs_err(err, CRMSYNC_EINVAL, "field %s holds a NUL character",
					      name);
			rc = cs_record_set_str(rec, name, CRMSYNC_STRING, s, (long)len);
		}
		break;
	}
	default:
		return cs_err(err, CRMSYNC_EINVAL, "field %s has an unexpected JSON value", name);
	}
	if (rc)
		return cs_err(err, CRMSYNC_ENOMEM, "out of memory decoding field %s", name);
	return 0;
}

/* Set every described field under prefix "Owner." to null (a null parent). */
static int sf_null_parent(cs_record *rec, const char *prefix, const sf_query_opts *o)
{
	size_t pl = strlen(prefix);
	if (!o || !o->fields)
		return 0;
	for (size_t i = 0; i < o->nfields; i++)
		if (strncasecmp(o->fields[i].name, prefix, pl) == 0 && o->fields[i].name[pl] == '.')
			if (cs_record_set_null(rec, o->fields[i].name))
				return CRMSYNC_ENOMEM;
	return 0;
}

static int sf_decode_object(cs_record *rec, json_t *obj, const char *prefix, const sf_query_opts *o,
			    struct sf_type_cache *cache, size_t ncache, int depth, cs_error *err)
{
	const char *jkey;
	json_t *v;
	size_t pos = 0;
	int rc;

	json_object_foreach(obj, jkey, v)
	{
		char full[256];
		const char *key = jkey; /* jkey drives the iteration: never reassign it */
		if (strcmp(jkey, "attributes") == 0)
			continue;
		if (prefix) {
			snprintf(full, sizeof full, "%s.%s", prefix, jkey);
			key = full;
		}
		if (json_is_object(v)) {
			if (depth >= 4)
				continue;
			if ((rc = sf_decode_object(rec, v, key, o, NULL, 0, depth + 1, err)))
				return rc;
			continue;
		}
		if (json_is_array(v))
			continue; /* child relationship subqueries are not used by the sync */
		if (v == NULL || (json_is_null(v) && sf_field_type(o, key) < 0 && o && o->fields)) {
			/* a null parent reference, such as "Owner": null */
			int described_prefix = 0;
			size_t kl = strlen(key);
			for (size_t i = 0; o && i < o->nfields; i++)
				if (strncasecmp(o->fields[i].name, key, kl) == 0 &&
				    o->fields[i].name[kl] == '.')
					described_prefix = 1;
			if (described_prefix) {
				if (sf_null_parent(rec, key, o))
					return cs_err(err, CRMSYNC_ENOMEM, "out of memory");
				continue;
			}
		}
		int type;
		if (cache && pos < ncache && strcmp(cache[pos].name, key) == 0) {
			type = cache[pos].type;
		} else {
			type = sf_field_type(o, key);
			if (cache && pos < ncache && strlen(key) < sizeof cache[pos].name) {
				strcpy(cache[pos].name, key);
				cache[pos].type = type;
			}
		}
		pos++;
		if ((rc = sf_set_value(rec, key, v, type, err)))
			return rc;
	}
	return 0;
}

static int sf_page_reserve(sf_client *c, size_t n)
{
	if (n <= c->page_cap)
		return 0;
	cs_record **p = realloc(c->page, n * sizeof *p);
	if (!p)
		return CRMSYNC_ENOMEM;
	c->page = p;
	for (size_t i = c->page_cap; i < n; i++) {
		if (!(p[i] = cs_record_new())) {
			c->page_cap = i;
			return CRMSYNC_ENOMEM;
		}
	}
	c->page_cap = n;
	return 0;
}

int sf_decode_records(sf_client *c, json_t *records, const sf_query_opts *o, size_t *count,
		      cs_error *err)
{
	struct sf_type_cache cache[64];
	size_t n = json_array_size(records);
	int rc;

	memset(cache, 0, sizeof cache);
	if (!json_is_array(records))
		return sf_fail(c, SF_E_PARSE, err, "a query page has no records array");
	if (sf_page_reserve(c, n))
		return sf_fail(c, SF_E_NOMEM, err, "out of memory for a page of %zu records", n);
	for (size_t i = 0; i < n; i++) {
		json_t *r = json_array_get(records, i);
		cs_record_clear(c->page[i]);
		if (!json_is_object(r))
			return sf_fail(c, SF_E_PARSE, err,
				       "record %zu of a query page is not an object", i);
		if ((rc = sf_decode_object(c->page[i], r, NULL, o, cache, 64, 0, err))) {
			c->kind = rc == CRMSYNC_ENOMEM ? SF_E_NOMEM : SF_E_PARSE;
			return cs_err_prefix(err, "record %zu of a query page", i);
		}
	}
	*count = n;
	return 0;
}

static int sf_decode_page_json(sf_client *c, json_t *j, const sf_query_opts *o, sf_page *page,
			       const char **next, cs_error *err)
{
	int rc;
	json_t *ts = json_object_get(j, "totalSize");
	json_t *done = json_object_get(j, "done");
	if (!json_is_object(j) || !json_is_integer(ts) || !json_is_boolean(done))
		return sf_fail(c, SF_E_PARSE, err, "a query page lacks totalSize, done or records");
	page->total_size = json_integer_value(ts);
	page->done = json_is_true(done);
	*next = json_string_value(json_object_get(j, "nextRecordsUrl"));
	if (!page->done && !*next)
		return sf_fail(c, SF_E_PARSE, err,
			       "a query page says not done but has no "
			       "nextRecordsUrl");
	if (*next && strncmp(*next, "/services/data/", 15) != 0)
		return sf_fail(c, SF_E_PARSE, err, "unexpected nextRecordsUrl '%.80s'", *next);
	if ((rc = sf_decode_records(c, json_object_get(j, "records"), o, &page->count, err)))
		return rc;
	page->records = c->page;
	return 0;
}

int sf_decode_page_text(sf_client *c, const char *json, const sf_query_opts *o, sf_page *page,
			char **next_url, cs_error *err)
{
	json_error_t je;
	const char *next = NULL;
	json_t *j = json_loads(json, JSON_DECODE_ANY, &je);
	int rc;

	*next_url = NULL;
	memset(page, 0, sizeof *page);
	if (!j)
		return sf_fail(c, SF_E_PARSE, err, "malformed JSON at byte %d: %s", je.position,
			       je.text);
	rc = sf_decode_page_json(c, j, o, page, &next, err);
	if (!rc && next && !(*next_url = strdup(next)))
		rc = sf_fail(c, SF_E_NOMEM, err, "out of memory");
	json_decref(j);
	return rc;
}

int sf_query(sf_client *c, const char *soql, const sf_query_opts *o, sf_page_cb cb, void *ud,
	     cs_error *err)
{
	sf_buf url = {0};
	char hdr[80];
	struct sf_req r = {0};
	json_t *j = NULL;
	long status;
	int rc;
	sf_page page;
	int64_t index = 0;

	sf_ok(c);
	memset(&page, 0, sizeof page);
	if (sf_data_path(c, &url, "/%s?q=", o && o->all ? "queryAll" : "query") ||
	    sf_url_encode(&url, soql)) {
		rc = sf_fail(c, SF_E_NOMEM, err, "out of memory");
		goto out;
	}
	r.method = "GET";
	r.safety = SF_SAFE;
	if (o && o->batch_size > 0) {
		int bs = o->batch_size < 200 ? 200 : o->batch_size > 2000 ? 2000 : o->batch_size;
		snprintf(hdr, sizeof hdr, "Sforce-Query-Options: batchSize=%d", bs);
		r.extra_header = hdr;
	}
	for (;;) {
		const char *next = NULL;
		r.url = url.s;
		if ((rc = sf_http(c, &r, &status, err)))
			goto out;
		if (status != 200) {
			rc = sf_fail_status(c, &r, status, err);
			goto out;
		}
		if ((rc = sf_parse_body(c, &r, &j, err)))
			goto out;
		if ((rc = sf_decode_page_json(c, j, o, &page, &next, err))) {
			char path[256];
			sf_url_path(r.url, path, sizeof path);
			cs_err_prefix(err, "GET %s", path);
			goto out;
		}
		page.index = index++;
		/* keep the locator, free the parsed page before the callback's work */
		url.len = 0;
		if (next)
			sf_buf_add(&url, next, strlen(next));
		json_decref(j);
		j = NULL;
		if (url.oom) {
			rc = sf_fail(c, SF_E_NOMEM, err, "out of memory");
			goto out;
		}
		if ((rc = cb(ud, &page, err))) {
			c->kind = SF_OK; /* the caller's own reason */
			goto out;
		}
		if (page.done)
			break;
	}
	sf_ok(c);
	rc = 0;
out:
	json_decref(j);
	sf_buf_free(&url);
	return rc;
}

static int sf_count_cb(void *ud, const sf_page *page, cs_error *err)
{
	*(int64_t *)ud = page->total_size;
	return 0;
}

int sf_query_count(sf_client *c, const char *soql, int64_t *n, cs_error *err)
{
	*n = -1;
	return sf_query(c, soql, NULL, sf_count_cb, n, err);
}

/* ---- getUpdated / getDeleted -------------------------------------------------- */

static int sf_replication_range(sf_client *c, const char *what, int64_t *start, int64_t *end,
				int days, cs_error *err)
{
	*start -= ((*start % 60000) + 60000) % 60000;
	*end -= ((*end % 60000) + 60000) % 60000;
	if (*start >= *end) {
		char a[40], b[40];
		cs_format_datetime(*start, a, sizeof a);
		cs_format_datetime(*end, b, sizeof b);
		return sf_fail(c, SF_E_CONFIG, err,
			       "%s: the start %s must be before the end %s (both truncated to the "
			       "minute)",
			       what, a, b);
	}
	if (*start < cs_now_ms() - (int64_t)days * 86400000) {
		char a[40];
		cs_format_datetime(*start, a, sizeof a);
		return sf_fail(c, SF_E_REPLICATION_DATE, err,
			       "%s: the start %s is more than %d days ago; Salesforce keeps no "
			       "changes that old, a full resync is needed",
			       what, a, days);
	}
	return 0;
}

static int sf_replication_get(sf_client *c, const char *type, const char *kind, int64_t start,
			      int64_t end, json_t **j, cs_error *err)
{
	sf_buf url = {0};
	struct sf_req r = {0};
	char a[40], b[40];
	long status;
	int rc;

	cs_format_datetime_sf(start, a, sizeof a);
	cs_format_datetime_sf(end, b, sizeof b);
	sf_buf b0 = {0};
	if (sf_soql_ident(&b0, type, err)) {
		sf_buf_free(&b0);
		return sf_fail(c, SF_E_CONFIG, err, "%s", cs_err_msg(err));
	}
	sf_buf_free(&b0);
	sf_data_path(c, &url, "/sobjects/%s/%s/?start=", type, kind);
	sf_url_encode(&url, a);
	sf_buf_add(&url, "&end=", 5);
	sf_url_encode(&url, b);
	if (url.oom) {
		rc = sf_fail(c, SF_E_NOMEM, err, "out of memory");
		goto out;
	}
	r.method = "GET";
	r.url = url.s;
	r.safety = SF_SAFE;
	if ((rc = sf_http(c, &r, &status, err)))
		goto out;
	if (status != 200) {
		rc = sf_fail_status(c, &r, status, err);
		if (c->kind == SF_E_REPLICATION_DATE)
			cs_err_prefix(err, "a full resync of %s is needed", type);
		goto out;
	}
	rc = sf_parse_body(c, &r, j, err);
out:
	sf_buf_free(&url);
	return rc;
}

static int sf_date_field(sf_client *c, json_t *j, const char *key, int64_t *out, int required,
			 cs_error *err)
{
	const char *s = json_string_value(json_object_get(j, key));
	if (!s) {
		if (!required)
			return 0;
		return sf_fail(c, SF_E_PARSE, err, "the response has no %s", key);
	}
	if (cs_parse_datetime(s, out))
		return sf_fail(c, SF_E_PARSE, err, "%s '%.40s' is not a datetime", key, s);
	return 0;
}

int sf_get_updated(sf_client *c, const char *type, int64_t start_ms, int64_t end_ms,
		   sf_updated_cb cb, void *ud, int64_t *latest_covered, cs_error *err)
{
	json_t *j = NULL;
	int rc;

	sf_ok(c);
	if ((rc = sf_replication_range(c, "getUpdated", &start_ms, &end_ms, 30, err)))
		return rc;
	if ((rc = sf_replication_get(c, type, "updated", start_ms, end_ms, &j, err)))
		return rc;
	json_t *ids = json_object_get(j, "ids");
	if (!json_is_array(ids)) {
		rc = sf_fail(c, SF_E_PARSE, err, "getUpdated of %s: the response has no ids", type);
		goto out;
	}
	if ((rc = sf_date_field(c, j, "latestDateCovered", latest_covered, 1, err)))
		goto out;
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v)
	{
		if (!json_is_string(v)) {
			rc = sf_fail(c, SF_E_PARSE, err, "getUpdated of %s: id %zu is not a string",
				     type, i);
			goto out;
		}
		if ((rc = cb(ud, json_string_value(v), err)))
			goto out;
	}
out:
	json_decref(j);
	return rc;
}

int sf_get_deleted(sf_client *c, const char *type, int64_t start_ms, int64_t end_ms,
		   sf_deleted_cb cb, void *ud, int64_t *latest_covered, int64_t *earliest_available,
		   cs_error *err)
{
	json_t *j = NULL;
	int rc;
	int64_t dummy;

	sf_ok(c);
	if ((rc = sf_replication_range(c, "getDeleted", &start_ms, &end_ms, 15, err)))
		return rc;
	if ((rc = sf_replication_get(c, type, "deleted", start_ms, end_ms, &j, err)))
		return rc;
	json_t *recs = json_object_get(j, "deletedRecords");
	if (!json_is_array(recs)) {
		rc = sf_fail(c, SF_E_PARSE, err,
			     "getDeleted of %s: the response has no deletedRecords", type);
		goto out;
	}
	if ((rc = sf_date_field(c, j, "latestDateCovered", latest_covered, 1, err)))
		goto out;
	if (earliest_available)
		*earliest_available = 0;
	if ((rc = sf_date_field(c, j, "earliestDateAvailable",
				earliest_available ? earliest_available : &dummy, 0, err)))
		goto out;
	size_t i;
	json_t *v;
	json_array_foreach(recs, i, v)
	{
		const char *id = json_string_value(json_object_get(v, "id"));
		int64_t when = 0;
		if (!id || sf_date_field(c, v, "deletedDate", &when, 1, err)) {
			rc = sf_fail(c, SF_E_PARSE, err,
				     "getDeleted of %s: record %zu lacks id or deletedDate", type,
				     i);
			goto out;
		}
		if ((rc = cb(ud, id, when, err)))
			goto out;
	}
out:
	json_decref(j);
	return rc;
}
