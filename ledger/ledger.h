/*
 * ledger: the append-only, double-entry ledger of Bang Soleh.
 *
 * Semantics follow TigerBeetle's: accounts and transfers are never updated
 * or deleted (only an account's balances and history head change, and only
 * through transfers); transfer ids are chosen by the caller, so a retry is
 * answered `exists` and posts nothing twice; `linked` events commit all or
 * nothing; pending transfers reserve money and are later posted (in full or
 * in part), voided, or expired by the ledger, at most once; account flags
 * forbid overdrafts; every sum is overflow-checked.
 *
 * Money is whole rupiah in int64_t. Every committed transfer is an entry with
 * the next sequence number and a timestamp (nanoseconds, UTC, strictly
 * increasing), chained: hash(n) = SHA-256(hash(n-1) || canonical(n)),
 * hash(0) = 32 zero bytes. docs/ledger.md gives the bytes.
 *
 * The write functions run inside a store writer transaction (a job's apply),
 * so a module's own records and its transfers commit together; everything
 * a call writes lives in that transaction, so a job that rolls back takes
 * its ledger effects with it. The read functions take any transaction.
 *
 * DBIs owned: ledger_log (seq -> entry), ledger_ids (transfer id -> seq),
 * ledger_accounts (id -> account), ledger_names (name -> id),
 * ledger_pending (pending id -> state), ledger_expiry (deadline, id),
 * ledger_batches (batch -> first/last seq, head), ledger_meta,
 * ledger_tree ((level, index) -> Merkle subtree hash), and on a server
 * ledger_checkpoints (number -> signed tree head).
 */
#ifndef BANGSOLEH_LEDGER_H
#define BANGSOLEH_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

struct event_base;
struct httpd;
struct store;
struct ledger;

#define LEDGER_IDR 360               /* the ledger (currency) of rupiah */
#define LEDGER_NAME_MAX 64
#define LEDGER_BATCH_MAX 8189        /* events per call */
#define LEDGER_AMOUNT_MAX INT64_MAX  /* on a post: the whole pending amount */
#define LEDGER_HASH_LEN 32

/* Status codes of the functions (events have their own results below). */
#define LEDGER_OK 0
#define LEDGER_EINVAL (-40)          /* n of 0 or over LEDGER_BATCH_MAX, bad id text */
#define LEDGER_ENOMEM (-41)
#define LEDGER_ECORRUPT (-42)        /* a stored record does not decode */
#define LEDGER_EUNSIGNED (-43)       /* no signed checkpoint covers the entry yet */
/* LMDB and store failures are returned as STORE_* codes. */

/* A 128-bit id, big-endian, so byte order is numeric order is time order. */
struct ledger_id {
	uint8_t b[16];
};

enum ledger_account_flags {
	LEDGER_ACCOUNT_LINKED = 1u << 0,
	LEDGER_DEBITS_MUST_NOT_EXCEED_CREDITS = 1u << 1,
	LEDGER_CREDITS_MUST_NOT_EXCEED_DEBITS = 1u << 2,
	LEDGER_ACCOUNT_CLOSED = 1u << 5,
};

enum ledger_transfer_flags {
	LEDGER_LINKED = 1u << 0,
	LEDGER_PENDING = 1u << 1,
	LEDGER_POST_PENDING = 1u << 2,
	LEDGER_VOID_PENDING = 1u << 3,
	/* Set by the ledger alone on the void it records when a pending transfer expires. */
	LEDGER_EXPIRY = 1u << 15,
};

/*
 * The fields a transfer reads and changes come first and fill 64 bytes, so
 * that the writer touches one cache line per account.
 */
struct ledger_account {
	struct ledger_id id;                 /* not 0, not 2^128-1 */
	/* Set by the ledger; the four balances must be 0 on input (*_must_be_zero), last_seq is ignored: */
	int64_t debits_pending, debits_posted, credits_pending, credits_posted;
	uint64_t last_seq;                   /* newest entry touching it, 0 if none */
	uint32_t ledger;                     /* LEDGER_IDR */
	uint16_t code;                       /* account type (chart of accounts) */
	uint16_t flags;
	uint64_t timestamp;                  /* creation, ns; set by the ledger, 0 on input */
	struct ledger_id user_data_128;      /* e.g. the owning merchant */
	uint64_t user_data_64;
	uint32_t user_data_32;
	char name[LEDGER_NAME_MAX + 1];      /* unique, 1..64 bytes of [a-z0-9:._-] */
};

