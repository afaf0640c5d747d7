/* backlog.c - crmsync backlog: per unit and direction, how many records wait,
 * the rate the sync worked at over the last hours (from history), an ETA, and
 * whether the backlog grows (against the previous sample, kept in the store's
 * state under unit "" as "backlog.UNIT.DIR" = "ms count").
 *
 * The CRM side costs one COUNT() query (one API call) per CRM-to-local unit:
 * records whose SystemModstamp is past the unit's watermark. The local side is
 * the backend's count of rows with pending changes. */
#include "config.h"
#include "engine_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define BACKLOG_WINDOW_MS (6 * 3600000LL)

struct backlog_rate {
	int64_t processed; /* records handled in the window */
	int64_t busy_ms;   /* time spent on steps that handled records */
};

struct backlog_hist {
	cs_engine *e;
	struct backlog_rate *pull, *push; /* per unit */
	int64_t first_ms, last_end_ms;
};

static int backlog_hist_cb(void *ud, const crmsync_history_row *h)
{
	struct backlog_hist *bh = ud;
	cs_engine *e = bh->e;

	if (!bh->first_ms || (h->started_ms && h->started_ms < bh->first_ms))
		bh->first_ms = h->started_ms;
	if (h->ended_ms > bh->last_end_ms)
		bh->last_end_ms = h->ended_ms;
	for (size_t i = 0; i < e->nunits; i++) {
		if (strcasecmp(e->units[i].decl->name, h->unit ? h->unit : ""))
			continue;
		struct backlog_rate *r = NULL;
		if (h->step && strcmp(h->step, "pull") == 0)
			r = &bh->pull[i];
		else if (h->step && strcmp(h->step, "push") == 0)
			r = &bh->push[i];
		if (!r)
			break;
		int64_t n = h->n_new + h->n_updated + h->n_deleted + h->n_skipped;
		r->processed += n;
		if (n > 0 && h->ended_ms > h->started_ms)
			r->busy_ms += h->ended_ms - h->started_ms;
		break;
	}
	return 0;
}

