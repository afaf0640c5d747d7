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
} sf_multi_query;

/* Called once per query in order: status is the sub-request's HTTP status
 * (0 when its body could not be decoded); page is NULL on failure, with the
 * CRM's error code and message. Return 0 to go on. */
typedef int (*sf_multi_cb)(void *ud, size_t i, int status, const sf_page *page,
			   const char *error_code, const char *error_message, cs_error *err);

int sf_query_multi(sf_client *c, const sf_multi_query *q, size_t n, sf_multi_cb cb, void *ud,
		   cs_error *err);

#endif
