/*
 * Unit tests of balances as of a point (ledger/balances.c): a ledger built
 * with every kind of entry (plain, linked chains that commit and that fail,
 * pending transfers posted in full, in part, voided and expired,
 * overdraft-limited accounts, a second ledger, an account created midway)
 * is replayed here from its journal with the table of docs/ledger.md, and
 * ledger_balances_at, ledger_account_period and ledger_trial_balance must
 * agree with that replay at every sequence, for every account.
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
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "store.h"
#include "testsrv.h"

#define MIB ((size_t)1 << 20)
#define NS_PER_S UINT64_C(1000000000)
#define OTHER_LEDGER 840
/* Accounts 1..ACCOUNTS: 1..6 and 9 on rupiah, 7 and 8 on OTHER_LEDGER; 9 is made midway. */
#define ACCOUNTS 9
#define LATE_ACCOUNT 9
#define LIMITED_DEBITS 3    /* debits_must_not_exceed_credits */
#define LIMITED_CREDITS 4   /* credits_must_not_exceed_debits */
#define RANDOM_EVENTS 400
#define PENDING_MAX 512     /* pending transfers the builder remembers */
#define PAGE_MAX 200

struct fixture {
	char dir[64];
	struct store *s;
	struct ledger *l;
};

/* The replay: balances[seq * ACCOUNTS + i] is account i + 1 after entry seq. */
struct model {
	uint64_t head;
	struct ledger_entry *entries;        /* entries[seq - 1] */
	struct ledger_balances *balances;
	uint64_t late_created;               /* timestamp of LATE_ACCOUNT */
};

/* --- store and jobs --- */

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct store_config cfg = { .map_size = 64 * MIB, .map_max = 512 * MIB, .group_commit = true };
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/bangsoleh-asof-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	cfg.path = f->dir;
	if (store_open(&cfg, &f->s) != 0 || ledger_open(f->s, &f->l) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	ledger_close(f->l);
	store_close(f->s);
	testsrv_rmtree(f->dir);
	free(f);
	return 0;
}

struct job {
	struct ledger *l;
	bool accounts;
	const void *in;
	void *work;
	size_t n;
	uint32_t results[LEDGER_BATCH_MAX];
	uint64_t expire_at;                  /* nonzero: an expiry sweep instead */
};

static int job_apply(MDB_txn *txn, void *arg)
{
	struct job *j = arg;
	size_t expired;
	if (j->expire_at)
		return ledger_expire(j->l, txn, j->expire_at, 1000, &expired);
	memcpy(j->work, j->in, j->n * (j->accounts ? sizeof(struct ledger_account) : sizeof(struct ledger_transfer)));
	return j->accounts ? ledger_create_accounts(j->l, txn, j->work, j->n, j->results)
			   : ledger_create_transfers(j->l, txn, j->work, j->n, j->results);
}

static void run_transfers(struct fixture *f, const struct ledger_transfer *t, size_t n)
{
	static struct job j;
	struct ledger_transfer work[8];
	assert_true(n <= 8);
	j = (struct job){ .l = f->l, .in = t, .work = work, .n = n };
	assert_int_equal(store_run(f->s, job_apply, &j), 0);
}

static void make_account(struct fixture *f, uint64_t id, uint32_t ledger, uint16_t flags)
{
	static struct job j;
	struct ledger_account a = { .id = ledger_id_from_u64(id), .ledger = ledger, .code = 1, .flags = flags };
	struct ledger_account work;
	snprintf(a.name, sizeof(a.name), "asof-%llu", (unsigned long long)id);
	j = (struct job){ .l = f->l, .accounts = true, .in = &a, .work = &work, .n = 1 };
	assert_int_equal(store_run(f->s, job_apply, &j), 0);
	assert_int_equal(j.results[0], LEDGER_R_OK);
}

