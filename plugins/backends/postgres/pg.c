/*
 * pg.c - the PostgreSQL storage backend: every object of one sync lives in one
 * schema of a PostgreSQL database; applications use the tables with plain SQL
 * from any connection while the sync runs. This file holds the descriptor,
 * the connection (reconnects with backoff), transactions, and the sync's
 * bookkeeping (state, history, errors, conflicts, retention). Unit tables and
 * capture triggers are in pg_schema.c, row writes in pg_rows.c, the change log
 * in pg_changes.c.
 *
 * Config ([storage]): conninfo (a libpq connection string or URI) and/or its
 * parts host, hostaddr, port, dbname, user, passfile, sslmode, sslrootcert,
 * sslcert, sslkey, sslcrl, sslcompression, connect_timeout, application_name,
 * target_session_attrs, service; the password comes from CRMSYNC_PG_PASSWORD,
 * PGPASSWORD or a password file (PGPASSFILE, passfile), never from the config;
 * schema (default "crmsync"); reconnect_tries (default 5) and reconnect_delay
 * (ms, default 200, doubled per try) for a lost connection. Messages name
 * host, port and database, never the connection string.
 */
#include "pg_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PGB_VERSION "1.0.0"

char *pgb_strdup(pgb *s, const char *str)
{
	return str ? s->host->strdup(str) : NULL;
}

/* ---- strings ----------------------------------------------------------- */

void pgb_buf_add(pgb *s, pgb_buf *b, const char *str, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t nc = b->cap ? b->cap : 256;
		while (b->len + n + 1 > nc)
			nc *= 2;
		char *np = s->host->realloc(b->p, nc);
		if (!np) {
			b->oom = 1;
			return;
		}
		b->p = np;
		b->cap = nc;
	}
	memcpy(b->p + b->len, str, n);
	b->len += n;
	b->p[b->len] = 0;
}

void pgb_buf_puts(pgb *s, pgb_buf *b, const char *str)
{
	pgb_buf_add(s, b, str, strlen(str));
}

void pgb_buf_printf(pgb *s, pgb_buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = 1;
		return;
	}
	if ((size_t)n < sizeof tmp) {
		pgb_buf_add(s, b, tmp, (size_t)n);
		return;
	}
	char *big = s->host->alloc((size_t)n + 1);
	if (!big) {
		b->oom = 1;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	pgb_buf_add(s, b, big, (size_t)n);
	s->host->free(big);
}

static void pgb_buf_quoted(pgb *s, pgb_buf *b, const char *text, char q)
{
	pgb_buf_add(s, b, &q, 1);
	for (const char *p = text;;) {
		const char *e = strchr(p, q);
		if (!e) {
			pgb_buf_puts(s, b, p);
			break;
		}
		pgb_buf_add(s, b, p, (size_t)(e - p) + 1);
		pgb_buf_add(s, b, &q, 1);
		p = e + 1;
	}
	pgb_buf_add(s, b, &q, 1);
}

/* Doubling the quote is all PostgreSQL needs: no name can leave its identifier. */
void pgb_buf_ident(pgb *s, pgb_buf *b, const char *name)
{
	pgb_buf_quoted(s, b, name, '"');
}

/* standard_conforming_strings is on (set for the session): only ' needs doubling. */
void pgb_buf_lit(pgb *s, pgb_buf *b, const char *text)
{
	pgb_buf_quoted(s, b, text, '\'');
}

void pgb_buf_array_elem(pgb *s, pgb_buf *b, const char *v, size_t len, int first)
{
	if (!first)
		pgb_buf_add(s, b, ",", 1);
	if (!v) {
		pgb_buf_add(s, b, "NULL", 4);
		return;
	}
	pgb_buf_add(s, b, "\"", 1);
	size_t run = 0;
	for (size_t i = 0; i < len; i++) {
		if (v[i] == '"' || v[i] == '\\') {
			pgb_buf_add(s, b, v + run, i - run);
			pgb_buf_add(s, b, "\\", 1);
			run = i;
		}
	}
	pgb_buf_add(s, b, v + run, len - run);
	pgb_buf_add(s, b, "\"", 1);
}

int pgb_buf_ok(pgb *s, pgb_buf *b, crmsync_error *err)
{
	if (!b->oom && b->p)
		return 0;
	pgb_buf_free(s, b);
	return pgb_errf(s, err, CRMSYNC_ENOMEM, "out of memory");
}

void pgb_buf_free(pgb *s, pgb_buf *b)
{
	s->host->free(b->p);
	memset(b, 0, sizeof *b);
}

