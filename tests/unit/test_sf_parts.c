/* test_sf_parts.c - the pieces of the Salesforce client that need no server:
 * query page decoding from captured JSON, Sforce-Limit-Info parsing, backoff
 * arithmetic, redaction, the http:// loopback policy, describe type mapping. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sf_internal.h"
#include "timeutil.h"

static sf_client *new_client(void)
{
	sf_config cfg = {0};
	cs_error e = CS_ERROR_INIT;
	cfg.login_url = "http://127.0.0.1:1";
	cfg.client_id = "cid";
	cfg.username = "u@example.com";
	cfg.password = "pw";
	sf_client *c = sf_client_new(&cfg, &e);
	assert_non_null(c);
	return c;
}

static const char page1[] =
    "{\"totalSize\":3,\"done\":false,\"nextRecordsUrl\":\"/services/data/v59.0/query/"
    "01gRO0000016PIAYA2-2\",\"records\":["
    "{\"attributes\":{\"type\":\"Lead\",\"url\":\"/services/data/v59.0/sobjects/Lead/"
    "00Q5g00000AbCdEFGH\"},\"Id\":\"00Q5g00000AbCdEFGH\",\"LastName\":\"O'Brien \\u00e9\","
    "\"NumberOfEmployees\":12,\"AnnualRevenue\":1000,\"IsConverted\":false,"
    "\"SystemModstamp\":\"2024-01-01T00:00:01.500+0000\",\"ConvertedDate\":\"2024-02-03\","
    "\"Owner\":{\"attributes\":{\"type\":\"User\",\"url\":\"x\"},\"Name\":\"A B\"},"
    "\"Email\":null},"
    "{\"attributes\":{\"type\":\"Lead\",\"url\":\"u\"},\"Id\":\"00Q5g00000AbCdEFGI\","
    "\"LastName\":\"Two\",\"NumberOfEmployees\":null,\"AnnualRevenue\":2.5,"
    "\"IsConverted\":true,\"SystemModstamp\":\"2024-01-01T00:00:02.000+0000\","
    "\"ConvertedDate\":null,\"Owner\":null,\"Email\":\"t@x.org\"}]}";

static const crmsync_field_desc lead_fields[] = {
    {.name = "Id", .type = CRMSYNC_ID},
    {.name = "LastName", .type = CRMSYNC_STRING},
    {.name = "NumberOfEmployees", .type = CRMSYNC_INTEGER},
    {.name = "AnnualRevenue", .type = CRMSYNC_DOUBLE},
    {.name = "IsConverted", .type = CRMSYNC_BOOLEAN},
    {.name = "SystemModstamp", .type = CRMSYNC_DATETIME},
    {.name = "ConvertedDate", .type = CRMSYNC_DATE},
    {.name = "Owner.Name", .type = CRMSYNC_STRING},
    {.name = "Email", .type = CRMSYNC_STRING},
};

static void test_page_decode(void **state)
{
	sf_client *c = new_client();
	sf_query_opts o = {.fields = lead_fields, .nfields = 9};
	sf_page p;
	char *next = NULL;
	cs_error e = CS_ERROR_INIT;
	crmsync_value v;

	assert_int_equal(sf_decode_page_text(c, page1, &o, &p, &next, &e), 0);
	assert_int_equal(p.count, 2);
	assert_int_equal(p.total_size, 3);
	assert_false(p.done);
	assert_string_equal(next, "/services/data/v59.0/query/01gRO0000016PIAYA2-2");
	free(next);
	cs_record *r = p.records[0];
	assert_int_equal(cs_record_get(r, "Id", &v), 0);
	assert_int_equal(v.type, CRMSYNC_ID);
	assert_string_equal(cs_record_str(r, "LastName"), "O'Brien \xc3\xa9");
	assert_int_equal(cs_record_get(r, "NumberOfEmployees", &v), 0);
	assert_int_equal(v.type, CRMSYNC_INTEGER);
	assert_int_equal(v.u.i, 12);
	/* a currency that happens to be whole is still a double */
	assert_int_equal(cs_record_get(r, "AnnualRevenue", &v), 0);
	assert_int_equal(v.type, CRMSYNC_DOUBLE);
	assert_true(v.u.d == 1000.0);
	assert_int_equal(cs_record_get(r, "SystemModstamp", &v), 0);
	assert_int_equal(v.type, CRMSYNC_DATETIME);
	int64_t ms;
	cs_parse_datetime("2024-01-01T00:00:01.500Z", &ms);
	assert_true(v.u.i == ms);
	assert_int_equal(cs_record_get(r, "ConvertedDate", &v), 0);
	assert_int_equal(v.type, CRMSYNC_DATE);
	assert_string_equal(cs_record_str(r, "Owner.Name"), "A B");
	assert_int_equal(cs_record_get(r, "Email", &v), 0);
	assert_int_equal(v.type, CRMSYNC_NULL);
	assert_int_equal(cs_record_get(r, "attributes", &v), CRMSYNC_ENOENT);

	r = p.records[1];
	assert_int_equal(cs_record_get(r, "IsConverted", &v), 0);
	assert_int_equal(v.type, CRMSYNC_BOOLEAN);
	assert_int_equal(v.u.b, 1);
	/* a null parent makes its described fields null */
	assert_int_equal(cs_record_get(r, "Owner.Name", &v), 0);
	assert_int_equal(v.type, CRMSYNC_NULL);
	assert_int_equal(cs_record_get(r, "NumberOfEmployees", &v), 0);
	assert_int_equal(v.type, CRMSYNC_NULL);

	/* the next page reuses the same records and leaves nothing from before */
	const char page2[] = "{\"totalSize\":3,\"done\":true,\"records\":[{\"attributes\":{},"
			     "\"Id\":\"00Q5g00000AbCdEFGJ\"}]}";
	assert_int_equal(sf_decode_page_text(c, page2, &o, &p, &next, &e), 0);
	assert_null(next);
	assert_true(p.done);
	assert_int_equal(p.count, 1);
	assert_ptr_equal(p.records[0], r == NULL ? NULL : p.records[0]);
	assert_int_equal(cs_record_count(p.records[0]), 1);
	sf_client_free(c);
}

