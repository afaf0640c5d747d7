/*
 * main.c - sfemu's command line and HTTP front end (libmicrohttpd): reads the
 * request, applies injected faults, routes to the OAuth, data API and control
 * plane handlers under one lock, and writes the response with Salesforce's
 * headers.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sfemu.h"

typedef struct conn_ctx {
	buf body;
	bool started;
	size_t uri_len; /* the raw request target, for the 16 KB URI limit */
} conn_ctx;

static void *uri_seen(void *cls, const char *uri, struct MHD_Connection *c)
{
	(void)cls;
	(void)c;
	conn_ctx *cc = calloc(1, sizeof *cc);
	cc->uri_len = strlen(uri);
	return cc;
}

int64_t emu_now(emu *e)
{
	if (e->clock_frozen)
		return e->clock_base_ms;
	return e->clock_base_ms + (wall_ms() - e->clock_wall_at_base);
}

void emu_clock_set(emu *e, int64_t ms)
{
	e->clock_base_ms = ms;
	e->clock_wall_at_base = wall_ms();
}

const char *req_arg(req *r, const char *name)
{
	if (!r->qargs)
		return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
	return json_string_value(json_object_get(r->qargs, name));
}

const char *req_header(req *r, const char *name)
{
	/* a composite subrequest: its own httpHeaders; conditions (If-*) only
	 * from there, the rest (Authorization, ...) from the composite request */
	if (r->sub) {
		const char *k;
		json_t *v;
		json_object_foreach(r->hdrs, k, v)
		{
			if (strcasecmp(k, name) == 0 && json_is_string(v))
				return json_string_value(v);
		}
		if (strncasecmp(name, "If-", 3) == 0)
			return NULL;
	}
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

void resp_json(resp *rs, int status, json_t *j)
{
	rs->status = status;
	rs->body.len = 0;
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	buf_puts(&rs->body, s ? s : "null");
	free(s);
	json_decref(j);
}

static json_t *fields_array(const char *fields)
{
	json_t *a = json_array();
	char tmp[256];
	snprintf(tmp, sizeof tmp, "%s", fields ? fields : "");
	for (char *save = NULL, *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save))
		json_array_append_new(a, json_string(t));
	return a;
}

void resp_err_fields(resp *rs, int status, const char *code, const char *fields, const char *msg)
{
	json_t *o = json_object();
	json_object_set_new(o, "message", json_string(msg));
	json_object_set_new(o, "errorCode", json_string(code));
	if (fields)
		json_object_set_new(o, "fields", fields_array(fields));
	json_t *a = json_array();
	json_array_append_new(a, o);
	resp_json(rs, status, a);
}

void resp_err(resp *rs, int status, const char *code, const char *msg)
{
	resp_err_fields(rs, status, code, NULL, msg);
}

void resp_error(resp *rs, const emu_err *err)
{
	bool with_fields = err->fields[0] || !strcmp(err->code, "ENTITY_IS_DELETED") ||
			   !strcmp(err->code, "REQUIRED_FIELD_MISSING") ||
			   !strcmp(err->code, "DUPLICATE_VALUE");
	resp_err_fields(rs, err->http ? err->http : 400, err->code,
			with_fields ? err->fields : NULL, err->msg);
}

/* ---- routing ---- */

static void route(emu *e, req *r, resp *rs)
{
	const char *p = r->path;
	if (!strncmp(p, "/__emu/", 7) || !strcmp(p, "/__emu")) {
		control_handle(e, r, rs);
		return;
	}
	if (!strcmp(p, "/services/oauth2/token") || !strcmp(p, "/services/oauth2/revoke") ||
	    !strcmp(p, "/services/oauth2/userinfo")) {
		oauth_handle(e, r, rs);
		return;
	}
	if (!strncmp(p, "/id/", 4)) {
		identity_handle(e, r, rs);
		return;
	}
	if (!strcmp(p, "/services/data") || !strcmp(p, "/services/data/")) {
		versions_handle(e, r, rs);
		return;
	}
	if (!strncmp(p, "/services/data/v", 16)) {
		api_handle(e, r, rs);
		return;
	}
	resp_err(rs, 404, "NOT_FOUND", "The requested resource does not exist");
}

