/*
 * query.c - query, queryAll and query-more. The SOQL compiler (soql.c) turns
 * the query into SQL; the matching rowids are snapshotted at query time into a
 * cursor, and each page reads the current values of its rows with sql_row and
 * writes JSON straight into a buffer (this is the hot path of every benchmark).
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sfemu.h"

typedef struct lnode {
	bool group;
	int item;	 /* field: its column; group: the parent-id column */
	const char *key; /* JSON key */
	char *prefix;	 /* ,"key": ready to copy */
	size_t prefix_len;
	const char *object;
	const emu_field *field;
	struct lnode *kids;
	int nkids, cap;
} lnode;

struct cursor {
	cursor *next;
	char id[19];
	soql_compiled *c;
	int64_t *rowids;
	size_t n, next_offset;
	int64_t created, last_used, ttl;
	bool done, all;
	lnode root;
	int id_col; /* column of the base Id in sql_row, -1 when not selected */
	emu_object *obj;
	int batch;
	bool live; /* re-run the query for every page (cursorLive) */
};

static uint64_t cursor_seq;

static void lnode_free(lnode *n)
{
	free(n->prefix);
	for (int i = 0; i < n->nkids; i++)
		lnode_free(&n->kids[i]);
	free(n->kids);
}

static lnode *lnode_add(lnode *p)
{
	if (p->nkids == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 8;
		p->kids = realloc(p->kids, sizeof(lnode) * (size_t)p->cap);
	}
	lnode *k = &p->kids[p->nkids++];
	memset(k, 0, sizeof *k);
	return k;
}

static lnode *find_group(lnode *root, const soql_item *it, int depth)
{
	lnode *g = root;
	for (int d = 0; d < depth && g; d++) {
		lnode *next = NULL;
		for (int i = 0; i < g->nkids; i++)
			if (g->kids[i].group && !strcmp(g->kids[i].key, it->path[d]))
				next = &g->kids[i];
		g = next;
	}
	return g;
}

/* The select list as written: [["owner","name"], ["Email"], ...], for the
 * keyCasing "query" setting (keys echo the query's spelling). */
static json_t *select_list(const char *q)
{
	json_t *a = json_array();
	while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
		q++;
	if (strncasecmp(q, "select", 6))
		return a;
	q += 6;
	const char *end = NULL;
	for (const char *p = q; *p; p++)
		if (!strncasecmp(p, "from", 4) && strchr(" \t\r\n", p[-1]) && p[4] &&
		    strchr(" \t\r\n", p[4])) {
			end = p;
			break;
		}
	if (!end)
		return a;
	char *list = strndup(q, (size_t)(end - q));
	for (char *s1 = NULL, *t = strtok_r(list, ",", &s1); t; t = strtok_r(NULL, ",", &s1)) {
		json_t *parts = json_array();
		for (char *s2 = NULL, *u = strtok_r(t, ". \t\r\n", &s2); u;
		     u = strtok_r(NULL, ". \t\r\n", &s2))
			json_array_append_new(parts, json_string(u));
		json_array_append_new(a, parts);
	}
	free(list);
	return a;
}

/* The spelling of path[depth] among the select list entries that start with path[0..depth]. */
static const char *spelled(json_t *sel, const char **path, int depth)
{
	size_t i;
	json_t *parts;
	json_array_foreach(sel, i, parts)
	{
		if ((int)json_array_size(parts) <= depth)
			continue;
		bool match = true;
		for (int k = 0; k <= depth && match; k++)
			match = !strcasecmp(json_string_value(json_array_get(parts, (size_t)k)),
					    path[k]);
		if (match)
			return json_string_value(json_array_get(parts, (size_t)depth));
	}
	return path[depth];
}