static void test_page_decode_without_describe(void **state)
{
	sf_client *c = new_client();
	sf_page p;
	char *next = NULL;
	cs_error e = CS_ERROR_INIT;
	crmsync_value v;

	assert_int_equal(sf_decode_page_text(c, page1, NULL, &p, &next, &e), 0);
	free(next);
	assert_int_equal(cs_record_get(p.records[0], "SystemModstamp", &v), 0);
	assert_int_equal(v.type, CRMSYNC_STRING);
	assert_int_equal(cs_record_get(p.records[0], "AnnualRevenue", &v), 0);
	assert_int_equal(v.type, CRMSYNC_INTEGER);
	sf_client_free(c);
}

/* A JSON object may repeat a key (Salesforce never does; a proxy or a broken
 * org might): the record holds the field once, with the last value, however
 * the records before it were laid out (the decoder appends known-new keys
 * without a lookup). */
static void test_page_repeated_keys(void **state)
{
	(void)state;
	static const char *text =
	    "{\"totalSize\":5,\"done\":true,\"records\":["
	    "{\"Id\":\"00Q000000000001AAA\",\"A\":\"1\",\"B\":\"2\"},"
	    "{\"Id\":\"00Q000000000002AAA\",\"A\":\"1\",\"A\":\"x\"},"
	    "{\"Id\":\"00Q000000000003AAA\",\"A\":\"1\",\"B\":\"2\",\"A\":\"y\"},"
	    "{\"Id\":\"00Q000000000004AAA\",\"A\":\"1\",\"B\":\"2\",\"A\":\"z\"},"
	    "{\"Id\":\"00Q000000000005AAA\",\"B\":\"2\",\"A\":\"1\",\"B\":\"w\"}]}";
	static const char *want[5][2] = {
	    {"1", "2"}, {"x", NULL}, {"y", "2"}, {"z", "2"}, {"1", "w"}};
	static const size_t count[5] = {3, 2, 3, 3, 3};
	sf_client *c = new_client();
	sf_page p;
	char *next = NULL;
	cs_error e = CS_ERROR_INIT;
	assert_int_equal(sf_decode_page_text(c, text, NULL, &p, &next, &e), 0);
	free(next);
	assert_int_equal(p.count, 5);
	for (int r = 0; r < 5; r++) {
		assert_int_equal(cs_record_count(p.records[r]), count[r]);
		for (int k = 0; k < 2; k++) {
			const char *got = cs_record_str(p.records[r], k ? "B" : "A");
			if (!want[r][k])
				assert_null(got);
			else
				assert_string_equal(got, want[r][k]);
		}
	}
	sf_client_free(c);
}

