/*
 * Unit tests of the ledger's Merkle tree (ledger/merkle.c): the RFC 9162
 * test vectors; trees of 1 to 64 leaves built by the code in uneven
 * batches against a plain recursive recomputation here (every root, every
 * inclusion proof, every consistency proof); every altered proof rejected;
 * the tree kept by real transfers, built at open for a ledger without one,
 * and checked node by node by ledger verify; stored checkpoints checked by
 * verify against the tree and audit.pub, each kind of tampering named.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "internal.h"
#include "store.h"
#include "tools.h"

#define MIB ((size_t)1 << 20)
#define HL LEDGER_HASH_LEN
#define LEAVES_MAX 64

struct fixture {
	char dir[64];
	struct store *s;
	struct ledger *l;
};

static void open_ledger(struct fixture *f)
{
	struct store_config cfg = { .path = f->dir, .map_size = 16 * MIB, .map_max = 256 * MIB, .group_commit = true };
	assert_int_equal(store_open(&cfg, &f->s), 0);
	assert_int_equal(ledger_open(f->s, &f->l), 0);
}

static void close_ledger(struct fixture *f)
{
	ledger_close(f->l);
	store_close(f->s);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/bs-merkle-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	open_ledger(f);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char path[128];
	close_ledger(f);
	snprintf(path, sizeof(path), "%s/data.mdb", f->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/lock.mdb", f->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/audit.key", f->dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/audit.pub", f->dir);
	unlink(path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* --- the reference: RFC 9162 §2.1 written out recursively, from its own hashing --- */

static void ref_leaf(const void *data, size_t len, uint8_t out[HL])
{
	uint8_t buf[1 + 64];
	assert_true(len <= 64);
	buf[0] = 0;
	memcpy(buf + 1, data, len);
	assert_int_equal(crypto_sha256(buf, 1 + len, out), 0);
}

static void ref_node(const uint8_t l[HL], const uint8_t r[HL], uint8_t out[HL])
{
	uint8_t buf[1 + 2 * HL];
	buf[0] = 1;
	memcpy(buf + 1, l, HL);
	memcpy(buf + 1 + HL, r, HL);
	assert_int_equal(crypto_sha256(buf, sizeof(buf), out), 0);
}

static size_t ref_k(size_t n)
{
	size_t k = 1;
	while (2 * k < n)
		k *= 2;
	return k;
}

static void ref_mth(uint8_t (*leaves)[HL], size_t n, uint8_t out[HL])
{
	uint8_t a[HL], b[HL];
	size_t k;
	if (n == 1) {
		memcpy(out, leaves[0], HL);
		return;
	}
	k = ref_k(n);
	ref_mth(leaves, k, a);
	ref_mth(leaves + k, n - k, b);
	ref_node(a, b, out);
}

static void ref_path(uint8_t (*leaves)[HL], size_t m, size_t n, uint8_t (*out)[HL], size_t *len)
{
	size_t k;
	if (n == 1)
		return;
	k = ref_k(n);
	if (m < k) {
		ref_path(leaves, m, k, out, len);
		ref_mth(leaves + k, n - k, out[(*len)++]);
	} else {
		ref_path(leaves + k, m - k, n - k, out, len);
		ref_mth(leaves, k, out[(*len)++]);
	}
}

static void ref_subproof(uint8_t (*leaves)[HL], size_t m, size_t n, bool b, uint8_t (*out)[HL], size_t *len)
{
	size_t k;
	if (m == n) {
		if (!b)
			ref_mth(leaves, n, out[(*len)++]);
		return;
	}
	k = ref_k(n);
	if (m <= k) {
		ref_subproof(leaves, m, k, b, out, len);
		ref_mth(leaves + k, n - k, out[(*len)++]);
	} else {
		ref_subproof(leaves + k, m - k, n - k, false, out, len);
		ref_mth(leaves, k, out[(*len)++]);
	}
}

static void hex_to(const char *hex, uint8_t out[HL])
{
	size_t n;
	assert_int_equal(crypto_hex_decode(hex, strlen(hex), out, HL, &n), 0);
	assert_int_equal(n, HL);
}

