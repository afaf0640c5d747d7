/* alerts.c - see alerts.h. The command line is split on blanks into argv and
 * exec'ed directly: no shell ever sees a message, so nothing in the data (a
 * CRM's error text, a unit name) can become a command. */
#include "config.h"
#include "alerts.h"
#include "log.h"
#include "timeutil.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ALERTS_MAX_ARGS 32
#define ALERTS_TIMEOUT_MS 30000

static char *alerts_command;	      /* [alerts] command, or NULL */
static int64_t alerts_threshold = -1; /* [alerts] error_threshold, -1 off */
static int64_t alerts_repeat_ms = 30 * 60000;

static const char *const alerts_kinds[] = {CS_ALERT_STOPPED, CS_ALERT_AUTH, CS_ALERT_BUDGET,
					   CS_ALERT_ERRORS};
static int64_t alerts_last_ms[sizeof alerts_kinds / sizeof *alerts_kinds];

int cs_alerts_configure(const cs_config *cfg, cs_error *err)
{
	const char *cmd = cs_config_get(cfg, "alerts", "command");
	int64_t thr, repeat;

	if (cs_config_int(cfg, "alerts", "error_threshold", -1, 0, INT64_MAX, &thr, err) ||
	    cs_config_duration(cfg, "alerts", "repeat_interval", 30 * 60000, 0, &repeat, err))
		return CRMSYNC_EINVAL;
	if (cmd && *cmd) {
		if (cmd[0] != '/')
			return cs_err(err, CRMSYNC_EINVAL,
				      "%s: alerts.command = '%s': give the program's absolute path "
				      "(it is run without a shell)",
				      cs_config_where(cfg, "alerts", "command"), cmd);
		char prog[1024];
		size_t n = strcspn(cmd, " \t");
		snprintf(prog, sizeof prog, "%.*s", (int)(n < sizeof prog ? n : sizeof prog - 1),
			 cmd);
		if (access(prog, X_OK) != 0)
			return cs_err(err, CRMSYNC_EINVAL, "%s: alerts.command: %s: %s",
				      cs_config_where(cfg, "alerts", "command"), prog,
				      strerror(errno));
	}
	char *copy = cmd && *cmd ? strdup(cmd) : NULL;
	if (cmd && *cmd && !copy)
		return cs_err(err, CRMSYNC_ENOMEM, "out of memory");
	free(alerts_command);
	alerts_command = copy;
	alerts_threshold = thr;
	alerts_repeat_ms = repeat;
	return 0;
}

int64_t cs_alerts_error_threshold(void)
{
	return alerts_command ? alerts_threshold : -1;
}

void cs_alerts_reset(void)
{
	memset(alerts_last_ms, 0, sizeof alerts_last_ms);
}

