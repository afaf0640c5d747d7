/*
 * hooks.h - what the backend conformance suite cannot do through the ABI: act
 * as an application that edits the store with plain SQL on a connection of its
 * own. One implementation per backend (hook_sqlite.c, ...); the suite picks
 * the one whose name matches the plugin it loaded. Everything else the suite
 * checks goes through the plugin ABI only.
 */
#ifndef BT_HOOKS_H
#define BT_HOOKS_H

#include <stddef.h>

/* The storage settings the suite was given: key=value pairs of [storage]. */
typedef struct bt_settings {
	size_t n;
	char *key[16];
	char *value[16];
} bt_settings;

const char *bt_setting(const bt_settings *s, const char *key);

typedef struct bt_hook {
	const char *backend; /* the plugin name it serves */
	/* Make the store empty (before each test). 0, or -1 with msg. */
	int (*reset)(const bt_settings *s, char *msg, size_t cap);
	/* Run SQL (one or more statements) on a second connection, as an
	 * application would. 0, or -1 with msg. */
	int (*exec)(const bt_settings *s, const char *sql, char *msg, size_t cap);
	/* The first column of the first row of a query, as text ("NULL" for null,
	 * "" when there is no row). 0, or -1 with msg. */
	int (*query)(const bt_settings *s, const char *sql, char *out, size_t cap, char *msg,
		     size_t mcap);
	/* Run SQL with the backend's own command-line client (sqlite3, psql),
	 * the way an operator would. 0, or -1 with msg. */
	int (*shell)(const bt_settings *s, const char *sql, char *msg, size_t cap);
	/* SQL with which an application tries to put text that is not valid
	 * UTF-8 into column `col` of the row with CRM id `id` in `table`. */
	void (*bad_utf8_sql)(const char *table, const char *col, const char *id, char *buf,
			     size_t cap);
	/* 1 when the store itself refuses such text (PostgreSQL): the suite then
	 * checks the application's write fails; 0 when it stores it (SQLite): the
	 * suite checks the row's change is reported as an error. */
	int rejects_bad_utf8;
	/* SQL with which an application creates (create = 1) a table audit(n)
	 * and a trigger of its own, lead_audit, that inserts a row into it after
	 * each UPDATE of `table`, or (create = 0) drops that trigger: the sync's
	 * writes must fire an application's triggers. */
	void (*audit_trigger_sql)(const char *table, int create, char *buf, size_t cap);
	/* 1 when a row inserted right after the unit's last row was deleted gets
	 * that row's key again (SQLite's rowid): the suite then checks the
	 * insert waits behind the delete under that key; 0 when keys are never
	 * reused (PostgreSQL's identity): the suite checks both changes are read
	 * at once, under two keys. */
	int reuses_deleted_key;
} bt_hook;

/* The hooks linked into this build of the suite: each program defines
 * BT_HOOK_SQLITE and/or BT_HOOK_PG for the hook files it compiles. */
extern const bt_hook bt_hook_sqlite;
extern const bt_hook bt_hook_pg;

#endif