char *pgb_quote_ident(pgb *s, const char *name)
{
	pgb_buf b = {0};
	pgb_buf_ident(s, &b, name);
	if (b.oom) {
		pgb_buf_free(s, &b);
		return NULL;
	}
	return b.p;
}

/* ---- errors -------------------------------------------------------------- */

int pgb_errf(pgb *s, crmsync_error *err, int code, const char *fmt, ...)
{
	char msg[1536];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return s->host->error_set(err, code, "postgres %s: %s", s->where ? s->where : "", msg);
}

/* SQLSTATE classes -> crmsync codes. */
static int pgb_code(const char *state, int conn_bad)
{
	if (conn_bad || !state)
		return CRMSYNC_EIO;
	if (!strncmp(state, "08", 2) || !strncmp(state, "57P", 3) || !strncmp(state, "53", 2) ||
	    !strncmp(state, "58", 2) || !strcmp(state, "25P04"))
		return CRMSYNC_EIO;
	if (!strncmp(state, "40", 2) || !strcmp(state, "55P03") || !strcmp(state, "57014"))
		return CRMSYNC_EBUSY;
	if (!strncmp(state, "22", 2) || !strncmp(state, "23", 2))
		return CRMSYNC_EINVAL;
	return CRMSYNC_ERR;
}

int pgb_fail(pgb *s, crmsync_error *err, PGresult *res, const char *fmt, ...)
{
	char msg[1024], server[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	int bad = !s->conn || PQstatus(s->conn) == CONNECTION_BAD;
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *m = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *detail = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL) : NULL;
	if (!m)
		m = s->conn ? PQerrorMessage(s->conn) : "no connection";
	snprintf(server, sizeof server, "%s%s%s", m, detail ? " (" : "", detail ? detail : "");
	if (detail)
		snprintf(server + strlen(server), sizeof server - strlen(server), ")");
	size_t l = strlen(server);
	while (l && (server[l - 1] == '\n' || server[l - 1] == ' '))
		server[--l] = 0;
	int code = pgb_code(state, bad);
	if (bad && s->in_tx)
		s->tx_lost = 1;
	PQclear(res);
	const char *hint = bad ? "; the connection to the server was lost: it is reopened on the "
				 "next operation"
			   : code == CRMSYNC_EBUSY ? "; another session holds a lock: retry"
						   : "";
	return s->host->error_set(err, code, "postgres %s: %s: %s%s%s%s%s",
				  s->where ? s->where : "", msg, server, state ? " [" : "",
				  state ? state : "", state ? "]" : "", hint);
}

/* ---- connection ---------------------------------------------------------- */

