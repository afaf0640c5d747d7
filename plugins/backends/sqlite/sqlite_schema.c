/*
 * sqlite_schema.c - tables of units, the catalogue that remembers them, and the
 * triggers that capture local edits of two-way units.
 *
 * Every identifier that comes from describe is quoted with sqlite3_mprintf's
 * %w (and every literal with %Q), so no field name can leave its identifier.
 *
 * Type changes never destroy a value. A column keeps its declared type when it
 * can hold the new type exactly (a TEXT column holds anything as text; an
 * INTEGER column holds booleans and doubles). Otherwise the column is renamed
 * to NAME__was_TYPE (its values stay there, untouched) and a new column NAME of
 * the new type receives a copy of them (doubles copied as 17-digit text, which
 * reads back bit for bit).
 */
#include "sqlite_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define SQB_LAYOUT "sqlite-layout-4"

/* The catalogue and bookkeeping tables. Names start with _crmsync_ so they
 * never meet a unit's table (unit names come from object plugins, lowercase
 * API names, which never start with an underscore). */
static const char sqb_catalogue[] =
    "CREATE TABLE IF NOT EXISTS _crmsync_ctl(k INTEGER PRIMARY KEY CHECK (k = 1),"
    " sync INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO _crmsync_ctl(k, sync) VALUES(1, 0);"
    "UPDATE _crmsync_ctl SET sync = 0 WHERE sync != 0;"
    "CREATE TABLE IF NOT EXISTS _crmsync_units(unit TEXT PRIMARY KEY, sobject TEXT NOT NULL,"
    " direction INTEGER NOT NULL, fingerprint TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS _crmsync_fields(unit TEXT NOT NULL, col TEXT NOT NULL,"
    " name TEXT NOT NULL, type INTEGER NOT NULL, crm_type TEXT, reference_to TEXT,"
    " active INTEGER NOT NULL, pos INTEGER NOT NULL, PRIMARY KEY(unit, col));"
    "CREATE TABLE IF NOT EXISTS _crmsync_state(unit TEXT NOT NULL, key TEXT NOT NULL,"
    " value TEXT, PRIMARY KEY(unit, key));"
    /* One entry per changed column (col NULL for an insert). "old" has no
     * declared type, so it keeps any value exactly as the row held it. seq
     * needs no AUTOINCREMENT (which costs every write to a captured table a
     * sqlite_sequence lookup): a new entry always gets a seq above every
     * entry still present, and an acknowledgement only covers entries that
     * are still present. */
    "CREATE TABLE IF NOT EXISTS _crmsync_log(seq INTEGER PRIMARY KEY,"
    " unit TEXT, row INTEGER, op INTEGER, col TEXT, old,"
    " at_ms INTEGER);"
    "CREATE INDEX IF NOT EXISTS _crmsync_log_row ON _crmsync_log(unit, row, seq);"
    /* pending rows in the order of their first edit, a batch at a time */
    "CREATE INDEX IF NOT EXISTS _crmsync_log_unit ON _crmsync_log(unit, seq);"
    "CREATE TABLE IF NOT EXISTS _crmsync_push(unit TEXT NOT NULL, row INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL, code TEXT, message TEXT, retry_at INTEGER NOT NULL,"
    " failed_seq INTEGER NOT NULL, deferred INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY(unit, row));"
    /* Id reconciliation: the sweep in progress per unit and the CRM ids seen
     * so far. On disk, so a sweep of millions of ids costs pages, not memory. */
    "CREATE TABLE IF NOT EXISTS _crmsync_sweep(unit TEXT PRIMARY KEY,"
    " started_ms INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS _crmsync_seen(unit TEXT NOT NULL, id TEXT NOT NULL,"
    " PRIMARY KEY(unit, id)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS _crmsync_history(seq INTEGER PRIMARY KEY, cycle INTEGER,"
    " unit TEXT, step TEXT, started_ms INTEGER, ended_ms INTEGER, n_new INTEGER,"
    " n_updated INTEGER, n_deleted INTEGER, n_failed INTEGER, n_skipped INTEGER,"
    " api_calls INTEGER, status TEXT, message TEXT);"
    "CREATE TABLE IF NOT EXISTS _crmsync_errors(seq INTEGER PRIMARY KEY, at_ms INTEGER,"
    " cycle INTEGER, unit TEXT, step TEXT, id TEXT, row INTEGER, code TEXT, message TEXT);"
    "CREATE TABLE IF NOT EXISTS _crmsync_conflicts(seq INTEGER PRIMARY KEY, at_ms INTEGER,"
    " unit TEXT, id TEXT, field TEXT, local_value TEXT, crm_value TEXT, winner TEXT);";

