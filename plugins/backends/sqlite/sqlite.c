/*
 * sqlite.c - the SQLite storage backend: one database file, no server, the
 * default store. This file holds the descriptor, opening the file,
 * transactions, and the sync's bookkeeping (state, history, errors,
 * conflicts, retention). Tables of units live in sqlite_schema.c, row writes in
 * sqlite_rows.c, the change log of local edits in sqlite_changes.c.
 *
 * Config ([storage]): path (the database file, required), busy_timeout (ms
 * another process may hold the file before an op fails with EBUSY, default
 * 5000).
 */
#include "sqlite_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SQB_VERSION "1.0.0"

char *sqb_strdup(sqb *s, const char *str)
{
	return str ? s->host->strdup(str) : NULL;
}

char *sqb_printf(sqb *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *tmp = sqlite3_vmprintf(fmt, ap);
	va_end(ap);
	if (!tmp)
		return NULL;
	char *r = s->host->strdup(tmp);
	sqlite3_free(tmp);
	return r;
}

/* %w doubles the double quotes: no name from describe can leave the identifier. */
char *sqb_quote_ident(sqb *s, const char *name)
{
	return sqb_printf(s, "\"%w\"", name);
}

char *sqb_quote_lit(sqb *s, const char *text)
{
	return sqb_printf(s, "%Q", text);
}

static int sqb_code(int sqlite_rc)
{
	switch (sqlite_rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return CRMSYNC_EBUSY;
	case SQLITE_NOMEM:
		return CRMSYNC_ENOMEM;
	case SQLITE_IOERR:
	case SQLITE_FULL:
	case SQLITE_CANTOPEN:
	case SQLITE_PROTOCOL:
		return CRMSYNC_EIO;
	case SQLITE_CONSTRAINT:
	case SQLITE_MISMATCH:
	case SQLITE_TOOBIG:
		return CRMSYNC_EINVAL;
	default:
		return CRMSYNC_ERR;
	}
}

int sqb_errf(sqb *s, crmsync_error *err, int code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return s->host->error_set(err, code, "sqlite %s: %s", s->path ? s->path : "", msg);
}

/* An SQLite failure: what we were doing, SQLite's words, and what to do. */
int sqb_fail(sqb *s, crmsync_error *err, int sqlite_rc, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	int code = sqb_code(sqlite_rc);
	const char *hint = code == CRMSYNC_EBUSY ? "; another process holds the database "
						   "locked: retry, or raise [storage] busy_timeout"
			   : code == CRMSYNC_EIO ? "; check the disk and the file's permissions"
						 : "";
	return s->host->error_set(err, code, "sqlite %s: %s: %s%s", s->path ? s->path : "", msg,
				  s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(sqlite_rc), hint);
}

int sqb_exec(sqb *s, const char *sql, const char *what, crmsync_error *err)
{
	int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return sqb_fail(s, err, rc, "%s", what);
	return 0;
}

int sqb_run(sqb *s, const char *sql, const char *what, crmsync_error *err)
{
	sqlite3_stmt *st;
	int rc = sqb_prepare(s, sql, &st, what, err);
	if (rc)
		return rc;
	int r = sqlite3_step(st);
	sqb_finalize(s, st);
	if (r != SQLITE_DONE && r != SQLITE_ROW)
		return sqb_fail(s, err, r, "%s", what);
	return 0;
}

static uint32_t sqb_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* Compiling a statement costs more than running most of ours (the push path
 * acknowledges every record with three or four of them): the connection keeps
 * the last SQB_CACHE distinct ones prepared. */
int sqb_prepare(sqb *s, const char *sql, sqlite3_stmt **out, const char *what, crmsync_error *err)
{
	uint32_t h = sqb_hash(sql);
	int free_slot = -1;
	for (int i = 0; i < SQB_CACHE; i++) {
		sqb_cached *c = &s->cache[i];
		if (!c->st) {
			if (free_slot < 0)
				free_slot = i;
		} else if (!c->busy && c->hash == h && strcmp(c->sql, sql) == 0) {
			c->busy = 1;
			*out = c->st;
			return 0;
		}
	}
	int rc = sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
	if (rc != SQLITE_OK) {
		*out = NULL;
		return sqb_fail(s, err, rc, "%s", what);
	}
	for (int k = 0; free_slot < 0 && k < SQB_CACHE; k++) {
		int i = (int)(s->cache_evict++ % SQB_CACHE);
		if (!s->cache[i].busy) {
			sqlite3_finalize(s->cache[i].st);
			s->host->free(s->cache[i].sql);
			memset(&s->cache[i], 0, sizeof s->cache[i]);
			free_slot = i;
		}
	}
	if (free_slot >= 0) { /* else every one is in use: this one is not kept */
		sqb_cached *c = &s->cache[free_slot];
		if ((c->sql = s->host->strdup(sql))) {
			c->hash = h;
			c->busy = 1;
			c->st = *out;
		}
	}
	return 0;
}

