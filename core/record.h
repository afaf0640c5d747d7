/*
 * record.h - the record model: an ordered map from field name (matched
 * case-insensitively, as Salesforce API names are) to a typed value. This is the
 * struct behind the ABI's opaque crmsync_record.
 *
 * Records are built for reuse: cs_record_clear() keeps every buffer, so a page of
 * 2000 records decoded into the same 2000 records costs no allocation after the
 * first page. Strings are copied in; values handed out are borrowed until the
 * record is changed or freed.
 */
#ifndef CS_RECORD_H
#define CS_RECORD_H

#include <crmsync/plugin.h>
#include <stdbool.h>

typedef struct crmsync_record cs_record;

cs_record *cs_record_new(void);	     /* NULL on out of memory */
void cs_record_free(cs_record *rec); /* NULL is fine */
void cs_record_clear(cs_record *rec);
size_t cs_record_count(const cs_record *rec);

int cs_record_get(const cs_record *rec, const char *field, crmsync_value *out);
int cs_record_at(const cs_record *rec, size_t i, const char **field, crmsync_value *out);
/* Copies the name and, for string-like types, the bytes. 0 or CRMSYNC_ENOMEM. */
int cs_record_set(cs_record *rec, const char *field, const crmsync_value *val);
/* cs_record_set for a field the caller knows the record does not hold (a
 * decoder filling a cleared record): no lookup. */
int cs_record_add(cs_record *rec, const char *field, const crmsync_value *val);
/* Bytes the record's buffers hold (kept for reuse after cs_record_clear). */
size_t cs_record_heap(const cs_record *rec);
int cs_record_unset(cs_record *rec, const char *field);

/* Convenience setters; len -1 means strlen. */
int cs_record_set_null(cs_record *rec, const char *field);
int cs_record_set_str(cs_record *rec, const char *field, int type, const char *s, long len);
int cs_record_set_int(cs_record *rec, const char *field, int type, int64_t v);
int cs_record_set_double(cs_record *rec, const char *field, double v);
int cs_record_set_bool(cs_record *rec, const char *field, int v);
/* Borrowed string of a STRING, ID or DATE field, NULL when absent, null or not a string. */
const char *cs_record_str(const cs_record *rec, const char *field);
/* Copy every field of src into dst (replacing same-named fields). */
int cs_record_copy_into(cs_record *dst, const cs_record *src);

/* Two values are equal in type and content (DOUBLE by bit-exact value). */
bool cs_value_equal(const crmsync_value *a, const crmsync_value *b);
/* Text form of a value for messages and conflict records: "null" for null,
 * shortest round-trip text for doubles, ISO text for datetimes. Returns buf. */
const char *cs_value_text(const crmsync_value *v, char *buf, size_t cap);
/* Shortest decimal text that reads back as the same double. */
void cs_double_text(double d, char *buf, size_t cap);

#endif
