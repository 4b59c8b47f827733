/*
 * The auditors' export of a range of the ledger and its offline verifier
 * (docs/audit.md, "Export"): `bangsoleh audit export|verify` and
 * GET /api/v1/audit/export. Only main.c, files in ledger/ and the ledger's
 * tests include this.
 *
 * An export holds the entries of a time range in their canonical bytes (and
 * readable JSON Lines and CSV copies), the signed checkpoints that cover the
 * range, consistency proofs, the public key, and what stands in for the
 * entries before the range: the RFC 9162 compact range of the earlier
 * leaves, the chain hash before the range, and the opening balances and open
 * pending transfers. The pure parts (compact range, replay of balances) are
 * shared by the exporter and the verifier.
 */
#ifndef BANGSOLEH_LEDGER_AUDIT_EXPORT_H
#define BANGSOLEH_LEDGER_AUDIT_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "ledger.h"

#define LEDGER_EXPORT_MSG_MAX 320            /* one failure message */
#define LEDGER_EXPORT_FILES 8                /* files of an export, the manifest included */
#define LEDGER_EXPORT_NAME_MAX 16            /* the longest file name, with its NUL */
/* The longest readable line of one entry (JSON Lines or CSV), with its NUL. */
#define LEDGER_EXPORT_LINE_MAX 1024

/* File names, in the order they are written (the manifest last). */
#define LEDGER_EXPORT_ENTRIES_BIN "entries.bin"
#define LEDGER_EXPORT_ENTRIES_JSONL "entries.jsonl"
#define LEDGER_EXPORT_ENTRIES_CSV "entries.csv"
#define LEDGER_EXPORT_OPENING "opening.txt"
#define LEDGER_EXPORT_CHECKPOINTS "checkpoints.txt"
#define LEDGER_EXPORT_PROOFS "proofs.txt"
#define LEDGER_EXPORT_PUB "audit.pub"
#define LEDGER_EXPORT_MANIFEST "manifest.json"
#define LEDGER_EXPORT_FORMAT "bangsoleh-audit-export"
#define LEDGER_EXPORT_VERSION 1

/* --- the compact range (RFC 9162 "compact range" of leaves [0, size)) --- */

#define LEDGER_COMPACT_MAX 64

/*
 * The perfect subtrees covering leaves [0, size), one per set bit of size,
 * largest (leftmost) first: hash[0..n), n = popcount(size).
 */
struct ledger_compact {
	uint64_t size;
	unsigned n;
	uint8_t hash[LEDGER_COMPACT_MAX][LEDGER_HASH_LEN];
};

/* The empty range. */
void ledger_compact_init(struct ledger_compact *c);
/*
 * A range of `size` leaves from its subtree hashes (largest first). Returns
 * 0, or LEDGER_EINVAL when n is not popcount(size).
 */
int ledger_compact_set(struct ledger_compact *c, uint64_t size, const uint8_t (*hash)[LEDGER_HASH_LEN], unsigned n);
/* Appends leaf `size` by its leaf hash. Returns 0, LEDGER_EINVAL when full (2^64-1 leaves) or LEDGER_ENOMEM. */
int ledger_compact_append(struct ledger_compact *c, const uint8_t leaf[LEDGER_HASH_LEN]);
/* The root of the tree of the first c->size leaves (SHA-256 of nothing for 0). Returns 0 or LEDGER_ENOMEM. */
int ledger_compact_root(const struct ledger_compact *c, uint8_t out[LEDGER_HASH_LEN]);

/* --- replaying balances (docs/ledger.md, "Balance effects") --- */

/* An account's balances at some point of the log. */
struct ledger_balance {
	struct ledger_id id;
	uint32_t ledger;
	int64_t debits_pending, debits_posted, credits_pending, credits_posted;
};

/* A pending transfer still open at some point of the log. */
struct ledger_open_pending {
	struct ledger_id id;
	struct ledger_id debit_account_id;
	struct ledger_id credit_account_id;
	int64_t amount;
	uint32_t ledger;
	uint16_t code;
};


struct ledger_replay;

/* OUT: *out, an empty state (no account, nothing pending); free with ledger_replay_free. */
int ledger_replay_new(struct ledger_replay **out);
void ledger_replay_free(struct ledger_replay *r);
/* Adds an opening account. LEDGER_EINVAL when it is there already or a balance is negative. */
int ledger_replay_add_account(struct ledger_replay *r, const struct ledger_balance *b);
/* Adds an opening open pending transfer. LEDGER_EINVAL when it is there already or amount <= 0. */
int ledger_replay_add_pending(struct ledger_replay *r, const struct ledger_open_pending *p);
/*
 * Applies one entry's effects. Returns 0; LEDGER_ECORRUPT when the entry
 * cannot follow the state (a post or void of a transfer not open, other
 * accounts, a larger amount, a ledger other than the account's, a balance
 * that would overflow or go negative), with the reason in msg (cap bytes,
 * e.g. "posts pending transfer HEX, which is not open"); LEDGER_ENOMEM.
 */
