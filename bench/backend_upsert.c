/*
 * backend_upsert.c - how fast a backend stores pulled records: N lead-sized
 * records (21 fields) upserted through the plugin ABI in pages, each page in
 * one transaction with its checkpoint, as the engine's pull does. Reports
 * rows/s and peak RSS; a second pass over the same records measures skipping,
 * then an id reconciliation over all rows (when the backend has it).
 * A figure for the notes, never a timed test.
 *
 *   bench/backend_upsert [--rows N] [--page N] [--path FILE] [--so PLUGIN] [--pull]
 *                        [--conninfo CI] [--schema NAME] [--server-pid PID]
 *                        [--insert-only]
 *
 * The lead unit is two-way (capture triggers on its table) unless --pull.
 * Default plugin: this build's sqlite.so; default file: a temporary one,
 * removed afterwards. --conninfo and --schema become [storage] conninfo and
 * schema, for postgres.so (e.g. --so .../postgres.so --conninfo "host=/tmp/x
 * dbname=bench"). --server-pid names the server's main process (the
 * postmaster): each pass then also reports the CPU time of the server's
 * processes (it and its children, from /proc) per 100k rows. --insert-only
 * runs the first pass alone (for a profiler: callgrind's count of the insert).
 */
#include "config.h"
#include "conf.h"
#include "host.h"
#include "loader.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <dirent.h>
#include <time.h>
#include <unistd.h>

static const crmsync_field_desc lead_fields[] = {
    {.name = "Id", .type = CRMSYNC_ID},
    {.name = "FirstName", .type = CRMSYNC_STRING},
    {.name = "LastName", .type = CRMSYNC_STRING},
    {.name = "Company", .type = CRMSYNC_STRING},
    {.name = "Email", .type = CRMSYNC_STRING},
    {.name = "Phone", .type = CRMSYNC_STRING},
    {.name = "Title", .type = CRMSYNC_STRING},
    {.name = "Street", .type = CRMSYNC_STRING},
    {.name = "City", .type = CRMSYNC_STRING},
    {.name = "State", .type = CRMSYNC_STRING},
    {.name = "PostalCode", .type = CRMSYNC_STRING},
    {.name = "Country", .type = CRMSYNC_STRING},
    {.name = "Status", .type = CRMSYNC_STRING},
    {.name = "LeadSource", .type = CRMSYNC_STRING},
    {.name = "Industry", .type = CRMSYNC_STRING},
    {.name = "AnnualRevenue", .type = CRMSYNC_DOUBLE},
    {.name = "NumberOfEmployees", .type = CRMSYNC_INTEGER},
    {.name = "HasOptedOutOfEmail", .type = CRMSYNC_BOOLEAN},
    {.name = "CreatedDate", .type = CRMSYNC_DATETIME},
    {.name = "OwnerId", .type = CRMSYNC_ID, .reference_to = "User"},
    {.name = "SystemModstamp", .type = CRMSYNC_DATETIME},
};
#define NF (sizeof lead_fields / sizeof *lead_fields)

static double clock_s(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wall time, and CPU time spent in the backend's ops only (the machine may
 * be shared, and building the records is the engine's cost, not the store's);
 * server CPU when a server pid is known. */
typedef struct timing {
	double wall, ops_cpu, ops_wall, server_cpu;
} timing;

static long server_pid;

/* utime + stime (+ reaped children's when kids) of one process, in seconds;
 * its parent's pid in *ppid. -1 when it is gone. */
static double proc_cpu(long pid, int kids, long *ppid)
{
	char f[64], line[1024];
	snprintf(f, sizeof f, "/proc/%ld/stat", pid);
	FILE *fp = fopen(f, "r");
	if (!fp)
		return -1;
	size_t n = fread(line, 1, sizeof line - 1, fp);
	fclose(fp);
	line[n] = 0;
	char *p = strrchr(line, ')');
	unsigned long long ut, st;
	long long cut, cst;
	long pp;
	if (!p || sscanf(p + 2, "%*c %ld %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld %lld",
			 &pp, &ut, &st, &cut, &cst) != 5)
		return -1;
	if (ppid)
		*ppid = pp;
	double t = (double)(ut + st) + (kids ? (double)(cut + cst) : 0);
	return t / (double)sysconf(_SC_CLK_TCK);
}

/* CPU seconds of the server so far: the postmaster with the children it
 * reaped, and its live children. */