void sqb_finalize(sqb *s, sqlite3_stmt *st)
{
	if (!st)
		return;
	for (int i = 0; i < SQB_CACHE; i++)
		if (s->cache[i].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			s->cache[i].busy = 0;
			return;
		}
	sqlite3_finalize(st);
}

void sqb_cache_clear(sqb *s)
{
	for (int i = 0; i < SQB_CACHE; i++)
		if (s->cache[i].busy) /* a path that never gave its statement back */
			s->host->log(s->self, CRMSYNC_LOG_WARN,
				     "internal: a statement was not given back: %.200s",
				     s->cache[i].sql);
	for (int i = 0; i < SQB_CACHE; i++) {
		sqlite3_finalize(s->cache[i].st);
		s->host->free(s->cache[i].sql);
		memset(&s->cache[i], 0, sizeof s->cache[i]);
	}
}

/* The capture triggers skip our writes (the flag below), but even skipped, a
 * trigger costs every written row its WHEN subquery and its statement journal:
 * about a third of an upsert. So while every trigger of the store is one of
 * our capture triggers, our own connection does not fire triggers at all. An
 * application's own trigger (an audit table, say) still fires for our writes:
 * once one exists, triggers are on again. Checked with the write lock held,
 * so no other connection can add one before our transaction ends. */
static void sqb_triggers_check(sqb *s)
{
	if (!s->trig_check) {
		int r = sqlite3_prepare_v3(
		    s->db,
		    "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name NOT IN "
		    "(tbl_name || '_crmsync_ins', tbl_name || '_crmsync_upd', tbl_name || "
		    "'_crmsync_del')",
		    -1, SQLITE_PREPARE_PERSISTENT, &s->trig_check, NULL);
		if (r != SQLITE_OK) {
			s->trig_check = NULL;
			return; /* triggers stay as they are: the flag keeps us right */
		}
	}
	/* Only a schema change can add or drop a trigger: the count (a scan of
	 * the schema) runs again only when the schema version moved, which
	 * another connection's CREATE TRIGGER does. */
	int64_t ver = -1;
	sqlite3_stmt *sv;
	if (sqb_prepare(s, "PRAGMA schema_version", &sv, "reading the schema version", NULL) == 0) {
		if (sqlite3_step(sv) == SQLITE_ROW)
			ver = sqlite3_column_int64(sv, 0);
		sqb_finalize(s, sv);
	}
	if (ver >= 0 && ver == s->trig_checked_ver)
		return;
	int foreign = 1;
	if (sqlite3_step(s->trig_check) == SQLITE_ROW)
		foreign = sqlite3_column_int(s->trig_check, 0) != 0;
	else
		ver = -1;
	sqlite3_reset(s->trig_check);
	s->trig_checked_ver = ver;
	int want = foreign, got = -1;
	if (want != s->triggers_on &&
	    sqlite3_db_config(s->db, SQLITE_DBCONFIG_ENABLE_TRIGGER, want, &got) == SQLITE_OK &&
	    got == want)
		s->triggers_on = want;
}

/* Our writes run with _crmsync_ctl.sync = 1, which the capture triggers test.
 * The flag is set inside our write transaction and cleared before it commits:
 * no other connection can write meanwhile, and none ever sees it set. */
