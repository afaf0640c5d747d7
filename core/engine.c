/* engine.c - engine setup (plugins, backend, client), unit order, the idle
 * check that costs one API call for every unit together, and the cycle that
 * gives each busy unit a fair turn before the next round. */
#include "config.h"
#include "engine_int.h"
#include "ops_run.h"
#include "sf_multi.h"
#include "sf_token.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

volatile sig_atomic_t cs_stop_requested;

static const char *const engine_default_units =
    "user, account, lead, contact, opportunity, campaign, activity";

cs_unit *cs_engine_unit(cs_engine *e, const char *name)
{
	for (size_t i = 0; i < e->nunits; i++)
		if (strcasecmp(e->units[i].decl->name, name) == 0)
			return &e->units[i];
	return NULL;
}

int cs_engine_job_error(cs_engine *e, cs_unit *u, const char *step, const char *code,
			const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	cs_error ierr = CS_ERROR_INIT;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	cs_error(u ? u->decl->name : "engine", "%s: %s", step, msg);
	crmsync_error_row row = {
	    .size = sizeof row,
	    .at_ms = cs_now_ms(),
	    .cycle = e->cycle,
	    .unit = u ? u->decl->name : "",
	    .step = step,
	    .code = code,
	    .message = msg,
	};
	if (e->backend_open && e->b->error_add(e->bs, &row, &ierr))
		cs_warn("engine", "cannot record the error: %s", ierr.msg);
	return 0;
}

int cs_engine_record_error(cs_engine *e, cs_unit *u, const char *step, const char *id, int64_t row,
			   const char *code, const char *message)
{
	cs_error ierr = CS_ERROR_INIT;
	crmsync_error_row r = {
	    .size = sizeof r,
	    .at_ms = cs_now_ms(),
	    .cycle = e->cycle,
	    .unit = u->decl->name,
	    .step = step,
	    .id = id,
	    .row = row,
	    .code = code,
	    .message = message,
	};
	cs_debug(u->decl->name, "%s: record %s%s%lld: %s: %s", step, id ? id : "", id ? "" : "row ",
		 (long long)(id ? 0 : row), code, message);
	if (e->b->error_add(e->bs, &r, &ierr))
		cs_warn("engine", "cannot record the error: %s", ierr.msg);
	return 0;
}

int cs_engine_sf_failure(cs_engine *e, int rc)
{
	int kind = sf_error_kind(e->sf);
	if (kind == SF_E_BUDGET || kind == SF_E_LIMIT) {
		e->budget_hit = true;
		if (kind == SF_E_LIMIT)
			e->org_limit = true;
		return CRMSYNC_EBUSY;
	}
	return rc ? rc : CRMSYNC_ERR;
}

/* ---- setup ---------------------------------------------------------------- */

