/* metrics.c - see metrics.h. libmicrohttpd runs the listener on its own
 * thread; every answer is rendered from a copy of the published snapshot, so
 * this thread never touches the backend or the Salesforce client. This is the
 * only file of the daemon that uses libmicrohttpd. */
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "timeutil.h"

#include <microhttpd.h>
#include <netdb.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static struct MHD_Daemon *metrics_daemon;
static _Atomic int64_t metrics_max_age_ms = 3 * 300000 + 600000;

void cs_metrics_set_max_age(int64_t ms)
{
	metrics_max_age_ms = ms;
}

static void metrics_label(FILE *f, const char *v)
{
	fputc('"', f);
	for (; *v; v++) {
		if (*v == '\\' || *v == '"')
			fprintf(f, "\\%c", *v);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
	fputc('"', f);
}

static void metrics_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void metrics_value(FILE *f, const char *name, int64_t v)
{
	fprintf(f, "%s %" PRId64 "\n", name, v);
}

char *cs_metrics_render(const cs_ops_snapshot *s, size_t *len)
{
	static const char *const outcome[CS_OPS_NOUT] = {"new", "updated", "deleted", "skipped",
							 "failed"};
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	if (!f)
		return NULL;
	metrics_head(f, "crmsync_records_total", "counter",
		     "Records synced since crmsync started, by unit, direction and outcome.");
	for (size_t i = 0; i < s->nunits; i++) {
		const cs_ops_unit *u = &s->units[i];
		for (int d = 0; d < 2; d++) {
			if (!(u->direction & (d == 0 ? CRMSYNC_PULL : CRMSYNC_PUSH)))
				continue;
			for (int o = 0; o < CS_OPS_NOUT; o++) {
				fputs("crmsync_records_total{unit=", f);
				metrics_label(f, u->name);
				fprintf(f, ",direction=\"%s\",outcome=\"%s\"} %" PRId64 "\n",
					d == 0 ? "pull" : "push", outcome[o],
					d == 0 ? u->pulled[o] : u->pushed[o]);
			}
		}
	}
	metrics_head(f, "crmsync_backlog_pending", "gauge",
		     "Local rows with changes waiting to be pushed, after the last cycle.");
	for (size_t i = 0; i < s->nunits; i++)
		if (s->units[i].pending >= 0) {
			fputs("crmsync_backlog_pending{unit=", f);
			metrics_label(f, s->units[i].name);
			fprintf(f, "} %" PRId64 "\n", s->units[i].pending);
		}
	metrics_head(f, "crmsync_push_failed_rows", "gauge",
		     "Local rows whose last push the CRM refused (see crmsync errors).");
	for (size_t i = 0; i < s->nunits; i++)
		if (s->units[i].push_failed_rows >= 0) {
			fputs("crmsync_push_failed_rows{unit=", f);
			metrics_label(f, s->units[i].name);
			fprintf(f, "} %" PRId64 "\n", s->units[i].push_failed_rows);
		}
	metrics_head(f, "crmsync_unit_failed", "gauge",
		     "1 when the unit failed in the last cycle.");
	for (size_t i = 0; i < s->nunits; i++) {
		fputs("crmsync_unit_failed{unit=", f);
		metrics_label(f, s->units[i].name);
		fprintf(f, "} %d\n", s->units[i].failed ? 1 : 0);
	}
	metrics_head(f, "crmsync_api_calls_total", "counter",
		     "Salesforce API requests sent since crmsync started (OAuth token requests, which the org does not count, excluded).");
	metrics_value(f, "crmsync_api_calls_total", s->api_calls_total);
	metrics_head(f, "crmsync_errors_total", "counter",
		     "Record and job errors recorded since crmsync started.");
	metrics_value(f, "crmsync_errors_total", s->errors_total);
	metrics_head(f, "crmsync_cycles_total", "counter",
		     "Cycles finished since crmsync started.");
	metrics_value(f, "crmsync_cycles_total", s->cycles);
	metrics_head(f, "crmsync_cycle", "gauge", "Number of the last cycle (kept in the store).");
	metrics_value(f, "crmsync_cycle", s->cycle);
	metrics_head(f, "crmsync_last_cycle_duration_seconds", "gauge",
		     "Duration of the last cycle.");
	fprintf(f, "crmsync_last_cycle_duration_seconds %.3f\n",
		(double)(s->cycle_ended_ms - s->cycle_started_ms) / 1000.0);
	metrics_head(f, "crmsync_last_cycle_api_calls", "gauge", "API requests of the last cycle.");
	metrics_value(f, "crmsync_last_cycle_api_calls", s->cycle_api_calls);
	metrics_head(f, "crmsync_last_cycle_errors", "gauge", "Errors recorded in the last cycle.");
	metrics_value(f, "crmsync_last_cycle_errors", s->cycle_errors);
	metrics_head(f, "crmsync_last_cycle_success", "gauge",
		     "1 when the last cycle succeeded for every unit.");
	metrics_value(f, "crmsync_last_cycle_success", s->cycles && s->status == 0);
	metrics_head(f, "crmsync_last_success_timestamp_seconds", "gauge",
		     "Unix time of the end of the last successful cycle (0: none yet).");
	fprintf(f, "crmsync_last_success_timestamp_seconds %.3f\n",
		(double)s->last_success_ms / 1000.0);
	metrics_head(f, "crmsync_start_timestamp_seconds", "gauge",
		     "Unix time crmsync run started.");
	fprintf(f, "crmsync_start_timestamp_seconds %.3f\n",
		(double)s->process_started_ms / 1000.0);
	if (s->api_max >= 0) {
		metrics_head(
		    f, "crmsync_api_daily_used", "gauge",
		    "API requests of the org in the rolling day, as Salesforce reports it.");
		metrics_value(f, "crmsync_api_daily_used", s->api_used);
		metrics_head(f, "crmsync_api_daily_max", "gauge", "The org's daily API allowance.");
		metrics_value(f, "crmsync_api_daily_max", s->api_max);
		metrics_head(f, "crmsync_api_budget", "gauge",
			     "Requests crmsync allows itself per day ([salesforce] api_budget).");
		metrics_value(f, "crmsync_api_budget", s->api_budget);
		metrics_head(
		    f, "crmsync_api_budget_used_ratio", "gauge",
		    "Share of the budget used (1: the sync stops until the allowance rolls).");
		fprintf(f, "crmsync_api_budget_used_ratio %.4f\n",
			s->api_budget > 0 ? (double)s->api_used / (double)s->api_budget : 0.0);
	}
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

int cs_metrics_healthy(const cs_ops_snapshot *s, int64_t now_ms, int64_t max_age_ms, char *msg,
		       size_t cap)
{
	/* Before the first good cycle of this process the start is the baseline:
	 * a restart gets one max_age to prove itself. */
	int64_t base =
	    s->last_success_ms > s->process_started_ms ? s->last_success_ms : s->process_started_ms;
	int64_t age = now_ms - base;
	char when[40];

	if (s->last_success_ms > 0)
		cs_format_datetime(s->last_success_ms, when, sizeof when);
	else
		snprintf(when, sizeof when, "never");
	if (age <= max_age_ms) {
		snprintf(msg, cap, "ok: last successful cycle %s, cycle %" PRId64 "\n", when,
			 s->cycle);
		return 1;
	}
	snprintf(msg, cap,
		 "stale: no successful cycle for %" PRId64 "s (limit %" PRId64
		 "s); last successful cycle %s; see crmsync status and crmsync errors\n",
		 age / 1000, max_age_ms / 1000, when);
	return 0;
}

static enum MHD_Result metrics_answer(void *cls, struct MHD_Connection *c, const char *url,
				      const char *method, const char *version,
				      const char *upload_data, size_t *upload_size, void **con_cls)
{
	cs_ops_snapshot *s;
	struct MHD_Response *r;
	unsigned status = MHD_HTTP_OK;
	char *body = NULL;
	size_t len = 0;
	const char *ctype = "text/plain; charset=utf-8";

	(void)cls;
	(void)version;
	(void)upload_data;
	(void)con_cls;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		status = MHD_HTTP_METHOD_NOT_ALLOWED;
		body = strdup("only GET and HEAD\n");
	} else if (*upload_size) {
		return MHD_NO;
	} else if (!(s = malloc(sizeof *s))) {
		return MHD_NO;
	} else {
		cs_ops_snapshot_get(s);
		if (strcmp(url, "/metrics") == 0) {
			body = cs_metrics_render(s, &len);
			ctype = "text/plain; version=0.0.4; charset=utf-8";
		} else if (strcmp(url, "/healthz") == 0) {
			char msg[512];
			if (!cs_metrics_healthy(s, cs_now_ms(), metrics_max_age_ms, msg,
						sizeof msg))
				status = MHD_HTTP_SERVICE_UNAVAILABLE;
			body = strdup(msg);
		} else {
			status = MHD_HTTP_NOT_FOUND;
			body = strdup("not found: try /metrics or /healthz\n");
		}
		free(s);
	}
	if (!body)
		return MHD_NO;
	if (!len)
		len = strlen(body);
	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, "Content-Type", ctype);
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static void metrics_mhd_log(void *cls, const char *fmt, va_list ap) CRMSYNC_PRINTF(2, 0);
static void metrics_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof msg, fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	cs_warn("metrics", "%s", msg);
}

