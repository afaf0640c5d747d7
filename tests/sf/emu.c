/* emu.c - see emu.h. */
#include "config.h"
#include "emu.h"

#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *emu_binary(void)
{
	static char path[4096];
	const char *env = getenv("SFEMU");
	const char *top = getenv("top_builddir");
	if (env && *env)
		return env;
	snprintf(path, sizeof path, "%s/tests/sfemu/sfemu", top && *top ? top : ".");
	return path;
}

int emu_start(emu *e, const char *const *args)
{
	int fds[2];
	const char *argv[64];
	size_t n = 0;
	char line[512];
	size_t len = 0;

	memset(e, 0, sizeof *e);
	argv[n++] = emu_binary();
	argv[n++] = "--listen";
	argv[n++] = "127.0.0.1:0";
	for (size_t i = 0; args && args[i] && n < 62; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	if (pipe(fds))
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execv(argv[0], (char *const *)argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	e->pid = pid;
	/* read the "listening on URL" line, one byte at a time so nothing else is eaten */
	while (len + 1 < sizeof line) {
		char ch;
		ssize_t r = read(fds[0], &ch, 1);
		if (r <= 0)
			break;
		if (ch == '\n')
			break;
		line[len++] = ch;
	}
	line[len] = '\0';
	close(fds[0]);
	const char *p = strstr(line, "listening on ");
	if (!p) {
		fprintf(stderr, "sfemu did not start (%s): '%s'\n", argv[0], line);
		emu_stop(e);
		return -1;
	}
	snprintf(e->url, sizeof e->url, "%s", p + 13);
	return 0;
}

void emu_stop(emu *e)
{
	if (e->pid > 0) {
		int st;
		kill(e->pid, SIGTERM);
		for (int i = 0; i < 200; i++) {
			if (waitpid(e->pid, &st, WNOHANG) == e->pid)
				break;
			if (i == 199) {
				kill(e->pid, SIGKILL);
				waitpid(e->pid, &st, 0);
			}
			struct timespec ts = {0, 10000000};
			nanosleep(&ts, NULL);
		}
	}
	e->pid = 0;
	free(e->body);
	e->body = NULL;
}

struct emu_buf {
	char *p;
	size_t len;
};

static size_t emu_write(char *ptr, size_t size, size_t nmemb, void *ud)
{
	struct emu_buf *b = ud;
	size_t n = size * nmemb;
	char *p = realloc(b->p, b->len + n + 1);
	if (!p)
		return 0;
	memcpy(p + b->len, ptr, n);
	b->p = p;
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

long emu_ctl(emu *e, const char *method, const char *path, const char *json)
{
	char url[1024];
	struct emu_buf b = {0};
	struct curl_slist *h = NULL;
	long status = -1;
	CURL *c = curl_easy_init();
	if (!c)
		return -1;
	snprintf(url, sizeof url, "%s%s", e->url, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, emu_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L); /* the test's own control calls */
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	if (json) {
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	}
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(e->body);
	e->body = b.p ? b.p : strdup("");
	return status;
}

long emu_ctlf(emu *e, const char *method, const char *path, const char *fmt, ...)
{
	char body[8192];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(body, sizeof body, fmt, ap);
	va_end(ap);
	return emu_ctl(e, method, path, body);
}