static void test_page_decode_errors(void **state)
{
	sf_client *c = new_client();
	sf_page p;
	char *next = NULL;
	cs_error e = CS_ERROR_INIT;
	sf_query_opts o = {.fields = lead_fields, .nfields = 9};

	assert_int_not_equal(
	    sf_decode_page_text(c, "{\"totalSize\":3,\"done\":tr", NULL, &p, &next, &e), 0);
	assert_int_equal(sf_error_kind(c), SF_E_PARSE);
	assert_int_not_equal(sf_decode_page_text(c,
						 "{\"totalSize\":3,\"done\":false,\"records\":[]}",
						 NULL, &p, &next, &e),
			     0);
	assert_non_null(strstr(e.msg, "nextRecordsUrl"));
	assert_int_not_equal(
	    sf_decode_page_text(c,
				"{\"totalSize\":1,\"done\":true,\"records\":[{\"SystemModstamp\":"
				"\"yesterday\"}]}",
				&o, &p, &next, &e),
	    0);
	assert_non_null(strstr(e.msg, "SystemModstamp"));
	assert_int_equal(sf_error_kind(c), SF_E_PARSE);
	sf_client_free(c);
}

/* Every prefix of a valid page is refused with a parse error naming the byte,
 * never a crash or a partial success. */
static void test_page_truncated_everywhere(void **state)
{
	sf_client *c = new_client();
	sf_query_opts o = {.fields = lead_fields, .nfields = 9};
	size_t n = strlen(page1);
	char *buf = malloc(n + 1);
	sf_page p;
	char *next = NULL;
	cs_error e = CS_ERROR_INIT;

	for (size_t cut = 0; cut < n; cut++) {
		memcpy(buf, page1, cut);
		buf[cut] = '\0';
		if (sf_decode_page_text(c, buf, &o, &p, &next, &e) == 0)
			fail_msg("a page cut at byte %zu was accepted", cut);
		assert_int_equal(sf_error_kind(c), SF_E_PARSE);
		assert_null(next);
	}
	assert_non_null(strstr(e.msg, "truncated at byte"));
	free(buf);
	sf_client_free(c);
}

static void test_page_escapes(void **state)
{
	sf_client *c = new_client();
	sf_page p;
	char *next = NULL;
	cs_error e = CS_ERROR_INIT;
	const char text[] =
	    " { \"records\" : [ {\"attributes\":{\"type\":\"Lead\"},\"A\":\"x\\\"y\\\\z\\n"
	    "\\u00e9\\ud83d\\ude00\\/\",\"B\":-1.5e3,\"C\":[1,{\"d\":[]}],\"D\":"
	    "{\"E\":{\"F\":true}}} ] , \"done\":true,\"totalSize\":1,\"extra\":"
	    "{\"k\":[null,false]}}\n";
	crmsync_value v;

	assert_int_equal(sf_decode_page_text(c, text, NULL, &p, &next, &e), 0);
	assert_int_equal(p.count, 1);
	assert_string_equal(cs_record_str(p.records[0], "A"), "x\"y\\z\n\xc3\xa9\xf0\x9f\x98\x80/");
	assert_int_equal(cs_record_get(p.records[0], "B", &v), 0);
	assert_true(v.type == CRMSYNC_DOUBLE && v.u.d == -1500.0);
	assert_int_equal(cs_record_get(p.records[0], "C", &v), CRMSYNC_ENOENT);
	assert_int_equal(cs_record_get(p.records[0], "D.E.F", &v), 0);
	assert_int_equal(v.u.b, 1);

	const char *bad[] = {"{\"totalSize\":1,\"done\":true,\"records\":[{\"A\":\"\\ud83d\"}]}",
			     "{\"totalSize\":1,\"done\":true,\"records\":[{\"A\":\"\\q\"}]}",
			     "{\"totalSize\":1,\"done\":true,\"records\":[{\"A\":\"\\u00\"}]}",
			     "{\"totalSize\":1,\"done\":true,\"records\":[{\"A\":\"\\u0000\"}]}",
			     "{\"totalSize\":1,\"done\":true,\"records\":[{\"A\":1}]} x",
			     "{\"totalSize\":1,\"done\":true,\"records\":[{\"A\" 1}]}",
			     "{\"totalSize\":1.5,\"done\":true,\"records\":[]}",
			     "[]",
			     "<html>maintenance</html>"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		if (sf_decode_page_text(c, bad[i], NULL, &p, &next, &e) == 0)
			fail_msg("accepted: %s", bad[i]);
		assert_int_equal(sf_error_kind(c), SF_E_PARSE);
	}
	sf_client_free(c);
}

