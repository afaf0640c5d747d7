/* sf_multi.c - several queries in one composite request (one API call per 25),
 * each sub-result decoded like the first page of sf_query. This is how an idle
 * cycle asks every unit "anything new?" for the price of one call. */
#include "config.h"
#include "sf_internal.h"
#include "sf_multi.h"

#include <stdlib.h>
#include <string.h>

int sf_query_multi(sf_client *c, const sf_multi_query *q, size_t n, sf_multi_cb cb, void *ud,
		   cs_error *err)
{
	sf_buf *urls = calloc(n ? n : 1, sizeof *urls);
	const char **u = calloc(n ? n : 1, sizeof *u);
	sf_sub_result *res = calloc(n ? n : 1, sizeof *res);
	int rc = 0;

	if (!urls || !u || !res) {
		rc = cs_err(err, CRMSYNC_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (q[i].all) {
			if (sf_data_path(c, &urls[i], "/queryAll?q=") ||
			    sf_url_encode(&urls[i], q[i].soql)) {
				rc = cs_err(err, CRMSYNC_ENOMEM, "out of memory");
				goto out;
			}
		} else if (sf_query_url(c, &urls[i], q[i].soql)) {
			rc = cs_err(err, CRMSYNC_ENOMEM, "out of memory");
			goto out;
		}
		u[i] = urls[i].s;
	}
	if ((rc = sf_composite_get(c, u, n, res, err)))
		goto out;
	for (size_t i = 0; i < n && rc == 0; i++) {
		sf_page page;
		char *next = NULL;
		memset(&page, 0, sizeof page);
		if (res[i].status >= 200 && res[i].status < 300 && res[i].body) {
			cs_error derr = CS_ERROR_INIT;
			if (sf_decode_page_text(c, res[i].body, q[i].opts, &page, &next, &derr)) {
				rc = cb(ud, i, 0, NULL, "PARSE", derr.msg, err);
				free(next);
				continue;
			}
			free(next);
			rc = cb(ud, i, res[i].status, &page, NULL, NULL, err);
		} else {
			rc = cb(ud, i, res[i].status, NULL,
				res[i].error_code ? res[i].error_code : "HTTP",
				res[i].error_message ? res[i].error_message : "no message", err);
		}
	}
out:
	if (res)
		sf_sub_results_free(res, n);
	free(res);
	if (urls)
		for (size_t i = 0; i < n; i++)
			sf_buf_free(&urls[i]);
	free(urls);
	free(u);
	return rc;
}