/*
 * RFC 9162 / transparency-dev test vectors (docs reference, §8.4) for the
 * reference here and the pure functions; the worked example of docs/audit.md.
 */
static void test_vectors(void **state)
{
	static const char *const data_hex[8] = { "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
						 "606162636465666768696a6b6c6d6e6f" };
	static const char *const roots[9] = {
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
		"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
		"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
		"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
		"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
		"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
		"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
	};
	uint8_t leaves[8][HL], want[HL], got[HL], proof[LEDGER_PROOF_MAX][HL];
	size_t n;
	(void)state;
	for (size_t i = 0; i < 8; i++) {
		uint8_t d[16];
		size_t len = 0;
		if (*data_hex[i])
			assert_int_equal(crypto_hex_decode(data_hex[i], strlen(data_hex[i]), d, sizeof(d), &len), 0);
		assert_int_equal(ledger_merkle_leaf_hash(d, len, leaves[i]), 0);
		ref_leaf(d, len, got);
		assert_memory_equal(got, leaves[i], HL);
	}
	for (size_t size = 1; size <= 8; size++) {
		hex_to(roots[size], want);
		ref_mth(leaves, size, got);
		assert_memory_equal(got, want, HL);
	}
	/* The worked example of docs/audit.md: leaf 2, node (0, 1), root of 3, and its proofs. */
	hex_to("0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7", want);
	assert_memory_equal(leaves[2], want, HL);
	assert_int_equal(ledger_merkle_node_hash(leaves[0], leaves[1], got), 0);
	hex_to(roots[2], want);
	assert_memory_equal(got, want, HL);
	hex_to(roots[3], want);
	assert_true(ledger_merkle_verify_inclusion(leaves[2], 2, 3, got, 1, want));
	hex_to(roots[2], got);
	assert_true(ledger_merkle_verify_consistency(2, 3, got, want, leaves[2], 1));
	/* Consistency 1 -> 8 starts with the leaf hash of d1. */
	n = 0;
	ref_subproof(leaves, 1, 8, true, proof, &n);
	assert_int_equal(n, 3);
	hex_to("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7", want);
	assert_memory_equal(proof[0], want, HL);
	hex_to("395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56", want);
	assert_int_equal(ledger_merkle_leaf_hash("L123456", 7, got), 0);
	assert_memory_equal(got, want, HL);
	assert_int_equal(ledger_merkle_leaf_hash(proof, LEDGER_MERKLE_LEAF_MAX + 1, got), LEDGER_EINVAL);
}

/* What a proof is checked for: the inclusion of leaf at a in b, or the consistency of a with b. */
struct claim {
	bool inclusion;
	const uint8_t *leaf;
	uint64_t a, b;
	const uint8_t *r1, *r2;    /* inclusion: r1 the root */
};

static bool claim_holds(const struct claim *c, const uint8_t *proof, size_t n)
{
	if (c->inclusion)
		return ledger_merkle_verify_inclusion(c->leaf, c->a, c->b, proof, n, c->r1);
	return ledger_merkle_verify_consistency(c->a, c->b, c->r1, c->r2, proof, n);
}

/* The proof holds; each bit flipped in any byte, an element dropped or added, it does not. */
static void check_alterations(const struct claim *c, uint8_t (*proof)[HL], size_t n)
{
	uint8_t longer[LEDGER_PROOF_MAX + 1][HL];
	uint8_t *bytes = (uint8_t *)proof;       /* the n hashes as one run of bytes */
	const uint8_t *p = bytes;
	assert_true(claim_holds(c, p, n));
	for (size_t i = 0; i < n * HL; i++) {
		bytes[i] ^= 0x01;
		assert_false(claim_holds(c, p, n));
		bytes[i] ^= 0x01;
	}
	if (n > 0) {
		assert_false(claim_holds(c, p, n - 1));
		assert_false(claim_holds(c, p + HL, n - 1));
	}
	memcpy(longer, proof, n * HL);
	memcpy(longer[n], c->r1, HL);
	assert_false(claim_holds(c, longer[0], n + 1));
}

