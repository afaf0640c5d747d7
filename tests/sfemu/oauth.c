/*
 * oauth.c - the login host: POST /services/oauth2/token (password,
 * refresh_token, client_credentials, JWT bearer), /services/oauth2/revoke, the identity
 * URL /id/{org}/{user}, and the Bearer check every data call goes through.
 */
#include <ctype.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sfemu.h"

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *url_decode(const char *s, size_t n)
{
	char *o = malloc(n + 1), *p = o;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '+') {
			*p++ = ' ';
		} else if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
			   hexval(s[i + 2]) >= 0) {
			*p++ = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
			i += 2;
		} else {
			*p++ = s[i];
		}
	}
	*p = 0;
	return o;
}

/* application/x-www-form-urlencoded -> {name: value} */
json_t *parse_form(const char *body, size_t len)
{
	json_t *o = json_object();
	size_t i = 0;
	while (i < len) {
		size_t j = i;
		while (j < len && body[j] != '&')
			j++;
		const char *eq = memchr(body + i, '=', j - i);
		if (eq) {
			char *k = url_decode(body + i, (size_t)(eq - body - i));
			char *v = url_decode(eq + 1, (size_t)(body + j - eq - 1));
			json_object_set_new(o, k, json_string(v));
			free(k);
			free(v);
		}
		i = j + 1;
	}
	return o;
}

static void oauth_error(resp *rs, int status, const char *err, const char *desc)
{
	resp_json(rs, status, json_pack("{s:s,s:s}", "error", err, "error_description", desc));
}

static char *b64(const unsigned char *p, int n)
{
	char *o = malloc((size_t)(4 * ((n + 2) / 3) + 1));
	EVP_EncodeBlock((unsigned char *)o, p, n);
	return o;
}

static void random_chars(char *out, int n)
{
	static const char a[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	unsigned char r[128];
	FILE *f = fopen("/dev/urandom", "rb");
	if (!f || fread(r, 1, (size_t)n, f) != (size_t)n)
		for (int i = 0; i < n; i++)
			r[i] = (unsigned char)(rand() & 255);
	if (f)
		fclose(f);
	for (int i = 0; i < n; i++)
		out[i] = a[r[i] % 62];
	out[n] = 0;
}

/* grant: the grant the access token comes from ("refresh_token" ones are revoked
 * with the refresh token when a rotated-out refresh token is used again). */
static void issue(emu *e, resp *rs, bool with_refresh, const char *refresh, const char *grant)
{
	char tok[128], rnd[80];
	random_chars(rnd, 60);
	snprintf(tok, sizeof tok, "%.15s!AQ%s", e->org_id, rnd);
	int64_t now = wall_ms();
	/* forget tokens that expired a day ago */
	const char *k;
	json_t *v, *tmp;
	json_object_foreach_safe(e->tokens, tmp, k, v)
	{
		if (json_is_object(v) &&
		    json_integer_value(json_object_get(v, "exp")) < now - 86400000)
			json_object_del(e->tokens, k);
	}
	json_object_set_new(e->tokens, tok,
			    json_pack("{s:I,s:s,s:b,s:s,s:s}", "exp",
				      (json_int_t)(now + e->cfg.token_ttl_ms), "user", e->user_id,
				      "revoked", 0, "client", e->client_id, "grant", grant));
	char id[512], issued[32];
	snprintf(id, sizeof id, "%s/id/%s/%s", e->login_url, e->org_id, e->user_id);
	snprintf(issued, sizeof issued, "%lld", (long long)now);
	buf msg = {0};
	buf_puts(&msg, id);
	buf_puts(&msg, issued);
	unsigned char mac[32];
	unsigned maclen = sizeof mac;
	HMAC(EVP_sha256(), e->client_secret, (int)strlen(e->client_secret), (unsigned char *)msg.p,
	     msg.len, mac, &maclen);
	buf_free(&msg);
	char *sig = b64(mac, (int)maclen);
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "access_token", tok, "instance_url",
			      e->instance_url, "id", id, "token_type", "Bearer", "issued_at",
			      issued, "signature", sig, "scope", "api refresh_token");
	if (with_refresh && refresh)
		json_object_set_new(o, "refresh_token", json_string(refresh));
	if (e->cfg.signature_mode)
		json_object_del(o, "signature");
	free(sig);
	resp_json(rs, 200, o);
}

