/* engine_pull.c - schema and pull of one unit.
 *
 * Pull is keyset paging on (SystemModstamp, Id) with queryAll where the object
 * has IsDeleted, so deletes and merges arrive in the same ordered stream as
 * updates. The first copy pages on Id instead (cs_pull_turn says why) and
 * ends with the watermark of the moment it began. Each page is one backend
 * transaction together with the watermark that covers it: a crash at any point
 * resumes at the last committed page. An incremental cycle starts `overlap`
 * before the watermark so rows committed late with an older stamp are not
 * missed; rows already stored with the same stamp are skipped by the backend
 * at no write cost.
 *
 * The next page is fetched while this one is stored: its keyset query only
 * needs this page's last (SystemModstamp, Id), so it goes out on a thread of
 * its own (struct fq) before this page's transaction starts, and the CRM's
 * time and ours overlap. */
#include "config.h"
#include "engine_int.h"

#include <inttypes.h>
#include <pthread.h>
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool desc_has(const sf_describe *d, const char *name, const crmsync_field_desc **out)
{
	for (size_t i = 0; i < d->nfields; i++)
		if (strcasecmp(d->fields[i].name, name) == 0) {
			if (out)
				*out = &d->fields[i];
			return true;
		}
	return false;
}

/* Edit distance of two field names, ignoring case (names are short). */
static size_t name_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[81];
	if (la > 80 || lb > 80)
		return (size_t)-1;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost =
			    tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]);
			size_t best = diag + cost;
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* Field names the unit was configured with (or its plugin declares) that
 * describe does not list: a typo, or a field the sync user cannot read.
 * Either way nothing of it is synced, so say so, with the place it was set
 * and the nearest field describe has. */
static void check_names(cs_engine *e, cs_unit *u, const sf_describe *d, const char *const *names,
			const char *key, const char *what)
{
	for (const char *const *n = names; n && *n; n++) {
		if (desc_has(d, *n, NULL))
			continue;
		const char *best = NULL;
		size_t best_d = (size_t)-1;
		for (size_t i = 0; i < d->nfields; i++) {
			size_t dist = name_distance(*n, d->fields[i].name);
			if (dist < best_d) {
				best_d = dist;
				best = d->fields[i].name;
			}
		}
		size_t len = strlen(*n);
		if (best_d > 2 && best_d > len / 3)
			best = NULL;
		char ukey[160];
		const char *section = u->plugin ? u->plugin->name : u->decl->name;
		snprintf(ukey, sizeof ukey, "%s.%s", u->decl->name, key);
		const char *where =
		    cs_config_get(e->cfg, section, ukey)  ? cs_config_where(e->cfg, section, ukey)
		    : cs_config_get(e->cfg, section, key) ? cs_config_where(e->cfg, section, key)
							  : NULL;
		cs_warn(u->decl->name, "%s%s%s has no field '%s' the sync user can read: %s%s%s%s",
			where ? where : "", where ? ": " : "", d->name, *n, what,
			best ? " (did you mean '" : "", best ? best : "", best ? "'?)" : "");
	}
}

/* Is name in the comma-separated list? (case-insensitive) */
static bool list_has(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; p && *p;) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		if (len == n && strncasecmp(p, name, n) == 0)
			return true;
		p = c ? c + 1 : NULL;
	}
	return false;
}

/* A field that is stored now and was not at the last schema (a new CRM field,
 * one made visible to the sync user again, one added to `fields`) would fill
 * in only as records next change: a record that never changes would keep an
 * empty column for ever. So every record is read again, in Id order as in the
 * first copy, from a cursor of its own (state copy_cursor, "watermark id"),
 * and the unit's pull is that refill until it ends, with the watermark it had
 * (what changes meanwhile comes with the cycle after). The stored field list
 * is state "fields". */
static int refill_check(cs_engine *e, cs_unit *u, cs_error *err)
{
	sf_buf now = {0}, added = {0};
	char *old = NULL;
	int rc = 0;
	bool tx = false;
	for (size_t i = 0; i < u->nfields; i++)
		sf_buf_addf(&now, "%s%s", i ? "," : "", u->fields[i].name);
	if (now.oom)
		goto nomem;
	char small[8];
	int n = e->b->state_get(e->bs, u->decl->name, "fields", small, sizeof small, err);
	if (n < 0 && n != CRMSYNC_ENOENT) {
		rc = n;
		goto out;
	}
	cs_err_clear(err);
	if (n > 0) {
		if (!(old = malloc((size_t)n + 1)))
			goto nomem;
		if ((rc = e->b->state_get(e->bs, u->decl->name, "fields", old, (size_t)n + 1,
					  err)) < 0)
			goto out;
		rc = 0;
		if (now.s && strcmp(old, now.s) == 0)
			goto out; /* the same list: nothing to store */
		for (size_t i = 0; i < u->nfields; i++)
			if (!list_has(old, u->fields[i].name))
				sf_buf_addf(&added, "%s%s", added.len ? ", " : "",
					    u->fields[i].name);
		if (added.oom)
			goto nomem;
	}
	if ((rc = e->b->begin(e->bs, err)))
		goto out;
	tx = true;
	if (added.len) {
		int64_t ms;
		char id[19], cur[32];
		bool done = cs_pull_initial_done(e, u);
		if (done && cs_pull_watermark(e, u, &ms, id, err) == 0) {
			snprintf(cur, sizeof cur, "%lld", (long long)ms);
			if ((rc = e->b->state_set(e->bs, u->decl->name, "copy_cursor", cur, err)) ||
			    (rc = e->b->state_set(e->bs, u->decl->name, "initial_done", "", err)))
				goto out;
			u->cursor_set = false;
			cs_info(u->decl->name,
				"new fields (%s): every %s record is read again to fill them",
				added.s, u->decl->sobject);
		} else if (!done && cs_pull_copy_cursor(e, u, &ms, id, err) == 0) {
			/* the first copy is under way: it starts over (same watermark) */
			snprintf(cur, sizeof cur, "%lld", (long long)ms);
			if ((rc = e->b->state_set(e->bs, u->decl->name, "copy_cursor", cur, err)))
				goto out;
			u->cursor_set = false;
			cs_info(u->decl->name,
				"new fields (%s): the first copy of %s starts over to fill them",
				added.s, u->decl->sobject);
		}
		cs_err_clear(err);
	}
	if (!(rc = e->b->state_set(e->bs, u->decl->name, "fields", now.s ? now.s : "", err))) {
		tx = false;
		rc = e->b->commit(e->bs, err);
	}
	goto out;
nomem:
	rc = cs_err(err, CRMSYNC_ENOMEM, "out of memory");
out:
	if (tx) {
		cs_error rerr = CS_ERROR_INIT;
		e->b->rollback(e->bs, &rerr);
	}
	free(old);
	sf_buf_free(&now);
	sf_buf_free(&added);
	return rc;
}

