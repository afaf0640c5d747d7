/*
 * sf_internal.h - what the core/sf_*.c files share: the client struct, the one
 * request function every call goes through, and the JSON helpers. Not for use
 * outside core/sf_*.c (tests may include it to reach the decoders).
 */
#ifndef CS_SF_INTERNAL_H
#define CS_SF_INTERNAL_H

#include "sf.h"

#include <curl/curl.h>
#include <jansson.h>

struct sf_describe_entry;

struct sf_client {
	/* configuration (copies) */
	char *login_url, *client_id, *client_secret, *username, *password, *refresh_token;
	int grant;
	char *jwt_key_file;
	void *jwt_key; /* EVP_PKEY * of the JWT grant (sf_auth.c), or NULL */
	char api_version[16];
	char *ca_file;
	long connect_timeout_ms, transfer_timeout_ms, retry_base_ms, retry_max_ms;
	int max_retries, budget_percent;
	int duplicates_save; /* Sforce-Duplicate-Rule-Header allowSave=true on writes */

	/* session */
	char *access_token;
	char *instance_url;
	char *auth_header; /* "Authorization: Bearer ..." */

	CURL *curl;
	/* the response being read (reused buffers) */
	char *body;
	size_t body_len, body_cap;
	char content_type[128];
	char last_modified[64];
	char date[64]; /* the answer's Date */
	long retry_after_s;

	/* limits */
	int64_t api_used, api_max;
	int64_t requests;
	int64_t connects; /* new connections opened (keep-alive reuses the rest) */

	/* last failure */
	int kind;
	long status;
	char code[64];

	/* describe cache and the records of the current page */
	struct sf_describe_entry *describes;
	cs_record **page;
	unsigned char *page_fat; /* records that held large values: replaced before reuse */
	size_t page_cap;
	/* the other slot's records (sf_query_opts.slot), swapped in on use */
	cs_record **spare;
	unsigned char *spare_fat;
	size_t spare_cap;
	int page_slot;
	unsigned rng;

	/* refresh_token grant: where the newest refresh token is kept (sf_token.c;
	 * "" for nowhere: memory only), the hex SHA-256 of the configured token
	 * the file's token must descend from, whether the newest token could not
	 * be written (then only memory has it), and whether the token last sent
	 * came from the file */
	char token_file[4096];
	char rt_origin[65];
	int rt_unsaved;
	int rt_from_file;
};

/* A request. Paths starting with "/" go to the instance URL. */
enum sf_safety {
	SF_SAFE = 0,   /* GET and friends: retry on any transient failure */
	SF_IDEMPOTENT, /* upsert by external id, update by id, delete: same as SAFE */
	SF_UNSAFE,     /* create: retried only when it surely was not received */
};

struct sf_req {
	const char *method;	  /* "GET", "POST", "PATCH", "DELETE" */
	const char *url;	  /* "/services/data/..." or an absolute URL */
	const char *body;	  /* NULL for none */
	const char *content_type; /* NULL: application/json when there is a body */
	int safety;		  /* enum sf_safety */
	int no_auth;		  /* the token endpoint */
	int no_budget;		  /* not counted against the budget check */
	const char *headers[2];	  /* more header lines, unused ones NULL */
};

/* Send r (logging in first if needed, re-authenticating once on 401, retrying
 * per r->safety, checking the budget). On return 0, c->body holds the body
 * (NUL-terminated) and *status the HTTP status, which may be any 2xx, 3xx or 4xx:
 * the caller maps 4xx with sf_fail_status. Network failures and exhausted retries
 * return an error. */
int sf_http(sf_client *c, const struct sf_req *r, long *status, cs_error *err);
/* Set the error for a non-2xx response in c->body, mapping errorCode to a kind. */
int sf_fail_status(sf_client *c, const struct sf_req *r, long status, cs_error *err);
/* Parse c->body as JSON (any value). Error names the path and position. */
int sf_parse_body(sf_client *c, const struct sf_req *r, json_t **out, cs_error *err);
/* Set c->kind and the message. Returns the crmsync_status for the kind. */
int sf_fail(sf_client *c, int kind, cs_error *err, const char *fmt, ...) CRMSYNC_PRINTF(4, 5);
void sf_ok(sf_client *c);
/* "/services/data/v59.0" + rest into b. */
int sf_data_path(sf_client *c, sf_buf *b, const char *fmt, ...) CRMSYNC_PRINTF(3, 4);
/* The path part of a URL for messages (no query string). */
void sf_url_path(const char *url, char *out, size_t cap);

int sf_auth_login(sf_client *c, cs_error *err);
/* JWT grant (sf_auth.c): read and check c->jwt_key_file into c->jwt_key (errors
 * name the file and the problem, never its content; warns when others may read
 * it); free it; and the signed assertion for "now" (unix seconds) into b. */
int sf_jwt_load_key(sf_client *c, cs_error *err);
void sf_jwt_free_key(sf_client *c);
int sf_jwt_assertion(sf_client *c, int64_t now_s, sf_buf *b, cs_error *err);
/* The name of a grant for messages ("password", "jwt", ...). */
const char *sf_grant_name(int grant);
void sf_describe_cache_free(sf_client *c);

/* Make slot (0 or 1) the records pages decode into; free both slots. */
void sf_page_slot(sf_client *c, int slot);
void sf_page_free(sf_client *c);
/* Decode one query page from its JSON text into c->page (sf_page.c); the
 * nextRecordsUrl goes to next ("" when done). where names the request in
 * messages. */
int sf_page_decode(sf_client *c, const char *text, size_t len, const sf_query_opts *o,
		   sf_page *page, sf_buf *next, const char *where, cs_error *err);
/* 1 when the response's Content-Type is JSON (or absent and the body looks so). */
int sf_body_is_json(const sf_client *c);
/* Decode a page from NUL-terminated JSON text; *page borrows c's records,
 * *next_url is malloc'ed (NULL when done). */
int sf_decode_page_text(sf_client *c, const char *json, const sf_query_opts *o, sf_page *page,
			char **next_url, cs_error *err);
/* A cs_record to a JSON object for a write (fields in record order). skip may
 * name a field not to send ("Id" for updates). */
json_t *sf_record_to_json(const cs_record *rec, const char *type, const char *skip);

/* Read up to cap bytes of fd into buf (a secret file read whole: the JWT key,
 * the refresh token file), retrying on EINTR; *len is what was read. 0, or
 * -1 with errno set. (sf_auth.c) */
int sf_read_all(int fd, char *buf, size_t cap, size_t *len);

#endif
