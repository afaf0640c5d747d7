/* test_sf_soql.c - the SOQL builder: literal escaping with hostile values,
 * id/date/datetime validation, identifiers, and the keyset pull query. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sf.h"
#include "timeutil.h"

static char out[4096];

/* Build one literal with f and return its text ("" after an error). */
#define LIT(call)                                                                                  \
	do {                                                                                       \
		sf_buf b_ = {0};                                                                   \
		cs_error e_ = CS_ERROR_INIT;                                                       \
		int rc_ = (call);                                                                  \
		snprintf(out, sizeof out, "%s", rc_ == 0 && b_.s ? b_.s : "");                     \
		last_rc = rc_;                                                                     \
		snprintf(last_msg, sizeof last_msg, "%s", e_.msg);                                 \
		sf_buf_free(&b_);                                                                  \
	} while (0)

static int last_rc;
static char last_msg[CS_ERROR_MAX];

static const char *str(const char *s)
{
	LIT(sf_soql_string(&b_, s, strlen(s), &e_));
	return out;
}

static void test_string_escapes(void **state)
{
	assert_string_equal(str("plain"), "'plain'");
	assert_string_equal(str("O'Brien"), "'O\\'Brien'");
	assert_string_equal(str("back\\slash"), "'back\\\\slash'");
	assert_string_equal(str("say \"hi\""), "'say \\\"hi\\\"'");
	assert_string_equal(str("a\nb\rc\td\be\ff"), "'a\\nb\\rc\\td\\be\\ff'");
	/* other control characters become \uXXXX */
	assert_string_equal(str("x\x01y\x1fz"), "'x\\u0001y\\u001fz'");
	/* an injection attempt stays inside the literal */
	assert_string_equal(str("x' OR Name != 'y"), "'x\\' OR Name != \\'y'");
	assert_string_equal(str("\\' OR 1=1 --"), "'\\\\\\' OR 1=1 --'");
	/* % and _ are plain characters outside LIKE */
	assert_string_equal(str("50%_off"), "'50%_off'");
	/* unicode passes through as UTF-8 */
	assert_string_equal(str("Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x98\x80"),
			    "'Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x98\x80'");
	assert_string_equal(str(""), "''");
}

static void test_string_rejects(void **state)
{
	sf_buf b = {0};
	cs_error e = CS_ERROR_INIT;
	/* an embedded NUL */
	assert_int_equal(sf_soql_string(&b, "a\0b", 3, &e), CRMSYNC_EINVAL);
	assert_non_null(strstr(e.msg, "NUL"));
	sf_buf_free(&b);
	/* invalid UTF-8: lone continuation, overlong, surrogate, truncated */
	const char *bad[] = {"\x80", "\xc0\xaf", "\xed\xa0\x80", "\xe2\x82", "\xf5\x80\x80\x80"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		sf_buf b2 = {0};
		assert_int_equal(sf_soql_string(&b2, bad[i], strlen(bad[i]), &e), CRMSYNC_EINVAL);
		assert_non_null(strstr(e.msg, "UTF-8"));
		sf_buf_free(&b2);
	}
}

static void test_like_literal(void **state)
{
	LIT(sf_soql_like_literal(&b_, "50%_off's", 9, &e_));
	assert_string_equal(out, "'50\\%\\_off\\'s'");
}