typedef struct trunc_ctx {
	char *p;
	size_t len, sent, cut;
} trunc_ctx;

static ssize_t trunc_reader(void *cls, uint64_t pos, char *out, size_t max)
{
	trunc_ctx *t = cls;
	if (pos >= t->cut)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	size_t n = t->cut - (size_t)pos;
	if (n > max)
		n = max;
	memcpy(out, t->p + pos, n);
	return (ssize_t)n;
}

static void trunc_free(void *cls)
{
	trunc_ctx *t = cls;
	free(t->p);
	free(t);
}

/* One per listening address: with --instance-listen the login host answers
 * OAuth, identity, versions and the control plane only. */
typedef struct listener {
	emu *e;
	bool login_only;
	struct MHD_Daemon *d;
	char url[300];
} listener;

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url,
			       const char *method, const char *version, const char *upload,
			       size_t *upload_size, void **con_cls)
{
	listener *li = cls;
	emu *e = li->e;
	conn_ctx *cc = *con_cls;
	(void)version;
	if (!cc) {
		cc = calloc(1, sizeof *cc);
		*con_cls = cc;
	}
	if (!cc->started) {
		cc->started = true;
		return MHD_YES;
	}
	if (*upload_size) {
		buf_put(&cc->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	req r = {.method = method,
		 .path = url,
		 .body = cc->body.p ? cc->body.p : "",
		 .body_len = cc->body.len,
		 .conn = c};
	resp rs = {.status = 200, .ctype = "application/json;charset=UTF-8"};
	fault_action fa = {0};

	pthread_mutex_lock(&e->mu);
	faults_match(e, &r, &rs, &fa);
	pthread_mutex_unlock(&e->mu);
	if (fa.delay_ms > 0)
		usleep((useconds_t)fa.delay_ms * 1000);
	pthread_mutex_lock(&e->mu);
	if (fa.drop) {
		log_request(e, &r, 0);
		pthread_mutex_unlock(&e->mu);
		buf_free(&rs.body);
		return MHD_NO;
	}
	if (!fa.respond && cc->uri_len > 16384) {
		resp_err(&rs, 414, "URI_TOO_LONG",
			 "The length of the URI exceeds the 16,384 byte limit");
	} else if (!fa.respond) {
		if (li->login_only && !strncmp(url, "/services/data/v", 16))
			resp_err(&rs, 404, "NOT_FOUND",
				 "The requested resource does not exist on the login host: use "
				 "instance_url");
		else
			route(e, &r, &rs);
	}
	log_request(e, &r, rs.status);
	char limit[256] = "";
	if (!strncmp(url, "/services/data/v", 16) && !rs.no_limit_info) {
		int n = snprintf(limit, sizeof limit, "api-usage=%ld/%ld", e->api_used, e->api_max);
		/* the connected app's share, on calls made with its tokens */
		if (e->app_client && r.client[0] && !strcmp(r.client, e->app_client))
			snprintf(limit + n, sizeof limit - (size_t)n,
				 "; per-app-api-usage=%ld/%ld(appName=%s)", e->app_used, e->app_max,
				 e->app_name);
	}
	pthread_mutex_unlock(&e->mu);

	struct MHD_Response *mr;
	size_t len = rs.body.len;
	if (rs.status == 204 || rs.status == 304)
		len = 0;
	if (fa.truncate && len > 1) {
		trunc_ctx *t = calloc(1, sizeof *t);
		t->len = len;
		t->cut = len / 2;
		t->p = buf_take(&rs.body);
		mr = MHD_create_response_from_callback(len, 4096, trunc_reader, t, trunc_free);
	} else {
		char *body = buf_take(&rs.body);
		mr = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	}
	if (len || (rs.status != 204 && rs.status != 304))
		MHD_add_response_header(mr, "Content-Type", rs.ctype);
	if (limit[0])
		MHD_add_response_header(mr, "Sforce-Limit-Info", limit);
	if (rs.location[0])
		MHD_add_response_header(mr, "Location", rs.location);
	if (rs.last_modified[0])
		MHD_add_response_header(mr, "Last-Modified", rs.last_modified);
	enum MHD_Result ret = MHD_queue_response(c, (unsigned)rs.status, mr);
	MHD_destroy_response(mr);
	return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)c;
	(void)toe;
	conn_ctx *cc = *con_cls;
	if (cc) {
		buf_free(&cc->body);
		free(cc);
		*con_cls = NULL;
	}
}

/* ---- command line ---- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	buf b = {0};
	char tmp[65536];
	size_t n;
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		buf_put(&b, tmp, n);
	fclose(f);
	return buf_take(&b);
}

static void usage(FILE *f)
{
	fprintf(
	    f, "usage: sfemu [options]\n"
	       "  --listen HOST:PORT       address to serve (default 127.0.0.1:0, a free port)\n"
	       "  --instance-url URL       instance_url handed out by the token endpoint\n"
	       "  --username U --password P --client-id ID --client-secret S\n"
	       "  --refresh-token T        a refresh token the refresh_token grant accepts\n"
	       "  --state FILE             keep the records in this SQLite file (default: memory)\n"
	       "  --schema FILE            load the schema from JSON (see README.md)\n"
	       "  --seed SPEC              e.g. users=50,accounts=200,leads=1000\n"
	       "  --seed-rng N             seed of the generator (default 1)\n"
	       "  --tls-cert FILE --tls-key FILE   serve HTTPS\n"
	       "  --token-ttl SECONDS      access token lifetime (default 7200)\n"
	       "  --cursor-ttl SECONDS     idle lifetime of a query cursor (default: 900 before\n"
	       "                           API v56.0, 2 days from v56.0)\n"
	       "  --cursor-max N           open cursors per user, 0 = unlimited (default: 10\n"
	       "                           before v56.0, unlimited from v56.0)\n"
	       "  --api-limit N            DailyApiRequests Max (default 100000)\n"
	       "  --chaos-batch N          return query pages of at most N records\n"
	       "  --locator-status 400|404 status of INVALID_QUERY_LOCATOR (default 400)\n"
	       "  --clock ISO8601          start the emulator clock at this instant\n"
	       "  --jwt-cert FILE          the JWT bearer grant's certificate (PEM)\n");
}

/* oauth.c: the JWT bearer grant's key */
int oauth_jwt_load(const char *file);
void oauth_jwt_free(void);

static char *host_of(const char *listen, int *port);

/* Starts a daemon on HOST:PORT (port 0: a free one); fills li->url. */
static int start_listener(emu *e, listener *li, const char *addr)
{
	int port = 0;
	char *host = host_of(addr, &port);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (!host || inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
		fprintf(stderr, "sfemu: a listen address is IPV4:PORT, got %s\n", addr);
		free(host);
		return -1;
	}
	unsigned flags =
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
	li->e = e;
	if (e->tls.cert)
		li->d = MHD_start_daemon(
		    flags | MHD_USE_TLS, 0, NULL, NULL, handler, li, MHD_OPTION_SOCK_ADDR, &sa,
		    MHD_OPTION_NOTIFY_COMPLETED, completed, li, MHD_OPTION_URI_LOG_CALLBACK,
		    uri_seen, li, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)131072,
		    MHD_OPTION_CONNECTION_TIMEOUT, 120u, MHD_OPTION_HTTPS_MEM_CERT, e->tls.cert,
		    MHD_OPTION_HTTPS_MEM_KEY, e->tls.key, MHD_OPTION_END);
	else
		li->d = MHD_start_daemon(flags, 0, NULL, NULL, handler, li, MHD_OPTION_SOCK_ADDR,
					 &sa, MHD_OPTION_NOTIFY_COMPLETED, completed, li,
					 MHD_OPTION_URI_LOG_CALLBACK, uri_seen, li,
					 MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)131072,
					 MHD_OPTION_CONNECTION_TIMEOUT, 120u, MHD_OPTION_END);
	if (!li->d) {
		fprintf(stderr, "sfemu: cannot listen on %s\n", addr);
		free(host);
		return -1;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(li->d, MHD_DAEMON_INFO_BIND_PORT);
	snprintf(li->url, sizeof li->url, "%s://%s:%d", e->tls.cert ? "https" : "http", host,
		 di ? di->port : port);
	free(host);
	return 0;
}