static void test_limit_info(void **state)
{
	int64_t u = 0, m = 0;
	assert_int_equal(sf_parse_limit_info("api-usage=18/5000", &u, &m), 0);
	assert_true(u == 18 && m == 5000);
	assert_int_equal(
	    sf_parse_limit_info("per-app-api-usage=17/250(appName=x); api-usage=25/15000", &u, &m),
	    0);
	assert_true(u == 25 && m == 15000);
	assert_int_equal(
	    sf_parse_limit_info("api-usage=25/15000; per-app-api-usage=17/250(appName=x)", &u, &m),
	    0);
	assert_true(u == 25 && m == 15000);
	assert_int_equal(sf_parse_limit_info("per-app-api-usage=17/250(appName=x)", &u, &m), -1);
	assert_int_equal(sf_parse_limit_info("api-usage=x/5", &u, &m), -1);
	assert_int_equal(sf_parse_limit_info("api-usage=5/0", &u, &m), -1);
	assert_int_equal(sf_parse_limit_info("", &u, &m), -1);
}

static void test_backoff(void **state)
{
	assert_int_equal(sf_backoff_ms(500, 30000, 0, 0.0), 250);
	assert_int_equal(sf_backoff_ms(500, 30000, 0, 0.999999), 499);
	assert_int_equal(sf_backoff_ms(500, 30000, 1, 0.0), 500);
	assert_int_equal(sf_backoff_ms(500, 30000, 3, 0.0), 2000);
	/* capped, whatever the attempt */
	assert_int_equal(sf_backoff_ms(500, 30000, 10, 0.0), 15000);
	assert_int_equal(sf_backoff_ms(500, 30000, 60, 0.5), 22500);
	assert_true(sf_backoff_ms(500, 30000, 1000, 0.99) <= 30000);
	/* every jitter lies in [d/2, d] */
	for (int a = 0; a < 8; a++)
		for (double r = 0; r < 1; r += 0.1) {
			long ms = sf_backoff_ms(100, 100000, a, r);
			assert_true(ms >= (100L << a) / 2 && ms <= (100L << a));
		}
}

static void test_retry_after(void **state)
{
	/* Sun, 06 Nov 1994 08:49:37 GMT = 784111777 */
	const int64_t now = 784111777;
	assert_int_equal(sf_parse_retry_after("120", now), 120);
	assert_int_equal(sf_parse_retry_after(" 7 ", now), 7);
	assert_int_equal(sf_parse_retry_after("0", now), 0);
	assert_int_equal(sf_parse_retry_after("", now), 0);
	assert_int_equal(sf_parse_retry_after("-5", now), 0);
	assert_int_equal(sf_parse_retry_after("12abc", now), 0);
	assert_int_equal(sf_parse_retry_after("soon", now), 0);
	/* bounded, and no overflow for absurd values */
	assert_int_equal(sf_parse_retry_after("999999999999999999999999", now), 86400);
	assert_int_equal(sf_parse_retry_after("100000", now), 86400);
	/* the HTTP-date form, relative to now; a past date means no wait */
	assert_int_equal(sf_parse_retry_after("Sun, 06 Nov 1994 08:50:07 GMT", now), 30);
	assert_int_equal(sf_parse_retry_after("Sun, 06 Nov 1994 08:49:00 GMT", now), 0);
}

