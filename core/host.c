/* host.c - the host API table handed to every plugin (see plugin.h), and the
 * per-plugin context that attributes its log lines and scopes its config. */
#include "config.h"
#include "host.h"
#include "log.h"
#include "record.h"
#include "timeutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void host_log(crmsync_plugin_ctx *self, int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cs_vlog(self ? self->log_component : "plugin", level, fmt, ap);
	va_end(ap);
}

static int host_log_enabled(crmsync_plugin_ctx *self, int level)
{
	(void)self;
	return cs_log_enabled(level);
}

static void *host_alloc(size_t n)
{
	return malloc(n ? n : 1);
}

static void *host_realloc(void *p, size_t n)
{
	return realloc(p, n ? n : 1);
}

static void host_free(void *p)
{
	free(p);
}

static char *host_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static const char *host_config_get(crmsync_plugin_ctx *self, const char *key)
{
	if (!self || !self->cfg)
		return NULL;
	cs_config_mark_read(self->cfg, self->section, key);
	return cs_config_get(self->cfg, self->section, key);
}

static int host_config_get_bool(crmsync_plugin_ctx *self, const char *key, int def, int *out,
				crmsync_error *err)
{
	bool b = def;
	int rc;

	if (!self || !self->cfg) {
		*out = def;
		return 0;
	}
	cs_config_mark_read(self->cfg, self->section, key);
	rc = cs_config_bool(self->cfg, self->section, key, def, &b, err);
	if (rc == 0)
		*out = b;
	return rc;
}

static int host_config_get_int(crmsync_plugin_ctx *self, const char *key, int64_t def,
			       int64_t *out, crmsync_error *err)
{
	if (!self || !self->cfg) {
		*out = def;
		return 0;
	}
	cs_config_mark_read(self->cfg, self->section, key);
	return cs_config_int(self->cfg, self->section, key, def, INT64_MIN, INT64_MAX, out, err);
}

static const char *host_config_get_global(crmsync_plugin_ctx *self, const char *section,
					  const char *key)
{
	if (!self || !self->cfg)
		return NULL;
	return cs_config_get(self->cfg, section, key);
}

static const char *host_config_where(crmsync_plugin_ctx *self, const char *section,
				     const char *key)
{
	if (!self || !self->cfg)
		return "default";
	return cs_config_where(self->cfg, section ? section : self->section, key);
}

static crmsync_record *host_record_new(void)
{
	return cs_record_new();
}

static void host_record_free(crmsync_record *r)
{
	cs_record_free(r);
}

static void host_record_clear(crmsync_record *r)
{
	cs_record_clear(r);
}

static int host_record_get(const crmsync_record *r, const char *f, crmsync_value *v)
{
	return cs_record_get(r, f, v);
}

static int host_record_set(crmsync_record *r, const char *f, const crmsync_value *v)
{
	if (!r || !f || !v)
		return CRMSYNC_EINVAL;
	return cs_record_set(r, f, v);
}

static int host_record_unset(crmsync_record *r, const char *f)
{
	return cs_record_unset(r, f);
}

static size_t host_record_count(const crmsync_record *r)
{
	return cs_record_count(r);
}

static int host_record_at(const crmsync_record *r, size_t i, const char **f, crmsync_value *v)
{
	return cs_record_at(r, i, f, v);
}

static int64_t host_now_ms(void)
{
	return cs_now_ms();
}

static void host_format_datetime(int64_t ms, char *buf, size_t cap)
{
	cs_format_datetime(ms, buf, cap);
}

static int host_parse_datetime(const char *text, int64_t *ms)
{
	return cs_parse_datetime(text, ms) ? CRMSYNC_EINVAL : 0;
}

static int host_error_set(crmsync_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cs_verr(err, code, fmt, ap);
	va_end(ap);
	return code;
}

static const char *host_error_message(const crmsync_error *err)
{
	return cs_err_msg(err);
}

static const crmsync_host host_table = {
	.size = sizeof(crmsync_host),
	.abi_major = CRMSYNC_ABI_MAJOR,
	.abi_minor = CRMSYNC_ABI_MINOR,
	.host_version = PACKAGE_VERSION,
	.log = host_log,
	.log_enabled = host_log_enabled,
	.alloc = host_alloc,
	.realloc = host_realloc,
	.free = host_free,
	.strdup = host_strdup,
	.config_get = host_config_get,
	.config_get_bool = host_config_get_bool,
	.config_get_int = host_config_get_int,
	.config_get_global = host_config_get_global,
	.record_new = host_record_new,
	.record_free = host_record_free,
	.record_clear = host_record_clear,
	.record_get = host_record_get,
	.record_set = host_record_set,
	.record_unset = host_record_unset,
	.record_count = host_record_count,
	.record_at = host_record_at,
	.now_ms = host_now_ms,
	.format_datetime = host_format_datetime,
	.parse_datetime = host_parse_datetime,
	.error_set = host_error_set,
	.error_message = host_error_message,
	.config_where = host_config_where,
};

const crmsync_host *cs_host_table(void)
{
	return &host_table;
}

crmsync_plugin_ctx *cs_plugin_ctx_new(const char *name, const char *section, cs_config *cfg)
{
	crmsync_plugin_ctx *c = calloc(1, sizeof *c);
	size_t n = strlen(name) + sizeof "plugin ";

	if (!c)
		return NULL;
	c->name = strdup(name);
	c->section = strdup(section ? section : name);
	c->log_component = malloc(n);
	c->cfg = cfg;
	if (!c->name || !c->section || !c->log_component) {
		cs_plugin_ctx_free(c);
		return NULL;
	}
	snprintf(c->log_component, n, "plugin %s", name);
	return c;
}

void cs_plugin_ctx_free(crmsync_plugin_ctx *c)
{
	if (!c)
		return;
	free(c->name);
	free(c->section);
	free(c->log_component);
	free(c);
}
