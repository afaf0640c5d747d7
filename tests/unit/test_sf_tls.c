/* test_sf_tls.c - the client over https to an sfemu serving a certificate from
 * a CA made at test time (tests/sf/make-ca.sh): the right CA is accepted, an
 * unrelated CA and a certificate for another host name are refused. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../sf/emu.h"
#include "sf.h"

static char dir[] = "/tmp/test_sf_tlsXXXXXX";
static emu E;

static int setup(void **state)
{
	char cmd[8192];
	const char *src = getenv("top_srcdir");
	const char *ossl = getenv("OPENSSL");
	if (!ossl || !*ossl) {
		fprintf(stderr, "OPENSSL is not set: configure found no openssl\n");
		return -1;
	}
	if (!mkdtemp(dir))
		return -1;
	snprintf(cmd, sizeof cmd, "OPENSSL='%s' sh '%s/tests/sf/make-ca.sh' '%s'", ossl,
		 src && *src ? src : ".", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int teardown_group(void **state)
{
	char cmd[512];
	emu_stop(&E);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	emu_stop(&E);
	return 0;
}

static void start(const char *name)
{
	char cert[600], key[600];
	snprintf(cert, sizeof cert, "%s/%s.pem", dir, name);
	snprintf(key, sizeof key, "%s/%s.key", dir, name);
	const char *args[] = {"--tls-cert", cert, "--tls-key", key, NULL};
	if (emu_start(&E, args))
		fail_msg("cannot start %s with TLS", emu_binary());
	assert_int_equal(strncmp(E.url, "https://127.0.0.1:", 18), 0);
}

/* Log in and count leads with ca as the trust anchor: 0 or the error kind. */
static int try(const char *url, const char *ca, cs_error *err)
{
	char cafile[600];
	snprintf(cafile, sizeof cafile, "%s/%s.pem", dir, ca);
	sf_config cfg = {.login_url = url,
			 .client_id = "crmsync-demo",
			 .client_secret = "crmsync-demo-secret",
			 .username = "sync@example.com",
			 .password = "sync-password",
			 .ca_file = cafile,
			 .max_retries = 0,
			 .transfer_timeout_ms = 5000};
	sf_client *c = sf_client_new(&cfg, err);
	assert_non_null(c);
	int64_t n;
	int rc = sf_query_count(c, "SELECT COUNT() FROM Lead", &n, err);
	int kind = rc ? sf_error_kind(c) : 0;
	sf_client_free(c);
	return kind;
}

static void test_right_ca(void **state)
{
	cs_error err = CS_ERROR_INIT;
	start("server");
	if (try(E.url, "ca", &err))
		fail_msg("%s", err.msg);
	/* localhost is in the certificate too */
	char url[300];
	snprintf(url, sizeof url, "https://localhost:%s", strrchr(E.url, ':') + 1);
	assert_int_equal(try(url, "ca", &err), 0);
}

static void test_wrong_ca(void **state)
{
	cs_error err = CS_ERROR_INIT;
	start("server");
	assert_int_equal(try(E.url, "wrongca", &err), SF_E_NETWORK);
	assert_non_null(strstr(err.msg, "certificate"));
	assert_non_null(strstr(err.msg, "/services/oauth2/token"));
}

static void test_wrong_host(void **state)
{
	cs_error err = CS_ERROR_INIT;
	start("other"); /* a valid certificate, but for "otherhost" */
	assert_int_equal(try(E.url, "ca", &err), SF_E_NETWORK);
	assert_non_null(strstr(err.msg, "certificate"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_right_ca, teardown),
	    cmocka_unit_test_teardown(test_wrong_ca, teardown),
	    cmocka_unit_test_teardown(test_wrong_host, teardown),
	};
	return cmocka_run_group_tests_name("sf_tls", tests, setup, teardown_group);
}
