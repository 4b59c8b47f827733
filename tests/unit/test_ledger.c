/*
 * Unit tests of the ledger: account and transfer validation with every
 * result code, balance limits and overflow checks, two-phase transfers and
 * their expiry, linked chains, idempotent retries, the hash chain and the
 * read functions, rollback with the store job, reopening, the record codec,
 * ids and result names. Each test runs on its own store in a mkdtemp folder;
 * writes go through store_run without a writer thread (it commits directly).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "internal.h"
#include "store.h"
#include "testsrv.h"

#define MIB ((size_t)1 << 20)
#define NS_PER_S UINT64_C(1000000000)
/* What a job's apply returns to roll itself back; no ledger or store path returns it. */
#define JOB_ABORT (-1000)
/* Not a ledger_result: "the ledger did not write this result". */
#define NO_RESULT UINT32_MAX

/* Accounts every test starts with: A, B and E on rupiah, C and D on another ledger. */
enum { ACC_A = 1, ACC_B = 2, ACC_C = 3, ACC_D = 4, ACC_E = 5 };
#define OTHER_LEDGER 840
/* An id that no account or transfer has. */
#define MISSING 999
/* Accounts the chain check can follow (every test uses fewer). */
#define TRACK_MAX 64
/* Entries read per ledger_journal call by the chain check. */
#define PAGE 64

struct fixture {
	char dir[64];
	struct store *s;
	struct ledger *l;
};

/*
 * One store job creating accounts or transfers. apply may run more than
 * once, so each run starts from the pristine copy `in`; `events` receives
 * what the ledger fills in.
 */
struct create_job {
	struct ledger *l;
	bool accounts;
	const void *in;
	void *events;
	size_t n;
	uint32_t *results;
	int after;   /* returned when the call succeeded: non-zero rolls the job back */
};

struct expire_job {
	struct ledger *l;
	uint64_t now;
	size_t max;
	size_t expired;
};

/* --- fixture --- */

static void open_ledger(struct fixture *f)
{
	struct store_config cfg = {
		.path = f->dir,
		.map_size = 64 * MIB,
		.map_max = 512 * MIB,
		.group_commit = true,
	};
	assert_int_equal(store_open(&cfg, &f->s), 0);
	assert_int_equal(ledger_open(f->s, &f->l), 0);
}

static void close_ledger(struct fixture *f)
{
	ledger_close(f->l);
	store_close(f->s);
	f->l = NULL;
	f->s = NULL;
}

/* --- running jobs --- */

static int create_apply(MDB_txn *txn, void *arg)
{
	struct create_job *j = arg;
	int rc;
	for (size_t i = 0; i < j->n; i++)
		j->results[i] = NO_RESULT;
	if (j->accounts) {
		memcpy(j->events, j->in, j->n * sizeof(struct ledger_account));
		rc = ledger_create_accounts(j->l, txn, j->events, j->n, j->results);
	} else {
		memcpy(j->events, j->in, j->n * sizeof(struct ledger_transfer));
		rc = ledger_create_transfers(j->l, txn, j->events, j->n, j->results);
	}
	return rc != 0 ? rc : j->after;
}

/* Runs one create call in its own job. Returns store_run's status. */
static int run_create(struct fixture *f, bool accounts, void *events, size_t n, uint32_t *results,
		      int after)
{
	size_t size = accounts ? sizeof(struct ledger_account) : sizeof(struct ledger_transfer);
	struct create_job j = { f->l, accounts, NULL, events, n, results, after };
	void *in = malloc(n ? n * size : 1);
	int rc;
	assert_non_null(in);
	memcpy(in, events, n * size);
	j.in = in;
	rc = store_run(f->s, create_apply, &j);
	free(in);
	return rc;
}

static void create_transfers(struct fixture *f, struct ledger_transfer *t, size_t n, uint32_t *results)
{
	assert_int_equal(run_create(f, false, t, n, results, 0), 0);
}

static void create_accounts(struct fixture *f, struct ledger_account *a, size_t n, uint32_t *results)
{
	assert_int_equal(run_create(f, true, a, n, results, 0), 0);
}

static int expire_apply(MDB_txn *txn, void *arg)
{
	struct expire_job *j = arg;
	j->expired = 0;
	return ledger_expire(j->l, txn, j->now, j->max, &j->expired);
}

static size_t expire(struct fixture *f, uint64_t now, size_t max)
{
	struct expire_job j = { f->l, now, max, 0 };
	assert_int_equal(store_run(f->s, expire_apply, &j), 0);
	return j.expired;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* --- building events --- */

static struct ledger_id id_of(uint64_t v)
{
	return ledger_id_from_u64(v);
}

static struct ledger_id id_max(void)
{
	struct ledger_id id;
	memset(id.b, 0xff, sizeof(id.b));
	return id;
}

static bool id_eq(const struct ledger_id *a, const struct ledger_id *b)
{
	return memcmp(a->b, b->b, sizeof(a->b)) == 0;
}

static struct ledger_account account(uint64_t id, uint32_t ledger, uint16_t flags)
{
	struct ledger_account a;
	memset(&a, 0, sizeof(a));
	a.id = id_of(id);
	snprintf(a.name, sizeof(a.name), "acct-%llu", (unsigned long long)id);
	a.ledger = ledger;
	a.code = 1;
	a.flags = flags;
	return a;
}

static struct ledger_transfer transfer(uint64_t id, uint64_t debit, uint64_t credit, int64_t amount,
				       uint16_t flags)
{
	struct ledger_transfer t;
	memset(&t, 0, sizeof(t));
	t.id = id_of(id);
	t.debit_account_id = id_of(debit);
	t.credit_account_id = id_of(credit);
	t.amount = amount;
	t.ledger = LEDGER_IDR;
	t.code = LEDGER_CODE_PAYMENT;
	t.flags = flags;
	return t;
}

/* A post or void of `pending` that names nothing else: accounts, ledger and code are inherited. */
static struct ledger_transfer resolve(uint64_t id, uint64_t pending, int64_t amount, uint16_t flags)
{
	struct ledger_transfer t;
	memset(&t, 0, sizeof(t));
	t.id = id_of(id);
	t.pending_id = id_of(pending);
	t.amount = amount;
	t.flags = flags;
	return t;
}

static uint32_t submit(struct fixture *f, struct ledger_transfer *t)
{
	uint32_t result;
	create_transfers(f, t, 1, &result);
	return result;
}

static uint32_t submit_value(struct fixture *f, struct ledger_transfer t)
{
	return submit(f, &t);
}

static uint32_t create_account(struct fixture *f, struct ledger_account a)
{
	uint32_t result;
	create_accounts(f, &a, 1, &result);
	return result;
}

static void check_result(uint32_t got, uint32_t want, const char *what, const char *file, int line)
{
	if (got != want) {
		print_error("%s:%d: %s: result %s, expected %s\n", file, line, what, ledger_result_name(got),
			    ledger_result_name(want));
		_fail(file, line);
	}
}

#define assert_result(got, want) check_result((got), (want), #got, __FILE__, __LINE__)
#define expect_transfer(f, t, want) check_result(submit_value((f), (t)), (want), #t, __FILE__, __LINE__)

static void check_results(const uint32_t *got, const uint32_t *want, size_t n, const char *file, int line)
{
	char what[32];
	for (size_t i = 0; i < n; i++) {
		snprintf(what, sizeof(what), "event %zu", i);
		check_result(got[i], want[i], what, file, line);
	}
}

#define assert_results(got, ...)                                                         \
	do {                                                                             \
		const uint32_t want_[] = { __VA_ARGS__ };                                \
		check_results((got), want_, sizeof(want_) / sizeof(want_[0]), __FILE__, __LINE__); \
	} while (0)

static void add_account(struct fixture *f, uint64_t id, uint32_t ledger, uint16_t flags)
{
	assert_result(create_account(f, account(id, ledger, flags)), LEDGER_R_OK);
}

/* --- reading --- */

static int read_account(struct fixture *f, uint64_t id, struct ledger_account *out)
{
	struct ledger_id lid = id_of(id);
	MDB_txn *txn;
	int rc = store_read_begin(f->s, &txn);
	if (rc != 0)
		return rc;
	memset(out, 0, sizeof(*out));
	rc = ledger_account_get(f->l, txn, &lid, out);
	store_read_end(f->s, txn);
	return rc;
}

static struct ledger_account get_account(struct fixture *f, uint64_t id)
{
	struct ledger_account a;
	assert_int_equal(read_account(f, id, &a), 0);
	return a;
}

static int read_transfer(struct fixture *f, uint64_t id, struct ledger_entry *out)
{
	struct ledger_id lid = id_of(id);
	MDB_txn *txn;
	int rc = store_read_begin(f->s, &txn);
	if (rc != 0)
		return rc;
	memset(out, 0, sizeof(*out));
	rc = ledger_transfer_get(f->l, txn, &lid, out);
	store_read_end(f->s, txn);
	return rc;
}

static struct ledger_entry get_transfer(struct fixture *f, uint64_t id)
{
	struct ledger_entry e;
	assert_int_equal(read_transfer(f, id, &e), 0);
	return e;
}

static struct ledger_entry get_entry(struct fixture *f, uint64_t seq)
{
	struct ledger_entry e;
	MDB_txn *txn;
	int rc;
	assert_int_equal(store_read_begin(f->s, &txn), 0);
	memset(&e, 0, sizeof(e));
	rc = ledger_entry_get(f->l, txn, seq, &e);
	store_read_end(f->s, txn);
	assert_int_equal(rc, 0);
	return e;
}

static uint64_t head(struct fixture *f, uint8_t hash[LEDGER_HASH_LEN])
{
	uint8_t scratch[LEDGER_HASH_LEN];
	uint64_t seq = UINT64_MAX;
	MDB_txn *txn;
	int rc;
	assert_int_equal(store_read_begin(f->s, &txn), 0);
	rc = ledger_head(f->l, txn, &seq, hash ? hash : scratch);
	store_read_end(f->s, txn);
	assert_int_equal(rc, 0);
	return seq;
}

static void check_balances(struct fixture *f, uint64_t id, int64_t dp, int64_t dpo, int64_t cp, int64_t cpo,
			   const char *file, int line)
{
	struct ledger_account a;
	int rc = read_account(f, id, &a);
	if (rc != 0) {
		print_error("%s:%d: account %llu: status %d\n", file, line, (unsigned long long)id, rc);
		_fail(file, line);
	}
	if (a.debits_pending != dp || a.debits_posted != dpo || a.credits_pending != cp ||
	    a.credits_posted != cpo) {
		print_error("%s:%d: account %llu: balances dp %lld dpo %lld cp %lld cpo %lld, "
			    "expected %lld %lld %lld %lld\n",
			    file, line, (unsigned long long)id, (long long)a.debits_pending,
			    (long long)a.debits_posted, (long long)a.credits_pending, (long long)a.credits_posted,
			    (long long)dp, (long long)dpo, (long long)cp, (long long)cpo);
		_fail(file, line);
	}
}

/* Debits pending, debits posted, credits pending, credits posted. */
#define assert_balances(f, id, dp, dpo, cp, cpo) check_balances((f), (id), (dp), (dpo), (cp), (cpo), __FILE__, __LINE__)

static void assert_no_transfer(struct fixture *f, uint64_t id)
{
	struct ledger_entry e;
	assert_int_equal(read_transfer(f, id, &e), STORE_ENOTFOUND);
}

/* The last entry seen per account while walking the journal. */
struct track {
	struct ledger_id id[TRACK_MAX];
	uint64_t last[TRACK_MAX];
	size_t n;
};

static uint64_t *track_slot(struct track *tr, const struct ledger_id *id)
{
	for (size_t i = 0; i < tr->n; i++)
		if (id_eq(&tr->id[i], id))
			return &tr->last[i];
	assert_true(tr->n < TRACK_MAX);
	tr->id[tr->n] = *id;
	tr->last[tr->n] = 0;
	return &tr->last[tr->n++];
}

/*
 * Walks the whole journal: sequences count up from 1 without a gap,
 * timestamps strictly increase, each entry's hash is SHA-256(previous hash
 * || canonical bytes) from 32 zero bytes, each entry's debit_prev_seq and
 * credit_prev_seq name its accounts' previous entries, every account's
 * last_seq is its newest entry, and the head is the last entry. Returns the
 * head sequence.
 */
static uint64_t verify_chain(struct fixture *f)
{
	struct ledger_entry page[PAGE];
	uint8_t hash[LEDGER_HASH_LEN] = { 0 };
	uint8_t next[LEDGER_HASH_LEN];
	uint8_t head_hash[LEDGER_HASH_LEN];
	uint8_t canonical[LEDGER_CANONICAL_LEN];
	struct track tr = { .n = 0 };
	uint64_t seq = 1;
	uint64_t last_ts = 0;
	size_t n;

	do {
		MDB_txn *txn;
		int rc;
		assert_int_equal(store_read_begin(f->s, &txn), 0);
		rc = ledger_journal(f->l, txn, seq, PAGE, page, &n);
		store_read_end(f->s, txn);
		assert_int_equal(rc, 0);
		assert_true(n <= PAGE);
		for (size_t i = 0; i < n; i++, seq++) {
			const struct ledger_entry *e = &page[i];
			uint64_t *dr = track_slot(&tr, &e->t.debit_account_id);
			uint64_t *cr;
			assert_int_equal(e->t.seq, seq);
			assert_true(e->t.timestamp > last_ts);
			last_ts = e->t.timestamp;
			ledger_entry_encode(e, canonical);
			ledger_chain(hash, canonical, next);
			memcpy(hash, next, sizeof(hash));
			assert_memory_equal(e->hash, hash, LEDGER_HASH_LEN);
			assert_int_equal(e->debit_prev_seq, *dr);
			*dr = seq;
			cr = track_slot(&tr, &e->t.credit_account_id);
			assert_int_equal(e->credit_prev_seq, *cr);
			*cr = seq;
		}
	} while (n == PAGE);
	assert_int_equal(head(f, head_hash), seq - 1);
	assert_memory_equal(head_hash, hash, LEDGER_HASH_LEN);
	for (size_t i = 0; i < tr.n; i++) {
		struct ledger_account a;
		MDB_txn *txn;
		int rc;
		assert_int_equal(store_read_begin(f->s, &txn), 0);
		rc = ledger_account_get(f->l, txn, &tr.id[i], &a);
		store_read_end(f->s, txn);
		assert_int_equal(rc, 0);
		assert_int_equal(a.last_seq, tr.last[i]);
	}
	return seq - 1;
}

/* The fields a caller gives, compared with what the ledger stored. */
static void assert_transfer_fields(const struct ledger_transfer *got, const struct ledger_transfer *want)
{
	assert_memory_equal(got->id.b, want->id.b, 16);
	assert_memory_equal(got->debit_account_id.b, want->debit_account_id.b, 16);
	assert_memory_equal(got->credit_account_id.b, want->credit_account_id.b, 16);
	assert_int_equal(got->amount, want->amount);
	assert_memory_equal(got->pending_id.b, want->pending_id.b, 16);
	assert_memory_equal(got->user_data_128.b, want->user_data_128.b, 16);
	assert_int_equal(got->user_data_64, want->user_data_64);
	assert_int_equal(got->user_data_32, want->user_data_32);
	assert_int_equal(got->timeout, want->timeout);
	assert_int_equal(got->ledger, want->ledger);
	assert_int_equal(got->code, want->code);
	assert_int_equal(got->flags, want->flags);
}

/* --- setup --- */

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct ledger_account a[5];
	uint32_t results[5];
	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/test-ledger-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	*state = f;
	open_ledger(f);
	a[0] = account(ACC_A, LEDGER_IDR, 0);
	a[1] = account(ACC_B, LEDGER_IDR, 0);
	a[2] = account(ACC_C, OTHER_LEDGER, 0);
	a[3] = account(ACC_D, OTHER_LEDGER, 0);
	a[4] = account(ACC_E, LEDGER_IDR, 0);
	create_accounts(f, a, 5, results);
	assert_results(results, LEDGER_R_OK, LEDGER_R_OK, LEDGER_R_OK, LEDGER_R_OK, LEDGER_R_OK);
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	close_ledger(f);
	testsrv_rmtree(f->dir);
	free(f);
	return 0;
}

/* --- accounts --- */

