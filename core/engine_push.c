/* engine_push.c - push of one two-way unit's pending local changes.
 *
 * Changes go out 200 per API call, only the fields that changed, never fields
 * the CRM would refuse (not createable/updateable, or the unit's push-read-only
 * fields). Creates cannot duplicate: where the object has the external id
 * crmsync_Key__c, a key is written on the local row before sending and the
 * create is an upsert by that key; elsewhere a pending-create marker is stored
 * before sending and, if one is found on a later attempt, the CRM is asked for
 * the record before anything is resent. A failure is stored with the CRM's own
 * message and retried with backoff; it never blocks other records. */
#include "config.h"
#include "engine_int.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define PUSH_BATCH 200
#define KEY_FIELD "crmsync_Key__c"

struct push_item {
	int64_t row, seq;
	char id[19];
	int op;
	int attempts;
	bool marked;
	char *error;	   /* the backend could not read the row */
	cs_record *values; /* changed fields, current local values */
	cs_record *before;
	cs_record *out; /* what is sent */
	bool is_create;
	bool done; /* acknowledged */
};

struct push_ctx {
	cs_engine *e;
	cs_unit *u;
	struct push_item *items;
	size_t n, cap;
	int64_t only_row;
	const char *only_id;
};

static void items_free(struct push_ctx *pc)
{
	for (size_t i = 0; i < pc->n; i++) {
		cs_record_free(pc->items[i].values);
		cs_record_free(pc->items[i].before);
		cs_record_free(pc->items[i].out);
		free(pc->items[i].error);
	}
	pc->n = 0;
}

static int collect_cb(void *ud, const crmsync_change *c)
{
	struct push_ctx *pc = ud;

	if (pc->only_row && c->row != pc->only_row)
		return 0;
	if (pc->only_id && (!c->id || strcmp(c->id, pc->only_id) != 0))
		return 0;
	if (pc->n == pc->cap) {
		size_t nc = pc->cap ? pc->cap * 2 : 64;
		struct push_item *ni = realloc(pc->items, nc * sizeof *ni);
		if (!ni)
			return CRMSYNC_ENOMEM;
		pc->items = ni;
		pc->cap = nc;
	}
	struct push_item *it = &pc->items[pc->n];
	memset(it, 0, sizeof *it);
	it->row = c->row;
	it->seq = c->seq;
	snprintf(it->id, sizeof it->id, "%s", c->id ? c->id : "");
	it->op = c->op;
	it->attempts = c->attempts;
	it->marked = c->marked;
	it->values = cs_record_new();
	it->before = cs_record_new();
	it->out = cs_record_new();
	if (!it->values || !it->before || !it->out)
		return CRMSYNC_ENOMEM;
	if (c->size > offsetof(crmsync_change, error) && c->error &&
	    !(it->error = strdup(c->error)))
		return CRMSYNC_ENOMEM;
	if (c->values)
		cs_record_copy_into(it->values, c->values);
	if (c->before)
		cs_record_copy_into(it->before, c->before);
	pc->n++;
	return pc->n >= PUSH_BATCH && !pc->only_row && !pc->only_id ? 1 : 0;
}

static const crmsync_field_desc *unit_field(const cs_unit *u, const char *name)
{
	for (size_t i = 0; i < u->desc->nfields; i++)
		if (strcasecmp(u->desc->fields[i].name, name) == 0)
			return &u->desc->fields[i];
	return NULL;
}

static bool push_readonly(const cs_unit *u, const char *name)
{
	for (const char *const *f = u->decl->push_readonly_fields; f && *f; f++)
		if (strcasecmp(*f, name) == 0)
			return true;
	return false;
}

enum push_count { CNT_NONE, CNT_NEW, CNT_UPDATED, CNT_DELETED, CNT_SKIPPED, CNT_FAILED };

