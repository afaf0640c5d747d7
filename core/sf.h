/*
 * sf.h - the Salesforce REST client: OAuth2 login, describe, paged queries,
 * getUpdated/getDeleted, sObject collection writes, composite GET batches,
 * API-usage budget, retries and TLS. The sync engine talks to Salesforce only
 * through this header; libcurl and jansson stay inside core/sf_*.c.
 *
 * Every function returns 0 or a negative enum crmsync_status with the detail in
 * the caller's cs_error. The kind of the last failure (what the engine should do
 * about it) is read with sf_error_kind(); see enum sf_error_kind.
 *
 * A client is not thread-safe: one thread uses it at a time.
 */
#ifndef CS_SF_H
#define CS_SF_H

#include "error.h"
#include "record.h"

#include <crmsync/plugin.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sf_client sf_client;

enum sf_grant {
	SF_GRANT_PASSWORD = 0,
	SF_GRANT_REFRESH_TOKEN = 1,
	SF_GRANT_CLIENT_CREDENTIALS = 2,
	/* OAuth 2.0 JWT bearer: an RS256 assertion signed with jwt_key_file
	 * (iss = client_id, sub = username, aud = the login host, exp = 3 min) */
	SF_GRANT_JWT = 3,
};

/* What went wrong, so the caller can react (sf_error_kind()). */
enum sf_error_kind {
	SF_OK = 0,
	SF_E_CONFIG,	       /* bad configuration or argument (e.g. http:// to a remote host) */
	SF_E_AUTH,	       /* the credentials were refused (token endpoint, or 401 twice) */
	SF_E_BUDGET,	       /* the next call would exceed the API budget: nothing was sent */
	SF_E_LIMIT,	       /* Salesforce said REQUEST_LIMIT_EXCEEDED: stop like SF_E_BUDGET */
	SF_E_LOCATOR,	       /* INVALID_QUERY_LOCATOR: restart the query from the checkpoint */
	SF_E_REPLICATION_DATE, /* INVALID_REPLICATION_DATE or out of the window: resync fully */
	SF_E_OUTCOME_UNKNOWN,  /* a create may or may not have landed: check before resending */
	SF_E_HTTP,	       /* an HTTP error status (sf_error_status, sf_error_code) */
	SF_E_NETWORK,	       /* connection, TLS or timeout failure after the retries */
	SF_E_PARSE,	       /* a response that is not the JSON expected */
	SF_E_NOMEM,
};

typedef struct sf_config {
	const char *login_url; /* https://login.salesforce.com (http:// loopback only) */
	const char *client_id;
	const char *client_secret;
	const char *username;
	const char *password;
	const char *refresh_token; /* for SF_GRANT_REFRESH_TOKEN */
	const char *jwt_key_file;  /* for SF_GRANT_JWT: the RSA private key (PEM, unencrypted) */
	int grant;		   /* enum sf_grant */
	const char *api_version;   /* NULL: "59.0" */
	const char *ca_file;	   /* extra CA bundle, or NULL for the system's */
	long connect_timeout_ms;   /* 0: 10 s */
	long transfer_timeout_ms;  /* no byte received for this long aborts; 0: 60 s */
	int max_retries;	   /* retries of a failed safe request; -1: 4 */
	long retry_base_ms;	   /* first backoff delay; 0: 500 ms (doubles, with jitter) */
	long retry_max_ms;	   /* backoff cap; 0: 30 s */
	int budget_percent;	   /* share of the daily API allowance to use; 0: 50 */
	int duplicates_save;	   /* creates and updates save past duplicate rules that alert */
} sf_config;

/* A new client; copies everything in cfg. Nothing is sent until the first call
 * (or sf_login). NULL with err set on a bad config (e.g. refused login URL, or a
 * JWT key file that is missing or not an RSA private key: read here, once). */
sf_client *sf_client_new(const sf_config *cfg, cs_error *err);
void sf_client_free(sf_client *c); /* NULL is fine */

/* Log in now (otherwise the first call does). */
int sf_login(sf_client *c, cs_error *err);
/* The instance URL the token response handed out ("" before login). */
const char *sf_instance_url(const sf_client *c);

/* The kind and Salesforce errorCode ("" if none) of the last failed call (SF_OK
 * and "" after a success), and the HTTP status of the last response (0 when
 * the last attempt got none). */
