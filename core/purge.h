/*
 * purge: drops records past their keeping time from a DBI whose keys carry
 * no time (idempotency keys, login tokens), so such tables do not grow
 * without end. A pass walks the whole DBI in key order, PURGE_CHUNK entries
 * per write job, asking `expired` of each; the jobs of a pass follow one
 * another, and passes start every interval on the loop (purge_start), or
 * one runs at once through store_run (purge_pass: tests, command line).
 */
#ifndef BANGSOLEH_PURGE_H
#define BANGSOLEH_PURGE_H

#include <stdbool.h>
#include <stdint.h>

#include <lmdb.h>

struct event_base;
struct store;

#define PURGE_CHUNK 512          /* entries looked at per write job */
#define PURGE_KEY_MAX 511        /* LMDB's own key limit */

/* True when the record (key, val) is past its keeping time at now_ms. Runs in the writer. */
typedef bool (*purge_expired_fn)(const MDB_val *key, const MDB_val *val, int64_t now_ms, void *ctx);

struct purge_config {
	MDB_dbi dbi;
	const char *name;             /* for the log: "idempotency keys", ...; lent, lives as long as the purge */
	purge_expired_fn expired;
	void *ctx;                    /* lent to expired */
	unsigned interval_s;          /* purge_start: seconds from one pass's start to the next's */
	int64_t (*now_ms)(void);      /* the clock the records' times follow; NULL: clock_now_ms */
};

struct purge;

/*
 * One whole pass now, job by job through store_run (the writer running, no
 * event loop needed). OUT: *dropped. Returns 0 or a STORE_* status.
 */
int purge_pass(struct store *s, const struct purge_config *cfg, uint64_t *dropped);

/*
 * Starts passes every cfg->interval_s on base (the first after one
 * interval). store is lent until purge_stop. OUT: *out. Returns 0 or
 * STORE_ENOMEM.
 */
int purge_start(struct store *s, struct event_base *base, const struct purge_config *cfg, struct purge **out);
/* Stops and frees (before store_stop); a job in flight frees it when it comes back. NULL is allowed. */
void purge_stop(struct purge *p);

#endif
