/*
 * A randomized model test of the ledger. Random batches of transfers (valid
 * and invalid mixed: limit flags, closed accounts, accounts on two ledgers,
 * amounts of 0, below 0 and near INT64_MAX, pending / post / void, linked
 * chains, repeated ids, changed retries, bad ids, flags and timestamps) go through
 * store_run, and a small reference model written here from the rules
 * (TigerBeetle's, as ledger.h states them) computes every event's result
 * and every balance on its own. After each batch every result must agree;
 * at checkpoints the balances, the head and the expiry sweep; at the end the
 * whole journal against the model and the hash chain.
 *
 * Environment: LEDGER_MODEL_SEED (the seed, printed on every run, so a
 * failure reproduces) and LEDGER_MODEL_EVENTS (default 100000; a sanitizer
 * run may lower it).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
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
#define EVENTS_DEFAULT 100000
#define BATCH_MAX_EVENTS 200
/* Accounts 1..NACC exist; NACC+1..NACC+PHANTOMS are never created. */
#define NACC 20
#define PHANTOMS 3
/* Accounts on the other ledger, the closed ones, and the ones huge amounts mostly use. */
#define OTHER_LEDGER 840
#define FIRST_OTHER 15
#define FIRST_CLOSED 13
#define FIRST_WHALE 17
/* Model ids of the two special 128-bit values (no event id reaches them). */
#define ID_MAX UINT64_MAX
#define ID_JUNK (UINT64_MAX - 1)
/* Batches between balance checkpoints, and between expiry sweeps. */
#define CHECK_EVERY 25
#define EXPIRE_EVERY 150
/* The sweep's clock: far enough ahead for the 3600 s timeouts, not the 7200 s ones. */
#define SWEEP_AHEAD_S 5000
#define HIST_CAP 16384
#define JOURNAL_PAGE 512

enum pend_status { P_NONE, P_OPEN, P_POSTED, P_VOIDED, P_EXPIRED };

struct macct {
	uint32_t ledger;
	uint16_t flags;
	int64_t dp, dpo, cp, cpo;   /* debits pending/posted, credits pending/posted */
};

/* A stored transfer as the model keeps it: effective fields, as the ledger stores them. */
struct mrec {
	bool exists;
	bool failed;                /* an event with this id failed for a transient reason: spent */
	uint8_t status;             /* pending transfers: enum pend_status */
	uint16_t flags;
	uint64_t dr, cr;
	int64_t amount;
	uint64_t pending_id;
	struct ledger_id ud128;
	uint64_t ud64;
	uint32_t ud32;
	uint32_t timeout;
	uint32_t ledger;
	uint16_t code;
	uint64_t seq;
	uint64_t timestamp;
};

/* What a failed chain must undo besides the balances. */
struct mundo {
	uint64_t id;                /* a transfer created by the chain ... */
	uint64_t pending;           /* ... or a pending transfer whose status it changed */
	uint8_t status;
};

struct model {
	uint64_t rng;
	struct macct acc[NACC + 1];          /* 1-based */
	struct macct saved[NACC + 1];
	struct mrec *rec;                    /* indexed by model id */
	uint64_t nrec;
	uint64_t seq;                        /* head: ok transfers plus expiries */
	uint64_t last_ts;
	struct mundo undo[BATCH_MAX_EVENTS * 2];
	size_t nundo;
	/* For the generator. */
	uint64_t next_id;                    /* new ids are 2k; odd ids fill in below */
	uint64_t *pendings;                  /* ids of pending transfers once created */
	size_t npendings;
	uint64_t *plains;
	size_t nplains;
	struct ledger_transfer hist[HIST_CAP];
	size_t nhist;
	/* Figures. */
	uint64_t counts[LEDGER_R_COUNT];
	uint64_t expired;
};

struct fixture {
	char dir[64];
	struct store *s;
	struct ledger *l;
	struct model *m;
};

struct batch_job {
	struct ledger *l;
	const struct ledger_transfer *in;
	struct ledger_transfer *out;
	size_t n;
	uint32_t *results;
};

struct expire_job {
	struct ledger *l;
	uint64_t now;
	size_t expired;
};

struct account_job {
	struct ledger *l;
	const struct ledger_account *in;   /* NACC accounts */
	uint32_t *results;
};

/* A 128-bit sum of balances (each below 2^63, a few dozen of them). */
struct sum {
	uint64_t hi, lo;
};

/* --- random numbers (splitmix64) --- */