int sqb_op_begin(sqb *s, crmsync_error *err)
{
	if (!s->db)
		return sqb_errf(s, err, CRMSYNC_EINVAL, "the store is not open: call open first");
	if (s->in_tx && s->tx_lost)
		return sqb_errf(s, err, CRMSYNC_EIO,
				"the transaction was rolled back by SQLite after an earlier "
				"failure: roll back and retry");
	if (s->in_tx) {
		int rc = sqb_run(s, "SAVEPOINT sqb_op", "starting a write", err);
		if (!rc)
			sqb_triggers_check(s);
		return rc;
	}
	int rc = sqb_run(s, "BEGIN IMMEDIATE", "starting a write transaction", err);
	if (rc)
		return rc;
	rc = sqb_run(s, "INSERT OR REPLACE INTO _crmsync_ctl(k, sync) VALUES(1, 1)",
		     "starting a write transaction", err);
	if (rc)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	else
		sqb_triggers_check(s);
	return rc;
}

int sqb_op_end(sqb *s, int rc, crmsync_error *err)
{
	if (s->in_tx) {
		if (sqlite3_get_autocommit(s->db)) {
			/* SQLite itself rolled the whole transaction back (disk full,
			 * I/O error): say so now and at commit. */
			s->tx_lost = 1;
			return rc ? rc
				  : sqb_errf(
					s, err, CRMSYNC_EIO,
					"the transaction was rolled back by SQLite: nothing of "
					"it was stored; roll back and retry");
		}
		if (rc) {
			sqlite3_exec(s->db, "ROLLBACK TO sqb_op", NULL, NULL, NULL);
			sqlite3_exec(s->db, "RELEASE sqb_op", NULL, NULL, NULL);
			return rc;
		}
		return sqb_run(s, "RELEASE sqb_op", "finishing a write", err);
	}
	if (!rc) {
		rc = sqb_run(s, "INSERT OR REPLACE INTO _crmsync_ctl(k, sync) VALUES(1, 0)",
			     "committing", err);
		if (!rc)
			rc = sqb_run(s, "COMMIT", "committing", err);
	}
	if (rc && sqlite3_get_autocommit(s->db) == 0)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static int sqb_init(const crmsync_host *host, crmsync_plugin_ctx *self, void **state,
		    crmsync_error *err)
{
	sqb *s = host->alloc(sizeof *s);
	if (!s)
		return host->error_set(err, CRMSYNC_ENOMEM, "sqlite backend: out of memory");
	memset(s, 0, sizeof *s);
	s->trig_checked_ver = -1;
	s->host = host;
	s->self = self;
	const char *path = host->config_get(self, "path");
	int rc = host->config_get_int(self, "busy_timeout", 5000, &s->busy_timeout_ms, err);
	if (rc)
		goto out;
	if (!path || !*path) {
		rc = host->error_set(err, CRMSYNC_EINVAL,
				     "sqlite backend: [storage] path is not set: set it to the "
				     "database file, e.g. path = crmsync.db");
		goto out;
	}
	if (s->busy_timeout_ms < 0 || s->busy_timeout_ms > 3600000) {
		rc = host->error_set(err, CRMSYNC_EINVAL,
				     "sqlite backend: [storage] busy_timeout = %lld is out of "
				     "range: give milliseconds from 0 to 3600000",
				     (long long)s->busy_timeout_ms);
		goto out;
	}
	s->path = host->strdup(path);
	s->scratch_values = host->record_new();
	s->scratch_before = host->record_new();
	if (!s->path || !s->scratch_values || !s->scratch_before)
		rc = host->error_set(err, CRMSYNC_ENOMEM, "sqlite backend: out of memory");
out:
	if (rc) {
		if (s->scratch_values)
			host->record_free(s->scratch_values);
		if (s->scratch_before)
			host->record_free(s->scratch_before);
		host->free(s->path);
		host->free(s);
		return rc;
	}
	*state = s;
	return 0;
}

static void sqb_close(void *state)
{
	sqb *s = state;
	sqb_units_free(s);
	sqb_finalize(s, s->trig_check);
	s->trig_check = NULL;
	if (s->db) {
		sqb_ckpt_stop(s);
		if (s->in_tx)
			sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		s->in_tx = 0;
		sqb_cache_clear(s);
		sqlite3_close(s->db);
		s->db = NULL;
	}
}

static void sqb_fini(void *state)
{
	sqb *s = state;
	if (!s)
		return;
	sqb_close(s);
	s->host->record_free(s->scratch_values);
	s->host->record_free(s->scratch_before);
	s->host->free(s->path);
	s->host->free(s);
}

static int sqb_open(void *state, crmsync_error *err)
{
	sqb *s = state;
	if (s->db)
		return 0;
	/* SQLite's memory statistics take a global mutex around every
	 * allocation: a tenth of an upsert. Only possible before SQLite is first
	 * initialised in this process; refused harmlessly afterwards. */
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	int rc =
	    sqlite3_open_v2(s->path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		rc = sqb_fail(s, err, rc,
			      "cannot open the database file (set [storage] path "
			      "to a writable file)");
		sqb_cache_clear(s);
		sqlite3_close(s->db);
		s->db = NULL;
		return rc;
	}
	sqlite3_extended_result_codes(s->db, 1);
	/* More lookaside slots (SQLite's per-connection allocator for small
	 * objects, 1200 bytes x 100 by default): record buffers of a page's
	 * rows come from it instead of malloc. About 600 KiB. */
	sqlite3_db_config(s->db, SQLITE_DBCONFIG_LOOKASIDE, NULL, 1200, 500);
	s->triggers_on = 1;
	sqlite3_busy_timeout(s->db, (int)s->busy_timeout_ms);
	/* WAL lets applications read while the sync writes; NORMAL sync is safe
	 * in WAL mode (a power cut may lose the last commits, never consistency:
	 * every page commits with its own checkpoint). */
	/* A new store uses 8 KiB pages (a lead row is ~400 bytes): inserting 200k
	 * lead-sized rows with the sqlite3 shell took about a fifth less CPU time
	 * than with 4 KiB pages (3 runs each); the instructions per row are the
	 * same (callgrind), the saving is in page I/O. An existing store keeps
	 * its page size: this is a no-op once the file has content. */
	rc = sqb_exec(s, "PRAGMA page_size = 8192", "setting the page size", err);
	if (!rc)
		rc = sqb_exec(s, "PRAGMA journal_mode = WAL", "switching to WAL mode", err);
	if (!rc)
		rc = sqb_exec(s, "PRAGMA synchronous = NORMAL", "setting synchronous", err);
	/* Statement journals (writes inside begin() may need one) stay in memory,
	 * not in temporary files. */
	if (!rc)
		rc = sqb_exec(s, "PRAGMA temp_store = MEMORY", "setting temp_store", err);
	/* 6 MiB of page cache (the default is 2): a pull writes pages of
	 * records in one transaction per ~20k records, and a lookup of 64
	 * ascending ids reads neighbouring pages. 16 MiB bought little
	 * (bench/backend_upsert, 1M rows, rows per CPU-second, one run each on a
	 * busy machine: insert 168k with 8 MiB vs 155k with 16, skip 158k vs
	 * 179k) and an initial copy of 1M leads ran as fast with 6 MiB as with 8
	 * (31 s), peaking at 61 MiB instead of 65: the daemon's RSS also holds
	 * two pages of decoded records while the next is fetched. */
	if (!rc)
		rc = sqb_exec(s, "PRAGMA cache_size = -6144", "setting cache_size", err);
	/* Checkpoint the WAL every 4000 pages (32 MiB) instead of 1000: the
	 * pages a pull rewrites at every commit (the tail of the table and of
	 * the id index) are copied back to the file a quarter as often. This
	 * holds only where the checkpoint thread (sqlite_ckpt.c) cannot start:
	 * its WAL hook replaces the automatic checkpoint. */
	if (!rc)
		rc = sqb_exec(s, "PRAGMA wal_autocheckpoint = 4000", "setting wal_autocheckpoint",
			      err);
	if (!rc)
		rc = sqb_schema_init(s, err);
	if (!rc)
		rc = sqb_ckpt_start(s);
	if (rc) {
		sqb_cache_clear(s);
		sqlite3_close(s->db);
		s->db = NULL;
	}
	return rc;
}

static int sqb_begin(void *state, crmsync_error *err)
{
	sqb *s = state;
	if (s->in_tx)
		return sqb_errf(s, err, CRMSYNC_EINVAL,
				"begin: a transaction is already open: commit or roll it back "
				"first");
	int rc = sqb_op_begin(s, err);
	if (!rc)
		s->in_tx = 1;
	return rc;
}

static int sqb_commit(void *state, crmsync_error *err)
{
	sqb *s = state;
	if (!s->in_tx)
		return sqb_errf(s, err, CRMSYNC_EINVAL, "commit: no transaction is open");
	s->in_tx = 0;
	if (s->tx_lost) {
		s->tx_lost = 0;
		return sqb_errf(s, err, CRMSYNC_EIO,
				"commit: the transaction was rolled back by SQLite after an "
				"earlier failure; nothing of it was stored: retry");
	}
	return sqb_op_end(s, 0, err);
}

static int sqb_rollback(void *state, crmsync_error *err)
{
	sqb *s = state;
	if (!s->in_tx)
		return sqb_errf(s, err, CRMSYNC_EINVAL, "rollback: no transaction is open");
	s->in_tx = 0;
	if (s->tx_lost || sqlite3_get_autocommit(s->db)) {
		s->tx_lost = 0;
		return 0;
	}
	int rc = sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return sqb_fail(s, err, rc, "rolling back");
	return 0;
}

static int sqb_state_get(void *state, const char *unit, const char *key, char *buf, size_t cap,
			 crmsync_error *err)
{
	sqb *s = state;
	sqlite3_stmt *st = NULL;
	int rc = sqb_prepare(s, "SELECT value FROM _crmsync_state WHERE unit = ?1 AND key = ?2",
			     &st, "reading state", err);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, unit ? unit : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);
		size_t len = (size_t)sqlite3_column_bytes(st, 0);
		if (cap) {
			size_t c = len < cap - 1 ? len : cap - 1;
			memcpy(buf, v ? v : "", c);
			buf[c] = 0;
		}
		rc = len > INT32_MAX ? CRMSYNC_EINVAL : (int)len;
	} else if (r == SQLITE_DONE) {
		rc = sqb_errf(s, err, CRMSYNC_ENOENT, "unit %s: no state '%s' stored yet",
			      unit ? unit : "", key);
	} else {
		rc = sqb_fail(s, err, r, "unit %s: reading state '%s'", unit ? unit : "", key);
	}
	sqb_finalize(s, st);
	return rc;
}