static void test_redact(void **state)
{
	char out[1024];
	const char *extra[] = {"hunter2-secret", NULL};

	sf_redact("grant_type=password&client_id=cid&client_secret=S3cr3t&username=u%40x&"
		  "password=p%40ss",
		  out, sizeof out, NULL);
	assert_string_equal(out, "grant_type=password&client_id=cid&client_secret=[REDACTED]&"
				 "username=u%40x&password=[REDACTED]");
	sf_redact("grant_type=refresh_token&refresh_token=5Aep861&client_id=x", out, sizeof out,
		  NULL);
	assert_string_equal(out, "grant_type=refresh_token&refresh_token=[REDACTED]&client_id=x");
	sf_redact("Authorization: Bearer 00D!AQ8.tok\r\nAccept: */*", out, sizeof out, NULL);
	assert_string_equal(out, "Authorization: [REDACTED]\r\nAccept: */*");
	sf_redact("sent Bearer abc.def to x", out, sizeof out, NULL);
	assert_string_equal(out, "sent Bearer [REDACTED] to x");
	sf_redact("{\"access_token\":\"00D!AQ\\\"x\",\"instance_url\":\"http://h\","
		  "\"refresh_token\" : \"r1\",\"signature\":\"sig\"}",
		  out, sizeof out, NULL);
	assert_string_equal(out, "{\"access_token\":\"[REDACTED]\",\"instance_url\":\"http://h\","
				 "\"refresh_token\":\"[REDACTED]\",\"signature\":\"[REDACTED]\"}");
	sf_redact("the value hunter2-secret appears", out, sizeof out, extra);
	assert_string_equal(out, "the value [REDACTED] appears");
	/* a key inside another word is left alone */
	sf_redact("mypassword=1", out, sizeof out, NULL);
	assert_string_equal(out, "mypassword=1");
	/* truncation keeps the string terminated */
	sf_redact("password=abcdef", out, 5, NULL);
	assert_int_equal(strlen(out), 4);
}

static void test_url_policy(void **state)
{
	cs_error e = CS_ERROR_INIT;
	const char *ok[] = {"https://login.salesforce.com",
			    "https://x.my.salesforce.com:443/",
			    "http://127.0.0.1:8443",
			    "http://127.1.2.3/",
			    "http://localhost:80",
			    "http://[::1]:9000/x",
			    "HTTP://LOCALHOST"};
	const char *bad[] = {"http://192.0.2.1",
			     "http://127.0.0.1.evil.example/",
			     "http://localhost.evil.example",
			     "http://10.0.0.1:80",
			     "http://[::2]:1",
			     "http://user@127.0.0.1/",
			     "ftp://127.0.0.1",
			     "file:///etc/passwd",
			     "login.salesforce.com",
			     "http://128.0.0.1"};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
		assert_int_equal(sf_url_check(ok[i], "url", &e), 0);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(sf_url_check(bad[i], "url", &e), CRMSYNC_EINVAL);
	sf_url_check("http://192.0.2.1", "salesforce.login_url", &e);
	assert_non_null(strstr(e.msg, "salesforce.login_url"));
	assert_non_null(strstr(e.msg, "not loopback"));

	/* the client refuses it before any connection is tried */
	sf_config cfg = {
	    .login_url = "http://192.0.2.1", .client_id = "c", .username = "u", .password = "p"};
	int64_t t0 = cs_now_ms();
	assert_null(sf_client_new(&cfg, &e));
	assert_non_null(strstr(e.msg, "http://192.0.2.1"));
	assert_true(cs_now_ms() - t0 < 1000);
}

static void test_config_checks(void **state)
{
	cs_error e = CS_ERROR_INIT;
	sf_config cfg = {.login_url = "https://login.salesforce.com", .client_id = "c"};
	assert_null(sf_client_new(&cfg, &e));
	assert_non_null(strstr(e.msg, "password"));
	cfg.grant = SF_GRANT_REFRESH_TOKEN;
	assert_null(sf_client_new(&cfg, &e));
	assert_non_null(strstr(e.msg, "refresh_token"));
	cfg.refresh_token = "rt";
	cfg.api_version = "59.0; DROP";
	assert_null(sf_client_new(&cfg, &e));
	cfg.api_version = NULL;
	sf_client *c = sf_client_new(&cfg, &e);
	assert_non_null(c);
	int64_t used, max, budget;
	sf_limits(c, &used, &max, &budget);
	assert_true(used == -1 && max == -1 && budget == -1);
	sf_buf b = {0};
	assert_int_equal(sf_query_url(c, &b, "SELECT Id FROM Lead"), 0);
	assert_string_equal(b.s, "/services/data/v59.0/query?q=SELECT%20Id%20FROM%20Lead");
	sf_buf_free(&b);
	sf_client_free(c);
}

