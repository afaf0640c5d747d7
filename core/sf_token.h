/*
 * sf_token.h - where the refresh_token grant keeps the newest refresh token.
 *
 * With refresh-token rotation on the connected app, Salesforce hands out a new
 * refresh token on every refresh and invalidates the one used; presenting a
 * rotated-out token again makes it revoke the current one too. So the newest
 * token has to outlive the process and be shared by every crmsync process of
 * one installation (the daemon, a SIGHUP reload, `crmsync push`): it lives in a
 * token file, written atomically, mode 0600, and every refresh happens under an
 * exclusive flock of "<file>.lock" so two processes never refresh from the same
 * token.
 *
 * The file (text):
 *     # crmsync: the newest Salesforce refresh token; do not edit, copy or share
 *     origin <SHA-256, hex, of the configured refresh token it descends from>
 *     token <the refresh token>
 * A file whose origin is not the configured token's (a new token was configured
 * after a fresh authorization) is ignored and replaced at the next refresh.
 */
#ifndef CS_SF_TOKEN_H
#define CS_SF_TOKEN_H

#include "conf.h"
#include "error.h"
#include "sf.h"

#define CS_TOKFILE_ORIGIN_LEN 64 /* hex SHA-256 */

/* The origin of a configured token: hex SHA-256 into out (65 bytes). */
void cs_tokfile_origin(const char *token, char out[CS_TOKFILE_ORIGIN_LEN + 1]);

/* Open (creating it, mode 0600) "<path>.lock" and take an exclusive flock on it,
 * waiting for another holder. *fd is the descriptor to pass to
 * cs_tokfile_unlock. Errors name the lock file. */
int cs_tokfile_lock(const char *path, int *fd, cs_error *err);
void cs_tokfile_unlock(int fd); /* -1 is fine */

/* Read the token file: 0 with origin and *token (malloc'ed: wipe and free it),
 * CRMSYNC_ENOENT when there is no file, another negative status with a message
 * naming the file when it cannot be read, is not a regular file, is not owned
 * by this user, is accessible to group or others, or is malformed. Never puts
 * the content in a message. */
int cs_tokfile_read(const char *path, char origin[CS_TOKFILE_ORIGIN_LEN + 1], char **token,
		    cs_error *err);

/* Replace the token file atomically: a temporary file in the same directory
 * (mode 0600), written, fsync'ed, renamed over path, and the directory fsync'ed.
 * Errors name the file. */
int cs_tokfile_write(const char *path, const char *origin, const char *token, cs_error *err);

/* Set up c's token file from the configuration (salesforce.token_file, else
 * "<storage.path>.token", else "$STATE_DIRECTORY/crmsync.token"); nothing when
 * c does not use the refresh_token grant. Checks that the lock file can be
 * created and that an existing token file is readable and private, so a bad
 * file is reported at start, not at the first refresh. */
int sf_token_setup(sf_client *c, const cs_config *cfg, cs_error *err);
/* The token file of c ("" when none). */
const char *sf_token_file(const sf_client *c);

#endif
