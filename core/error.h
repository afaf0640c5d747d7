/*
 * error.h - the error message a caller owns and a callee fills.
 *
 * Functions return 0 or a negative enum crmsync_status; the detail, written
 * for a user (what failed, where, what to do), goes into a crmsync_error the
 * caller passed. struct crmsync_error is the opaque type of the plugin ABI.
 */
#ifndef CS_ERROR_H
#define CS_ERROR_H

#include <crmsync/plugin.h>
#include <stdarg.h>

#define CS_ERROR_MAX 2048

struct crmsync_error {
	int code;
	char msg[CS_ERROR_MAX];
};

typedef struct crmsync_error cs_error;

#define CS_ERROR_INIT {0, {0}}

/* Set the message (printf-style); returns code so `return cs_err(e, ...)` works.
 * err may be NULL. */
int cs_err(cs_error *err, int code, const char *fmt, ...) CRMSYNC_PRINTF(3, 4);
int cs_verr(cs_error *err, int code, const char *fmt, va_list ap) CRMSYNC_PRINTF(3, 0);
/* Prepend "prefix: " to an existing message (for adding context on the way up). */
int cs_err_prefix(cs_error *err, const char *fmt, ...) CRMSYNC_PRINTF(2, 3);
void cs_err_clear(cs_error *err);
const char *cs_err_msg(const cs_error *err);

#endif
