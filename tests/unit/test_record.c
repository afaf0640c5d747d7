/*
 * test_record.c - the record model and the date formats: values round-trip
 * exactly, names match case-insensitively, reuse keeps buffers.
 */
#include "config.h"
#include "record.h"
#include "timeutil.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

static void test_set_get_case_insensitive(void **state)
{
	(void)state;
	cs_record *r = cs_record_new();
	crmsync_value v;

	assert_int_equal(cs_record_set_str(r, "LastName", CRMSYNC_STRING, "O'Brien \"x\" \xc3\xa9", -1), 0);
	assert_int_equal(cs_record_get(r, "lastname", &v), 0);
	assert_int_equal(v.type, CRMSYNC_STRING);
	assert_string_equal(v.u.s, "O'Brien \"x\" \xc3\xa9");
	assert_int_equal(cs_record_get(r, "FirstName", &v), CRMSYNC_ENOENT);
	/* replace keeps one field */
	assert_int_equal(cs_record_set_int(r, "LASTNAME", CRMSYNC_INTEGER, 7), 0);
	assert_int_equal(cs_record_count(r), 1);
	assert_int_equal(cs_record_get(r, "LastName", &v), 0);
	assert_int_equal(v.u.i, 7);
	cs_record_free(r);
}

static void test_empty_string_is_not_null(void **state)
{
	(void)state;
	cs_record *r = cs_record_new();
	crmsync_value a, b;

	cs_record_set_str(r, "A", CRMSYNC_STRING, "", 0);
	cs_record_set_null(r, "B");
	cs_record_get(r, "A", &a);
	cs_record_get(r, "B", &b);
	assert_int_equal(a.type, CRMSYNC_STRING);
	assert_int_equal(a.len, 0);
	assert_int_equal(b.type, CRMSYNC_NULL);
	assert_false(cs_value_equal(&a, &b));
	cs_record_free(r);
}

static void test_unset_clear_reuse_order(void **state)
{
	(void)state;
	cs_record *r = cs_record_new();
	const char *name;
	crmsync_value v;
	char big[100001];

	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	for (int round = 0; round < 3; round++) {
		cs_record_clear(r);
		cs_record_set_str(r, "Id", CRMSYNC_ID, "00Q000000000001AAA", -1);
		cs_record_set_str(r, "Description", CRMSYNC_STRING, big, -1);
		cs_record_set_bool(r, "IsConverted", 1);
		assert_int_equal(cs_record_count(r), 3);
		assert_int_equal(cs_record_unset(r, "description"), 0);
		assert_int_equal(cs_record_count(r), 2);
		assert_int_equal(cs_record_at(r, 1, &name, &v), 0);
		assert_string_equal(name, "IsConverted");
		assert_int_equal(v.u.b, 1);
		assert_int_equal(cs_record_at(r, 2, &name, &v), CRMSYNC_ENOENT);
		/* the field set again after unset gets its whole value */
		cs_record_set_str(r, "Description", CRMSYNC_STRING, big, -1);
		assert_int_equal(cs_record_get(r, "Description", &v), 0);
		assert_int_equal(v.len, 100000);
	}
	cs_record *copy = cs_record_new();
	assert_int_equal(cs_record_copy_into(copy, r), 0);
	assert_string_equal(cs_record_str(copy, "Id"), "00Q000000000001AAA");
	cs_record_free(copy);
	cs_record_free(r);
}

static void test_double_text_round_trips(void **state)
{
	(void)state;
	const double vals[] = {0.1, 1e300, 12345678901234.56, -0.0, 3.0, 1.0 / 3.0, 5e-324};
	char buf[64];

	for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
		cs_double_text(vals[i], buf, sizeof buf);
		assert_true(strtod(buf, NULL) == vals[i]);
		assert_true(signbit(strtod(buf, NULL)) == signbit(vals[i]));
	}
	cs_double_text(0.1, buf, sizeof buf);
	assert_string_equal(buf, "0.1");
	cs_double_text(12345678901234.56, buf, sizeof buf);
	assert_string_equal(buf, "12345678901234.56");
}

static void test_datetime_formats(void **state)
{
	(void)state;
	int64_t ms;
	char buf[40];

	assert_int_equal(cs_parse_datetime("2024-01-01T00:00:00.000+0000", &ms), 0);
	assert_int_equal(ms, 1704067200000LL);
	assert_int_equal(cs_parse_datetime("2024-01-01T00:00:00Z", &ms), 0);
	assert_int_equal(ms, 1704067200000LL);
	assert_int_equal(cs_parse_datetime("2024-01-01T02:30:00.5+02:30", &ms), 0);
	assert_int_equal(ms, 1704067200500LL);
	assert_int_equal(cs_parse_datetime("2023-12-31T19:00:00.123-0500", &ms), 0);
	assert_int_equal(ms, 1704067200123LL);
	cs_format_datetime(1704067200123LL, buf, sizeof buf);
	assert_string_equal(buf, "2024-01-01T00:00:00.123Z");
	cs_format_datetime_sf(1704067200123LL, buf, sizeof buf);
	assert_string_equal(buf, "2024-01-01T00:00:00.123+0000");
	cs_format_datetime(-1, buf, sizeof buf);
	assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
	const char *bad[] = {"2024-02-30T00:00:00Z", "2024-01-01 00:00:00Z", "2024-01-01T00:00:00",
			     "2024-01-01T25:00:00Z", "2024-01-01T00:00:00+0", "garbage", "",
			     "2024-01-01T00:00:00.Z"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(cs_parse_datetime(bad[i], &ms), -1);
	int y, m, d;
	assert_int_equal(cs_parse_date("2024-02-29", &y, &m, &d), 0);
	assert_int_equal(cs_parse_date("2023-02-29", &y, &m, &d), -1);
}

static void test_durations(void **state)
{
	(void)state;
	int64_t ms;
	assert_int_equal(cs_parse_duration_ms("5m", &ms), 0);
	assert_int_equal(ms, 300000);
	assert_int_equal(cs_parse_duration_ms("1", &ms), 0);
	assert_int_equal(ms, 1000);
	assert_int_equal(cs_parse_duration_ms("250ms", &ms), 0);
	assert_int_equal(ms, 250);
	assert_int_equal(cs_parse_duration_ms("30d", &ms), 0);
	assert_int_equal(ms, 2592000000LL);
	assert_int_equal(cs_parse_duration_ms("5x", &ms), -1);
	assert_int_equal(cs_parse_duration_ms("-5s", &ms), -1);
	assert_int_equal(cs_parse_duration_ms("", &ms), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_get_case_insensitive),
		cmocka_unit_test(test_empty_string_is_not_null),
		cmocka_unit_test(test_unset_clear_reuse_order),
		cmocka_unit_test(test_double_text_round_trips),
		cmocka_unit_test(test_datetime_formats),
		cmocka_unit_test(test_durations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
