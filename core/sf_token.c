/*
 * sf_token.c - the refresh token file (see sf_token.h): read, atomic write,
 * the cross-process lock, and where the file is. Messages name the file and
 * the problem, never the token.
 */
#include "config.h"
#include "sf_token.h"

#include "sf_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOKFILE_MAX (16 * 1024)
#define TOKFILE_HEAD "# crmsync: the newest Salesforce refresh token; do not edit, copy or share\n"

void cs_tokfile_origin(const char *token, char out[CS_TOKFILE_ORIGIN_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	static const char hex[] = "0123456789abcdef";

	out[0] = '\0';
	if (EVP_Digest(token, strlen(token), md, &n, EVP_sha256(), NULL) != 1 || n != 32)
		return;
	for (unsigned i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * n] = '\0';
}

int cs_tokfile_lock(const char *path, int *fd, cs_error *err)
{
	char lp[PATH_MAX];

	*fd = -1;
	if (snprintf(lp, sizeof lp, "%s.lock", path) >= (int)sizeof lp)
		return cs_err(err, CRMSYNC_EINVAL, "salesforce.token_file %s: path too long", path);
	int f = open(lp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (f < 0)
		return cs_err(err, CRMSYNC_EIO,
			      "salesforce.token_file %s: cannot create its lock file %s: %s", path,
			      lp, strerror(errno));
	for (;;) {
		if (flock(f, LOCK_EX) == 0)
			break;
		if (errno == EINTR)
			continue;
		int e = errno;
		close(f);
		return cs_err(err, CRMSYNC_EIO, "salesforce.token_file %s: cannot lock %s: %s",
			      path, lp, strerror(e));
	}
	*fd = f;
	return 0;
}

void cs_tokfile_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

/* Split text into its "origin" and "token" lines' values (in place). */
static void tokfile_parse(char *text, char **origin, char **token)
{
	*origin = *token = NULL;
	for (char *line = text; line && *line;) {
		char *nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		size_t l = strlen(line);
		while (l && (line[l - 1] == '\r' || line[l - 1] == ' '))
			line[--l] = '\0';
		if (strncmp(line, "origin ", 7) == 0)
			*origin = line + 7;
		else if (strncmp(line, "token ", 6) == 0)
			*token = line + 6;
		line = nl ? nl + 1 : NULL;
	}
}

int cs_tokfile_read(const char *path, char origin[CS_TOKFILE_ORIGIN_LEN + 1], char **token,
		    cs_error *err)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	int rc;

	*token = NULL;
	origin[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			return CRMSYNC_ENOENT;
		return cs_err(err, errno == EACCES ? CRMSYNC_EINVAL : CRMSYNC_EIO,
			      "salesforce.token_file %s: cannot read the refresh token file: %s%s",
			      path, strerror(errno),
			      errno == EACCES ? " (it must belong to the user crmsync runs as, "
						"mode 600)"
					      : "");
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = cs_err(err, CRMSYNC_EINVAL,
			    "salesforce.token_file %s: not a regular file (crmsync keeps the "
			    "newest refresh token there)",
			    path);
		goto out;
	}
	if (st.st_uid != geteuid()) {
		rc =
		    cs_err(err, CRMSYNC_EINVAL,
			   "salesforce.token_file %s: owned by uid %ld, not by the user crmsync "
			   "runs as (uid %ld); it holds a refresh token: run crmsync as its owner, "
			   "or chown it",
			   path, (long)st.st_uid, (long)geteuid());
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		rc = cs_err(err, CRMSYNC_EINVAL,
			    "salesforce.token_file %s: mode %03o lets other users at the refresh "
			    "token it holds; run chmod 600 %s (and consider the token exposed: "
			    "authorize again if others may have read it)",
			    path, (unsigned)(st.st_mode & 0777), path);
		goto out;
	}
	if (st.st_size > TOKFILE_MAX) {
		rc = cs_err(err, CRMSYNC_EINVAL,
			    "salesforce.token_file %s: %lld bytes is too large for a token file",
			    path, (long long)st.st_size);
		goto out;
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text) {
		rc = cs_err(err, CRMSYNC_ENOMEM, "out of memory");
		goto out;
	}
	if (sf_read_all(fd, text, (size_t)st.st_size, &len)) {
		rc = cs_err(err, CRMSYNC_EIO,
			    "salesforce.token_file %s: cannot read the refresh token file: %s",
			    path, strerror(errno));
		goto out;
	}
	text[len] = '\0';
	char *o, *t;
	tokfile_parse(text, &o, &t);
	if (!o || strlen(o) != CS_TOKFILE_ORIGIN_LEN || !t || !*t || strchr(t, ' ')) {
		rc = cs_err(err, CRMSYNC_EINVAL,
			    "salesforce.token_file %s: not a crmsync token file (expected an "
			    "origin and a token line); remove it to start again from "
			    "salesforce.refresh_token",
			    path);
		goto out;
	}
	memcpy(origin, o, CS_TOKFILE_ORIGIN_LEN + 1);
	if (!(*token = strdup(t))) {
		rc = cs_err(err, CRMSYNC_ENOMEM, "out of memory");
		goto out;
	}
	rc = 0;
out:
	if (text) {
		OPENSSL_cleanse(text, len);
		free(text);
	}
	close(fd);
	return rc;
}

static int tokfile_write_all(int fd, const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= (size_t)w;
	}
	return 0;
}

