/*
 * timeutil.h - the clock and the date formats Salesforce speaks.
 *
 * Datetimes are int64 milliseconds since the epoch, UTC. The clock can be
 * pinned by tests (cs_clock_set) so retry and retention logic is testable.
 */
#ifndef CS_TIMEUTIL_H
#define CS_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

int64_t cs_now_ms(void);
/* Pin the clock to ms (tests); 0 returns to the real clock. */
void cs_clock_set(int64_t ms);

/* "YYYY-MM-DDTHH:MM:SS.sssZ" (24 chars + NUL). */
void cs_format_datetime(int64_t ms, char *buf, size_t cap);
/* Salesforce's JSON form "YYYY-MM-DDTHH:MM:SS.sss+0000". */
void cs_format_datetime_sf(int64_t ms, char *buf, size_t cap);
/* Accepts "YYYY-MM-DDTHH:MM:SS" with optional .s to .sssssssss and a zone of
 * Z, +hh:mm, +hhmm or -...; 0, or -1 when the text is not such a datetime. */
int cs_parse_datetime(const char *text, int64_t *ms);
/* "YYYY-MM-DD" strictly, with a real calendar day: 0 or -1. */
int cs_parse_date(const char *text, int *y, int *m, int *d);
/* Days since 1970-01-01 for a civil date (proleptic Gregorian). */
int64_t cs_days_from_civil(int y, int m, int d);
/* Durations such as "5m", "30s", "1h", "2d", "500ms", or a bare number of seconds. */
int cs_parse_duration_ms(const char *text, int64_t *ms);

#endif
