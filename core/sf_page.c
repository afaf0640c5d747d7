/*
 * sf_page.c - decodes a query page ({"totalSize","done","nextRecordsUrl",
 * "records":[...]}) straight from the response text into the client's reused
 * records, with no JSON tree in between: one pass over the bytes, no
 * allocation per value once the records have grown their buffers. A page of
 * 2000 wide records is parsed in a few milliseconds and costs only its text.
 *
 * Values are typed by the describe of the selected fields when given
 * (DATETIME strings become milliseconds, DATE and ID keep their text);
 * parent objects are flattened to "Owner.Name"; child subqueries (arrays)
 * are skipped.
 */
#include "config.h"
#include "sf_internal.h"

#include "timeutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct pj {
	const char *start, *p, *end;
	sf_buf str;	  /* decoded string with escapes */
	const char *what; /* what was wrong, for the message */
	char whatbuf[400];
	const sf_query_opts *o;
	size_t rec_bytes; /* string bytes of the record being decoded */
	int fast;	  /* the key being stored is known absent: append it (pj_object) */
};

/* A record whose strings took more than this is replaced by a fresh one
 * before the next page: records keep their buffers for reuse, and a few long
 * text values (32 KB Descriptions) would otherwise pin their capacity in every
 * slot, so memory would creep up page after page towards 2000 x the longest. */
#define PJ_FAT_RECORD 4096
#define PJ_FAT_HEAP 8192

struct pj_cache {
	char name[128];
	int type;
};

static int pj_fail(struct pj *j, const char *what)
{
	if (!j->what)
		j->what = what;
	return -1;
}

static void pj_ws(struct pj *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t'))
		j->p++;
}

static int pj_lit(struct pj *j, const char *lit)
{
	size_t n = strlen(lit);
	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n) != 0)
		return pj_fail(j, "an unexpected token");
	j->p += n;
	return 0;
}

