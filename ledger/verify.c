/*
 * The ledger verifier. One pass over ledger_log in sequence order recomputes
 * the chain, checks each entry's place (sequence, timestamp, history links,
 * id index, batch) and replays its effect on balances into in-memory maps;
 * then the stored meta, batch records, id index and accounts are compared
 * with what the pass derived. The pass also rebuilds the Merkle tree and
 * compares every stored node as it completes; the stored checkpoints are
 * then checked against that tree and audit.pub. Nothing is allocated per entry: two
 * open-addressing maps (accounts, pending transfers) grow by doubling. The
 * chain and the tree (three SHA-256 per entry, most of the work) are hashed
 * a chunk ahead on a second thread, the walk comparing what they give.
 */
#include "tools.h"

#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "internal.h"
#include "store.h"

#define VERIFY_PROGRESS_EVERY 16384  /* entries between progress calls */
#define VERIFY_HEX_LEN 33            /* an id as hex, with its NUL */
#define VERIFY_NS_PER_S 1000000000u
#define VERIFY_KINDS (LEDGER_PENDING | LEDGER_POST_PENDING | LEDGER_VOID_PENDING)

/* An account as its entries make it. A zero id marks an empty slot. */
struct verify_account {
	struct ledger_id id;
	int64_t debits_pending, debits_posted, credits_pending, credits_posted;
	uint64_t last_seq;      /* 0 until an entry touches it */
	uint32_t ledger;        /* the ledger of its entries */
	bool stored;            /* its stored record was met */
};

/* A pending transfer of the log, as its ledger_pending record should be. */
struct verify_pending {
	struct ledger_pending p;
	bool stored;            /* its stored record was met */
};

/*
 * Open addressing with linear probing over fixed-size slots, each starting
 * with its struct ledger_id key; zero ids (never valid) mark empty slots.
 * The load stays at most one half.
 */
/* A ledger's totals over its accounts, in 128 bits (int64 sums can overflow). */
struct verify_ledger {
	uint32_t ledger;
	struct ledger_sum debits_pending, debits_posted, credits_pending, credits_posted;
};

struct verify {
	struct ledger *l;
	MDB_txn *txn;
	struct ledger_verify_result *out;
	struct ledger_idmap accounts;
	struct ledger_idmap pending;
	struct verify_ledger *ledgers;   /* distinct ledgers of the stored accounts */
	size_t ledgers_len, ledgers_cap;
	uint8_t chain[LEDGER_HASH_LEN];  /* recomputed hash after the last entry walked */
	uint64_t last_seq;               /* the last sequence walked */
	uint64_t last_ts;
	MDB_cursor *ids_cursor;          /* at the id of the last entry walked */
	bool walking;                    /* in the pass over the log */
	bool failed_walking;             /* the failure recorded came from that pass */
	/* The batch that holds the entry being walked. */
	MDB_cursor *batch_cursor;
	struct ledger_batch batch;
	bool in_batch;
	uint64_t batch_count;
	struct ledger_tree_check *tree;  /* the Merkle tree recomputed as the log is walked */
};

static const struct ledger_id verify_zero_id;

uint64_t ledger_tools_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

double ledger_tools_rate(uint64_t count, uint64_t ns)
{
	return ns ? (double)count * 1e9 / (double)ns : 0.0;
}

/* --- failures --- */

/*
 * Keeps the failure to report. The first found in the pass over the log
 * wins (the pass meets sequences in order, and whatever the later
 * comparisons find is then a consequence of it). Otherwise the lowest bad
 * sequence; failures tied to no sequence (seq 0: accounts, totals, counts)
 * only when nothing was recorded before them.
 */
static bool verify_takes(const struct verify *v, uint64_t seq)
{
	const struct ledger_verify_result *r = v->out;
	if (r->ok)
		return true;
	return !v->failed_walking && !v->walking && seq != 0 && (r->first_bad_seq == 0 || seq < r->first_bad_seq);
}

static void verify_record(struct verify *v, uint64_t seq, const struct ledger_id *account, const char *prefix,
			  const char *fmt, va_list ap)
{
	struct ledger_verify_result *r = v->out;
	int n;

	if (!verify_takes(v, seq))
		return;
	v->failed_walking = v->walking;
	r->ok = false;
	r->first_bad_seq = seq;
	r->bad_account = account ? *account : verify_zero_id;
	n = snprintf(r->message, sizeof(r->message), "%s", prefix);
	if (n >= 0 && (size_t)n < sizeof(r->message))
		vsnprintf(r->message + n, sizeof(r->message) - (size_t)n, fmt, ap);
}