static int engine_sf_config(cs_engine *e, cs_error *err)
{
	cs_config *cfg = e->cfg;
	sf_config sc = {0};
	int64_t v;

	sc.login_url = cs_config_get(cfg, "salesforce", "login_url");
	sc.client_id = cs_config_get(cfg, "salesforce", "client_id");
	sc.client_secret = cs_config_get(cfg, "salesforce", "client_secret");
	sc.username = cs_config_get(cfg, "salesforce", "username");
	sc.password = cs_config_get(cfg, "salesforce", "password");
	sc.refresh_token = cs_config_get(cfg, "salesforce", "refresh_token");
	sc.jwt_key_file = cs_config_get(cfg, "salesforce", "jwt_key_file");
	sc.api_version = cs_config_get(cfg, "salesforce", "api_version");
	if (sc.api_version) {
		int major = 0, minor = -1, used = 0;
		if (sscanf(sc.api_version, "%d.%d%n", &major, &minor, &used) != 2 ||
		    sc.api_version[used] || major < 20 || major > 99 || minor < 0 || minor > 9)
			return cs_err(
			    err, CRMSYNC_EINVAL,
			    "%s: salesforce.api_version = '%s': expected a REST API version "
			    "such as 59.0",
			    cs_config_where(cfg, "salesforce", "api_version"), sc.api_version);
	}
	sc.ca_file = cs_config_get(cfg, "salesforce", "ca_file");
	if (!sc.login_url)
		return cs_err(err, CRMSYNC_EINVAL,
			      "salesforce.login_url is not set: add it to the config "
			      "(https://login.salesforce.com, or your My Domain URL)");
	if (!sc.client_id)
		return cs_err(err, CRMSYNC_EINVAL,
			      "salesforce.client_id is not set: add the "
			      "connected app's consumer key to the config");
	const char *grant = cs_config_get(cfg, "salesforce", "grant");
	if (!grant)
		sc.grant =
		    sc.password || !sc.refresh_token ? SF_GRANT_PASSWORD : SF_GRANT_REFRESH_TOKEN;
	else if (strcmp(grant, "password") == 0)
		sc.grant = SF_GRANT_PASSWORD;
	else if (strcmp(grant, "refresh_token") == 0)
		sc.grant = SF_GRANT_REFRESH_TOKEN;
	else if (strcmp(grant, "client_credentials") == 0)
		sc.grant = SF_GRANT_CLIENT_CREDENTIALS;
	else if (strcmp(grant, "jwt") == 0)
		sc.grant = SF_GRANT_JWT;
	else
		return cs_err(err, CRMSYNC_EINVAL,
			      "%s: salesforce.grant = '%s': expected password, refresh_token, "
			      "client_credentials or jwt",
			      cs_config_where(cfg, "salesforce", "grant"), grant);
	if (sc.grant == SF_GRANT_PASSWORD && (!sc.username || !sc.password))
		return cs_err(
		    err, CRMSYNC_EINVAL,
		    "the password grant needs salesforce.username and salesforce.password "
		    "(or the environment variable CRMSYNC_SF_PASSWORD)");
	if (sc.grant == SF_GRANT_REFRESH_TOKEN && !sc.refresh_token)
		return cs_err(err, CRMSYNC_EINVAL,
			      "the refresh_token grant needs salesforce.refresh_token (or "
			      "CRMSYNC_SF_REFRESH_TOKEN)");
	const char *budget = cs_config_get(cfg, "salesforce", "api_budget");
	if (budget) {
		char *end;
		long pct = strtol(budget, &end, 10);
		if (end == budget || (*end && strcmp(end, "%") != 0) || pct < 1 || pct > 100)
			return cs_err(
			    err, CRMSYNC_EINVAL,
			    "%s: salesforce.api_budget = '%s': expected a share of the daily "
			    "allowance from 1%% to 100%%, e.g. 50%%",
			    cs_config_where(cfg, "salesforce", "api_budget"), budget);
		sc.budget_percent = (int)pct;
	}
	if (cs_config_duration(cfg, "salesforce", "timeout", 60000, 1000, &v, err))
		return CRMSYNC_EINVAL;
	sc.transfer_timeout_ms = (long)v;
	if (cs_config_duration(cfg, "salesforce", "connect_timeout", 10000, 100, &v, err))
		return CRMSYNC_EINVAL;
	sc.connect_timeout_ms = (long)v;
	if (cs_config_int(cfg, "salesforce", "max_retries", 4, 0, 20, &v, err))
		return CRMSYNC_EINVAL;
	sc.max_retries = (int)v;
	const char *dup = cs_config_get(cfg, "salesforce", "duplicate_alerts");
	if (dup && strcmp(dup, "save") != 0 && strcmp(dup, "refuse") != 0)
		return cs_err(err, CRMSYNC_EINVAL,
			      "%s: salesforce.duplicate_alerts = '%s': expected refuse (the API's "
			      "default: a record a duplicate rule alerts on is not saved) or save",
			      cs_config_where(cfg, "salesforce", "duplicate_alerts"), dup);
	sc.duplicates_save = dup && strcmp(dup, "save") == 0;
	e->sf = sf_client_new(&sc, err);
	if (e->sf && sf_token_setup(e->sf, cfg, err)) /* the refresh token file */
		return CRMSYNC_EINVAL;
	return e->sf ? 0 : CRMSYNC_EINVAL;
}

static int engine_sync_config(cs_engine *e, cs_error *err)
{
	cs_config *cfg = e->cfg;
	int64_t v;
	bool b;

	if (cs_config_duration(cfg, "sync", "interval", 300000, 1000, &e->interval_ms, err) ||
	    cs_config_duration(cfg, "sync", "overlap", 300000, 0, &e->overlap_ms, err) ||
	    cs_config_duration(cfg, "sync", "retention", 30LL * 86400000, 3600000, &e->retention_ms,
			       err) ||
	    cs_config_duration(cfg, "sync", "reconcile_interval", 86400000, 0, &e->reconcile_ms,
			       err))
		return CRMSYNC_EINVAL;
	if (cs_config_int(cfg, "sync", "page_size", 2000, 200, 2000, &v, err))
		return CRMSYNC_EINVAL;
	e->page_size = (int)v;
	if (cs_config_int(cfg, "sync", "turn_pages", 25, 1, 1000000, &v, err))
		return CRMSYNC_EINVAL;
	e->turn_pages = (int)v;
	const char *pn = cs_config_get(cfg, "sync", "push_new");
	if (pn && strcmp(pn, "always") == 0)
		e->push_always = true;
	else if (pn && strcmp(pn, "marked") != 0)
		return cs_err(err, CRMSYNC_EINVAL,
			      "%s: sync.push_new = '%s': expected marked or always",
			      cs_config_where(cfg, "sync", "push_new"), pn);
	if (cs_config_bool(cfg, "sync", "push_deletes", false, &b, err))
		return CRMSYNC_EINVAL;
	e->push_deletes = b;
	return 0;
}