static void expire_all(struct fixture *f, uint64_t now)
{
	static struct job j;
	j = (struct job){ .l = f->l, .expire_at = now };
	assert_int_equal(store_run(f->s, job_apply, &j), 0);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* --- building the ledger --- */

static struct ledger_transfer plain(uint64_t id, uint64_t debit, uint64_t credit, int64_t amount, uint16_t flags)
{
	struct ledger_transfer t = { .id = ledger_id_from_u64(id), .debit_account_id = ledger_id_from_u64(debit),
				     .credit_account_id = ledger_id_from_u64(credit), .amount = amount,
				     .ledger = debit == 7 || debit == 8 ? OTHER_LEDGER : LEDGER_IDR,
				     .code = LEDGER_CODE_PAYMENT, .flags = flags };
	return t;
}

static struct ledger_transfer resolve(uint64_t id, uint64_t pending, int64_t amount, uint16_t flags)
{
	struct ledger_transfer t = { .id = ledger_id_from_u64(id), .pending_id = ledger_id_from_u64(pending),
				     .amount = amount, .flags = flags };
	return t;
}

static void one(struct fixture *f, struct ledger_transfer t)
{
	run_transfers(f, &t, 1);
}

/* A small deterministic generator (xorshift), so a failure can be rerun. */
static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Two different accounts of one ledger (the late one exists by the time this is used). */
static void pick_pair(uint64_t *s, uint64_t *debit, uint64_t *credit)
{
	static const uint64_t rupiah[] = { 1, 2, 3, 4, 5, 6, LATE_ACCOUNT };
	if (rnd(s) % 8 == 0) {
		*debit = 7 + rnd(s) % 2;
		*credit = *debit == 7 ? 8 : 7;
		return;
	}
	*debit = rupiah[rnd(s) % 7];
	do
		*credit = rupiah[rnd(s) % 7];
	while (*credit == *debit);
}

/*
 * Scripted entries of every kind first, then random ones. Events that the
 * ledger refuses (overdrafts, a failed chain, a resolved pending) write
 * nothing, which the replay sees as well.
 */
static void build(struct fixture *f)
{
	uint64_t pending[PENDING_MAX], seed = 0x9e3779b97f4a7c15u, next_id = 1000;
	size_t npending = 0;
	struct ledger_transfer chain[3];

	make_account(f, 1, LEDGER_IDR, 0);
	make_account(f, 2, LEDGER_IDR, 0);
	make_account(f, LIMITED_DEBITS, LEDGER_IDR, LEDGER_DEBITS_MUST_NOT_EXCEED_CREDITS);
	make_account(f, LIMITED_CREDITS, LEDGER_IDR, LEDGER_CREDITS_MUST_NOT_EXCEED_DEBITS);
	make_account(f, 5, LEDGER_IDR, 0);
	make_account(f, 6, LEDGER_IDR, 0);
	make_account(f, 7, OTHER_LEDGER, 0);
	make_account(f, 8, OTHER_LEDGER, 0);

	one(f, plain(1, 1, 2, 1000, 0));
	one(f, plain(2, 1, 3, 500, LEDGER_PENDING));
	one(f, resolve(3, 2, LEDGER_AMOUNT_MAX, LEDGER_POST_PENDING));          /* full post */
	one(f, plain(4, 2, 1, 700, LEDGER_PENDING));
	one(f, resolve(5, 4, 300, LEDGER_POST_PENDING));                        /* partial post */
	one(f, plain(6, 1, 2, 200, LEDGER_PENDING));
	one(f, resolve(7, 6, 0, LEDGER_VOID_PENDING));                          /* void */
	struct ledger_transfer expiring = plain(8, 1, 5, 90, LEDGER_PENDING);
	expiring.timeout = 1;
	one(f, expiring);
	chain[0] = plain(9, 1, 2, 10, LEDGER_LINKED);
	chain[1] = plain(10, 2, 5, 20, LEDGER_LINKED);
	chain[2] = plain(11, 5, 1, 5, 0);
	run_transfers(f, chain, 3);                                             /* a chain that commits */
	chain[0] = plain(12, 1, 2, 10, LEDGER_LINKED);
	chain[1] = plain(13, LIMITED_DEBITS, 1, 1000000, 0);
	run_transfers(f, chain, 2);                                             /* one that fails whole */
	one(f, plain(14, LIMITED_DEBITS, 1, 100, 0));                           /* within its credits */
	one(f, plain(15, LIMITED_DEBITS, 1, 1000000, 0));                       /* refused: overdraft */
	one(f, plain(16, LIMITED_CREDITS, 6, 400, 0));
	one(f, plain(17, 6, LIMITED_CREDITS, 300, 0));                          /* within its debits */
	one(f, plain(18, 7, 8, 50, 0));
	one(f, plain(19, 8, 7, 20, LEDGER_PENDING));
	one(f, resolve(20, 19, 15, LEDGER_POST_PENDING));
	make_account(f, LATE_ACCOUNT, LEDGER_IDR, 0);

	for (int i = 0; i < RANDOM_EVENTS; i++) {
		uint64_t kind = rnd(&seed) % 10, debit, credit;
		int64_t amount = (int64_t)(1 + rnd(&seed) % 1000);
		pick_pair(&seed, &debit, &credit);
		if (kind < 4) {
			one(f, plain(next_id++, debit, credit, amount, 0));
		} else if (kind < 6 && npending < PENDING_MAX) {
			struct ledger_transfer t = plain(next_id, debit, credit, amount, LEDGER_PENDING);
			t.timeout = rnd(&seed) % 3 == 0 ? 1 : 0;
			pending[npending++] = next_id++;
			one(f, t);
		} else if (kind < 8 && npending > 0) {
			uint64_t p = pending[rnd(&seed) % npending];
			int64_t part = rnd(&seed) % 2 ? LEDGER_AMOUNT_MAX : amount % 50 + 1;
			one(f, resolve(next_id++, p, part, LEDGER_POST_PENDING));
		} else if (kind < 9 && npending > 0) {
			one(f, resolve(next_id++, pending[rnd(&seed) % npending], 0, LEDGER_VOID_PENDING));
		} else {
			chain[0] = plain(next_id++, debit, credit, amount, LEDGER_LINKED);
			pick_pair(&seed, &debit, &credit);
			chain[1] = plain(next_id++, debit, credit, amount, LEDGER_PENDING | LEDGER_LINKED);
			chain[2] = plain(next_id++, credit, debit, amount / 2 + 1, 0);
			run_transfers(f, chain, 3);
		}
		if (i == RANDOM_EVENTS / 2)
			/* Every pending transfer with a timeout so far expires (a void flagged expiry each). */
			expire_all(f, now_ns() + 10 * NS_PER_S);
	}
}

/* --- the replay --- */

static size_t account_index(const struct ledger_id *id)
{
	for (uint64_t i = 1; i <= ACCOUNTS; i++) {
		struct ledger_id want = ledger_id_from_u64(i);
		if (memcmp(want.b, id->b, sizeof(id->b)) == 0)
			return (size_t)(i - 1);
	}
	fail_msg("an entry moves an account the test did not make");
	return 0;
}

/* The amount of the pending transfer with that id, from the entries before seq. */
static int64_t pending_amount(const struct model *m, uint64_t seq, const struct ledger_id *id)
{
	for (uint64_t s = 1; s < seq; s++)
		if ((m->entries[s - 1].t.flags & LEDGER_PENDING) && memcmp(m->entries[s - 1].t.id.b, id->b, 16) == 0)
			return m->entries[s - 1].t.amount;
	fail_msg("entry %llu resolves an unknown pending transfer", (unsigned long long)seq);
	return 0;
}

static void replay(struct fixture *f, struct model *m)
{
	MDB_txn *txn;
	uint8_t hash[LEDGER_HASH_LEN];
	size_t n;
	struct ledger_account late;
	struct ledger_id late_id = ledger_id_from_u64(LATE_ACCOUNT);

	assert_int_equal(store_read_begin(f->s, &txn), 0);
	assert_int_equal(ledger_head(f->l, txn, &m->head, hash), 0);
	m->entries = calloc(m->head + 1, sizeof(*m->entries));
	m->balances = calloc((m->head + 1) * ACCOUNTS, sizeof(*m->balances));
	assert_non_null(m->entries);
	assert_non_null(m->balances);
	for (uint64_t from = 1; from <= m->head; from += n) {
		assert_int_equal(ledger_journal(f->l, txn, from, PAGE_MAX, m->entries + from - 1, &n), 0);
		assert_true(n > 0);
	}
	assert_int_equal(ledger_account_get(f->l, txn, &late_id, &late), 0);
	m->late_created = late.timestamp;
	store_read_end(f->s, txn);

	for (uint64_t seq = 1; seq <= m->head; seq++) {
		const struct ledger_transfer *t = &m->entries[seq - 1].t;
		struct ledger_balances *now = &m->balances[seq * ACCOUNTS];
		struct ledger_balances *dr, *cr;
		memcpy(now, &m->balances[(seq - 1) * ACCOUNTS], ACCOUNTS * sizeof(*now));
		dr = &now[account_index(&t->debit_account_id)];
		cr = &now[account_index(&t->credit_account_id)];
		if (t->flags & LEDGER_PENDING) {
			dr->debits_pending += t->amount;
			cr->credits_pending += t->amount;
		} else if (t->flags & (LEDGER_POST_PENDING | LEDGER_VOID_PENDING)) {
			int64_t p = pending_amount(m, seq, &t->pending_id);
			dr->debits_pending -= p;
			cr->credits_pending -= p;
			if (t->flags & LEDGER_POST_PENDING) {
				dr->debits_posted += t->amount;
				cr->credits_posted += t->amount;
			}
		} else {
			dr->debits_posted += t->amount;
			cr->credits_posted += t->amount;
		}
	}
}

static void model_free(struct model *m)
{
	free(m->entries);
	free(m->balances);
}

static const struct ledger_balances *model_at(const struct model *m, uint64_t seq, size_t index)
{
	return &m->balances[seq * ACCOUNTS + index];
}

static void expect_equal(const struct ledger_balances *got, const struct ledger_balances *want, uint64_t seq,
			 size_t index, const char *what)
{
	if (memcmp(got, want, sizeof(*got)) != 0)
		fail_msg("%s: account %zu after seq %llu: %lld/%lld/%lld/%lld, want %lld/%lld/%lld/%lld", what,
			 index + 1, (unsigned long long)seq, (long long)got->debits_pending,
			 (long long)got->debits_posted, (long long)got->credits_pending,
			 (long long)got->credits_posted, (long long)want->debits_pending,
			 (long long)want->debits_posted, (long long)want->credits_pending,
			 (long long)want->credits_posted);
}

/* --- the tests --- */

/* The ledger holds every kind of entry, and the replay ends at the stored balances. */
static void test_build_has_every_kind(void **state)
{
	struct fixture *f = *state;
	struct model m = { 0 };
	bool seen_plain = false, seen_linked = false, seen_pending = false, seen_full = false, seen_part = false;
	bool seen_void = false, seen_expiry = false;
	MDB_txn *txn;
	build(f);
	replay(f, &m);
	for (uint64_t seq = 1; seq <= m.head; seq++) {
		const struct ledger_transfer *t = &m.entries[seq - 1].t;
		seen_plain |= (t->flags & ~LEDGER_LINKED) == 0;
		seen_linked |= (t->flags & LEDGER_LINKED) != 0;
		seen_pending |= (t->flags & LEDGER_PENDING) != 0;
		if (t->flags & LEDGER_POST_PENDING) {
			int64_t p = pending_amount(&m, seq, &t->pending_id);
			seen_full |= t->amount == p;
			seen_part |= t->amount < p;
		}
		seen_void |= t->flags == LEDGER_VOID_PENDING;
		seen_expiry |= (t->flags & LEDGER_EXPIRY) != 0;
	}
	assert_true(seen_plain && seen_linked && seen_pending && seen_full && seen_part && seen_void && seen_expiry);
	assert_int_equal(store_read_begin(f->s, &txn), 0);
	for (size_t i = 0; i < ACCOUNTS; i++) {
		struct ledger_id id = ledger_id_from_u64(i + 1);
		struct ledger_account a;
		struct ledger_balances stored;
		assert_int_equal(ledger_account_get(f->l, txn, &id, &a), 0);
		stored = (struct ledger_balances){ a.debits_pending, a.debits_posted, a.credits_pending,
						   a.credits_posted };
		expect_equal(&stored, model_at(&m, m.head, i), m.head, i, "stored");
	}
	store_read_end(f->s, txn);
	model_free(&m);
}

/* ledger_balances_at agrees with the replay for every account after every entry, and after none. */
static void test_balances_at_every_seq(void **state)
{
	struct fixture *f = *state;
	struct model m = { 0 };
	struct ledger_balances b;
	struct ledger_id missing = ledger_id_from_u64(77);
	MDB_txn *txn;
	build(f);
	replay(f, &m);
	assert_int_equal(store_read_begin(f->s, &txn), 0);
	for (uint64_t seq = 0; seq <= m.head; seq++)
		for (size_t i = 0; i < ACCOUNTS; i++) {
			struct ledger_id id = ledger_id_from_u64(i + 1);
			assert_int_equal(ledger_balances_at(f->l, txn, &id, seq, &b), 0);
			expect_equal(&b, model_at(&m, seq, i), seq, i, "ledger_balances_at");
		}
	{
		struct ledger_id id = ledger_id_from_u64(1);
		assert_int_equal(ledger_balances_at(f->l, txn, &id, m.head + 1, &b), LEDGER_EINVAL);
	}
	assert_int_equal(ledger_balances_at(f->l, txn, &missing, 0, &b), STORE_ENOTFOUND);
	store_read_end(f->s, txn);
	model_free(&m);
}

/* Pages through one account's statement of from..to, checking each entry, its balances and the ends. */
static void check_period(struct fixture *f, MDB_txn *txn, const struct model *m, size_t index, uint64_t from,
			 uint64_t to, size_t limit)
{
	static struct ledger_entry out[PAGE_MAX];
	static struct ledger_balances after[PAGE_MAX];
	struct ledger_id id = ledger_id_from_u64(index + 1);
	struct ledger_period res;
	uint64_t cursor = 0, want = from, pages = 0;
	do {
		assert_int_equal(ledger_account_period(f->l, txn, &id, from, to, cursor, limit, out, after, &res), 0);
		expect_equal(&res.opening, model_at(m, from - 1, index), from - 1, index, "opening");
		expect_equal(&res.closing, model_at(m, to, index), to, index, "closing");
		assert_true(res.n <= limit);
		for (size_t k = 0; k < res.n; k++) {
			/* The next entry of this account in the period, by the replay. */
			while (want <= to && account_index(&m->entries[want - 1].t.debit_account_id) != index &&
			       account_index(&m->entries[want - 1].t.credit_account_id) != index)
				want++;
			assert_true(want <= to);
			assert_int_equal(out[k].t.seq, want);
			assert_memory_equal(out[k].hash, m->entries[want - 1].hash, LEDGER_HASH_LEN);
			expect_equal(&after[k], model_at(m, want, index), want, index, "after");
			want++;
		}
		/* A full page that is not the last names where the next starts. */
		assert_true(res.next == 0 || res.n == limit);
		cursor = res.next;
		pages++;
	} while (cursor != 0);
	while (want <= to && account_index(&m->entries[want - 1].t.debit_account_id) != index &&
	       account_index(&m->entries[want - 1].t.credit_account_id) != index)
		want++;
	if (want <= to)
		fail_msg("account %zu, %llu..%llu by %zu: entry %llu missing after %llu pages", index + 1,
			 (unsigned long long)from, (unsigned long long)to, limit, (unsigned long long)want,
			 (unsigned long long)pages);
}

static void test_account_period(void **state)
{
	struct fixture *f = *state;
	static const size_t limits[] = { 1, 3, 7, PAGE_MAX };
	static struct ledger_entry out[PAGE_MAX];
	static struct ledger_balances after[PAGE_MAX];
	struct ledger_id one_id = ledger_id_from_u64(1), missing = ledger_id_from_u64(77);
	struct ledger_period res;
	struct model m = { 0 };
	MDB_txn *txn;
	build(f);
	replay(f, &m);
	uint64_t ranges[][2] = { { 1, m.head }, { m.head / 3, 2 * m.head / 3 }, { 5, 5 }, { 40, 39 },
				 { m.head, m.head }, { 1, 0 }, { m.head + 1, m.head } };
	assert_int_equal(store_read_begin(f->s, &txn), 0);
	for (size_t i = 0; i < ACCOUNTS; i++)
		for (size_t r = 0; r < sizeof(ranges) / sizeof(ranges[0]); r++)
			for (size_t k = 0; k < sizeof(limits) / sizeof(limits[0]); k++)
				check_period(f, txn, &m, i, ranges[r][0], ranges[r][1], limits[k]);
	/* A cursor anywhere in the period starts the page at the account's first entry from there. */
	assert_int_equal(ledger_account_period(f->l, txn, &one_id, 1, m.head, 2, 1, out, after, &res), 0);
	assert_int_equal(res.n, 1);
	assert_true(out[0].t.seq >= 2);
	/* Bad bounds. */
	assert_int_equal(ledger_account_period(f->l, txn, &one_id, 0, 5, 0, 5, out, after, &res), LEDGER_EINVAL);
	assert_int_equal(ledger_account_period(f->l, txn, &one_id, 6, 4, 0, 5, out, after, &res), LEDGER_EINVAL);
	assert_int_equal(ledger_account_period(f->l, txn, &one_id, 1, m.head + 1, 0, 5, out, after, &res),
			 LEDGER_EINVAL);
	assert_int_equal(ledger_account_period(f->l, txn, &one_id, 5, 9, 10, 5, out, after, &res), LEDGER_EINVAL);
	assert_int_equal(ledger_account_period(f->l, txn, &one_id, 5, 9, 4, 5, out, after, &res), LEDGER_EINVAL);
	assert_int_equal(ledger_account_period(f->l, txn, &one_id, 5, 9, 0, 0, out, after, &res), LEDGER_EINVAL);
	assert_int_equal(ledger_account_period(f->l, txn, &missing, 5, 9, 0, 5, out, after, &res), STORE_ENOTFOUND);
	store_read_end(f->s, txn);
	model_free(&m);
}

/* What a trial balance's callback saw. */
struct seen {
	struct ledger_balances b[ACCOUNTS];
	bool listed[ACCOUNTS];
	size_t calls;
	struct ledger_id last;
};

static int collect(void *arg, const struct ledger_account *a, const struct ledger_balances *b)
{
	struct seen *s = arg;
	size_t i = account_index(&a->id);
	/* Id order, each once. */
	assert_true(s->calls == 0 || memcmp(s->last.b, a->id.b, 16) < 0);
	s->last = a->id;
	s->b[i] = *b;
	s->listed[i] = true;
	s->calls++;
	return 0;
}

static int stop_at_third(void *arg, const struct ledger_account *a, const struct ledger_balances *b)
{
	size_t *calls = arg;
	(void)a;
	(void)b;
	return ++*calls == 3 ? -77 : 0;
}

static void add_to(struct ledger_sum *s, int64_t v)
{
	s->lo += (uint64_t)v;
	s->hi += s->lo < (uint64_t)v;
}

/* The trial balance after every entry: each account as replayed, totals that add up, balanced, both ways. */
static void test_trial_balance_every_seq(void **state)
{
	struct fixture *f = *state;
	struct model m = { 0 };
	struct ledger_trial t;
	bool went_forward = false, went_back = false;
	size_t calls = 0;
	MDB_txn *txn;
	build(f);
	replay(f, &m);
	assert_int_equal(store_read_begin(f->s, &txn), 0);
	for (uint64_t seq = 0; seq <= m.head; seq++) {
		struct seen s = { 0 };
		struct ledger_trial_total want[2] = { { .ledger = LEDGER_IDR }, { .ledger = OTHER_LEDGER } };
		assert_int_equal(ledger_trial_balance(f->l, txn, seq, UINT64_MAX, collect, &s, &t), 0);
		assert_int_equal(t.seq, seq);
		assert_int_equal(s.calls, ACCOUNTS);
		/* Whichever way reads fewer entries. */
		assert_int_equal(t.entries_read, t.forward ? seq : m.head - seq);
		assert_true(t.entries_read <= m.head / 2 + 1);
		went_forward |= t.forward && seq > 0;
		went_back |= !t.forward;
		for (size_t i = 0; i < ACCOUNTS; i++) {
			const struct ledger_balances *b = model_at(&m, seq, i);
			struct ledger_trial_total *w = &want[i == 6 || i == 7];
			expect_equal(&s.b[i], b, seq, i, "trial balance");
			w->accounts++;
			add_to(&w->debits_pending, b->debits_pending);
			add_to(&w->debits_posted, b->debits_posted);
			add_to(&w->credits_pending, b->credits_pending);
			add_to(&w->credits_posted, b->credits_posted);
		}
		assert_int_equal(t.n, 2);
		for (size_t g = 0; g < 2; g++) {
			assert_int_equal(t.ledgers[g].ledger, want[g].ledger);
			assert_int_equal(t.ledgers[g].accounts, want[g].accounts);
			assert_memory_equal(&t.ledgers[g].debits_pending, &want[g].debits_pending, sizeof(struct ledger_sum));
			assert_memory_equal(&t.ledgers[g].debits_posted, &want[g].debits_posted, sizeof(struct ledger_sum));
			assert_memory_equal(&t.ledgers[g].credits_pending, &want[g].credits_pending,
					    sizeof(struct ledger_sum));
			assert_memory_equal(&t.ledgers[g].credits_posted, &want[g].credits_posted, sizeof(struct ledger_sum));
			assert_true(t.ledgers[g].balanced);
		}
	}
	assert_true(went_forward && went_back);
	{
		/* Accounts made at or after created_before are left out, and hold nothing before they exist. */
		struct seen s = { 0 };
		assert_int_equal(ledger_trial_balance(f->l, txn, 3, m.late_created, collect, &s, &t), 0);
		assert_int_equal(s.calls, ACCOUNTS - 1);
		assert_false(s.listed[LATE_ACCOUNT - 1]);
		assert_int_equal(t.ledgers[0].accounts, 6);
		/* But an account that holds money then cannot be left out. */
		assert_int_equal(ledger_trial_balance(f->l, txn, m.head, 1, NULL, NULL, &t), LEDGER_EINVAL);
	}
	assert_int_equal(ledger_trial_balance(f->l, txn, m.head + 1, UINT64_MAX, NULL, NULL, &t), LEDGER_EINVAL);
	/* A callback's nonzero status stops it and comes back. */
	assert_int_equal(ledger_trial_balance(f->l, txn, m.head, UINT64_MAX, stop_at_third, &calls, &t), -77);
	assert_int_equal(calls, 3);
	store_read_end(f->s, txn);
	model_free(&m);
}

/* Totals past INT64_MAX (and past 2^64) are exact, and their text is right. */
static void test_trial_totals_past_int64(void **state)
{
	struct fixture *f = *state;
	struct ledger_trial t;
	char text[LEDGER_SUM_TEXT];
	MDB_txn *txn;
	for (uint64_t i = 1; i <= 6; i++)
		make_account(f, i, LEDGER_IDR, 0);
	for (uint64_t i = 0; i < 3; i++)
		one(f, plain(100 + i, 2 * i + 1, 2 * i + 2, INT64_MAX, 0));
	assert_int_equal(store_read_begin(f->s, &txn), 0);
	assert_int_equal(ledger_trial_balance(f->l, txn, 3, UINT64_MAX, NULL, NULL, &t), 0);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.ledgers[0].debits_posted.hi, 1);
	assert_int_equal(ledger_sum_text(&t.ledgers[0].debits_posted, text, sizeof(text)), 0);
	assert_string_equal(text, "27670116110564327421");
	assert_true(t.ledgers[0].balanced);
	assert_int_equal(ledger_trial_balance(f->l, txn, 2, UINT64_MAX, NULL, NULL, &t), 0);
	assert_int_equal(t.ledgers[0].debits_posted.hi, 0);
	assert_int_equal(ledger_sum_text(&t.ledgers[0].credits_posted, text, sizeof(text)), 0);
	assert_string_equal(text, "18446744073709551614");
	store_read_end(f->s, txn);
}

