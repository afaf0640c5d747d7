/* bench_query.c - pages through a query on sfemu with keep-alive and reports records/s
 * (wall) and, given the server pid, records per second of server CPU time. Not part of
 * the build: cc -O2 -o bench_query tests/sfemu/bench_query.c -lcurl
 * usage: bench_query URL TOKEN SOQL [sfemu-pid] */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
struct b {
	char *p;
	size_t n, cap;
};
static size_t wr(char *d, size_t s, size_t n, void *u)
{
	struct b *b = u;
	if (b->n + s * n + 1 > b->cap) {
		b->cap = (b->n + s * n + 1) * 2;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, d, s * n);
	b->n += s * n;
	b->p[b->n] = 0;
	return s * n;
}
static double cpu(int pid)
{
	char f[64];
	snprintf(f, sizeof f, "/proc/%d/stat", pid);
	FILE *fp = fopen(f, "r");
	if (!fp)
		return 0;
	char buf[2048];
	size_t n = fread(buf, 1, sizeof buf - 1, fp);
	fclose(fp);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	unsigned long ut = 0, st = 0;
	int k = 0;
	for (char *t = strtok(p + 2, " "); t; t = strtok(NULL, " ")) {
		k++;
		if (k == 12)
			ut = strtoul(t, 0, 10);
		if (k == 13) {
			st = strtoul(t, 0, 10);
			break;
		}
	}
	return (ut + st) / (double)sysconf(_SC_CLK_TCK);
}
int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: bench URL TOKEN SOQL [server-pid]\n");
		return 2;
	}
	const char *base = argv[1], *tok = argv[2], *q = argv[3];
	int pid = argc > 4 ? atoi(argv[4]) : 0;
	CURL *c = curl_easy_init();
	char *eq = curl_easy_escape(c, q, 0);
	char url[4096];
	snprintf(url, sizeof url, "%s/services/data/v59.0/query?q=%s", base, eq);
	char auth[512];
	snprintf(auth, sizeof auth, "Authorization: Bearer %s", tok);
	struct curl_slist *h = curl_slist_append(NULL, auth);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, wr);
	struct b b = {0};
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	double c0 = pid ? cpu(pid) : 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	long total = 0, pages = 0;
	size_t bytes = 0;
	for (;;) {
		b.n = 0;
		curl_easy_setopt(c, CURLOPT_URL, url);
		CURLcode cc = curl_easy_perform(c);
		if (cc) {
			fprintf(stderr, "curl failed: %s\n", curl_easy_strerror(cc));
			return 1;
		}
		for (char *p = b.p; (p = strstr(p, "{\"attributes\":{\"type\":\"Lead\"")); p++)
			total++;
		pages++;
		bytes += b.n;
		char *nx = strstr(b.p, "\"nextRecordsUrl\":\"");
		if (!nx)
			break;
		nx += 18;
		char *end = strchr(nx, '"');
		snprintf(url, sizeof url, "%s%.*s", base, (int)(end - nx), nx);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
	printf("%ld records, %ld pages, %.1f MB in %.2f s: %.0f records/s wall", total, pages,
	       bytes / 1e6, s, total / s);
	if (pid) {
		double cs = cpu(pid) - c0;
		printf("; server CPU %.2f s: %.0f records per CPU-second", cs, total / cs);
	}
	printf("\n");
	return 0;
}
