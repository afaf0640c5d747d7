/*
 * loader.h - finds, checks and loads plugins (the only user of libltdl).
 *
 * Search path, exactly: the config's [crmsync] plugin_path (colon-separated),
 * then $CRMSYNC_PLUGIN_PATH, then the installed plugin directory. Nothing from
 * LD_LIBRARY_PATH. A file is checked (magic, ABI major/minor, struct sizes, kind,
 * name = file stem, not already loaded) before any of its code runs, and is
 * closed again when any check or its init fails, so nothing half-registers.
 */
#ifndef CS_LOADER_H
#define CS_LOADER_H

#include "conf.h"
#include "host.h"
#include <crmsync/plugin.h>

typedef struct cs_plugin {
	const crmsync_plugin_desc *desc;
	char *path;
	char *name;
	int kind;
	void *state;               /* what init returned */
	crmsync_plugin_ctx *ctx;
	void *handle;              /* lt_dlhandle */
	struct cs_plugin *next;
} cs_plugin;

/* A file that was found and refused, with the reason. */
typedef struct cs_plugin_reject {
	char *path;
	char *reason;
	struct cs_plugin_reject *next;
} cs_plugin_reject;

typedef struct cs_loader cs_loader;

/* cfg is borrowed and must outlive the loader. */
cs_loader *cs_loader_new(cs_config *cfg, cs_error *err);
/* Calls every loaded plugin's fini, closes every handle. */
void cs_loader_free(cs_loader *ld);

/* The directories searched, in order (NULL-terminated, owned by the loader). */
const char *const *cs_loader_path(cs_loader *ld);

/* Load one file. 0, or a negative code with err set (the file is closed again). */
int cs_loader_load_file(cs_loader *ld, const char *path, cs_plugin **out, cs_error *err);
/* Load the plugin named `name` of `kind` from the search path (first match). */
int cs_loader_load_name(cs_loader *ld, const char *name, int kind, cs_plugin **out,
			cs_error *err);
/* Load every plugin file on the search path; refused files are listed in the
 * loader's rejects. A name already loaded from an earlier directory shadows. */
int cs_loader_load_all(cs_loader *ld, cs_error *err);

cs_plugin *cs_loader_plugins(cs_loader *ld);
cs_plugin_reject *cs_loader_rejects(cs_loader *ld);

/* The ops of a loaded plugin, by kind. */
static inline const crmsync_backend_ops *cs_plugin_backend(const cs_plugin *p)
{
	return (const crmsync_backend_ops *)p->desc->ops;
}
static inline const crmsync_object_ops *cs_plugin_object(const cs_plugin *p)
{
	return (const crmsync_object_ops *)p->desc->ops;
}

#endif