/*
 * Every way of altering a valid inclusion proof or its claim is rejected.
 * No check with a larger size: one whose path has the same shape (leaf 0
 * of 3 and of 4) passes the RFC procedure, as the root, not the proof,
 * binds the size (a signed tree head names both). Same for consistency.
 */
static void check_inclusion_tampering(const uint8_t leaf[HL], uint64_t m, uint64_t size, uint8_t (*proof)[HL],
				      size_t n, const uint8_t root[HL])
{
	struct claim c = { true, leaf, m, size, root, NULL };
	const uint8_t *p = proof[0];
	check_alterations(&c, proof, n);
	for (size_t i = 0; i < HL; i++) {
		uint8_t bad_leaf[HL], bad_root[HL];
		memcpy(bad_leaf, leaf, HL);
		memcpy(bad_root, root, HL);
		bad_leaf[i] ^= 0x80;
		bad_root[i] ^= 0x80;
		assert_false(ledger_merkle_verify_inclusion(bad_leaf, m, size, p, n, root));
		assert_false(ledger_merkle_verify_inclusion(leaf, m, size, p, n, bad_root));
	}
	if ((m ^ 1) < size)
		assert_false(ledger_merkle_verify_inclusion(leaf, m ^ 1, size, p, n, root));
	assert_false(ledger_merkle_verify_inclusion(leaf, size, size, p, n, root));
	if (m + 1 < size)
		assert_false(ledger_merkle_verify_inclusion(leaf, m + 1, size, p, n, root));
}

static void check_consistency_tampering(uint64_t old, uint64_t size, const uint8_t r1[HL], const uint8_t r2[HL],
					uint8_t (*proof)[HL], size_t n)
{
	struct claim c = { false, NULL, old, size, r1, r2 };
	const uint8_t *p = proof[0];
	check_alterations(&c, proof, n);
	if (memcmp(r1, r2, HL) != 0)
		assert_false(ledger_merkle_verify_consistency(old, size, r2, r1, p, n));
	if (old > 1)
		assert_false(ledger_merkle_verify_consistency(old - 1, size, r1, r2, p, n));
	if (old != size)
		assert_false(ledger_merkle_verify_consistency(size, old, r2, r1, p, n));
}

/* --- the tree kept by real transfers --- */

struct xfer_job {
	struct ledger *l;
	uint64_t first_id;
	size_t n;
};

static int accounts_apply(MDB_txn *txn, void *arg)
{
	struct ledger *l = arg;
	struct ledger_account a[2];
	uint32_t results[2];
	int rc;
	memset(a, 0, sizeof(a));
	for (int i = 0; i < 2; i++) {
		a[i].id = ledger_id_from_u64((uint64_t)i + 1);
		a[i].ledger = LEDGER_IDR;
		a[i].code = LEDGER_ACCOUNT_ESCROW;
		snprintf(a[i].name, sizeof(a[i].name), "test:%d", i);
	}
	rc = ledger_create_accounts(l, txn, a, 2, results);
	return rc ? rc : (int)(results[0] | results[1]);
}

static int transfers_apply(MDB_txn *txn, void *arg)
{
	struct xfer_job *j = arg;
	struct ledger_transfer *t = calloc(j->n, sizeof(*t));
	uint32_t *results = calloc(j->n, sizeof(*results));
	int rc;
	assert_non_null(t);
	assert_non_null(results);
	for (size_t i = 0; i < j->n; i++) {
		t[i].id = ledger_id_from_u64(j->first_id + i);
		t[i].debit_account_id = ledger_id_from_u64(1);
		t[i].credit_account_id = ledger_id_from_u64(2);
		t[i].amount = 10;
		t[i].ledger = LEDGER_IDR;
		t[i].code = LEDGER_CODE_ADJUSTMENT;
	}
	rc = ledger_create_transfers(j->l, txn, t, j->n, results);
	for (size_t i = 0; i < j->n && rc == 0; i++)
		rc = (int)results[i];
	free(t);
	free(results);
	return rc;
}