int sqb_schema_init(sqb *s, crmsync_error *err)
{
	int rc = sqb_exec(s, "BEGIN IMMEDIATE", "creating the catalogue", err);
	if (rc)
		return rc;
	rc = sqb_exec(s, sqb_catalogue, "creating the catalogue tables", err);
	if (!rc) {
		/* Stores made before deferred acknowledgements existed. */
		sqlite3_stmt *st = NULL;
		rc = sqb_prepare(s,
				 "SELECT 1 FROM pragma_table_info('_crmsync_push') WHERE name = "
				 "'deferred'",
				 &st, "reading the catalogue", err);
		if (!rc && sqlite3_step(st) != SQLITE_ROW)
			rc = sqb_exec(s,
				      "ALTER TABLE _crmsync_push ADD COLUMN deferred INTEGER NOT "
				      "NULL DEFAULT 0",
				      "upgrading the push state table", err);
		sqb_finalize(s, st);
	}
	if (!rc)
		rc = sqb_exec(s, "COMMIT", "creating the catalogue", err);
	if (rc)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static int sqb_natural_aff(int type)
{
	switch (type) {
	case CRMSYNC_INTEGER:
	case CRMSYNC_BOOLEAN:
		return SQB_AFF_INTEGER;
	case CRMSYNC_DOUBLE:
		return SQB_AFF_REAL;
	default:
		return SQB_AFF_TEXT;
	}
}

static const char *sqb_aff_decl(int aff)
{
	return aff == SQB_AFF_INTEGER ? "INTEGER" : aff == SQB_AFF_REAL ? "REAL" : "TEXT";
}

/* SQLite's own rules for the affinity of a declared type. */
static int sqb_decl_aff(const char *decl)
{
	char up[64];
	size_t i;
	for (i = 0; decl && decl[i] && i < sizeof up - 1; i++)
		up[i] = (char)toupper((unsigned char)decl[i]);
	up[i] = 0;
	if (strstr(up, "INT"))
		return SQB_AFF_INTEGER;
	if (strstr(up, "CHAR") || strstr(up, "CLOB") || strstr(up, "TEXT"))
		return SQB_AFF_TEXT;
	if (strstr(up, "REAL") || strstr(up, "FLOA") || strstr(up, "DOUB"))
		return SQB_AFF_REAL;
	return 0; /* BLOB or NUMERIC: treated as incompatible, widened on use */
}

/* Can a column of this affinity hold every value of the type exactly? */
static int sqb_aff_holds(int aff, int type)
{
	if (aff == SQB_AFF_TEXT)
		return 1;
	if (aff == SQB_AFF_INTEGER)
		return type == CRMSYNC_INTEGER || type == CRMSYNC_BOOLEAN || type == CRMSYNC_DOUBLE;
	if (aff == SQB_AFF_REAL)
		return type == CRMSYNC_DOUBLE;
	return 0;
}

static void sqb_field_free(sqb *s, sqb_field *f)
{
	s->host->free(f->name);
	s->host->free(f->col);
	s->host->free(f->qcol);
	s->host->free(f->ref);
}

void sqb_unit_free(sqb *s, sqb_unit *u)
{
	if (!u)
		return;
	sqb_upsert_sets_free(s, u);
	for (size_t i = 0; i < u->nfields; i++)
		sqb_field_free(s, &u->fields[i]);
	s->host->free(u->fields);
	s->host->free(u->name);
	s->host->free(u->qname);
	s->host->free(u->lit);
	s->host->free(u->sobject);
	s->host->free(u->fingerprint);
	s->host->free(u);
}

void sqb_units_free(sqb *s)
{
	while (s->units) {
		sqb_unit *u = s->units;
		s->units = u->next;
		sqb_unit_free(s, u);
	}
}

static void sqb_unit_forget(sqb *s, const char *name)
{
	for (sqb_unit **p = &s->units; *p; p = &(*p)->next) {
		if (strcmp((*p)->name, name) == 0) {
			sqb_unit *u = *p;
			*p = u->next;
			sqb_unit_free(s, u);
			return;
		}
	}
}

/* Column name -> declared affinity, from the table itself. */
static int sqb_column_aff(sqb *s, const char *table, const char *col, int *aff, int *exists,
			  crmsync_error *err)
{
	sqlite3_stmt *st = NULL;
	*exists = 0;
	*aff = 0;
	int rc = sqb_prepare(s, "SELECT type FROM pragma_table_xinfo(?1) WHERE name = ?2", &st,
			     "reading a table's columns", err);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, col, -1, SQLITE_STATIC);
	int r = sqlite3_step(st);
	if (r == SQLITE_ROW) {
		*exists = 1;
		*aff = sqb_decl_aff((const char *)sqlite3_column_text(st, 0));
	} else if (r != SQLITE_DONE) {
		rc = sqb_fail(s, err, r, "table %s: reading its columns", table);
	}
	sqb_finalize(s, st);
	return rc;
}