int cs_tokfile_write(const char *path, const char *origin, const char *token, cs_error *err)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	const char *what = "write";
	int e, fd;

	if (strchr(token, '\n') || strchr(token, ' ') || !*token)
		return cs_err(err, CRMSYNC_EINVAL,
			      "salesforce.token_file %s: Salesforce handed out a refresh token "
			      "this file cannot hold (empty, or with a space or newline)",
			      path);
	if (snprintf(tmp, sizeof tmp, "%s.tmpXXXXXX", path) >= (int)sizeof tmp)
		return cs_err(err, CRMSYNC_EINVAL, "salesforce.token_file %s: path too long", path);
	fd = mkstemp(tmp);
	if (fd < 0)
		return cs_err(err, CRMSYNC_EIO,
			      "salesforce.token_file %s: cannot create a temporary file next to "
			      "it: %s",
			      path, strerror(errno));
	if (fchmod(fd, 0600) != 0) {
		what = "chmod 600";
		goto fail;
	}
	if (tokfile_write_all(fd, TOKFILE_HEAD, strlen(TOKFILE_HEAD)) ||
	    tokfile_write_all(fd, "origin ", 7) || tokfile_write_all(fd, origin, strlen(origin)) ||
	    tokfile_write_all(fd, "\ntoken ", 7) || tokfile_write_all(fd, token, strlen(token)) ||
	    tokfile_write_all(fd, "\n", 1))
		goto fail;
	what = "fsync";
	if (fsync(fd) != 0)
		goto fail;
	what = "close";
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	what = "rename";
	if (rename(tmp, path) != 0)
		goto fail;
	/* the rename itself is durable once the directory is */
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		snprintf(dir, sizeof dir, ".");
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return 0;
fail:
	e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return cs_err(err, CRMSYNC_EIO,
		      "salesforce.token_file %s: cannot %s the new refresh token file: %s", path,
		      what, strerror(e ? e : EIO));
}

const char *sf_token_file(const sf_client *c)
{
	return c->token_file;
}

int sf_token_setup(sf_client *c, const cs_config *cfg, cs_error *err)
{
	const char *opt = cs_config_get(cfg, "salesforce", "token_file");
	const char *db = cs_config_get(cfg, "storage", "path");
	const char *sd = getenv("STATE_DIRECTORY");
	char origin[CS_TOKFILE_ORIGIN_LEN + 1];
	char *tok = NULL;
	int n, rc, fd;

	c->token_file[0] = '\0';
	if (c->grant != SF_GRANT_REFRESH_TOKEN || !c->refresh_token)
		return 0;
	if (opt && *opt)
		n = snprintf(c->token_file, sizeof c->token_file, "%s", opt);
	else if (db && *db && strcmp(db, ":memory:") != 0)
		n = snprintf(c->token_file, sizeof c->token_file, "%s.token", db);
	else if (sd && *sd)
		/* systemd's StateDirectory= (the first one when there are several) */
		n = snprintf(c->token_file, sizeof c->token_file, "%.*s/crmsync.token",
			     (int)strcspn(sd, ":"), sd);
	else
		return sf_fail(
		    c, SF_E_CONFIG, err,
		    "the refresh_token grant keeps the newest refresh token (Salesforce "
		    "rotates it when the connected app asks for rotation) in a file: set "
		    "salesforce.token_file, e.g. /var/lib/crmsync/crmsync.token (there is "
		    "no storage.path to put it next to)");
	if (n < 0 || (size_t)n >= sizeof c->token_file - 16) {
		c->token_file[0] = '\0';
		return sf_fail(c, SF_E_CONFIG, err, "salesforce.token_file: the path is too long");
	}
	cs_tokfile_origin(c->refresh_token, c->rt_origin);
	/* a bad file or directory is reported now, not at the first refresh */
	if ((rc = cs_tokfile_lock(c->token_file, &fd, err)))
		goto fail;
	rc = cs_tokfile_read(c->token_file, origin, &tok, err);
	cs_tokfile_unlock(fd);
	if (tok) {
		OPENSSL_cleanse(tok, strlen(tok));
		free(tok);
	}
	if (rc == CRMSYNC_ENOENT)
		rc = 0;
	if (rc)
		goto fail;
	return 0;
fail:
	c->token_file[0] = '\0';
	return sf_fail(c, SF_E_CONFIG, err, "%s", cs_err_msg(err));
}
