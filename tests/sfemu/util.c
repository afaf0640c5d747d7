/*
 * util.c - text buffers, JSON string escaping, Salesforce date formats and
 * 18-character id checksums, shared by every part of the emulator.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sfemu.h"

void buf_reserve(buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + extra + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p)
		abort();
	b->p = p;
	b->cap = cap;
}

void buf_put(buf *b, const char *s, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

void buf_puts(buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

void buf_putc(buf *b, char c)
{
	buf_reserve(b, 1);
	b->p[b->len++] = c;
	b->p[b->len] = 0;
}

void buf_printf(buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	buf_reserve(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void buf_json_str(buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	buf_reserve(b, n + 2);
	char *o = b->p + b->len;
	*o++ = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\') {
			*o++ = (char)c;
			continue;
		}
		b->len = (size_t)(o - b->p);
		buf_reserve(b, 6 + (n - i) + 1);
		o = b->p + b->len;
		*o++ = '\\';
		switch (c) {
		case '"':
			*o++ = '"';
			break;
		case '\\':
			*o++ = '\\';
			break;
		case '\n':
			*o++ = 'n';
			break;
		case '\r':
			*o++ = 'r';
			break;
		case '\t':
			*o++ = 't';
			break;
		default:
			*o++ = 'u';
			*o++ = '0';
			*o++ = '0';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o++ = '"';
	b->len = (size_t)(o - b->p);
	b->p[b->len] = 0;
}

void buf_free(buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}

char *buf_take(buf *b)
{
	if (!b->p)
		buf_reserve(b, 0);
	b->p[b->len] = 0;
	char *p = b->p;
	b->p = NULL;
	b->len = b->cap = 0;
	return p;
}

/* ---- time (proleptic Gregorian, UTC) ---- */

int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t yy = (int64_t)yoe + era * 400;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned dd = doy - (153 * mp + 2) / 5 + 1;
	unsigned mm = mp < 10 ? mp + 3 : mp - 9;
	*y = (int)(yy + (mm <= 2));
	*m = (int)mm;
	*d = (int)dd;
}

static int64_t floordiv(int64_t a, int64_t b)
{
	int64_t q = a / b;
	if ((a % b) && ((a < 0) != (b < 0)))
		q--;
	return q;
}

static void put2(char *o, int v)
{
	o[0] = (char)('0' + v / 10 % 10);
	o[1] = (char)('0' + v % 10);
}

void fmt_datetime(int64_t ms, char out[32])
{
	int64_t days = floordiv(ms, 86400000);
	int64_t rem = ms - days * 86400000;
	int y, m, d;
	civil_from_days(days, &y, &m, &d);
	int h = (int)(rem / 3600000), mi = (int)(rem / 60000 % 60), s = (int)(rem / 1000 % 60),
	    f = (int)(rem % 1000);
	if (y < 0)
		y = 0;
	if (y > 9999)
		y = 9999;
	put2(out, y / 100);
	put2(out + 2, y % 100);
	out[4] = '-';
	put2(out + 5, m);
	out[7] = '-';
	put2(out + 8, d);
	out[10] = 'T';
	put2(out + 11, h);
	out[13] = ':';
	put2(out + 14, mi);
	out[16] = ':';
	put2(out + 17, s);
	out[19] = '.';
	out[20] = (char)('0' + f / 100);
	put2(out + 21, f % 100);
	memcpy(out + 23, "+0000", 6);
}

void fmt_date(int64_t ms, char out[16])
{
	char t[32];
	fmt_datetime(ms, t);
	memcpy(out, t, 10);
	out[10] = 0;
}

static int digits(const char *s, int n, int *v)
{
	int x = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		x = x * 10 + (s[i] - '0');
	}
	*v = x;
	return 0;
}

int parse_date(const char *s, char out[11])
{
	int y, m, d;
	if (strlen(s) != 10 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &m) ||
	    s[7] != '-' || digits(s + 8, 2, &d) || m < 1 || m > 12 || d < 1 || d > 31)
		return -1;
	memcpy(out, s, 10);
	out[10] = 0;
	return 0;
}

int parse_datetime(const char *s, int64_t *ms)
{
	int y, mo, d, h = 0, mi = 0, se = 0, frac = 0;
	size_t n = strlen(s);
	if (n < 10 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
	    digits(s + 8, 2, &d) || mo < 1 || mo > 12 || d < 1 || d > 31)
		return -1;
	const char *p = s + 10;
	int64_t off = 0;
	if (*p == 'T' || *p == ' ') {
		p++;
		if (digits(p, 2, &h) || p[2] != ':' || digits(p + 3, 2, &mi))
			return -1;
		p += 5;
		if (*p == ':') {
			if (digits(p + 1, 2, &se))
				return -1;
			p += 3;
		}
		if (*p == '.') {
			p++;
			int nd = 0;
			frac = 0;
			while (*p >= '0' && *p <= '9') {
				if (nd < 3)
					frac = frac * 10 + (*p - '0');
				nd++;
				p++;
			}
			if (nd == 0)
				return -1;
			for (; nd < 3; nd++)
				frac *= 10;
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-' || *p == ' ') {
			/* a '+' decoded as a space by a form decoder is still an offset */
			int sign = *p == '-' ? -1 : 1, oh, om;
			p++;
			if (digits(p, 2, &oh))
				return -1;
			p += 2;
			if (*p == ':')
				p++;
			if (digits(p, 2, &om))
				return -1;
			p += 2;
			off = sign * ((int64_t)oh * 3600000 + (int64_t)om * 60000);
		} else if (*p) {
			return -1;
		}
		if (*p)
			return -1;
		if (h > 23 || mi > 59 || se > 60)
			return -1;
	} else if (*p) {
		return -1;
	}
	*ms = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400000 + (int64_t)h * 3600000 +
	      (int64_t)mi * 60000 + (int64_t)se * 1000 + frac - off;
	return 0;
}

int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- ids ---- */

static int is_b62(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

int id_checksum(const char id15[15], char out[3])
{
	static const char map[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
	for (int c = 0; c < 3; c++) {
		int v = 0;
		for (int i = 0; i < 5; i++) {
			char ch = id15[c * 5 + i];
			if (!is_b62(ch))
				return -1;
			if (ch >= 'A' && ch <= 'Z')
				v |= 1 << i;
		}
		out[c] = map[v];
	}
	return 0;
}

int id_norm(const char *in, char out[19])
{
	size_t n = in ? strlen(in) : 0;
	char ck[3];
	if (n != 15 && n != 18)
		return -1;
	if (id_checksum(in, ck))
		return -1;
	if (n == 18) {
		/* the checksum is case-insensitive in practice; accept either case */
		for (int i = 0; i < 3; i++) {
			char c = in[15 + i];
			if (c >= 'a' && c <= 'z')
				c = (char)(c - 32);
			if (c != ck[i])
				return -1;
		}
	}
	memcpy(out, in, 15);
	memcpy(out + 15, ck, 3);
	out[18] = 0;
	return 0;
}

int emu_seterr(emu_err *e, int http, const char *code, const char *fields, const char *fmt, ...)
{
	if (!e)
		return -1;
	e->http = http;
	snprintf(e->code, sizeof e->code, "%s", code);
	snprintf(e->fields, sizeof e->fields, "%s", fields ? fields : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	return -1;
}