static void test_accounts_create_and_lookup(void **state)
{
	struct fixture *f = *state;
	struct ledger_account a[2];
	struct ledger_account got;
	uint32_t results[2];
	MDB_txn *txn;
	int rc;

	a[0] = account(10, LEDGER_IDR, LEDGER_DEBITS_MUST_NOT_EXCEED_CREDITS);
	strcpy(a[0].name, "merchant:0001:payable");
	a[0].code = 2;
	a[0].user_data_128 = id_of(77);
	a[0].user_data_64 = 78;
	a[0].user_data_32 = 79;
	a[1] = account(11, LEDGER_IDR, LEDGER_CREDITS_MUST_NOT_EXCEED_DEBITS | LEDGER_ACCOUNT_CLOSED);
	create_accounts(f, a, 2, results);
	assert_results(results, LEDGER_R_OK, LEDGER_R_OK);
	assert_true(a[0].timestamp > 0);
	/* Timestamps are unique and increase across the objects of a call. */
	assert_true(a[1].timestamp > a[0].timestamp);

	got = get_account(f, 10);
	assert_memory_equal(got.id.b, a[0].id.b, 16);
	assert_string_equal(got.name, "merchant:0001:payable");
	assert_int_equal(got.ledger, LEDGER_IDR);
	assert_int_equal(got.code, 2);
	assert_int_equal(got.flags, LEDGER_DEBITS_MUST_NOT_EXCEED_CREDITS);
	assert_memory_equal(got.user_data_128.b, id_of(77).b, 16);
	assert_int_equal(got.user_data_64, 78);
	assert_int_equal(got.user_data_32, 79);
	assert_int_equal(got.timestamp, a[0].timestamp);
	assert_int_equal(got.last_seq, 0);
	assert_balances(f, 10, 0, 0, 0, 0);
	assert_int_equal(get_account(f, 11).flags, LEDGER_CREDITS_MUST_NOT_EXCEED_DEBITS | LEDGER_ACCOUNT_CLOSED);

	assert_int_equal(store_read_begin(f->s, &txn), 0);
	memset(&got, 0, sizeof(got));
	rc = ledger_account_by_name(f->l, txn, "merchant:0001:payable", &got);
	store_read_end(f->s, txn);
	assert_int_equal(rc, 0);
	assert_memory_equal(got.id.b, a[0].id.b, 16);
	assert_int_equal(got.code, 2);

	assert_int_equal(store_read_begin(f->s, &txn), 0);
	rc = ledger_account_by_name(f->l, txn, "merchant:0002:payable", &got);
	store_read_end(f->s, txn);
	assert_int_equal(rc, STORE_ENOTFOUND);
	assert_int_equal(read_account(f, MISSING, &got), STORE_ENOTFOUND);
}

static void test_accounts_invalid(void **state)
{
	struct fixture *f = *state;
	struct {
		const char *what;
		struct ledger_account a;
		uint32_t want;
	} cases[32];
	size_t n = 0;
	uint64_t id = 100;
	struct ledger_account a;

#define ACCOUNT_CASE(desc, expr, result)                            \
	do {                                                        \
		a = account(id++, LEDGER_IDR, 0);                   \
		expr;                                               \
		cases[n].what = desc;                               \
		cases[n].a = a;                                     \
		cases[n++].want = result;                           \
	} while (0)

	ACCOUNT_CASE("timestamp", a.timestamp = 1, LEDGER_R_TIMESTAMP_MUST_BE_ZERO);
	ACCOUNT_CASE("timestamp before flags", a.timestamp = UINT64_MAX; a.flags = 1u << 14,
		     LEDGER_R_TIMESTAMP_MUST_BE_ZERO);
	ACCOUNT_CASE("bit 14", a.flags = 1u << 14, LEDGER_R_RESERVED_FLAG);
	ACCOUNT_CASE("bit 3", a.flags = 1u << 3, LEDGER_R_RESERVED_FLAG);
	ACCOUNT_CASE("bit 15", a.flags = 1u << 15, LEDGER_R_RESERVED_FLAG);
	ACCOUNT_CASE("id zero", a.id = id_of(0), LEDGER_R_ID_MUST_NOT_BE_ZERO);
	ACCOUNT_CASE("id max", a.id = id_max(), LEDGER_R_ID_MUST_NOT_BE_INT_MAX);
	ACCOUNT_CASE("both limits",
		     a.flags = LEDGER_DEBITS_MUST_NOT_EXCEED_CREDITS | LEDGER_CREDITS_MUST_NOT_EXCEED_DEBITS,
		     LEDGER_R_FLAGS_ARE_MUTUALLY_EXCLUSIVE);
	ACCOUNT_CASE("debits pending", a.debits_pending = 1, LEDGER_R_DEBITS_PENDING_MUST_BE_ZERO);
	ACCOUNT_CASE("debits posted", a.debits_posted = -1, LEDGER_R_DEBITS_POSTED_MUST_BE_ZERO);
	ACCOUNT_CASE("credits pending", a.credits_pending = INT64_MAX, LEDGER_R_CREDITS_PENDING_MUST_BE_ZERO);
	ACCOUNT_CASE("credits posted", a.credits_posted = 5, LEDGER_R_CREDITS_POSTED_MUST_BE_ZERO);
	ACCOUNT_CASE("balances in order", a.credits_posted = 5; a.debits_posted = 5,
		     LEDGER_R_DEBITS_POSTED_MUST_BE_ZERO);
	ACCOUNT_CASE("balances before the ledger", a.credits_pending = 5; a.ledger = 0,
		     LEDGER_R_CREDITS_PENDING_MUST_BE_ZERO);
	ACCOUNT_CASE("limits before balances",
		     a.flags = LEDGER_DEBITS_MUST_NOT_EXCEED_CREDITS | LEDGER_CREDITS_MUST_NOT_EXCEED_DEBITS;
		     a.debits_pending = 5, LEDGER_R_FLAGS_ARE_MUTUALLY_EXCLUSIVE);
	ACCOUNT_CASE("ledger zero", a.ledger = 0, LEDGER_R_LEDGER_MUST_NOT_BE_ZERO);
	ACCOUNT_CASE("code zero", a.code = 0, LEDGER_R_CODE_MUST_NOT_BE_ZERO);
	ACCOUNT_CASE("empty name", a.name[0] = '\0', LEDGER_R_NAME_MUST_BE_VALID);
	ACCOUNT_CASE("65-byte name", memset(a.name, 'a', sizeof(a.name)), LEDGER_R_NAME_MUST_BE_VALID);
	ACCOUNT_CASE("upper case", strcpy(a.name, "Merchant"), LEDGER_R_NAME_MUST_BE_VALID);
	ACCOUNT_CASE("space", strcpy(a.name, "a b"), LEDGER_R_NAME_MUST_BE_VALID);
	ACCOUNT_CASE("slash", strcpy(a.name, "a/b"), LEDGER_R_NAME_MUST_BE_VALID);
	ACCOUNT_CASE("utf-8", strcpy(a.name, "caf\xc3\xa9"), LEDGER_R_NAME_MUST_BE_VALID);
	ACCOUNT_CASE("control", strcpy(a.name, "a\tb"), LEDGER_R_NAME_MUST_BE_VALID);
	ACCOUNT_CASE("name taken", strcpy(a.name, "acct-1"), LEDGER_R_NAME_ALREADY_USED);
#undef ACCOUNT_CASE

	for (size_t i = 0; i < n; i++) {
		struct ledger_account got;
		check_result(create_account(f, cases[i].a), cases[i].want, cases[i].what, __FILE__, __LINE__);
		/* Nothing of a failed account exists. */
		assert_int_equal(read_account(f, 100 + i, &got), STORE_ENOTFOUND);
	}

	/* Edges that are valid: 64 bytes of every allowed character class, a one-character name. */
	a = account(200, LEDGER_IDR, 0);
	strcpy(a.name, "abcdefghijklmnopqrstuvwxyz0123456789:._-abcdefghijklmnopqrstuvwx");
	assert_int_equal(strlen(a.name), LEDGER_NAME_MAX);
	assert_result(create_account(f, a), LEDGER_R_OK);
	a = account(201, LEDGER_IDR, LEDGER_CREDITS_MUST_NOT_EXCEED_DEBITS | LEDGER_ACCOUNT_CLOSED);
	strcpy(a.name, "z");
	assert_result(create_account(f, a), LEDGER_R_OK);
	assert_string_equal(get_account(f, 200).name,
			    "abcdefghijklmnopqrstuvwxyz0123456789:._-abcdefghijklmnopqrstuvwx");
}

static void test_accounts_exists(void **state)
{
	struct fixture *f = *state;
	struct ledger_account base = account(20, LEDGER_IDR, 0);
	struct ledger_account a;
	uint32_t result;

	base.user_data_128 = id_of(1);
	base.user_data_64 = 2;
	base.user_data_32 = 3;
	base.code = 4;
	a = base;
	create_accounts(f, &a, 1, &result);
	assert_result(result, LEDGER_R_OK);
	expect_transfer(f, transfer(1000, ACC_A, 20, 5, 0), LEDGER_R_OK);

	/* The same account again: exists, with the stored timestamp and balances. */
	a = base;
	create_accounts(f, &a, 1, &result);
	assert_result(result, LEDGER_R_EXISTS);
	assert_int_equal(a.timestamp, get_account(f, 20).timestamp);
	assert_int_equal(a.credits_posted, 5);

	a = base;
	a.flags = LEDGER_CREDITS_MUST_NOT_EXCEED_DEBITS;
	assert_result(create_account(f, a), LEDGER_R_EXISTS_WITH_DIFFERENT_FLAGS);
	a = base;
	a.user_data_128 = id_of(9);
	assert_result(create_account(f, a), LEDGER_R_EXISTS_WITH_DIFFERENT_USER_DATA_128);
	a = base;
	a.user_data_64 = 9;
	assert_result(create_account(f, a), LEDGER_R_EXISTS_WITH_DIFFERENT_USER_DATA_64);
	a = base;
	a.user_data_32 = 9;
	assert_result(create_account(f, a), LEDGER_R_EXISTS_WITH_DIFFERENT_USER_DATA_32);
	a = base;
	a.ledger = OTHER_LEDGER;
	assert_result(create_account(f, a), LEDGER_R_EXISTS_WITH_DIFFERENT_LEDGER);
	a = base;
	a.code = 9;
	assert_result(create_account(f, a), LEDGER_R_EXISTS_WITH_DIFFERENT_CODE);
	a = base;
	strcpy(a.name, "acct-20-renamed");
	assert_result(create_account(f, a), LEDGER_R_EXISTS_WITH_DIFFERENT_NAME);

	/* Several differences: the first in precedence order wins. */
	a = base;
	a.flags = LEDGER_ACCOUNT_CLOSED;
	a.code = 9;
	strcpy(a.name, "other");
	assert_result(create_account(f, a), LEDGER_R_EXISTS_WITH_DIFFERENT_FLAGS);
	a = base;
	a.user_data_128 = id_of(9);
	a.user_data_64 = 9;
	assert_result(create_account(f, a), LEDGER_R_EXISTS_WITH_DIFFERENT_USER_DATA_128);
	a = base;
	a.user_data_64 = 9;
	a.user_data_32 = 9;
	assert_result(create_account(f, a), LEDGER_R_EXISTS_WITH_DIFFERENT_USER_DATA_64);
	a = base;
	a.user_data_32 = 9;
	a.ledger = OTHER_LEDGER;
	assert_result(create_account(f, a), LEDGER_R_EXISTS_WITH_DIFFERENT_USER_DATA_32);
	a = base;
	a.ledger = OTHER_LEDGER;
	a.code = 9;
	assert_result(create_account(f, a), LEDGER_R_EXISTS_WITH_DIFFERENT_LEDGER);
	a = base;
	a.code = 9;
	strcpy(a.name, "other");
	assert_result(create_account(f, a), LEDGER_R_EXISTS_WITH_DIFFERENT_CODE);

	/* Another id with a name in use. */
	a = account(21, LEDGER_IDR, 0);
	strcpy(a.name, "acct-20");
	assert_result(create_account(f, a), LEDGER_R_NAME_ALREADY_USED);
	assert_int_equal(read_account(f, 21, &a), STORE_ENOTFOUND);

	/* Nothing changed the stored account. */
	a = get_account(f, 20);
	assert_int_equal(a.code, 4);
	assert_int_equal(a.flags, 0);
	assert_string_equal(a.name, "acct-20");
	assert_balances(f, 20, 0, 0, 0, 5);
}

/* The last account of a call still linked: as TigerBeetle, it is never run and its chain is undone. */
static void test_accounts_chain_open(void **state)
{
	struct fixture *f = *state;
	struct ledger_account a[4];
	struct ledger_account got;
	uint32_t results[4];

	/* Its own result would be name_already_used if it ran. */
	a[0] = account(50, LEDGER_IDR, LEDGER_ACCOUNT_LINKED);
	a[1] = account(51, LEDGER_IDR, LEDGER_ACCOUNT_LINKED);
	strcpy(a[1].name, "acct-1");
	create_accounts(f, a, 2, results);
	assert_results(results, LEDGER_R_LINKED_EVENT_FAILED, LEDGER_R_LINKED_EVENT_CHAIN_OPEN);
	/* The undone one hands back nothing the ledger filled in. */
	assert_int_equal(a[0].timestamp, 0);

	/* One fails first: it keeps its result, the one after it is not run, the last is open. */
	a[0] = account(52, LEDGER_IDR, LEDGER_ACCOUNT_LINKED);
	a[1] = account(53, LEDGER_IDR, LEDGER_ACCOUNT_LINKED);
	a[1].code = 0;
	a[2] = account(54, LEDGER_IDR, LEDGER_ACCOUNT_LINKED);
	a[3] = account(55, LEDGER_IDR, LEDGER_ACCOUNT_LINKED);
	create_accounts(f, a, 4, results);
	assert_results(results, LEDGER_R_LINKED_EVENT_FAILED, LEDGER_R_CODE_MUST_NOT_BE_ZERO,
		       LEDGER_R_LINKED_EVENT_FAILED, LEDGER_R_LINKED_EVENT_CHAIN_OPEN);

	/* One that exists, undone with an open chain, hands back none of the stored fields. */
	a[0] = account(56, LEDGER_IDR, LEDGER_ACCOUNT_LINKED);
	a[1] = account(57, LEDGER_IDR, 0);
	create_accounts(f, a, 2, results);
	assert_results(results, LEDGER_R_OK, LEDGER_R_OK);
	expect_transfer(f, transfer(100, 56, 57, 3, 0), LEDGER_R_OK);
	a[0] = account(56, LEDGER_IDR, LEDGER_ACCOUNT_LINKED);
	a[1] = account(58, LEDGER_IDR, LEDGER_ACCOUNT_LINKED);
	create_accounts(f, a, 2, results);
	assert_results(results, LEDGER_R_LINKED_EVENT_FAILED, LEDGER_R_LINKED_EVENT_CHAIN_OPEN);
	assert_int_equal(a[0].timestamp, 0);
	assert_int_equal(a[0].debits_posted, 0);
	assert_int_equal(a[0].last_seq, 0);
	/* Alone it is `exists`, with what is stored. */
	a[0] = account(56, LEDGER_IDR, LEDGER_ACCOUNT_LINKED);
	a[1] = account(57, LEDGER_IDR, 0);
	create_accounts(f, a, 2, results);
	assert_results(results, LEDGER_R_EXISTS, LEDGER_R_EXISTS);
	assert_int_equal(a[0].debits_posted, 3);
	assert_int_equal(a[0].last_seq, 1);
	for (uint64_t id = 50; id <= 55; id++)
		assert_int_equal(read_account(f, id, &got), STORE_ENOTFOUND);
	assert_int_equal(read_account(f, 58, &got), STORE_ENOTFOUND);

	/* Sent again unlinked, each is made: nothing of the open chains was kept. */
	assert_result(create_account(f, account(51, LEDGER_IDR, 0)), LEDGER_R_OK);
	assert_result(create_account(f, account(55, LEDGER_IDR, 0)), LEDGER_R_OK);
	assert_result(create_account(f, account(50, LEDGER_IDR, 0)), LEDGER_R_OK);
}

