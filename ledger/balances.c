/*
 * Balances as of a point: an account's balances after any entry, account
 * statements with opening and closing balances, and the trial balance.
 *
 * Everything is derived from the stored entries and the current balances,
 * never guessed: an account's history is walked back from its newest entry
 * (each entry names the account's previous one), taking each entry's
 * effect back, so the cost follows the entries after the point. The effect
 * of an entry is the table of docs/ledger.md ("Balance effects"); a post's
 * entry holds the posted amount, so the reservation it releases is read
 * from the pending transfer's record.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "store.h"

#define BAL_KINDS (LEDGER_PENDING | LEDGER_POST_PENDING | LEDGER_VOID_PENDING)

/* What one entry does to each of its two accounts: the debit side's debits, the credit side's credits. */
struct bal_move {
	int64_t pending, posted;
};


/* The reservation a post releases: the amount of the pending transfer it names. */
static int bal_pending_amount(struct ledger *l, MDB_txn *txn, const struct ledger_id *pending_id, int64_t *amount)
{
	MDB_val k = { sizeof(pending_id->b), (void *)pending_id->b }, v;
	struct ledger_pending p;
	int rc = mdb_get(txn, l->pending, &k, &v);
	if (rc != 0)
		return rc == MDB_NOTFOUND ? LEDGER_ECORRUPT : store_status_from_mdb(rc);
	rc = ledger_pending_decode(v.mv_data, v.mv_size, &p);
	if (rc != LEDGER_OK)
		return rc;
	*amount = p.amount;
	return LEDGER_OK;
}

int ledger_entry_move(const struct ledger_transfer *t, int64_t reserved, int64_t *pending, int64_t *posted)
{
	*pending = 0;
	*posted = 0;
	/* The decoder admits amounts of 1..INT64_MAX only, so every negation here is exact. */
	switch (t->flags & BAL_KINDS) {
	case 0:
		*posted = t->amount;
		return LEDGER_OK;
	case LEDGER_PENDING:
		*pending = t->amount;
		return LEDGER_OK;
	case LEDGER_VOID_PENDING:
		*pending = -t->amount;
		return LEDGER_OK;
	case LEDGER_POST_PENDING:
		*pending = -reserved;
		*posted = t->amount;
		return LEDGER_OK;
	default:
		return LEDGER_ECORRUPT;
	}
}

static int bal_move_of(struct ledger *l, MDB_txn *txn, const struct ledger_entry *e, struct bal_move *m)
{
	int64_t reserved = 0;
	int rc;
	if ((e->t.flags & BAL_KINDS) == LEDGER_POST_PENDING &&
	    (rc = bal_pending_amount(l, txn, &e->t.pending_id, &reserved)) != LEDGER_OK)
		return rc;
	return ledger_entry_move(&e->t, reserved, &m->pending, &m->posted);
}

static bool bal_add(int64_t *x, int64_t d)
{
	if ((d > 0 && *x > INT64_MAX - d) || (d < 0 && *x < INT64_MIN - d))
		return false;
	*x += d;
	return true;
}

static bool bal_sub(int64_t *x, int64_t d)
{
	if ((d < 0 && *x > INT64_MAX + d) || (d > 0 && *x < INT64_MIN + d))
		return false;
	*x -= d;
	return true;
}

/* Adds (sign 1) or takes back (sign -1) a move on one side. LEDGER_ECORRUPT on int64 overflow. */
static int bal_apply(struct ledger_balances *b, bool debit, const struct bal_move *m, int sign)
{
	bool ok = debit ? bal_add(&b->debits_pending, sign * m->pending) && bal_add(&b->debits_posted, sign * m->posted)
			: bal_add(&b->credits_pending, sign * m->pending) &&
				  bal_add(&b->credits_posted, sign * m->posted);
	return ok ? LEDGER_OK : LEDGER_ECORRUPT;
}

