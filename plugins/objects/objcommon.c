/* objcommon.c - the standard config keys of every object plugin's units, the
 * sync filter's SOQL condition, and small list and record helpers (see
 * objcommon.h). Compiled into each plugin; uses only the host table. */
#include "objcommon.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define OBJC_KEY_MAX 192

void *objc_state_new(const crmsync_host *host, crmsync_plugin_ctx *self, const char *section,
		     size_t size, crmsync_error *err)
{
	objc_state *st;

	if (size < sizeof(objc_state))
		size = sizeof(objc_state);
	st = host->alloc(size);
	if (!st) {
		host->error_set(err, CRMSYNC_ENOMEM, "[%s]: out of memory", section);
		return NULL;
	}
	memset(st, 0, size);
	st->host = host;
	st->self = self;
	st->section = section;
	return st;
}

void objc_strv_free(const objc_state *st, char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		st->host->free(*p);
	st->host->free(v);
}

void objc_state_free(void *state)
{
	objc_state *st = state;

	if (!st)
		return;
	for (size_t i = 0; i < st->nunits; i++) {
		objc_unit *u = &st->units[i];
		st->host->free(u->name);
		st->host->free(u->sobject);
		st->host->free(u->filter);
		objc_strv_free(st, u->fields);
		objc_strv_free(st, u->local_wins);
		objc_strv_free(st, u->crm_wins);
	}
	st->host->free(st->units);
	st->host->free(st);
}

size_t objc_unit_count(void *state)
{
	return ((objc_state *)state)->nunits;
}

const crmsync_unit_decl *objc_unit_at(void *state, size_t i)
{
	objc_state *st = state;
	return i < st->nunits ? &st->units[i].decl : NULL;
}

char **objc_split(const objc_state *st, const char *text, int commas_only)
{
	size_t cap = 1, n = 0;
	char **v;

	for (const char *p = text; p && *p; p++)
		if (*p == ',' || (!commas_only && isspace((unsigned char)*p)))
			cap++;
	v = st->host->alloc((cap + 1) * sizeof *v);
	if (!v)
		return NULL;
	v[0] = NULL;
	while (text && *text) {
		while (*text == ',' || isspace((unsigned char)*text))
			text++;
		const char *s = text;
		while (*text && *text != ',' && (commas_only || !isspace((unsigned char)*text)))
			text++;
		size_t len = (size_t)(text - s);
		while (len && isspace((unsigned char)s[len - 1]))
			len--;
		if (!len)
			continue;
		v[n] = st->host->alloc(len + 1);
		if (!v[n]) {
			objc_strv_free(st, v);
			return NULL;
		}
		memcpy(v[n], s, len);
		v[n][len] = '\0';
		v[++n] = NULL;
	}
	return v;
}

size_t objc_strv_len(const char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	return n;
}

int objc_strv_has(const char *const *v, const char *s, int icase)
{
	for (; v && *v; v++)
		if (icase ? strcasecmp(*v, s) == 0 : strcmp(*v, s) == 0)
			return 1;
	return 0;
}

char *objc_strv_join(const char *const *v, const char *sep, char *buf, size_t cap)
{
	size_t off = 0;

	if (!cap)
		return buf;
	buf[0] = '\0';
	for (size_t i = 0; v && v[i] && off < cap; i++) {
		int w = snprintf(buf + off, cap - off, "%s%s", i ? sep : "", v[i]);
		if (w < 0)
			break;
		off += (size_t)w;
	}
	return buf;
}

int objc_valid_name(const char *s, int dotted)
{
	int start = 1;

	if (!s || !*s)
		return 0;
	for (; *s; s++) {
		if (start) {
			if (!isalpha((unsigned char)*s))
				return 0;
			start = 0;
		} else if (dotted && *s == '.') {
			start = 1;
		} else if (!isalnum((unsigned char)*s) && *s != '_') {
			return 0;
		}
	}
	return !start;
}

static const char *objc_strcasestr(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return hay;
	return NULL;
}

/* Where a value of the plugin's section was set ("crmsync.conf:12", "-o
 * lead.conflict=x"). The host table has no getter for it (yet), but the typed
 * getters put it at the front of their complaint about a value they cannot
 * read, so a value that is neither yes/no nor a number reveals its place.
 * buf is "" when that does not work; err is overwritten by the caller. */
