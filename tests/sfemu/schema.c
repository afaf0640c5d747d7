/*
 * schema.c - loads the object/field schema (built-in or --schema FILE),
 * adds the system fields every object has, answers lookups for the store,
 * the API and the SOQL compiler (honouring field-level security).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sfemu.h"

static const char *ftype_names[FT__COUNT] = {
    "id",	"reference", "string",	 "textarea", "boolean",	 "int",		  "double",
    "currency", "percent",   "date",	 "datetime", "picklist", "multipicklist", "email",
    "phone",	"url",	     "combobox",
};

const char *ftype_name(ftype t)
{
	return ftype_names[t];
}

static int ftype_parse(const char *s)
{
	for (int i = 0; i < FT__COUNT; i++)
		if (!strcasecmp(s, ftype_names[i]))
			return i;
	return -1;
}

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* "BillingPostalCode" -> "Billing Postal Code"; "Due_Date__c" -> "Due Date". */
static char *make_label(const char *name)
{
	buf b = {0};
	size_t n = strlen(name);
	if (n > 3 && !strcmp(name + n - 3, "__c"))
		n -= 3;
	if (n > 2 && !strncmp(name + n - 2, "Id", 2) && n != 2)
		n -= 2;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (c == '_') {
			buf_putc(&b, ' ');
			continue;
		}
		if (i > 0 && isupper((unsigned char)c) && islower((unsigned char)name[i - 1]))
			buf_putc(&b, ' ');
		buf_putc(&b, c);
	}
	return buf_take(&b);
}

static const char *jstr(json_t *o, const char *k, const char *def)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : def;
}

static bool jbool(json_t *o, const char *k, bool def)
{
	json_t *v = json_object_get(o, k);
	return json_is_boolean(v) ? json_is_true(v) : def;
}

static int jint(json_t *o, const char *k, int def)
{
	json_t *v = json_object_get(o, k);
	return json_is_integer(v) ? (int)json_integer_value(v) : def;
}

static soql_type soql_type_of(ftype t)
{
	switch (t) {
	case FT_ID:
		return SOQL_T_ID;
	case FT_REFERENCE:
		return SOQL_T_REFERENCE;
	case FT_BOOLEAN:
		return SOQL_T_BOOLEAN;
	case FT_INT:
		return SOQL_T_INT;
	case FT_DOUBLE:
	case FT_CURRENCY:
	case FT_PERCENT:
		return SOQL_T_DOUBLE;
	case FT_DATE:
		return SOQL_T_DATE;
	case FT_DATETIME:
		return SOQL_T_DATETIME;
	default:
		return SOQL_T_STRING;
	}
}

static void field_finish(emu_field *f)
{
	bool text = f->type == FT_STRING || f->type == FT_TEXTAREA || f->type == FT_PICKLIST ||
		    f->type == FT_MULTIPICKLIST || f->type == FT_EMAIL || f->type == FT_PHONE ||
		    f->type == FT_URL || f->type == FT_COMBOBOX;
	if (f->type == FT_ID || f->type == FT_REFERENCE)
		f->length = 18;
	if (f->type == FT_PICKLIST || f->type == FT_MULTIPICKLIST)
		if (!f->length)
			f->length = f->type == FT_PICKLIST ? 255 : 4099;
	if (text && !f->length)
		f->length = 255;
	if (f->type == FT_BOOLEAN)
		f->nillable = false;
	if (!f->label)
		f->label = make_label(f->name);
	f->sf.name = f->name;
	f->sf.column = f->name;
	f->sf.type = soql_type_of(f->type);
	f->sf.case_sensitive = f->unique && f->case_sensitive;
	f->sf.relationship = f->relationship;
	f->sf.parent = f->nref ? f->reference_to[0] : NULL;
	if (f->type == FT_TEXTAREA && f->length > 255) {
		f->filterable = false;
		f->sortable = false;
		f->groupable = false;
	}
	if (f->type == FT_DOUBLE || f->type == FT_CURRENCY || f->type == FT_PERCENT ||
	    f->type == FT_DATETIME)
		f->groupable = false;
}

