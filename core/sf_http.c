/*
 * sf_http.c - the client object and the one path every Salesforce request takes:
 * URL policy (TLS always verified; plain http only to loopback), the reused curl
 * handle (keep-alive, HTTP/2, compression), the API budget, one
 * re-authentication on 401, retries with backoff and jitter for requests that
 * cannot duplicate, error mapping, and redacted debug tracing.
 */
#include "config.h"
#include "sf_internal.h"

#include "log.h"
#include "timeutil.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* ---- small helpers --------------------------------------------------------- */

void sf_buf_free(sf_buf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->cap = 0;
	b->oom = 0;
}

int sf_buf_add(sf_buf *b, const char *s, size_t len)
{
	if (b->oom)
		return CRMSYNC_ENOMEM;
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 128;
		while (cap < b->len + len + 1)
			cap *= 2;
		char *p = realloc(b->s, cap);
		if (!p) {
			b->oom = 1;
			return CRMSYNC_ENOMEM;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, len);
	b->len += len;
	b->s[b->len] = '\0';
	return 0;
}

int sf_buf_addf(sf_buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0)
		return CRMSYNC_EINVAL;
	if ((size_t)n < sizeof tmp)
		return sf_buf_add(b, tmp, (size_t)n);
	char *big = malloc((size_t)n + 1);
	if (!big) {
		b->oom = 1;
		return CRMSYNC_ENOMEM;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	int rc = sf_buf_add(b, big, (size_t)n);
	free(big);
	return rc;
}

int sf_url_encode(sf_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~') {
			if (sf_buf_add(b, (const char *)&ch, 1))
				return CRMSYNC_ENOMEM;
		} else {
			char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
			if (sf_buf_add(b, e, 3))
				return CRMSYNC_ENOMEM;
		}
	}
	return 0;
}

static char *sf_strdup0(const char *s)
{
	return s ? strdup(s) : NULL;
}

