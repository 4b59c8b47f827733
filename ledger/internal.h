/*
 * The ledger module's own parts: its state, its record formats and keys.
 * Only files in ledger/ include this.
 */
#ifndef BANGSOLEH_LEDGER_INTERNAL_H
#define BANGSOLEH_LEDGER_INTERNAL_H

#include <limits.h>
#include <string.h>

#include "ledger.h"

/*
 * The canonical bytes of an entry: a msgpack array of 17 elements, each of
 * fixed width (see docs/ledger.md), so every entry is exactly this long.
 * The log stores canonical bytes followed by the 32-byte chain hash.
 */
#define LEDGER_CANONICAL_LEN 169
#define LEDGER_STORED_LEN (LEDGER_CANONICAL_LEN + LEDGER_HASH_LEN)
#define LEDGER_ENTRY_VERSION 1
#define LEDGER_ACCOUNT_VERSION 2
#define LEDGER_BALANCES_VERSION 1
#define LEDGER_PENDING_VERSION 1
#define LEDGER_BATCH_VERSION 1
#define LEDGER_META_VERSION 1
/* Largest encoded account: fixed part plus the name. */
#define LEDGER_ACCOUNT_RECORD_MAX 256
#define LEDGER_BALANCES_RECORD_LEN 47
#define LEDGER_PENDING_RECORD_LEN 92
#define LEDGER_BATCH_RECORD_LEN 63
#define LEDGER_META_RECORD_LEN 63

enum ledger_pending_status {
	LEDGER_PENDING_OPEN = 1,
	LEDGER_PENDING_POSTED = 2,
	LEDGER_PENDING_VOIDED = 3,
	LEDGER_PENDING_EXPIRED = 4,
};

/* What a post or void needs to know of the pending transfer it resolves. */
struct ledger_pending {
	struct ledger_id id;
	struct ledger_id debit_account_id;
	struct ledger_id credit_account_id;
	int64_t amount;
	uint32_t ledger;
	uint16_t code;
	uint8_t status;                   /* enum ledger_pending_status */
	uint64_t seq;                     /* the pending entry */
	uint64_t expires_at;              /* ns; 0 = never */
};

/* The ledger's running state, kept in ledger_meta and read at each call. */
struct ledger_meta {
	uint64_t head_seq;
	uint8_t head_hash[LEDGER_HASH_LEN];
	uint64_t clock;                   /* last timestamp given out, ns */
	uint64_t batches;                 /* ledger batches committed */
};

struct ledger_sweep;
struct ledger_buffers;
struct ledger_cache;

struct ledger {
	struct store *store;
	MDB_dbi log, ids, accounts, balances, names, pending, expiry, batches, meta;
	struct ledger_sweep *sweep;       /* the expiry timer, while started */
	struct ledger_buffers *buffers;   /* the writer's scratch space, kept between calls */
	struct ledger_cache *cache;       /* committed accounts, in the writer's memory */
	MDB_dbi tree;                     /* ledger_tree: (level, index) -> subtree hash (merkle.c) */
	bool has_tree;                    /* false: a read-only store older than the tree */
	MDB_dbi failed;                   /* ledger_failed: transfer id -> the transient result it failed with */
	bool has_failed;                  /* false: a read-only store older than ledger_failed */
	bool tree_off;                    /* bench --no-tree: appends leave the tree alone */
	struct ledger_signer *signer;     /* the checkpoint key and schedule (checkpoint.c), once opened */
	struct workq *workq;              /* lent by ledger_attach: long reads of the HTTP API run there */
	unsigned exports_http;            /* HTTP exports spooling or sending (export_http.c), loop thread */
	MDB_dbi signer_dbi;               /* ledger_checkpoints: number -> signed tree head */
	/* signer_dbi is open: by ledger_checkpoints_open, or for verify by ledger_checkpoints_find. */
	bool has_checkpoints;
	char data_dir[PATH_MAX];          /* where audit.pub is, once has_checkpoints */
};

/*
 * The checkpoint schedule (checkpoint.c), called by the once-a-second timer:
 * every interval, when the tree grew, a store job signs a checkpoint.
 */
void ledger_checkpoint_tick(struct ledger *l, uint64_t now_ms);
/* Frees the signer (a job still out frees it when done). */
void ledger_checkpoints_close(struct ledger *l);
/*
 * For ledger verify on a read-only store: opens ledger_checkpoints when the
 * store has it (has_checkpoints stays false when not: nothing was signed)
 * and notes data_dir, where audit.pub is. Before store_read_begin.
 */
int ledger_checkpoints_find(struct ledger *l, const char *data_dir);
/*
 * Reads data_dir/audit.pub (64 hex characters and a newline). Returns
 * LEDGER_OK, STORE_ENOTFOUND when there is no such file, LEDGER_ECORRUPT
 * when it is not exactly that, or STORE_EIO.
 */