static int ack(cs_engine *e, cs_unit *u, struct push_item *it, int count, bool ok, const char *id,
	       const char *code, const char *message)
{
	cs_error err = CS_ERROR_INIT;
	int64_t retry = 0;

	if (!ok && code && strcmp(code, "NOT_MARKED") != 0 && strcmp(code, "LOCAL_DATA") != 0) {
		/* 1, 2, 4 ... minutes, at most an hour */
		int64_t d = 60000LL << (it->attempts < 6 ? it->attempts : 6);
		retry = cs_now_ms() + (d > 3600000 ? 3600000 : d);
	}
	crmsync_change_ack a = {
	    .size = sizeof a,
	    .row = it->row,
	    .seq = it->seq,
	    .ok = ok,
	    .id = ok ? id : NULL,
	    .error_code = ok ? NULL : code,
	    .error_message = ok ? NULL : message,
	    .retry_at_ms = retry,
	    .deferred = !ok && code && strcmp(code, "NOT_MARKED") == 0,
	};
	it->done = true;
	switch (count) {
	case CNT_NEW:
		u->push.n_new++;
		break;
	case CNT_UPDATED:
		u->push.n_updated++;
		break;
	case CNT_DELETED:
		u->push.n_deleted++;
		break;
	case CNT_SKIPPED:
		u->push.n_skipped++;
		break;
	case CNT_FAILED:
		u->push.n_failed++;
		break;
	}
	if (count == CNT_FAILED)
		cs_engine_record_error(e, u, "push", it->id[0] ? it->id : NULL, it->row, code,
				       message);
	if (e->b->change_ack(e->bs, u->decl->name, &a, &err)) {
		cs_error(u->decl->name, "cannot record the outcome of row %lld: %s",
			 (long long)it->row, err.msg);
		/* The CRM took the change but the store refused its outcome (a
		 * pulled copy of a created record already holds the id): record a
		 * failure with backoff, so the row is not sent again and again in
		 * this cycle (each time an API call) while the conflict stands. */
		if (ok) {
			cs_error ferr = CS_ERROR_INIT;
			crmsync_change_ack f = a;
			f.ok = 0;
			f.id = NULL;
			f.error_code = "LOCAL_STORE";
			f.error_message = err.msg;
			f.retry_at_ms = cs_now_ms() + 60000;
			f.deferred = 0;
			cs_engine_record_error(e, u, "push", id, it->row, "LOCAL_STORE", err.msg);
			if (e->b->change_ack(e->bs, u->decl->name, &f, &ferr) == 0)
				return 0;
		}
		return CRMSYNC_EIO;
	}
	return 0;
}