static void set_prefixes(lnode *g, json_t *sel, const char **path, int depth)
{
	for (int i = 0; i < g->nkids; i++) {
		lnode *k = &g->kids[i];
		buf b = {0};
		path[depth] = k->key;
		buf_printf(&b, ",\"%s\":", sel ? spelled(sel, path, depth) : k->key);
		k->prefix_len = b.len;
		k->prefix = buf_take(&b);
		if (k->group && depth < 3)
			set_prefixes(k, sel, path, depth + 1);
	}
}

static void build_layout(cursor *cu, const char *q, bool echo_casing)
{
	cu->id_col = -1;
	for (size_t i = 0; i < cu->c->nitems; i++) {
		const soql_item *it = &cu->c->items[i];
		if (it->kind == SOQL_ITEM_PARENT_ID) {
			lnode *p = find_group(&cu->root, it, it->depth - 1);
			if (!p)
				continue;
			lnode *g = lnode_add(p);
			g->group = true;
			g->item = (int)i;
			g->key = it->path[it->depth - 1];
			g->object = it->object;
		} else {
			lnode *p = find_group(&cu->root, it, it->depth);
			if (!p)
				continue;
			lnode *f = lnode_add(p);
			f->item = (int)i;
			f->key = it->field->name;
			f->field = (const emu_field *)it->field; /* sf is its first member */
			if (it->depth == 0 && !strcmp(it->field->name, "Id"))
				cu->id_col = (int)i;
		}
	}
	json_t *sel = echo_casing ? select_list(q) : NULL;
	const char *path[4] = {0};
	set_prefixes(&cu->root, sel, path, 0);
	json_decref(sel);
}

static void cursor_free(cursor *cu)
{
	soql_free(cu->c);
	free(cu->rowids);
	lnode_free(&cu->root);
	free(cu);
}

void cursors_free(emu *e)
{
	while (e->cursors) {
		cursor *n = e->cursors->next;
		cursor_free(e->cursors);
		e->cursors = n;
	}
}

void cursors_expire_all(emu *e)
{
	cursors_free(e);
}

static void cursors_gc(emu *e)
{
	int64_t now = wall_ms();
	for (cursor **pp = &e->cursors; *pp;) {
		cursor *c = *pp;
		if (c->last_used + c->ttl <= now) {
			*pp = c->next;
			cursor_free(c);
		} else {
			pp = &c->next;
		}
	}
}

static void emit_attributes(emu *e, req *r, buf *b, const char *type, const char *id)
{
	(void)e;
	buf_reserve(b, 128);
	buf_puts(b, "{\"attributes\":{\"type\":\"");
	buf_puts(b, type);
	buf_puts(b, "\",\"url\":\"/services/data/v");
	buf_puts(b, r->version);
	buf_puts(b, "/sobjects/");
	buf_puts(b, type);
	buf_putc(b, '/');
	buf_puts(b, id);
	buf_put(b, "\"}", 2);
}

/* The base records' attributes up to the id, made once per page. */
static void emit_base_attributes(buf *b, const char *prefix, size_t n, const char *id)
{
	buf_reserve(b, n + 24);
	memcpy(b->p + b->len, prefix, n);
	b->len += n;
	size_t il = strlen(id);
	memcpy(b->p + b->len, id, il);
	b->len += il;
	b->p[b->len++] = '"';
	b->p[b->len++] = '}';
	b->p[b->len] = 0;
}

static void emit_group(emu *e, req *r, buf *b, lnode *g, sqlite3_stmt *st)
{
	for (int i = 0; i < g->nkids; i++) {
		lnode *k = &g->kids[i];
		buf_put(b, k->prefix, k->prefix_len);
		if (!k->group) {
			emit_value(b, k->field, st, k->item);
			continue;
		}
		const char *pid = (const char *)sqlite3_column_text(st, k->item);
		if (!pid) {
			buf_put(b, "null", 4);
			continue;
		}
		emu_object *po = strlen(pid) >= 3 ? object_of_id(e, pid) : NULL;
		emit_attributes(e, r, b, po ? po->name : k->object, pid);
		emit_group(e, r, b, k, st);
		buf_putc(b, '}');
	}
}