struct ledger_transfer {
	struct ledger_id id;
	struct ledger_id debit_account_id;
	struct ledger_id credit_account_id;
	int64_t amount;                      /* > 0; LEDGER_AMOUNT_MAX on a post: all of it */
	struct ledger_id pending_id;         /* the pending transfer a post or void resolves */
	struct ledger_id user_data_128;      /* e.g. the order */
	uint64_t user_data_64;               /* e.g. the payment */
	uint32_t user_data_32;
	uint32_t timeout;                    /* seconds, pending transfers only; 0 = none */
	uint32_t ledger;
	uint16_t code;                       /* reason: enum ledger_code */
	uint16_t flags;
	/* Set by the ledger on `ok` and `exists`; timestamp must be 0 on input, seq is ignored: */
	uint64_t timestamp;
	uint64_t seq;
};

/* Account types of the chart of accounts (the `code` of an account). */
enum ledger_account_code {
	LEDGER_ACCOUNT_GATEWAY_CLEARING = 1,  /* asset: what a provider owes the platform */
	LEDGER_ACCOUNT_ESCROW = 2,            /* liability: money held for open orders */
	LEDGER_ACCOUNT_MERCHANT_PAYABLE = 3,  /* liability: owed to a merchant */
	LEDGER_ACCOUNT_COURIER_PAYABLE = 4,   /* liability: owed to a courier */
	LEDGER_ACCOUNT_PLATFORM_FEES = 5,     /* revenue: MDR and commission */
	LEDGER_ACCOUNT_CITY_PROMOTIONS = 6,   /* expense: city-funded vouchers */
	LEDGER_ACCOUNT_BANK_SETTLEMENT = 7,   /* asset: the platform's bank account */
};

/* Reasons of transfers (the `code` of a transfer). */
enum ledger_code {
	LEDGER_CODE_PAYMENT = 1,
	LEDGER_CODE_RELEASE = 2,
	LEDGER_CODE_COMMISSION = 3,
	LEDGER_CODE_SHIPPING = 4,
	LEDGER_CODE_REFUND = 5,
	LEDGER_CODE_PAYOUT = 6,
	LEDGER_CODE_SETTLEMENT = 7,
	LEDGER_CODE_VOUCHER = 8,
	LEDGER_CODE_ADJUSTMENT = 9,
};

/* One committed transfer with its place in the chain. */
struct ledger_entry {
	struct ledger_transfer t;            /* as stored: effective accounts and amount */
	uint64_t debit_prev_seq;             /* the debit account's previous entry, 0 if none */
	uint64_t credit_prev_seq;
	uint8_t hash[LEDGER_HASH_LEN];       /* the chain hash up to and including this entry */
};

/*
 * Event results. The order and names follow TigerBeetle; ledger_result_name
 * gives the snake_case name used in the HTTP API.
 */
