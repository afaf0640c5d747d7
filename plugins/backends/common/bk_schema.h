/*
 * bk_schema.h - what both storage backends (plugins/backends/sqlite,
 * plugins/backends/postgres) agree on about a unit's table and its change
 * log, compiled into each plugin (hidden: each exports only crmsync_plugin).
 * The SQL that makes the tables is each store's own.
 */
#ifndef BK_SCHEMA_H
#define BK_SCHEMA_H

#include <crmsync/plugin.h>
#include <stddef.h>
#include <stdint.h>

/* 1 when col (any case) is one of the columns the sync keeps in every unit
 * table (local_id, id, is_deleted, ...), which no field may be named. */
int bk_is_bookkeeping(const char *col);

/* Id and SystemModstamp: every unit has them as bookkeeping columns, not as
 * field columns. */
int bk_skip_field(const char *name);

/* ASCII lowercase in place (column names). */
void bk_lower(char *p);

/* FNV-1a, as 16 hex digits, over the store's layout version (layout: a newer
 * plugin lays tables and triggers out again when it changes them) and
 * everything of the schema that shapes the table and its triggers. */
void bk_fingerprint(const char *layout, const crmsync_unit_schema *sc, char out[17]);

/* Reading changes: 1 when id is one of the ids the query asks for. */
int bk_in_ids(const crmsync_change_query *q, const char *id);

/* Keeps the first reason a change row could not be read:
 * "table T, row N: what" into why when why is still empty. */
void bk_note(char *why, size_t cap, const char *table, int64_t row, const char *what);

#endif