static int sqb_unit_load(sqb *s, const char *name, sqb_unit **out, crmsync_error *err)
{
	sqlite3_stmt *st = NULL;
	sqb_unit *u = NULL;
	int rc = sqb_prepare(s,
			     "SELECT sobject, direction, fingerprint FROM _crmsync_units WHERE "
			     "unit = ?1",
			     &st, "reading the catalogue", err);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int r = sqlite3_step(st);
	if (r == SQLITE_DONE) {
		rc = sqb_errf(s, err, CRMSYNC_ENOENT,
			      "unit %s has no table in this store: ensure_unit must create it "
			      "first (is the unit enabled in [sync] units?)",
			      name);
		goto out;
	}
	if (r != SQLITE_ROW) {
		rc = sqb_fail(s, err, r, "unit %s: reading the catalogue", name);
		goto out;
	}
	u = s->host->alloc(sizeof *u);
	if (!u)
		goto nomem;
	memset(u, 0, sizeof *u);
	u->name = sqb_strdup(s, name);
	u->qname = sqb_quote_ident(s, name);
	u->lit = sqb_quote_lit(s, name);
	u->sobject = sqb_strdup(s, (const char *)sqlite3_column_text(st, 0));
	u->direction = sqlite3_column_int(st, 1);
	u->fingerprint = sqb_strdup(s, (const char *)sqlite3_column_text(st, 2));
	if (!u->name || !u->qname || !u->lit || !u->sobject || !u->fingerprint)
		goto nomem;
	sqb_finalize(s, st);
	rc = sqb_prepare(s,
			 "SELECT f.name, f.col, f.type, f.reference_to, c.type FROM "
			 "_crmsync_fields f LEFT JOIN pragma_table_xinfo(?1) c ON c.name = f.col "
			 "WHERE f.unit = ?1 AND f.active = 1 ORDER BY f.pos",
			 &st, "reading the catalogue", err);
	if (rc)
		goto out;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	size_t cap = 0;
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (u->nfields == cap) {
			size_t nc = cap ? cap * 2 : 16;
			sqb_field *nf = s->host->realloc(u->fields, nc * sizeof *nf);
			if (!nf)
				goto nomem;
			u->fields = nf;
			cap = nc;
		}
		sqb_field *f = &u->fields[u->nfields];
		memset(f, 0, sizeof *f);
		u->nfields++;
		f->name = sqb_strdup(s, (const char *)sqlite3_column_text(st, 0));
		f->col = sqb_strdup(s, (const char *)sqlite3_column_text(st, 1));
		f->type = sqlite3_column_int(st, 2);
		f->ref = sqb_strdup(s, (const char *)sqlite3_column_text(st, 3));
		f->aff = sqb_decl_aff((const char *)sqlite3_column_text(st, 4));
		f->qcol = f->col ? sqb_quote_ident(s, f->col) : NULL;
		if (!f->name || !f->col || !f->qcol)
			goto nomem;
	}
	if (r != SQLITE_DONE) {
		rc = sqb_fail(s, err, r, "unit %s: reading the catalogue", name);
		goto out;
	}
	u->next = s->units;
	s->units = u;
	*out = u;
	u = NULL;
	goto out;
