/* test_sf_retry.c - the client honours Retry-After on 503 and 429 before it
 * retries: it waits at least that long (not just its short backoff), never
 * longer than its retry_max_ms, and then succeeds. The emulator's faults cannot
 * send headers, so a scripted HTTP/1.1 server on a free loopback port answers
 * here: one canned response per connection (Connection: close), and the time
 * each request arrived. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "sf.h"

#define MAXR 8

struct stub {
	int fd, port;
	pthread_t th;
	int n;		       /* responses scripted */
	char resp[MAXR][1024]; /* status line + headers (no blank line) */
	char body[MAXR][512];  /* body */
	char path[MAXR][256];  /* request line received */
	int64_t at_ms[MAXR];   /* when each request arrived */
	int64_t sent_ms[MAXR]; /* when its answer was written */
	int served;
	int joined;
};

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *stub_run(void *arg)
{
	struct stub *s = arg;
	for (int i = 0; i < s->n; i++) {
		int c = accept(s->fd, NULL, NULL);
		if (c < 0)
			break;
		char buf[8192];
		size_t len = 0;
		/* the headers, then Content-Length bytes of body */
		for (;;) {
			ssize_t r = read(c, buf + len, sizeof buf - 1 - len);
			if (r <= 0)
				break;
			len += (size_t)r;
			buf[len] = '\0';
			char *eoh = strstr(buf, "\r\n\r\n");
			if (!eoh)
				continue;
			char *cl = strstr(buf, "Content-Length: ");
			size_t want = cl && cl < eoh ? (size_t)atol(cl + 16) : 0;
			if (len >= (size_t)(eoh + 4 - buf) + want)
				break;
		}
		s->at_ms[i] = mono_ms();
		snprintf(s->path[i], sizeof s->path[i], "%.*s", (int)strcspn(buf, "\r\n"), buf);
		char out[2048];
		int m = snprintf(out, sizeof out,
				 "%s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
				 "Connection: close\r\n\r\n%s",
				 s->resp[i], strlen(s->body[i]), s->body[i]);
		if (write(c, out, (size_t)m) != m)
			break;
		s->sent_ms[i] = mono_ms();
		s->served = i + 1;
		close(c);
	}
	return NULL;
}

static struct stub S;

static void stub_add(const char *head, const char *body)
{
	assert_true(S.n < MAXR);
	snprintf(S.resp[S.n], sizeof S.resp[0], "%s", head);
	snprintf(S.body[S.n], sizeof S.body[0], "%s", body);
	S.n++;
}