static void new_key(char out[33])
{
	unsigned char raw[16];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	ssize_t got = fd >= 0 ? read(fd, raw, sizeof raw) : -1;
	if (fd >= 0)
		close(fd);
	if (got != (ssize_t)sizeof raw) {
		int64_t t = cs_now_ms();
		for (size_t i = 0; i < sizeof raw; i++)
			raw[i] = (unsigned char)((t >> (i % 8 * 8)) ^ (int64_t)getpid() ^
						 (int64_t)i * 131);
	}
	for (size_t i = 0; i < sizeof raw; i++)
		snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

/* Build what goes to the CRM for one change. 0 to send, 1 nothing to send
 * (already acknowledged), negative on a storage failure. */
static int prepare(cs_engine *e, cs_unit *u, struct push_item *it, bool forced)
{
	const crmsync_unit_hooks *hooks = u->decl->hooks;
	cs_error herr = CS_ERROR_INIT;

	if (it->error)
		return ack(e, u, it, CNT_FAILED, false, NULL, "LOCAL_DATA", it->error) ? -1 : 1;
	if (it->op == CRMSYNC_CHANGE_DELETE)
		return 0; /* handled by the caller */
	it->is_create = it->id[0] == '\0';
	if (it->is_create && !it->marked && !e->push_always && !forced)
		return ack(e, u, it, CNT_SKIPPED, false, NULL, "NOT_MARKED",
			   "a local-only row not marked for sync: set sync_mark = 1, run crmsync "
			   "push, or "
			   "set sync.push_new = always")
			   ? -1
			   : 1;
	for (size_t i = 0; i < cs_record_count(it->values); i++) {
		const char *field;
		crmsync_value v, b;
		cs_record_at(it->values, i, &field, &v);
		const crmsync_field_desc *fd = unit_field(u, field);
		if (!fd || strcasecmp(field, "Id") == 0 || push_readonly(u, field))
			continue;
		if (!(fd->flags &
		      (it->is_create ? CRMSYNC_FIELD_CREATEABLE : CRMSYNC_FIELD_UPDATEABLE)))
			continue;
		if (!it->is_create && !forced && cs_record_get(it->before, field, &b) == 0 &&
		    cs_value_equal(&v, &b))
			continue; /* settled back to the synced value */
		if (it->is_create && v.type == CRMSYNC_NULL)
			continue;
		cs_record_set(it->out, fd->name, &v);
	}
	if (hooks && hooks->map_out) {
		int hr = hooks->map_out(u->plugin->state, u->decl, it->out, it->is_create, &herr);
		if (hr < 0)
			return ack(e, u, it, CNT_FAILED, false, NULL, "REFUSED_LOCALLY", herr.msg)
				   ? -1
				   : 1;
		if (hr > 0)
			return ack(e, u, it, CNT_SKIPPED, true, it->id[0] ? it->id : NULL, NULL,
				   NULL)
				   ? -1
				   : 1;
	}
	if (!it->is_create) {
		if (cs_record_count(it->out) == 0)
			return ack(e, u, it, CNT_SKIPPED, true, it->id, NULL, NULL) ? -1 : 1;
		cs_record_set_str(it->out, "Id", CRMSYNC_ID, it->id, -1);
		return 0;
	}
	if (u->has_ext_key) {
		const char *key = cs_record_str(it->out, KEY_FIELD);
		char fresh[33];
		if (!key || !*key) {
			/* a key written by an earlier attempt lives on the row, uncaptured */
			cs_record *row = cs_record_new();
			cs_error rerr = CS_ERROR_INIT;
			if (row &&
			    e->b->row_read(e->bs, u->decl->name, NULL, it->row, row, &rerr) == 0)
				key = cs_record_str(row, KEY_FIELD);
			if (key && *key) {
				cs_record_set_str(it->out, KEY_FIELD, CRMSYNC_STRING, key, -1);
			} else {
				new_key(fresh);
				cs_record *kr = cs_record_new();
				int rc =
				    kr ? cs_record_set_str(kr, KEY_FIELD, CRMSYNC_STRING, fresh, -1)
				       : -1;
				if (rc == 0)
					rc = e->b->row_update(e->bs, u->decl->name, it->row, kr,
							      &rerr);
				cs_record_free(kr);
				if (rc) {
					cs_record_free(row);
					cs_error(u->decl->name,
						 "cannot store the create key of row %lld: %s",
						 (long long)it->row, rerr.msg);
					return -1;
				}
				cs_record_set_str(it->out, KEY_FIELD, CRMSYNC_STRING, fresh, -1);
			}
			cs_record_free(row);
		}
	}
	return 0;
}

/* Acknowledgements of one batch commit together: one transaction, not 200. */
static int tx_begin(cs_engine *e, cs_error *err)
{
	return e->b->begin(e->bs, err);
}

static int tx_commit(cs_engine *e, cs_error *err)
{
	int rc = e->b->commit(e->bs, err);
	if (rc) {
		cs_error rerr = CS_ERROR_INIT;
		e->b->rollback(e->bs, &rerr);
	}
	return rc;
}

static void result_text(const sf_write_result *r, char *code, size_t ccap, char *msg, size_t mcap)
{
	snprintf(code, ccap, "%s", r->nerrors ? r->errors[0].status_code : "UNKNOWN");
	size_t len = 0;
	msg[0] = '\0';
	for (size_t k = 0; k < r->nerrors && len < mcap; k++)
		len += (size_t)snprintf(msg + len, mcap - len, "%s%s", k ? "; " : "",
					r->errors[k].message ? r->errors[k].message : "");
}

/* A create that may have landed before a crash: one record found by the
 * lookup in find_landed. */
static int landed_cb(void *ud, const sf_page *page, cs_error *err)
{
	char *found = ud;
	(void)err;
	if (page->count == 1) {
		const char *id = cs_record_str(page->records[0], "Id");
		if (id)
			snprintf(found, 19, "%s", id);
	} else if (page->count > 1) {
		found[0] = '?';
	}
	return 0;
}

/* Where the object has no crmsync_Key__c: ask the CRM for a record created
 * since sent_ms - 1 min with up to four of the sent text values. found gets
 * its id, or "" (none) or "?" (more than one: not adopted). */
static int find_landed(cs_engine *e, cs_unit *u, const cs_record *sent, int64_t sent_ms,
		       char found[19], cs_error *err)
{
	sf_buf q = {0};
	cs_error serr = CS_ERROR_INIT;
	int terms = 0;

	found[0] = '\0';
	sf_buf_addf(&q, "SELECT Id FROM %s WHERE CreatedDate >= ", u->decl->sobject);
	sf_soql_datetime(&q, sent_ms - 60000);
	for (size_t k = 0; k < cs_record_count(sent) && terms < 4; k++) {
		const char *field;
		crmsync_value v;
		cs_record_at(sent, k, &field, &v);
		const crmsync_field_desc *fd = unit_field(u, field);
		if ((v.type != CRMSYNC_STRING && v.type != CRMSYNC_ID) || !fd || fd->length > 255 ||
		    !(fd->flags & CRMSYNC_FIELD_CREATEABLE) || push_readonly(u, field) ||
		    strcasecmp(field, "Id") == 0)
			continue;
		sf_buf_addf(&q, " AND %s = ", fd->name);
		if (sf_soql_value(&q, &v, &serr) == 0)
			terms++;
	}
	sf_buf_addf(&q, " LIMIT 2");
	int rc = q.oom ? cs_err(err, CRMSYNC_ENOMEM, "out of memory")
		       : sf_query(e->sf, q.s, NULL, landed_cb, found, err);
	sf_buf_free(&q);
	return rc;
}

/* The outgoing records of a batch, in order (NULL on out of memory). */
static cs_record **batch_records(struct push_item **its, size_t n)
{
	cs_record **recs = calloc(n ? n : 1, sizeof *recs);
	for (size_t i = 0; recs && i < n; i++)
		recs[i] = its[i]->out;
	return recs;
}

#define INFLIGHT "creates_in_flight"

/* Creates whose outcome is not known yet, one "row seq sent_ms" line each. The
 * list is stored before the batch is sent (in the transaction that stores the
 * create keys) and rewritten with what is still unknown when the answers are
 * acknowledged, so after a crash cs_push_recover knows which local rows may
 * already exist in the CRM. */
static int inflight_set(cs_engine *e, cs_unit *u, struct push_item **its, size_t n, cs_error *err)
{
	sf_buf b = {0};
	int64_t now = cs_now_ms();
	int rc;

	for (size_t i = 0; i < n; i++)
		sf_buf_addf(&b, "%lld %lld %lld\n", (long long)its[i]->row, (long long)its[i]->seq,
			    (long long)now);
	if (b.oom)
		rc = cs_err(err, CRMSYNC_ENOMEM, "out of memory");
	else
		rc = e->b->state_set(e->bs, u->decl->name, INFLIGHT, b.s ? b.s : "", err);
	sf_buf_free(&b);
	return rc;
}

struct inflight {
	int64_t row, seq, ms;
	cs_record *rec; /* the local row */
	char id[19];	/* found in the CRM */
};

struct keyed {
	struct inflight *in;
	size_t n;
};

static int keyed_cb(void *ud, const sf_page *page, cs_error *err)
{
	struct keyed *k = ud;
	(void)err;
	for (size_t i = 0; i < page->count; i++) {
		const char *id = cs_record_str(page->records[i], "Id");
		const char *key = cs_record_str(page->records[i], KEY_FIELD);
		for (size_t j = 0; id && key && j < k->n; j++) {
			const char *mine =
			    k->in[j].rec ? cs_record_str(k->in[j].rec, KEY_FIELD) : NULL;
			if (mine && strcmp(mine, key) == 0)
				snprintf(k->in[j].id, sizeof k->in[j].id, "%s", id);
		}
	}
	return 0;
}

int cs_push_recover(cs_engine *e, cs_unit *u, cs_error *err)
{
	const char *unit = u->decl->name;
	char small[256], *text = small;
	struct inflight *in = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	if (!(u->decl->direction & CRMSYNC_PUSH) || !u->desc)
		return 0;
	int len = e->b->state_get(e->bs, unit, INFLIGHT, small, sizeof small, err);
	if (len == CRMSYNC_ENOENT || len == 0) {
		cs_err_clear(err);
		return 0;
	}
	if (len < 0)
		return len;
	cs_counts_begin(e, &u->push); /* what is found counts as pushed */
	if ((size_t)len >= sizeof small) {
		if (!(text = malloc((size_t)len + 1)))
			return cs_err(err, CRMSYNC_ENOMEM, "out of memory");
		if ((rc = e->b->state_get(e->bs, unit, INFLIGHT, text, (size_t)len + 1, err)) < 0)
			goto out;
		rc = 0;
	}
	/* the rows of the list that still wait for a CRM id */
	for (char *line = text, *next; line && *line; line = next) {
		long long row, seq, ms;
		if ((next = strchr(line, '\n')))
			*next++ = '\0';
		if (sscanf(line, "%lld %lld %lld", &row, &seq, &ms) != 3)
			continue;
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			struct inflight *ni = realloc(in, nc * sizeof *ni);
			if (!ni) {
				rc = cs_err(err, CRMSYNC_ENOMEM, "out of memory");
				goto out;
			}
			in = ni;
			cap = nc;
		}
		struct inflight *f = &in[n];
		memset(f, 0, sizeof *f);
		f->row = row;
		f->seq = seq;
		f->ms = ms;
		if (!(f->rec = cs_record_new())) {
			rc = cs_err(err, CRMSYNC_ENOMEM, "out of memory");
			goto out;
		}
		n++;
		cs_error rerr = CS_ERROR_INIT;
		const char *id;
		int r = e->b->row_read(e->bs, unit, NULL, row, f->rec, &rerr);
		if (r || ((id = cs_record_str(f->rec, "Id")) && *id)) {
			/* deleted locally, or acknowledged after all */
			cs_record_free(f->rec);
			f->rec = NULL;
		}
	}
	/* ask the CRM which of them exist: by key where the object has one, 50
	 * keys per query (keys of up to 64 characters keep the URL well under
	 * the 16,384 bytes a query may have) */
	for (size_t from = 0; rc == 0 && u->has_ext_key && from < n;) {
		sf_buf q = {0};
		size_t nkeys = 0;
		cs_error serr = CS_ERROR_INIT;
		sf_buf_addf(&q, "SELECT Id, %s FROM %s WHERE %s IN (", KEY_FIELD, u->decl->sobject,
			    KEY_FIELD);
		for (; from < n && nkeys < 50; from++) {
			const char *key =
			    in[from].rec ? cs_record_str(in[from].rec, KEY_FIELD) : NULL;
			if (!key || !*key)
				continue;
			crmsync_value v = {.type = CRMSYNC_STRING, .len = strlen(key), .u.s = key};
			if (nkeys)
				sf_buf_addf(&q, ", ");
			if (sf_soql_value(&q, &v, &serr) == 0)
				nkeys++;
		}
		sf_buf_addf(&q, ")");
		if (nkeys) {
			struct keyed k = {in, n};
			rc = q.oom ? cs_err(err, CRMSYNC_ENOMEM, "out of memory")
				   : sf_query(e->sf, q.s, NULL, keyed_cb, &k, err);
		}
		sf_buf_free(&q);
	}
	for (size_t i = 0; rc == 0 && i < n; i++) {
		const char *key = in[i].rec ? cs_record_str(in[i].rec, KEY_FIELD) : NULL;
		if (in[i].rec && !(u->has_ext_key && key && *key)) {
			rc = find_landed(e, u, in[i].rec, in[i].ms, in[i].id, err);
			if (in[i].id[0] == '?')
				in[i].id[0] = '\0';
		}
	}
	if (rc) {
		/* not known yet: the pull must wait, or it would store a created
		 * record in a row of its own beside the local one */
		rc = cs_engine_sf_failure(e, rc);
		goto out;
	}
	if ((rc = tx_begin(e, err)))
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (!in[i].id[0])
			continue;
		struct push_item it = {.row = in[i].row, .seq = in[i].seq};
		cs_info(unit, "row %lld: a create sent before an interruption landed as %s",
			(long long)in[i].row, in[i].id);
		if (ack(e, u, &it, CNT_NEW, true, in[i].id, NULL, NULL)) {
			cs_error rerr = CS_ERROR_INIT;
			e->b->rollback(e->bs, &rerr);
			rc = cs_err(err, CRMSYNC_EIO, "cannot record the outcome of row %lld",
				    (long long)in[i].row);
			goto out;
		}
	}
	if ((rc = e->b->state_set(e->bs, unit, INFLIGHT, "", err)) == 0)
		rc = tx_commit(e, err);
	else {
		cs_error rerr = CS_ERROR_INIT;
		e->b->rollback(e->bs, &rerr);
	}
