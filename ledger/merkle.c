/*
 * The RFC 9162 Merkle tree over the ledger's entries (docs/audit.md).
 *
 * Leaf i (0-based) is the entry with sequence i + 1; the tree of size n is
 * the tree of the first n entries. ledger_tree (DBI) holds the complete
 * (perfect, aligned) subtrees of LEDGER_TREE_LOW levels and up: key level
 * (1 byte) || index (8 bytes BE), value its 32-byte hash; node (h, j)
 * covers leaves [j * 2^h, (j + 1) * 2^h) and is written once all of them
 * are, never changed. Below that level a node is recomputed from the at
 * most 2^LEDGER_TREE_LOW - 1 log entries under it: storing every level
 * cost more than half the write throughput (two mid-tree inserts per
 * entry), storing from level 4 costs one insert per 16 entries. The key
 * "size" holds the number of leaves.
 *
 * Any prefix's root is the right fold of the perfect subtrees its size's
 * bits name (at most 64 nodes); a proof's elements are subtree hashes of
 * ranges the RFC recursion gives, each one node or such a fold of the
 * right edge, so a proof costs O(log n) node reads (O(log^2 n) at worst
 * when a proof holds several right-edge folds), plus at most 15 entry reads
 * per node below the stored levels.
 *
 * A write call's leaves and nodes are hashed while the writer writes the
 * call's entries, ids and balances (ledger_tree_begin / ledger_tree_end):
 * two SHA-256 per entry on the writer alone cost a third of its
 * throughput (docs/benchmarks.md, "Merkle tree").
 */
#include "internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "log.h"
#include "store.h"

#define TREE_KEY_LEN 9
#define TREE_LEVELS 64
#define TREE_BLOCK (1u << LEDGER_TREE_LOW)   /* leaves under a node of the lowest stored level */
#define TREE_THREAD_MIN 1024                  /* entries of a call hashed beside the writer */
/* Entries hashed per job while an older ledger's tree is built at open. */
#define TREE_BUILD_CHUNK 65536

static const uint8_t tree_empty_root[LEDGER_HASH_LEN] = {
	0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
	0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
};

/* --- hashing --- */

int ledger_merkle_leaf_hash(const void *data, size_t len, uint8_t out[LEDGER_HASH_LEN])
{
	static const uint8_t prefix = 0x00;
	const struct crypto_part parts[] = { { &prefix, 1 }, { data, len } };
	if (len > LEDGER_MERKLE_LEAF_MAX)
		return LEDGER_EINVAL;
	return crypto_sha256_parts(parts, 2, out) == CRYPTO_OK ? LEDGER_OK : LEDGER_ENOMEM;
}

int ledger_merkle_node_hash(const uint8_t left[LEDGER_HASH_LEN], const uint8_t right[LEDGER_HASH_LEN],
			    uint8_t out[LEDGER_HASH_LEN])
{
	static const uint8_t prefix = 0x01;
	const struct crypto_part parts[] = { { &prefix, 1 }, { left, LEDGER_HASH_LEN }, { right, LEDGER_HASH_LEN } };
	return crypto_sha256_parts(parts, 3, out) == CRYPTO_OK ? LEDGER_OK : LEDGER_ENOMEM;
}

/* --- verification (RFC 9162 §2.1.3.2 and §2.1.4.2) --- */

