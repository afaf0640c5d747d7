/*
 * crmsync/plugin.h - the stable plugin ABI of crmsync. The only header a plugin needs.
 *
 * A plugin is a shared object that exports exactly one data symbol,
 * `crmsync_plugin`, a const crmsync_plugin_desc. The host checks it (magic, ABI
 * major and minor, struct size, kind, name) before any plugin code runs, then calls
 * init() with a const host API table. Everything else crosses the boundary through
 * that table and the kind-specific ops struct the descriptor points to.
 *
 * Compatibility rules (see docs/PLUGINS.md):
 *  - CRMSYNC_ABI_MAJOR changes when anything is removed, reordered, retyped or
 *    changes meaning or ownership. The host refuses a plugin built for another major.
 *  - CRMSYNC_ABI_MINOR changes when members are appended to a struct. The host
 *    refuses a plugin built for a newer minor than its own. A plugin that wants a
 *    member appended later tests host->size (CRMSYNC_HOST_HAS) before using it.
 *  - Every struct that can grow starts with its own size.
 *  - No libcurl, jansson, SQLite or libpq type ever appears here.
 *
 * Ownership: whoever allocates frees. Strings handed to a plugin are borrowed for
 * the duration of the call unless stated otherwise; copy what you keep. Records
 * are created and freed through the host table.
 *
 * Change list (dated, newest last):
 *   2026-11-28  ABI 1.0: descriptor, host table, records, object and backend ops.
 *   2026-11-28  (1.0, before any release) backend: crmsync_change.error,
 *               crmsync_backend_ops.row_read, column layout and transaction rules.
 *   2026-11-28  (1.0, before any release) backend: crmsync_change_ack.deferred,
 *               reconcile_begin/seen/finish; merge folds only non-CRM columns;
 *               setting sync_mark makes a deferred row pending.
 *   2026-11-28  (1.0, before any release) host: config_where.
 */
#ifndef CRMSYNC_PLUGIN_H
#define CRMSYNC_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CRMSYNC_ABI_MAGIC 0x434d5359u /* "CMSY" */
#define CRMSYNC_ABI_MAJOR 1
#define CRMSYNC_ABI_MINOR 0

/* The name of the one symbol a plugin exports. */
#define CRMSYNC_PLUGIN_SYMBOL "crmsync_plugin"

#if defined(__GNUC__)
#define CRMSYNC_EXPORT __attribute__((visibility("default")))
#define CRMSYNC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CRMSYNC_EXPORT
#define CRMSYNC_PRINTF(f, a)
#endif

/* Return codes: 0 is success, anything negative is a failure whose detail was
 * written to the crmsync_error the caller passed. */
enum crmsync_status {
	CRMSYNC_OK = 0,
	CRMSYNC_ERR = -1,        /* generic failure; see the message */
	CRMSYNC_ENOENT = -2,     /* no such field, unit, key or row */
	CRMSYNC_EINVAL = -3,     /* bad argument or bad data */
	CRMSYNC_ENOMEM = -4,     /* out of memory */
	CRMSYNC_EIO = -5,        /* storage or network failure, may succeed later */
	CRMSYNC_EBUSY = -6,      /* locked by someone else, retry later */
	CRMSYNC_EUNSUPP = -7,    /* operation not supported by this plugin */
};

/* ---------------------------------------------------------------------------
 * Opaque host objects.
 */
typedef struct crmsync_record crmsync_record; /* one CRM record or local row */
typedef struct crmsync_error crmsync_error;   /* an error message owned by the caller */
typedef struct crmsync_plugin_ctx crmsync_plugin_ctx; /* the host's view of one plugin */

/* ---------------------------------------------------------------------------
 * Values. A record maps field names (case-insensitive ASCII, as Salesforce's
 * API names are) to typed values.
 */
enum crmsync_type {
	CRMSYNC_NULL = 0,
	CRMSYNC_STRING = 1,   /* u.s, UTF-8, len bytes, no NUL inside */
	CRMSYNC_INTEGER = 2,  /* u.i */
	CRMSYNC_DOUBLE = 3,   /* u.d; written back with the shortest text that round-trips */
	CRMSYNC_BOOLEAN = 4,  /* u.b, 0 or 1 */
	CRMSYNC_DATE = 5,     /* u.s, "YYYY-MM-DD" */
	CRMSYNC_DATETIME = 6, /* u.i, milliseconds since 1970-01-01T00:00:00Z */
	CRMSYNC_ID = 7,       /* u.s, an 18-character Salesforce id */
};