static void test_sum_text(void **state)
{
	struct ledger_sum zero = { 0, 0 }, max64 = { 0, UINT64_MAX }, two64 = { 1, 0 }, max = { UINT64_MAX, UINT64_MAX };
	char text[LEDGER_SUM_TEXT];
	(void)state;
	assert_int_equal(ledger_sum_text(&zero, text, sizeof(text)), 0);
	assert_string_equal(text, "0");
	assert_int_equal(ledger_sum_text(&max64, text, sizeof(text)), 0);
	assert_string_equal(text, "18446744073709551615");
	assert_int_equal(ledger_sum_text(&two64, text, sizeof(text)), 0);
	assert_string_equal(text, "18446744073709551616");
	assert_int_equal(ledger_sum_text(&max, text, sizeof(text)), 0);
	assert_string_equal(text, "340282366920938463463374607431768211455");
	assert_int_equal(strlen(text) + 1, LEDGER_SUM_TEXT);
	assert_int_equal(ledger_sum_text(&max64, text, 20), LEDGER_EINVAL);
	assert_int_equal(ledger_sum_text(&zero, text, 1), LEDGER_EINVAL);
}

/* An empty ledger: everything is zero, and the trial balance is balanced with no ledgers. */
static void test_empty_ledger(void **state)
{
	struct fixture *f = *state;
	struct ledger_trial t;
	struct ledger_balances b, zero = { 0 };
	struct ledger_id id = ledger_id_from_u64(1);
	MDB_txn *txn;
	make_account(f, 1, LEDGER_IDR, 0);
	assert_int_equal(store_read_begin(f->s, &txn), 0);
	assert_int_equal(ledger_balances_at(f->l, txn, &id, 0, &b), 0);
	assert_memory_equal(&b, &zero, sizeof(b));
	assert_int_equal(ledger_trial_balance(f->l, txn, 0, UINT64_MAX, NULL, NULL, &t), 0);
	assert_int_equal(t.n, 1);
	assert_int_equal(t.ledgers[0].accounts, 1);
	assert_true(t.ledgers[0].balanced);
	store_read_end(f->s, txn);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_build_has_every_kind, setup, teardown),
		cmocka_unit_test_setup_teardown(test_balances_at_every_seq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_account_period, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trial_balance_every_seq, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trial_totals_past_int64, setup, teardown),
		cmocka_unit_test(test_sum_text),
		cmocka_unit_test_setup_teardown(test_empty_ledger, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