/* A query travels in the URI, and Salesforce refuses a request whose URI and
 * headers pass 16,384 bytes (431; the emulator answers 414). An object with
 * several hundred readable fields (a managed package's long names) passes it
 * with every page: refused here, before the table is laid out, with what to
 * do. The longest query the pull sends is the keyset one after a full
 * (SystemModstamp, Id) position; 1 KiB is left for the headers. */
#define CS_QUERY_URI_MAX (16384 - 1024)

static int query_fits(cs_engine *e, cs_unit *u, cs_error *err)
{
	sf_buf soql = {0}, uri = {0};
	int rc =
	    sf_soql_keyset(&soql, u->decl->sobject, u->select, u->nselect, (int64_t)253402300799999,
			   "001000000000000AAA", u->filter, e->page_size, err);
	if (!rc && (soql.oom || sf_query_url(e->sf, &uri, soql.s) || uri.oom))
		rc = cs_err(err, CRMSYNC_ENOMEM, "out of memory");
	/* the key that names them: [lead] fields, [custom] invoice__c.fields */
	const char *section = u->plugin ? u->plugin->name : u->decl->name;
	bool own = strcmp(section, u->decl->name) == 0;
	if (!rc && uri.len > CS_QUERY_URI_MAX)
		rc = cs_err(err, CRMSYNC_EINVAL,
			    "%s: its %zu readable fields make a query of %zu bytes, more than "
			    "Salesforce takes in one request (16,384 with the headers): name the "
			    "fields to sync in [%s] %s%sfields (crmsync.conf(5)), or hide fields "
			    "from the sync user",
			    u->decl->sobject, u->nselect, uri.len, section,
			    own ? "" : u->decl->name, own ? "" : ".");
	sf_buf_free(&soql);
	sf_buf_free(&uri);
	return rc;
}

int cs_pull_schema(cs_engine *e, cs_unit *u, cs_error *err)
{
	const sf_describe *d = NULL;
	int changed = 0, rc;
	crmsync_field_desc *sel = NULL;
	size_t nsel = 0;

	rc = sf_describe_object(e->sf, u->decl->sobject, &d, &changed, err);
	if (rc)
		return rc;
	if (!d->queryable)
		return cs_err(err, CRMSYNC_EINVAL,
			      "the sync user cannot query %s: grant read access to the object, or "
			      "remove the unit from sync.units",
			      u->decl->sobject);
	if (u->desc == d && u->schema_ensured && !changed)
		return 0;
	rc = sf_fields_select(d, u->decl->fields, &sel, &nsel, err);
	if (rc)
		return rc;
	u->desc = d;
	check_names(e, u, d, u->decl->fields, "fields", "not synced");
	check_names(e, u, d, u->decl->local_wins_fields, "local_wins", "the rule does nothing");
	check_names(e, u, d, u->decl->crm_wins_fields, "crm_wins", "the rule does nothing");
	u->has_isdeleted = desc_has(d, "IsDeleted", NULL);
	u->has_master = desc_has(d, "MasterRecordId", NULL);
	u->has_converted = desc_has(d, "IsConverted", NULL);
	const crmsync_field_desc *key = NULL;
	u->has_ext_key = desc_has(d, "crmsync_Key__c", &key) &&
			 (key->flags & CRMSYNC_FIELD_EXTERNAL_ID) &&
			 (key->flags & CRMSYNC_FIELD_CREATEABLE);

	/* stored fields: what was selected, less what the backend keeps itself */
	free(u->fields);
	u->fields = calloc(nsel + 1, sizeof *u->fields);
	free(u->select);
	u->select = calloc(nsel + 4, sizeof *u->select);
	free(u->qfields);
	u->qfields = calloc(nsel + 4, sizeof *u->qfields);
	if (!u->fields || !u->select || !u->qfields) {
		free(sel);
		return cs_err(err, CRMSYNC_ENOMEM, "out of memory");
	}
	u->nfields = u->nselect = 0;
	for (size_t i = 0; i < nsel; i++) {
		if (strcasecmp(sel[i].name, "IsDeleted") == 0 ||
		    strcasecmp(sel[i].name, "SystemModstamp") == 0)
			continue;
		u->fields[u->nfields++] = sel[i];
	}
	/* select: Id and SystemModstamp first, then the stored fields, then IsDeleted */
	const crmsync_field_desc *f;
	const char *first[] = {"Id", "SystemModstamp"};
	for (int k = 0; k < 2; k++)
		if (desc_has(d, first[k], &f)) {
			u->select[u->nselect] = f->name;
			u->qfields[u->nselect++] = *f;
		}
	for (size_t i = 0; i < u->nfields; i++) {
		if (strcasecmp(u->fields[i].name, "Id") == 0)
			continue;
		u->select[u->nselect] = u->fields[i].name;
		u->qfields[u->nselect++] = u->fields[i];
	}
	if (u->has_isdeleted && desc_has(d, "IsDeleted", &f)) {
		u->select[u->nselect] = f->name;
		u->qfields[u->nselect++] = *f;
	}
	u->select[u->nselect] = NULL;
	free(sel);
	free(u->filter);
	u->filter = u->decl->filter ? strdup(u->decl->filter) : NULL;
	if ((rc = query_fits(e, u, err)))
		return rc;

	crmsync_unit_schema schema = {
	    .size = sizeof schema,
	    .unit = u->decl->name,
	    .sobject = u->decl->sobject,
	    .direction = u->decl->direction,
	    .nfields = u->nfields,
	    .fields = u->fields,
	};
	rc = e->b->ensure_unit(e->bs, &schema, err);
	if (rc)
		return cs_err_prefix(err, "cannot lay out the table of unit %s", u->decl->name);
	u->schema_ensured = true;
	if ((rc = refill_check(e, u, err)))
		return rc;
	/* what the idle check needs to know without a describe: whether to ask
	 * queryAll, and since when the describe the table follows is current */
	if ((rc = e->b->state_set(e->bs, u->decl->name, "has_isdeleted",
				  u->has_isdeleted ? "1" : "0", err)))
		return rc;
	const char *lm = sf_describe_last_modified(e->sf, u->decl->sobject);
	if (lm && (rc = e->b->state_set(e->bs, u->decl->name, "describe_lm", lm, err)))
		return rc;
	if (changed)
		cs_info(u->decl->name, "schema: %zu fields synced", u->nfields);
	return 0;
}