/* The leaf hashes of the log's entries; OUT: *n of them. */
static void log_leaves(struct fixture *f, uint8_t (*leaves)[HL], uint64_t *n)
{
	uint8_t head_hash[HL];
	MDB_txn *txn;
	assert_int_equal(store_read_begin(f->s, &txn), 0);
	assert_int_equal(ledger_head(f->l, txn, n, head_hash), 0);
	assert_true(*n <= LEAVES_MAX);
	for (uint64_t seq = 1; seq <= *n; seq++) {
		struct ledger_entry e;
		uint8_t canonical[LEDGER_CANONICAL_LEN];
		assert_int_equal(ledger_entry_get(f->l, txn, seq, &e), 0);
		ledger_entry_encode(&e, canonical);
		assert_int_equal(ledger_merkle_leaf_hash(canonical, sizeof(canonical), leaves[seq - 1]), 0);
	}
	store_read_end(f->s, txn);
}

/* After each call the tree's size is the head and its root the reference's. */
static void expect_current_root(struct fixture *f)
{
	uint8_t leaves[LEAVES_MAX][HL], want[HL], got[HL];
	uint64_t n, size;
	MDB_txn *txn;
	log_leaves(f, leaves, &n);
	ref_mth(leaves, n, want);
	assert_int_equal(store_read_begin(f->s, &txn), 0);
	assert_int_equal(ledger_tree_size(f->l, txn, &size), 0);
	assert_int_equal(size, n);
	assert_int_equal(ledger_tree_root(f->l, txn, size, got), 0);
	store_read_end(f->s, txn);
	assert_memory_equal(got, want, HL);
}

/* Trees of 1 to 64 entries, appended by calls of 1, 2, 3, ... transfers. */
static void test_all_sizes(void **state)
{
	struct fixture *f = *state;
	uint8_t leaves[LEAVES_MAX][HL];
	uint64_t done = 0;
	MDB_txn *txn;
	assert_int_equal(store_run(f->s, accounts_apply, f->l), 0);
	for (size_t batch = 1; done < LEAVES_MAX; batch++) {
		struct xfer_job j = { f->l, 1000 + done, LEAVES_MAX - done < batch ? LEAVES_MAX - done : batch };
		assert_int_equal(store_run(f->s, transfers_apply, &j), 0);
		done += j.n;
		expect_current_root(f);
	}
	log_leaves(f, leaves, &done);
	assert_int_equal(done, LEAVES_MAX);
	assert_int_equal(store_read_begin(f->s, &txn), 0);
	for (uint64_t size = 1; size <= LEAVES_MAX; size++) {
		uint8_t root[HL], want[HL], proof[LEDGER_PROOF_MAX][HL], ref[LEDGER_PROOF_MAX][HL];
		size_t n, rn;
		ref_mth(leaves, size, want);
		assert_int_equal(ledger_tree_root(f->l, txn, size, root), 0);
		assert_memory_equal(root, want, HL);
		for (uint64_t m = 0; m < size; m++) {
			uint8_t leaf[HL];
			assert_int_equal(ledger_tree_leaf(f->l, txn, m, leaf), 0);
			assert_memory_equal(leaf, leaves[m], HL);
			assert_int_equal(ledger_inclusion_proof(f->l, txn, m, size, proof, &n), 0);
			rn = 0;
			ref_path(leaves, m, size, ref, &rn);
			assert_int_equal(n, rn);
			assert_memory_equal(proof, ref, n * HL);
			check_inclusion_tampering(leaf, m, size, proof, n, root);
		}
		for (uint64_t old = 0; old <= size; old++) {
			uint8_t old_root[HL];
			assert_int_equal(ledger_tree_root(f->l, txn, old, old_root), 0);
			assert_int_equal(ledger_consistency_proof(f->l, txn, old, size, proof, &n), 0);
			rn = 0;
			if (old > 0 && old < size)
				ref_subproof(leaves, old, size, true, ref, &rn);
			assert_int_equal(n, rn);
			assert_memory_equal(proof, ref, n * HL);
			check_consistency_tampering(old, size, old_root, root, proof, n);
		}
	}
	/* The RFC's edges: bad arguments, sizes beyond the tree. */
	{
		uint8_t proof[LEDGER_PROOF_MAX][HL], root[HL], empty[HL];
		size_t n;
		assert_int_equal(ledger_inclusion_proof(f->l, txn, 5, 5, proof, &n), LEDGER_EINVAL);
		assert_int_equal(ledger_inclusion_proof(f->l, txn, 0, LEAVES_MAX + 1, proof, &n), STORE_ENOTFOUND);
		assert_int_equal(ledger_consistency_proof(f->l, txn, 6, 5, proof, &n), LEDGER_EINVAL);
		assert_int_equal(ledger_consistency_proof(f->l, txn, 1, LEAVES_MAX + 1, proof, &n), STORE_ENOTFOUND);
		assert_int_equal(ledger_tree_root(f->l, txn, 0, empty), 0);
		assert_int_equal(ledger_tree_root(f->l, txn, 7, root), 0);
		/* From 0: only an empty proof, and only with the empty tree's root. */
		assert_true(ledger_merkle_verify_consistency(0, 7, empty, root, NULL, 0));
		assert_false(ledger_merkle_verify_consistency(0, 7, root, root, NULL, 0));
		assert_false(ledger_merkle_verify_consistency(0, 7, empty, root, root, 1));
		/* Equal sizes: empty proof, equal roots. */
		assert_true(ledger_merkle_verify_consistency(7, 7, root, root, NULL, 0));
		assert_false(ledger_merkle_verify_consistency(7, 7, root, empty, NULL, 0));
		assert_false(ledger_merkle_verify_consistency(7, 7, root, root, root, 1));
		/* A proof is never empty between different non-zero sizes. */
		assert_false(ledger_merkle_verify_consistency(3, 7, root, root, NULL, 0));
		assert_false(ledger_merkle_verify_inclusion(root, 0, 0, NULL, 0, root));
	}
	store_read_end(f->s, txn);
}