static bool user_active(emu *e)
{
	sqlite3_stmt *st;
	bool active = true;
	if (sqlite3_prepare_v2(e->db, "SELECT IsActive FROM \"User\" WHERE Id=?", -1, &st, NULL))
		return true;
	sqlite3_bind_text(st, 1, e->user_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		active = sqlite3_column_int(st, 0) != 0;
	sqlite3_finalize(st);
	return active;
}

/* ---- refresh token rotation (config refreshRotation) ----
 * As help.salesforce.com describes it for a connected app with "Enable Refresh
 * Token Rotation": every refresh_token grant hands out a new refresh token and
 * invalidates the one used. Presenting a rotated-out token again is taken as a
 * replay: it fails with invalid_grant, and the current refresh token and the
 * access tokens issued from refresh tokens are revoked, so the client has to be
 * authorized again. Rotated-out tokens are remembered in e->tokens under
 * "rt-old:TOKEN" (forgotten by /__emu/reset, like every token). */

static bool refresh_rotated_out(emu *e, const char *t)
{
	char key[300];
	snprintf(key, sizeof key, "rt-old:%s", t);
	return json_object_get(e->tokens, key) != NULL;
}

/* A rotated-out token came back: revoke the current refresh token and its
 * access tokens. */
static void refresh_reuse(emu *e)
{
	const char *k;
	json_t *v;
	if (e->refresh_token) {
		char key[300];
		snprintf(key, sizeof key, "rt:%s", e->refresh_token);
		json_object_set_new(e->tokens, key, json_true());
	}
	json_object_foreach(e->tokens, k, v)
	{
		const char *g = json_string_value(json_object_get(v, "grant"));
		if (json_is_object(v) && g && !strcmp(g, "refresh_token"))
			json_object_set_new(v, "revoked", json_true());
	}
}

/* Replace e->refresh_token by a new one and remember the old as rotated out;
 * returns the new one. */
static const char *refresh_rotate(emu *e)
{
	char rnd[80], key[300], *nrt = malloc(96);
	if (!nrt)
		return e->refresh_token;
	random_chars(rnd, 70);
	snprintf(nrt, 96, "5Aep861%s", rnd);
	snprintf(key, sizeof key, "rt-old:%s", e->refresh_token);
	json_object_set_new(e->tokens, key, json_true());
	free(e->refresh_token);
	e->refresh_token = nrt;
	return nrt;
}

/* ---- the JWT bearer grant (urn:ietf:params:oauth:grant-type:jwt-bearer) ----
 * The connected app's certificate comes from --jwt-cert (main.c). The assertion
 * is checked as Salesforce does: RS256 signature by that certificate's key, iss
 * = the client id, aud = the login host (this emulator's login URL, or
 * https://login.salesforce.com / https://test.salesforce.com), sub = the API
 * user, exp not passed and at most a few minutes ahead. exp is read against the
 * emulator clock (/__emu/clock), so moving the clock plays a skewed client. No
 * refresh token, as Salesforce. */

static EVP_PKEY *jwt_pub;

int oauth_jwt_load(const char *file);
void oauth_jwt_free(void);

/* 0 and the certificate's (or public key's) key, or -1 with a message on stderr. */
int oauth_jwt_load(const char *file)
{
	FILE *f = fopen(file, "r");
	if (!f) {
		fprintf(stderr, "sfemu: --jwt-cert %s: %s\n", file, strerror(errno));
		return -1;
	}
	X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
	if (x) {
		jwt_pub = X509_get_pubkey(x);
		X509_free(x);
	} else {
		rewind(f);
		jwt_pub = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	}
	fclose(f);
	ERR_clear_error();
	if (!jwt_pub || EVP_PKEY_base_id(jwt_pub) != EVP_PKEY_RSA) {
		fprintf(stderr, "sfemu: --jwt-cert %s: no RSA certificate or public key (PEM)\n",
			file);
		oauth_jwt_free();
		return -1;
	}
	return 0;
}

void oauth_jwt_free(void)
{
	EVP_PKEY_free(jwt_pub);
	jwt_pub = NULL;
}

/* base64url without padding -> bytes (malloc'ed, *n), NULL if malformed */
static unsigned char *jwt_b64url(const char *s, size_t len, size_t *n)
{
	if (len % 4 == 1)
		return NULL;
	char *t = malloc(len + 4);
	size_t k = 0;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (!isalnum((unsigned char)c)) {
			free(t);
			return NULL;
		}
		t[k++] = c;
	}
	size_t pad = (4 - len % 4) % 4;
	for (size_t i = 0; i < pad; i++)
		t[k++] = '=';
	unsigned char *o = malloc(k / 4 * 3 + 1);
	int m = EVP_DecodeBlock(o, (unsigned char *)t, (int)k);
	free(t);
	if (m < 0) {
		free(o);
		return NULL;
	}
	*n = (size_t)m - pad;
	o[*n] = 0;
	return o;
}