/* Order units so every unit comes after the units it depends on (among those
 * enabled); ties keep the configured order. */
static int engine_order_units(cs_engine *e, cs_error *err)
{
	size_t n = e->nunits;
	cs_unit *sorted = calloc(n ? n : 1, sizeof *sorted);
	bool *done = calloc(n ? n : 1, sizeof *done);
	size_t k = 0;

	if (!sorted || !done) {
		free(sorted);
		free(done);
		return cs_err(err, CRMSYNC_ENOMEM, "out of memory");
	}
	while (k < n) {
		bool progress = false;
		for (size_t i = 0; i < n; i++) {
			if (done[i])
				continue;
			bool ready = true;
			for (const char *const *d = e->units[i].decl->depends; d && *d && ready;
			     d++)
				for (size_t j = 0; j < n; j++)
					if (!done[j] && j != i &&
					    strcasecmp(e->units[j].decl->name, *d) == 0)
						ready = false;
			if (ready) {
				sorted[k++] = e->units[i];
				done[i] = true;
				progress = true;
				break; /* restart: keep the configured order among ready units */
			}
		}
		if (!progress) {
			char names[512] = "";
			for (size_t i = 0; i < n; i++)
				if (!done[i])
					snprintf(names + strlen(names),
						 sizeof names - strlen(names), "%s%s",
						 names[0] ? ", " : "", e->units[i].decl->name);
			free(sorted);
			free(done);
			return cs_err(err, CRMSYNC_EINVAL,
				      "the units %s depend on each other in a circle; check their "
				      "plugins' dependencies",
				      names);
		}
	}
	memcpy(e->units, sorted, n * sizeof *sorted);
	free(sorted);
	free(done);
	return 0;
}

static int engine_add_units(cs_engine *e, cs_plugin *p, cs_error *err)
{
	const crmsync_object_ops *ops = cs_plugin_object(p);
	size_t n = ops->unit_count(p->state);

	for (size_t i = 0; i < n; i++) {
		const crmsync_unit_decl *d = ops->unit_at(p->state, i);
		if (!d || d->size < offsetof(crmsync_unit_decl, hooks) + sizeof(void *) ||
		    !d->name || !d->sobject)
			return cs_err(err, CRMSYNC_EINVAL,
				      "plugin %s: unit %zu has an incomplete "
				      "declaration",
				      p->name, i);
		if (cs_engine_unit(e, d->name))
			return cs_err(
			    err, CRMSYNC_EINVAL,
			    "unit '%s' is declared twice (again by plugin %s); enable only "
			    "one plugin for it",
			    d->name, p->name);
		cs_unit *nu = realloc(e->units, (e->nunits + 1) * sizeof *nu);
		if (!nu)
			return cs_err(err, CRMSYNC_ENOMEM, "out of memory");
		e->units = nu;
		memset(&nu[e->nunits], 0, sizeof *nu);
		nu[e->nunits].decl = d;
		nu[e->nunits].plugin = p;
		nu[e->nunits].total_expected = -1;
		e->nunits++;
	}
	return 0;
}

