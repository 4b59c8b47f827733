/*
 * Unit tests of the pure parts of the auditors' export (ledger/audit_export.h):
 * the compact range against a straightforward recursive tree hash for 0 to
 * 64 leaves and against docs/audit.md's worked example; the replay of
 * balances through pending, post, void and the refusals it names; the
 * trial balance; the readable lines of docs/ledger.md's example entry.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit_export.h"
#include "crypto.h"

#define LEAVES_MAX 64

static void leaf_of(unsigned i, uint8_t out[LEDGER_HASH_LEN])
{
	uint8_t data[2] = { (uint8_t)i, 0x5a };
	assert_int_equal(ledger_merkle_leaf_hash(data, sizeof(data), out), 0);
}

/* MTH(D[lo:hi]) by RFC 9162's definition. */
static void mth(const uint8_t (*leaves)[LEDGER_HASH_LEN], unsigned lo, unsigned hi, uint8_t out[LEDGER_HASH_LEN])
{
	uint8_t l[LEDGER_HASH_LEN], r[LEDGER_HASH_LEN];
	unsigned k = 1;
	if (hi - lo == 1) {
		memcpy(out, leaves[lo], LEDGER_HASH_LEN);
		return;
	}
	while (k * 2 < hi - lo)
		k *= 2;
	mth(leaves, lo, lo + k, l);
	mth(leaves, lo + k, hi, r);
	assert_int_equal(ledger_merkle_node_hash(l, r, out), 0);
}

static void test_compact_roots(void **state)
{
	uint8_t leaves[LEAVES_MAX][LEDGER_HASH_LEN], want[LEDGER_HASH_LEN], got[LEDGER_HASH_LEN];
	struct ledger_compact c, copy;
	(void)state;
	ledger_compact_init(&c);
	assert_int_equal(ledger_compact_root(&c, got), 0);
	assert_int_equal(crypto_sha256(NULL, 0, want), 0);
	assert_memory_equal(got, want, LEDGER_HASH_LEN);
	for (unsigned n = 1; n <= LEAVES_MAX; n++) {
		unsigned bits = 0;
		leaf_of(n - 1, leaves[n - 1]);
		assert_int_equal(ledger_compact_append(&c, leaves[n - 1]), 0);
		assert_int_equal(c.size, n);
		for (unsigned s = n; s; s &= s - 1)
			bits++;
		assert_int_equal(c.n, bits);
		mth((const uint8_t(*)[LEDGER_HASH_LEN])leaves, 0, n, want);
		assert_int_equal(ledger_compact_root(&c, got), 0);
		assert_memory_equal(got, want, LEDGER_HASH_LEN);
		/* Each hash is the perfect subtree its bit names, largest first. */
		for (unsigned i = 0, at = 0, s = 1u << 6; s; s >>= 1) {
			if (!(n & s))
				continue;
			mth((const uint8_t(*)[LEDGER_HASH_LEN])leaves, at, at + s, want);
			assert_memory_equal(c.hash[i++], want, LEDGER_HASH_LEN);
			at += s;
		}
		/* The same range from its hashes gives the same root; a wrong count is refused. */
		assert_int_equal(ledger_compact_set(&copy, n, (const uint8_t(*)[LEDGER_HASH_LEN])c.hash, c.n), 0);
		assert_int_equal(ledger_compact_root(&copy, got), 0);
		mth((const uint8_t(*)[LEDGER_HASH_LEN])leaves, 0, n, want);
		assert_memory_equal(got, want, LEDGER_HASH_LEN);
		assert_int_equal(ledger_compact_set(&copy, n, (const uint8_t(*)[LEDGER_HASH_LEN])c.hash, c.n + 1),
				 LEDGER_EINVAL);
	}
}

/* docs/audit.md, "Worked example": d0 = "", d1 = 00, d2 = 10; the root of 3. */
static void test_compact_worked_example(void **state)
{
	static const uint8_t d1 = 0x00, d2 = 0x10;
	uint8_t leaf[LEDGER_HASH_LEN], root[LEDGER_HASH_LEN], want[LEDGER_HASH_LEN];
	struct ledger_compact c;
	size_t n;
	(void)state;
	ledger_compact_init(&c);
	assert_int_equal(ledger_merkle_leaf_hash(NULL, 0, leaf), 0);
	assert_int_equal(ledger_compact_append(&c, leaf), 0);
	assert_int_equal(ledger_merkle_leaf_hash(&d1, 1, leaf), 0);
	assert_int_equal(ledger_compact_append(&c, leaf), 0);
	assert_int_equal(ledger_merkle_leaf_hash(&d2, 1, leaf), 0);
	assert_int_equal(ledger_compact_append(&c, leaf), 0);
	assert_int_equal(ledger_compact_root(&c, root), 0);
	assert_int_equal(crypto_hex_decode("aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77", 64, want,
					   sizeof(want), &n),
			 0);
	assert_memory_equal(root, want, LEDGER_HASH_LEN);
}

