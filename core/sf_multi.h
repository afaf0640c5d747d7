/*
 * sf_multi.h - several SOQL queries in one composite request. Each sub-result
 * is the first page of that query (enough for "anything new?" checks).
 */
#ifndef CS_SF_MULTI_H
#define CS_SF_MULTI_H

#include "sf.h"

typedef struct sf_multi_query {
	const char *soql;
	int all;		   /* queryAll */
	const sf_query_opts *opts; /* field types for decoding, may be NULL */
	/* with both set, the same request asks for this sObject's describe if
	 * modified since then (an HTTP date): the answer is the callback's
	 * schema_changed */
	const char *describe_sobject, *describe_since;
} sf_multi_query;

/* Called once per query in order: status is the sub-request's HTTP status
 * (0 when its body could not be decoded); page is NULL on failure, with the
 * CRM's error code and message. schema_changed: 0 the describe was not asked
 * for or is unchanged (304), 1 it changed (or could not be told). Return 0 to
 * go on. */
typedef int (*sf_multi_cb)(void *ud, size_t i, int status, const sf_page *page,
			   const char *error_code, const char *error_message, int schema_changed,
			   cs_error *err);

int sf_query_multi(sf_client *c, const sf_multi_query *q, size_t n, sf_multi_cb cb, void *ud,
		   cs_error *err);

#endif
