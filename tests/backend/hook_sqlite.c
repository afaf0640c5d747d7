/*
 * hook_sqlite.c - the conformance suite's application side for SQLite: a
 * second connection opened with the sqlite3 C API, and the sqlite3 shell.
 */
#include "config.h"
#include "hooks.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *hs_path(const bt_settings *s, char *msg, size_t cap)
{
	const char *p = bt_setting(s, "path");
	if (!p)
		snprintf(msg, cap, "the storage settings have no path=FILE");
	return p;
}

static int hs_reset(const bt_settings *s, char *msg, size_t cap)
{
	const char *p = hs_path(s, msg, cap);
	static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
	if (!p)
		return -1;
	for (size_t i = 0; i < sizeof sfx / sizeof *sfx; i++) {
		char f[4096];
		snprintf(f, sizeof f, "%s%s", p, sfx[i]);
		unlink(f);
	}
	return 0;
}

static sqlite3 *hs_open(const bt_settings *s, char *msg, size_t cap)
{
	sqlite3 *db = NULL;
	const char *p = hs_path(s, msg, cap);
	if (!p)
		return NULL;
	if (sqlite3_open_v2(p, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
		snprintf(msg, cap, "%s: %s", p, db ? sqlite3_errmsg(db) : "cannot open");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 5000);
	return db;
}

static int hs_exec(const bt_settings *s, const char *sql, char *msg, size_t cap)
{
	sqlite3 *db = hs_open(s, msg, cap);
	char *e = NULL;
	if (!db)
		return -1;
	int rc = sqlite3_exec(db, sql, NULL, NULL, &e);
	if (rc != SQLITE_OK)
		snprintf(msg, cap, "%s: %s", sql, e ? e : sqlite3_errstr(rc));
	sqlite3_free(e);
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

static int hs_query(const bt_settings *s, const char *sql, char *out, size_t cap, char *msg,
		    size_t mcap)
{
	sqlite3 *db = hs_open(s, msg, mcap);
	sqlite3_stmt *st = NULL;
	int rc = -1;
	if (!db)
		return -1;
	out[0] = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(msg, mcap, "%s: %s", sql, sqlite3_errmsg(db));
		goto out;
	}
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		snprintf(out, cap, "%s", sqlite3_column_type(st, 0) == SQLITE_NULL ? "NULL" : t);
		rc = 0;
	} else if (r == SQLITE_DONE) {
		rc = 0;
	} else {
		snprintf(msg, mcap, "%s: %s", sql, sqlite3_errmsg(db));
	}
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

static int hs_shell(const bt_settings *s, const char *sql, char *msg, size_t cap)
{
	const char *p = hs_path(s, msg, cap);
	if (!p)
		return -1;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(msg, cap, "fork failed");
		return -1;
	}
	if (pid == 0) {
		execlp("sqlite3", "sqlite3", "-bail", "-cmd", ".timeout 5000", p, sql,
		       (char *)NULL);
		_exit(127);
	}
	int status;
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(msg, cap,
			 "sqlite3 %s \"%s\" failed (status %d; is the sqlite3 shell "
			 "installed?)",
			 p, sql, status);
		return -1;
	}
	return 0;
}

static void hs_bad_utf8_sql(const char *table, const char *col, const char *id, char *buf,
			    size_t cap)
{
	char *q = sqlite3_mprintf("UPDATE \"%w\" SET \"%w\" = CAST(X'C328' AS TEXT) WHERE id = %Q",
				  table, col, id);
	snprintf(buf, cap, "%s", q);
	sqlite3_free(q);
}

static void hs_audit_trigger_sql(const char *table, int create, char *buf, size_t cap)
{
	char *q = create ? sqlite3_mprintf("CREATE TABLE audit(n INTEGER); CREATE TRIGGER "
					   "\"%w_audit\" AFTER UPDATE ON \"%w\" BEGIN INSERT "
					   "INTO audit(n) VALUES(1); END",
					   table, table)
			 : sqlite3_mprintf("DROP TRIGGER \"%w_audit\"", table);
	snprintf(buf, cap, "%s", q);
	sqlite3_free(q);
}

const bt_hook bt_hook_sqlite = {
    .backend = "sqlite",
    .reset = hs_reset,
    .exec = hs_exec,
    .query = hs_query,
    .shell = hs_shell,
    .bad_utf8_sql = hs_bad_utf8_sql,
    .audit_trigger_sql = hs_audit_trigger_sql,
    .reuses_deleted_key = 1,
};
