/*
 * conf.h - the configuration: INI sections and keys from a file (read with
 * inih), overridden by -o section.key=value arguments and, for secrets, by
 * environment variables. Every value remembers where it came from (file:line or
 * the -o argument), so every complaint about it can say where to fix it.
 *
 * Keys are validated against the table of known keys in conf.c; sections
 * named after an object plugin ([lead], [invoice__c], ...) are validated by
 * what the plugin reads (cs_config_unread).
 */
#ifndef CS_CONF_H
#define CS_CONF_H

#include "error.h"
#include <stdbool.h>
#include <stdint.h>

typedef struct cs_config cs_config;

cs_config *cs_config_new(void);
void cs_config_free(cs_config *cfg);

/* Read an INI file. Unknown sections and keys of the core, duplicate keys and
 * syntax errors fail with "FILE:LINE: ...". Warns when a file holding a secret
 * is readable by other users. */
int cs_config_load_file(cs_config *cfg, const char *path, cs_error *err);
/* "section.key=value" (from -o); replaces a file value. */
int cs_config_override(cs_config *cfg, const char *arg, cs_error *err);
/* Set a value programmatically (tests, defaults); `where` describes the origin. */
int cs_config_set(cs_config *cfg, const char *section, const char *key, const char *value,
		  const char *where, cs_error *err);

/* The value, or NULL when unset. Secrets fall back to their environment variable. */
const char *cs_config_get(const cs_config *cfg, const char *section, const char *key);
/* Where a value came from: "crmsync.conf:12", "-o sync.interval=5x", "env
 * CRMSYNC_SF_PASSWORD", "default". */
const char *cs_config_where(const cs_config *cfg, const char *section, const char *key);
/* Typed getters: 0 (def when unset) or CRMSYNC_EINVAL naming place, key and what was expected. */
int cs_config_bool(const cs_config *cfg, const char *section, const char *key, bool def,
		   bool *out, cs_error *err);
int cs_config_int(const cs_config *cfg, const char *section, const char *key, int64_t def,
		  int64_t min, int64_t max, int64_t *out, cs_error *err);
int cs_config_duration(const cs_config *cfg, const char *section, const char *key,
		       int64_t def_ms, int64_t min_ms, int64_t *out_ms, cs_error *err);
/* Comma- or space-separated list: a NULL-terminated array (free with cs_strv_free). */
char **cs_config_list(const cs_config *cfg, const char *section, const char *key);
void cs_strv_free(char **v);

/* Mark a key of a plugin section as known (done by the host's config getters). */
void cs_config_mark_read(cs_config *cfg, const char *section, const char *key);
/* After plugins are initialised: the first key of a plugin-owned section that
 * nobody read is an error naming its place. Sections that belong to no loaded
 * plugin are errors too. */
int cs_config_check_unread(const cs_config *cfg, const char *const *plugin_sections,
			   cs_error *err);
/* Write the commented sample config (crmsync init). */
int cs_config_write_sample(const char *path, bool force, cs_error *err);

#endif
