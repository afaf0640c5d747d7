/*
 * test_objects.c - the eight object plugins, loaded through the real loader
 * from the build tree, as the daemon loads them: the units they declare
 * (objects, directions, dependencies, conflict policies), the SOQL conditions
 * their filters become, refusal of bad config with the key and its place,
 * and the hooks' rules: lead defaults on create only, contact never pushes
 * the owner, campaign member statuses, custom objects from [sync]
 * custom_objects. Also the out-of-tree example tests/thirdparty/invoice.c.
 */
#include "config.h"
#include "conf.h"
#include "loader.h"
#include "log.h"
#include "record.h"
#include "timeutil.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

static char plugdir[4096], thirddir[4096];

/* One loaded plugin with the config it was given. */
struct fx {
	cs_config *cfg;
	cs_loader *ld;
	cs_plugin *p;
	cs_error err;
	int rc;
};

/* Settings are "section.key=value" as with -o, or, with a leading '@',
 * "@section.key=value" set as if read from crmsync.conf line 7. */
static void fx_load_dir(struct fx *f, const char *dir, const char *name, const char *const *set)
{
	char path[4200];

	memset(f, 0, sizeof *f);
	f->cfg = cs_config_new();
	assert_non_null(f->cfg);
	for (const char *const *s = set; s && *s; s++) {
		if (**s == '@') {
			char sec[64], key[128];
			const char *dot = strchr(*s, '.'), *eq = strchr(*s, '=');
			assert_non_null(dot);
			assert_non_null(eq);
			snprintf(sec, sizeof sec, "%.*s", (int)(dot - *s - 1), *s + 1);
			snprintf(key, sizeof key, "%.*s", (int)(eq - dot - 1), dot + 1);
			assert_int_equal(
			    cs_config_set(f->cfg, sec, key, eq + 1, "crmsync.conf:7", &f->err), 0);
		} else {
			assert_int_equal(cs_config_override(f->cfg, *s, &f->err), 0);
		}
	}
	f->ld = cs_loader_new(f->cfg, &f->err);
	assert_non_null(f->ld);
	snprintf(path, sizeof path, "%s/%s.la", dir, name);
	f->rc = cs_loader_load_file(f->ld, path, &f->p, &f->err);
}

static void fx_load(struct fx *f, const char *name, const char *const *set)
{
	fx_load_dir(f, plugdir, name, set);
}

static void fx_free(struct fx *f)
{
	cs_loader_free(f->ld);
	cs_config_free(f->cfg);
}

static const crmsync_unit_decl *fx_unit(const struct fx *f, const char *name)
{
	const crmsync_object_ops *ops = cs_plugin_object(f->p);
	for (size_t i = 0; i < ops->unit_count(f->p->state); i++) {
		const crmsync_unit_decl *u = ops->unit_at(f->p->state, i);
		if (strcmp(u->name, name) == 0)
			return u;
	}
	print_error("plugin %s has no unit %s\n", f->p->name, name);
	fail();
	return NULL;
}

static void join(const char *const *v, char *buf, size_t cap)
{
	buf[0] = '\0';
	for (size_t i = 0; v && v[i]; i++)
		snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s", i ? "," : "", v[i]);
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!hay || !strstr(hay, needle)) {
		print_error("'%s'\n  lacks '%s'\n", hay ? hay : "(null)", needle);
		fail();
	}
}

/* ------------------------------------------------------------------------ */

struct expect_unit {
	const char *plugin, *unit, *sobject;
	int direction, conflict;
	const char *depends, *filter, *readonly;
	int map_out, on_convert;
};

