/* greeter.c - a third-party object plugin, built out of tree against the
 * installed header only:
 *   cc -shared -fPIC $(pkg-config --cflags crmsync-plugin) greeter.c -o greeter.so
 * Built with -DOTHER_MAJOR=2 it claims another ABI major and must be refused. */
#include <crmsync/plugin.h>

static const crmsync_host *host;

static const crmsync_unit_decl greeter_unit = {
	.size = sizeof(crmsync_unit_decl),
	.name = "greeting__c",
	.sobject = "Greeting__c",
	.direction = CRMSYNC_PULL,
	.conflict = CRMSYNC_CRM_WINS,
	.delete_policy = CRMSYNC_DELETE_TOMBSTONE,
};

static size_t greeter_count(void *state)
{
	(void)state;
	return 1;
}

static const crmsync_unit_decl *greeter_at(void *state, size_t i)
{
	(void)state;
	return i == 0 ? &greeter_unit : 0;
}

static int greeter_init(const crmsync_host *h, crmsync_plugin_ctx *self, void **state,
			crmsync_error *err)
{
	(void)err;
	host = h;
	host->log(self, CRMSYNC_LOG_DEBUG, "greeter ready (host %s)", host->host_version);
	*state = 0;
	return 0;
}

static void greeter_fini(void *state)
{
	(void)state;
}

static const crmsync_object_ops greeter_ops = {
	.size = sizeof(crmsync_object_ops),
	.unit_count = greeter_count,
	.unit_at = greeter_at,
};

CRMSYNC_EXPORT const crmsync_plugin_desc crmsync_plugin = {
	CRMSYNC_PLUGIN_HEADER(CRMSYNC_KIND_OBJECT, "greeter", "1.2.3"),
#ifdef OTHER_MAJOR
	.abi_major = OTHER_MAJOR,
#endif
	.description = "an out-of-tree example",
	.init = greeter_init,
	.fini = greeter_fini,
	.ops = &greeter_ops,
};