static bool jwt_aud_ok(emu *e, const char *aud)
{
	size_t l = strlen(e->login_url);
	while (l && e->login_url[l - 1] == '/')
		l--;
	if (aud && ((!strncmp(aud, e->login_url, l) && (!aud[l] || !strcmp(aud + l, "/"))) ||
		    !strcmp(aud, "https://login.salesforce.com") ||
		    !strcmp(aud, "https://test.salesforce.com")))
		return true;
	return false;
}

static void jwt_grant(emu *e, json_t *form, resp *rs)
{
	const char *a = json_string_value(json_object_get(form, "assertion"));
	const char *d1 = a ? strchr(a, '.') : NULL, *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	unsigned char *hdr = NULL, *cl = NULL, *sig = NULL;
	size_t hn, cn, sn;
	json_t *h = NULL, *c = NULL;
	EVP_MD_CTX *md = NULL;

	if (!a || !d2 || strchr(d2 + 1, '.') || !(hdr = jwt_b64url(a, (size_t)(d1 - a), &hn)) ||
	    !(cl = jwt_b64url(d1 + 1, (size_t)(d2 - d1 - 1), &cn)) ||
	    !(sig = jwt_b64url(d2 + 1, strlen(d2 + 1), &sn)) ||
	    !(h = json_loadb((char *)hdr, hn, 0, NULL)) ||
	    !(c = json_loadb((char *)cl, cn, 0, NULL)) || !json_is_object(c) ||
	    strcmp(json_string_value(json_object_get(h, "alg")) ?: "", "RS256")) {
		oauth_error(rs, 400, "invalid_grant", "invalid assertion");
		goto out;
	}
	const char *iss = json_string_value(json_object_get(c, "iss"));
	const char *sub = json_string_value(json_object_get(c, "sub"));
	const char *aud = json_string_value(json_object_get(c, "aud"));
	json_t *exp = json_object_get(c, "exp");
	int64_t now = emu_now(e) / 1000;
	if (!iss || strcmp(iss, e->client_id)) {
		oauth_error(rs, 400, "invalid_client_id", "client identifier invalid");
		goto out;
	}
	md = EVP_MD_CTX_new();
	if (!jwt_pub || !md || EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, jwt_pub) != 1 ||
	    EVP_DigestVerify(md, sig, sn, (const unsigned char *)a, (size_t)(d2 - a)) != 1) {
		ERR_clear_error();
		oauth_error(rs, 400, "invalid_grant", "invalid assertion");
		goto out;
	}
	json_t *ja = json_object_get(c, "aud");
	bool aud_ok = jwt_aud_ok(e, aud);
	size_t i;
	json_t *v;
	if (json_is_array(ja))
		json_array_foreach(ja, i, v) aud_ok |= jwt_aud_ok(e, json_string_value(v));
	if (!aud_ok) {
		oauth_error(rs, 400, "invalid_grant", "audience is invalid");
		goto out;
	}
	if (!json_is_integer(exp) || json_integer_value(exp) <= now) {
		oauth_error(rs, 400, "invalid_grant", "expired authorization code");
		goto out;
	}
	if (json_integer_value(exp) > now + 300) {
		oauth_error(rs, 400, "invalid_grant", "invalid assertion");
		goto out;
	}
	if (!sub || strcasecmp(sub, e->username))
		oauth_error(rs, 400, "invalid_grant", "user hasn't approved this consumer");
	else if (!user_active(e))
		oauth_error(rs, 400, "inactive_user", "user is inactive");
	else
		issue(e, rs, false, NULL, "jwt");
out:
	EVP_MD_CTX_free(md);
	json_decref(h);
	json_decref(c);
	free(hdr);
	free(cl);
	free(sig);
}