enum ledger_result {
	LEDGER_R_OK = 0,
	LEDGER_R_LINKED_EVENT_FAILED,
	LEDGER_R_LINKED_EVENT_CHAIN_OPEN,
	LEDGER_R_RESERVED_FLAG,
	LEDGER_R_ID_MUST_NOT_BE_ZERO,
	LEDGER_R_ID_MUST_NOT_BE_INT_MAX,
	LEDGER_R_FLAGS_ARE_MUTUALLY_EXCLUSIVE,
	LEDGER_R_DEBIT_ACCOUNT_ID_MUST_NOT_BE_ZERO,
	LEDGER_R_DEBIT_ACCOUNT_ID_MUST_NOT_BE_INT_MAX,
	LEDGER_R_CREDIT_ACCOUNT_ID_MUST_NOT_BE_ZERO,
	LEDGER_R_CREDIT_ACCOUNT_ID_MUST_NOT_BE_INT_MAX,
	LEDGER_R_ACCOUNTS_MUST_BE_DIFFERENT,
	LEDGER_R_PENDING_ID_MUST_BE_ZERO,
	LEDGER_R_PENDING_ID_MUST_NOT_BE_ZERO,
	LEDGER_R_PENDING_ID_MUST_NOT_BE_INT_MAX,
	LEDGER_R_PENDING_ID_MUST_BE_DIFFERENT,
	LEDGER_R_TIMEOUT_RESERVED_FOR_PENDING_TRANSFER,
	LEDGER_R_AMOUNT_MUST_NOT_BE_ZERO,
	LEDGER_R_AMOUNT_MUST_NOT_BE_NEGATIVE,
	LEDGER_R_LEDGER_MUST_NOT_BE_ZERO,
	LEDGER_R_CODE_MUST_NOT_BE_ZERO,
	LEDGER_R_DEBIT_ACCOUNT_NOT_FOUND,
	LEDGER_R_CREDIT_ACCOUNT_NOT_FOUND,
	LEDGER_R_ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER,
	LEDGER_R_TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS,
	LEDGER_R_PENDING_TRANSFER_NOT_FOUND,
	LEDGER_R_PENDING_TRANSFER_NOT_PENDING,
	LEDGER_R_PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID,
	LEDGER_R_PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT_ID,
	LEDGER_R_PENDING_TRANSFER_HAS_DIFFERENT_LEDGER,
	LEDGER_R_PENDING_TRANSFER_HAS_DIFFERENT_CODE,
	LEDGER_R_EXCEEDS_PENDING_TRANSFER_AMOUNT,
	LEDGER_R_PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT,
	LEDGER_R_PENDING_TRANSFER_ALREADY_POSTED,
	LEDGER_R_PENDING_TRANSFER_ALREADY_VOIDED,
	LEDGER_R_PENDING_TRANSFER_EXPIRED,
	LEDGER_R_EXISTS_WITH_DIFFERENT_FLAGS,
	LEDGER_R_EXISTS_WITH_DIFFERENT_PENDING_ID,
	LEDGER_R_EXISTS_WITH_DIFFERENT_TIMEOUT,
	LEDGER_R_EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID,
	LEDGER_R_EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID,
	LEDGER_R_EXISTS_WITH_DIFFERENT_AMOUNT,
	LEDGER_R_EXISTS_WITH_DIFFERENT_USER_DATA_128,
	LEDGER_R_EXISTS_WITH_DIFFERENT_USER_DATA_64,
	LEDGER_R_EXISTS_WITH_DIFFERENT_USER_DATA_32,
	LEDGER_R_EXISTS_WITH_DIFFERENT_LEDGER,
	LEDGER_R_EXISTS_WITH_DIFFERENT_CODE,
	LEDGER_R_EXISTS,
	LEDGER_R_OVERFLOWS_DEBITS_PENDING,
	LEDGER_R_OVERFLOWS_CREDITS_PENDING,
	LEDGER_R_OVERFLOWS_DEBITS_POSTED,
	LEDGER_R_OVERFLOWS_CREDITS_POSTED,
	LEDGER_R_OVERFLOWS_DEBITS,
	LEDGER_R_OVERFLOWS_CREDITS,
	LEDGER_R_OVERFLOWS_TIMEOUT,
	LEDGER_R_EXCEEDS_CREDITS,
	LEDGER_R_EXCEEDS_DEBITS,
	LEDGER_R_DEBIT_ACCOUNT_ALREADY_CLOSED,
	LEDGER_R_CREDIT_ACCOUNT_ALREADY_CLOSED,
	/* Accounts only: */
	LEDGER_R_NAME_MUST_BE_VALID,
	LEDGER_R_NAME_ALREADY_USED,
	LEDGER_R_EXISTS_WITH_DIFFERENT_NAME,
	/* Transfers again, numbered after the rest so that every other number stays: */
	LEDGER_R_ID_ALREADY_FAILED,
	/* Both (a field the ledger sets, given non-zero), then accounts only; numbered last for the same reason: */
	LEDGER_R_TIMESTAMP_MUST_BE_ZERO,
	LEDGER_R_DEBITS_PENDING_MUST_BE_ZERO,
	LEDGER_R_DEBITS_POSTED_MUST_BE_ZERO,
	LEDGER_R_CREDITS_PENDING_MUST_BE_ZERO,
	LEDGER_R_CREDITS_POSTED_MUST_BE_ZERO,
	LEDGER_R_COUNT
};

