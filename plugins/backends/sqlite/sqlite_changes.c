/*
 * sqlite_changes.c - pending local edits of two-way units: reading them
 * coalesced per row, acknowledging push outcomes, and the per-unit counts.
 *
 * The capture triggers (sqlite_schema.c) write one _crmsync_log entry per
 * changed column with the column's old value (col NULL for an insert, col 'id'
 * with the CRM id for a delete). A row's "before" value of a field is the old
 * value of its first entry: the value the row had when it was last synced.
 * _crmsync_push holds the outcome of a failed push per row: it is due again at
 * retry_at, or as soon as the row is edited after the failure.
 */
#include "sqlite_int.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Members of an acknowledgement newer than ABI 1.0's first layout. */
#define SQB_ACK_HAS(a, m) ((a)->size >= offsetof(crmsync_change_ack, m) + sizeof((a)->m))

typedef struct sqb_cand {
	int64_t row, last;
	int attempts;
	char *last_error;
} sqb_cand;

/* A set of row keys (sqb_candidates). */
typedef struct sqb_rowset {
	int64_t *k; /* 0 = empty slot; keys are >= 1 (rowids of our tables) */
	size_t cap, n;
} sqb_rowset;

/* Adds row: 1 when it is new, 0 when already there, -1 out of memory. */
static int sqb_rowset_add(sqb *s, sqb_rowset *rs, int64_t row)
{
	if (2 * (rs->n + 1) > rs->cap) {
		size_t nc = rs->cap ? 2 * rs->cap : 256;
		int64_t *nk = s->host->alloc(nc * sizeof *nk);
		if (!nk)
			return -1;
		memset(nk, 0, nc * sizeof *nk);
		for (size_t i = 0; i < rs->cap; i++)
			if (rs->k[i]) {
				size_t j = ((uint64_t)rs->k[i] * 0x9E3779B97F4A7C15ull) & (nc - 1);
				while (nk[j])
					j = (j + 1) & (nc - 1);
				nk[j] = rs->k[i];
			}
		s->host->free(rs->k);
		rs->k = nk;
		rs->cap = nc;
	}
	size_t j = ((uint64_t)row * 0x9E3779B97F4A7C15ull) & (rs->cap - 1);
	while (rs->k[j]) {
		if (rs->k[j] == row)
			return 0;
		j = (j + 1) & (rs->cap - 1);
	}
	rs->k[j] = row;
	rs->n++;
	return 1;
}

/* The rows with pending changes, in the order of their first pending edit,
 * that are due (never failed, edited since the last failure, or their retry
 * time came; all of them when the query asks for ids or gives no time): their
 * last change and push state. A batch (q->max) reads the log only up to its
 * last candidate, so pushing N edits in batches costs O(N), not O(N^2 / batch)
 * as one aggregate of the whole log per batch did. */