/* 3 + 4 + ... + 9 = 42 entries in seven calls: stored nodes (4, 0), (4, 1), (5, 0). */
static void make_entries(struct fixture *f)
{
	uint64_t id = 1000;
	assert_int_equal(store_run(f->s, accounts_apply, f->l), 0);
	for (size_t n = 3; n <= 9; n++) {
		struct xfer_job j = { f->l, id, n };
		assert_int_equal(store_run(f->s, transfers_apply, &j), 0);
		id += n;
	}
}

/* The tree's leaves are the entries' canonical bytes; its size is the head. */
static void root_of_log(struct fixture *f, uint64_t *size, uint8_t root[HL])
{
	uint8_t leaves[LEAVES_MAX][HL];
	expect_current_root(f);
	log_leaves(f, leaves, size);
	ref_mth(leaves, *size, root);
}

static void verify_ok(struct fixture *f, bool ok, const char *part)
{
	struct ledger_verify_result r;
	MDB_txn *txn;
	assert_int_equal(store_read_begin(f->s, &txn), 0);
	assert_int_equal(ledger_verify_txn(f->l, txn, NULL, NULL, &r), 0);
	store_read_end(f->s, txn);
	if (ok != r.ok || (part && !strstr(r.message, part)))
		print_message("verify: %s\n", r.message);
	assert_int_equal(r.ok, ok);
	if (part)
		assert_non_null(strstr(r.message, part));
}

static void test_transfers_keep_tree(void **state)
{
	struct fixture *f = *state;
	uint8_t root[HL];
	uint64_t size;
	make_entries(f);
	root_of_log(f, &size, root);
	assert_int_equal(size, 42);
	verify_ok(f, true, NULL);
}

/* Writes a node (or, with size_key, the size record), or drops the whole tree. */
struct poke_job {
	struct ledger *l;
	uint8_t key[9];
	bool drop_all;
	bool size_key;
	uint64_t size;
};

