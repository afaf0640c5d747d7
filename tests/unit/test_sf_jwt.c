/* test_sf_jwt.c - the OAuth 2.0 JWT bearer grant against tests/sfemu
 * (--jwt-cert), with an RSA key pair made at test time by the openssl CLI:
 * login (and again after the session expired), a key the connected app does
 * not know, an expired or too-early assertion (emulator clock moved), a user
 * that is not pre-authorized, an unknown client id, a wrong audience; key files
 * that are missing, not keys, EC, encrypted or readable by others; and the key
 * text never shows in a message or in the debug log. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../sf/emu.h"
#include "log.h"
#include "sf_internal.h"

static char dir[] = "/tmp/test_sf_jwtXXXXXX";
static emu E;
static char key_line[80];  /* a line of base64 from the middle of key.pem */
static char msgs[1 << 16]; /* every error message of the group, for the secret check */

static const char *path_of(const char *name)
{
	static char p[4][600];
	static int i;
	i = (i + 1) % 4;
	snprintf(p[i], sizeof p[i], "%s/%s", dir, name);
	return p[i];
}

static int sh(const char *fmt, ...) CRMSYNC_PRINTF(1, 2);
static int sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof cmd, fmt, ap);
	va_end(ap);
	return system(cmd);
}

static int setup_group(void **state)
{
	(void)state;
	const char *o = getenv("OPENSSL");
	if (!o || !*o) {
		fprintf(stderr, "OPENSSL is not set: configure found no openssl\n");
		return -1;
	}
	if (!mkdtemp(dir))
		return -1;
	/* key.pem + cert.pem: the connected app's pair; other.pem: a key it does not
	 * know; ec.pem: not RSA; enc.pem: passphrase-protected */
	if (sh("cd '%s' && umask 077 && '%s' req -x509 -newkey rsa:2048 -nodes -keyout key.pem "
	       "-out cert.pem -days 2 -subj /CN=crmsync-jwt-test >/dev/null 2>&1 && "
	       "'%s' genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out other.pem "
	       ">/dev/null 2>&1 && "
	       "'%s' genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ec.pem "
	       ">/dev/null 2>&1 && "
	       "'%s' genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -aes-128-cbc "
	       "-pass pass:secret -out enc.pem >/dev/null 2>&1 && "
	       "cp key.pem open.pem && chmod 644 open.pem && echo 'hello, world' > notkey.txt",
	       dir, o, o, o, o)) {
		fprintf(stderr, "openssl could not make the test keys in %s\n", dir);
		return -1;
	}
	FILE *f = fopen(path_of("key.pem"), "r");
	char line[256];
	for (int i = 0; f && i < 6 && fgets(line, sizeof line, f); i++)
		snprintf(key_line, sizeof key_line, "%.40s", line);
	if (f)
		fclose(f);
	if (strlen(key_line) < 40)
		return -1;
	const char *args[] = {"--jwt-cert", path_of("cert.pem"), NULL};
	if (emu_start(&E, args)) {
		fprintf(stderr, "cannot start %s\n", emu_binary());
		return -1;
	}
	return 0;
}

static int teardown_group(void **state)
{
	(void)state;
	emu_stop(&E);
	/* what the group said never holds the key */
	int leaked = strstr(msgs, key_line) != NULL;
	if (!getenv("KEEP_JWT_DIR"))
		sh("rm -rf '%s'", dir);
	return leaked ? -1 : 0;
}

static void note(const cs_error *err)
{
	size_t n = strlen(msgs);
	snprintf(msgs + n, sizeof msgs - n, "%s\n", err->msg);
	assert_null(strstr(err->msg, key_line));
}

static sf_config jwt_config(const char *url, const char *key)
{
	sf_config cfg = {.login_url = url,
			 .client_id = "crmsync-demo",
			 .username = "sync@example.com",
			 .grant = SF_GRANT_JWT,
			 .jwt_key_file = key,
			 .max_retries = 0,
			 .transfer_timeout_ms = 5000,
			 .connect_timeout_ms = 2000};
	return cfg;
}

