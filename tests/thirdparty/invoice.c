/* invoice.c - an out-of-tree object plugin for the custom object Invoice__c,
 * the worked example of docs/PLUGINS.md. It needs nothing but the installed
 * header:
 *
 *   cc -shared -fPIC $(pkg-config --cflags crmsync-plugin) invoice.c -o invoice.so
 *
 * and is used by dropping invoice.so into a directory of the plugin path and
 * adding "invoice" to [sync] units (leave Invoice__c out of custom_objects:
 * two plugins must not declare the same unit).
 *
 * Unit invoice__c: CRM to local, after accounts and contacts, every field the
 * sync user can read. Its map_in hook computes a value the CRM does not store:
 * an invoice that was sent, is not paid and is past its due date is stored
 * locally with Status__c = "Overdue", so marketing can target late payers
 * with plain SQL. (Computed on pull: it refreshes when the invoice next
 * changes in the CRM.)
 *
 * Config, section [invoice]:
 *   mark_overdue   = yes        compute the overdue status at all
 *   overdue_status = Overdue    the local status of an overdue invoice
 */
#include <crmsync/plugin.h>

#include <stdio.h>
#include <string.h>

struct invoice_state {
	const crmsync_host *host;
	crmsync_plugin_ctx *self;
	int mark_overdue;
	char overdue_status[64];
};

/* 1 when the record's field is a string (or date) equal to s. */
static int invoice_field_is(const struct invoice_state *st, const crmsync_record *rec,
			    const char *field, const char *s)
{
	crmsync_value v;

	if (st->host->record_get(rec, field, &v) != 0)
		return 0;
	if (v.type != CRMSYNC_STRING && v.type != CRMSYNC_DATE)
		return 0;
	return v.len == strlen(s) && memcmp(v.u.s, s, v.len) == 0;
}

static int invoice_map_in(void *state, const crmsync_unit_decl *unit, crmsync_record *rec,
			  crmsync_error *err)
{
	struct invoice_state *st = state;
	crmsync_value paid, due, status;
	char now[32];

	(void)unit;
	if (!st->mark_overdue || !invoice_field_is(st, rec, "Status__c", "Sent"))
		return 0;
	if (st->host->record_get(rec, "Paid__c", &paid) == 0 && paid.type == CRMSYNC_BOOLEAN &&
	    paid.u.b)
		return 0;
	if (st->host->record_get(rec, "Due_Date__c", &due) != 0 || due.type != CRMSYNC_DATE ||
	    due.len != 10)
		return 0;
	/* "YYYY-MM-DD" compares as text; today by the host's clock, in UTC */
	st->host->format_datetime(st->host->now_ms(), now, sizeof now);
	if (memcmp(due.u.s, now, 10) >= 0)
		return 0;
	status.type = CRMSYNC_STRING;
	status.len = strlen(st->overdue_status);
	status.u.s = st->overdue_status;
	if (st->host->record_set(rec, "Status__c", &status) != 0)
		return st->host->error_set(err, CRMSYNC_ENOMEM, "invoice: out of memory");
	return 0;
}

static const crmsync_unit_hooks invoice_hooks = {
    .size = sizeof(crmsync_unit_hooks),
    .map_in = invoice_map_in,
};

static const char *const invoice_depends[] = {"account", "contact", NULL};

static const crmsync_unit_decl invoice_unit = {
    .size = sizeof(crmsync_unit_decl),
    .name = "invoice__c",
    .sobject = "Invoice__c",
    .direction = CRMSYNC_PULL,
    .depends = invoice_depends,
    .fields = NULL, /* every field the sync user can read */
    .conflict = CRMSYNC_CRM_WINS,
    .delete_policy = CRMSYNC_DELETE_TOMBSTONE,
    .hooks = &invoice_hooks,
};

static size_t invoice_unit_count(void *state)
{
	(void)state;
	return 1;
}

static const crmsync_unit_decl *invoice_unit_at(void *state, size_t i)
{
	(void)state;
	return i == 0 ? &invoice_unit : NULL;
}

static int invoice_init(const crmsync_host *host, crmsync_plugin_ctx *self, void **state,
			crmsync_error *err)
{
	struct invoice_state *st = host->alloc(sizeof *st);
	const char *status;
	int rc;

	if (!st)
		return host->error_set(err, CRMSYNC_ENOMEM, "invoice: out of memory");
	memset(st, 0, sizeof *st);
	st->host = host;
	st->self = self;
	/* the host's typed getter names the key and where it was set on error */
	rc = host->config_get_bool(self, "mark_overdue", 1, &st->mark_overdue, err);
	if (rc) {
		host->free(st);
		return rc;
	}
	status = host->config_get(self, "overdue_status");
	if (!status)
		status = "Overdue";
	if (!*status || strlen(status) >= sizeof st->overdue_status) {
		host->free(st);
		return host->error_set(err, CRMSYNC_EINVAL,
				       "[invoice] overdue_status = '%s': expected a status of 1 to "
				       "%zu characters",
				       status, sizeof st->overdue_status - 1);
	}
	snprintf(st->overdue_status, sizeof st->overdue_status, "%s", status);
	host->log(self, CRMSYNC_LOG_DEBUG, "invoice plugin ready (host %s), overdue status '%s'",
		  host->host_version, st->mark_overdue ? st->overdue_status : "(off)");
	*state = st;
	return 0;
}

static void invoice_fini(void *state)
{
	struct invoice_state *st = state;

	if (st)
		st->host->free(st);
}

static const crmsync_object_ops invoice_ops = {
    .size = sizeof(crmsync_object_ops),
    .unit_count = invoice_unit_count,
    .unit_at = invoice_unit_at,
};

CRMSYNC_EXPORT const crmsync_plugin_desc crmsync_plugin = {
    CRMSYNC_PLUGIN_HEADER(CRMSYNC_KIND_OBJECT, "invoice", "1.0.0"),
    .description = "Invoice__c, CRM to local, with a computed overdue status",
    .init = invoice_init,
    .fini = invoice_fini,
    .ops = &invoice_ops,
};