int cs_pull_has_isdeleted(cs_engine *e, cs_unit *u)
{
	char buf[8];
	cs_error err = CS_ERROR_INIT;
	if (u->desc)
		return u->has_isdeleted;
	if (e->b->state_get(e->bs, u->decl->name, "has_isdeleted", buf, sizeof buf, &err) <= 0)
		return -1;
	return buf[0] == '1';
}

/* A pull position stored as "ms [id]" under key: CRMSYNC_ENOENT when unset. */
static int position_get(cs_engine *e, cs_unit *u, const char *key, int64_t *ms, char id[19],
			cs_error *err)
{
	char buf[80];
	int n = e->b->state_get(e->bs, u->decl->name, key, buf, sizeof buf, err);
	if (n < 0)
		return n;
	long long v;
	char idbuf[32] = "";
	if (sscanf(buf, "%lld %31s", &v, idbuf) < 1)
		return CRMSYNC_ENOENT;
	*ms = v;
	snprintf(id, 19, "%s", idbuf);
	return 0;
}

int cs_pull_watermark(cs_engine *e, cs_unit *u, int64_t *ms, char id[19], cs_error *err)
{
	return position_get(e, u, "watermark", ms, id, err);
}

/* Where an Id-order first copy stands: "copy_from_ms last_id". */
int cs_pull_copy_cursor(cs_engine *e, cs_unit *u, int64_t *from, char id[19], cs_error *err)
{
	return position_get(e, u, "copy_cursor", from, id, err);
}

static int newest_cb(void *ud, const sf_page *page, cs_error *err)
{
	(void)err;
	crmsync_value v;
	if (page->count && !cs_record_get(page->records[0], "SystemModstamp", &v) &&
	    v.type == CRMSYNC_DATETIME)
		*(int64_t *)ud = v.u.i;
	return 0;
}

/* The newest SystemModstamp among the unit's records (deleted ones included),
 * 0 when there is none: a first copy in Id order ends with this watermark, so
 * what changes while it runs is pulled again by the first incremental cycle. */
static int newest_stamp(cs_engine *e, cs_unit *u, int64_t *ms, cs_error *err)
{
	static const crmsync_field_desc f[] = {
	    {.name = "SystemModstamp", .type = CRMSYNC_DATETIME, .crm_type = "datetime"}};
	sf_query_opts opts = {.all = u->has_isdeleted, .fields = f, .nfields = 1};
	sf_buf q = {0};
	sf_buf_addf(&q, "SELECT SystemModstamp FROM %s", u->decl->sobject);
	if (u->filter)
		sf_buf_addf(&q, " WHERE (%s)", u->filter);
	sf_buf_addf(&q, " ORDER BY SystemModstamp DESC LIMIT 1");
	*ms = 0;
	int rc = q.oom ? cs_err(err, CRMSYNC_ENOMEM, "out of memory")
		       : sf_query(e->sf, q.s, &opts, newest_cb, ms, err);
	sf_buf_free(&q);
	return rc;
}

bool cs_pull_initial_done(cs_engine *e, cs_unit *u)
{
	char buf[8];
	cs_error err = CS_ERROR_INIT;
	return e->b->state_get(e->bs, u->decl->name, "initial_done", buf, sizeof buf, &err) > 0;
}

/* ---- one page ------------------------------------------------------------- */

struct pending {
	char id[19];
	int op;
	cs_record *values, *before;
};

struct page_ctx {
	cs_engine *e;
	cs_unit *u;
	struct pending *pend;
	size_t npend, cappend;
	int64_t records; /* records seen by this query */
	cs_error *err;
	/* the store transaction pages are written in (see pull_commit) */
	bool in_tx;
	int64_t tx_records, tx_t0;
	/* outcomes of the pages in that transaction: they count once it commits
	 * (a rolled-back page is pulled again and counted then) */
	cs_counts tx;
};

/* Pages are written in one store transaction, with the watermark that covers
 * them, until it holds PULL_TX_RECORDS records or is PULL_TX_MS old (or the
 * turn ends): a crash loses at most those pages, which the next run pulls
 * again from the committed watermark. One transaction per page made SQLite
 * write every index page a page of ids touched once per page: records arrive
 * in SystemModstamp order, so their ids land all over the id index, and an
 * initial copy of 1M leads wrote gigabytes of WAL (a third of crmsync's CPU,
 * mostly in the kernel). */
#define PULL_TX_RECORDS 20000
#define PULL_TX_MS 2000

static int pull_commit(struct page_ctx *pc, cs_error *err)
{
	if (!pc->in_tx)
		return 0;
	pc->in_tx = false;
	int rc = pc->e->b->commit(pc->e->bs, err);
	if (rc == 0) {
		cs_counts *c = &pc->u->pull;
		c->n_new += pc->tx.n_new;
		c->n_updated += pc->tx.n_updated;
		c->n_deleted += pc->tx.n_deleted;
		c->n_failed += pc->tx.n_failed;
		c->n_skipped += pc->tx.n_skipped;
	}
	memset(&pc->tx, 0, sizeof pc->tx);
	return rc;
}

/* A failed page: the transaction goes, with the pages before it that it
 * held; the next turn starts again from the committed watermark. */
static void pull_rollback(struct page_ctx *pc)
{
	if (!pc->in_tx)
		return;
	cs_error rerr = CS_ERROR_INIT;
	pc->e->b->rollback(pc->e->bs, &rerr);
	memset(&pc->tx, 0, sizeof pc->tx);
	pc->in_tx = false;
	pc->u->cursor_set = false;
}

