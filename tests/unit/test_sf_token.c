/* test_sf_token.c - the refresh token file (core/sf_token.c): origin hash,
 * atomic write and read back (mode 600, no temporary left), a missing,
 * group-readable, foreign or malformed file, the cross-process lock (a second
 * process waits for the first), where the file goes by default, and two
 * clients against a rotating sfemu taking turns through the file. No message
 * ever holds the token. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../sf/emu.h"
#include "sf_internal.h"
#include "sf_token.h"

#define TOKEN "5Aep861Secret-Refresh-Token-xyz"

static char dir[] = "/tmp/test_sf_tokenXXXXXX";

static const char *path_of(const char *name)
{
	static char p[4][600];
	static int i;
	i = (i + 1) % 4;
	snprintf(p[i], sizeof p[i], "%s/%s", dir, name);
	return p[i];
}

static int setup_group(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown_group(void **state)
{
	(void)state;
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (de->d_name[0] != '.')
			unlink(path_of(de->d_name));
	if (d)
		closedir(d);
	return rmdir(dir);
}

static void write_text(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_origin(void **state)
{
	(void)state;
	char o[CS_TOKFILE_ORIGIN_LEN + 1];
	cs_tokfile_origin("abc", o);
	assert_string_equal(o, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void test_write_read(void **state)
{
	(void)state;
	cs_error err = CS_ERROR_INIT;
	char o[CS_TOKFILE_ORIGIN_LEN + 1], back[CS_TOKFILE_ORIGIN_LEN + 1];
	char *tok = NULL;
	struct stat st;
	const char *p = path_of("rw.token");

	assert_int_equal(cs_tokfile_read(p, back, &tok, &err), CRMSYNC_ENOENT);
	assert_null(tok);
	cs_tokfile_origin("configured", o);
	assert_int_equal(cs_tokfile_write(p, o, "first", &err), 0);
	assert_int_equal(cs_tokfile_write(p, o, TOKEN, &err), 0); /* replaces */
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(cs_tokfile_read(p, back, &tok, &err), 0);
	assert_string_equal(tok, TOKEN);
	assert_string_equal(back, o);
	free(tok);
	/* no temporary file is left next to it */
	DIR *d = opendir(dir);
	struct dirent *de;
	while ((de = readdir(d)))
		assert_null(strstr(de->d_name, ".tmp"));
	closedir(d);
	/* a token the file cannot hold is refused, the old file stays */
	assert_int_not_equal(cs_tokfile_write(p, o, "two\nlines", &err), 0);
	assert_non_null(strstr(err.msg, p));
	assert_int_equal(cs_tokfile_read(p, back, &tok, &err), 0);
	assert_string_equal(tok, TOKEN);
	free(tok);
	/* a directory that does not exist: the error names the file */
	assert_int_not_equal(cs_tokfile_write(path_of("no/such/dir.token"), o, TOKEN, &err), 0);
	assert_non_null(strstr(err.msg, "no/such/dir.token"));
	assert_null(strstr(err.msg, TOKEN));
}