typedef struct crmsync_value {
	int type; /* enum crmsync_type */
	size_t len; /* byte length of u.s for STRING, DATE and ID; 0 otherwise */
	union {
		const char *s; /* borrowed: valid until the record changes or is freed */
		int64_t i;
		double d;
		int b;
	} u;
} crmsync_value;

/* ---------------------------------------------------------------------------
 * Field descriptions, derived from Salesforce describe and intersected with what
 * the sync user can read and what the unit wants.
 */
enum crmsync_field_flag {
	CRMSYNC_FIELD_CREATEABLE = 1u << 0,
	CRMSYNC_FIELD_UPDATEABLE = 1u << 1,
	CRMSYNC_FIELD_NILLABLE = 1u << 2,
	CRMSYNC_FIELD_EXTERNAL_ID = 1u << 3,
	CRMSYNC_FIELD_UNIQUE = 1u << 4,
	CRMSYNC_FIELD_CALCULATED = 1u << 5,
	CRMSYNC_FIELD_REFERENCE = 1u << 6,
	CRMSYNC_FIELD_ID_LOOKUP = 1u << 7,
};

typedef struct crmsync_field_desc {
	const char *name;         /* API name, e.g. "LastName"; the column is its lowercase form */
	int type;                 /* enum crmsync_type used to store it */
	const char *crm_type;     /* describe type: "string", "picklist", "currency", ... */
	int32_t length;           /* max characters for text types, else 0 */
	int32_t precision;        /* for numbers, else 0 */
	int32_t scale;            /* for numbers, else 0 */
	uint32_t flags;           /* enum crmsync_field_flag */
	const char *reference_to; /* for references: the first referenced object, else NULL */
} crmsync_field_desc;

/* Directions of a sync unit. */
enum crmsync_direction {
	CRMSYNC_PULL = 1,                          /* CRM to local */
	CRMSYNC_PUSH = 2,                          /* local to CRM */
	CRMSYNC_BOTH = CRMSYNC_PULL | CRMSYNC_PUSH, /* two-way */
};

/* What a backend needs to lay out one unit's table. */
typedef struct crmsync_unit_schema {
	size_t size;
	const char *unit;     /* table name, lowercase, e.g. "lead", "invoice__c" */
	const char *sobject;  /* Salesforce object, e.g. "Lead" */
	int direction;        /* enum crmsync_direction: BOTH units get change capture */
	size_t nfields;
	const crmsync_field_desc *fields; /* always includes "Id" */
} crmsync_unit_schema;

/* ---------------------------------------------------------------------------
 * The host API table, handed to init(). Const, append-only: members are only
 * ever added at the end, and a plugin checks CRMSYNC_HOST_HAS before using a
 * member newer than the minor it was built for.
 */
enum crmsync_log_level {
	CRMSYNC_LOG_ERROR = 0,
	CRMSYNC_LOG_WARN = 1,
	CRMSYNC_LOG_INFO = 2,
	CRMSYNC_LOG_DEBUG = 3,
};

