/*
 * sf_soql.c - SOQL text built safely: literals escaped by the documented rules
 * (quoted-string escapes; dates and datetimes unquoted; ids validated), field
 * and object names validated, and the keyset pull query of the sync.
 */
#include "config.h"
#include "sf_internal.h"

#include "timeutil.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

int sf_id_valid(const char *id)
{
	size_t n = id ? strlen(id) : 0;
	if (n != 15 && n != 18)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = id[i];
		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= 'A' && ch <= 'Z')))
			return 0;
	}
	return 1;
}

/* Length of the UTF-8 sequence at p (at most n bytes), or 0 if invalid. */
static size_t sf_utf8_len(const unsigned char *p, size_t n)
{
	unsigned cp;
	size_t len;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return len;
}

static int sf_soql_quoted(sf_buf *b, const char *s, size_t len, int like, cs_error *err)
{
	const unsigned char *p = (const unsigned char *)s;

	sf_buf_add(b, "'", 1);
	for (size_t i = 0; i < len;) {
		unsigned char ch = p[i];
		const char *esc = NULL;
		char u[8];
		switch (ch) {
		case '\0':
			return cs_err(err, CRMSYNC_EINVAL,
				      "a SOQL string cannot hold a NUL byte (at byte %zu)", i);
		case '\'':
			esc = "\\'";
			break;
		case '"':
			esc = "\\\"";
			break;
		case '\\':
			esc = "\\\\";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		case '\t':
			esc = "\\t";
			break;
		case '\b':
			esc = "\\b";
			break;
		case '\f':
			esc = "\\f";
			break;
		case '%':
			esc = like ? "\\%" : NULL;
			break;
		case '_':
			esc = like ? "\\_" : NULL;
			break;
		default:
			if (ch < 0x20 || ch == 0x7f) {
				snprintf(u, sizeof u, "\\u%04x", ch);
				esc = u;
			}
			break;
		}
		if (esc) {
			sf_buf_add(b, esc, strlen(esc));
			i++;
			continue;
		}
		size_t l = sf_utf8_len(p + i, len - i);
		if (!l)
			return cs_err(
			    err, CRMSYNC_EINVAL,
			    "a SOQL string must be valid UTF-8 (bad byte 0x%02x at byte %zu)", ch,
			    i);
		sf_buf_add(b, (const char *)p + i, l);
		i += l;
	}
	sf_buf_add(b, "'", 1);
	return b->oom ? cs_err(err, CRMSYNC_ENOMEM, "out of memory") : 0;
}

int sf_soql_string(sf_buf *b, const char *s, size_t len, cs_error *err)
{
	return sf_soql_quoted(b, s, len, 0, err);
}

int sf_soql_like_literal(sf_buf *b, const char *s, size_t len, cs_error *err)
{
	return sf_soql_quoted(b, s, len, 1, err);
}

int sf_soql_date(sf_buf *b, const char *date, cs_error *err)
{
	int y, m, d;
	if (cs_parse_date(date, &y, &m, &d))
		return cs_err(err, CRMSYNC_EINVAL, "'%.40s' is not a date (YYYY-MM-DD)",
			      date ? date : "(null)");
	return sf_buf_addf(b, "%04d-%02d-%02d", y, m, d);
}

int sf_soql_datetime(sf_buf *b, int64_t ms)
{
	char t[40];
	/* SOQL literals have four-digit years: clamp to 0001..9999, which keeps
	 * every comparison with a Salesforce datetime (years 1700..4000) the same */
	if (ms < -62135596800000LL)
		ms = -62135596800000LL; /* 0001-01-01T00:00:00Z */
	if (ms > 253402300799999LL)
		ms = 253402300799999LL;	     /* 9999-12-31T23:59:59.999Z */
	cs_format_datetime(ms, t, sizeof t); /* YYYY-MM-DDTHH:MM:SS.sssZ */
	if (ms % 1000 == 0) {
		/* the documented literal form has no fraction */
		memmove(t + 19, t + 23, 2);
	}
	return sf_buf_add(b, t, strlen(t));
}

int sf_soql_id(sf_buf *b, const char *id, cs_error *err)
{
	if (!sf_id_valid(id))
		return cs_err(err, CRMSYNC_EINVAL,
			      "'%.40s' is not a Salesforce id (15 or 18 letters and digits)",
			      id ? id : "(null)");
	return sf_buf_addf(b, "'%s'", id);
}

int sf_soql_bool(sf_buf *b, int v)
{
	return sf_buf_add(b, v ? "true" : "false", v ? 4 : 5);
}

int sf_soql_int(sf_buf *b, int64_t v)
{
	return sf_buf_addf(b, "%" PRId64, v);
}

int sf_soql_double(sf_buf *b, double v, cs_error *err)
{
	char t[40];
	if (!isfinite(v))
		return cs_err(err, CRMSYNC_EINVAL, "a SOQL number must be finite");
	cs_double_text(v, t, sizeof t);
	return sf_buf_add(b, t, strlen(t));
}

