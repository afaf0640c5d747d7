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

/* Same type and same value; text compares byte for byte, booleans by truth. */
int bk_value_equal(const crmsync_value *a, const crmsync_value *b);

#endif
