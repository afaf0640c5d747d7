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

static void bk_put(char *p, int64_t v, int digits)
{
	for (int i = digits - 1; i >= 0; i--, v /= 10)
		p[i] = (char)('0' + v % 10);
}

/* Without stdio: upsert formats two datetimes per lead, and snprintf was a
 * tenth of its time. Civil-from-days after H. Hinnant. */
void bk_format_datetime(int64_t ms, char buf[40])
{
	int64_t days = ms / 86400000, rem = ms % 86400000;
	if (rem < 0) {
		rem += 86400000;
		days--;
	}
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t y = yoe + era * 400, doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;
	y += m <= 2;
	if (y < 0 || y > 9999) {
		snprintf(buf, 40, "%lld", (long long)ms); /* out of range: keep the number */
		return;
	}
	bk_put(buf, y, 4);
	buf[4] = '-';
	bk_put(buf + 5, m, 2);
	buf[7] = '-';
	bk_put(buf + 8, d, 2);
	buf[10] = 'T';
	bk_put(buf + 11, rem / 3600000, 2);
	buf[13] = ':';
	bk_put(buf + 14, rem / 60000 % 60, 2);
	buf[16] = ':';
	bk_put(buf + 17, rem / 1000 % 60, 2);
	buf[19] = '.';
	bk_put(buf + 20, rem % 1000, 3);
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