static uint64_t rnd(struct model *m)
{
	uint64_t z = (m->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t below(struct model *m, uint64_t n)
{
	return n ? rnd(m) % n : 0;
}

static bool chance(struct model *m, unsigned percent)
{
	return below(m, 100) < percent;
}

/* --- ids --- */

static struct ledger_id mkid(struct model *m, uint64_t v)
{
	struct ledger_id id;
	if (v == ID_MAX) {
		memset(id.b, 0xff, sizeof(id.b));
	} else if (v == ID_JUNK) {
		uint64_t r = rnd(m);
		id = ledger_id_from_u64(rnd(m));
		memcpy(id.b, &r, 8);
		id.b[0] = 0x7f;
	} else {
		id = ledger_id_from_u64(v);
	}
	return id;
}

/* The model's number for an id: its low 64 bits, ID_MAX for all ones, ID_JUNK for anything else. */
static uint64_t mid(const struct ledger_id *id)
{
	bool ones = true;
	bool high_zero = true;
	uint64_t v = 0;
	for (int i = 0; i < 16; i++) {
		ones = ones && id->b[i] == 0xff;
		if (i < 8)
			high_zero = high_zero && id->b[i] == 0;
		else
			v = v << 8 | id->b[i];
	}
	if (ones)
		return ID_MAX;
	return high_zero ? v : ID_JUNK;
}

static bool same_id(const struct ledger_id *a, const struct ledger_id *b)
{
	return memcmp(a->b, b->b, 16) == 0;
}

static struct macct *account_of(struct model *m, uint64_t id)
{
	return id >= 1 && id <= NACC ? &m->acc[id] : NULL;
}

static struct mrec *record_of(struct model *m, uint64_t id)
{
	return id < m->nrec && m->rec[id].exists ? &m->rec[id] : NULL;
}

static bool id_failed(const struct model *m, uint64_t id)
{
	return id < m->nrec && m->rec[id].failed;
}

/* An event that failed for a transient reason spends its id, unless the id names a transfer that exists. */
static void model_note_failure(struct model *m, uint64_t id, uint32_t result)
{
	if (ledger_result_is_transient(result) && id < m->nrec && !m->rec[id].exists)
		m->rec[id].failed = true;
}

/* a + b > INT64_MAX, for a, b >= 0. */
static bool overflows(int64_t a, int64_t b)
{
	return b > INT64_MAX - a;
}

/* --- the model: one event --- */

static uint32_t model_exists(const struct ledger_transfer *t, const struct mrec *e)
{
	if (t->flags != e->flags)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_FLAGS;
	if (mid(&t->pending_id) != e->pending_id)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_PENDING_ID;
	if (t->timeout != e->timeout)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_TIMEOUT;
	if (mid(&t->debit_account_id) != e->dr)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID;
	if (mid(&t->credit_account_id) != e->cr)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID;
	if (t->amount != e->amount)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_AMOUNT;
	if (!same_id(&t->user_data_128, &e->ud128))
		return LEDGER_R_EXISTS_WITH_DIFFERENT_USER_DATA_128;
	if (t->user_data_64 != e->ud64)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_USER_DATA_64;
	if (t->user_data_32 != e->ud32)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_USER_DATA_32;
	if (t->ledger != e->ledger)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_LEDGER;
	if (t->code != e->code)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_CODE;
	return LEDGER_R_EXISTS;
}

/*
 * A post or void that exists: fields left zero are the pending transfer's,
 * and the amount compared is the one it would move (all of the pending
 * amount for LEDGER_AMOUNT_MAX on a post, or 0 on a void).
 */
static uint32_t model_exists_resolving(const struct ledger_transfer *t, int64_t amount, const struct mrec *e)
{
	uint64_t dr = mid(&t->debit_account_id);
	uint64_t cr = mid(&t->credit_account_id);
	if (t->flags != e->flags)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_FLAGS;
	if (mid(&t->pending_id) != e->pending_id)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_PENDING_ID;
	if (dr != 0 && dr != e->dr)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID;
	if (cr != 0 && cr != e->cr)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID;
	if (amount != e->amount)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_AMOUNT;
	if (!same_id(&t->user_data_128, &e->ud128))
		return LEDGER_R_EXISTS_WITH_DIFFERENT_USER_DATA_128;
	if (t->user_data_64 != e->ud64)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_USER_DATA_64;
	if (t->user_data_32 != e->ud32)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_USER_DATA_32;
	if (t->ledger != 0 && t->ledger != e->ledger)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_LEDGER;
	if (t->code != 0 && t->code != e->code)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_CODE;
	return LEDGER_R_EXISTS;
}

/* Stores an ok transfer: the next sequence, the ledger's timestamp, an undo record. */
static void model_store(struct model *m, uint64_t id, const struct mrec *r, const struct ledger_transfer *out)
{
	struct mrec *dst;
	assert_true(id < m->nrec);
	dst = &m->rec[id];
	*dst = *r;
	dst->exists = true;
	dst->seq = ++m->seq;
	dst->timestamp = out->timestamp;
	m->undo[m->nundo++] = (struct mundo){ .id = id };
}

static void model_fill(struct mrec *r, const struct ledger_transfer *t)
{
	memset(r, 0, sizeof(*r));
	r->flags = t->flags;
	r->dr = mid(&t->debit_account_id);
	r->cr = mid(&t->credit_account_id);
	r->amount = t->amount;
	r->pending_id = mid(&t->pending_id);
	r->ud128 = t->user_data_128;
	r->ud64 = t->user_data_64;
	r->ud32 = t->user_data_32;
	r->timeout = t->timeout;
	r->ledger = t->ledger;
	r->code = t->code;
}

/* A plain or pending transfer. */
static uint32_t model_create(struct model *m, const struct ledger_transfer *t, const struct ledger_transfer *out)
{
	uint64_t id = mid(&t->id);
	uint64_t dr_id = mid(&t->debit_account_id);
	uint64_t cr_id = mid(&t->credit_account_id);
	bool pending = t->flags & LEDGER_PENDING;
	int64_t amount = t->amount;
	struct macct *dr;
	struct macct *cr;
	struct mrec *e;
	struct mrec r;

	if (dr_id == 0)
		return LEDGER_R_DEBIT_ACCOUNT_ID_MUST_NOT_BE_ZERO;
	if (dr_id == ID_MAX)
		return LEDGER_R_DEBIT_ACCOUNT_ID_MUST_NOT_BE_INT_MAX;
	if (cr_id == 0)
		return LEDGER_R_CREDIT_ACCOUNT_ID_MUST_NOT_BE_ZERO;
	if (cr_id == ID_MAX)
		return LEDGER_R_CREDIT_ACCOUNT_ID_MUST_NOT_BE_INT_MAX;
	if (same_id(&t->debit_account_id, &t->credit_account_id))
		return LEDGER_R_ACCOUNTS_MUST_BE_DIFFERENT;
	if (mid(&t->pending_id) != 0)
		return LEDGER_R_PENDING_ID_MUST_BE_ZERO;
	if (!pending && t->timeout != 0)
		return LEDGER_R_TIMEOUT_RESERVED_FOR_PENDING_TRANSFER;
	if (t->ledger == 0)
		return LEDGER_R_LEDGER_MUST_NOT_BE_ZERO;
	if (t->code == 0)
		return LEDGER_R_CODE_MUST_NOT_BE_ZERO;
	if (amount == 0)
		return LEDGER_R_AMOUNT_MUST_NOT_BE_ZERO;
	if (amount < 0)
		return LEDGER_R_AMOUNT_MUST_NOT_BE_NEGATIVE;
	if (id_failed(m, id))
		return LEDGER_R_ID_ALREADY_FAILED;
	dr = account_of(m, dr_id);
	cr = account_of(m, cr_id);
	if (!dr)
		return LEDGER_R_DEBIT_ACCOUNT_NOT_FOUND;
	if (!cr)
		return LEDGER_R_CREDIT_ACCOUNT_NOT_FOUND;
	if (dr->ledger != cr->ledger)
		return LEDGER_R_ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER;
	if (t->ledger != dr->ledger)
		return LEDGER_R_TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS;
	if ((e = record_of(m, id)) != NULL)
		return model_exists(t, e);
	if (dr->flags & LEDGER_ACCOUNT_CLOSED)
		return LEDGER_R_DEBIT_ACCOUNT_ALREADY_CLOSED;
	if (cr->flags & LEDGER_ACCOUNT_CLOSED)
		return LEDGER_R_CREDIT_ACCOUNT_ALREADY_CLOSED;
	if (pending && overflows(dr->dp, amount))
		return LEDGER_R_OVERFLOWS_DEBITS_PENDING;
	if (pending && overflows(cr->cp, amount))
		return LEDGER_R_OVERFLOWS_CREDITS_PENDING;
	/* Posted sides too, pending or not: a pending transfer may be posted later. */
	if (overflows(dr->dpo, amount))
		return LEDGER_R_OVERFLOWS_DEBITS_POSTED;
	if (overflows(cr->cpo, amount))
		return LEDGER_R_OVERFLOWS_CREDITS_POSTED;
	if (overflows(dr->dp, dr->dpo) || overflows(dr->dp + dr->dpo, amount))
		return LEDGER_R_OVERFLOWS_DEBITS;
	if (overflows(cr->cp, cr->cpo) || overflows(cr->cp + cr->cpo, amount))
		return LEDGER_R_OVERFLOWS_CREDITS;
	/* No sum below overflows now. */
	if ((dr->flags & LEDGER_DEBITS_MUST_NOT_EXCEED_CREDITS) && dr->dp + dr->dpo + amount > dr->cpo)
		return LEDGER_R_EXCEEDS_CREDITS;
	if ((cr->flags & LEDGER_CREDITS_MUST_NOT_EXCEED_DEBITS) && cr->cp + cr->cpo + amount > cr->dpo)
		return LEDGER_R_EXCEEDS_DEBITS;

	if (pending) {
		dr->dp += amount;
		cr->cp += amount;
	} else {
		dr->dpo += amount;
		cr->cpo += amount;
	}
	model_fill(&r, t);
	r.status = pending ? P_OPEN : P_NONE;
	model_store(m, id, &r, out);
	return LEDGER_R_OK;
}

/* A post or void. Timeouts here are an hour or more: no deadline passes while the test runs. */
static uint32_t model_resolve(struct model *m, const struct ledger_transfer *t, const struct ledger_transfer *out)
{
	bool post = t->flags & LEDGER_POST_PENDING;
	uint64_t id = mid(&t->id);
	uint64_t pid = mid(&t->pending_id);
	uint64_t dr_id = mid(&t->debit_account_id);
	uint64_t cr_id = mid(&t->credit_account_id);
	struct mrec *p;
	struct mrec *e;
	struct macct *dr;
	struct macct *cr;
	struct mrec r;
	int64_t amount;

	if (pid == 0)
		return LEDGER_R_PENDING_ID_MUST_NOT_BE_ZERO;
	if (pid == ID_MAX)
		return LEDGER_R_PENDING_ID_MUST_NOT_BE_INT_MAX;
	if (same_id(&t->pending_id, &t->id))
		return LEDGER_R_PENDING_ID_MUST_BE_DIFFERENT;
	if (t->timeout != 0)
		return LEDGER_R_TIMEOUT_RESERVED_FOR_PENDING_TRANSFER;
	if (id_failed(m, id))
		return LEDGER_R_ID_ALREADY_FAILED;
	p = record_of(m, pid);
	if (!p)
		return LEDGER_R_PENDING_TRANSFER_NOT_FOUND;
	if (!(p->flags & LEDGER_PENDING))
		return LEDGER_R_PENDING_TRANSFER_NOT_PENDING;
	if (dr_id != 0 && dr_id != p->dr)
		return LEDGER_R_PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID;
	if (cr_id != 0 && cr_id != p->cr)
		return LEDGER_R_PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT_ID;
	if (t->ledger != 0 && t->ledger != p->ledger)
		return LEDGER_R_PENDING_TRANSFER_HAS_DIFFERENT_LEDGER;
	if (t->code != 0 && t->code != p->code)
		return LEDGER_R_PENDING_TRANSFER_HAS_DIFFERENT_CODE;
	if (t->amount < 0)
		return LEDGER_R_AMOUNT_MUST_NOT_BE_NEGATIVE;
	if (post) {
		if (t->amount == 0)
			return LEDGER_R_AMOUNT_MUST_NOT_BE_ZERO;
		amount = t->amount == LEDGER_AMOUNT_MAX ? p->amount : t->amount;
		if (amount > p->amount)
			return LEDGER_R_EXCEEDS_PENDING_TRANSFER_AMOUNT;
	} else {
		/* A void moves all of it: 0 or the pending amount, nothing else. */
		if (t->amount != 0 && t->amount != p->amount)
			return LEDGER_R_PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT;
		amount = p->amount;
	}
	if ((e = record_of(m, id)) != NULL)
		return model_exists_resolving(t, amount, e);
	if (p->status == P_POSTED)
		return LEDGER_R_PENDING_TRANSFER_ALREADY_POSTED;
	if (p->status == P_VOIDED)
		return LEDGER_R_PENDING_TRANSFER_ALREADY_VOIDED;
	if (p->status == P_EXPIRED)
		return LEDGER_R_PENDING_TRANSFER_EXPIRED;
	dr = account_of(m, p->dr);
	cr = account_of(m, p->cr);
	/* The pending transfer's own checks keep a post within bounds: no limit or overflow applies. */
	dr->dp -= p->amount;
	cr->cp -= p->amount;
	if (post) {
		dr->dpo += amount;
		cr->cpo += amount;
	}
	m->undo[m->nundo++] = (struct mundo){ .pending = pid, .status = p->status };
	p->status = post ? P_POSTED : P_VOIDED;
	model_fill(&r, t);
	r.dr = p->dr;
	r.cr = p->cr;
	r.ledger = p->ledger;
	r.code = p->code;
	r.amount = amount;
	model_store(m, id, &r, out);
	return LEDGER_R_OK;
}

static uint32_t model_event(struct model *m, const struct ledger_transfer *t, const struct ledger_transfer *out)
{
	uint16_t allowed = LEDGER_LINKED | LEDGER_PENDING | LEDGER_POST_PENDING | LEDGER_VOID_PENDING;
	uint64_t id = mid(&t->id);
	int kinds = !!(t->flags & LEDGER_PENDING) + !!(t->flags & LEDGER_POST_PENDING) +
		    !!(t->flags & LEDGER_VOID_PENDING);
	if (t->timestamp != 0)
		return LEDGER_R_TIMESTAMP_MUST_BE_ZERO;
	if (t->flags & ~allowed)
		return LEDGER_R_RESERVED_FLAG;
	if (id == 0)
		return LEDGER_R_ID_MUST_NOT_BE_ZERO;
	if (id == ID_MAX)
		return LEDGER_R_ID_MUST_NOT_BE_INT_MAX;
	if (kinds > 1)
		return LEDGER_R_FLAGS_ARE_MUTUALLY_EXCLUSIVE;
	if (t->flags & (LEDGER_POST_PENDING | LEDGER_VOID_PENDING))
		return model_resolve(m, t, out);
	return model_create(m, t, out);
}

/* Puts back everything a failed chain did. */
static void model_rollback(struct model *m, uint64_t seq)
{
	memcpy(m->acc, m->saved, sizeof(m->acc));
	while (m->nundo > 0) {
		struct mundo *u = &m->undo[--m->nundo];
		if (u->pending)
			m->rec[u->pending].status = u->status;
		else
			m->rec[u->id].exists = false;
	}
	m->seq = seq;
}

/*
 * A whole call, written after TigerBeetle's loop rather than the ledger's:
 * events in order; a linked event opens a chain when none is open. The last
 * event of the call, when linked, is not run (linked_event_chain_open);
 * after a chain broke, its later events are not run (linked_event_failed).
 * The event that breaks a chain keeps its own result, the chain's events
 * before it become linked_event_failed and all the chain did is undone. Only
 * an event that ran and failed for a transient reason spends its id, even
 * when its chain is undone.
 */
static void model_call(struct model *m, const struct ledger_transfer *in, const struct ledger_transfer *out,
		       size_t n, uint32_t *want)
{
	size_t chain = n;   /* the open chain's first event; n: none open */
	bool broken = false;
	uint64_t seq = m->seq;
	for (size_t i = 0; i < n; i++) {
		bool linked = in[i].flags & LEDGER_LINKED;
		if (chain == n) {
			m->nundo = 0;
			if (linked) {
				chain = i;
				seq = m->seq;
				memcpy(m->saved, m->acc, sizeof(m->acc));
			}
		}
		if (linked && i == n - 1) {
			want[i] = LEDGER_R_LINKED_EVENT_CHAIN_OPEN;
		} else if (broken) {
			want[i] = LEDGER_R_LINKED_EVENT_FAILED;
		} else {
			want[i] = model_event(m, &in[i], &out[i]);
			model_note_failure(m, mid(&in[i].id), want[i]);
		}
		if (want[i] != LEDGER_R_OK && want[i] != LEDGER_R_EXISTS && chain != n && !broken) {
			broken = true;
			model_rollback(m, seq);
			for (size_t k = chain; k < i; k++)
				want[k] = LEDGER_R_LINKED_EVENT_FAILED;
		}
		if (chain != n && (!linked || want[i] == LEDGER_R_LINKED_EVENT_CHAIN_OPEN)) {
			chain = n;
			broken = false;
		}
	}
}

/* The sweep at `now`: every open pending transfer whose deadline is at or before it. */
static uint64_t model_expire(struct model *m, uint64_t now)
{
	uint64_t n = 0;
	for (uint64_t id = 0; id < m->nrec; id++) {
		struct mrec *p = &m->rec[id];
		if (!p->exists || p->status != P_OPEN || p->timeout == 0 ||
		    p->timestamp + (uint64_t)p->timeout * NS_PER_S > now)
			continue;
		m->acc[p->dr].dp -= p->amount;
		m->acc[p->cr].cp -= p->amount;
		p->status = P_EXPIRED;
		m->seq++;
		n++;
	}
	return n;
}

/* --- the generator --- */

static uint64_t new_id(struct model *m)
{
	/* Mostly ascending, like time-ordered ids; sometimes an unused one below the newest. */
	if (m->next_id > 1 && chance(m, 7))
		return 2 * below(m, m->next_id) + 1;
	return 2 * ++m->next_id;
}

static uint64_t pick_account(struct model *m)
{
	unsigned r = (unsigned)below(m, 100);
	if (r < 95)
		return 1 + below(m, NACC);
	if (r < 97)
		return NACC + 1 + below(m, PHANTOMS);
	return r == 97 ? 0 : r == 98 ? ID_MAX : ID_JUNK;
}

static int64_t pick_amount(struct model *m)
{
	unsigned r = (unsigned)below(m, 1000);
	if (r < 760)
		return 1 + (int64_t)below(m, 1000);
	if (r < 900)
		return 1 + (int64_t)below(m, 100000);
	if (r < 930)
		return 0;
	if (r < 950)
		return -1 - (int64_t)below(m, 1000);
	if (r < 955)
		return INT64_MIN;
	if (r < 958)
		return INT64_MAX - (int64_t)below(m, 1000);
	if (r < 960)
		return INT64_MAX / 2 + (int64_t)below(m, 1000);
	if (r < 961)
		return INT64_MAX;
	return 1 + (int64_t)below(m, 50);
}

static uint32_t pick_ledger(struct model *m, uint64_t account)
{
	uint32_t own = account >= FIRST_OTHER && account < FIRST_WHALE ? OTHER_LEDGER : LEDGER_IDR;
	unsigned r = (unsigned)below(m, 100);
	if (r < 94)
		return own;
	if (r < 96)
		return 0;
	if (r < 98)
		return own == LEDGER_IDR ? OTHER_LEDGER : LEDGER_IDR;
	return 7;
}

static void pick_user_data(struct model *m, struct ledger_transfer *t)
{
	t->user_data_128 = ledger_id_from_u64(below(m, 4));
	if (chance(m, 2))
		t->user_data_128.b[0] = 0x80;
	t->user_data_64 = below(m, 4);
	t->user_data_32 = (uint32_t)below(m, 4);
}

/*
 * An amount at an edge, from the model's balances: exactly the room a limit
 * leaves the debit or credit account, or one more; or the same for the int64
 * range, but only on the accounts kept for huge amounts (an account filled
 * to INT64_MAX takes no more transfers).
 */
static int64_t pick_edge(struct model *m, uint64_t dr_id, uint64_t cr_id, int64_t fallback)
{
	const struct macct *dr = account_of(m, dr_id);
	const struct macct *cr = account_of(m, cr_id);
	int64_t room = 0;
	switch (below(m, 4)) {
	case 0:
		if (dr && (dr->flags & LEDGER_DEBITS_MUST_NOT_EXCEED_CREDITS))
			room = dr->cpo - dr->dp - dr->dpo;
		break;
	case 1:
		if (cr && (cr->flags & LEDGER_CREDITS_MUST_NOT_EXCEED_DEBITS))
			room = cr->dpo - cr->cp - cr->cpo;
		break;
	case 2:
		if (dr && cr && dr_id >= FIRST_WHALE && cr_id >= FIRST_WHALE)
			room = INT64_MAX - dr->dp - dr->dpo;
		break;
	default:
		if (dr && cr && dr_id >= FIRST_WHALE && cr_id >= FIRST_WHALE)
			room = INT64_MAX - cr->cp - cr->cpo;
		break;
	}
	if (room <= 0)
		return fallback;
	return room < INT64_MAX && chance(m, 50) ? room + 1 : room;
}

static void gen_create(struct model *m, struct ledger_transfer *t)
{
	uint64_t dr = pick_account(m);
	uint64_t cr = chance(m, 3) ? dr : pick_account(m);
	t->id = mkid(m, new_id(m));
	t->amount = pick_amount(m);
	/* Huge amounts mostly between the few accounts kept for them, so the rest stay usable. */
	if ((t->amount > INT64_MAX / 4) && chance(m, 80)) {
		dr = FIRST_WHALE + below(m, NACC - FIRST_WHALE + 1);
		cr = FIRST_WHALE + below(m, NACC - FIRST_WHALE + 1);
	}
	if (chance(m, 10))
		t->amount = pick_edge(m, dr, cr, t->amount);
	t->debit_account_id = mkid(m, dr);
	t->credit_account_id = mkid(m, cr);
	t->ledger = pick_ledger(m, dr);
	t->code = chance(m, 3) ? 0 : (uint16_t)(1 + below(m, 9));
	if (chance(m, 35)) {
		static const uint32_t timeouts[] = { 0, 0, 0, 0, 0, 0, 3600, 3600, 7200, UINT32_MAX };
		t->flags = LEDGER_PENDING;
		t->timeout = timeouts[below(m, 10)];
	} else if (chance(m, 2)) {
		t->timeout = 1 + (uint32_t)below(m, 100);
	}
	if (chance(m, 2))
		t->pending_id = mkid(m, m->npendings ? m->pendings[below(m, m->npendings)] : 1);
	pick_user_data(m, t);
}

static void gen_resolve(struct model *m, struct ledger_transfer *t)
{
	unsigned r = (unsigned)below(m, 100);
	uint64_t pid;
	const struct mrec *p;
	int64_t p_amount;

	t->id = mkid(m, new_id(m));
	if (r < 86)
		pid = m->pendings[below(m, m->npendings)];
	else if (r < 90)
		pid = m->nplains ? m->plains[below(m, m->nplains)] : 2;
	else if (r < 94)
		pid = 2 * (m->next_id + 1000 + below(m, 1000));
	else if (r < 97)
		pid = 0;
	else if (r < 99)
		pid = ID_MAX;
	else
		pid = mid(&t->id);
	t->pending_id = mkid(m, pid);
	p = record_of(m, pid);
	p_amount = p ? p->amount : 1 + (int64_t)below(m, 1000);
	if (chance(m, 55)) {
		t->flags = LEDGER_POST_PENDING;
		r = (unsigned)below(m, 100);
		if (r < 40)
			t->amount = LEDGER_AMOUNT_MAX;
		else if (r < 75)
			t->amount = 1 + (int64_t)below(m, (uint64_t)p_amount);
		else if (r < 85)
			t->amount = p_amount;
		else if (r < 90)
			t->amount = p_amount < INT64_MAX ? p_amount + 1 : 1;
		else if (r < 95)
			t->amount = 0;
		else
			t->amount = -1 - (int64_t)below(m, 10);
	} else {
		t->flags = LEDGER_VOID_PENDING;
		r = (unsigned)below(m, 100);
		if (r < 65)
			t->amount = 0;
		else if (r < 85)
			t->amount = p_amount;
		else if (r < 90)
			t->amount = LEDGER_AMOUNT_MAX;
		else
			t->amount = (int64_t)below(m, 1000) - 10;
	}
	r = (unsigned)below(m, 100);
	if (r < 8 && p) {
		/* Naming the pending transfer's own values is the same as leaving them zero. */
		t->debit_account_id = mkid(m, p->dr);
		t->credit_account_id = mkid(m, p->cr);
		t->ledger = p->ledger;
		t->code = p->code;
	} else if (r < 11) {
		t->debit_account_id = mkid(m, pick_account(m));
	} else if (r < 13) {
		t->credit_account_id = mkid(m, pick_account(m));
	} else if (r < 15) {
		t->ledger = pick_ledger(m, 1);
	} else if (r < 17) {
		t->code = (uint16_t)(1 + below(m, 9));
	}
	if (chance(m, 2))
		t->timeout = 3600;
	pick_user_data(m, t);
}

/* An earlier event again, as it was or with one field changed. */
static void gen_replay(struct model *m, struct ledger_transfer *t)
{
	*t = m->hist[below(m, m->nhist < HIST_CAP ? m->nhist : HIST_CAP)];
	if (chance(m, 55))
		return;
	switch (below(m, 11)) {
	case 0:
		t->flags ^= chance(m, 50) ? LEDGER_PENDING : LEDGER_LINKED;
		break;
	case 1:
		t->pending_id = mkid(m, m->pendings[below(m, m->npendings)]);
		break;
	case 2:
		t->timeout = t->timeout ? 0 : 3600;
		break;
	case 3:
		t->debit_account_id = mkid(m, pick_account(m));
		break;
	case 4:
		t->credit_account_id = mkid(m, pick_account(m));
		break;
	case 5:
		t->amount = chance(m, 50) && t->amount < INT64_MAX ? t->amount + 1 : pick_amount(m);
		break;
	case 6:
		t->user_data_128.b[15] ^= 1;
		break;
	case 7:
		t->user_data_64++;
		break;
	case 8:
		t->user_data_32++;
		break;
	case 9:
		t->ledger = t->ledger == LEDGER_IDR ? OTHER_LEDGER : LEDGER_IDR;
		break;
	default:
		t->code = (uint16_t)(t->code % 9 + 1);
		break;
	}
}

/* A plain transfer with one thing wrong before any account is read. */
static void gen_junk(struct model *m, struct ledger_transfer *t)
{
	gen_create(m, t);
	switch (below(m, 7)) {
	case 0:
		t->flags = (uint16_t)rnd(m);
		break;
	case 1:
		t->flags |= LEDGER_EXPIRY;
		break;
	case 2:
		t->flags = (uint16_t)(LEDGER_PENDING | (chance(m, 50) ? LEDGER_POST_PENDING : LEDGER_VOID_PENDING));
		break;
	case 3:
		t->flags = LEDGER_POST_PENDING | LEDGER_VOID_PENDING;
		break;
	case 4:
		t->id = mkid(m, 0);
		break;
	case 5:
		t->timestamp = 1 + below(m, UINT64_MAX - 1);
		break;
	default:
		t->id = mkid(m, ID_MAX);
		break;
	}
}

static void gen_event(struct model *m, struct ledger_transfer *t)
{
	unsigned r = (unsigned)below(m, 100);
	memset(t, 0, sizeof(*t));
	if (r < 14 && m->nhist > 0) {
		gen_replay(m, t);
	} else {
		if (r < 34 && m->npendings > 0)
			gen_resolve(m, t);
		else if (r < 37)
			gen_junk(m, t);
		else
			gen_create(m, t);
		if (chance(m, 12))
			t->flags |= LEDGER_LINKED;
	}
	m->hist[m->nhist++ % HIST_CAP] = *t;
}

/* Remembers the ids of ok transfers for later posts, voids and replays. */
static void gen_learn(struct model *m, const struct ledger_transfer *in, const uint32_t *results, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t id = mid(&in[i].id);
		if (results[i] != LEDGER_R_OK)
			continue;
		if (in[i].flags & LEDGER_PENDING)
			m->pendings[m->npendings++] = id;
		else if (!(in[i].flags & (LEDGER_POST_PENDING | LEDGER_VOID_PENDING)))
			m->plains[m->nplains++] = id;
	}
}

/* --- running it --- */

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct store_config cfg = { .map_size = 256 * MIB, .map_max = 4096 * MIB, .group_commit = true };
	if (!f)
		return -1;
	*state = f;
	strcpy(f->dir, "/tmp/test-ledger-model-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	cfg.path = f->dir;
	if (store_open(&cfg, &f->s) != 0 || ledger_open(f->s, &f->l) != 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (f->m) {
		free(f->m->rec);
		free(f->m->pendings);
		free(f->m->plains);
		free(f->m);
	}
	ledger_close(f->l);
	store_close(f->s);
	testsrv_rmtree(f->dir);
	free(f);
	return 0;
}

static int batch_apply(MDB_txn *txn, void *arg)
{
	struct batch_job *j = arg;
	memcpy(j->out, j->in, j->n * sizeof(*j->out));
	return ledger_create_transfers(j->l, txn, j->out, j->n, j->results);
}

static int expire_apply(MDB_txn *txn, void *arg)
{
	struct expire_job *j = arg;
	size_t n = 0;
	j->expired = 0;
	do {
		int rc = ledger_expire(j->l, txn, j->now, 1000, &n);
		if (rc != 0)
			return rc;
		j->expired += n;
	} while (n > 0);
	return 0;
}

static int account_apply(MDB_txn *txn, void *arg)
{
	struct account_job *j = arg;
	struct ledger_account copy[NACC];
	memcpy(copy, j->in, sizeof(copy));
	return ledger_create_accounts(j->l, txn, copy, NACC, j->results);
}

static uint64_t env_u64(const char *name, uint64_t fallback)
{
	const char *v = getenv(name);
	return v && *v ? strtoull(v, NULL, 0) : fallback;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* Creates the accounts: random limit flags, two closed, two on the other ledger. */
static void create_model_accounts(struct fixture *f)
{
	struct model *m = f->m;
	struct ledger_account a[NACC];
	uint32_t results[NACC];
	struct account_job j = { f->l, a, results };

	memset(a, 0, sizeof(a));
	for (uint64_t id = 1; id <= NACC; id++) {
		static const uint16_t first[] = { LEDGER_DEBITS_MUST_NOT_EXCEED_CREDITS,
						  LEDGER_CREDITS_MUST_NOT_EXCEED_DEBITS, 0 };
		struct ledger_account *x = &a[id - 1];
		unsigned r = (unsigned)below(m, 100);
		x->id = ledger_id_from_u64(id);
		snprintf(x->name, sizeof(x->name), "model:%02u", (unsigned)id);
		x->ledger = id >= FIRST_OTHER && id < FIRST_WHALE ? OTHER_LEDGER : LEDGER_IDR;
		x->code = 1;
		/* One of each kind for sure, the rest at random. */
		if (id <= 3)
			x->flags = first[id - 1];
		else
			x->flags = r < 35 ? LEDGER_DEBITS_MUST_NOT_EXCEED_CREDITS :
				   r < 55 ? LEDGER_CREDITS_MUST_NOT_EXCEED_DEBITS : 0;
		if (id >= FIRST_CLOSED && id < FIRST_CLOSED + 2)
			x->flags |= LEDGER_ACCOUNT_CLOSED;
		m->acc[id].ledger = x->ledger;
		m->acc[id].flags = x->flags;
	}
	assert_int_equal(store_run(f->s, account_apply, &j), 0);
	for (size_t i = 0; i < NACC; i++)
		assert_int_equal(results[i], LEDGER_R_OK);
}

static void print_event(const char *what, const struct ledger_transfer *t)
{
	char id[33];
	char pid[33];
	char dr[33];
	char cr[33];
	ledger_id_hex(&t->id, id, sizeof(id));
	ledger_id_hex(&t->pending_id, pid, sizeof(pid));
	ledger_id_hex(&t->debit_account_id, dr, sizeof(dr));
	ledger_id_hex(&t->credit_account_id, cr, sizeof(cr));
	print_error("%s: id %s flags 0x%x debit %s credit %s amount %" PRId64 " pending %s timeout %" PRIu32
		    " ledger %" PRIu32 " code %u ud %" PRIu64 "/%" PRIu32 "\n",
		    what, id, t->flags, dr, cr, t->amount, pid, t->timeout, t->ledger, t->code, t->user_data_64,
		    t->user_data_32);
}

/*
 * Compares one call's results (and, for ok and exists, the sequence and
 * timestamp handed back) with the model's. Returns false after printing the
 * first difference.
 */
static bool compare_call(struct model *m, const struct ledger_transfer *in, const struct ledger_transfer *out,
			 size_t n, const uint32_t *got, const uint32_t *want, uint64_t batch)
{
	for (size_t i = 0; i < n; i++) {
		const struct mrec *r = record_of(m, mid(&in[i].id));
		bool bad = got[i] != want[i];
		if (!bad && want[i] == LEDGER_R_OK) {
			bad = !r || out[i].seq != r->seq || out[i].timestamp <= m->last_ts;
			m->last_ts = out[i].timestamp;
		} else if (!bad && want[i] == LEDGER_R_EXISTS) {
			bad = !r || out[i].seq != r->seq || out[i].timestamp != r->timestamp;
		} else if (!bad) {
			/* A failed event, one undone with its chain too, hands nothing back. */
			bad = out[i].seq != in[i].seq || out[i].timestamp != in[i].timestamp;
		}
		if (bad) {
			print_error("batch %" PRIu64 " event %zu of %zu: ledger %s, model %s\n", batch, i, n,
				    ledger_result_name(got[i]), ledger_result_name(want[i]));
			print_event("event", &in[i]);
			if (r)
				print_error("model: stored seq %" PRIu64 " ts %" PRIu64 ", ledger: seq %" PRIu64
					    " ts %" PRIu64 "\n",
					    r->seq, r->timestamp, out[i].seq, out[i].timestamp);
			for (size_t k = i > 3 ? i - 3 : 0; k < i; k++)
				print_event("before", &in[k]);
			return false;
		}
		m->counts[want[i]]++;
	}
	return true;
}

static void sum_add(struct sum *s, int64_t v)
{
	s->lo += (uint64_t)v;
	s->hi += s->lo < (uint64_t)v;
}

/* Every account's four balances, the phantoms' absence, the head, and the sums. */
static void checkpoint(struct fixture *f, uint64_t batch)
{
	struct model *m = f->m;
	struct ledger_account a[NACC + PHANTOMS + 1];
	int rcs[NACC + PHANTOMS + 1];
	uint8_t hash[LEDGER_HASH_LEN];
	uint64_t head = 0;
	struct sum dp = { 0, 0 }, cp = { 0, 0 }, dpo = { 0, 0 }, cpo = { 0, 0 };
	MDB_txn *txn;
	int rc;

	assert_int_equal(store_read_begin(f->s, &txn), 0);
	for (uint64_t id = 1; id <= NACC + PHANTOMS; id++) {
		struct ledger_id lid = ledger_id_from_u64(id);
		rcs[id] = ledger_account_get(f->l, txn, &lid, &a[id]);
	}
	rc = ledger_head(f->l, txn, &head, hash);
	store_read_end(f->s, txn);
	assert_int_equal(rc, 0);
	for (uint64_t id = NACC + 1; id <= NACC + PHANTOMS; id++)
		assert_int_equal(rcs[id], STORE_ENOTFOUND);
	for (uint64_t id = 1; id <= NACC; id++) {
		const struct macct *x = &m->acc[id];
		assert_int_equal(rcs[id], 0);
		if (a[id].debits_pending != x->dp || a[id].debits_posted != x->dpo ||
		    a[id].credits_pending != x->cp || a[id].credits_posted != x->cpo)
			fail_msg("batch %" PRIu64 ": account %" PRIu64 ": ledger %" PRId64 "/%" PRId64 "/%" PRId64
				 "/%" PRId64 ", model %" PRId64 "/%" PRId64 "/%" PRId64 "/%" PRId64,
				 batch, id, a[id].debits_pending, a[id].debits_posted, a[id].credits_pending,
				 a[id].credits_posted, x->dp, x->dpo, x->cp, x->cpo);
		sum_add(&dp, a[id].debits_pending);
		sum_add(&cp, a[id].credits_pending);
		sum_add(&dpo, a[id].debits_posted);
		sum_add(&cpo, a[id].credits_posted);
	}
	if (head != m->seq)
		fail_msg("batch %" PRIu64 ": head %" PRIu64 ", model %" PRIu64, batch, head, m->seq);
	/* Double entry: all debits equal all credits, pending and posted alike. */
	assert_true(dp.hi == cp.hi && dp.lo == cp.lo);
	assert_true(dpo.hi == cpo.hi && dpo.lo == cpo.lo);
}

/*
 * The journal against the model: every entry is an ok transfer of the
 * model with its sequence and effective fields, or an expiry of a pending
 * transfer the model expired; the hash chain and each account's history
 * links are sound; and the total debits equal the total credits.
 */
static void check_journal(struct fixture *f)
{
	struct model *m = f->m;
	struct ledger_entry *page = calloc(JOURNAL_PAGE, sizeof(*page));
	uint8_t hash[LEDGER_HASH_LEN] = { 0 };
	uint8_t next[LEDGER_HASH_LEN];
	uint8_t head_hash[LEDGER_HASH_LEN];
	uint8_t canonical[LEDGER_CANONICAL_LEN];
	uint64_t last[NACC + 1] = { 0 };
	uint64_t seq = 1;
	uint64_t head = 0;
	uint64_t expiries = 0;
	size_t n;
	MDB_txn *txn;
	int rc;

	assert_non_null(page);
	do {
		assert_int_equal(store_read_begin(f->s, &txn), 0);
		rc = ledger_journal(f->l, txn, seq, JOURNAL_PAGE, page, &n);
		store_read_end(f->s, txn);
		assert_int_equal(rc, 0);
		for (size_t i = 0; i < n; i++, seq++) {
			const struct ledger_entry *e = &page[i];
			uint64_t dr = mid(&e->t.debit_account_id);
			uint64_t cr = mid(&e->t.credit_account_id);
			const struct mrec *r;
			assert_int_equal(e->t.seq, seq);
			ledger_entry_encode(e, canonical);
			ledger_chain(hash, canonical, next);
			memcpy(hash, next, sizeof(hash));
			assert_memory_equal(e->hash, hash, LEDGER_HASH_LEN);
			assert_true(dr >= 1 && dr <= NACC && cr >= 1 && cr <= NACC);
			assert_int_equal(e->debit_prev_seq, last[dr]);
			assert_int_equal(e->credit_prev_seq, last[cr]);
			last[dr] = last[cr] = seq;
			if (e->t.flags & LEDGER_EXPIRY) {
				r = record_of(m, mid(&e->t.pending_id));
				assert_non_null(r);
				assert_int_equal(r->status, P_EXPIRED);
				assert_int_equal(e->t.amount, r->amount);
				assert_int_equal(dr, r->dr);
				assert_int_equal(cr, r->cr);
				expiries++;
				continue;
			}
			r = record_of(m, mid(&e->t.id));
			if (!r || r->seq != seq)
				fail_msg("entry %" PRIu64 ": not an ok transfer of the model", seq);
			assert_int_equal(e->t.flags, r->flags);
			assert_int_equal(dr, r->dr);
			assert_int_equal(cr, r->cr);
			assert_int_equal(e->t.amount, r->amount);
			assert_int_equal(mid(&e->t.pending_id), r->pending_id);
			assert_int_equal(e->t.ledger, r->ledger);
			assert_int_equal(e->t.code, r->code);
			assert_int_equal(e->t.timestamp, r->timestamp);
		}
	} while (n == JOURNAL_PAGE);
	free(page);
	assert_int_equal(seq - 1, m->seq);
	assert_int_equal(expiries, m->expired);
	assert_int_equal(store_read_begin(f->s, &txn), 0);
	rc = ledger_head(f->l, txn, &head, head_hash);
	store_read_end(f->s, txn);
	assert_int_equal(rc, 0);
	assert_int_equal(head, m->seq);
	assert_memory_equal(head_hash, hash, LEDGER_HASH_LEN);
	for (uint64_t id = 1; id <= NACC; id++) {
		struct ledger_account a;
		struct ledger_id lid = ledger_id_from_u64(id);
		assert_int_equal(store_read_begin(f->s, &txn), 0);
		rc = ledger_account_get(f->l, txn, &lid, &a);
		store_read_end(f->s, txn);
		assert_int_equal(rc, 0);
		assert_int_equal(a.last_seq, last[id]);
	}
}

/* The sweep, far enough ahead to expire the hour-long pending transfers. */
static void sweep(struct fixture *f, uint64_t batch)
{
	struct expire_job j = { f->l, now_ns() + SWEEP_AHEAD_S * NS_PER_S, 0 };
	uint64_t want;
	assert_int_equal(store_run(f->s, expire_apply, &j), 0);
	want = model_expire(f->m, j.now);
	f->m->expired += want;
	if (j.expired != want)
		fail_msg("batch %" PRIu64 ": the sweep expired %zu, the model %" PRIu64, batch, j.expired, want);
}

static void test_model(void **state)
{
	struct fixture *f = *state;
	uint64_t seed = env_u64("LEDGER_MODEL_SEED", now_ns() ^ ((uint64_t)getpid() << 32));
	uint64_t events = env_u64("LEDGER_MODEL_EVENTS", EVENTS_DEFAULT);
	struct ledger_transfer in[BATCH_MAX_EVENTS];
	struct ledger_transfer out[BATCH_MAX_EVENTS];
	uint32_t got[BATCH_MAX_EVENTS];
	uint32_t want[BATCH_MAX_EVENTS];
	struct model *m;
	uint64_t done = 0;
	uint64_t batch = 0;
	uint64_t started = now_ns();
	unsigned distinct = 0;

	printf("ledger model: LEDGER_MODEL_SEED=%" PRIu64 " LEDGER_MODEL_EVENTS=%" PRIu64 "\n", seed, events);
	fflush(stdout);
	m = f->m = calloc(1, sizeof(*m));
	assert_non_null(m);
	m->rng = seed;
	/* Ids go up to about twice the events, plus the unknown pending ids the generator makes. */
	m->nrec = 2 * events + 8192;
	m->rec = calloc(m->nrec, sizeof(*m->rec));
	m->pendings = calloc(events + 1, sizeof(*m->pendings));
	m->plains = calloc(events + 1, sizeof(*m->plains));
	assert_non_null(m->rec);
	assert_non_null(m->pendings);
	assert_non_null(m->plains);
	create_model_accounts(f);

	while (done < events) {
		size_t n = 1 + below(m, BATCH_MAX_EVENTS);
		struct batch_job j = { f->l, in, out, n, got };
		if (n > events - done)
			n = j.n = events - done;
		for (size_t i = 0; i < n; i++)
			gen_event(m, &in[i]);
		assert_int_equal(store_run(f->s, batch_apply, &j), 0);
		model_call(m, in, out, n, want);
		if (!compare_call(m, in, out, n, got, want, batch))
			fail_msg("seed %" PRIu64 ": the ledger and the model disagree", seed);
		gen_learn(m, in, got, n);
		done += n;
		batch++;
		if (batch % EXPIRE_EVERY == 0)
			sweep(f, batch);
		if (batch % CHECK_EVERY == 0)
			checkpoint(f, batch);
	}
	sweep(f, batch);
	checkpoint(f, batch);
	check_journal(f);

	for (uint32_t r = 0; r < LEDGER_R_COUNT; r++)
		distinct += m->counts[r] > 0;
	printf("ledger model: %" PRIu64 " events in %" PRIu64 " calls, %" PRIu64 " entries (%" PRIu64
	       " expiries), %u distinct results, %.1f s\n",
	       done, batch, m->seq, m->expired, distinct, (double)(now_ns() - started) / 1e9);
	for (uint32_t r = 0; r < LEDGER_R_COUNT; r++)
		if (m->counts[r])
			printf("  %-50s %" PRIu64 "\n", ledger_result_name(r), m->counts[r]);
	/* A generator that drifted into producing one kind of event would prove little. */
	if (events >= 50000) {
		static const uint32_t must[] = {
			LEDGER_R_OK,
			LEDGER_R_EXISTS,
			LEDGER_R_LINKED_EVENT_FAILED,
			LEDGER_R_LINKED_EVENT_CHAIN_OPEN,
			LEDGER_R_EXCEEDS_CREDITS,
			LEDGER_R_EXCEEDS_DEBITS,
			LEDGER_R_PENDING_TRANSFER_ALREADY_POSTED,
			LEDGER_R_PENDING_TRANSFER_ALREADY_VOIDED,
			LEDGER_R_PENDING_TRANSFER_EXPIRED,
			LEDGER_R_EXCEEDS_PENDING_TRANSFER_AMOUNT,
			LEDGER_R_EXISTS_WITH_DIFFERENT_AMOUNT,
			LEDGER_R_EXISTS_WITH_DIFFERENT_FLAGS,
			LEDGER_R_DEBIT_ACCOUNT_ALREADY_CLOSED,
			LEDGER_R_ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER,
			LEDGER_R_ID_ALREADY_FAILED,
			LEDGER_R_TIMESTAMP_MUST_BE_ZERO,
		};
		for (size_t i = 0; i < sizeof(must) / sizeof(must[0]); i++)
			if (m->counts[must[i]] == 0)
				fail_msg("no event got %s", ledger_result_name(must[i]));
		assert_true(m->counts[LEDGER_R_OK] >= events / 10);
		assert_true(distinct >= 40);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_model, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