int ledger_audit_pub_read(const char *data_dir, uint8_t pub[LEDGER_KEY_LEN]);
/* A stored checkpoint record (key: its number). LEDGER_ECORRUPT unless exact. */
int ledger_checkpoint_decode(const MDB_val *k, const MDB_val *v, struct ledger_checkpoint *out);

/*
 * The Merkle tree (merkle.c). Nodes of this level and up are stored; below
 * it they are recomputed from the (at most 15) entries under them.
 */
#define LEDGER_TREE_LOW 4
/*
 * Opens ledger_tree (before store_start) and, for a ledger whose log is
 * ahead of its tree (written before the tree existed), builds the rest at
 * once, 65,536 entries per commit; on a read-only store it builds nothing.
 */
int ledger_tree_open(struct ledger *l);
/* Two ids, compared as two 64-bit halves: per-entry hot paths (memcmp is a call). */
static inline bool ledger_id_same(const void *a, const void *b)
{
	uint64_t a0, a1, b0, b1;
	memcpy(&a0, a, 8);
	memcpy(&a1, (const uint8_t *)a + 8, 8);
	memcpy(&b0, b, 8);
	memcpy(&b1, (const uint8_t *)b + 8, 8);
	return a0 == b0 && a1 == b1;
}

/*
 * An open-addressing map from ledger ids to fixed-size slots (idmap.c), each
 * slot beginning with its 16-byte id; the zero id marks a free slot (no
 * account, transfer or pending id is zero). Slots move when the map grows
 * (reserve) or loses an id (remove): a pointer into it lasts until then.
 */
struct ledger_idmap {
	unsigned char *slots;
	size_t slot_size;
	size_t cap;                       /* a power of two, at least twice len */
	size_t len;
};
/* A map with room for `expect` ids. Returns LEDGER_OK or LEDGER_ENOMEM. */
int ledger_idmap_init(struct ledger_idmap *m, size_t slot_size, size_t expect);
void ledger_idmap_free(struct ledger_idmap *m);
/* The slot of id, or NULL. */
void *ledger_idmap_find(const struct ledger_idmap *m, const struct ledger_id *id);
/* Starts loading id's home slot (a map larger than the cache waits on memory otherwise). */
void ledger_idmap_prefetch(const struct ledger_idmap *m, const struct ledger_id *id);
/* Makes room for `extra` more ids. Returns LEDGER_OK or LEDGER_ENOMEM. */
int ledger_idmap_reserve(struct ledger_idmap *m, size_t extra);
/* The slot of id (not zero), added zeroed but for its id when absent (room reserved beforehand). OUT: *added. */
void *ledger_idmap_put(struct ledger_idmap *m, const struct ledger_id *id, bool *added);
/* Removes the slot (from find or put). */
void ledger_idmap_remove(struct ledger_idmap *m, void *slot);
/* The next used slot from *pos (start at 0), or NULL at the end; advances *pos. */
void *ledger_idmap_next(const struct ledger_idmap *m, size_t *pos);

/* Opens ledger_failed (before store_start); a read-only store older than it has none. */
int ledger_failed_open(struct ledger *l);
/*
 * The hook of a write call, around the writing of its appended entries
 * (consecutive sequences, continuing the tree): begin starts hashing them
 * (on a thread of its own for a large call; `entries` must not change until
 * end); end waits for that and, with `write`, adds the nodes in the caller's
 * transaction (without it, only frees: the call failed). *job is NULL when
 * there is nothing to do. end returns 0, LEDGER_ECORRUPT when the tree does
 * not end where the entries start, or an LMDB status; every begin that
 * returned 0 needs its end.
 */
struct ledger_tree_job;
int ledger_tree_begin(struct ledger *l, const struct ledger_entry *entries, size_t n, struct ledger_tree_job **job);
int ledger_tree_end(struct ledger *l, MDB_txn *txn, struct ledger_tree_job *job, bool write);
/*
 * The verifier's side (verify.c): fed the log's records in order, a chunk
 * at a time, recomputes the tree and compares every stored node it
 * completes; `bad` is called for each node missing or different. The walk
 * goes through one chunk (check_entry, in its transaction's thread) while
 * the next one is hashed (check_hash, on any one thread: it touches no
 * transaction); check_turn, with no hashing running, makes the chunk
 * hashed the one walked. Each stored node is compared when the walk
 * reaches the entry that completes it. check_end gives the stored nodes
 * the log did not make. Without a tree (has_tree false) the caller
 * reports that.
 */
#define LEDGER_TREE_CHECK_CHUNK 4096
struct ledger_tree_check;
typedef void (*ledger_tree_bad_fn)(void *arg, unsigned level, uint64_t index, const char *what);
int ledger_tree_check_new(struct ledger *l, MDB_txn *txn, ledger_tree_bad_fn bad, void *arg,
			  struct ledger_tree_check **out);