static int pending_cb(void *ud, const crmsync_change *c)
{
	struct page_ctx *pc = ud;
	if (!c->id)
		return 0;
	if (pc->npend == pc->cappend) {
		size_t nc = pc->cappend ? pc->cappend * 2 : 16;
		struct pending *np = realloc(pc->pend, nc * sizeof *np);
		if (!np)
			return CRMSYNC_ENOMEM;
		pc->pend = np;
		pc->cappend = nc;
	}
	struct pending *p = &pc->pend[pc->npend];
	memset(p, 0, sizeof *p);
	snprintf(p->id, sizeof p->id, "%s", c->id);
	p->op = c->op;
	p->values = cs_record_new();
	p->before = cs_record_new();
	if (!p->values || !p->before) {
		cs_record_free(p->values);
		cs_record_free(p->before);
		return CRMSYNC_ENOMEM;
	}
	if (c->values)
		cs_record_copy_into(p->values, c->values);
	if (c->before)
		cs_record_copy_into(p->before, c->before);
	pc->npend++;
	return 0;
}

static void pending_free(struct page_ctx *pc)
{
	for (size_t i = 0; i < pc->npend; i++) {
		cs_record_free(pc->pend[i].values);
		cs_record_free(pc->pend[i].before);
	}
	pc->npend = 0;
}

static struct pending *pending_find(struct page_ctx *pc, const char *id)
{
	for (size_t i = 0; i < pc->npend; i++)
		if (strcmp(pc->pend[i].id, id) == 0)
			return &pc->pend[i];
	return NULL;
}

static int field_policy(const cs_unit *u, const char *field)
{
	for (const char *const *f = u->decl->local_wins_fields; f && *f; f++)
		if (strcasecmp(*f, field) == 0)
			return CRMSYNC_LOCAL_WINS;
	for (const char *const *f = u->decl->crm_wins_fields; f && *f; f++)
		if (strcasecmp(*f, field) == 0)
			return CRMSYNC_CRM_WINS;
	return u->decl->conflict == CRMSYNC_LOCAL_WINS ? CRMSYNC_LOCAL_WINS : CRMSYNC_CRM_WINS;
}

/* A pulled record meets a row with pending local edits: fields the CRM did not
 * change keep their local value; fields changed on both sides follow the policy
 * and the losing value is recorded. Returns 1 when the record must not be
 * stored at all (a local delete that will be pushed). */
static int settle_conflicts(struct page_ctx *pc, cs_record *rec, const char *id)
{
	cs_engine *e = pc->e;
	cs_unit *u = pc->u;
	struct pending *p = pending_find(pc, id);
	cs_error cerr = CS_ERROR_INIT;

	if (!p)
		return 0;
	if (p->op == CRMSYNC_CHANGE_DELETE)
		return e->push_deletes ? 1 : 0;
	for (size_t i = cs_record_count(p->values); i-- > 0;) {
		const char *field;
		crmsync_value local, crm, base;
		cs_record_at(p->values, i, &field, &local);
		if (cs_record_get(rec, field, &crm))
			continue; /* the CRM did not send it */
		if (cs_value_equal(&crm, &local))
			continue; /* both sides agree */
		bool have_base = cs_record_get(p->before, field, &base) == 0;
		if (have_base && cs_value_equal(&crm, &base)) {
			cs_record_unset(rec, field); /* only the local side changed it */
			continue;
		}
		int policy = field_policy(u, field);
		char lbuf[512], cbuf[512];
		crmsync_conflict_row row = {
		    .size = sizeof row,
		    .at_ms = cs_now_ms(),
		    .unit = u->decl->name,
		    .id = id,
		    .field = field,
		    .local_value = local.type == CRMSYNC_NULL
				       ? NULL
				       : cs_value_text(&local, lbuf, sizeof lbuf),
		    .crm_value =
			crm.type == CRMSYNC_NULL ? NULL : cs_value_text(&crm, cbuf, sizeof cbuf),
		    .winner = policy == CRMSYNC_LOCAL_WINS ? "local" : "crm",
		};
		if (e->b->conflict_add(e->bs, &row, &cerr))
			cs_warn(u->decl->name, "cannot record a conflict: %s", cerr.msg);
		cs_info(u->decl->name, "conflict on %s.%s: %s wins", id, field, row.winner);
		if (policy == CRMSYNC_LOCAL_WINS)
			cs_record_unset(rec, field);
	}
	return 0;
}

static void progress(cs_engine *e, cs_unit *u, bool final)
{
	int64_t now = cs_now_ms();
	if (!final && now - u->progress_at < (e->tty ? 200 : 10000))
		return;
	int64_t elapsed = now - u->pull.started_ms;
	double rate = elapsed > 0 ? (double)u->pulled * 1000.0 / (double)elapsed : 0;
	char eta[32] = "";
	if (u->total_expected > 0 && rate > 0 && u->pulled < u->total_expected) {
		int64_t s = (int64_t)((double)(u->total_expected - u->pulled) / rate);
		snprintf(eta, sizeof eta, " ETA %lld:%02lld:%02lld", (long long)(s / 3600),
			 (long long)(s / 60 % 60), (long long)(s % 60));
	}
	u->progress_at = now;
	if (e->tty) {
		char bar[31];
		int fill = u->total_expected > 0
			       ? (int)(30 * (double)u->pulled / (double)u->total_expected)
			       : 0;
		if (fill > 30)
			fill = 30;
		memset(bar, '#', (size_t)fill);
		memset(bar + fill, '.', (size_t)(30 - fill));
		bar[30] = '\0';
		fprintf(stderr, "\r%-16s [%s] %" PRId64 "/%" PRId64 " %.0f rec/s%s\033[K%s",
			u->decl->name, bar, u->pulled,
			u->total_expected > 0 ? u->total_expected : u->pulled, rate, eta,
			final ? "\n" : "");
	} else {
		cs_info(u->decl->name, "%s: %" PRId64 " of %" PRId64 " records, %.0f/s%s",
			u->refill ? "refill" : "initial copy", u->pulled, u->total_expected, rate,
			eta);
	}
}

