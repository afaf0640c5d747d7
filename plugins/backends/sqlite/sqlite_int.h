/*
 * sqlite_int.h - what the files of the SQLite backend plugin share. Nothing here
 * crosses the ABI: the plugin talks to the host only through the crmsync_host
 * table it was given.
 */
#ifndef SQB_INT_H
#define SQB_INT_H

#include "../common/bk_schema.h"
#include "../common/bk_values.h"
#include <crmsync/plugin.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* The affinity a field's column was declared with. */
enum { SQB_AFF_TEXT = 1, SQB_AFF_INTEGER = 2, SQB_AFF_REAL = 3 };

typedef struct sqb_field {
	char *name; /* API name, as describe gave it */
	char *col;  /* its column: the lowercase name */
	char *qcol; /* the column as a quoted identifier */
	int type;   /* enum crmsync_type */
	int aff;    /* SQB_AFF_* of the column */
	char *ref;  /* the referenced object (reference_to), or NULL */
} sqb_field;

/* A value in the form it is bound to a column and compared with one. */
typedef struct sqb_bval {
	int kind; /* SQLITE_NULL, SQLITE_INTEGER, SQLITE_FLOAT or SQLITE_TEXT */
	int64_t i;
	double d;
	const char *s; /* borrowed from the record, or buf */
	int len;
	char buf[40];
} sqb_bval;

/* Upsert statements for one list of record fields, in record order. */
typedef struct sqb_upsert_set {
	size_t npos;   /* fields in the record */
	char **names;  /* their names, lowercase */
	int *role;     /* per position: field index or SQB_ROLE_* */
	size_t ncols;  /* positions with role >= 0 */
	size_t id_pos; /* position of Id in the record */
	sqlite3_stmt *sel, *ins, *upd;
	sqb_bval *bv; /* ncols values of the record being written */
	/* The page-at-a-time insert of a first copy (sqlite_rows.c): one
	 * statement inserting SQB_BULK_ROWS rows, and their values. */
	sqlite3_stmt *bulk, *look; /* look: the stored rows of SQB_BULK_ROWS ids */
	sqb_bval *bulk_bv;
	struct sqb_upsert_set *next;
} sqb_upsert_set;

#define SQB_ROLE_ID (-1)
#define SQB_ROLE_MODSTAMP (-2)
#define SQB_ROLE_IGNORE (-3) /* not a column of the table */

typedef struct sqb_unit {
	char *name;  /* table name */
	char *qname; /* quoted */
	char *lit;   /* as an SQL string literal */
	char *sobject;
	int direction;
	char *fingerprint;
	size_t nfields; /* current fields (Id and SystemModstamp excluded) */
	sqb_field *fields;
	sqb_upsert_set *sets;
	size_t nsets;
	int last_new; /* the last record upserted was new */
	struct sqb_unit *next;
} sqb_unit;

/* A statement kept prepared across calls (sqb_prepare). */
#define SQB_CACHE 48
typedef struct sqb_cached {
	char *sql;
	uint32_t hash;
	int busy; /* handed out, not yet given back with sqb_finalize */
	sqlite3_stmt *st;
} sqb_cached;

typedef struct sqb {
	const crmsync_host *host;
	crmsync_plugin_ctx *self;
	char *path;
	int64_t busy_timeout_ms;
	sqlite3 *db;
	int in_tx;		  /* inside begin() .. commit()/rollback() */
	int tx_lost;		  /* SQLite rolled that transaction back by itself */
	int triggers_on;	  /* this connection fires triggers (sqb_op_begin) */
	sqlite3_stmt *trig_check; /* counts triggers that are not ours */
	int64_t trig_checked_ver; /* the schema version trig_check last ran at, or -1 */
	sqb_unit *units;
	crmsync_record *scratch_values, *scratch_before;
	sqb_cached cache[SQB_CACHE];
	unsigned cache_evict;
	struct sqb_ckpt *ckpt; /* the checkpoint thread, or NULL */
} sqb;

/* sqlite_ckpt.c: WAL checkpoints on a thread of their own (no-op and SQLite's
 * automatic checkpoint stays when the store is not in WAL mode or the thread
 * cannot start). stop before the connection closes. */
int sqb_ckpt_start(sqb *s);
void sqb_ckpt_stop(sqb *s);

