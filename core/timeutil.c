/* timeutil.c - see timeutil.h. Calendar arithmetic is done by hand (Howard
 * Hinnant's days-from-civil) so no conversion depends on the TZ environment. */
#include "config.h"
#include "timeutil.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t clock_pinned;

int64_t cs_now_ms(void)
{
	struct timespec ts;

	if (clock_pinned)
		return clock_pinned;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void cs_clock_set(int64_t ms)
{
	clock_pinned = ms;
}

int64_t cs_days_from_civil(int y, int m, int d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (unsigned)(m + (m > 2 ? -3 : 9)) + 2) / 5 + (unsigned)d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	z += 719468;
	const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	const unsigned doe = (unsigned)(z - era * 146097);
	const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const unsigned mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)((int64_t)yoe + era * 400 + (*m <= 2));
}

static void split(int64_t ms, int *Y, int *M, int *D, int *h, int *mi, int *s, int *frac)
{
	int64_t days = ms / 86400000, rem = ms % 86400000;
	if (rem < 0) {
		rem += 86400000;
		days--;
	}
	civil_from_days(days, Y, M, D);
	*h = (int)(rem / 3600000);
	*mi = (int)(rem / 60000 % 60);
	*s = (int)(rem / 1000 % 60);
	*frac = (int)(rem % 1000);
}

void cs_format_datetime(int64_t ms, char *buf, size_t cap)
{
	int Y, M, D, h, mi, s, f;
	split(ms, &Y, &M, &D, &h, &mi, &s, &f);
	snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Y, M, D, h, mi, s, f);
}

void cs_format_datetime_sf(int64_t ms, char *buf, size_t cap)
{
	int Y, M, D, h, mi, s, f;
	split(ms, &Y, &M, &D, &h, &mi, &s, &f);
	snprintf(buf, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03d+0000", Y, M, D, h, mi, s, f);
}

static int digits(const char *p, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)p[i]))
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return 0;
}

static int days_in_month(int y, int m)
{
	static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dim[m - 1];
}

static int parse_ymd(const char *p, int *y, int *m, int *d)
{
	if (digits(p, 4, y) || p[4] != '-' || digits(p + 5, 2, m) || p[7] != '-' ||
	    digits(p + 8, 2, d))
		return -1;
	if (*m < 1 || *m > 12 || *d < 1 || *d > days_in_month(*y, *m))
		return -1;
	return 0;
}

int cs_parse_date(const char *text, int *y, int *m, int *d)
{
	if (!text || strlen(text) != 10)
		return -1;
	return parse_ymd(text, y, m, d);
}

int cs_parse_datetime(const char *text, int64_t *ms)
{
	int y, mo, d, h, mi, s, frac = 0;
	const char *p = text;

	if (!text || strlen(text) < 19 || parse_ymd(p, &y, &mo, &d))
		return -1;
	if (p[10] != 'T' || digits(p + 11, 2, &h) || p[13] != ':' || digits(p + 14, 2, &mi) ||
	    p[16] != ':' || digits(p + 17, 2, &s))
		return -1;
	if (h > 23 || mi > 59 || s > 60)
		return -1;
	p += 19;
	if (*p == '.') {
		int n = 0, scale = 100;
		p++;
		while (isdigit((unsigned char)*p)) {
			if (n < 3) {
				frac += (*p - '0') * scale;
				scale /= 10;
			}
			n++;
			p++;
		}
		if (n == 0 || n > 9)
			return -1;
	}
	int64_t off = 0;
	if (*p == 'Z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int oh, om, sign = *p == '-' ? -1 : 1;
		p++;
		if (digits(p, 2, &oh))
			return -1;
		p += 2;
		if (*p == ':')
			p++;
		if (digits(p, 2, &om))
			return -1;
		p += 2;
		if (oh > 23 || om > 59)
			return -1;
		off = sign * ((int64_t)oh * 3600000 + (int64_t)om * 60000);
	} else {
		return -1;
	}
	if (*p)
		return -1;
	*ms = cs_days_from_civil(y, mo, d) * 86400000 + (int64_t)h * 3600000 +
	      (int64_t)mi * 60000 + (int64_t)s * 1000 + frac - off;
	return 0;
}

int cs_parse_duration_ms(const char *text, int64_t *ms)
{
	char *end;
	double v;

	if (!text || !*text || isspace((unsigned char)*text))
		return -1;
	v = strtod(text, &end);
	if (end == text || v < 0)
		return -1;
	double mult;
	if (!*end || strcmp(end, "s") == 0)
		mult = 1000;
	else if (strcmp(end, "ms") == 0)
		mult = 1;
	else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0)
		mult = 60000;
	else if (strcmp(end, "h") == 0)
		mult = 3600000;
	else if (strcmp(end, "d") == 0)
		mult = 86400000;
	else
		return -1;
	if (v * mult > 9.2e18)
		return -1;
	*ms = (int64_t)(v * mult);
	return 0;
}
