/*
 * sf_composite.c - several GET subrequests in one POST /composite (one API
 * call for up to 25, of which up to 5 queries), so an idle cycle asks five
 * units "anything new?" per call;
 * and GET /limits, the other call that reads org state rather than records.
 */
#include "config.h"
#include "sf_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Salesforce's limits per composite request: 25 subrequests, of which at
 * most 5 query operations (query, queryAll, query more) or sObject
 * Collections. */
#define SF_COMPOSITE_MAX 25
#define SF_COMPOSITE_QUERIES 5

/* Does a subrequest count against SF_COMPOSITE_QUERIES? */
static int sf_composite_is_query(const char *url)
{
	const char *p = strchr(url + 15, '/'); /* after /services/data/vNN.N */
	return p && (strncmp(p, "/query", 6) == 0 || strncmp(p, "/composite/sobjects", 19) == 0);
}

void sf_sub_results_free(sf_sub_result *r, size_t n)
{
	for (size_t i = 0; r && i < n; i++) {
		free(r[i].body);
		free(r[i].error_code);
		free(r[i].error_message);
		memset(&r[i], 0, sizeof r[i]);
	}
}

static int sf_composite_batch(sf_client *c, const char *const *urls, const char *const *ims,
			      size_t n, sf_sub_result *out, cs_error *err)
{
	json_t *body = json_object(), *arr = json_array(), *res = NULL;
	sf_buf url = {0};
	struct sf_req r = {0};
	char *text = NULL;
	long status;
	int rc;

	if (!body || !arr || json_object_set_new(body, "allOrNone", json_false()) ||
	    json_object_set_new(body, "compositeRequest", arr)) {
		json_decref(arr);
		rc = sf_fail(c, SF_E_NOMEM, err, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		char ref[32];
		snprintf(ref, sizeof ref, "r%zu", i);
		if (!urls[i] || strncmp(urls[i], "/services/data/", 15) != 0) {
			rc = sf_fail(c, SF_E_CONFIG, err,
				     "composite: subrequest %zu is not a /services/data/ path", i);
			goto out;
		}
		json_t *sub =
		    json_pack("{s:s,s:s,s:s}", "method", "GET", "url", urls[i], "referenceId", ref);
		if (sub && ims && ims[i])
			json_object_set_new(sub, "httpHeaders",
					    json_pack("{s:s}", "If-Modified-Since", ims[i]));
		if (json_array_append_new(arr, sub)) {
			rc = sf_fail(c, SF_E_NOMEM, err, "out of memory");
			goto out;
		}
	}
	text = json_dumps(body, JSON_COMPACT);
	if (!text || sf_data_path(c, &url, "/composite")) {
		rc = sf_fail(c, SF_E_NOMEM, err, "out of memory");
		goto out;
	}
	r.method = "POST";
	r.url = url.s;
	r.body = text;
	r.safety = SF_SAFE; /* GET subrequests only: nothing is written */
	if ((rc = sf_http(c, &r, &status, err)))
		goto out;
	if (status != 200) {
		rc = sf_fail_status(c, &r, status, err);
		goto out;
	}
	if ((rc = sf_parse_body(c, &r, &res, err)))
		goto out;
	json_t *subs = json_object_get(res, "compositeResponse");
	if (!json_is_array(subs) || json_array_size(subs) != n) {
		rc = sf_fail(c, SF_E_PARSE, err, "composite: expected %zu subresponses, got %zu", n,
			     json_array_size(subs));
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(subs, i);
		const char *ref = json_string_value(json_object_get(s, "referenceId"));
		size_t k = i;
		/* results come in request order; the reference id confirms it */
		if (ref && ref[0] == 'r')
			k = strtoul(ref + 1, NULL, 10);
		if (k >= n)
			k = i;
		sf_sub_result *o = &out[k];
		json_t *b = json_object_get(s, "body");
		o->status = (int)json_integer_value(json_object_get(s, "httpStatusCode"));
		o->total_size = -1;
		if (b && !json_is_null(b) &&
		    !(o->body = json_dumps(b, JSON_COMPACT | JSON_ENCODE_ANY))) {
			rc = sf_fail(c, SF_E_NOMEM, err, "out of memory");
			goto out;
		}
		if (json_is_integer(json_object_get(b, "totalSize")))
			o->total_size = json_integer_value(json_object_get(b, "totalSize"));
		json_t *e0 = json_is_array(b) ? json_array_get(b, 0) : NULL;
		const char *code = json_string_value(json_object_get(e0, "errorCode"));
		const char *msg = json_string_value(json_object_get(e0, "message"));
		if (o->status >= 300 && code) {
			o->error_code = strdup(code);
			o->error_message = strdup(msg ? msg : "");
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

int sf_composite_get(sf_client *c, const char *const *urls, const char *const *ims, size_t n,
		     sf_sub_result *out, cs_error *err)
{
	int rc;

	sf_ok(c);
	memset(out, 0, n * sizeof *out);
	for (size_t base = 0, k; base < n; base += k) {
		size_t nq = 0;
		for (k = 0; base + k < n && k < SF_COMPOSITE_MAX; k++) {
			const char *u = urls[base + k];
			int q =
			    u && strncmp(u, "/services/data/", 15) == 0 && sf_composite_is_query(u);
			if (q && nq == SF_COMPOSITE_QUERIES)
				break;
			nq += (size_t)q;
		}
		if ((rc = sf_composite_batch(c, urls + base, ims ? ims + base : NULL, k, out + base,
					     err)))
			return rc;
	}
	sf_ok(c);
	return 0;
}

int sf_refresh_limits(sf_client *c, cs_error *err)
{
	sf_buf url = {0};
	struct sf_req r = {0};
	json_t *j = NULL;
	long status;
	int rc;

	sf_ok(c);
	if (sf_data_path(c, &url, "/limits")) {
		rc = sf_fail(c, SF_E_NOMEM, err, "out of memory");
		goto out;
	}
	r.method = "GET";
	r.url = url.s;
	r.safety = SF_SAFE;
	r.no_budget = 1;
	if ((rc = sf_http(c, &r, &status, err)))
		goto out;
	if (status != 200) {
		rc = sf_fail_status(c, &r, status, err);
		goto out;
	}
	if ((rc = sf_parse_body(c, &r, &j, err)))
		goto out;
	json_t *d = json_object_get(j, "DailyApiRequests");
	json_t *max = json_object_get(d, "Max"), *rem = json_object_get(d, "Remaining");
	if (!json_is_integer(max) || !json_is_integer(rem) || json_integer_value(max) <= 0) {
		rc = sf_fail(c, SF_E_PARSE, err,
			     "GET /limits: no DailyApiRequests Max and Remaining");
		goto out;
	}
	c->api_max = json_integer_value(max);
	c->api_used = c->api_max - json_integer_value(rem);
	if (c->api_used < 0)
		c->api_used = 0;
	rc = 0;
out:
	json_decref(j);
	sf_buf_free(&url);
	return rc;
}