typedef struct crmsync_host {
	size_t size;            /* sizeof the host's table: tells which members exist */
	uint32_t abi_major;     /* the host's ABI */
	uint32_t abi_minor;
	const char *host_version; /* crmsync package version */

	/* Logging: each line is attributed to the plugin `self`. */
	void (*log)(crmsync_plugin_ctx *self, int level, const char *fmt, ...) CRMSYNC_PRINTF(3, 4);
	int (*log_enabled)(crmsync_plugin_ctx *self, int level);

	/* Allocation. Memory a plugin hands to the host (or back) uses these. */
	void *(*alloc)(size_t size);          /* NULL on failure */
	void *(*realloc)(void *ptr, size_t size);
	void (*free)(void *ptr);
	char *(*strdup)(const char *s);

	/* Configuration: keys of the plugin's own section: [NAME] for an object
	 * plugin, [storage] for a backend (or -o section.key=value). Reading a key marks it as known; keys of the section
	 * that no plugin reads are reported to the user as unknown. The returned
	 * string is owned by the host and valid until fini(). NULL when unset. */
	const char *(*config_get)(crmsync_plugin_ctx *self, const char *key);
	/* Typed getters: 0 and *out set (def when unset), or CRMSYNC_EINVAL with an
	 * error naming the key, its place in the config and what was expected. */
	int (*config_get_bool)(crmsync_plugin_ctx *self, const char *key, int def, int *out,
			       crmsync_error *err);
	int (*config_get_int)(crmsync_plugin_ctx *self, const char *key, int64_t def,
			      int64_t *out, crmsync_error *err);
	/* Any section.key of the whole config, read-only (e.g. "sync", "units"). */
	const char *(*config_get_global)(crmsync_plugin_ctx *self, const char *section,
					 const char *key);

	/* Records. */
	crmsync_record *(*record_new)(void);
	void (*record_free)(crmsync_record *rec);
	void (*record_clear)(crmsync_record *rec); /* drop all fields, keep the memory */
	/* 0 and *out filled, or CRMSYNC_ENOENT when the field is absent. */
	int (*record_get)(const crmsync_record *rec, const char *field, crmsync_value *out);
	/* Copies the value (and its string). Replaces an existing field. */
	int (*record_set)(crmsync_record *rec, const char *field, const crmsync_value *val);
	int (*record_unset)(crmsync_record *rec, const char *field);
	size_t (*record_count)(const crmsync_record *rec);
	/* Field i in insertion order: 0, or CRMSYNC_ENOENT past the end. */
	int (*record_at)(const crmsync_record *rec, size_t i, const char **field,
			 crmsync_value *out);

	/* Clock: the host's clock, which tests may move. */
	int64_t (*now_ms)(void);
	/* "YYYY-MM-DDTHH:MM:SS.sssZ" into buf (at least 32 bytes). */
	void (*format_datetime)(int64_t ms, char *buf, size_t cap);
	/* Accepts Z, +hh:mm, +hhmm, with or without .sss: 0, or CRMSYNC_EINVAL. */
	int (*parse_datetime)(const char *text, int64_t *ms);

	/* Errors: set the message the caller will show. Returns code, so
	 * `return host->error_set(err, CRMSYNC_EINVAL, "...")` reads naturally. */
	int (*error_set)(crmsync_error *err, int code, const char *fmt, ...) CRMSYNC_PRINTF(3, 4);
	const char *(*error_message)(const crmsync_error *err);

	/* Where a config value came from, for messages: "crmsync.conf:12",
	 * "-o sync.units=...", an environment variable, or "default". section NULL
	 * means the plugin's own section. Never NULL. */
	const char *(*config_where)(crmsync_plugin_ctx *self, const char *section,
				    const char *key);
} crmsync_host;

#define CRMSYNC_HOST_HAS(host, member)                                                        \
	((host)->size >= offsetof(crmsync_host, member) + sizeof((host)->member))

/* ---------------------------------------------------------------------------
 * Object plugins: declare sync units (one Salesforce object each) and their hooks.
 */
enum crmsync_conflict {
	CRMSYNC_CRM_WINS = 1,
	CRMSYNC_LOCAL_WINS = 2,
};

enum crmsync_delete_policy {
	CRMSYNC_DELETE_TOMBSTONE = 1, /* CRM deletes set is_deleted locally */
	CRMSYNC_DELETE_REMOVE = 2,    /* CRM deletes remove the local row */
};

typedef struct crmsync_unit_hooks crmsync_unit_hooks;

typedef struct crmsync_unit_decl {
	size_t size;
	const char *name;       /* unit and table name, lowercase: "lead" */
	const char *sobject;    /* "Lead" */
	int direction;          /* enum crmsync_direction */
	const char *const *depends;  /* NULL-terminated unit names that sync first, or NULL */
	const char *const *fields;   /* NULL-terminated API names, or NULL for all readable */
	int conflict;                /* enum crmsync_conflict */
	const char *const *local_wins_fields; /* per-field override to local wins, or NULL */
	const char *const *crm_wins_fields;   /* per-field override to CRM wins, or NULL */
	int delete_policy;           /* enum crmsync_delete_policy */
	const char *filter;          /* SOQL condition added to every pull, or NULL */
	const char *const *push_readonly_fields; /* never pushed (e.g. OwnerId), or NULL */
	const crmsync_unit_hooks *hooks; /* optional, may be NULL */
} crmsync_unit_decl;