void sf_url_path(const char *url, char *out, size_t cap)
{
	const char *p = url;
	const char *scheme = strstr(url, "://");
	if (scheme) {
		p = strchr(scheme + 3, '/');
		if (!p)
			p = "/";
	}
	size_t n = strcspn(p, "?#");
	if (n >= cap)
		n = cap - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

long sf_backoff_ms(long base_ms, long cap_ms, int attempt, double r01)
{
	double d = (double)base_ms;
	for (int i = 0; i < attempt && d < (double)cap_ms; i++)
		d *= 2;
	if (d > (double)cap_ms)
		d = (double)cap_ms;
	if (r01 < 0)
		r01 = 0;
	if (r01 >= 1)
		r01 = 0.999999;
	return (long)(d * (0.5 + r01 / 2));
}

int sf_parse_limit_info(const char *value, int64_t *used, int64_t *max)
{
	const char *p = value;
	/* "api-usage=" must be a whole key, not the tail of "per-app-api-usage=" */
	while ((p = strstr(p, "api-usage=")) != NULL) {
		if (p == value || p[-1] == ' ' || p[-1] == ';' || p[-1] == ',')
			break;
		p += 10;
	}
	if (!p)
		return -1;
	p += 10;
	char *end;
	errno = 0;
	long long u = strtoll(p, &end, 10);
	if (end == p || *end != '/' || errno || u < 0)
		return -1;
	p = end + 1;
	long long m = strtoll(p, &end, 10);
	if (end == p || errno || m <= 0)
		return -1;
	*used = u;
	*max = m;
	return 0;
}

/* ---- URL policy ---------------------------------------------------------------- */

int sf_url_check(const char *url, const char *what, cs_error *err)
{
	const char *host;
	char h[256];
	size_t n;

	if (!url || !*url)
		return cs_err(err, CRMSYNC_EINVAL, "%s is empty", what);
	if (strncasecmp(url, "https://", 8) == 0)
		return 0;
	if (strncasecmp(url, "http://", 7) != 0)
		return cs_err(err, CRMSYNC_EINVAL,
			      "%s '%s' is not an https:// URL (Salesforce is only spoken over "
			      "TLS; http:// is allowed for loopback test servers only)",
			      what, url);
	host = url + 7;
	n = strcspn(host, "/?#");
	if (memchr(host, '@', n))
		return cs_err(err, CRMSYNC_EINVAL,
			      "%s '%s': user information in the URL is not allowed", what, url);
	if (n >= sizeof h)
		n = sizeof h - 1;
	memcpy(h, host, n);
	h[n] = '\0';
	/* strip the port */
	if (h[0] == '[') {
		char *close = strchr(h, ']');
		if (!close || (close[1] && close[1] != ':'))
			goto refuse;
		*close = '\0';
		memmove(h, h + 1, strlen(h + 1) + 1);
		struct in6_addr a6;
		if (inet_pton(AF_INET6, h, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6))
			return 0;
		goto refuse;
	}
	char *colon = strchr(h, ':');
	if (colon)
		*colon = '\0';
	if (strcasecmp(h, "localhost") == 0)
		return 0;
	struct in_addr a4;
	if (inet_pton(AF_INET, h, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127)
		return 0;
refuse:
	return cs_err(
	    err, CRMSYNC_EINVAL,
	    "%s '%s' uses plain http:// to a host that is not loopback; only https:// "
	    "is allowed there (http:// is accepted for 127.0.0.0/8, ::1 and localhost only)",
	    what, url);
}

/* ---- redaction ------------------------------------------------------------------- */

static const char sf_redacted[] = "[REDACTED]";

static int sf_prefix_ci(const char *p, const char *key)
{
	return strncasecmp(p, key, strlen(key)) == 0;
}

void sf_redact(const char *in, char *out, size_t cap, const char *const *extra)
{
	static const char *const form_keys[] = {
	    "password=", "client_secret=", "refresh_token=", "access_token=",
	    "token=",	 "code=",	   "assertion=",     NULL};
	static const char *const json_keys[] = {"\"access_token\"", "\"refresh_token\"",
						"\"password\"",	    "\"client_secret\"",
						"\"signature\"",    NULL};
	size_t o = 0;
	const char *p = in;

	if (!cap)
		return;
#define SF_PUT(ch)                                                                                 \
	do {                                                                                       \
		if (o + 1 < cap)                                                                   \
			out[o++] = (ch);                                                           \
	} while (0)
#define SF_PUTS(str)                                                                               \
	do {                                                                                       \
		for (const char *q_ = (str); *q_; q_++)                                            \
			SF_PUT(*q_);                                                               \
	} while (0)
	while (*p) {
		int done = 0;
		/* exact secrets the caller knows */
		for (size_t i = 0; extra && extra[i] && !done; i++) {
			size_t l = strlen(extra[i]);
			if (l >= 4 && strncmp(p, extra[i], l) == 0) {
				SF_PUTS(sf_redacted);
				p += l;
				done = 1;
			}
		}
		if (done)
			continue;
		if (sf_prefix_ci(p, "authorization:")) {
			SF_PUTS("Authorization: ");
			SF_PUTS(sf_redacted);
			p += strcspn(p, "\r\n");
			continue;
		}
		if (sf_prefix_ci(p, "bearer ")) {
			SF_PUTS("Bearer ");
			SF_PUTS(sf_redacted);
			p += 7;
			p += strcspn(p, " \t\r\n\",;&");
			continue;
		}
		/* form or query parameters: only at a key boundary */
		if (p == in || p[-1] == '&' || p[-1] == '?' || p[-1] == ' ' || p[-1] == '\n') {
			for (size_t i = 0; form_keys[i]; i++)
				if (sf_prefix_ci(p, form_keys[i])) {
					SF_PUTS(form_keys[i]);
					SF_PUTS(sf_redacted);
					p += strlen(form_keys[i]);
					p += strcspn(p, "& \t\r\n");
					done = 1;
					break;
				}
			if (done)
				continue;
		}
		if (*p == '"') {
			for (size_t i = 0; json_keys[i]; i++)
				if (strncmp(p, json_keys[i], strlen(json_keys[i])) == 0) {
					const char *q = p + strlen(json_keys[i]);
					while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
						q++;
					if (*q != ':')
						break;
					q++;
					while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
						q++;
					SF_PUTS(json_keys[i]);
					SF_PUTS(":\"");
					SF_PUTS(sf_redacted);
					SF_PUT('"');
					if (*q == '"') {
						q++;
						while (*q && *q != '"') {
							if (*q == '\\' && q[1])
								q++;
							q++;
						}
						if (*q == '"')
							q++;
					} else {
						q += strcspn(q, ",}] \r\n");
					}
					p = q;
					done = 1;
					break;
				}
			if (done)
				continue;
		}
		SF_PUT(*p);
		p++;
	}
	out[o] = '\0';
#undef SF_PUT
#undef SF_PUTS
}

/* ---- errors ----------------------------------------------------------------- */

static int sf_kind_status(int kind)
{
	switch (kind) {
	case SF_OK:
		return 0;
	case SF_E_CONFIG:
		return CRMSYNC_EINVAL;
	case SF_E_NOMEM:
		return CRMSYNC_ENOMEM;
	case SF_E_BUDGET:
	case SF_E_LIMIT:
		return CRMSYNC_EBUSY;
	case SF_E_NETWORK:
	case SF_E_OUTCOME_UNKNOWN:
		return CRMSYNC_EIO;
	default:
		return CRMSYNC_ERR;
	}
}

const char *sf_error_kind_name(int kind)
{
	static const char *const names[] = {"ok",
					    "config",
					    "auth refused",
					    "budget exhausted",
					    "request limit exceeded",
					    "query locator invalid",
					    "replication date invalid",
					    "outcome unknown",
					    "http status",
					    "network",
					    "parse",
					    "out of memory"};
	if (kind < 0 || kind >= (int)(sizeof names / sizeof names[0]))
		return "unknown";
	return names[kind];
}

int sf_fail(sf_client *c, int kind, cs_error *err, const char *fmt, ...)
{
	va_list ap;
	char msg[CS_ERROR_MAX];
	int code = sf_kind_status(kind);

	c->kind = kind;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return cs_err(err, code, "%s", msg);
}

void sf_ok(sf_client *c)
{
	c->kind = SF_OK;
	c->status = 0;
	c->code[0] = '\0';
}

int sf_error_kind(const sf_client *c)
{
	return c->kind;
}

long sf_error_status(const sf_client *c)
{
	return c->status;
}

const char *sf_error_code(const sf_client *c)
{
	return c->code;
}

void sf_limits(const sf_client *c, int64_t *used, int64_t *max, int64_t *budget)
{
	if (used)
		*used = c->api_used;
	if (max)
		*max = c->api_max;
	if (budget)
		*budget = c->api_max > 0 ? c->api_max * c->budget_percent / 100 : -1;
}

int64_t sf_request_count(const sf_client *c)
{
	return c->requests;
}

const char *sf_instance_url(const sf_client *c)
{
	return c->instance_url ? c->instance_url : "";
}

int sf_data_path(sf_client *c, sf_buf *b, const char *fmt, ...)
{
	char tmp[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	return sf_buf_addf(b, "/services/data/v%s%s", c->api_version, tmp);
}

int sf_query_url(sf_client *c, sf_buf *b, const char *soql)
{
	if (sf_data_path(c, b, "/query?q=") || sf_url_encode(b, soql))
		return CRMSYNC_ENOMEM;
	return 0;
}

/* ---- client ------------------------------------------------------------------------- */

static size_t sf_on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
	sf_client *c = ud;
	size_t n = size * nmemb;
	if (c->body_len + n + 1 > c->body_cap) {
		size_t cap = c->body_cap ? c->body_cap : 65536;
		while (cap < c->body_len + n + 1)
			cap *= 2;
		char *p = realloc(c->body, cap);
		if (!p)
			return 0;
		c->body = p;
		c->body_cap = cap;
	}
	memcpy(c->body + c->body_len, ptr, n);
	c->body_len += n;
	c->body[c->body_len] = '\0';
	return n;
}

static void sf_header_value(const char *line, size_t n, size_t klen, char *out, size_t cap)
{
	const char *v = line + klen;
	size_t vn = n - klen;
	while (vn && (*v == ' ' || *v == '\t')) {
		v++;
		vn--;
	}
	while (vn && (v[vn - 1] == '\r' || v[vn - 1] == '\n' || v[vn - 1] == ' '))
		vn--;
	if (vn >= cap)
		vn = cap - 1;
	memcpy(out, v, vn);
	out[vn] = '\0';
}

long sf_parse_retry_after(const char *v, int64_t now_s)
{
	int64_t s = 0;

	while (*v == ' ' || *v == '\t')
		v++;
	if (*v >= '0' && *v <= '9') {
		char *end;
		errno = 0;
		long long n = strtoll(v, &end, 10);
		end += strspn(end, " \t");
		if (*end)
			return 0;
		s = errno == ERANGE ? 86400 : n;
	} else if (*v) {
		time_t t = curl_getdate(v, NULL); /* the HTTP-date form */
		if (t <= 0)
			return 0;
		s = (int64_t)t - now_s;
	}
	if (s <= 0)
		return 0;
	return s > 86400 ? 86400 : (long)s;
}

static size_t sf_on_header(char *line, size_t size, size_t nmemb, void *ud)
{
	sf_client *c = ud;
	size_t n = size * nmemb;
	char v[256];

	if (n > 17 && strncasecmp(line, "sforce-limit-info:", 18) == 0) {
		int64_t u, m;
		sf_header_value(line, n, 18, v, sizeof v);
		if (sf_parse_limit_info(v, &u, &m) == 0) {
			c->api_used = u;
			c->api_max = m;
		}
	} else if (n > 13 && strncasecmp(line, "content-type:", 13) == 0) {
		sf_header_value(line, n, 13, c->content_type, sizeof c->content_type);
	} else if (n > 14 && strncasecmp(line, "last-modified:", 14) == 0) {
		sf_header_value(line, n, 14, c->last_modified, sizeof c->last_modified);
	} else if (n > 5 && strncasecmp(line, "date:", 5) == 0) {
		sf_header_value(line, n, 5, c->date, sizeof c->date);
	} else if (n > 12 && strncasecmp(line, "retry-after:", 12) == 0) {
		sf_header_value(line, n, 12, v, sizeof v);
		c->retry_after_s = sf_parse_retry_after(v, (int64_t)time(NULL));
	}
	return n;
}

sf_client *sf_client_new(const sf_config *cfg, cs_error *err)
{
	sf_client *c = calloc(1, sizeof *c);
	if (!c) {
		cs_err(err, CRMSYNC_ENOMEM, "out of memory creating the Salesforce client");
		return NULL;
	}
	if (sf_url_check(cfg->login_url, "salesforce.login_url", err))
		goto fail;
	if (!cfg->client_id || !*cfg->client_id) {
		cs_err(err, CRMSYNC_EINVAL, "salesforce.client_id is not set");
		goto fail;
	}
	if (cfg->grant == SF_GRANT_PASSWORD && (!cfg->username || !cfg->password)) {
		cs_err(err, CRMSYNC_EINVAL,
		       "the password grant needs salesforce.username and salesforce.password");
		goto fail;
	}
	if (cfg->grant == SF_GRANT_REFRESH_TOKEN && (!cfg->refresh_token || !*cfg->refresh_token)) {
		cs_err(err, CRMSYNC_EINVAL,
		       "the refresh_token grant needs salesforce.refresh_token");
		goto fail;
	}
	if (cfg->grant == SF_GRANT_CLIENT_CREDENTIALS && (!cfg->client_secret)) {
		cs_err(err, CRMSYNC_EINVAL,
		       "the client_credentials grant needs salesforce.client_secret");
		goto fail;
	}
	if (cfg->grant == SF_GRANT_JWT && (!cfg->username || !*cfg->username)) {
		cs_err(err, CRMSYNC_EINVAL,
		       "the jwt grant needs salesforce.username (the user the token is for)");
		goto fail;
	}
	if (cfg->grant == SF_GRANT_JWT && (!cfg->jwt_key_file || !*cfg->jwt_key_file)) {
		cs_err(err, CRMSYNC_EINVAL,
		       "the jwt grant needs salesforce.jwt_key_file (the connected app's RSA "
		       "private key, PEM)");
		goto fail;
	}
	if (cfg->grant < SF_GRANT_PASSWORD || cfg->grant > SF_GRANT_JWT) {
		cs_err(err, CRMSYNC_EINVAL, "unknown Salesforce grant %d", cfg->grant);
		goto fail;
	}
	const char *ver = cfg->api_version && *cfg->api_version ? cfg->api_version : "59.0";
	if (strlen(ver) >= sizeof c->api_version || strspn(ver, "0123456789.") != strlen(ver)) {
		cs_err(err, CRMSYNC_EINVAL, "salesforce.api_version '%s' is not like 59.0", ver);
		goto fail;
	}
	snprintf(c->api_version, sizeof c->api_version, "%s", ver);
	c->login_url = strdup(cfg->login_url);
	/* no trailing slash, so paths join cleanly */
	while (c->login_url && *c->login_url && c->login_url[strlen(c->login_url) - 1] == '/')
		c->login_url[strlen(c->login_url) - 1] = '\0';
	c->client_id = sf_strdup0(cfg->client_id);
	c->client_secret = sf_strdup0(cfg->client_secret);
	c->username = sf_strdup0(cfg->username);
	c->password = sf_strdup0(cfg->password);
	c->refresh_token = sf_strdup0(cfg->refresh_token);
	c->ca_file = cfg->ca_file && *cfg->ca_file ? strdup(cfg->ca_file) : NULL;
	c->grant = cfg->grant;
	c->jwt_key_file = cfg->grant == SF_GRANT_JWT ? strdup(cfg->jwt_key_file) : NULL;
	c->connect_timeout_ms = cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 10000;
	c->transfer_timeout_ms = cfg->transfer_timeout_ms > 0 ? cfg->transfer_timeout_ms : 60000;
	c->retry_base_ms = cfg->retry_base_ms > 0 ? cfg->retry_base_ms : 500;
	c->retry_max_ms = cfg->retry_max_ms > 0 ? cfg->retry_max_ms : 30000;
	c->max_retries = cfg->max_retries >= 0 ? cfg->max_retries : 4;
	c->budget_percent = cfg->budget_percent > 0 ? cfg->budget_percent : 50;
	c->duplicates_save = cfg->duplicates_save;
	if (c->budget_percent > 100)
		c->budget_percent = 100;
	c->api_used = c->api_max = -1;
	c->rng = (unsigned)time(NULL) ^ (unsigned)getpid();
	c->curl = curl_easy_init();
	if (!c->login_url || !c->client_id || !c->curl ||
	    (cfg->client_secret && !c->client_secret) || (cfg->username && !c->username) ||
	    (cfg->password && !c->password) || (cfg->refresh_token && !c->refresh_token) ||
	    (cfg->grant == SF_GRANT_JWT && !c->jwt_key_file)) {
		cs_err(err, CRMSYNC_ENOMEM, "out of memory creating the Salesforce client");
		goto fail;
	}
	/* a bad key is a configuration error: found now, not at the first login */
	if (c->grant == SF_GRANT_JWT && sf_jwt_load_key(c, err))
		goto fail;
	return c;
fail:
	sf_client_free(c);
	return NULL;
}

static void sf_free_secret(char *s)
{
	if (s) {
		volatile char *v = s;
		while (*v)
			*v++ = 0;
		free(s);
	}
}

void sf_client_free(sf_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c->login_url);
	free(c->client_id);
	sf_free_secret(c->client_secret);
	free(c->username);
	sf_free_secret(c->password);
	sf_free_secret(c->refresh_token);
	sf_free_secret(c->access_token);
	sf_free_secret(c->auth_header);
	free(c->instance_url);
	free(c->ca_file);
	free(c->jwt_key_file);
	sf_jwt_free_key(c);
	free(c->body);
	sf_describe_cache_free(c);
	sf_page_free(c);
	free(c);
}

int sf_login(sf_client *c, cs_error *err)
{
	return sf_auth_login(c, err);
}

/* ---- one request ------------------------------------------------------------------- */

static double sf_rand01(sf_client *c)
{
	c->rng = c->rng * 1103515245u + 12345u;
	return (double)((c->rng >> 8) & 0xffffff) / (double)0x1000000;
}

static void sf_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* The request was surely never received: safe to resend even a create. */
static int sf_not_sent(CURLcode rc)
{
	return rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
	       rc == CURLE_COULDNT_RESOLVE_PROXY;
}

static int sf_transient_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

static int sf_transient_status(long status)
{
	return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

/* Secrets known to this client, for redaction of anything logged. */
static void sf_secrets(const sf_client *c, const char *list[6])
{
	int i = 0;
	if (c->password)
		list[i++] = c->password;
	if (c->client_secret)
		list[i++] = c->client_secret;
	if (c->refresh_token)
		list[i++] = c->refresh_token;
	if (c->access_token)
		list[i++] = c->access_token;
	list[i] = NULL;
}

static void sf_trace(sf_client *c, const struct sf_req *r, const char *url, long status,
		     CURLcode rc, long ms)
{
	char path[1024], red[1200];
	const char *sec[6];

	if (!cs_log_enabled(CRMSYNC_LOG_DEBUG))
		return;
	/* the query string can be long: log the path and the first part of it */
	snprintf(path, sizeof path, "%s", url);
	sf_secrets(c, sec);
	sf_redact(path, red, sizeof red, sec);
	if (rc != CURLE_OK)
		cs_debug("sf", "%s %s -> %s (%ld ms, sent %zu bytes)", r->method, red,
			 curl_easy_strerror(rc), ms, r->body ? strlen(r->body) : 0);
	else
		cs_debug("sf", "%s %s -> %ld (%ld ms, sent %zu bytes, received %zu bytes)",
			 r->method, red, status, ms, r->body ? strlen(r->body) : 0, c->body_len);
}

static int sf_perform(sf_client *c, const struct sf_req *r, const char *url, long *status,
		      CURLcode *rcp, cs_error *err)
{
	CURL *h = c->curl;
	struct curl_slist *hdrs = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	CURLcode rc;
	int64_t t0 = cs_now_ms();

	curl_easy_reset(h);
	c->body_len = 0;
	if (c->body)
		c->body[0] = '\0';
	c->content_type[0] = '\0';
	c->last_modified[0] = '\0';
	c->date[0] = '\0';
	c->retry_after_s = 0;

	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
	curl_easy_setopt(h, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(
	    h, CURLOPT_LOW_SPEED_TIME,
	    (c->transfer_timeout_ms + 999) / 1000 > 0 ? (c->transfer_timeout_ms + 999) / 1000 : 1L);
	curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
	/* libcurl silently resends a request whose reused connection died before
	 * any answer byte: harmless for a read, a duplicate for a create that the
	 * server did process. A create therefore gets a connection of its own. */
	if (r->safety == SF_UNSAFE)
		curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "crmsync/" PACKAGE_VERSION);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sf_on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, sf_on_header);
	curl_easy_setopt(h, CURLOPT_HEADERDATA, c);

	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	if (!r->no_auth && c->auth_header)
		hdrs = curl_slist_append(hdrs, c->auth_header);
	if (r->body) {
		char ct[160];
		snprintf(ct, sizeof ct, "Content-Type: %s",
			 r->content_type ? r->content_type : "application/json");
		hdrs = curl_slist_append(hdrs, ct);
	}
	for (size_t i = 0; i < sizeof r->headers / sizeof *r->headers; i++)
		if (r->headers[i])
			hdrs = curl_slist_append(hdrs, r->headers[i]);
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);

	if (strcmp(r->method, "GET") == 0) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r->method);
		if (r->body) {
			curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->body);
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(r->body));
		}
	}

	if (!r->no_auth) /* a token request is not an API call (Salesforce does not count it) */
		c->requests++;
	rc = curl_easy_perform(h);
	curl_slist_free_all(hdrs);
	*rcp = rc;
	*status = 0;
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	long nconn = 0;
	if (curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &nconn) == CURLE_OK && nconn > 0)
		c->connects += nconn;
	sf_trace(c, r, url, *status, rc, (long)(cs_now_ms() - t0));
	if (rc != CURLE_OK) {
		char path[512];
		const char *hint = "";
		sf_url_path(url, path, sizeof path);
		if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
		    rc == CURLE_SSL_CONNECT_ERROR)
			hint = " (the server's TLS certificate was not accepted: check "
			       "salesforce.ca_file and the host name in the URL)";
		return cs_err(err, CRMSYNC_EIO, "%s %s failed: %s%s%s%s", r->method, path,
			      curl_easy_strerror(rc), errbuf[0] ? ": " : "", errbuf, hint);
	}
	return 0;
}