/* A failure of entry (or missing entry) `seq`: "sequence N: ...". */
static void verify_fail_seq(struct verify *v, uint64_t seq, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void verify_fail_seq(struct verify *v, uint64_t seq, const char *fmt, ...)
{
	char prefix[48];
	va_list ap;
	snprintf(prefix, sizeof(prefix), "sequence %" PRIu64 ": ", seq);
	va_start(ap, fmt);
	verify_record(v, seq, NULL, prefix, fmt, ap);
	va_end(ap);
}

/* A failure of one account: "account HEX (NAME): ..."; name may be NULL. */
static void verify_fail_account(struct verify *v, const struct ledger_id *id, const char *name, const char *fmt,
				...) __attribute__((format(printf, 4, 5)));
static void verify_fail_account(struct verify *v, const struct ledger_id *id, const char *name, const char *fmt,
				...)
{
	char hex[VERIFY_HEX_LEN];
	char prefix[48 + VERIFY_HEX_LEN + LEDGER_NAME_MAX];
	va_list ap;
	ledger_id_hex(id, hex, sizeof(hex));
	snprintf(prefix, sizeof(prefix), "account %s (%s): ", hex, name ? name : "no stored record");
	va_start(ap, fmt);
	verify_record(v, 0, id, prefix, fmt, ap);
	va_end(ap);
}

/* A failure of the ledger as a whole (meta, totals, undecodable keys). */
static void verify_fail_other(struct verify *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void verify_fail_other(struct verify *v, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verify_record(v, 0, NULL, "", fmt, ap);
	va_end(ap);
}

/* --- replaying entries --- */

/*
 * Checks the id index maps the entry's transfer id to its sequence. Ids
 * mostly grow with the sequence (they are time-ordered), so the key after
 * the previous entry's is tried before a search from the root.
 */
static int verify_id_index(struct verify *v, const struct ledger_entry *e)
{
	char hex[VERIFY_HEX_LEN];
	MDB_val key = { sizeof(e->t.id), (void *)e->t.id.b };
	MDB_val next, val;
	int rc = mdb_cursor_get(v->ids_cursor, &next, &val, MDB_NEXT);
	if (rc != 0 || next.mv_size != sizeof(e->t.id) || !ledger_id_same(next.mv_data, e->t.id.b))
		rc = mdb_cursor_get(v->ids_cursor, &key, &val, MDB_SET_KEY);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return store_status_from_mdb(rc);
	if (rc == 0 && val.mv_size == 8 && ledger_get_u64(val.mv_data) == e->t.seq)
		return 0;
	ledger_id_hex(&e->t.id, hex, sizeof(hex));
	if (rc == MDB_NOTFOUND)
		verify_fail_seq(v, e->t.seq, "transfer id %s is missing from ledger_ids", hex);
	else
		verify_fail_seq(v, e->t.seq, "ledger_ids maps transfer id %s to %s", hex,
				val.mv_size == 8 ? "another sequence" : "a malformed value");
	return 0;
}

/* Checks the entry continues an account's history: prev_seq is the account's last entry. */
static void verify_link(struct verify *v, const struct ledger_entry *e, const struct verify_account *a,
			uint64_t prev_seq, const char *side)
{
	char hex[VERIFY_HEX_LEN];
	if (prev_seq == a->last_seq && (a->last_seq == 0 || a->ledger == e->t.ledger))
		return;
	ledger_id_hex(&a->id, hex, sizeof(hex));
	if (prev_seq != a->last_seq)
		verify_fail_seq(v, e->t.seq, "%s_prev_seq is %" PRIu64 " but the previous entry of account %s is %"
				PRIu64, side, prev_seq, hex, a->last_seq);
	else
		verify_fail_seq(v, e->t.seq, "ledger %" PRIu32 " differs from ledger %" PRIu32
				" of account %s's entries", e->t.ledger, a->ledger, hex);
}

/*
 * Resolves the pending transfer a post or void names. OUT: *reserved, its
 * amount. Returns false after a failure is recorded.
 */
static bool verify_resolve(struct verify *v, const struct ledger_entry *e, int64_t *reserved)
{
	const struct ledger_transfer *t = &e->t;
	struct verify_pending *p = ledger_idmap_find(&v->pending, &t->pending_id);
	bool post = (t->flags & LEDGER_POST_PENDING) != 0;
	char hex[VERIFY_HEX_LEN];

	ledger_id_hex(&t->pending_id, hex, sizeof(hex));
	if (!p) {
		verify_fail_seq(v, t->seq, "resolves pending transfer %s, which no earlier entry created", hex);
		return false;
	}
	if (p->p.status != LEDGER_PENDING_OPEN) {
		verify_fail_seq(v, t->seq, "resolves pending transfer %s (sequence %" PRIu64 ") a second time", hex,
				p->p.seq);
		return false;
	}
	if (memcmp(&p->p.debit_account_id, &t->debit_account_id, sizeof(t->debit_account_id)) != 0 ||
	    memcmp(&p->p.credit_account_id, &t->credit_account_id, sizeof(t->credit_account_id)) != 0) {
		verify_fail_seq(v, t->seq, "its accounts differ from those of pending transfer %s", hex);
		return false;
	}
	if (post && t->amount > p->p.amount) {
		verify_fail_seq(v, t->seq, "posts %" PRId64 ", more than the %" PRId64 " pending in %s", t->amount,
				p->p.amount, hex);
		return false;
	}
	p->p.status = post ? LEDGER_PENDING_POSTED
			   : t->flags & LEDGER_EXPIRY ? LEDGER_PENDING_EXPIRED : LEDGER_PENDING_VOIDED;
	*reserved = p->p.amount;
	return true;
}

/* Records a pending transfer. Returns 0, or a status when the map cannot grow. */
static int verify_reserve(struct verify *v, const struct ledger_entry *e)
{
	const struct ledger_transfer *t = &e->t;
	struct verify_pending *p;
	bool added;
	int rc = ledger_idmap_reserve(&v->pending, 1);
	if (rc != 0)
		return rc;
	if (ledger_id_is_zero(&t->id)) {
		verify_fail_seq(v, t->seq, "a pending transfer with a zero id");
		return 0;
	}
	p = ledger_idmap_put(&v->pending, &t->id, &added);
	if (!added) {
		verify_fail_seq(v, t->seq, "repeats the id of pending transfer at sequence %" PRIu64, p->p.seq);
		return 0;
	}
	p->p.debit_account_id = t->debit_account_id;
	p->p.credit_account_id = t->credit_account_id;
	p->p.amount = t->amount;
	p->p.ledger = t->ledger;
	p->p.code = t->code;
	p->p.status = LEDGER_PENDING_OPEN;
	p->p.seq = t->seq;
	p->p.expires_at = t->timeout ? t->timestamp + (uint64_t)t->timeout * VERIFY_NS_PER_S : 0;
	return 0;
}

/* Adds d (either sign) to a balance; false when it would leave int64. */
static bool verify_move(int64_t *balance, int64_t d)
{
	return !__builtin_add_overflow(*balance, d, balance);
}

/* Applies one entry to the accounts it moves. */
static int verify_effects(struct verify *v, const struct ledger_entry *e)
{
	const struct ledger_transfer *t = &e->t;
	uint16_t kind = t->flags & VERIFY_KINDS;
	struct verify_account *dr, *cr;
	int64_t reserved = 0, pending, posted;
	bool added;
	int rc;

	if (kind != 0 && (kind & (kind - 1)) != 0) {
		verify_fail_seq(v, t->seq, "flags %#x combine pending, post and void", (unsigned)t->flags);
		return 0;
	}
	if (ledger_id_is_zero(&t->debit_account_id) || ledger_id_is_zero(&t->credit_account_id)) {
		verify_fail_seq(v, t->seq, "an account id is zero");
		return 0;
	}
	if (memcmp(&t->debit_account_id, &t->credit_account_id, sizeof(t->debit_account_id)) == 0) {
		verify_fail_seq(v, t->seq, "debits and credits the same account");
		return 0;
	}
	rc = ledger_idmap_reserve(&v->accounts, 2);
	if (rc != 0)
		return rc;
	dr = ledger_idmap_put(&v->accounts, &t->debit_account_id, &added);
	cr = ledger_idmap_put(&v->accounts, &t->credit_account_id, &added);
	verify_link(v, e, dr, e->debit_prev_seq, "debit");
	verify_link(v, e, cr, e->credit_prev_seq, "credit");
	dr->last_seq = cr->last_seq = t->seq;
	dr->ledger = cr->ledger = t->ledger;
	if (kind == LEDGER_PENDING && (rc = verify_reserve(v, e)) != 0)
		return rc;
	if ((kind == LEDGER_POST_PENDING || kind == LEDGER_VOID_PENDING) && !verify_resolve(v, e, &reserved))
		return 0;
	/* The kinds were checked above: every combination left is one ledger_entry_move knows. */
	ledger_entry_move(t, reserved, &pending, &posted);
	if (!verify_move(&dr->debits_pending, pending) || !verify_move(&cr->credits_pending, pending) ||
	    !verify_move(&dr->debits_posted, posted) || !verify_move(&cr->credits_posted, posted))
		verify_fail_seq(v, t->seq, "balances overflow");
	return 0;
}

/* --- batches, walked alongside the log --- */

/* Reads the next batch record into v->batch. Returns 0, MDB_NOTFOUND at the end, or a STORE_* status. */
static int verify_batch_next(struct verify *v, uint64_t seq)
{
	MDB_val key, val;
	int rc = mdb_cursor_get(v->batch_cursor, &key, &val, v->batch_count == 0 ? MDB_FIRST : MDB_NEXT);
	if (rc == MDB_NOTFOUND)
		return rc;
	if (rc != 0)
		return store_status_from_mdb(rc);
	v->batch_count++;
	if (key.mv_size != 8 || ledger_get_u64(key.mv_data) != v->batch_count)
		verify_fail_seq(v, seq, "batch record %" PRIu64 " is not stored under its number", v->batch_count);
	if (ledger_batch_decode(val.mv_data, val.mv_size, &v->batch) != 0) {
		verify_fail_seq(v, seq, "batch record %" PRIu64 " does not decode", v->batch_count);
		memset(&v->batch, 0, sizeof(v->batch));
	}
	return 0;
}

/*
 * Checks entry seq lies in the batch after the previous entry's (or the
 * same one), batches tile the log from 1 without gap or overlap, and each
 * batch's head hash is the chain at its last entry.
 */
static int verify_batch_step(struct verify *v, uint64_t seq)
{
	if (!v->in_batch || seq > v->batch.last_seq) {
		int rc = verify_batch_next(v, seq);
		if (rc == MDB_NOTFOUND) {
			verify_fail_seq(v, seq, "no batch record holds it");
			v->in_batch = false;
			return 0;
		}
		if (rc != 0)
			return rc;
		v->in_batch = true;
		if (v->batch.first_seq != seq || v->batch.last_seq < v->batch.first_seq)
			verify_fail_seq(v, seq, "batch %" PRIu64 " covers %" PRIu64 "..%" PRIu64
					", expected to start here", v->batch_count, v->batch.first_seq,
					v->batch.last_seq);
	}
	if (seq == v->batch.last_seq && memcmp(v->batch.head_hash, v->chain, LEDGER_HASH_LEN) != 0)
		verify_fail_seq(v, seq, "the head hash of batch %" PRIu64 " differs from the chain", v->batch_count);
	return 0;
}

/* After the log: no batch may reach past its last entry. */
static int verify_batch_tail(struct verify *v)
{
	int rc;
	if (v->in_batch && v->batch.last_seq > v->last_seq)
		verify_fail_seq(v, v->last_seq + 1, "missing from ledger_log, but batch %" PRIu64 " ends at %" PRIu64,
				v->batch_count, v->batch.last_seq);
	while ((rc = verify_batch_next(v, v->last_seq + 1)) == 0)
		verify_fail_seq(v, v->last_seq + 1, "missing from ledger_log, but batch %" PRIu64 " covers %" PRIu64
				"..%" PRIu64, v->batch_count, v->batch.first_seq, v->batch.last_seq);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* --- the log --- */

/*
 * Checks one log record, expected to be sequence v->last_seq + 1, and
 * replays it. chain: the chain after it, hashed ahead of the walk.
 */
static int verify_entry(struct verify *v, const MDB_val *key, const MDB_val *val, const uint8_t chain[LEDGER_HASH_LEN])
{
	struct ledger_entry e;
	uint64_t seq = v->last_seq + 1;
	int rc;

	if (key->mv_size != 8) {
		verify_fail_seq(v, seq, "ledger_log holds a key of %zu bytes", key->mv_size);
		return 0;
	}
	if (ledger_get_u64(key->mv_data) != seq) {
		verify_fail_seq(v, seq, "missing from ledger_log (the next entry is %" PRIu64 ")",
				ledger_get_u64(key->mv_data));
		seq = ledger_get_u64(key->mv_data);
	}
	v->last_seq = seq;
	if (v->tree && (rc = ledger_tree_check_entry(v->tree)) != 0)
		return rc;
	if (val->mv_size != LEDGER_STORED_LEN) {
		verify_fail_seq(v, seq, "the entry is %zu bytes, not %d", val->mv_size, LEDGER_STORED_LEN);
		return verify_batch_step(v, seq);
	}
	memcpy(v->chain, chain, LEDGER_HASH_LEN);
	if (ledger_entry_decode(val->mv_data, val->mv_size, &e) != 0) {
		verify_fail_seq(v, seq, "the entry does not decode");
		return verify_batch_step(v, seq);
	}
	/* Its accounts' slots load while the id index is read. */
	ledger_idmap_prefetch(&v->accounts, &e.t.debit_account_id);
	ledger_idmap_prefetch(&v->accounts, &e.t.credit_account_id);
	if (memcmp(chain, e.hash, LEDGER_HASH_LEN) != 0)
		verify_fail_seq(v, seq, "chain hash mismatch");
	if (e.t.seq != seq)
		verify_fail_seq(v, seq, "the entry says it is sequence %" PRIu64, e.t.seq);
	e.t.seq = seq;
	if (e.t.timestamp <= v->last_ts)
		verify_fail_seq(v, seq, "timestamp %" PRIu64 " is not after the previous entry's %" PRIu64,
				e.t.timestamp, v->last_ts);
	v->last_ts = e.t.timestamp;
	rc = verify_id_index(v, &e);
	if (rc == 0)
		rc = verify_batch_step(v, seq);
	if (rc == 0)
		rc = verify_effects(v, &e);
	return rc;
}

/* Up to LEDGER_TREE_CHECK_CHUNK log records read ahead of the walk, and their chain. */
struct verify_chunk {
	MDB_val keys[LEDGER_TREE_CHECK_CHUNK];
	MDB_val vals[LEDGER_TREE_CHECK_CHUNK];
	uint8_t chain[LEDGER_TREE_CHECK_CHUNK][LEDGER_HASH_LEN];  /* the chain after each record */
	size_t n;
};

/* The hashing of the chunk after the walk's: the chain and the tree. */
struct verify_ahead {
	struct verify_chunk *chunk;
	struct ledger_tree_check *tree;     /* NULL: no tree */
	uint8_t chain[LEDGER_HASH_LEN];     /* after the records hashed so far */
	int status;
	pthread_t thread;
	bool threaded;
};

/* A record of the wrong size leaves the chain as it was (the walk reports it). */
static void *verify_ahead_hash(void *arg)
{
	struct verify_ahead *a = arg;
	struct verify_chunk *c = a->chunk;
	for (size_t i = 0; i < c->n; i++) {
		if (c->vals[i].mv_size == LEDGER_STORED_LEN)
			ledger_chain(a->chain, c->vals[i].mv_data, a->chain);
		memcpy(c->chain[i], a->chain, LEDGER_HASH_LEN);
	}
	a->status = a->tree ? ledger_tree_check_hash(a->tree, c->vals, c->n) : 0;
	return NULL;
}

/* Starts hashing chunk on a thread of its own (here when none can start). */
static void verify_ahead_start(struct verify_ahead *a, struct verify_chunk *chunk)
{
	a->chunk = chunk;
	a->threaded = pthread_create(&a->thread, NULL, verify_ahead_hash, a) == 0;
	if (!a->threaded)
		verify_ahead_hash(a);
}

/* Waits for the hashing; the chunk hashed is walked next. */
static int verify_ahead_wait(struct verify_ahead *a)
{
	if (a->threaded)
		pthread_join(a->thread, NULL);
	a->threaded = false;
	if (a->tree)
		ledger_tree_check_turn(a->tree);
	return a->status;
}

/* Reads the next records into chunk; *rc is the cursor's last status (MDB_NOTFOUND at the end). */
static void verify_read_chunk(MDB_cursor *cursor, MDB_cursor_op *op, struct verify_chunk *chunk, int *rc)
{
	chunk->n = 0;
	while (*rc == 0 && chunk->n < LEDGER_TREE_CHECK_CHUNK) {
		*rc = mdb_cursor_get(cursor, &chunk->keys[chunk->n], &chunk->vals[chunk->n], *op);
		*op = MDB_NEXT;
		if (*rc == 0)
			chunk->n++;
	}
}

/*
 * The pass over the log, a chunk at a time: the chain and the tree of the
 * next chunk are hashed on a thread of their own while the walk goes
 * through this one (the log's pages stay put for the transaction's life).
 */
static int verify_log(struct verify *v, ledger_verify_progress_fn progress, void *arg)
{
	struct verify_ahead ahead = { .tree = v->tree };
	struct verify_chunk *chunks;
	MDB_cursor *cursor;
	MDB_cursor_op op = MDB_FIRST;
	MDB_stat st;
	int rc = mdb_stat(v->txn, v->l->log, &st), walk_rc;
	if (rc == 0)
		rc = mdb_cursor_open(v->txn, v->l->log, &cursor);
	if (rc != 0)
		return store_status_from_mdb(rc);
	chunks = malloc(2 * sizeof(*chunks));
	if (!chunks) {
		walk_rc = LEDGER_ENOMEM;
		goto close_cursor;
	}
	memcpy(ahead.chain, v->chain, LEDGER_HASH_LEN);
	verify_read_chunk(cursor, &op, &chunks[0], &rc);
	verify_ahead_start(&ahead, &chunks[0]);
	walk_rc = verify_ahead_wait(&ahead);
	for (unsigned k = 0; walk_rc == 0 && chunks[k].n > 0; k = !k) {
		int ahead_rc;
		verify_read_chunk(cursor, &op, &chunks[!k], &rc);
		verify_ahead_start(&ahead, &chunks[!k]);
		for (size_t i = 0; i < chunks[k].n && walk_rc == 0; i++) {
			walk_rc = verify_entry(v, &chunks[k].keys[i], &chunks[k].vals[i], chunks[k].chain[i]);
			if (++v->out->entries % VERIFY_PROGRESS_EVERY == 0 && progress)
				progress(v->out->entries, st.ms_entries, arg);
		}
		ahead_rc = verify_ahead_wait(&ahead);
		if (walk_rc == 0)
			walk_rc = ahead_rc;
	}
	free(chunks);
	if (progress)
		progress(v->out->entries, st.ms_entries, arg);
close_cursor:
	mdb_cursor_close(cursor);
	if (walk_rc != 0)
		return walk_rc;
	return rc == MDB_NOTFOUND ? 0 : store_status_from_mdb(rc);
}

/* --- what is stored besides the log --- */

/* A tree node that the walk recomputed differently (or not at all), named. */
static void verify_tree_bad(void *arg, unsigned level, uint64_t index, const char *what)
{
	struct verify *v = arg;
	verify_fail_seq(v, v->last_seq, "ledger_tree node (level %u, index %" PRIu64 ") %s", level, index, what);
}

static int verify_tree_end(struct verify *v)
{
	uint64_t size, extra;
	int rc;
	if (!v->l->has_tree) {
		if (v->last_seq > 0)
			verify_fail_other(v, "ledger_tree is missing (a ledger older than the tree: opening it "
					     "read-write builds it)");
		return 0;
	}
	rc = ledger_tree_check_end(v->tree, &size, &extra);
	if (rc == LEDGER_ECORRUPT)
		verify_fail_other(v, "the ledger_tree size record does not decode");
	else if (rc == 0 && size != v->last_seq)
		verify_fail_other(v, "the ledger_tree size record says %" PRIu64 " leaves, the log has %" PRIu64, size,
				  v->last_seq);
	else if (rc == 0 && extra > 0)
		verify_fail_other(v, "ledger_tree holds %" PRIu64 " nodes the log does not make", extra);
	return rc == LEDGER_ECORRUPT ? 0 : rc;
}

/*
 * One checkpoint against the one before it (prev NULL for the first), the
 * log and the key; the first thing wrong is named. The root is read from
 * ledger_tree: the walk compared every stored node with the tree it rebuilt
 * from the log, and any difference was recorded first, so when this is
 * what verify reports the stored roots are the rebuilt ones.
 */
static int verify_checkpoint(struct verify *v, const struct ledger_checkpoint *c,
			     const struct ledger_checkpoint *prev, const uint8_t *pub)
{
	uint8_t root[LEDGER_HASH_LEN];
	uint64_t want = prev ? prev->number + 1 : 1;
	int rc;
	if (c->number != want) {
		verify_fail_other(v, "checkpoint %" PRIu64 ": expected number %" PRIu64
				  " (numbers run from 1 without gaps)", c->number, want);
		return 0;
	}
	/* Only the first may have any size (0 included); a later one is made only when the tree grew. */
	if (prev && c->tree_size <= prev->tree_size) {
		verify_fail_other(v, "checkpoint %" PRIu64 ": tree size %" PRIu64 " is not above checkpoint %" PRIu64
				  "'s %" PRIu64, c->number, c->tree_size, prev->number, prev->tree_size);
		return 0;
	}
	if (prev && c->time_ms < prev->time_ms) {
		verify_fail_other(v, "checkpoint %" PRIu64 ": time %" PRIu64 " goes back from checkpoint %" PRIu64
				  "'s %" PRIu64, c->number, c->time_ms, prev->number, prev->time_ms);
		return 0;
	}
	if (c->tree_size > v->last_seq) {
		verify_fail_other(v, "checkpoint %" PRIu64 ": tree size %" PRIu64 " is beyond the log's %" PRIu64
				  " entries", c->number, c->tree_size, v->last_seq);
		return 0;
	}
	rc = v->l->has_tree ? ledger_tree_root(v->l, v->txn, c->tree_size, root) : STORE_ENOTFOUND;
	if (rc == STORE_ENOTFOUND || rc == LEDGER_ECORRUPT) {
		verify_fail_other(v, "checkpoint %" PRIu64 ": the tree of the log gives no root at size %" PRIu64,
				  c->number, c->tree_size);
		return 0;
	}
	if (rc != 0)
		return rc;
	if (memcmp(root, c->root, LEDGER_HASH_LEN) != 0)
		verify_fail_other(v, "checkpoint %" PRIu64 ": its root differs from the root of the log's tree at size %"
				  PRIu64, c->number, c->tree_size);
	else if (pub && !ledger_checkpoint_verify(pub, c))
		verify_fail_other(v, "checkpoint %" PRIu64 ": the signature does not verify under %s/audit.pub",
				  c->number, v->l->data_dir);
	return 0;
}

/*
 * Every stored checkpoint: numbered 1, 2, ..., sizes growing, times never
 * going back, each root the log's and each signature audit.pub's. Without
 * audit.pub no signature can be checked, which is itself a failure.
 */
static int verify_checkpoints(struct verify *v)
{
	struct ledger_checkpoint c, prev;
	uint8_t pub[LEDGER_KEY_LEN];
	bool have_prev = false;
	MDB_cursor *cursor;
	MDB_val key, val;
	int rc, status = 0, pub_rc;
	if (!v->l->has_checkpoints)
		return 0;
	memset(&prev, 0, sizeof(prev));
	pub_rc = ledger_audit_pub_read(v->l->data_dir, pub);
	if (pub_rc != LEDGER_OK && pub_rc != STORE_ENOTFOUND && pub_rc != LEDGER_ECORRUPT)
		return pub_rc;
	rc = mdb_cursor_open(v->txn, v->l->signer_dbi, &cursor);
	if (rc != 0)
		return store_status_from_mdb(rc);
	/* Stops at the first failure: one tied to no sequence is not kept after another. */
	for (rc = mdb_cursor_get(cursor, &key, &val, MDB_FIRST); rc == 0 && status == 0 && v->out->ok;
	     rc = mdb_cursor_get(cursor, &key, &val, MDB_NEXT)) {
		if (ledger_checkpoint_decode(&key, &val, &c) != LEDGER_OK) {
			verify_fail_other(v, "checkpoint %" PRIu64 ": its ledger_checkpoints record does not decode",
					  have_prev ? prev.number + 1 : 1);
			break;
		}
		if (pub_rc != LEDGER_OK) {
			verify_fail_other(v, "checkpoint %" PRIu64 ": %s/audit.pub is %s, so no signature can be checked",
					  c.number, v->l->data_dir,
					  pub_rc == STORE_ENOTFOUND ? "missing" : "not 64 hex characters");
			break;
		}
		status = verify_checkpoint(v, &c, have_prev ? &prev : NULL, pub);
		prev = c;
		have_prev = true;
	}
	mdb_cursor_close(cursor);
	if (status != 0)
		return status;
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : store_status_from_mdb(rc);
}

static int verify_meta(struct verify *v)
{
	struct ledger_meta m;
	int rc = ledger_meta_read(v->l, v->txn, &m);
	if (rc == LEDGER_ECORRUPT) {
		verify_fail_other(v, "the meta record does not decode");
		return 0;
	}
	if (rc != 0)
		return rc;
	if (m.head_seq > v->last_seq)
		verify_fail_seq(v, v->last_seq + 1, "missing from ledger_log, but the meta head is %" PRIu64,
				m.head_seq);
	else if (m.head_seq < v->last_seq)
		verify_fail_seq(v, m.head_seq + 1, "the log goes on past the meta head %" PRIu64, m.head_seq);
	else if (memcmp(m.head_hash, v->chain, LEDGER_HASH_LEN) != 0)
		verify_fail_seq(v, v->last_seq, "the meta head hash differs from the chain");
	if (m.clock < v->last_ts)
		verify_fail_seq(v, v->last_seq, "the meta clock %" PRIu64 " is behind the entry's timestamp",
				m.clock);
	if (m.batches != v->batch_count)
		verify_fail_other(v, "the meta counts %" PRIu64 " batches, ledger_batches holds %" PRIu64, m.batches,
				  v->batch_count);
	return 0;
}

/*
 * Each entry's id was found under its sequence; more keys than entries
 * means keys no entry owns. Finds them (only then, as it costs a lookup per
 * key).
 */
static int verify_ids_extra(struct verify *v)
{
	MDB_cursor *cursor;
	MDB_val key, val, entry;
	MDB_stat st;
	int rc = mdb_stat(v->txn, v->l->ids, &st);
	if (rc != 0)
		return store_status_from_mdb(rc);
	if (st.ms_entries <= v->out->entries)
		return 0;
	rc = mdb_cursor_open(v->txn, v->l->ids, &cursor);
	if (rc != 0)
		return store_status_from_mdb(rc);
	for (rc = mdb_cursor_get(cursor, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cursor, &key, &val, MDB_NEXT)) {
		struct ledger_entry e;
		uint8_t seq_key[8];
		MDB_val k = { sizeof(seq_key), seq_key };
		if (val.mv_size != 8) {
			verify_fail_other(v, "ledger_ids holds a value of %zu bytes", val.mv_size);
			continue;
		}
		memcpy(seq_key, val.mv_data, sizeof(seq_key));
		rc = mdb_get(v->txn, v->l->log, &k, &entry);
		if (rc == MDB_NOTFOUND || (rc == 0 && (ledger_entry_decode(entry.mv_data, entry.mv_size, &e) != 0 ||
						       key.mv_size != sizeof(e.t.id) ||
						       memcmp(key.mv_data, e.t.id.b, sizeof(e.t.id)) != 0)))
			verify_fail_seq(v, ledger_get_u64(seq_key), "ledger_ids holds a key for it that is not its id");
		else if (rc != 0)
			break;
	}
	mdb_cursor_close(cursor);
	return rc == MDB_NOTFOUND ? 0 : store_status_from_mdb(rc);
}

/* ledger_failed holds ids no entry has, each with a transient result. */
static int verify_failed_ids(struct verify *v)
{
	MDB_cursor *cursor;
	MDB_val key, val, entry;
	int rc;
	if (!v->l->has_failed)
		return 0;
	rc = mdb_cursor_open(v->txn, v->l->failed, &cursor);
	if (rc != 0)
		return store_status_from_mdb(rc);
	for (rc = mdb_cursor_get(cursor, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cursor, &key, &val, MDB_NEXT)) {
		const uint8_t *r = val.mv_data;
		if (key.mv_size != 16 || val.mv_size != 1 || !ledger_result_is_transient(r[0])) {
			verify_fail_other(v, "ledger_failed holds a record of %zu and %zu bytes that is not an id and a "
					  "transient result", key.mv_size, val.mv_size);
			continue;
		}
		rc = mdb_get(v->txn, v->l->ids, &key, &entry);
		if (rc == 0) {
			struct ledger_id id;
			char hex[VERIFY_HEX_LEN];
			memcpy(id.b, key.mv_data, sizeof(id.b));
			ledger_id_hex(&id, hex, sizeof(hex));
			verify_fail_seq(v, ledger_get_u64(entry.mv_data), "ledger_failed holds its id %s as failed", hex);
		} else if (rc != MDB_NOTFOUND) {
			break;
		}
	}
	mdb_cursor_close(cursor);
	return rc == MDB_NOTFOUND ? 0 : store_status_from_mdb(rc);
}

static bool verify_pending_equal(const struct ledger_pending *a, const struct ledger_pending *b)
{
	return memcmp(&a->debit_account_id, &b->debit_account_id, sizeof(a->debit_account_id)) == 0 &&
	       memcmp(&a->credit_account_id, &b->credit_account_id, sizeof(a->credit_account_id)) == 0 &&
	       a->amount == b->amount && a->ledger == b->ledger && a->code == b->code && a->status == b->status &&
	       a->seq == b->seq && a->expires_at == b->expires_at;
}

/* Compares one ledger_pending record with the pending transfer its entries made. */
static void verify_pending_record(struct verify *v, const MDB_val *key, const MDB_val *val)
{
	struct ledger_pending stored;
	struct verify_pending *r = NULL;
	char hex[VERIFY_HEX_LEN];

	if (ledger_pending_decode(val->mv_data, val->mv_size, &stored) != 0 || key->mv_size != sizeof(stored.id) ||
	    memcmp(key->mv_data, stored.id.b, sizeof(stored.id)) != 0) {
		verify_fail_other(v, "a ledger_pending record does not decode or is stored under another key");
		return;
	}
	ledger_id_hex(&stored.id, hex, sizeof(hex));
	if (!ledger_id_is_zero(&stored.id))
		r = ledger_idmap_find(&v->pending, &stored.id);
	if (!r) {
		verify_fail_other(v, "ledger_pending holds transfer %s, which no pending entry created", hex);
		return;
	}
	r->stored = true;
	if (!verify_pending_equal(&r->p, &stored))
		verify_fail_seq(v, r->p.seq, "its ledger_pending record differs from the entries (status %u, the "
				"entries give %u)", (unsigned)stored.status, (unsigned)r->p.status);
}

/*
 * ledger_pending holds exactly the pending transfers of the log, in the
 * state their posts and voids left; ledger_expiry holds the deadline of
 * each open one that has one, and nothing else.
 */
static int verify_pending_all(struct verify *v)
{
	MDB_cursor *cursor;
	MDB_val key, val;
	MDB_stat st;
	const struct verify_pending *r;
	uint64_t deadlines = 0;
	int rc = mdb_cursor_open(v->txn, v->l->pending, &cursor);
	if (rc != 0)
		return store_status_from_mdb(rc);
	for (rc = mdb_cursor_get(cursor, &key, &val, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cursor, &key, &val, MDB_NEXT))
		verify_pending_record(v, &key, &val);
	mdb_cursor_close(cursor);
	if (rc != MDB_NOTFOUND)
		return store_status_from_mdb(rc);
	for (size_t pos = 0; (r = ledger_idmap_next(&v->pending, &pos)) != NULL;) {
		uint8_t deadline[8 + sizeof(r->p.id)];
		MDB_val k = { sizeof(deadline), deadline };
		if (!r->stored)
			verify_fail_seq(v, r->p.seq, "the pending transfer has no ledger_pending record");
		if (r->p.status != LEDGER_PENDING_OPEN || r->p.expires_at == 0)
			continue;
		deadlines++;
		ledger_put_u64(deadline, r->p.expires_at);
		memcpy(deadline + 8, r->p.id.b, sizeof(r->p.id));
		rc = mdb_get(v->txn, v->l->expiry, &k, &val);
		if (rc == MDB_NOTFOUND)
			verify_fail_seq(v, r->p.seq, "its deadline is missing from ledger_expiry");
		else if (rc != 0)
			return store_status_from_mdb(rc);
	}
	rc = mdb_stat(v->txn, v->l->expiry, &st);
	if (rc != 0)
		return store_status_from_mdb(rc);
	if (st.ms_entries != deadlines)
		verify_fail_other(v, "ledger_expiry holds %zu deadlines, the open pending transfers have %" PRIu64,
				  st.ms_entries, deadlines);
	return 0;
}

/* The account's name leads to it through ledger_names. */
static int verify_name(struct verify *v, const struct ledger_account *a)
{
	MDB_val key = { strlen(a->name), (void *)a->name }, val;
	int rc = mdb_get(v->txn, v->l->names, &key, &val);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return store_status_from_mdb(rc);
	if (rc == MDB_NOTFOUND || val.mv_size != sizeof(a->id) || memcmp(val.mv_data, a->id.b, sizeof(a->id)) != 0)
		verify_fail_account(v, &a->id, a->name, "ledger_names does not lead to it");
	return 0;
}

/* Adds a stored account to its ledger's totals. */
static int verify_ledger_add(struct verify *v, const struct ledger_account *a)
{
	struct verify_ledger *g = NULL;
	for (size_t i = 0; i < v->ledgers_len && !g; i++)
		if (v->ledgers[i].ledger == a->ledger)
			g = &v->ledgers[i];
	if (!g) {
		if (v->ledgers_len == v->ledgers_cap) {
			size_t cap = v->ledgers_cap ? v->ledgers_cap * 2 : 8;
			struct verify_ledger *bigger = realloc(v->ledgers, cap * sizeof(*bigger));
			if (!bigger)
				return LEDGER_ENOMEM;
			v->ledgers = bigger;
			v->ledgers_cap = cap;
		}
		g = &v->ledgers[v->ledgers_len++];
		memset(g, 0, sizeof(*g));
		g->ledger = a->ledger;
	}
	ledger_sum_add(&g->debits_pending, a->debits_pending);
	ledger_sum_add(&g->debits_posted, a->debits_posted);
	ledger_sum_add(&g->credits_pending, a->credits_pending);
	ledger_sum_add(&g->credits_posted, a->credits_posted);
	return 0;
}

/* Compares one stored balance with the replayed one; false after a failure. */
static bool verify_balance(struct verify *v, const struct ledger_account *a, const char *field, int64_t stored,
			   int64_t replayed)
{
	if (stored == replayed)
		return true;
	verify_fail_account(v, &a->id, a->name, "%s is %" PRId64 ", the entries give %" PRId64, field, stored,
			    replayed);
	return false;
}

/* Compares one stored account with its replay (all zero when no entry touched it). */
static void verify_account(struct verify *v, const MDB_val *key, const struct ledger_account *a)
{
	static const struct verify_account untouched;
	struct verify_account *r = ledger_idmap_find(&v->accounts, &a->id);
	const struct verify_account *want = r ? r : &untouched;

	if (key->mv_size != sizeof(a->id) || memcmp(key->mv_data, a->id.b, sizeof(a->id)) != 0) {
		verify_fail_account(v, &a->id, a->name, "stored under another key");
		return;
	}
	if (r)
		r->stored = true;
	if (!verify_balance(v, a, "debits_pending", a->debits_pending, want->debits_pending) ||
	    !verify_balance(v, a, "debits_posted", a->debits_posted, want->debits_posted) ||
	    !verify_balance(v, a, "credits_pending", a->credits_pending, want->credits_pending) ||
	    !verify_balance(v, a, "credits_posted", a->credits_posted, want->credits_posted))
		return;
	if (a->last_seq != want->last_seq)
		verify_fail_account(v, &a->id, a->name, "last_seq is %" PRIu64 ", the entries give %" PRIu64,
				    a->last_seq, want->last_seq);
	else if (r && r->ledger != a->ledger)
		verify_fail_account(v, &a->id, a->name, "is on ledger %" PRIu32 ", its entries on %" PRIu32, a->ledger,
				    r->ledger);
}

static int verify_accounts(struct verify *v)
{
	MDB_cursor *cursor;
	MDB_val key, val, bal;
	MDB_stat st;
	const struct verify_account *r;
	int status = 0;
	int rc = mdb_cursor_open(v->txn, v->l->accounts, &cursor);
	if (rc != 0)
		return store_status_from_mdb(rc);
	for (rc = mdb_cursor_get(cursor, &key, &val, MDB_FIRST); rc == 0 && status == 0;
	     rc = mdb_cursor_get(cursor, &key, &val, MDB_NEXT)) {
		struct ledger_account a;
		v->out->accounts++;
		if (ledger_account_decode(val.mv_data, val.mv_size, &a) != 0) {
			char hex[VERIFY_HEX_LEN] = "?";
			if (key.mv_size == sizeof(a.id))
				ledger_id_hex((const struct ledger_id *)key.mv_data, hex, sizeof(hex));
			verify_fail_other(v, "the account record under %s does not decode", hex);
			continue;
		}
		rc = mdb_get(v->txn, v->l->balances, &key, &bal);
		if (rc != 0 && rc != MDB_NOTFOUND)
			break;
		if (rc != 0 || ledger_balances_decode(bal.mv_data, bal.mv_size, &a) != 0) {
			verify_fail_account(v, &a.id, a.name, rc != 0 ? "has no balances record"
								   : "has a balances record that does not decode");
			rc = 0;
			continue;
		}
		verify_account(v, &key, &a);
		status = verify_name(v, &a);
		if (status == 0)
			status = verify_ledger_add(v, &a);
	}
	mdb_cursor_close(cursor);
	if (status != 0)
		return status;
	if (rc != MDB_NOTFOUND)
		return store_status_from_mdb(rc);
	for (size_t pos = 0; (r = ledger_idmap_next(&v->accounts, &pos)) != NULL;) {
		if (r->last_seq != 0 && !r->stored)
			verify_fail_account(v, &r->id, NULL, "entries move it (the last is %" PRIu64 ")", r->last_seq);
	}
	rc = mdb_stat(v->txn, v->l->names, &st);
	if (rc != 0)
		return store_status_from_mdb(rc);
	if (st.ms_entries != v->out->accounts)
		verify_fail_other(v, "ledger_names holds %zu names for %" PRIu64 " accounts", st.ms_entries,
				  v->out->accounts);
	rc = mdb_stat(v->txn, v->l->balances, &st);
	if (rc != 0)
		return store_status_from_mdb(rc);
	if (st.ms_entries != v->out->accounts)
		verify_fail_other(v, "ledger_balances holds %zu records for %" PRIu64 " accounts", st.ms_entries,
				  v->out->accounts);
	v->out->ledgers = v->ledgers_len;
	for (size_t i = 0; i < v->ledgers_len; i++) {
		const struct verify_ledger *g = &v->ledgers[i];
		if (!ledger_sum_equal(&g->debits_posted, &g->credits_posted))
			verify_fail_other(v, "ledger %" PRIu32 ": the accounts' posted debits and credits differ",
					  g->ledger);
		if (!ledger_sum_equal(&g->debits_pending, &g->credits_pending))
			verify_fail_other(v, "ledger %" PRIu32 ": the accounts' pending debits and credits differ",
					  g->ledger);
	}
	return 0;
}

int ledger_verify_txn(struct ledger *l, MDB_txn *txn, ledger_verify_progress_fn progress, void *arg,
		      struct ledger_verify_result *out)
{
	struct verify v;
	MDB_stat st;
	uint64_t start = ledger_tools_now_ns();
	int rc;

	memset(out, 0, sizeof(*out));
	out->ok = true;
	memset(&v, 0, sizeof(v));
	v.l = l;
	v.txn = txn;
	v.out = out;
	rc = mdb_stat(txn, l->accounts, &st);
	if (rc != 0)
		return store_status_from_mdb(rc);
	rc = ledger_idmap_init(&v.accounts, sizeof(struct verify_account), st.ms_entries);
	if (rc != 0)
		return rc;
	rc = ledger_idmap_init(&v.pending, sizeof(struct verify_pending), 0);
	if (rc != 0)
		goto free_accounts;
	rc = mdb_cursor_open(txn, l->batches, &v.batch_cursor);
	if (rc != 0) {
		rc = store_status_from_mdb(rc);
		goto free_pending;
	}
	rc = mdb_cursor_open(txn, l->ids, &v.ids_cursor);
	if (rc != 0) {
		rc = store_status_from_mdb(rc);
		goto close_batches;
	}
	if (l->has_tree && (rc = ledger_tree_check_new(l, txn, verify_tree_bad, &v, &v.tree)) != 0)
		goto close_ids;
	v.walking = true;
	rc = verify_log(&v, progress, arg);
	v.walking = false;
	if (rc == 0)
		rc = verify_batch_tail(&v);
	if (rc == 0)
		rc = verify_tree_end(&v);
	if (rc == 0)
		rc = verify_checkpoints(&v);
	if (rc == 0)
		rc = verify_meta(&v);
	if (rc == 0)
		rc = verify_ids_extra(&v);
	if (rc == 0)
		rc = verify_failed_ids(&v);
	if (rc == 0)
		rc = verify_pending_all(&v);
	if (rc == 0)
		rc = verify_accounts(&v);
	out->batches = v.batch_count;
	out->head_seq = v.last_seq;
	out->elapsed_ns = ledger_tools_now_ns() - start;
	free(v.ledgers);
	ledger_tree_check_free(v.tree);
close_ids:
	mdb_cursor_close(v.ids_cursor);
close_batches:
	mdb_cursor_close(v.batch_cursor);
free_pending:
	ledger_idmap_free(&v.pending);
free_accounts:
	ledger_idmap_free(&v.accounts);
	return rc;
}

int ledger_tools_open_ro(const char *dir, size_t map_size, struct store **store, struct ledger **l)
{
	struct store_config sc = { .path = dir, .map_size = map_size, .map_max = map_size, .read_only = true };
	char data_file[PATH_MAX];
	struct stat st;
	int rc = snprintf(data_file, sizeof(data_file), "%s/data.mdb", dir);

	if (rc < 0 || (size_t)rc >= sizeof(data_file))
		return STORE_EINVAL;
	/* A read-only open must not create anything where there is no store. */
	if (stat(data_file, &st) != 0)
		return STORE_ENOTFOUND;
	rc = store_open(&sc, store);
	if (rc != 0)
		return rc;
	rc = ledger_open(*store, l);
	if (rc != 0)
		goto close_store;
	rc = ledger_checkpoints_find(*l, dir);
	if (rc == 0)
		return 0;
	ledger_close(*l);
close_store:
	store_close(*store);
	return rc;
}

int ledger_verify_dir(const char *dir, size_t map_size, ledger_verify_progress_fn progress, void *arg,
		      struct ledger_verify_result *out)
{
	struct store *s;
	struct ledger *l;
	MDB_txn *txn;
	int rc;

	memset(out, 0, sizeof(*out));
	/* The store's folder is the data folder, which holds audit.pub. */
	rc = ledger_tools_open_ro(dir, map_size, &s, &l);
	if (rc != 0)
		return rc;
	rc = store_read_begin(s, &txn);
	if (rc == 0) {
		rc = ledger_verify_txn(l, txn, progress, arg, out);
		store_read_end(s, txn);
	}
	ledger_close(l);
	store_close(s);
	return rc;
}