nomem:
	rc = sqb_errf(s, err, CRMSYNC_ENOMEM, "unit %s: out of memory", name);
out:
	sqb_finalize(s, st);
	sqb_unit_free(s, u);
	return rc;
}

int sqb_unit_get(sqb *s, const char *name, sqb_unit **out, crmsync_error *err)
{
	if (!s->db)
		return sqb_errf(s, err, CRMSYNC_EINVAL, "the store is not open: call open first");
	if (!name || !*name)
		return sqb_errf(s, err, CRMSYNC_EINVAL, "no unit name given");
	for (sqb_unit *u = s->units; u; u = u->next)
		if (strcmp(u->name, name) == 0) {
			*out = u;
			return 0;
		}
	return sqb_unit_load(s, name, out, err);
}

static int sqb_validate(sqb *s, const crmsync_unit_schema *sc, crmsync_error *err)
{
	if (!sc || !sc->unit || !*sc->unit)
		return sqb_errf(s, err, CRMSYNC_EINVAL, "ensure_unit: the schema has no unit name");
	if (strncmp(sc->unit, "_crmsync", 8) == 0 || strncmp(sc->unit, "sqlite_", 7) == 0)
		return sqb_errf(s, err, CRMSYNC_EINVAL,
				"unit %s: the name is reserved for the store's own tables: "
				"rename the unit",
				sc->unit);
	for (size_t i = 0; i < sc->nfields; i++) {
		const char *n = sc->fields[i].name;
		if (!n || !*n)
			return sqb_errf(s, err, CRMSYNC_EINVAL,
					"unit %s: field %zu has no name: fix the unit's field list",
					sc->unit, i);
		if (bk_skip_field(n))
			continue;
		if (bk_is_bookkeeping(n) || strstr(n, "__was_"))
			return sqb_errf(s, err, CRMSYNC_EINVAL,
					"unit %s: field %s would take the name of a column the "
					"sync keeps for itself: leave the field out of the unit",
					sc->unit, n);
		for (size_t j = 0; j < i; j++)
			if (strcasecmp(sc->fields[j].name, n) == 0)
				return sqb_errf(s, err, CRMSYNC_EINVAL,
						"unit %s: field %s is listed twice: fix the "
						"unit's field list",
						sc->unit, n);
	}
	return 0;
}

static int sqb_exec_free(sqb *s, char *sql, const char *what, crmsync_error *err)
{
	if (!sql)
		return sqb_errf(s, err, CRMSYNC_ENOMEM, "%s: out of memory", what);
	int rc = sqb_exec(s, sql, what, err);
	s->host->free(sql);
	return rc;
}

/* A free column name for the values of a column whose type had to change. */
static int sqb_was_name(sqb *s, const char *table, const char *col, int aff, char *out, size_t cap,
			crmsync_error *err)
{
	const char *tn = aff == SQB_AFF_INTEGER ? "integer"
			 : aff == SQB_AFF_REAL	? "real"
						: "other";
	for (int n = 1; n < 100; n++) {
		int exists, a;
		if (n == 1)
			snprintf(out, cap, "%s__was_%s", col, tn);
		else
			snprintf(out, cap, "%s__was_%s%d", col, tn, n);
		int rc = sqb_column_aff(s, table, out, &a, &exists, err);
		if (rc)
			return rc;
		if (!exists)
			return 0;
	}
	return sqb_errf(s, err, CRMSYNC_ERR, "table %s: no free name to keep column %s's values",
			table, col);
}

