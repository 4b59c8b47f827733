/*
 * store: the one LMDB environment, its single writer thread with group
 * commit, and read helpers for the loop thread.
 *
 * Life cycle (all on the loop thread):
 *   store_open      -> environment open, stale readers cleared
 *   store_dbi_open  -> each module opens the DBIs it owns (start-up only)
 *   store_start     -> the writer thread runs; completions come back on `base`
 *   store_submit    -> write jobs, any number, from the loop thread
 *   store_stop      -> the writer drains the queue, commits, joins
 *   store_close     -> closes LMDB
 *
 * A write job is two functions. apply(txn, arg) runs on the writer thread in
 * a nested transaction of the batch's transaction: returning 0 keeps its
 * writes, anything else aborts that job alone. done(status, arg) runs later
 * on the loop thread, after the batch committed (status = apply's return) or
 * failed (status = STORE_EFULL / STORE_EIO, and nothing of the batch was
 * written). apply may run more than once for one job (a batch is re-run after
 * the map grew), so it must act only through txn and its own arg, and reset
 * any result it writes into arg at its start.
 *
 * Reads run on the loop thread (or any thread) in read-only transactions
 * reused through mdb_txn_reset / mdb_txn_renew (the env uses MDB_NOTLS). A
 * read transaction must end before any I/O and values must be copied out
 * before it ends.
 */
#ifndef BANGSOLEH_STORE_H
#define BANGSOLEH_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

struct event_base;
struct store;

/* Status codes: 0 is success; negative values are the store's own. */
#define STORE_OK 0
#define STORE_ENOTFOUND (-1)  /* key absent */
#define STORE_EBUSY (-2)      /* write queue full: answer 503 + Retry-After */
#define STORE_EFULL (-3)      /* map at its maximum or disk full: 503 */
#define STORE_EIO (-4)        /* LMDB or the file system failed: 503 */
#define STORE_ESTOPPED (-5)   /* the writer is stopping or stopped: 503 */
#define STORE_EINVAL (-6)     /* bad argument */
#define STORE_ENOMEM (-7)
#define STORE_ECORRUPT (-8)   /* a stored record does not decode */
#define STORE_ELOCKED (-9)    /* another process holds the data folder (exclusive opens) */

struct store_config {
	const char *path;       /* data folder; created if missing (0700) */
	size_t map_size;        /* initial map size in bytes, >= 1 MiB */
	size_t map_max;         /* growth stops here; >= map_size */
	unsigned max_dbs;       /* named DBIs, default 64 when 0 */
	unsigned queue_max;     /* queued jobs before STORE_EBUSY, default 4096 */
	unsigned batch_max;     /* jobs per commit, default 1024 */
	bool group_commit;      /* false: one commit per job (benchmarks) */
	bool read_only;         /* open for reading only (verifiers): no writer, no DBI creation */
	/*
	 * Hold an exclusive lock on <path>/writer.lock until store_close: the
	 * server and the benchmark keep state in memory beside their DBIs
	 * (account balances), which another process writing the same folder
	 * would make stale. Short tools (user add) open without it.
	 */
	bool exclusive;
};

/* Maps an LMDB or errno code to a STORE_* status (the one place that does). */
int store_status_from_mdb(int rc);
/* A short text for a STORE_* status. */
const char *store_strerror(int status);

/*
 * Opens (creating) the environment in cfg->path and clears stale reader
 * slots. OUT: *out, closed with store_close. Returns 0 or a STORE_* status;
 * STORE_ELOCKED when cfg->exclusive and another process holds the folder.
 */
int store_open(const struct store_config *cfg, struct store **out);

/*
 * Opens or creates the named DBI (flags as mdb_dbi_open, MDB_CREATE added;
 * read-only stores only open, and answer STORE_ENOTFOUND for a DBI that
 * does not exist). Only before store_start. OUT: *dbi, valid until
 * store_close.
 */
int store_dbi_open(struct store *s, const char *name, unsigned flags, MDB_dbi *dbi);

/*
 * Observers of the writer's transactions, for a module that keeps state in
 * memory beside its DBIs and must drop what a rolled-back job wrote. Both
 * run on the thread that writes (the writer, or store_run's caller without
 * one): job_end after each job's nested transaction was kept (true) or
 * dropped, batch_end after the batch committed (true) or was abandoned
 * (false: nothing of it was written; it may be run again).
 */
struct store_hooks {
	void (*job_end)(bool kept, void *ctx);
	void (*batch_end)(bool committed, void *ctx);
	void *ctx;                 /* lent for the store's life */
};

#define STORE_HOOKS_MAX 8

/* Adds observers (copied); before store_start. Returns 0 or STORE_EINVAL when full. */
int store_add_hooks(struct store *s, const struct store_hooks *hooks);

/*
 * Starts the writer thread; done callbacks run on `base` (the loop thread).
 * Returns 0 or a STORE_* status.
 */
int store_start(struct store *s, struct event_base *base);