int sf_error_kind(const sf_client *c);
long sf_error_status(const sf_client *c);
const char *sf_error_code(const sf_client *c);
const char *sf_error_kind_name(int kind);

/* API usage from the last Sforce-Limit-Info header (-1 when not seen yet), and
 * the budget in calls (max * percent / 100, -1 when max is unknown). */
void sf_limits(const sf_client *c, int64_t *used, int64_t *max, int64_t *budget);
/* Ask Salesforce for the current daily allowance (GET /limits, sent even when
 * the budget is used up) and update used/max: how the engine finds out that
 * the rolling 24-hour allowance has room again after SF_E_BUDGET. */
int sf_refresh_limits(sf_client *c, cs_error *err);
/* Number of HTTP requests this client sent to Salesforce (data and token). */
int64_t sf_request_count(const sf_client *c);

/* ---- describe ------------------------------------------------------------ */

typedef struct sf_describe {
	const char *name; /* "Lead" */
	int replicateable, queryable, createable, updateable, deletable;
	size_t nfields;
	const crmsync_field_desc *fields; /* every field the user can read */
} sf_describe;

/* Describe sObject `type`. Cached in the client and refreshed with
 * If-Modified-Since; *changed (may be NULL) is 1 when the describe is new or
 * differs from the cached one. The result is owned by the client and valid until
 * sf_client_free (a refreshed describe does not free the previous one). */
int sf_describe_object(sf_client *c, const char *type, const sf_describe **out, int *changed,
		       cs_error *err);
/* The Last-Modified of the cached describe of `type` (an HTTP date), or NULL
 * when none is cached. */
const char *sf_describe_last_modified(sf_client *c, const char *type);
/* The readable fields intersected with `wanted` (NULL-terminated API names,
 * matched case-insensitively; NULL means all readable). "Id" is always included.
 * *out is a malloc'ed array (free() it) of descriptors borrowed from d. Wanted
 * names that are not readable are skipped and logged at debug. */
int sf_fields_select(const sf_describe *d, const char *const *wanted, crmsync_field_desc **out,
		     size_t *n, cs_error *err);
/* Map a describe type ("datetime", "currency", ...) to enum crmsync_type. */
int sf_type_from_describe(const char *t);

/* ---- SOQL ---------------------------------------------------------------- */

/* A growable string for building SOQL. Zero-initialise; free with sf_buf_free. */
typedef struct sf_buf {
	char *s;
	size_t len, cap;
	int oom;
} sf_buf;
void sf_buf_free(sf_buf *b);
int sf_buf_add(sf_buf *b, const char *s, size_t len);
int sf_buf_addf(sf_buf *b, const char *fmt, ...) CRMSYNC_PRINTF(2, 3);

/* Literals, appended to b. Each validates and returns 0 or CRMSYNC_EINVAL. */
/* 'text' with every SOQL escape; rejects NUL bytes and invalid UTF-8. */
int sf_soql_string(sf_buf *b, const char *s, size_t len, cs_error *err);
/* The same for the pattern of LIKE, also escaping % and _ (match literally). */
int sf_soql_like_literal(sf_buf *b, const char *s, size_t len, cs_error *err);
/* YYYY-MM-DD, unquoted, validated. */
int sf_soql_date(sf_buf *b, const char *date, cs_error *err);
/* YYYY-MM-DDThh:mm:ssZ (with .sss when ms is not a whole second), unquoted. */
int sf_soql_datetime(sf_buf *b, int64_t ms);
/* 'id' after checking 15 or 18 characters of [0-9A-Za-z]. */
int sf_soql_id(sf_buf *b, const char *id, cs_error *err);
int sf_soql_bool(sf_buf *b, int v);
int sf_soql_int(sf_buf *b, int64_t v);
int sf_soql_double(sf_buf *b, double v, cs_error *err); /* finite only */
/* Any value by its type (NULL -> null). */
int sf_soql_value(sf_buf *b, const crmsync_value *v, cs_error *err);
/* An identifier: field path (Owner.Name) or object name; letters, digits, _ and . */
int sf_soql_ident(sf_buf *b, const char *name, cs_error *err);
/* 1 when id is 15 or 18 characters of [0-9A-Za-z]. */
int sf_id_valid(const char *id);
/* The keyset pull query:
 *   SELECT f1,... FROM T WHERE (SystemModstamp > X OR (SystemModstamp = X AND Id > 'id'))
 *   [AND (filter)] ORDER BY SystemModstamp, Id LIMIT n
 * since_ms <= 0 means no watermark (everything); last_id NULL means "> X" only.
 * filter is a SOQL condition written by the configuration (not escaped). */
