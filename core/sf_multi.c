/* sf_multi.c - several queries in one composite request (one API call per
 * five, Salesforce's limit of queries per request), each sub-result decoded
 * like the first page of sf_query, each optionally with a conditional describe
 * of its sObject (describes do not count against the five). This is how an
 * idle cycle asks every unit "anything new, or a new schema?" for the price
 * of one call per five units. */
#include "config.h"
#include "sf_internal.h"
#include "sf_multi.h"

#include <stdlib.h>
#include <string.h>

int sf_query_multi(sf_client *c, const sf_multi_query *q, size_t n, sf_multi_cb cb, void *ud,
		   cs_error *err)
{
	/* each query, followed by its describe when asked for: the composite
	 * requests take five queries with their describes each */
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		m += 1 + (q[i].describe_sobject && q[i].describe_since);
	sf_buf *urls = calloc(m ? m : 1, sizeof *urls);
	const char **u = calloc(m ? m : 1, sizeof *u);
	const char **ims = calloc(m ? m : 1, sizeof *ims);
	size_t *at = calloc(n ? n : 1, sizeof *at); /* query i's subrequest */
	sf_sub_result *res = calloc(m ? m : 1, sizeof *res);
	int rc = 0;

	if (!urls || !u || !ims || !at || !res) {
		rc = cs_err(err, CRMSYNC_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0, k = 0; i < n; i++) {
		at[i] = k;
		if (q[i].all ? sf_data_path(c, &urls[k], "/queryAll?q=") ||
				   sf_url_encode(&urls[k], q[i].soql)
			     : sf_query_url(c, &urls[k], q[i].soql)) {
			rc = cs_err(err, CRMSYNC_ENOMEM, "out of memory");
			goto out;
		}
		u[k] = urls[k].s;
		k++;
		if (q[i].describe_sobject && q[i].describe_since) {
			if (sf_data_path(c, &urls[k], "/sobjects/%s/describe",
					 q[i].describe_sobject)) {
				rc = cs_err(err, CRMSYNC_ENOMEM, "out of memory");
				goto out;
			}
			u[k] = urls[k].s;
			ims[k++] = q[i].describe_since;
		}
	}
	if ((rc = sf_composite_get(c, u, ims, m, res, err)))
		goto out;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const sf_sub_result *r = &res[at[i]];
		int schema_changed = 0;
		if (q[i].describe_sobject && q[i].describe_since)
			schema_changed = res[at[i] + 1].status != 304;
		sf_page page;
		char *next = NULL;
		memset(&page, 0, sizeof page);
		if (r->status >= 200 && r->status < 300 && r->body) {
			cs_error derr = CS_ERROR_INIT;
			if (sf_decode_page_text(c, r->body, q[i].opts, &page, &next, &derr)) {
				rc = cb(ud, i, 0, NULL, "PARSE", derr.msg, schema_changed, err);
				free(next);
				continue;
			}
			free(next);
			rc = cb(ud, i, r->status, &page, NULL, NULL, schema_changed, err);
		} else {
			rc = cb(ud, i, r->status, NULL, r->error_code ? r->error_code : "HTTP",
				r->error_message ? r->error_message : "no message", schema_changed,
				err);
		}
	}
out:
	if (res)
		sf_sub_results_free(res, m);
	free(res);
	if (urls)
		for (size_t i = 0; i < m; i++)
			sf_buf_free(&urls[i]);
	free(urls);
	free(u);
	free(ims);
	free(at);
	return rc;
}