static void test_accounts_linked(void **state)
{
	struct fixture *f = *state;
	struct ledger_account a[5];
	struct ledger_account got;
	uint32_t results[5];
	MDB_txn *txn;
	int rc;

	/* A chain of three whose middle fails, between two independent accounts. */
	a[0] = account(30, LEDGER_IDR, 0);
	a[1] = account(31, LEDGER_IDR, LEDGER_ACCOUNT_LINKED);
	a[2] = account(32, LEDGER_IDR, LEDGER_ACCOUNT_LINKED);
	a[2].code = 0;
	a[3] = account(33, LEDGER_IDR, 0);
	a[4] = account(34, LEDGER_IDR, 0);
	create_accounts(f, a, 5, results);
	assert_results(results, LEDGER_R_OK, LEDGER_R_LINKED_EVENT_FAILED, LEDGER_R_CODE_MUST_NOT_BE_ZERO,
		       LEDGER_R_LINKED_EVENT_FAILED, LEDGER_R_OK);
	assert_int_equal(read_account(f, 30, &got), 0);
	assert_int_equal(read_account(f, 31, &got), STORE_ENOTFOUND);
	assert_int_equal(read_account(f, 32, &got), STORE_ENOTFOUND);
	assert_int_equal(read_account(f, 33, &got), STORE_ENOTFOUND);
	assert_int_equal(read_account(f, 34, &got), 0);
	/* The rolled-back member's name is free again. */
	assert_int_equal(store_read_begin(f->s, &txn), 0);
	rc = ledger_account_by_name(f->l, txn, "acct-31", &got);
	store_read_end(f->s, txn);
	assert_int_equal(rc, STORE_ENOTFOUND);
	a[0] = account(35, LEDGER_IDR, 0);
	strcpy(a[0].name, "acct-31");
	assert_result(create_account(f, a[0]), LEDGER_R_OK);

	/* The last event of a call is linked: the chain is open and fails whole. */
	a[0] = account(36, LEDGER_IDR, LEDGER_ACCOUNT_LINKED);
	a[1] = account(37, LEDGER_IDR, LEDGER_ACCOUNT_LINKED);
	create_accounts(f, a, 2, results);
	assert_results(results, LEDGER_R_LINKED_EVENT_FAILED, LEDGER_R_LINKED_EVENT_CHAIN_OPEN);
	assert_int_equal(read_account(f, 36, &got), STORE_ENOTFOUND);
	assert_int_equal(read_account(f, 37, &got), STORE_ENOTFOUND);

	/* Members see the ones before them: a name taken earlier in the chain. */
	a[0] = account(38, LEDGER_IDR, LEDGER_ACCOUNT_LINKED);
	a[1] = account(39, LEDGER_IDR, 0);
	strcpy(a[1].name, "acct-38");
	create_accounts(f, a, 2, results);
	assert_results(results, LEDGER_R_LINKED_EVENT_FAILED, LEDGER_R_NAME_ALREADY_USED);
	assert_int_equal(read_account(f, 38, &got), STORE_ENOTFOUND);

	/* A whole chain succeeds; the linked flag is kept as given. */
	a[0] = account(40, LEDGER_IDR, LEDGER_ACCOUNT_LINKED);
	a[1] = account(41, LEDGER_IDR, LEDGER_ACCOUNT_LINKED);
	a[2] = account(42, LEDGER_IDR, 0);
	create_accounts(f, a, 3, results);
	assert_results(results, LEDGER_R_OK, LEDGER_R_OK, LEDGER_R_OK);
	assert_int_equal(get_account(f, 41).flags, LEDGER_ACCOUNT_LINKED);
	assert_int_equal(read_account(f, 42, &got), 0);
}

/* --- transfers: validation --- */

struct transfer_case {
	const char *what;
	struct ledger_transfer t;
	uint32_t want;
};

/*
 * Every transfer result that one event can get before touching balances,
 * each from a valid event with one defect. Plain transfer 100 (A->B 10) and
 * pending transfer 101 (A->B 100) exist.
 */
static size_t invalid_transfers(struct transfer_case *c)
{
	size_t n = 0;
	uint64_t id = 200;
	struct ledger_transfer t;

#define PLAIN(desc, expr, result)                                   \
	do {                                                        \
		t = transfer(id++, ACC_A, ACC_B, 10, 0);            \
		expr;                                               \
		c[n++] = (struct transfer_case){ desc, t, result }; \
	} while (0)
#define POST(desc, expr, result)                                            \
	do {                                                                \
		t = resolve(id++, 101, LEDGER_AMOUNT_MAX, LEDGER_POST_PENDING); \
		expr;                                                       \
		c[n++] = (struct transfer_case){ desc, t, result };         \
	} while (0)

	PLAIN("timestamp", t.timestamp = 1, LEDGER_R_TIMESTAMP_MUST_BE_ZERO);
	PLAIN("timestamp before flags", t.timestamp = UINT64_MAX; t.flags = 1u << 14, LEDGER_R_TIMESTAMP_MUST_BE_ZERO);
	POST("timestamp on a post", t.timestamp = 1, LEDGER_R_TIMESTAMP_MUST_BE_ZERO);
	PLAIN("bit 14", t.flags = 1u << 14, LEDGER_R_RESERVED_FLAG);
	PLAIN("bit 4", t.flags = 1u << 4, LEDGER_R_RESERVED_FLAG);
	PLAIN("expiry flag", t.flags = LEDGER_EXPIRY, LEDGER_R_RESERVED_FLAG);
	POST("expiry flag on a void", t.flags = LEDGER_VOID_PENDING | LEDGER_EXPIRY; t.amount = 0,
	     LEDGER_R_RESERVED_FLAG);
	PLAIN("id zero", t.id = id_of(0), LEDGER_R_ID_MUST_NOT_BE_ZERO);
	PLAIN("id max", t.id = id_max(), LEDGER_R_ID_MUST_NOT_BE_INT_MAX);
	POST("pending + post", t.flags |= LEDGER_PENDING, LEDGER_R_FLAGS_ARE_MUTUALLY_EXCLUSIVE);
	POST("post + void", t.flags |= LEDGER_VOID_PENDING, LEDGER_R_FLAGS_ARE_MUTUALLY_EXCLUSIVE);
	POST("pending + void", t.flags = LEDGER_PENDING | LEDGER_VOID_PENDING; t.amount = 0,
	     LEDGER_R_FLAGS_ARE_MUTUALLY_EXCLUSIVE);
	PLAIN("debit zero", t.debit_account_id = id_of(0), LEDGER_R_DEBIT_ACCOUNT_ID_MUST_NOT_BE_ZERO);
	PLAIN("debit max", t.debit_account_id = id_max(), LEDGER_R_DEBIT_ACCOUNT_ID_MUST_NOT_BE_INT_MAX);
	PLAIN("credit zero", t.credit_account_id = id_of(0), LEDGER_R_CREDIT_ACCOUNT_ID_MUST_NOT_BE_ZERO);
	PLAIN("credit max", t.credit_account_id = id_max(), LEDGER_R_CREDIT_ACCOUNT_ID_MUST_NOT_BE_INT_MAX);
	PLAIN("same accounts", t.credit_account_id = id_of(ACC_A), LEDGER_R_ACCOUNTS_MUST_BE_DIFFERENT);
	PLAIN("pending id on a plain transfer", t.pending_id = id_of(101), LEDGER_R_PENDING_ID_MUST_BE_ZERO);
	PLAIN("pending id on a pending transfer", t.pending_id = id_of(101); t.flags = LEDGER_PENDING,
	      LEDGER_R_PENDING_ID_MUST_BE_ZERO);
	PLAIN("timeout on a plain transfer", t.timeout = 5, LEDGER_R_TIMEOUT_RESERVED_FOR_PENDING_TRANSFER);
	PLAIN("amount zero", t.amount = 0, LEDGER_R_AMOUNT_MUST_NOT_BE_ZERO);
	PLAIN("amount zero, pending", t.amount = 0; t.flags = LEDGER_PENDING, LEDGER_R_AMOUNT_MUST_NOT_BE_ZERO);
	PLAIN("amount -1", t.amount = -1, LEDGER_R_AMOUNT_MUST_NOT_BE_NEGATIVE);
	PLAIN("amount INT64_MIN", t.amount = INT64_MIN, LEDGER_R_AMOUNT_MUST_NOT_BE_NEGATIVE);
	PLAIN("ledger zero", t.ledger = 0, LEDGER_R_LEDGER_MUST_NOT_BE_ZERO);
	PLAIN("code zero", t.code = 0, LEDGER_R_CODE_MUST_NOT_BE_ZERO);
	PLAIN("no debit account", t.debit_account_id = id_of(MISSING), LEDGER_R_DEBIT_ACCOUNT_NOT_FOUND);
	PLAIN("no credit account", t.credit_account_id = id_of(MISSING), LEDGER_R_CREDIT_ACCOUNT_NOT_FOUND);
	PLAIN("accounts on 360 and 840", t.credit_account_id = id_of(ACC_C),
	      LEDGER_R_ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER);
	PLAIN("transfer on 840, accounts on 360", t.ledger = OTHER_LEDGER,
	      LEDGER_R_TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS);
	POST("post, pending id zero", t.pending_id = id_of(0), LEDGER_R_PENDING_ID_MUST_NOT_BE_ZERO);
	POST("void, pending id zero", t.pending_id = id_of(0); t.flags = LEDGER_VOID_PENDING; t.amount = 0,
	     LEDGER_R_PENDING_ID_MUST_NOT_BE_ZERO);
	POST("pending id max", t.pending_id = id_max(), LEDGER_R_PENDING_ID_MUST_NOT_BE_INT_MAX);
	POST("pending id is its own id", t.pending_id = t.id, LEDGER_R_PENDING_ID_MUST_BE_DIFFERENT);
	POST("timeout on a post", t.timeout = 5, LEDGER_R_TIMEOUT_RESERVED_FOR_PENDING_TRANSFER);
	POST("timeout on a void", t.timeout = 5; t.flags = LEDGER_VOID_PENDING; t.amount = 0,
	     LEDGER_R_TIMEOUT_RESERVED_FOR_PENDING_TRANSFER);
	POST("post amount -1", t.amount = -1, LEDGER_R_AMOUNT_MUST_NOT_BE_NEGATIVE);
	POST("no such pending", t.pending_id = id_of(MISSING), LEDGER_R_PENDING_TRANSFER_NOT_FOUND);
	POST("post of a plain transfer", t.pending_id = id_of(100), LEDGER_R_PENDING_TRANSFER_NOT_PENDING);
	POST("void of a plain transfer", t.pending_id = id_of(100); t.flags = LEDGER_VOID_PENDING; t.amount = 0,
	     LEDGER_R_PENDING_TRANSFER_NOT_PENDING);
	POST("other debit account", t.debit_account_id = id_of(ACC_B),
	     LEDGER_R_PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID);
	POST("other credit account", t.credit_account_id = id_of(ACC_E),
	     LEDGER_R_PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT_ID);
	POST("other ledger", t.ledger = OTHER_LEDGER, LEDGER_R_PENDING_TRANSFER_HAS_DIFFERENT_LEDGER);
	POST("other code", t.code = LEDGER_CODE_REFUND, LEDGER_R_PENDING_TRANSFER_HAS_DIFFERENT_CODE);
	POST("post more than pending", t.amount = 101, LEDGER_R_EXCEEDS_PENDING_TRANSFER_AMOUNT);
	POST("void of part", t.flags = LEDGER_VOID_PENDING; t.amount = 50,
	     LEDGER_R_PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT);
	/* "All of it" is a post's word; a void names 0 or the pending amount. */
	POST("void of LEDGER_AMOUNT_MAX", t.flags = LEDGER_VOID_PENDING,
	     LEDGER_R_PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT);
	POST("void of more than pending", t.flags = LEDGER_VOID_PENDING; t.amount = 101,
	     LEDGER_R_PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT);
#undef PLAIN
#undef POST
	return n;
}

static void test_transfers_invalid(void **state)
{
	struct fixture *f = *state;
	struct transfer_case cases[64];
	size_t n = invalid_transfers(cases);
	bool failed = false;

	assert_true(n <= sizeof(cases) / sizeof(cases[0]));
	expect_transfer(f, transfer(100, ACC_A, ACC_B, 10, 0), LEDGER_R_OK);
	expect_transfer(f, transfer(101, ACC_A, ACC_B, 100, LEDGER_PENDING), LEDGER_R_OK);
	for (size_t i = 0; i < n; i++) {
		uint32_t got = submit_value(f, cases[i].t);
		if (got != cases[i].want) {
			print_error("%s: result %s, expected %s\n", cases[i].what, ledger_result_name(got),
				    ledger_result_name(cases[i].want));
			failed = true;
		}
		/* Nothing of a failed transfer exists under the id its case was built with. */
		{
			struct ledger_entry e;
			if (read_transfer(f, 200 + i, &e) != STORE_ENOTFOUND) {
				print_error("%s: the transfer was stored\n", cases[i].what);
				failed = true;
			}
		}
	}
	assert_false(failed);
	assert_int_equal(head(f, NULL), 2);
	assert_balances(f, ACC_A, 100, 10, 0, 0);
	assert_balances(f, ACC_B, 0, 0, 100, 10);
	assert_balances(f, ACC_E, 0, 0, 0, 0);

	/* The pending transfer is still open: a post that names its own values works. */
	{
		struct ledger_transfer t = resolve(300, 101, 100, LEDGER_POST_PENDING);
		t.debit_account_id = id_of(ACC_A);
		t.credit_account_id = id_of(ACC_B);
		t.ledger = LEDGER_IDR;
		t.code = LEDGER_CODE_PAYMENT;
		expect_transfer(f, t, LEDGER_R_OK);
	}
	assert_balances(f, ACC_A, 0, 110, 0, 0);
	assert_int_equal(verify_chain(f), 3);
}

/* --- transfers: balances --- */

static void test_transfer_posts(void **state)
{
	struct fixture *f = *state;
	struct ledger_transfer t = transfer(100, ACC_A, ACC_B, 250, 0);
	struct ledger_entry e;

	t.user_data_128 = id_of(0x1234);
	t.user_data_64 = 55;
	t.user_data_32 = 66;
	t.code = LEDGER_CODE_SHIPPING;
	assert_result(submit(f, &t), LEDGER_R_OK);
	assert_int_equal(t.seq, 1);
	assert_true(t.timestamp > 0);
	assert_balances(f, ACC_A, 0, 250, 0, 0);
	assert_balances(f, ACC_B, 0, 0, 0, 250);
	e = get_transfer(f, 100);
	assert_transfer_fields(&e.t, &t);
	assert_int_equal(e.t.seq, 1);
	assert_int_equal(e.t.timestamp, t.timestamp);
	assert_int_equal(e.debit_prev_seq, 0);
	assert_int_equal(e.credit_prev_seq, 0);
	assert_int_equal(get_account(f, ACC_A).last_seq, 1);
	assert_int_equal(get_account(f, ACC_B).last_seq, 1);
	assert_int_equal(get_account(f, ACC_E).last_seq, 0);
	/* Money goes both ways between the same accounts. */
	expect_transfer(f, transfer(101, ACC_B, ACC_A, 50, 0), LEDGER_R_OK);
	assert_balances(f, ACC_A, 0, 250, 0, 50);
	assert_balances(f, ACC_B, 0, 50, 0, 250);
	assert_no_transfer(f, 102);
	assert_int_equal(verify_chain(f), 2);
}

static void test_limits(void **state)
{
	struct fixture *f = *state;
	enum { L = 30, M = 31 };

	add_account(f, L, LEDGER_IDR, LEDGER_DEBITS_MUST_NOT_EXCEED_CREDITS);
	add_account(f, M, LEDGER_IDR, LEDGER_CREDITS_MUST_NOT_EXCEED_DEBITS);

	/* L may spend only what it was credited (posted). */
	expect_transfer(f, transfer(100, L, ACC_B, 1, 0), LEDGER_R_EXCEEDS_CREDITS);
	expect_transfer(f, transfer(101, L, ACC_B, 1, LEDGER_PENDING), LEDGER_R_EXCEEDS_CREDITS);
	expect_transfer(f, transfer(102, ACC_A, L, 100, 0), LEDGER_R_OK);
	expect_transfer(f, transfer(103, L, ACC_B, 60, 0), LEDGER_R_OK);
	expect_transfer(f, transfer(104, L, ACC_B, 40, LEDGER_PENDING), LEDGER_R_OK);
	/* Pending debits count: 60 posted + 40 pending = 100 credits, nothing more. */
	expect_transfer(f, transfer(105, L, ACC_B, 1, 0), LEDGER_R_EXCEEDS_CREDITS);
	expect_transfer(f, transfer(106, L, ACC_B, 1, LEDGER_PENDING), LEDGER_R_EXCEEDS_CREDITS);
	/* Pending credits do not count as money to spend. */
	expect_transfer(f, transfer(107, ACC_A, L, 30, LEDGER_PENDING), LEDGER_R_OK);
	expect_transfer(f, transfer(108, L, ACC_B, 1, 0), LEDGER_R_EXCEEDS_CREDITS);
	assert_balances(f, L, 40, 60, 30, 100);
	/* Voiding the reservation frees it again. */
	expect_transfer(f, resolve(109, 104, 0, LEDGER_VOID_PENDING), LEDGER_R_OK);
	expect_transfer(f, transfer(110, L, ACC_B, 40, 0), LEDGER_R_OK);
	assert_balances(f, L, 0, 100, 30, 100);

	/* M may be credited only up to what it was debited. */
	expect_transfer(f, transfer(120, ACC_A, M, 1, 0), LEDGER_R_EXCEEDS_DEBITS);
	expect_transfer(f, transfer(121, M, ACC_A, 50, 0), LEDGER_R_OK);
	expect_transfer(f, transfer(122, ACC_A, M, 20, LEDGER_PENDING), LEDGER_R_OK);
	expect_transfer(f, transfer(123, ACC_A, M, 30, 0), LEDGER_R_OK);
	expect_transfer(f, transfer(124, ACC_A, M, 1, 0), LEDGER_R_EXCEEDS_DEBITS);
	expect_transfer(f, transfer(125, ACC_A, M, 1, LEDGER_PENDING), LEDGER_R_EXCEEDS_DEBITS);
	assert_balances(f, M, 0, 50, 20, 30);

	/* Both limits at once: the debit account's is checked first. */
	expect_transfer(f, transfer(130, L, M, 1, 0), LEDGER_R_EXCEEDS_CREDITS);
	/* A post needs no room: its pending transfer already counted. */
	expect_transfer(f, resolve(131, 122, LEDGER_AMOUNT_MAX, LEDGER_POST_PENDING), LEDGER_R_OK);
	assert_balances(f, M, 0, 50, 0, 50);
	assert_int_equal(verify_chain(f), 10);
}

