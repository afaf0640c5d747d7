/* ops_run.c - see ops_run.h. The engine thread accumulates counters in its own
 * working copy and publishes it whole under ops_lock, so the listener thread
 * only ever copies a finished snapshot and nothing it reads is half-written. */
#include "config.h"
#include "alerts.h"
#include "engine_int.h"
#include "metrics.h"
#include "ops_run.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pthread_mutex_t ops_lock = PTHREAD_MUTEX_INITIALIZER;
static cs_ops_snapshot ops_published; /* under ops_lock */
static cs_ops_snapshot ops_work;      /* engine thread only */
static bool ops_run_mode, ops_listening;

void cs_ops_snapshot_get(cs_ops_snapshot *out)
{
	pthread_mutex_lock(&ops_lock);
	*out = ops_published;
	pthread_mutex_unlock(&ops_lock);
}

static void ops_publish(void)
{
	pthread_mutex_lock(&ops_lock);
	ops_published = ops_work;
	pthread_mutex_unlock(&ops_lock);
}

/* [metrics] healthz_max_age, default 3 x [sync] interval + 10 minutes. */
static int ops_max_age(const cs_config *cfg, int64_t *interval_ms, int64_t *max_age_ms,
		       cs_error *err)
{
	if (cs_config_duration(cfg, "sync", "interval", 300000, 1000, interval_ms, err))
		return CRMSYNC_EINVAL;
	return cs_config_duration(cfg, "metrics", "healthz_max_age", 3 * *interval_ms + 600000,
				  1000, max_age_ms, err);
}

int cs_ops_begin(const cs_config *cfg, bool run, cs_error *err)
{
	int64_t interval_ms, max_age_ms;
	int rc;

	if ((rc = ops_max_age(cfg, &interval_ms, &max_age_ms, err)))
		return rc;
	if ((rc = cs_alerts_configure(cfg, err)))
		return rc;
	memset(&ops_work, 0, sizeof ops_work);
	ops_work.process_started_ms = cs_now_ms();
	ops_work.interval_ms = interval_ms;
	ops_work.api_used = ops_work.api_max = ops_work.api_budget = -1;
	ops_publish();
	ops_run_mode = run;
	cs_metrics_set_max_age(max_age_ms);
	const char *listen = cs_config_get(cfg, "metrics", "listen");
	/* sync --once does not listen, but a bad address is still a config error */
	if (!run && listen && *listen &&
	    (rc = cs_metrics_check(listen, cs_config_where(cfg, "metrics", "listen"), err)))
		return rc;
	if (run && listen && *listen) {
		if ((rc = cs_metrics_start(listen, cs_config_where(cfg, "metrics", "listen"), err)))
			return rc;
		ops_listening = true;
	}
	return 0;
}

void cs_ops_reload(const cs_config *cfg)
{
	cs_error err = CS_ERROR_INIT;
	int64_t interval_ms, max_age_ms;

	if (ops_max_age(cfg, &interval_ms, &max_age_ms, &err) || cs_alerts_configure(cfg, &err)) {
		cs_warn("ops", "%s; keeping the previous metrics and alert settings", err.msg);
		return;
	}
	ops_work.interval_ms = interval_ms;
	ops_publish();
	cs_metrics_set_max_age(max_age_ms);
}

void cs_ops_end(const char *reason)
{
	if (ops_run_mode) {
		cs_ops_snapshot snap;
		cs_ops_snapshot_get(&snap);
		cs_alert_raise(CS_ALERT_STOPPED, NULL, reason ? reason : "crmsync run stopped",
			       &snap);
	}
	if (ops_listening)
		cs_metrics_stop();
	ops_listening = false;
	ops_run_mode = false;
}

static cs_ops_unit *ops_unit(const char *name)
{
	for (size_t i = 0; i < ops_work.nunits; i++)
		if (strcmp(ops_work.units[i].name, name) == 0)
			return &ops_work.units[i];
	if (ops_work.nunits == CS_OPS_MAX_UNITS)
		return NULL;
	cs_ops_unit *u = &ops_work.units[ops_work.nunits++];
	memset(u, 0, sizeof *u);
	snprintf(u->name, sizeof u->name, "%s", name);
	u->pending = u->push_failed_rows = -1;
	return u;
}

static void ops_add_counts(int64_t *out, const cs_counts *c)
{
	out[CS_OPS_NEW] += c->n_new;
	out[CS_OPS_UPDATED] += c->n_updated;
	out[CS_OPS_DELETED] += c->n_deleted;
	out[CS_OPS_SKIPPED] += c->n_skipped;
	out[CS_OPS_FAILED] += c->n_failed;
}