static const struct expect_unit expected_units[] = {
    {"user", "user", "User", CRMSYNC_PULL, CRMSYNC_CRM_WINS, "", NULL, "", 0, 0},
    {"account", "account", "Account", CRMSYNC_PULL, CRMSYNC_CRM_WINS, "user", NULL, "", 0, 0},
    {"lead", "lead", "Lead", CRMSYNC_BOTH, CRMSYNC_LOCAL_WINS, "user", NULL, "", 1, 1},
    {"contact", "contact", "Contact", CRMSYNC_BOTH, CRMSYNC_CRM_WINS, "account,user", NULL,
     "OwnerId", 1, 0},
    {"opportunity", "opportunity", "Opportunity", CRMSYNC_PULL, CRMSYNC_CRM_WINS,
     "account,campaign", NULL, "", 0, 0},
    {"opportunity", "opportunitycontactrole", "OpportunityContactRole", CRMSYNC_PULL,
     CRMSYNC_CRM_WINS, "opportunity,contact", NULL, "", 0, 0},
    {"campaign", "campaign", "Campaign", CRMSYNC_PULL, CRMSYNC_CRM_WINS, "", NULL, "", 0, 0},
    {"campaign", "campaignmember", "CampaignMember", CRMSYNC_BOTH, CRMSYNC_CRM_WINS,
     "campaign,lead,contact", NULL, "", 1, 0},
    {"activity", "task", "Task", CRMSYNC_PULL, CRMSYNC_CRM_WINS, "lead,contact", "WhoId != null",
     "", 0, 0},
    {"activity", "event", "Event", CRMSYNC_PULL, CRMSYNC_CRM_WINS, "lead,contact", "WhoId != null",
     "", 0, 0},
    {"custom", "invoice__c", "Invoice__c", CRMSYNC_PULL, CRMSYNC_CRM_WINS, "account,contact", NULL,
     "", 0, 0},
};

static void test_units_declared(void **state)
{
	(void)state;
	static const char *const set[] = {"sync.custom_objects=Invoice__c", NULL};
	static const struct {
		const char *plugin;
		size_t units;
	} counts[] = {{"lead", 1},	  {"contact", 1},  {"account", 1},  {"user", 1},
		      {"opportunity", 2}, {"campaign", 2}, {"activity", 2}, {"custom", 1}};

	for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
		struct fx f;
		fx_load(&f, counts[i].plugin, set);
		if (f.rc)
			print_error("%s: %s\n", counts[i].plugin, f.err.msg);
		assert_int_equal(f.rc, 0);
		assert_string_equal(f.p->name, counts[i].plugin);
		assert_string_equal(f.p->desc->version, PACKAGE_VERSION);
		assert_int_equal(cs_plugin_object(f.p)->unit_count(f.p->state), counts[i].units);
		fx_free(&f);
	}
	for (size_t i = 0; i < sizeof expected_units / sizeof expected_units[0]; i++) {
		const struct expect_unit *x = &expected_units[i];
		struct fx f;
		char buf[256];

		fx_load(&f, x->plugin, set);
		assert_int_equal(f.rc, 0);
		const crmsync_unit_decl *u = fx_unit(&f, x->unit);
		assert_int_equal(u->size, sizeof(crmsync_unit_decl));
		assert_string_equal(u->sobject, x->sobject);
		assert_int_equal(u->direction, x->direction);
		assert_int_equal(u->conflict, x->conflict);
		assert_int_equal(u->delete_policy, CRMSYNC_DELETE_TOMBSTONE);
		assert_null(u->fields); /* every field the sync user can read */
		assert_null(u->local_wins_fields);
		assert_null(u->crm_wins_fields);
		join(u->depends, buf, sizeof buf);
		assert_string_equal(buf, x->depends);
		join(u->push_readonly_fields, buf, sizeof buf);
		assert_string_equal(buf, x->readonly);
		if (x->filter)
			assert_string_equal(u->filter, x->filter);
		else
			assert_null(u->filter);
		assert_int_equal(u->hooks && u->hooks->map_out, x->map_out);
		assert_int_equal(u->hooks && u->hooks->on_convert, x->on_convert);
		fx_free(&f);
	}
}

/* The filter of `unit` of `plugin` under the settings. */
static void expect_filter(const char *plugin, const char *unit, const char *const *set,
			  const char *want)
{
	struct fx f;

	fx_load(&f, plugin, set);
	if (f.rc)
		print_error("%s\n", f.err.msg);
	assert_int_equal(f.rc, 0);
	const crmsync_unit_decl *u = fx_unit(&f, unit);
	if (want)
		assert_string_equal(u->filter, want);
	else
		assert_null(u->filter);
	fx_free(&f);
}