static int cmp_slot(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

/* Writes records [off, off+count) of the cursor; returns how many were written. */
static int emit_page(emu *e, req *r, cursor *cu, size_t off, size_t count, buf *b, emu_err *err)
{
	sqlite3_stmt *st = NULL, *idst = NULL;
	if (sqlite3_prepare_v2(e->db, cu->c->sql_row, -1, &st, NULL))
		return emu_seterr(err, 500, "UNKNOWN_EXCEPTION", "", "row statement: %s",
				  sqlite3_errmsg(e->db));
	if (cu->id_col < 0) {
		char sql[200];
		snprintf(sql, sizeof sql, "SELECT \"Id\" FROM \"%s\" WHERE rowid=?1",
			 cu->obj->name);
		sqlite3_prepare_v2(e->db, sql, -1, &idst, NULL);
	}
	int n = 0;
	char prefix[256];
	int pn =
	    snprintf(prefix, sizeof prefix,
		     "{\"attributes\":{\"type\":\"%s\",\"url\":\"/services/data/v%s/sobjects/%s/",
		     cu->obj->name, r->version, cu->obj->name);
	/* read the page's rows in rowid order (far fewer page faults in the
	 * B-tree), then write them in the query's order */
	size_t m = off + count <= cu->n ? count : cu->n - off;
	struct slot {
		int64_t rowid;
		size_t idx, start, len;
	} *sl = calloc(m ? m : 1, sizeof *sl);
	for (size_t i = 0; i < m; i++) {
		sl[i].rowid = cu->rowids[off + i];
		sl[i].idx = i;
	}
	qsort(sl, m, sizeof *sl, cmp_slot);
	buf tmp = {0};
	buf_reserve(&tmp, m * 400);
	for (size_t k = 0; k < m; k++) {
		sl[k].len = 0;
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, sl[k].rowid);
		if (sqlite3_step(st) != SQLITE_ROW)
			continue; /* purged since the query ran */
		const char *id = NULL;
		if (cu->id_col >= 0) {
			id = (const char *)sqlite3_column_text(st, cu->id_col);
		} else if (idst) {
			sqlite3_reset(idst);
			sqlite3_bind_int64(idst, 1, sl[k].rowid);
			if (sqlite3_step(idst) == SQLITE_ROW)
				id = (const char *)sqlite3_column_text(idst, 0);
		}
		sl[k].start = tmp.len;
		emit_base_attributes(&tmp, prefix, (size_t)pn, id ? id : "");
		emit_group(e, r, &tmp, &cu->root, st);
		buf_putc(&tmp, '}');
		sl[k].len = tmp.len - sl[k].start;
	}
	size_t *order = malloc((m ? m : 1) * sizeof *order);
	for (size_t k = 0; k < m; k++)
		order[sl[k].idx] = k;
	buf_reserve(b, tmp.len + m);
	for (size_t i = 0; i < m; i++) {
		struct slot *x = &sl[order[i]];
		if (!x->len)
			continue;
		if (n++)
			b->p[b->len++] = ',';
		memcpy(b->p + b->len, tmp.p + x->start, x->len);
		b->len += x->len;
	}
	b->p[b->len] = 0;
	free(order);
	free(sl);
	buf_free(&tmp);
	sqlite3_finalize(st);
	sqlite3_finalize(idst);
	return n;
}

static int batch_size(emu *e, req *r)
{
	int bs = e->cfg.default_batch;
	const char *h = req_header(r, "Sforce-Query-Options");
	const char *p = h ? strcasestr(h, "batchSize") : NULL;
	if (p) {
		p += 9;
		while (*p == ' ' || *p == '=')
			p++;
		int v = atoi(p);
		if (v > 0)
			bs = v < 200 ? 200 : v > 2000 ? 2000 : v;
	}
	if (e->cfg.chaos_batch > 0 && bs > e->cfg.chaos_batch)
		bs = e->cfg.chaos_batch;
	return bs;
}