void cs_ops_cycle_end(cs_engine *e, int64_t t0, int64_t api0, const cs_error *first)
{
	cs_ops_snapshot *w = &ops_work;
	cs_error ierr = CS_ERROR_INIT;
	int64_t now = cs_now_ms(), worst = 0;
	const char *worst_unit = NULL;
	char buf[64];
	int status = e->budget_hit ? CRMSYNC_EBUSY
		     : first	   ? (first->code ? first->code : CRMSYNC_ERR)
				   : 0;
	const char *message = first ? first->msg : NULL;

	if (!w->process_started_ms) { /* a cycle outside cs_ops_begin (tests) */
		w->process_started_ms = t0;
		w->api_used = w->api_max = w->api_budget = -1;
	}
	w->cycles++;
	w->cycle = e->cycle;
	w->cycle_started_ms = t0;
	w->cycle_ended_ms = now;
	w->status = status;
	w->sf_kind = e->sf ? sf_error_kind(e->sf) : 0;
	w->cycle_api_calls = e->sf ? sf_request_count(e->sf) - api0 : 0;
	w->api_calls_total += w->cycle_api_calls;
	w->interval_ms = e->interval_ms;
	w->cycle_errors = 0;
	for (size_t i = 0; i < e->nunits; i++) {
		cs_unit *u = &e->units[i];
		cs_ops_unit *ou = ops_unit(u->decl->name);
		int64_t n = u->schema.n_failed + u->pull.n_failed + u->push.n_failed +
			    u->reconcile.n_failed + (u->failed ? 1 : 0);
		w->cycle_errors += n;
		if (n > worst) {
			worst = n;
			worst_unit = u->decl->name;
		}
		if (!ou)
			continue;
		ou->direction = u->decl->direction;
		ou->failed = u->failed;
		ops_add_counts(ou->pulled, &u->pull);
		ops_add_counts(ou->pulled, &u->reconcile); /* rows purged in the CRM */
		ops_add_counts(ou->pushed, &u->push);
		/* Counting costs table scans: skip it when nothing can have moved
		 * (none pending before, none found at the start, no push ran); a
		 * local edit made during this cycle shows after the next one. */
		bool may_change = ou->pending != 0 || u->push_pending || u->push.ran;
		crmsync_unit_stats st = {.size = sizeof st};
		if (!ops_listening || !(u->decl->direction & CRMSYNC_PUSH)) {
			ou->pending = ou->push_failed_rows = -1;
		} else if (may_change) {
			ou->pending = ou->push_failed_rows = -1;
			if (e->b->unit_stats(e->bs, u->decl->name, &st, &ierr) == 0) {
				ou->pending = st.pending;
				ou->push_failed_rows = st.failed;
			}
		}
		cs_err_clear(&ierr);
	}
	w->errors_total += w->cycle_errors;
	if (e->sf)
		sf_limits(e->sf, &w->api_used, &w->api_max, &w->api_budget);
	if (status == 0 && !cs_stop_requested)
		w->last_success_ms = now;
	else if (!w->last_success_ms &&
		 e->b->state_get(e->bs, "", "last_success_ms", buf, sizeof buf, &ierr) > 0)
		w->last_success_ms = strtoll(buf, NULL, 10); /* from an earlier run */
	ops_publish();

	/* Alerts, judged on the engine thread from the copy just published. */
	if (status == CRMSYNC_EBUSY) {
		char msg[256];
		snprintf(msg, sizeof msg,
			 "the API budget is reached (used %" PRId64 " of %" PRId64
			 " calls, budget %" PRId64 "): the sync stopped at a page boundary and "
			 "resumes when the daily allowance allows",
			 w->api_used, w->api_max, w->api_budget);
		cs_alert_raise(CS_ALERT_BUDGET, NULL, msg, w);
	}
	if (w->sf_kind == SF_E_AUTH && status != 0)
		cs_alert_raise(CS_ALERT_AUTH, NULL,
			       message ? message : "Salesforce refused the credentials", w);
	int64_t thr = cs_alerts_error_threshold();
	if (thr >= 0 && w->cycle_errors > thr) {
		char msg[256];
		snprintf(msg, sizeof msg,
			 "%" PRId64 " errors in cycle %" PRId64 " (threshold %" PRId64
			 "), most in unit %s; see crmsync errors",
			 w->cycle_errors, w->cycle, thr, worst_unit ? worst_unit : "-");
		cs_alert_raise(CS_ALERT_ERRORS, worst_unit, msg, w);
	}
}