/* Log in with cfg: 0, or the error kind (message in err). */
static int login(const sf_config *cfg, cs_error *err)
{
	sf_client *c = sf_client_new(cfg, err);
	if (!c) {
		note(err);
		return -1;
	}
	int rc = sf_login(c, err);
	int kind = rc ? sf_error_kind(c) : 0;
	if (rc)
		note(err);
	sf_client_free(c);
	return kind;
}

static void clock_advance(long s)
{
	char body[64];
	snprintf(body, sizeof body, "{\"advance\":%ld}", s);
	assert_int_equal(emu_ctl(&E, "POST", "/__emu/clock", body), 200);
}

static void test_jwt_login(void **state)
{
	(void)state;
	cs_error err = {0};
	sf_config cfg = jwt_config(E.url, path_of("key.pem"));
	sf_client *c = sf_client_new(&cfg, &err);
	assert_non_null(c);
	int64_t n = -1;
	if (sf_query_count(c, "SELECT COUNT() FROM Lead", &n, &err))
		fail_msg("JWT login and query: %s", err.msg);
	assert_true(n >= 0);
	assert_string_equal(sf_instance_url(c), E.url);
	assert_null(c->refresh_token); /* Salesforce hands out none for this grant */
	/* the session ends: the client signs a new assertion and carries on */
	assert_int_equal(emu_ctl(&E, "POST", "/__emu/tokens/expire", "{}"), 200);
	int64_t before = sf_request_count(c);
	if (sf_query_count(c, "SELECT COUNT() FROM Lead", &n, &err))
		fail_msg("query after the session expired: %s", err.msg);
	/* 401, query again: the token request is no API call */
	assert_int_equal(sf_request_count(c) - before, 2);
	sf_client_free(c);
}

/* The assertion checked by the openssl CLI, independent of the emulator: the
 * signature verifies with the certificate, the claims are Salesforce's. */
static void test_jwt_assertion_format(void **state)
{
	(void)state;
	cs_error err = {0};
	sf_config cfg = jwt_config("https://acme.my.salesforce.com", path_of("key.pem"));
	sf_client *c = sf_client_new(&cfg, &err);
	assert_non_null(c);
	sf_buf b = {0};
	time_t now = time(NULL);
	assert_int_equal(sf_jwt_assertion(c, (int64_t)now, &b, &err), 0);
	sf_client_free(c);
	char *d1 = strchr(b.s, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
	assert_non_null(d2);
	assert_null(strchr(b.s, '=')); /* base64url, unpadded */
	assert_null(strchr(b.s, '+'));
	assert_null(strchr(b.s, '/'));
	FILE *f = fopen(path_of("jwt.txt"), "w");
	assert_non_null(f);
	fprintf(f, "%.*s\n%.*s\n%s\n", (int)(d1 - b.s), b.s, (int)(d2 - d1 - 1), d1 + 1, d2 + 1);
	fclose(f);
	sf_buf_free(&b);
	const char *o = getenv("OPENSSL");
	/* decode each part (base64url -> base64 with padding), verify the signature */
	assert_int_equal(
	    sh("cd '%s' && dec() { x=$(printf %%s \"$1\" | tr '_-' '/+'); "
	       "while [ $(( ${#x} %% 4 )) -ne 0 ]; do x=\"$x=\"; done; "
	       "printf '%%s\\n' \"$x\" | '%s' base64 -d -A; } && "
	       "h=$(sed -n 1p jwt.txt) && c=$(sed -n 2p jwt.txt) && s=$(sed -n 3p jwt.txt) && "
	       "dec \"$h\" > hdr.json && dec \"$c\" > claims.json && dec \"$s\" > sig.bin && "
	       "printf %%s \"$h.$c\" > signed.txt && '%s' x509 -in cert.pem -pubkey -noout > "
	       "pub.pem && '%s' dgst -sha256 -verify pub.pem -signature sig.bin signed.txt "
	       ">/dev/null",
	       dir, o, o, o),
	    0);
	char hdr[256] = "", claims[1024] = "";
	f = fopen(path_of("hdr.json"), "r");
	assert_non_null(f);
	assert_non_null(fgets(hdr, sizeof hdr, f));
	fclose(f);
	f = fopen(path_of("claims.json"), "r");
	assert_non_null(f);
	assert_non_null(fgets(claims, sizeof claims, f));
	fclose(f);
	assert_string_equal(hdr, "{\"alg\":\"RS256\"}");
	json_t *j = json_loads(claims, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "iss")), "crmsync-demo");
	assert_string_equal(json_string_value(json_object_get(j, "sub")), "sync@example.com");
	assert_string_equal(json_string_value(json_object_get(j, "aud")),
			    "https://login.salesforce.com");
	assert_int_equal(json_integer_value(json_object_get(j, "exp")), (json_int_t)now + 180);
	json_decref(j);
}