static void test_filters_become_soql_conditions(void **state)
{
	(void)state;
	/* missing, empty or true syncs; only an explicit false excludes */
	static const char *const lead_f[] = {"lead.filter=Sync_To_Marketing__c", NULL};
	expect_filter("lead", "lead", lead_f,
		      "(Sync_To_Marketing__c = null OR Sync_To_Marketing__c != false)");
	static const char *const lead_fw[] = {"lead.filter=Sync__c", "lead.where=Country = 'DE'",
					      NULL};
	expect_filter("lead", "lead", lead_fw,
		      "(Sync__c = null OR Sync__c != false) AND (Country = 'DE')");
	static const char *const lead_w[] = {"lead.where=AnnualRevenue > 1000000", NULL};
	expect_filter("lead", "lead", lead_w, "AnnualRevenue > 1000000");
	/* a relationship field may decide too */
	static const char *const contact_rel[] = {"contact.filter=Account.Sync__c", NULL};
	expect_filter("contact", "contact", contact_rel,
		      "(Account.Sync__c = null OR Account.Sync__c != false)");
	/* activities keep their WhoId condition, whatever is configured */
	static const char *const act[] = {"activity.filter=Sync__c", NULL};
	expect_filter("activity", "task", act,
		      "(WhoId != null) AND (Sync__c = null OR Sync__c != false)");
	expect_filter("activity", "event", act,
		      "(WhoId != null) AND (Sync__c = null OR Sync__c != false)");
	/* a unit-prefixed key applies to that unit only */
	static const char *const act_task[] = {"activity.task.where=Status != 'Completed'", NULL};
	expect_filter("activity", "task", act_task, "(WhoId != null) AND (Status != 'Completed')");
	expect_filter("activity", "event", act_task, "WhoId != null");
	/* plugin-wide for both units, switched off for one by an empty prefixed key */
	static const char *const camp[] = {"campaign.filter=Sync__c",
					   "campaign.campaignmember.filter=", NULL};
	expect_filter("campaign", "campaign", camp, "(Sync__c = null OR Sync__c != false)");
	expect_filter("campaign", "campaignmember", camp, NULL);
	/* custom objects: per object in [custom] */
	static const char *const cust[] = {"sync.custom_objects=Invoice__c, Shipment__c",
					   "custom.invoice__c.filter=Marketing__c", NULL};
	expect_filter("custom", "invoice__c", cust,
		      "(Marketing__c = null OR Marketing__c != false)");
	expect_filter("custom", "shipment__c", cust, NULL);
}

static void test_conflict_and_field_keys(void **state)
{
	(void)state;
	struct fx f;
	char buf[256];

	static const char *const lead_crm[] = {"lead.conflict=crm", "lead.crm_wins=Email, Phone",
					       NULL};
	fx_load(&f, "lead", lead_crm);
	assert_int_equal(f.rc, 0);
	assert_int_equal(fx_unit(&f, "lead")->conflict, CRMSYNC_CRM_WINS);
	join(fx_unit(&f, "lead")->crm_wins_fields, buf, sizeof buf);
	assert_string_equal(buf, "Email,Phone");
	fx_free(&f);

	static const char *const contact_local[] = {"contact.conflict=local",
						    "contact.fields=Email, Phone, Title",
						    "contact.local_wins=Title", NULL};
	fx_load(&f, "contact", contact_local);
	assert_int_equal(f.rc, 0);
	assert_int_equal(fx_unit(&f, "contact")->conflict, CRMSYNC_LOCAL_WINS);
	join(fx_unit(&f, "contact")->fields, buf, sizeof buf);
	assert_string_equal(buf, "Email,Phone,Title");
	join(fx_unit(&f, "contact")->local_wins_fields, buf, sizeof buf);
	assert_string_equal(buf, "Title");
	fx_free(&f);

	/* plugin-wide conflict = local reaches the two-way member unit only */
	static const char *const camp_local[] = {"campaign.conflict=local", NULL};
	fx_load(&f, "campaign", camp_local);
	assert_int_equal(f.rc, 0);
	assert_int_equal(fx_unit(&f, "campaignmember")->conflict, CRMSYNC_LOCAL_WINS);
	assert_int_equal(fx_unit(&f, "campaign")->conflict, CRMSYNC_CRM_WINS);
	fx_free(&f);
}

