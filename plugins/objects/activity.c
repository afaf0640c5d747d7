/* activity.c - the Task and Event units, CRM to local, after leads and
 * contacts. Only activities tied to a person are synced: every pull carries
 * WhoId != null, combined with AND with any configured filter. */
#include "config.h"
#include "objcommon.h"

#define ACTIVITY_WHO "WhoId != null"

static const char *const activity_depends[] = {"lead", "contact", NULL};

static const objc_unit_spec activity_units[] = {
    {
	.name = "task",
	.sobject = "Task",
	.direction = CRMSYNC_PULL,
	.depends = activity_depends,
	.conflict = CRMSYNC_CRM_WINS,
	.base_filter = ACTIVITY_WHO,
    },
    {
	.name = "event",
	.sobject = "Event",
	.direction = CRMSYNC_PULL,
	.depends = activity_depends,
	.conflict = CRMSYNC_CRM_WINS,
	.base_filter = ACTIVITY_WHO,
    },
};

static int activity_init(const crmsync_host *host, crmsync_plugin_ctx *self, void **state,
			 crmsync_error *err)
{
	objc_state *st = objc_state_new(host, self, "activity", sizeof *st, err);
	int rc;

	if (!st)
		return CRMSYNC_ENOMEM;
	rc = objc_add_units(st, activity_units, sizeof activity_units / sizeof activity_units[0],
			    err);
	if (rc) {
		objc_state_free(st);
		return rc;
	}
	*state = st;
	return 0;
}

static const crmsync_object_ops activity_ops = {
    .size = sizeof(crmsync_object_ops),
    .unit_count = objc_unit_count,
    .unit_at = objc_unit_at,
};

CRMSYNC_EXPORT const crmsync_plugin_desc crmsync_plugin = {
    CRMSYNC_PLUGIN_HEADER(CRMSYNC_KIND_OBJECT, "activity", PACKAGE_VERSION),
    .description = "Task and Event: CRM to local, only those tied to a lead or contact",
    .init = activity_init,
    .fini = objc_state_free,
    .ops = &activity_ops,
};
