/* conf.c - see conf.h. inih does the INI syntax; this file tracks where every
 * value came from, knows the core's keys and their environment fallbacks, and
 * words every complaint as "where: what is wrong, what was expected". */
#include "config.h"
#include "conf.h"
#include "log.h"
#include "timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

struct conf_entry {
	char *section, *key, *value, *where;
	bool read;
	struct conf_entry *next;
};

struct cs_config {
	struct conf_entry *head, *tail;
	/* parse state */
	const char *path;
	int line;
	char raw_first; /* first character of the raw line being parsed */
	char last_section[128], last_key[128];
	cs_error *err;
	int failed;
	bool has_secret;
};

/* Keys the core knows. Sections not listed here belong to plugins and are
 * checked by what the plugins read. [storage] keys other than "backend" belong
 * to the backend. */
struct conf_known {
	const char *section, *key, *env, *help;
	bool secret;
};

static const struct conf_known conf_known[] = {
	{"crmsync", "plugin_path", NULL, "directories searched for plugins first, colon-separated", false},
	{"salesforce", "login_url", NULL, "https://login.salesforce.com or your My Domain URL", false},
	{"salesforce", "client_id", NULL, "the connected app's consumer key", false},
	{"salesforce", "client_secret", "CRMSYNC_SF_CLIENT_SECRET", "the connected app's consumer secret", true},
	{"salesforce", "username", NULL, "the sync user", false},
	{"salesforce", "password", "CRMSYNC_SF_PASSWORD", "the sync user's password (plus security token)", true},
	{"salesforce", "refresh_token", "CRMSYNC_SF_REFRESH_TOKEN", "a refresh token for the refresh_token grant", true},
	{"salesforce", "grant", NULL, "password, refresh_token, client_credentials or jwt", false},
	{"salesforce", "token_file", NULL, "where the refresh_token grant keeps the newest (rotated) refresh token; default <storage.path>.token", false},
	{"salesforce", "jwt_key_file", NULL, "the RSA private key (PEM) of the jwt grant, chmod 600", false},
	{"salesforce", "api_version", NULL, "REST API version, e.g. 59.0", false},
	{"salesforce", "api_budget", NULL, "share of the org's daily API allowance, e.g. 50%", false},
	{"salesforce", "ca_file", NULL, "an extra CA bundle (PEM)", false},
	{"salesforce", "timeout", NULL, "transfer timeout, e.g. 120s", false},
	{"salesforce", "connect_timeout", NULL, "connect timeout, e.g. 15s", false},
	{"salesforce", "max_retries", NULL, "retries of a safe request", false},
	{"salesforce", "duplicate_alerts", NULL, "refuse or save: whether a pushed record that a duplicate rule alerts on is saved", false},
	{"storage", "backend", NULL, "sqlite or postgres", false},
	{"sync", "interval", NULL, "pause between cycles, e.g. 5m (at least 1s)", false},
	{"sync", "units", NULL, "units to sync, comma-separated", false},
	{"sync", "custom_objects", NULL, "custom objects to sync, e.g. Invoice__c", false},
	{"sync", "push_new", NULL, "marked or always", false},
	{"sync", "push_deletes", NULL, "yes or no", false},
	{"sync", "reconcile_interval", NULL, "how often to look for hard-purged rows, e.g. 1d", false},
	{"sync", "retention", NULL, "how long history and errors are kept, e.g. 30d", false},
	{"sync", "page_size", NULL, "records per query page, 200..2000", false},
	{"sync", "overlap", NULL, "how far back each incremental pull looks for late commits, e.g. 5m", false},
	{"sync", "turn_pages", NULL, "pages a unit pulls before the next unit gets its turn", false},
	{"log", "level", NULL, "error, warn, info or debug", false},
	{"log", "target", NULL, "stderr or syslog", false},
	{"metrics", "listen", NULL, "address:port of the metrics listener", false},
	{"metrics", "healthz_max_age", NULL, "age of the last good cycle after which /healthz fails", false},
	{"alerts", "command", NULL, "command run with a JSON alert on stdin", false},
	{"alerts", "error_threshold", NULL, "errors per cycle that raise an alert", false},
	{"alerts", "repeat_interval", NULL, "least time between two alerts of one kind, e.g. 30m", false},
};

