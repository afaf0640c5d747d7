/*
 * pg_changes.c - pending local edits of two-way units: reading them coalesced
 * per row, acknowledging push outcomes, and the per-unit counts.
 *
 * The capture trigger (pg_schema.c) writes one _crmsync_log entry per changed
 * column with the column's old value as text (col NULL for an insert, col 'id'
 * with the CRM id for a delete). A row's "before" value of a field is the old
 * value of its first entry: the value the row had when it was last synced.
 * _crmsync_push holds the outcome of a failed push per row: it is due again at
 * retry_at, or as soon as the row is edited after the failure.
 *
 * changes_read costs three queries whatever the number of rows: the due rows,
 * their log entries, and their current values.
 */
#include "pg_int.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pgb_rowidx {
	int64_t row;
	int idx;
} pgb_rowidx;

static int pgb_rowidx_cmp(const void *a, const void *b)
{
	const pgb_rowidx *x = a, *y = b;
	return x->row < y->row ? -1 : x->row > y->row;
}

static int pgb_rowidx_find(const pgb_rowidx *v, int n, int64_t row)
{
	int lo = 0, hi = n - 1;
	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		if (v[mid].row == row) {
			while (mid > 0 && v[mid - 1].row == row)
				mid--;
			return mid;
		}
		if (v[mid].row < row)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

static const char *pgb_v(PGresult *r, int i, int c)
{
	return PQgetisnull(r, i, c) ? NULL : PQgetvalue(r, i, c);
}

int pgb_changes_read(void *state, const char *unit, const crmsync_change_query *q,
		     crmsync_change_cb cb, void *ud, crmsync_error *err)
{
	pgb *s = state;
	pgb_unit *u;
	PGresult *cand = NULL, *log = NULL, *cur = NULL;
	pgb_rowidx *li = NULL, *ci = NULL;
	char *changed = NULL;
	pgb_buf rows = {0}, sql = {0};
	size_t delivered = 0;
	int rc = pgb_unit_get(s, unit, &u, err);
	if (rc)
		return rc;
	int all = !q || q->nids > 0 || q->now_ms == 0; /* retry times ignored */
	char now[24], lim[24];
	snprintf(now, sizeof now, "%lld", (long long)(q ? q->now_ms : 0));
	snprintf(lim, sizeof lim, "%zu", q ? q->max : 0);
	const char *p[4] = {u->name, now, all ? "true" : "false",
			    q && q->max && !q->nids ? lim : NULL};
	rc = pgb_query(s,
		       "SELECT g.\"row\", g.last, coalesce(p.attempts, 0), p.message FROM (SELECT "
		       "\"row\", min(seq) AS first, max(seq) AS last FROM _crmsync_log WHERE unit "
		       "= $1 GROUP BY \"row\") g LEFT JOIN _crmsync_push p ON p.unit = $1 AND "
		       "p.\"row\" = g.\"row\" WHERE $3::boolean OR p.\"row\" IS NULL OR g.last > "
		       "p.failed_seq OR (p.retry_at <> 0 AND p.retry_at <= $2::bigint) ORDER BY "
		       "g.first LIMIT $4::bigint",
		       4, p, &cand, "reading pending changes", err);
	if (rc)
		goto out;
	int nc = PQntuples(cand);
	if (nc == 0)
		goto out;
	pgb_buf_puts(s, &rows, "{");
	for (int k = 0; k < nc; k++)
		pgb_buf_printf(s, &rows, "%s%s", k ? "," : "", PQgetvalue(cand, k, 0));
	pgb_buf_puts(s, &rows, "}");
	rc = pgb_buf_ok(s, &rows, err);
	if (rc)
		goto out;
	const char *lp[2] = {u->name, rows.p};
	rc = pgb_query(s,
		       "SELECT \"row\", seq, op, col, old FROM _crmsync_log WHERE unit = $1 AND "
		       "\"row\" = ANY($2::bigint[]) ORDER BY \"row\", seq",
		       2, lp, &log, "reading the change log", err);
	if (rc)
		goto out;
	pgb_buf_puts(s, &sql, "SELECT local_id, id, sync_mark");
	for (size_t i = 0; i < u->nfields; i++)
		pgb_buf_printf(s, &sql, ", %s", u->fields[i].qcol);
	pgb_buf_printf(s, &sql, " FROM %s WHERE local_id = ANY($1::bigint[])", u->qname);
	rc = pgb_buf_ok(s, &sql, err);
	if (rc)
		goto out;
	const char *cp[1] = {rows.p};
	rc = pgb_query(s, sql.p, 1, cp, &cur, "reading changed rows", err);
	if (rc)
		goto out;
	int nl = PQntuples(log), nr = PQntuples(cur);
	li = s->host->alloc((size_t)(nl + 1) * sizeof *li);
	ci = s->host->alloc((size_t)(nr + 1) * sizeof *ci);
	changed = s->host->alloc(u->nfields + 1);
	if (!li || !ci || !changed) {
		rc = pgb_errf(s, err, CRMSYNC_ENOMEM, "unit %s: out of memory", u->name);
		goto out;
	}
	for (int i = 0; i < nl; i++) {
		li[i].row = strtoll(PQgetvalue(log, i, 0), NULL, 10);
		li[i].idx = i;
	}
	for (int i = 0; i < nr; i++) {
		ci[i].row = strtoll(PQgetvalue(cur, i, 0), NULL, 10);
		ci[i].idx = i;
	}
	qsort(ci, (size_t)nr, sizeof *ci, pgb_rowidx_cmp);
	crmsync_record *values = s->scratch_values, *before = s->scratch_before;
	for (int k = 0; k < nc && !rc; k++) {
		if (q && q->max && delivered >= q->max)
			break;
		int64_t row = strtoll(PQgetvalue(cand, k, 0), NULL, 10);
		int64_t last = strtoll(PQgetvalue(cand, k, 1), NULL, 10), upto = last;
		int has_insert = 0, last_op = 0;
		char why[512] = "", delid[128] = "", cwhy[256];
		memset(changed, 0, u->nfields + 1);
		s->host->record_clear(values);
		s->host->record_clear(before);
		int at = pgb_rowidx_find(li, nl, row);
		for (int e = at; e >= 0 && e < nl && li[e].row == row; e++) {
			if (strtoll(PQgetvalue(log, e, 1), NULL, 10) > last)
				break;
			int op = atoi(PQgetvalue(log, e, 2));
			const char *col = pgb_v(log, e, 3);
			last_op = op;
			if (op == CRMSYNC_CHANGE_INSERT)
				has_insert = 1;
			if (op == CRMSYNC_CHANGE_DELETE) {
				/* A delete ends what can be coalesced: a later insert
				 * under the same row key (an application may give one)
				 * is another record, reported once this delete is
				 * acknowledged. */
				const char *did = pgb_v(log, e, 4);
				snprintf(delid, sizeof delid, "%s",
					 col && !strcmp(col, "id") && did ? did : "");
				upto = strtoll(PQgetvalue(log, e, 1), NULL, 10);
				break;
			}
			if (op != CRMSYNC_CHANGE_UPDATE || !col)
				continue;
			for (size_t i = 0; i < u->nfields; i++) {
				if (strcmp(u->fields[i].col, col) != 0 || changed[i])
					continue;
				changed[i] = 1;
				crmsync_value v;
				if (pgb_text_value(s, &u->fields[i], pgb_v(log, e, 4),
						   (size_t)PQgetlength(log, e, 4), &v, cwhy,
						   sizeof cwhy))
					bk_note(why, sizeof why, u->name, row, cwhy);
				else
					s->host->record_set(before, u->fields[i].name, &v);
				break;
			}
		}
		crmsync_change ch = {.size = sizeof ch, .seq = upto, .row = row};
		ch.attempts = atoi(PQgetvalue(cand, k, 2));
		ch.last_error = pgb_v(cand, k, 3);
		ch.values = values;
		if (last_op == CRMSYNC_CHANGE_DELETE) {
			ch.op = CRMSYNC_CHANGE_DELETE;
			ch.id = delid[0] ? delid : NULL;
			if (q && q->nids && !bk_in_ids(q, ch.id))
				continue;
			why[0] = 0;
		} else {
			ch.op = has_insert ? CRMSYNC_CHANGE_INSERT : CRMSYNC_CHANGE_UPDATE;
			int ri = pgb_rowidx_find(ci, nr, row);
			if (ri < 0)
				continue; /* removed by the sync meanwhile: nothing to push */
			int rr = ci[ri].idx;
			ch.id = pgb_v(cur, rr, 1);
			ch.marked =
			    pgb_v(cur, rr, 2) && strtoll(PQgetvalue(cur, rr, 2), NULL, 10) != 0;
			if (q && q->nids && !bk_in_ids(q, ch.id))
				continue;
			/* A row without a CRM id can only be created: e.g. one whose
			 * push was deferred and which the application then marked. */
			if (!ch.id && !has_insert) {
				has_insert = 1;
				ch.op = CRMSYNC_CHANGE_INSERT;
			}
			for (size_t i = 0; i < u->nfields; i++) {
				if (!has_insert && !changed[i])
					continue;
				crmsync_value v;
				int c = 3 + (int)i;
				if (pgb_text_value(s, &u->fields[i], pgb_v(cur, rr, c),
						   (size_t)PQgetlength(cur, rr, c), &v, cwhy,
						   sizeof cwhy)) {
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
	}
out:
	PQclear(cand);
	PQclear(log);
	PQclear(cur);
	s->host->free(li);
	s->host->free(ci);
	s->host->free(changed);
	pgb_buf_free(s, &rows);
	pgb_buf_free(s, &sql);
	return rc;
}

int pgb_change_ack(void *state, const char *unit, const crmsync_change_ack *a, crmsync_error *err)
{
	pgb *s = state;
	pgb_unit *u;
	pgb_buf q = {0};
	char row[24], seq[24], retry[24], ms[40];
	int rc = pgb_unit_get(s, unit, &u, err);
	if (rc)
		return rc;
	snprintf(row, sizeof row, "%lld", (long long)a->row);
	snprintf(seq, sizeof seq, "%lld", (long long)a->seq);
	snprintf(retry, sizeof retry, "%lld", (long long)a->retry_at_ms);
	rc = pgb_op_begin(s, err);
	if (rc)
		return rc;
	if (a->ok) {
		if (a->id || a->modstamp_ms) {
			if (a->modstamp_ms)
				bk_format_datetime(a->modstamp_ms, ms);
			pgb_buf_printf(s, &q,
				       "UPDATE %s SET id = coalesce($2, id), crm_modstamp = "
				       "coalesce($3, crm_modstamp), sync_state = 'synced' WHERE "
				       "local_id = $1",
				       u->qname);
			rc = pgb_buf_ok(s, &q, err);
			const char *p[3] = {row, a->id, a->modstamp_ms ? ms : NULL};
			if (!rc)
				rc = pgb_query(s, q.p, 3, p, NULL, "storing the CRM id", err);
			if (rc) {
				char why[1536];
				snprintf(why, sizeof why, "%s", s->host->error_message(err));
				s->host->error_set(err, rc,
						   "unit %s, row %s: storing the CRM id %s: %s%s",
						   u->name, row, a->id ? a->id : "", why,
						   rc == CRMSYNC_EINVAL
						       ? " (another row already holds that CRM id: "
							 "pull the unit, then retry the push)"
						       : "");
			}
		}
		const char *p[3] = {u->name, row, seq};
		if (!rc)
			rc = pgb_query(s,
				       "DELETE FROM _crmsync_log WHERE unit = $1 AND \"row\" = $2 "
				       "AND seq <= $3",
				       3, p, NULL, "clearing the change log", err);
		if (!rc)
			rc = pgb_query(s,
				       "DELETE FROM _crmsync_push WHERE unit = $1 AND \"row\" = $2",
				       2, p, NULL, "clearing the push state", err);
	} else {
		/* A deferred acknowledgement (a local-only row not marked for
		 * sync) is a wait, not a failure: no attempt is counted and the
		 * row's sync_state stays. Either way the row is due again when an
		 * entry after seq arrives: an edit, or setting sync_mark. */
		int deferred =
		    a->size >= offsetof(crmsync_change_ack, deferred) + sizeof a->deferred &&
		    a->deferred;
		const char *p[7] = {u->name, row, a->error_code,       a->error_message,
				    retry,   seq, deferred ? "1" : "0"};
		rc = pgb_query(
		    s,
		    "INSERT INTO _crmsync_push(unit, \"row\", attempts, code, message, "
		    "retry_at, failed_seq, deferred) VALUES($1, $2, 1 - $7::int, $3, $4, "
		    "$5, $6, $7::int) ON CONFLICT(unit, \"row\") DO UPDATE SET attempts = "
		    "_crmsync_push.attempts + 1 - excluded.deferred, code = excluded.code, "
		    "message = excluded.message, retry_at = excluded.retry_at, failed_seq = "
		    "excluded.failed_seq, deferred = excluded.deferred",
		    7, p, NULL, "recording a failed push", err);
		pgb_buf_printf(s, &q, "UPDATE %s SET sync_state = 'failed' WHERE local_id = $1",
			       u->qname);
		if (!rc)
			rc = pgb_buf_ok(s, &q, err);
		if (!rc && !deferred)
			rc = pgb_query(s, q.p, 1, p + 1, NULL, "recording a failed push", err);
	}
	pgb_buf_free(s, &q);
	return pgb_op_end(s, rc, err);
}

int pgb_unit_stats(void *state, const char *unit, crmsync_unit_stats *out, crmsync_error *err)
{
	pgb *s = state;
	pgb_unit *u;
	PGresult *r = NULL;
	pgb_buf q = {0};
	int rc = pgb_unit_get(s, unit, &u, err);
	if (rc)
		return rc;
	pgb_buf_printf(
	    s, &q,
	    "SELECT (SELECT count(*) FROM %s WHERE is_deleted = 0), (SELECT count(*) FROM %s "
	    "WHERE is_deleted <> 0), (SELECT count(DISTINCT \"row\") FROM _crmsync_log WHERE "
	    "unit = $1), (SELECT count(*) FROM _crmsync_push p WHERE p.unit = $1 AND p.deferred = "
	    "0 AND EXISTS "
	    "(SELECT 1 FROM _crmsync_log l WHERE l.unit = $1 AND l.\"row\" = p.\"row\")), (SELECT "
	    "count(*) FROM %s WHERE id IS NULL AND is_deleted = 0 AND coalesce(sync_mark, 0) "
	    "= 0), (SELECT count(*) FROM _crmsync_conflicts WHERE unit = $1)",
	    u->qname, u->qname, u->qname);
	rc = pgb_buf_ok(s, &q, err);
	const char *p[1] = {u->name};
	if (!rc)
		rc = pgb_query(s, q.p, 1, p, &r, "counting rows", err);
	pgb_buf_free(s, &q);
	if (rc)
		return rc;
	size_t size = out->size;
	memset(out, 0, sizeof *out);
	out->size = size ? size : sizeof *out;
	out->rows = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
	out->deleted = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
	out->pending = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
	out->failed = strtoll(PQgetvalue(r, 0, 3), NULL, 10);
	out->unmarked_local = strtoll(PQgetvalue(r, 0, 4), NULL, 10);
	out->conflicts = strtoll(PQgetvalue(r, 0, 5), NULL, 10);
	PQclear(r);
	return 0;
}
