/* account.c - the Account unit: CRM to local, after users. Local edits are
 * not pushed and are overwritten by the next change in the CRM. */
#include "config.h"
#include "objcommon.h"

static const char *const account_depends[] = {"user", NULL};

static const objc_unit_spec account_units[] = {{
    .name = "account",
    .sobject = "Account",
    .direction = CRMSYNC_PULL,
    .depends = account_depends,
    .conflict = CRMSYNC_CRM_WINS,
}};

static int account_init(const crmsync_host *host, crmsync_plugin_ctx *self, void **state,
			crmsync_error *err)
{
	objc_state *st = objc_state_new(host, self, "account", sizeof *st, err);
	int rc;

	if (!st)
		return CRMSYNC_ENOMEM;
	rc = objc_add_units(st, account_units, sizeof account_units / sizeof account_units[0], err);
	if (rc) {
		objc_state_free(st);
		return rc;
	}
	*state = st;
	return 0;
}

static const crmsync_object_ops account_ops = {
    .size = sizeof(crmsync_object_ops),
    .unit_count = objc_unit_count,
    .unit_at = objc_unit_at,
};

CRMSYNC_EXPORT const crmsync_plugin_desc crmsync_plugin = {
    CRMSYNC_PLUGIN_HEADER(CRMSYNC_KIND_OBJECT, "account", PACKAGE_VERSION),
    .description = "Account: CRM to local, CRM wins",
    .init = account_init,
    .fini = objc_state_free,
    .ops = &account_ops,
};