/* sqlite.c */
int sqb_fail(sqb *s, crmsync_error *err, int sqlite_rc, const char *fmt, ...) CRMSYNC_PRINTF(4, 5);
int sqb_errf(sqb *s, crmsync_error *err, int code, const char *fmt, ...) CRMSYNC_PRINTF(4, 5);
int sqb_exec(sqb *s, const char *sql, const char *what, crmsync_error *err);
/* One statement of no result, kept prepared (sqb_prepare): for the ones every
 * write runs (savepoints, the capture flag). */
int sqb_run(sqb *s, const char *sql, const char *what, crmsync_error *err);
/* A prepared statement for sql: from the connection's cache when the same SQL
 * ran before and its statement is not in use. Give it back with sqb_finalize,
 * which resets a cached statement (and clears its bindings) instead of
 * finalizing it; any other statement is finalized. */
int sqb_prepare(sqb *s, const char *sql, sqlite3_stmt **out, const char *what, crmsync_error *err);
void sqb_finalize(sqb *s, sqlite3_stmt *st);
void sqb_cache_clear(sqb *s);
/* Every write op runs between these: a transaction of its own, or a savepoint
 * inside begin(). The change-capture flag is set for the whole of it. */
int sqb_op_begin(sqb *s, crmsync_error *err);
int sqb_op_end(sqb *s, int rc, crmsync_error *err);
char *sqb_strdup(sqb *s, const char *str);
/* sqlite3_mprintf formats (%w, %Q), copied into host memory. */
char *sqb_printf(sqb *s, const char *fmt, ...);
char *sqb_quote_ident(sqb *s, const char *name);
char *sqb_quote_lit(sqb *s, const char *text);

/* sqlite_schema.c */
int sqb_schema_init(sqb *s, crmsync_error *err);
int sqb_ensure_unit(void *state, const crmsync_unit_schema *schema, crmsync_error *err);
/* The unit, from memory or from the store's catalogue: 0 or CRMSYNC_ENOENT. */
int sqb_unit_get(sqb *s, const char *name, sqb_unit **out, crmsync_error *err);
void sqb_unit_free(sqb *s, sqb_unit *u);
void sqb_units_free(sqb *s);

/* sqlite_rows.c */
int sqb_upsert(void *state, const char *unit, crmsync_record *const *recs, size_t n, uint8_t *out,
	       crmsync_error *err);
int sqb_mark_deleted(void *state, const char *unit, const char *const *ids,
		     const char *const *merged_into, size_t n, int remove, uint8_t *out,
		     crmsync_error *err);
int sqb_merge(void *state, const char *unit, const char *loser_id, const char *winner_id,
	      crmsync_error *err);
int sqb_row_update(void *state, const char *unit, int64_t row, const crmsync_record *rec,
		   crmsync_error *err);
int sqb_reconcile_begin(void *state, const char *unit, int64_t started_ms, crmsync_error *err);
int sqb_reconcile_seen(void *state, const char *unit, const char *const *ids, size_t n,
		       crmsync_error *err);
int sqb_reconcile_finish(void *state, const char *unit, int64_t *tombstoned, crmsync_error *err);
int sqb_row_read(void *state, const char *unit, const char *id, int64_t row, crmsync_record *out,
		 crmsync_error *err);
/* A stored column value as a value of the field's type. Text lands in buf
 * (cap >= 64) or points into the statement. 0, or -1 with why filled. */
int sqb_column_value(sqb *s, const sqb_field *f, sqlite3_stmt *st, int col, crmsync_value *out,
		     char *buf, size_t cap, char *why, size_t whycap);
void sqb_upsert_sets_free(sqb *s, sqb_unit *u);
/* A record's value as it is bound to the field's column. 0 or CRMSYNC_EINVAL. */
int sqb_bval_from(sqb *s, const sqb_unit *u, const sqb_field *f, const crmsync_value *v,
		  const char *id, sqb_bval *b, crmsync_error *err);
void sqb_bind_bval(sqlite3_stmt *st, int i, const sqb_bval *b);

/* sqlite_changes.c */
int sqb_changes_read(void *state, const char *unit, const crmsync_change_query *q,
		     crmsync_change_cb cb, void *ud, crmsync_error *err);
int sqb_change_ack(void *state, const char *unit, const crmsync_change_ack *ack,
		   crmsync_error *err);
int sqb_unit_stats(void *state, const char *unit, crmsync_unit_stats *out, crmsync_error *err);

#endif