int ledger_replay_apply(struct ledger_replay *r, const struct ledger_entry *e, char *msg, size_t cap);
/*
 * The accounts and the open pending transfers, sorted by id. OUT: malloc'd
 * arrays the caller frees (NULL when empty) and their lengths.
 */
int ledger_replay_accounts(const struct ledger_replay *r, struct ledger_balance **out, size_t *n);
int ledger_replay_pendings(const struct ledger_replay *r, struct ledger_open_pending **out, size_t *n);
/* How many accounts the state holds. */
size_t ledger_replay_account_count(const struct ledger_replay *r);
/*
 * The trial balance: per ledger (ascending), the accounts, the four 128-bit
 * sums and whether debits equal credits, as ledger_trial_balance gives
 * them. OUT: out[0..*n), at most LEDGER_TRIAL_LEDGERS_MAX. LEDGER_EINVAL
 * when there are more ledgers.
 */
int ledger_replay_trial(const struct ledger_replay *r, struct ledger_trial_total *out, size_t *n);

/* --- the files --- */

/*
 * The readable lines of an entry (docs/audit.md, "Export"), ending in "\n"
 * (JSON Lines) or "\r\n" (CSV). OUT: out (NUL-terminated), *len without the
 * NUL. Returns 0 or LEDGER_EINVAL when cap is too small (LEDGER_EXPORT_LINE_MAX
 * is enough).
 */
int ledger_export_jsonl_line(const struct ledger_entry *e, char *out, size_t cap, size_t *len);
int ledger_export_csv_line(const struct ledger_entry *e, char *out, size_t cap, size_t *len);
/* The CSV header line, with its "\r\n". */
extern const char ledger_export_csv_header[];

/* Called now and then with work done and the total (both in entries read). */
typedef void (*ledger_export_progress_fn)(uint64_t done, uint64_t total, void *arg);

/* What an export covers and what it found; filled by the builder. */
struct ledger_export_summary {
	uint64_t first_seq, last_seq;    /* the range; last_seq = first_seq - 1 when empty */
	uint64_t entries, checkpoints, proofs, accounts, pendings;
	uint64_t opening_cost;           /* records read for the opening state (ledger_export_limits) */
	bool opening_back;               /* taken back from the present, not replayed from sequence 1 */
	bool end_covered;                /* a checkpoint's size reaches last_seq */
	size_t files;                    /* files written, in order, the manifest last: */
	const char *file_name[LEDGER_EXPORT_FILES]; /* static (LEDGER_EXPORT_*) */
	uint64_t file_size[LEDGER_EXPORT_FILES];    /* bytes */
};

/*
 * Where the builder's files go: begin names one file, write adds to it, end
 * finishes it and gives its SHA-256 and size. Each returns 0 or a nonzero
 * status that stops the export (returned by ledger_export_build).
 */
struct ledger_export_sink {
	int (*begin)(void *ctx, const char *name);
	int (*write)(void *ctx, const void *data, size_t len);
	int (*end)(void *ctx, uint8_t sha256[LEDGER_HASH_LEN], uint64_t *size);
	void *ctx;
};

/* Limits of one export (0: none). */
struct ledger_export_limits {
	uint64_t entries_max;            /* entries in the range */
	/*
	 * Records read for the opening state: the entries before the range
	 * (replayed forward), or, when fewer, the entries after its start plus
	 * the accounts and pending records (taken back from the present).
	 */
	uint64_t opening_max;
};

#define LEDGER_EXPORT_ETOOBIG (-60)  /* over a limit of ledger_export_limits */

/*
 * Writes every file of the export of [from_ms, to_ms) (from_ms < to_ms)
 * through `sink`, from the snapshot `txn`. pub: the public key, or NULL when
 * there is none (then no audit.pub). Returns 0, LEDGER_EXPORT_ETOOBIG (with
 * *out filled as far as the range), LEDGER_ENOMEM, LEDGER_ECORRUPT, a
 * STORE_* status, or the sink's status. progress may be NULL.
 */
int ledger_export_build(struct ledger *l, MDB_txn *txn, int64_t from_ms, int64_t to_ms,
			const uint8_t *pub, const struct ledger_export_limits *limits,
			const struct ledger_export_sink *sink, ledger_export_progress_fn progress, void *arg,
			struct ledger_export_summary *out);

