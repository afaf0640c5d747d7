/*
 * sf_auth.c - OAuth2 login at the token endpoint (password, refresh_token,
 * client_credentials and JWT bearer grants). The token response's instance_url
 * is where every data call goes, and it passes the same URL policy as the login
 * URL. Messages name the user, the grant and the key file, never a secret (nor
 * the content of the key file).
 */
#include "config.h"
#include "sf_internal.h"

#include "log.h"
#include "sf_token.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const sf_grant_names[] = {"password", "refresh_token", "client_credentials",
					     "jwt"};

const char *sf_grant_name(int grant)
{
	if (grant < 0 || grant >= (int)(sizeof sf_grant_names / sizeof *sf_grant_names))
		return "unknown";
	return sf_grant_names[grant];
}

/* ---- JWT bearer ------------------------------------------------------------------ */

#define SF_JWT_KEY_MAX (64 * 1024)
#define SF_JWT_LIFETIME_S 180 /* exp = now + 3 minutes, as Salesforce's examples */

/* Never prompt on the terminal for a passphrase: an encrypted key is refused. */
static int sf_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

void sf_jwt_free_key(sf_client *c)
{
	EVP_PKEY_free(c->jwt_key);
	c->jwt_key = NULL;
}

int sf_read_all(int fd, char *buf, size_t cap, size_t *len)
{
	*len = 0;
	while (*len < cap) {
		ssize_t n = read(fd, buf + *len, cap - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		*len += (size_t)n;
	}
	return 0;
}

int sf_jwt_load_key(sf_client *c, cs_error *err)
{
	const char *path = c->jwt_key_file;
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	int rc, fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return sf_fail(c, SF_E_CONFIG, err,
			       "salesforce.jwt_key_file %s: cannot read the private key: %s", path,
			       strerror(errno));
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = sf_fail(c, SF_E_CONFIG, err,
			     "salesforce.jwt_key_file %s: not a regular file (expected the "
			     "connected app's RSA private key, PEM)",
			     path);
		goto out;
	}
	if (st.st_size > SF_JWT_KEY_MAX) {
		rc = sf_fail(c, SF_E_CONFIG, err,
			     "salesforce.jwt_key_file %s: %lld bytes is too large for a PEM "
			     "private key",
			     path, (long long)st.st_size);
		goto out;
	}
	if (st.st_mode & (S_IRGRP | S_IROTH))
		cs_warn("sf",
			"%s holds the private key of the JWT grant and is readable by other "
			"users; run chmod 600 %s",
			path, path);
	text = malloc((size_t)st.st_size + 1);
	if (!text) {
		rc = sf_fail(c, SF_E_NOMEM, err, "out of memory");
		goto out;
	}
	if (sf_read_all(fd, text, (size_t)st.st_size, &len)) {
		rc = sf_fail(c, SF_E_CONFIG, err,
			     "salesforce.jwt_key_file %s: cannot read the private key: %s", path,
			     strerror(errno));
		goto out;
	}
	text[len] = '\0';
	if (strstr(text, "ENCRYPTED")) {
		rc = sf_fail(c, SF_E_CONFIG, err,
			     "salesforce.jwt_key_file %s: the private key is protected by a "
			     "passphrase; crmsync needs it unencrypted (openssl pkey -in KEY -out "
			     "NEWKEY, then chmod 600 NEWKEY)",
			     path);
		goto out;
	}
	BIO *bio = BIO_new_mem_buf(text, (int)len);
	EVP_PKEY *pk = bio ? PEM_read_bio_PrivateKey(bio, NULL, sf_no_passphrase, NULL) : NULL;
	BIO_free(bio);
	ERR_clear_error();
	if (!pk) {
		const char *what = "no PEM private key (expected -----BEGIN PRIVATE KEY----- or "
				   "-----BEGIN RSA PRIVATE KEY-----)";
		if (strstr(text, "-----BEGIN CERTIFICATE-----"))
			what = "a certificate, not a private key: the certificate goes to the "
			       "connected app, crmsync needs the private key it was made with";
		else if (strstr(text, "-----BEGIN PUBLIC KEY-----"))
			what = "a public key, not the private key";
		rc = sf_fail(c, SF_E_CONFIG, err, "salesforce.jwt_key_file %s: holds %s", path,
			     what);
		goto out;
	}
	if (EVP_PKEY_base_id(pk) != EVP_PKEY_RSA) {
		const char *t = OBJ_nid2sn(EVP_PKEY_base_id(pk));
		EVP_PKEY_free(pk);
		rc = sf_fail(c, SF_E_CONFIG, err,
			     "salesforce.jwt_key_file %s: holds a%s %s key; Salesforce's JWT "
			     "bearer flow signs with RS256 and needs an RSA key",
			     path, t && strchr("AEIOU", t[0]) ? "n" : "", t ? t : "non-RSA");
		goto out;
	}
	sf_jwt_free_key(c);
	c->jwt_key = pk;
	rc = 0;
out:
	if (text) {
		OPENSSL_cleanse(text, len);
		free(text);
	}
	close(fd);
	return rc;
}