void ledger_tree_check_free(struct ledger_tree_check *c);
/*
 * Hashes records[0..n), n <= LEDGER_TREE_CHECK_CHUNK, the stored log
 * records (canonical bytes + chain hash) after those hashed before.
 */
int ledger_tree_check_hash(struct ledger_tree_check *c, const MDB_val *records, size_t n);
void ledger_tree_check_turn(struct ledger_tree_check *c);
/* The walk at its next entry: compares the stored nodes that entry completes. */
int ledger_tree_check_entry(struct ledger_tree_check *c);
/* OUT: the stored size record, and the stored nodes (besides it) the log did not make. */
int ledger_tree_check_end(struct ledger_tree_check *c, uint64_t *size, uint64_t *extra);

/*
 * The account cache (cache.c); writer thread only. An account's handle
 * (nonzero) names its cache entry; entries never move.
 */
int ledger_cache_new(struct ledger_cache **out);
void ledger_cache_free(struct ledger_cache *c);
/* The handle of an account's entry; with `add`, made when there is room. 0: not cached. */
uint32_t ledger_cache_find(struct ledger_cache *c, const struct ledger_id *id, bool add);
/* The account as the transaction holds it, or NULL when the cache does not know it. */
struct ledger_account *ledger_cache_get(struct ledger_cache *c, uint32_t handle);
/*
 * The entry's account, to be changed (or filled from storage) in place: its
 * state before the running job is kept, to be put back if the job or its
 * batch rolls back. NULL when out of memory (nothing changed).
 */
struct ledger_account *ledger_cache_change(struct ledger_cache *c, uint32_t handle);
/* Store hooks (ctx is the cache). */
void ledger_cache_job_end(bool kept, void *ctx);
void ledger_cache_batch_end(bool committed, void *ctx);

/* Frees the writer's scratch space (NULL is allowed). */
void ledger_buffers_free(struct ledger_buffers *b);

/* Canonical entry bytes (without the hash). */
void ledger_entry_encode(const struct ledger_entry *e, uint8_t out[LEDGER_CANONICAL_LEN]);
/* Decodes a stored entry (canonical bytes + hash). LEDGER_ECORRUPT unless exact. */
int ledger_entry_decode(const void *data, size_t len, struct ledger_entry *out);
/* next = SHA-256(prev || canonical). */
void ledger_chain(const uint8_t prev[LEDGER_HASH_LEN], const uint8_t canonical[LEDGER_CANONICAL_LEN],
		  uint8_t next[LEDGER_HASH_LEN]);

/*
 * Account records hold what is fixed at creation; encode returns the length
 * written (<= LEDGER_ACCOUNT_RECORD_MAX); decode leaves the balances alone.
 * Balances records hold what every transfer changes (the two balances,
 * last_seq): kept apart so a batch rewrites 47 bytes per account, not the
 * whole account. Their decode sets only those fields.
 */
size_t ledger_account_encode(const struct ledger_account *a, uint8_t *out);
int ledger_account_decode(const void *data, size_t len, struct ledger_account *out);
void ledger_balances_encode(const struct ledger_account *a, uint8_t out[LEDGER_BALANCES_RECORD_LEN]);
int ledger_balances_decode(const void *data, size_t len, struct ledger_account *out);

void ledger_pending_encode(const struct ledger_pending *p, uint8_t out[LEDGER_PENDING_RECORD_LEN]);
int ledger_pending_decode(const void *data, size_t len, struct ledger_pending *out);

void ledger_meta_encode(const struct ledger_meta *m, uint8_t out[LEDGER_META_RECORD_LEN]);
int ledger_meta_decode(const void *data, size_t len, struct ledger_meta *out);

/* A batch record: first and last sequence, chain head after it, timestamp. */
struct ledger_batch {
	uint64_t first_seq, last_seq;
	uint8_t head_hash[LEDGER_HASH_LEN];
	uint64_t timestamp;
};
void ledger_batch_encode(const struct ledger_batch *b, uint8_t out[LEDGER_BATCH_RECORD_LEN]);
int ledger_batch_decode(const void *data, size_t len, struct ledger_batch *out);

/* True for the id 2^128-1, which no account or transfer may have. */
bool ledger_id_is_max(const struct ledger_id *id);

/* Big-endian 64-bit keys. */
void ledger_put_u64(uint8_t out[8], uint64_t v);
uint64_t ledger_get_u64(const uint8_t in[8]);

/* Reads the meta record (zeroes when the ledger is empty). */
int ledger_meta_read(struct ledger *l, MDB_txn *txn, struct ledger_meta *out);
int ledger_meta_write(struct ledger *l, MDB_txn *txn, const struct ledger_meta *m);

/* The wall clock, ns since the epoch (UTC). */
uint64_t ledger_now_ns(void);
/* A timestamp after both the last one given out and `now`. */
uint64_t ledger_tick(struct ledger_meta *m, uint64_t now);

#endif