bool ledger_merkle_verify_inclusion(const uint8_t leaf_hash[LEDGER_HASH_LEN], uint64_t index, uint64_t size,
				    const uint8_t *proof, size_t n,
				    const uint8_t root[LEDGER_HASH_LEN])
{
	uint8_t r[LEDGER_HASH_LEN];
	uint64_t fn = index, sn;
	if (index >= size)
		return false;
	sn = size - 1;
	memcpy(r, leaf_hash, sizeof(r));
	for (size_t i = 0; i < n; i++) {
		int rc;
		if (sn == 0)
			return false;
		if ((fn & 1) || fn == sn) {
			rc = ledger_merkle_node_hash(proof + i * LEDGER_HASH_LEN, r, r);
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			rc = ledger_merkle_node_hash(r, proof + i * LEDGER_HASH_LEN, r);
		}
		if (rc != LEDGER_OK)
			return false;
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && memcmp(r, root, sizeof(r)) == 0;
}

static bool tree_is_pow2(uint64_t v)
{
	return v != 0 && (v & (v - 1)) == 0;
}

bool ledger_merkle_verify_consistency(uint64_t old_size, uint64_t new_size, const uint8_t old_root[LEDGER_HASH_LEN],
				      const uint8_t new_root[LEDGER_HASH_LEN],
				      const uint8_t *proof, size_t n)
{
	uint8_t fr[LEDGER_HASH_LEN], sr[LEDGER_HASH_LEN];
	uint64_t fn, sn;
	size_t i = 0;
	if (new_size < old_size)
		return false;
	if (old_size == new_size)
		return n == 0 && memcmp(old_root, new_root, LEDGER_HASH_LEN) == 0;
	/* Every tree extends the empty one, whose root is fixed: nothing to prove. */
	if (old_size == 0)
		return n == 0 && memcmp(old_root, tree_empty_root, LEDGER_HASH_LEN) == 0;
	if (n == 0)
		return false;
	fn = old_size - 1;
	sn = new_size - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	/* A power-of-two old tree is itself a subtree of the new one: its root starts the path. */
	if (tree_is_pow2(old_size)) {
		memcpy(fr, old_root, LEDGER_HASH_LEN);
	} else {
		memcpy(fr, proof, LEDGER_HASH_LEN);
		i = 1;
	}
	memcpy(sr, fr, LEDGER_HASH_LEN);
	for (; i < n; i++) {
		if (sn == 0)
			return false;
		if ((fn & 1) || fn == sn) {
			if (ledger_merkle_node_hash(proof + i * LEDGER_HASH_LEN, fr, fr) != LEDGER_OK ||
			    ledger_merkle_node_hash(proof + i * LEDGER_HASH_LEN, sr, sr) != LEDGER_OK)
				return false;
			while (!(fn & 1) && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else if (ledger_merkle_node_hash(sr, proof + i * LEDGER_HASH_LEN, sr) != LEDGER_OK) {
			return false;
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && memcmp(fr, old_root, LEDGER_HASH_LEN) == 0 &&
	       memcmp(sr, new_root, LEDGER_HASH_LEN) == 0;
}

/* --- stored nodes --- */

static const char tree_size_key[] = "size";

static void tree_key(uint8_t key[TREE_KEY_LEN], unsigned level, uint64_t index)
{
	key[0] = (uint8_t)level;
	ledger_put_u64(key + 1, index);
}

/* Leaf hashes of leaves [first, first + n), from the log's canonical bytes. */
static int tree_log_leaves(struct ledger *l, MDB_txn *txn, uint64_t first, size_t n, uint8_t (*out)[LEDGER_HASH_LEN])
{
	uint8_t key[8];
	MDB_val k = { sizeof(key), key }, v;
	MDB_cursor *cur;
	size_t i = 0;
	int rc = mdb_cursor_open(txn, l->log, &cur);
	if (rc != 0)
		return store_status_from_mdb(rc);
	ledger_put_u64(key, first + 1);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY); rc == 0 && i < n;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 8 || ledger_get_u64(k.mv_data) != first + 1 + i || v.mv_size != LEDGER_STORED_LEN) {
			rc = LEDGER_ECORRUPT;
			break;
		}
		rc = ledger_merkle_leaf_hash(v.mv_data, LEDGER_CANONICAL_LEN, out[i++]);
		if (rc != 0)
			break;
	}
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND || (rc == 0 && i == n))
		return i == n ? LEDGER_OK : LEDGER_ECORRUPT;
	return rc == LEDGER_ECORRUPT || rc == LEDGER_ENOMEM ? rc : store_status_from_mdb(rc);
}

/* Folds count (a power of two) hashes, a perfect subtree's leaves, into hashes[0]. */
static int tree_fold(uint8_t (*hashes)[LEDGER_HASH_LEN], size_t count)
{
	int rc = LEDGER_OK;
	for (size_t width = count; width > 1 && rc == LEDGER_OK; width /= 2)
		for (size_t i = 0; i < width / 2 && rc == LEDGER_OK; i++)
			rc = ledger_merkle_node_hash(hashes[2 * i], hashes[2 * i + 1], hashes[i]);
	return rc;
}

/* A complete node: stored from LEDGER_TREE_LOW up, recomputed from the log below. */
static int tree_node_get(struct ledger *l, MDB_txn *txn, unsigned level, uint64_t index,
			 uint8_t out[LEDGER_HASH_LEN])
{
	uint8_t key[TREE_KEY_LEN];
	MDB_val k = { sizeof(key), key }, v;
	int rc;
	if (level < LEDGER_TREE_LOW) {
		uint8_t leaves[TREE_BLOCK][LEDGER_HASH_LEN];
		size_t count = (size_t)1 << level;
		rc = tree_log_leaves(l, txn, index << level, count, leaves);
		if (rc == LEDGER_OK)
			rc = tree_fold(leaves, count);
		if (rc == LEDGER_OK)
			memcpy(out, leaves[0], LEDGER_HASH_LEN);
		return rc;
	}
	tree_key(key, level, index);
	rc = mdb_get(txn, l->tree, &k, &v);
	if (rc == MDB_NOTFOUND)
		return LEDGER_ECORRUPT;
	if (rc != 0)
		return store_status_from_mdb(rc);
	if (v.mv_size != LEDGER_HASH_LEN)
		return LEDGER_ECORRUPT;
	memcpy(out, v.mv_data, LEDGER_HASH_LEN);
	return LEDGER_OK;
}

int ledger_tree_size(struct ledger *l, MDB_txn *txn, uint64_t *size)
{
	MDB_val k = { sizeof(tree_size_key) - 1, (void *)tree_size_key }, v;
	int rc;
	*size = 0;
	if (!l->has_tree)
		return LEDGER_OK;
	rc = mdb_get(txn, l->tree, &k, &v);
	if (rc == MDB_NOTFOUND)
		return LEDGER_OK;
	if (rc != 0)
		return store_status_from_mdb(rc);
	if (v.mv_size != 8)
		return LEDGER_ECORRUPT;
	*size = ledger_get_u64(v.mv_data);
	return LEDGER_OK;
}

static int tree_size_put(struct ledger *l, MDB_txn *txn, uint64_t size)
{
	uint8_t value[8];
	MDB_val k = { sizeof(tree_size_key) - 1, (void *)tree_size_key }, v = { sizeof(value), value };
	ledger_put_u64(value, size);
	return mdb_put(txn, l->tree, &k, &v, 0);
}

/* The largest power of two strictly less than n (n >= 2). */
static uint64_t tree_split(uint64_t n)
{
	uint64_t k = 1;
	while (k << 1 < n)
		k <<= 1;
	return k;
}

static unsigned tree_log2(uint64_t pow2)
{
	unsigned h = 0;
	while (pow2 >> (h + 1))
		h++;
	return h;
}

/*
 * MTH(D[a:b]): one stored node when the range is a perfect subtree, else
 * the node of its RFC split (the left part perfect, the right folded).
 */
static int tree_range(struct ledger *l, MDB_txn *txn, uint64_t a, uint64_t b, uint8_t out[LEDGER_HASH_LEN])
{
	uint8_t left[LEDGER_HASH_LEN], right[LEDGER_HASH_LEN];
	uint64_t n = b - a, k;
	int rc;
	if (tree_is_pow2(n) && a % n == 0)
		return tree_node_get(l, txn, tree_log2(n), a / n, out);
	k = tree_split(n);
	if ((rc = tree_range(l, txn, a, a + k, left)) != LEDGER_OK ||
	    (rc = tree_range(l, txn, a + k, b, right)) != LEDGER_OK)
		return rc;
	return ledger_merkle_node_hash(left, right, out);
}

/* Sizes up to the stored tree are answerable; beyond it STORE_ENOTFOUND. */
static int tree_check_size(struct ledger *l, MDB_txn *txn, uint64_t size)
{
	uint64_t have;
	int rc = ledger_tree_size(l, txn, &have);
	if (rc != LEDGER_OK)
		return rc;
	return size > have ? STORE_ENOTFOUND : LEDGER_OK;
}

int ledger_tree_root(struct ledger *l, MDB_txn *txn, uint64_t size, uint8_t out[LEDGER_HASH_LEN])
{
	int rc = tree_check_size(l, txn, size);
	if (rc != LEDGER_OK)
		return rc;
	if (size == 0) {
		memcpy(out, tree_empty_root, LEDGER_HASH_LEN);
		return LEDGER_OK;
	}
	return tree_range(l, txn, 0, size, out);
}

int ledger_tree_leaf(struct ledger *l, MDB_txn *txn, uint64_t index, uint8_t out[LEDGER_HASH_LEN])
{
	int rc = tree_check_size(l, txn, index + 1);
	return rc == LEDGER_OK ? tree_node_get(l, txn, 0, index, out) : rc;
}

/* A proof being built: elements in order, bounded by LEDGER_PROOF_MAX. */
struct tree_proof {
	struct ledger *l;
	MDB_txn *txn;
	uint8_t (*out)[LEDGER_HASH_LEN];
	size_t n;
};

static int tree_proof_add(struct tree_proof *p, uint64_t a, uint64_t b)
{
	if (p->n >= LEDGER_PROOF_MAX)
		return LEDGER_EINVAL;
	return tree_range(p->l, p->txn, a, b, p->out[p->n++]);
}

/* PATH(m, D[a:b]) of RFC 9162 §2.1.3.1, in absolute leaf numbers. */
static int tree_path(struct tree_proof *p, uint64_t m, uint64_t a, uint64_t b)
{
	uint64_t k;
	int rc;
	if (b - a == 1)
		return LEDGER_OK;
	k = tree_split(b - a);
	if (m < a + k)
		return (rc = tree_path(p, m, a, a + k)) != LEDGER_OK ? rc : tree_proof_add(p, a + k, b);
	return (rc = tree_path(p, m, a + k, b)) != LEDGER_OK ? rc : tree_proof_add(p, a, a + k);
}

/* SUBPROOF(m - a, D[a:b], complete) of RFC 9162 §2.1.4.1; m is the old size. */
static int tree_subproof(struct tree_proof *p, uint64_t m, uint64_t a, uint64_t b, bool complete)
{
	uint64_t k;
	int rc;
	if (m == b)
		return complete ? LEDGER_OK : tree_proof_add(p, a, b);
	k = tree_split(b - a);
	if (m - a <= k)
		return (rc = tree_subproof(p, m, a, a + k, complete)) != LEDGER_OK ? rc : tree_proof_add(p, a + k, b);
	return (rc = tree_subproof(p, m, a + k, b, false)) != LEDGER_OK ? rc : tree_proof_add(p, a, a + k);
}

int ledger_inclusion_proof(struct ledger *l, MDB_txn *txn, uint64_t leaf_index, uint64_t tree_size,
			   uint8_t (*out)[LEDGER_HASH_LEN], size_t *n)
{
	struct tree_proof p = { l, txn, out, 0 };
	int rc;
	*n = 0;
	if (leaf_index >= tree_size)
		return LEDGER_EINVAL;
	rc = tree_check_size(l, txn, tree_size);
	if (rc == LEDGER_OK)
		rc = tree_path(&p, leaf_index, 0, tree_size);
	*n = rc == LEDGER_OK ? p.n : 0;
	return rc;
}

int ledger_consistency_proof(struct ledger *l, MDB_txn *txn, uint64_t old_size, uint64_t new_size,
			     uint8_t (*out)[LEDGER_HASH_LEN], size_t *n)
{
	struct tree_proof p = { l, txn, out, 0 };
	int rc;
	*n = 0;
	if (old_size > new_size)
		return LEDGER_EINVAL;
	rc = tree_check_size(l, txn, new_size);
	/* From the empty tree or to the same size the proof is empty (RFC 9162 §2.1.4). */
	if (rc == LEDGER_OK && old_size > 0 && old_size < new_size)
		rc = tree_subproof(&p, old_size, 0, new_size, true);
	*n = rc == LEDGER_OK ? p.n : 0;
	return rc;
}

/* --- appending --- */

/*
 * Writes nodes [first, first + n) of one level, in key order through one
 * cursor, so that LMDB finds each next slot on the page it is on.
 */
static int tree_put_level(MDB_cursor *cur, unsigned level, uint64_t first, const uint8_t (*hashes)[LEDGER_HASH_LEN],
			  size_t n)
{
	uint8_t key[TREE_KEY_LEN];
	MDB_val k = { sizeof(key), key }, v;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		tree_key(key, level, first + i);
		v.mv_size = LEDGER_HASH_LEN;
		v.mv_data = (void *)hashes[i];
		rc = mdb_cursor_put(cur, &k, &v, 0);
	}
	return rc;
}