static void test_overflows(void **state)
{
	struct fixture *f = *state;

	for (uint64_t id = 40; id <= 49; id++)
		add_account(f, id, LEDGER_IDR, 0);

	/* Posted: the largest amount fits once, then nothing more. */
	expect_transfer(f, transfer(100, 40, 41, INT64_MAX, 0), LEDGER_R_OK);
	expect_transfer(f, transfer(101, 40, 42, 1, 0), LEDGER_R_OVERFLOWS_DEBITS_POSTED);
	expect_transfer(f, transfer(102, 43, 41, 1, 0), LEDGER_R_OVERFLOWS_CREDITS_POSTED);
	/* A pending transfer checks the posted side too: it may be posted later. */
	expect_transfer(f, transfer(103, 40, 42, 1, LEDGER_PENDING), LEDGER_R_OVERFLOWS_DEBITS_POSTED);
	expect_transfer(f, transfer(104, 43, 41, 1, LEDGER_PENDING), LEDGER_R_OVERFLOWS_CREDITS_POSTED);
	assert_balances(f, 40, 0, INT64_MAX, 0, 0);
	assert_balances(f, 41, 0, 0, 0, INT64_MAX);

	/* Pending. */
	expect_transfer(f, transfer(110, 44, 45, INT64_MAX, LEDGER_PENDING), LEDGER_R_OK);
	expect_transfer(f, transfer(111, 44, 42, 1, LEDGER_PENDING), LEDGER_R_OVERFLOWS_DEBITS_PENDING);
	expect_transfer(f, transfer(112, 43, 45, 1, LEDGER_PENDING), LEDGER_R_OVERFLOWS_CREDITS_PENDING);
	assert_balances(f, 44, INT64_MAX, 0, 0, 0);
	assert_balances(f, 45, 0, 0, INT64_MAX, 0);

	/* Pending plus posted: each alone fits, the sum does not. */
	expect_transfer(f, transfer(120, 46, 47, INT64_MAX - 10, LEDGER_PENDING), LEDGER_R_OK);
	expect_transfer(f, transfer(121, 46, 42, 11, 0), LEDGER_R_OVERFLOWS_DEBITS);
	expect_transfer(f, transfer(122, 46, 42, 10, 0), LEDGER_R_OK);
	expect_transfer(f, transfer(123, 43, 48, INT64_MAX - 10, LEDGER_PENDING), LEDGER_R_OK);
	expect_transfer(f, transfer(124, 49, 48, 11, 0), LEDGER_R_OVERFLOWS_CREDITS);
	expect_transfer(f, transfer(125, 49, 48, 10, 0), LEDGER_R_OK);
	assert_balances(f, 46, INT64_MAX - 10, 10, 0, 0);
	assert_balances(f, 48, 0, 0, INT64_MAX - 10, 10);
	/* A full account still posts its own reservation. */
	expect_transfer(f, resolve(126, 120, LEDGER_AMOUNT_MAX, LEDGER_POST_PENDING), LEDGER_R_OK);
	assert_balances(f, 46, 0, INT64_MAX, 0, 0);
	assert_int_equal(verify_chain(f), 7);
}

static void test_timeout_largest(void **state)
{
	struct fixture *f = *state;
	struct ledger_transfer t = transfer(100, ACC_A, ACC_B, 7, LEDGER_PENDING);
	uint64_t deadline;

	/*
	 * The largest timeout (about 136 years) added to a nanosecond clock of
	 * today does not overflow 64 bits: no overflows_timeout, and the
	 * deadline is the timestamp plus the timeout, to the nanosecond.
	 */
	t.timeout = UINT32_MAX;
	assert_result(submit(f, &t), LEDGER_R_OK);
	deadline = t.timestamp + (uint64_t)UINT32_MAX * NS_PER_S;
	assert_true(deadline > t.timestamp);
	assert_int_equal(get_transfer(f, 100).t.timeout, UINT32_MAX);
	assert_int_equal(expire(f, deadline - 1, 10), 0);
	assert_balances(f, ACC_A, 7, 0, 0, 0);
	assert_int_equal(expire(f, deadline, 10), 1);
	assert_balances(f, ACC_A, 0, 0, 0, 0);
	assert_balances(f, ACC_B, 0, 0, 0, 0);
}

/* Sets the ledger's clock (the last timestamp given out) in a store job. */
struct clock_job {
	struct ledger *l;
	uint64_t clock;
};

static int clock_apply(MDB_txn *txn, void *arg)
{
	struct clock_job *j = arg;
	struct ledger_meta m;
	int rc = ledger_meta_read(j->l, txn, &m);
	if (rc != 0)
		return rc;
	m.clock = j->clock;
	return ledger_meta_write(j->l, txn, &m);
}

static void test_overflows_timeout(void **state)
{
	struct fixture *f = *state;
	/* The last timestamp the largest timeout fits after: its deadline is 2^64 - 1 ns. */
	const uint64_t last = UINT64_MAX - (uint64_t)UINT32_MAX * NS_PER_S;
	struct clock_job j = { f->l, last - 1 };
	struct ledger_transfer t = transfer(100, ACC_A, ACC_B, 7, LEDGER_PENDING);

	assert_int_equal(store_run(f->s, clock_apply, &j), 0);
	t.timeout = UINT32_MAX;
	assert_result(submit(f, &t), LEDGER_R_OK);
	assert_int_equal(t.timestamp, last);
	/* One nanosecond later it does not fit. */
	t = transfer(101, ACC_A, ACC_B, 7, LEDGER_PENDING);
	t.timeout = UINT32_MAX;
	assert_result(submit(f, &t), LEDGER_R_OVERFLOWS_TIMEOUT);
	assert_no_transfer(f, 101);
	/* A shorter one still does, and the id that overflowed is not spent. */
	t.timeout = UINT32_MAX - 1;
	assert_result(submit(f, &t), LEDGER_R_OK);
	assert_balances(f, ACC_A, 14, 0, 0, 0);
	/* The deadlines: 2^64 - 1 exactly for the first, a second less (and a few ns) for the other. */
	assert_int_equal(expire(f, UINT64_MAX - 1, 10), 1);
	assert_int_equal(get_transfer(f, 100).t.timeout, UINT32_MAX);
	assert_balances(f, ACC_A, 7, 0, 0, 0);
	assert_int_equal(expire(f, UINT64_MAX, 10), 1);
	assert_balances(f, ACC_A, 0, 0, 0, 0);
	assert_int_equal(verify_chain(f), 4);
}

static void test_closed_accounts(void **state)
{
	struct fixture *f = *state;
	enum { Z = 50, Y = 51 };

	add_account(f, Z, LEDGER_IDR, LEDGER_ACCOUNT_CLOSED);
	add_account(f, Y, LEDGER_IDR, LEDGER_ACCOUNT_CLOSED);
	expect_transfer(f, transfer(100, Z, ACC_A, 1, 0), LEDGER_R_DEBIT_ACCOUNT_ALREADY_CLOSED);
	expect_transfer(f, transfer(101, ACC_A, Z, 1, 0), LEDGER_R_CREDIT_ACCOUNT_ALREADY_CLOSED);
	expect_transfer(f, transfer(102, ACC_A, Z, 1, LEDGER_PENDING), LEDGER_R_CREDIT_ACCOUNT_ALREADY_CLOSED);
	expect_transfer(f, transfer(103, Z, ACC_A, 1, LEDGER_PENDING), LEDGER_R_DEBIT_ACCOUNT_ALREADY_CLOSED);
	expect_transfer(f, transfer(104, Z, Y, 1, 0), LEDGER_R_DEBIT_ACCOUNT_ALREADY_CLOSED);
	assert_balances(f, Z, 0, 0, 0, 0);
	assert_balances(f, ACC_A, 0, 0, 0, 0);
	assert_int_equal(head(f, NULL), 0);
}

/* --- transfers: an id that failed for a reason that may pass later is spent --- */

static void test_id_already_failed(void **state)
{
	struct fixture *f = *state;
	struct ledger_transfer t[3];
	uint32_t results[3];
	enum { L = 30, NEW = 31, Z = 33, M = 34 };
	unsigned transient = 0;

	for (uint32_t r = 0; r < LEDGER_R_COUNT; r++)
		transient += ledger_result_is_transient(r);
	assert_int_equal(transient, 7);

	/* Refused for the balance: once the money is there, the same id still fails, whatever its fields. */
	add_account(f, L, LEDGER_IDR, LEDGER_DEBITS_MUST_NOT_EXCEED_CREDITS);
	expect_transfer(f, transfer(100, L, ACC_B, 5, 0), LEDGER_R_EXCEEDS_CREDITS);
	expect_transfer(f, transfer(101, ACC_A, L, 10, 0), LEDGER_R_OK);
	expect_transfer(f, transfer(100, L, ACC_B, 5, 0), LEDGER_R_ID_ALREADY_FAILED);
	expect_transfer(f, transfer(100, ACC_A, ACC_B, 1, LEDGER_PENDING), LEDGER_R_ID_ALREADY_FAILED);
	expect_transfer(f, resolve(100, 101, 0, LEDGER_VOID_PENDING), LEDGER_R_ID_ALREADY_FAILED);
	expect_transfer(f, transfer(102, L, ACC_B, 5, 0), LEDGER_R_OK);
	/* The event's own checks still come first. */
	expect_transfer(f, transfer(100, L, ACC_B, 0, 0), LEDGER_R_AMOUNT_MUST_NOT_BE_ZERO);

	/* An account that is not there yet, either side. */
	expect_transfer(f, transfer(110, ACC_A, NEW, 1, 0), LEDGER_R_CREDIT_ACCOUNT_NOT_FOUND);
	expect_transfer(f, transfer(111, NEW, ACC_A, 1, 0), LEDGER_R_DEBIT_ACCOUNT_NOT_FOUND);
	add_account(f, NEW, LEDGER_IDR, 0);
	expect_transfer(f, transfer(110, ACC_A, NEW, 1, 0), LEDGER_R_ID_ALREADY_FAILED);
	expect_transfer(f, transfer(111, NEW, ACC_A, 1, 0), LEDGER_R_ID_ALREADY_FAILED);

	/* A pending transfer that is not there yet. */
	expect_transfer(f, resolve(120, 121, 0, LEDGER_VOID_PENDING), LEDGER_R_PENDING_TRANSFER_NOT_FOUND);
	expect_transfer(f, transfer(121, ACC_A, ACC_B, 3, LEDGER_PENDING), LEDGER_R_OK);
	expect_transfer(f, resolve(120, 121, 0, LEDGER_VOID_PENDING), LEDGER_R_ID_ALREADY_FAILED);
	expect_transfer(f, resolve(122, 121, 0, LEDGER_VOID_PENDING), LEDGER_R_OK);

	/* A closed account, either side. */
	add_account(f, Z, LEDGER_IDR, LEDGER_ACCOUNT_CLOSED);
	expect_transfer(f, transfer(125, Z, ACC_A, 1, 0), LEDGER_R_DEBIT_ACCOUNT_ALREADY_CLOSED);
	expect_transfer(f, transfer(125, ACC_E, ACC_A, 1, 0), LEDGER_R_ID_ALREADY_FAILED);
	expect_transfer(f, transfer(126, ACC_A, Z, 1, 0), LEDGER_R_CREDIT_ACCOUNT_ALREADY_CLOSED);
	expect_transfer(f, transfer(126, ACC_A, ACC_E, 1, 0), LEDGER_R_ID_ALREADY_FAILED);

	/* The other limit. */
	add_account(f, M, LEDGER_IDR, LEDGER_CREDITS_MUST_NOT_EXCEED_DEBITS);
	expect_transfer(f, transfer(127, ACC_A, M, 1, 0), LEDGER_R_EXCEEDS_DEBITS);
	expect_transfer(f, transfer(128, M, ACC_A, 1, 0), LEDGER_R_OK);
	expect_transfer(f, transfer(127, ACC_A, M, 1, 0), LEDGER_R_ID_ALREADY_FAILED);

	/* A failure the event itself causes leaves the id free. */
	expect_transfer(f, transfer(130, ACC_A, ACC_B, 0, 0), LEDGER_R_AMOUNT_MUST_NOT_BE_ZERO);
	expect_transfer(f, transfer(130, ACC_A, ACC_B, 4, 0), LEDGER_R_OK);

	/* In one call: a later event with the id fails too, though the money came between. */
	t[0] = transfer(140, L, ACC_B, 1000, 0);
	t[1] = transfer(141, ACC_A, L, 1000, 0);
	t[2] = transfer(140, L, ACC_B, 1000, 0);
	create_transfers(f, t, 3, results);
	assert_results(results, LEDGER_R_EXCEEDS_CREDITS, LEDGER_R_OK, LEDGER_R_ID_ALREADY_FAILED);

	/* In a chain only the event that failed is spent; the one undone with it may come again. */
	t[0] = transfer(150, ACC_A, ACC_B, 1, LEDGER_LINKED);
	t[1] = transfer(151, L, ACC_B, 1000000, 0);
	create_transfers(f, t, 2, results);
	assert_results(results, LEDGER_R_LINKED_EVENT_FAILED, LEDGER_R_EXCEEDS_CREDITS);
	expect_transfer(f, transfer(150, ACC_A, ACC_B, 1, 0), LEDGER_R_OK);
	expect_transfer(f, transfer(151, L, ACC_B, 1, 0), LEDGER_R_ID_ALREADY_FAILED);

	/* A replay of a transfer that exists, naming a missing account, leaves it replayable. */
	expect_transfer(f, transfer(102, L, MISSING, 5, 0), LEDGER_R_CREDIT_ACCOUNT_NOT_FOUND);
	expect_transfer(f, transfer(102, L, ACC_B, 5, 0), LEDGER_R_EXISTS);

	/* A job that rolls back records nothing. */
	t[0] = transfer(160, L, ACC_B, 1000000, 0);
	assert_int_equal(run_create(f, false, t, 1, results, JOB_ABORT), JOB_ABORT);
	assert_result(results[0], LEDGER_R_EXCEEDS_CREDITS);
	expect_transfer(f, transfer(160, L, ACC_B, 1, 0), LEDGER_R_OK);

	/* It is stored: a reopened ledger remembers. */
	close_ledger(f);
	open_ledger(f);
	expect_transfer(f, transfer(100, L, ACC_B, 5, 0), LEDGER_R_ID_ALREADY_FAILED);
	expect_transfer(f, transfer(140, L, ACC_B, 1, 0), LEDGER_R_ID_ALREADY_FAILED);
	assert_no_transfer(f, 100);
	assert_no_transfer(f, 110);
	assert_no_transfer(f, 120);
	assert_no_transfer(f, 140);
	assert_balances(f, L, 0, 6, 0, 1010);
	assert_int_equal(verify_chain(f), 9);
}

/* --- two-phase transfers --- */

static void test_post_full(void **state)
{
	struct fixture *f = *state;
	struct ledger_transfer p = transfer(100, ACC_A, ACC_B, 100, LEDGER_PENDING);
	struct ledger_transfer q = resolve(101, 100, LEDGER_AMOUNT_MAX, LEDGER_POST_PENDING);
	struct ledger_entry e;

	p.timeout = 3600;
	assert_result(submit(f, &p), LEDGER_R_OK);
	assert_balances(f, ACC_A, 100, 0, 0, 0);
	assert_balances(f, ACC_B, 0, 0, 100, 0);
	q.user_data_64 = 9;
	assert_result(submit(f, &q), LEDGER_R_OK);
	assert_balances(f, ACC_A, 0, 100, 0, 0);
	assert_balances(f, ACC_B, 0, 0, 0, 100);
	/* Stored with the effective accounts, ledger, code and amount. */
	e = get_transfer(f, 101);
	assert_memory_equal(e.t.debit_account_id.b, id_of(ACC_A).b, 16);
	assert_memory_equal(e.t.credit_account_id.b, id_of(ACC_B).b, 16);
	assert_int_equal(e.t.amount, 100);
	assert_int_equal(e.t.ledger, LEDGER_IDR);
	assert_int_equal(e.t.code, LEDGER_CODE_PAYMENT);
	assert_int_equal(e.t.flags, LEDGER_POST_PENDING);
	assert_memory_equal(e.t.pending_id.b, id_of(100).b, 16);
	assert_int_equal(e.t.user_data_64, 9);
	assert_int_equal(e.t.seq, 2);
	assert_int_equal(e.debit_prev_seq, 1);
	assert_int_equal(e.credit_prev_seq, 1);
	/* At most once. */
	expect_transfer(f, resolve(102, 100, LEDGER_AMOUNT_MAX, LEDGER_POST_PENDING),
			LEDGER_R_PENDING_TRANSFER_ALREADY_POSTED);
	expect_transfer(f, resolve(103, 100, 0, LEDGER_VOID_PENDING), LEDGER_R_PENDING_TRANSFER_ALREADY_POSTED);
	assert_balances(f, ACC_A, 0, 100, 0, 0);
	/* A posted pending transfer does not expire. */
	assert_int_equal(expire(f, now_ns() + 7200 * NS_PER_S, 10), 0);
	assert_int_equal(verify_chain(f), 2);
}

