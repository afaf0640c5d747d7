/*
 * sf_auth.c - OAuth2 login at the token endpoint (password, refresh_token and
 * client_credentials grants). The token response's instance_url is where every
 * data call goes, and it passes the same URL policy as the login URL. Messages
 * name the user and the grant, never a secret.
 */
#include "config.h"
#include "sf_internal.h"

#include "log.h"

#include <stdlib.h>
#include <string.h>

static const char *const sf_grant_names[] = {"password", "refresh_token", "client_credentials"};

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

int sf_auth_login(sf_client *c, cs_error *err)
{
	sf_buf form = {0};
	struct sf_req r = {0};
	json_t *j = NULL;
	long status = 0;
	int rc;
	const char *who = c->username ? c->username : c->client_id;
	const char *gname = sf_grant_names[c->grant];

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
		if (e && (strcmp(e, "invalid_grant") == 0 || strcmp(e, "invalid_client") == 0 ||
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
		/* rotation: the new refresh token replaces the old */
		if (c->refresh_token)
			memset(c->refresh_token, 0, strlen(c->refresh_token));
		free(c->refresh_token);
		c->refresh_token = rt;
	}
	cs_debug("sf", "logged in as %s (grant %s), instance %s", who, gname, c->instance_url);
	sf_ok(c);
	rc = 0;
out:
	json_decref(j);
	sf_wipe_buf(&form);
	return rc;
}
