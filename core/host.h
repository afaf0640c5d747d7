/*
 * host.h - the host side of the plugin ABI: the const host API table handed to
 * every plugin's init, and the per-plugin context behind crmsync_plugin_ctx
 * (its name for log lines, the config section it reads).
 */
#ifndef CS_HOST_H
#define CS_HOST_H

#include "conf.h"
#include <crmsync/plugin.h>

struct crmsync_plugin_ctx {
	char *name;        /* the plugin name, used to attribute log lines */
	char *log_component; /* "plugin NAME" */
	char *section;     /* the config section config_get reads: the plugin name for
			    * object plugins, "storage" for backends */
	cs_config *cfg;    /* borrowed */
};

const crmsync_host *cs_host_table(void);

/* A context for a plugin named `name` reading section `section` of cfg (borrowed). */
crmsync_plugin_ctx *cs_plugin_ctx_new(const char *name, const char *section, cs_config *cfg);
void cs_plugin_ctx_free(crmsync_plugin_ctx *ctx);

#endif