/*
 * The hashes of one append, level by level: level h holds the new nodes
 * [old >> h, end >> h) at nodes[at[h]] on. Each is the hash of two
 * children of level h - 1 that are new too, but for the first one, whose
 * left child may be the older node (h - 1, (old >> (h - 1)) - 1): that one
 * (and the first of each level above it) is "open" until the writer, which
 * alone may read the transaction, fills it in. Everything else is computed
 * by tree_hash, on a thread of its own for a large call, while the writer
 * writes the call's entries, ids and balances.
 */
struct ledger_tree_job {
	const struct ledger_entry *entries;  /* NULL: level 0 is filled by the caller */
	uint64_t old, end;
	uint8_t (*nodes)[LEDGER_HASH_LEN];
	size_t at[TREE_LEVELS + 1];
	unsigned levels;                      /* levels with new nodes */
	bool open[TREE_LEVELS];
	pthread_t thread;
	bool threaded;
	int status;                           /* tree_hash's */
};

static size_t tree_job_count(const struct ledger_tree_job *j, unsigned h)
{
	return j->at[h + 1] - j->at[h];
}

static void *tree_hash(void *arg)
{
	struct ledger_tree_job *j = arg;
	uint8_t canonical[LEDGER_CANONICAL_LEN];
	int rc = LEDGER_OK;
	for (size_t i = 0; j->entries && i < tree_job_count(j, 0) && rc == LEDGER_OK; i++) {
		ledger_entry_encode(&j->entries[i], canonical);
		rc = ledger_merkle_leaf_hash(canonical, sizeof(canonical), j->nodes[i]);
	}
	for (unsigned h = 0; h + 1 < j->levels && rc == LEDGER_OK; h++) {
		uint64_t a = j->old >> h, next_a = j->old >> (h + 1);
		uint8_t (*lower)[LEDGER_HASH_LEN] = j->nodes + j->at[h];
		uint8_t (*upper)[LEDGER_HASH_LEN] = j->nodes + j->at[h + 1];
		/* The first node's children: an older node and the open first one, or the first two. */
		j->open[h + 1] = j->open[h] || 2 * next_a < a;
		for (size_t k = j->open[h + 1] ? 1 : 0; k < tree_job_count(j, h + 1) && rc == LEDGER_OK; k++) {
			uint64_t left = 2 * (next_a + k) - a;
			rc = ledger_merkle_node_hash(lower[left], lower[left + 1], upper[k]);
		}
	}
	j->status = rc;
	return NULL;
}