int sf_soql_keyset(sf_buf *b, const char *type, const char *const *fields, size_t nfields,
		   int64_t since_ms, const char *last_id, const char *filter, int limit,
		   cs_error *err);
/* The first copy's query, in Id order:
 *   SELECT f1,... FROM T [WHERE Id > 'id'] [AND (filter)] ORDER BY Id LIMIT n
 * last_id NULL or empty: from the first record. */
int sf_soql_by_id(sf_buf *b, const char *type, const char *const *fields, size_t nfields,
		  const char *last_id, const char *filter, int limit, cs_error *err);

/* ---- queries ------------------------------------------------------------- */

typedef struct sf_page {
	cs_record *const *records; /* borrowed; reused for the next page */
	size_t count;
	int64_t total_size; /* totalSize of the whole result */
	int done;	    /* last page */
	int64_t index;	    /* 0-based number of this page */
} sf_page;

/* Return 0 to continue, or a negative code (with err set) to stop. */
typedef int (*sf_page_cb)(void *ud, const sf_page *page, cs_error *err);

typedef struct sf_query_opts {
	int all;	/* queryAll: include deleted and merged rows */
	int batch_size; /* Sforce-Query-Options: batchSize (200..2000), 0: default */
	/* Types of the selected fields (from describe) so values decode as
	 * DATETIME, DATE, ID, ...; fields not listed keep their JSON type. */
	const crmsync_field_desc *fields;
	size_t nfields;
	/* Which of the client's two sets of page records to decode into (0 or 1):
	 * a caller still holding a page of one slot may run the next query into
	 * the other, from another thread (the client is not used concurrently). */
	int slot;
} sf_query_opts;

/* Run soql and hand the result to cb page by page (memory: one page). A dead
 * locator fails with SF_E_LOCATOR. opts may be NULL. */
int sf_query(sf_client *c, const char *soql, const sf_query_opts *opts, sf_page_cb cb, void *ud,
	     cs_error *err);
/* SELECT COUNT() ... -> *n. */
int sf_query_count(sf_client *c, const char *soql, int64_t *n, cs_error *err);

/* getUpdated / getDeleted. start and end are truncated to the minute and must be
 * ordered; start may not be older than 30 (updated) or 15 (deleted) days on the
 * client's clock (SF_E_REPLICATION_DATE, nothing sent). *latest_covered is the
 * next start. */
typedef int (*sf_updated_cb)(void *ud, const char *id, cs_error *err);
typedef int (*sf_deleted_cb)(void *ud, const char *id, int64_t deleted_ms, cs_error *err);
int sf_get_updated(sf_client *c, const char *type, int64_t start_ms, int64_t end_ms,
		   sf_updated_cb cb, void *ud, int64_t *latest_covered, cs_error *err);
int sf_get_deleted(sf_client *c, const char *type, int64_t start_ms, int64_t end_ms,
		   sf_deleted_cb cb, void *ud, int64_t *latest_covered, int64_t *earliest_available,
		   cs_error *err);

/* ---- writes (sObject collections) ------------------------------------------ */

typedef struct sf_record_error {
	char *status_code; /* "REQUIRED_FIELD_MISSING" */
	char *message;
	char **fields;
	size_t nfields;
} sf_record_error;

typedef struct sf_write_result {
	int success;
	int created; /* upsert: 1 when a new record was made; create: 1 on success */
	char id[19]; /* "" when none */
	sf_record_error *errors;
	size_t nerrors;
} sf_write_result;

typedef struct sf_write_results {
	sf_write_result *items; /* in input order */
	size_t count;		/* records with a known outcome */
} sf_write_results;

void sf_write_results_free(sf_write_results *r);

