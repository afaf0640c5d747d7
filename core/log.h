/*
 * log.h - levelled log lines to stderr or syslog, each attributed to the
 * component or plugin that wrote it ("sf", "loader", "plugin lead", ...).
 *
 * Nothing secret is ever passed here: callers redact first (see cs_redact in
 * this header), and the Salesforce client never formats a token or password.
 */
#ifndef CS_LOG_H
#define CS_LOG_H

#include <crmsync/plugin.h>
#include <stdarg.h>
#include <stddef.h>

/* Levels are those of the ABI: CRMSYNC_LOG_ERROR .. CRMSYNC_LOG_DEBUG. */
void cs_log(const char *component, int level, const char *fmt, ...) CRMSYNC_PRINTF(3, 4);
void cs_vlog(const char *component, int level, const char *fmt, va_list ap)
	CRMSYNC_PRINTF(3, 0);
int cs_log_enabled(int level);
void cs_log_set_level(int level);
/* "error", "warn", "info", "debug": 0, or -1 for an unknown name. */
int cs_log_level_parse(const char *name, int *level);
/* Send lines to syslog (ident "crmsync") instead of stderr. */
void cs_log_use_syslog(int on);

#define cs_error(c, ...) cs_log((c), CRMSYNC_LOG_ERROR, __VA_ARGS__)
#define cs_warn(c, ...) cs_log((c), CRMSYNC_LOG_WARN, __VA_ARGS__)
#define cs_info(c, ...) cs_log((c), CRMSYNC_LOG_INFO, __VA_ARGS__)
#define cs_debug(c, ...)                                                                      \
	do {                                                                                  \
		if (cs_log_enabled(CRMSYNC_LOG_DEBUG))                                        \
			cs_log((c), CRMSYNC_LOG_DEBUG, __VA_ARGS__);                          \
	} while (0)

#endif
