/* record.c - see record.h. A record is a small array of slots; lookups are a
 * linear scan, which beats hashing at the 10-60 fields a CRM object has. */
#include "config.h"
#include "record.h"
#include "timeutil.h"

#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct rec_slot {
	char *name;
	size_t name_cap;
	size_t name_len;
	char *sbuf; /* string storage of the value, reused */
	size_t s_cap;
	crmsync_value v;
};

struct crmsync_record {
	struct rec_slot *slot;
	size_t n;     /* live fields */
	size_t alloc; /* slots with buffers (>= n) */
};

cs_record *cs_record_new(void)
{
	return calloc(1, sizeof(cs_record));
}

void cs_record_free(cs_record *rec)
{
	if (!rec)
		return;
	for (size_t i = 0; i < rec->alloc; i++) {
		free(rec->slot[i].name);
		free(rec->slot[i].sbuf);
	}
	free(rec->slot);
	free(rec);
}

void cs_record_clear(cs_record *rec)
{
	rec->n = 0;
}

size_t cs_record_heap(const cs_record *rec)
{
	size_t n = rec->alloc * sizeof *rec->slot;
	for (size_t i = 0; i < rec->alloc; i++)
		n += rec->slot[i].name_cap + rec->slot[i].s_cap;
	return n;
}

size_t cs_record_count(const cs_record *rec)
{
	return rec->n;
}

/* Decoders set 30-odd fields per record, each a lookup: compare the length and
 * the folded first letter before the full case-insensitive comparison. */
static long rec_find_len(const cs_record *rec, const char *field, size_t len)
{
	int first = tolower((unsigned char)field[0]);

	for (size_t i = 0; i < rec->n; i++) {
		const struct rec_slot *s = &rec->slot[i];
		if (s->name_len == len && tolower((unsigned char)s->name[0]) == first &&
		    strcasecmp(s->name, field) == 0)
			return (long)i;
	}
	return -1;
}

static long rec_find(const cs_record *rec, const char *field)
{
	return rec_find_len(rec, field, strlen(field));
}

int cs_record_get(const cs_record *rec, const char *field, crmsync_value *out)
{
	long i = rec_find(rec, field);

	if (i < 0)
		return CRMSYNC_ENOENT;
	if (out)
		*out = rec->slot[i].v;
	return 0;
}

int cs_record_at(const cs_record *rec, size_t i, const char **field, crmsync_value *out)
{
	if (i >= rec->n)
		return CRMSYNC_ENOENT;
	if (field)
		*field = rec->slot[i].name;
	if (out)
		*out = rec->slot[i].v;
	return 0;
}

static int rec_reserve(char **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t ncap = *cap ? *cap : 16;
	while (ncap < need)
		ncap *= 2;
	char *nb = realloc(*buf, ncap);
	if (!nb)
		return CRMSYNC_ENOMEM;
	*buf = nb;
	*cap = ncap;
	return 0;
}

static int is_string_type(int type)
{
	return type == CRMSYNC_STRING || type == CRMSYNC_ID || type == CRMSYNC_DATE;
}

static int rec_put(cs_record *rec, long i, const char *field, size_t flen,
		   const crmsync_value *val);

int cs_record_set(cs_record *rec, const char *field, const crmsync_value *val)
{
	size_t flen = strlen(field);
	return rec_put(rec, rec_find_len(rec, field, flen), field, flen, val);
}

int cs_record_add(cs_record *rec, const char *field, const crmsync_value *val)
{
	return rec_put(rec, -1, field, strlen(field), val);
}

/* Set slot i, or a new slot when i < 0. */
static int rec_put(cs_record *rec, long i, const char *field, size_t flen, const crmsync_value *val)
{
	struct rec_slot *s;

	if (i < 0) {
		if (rec->n == rec->alloc) {
			/* 1.5x: a lead's 23 fields fit 24 slots, not 32 */
			size_t na = rec->alloc ? rec->alloc + rec->alloc / 2 : 16;
			struct rec_slot *ns = realloc(rec->slot, na * sizeof *ns);
			if (!ns)
				return CRMSYNC_ENOMEM;
			memset(ns + rec->alloc, 0, (na - rec->alloc) * sizeof *ns);
			rec->slot = ns;
			rec->alloc = na;
		}
		s = &rec->slot[rec->n];
		/* a reused record usually gets the same fields in the same order */
		if (!(s->name && s->name_len == flen && memcmp(s->name, field, flen) == 0)) {
			if (rec_reserve(&s->name, &s->name_cap, flen + 1))
				return CRMSYNC_ENOMEM;
			memcpy(s->name, field, flen + 1);
			s->name_len = flen;
		}
		rec->n++;
	} else {
		s = &rec->slot[i];
	}
	if (is_string_type(val->type)) {
		const char *src = val->u.s ? val->u.s : "";
		size_t len = val->u.s ? val->len : 0;
		/* the source may live in this very buffer (a copy of a field onto itself) */
		if (src == s->sbuf) {
			s->v.type = val->type;
			s->v.len = len;
			return 0;
		}
		if (rec_reserve(&s->sbuf, &s->s_cap, len + 1))
			return CRMSYNC_ENOMEM;
		memcpy(s->sbuf, src, len);
		s->sbuf[len] = '\0';
		s->v.type = val->type;
		s->v.len = len;
		s->v.u.s = s->sbuf;
	} else {
		s->v = *val;
		s->v.len = 0;
	}
	return 0;
}

