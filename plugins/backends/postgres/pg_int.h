/*
 * pg_int.h - what the files of the PostgreSQL backend plugin share. Nothing here
 * crosses the ABI: the plugin talks to the host only through the crmsync_host
 * table it was given, and to the server only through libpq.
 */
#ifndef PGB_INT_H
#define PGB_INT_H

#include "../common/bk_schema.h"
#include "../common/bk_values.h"
#include <crmsync/plugin.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

/* What a field's column is, as the server declares it. */
enum {
	PGB_K_TEXT = 1,	  /* text, varchar: holds every type as text */
	PGB_K_INT8 = 2,	  /* bigint: integers and booleans */
	PGB_K_INT2 = 3,	  /* smallint, integer: booleans (0/1) */
	PGB_K_FLOAT8 = 4, /* double precision: doubles */
	PGB_K_OTHER = 5	  /* anything an application changed it to */
};

typedef struct pgb_field {
	char *name; /* API name, as describe gave it */
	char *col;  /* its column: the lowercase name */
	char *qcol; /* the column as a quoted identifier */
	int type;   /* enum crmsync_type */
	int kind;   /* PGB_K_* of the column */
	char *decl; /* the column's type as format_type() gives it */
	char *ref;  /* the referenced object (reference_to), or NULL */
} pgb_field;

typedef struct pgb_unit {
	char *name;  /* table name */
	char *qname; /* "schema"."table" */
	char *sobject;
	int direction;
	char *fingerprint;
	size_t nfields; /* current fields (Id and SystemModstamp excluded) */
	pgb_field *fields;
	char *warned; /* unknown record fields already warned about, \n-separated */
	int copy_ok;  /* COPY may add new rows: 0 not checked yet, 1 yes, -1 no */
	struct pgb_unit *next;
} pgb_unit;

/* A growing string; oom is sticky. */
typedef struct pgb_buf {
	char *p;
	size_t len, cap;
	int oom;
} pgb_buf;

typedef struct pgb {
	const crmsync_host *host;
	crmsync_plugin_ctx *self;
	/* connection keywords (values owned), NULL-terminated */
	const char *kw[32];
	char *val[32];
	char *schema;  /* the schema name */
	char *qschema; /* quoted */
	char *where;   /* host:port/dbname, for messages (never the password) */
	int64_t reconnect_tries;
	int64_t reconnect_delay_ms;
	int opened; /* open() succeeded: reconnect on demand */
	PGconn *conn;
	int in_tx;   /* inside begin() .. commit()/rollback() */
	int tx_lost; /* the connection broke inside that transaction */
	pgb_unit *units;
	crmsync_record *scratch_values, *scratch_before;
} pgb;

/* pg.c */
int pgb_errf(pgb *s, crmsync_error *err, int code, const char *fmt, ...) CRMSYNC_PRINTF(4, 5);
/* A failed result (or NULL): what we were doing, the server's words. Clears res. */
int pgb_fail(pgb *s, crmsync_error *err, PGresult *res, const char *fmt, ...) CRMSYNC_PRINTF(4, 5);
/* Run SQL without parameters; 0 or a failure. */
int pgb_exec(pgb *s, const char *sql, const char *what, crmsync_error *err);
/* Run SQL with text parameters (NULL entries are SQL NULL). *out gets the
 * result on success (PGRES_TUPLES_OK or COMMAND_OK) when out != NULL. */
int pgb_query(pgb *s, const char *sql, int n, const char *const *params, PGresult **out,
	      const char *what, crmsync_error *err);
/* Make sure a connection is up (reconnecting with backoff outside a transaction). */
int pgb_ready(pgb *s, crmsync_error *err);
/* Every write op runs between these: a transaction of its own, or a savepoint
 * inside begin(). Our writes are marked for the capture triggers with the
 * transaction-local setting crmsync.sync = 'on'. */
int pgb_op_begin(pgb *s, crmsync_error *err);
int pgb_op_end(pgb *s, int rc, crmsync_error *err);
char *pgb_strdup(pgb *s, const char *str);

void pgb_buf_add(pgb *s, pgb_buf *b, const char *str, size_t n);
void pgb_buf_puts(pgb *s, pgb_buf *b, const char *str);
void pgb_buf_printf(pgb *s, pgb_buf *b, const char *fmt, ...) CRMSYNC_PRINTF(3, 4);
void pgb_buf_ident(pgb *s, pgb_buf *b, const char *name); /* "name" with "" doubled */
void pgb_buf_lit(pgb *s, pgb_buf *b, const char *text);	  /* 'text' with '' doubled */
/* Append one element to a text array literal: "..." escaped, or NULL. */
void pgb_buf_array_elem(pgb *s, pgb_buf *b, const char *v, size_t len, int first);
/* 0 or ENOMEM (the buffer is freed on failure); the string stays in b->p. */
int pgb_buf_ok(pgb *s, pgb_buf *b, crmsync_error *err);
void pgb_buf_free(pgb *s, pgb_buf *b);
char *pgb_quote_ident(pgb *s, const char *name);

/* pg_schema.c */
int pgb_schema_init(pgb *s, crmsync_error *err);
int pgb_ensure_unit(void *state, const crmsync_unit_schema *schema, crmsync_error *err);
int pgb_unit_get(pgb *s, const char *name, pgb_unit **out, crmsync_error *err);
void pgb_unit_free(pgb *s, pgb_unit *u);
void pgb_units_free(pgb *s);

/* pg_rows.c */
int pgb_upsert(void *state, const char *unit, crmsync_record *const *recs, size_t n, uint8_t *out,
	       crmsync_error *err);
int pgb_mark_deleted(void *state, const char *unit, const char *const *ids,
		     const char *const *merged_into, size_t n, int remove, uint8_t *out,
		     crmsync_error *err);
int pgb_merge(void *state, const char *unit, const char *loser_id, const char *winner_id,
	      crmsync_error *err);
int pgb_row_update(void *state, const char *unit, int64_t row, const crmsync_record *rec,
		   crmsync_error *err);
int pgb_row_read(void *state, const char *unit, const char *id, int64_t row, crmsync_record *out,
		 crmsync_error *err);
int pgb_reconcile_begin(void *state, const char *unit, int64_t started_ms, crmsync_error *err);
int pgb_reconcile_seen(void *state, const char *unit, const char *const *ids, size_t n,
		       crmsync_error *err);
int pgb_reconcile_finish(void *state, const char *unit, int64_t *tombstoned, crmsync_error *err);
/* A stored value (server text, NULL for null) as a value of the field's type.
 * Numbers land in out->u; text points at txt. 0, or -1 with why filled. */
int pgb_text_value(pgb *s, const pgb_field *f, const char *txt, size_t len, crmsync_value *out,
		   char *why, size_t whycap);
/* A record's value as the text bound to the field's column: *txt NULL for null,
 * else txt/len (into buf, cap >= 64, or borrowed from the value).
 * 0 or CRMSYNC_EINVAL naming unit, record and field. */
int pgb_value_text(pgb *s, const pgb_unit *u, const pgb_field *f, const crmsync_value *v,
		   const char *id, const char **txt, size_t *len, char *buf, size_t cap,
		   crmsync_error *err);

/* pg_changes.c */
int pgb_changes_read(void *state, const char *unit, const crmsync_change_query *q,
		     crmsync_change_cb cb, void *ud, crmsync_error *err);
int pgb_change_ack(void *state, const char *unit, const crmsync_change_ack *ack,
		   crmsync_error *err);
int pgb_unit_stats(void *state, const char *unit, crmsync_unit_stats *out, crmsync_error *err);

#endif