static void tree_job_free(struct ledger_tree_job *j)
{
	if (!j)
		return;
	free(j->nodes);
	free(j);
}

/* A job for leaves [old, old + n); its level 0 comes from entries, or from the caller when NULL. */
static int tree_job_new(const struct ledger_entry *entries, uint64_t old, size_t n, struct ledger_tree_job **out)
{
	struct ledger_tree_job *j = calloc(1, sizeof(*j));
	if (!j)
		return LEDGER_ENOMEM;
	j->entries = entries;
	j->old = old;
	j->end = old + n;
	while (j->levels < TREE_LEVELS && (j->end >> j->levels) > (old >> j->levels)) {
		j->at[j->levels + 1] = j->at[j->levels] + (size_t)((j->end >> j->levels) - (old >> j->levels));
		j->levels++;
	}
	j->nodes = malloc(j->at[j->levels] * sizeof(*j->nodes));
	if (!j->nodes) {
		free(j);
		return LEDGER_ENOMEM;
	}
	*out = j;
	return LEDGER_OK;
}

/*
 * On the writer: fills the open first nodes (reading the older left
 * children), writes the levels from LEDGER_TREE_LOW up and the size.
 */
static int tree_job_write(struct ledger *l, MDB_txn *txn, struct ledger_tree_job *j)
{
	MDB_cursor *cur;
	int rc = j->status;
	for (unsigned h = 0; h + 1 < j->levels && rc == LEDGER_OK; h++) {
		uint64_t a = j->old >> h, next_a = j->old >> (h + 1);
		uint8_t (*lower)[LEDGER_HASH_LEN] = j->nodes + j->at[h];
		uint8_t older[LEDGER_HASH_LEN];
		if (!j->open[h + 1])
			continue;
		if (2 * next_a < a) {
			rc = tree_node_get(l, txn, h, 2 * next_a, older);
			if (rc == LEDGER_OK)
				rc = ledger_merkle_node_hash(older, lower[0], j->nodes[j->at[h + 1]]);
		} else {
			rc = ledger_merkle_node_hash(lower[0], lower[1], j->nodes[j->at[h + 1]]);
		}
	}
	if (rc != LEDGER_OK)
		return rc;
	rc = mdb_cursor_open(txn, l->tree, &cur);
	if (rc != 0)
		return rc;
	for (unsigned h = LEDGER_TREE_LOW; h < j->levels && rc == 0; h++)
		rc = tree_put_level(cur, h, j->old >> h, (const uint8_t(*)[LEDGER_HASH_LEN])(j->nodes + j->at[h]),
				    tree_job_count(j, h));
	mdb_cursor_close(cur);
	return rc == 0 ? tree_size_put(l, txn, j->end) : rc;
}