static void alerts_json_str(FILE *f, const char *s)
{
	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static void alerts_json_time(FILE *f, int64_t ms)
{
	char buf[40];
	if (ms <= 0) {
		fputs("null", f);
		return;
	}
	cs_format_datetime(ms, buf, sizeof buf);
	alerts_json_str(f, buf);
}

/* The JSON on the command's stdin: a malloc'ed text, or NULL. */
static char *alerts_json(const char *kind, const char *unit, const char *message,
			 const cs_ops_snapshot *s, int64_t now)
{
	char *buf = NULL, host[256] = "";
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	if (!f)
		return NULL;
	gethostname(host, sizeof host - 1);
	fputs("{\"kind\":", f);
	alerts_json_str(f, kind);
	fputs(",\"unit\":", f);
	alerts_json_str(f, unit);
	fputs(",\"message\":", f);
	alerts_json_str(f, message);
	fputs(",\"time\":", f);
	alerts_json_time(f, now);
	fputs(",\"host\":", f);
	alerts_json_str(f, host);
	fprintf(f, ",\"pid\":%ld", (long)getpid());
	if (s) {
		int64_t pending = 0;
		for (size_t i = 0; i < s->nunits; i++)
			pending += s->units[i].pending > 0 ? s->units[i].pending : 0;
		fprintf(f, ",\"cycle\":%" PRId64 ",\"last_success\":", s->cycle);
		alerts_json_time(f, s->last_success_ms);
		fprintf(f,
			",\"counts\":{\"cycle_errors\":%" PRId64 ",\"cycle_api_calls\":%" PRId64
			",\"errors_total\":%" PRId64 ",\"api_calls_total\":%" PRId64
			",\"cycles\":%" PRId64 ",\"pending\":%" PRId64 ",\"api_used\":%" PRId64
			",\"api_max\":%" PRId64 ",\"api_budget\":%" PRId64 "}",
			s->cycle_errors, s->cycle_api_calls, s->errors_total, s->api_calls_total,
			s->cycles, pending, s->api_used, s->api_max, s->api_budget);
	}
	fputs("}\n", f);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Run argv with json on stdin; 0 when it exited 0. */
static int alerts_run(char **argv, const char *json, const char *kind)
{
	int fds[2];
	pid_t pid;
	int status = 0;

	if (pipe(fds) != 0 || fcntl(fds[0], F_SETFD, FD_CLOEXEC) < 0 ||
	    fcntl(fds[1], F_SETFD, FD_CLOEXEC) < 0) {
		cs_warn("alerts", "cannot run %s for the %s alert: pipe: %s", argv[0], kind,
			strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		cs_warn("alerts", "cannot run %s for the %s alert: fork: %s", argv[0], kind,
			strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		/* only async-signal-safe calls from here: the parent may have threads */
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = SIG_DFL;
		sigaction(SIGPIPE, &sa, NULL);
		if (dup2(fds[0], STDIN_FILENO) < 0)
			_exit(126);
			/* the store, the CRM connections and the metrics socket are not
			 * the command's business, whether or not they were opened CLOEXEC */
#ifdef SYS_close_range
		if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
#endif
			for (int fd = 3; fd < 1024; fd++)
				close(fd);
		execv(argv[0], argv);
		static const char msg[] = "crmsync: alerts: cannot execute the alert command\n";
		ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
		(void)w;
		_exit(127);
	}
	close(fds[0]);
	/* a command that does not read its input must not block us: SIGPIPE is
	 * ignored by crmsync run, and EPIPE just ends the writing */
	size_t len = strlen(json), off = 0;
	while (off < len) {
		ssize_t w = write(fds[1], json + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	close(fds[1]);
	int64_t deadline = cs_now_ms() + ALERTS_TIMEOUT_MS;
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			cs_warn("alerts", "%s: waitpid: %s", argv[0], strerror(errno));
			return -1;
		}
		if (cs_now_ms() > deadline) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			cs_warn("alerts",
				"the alert command %s took longer than %ds for the %s alert; "
				"killed it",
				argv[0], ALERTS_TIMEOUT_MS / 1000, kind);
			return -1;
		}
		struct timespec ts = {0, 20 * 1000000};
		nanosleep(&ts, NULL);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		cs_warn("alerts", "the alert command %s exited with status %d for the %s alert%s",
			argv[0], WEXITSTATUS(status), kind,
			WEXITSTATUS(status) == 127 ? " (it could not be executed)" : "");
	else
		cs_warn("alerts", "the alert command %s was killed by signal %d for the %s alert",
			argv[0], WIFSIGNALED(status) ? WTERMSIG(status) : 0, kind);
	return -1;
}

int cs_alert_raise(const char *kind, const char *unit, const char *message,
		   const cs_ops_snapshot *snap)
{
	int64_t now = cs_now_ms();
	size_t k = 0;
	char *argv[ALERTS_MAX_ARGS + 1], *line = NULL, *json = NULL, *save = NULL;
	int n = 0, rc;

	while (k < sizeof alerts_kinds / sizeof *alerts_kinds && strcmp(alerts_kinds[k], kind))
		k++;
	if (!alerts_command) /* what happened is logged where it happened */
		return 0;
	if (k < sizeof alerts_kinds / sizeof *alerts_kinds) {
		if (alerts_last_ms[k] && now - alerts_last_ms[k] < alerts_repeat_ms) {
			cs_info("alerts",
				"the last %s alert went out less than %" PRId64
				"s ago; not sending another (alerts.repeat_interval)",
				kind, alerts_repeat_ms / 1000);
			return 0;
		}
		alerts_last_ms[k] = now;
	}
	if (!(line = strdup(alerts_command)) ||
	    !(json = alerts_json(kind, unit, message, snap, now))) {
		cs_warn("alerts", "out of memory: %s alert not sent", kind);
		rc = -1;
		goto out;
	}
	for (char *t = strtok_r(line, " \t", &save); t && n < ALERTS_MAX_ARGS;
	     t = strtok_r(NULL, " \t", &save))
		argv[n++] = t;
	argv[n] = NULL;
	cs_info("alerts", "%s alert: running %s", kind, argv[0]);
	rc = alerts_run(argv, json, kind) == 0 ? 1 : -1;
out:
	free(line);
	free(json);
	return rc;
}
