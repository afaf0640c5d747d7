/*
 * floor.c - the transfer floor: download every page of a query the way the
 * sync would (same fields, same page size) with a plain HTTP client and no
 * processing beyond finding nextRecordsUrl. A sync cannot be faster than this;
 * bench/run reports sync time / floor time.
 *
 *   floor BASE_URL "SOQL" [batch]   (password grant with the emulator's defaults,
 *                                    or CRMSYNC_SF_* from the environment)
 * Prints: pages=N bytes=N seconds=S
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct buf {
	char *p;
	size_t n, cap;
};

static size_t floor_write(char *d, size_t sz, size_t nm, void *ud)
{
	struct buf *b = ud;
	size_t n = sz * nm;
	if (b->n + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap * 2 : 1 << 20;
		while (nc < b->n + n + 1)
			nc *= 2;
		char *np = realloc(b->p, nc);
		if (!np)
			return 0;
		b->p = np;
		b->cap = nc;
	}
	memcpy(b->p + b->n, d, n);
	b->n += n;
	b->p[b->n] = '\0';
	return n;
}

/* The string value of "key":"..." in a JSON text (no escapes expected). */
static int floor_value(const char *json, const char *key, char *out, size_t cap)
{
	char pat[64];
	snprintf(pat, sizeof pat, "\"%s\":\"", key);
	const char *p = strstr(json, pat);
	if (!p)
		return -1;
	p += strlen(pat);
	const char *e = strchr(p, '"');
	if (!e || (size_t)(e - p) >= cap)
		return -1;
	memcpy(out, p, (size_t)(e - p));
	out[e - p] = '\0';
	return 0;
}

static double floor_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: floor BASE_URL SOQL [batch]\n");
		return 2;
	}
	const char *base = argv[1], *soql = argv[2];
	int batch = argc > 3 ? atoi(argv[3]) : 2000;
	const char *user = getenv("CRMSYNC_SF_USERNAME"), *pass = getenv("CRMSYNC_SF_PASSWORD");
	const char *cid = getenv("CRMSYNC_SF_CLIENT_ID"), *sec = getenv("CRMSYNC_SF_CLIENT_SECRET");
	struct buf b = {0};
	char url[8192], form[1024], token[512], inst[512], hdr[700], opt[64];
	CURL *c;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	c = curl_easy_init();
	char *eu = curl_easy_escape(c, user ? user : "sync@example.com", 0);
	char *ep = curl_easy_escape(c, pass ? pass : "sync-password", 0);
	snprintf(form, sizeof form,
		 "grant_type=password&client_id=%s&client_secret=%s&username=%s&password=%s",
		 cid ? cid : "crmsync-demo", sec ? sec : "crmsync-demo-secret", eu, ep);
	curl_free(eu);
	curl_free(ep);
	snprintf(url, sizeof url, "%s/services/oauth2/token", base);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, form);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, floor_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (curl_easy_perform(c) != CURLE_OK || floor_value(b.p, "access_token", token, sizeof token) ||
	    floor_value(b.p, "instance_url", inst, sizeof inst)) {
		fprintf(stderr, "floor: login failed\n");
		return 1;
	}
	curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	struct curl_slist *h = NULL;
	snprintf(hdr, sizeof hdr, "Authorization: Bearer %s", token);
	h = curl_slist_append(h, hdr);
	snprintf(opt, sizeof opt, "Sforce-Query-Options: batchSize=%d", batch);
	h = curl_slist_append(h, opt);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
	char *q = curl_easy_escape(c, soql, 0);
	snprintf(url, sizeof url, "%s/services/data/v59.0/queryAll?q=%s", inst, q);
	curl_free(q);
	long pages = 0;
	size_t bytes = 0;
	double t0 = floor_now();
	for (;;) {
		b.n = 0;
		curl_easy_setopt(c, CURLOPT_URL, url);
		long status = 0;
		if (curl_easy_perform(c) != CURLE_OK ||
		    (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status), status != 200)) {
			fprintf(stderr, "floor: page %ld failed (HTTP %ld)\n", pages, status);
			return 1;
		}
		pages++;
		bytes += b.n;
		char next[512];
		/* nextRecordsUrl comes before the records in Salesforce's layout */
		if (floor_value(b.p, "nextRecordsUrl", next, sizeof next))
			break;
		snprintf(url, sizeof url, "%s%s", inst, next);
	}
	double t1 = floor_now();
	printf("pages=%ld bytes=%zu seconds=%.3f\n", pages, bytes, t1 - t0);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(b.p);
	curl_global_cleanup();
	return 0;
}
