/*
 * alerts.h - [alerts] command: an operator's program run (fork and exec, no
 * shell) with a JSON description of what happened on its standard input, when
 * the sync stops, the CRM refuses the credentials, the API budget runs out, or
 * a cycle records more errors than [alerts] error_threshold. At most one alert
 * of a kind per [alerts] repeat_interval. A failing command is logged, never
 * fatal.
 */
#ifndef CS_ALERTS_H
#define CS_ALERTS_H

#include "conf.h"
#include "error.h"
#include "ops_run.h"

/* Kinds, as they appear in the JSON's "kind". */
#define CS_ALERT_STOPPED "stopped"
#define CS_ALERT_AUTH "auth"
#define CS_ALERT_BUDGET "budget"
#define CS_ALERT_ERRORS "errors"

/* Read [alerts]; CRMSYNC_EINVAL naming the key on a bad value (the previous
 * settings stay). */
int cs_alerts_configure(const cs_config *cfg, cs_error *err);
/* errors_threshold, or -1 when error alerts are off. */
int64_t cs_alerts_error_threshold(void);
/* Run the command for kind unless it ran for that kind less than
 * repeat_interval ago or no command is configured. unit may be NULL; snap may
 * be NULL. Waits for the command (killed after 30 s). Returns 1 when the
 * command ran and succeeded, 0 when suppressed or not configured, -1 when it
 * failed (logged). */
int cs_alert_raise(const char *kind, const char *unit, const char *message,
		   const cs_ops_snapshot *snap);
/* Forget the repeat timers (tests). */
void cs_alerts_reset(void);

#endif