static int sqb_ensure_column(sqb *s, const crmsync_unit_schema *sc, const char *qtable,
			     const crmsync_field_desc *f, crmsync_error *err)
{
	char col[512], was[600];
	snprintf(col, sizeof col, "%s", f->name);
	bk_lower(col);
	int want = sqb_natural_aff(f->type), aff, exists;
	int rc = sqb_column_aff(s, sc->unit, col, &aff, &exists, err);
	if (rc)
		return rc;
	if (!exists)
		return sqb_exec_free(s,
				     sqb_printf(s, "ALTER TABLE %s ADD COLUMN \"%w\" %s", qtable,
						col, sqb_aff_decl(want)),
				     "adding a column", err);
	if (sqb_aff_holds(aff, f->type))
		return 0;
	/* The stored values stay in the renamed column; the new column gets an
	 * exact copy. */
	rc = sqb_was_name(s, sc->unit, col, aff, was, sizeof was, err);
	if (rc)
		return rc;
	s->host->log(s->self, CRMSYNC_LOG_WARN,
		     "unit %s: field %s changed type; its old values stay in column %s and are "
		     "copied into a new %s column %s",
		     sc->unit, f->name, was, sqb_aff_decl(want), col);
	rc = sqb_exec_free(
	    s, sqb_printf(s, "ALTER TABLE %s RENAME COLUMN \"%w\" TO \"%w\"", qtable, col, was),
	    "keeping a column whose type changed", err);
	if (!rc)
		rc = sqb_exec_free(s,
				   sqb_printf(s, "ALTER TABLE %s ADD COLUMN \"%w\" %s", qtable, col,
					      sqb_aff_decl(want)),
				   "adding a column", err);
	if (!rc)
		rc = sqb_exec_free(
		    s,
		    sqb_printf(s,
			       "UPDATE %s SET \"%w\" = CASE WHEN typeof(\"%w\") != 'real' OR "
			       "NOT %d THEN \"%w\" WHEN CAST(printf('%%!.15g', \"%w\") AS REAL) "
			       "= \"%w\" THEN printf('%%!.15g', \"%w\") WHEN "
			       "CAST(printf('%%!.16g', \"%w\") AS REAL) = \"%w\" THEN "
			       "printf('%%!.16g', \"%w\") ELSE printf('%%!.17g', \"%w\") END",
			       qtable, col, was, want == SQB_AFF_TEXT, was, was, was, was, was, was,
			       was, was),
		    "copying the values of a column whose type changed", err);
	return rc;
}

/* The capture triggers: one statement per field column, so any number of
 * fields works (no compound-select limit) and only changed columns are logged. */