static void test_bad_files(void **state)
{
	(void)state;
	cs_error err = CS_ERROR_INIT;
	char o[CS_TOKFILE_ORIGIN_LEN + 1], back[CS_TOKFILE_ORIGIN_LEN + 1];
	char *tok = NULL;
	const char *p = path_of("bad.token");

	cs_tokfile_origin("configured", o);
	assert_int_equal(cs_tokfile_write(p, o, TOKEN, &err), 0);
	assert_int_equal(chmod(p, 0640), 0);
	assert_int_equal(cs_tokfile_read(p, back, &tok, &err), CRMSYNC_EINVAL);
	assert_null(tok);
	assert_non_null(strstr(err.msg, p));
	assert_non_null(strstr(err.msg, "mode 640"));
	assert_non_null(strstr(err.msg, "chmod 600"));
	assert_null(strstr(err.msg, TOKEN));

	write_text(p, "token " TOKEN "\n", 0600); /* no origin */
	assert_int_equal(cs_tokfile_read(p, back, &tok, &err), CRMSYNC_EINVAL);
	assert_non_null(strstr(err.msg, p));
	assert_non_null(strstr(err.msg, "not a crmsync token file"));
	assert_null(strstr(err.msg, TOKEN));

	assert_int_equal(unlink(p), 0);
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_not_equal(cs_tokfile_read(p, back, &tok, &err), 0);
	assert_non_null(strstr(err.msg, p));
	assert_int_equal(rmdir(p), 0);

	if (geteuid() == 0) { /* root: a file of another owner */
		assert_int_equal(cs_tokfile_write(p, o, TOKEN, &err), 0);
		assert_int_equal(chown(p, 1, 1), 0);
		assert_int_equal(cs_tokfile_read(p, back, &tok, &err), CRMSYNC_EINVAL);
		assert_non_null(strstr(err.msg, "owned by uid 1"));
		assert_null(strstr(err.msg, TOKEN));
		unlink(p);
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A child process holds the lock for 300 ms; the parent's lock waits for it,
 * and sees what the child wrote under it. */
static void test_lock(void **state)
{
	(void)state;
	cs_error err = CS_ERROR_INIT;
	char o[CS_TOKFILE_ORIGIN_LEN + 1], back[CS_TOKFILE_ORIGIN_LEN + 1];
	char *tok = NULL;
	const char *p = path_of("lock.token");
	int fds[2], fd;
	char c;

	cs_tokfile_origin("configured", o);
	assert_int_equal(cs_tokfile_write(p, o, "old", &err), 0);
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		if (cs_tokfile_lock(p, &fd, &err))
			_exit(1);
		if (write(fds[1], "L", 1) != 1)
			_exit(1);
		usleep(300000);
		if (cs_tokfile_write(p, o, "rotated", &err))
			_exit(1);
		cs_tokfile_unlock(fd);
		_exit(0);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &c, 1), 1); /* the child holds the lock */
	close(fds[0]);
	int64_t t0 = now_ms();
	assert_int_equal(cs_tokfile_lock(p, &fd, &err), 0);
	int64_t waited = now_ms() - t0;
	assert_int_equal(cs_tokfile_read(p, back, &tok, &err), 0);
	assert_string_equal(tok, "rotated"); /* written before the lock was released */
	free(tok);
	cs_tokfile_unlock(fd);
	int st = 0;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_true(waited >= 200);
	struct stat sb;
	assert_int_equal(stat(path_of("lock.token.lock"), &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
}

static sf_client *refresh_client(void)
{
	sf_config sc = {0};
	cs_error err = CS_ERROR_INIT;
	sc.login_url = "http://127.0.0.1:1";
	sc.client_id = "cid";
	sc.refresh_token = TOKEN;
	sc.grant = SF_GRANT_REFRESH_TOKEN;
	sf_client *c = sf_client_new(&sc, &err);
	assert_non_null(c);
	return c;
}

static void test_setup_paths(void **state)
{
	(void)state;
	cs_error err = CS_ERROR_INIT;
	cs_config *cfg = cs_config_new();
	sf_client *c = refresh_client();
	char want[700];

	/* next to the database */
	assert_int_equal(cs_config_set(cfg, "storage", "path", path_of("db.sqlite"), "test", &err),
			 0);
	unsetenv("STATE_DIRECTORY");
	assert_int_equal(sf_token_setup(c, cfg, &err), 0);
	snprintf(want, sizeof want, "%s.token", path_of("db.sqlite"));
	assert_string_equal(sf_token_file(c), want);
	/* the option wins */
	assert_int_equal(
	    cs_config_set(cfg, "salesforce", "token_file", path_of("x.token"), "test", &err), 0);
	assert_int_equal(sf_token_setup(c, cfg, &err), 0);
	assert_string_equal(sf_token_file(c), path_of("x.token"));
	cs_config_free(cfg);

	/* no storage.path: $STATE_DIRECTORY, else an error asking for the key */
	cfg = cs_config_new();
	setenv("STATE_DIRECTORY", dir, 1);
	assert_int_equal(sf_token_setup(c, cfg, &err), 0);
	assert_string_equal(sf_token_file(c), path_of("crmsync.token"));
	unsetenv("STATE_DIRECTORY");
	assert_int_not_equal(sf_token_setup(c, cfg, &err), 0);
	assert_non_null(strstr(err.msg, "salesforce.token_file"));
	assert_string_equal(sf_token_file(c), "");

	/* a private file is checked at setup: a readable one is refused, naming it */
	assert_int_equal(
	    cs_config_set(cfg, "salesforce", "token_file", path_of("open.token"), "test", &err), 0);
	write_text(path_of("open.token"), "x\n", 0644);
	assert_int_not_equal(sf_token_setup(c, cfg, &err), 0);
	assert_non_null(strstr(err.msg, path_of("open.token")));
	assert_null(strstr(err.msg, TOKEN));
	cs_config_free(cfg);
	sf_client_free(c);

	/* other grants have no token file */
	sf_config sc = {0};
	sc.login_url = "http://127.0.0.1:1";
	sc.client_id = "cid";
	sc.username = "u@example.com";
	sc.password = "pw";
	c = sf_client_new(&sc, &err);
	cfg = cs_config_new();
	assert_int_equal(cs_config_set(cfg, "storage", "path", path_of("db.sqlite"), "test", &err),
			 0);
	assert_int_equal(sf_token_setup(c, cfg, &err), 0);
	assert_string_equal(sf_token_file(c), "");
	cs_config_free(cfg);
	sf_client_free(c);
}

/* Two clients of one installation against a connected app with rotation: each
 * refresh rotates the token, and each client takes the newest from the file, so
 * neither presents a rotated-out one (which would revoke everything). */
static void test_rotation_clients(void **state)
{
	(void)state;
	const char *args[] = {"--refresh-token", TOKEN, NULL};
	emu e = {0};
	cs_error err = CS_ERROR_INIT;
	char back[CS_TOKFILE_ORIGIN_LEN + 1], o[CS_TOKFILE_ORIGIN_LEN + 1];
	char *tok = NULL;

	assert_int_equal(emu_start(&e, args), 0);
	assert_int_equal(emu_ctl(&e, "POST", "/__emu/config", "{\"refreshRotation\":true}"), 200);
	sf_config sc = {0};
	sc.login_url = e.url;
	sc.client_id = "crmsync-demo";
	sc.client_secret = "crmsync-demo-secret";
	sc.refresh_token = TOKEN;
	sc.grant = SF_GRANT_REFRESH_TOKEN;
	cs_config *cfg = cs_config_new();
	assert_int_equal(
	    cs_config_set(cfg, "salesforce", "token_file", path_of("emu.token"), "test", &err), 0);
	sf_client *a = sf_client_new(&sc, &err), *b = sf_client_new(&sc, &err);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(sf_token_setup(a, cfg, &err), 0);
	assert_int_equal(sf_token_setup(b, cfg, &err), 0);

	assert_int_equal(sf_login(a, &err), 0);
	assert_int_equal(cs_tokfile_read(path_of("emu.token"), back, &tok, &err), 0);
	cs_tokfile_origin(TOKEN, o);
	assert_string_equal(back, o);
	assert_string_not_equal(tok, TOKEN);
	assert_string_equal(a->refresh_token, tok);
	free(tok);
	/* b starts from the file, not from the configured token */
	assert_int_equal(sf_login(b, &err), 0);
	/* a's token in memory is rotated out now: its next login reads the file */
	assert_int_equal(sf_login(a, &err), 0);
	assert_int_equal(sf_login(b, &err), 0);
	int64_t n = 0;
	assert_int_equal(sf_query_count(b, "SELECT COUNT() FROM Lead", &n, &err), 0);

	/* without the file the configured token is rotated out: refused, and the
	 * message says where the newest token should have been */
	assert_int_equal(unlink(path_of("emu.token")), 0);
	sf_client *c = sf_client_new(&sc, &err);
	assert_int_equal(sf_token_setup(c, cfg, &err), 0);
	assert_int_not_equal(sf_login(c, &err), 0);
	assert_int_equal(sf_error_kind(c), SF_E_AUTH);
	assert_non_null(strstr(err.msg, path_of("emu.token")));
	assert_non_null(strstr(err.msg, "authorize the connected app again"));
	assert_null(strstr(err.msg, TOKEN));
	/* ... which revoked the current token as well: b is refused next */
	assert_int_not_equal(sf_query_count(b, "SELECT COUNT() FROM Lead", &n, &err), 0);
	assert_int_equal(sf_error_kind(b), SF_E_AUTH);
	sf_client_free(c);
	sf_client_free(a);
	sf_client_free(b);
	cs_config_free(cfg);
	emu_stop(&e);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_origin),	cmocka_unit_test(test_write_read),
	    cmocka_unit_test(test_bad_files),	cmocka_unit_test(test_lock),
	    cmocka_unit_test(test_setup_paths), cmocka_unit_test(test_rotation_clients),
	};
	return cmocka_run_group_tests_name("sf_token", tests, setup_group, teardown_group);
}