static emu_field *add_field(emu_object *o)
{
	o->fields = realloc(o->fields, sizeof(emu_field) * (size_t)(o->nfields + 1));
	emu_field *f = &o->fields[o->nfields++];
	memset(f, 0, sizeof *f);
	f->nillable = f->createable = f->updateable = true;
	f->filterable = f->sortable = f->groupable = true;
	f->fls_read = f->fls_edit = true;
	return f;
}

static void add_sys(emu_object *o, const char *name, ftype t, const char *ref, const char *rel)
{
	emu_field *f = add_field(o);
	f->name = strdup(name);
	f->type = t;
	f->is_system = true;
	f->createable = f->updateable = false;
	f->nillable = false;
	f->defaulted = true;
	if (ref) {
		f->reference_to = calloc(2, sizeof(char *));
		f->reference_to[0] = strdup(ref);
		f->nref = 1;
		f->relationship = strdup(rel);
	}
	if (t == FT_ID) {
		f->id_lookup = true;
		f->label = strdup("Record ID");
	}
	field_finish(f);
}

static int load_field(emu_object *o, json_t *jf, char *err, size_t errlen)
{
	const char *name = jstr(jf, "name", NULL), *type = jstr(jf, "type", "string");
	int t = ftype_parse(type);
	if (!name || t < 0) {
		snprintf(err, errlen, "object %s: a field needs a name and a known type (got %s)",
			 o->name, type);
		return -1;
	}
	if (object_field(o, name)) {
		snprintf(err, errlen, "object %s: duplicate field %s", o->name, name);
		return -1;
	}
	emu_field *f = add_field(o);
	f->name = strdup(name);
	f->type = (ftype)t;
	f->label = xstrdup(jstr(jf, "label", NULL));
	f->length = jint(jf, "length", 0);
	f->precision = jint(jf, "precision", 0);
	f->scale = jint(jf, "scale", 0);
	f->digits = jint(jf, "digits", 0);
	f->required = jbool(jf, "required", false);
	f->nillable = jbool(jf, "nillable", !f->required);
	bool ro = jbool(jf, "readOnly", false);
	f->calculated = jbool(jf, "calculated", false);
	f->create_only = jbool(jf, "createOnly", false);
	f->createable = jbool(jf, "createable", !ro && !f->calculated);
	f->updateable = jbool(jf, "updateable", !ro && !f->calculated && !f->create_only);
	f->unique = jbool(jf, "unique", false);
	f->case_sensitive = jbool(jf, "caseSensitive", false);
	f->external_id = jbool(jf, "externalId", false);
	f->id_lookup = jbool(jf, "idLookup", f->external_id);
	f->custom = jbool(jf, "custom", strstr(name, "__c") != NULL);
	f->auto_number = jbool(jf, "autoNumber", false);
	f->name_field = jbool(jf, "nameField", false);
	f->restricted = jbool(jf, "restricted", false);
	f->fls_read = !jbool(jf, "hidden", false);
	f->fls_edit = !jbool(jf, "readOnlyForUser", false);
	f->computed = xstrdup(jstr(jf, "computed", NULL));
	json_t *dv = json_object_get(jf, "default");
	if (dv) {
		f->default_value = json_incref(dv);
		f->defaulted = true;
	}
	json_t *refs = json_object_get(jf, "referenceTo");
	if (json_is_array(refs) && json_array_size(refs)) {
		f->nref = (int)json_array_size(refs);
		/* NULL-terminated: reference_to + 1 is the SOQL compiler's more_parents */
		f->reference_to = calloc((size_t)f->nref + 1, sizeof(char *));
		for (int i = 0; i < f->nref; i++)
			f->reference_to[i] =
			    strdup(json_string_value(json_array_get(refs, (size_t)i)) ?: "");
		f->polymorphic = f->nref > 1;
		const char *rel = jstr(jf, "relationshipName", NULL);
		if (rel) {
			f->relationship = strdup(rel);
		} else {
			size_t n = strlen(name);
			if (n > 3 && !strcmp(name + n - 3, "__c")) {
				f->relationship = strdup(name);
				f->relationship[n - 1] = 'r';
			} else if (n > 2 && !strcmp(name + n - 2, "Id")) {
				f->relationship = strndup(name, n - 2);
			}
		}
	} else if (f->type == FT_REFERENCE) {
		snprintf(err, errlen, "object %s: reference field %s needs referenceTo", o->name,
			 name);
		return -1;
	}
	json_t *vals = json_object_get(jf, "values");
	if (json_is_array(vals)) {
		f->npick = (int)json_array_size(vals);
		f->pick = calloc((size_t)f->npick + 1, sizeof(char *));
		for (int i = 0; i < f->npick; i++)
			f->pick[i] =
			    strdup(json_string_value(json_array_get(vals, (size_t)i)) ?: "");
		if (json_is_string(dv))
			f->pick_default = strdup(json_string_value(dv));
	}
	field_finish(f);
	return 0;
}