/* Parse and resolve "host:port" ([::1]:port for IPv6) into host and *ai. */
#define METRICS_HOST_MAX 256

static int metrics_resolve(const char *listen, const char *where, char host[METRICS_HOST_MAX],
			   struct addrinfo **ai, cs_error *err)
{
	const char *port, *colon = strrchr(listen, ':');
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	int rc;

	*ai = NULL;
	if (!colon || !colon[1] || (size_t)(colon - listen) >= METRICS_HOST_MAX)
		return cs_err(err, CRMSYNC_EINVAL,
			      "%s: metrics.listen = '%s': expected host:port, e.g. 127.0.0.1:9464",
			      where, listen);
	port = colon + 1;
	memcpy(host, listen, (size_t)(colon - listen));
	host[colon - listen] = '\0';
	if (host[0] == '[' && host[strlen(host) - 1] == ']') { /* [::1]:9464 */
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	if ((rc = getaddrinfo(host[0] ? host : NULL, port, &hints, ai)) != 0 || !*ai)
		return cs_err(err, CRMSYNC_EINVAL, "%s: metrics.listen = '%s': %s", where, listen,
			      gai_strerror(rc));
	return 0;
}

int cs_metrics_check(const char *listen, const char *where, cs_error *err)
{
	char host[METRICS_HOST_MAX];
	struct addrinfo *ai;
	int rc = metrics_resolve(listen, where, host, &ai, err);
	if (ai)
		freeaddrinfo(ai);
	return rc;
}

int cs_metrics_start(const char *listen, const char *where, cs_error *err)
{
	char host[METRICS_HOST_MAX];
	struct addrinfo *ai = NULL;
	int rc;

	if (metrics_daemon)
		return 0;
	if ((rc = metrics_resolve(listen, where, host, &ai, err)))
		return rc;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	metrics_daemon = MHD_start_daemon(
	    flags, 0, NULL, NULL, metrics_answer, NULL, MHD_OPTION_EXTERNAL_LOGGER, metrics_mhd_log,
	    NULL, MHD_OPTION_SOCK_ADDR, ai->ai_addr, MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10, MHD_OPTION_END);
	freeaddrinfo(ai);
	if (!metrics_daemon)
		return cs_err(err, CRMSYNC_EIO,
			      "%s: metrics.listen = '%s': cannot listen there (address in use, "
			      "or not an address of this machine)",
			      where, listen);
	const union MHD_DaemonInfo *info =
	    MHD_get_daemon_info(metrics_daemon, MHD_DAEMON_INFO_BIND_PORT);
	cs_info("metrics", "listening on http://%s%s%s:%u (/metrics, /healthz)",
		strchr(host, ':') ? "[" : "", host[0] ? host : "0.0.0.0",
		strchr(host, ':') ? "]" : "", info ? (unsigned)info->port : 0);
	return 0;
}

void cs_metrics_stop(void)
{
	if (metrics_daemon)
		MHD_stop_daemon(metrics_daemon);
	metrics_daemon = NULL;
}
