/*
 * bk_schema.c - what both storage backends agree on about unit tables and
 * change logs (bk_schema.h).
 */
#include "bk_schema.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const bk_bookkeeping[] = {
    "local_id", "id", "is_deleted", "crm_modstamp", "merged_into", "sync_state", "sync_mark", NULL};

int bk_is_bookkeeping(const char *col)
{
	for (const char *const *b = bk_bookkeeping; *b; b++)
		if (strcasecmp(*b, col) == 0)
			return 1;
	return 0;
}

int bk_skip_field(const char *name)
{
	return strcasecmp(name, "Id") == 0 || strcasecmp(name, "SystemModstamp") == 0;
}

void bk_lower(char *p)
{
	for (; *p; p++)
		*p = (char)tolower((unsigned char)*p);
}

void bk_fingerprint(const char *layout, const crmsync_unit_schema *sc, char out[17])
{
	uint64_t h = 1469598103934665603ull;
#define BK_MIX(p, n)                                                                               \
	do {                                                                                       \
		const unsigned char *b_ = (const unsigned char *)(p);                              \
		for (size_t i_ = 0; i_ < (n); i_++) {                                              \
			h ^= b_[i_];                                                               \
			h *= 1099511628211ull;                                                     \
		}                                                                                  \
		h ^= 0xff;                                                                         \
		h *= 1099511628211ull;                                                             \
	} while (0)
	BK_MIX(layout, strlen(layout));
	BK_MIX(sc->sobject ? sc->sobject : "", strlen(sc->sobject ? sc->sobject : ""));
	BK_MIX(&sc->direction, sizeof sc->direction);
	for (size_t i = 0; i < sc->nfields; i++) {
		const crmsync_field_desc *f = &sc->fields[i];
		BK_MIX(f->name, strlen(f->name));
		BK_MIX(&f->type, sizeof f->type);
		const char *r = f->reference_to ? f->reference_to : "";
		BK_MIX(r, strlen(r));
	}
#undef BK_MIX
	snprintf(out, 17, "%016llx", (unsigned long long)h);
}

int bk_in_ids(const crmsync_change_query *q, const char *id)
{
	if (!id)
		return 0;
	for (size_t i = 0; i < q->nids; i++)
		if (q->ids[i] && strcmp(q->ids[i], id) == 0)
			return 1;
	return 0;
}

void bk_note(char *why, size_t cap, const char *table, int64_t row, const char *what)
{
	if (!why[0])
		snprintf(why, cap, "table %s, row %lld: %s", table, (long long)row, what);
}
