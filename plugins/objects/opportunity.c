/* opportunity.c - the Opportunity and OpportunityContactRole units, both CRM
 * to local. People are linked to opportunities only through contact roles,
 * so the roles sync after both the opportunities and the contacts. */
#include "config.h"
#include "objcommon.h"

static const char *const opportunity_depends[] = {"account", "campaign", NULL};
static const char *const opportunity_role_depends[] = {"opportunity", "contact", NULL};

static const objc_unit_spec opportunity_units[] = {
    {
	.name = "opportunity",
	.sobject = "Opportunity",
	.direction = CRMSYNC_PULL,
	.depends = opportunity_depends,
	.conflict = CRMSYNC_CRM_WINS,
    },
    {
	.name = "opportunitycontactrole",
	.sobject = "OpportunityContactRole",
	.direction = CRMSYNC_PULL,
	.depends = opportunity_role_depends,
	.conflict = CRMSYNC_CRM_WINS,
    },
};

static int opportunity_init(const crmsync_host *host, crmsync_plugin_ctx *self, void **state,
			    crmsync_error *err)
{
	objc_state *st = objc_state_new(host, self, "opportunity", sizeof *st, err);
	int rc;

	if (!st)
		return CRMSYNC_ENOMEM;
	rc = objc_add_units(st, opportunity_units,
			    sizeof opportunity_units / sizeof opportunity_units[0], err);
	if (rc) {
		objc_state_free(st);
		return rc;
	}
	*state = st;
	return 0;
}

static const crmsync_object_ops opportunity_ops = {
    .size = sizeof(crmsync_object_ops),
    .unit_count = objc_unit_count,
    .unit_at = objc_unit_at,
};

CRMSYNC_EXPORT const crmsync_plugin_desc crmsync_plugin = {
    CRMSYNC_PLUGIN_HEADER(CRMSYNC_KIND_OBJECT, "opportunity", PACKAGE_VERSION),
    .description = "Opportunity and OpportunityContactRole: CRM to local",
    .init = opportunity_init,
    .fini = objc_state_free,
    .ops = &opportunity_ops,
};