static void objc_where(const objc_state *st, const char *key, crmsync_error *err, char *buf,
		       size_t cap)
{
	char needle[OBJC_KEY_MAX + 64];
	int b;
	int64_t i;

	buf[0] = '\0';
	if (!err || !st->host->config_get(st->self, key))
		return;
	if (st->host->config_get_bool(st->self, key, 0, &b, err) == 0 &&
	    st->host->config_get_int(st->self, key, 0, &i, err) == 0)
		return;
	const char *msg = st->host->error_message(err);
	snprintf(needle, sizeof needle, ": %s.%s = '", st->section, key);
	const char *at = msg ? objc_strcasestr(msg, needle) : NULL;
	if (!at || at == msg)
		return;
	snprintf(buf, cap, "%.*s", (int)(at - msg), msg);
}

int objc_bad_value(const objc_state *st, const char *key, const char *value, crmsync_error *err,
		   const char *fmt, ...)
{
	char where[512], what[1024];
	va_list ap;

	objc_where(st, key, err, where, sizeof where);
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	if (where[0])
		return st->host->error_set(err, CRMSYNC_EINVAL, "%s: [%s] %s = '%s': %s", where,
					   st->section, key, value ? value : "", what);
	return st->host->error_set(err, CRMSYNC_EINVAL, "[%s] %s = '%s': %s", st->section, key,
				   value ? value : "", what);
}

static int objc_blank(const char *s)
{
	for (; s && *s; s++)
		if (!isspace((unsigned char)*s))
			return 0;
	return 1;
}

/* Copy s without surrounding white space into buf. */
static const char *objc_trim(const char *s, char *buf, size_t cap)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t len = strlen(s);
	while (len && isspace((unsigned char)s[len - 1]))
		len--;
	snprintf(buf, cap, "%.*s", (int)len, s);
	return buf;
}

/* The value of `key` for `unit`: the prefixed key "unit.key" when set (even
 * empty), else the plugin-wide key. Both are always read, so neither is
 * reported as unknown. *key_out names the key the value came from. */
static const char *objc_unit_get(const objc_state *st, const char *unit, const char *key,
				 char *key_out, size_t cap, int *prefixed)
{
	char uk[OBJC_KEY_MAX];
	snprintf(uk, sizeof uk, "%s.%s", unit, key);
	const char *vu = st->host->config_get(st->self, uk);
	const char *va = st->host->config_get(st->self, key);

	*prefixed = vu != NULL;
	snprintf(key_out, cap, "%s", vu ? uk : key);
	return vu ? vu : va;
}

/* SOQL condition syntax we can check without parsing: parentheses never close
 * more than they opened (so the condition cannot escape the parentheses the
 * engine puts around it) and every quote is closed. */
static int objc_balanced(const char *s)
{
	int depth = 0, quoted = 0;

	for (; *s; s++) {
		if (quoted) {
			if (*s == '\\' && s[1])
				s++;
			else if (*s == '\'')
				quoted = 0;
		} else if (*s == '\'') {
			quoted = 1;
		} else if (*s == '(') {
			depth++;
		} else if (*s == ')' && --depth < 0) {
			return 0;
		}
	}
	return depth == 0 && !quoted;
}

/* A field list key: NULL-terminated names in *out (NULL when unset or empty). */
static int objc_field_list(const objc_state *st, const char *key, const char *v, char ***out,
			   crmsync_error *err)
{
	char **l;

	*out = NULL;
	if (!v || objc_blank(v))
		return 0;
	l = objc_split(st, v, 0);
	if (!l)
		return st->host->error_set(err, CRMSYNC_ENOMEM, "[%s] %s: out of memory",
					   st->section, key);
	for (char **p = l; *p; p++) {
		if (!objc_valid_name(*p, 0)) {
			int rc = objc_bad_value(st, key, v, err,
						"'%s' is not a field API name (a letter, then "
						"letters, digits and underscores, e.g. Email or "
						"Score__c)",
						*p);
			objc_strv_free(st, l);
			return rc;
		}
	}
	*out = l;
	return 0;
}

/* Join the non-NULL conditions with AND, each in parentheses unless it is the
 * only one (the engine puts the whole filter in parentheses itself). */