static void test_post_partial(void **state)
{
	struct fixture *f = *state;

	expect_transfer(f, transfer(100, ACC_A, ACC_B, 100, LEDGER_PENDING), LEDGER_R_OK);
	expect_transfer(f, transfer(101, ACC_A, ACC_B, 5, 0), LEDGER_R_OK);
	expect_transfer(f, resolve(102, 100, 30, LEDGER_POST_PENDING), LEDGER_R_OK);
	/* Both pending sides drop by the whole 100; only 30 is posted. */
	assert_balances(f, ACC_A, 0, 35, 0, 0);
	assert_balances(f, ACC_B, 0, 0, 0, 35);
	assert_int_equal(get_transfer(f, 102).t.amount, 30);
	expect_transfer(f, resolve(103, 100, 70, LEDGER_POST_PENDING), LEDGER_R_PENDING_TRANSFER_ALREADY_POSTED);
	/* The exact pending amount is a full post too. */
	expect_transfer(f, transfer(104, ACC_A, ACC_B, 8, LEDGER_PENDING), LEDGER_R_OK);
	expect_transfer(f, resolve(105, 104, 8, LEDGER_POST_PENDING), LEDGER_R_OK);
	assert_balances(f, ACC_A, 0, 43, 0, 0);
	assert_int_equal(verify_chain(f), 5);
}

static void test_void(void **state)
{
	struct fixture *f = *state;
	struct ledger_entry e;

	expect_transfer(f, transfer(100, ACC_A, ACC_B, 100, LEDGER_PENDING), LEDGER_R_OK);
	expect_transfer(f, resolve(101, 100, 0, LEDGER_VOID_PENDING), LEDGER_R_OK);
	assert_balances(f, ACC_A, 0, 0, 0, 0);
	assert_balances(f, ACC_B, 0, 0, 0, 0);
	e = get_transfer(f, 101);
	assert_int_equal(e.t.flags, LEDGER_VOID_PENDING);
	assert_int_equal(e.t.amount, 100);
	assert_memory_equal(e.t.debit_account_id.b, id_of(ACC_A).b, 16);
	assert_memory_equal(e.t.credit_account_id.b, id_of(ACC_B).b, 16);
	expect_transfer(f, resolve(102, 100, 0, LEDGER_VOID_PENDING), LEDGER_R_PENDING_TRANSFER_ALREADY_VOIDED);
	expect_transfer(f, resolve(103, 100, LEDGER_AMOUNT_MAX, LEDGER_POST_PENDING),
			LEDGER_R_PENDING_TRANSFER_ALREADY_VOIDED);
	/* A void may name the pending amount. */
	expect_transfer(f, transfer(104, ACC_A, ACC_B, 40, LEDGER_PENDING), LEDGER_R_OK);
	expect_transfer(f, resolve(105, 104, 40, LEDGER_VOID_PENDING), LEDGER_R_OK);
	assert_balances(f, ACC_A, 0, 0, 0, 0);
	assert_int_equal(verify_chain(f), 4);
}

static void test_pending_and_post_in_one_call(void **state)
{
	struct fixture *f = *state;
	struct ledger_transfer t[4];
	uint32_t results[4];

	t[0] = transfer(100, ACC_A, ACC_B, 100, LEDGER_PENDING);
	t[1] = resolve(101, 100, 60, LEDGER_POST_PENDING);
	t[2] = transfer(102, ACC_B, ACC_E, 10, LEDGER_PENDING);
	t[3] = resolve(103, 102, 0, LEDGER_VOID_PENDING);
	create_transfers(f, t, 4, results);
	assert_results(results, LEDGER_R_OK, LEDGER_R_OK, LEDGER_R_OK, LEDGER_R_OK);
	assert_int_equal(t[1].seq, 2);
	assert_int_equal(t[3].seq, 4);
	assert_balances(f, ACC_A, 0, 60, 0, 0);
	assert_balances(f, ACC_B, 0, 0, 0, 60);
	assert_balances(f, ACC_E, 0, 0, 0, 0);
	assert_int_equal(verify_chain(f), 4);
}

static void test_expiry_by_time(void **state)
{
	struct fixture *f = *state;
	struct ledger_transfer p = transfer(100, ACC_A, ACC_B, 100, LEDGER_PENDING);
	struct timespec pause = { 1, 200 * 1000 * 1000 };
	struct ledger_entry e;
	uint8_t hash[LEDGER_HASH_LEN];

	p.timeout = 1;
	assert_result(submit(f, &p), LEDGER_R_OK);
	/* Asserts on results only: the pause just has to outlast the timeout. */
	nanosleep(&pause, NULL);
	/* The deadline passed: a post is refused even before the sweep ran. */
	expect_transfer(f, resolve(101, 100, LEDGER_AMOUNT_MAX, LEDGER_POST_PENDING),
			LEDGER_R_PENDING_TRANSFER_EXPIRED);
	expect_transfer(f, resolve(102, 100, 0, LEDGER_VOID_PENDING), LEDGER_R_PENDING_TRANSFER_EXPIRED);
	assert_int_equal(head(f, NULL), 1);

	assert_int_equal(expire(f, now_ns(), 10), 1);
	assert_int_equal(head(f, hash), 2);
	e = get_entry(f, 2);
	assert_int_equal(e.t.flags & LEDGER_EXPIRY, LEDGER_EXPIRY);
	assert_int_equal(e.t.flags & LEDGER_VOID_PENDING, LEDGER_VOID_PENDING);
	assert_memory_equal(e.t.pending_id.b, id_of(100).b, 16);
	assert_memory_equal(e.t.debit_account_id.b, id_of(ACC_A).b, 16);
	assert_memory_equal(e.t.credit_account_id.b, id_of(ACC_B).b, 16);
	assert_int_equal(e.t.amount, 100);
	assert_balances(f, ACC_A, 0, 0, 0, 0);
	assert_balances(f, ACC_B, 0, 0, 0, 0);
	/* Expired is final, and the sweep does not record it twice. */
	expect_transfer(f, resolve(103, 100, LEDGER_AMOUNT_MAX, LEDGER_POST_PENDING),
			LEDGER_R_PENDING_TRANSFER_EXPIRED);
	expect_transfer(f, resolve(104, 100, 0, LEDGER_VOID_PENDING), LEDGER_R_PENDING_TRANSFER_EXPIRED);
	assert_int_equal(expire(f, now_ns(), 10), 0);
	assert_int_equal(verify_chain(f), 2);
}

static void test_expiry_far_future(void **state)
{
	struct fixture *f = *state;
	struct ledger_transfer t[4];
	uint32_t results[4];
	uint64_t later;

	t[0] = transfer(100, ACC_A, ACC_B, 10, LEDGER_PENDING);
	t[0].timeout = 20;
	t[1] = transfer(101, ACC_A, ACC_E, 20, LEDGER_PENDING);
	t[1].timeout = 10;
	t[2] = transfer(102, ACC_A, ACC_B, 40, LEDGER_PENDING);
	t[3] = transfer(103, ACC_B, ACC_E, 80, LEDGER_PENDING);
	t[3].timeout = 3600;
	create_transfers(f, t, 4, results);
	assert_results(results, LEDGER_R_OK, LEDGER_R_OK, LEDGER_R_OK, LEDGER_R_OK);
	assert_balances(f, ACC_A, 70, 0, 0, 0);

	/* Nothing is due before its deadline. */
	assert_int_equal(expire(f, t[0].timestamp, 10), 0);
	later = now_ns() + 100 * NS_PER_S;
	/* At most `max` per call, earliest deadline first. */
	assert_int_equal(expire(f, later, 1), 1);
	assert_memory_equal(get_entry(f, 5).t.pending_id.b, id_of(101).b, 16);
	assert_balances(f, ACC_A, 50, 0, 0, 0);
	assert_balances(f, ACC_E, 0, 0, 80, 0);
	assert_int_equal(expire(f, later, 10), 1);
	assert_memory_equal(get_entry(f, 6).t.pending_id.b, id_of(100).b, 16);
	assert_int_equal(expire(f, later, 10), 0);
	assert_balances(f, ACC_A, 40, 0, 0, 0);
	assert_balances(f, ACC_B, 80, 0, 40, 0);
	/* Far in the future: the hour-long one too; the one without a timeout never. */
	assert_int_equal(expire(f, later + 7200 * NS_PER_S, 10), 1);
	assert_balances(f, ACC_B, 0, 0, 40, 0);
	assert_balances(f, ACC_E, 0, 0, 0, 0);
	assert_int_equal(get_entry(f, 7).t.flags & LEDGER_EXPIRY, LEDGER_EXPIRY);
	expect_transfer(f, resolve(104, 100, 0, LEDGER_VOID_PENDING), LEDGER_R_PENDING_TRANSFER_EXPIRED);
	expect_transfer(f, resolve(105, 102, LEDGER_AMOUNT_MAX, LEDGER_POST_PENDING), LEDGER_R_OK);
	assert_balances(f, ACC_A, 0, 40, 0, 0);
	assert_int_equal(verify_chain(f), 8);
}

/* --- duplicates --- */

static void test_transfers_exists(void **state)
{
	struct fixture *f = *state;
	struct ledger_transfer base = transfer(300, ACC_A, ACC_B, 10, 0);
	struct ledger_transfer t;
	struct ledger_transfer post;
	struct ledger_transfer pt = transfer(310, ACC_A, ACC_B, 5, LEDGER_PENDING);
	uint8_t hash_before[LEDGER_HASH_LEN];
	uint8_t hash_after[LEDGER_HASH_LEN];
	uint64_t seq;

	base.user_data_128 = id_of(7);
	base.user_data_64 = 8;
	base.user_data_32 = 9;
	t = base;
	assert_result(submit(f, &t), LEDGER_R_OK);
	seq = t.seq;
	expect_transfer(f, transfer(301, ACC_A, ACC_B, 100, LEDGER_PENDING), LEDGER_R_OK);
	expect_transfer(f, transfer(302, ACC_A, ACC_B, 100, LEDGER_PENDING), LEDGER_R_OK);
	post = resolve(303, 301, 10, LEDGER_POST_PENDING);
	t = post;
	assert_result(submit(f, &t), LEDGER_R_OK);
	pt.timeout = 100;
	t = pt;
	assert_result(submit(f, &t), LEDGER_R_OK);
	head(f, hash_before);

	/* The same event: exists, with the stored timestamp and sequence. */
	t = base;
	assert_result(submit(f, &t), LEDGER_R_EXISTS);
	assert_int_equal(t.seq, seq);
	assert_int_equal(t.timestamp, get_transfer(f, 300).t.timestamp);
	t = post;
	assert_result(submit(f, &t), LEDGER_R_EXISTS);
	t = pt;
	assert_result(submit(f, &t), LEDGER_R_EXISTS);

	/* One difference each. */
	t = base;
	t.flags = LEDGER_PENDING;
	expect_transfer(f, t, LEDGER_R_EXISTS_WITH_DIFFERENT_FLAGS);
	t = post;
	t.pending_id = id_of(302);
	expect_transfer(f, t, LEDGER_R_EXISTS_WITH_DIFFERENT_PENDING_ID);
	t = pt;
	t.timeout = 200;
	expect_transfer(f, t, LEDGER_R_EXISTS_WITH_DIFFERENT_TIMEOUT);
	t = base;
	t.debit_account_id = id_of(ACC_E);
	expect_transfer(f, t, LEDGER_R_EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID);
	t = base;
	t.credit_account_id = id_of(ACC_E);
	expect_transfer(f, t, LEDGER_R_EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID);
	t = base;
	t.amount = 11;
	expect_transfer(f, t, LEDGER_R_EXISTS_WITH_DIFFERENT_AMOUNT);
	t = base;
	t.user_data_128 = id_of(70);
	expect_transfer(f, t, LEDGER_R_EXISTS_WITH_DIFFERENT_USER_DATA_128);
	t = base;
	t.user_data_64 = 80;
	expect_transfer(f, t, LEDGER_R_EXISTS_WITH_DIFFERENT_USER_DATA_64);
	t = base;
	t.user_data_32 = 90;
	expect_transfer(f, t, LEDGER_R_EXISTS_WITH_DIFFERENT_USER_DATA_32);
	t = base;
	t.code = LEDGER_CODE_REFUND;
	expect_transfer(f, t, LEDGER_R_EXISTS_WITH_DIFFERENT_CODE);
	/* A post's retry compares what it would post: all of 100 is not the 10 posted. */
	t = post;
	t.amount = LEDGER_AMOUNT_MAX;
	expect_transfer(f, t, LEDGER_R_EXISTS_WITH_DIFFERENT_AMOUNT);
	t = post;
	t.flags = LEDGER_VOID_PENDING;
	t.amount = 0;
	expect_transfer(f, t, LEDGER_R_EXISTS_WITH_DIFFERENT_FLAGS);
	/* Inherited fields named explicitly are the same post. */
	t = post;
	t.debit_account_id = id_of(ACC_A);
	t.credit_account_id = id_of(ACC_B);
	t.ledger = LEDGER_IDR;
	t.code = LEDGER_CODE_PAYMENT;
	expect_transfer(f, t, LEDGER_R_EXISTS);

	/* Several differences: the first in precedence order wins. */
	t = base;
	t.flags = LEDGER_PENDING;
	t.amount = 11;
	t.code = LEDGER_CODE_REFUND;
	expect_transfer(f, t, LEDGER_R_EXISTS_WITH_DIFFERENT_FLAGS);
	t = post;
	t.pending_id = id_of(302);
	t.amount = 5;
	t.user_data_64 = 1;
	expect_transfer(f, t, LEDGER_R_EXISTS_WITH_DIFFERENT_PENDING_ID);
	t = pt;
	t.timeout = 200;
	t.debit_account_id = id_of(ACC_E);
	t.amount = 6;
	expect_transfer(f, t, LEDGER_R_EXISTS_WITH_DIFFERENT_TIMEOUT);
	t = base;
	t.debit_account_id = id_of(ACC_E);
	t.credit_account_id = id_of(ACC_A);
	expect_transfer(f, t, LEDGER_R_EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID);
	t = base;
	t.credit_account_id = id_of(ACC_E);
	t.amount = 11;
	expect_transfer(f, t, LEDGER_R_EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID);
	t = base;
	t.amount = 11;
	t.user_data_128 = id_of(70);
	expect_transfer(f, t, LEDGER_R_EXISTS_WITH_DIFFERENT_AMOUNT);
	t = base;
	t.user_data_128 = id_of(70);
	t.user_data_64 = 80;
	expect_transfer(f, t, LEDGER_R_EXISTS_WITH_DIFFERENT_USER_DATA_128);
	t = base;
	t.user_data_64 = 80;
	t.user_data_32 = 90;
	expect_transfer(f, t, LEDGER_R_EXISTS_WITH_DIFFERENT_USER_DATA_64);
	t = base;
	t.user_data_32 = 90;
	t.code = LEDGER_CODE_REFUND;
	expect_transfer(f, t, LEDGER_R_EXISTS_WITH_DIFFERENT_USER_DATA_32);

	/* None of it touched the ledger. */
	assert_int_equal(head(f, hash_after), 5);
	assert_memory_equal(hash_before, hash_after, LEDGER_HASH_LEN);
	assert_balances(f, ACC_A, 105, 20, 0, 0);
	assert_balances(f, ACC_B, 0, 0, 105, 20);
}