struct bad_case {
	const char *plugin;
	const char *set[3];
	const char *needles[3];
};

static const struct bad_case bad_cases[] = {
    {"lead", {"@lead.conflict=remote"}, {"[lead] conflict = 'remote'", "expected crm or local"}},
    {"lead",
     {"@lead.filter=Sync Flag"},
     {"[lead] filter = 'Sync Flag'", "API name of a boolean field"}},
    {"lead",
     {"@lead.lead.where=Score > 1) OR (IsDeleted = true"},
     {"[lead] lead.where = ", "unbalanced parentheses"}},
    {"lead", {"@lead.where=Name = 'x"}, {"[lead] where = 'Name = 'x'", "unbalanced"}},
    {"lead",
     {"@lead.fields=Email, 2nd"},
     {"[lead] fields = 'Email, 2nd'", "'2nd' is not a field API name"}},
    {"lead", {"@lead.default_company= "}, {"[lead] default_company", "non-empty"}},
    {"lead",
     {"@lead.default_last_name=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxx"},
     {"[lead] default_last_name", "at most 80 characters"}},
    {"account", {"@account.conflict=local"}, {"[account] conflict = 'local'", "CRM to local"}},
    {"account",
     {"@account.local_wins=Name"},
     {"[account] local_wins = 'Name'", "no field can win locally"}},
    {"contact",
     {"@contact.local_wins=OwnerId"},
     {"[contact] local_wins = 'OwnerId'", "never pushed from the local side"}},
    {"contact",
     {"@contact.local_wins=Email", "@contact.crm_wins=Phone, Email"},
     {"[contact] crm_wins = 'Phone, Email'", "also listed in local_wins"}},
    {"contact",
     {"@contact.fields=Email", "@contact.local_wins=Phone"},
     {"[contact] local_wins = 'Phone'", "not among the fields unit contact syncs (Email)"}},
    {"campaign",
     {"@campaign.member_statuses= , "},
     {"[campaign] member_statuses", "one or more statuses"}},
    {"campaign",
     {"@campaign.campaign.conflict=local"},
     {"[campaign] campaign.conflict = 'local'", "CRM to local"}},
    {"activity", {"@activity.event.conflict=both"}, {"[activity] event.conflict = 'both'"}},
    {"custom",
     {"sync.custom_objects=Invoice__c", "@custom.invoice__c.filter=1x"},
     {"[custom] invoice__c.filter = '1x'", "boolean field"}},
};

static void test_bad_config_fails_init_with_key_and_place(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
		const struct bad_case *c = &bad_cases[i];
		struct fx f;

		fx_load(&f, c->plugin, c->set);
		if (f.rc == 0)
			print_error("case %zu (%s) was accepted\n", i, c->set[0]);
		assert_int_not_equal(f.rc, 0);
		assert_null(f.p);
		assert_null(cs_loader_plugins(f.ld)); /* nothing half-registered */
		assert_contains(f.err.msg, "crmsync.conf:7");
		for (size_t k = 0; k < 3 && c->needles[k]; k++)
			assert_contains(f.err.msg, c->needles[k]);
		fx_free(&f);
	}
	/* from the command line, the place is the -o argument */
	struct fx f;
	static const char *const cli[] = {"lead.conflict=remote", NULL};
	fx_load(&f, "lead", cli);
	assert_int_not_equal(f.rc, 0);
	assert_contains(f.err.msg, "-o lead.conflict=remote: [lead] conflict = 'remote': "
				   "expected crm or local");
	fx_free(&f);
}