static int sqb_state_set(void *state, const char *unit, const char *key, const char *value,
			 crmsync_error *err)
{
	sqb *s = state;
	sqlite3_stmt *st = NULL;
	int rc = sqb_op_begin(s, err);
	if (rc)
		return rc;
	rc = sqb_prepare(s,
			 value ? "INSERT INTO _crmsync_state(unit, key, value) VALUES(?1, ?2, ?3) "
				 "ON CONFLICT(unit, key) DO UPDATE SET value = excluded.value"
			       : "DELETE FROM _crmsync_state WHERE unit = ?1 AND key = ?2",
			 &st, "writing state", err);
	if (!rc) {
		sqlite3_bind_text(st, 1, unit ? unit : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
		if (value)
			sqlite3_bind_text(st, 3, value, -1, SQLITE_STATIC);
		int r = sqlite3_step(st);
		if (r != SQLITE_DONE)
			rc = sqb_fail(s, err, r, "unit %s: writing state '%s'", unit ? unit : "",
				      key);
	}
	sqb_finalize(s, st);
	return sqb_op_end(s, rc, err);
}

static void sqb_bind_opt_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* Runs one prepared insert of a bookkeeping row as a write op. */
static int sqb_run_write(sqb *s, sqlite3_stmt *st, const char *what, crmsync_error *err)
{
	int r = sqlite3_step(st);
	if (r != SQLITE_DONE)
		return sqb_fail(s, err, r, "%s", what);
	return 0;
}

static int sqb_history_add(void *state, const crmsync_history_row *h, crmsync_error *err)
{
	sqb *s = state;
	sqlite3_stmt *st = NULL;
	int rc = sqb_op_begin(s, err);
	if (rc)
		return rc;
	rc = sqb_prepare(s,
			 "INSERT INTO _crmsync_history(cycle, unit, step, started_ms, ended_ms, "
			 "n_new, n_updated, n_deleted, n_failed, n_skipped, api_calls, status, "
			 "message) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13)",
			 &st, "recording history", err);
	if (!rc) {
		sqlite3_bind_int64(st, 1, h->cycle);
		sqb_bind_opt_text(st, 2, h->unit);
		sqb_bind_opt_text(st, 3, h->step);
		sqlite3_bind_int64(st, 4, h->started_ms);
		sqlite3_bind_int64(st, 5, h->ended_ms);
		sqlite3_bind_int64(st, 6, h->n_new);
		sqlite3_bind_int64(st, 7, h->n_updated);
		sqlite3_bind_int64(st, 8, h->n_deleted);
		sqlite3_bind_int64(st, 9, h->n_failed);
		sqlite3_bind_int64(st, 10, h->n_skipped);
		sqlite3_bind_int64(st, 11, h->api_calls);
		sqb_bind_opt_text(st, 12, h->status);
		sqb_bind_opt_text(st, 13, h->message);
		rc = sqb_run_write(s, st, "recording history", err);
	}
	sqb_finalize(s, st);
	return sqb_op_end(s, rc, err);
}

static int sqb_error_add(void *state, const crmsync_error_row *e, crmsync_error *err)
{
	sqb *s = state;
	sqlite3_stmt *st = NULL;
	int rc = sqb_op_begin(s, err);
	if (rc)
		return rc;
	rc = sqb_prepare(s,
			 "INSERT INTO _crmsync_errors(at_ms, cycle, unit, step, id, row, code, "
			 "message) VALUES(?1,?2,?3,?4,?5,?6,?7,?8)",
			 &st, "recording an error", err);
	if (!rc) {
		sqlite3_bind_int64(st, 1, e->at_ms);
		sqlite3_bind_int64(st, 2, e->cycle);
		sqb_bind_opt_text(st, 3, e->unit);
		sqb_bind_opt_text(st, 4, e->step);
		sqb_bind_opt_text(st, 5, e->id);
		sqlite3_bind_int64(st, 6, e->row);
		sqb_bind_opt_text(st, 7, e->code);
		sqb_bind_opt_text(st, 8, e->message);
		rc = sqb_run_write(s, st, "recording an error", err);
	}
	sqb_finalize(s, st);
	return sqb_op_end(s, rc, err);
}

static int sqb_conflict_add(void *state, const crmsync_conflict_row *c, crmsync_error *err)
{
	sqb *s = state;
	sqlite3_stmt *st = NULL;
	int rc = sqb_op_begin(s, err);
	if (rc)
		return rc;
	rc = sqb_prepare(s,
			 "INSERT INTO _crmsync_conflicts(at_ms, unit, id, field, local_value, "
			 "crm_value, winner) VALUES(?1,?2,?3,?4,?5,?6,?7)",
			 &st, "recording a conflict", err);
	if (!rc) {
		sqlite3_bind_int64(st, 1, c->at_ms);
		sqb_bind_opt_text(st, 2, c->unit);
		sqb_bind_opt_text(st, 3, c->id);
		sqb_bind_opt_text(st, 4, c->field);
		sqb_bind_opt_text(st, 5, c->local_value);
		sqb_bind_opt_text(st, 6, c->crm_value);
		sqb_bind_opt_text(st, 7, c->winner);
		rc = sqb_run_write(s, st, "recording a conflict", err);
	}
	sqb_finalize(s, st);
	return sqb_op_end(s, rc, err);
}

static const char *sqb_ctext(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

static int sqb_history_read(void *state, int64_t since_ms, crmsync_history_cb cb, void *ud,
			    crmsync_error *err)
{
	sqb *s = state;
	sqlite3_stmt *st = NULL;
	int rc = sqb_prepare(s,
			     "SELECT cycle, unit, step, started_ms, ended_ms, n_new, n_updated, "
			     "n_deleted, n_failed, n_skipped, api_calls, status, message "
			     "FROM _crmsync_history WHERE started_ms >= ?1 ORDER BY seq",
			     &st, "reading history", err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, since_ms);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		crmsync_history_row h = {.size = sizeof h};
		h.cycle = sqlite3_column_int64(st, 0);
		h.unit = sqb_ctext(st, 1);
		h.step = sqb_ctext(st, 2);
		h.started_ms = sqlite3_column_int64(st, 3);
		h.ended_ms = sqlite3_column_int64(st, 4);
		h.n_new = sqlite3_column_int64(st, 5);
		h.n_updated = sqlite3_column_int64(st, 6);
		h.n_deleted = sqlite3_column_int64(st, 7);
		h.n_failed = sqlite3_column_int64(st, 8);
		h.n_skipped = sqlite3_column_int64(st, 9);
		h.api_calls = sqlite3_column_int64(st, 10);
		h.status = sqb_ctext(st, 11);
		h.message = sqb_ctext(st, 12);
		rc = cb(ud, &h);
		if (rc)
			break;
	}
	if (!rc && r != SQLITE_DONE)
		rc = sqb_fail(s, err, r, "reading history");
	sqb_finalize(s, st);
	return rc;
}

static int sqb_errors_read(void *state, int64_t since_ms, crmsync_error_cb cb, void *ud,
			   crmsync_error *err)
{
	sqb *s = state;
	sqlite3_stmt *st = NULL;
	int rc = sqb_prepare(s,
			     "SELECT at_ms, cycle, unit, step, id, row, code, message "
			     "FROM _crmsync_errors WHERE at_ms >= ?1 ORDER BY seq",
			     &st, "reading errors", err);
	if (rc)
		return rc;
	sqlite3_bind_int64(st, 1, since_ms);
	int r;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		crmsync_error_row e = {.size = sizeof e};
		e.at_ms = sqlite3_column_int64(st, 0);
		e.cycle = sqlite3_column_int64(st, 1);
		e.unit = sqb_ctext(st, 2);
		e.step = sqb_ctext(st, 3);
		e.id = sqb_ctext(st, 4);
		e.row = sqlite3_column_int64(st, 5);
		e.code = sqb_ctext(st, 6);
		e.message = sqb_ctext(st, 7);
		rc = cb(ud, &e);
		if (rc)
			break;
	}
	if (!rc && r != SQLITE_DONE)
		rc = sqb_fail(s, err, r, "reading errors");
	sqb_finalize(s, st);
	return rc;
}