/* 1 when the request is the JWT bearer grant (answered), 0 otherwise. */
static int oauth_jwt_handle(emu *e, const char *grant, json_t *form, resp *rs)
{
	if (!grant || strcmp(grant, "urn:ietf:params:oauth:grant-type:jwt-bearer"))
		return 0;
	jwt_grant(e, form, rs);
	return 1;
}

void oauth_handle(emu *e, req *r, resp *rs)
{
	if (!strcmp(r->path, "/services/oauth2/userinfo")) {
		identity_handle(e, r, rs);
		return;
	}
	if (strcmp(r->method, "POST")) {
		oauth_error(rs, 405, "invalid_request", "must use HTTP POST");
		return;
	}
	json_t *form = parse_form(r->body, r->body_len);
	if (!strcmp(r->path, "/services/oauth2/revoke")) {
		const char *t = json_string_value(json_object_get(form, "token"));
		json_t *tk = t ? json_object_get(e->tokens, t) : NULL;
		if (tk) {
			json_object_set_new(tk, "revoked", json_true());
		} else if (t && e->refresh_token && !strcmp(t, e->refresh_token)) {
			char key[300];
			snprintf(key, sizeof key, "rt:%s", t);
			json_object_set_new(e->tokens, key, json_true());
		} else {
			oauth_error(rs, 400, "unsupported_token_type",
				    "this token type is not supported");
			json_decref(form);
			return;
		}
		rs->status = 200;
		json_decref(form);
		return;
	}
	char *bid = NULL, *bsec = NULL;
	const char *auth = req_header(r, "Authorization");
	if (auth && !strncasecmp(auth, "Basic ", 6)) {
		unsigned char dec[512];
		size_t n = strlen(auth + 6);
		if (n < 600) {
			int m = EVP_DecodeBlock(dec, (const unsigned char *)auth + 6, (int)n);
			if (m > 0) {
				while (m > 0 && dec[m - 1] == 0)
					m--;
				dec[m] = 0;
				char *colon = strchr((char *)dec, ':');
				if (colon) {
					bid =
					    url_decode((char *)dec, (size_t)(colon - (char *)dec));
					bsec = url_decode(colon + 1, strlen(colon + 1));
				}
			}
		}
	}
	const char *grant = json_string_value(json_object_get(form, "grant_type"));
	const char *cid = bid ? bid : json_string_value(json_object_get(form, "client_id"));
	const char *csec = bsec ? bsec : json_string_value(json_object_get(form, "client_secret"));
	api_count(e, "oauth2/token");
	if (oauth_jwt_handle(e, grant, form, rs)) {
		/* answered: the JWT bearer grant */
	} else if (!grant || (strcmp(grant, "password") && strcmp(grant, "refresh_token") &&
			      strcmp(grant, "client_credentials"))) {
		oauth_error(rs, 400, "unsupported_grant_type", "grant type not supported");
	} else if (!cid || strcmp(cid, e->client_id)) {
		oauth_error(rs, 400, "invalid_client_id", "client identifier invalid");
	} else if (!strcmp(grant, "password")) {
		const char *u = json_string_value(json_object_get(form, "username"));
		const char *p = json_string_value(json_object_get(form, "password"));
		if (!csec || strcmp(csec, e->client_secret))
			oauth_error(rs, 400, "invalid_client", "invalid client credentials");
		else if (!u || !p || strcasecmp(u, e->username) || strcmp(p, e->password))
			oauth_error(rs, 400, "invalid_grant", "authentication failure");
		else if (!user_active(e))
			oauth_error(rs, 400, "inactive_user", "user is inactive");
		else
			issue(e, rs, false, NULL, "password");
	} else if (!strcmp(grant, "refresh_token")) {
		const char *t = json_string_value(json_object_get(form, "refresh_token"));
		char key[300];
		snprintf(key, sizeof key, "rt:%s", t ? t : "");
		if (csec && strcmp(csec, e->client_secret))
			oauth_error(rs, 400, "invalid_client", "invalid client credentials");
		else if (t && refresh_rotated_out(e, t)) {
			refresh_reuse(e);
			oauth_error(rs, 400, "invalid_grant", "expired access/refresh token");
		} else if (!t || !e->refresh_token || strcmp(t, e->refresh_token) ||
			   json_object_get(e->tokens, key))
			oauth_error(rs, 400, "invalid_grant", "expired access/refresh token");
		else if (!user_active(e))
			oauth_error(rs, 400, "inactive_user", "user is inactive");
		else if (e->cfg.refresh_rotation)
			issue(e, rs, true, refresh_rotate(e), "refresh_token");
		else
			issue(e, rs, false, NULL, "refresh_token");
	} else {
		if (!csec || strcmp(csec, e->client_secret))
			oauth_error(rs, 400, "invalid_client", "invalid client credentials");
		else
			issue(e, rs, false, NULL, "client_credentials");
	}
	free(bid);
	free(bsec);
	json_decref(form);
}