/* Optional hooks of a unit. Each returns 0, or a negative code with err set,
 * which fails that record only. `state` is what the plugin's init returned. */
struct crmsync_unit_hooks {
	size_t size;
	/* A pulled CRM record, before it is stored: may add, change or drop fields. */
	int (*map_in)(void *state, const crmsync_unit_decl *unit, crmsync_record *rec,
		      crmsync_error *err);
	/* A local change, before it is sent: may change or drop fields. Returning
	 * 1 (not 0) skips the record without error. */
	int (*map_out)(void *state, const crmsync_unit_decl *unit, crmsync_record *rec,
		       int is_create, crmsync_error *err);
	/* The CRM merged `loser_id` into `winner_id`. */
	int (*on_merge)(void *state, const crmsync_unit_decl *unit, const char *loser_id,
			const char *winner_id, crmsync_error *err);
	/* The CRM deleted `id`. */
	int (*on_delete)(void *state, const crmsync_unit_decl *unit, const char *id,
			 crmsync_error *err);
	/* A lead was converted: `rec` carries IsConverted and Converted*Id. */
	int (*on_convert)(void *state, const crmsync_unit_decl *unit, const crmsync_record *rec,
			  crmsync_error *err);
};

typedef struct crmsync_object_ops {
	size_t size;
	/* The units this plugin declares, valid from init() to fini(). */
	size_t (*unit_count)(void *state);
	const crmsync_unit_decl *(*unit_at)(void *state, size_t i);
} crmsync_object_ops;

/* ---------------------------------------------------------------------------
 * Backend plugins: storage of units and of the sync's bookkeeping.
 *
 * Layout rules every backend follows, so applications can use plain SQL:
 *  - one table per unit, named after the unit; one column per field, named by
 *    the field's lowercase API name; column "id" holds the CRM id (NULL for a row
 *    created locally and not yet pushed); column "local_id" (int64, assigned by
 *    the store) is the local row key;
 *  - the field SystemModstamp has no column of its own: it is kept in
 *    crm_modstamp, so a record whose other fields did not change is skipped;
 *  - bookkeeping columns: is_deleted (0/1 tombstone), crm_modstamp (ISO text
 *    "YYYY-MM-DDTHH:MM:SS.sssZ"), merged_into (the winner's CRM id), sync_state
 *    ('synced' after a pull or a successful push, 'failed' after a failed push,
 *    NULL for a row never synced), sync_mark (0/1, set by applications to ask for
 *    the push of a new local row); no field column may take one of these names;
 *  - text, ids and dates are stored as text, datetimes as ISO text (above),
 *    integers and booleans (0/1) as integers, doubles as the store's 8-byte
 *    floating point type (SQLite REAL, PostgreSQL double precision): every
 *    finite double reads back bit for bit, except that -0.0 reads back as 0.0
 *    (the CRM's numbers are decimals and have no negative zero);
 *  - for two-way units, inserts, updates and deletes made by anyone but the
 *    sync are captured into a change log, changed field columns only (not the
 *    bookkeeping columns). The sync's own writes (upsert, mark_deleted, merge,
 *    row_update, change_ack) are never captured.
 *
 * Transactions: begin() opens one write transaction that every following op
 * joins until commit() or rollback(). An op called outside begin()/commit()
 * runs in a transaction of its own. An op that fails inside begin() leaves
 * nothing of itself behind (the transaction stays open for the caller to
 * commit the rest or roll back). Read ops (state_get, changes_read, row_read,
 * history_read, errors_read, unit_stats) see the transaction's own writes.
 */