static void test_documented_keys_are_known_others_reported(void **state)
{
	(void)state;
	struct fx f;
	cs_error err = CS_ERROR_INIT;
	static const char *const lead_sections[] = {"lead", NULL};
	static const char *const good[] = {
	    "lead.filter=Sync__c",	    "lead.where=IsConverted = false",
	    "lead.conflict=local",	    "lead.local_wins=Email",
	    "lead.crm_wins=OwnerId",	    "lead.fields=Email, OwnerId, LastName",
	    "lead.lead.filter=Sync2__c",    "lead.default_last_name=Unknown",
	    "lead.default_company=Unknown", NULL};
	fx_load(&f, "lead", good);
	assert_int_equal(f.rc, 0);
	assert_int_equal(cs_config_check_unread(f.cfg, lead_sections, &err), 0);
	fx_free(&f);

	static const char *const typo[] = {"lead.filtre=Sync__c", NULL};
	fx_load(&f, "lead", typo);
	assert_int_equal(f.rc, 0);
	assert_int_not_equal(cs_config_check_unread(f.cfg, lead_sections, &err), 0);
	assert_contains(err.msg, "filtre");

	/* a key for an object that is not enabled is unknown too */
	static const char *const custom_sections[] = {"custom", NULL};
	static const char *const other[] = {"sync.custom_objects=Invoice__c",
					    "custom.shipment__c.filter=Sync__c", NULL};
	fx_free(&f);
	fx_load(&f, "custom", other);
	assert_int_equal(f.rc, 0);
	assert_int_not_equal(cs_config_check_unread(f.cfg, custom_sections, &err), 0);
	assert_contains(err.msg, "shipment__c.filter");
	fx_free(&f);
}

/* ------------------------------------------------------------------------ */

static int map_out(const struct fx *f, const char *unit, cs_record *rec, int is_create,
		   cs_error *err)
{
	const crmsync_unit_decl *u = fx_unit(f, unit);
	assert_non_null(u->hooks);
	assert_non_null(u->hooks->map_out);
	return u->hooks->map_out(f->p->state, u, rec, is_create, err);
}

static void test_lead_defaults_only_on_create_and_only_when_empty(void **state)
{
	(void)state;
	struct fx f;
	cs_error err = CS_ERROR_INIT;
	cs_record *rec = cs_record_new();
	crmsync_value v;

	fx_load(&f, "lead", NULL);
	assert_int_equal(f.rc, 0);
	/* a new lead with neither: both filled */
	cs_record_set_str(rec, "Email", CRMSYNC_STRING, "ann@example.com", -1);
	assert_int_equal(map_out(&f, "lead", rec, 1, &err), 0);
	assert_string_equal(cs_record_str(rec, "LastName"), "[not provided]");
	assert_string_equal(cs_record_str(rec, "Company"), "[not provided]");
	assert_string_equal(cs_record_str(rec, "Email"), "ann@example.com");
	/* values win over defaults; empty, blank and null do not */
	cs_record_clear(rec);
	cs_record_set_str(rec, "LastName", CRMSYNC_STRING, "Doe", -1);
	cs_record_set_str(rec, "Company", CRMSYNC_STRING, "  ", -1);
	assert_int_equal(map_out(&f, "lead", rec, 1, &err), 0);
	assert_string_equal(cs_record_str(rec, "LastName"), "Doe");
	assert_string_equal(cs_record_str(rec, "Company"), "[not provided]");
	cs_record_clear(rec);
	cs_record_set_null(rec, "LastName");
	cs_record_set_str(rec, "Company", CRMSYNC_STRING, "Acme", -1);
	assert_int_equal(map_out(&f, "lead", rec, 1, &err), 0);
	assert_string_equal(cs_record_str(rec, "LastName"), "[not provided]");
	assert_string_equal(cs_record_str(rec, "Company"), "Acme");
	/* an update is sent as it is, even when it empties a field */
	cs_record_clear(rec);
	cs_record_set_str(rec, "LastName", CRMSYNC_STRING, "", -1);
	assert_int_equal(map_out(&f, "lead", rec, 0, &err), 0);
	assert_string_equal(cs_record_str(rec, "LastName"), "");
	assert_int_equal(cs_record_get(rec, "Company", &v), CRMSYNC_ENOENT);
	fx_free(&f);

	static const char *const set[] = {"lead.default_last_name=Unknown",
					  "lead.default_company=Acme (unknown)", NULL};
	fx_load(&f, "lead", set);
	assert_int_equal(f.rc, 0);
	cs_record_clear(rec);
	assert_int_equal(map_out(&f, "lead", rec, 1, &err), 0);
	assert_string_equal(cs_record_str(rec, "LastName"), "Unknown");
	assert_string_equal(cs_record_str(rec, "Company"), "Acme (unknown)");
	fx_free(&f);
	cs_record_free(rec);
}