static double server_cpu(void)
{
	if (!server_pid)
		return 0;
	double t = proc_cpu(server_pid, 1, NULL);
	DIR *d = opendir("/proc");
	struct dirent *e;
	while (d && (e = readdir(d))) {
		long pid = atol(e->d_name), pp = 0;
		if (pid <= 0 || pid == server_pid)
			continue;
		double c = proc_cpu(pid, 0, &pp);
		if (c >= 0 && pp == server_pid)
			t += c;
	}
	if (d)
		closedir(d);
	return t;
}

static void fill(const crmsync_host *h, crmsync_record *r, long i)
{
	char buf[NF][64];
	h->record_clear(r);
	snprintf(buf[0], 64, "00Q%015ld", i);
	snprintf(buf[1], 64, "First%ld", i % 5000);
	snprintf(buf[2], 64, "Last%ld", i);
	snprintf(buf[3], 64, "Company %ld Ltd", i % 100000);
	snprintf(buf[4], 64, "lead%ld@example%ld.com", i, i % 1000);
	snprintf(buf[5], 64, "+1 555 %07ld", i % 10000000);
	snprintf(buf[6], 64, "%s", i % 3 ? "Director of Marketing" : "VP Sales");
	snprintf(buf[7], 64, "%ld Main Street", i % 9999);
	snprintf(buf[8], 64, "City %ld", i % 700);
	snprintf(buf[9], 64, "%s", i % 2 ? "CA" : "NY");
	snprintf(buf[10], 64, "%05ld", i % 100000);
	snprintf(buf[11], 64, "USA");
	snprintf(buf[12], 64, "%s", i % 4 ? "Open - Not Contacted" : "Working - Contacted");
	snprintf(buf[13], 64, "%s", i % 5 ? "Web" : "Trade Show");
	snprintf(buf[14], 64, "%s", i % 7 ? "Technology" : "Finance");
	for (size_t f = 0; f < NF; f++) {
		crmsync_value v = {.type = lead_fields[f].type};
		switch (lead_fields[f].type) {
		case CRMSYNC_STRING:
		case CRMSYNC_ID:
			v.u.s = f == 19 ? "005000000000001AAA" : buf[f];
			v.len = strlen(v.u.s);
			break;
		case CRMSYNC_DOUBLE:
			v.u.d = (double)(i % 1000) * 1234.56;
			break;
		case CRMSYNC_INTEGER:
			v.u.i = i % 5000;
			break;
		case CRMSYNC_BOOLEAN:
			v.u.b = (int)(i & 1);
			break;
		case CRMSYNC_DATETIME:
			v.u.i = 1700000000000 + i * 10;
			break;
		}
		h->record_set(r, lead_fields[f].name, &v);
	}
}

static long tx_rows = 20000;
static int insert_only;

static int pass(const crmsync_backend_ops *ops, void *st, const crmsync_host *h,
		crmsync_record **recs, long rows, long page, uint8_t *out, long counts[6],
		timing *tm, cs_error *err)
{
	double w0 = clock_s(CLOCK_MONOTONIC), s0 = server_cpu();
	for (long base = 0; base < rows; base += page) {
		long n = rows - base < page ? rows - base : page;
		for (long k = 0; k < n; k++)
			fill(h, recs[k], base + k);
		char ck[64];
		snprintf(ck, sizeof ck, "%ld", base + n);
		double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), o0 = clock_s(CLOCK_MONOTONIC);
		/* one transaction per tx_rows rows, each page with its checkpoint:
		 * what the engine's pull does (engine_pull.c, PULL_TX_RECORDS) */
		long ppt = tx_rows / page > 0 ? tx_rows / page : 1, pg = base / page;
		int open_tx = pg % ppt == 0, close_tx = (pg + 1) % ppt == 0 || base + n >= rows;
		if ((open_tx && ops->begin(st, err)) ||
		    ops->upsert(st, "lead", recs, (size_t)n, out, err) ||
		    ops->state_set(st, "lead", "checkpoint", ck, err) ||
		    (close_tx && ops->commit(st, err)))
			return -1;
		tm->ops_cpu += clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
		tm->ops_wall += clock_s(CLOCK_MONOTONIC) - o0;
		for (long k = 0; k < n; k++)
			counts[out[k] < 6 ? out[k] : 0]++;
	}
	tm->wall = clock_s(CLOCK_MONOTONIC) - w0;
	tm->server_cpu = server_cpu() - s0;
	return 0;
}

