/* user.c - the User unit: CRM to local, first of all units, because leads,
 * contacts and accounts point at their owners. */
#include "config.h"
#include "objcommon.h"

static const objc_unit_spec user_units[] = {{
    .name = "user",
    .sobject = "User",
    .direction = CRMSYNC_PULL,
    .conflict = CRMSYNC_CRM_WINS,
}};

static int user_init(const crmsync_host *host, crmsync_plugin_ctx *self, void **state,
		     crmsync_error *err)
{
	objc_state *st = objc_state_new(host, self, "user", sizeof *st, err);
	int rc;

	if (!st)
		return CRMSYNC_ENOMEM;
	rc = objc_add_units(st, user_units, sizeof user_units / sizeof user_units[0], err);
	if (rc) {
		objc_state_free(st);
		return rc;
	}
	*state = st;
	return 0;
}

static const crmsync_object_ops user_ops = {
    .size = sizeof(crmsync_object_ops),
    .unit_count = objc_unit_count,
    .unit_at = objc_unit_at,
};

CRMSYNC_EXPORT const crmsync_plugin_desc crmsync_plugin = {
    CRMSYNC_PLUGIN_HEADER(CRMSYNC_KIND_OBJECT, "user", PACKAGE_VERSION),
    .description = "User: CRM to local (owners of leads, contacts and accounts)",
    .init = user_init,
    .fini = objc_state_free,
    .ops = &user_ops,
};