static int sqb_triggers(sqb *s, const crmsync_unit_schema *sc, const char *qtable, const char *lit,
			crmsync_error *err)
{
	const char *u = sc->unit;
	int rc = sqb_exec_free(s,
			       sqb_printf(s,
					  "DROP TRIGGER IF EXISTS \"%w_crmsync_ins\";"
					  "DROP TRIGGER IF EXISTS \"%w_crmsync_upd\";"
					  "DROP TRIGGER IF EXISTS \"%w_crmsync_del\";",
					  u, u, u),
			       "dropping the capture triggers", err);
	if (rc || (sc->direction & CRMSYNC_PUSH) == 0)
		return rc;
	static const char when[] =
	    "WHEN coalesce((SELECT sync FROM _crmsync_ctl WHERE k = 1), 0) = 0";
	static const char now[] = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)";
	rc = sqb_exec_free(
	    s,
	    sqb_printf(s,
		       "CREATE TRIGGER \"%w_crmsync_ins\" AFTER INSERT ON %s %s "
		       "BEGIN INSERT INTO _crmsync_log(unit, row, op, col, old, at_ms) "
		       "VALUES(%s, NEW.local_id, 1, NULL, NULL, %s); END",
		       u, qtable, when, lit, now),
	    "creating the insert capture trigger", err);
	if (!rc)
		rc = sqb_exec_free(
		    s,
		    sqb_printf(
			s,
			"CREATE TRIGGER \"%w_crmsync_del\" AFTER DELETE ON %s %s BEGIN "
			/* a row never pushed leaves no trace: nothing to tell the CRM */
			"DELETE FROM _crmsync_log WHERE OLD.id IS NULL AND unit = %s AND "
			"row = OLD.local_id; "
			"DELETE FROM _crmsync_push WHERE OLD.id IS NULL AND unit = %s AND "
			"row = OLD.local_id; "
			"INSERT INTO _crmsync_log(unit, row, op, col, old, at_ms) SELECT %s, "
			"OLD.local_id, 3, 'id', OLD.id, %s WHERE OLD.id IS NOT NULL; END",
			u, qtable, when, lit, lit, lit, now),
		    "creating the delete capture trigger", err);
	if (rc)
		return rc;
	size_t cap = 256, len = 0;
	char *body = s->host->alloc(cap);
	if (!body)
		return sqb_errf(s, err, CRMSYNC_ENOMEM, "unit %s: out of memory", u);
	body[0] = 0;
	for (size_t i = 0; i < sc->nfields; i++) {
		if (bk_skip_field(sc->fields[i].name))
			continue;
		char col[512];
		snprintf(col, sizeof col, "%s", sc->fields[i].name);
		bk_lower(col);
		char *one = sqlite3_mprintf(
		    "INSERT INTO _crmsync_log(unit, row, op, col, old, at_ms) SELECT %s, "
		    "NEW.local_id, 2, %Q, OLD.\"%w\", %s WHERE OLD.\"%w\" IS NOT NEW.\"%w\"; ",
		    lit, col, col, now, col, col);
		if (!one)
			goto nomem;
		size_t l = strlen(one);
		if (len + l + 1 > cap) {
			while (len + l + 1 > cap)
				cap *= 2;
			char *nb = s->host->realloc(body, cap);
			if (!nb) {
				sqlite3_free(one);
				goto nomem;
			}
			body = nb;
		}
		memcpy(body + len, one, l + 1);
		len += l;
		sqlite3_free(one);
	}
	/* Setting sync_mark on a local-only row asks for its push: an entry
	 * matching no field, which makes the row due again (e.g. after a
	 * deferred acknowledgement) without changing what is sent. */
	rc = sqb_exec_free(s,
			   sqb_printf(s,
				      "CREATE TRIGGER \"%w_crmsync_upd\" AFTER UPDATE ON %s %s "
				      "BEGIN %s"
				      "INSERT INTO _crmsync_log(unit, row, op, col, old, at_ms) "
				      "SELECT %s, NEW.local_id, 2, 'sync_mark', OLD.sync_mark, %s "
				      "WHERE NEW.id IS NULL AND coalesce(OLD.sync_mark, 0) = 0 AND "
				      "coalesce(NEW.sync_mark, 0) != 0; END",
				      u, qtable, when, body, lit, now),
			   "creating the update capture trigger", err);
	s->host->free(body);
	return rc;
nomem:
	s->host->free(body);
	return sqb_errf(s, err, CRMSYNC_ENOMEM, "unit %s: out of memory", u);
}