/* A state an account can be in: every balance in 0..INT64_MAX. */
static bool bal_valid(const struct ledger_balances *b)
{
	return b->debits_pending >= 0 && b->debits_posted >= 0 && b->credits_pending >= 0 && b->credits_posted >= 0;
}

static void bal_of_account(const struct ledger_account *a, struct ledger_balances *out)
{
	out->debits_pending = a->debits_pending;
	out->debits_posted = a->debits_posted;
	out->credits_pending = a->credits_pending;
	out->credits_posted = a->credits_posted;
}

static int bal_check_seq(struct ledger *l, MDB_txn *txn, uint64_t seq)
{
	uint8_t hash[LEDGER_HASH_LEN];
	uint64_t head;
	int rc = ledger_head(l, txn, &head, hash);
	if (rc != LEDGER_OK)
		return rc;
	return seq > head ? LEDGER_EINVAL : LEDGER_OK;
}

/* --- one account's history, walked back --- */

/* Sees entry e of the walked account with `after`, the account's balances just after it. */
typedef void (*bal_visit_fn)(void *arg, const struct ledger_entry *e, const struct ledger_balances *after);

/*
 * Walks account a's entries with seq > stop, newest first, taking each one
 * back from *cur (a's current balances on entry); visit (may be NULL) sees
 * each before it is taken back. OUT: *cur, the balances after entry stop.
 */
static int bal_walk(struct ledger *l, MDB_txn *txn, const struct ledger_account *a, uint64_t stop,
		    bal_visit_fn visit, void *arg, struct ledger_balances *cur)
{
	struct ledger_entry e;
	struct bal_move m;
	uint64_t seq = a->last_seq;
	bool debit;
	int rc;
	bal_of_account(a, cur);
	while (seq > stop) {
		if ((rc = ledger_entry_get(l, txn, seq, &e)) != LEDGER_OK)
			return rc == STORE_ENOTFOUND ? LEDGER_ECORRUPT : rc;
		debit = ledger_id_same(&e.t.debit_account_id, &a->id);
		if (!debit && !ledger_id_same(&e.t.credit_account_id, &a->id))
			return LEDGER_ECORRUPT;
		if ((rc = bal_move_of(l, txn, &e, &m)) != LEDGER_OK)
			return rc;
		if (visit)
			visit(arg, &e, cur);
		if ((rc = bal_apply(cur, debit, &m, -1)) != LEDGER_OK)
			return rc;
		if (!bal_valid(cur))
			return LEDGER_ECORRUPT;
		/* A history only goes back; a link forward would be a loop. */
		if ((debit ? e.debit_prev_seq : e.credit_prev_seq) >= seq)
			return LEDGER_ECORRUPT;
		seq = debit ? e.debit_prev_seq : e.credit_prev_seq;
	}
	return LEDGER_OK;
}

int ledger_balances_at(struct ledger *l, MDB_txn *txn, const struct ledger_id *account, uint64_t seq,
		       struct ledger_balances *out)
{
	struct ledger_account a;
	int rc = bal_check_seq(l, txn, seq);
	if (rc != LEDGER_OK)
		return rc;
	if ((rc = ledger_account_get(l, txn, account, &a)) != LEDGER_OK)
		return rc;
	return bal_walk(l, txn, &a, seq, NULL, NULL, out);
}

/*
 * A statement page, filled while walking back: the entries at or after
 * `start` within the period go round a ring of `limit`, so the last
 * `limit` seen (the oldest, those the page starts with) stay.
 */
struct bal_page {
	uint64_t to_seq, start;
	size_t limit;
	struct ledger_entry *out;
	struct ledger_balances *after;
	size_t seen;
	uint64_t next;                       /* the newest entry pushed out of the ring */
	bool closed;
	struct ledger_balances closing;
};

static void bal_page_visit(void *arg, const struct ledger_entry *e, const struct ledger_balances *after)
{
	struct bal_page *p = arg;
	size_t pos;
	if (e->t.seq > p->to_seq)
		return;
	if (!p->closed) {
		p->closing = *after;
		p->closed = true;
	}
	if (e->t.seq < p->start)
		return;
	pos = p->seen % p->limit;
	if (p->seen >= p->limit)
		p->next = p->out[pos].t.seq;
	p->out[pos] = *e;
	p->after[pos] = *after;
	p->seen++;
}