static void test_lead_conversion_is_logged(void **state)
{
	(void)state;
	struct fx f;
	cs_error err = CS_ERROR_INIT;
	cs_record *rec = cs_record_new();
	char path[] = "/tmp/crmsync-objlog.XXXXXX", buf[2048] = "";
	int fd = mkstemp(path), saved = dup(2);

	assert_true(fd >= 0 && saved >= 0);
	fx_load(&f, "lead", NULL);
	assert_int_equal(f.rc, 0);
	const crmsync_unit_decl *u = fx_unit(&f, "lead");
	cs_record_set_str(rec, "Id", CRMSYNC_ID, "00Q000000000001AAA", -1);
	cs_record_set_bool(rec, "IsConverted", 1);
	cs_record_set_str(rec, "ConvertedContactId", CRMSYNC_ID, "003000000000001AAA", -1);
	cs_record_set_str(rec, "ConvertedAccountId", CRMSYNC_ID, "001000000000001AAA", -1);
	cs_log_set_level(CRMSYNC_LOG_INFO);
	fflush(stderr);
	dup2(fd, 2);
	int rc = u->hooks->on_convert(f.p->state, u, rec, &err);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	assert_int_equal(rc, 0);
	ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
	close(fd);
	unlink(path);
	assert_true(n > 0);
	assert_contains(buf, "lead 00Q000000000001AAA was converted to contact 003000000000001AAA");
	assert_contains(buf, "plugin lead");
	cs_record_free(rec);
	fx_free(&f);
}

static void test_contact_never_pushes_owner(void **state)
{
	(void)state;
	struct fx f;
	cs_error err = CS_ERROR_INIT;
	cs_record *rec = cs_record_new();
	crmsync_value v;

	fx_load(&f, "contact", NULL);
	assert_int_equal(f.rc, 0);
	const crmsync_unit_decl *u = fx_unit(&f, "contact");
	assert_string_equal(u->push_readonly_fields[0], "OwnerId");
	assert_null(u->push_readonly_fields[1]);
	for (int create = 0; create < 2; create++) {
		cs_record_clear(rec);
		cs_record_set_str(rec, "OwnerId", CRMSYNC_ID, "005000000000001AAA", -1);
		cs_record_set_str(rec, "Email", CRMSYNC_STRING, "bo@example.com", -1);
		assert_int_equal(map_out(&f, "contact", rec, create, &err), 0);
		assert_int_equal(cs_record_get(rec, "OwnerId", &v), CRMSYNC_ENOENT);
		assert_string_equal(cs_record_str(rec, "Email"), "bo@example.com");
	}
	cs_record_free(rec);
	fx_free(&f);
}