static int sqb_catalogue_save(sqb *s, const crmsync_unit_schema *sc, const char *fp,
			      crmsync_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc = sqb_prepare(s,
			     "INSERT INTO _crmsync_units(unit, sobject, direction, fingerprint) "
			     "VALUES(?1, ?2, ?3, ?4) ON CONFLICT(unit) DO UPDATE SET sobject = "
			     "excluded.sobject, direction = excluded.direction, fingerprint = "
			     "excluded.fingerprint",
			     &st, "writing the catalogue", err);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, sc->unit, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, sc->sobject ? sc->sobject : sc->unit, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, sc->direction);
	sqlite3_bind_text(st, 4, fp, -1, SQLITE_STATIC);
	int r = sqlite3_step(st);
	sqb_finalize(s, st);
	if (r != SQLITE_DONE)
		return sqb_fail(s, err, r, "unit %s: writing the catalogue", sc->unit);
	rc = sqb_prepare(s, "UPDATE _crmsync_fields SET active = 0 WHERE unit = ?1", &st,
			 "writing the catalogue", err);
	if (rc)
		return rc;
	sqlite3_bind_text(st, 1, sc->unit, -1, SQLITE_STATIC);
	r = sqlite3_step(st);
	sqb_finalize(s, st);
	if (r != SQLITE_DONE)
		return sqb_fail(s, err, r, "unit %s: writing the catalogue", sc->unit);
	rc = sqb_prepare(
	    s,
	    "INSERT INTO _crmsync_fields(unit, col, name, type, crm_type, reference_to,"
	    " active, pos) VALUES(?1, ?2, ?3, ?4, ?5, ?6, 1, ?7) ON CONFLICT(unit, col) "
	    "DO UPDATE SET name = excluded.name, type = excluded.type, crm_type = "
	    "excluded.crm_type, reference_to = excluded.reference_to, active = 1, "
	    "pos = excluded.pos",
	    &st, "writing the catalogue", err);
	if (rc)
		return rc;
	for (size_t i = 0; i < sc->nfields && !rc; i++) {
		const crmsync_field_desc *f = &sc->fields[i];
		if (bk_skip_field(f->name))
			continue;
		char col[512];
		snprintf(col, sizeof col, "%s", f->name);
		bk_lower(col);
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, sc->unit, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, col, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, f->name, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 4, f->type);
		if (f->crm_type)
			sqlite3_bind_text(st, 5, f->crm_type, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 5);
		if (f->reference_to)
			sqlite3_bind_text(st, 6, f->reference_to, -1, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 6);
		sqlite3_bind_int64(st, 7, (int64_t)i);
		r = sqlite3_step(st);
		if (r != SQLITE_DONE)
			rc = sqb_fail(s, err, r, "unit %s: writing the catalogue for field %s",
				      sc->unit, f->name);
	}
	sqb_finalize(s, st);
	return rc;
}

/* Owner details next to each row (issue 7): a view <unit>_owner for every
 * unit table with an ownerid column, once the user unit's table exists:
 * every column of the unit plus owner_name, owner_email, owner_title and
 * owner_phone from a LEFT JOIN on "user".id = ownerid (NULL when a queue owns
 * the record). Remade whenever a unit is laid out, since either side may come
 * first and either may gain or lose columns. */
static int sqb_owner_views(sqb *s, crmsync_error *err)
{
	static const char *const ucols[] = {"name", "email", "title", "phone"};
	sqlite3_stmt *st = NULL;
	int rc = sqb_prepare(s,
			     "SELECT 1 FROM _crmsync_units u JOIN sqlite_master m ON m.name = "
			     "u.unit AND m.type = 'table' WHERE u.unit = 'user'",
			     &st, "looking for the user table", err);
	if (rc)
		return rc;
	int have_user = sqlite3_step(st) == SQLITE_ROW;
	sqb_finalize(s, st);
	if (!have_user)
		return 0;
	char sel[512] = "";
	for (size_t i = 0; i < sizeof ucols / sizeof *ucols; i++) {
		int aff, exists;
		rc = sqb_column_aff(s, "user", ucols[i], &aff, &exists, err);
		if (rc)
			return rc;
		size_t l = strlen(sel);
		snprintf(sel + l, sizeof sel - l, ", %s%s AS owner_%s", exists ? "o." : "",
			 exists ? ucols[i] : "NULL", ucols[i]);
	}
	/* Units whose table has an ownerid column, and whether a view or
	 * something else already holds the view's name. */
	rc = sqb_prepare(s,
			 "SELECT u.unit, (SELECT type FROM sqlite_master WHERE name = u.unit || "
			 "'_owner') FROM _crmsync_units u WHERE EXISTS (SELECT 1 FROM "
			 "pragma_table_info(u.unit) c WHERE c.name = 'ownerid') ORDER BY u.unit",
			 &st, "listing units with owners", err);
	if (rc)
		return rc;
	int r = SQLITE_DONE;
	while (!rc && (r = sqlite3_step(st)) == SQLITE_ROW) {
		const char *unit = (const char *)sqlite3_column_text(st, 0);
		const char *type = (const char *)sqlite3_column_text(st, 1);
		if (type && strcmp(type, "view") != 0) {
			s->host->log(s->self, CRMSYNC_LOG_WARN,
				     "unit %s: no view %s_owner: a %s of that name exists", unit,
				     unit, type);
			continue;
		}
		rc = sqb_exec_free(s,
				   sqb_printf(s,
					      "DROP VIEW IF EXISTS \"%w_owner\"; CREATE VIEW "
					      "\"%w_owner\" AS SELECT t.*%s FROM \"%w\" AS t LEFT "
					      "JOIN \"user\" AS o ON o.id = t.ownerid",
					      unit, unit, sel, unit),
				   "creating an owner view", err);
	}
	if (!rc && r != SQLITE_DONE)
		rc = sqb_fail(s, err, r, "listing units with owners");
	sqb_finalize(s, st);
	return rc;
}