static void cursor_limits(emu *e, req *r, int *max, int64_t *ttl)
{
	bool legacy =
	    e->cfg.legacy_cursors == 1 || (e->cfg.legacy_cursors == 0 && r->api_version < 56);
	*max = e->cfg.cursor_max >= 0 ? e->cfg.cursor_max : legacy ? 10 : 0;
	*ttl = e->cfg.cursor_ttl_ms >= 0 ? e->cfg.cursor_ttl_ms
	       : legacy			 ? 15 * 60 * 1000LL
					 : 2 * 86400 * 1000LL;
}

static void send_page(emu *e, req *r, resp *rs, cursor *cu, size_t off)
{
	size_t count = (size_t)cu->batch;
	if (off + count > cu->n)
		count = cu->n - off;
	buf b = {0};
	emu_err err;
	buf_reserve(&b, count * 300 + 256);
	bool done = off + count >= cu->n;
	buf_printf(&b, "{\"totalSize\":%zu,\"done\":%s,", cu->n, done ? "true" : "false");
	if (!done)
		buf_printf(&b, "\"nextRecordsUrl\":\"/services/data/v%s/query/%s-%zu\",",
			   r->version, cu->id, off + count);
	buf_puts(&b, "\"records\":[");
	int64_t t0 = wall_ms();
	if (emit_page(e, r, cu, off, count, &b, &err) < 0) {
		buf_free(&b);
		resp_error(rs, &err);
		return;
	}
	buf_puts(&b, "]}");
	if (getenv("SFEMU_DEBUG_SQL"))
		fprintf(stderr, "sfemu: page of %zu in %lld ms\n", count,
			(long long)(wall_ms() - t0));
	buf_free(&rs->body);
	rs->body = b;
	rs->status = 200;
	cu->next_offset = off + count;
	cu->last_used = wall_ms();
	if (done)
		cu->done = true;
}