static const struct conf_known *conf_lookup_known(const char *section, const char *key)
{
	for (size_t i = 0; i < sizeof conf_known / sizeof *conf_known; i++)
		if (strcasecmp(conf_known[i].section, section) == 0 &&
		    strcasecmp(conf_known[i].key, key) == 0)
			return &conf_known[i];
	return NULL;
}

static bool conf_core_section(const char *section)
{
	for (size_t i = 0; i < sizeof conf_known / sizeof *conf_known; i++)
		if (strcasecmp(conf_known[i].section, section) == 0)
			return true;
	return false;
}

cs_config *cs_config_new(void)
{
	return calloc(1, sizeof(cs_config));
}

static void conf_entry_free(struct conf_entry *e)
{
	free(e->section);
	free(e->key);
	if (e->value) /* may hold a secret: do not leave it in freed memory */
		memset(e->value, 0, strlen(e->value));
	free(e->value);
	free(e->where);
	free(e);
}

void cs_config_free(cs_config *cfg)
{
	if (!cfg)
		return;
	for (struct conf_entry *e = cfg->head, *n; e; e = n) {
		n = e->next;
		conf_entry_free(e);
	}
	free(cfg);
}

static struct conf_entry *conf_find(const cs_config *cfg, const char *section, const char *key)
{
	for (struct conf_entry *e = cfg->head; e; e = e->next)
		if (strcasecmp(e->section, section) == 0 && strcasecmp(e->key, key) == 0)
			return e;
	return NULL;
}

static bool conf_valid_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
			return false;
	return true;
}