static int apply_page(void *ud, const sf_page *page, cs_error *err)
{
	struct page_ctx *pc = ud;
	cs_engine *e = pc->e;
	cs_unit *u = pc->u;
	const crmsync_unit_hooks *hooks = u->decl->hooks;
	size_t n = page->count;
	cs_record **live = calloc(n ? n : 1, sizeof *live);
	const char **dead = calloc(n ? n : 1, sizeof *dead);
	const char **winner = calloc(n ? n : 1, sizeof *winner);
	uint8_t *out = calloc(n ? n : 1, 1);
	size_t nlive = 0, ndead = 0;
	int rc = 0;
	bool in_tx = false;
	cs_record *local = NULL;

	if (!live || !dead || !winner || !out) {
		rc = cs_err(err, CRMSYNC_ENOMEM, "out of memory");
		goto out;
	}
	if (n == 0)
		goto out;
	/* local edits waiting for these rows: settle them against what arrives */
	pending_free(pc);
	if ((u->decl->direction & CRMSYNC_PUSH) && u->push_pending) {
		const char **ids = calloc(n, sizeof *ids);
		size_t nids = 0;
		if (!ids) {
			rc = cs_err(err, CRMSYNC_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			if ((ids[nids] = cs_record_str(page->records[i], "Id")))
				nids++;
		crmsync_change_query q = {.size = sizeof q, .ids = ids, .nids = nids};
		rc = e->b->changes_read(e->bs, u->decl->name, &q, pending_cb, pc, err);
		free(ids);
		if (rc)
			goto out;
	}
	for (size_t i = 0; i < n; i++) {
		cs_record *r = page->records[i];
		const char *id = cs_record_str(r, "Id");
		crmsync_value v;
		if (!id) {
			rc = cs_err(err, CRMSYNC_EINVAL, "a %s record without an Id arrived",
				    u->decl->sobject);
			goto out;
		}
		if (cs_record_get(r, "IsDeleted", &v) == 0 && v.type == CRMSYNC_BOOLEAN && v.u.b) {
			/* seen again within the overlap window: already a tombstone (or
			 * never known here): nothing to do, no hook fires twice */
			crmsync_value ldel;
			cs_error rerr = CS_ERROR_INIT;
			if (!local && !(local = cs_record_new())) {
				rc = cs_err(err, CRMSYNC_ENOMEM, "out of memory");
				goto out;
			}
			int found = e->b->row_read(e->bs, u->decl->name, id, 0, local, &rerr);
			if (found == CRMSYNC_ENOENT ||
			    (found == 0 && cs_record_get(local, "is_deleted", &ldel) == 0 &&
			     ldel.u.b)) {
				pc->tx.n_skipped++;
				continue;
			}
			dead[ndead] = id;
			winner[ndead] = u->has_master ? cs_record_str(r, "MasterRecordId") : NULL;
			ndead++;
			continue;
		}
		cs_record_unset(r, "IsDeleted");
		if (hooks && hooks->size > offsetof(crmsync_unit_hooks, map_in) && hooks->map_in) {
			cs_error herr = CS_ERROR_INIT;
			if (hooks->map_in(u->plugin->state, u->decl, r, &herr)) {
				cs_engine_record_error(e, u, "pull", id, 0, "MAP_IN", herr.msg);
				pc->tx.n_failed++;
				continue;
			}
		}
		if (pc->npend && settle_conflicts(pc, r, id))
			continue;
		/* a conversion seen for the first time goes to the plugin */
		if (u->has_converted && hooks && hooks->on_convert &&
		    cs_record_get(r, "IsConverted", &v) == 0 && v.type == CRMSYNC_BOOLEAN &&
		    v.u.b) {
			crmsync_value lv;
			if (!local && !(local = cs_record_new())) {
				rc = cs_err(err, CRMSYNC_ENOMEM, "out of memory");
				goto out;
			}
			cs_error herr = CS_ERROR_INIT;
			int found = e->b->row_read(e->bs, u->decl->name, id, 0, local, &herr);
			if (found == CRMSYNC_ENOENT ||
			    (found == 0 && (cs_record_get(local, "IsConverted", &lv) || !lv.u.b))) {
				if (hooks->on_convert(u->plugin->state, u->decl, r, &herr))
					cs_engine_record_error(e, u, "pull", id, 0, "ON_CONVERT",
							       herr.msg);
			}
		}
		live[nlive++] = r;
	}
	if (!pc->in_tx) {
		if ((rc = e->b->begin(e->bs, err)))
			goto out;
		pc->in_tx = true;
		pc->tx_records = 0;
		pc->tx_t0 = cs_now_ms();
	}
	in_tx = true;
	if (nlive) {
		if ((rc = e->b->upsert(e->bs, u->decl->name, live, nlive, out, err)))
			goto out;
		for (size_t i = 0; i < nlive; i++) {
			switch (out[i]) {
			case CRMSYNC_OUT_NEW:
				pc->tx.n_new++;
				break;
			case CRMSYNC_OUT_UPDATED:
				pc->tx.n_updated++;
				break;
			case CRMSYNC_OUT_SKIPPED:
				pc->tx.n_skipped++;
				break;
			default:
				pc->tx.n_failed++;
				cs_engine_record_error(e, u, "pull", cs_record_str(live[i], "Id"),
						       0, "STORE", "the store refused this record");
			}
		}
	}
	if (ndead) {
		for (size_t i = 0; i < ndead; i++)
			if (winner[i]) {
				if ((rc = e->b->merge(e->bs, u->decl->name, dead[i], winner[i],
						      err)))
					goto out;
				if (hooks && hooks->on_merge) {
					cs_error herr = CS_ERROR_INIT;
					if (hooks->on_merge(u->plugin->state, u->decl, dead[i],
							    winner[i], &herr))
						cs_engine_record_error(e, u, "pull", dead[i], 0,
								       "ON_MERGE", herr.msg);
				}
			}
		rc = e->b->mark_deleted(e->bs, u->decl->name, dead, winner, ndead,
					u->decl->delete_policy == CRMSYNC_DELETE_REMOVE, out, err);
		if (rc)
			goto out;
		for (size_t i = 0; i < ndead; i++) {
			if (out[i] == CRMSYNC_OUT_DELETED)
				pc->tx.n_deleted++;
			else
				pc->tx.n_skipped++;
			if (out[i] == CRMSYNC_OUT_DELETED && hooks && hooks->on_delete) {
				cs_error herr = CS_ERROR_INIT;
				if (hooks->on_delete(u->plugin->state, u->decl, dead[i], &herr))
					cs_engine_record_error(e, u, "pull", dead[i], 0,
							       "ON_DELETE", herr.msg);
			}
		}
	}
	/* the watermark that covers this page, in the same transaction */
	const cs_record *last = page->records[n - 1];
	crmsync_value stamp;
	const char *last_id = cs_record_str(last, "Id");
	if (cs_record_get(last, "SystemModstamp", &stamp) || stamp.type != CRMSYNC_DATETIME) {
		rc = cs_err(err, CRMSYNC_EINVAL, "%s record %s arrived without a SystemModstamp",
			    u->decl->sobject, last_id);
		goto out;
	}
	char wm[64];
	snprintf(wm, sizeof wm, "%lld %s", (long long)(u->by_id ? u->copy_from_ms : stamp.u.i),
		 last_id);
	if ((rc = e->b->state_set(e->bs, u->decl->name, u->by_id ? "copy_cursor" : "watermark", wm,
				  err)))
		goto out;
	in_tx = false;
	pc->tx_records += (int64_t)n;
	if ((pc->tx_records >= PULL_TX_RECORDS || cs_now_ms() - pc->tx_t0 >= PULL_TX_MS) &&
	    (rc = pull_commit(pc, err))) {
		pc->u->cursor_set = false;
		goto out;
	}
	if (!u->by_id)
		u->cur_ms = stamp.u.i;
	snprintf(u->cur_id, sizeof u->cur_id, "%s", last_id);
	pc->records += (int64_t)n;
	u->pulled += (int64_t)n;
	if (u->total_expected >= 0)
		progress(e, u, false);
out:
	if (in_tx)
		pull_rollback(pc);
	cs_record_free(local);
	free(live);
	free(dead);
	free(winner);
	free(out);
	if (rc == 0 && cs_stop_requested)
		return cs_err(err, CRMSYNC_EBUSY, "stop requested");
	return rc;
}

/* ---- a query on a thread of its own ----------------------------------------- */

/* One query run by a thread, its pages handed to the engine one at a time. The
 * client is used by one thread at a time: while the query runs, the engine
 * stores pages of the client's other slot of records and calls nothing of the
 * client until fq_join. A page that is not the query's last is held until the
 * engine is done with it (fq_release): the query's next page decodes over it. */
struct fq {
	cs_engine *e;
	pthread_t th;
	bool running;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char *soql;
	sf_query_opts opts;
	sf_page page;
	bool have, released, finished, abandon;
	int rc;
	cs_error err;
};

static int fq_page(void *ud, const sf_page *page, cs_error *err)
{
	struct fq *q = ud;
	int rc = 0;
	pthread_mutex_lock(&q->mu);
	q->page = *page;
	q->have = true;
	q->released = false;
	pthread_cond_broadcast(&q->cv);
	while (!page->done && !q->released && !q->abandon)
		pthread_cond_wait(&q->cv, &q->mu);
	if (q->abandon && !page->done)
		rc = cs_err(err, CRMSYNC_EBUSY, "the query was abandoned");
	pthread_mutex_unlock(&q->mu);
	return rc;
}

static void *fq_main(void *ud)
{
	struct fq *q = ud;
	int rc = sf_query(q->e->sf, q->soql, &q->opts, fq_page, q, &q->err);
	pthread_mutex_lock(&q->mu);
	q->rc = rc;
	q->finished = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

static int fq_start(struct fq *q, cs_engine *e, const char *soql, const sf_query_opts *opts,
		    cs_error *err)
{
	q->e = e;
	q->opts = *opts;
	q->have = q->released = q->finished = q->abandon = false;
	q->rc = 0;
	cs_err_clear(&q->err);
	if (!(q->soql = strdup(soql)))
		return cs_err(err, CRMSYNC_ENOMEM, "out of memory");
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	/* signals stay with the main thread, whose loop watches for them */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int r = pthread_create(&q->th, NULL, fq_main, q);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		pthread_mutex_destroy(&q->mu);
		pthread_cond_destroy(&q->cv);
		free(q->soql);
		q->soql = NULL;
		return cs_err(err, CRMSYNC_ENOMEM, "cannot start a thread for the next page: %s",
			      strerror(r));
	}
	q->running = true;
	return 0;
}

/* The query's next page: true, or false once it ended (fq_join says how). */
static bool fq_next(struct fq *q, sf_page *page)
{
	bool got = false;
	pthread_mutex_lock(&q->mu);
	while (!q->have && !q->finished)
		pthread_cond_wait(&q->cv, &q->mu);
	if (q->have) {
		*page = q->page;
		q->have = false;
		got = true;
	}
	pthread_mutex_unlock(&q->mu);
	return got;
}

static void fq_release(struct fq *q)
{
	pthread_mutex_lock(&q->mu);
	q->released = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

/* Wait for the query to end (abandoning pages not taken yet): its result. */
static int fq_join(struct fq *q, cs_error *err)
{
	if (!q->running)
		return 0;
	pthread_mutex_lock(&q->mu);
	q->abandon = true;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
	pthread_join(q->th, NULL);
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	q->running = false;
	free(q->soql);
	q->soql = NULL;
	if (q->rc && err)
		*err = q->err;
	return q->rc;
}

/* The keyset query of the page after (ms, id), started on slot. */
static int pull_query_start(cs_engine *e, cs_unit *u, struct fq *q, int slot, int64_t ms,
			    const char *id, cs_error *err)
{
	sf_buf soql = {0};
	int rc = u->by_id ? sf_soql_by_id(&soql, u->decl->sobject, u->select, u->nselect, id,
					  u->filter, e->page_size, err)
			  : sf_soql_keyset(&soql, u->decl->sobject, u->select, u->nselect,
					   ms > 0 ? ms : 0, id && id[0] ? id : NULL, u->filter,
					   e->page_size, err);
	sf_query_opts opts = {
	    .all = u->has_isdeleted,
	    .batch_size = e->page_size,
	    .fields = u->qfields,
	    .nfields = u->nselect,
	    .slot = slot,
	};
	if (!rc)
		rc = fq_start(q, e, soql.s, &opts, err);
	sf_buf_free(&soql);
	return rc;
}

/* The (SystemModstamp, Id) that ends a page, for the next keyset query. */
static bool page_end(const sf_page *page, int64_t *ms, char id[19])
{
	if (!page->count)
		return false;
	const cs_record *last = page->records[page->count - 1];
	crmsync_value stamp;
	const char *last_id = cs_record_str(last, "Id");
	if (!last_id || strlen(last_id) > 18 || cs_record_get(last, "SystemModstamp", &stamp) ||
	    stamp.type != CRMSYNC_DATETIME)
		return false;
	*ms = stamp.u.i;
	snprintf(id, 19, "%s", last_id);
	return true;
}

int cs_pull_turn(cs_engine *e, cs_unit *u, cs_error *err)
{
	struct page_ctx pc = {.e = e, .u = u, .err = err};
	struct fq q[2];
	int rc = 0, pages = 0, locator_retries = 0, cur = 0;
	bool initial = !cs_pull_initial_done(e, u);

	memset(q, 0, sizeof q);
	if (!u->cursor_set) {
		int64_t ms = 0;
		char id[19] = "";
		u->by_id = u->refill = false;
		int wrc = cs_pull_watermark(e, u, &ms, id, err);
		if (wrc && wrc != CRMSYNC_ENOENT)
			return wrc;
		cs_err_clear(err);
		bool have_wm = wrc == 0;
		int crc = initial ? cs_pull_copy_cursor(e, u, &u->copy_from_ms, u->cur_id, err)
				  : CRMSYNC_ENOENT;
		if (crc && crc != CRMSYNC_ENOENT)
			return crc;
		cs_err_clear(err);
		if (initial && (crc == 0 || !have_wm)) {
			/* A first copy goes in Id order, not SystemModstamp order:
			 * the store then receives ascending ids, which it appends
			 * (in modstamp order they land all over the id index, which
			 * outgrows the page cache: SQLite re-read and rewrote index
			 * pages for most records). It ends with the watermark of
			 * when it began. A refill (refill_check) is the same pass,
			 * its cursor set from the watermark the unit had. */
			if (crc) {
				u->cur_id[0] = '\0';
				if ((rc = newest_stamp(e, u, &u->copy_from_ms, err)))
					return rc;
			}
			u->by_id = true;
			u->refill = have_wm;
			u->cur_ms = 0;
		} else if (!have_wm) {
			u->cur_ms = 0;
			u->cur_id[0] = '\0';
		} else if (initial) {
			/* a copy begun in SystemModstamp order (an older crmsync)
			 * resumes exactly where it stopped */
			u->cur_ms = ms;
			snprintf(u->cur_id, sizeof u->cur_id, "%s", id);
		} else { /* look back over the overlap window for late commits */
			u->cur_ms = ms - e->overlap_ms;
			u->cur_id[0] = '\0';
		}
		cs_err_clear(err);
		rc = 0;
		u->cursor_set = true;
		if (initial) {
			sf_buf cq = {0};
			sf_buf_addf(&cq, "SELECT COUNT() FROM %s", u->decl->sobject);
			if (u->filter)
				sf_buf_addf(&cq, " WHERE (%s)", u->filter);
			int64_t total = -1;
			if (!cq.oom && sf_query_count(e->sf, cq.s, &total, err) == 0)
				u->total_expected = total;
			else
				u->total_expected = 0; /* progress without an ETA */
			cs_err_clear(err);
			sf_buf_free(&cq);
			cs_info(u->decl->name, "%s of %s: %lld records to go%s",
				u->refill ? "refill" : "initial copy", u->decl->sobject,
				(long long)u->total_expected,
				u->cur_ms || u->cur_id[0] ? " (resuming)" : "");
		}
	}
	rc = pull_query_start(e, u, &q[cur], cur, u->cur_ms, u->cur_id, err);
	pc.records = 0;
	while (!rc) {
		sf_page page;
		if (!fq_next(&q[cur], &page)) {
			/* the query failed before its first or between its pages */
			rc = fq_join(&q[cur], err);
			if (rc && sf_error_kind(e->sf) == SF_E_LOCATOR && locator_retries++ < 3) {
				/* the cursor died between pages: the committed watermark is exact
				 */
				cs_warn(u->decl->name,
					"query cursor expired; restarting from the last page");
				pc.records = 0;
				rc =
				    pull_query_start(e, u, &q[cur], cur, u->cur_ms, u->cur_id, err);
				continue;
			}
			if (!rc)
				rc = cs_err(err, CRMSYNC_EINVAL,
					    "the %s query ended without a last page",
					    u->decl->sobject);
			break;
		}
		int next = -1;
		int64_t got = pc.records + (int64_t)page.count, ms;
		char id[19];
		if (page.done) {
			rc = fq_join(&q[cur], err); /* sf_query returns right after its last page */
			if (rc)
				break;
			/* more to pull in this turn: the next query goes out now */
			if (got >= e->page_size && pages + 1 < e->turn_pages &&
			    !cs_stop_requested && page_end(&page, &ms, id)) {
				next = !cur;
				rc = pull_query_start(e, u, &q[next], next, ms, id, err);
				if (rc)
					break;
			}
		}
		rc = apply_page(&pc, &page, err);
		if (rc && !page.done)
			fq_join(&q[cur], NULL); /* no next page is wanted */
		else if (!page.done)
			fq_release(&q[cur]);
		if (rc) {
			if (next >= 0)
				fq_join(&q[next], NULL); /* fetched for nothing */
			fq_join(&q[cur], NULL);
			if (rc == CRMSYNC_EBUSY && cs_stop_requested)
				rc = 1; /* the page is done; stop: more remains */
			break;
		}
		if (!page.done)
			continue;
		if (pc.records < e->page_size) {
			/* the copy's end is one transaction with its last pages */
			if (initial && !pc.in_tx && !(rc = e->b->begin(e->bs, err)))
				pc.in_tx = true;
			if (!rc && initial && u->by_id) {
				char wm[32];
				snprintf(wm, sizeof wm, "%lld", (long long)u->copy_from_ms);
				rc = e->b->state_set(e->bs, u->decl->name, "watermark", wm, err);
				if (!rc) /* a later first copy (a reset store) starts afresh */
					rc = e->b->state_set(e->bs, u->decl->name, "copy_cursor",
							     "", err);
			}
			if (!rc && initial)
				rc =
				    e->b->state_set(e->bs, u->decl->name, "initial_done", "1", err);
			if (rc)
				pull_rollback(&pc);
			else
				rc = pull_commit(&pc, err);
			if (!rc && initial && u->by_id) {
				u->by_id = false;
				u->cur_ms = u->copy_from_ms;
				u->cur_id[0] = '\0';
			}
			if (!rc && initial) {
				if (u->total_expected >= 0 && e->tty)
					progress(e, u, true);
				cs_info(u->decl->name, "%s done: %lld records",
					u->refill ? "refill" : "initial copy",
					(long long)u->pulled);
				u->refill = false;
			}
			break;
		}
		if (++pages >= e->turn_pages || cs_stop_requested) {
			rc = 1;
			break;
		}
		pc.records = 0;
		if (next >= 0)
			cur = next;
		else /* the page's end was unreadable: from the committed watermark */
			rc = pull_query_start(e, u, &q[cur], cur, u->cur_ms, u->cur_id, err);
	}
	for (int k = 0; k < 2; k++)
		fq_join(&q[k], NULL);
	/* What the open transaction holds was stored without error (a failed
	 * page rolls it back at once): it stays, also when fetching the next
	 * page failed or the API budget ran out. */
	if (pc.in_tx) {
		cs_error cerr = CS_ERROR_INIT;
		int crc = pull_commit(&pc, rc < 0 ? &cerr : err);
		if (crc) {
			u->cursor_set = false;
			if (rc >= 0)
				rc = crc;
		}
	}
	pending_free(&pc);
	free(pc.pend);
	return rc;
}

/* ---- id reconciliation ------------------------------------------------------ */

struct recon_ctx {
	cs_engine *e;
	cs_unit *u;
	const char **ids;
	char last[19];
	int64_t n;
};

static int recon_page(void *ud, const sf_page *page, cs_error *err)
{
	struct recon_ctx *rc = ud;
	size_t k = 0;

	for (size_t i = 0; i < page->count; i++) {
		const char *id = cs_record_str(page->records[i], "Id");
		if (id)
			rc->ids[k++] = id;
	}
	if (k == 0)
		return 0;
	int r = rc->e->b->reconcile_seen(rc->e->bs, rc->u->decl->name, rc->ids, k, err);
	if (r)
		return r;
	snprintf(rc->last, sizeof rc->last, "%s", rc->ids[k - 1]);
	rc->n += (int64_t)k;
	return cs_stop_requested ? cs_err(err, CRMSYNC_EBUSY, "stop requested") : 0;
}

/* Rows hard-purged in the CRM never show up in queryAll: list every id the CRM
 * has (without the unit's filter: a filtered-out record still exists) and let
 * the store tombstone the rows it did not see. Costs one call per 2000 rows,
 * so it runs every [sync] reconcile_interval (default daily; 0 turns it off). */
int cs_pull_reconcile(cs_engine *e, cs_unit *u, cs_error *err)
{
	char buf[32];
	int64_t last_ms = 0, started = cs_now_ms(), swept = 0;
	int rc = 0;

	if (e->reconcile_ms <= 0 ||
	    e->b->size < offsetof(crmsync_backend_ops, reconcile_finish) + sizeof(void *) ||
	    !cs_pull_initial_done(e, u))
		return 0;
	if (e->b->state_get(e->bs, u->decl->name, "reconciled_ms", buf, sizeof buf, err) > 0)
		last_ms = strtoll(buf, NULL, 10);
	cs_err_clear(err);
	if (last_ms == 0) {
		/* the initial copy just listed everything: start the clock now */
		snprintf(buf, sizeof buf, "%lld", (long long)started);
		return e->b->state_set(e->bs, u->decl->name, "reconciled_ms", buf, err);
	}
	if (started - last_ms < e->reconcile_ms)
		return 0;
	struct recon_ctx ctx = {.e = e, .u = u};
	ctx.ids = calloc((size_t)e->page_size, sizeof *ctx.ids);
	if (!ctx.ids)
		return cs_err(err, CRMSYNC_ENOMEM, "out of memory");
	cs_counts_begin(e, &u->reconcile);
	if ((rc = e->b->reconcile_begin(e->bs, u->decl->name, started, err)))
		goto out;
	static const crmsync_field_desc idf[] = {
	    {.name = "Id", .type = CRMSYNC_ID, .crm_type = "id"}};
	/* queryAll where the object has IsDeleted: the org archives activities
	 * (events that ended, closed tasks, over a year ago), which query no
	 * longer returns; they are history, not purged (the recycle bin's rows
	 * are seen too, and are tombstones already). A unit found idle this
	 * cycle ran no describe: what the last one said is in its state. */
	sf_query_opts opts = {.batch_size = e->page_size,
			      .fields = idf,
			      .nfields = 1,
			      .all = cs_pull_has_isdeleted(e, u) == 1};
	for (;;) {
		sf_buf q = {0};
		int64_t before = ctx.n;
		sf_buf_addf(&q, "SELECT Id FROM %s", u->decl->sobject);
		if (ctx.last[0]) {
			sf_buf_addf(&q, " WHERE Id > ");
			sf_soql_id(&q, ctx.last, err);
		}
		sf_buf_addf(&q, " ORDER BY Id LIMIT %d", e->page_size);
		rc = q.oom ? cs_err(err, CRMSYNC_ENOMEM, "out of memory")
			   : sf_query(e->sf, q.s, &opts, recon_page, &ctx, err);
		sf_buf_free(&q);
		if (rc)
			goto out;
		if (ctx.n - before < e->page_size)
			break;
	}
	if ((rc = e->b->reconcile_finish(e->bs, u->decl->name, &swept, err)))
		goto out;
	u->reconcile.n_deleted += swept;
	u->reconcile.n_skipped += ctx.n; /* ids that still exist */
	snprintf(buf, sizeof buf, "%lld", (long long)started);
	rc = e->b->state_set(e->bs, u->decl->name, "reconciled_ms", buf, err);
	if (swept)
		cs_info(u->decl->name,
			"reconciliation: %lld rows purged in the CRM are now tombstones",
			(long long)swept);
out:
	cs_counts_end(e, &u->reconcile);
	free(ctx.ids);
	return rc;
}