static int poke_apply(MDB_txn *txn, void *arg)
{
	struct poke_job *j = arg;
	uint8_t value[HL];
	MDB_val k = { sizeof(j->key), j->key }, v = { HL, value };
	if (j->drop_all)
		return mdb_drop(txn, j->l->tree, 0);
	memset(value, 0xab, sizeof(value));
	if (j->size_key) {
		k.mv_size = 4;
		k.mv_data = "size";
		v.mv_size = 8;
		ledger_put_u64(value, j->size);
	}
	return mdb_put(txn, j->l->tree, &k, &v, 0);
}

static void poke(struct fixture *f, unsigned level, uint64_t index)
{
	struct poke_job j = { .l = f->l };
	j.key[0] = (uint8_t)level;
	ledger_put_u64(j.key + 1, index);
	assert_int_equal(store_run(f->s, poke_apply, &j), 0);
}

/* ledger verify names a changed node, and stored nodes the log does not make. */
static void test_verify_names_node(void **state)
{
	struct fixture *f = *state;
	make_entries(f);
	poke(f, 5, 0);
	verify_ok(f, false, "ledger_tree node (level 5, index 0) differs");
	/* Restore by rebuilding: drop the tree and reopen (the build at open). */
	{
		struct poke_job j = { .l = f->l, .drop_all = true };
		assert_int_equal(store_run(f->s, poke_apply, &j), 0);
	}
	close_ledger(f);
	open_ledger(f);
	verify_ok(f, true, NULL);
	{
		struct poke_job j = { .l = f->l, .size_key = true, .size = 41 };
		assert_int_equal(store_run(f->s, poke_apply, &j), 0);
		verify_ok(f, false, "the ledger_tree size record says 41 leaves, the log has 42");
		j.size = 42;
		assert_int_equal(store_run(f->s, poke_apply, &j), 0);
	}
	verify_ok(f, true, NULL);
	poke(f, 4, 2);
	verify_ok(f, false, "ledger_tree holds 1 nodes the log does not make");
}

/* A ledger with entries but no tree (older data) gets the same tree at open. */
static void test_build_at_open(void **state)
{
	struct fixture *f = *state;
	struct poke_job j = { .drop_all = true };
	uint8_t before[HL], after[HL];
	uint64_t size;
	make_entries(f);
	root_of_log(f, &size, before);
	j.l = f->l;
	assert_int_equal(store_run(f->s, poke_apply, &j), 0);
	verify_ok(f, false, "ledger_tree node (level 4, index 0) is missing");
	close_ledger(f);
	open_ledger(f);
	root_of_log(f, &size, after);
	assert_memory_equal(before, after, HL);
	verify_ok(f, true, NULL);
	/* Later calls go on from there. */
	{
		struct xfer_job x = { f->l, 5000, 2 };
		assert_int_equal(store_run(f->s, transfers_apply, &x), 0);
	}
	root_of_log(f, &size, after);
	assert_int_equal(size, 44);
	verify_ok(f, true, NULL);
}

/*
 * Calls large enough to hash beside the writer (and a build at open of
 * their size), checked node by node by verify: 42 entries, then 3,000 in
 * one call, then 8,189, so that the calls start inside subtrees.
 */
static void test_large_calls(void **state)
{
	struct fixture *f = *state;
	struct poke_job drop = { .drop_all = true };
	struct xfer_job big = { f->l, 100000, 3000 }, bigger = { f->l, 200000, LEDGER_BATCH_MAX };
	make_entries(f);
	assert_int_equal(store_run(f->s, transfers_apply, &big), 0);
	verify_ok(f, true, NULL);
	assert_int_equal(store_run(f->s, transfers_apply, &bigger), 0);
	verify_ok(f, true, NULL);
	poke(f, 9, 3);
	verify_ok(f, false, "ledger_tree node (level 9, index 3) differs");
	drop.l = f->l;
	assert_int_equal(store_run(f->s, poke_apply, &drop), 0);
	close_ledger(f);
	open_ledger(f);
	verify_ok(f, true, NULL);
}