static void backlog_duration(int64_t s, char *buf, size_t cap)
{
	if (s < 60)
		snprintf(buf, cap, "%" PRId64 "s", s);
	else if (s < 3600)
		snprintf(buf, cap, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
	else if (s < 86400 * 2)
		snprintf(buf, cap, "%" PRId64 "h%02" PRId64 "m", s / 3600, s / 60 % 60);
	else
		snprintf(buf, cap, "%" PRId64 "d%02" PRId64 "h", s / 86400, s / 3600 % 24);
}

/* Records waiting on the CRM side: changed past the watermark. */
static int backlog_crm_count(cs_engine *e, cs_unit *u, int64_t *n, cs_error *err)
{
	sf_buf q = {0};
	int64_t ms = 0;
	char id[19];
	int rc = cs_pull_watermark(e, u, &ms, id, err);

	if (rc && rc != CRMSYNC_ENOENT)
		return rc;
	cs_err_clear(err);
	sf_buf_addf(&q, "SELECT COUNT() FROM %s", u->decl->sobject);
	if (rc == 0) {
		sf_buf_addf(&q, " WHERE SystemModstamp > ");
		sf_soql_datetime(&q, ms);
	}
	if (u->decl->filter)
		sf_buf_addf(&q, " %s (%s)", rc == 0 ? "AND" : "WHERE", u->decl->filter);
	if (q.oom) {
		sf_buf_free(&q);
		return cs_err(err, CRMSYNC_ENOMEM, "out of memory");
	}
	rc = sf_query_count(e->sf, q.s, n, err);
	sf_buf_free(&q);
	return rc;
}

struct backlog_line {
	const char *unit, *dir;
	int64_t waiting; /* -1 unknown */
	const char *why; /* when unknown */
	double rate_h;	 /* records per hour over the window */
	int64_t eta_s;	 /* -1 unknown */
	int64_t prev_ms, prev;
};

static void backlog_trend(const struct backlog_line *l, char *buf, size_t cap)
{
	char when[40];
	if (l->waiting < 0)
		snprintf(buf, cap, "-");
	else if (l->prev < 0)
		snprintf(buf, cap, "first sample");
	else {
		cs_format_datetime(l->prev_ms, when, sizeof when);
		snprintf(buf, cap, "%s (%+" PRId64 " since %s)",
			 l->waiting > l->prev	? "growing"
			 : l->waiting < l->prev ? "shrinking"
						: "steady",
			 l->waiting - l->prev, when);
	}
}

static void backlog_print(const struct backlog_line *l, int format, bool *first)
{
	char eta[32], trend[96];
	if (l->waiting == 0)
		snprintf(eta, sizeof eta, "-");
	else if (l->eta_s < 0)
		snprintf(eta, sizeof eta, "unknown");
	else
		backlog_duration(l->eta_s, eta, sizeof eta);
	backlog_trend(l, trend, sizeof trend);
	if (format == 1) {
		printf("%s{\"unit\":\"%s\",\"direction\":\"%s\",\"waiting\":", *first ? "" : ",",
		       l->unit, l->dir);
		if (l->waiting < 0)
			printf("null,\"unknown_because\":\"%s\"", l->why ? l->why : "");
		else
			printf("%" PRId64, l->waiting);
		printf(",\"rate_per_hour\":%.1f,\"eta_seconds\":", l->rate_h);
		if (l->waiting >= 0 && (l->waiting == 0 || l->eta_s >= 0))
			printf("%" PRId64, l->waiting == 0 ? 0 : l->eta_s);
		else
			printf("null");
		printf(",\"growing\":%s,\"previous\":", l->waiting < 0 || l->prev < 0 ? "null"
							: l->waiting > l->prev	      ? "true"
										      : "false");
		if (l->waiting >= 0 && l->prev >= 0) {
			char when[40];
			cs_format_datetime(l->prev_ms, when, sizeof when);
			printf("{\"at\":\"%s\",\"waiting\":%" PRId64 "}", when, l->prev);
		} else {
			printf("null");
		}
		printf("}");
	} else {
		char w[32];
		if (l->waiting < 0)
			snprintf(w, sizeof w, "?");
		else
			snprintf(w, sizeof w, "%" PRId64, l->waiting);
		printf("%-24s %-9s %9s %10.0f %9s  %s%s%s\n", l->unit, l->dir, w, l->rate_h, eta,
		       trend, l->why ? "  " : "", l->why ? l->why : "");
	}
	*first = false;
}

int cs_engine_backlog(cs_engine *e, int format, cs_error *err)
{
	int64_t now = cs_now_ms();
	struct backlog_hist bh = {.e = e};
	bool first = true, crm_ok = true;
	char crm_why[160] = "";
	int rc = 0;

	bh.pull = calloc(e->nunits ? e->nunits : 1, sizeof *bh.pull);
	bh.push = calloc(e->nunits ? e->nunits : 1, sizeof *bh.push);
	if (!bh.pull || !bh.push) {
		rc = cs_err(err, CRMSYNC_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = e->b->history_read(e->bs, now - BACKLOG_WINDOW_MS, backlog_hist_cb, &bh, err)))
		goto out;
	/* the window starts at the first cycle in it, so a young sync is not
	 * averaged over hours it did not run */
	int64_t span_ms = bh.first_ms ? now - bh.first_ms : 0;
	if (span_ms < 60000)
		span_ms = 60000;
	int64_t next_in_s = 0;
	if (bh.last_end_ms && bh.last_end_ms + e->interval_ms > now)
		next_in_s = (bh.last_end_ms + e->interval_ms - now + 999) / 1000;

	if (format == 1)
		printf("{\"window_hours\":%.2f,\"units\":[", (double)span_ms / 3600000.0);
	else
		printf("%-24s %-9s %9s %10s %9s  %s\n", "UNIT", "DIRECTION", "WAITING", "RATE/HOUR",
		       "ETA", "TREND (against the previous crmsync backlog)");
	for (size_t i = 0; i < e->nunits; i++) {
		cs_unit *u = &e->units[i];
		for (int d = 0; d < 2; d++) {
			int dirbit = d == 0 ? CRMSYNC_PULL : CRMSYNC_PUSH;
			struct backlog_rate *r = d == 0 ? &bh.pull[i] : &bh.push[i];
			struct backlog_line l = {.unit = u->decl->name,
						 .dir = d == 0 ? "from CRM" : "to CRM",
						 .waiting = -1,
						 .eta_s = -1,
						 .prev = -1};
			char key[160], buf[64], unit_why[160];
			if (!(u->decl->direction & dirbit))
				continue;
			if (d == 0) {
				cs_error qerr = CS_ERROR_INIT;
				if (!crm_ok) {
					l.why = crm_why;
				} else if (backlog_crm_count(e, u, &l.waiting, &qerr)) {
					int kind = sf_error_kind(e->sf);
					l.waiting = -1;
					snprintf(unit_why, sizeof unit_why, "%.150s", qerr.msg);
					l.why = unit_why;
					/* refused credentials, no budget, no network: the
					 * other units would fail alike, so do not ask */
					if (kind == SF_E_AUTH || kind == SF_E_BUDGET ||
					    kind == SF_E_LIMIT || kind == SF_E_NETWORK) {
						crm_ok = false;
						snprintf(crm_why, sizeof crm_why, "%s", unit_why);
					}
				}
			} else {
				crmsync_unit_stats st = {.size = sizeof st};
				cs_error serr = CS_ERROR_INIT;
				if (e->b->unit_stats(e->bs, u->decl->name, &st, &serr) == 0)
					l.waiting = st.pending;
				else
					l.waiting = 0; /* never synced: no table, nothing pending */
			}
			l.rate_h = (double)r->processed * 3600000.0 / (double)span_ms;
			if (l.waiting > 0 && r->processed > 0 && r->busy_ms > 0)
				l.eta_s =
				    next_in_s + (int64_t)((double)l.waiting * (double)r->busy_ms /
							      (double)r->processed / 1000.0 +
							  0.999);
			snprintf(key, sizeof key, "backlog.%s.%s", u->decl->name,
				 d == 0 ? "pull" : "push");
			if (e->b->state_get(e->bs, "", key, buf, sizeof buf, err) > 0) {
				long long pms, pn;
				if (sscanf(buf, "%lld %lld", &pms, &pn) == 2) {
					l.prev_ms = pms;
					l.prev = pn;
				}
			}
			cs_err_clear(err);
			if (l.waiting >= 0) {
				snprintf(buf, sizeof buf, "%lld %lld", (long long)now,
					 (long long)l.waiting);
				if (e->b->state_set(e->bs, "", key, buf, err))
					cs_warn("backlog", "cannot keep the sample: %s", err->msg);
				cs_err_clear(err);
			}
			backlog_print(&l, format, &first);
		}
	}
	if (format == 1) {
		printf("]}\n");
	} else {
		char span[32], next[32];
		backlog_duration(span_ms / 1000, span, sizeof span);
		backlog_duration(next_in_s, next, sizeof next);
		printf("\nRATE/HOUR: records handled per hour over the last %s of history. ETA: at "
		       "the speed\nof the busy steps in that window, counting from the next cycle "
		       "(due in %s).\n",
		       span, next);
		if (!crm_ok)
			printf("The CRM side is unknown: %s\n", crm_why);
	}
	if (!crm_ok)
		rc = cs_err(err, CRMSYNC_ERR, "cannot count the CRM side: %s", crm_why);
out:
	free(bh.pull);
	free(bh.push);
	return rc;
}