static void test_describe_types(void **state)
{
	assert_int_equal(sf_type_from_describe("id"), CRMSYNC_ID);
	assert_int_equal(sf_type_from_describe("reference"), CRMSYNC_ID);
	assert_int_equal(sf_type_from_describe("boolean"), CRMSYNC_BOOLEAN);
	assert_int_equal(sf_type_from_describe("int"), CRMSYNC_INTEGER);
	assert_int_equal(sf_type_from_describe("double"), CRMSYNC_DOUBLE);
	assert_int_equal(sf_type_from_describe("currency"), CRMSYNC_DOUBLE);
	assert_int_equal(sf_type_from_describe("percent"), CRMSYNC_DOUBLE);
	assert_int_equal(sf_type_from_describe("date"), CRMSYNC_DATE);
	assert_int_equal(sf_type_from_describe("datetime"), CRMSYNC_DATETIME);
	assert_int_equal(sf_type_from_describe("picklist"), CRMSYNC_STRING);
	assert_int_equal(sf_type_from_describe("address"), CRMSYNC_STRING);
	assert_string_equal(sf_error_kind_name(SF_E_BUDGET), "budget exhausted");
	assert_string_equal(sf_error_kind_name(99), "unknown");
}

/* Compound fields (an address, a geolocation) are not selected: their
 * components, which describe lists as fields of their own, are. */
static void test_fields_select_compound(void **state)
{
	(void)state;
	static const crmsync_field_desc f[] = {
	    {.name = "Id", .type = CRMSYNC_ID, .crm_type = "id"},
	    {.name = "Street", .type = CRMSYNC_STRING, .crm_type = "textarea"},
	    {.name = "City", .type = CRMSYNC_STRING, .crm_type = "string"},
	    {.name = "Address", .type = CRMSYNC_STRING, .crm_type = "address"},
	    {.name = "Site__c", .type = CRMSYNC_STRING, .crm_type = "location"},
	    {.name = "Site__Latitude__s", .type = CRMSYNC_DOUBLE, .crm_type = "double"},
	};
	sf_describe d = {.name = "Lead", .nfields = 6, .fields = f};
	crmsync_field_desc *sel = NULL;
	size_t n = 0;
	cs_error err = CS_ERROR_INIT;
	assert_int_equal(sf_fields_select(&d, NULL, &sel, &n, &err), 0);
	assert_int_equal(n, 4);
	for (size_t i = 0; i < n; i++)
		assert_true(strcmp(sel[i].name, "Address") != 0 &&
			    strcmp(sel[i].name, "Site__c") != 0);
	assert_string_equal(sel[3].name, "Site__Latitude__s");
	free(sel);
	/* named in fields: still not selected (a warning says so) */
	const char *want[] = {"City", "Address", NULL};
	assert_int_equal(sf_fields_select(&d, want, &sel, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_string_equal(sel[0].name, "Id");
	assert_string_equal(sel[1].name, "City");
	free(sel);
}

static void test_record_to_json(void **state)
{
	cs_record *r = cs_record_new();
	int64_t ms;
	cs_parse_datetime("2024-05-06T07:08:09.010Z", &ms);
	cs_record_set_str(r, "LastName", CRMSYNC_STRING, "Q\"uote", -1);
	cs_record_set_int(r, "SystemModstamp", CRMSYNC_DATETIME, ms);
	cs_record_set_null(r, "Email");
	cs_record_set_bool(r, "HasOptedOutOfEmail", 1);
	cs_record_set_str(r, "Id", CRMSYNC_ID, "00Q5g00000AbCdEFGH", -1);
	json_t *j = sf_record_to_json(r, "Lead", "Id");
	char *s = json_dumps(j, JSON_COMPACT);
	assert_string_equal(s, "{\"attributes\":{\"type\":\"Lead\"},\"LastName\":\"Q\\\"uote\","
			       "\"SystemModstamp\":\"2024-05-06T07:08:09.010+0000\",\"Email\":null,"
			       "\"HasOptedOutOfEmail\":true}");
	free(s);
	json_decref(j);
	cs_record_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_page_decode),
	    cmocka_unit_test(test_page_decode_without_describe),
	    cmocka_unit_test(test_page_repeated_keys),
	    cmocka_unit_test(test_page_decode_errors),
	    cmocka_unit_test(test_page_truncated_everywhere),
	    cmocka_unit_test(test_page_escapes),
	    cmocka_unit_test(test_limit_info),
	    cmocka_unit_test(test_backoff),
	    cmocka_unit_test(test_retry_after),
	    cmocka_unit_test(test_redact),
	    cmocka_unit_test(test_url_policy),
	    cmocka_unit_test(test_config_checks),
	    cmocka_unit_test(test_describe_types),
	    cmocka_unit_test(test_fields_select_compound),
	    cmocka_unit_test(test_record_to_json),
	};
	return cmocka_run_group_tests_name("sf_parts", tests, NULL, NULL);
}
