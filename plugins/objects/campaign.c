/* campaign.c - the Campaign unit (CRM to local) and the CampaignMember unit
 * (two-way, CRM wins: membership and status), members after their campaign
 * and their lead or contact.
 *
 * A member status must be one the campaign defines. The plugin knows the
 * statuses from its config, and map_out refuses any other before it is sent,
 * with a message naming the status and the allowed ones; the record's error
 * is stored and nothing goes to the CRM.
 *
 * Keys of [campaign], besides the standard ones (objcommon.h):
 *   member_statuses = Sent, Responded     (comma-separated; values may hold spaces)
 */
#include "config.h"
#include "objcommon.h"

#include <stdio.h>
#include <string.h>

#define CAMPAIGN_STATUSES "Sent, Responded"

struct campaign_state {
	objc_state base;
	char **statuses;
	char allowed[512]; /* the statuses as one text, for messages */
};

static int campaign_member_map_out(void *state, const crmsync_unit_decl *unit, crmsync_record *rec,
				   int is_create, crmsync_error *err)
{
	struct campaign_state *st = state;
	crmsync_value v;
	char status[256], id[64], who[80];

	(void)is_create;
	if (strcmp(unit->name, "campaignmember") != 0)
		return 0;
	if (st->base.host->record_get(rec, "Status", &v) != 0)
		return 0; /* not changed (or a create that takes the campaign's default) */
	/* the engine adds Id after map_out; name it when it is there */
	objc_field_text(&st->base, rec, "Id", id, sizeof id);
	snprintf(who, sizeof who, "campaign member%s%s", id[0] ? " " : "", id);
	if (v.type != CRMSYNC_STRING || objc_field_empty(&st->base, rec, "Status"))
		return st->base.host->error_set(
		    err, CRMSYNC_EINVAL,
		    "%s: Status is empty; a member's status must be one of: "
		    "%s ([campaign] member_statuses)",
		    who, st->allowed);
	objc_field_text(&st->base, rec, "Status", status, sizeof status);
	if (!objc_strv_has((const char *const *)st->statuses, status, 0))
		return st->base.host->error_set(
		    err, CRMSYNC_EINVAL,
		    "%s: Status '%s' is not a status of the campaign; "
		    "allowed: %s ([campaign] member_statuses); not sent",
		    who, status, st->allowed);
	return 0;
}

static const crmsync_unit_hooks campaign_member_hooks = {
    .size = sizeof(crmsync_unit_hooks),
    .map_out = campaign_member_map_out,
};

static const char *const campaign_member_depends[] = {"campaign", "lead", "contact", NULL};

static const objc_unit_spec campaign_units[] = {
    {
	.name = "campaign",
	.sobject = "Campaign",
	.direction = CRMSYNC_PULL,
	.conflict = CRMSYNC_CRM_WINS,
    },
    {
	.name = "campaignmember",
	.sobject = "CampaignMember",
	.direction = CRMSYNC_BOTH,
	.depends = campaign_member_depends,
	.conflict = CRMSYNC_CRM_WINS,
	.hooks = &campaign_member_hooks,
    },
};

static void campaign_fini(void *state)
{
	struct campaign_state *st = state;

	if (!st)
		return;
	objc_strv_free(&st->base, st->statuses);
	objc_state_free(st);
}

static int campaign_read_statuses(struct campaign_state *st, crmsync_error *err)
{
	const crmsync_host *h = st->base.host;
	const char *v = h->config_get(st->base.self, "member_statuses");

	st->statuses = objc_split(&st->base, v ? v : CAMPAIGN_STATUSES, 1);
	if (!st->statuses)
		return h->error_set(err, CRMSYNC_ENOMEM, "[campaign]: out of memory");
	if (!st->statuses[0])
		return objc_bad_value(&st->base, "member_statuses", v, err,
				      "expected one or more statuses, comma-separated, e.g. "
				      "Sent, Responded");
	for (char **s = st->statuses; *s; s++)
		if (strlen(*s) > 255)
			return objc_bad_value(&st->base, "member_statuses", v, err,
					      "a status has at most 255 characters");
	objc_strv_join((const char *const *)st->statuses, ", ", st->allowed, sizeof st->allowed);
	return 0;
}

static int campaign_init(const crmsync_host *host, crmsync_plugin_ctx *self, void **state,
			 crmsync_error *err)
{
	struct campaign_state *st = objc_state_new(host, self, "campaign", sizeof *st, err);
	int rc;

	if (!st)
		return CRMSYNC_ENOMEM;
	rc = objc_add_units(&st->base, campaign_units, 2, err);
	if (!rc)
		rc = campaign_read_statuses(st, err);
	if (rc) {
		campaign_fini(st);
		return rc;
	}
	*state = st;
	return 0;
}

static const crmsync_object_ops campaign_ops = {
    .size = sizeof(crmsync_object_ops),
    .unit_count = objc_unit_count,
    .unit_at = objc_unit_at,
};

CRMSYNC_EXPORT const crmsync_plugin_desc crmsync_plugin = {
    CRMSYNC_PLUGIN_HEADER(CRMSYNC_KIND_OBJECT, "campaign", PACKAGE_VERSION),
    .description = "Campaign (CRM to local) and CampaignMember (two-way, CRM wins)",
    .init = campaign_init,
    .fini = campaign_fini,
    .ops = &campaign_ops,
};
