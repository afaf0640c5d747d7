/* loader.c - see loader.h. The only file of crmsync that uses libltdl.
 *
 * Loading happens on the main thread at start-up only: dlerror state is global.
 * Each check reads no further into the descriptor than the previous checks
 * proved is there, and every refusal closes the handle before returning. */
#include "config.h"
#include "loader.h"
#include "log.h"

#include <dirent.h>
#include <errno.h>
#include <ltdl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The smallest descriptor and ops an ABI 1.0 plugin can have: ABI 1.0's own. */
#define LOADER_DESC_V1_0 (offsetof(crmsync_plugin_desc, ops) + sizeof(void *))
#define LOADER_OBJECT_OPS_V1_0 (offsetof(crmsync_object_ops, unit_at) + sizeof(void *))
#define LOADER_BACKEND_OPS_V1_0 (offsetof(crmsync_backend_ops, row_read) + sizeof(void *))
/* Members after row_read (reconcile_*) are optional: the engine uses them only
 * when the plugin's ops size says they exist. */

struct cs_loader {
	cs_config *cfg;
	char **path; /* NULL-terminated */
	cs_plugin *plugins, *plugins_tail;
	cs_plugin_reject *rejects, *rejects_tail;
	lt_dladvise advise;
};

static int loader_add_dirs(char ***path, size_t *n, const char *list)
{
	const char *p = list;

	while (p && *p) {
		const char *e = strchr(p, ':');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len) {
			char **np = realloc(*path, (*n + 2) * sizeof **path);
			if (!np)
				return -1;
			*path = np;
			if (!(np[*n] = strndup(p, len)))
				return -1;
			np[++*n] = NULL;
		}
		p = e ? e + 1 : NULL;
	}
	return 0;
}

cs_loader *cs_loader_new(cs_config *cfg, cs_error *err)
{
	cs_loader *ld = calloc(1, sizeof *ld);
	size_t n = 0;

	if (!ld) {
		cs_err(err, CRMSYNC_ENOMEM, "out of memory");
		return NULL;
	}
	ld->cfg = cfg;
	if (lt_dlinit() != 0) {
		cs_err(err, CRMSYNC_ERR, "cannot initialise the plugin loader: %s", lt_dlerror());
		free(ld);
		return NULL;
	}
	/* RTLD_LOCAL: a plugin's symbols never interpose on another's or the host's. */
	if (lt_dladvise_init(&ld->advise) || lt_dladvise_local(&ld->advise)) {
		cs_err(err, CRMSYNC_ERR, "cannot initialise the plugin loader: %s", lt_dlerror());
		lt_dlexit();
		free(ld);
		return NULL;
	}
	ld->path = calloc(1, sizeof *ld->path);
	if (!ld->path ||
	    loader_add_dirs(&ld->path, &n, cfg ? cs_config_get(cfg, "crmsync", "plugin_path") : NULL) ||
	    loader_add_dirs(&ld->path, &n, getenv("CRMSYNC_PLUGIN_PATH")) ||
	    loader_add_dirs(&ld->path, &n, CRMSYNC_PLUGIN_DIR)) {
		cs_err(err, CRMSYNC_ENOMEM, "out of memory");
		cs_loader_free(ld);
		return NULL;
	}
	return ld;
}

static void loader_unload(cs_plugin *p)
{
	if (p->desc && p->desc->fini && p->state)
		p->desc->fini(p->state);
	cs_plugin_ctx_free(p->ctx);
	if (p->handle)
		lt_dlclose(p->handle);
	free(p->path);
	free(p->name);
	free(p);
}

void cs_loader_free(cs_loader *ld)
{
	if (!ld)
		return;
	/* fini in reverse load order: object plugins may still hold backend state */
	while (ld->plugins) {
		cs_plugin *last = ld->plugins, *prev = NULL;
		while (last->next) {
			prev = last;
			last = last->next;
		}
		if (prev)
			prev->next = NULL;
		else
			ld->plugins = NULL;
		loader_unload(last);
	}
	for (cs_plugin_reject *r = ld->rejects, *n; r; r = n) {
		n = r->next;
		free(r->path);
		free(r->reason);
		free(r);
	}
	cs_strv_free(ld->path);
	lt_dladvise_destroy(&ld->advise);
	lt_dlexit();
	free(ld);
}