enum crmsync_outcome {
	CRMSYNC_OUT_NEW = 1,
	CRMSYNC_OUT_UPDATED = 2,
	CRMSYNC_OUT_SKIPPED = 3, /* nothing synced changed: no write */
	CRMSYNC_OUT_FAILED = 4,
	CRMSYNC_OUT_DELETED = 5,
};

enum crmsync_change_op {
	CRMSYNC_CHANGE_INSERT = 1,
	CRMSYNC_CHANGE_UPDATE = 2,
	CRMSYNC_CHANGE_DELETE = 3,
};

/* One local row's pending changes, coalesced over every change-log entry up to seq. */
typedef struct crmsync_change {
	size_t size;
	int64_t seq;      /* highest change-log sequence folded in; acknowledge up to it */
	int64_t row;      /* local row key */
	const char *id;   /* CRM id, or NULL for a row that exists only locally */
	int op;           /* enum crmsync_change_op (insert+updates coalesce to insert) */
	const crmsync_record *values; /* changed fields with their current local values;
				       * for an insert, every non-null field */
	const crmsync_record *before; /* the same fields as they were when last synced
				       * (NULL for an insert) */
	int attempts;             /* failed pushes so far */
	const char *last_error;   /* the CRM's message of the last failure, or NULL */
	int marked;               /* sync_mark set on the row */
	/* NULL, or why this row's change cannot be pushed as it is (e.g. invalid
	 * UTF-8 or binary data written by an application into a text column); the
	 * message names table, row and column. values then holds only the fields
	 * that could be read. The engine does not push the row and acknowledges it
	 * as failed with this message; the next local edit of the row makes it
	 * pending again. Other rows are not affected. */
	const char *error;
} crmsync_change;

typedef struct crmsync_change_query {
	size_t size;
	size_t max;             /* at most this many rows; 0 = no limit */
	int64_t now_ms;         /* skip rows whose retry time is later; a failed row
				 * acknowledged with retry_at_ms 0 is skipped until it
				 * is edited again. 0: retry times are ignored */
	const char *const *ids; /* only rows with these CRM ids (ignores retry times) */
	size_t nids;
} crmsync_change_query;

/* The outcome of pushing one row's change. */
typedef struct crmsync_change_ack {
	size_t size;
	int64_t row;
	int64_t seq;             /* entries up to this sequence are done */
	int ok;                  /* 1 success, 0 failure */
	const char *id;          /* on success: the CRM id (new for a create) */
	int64_t modstamp_ms;     /* on success: the CRM's SystemModstamp, or 0 */
	const char *error_code;  /* on failure: the CRM's status code, verbatim */
	const char *error_message; /* on failure: the CRM's message, verbatim */
	int64_t retry_at_ms;     /* on failure: not before this time; 0 = never retry */
	/* With ok = 0: not a failure but a wait (a local-only row not marked for
	 * sync). Not counted as failed in unit_stats; the row is pending again when
	 * it is edited or when an application sets its sync_mark. */
	int deferred;
} crmsync_change_ack;

/* One row of run history: cycle x unit x step. */
typedef struct crmsync_history_row {
	size_t size;
	int64_t cycle;
	const char *unit;
	const char *step;        /* "schema", "pull", "deletes", "push", ... */
	int64_t started_ms, ended_ms;
	int64_t n_new, n_updated, n_deleted, n_failed, n_skipped;
	int64_t api_calls;
	const char *status;      /* "ok", "failed", "partial" */
	const char *message;     /* job-level failure, or NULL */
} crmsync_history_row;

/* One error: record level (id or row set) or job level (both unset). */
typedef struct crmsync_error_row {
	size_t size;
	int64_t at_ms;
	int64_t cycle;
	const char *unit;
	const char *step;
	const char *id;          /* CRM id, or NULL */
	int64_t row;             /* local row key, or 0 */
	const char *code;        /* CRM status code or crmsync's own */
	const char *message;     /* verbatim */
} crmsync_error_row;

/* A value that lost a conflict, kept so nothing is silently dropped. */
typedef struct crmsync_conflict_row {
	size_t size;
	int64_t at_ms;
	const char *unit;
	const char *id;
	const char *field;
	const char *local_value;  /* text form, or NULL for null */
	const char *crm_value;
	const char *winner;       /* "crm" or "local" */
} crmsync_conflict_row;

