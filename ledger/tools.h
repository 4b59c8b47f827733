/*
 * The ledger's command-line tools (`bangsoleh ledger verify|bench`) and the
 * verifier behind them. Only files in ledger/ and the ledger's tests include
 * this.
 *
 * The verifier rebuilds everything the ledger derives from its log (chain
 * hashes, balances, account histories, the id and name indexes, pending
 * states and deadlines, batch records, meta) from ledger_log alone, inside
 * one read transaction, and compares. It never
 * writes, so it runs on a stopped store and on one a server is writing to.
 */
#ifndef BANGSOLEH_LEDGER_TOOLS_H
#define BANGSOLEH_LEDGER_TOOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "ledger.h"

struct store;

#define LEDGER_VERIFY_MSG_MAX 320   /* one failure, "sequence N: ..." or "account HEX (NAME): ..." */

struct ledger_verify_result {
	bool ok;                            /* every check passed */
	/*
	 * The lowest sequence found bad (a failure tied to an entry, a gap, an
	 * index key or a batch); 0 when none is (ok, or only an account is bad).
	 */
	uint64_t first_bad_seq;
	struct ledger_id bad_account;       /* set when the failure reported is an account's */
	char message[LEDGER_VERIFY_MSG_MAX]; /* the failure reported, "" when ok */
	uint64_t entries;                   /* log records walked */
	uint64_t accounts;                  /* stored account records */
	uint64_t batches;                   /* batch records */
	uint64_t ledgers;                   /* distinct ledgers among the accounts */
	uint64_t head_seq;                  /* the last sequence in the log */
	uint64_t elapsed_ns;                /* the checks alone, without opening the store */
};

/* Called every few thousand entries with the entries walked and the log's size. */
typedef void (*ledger_verify_progress_fn)(uint64_t done, uint64_t total, void *arg);

/*
 * Runs every check on the snapshot `txn` (any transaction of the ledger's
 * store). When several things are wrong, the one reported is the first bad
 * entry met walking the log in order; without one, the lowest bad sequence
 * the comparisons after it name (meta, batches, indexes, pending states);
 * else the first bad account or table. progress may be NULL; arg is passed
 * to it. OUT: *out. Returns 0 when the checks ran (out->ok tells the
 * verdict), LEDGER_ENOMEM, or a STORE_* status when reading failed. Memory:
 * two hash maps sized by the accounts and pending transfers, freed before
 * it returns.
 */
int ledger_verify_txn(struct ledger *l, MDB_txn *txn, ledger_verify_progress_fn progress, void *arg,
		      struct ledger_verify_result *out);

/*
 * Opens the store in `dir` read-only (map_size: the mapping to start with,
 * >= 1 MiB; LMDB adopts a larger file's size), opens the ledger, runs
 * ledger_verify_txn in one read transaction and closes everything. Returns
 * as ledger_verify_txn, or STORE_ENOTFOUND when dir holds no store or no
 * ledger.
 */
int ledger_verify_dir(const char *dir, size_t map_size, ledger_verify_progress_fn progress, void *arg,
		      struct ledger_verify_result *out);

/*
 * Opens the store in the data folder `dir` read-only (map_size as for
 * ledger_verify_dir), its ledger, and its checkpoints when it has any
 * (audit.pub is looked for in dir). OUT: *store and *l, closed with
 * ledger_close then store_close. Returns 0, STORE_ENOTFOUND when dir holds
 * no store (nothing is created), or a STORE_* / LEDGER_* status.
 */
int ledger_tools_open_ro(const char *dir, size_t map_size, struct store **store, struct ledger **l);

/* `bangsoleh ledger bench ...` (argv[0] is the first flag). Returns the exit status. */
int ledger_bench_main(int argc, char **argv);

/* A progress bar on stderr; the caller shows it only when stderr is a terminal. */
struct ledger_tools_progress {
	uint64_t last_ns;
	bool shown;                         /* drawn at least once: end it with a newline */
};
/* Redraws the bar (at most every 100 ms, and at the end); arg is a struct ledger_tools_progress. */
void ledger_tools_progress_draw(uint64_t done, uint64_t total, void *arg);

/* Monotonic nanoseconds, for the tools' timings. */
uint64_t ledger_tools_now_ns(void);
/* count per second over ns nanoseconds, for printing; 0 when ns is 0. */
double ledger_tools_rate(uint64_t count, uint64_t ns);

#endif