static int engine_load_objects(cs_engine *e, cs_error *err)
{
	char *defaults[] = {NULL};
	char **names =
	    cs_config_get(e->cfg, "sync", "units") ? cs_config_list(e->cfg, "sync", "units") : NULL;
	bool custom = cs_config_get(e->cfg, "sync", "custom_objects") != NULL;
	int rc = 0;

	if (!names) {
		cs_config_set(e->cfg, "sync", "units", engine_default_units, "default", err);
		names = cs_config_list(e->cfg, "sync", "units");
	}
	if (!names)
		return cs_err(err, CRMSYNC_ENOMEM, "out of memory");
	(void)defaults;
	size_t nn = 0;
	while (names[nn])
		nn++;
	const char **sections = calloc(nn + 3, sizeof *sections);
	if (!sections) {
		cs_strv_free(names);
		return cs_err(err, CRMSYNC_ENOMEM, "out of memory");
	}
	size_t ns = 0;
	for (char **n = names; *n && rc == 0; n++) {
		cs_plugin *p = NULL;
		if (strcmp(*n, "custom") == 0)
			custom = true;
		rc = cs_loader_load_name(e->ld, *n, CRMSYNC_KIND_OBJECT, &p, err);
		if (rc == CRMSYNC_ENOENT) { /* a configuration error: exit 2 */
			cs_err_prefix(err, "%s: sync.units names '%s'",
				      cs_config_where(e->cfg, "sync", "units"), *n);
			rc = err->code = CRMSYNC_EINVAL;
		}
		if (rc == 0) {
			rc = engine_add_units(e, p, err);
			sections[ns++] = p->name;
		}
	}
	if (rc == 0 && custom && !cs_engine_unit(e, "custom")) {
		bool have = false;
		for (size_t i = 0; i < ns; i++)
			have |= strcmp(sections[i], "custom") == 0;
		if (!have) {
			cs_plugin *p = NULL;
			rc = cs_loader_load_name(e->ld, "custom", CRMSYNC_KIND_OBJECT, &p, err);
			if (rc == 0) {
				rc = engine_add_units(e, p, err);
				sections[ns++] = p->name;
			}
		}
	}
	if (rc == 0)
		rc = cs_config_check_unread(e->cfg, sections, err);
	if (rc == 0)
		rc = engine_order_units(e, err);
	free(sections);
	cs_strv_free(names);
	return rc;
}

cs_engine *cs_engine_new(cs_config *cfg, int mode, cs_error *err)
{
	cs_engine *e = calloc(1, sizeof *e);
	const char *bname;
	int rc;

	if (!e) {
		cs_err(err, CRMSYNC_ENOMEM, "out of memory");
		return NULL;
	}
	e->cfg = cfg;
	e->mode = mode;
	e->cycle = 0;
	e->tty = isatty(STDERR_FILENO);
	if ((rc = engine_sync_config(e, err)))
		goto fail;
	if (!(e->ld = cs_loader_new(cfg, err)))
		goto fail;
	bname = cs_config_get(cfg, "storage", "backend");
	if (!bname)
		bname = "sqlite";
	if ((rc = cs_loader_load_name(e->ld, bname, CRMSYNC_KIND_BACKEND, &e->backend, err))) {
		if (rc == CRMSYNC_ENOENT) { /* a configuration error: exit 2 */
			cs_err_prefix(err, "%s: storage.backend = '%s'",
				      cs_config_where(cfg, "storage", "backend"), bname);
			err->code = CRMSYNC_EINVAL;
		}
		goto fail;
	}
	e->b = cs_plugin_backend(e->backend);
	e->bs = e->backend->state;
	if ((rc = engine_load_objects(e, err)))
		goto fail;
	if (mode == CS_ENGINE_SYNC && (rc = engine_sf_config(e, err)))
		goto fail;
	if ((rc = e->b->open(e->bs, err))) {
		cs_err_prefix(err, "cannot open the %s store", bname);
		goto fail;
	}
	e->backend_open = true;
	char buf[64];
	if (e->b->state_get(e->bs, "", "cycle", buf, sizeof buf, err) > 0)
		e->cycle = strtoll(buf, NULL, 10);
	cs_err_clear(err);
	return e;
fail:
	cs_engine_free(e);
	return NULL;
}

void cs_engine_free(cs_engine *e)
{
	if (!e)
		return;
	for (size_t i = 0; i < e->nunits; i++) {
		free(e->units[i].fields);
		free(e->units[i].select);
		free(e->units[i].qfields);
		free(e->units[i].filter);
	}
	free(e->units);
	if (e->backend_open)
		e->b->close(e->bs);
	sf_client_free(e->sf);
	cs_loader_free(e->ld);
	free(e);
}

int64_t cs_engine_interval_ms(const cs_engine *e)
{
	int64_t ms = e->interval_ms;
	for (int i = 1; i < e->auth_refusals && ms < 3600000; i++)
		ms *= 2;
	if (e->auth_refusals > 0 && ms > 3600000)
		ms = e->interval_ms > 3600000 ? e->interval_ms : 3600000;
	return ms;
}

/* ---- the idle check ------------------------------------------------------- */

struct idle_ctx {
	cs_engine *e;
	cs_unit **units;
};