/*
 * A log longer than the chunk verify hashes beside its walk: every node of
 * both chunks is compared, and a changed node past the first chunk is named
 * at the entry that completes it (leaves 16,400 to 16,415: sequence 16,416).
 */
static void test_verify_chunks(void **state)
{
	struct fixture *f = *state;
	make_entries(f);
	for (uint64_t id = 100000; id < 100000 + 2 * LEDGER_BATCH_MAX; id += LEDGER_BATCH_MAX) {
		struct xfer_job x = { f->l, id, LEDGER_BATCH_MAX };
		assert_int_equal(store_run(f->s, transfers_apply, &x), 0);
	}
	assert_true(42 + 2 * LEDGER_BATCH_MAX > LEDGER_TREE_CHECK_CHUNK);
	verify_ok(f, true, NULL);
	poke(f, 4, 1025);
	verify_ok(f, false, "sequence 16416: ledger_tree node (level 4, index 1025) differs");
}

/* --- checkpoints, as ledger verify checks them --- */

/* Record layout (checkpoint.c): version(1) | tree_size(8) | root(32) | time_ms(8) | signature(64). */
#define CP_ROOT 9
#define CP_SIG (9 + HL + 8)
#define CP_LEN (CP_SIG + LEDGER_SIGNATURE_LEN)

static int checkpoint_apply(MDB_txn *txn, void *arg)
{
	struct ledger *l = arg;
	struct ledger_checkpoint c;
	bool made;
	int rc = ledger_checkpoint_make(l, txn, 1767225600000u, &c, &made);
	return rc == LEDGER_OK && !made ? LEDGER_EINVAL : rc;
}

/* Reads, or with `write` replaces, the stored record of checkpoint `number`. */
struct cp_job {
	struct ledger *l;
	uint64_t number;
	uint8_t rec[CP_LEN];
	bool write;
};

static int cp_apply(MDB_txn *txn, void *arg)
{
	struct cp_job *j = arg;
	uint8_t key[8];
	MDB_val k = { sizeof(key), key }, v = { sizeof(j->rec), j->rec };
	int rc;
	ledger_put_u64(key, j->number);
	if (j->write)
		return mdb_put(txn, j->l->signer_dbi, &k, &v, 0);
	rc = mdb_get(txn, j->l->signer_dbi, &k, &v);
	if (rc == 0 && v.mv_size == CP_LEN)
		memcpy(j->rec, v.mv_data, CP_LEN);
	return rc == 0 && v.mv_size != CP_LEN ? LEDGER_ECORRUPT : rc;
}

static void cp_get(struct fixture *f, uint64_t number, uint8_t rec[CP_LEN])
{
	struct cp_job j = { .l = f->l, .number = number };
	assert_int_equal(store_run(f->s, cp_apply, &j), 0);
	memcpy(rec, j.rec, CP_LEN);
}

static void cp_put(struct fixture *f, uint64_t number, const uint8_t rec[CP_LEN])
{
	struct cp_job j = { .l = f->l, .number = number, .write = true };
	memcpy(j.rec, rec, CP_LEN);
	assert_int_equal(store_run(f->s, cp_apply, &j), 0);
}