static int sqb_candidates(sqb *s, sqb_unit *u, const crmsync_change_query *q, sqb_cand **out,
			  size_t *nout, crmsync_error *err)
{
	sqlite3_stmt *scan = NULL, *last = NULL, *push = NULL;
	int all = !q || q->nids > 0 || q->now_ms == 0; /* retry times ignored */
	int64_t now = q ? q->now_ms : 0;
	size_t limit = q && q->max && !q->nids ? (size_t)q->max : SIZE_MAX;
	size_t n = 0, cap = 0;
	sqb_cand *c = NULL;
	sqb_rowset seen = {0};
	int rc = sqb_prepare(s, "SELECT row FROM _crmsync_log WHERE unit = ?1 ORDER BY seq", &scan,
			     "reading pending changes", err);
	if (!rc)
		rc =
		    sqb_prepare(s, "SELECT max(seq) FROM _crmsync_log WHERE unit = ?1 AND row = ?2",
				&last, "reading pending changes", err);
	if (!rc)
		rc =
		    sqb_prepare(s,
				"SELECT attempts, message, failed_seq, retry_at FROM _crmsync_push "
				"WHERE unit = ?1 AND row = ?2",
				&push, "reading pending changes", err);
	if (rc)
		goto out;
	sqlite3_bind_text(scan, 1, u->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(last, 1, u->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(push, 1, u->name, -1, SQLITE_STATIC);
	int r = SQLITE_DONE;
	while (n < limit && (r = sqlite3_step(scan)) == SQLITE_ROW) {
		int64_t row = sqlite3_column_int64(scan, 0);
		int fresh = sqb_rowset_add(s, &seen, row);
		if (fresh < 0) {
			rc = sqb_errf(s, err, CRMSYNC_ENOMEM, "unit %s: out of memory", u->name);
			break;
		}
		if (!fresh)
			continue;
		sqlite3_bind_int64(last, 2, row);
		int64_t lastseq =
		    sqlite3_step(last) == SQLITE_ROW ? sqlite3_column_int64(last, 0) : 0;
		sqlite3_reset(last);
		sqlite3_bind_int64(push, 2, row);
		int attempts = 0, due = 1;
		const char *msg = NULL;
		r = sqlite3_step(push);
		if (r == SQLITE_ROW) {
			attempts = sqlite3_column_int(push, 0);
			msg = (const char *)sqlite3_column_text(push, 1);
			int64_t failed_seq = sqlite3_column_int64(push, 2);
			int64_t retry_at = sqlite3_column_int64(push, 3);
			due = all || lastseq > failed_seq || (retry_at != 0 && retry_at <= now);
		} else if (r != SQLITE_DONE) {
			sqlite3_reset(push);
			rc = sqb_fail(s, err, r, "unit %s: reading pending changes", u->name);
			break;
		}
		if (due) {
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 64;
				sqb_cand *cc = s->host->realloc(c, nc * sizeof *cc);
				if (!cc) {
					sqlite3_reset(push);
					rc = sqb_errf(s, err, CRMSYNC_ENOMEM,
						      "unit %s: out of memory", u->name);
					break;
				}
				c = cc;
				cap = nc;
			}
			c[n].row = row;
			c[n].last = lastseq;
			c[n].attempts = attempts;
			c[n].last_error = sqb_strdup(s, msg);
			n++;
		}
		sqlite3_reset(push);
	}
	if (!rc && n < limit && r != SQLITE_DONE)
		rc = sqb_fail(s, err, r, "unit %s: reading pending changes", u->name);
out:
	sqb_finalize(s, scan);
	sqb_finalize(s, last);
	sqb_finalize(s, push);
	s->host->free(seen.k);
	*out = c;
	*nout = n;
	return rc;
}

int sqb_changes_read(void *state, const char *unit, const crmsync_change_query *q,
		     crmsync_change_cb cb, void *ud, crmsync_error *err)
{
	sqb *s = state;
	sqb_unit *u;
	sqb_cand *cand = NULL;
	size_t ncand = 0, delivered = 0;
	sqlite3_stmt *log = NULL, *cur = NULL;
	char *changed = NULL;
	int rc = sqb_unit_get(s, unit, &u, err);
	if (rc)
		return rc;
	rc = sqb_candidates(s, u, q, &cand, &ncand, err);
	if (rc)
		goto out;
	rc = sqb_prepare(
	    s,
	    "SELECT op, col, old, seq FROM _crmsync_log WHERE unit = ?1 AND row = ?2 AND "
	    "seq <= ?3 ORDER BY seq",
	    &log, "reading the change log", err);
	if (rc)
		goto out;
	sqlite3_str *qs = sqlite3_str_new(s->db);
	sqlite3_str_appendf(qs, "SELECT id, sync_mark");
	for (size_t i = 0; i < u->nfields; i++)
		sqlite3_str_appendf(qs, ", %s", u->fields[i].qcol);
	sqlite3_str_appendf(qs, " FROM %s WHERE local_id = ?1", u->qname);
	char *sql = sqlite3_str_finish(qs);
	rc = sql ? sqb_prepare(s, sql, &cur, "reading a changed row", err)
		 : sqb_errf(s, err, CRMSYNC_ENOMEM, "out of memory");
	sqlite3_free(sql);
	if (rc)
		goto out;
	changed = s->host->alloc(u->nfields + 1);
	if (!changed) {
		rc = sqb_errf(s, err, CRMSYNC_ENOMEM, "unit %s: out of memory", u->name);
		goto out;
	}
	crmsync_record *values = s->scratch_values, *before = s->scratch_before;
	for (size_t k = 0; k < ncand && !rc; k++) {
		if (q && q->max && delivered >= q->max)
			break;
		int64_t row = cand[k].row;
		int has_insert = 0, last_op = 0, r;
		int64_t upto = cand[k].last;
		char why[512] = "", delid[128] = "";
		char buf[64], cwhy[256];
		memset(changed, 0, u->nfields + 1);
		s->host->record_clear(values);
		s->host->record_clear(before);
		sqlite3_reset(log);
		sqlite3_bind_text(log, 1, u->name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(log, 2, row);
		sqlite3_bind_int64(log, 3, cand[k].last);
		while ((r = sqlite3_step(log)) == SQLITE_ROW) {
			int op = sqlite3_column_int(log, 0);
			const char *col = (const char *)sqlite3_column_text(log, 1);
			last_op = op;
			if (op == CRMSYNC_CHANGE_INSERT)
				has_insert = 1;
			if (op == CRMSYNC_CHANGE_DELETE) {
				/* A delete ends what can be coalesced: a later insert
				 * that reused the row key is another record, reported
				 * once this delete is acknowledged. */
				const char *did = (const char *)sqlite3_column_text(log, 2);
				snprintf(delid, sizeof delid, "%s",
					 col && !strcmp(col, "id") && did ? did : "");
				upto = sqlite3_column_int64(log, 3);
				r = SQLITE_DONE;
				break;
			}
			if (op != CRMSYNC_CHANGE_UPDATE || !col)
				continue;
			for (size_t i = 0; i < u->nfields; i++) {
				if (strcmp(u->fields[i].col, col) != 0 || changed[i])
					continue;
				changed[i] = 1;
				crmsync_value v;
				if (sqb_column_value(s, &u->fields[i], log, 2, &v, buf, sizeof buf,
						     cwhy, sizeof cwhy))
					bk_note(why, sizeof why, u->name, row, cwhy);
				else
					s->host->record_set(before, u->fields[i].name, &v);
				break;
			}
		}
		if (r != SQLITE_DONE) {
			rc = sqb_fail(s, err, r, "unit %s, row %lld: reading its change log",
				      u->name, (long long)row);
			break;
		}
		crmsync_change ch = {.size = sizeof ch, .seq = upto, .row = row};
		ch.attempts = cand[k].attempts;
		ch.last_error = cand[k].last_error;
		ch.values = values;
		if (last_op == CRMSYNC_CHANGE_DELETE) {
			ch.op = CRMSYNC_CHANGE_DELETE;
			ch.id = delid[0] ? delid : NULL;
			if (q && q->nids && !bk_in_ids(q, ch.id))
				continue;
			why[0] = 0;
		} else {
			ch.op = has_insert ? CRMSYNC_CHANGE_INSERT : CRMSYNC_CHANGE_UPDATE;
			sqlite3_reset(cur);
			sqlite3_bind_int64(cur, 1, row);
			r = sqlite3_step(cur);
			if (r == SQLITE_DONE)
				continue; /* removed by the sync meanwhile: nothing to push */
			if (r != SQLITE_ROW) {
				rc = sqb_fail(s, err, r, "unit %s, row %lld: reading it", u->name,
					      (long long)row);
				break;
			}
			ch.id = (const char *)sqlite3_column_text(cur, 0);
			ch.marked = sqlite3_column_int(cur, 1) != 0;
			/* A row without a CRM id can only be created: e.g. one whose
			 * push was deferred and which the application then marked. */
			if (!ch.id && !has_insert) {
				has_insert = 1;
				ch.op = CRMSYNC_CHANGE_INSERT;
			}
			if (q && q->nids && !bk_in_ids(q, ch.id))
				continue;
			for (size_t i = 0; i < u->nfields; i++) {
				if (!has_insert && !changed[i])
					continue;
				crmsync_value v;
				if (sqb_column_value(s, &u->fields[i], cur, 2 + (int)i, &v, buf,
						     sizeof buf, cwhy, sizeof cwhy)) {
					bk_note(why, sizeof why, u->name, row, cwhy);
					s->host->record_unset(before, u->fields[i].name);
					continue;
				}
				bk_change_field(s->host, values, before, u->fields[i].name, &v,
						has_insert);
			}
			ch.before = has_insert ? NULL : before;
		}
		ch.error = why[0] ? why : NULL;
		delivered++;
		rc = cb(ud, &ch);
		sqlite3_reset(cur);
	}
out:
	if (cur)
		sqlite3_reset(cur);
	sqb_finalize(s, log);
	sqb_finalize(s, cur);
	for (size_t k = 0; k < ncand; k++)
		s->host->free(cand[k].last_error);
	s->host->free(cand);
	s->host->free(changed);
	return rc;
}

static int sqb_step_done(sqb *s, sqlite3_stmt *st, const char *unit, int64_t row, const char *what,
			 crmsync_error *err)
{
	int r = sqlite3_step(st);
	sqb_finalize(s, st);
	if (r == SQLITE_DONE)
		return 0;
	if ((r & 0xff) == SQLITE_CONSTRAINT)
		return sqb_fail(s, err, r,
				"unit %s, row %lld: %s (another row already holds that CRM id: "
				"pull the unit, then retry the push)",
				unit, (long long)row, what);
	return sqb_fail(s, err, r, "unit %s, row %lld: %s", unit, (long long)row, what);
}

int sqb_change_ack(void *state, const char *unit, const crmsync_change_ack *a, crmsync_error *err)
{
	sqb *s = state;
	sqb_unit *u;
	sqlite3_stmt *st = NULL;
	int rc = sqb_unit_get(s, unit, &u, err);
	if (rc)
		return rc;
	rc = sqb_op_begin(s, err);
	if (rc)
		return rc;
	int deleted = 0;
	if (a->ok) {
		/* An acknowledged delete says nothing about a row that reused the
		 * row key since. */
		rc = sqb_prepare(
		    s,
		    "SELECT 1 FROM _crmsync_log WHERE unit = ?1 AND row = ?2 AND seq <= "
		    "?3 AND op = 3",
		    &st, "acknowledging a push", err);
		if (!rc) {
			sqlite3_bind_text(st, 1, u->name, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, a->row);
			sqlite3_bind_int64(st, 3, a->seq);
			deleted = sqlite3_step(st) == SQLITE_ROW;
			sqb_finalize(s, st);
			st = NULL;
		}
	}
	if (rc) {
		/* fall through to the end */
	} else if (a->ok) {
		if ((a->id || a->modstamp_ms) && !deleted) {
			char ms[40];
			char *sql = sqlite3_mprintf(
			    "UPDATE %s SET id = coalesce(?2, id), crm_modstamp = coalesce(?3, "
			    "crm_modstamp), sync_state = 'synced' WHERE local_id = ?1",
			    u->qname);
			rc = sql ? sqb_prepare(s, sql, &st, "acknowledging a push", err)
				 : sqb_errf(s, err, CRMSYNC_ENOMEM, "out of memory");
			sqlite3_free(sql);
			if (!rc) {
				sqlite3_bind_int64(st, 1, a->row);
				if (a->id)
					sqlite3_bind_text(st, 2, a->id, -1, SQLITE_STATIC);
				if (a->modstamp_ms) {
					s->host->format_datetime(a->modstamp_ms, ms, sizeof ms);
					sqlite3_bind_text(st, 3, ms, -1, SQLITE_STATIC);
				}
				rc = sqb_step_done(s, st, u->name, a->row, "storing the CRM id",
						   err);
			}
		}
		if (!rc) {
			rc =
			    sqb_prepare(s,
					"DELETE FROM _crmsync_log WHERE unit = ?1 AND row = ?2 AND "
					"seq <= ?3",
					&st, "acknowledging a push", err);
			if (!rc) {
				sqlite3_bind_text(st, 1, u->name, -1, SQLITE_STATIC);
				sqlite3_bind_int64(st, 2, a->row);
				sqlite3_bind_int64(st, 3, a->seq);
				rc = sqb_step_done(s, st, u->name, a->row,
						   "clearing its change log", err);
			}
		}
		if (!rc) {
			rc =
			    sqb_prepare(s, "DELETE FROM _crmsync_push WHERE unit = ?1 AND row = ?2",
					&st, "acknowledging a push", err);
			if (!rc) {
				sqlite3_bind_text(st, 1, u->name, -1, SQLITE_STATIC);
				sqlite3_bind_int64(st, 2, a->row);
				rc = sqb_step_done(s, st, u->name, a->row,
						   "clearing its push state", err);
			}
		}
	} else {
		/* A deferred acknowledgement (a local-only row not marked for
		 * sync) is a wait, not a failure: no attempt is counted and the
		 * row's sync_state stays as it is. Either way the row is due again
		 * when an entry after seq arrives: an edit, or setting sync_mark. */
		int deferred = SQB_ACK_HAS(a, deferred) && a->deferred;
		rc = sqb_prepare(
		    s,
		    "INSERT INTO _crmsync_push(unit, row, attempts, code, message, "
		    "retry_at, failed_seq, deferred) VALUES(?1, ?2, 1 - ?7, ?3, ?4, ?5, "
		    "?6, ?7) ON CONFLICT(unit, row) DO UPDATE SET attempts = attempts + "
		    "1 - excluded.deferred, code = excluded.code, message = "
		    "excluded.message, retry_at = excluded.retry_at, failed_seq = "
		    "excluded.failed_seq, deferred = excluded.deferred",
		    &st, "recording a failed push", err);
		if (!rc) {
			sqlite3_bind_text(st, 1, u->name, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, a->row);
			if (a->error_code)
				sqlite3_bind_text(st, 3, a->error_code, -1, SQLITE_STATIC);
			if (a->error_message)
				sqlite3_bind_text(st, 4, a->error_message, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 5, a->retry_at_ms);
			sqlite3_bind_int64(st, 6, a->seq);
			sqlite3_bind_int(st, 7, deferred);
			rc = sqb_step_done(s, st, u->name, a->row, "recording a failed push", err);
		}
		if (!rc && !deferred) {
			char *sql = sqlite3_mprintf(
			    "UPDATE %s SET sync_state = 'failed' WHERE local_id = ?1", u->qname);
			rc = sql ? sqb_prepare(s, sql, &st, "recording a failed push", err)
				 : sqb_errf(s, err, CRMSYNC_ENOMEM, "out of memory");
			sqlite3_free(sql);
			if (!rc) {
				sqlite3_bind_int64(st, 1, a->row);
				rc = sqb_step_done(s, st, u->name, a->row,
						   "recording a failed push", err);
			}
		}
	}
	return sqb_op_end(s, rc, err);
}

int sqb_unit_stats(void *state, const char *unit, crmsync_unit_stats *out, crmsync_error *err)
{
	sqb *s = state;
	sqb_unit *u;
	sqlite3_stmt *st = NULL;
	int rc = sqb_unit_get(s, unit, &u, err);
	if (rc)
		return rc;
	char *sql = sqlite3_mprintf(
	    "SELECT (SELECT count(*) FROM %s WHERE is_deleted = 0), (SELECT count(*) FROM %s "
	    "WHERE is_deleted != 0), (SELECT count(DISTINCT row) FROM _crmsync_log WHERE "
	    "unit = ?1), (SELECT count(*) FROM _crmsync_push p WHERE p.unit = ?1 AND p.deferred = "
	    "0 "
	    "AND EXISTS "
	    "(SELECT 1 FROM _crmsync_log l WHERE l.unit = ?1 AND l.row = p.row)), (SELECT "
	    "count(*) FROM %s WHERE id IS NULL AND is_deleted = 0 AND coalesce(sync_mark, 0) "
	    "= 0), (SELECT count(*) FROM _crmsync_conflicts WHERE unit = ?1)",
	    u->qname, u->qname, u->qname);
	rc = sql ? sqb_prepare(s, sql, &st, "counting rows", err)
		 : sqb_errf(s, err, CRMSYNC_ENOMEM, "out of memory");
	sqlite3_free(sql);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, u->name, -1, SQLITE_STATIC);
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		size_t size = out->size;
		memset(out, 0, sizeof *out);
		out->size = size ? size : sizeof *out;
		out->rows = sqlite3_column_int64(st, 0);
		out->deleted = sqlite3_column_int64(st, 1);
		out->pending = sqlite3_column_int64(st, 2);
		out->failed = sqlite3_column_int64(st, 3);
		out->unmarked_local = sqlite3_column_int64(st, 4);
		out->conflicts = sqlite3_column_int64(st, 5);
	} else {
		rc = sqb_fail(s, err, r, "unit %s: counting rows", u->name);
	}
	sqb_finalize(s, st);
	return rc;
}
