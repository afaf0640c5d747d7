/* fuzz_conf.c - libFuzzer target: the config parser (core/conf.c).
 *
 * Input starting with 'o': each following line is one -o argument for
 * cs_config_override; every refusal must begin with "-o " and must not echo the
 * value of a key that looks like a secret (password, secret, token).
 * Otherwise the input is written to a temporary file and read with
 * cs_config_load_file; a refusal must begin with "FILE:" (FILE:LINE: or FILE:
 * for a file-level problem). Either way: no crash, no leak, and the typed
 * getters of every core key behave (a value or a refusal naming its place). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "fuzz.h"

#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"

static char path[256];

static void cleanup(void)
{
	if (path[0])
		unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	const char *tmp = getenv("TMPDIR");
	snprintf(path, sizeof path, "%s/crmsync-fuzz-conf-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int fd = mkstemp(path);
	if (fd < 0)
		abort();
	close(fd);
	atexit(cleanup);
	cs_log_set_level(CRMSYNC_LOG_ERROR); /* the world-readable warning is expected */
	return 0;
}

/* Every getter over a few keys: a refusal names where the value came from. */
static void use(cs_config *cfg)
{
	static const char *const keys[][2] = {
	    {"sync", "interval"},	 {"sync", "units"},	    {"salesforce", "api_budget"},
	    {"salesforce", "login_url"}, {"log", "level"},	    {"sync", "push_deletes"},
	    {"storage", "path"},	 {"salesforce", "password"}};
	for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
		cs_error e = CS_ERROR_INIT;
		bool b;
		int64_t v;
		const char *val = cs_config_get(cfg, keys[i][0], keys[i][1]);
		const char *where = cs_config_where(cfg, keys[i][0], keys[i][1]);
		FUZZ_CHECK(where && *where, "no place for %s.%s", keys[i][0], keys[i][1]);
		if (cs_config_bool(cfg, keys[i][0], keys[i][1], false, &b, &e))
			FUZZ_CHECK(val && strstr(e.msg, where), "bool refusal without place: %s",
				   e.msg);
		e = (cs_error)CS_ERROR_INIT;
		if (cs_config_int(cfg, keys[i][0], keys[i][1], 1, 0, 100, &v, &e))
			FUZZ_CHECK(val && strstr(e.msg, where), "int refusal without place: %s",
				   e.msg);
		e = (cs_error)CS_ERROR_INIT;
		if (cs_config_duration(cfg, keys[i][0], keys[i][1], 1000, 1000, &v, &e))
			FUZZ_CHECK(val && strstr(e.msg, where),
				   "duration refusal without place: %s", e.msg);
		char **l = cs_config_list(cfg, keys[i][0], keys[i][1]);
		cs_strv_free(l);
	}
}

static void overrides(const uint8_t *d, size_t n)
{
	char *text = malloc(n + 1), *save = NULL;
	FUZZ_CHECK(text, "out of memory");
	memcpy(text, d, n);
	text[n] = '\0';
	cs_config *cfg = cs_config_new();
	for (char *arg = strtok_r(text, "\n", &save); arg; arg = strtok_r(NULL, "\n", &save)) {
		cs_error e = CS_ERROR_INIT;
		if (cs_config_override(cfg, arg, &e) == 0)
			continue;
		FUZZ_CHECK(strncmp(e.msg, "-o ", 3) == 0, "-o refusal without its place: %s",
			   e.msg);
		const char *eq = strchr(arg, '=');
		if (eq && strlen(eq + 1) >= 6) {
			char key[256];
			snprintf(key, sizeof key, "%.*s", (int)(eq - arg), arg);
			if (strcasestr(key, "password") || strcasestr(key, "secret") ||
			    strcasestr(key, "token"))
				FUZZ_CHECK(!strstr(e.msg, eq),
					   "the refusal of -o %s echoes the secret: %s", key,
					   e.msg);
		}
	}
	use(cfg);
	cs_config_free(cfg);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 16384)
		return 0;
	if (size && data[0] == 'o') {
		overrides(data + 1, size - 1);
		return 0;
	}
	FILE *f = fopen(path, "wb");
	FUZZ_CHECK(f, "cannot write %s", path);
	fwrite(data, 1, size, f);
	fclose(f);
	cs_config *cfg = cs_config_new();
	cs_error e = CS_ERROR_INIT;
	if (cs_config_load_file(cfg, path, &e) == 0) {
		use(cfg);
	} else {
		size_t pl = strlen(path);
		FUZZ_CHECK(strncmp(e.msg, path, pl) == 0 && e.msg[pl] == ':',
			   "a refusal that does not name its place: %s", e.msg);
	}
	cs_config_free(cfg);
	return 0;
}