/* Each call splits the input into batches of at most 200 (one API call each)
 * and fills out->items[i] for input i. On failure, out->count tells how many
 * leading records have a known outcome. allOrNone is false. Record fields are
 * sent as they are typed (DATETIME as Salesforce datetime text); an update
 * record must carry "Id" (which names the record), an upsert record the external
 * id field; a create's "Id" is not sent. A create that may have reached
 * Salesforce but got no clear answer (5xx, dropped connection, timeout) is not
 * resent and fails with SF_E_OUTCOME_UNKNOWN; update, upsert and delete are
 * retried like reads, since repeating them cannot duplicate anything. */
int sf_create(sf_client *c, const char *type, cs_record *const *recs, size_t n,
	      sf_write_results *out, cs_error *err);
int sf_update(sf_client *c, const char *type, cs_record *const *recs, size_t n,
	      sf_write_results *out, cs_error *err);
int sf_upsert(sf_client *c, const char *type, const char *ext_field, cs_record *const *recs,
	      size_t n, sf_write_results *out, cs_error *err);
int sf_delete(sf_client *c, const char *const *ids, size_t n, sf_write_results *out, cs_error *err);

/* ---- composite ----------------------------------------------------------- */

typedef struct sf_sub_result {
	int status;	    /* HTTP status of the subrequest */
	char *body;	    /* its JSON body as text (malloc'ed), or NULL */
	int64_t total_size; /* for a query: totalSize, else -1 */
	char *error_code;   /* for an error: the first errorCode, else NULL */
	char *error_message;
} sf_sub_result;

/* Send the GET subrequests `urls` (paths such as those of sf_query_url) in
 * POST /composite requests of at most 25 subrequests, of which at most 5
 * queries (Salesforce's limits; one API call each). ims, when not NULL, gives
 * each subrequest an If-Modified-Since (NULL: none). out must hold n results;
 * free them with sf_sub_results_free. A failing subrequest is reported in its
 * result, not as a failure of the call. */
int sf_composite_get(sf_client *c, const char *const *urls, const char *const *ims, size_t n,
		     sf_sub_result *out, cs_error *err);
void sf_sub_results_free(sf_sub_result *r, size_t n);
/* "/services/data/vNN.N/query?q=<encoded soql>" into b. */
int sf_query_url(sf_client *c, sf_buf *b, const char *soql);

/* ---- pieces exposed for tests and the engine --------------------------------- */

/* Copy in to out (cap bytes, NUL-terminated), replacing the value of secrets with
 * "[REDACTED]": Authorization headers, Bearer tokens, password=, client_secret=,
 * refresh_token=, access_token=, assertion= (form or query), JSON "access_token",
 * "refresh_token", "password", "client_secret", "signature", and any exact
 * occurrence of the strings in extra (NULL-terminated, may be NULL). */
void sf_redact(const char *in, char *out, size_t cap, const char *const *extra);
/* 0 if url may be used: https://, or http:// to a loopback host. */
int sf_url_check(const char *url, const char *what, cs_error *err);
/* Parse "api-usage=12/15000[; ...]" into used and max: 0 or -1. */
int sf_parse_limit_info(const char *value, int64_t *used, int64_t *max);
/* Backoff before retry `attempt` (0-based): min(cap, base * 2^attempt) scaled by
 * a jitter factor in [0.5, 1] taken from r01 in [0, 1). */
long sf_backoff_ms(long base_ms, long cap_ms, int attempt, double r01);
/* The "aud" claim of a JWT assertion for a login URL: https://test.salesforce.com
 * for test.salesforce.com and sandbox My Domains (*.sandbox.my.salesforce.com),
 * https://login.salesforce.com for login.salesforce.com and other My Domains
 * (*.my.salesforce.com), else the login URL itself (an Experience Cloud site,
 * or a loopback emulator) without a trailing slash. */
void sf_jwt_audience(const char *login_url, char *out, size_t cap);
/* Seconds to wait from a Retry-After header value: delay-seconds or an
 * HTTP-date (relative to now_s); 0 when absent, malformed or past; at most a
 * day. The wait before a retry is the larger of this and the backoff, capped
 * by the client's retry_max_ms. */
long sf_parse_retry_after(const char *value, int64_t now_s);
/* Percent-encode everything but unreserved characters (RFC 3986). */
int sf_url_encode(sf_buf *b, const char *s);

#endif
