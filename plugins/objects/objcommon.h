/*
 * objcommon.h - what every object plugin of crmsync shares: the standard
 * per-unit config keys (filter, where, conflict, local_wins, crm_wins,
 * fields), the SOQL condition of a sync filter, list parsing and record
 * helpers. Compiled into each plugin (no shared library between plugins: a
 * plugin links nothing of the host), and it uses only the crmsync_host table.
 *
 * Config keys, read from the plugin's own section [PLUGIN]: a key prefixed
 * with a unit name and a dot ("campaignmember.filter") applies to that unit
 * only and overrides the unprefixed key, which applies to every unit of the
 * plugin. A prefixed key set to an empty value switches the setting off for
 * that unit.
 */
#ifndef OBJCOMMON_H
#define OBJCOMMON_H

#include <crmsync/plugin.h>
#include <stddef.h>

/* What a plugin declares about one of its units; the config may change the
 * conflict policy and add filters and field lists. */
typedef struct objc_unit_spec {
	const char *name;    /* unit and table name, lowercase */
	const char *sobject; /* Salesforce object */
	int direction;	     /* enum crmsync_direction */
	const char *const *depends;
	int conflict;			  /* default policy, enum crmsync_conflict */
	const char *base_filter;	  /* SOQL condition always applied (e.g. "WhoId != null") */
	const char *const *push_readonly; /* fields never pushed */
	const crmsync_unit_hooks *hooks;
} objc_unit_spec;

/* One declared unit and the memory behind its declaration. */
typedef struct objc_unit {
	crmsync_unit_decl decl;
	char *name, *sobject, *filter;
	char **fields, **local_wins, **crm_wins;
} objc_unit;

/* The first member of every plugin's state. */
typedef struct objc_state {
	const crmsync_host *host;
	crmsync_plugin_ctx *self;
	const char *section; /* the plugin's config section: its name */
	size_t nunits;
	objc_unit *units;
} objc_state;

/* A zeroed state of `size` bytes (at least sizeof(objc_state)) whose first
 * member is an objc_state, allocated with host->alloc; NULL on out of memory,
 * with err set. Free with objc_state_free. */
void *objc_state_new(const crmsync_host *host, crmsync_plugin_ctx *self, const char *section,
		     size_t size, crmsync_error *err);
/* Frees the units and the state itself (the plugin frees its own members first). */
void objc_state_free(void *state);

/* Declare n units, applying the standard config keys of each. 0, or
 * CRMSYNC_EINVAL with err naming the key, its place and what was expected. */
int objc_add_units(objc_state *st, const objc_unit_spec *specs, size_t n, crmsync_error *err);

/* crmsync_object_ops members for a state that starts with an objc_state. */
size_t objc_unit_count(void *state);
const crmsync_unit_decl *objc_unit_at(void *state, size_t i);

/* Split a config list into a NULL-terminated array allocated with the host
 * (free with objc_strv_free). Items are separated by commas, and also by
 * white space unless commas_only (for values that contain spaces, like
 * picklist values); surrounding white space is trimmed, empty items dropped.
 * NULL text gives an empty array. NULL on out of memory. */
char **objc_split(const objc_state *st, const char *text, int commas_only);
void objc_strv_free(const objc_state *st, char **v);
size_t objc_strv_len(const char *const *v);
/* 1 when v holds s (ASCII case-insensitive when icase), else 0. */
int objc_strv_has(const char *const *v, const char *s, int icase);
/* Join v with sep into buf (truncated to cap); returns buf. */
char *objc_strv_join(const char *const *v, const char *sep, char *buf, size_t cap);

/* A field or object API name: a letter, then letters, digits and underscores
 * (and, with dotted, relationship paths like Account.Sync__c). */
int objc_valid_name(const char *s, int dotted);

/* Fail with "PLACE: [section] key = 'value': WHAT" (CRMSYNC_EINVAL), PLACE
 * being where the value was set (file:line or the -o argument) when the host
 * can tell. */
int objc_bad_value(const objc_state *st, const char *key, const char *value, crmsync_error *err,
		   const char *fmt, ...) CRMSYNC_PRINTF(5, 6);

/* The record's field is absent, null, or a string of only white space. */
int objc_field_empty(const objc_state *st, const crmsync_record *rec, const char *field);
/* Set a STRING field; 0 or CRMSYNC_ENOMEM. */
int objc_set_string(const objc_state *st, crmsync_record *rec, const char *field, const char *s);
/* The text of a STRING, ID or DATE field into buf (NUL-terminated, truncated),
 * or "" when absent or of another type. Returns buf. */
const char *objc_field_text(const objc_state *st, const crmsync_record *rec, const char *field,
			    char *buf, size_t cap);

#endif