static int load_object(emu_schema *s, json_t *jo, char *err, size_t errlen)
{
	const char *name = jstr(jo, "name", NULL), *prefix = jstr(jo, "keyPrefix", NULL);
	if (!name || !prefix || strlen(prefix) != 3) {
		snprintf(err, errlen, "an object needs a name and a 3-character keyPrefix");
		return -1;
	}
	if (schema_object(s, name)) {
		snprintf(err, errlen, "duplicate object %s", name);
		return -1;
	}
	s->objs = realloc(s->objs, sizeof(emu_object) * (size_t)(s->nobjs + 1));
	emu_object *o = &s->objs[s->nobjs++];
	memset(o, 0, sizeof *o);
	o->name = strdup(name);
	o->label = strdup(jstr(jo, "label", name));
	o->label_plural = strdup(jstr(jo, "labelPlural", o->label));
	o->key_prefix = strdup(prefix);
	o->custom = jbool(jo, "custom", strstr(name, "__c") != NULL);
	o->has_is_deleted = jbool(jo, "isDeleted", true);
	o->createable = jbool(jo, "createable", true);
	o->updateable = jbool(jo, "updateable", true);
	o->deletable = jbool(jo, "deletable", true);
	o->queryable = jbool(jo, "queryable", true);
	o->replicateable = jbool(jo, "replicateable", true);
	o->undeletable = jbool(jo, "undeletable", o->has_is_deleted);
	o->mergeable = jbool(jo, "mergeable", false);
	o->searchable = jbool(jo, "searchable", true);
	o->triggerable = jbool(jo, "triggerable", true);
	o->layoutable = jbool(jo, "layoutable", true);
	o->readable = !jbool(jo, "hidden", false);
	o->name_field = -1;

	add_sys(o, "Id", FT_ID, NULL, NULL);
	if (jbool(jo, "owner", true)) {
		emu_field *f = add_field(o);
		f->name = strdup("OwnerId");
		f->type = FT_REFERENCE;
		json_t *to = json_object_get(jo, "ownerTo");
		int n = json_is_array(to) ? (int)json_array_size(to) : 1;
		f->reference_to = calloc((size_t)n + 1, sizeof(char *));
		for (int i = 0; i < n; i++)
			f->reference_to[i] = strdup(
			    json_is_array(to) ? json_string_value(json_array_get(to, (size_t)i))
					      : "User");
		f->nref = n;
		f->polymorphic = n > 1;
		f->relationship = strdup("Owner");
		f->nillable = false;
		f->defaulted = true;
		f->label = strdup("Owner ID");
		field_finish(f);
	}
	if (o->has_is_deleted) {
		emu_field *f = add_field(o);
		f->name = strdup("IsDeleted");
		f->type = FT_BOOLEAN;
		f->is_system = true;
		f->createable = f->updateable = false;
		f->defaulted = true;
		field_finish(f);
	}
	json_t *fields = json_object_get(jo, "fields"), *jf;
	size_t i;
	json_array_foreach(fields, i, jf)
	{
		if (load_field(o, jf, err, errlen))
			return -1;
	}
	add_sys(o, "CreatedDate", FT_DATETIME, NULL, NULL);
	add_sys(o, "CreatedById", FT_REFERENCE, "User", "CreatedBy");
	add_sys(o, "LastModifiedDate", FT_DATETIME, NULL, NULL);
	add_sys(o, "LastModifiedById", FT_REFERENCE, "User", "LastModifiedBy");
	add_sys(o, "SystemModstamp", FT_DATETIME, NULL, NULL);
	for (int k = 0; k < o->nfields; k++)
		if (o->fields[k].name_field)
			o->name_field = k;
	return 0;
}