static int idle_cb(void *ud, size_t i, int status, const sf_page *page, const char *code,
		   const char *message, int schema_changed, cs_error *err)
{
	struct idle_ctx *ic = ud;
	cs_unit *u = ic->units[i];
	cs_record *local = cs_record_new();
	cs_error rerr = CS_ERROR_INIT;

	(void)err;
	if (!local)
		return CRMSYNC_ENOMEM;
	u->idle = page != NULL && page->total_size <= (int64_t)page->count && !schema_changed;
	if (!page)
		cs_debug(u->decl->name, "change check failed (%d %s: %s): will pull", status, code,
			 message);
	else if (schema_changed)
		cs_debug(u->decl->name, "%s's describe changed: schema and pull run",
			 u->decl->sobject);
	for (size_t k = 0; page && u->idle && k < page->count; k++) {
		const cs_record *r = page->records[k];
		const char *id = cs_record_str(r, "Id");
		crmsync_value stamp, del, lstamp, ldel;
		bool deleted = cs_record_get(r, "IsDeleted", &del) == 0 &&
			       del.type == CRMSYNC_BOOLEAN && del.u.b;
		if (!id || cs_record_get(r, "SystemModstamp", &stamp)) {
			u->idle = false;
			break;
		}
		int rc = ic->e->b->row_read(ic->e->bs, u->decl->name, id, 0, local, &rerr);
		if (rc == CRMSYNC_ENOENT) {
			if (!deleted) /* new to us */
				u->idle = false;
			continue;
		}
		if (deleted) {
			/* a tombstone keeps the stamp it had alive: being one is enough */
			if (rc || cs_record_get(local, "is_deleted", &ldel) || !ldel.u.b)
				u->idle = false;
			continue;
		}
		if (rc || cs_record_get(local, "crm_modstamp", &lstamp) ||
		    lstamp.type != CRMSYNC_DATETIME || stamp.type != CRMSYNC_DATETIME ||
		    lstamp.u.i != stamp.u.i)
			u->idle = false;
	}
	cs_record_free(local);
	return 0;
}

/* Ask every unit "anything changed since your watermark (less the overlap), or
 * in your describe?" in composite requests (one API call per five units).
 * Units found idle skip schema and pull this cycle. */
static int engine_idle_check(cs_engine *e, cs_error *err)
{
	sf_multi_query *q = calloc(e->nunits ? e->nunits : 1, sizeof *q);
	sf_buf *soql = calloc(e->nunits ? e->nunits : 1, sizeof *soql);
	sf_query_opts *opts = calloc(e->nunits ? e->nunits : 1, sizeof *opts);
	cs_unit **units = calloc(e->nunits ? e->nunits : 1, sizeof *units);
	char(*since)[64] = calloc(e->nunits ? e->nunits : 1, sizeof *since);
	size_t n = 0;
	int rc = 0;

	if (!q || !soql || !opts || !units || !since) {
		rc = cs_err(err, CRMSYNC_ENOMEM, "out of memory");
		goto out;
	}
	/* Only Id, SystemModstamp and IsDeleted are asked for: their types are
	 * fixed, so no describe is needed and a fresh process can check too. */
	static const crmsync_field_desc check_fields[] = {
	    {.name = "Id", .type = CRMSYNC_ID, .crm_type = "id"},
	    {.name = "SystemModstamp", .type = CRMSYNC_DATETIME, .crm_type = "datetime"},
	    {.name = "IsDeleted", .type = CRMSYNC_BOOLEAN, .crm_type = "boolean"},
	};
	for (size_t i = 0; i < e->nunits; i++) {
		cs_unit *u = &e->units[i];
		int64_t ms = 0;
		char id[19];
		u->idle = false;
		if (!(u->decl->direction & CRMSYNC_PULL) || !cs_pull_initial_done(e, u))
			continue;
		int wrc = cs_pull_watermark(e, u, &ms, id, err);
		if (wrc && wrc != CRMSYNC_ENOENT)
			continue;
		if (wrc == 0)
			ms -= e->overlap_ms;
		else
			ms = 0; /* an empty object: anything at all is new */
		int isdel = cs_pull_has_isdeleted(e, u);
		if (isdel < 0)
			continue;
		const char *fields[] = {"Id", "SystemModstamp", isdel ? "IsDeleted" : NULL};
		if (sf_soql_keyset(&soql[n], u->decl->sobject, fields, isdel ? 3 : 2, ms, NULL,
				   u->decl->filter, 200, err)) {
			rc = CRMSYNC_EINVAL;
			goto out;
		}
		opts[n].all = isdel;
		opts[n].fields = check_fields;
		opts[n].nfields = isdel ? 3 : 2;
		q[n].soql = soql[n].s;
		q[n].all = isdel;
		q[n].opts = &opts[n];
		/* the schema too (a field shown to the sync user, a new custom
		 * field): the describe this process has, else the one the unit's
		 * table was laid out from */
		const char *lm = sf_describe_last_modified(e->sf, u->decl->sobject);
		if (!lm && e->b->state_get(e->bs, u->decl->name, "describe_lm", since[n],
					   sizeof since[n], err) > 0)
			lm = since[n];
		cs_err_clear(err);
		q[n].describe_sobject = lm ? u->decl->sobject : NULL;
		q[n].describe_since = lm;
		units[n++] = u;
	}
	cs_err_clear(err);
	if (n == 0)
		goto out;
	struct idle_ctx ic = {e, units};
	rc = sf_query_multi(e->sf, q, n, idle_cb, &ic, err);
	if (rc) {
		for (size_t i = 0; i < n; i++)
			units[i]->idle = false;
		rc = cs_engine_sf_failure(e, rc);
	}
out:
	for (size_t i = 0; soql && i < e->nunits; i++)
		sf_buf_free(&soql[i]);
	free(soql);
	free(q);
	free(opts);
	free(units);
	free(since);
	return rc;
}

