/*
 * engine.h - the sync engine: runs the object plugins' units against a backend
 * plugin and the Salesforce client. One cycle: an idle check for every unit in
 * one composite request, then per unit, in dependency order and in fair turns:
 * schema (describe, ensure the table), pull (keyset pages of queryAll, each page
 * and its checkpoint in one transaction; deletes and merges ride along), and for
 * two-way units push (pending local changes in batches of 200).
 */
#ifndef CS_ENGINE_H
#define CS_ENGINE_H

#include "conf.h"
#include "error.h"
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct cs_engine cs_engine;

enum cs_engine_mode {
	CS_ENGINE_LOCAL = 0, /* backend only: status, history, errors */
	CS_ENGINE_SYNC = 1,  /* backend, object plugins and the Salesforce client */
};

/* Load the plugins the config names, open the backend, and (SYNC) set up the
 * Salesforce client. cfg is borrowed and must outlive the engine. */
cs_engine *cs_engine_new(cs_config *cfg, int mode, cs_error *err);
void cs_engine_free(cs_engine *e);

/* Set by signal handlers; checked at page boundaries. */
extern volatile sig_atomic_t cs_stop_requested;

/* Run one cycle. 0 when every unit succeeded; CRMSYNC_EBUSY when the API budget
 * stopped the cycle cleanly; another negative code when a unit failed (the
 * cycle still ran every unit it could; err holds the first failure). */
int cs_engine_cycle(cs_engine *e, cs_error *err);
/* The pause between cycles, from [sync] interval. */
int64_t cs_engine_interval_ms(const cs_engine *e);

/* Push one local row now (crmsync push UNIT ID): ID is a CRM id or a local row
 * key (a number). */
int cs_engine_push_one(cs_engine *e, const char *unit, const char *id, cs_error *err);

/* Reports for the CLI. format: 0 table, 1 JSON, 2 CSV. */
int cs_engine_status(cs_engine *e, int format, cs_error *err);
int cs_engine_history(cs_engine *e, int format, cs_error *err);
int cs_engine_errors(cs_engine *e, int format, int64_t since_ms, cs_error *err);
/* crmsync backlog (core/backlog.c): records waiting per unit and direction,
 * rate, ETA, trend. Needs CS_ENGINE_SYNC: one COUNT() API call per CRM-to-local
 * unit. format: 0 table, 1 JSON. */
int cs_engine_backlog(cs_engine *e, int format, cs_error *err);

#endif