int sf_http(sf_client *c, const struct sf_req *r, long *status, cs_error *err)
{
	sf_buf url = {0};
	int reauthed = 0, attempt = 0, rc;
	CURLcode crc = CURLE_OK;
	char path[512];

	sf_url_path(r->url, path, sizeof path);
	if (!r->no_auth && !c->access_token) {
		if ((rc = sf_auth_login(c, err)))
			return rc;
	}
	for (;;) {
		if (!r->no_budget && !r->no_auth && c->api_max > 0) {
			int64_t budget = c->api_max * c->budget_percent / 100;
			if (c->api_used + 1 > budget) {
				rc = sf_fail(
				    c, SF_E_BUDGET, err,
				    "the API budget is used up: %lld of %lld daily calls "
				    "used, the budget is %d%% (%lld calls); %s %s was not sent",
				    (long long)c->api_used, (long long)c->api_max,
				    c->budget_percent, (long long)budget, r->method, path);
				goto out;
			}
		}
		url.len = 0;
		if (r->url[0] == '/')
			sf_buf_addf(&url, "%s%s", r->no_auth ? c->login_url : c->instance_url,
				    r->url);
		else
			sf_buf_add(&url, r->url, strlen(r->url));
		if (url.oom) {
			rc = sf_fail(c, SF_E_NOMEM, err, "out of memory");
			goto out;
		}
		rc = sf_perform(c, r, url.s, status, &crc, err);
		c->status = rc ? 0 : *status;
		int transient = 0, sent = 1;
		if (rc) {
			transient = sf_transient_curl(crc);
			sent = !sf_not_sent(crc);
		} else if (sf_transient_status(*status)) {
			transient = 1;
			sent = *status != 429; /* 429: refused before any work */
		}
		if (transient) {
			int may_retry = r->safety != SF_UNSAFE || !sent;
			if (may_retry && attempt < c->max_retries) {
				long ms = sf_backoff_ms(c->retry_base_ms, c->retry_max_ms, attempt,
							sf_rand01(c));
				if (c->retry_after_s > 0 && c->retry_after_s * 1000 > ms)
					ms = c->retry_after_s * 1000 > c->retry_max_ms
						 ? c->retry_max_ms
						 : c->retry_after_s * 1000;
				cs_debug("sf", "%s %s: %s, retry %d of %d in %ld ms", r->method,
					 path,
					 rc ? curl_easy_strerror(crc) : "transient HTTP status",
					 attempt + 1, c->max_retries, ms);
				attempt++;
				sf_sleep_ms(ms);
				continue;
			}
			if (!may_retry) {
				char detail[CS_ERROR_MAX / 2];
				if (rc)
					snprintf(detail, sizeof detail, "%s", cs_err_msg(err));
				else
					snprintf(detail, sizeof detail, "HTTP %ld", *status);
				c->status = rc ? 0 : *status;
				rc = sf_fail(
				    c, SF_E_OUTCOME_UNKNOWN, err,
				    "%s %s: the outcome is unknown (%s); the records may or "
				    "may not have been created, check before sending again",
				    r->method, path, detail);
				goto out;
			}
		}
		if (rc) {
			c->status = 0;
			rc = sf_fail(c, SF_E_NETWORK, err, "%s%s", cs_err_msg(err),
				     attempt ? " (after retries)" : "");
			goto out;
		}
		if (*status == 401 && !r->no_auth) {
			if (!reauthed) {
				cs_debug("sf", "%s %s: 401, logging in again", r->method, path);
				reauthed = 1;
				if ((rc = sf_auth_login(c, err)))
					goto out;
				continue;
			}
			c->status = 401;
			const char *who = c->username ? c->username : c->client_id;
			rc = sf_fail(
			    c, SF_E_AUTH, err,
			    "Salesforce refused the credentials of user %s (grant %s): the "
			    "session was rejected again right after logging in (%s %s, HTTP "
			    "401)",
			    who, sf_grant_name(c->grant), r->method, path);
			goto out;
		}
		rc = 0;
		goto out;
	}
out:
	sf_buf_free(&url);
	return rc;
}