static int sqb_retention(void *state, int64_t before_ms, crmsync_error *err)
{
	sqb *s = state;
	static const char *const sql[] = {
	    "DELETE FROM _crmsync_history WHERE coalesce(ended_ms, started_ms) < ?1",
	    "DELETE FROM _crmsync_errors WHERE at_ms < ?1",
	    "DELETE FROM _crmsync_conflicts WHERE at_ms < ?1",
	};
	int rc = sqb_op_begin(s, err);
	for (size_t i = 0; !rc && i < sizeof sql / sizeof *sql; i++) {
		sqlite3_stmt *st = NULL;
		rc = sqb_prepare(s, sql[i], &st, "applying retention", err);
		if (rc)
			break;
		sqlite3_bind_int64(st, 1, before_ms);
		rc = sqb_run_write(s, st, "applying retention", err);
		sqb_finalize(s, st);
	}
	return sqb_op_end(s, rc, err);
}

static const crmsync_backend_ops sqb_ops = {
    .size = sizeof(crmsync_backend_ops),
    .open = sqb_open,
    .close = sqb_close,
    .ensure_unit = sqb_ensure_unit,
    .begin = sqb_begin,
    .commit = sqb_commit,
    .rollback = sqb_rollback,
    .upsert = sqb_upsert,
    .mark_deleted = sqb_mark_deleted,
    .merge = sqb_merge,
    .state_get = sqb_state_get,
    .state_set = sqb_state_set,
    .changes_read = sqb_changes_read,
    .change_ack = sqb_change_ack,
    .row_update = sqb_row_update,
    .history_add = sqb_history_add,
    .error_add = sqb_error_add,
    .conflict_add = sqb_conflict_add,
    .history_read = sqb_history_read,
    .errors_read = sqb_errors_read,
    .unit_stats = sqb_unit_stats,
    .retention = sqb_retention,
    .row_read = sqb_row_read,
    .reconcile_begin = sqb_reconcile_begin,
    .reconcile_seen = sqb_reconcile_seen,
    .reconcile_finish = sqb_reconcile_finish,
};

CRMSYNC_EXPORT const crmsync_plugin_desc crmsync_plugin = {
    CRMSYNC_PLUGIN_HEADER(CRMSYNC_KIND_BACKEND, "sqlite", SQB_VERSION),
    .description = "SQLite storage: one database file, plain SQL for applications",
    .init = sqb_init,
    .fini = sqb_fini,
    .ops = &sqb_ops,
};