static struct ledger_entry entry(uint64_t seq, uint64_t id, uint64_t debit, uint64_t credit, int64_t amount,
				 uint16_t flags, uint64_t pending)
{
	struct ledger_entry e;
	memset(&e, 0, sizeof(e));
	e.t.seq = seq;
	e.t.timestamp = 1795780800000000000u + seq;
	e.t.id = ledger_id_from_u64(id);
	e.t.debit_account_id = ledger_id_from_u64(debit);
	e.t.credit_account_id = ledger_id_from_u64(credit);
	e.t.amount = amount;
	e.t.flags = flags;
	e.t.pending_id = ledger_id_from_u64(pending);
	e.t.ledger = LEDGER_IDR;
	e.t.code = 9;
	return e;
}

/* Applies e; returns the message when refused ("" when applied). */
static const char *apply(struct ledger_replay *r, struct ledger_entry e)
{
	static char msg[LEDGER_EXPORT_MSG_MAX];
	msg[0] = '\0';
	int rc = ledger_replay_apply(r, &e, msg, sizeof(msg));
	assert_true(rc == 0 ? msg[0] == '\0' : rc == LEDGER_ECORRUPT && msg[0] != '\0');
	return msg;
}

static void expect_balance(const struct ledger_replay *r, uint64_t id, int64_t dp, int64_t dpo, int64_t cp,
			   int64_t cpo)
{
	struct ledger_balance *list;
	struct ledger_id want = ledger_id_from_u64(id);
	size_t n;
	bool found = false;
	assert_int_equal(ledger_replay_accounts(r, &list, &n), 0);
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			assert_true(memcmp(&list[i - 1].id, &list[i].id, sizeof(list[i].id)) < 0);
		if (memcmp(&list[i].id, &want, sizeof(want)) != 0)
			continue;
		found = true;
		assert_int_equal(list[i].debits_pending, dp);
		assert_int_equal(list[i].debits_posted, dpo);
		assert_int_equal(list[i].credits_pending, cp);
		assert_int_equal(list[i].credits_posted, cpo);
	}
	free(list);
	assert_true(found);
}