/* ---- the cycle ------------------------------------------------------------ */

static bool engine_dep_failed(cs_engine *e, cs_unit *u)
{
	for (const char *const *d = u->decl->depends; d && *d; d++) {
		cs_unit *dep = cs_engine_unit(e, *d);
		if (dep && (dep->failed || dep->waits))
			return true;
	}
	return false;
}

void cs_counts_begin(cs_engine *e, cs_counts *c)
{
	if (!c->ran) {
		c->ran = true;
		c->started_ms = cs_now_ms();
		c->api_calls = -sf_request_count(e->sf);
		snprintf(c->status, sizeof c->status, "ok");
	}
}

void cs_counts_end(cs_engine *e, cs_counts *c)
{
	if (c->ran && c->started_ms && !c->ended_ms) {
		c->ended_ms = cs_now_ms();
		c->api_calls += sf_request_count(e->sf);
	}
}

static void engine_history(cs_engine *e, cs_unit *u, const char *step, cs_counts *c)
{
	cs_error err = CS_ERROR_INIT;

	if (!c->ran)
		return;
	cs_counts_end(e, c);
	crmsync_history_row h = {
	    .size = sizeof h,
	    .cycle = e->cycle,
	    .unit = u->decl->name,
	    .step = step,
	    .started_ms = c->started_ms,
	    .ended_ms = c->ended_ms,
	    .n_new = c->n_new,
	    .n_updated = c->n_updated,
	    .n_deleted = c->n_deleted,
	    .n_failed = c->n_failed,
	    .n_skipped = c->n_skipped,
	    .api_calls = c->api_calls,
	    .status = c->status,
	    .message = c->message[0] ? c->message : NULL,
	};
	if (e->b->history_add(e->bs, &h, &err))
		cs_warn("engine", "cannot record history: %s", err.msg);
}

static void engine_fail_unit(cs_unit *u, cs_counts *c, const cs_error *why)
{
	u->failed = true;
	snprintf(c->status, sizeof c->status, "failed");
	snprintf(c->message, sizeof c->message, "%.500s", why->msg);
}

/* A step of unit u failed with rc: when the API budget is the reason, the cycle
 * stops (returns true); otherwise the unit fails for this cycle, the job-level
 * error is recorded and the first failure kept for the exit status. */
static bool step_failed(cs_engine *e, cs_unit *u, cs_counts *c, const char *step, int rc,
			const cs_error *why, cs_error *first)
{
	char code[16];

	if (cs_engine_sf_failure(e, rc) == CRMSYNC_EBUSY) {
		if (e->org_limit && !e->org_limit_msg[0])
			snprintf(e->org_limit_msg, sizeof e->org_limit_msg, "%.500s", why->msg);
		return true;
	}
	if (sf_error_kind(e->sf) == SF_E_AUTH)
		e->auth_failed = true;
	engine_fail_unit(u, c, why);
	snprintf(code, sizeof code, "%s", step);
	for (char *p = code; *p; p++)
		*p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
	cs_engine_job_error(e, u, step, code, "%s", why->msg);
	if (!first->msg[0])
		*first = *why;
	return e->auth_failed;
}