static char *objc_join_conditions(const objc_state *st, const char *const *conds, size_t n)
{
	size_t len = 1, count = 0;
	char *out, *p;

	for (size_t i = 0; i < n; i++)
		if (conds[i]) {
			len += strlen(conds[i]) + sizeof " AND ()";
			count++;
		}
	if (!count)
		return NULL;
	out = p = st->host->alloc(len);
	if (!out)
		return NULL;
	*p = '\0';
	for (size_t i = 0, k = 0; i < n; i++) {
		if (!conds[i])
			continue;
		const char *c = conds[i];
		/* a condition already wrapped in one pair of parentheses keeps it */
		int wrapped = count > 1 && !(c[0] == '(' && c[strlen(c) - 1] == ')' &&
					     objc_balanced(c) && strchr(c + 1, '(') == NULL);
		p += sprintf(p, "%s%s%s%s", k++ ? " AND " : "", wrapped ? "(" : "", c,
			     wrapped ? ")" : "");
	}
	return out;
}

/* Apply the standard keys to one unit. has_two_way: the plugin has a two-way
 * unit, to which plugin-wide push-side keys then apply (and not to this one). */
static int objc_configure(objc_state *st, objc_unit *u, const objc_unit_spec *sp, int has_two_way,
			  crmsync_error *err)
{
	const crmsync_host *h = st->host;
	char key[OBJC_KEY_MAX], tbuf[256], cond[300];
	const char *v, *conds[3] = {sp->base_filter, NULL, NULL};
	int pre, rc;
	int two_way = (sp->direction & CRMSYNC_PUSH) != 0;

	/* conflict = crm | local */
	u->decl.conflict = sp->conflict;
	v = objc_unit_get(st, sp->name, "conflict", key, sizeof key, &pre);
	if (v && !objc_blank(v)) {
		const char *t = objc_trim(v, tbuf, sizeof tbuf);
		int c = strcasecmp(t, "crm") == 0     ? CRMSYNC_CRM_WINS
			: strcasecmp(t, "local") == 0 ? CRMSYNC_LOCAL_WINS
						      : 0;
		if (!c)
			return objc_bad_value(st, key, v, err, "expected crm or local");
		if (c == CRMSYNC_LOCAL_WINS && !two_way) {
			if (pre || !has_two_way)
				return objc_bad_value(st, key, v, err,
						      "unit %s syncs from the CRM to local only, "
						      "so local values never win; use crm",
						      sp->name);
		} else {
			u->decl.conflict = c;
		}
	}

	/* fields = F1, F2 */
	v = objc_unit_get(st, sp->name, "fields", key, sizeof key, &pre);
	if ((rc = objc_field_list(st, key, v, &u->fields, err)))
		return rc;

	/* local_wins = F1, F2 (two-way units) */
	v = objc_unit_get(st, sp->name, "local_wins", key, sizeof key, &pre);
	if (v && !objc_blank(v) && !two_way && (pre || !has_two_way))
		return objc_bad_value(st, key, v, err,
				      "unit %s syncs from the CRM to local only, so no field "
				      "can win locally",
				      sp->name);
	if (two_way && (rc = objc_field_list(st, key, v, &u->local_wins, err)))
		return rc;
	for (char **f = u->local_wins; f && *f; f++) {
		if (objc_strv_has(sp->push_readonly, *f, 1))
			return objc_bad_value(st, key, v, err,
					      "%s of unit %s is never pushed from the local side, "
					      "so it cannot win locally",
					      *f, sp->name);
		if (u->fields && !objc_strv_has((const char *const *)u->fields, *f, 1))
			return objc_bad_value(st, key, v, err,
					      "%s is not among the fields unit %s syncs (%s)", *f,
					      sp->name,
					      objc_strv_join((const char *const *)u->fields, ", ",
							     tbuf, sizeof tbuf));
	}

	/* crm_wins = F1, F2 */
	v = objc_unit_get(st, sp->name, "crm_wins", key, sizeof key, &pre);
	if ((rc = objc_field_list(st, key, v, &u->crm_wins, err)))
		return rc;
	for (char **f = u->crm_wins; f && *f; f++) {
		if (objc_strv_has((const char *const *)u->local_wins, *f, 1))
			return objc_bad_value(st, key, v, err,
					      "%s of unit %s is also listed in local_wins; a field "
					      "can win on one side only",
					      *f, sp->name);
		if (u->fields && !objc_strv_has((const char *const *)u->fields, *f, 1))
			return objc_bad_value(st, key, v, err,
					      "%s is not among the fields unit %s syncs (%s)", *f,
					      sp->name,
					      objc_strv_join((const char *const *)u->fields, ", ",
							     tbuf, sizeof tbuf));
	}

	/* filter = BooleanField: missing, empty or true syncs, only false excludes */
	v = objc_unit_get(st, sp->name, "filter", key, sizeof key, &pre);
	if (v && !objc_blank(v)) {
		const char *t = objc_trim(v, tbuf, sizeof tbuf);
		if (!objc_valid_name(t, 1) || strlen(t) > 120)
			return objc_bad_value(st, key, v, err,
					      "expected the API name of a boolean field, e.g. "
					      "Sync_To_Marketing__c");
		snprintf(cond, sizeof cond, "(%s = null OR %s != false)", t, t);
		conds[1] = cond;
	}

	/* where = raw SOQL condition */
	v = objc_unit_get(st, sp->name, "where", key, sizeof key, &pre);
	if (v && !objc_blank(v)) {
		if (!objc_balanced(v))
			return objc_bad_value(
			    st, key, v, err,
			    "unbalanced parentheses or quotes; expected a SOQL "
			    "condition such as Amount > 0 AND Stage__c != 'Lost'");
		conds[2] = v;
	}
	if (conds[0] || conds[1] || conds[2]) {
		u->filter = objc_join_conditions(st, conds, 3);
		if (!u->filter)
			return h->error_set(err, CRMSYNC_ENOMEM, "[%s]: out of memory",
					    st->section);
	}

	u->decl.size = sizeof u->decl;
	u->decl.name = u->name;
	u->decl.sobject = u->sobject;
	u->decl.direction = sp->direction;
	u->decl.depends = sp->depends;
	u->decl.fields = (const char *const *)u->fields;
	u->decl.local_wins_fields = (const char *const *)u->local_wins;
	u->decl.crm_wins_fields = (const char *const *)u->crm_wins;
	u->decl.delete_policy = CRMSYNC_DELETE_TOMBSTONE;
	u->decl.filter = u->filter;
	u->decl.push_readonly_fields = sp->push_readonly;
	u->decl.hooks = sp->hooks;
	return 0;
}