static void test_replay_two_phase(void **state)
{
	struct ledger_replay *r;
	struct ledger_open_pending *open;
	struct ledger_trial_total trial[LEDGER_TRIAL_LEDGERS_MAX];
	size_t n;
	(void)state;
	assert_int_equal(ledger_replay_new(&r), 0);
	assert_string_equal(apply(r, entry(1, 11, 1, 2, 100, 0, 0)), "");
	assert_string_equal(apply(r, entry(2, 12, 1, 2, 500, LEDGER_PENDING, 0)), "");
	assert_string_equal(apply(r, entry(3, 13, 1, 2, 300, LEDGER_PENDING, 0)), "");
	expect_balance(r, 1, 800, 100, 0, 0);
	expect_balance(r, 2, 0, 0, 800, 100);
	assert_int_equal(ledger_replay_pendings(r, &open, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(open[0].amount, 500);
	free(open);
	/* A post of 200 releases all 500; a void must give the whole amount. */
	assert_string_equal(apply(r, entry(4, 14, 1, 2, 200, LEDGER_POST_PENDING, 12)), "");
	expect_balance(r, 1, 300, 300, 0, 0);
	assert_non_null(strstr(apply(r, entry(5, 15, 1, 2, 200, LEDGER_VOID_PENDING, 13)), "of 300 with amount 200"));
	assert_non_null(strstr(apply(r, entry(5, 15, 1, 2, 300, LEDGER_POST_PENDING, 12)), "which is not open"));
	assert_non_null(strstr(apply(r, entry(5, 15, 1, 3, 300, LEDGER_VOID_PENDING, 13)), "other accounts"));
	assert_non_null(strstr(apply(r, entry(5, 15, 1, 2, 301, LEDGER_POST_PENDING, 13)), "with amount 301"));
	assert_string_equal(apply(r, entry(5, 15, 1, 2, 300, LEDGER_VOID_PENDING | LEDGER_EXPIRY, 13)), "");
	expect_balance(r, 1, 0, 300, 0, 0);
	expect_balance(r, 2, 0, 0, 0, 300);
	assert_int_equal(ledger_replay_pendings(r, &open, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(ledger_replay_trial(r, trial, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(trial[0].ledger, LEDGER_IDR);
	assert_int_equal(trial[0].accounts, 2);
	assert_true(trial[0].debits_posted.hi == 0 && trial[0].debits_posted.lo == 300);
	assert_true(trial[0].credits_posted.hi == 0 && trial[0].credits_posted.lo == 300);
	assert_true(trial[0].debits_pending.hi == 0 && trial[0].debits_pending.lo == 0);
	assert_true(trial[0].balanced);
	ledger_replay_free(r);
}

static void test_replay_refusals(void **state)
{
	struct ledger_replay *r;
	struct ledger_balance b = { .id = ledger_id_from_u64(1), .ledger = LEDGER_IDR, .debits_posted = INT64_MAX };
	struct ledger_open_pending p = { .id = ledger_id_from_u64(40), .debit_account_id = ledger_id_from_u64(1),
					 .credit_account_id = ledger_id_from_u64(2), .amount = 7, .ledger = LEDGER_IDR };
	struct ledger_entry other_ledger = entry(3, 33, 2, 5, 1, 0, 0);
	(void)state;
	assert_int_equal(ledger_replay_new(&r), 0);
	assert_int_equal(ledger_replay_add_account(r, &b), 0);
	assert_int_equal(ledger_replay_add_account(r, &b), LEDGER_EINVAL);
	b.id = ledger_id_from_u64(9);
	b.credits_pending = -1;
	assert_int_equal(ledger_replay_add_account(r, &b), LEDGER_EINVAL);
	assert_int_equal(ledger_replay_add_pending(r, &p), 0);
	assert_int_equal(ledger_replay_add_pending(r, &p), LEDGER_EINVAL);
	assert_non_null(strstr(apply(r, entry(1, 31, 1, 2, 1, 0, 0)), "overflow"));
	assert_non_null(strstr(apply(r, entry(1, 31, 1, 1, 1, 0, 0)), "not a valid transfer"));
	assert_non_null(strstr(apply(r, entry(1, 31, 1, 2, 1, LEDGER_PENDING | LEDGER_POST_PENDING, 0)),
			       "not a valid transfer"));
	assert_non_null(strstr(apply(r, entry(1, 40, 1, 2, 1, LEDGER_PENDING, 0)), "reuses the id"));
	/* The opening balances must hold the reservation a post releases. */
	assert_non_null(strstr(apply(r, entry(1, 41, 1, 2, 7, LEDGER_POST_PENDING, 40)), "below zero"));
	p.id = ledger_id_from_u64(50);
	p.debit_account_id = ledger_id_from_u64(5);
	p.credit_account_id = ledger_id_from_u64(6);
	assert_int_equal(ledger_replay_add_pending(r, &p), 0);
	b = (struct ledger_balance){ .id = ledger_id_from_u64(5), .ledger = LEDGER_IDR, .debits_pending = 7 };
	assert_int_equal(ledger_replay_add_account(r, &b), 0);
	b = (struct ledger_balance){ .id = ledger_id_from_u64(6), .ledger = LEDGER_IDR, .credits_pending = 7 };
	assert_int_equal(ledger_replay_add_account(r, &b), 0);
	assert_string_equal(apply(r, entry(1, 51, 5, 6, 4, LEDGER_POST_PENDING, 50)), "");
	expect_balance(r, 5, 0, 4, 0, 0);
	expect_balance(r, 6, 0, 0, 0, 4);
	other_ledger.t.ledger = 840;
	assert_non_null(strstr(apply(r, other_ledger), "is on ledger 360, the entry on ledger 840"));
	ledger_replay_free(r);
}

/* Many accounts and pending transfers: the map grows and removes correctly. */
static void test_replay_many(void **state)
{
	struct ledger_replay *r;
	struct ledger_open_pending *open;
	size_t n;
	(void)state;
	assert_int_equal(ledger_replay_new(&r), 0);
	for (uint64_t i = 0; i < 3000; i++)
		assert_string_equal(apply(r, entry(i + 1, 100000 + i, 1 + i % 700, 1000 + i % 997, 5, LEDGER_PENDING, 0)),
				    "");
	assert_int_equal(ledger_replay_account_count(r), 700 + 997);
	for (uint64_t i = 0; i < 3000; i += 2)
		assert_string_equal(apply(r, entry(3001 + i, 200000 + i, 1 + i % 700, 1000 + i % 997, 5,
						   LEDGER_VOID_PENDING, 100000 + i)),
				    "");
	assert_int_equal(ledger_replay_pendings(r, &open, &n), 0);
	assert_int_equal(n, 1500);
	for (size_t i = 0; i < n; i++) {
		struct ledger_id want = ledger_id_from_u64(100000 + 2 * i + 1);
		assert_memory_equal(&open[i].id, &want, sizeof(want));
	}
	free(open);
	ledger_replay_free(r);
}

/* docs/ledger.md's entry 1 as JSON Lines and CSV. */
static void test_lines(void **state)
{
	struct ledger_entry e = entry(1, 0x1001, 0x300, 0x100, 150000, 0, 0);
	char line[LEDGER_EXPORT_LINE_MAX];
	json_t *doc;
	size_t len, jsonl_len, fields = 1;
	(void)state;
	e.t.timestamp = 1795780800000000001u;
	e.t.user_data_128 = ledger_id_from_u64(42);
	e.t.user_data_64 = UINT64_MAX;
	e.t.code = 1;
	memset(e.hash, 0xab, sizeof(e.hash));
	assert_int_equal(ledger_export_jsonl_line(&e, line, sizeof(line), &len), 0);
	assert_int_equal(len, strlen(line));
	jsonl_len = len;
	assert_int_equal(line[len - 1], '\n');
	assert_non_null(strstr(line, "{\"seq\":1,\"timestamp\":1795780800000000001,\"time\":\"2026-11-27T19:00:00.000+07:00\","
				     "\"id\":\"00000000000000000000000000001001\","));
	assert_non_null(strstr(line, "\"user_data_64\":18446744073709551615,"));
	/* user_data_64 is over INT64_MAX: valid JSON that jansson reads only as a real. */
	doc = json_loads(line, JSON_DECODE_INT_AS_REAL, NULL);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "reason")), "payment");
	assert_true(json_number_value(json_object_get(doc, "amount")) == 150000.0);
	assert_int_equal(json_object_size(doc), 19);
	json_decref(doc);
	assert_int_equal(ledger_export_csv_line(&e, line, sizeof(line), &len), 0);
	assert_string_equal(line + len - 2, "\r\n");
	assert_true(strncmp(line, "1,1795780800000000001,2026-11-27T19:00:00.000+07:00,00000000000000000000000000001001,", 84) ==
		    0);
	for (const char *p = line; *p; p++)
		fields += *p == ',';
	assert_int_equal(fields, 19);
	fields = 1;
	for (const char *p = ledger_export_csv_header; *p; p++)
		fields += *p == ',';
	assert_int_equal(fields, 19);
	/* Too small a buffer is refused, not cut. */
	assert_int_equal(ledger_export_csv_line(&e, line, 100, &len), LEDGER_EINVAL);
	assert_int_equal(ledger_export_jsonl_line(&e, line, jsonl_len, &len), LEDGER_EINVAL);
	assert_int_equal(ledger_export_jsonl_line(&e, line, jsonl_len + 1, &len), 0);
}

/* docs/audit.md, "Export": docs/ledger.md's entry 1 as its JSON line, byte for byte. */
static void test_lines_documented(void **state)
{
	struct ledger_entry e = entry(1, 0x1001, 0x300, 0x100, 150000, 0, 0);
	char line[LEDGER_EXPORT_LINE_MAX];
	size_t len;
	(void)state;
	e.t.timestamp = 1795780800000000001u;
	e.t.user_data_128 = ledger_id_from_u64(42);
	e.t.user_data_64 = 7;
	e.t.code = 1;
	assert_int_equal(crypto_hex_decode("b3d6fc4e54b65be55b9e36368c609b3473cd8671905840db1f0249b0b7fe98aa", 64, e.hash,
					   sizeof(e.hash), &len),
			 0);
	assert_int_equal(ledger_export_jsonl_line(&e, line, sizeof(line), &len), 0);
	assert_string_equal(line,
			    "{\"seq\":1,\"timestamp\":1795780800000000001,\"time\":\"2026-11-27T19:00:00.000+07:00\",\"id\":"
			    "\"00000000000000000000000000001001\",\"debit_account_id\":\"00000000000000000000000000000300\","
			    "\"credit_account_id\":\"00000000000000000000000000000100\",\"amount\":150000,\"pending_id\":"
			    "\"00000000000000000000000000000000\",\"user_data_128\":\"0000000000000000000000000000002a\","
			    "\"user_data_64\":7,\"user_data_32\":0,\"timeout\":0,\"ledger\":360,\"code\":1,\"reason\":"
			    "\"payment\",\"flags\":0,\"debit_prev_seq\":0,\"credit_prev_seq\":0,\"hash\":"
			    "\"b3d6fc4e54b65be55b9e36368c609b3473cd8671905840db1f0249b0b7fe98aa\"}\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compact_roots),     cmocka_unit_test(test_compact_worked_example),
		cmocka_unit_test(test_replay_two_phase),  cmocka_unit_test(test_replay_refusals),
		cmocka_unit_test(test_replay_many),       cmocka_unit_test(test_lines),
		cmocka_unit_test(test_lines_documented),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