typedef struct crmsync_unit_stats {
	size_t size;
	int64_t rows;             /* live rows */
	int64_t deleted;          /* tombstones */
	int64_t pending;          /* rows with pending local changes */
	int64_t failed;           /* of those, rows whose last push failed */
	int64_t unmarked_local;   /* local-only rows not marked for sync */
	int64_t conflicts;
} crmsync_unit_stats;

/* Callbacks return 0 to go on; any other value stops the read, which then
 * returns it. Every pointer handed to a callback is valid during the call only. */
typedef int (*crmsync_change_cb)(void *ud, const crmsync_change *change);
typedef int (*crmsync_history_cb)(void *ud, const crmsync_history_row *row);
typedef int (*crmsync_error_cb)(void *ud, const crmsync_error_row *row);

typedef struct crmsync_backend_ops {
	size_t size;
	/* Open the store described by the [storage] config section. */
	int (*open)(void *state, crmsync_error *err);
	void (*close)(void *state);

	/* Create the unit's table, add columns for new fields, install change capture
	 * for two-way units. Never drops a column or destroys a stored value. */
	int (*ensure_unit)(void *state, const crmsync_unit_schema *schema, crmsync_error *err);

	int (*begin)(void *state, crmsync_error *err);
	int (*commit)(void *state, crmsync_error *err);
	int (*rollback)(void *state, crmsync_error *err);

	/* Insert or update by CRM id. out[i] receives an enum crmsync_outcome per record.
	 * Fields absent from a record are left as they are; fields the unit's schema
	 * does not have are not stored (the backend logs a warning). SystemModstamp
	 * goes to crm_modstamp. Clears a tombstone. */
	int (*upsert)(void *state, const char *unit, crmsync_record *const *recs, size_t n,
		      uint8_t *out, crmsync_error *err);
	/* Tombstone (or, with remove=1, delete) rows by CRM id. merged_into may be NULL
	 * or hold, per id, the winner of a merge (or NULL). out[i] as for upsert. */
	int (*mark_deleted)(void *state, const char *unit, const char *const *ids,
			    const char *const *merged_into, size_t n, int remove, uint8_t *out,
			    crmsync_error *err);
	/* Fold the local row of loser_id into winner_id: in the columns that are not
	 * fields of the unit (an application's own columns) a value beats an empty
	 * one; the winner's CRM fields are the CRM's and are left as they are. Then
	 * re-point references to the loser in every unit's table and drop the
	 * loser's pending local changes. The loser's row itself is left for
	 * mark_deleted (with merged_into) to tombstone or remove. */
	int (*merge)(void *state, const char *unit, const char *loser_id, const char *winner_id,
		     crmsync_error *err);

	/* Key-value state per unit (checkpoints, watermarks). get copies into buf
	 * (NUL-terminated, truncated to cap - 1 bytes) and returns the value's full
	 * length, like snprintf, or CRMSYNC_ENOENT when the key was never set. */
	int (*state_get)(void *state, const char *unit, const char *key, char *buf, size_t cap,
			 crmsync_error *err);
	int (*state_set)(void *state, const char *unit, const char *key, const char *value,
			 crmsync_error *err);

	/* Pending local changes of a two-way unit, oldest first, coalesced per row.
	 * q may be NULL: every pending row, retry times ignored. */
	int (*changes_read)(void *state, const char *unit, const crmsync_change_query *q,
			    crmsync_change_cb cb, void *ud, crmsync_error *err);
	/* Record a push outcome. On success the row gets its CRM id and modstamp and
	 * the entries up to ack->seq leave the log; on failure they stay, with the
	 * CRM's error, until ack->retry_at_ms. Not captured as a local change. */
	int (*change_ack)(void *state, const char *unit, const crmsync_change_ack *ack,
			  crmsync_error *err);
	/* Write fields onto a local row by row key, without capturing it. */
	int (*row_update)(void *state, const char *unit, int64_t row, const crmsync_record *rec,
			  crmsync_error *err);

	/* Bookkeeping. */
	int (*history_add)(void *state, const crmsync_history_row *row, crmsync_error *err);
	int (*error_add)(void *state, const crmsync_error_row *row, crmsync_error *err);
	int (*conflict_add)(void *state, const crmsync_conflict_row *row, crmsync_error *err);
	int (*history_read)(void *state, int64_t since_ms, crmsync_history_cb cb, void *ud,
			    crmsync_error *err);
	int (*errors_read)(void *state, int64_t since_ms, crmsync_error_cb cb, void *ud,
			   crmsync_error *err);
	int (*unit_stats)(void *state, const char *unit, crmsync_unit_stats *out,
			  crmsync_error *err);
	/* Drop history, errors and conflicts older than before_ms. */
	int (*retention)(void *state, int64_t before_ms, crmsync_error *err);

	/* Read one row, by CRM id (id != NULL) or else by local row key, into out
	 * (cleared first; owned by the caller): "Id" and every current field under
	 * its API name with its type, plus the bookkeeping columns under their
	 * column names: local_id (INTEGER), is_deleted and sync_mark (BOOLEAN),
	 * crm_modstamp (DATETIME), merged_into (ID), sync_state (STRING).
	 * CRMSYNC_ENOENT when there is no such row. */
	int (*row_read)(void *state, const char *unit, const char *id, int64_t row,
			crmsync_record *out, crmsync_error *err);

	/* Id reconciliation, to find rows hard-purged in the CRM: begin a sweep,
	 * report every id that exists in the CRM (any order, any batch size), then
	 * finish: every row with a CRM id that was not reported, is not a tombstone
	 * and has a crm_modstamp older than started_ms becomes a tombstone (rows
	 * pulled during the sweep are never swept); *tombstoned says how many.
	 * Memory stays bounded whatever the row count. */
	int (*reconcile_begin)(void *state, const char *unit, int64_t started_ms,
			       crmsync_error *err);
	int (*reconcile_seen)(void *state, const char *unit, const char *const *ids, size_t n,
			      crmsync_error *err);
	int (*reconcile_finish)(void *state, const char *unit, int64_t *tombstoned,
				crmsync_error *err);
} crmsync_backend_ops;