int sqb_ensure_unit(void *state, const crmsync_unit_schema *sc, crmsync_error *err)
{
	sqb *s = state;
	char fp[17];
	if (!s->db)
		return sqb_errf(s, err, CRMSYNC_EINVAL, "the store is not open: call open first");
	int rc = sqb_validate(s, sc, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < sc->nfields; i++)
		if (sc->fields[i].type < CRMSYNC_STRING || sc->fields[i].type > CRMSYNC_ID)
			return sqb_errf(s, err, CRMSYNC_EINVAL,
					"unit %s: field %s has unknown type %d: fix the object "
					"plugin",
					sc->unit, sc->fields[i].name, sc->fields[i].type);
	bk_fingerprint(SQB_LAYOUT, sc, fp);
	/* Cheap when nothing changed: one lookup in memory or in the catalogue. */
	sqb_unit *u = NULL;
	for (u = s->units; u; u = u->next)
		if (strcmp(u->name, sc->unit) == 0)
			break;
	if (u && strcmp(u->fingerprint, fp) == 0)
		return 0;
	if (!u && sqb_unit_get(s, sc->unit, &u, err) == 0 && strcmp(u->fingerprint, fp) == 0)
		return 0;

	char *qtable = sqb_quote_ident(s, sc->unit);
	char *lit = sqb_quote_lit(s, sc->unit);
	if (!qtable || !lit) {
		rc = sqb_errf(s, err, CRMSYNC_ENOMEM, "unit %s: out of memory", sc->unit);
		goto out;
	}
	sqb_unit_forget(s, sc->unit); /* its statements name columns that may change */
	rc = sqb_op_begin(s, err);
	if (rc)
		goto out;
	rc = sqb_exec_free(
	    s,
	    sqb_printf(s,
		       "CREATE TABLE IF NOT EXISTS %s(local_id INTEGER PRIMARY KEY, "
		       "id TEXT UNIQUE, is_deleted INTEGER NOT NULL ON CONFLICT REPLACE DEFAULT 0, "
		       "crm_modstamp TEXT, merged_into TEXT, sync_state TEXT, "
		       "sync_mark INTEGER DEFAULT 0)",
		       qtable),
	    "creating the table", err);
	for (size_t i = 0; !rc && i < sc->nfields; i++)
		if (!bk_skip_field(sc->fields[i].name))
			rc = sqb_ensure_column(s, sc, qtable, &sc->fields[i], err);
	if (!rc)
		rc = sqb_triggers(s, sc, qtable, lit, err);
	if (!rc)
		rc = sqb_catalogue_save(s, sc, fp, err);
	if (!rc)
		rc = sqb_owner_views(s, err);
	rc = sqb_op_end(s, rc, err);
	if (rc) {
		char why[1536];
		snprintf(why, sizeof why, "%s", s->host->error_message(err));
		s->host->error_set(err, rc, "unit %s: cannot lay out its table: %s", sc->unit, why);
	} else
		s->host->log(s->self, CRMSYNC_LOG_DEBUG, "unit %s: table laid out (%zu fields)",
			     sc->unit, sc->nfields);
out:
	s->host->free(qtable);
	s->host->free(lit);
	return rc;
}
