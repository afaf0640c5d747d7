/*
 * ops_run.h - the operator's view of a running sync: after every cycle the
 * engine thread publishes a snapshot (counts, API use, errors, pending pushes,
 * last success) under a mutex; the metrics listener's thread reads copies of
 * it and never touches the backend or the Salesforce client; the alerts are
 * judged from it on the engine thread.
 *
 * main.c brackets `crmsync run` and `crmsync sync --once` with cs_ops_begin
 * and cs_ops_end; engine.c calls cs_ops_cycle_end once at the end of a cycle.
 */
#ifndef CS_OPS_RUN_H
#define CS_OPS_RUN_H

#include "conf.h"
#include "engine.h"
#include "error.h"

#include <stdbool.h>
#include <stdint.h>

#define CS_OPS_MAX_UNITS 64

/* Outcome columns of the record counters. */
enum { CS_OPS_NEW, CS_OPS_UPDATED, CS_OPS_DELETED, CS_OPS_SKIPPED, CS_OPS_FAILED, CS_OPS_NOUT };

typedef struct cs_ops_unit {
	char name[64];
	int direction;		     /* CRMSYNC_PULL | CRMSYNC_PUSH */
	int64_t pulled[CS_OPS_NOUT]; /* records, since the process started */
	int64_t pushed[CS_OPS_NOUT];
	int64_t pending;	  /* rows with pending local changes; -1 unknown */
	int64_t push_failed_rows; /* of those, rows whose last push failed */
	bool failed;		  /* the unit failed in the last cycle */
} cs_ops_unit;

typedef struct cs_ops_snapshot {
	int64_t process_started_ms;
	int64_t cycles; /* cycles finished in this process */
	int64_t cycle;	/* number of the last cycle (kept across restarts) */
	int64_t cycle_started_ms, cycle_ended_ms;
	int status;  /* the last cycle's result: 0 or a crmsync_status */
	int sf_kind; /* enum sf_error_kind of the last client failure */
	int64_t cycle_api_calls, cycle_errors;
	int64_t api_calls_total, errors_total; /* since the process started */
	int64_t api_used, api_max, api_budget; /* daily allowance; -1 unknown */
	int64_t last_success_ms;	       /* end of the last fully successful cycle; 0 never */
	int64_t interval_ms;
	size_t nunits;
	cs_ops_unit units[CS_OPS_MAX_UNITS];
} cs_ops_snapshot;

/* Read [metrics] and [alerts], start the metrics listener when `listen` is set
 * and run is true (crmsync run). CRMSYNC_EINVAL naming the key on a bad value,
 * CRMSYNC_EIO when the listener cannot bind. */
int cs_ops_begin(const cs_config *cfg, bool run, cs_error *err);
/* After SIGHUP: re-read [alerts] and [metrics] healthz_max_age (the listener
 * keeps its address; a new `listen` needs a restart). Bad values are logged and
 * the old ones kept. */
void cs_ops_reload(const cs_config *cfg);
/* The sync stops: for run, the "stopped" alert carrying reason; then the
 * listener is shut down. */
void cs_ops_end(const char *reason);

/* Engine thread, end of a cycle: build and publish the snapshot, raise alerts.
 * t0/api0 are the clock and request count at the cycle's start, first the
 * cycle's first failure (NULL when none); a stop at the API budget is read
 * from the engine. */
void cs_ops_cycle_end(cs_engine *e, int64_t t0, int64_t api0, const cs_error *first);

/* A consistent copy of the last published snapshot (any thread). */
void cs_ops_snapshot_get(cs_ops_snapshot *out);

#endif