/* Reverses out[from..to) and after[from..to) together. */
static void bal_page_reverse(struct bal_page *p, size_t from, size_t to)
{
	while (from + 1 < to) {
		struct ledger_entry e = p->out[from];
		struct ledger_balances b = p->after[from];
		to--;
		p->out[from] = p->out[to];
		p->after[from] = p->after[to];
		p->out[to] = e;
		p->after[to] = b;
		from++;
	}
}

int ledger_account_period(struct ledger *l, MDB_txn *txn, const struct ledger_id *account, uint64_t from_seq,
			  uint64_t to_seq, uint64_t cursor, size_t limit, struct ledger_entry *out,
			  struct ledger_balances *after, struct ledger_period *res)
{
	struct bal_page p = { .to_seq = to_seq, .start = cursor ? cursor : from_seq, .limit = limit,
			      .out = out, .after = after };
	struct ledger_account a;
	size_t n, wrap;
	int rc;
	memset(res, 0, sizeof(*res));
	if (from_seq == 0 || limit == 0 || to_seq + 1 < from_seq ||
	    (cursor != 0 && (cursor < from_seq || cursor > to_seq)))
		return LEDGER_EINVAL;
	if ((rc = bal_check_seq(l, txn, to_seq)) != LEDGER_OK)
		return rc;
	if ((rc = ledger_account_get(l, txn, account, &a)) != LEDGER_OK)
		return rc;
	if ((rc = bal_walk(l, txn, &a, from_seq - 1, bal_page_visit, &p, &res->opening)) != LEDGER_OK)
		return rc;
	/* No entry of the account in the period: it closes as it opened. */
	res->closing = p.closed ? p.closing : res->opening;
	/*
	 * The ring holds the entries newest first from slot `wrap` round to
	 * slot wrap - 1; reversing both runs puts them oldest first.
	 */
	n = p.seen < limit ? p.seen : limit;
	wrap = p.seen > limit ? p.seen % limit : n;
	bal_page_reverse(&p, 0, wrap);
	bal_page_reverse(&p, wrap, n);
	res->n = n;
	res->next = p.next;
	return LEDGER_OK;
}

/* --- the trial balance --- */

int ledger_sum_text(const struct ledger_sum *s, char *out, size_t cap)
{
	/* Long division by 10 over four 32-bit limbs, most significant first. */
	uint64_t limb[4] = { s->hi >> 32, s->hi & 0xffffffffu, s->lo >> 32, s->lo & 0xffffffffu };
	char digits[LEDGER_SUM_TEXT];
	size_t n = 0;
	do {
		uint64_t rem = 0;
		for (size_t i = 0; i < 4; i++) {
			uint64_t cur = rem << 32 | limb[i];
			limb[i] = cur / 10;
			rem = cur % 10;
		}
		digits[n++] = (char)('0' + rem);
	} while (limb[0] | limb[1] | limb[2] | limb[3]);
	if (cap < n + 1)
		return LEDGER_EINVAL;
	for (size_t i = 0; i < n; i++)
		out[i] = digits[n - 1 - i];
	out[n] = '\0';
	return LEDGER_OK;
}

void ledger_sum_add(struct ledger_sum *s, int64_t v)
{
	s->lo += (uint64_t)v;
	s->hi += s->lo < (uint64_t)v;
}

bool ledger_sum_equal(const struct ledger_sum *a, const struct ledger_sum *b)
{
	return a->hi == b->hi && a->lo == b->lo;
}

/* The net moves of a run of entries, per account (a ledger_idmap of these). */
struct bal_slot {
	struct ledger_id id;
	struct ledger_balances b;
};

/*
 * Adds a move to one side of the account id. The map has room for every
 * stored account: LEDGER_ECORRUPT when more accounts move than exist.
 */