static void test_replay_batch(void **state)
{
	struct fixture *f = *state;
	struct ledger_transfer batch[6];
	struct ledger_transfer t[6];
	uint32_t results[6];
	uint8_t hash_before[LEDGER_HASH_LEN];
	uint8_t hash_after[LEDGER_HASH_LEN];
	struct ledger_account a_before;
	struct ledger_account b_before;

	batch[0] = transfer(100, ACC_A, ACC_B, 10, 0);
	batch[1] = transfer(101, ACC_A, ACC_B, 50, LEDGER_PENDING);
	batch[2] = resolve(102, 101, 20, LEDGER_POST_PENDING);
	batch[3] = transfer(103, ACC_B, ACC_E, 7, LEDGER_PENDING);
	batch[3].timeout = 600;
	batch[4] = resolve(104, 103, 0, LEDGER_VOID_PENDING);
	batch[5] = transfer(105, ACC_E, ACC_A, 3, 0);
	batch[5].user_data_128 = id_of(42);
	memcpy(t, batch, sizeof(t));
	create_transfers(f, t, 6, results);
	assert_results(results, LEDGER_R_OK, LEDGER_R_OK, LEDGER_R_OK, LEDGER_R_OK, LEDGER_R_OK, LEDGER_R_OK);
	assert_int_equal(head(f, hash_before), 6);
	a_before = get_account(f, ACC_A);
	b_before = get_account(f, ACC_B);

	/* The whole call again: every event exists, with its first timestamp and sequence. */
	{
		struct ledger_transfer again[6];
		memcpy(again, batch, sizeof(again));
		create_transfers(f, again, 6, results);
		assert_results(results, LEDGER_R_EXISTS, LEDGER_R_EXISTS, LEDGER_R_EXISTS, LEDGER_R_EXISTS,
			       LEDGER_R_EXISTS, LEDGER_R_EXISTS);
		for (size_t i = 0; i < 6; i++) {
			assert_int_equal(again[i].seq, t[i].seq);
			assert_int_equal(again[i].timestamp, t[i].timestamp);
		}
	}
	/* Again with one field of one event changed. */
	{
		struct ledger_transfer again[6];
		memcpy(again, batch, sizeof(again));
		again[2].user_data_32 = 1;
		create_transfers(f, again, 6, results);
		assert_results(results, LEDGER_R_EXISTS, LEDGER_R_EXISTS, LEDGER_R_EXISTS_WITH_DIFFERENT_USER_DATA_32,
			       LEDGER_R_EXISTS, LEDGER_R_EXISTS, LEDGER_R_EXISTS);
		memcpy(again, batch, sizeof(again));
		again[5].amount = 4;
		create_transfers(f, again, 6, results);
		assert_results(results, LEDGER_R_EXISTS, LEDGER_R_EXISTS, LEDGER_R_EXISTS, LEDGER_R_EXISTS,
			       LEDGER_R_EXISTS, LEDGER_R_EXISTS_WITH_DIFFERENT_AMOUNT);
	}
	assert_int_equal(head(f, hash_after), 6);
	assert_memory_equal(hash_before, hash_after, LEDGER_HASH_LEN);
	assert_balances(f, ACC_A, a_before.debits_pending, a_before.debits_posted, a_before.credits_pending,
			a_before.credits_posted);
	assert_balances(f, ACC_B, b_before.debits_pending, b_before.debits_posted, b_before.credits_pending,
			b_before.credits_posted);

	/* The same id twice in one call. */
	{
		struct ledger_transfer dup[3];
		dup[0] = transfer(200, ACC_A, ACC_B, 5, 0);
		dup[1] = dup[0];
		dup[2] = dup[0];
		dup[2].amount = 6;
		create_transfers(f, dup, 3, results);
		assert_results(results, LEDGER_R_OK, LEDGER_R_EXISTS, LEDGER_R_EXISTS_WITH_DIFFERENT_AMOUNT);
		assert_int_equal(dup[1].seq, dup[0].seq);
	}
	assert_balances(f, ACC_A, 0, a_before.debits_posted + 5, 0, a_before.credits_posted);
	assert_int_equal(verify_chain(f), 7);
}

/* --- linked chains --- */

static void test_linked_transfers(void **state)
{
	struct fixture *f = *state;
	struct ledger_transfer t[5];
	uint32_t results[5];
	enum { L = 30 };

	/* A chain of three whose middle fails, between two independent events. */
	t[0] = transfer(100, ACC_A, ACC_B, 1, 0);
	t[1] = transfer(101, ACC_A, ACC_B, 2, LEDGER_LINKED);
	t[2] = transfer(102, ACC_A, ACC_B, 0, LEDGER_LINKED);
	t[3] = transfer(103, ACC_A, ACC_B, 3, 0);
	t[4] = transfer(104, ACC_A, ACC_B, 4, 0);
	create_transfers(f, t, 5, results);
	assert_results(results, LEDGER_R_OK, LEDGER_R_LINKED_EVENT_FAILED, LEDGER_R_AMOUNT_MUST_NOT_BE_ZERO,
		       LEDGER_R_LINKED_EVENT_FAILED, LEDGER_R_OK);
	assert_balances(f, ACC_A, 0, 5, 0, 0);
	assert_no_transfer(f, 101);
	assert_no_transfer(f, 103);
	/* No gap in the sequence where the chain was. */
	assert_int_equal(t[0].seq, 1);
	assert_int_equal(t[4].seq, 2);
	assert_int_equal(head(f, NULL), 2);

	/* The last event of a call is linked: open chain, nothing of it kept. */
	t[0] = transfer(110, ACC_A, ACC_B, 1, 0);
	t[1] = transfer(111, ACC_A, ACC_B, 1, LEDGER_LINKED);
	t[2] = transfer(112, ACC_A, ACC_B, 1, LEDGER_LINKED);
	create_transfers(f, t, 3, results);
	assert_results(results, LEDGER_R_OK, LEDGER_R_LINKED_EVENT_FAILED, LEDGER_R_LINKED_EVENT_CHAIN_OPEN);
	t[0] = transfer(113, ACC_A, ACC_B, 1, LEDGER_LINKED);
	create_transfers(f, t, 1, results);
	assert_results(results, LEDGER_R_LINKED_EVENT_CHAIN_OPEN);
	assert_balances(f, ACC_A, 0, 6, 0, 0);
	assert_no_transfer(f, 111);
	assert_no_transfer(f, 113);

	/* Each alone fits the limit, together they do not: the chain fails whole. */
	add_account(f, L, LEDGER_IDR, LEDGER_DEBITS_MUST_NOT_EXCEED_CREDITS);
	expect_transfer(f, transfer(120, ACC_A, L, 100, 0), LEDGER_R_OK);
	t[0] = transfer(121, L, ACC_B, 60, LEDGER_LINKED);
	t[1] = transfer(122, L, ACC_B, 60, 0);
	create_transfers(f, t, 2, results);
	assert_results(results, LEDGER_R_LINKED_EVENT_FAILED, LEDGER_R_EXCEEDS_CREDITS);
	assert_balances(f, L, 0, 0, 0, 100);
	expect_transfer(f, transfer(123, L, ACC_B, 60, 0), LEDGER_R_OK);

	/* A pending and its post rolled back together; their ids stay free. */
	t[0] = transfer(130, ACC_A, ACC_E, 10, LEDGER_PENDING | LEDGER_LINKED);
	t[1] = resolve(131, 130, LEDGER_AMOUNT_MAX, LEDGER_POST_PENDING | LEDGER_LINKED);
	t[2] = transfer(132, ACC_A, ACC_E, 1, LEDGER_PENDING);
	t[2].timeout = 1;
	t[2].ledger = 0;
	create_transfers(f, t, 3, results);
	assert_results(results, LEDGER_R_LINKED_EVENT_FAILED, LEDGER_R_LINKED_EVENT_FAILED,
		       LEDGER_R_LEDGER_MUST_NOT_BE_ZERO);
	assert_balances(f, ACC_E, 0, 0, 0, 0);
	assert_no_transfer(f, 130);
	t[0].flags = LEDGER_PENDING;
	t[1].flags = LEDGER_POST_PENDING;
	create_transfers(f, t, 2, results);
	assert_results(results, LEDGER_R_OK, LEDGER_R_OK);
	assert_balances(f, ACC_E, 0, 0, 0, 10);

	/* A void rolled back leaves its pending transfer open. */
	expect_transfer(f, transfer(140, ACC_A, ACC_E, 9, LEDGER_PENDING), LEDGER_R_OK);
	t[0] = resolve(141, 140, 0, LEDGER_VOID_PENDING | LEDGER_LINKED);
	t[1] = transfer(142, ACC_A, ACC_E, 1, 0);
	t[1].code = 0;
	create_transfers(f, t, 2, results);
	assert_results(results, LEDGER_R_LINKED_EVENT_FAILED, LEDGER_R_CODE_MUST_NOT_BE_ZERO);
	assert_balances(f, ACC_E, 0, 0, 9, 10);
	expect_transfer(f, resolve(143, 140, LEDGER_AMOUNT_MAX, LEDGER_POST_PENDING), LEDGER_R_OK);
	assert_balances(f, ACC_E, 0, 0, 0, 19);

	/* A chain that succeeds, followed by one that fails, in one call. */
	t[0] = transfer(150, ACC_A, ACC_B, 1, LEDGER_LINKED);
	t[1] = transfer(151, ACC_B, ACC_E, 1, 0);
	t[2] = transfer(152, ACC_A, ACC_B, 1, LEDGER_LINKED);
	t[3] = transfer(153, ACC_B, ACC_C, 1, 0);
	t[4] = transfer(154, ACC_E, ACC_A, 1, 0);
	create_transfers(f, t, 5, results);
	assert_results(results, LEDGER_R_OK, LEDGER_R_OK, LEDGER_R_LINKED_EVENT_FAILED,
		       LEDGER_R_ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER, LEDGER_R_OK);
	assert_no_transfer(f, 152);
	assert_int_equal(verify_chain(f), 12);
}

/* The last event of a call still linked: as TigerBeetle, it is never run and its chain is undone. */
static void test_chain_open(void **state)
{
	struct fixture *f = *state;
	struct ledger_transfer t[4];
	uint32_t results[4];
	enum { L = 30 };

	add_account(f, L, LEDGER_IDR, LEDGER_DEBITS_MUST_NOT_EXCEED_CREDITS);

	/* The last would exceed L's credits if it ran: it does not, so its id is not spent. */
	t[0] = transfer(100, ACC_A, L, 10, LEDGER_LINKED);
	t[1] = transfer(101, L, ACC_B, 50, LEDGER_LINKED);
	create_transfers(f, t, 2, results);
	assert_results(results, LEDGER_R_LINKED_EVENT_FAILED, LEDGER_R_LINKED_EVENT_CHAIN_OPEN);
	/* The undone one hands back no place in the journal. */
	assert_int_equal(t[0].seq, 0);
	assert_int_equal(t[0].timestamp, 0);

	/* One before it fails: it keeps its own result, and only its own id is spent. */
	t[0] = transfer(102, L, ACC_B, 1000, LEDGER_LINKED);
	t[1] = transfer(101, L, ACC_B, 50, LEDGER_LINKED);
	create_transfers(f, t, 2, results);
	assert_results(results, LEDGER_R_EXCEEDS_CREDITS, LEDGER_R_LINKED_EVENT_CHAIN_OPEN);

	/* A failure of the event's own making, then the open end. */
	t[0] = transfer(103, ACC_A, ACC_B, 0, LEDGER_LINKED);
	t[1] = transfer(104, ACC_A, ACC_B, 5, LEDGER_LINKED);
	create_transfers(f, t, 2, results);
	assert_results(results, LEDGER_R_AMOUNT_MUST_NOT_BE_ZERO, LEDGER_R_LINKED_EVENT_CHAIN_OPEN);

	/* Ok, broken, not run, open. */
	t[0] = transfer(105, ACC_A, ACC_B, 1, LEDGER_LINKED);
	t[1] = transfer(106, ACC_A, ACC_B, 1, LEDGER_LINKED);
	t[1].code = 0;
	t[2] = transfer(107, MISSING, ACC_B, 1, LEDGER_LINKED);
	t[3] = transfer(108, L, ACC_B, 50, LEDGER_LINKED);
	create_transfers(f, t, 4, results);
	assert_results(results, LEDGER_R_LINKED_EVENT_FAILED, LEDGER_R_CODE_MUST_NOT_BE_ZERO,
		       LEDGER_R_LINKED_EVENT_FAILED, LEDGER_R_LINKED_EVENT_CHAIN_OPEN);
	assert_int_equal(head(f, NULL), 0);
	assert_balances(f, ACC_A, 0, 0, 0, 0);
	assert_balances(f, L, 0, 0, 0, 0);

	/* Sent again unlinked once the money is there: the events that never ran pass. */
	expect_transfer(f, transfer(109, ACC_A, L, 100, 0), LEDGER_R_OK);
	expect_transfer(f, transfer(101, L, ACC_B, 50, 0), LEDGER_R_OK);
	expect_transfer(f, transfer(100, ACC_A, L, 10, 0), LEDGER_R_OK);
	expect_transfer(f, transfer(104, ACC_A, ACC_B, 5, 0), LEDGER_R_OK);
	expect_transfer(f, transfer(107, MISSING, ACC_B, 1, 0), LEDGER_R_DEBIT_ACCOUNT_NOT_FOUND);
	expect_transfer(f, transfer(108, L, ACC_B, 50, 0), LEDGER_R_OK);
	expect_transfer(f, transfer(102, L, ACC_B, 1, 0), LEDGER_R_ID_ALREADY_FAILED);
	assert_balances(f, L, 0, 100, 0, 110);
	assert_int_equal(verify_chain(f), 5);
}

/* The fields the ledger sets: timestamp must come in as 0 (TigerBeetle's rule), seq is ignored. */
static void test_fields_the_ledger_sets(void **state)
{
	struct fixture *f = *state;
	struct ledger_transfer t = transfer(100, ACC_A, ACC_B, 5, 0);
	struct ledger_transfer again, c[2];
	struct ledger_account a;
	uint32_t results[2];

	assert_result(submit(f, &t), LEDGER_R_OK);
	assert_int_equal(t.seq, 1);
	assert_int_not_equal(t.timestamp, 0);
	/* Handed back as the ledger filled it in: refused, and left as it was. */
	again = t;
	assert_result(submit(f, &again), LEDGER_R_TIMESTAMP_MUST_BE_ZERO);
	assert_int_equal(again.timestamp, t.timestamp);
	/* With the timestamp cleared it is the same transfer; a seq of the caller's changes nothing. */
	again.timestamp = 0;
	again.seq = 77;
	assert_result(submit(f, &again), LEDGER_R_EXISTS);
	assert_int_equal(again.seq, 1);
	assert_int_equal(again.timestamp, t.timestamp);
	t = transfer(101, ACC_A, ACC_B, 5, 0);
	t.seq = 99;
	assert_result(submit(f, &t), LEDGER_R_OK);
	assert_int_equal(t.seq, 2);

	/* It breaks a chain like any other failure, and spends no id. */
	c[0] = transfer(102, ACC_A, ACC_B, 1, LEDGER_LINKED);
	c[1] = transfer(103, ACC_A, ACC_B, 1, 0);
	c[1].timestamp = 1;
	create_transfers(f, c, 2, results);
	assert_results(results, LEDGER_R_LINKED_EVENT_FAILED, LEDGER_R_TIMESTAMP_MUST_BE_ZERO);
	ledger_transfers_clear(c, 2);
	create_transfers(f, c, 2, results);
	assert_results(results, LEDGER_R_OK, LEDGER_R_OK);
	/* Cleared, a filled-in batch is input again: a replay. */
	ledger_transfers_clear(c, 2);
	create_transfers(f, c, 2, results);
	assert_results(results, LEDGER_R_EXISTS, LEDGER_R_EXISTS);

	/* An account as the ledger gives it back: its timestamp first, then its balances. */
	a = get_account(f, ACC_A);
	assert_int_equal(a.debits_posted, 12);
	assert_result(create_account(f, a), LEDGER_R_TIMESTAMP_MUST_BE_ZERO);
	a.timestamp = 0;
	assert_result(create_account(f, a), LEDGER_R_DEBITS_POSTED_MUST_BE_ZERO);
	ledger_accounts_clear(&a, 1);
	create_accounts(f, &a, 1, results);
	assert_results(results, LEDGER_R_EXISTS);
	assert_int_equal(a.debits_posted, 12);
	a = get_account(f, ACC_B);
	a.timestamp = 0;
	assert_result(create_account(f, a), LEDGER_R_CREDITS_POSTED_MUST_BE_ZERO);
	assert_int_equal(verify_chain(f), 4);
}

/* --- the chain and the read functions --- */

