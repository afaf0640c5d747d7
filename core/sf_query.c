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

int sf_decode_page_text(sf_client *c, const char *json, const sf_query_opts *o, sf_page *page,
			char **next_url, cs_error *err)
{
	sf_buf next = {0};
	int rc = sf_page_decode(c, json, strlen(json), o, page, &next, "a query page", err);
	*next_url = NULL;
	if (!rc && next.len && !(*next_url = strdup(next.s)))
		rc = sf_fail(c, SF_E_NOMEM, err, "out of memory");
	sf_buf_free(&next);
	return rc;
}

int sf_query(sf_client *c, const char *soql, const sf_query_opts *o, sf_page_cb cb, void *ud,
	     cs_error *err)
{
	sf_buf url = {0}, next = {0};
	char hdr[80], where[300];
	struct sf_req r = {0};
	long status;
	int rc;
	sf_page page;
	int64_t index = 0;

	sf_ok(c);
	sf_page_slot(c, o && o->slot ? 1 : 0);
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
		r.headers[0] = hdr;
	}
	for (;;) {
		char path[256];
		r.url = url.s;
		if ((rc = sf_http(c, &r, &status, err)))
			goto out;
		if (status != 200) {
			rc = sf_fail_status(c, &r, status, err);
			goto out;
		}
		sf_url_path(r.url, path, sizeof path);
		snprintf(where, sizeof where, "GET %s", path);
		if (!sf_body_is_json(c)) {
			rc = sf_fail(c, SF_E_PARSE, err,
				     "%s: Salesforce answered with %s instead of JSON", where,
				     c->content_type[0] ? c->content_type : "no content type");
			goto out;
		}
		if ((rc = sf_page_decode(c, c->body ? c->body : "", c->body_len, o, &page, &next,
					 where, err)))
			goto out;
		page.index = index++;
		/* the locator of the next page, kept before the callback runs */
		url.len = 0;
		if (next.len)
			sf_buf_add(&url, next.s, next.len);
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
	sf_buf_free(&url);
	sf_buf_free(&next);
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

/* One getUpdated/getDeleted walk: the caller's callback and what the answers
 * said so far. */
struct sf_repl {
	const char *type, *what; /* "Lead", "getUpdated" */
	int deleted;
	sf_updated_cb ucb;
	sf_deleted_cb dcb;
	void *ud;
	int64_t latest, earliest;
	int calls;
};

/* Hand one answer's ids to the callback and note its dates. */
static int sf_replication_deliver(sf_client *c, struct sf_repl *x, json_t *j, cs_error *err)
{
	int rc;
	int64_t latest = 0, earliest = 0;
	json_t *arr = json_object_get(j, x->deleted ? "deletedRecords" : "ids");
	if (!json_is_array(arr))
		return sf_fail(c, SF_E_PARSE, err, "%s of %s: the response has no %s", x->what,
			       x->type, x->deleted ? "deletedRecords" : "ids");
	if ((rc = sf_date_field(c, j, "latestDateCovered", &latest, 1, err)))
		return rc;
	if (x->deleted && (rc = sf_date_field(c, j, "earliestDateAvailable", &earliest, 0, err)))
		return rc;
	x->latest = latest;
	if (earliest > x->earliest)
		x->earliest = earliest;
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		if (!x->deleted) {
			if (!json_is_string(v))
				return sf_fail(c, SF_E_PARSE, err,
					       "getUpdated of %s: id %zu is not a string", x->type,
					       i);
			if ((rc = x->ucb(x->ud, json_string_value(v), err)))
				return rc;
			continue;
		}
		const char *id = json_string_value(json_object_get(v, "id"));
		int64_t when = 0;
		if (!id || sf_date_field(c, v, "deletedDate", &when, 1, err))
			return sf_fail(c, SF_E_PARSE, err,
				       "getDeleted of %s: record %zu lacks id or deletedDate",
				       x->type, i);
		if ((rc = x->dcb(x->ud, id, when, err)))
			return rc;
	}
	return 0;
}

/* [start, end): ask for the window; when Salesforce refuses it for holding too
 * many ids (EXCEEDED_ID_LIMIT, over 600,000), ask for its two halves (split on a
 * minute, the API's resolution) in order, and so on down to one minute. The
 * halves do not overlap (start is inclusive, end exclusive), so every id comes
 * once, in time order. A half whose latestDateCovered stops short of its end
 * (an open transaction) ends the walk there, as the whole window would have. */
static int sf_replication_walk(sf_client *c, struct sf_repl *x, int64_t start, int64_t end,
			       cs_error *err)
{
	json_t *j = NULL;
	int rc;

	x->calls++;
	c->code[0] = '\0'; /* only this answer's errorCode decides a split */
	rc =
	    sf_replication_get(c, x->type, x->deleted ? "deleted" : "updated", start, end, &j, err);
	if (rc && strcmp(c->code, "EXCEEDED_ID_LIMIT") == 0) {
		char a[40], b[40];
		cs_format_datetime(start, a, sizeof a);
		cs_format_datetime(end, b, sizeof b);
		if (end - start <= 60000)
			return sf_fail(
			    c, SF_E_HTTP, err,
			    "%s of %s: more records changed in the minute from %s than "
			    "Salesforce lists in one answer (EXCEEDED_ID_LIMIT), and a "
			    "minute cannot be split; pull this object with a query instead",
			    x->what, x->type, a);
		int64_t mid = start + (end - start) / 2;
		mid -= mid % 60000;
		cs_debug("sf", "%s of %s from %s to %s: too many ids, asking for each half",
			 x->what, x->type, a, b);
		if ((rc = sf_replication_walk(c, x, start, mid, err)))
			return rc;
		if (x->latest < mid)
			return 0;
		return sf_replication_walk(c, x, mid, end, err);
	}
	if (!rc)
		rc = sf_replication_deliver(c, x, j, err);
	json_decref(j);
	return rc;
}

int sf_get_updated(sf_client *c, const char *type, int64_t start_ms, int64_t end_ms,
		   sf_updated_cb cb, void *ud, int64_t *latest_covered, cs_error *err)
{
	struct sf_repl x = {.type = type, .what = "getUpdated", .ucb = cb, .ud = ud};
	int rc;

	sf_ok(c);
	if ((rc = sf_replication_range(c, "getUpdated", &start_ms, &end_ms, 30, err)))
		return rc;
	if ((rc = sf_replication_walk(c, &x, start_ms, end_ms, err)))
		return rc;
	*latest_covered = x.latest;
	if (x.calls > 1)
		cs_debug("sf", "getUpdated of %s: the window took %d calls", type, x.calls);
	sf_ok(c);
	return 0;
}

int sf_get_deleted(sf_client *c, const char *type, int64_t start_ms, int64_t end_ms,
		   sf_deleted_cb cb, void *ud, int64_t *latest_covered, int64_t *earliest_available,
		   cs_error *err)
{
	struct sf_repl x = {.type = type, .what = "getDeleted", .deleted = 1, .dcb = cb, .ud = ud};
	int rc;

	sf_ok(c);
	if (earliest_available)
		*earliest_available = 0;
	if ((rc = sf_replication_range(c, "getDeleted", &start_ms, &end_ms, 15, err)))
		return rc;
	if ((rc = sf_replication_walk(c, &x, start_ms, end_ms, err)))
		return rc;
	*latest_covered = x.latest;
	if (earliest_available)
		*earliest_available = x.earliest;
	if (x.calls > 1)
		cs_debug("sf", "getDeleted of %s: the window took %d calls", type, x.calls);
	sf_ok(c);
	return 0;
}
