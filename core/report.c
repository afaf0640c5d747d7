/* report.c - status, history and errors as a table, JSON or CSV, read from
 * the backend's bookkeeping; and crmsync push of one row. */
#include "config.h"
#include "engine_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void out_json_str(const char *s)
{
	if (!s) {
		fputs("null", stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

static void out_csv_str(const char *s)
{
	if (!s)
		return;
	if (!strpbrk(s, ",\"\n\r")) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

static const char *direction_name(int d)
{
	return d == CRMSYNC_BOTH ? "two-way" : d == CRMSYNC_PUSH ? "to CRM" : "from CRM";
}

static void time_text(int64_t ms, char *buf, size_t cap)
{
	if (ms <= 0)
		snprintf(buf, cap, "-");
	else
		cs_format_datetime(ms, buf, cap);
}

int cs_engine_status(cs_engine *e, int format, cs_error *err)
{
	char buf[128], api[64] = "", last[64];
	int64_t last_ms = 0;

	if (e->b->state_get(e->bs, "", "api_usage", api, sizeof api, err) < 0)
		api[0] = '\0';
	if (e->b->state_get(e->bs, "", "last_success_ms", buf, sizeof buf, err) > 0)
		last_ms = strtoll(buf, NULL, 10);
	cs_err_clear(err);
	time_text(last_ms, last, sizeof last);
	long long used = -1, max = -1, budget = -1;
	if (api[0])
		sscanf(api, "%lld/%lld/%lld", &used, &max, &budget);
	if (format == 1)
		printf("{\"cycle\":%lld,\"last_success\":", (long long)e->cycle),
		    out_json_str(last_ms ? last : NULL),
		    printf(",\"api\":{\"used\":%lld,\"max\":%lld,\"budget\":%lld},\"units\":[",
			   used, max, budget);
	else
		printf("%-24s %-9s %9s %8s %8s %7s %9s %9s  %s\n", "UNIT", "DIRECTION", "ROWS",
		       "DELETED", "PENDING", "FAILED", "UNMARKED", "CONFLICTS", "WATERMARK");
	for (size_t i = 0; i < e->nunits; i++) {
		cs_unit *u = &e->units[i];
		crmsync_unit_stats st = {.size = sizeof st};
		char wm[80] = "-";
		int64_t ms;
		char id[19];
		if (e->b->unit_stats(e->bs, u->decl->name, &st, err)) {
			/* a unit never synced has no table yet */
			memset(&st, 0, sizeof st);
			cs_err_clear(err);
		}
		if (cs_pull_watermark(e, u, &ms, id, err) == 0)
			cs_format_datetime(ms, wm, sizeof wm);
		cs_err_clear(err);
		bool initial = cs_pull_initial_done(e, u);
		int64_t from;
		bool cursor = !initial && cs_pull_copy_cursor(e, u, &from, id, err) == 0;
		bool copying = !initial && (wm[0] != '-' || cursor);
		const char *what = cursor && wm[0] != '-' ? " (refill for new fields in progress)"
							  : " (initial copy in progress)";
		cs_err_clear(err);
		if (format == 1) {
			printf("%s{\"unit\":", i ? "," : "");
			out_json_str(u->decl->name);
			printf(",\"sobject\":");
			out_json_str(u->decl->sobject);
			printf(",\"direction\":\"%s\",\"rows\":%" PRId64 ",\"deleted\":%" PRId64
			       ",\"pending\":%" PRId64 ",\"failed\":%" PRId64
			       ",\"unmarked_local\":%" PRId64 ",\"conflicts\":%" PRId64
			       ",\"initial_copy_done\":%s,\"copy\":%s"
			       ",\"watermark\":",
			       direction_name(u->decl->direction), st.rows, st.deleted, st.pending,
			       st.failed, st.unmarked_local, st.conflicts,
			       initial ? "true" : "false",
			       !copying			? "null"
			       : cursor && wm[0] != '-' ? "\"refill\""
							: "\"initial\"");
			out_json_str(wm[0] != '-' ? wm : NULL);
			printf("}");
		} else {
			printf("%-24s %-9s %9" PRId64 " %8" PRId64 " %8" PRId64 " %7" PRId64
			       " %9" PRId64 " %9" PRId64 "  %s%s\n",
			       u->decl->name, direction_name(u->decl->direction), st.rows,
			       st.deleted, st.pending, st.failed, st.unmarked_local, st.conflicts,
			       wm, copying ? what : "");
		}
	}
	if (format == 1) {
		printf("]}\n");
	} else {
		printf("\ncycles: %lld   last successful cycle: %s\n", (long long)e->cycle, last);
		if (used >= 0)
			printf("API calls today: %lld of %lld (budget %lld)\n", used, max, budget);
	}
	return 0;
}

struct hist_ctx {
	int format;
	int n;
};

static int hist_cb(void *ud, const crmsync_history_row *h)
{
	struct hist_ctx *hc = ud;
	char st[40], en[40];
	time_text(h->started_ms, st, sizeof st);
	time_text(h->ended_ms, en, sizeof en);
	if (hc->format == 1) {
		printf("%s{\"cycle\":%" PRId64 ",\"unit\":", hc->n ? "," : "", h->cycle);
		out_json_str(h->unit);
		printf(",\"step\":");
		out_json_str(h->step);
		printf(",\"started\":\"%s\",\"ended\":\"%s\",\"new\":%" PRId64
		       ",\"updated\":%" PRId64 ",\"deleted\":%" PRId64 ",\"failed\":%" PRId64
		       ",\"skipped\":%" PRId64 ",\"api_calls\":%" PRId64 ",\"status\":",
		       st, en, h->n_new, h->n_updated, h->n_deleted, h->n_failed, h->n_skipped,
		       h->api_calls);
		out_json_str(h->status);
		printf(",\"message\":");
		out_json_str(h->message);
		printf("}");
	} else if (hc->format == 2) {
		printf("%" PRId64 ",", h->cycle);
		out_csv_str(h->unit);
		printf(",%s,%s,%s,%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64
		       ",%" PRId64 ",",
		       h->step, st, en, h->n_new, h->n_updated, h->n_deleted, h->n_failed,
		       h->n_skipped, h->api_calls);
		out_csv_str(h->status);
		putchar(',');
		out_csv_str(h->message);
		putchar('\n');
	} else {
		printf("%6" PRId64 " %-24s %-7s %-24s %7" PRId64 " %8" PRId64 " %8" PRId64
		       " %7" PRId64 " %8" PRId64 " %5" PRId64 " %s%s%s\n",
		       h->cycle, h->unit, h->step, st, h->n_new, h->n_updated, h->n_deleted,
		       h->n_failed, h->n_skipped, h->api_calls, h->status ? h->status : "",
		       h->message ? ": " : "", h->message ? h->message : "");
	}
	hc->n++;
	return 0;
}

int cs_engine_history(cs_engine *e, int format, cs_error *err)
{
	struct hist_ctx hc = {format, 0};
	if (format == 1)
		printf("[");
	else if (format == 2)
		printf("cycle,unit,step,started,ended,new,updated,deleted,failed,skipped,api_calls,"
		       "status,message\n");
	else
		printf("%6s %-24s %-7s %-24s %7s %8s %8s %7s %8s %5s %s\n", "CYCLE", "UNIT", "STEP",
		       "STARTED", "NEW", "UPDATED", "DELETED", "FAILED", "SKIPPED", "API",
		       "STATUS");
	int rc = e->b->history_read(e->bs, 0, hist_cb, &hc, err);
	if (format == 1)
		printf("]\n");
	return rc;
}

static int err_cb(void *ud, const crmsync_error_row *r)
{
	struct hist_ctx *hc = ud;
	char at[40];
	time_text(r->at_ms, at, sizeof at);
	if (hc->format == 1) {
		printf("%s{\"at\":\"%s\",\"cycle\":%" PRId64 ",\"unit\":", hc->n ? "," : "", at,
		       r->cycle);
		out_json_str(r->unit);
		printf(",\"step\":");
		out_json_str(r->step);
		printf(",\"id\":");
		out_json_str(r->id);
		printf(",\"row\":%" PRId64 ",\"code\":", r->row);
		out_json_str(r->code);
		printf(",\"message\":");
		out_json_str(r->message);
		printf(",\"level\":\"%s\"}", r->id || r->row ? "record" : "job");
	} else if (hc->format == 2) {
		printf("%s,%" PRId64 ",", at, r->cycle);
		out_csv_str(r->unit);
		putchar(',');
		out_csv_str(r->step);
		putchar(',');
		out_csv_str(r->id);
		printf(",%" PRId64 ",", r->row);
		out_csv_str(r->code);
		putchar(',');
		out_csv_str(r->message);
		printf(",%s\n", r->id || r->row ? "record" : "job");
	} else {
		printf("%-24s %-16s %-6s %-18s %-28s %s\n", at, r->unit && *r->unit ? r->unit : "-",
		       r->step ? r->step : "-",
		       r->id	? r->id
		       : r->row ? "(local row)"
				: "(job)",
		       r->code ? r->code : "-", r->message ? r->message : "");
	}
	hc->n++;
	return 0;
}

int cs_engine_errors(cs_engine *e, int format, int64_t since_ms, cs_error *err)
{
	struct hist_ctx hc = {format, 0};
	if (format == 1)
		printf("[");
	else if (format == 2)
		printf("at,cycle,unit,step,id,row,code,message,level\n");
	else
		printf("%-24s %-16s %-6s %-18s %-28s %s\n", "AT", "UNIT", "STEP", "RECORD", "CODE",
		       "MESSAGE (verbatim from the CRM where it came from there)");
	int rc = e->b->errors_read(e->bs, since_ms, err_cb, &hc, err);
	if (format == 1)
		printf("]\n");
	return rc;
}

int cs_engine_push_one(cs_engine *e, const char *unit, const char *id, cs_error *err)
{
	cs_unit *u = cs_engine_unit(e, unit);
	char *end;
	long long row;
	int rc;

	if (!u)
		return cs_err(err, CRMSYNC_EINVAL, "no unit named '%s' is enabled (see sync.units)",
			      unit);
	if (!(u->decl->direction & CRMSYNC_PUSH))
		return cs_err(err, CRMSYNC_EINVAL,
			      "unit %s syncs from the CRM only; it cannot be pushed", unit);
	row = strtoll(id, &end, 10);
	bool is_row = *id && !*end && row > 0;
	if (!is_row && !sf_id_valid(id))
		return cs_err(
		    err, CRMSYNC_EINVAL,
		    "'%s' is neither a CRM id (15 or 18 letters and digits) nor a local_id", id);
	e->cycle++;
	if ((rc = cs_pull_schema(e, u, err)))
		return rc;
	memset(&u->push, 0, sizeof u->push);
	rc = cs_push_unit(e, u, is_row ? row : 0, is_row ? NULL : id, err);
	if (rc)
		return rc;
	if (u->push.n_failed)
		return cs_err(err, CRMSYNC_ERR, "the CRM refused the record; see crmsync errors");
	printf("%s %s: %lld created, %lld updated, %lld deleted\n", unit, id,
	       (long long)u->push.n_new, (long long)u->push.n_updated,
	       (long long)u->push.n_deleted);
	return 0;
}