static char *host_of(const char *listen, int *port)
{
	const char *colon = strrchr(listen, ':');
	if (!colon)
		return NULL;
	*port = atoi(colon + 1);
	return strndup(listen, (size_t)(colon - listen));
}

int main(int argc, char **argv)
{
	static emu E;
	emu *e = &E;
	const char *listen = "127.0.0.1:0", *schema_file = NULL, *seed = NULL;
	const char *tls_cert = NULL, *tls_key = NULL, *clock = NULL;
	uint64_t rng = 1;
	char *inst = NULL, *inst_listen = NULL;
	int rc = 1;
	pthread_mutex_init(&e->mu, NULL);
	sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
	e->username = strdup("sync@example.com");
	e->password = strdup("sync-password");
	e->client_id = strdup("crmsync-demo");
	e->client_secret = strdup("crmsync-demo-secret");
	e->api_max = 100000;
	e->cfg = (emu_config){.locator_status = 400,
			      .cursor_replay = 1,
			      .legacy_cursors = 0,
			      .cursor_max = -1,
			      .cursor_ttl_ms = -1,
			      .token_ttl_ms = 2 * 3600 * 1000,
			      .max_ids = 600000,
			      .default_batch = 2000,
			      .min_replication_gap_s = 0};
	snprintf(e->cfg.converted_msg, sizeof e->cfg.converted_msg,
		 "cannot reference converted lead");

	enum {
		O_LISTEN = 256,
		O_INST,
		O_USER,
		O_PASS,
		O_CID,
		O_CSEC,
		O_RT,
		O_STATE,
		O_SCHEMA,
		O_SEED,
		O_RNG,
		O_CERT,
		O_KEY,
		O_TTTL,
		O_CTTL,
		O_CMAX,
		O_LIMIT,
		O_CHAOS,
		O_LOCST,
		O_CLOCK,
		O_ILISTEN,
		O_JWT,
		O_HELP
	};
	static const struct option opts[] = {{"listen", 1, 0, O_LISTEN},
					     {"instance-url", 1, 0, O_INST},
					     {"instance-listen", 1, 0, O_ILISTEN},
					     {"username", 1, 0, O_USER},
					     {"password", 1, 0, O_PASS},
					     {"client-id", 1, 0, O_CID},
					     {"client-secret", 1, 0, O_CSEC},
					     {"refresh-token", 1, 0, O_RT},
					     {"state", 1, 0, O_STATE},
					     {"schema", 1, 0, O_SCHEMA},
					     {"seed", 1, 0, O_SEED},
					     {"seed-rng", 1, 0, O_RNG},
					     {"tls-cert", 1, 0, O_CERT},
					     {"tls-key", 1, 0, O_KEY},
					     {"token-ttl", 1, 0, O_TTTL},
					     {"cursor-ttl", 1, 0, O_CTTL},
					     {"cursor-max", 1, 0, O_CMAX},
					     {"api-limit", 1, 0, O_LIMIT},
					     {"chaos-batch", 1, 0, O_CHAOS},
					     {"locator-status", 1, 0, O_LOCST},
					     {"clock", 1, 0, O_CLOCK},
					     {"jwt-cert", 1, 0, O_JWT},
					     {"help", 0, 0, O_HELP},
					     {0, 0, 0, 0}};
	int ch;
#define SETS(field) (free(e->field), e->field = strdup(optarg))
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case O_LISTEN:
			listen = optarg;
			break;
		case O_INST:
			inst = optarg;
			break;
		case O_USER:
			SETS(username);
			break;
		case O_PASS:
			SETS(password);
			break;
		case O_CID:
			SETS(client_id);
			break;
		case O_CSEC:
			SETS(client_secret);
			break;
		case O_RT:
			SETS(refresh_token);
			break;
		case O_STATE:
			e->state_file = strdup(optarg);
			break;
		case O_SCHEMA:
			schema_file = optarg;
			break;
		case O_SEED:
			seed = optarg;
			break;
		case O_RNG:
			rng = strtoull(optarg, NULL, 10);
			break;
		case O_CERT:
			tls_cert = optarg;
			break;
		case O_KEY:
			tls_key = optarg;
			break;
		case O_TTTL:
			e->cfg.token_ttl_ms = atoll(optarg) * 1000;
			break;
		case O_CTTL:
			e->cfg.cursor_ttl_ms = atoll(optarg) * 1000;
			break;
		case O_CMAX:
			e->cfg.cursor_max = atoi(optarg);
			break;
		case O_LIMIT:
			e->api_max = atol(optarg);
			break;
		case O_CHAOS:
			e->cfg.chaos_batch = atoi(optarg);
			break;
		case O_LOCST:
			e->cfg.locator_status = atoi(optarg);
			break;
		case O_ILISTEN:
			inst_listen = optarg;
			break;
		case O_CLOCK:
			clock = optarg;
			break;
		case O_JWT: /* the JWT bearer grant's certificate (oauth.c) */
			if (oauth_jwt_load(optarg))
				return 2;
			break;
		case O_HELP:
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	e->rng_seed = rng;
	e->id_salt = rng * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL;
	if (clock) {
		int64_t ms;
		if (parse_datetime(clock, &ms)) {
			fprintf(stderr, "sfemu: --clock: not an ISO 8601 datetime: %s\n", clock);
			return 2;
		}
		emu_clock_set(e, ms);
	} else {
		emu_clock_set(e, wall_ms());
	}
	e->org_created_ms = (emu_now(e) / 86400000 - 365) * 86400000;
	e->log = json_array();
	e->stats = json_object();
	e->tokens = json_object();
	e->rules = json_array();

	char err[512];
	char *text = NULL;
	if (schema_file) {
		text = slurp(schema_file);
		if (!text) {
			fprintf(stderr, "sfemu: cannot read schema %s: %s\n", schema_file,
				strerror(errno));
			goto out;
		}
	}
	if (schema_load(&e->schema, text ? text : schema_default_json, err, sizeof err)) {
		fprintf(stderr, "sfemu: %s%s%s\n", schema_file ? schema_file : "built-in schema",
			": ", err);
		free(text);
		goto out;
	}
	free(text);
	/* an org's metadata was last changed before anyone asks: a describe in the
	 * emulator's first second is not "just changed" */
	e->schema.changed_ms -= 1000;
	if (store_open(e, err, sizeof err)) {
		fprintf(stderr, "sfemu: %s\n", err);
		goto out;
	}
	if (seed && seed_run(e, seed, rng, err, sizeof err)) {
		fprintf(stderr, "sfemu: --seed: %s\n", err);
		goto out;
	}

	if (tls_cert || tls_key) {
		e->tls.cert = tls_cert ? slurp(tls_cert) : NULL;
		e->tls.key = tls_key ? slurp(tls_key) : NULL;
		if (!e->tls.cert || !e->tls.key) {
			fprintf(stderr, "sfemu: TLS needs readable --tls-cert and --tls-key\n");
			goto out;
		}
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	static listener login, instance;
	if (start_listener(e, &login, listen))
		goto out;
	if (inst_listen) {
		login.login_only = true;
		if (start_listener(e, &instance, inst_listen)) {
			MHD_stop_daemon(login.d);
			goto out;
		}
	}
	pthread_mutex_lock(&e->mu);
	e->login_url = strdup(login.url);
	e->instance_url = strdup(inst ? inst : inst_listen ? instance.url : login.url);
	pthread_mutex_unlock(&e->mu);
	printf("listening on %s\n", login.url);
	if (inst_listen)
		printf("instance on %s\n", instance.url);
	fflush(stdout);

	int sig;
	sigwait(&set, &sig);
	MHD_stop_daemon(login.d);
	if (instance.d)
		MHD_stop_daemon(instance.d);
	rc = 0;
out:
	cursors_free(e);
	faults_free(e);
	store_close(e);
	schema_free(&e->schema);
	json_decref(e->log);
	json_decref(e->stats);
	json_decref(e->tokens);
	json_decref(e->rules);
	free(e->username);
	free(e->password);
	free(e->client_id);
	free(e->client_secret);
	free(e->app_client);
	free(e->app_name);
	free(e->refresh_token);
	free(e->instance_url);
	free(e->login_url);
	free(e->state_file);
	free(e->tls.cert);
	free(e->tls.key);
	oauth_jwt_free();
	pthread_mutex_destroy(&e->mu);
	return rc;
}