/*
 * TigerBeetle's transient results (an account or pending transfer not found,
 * a balance limit, a closed account): the same event could pass at another
 * time, so an id that failed with one is spent (id_already_failed).
 */
bool ledger_result_is_transient(uint32_t result);
/* "ok", "exists", "exceeds_credits", ...; "unknown" outside the enum. */
const char *ledger_result_name(uint32_t result);
/* The reason of a transfer's code (enum ledger_code), or NULL for a code without one. */
const char *ledger_code_name(uint16_t code);

/*
 * Opens the ledger's DBIs (before store_start). `store` is lent for the
 * life of the ledger. OUT: *out, freed with ledger_close. Returns 0 or a
 * STORE_* / LEDGER_* status.
 */
int ledger_open(struct store *store, struct ledger **out);
void ledger_close(struct ledger *l);

/* --- writing, inside a store writer transaction --- */

/*
 * Creates accounts. results[i] is a ledger_result for accounts[i]; on `ok`
 * and `exists` the ledger fills timestamp (and, for `exists`, the stored
 * balances), and puts them back to 0 when the event's chain fails after
 * all. Those fields must be 0 on input (timestamp_must_be_zero,
 * debits_pending_must_be_zero, ...), so a job's apply that may run again
 * starts from a fresh copy of its events or clears them first
 * (ledger_accounts_clear). n in 1..LEDGER_BATCH_MAX. Returns 0 (whatever
 * the results), or
 * a nonzero status when the transaction itself failed — a LEDGER_* code or
 * LMDB's own (MDB_MAP_FULL among them, which the store answers by growing
 * the map): the job must then return it, so the store rolls the job back.
 */
int ledger_create_accounts(struct ledger *l, MDB_txn *txn, struct ledger_account *accounts, size_t n,
			   uint32_t *results);

/*
 * Creates transfers, in order, each seeing the effects of those before it.
 * results[i] for transfers[i]; timestamp and seq are filled on `ok` (and on
 * `exists`, from the stored transfer), and put back to 0 when the event's
 * chain fails after all. timestamp must be 0 on input, as for accounts.
 * Returns as ledger_create_accounts.
 */
int ledger_create_transfers(struct ledger *l, MDB_txn *txn, struct ledger_transfer *transfers, size_t n,
			    uint32_t *results);

/*
 * Put back to 0 what the create calls fill in (an account's timestamp,
 * balances and last_seq; a transfer's timestamp and seq), so the events are
 * input again: for a job's apply that may run more than once on them.
 */
void ledger_accounts_clear(struct ledger_account *accounts, size_t n);
void ledger_transfers_clear(struct ledger_transfer *transfers, size_t n);

/*
 * Records the expiry of up to `max` pending transfers whose deadline is at
 * or before now_ns (a void entry each, flagged LEDGER_EXPIRY). OUT:
 * *expired, how many.
 */
int ledger_expire(struct ledger *l, MDB_txn *txn, uint64_t now_ns, size_t max, size_t *expired);

/* --- reading, any transaction; results are copies --- */

int ledger_account_get(struct ledger *l, MDB_txn *txn, const struct ledger_id *id, struct ledger_account *out);
int ledger_account_by_name(struct ledger *l, MDB_txn *txn, const char *name, struct ledger_account *out);
/* By a reference as the API takes it: 32 hex characters are an id, anything else a name. */
int ledger_account_lookup(struct ledger *l, MDB_txn *txn, const char *ref, struct ledger_account *out);
/* The transfer with that id, with its chain fields. STORE_ENOTFOUND when absent. */
int ledger_transfer_get(struct ledger *l, MDB_txn *txn, const struct ledger_id *id, struct ledger_entry *out);
/* The entry at sequence seq (1-based). */
int ledger_entry_get(struct ledger *l, MDB_txn *txn, uint64_t seq, struct ledger_entry *out);

/*
 * An account's entries, newest first. `cursor` is 0 for the newest, or the
 * `next` of the previous page (the sequence of the entry to start at; one
 * that is not this account's is LEDGER_EINVAL). OUT: out[0..*n), at most
 * `limit`; *next for the following page, 0 when there is none.
 */
int ledger_statement(struct ledger *l, MDB_txn *txn, const struct ledger_id *account, uint64_t cursor,
		     size_t limit, struct ledger_entry *out, size_t *n, uint64_t *next);

