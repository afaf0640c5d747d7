/* error.c - see error.h. */
#include "config.h"
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int cs_verr(cs_error *err, int code, const char *fmt, va_list ap)
{
	if (!err)
		return code;
	err->code = code;
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	return code;
}

int cs_err(cs_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cs_verr(err, code, fmt, ap);
	va_end(ap);
	return code;
}

int cs_err_prefix(cs_error *err, const char *fmt, ...)
{
	char prefix[512], old[CS_ERROR_MAX];
	va_list ap;

	if (!err)
		return CRMSYNC_ERR;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof old);
	/* the prefix first; the old message fills what room is left */
	int n = snprintf(err->msg, sizeof err->msg, "%s: ", prefix);
	if (n >= 0 && (size_t)n < sizeof err->msg)
		snprintf(err->msg + n, sizeof err->msg - (size_t)n, "%.*s",
			 (int)(sizeof err->msg - (size_t)n - 1), old);
	return err->code ? err->code : CRMSYNC_ERR;
}

void cs_err_clear(cs_error *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}

const char *cs_err_msg(const cs_error *err)
{
	return err && err->msg[0] ? err->msg : "unknown error";
}