int sf_body_is_json(const sf_client *c)
{
	const char *ct = c->content_type;
	if (!*ct) {
		/* no type: trust a body that looks like JSON */
		const char *b = c->body ? c->body : "";
		while (*b == ' ' || *b == '\n' || *b == '\r' || *b == '\t')
			b++;
		return *b == '{' || *b == '[';
	}
	return strncasecmp(ct, "application/json", 16) == 0 && (ct[16] == '\0' || ct[16] == ';');
}

int sf_parse_body(sf_client *c, const struct sf_req *r, json_t **out, cs_error *err)
{
	json_error_t je;
	char path[512];

	sf_url_path(r->url, path, sizeof path);
	if (!sf_body_is_json(c))
		return sf_fail(c, SF_E_PARSE, err,
			       "%s %s: Salesforce answered with %s instead of JSON (HTTP %ld)",
			       r->method, path, c->content_type[0] ? c->content_type : "no type",
			       c->status);
	*out = json_loadb(c->body ? c->body : "", c->body_len, JSON_DECODE_ANY, &je);
	if (!*out)
		return sf_fail(c, SF_E_PARSE, err,
			       "%s %s: the JSON response is malformed or truncated at byte %d of "
			       "%zu (line %d, column %d): %s",
			       r->method, path, je.position, c->body_len, je.line, je.column,
			       je.text);
	return 0;
}