/* Entries from_seq, from_seq+1, ... OUT: out[0..*n), at most limit. */
int ledger_journal(struct ledger *l, MDB_txn *txn, uint64_t from_seq, size_t limit, struct ledger_entry *out,
		   size_t *n);

/* The first sequence whose timestamp is >= ts (head + 1 when none). */
int ledger_seq_at(struct ledger *l, MDB_txn *txn, uint64_t ts, uint64_t *seq);
/*
 * The ledger timestamp (ns) of UTC ms: the ledger's clock starts in 1970 and
 * ends in 2554, so earlier times are its start and later ones its end.
 */
uint64_t ledger_time_from_ms(int64_t ms);

/* The newest sequence (0 when empty) and its chain hash. */
int ledger_head(struct ledger *l, MDB_txn *txn, uint64_t *seq, uint8_t hash[LEDGER_HASH_LEN]);

/* --- balances as of a point: statements and the trial balance (balances.c) --- */

/*
 * What an entry does to its two accounts (docs/ledger.md): the debit
 * account's debits and the credit account's credits each change by
 * *pending and *posted. `reserved`: for a post, the amount of the pending
 * transfer it resolves (unused otherwise). Returns 0, or LEDGER_ECORRUPT for
 * flags no entry carries.
 */
int ledger_entry_move(const struct ledger_transfer *t, int64_t reserved, int64_t *pending, int64_t *posted);

/* An account's four balances; as of a point they are each in 0..INT64_MAX. */
struct ledger_balances {
	int64_t debits_pending, debits_posted, credits_pending, credits_posted;
};

/*
 * The balances of `account` as they stood after entry `seq` (0: before the
 * first entry), computed from its current balances by taking back its
 * entries after seq, newest first along its history (debit_prev_seq /
 * credit_prev_seq): the cost is one log read per entry of the account after
 * seq (and one pending-record read per post among them). An account created
 * after seq gets zeroes. Returns 0, STORE_ENOTFOUND for no such account,
 * LEDGER_EINVAL when seq is beyond the head, LEDGER_ECORRUPT when the
 * history does not add up (a balance would leave 0..INT64_MAX).
 */
int ledger_balances_at(struct ledger *l, MDB_txn *txn, const struct ledger_id *account, uint64_t seq,
		       struct ledger_balances *out);

/* What ledger_account_period found besides the page of entries. */
struct ledger_period {
	struct ledger_balances opening;      /* after entry from_seq - 1 */
	struct ledger_balances closing;      /* after entry to_seq */
	size_t n;                            /* entries on this page */
	uint64_t next;                       /* the cursor of the next page, 0 on the last */
};

/*
 * An account statement over the period from_seq..to_seq (sequences,
 * inclusive; from_seq = to_seq + 1 is an empty period): the opening and
 * closing balances, and one page of the account's entries in the period in
 * sequence order, from the first at or after `cursor` (0: from the start;
 * else within the period; any sequence there will do, the `next` of a page
 * is one). OUT: out[0..res->n) (n <= limit), after[i] the balances just
 * after out[i], and *res; the caller owns out and after, limit elements
 * each. One walk back along the account's history from its newest entry to
 * from_seq, so the cost is the account's entries at or after from_seq.
 * Returns 0, STORE_ENOTFOUND (no such account), LEDGER_EINVAL (from_seq 0,
 * to_seq beyond the head, to_seq + 1 < from_seq, a cursor outside the
 * period, limit 0), LEDGER_ECORRUPT as ledger_balances_at.
 */
int ledger_account_period(struct ledger *l, MDB_txn *txn, const struct ledger_id *account, uint64_t from_seq,
			  uint64_t to_seq, uint64_t cursor, size_t limit, struct ledger_entry *out,
			  struct ledger_balances *after, struct ledger_period *res);

/* A 128-bit sum of non-negative int64s: hi * 2^64 + lo (a ledger's total can pass INT64_MAX). */
struct ledger_sum {
	uint64_t hi, lo;
};

/* Adds v (>= 0) to s; 2^64 additions of INT64_MAX cannot carry out of it. */
void ledger_sum_add(struct ledger_sum *s, int64_t v);
bool ledger_sum_equal(const struct ledger_sum *a, const struct ledger_sum *b);

