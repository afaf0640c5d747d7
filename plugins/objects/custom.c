/* custom.c - one CRM-to-local unit per custom object enabled by name in
 * [sync] custom_objects (e.g. Invoice__c -> unit invoice__c), with every field
 * the sync user can read, after accounts and contacts (custom objects should
 * relate to them). The standard keys apply per object in [custom], prefixed
 * with the unit name: invoice__c.filter = Sync__c. A custom object that needs
 * its own logic gets its own plugin instead (see docs/PLUGINS.md); it must
 * then not be listed in custom_objects as well. */
#include "config.h"
#include "objcommon.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static const char *const custom_depends[] = {"account", "contact", NULL};

/* Letters, digits and underscores, starting with a letter, ending in __c
 * after a letter or digit (a namespace prefix, ns__Object__c, is fine). */
static int custom_valid_object(const char *s)
{
	size_t n = strlen(s);

	if (n < 4 || n > 80 || !objc_valid_name(s, 0) || strcmp(s + n - 3, "__c") != 0)
		return 0;
	return isalnum((unsigned char)s[n - 4]) != 0;
}

static int custom_init(const crmsync_host *host, crmsync_plugin_ctx *self, void **state,
		       crmsync_error *err)
{
	objc_state *st = objc_state_new(host, self, "custom", sizeof *st, err);
	const char *v;
	char **objects = NULL;
	objc_unit_spec *specs = NULL;
	size_t n = 0, named = 0;
	int rc = 0;

	if (!st)
		return CRMSYNC_ENOMEM;
	v = host->config_get_global(self, "sync", "custom_objects");
	objects = objc_split(st, v, 0);
	if (!objects) {
		rc = host->error_set(err, CRMSYNC_ENOMEM, "[custom]: out of memory");
		goto out;
	}
	n = objc_strv_len((const char *const *)objects);
	specs = host->alloc((n ? n : 1) * sizeof *specs);
	if (!specs) {
		rc = host->error_set(err, CRMSYNC_ENOMEM, "[custom]: out of memory");
		goto out;
	}
	/* where the list came from (hosts of ABI 1.0 before config_where: the key) */
	const char *where = CRMSYNC_HOST_HAS(host, config_where)
				    ? host->config_where(self, "sync", "custom_objects")
				    : "config";
	for (size_t i = 0; i < n; i++) {
		char *name = objects[i];
		if (!custom_valid_object(name)) {
			rc = host->error_set(err, CRMSYNC_EINVAL,
					     "%s: [sync] custom_objects = '%s': '%s' is not the API "
					     "name of a custom object (a letter, then letters, "
					     "digits and underscores, ending in __c, e.g. "
					     "Invoice__c)",
					     where, v, name);
			goto out;
		}
		for (size_t k = 0; k < i; k++)
			if (strcasecmp(objects[k], name) == 0) {
				rc = host->error_set(err, CRMSYNC_EINVAL,
						     "%s: [sync] custom_objects = '%s': '%s' is listed "
						     "twice",
						     where, v, name);
				goto out;
			}
	}
	for (size_t i = 0; i < n; i++) {
		char *unit = host->strdup(objects[i]);
		if (!unit) {
			rc = host->error_set(err, CRMSYNC_ENOMEM, "[custom]: out of memory");
			goto out;
		}
		for (char *p = unit; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		specs[i] = (objc_unit_spec){
		    .name = unit,
		    .sobject = objects[i],
		    .direction = CRMSYNC_PULL,
		    .depends = custom_depends,
		    .conflict = CRMSYNC_CRM_WINS,
		};
		named++;
	}
	rc = objc_add_units(st, specs, n, err);
out:
	for (size_t i = 0; i < named; i++)
		host->free((char *)specs[i].name);
	host->free(specs);
	objc_strv_free(st, objects);
	if (rc) {
		objc_state_free(st);
		return rc;
	}
	*state = st;
	return 0;
}

static const crmsync_object_ops custom_ops = {
    .size = sizeof(crmsync_object_ops),
    .unit_count = objc_unit_count,
    .unit_at = objc_unit_at,
};

CRMSYNC_EXPORT const crmsync_plugin_desc crmsync_plugin = {
    CRMSYNC_PLUGIN_HEADER(CRMSYNC_KIND_OBJECT, "custom", PACKAGE_VERSION),
    .description = "custom objects of [sync] custom_objects: CRM to local, all readable fields",
    .init = custom_init,
    .fini = objc_state_free,
    .ops = &custom_ops,
};
