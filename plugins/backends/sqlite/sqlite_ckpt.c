/* sqlite_ckpt.c - the WAL is copied back into the database file by a thread
 * of the plugin's own, on a connection of its own, while the sync goes on
 * writing.
 *
 * With SQLite's automatic checkpoint the connection that commits copies the
 * WAL into the database (and syncs both files) itself: a pull of 1M leads
 * stopped for that about a quarter of its storing time. Here the commit only
 * tells the thread that the WAL has grown past SQB_CKPT_SOFT pages; the
 * thread runs a PASSIVE checkpoint, which takes no lock that a writer or a
 * reader waits for. bench/backend_upsert, 1M lead rows, inserted rows per
 * second of upsert calls, runs interleaved on this 2-core machine: 112k and
 * 127k with the automatic checkpoint (every 4000 pages), 157k and 173k with
 * the thread (1000/6000 pages); unchanged rows 154k/175k against 160k/165k.
 * 4000/16000 and 2000/8000 pages measured no better than 1000/6000.
 *
 * A PASSIVE checkpoint that finishes while the next transaction is already
 * under way cannot restart the WAL, so it keeps growing while the sync
 * writes; at SQB_CKPT_HARD pages the committing connection checkpoints
 * itself (only what the thread has not copied yet), as SQLite would, and the
 * next transaction starts the WAL over: it stays below about 48 MiB. An
 * application holding a read transaction open holds any checkpoint back, as
 * before. Durability is unchanged: the WAL and its sync rules are SQLite's;
 * only who calls the checkpoint moves.
 */
#include "config.h"
#include "sqlite_int.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* pages in the WAL before the thread is asked to checkpoint, and before the
 * committing connection does it itself */
#define SQB_CKPT_SOFT 1000
#define SQB_CKPT_HARD 6000

struct sqb_ckpt {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	sqlite3 *db; /* the thread's own connection */
	int want, stop;
	/* figures, for the close message */
	long runs, inline_runs, busy;
};

static void *ckpt_main(void *ud)
{
	struct sqb_ckpt *c = ud;

	pthread_mutex_lock(&c->mu);
	for (;;) {
		while (!c->want && !c->stop)
			pthread_cond_wait(&c->cv, &c->mu);
		if (c->stop)
			break;
		c->want = 0;
		pthread_mutex_unlock(&c->mu);
		int nlog = 0, nckpt = 0;
		int rc = sqlite3_wal_checkpoint_v2(c->db, "main", SQLITE_CHECKPOINT_PASSIVE, &nlog,
						   &nckpt);
		pthread_mutex_lock(&c->mu);
		c->runs++;
		if (rc != SQLITE_OK)
			c->busy++;
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

/* Called by SQLite after every commit of the sync's connection. */
static int ckpt_hook(void *ud, sqlite3 *db, const char *name, int pages)
{
	struct sqb_ckpt *c = ud;

	if (pages >= SQB_CKPT_HARD) {
		/* the thread fell behind: as SQLite's own automatic checkpoint */
		if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) ==
		    SQLITE_OK) {
			pthread_mutex_lock(&c->mu);
			c->inline_runs++;
			pthread_mutex_unlock(&c->mu);
		}
	} else if (pages >= SQB_CKPT_SOFT) {
		pthread_mutex_lock(&c->mu);
		c->want = 1;
		pthread_cond_signal(&c->cv);
		pthread_mutex_unlock(&c->mu);
	}
	return SQLITE_OK;
}

int sqb_ckpt_start(sqb *s)
{
	char mode[16] = "";
	sqlite3_stmt *st = NULL;

	/* only a WAL store has a WAL to copy (a file system without shared
	 * memory keeps the rollback journal) */
	if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		snprintf(mode, sizeof mode, "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (strcmp(mode, "wal") != 0)
		return 0;

	struct sqb_ckpt *c = calloc(1, sizeof *c);
	if (!c)
		return 0;
	/* a connection is in WAL mode once it has read the database: until
	 * then a checkpoint call does nothing (and says so only with -1s) */
	if (sqlite3_open_v2(s->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
		SQLITE_OK ||
	    sqlite3_exec(c->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) !=
		SQLITE_OK) {
		s->host->log(s->self, CRMSYNC_LOG_DEBUG,
			     "checkpoints stay with the sync's connection: a second connection "
			     "to %s failed: %s",
			     s->path, sqlite3_errmsg(c->db));
		sqlite3_close(c->db);
		free(c);
		return 0;
	}
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	/* the thread takes no signal: they are the daemon's main thread's */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&c->th, NULL, ckpt_main, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		pthread_mutex_destroy(&c->mu);
		pthread_cond_destroy(&c->cv);
		sqlite3_close(c->db);
		free(c);
		return 0; /* SQLite's automatic checkpoint stays on */
	}
	/* a WAL hook of our own replaces SQLite's automatic checkpoint */
	sqlite3_wal_hook(s->db, ckpt_hook, c);
	s->ckpt = c;
	return 0;
}

void sqb_ckpt_stop(sqb *s)
{
	struct sqb_ckpt *c = s->ckpt;

	if (!c)
		return;
	sqlite3_wal_hook(s->db, NULL, NULL);
	pthread_mutex_lock(&c->mu);
	c->stop = 1;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->th, NULL);
	s->host->log(s->self, CRMSYNC_LOG_DEBUG,
		     "WAL checkpoints: %ld in the background (%ld found the WAL busy), %ld by "
		     "the sync's connection",
		     c->runs, c->busy, c->inline_runs);
	sqlite3_close(c->db);
	pthread_mutex_destroy(&c->mu);
	pthread_cond_destroy(&c->cv);
	free(c);
	s->ckpt = NULL;
}