const char *const *cs_loader_path(cs_loader *ld)
{
	return (const char *const *)ld->path;
}

cs_plugin *cs_loader_plugins(cs_loader *ld)
{
	return ld->plugins;
}

cs_plugin_reject *cs_loader_rejects(cs_loader *ld)
{
	return ld->rejects;
}

/* "dir/sqlite.so" -> "sqlite"; NULL when the name is not a plugin file name. */
static char *loader_stem(const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	const char *dot = strrchr(base, '.');
	if (!dot || dot == base || (strcmp(dot, ".so") != 0 && strcmp(dot, ".la") != 0))
		return NULL;
	return strndup(base, (size_t)(dot - base));
}

static cs_plugin *loader_find(cs_loader *ld, const char *name)
{
	for (cs_plugin *p = ld->plugins; p; p = p->next)
		if (strcmp(p->name, name) == 0)
			return p;
	return NULL;
}

static const char *kind_name(uint32_t kind)
{
	return kind == CRMSYNC_KIND_OBJECT ? "object" : kind == CRMSYNC_KIND_BACKEND ? "backend" : "?";
}

int cs_loader_load_file(cs_loader *ld, const char *path, cs_plugin **out, cs_error *err)
{
	cs_plugin *p = NULL;
	const crmsync_plugin_desc *d;
	char *stem = loader_stem(path);
	int rc = CRMSYNC_EINVAL;
	lt_dlhandle h = NULL;
	cs_error ierr = CS_ERROR_INIT;

	if (!stem) {
		rc = cs_err(err, CRMSYNC_EINVAL, "%s: not a plugin file name (expected NAME.so)",
			    path);
		goto out;
	}
	lt_dlerror(); /* clear */
	h = lt_dlopenadvise(path, ld->advise);
	if (!h) {
		const char *why = lt_dlerror();
		rc = cs_err(err, CRMSYNC_EINVAL, "%s: not a loadable shared object: %s", path,
			    why ? why : "unknown reason");
		goto out;
	}
	d = lt_dlsym(h, CRMSYNC_PLUGIN_SYMBOL);
	if (!d) {
		rc = cs_err(err, CRMSYNC_EINVAL,
			    "%s: no plugin descriptor: the symbol '%s' is not exported (is this a "
			    "crmsync plugin?)",
			    path, CRMSYNC_PLUGIN_SYMBOL);
		goto out;
	}
	if (d->magic != CRMSYNC_ABI_MAGIC) {
		rc = cs_err(err, CRMSYNC_EINVAL,
			    "%s: bad descriptor magic: expected 0x%08x, found 0x%08x", path,
			    CRMSYNC_ABI_MAGIC, d->magic);
		goto out;
	}
	if (d->abi_major != CRMSYNC_ABI_MAJOR) {
		rc = cs_err(err, CRMSYNC_EINVAL,
			    "%s: built for plugin ABI %u.%u, but this crmsync speaks ABI %d.%d: "
			    "the major versions differ; rebuild the plugin against this "
			    "crmsync's plugin.h",
			    path, d->abi_major, d->abi_minor, CRMSYNC_ABI_MAJOR, CRMSYNC_ABI_MINOR);
		goto out;
	}
	if (d->abi_minor > CRMSYNC_ABI_MINOR) {
		rc = cs_err(err, CRMSYNC_EINVAL,
			    "%s: built for plugin ABI %u.%u, newer than this crmsync's ABI %d.%d: "
			    "upgrade crmsync or rebuild the plugin",
			    path, d->abi_major, d->abi_minor, CRMSYNC_ABI_MAJOR, CRMSYNC_ABI_MINOR);
		goto out;
	}
	if (d->size < LOADER_DESC_V1_0) {
		rc = cs_err(err, CRMSYNC_EINVAL,
			    "%s: descriptor too small: expected at least %zu bytes, found %u", path,
			    (size_t)LOADER_DESC_V1_0, d->size);
		goto out;
	}
	if (d->kind != CRMSYNC_KIND_OBJECT && d->kind != CRMSYNC_KIND_BACKEND) {
		rc = cs_err(err, CRMSYNC_EINVAL,
			    "%s: unknown plugin kind %u: expected %d (object) or %d (backend)", path,
			    d->kind, CRMSYNC_KIND_OBJECT, CRMSYNC_KIND_BACKEND);
		goto out;
	}
	if (!d->name || strcmp(d->name, stem) != 0) {
		rc = cs_err(err, CRMSYNC_EINVAL,
			    "%s: the plugin calls itself '%s' but its file is named '%s': the name "
			    "must equal the file stem",
			    path, d->name ? d->name : "(null)", stem);
		goto out;
	}
	if (!d->version || !d->init || !d->ops) {
		rc = cs_err(err, CRMSYNC_EINVAL,
			    "%s: incomplete descriptor: %s is missing", path,
			    !d->version ? "version" : !d->init ? "init" : "ops");
		goto out;
	}
	size_t ops_size = *(const size_t *)d->ops;
	size_t need = d->kind == CRMSYNC_KIND_OBJECT ? LOADER_OBJECT_OPS_V1_0 : LOADER_BACKEND_OPS_V1_0;
	if (ops_size < need) {
		rc = cs_err(err, CRMSYNC_EINVAL,
			    "%s: %s ops too small: expected at least %zu bytes, found %zu", path,
			    kind_name(d->kind), need, ops_size);
		goto out;
	}
	cs_plugin *prev = loader_find(ld, d->name);
	if (prev) {
		rc = cs_err(err, CRMSYNC_EINVAL, "%s: a plugin named '%s' is already loaded from %s",
			    path, d->name, prev->path);
		goto out;
	}
	p = calloc(1, sizeof *p);
	if (!p || !(p->path = strdup(path)) || !(p->name = strdup(d->name))) {
		rc = cs_err(err, CRMSYNC_ENOMEM, "out of memory");
		goto out;
	}
	p->desc = d;
	p->kind = (int)d->kind;
	p->ctx = cs_plugin_ctx_new(d->name, d->kind == CRMSYNC_KIND_BACKEND ? "storage" : d->name,
				   ld->cfg);
	if (!p->ctx) {
		rc = cs_err(err, CRMSYNC_ENOMEM, "out of memory");
		goto out;
	}
	rc = d->init(cs_host_table(), p->ctx, &p->state, &ierr);
	if (rc != 0) {
		rc = cs_err(err, rc < 0 ? rc : CRMSYNC_ERR, "%s: plugin '%s' failed to initialise: %s",
			    path, d->name, ierr.msg[0] ? ierr.msg : "no reason given");
		p->state = NULL; /* init failed: nothing to fini */
		goto out;
	}
	p->handle = h;
	h = NULL;
	if (ld->plugins_tail)
		ld->plugins_tail->next = p;
	else
		ld->plugins = p;
	ld->plugins_tail = p;
	cs_debug("loader", "loaded %s plugin %s %s (ABI %u.%u) from %s", kind_name(d->kind),
		 d->name, d->version, d->abi_major, d->abi_minor, path);
	if (out)
		*out = p;
	p = NULL;
	rc = 0;
out:
	if (p) {
		p->desc = NULL;
		cs_plugin_ctx_free(p->ctx);
		free(p->path);
		free(p->name);
		free(p);
	}
	if (h)
		lt_dlclose(h);
	free(stem);
	return rc;
}