static int pj_hex4(const char *p, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char ch = p[i];
		v <<= 4;
		if (ch >= '0' && ch <= '9')
			v |= (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			v |= (unsigned)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			v |= (unsigned)(ch - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static void pj_utf8(sf_buf *b, unsigned cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	sf_buf_add(b, u, n);
}

/* A string at j->p (on the opening quote). *s points into the text when there
 * is no escape, else into j->str; not NUL-terminated. */
static int pj_string(struct pj *j, const char **s, size_t *len)
{
	const char *p = j->p + 1, *run;

	if (j->p >= j->end || *j->p != '"')
		return pj_fail(j, "a string was expected");
	run = p;
	/* fast path: no escape before the closing quote (raw control characters,
	 * which Salesforce never sends, are let through) */
	const char *q = memchr(p, '"', (size_t)(j->end - p));
	if (q && !memchr(p, '\\', (size_t)(q - p)))
		p = q;
	else
		while (p < j->end && *p != '"' && *p != '\\')
			p++;
	if (p < j->end && *p == '"') {
		*s = run;
		*len = (size_t)(p - run);
		j->p = p + 1;
		return 0;
	}
	j->str.len = 0;
	sf_buf_add(&j->str, run, (size_t)(p - run));
	while (p < j->end && *p != '"') {
		if ((unsigned char)*p < 0x20) {
			j->p = p;
			return pj_fail(j, "a control character inside a string");
		}
		if (*p != '\\') {
			run = p;
			while (p < j->end && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
				p++;
			sf_buf_add(&j->str, run, (size_t)(p - run));
			continue;
		}
		if (p + 1 >= j->end)
			break;
		char e = p[1], c = 0;
		p += 2;
		switch (e) {
		case '"':
		case '\\':
		case '/':
			c = e;
			break;
		case 'b':
			c = '\b';
			break;
		case 'f':
			c = '\f';
			break;
		case 'n':
			c = '\n';
			break;
		case 'r':
			c = '\r';
			break;
		case 't':
			c = '\t';
			break;
		case 'u': {
			unsigned cp, lo;
			if (j->end - p < 4 || pj_hex4(p, &cp)) {
				j->p = p;
				return pj_fail(j, "a bad \\u escape");
			}
			p += 4;
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (j->end - p < 6 || p[0] != '\\' || p[1] != 'u' ||
				    pj_hex4(p + 2, &lo) || lo < 0xdc00 || lo > 0xdfff) {
					j->p = p;
					return pj_fail(j, "a lone UTF-16 surrogate");
				}
				p += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp <= 0xdfff) {
				j->p = p;
				return pj_fail(j, "a lone UTF-16 surrogate");
			}
			pj_utf8(&j->str, cp);
			continue;
		}
		default:
			j->p = p - 2;
			return pj_fail(j, "a bad escape");
		}
		sf_buf_add(&j->str, &c, 1);
	}
	if (p >= j->end) {
		j->p = p;
		return pj_fail(j, "the text ends inside a string");
	}
	if (j->str.oom)
		return pj_fail(j, "out of memory");
	*s = j->str.s ? j->str.s : "";
	*len = j->str.len;
	j->p = p + 1;
	return 0;
}

/* A number: *is_int and *i, or *d. */
static int pj_number(struct pj *j, int *is_int, int64_t *i, double *d)
{
	const char *p = j->p;
	int real = 0;
	if (p < j->end && *p == '-')
		p++;
	if (p >= j->end || *p < '0' || *p > '9')
		return pj_fail(j, "a value was expected");
	while (p < j->end && ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' ||
			      *p == '+' || *p == '-')) {
		if (*p == '.' || *p == 'e' || *p == 'E')
			real = 1;
		p++;
	}
	char tmp[64];
	size_t n = (size_t)(p - j->p);
	if (n >= sizeof tmp)
		return pj_fail(j, "a number too long");
	memcpy(tmp, j->p, n);
	tmp[n] = '\0';
	char *end;
	errno = 0;
	if (!real) {
		long long v = strtoll(tmp, &end, 10);
		if (*end == '\0' && errno == 0) {
			*is_int = 1;
			*i = v;
			j->p = p;
			return 0;
		}
	}
	*d = strtod(tmp, &end);
	if (*end != '\0')
		return pj_fail(j, "a malformed number");
	*is_int = 0;
	j->p = p;
	return 0;
}

static int pj_skip(struct pj *j, int depth)
{
	const char *s;
	size_t len;
	int is_int;
	int64_t i;
	double d;

	if (depth > 64)
		return pj_fail(j, "nesting too deep");
	pj_ws(j);
	if (j->p >= j->end)
		return pj_fail(j, "the text ends where a value was expected");
	switch (*j->p) {
	case '"':
		return pj_string(j, &s, &len);
	case 't':
		return pj_lit(j, "true");
	case 'f':
		return pj_lit(j, "false");
	case 'n':
		return pj_lit(j, "null");
	case '{':
	case '[': {
		char close = *j->p == '{' ? '}' : ']';
		int obj = close == '}';
		j->p++;
		pj_ws(j);
		if (j->p < j->end && *j->p == close) {
			j->p++;
			return 0;
		}
		for (;;) {
			if (obj) {
				pj_ws(j);
				if (pj_string(j, &s, &len))
					return -1;
				pj_ws(j);
				if (j->p >= j->end || *j->p != ':')
					return pj_fail(j, "':' was expected");
				j->p++;
			}
			if (pj_skip(j, depth + 1))
				return -1;
			pj_ws(j);
			if (j->p < j->end && *j->p == ',') {
				j->p++;
				continue;
			}
			if (j->p < j->end && *j->p == close) {
				j->p++;
				return 0;
			}
			return pj_fail(j,
				       obj ? "',' or '}' was expected" : "',' or ']' was expected");
		}
	}
	default:
		return pj_number(j, &is_int, &i, &d);
	}
}

static int pj_field_type(const sf_query_opts *o, const char *name)
{
	if (!o || !o->fields)
		return -1;
	for (size_t i = 0; i < o->nfields; i++)
		if (strcasecmp(o->fields[i].name, name) == 0)
			return o->fields[i].type;
	return -1;
}

/* "Owner" is the prefix of a described "Owner.Name". */
static int pj_described_parent(const sf_query_opts *o, const char *key)
{
	size_t kl = strlen(key);
	for (size_t i = 0; o && o->fields && i < o->nfields; i++)
		if (strncasecmp(o->fields[i].name, key, kl) == 0 && o->fields[i].name[kl] == '.')
			return 1;
	return 0;
}

static int pj_nomem(struct pj *j)
{
	return pj_fail(j, "out of memory");
}

static int pj_put(struct pj *j, cs_record *rec, const char *key, crmsync_value v)
{
	return (j->fast ? cs_record_add(rec, key, &v) : cs_record_set(rec, key, &v)) ? -1 : 0;
}

static int pj_object(struct pj *j, cs_record *rec, const char *prefix, struct pj_cache *cache,
		     size_t ncache, int depth)
{
	size_t pos = 0;
	/* Fields are appended without looking for an earlier one of the same
	 * name while every key so far matched the cache at its position: the
	 * cache's names are distinct, so this key is new to the record. A miss,
	 * a nested object or a record that was not empty ends that. */
	int fast = !prefix && cache && cs_record_count(rec) == 0;

	pj_ws(j);
	if (j->p >= j->end || *j->p != '{')
		return pj_fail(j, "a record object was expected");
	j->p++;
	pj_ws(j);
	if (j->p < j->end && *j->p == '}') {
		j->p++;
		return 0;
	}
	for (;;) {
		const char *ks, *s;
		size_t kl, len;
		char key[256];
		int is_attr;

		pj_ws(j);
		if (pj_string(j, &ks, &kl))
			return -1;
		is_attr = kl == 10 && memcmp(ks, "attributes", 10) == 0;
		/* key = [prefix "."] name, without snprintf: this runs for every value */
		size_t pl = prefix ? strlen(prefix) + 1 : 0;
		if (pl + kl >= sizeof key || memchr(ks, '\0', kl))
			return pj_fail(j, "a field name too long");
		if (prefix) {
			memcpy(key, prefix, pl - 1);
			key[pl - 1] = '.';
		}
		memcpy(key + pl, ks, kl);
		key[pl + kl] = '\0';
		pj_ws(j);
		if (j->p >= j->end || *j->p != ':')
			return pj_fail(j, "':' was expected");
		j->p++;
		pj_ws(j);
		if (j->p >= j->end)
			return pj_fail(j, "the text ends where a value was expected");
		char ch = *j->p;
		if (is_attr || ch == '[' || (ch == '{' && depth >= 4)) {
			if (pj_skip(j, 0))
				return -1;
		} else if (ch == '{') {
			fast = 0;
			j->fast = 0;
			if (pj_object(j, rec, key, NULL, 0, depth + 1))
				return -1;
		} else {
			int type;
			if (cache && pos < ncache && strcmp(cache[pos].name, key) == 0) {
				type = cache[pos].type;
			} else {
				fast = 0;
				type = pj_field_type(j->o, key);
				if (cache && pos < ncache && strlen(key) < sizeof cache[pos].name) {
					for (size_t c = 0; c < ncache;
					     c++) /* names stay distinct */
						if (c != pos && strcmp(cache[c].name, key) == 0)
							cache[c].name[0] = '\0';
					strcpy(cache[pos].name, key);
					cache[pos].type = type;
				}
			}
			j->fast = fast;
			pos++;
			if (ch == '"') {
				if (pj_string(j, &s, &len))
					return -1;
				j->rec_bytes += len;
				if (type == CRMSYNC_DATETIME) {
					char t[48];
					int64_t ms;
					if (len >= sizeof t)
						return pj_fail(j, "a datetime value too long");
					memcpy(t, s, len);
					t[len] = '\0';
					if (cs_parse_datetime(t, &ms)) {
						snprintf(j->whatbuf, sizeof j->whatbuf,
							 "field %s: '%.40s' is not a datetime", key,
							 t);
						return pj_fail(j, j->whatbuf);
					}
					if (pj_put(j, rec, key,
						   (crmsync_value){.type = CRMSYNC_DATETIME,
								   .u.i = ms}))
						return pj_nomem(j);
				} else {
					if (memchr(s, '\0', len)) {
						snprintf(j->whatbuf, sizeof j->whatbuf,
							 "field %s holds a NUL character", key);
						return pj_fail(j, j->whatbuf);
					}
					if (pj_put(
						j, rec, key,
						(crmsync_value){.type = type == CRMSYNC_DATE ||
										type == CRMSYNC_ID
									    ? type
									    : CRMSYNC_STRING,
								.len = len,
								.u.s = s}))
						return pj_nomem(j);
				}
			} else if (ch == 't' || ch == 'f') {
				if (pj_lit(j, ch == 't' ? "true" : "false"))
					return -1;
				if (pj_put(
					j, rec, key,
					(crmsync_value){.type = CRMSYNC_BOOLEAN, .u.b = ch == 't'}))
					return pj_nomem(j);
			} else if (ch == 'n') {
				if (pj_lit(j, "null"))
					return -1;
				if (type < 0 && pj_described_parent(j->o, key)) {
					/* "Owner": null: every described Owner.* is null */
					fast = 0;
					size_t kl2 = strlen(key);
					for (size_t i = 0; i < j->o->nfields; i++)
						if (strncasecmp(j->o->fields[i].name, key, kl2) ==
							0 &&
						    j->o->fields[i].name[kl2] == '.' &&
						    cs_record_set_null(rec, j->o->fields[i].name))
							return pj_nomem(j);
				} else if (pj_put(j, rec, key,
						  (crmsync_value){.type = CRMSYNC_NULL})) {
					return pj_nomem(j);
				}
			} else {
				int is_int;
				int64_t i;
				double d;
				if (pj_number(j, &is_int, &i, &d))
					return -1;
				int rc;
				if (is_int && type != CRMSYNC_DOUBLE)
					rc = pj_put(
					    j, rec, key,
					    (crmsync_value){.type = CRMSYNC_INTEGER, .u.i = i});
				else if (is_int)
					rc = pj_put(j, rec, key,
						    (crmsync_value){.type = CRMSYNC_DOUBLE,
								    .u.d = (double)i});
				else if (type == CRMSYNC_INTEGER && d >= -9223372036854775808.0 &&
					 d < 9223372036854775808.0 && d == (double)(int64_t)d)
					rc = pj_put(j, rec, key,
						    (crmsync_value){.type = CRMSYNC_INTEGER,
								    .u.i = (int64_t)d});
				else
					rc = pj_put(
					    j, rec, key,
					    (crmsync_value){.type = CRMSYNC_DOUBLE, .u.d = d});
				if (rc)
					return pj_nomem(j);
			}
		}
		pj_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == '}') {
			j->p++;
			return 0;
		}
		return pj_fail(j, "',' or '}' was expected");
	}
}

void sf_page_slot(sf_client *c, int slot)
{
	if (slot == c->page_slot)
		return;
	cs_record **p = c->page;
	unsigned char *f = c->page_fat;
	size_t n = c->page_cap;
	c->page = c->spare;
	c->page_fat = c->spare_fat;
	c->page_cap = c->spare_cap;
	c->spare = p;
	c->spare_fat = f;
	c->spare_cap = n;
	c->page_slot = slot;
}

void sf_page_free(sf_client *c)
{
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < c->page_cap; i++)
			cs_record_free(c->page[i]);
		free(c->page);
		free(c->page_fat);
		c->page = NULL;
		c->page_fat = NULL;
		c->page_cap = 0;
		sf_page_slot(c, !c->page_slot);
	}
}

