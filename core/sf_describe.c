/*
 * sf_describe.c - sObject describe, cached per object in the client and
 * refreshed with If-Modified-Since (304: unchanged, costs no parsing), mapped
 * to crmsync_field_desc, and intersected with the fields a unit wants.
 */
#include "config.h"
#include "sf_internal.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

struct sf_describe_entry {
	struct sf_describe_entry *next;
	char *type; /* the name asked for */
	char last_modified[64];
	int current; /* the entry sf_describe_object returns for type */
	sf_describe d;
	crmsync_field_desc *fields;
	json_t *json; /* owns the strings the fields point to */
};

/* If-Modified-Since compares whole seconds: a describe answered within the
 * second its Last-Modified names may miss a second change made in that same
 * second. Such a date is kept a second earlier, so the next conditional
 * describe asks again (once: by then the dates differ). */
static void sf_lm_settle(char *lm, size_t cap, const char *date)
{
	time_t d = date[0] ? curl_getdate(date, NULL) : -1, t = curl_getdate(lm, NULL);
	struct tm tm;
	if (d <= 0 || t <= 0 || t < d)
		return;
	t = d - 1;
	if (gmtime_r(&t, &tm))
		strftime(lm, cap, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

int sf_type_from_describe(const char *t)
{
	static const struct {
		const char *name;
		int type;
	} map[] = {
	    {"id", CRMSYNC_ID},		  {"reference", CRMSYNC_ID},
	    {"boolean", CRMSYNC_BOOLEAN}, {"int", CRMSYNC_INTEGER},
	    {"long", CRMSYNC_INTEGER},	  {"double", CRMSYNC_DOUBLE},
	    {"currency", CRMSYNC_DOUBLE}, {"percent", CRMSYNC_DOUBLE},
	    {"date", CRMSYNC_DATE},	  {"datetime", CRMSYNC_DATETIME},
	};
	for (size_t i = 0; t && i < sizeof map / sizeof map[0]; i++)
		if (strcmp(t, map[i].name) == 0)
			return map[i].type;
	return CRMSYNC_STRING;
}

static void sf_entry_free(struct sf_describe_entry *e)
{
	free(e->type);
	free(e->fields);
	json_decref(e->json);
	free(e);
}

void sf_describe_cache_free(sf_client *c)
{
	struct sf_describe_entry *e = c->describes, *n;
	for (; e; e = n) {
		n = e->next;
		sf_entry_free(e);
	}
	c->describes = NULL;
}

static int sf_flag(json_t *f, const char *key)
{
	return json_is_true(json_object_get(f, key));
}

static int sf_build_entry(sf_client *c, struct sf_describe_entry *e, cs_error *err)
{
	json_t *j = e->json;
	json_t *fields = json_object_get(j, "fields");
	const char *name = json_string_value(json_object_get(j, "name"));

	if (!json_is_array(fields) || !name)
		return sf_fail(c, SF_E_PARSE, err,
			       "describe of %s: no name or fields in the response", e->type);
	e->d.name = name;
	e->d.replicateable = sf_flag(j, "replicateable");
	e->d.queryable = sf_flag(j, "queryable");
	e->d.createable = sf_flag(j, "createable");
	e->d.updateable = sf_flag(j, "updateable");
	e->d.deletable = sf_flag(j, "deletable");
	size_t n = json_array_size(fields);
	e->fields = calloc(n ? n : 1, sizeof *e->fields);
	if (!e->fields)
		return sf_fail(c, SF_E_NOMEM, err, "out of memory");
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *f = json_array_get(fields, i);
		const char *fname = json_string_value(json_object_get(f, "name"));
		const char *t = json_string_value(json_object_get(f, "type"));
		if (!fname || !t)
			return sf_fail(c, SF_E_PARSE, err,
				       "describe of %s: field %zu has no name or type", e->type, i);
		crmsync_field_desc *d = &e->fields[k++];
		d->name = fname;
		d->crm_type = t;
		d->type = sf_type_from_describe(t);
		d->length = (int32_t)json_integer_value(json_object_get(f, "length"));
		d->precision = (int32_t)json_integer_value(json_object_get(f, "precision"));
		d->scale = (int32_t)json_integer_value(json_object_get(f, "scale"));
		if (d->type != CRMSYNC_STRING)
			d->length = 0;
		d->flags = (sf_flag(f, "createable") ? CRMSYNC_FIELD_CREATEABLE : 0) |
			   (sf_flag(f, "updateable") ? CRMSYNC_FIELD_UPDATEABLE : 0) |
			   (sf_flag(f, "nillable") ? CRMSYNC_FIELD_NILLABLE : 0) |
			   (sf_flag(f, "externalId") ? CRMSYNC_FIELD_EXTERNAL_ID : 0) |
			   (sf_flag(f, "unique") ? CRMSYNC_FIELD_UNIQUE : 0) |
			   (sf_flag(f, "calculated") ? CRMSYNC_FIELD_CALCULATED : 0) |
			   (sf_flag(f, "idLookup") ? CRMSYNC_FIELD_ID_LOOKUP : 0) |
			   (strcmp(t, "reference") == 0 ? CRMSYNC_FIELD_REFERENCE : 0);
		d->reference_to =
		    json_string_value(json_array_get(json_object_get(f, "referenceTo"), 0));
	}
	e->d.fields = e->fields;
	e->d.nfields = k;
	return 0;
}

int sf_describe_object(sf_client *c, const char *type, const sf_describe **out, int *changed,
		       cs_error *err)
{
	struct sf_describe_entry *cur = NULL, *e = NULL;
	sf_buf url = {0}, chk = {0};
	struct sf_req r = {0};
	char hdr[96];
	long status;
	int rc;

	sf_ok(c);
	if (changed)
		*changed = 0;
	if (sf_soql_ident(&chk, type, err)) {
		sf_buf_free(&chk);
		return sf_fail(c, SF_E_CONFIG, err, "describe: %s", cs_err_msg(err));
	}
	sf_buf_free(&chk);
	for (cur = c->describes; cur; cur = cur->next)
		if (cur->current && strcasecmp(cur->type, type) == 0)
			break;
	if (sf_data_path(c, &url, "/sobjects/%s/describe", type)) {
		rc = sf_fail(c, SF_E_NOMEM, err, "out of memory");
		goto out;
	}
	r.method = "GET";
	r.url = url.s;
	r.safety = SF_SAFE;
	if (cur && cur->last_modified[0]) {
		snprintf(hdr, sizeof hdr, "If-Modified-Since: %s", cur->last_modified);
		r.headers[0] = hdr;
	}
	if ((rc = sf_http(c, &r, &status, err)))
		goto out;
	if (status == 304 && cur) {
		cs_debug("sf", "describe %s: unchanged", type);
		*out = &cur->d;
		rc = 0;
		goto out;
	}
	if (status != 200) {
		rc = sf_fail_status(c, &r, status, err);
		cs_err_prefix(err, "describe of %s", type);
		goto out;
	}
	e = calloc(1, sizeof *e);
	if (!e || !(e->type = strdup(type))) {
		rc = sf_fail(c, SF_E_NOMEM, err, "out of memory");
		goto out;
	}
	snprintf(e->last_modified, sizeof e->last_modified, "%s", c->last_modified);
	sf_lm_settle(e->last_modified, sizeof e->last_modified, c->date);
	if ((rc = sf_parse_body(c, &r, &e->json, err)) || (rc = sf_build_entry(c, e, err)))
		goto out;
	if (cur &&
	    json_equal(json_object_get(cur->json, "fields"), json_object_get(e->json, "fields"))) {
		/* a new Last-Modified but the same fields: keep the old pointers */
		snprintf(cur->last_modified, sizeof cur->last_modified, "%s", e->last_modified);
		*out = &cur->d;
		rc = 0;
		goto out;
	}
	/* the previous entry stays allocated: callers may still point into it */
	if (cur)
		cur->current = 0;
	e->current = 1;
	e->next = c->describes;
	c->describes = e;
	*out = &e->d;
	e = NULL;
	if (changed)
		*changed = 1;
	rc = 0;
out:
	if (e)
		sf_entry_free(e);
	sf_buf_free(&url);
	return rc;
}

const char *sf_describe_last_modified(sf_client *c, const char *type)
{
	for (struct sf_describe_entry *e = c->describes; e; e = e->next)
		if (e->current && strcasecmp(e->type, type) == 0)
			return e->last_modified[0] ? e->last_modified : NULL;
	return NULL;
}

int sf_fields_select(const sf_describe *d, const char *const *wanted, crmsync_field_desc **out,
		     size_t *n, cs_error *err)
{
	crmsync_field_desc *v = calloc(d->nfields ? d->nfields : 1, sizeof *v);
	size_t k = 0;

	*out = NULL;
	*n = 0;
	if (!v)
		return cs_err(err, CRMSYNC_ENOMEM, "out of memory");
	for (size_t i = 0; i < d->nfields; i++) {
		const crmsync_field_desc *f = &d->fields[i];
		int want = !wanted || strcasecmp(f->name, "Id") == 0, named = 0;
		for (size_t w = 0; !want && wanted[w]; w++)
			if (strcasecmp(wanted[w], f->name) == 0)
				want = named = 1;
		/* A compound field (an address, a geolocation) comes back as a JSON
		 * object of its components, which describe lists as fields of their
		 * own (Street, City, ..., Location__Latitude__s): those are synced;
		 * the compound is read-only and would be a column that stays empty. */
		if (want && f->crm_type &&
		    (strcmp(f->crm_type, "address") == 0 || strcmp(f->crm_type, "location") == 0)) {
			if (named)
				cs_warn("sf",
					"%s.%s is a compound field (%s): not synced as one; its "
					"component fields are (name them in fields instead)",
					d->name, f->name, f->crm_type);
			continue;
		}
		if (want)
			v[k++] = *f;
	}
	for (size_t w = 0; wanted && wanted[w]; w++) {
		int found = 0;
		for (size_t i = 0; i < d->nfields && !found; i++)
			found = strcasecmp(wanted[w], d->fields[i].name) == 0;
		if (!found)
			cs_debug("sf",
				 "%s.%s is not readable by the sync user (or does not exist): "
				 "not synced",
				 d->name, wanted[w]);
	}
	*out = v;
	*n = k;
	return 0;
}