/* Hashes log entries from sequence size + 1 on, at most max, into the tree. */
static int tree_catch_up(struct ledger *l, MDB_txn *txn, uint64_t size, uint64_t head, size_t max)
{
	size_t want = (size_t)(head - size < max ? head - size : max);
	struct ledger_tree_job *j;
	int rc;
	if (want == 0)
		return LEDGER_OK;
	rc = tree_job_new(NULL, size, want, &j);
	if (rc != LEDGER_OK)
		return rc;
	rc = tree_log_leaves(l, txn, size, want, j->nodes);
	if (rc == LEDGER_OK) {
		tree_hash(j);
		rc = tree_job_write(l, txn, j);
	}
	tree_job_free(j);
	return rc;
}

int ledger_tree_begin(struct ledger *l, const struct ledger_entry *entries, size_t n, struct ledger_tree_job **out)
{
	int rc;
	*out = NULL;
	if (!l->has_tree || l->tree_off || n == 0)
		return LEDGER_OK;
	rc = tree_job_new(entries, entries[0].t.seq - 1, n, out);
	/* A thread costs tens of microseconds: worth it only for a call of many entries. */
	if (rc == LEDGER_OK && n >= TREE_THREAD_MIN)
		(*out)->threaded = pthread_create(&(*out)->thread, NULL, tree_hash, *out) == 0;
	return rc;
}

