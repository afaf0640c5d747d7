/*
 * bk_values.h - value helpers both storage backends (plugins/backends/sqlite,
 * plugins/backends/postgres) compile in. They were written once for SQLite and
 * copied into PostgreSQL; one copy means one place to fix. Each plugin links
 * its own copy and builds with -fvisibility=hidden, so none of these names
 * leaves a plugin: each still exports only crmsync_plugin.
 *
 * Only what means the same to both stores lives here: the stores' own types
 * (sqlite3_stmt, PGresult) and SQL stay in their plugins.
 */
#ifndef BK_VALUES_H
#define BK_VALUES_H

#include <crmsync/plugin.h>
#include <stddef.h>
#include <stdint.h>

/* Strict UTF-8 (no overlong forms, no surrogates): 1 when valid. */
int bk_utf8_valid(const unsigned char *p, size_t n);

/* "YYYY-MM-DDTHH:MM:SS.sssZ" for milliseconds since the epoch, without stdio
 * (the SQLite upsert formats two datetimes per lead). Years 0..9999, the
 * CRM's range; outside it, the number of milliseconds. */
void bk_format_datetime(int64_t ms, char buf[40]);

/* The shortest decimal text ("%.15g" to "%.17g") that reads back as the same
 * double. Infinities come out as printf writes them. */
void bk_double_text(double d, char *buf, size_t cap);

/* enum crmsync_type as a word for messages ("string", "datetime", ...). */
const char *bk_type_name(int t);

/* The types whose value is text (u.s, len). */
static inline int bk_is_text_type(int t)
{
	return t == CRMSYNC_STRING || t == CRMSYNC_ID || t == CRMSYNC_DATE;
}

/* What a record's value means for a field of type ftype: the rules both
 * stores bind by (the SQLite upsert runs them for every value, so they are
 * inline). Each returns 0 when the value's type does not fit the field; the
 * caller then says so, naming both types (bk_type_name). */

/* Integer and boolean fields take integers and booleans; a boolean on either
 * side is 0 or 1. 1 with *out set. */
static inline int bk_value_int(int ftype, const crmsync_value *v, int64_t *out)
{
	if (v->type != CRMSYNC_INTEGER && v->type != CRMSYNC_BOOLEAN)
		return 0;
	*out = v->type == CRMSYNC_BOOLEAN || ftype == CRMSYNC_BOOLEAN
		   ? (v->type == CRMSYNC_BOOLEAN ? (v->u.b != 0) : (v->u.i != 0))
		   : v->u.i;
	return 1;
}

/* Double fields take doubles and integers. 1 with *out set (NaN included:
 * the caller refuses it). */
static inline int bk_value_double(const crmsync_value *v, double *out)
{
	if (v->type == CRMSYNC_DOUBLE)
		*out = v->u.d;
	else if (v->type == CRMSYNC_INTEGER)
		*out = (double)v->u.i;
	else
		return 0;
	return 1;
}

/* Datetime text as the host reads it; for bk_value_ms. */
int bk_parse_ms(const crmsync_host *host, const crmsync_value *v, int64_t *ms, char tmp[64]);

/* Datetime fields take datetimes and datetime text: 1 with *ms set; 0 for
 * another type; -1 when the text is no datetime, with tmp holding it (at most
 * 63 bytes) for the message. */
static inline int bk_value_ms(const crmsync_host *host, const crmsync_value *v, int64_t *ms,
			      char tmp[64])
{
	if (v->type == CRMSYNC_DATETIME) {
		*ms = v->u.i;
		return 1;
	}
	if (v->type != CRMSYNC_STRING)
		return 0;
	return bk_parse_ms(host, v, ms, tmp);
}

/* Same type and same value; text compares byte for byte, booleans by truth. */
int bk_value_equal(const crmsync_value *a, const crmsync_value *b);

/* One field of a change being read (changes_read), once the store gave its
 * current value v: an insert carries every value that is not null; an update
 * carries the field unless it was changed back to its value before, in which
 * case it leaves before as well. */
void bk_change_field(const crmsync_host *host, crmsync_record *values, crmsync_record *before,
		     const char *name, const crmsync_value *v, int insert);

#endif
