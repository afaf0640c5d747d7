/*
 * sf_page.c - how fast the Salesforce client pages a large result, and with how
 * much memory: pulls every Lead (all readable fields, typed by describe) from
 * an sfemu it starts with --seed leads=N (or from --url of a running one) and
 * prints records/s and the peak RSS of this process (getrusage ru_maxrss).
 *
 *   bench/sf_page [--leads N] [--batch 2000] [--url http://127.0.0.1:PORT] [--fields a,b]
 *
 * A figure, never a timed test.
 */
#include "config.h"

#include "../tests/sf/emu.h"
#include "log.h"
#include "sf.h"
#include "timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

struct bench {
	int64_t records, pages, fields, total;
	long rss_after_first_page;
};

static long peak_rss_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static long current_rss_kb(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static int on_page(void *ud, const sf_page *p, cs_error *err)
{
	struct bench *b = ud;
	b->records += (int64_t)p->count;
	b->pages++;
	b->total = p->total_size;
	for (size_t i = 0; i < p->count; i++)
		b->fields += (int64_t)cs_record_count(p->records[i]);
	if (b->pages == 1)
		b->rss_after_first_page = peak_rss_kb();
	if (b->pages % (getenv("SF_PAGE_VERBOSE") ? 5 : 100) == 0)
		fprintf(stderr,
			"  %lld records of %lld, RSS %ld KiB, peak %ld KiB, heap in use %zu KiB\n",
			(long long)b->records, (long long)p->total_size, current_rss_kb(),
			peak_rss_kb(), mallinfo2().uordblks / 1024);
	return 0;
}

int main(int argc, char **argv)
{
	const char *leads = "100000", *url = NULL, *fields = NULL;
	int batch = 2000;
	emu e = {0};
	cs_error err = CS_ERROR_INIT;
	int rc = 1;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--leads"))
			leads = argv[i + 1];
		else if (!strcmp(argv[i], "--url"))
			url = argv[i + 1];
		else if (!strcmp(argv[i], "--batch"))
			batch = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--fields"))
			fields = argv[i + 1];
	}
	if (getenv("CRMSYNC_DEBUG"))
		cs_log_set_level(CRMSYNC_LOG_DEBUG);
	if (!url) {
		char seed[64];
		snprintf(seed, sizeof seed, "leads=%s", leads);
		const char *args[] = {"--seed", seed, "--api-limit", "100000000", NULL};
		int64_t t0 = cs_now_ms();
		if (emu_start(&e, args)) {
			fprintf(stderr, "sf_page: cannot start %s\n", emu_binary());
			return 1;
		}
		url = e.url;
		fprintf(stderr, "sfemu seeded %s leads in %.1f s at %s\n", leads,
			(double)(cs_now_ms() - t0) / 1000, url);
	}
	sf_config cfg = {.login_url = url,
			 .client_id = "crmsync-demo",
			 .client_secret = "crmsync-demo-secret",
			 .username = "sync@example.com",
			 .password = "sync-password",
			 .budget_percent = 100,
			 .transfer_timeout_ms = 300000};
	sf_client *c = sf_client_new(&cfg, &err);
	const sf_describe *d;
	crmsync_field_desc *sel = NULL;
	size_t nsel = 0;
	sf_buf q = {0};
	struct bench b = {0};
	long rss0 = peak_rss_kb();
	if (!c || sf_describe_object(c, "Lead", &d, NULL, &err))
		goto out;
	const char *want[128];
	char *fl = fields ? strdup(fields) : NULL;
	size_t nw = 0;
	for (char *tok = fl ? strtok(fl, ",") : NULL; tok && nw < 127; tok = strtok(NULL, ","))
		want[nw++] = tok;
	want[nw] = NULL;
	if (sf_fields_select(d, fields ? want : NULL, &sel, &nsel, &err))
		goto out;
	const char **names = calloc(nsel, sizeof *names);
	for (size_t i = 0; i < nsel; i++)
		names[i] = sel[i].name;
	rc = sf_soql_keyset(&q, "Lead", names, nsel, 0, NULL, NULL, 0, &err);
	free(names);
	free(fl);
	if (rc)
		goto out;
	sf_query_opts o = {.batch_size = batch, .fields = sel, .nfields = nsel};
	struct rusage ru0;
	getrusage(RUSAGE_SELF, &ru0);
	int64_t t0 = cs_now_ms();
	rc = sf_query(c, q.s, &o, on_page, &b, &err);
	double s = (double)(cs_now_ms() - t0) / 1000;
	if (rc)
		goto out;
	int64_t used, max;
	sf_limits(c, &used, &max, NULL);
	printf("sf_page: %lld records (%zu fields each, %lld values) in %lld pages, %.2f s: "
	       "%.0f records/s\n",
	       (long long)b.records, nsel, (long long)b.fields, (long long)b.pages, s,
	       s > 0 ? (double)b.records / s : 0.0);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double us = (double)(ru.ru_utime.tv_sec - ru0.ru_utime.tv_sec) +
		    (double)(ru.ru_utime.tv_usec - ru0.ru_utime.tv_usec) / 1e6;
	double sy = (double)(ru.ru_stime.tv_sec - ru0.ru_stime.tv_sec) +
		    (double)(ru.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e6;
	printf("sf_page: client CPU during the query %.2f s user + %.2f s system: %.0f records "
	       "per client CPU second; totalSize %lld\n",
	       us, sy, (double)b.records / (us + sy + 1e-9), (long long)b.total);
	printf("sf_page: peak RSS %ld KiB (before the query %ld KiB, after the first page %ld "
	       "KiB); API calls used %lld of %lld\n",
	       peak_rss_kb(), rss0, b.rss_after_first_page, (long long)used, (long long)max);
	rc = 0;
out:
	if (rc)
		fprintf(stderr, "sf_page: %s\n", cs_err_msg(&err));
	free(sel);
	sf_buf_free(&q);
	sf_client_free(c);
	emu_stop(&e);
	return rc;
}