static void test_dates_and_ids(void **state)
{
	LIT(sf_soql_date(&b_, "2024-02-29", &e_));
	assert_string_equal(out, "2024-02-29");
	LIT(sf_soql_date(&b_, "2023-02-29", &e_));
	assert_int_equal(last_rc, CRMSYNC_EINVAL);
	LIT(sf_soql_date(&b_, "2024-01-01' OR '1'='1", &e_));
	assert_int_equal(last_rc, CRMSYNC_EINVAL);

	int64_t ms;
	assert_int_equal(cs_parse_datetime("2024-01-02T03:04:05Z", &ms), 0);
	LIT(sf_soql_datetime(&b_, ms));
	assert_string_equal(out, "2024-01-02T03:04:05Z");
	LIT(sf_soql_datetime(&b_, ms + 7));
	assert_string_equal(out, "2024-01-02T03:04:05.007Z");

	LIT(sf_soql_id(&b_, "00Q5g00000AbCdEFGH", &e_));
	assert_string_equal(out, "'00Q5g00000AbCdEFGH'");
	LIT(sf_soql_id(&b_, "001D000000IRFma", &e_));
	assert_string_equal(out, "'001D000000IRFma'");
	const char *bad[] = {"",
			     "00Q5g00000AbCd",
			     "00Q5g00000AbCdEFG",
			     "00Q5g00000AbCdEF'H",
			     "00Q5g00000AbCdEF H",
			     "00Q5g00000AbCdEFGHI"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		LIT(sf_soql_id(&b_, bad[i], &e_));
		assert_int_equal(last_rc, CRMSYNC_EINVAL);
		assert_non_null(strstr(last_msg, "not a Salesforce id"));
	}
	assert_int_equal(sf_id_valid(NULL), 0);
}

static void test_numbers_and_values(void **state)
{
	LIT(sf_soql_bool(&b_, 1));
	assert_string_equal(out, "true");
	LIT(sf_soql_int(&b_, -42));
	assert_string_equal(out, "-42");
	LIT(sf_soql_double(&b_, 0.1, &e_));
	assert_string_equal(out, "0.1");
	LIT(sf_soql_double(&b_, 1.0 / 0.0, &e_));
	assert_int_equal(last_rc, CRMSYNC_EINVAL);
	crmsync_value v = {.type = CRMSYNC_NULL};
	LIT(sf_soql_value(&b_, &v, &e_));
	assert_string_equal(out, "null");
	v.type = CRMSYNC_STRING;
	v.u.s = "it's";
	v.len = 4;
	LIT(sf_soql_value(&b_, &v, &e_));
	assert_string_equal(out, "'it\\'s'");
	v.type = CRMSYNC_ID;
	v.u.s = "bad id";
	v.len = 6;
	LIT(sf_soql_value(&b_, &v, &e_));
	assert_int_equal(last_rc, CRMSYNC_EINVAL);
}

static void test_identifiers(void **state)
{
	LIT(sf_soql_ident(&b_, "Owner.Name", &e_));
	assert_string_equal(out, "Owner.Name");
	LIT(sf_soql_ident(&b_, "Invoice__c", &e_));
	assert_string_equal(out, "Invoice__c");
	const char *bad[] = {"",      "Name FROM User--", "a,b",    "1abc",
			     ".Name", "Owner..Name",	  "Owner.", "Na'me"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		LIT(sf_soql_ident(&b_, bad[i], &e_));
		assert_int_equal(last_rc, CRMSYNC_EINVAL);
	}
	/* SOQL follows at most five parent relationships (found by fuzz_soql) */
	LIT(sf_soql_ident(&b_, "A.B.C.D.E.Name", &e_));
	assert_string_equal(out, "A.B.C.D.E.Name");
	LIT(sf_soql_ident(&b_, "A.B.C.D.E.F.Name", &e_));
	assert_int_equal(last_rc, CRMSYNC_EINVAL);
	assert_non_null(strstr(last_msg, "at most 5"));
}