int objc_add_units(objc_state *st, const objc_unit_spec *specs, size_t n, crmsync_error *err)
{
	const crmsync_host *h = st->host;
	int has_two_way = 0;
	objc_unit *units;

	for (size_t i = 0; i < n; i++)
		if (specs[i].direction & CRMSYNC_PUSH)
			has_two_way = 1;
	units = h->realloc(st->units, (st->nunits + n) * sizeof *units);
	if (!units)
		return h->error_set(err, CRMSYNC_ENOMEM, "[%s]: out of memory", st->section);
	st->units = units;
	for (size_t i = 0; i < n; i++) {
		objc_unit *u = &st->units[st->nunits];
		memset(u, 0, sizeof *u);
		st->nunits++; /* counted now, so objc_state_free frees what it holds */
		u->name = h->strdup(specs[i].name);
		u->sobject = h->strdup(specs[i].sobject);
		if (!u->name || !u->sobject)
			return h->error_set(err, CRMSYNC_ENOMEM, "[%s]: out of memory",
					    st->section);
		int rc = objc_configure(st, u, &specs[i], has_two_way, err);
		if (rc)
			return rc;
	}
	/* a decl points only at heap strings and static data, never into the
	 * units array, so growing the array above moved nothing it refers to */
	return 0;
}

int objc_field_empty(const objc_state *st, const crmsync_record *rec, const char *field)
{
	crmsync_value v;

	if (st->host->record_get(rec, field, &v) != 0 || v.type == CRMSYNC_NULL)
		return 1;
	if (v.type != CRMSYNC_STRING && v.type != CRMSYNC_ID && v.type != CRMSYNC_DATE)
		return 0;
	for (size_t i = 0; i < v.len; i++)
		if (!isspace((unsigned char)v.u.s[i]))
			return 0;
	return 1;
}

int objc_set_string(const objc_state *st, crmsync_record *rec, const char *field, const char *s)
{
	crmsync_value v = {.type = CRMSYNC_STRING, .len = strlen(s), .u.s = s};
	return st->host->record_set(rec, field, &v) ? CRMSYNC_ENOMEM : 0;
}

const char *objc_field_text(const objc_state *st, const crmsync_record *rec, const char *field,
			    char *buf, size_t cap)
{
	crmsync_value v;

	if (!cap)
		return buf;
	buf[0] = '\0';
	if (st->host->record_get(rec, field, &v) != 0)
		return buf;
	if (v.type == CRMSYNC_STRING || v.type == CRMSYNC_ID || v.type == CRMSYNC_DATE) {
		size_t n = v.len < cap - 1 ? v.len : cap - 1;
		memcpy(buf, v.u.s, n);
		buf[n] = '\0';
	}
	return buf;
}