static int bal_map_add(struct ledger_idmap *m, size_t accounts, const struct ledger_id *id, bool debit,
		       const struct bal_move *mv)
{
	bool added;
	struct bal_slot *s;
	if (ledger_id_is_zero(id))
		return LEDGER_ECORRUPT;
	s = ledger_idmap_put(m, id, &added);
	/* Room was made for every stored account; one more still fits, and is damage. */
	if (added && m->len > accounts)
		return LEDGER_ECORRUPT;
	return bal_apply(&s->b, debit, mv, 1);
}

/* Adds the moves of entries first..last (all in the log) to the map. */
static int bal_map_run(struct ledger *l, MDB_txn *txn, uint64_t first, uint64_t last, struct ledger_idmap *m,
		       size_t accounts, uint64_t *read)
{
	struct ledger_entry e;
	struct bal_move mv;
	MDB_cursor *cur;
	MDB_val k, v;
	uint8_t key[8];
	int mrc, rc = LEDGER_OK;
	if (first > last)
		return LEDGER_OK;
	if ((mrc = mdb_cursor_open(txn, l->log, &cur)) != 0)
		return store_status_from_mdb(mrc);
	ledger_put_u64(key, first);
	k.mv_size = sizeof(key);
	k.mv_data = key;
	for (uint64_t want = first; want <= last && rc == LEDGER_OK; want++) {
		mrc = mdb_cursor_get(cur, &k, &v, want == first ? MDB_SET_KEY : MDB_NEXT);
		if (mrc != 0) {
			/* The log runs 1..head without a gap: a missing entry is damage. */
			rc = mrc == MDB_NOTFOUND ? LEDGER_ECORRUPT : store_status_from_mdb(mrc);
			break;
		}
		if ((rc = ledger_entry_decode(v.mv_data, v.mv_size, &e)) == LEDGER_OK && e.t.seq != want)
			rc = LEDGER_ECORRUPT;
		if (rc != LEDGER_OK)
			break;
		(*read)++;
		if ((rc = bal_move_of(l, txn, &e, &mv)) == LEDGER_OK &&
		    (rc = bal_map_add(m, accounts, &e.t.debit_account_id, true, &mv)) == LEDGER_OK)
			rc = bal_map_add(m, accounts, &e.t.credit_account_id, false, &mv);
	}
	mdb_cursor_close(cur);
	return rc;
}

/* The totals of ledger number `ledger`, added in number order when new; NULL when there is no room. */
static struct ledger_trial_total *bal_trial_total(struct ledger_trial *t, uint32_t ledger)
{
	size_t i = 0;
	while (i < t->n && t->ledgers[i].ledger < ledger)
		i++;
	if (i < t->n && t->ledgers[i].ledger == ledger)
		return &t->ledgers[i];
	if (t->n == LEDGER_TRIAL_LEDGERS_MAX)
		return NULL;
	memmove(&t->ledgers[i + 1], &t->ledgers[i], (t->n - i) * sizeof(t->ledgers[0]));
	t->n++;
	memset(&t->ledgers[i], 0, sizeof(t->ledgers[i]));
	t->ledgers[i].ledger = ledger;
	return &t->ledgers[i];
}