int cs_config_set(cs_config *cfg, const char *section, const char *key, const char *value,
		  const char *where, cs_error *err)
{
	struct conf_entry *e = conf_find(cfg, section, key);
	char *v = strdup(value), *w = strdup(where ? where : "default");

	if (!v || !w) {
		free(v);
		free(w);
		return cs_err(err, CRMSYNC_ENOMEM, "out of memory");
	}
	if (e) {
		memset(e->value, 0, strlen(e->value));
		free(e->value);
		free(e->where);
		e->value = v;
		e->where = w;
		return 0;
	}
	e = calloc(1, sizeof *e);
	if (!e || !(e->section = strdup(section)) || !(e->key = strdup(key))) {
		if (e) {
			free(e->section);
			free(e);
		}
		free(v);
		free(w);
		return cs_err(err, CRMSYNC_ENOMEM, "out of memory");
	}
	for (char *p = e->section; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	for (char *p = e->key; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	e->value = v;
	e->where = w;
	if (cfg->tail)
		cfg->tail->next = e;
	else
		cfg->head = e;
	cfg->tail = e;
	return 0;
}

/* Check a core key at the moment it is set: unknown keys of core sections are
 * errors right away, at their place. */
static int conf_check_key(const char *section, const char *key, const char *where,
			  cs_error *err)
{
	if (!conf_core_section(section))
		return 0; /* a plugin's section: checked after the plugins read it */
	if (strcasecmp(section, "storage") == 0 && strcasecmp(key, "backend") != 0)
		return 0; /* the backend's keys: checked after it reads them */
	if (conf_lookup_known(section, key))
		return 0;
	/* suggest the known key with the same first letters */
	const char *best = NULL;
	size_t best_len = 0;
	for (size_t i = 0; i < sizeof conf_known / sizeof *conf_known; i++) {
		if (strcasecmp(conf_known[i].section, section))
			continue;
		size_t n = 0;
		while (key[n] && conf_known[i].key[n] &&
		       tolower((unsigned char)key[n]) == conf_known[i].key[n])
			n++;
		if (n > best_len) {
			best_len = n;
			best = conf_known[i].key;
		}
	}
	if (best && best_len >= 3)
		return cs_err(err, CRMSYNC_EINVAL,
			      "%s: unknown key '%s' in section [%s] (did you mean '%s'?)", where,
			      key, section, best);
	return cs_err(err, CRMSYNC_EINVAL, "%s: unknown key '%s' in section [%s]", where, key,
		      section);
}

/* Strip an inline "# comment" (a '#' after whitespace) and surrounding quotes. */
static void conf_clean_value(char *v)
{
	for (char *p = v; *p; p++)
		if (*p == '#' && p > v && isspace((unsigned char)p[-1])) {
			*p = '\0';
			break;
		}
	size_t n = strlen(v);
	while (n && isspace((unsigned char)v[n - 1]))
		v[--n] = '\0';
	if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
		memmove(v, v + 1, n - 2);
		v[n - 2] = '\0';
	}
}

static int conf_handler(void *user, const char *section, const char *name, const char *value)
{
	cs_config *cfg = user;
	char where[512], vbuf[256];

	if (cfg->failed)
		return 1;
	snprintf(where, sizeof where, "%s:%d", cfg->path, cfg->line);
	if (!*section) {
		cs_err(cfg->err, CRMSYNC_EINVAL,
		       "%s: key '%s' is outside any section; put it under [section]", where, name);
		cfg->failed = 1;
		return 0;
	}
	if (!conf_valid_name(section) || !conf_valid_name(name)) {
		cs_err(cfg->err, CRMSYNC_EINVAL, "%s: bad section or key name '[%s] %s'", where,
		       section, name);
		cfg->failed = 1;
		return 0;
	}
	snprintf(vbuf, sizeof vbuf, "%s", value);
	conf_clean_value(vbuf);
	/* a continuation line (indented) appends to the key above it */
	if (isspace((unsigned char)cfg->raw_first) && strcasecmp(cfg->last_section, section) == 0 &&
	    strcasecmp(cfg->last_key, name) == 0) {
		struct conf_entry *e = conf_find(cfg, section, name);
		if (e) {
			size_t n = strlen(e->value) + strlen(vbuf) + 2;
			char *nv = malloc(n);
			if (!nv)
				return 0;
			snprintf(nv, n, "%s %s", e->value, vbuf);
			free(e->value);
			e->value = nv;
			return 1;
		}
	}
	if (conf_check_key(section, name, where, cfg->err)) {
		cfg->failed = 1;
		return 0;
	}
	struct conf_entry *dup = conf_find(cfg, section, name);
	if (dup) {
		cs_err(cfg->err, CRMSYNC_EINVAL, "%s: key '%s' in [%s] is set twice (first at %s)",
		       where, name, section, dup->where);
		cfg->failed = 1;
		return 0;
	}
	const struct conf_known *k = conf_lookup_known(section, name);
	if (k && k->secret)
		cfg->has_secret = true;
	snprintf(cfg->last_section, sizeof cfg->last_section, "%s", section);
	snprintf(cfg->last_key, sizeof cfg->last_key, "%s", name);
	if (cs_config_set(cfg, section, name, vbuf, where, cfg->err)) {
		cfg->failed = 1;
		return 0;
	}
	return 1;
}

struct conf_reader {
	FILE *f;
	cs_config *cfg;
	int too_long; /* line number of the first over-long line */
};

static char *conf_read_line(char *str, int num, void *stream)
{
	struct conf_reader *r = stream;

	if (!fgets(str, num, r->f))
		return NULL;
	r->cfg->line++;
	r->cfg->raw_first = str[0];
	size_t n = strlen(str);
	if (n == (size_t)num - 1 && str[n - 1] != '\n' && !feof(r->f)) {
		if (!r->too_long)
			r->too_long = r->cfg->line;
		int c;
		while ((c = fgetc(r->f)) != EOF && c != '\n')
			;
		str[0] = '\0'; /* drop the whole line; reported below */
	}
	return str;
}

int cs_config_load_file(cs_config *cfg, const char *path, cs_error *err)
{
	struct conf_reader r = {.cfg = cfg};
	struct stat st;
	int rc;

	r.f = fopen(path, "r");
	if (!r.f)
		return cs_err(err, CRMSYNC_EINVAL, "%s: cannot read the config file: %s", path,
			      strerror(errno));
	if (fstat(fileno(r.f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(r.f);
		return cs_err(err, CRMSYNC_EINVAL, "%s: is a directory, not a config file", path);
	}
	cfg->path = path;
	cfg->line = 0;
	cfg->err = err;
	cfg->failed = 0;
	cfg->last_section[0] = cfg->last_key[0] = '\0';
	rc = ini_parse_stream(conf_read_line, &r, conf_handler, cfg);
	fclose(r.f);
	if (cfg->failed)
		return CRMSYNC_EINVAL;
	if (r.too_long && (rc == 0 || r.too_long <= rc))
		return cs_err(err, CRMSYNC_EINVAL,
			      "%s:%d: line longer than 198 characters; split the value over "
			      "indented continuation lines",
			      path, r.too_long);
	if (rc < 0)
		return cs_err(err, CRMSYNC_EINVAL, "%s: cannot read the config file", path);
	if (rc > 0)
		return cs_err(err, CRMSYNC_EINVAL,
			      "%s:%d: not a config line; expected [section], key = value, or a "
			      "comment starting with # or ;",
			      path, rc);
	if (cfg->has_secret && (st.st_mode & (S_IRGRP | S_IROTH)))
		cs_warn("config",
			"%s holds a secret and is readable by other users; run chmod 600 %s, "
			"or move the secret to the environment",
			path, path);
	return 0;
}

/* 1 when a name looks like it holds a secret (pass..., pwd, secret, token), so a
 * misspelt secret key does not get its value echoed in the complaint. */
static bool conf_secret_like(const char *name, size_t n)
{
	static const char *const words[] = {"pass", "pwd", "secret", "token"};
	for (size_t w = 0; w < sizeof words / sizeof *words; w++) {
		size_t wl = strlen(words[w]);
		for (size_t i = 0; i + wl <= n; i++)
			if (strncasecmp(name + i, words[w], wl) == 0)
				return true;
	}
	return false;
}

int cs_config_override(cs_config *cfg, const char *arg, cs_error *err)
{
	char where[512];
	const char *eq = strchr(arg, '='), *dot = strchr(arg, '.');
	char section[128], key[128];
	bool hide = eq && conf_secret_like(arg, (size_t)(eq - arg));

	if (hide)
		snprintf(where, sizeof where, "-o %.*s", (int)(eq - arg), arg);
	else
		snprintf(where, sizeof where, "-o %s", arg);
	if (!eq || !dot || dot > eq || dot == arg || dot + 1 == eq ||
	    (size_t)(dot - arg) >= sizeof section || (size_t)(eq - dot - 1) >= sizeof key)
		return cs_err(err, CRMSYNC_EINVAL,
			      "-o '%s%s': expected section.key=value, e.g. -o sync.interval=30s",
			      hide ? where + 3 : arg, hide ? "=..." : "");
	memcpy(section, arg, (size_t)(dot - arg));
	section[dot - arg] = '\0';
	memcpy(key, dot + 1, (size_t)(eq - dot - 1));
	key[eq - dot - 1] = '\0';
	/* never echo a secret's value back */
	const struct conf_known *k = conf_lookup_known(section, key);
	if (k && k->secret)
		snprintf(where, sizeof where, "-o %s.%s", section, key);
	if (!conf_valid_name(section) || !conf_valid_name(key))
		return cs_err(err, CRMSYNC_EINVAL, "%s: bad section or key name", where);
	if (conf_check_key(section, key, where, err))
		return CRMSYNC_EINVAL;
	return cs_config_set(cfg, section, key, eq + 1, where, err);
}

const char *cs_config_get(const cs_config *cfg, const char *section, const char *key)
{
	struct conf_entry *e = conf_find(cfg, section, key);
	if (e)
		return e->value;
	const struct conf_known *k = conf_lookup_known(section, key);
	if (k && k->env) {
		const char *v = getenv(k->env);
		if (v && *v)
			return v;
	}
	return NULL;
}

const char *cs_config_where(const cs_config *cfg, const char *section, const char *key)
{
	struct conf_entry *e = conf_find(cfg, section, key);
	if (e)
		return e->where;
	const struct conf_known *k = conf_lookup_known(section, key);
	if (k && k->env && getenv(k->env))
		return k->env;
	return "default";
}

static int conf_bad(const cs_config *cfg, const char *section, const char *key, cs_error *err,
		    const char *expected)
{
	const char *v = cs_config_get(cfg, section, key);
	const struct conf_known *k = conf_lookup_known(section, key);
	if (k && k->secret)
		v = "(hidden)";
	return cs_err(err, CRMSYNC_EINVAL, "%s: %s.%s = '%s': expected %s",
		      cs_config_where(cfg, section, key), section, key, v ? v : "", expected);
}

int cs_config_bool(const cs_config *cfg, const char *section, const char *key, bool def,
		   bool *out, cs_error *err)
{
	const char *v = cs_config_get(cfg, section, key);
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};

	*out = def;
	if (!v)
		return 0;
	for (int i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return conf_bad(cfg, section, key, err, "yes or no");
}

int cs_config_int(const cs_config *cfg, const char *section, const char *key, int64_t def,
		  int64_t min, int64_t max, int64_t *out, cs_error *err)
{
	const char *v = cs_config_get(cfg, section, key);
	char *end, expected[128];
	long long n;

	*out = def;
	if (!v)
		return 0;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (min == INT64_MIN && max == INT64_MAX)
		snprintf(expected, sizeof expected, "a whole number");
	else
		snprintf(expected, sizeof expected, "a whole number from %" PRId64 " to %" PRId64,
			 min, max);
	if (errno || end == v || *end || n < min || n > max)
		return conf_bad(cfg, section, key, err, expected);
	*out = n;
	return 0;
}

int cs_config_duration(const cs_config *cfg, const char *section, const char *key,
		       int64_t def_ms, int64_t min_ms, int64_t *out_ms, cs_error *err)
{
	const char *v = cs_config_get(cfg, section, key);
	int64_t ms;
	char expected[128];

	*out_ms = def_ms;
	if (!v)
		return 0;
	snprintf(expected, sizeof expected,
		 "a duration such as 30s, 5m, 1h or 1d, at least %" PRId64 "ms", min_ms);
	if (cs_parse_duration_ms(v, &ms) || ms < min_ms)
		return conf_bad(cfg, section, key, err, expected);
	*out_ms = ms;
	return 0;
}

char **cs_config_list(const cs_config *cfg, const char *section, const char *key)
{
	const char *v = cs_config_get(cfg, section, key);
	size_t n = 0, cap = 8;
	char **out = calloc(cap, sizeof *out);

	if (!out)
		return NULL;
	while (v && *v) {
		while (*v == ',' || isspace((unsigned char)*v))
			v++;
		const char *s = v;
		while (*v && *v != ',' && !isspace((unsigned char)*v))
			v++;
		if (v == s)
			break;
		if (n + 2 > cap) {
			char **no = realloc(out, (cap *= 2) * sizeof *out);
			if (!no) {
				cs_strv_free(out);
				return NULL;
			}
			out = no;
		}
		out[n] = strndup(s, (size_t)(v - s));
		if (!out[n]) {
			cs_strv_free(out);
			return NULL;
		}
		out[++n] = NULL;
	}
	return out;
}

void cs_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

void cs_config_mark_read(cs_config *cfg, const char *section, const char *key)
{
	struct conf_entry *e = conf_find(cfg, section, key);
	if (e)
		e->read = true;
}

int cs_config_check_unread(const cs_config *cfg, const char *const *plugin_sections,
			   cs_error *err)
{
	for (struct conf_entry *e = cfg->head; e; e = e->next) {
		bool plugin_owned = false;
		for (const char *const *s = plugin_sections; s && *s; s++)
			if (strcasecmp(*s, e->section) == 0)
				plugin_owned = true;
		if (strcasecmp(e->section, "storage") == 0 && strcmp(e->key, "backend") != 0) {
			if (!e->read)
				return cs_err(err, CRMSYNC_EINVAL,
					      "%s: unknown key '%s' in section [storage] for "
					      "this backend",
					      e->where, e->key);
			continue;
		}
		if (conf_core_section(e->section))
			continue;
		if (!plugin_owned)
			return cs_err(err, CRMSYNC_EINVAL,
				      "%s: unknown section [%s]: it is neither a core section nor "
				      "the name of a loaded plugin",
				      e->where, e->section);
		if (!e->read)
			return cs_err(err, CRMSYNC_EINVAL,
				      "%s: unknown key '%s' in section [%s]: plugin %s does not "
				      "use it",
				      e->where, e->key, e->section, e->section);
	}
	return 0;
}

static const char conf_sample[] =
	"# crmsync configuration. Every key can also be given on the command line as\n"
	"# -o section.key=value. Secrets may come from the environment instead of this\n"
	"# file (CRMSYNC_SF_PASSWORD, CRMSYNC_SF_CLIENT_SECRET, CRMSYNC_SF_REFRESH_TOKEN);\n"
	"# if you keep them here, make the file readable by its owner only (chmod 600).\n"
	"\n"
	"[salesforce]\n"
	"# The login host: https://login.salesforce.com, https://test.salesforce.com for\n"
	"# a sandbox, or your My Domain URL. http:// is accepted for loopback only.\n"
	"login_url     = https://login.salesforce.com\n"
	"client_id     = your-connected-app-consumer-key\n"
	"# client_secret = ...          # or env CRMSYNC_SF_CLIENT_SECRET\n"
	"username      = sync@example.com\n"
	"# password    = ...            # or env CRMSYNC_SF_PASSWORD\n"
	"# grant       = password       # password, refresh_token, client_credentials or jwt\n"
	"# jwt_key_file = /etc/crmsync/jwt.key   # jwt: the connected app's RSA private key\n"
	"#                              # (PEM, chmod 600); its certificate goes to the app\n"
	"# token_file  = crmsync.db.token  # refresh_token: where the newest (rotated) refresh\n"
	"#                              # token is kept, mode 600 (default: storage.path.token)\n"
	"api_version   = 59.0\n"
	"api_budget    = 50%           # share of the org's daily API allowance\n"
	"# ca_file     =                # an extra CA bundle, optional\n"
	"# duplicate_alerts = refuse    # or save: push records a duplicate rule only alerts on\n"
	"\n"
	"[storage]\n"
	"backend = sqlite               # or postgres\n"
	"path    = crmsync.db           # sqlite; postgres takes conninfo = ...\n"
	"\n"
	"[sync]\n"
	"interval = 5m                  # pause between cycles\n"
	"units    = lead, contact, account, user, opportunity, campaign, activity\n"
	"# custom_objects = Invoice__c\n"
	"\n"
	"[log]\n"
	"level = info                   # error, warn, info, debug\n"
	"\n"
	"[metrics]\n"
	"# listen = 127.0.0.1:9464      # /metrics (Prometheus) and /healthz\n"
	"\n"
	"[alerts]\n"
	"# command = /usr/local/bin/notify   # gets a JSON description on stdin\n"
	"# error_threshold = 50\n";

int cs_config_write_sample(const char *path, bool force, cs_error *err)
{
	int fd = open(path, O_WRONLY | O_CREAT | (force ? O_TRUNC : O_EXCL), 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return cs_err(err, CRMSYNC_EINVAL,
				      "%s already exists; not overwriting it (use --force)", path);
		return cs_err(err, CRMSYNC_EIO, "%s: cannot write: %s", path, strerror(errno));
	}
	size_t n = sizeof conf_sample - 1;
	ssize_t w = write(fd, conf_sample, n);
	if (w != (ssize_t)n || close(fd) != 0)
		return cs_err(err, CRMSYNC_EIO, "%s: cannot write: %s", path, strerror(errno));
	return 0;
}
