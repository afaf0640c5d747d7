/*
 * engine_int.h - what the engine's files share (engine.c: setup, order, cycle;
 * engine_pull.c: schema and pull; engine_push.c: push; report.c: status and
 * history output). Not for use outside the engine.
 */
#ifndef CS_ENGINE_INT_H
#define CS_ENGINE_INT_H

#include "engine.h"
#include "loader.h"
#include "log.h"
#include "record.h"
#include "sf.h"
#include "timeutil.h"

#include <stdbool.h>

/* Counters of one step of one unit in one cycle. */
typedef struct cs_counts {
	int64_t n_new, n_updated, n_deleted, n_failed, n_skipped;
	int64_t started_ms, ended_ms;
	int64_t api_calls;
	bool ran;
	char status[16];
	char message[512];
} cs_counts;

typedef struct cs_unit {
	const crmsync_unit_decl *decl;
	cs_plugin *plugin;
	/* schema, from describe */
	const sf_describe *desc;
	crmsync_field_desc *fields; /* stored fields (descs borrowed from desc) */
	size_t nfields;
	const char **select; /* SOQL select list, NULL-terminated */
	size_t nselect;
	crmsync_field_desc *qfields; /* types of the select list, for decoding */
	bool has_isdeleted, has_master, has_ext_key, has_converted;
	bool schema_ensured; /* ensure_unit done in this process */
	char *filter;	     /* decl->filter, or NULL */
	/* this cycle */
	bool failed, waits, idle, pull_done, push_pending, recovered;
	bool cursor_set; /* cur_ms/cur_id set for this cycle */
	int64_t cur_ms;	 /* keyset position of the pull */
	char cur_id[19];
	/* The first copy goes in Id order (see cs_pull_turn); copy_from_ms is the
	 * newest SystemModstamp when it began, the watermark once it ends. */
	bool by_id;
	bool refill; /* that copy reads every record again for new fields */
	int64_t copy_from_ms;
	int64_t total_expected; /* COUNT() for the initial copy, -1 unknown */
	int64_t pulled;		/* records pulled this cycle */
	int64_t progress_at;	/* last progress output */
	cs_counts schema, pull, push, reconcile;
} cs_unit;

struct cs_engine {
	cs_config *cfg;
	int mode;
	cs_loader *ld;
	cs_plugin *backend;
	const crmsync_backend_ops *b;
	void *bs;
	bool backend_open;
	sf_client *sf;
	cs_unit *units;
	size_t nunits;
	int64_t cycle;
	int64_t interval_ms, overlap_ms, retention_ms, reconcile_ms;
	int page_size, turn_pages;
	bool push_always, push_deletes;
	bool tty;
	bool budget_hit;
	bool org_limit; /* the org refused: REQUEST_LIMIT_EXCEEDED, not our budget */
	char org_limit_msg[512];
	/* Salesforce refused our credentials: the cycle stops at once (every
	 * further login would be refused too, and each refusal counts towards
	 * locking the user out), and the pause before the next attempt doubles
	 * per refused cycle, up to an hour. */
	bool auth_failed;
	int auth_refusals;
};

/* engine.c */
void cs_counts_begin(cs_engine *e, cs_counts *c);
void cs_counts_end(cs_engine *e, cs_counts *c);
cs_unit *cs_engine_unit(cs_engine *e, const char *name);
int cs_engine_job_error(cs_engine *e, cs_unit *u, const char *step, const char *code,
			const char *fmt, ...) CRMSYNC_PRINTF(5, 6);
int cs_engine_record_error(cs_engine *e, cs_unit *u, const char *step, const char *id, int64_t row,
			   const char *code, const char *message);
/* Map a client failure to the engine's reaction: CRMSYNC_EBUSY for budget and
 * limit (stop cleanly), else the code. */
int cs_engine_sf_failure(cs_engine *e, int rc);

/* engine_pull.c */
int cs_pull_schema(cs_engine *e, cs_unit *u, cs_error *err);
/* One turn of pulling: 0 when the unit is caught up, 1 when there is more,
 * negative on failure. */
int cs_pull_turn(cs_engine *e, cs_unit *u, cs_error *err);
/* Watermark "ms id" of a unit: 0 and the values, or CRMSYNC_ENOENT. */
int cs_pull_watermark(cs_engine *e, cs_unit *u, int64_t *ms, char id[19], cs_error *err);
bool cs_pull_initial_done(cs_engine *e, cs_unit *u);
/* Whether the unit's object has IsDeleted (so it is read with queryAll): from
 * this process's describe, else from what the last schema step stored; -1
 * when neither knows. */
int cs_pull_has_isdeleted(cs_engine *e, cs_unit *u);
int cs_pull_copy_cursor(cs_engine *e, cs_unit *u, int64_t *from, char id[19], cs_error *err);
/* Id reconciliation when it is due: 0, or negative on failure. */
int cs_pull_reconcile(cs_engine *e, cs_unit *u, cs_error *err);

/* engine_push.c */
int cs_push_unit(cs_engine *e, cs_unit *u, int64_t only_row, const char *only_id, cs_error *err);
bool cs_push_pending(cs_engine *e, cs_unit *u);
/* Creates sent before an interruption, whose answer never arrived: the rows
 * whose record exists in the CRM get its id, before a pull could store that
 * record in a row of its own. 0 when nothing was in doubt or all is settled. */
int cs_push_recover(cs_engine *e, cs_unit *u, cs_error *err);

#endif
