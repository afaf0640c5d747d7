/* SOQL -> SQLite compiler for the Salesforce emulator (tests/sfemu).
 *
 * Turns the SOQL subset of docs salesforce-rest.md section 3 into SQLite statements over
 * the emulator's storage (one table per sObject, conventions in notes/soql-contract.md),
 * and reports bad queries with Salesforce's own error codes and texts. Every literal is a
 * bound parameter; identifiers come only from the schema callbacks. */
#ifndef CRMSYNC_SFEMU_SOQL_H
#define CRMSYNC_SFEMU_SOQL_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
	SOQL_T_ID,
	SOQL_T_REFERENCE,
	SOQL_T_STRING,
	SOQL_T_BOOLEAN,
	SOQL_T_INT,
	SOQL_T_DOUBLE,
	SOQL_T_DATE,
	SOQL_T_DATETIME
} soql_type;

typedef struct soql_field {
	const char *name;   /* canonical API name: "LastName" */
	const char *column; /* column in the object's table */
	soql_type type;
	int case_sensitive;	  /* unique case-sensitive field: = and LIKE compare exactly */
	const char *relationship; /* references only: "Owner", "Account", "Invoice__r"; else NULL */
	const char *parent;	  /* references only: canonical parent object (first referenceTo) */
} soql_field;

typedef struct soql_schema {
	void *ud;
	/* Canonical object name for `name` (case-insensitive) and its table in *table;
	 * NULL when the object is unknown or not readable by the user. */
	const char *(*object)(void *ud, const char *name, const char **table);
	/* A field the user can read (case-insensitive name), or NULL (unknown or FLS-hidden). */
	const soql_field *(*field)(void *ud, const char *object, const char *name);
	/* The reference field of `object` whose relationship name is `rel` (case-insensitive). */
	const soql_field *(*relationship)(void *ud, const char *object, const char *rel);
} soql_schema;

typedef struct soql_options {
	int query_all;	/* queryAll: include IsDeleted = true rows, and archived activities:
			   without it, an object with a boolean IsArchived field (Task, Event)
			   hides IsArchived = true rows */
	uint64_t seed;	/* tie-break shuffle seed (ties in ORDER BY, or no ORDER BY) */
	int64_t now_ms; /* the emulator clock, for TODAY, YESTERDAY, LAST_N_DAYS:n */
	/* added, optional: the other parent objects of a polymorphic reference field `ref` of
	 * `object` (Lead.OwnerId -> User first, then {"Group", NULL}), NULL-terminated, or
	 * NULL; ud is the schema's. A path through the relationship resolves its fields on
	 * ref->parent; each value is read from whichever parent row the id matches (the
	 * other parents are LEFT JOINed as t<n>_1, t<n>_2, ...), so a field the matched
	 * parent lacks reads null. */
	const char *const *(*more_parents)(void *ud, const char *object, const soql_field *ref);
} soql_options;

typedef enum { SOQL_ITEM_FIELD, SOQL_ITEM_PARENT_ID } soql_item_kind;

/* One result column of sql_row, in order. */
typedef struct soql_item {
	soql_item_kind kind;
	int depth;		 /* 0 = base object; 1 = Parent.X; 2 = Parent.Grand.X */
	const char *path[3];	 /* relationship names (canonical casing) down to depth;
				    path[depth] is the field name for SOQL_ITEM_FIELD */
	const char *object;	 /* canonical object the column belongs to */
	const soql_field *field; /* the field (SOQL_ITEM_FIELD), NULL for PARENT_ID */
} soql_item;
/* For every relationship level used in the SELECT list, a SOQL_ITEM_PARENT_ID item (that
 * parent's Id, NULL when the lookup is empty) comes before that level's fields, so the
 * server can emit "Owner": null versus "Owner": {"attributes":..., "Name": ...}.
 * A field selected twice appears once (the first time). */

typedef struct soql_compiled {
	const char *object; /* canonical base object */
	int is_count;	    /* SELECT COUNT() */
	char *sql_ids;	    /* SELECT t0.rowid FROM ... WHERE ... ORDER BY ... [LIMIT/OFFSET] */
	char *sql_count;    /* SELECT COUNT(*) ... the totalSize after LIMIT/OFFSET */
	char *sql_row;	    /* SELECT <items> FROM ... WHERE t0.rowid = ?1 (for COUNT():
			       SELECT t0.rowid ..., nitems 0) */
	size_t nitems;
	soql_item *items;
	/* added: */
	int64_t limit;	/* LIMIT n, or -1 when absent */
	int64_t offset; /* OFFSET n, or 0 */
			/* private: bound parameters, parse tree, ... (behind this struct) */
} soql_compiled;

typedef struct soql_error {
	int http_status;    /* 400 */
	char code[48];	    /* MALFORMED_QUERY, INVALID_FIELD, INVALID_TYPE,
			       INVALID_QUERY_FILTER_OPERATOR, NUMBER_OUTSIDE_VALID_RANGE */
	char message[1024]; /* exactly Salesforce's text (see the spec, section 3); a very long
			       query line is cut at a UTF-8 character boundary to fit */
} soql_error;

/* 0 on success (*out owned by the caller, free with soql_free), -1 with err filled.
 * text must be NUL-terminated (any bytes; messages are kept valid UTF-8). Names from the
 * schema are copied, but items[].field points at the soql_field the callback returned, so
 * those must live as long as the result. Semantics worth knowing:
 * - logic is two-valued as in SOQL: "x != v", "x NOT IN (...)", "NOT x LIKE ..." and a
 *   negated <, <=, >, >= are true when x is null; "x = null" / "x != null" test nullness;
 * - a string '' against an id/reference field means null; a 15-char id becomes 18 chars;
 * - TODAY, YESTERDAY, TOMORROW, LAST_N_DAYS:n, NEXT_N_DAYS:n are UTC days of opt->now_ms;
 * - the keyset shape "a > X OR (a = X AND b > Y)" is emitted as the row value
 *   "(a, b) > (X, Y)", so an index on (a, b) serves WHERE and ORDER BY together;
 * - ORDER BY ending at (or containing) the base object's Id gets no tie-break key. */
int soql_compile(const char *text, const soql_schema *schema, const soql_options *opt,
		 soql_compiled **out, soql_error *err);
/* Bind the literal parameters of sql_ids or sql_count (the same parameters) to a
 * statement prepared from either. Returns SQLITE_OK or an sqlite error code. Values are
 * copied (SQLITE_TRANSIENT): c may be freed while the statement lives. */
int soql_bind(const soql_compiled *c, sqlite3_stmt *stmt);
void soql_free(soql_compiled *c);

/* The 18-char form of a 15-char Salesforce id (spec section 3 "Ids"): out gets the 15
 * chars plus the 3 checksum chars and a NUL. */
void soql_id18(const char *id15, char out[19]);

#endif