void query_handle(emu *e, req *r, resp *rs, const char *q, bool all)
{
	soql_schema sch;
	schema_soql(e, &sch);
	soql_options opt = {.query_all = all,
			    .seed = e->rng_seed,
			    .now_ms = emu_now(e),
			    .more_parents = schema_more_parents};
	soql_compiled *c = NULL;
	soql_error serr;
	if (all) /* the recycle bin keeps rows for 15 days */
		store_purge(e, NULL, emu_now(e) - 15 * 86400000LL);
	memset(&serr, 0, sizeof serr);
	if (soql_compile(q, &sch, &opt, &c, &serr)) {
		resp_err(rs, serr.http_status ? serr.http_status : 400,
			 serr.code[0] ? serr.code : "MALFORMED_QUERY", serr.message);
		return;
	}
	sqlite3_stmt *st;
	if (getenv("SFEMU_DEBUG_SQL"))
		fprintf(stderr, "sfemu: ids: %s\nsfemu: count: %s\nsfemu: row: %s\n", c->sql_ids,
			c->sql_count, c->sql_row);
	if (c->is_count) {
		if (sqlite3_prepare_v2(e->db, c->sql_count, -1, &st, NULL)) {
			resp_err(rs, 500, "UNKNOWN_EXCEPTION", sqlite3_errmsg(e->db));
			soql_free(c);
			return;
		}
		soql_bind(c, st);
		long long n = 0;
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		soql_free(c);
		buf_free(&rs->body);
		buf_printf(&rs->body, "{\"totalSize\":%lld,\"done\":true,\"records\":[]}", n);
		rs->status = 200;
		return;
	}
	if (sqlite3_prepare_v2(e->db, c->sql_ids, -1, &st, NULL)) {
		resp_err(rs, 500, "UNKNOWN_EXCEPTION", sqlite3_errmsg(e->db));
		soql_free(c);
		return;
	}
	soql_bind(c, st);
	cursor *cu = calloc(1, sizeof *cu);
	cu->c = c;
	cu->all = all;
	cu->live = e->cfg.cursor_live;
	cu->obj = schema_object(&e->schema, c->object);
	size_t cap = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (cu->n == cap) {
			cap = cap ? cap * 2 : 1024;
			cu->rowids = realloc(cu->rowids, cap * sizeof(int64_t));
		}
		cu->rowids[cu->n++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	build_layout(cu, q, e->cfg.key_casing_query);
	cu->batch = batch_size(e, r);
	int max;
	cursor_limits(e, r, &max, &cu->ttl);
	cu->created = cu->last_used = wall_ms();
	/* the locator: an 01g id, unique per cursor */
	uint64_t n = ++cursor_seq;
	emu_object fake = {.key_prefix = "01g"};
	uint64_t saved = e->id_counter, salt = e->id_salt;
	e->id_counter = n + 1000000;
	e->id_salt = salt ^ 0x5bd1e995ULL;
	store_new_id(e, &fake, cu->id);
	e->id_counter = saved;
	e->id_salt = salt;
	send_page(e, r, rs, cu, 0);
	if (cu->done) {
		cursor_free(cu);
		return;
	}
	cursors_gc(e);
	/* finished cursors stay for a replay of their last page, but only a few:
	 * a million-row snapshot is 8 MB */
	int ndone = 0; /* the list runs newest first: keep the 8 newest finished */
	for (cursor **pp = &e->cursors; *pp;) {
		cursor *x = *pp;
		if (x->done && ++ndone > 8) {
			*pp = x->next;
			cursor_free(x);
		} else {
			pp = &x->next;
		}
	}
	/* legacy limit: the oldest open cursor makes room */
	if (max > 0) {
		int open = 0;
		for (cursor *x = e->cursors; x; x = x->next)
			open += !x->done;
		while (open >= max) {
			cursor **oldest = NULL;
			for (cursor **pp = &e->cursors; *pp; pp = &(*pp)->next)
				if (!(*pp)->done &&
				    (!oldest || (*pp)->created <= (*oldest)->created))
					oldest = pp;
			if (!oldest)
				break;
			cursor *x = *oldest;
			*oldest = x->next;
			cursor_free(x);
			open--;
		}
	}
	cu->next = e->cursors;
	e->cursors = cu;
}

void query_more(emu *e, req *r, resp *rs, const char *locator)
{
	cursors_gc(e);
	const char *dash = strchr(locator, '-');
	cursor *cu = NULL;
	size_t off = 0;
	if (dash && dash - locator == 18) {
		char *end;
		off = strtoull(dash + 1, &end, 10);
		if (*end || end == dash + 1)
			dash = NULL;
		for (cursor *x = e->cursors; x && dash; x = x->next)
			if (!strncmp(x->id, locator, 18))
				cu = x;
	}
	if (!cu || off > cu->n || (off == cu->n && cu->n) ||
	    (!e->cfg.cursor_replay && off != cu->next_offset)) {
		resp_err(rs, e->cfg.locator_status, "INVALID_QUERY_LOCATOR",
			 "invalid query locator");
		return;
	}
	if (cu->live) {
		/* the rows matching now, not at query time: inserts and deletes shift pages */
		sqlite3_stmt *st;
		if (!sqlite3_prepare_v2(e->db, cu->c->sql_ids, -1, &st, NULL)) {
			soql_bind(cu->c, st);
			size_t cap = cu->n;
			cu->n = 0;
			while (sqlite3_step(st) == SQLITE_ROW) {
				if (cu->n == cap) {
					cap = cap ? cap * 2 : 1024;
					cu->rowids = realloc(cu->rowids, cap * sizeof(int64_t));
				}
				cu->rowids[cu->n++] = sqlite3_column_int64(st, 0);
			}
			sqlite3_finalize(st);
		}
		if (off > cu->n)
			off = cu->n;
	}
	send_page(e, r, rs, cu, off);
}