static void test_campaign_member_status_must_be_allowed(void **state)
{
	(void)state;
	struct fx f;
	cs_error err = CS_ERROR_INIT;
	cs_record *rec = cs_record_new();

	fx_load(&f, "campaign", NULL);
	assert_int_equal(f.rc, 0);
	assert_null(fx_unit(&f, "campaign")->hooks);
	static const char *const ok[] = {"Sent", "Responded"};
	for (int i = 0; i < 2; i++) {
		cs_record_clear(rec);
		cs_record_set_str(rec, "Status", CRMSYNC_STRING, ok[i], -1);
		assert_int_equal(map_out(&f, "campaignmember", rec, 0, &err), 0);
	}
	/* unchanged status (or a create taking the campaign's default) passes */
	cs_record_clear(rec);
	cs_record_set_str(rec, "CampaignId", CRMSYNC_ID, "701000000000001AAA", -1);
	assert_int_equal(map_out(&f, "campaignmember", rec, 1, &err), 0);
	/* anything else is refused, with the status and the allowed ones */
	cs_record_set_str(rec, "Status", CRMSYNC_STRING, "Attended", -1);
	assert_true(map_out(&f, "campaignmember", rec, 1, &err) < 0);
	assert_contains(err.msg, "Status 'Attended' is not a status of the campaign");
	assert_contains(err.msg, "allowed: Sent, Responded");
	assert_contains(err.msg, "[campaign] member_statuses");
	cs_record_set_str(rec, "Status", CRMSYNC_STRING, "sent", -1); /* exact values */
	assert_true(map_out(&f, "campaignmember", rec, 0, &err) < 0);
	cs_record_set_str(rec, "Status", CRMSYNC_STRING, "", -1);
	assert_true(map_out(&f, "campaignmember", rec, 0, &err) < 0);
	assert_contains(err.msg, "Status is empty");
	fx_free(&f);

	static const char *const set[] = {"campaign.member_statuses=Planned, Not Sent, Sent", NULL};
	fx_load(&f, "campaign", set);
	assert_int_equal(f.rc, 0);
	cs_record_clear(rec);
	cs_record_set_str(rec, "Status", CRMSYNC_STRING, "Not Sent", -1);
	assert_int_equal(map_out(&f, "campaignmember", rec, 0, &err), 0);
	cs_record_set_str(rec, "Status", CRMSYNC_STRING, "Responded", -1);
	assert_true(map_out(&f, "campaignmember", rec, 0, &err) < 0);
	assert_contains(err.msg, "allowed: Planned, Not Sent, Sent");
	fx_free(&f);
	cs_record_free(rec);
}

static void test_custom_objects_from_sync_config(void **state)
{
	(void)state;
	struct fx f;
	char buf[128];

	fx_load(&f, "custom", NULL);
	assert_int_equal(f.rc, 0);
	assert_int_equal(cs_plugin_object(f.p)->unit_count(f.p->state), 0);
	fx_free(&f);

	static const char *const two[] = {"sync.custom_objects=Invoice__c ns__Shipment_Item__c",
					  "custom.fields=Name", "custom.invoice__c.fields=", NULL};
	fx_load(&f, "custom", two);
	assert_int_equal(f.rc, 0);
	assert_int_equal(cs_plugin_object(f.p)->unit_count(f.p->state), 2);
	const crmsync_unit_decl *u = fx_unit(&f, "ns__shipment_item__c");
	assert_string_equal(u->sobject, "ns__Shipment_Item__c");
	assert_int_equal(u->direction, CRMSYNC_PULL);
	join(u->depends, buf, sizeof buf);
	assert_string_equal(buf, "account,contact");
	join(u->fields, buf, sizeof buf);
	assert_string_equal(buf, "Name");
	assert_null(fx_unit(&f, "invoice__c")->fields); /* all readable */
	fx_free(&f);

	static const char *const bad[] = {"Invoice", "Invoice__x",  "9Lives__c", "In-voice__c",
					  "__c",     "Invoice___c", NULL};
	for (const char *const *b = bad; *b; b++) {
		char arg[128];
		const char *set[] = {arg, NULL};
		snprintf(arg, sizeof arg, "sync.custom_objects=Account__c, %s", *b);
		fx_load(&f, "custom", set);
		assert_int_not_equal(f.rc, 0);
		assert_null(f.p);
		snprintf(buf, sizeof buf, "'%s' is not the API name of a custom object", *b);
		assert_contains(f.err.msg, buf);
		assert_contains(f.err.msg, "[sync] custom_objects");
		fx_free(&f);
	}
	static const char *const dup[] = {"sync.custom_objects=Invoice__c, invoice__c", NULL};
	fx_load(&f, "custom", dup);
	assert_int_not_equal(f.rc, 0);
	assert_contains(f.err.msg, "'invoice__c' is listed twice");
	fx_free(&f);
}