static void write_pub(struct fixture *f, const char *text)
{
	char path[128];
	FILE *fp;
	snprintf(path, sizeof(path), "%s/audit.pub", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

/*
 * Checkpoints at sizes 0, 7 and 42 verify; each change to a stored one is
 * named by its number: a root byte, a signature byte, another key in
 * audit.pub or none, a well-signed root of another size, a size not above
 * the one before.
 */
static void test_verify_checkpoints(void **state)
{
	struct fixture *f = *state;
	uint8_t rec[CP_LEN], bad[CP_LEN], seed[LEDGER_KEY_LEN], pub[LEDGER_KEY_LEN];
	char path[128], pub_text[2 * LEDGER_KEY_LEN + 2], other_text[2 * LEDGER_KEY_LEN + 2];
	struct ledger_checkpoint c;
	uint64_t id = 1000;
	MDB_txn *txn;

	assert_int_equal(ledger_checkpoints_open(f->l, f->dir, 3600), LEDGER_OK);
	assert_int_equal(store_run(f->s, accounts_apply, f->l), 0);
	assert_int_equal(store_run(f->s, checkpoint_apply, f->l), 0);
	for (size_t n = 3; n <= 9; n++) {
		struct xfer_job j = { f->l, id, n };
		assert_int_equal(store_run(f->s, transfers_apply, &j), 0);
		id += n;
		if (n == 4 || n == 9)
			assert_int_equal(store_run(f->s, checkpoint_apply, f->l), 0);
	}
	verify_ok(f, true, NULL);

	cp_get(f, 2, rec);
	memcpy(bad, rec, CP_LEN);
	bad[CP_ROOT + 5] ^= 0x01;
	cp_put(f, 2, bad);
	verify_ok(f, false, "checkpoint 2: its root differs from the root of the log's tree at size 7");
	memcpy(bad, rec, CP_LEN);
	bad[CP_SIG + 17] ^= 0x80;
	cp_put(f, 2, bad);
	verify_ok(f, false, "checkpoint 2: the signature does not verify under");
	cp_put(f, 2, rec);
	verify_ok(f, true, NULL);

	/* A well-signed checkpoint that claims size 7 with the root of size 6. */
	snprintf(path, sizeof(path), "%s/audit.key", f->dir);
	assert_int_equal(crypto_key_file(path, seed, sizeof(seed)), CRYPTO_OK);
	memset(&c, 0, sizeof(c));
	c.tree_size = 7;
	c.time_ms = ledger_get_u64(rec + CP_ROOT + HL);
	assert_int_equal(store_read_begin(f->s, &txn), 0);
	assert_int_equal(ledger_tree_root(f->l, txn, 6, c.root), LEDGER_OK);
	store_read_end(f->s, txn);
	assert_int_equal(ledger_checkpoint_sign(seed, &c), LEDGER_OK);
	memcpy(bad, rec, CP_LEN);
	memcpy(bad + CP_ROOT, c.root, HL);
	memcpy(bad + CP_SIG, c.signature, LEDGER_SIGNATURE_LEN);
	cp_put(f, 2, bad);
	verify_ok(f, false, "checkpoint 2: its root differs from the root of the log's tree at size 7");
	cp_put(f, 2, rec);

	/* Another key in audit.pub, then none. */
	assert_int_equal(crypto_ed25519_public(seed, pub), CRYPTO_OK);
	assert_int_equal(crypto_hex_encode(pub, LEDGER_KEY_LEN, pub_text, sizeof(pub_text)), CRYPTO_OK);
	strcat(pub_text, "\n");
	assert_int_equal(crypto_ed25519_generate(seed, pub), CRYPTO_OK);
	assert_int_equal(crypto_hex_encode(pub, LEDGER_KEY_LEN, other_text, sizeof(other_text)), CRYPTO_OK);
	strcat(other_text, "\n");
	write_pub(f, other_text);
	verify_ok(f, false, "checkpoint 1: the signature does not verify under");
	snprintf(path, sizeof(path), "%s/audit.pub", f->dir);
	assert_int_equal(unlink(path), 0);
	verify_ok(f, false, "checkpoint 1: ");
	verify_ok(f, false, "/audit.pub is missing, so no signature can be checked");
	write_pub(f, pub_text);
	verify_ok(f, true, NULL);

	/* Checkpoint 2's record again as 4 (a size below 3's), then as 3 (the same size as 2's). */
	cp_get(f, 3, bad);
	cp_put(f, 4, rec);
	verify_ok(f, false, "checkpoint 4: tree size 7 is not above checkpoint 3's 42");
	cp_put(f, 3, rec);
	verify_ok(f, false, "checkpoint 3: tree size 7 is not above checkpoint 2's 7");
	cp_put(f, 3, bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_vectors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transfers_keep_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_names_node, setup, teardown),
		cmocka_unit_test_setup_teardown(test_build_at_open, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_calls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_chunks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verify_checkpoints, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