out:
	for (size_t i = 0; i < n; i++)
		cs_record_free(in[i].rec);
	free(in);
	if (text != small)
		free(text);
	return rc;
}

static int send_creates(cs_engine *e, cs_unit *u, struct push_item **its, size_t n, cs_error *err)
{
	cs_record **recs = batch_records(its, n);
	sf_write_results res = {0};
	int rc;

	if (!recs)
		return cs_err(err, CRMSYNC_ENOMEM, "out of memory");
	if (u->has_ext_key) {
		rc = sf_upsert(e->sf, u->decl->sobject, KEY_FIELD, recs, n, &res, err);
	} else {
		/* markers first: a crash after sending leaves a trace to check */
		char key[64], val[32], found[19];
		cs_error serr = CS_ERROR_INIT;
		size_t keep = 0;
		for (size_t i = 0; i < n; i++) {
			snprintf(key, sizeof key, "pending_create:%lld", (long long)its[i]->row);
			if (e->b->state_get(e->bs, u->decl->name, key, val, sizeof val, &serr) >
			    0) {
				int qrc = find_landed(e, u, its[i]->out, strtoll(val, NULL, 10),
						      found, err);
				if (qrc) {
					free(recs);
					return cs_engine_sf_failure(e, qrc);
				}
				if (found[0] && found[0] != '?') {
					cs_info(u->decl->name,
						"row %lld: an earlier create landed as %s",
						(long long)its[i]->row, found);
					ack(e, u, its[i], CNT_NEW, true, found, NULL, NULL);
					e->b->state_set(e->bs, u->decl->name, key, "", &serr);
					continue;
				}
			}
			snprintf(val, sizeof val, "%lld", (long long)cs_now_ms());
			if (e->b->state_set(e->bs, u->decl->name, key, val, err)) {
				free(recs);
				return CRMSYNC_EIO;
			}
			recs[keep] = its[i]->out;
			its[keep++] = its[i];
		}
		n = keep;
		rc = n ? sf_create(e->sf, u->decl->sobject, recs, n, &res, err) : 0;
	}
	if (rc && sf_error_kind(e->sf) != SF_E_OUTCOME_UNKNOWN && res.count == 0) {
		/* the list of creates in flight stays: a transport failure after
		 * retries may still have left records behind */
		free(recs);
		sf_write_results_free(&res);
		return cs_engine_sf_failure(e, rc);
	}
	int trc = tx_begin(e, err);
	for (size_t i = 0; trc == 0 && i < res.count && i < n; i++) {
		sf_write_result *r = &res.items[i];
		char code[64], msg[1024], key[64];
		cs_error serr = CS_ERROR_INIT;
		if (r->success) {
			ack(e, u, its[i], CNT_NEW, true, r->id, NULL, NULL);
		} else {
			result_text(r, code, sizeof code, msg, sizeof msg);
			ack(e, u, its[i], CNT_FAILED, false, NULL, code, msg);
		}
		if (!u->has_ext_key) {
			snprintf(key, sizeof key, "pending_create:%lld", (long long)its[i]->row);
			e->b->state_set(e->bs, u->decl->name, key, "", &serr);
		}
	}
	/* records past res.count have an unknown outcome: left pending, and
	 * looked for in the CRM before the next pull */
	if (trc == 0)
		trc = inflight_set(e, u, its + (res.count < n ? res.count : n),
				   res.count < n ? n - res.count : 0, err);
	if (trc == 0)
		trc = tx_commit(e, err);
	free(recs);
	if (trc) {
		sf_write_results_free(&res);
		return trc;
	}
	sf_write_results_free(&res);
	return rc && res.count < n ? cs_engine_sf_failure(e, rc) : 0;
}