static void pgb_quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static void pgb_sleep_ms(int64_t ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

static void pgb_set_where(pgb *s)
{
	char w[512];
	const char *h = PQhost(s->conn), *p = PQport(s->conn), *d = PQdb(s->conn);
	snprintf(w, sizeof w, "%s:%s/%s", h && *h ? h : "localhost", p && *p ? p : "5432",
		 d ? d : "");
	char *nw = s->host->strdup(w);
	if (nw) {
		s->host->free(s->where);
		s->where = nw;
	}
}

static int pgb_connect(pgb *s, crmsync_error *err)
{
	if (s->conn) {
		PQfinish(s->conn);
		s->conn = NULL;
	}
	s->conn = PQconnectdbParams(s->kw, (const char *const *)s->val, 1);
	if (!s->conn)
		return pgb_errf(s, err, CRMSYNC_ENOMEM, "out of memory connecting");
	if (PQstatus(s->conn) != CONNECTION_OK) {
		char m[1024];
		snprintf(m, sizeof m, "%s", PQerrorMessage(s->conn));
		size_t l = strlen(m);
		while (l && (m[l - 1] == '\n' || m[l - 1] == ' '))
			m[--l] = 0;
		PQfinish(s->conn);
		s->conn = NULL;
		return pgb_errf(s, err, CRMSYNC_EIO,
				"cannot connect: %s (check [storage] conninfo or host/port/dbname, "
				"and that the server is running)",
				m);
	}
	PQsetNoticeProcessor(s->conn, pgb_quiet, NULL);
	pgb_set_where(s);
	pgb_buf b = {0};
	/* A SQL_ASCII database holds bytes, not characters: take them as they
	 * are (the server would refuse to convert them) and check UTF-8 here. */
	const char *enc = PQparameterStatus(s->conn, "server_encoding");
	if (enc && !strcmp(enc, "SQL_ASCII"))
		pgb_buf_puts(s, &b, "SET client_encoding = 'SQL_ASCII'; ");
	pgb_buf_puts(s, &b,
		     "SET client_min_messages = warning; SET DateStyle = 'ISO, YMD'; "
		     "SET extra_float_digits = 3; SET TimeZone = 'UTC'; "
		     "SET standard_conforming_strings = on; SET search_path = ");
	pgb_buf_ident(s, &b, s->schema);
	int rc = pgb_buf_ok(s, &b, err);
	if (rc)
		return rc;
	PGresult *r = PQexec(s->conn, b.p);
	pgb_buf_free(s, &b);
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		return pgb_fail(s, err, r, "setting up the session");
	PQclear(r);
	return 0;
}

int pgb_ready(pgb *s, crmsync_error *err)
{
	if (!s->opened)
		return pgb_errf(s, err, CRMSYNC_EINVAL, "the store is not open: call open first");
	if (s->conn && PQstatus(s->conn) == CONNECTION_OK)
		return 0;
	if (s->in_tx) {
		s->tx_lost = 1;
		return pgb_errf(s, err, CRMSYNC_EIO,
				"the connection was lost inside the transaction: nothing of it "
				"was stored; roll back and retry");
	}
	int64_t delay = s->reconnect_delay_ms;
	int rc = 0;
	for (int64_t i = 0; i <= s->reconnect_tries; i++) {
		if (i) {
			pgb_sleep_ms(delay);
			delay = delay * 2 > 5000 ? 5000 : delay * 2;
		}
		rc = pgb_connect(s, err);
		if (rc == 0) {
			if (i)
				s->host->log(s->self, CRMSYNC_LOG_INFO, "postgres %s: reconnected",
					     s->where);
			pgb_units_free(s); /* catalogue may have changed meanwhile */
			return 0;
		}
		s->host->log(s->self, CRMSYNC_LOG_WARN, "%s", s->host->error_message(err));
	}
	return rc;
}

static int pgb_result_ok(PGresult *r)
{
	ExecStatusType t = PQresultStatus(r);
	return t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK;
}

int pgb_exec(pgb *s, const char *sql, const char *what, crmsync_error *err)
{
	if (!s->conn)
		return pgb_errf(s, err, CRMSYNC_EIO, "%s: not connected", what);
	PGresult *r = PQexec(s->conn, sql);
	if (!pgb_result_ok(r))
		return pgb_fail(s, err, r, "%s", what);
	PQclear(r);
	return 0;
}

int pgb_query(pgb *s, const char *sql, int n, const char *const *params, PGresult **out,
	      const char *what, crmsync_error *err)
{
	if (out)
		*out = NULL;
	if (!s->conn)
		return pgb_errf(s, err, CRMSYNC_EIO, "%s: not connected", what);
	PGresult *r = PQexecParams(s->conn, sql, n, NULL, params, NULL, NULL, 0);
	if (!pgb_result_ok(r))
		return pgb_fail(s, err, r, "%s", what);
	if (out)
		*out = r;
	else
		PQclear(r);
	return 0;
}

static const char pgb_tx_start[] = "BEGIN; SET LOCAL crmsync.sync = 'on'";

int pgb_op_begin(pgb *s, crmsync_error *err)
{
	int rc = pgb_ready(s, err);
	if (rc)
		return rc;
	if (s->in_tx) {
		if (s->tx_lost)
			return pgb_errf(s, err, CRMSYNC_EIO,
					"the connection was lost inside the transaction: roll "
					"back and retry");
		return pgb_exec(s, "SAVEPOINT pgb_op", "starting a write", err);
	}
	return pgb_exec(s, pgb_tx_start, "starting a write transaction", err);
}

int pgb_op_end(pgb *s, int rc, crmsync_error *err)
{
	if (s->in_tx) {
		if (s->tx_lost)
			return rc ? rc
				  : pgb_errf(s, err, CRMSYNC_EIO,
					     "the connection was lost inside the transaction: "
					     "nothing of it was stored; roll back and retry");
		if (rc) {
			PGresult *r = PQexec(s->conn, "ROLLBACK TO SAVEPOINT pgb_op; RELEASE "
						      "SAVEPOINT pgb_op");
			if (!pgb_result_ok(r) && PQstatus(s->conn) == CONNECTION_BAD)
				s->tx_lost = 1;
			PQclear(r);
			return rc;
		}
		return pgb_exec(s, "RELEASE SAVEPOINT pgb_op", "finishing a write", err);
	}
	if (!rc) {
		PGresult *r = PQexec(s->conn, "COMMIT");
		if (!pgb_result_ok(r))
			return pgb_fail(s, err, r, "committing");
		int committed = strcmp(PQcmdStatus(r), "COMMIT") == 0;
		PQclear(r);
		if (!committed)
			return pgb_errf(s, err, CRMSYNC_EIO,
					"committing: the server rolled the transaction back");
		return 0;
	}
	if (s->conn && PQstatus(s->conn) == CONNECTION_OK) {
		PGresult *r = PQexec(s->conn, "ROLLBACK");
		PQclear(r);
	}
	return rc;
}

/* Reads inside begin() run in a savepoint, so a failing read does not abort
 * the caller's transaction. */
static int pgb_read_begin(pgb *s, crmsync_error *err)
{
	int rc = pgb_ready(s, err);
	if (rc || !s->in_tx)
		return rc;
	if (s->tx_lost)
		return pgb_errf(s, err, CRMSYNC_EIO,
				"the connection was lost inside the transaction: roll back and "
				"retry");
	return pgb_exec(s, "SAVEPOINT pgb_rd", "reading", err);
}

static int pgb_read_end(pgb *s, int rc)
{
	if (!s->in_tx || s->tx_lost || !s->conn)
		return rc;
	PGresult *r = PQexec(s->conn, rc ? "ROLLBACK TO SAVEPOINT pgb_rd; RELEASE SAVEPOINT pgb_rd"
					 : "RELEASE SAVEPOINT pgb_rd");
	if (!pgb_result_ok(r) && PQstatus(s->conn) == CONNECTION_BAD)
		s->tx_lost = 1;
	PQclear(r);
	return rc;
}

/* ---- init / open ---------------------------------------------------------- */

static const char *const pgb_conn_keys[] = {"host",
					    "hostaddr",
					    "port",
					    "dbname",
					    "user",
					    "passfile",
					    "sslmode",
					    "sslrootcert",
					    "sslcert",
					    "sslkey",
					    "sslcrl",
					    "sslcompression",
					    "connect_timeout",
					    "application_name",
					    "target_session_attrs",
					    "service",
					    "sslpassword",
					    "keepalives_idle",
					    NULL};

static void pgb_free_conf(pgb *s)
{
	for (int i = 0; i < 32; i++) {
		s->host->free(s->val[i]);
		s->val[i] = NULL;
		s->kw[i] = NULL;
	}
}

static int pgb_add_kw(pgb *s, int *n, const char *k, const char *v)
{
	if (*n >= 31)
		return -1;
	s->kw[*n] = k;
	s->val[*n] = s->host->strdup(v);
	if (!s->val[*n])
		return -1;
	(*n)++;
	return 0;
}

static int pgb_init(const crmsync_host *host, crmsync_plugin_ctx *self, void **state,
		    crmsync_error *err)
{
	pgb *s = host->alloc(sizeof *s);
	if (!s)
		return host->error_set(err, CRMSYNC_ENOMEM, "postgres backend: out of memory");
	memset(s, 0, sizeof *s);
	s->host = host;
	s->self = self;
	int rc = 0, n = 0, any = 0;
	char where[512] = "", ci_h[128] = "", ci_p[32] = "", ci_d[128] = "";
	const char *ci = host->config_get(self, "conninfo");
	const char *schema = host->config_get(self, "schema");
	rc = host->config_get_int(self, "reconnect_tries", 5, &s->reconnect_tries, err);
	if (!rc)
		rc =
		    host->config_get_int(self, "reconnect_delay", 200, &s->reconnect_delay_ms, err);
	if (rc)
		goto out;
	if (s->reconnect_tries < 0 || s->reconnect_tries > 100 || s->reconnect_delay_ms < 0 ||
	    s->reconnect_delay_ms > 60000) {
		rc = host->error_set(err, CRMSYNC_EINVAL,
				     "postgres backend: [storage] reconnect_tries (0..100) or "
				     "reconnect_delay (0..60000 ms) is out of range");
		goto out;
	}
	/* The connection string first: expand_dbname makes its parts defaults that
	 * the separate keys below override. */
	if (ci && *ci) {
		char *perr = NULL;
		PQconninfoOption *opts = PQconninfoParse(ci, &perr);
		if (!opts) {
			rc = host->error_set(
			    err, CRMSYNC_EINVAL,
			    "postgres backend: [storage] conninfo cannot be parsed: "
			    "%s",
			    perr ? perr : "out of memory");
			PQfreemem(perr);
			goto out;
		}
		const char *h = NULL, *p = NULL, *d = NULL;
		for (PQconninfoOption *o = opts; o->keyword; o++) {
			if (!o->val)
				continue;
			if (!strcmp(o->keyword, "host"))
				h = o->val;
			else if (!strcmp(o->keyword, "port"))
				p = o->val;
			else if (!strcmp(o->keyword, "dbname"))
				d = o->val;
		}
		snprintf(ci_h, sizeof ci_h, "%s", h ? h : "");
		snprintf(ci_p, sizeof ci_p, "%s", p ? p : "");
		snprintf(ci_d, sizeof ci_d, "%s", d ? d : "");
		PQconninfoFree(opts);
		if (pgb_add_kw(s, &n, "dbname", ci))
			goto nomem;
		any = 1;
	}
	for (const char *const *k = pgb_conn_keys; *k; k++) {
		const char *v = host->config_get(self, *k);
		if (!v)
			continue;
		if (pgb_add_kw(s, &n, *k, v))
			goto nomem;
		any = 1;
	}
	if (!any) {
		rc = host->error_set(err, CRMSYNC_EINVAL,
				     "postgres backend: [storage] says where the database is: set "
				     "conninfo (e.g. conninfo = \"host=db.example.org dbname=crm "
				     "user=crmsync\") or host/port/dbname/user");
		goto out;
	}
	const char *pw = getenv("CRMSYNC_PG_PASSWORD");
	if (pw && *pw && pgb_add_kw(s, &n, "password", pw))
		goto nomem;
	if (pgb_add_kw(s, &n, "client_encoding", "UTF8"))
		goto nomem;
	if (!host->config_get(self, "application_name") &&
	    pgb_add_kw(s, &n, "application_name", "crmsync"))
		goto nomem;
	{
		/* separate keys override the connection string's parts */
		const char *h = host->config_get(self, "host"), *p = host->config_get(self, "port"),
			   *d = host->config_get(self, "dbname");
		snprintf(where, sizeof where, "%.120s:%.16s/%.120s",
			 h	   ? h
			 : ci_h[0] ? ci_h
				   : "localhost",
			 p	   ? p
			 : ci_p[0] ? ci_p
				   : "5432",
			 d ? d : ci_d);
	}
	if (schema && (!*schema || strlen(schema) > 63)) {
		rc = host->error_set(err, CRMSYNC_EINVAL,
				     "postgres backend: [storage] schema = '%s' must be 1 to 63 "
				     "characters",
				     schema);
		goto out;
	}
	s->schema = host->strdup(schema ? schema : "crmsync");
	s->qschema = s->schema ? pgb_quote_ident(s, s->schema) : NULL;
	s->where = host->strdup(where);
	s->scratch_values = host->record_new();
	s->scratch_before = host->record_new();
	if (!s->schema || !s->qschema || !s->where || !s->scratch_values || !s->scratch_before)
		goto nomem;
	goto out;
nomem:
	rc = host->error_set(err, CRMSYNC_ENOMEM, "postgres backend: out of memory");
out:
	if (rc) {
		if (s->scratch_values)
			host->record_free(s->scratch_values);
		if (s->scratch_before)
			host->record_free(s->scratch_before);
		pgb_free_conf(s);
		host->free(s->schema);
		host->free(s->qschema);
		host->free(s->where);
		host->free(s);
		return rc;
	}
	*state = s;
	return 0;
}

static void pgb_close(void *state)
{
	pgb *s = state;
	pgb_units_free(s);
	if (s->conn) {
		if (s->in_tx && PQstatus(s->conn) == CONNECTION_OK)
			PQclear(PQexec(s->conn, "ROLLBACK"));
		PQfinish(s->conn);
		s->conn = NULL;
	}
	s->in_tx = 0;
	s->tx_lost = 0;
	s->opened = 0;
}

static void pgb_fini(void *state)
{
	pgb *s = state;
	if (!s)
		return;
	pgb_close(s);
	s->host->record_free(s->scratch_values);
	s->host->record_free(s->scratch_before);
	pgb_free_conf(s);
	s->host->free(s->schema);
	s->host->free(s->qschema);
	s->host->free(s->where);
	s->host->free(s);
}

static int pgb_open(void *state, crmsync_error *err)
{
	pgb *s = state;
	if (s->opened && s->conn)
		return 0;
	s->opened = 1;
	int rc = pgb_connect(s, err);
	if (!rc)
		rc = pgb_schema_init(s, err);
	if (rc) {
		if (s->conn)
			PQfinish(s->conn);
		s->conn = NULL;
		s->opened = 0;
	}
	return rc;
}

static int pgb_begin(void *state, crmsync_error *err)
{
	pgb *s = state;
	if (s->in_tx)
		return pgb_errf(s, err, CRMSYNC_EINVAL,
				"begin: a transaction is already open: commit or roll it back "
				"first");
	int rc = pgb_ready(s, err);
	if (!rc)
		rc = pgb_exec(s, pgb_tx_start, "starting a write transaction", err);
	if (!rc) {
		s->in_tx = 1;
		s->tx_lost = 0;
	}
	return rc;
}

static int pgb_commit(void *state, crmsync_error *err)
{
	pgb *s = state;
	if (!s->in_tx)
		return pgb_errf(s, err, CRMSYNC_EINVAL, "commit: no transaction is open");
	int lost = s->tx_lost || !s->conn;
	s->in_tx = 0;
	s->tx_lost = 0;
	if (lost)
		return pgb_errf(s, err, CRMSYNC_EIO,
				"commit: the connection was lost inside the transaction; nothing "
				"of it was stored: retry");
	PGresult *r = PQexec(s->conn, "COMMIT");
	if (!pgb_result_ok(r))
		return pgb_fail(s, err, r, "committing");
	int committed = strcmp(PQcmdStatus(r), "COMMIT") == 0;
	PQclear(r);
	if (!committed)
		return pgb_errf(s, err, CRMSYNC_EIO,
				"commit: the server rolled the transaction back after an earlier "
				"failure; nothing of it was stored: retry");
	return 0;
}

static int pgb_rollback(void *state, crmsync_error *err)
{
	pgb *s = state;
	if (!s->in_tx)
		return pgb_errf(s, err, CRMSYNC_EINVAL, "rollback: no transaction is open");
	int lost = s->tx_lost || !s->conn || PQstatus(s->conn) != CONNECTION_OK;
	s->in_tx = 0;
	s->tx_lost = 0;
	if (lost)
		return 0; /* the server dropped it with the connection */
	return pgb_exec(s, "ROLLBACK", "rolling back", err);
}

/* ---- state ------------------------------------------------------------- */

static int pgb_state_get(void *state, const char *unit, const char *key, char *buf, size_t cap,
			 crmsync_error *err)
{
	pgb *s = state;
	PGresult *r = NULL;
	const char *p[2] = {unit ? unit : "", key};
	int rc = pgb_read_begin(s, err);
	if (!rc)
		rc = pgb_query(s, "SELECT value FROM _crmsync_state WHERE unit = $1 AND key = $2",
			       2, p, &r, "reading state", err);
	if (!rc) {
		if (PQntuples(r) == 0) {
			rc = pgb_errf(s, err, CRMSYNC_ENOENT, "unit %s: no state '%s' stored yet",
				      p[0], key);
		} else {
			const char *v = PQgetvalue(r, 0, 0);
			size_t len = (size_t)PQgetlength(r, 0, 0);
			if (cap) {
				size_t c = len < cap - 1 ? len : cap - 1;
				memcpy(buf, v, c);
				buf[c] = 0;
			}
			rc = len > INT32_MAX ? CRMSYNC_EINVAL : (int)len;
		}
		PQclear(r);
	}
	pgb_read_end(s, rc < 0 ? rc : 0);
	return rc;
}

static int pgb_state_set(void *state, const char *unit, const char *key, const char *value,
			 crmsync_error *err)
{
	pgb *s = state;
	const char *p[3] = {unit ? unit : "", key, value};
	int rc = pgb_op_begin(s, err);
	if (rc)
		return rc;
	rc = pgb_query(s,
		       value ? "INSERT INTO _crmsync_state(unit, key, value) VALUES($1, $2, $3) "
			       "ON CONFLICT(unit, key) DO UPDATE SET value = excluded.value"
			     : "DELETE FROM _crmsync_state WHERE unit = $1 AND key = $2",
		       value ? 3 : 2, p, NULL, "writing state", err);
	return pgb_op_end(s, rc, err);
}

/* ---- bookkeeping --------------------------------------------------------- */

static const char *pgb_i64(char *buf, int64_t v)
{
	snprintf(buf, 24, "%lld", (long long)v);
	return buf;
}

static int pgb_write1(pgb *s, const char *sql, int n, const char *const *p, const char *what,
		      crmsync_error *err)
{
	int rc = pgb_op_begin(s, err);
	if (rc)
		return rc;
	rc = pgb_query(s, sql, n, p, NULL, what, err);
	return pgb_op_end(s, rc, err);
}

static int pgb_history_add(void *state, const crmsync_history_row *h, crmsync_error *err)
{
	char b[10][24];
	const char *p[13] = {pgb_i64(b[0], h->cycle),
			     h->unit,
			     h->step,
			     pgb_i64(b[1], h->started_ms),
			     pgb_i64(b[2], h->ended_ms),
			     pgb_i64(b[3], h->n_new),
			     pgb_i64(b[4], h->n_updated),
			     pgb_i64(b[5], h->n_deleted),
			     pgb_i64(b[6], h->n_failed),
			     pgb_i64(b[7], h->n_skipped),
			     pgb_i64(b[8], h->api_calls),
			     h->status,
			     h->message};
	return pgb_write1(state,
			  "INSERT INTO _crmsync_history(cycle, unit, step, started_ms, ended_ms, "
			  "n_new, n_updated, n_deleted, n_failed, n_skipped, api_calls, status, "
			  "message) VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13)",
			  13, p, "recording history", err);
}

static int pgb_error_add(void *state, const crmsync_error_row *e, crmsync_error *err)
{
	char b[3][24];
	const char *p[8] = {pgb_i64(b[0], e->at_ms),
			    pgb_i64(b[1], e->cycle),
			    e->unit,
			    e->step,
			    e->id,
			    pgb_i64(b[2], e->row),
			    e->code,
			    e->message};
	return pgb_write1(
	    state,
	    "INSERT INTO _crmsync_errors(at_ms, cycle, unit, step, id, \"row\", code, "
	    "message) VALUES($1,$2,$3,$4,$5,$6,$7,$8)",
	    8, p, "recording an error", err);
}

static int pgb_conflict_add(void *state, const crmsync_conflict_row *c, crmsync_error *err)
{
	char b[24];
	const char *p[7] = {pgb_i64(b, c->at_ms), c->unit,	c->id,	  c->field,
			    c->local_value,	  c->crm_value, c->winner};
	return pgb_write1(state,
			  "INSERT INTO _crmsync_conflicts(at_ms, unit, id, field, local_value, "
			  "crm_value, winner) VALUES($1,$2,$3,$4,$5,$6,$7)",
			  7, p, "recording a conflict", err);
}

static const char *pgb_val(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static int64_t pgb_int(PGresult *r, int row, int col)
{
	return PQgetisnull(r, row, col) ? 0 : strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static int pgb_history_read(void *state, int64_t since_ms, crmsync_history_cb cb, void *ud,
			    crmsync_error *err)
{
	pgb *s = state;
	PGresult *r = NULL;
	char b[24];
	const char *p[1] = {pgb_i64(b, since_ms)};
	int rc = pgb_read_begin(s, err);
	if (!rc)
		rc = pgb_query(s,
			       "SELECT cycle, unit, step, started_ms, ended_ms, n_new, n_updated, "
			       "n_deleted, n_failed, n_skipped, api_calls, status, message "
			       "FROM _crmsync_history WHERE started_ms >= $1 ORDER BY seq",
			       1, p, &r, "reading history", err);
	rc = pgb_read_end(s, rc);
	if (rc)
		return rc;
	for (int i = 0; i < PQntuples(r) && !rc; i++) {
		crmsync_history_row h = {.size = sizeof h};
		h.cycle = pgb_int(r, i, 0);
		h.unit = pgb_val(r, i, 1);
		h.step = pgb_val(r, i, 2);
		h.started_ms = pgb_int(r, i, 3);
		h.ended_ms = pgb_int(r, i, 4);
		h.n_new = pgb_int(r, i, 5);
		h.n_updated = pgb_int(r, i, 6);
		h.n_deleted = pgb_int(r, i, 7);
		h.n_failed = pgb_int(r, i, 8);
		h.n_skipped = pgb_int(r, i, 9);
		h.api_calls = pgb_int(r, i, 10);
		h.status = pgb_val(r, i, 11);
		h.message = pgb_val(r, i, 12);
		rc = cb(ud, &h);
	}
	PQclear(r);
	return rc;
}

static int pgb_errors_read(void *state, int64_t since_ms, crmsync_error_cb cb, void *ud,
			   crmsync_error *err)
{
	pgb *s = state;
	PGresult *r = NULL;
	char b[24];
	const char *p[1] = {pgb_i64(b, since_ms)};
	int rc = pgb_read_begin(s, err);
	if (!rc)
		rc = pgb_query(s,
			       "SELECT at_ms, cycle, unit, step, id, \"row\", code, message "
			       "FROM _crmsync_errors WHERE at_ms >= $1 ORDER BY seq",
			       1, p, &r, "reading errors", err);
	rc = pgb_read_end(s, rc);
	if (rc)
		return rc;
	for (int i = 0; i < PQntuples(r) && !rc; i++) {
		crmsync_error_row e = {.size = sizeof e};
		e.at_ms = pgb_int(r, i, 0);
		e.cycle = pgb_int(r, i, 1);
		e.unit = pgb_val(r, i, 2);
		e.step = pgb_val(r, i, 3);
		e.id = pgb_val(r, i, 4);
		e.row = pgb_int(r, i, 5);
		e.code = pgb_val(r, i, 6);
		e.message = pgb_val(r, i, 7);
		rc = cb(ud, &e);
	}
	PQclear(r);
	return rc;
}

static int pgb_retention(void *state, int64_t before_ms, crmsync_error *err)
{
	char b[24];
	const char *p[1] = {pgb_i64(b, before_ms)};
	pgb *s = state;
	static const char *const sql[] = {
	    "DELETE FROM _crmsync_history WHERE coalesce(ended_ms, started_ms) < $1",
	    "DELETE FROM _crmsync_errors WHERE at_ms < $1",
	    "DELETE FROM _crmsync_conflicts WHERE at_ms < $1",
	};
	int rc = pgb_op_begin(s, err);
	for (size_t i = 0; !rc && i < sizeof sql / sizeof *sql; i++)
		rc = pgb_query(s, sql[i], 1, p, NULL, "applying retention", err);
	return pgb_op_end(s, rc, err);
}

/* Reads of unit data share the savepoint rule. */
static int pgb_row_read_op(void *state, const char *unit, const char *id, int64_t row,
			   crmsync_record *out, crmsync_error *err)
{
	pgb *s = state;
	int rc = pgb_read_begin(s, err);
	if (rc)
		return rc;
	rc = pgb_row_read(state, unit, id, row, out, err);
	return pgb_read_end(s, rc);
}

static int pgb_changes_read_op(void *state, const char *unit, const crmsync_change_query *q,
			       crmsync_change_cb cb, void *ud, crmsync_error *err)
{
	pgb *s = state;
	int rc = pgb_read_begin(s, err);
	if (rc)
		return rc;
	rc = pgb_changes_read(state, unit, q, cb, ud, err);
	return pgb_read_end(s, rc);
}

static int pgb_unit_stats_op(void *state, const char *unit, crmsync_unit_stats *out,
			     crmsync_error *err)
{
	pgb *s = state;
	int rc = pgb_read_begin(s, err);
	if (rc)
		return rc;
	rc = pgb_unit_stats(state, unit, out, err);
	return pgb_read_end(s, rc);
}

static const crmsync_backend_ops pgb_ops = {
    .size = sizeof(crmsync_backend_ops),
    .open = pgb_open,
    .close = pgb_close,
    .ensure_unit = pgb_ensure_unit,
    .begin = pgb_begin,
    .commit = pgb_commit,
    .rollback = pgb_rollback,
    .upsert = pgb_upsert,
    .mark_deleted = pgb_mark_deleted,
    .merge = pgb_merge,
    .state_get = pgb_state_get,
    .state_set = pgb_state_set,
    .changes_read = pgb_changes_read_op,
    .change_ack = pgb_change_ack,
    .row_update = pgb_row_update,
    .history_add = pgb_history_add,
    .error_add = pgb_error_add,
    .conflict_add = pgb_conflict_add,
    .history_read = pgb_history_read,
    .errors_read = pgb_errors_read,
    .unit_stats = pgb_unit_stats_op,
    .retention = pgb_retention,
    .row_read = pgb_row_read_op,
    .reconcile_begin = pgb_reconcile_begin,
    .reconcile_seen = pgb_reconcile_seen,
    .reconcile_finish = pgb_reconcile_finish,
};

CRMSYNC_EXPORT const crmsync_plugin_desc crmsync_plugin = {
    CRMSYNC_PLUGIN_HEADER(CRMSYNC_KIND_BACKEND, "postgres", PGB_VERSION),
    .description = "PostgreSQL storage: one schema per sync, plain SQL for applications from "
		   "any connection",
    .init = pgb_init,
    .fini = pgb_fini,
    .ops = &pgb_ops,
};
