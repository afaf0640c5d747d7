/* main.c - the crmsync command line: options, config, then one subcommand.
 *
 * Exit codes: 0 success; 1 the command failed (a sync error, a refused plugin);
 * 2 bad usage or bad configuration, with a message naming the place. */
#include "config.h"
#include "conf.h"
#include "engine.h"
#include "ops_run.h"
#include "timeutil.h"
#include "loader.h"
#include "log.h"

#include <errno.h>
#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <time.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { EXIT_FAIL = 1, EXIT_USAGE = 2 };

struct cli {
	const char *config_path;
	bool config_explicit;
	const char **overrides;
	size_t noverrides;
	bool json, csv, once, force;
	const char *since;
	cs_config *cfg;
};

static const char usage_text[] =
	"Usage: crmsync [-c FILE] [-o section.key=value]... COMMAND [ARGS]\n"
	"\n"
	"Keeps Salesforce and a local marketing database in step.\n"
	"\n"
	"Commands:\n"
	"  init [--force]          write a commented sample config to FILE (default crmsync.conf)\n"
	"  sync --once             run one full cycle: schema, pull, deletes, push; then exit\n"
	"  run                     cycle, pause, cycle, ... until SIGTERM (SIGHUP reloads)\n"
	"  status [--json]         per unit: watermark, rows, pending pushes, errors, API use\n"
	"  errors [--since T] [--csv|--json]   record and job errors, the CRM's message verbatim\n"
	"  history [--csv|--json]  cycles x unit x step with new/updated/deleted/failed/skipped\n"
	"  plugins [--json]        every plugin found: kind, name, version, ABI, path; rejects\n"
	"  push UNIT ID            send one local record to the CRM now\n"
	"  backlog [--json]        per unit and direction: records waiting, rate, ETA, growing or\n"
	"                          not (costs one COUNT() API call per CRM-to-local unit)\n"
	"\n"
	"Options:\n"
	"  -c, --config FILE       config file (default: ./crmsync.conf when it exists)\n"
	"  -o section.key=value    set a config key, overriding the file (repeatable)\n"
	"  -h, --help              this help\n"
	"  -V, --version           the version and plugin ABI\n"
	"\n"
	"Secrets may come from the environment: CRMSYNC_SF_PASSWORD,\n"
	"CRMSYNC_SF_CLIENT_SECRET, CRMSYNC_SF_REFRESH_TOKEN.\n";

static int usage_error(const char *fmt, ...) CRMSYNC_PRINTF(1, 2);
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "crmsync: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'crmsync --help'.\n");
	return EXIT_USAGE;
}