static void test_chain_and_queries(void **state)
{
	struct fixture *f = *state;
	struct ledger_transfer t[6];
	struct ledger_entry out[8];
	uint32_t results[6];
	uint64_t next;
	uint64_t seq;
	size_t n;
	MDB_txn *txn;
	int rc;

	t[0] = transfer(100, ACC_A, ACC_B, 10, 0);
	t[1] = transfer(101, ACC_B, ACC_E, 5, 0);
	t[2] = transfer(102, ACC_A, ACC_E, 7, 0);
	create_transfers(f, t, 3, results);
	assert_results(results, LEDGER_R_OK, LEDGER_R_OK, LEDGER_R_OK);
	t[3] = transfer(103, ACC_A, ACC_B, 20, LEDGER_PENDING);
	t[3].timeout = 3600;
	t[3].user_data_32 = 3;
	assert_result(submit(f, &t[3]), LEDGER_R_OK);
	t[4] = resolve(104, 103, 15, LEDGER_POST_PENDING);
	t[5] = transfer(105, ACC_E, ACC_A, 1, 0);
	create_transfers(f, &t[4], 2, results);
	assert_results(results, LEDGER_R_OK, LEDGER_R_OK);

	/* Sequences one by one, and the chain from the journal equals the head. */
	for (size_t i = 0; i < 6; i++)
		assert_int_equal(t[i].seq, i + 1);
	assert_int_equal(verify_chain(f), 6);

	/* Stored fields; the post with its effective accounts. */
	for (size_t i = 0; i < 4; i++) {
		struct ledger_entry e = get_transfer(f, 100 + i);
		assert_transfer_fields(&e.t, &t[i]);
		assert_int_equal(e.t.seq, t[i].seq);
		assert_int_equal(e.t.timestamp, t[i].timestamp);
		e = get_entry(f, i + 1);
		assert_transfer_fields(&e.t, &t[i]);
	}
	{
		struct ledger_entry e = get_transfer(f, 104);
		assert_memory_equal(e.t.debit_account_id.b, id_of(ACC_A).b, 16);
		assert_memory_equal(e.t.credit_account_id.b, id_of(ACC_B).b, 16);
		assert_int_equal(e.t.amount, 15);
		assert_int_equal(e.debit_prev_seq, 4);
		assert_int_equal(e.credit_prev_seq, 4);
		e = get_entry(f, 6);
		assert_int_equal(e.debit_prev_seq, 3);
		assert_int_equal(e.credit_prev_seq, 5);
		e = get_entry(f, 3);
		assert_int_equal(e.debit_prev_seq, 1);
		assert_int_equal(e.credit_prev_seq, 2);
	}
	assert_no_transfer(f, MISSING);

	/* A's statement, newest first, two at a time: 6 5 | 4 3 | 1, each page from the last one's cursor. */
	{
		const uint64_t want[] = { 6, 5, 4, 3, 1 };
		struct ledger_id a = id_of(ACC_A);
		size_t got = 0;
		uint64_t cursor = 0;
		unsigned pages = 0;
		do {
			assert_int_equal(store_read_begin(f->s, &txn), 0);
			rc = ledger_statement(f->l, txn, &a, cursor, 2, out, &n, &next);
			store_read_end(f->s, txn);
			assert_int_equal(rc, 0);
			assert_true(n <= 2);
			assert_true(got + n <= 5);
			for (size_t i = 0; i < n; i++)
				assert_int_equal(out[i].t.seq, want[got + i]);
			got += n;
			/* A cursor exactly when older entries remain. */
			assert_int_equal(next != 0, got < 5);
			cursor = next;
			pages++;
		} while (cursor != 0 && pages < 10);
		assert_int_equal(got, 5);
		assert_int_equal(pages, 3);

		assert_int_equal(store_read_begin(f->s, &txn), 0);
		rc = ledger_statement(f->l, txn, &a, 0, 8, out, &n, &next);
		store_read_end(f->s, txn);
		assert_int_equal(rc, 0);
		assert_int_equal(n, 5);
		assert_int_equal(next, 0);
		assert_int_equal(out[4].t.seq, 1);

		/* Starting at one of its entries. */
		assert_int_equal(store_read_begin(f->s, &txn), 0);
		rc = ledger_statement(f->l, txn, &a, 4, 8, out, &n, &next);
		store_read_end(f->s, txn);
		assert_int_equal(rc, 0);
		assert_int_equal(n, 3);
		assert_int_equal(out[0].t.seq, 4);
		assert_int_equal(out[1].t.seq, 3);
		assert_int_equal(out[2].t.seq, 1);
		assert_int_equal(next, 0);

		/* A cursor that is not one of its entries: entry 2 (B to E), and past the head. */
		assert_int_equal(store_read_begin(f->s, &txn), 0);
		rc = ledger_statement(f->l, txn, &a, 2, 8, out, &n, &next);
		if (rc == LEDGER_EINVAL)
			rc = ledger_statement(f->l, txn, &a, 99, 8, out, &n, &next);
		store_read_end(f->s, txn);
		assert_int_equal(rc, LEDGER_EINVAL);
	}
	/* An account without entries. */
	{
		struct ledger_id c = id_of(ACC_C);
		assert_int_equal(store_read_begin(f->s, &txn), 0);
		rc = ledger_statement(f->l, txn, &c, 0, 8, out, &n, &next);
		store_read_end(f->s, txn);
		assert_int_equal(rc, 0);
		assert_int_equal(n, 0);
		assert_int_equal(next, 0);
	}

	/* The journal from the middle, and past the end. */
	assert_int_equal(store_read_begin(f->s, &txn), 0);
	rc = ledger_journal(f->l, txn, 3, 2, out, &n);
	store_read_end(f->s, txn);
	assert_int_equal(rc, 0);
	assert_int_equal(n, 2);
	assert_int_equal(out[0].t.seq, 3);
	assert_int_equal(out[1].t.seq, 4);
	assert_int_equal(store_read_begin(f->s, &txn), 0);
	rc = ledger_journal(f->l, txn, 7, 2, out, &n);
	store_read_end(f->s, txn);
	assert_int_equal(rc, 0);
	assert_int_equal(n, 0);

	/* The first sequence at or after a time. */
	{
		const struct {
			uint64_t ts;
			uint64_t seq;
		} at[] = {
			{ 0, 1 },
			{ t[0].timestamp, 1 },
			{ t[0].timestamp + 1, 2 },
			{ t[2].timestamp, 3 },
			{ t[2].timestamp + 1, 4 },
			{ t[5].timestamp, 6 },
			{ t[5].timestamp + 1, 7 },
			{ UINT64_MAX, 7 },
		};
		for (size_t i = 0; i < sizeof(at) / sizeof(at[0]); i++) {
			seq = 0;
			assert_int_equal(store_read_begin(f->s, &txn), 0);
			rc = ledger_seq_at(f->l, txn, at[i].ts, &seq);
			store_read_end(f->s, txn);
			assert_int_equal(rc, 0);
			assert_int_equal(seq, at[i].seq);
		}
	}
}

static void test_empty_ledger(void **state)
{
	struct fixture *f = *state;
	uint8_t hash[LEDGER_HASH_LEN];
	uint8_t zero[LEDGER_HASH_LEN] = { 0 };
	struct ledger_entry out[2];
	uint64_t seq = 0;
	size_t n = 1;
	MDB_txn *txn;
	int rc;

	memset(hash, 0xaa, sizeof(hash));
	assert_int_equal(head(f, hash), 0);
	assert_memory_equal(hash, zero, LEDGER_HASH_LEN);
	assert_int_equal(store_read_begin(f->s, &txn), 0);
	rc = ledger_journal(f->l, txn, 1, 2, out, &n);
	if (rc == 0)
		rc = ledger_seq_at(f->l, txn, 0, &seq);
	store_read_end(f->s, txn);
	assert_int_equal(rc, 0);
	assert_int_equal(n, 0);
	assert_int_equal(seq, 1);
	assert_int_equal(verify_chain(f), 0);
}

/* --- store jobs --- */

static void test_rollback_with_job(void **state)
{
	struct fixture *f = *state;
	struct ledger_transfer t[3];
	struct ledger_account a = account(60, LEDGER_IDR, 0);
	struct ledger_account got;
	uint32_t results[3];
	uint8_t hash_before[LEDGER_HASH_LEN];
	uint8_t hash_after[LEDGER_HASH_LEN];

	expect_transfer(f, transfer(100, ACC_A, ACC_B, 10, 0), LEDGER_R_OK);
	head(f, hash_before);

	/* The calls succeed, then the job fails: the store drops all of it. */
	assert_int_equal(run_create(f, true, &a, 1, results, JOB_ABORT), JOB_ABORT);
	assert_result(results[0], LEDGER_R_OK);
	t[0] = transfer(101, ACC_A, ACC_B, 5, 0);
	t[1] = transfer(102, ACC_A, ACC_B, 7, LEDGER_PENDING);
	t[2] = resolve(103, 102, 0, LEDGER_VOID_PENDING);
	assert_int_equal(run_create(f, false, t, 3, results, JOB_ABORT), JOB_ABORT);
	assert_results(results, LEDGER_R_OK, LEDGER_R_OK, LEDGER_R_OK);

	assert_int_equal(head(f, hash_after), 1);
	assert_memory_equal(hash_before, hash_after, LEDGER_HASH_LEN);
	assert_balances(f, ACC_A, 0, 10, 0, 0);
	assert_balances(f, ACC_B, 0, 0, 0, 10);
	assert_int_equal(get_account(f, ACC_A).last_seq, 1);
	assert_int_equal(read_account(f, 60, &got), STORE_ENOTFOUND);
	assert_no_transfer(f, 101);
	assert_no_transfer(f, 102);

	/* The next job carries on from the committed state, without a gap. */
	t[0] = transfer(104, ACC_A, ACC_B, 1, 0);
	t[1] = transfer(101, ACC_A, ACC_B, 2, 0);
	create_transfers(f, t, 2, results);
	assert_results(results, LEDGER_R_OK, LEDGER_R_OK);
	assert_int_equal(t[0].seq, 2);
	assert_int_equal(t[1].seq, 3);
	/* The account as the undone call filled it in is no input: a retry starts from a fresh copy. */
	assert_int_not_equal(a.timestamp, 0);
	assert_result(create_account(f, a), LEDGER_R_TIMESTAMP_MUST_BE_ZERO);
	ledger_accounts_clear(&a, 1);
	assert_result(create_account(f, a), LEDGER_R_OK);
	assert_balances(f, ACC_A, 0, 13, 0, 0);
	assert_int_equal(verify_chain(f), 3);
}

static void test_batch_bounds(void **state)
{
	struct fixture *f = *state;
	size_t n = LEDGER_BATCH_MAX + 1;
	struct ledger_transfer *t = calloc(n, sizeof(*t));
	uint32_t *results = calloc(n, sizeof(*results));
	struct ledger_account a = account(70, LEDGER_IDR, 0);
	int rc_zero;
	int rc_over;
	int rc_max;
	int rc_accounts;

	assert_non_null(t);
	assert_non_null(results);
	for (size_t i = 0; i < n; i++)
		t[i] = transfer(1000 + i, ACC_A, ACC_B, 1, 0);
	rc_zero = run_create(f, false, t, 0, results, 0);
	rc_accounts = run_create(f, true, &a, 0, results, 0);
	rc_over = run_create(f, false, t, n, results, 0);
	rc_max = run_create(f, false, t, LEDGER_BATCH_MAX, results, 0);
	free(t);
	assert_int_equal(rc_zero, LEDGER_EINVAL);
	assert_int_equal(rc_accounts, LEDGER_EINVAL);
	assert_int_equal(rc_over, LEDGER_EINVAL);
	assert_int_equal(rc_max, 0);
	for (size_t i = 0; i < LEDGER_BATCH_MAX; i++)
		if (results[i] != LEDGER_R_OK)
			fail_msg("event %zu: %s", i, ledger_result_name(results[i]));
	free(results);
	assert_int_equal(head(f, NULL), LEDGER_BATCH_MAX);
	assert_balances(f, ACC_A, 0, LEDGER_BATCH_MAX, 0, 0);
}

static void test_reopen(void **state)
{
	struct fixture *f = *state;
	struct ledger_transfer t = transfer(100, ACC_A, ACC_B, 10, LEDGER_PENDING);
	uint8_t hash_before[LEDGER_HASH_LEN];
	uint8_t hash_after[LEDGER_HASH_LEN];
	uint64_t ts;

	assert_result(submit(f, &t), LEDGER_R_OK);
	ts = t.timestamp;
	expect_transfer(f, transfer(101, ACC_B, ACC_E, 4, 0), LEDGER_R_OK);
	head(f, hash_before);
	close_ledger(f);
	open_ledger(f);
	assert_int_equal(head(f, hash_after), 2);
	assert_memory_equal(hash_before, hash_after, LEDGER_HASH_LEN);
	assert_balances(f, ACC_A, 10, 0, 0, 0);
	/* Ids, pending state and the clock survive. */
	expect_transfer(f, transfer(101, ACC_B, ACC_E, 4, 0), LEDGER_R_EXISTS);
	t = resolve(102, 100, LEDGER_AMOUNT_MAX, LEDGER_POST_PENDING);
	assert_result(submit(f, &t), LEDGER_R_OK);
	assert_int_equal(t.seq, 3);
	assert_true(t.timestamp > ts);
	assert_balances(f, ACC_A, 0, 10, 0, 0);
	assert_int_equal(verify_chain(f), 3);
}

/* --- codec --- */

static struct ledger_entry sample_entry(void)
{
	struct ledger_entry e;
	memset(&e, 0, sizeof(e));
	e.t.id = id_of(0x0102030405060708);
	e.t.id.b[0] = 0x99;
	e.t.debit_account_id = id_of(11);
	e.t.credit_account_id = id_max();
	e.t.amount = INT64_MAX;
	e.t.pending_id = id_of(13);
	e.t.user_data_128 = id_of(14);
	e.t.user_data_64 = UINT64_MAX;
	e.t.user_data_32 = UINT32_MAX - 1;
	e.t.timeout = 17;
	e.t.ledger = LEDGER_IDR;
	e.t.code = UINT16_MAX;
	e.t.flags = LEDGER_POST_PENDING | LEDGER_LINKED;
	e.t.timestamp = 1700000000123456789ull;
	e.t.seq = 42;
	e.debit_prev_seq = 40;
	e.credit_prev_seq = 0x0102030405060741ull;
	for (size_t i = 0; i < LEDGER_HASH_LEN; i++)
		e.hash[i] = (uint8_t)(i * 7 + 1);
	return e;
}

/* Bytes an encoder wrote into a buffer pre-filled with 0xa5: the offset past the last changed byte. */
static size_t written(const uint8_t *buf, size_t cap)
{
	size_t end = cap;
	while (end > 0 && buf[end - 1] == 0xa5)
		end--;
	return end;
}

/* Flips one bit of byte `at` of a stored entry and expects the decoder to refuse it. */
static void flip_fails(const uint8_t stored[LEDGER_STORED_LEN], size_t at)
{
	uint8_t bad[LEDGER_STORED_LEN];
	struct ledger_entry got;
	memcpy(bad, stored, sizeof(bad));
	bad[at] ^= 0x01;
	if (ledger_entry_decode(bad, sizeof(bad), &got) != LEDGER_ECORRUPT)
		fail_msg("byte %zu altered and still decoded", at);
}

static void test_codec_entry(void **state)
{
	struct ledger_entry e = sample_entry();
	struct ledger_entry got;
	uint8_t buf[LEDGER_STORED_LEN + 16];
	uint8_t stored[LEDGER_STORED_LEN];
	uint8_t zero_canonical[LEDGER_CANONICAL_LEN];
	struct ledger_entry zero;
	(void)state;

	memset(buf, 0xa5, sizeof(buf));
	ledger_entry_encode(&e, buf);
	assert_int_equal(written(buf, sizeof(buf)), LEDGER_CANONICAL_LEN);
	/* The same length whatever the values. */
	memset(&zero, 0, sizeof(zero));
	memset(zero_canonical, 0xa5, sizeof(zero_canonical));
	ledger_entry_encode(&zero, zero_canonical);
	assert_int_not_equal(memcmp(zero_canonical, buf, LEDGER_CANONICAL_LEN), 0);

	memcpy(stored, buf, LEDGER_CANONICAL_LEN);
	memcpy(stored + LEDGER_CANONICAL_LEN, e.hash, LEDGER_HASH_LEN);
	memset(&got, 0, sizeof(got));
	assert_int_equal(ledger_entry_decode(stored, sizeof(stored), &got), 0);
	assert_transfer_fields(&got.t, &e.t);
	assert_int_equal(got.t.timestamp, e.t.timestamp);
	assert_int_equal(got.t.seq, e.t.seq);
	assert_int_equal(got.debit_prev_seq, e.debit_prev_seq);
	assert_int_equal(got.credit_prev_seq, e.credit_prev_seq);
	assert_memory_equal(got.hash, e.hash, LEDGER_HASH_LEN);

	/* Truncated, too long, a changed tag, a changed version, an amount beyond int64. */
	assert_int_equal(ledger_entry_decode(stored, sizeof(stored) - 1, &got), LEDGER_ECORRUPT);
	assert_int_equal(ledger_entry_decode(buf, sizeof(stored) + 1, &got), LEDGER_ECORRUPT);
	assert_int_equal(ledger_entry_decode(stored, LEDGER_CANONICAL_LEN, &got), LEDGER_ECORRUPT);
	/* Every header byte and every field's tag (and bin length) matters. */
	{
		/* Field widths after the 4 header bytes: tag plus value. */
		static const size_t widths[] = { 9, 9, 18, 18, 18, 9, 18, 18, 9, 5, 5, 5, 3, 3, 9, 9 };
		size_t at = 4;
		for (size_t i = 0; i < 4; i++)
			flip_fails(stored, i);
		for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++) {
			flip_fails(stored, at);
			if (widths[i] == 18)
				flip_fails(stored, at + 1);
			at += widths[i];
		}
		assert_int_equal(at, LEDGER_CANONICAL_LEN);
	}
	{
		/* The amount is the 7th field: header(4) + seq(9) + ts(9) + 3 ids(54) + its tag. */
		uint8_t bad[LEDGER_STORED_LEN];
		memcpy(bad, stored, sizeof(bad));
		assert_int_equal(bad[76], 0xcf);
		bad[77] |= 0x80;
		assert_int_equal(ledger_entry_decode(bad, sizeof(bad), &got), LEDGER_ECORRUPT);
	}
}