static void test_keyset(void **state)
{
	const char *f[] = {"Id", "LastName", "Owner.Name", "SystemModstamp"};
	int64_t ms;
	assert_int_equal(cs_parse_datetime("2024-01-01T00:00:00.250Z", &ms), 0);

	LIT(sf_soql_keyset(&b_, "Lead", f, 4, ms, "00Q000000000001AAA", "IsConverted = false", 2000,
			   &e_));
	assert_string_equal(out, "SELECT Id,LastName,Owner.Name,SystemModstamp FROM Lead WHERE "
				 "(SystemModstamp > 2024-01-01T00:00:00.250Z OR (SystemModstamp "
				 "= 2024-01-01T00:00:00.250Z AND Id > '00Q000000000001AAA')) AND "
				 "(IsConverted = false) ORDER BY SystemModstamp, Id LIMIT 2000");
	LIT(sf_soql_keyset(&b_, "Lead", f, 2, 0, NULL, NULL, 500, &e_));
	assert_string_equal(out,
			    "SELECT Id,LastName FROM Lead ORDER BY SystemModstamp, Id LIMIT 500");
	LIT(sf_soql_keyset(&b_, "Lead", f, 1, 0, NULL, "Email != null", 0, &e_));
	assert_string_equal(
	    out, "SELECT Id FROM Lead WHERE (Email != null) ORDER BY SystemModstamp, Id");
	LIT(sf_soql_keyset(&b_, "Lead", f, 1, ms - 250, NULL, NULL, 10, &e_));
	assert_string_equal(out, "SELECT Id FROM Lead WHERE SystemModstamp > 2024-01-01T00:00:00Z "
				 "ORDER BY SystemModstamp, Id LIMIT 10");
	/* a hostile id or field name is refused, not spliced in */
	LIT(sf_soql_keyset(&b_, "Lead", f, 1, ms, "x' OR Id != '", NULL, 10, &e_));
	assert_int_equal(last_rc, CRMSYNC_EINVAL);
	const char *evil[] = {"Id FROM User WHERE Name != null --"};
	LIT(sf_soql_keyset(&b_, "Lead", evil, 1, 0, NULL, NULL, 10, &e_));
	assert_int_equal(last_rc, CRMSYNC_EINVAL);
	LIT(sf_soql_keyset(&b_, "Lead", f, 0, 0, NULL, NULL, 10, &e_));
	assert_int_equal(last_rc, CRMSYNC_EINVAL);
}

/* the first copy's query: Id order, from after the last id stored */
static void test_by_id(void **state)
{
	const char *f[] = {"Id", "LastName", "SystemModstamp"};
	LIT(sf_soql_by_id(&b_, "Lead", f, 3, "00Q000000000001AAA", "IsConverted = false", 2000,
			  &e_));
	assert_string_equal(out, "SELECT Id,LastName,SystemModstamp FROM Lead WHERE Id > "
				 "'00Q000000000001AAA' AND (IsConverted = false) ORDER BY Id "
				 "LIMIT 2000");
	LIT(sf_soql_by_id(&b_, "Lead", f, 2, NULL, NULL, 500, &e_));
	assert_string_equal(out, "SELECT Id,LastName FROM Lead ORDER BY Id LIMIT 500");
	LIT(sf_soql_by_id(&b_, "Lead", f, 1, "", "Email != null", 0, &e_));
	assert_string_equal(out, "SELECT Id FROM Lead WHERE (Email != null) ORDER BY Id");
	LIT(sf_soql_by_id(&b_, "Lead", f, 1, "x' OR Id != '", NULL, 10, &e_));
	assert_int_equal(last_rc, CRMSYNC_EINVAL);
	LIT(sf_soql_by_id(&b_, "Lead", f, 0, NULL, NULL, 10, &e_));
	assert_int_equal(last_rc, CRMSYNC_EINVAL);
}

static void test_url_encode(void **state)
{
	sf_buf b = {0};
	assert_int_equal(sf_url_encode(&b, "SELECT Id FROM Lead WHERE Name = 'a&b+c%'"), 0);
	assert_string_equal(b.s,
			    "SELECT%20Id%20FROM%20Lead%20WHERE%20Name%20%3D%20%27a%26b%2Bc%25%27");
	sf_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_string_escapes),
	    cmocka_unit_test(test_string_rejects),
	    cmocka_unit_test(test_like_literal),
	    cmocka_unit_test(test_dates_and_ids),
	    cmocka_unit_test(test_numbers_and_values),
	    cmocka_unit_test(test_identifiers),
	    cmocka_unit_test(test_keyset),
	    cmocka_unit_test(test_by_id),
	    cmocka_unit_test(test_url_encode),
	};
	return cmocka_run_group_tests_name("sf_soql", tests, NULL, NULL);
}
