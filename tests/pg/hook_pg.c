/*
 * hook_pg.c - the conformance suite's application side for PostgreSQL: a
 * second connection opened with libpq, and the psql shell. The storage
 * settings name the server (conninfo=... or host/port/dbname/user) and the
 * schema (default crmsync); application SQL runs with search_path set to it,
 * the way an application configured for the sync's schema does.
 */
#include "config.h"
#include "hooks.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void hp_conninfo(const bt_settings *s, char *out, size_t cap)
{
	const char *ci = bt_setting(s, "conninfo");
	if (ci) {
		snprintf(out, cap, "%s", ci);
		return;
	}
	static const char *const keys[] = {"host", "port", "dbname", "user", "sslmode", NULL};
	out[0] = 0;
	for (const char *const *k = keys; *k; k++) {
		const char *v = bt_setting(s, *k);
		if (v)
			snprintf(out + strlen(out), cap - strlen(out), "%s='%s' ", *k, v);
	}
}

static const char *hp_schema(const bt_settings *s)
{
	const char *v = bt_setting(s, "schema");
	return v ? v : "crmsync";
}

static PGconn *hp_open(const bt_settings *s, char *msg, size_t cap)
{
	char ci[2048], set[512];
	hp_conninfo(s, ci, sizeof ci);
	PGconn *c = PQconnectdb(ci);
	if (!c || PQstatus(c) != CONNECTION_OK) {
		snprintf(msg, cap, "connecting: %s", c ? PQerrorMessage(c) : "out of memory");
		PQfinish(c);
		return NULL;
	}
	snprintf(set, sizeof set,
		 "SET client_min_messages = warning; SET search_path = \"%s\", public",
		 hp_schema(s));
	PQclear(PQexec(c, set));
	return c;
}

static int hp_reset(const bt_settings *s, char *msg, size_t cap)
{
	char sql[512];
	PGconn *c = hp_open(s, msg, cap);
	if (!c)
		return -1;
	snprintf(sql, sizeof sql, "DROP SCHEMA IF EXISTS \"%s\" CASCADE", hp_schema(s));
	PGresult *r = PQexec(c, sql);
	int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : -1;
	if (rc)
		snprintf(msg, cap, "%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return rc;
}

static int hp_exec(const bt_settings *s, const char *sql, char *msg, size_t cap)
{
	PGconn *c = hp_open(s, msg, cap);
	if (!c)
		return -1;
	PGresult *r = PQexec(c, sql);
	ExecStatusType t = PQresultStatus(r);
	int rc = t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK ? 0 : -1;
	if (rc)
		snprintf(msg, cap, "%s: %s", sql, PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return rc;
}

static int hp_query(const bt_settings *s, const char *sql, char *out, size_t cap, char *msg,
		    size_t mcap)
{
	PGconn *c = hp_open(s, msg, mcap);
	if (!c)
		return -1;
	out[0] = 0;
	PGresult *r = PQexec(c, sql);
	int rc = -1;
	if (PQresultStatus(r) == PGRES_TUPLES_OK) {
		if (PQntuples(r) > 0)
			snprintf(out, cap, "%s",
				 PQgetisnull(r, 0, 0) ? "NULL" : PQgetvalue(r, 0, 0));
		rc = 0;
	} else {
		snprintf(msg, mcap, "%s: %s", sql, PQerrorMessage(c));
	}
	PQclear(r);
	PQfinish(c);
	return rc;
}

static int hp_shell(const bt_settings *s, const char *sql, char *msg, size_t cap)
{
	char ci[2048], set[512];
	hp_conninfo(s, ci, sizeof ci);
	snprintf(set, sizeof set, "SET search_path = \"%s\", public", hp_schema(s));
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(msg, cap, "fork failed");
		return -1;
	}
	if (pid == 0) {
		execlp("psql", "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", ci, "-c", set,
		       "-c", sql, (char *)NULL);
		_exit(127);
	}
	int status;
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(msg, cap, "psql -c \"%s\" failed (status %d; is psql installed?)", sql,
			 status);
		return -1;
	}
	return 0;
}

/* A UTF8 database (the suite's) refuses these bytes at the application's
 * write; only a SQL_ASCII database would store them. */
static void hp_bad_utf8_sql(const char *table, const char *col, const char *id, char *buf,
			    size_t cap)
{
	snprintf(buf, cap, "UPDATE \"%s\" SET \"%s\" = E'\\xC3\\x28' WHERE id = '%s'", table, col,
		 id);
}

/* An application's own audit trigger: PL/pgSQL, fired by everyone's writes;
 * create = 0 drops it again (PostgreSQL names the table in DROP TRIGGER). */
static void hp_audit_trigger_sql(const char *table, int create, char *buf, size_t cap)
{
	if (!create) {
		snprintf(buf, cap, "DROP TRIGGER %s_audit ON \"%s\"", table, table);
		return;
	}
	snprintf(buf, cap,
		 "CREATE TABLE audit(n integer); "
		 "CREATE FUNCTION %s_audit_fn() RETURNS trigger LANGUAGE plpgsql AS "
		 "$$BEGIN INSERT INTO audit(n) VALUES(1); RETURN NULL; END$$; "
		 "CREATE TRIGGER %s_audit AFTER UPDATE ON \"%s\" FOR EACH ROW "
		 "EXECUTE PROCEDURE %s_audit_fn()",
		 table, table, table, table);
}

const bt_hook bt_hook_pg = {
    .backend = "postgres",
    .reset = hp_reset,
    .exec = hp_exec,
    .query = hp_query,
    .shell = hp_shell,
    .bad_utf8_sql = hp_bad_utf8_sql,
    .rejects_bad_utf8 = 1,
    .audit_trigger_sql = hp_audit_trigger_sql,
    .reuses_deleted_key = 0, /* local_id is an identity column */
};