static void sf_b64url(sf_buf *b, const unsigned char *p, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char q[4];
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		size_t k = n - i >= 3 ? 3 : n - i;
		if (k > 1)
			v |= (unsigned)p[i + 1] << 8;
		if (k > 2)
			v |= p[i + 2];
		q[0] = a[(v >> 18) & 63];
		q[1] = a[(v >> 12) & 63];
		q[2] = a[(v >> 6) & 63];
		q[3] = a[v & 63];
		sf_buf_add(b, q, k + 1); /* no padding */
	}
}

void sf_jwt_audience(const char *login_url, char *out, size_t cap)
{
	const char *h = strstr(login_url, "://");
	h = h ? h + 3 : login_url;
	size_t hl = strcspn(h, "/:?#");
	char host[256];
	snprintf(host, sizeof host, "%.*s", (int)(hl < sizeof host ? hl : sizeof host - 1), h);
	for (char *p = host; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	size_t n = strlen(host);
#define SF_ENDS(s) (n > strlen(s) && strcmp(host + n - strlen(s), (s)) == 0)
	if (strcmp(host, "test.salesforce.com") == 0 || SF_ENDS(".sandbox.my.salesforce.com") ||
	    (SF_ENDS(".my.salesforce.com") && strstr(host, "--")))
		snprintf(out, cap, "https://test.salesforce.com");
	else if (strcmp(host, "login.salesforce.com") == 0 || SF_ENDS(".my.salesforce.com"))
		snprintf(out, cap, "https://login.salesforce.com");
	else {
		snprintf(out, cap, "%s", login_url);
		for (size_t l = strlen(out); l && out[l - 1] == '/'; l--)
			out[l - 1] = '\0';
	}
#undef SF_ENDS
}

int sf_jwt_assertion(sf_client *c, int64_t now_s, sf_buf *b, cs_error *err)
{
	static const char header[] = "{\"alg\":\"RS256\"}";
	char aud[512];
	unsigned char *sig = NULL;
	size_t siglen = 0;
	EVP_MD_CTX *md = NULL;
	int rc = 0;

	if (!c->jwt_key && (rc = sf_jwt_load_key(c, err)))
		return rc;
	sf_jwt_audience(c->login_url, aud, sizeof aud);
	json_t *claims = json_pack("{s:s,s:s,s:s,s:I}", "iss", c->client_id, "sub",
				   c->username ? c->username : "", "aud", aud, "exp",
				   (json_int_t)(now_s + SF_JWT_LIFETIME_S));
	char *ctext = claims ? json_dumps(claims, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(claims);
	b->len = 0;
	sf_b64url(b, (const unsigned char *)header, sizeof header - 1);
	sf_buf_add(b, ".", 1);
	if (ctext)
		sf_b64url(b, (const unsigned char *)ctext, strlen(ctext));
	free(ctext);
	if (!ctext || b->oom) {
		rc = sf_fail(c, SF_E_NOMEM, err, "out of memory");
		goto out;
	}
	md = EVP_MD_CTX_new();
	if (!md || EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, c->jwt_key) != 1 ||
	    EVP_DigestSign(md, NULL, &siglen, (const unsigned char *)b->s, b->len) != 1 ||
	    !(sig = malloc(siglen)) ||
	    EVP_DigestSign(md, sig, &siglen, (const unsigned char *)b->s, b->len) != 1) {
		unsigned long e = ERR_peek_last_error();
		rc = sf_fail(c, SF_E_CONFIG, err,
			     "signing the JWT assertion with salesforce.jwt_key_file %s failed: %s",
			     c->jwt_key_file, e ? ERR_reason_error_string(e) : "out of memory");
		ERR_clear_error();
		goto out;
	}
	sf_buf_add(b, ".", 1);
	sf_b64url(b, sig, siglen);
	if (b->oom)
		rc = sf_fail(c, SF_E_NOMEM, err, "out of memory");
out:
	EVP_MD_CTX_free(md);
	free(sig);
	return rc;
}

/* A clearer message for what Salesforce says about a refused JWT assertion. */
static int sf_jwt_refused(sf_client *c, const char *e, const char *d, cs_error *err)
{
	char aud[512];
	const char *who = c->username;
	const char *desc = d ? d : e;

	if (strstr(desc, "approved"))
		return sf_fail(c, SF_E_AUTH, err,
			       "Salesforce refused the JWT login of user %s: %s: the connected app "
			       "%s is not authorized for this user; set its policy to \"Admin "
			       "approved users are pre-authorized\" and add the user's profile or "
			       "permission set (or check salesforce.username)",
			       who, desc, c->client_id);
	if (strstr(desc, "audience")) {
		sf_jwt_audience(c->login_url, aud, sizeof aud);
		return sf_fail(c, SF_E_AUTH, err,
			       "Salesforce refused the JWT login of user %s: %s: the assertion's "
			       "audience was %s (from salesforce.login_url %s); use "
			       "https://login.salesforce.com or your My Domain for production, "
			       "https://test.salesforce.com for a sandbox",
			       who, desc, aud, c->login_url);
	}
	if (strstr(desc, "expired"))
		return sf_fail(c, SF_E_AUTH, err,
			       "Salesforce refused the JWT login of user %s: %s: the assertion "
			       "(valid %d s) had expired by Salesforce's clock; check this "
			       "machine's clock (NTP)",
			       who, desc, SF_JWT_LIFETIME_S);
	if (strstr(desc, "assertion") || strstr(desc, "signature"))
		return sf_fail(c, SF_E_AUTH, err,
			       "Salesforce refused the JWT login of user %s: %s: the signature or "
			       "a claim was not accepted; check that the certificate uploaded to "
			       "the connected app %s was made from salesforce.jwt_key_file %s, and "
			       "this machine's clock",
			       who, desc, c->client_id, c->jwt_key_file);
	return sf_fail(c, SF_E_AUTH, err,
		       "Salesforce refused the credentials of user %s (grant jwt): %s", who, desc);
}

static int sf_form_add(sf_buf *b, const char *key, const char *val)
{
	if (b->len)
		sf_buf_add(b, "&", 1);
	sf_buf_add(b, key, strlen(key));
	sf_buf_add(b, "=", 1);
	sf_url_encode(b, val ? val : "");
	return b->oom ? CRMSYNC_ENOMEM : 0;
}

static void sf_wipe_buf(sf_buf *b)
{
	if (b->s)
		memset(b->s, 0, b->cap);
	sf_buf_free(b);
}

static void sf_set_refresh(sf_client *c, char *rt)
{
	if (c->refresh_token)
		OPENSSL_cleanse(c->refresh_token, strlen(c->refresh_token));
	free(c->refresh_token);
	c->refresh_token = rt;
}

/* Under the token file's lock: take the newest refresh token, the file's when it
 * descends from the configured token (and this process did not fail to save a
 * newer one), else the one in memory: the configured one, or the one this
 * process rotated to when the file was deleted or replaced under it. */
static int sf_token_take(sf_client *c, cs_error *err)
{
	char origin[CS_TOKFILE_ORIGIN_LEN + 1];
	char *tok = NULL;

	c->rt_from_file = 0;
	int rc = cs_tokfile_read(c->token_file, origin, &tok, err);
	if (rc == CRMSYNC_ENOENT)
		return 0;
	if (rc)
		return sf_fail(c, SF_E_CONFIG, err, "%s", cs_err_msg(err));
	if (c->rt_unsaved || strcmp(origin, c->rt_origin) != 0) {
		if (!c->rt_unsaved)
			cs_info("sf",
				"%s descends from another salesforce.refresh_token than the one "
				"configured: using the configured token, the file is replaced at "
				"the next rotation",
				c->token_file);
		OPENSSL_cleanse(tok, strlen(tok));
		free(tok);
		return 0;
	}
	sf_set_refresh(c, tok);
	c->rt_from_file = 1;
	return 0;
}

/* After a refresh that handed out rt (NULL: none): keep it in the token file. */
static void sf_token_keep(sf_client *c, const char *rt)
{
	cs_error werr = CS_ERROR_INIT;

	if (!c->token_file[0] || !rt ||
	    (!c->rt_unsaved && c->refresh_token && strcmp(rt, c->refresh_token) == 0))
		return; /* no rotation: the token used stays valid */
	if (cs_tokfile_write(c->token_file, c->rt_origin, rt, &werr)) {
		/* the token used is no longer valid: memory has the only good one */
		c->rt_unsaved = 1;
		cs_error("sf",
			 "%s; the new refresh token is kept in memory only: fix this before "
			 "crmsync restarts, or the connected app must be authorized again",
			 werr.msg);
		return;
	}
	if (c->rt_unsaved)
		cs_info("sf", "the newest refresh token is saved in %s again", c->token_file);
	c->rt_unsaved = 0;
	cs_debug("sf", "the rotated refresh token is saved in %s", c->token_file);
}

/* The message for a refused refresh token. */
static int sf_refresh_refused(sf_client *c, const char *who, const char *d, cs_error *err)
{
	if (c->rt_from_file)
		return sf_fail(
		    c, SF_E_AUTH, err,
		    "Salesforce refused the credentials of user %s (grant refresh_token): %s: the "
		    "refresh token kept in %s was revoked or has expired (or an older one was "
		    "used again, which makes Salesforce revoke the current one): authorize the "
		    "connected app again and configure the new salesforce.refresh_token (the "
		    "file is replaced then)",
		    who, d, c->token_file);
	if (c->token_file[0])
		return sf_fail(
		    c, SF_E_AUTH, err,
		    "Salesforce refused the credentials of user %s (grant refresh_token): %s: "
		    "salesforce.refresh_token is revoked or expired, or, with refresh token "
		    "rotation on, was rotated out and %s, where crmsync keeps the newest one, is "
		    "missing or was made from another token: authorize the connected app again "
		    "and configure the new salesforce.refresh_token",
		    who, d, c->token_file);
	return sf_fail(c, SF_E_AUTH, err,
		       "Salesforce refused the credentials of user %s (grant refresh_token): %s",
		       who, d);
}

int sf_auth_login(sf_client *c, cs_error *err)
{
	sf_buf form = {0};
	struct sf_req r = {0};
	json_t *j = NULL;
	long status = 0;
	int rc;
	const char *who = c->username ? c->username : c->client_id;
	const char *gname = sf_grant_name(c->grant);
	sf_buf jwt = {0};
	int lock = -1;

	if (c->grant == SF_GRANT_REFRESH_TOKEN && c->token_file[0]) {
		/* held until the new token is saved: another process refreshing now
		 * would present the token this refresh rotates out */
		if ((rc = cs_tokfile_lock(c->token_file, &lock, err))) {
			rc = sf_fail(c, SF_E_CONFIG, err, "%s", cs_err_msg(err));
			goto out;
		}
		if ((rc = sf_token_take(c, err)))
			goto out;
	}
	switch (c->grant) {
	case SF_GRANT_PASSWORD:
		sf_form_add(&form, "grant_type", "password");
		sf_form_add(&form, "client_id", c->client_id);
		if (c->client_secret)
			sf_form_add(&form, "client_secret", c->client_secret);
		sf_form_add(&form, "username", c->username);
		sf_form_add(&form, "password", c->password);
		break;
	case SF_GRANT_REFRESH_TOKEN:
		sf_form_add(&form, "grant_type", "refresh_token");
		sf_form_add(&form, "refresh_token", c->refresh_token);
		sf_form_add(&form, "client_id", c->client_id);
		if (c->client_secret)
			sf_form_add(&form, "client_secret", c->client_secret);
		break;
	case SF_GRANT_JWT:
		if ((rc = sf_jwt_assertion(c, (int64_t)time(NULL), &jwt, err)))
			goto out;
		sf_form_add(&form, "grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer");
		sf_form_add(&form, "assertion", jwt.s);
		break;
	default:
		sf_form_add(&form, "grant_type", "client_credentials");
		sf_form_add(&form, "client_id", c->client_id);
		sf_form_add(&form, "client_secret", c->client_secret);
		break;
	}
	if (form.oom) {
		rc = sf_fail(c, SF_E_NOMEM, err, "out of memory");
		goto out;
	}
	r.method = "POST";
	r.url = "/services/oauth2/token";
	r.body = form.s;
	r.content_type = "application/x-www-form-urlencoded";
	r.safety = SF_SAFE; /* a login creates nothing: repeat it freely */
	r.no_auth = 1;
	r.no_budget = 1;
	if ((rc = sf_http(c, &r, &status, err))) {
		if (c->kind == SF_E_NETWORK)
			cs_err_prefix(err, "logging in to Salesforce at %s as %s", c->login_url,
				      who);
		goto out;
	}
	c->status = status;
	if (status != 200) {
		const char *e = NULL, *d = NULL;
		j = json_loadb(c->body ? c->body : "", c->body_len, 0, NULL);
		e = json_string_value(json_object_get(j, "error"));
		d = json_string_value(json_object_get(j, "error_description"));
		snprintf(c->code, sizeof c->code, "%s", e ? e : "");
		if (e && c->grant == SF_GRANT_JWT && strcmp(e, "invalid_grant") == 0)
			rc = sf_jwt_refused(c, e, d, err);
		else if (e && c->grant == SF_GRANT_REFRESH_TOKEN && strcmp(e, "invalid_grant") == 0)
			rc = sf_refresh_refused(c, who, d ? d : e, err);
		else if (e && c->grant == SF_GRANT_PASSWORD && strcmp(e, "invalid_grant") == 0 &&
			 d && strstr(d, "authentication failure"))
			rc = sf_fail(c, SF_E_AUTH, err,
				     "Salesforce refused the credentials of user %s (grant "
				     "password): %s: check salesforce.username and the password "
				     "(with the security token appended when the network is not "
				     "trusted); an org created in Summer '23 or later blocks the "
				     "username-password flow by default: use grant = jwt or "
				     "client_credentials",
				     who, d ? d : e);
		else if (e &&
			 (strcmp(e, "invalid_grant") == 0 || strcmp(e, "invalid_client") == 0 ||
			  strcmp(e, "inactive_user") == 0 || strcmp(e, "invalid_client_id") == 0))
			rc = sf_fail(c, SF_E_AUTH, err,
				     "Salesforce refused the credentials of user %s (grant %s): %s",
				     who, gname, d ? d : e);
		else if (e)
			rc = sf_fail(c, SF_E_AUTH, err,
				     "Salesforce refused the login of user %s (grant %s): %s: %s "
				     "(HTTP %ld from %s/services/oauth2/token)",
				     who, gname, e, d ? d : "no description", status, c->login_url);
		else
			rc = sf_fail(c, status >= 500 ? SF_E_HTTP : SF_E_AUTH, err,
				     "logging in to Salesforce as %s (grant %s): HTTP %ld from "
				     "%s/services/oauth2/token with %s body",
				     who, gname, status, c->login_url,
				     c->content_type[0] ? c->content_type : "an untyped");
		goto out;
	}
	if ((rc = sf_parse_body(c, &r, &j, err)))
		goto out;
	const char *tok = json_string_value(json_object_get(j, "access_token"));
	const char *inst = json_string_value(json_object_get(j, "instance_url"));
	const char *refresh = json_string_value(json_object_get(j, "refresh_token"));
	/* rotation: the token used is invalid from now on, so the new one is saved
	 * first, whatever else is wrong with the response */
	if (refresh && *refresh)
		sf_token_keep(c, refresh);
	if (!tok || !*tok || !inst || !*inst) {
		rc = sf_fail(c, SF_E_PARSE, err,
			     "logging in to Salesforce as %s: the token response has no %s", who,
			     !tok || !*tok ? "access_token" : "instance_url");
		goto out;
	}
	if (sf_url_check(inst, "the instance_url handed out by Salesforce", err)) {
		rc = sf_fail(c, SF_E_CONFIG, err, "%s", cs_err_msg(err));
		goto out;
	}
	char *t = strdup(tok), *i = strdup(inst);
	size_t hl = strlen(tok) + 32;
	char *h = malloc(hl);
	char *rt = refresh ? strdup(refresh) : NULL;
	if (!t || !i || !h || (refresh && !rt)) {
		free(t);
		free(i);
		free(h);
		free(rt);
		rc = sf_fail(c, SF_E_NOMEM, err, "out of memory");
		goto out;
	}
	snprintf(h, hl, "Authorization: Bearer %s", tok);
	if (c->access_token)
		memset(c->access_token, 0, strlen(c->access_token));
	free(c->access_token);
	if (c->auth_header)
		memset(c->auth_header, 0, strlen(c->auth_header));
	free(c->auth_header);
	free(c->instance_url);
	c->access_token = t;
	c->auth_header = h;
	c->instance_url = i;
	while (*i && i[strlen(i) - 1] == '/')
		i[strlen(i) - 1] = '\0';
	if (rt) {
		/* rotation: the new refresh token replaces the old (saved above) */
		sf_set_refresh(c, rt);
		c->rt_from_file = c->token_file[0] && !c->rt_unsaved;
	}
	cs_debug("sf", "logged in as %s (grant %s), instance %s", who, gname, c->instance_url);
	sf_ok(c);
	rc = 0;
out:
	cs_tokfile_unlock(lock);
	json_decref(j);
	sf_wipe_buf(&form);
	sf_wipe_buf(&jwt);
	return rc;
}