/* Load the file (if any) and the -o overrides, and apply the [log] settings. */
static int cli_config(struct cli *c)
{
	cs_error err = CS_ERROR_INIT;

	c->cfg = cs_config_new();
	if (!c->cfg) {
		fprintf(stderr, "crmsync: out of memory\n");
		return EXIT_FAIL;
	}
	if (c->config_path && (c->config_explicit || access(c->config_path, F_OK) == 0)) {
		if (cs_config_load_file(c->cfg, c->config_path, &err)) {
			fprintf(stderr, "crmsync: %s\n", err.msg);
			return EXIT_USAGE;
		}
	}
	for (size_t i = 0; i < c->noverrides; i++)
		if (cs_config_override(c->cfg, c->overrides[i], &err)) {
			fprintf(stderr, "crmsync: %s\n", err.msg);
			return EXIT_USAGE;
		}
	const char *lvl = cs_config_get(c->cfg, "log", "level");
	if (lvl) {
		int level;
		if (cs_log_level_parse(lvl, &level)) {
			fprintf(stderr, "crmsync: %s: log.level = '%s': expected error, warn, info or debug\n",
				cs_config_where(c->cfg, "log", "level"), lvl);
			return EXIT_USAGE;
		}
		cs_log_set_level(level);
	}
	const char *target = cs_config_get(c->cfg, "log", "target");
	if (target) {
		if (strcmp(target, "syslog") == 0)
			cs_log_use_syslog(1);
		else if (strcmp(target, "stderr") != 0) {
			fprintf(stderr, "crmsync: %s: log.target = '%s': expected stderr or syslog\n",
				cs_config_where(c->cfg, "log", "target"), target);
			return EXIT_USAGE;
		}
	}
	return 0;
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static const char *dir_name(int d)
{
	return d == CRMSYNC_BOTH ? "two-way" : d == CRMSYNC_PUSH ? "local to CRM" : "CRM to local";
}

static int cmd_plugins(struct cli *c)
{
	cs_error err = CS_ERROR_INIT;
	cs_loader *ld = cs_loader_new(c->cfg, &err);
	int rc = 0;

	if (!ld) {
		fprintf(stderr, "crmsync: %s\n", err.msg);
		return EXIT_FAIL;
	}
	if (cs_loader_load_all(ld, &err)) {
		fprintf(stderr, "crmsync: %s\n", err.msg);
		cs_loader_free(ld);
		return EXIT_FAIL;
	}
	if (c->json) {
		printf("{\"path\":[");
		const char *const *d = cs_loader_path(ld);
		for (size_t i = 0; d[i]; i++) {
			printf(i ? "," : "");
			json_str(stdout, d[i]);
		}
		printf("],\"plugins\":[");
		bool first = true;
		for (cs_plugin *p = cs_loader_plugins(ld); p; p = p->next, first = false) {
			printf("%s{\"kind\":\"%s\",\"name\":", first ? "" : ",",
			       p->kind == CRMSYNC_KIND_OBJECT ? "object" : "backend");
			json_str(stdout, p->name);
			printf(",\"version\":");
			json_str(stdout, p->desc->version);
			printf(",\"abi\":\"%u.%u\",\"path\":", p->desc->abi_major, p->desc->abi_minor);
			json_str(stdout, p->path);
			if (p->kind == CRMSYNC_KIND_OBJECT) {
				const crmsync_object_ops *ops = cs_plugin_object(p);
				size_t n = ops->unit_count(p->state);
				printf(",\"units\":[");
				for (size_t i = 0; i < n; i++) {
					const crmsync_unit_decl *u = ops->unit_at(p->state, i);
					printf("%s{\"name\":", i ? "," : "");
					json_str(stdout, u->name);
					printf(",\"sobject\":");
					json_str(stdout, u->sobject);
					printf(",\"direction\":\"%s\",\"depends\":[", dir_name(u->direction));
					for (size_t k = 0; u->depends && u->depends[k]; k++) {
						printf(k ? "," : "");
						json_str(stdout, u->depends[k]);
					}
					printf("]}");
				}
				printf("]");
			}
			printf("}");
		}
		printf("],\"rejected\":[");
		first = true;
		for (cs_plugin_reject *r = cs_loader_rejects(ld); r; r = r->next, first = false) {
			printf("%s{\"path\":", first ? "" : ",");
			json_str(stdout, r->path);
			printf(",\"reason\":");
			json_str(stdout, r->reason);
			printf("}");
		}
		printf("]}\n");
	} else {
		printf("Plugin path:");
		for (const char *const *d = cs_loader_path(ld); *d; d++)
			printf(" %s", *d);
		printf("\n\n%-8s %-14s %-10s %-5s %s\n", "KIND", "NAME", "VERSION", "ABI", "PATH");
		for (cs_plugin *p = cs_loader_plugins(ld); p; p = p->next) {
			printf("%-8s %-14s %-10s %u.%-3u %s\n",
			       p->kind == CRMSYNC_KIND_OBJECT ? "object" : "backend", p->name,
			       p->desc->version, p->desc->abi_major, p->desc->abi_minor, p->path);
			if (p->kind != CRMSYNC_KIND_OBJECT)
				continue;
			const crmsync_object_ops *ops = cs_plugin_object(p);
			size_t n = ops->unit_count(p->state);
			for (size_t i = 0; i < n; i++) {
				const crmsync_unit_decl *u = ops->unit_at(p->state, i);
				printf("         unit %s (%s, %s", u->name, u->sobject,
				       dir_name(u->direction));
				for (size_t k = 0; u->depends && u->depends[k]; k++)
					printf("%s%s", k ? ", " : "; after ", u->depends[k]);
				printf(")\n");
			}
		}
	}
	for (cs_plugin_reject *r = cs_loader_rejects(ld); r; r = r->next) {
		fprintf(stderr, "crmsync: rejected %s\n", r->reason);
		rc = EXIT_FAIL;
	}
	cs_loader_free(ld);
	return rc;
}

static int cmd_init(struct cli *c)
{
	cs_error err = CS_ERROR_INIT;
	const char *path = c->config_path ? c->config_path : "crmsync.conf";

	if (cs_config_write_sample(path, c->force, &err)) {
		fprintf(stderr, "crmsync: %s\n", err.msg);
		return EXIT_FAIL;
	}
	printf("wrote %s: fill in [salesforce], then run 'crmsync -c %s sync --once'\n", path, path);
	return 0;
}

static volatile sig_atomic_t reload_requested;

static void on_stop(int sig)
{
	(void)sig;
	cs_stop_requested = 1;
}

static void on_hup(int sig)
{
	(void)sig;
	reload_requested = 1;
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* Sleep up to ms, waking early for a stop or a reload. */
static void pause_ms(int64_t ms)
{
	int64_t end = cs_now_ms() + ms;
	while (!cs_stop_requested && !reload_requested) {
		int64_t left = end - cs_now_ms();
		if (left <= 0)
			break;
		struct timespec ts = {left / 1000 > 0 ? 1 : 0, left >= 1000 ? 0 : left * 1000000};
		nanosleep(&ts, NULL);
	}
}

static int cmd_sync(struct cli *c, bool forever)
{
	cs_error err = CS_ERROR_INIT;
	cs_engine *e;
	int rc = 0;

	install_signals();
	if (cs_ops_begin(c->cfg, forever, &err)) { /* metrics listener, alerts */
		fprintf(stderr, "crmsync: %s\n", err.msg);
		cs_ops_end(err.msg);
		return err.code == CRMSYNC_EINVAL ? EXIT_USAGE : EXIT_FAIL;
	}
	e = cs_engine_new(c->cfg, CS_ENGINE_SYNC, &err);
	if (!e) {
		fprintf(stderr, "crmsync: %s\n", err.msg);
		cs_ops_end(err.msg);
		return err.code == CRMSYNC_EINVAL ? EXIT_USAGE : EXIT_FAIL;
	}
	for (;;) {
		cs_err_clear(&err);
		int crc = cs_engine_cycle(e, &err);
		if (crc)
			fprintf(stderr, "crmsync: %s\n", err.msg);
		rc = crc ? EXIT_FAIL : 0;
		if (!forever || cs_stop_requested)
			break;
		pause_ms(cs_engine_interval_ms(e));
		if (cs_stop_requested)
			break;
		if (reload_requested) {
			reload_requested = 0;
			struct cli fresh = *c;
			fresh.cfg = NULL;
			cs_info("crmsync", "SIGHUP: reloading the configuration");
			if (cli_config(&fresh) != 0) {
				cs_error("crmsync", "the new configuration is not valid; keeping the old one");
				cs_config_free(fresh.cfg);
				continue;
			}
			cs_error nerr = CS_ERROR_INIT;
			cs_engine_free(e);
			e = cs_engine_new(fresh.cfg, CS_ENGINE_SYNC, &nerr);
			if (!e) {
				cs_error("crmsync", "cannot restart with the new configuration: %s", nerr.msg);
				cs_ops_end(nerr.msg);
				cs_config_free(fresh.cfg);
				cs_config_free(c->cfg);
				c->cfg = NULL;
				return EXIT_FAIL;
			}
			cs_config_free(c->cfg);
			c->cfg = fresh.cfg;
			cs_ops_reload(c->cfg);
		}
	}
	if (cs_stop_requested)
		cs_info("crmsync", "stopped cleanly at a page boundary");
	cs_ops_end(cs_stop_requested ? "crmsync run stopped on a signal (SIGTERM or SIGINT)" : NULL);
	cs_engine_free(e);
	return rc;
}

static int cmd_local(struct cli *c, const char *cmd, const char *arg1, const char *arg2)
{
	cs_error err = CS_ERROR_INIT;
	int fmt = c->json ? 1 : c->csv ? 2 : 0, rc;
	bool push = strcmp(cmd, "push") == 0, backlog = strcmp(cmd, "backlog") == 0;
	cs_engine *e =
	    cs_engine_new(c->cfg, push || backlog ? CS_ENGINE_SYNC : CS_ENGINE_LOCAL, &err);

	if (!e) {
		fprintf(stderr, "crmsync: %s\n", err.msg);
		return err.code == CRMSYNC_EINVAL ? EXIT_USAGE : EXIT_FAIL;
	}
	if (strcmp(cmd, "status") == 0) {
		rc = cs_engine_status(e, c->json ? 1 : 0, &err);
	} else if (backlog) {
		rc = cs_engine_backlog(e, c->json ? 1 : 0, &err);
	} else if (strcmp(cmd, "history") == 0) {
		rc = cs_engine_history(e, fmt, &err);
	} else if (strcmp(cmd, "errors") == 0) {
		int64_t since = 0;
		if (c->since && cs_parse_datetime(c->since, &since)) {
			int64_t ago;
			if (cs_parse_duration_ms(c->since, &ago)) {
				cs_engine_free(e);
				return usage_error("--since '%s': expected a datetime "
						   "(2024-01-31T00:00:00Z) or a duration (2h, 3d)",
						   c->since);
			}
			since = cs_now_ms() - ago;
		}
		rc = cs_engine_errors(e, fmt, since, &err);
	} else {
		rc = cs_engine_push_one(e, arg1, arg2, &err);
	}
	if (rc)
		fprintf(stderr, "crmsync: %s\n", err.msg);
	cs_engine_free(e);
	return rc ? EXIT_FAIL : 0;
}

/* The pull decodes a page on a thread of its own (engine_pull.c) and the main
 * thread frees it: with glibc's per-thread arenas every page's records went
 * back to an arena that then trimmed its heap, and the next page faulted the
 * memory in again. One arena and fixed thresholds (32 MiB: the largest
 * buffer is a page's JSON text, a few MiB) keep that memory in use: an
 * initial copy of 1M leads took 7 s of system time instead of 13 (of 36 s). */
static void malloc_setup(void)
{
#if defined(M_ARENA_MAX) && defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
	mallopt(M_ARENA_MAX, 1);
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 32 << 20);
#endif
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"option", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{"json", no_argument, NULL, 'J'},
		{"csv", no_argument, NULL, 'C'},
		{"once", no_argument, NULL, '1'},
		{"force", no_argument, NULL, 'f'},
		{"since", required_argument, NULL, 's'},
		{NULL, 0, NULL, 0},
	};
	struct cli c = {.config_path = "crmsync.conf"};
	int ch, rc;

	c.overrides = calloc((size_t)argc + 1, sizeof *c.overrides);
	if (!c.overrides)
		return EXIT_FAIL;
	if (getenv("CRMSYNC_CONFIG")) {
		c.config_path = getenv("CRMSYNC_CONFIG");
		c.config_explicit = true;
	}
	malloc_setup();
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:o:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			c.config_path = optarg;
			c.config_explicit = true;
			break;
		case 'o':
			c.overrides[c.noverrides++] = optarg;
			break;
		case 'h':
			fputs(usage_text, stdout);
			free(c.overrides);
			return 0;
		case 'V':
			printf("crmsync %s (plugin ABI %d.%d)\n", PACKAGE_VERSION, CRMSYNC_ABI_MAJOR,
			       CRMSYNC_ABI_MINOR);
			free(c.overrides);
			return 0;
		case 'J':
			c.json = true;
			break;
		case 'C':
			c.csv = true;
			break;
		case '1':
			c.once = true;
			break;
		case 'f':
			c.force = true;
			break;
		case 's':
			c.since = optarg;
			break;
		case ':':
			free(c.overrides);
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			free(c.overrides);
			return usage_error("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc) {
		free(c.overrides);
		return usage_error("%s", "no command given");
	}
	const char *cmd = argv[optind];
	int nargs = argc - optind - 1;
	static const char *const known[] = {"init",    "sync", "run",  "status", "errors",
					    "history", "plugins", "push", "backlog", NULL};
	bool ok = false;
	for (const char *const *k = known; *k; k++)
		ok |= strcmp(*k, cmd) == 0;
	if (!ok) {
		free(c.overrides);
		return usage_error("unknown command '%s'", cmd);
	}
	if ((strcmp(cmd, "push") == 0 && nargs != 2) || (strcmp(cmd, "push") != 0 && nargs != 0)) {
		free(c.overrides);
		if (strcmp(cmd, "push") == 0)
			return usage_error("push: expected UNIT and ID");
		return usage_error("%s: takes no arguments", cmd);
	}
	if (strcmp(cmd, "init") == 0) {
		rc = cmd_init(&c);
		free(c.overrides);
		return rc;
	}
	rc = cli_config(&c);
	if (rc == 0) {
		if (strcmp(cmd, "plugins") == 0)
			rc = cmd_plugins(&c);
		else if (strcmp(cmd, "sync") == 0 && !c.once)
			rc = usage_error("%s", "sync needs --once (use 'run' to sync continuously)");
		else if (strcmp(cmd, "sync") == 0 || strcmp(cmd, "run") == 0)
			rc = cmd_sync(&c, strcmp(cmd, "run") == 0);
		else
			rc = cmd_local(&c, cmd, nargs > 0 ? argv[optind + 1] : NULL,
				       nargs > 1 ? argv[optind + 2] : NULL);
	}
	cs_config_free(c.cfg);
	free(c.overrides);
	return rc;
}