int ledger_tree_end(struct ledger *l, MDB_txn *txn, struct ledger_tree_job *j, bool write)
{
	uint64_t size;
	int rc = LEDGER_OK;
	if (!j)
		return LEDGER_OK;
	if (j->threaded)
		pthread_join(j->thread, NULL);
	else if (write)
		tree_hash(j);
	if (write)
		rc = ledger_tree_size(l, txn, &size);
	/* The tree is built at open, so it ends where the log did before this call. */
	if (write && rc == LEDGER_OK)
		rc = size == j->old ? tree_job_write(l, txn, j) : LEDGER_ECORRUPT;
	tree_job_free(j);
	return rc;
}

/* One job of the build at open: the next chunk of the log. */
static int tree_build_job(MDB_txn *txn, void *arg)
{
	struct ledger *l = arg;
	struct ledger_meta m;
	uint64_t size;
	int rc = ledger_meta_read(l, txn, &m);
	if (rc == LEDGER_OK)
		rc = ledger_tree_size(l, txn, &size);
	if (rc == LEDGER_OK && size > m.head_seq)
		rc = LEDGER_ECORRUPT;
	if (rc == LEDGER_OK)
		rc = tree_catch_up(l, txn, size, m.head_seq, TREE_BUILD_CHUNK);
	return rc;
}