int sf_soql_value(sf_buf *b, const crmsync_value *v, cs_error *err)
{
	switch (v->type) {
	case CRMSYNC_NULL:
		return sf_buf_add(b, "null", 4);
	case CRMSYNC_STRING:
		return sf_soql_string(b, v->u.s, v->len, err);
	case CRMSYNC_INTEGER:
		return sf_soql_int(b, v->u.i);
	case CRMSYNC_DOUBLE:
		return sf_soql_double(b, v->u.d, err);
	case CRMSYNC_BOOLEAN:
		return sf_soql_bool(b, v->u.b);
	case CRMSYNC_DATE: {
		char d[16];
		if (v->len >= sizeof d)
			return cs_err(err, CRMSYNC_EINVAL, "a date value is too long");
		memcpy(d, v->u.s, v->len);
		d[v->len] = '\0';
		return sf_soql_date(b, d, err);
	}
	case CRMSYNC_DATETIME:
		return sf_soql_datetime(b, v->u.i);
	case CRMSYNC_ID: {
		char id[24];
		if (v->len >= sizeof id)
			return cs_err(err, CRMSYNC_EINVAL, "an id value is too long");
		memcpy(id, v->u.s, v->len);
		id[v->len] = '\0';
		return sf_soql_id(b, id, err);
	}
	default:
		return cs_err(err, CRMSYNC_EINVAL, "unknown value type %d", v->type);
	}
}

int sf_soql_ident(sf_buf *b, const char *name, cs_error *err)
{
	size_t n = name ? strlen(name) : 0;
	int ok = n > 0 && n <= 255;
	for (size_t i = 0; ok && i < n; i++) {
		char ch = name[i];
		int alpha = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
		/* each dot-separated part starts with a letter */
		if (alpha ||
		    (i > 0 && name[i - 1] != '.' && ((ch >= '0' && ch <= '9') || ch == '_')))
			continue;
		if (ch == '.' && i > 0 && i + 1 < n && name[i - 1] != '.')
			continue;
		ok = 0;
	}
	if (!ok)
		return cs_err(err, CRMSYNC_EINVAL,
			      "'%.80s' is not a valid Salesforce field or object name",
			      name ? name : "(null)");
	/* SOQL follows at most five parent relationships (Account.Owner.Name is two) */
	size_t dots = 0;
	for (size_t i = 0; i < n; i++)
		dots += name[i] == '.';
	if (dots > 5)
		return cs_err(err, CRMSYNC_EINVAL,
			      "'%.80s' follows %zu relationships; SOQL allows at most 5", name, dots);
	return sf_buf_add(b, name, n);
}

/* "SELECT f1,f2 FROM type" of a pull query. */
static int soql_select(sf_buf *b, const char *type, const char *const *fields, size_t nfields,
		       cs_error *err)
{
	int rc;

	if (nfields == 0)
		return cs_err(err, CRMSYNC_EINVAL, "a pull query of %s needs at least one field",
			      type ? type : "(null)");
	sf_buf_add(b, "SELECT ", 7);
	for (size_t i = 0; i < nfields; i++) {
		if (i)
			sf_buf_add(b, ",", 1);
		if ((rc = sf_soql_ident(b, fields[i], err)))
			return rc;
	}
	sf_buf_add(b, " FROM ", 6);
	return sf_soql_ident(b, type, err);
}

int sf_soql_by_id(sf_buf *b, const char *type, const char *const *fields, size_t nfields,
		  const char *last_id, const char *filter, int limit, cs_error *err)
{
	int rc = soql_select(b, type, fields, nfields, err);

	if (rc)
		return rc;
	if (last_id && *last_id) {
		sf_buf_add(b, " WHERE Id > ", 12);
		if ((rc = sf_soql_id(b, last_id, err)))
			return rc;
	}
	if (filter && *filter)
		sf_buf_addf(b, "%s(%s)", last_id && *last_id ? " AND " : " WHERE ", filter);
	sf_buf_add(b, " ORDER BY Id", 12);
	if (limit > 0)
		sf_buf_addf(b, " LIMIT %d", limit);
	return b->oom ? cs_err(err, CRMSYNC_ENOMEM, "out of memory") : 0;
}

int sf_soql_keyset(sf_buf *b, const char *type, const char *const *fields, size_t nfields,
		   int64_t since_ms, const char *last_id, const char *filter, int limit,
		   cs_error *err)
{
	int rc, where = 0;

	if ((rc = soql_select(b, type, fields, nfields, err)))
		return rc;
	if (since_ms > 0) {
		where = 1;
		if (last_id) {
			sf_buf_add(b, " WHERE (SystemModstamp > ", 25);
			sf_soql_datetime(b, since_ms);
			sf_buf_add(b, " OR (SystemModstamp = ", 22);
			sf_soql_datetime(b, since_ms);
			sf_buf_add(b, " AND Id > ", 10);
			if ((rc = sf_soql_id(b, last_id, err)))
				return rc;
			sf_buf_add(b, "))", 2);
		} else {
			sf_buf_add(b, " WHERE SystemModstamp > ", 24);
			sf_soql_datetime(b, since_ms);
		}
	}
	if (filter && *filter)
		sf_buf_addf(b, "%s(%s)", where ? " AND " : " WHERE ", filter);
	sf_buf_add(b, " ORDER BY SystemModstamp, Id", 28);
	if (limit > 0)
		sf_buf_addf(b, " LIMIT %d", limit);
	return b->oom ? cs_err(err, CRMSYNC_ENOMEM, "out of memory") : 0;
}