static void stub_start(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	socklen_t al = sizeof a;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	S.fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(S.fd >= 0);
	assert_int_equal(bind(S.fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(S.fd, 8), 0);
	assert_int_equal(getsockname(S.fd, (struct sockaddr *)&a, &al), 0);
	S.port = ntohs(a.sin_port);
	/* the token answer names this server as the instance */
	char tok[512];
	snprintf(tok, sizeof tok,
		 "{\"access_token\":\"00Dxx!AQtoken\",\"instance_url\":\"http://127.0.0.1:%d\","
		 "\"token_type\":\"Bearer\"}",
		 S.port);
	memmove(S.resp[1], S.resp[0], sizeof S.resp[0] * (size_t)S.n);
	memmove(S.body[1], S.body[0], sizeof S.body[0] * (size_t)S.n);
	snprintf(S.resp[0], sizeof S.resp[0], "HTTP/1.1 200 OK");
	snprintf(S.body[0], sizeof S.body[0], "%s", tok);
	S.n++;
	assert_int_equal(pthread_create(&S.th, NULL, stub_run, &S), 0);
}

/* Every scripted answer was taken: wait for the server thread to finish
 * its bookkeeping (served, sent_ms are written after the answer, so the
 * client can return before they are). */
static void stub_wait(void)
{
	assert_int_equal(pthread_join(S.th, NULL), 0);
	S.joined = 1;
}

static int stub_stop(void **state)
{
	(void)state;
	if (S.fd > 0) {
		shutdown(S.fd, SHUT_RDWR);
		if (!S.joined)
			pthread_join(S.th, NULL);
		close(S.fd);
	}
	memset(&S, 0, sizeof S);
	return 0;
}

/* COUNT() through the stub with this backoff; returns the client's rc. */
static int count_leads(long base_ms, long max_ms, int64_t *n, cs_error *err)
{
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%d", S.port);
	sf_config cfg = {.login_url = url,
			 .client_id = "cid",
			 .client_secret = "secret",
			 .username = "u@example.com",
			 .password = "pw",
			 .max_retries = 2,
			 .retry_base_ms = base_ms,
			 .retry_max_ms = max_ms,
			 .transfer_timeout_ms = 5000};
	sf_client *c = sf_client_new(&cfg, err);
	assert_non_null(c);
	int rc = sf_query_count(c, "SELECT COUNT() FROM Lead", n, err);
	sf_client_free(c);
	return rc;
}

static const char *const unavailable =
    "[{\"message\":\"Server unavailable, please retry later\",\"errorCode\":"
    "\"SERVER_UNAVAILABLE\"}]";
static const char *const count3 = "{\"totalSize\":3,\"done\":true,\"records\":[]}";

/* 503 with Retry-After: 2 while the backoff would wait ~10 ms */
static void test_retry_after_503(void **state)
{
	(void)state;
	cs_error err = {0};
	int64_t n = -1;
	stub_add("HTTP/1.1 503 Service Unavailable\r\nRetry-After: 2", unavailable);
	stub_add("HTTP/1.1 200 OK", count3);
	stub_start();
	if (count_leads(10, 5000, &n, &err))
		fail_msg("query: %s", err.msg);
	stub_wait();
	assert_int_equal(n, 3);
	assert_int_equal(S.served, 3);
	assert_non_null(strstr(S.path[1], "GET /services/data/v59.0/query"));
	assert_non_null(strstr(S.path[2], "GET /services/data/v59.0/query"));
	int64_t waited = S.at_ms[2] - S.sent_ms[1];
	if (waited < 2000 || waited > 4000)
		fail_msg("waited %lld ms after Retry-After: 2", (long long)waited);
}

/* 429 with Retry-After: 60 but retry_max_ms 300: the cap wins */
static void test_retry_after_capped(void **state)
{
	(void)state;
	cs_error err = {0};
	int64_t n = -1;
	stub_add("HTTP/1.1 429 Too Many Requests\r\nRetry-After: 60", unavailable);
	stub_add("HTTP/1.1 200 OK", count3);
	stub_start();
	if (count_leads(10, 300, &n, &err))
		fail_msg("query: %s", err.msg);
	stub_wait();
	assert_int_equal(n, 3);
	int64_t waited = S.at_ms[2] - S.sent_ms[1];
	if (waited < 300 || waited > 2000)
		fail_msg("waited %lld ms with Retry-After: 60 and a 300 ms cap", (long long)waited);
}

/* the HTTP-date form: about two seconds from now */
static void test_retry_after_date(void **state)
{
	(void)state;
	cs_error err = {0};
	int64_t n = -1;
	char head[256], date[64];
	time_t t = time(NULL) + 3;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	snprintf(head, sizeof head, "HTTP/1.1 503 Service Unavailable\r\nRetry-After: %s", date);
	stub_add(head, unavailable);
	stub_add("HTTP/1.1 200 OK", count3);
	stub_start();
	if (count_leads(10, 10000, &n, &err))
		fail_msg("query: %s", err.msg);
	stub_wait();
	assert_int_equal(n, 3);
	int64_t waited = S.at_ms[2] - S.sent_ms[1];
	if (waited < 1000 || waited > 5000)
		fail_msg("waited %lld ms for Retry-After: %s", (long long)waited, date);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_retry_after_503, stub_stop),
	    cmocka_unit_test_teardown(test_retry_after_capped, stub_stop),
	    cmocka_unit_test_teardown(test_retry_after_date, stub_stop),
	};
	return cmocka_run_group_tests_name("sf_retry", tests, NULL, NULL);
}