int schema_load(emu_schema *s, const char *text, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_loads(text, 0, &je);
	if (!root) {
		snprintf(err, errlen, "schema: line %d: %s", je.line, je.text);
		return -1;
	}
	json_t *objs = json_object_get(root, "objects"), *jo;
	size_t i;
	int rc = 0;
	if (!json_is_array(objs)) {
		snprintf(err, errlen, "schema: top level needs an \"objects\" array");
		rc = -1;
	}
	if (!rc) {
		json_array_foreach(objs, i, jo)
		{
			if ((rc = load_object(s, jo, err, errlen)))
				break;
		}
	}
	json_decref(root);
	s->changed_ms = wall_ms() / 1000 * 1000;
	return rc;
}

void schema_free(emu_schema *s)
{
	for (int i = 0; i < s->nobjs; i++) {
		emu_object *o = &s->objs[i];
		for (int k = 0; k < o->nfields; k++) {
			emu_field *f = &o->fields[k];
			free(f->name);
			free(f->label);
			for (int r = 0; r < f->nref; r++)
				free(f->reference_to[r]);
			free(f->reference_to);
			free(f->relationship);
			for (int p = 0; p < f->npick; p++)
				free(f->pick[p]);
			free(f->pick);
			free(f->pick_default);
			free(f->computed);
			json_decref(f->default_value);
		}
		free(o->fields);
		free(o->name);
		free(o->label);
		free(o->label_plural);
		free(o->key_prefix);
	}
	free(s->objs);
	memset(s, 0, sizeof *s);
}

emu_object *schema_object(emu_schema *s, const char *name)
{
	for (int i = 0; i < s->nobjs; i++)
		if (!strcasecmp(s->objs[i].name, name))
			return &s->objs[i];
	return NULL;
}

emu_object *schema_object_by_prefix(emu_schema *s, const char *prefix3)
{
	for (int i = 0; i < s->nobjs; i++)
		if (!strncmp(s->objs[i].key_prefix, prefix3, 3))
			return &s->objs[i];
	return NULL;
}

emu_field *object_field(emu_object *o, const char *name)
{
	for (int i = 0; i < o->nfields; i++)
		if (!strcasecmp(o->fields[i].name, name))
			return &o->fields[i];
	return NULL;
}

emu_field *object_readable_field(emu_object *o, const char *name)
{
	emu_field *f = object_field(o, name);
	return f && f->fls_read ? f : NULL;
}

/* ---- the SOQL compiler's view ---- */

static const char *soql_cb_object(void *ud, const char *name, const char **table)
{
	emu *e = ud;
	emu_object *o = schema_object(&e->schema, name);
	if (!o || !o->readable || !o->queryable)
		return NULL;
	if (table)
		*table = o->name;
	return o->name;
}

static const soql_field *soql_cb_field(void *ud, const char *object, const char *name)
{
	emu *e = ud;
	emu_object *o = schema_object(&e->schema, object);
	emu_field *f = o ? object_readable_field(o, name) : NULL;
	return f ? &f->sf : NULL;
}

static const soql_field *soql_cb_rel(void *ud, const char *object, const char *rel)
{
	emu *e = ud;
	emu_object *o = schema_object(&e->schema, object);
	if (!o)
		return NULL;
	for (int i = 0; i < o->nfields; i++) {
		emu_field *f = &o->fields[i];
		if (f->relationship && f->fls_read && !strcasecmp(f->relationship, rel) &&
		    f->nref && schema_object(&e->schema, f->reference_to[0]))
			return &f->sf;
	}
	return NULL;
}

/* A polymorphic reference's other parents (OwnerId -> User, then Group): the compiler joins
 * them too, so Owner.Name of a queue-owned lead is the queue's name. */
const char *const *schema_more_parents(void *ud, const char *object, const soql_field *ref)
{
	(void)ud;
	(void)object;
	const emu_field *f = (const emu_field *)ref; /* sf is its first member */
	return f->nref > 1 ? (const char *const *)f->reference_to + 1 : NULL;
}

void schema_soql(emu *e, soql_schema *out)
{
	out->ud = e;
	out->object = soql_cb_object;
	out->field = soql_cb_field;
	out->relationship = soql_cb_rel;
}
