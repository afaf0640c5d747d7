/* contact.c - the Contact unit: two-way, CRM wins on conflict, after accounts
 * and users. The owner is never changed from the local side: OwnerId is
 * declared push-read-only, so the engine never sends it, and map_out drops it
 * as well, so no path of a local change can reassign a contact in the CRM. */
#include "config.h"
#include "objcommon.h"

static int contact_map_out(void *state, const crmsync_unit_decl *unit, crmsync_record *rec,
			   int is_create, crmsync_error *err)
{
	objc_state *st = state;

	(void)unit;
	(void)is_create;
	(void)err;
	st->host->record_unset(rec, "OwnerId"); /* absent is fine */
	return 0;
}

static int contact_on_merge(void *state, const crmsync_unit_decl *unit, const char *loser_id,
			    const char *winner_id, crmsync_error *err)
{
	objc_state *st = state;

	(void)err;
	st->host->log(st->self, CRMSYNC_LOG_INFO,
		      "%s %s was merged into %s in the CRM; the local row was folded into the "
		      "winner",
		      unit->name, loser_id, winner_id);
	return 0;
}

static const crmsync_unit_hooks contact_hooks = {
    .size = sizeof(crmsync_unit_hooks),
    .map_out = contact_map_out,
    .on_merge = contact_on_merge,
};

static const char *const contact_depends[] = {"account", "user", NULL};
static const char *const contact_readonly[] = {"OwnerId", NULL};

static const objc_unit_spec contact_units[] = {{
    .name = "contact",
    .sobject = "Contact",
    .direction = CRMSYNC_BOTH,
    .depends = contact_depends,
    .conflict = CRMSYNC_CRM_WINS,
    .push_readonly = contact_readonly,
    .hooks = &contact_hooks,
}};

static int contact_init(const crmsync_host *host, crmsync_plugin_ctx *self, void **state,
			crmsync_error *err)
{
	objc_state *st = objc_state_new(host, self, "contact", sizeof *st, err);
	int rc;

	if (!st)
		return CRMSYNC_ENOMEM;
	rc = objc_add_units(st, contact_units, 1, err);
	if (rc) {
		objc_state_free(st);
		return rc;
	}
	*state = st;
	return 0;
}

static const crmsync_object_ops contact_ops = {
    .size = sizeof(crmsync_object_ops),
    .unit_count = objc_unit_count,
    .unit_at = objc_unit_at,
};

CRMSYNC_EXPORT const crmsync_plugin_desc crmsync_plugin = {
    CRMSYNC_PLUGIN_HEADER(CRMSYNC_KIND_OBJECT, "contact", PACKAGE_VERSION),
    .description = "Contact: two-way, CRM wins; the owner is never changed locally",
    .init = contact_init,
    .fini = objc_state_free,
    .ops = &contact_ops,
};
