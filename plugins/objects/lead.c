/* lead.c - the Lead unit: two-way, local wins on conflict, after users.
 *
 * The CRM requires LastName and Company when a lead is created; a person
 * known locally often has neither. On the first push only, an empty or
 * missing LastName or Company is filled with a configurable default (the
 * reference system uses "[not provided]"); later pushes send what the local
 * row holds. A lead converted in the CRM keeps its local row, linked to the
 * contact through its ConvertedContactId column, so the person is one row
 * pointing at the other, not two strangers.
 *
 * Keys of [lead], besides the standard ones (objcommon.h):
 *   default_last_name = [not provided]
 *   default_company   = [not provided]
 */
#include "config.h"
#include "objcommon.h"

#include <string.h>

#define LEAD_DEFAULT "[not provided]"

struct lead_state {
	objc_state base;
	char *last_name;
	char *company;
};

/* The number of UTF-8 characters of s (the CRM's lengths are in characters). */
static size_t lead_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* A default for a required field: not empty, within the CRM's length. */
static int lead_default(struct lead_state *st, const char *key, size_t max_chars, char **out,
			crmsync_error *err)
{
	const crmsync_host *h = st->base.host;
	const char *v = h->config_get(st->base.self, key);
	const char *s = v ? v : LEAD_DEFAULT;

	while (*s == ' ' || *s == '\t')
		s++;
	if (!*s)
		return objc_bad_value(&st->base, key, v, err,
				      "expected a non-empty text: the CRM refuses a new lead "
				      "without it");
	if (lead_chars(s) > max_chars)
		return objc_bad_value(&st->base, key, v, err,
				      "expected at most %zu characters (the CRM's limit)",
				      max_chars);
	*out = h->strdup(s);
	return *out ? 0 : h->error_set(err, CRMSYNC_ENOMEM, "[lead]: out of memory");
}

static int lead_map_out(void *state, const crmsync_unit_decl *unit, crmsync_record *rec,
			int is_create, crmsync_error *err)
{
	struct lead_state *st = state;

	(void)unit;
	if (!is_create)
		return 0;
	if (objc_field_empty(&st->base, rec, "LastName") &&
	    objc_set_string(&st->base, rec, "LastName", st->last_name))
		return st->base.host->error_set(err, CRMSYNC_ENOMEM, "lead: out of memory");
	if (objc_field_empty(&st->base, rec, "Company") &&
	    objc_set_string(&st->base, rec, "Company", st->company))
		return st->base.host->error_set(err, CRMSYNC_ENOMEM, "lead: out of memory");
	return 0;
}

static int lead_on_convert(void *state, const crmsync_unit_decl *unit, const crmsync_record *rec,
			   crmsync_error *err)
{
	struct lead_state *st = state;
	char id[64], contact[64], account[64];

	(void)unit;
	(void)err;
	objc_field_text(&st->base, rec, "Id", id, sizeof id);
	objc_field_text(&st->base, rec, "ConvertedContactId", contact, sizeof contact);
	objc_field_text(&st->base, rec, "ConvertedAccountId", account, sizeof account);
	if (contact[0])
		st->base.host->log(st->base.self, CRMSYNC_LOG_INFO,
				   "lead %s was converted to contact %s%s%s; the local lead "
				   "links to it through ConvertedContactId",
				   id, contact, account[0] ? " of account " : "", account);
	else
		st->base.host->log(st->base.self, CRMSYNC_LOG_INFO,
				   "lead %s was converted without creating a contact%s%s", id,
				   account[0] ? "; account " : "", account);
	return 0;
}

static int lead_on_merge(void *state, const crmsync_unit_decl *unit, const char *loser_id,
			 const char *winner_id, crmsync_error *err)
{
	struct lead_state *st = state;

	(void)err;
	st->base.host->log(st->base.self, CRMSYNC_LOG_INFO,
			   "%s %s was merged into %s in the CRM; the local row was folded into "
			   "the winner",
			   unit->name, loser_id, winner_id);
	return 0;
}

static const crmsync_unit_hooks lead_hooks = {
    .size = sizeof(crmsync_unit_hooks),
    .map_out = lead_map_out,
    .on_merge = lead_on_merge,
    .on_convert = lead_on_convert,
};

static const char *const lead_depends[] = {"user", NULL};

static const objc_unit_spec lead_units[] = {{
    .name = "lead",
    .sobject = "Lead",
    .direction = CRMSYNC_BOTH,
    .depends = lead_depends,
    .conflict = CRMSYNC_LOCAL_WINS,
    .hooks = &lead_hooks,
}};

static void lead_fini(void *state)
{
	struct lead_state *st = state;

	if (!st)
		return;
	st->base.host->free(st->last_name);
	st->base.host->free(st->company);
	objc_state_free(st);
}

static int lead_init(const crmsync_host *host, crmsync_plugin_ctx *self, void **state,
		     crmsync_error *err)
{
	struct lead_state *st = objc_state_new(host, self, "lead", sizeof *st, err);
	int rc;

	if (!st)
		return CRMSYNC_ENOMEM;
	rc = objc_add_units(&st->base, lead_units, 1, err);
	if (!rc)
		rc = lead_default(st, "default_last_name", 80, &st->last_name, err);
	if (!rc)
		rc = lead_default(st, "default_company", 255, &st->company, err);
	if (rc) {
		lead_fini(st);
		return rc;
	}
	*state = st;
	return 0;
}

static const crmsync_object_ops lead_ops = {
    .size = sizeof(crmsync_object_ops),
    .unit_count = objc_unit_count,
    .unit_at = objc_unit_at,
};

CRMSYNC_EXPORT const crmsync_plugin_desc crmsync_plugin = {
    CRMSYNC_PLUGIN_HEADER(CRMSYNC_KIND_OBJECT, "lead", PACKAGE_VERSION),
    .description = "Lead: two-way, local wins; defaults for LastName and Company on create",
    .init = lead_init,
    .fini = lead_fini,
    .ops = &lead_ops,
};
