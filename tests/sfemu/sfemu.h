/*
 * sfemu.h - shared state and helpers of the Salesforce REST API emulator.
 *
 * The emulator is one process: an HTTP front end (main.c), the OAuth endpoints
 * (oauth.c), the data API (api.c, query.c, collections in api.c), the control
 * plane (control.c), the schema (schema.c), the record store on SQLite
 * (store.c) and the seeder (seed.c). Every request runs under one mutex, so the
 * state below needs no finer locking.
 */
#ifndef SFEMU_H
#define SFEMU_H

#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "soql.h"

struct emu;

/* ---- growable text buffer ---- */
typedef struct buf {
	char *p;
	size_t len, cap;
} buf;

void buf_reserve(buf *b, size_t extra);
void buf_put(buf *b, const char *s, size_t n);
void buf_puts(buf *b, const char *s);
void buf_putc(buf *b, char c);
void buf_printf(buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as a JSON string literal (quotes included). */
void buf_json_str(buf *b, const char *s, size_t n);
void buf_free(buf *b);
/* Takes the NUL-terminated text; the buffer is left empty. */
char *buf_take(buf *b);

/* ---- time ---- */
/* "2024-01-01T00:00:00.000+0000" (28 chars + NUL). */
void fmt_datetime(int64_t ms, char out[32]);
/* "2024-01-01" */
void fmt_date(int64_t ms, char out[16]);
/* ISO 8601 datetime with Z, +hh:mm, +hhmm, optional .SSS; also a bare date. 0 ok, -1 bad. */
int parse_datetime(const char *s, int64_t *ms);
int parse_date(const char *s, char out[11]);
int64_t days_from_civil(int64_t y, unsigned m, unsigned d);
int64_t wall_ms(void);

/* ---- ids ---- */
int id_checksum(const char id15[15], char out[3]);
/* Normalises a 15- or 18-char id to 18 chars (checksum verified); -1 if malformed. */
int id_norm(const char *in, char out[19]);

/* ---- schema ---- */
typedef enum {
	FT_ID,
	FT_REFERENCE,
	FT_STRING,
	FT_TEXTAREA,
	FT_BOOLEAN,
	FT_INT,
	FT_DOUBLE,
	FT_CURRENCY,
	FT_PERCENT,
	FT_DATE,
	FT_DATETIME,
	FT_PICKLIST,
	FT_MULTIPICKLIST,
	FT_EMAIL,
	FT_PHONE,
	FT_URL,
	FT_COMBOBOX,
	FT__COUNT
} ftype;

typedef struct emu_field {
	soql_field sf; /* what the SOQL compiler sees */
	char *name, *label;
	ftype type;
	int length, precision, scale, digits;
	bool nillable, createable, updateable, defaulted, unique, case_sensitive, external_id,
	    id_lookup, calculated, custom, auto_number, filterable, sortable, groupable, name_field,
	    restricted, polymorphic, required, create_only;
	char **reference_to;
	int nref;
	bool is_system;
	char *relationship;
	char **pick;
	int npick;
	char *pick_default;
	json_t *default_value; /* value put on create when the field is absent */
	char *computed;	       /* derived value: name, isclosed, iswon, responded, ... */
	bool fls_read, fls_edit;
} emu_field;

typedef struct emu_object {
	char *name, *label, *label_plural, *key_prefix;
	bool custom, has_is_deleted, createable, updateable, deletable, queryable, replicateable,
	    undeletable, mergeable, searchable, triggerable, layoutable, readable;
	emu_field *fields;
	int nfields;
	int name_field; /* index of the name field, -1 none */
} emu_object;

typedef struct emu_schema {
	emu_object *objs;
	int nobjs;
	int64_t changed_ms; /* for If-Modified-Since */
} emu_schema;

int schema_load(emu_schema *s, const char *json_text, char *err, size_t errlen);
void schema_free(emu_schema *s);
extern const char schema_default_json[];
emu_object *schema_object(emu_schema *s, const char *name); /* case-insensitive */
emu_object *schema_object_by_prefix(emu_schema *s, const char *prefix3);
emu_field *object_field(emu_object *o, const char *name); /* case-insensitive, ignores FLS */
emu_field *object_readable_field(emu_object *o, const char *name);
const char *ftype_name(ftype t);
void schema_soql(struct emu *e, soql_schema *out);
const char *const *schema_more_parents(void *ud, const char *object, const soql_field *ref);

/* ---- errors returned to clients ---- */
typedef struct emu_err {
	int http;
	char code[48];
	char msg[1024];
	char fields[256]; /* comma-separated field names, may be empty */
} emu_err;

int emu_seterr(emu_err *e, int http, const char *code, const char *fields, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* ---- configurable behaviours (the spec's open points) ---- */
typedef struct emu_config {
	int locator_status;   /* INVALID_QUERY_LOCATOR: 400 (default) or 404 */
	int deleted_get_code; /* GET of a bin record: 0 NOT_FOUND (default), 1 ENTITY_IS_DELETED */
	int patch_missing_xref; /* PATCH of a missing id: 0 NOT_FOUND, 1 INVALID_CROSS_REFERENCE_KEY
				 */
	char converted_msg[128];   /* CANNOT_UPDATE_CONVERTED_LEAD text */
	int min_replication_gap_s; /* getUpdated end - start must exceed this (after truncation) */
	int user_has_isdeleted;	   /* 0 */
	int cursor_replay;	   /* 1: a locator may be fetched again */
	int legacy_cursors;	   /* 0: by API version (<56: 10 open, 15 min), 1 always, 2 never */
	int cursor_max;		   /* -1: by legacy mode; 0 unlimited */
	int64_t cursor_ttl_ms;	   /* -1: by legacy mode */
	int64_t token_ttl_ms;	   /* 2 h */
	int chaos_batch;	   /* 0 off; otherwise the page size is at most this */
	int cascade_deletes;	   /* 1: deletes cascade like an org's (account -> contacts, ...) */
	int cursor_live;	   /* 0: snapshot ids at query time (default); 1: re-run per page */
	int key_casing_query;	   /* 0: canonical keys (default); 1: as spelled in the SELECT */
	int signature_mode;	   /* 0: HMAC-SHA256 of id + issued_at (default); 1: omitted */
	int refresh_rotation;	   /* 0: the refresh grant returns no new refresh token */
	int max_ids;		   /* getUpdated/getDeleted id limit: 600000 */
	int default_batch;	   /* 2000 */
} emu_config;

/* ---- the emulator ---- */
typedef struct cursor cursor;
typedef struct fault fault;

typedef struct emu {
	pthread_mutex_t mu;
	sqlite3 *db;
	char *state_file;
	emu_schema schema;
	emu_config cfg;
	/* identities */
	char *username, *password, *client_id, *client_secret, *refresh_token;
	char *instance_url, *login_url;
	char org_id[19], user_id[19], crm_user_id[19];
	/* clock */
	int64_t clock_base_ms, clock_wall_at_base;
	bool clock_frozen;
	/* ids */
	uint64_t id_counter, id_salt;
	uint64_t rng_seed;
	/* api limits */
	long api_max, api_used;
	/* per-app usage (Sforce-Limit-Info per-app-api-usage): calls made with tokens issued
	 * to app_client; off while app_client is NULL */
	char *app_client, *app_name;
	long app_max, app_used;
	/* replication */
	int64_t open_txn_start; /* 0 none */
	int64_t org_created_ms;
	/* cursors, faults, log, stats live in their modules */
	cursor *cursors;
	fault *faults;
	int next_fault_id;
	json_t *log;	/* array, ring of the last N requests */
	json_t *stats;	/* object endpoint -> count */
	json_t *tokens; /* object token -> {exp, user, revoked} */
	json_t *rules;	/* validation rules: [{object, field, reject, message}] */
	long total_calls;
	int in_composite; /* subrequests are not counted separately */
	long log_seq;
	struct emu_tls {
		char *cert, *key;
	} tls;
} emu;

int64_t emu_now(emu *e);
void emu_clock_set(emu *e, int64_t ms);
int emu_db_exec(emu *e, const char *sql);

/* ---- HTTP request / response ---- */
typedef struct req {
	const char *method;
	const char *path;
	const char *body;
	size_t body_len;
	void *conn;	     /* struct MHD_Connection * */
	json_t *qargs;	     /* query arguments of a composite subrequest; NULL: use conn */
	json_t *hdrs;	     /* a composite subrequest's httpHeaders, or NULL */
	bool sub;	     /* a composite subrequest */
	const char *version; /* "59.0" within the data API */
	int api_version;     /* 59 */
	char token[256];
	char client[128]; /* client id the token was issued to ("" before token_check) */
} req;

typedef struct resp {
	int status;
	buf body;
	const char *ctype;
	char location[256];
	char last_modified[64];
	bool no_limit_info;
	bool counted; /* counted as an API call */
} resp;

const char *req_arg(req *r, const char *name);
const char *req_header(req *r, const char *name);
void resp_json(resp *rs, int status, json_t *j); /* steals j */
void resp_error(resp *rs, const emu_err *err);
void resp_err(resp *rs, int status, const char *code, const char *msg);
void resp_err_fields(resp *rs, int status, const char *code, const char *fields, const char *msg);

char *url_decode(const char *s, size_t n);
json_t *parse_form(const char *body, size_t len);

/* oauth.c */
void oauth_handle(emu *e, req *r, resp *rs);
void identity_handle(emu *e, req *r, resp *rs);
int token_check(emu *e, req *r, resp *rs);
void tokens_expire_all(emu *e);

/* api.c */
void api_handle(emu *e, req *r, resp *rs);
void versions_handle(emu *e, req *r, resp *rs);
void api_count(emu *e, const char *endpoint);

/* query.c */
void query_handle(emu *e, req *r, resp *rs, const char *q, bool all);
void query_more(emu *e, req *r, resp *rs, const char *locator);
void cursors_expire_all(emu *e);
void cursors_free(emu *e);

/* store.c */
int store_open(emu *e, char *err, size_t errlen);
void store_close(emu *e);
int store_reset(emu *e);
int store_create_schema(emu *e);
int store_drop_indexes(emu *e);
void store_new_id(emu *e, const emu_object *o, char out[19]);
typedef struct write_opts {
	const char *user_id; /* CreatedById/LastModifiedById; default the API user */
	int64_t ts;	     /* 0 = now */
	bool system;	     /* bypass FLS/read-only checks (control plane, seeding) */
	bool touch_only;     /* only SystemModstamp */
	bool allow_converted;
	bool skip_unique; /* control plane: make duplicates on purpose (300 tests) */
	bool allow_save;  /* Sforce-Duplicate-Rule-Header allowSave=true: alert rules let it in */
} write_opts;
int rec_create(emu *e, emu_object *o, json_t *fields, const write_opts *w, char id[19],
	       emu_err *err);
int rec_update(emu *e, emu_object *o, const char *id18, json_t *fields, const write_opts *w,
	       emu_err *err);
int rec_delete(emu *e, emu_object *o, const char *id18, const write_opts *w, emu_err *err);
int rec_undelete(emu *e, emu_object *o, const char *id18, const write_opts *w, emu_err *err);
int rec_touch(emu *e, emu_object *o, const char *id18, int64_t ts);
/* 1 live, 2 deleted (bin), 0 missing. */
int rec_state(emu *e, emu_object *o, const char *id18);
/* Appends the record as JSON (attributes first); fields NULL = all readable. 0 ok, 404 missing. */
int rec_emit(emu *e, req *r, emu_object *o, const char *id18, json_t *fields, bool include_deleted,
	     buf *out, emu_err *err);
/* Appends one column value in the API's JSON format. */
void emit_value(buf *b, const emu_field *f, sqlite3_stmt *st, int col);
/* Finds the records whose field equals v. Returns the count, the first ids in ids[]. */
int rec_find_by(emu *e, emu_object *o, emu_field *f, const char *v, char ids[][19], int max);
int rec_merge(emu *e, emu_object *o, const char *master, json_t *losers, const write_opts *w,
	      emu_err *err);
int rec_convert_lead(emu *e, json_t *in, const write_opts *w, json_t **out, emu_err *err);
int store_purge(emu *e, emu_object *o, int64_t older_than_ms);
bool store_cascades(const char *parent, const char *child, const char *field);
emu_object *object_of_id(emu *e, const char *id18);
int json_to_sql_value(emu *e, emu_field *f, json_t *v, sqlite3_stmt *st, int idx, emu_err *err);

/* control.c */
void control_handle(emu *e, req *r, resp *rs);
void log_request(emu *e, req *r, int status);
/* Returns true when a fault fired and filled rs (or *drop set). */
typedef struct fault_action {
	int delay_ms;
	bool drop;
	bool truncate;
	bool respond;
} fault_action;
void faults_match(emu *e, req *r, resp *rs, fault_action *fa);
void faults_free(emu *e);

/* seed.c */
int seed_run(emu *e, const char *spec, uint64_t rng, char *err, size_t errlen);

/* versions */
#define API_MIN 31
#define API_MAX 66

#endif