#define LEDGER_SUM_TEXT 40               /* 2^128 - 1 in decimal is 39 digits, with the NUL */
/* The sum in decimal, NUL-terminated (cap >= LEDGER_SUM_TEXT is enough). Returns 0 or LEDGER_EINVAL. */
int ledger_sum_text(const struct ledger_sum *s, char *out, size_t cap);

#define LEDGER_TRIAL_LEDGERS_MAX 16      /* distinct ledgers (currencies) a trial balance sums */

/* One ledger's totals in a trial balance. */
struct ledger_trial_total {
	uint32_t ledger;
	uint64_t accounts;                   /* accounts listed on it */
	struct ledger_sum debits_pending, debits_posted, credits_pending, credits_posted;
	bool balanced;                       /* debits = credits, both pending and posted */
};

struct ledger_trial {
	uint64_t seq;                        /* as of this entry */
	uint64_t entries_read;               /* log entries the computation read */
	bool forward;                        /* replayed 1..seq (else took back seq+1..head) */
	size_t n;                            /* ledgers[0..n), in ledger number order */
	struct ledger_trial_total ledgers[LEDGER_TRIAL_LEDGERS_MAX];
};

/*
 * Called for each account listed, in id order: `a` as it is now (current
 * balances, last_seq), `b` its balances as of the trial's sequence. A
 * nonzero return stops the trial balance, which returns it.
 */
typedef int (*ledger_trial_fn)(void *arg, const struct ledger_account *a, const struct ledger_balances *b);

/*
 * The trial balance after entry `seq` (<= head): every account created
 * before `created_before` (ns; UINT64_MAX for all) with its balances then,
 * passed to fn (may be NULL), and per ledger the 128-bit totals and whether
 * debits equal credits. The balances come from one pass over the log:
 * forward from zero over 1..seq or back from the current balances over
 * seq+1..head, whichever is shorter, plus one pass over the accounts.
 * Memory: a map of 48-byte slots, 2 to 4 per account, freed before it
 * returns. OUT: *out. Returns 0, fn's nonzero status, LEDGER_EINVAL (seq
 * beyond the head, more than LEDGER_TRIAL_LEDGERS_MAX ledgers),
 * LEDGER_ENOMEM, LEDGER_ECORRUPT (an entry moves an unknown account, a
 * balance leaves 0..INT64_MAX), or a STORE_* status.
 */
int ledger_trial_balance(struct ledger *l, MDB_txn *txn, uint64_t seq, uint64_t created_before,
			 ledger_trial_fn fn, void *arg, struct ledger_trial *out);

/* --- tamper evidence: the RFC 9162 Merkle tree of the entries (docs/audit.md) --- */

/*
 * Leaf i is the entry with sequence i + 1 (its canonical bytes); the tree of
 * size n covers sequences 1..n. Leaf hash SHA-256(0x00 || bytes), node hash
 * SHA-256(0x01 || left || right). Every complete subtree is stored
 * (ledger_tree), so roots and proofs take O(log n) reads.
 */
#define LEDGER_PROOF_MAX 65          /* elements of a proof: ceil(log2 2^64) + 1 */
#define LEDGER_MERKLE_LEAF_MAX 256   /* the largest leaf ledger_merkle_leaf_hash takes */

/* The leaves in the tree (equal to the head sequence). */
int ledger_tree_size(struct ledger *l, MDB_txn *txn, uint64_t *size);
/* The root of the first `size` leaves (SHA-256 of nothing for 0); STORE_ENOTFOUND beyond the tree. */
int ledger_tree_root(struct ledger *l, MDB_txn *txn, uint64_t size, uint8_t out[LEDGER_HASH_LEN]);
/* The hash of leaf `index`; STORE_ENOTFOUND beyond the tree. */
int ledger_tree_leaf(struct ledger *l, MDB_txn *txn, uint64_t index, uint8_t out[LEDGER_HASH_LEN]);
/*
 * The RFC 9162 inclusion proof of leaf `leaf_index` in the tree of size
 * tree_size. OUT: out[0..*n), *n <= LEDGER_PROOF_MAX (out has room for that
 * many). LEDGER_EINVAL when leaf_index >= tree_size, STORE_ENOTFOUND when
 * tree_size is beyond the tree.
 */