int cs_record_unset(cs_record *rec, const char *field)
{
	long i = rec_find(rec, field);

	if (i < 0)
		return CRMSYNC_ENOENT;
	/* keep slot buffers: rotate the removed slot past the live ones */
	struct rec_slot gone = rec->slot[i];
	memmove(&rec->slot[i], &rec->slot[i + 1], (rec->n - (size_t)i - 1) * sizeof gone);
	rec->slot[rec->n - 1] = gone;
	rec->n--;
	return 0;
}

int cs_record_set_null(cs_record *rec, const char *field)
{
	crmsync_value v = {.type = CRMSYNC_NULL};
	return cs_record_set(rec, field, &v);
}

int cs_record_set_str(cs_record *rec, const char *field, int type, const char *s, long len)
{
	crmsync_value v = {.type = type};
	if (!s)
		return cs_record_set_null(rec, field);
	v.u.s = s;
	v.len = len < 0 ? strlen(s) : (size_t)len;
	return cs_record_set(rec, field, &v);
}

int cs_record_set_int(cs_record *rec, const char *field, int type, int64_t val)
{
	crmsync_value v = {.type = type, .u.i = val};
	return cs_record_set(rec, field, &v);
}

int cs_record_set_double(cs_record *rec, const char *field, double d)
{
	crmsync_value v = {.type = CRMSYNC_DOUBLE, .u.d = d};
	return cs_record_set(rec, field, &v);
}

int cs_record_set_bool(cs_record *rec, const char *field, int b)
{
	crmsync_value v = {.type = CRMSYNC_BOOLEAN, .u.b = b ? 1 : 0};
	return cs_record_set(rec, field, &v);
}

const char *cs_record_str(const cs_record *rec, const char *field)
{
	crmsync_value v;
	if (cs_record_get(rec, field, &v) || !is_string_type(v.type))
		return NULL;
	return v.u.s;
}

int cs_record_copy_into(cs_record *dst, const cs_record *src)
{
	for (size_t i = 0; i < src->n; i++) {
		int rc = cs_record_set(dst, src->slot[i].name, &src->slot[i].v);
		if (rc)
			return rc;
	}
	return 0;
}

bool cs_value_equal(const crmsync_value *a, const crmsync_value *b)
{
	if (a->type != b->type)
		return false;
	switch (a->type) {
	case CRMSYNC_NULL:
		return true;
	case CRMSYNC_STRING:
	case CRMSYNC_ID:
	case CRMSYNC_DATE:
		return a->len == b->len && memcmp(a->u.s, b->u.s, a->len) == 0;
	case CRMSYNC_INTEGER:
	case CRMSYNC_DATETIME:
		return a->u.i == b->u.i;
	case CRMSYNC_DOUBLE:
		return memcmp(&a->u.d, &b->u.d, sizeof(double)) == 0 || (a->u.d == b->u.d);
	case CRMSYNC_BOOLEAN:
		return !a->u.b == !b->u.b;
	}
	return false;
}

void cs_double_text(double d, char *buf, size_t cap)
{
	if (!isfinite(d)) {
		snprintf(buf, cap, "%s", isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity");
		return;
	}
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, cap, "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			return;
	}
}

const char *cs_value_text(const crmsync_value *v, char *buf, size_t cap)
{
	switch (v->type) {
	case CRMSYNC_NULL:
		snprintf(buf, cap, "null");
		break;
	case CRMSYNC_STRING:
	case CRMSYNC_ID:
	case CRMSYNC_DATE:
		snprintf(buf, cap, "%.*s", (int)v->len, v->u.s);
		break;
	case CRMSYNC_INTEGER:
		snprintf(buf, cap, "%" PRId64, v->u.i);
		break;
	case CRMSYNC_DOUBLE:
		cs_double_text(v->u.d, buf, cap);
		break;
	case CRMSYNC_BOOLEAN:
		snprintf(buf, cap, "%s", v->u.b ? "true" : "false");
		break;
	case CRMSYNC_DATETIME:
		cs_format_datetime(v->u.i, buf, cap);
		break;
	default:
		snprintf(buf, cap, "?");
	}
	return buf;
}
