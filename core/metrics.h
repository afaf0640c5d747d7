/*
 * metrics.h - the optional HTTP listener of crmsync run ([metrics] listen):
 * /metrics in the Prometheus text format and /healthz, both answered from the
 * snapshot the engine publishes (ops_run.h), on libmicrohttpd's own thread.
 */
#ifndef CS_METRICS_H
#define CS_METRICS_H

#include "error.h"
#include "ops_run.h"

#include <stddef.h>
#include <stdint.h>

/* Listen on "host:port" (IPv4, or [IPv6]:port; port 0 picks a free one, logged
 * as "metrics: listening on http://HOST:PORT"). where names the setting for
 * messages. */
/* Check a listen address ("host:port") without listening: 0 or CRMSYNC_EINVAL
 * naming where and what. */
int cs_metrics_check(const char *listen, const char *where, cs_error *err);
int cs_metrics_start(const char *listen, const char *where, cs_error *err);
/* /healthz fails once the last successful cycle (or the process start, before
 * the first one) is older than ms. */
void cs_metrics_set_max_age(int64_t ms);
/* Stop the listener (waits for its thread); fine when never started. */
void cs_metrics_stop(void);

/* The /metrics body for a snapshot: a malloc'ed, NUL-terminated text (free()),
 * or NULL when out of memory. */
char *cs_metrics_render(const cs_ops_snapshot *s, size_t *len);
/* 1 when healthy at now_ms; a one-line explanation goes to msg. */
int cs_metrics_healthy(const cs_ops_snapshot *s, int64_t now_ms, int64_t max_age_ms, char *msg,
		       size_t cap);

#endif