static void test_jwt_audience_rule(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
	    {"https://login.salesforce.com", "https://login.salesforce.com"},
	    {"https://test.salesforce.com/", "https://test.salesforce.com"},
	    {"https://Acme.my.salesforce.com", "https://login.salesforce.com"},
	    {"https://acme--uat.sandbox.my.salesforce.com", "https://test.salesforce.com"},
	    {"https://acme--uat.my.salesforce.com", "https://test.salesforce.com"},
	    {"https://community.example.com/customers/", "https://community.example.com/customers"},
	    {"http://127.0.0.1:8080/", "http://127.0.0.1:8080"},
	};
	char out[256];
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		sf_jwt_audience(cases[i][0], out, sizeof out);
		assert_string_equal(out, cases[i][1]);
	}
}

static void test_jwt_wrong_key(void **state)
{
	(void)state;
	cs_error err = {0};
	sf_config cfg = jwt_config(E.url, path_of("other.pem"));
	assert_int_equal(login(&cfg, &err), SF_E_AUTH);
	assert_non_null(strstr(err.msg, "invalid assertion"));
	assert_non_null(strstr(err.msg, "certificate uploaded to the connected app"));
	assert_non_null(strstr(err.msg, path_of("other.pem")));
}

static void test_jwt_expired(void **state)
{
	(void)state;
	cs_error err = {0};
	sf_config cfg = jwt_config(E.url, path_of("key.pem"));
	/* Salesforce's clock 10 minutes ahead of ours: the assertion arrives expired */
	clock_advance(600);
	int kind = login(&cfg, &err);
	clock_advance(-600);
	assert_int_equal(kind, SF_E_AUTH);
	assert_non_null(strstr(err.msg, "expired"));
	assert_non_null(strstr(err.msg, "clock"));
	/* 10 minutes behind: exp is further ahead than Salesforce allows */
	clock_advance(-600);
	kind = login(&cfg, &err);
	clock_advance(600);
	assert_int_equal(kind, SF_E_AUTH);
	assert_non_null(strstr(err.msg, "invalid assertion"));
	/* and with the clocks agreeing again it works */
	assert_int_equal(login(&cfg, &err), 0);
}

static void test_jwt_wrong_user_and_app(void **state)
{
	(void)state;
	cs_error err = {0};
	sf_config cfg = jwt_config(E.url, path_of("key.pem"));
	cfg.username = "someone.else@example.com";
	assert_int_equal(login(&cfg, &err), SF_E_AUTH);
	assert_non_null(strstr(err.msg, "someone.else@example.com"));
	assert_non_null(strstr(err.msg, "user hasn't approved this consumer"));
	assert_non_null(strstr(err.msg, "pre-authorized"));

	cfg = jwt_config(E.url, path_of("key.pem"));
	cfg.client_id = "not-the-app";
	assert_int_equal(login(&cfg, &err), SF_E_AUTH);
	assert_non_null(strstr(err.msg, "client identifier invalid"));
	assert_non_null(strstr(err.msg, "grant jwt"));
}

/* localhost is not the emulator's login URL (127.0.0.1): the audience differs */
static void test_jwt_audience_refused(void **state)
{
	(void)state;
	cs_error err = {0};
	char url[300];
	const char *port = strrchr(E.url, ':');
	assert_non_null(port);
	snprintf(url, sizeof url, "http://localhost%s", port);
	sf_config cfg = jwt_config(url, path_of("key.pem"));
	assert_int_equal(login(&cfg, &err), SF_E_AUTH);
	assert_non_null(strstr(err.msg, "audience is invalid"));
	assert_non_null(strstr(err.msg, url));
	assert_non_null(strstr(err.msg, "https://test.salesforce.com for a sandbox"));
}