/* OUT: the tree's size and the log's head. */
static int tree_behind(struct ledger *l, uint64_t *size, uint64_t *head)
{
	struct ledger_meta m;
	MDB_txn *txn;
	int rc = store_read_begin(l->store, &txn);
	*size = *head = 0;
	if (rc != STORE_OK)
		return rc;
	rc = ledger_meta_read(l, txn, &m);
	if (rc == LEDGER_OK)
		rc = ledger_tree_size(l, txn, size);
	store_read_end(l->store, txn);
	*head = m.head_seq;
	return rc;
}

int ledger_tree_open(struct ledger *l)
{
	uint64_t size, head;
	int rc = store_dbi_open(l->store, "ledger_tree", 0, &l->tree);
	/* A read-only store of a ledger older than the tree: verify names what is missing. */
	if (rc == STORE_ENOTFOUND)
		return LEDGER_OK;
	if (rc != STORE_OK)
		return rc;
	l->has_tree = true;
	/* A ledger written before the tree existed gets it now, a chunk per commit. */
	while ((rc = tree_behind(l, &size, &head)) == LEDGER_OK && size < head) {
		rc = store_run(l->store, tree_build_job, l);
		/* A read-only store cannot build it: reads answer the part there is. */
		if (rc == STORE_EINVAL)
			return LEDGER_OK;
		if (rc != 0)
			return rc;
		log_msg(LOG_INFO, "ledger", "building the Merkle tree of an older ledger: %llu of %llu entries were left",
			(unsigned long long)(head - size), (unsigned long long)head);
	}
	return rc;
}

/* --- verification against the log (ledger verify) --- */

/* A stored node the hashing completed: compared when the walk reaches its last leaf. */
struct tree_check_node {
	uint64_t index;
	uint32_t leaf;                      /* within its chunk: the leaf that completes it */
	uint8_t level;
	uint8_t hash[LEDGER_HASH_LEN];
};

/* One chunk's hashing: leaves and nodes of up to LEDGER_TREE_CHECK_CHUNK records. */
struct tree_check_chunk {
	struct tree_check_node nodes[LEDGER_TREE_CHECK_CHUNK / 8 + TREE_LEVELS];
	size_t n;
	size_t next;                        /* the walk's next node to compare */
};

struct ledger_tree_check {
	struct ledger *l;
	MDB_txn *txn;
	ledger_tree_bad_fn bad;
	void *arg;
	/* One cursor per level: each level's nodes are met in key order. */
	MDB_cursor *cur[TREE_LEVELS];
	bool placed[TREE_LEVELS];
	/*
	 * The hashing's own state: the complete subtrees on the right edge
	 * (frontier[h] is valid when bit h of size is set), the leaves hashed.
	 */
	uint8_t frontier[TREE_LEVELS][LEDGER_HASH_LEN];
	uint64_t size;
	/* chunks[walk] is walked while chunks[!walk] is hashed. */
	struct tree_check_chunk chunks[2];
	unsigned walk;
	uint32_t leaf;                      /* the walk's next leaf within its chunk */
	uint64_t compared;
};

int ledger_tree_check_new(struct ledger *l, MDB_txn *txn, ledger_tree_bad_fn bad, void *arg,
			  struct ledger_tree_check **out)
{
	struct ledger_tree_check *c = calloc(1, sizeof(*c));
	if (!c)
		return LEDGER_ENOMEM;
	c->l = l;
	c->txn = txn;
	c->bad = bad;
	c->arg = arg;
	*out = c;
	return LEDGER_OK;
}

void ledger_tree_check_free(struct ledger_tree_check *c)
{
	if (!c)
		return;
	for (unsigned h = 0; h < TREE_LEVELS; h++)
		if (c->cur[h])
			mdb_cursor_close(c->cur[h]);
	free(c);
}

/*
 * Each 1 bit below the lowest 0 of the old size is a left sibling the new
 * leaf completes; the stored ones go in the chunk not being walked.
 */