static int loader_reject(cs_loader *ld, const char *path, const char *reason)
{
	cs_plugin_reject *r = calloc(1, sizeof *r);
	if (!r || !(r->path = strdup(path)) || !(r->reason = strdup(reason))) {
		if (r)
			free(r->path);
		free(r);
		return CRMSYNC_ENOMEM;
	}
	if (ld->rejects_tail)
		ld->rejects_tail->next = r;
	else
		ld->rejects = r;
	ld->rejects_tail = r;
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Plugin files of one directory, sorted; NAME.la is preferred over NAME.so
 * (an uninstalled build tree has both, the .so under .libs/). */
static char **loader_scan(const char *dir)
{
	DIR *dh = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;

	if (!dh)
		return NULL;
	while ((de = readdir(dh))) {
		size_t len = strlen(de->d_name);
		if (len < 4 || (strcmp(de->d_name + len - 3, ".so") && strcmp(de->d_name + len - 3, ".la")))
			continue;
		char **nn = realloc(names, (n + 2) * sizeof *names);
		if (!nn)
			break;
		names = nn;
		names[n++] = strdup(de->d_name);
		names[n] = NULL;
	}
	closedir(dh);
	if (!names)
		return NULL;
	qsort(names, n, sizeof *names, name_cmp);
	/* drop NAME.so when NAME.la is there (sorted: NAME.la comes first) */
	size_t w = 0;
	for (size_t i = 0; i < n; i++) {
		if (!names[i])
			continue;
		if (w > 0) {
			size_t l1 = strlen(names[w - 1]), l2 = strlen(names[i]);
			if (l1 == l2 && strncmp(names[w - 1], names[i], l1 - 3) == 0) {
				free(names[i]);
				continue;
			}
		}
		names[w++] = names[i];
	}
	names[w] = NULL;
	return names;
}

static int loader_load_dir(cs_loader *ld, const char *dir, const char *only, int kind,
			   cs_plugin **found, cs_error *err)
{
	char **names = loader_scan(dir);
	char path[4096];

	if (!names)
		return 0;
	for (char **nm = names; *nm; nm++) {
		snprintf(path, sizeof path, "%s/%s", dir, *nm);
		char *stem = loader_stem(path);
		if (!stem)
			continue;
		if (only && strcmp(stem, only) != 0) {
			free(stem);
			continue;
		}
		cs_plugin *prev = loader_find(ld, stem);
		free(stem);
		if (prev) {
			if (!only) {
				char why[4200];
				snprintf(why, sizeof why, "shadowed by %s, earlier on the search path",
					 prev->path);
				loader_reject(ld, path, why);
			}
			continue;
		}
		cs_error e = CS_ERROR_INIT;
		cs_plugin *p = NULL;
		if (cs_loader_load_file(ld, path, &p, &e) != 0) {
			if (only) {
				cs_err(err, CRMSYNC_EINVAL, "%s", e.msg);
				cs_strv_free(names);
				return CRMSYNC_EINVAL;
			}
			loader_reject(ld, path, e.msg);
			continue;
		}
		if (only && kind && p->kind != kind) {
			cs_err(err, CRMSYNC_EINVAL, "%s: plugin '%s' is a %s plugin, not a %s plugin",
			       path, p->name, kind_name((uint32_t)p->kind), kind_name((uint32_t)kind));
			cs_strv_free(names);
			return CRMSYNC_EINVAL;
		}
		if (found)
			*found = p;
		if (only)
			break;
	}
	cs_strv_free(names);
	return 0;
}

int cs_loader_load_all(cs_loader *ld, cs_error *err)
{
	for (char **d = ld->path; *d; d++) {
		int rc = loader_load_dir(ld, *d, NULL, 0, NULL, err);
		if (rc)
			return rc;
	}
	return 0;
}

int cs_loader_load_name(cs_loader *ld, const char *name, int kind, cs_plugin **out,
			cs_error *err)
{
	cs_plugin *p = loader_find(ld, name);
	if (p) {
		*out = p;
		return 0;
	}
	for (char **d = ld->path; *d; d++) {
		p = NULL;
		int rc = loader_load_dir(ld, *d, name, kind, &p, err);
		if (rc)
			return rc;
		if (p) {
			*out = p;
			return 0;
		}
	}
	size_t len = 0;
	char dirs[2048] = "";
	for (char **d = ld->path; *d && len < sizeof dirs - 2; d++)
		len += (size_t)snprintf(dirs + len, sizeof dirs - len, "%s%s", len ? ":" : "", *d);
	return cs_err(err, CRMSYNC_ENOENT,
		      "no %s plugin named '%s' on the plugin path %s (set [crmsync] plugin_path "
		      "or CRMSYNC_PLUGIN_PATH)",
		      kind_name((uint32_t)kind), name, dirs);
}