/* One account of the trial balance: its balances as of the trial's sequence, totals, fn. */
static int bal_trial_account(struct ledger_trial *t, const struct ledger_idmap *m, const struct ledger_account *a,
			     uint64_t created_before, ledger_trial_fn fn, void *arg, size_t *matched)
{
	const struct bal_slot *s = ledger_idmap_find(m, &a->id);
	struct ledger_balances b = { 0 };
	struct ledger_trial_total *total;
	bool moved = s != NULL;
	*matched += moved;
	if (!t->forward) {
		/* Current minus what entries seq+1..head did. */
		bal_of_account(a, &b);
		if (moved && !(bal_sub(&b.debits_pending, s->b.debits_pending) &&
			       bal_sub(&b.debits_posted, s->b.debits_posted) &&
			       bal_sub(&b.credits_pending, s->b.credits_pending) &&
			       bal_sub(&b.credits_posted, s->b.credits_posted)))
			return LEDGER_ECORRUPT;
	} else if (moved) {
		b = s->b;
	}
	if (!bal_valid(&b))
		return LEDGER_ECORRUPT;
	if (a->timestamp >= created_before)
		/* Left out: it did not exist yet, so it cannot hold anything then. */
		return b.debits_pending | b.debits_posted | b.credits_pending | b.credits_posted ? LEDGER_EINVAL
												: LEDGER_OK;
	if (!(total = bal_trial_total(t, a->ledger)))
		return LEDGER_EINVAL;
	total->accounts++;
	ledger_sum_add(&total->debits_pending, b.debits_pending);
	ledger_sum_add(&total->debits_posted, b.debits_posted);
	ledger_sum_add(&total->credits_pending, b.credits_pending);
	ledger_sum_add(&total->credits_posted, b.credits_posted);
	return fn ? fn(arg, a, &b) : LEDGER_OK;
}

/* Every stored account through bal_trial_account, in id order. */
static int bal_trial_accounts(struct ledger *l, MDB_txn *txn, struct ledger_trial *t, const struct ledger_idmap *m,
			      uint64_t created_before, ledger_trial_fn fn, void *arg)
{
	struct ledger_account a;
	struct ledger_id id;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t matched = 0;
	int rc = LEDGER_OK, mrc = mdb_cursor_open(txn, l->accounts, &cur);
	if (mrc != 0)
		return store_status_from_mdb(mrc);
	for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0 && rc == LEDGER_OK;
	     mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size != sizeof(id.b)) {
			rc = LEDGER_ECORRUPT;
			break;
		}
		memcpy(id.b, k.mv_data, sizeof(id.b));
		if ((rc = ledger_account_get(l, txn, &id, &a)) == LEDGER_OK)
			rc = bal_trial_account(t, m, &a, created_before, fn, arg, &matched);
	}
	mdb_cursor_close(cur);
	if (rc != LEDGER_OK)
		return rc;
	if (mrc != MDB_NOTFOUND)
		return store_status_from_mdb(mrc);
	/* Every account an entry moved must have a record. */
	return matched == m->len ? LEDGER_OK : LEDGER_ECORRUPT;
}

int ledger_trial_balance(struct ledger *l, MDB_txn *txn, uint64_t seq, uint64_t created_before,
			 ledger_trial_fn fn, void *arg, struct ledger_trial *out)
{
	uint8_t hash[LEDGER_HASH_LEN];
	struct ledger_idmap m;
	MDB_stat st;
	uint64_t head;
	int rc;
	memset(out, 0, sizeof(*out));
	if ((rc = ledger_head(l, txn, &head, hash)) != LEDGER_OK)
		return rc;
	if (seq > head)
		return LEDGER_EINVAL;
	if ((rc = mdb_stat(txn, l->accounts, &st)) != 0)
		return store_status_from_mdb(rc);
	if ((rc = ledger_idmap_init(&m, sizeof(struct bal_slot), st.ms_entries)) != LEDGER_OK)
		return rc;
	out->seq = seq;
	out->forward = seq <= head - seq;
	rc = out->forward ? bal_map_run(l, txn, 1, seq, &m, st.ms_entries, &out->entries_read)
			  : bal_map_run(l, txn, seq + 1, head, &m, st.ms_entries, &out->entries_read);
	if (rc == LEDGER_OK)
		rc = bal_trial_accounts(l, txn, out, &m, created_before, fn, arg);
	for (size_t i = 0; rc == LEDGER_OK && i < out->n; i++) {
		struct ledger_trial_total *g = &out->ledgers[i];
		g->balanced = ledger_sum_equal(&g->debits_pending, &g->credits_pending) &&
			      ledger_sum_equal(&g->debits_posted, &g->credits_posted);
	}
	ledger_idmap_free(&m);
	return rc;
}