int ledger_inclusion_proof(struct ledger *l, MDB_txn *txn, uint64_t leaf_index, uint64_t tree_size,
			   uint8_t (*out)[LEDGER_HASH_LEN], size_t *n);
/*
 * The RFC 9162 consistency proof from size old_size to new_size (empty when
 * old_size is 0 or equal to new_size). OUT as above. LEDGER_EINVAL when
 * old_size > new_size, STORE_ENOTFOUND when new_size is beyond the tree.
 */
int ledger_consistency_proof(struct ledger *l, MDB_txn *txn, uint64_t old_size, uint64_t new_size,
			     uint8_t (*out)[LEDGER_HASH_LEN], size_t *n);

/* Pure hashing and verification; no store. Hashes return 0 or LEDGER_EINVAL (too long) / LEDGER_ENOMEM. */
int ledger_merkle_leaf_hash(const void *data, size_t len, uint8_t out[LEDGER_HASH_LEN]);
int ledger_merkle_node_hash(const uint8_t left[LEDGER_HASH_LEN], const uint8_t right[LEDGER_HASH_LEN],
			    uint8_t out[LEDGER_HASH_LEN]);
/*
 * RFC 9162 §2.1.3.2: true only when every element checks out and the path
 * ends at root. proof: n hashes of 32 bytes, one after another.
 */
bool ledger_merkle_verify_inclusion(const uint8_t leaf_hash[LEDGER_HASH_LEN], uint64_t index, uint64_t size,
				    const uint8_t *proof, size_t n,
				    const uint8_t root[LEDGER_HASH_LEN]);
/*
 * RFC 9162 §2.1.4.2. Equal sizes need an empty proof and equal roots; from
 * size 0, an empty proof and old_root = SHA-256 of nothing; new < old is false.
 */
bool ledger_merkle_verify_consistency(uint64_t old_size, uint64_t new_size, const uint8_t old_root[LEDGER_HASH_LEN],
				      const uint8_t new_root[LEDGER_HASH_LEN],
				      const uint8_t *proof, size_t n);

/* --- signed checkpoints of the tree (checkpoint.c; docs/audit.md, "Checkpoints") --- */

#define LEDGER_CHECKPOINT_ORIGIN "bangsoleh.payakumbuh/ledger"
#define LEDGER_CHECKPOINT_TEXT_MAX 160   /* the longest signed text, with its NUL */
#define LEDGER_SIGNATURE_LEN 64          /* Ed25519 */
#define LEDGER_KEY_LEN 32                /* Ed25519 seed or public key */

struct ledger_checkpoint {
	uint64_t number;                     /* 1, 2, ... in the order they were made */
	uint64_t tree_size;
	uint8_t root[LEDGER_HASH_LEN];
	uint64_t time_ms;                    /* UTC, ms since the epoch */
	uint8_t signature[LEDGER_SIGNATURE_LEN];
};

/*
 * The signed text (C2SP checkpoint body): the origin, the tree size in
 * decimal, the root in standard base64, then "time <ms>", each ending in
 * "\n". OUT: out (NUL-terminated, cap >= LEDGER_CHECKPOINT_TEXT_MAX is
 * enough), *len without the NUL.
 */
int ledger_checkpoint_text(const struct ledger_checkpoint *c, char *out, size_t cap, size_t *len);
/* Fills c->signature: the Ed25519 signature by `key` (a seed) of the text. */
int ledger_checkpoint_sign(const uint8_t key[LEDGER_KEY_LEN], struct ledger_checkpoint *c);
/* True only when c->signature is pub's signature of c's text. */
bool ledger_checkpoint_verify(const uint8_t pub[LEDGER_KEY_LEN], const struct ledger_checkpoint *c);

/*
 * Loads (or makes once, 0600) data_dir/audit.key, writes data_dir/audit.pub
 * once (hex, one line; refused when it names another key), opens
 * ledger_checkpoints (before store_start), and sets the schedule: every
 * interval_s seconds, a checkpoint when the tree grew. Servers only.
 */
int ledger_checkpoints_open(struct ledger *l, const char *data_dir, uint64_t interval_s);
/* The signing key's public half (after ledger_checkpoints_open). */
void ledger_checkpoint_public_key(const struct ledger *l, uint8_t pub[LEDGER_KEY_LEN]);
/*
 * In a writer transaction: signs and stores a checkpoint of the tree as it
 * stands, unless the latest one already has this size (then *out is that one
 * and *made false). The first one is made whatever the size.
 */
