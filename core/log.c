/* log.c - see log.h. One line per call, written whole so concurrent writers
 * (threads, several processes on one journal) never interleave inside a line. */
#include "config.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static int log_level = CRMSYNC_LOG_INFO;
static int log_syslog;

static const char *const log_names[] = {"error", "warn", "info", "debug"};

void cs_log_set_level(int level)
{
	log_level = level;
}

int cs_log_enabled(int level)
{
	return level <= log_level;
}

int cs_log_level_parse(const char *name, int *level)
{
	for (int i = 0; i < 4; i++)
		if (strcasecmp(name, log_names[i]) == 0) {
			*level = i;
			return 0;
		}
	return -1;
}

void cs_log_use_syslog(int on)
{
	if (on && !log_syslog)
		openlog("crmsync", LOG_PID, LOG_DAEMON);
	log_syslog = on;
}

void cs_vlog(const char *component, int level, const char *fmt, va_list ap)
{
	static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
	char msg[4096], line[4400];
	int n;

	if (!cs_log_enabled(level))
		return;
	if (level < 0)
		level = 0;
	if (level > 3)
		level = 3;
	vsnprintf(msg, sizeof msg, fmt, ap);
	if (log_syslog) {
		syslog(prio[level], "%s: %s", component ? component : "crmsync", msg);
		return;
	}
	/* No timestamp when stderr is the journal: journald adds its own. */
	if (getenv("JOURNAL_STREAM")) {
		n = snprintf(line, sizeof line, "<%d>%s: %s: %s\n", prio[level],
			     log_names[level], component ? component : "crmsync", msg);
	} else {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = snprintf(line, sizeof line,
			     "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: %s\n",
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
			     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000, log_names[level],
			     component ? component : "crmsync", msg);
	}
	if (n > (int)sizeof line - 1)
		n = sizeof line - 1;
	if (write(STDERR_FILENO, line, (size_t)n) < 0) {
		/* nowhere left to report it */
	}
}

void cs_log(const char *component, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cs_vlog(component, level, fmt, ap);
	va_end(ap);
}