/* 0 when the request carries a live token; otherwise fills rs with the 401. */
int token_check(emu *e, req *r, resp *rs)
{
	const char *auth = req_header(r, "Authorization");
	if (!auth || !*auth) {
		resp_err(rs, 401, "INVALID_SESSION_ID", "Session expired or invalid");
		return -1;
	}
	const char *t;
	if (!strncasecmp(auth, "Bearer ", 7))
		t = auth + 7;
	else if (!strncasecmp(auth, "OAuth ", 6))
		t = auth + 6;
	else {
		resp_err(rs, 401, "INVALID_AUTH_HEADER", "INVALID_HEADER_TYPE");
		return -1;
	}
	while (*t == ' ')
		t++;
	json_t *tk = json_object_get(e->tokens, t);
	if (!tk || json_is_true(json_object_get(tk, "revoked")) ||
	    json_integer_value(json_object_get(tk, "exp")) <= wall_ms()) {
		resp_err(rs, 401, "INVALID_SESSION_ID", "Session expired or invalid");
		return -1;
	}
	snprintf(r->token, sizeof r->token, "%s", t);
	snprintf(r->client, sizeof r->client, "%s",
		 json_string_value(json_object_get(tk, "client")) ?: "");
	return 0;
}

void tokens_expire_all(emu *e)
{
	const char *k;
	json_t *v;
	json_object_foreach(e->tokens, k, v)
	{
		if (json_is_object(v))
			json_object_set_new(v, "exp", json_integer(0));
	}
}

void identity_handle(emu *e, req *r, resp *rs)
{
	resp tmp = {0};
	if (token_check(e, r, &tmp)) {
		buf_free(&tmp.body);
		rs->status = 403;
		rs->ctype = "text/plain;charset=UTF-8";
		buf_puts(&rs->body, "Bad_OAuth_Token");
		return;
	}
	buf_free(&tmp.body);
	char id[512];
	snprintf(id, sizeof id, "%s/id/%s/%s", e->login_url, e->org_id, e->user_id);
	if (!strncmp(r->path, "/id/", 4)) {
		char want[128];
		snprintf(want, sizeof want, "/id/%s/%s", e->org_id, e->user_id);
		char a[19], b[19];
		char po[40] = "", pu[40] = "";
		sscanf(r->path, "/id/%39[^/]/%39[^/?]", po, pu);
		if (id_norm(po, a) || id_norm(pu, b) || strcmp(a, e->org_id) ||
		    strcmp(b, e->user_id)) {
			rs->status = 404;
			rs->ctype = "text/plain;charset=UTF-8";
			buf_puts(&rs->body, "Bad_Id");
			return;
		}
	}
	char base[300];
	snprintf(base, sizeof base, "%s/services/data/v{version}/", e->instance_url);
	json_t *urls = json_object();
	const char *names[] = {"enterprise", "metadata", "partner", "rest",  "sobjects", "search",
			       "query",	     "recent",	 "profile", "feeds", "groups",	 "users"};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		char u[400];
		if (!strcmp(names[i], "rest"))
			snprintf(u, sizeof u, "%s", base);
		else
			snprintf(u, sizeof u, "%s%s/", base, names[i]);
		json_object_set_new(urls, names[i], json_string(u));
	}
	resp_json(rs, 200,
		  json_pack("{s:s,s:b,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:s,s:s,s:s,s:i,s:o,s:s}", "id",
			    id, "asserted_user", 1, "user_id", e->user_id, "organization_id",
			    e->org_id, "username", e->username, "nick_name", "sync", "display_name",
			    "Sync Integration", "email", e->username, "active", 1, "user_type",
			    "STANDARD", "language", "en_US", "locale", "en_US", "utcOffset", 0,
			    "urls", urls, "last_modified_date", "2024-01-01T00:00:00.000+0000"));
}