int ledger_checkpoint_make(struct ledger *l, MDB_txn *txn, uint64_t now_ms, struct ledger_checkpoint *out,
			   bool *made);
/*
 * Seconds until the schedule's next checkpoint has been signed and stored,
 * at least 1 (a Retry-After for a receipt the latest one does not cover).
 * On the loop's thread.
 */
uint64_t ledger_checkpoint_wait_s(const struct ledger *l);
/* The latest checkpoint; STORE_ENOTFOUND when there is none. */
int ledger_checkpoint_latest(struct ledger *l, MDB_txn *txn, struct ledger_checkpoint *out);
/* Checkpoints numbered from `from` on. OUT: out[0..*n), at most limit. */
int ledger_checkpoint_list(struct ledger *l, MDB_txn *txn, uint64_t from, size_t limit,
			   struct ledger_checkpoint *out, size_t *n);

/* --- running inside the server --- */

/*
 * Starts the expiry sweep on `base`: once a second, when a pending
 * transfer's deadline has passed, a store job records its expiry (up to
 * 1024 per job); the same timer drives the checkpoint schedule. ledger_stop ends it (a job still queued finishes safely).
 */
int ledger_start(struct ledger *l, struct event_base *base);
void ledger_stop(struct ledger *l);

/*
 * Registers the ledger's HTTP endpoints (auditor and admin roles; see
 * docs/api.md). `h` is lent for the life of the ledger; so is `q`, the work
 * pool where reads whose cost grows with the books (statements, trial
 * balances) run.
 */
struct workq;
int ledger_attach(struct ledger *l, struct httpd *h, struct workq *q);

#define LEDGER_RECEIPT_MAX 4         /* transfers one receipt proves */

/*
 * What a receipt carries to prove that transfers are in the books
 * (docs/audit.md, "Receipts"): each transfer's entry as the journal shows
 * it, with its leaf index, its canonical bytes and leaf hash, and its
 * inclusion proof in the tree of the latest signed checkpoint; and that
 * checkpoint. ids: n transfer ids, 1..LEDGER_RECEIPT_MAX. OUT: *out, a JSON
 * object the caller owns. Returns 0; STORE_ENOTFOUND when a transfer is
 * absent; LEDGER_EUNSIGNED when the latest checkpoint does not cover them
 * yet (the next scheduled one will); LEDGER_EINVAL, LEDGER_ENOMEM or a
 * STORE_* status otherwise.
 */
struct json_t;
int ledger_receipt_json(struct ledger *l, MDB_txn *txn, const struct ledger_id *ids, size_t n, struct json_t **out);
/* One entry as the journal shows it (docs/api.md, "Ledger"): a new JSON object, NULL when out of memory. */
struct json_t *ledger_entry_json(const struct ledger_entry *e);

/*
 * `bangsoleh ledger verify|bench ...`: argv[0] is the subcommand. Returns
 * the process exit status (0 ok, 1 failed check, 2 bad usage).
 */
int ledger_main(int argc, char **argv);

/* --- ids --- */

/*
 * A new time-ordered id: milliseconds since the epoch in the high 48 bits,
 * then 80 random bits, increased by one within the same millisecond so ids
 * from this process strictly increase. Thread-safe.
 */
int ledger_id_new(struct ledger_id *out);
/*
 * An id derived from `key` for idempotency: the high 48 bits are time_ms
 * (the time of the thing it derives from), the low 80 bits come from
 * SHA-256(key). The same inputs give the same id.
 */
void ledger_id_derive(uint64_t time_ms, const void *key, size_t len, struct ledger_id *out);
bool ledger_id_is_zero(const struct ledger_id *id);
/* 32 lowercase hex characters, NUL-terminated (cap >= 33). */
void ledger_id_hex(const struct ledger_id *id, char *out, size_t cap);
/* Parses 32 hex characters. Returns 0 or LEDGER_EINVAL. */
int ledger_id_parse(const char *text, struct ledger_id *out);
/* An id from a 64-bit number (tests, small fixed ids). */
struct ledger_id ledger_id_from_u64(uint64_t v);

#endif