int ledger_tree_check_hash(struct ledger_tree_check *c, const MDB_val *records, size_t n)
{
	struct tree_check_chunk *chunk = &c->chunks[!c->walk];
	int rc = LEDGER_OK;
	if (n > LEDGER_TREE_CHECK_CHUNK)
		return LEDGER_EINVAL;
	chunk->n = 0;
	chunk->next = 0;
	for (size_t i = 0; i < n && rc == LEDGER_OK; i++) {
		uint8_t node[LEDGER_HASH_LEN];
		uint64_t index = c->size;
		unsigned h = 0;
		/* A damaged record (reported by the walk) is hashed as far as its canonical part goes. */
		rc = ledger_merkle_leaf_hash(records[i].mv_data,
					     records[i].mv_size < LEDGER_CANONICAL_LEN ? records[i].mv_size
										      : LEDGER_CANONICAL_LEN,
					     node);
		while (rc == LEDGER_OK && (index >> h) & 1) {
			rc = ledger_merkle_node_hash(c->frontier[h], node, node);
			h++;
			if (rc == LEDGER_OK && h >= LEDGER_TREE_LOW) {
				struct tree_check_node *stored = &chunk->nodes[chunk->n++];
				stored->index = index >> h;
				stored->leaf = (uint32_t)i;
				stored->level = (uint8_t)h;
				memcpy(stored->hash, node, LEDGER_HASH_LEN);
			}
		}
		if (rc == LEDGER_OK)
			memcpy(c->frontier[h], node, LEDGER_HASH_LEN);
		c->size++;
	}
	return rc;
}

void ledger_tree_check_turn(struct ledger_tree_check *c)
{
	c->walk = !c->walk;
	c->leaf = 0;
}

/* Compares the recomputed node with the stored one; reports a difference. */
static int tree_check_node(struct ledger_tree_check *c, const struct tree_check_node *n)
{
	uint8_t key[TREE_KEY_LEN];
	MDB_val k, v;
	unsigned level = n->level;
	int rc = 0;
	tree_key(key, level, n->index);
	if (!c->cur[level] && (rc = mdb_cursor_open(c->txn, c->l->tree, &c->cur[level])) != 0)
		return store_status_from_mdb(rc);
	/* The next key of the level is the usual case; anything else is looked up. */
	if (c->placed[level])
		rc = mdb_cursor_get(c->cur[level], &k, &v, MDB_NEXT);
	if (!c->placed[level] || rc != 0 || k.mv_size != sizeof(key) || memcmp(k.mv_data, key, sizeof(key)) != 0) {
		k.mv_size = sizeof(key);
		k.mv_data = key;
		rc = mdb_cursor_get(c->cur[level], &k, &v, MDB_SET_KEY);
	}
	c->placed[level] = rc == 0;
	if (rc == MDB_NOTFOUND) {
		c->bad(c->arg, level, n->index, "is missing");
		return LEDGER_OK;
	}
	if (rc != 0)
		return store_status_from_mdb(rc);
	c->compared++;
	if (v.mv_size != LEDGER_HASH_LEN || memcmp(v.mv_data, n->hash, LEDGER_HASH_LEN) != 0)
		c->bad(c->arg, level, n->index, "differs from the hash the log gives");
	return LEDGER_OK;
}

int ledger_tree_check_entry(struct ledger_tree_check *c)
{
	struct tree_check_chunk *chunk = &c->chunks[c->walk];
	int rc = LEDGER_OK;
	while (rc == LEDGER_OK && chunk->next < chunk->n && chunk->nodes[chunk->next].leaf == c->leaf)
		rc = tree_check_node(c, &chunk->nodes[chunk->next++]);
	c->leaf++;
	return rc;
}

int ledger_tree_check_end(struct ledger_tree_check *c, uint64_t *size, uint64_t *extra)
{
	MDB_stat st;
	int rc = ledger_tree_size(c->l, c->txn, size);
	*extra = 0;
	if (rc != LEDGER_OK)
		return rc;
	rc = mdb_stat(c->txn, c->l->tree, &st);
	if (rc != 0)
		return store_status_from_mdb(rc);
	/* Besides the nodes compared, only the size record. */
	*extra = st.ms_entries > c->compared + 1 ? st.ms_entries - c->compared - 1 : 0;
	return LEDGER_OK;
}