static int pj_reserve(sf_client *c, size_t n)
{
	if (n <= c->page_cap)
		return 0;
	size_t cap = c->page_cap ? c->page_cap * 2 : 256;
	while (cap < n)
		cap *= 2;
	cs_record **p = realloc(c->page, cap * sizeof *p);
	if (!p)
		return -1;
	c->page = p;
	unsigned char *fat = realloc(c->page_fat, cap);
	if (!fat)
		return -1;
	memset(fat + c->page_cap, 0, cap - c->page_cap);
	c->page_fat = fat;
	for (size_t i = c->page_cap; i < cap; i++) {
		if (!(p[i] = cs_record_new())) {
			c->page_cap = i;
			return -1;
		}
	}
	c->page_cap = cap;
	return 0;
}

static int pj_records(struct pj *j, sf_client *c, size_t *count)
{
	struct pj_cache cache[64];
	size_t n = 0;

	memset(cache, 0, sizeof cache);
	pj_ws(j);
	if (j->p < j->end && *j->p == 'n')
		return pj_lit(j, "null");
	if (j->p >= j->end || *j->p != '[')
		return pj_fail(j, "records is not an array");
	j->p++;
	pj_ws(j);
	if (j->p < j->end && *j->p == ']') {
		j->p++;
		*count = 0;
		return 0;
	}
	for (;;) {
		if (pj_reserve(c, n + 1))
			return pj_nomem(j);
		if (c->page_fat[n]) {
			cs_record *fresh = cs_record_new();
			if (!fresh)
				return pj_nomem(j);
			cs_record_free(c->page[n]);
			c->page[n] = fresh;
			c->page_fat[n] = 0;
		}
		cs_record_clear(c->page[n]);
		j->rec_bytes = 0;
		if (pj_object(j, c->page[n], NULL, cache, 64, 0))
			return -1;
		/* the buffers keep the largest value each field ever had: a record
		 * that gathered more than a few long ones is replaced too, or a
		 * long pull creeps towards 2 x 2000 x the longest of every field */
		if (j->rec_bytes > PJ_FAT_RECORD || cs_record_heap(c->page[n]) > PJ_FAT_HEAP)
			c->page_fat[n] = 1;
		n++;
		pj_ws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == ']') {
			j->p++;
			*count = n;
			return 0;
		}
		return pj_fail(j, "',' or ']' was expected");
	}
}

