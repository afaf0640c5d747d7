/*
 * test_bk_values.c - the value helpers both stores compile in: the text a
 * datetime is stored as, checked against libc's gmtime_r over the years
 * 0001-9999 and at the edges where the text gives way to the number.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "bk_values.h"

/* What gmtime_r says the instant is, as the store writes it. */
static void oracle(int64_t ms, char buf[40])
{
	int64_t sec = ms / 1000, milli = ms % 1000;
	if (milli < 0) {
		milli += 1000;
		sec--;
	}
	time_t t = (time_t)sec;
	struct tm tm;
	assert_non_null(gmtime_r(&t, &tm));
	snprintf(buf, 40, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)milli);
}

static void t_known(void **state)
{
	(void)state;
	static const struct {
		int64_t ms;
		const char *text;
	} v[] = {
	    {0, "1970-01-01T00:00:00.000Z"},
	    {-1, "1969-12-31T23:59:59.999Z"},
	    {1764288000123, "2025-11-28T00:00:00.123Z"},
	    {951782400000, "2000-02-29T00:00:00.000Z"},
	    {-62135596800000, "0001-01-01T00:00:00.000Z"},
	    {253402300799999, "9999-12-31T23:59:59.999Z"},
	    {-62167219200000, "0000-01-01T00:00:00.000Z"},
	    {-62162121600000, "0000-02-29T00:00:00.000Z"},
	    /* outside the years 0-9999: the number itself */
	    {253402300800000, "253402300800000"},
	    {-62167219200001, "-62167219200001"},
	    {INT64_MAX, "9223372036854775807"},
	    {INT64_MIN, "-9223372036854775808"},
	};
	for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
		char buf[40];
		bk_format_datetime(v[i].ms, buf);
		assert_string_equal(buf, v[i].text);
	}
}

static void check(int64_t ms)
{
	char got[40], want[40];
	bk_format_datetime(ms, got);
	oracle(ms, want);
	if (strcmp(got, want) != 0)
		fail_msg("%lld: '%s', gmtime says '%s'", (long long)ms, got, want);
}

/* Every day of the years around 1900 (not leap) and 2000 (leap), every 23rd
 * day of the years 1-9999 at a moving time of day, and random instants. */
static void t_against_gmtime(void **state)
{
	(void)state;
	const int64_t lo = -62135596800000, hi = 253402300800000, day = 86400000;
	const int64_t y1896 = -2335219200000, y1996 = 820454400000;
	long n = 0;
	for (int64_t d = 0; d < 9 * 366; d++, n += 2) {
		check(y1896 + d * day + d % 1000);
		check(y1996 + d * day + day - 1 - d);
	}
	for (int64_t ms = lo; ms < hi; ms += 23 * day + 3600007, n++)
		check(ms);
	uint64_t x = 88172645463325252u; /* xorshift64 */
	for (int i = 0; i < 20000; i++, n++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		check(lo + (int64_t)(x % (uint64_t)(hi - lo)));
	}
	assert_true(n > 170000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_known),
	    cmocka_unit_test(t_against_gmtime),
	};
	return cmocka_run_group_tests_name("backend value helpers", tests, NULL, NULL);
}