int sf_fail_status(sf_client *c, const struct sf_req *r, long status, cs_error *err)
{
	char path[512], msg[1024] = "";
	int kind = SF_E_HTTP;

	sf_url_path(r->url, path, sizeof path);
	c->status = status;
	c->code[0] = '\0';
	if (sf_body_is_json(c) && c->body_len) {
		json_t *j = json_loadb(c->body, c->body_len, JSON_DECODE_ANY, NULL);
		json_t *e0 = json_is_array(j) ? json_array_get(j, 0) : j;
		const char *code = json_string_value(json_object_get(e0, "errorCode"));
		const char *m = json_string_value(json_object_get(e0, "message"));
		if (!code)
			code = json_string_value(json_object_get(e0, "error"));
		if (!m)
			m = json_string_value(json_object_get(e0, "error_description"));
		if (code)
			snprintf(c->code, sizeof c->code, "%s", code);
		if (m)
			snprintf(msg, sizeof msg, "%s", m);
		json_decref(j);
	}
	if (strcmp(c->code, "INVALID_QUERY_LOCATOR") == 0)
		kind = SF_E_LOCATOR;
	else if (strcmp(c->code, "INVALID_REPLICATION_DATE") == 0)
		kind = SF_E_REPLICATION_DATE;
	else if (strcmp(c->code, "REQUEST_LIMIT_EXCEEDED") == 0)
		kind = SF_E_LIMIT;
	if (c->code[0])
		return sf_fail(c, kind, err, "%s %s: Salesforce said %s: %s (HTTP %ld)", r->method,
			       path, c->code, msg, status);
	if (!sf_body_is_json(c))
		return sf_fail(c, kind, err,
			       "%s %s: HTTP %ld with a non-JSON body (%s, %zu bytes): the service "
			       "may be down for maintenance",
			       r->method, path, status,
			       c->content_type[0] ? c->content_type : "no content type",
			       c->body_len);
	return sf_fail(c, kind, err, "%s %s: HTTP %ld", r->method, path, status);
}