int sf_page_decode(sf_client *c, const char *text, size_t len, const sf_query_opts *o,
		   sf_page *page, sf_buf *next, const char *where, cs_error *err)
{
	struct pj j = {.start = text, .p = text, .end = text + len, .o = o};
	int have_total = 0, have_done = 0, have_records = 0, rc = 0;

	memset(page, 0, sizeof *page);
	next->len = 0;
	if (next->s)
		next->s[0] = '\0';
	pj_ws(&j);
	if (j.p >= j.end || *j.p != '{') {
		pj_fail(&j, "a JSON object was expected");
		goto bad;
	}
	j.p++;
	pj_ws(&j);
	if (j.p < j.end && *j.p == '}')
		j.p++;
	else
		for (;;) {
			const char *ks, *s;
			size_t kl, sl;
			char key[32];
			pj_ws(&j);
			if (pj_string(&j, &ks, &kl))
				goto bad;
			snprintf(key, sizeof key, "%.*s", (int)(kl < 31 ? kl : 31), ks);
			pj_ws(&j);
			if (j.p >= j.end || *j.p != ':') {
				pj_fail(&j, "':' was expected");
				goto bad;
			}
			j.p++;
			pj_ws(&j);
			if (!strcmp(key, "totalSize")) {
				int is_int;
				int64_t i;
				double d;
				if (pj_number(&j, &is_int, &i, &d))
					goto bad;
				if (!is_int) {
					pj_fail(&j, "totalSize is not an integer");
					goto bad;
				}
				page->total_size = i;
				have_total = 1;
			} else if (!strcmp(key, "done")) {
				int t = j.p < j.end && *j.p == 't';
				if (pj_lit(&j, t ? "true" : "false"))
					goto bad;
				page->done = t;
				have_done = 1;
			} else if (!strcmp(key, "nextRecordsUrl") && j.p < j.end && *j.p == '"') {
				if (pj_string(&j, &s, &sl))
					goto bad;
				sf_buf_add(next, s, sl);
			} else if (!strcmp(key, "records")) {
				if (pj_records(&j, c, &page->count))
					goto bad;
				have_records = 1;
			} else if (pj_skip(&j, 0)) {
				goto bad;
			}
			pj_ws(&j);
			if (j.p < j.end && *j.p == ',') {
				j.p++;
				continue;
			}
			if (j.p < j.end && *j.p == '}') {
				j.p++;
				break;
			}
			pj_fail(&j, "',' or '}' was expected");
			goto bad;
		}
	pj_ws(&j);
	if (j.p != j.end) {
		pj_fail(&j, "text after the end of the page");
		goto bad;
	}
	if (!have_total || !have_done || !have_records) {
		rc = sf_fail(c, SF_E_PARSE, err,
			     "%s: the query page lacks totalSize, done or records", where);
		goto out;
	}
	if (next->oom) {
		rc = sf_fail(c, SF_E_NOMEM, err, "out of memory");
		goto out;
	}
	if (!page->done && !next->len) {
		rc = sf_fail(c, SF_E_PARSE, err,
			     "%s: the query page says not done but has no nextRecordsUrl", where);
		goto out;
	}
	if (next->len && strncmp(next->s, "/services/data/", 15) != 0) {
		rc = sf_fail(c, SF_E_PARSE, err, "%s: unexpected nextRecordsUrl '%.80s'", where,
			     next->s);
		goto out;
	}
	page->records = c->page;
	goto out;
bad:
	if (j.what && strcmp(j.what, "out of memory") == 0)
		rc = sf_fail(c, SF_E_NOMEM, err, "%s: out of memory decoding a page", where);
	else
		rc = sf_fail(
		    c, SF_E_PARSE, err,
		    "%s: the JSON response is malformed or truncated at byte %zu of %zu: %s", where,
		    (size_t)(j.p - j.start), len, j.what ? j.what : "bad JSON");
out:
	sf_buf_free(&j.str);
	return rc;
}
