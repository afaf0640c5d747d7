/*
 * bk_values.c - value helpers both storage backends compile in (bk_values.h).
 */
#include "bk_values.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int bk_utf8_valid(const unsigned char *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned c = p[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t len;
		unsigned min, cp;
		if ((c & 0xe0) == 0xc0) {
			len = 2, min = 0x80, cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3, min = 0x800, cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4, min = 0x10000, cp = c & 0x07;
		} else {
			return 0;
		}
		if (i + len > n)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

/* "00" to "99": two digits per lookup */
static const char bk_pairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233"
    "34353637383940414243444546474849505152535455565758596061626364656667"
    "6869707172737475767778798081828384858687888990919293949596979899";

static inline void bk_put2(char *p, unsigned v)
{
	memcpy(p, &bk_pairs[2 * v], 2);
}

/* Days outside years 0000-03-01 to 9999: 64-bit arithmetic; a year outside
 * 0-9999 keeps the number. */
static void bk_format_far(int64_t days, int64_t rem, int64_t ms, char buf[40])
{
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	if (y < 0 || y > 9999) {
		snprintf(buf, 40, "%lld", (long long)ms);
		return;
	}
	int64_t sec = rem / 1000;
	snprintf(buf, 40, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", (int)y, (int)m, (int)d,
		 (int)(sec / 3600), (int)(sec / 60 % 60), (int)(sec % 60), (int)(rem % 1000));
}

/* Without stdio: upsert formats two datetimes per lead, and snprintf was a
 * tenth of its time. Civil-from-days after H. Hinnant, in 32-bit arithmetic
 * once the day is known to be in years 0-9999 (a third of the instructions
 * of the 64-bit digit loop it replaced). */
void bk_format_datetime(int64_t ms, char buf[40])
{
	int64_t days = ms / 86400000, rem = ms % 86400000;
	if (rem < 0) {
		rem += 86400000;
		days--;
	}
	/* 0000-03-01 is day -719468, 9999-12-31 day 2932896 */
	if (days < -719468 || days > 2932896) {
		bk_format_far(days, rem, ms, buf);
		return;
	}
	uint32_t z = (uint32_t)(days + 719468);
	uint32_t era = z / 146097, doe = z - era * 146097;
	uint32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	uint32_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	uint32_t mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
	uint32_t m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	uint32_t r = (uint32_t)rem, sec = r / 1000;
	bk_put2(buf, y / 100);
	bk_put2(buf + 2, y % 100);
	buf[4] = '-';
	bk_put2(buf + 5, m);
	buf[7] = '-';
	bk_put2(buf + 8, d);
	buf[10] = 'T';
	bk_put2(buf + 11, sec / 3600);
	buf[13] = ':';
	bk_put2(buf + 14, sec / 60 % 60);
	buf[16] = ':';
	bk_put2(buf + 17, sec % 60);
	buf[19] = '.';
	buf[20] = (char)('0' + r % 1000 / 100);
	bk_put2(buf + 21, r % 100);
	buf[23] = 'Z';
	buf[24] = 0;
}

void bk_double_text(double d, char *buf, size_t cap)
{
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, cap, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			return;
	}
}

const char *bk_type_name(int t)
{
	static const char *const n[] = {"null",	   "string", "integer",	 "double",
					"boolean", "date",   "datetime", "id"};
	return t >= 0 && t <= CRMSYNC_ID ? n[t] : "unknown";
}

int bk_value_equal(const crmsync_value *a, const crmsync_value *b)
{
	if (a->type != b->type)
		return 0;
	switch (a->type) {
	case CRMSYNC_NULL:
		return 1;
	case CRMSYNC_INTEGER:
	case CRMSYNC_DATETIME:
		return a->u.i == b->u.i;
	case CRMSYNC_BOOLEAN:
		return !a->u.b == !b->u.b;
	case CRMSYNC_DOUBLE:
		return a->u.d == b->u.d;
	default:
		return a->len == b->len && (a->len == 0 || memcmp(a->u.s, b->u.s, a->len) == 0);
	}
}

int bk_parse_ms(const crmsync_host *host, const crmsync_value *v, int64_t *ms, char tmp[64])
{
	snprintf(tmp, 64, "%.*s", (int)(v->len < 63 ? v->len : 63), v->u.s);
	return host->parse_datetime(tmp, ms) ? -1 : 1;
}

void bk_change_field(const crmsync_host *host, crmsync_record *values, crmsync_record *before,
		     const char *name, const crmsync_value *v, int insert)
{
	crmsync_value b;
	if (insert) {
		if (v->type != CRMSYNC_NULL)
			host->record_set(values, name, v);
		return;
	}
	/* Changed and changed back: nothing to send for it. */
	if (host->record_get(before, name, &b) == 0 && bk_value_equal(v, &b)) {
		host->record_unset(before, name);
		return;
	}
	host->record_set(values, name, v);
}