int cs_engine_cycle(cs_engine *e, cs_error *err)
{
	cs_error first = CS_ERROR_INIT, uerr = CS_ERROR_INIT;
	char buf[64];
	int rc = 0;
	int64_t t0 = cs_now_ms(), api0 = sf_request_count(e->sf);

	e->cycle++;
	e->budget_hit = false;
	e->auth_failed = false;
	e->org_limit = false;
	e->org_limit_msg[0] = '\0';
	snprintf(buf, sizeof buf, "%lld", (long long)e->cycle);
	if (e->b->state_set(e->bs, "", "cycle", buf, err))
		return cs_err_prefix(err, "cannot record the cycle number");
	for (size_t i = 0; i < e->nunits; i++) {
		cs_unit *u = &e->units[i];
		u->failed = u->waits = u->idle = u->pull_done = u->cursor_set = u->recovered =
		    false;
		u->pulled = 0;
		memset(&u->schema, 0, sizeof u->schema);
		memset(&u->pull, 0, sizeof u->pull);
		memset(&u->push, 0, sizeof u->push);
		memset(&u->reconcile, 0, sizeof u->reconcile);
		u->push_pending = (u->decl->direction & CRMSYNC_PUSH) && cs_push_pending(e, u);
	}
	{
		rc = engine_idle_check(e, &uerr);
		if (rc == CRMSYNC_EBUSY)
			goto budget;
		if (rc && sf_error_kind(e->sf) == SF_E_AUTH) {
			e->auth_failed = true;
			first = uerr;
			goto budget;
		}
		rc = 0;
	}
	/* Rounds: each unit pulls for a turn (turn_pages pages), then the next. */
	bool more = true;
	while (more && !cs_stop_requested && !e->budget_hit && !e->auth_failed) {
		more = false;
		for (size_t i = 0;
		     i < e->nunits && !cs_stop_requested && !e->budget_hit && !e->auth_failed;
		     i++) {
			cs_unit *u = &e->units[i];
			if (u->failed || u->waits || u->pull_done)
				continue;
			if (engine_dep_failed(e, u)) {
				u->waits = true;
				cs_warn(u->decl->name,
					"waits: a unit it depends on failed this cycle");
				continue;
			}
			if (u->idle && !u->push_pending) {
				u->pull_done = true;
				continue;
			}
			if (!u->desc || !u->schema.ran) {
				cs_counts_begin(e, &u->schema);
				cs_err_clear(&uerr);
				int src = cs_pull_schema(e, u, &uerr);
				cs_counts_end(e, &u->schema);
				if (src) {
					if (step_failed(e, u, &u->schema, "schema", src, &uerr,
							&first))
						break;
					continue;
				}
			}
			if (!(u->decl->direction & CRMSYNC_PULL) || u->idle) {
				u->pull_done = true;
				continue;
			}
			if (!u->recovered && u->push_pending) {
				/* before the pull: it must find a landed create in its row */
				u->recovered = true;
				cs_err_clear(&uerr);
				int rrc = cs_push_recover(e, u, &uerr);
				if (rrc < 0) {
					cs_counts_begin(e, &u->push); /* history shows it */
					if (step_failed(e, u, &u->push, "push", rrc, &uerr, &first))
						break;
					continue;
				}
			}
			cs_counts_begin(e, &u->pull);
			cs_err_clear(&uerr);
			int prc = cs_pull_turn(e, u, &uerr);
			if (prc < 0) {
				if (step_failed(e, u, &u->pull, "pull", prc, &uerr, &first))
					break;
			} else if (prc == 0) {
				u->pull_done = true;
			} else {
				more = true;
			}
		}
	}
	/* Push: two-way units whose pull succeeded (their conflicts are settled). */
	for (size_t i = 0; i < e->nunits && !cs_stop_requested && !e->budget_hit && !e->auth_failed;
	     i++) {
		cs_unit *u = &e->units[i];
		if (!(u->decl->direction & CRMSYNC_PUSH) || u->failed || u->waits ||
		    !u->push_pending)
			continue;
		if (!u->desc) /* idle pull skipped describe: the push needs it */ {
			cs_counts_begin(e, &u->schema);
			int src = cs_pull_schema(e, u, &uerr);
			cs_counts_end(e, &u->schema);
			if (src) {
				if (step_failed(e, u, &u->schema, "schema", src, &uerr, &first))
					break;
				continue;
			}
		}
		cs_counts_begin(e, &u->push);
		cs_err_clear(&uerr);
		int prc = cs_push_unit(e, u, 0, NULL, &uerr);
		if (prc < 0) {
			if (step_failed(e, u, &u->push, "push", prc, &uerr, &first))
				break;
			continue;
		}
		/* Read back what was written: the CRM fills in fields of its own (Name,
		 * defaults, LastModifiedDate), so the local row is exact after this cycle
		 * rather than the next. Our own values come back as skipped. */
		if (u->push.n_new + u->push.n_updated > 0 && (u->decl->direction & CRMSYNC_PULL)) {
			cs_counts_begin(e, &u->pull);
			int r;
			while ((r = cs_pull_turn(e, u, &uerr)) > 0 && !cs_stop_requested)
				;
			if (r < 0 && step_failed(e, u, &u->pull, "pull", r, &uerr, &first))
				break;
		}
	}
	/* Hard purges leave no trace in queryAll: compare the ids now and then,
	 * idle units too (a purge is no change the idle check can see). */
	for (size_t i = 0; i < e->nunits && !cs_stop_requested && !e->budget_hit && !e->auth_failed;
	     i++) {
		cs_unit *u = &e->units[i];
		if (!(u->decl->direction & CRMSYNC_PULL) || u->failed || u->waits ||
		    (!u->desc && !u->idle))
			continue;
		cs_err_clear(&uerr);
		int rrc = cs_pull_reconcile(e, u, &uerr);
		if (rrc < 0 && step_failed(e, u, &u->reconcile, "reconcile", rrc, &uerr, &first))
			break;
	}
budget:
	for (size_t i = 0; i < e->nunits; i++) {
		cs_unit *u = &e->units[i];
		engine_history(e, u, "reconcile", &u->reconcile);
		engine_history(e, u, "schema", &u->schema);
		engine_history(e, u, "pull", &u->pull);
		engine_history(e, u, "push", &u->push);
	}
	int64_t used, max, budget;
	sf_limits(e->sf, &used, &max, &budget);
	if (used >= 0) {
		snprintf(buf, sizeof buf, "%lld/%lld/%lld", (long long)used, (long long)max,
			 (long long)budget);
		e->b->state_set(e->bs, "", "api_usage", buf, &uerr);
	}
	snprintf(buf, sizeof buf, "%lld", (long long)cs_now_ms());
	if (!first.msg[0] && !e->budget_hit && !cs_stop_requested)
		e->b->state_set(e->bs, "", "last_success_ms", buf, &uerr);
	e->b->retention(e->bs, cs_now_ms() - e->retention_ms, &uerr);
	int64_t ncalls = sf_request_count(e->sf) - api0;
	cs_info("engine", "cycle %lld %s in %.1fs, %lld API call%s", (long long)e->cycle,
		e->budget_hit	    ? "stopped at the API budget"
		: cs_stop_requested ? "interrupted"
		: first.msg[0]	    ? "finished with failures"
				    : "done",
		(double)(cs_now_ms() - t0) / 1000.0, (long long)ncalls, ncalls == 1 ? "" : "s");
	if (e->auth_failed) {
		e->auth_refusals++;
		cs_error("engine",
			 "Salesforce refused the credentials (%d cycle%s in a row): the cycle "
			 "stopped; next attempt in %lld min (fix the credentials and send SIGHUP "
			 "to try at once)",
			 e->auth_refusals, e->auth_refusals == 1 ? "" : "s",
			 (long long)(cs_engine_interval_ms(e) / 60000));
	} else if (sf_request_count(e->sf) > api0) {
		e->auth_refusals = 0; /* logged in and talked to the CRM */
	}
	/* metrics and alerts (core/ops_run.c) */
	cs_ops_cycle_end(e, t0, api0, first.msg[0] ? &first : NULL);
	if (e->budget_hit && e->org_limit) {
		return cs_err(
		    err, CRMSYNC_EBUSY,
		    "Salesforce refused further API calls (REQUEST_LIMIT_EXCEEDED: the org's "
		    "daily allowance is used up): %s; the sync stopped at a page boundary and "
		    "resumes when the allowance allows",
		    e->org_limit_msg[0] ? e->org_limit_msg : "no detail");
	}
	if (e->budget_hit) {
		return cs_err(
		    err, CRMSYNC_EBUSY,
		    "the API budget is reached (used %lld of %lld calls, budget %lld): the "
		    "sync stopped at a page boundary and resumes when the allowance allows",
		    (long long)used, (long long)max, (long long)budget);
	}
	if (first.msg[0]) {
		*err = first;
		return first.code ? first.code : CRMSYNC_ERR;
	}
	return 0;
}