typedef int (*store_apply_fn)(MDB_txn *txn, void *arg);
typedef void (*store_done_fn)(int status, void *arg);

/*
 * Queues a write job (loop thread). `arg` is lent to the store until done
 * runs; done is always called exactly once when this returns 0, never from
 * inside store_submit. Returns STORE_EBUSY when the queue is full and
 * STORE_ESTOPPED when stopping; done is then not called.
 */
int store_submit(struct store *s, store_apply_fn apply, store_done_fn done, void *arg);

/*
 * Runs one job through the writer and waits for its commit, for command-line
 * tools and tests without a loop (never on the loop thread). Works with or
 * without store_start (without it, commits directly). Returns apply's
 * status, or a STORE_* status.
 */
int store_run(struct store *s, store_apply_fn apply, void *arg);

/*
 * Stops accepting jobs, lets the writer commit everything queued, joins it
 * and delivers the remaining done callbacks. Loop thread. Idempotent.
 */
void store_stop(struct store *s);

/* Stops if needed and closes the environment. NULL is allowed. */
void store_close(struct store *s);

/*
 * What is due in a time-keyed index (keys that start with an 8-byte
 * big-endian time, as modules keep their timers): in a read transaction of
 * its own, from key `from` (NULL: the first) on, calls fn for each entry
 * whose time is at most `now`, until fn returns false or `max` entries were
 * given. Key and value are lent for the call only. Loop thread. Returns 0 or
 * a STORE_* status.
 */
typedef bool (*store_due_fn)(const MDB_val *key, const MDB_val *val, void *arg);
int store_scan_due(struct store *s, MDB_dbi dbi, const MDB_val *from, int64_t now, size_t max, store_due_fn fn,
		   void *arg);

/*
 * A sweep of a time-keyed index: store_scan_due with `take` filling arg,
 * then, when it took anything, store_submit(apply, done, arg). Returns
 * STORE_OK when submitted (done will run), STORE_ENOTFOUND when nothing was
 * due, or another status; unless submitted, arg stays the caller's.
 */
int store_sweep(struct store *s, MDB_dbi dbi, const MDB_val *from, int64_t now, size_t max, store_due_fn take,
		store_apply_fn apply, store_done_fn done, void *arg);

/*
 * Within a transaction: puts cur on the last entry whose key is at most
 * `key` (with `before`: below it), where a newest-first walk of a DBI
 * keyed by time or id begins. OUT: *k, *v. Returns 0 or an LMDB status
 * (MDB_NOTFOUND: there is none).
 */
int store_cursor_last_upto(MDB_cursor *cur, const MDB_val *key, bool before, MDB_val *k, MDB_val *v);
/*
 * Reads an entry of a watch index, the due index payments and payouts keep:
 * key time 8 | id 16, value the attempts so far (4 bytes big-endian; absent
 * is 0). OUT: key (24 bytes), *attempts. False for an entry of another shape.
 */
bool store_watch_read(const MDB_val *k, const MDB_val *v, uint8_t key[24], uint32_t *attempts);
/* Writes a watch entry within a write txn: due time, a 16-byte id, the attempts. Returns 0 or an LMDB status. */
int store_watch_put(MDB_txn *txn, MDB_dbi dbi, int64_t due_ms, const uint8_t id[16], uint32_t attempts);
/* The wait before try `attempts` + 1 of a watched entry: first_ms doubled per attempt, at most max_ms. */
int64_t store_watch_backoff_ms(int64_t first_ms, int64_t max_ms, uint32_t attempts);

/*
 * Begins a read-only transaction (reused when possible). OUT: *txn, valid
 * until store_read_end. Returns 0 or a STORE_* status.
 */
int store_read_begin(struct store *s, MDB_txn **txn);
/*
 * Ends a read transaction from store_read_begin; keeps it for reuse. End it
 * on the thread that began it, and do not call store_run or wait for a
 * write while holding it.
 */
void store_read_end(struct store *s, MDB_txn *txn);

struct workq;
/*
 * A long read off the loop (core/store_async.c): read(txn, arg) runs on a
 * thread of `q` inside a read transaction, then done(status, arg) on the
 * loop thread, status being read's return or the STORE_* status that kept
 * the transaction from beginning. For reads whose cost grows with the books
 * (trial balances, statements, reports, exports), so other requests do not
 * wait on them. `arg` is lent until done runs. Loop thread. Returns 0 (done
 * will run), STORE_EBUSY when the pool's queue is full (answer 503),
 * STORE_ESTOPPED or STORE_ENOMEM.
 */
int store_read_async(struct store *s, struct workq *q, store_apply_fn read, store_done_fn done, void *arg);

/* True while the writer thread is running and not stuck in an error. */
bool store_writer_alive(const struct store *s);
/* Jobs queued and not yet taken by the writer. */
unsigned store_queue_depth(const struct store *s);
/* Commits done so far (tests compare this with the number of jobs). */
uint64_t store_commit_count(const struct store *s);
/* The current map size in bytes. */
size_t store_map_size(const struct store *s);

#endif