int main(int argc, char **argv)
{
	long rows = 1000000, page = 2000;
	const char *path = NULL, *so = NULL, *conninfo = NULL, *schema = NULL;
	char tmp[4096] = "", sobuf[4200];
	int direction = CRMSYNC_BOTH, bad = 0;
	for (int i = 1; i < argc && !bad; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--pull")) { /* a one-way unit: no capture triggers */
			direction = CRMSYNC_PULL;
			continue;
		}
		if (!strcmp(a, "--insert-only")) {
			insert_only = 1;
			continue;
		}
		if (!v) {
			fprintf(stderr, "%s: %s: unknown option or missing value\n", argv[0], a);
			bad = 1;
			break;
		}
		i++;
		if (!strcmp(a, "--rows"))
			rows = atol(v);
		else if (!strcmp(a, "--tx-rows"))
			tx_rows = atol(v);
		else if (!strcmp(a, "--page"))
			page = atol(v);
		else if (!strcmp(a, "--path"))
			path = v;
		else if (!strcmp(a, "--so"))
			so = v;
		else if (!strcmp(a, "--conninfo"))
			conninfo = v;
		else if (!strcmp(a, "--schema"))
			schema = v;
		else if (!strcmp(a, "--server-pid"))
			server_pid = atol(v);
		else {
			fprintf(stderr, "%s: %s: unknown option\n", argv[0], a);
			bad = 1;
		}
	}
	if (bad || rows <= 0 || page <= 0 || tx_rows <= 0) {
		fprintf(stderr,
			"usage: %s [--rows N] [--page N] [--tx-rows N] [--path FILE] [--so PLUGIN] "
			"[--pull] [--insert-only] [--conninfo CI] [--schema NAME] [--server-pid PID]\n",
			argv[0]);
		return 2;
	}
	if (!so) { /* this build's plugin: $top_builddir, else the tree this program is in */
		const char *top = getenv("top_builddir");
		char exe[4096];
		ssize_t n = top ? -1 : readlink("/proc/self/exe", exe, sizeof exe - 1);
		char *slash = NULL;
		if (n > 0) {
			exe[n] = 0;
			for (int k = 0; k < 2 && (slash = strrchr(exe, '/')); k++)
				*slash = 0; /* drop "/backend_upsert", then "/bench" */
		}
		snprintf(sobuf, sizeof sobuf, "%s/plugins/backends/sqlite/.libs/sqlite.so",
			 top ? top : slash ? exe : ".");
		so = sobuf;
	}
	if (!path) {
		snprintf(tmp, sizeof tmp, "backend_upsert.%ld.db", (long)getpid());
		path = tmp;
	}
	cs_error err = CS_ERROR_INIT;
	const crmsync_host *h = cs_host_table();
	cs_config *cfg = cs_config_new();
	cs_loader *ld = NULL;
	cs_plugin *p = NULL;
	int rc = 1;
	crmsync_record **recs = calloc((size_t)page, sizeof *recs);
	uint8_t *out = calloc((size_t)page, 1);
	if (!cfg || !recs || !out || cs_config_set(cfg, "storage", "path", path, "bench", &err))
		goto out;
	if (conninfo && cs_config_set(cfg, "storage", "conninfo", conninfo, "bench", &err))
		goto out;
	if (schema && cs_config_set(cfg, "storage", "schema", schema, "bench", &err))
		goto out;
	if (!(ld = cs_loader_new(cfg, &err)) || cs_loader_load_file(ld, so, &p, &err))
		goto out;
	const crmsync_backend_ops *ops = cs_plugin_backend(p);
	crmsync_unit_schema sc = {.size = sizeof sc,
				  .unit = "lead",
				  .sobject = "Lead",
				  .direction = direction,
				  .nfields = NF,
				  .fields = lead_fields};
	if (ops->open(p->state, &err) || ops->ensure_unit(p->state, &sc, &err))
		goto out;
	for (long k = 0; k < page; k++)
		if (!(recs[k] = h->record_new()))
			goto out;
	long c1[6] = {0}, c2[6] = {0};
	timing t1 = {0}, t2 = {0};
	if (pass(ops, p->state, h, recs, rows, page, out, c1, &t1, &err))
		goto out;
	if (insert_only) {
		printf("insert (new): %ld new of %ld, %.2f s wall, ops %.0f rows/s\n",
		       c1[CRMSYNC_OUT_NEW], rows, t1.wall, (double)rows / t1.ops_wall);
		rc = c1[CRMSYNC_OUT_NEW] == rows ? 0 : 1;
		ops->close(p->state);
		goto out;
	}
	if (pass(ops, p->state, h, recs, rows, page, out, c2, &t2, &err))
		goto out;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("backend %s, %ld lead rows of %zu fields, %s unit, pages of %ld with a checkpoint "
	       "each, a commit every %ld rows\n",
	       p->name, rows, NF, direction == CRMSYNC_BOTH ? "two-way" : "one-way", page,
	       (tx_rows / page > 0 ? tx_rows / page : 1) * page);
	printf("%-12s %10s %12s %14s %14s\n", "pass", "wall s", "rows/s", "ops rows/s",
	       "ops rows/cpu-s");
	const char *name[2] = {"insert (new)", "same (skip)"};
	timing *tm[2] = {&t1, &t2};
	for (int k = 0; k < 2; k++)
		printf("%-12s %10.2f %12.0f %14.0f %14.0f\n", name[k], tm[k]->wall,
		       (double)rows / tm[k]->wall, (double)rows / tm[k]->ops_wall,
		       (double)rows / tm[k]->ops_cpu);
	for (int k = 0; server_pid && k < 2; k++)
		printf("%-12s cpu-s per 100k rows: client ops %.2f, server %.2f\n", name[k],
		       tm[k]->ops_cpu * 1e5 / (double)rows, tm[k]->server_cpu * 1e5 / (double)rows);
	printf("outcomes: new %ld, skipped %ld; peak RSS %.1f MiB\n", c1[CRMSYNC_OUT_NEW],
	       c2[CRMSYNC_OUT_SKIPPED], (double)ru.ru_maxrss / 1024.0);
	rc = c1[CRMSYNC_OUT_NEW] == rows && c2[CRMSYNC_OUT_SKIPPED] == rows ? 0 : 1;
	if (rc)
		fprintf(stderr, "unexpected outcomes: new %ld, skipped %ld of %ld\n",
			c1[CRMSYNC_OUT_NEW], c2[CRMSYNC_OUT_SKIPPED], rows);
	/* Id reconciliation over every row: all ids but one in a hundred seen,
	 * in batches of a page, each batch its own transaction. */
	if (!rc && ops->size >= offsetof(crmsync_backend_ops, reconcile_finish) + sizeof(void *)) {
		static char idb[2000][24];
		const char *ids[2000];
		long bn = page < 2000 ? page : 2000, seen = 0;
		int64_t swept = -1;
		double w0 = clock_s(CLOCK_MONOTONIC), c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
		rc = ops->reconcile_begin(p->state, "lead", 1800000000000LL, &err) ? 1 : 0;
		for (long base = 0; !rc && base < rows; base += bn) {
			size_t n = 0;
			for (long i = base; i < rows && i < base + bn; i++) {
				if (i % 100 == 7)
					continue;
				snprintf(idb[n], sizeof idb[n], "00Q%015ld", i);
				ids[n] = idb[n];
				n++;
			}
			seen += (long)n;
			rc = ops->reconcile_seen(p->state, "lead", ids, n, &err) ? 1 : 0;
		}
		if (!rc)
			rc = ops->reconcile_finish(p->state, "lead", &swept, &err) ? 1 : 0;
		getrusage(RUSAGE_SELF, &ru);
		if (!rc)
			printf("reconcile: %ld ids seen, %lld rows tombstoned, %.2f s wall, %.2f "
			       "cpu-s; peak RSS %.1f MiB\n",
			       seen, (long long)swept, clock_s(CLOCK_MONOTONIC) - w0,
			       clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0,
			       (double)ru.ru_maxrss / 1024.0);
		if (!rc && swept != rows - seen) {
			fprintf(stderr, "reconcile tombstoned %lld rows, expected %ld\n",
				(long long)swept, rows - seen);
			rc = 1;
		}
	}
	ops->close(p->state);
out:
	if (rc && err.msg[0])
		fprintf(stderr, "backend_upsert: %s\n", err.msg);
	for (long k = 0; recs && k < page; k++)
		if (recs[k])
			h->record_free(recs[k]);
	free(recs);
	free(out);
	cs_loader_free(ld);
	cs_config_free(cfg);
	if (tmp[0]) {
		char f[4200];
		unlink(tmp);
		snprintf(f, sizeof f, "%s-wal", tmp);
		unlink(f);
		snprintf(f, sizeof f, "%s-shm", tmp);
		unlink(f);
	}
	return rc;
}