static int send_updates(cs_engine *e, cs_unit *u, struct push_item **its, size_t n, cs_error *err)
{
	cs_record **recs = batch_records(its, n);
	sf_write_results res = {0};
	int rc;

	if (!recs)
		return cs_err(err, CRMSYNC_ENOMEM, "out of memory");
	rc = sf_update(e->sf, u->decl->sobject, recs, n, &res, err);
	int trc = res.count ? tx_begin(e, err) : 0;
	for (size_t i = 0; trc == 0 && i < res.count && i < n; i++) {
		char code[64], msg[1024];
		if (res.items[i].success) {
			ack(e, u, its[i], CNT_UPDATED, true, its[i]->id, NULL, NULL);
		} else {
			result_text(&res.items[i], code, sizeof code, msg, sizeof msg);
			ack(e, u, its[i], CNT_FAILED, false, NULL, code, msg);
		}
	}
	if (trc == 0 && res.count)
		trc = tx_commit(e, err);
	free(recs);
	sf_write_results_free(&res);
	if (trc)
		return trc;
	return rc ? cs_engine_sf_failure(e, rc) : 0;
}

static int send_deletes(cs_engine *e, cs_unit *u, struct push_item **its, size_t n, cs_error *err)
{
	const char **ids = calloc(n ? n : 1, sizeof *ids);
	sf_write_results res = {0};
	int rc;

	if (!ids)
		return cs_err(err, CRMSYNC_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		ids[i] = its[i]->id;
	rc = sf_delete(e->sf, ids, n, &res, err);
	int trc = res.count ? tx_begin(e, err) : 0;
	for (size_t i = 0; trc == 0 && i < res.count && i < n; i++) {
		char code[64], msg[1024];
		sf_write_result *r = &res.items[i];
		result_text(r, code, sizeof code, msg, sizeof msg);
		/* already gone in the CRM is what we wanted */
		bool gone = !r->success && (strcmp(code, "ENTITY_IS_DELETED") == 0 ||
					    strcmp(code, "INVALID_CROSS_REFERENCE_KEY") == 0);
		if (r->success || gone)
			ack(e, u, its[i], CNT_DELETED, true, its[i]->id, NULL, NULL);
		else
			ack(e, u, its[i], CNT_FAILED, false, NULL, code, msg);
	}
	if (trc == 0 && res.count)
		trc = tx_commit(e, err);
	free(ids);
	sf_write_results_free(&res);
	if (trc)
		return trc;
	return rc ? cs_engine_sf_failure(e, rc) : 0;
}

/* crmsync push on a row with no pending change: send the whole row. */
static int synthesize(cs_engine *e, cs_unit *u, struct push_ctx *pc, cs_error *err)
{
	static const char *const bookkeeping[] = {"local_id",	 "is_deleted", "crm_modstamp",
						  "merged_into", "sync_state", "sync_mark",
						  NULL};
	cs_record *row = cs_record_new();
	int rc;

	if (!row)
		return cs_err(err, CRMSYNC_ENOMEM, "out of memory");
	rc = e->b->row_read(e->bs, u->decl->name, pc->only_id, pc->only_row, row, err);
	if (rc == CRMSYNC_ENOENT) {
		cs_record_free(row);
		if (pc->only_id)
			return cs_err(err, CRMSYNC_ENOENT, "unit %s has no row with CRM id %s",
				      u->decl->name, pc->only_id);
		return cs_err(err, CRMSYNC_ENOENT, "unit %s has no row with local_id %lld",
			      u->decl->name, (long long)pc->only_row);
	}
	if (rc) {
		cs_record_free(row);
		return rc;
	}
	crmsync_value v;
	crmsync_change c = {.size = sizeof c, .op = CRMSYNC_CHANGE_UPDATE, .marked = 1};
	if (cs_record_get(row, "local_id", &v) == 0)
		c.row = v.u.i;
	c.id = cs_record_str(row, "Id");
	if (!c.id || !*c.id) {
		c.id = NULL;
		c.op = CRMSYNC_CHANGE_INSERT;
	}
	cs_record *vals = cs_record_new();
	if (!vals) {
		cs_record_free(row);
		return cs_err(err, CRMSYNC_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < cs_record_count(row); i++) {
		const char *f;
		bool skip = false;
		cs_record_at(row, i, &f, &v);
		for (const char *const *b = bookkeeping; *b; b++)
			skip |= strcasecmp(*b, f) == 0;
		if (!skip)
			cs_record_set(vals, f, &v);
	}
	c.values = vals;
	int64_t only_row = pc->only_row;
	const char *only_id = pc->only_id;
	pc->only_row = 0;
	pc->only_id = NULL;
	rc = collect_cb(pc, &c);
	pc->only_row = only_row;
	pc->only_id = only_id;
	cs_record_free(vals);
	cs_record_free(row);
	return rc < 0 ? cs_err(err, rc, "out of memory") : 0;
}

bool cs_push_pending(cs_engine *e, cs_unit *u)
{
	struct push_ctx pc = {.e = e, .u = u};
	cs_error err = CS_ERROR_INIT;
	crmsync_change_query q = {.size = sizeof q, .max = 1, .now_ms = cs_now_ms()};
	e->b->changes_read(e->bs, u->decl->name, &q, collect_cb, &pc, &err);
	bool any = pc.n > 0;
	items_free(&pc);
	free(pc.items);
	return any;
}

int cs_push_unit(cs_engine *e, cs_unit *u, int64_t only_row, const char *only_id, cs_error *err)
{
	struct push_ctx pc = {.e = e, .u = u, .only_row = only_row, .only_id = only_id};
	struct push_item **creates = calloc(PUSH_BATCH, sizeof *creates);
	struct push_item **updates = calloc(PUSH_BATCH, sizeof *updates);
	struct push_item **deletes = calloc(PUSH_BATCH, sizeof *deletes);
	bool forced = only_row || only_id;
	int rc = 0;

	if (!creates || !updates || !deletes) {
		rc = cs_err(err, CRMSYNC_ENOMEM, "out of memory");
		goto out;
	}
	/* creates an interruption left without an answer first (a cycle has
	 * looked for them before its pull already) */
	if (!u->recovered) {
		u->recovered = true;
		if ((rc = cs_push_recover(e, u, err)))
			goto out;
	}
	for (int round = 0; round < 100000 && !cs_stop_requested; round++) {
		crmsync_change_query q = {
		    .size = sizeof q,
		    .max = forced ? 0 : PUSH_BATCH,
		    .now_ms = forced ? 0 : cs_now_ms(),
		};
		items_free(&pc);
		rc = e->b->changes_read(e->bs, u->decl->name, &q, collect_cb, &pc, err);
		if (rc < 0)
			goto out;
		rc = 0;
		if (pc.n == 0 && forced && round == 0 && (rc = synthesize(e, u, &pc, err)))
			goto out;
		if (pc.n == 0)
			break;
		size_t nc = 0, nu = 0, nd = 0;
		/* local acknowledgements and create keys of this batch commit together,
		 * and before anything is sent */
		if ((rc = tx_begin(e, err)))
			goto out;
		for (size_t i = 0; i < pc.n; i++) {
			struct push_item *it = &pc.items[i];
			if (it->op == CRMSYNC_CHANGE_DELETE) {
				if (!it->id[0] || !e->push_deletes) {
					/* nothing in the CRM, or deletes stay local */
					ack(e, u, it, CNT_SKIPPED, true, NULL, NULL, NULL);
				} else {
					deletes[nd++] = it;
				}
				continue;
			}
			int p = prepare(e, u, it, forced);
			if (p < 0) {
				cs_error rerr = CS_ERROR_INIT;
				e->b->rollback(e->bs, &rerr);
				rc =
				    cs_err(err, CRMSYNC_EIO,
					   "cannot record push outcomes of unit %s", u->decl->name);
				goto out;
			}
			if (p > 0)
				continue;
			if (!it->is_create && !sf_id_valid(it->id)) {
				/* refused on its own, as Salesforce would, so one row with a
				 * wrong-shaped id cannot stop the whole batch */
				ack(e, u, it, CNT_FAILED, false, NULL, "MALFORMED_ID",
				    "the local row's id is not a Salesforce id (15 or 18 letters "
				    "and digits)");
				continue;
			}
			if (it->is_create)
				creates[nc++] = it;
			else
				updates[nu++] = it;
		}
		if (nc && (rc = inflight_set(e, u, creates, nc, err))) {
			cs_error rerr = CS_ERROR_INIT;
			e->b->rollback(e->bs, &rerr);
			goto out;
		}
		if ((rc = tx_commit(e, err)))
			goto out;
		if (nu && (rc = send_updates(e, u, updates, nu, err)))
			goto out;
		if (nc && (rc = send_creates(e, u, creates, nc, err)))
			goto out;
		if (nd && (rc = send_deletes(e, u, deletes, nd, err)))
			goto out;
		if (forced)
			break;
		/* a batch where nothing was acknowledged would come back unchanged */
		bool any = false;
		for (size_t i = 0; i < pc.n; i++)
			any |= pc.items[i].done;
		if (!any)
			break;
	}
out:
	items_free(&pc);
	free(pc.items);
	free(creates);
	free(updates);
	free(deletes);
	return rc;
}