static void expect_config_error(const char *key, const char *username, const char *want)
{
	cs_error err = {0};
	sf_config cfg = jwt_config(E.url, key);
	cfg.username = username;
	sf_client *c = sf_client_new(&cfg, &err);
	if (c) {
		sf_client_free(c);
		fail_msg("key %s was accepted", key ? key : "(none)");
	}
	note(&err);
	if (!strstr(err.msg, want))
		fail_msg("'%s' not in: %s", want, err.msg);
	if (key && username && !strstr(err.msg, key))
		fail_msg("the path %s is not in: %s", key, err.msg);
}

static void test_jwt_key_file_errors(void **state)
{
	(void)state;
	expect_config_error(path_of("missing.pem"), "sync@example.com",
			    "cannot read the private key: No such file or directory");
	expect_config_error(path_of("notkey.txt"), "sync@example.com", "no PEM private key");
	expect_config_error(path_of("cert.pem"), "sync@example.com",
			    "a certificate, not a private key");
	expect_config_error(path_of("ec.pem"), "sync@example.com", "needs an RSA key");
	expect_config_error(path_of("enc.pem"), "sync@example.com", "passphrase");
	expect_config_error(dir, "sync@example.com", "not a regular file");
	expect_config_error(NULL, "sync@example.com", "needs salesforce.jwt_key_file");
	expect_config_error(path_of("key.pem"), NULL, "needs salesforce.username");
}

/* Debug log on and stderr captured while logging in (well and badly) and with
 * a key file readable by others: a warning names the file, and neither the key
 * nor the signed assertion appears. */
static void test_jwt_log(void **state)
{
	(void)state;
	cs_error err = {0};
	char path[] = "/tmp/test_sf_jwt_logXXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	fflush(stderr);
	int saved = dup(2);
	dup2(fd, 2);
	cs_log_set_level(CRMSYNC_LOG_DEBUG);

	sf_config cfg = jwt_config(E.url, path_of("key.pem"));
	int ok = login(&cfg, &err);
	cfg.jwt_key_file = path_of("other.pem");
	int bad = login(&cfg, &err);
	cfg.jwt_key_file = path_of("open.pem");
	int open = login(&cfg, &err);

	cs_log_set_level(CRMSYNC_LOG_INFO);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	FILE *fp = fdopen(fd, "r");
	rewind(fp);
	static char text[1 << 18];
	size_t n = fread(text, 1, sizeof text - 1, fp);
	text[n] = '\0';
	fclose(fp);
	unlink(path);

	assert_int_equal(ok, 0);
	assert_int_equal(bad, SF_E_AUTH);
	assert_int_equal(open, 0);
	assert_non_null(strstr(text, "grant jwt")); /* the debug trace was written */
	char warn[700];
	snprintf(warn, sizeof warn, "%s holds the private key of the JWT grant and is readable",
		 path_of("open.pem"));
	assert_non_null(strstr(text, warn));
	assert_non_null(strstr(text, "chmod 600"));
	/* only the world-readable copy is warned about */
	snprintf(warn, sizeof warn, "%s holds the private key", path_of("key.pem"));
	assert_null(strstr(text, warn));
	assert_null(strstr(text, key_line));
	assert_null(strstr(text, "eyJhbGciOiJSUzI1NiJ9")); /* {"alg":"RS256"}: an assertion */
}

int main(int argc, char **argv)
{
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_jwt_login),
	    cmocka_unit_test(test_jwt_assertion_format),
	    cmocka_unit_test(test_jwt_audience_rule),
	    cmocka_unit_test(test_jwt_wrong_key),
	    cmocka_unit_test(test_jwt_expired),
	    cmocka_unit_test(test_jwt_wrong_user_and_app),
	    cmocka_unit_test(test_jwt_audience_refused),
	    cmocka_unit_test(test_jwt_key_file_errors),
	    cmocka_unit_test(test_jwt_log),
	};
	return cmocka_run_group_tests_name("sf_jwt", tests, setup_group, teardown_group);
}