/* ------------------------------------------------------------------------ */

static int64_t day_ms(int y, int m, int d)
{
	return cs_days_from_civil(y, m, d) * 86400000LL + 12 * 3600000LL;
}

static const char *invoice_status_after(const struct fx *f, const char *status, int paid,
					const char *due)
{
	static char out[64];
	cs_error err = CS_ERROR_INIT;
	cs_record *rec = cs_record_new();
	const crmsync_unit_decl *u = fx_unit(f, "invoice__c");

	cs_record_set_str(rec, "Status__c", CRMSYNC_STRING, status, -1);
	cs_record_set_bool(rec, "Paid__c", paid);
	cs_record_set_str(rec, "Due_Date__c", CRMSYNC_DATE, due, -1);
	assert_int_equal(u->hooks->map_in(f->p->state, u, rec, &err), 0);
	snprintf(out, sizeof out, "%s", cs_record_str(rec, "Status__c"));
	cs_record_free(rec);
	return out;
}

static void test_thirdparty_invoice_marks_overdue(void **state)
{
	(void)state;
	struct fx f;

	cs_clock_set(day_ms(2026, 11, 28));
	fx_load_dir(&f, thirddir, "invoice", NULL);
	if (f.rc)
		print_error("%s\n", f.err.msg);
	assert_int_equal(f.rc, 0);
	const crmsync_unit_decl *u = fx_unit(&f, "invoice__c");
	assert_string_equal(u->sobject, "Invoice__c");
	assert_int_equal(u->direction, CRMSYNC_PULL);
	assert_string_equal(invoice_status_after(&f, "Sent", 0, "2026-11-01"), "Overdue");
	assert_string_equal(invoice_status_after(&f, "Sent", 0, "2026-11-28"), "Sent");
	assert_string_equal(invoice_status_after(&f, "Sent", 1, "2026-11-01"), "Sent");
	assert_string_equal(invoice_status_after(&f, "Draft", 0, "2026-11-01"), "Draft");
	fx_free(&f);

	static const char *const late[] = {"invoice.overdue_status=Late", NULL};
	fx_load_dir(&f, thirddir, "invoice", late);
	assert_int_equal(f.rc, 0);
	assert_string_equal(invoice_status_after(&f, "Sent", 0, "2025-01-01"), "Late");
	fx_free(&f);

	static const char *const off[] = {"invoice.mark_overdue=no", NULL};
	fx_load_dir(&f, thirddir, "invoice", off);
	assert_int_equal(f.rc, 0);
	assert_string_equal(invoice_status_after(&f, "Sent", 0, "2025-01-01"), "Sent");
	fx_free(&f);

	static const char *const bad[] = {"invoice.mark_overdue=maybe", NULL};
	fx_load_dir(&f, thirddir, "invoice", bad);
	assert_int_not_equal(f.rc, 0);
	assert_contains(f.err.msg, "-o invoice.mark_overdue=maybe");
	assert_contains(f.err.msg, "yes or no");
	fx_free(&f);
	cs_clock_set(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_units_declared),
	    cmocka_unit_test(test_filters_become_soql_conditions),
	    cmocka_unit_test(test_conflict_and_field_keys),
	    cmocka_unit_test(test_bad_config_fails_init_with_key_and_place),
	    cmocka_unit_test(test_documented_keys_are_known_others_reported),
	    cmocka_unit_test(test_lead_defaults_only_on_create_and_only_when_empty),
	    cmocka_unit_test(test_lead_conversion_is_logged),
	    cmocka_unit_test(test_contact_never_pushes_owner),
	    cmocka_unit_test(test_campaign_member_status_must_be_allowed),
	    cmocka_unit_test(test_custom_objects_from_sync_config),
	    cmocka_unit_test(test_thirdparty_invoice_marks_overdue),
	};
	const char *b = getenv("top_builddir");
	snprintf(plugdir, sizeof plugdir, "%s/plugins/objects", b ? b : ".");
	snprintf(thirddir, sizeof thirddir, "%s/tests/thirdparty", b ? b : ".");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