/*
 * ledger_export_build into files of the existing, empty directory dir (each
 * made O_EXCL, with the process's umask): what `bangsoleh audit export`
 * writes. Returns as ledger_export_build; on failure the files written so
 * far stay, for the caller to remove.
 */
int ledger_export_build_dir(struct ledger *l, MDB_txn *txn, int64_t from_ms, int64_t to_ms, const uint8_t *pub,
			    const struct ledger_export_limits *limits, const char *dir, ledger_export_progress_fn progress,
			    void *arg, struct ledger_export_summary *out);

/*
 * The whole export to directory `out_dir` (created; refused with
 * LEDGER_EINVAL and a message when it exists and is not empty) from the
 * store in data_dir, opened read-only. msg (cap bytes) says what failed.
 */
int ledger_export_dir(const char *data_dir, size_t map_size, int64_t from_ms, int64_t to_ms, const char *out_dir,
		      ledger_export_progress_fn progress, void *arg, struct ledger_export_summary *out, char *msg,
		      size_t cap);

/*
 * Registers GET /api/v1/audit/export (admin and auditor); ledger_attach
 * calls it. An export is written by ledger_export_build_dir on the ledger's
 * work pool into a spool folder under the data folder
 * (LEDGER_EXPORT_SPOOL_DIR/<random>, 0700), then sent as a tar archive
 * from those files; the spool folder goes when the reply ends or the client
 * leaves. Removes spool folders a crash left behind. `h` is lent for the
 * life of the ledger.
 */
#define LEDGER_EXPORT_SPOOL_DIR "export-spool"
/* HTTP exports at a time: one more answers 503 export_busy. */
#define LEDGER_EXPORT_HTTP_AT_ONCE 1
/* Bytes of the archive handed to the HTTP server at a time, the next only once these are sent. */
#define LEDGER_EXPORT_HTTP_CHUNK (64 * 1024)
/*
 * The spool must have room for this many bytes per entry of the range (its
 * canonical bytes and two readable lines at their longest), plus
 * LEDGER_EXPORT_SPOOL_SPARE, or the export answers 507.
 */
#define LEDGER_EXPORT_SPOOL_ENTRY_MAX (LEDGER_EXPORT_LINE_MAX * 2 + 256)
#define LEDGER_EXPORT_SPOOL_SPARE (64ull * 1024 * 1024)
int ledger_export_attach(struct ledger *l, struct httpd *h);

/* --- the verifier --- */

struct ledger_export_check {
	bool ok;
	char message[LEDGER_EXPORT_MSG_MAX]; /* the first failure, naming the file and entry or checkpoint */
	uint64_t files;                      /* file hashes that matched the manifest */
	uint64_t first_seq, last_seq;
	uint64_t entries;                    /* entries decoded and chained */
	uint64_t lines;                      /* readable lines that matched their entries */
	uint64_t checkpoints;                /* signatures and roots checked */
	uint64_t proofs;                     /* consistency proofs checked */
	uint64_t accounts;                   /* accounts after the range */
	uint64_t compact;                    /* hashes of the compact range */
	bool has_key;                        /* audit.pub was read: */
	uint8_t key[LEDGER_KEY_LEN];         /* its key, the one the checkpoints are checked under */
	struct ledger_trial_total trial[LEDGER_TRIAL_LEDGERS_MAX]; /* the closing trial balance */
	size_t ledgers;
	uint64_t elapsed_ns;
};

/*
 * Checks the export in `dir` (docs/audit.md, "Export": "Verifying"). Stops
 * at the first failure. trusted: the public key the auditor holds
 * (LEDGER_KEY_LEN bytes, read during the call), or NULL to check the
 * signatures under the export's own audit.pub only; when given, an
 * audit.pub that is missing or differs fails. Returns 0 when the checks ran
 * (out->ok is the verdict) or LEDGER_ENOMEM.
 */
int ledger_export_verify(const char *dir, const uint8_t *trusted, struct ledger_export_check *out);

/* A file mapped for reading (data NULL when it is empty). */
struct ledger_export_map {
	const uint8_t *data;
	size_t len;
};

/*
 * Maps the regular file at path read-only. Returns 0, STORE_ENOTFOUND or
 * STORE_EIO. Unmap with ledger_export_unmap (also after a zeroed map).
 */
int ledger_export_map(const char *path, struct ledger_export_map *m);
void ledger_export_unmap(struct ledger_export_map *m);

/*
 * `bangsoleh audit export|verify ...`: argv[0] is the subcommand. Returns the
 * process exit status (0 ok, 1 failed, 2 bad usage).
 */
int ledger_audit_main(int argc, char **argv);

#endif