/* ---------------------------------------------------------------------------
 * The descriptor: the one symbol a plugin exports.
 */
enum crmsync_plugin_kind {
	CRMSYNC_KIND_OBJECT = 1,
	CRMSYNC_KIND_BACKEND = 2,
};

typedef struct crmsync_plugin {
	uint32_t magic;       /* CRMSYNC_ABI_MAGIC */
	uint16_t abi_major;   /* CRMSYNC_ABI_MAJOR the plugin was built with */
	uint16_t abi_minor;   /* CRMSYNC_ABI_MINOR the plugin was built with */
	uint32_t size;        /* sizeof(crmsync_plugin_desc) as the plugin saw it */
	uint32_t kind;        /* enum crmsync_plugin_kind */
	const char *name;     /* equal to the file stem: "lead" for lead.so */
	const char *version;  /* the plugin's own version */
	const char *description;
	/* Called once after the checks. *state is handed back to every op and to fini.
	 * A failing init leaves nothing registered. */
	int (*init)(const crmsync_host *host, crmsync_plugin_ctx *self, void **state,
		    crmsync_error *err);
	void (*fini)(void *state);
	/* const crmsync_object_ops * or const crmsync_backend_ops *, by kind. */
	const void *ops;
} crmsync_plugin_desc;

/* Fill the header of a descriptor. The exported variable is named like the
 * struct tag (tags and variables live in different C namespaces):
 *   CRMSYNC_EXPORT const crmsync_plugin_desc crmsync_plugin = {
 *           CRMSYNC_PLUGIN_HEADER(CRMSYNC_KIND_OBJECT, "lead", "1.0.0"), ... };
 */
#define CRMSYNC_PLUGIN_HEADER(kind_, name_, version_)                                         \
	.magic = CRMSYNC_ABI_MAGIC, .abi_major = CRMSYNC_ABI_MAJOR,                           \
	.abi_minor = CRMSYNC_ABI_MINOR, .size = sizeof(crmsync_plugin_desc), .kind = (kind_),      \
	.name = (name_), .version = (version_)

#ifdef __cplusplus
}
#endif
#endif /* CRMSYNC_PLUGIN_H */