static void test_codec_records(void **state)
{
	uint8_t buf[LEDGER_ACCOUNT_RECORD_MAX + 16];
	size_t len;
	(void)state;

	/* Account: fixed part plus the name; the longest fits the maximum. */
	{
		struct ledger_account a = account(0x55, OTHER_LEDGER, LEDGER_ACCOUNT_CLOSED);
		struct ledger_account got;
		a.user_data_128 = id_max();
		a.user_data_64 = 1;
		a.user_data_32 = 2;
		a.code = 3;
		a.debits_pending = 4;
		a.debits_posted = INT64_MAX;
		a.credits_pending = 6;
		a.credits_posted = 7;
		a.timestamp = 8;
		a.last_seq = 9;
		memset(a.name, 'n', LEDGER_NAME_MAX);
		a.name[LEDGER_NAME_MAX] = '\0';
		memset(buf, 0xa5, sizeof(buf));
		len = ledger_account_encode(&a, buf);
		assert_true(len <= LEDGER_ACCOUNT_RECORD_MAX);
		assert_int_equal(written(buf, sizeof(buf)), len);
		memset(&got, 0, sizeof(got));
		assert_int_equal(ledger_account_decode(buf, len, &got), 0);
		assert_memory_equal(got.id.b, a.id.b, 16);
		assert_string_equal(got.name, a.name);
		assert_int_equal(got.ledger, OTHER_LEDGER);
		assert_int_equal(got.code, 3);
		assert_int_equal(got.flags, LEDGER_ACCOUNT_CLOSED);
		assert_memory_equal(got.user_data_128.b, a.user_data_128.b, 16);
		assert_int_equal(got.user_data_64, 1);
		assert_int_equal(got.user_data_32, 2);
		assert_int_equal(got.timestamp, 8);
		/* The account record leaves the balances to their own record. */
		assert_int_equal(got.debits_pending, 0);
		assert_int_equal(got.last_seq, 0);
		assert_int_equal(len, 74 + LEDGER_NAME_MAX);
		assert_int_equal(ledger_account_decode(buf, len - 1, &got), LEDGER_ECORRUPT);
		assert_int_equal(ledger_account_decode(buf, len + 1, &got), LEDGER_ECORRUPT);
		buf[0] ^= 1;
		assert_int_equal(ledger_account_decode(buf, len, &got), LEDGER_ECORRUPT);
		/* A shorter name, a shorter record. */
		strcpy(a.name, "x");
		assert_int_equal(ledger_account_encode(&a, buf), len - (LEDGER_NAME_MAX - 1));

		/* Balances: fixed length; decode sets only the balances and last_seq. */
		memset(buf, 0xa5, sizeof(buf));
		ledger_balances_encode(&a, buf);
		assert_int_equal(written(buf, sizeof(buf)), LEDGER_BALANCES_RECORD_LEN);
		assert_int_equal(buf[0], 0x96);
		memset(&got, 0, sizeof(got));
		assert_int_equal(ledger_balances_decode(buf, LEDGER_BALANCES_RECORD_LEN, &got), 0);
		assert_int_equal(got.debits_pending, 4);
		assert_int_equal(got.debits_posted, INT64_MAX);
		assert_int_equal(got.credits_pending, 6);
		assert_int_equal(got.credits_posted, 7);
		assert_int_equal(got.last_seq, 9);
		assert_int_equal(got.timestamp, 0);
		assert_int_equal(got.name[0], '\0');
		assert_int_equal(ledger_balances_decode(buf, LEDGER_BALANCES_RECORD_LEN - 1, &got), LEDGER_ECORRUPT);
		assert_int_equal(ledger_balances_decode(buf, LEDGER_BALANCES_RECORD_LEN + 1, &got), LEDGER_ECORRUPT);
		/* A negative balance (top bit of debits_posted) is damage. */
		buf[2 + 9 + 1] |= 0x80;
		assert_int_equal(ledger_balances_decode(buf, LEDGER_BALANCES_RECORD_LEN, &got), LEDGER_ECORRUPT);
	}
	/* Pending state. */
	{
		struct ledger_pending p = { .id = id_of(1), .debit_account_id = id_of(2),
					    .credit_account_id = id_max(), .amount = INT64_MAX,
					    .ledger = LEDGER_IDR, .code = 7, .status = LEDGER_PENDING_EXPIRED,
					    .seq = 11, .expires_at = UINT64_MAX };
		struct ledger_pending got;
		memset(buf, 0xa5, sizeof(buf));
		ledger_pending_encode(&p, buf);
		assert_int_equal(written(buf, sizeof(buf)), LEDGER_PENDING_RECORD_LEN);
		memset(&got, 0, sizeof(got));
		assert_int_equal(ledger_pending_decode(buf, LEDGER_PENDING_RECORD_LEN, &got), 0);
		assert_memory_equal(got.id.b, p.id.b, 16);
		assert_memory_equal(got.debit_account_id.b, p.debit_account_id.b, 16);
		assert_memory_equal(got.credit_account_id.b, p.credit_account_id.b, 16);
		assert_int_equal(got.amount, INT64_MAX);
		assert_int_equal(got.ledger, LEDGER_IDR);
		assert_int_equal(got.code, 7);
		assert_int_equal(got.status, LEDGER_PENDING_EXPIRED);
		assert_int_equal(got.seq, 11);
		assert_int_equal(got.expires_at, UINT64_MAX);
		assert_int_equal(ledger_pending_decode(buf, LEDGER_PENDING_RECORD_LEN - 1, &got), LEDGER_ECORRUPT);
		for (unsigned status = 0; status <= 5; status += 5) {
			p.status = (uint8_t)status;
			ledger_pending_encode(&p, buf);
			assert_int_equal(ledger_pending_decode(buf, LEDGER_PENDING_RECORD_LEN, &got),
					 LEDGER_ECORRUPT);
		}
		p.status = LEDGER_PENDING_OPEN;
		ledger_pending_encode(&p, buf);
		assert_int_equal(ledger_pending_decode(buf, LEDGER_PENDING_RECORD_LEN, &got), 0);
		buf[1] ^= 0x40;   /* the version */
		assert_int_equal(ledger_pending_decode(buf, LEDGER_PENDING_RECORD_LEN, &got), LEDGER_ECORRUPT);
	}
	/* Meta. */
	{
		struct ledger_meta m = { .head_seq = 5, .clock = 6, .batches = 7 };
		struct ledger_meta got;
		memset(m.head_hash, 0x3c, sizeof(m.head_hash));
		memset(buf, 0xa5, sizeof(buf));
		ledger_meta_encode(&m, buf);
		assert_int_equal(written(buf, sizeof(buf)), LEDGER_META_RECORD_LEN);
		memset(&got, 0, sizeof(got));
		assert_int_equal(ledger_meta_decode(buf, LEDGER_META_RECORD_LEN, &got), 0);
		assert_int_equal(got.head_seq, 5);
		assert_memory_equal(got.head_hash, m.head_hash, LEDGER_HASH_LEN);
		assert_int_equal(got.clock, 6);
		assert_int_equal(got.batches, 7);
		assert_int_equal(ledger_meta_decode(buf, LEDGER_META_RECORD_LEN - 1, &got), LEDGER_ECORRUPT);
		buf[2] = 0xce;
		assert_int_equal(ledger_meta_decode(buf, LEDGER_META_RECORD_LEN, &got), LEDGER_ECORRUPT);
	}
	/* Batch. */
	{
		struct ledger_batch b = { .first_seq = 1, .last_seq = 9, .timestamp = UINT64_MAX };
		struct ledger_batch got;
		memset(b.head_hash, 0x5a, sizeof(b.head_hash));
		memset(buf, 0xa5, sizeof(buf));
		ledger_batch_encode(&b, buf);
		assert_int_equal(written(buf, sizeof(buf)), LEDGER_BATCH_RECORD_LEN);
		memset(&got, 0, sizeof(got));
		assert_int_equal(ledger_batch_decode(buf, LEDGER_BATCH_RECORD_LEN, &got), 0);
		assert_int_equal(got.first_seq, 1);
		assert_int_equal(got.last_seq, 9);
		assert_memory_equal(got.head_hash, b.head_hash, LEDGER_HASH_LEN);
		assert_int_equal(got.timestamp, UINT64_MAX);
		assert_int_equal(ledger_batch_decode(buf, LEDGER_BATCH_RECORD_LEN + 1, &got), LEDGER_ECORRUPT);
		buf[0] = 0x94;
		assert_int_equal(ledger_batch_decode(buf, LEDGER_BATCH_RECORD_LEN, &got), LEDGER_ECORRUPT);
	}
	/* Keys: big-endian, so byte order is numeric order. */
	{
		uint8_t k[8];
		uint8_t k2[8];
		ledger_put_u64(k, 0x0102030405060708ull);
		assert_int_equal(k[0], 1);
		assert_int_equal(k[7], 8);
		assert_int_equal(ledger_get_u64(k), 0x0102030405060708ull);
		ledger_put_u64(k, 255);
		ledger_put_u64(k2, 256);
		assert_true(memcmp(k, k2, 8) < 0);
	}
}

static void test_chain_function(void **state)
{
	uint8_t prev[LEDGER_HASH_LEN];
	uint8_t canonical[LEDGER_CANONICAL_LEN];
	uint8_t both[LEDGER_HASH_LEN + LEDGER_CANONICAL_LEN];
	uint8_t want[LEDGER_HASH_LEN];
	uint8_t got[LEDGER_HASH_LEN];
	struct ledger_entry e = sample_entry();
	(void)state;

	memset(prev, 0, sizeof(prev));
	ledger_entry_encode(&e, canonical);
	memcpy(both, prev, LEDGER_HASH_LEN);
	memcpy(both + LEDGER_HASH_LEN, canonical, LEDGER_CANONICAL_LEN);
	assert_int_equal(crypto_sha256(both, sizeof(both), want), 0);
	ledger_chain(prev, canonical, got);
	assert_memory_equal(got, want, LEDGER_HASH_LEN);
	/* The previous hash is part of the input. */
	prev[31] = 1;
	ledger_chain(prev, canonical, got);
	assert_memory_not_equal(got, want, LEDGER_HASH_LEN);
}

/* --- ids and names --- */

static void test_ids(void **state)
{
	struct ledger_id id;
	struct ledger_id back;
	struct ledger_id prev;
	char hex[33];
	uint64_t ms;
	(void)state;

	assert_true(ledger_id_is_zero(&(struct ledger_id){ { 0 } }));
	id = ledger_id_from_u64(0x0102030405060708ull);
	for (int i = 0; i < 8; i++)
		assert_int_equal(id.b[i], 0);
	for (int i = 8; i < 16; i++)
		assert_int_equal(id.b[i], i - 7);
	assert_false(ledger_id_is_zero(&id));
	back = ledger_id_from_u64(0);
	assert_true(ledger_id_is_zero(&back));

	id = ledger_id_from_u64(0xabc);
	ledger_id_hex(&id, hex, sizeof(hex));
	assert_string_equal(hex, "00000000000000000000000000000abc");
	assert_int_equal(ledger_id_parse("ffeeddccbbaa99887766554433221100", &back), 0);
	ledger_id_hex(&back, hex, sizeof(hex));
	assert_string_equal(hex, "ffeeddccbbaa99887766554433221100");
	assert_int_equal(back.b[0], 0xff);
	assert_int_equal(back.b[15], 0x00);

	assert_int_equal(ledger_id_parse("", &back), LEDGER_EINVAL);
	assert_int_equal(ledger_id_parse("0000000000000000000000000000abc", &back), LEDGER_EINVAL);
	assert_int_equal(ledger_id_parse("000000000000000000000000000000abc", &back), LEDGER_EINVAL);
	assert_int_equal(ledger_id_parse("0000000000000000000000000000abcg", &back), LEDGER_EINVAL);
	assert_int_equal(ledger_id_parse(" 0000000000000000000000000000abc", &back), LEDGER_EINVAL);
	assert_int_equal(ledger_id_parse("0x000000000000000000000000000abc", &back), LEDGER_EINVAL);
	assert_int_equal(ledger_id_parse("-0000000000000000000000000000abc", &back), LEDGER_EINVAL);

	/* New ids strictly increase and carry the time in milliseconds. */
	assert_int_equal(ledger_id_new(&prev), 0);
	for (int i = 0; i < 100000; i++) {
		assert_int_equal(ledger_id_new(&id), 0);
		if (memcmp(id.b, prev.b, 16) <= 0)
			fail_msg("id %d does not increase", i);
		prev = id;
	}
	ms = 0;
	for (int i = 0; i < 6; i++)
		ms = ms << 8 | id.b[i];
	assert_true(ms > now_ns() / 1000000 - 3600 * 1000);
	assert_true(ms < now_ns() / 1000000 + 3600 * 1000);

	/* Derived ids: the same inputs give the same id; the time is the high 48 bits. */
	{
		struct ledger_id d1;
		struct ledger_id d2;
		struct ledger_id d3;
		struct ledger_id d4;
		const uint64_t t = 0xba9876543210ull;
		ledger_id_derive(t, "order:1", 7, &d1);
		ledger_id_derive(t, "order:1", 7, &d2);
		ledger_id_derive(t, "order:2", 7, &d3);
		ledger_id_derive(t + 1, "order:1", 7, &d4);
		assert_memory_equal(d1.b, d2.b, 16);
		assert_memory_not_equal(d1.b + 6, d3.b + 6, 10);
		assert_memory_equal(d1.b + 6, d4.b + 6, 10);
		ms = 0;
		for (int i = 0; i < 6; i++)
			ms = ms << 8 | d1.b[i];
		assert_int_equal(ms, t);
		ms = 0;
		for (int i = 0; i < 6; i++)
			ms = ms << 8 | d4.b[i];
		assert_int_equal(ms, t + 1);
		ledger_id_derive(0xffffffffffffull, "", 0, &d1);
		assert_int_equal(d1.b[0], 0xff);
		assert_int_equal(d1.b[5], 0xff);
	}
}

/*
 * Result names are part of the HTTP API: each must be the one docs/ledger.md
 * lists under "Event results" as "N `name`", and the list must cover them all.
 */
static void test_result_names(void **state)
{
	const char *docs = getenv("BANGSOLEH_DOCS");
	static char text[1 << 17];
	char path[4096], *p, *end;
	bool seen[LEDGER_R_COUNT] = { false };
	size_t len;
	FILE *f;
	(void)state;

	assert_non_null(docs);
	snprintf(path, sizeof(path), "%s/ledger.md", docs);
	f = fopen(path, "r");
	assert_non_null(f);
	len = fread(text, 1, sizeof(text) - 1, f);
	assert_int_equal(fclose(f), 0);
	assert_true(len < sizeof(text) - 1);
	text[len] = '\0';
	p = strstr(text, "\n## Event results\n");
	assert_non_null(p);
	end = strstr(p + 1, "\n## ");
	if (end)
		*end = '\0';
	/* Each "N `name`": a number that starts a word, a space, a quoted name. */
	for (; *p; p++) {
		char *q, *close;
		unsigned long r;
		if (!isdigit((unsigned char)*p) || isalnum((unsigned char)p[-1]) || p[-1] == '_')
			continue;
		r = strtoul(p, &q, 10);
		if (q[0] != ' ' || q[1] != '`' || !(close = strchr(q + 2, '`')))
			continue;
		*close = '\0';
		assert_true(r < LEDGER_R_COUNT);
		assert_false(seen[r]);
		seen[r] = true;
		assert_string_equal(ledger_result_name((uint32_t)r), q + 2);
		p = close;
	}
	for (uint32_t r = 0; r < LEDGER_R_COUNT; r++)
		if (!seen[r])
			fail_msg("docs/ledger.md does not list result %u (%s)", r, ledger_result_name(r));
	assert_string_equal(ledger_result_name(LEDGER_R_COUNT), "unknown");
	assert_string_equal(ledger_result_name(UINT32_MAX), "unknown");
}

#define LEDGER_TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		LEDGER_TEST(test_accounts_create_and_lookup),
		LEDGER_TEST(test_accounts_invalid),
		LEDGER_TEST(test_accounts_exists),
		LEDGER_TEST(test_accounts_linked),
		LEDGER_TEST(test_accounts_chain_open),
		LEDGER_TEST(test_transfers_invalid),
		LEDGER_TEST(test_transfer_posts),
		LEDGER_TEST(test_limits),
		LEDGER_TEST(test_overflows),
		LEDGER_TEST(test_timeout_largest),
		LEDGER_TEST(test_overflows_timeout),
		LEDGER_TEST(test_closed_accounts),
		LEDGER_TEST(test_id_already_failed),
		LEDGER_TEST(test_post_full),
		LEDGER_TEST(test_post_partial),
		LEDGER_TEST(test_void),
		LEDGER_TEST(test_pending_and_post_in_one_call),
		LEDGER_TEST(test_expiry_by_time),
		LEDGER_TEST(test_expiry_far_future),
		LEDGER_TEST(test_transfers_exists),
		LEDGER_TEST(test_replay_batch),
		LEDGER_TEST(test_linked_transfers),
		LEDGER_TEST(test_chain_open),
		LEDGER_TEST(test_fields_the_ledger_sets),
		LEDGER_TEST(test_chain_and_queries),
		LEDGER_TEST(test_empty_ledger),
		LEDGER_TEST(test_rollback_with_job),
		LEDGER_TEST(test_batch_bounds),
		LEDGER_TEST(test_reopen),
		cmocka_unit_test(test_codec_entry),
		cmocka_unit_test(test_codec_records),
		cmocka_unit_test(test_chain_function),
		cmocka_unit_test(test_ids),
		cmocka_unit_test(test_result_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
