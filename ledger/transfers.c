/*
 * Creating transfers.
 *
 * One call runs in the caller's writer transaction. Its events are checked
 * and applied in order against an in-memory view (the accounts and pending
 * transfers it touches, loaded once); the new entries wait in a buffer. A
 * linked chain that fails is undone in memory only. At the end the call
 * writes everything once: the entries (appended, each chained to the one
 * before), the id index (sorted, appended when the ids are newer than every
 * stored one, as time-ordered ids are), each touched account once, the
 * pending states, the ids that failed for a reason that may pass later, the
 * batch record and the head. Nothing of it outlives the transaction if the
 * job rolls back.
 *
 * An id whose event failed for such a reason (an account or pending transfer
 * not there yet, a balance limit, a closed account) fails every later time
 * with id_already_failed, as TigerBeetle's does: a movement refused once is
 * not made later by a retry that happens to come when the money is there.
 */
#include "internal.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

#define LEDGER_TRANSFER_FLAGS (LEDGER_LINKED | LEDGER_PENDING | LEDGER_POST_PENDING | LEDGER_VOID_PENDING)
#define NS_PER_S 1000000000ull

/*
 * An account the call touches. Slots are small (the id is here for the
 * index to compare) so that looking one up stays in the processor's cache;
 * the account itself is the cache's entry, or a copy in the call's `owns`
 * when the cache has no room.
 */
struct acct_slot {
	struct ledger_id id;
	struct ledger_account *a;
	uint32_t cached;           /* its handle in the ledger's cache, 0 if none */
	bool found;                /* the account exists */
	bool dirty;                /* changed by this call: written at the end */
};

struct pend_slot {
	struct ledger_pending p;
	bool found;
	bool dirty;
	bool created;      /* made by this call: its deadline goes into the expiry index */
	bool resolved;     /* resolved by this call: its deadline leaves the expiry index */
};

/* A value before a chain changed it, to put back if the chain fails. */
struct undo {
	bool is_pending;
	void *slot;
	union {
		struct {
			struct ledger_account a;
			bool dirty;
		} acct;
		struct pend_slot p;
	} old;
};

/*
 * An open-addressing index from ids to positions in one of the call's dense
 * arrays. A slot holds the id's hash in its high 32 bits and position + 1 in
 * its low 32 (0: empty); a removed entry keeps XINDEX_GONE so probes go on.
 * At most half full, so probes stay short, and small enough to stay in cache.
 */
#define XINDEX_GONE UINT32_MAX

struct xindex {
	uint64_t *slots;
	size_t mask;
};

/* An id that failed in this call, with its result. */
struct xfail {
	struct ledger_id id;
	uint32_t result;
};

/*
 * The buffers of a call, kept between calls (only the writer thread writes
 * to the ledger, one call at a time) so that a busy ledger does not fault in
 * fresh pages for every batch.
 */
struct ledger_buffers {
	struct acct_slot *accts;
	struct ledger_account *owns;   /* accounts of slots the cache does not hold */
	struct pend_slot *pends;
	struct ledger_entry *entries;
	struct xfail *fails;
	uint64_t *slots;               /* the four indexes, one allocation */
	size_t events_cap;             /* what the buffers were sized for */
	size_t slots_cap;
	struct undo *undo;
	size_t undo_cap;
};

struct xfer {
	struct ledger *l;
	MDB_txn *txn;
	struct ledger_meta meta;
	uint64_t now;                     /* the clock when the call began: one read per call */
	struct ledger_id max_stored_id;   /* ids above it are new without a lookup */
	bool have_stored_ids;
	bool have_stored_fails;           /* ledger_failed holds ids: look new ids up there */
	struct ledger_buffers *buf;
	struct xindex acct_ix, pend_ix, entry_ix, fail_ix;
	struct acct_slot *accts;          /* dense: touched accounts, in order of first use */
	size_t naccts;
	struct pend_slot *pends;
	size_t npends;
	struct ledger_entry *entries;     /* the entries this call appends */
	size_t nentries;
	struct xfail *fails;              /* the ids that failed in this call, to record */
	size_t nfails;
	size_t nundo;
	bool in_chain;
};

enum xkind { XK_ACCOUNT, XK_PENDING, XK_ENTRY, XK_FAIL };

static uint64_t xfer_hash(const struct ledger_id *id)
{
	/* Ids end in random or counting bits: mix all sixteen bytes. */
	uint64_t h = ledger_get_u64(id->b + 8) ^ (ledger_get_u64(id->b) * 0x9e3779b97f4a7c15ull);
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	h ^= h >> 29;
	return h;
}

static bool id_equal(const struct ledger_id *a, const struct ledger_id *b)
{
	return memcmp(a->b, b->b, 16) == 0;
}

static const struct ledger_id *xfer_key(const struct xfer *x, enum xkind kind, uint32_t pos)
{
	switch (kind) {
	case XK_ACCOUNT: return &x->accts[pos].id;
	case XK_PENDING: return &x->pends[pos].p.id;
	case XK_FAIL: return &x->fails[pos].id;
	case XK_ENTRY: break;
	}
	return &x->entries[pos].t.id;
}

/* The slot holding id, or the empty slot where it belongs. */
static uint64_t *xfer_probe(const struct xfer *x, const struct xindex *ix, enum xkind kind,
			    const struct ledger_id *id)
{
	uint64_t h = xfer_hash(id);
	uint32_t tag = (uint32_t)(h >> 32);
	for (size_t i = (size_t)h & ix->mask;; i = (i + 1) & ix->mask) {
		uint64_t v = ix->slots[i];
		uint32_t pos = (uint32_t)v;
		if (v == 0)
			return &ix->slots[i];
		if (pos != XINDEX_GONE && (uint32_t)(v >> 32) == tag && id_equal(xfer_key(x, kind, pos - 1), id))
			return &ix->slots[i];
	}
}

static void xfer_index_set(uint64_t *slot, const struct ledger_id *id, size_t pos)
{
	*slot = (xfer_hash(id) >> 32 << 32) | (uint64_t)(pos + 1);
}

/* The slot of an account: loaded from storage on first use. NULL with *rc on a storage error. */
static struct acct_slot *xfer_account(struct xfer *x, const struct ledger_id *id, int *rc)
{
	uint64_t *slot = xfer_probe(x, &x->acct_ix, XK_ACCOUNT, id);
	struct ledger_account *own;
	struct acct_slot *s;
	if (*slot)
		return &x->accts[(uint32_t)*slot - 1];
	s = &x->accts[x->naccts];
	own = &x->buf->owns[x->naccts];
	s->id = *id;
	s->dirty = false;
	s->cached = ledger_cache_find(x->l->cache, id, false);
	s->a = s->cached ? ledger_cache_get(x->l->cache, s->cached) : NULL;
	s->found = s->a != NULL;
	if (!s->a) {
		*rc = ledger_account_get(x->l, x->txn, id, own);
		if (*rc != 0 && *rc != STORE_ENOTFOUND)
			return NULL;
		s->found = *rc == 0;
		own->id = *id;
		s->a = own;
		/* Taken into the cache, where it is read and changed from now on; only accounts that exist. */
		if (s->found && !s->cached)
			s->cached = ledger_cache_find(x->l->cache, id, true);
		if (s->found && s->cached) {
			struct ledger_account *a = ledger_cache_change(x->l->cache, s->cached);
			if (a) {
				*a = *own;
				s->a = a;
			}
		}
	}
	*rc = 0;
	xfer_index_set(slot, id, x->naccts++);
	return s;
}

static int xfer_pending_load(struct xfer *x, const struct ledger_id *id, struct ledger_pending *out)
{
	MDB_val k = { 16, (void *)id->b }, v;
	int rc = mdb_get(x->txn, x->l->pending, &k, &v);
	if (rc != 0)
		return store_status_from_mdb(rc);
	return ledger_pending_decode(v.mv_data, v.mv_size, out);
}

static struct pend_slot *xfer_pending(struct xfer *x, const struct ledger_id *id, int *rc)
{
	uint64_t *slot = xfer_probe(x, &x->pend_ix, XK_PENDING, id);
	struct pend_slot *s;
	if (*slot)
		return &x->pends[(uint32_t)*slot - 1];
	s = &x->pends[x->npends];
	memset(s, 0, sizeof(*s));
	*rc = xfer_pending_load(x, id, &s->p);
	if (*rc != 0 && *rc != STORE_ENOTFOUND)
		return NULL;
	s->found = *rc == 0;
	s->p.id = *id;
	*rc = 0;
	xfer_index_set(slot, id, x->npends++);
	return s;
}

/* --- undo of a failed chain --- */

/*
 * Before an account or a pending transfer changes: the cache keeps the
 * account's state before the job (to put back if the job rolls back), and
 * an open chain keeps both states before the chain.
 */
static int xfer_remember(struct xfer *x, void *slot, bool is_pending)
{
	struct ledger_buffers *b = x->buf;
	struct undo *u;
	if (!is_pending && ((struct acct_slot *)slot)->cached &&
	    !ledger_cache_change(x->l->cache, ((struct acct_slot *)slot)->cached))
		return LEDGER_ENOMEM;
	if (!x->in_chain)
		return 0;
	if (x->nundo == b->undo_cap) {
		size_t cap = b->undo_cap ? b->undo_cap * 2 : 64;
		struct undo *n = realloc(b->undo, cap * sizeof(*n));
		if (!n)
			return LEDGER_ENOMEM;
		b->undo = n;
		b->undo_cap = cap;
	}
	u = &b->undo[x->nundo++];
	u->is_pending = is_pending;
	u->slot = slot;
	if (is_pending) {
		u->old.p = *(struct pend_slot *)slot;
	} else {
		u->old.acct.a = *((struct acct_slot *)slot)->a;
		u->old.acct.dirty = ((struct acct_slot *)slot)->dirty;
	}
	return 0;
}

/* Puts back everything since the chain began, newest first. */
static void xfer_rollback(struct xfer *x, size_t entries_at, const struct ledger_meta *meta_at)
{
	while (x->nundo > 0) {
		struct undo *u = &x->buf->undo[--x->nundo];
		if (u->is_pending) {
			*(struct pend_slot *)u->slot = u->old.p;
		} else {
			*((struct acct_slot *)u->slot)->a = u->old.acct.a;
			((struct acct_slot *)u->slot)->dirty = u->old.acct.dirty;
		}
	}
	while (x->nentries > entries_at) {
		uint64_t *slot = xfer_probe(x, &x->entry_ix, XK_ENTRY, &x->entries[--x->nentries].t.id);
		*slot = (*slot >> 32 << 32) | XINDEX_GONE;
	}
	x->meta = *meta_at;
}

/* --- looking up a stored transfer --- */

/*
 * The committed or buffered entry with this id. OUT: *found; *slot, the
 * index slot where a new entry with this id goes (valid until the next
 * entry is added).
 */
static int xfer_find(struct xfer *x, const struct ledger_id *id, struct ledger_entry *out, bool *found,
		     uint64_t **slot)
{
	MDB_val k = { 16, (void *)id->b }, v;
	uint8_t seq_key[8];
	int rc;
	*slot = xfer_probe(x, &x->entry_ix, XK_ENTRY, id);
	*found = **slot != 0;
	if (*found) {
		*out = x->entries[(uint32_t)**slot - 1];
		return 0;
	}
	if (!x->have_stored_ids || memcmp(id->b, x->max_stored_id.b, 16) > 0)
		return 0;
	rc = mdb_get(x->txn, x->l->ids, &k, &v);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (v.mv_size != 8)
		return LEDGER_ECORRUPT;
	memcpy(seq_key, v.mv_data, 8);
	k.mv_size = 8;
	k.mv_data = seq_key;
	rc = mdb_get(x->txn, x->l->log, &k, &v);
	if (rc != 0)
		return rc == MDB_NOTFOUND ? LEDGER_ECORRUPT : rc;
	*found = true;
	return ledger_entry_decode(v.mv_data, v.mv_size, out);
}

/* --- ids that failed for a reason that may pass later --- */

bool ledger_result_is_transient(uint32_t result)
{
	switch (result) {
	case LEDGER_R_DEBIT_ACCOUNT_NOT_FOUND:
	case LEDGER_R_CREDIT_ACCOUNT_NOT_FOUND:
	case LEDGER_R_PENDING_TRANSFER_NOT_FOUND:
	case LEDGER_R_EXCEEDS_CREDITS:
	case LEDGER_R_EXCEEDS_DEBITS:
	case LEDGER_R_DEBIT_ACCOUNT_ALREADY_CLOSED:
	case LEDGER_R_CREDIT_ACCOUNT_ALREADY_CLOSED:
		return true;
	default:
		return false;
	}
}

/* OUT: *failed when an event with this id failed for such a reason, in this call or before. */
static int xfer_failed_before(struct xfer *x, const struct ledger_id *id, bool *failed)
{
	MDB_val k = { 16, (void *)id->b }, v;
	int rc;
	*failed = *xfer_probe(x, &x->fail_ix, XK_FAIL, id) != 0;
	if (*failed || !x->have_stored_fails)
		return 0;
	rc = mdb_get(x->txn, x->l->failed, &k, &v);
	*failed = rc == 0;
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/*
 * Notes an event's transient failure, unless its id names a transfer that
 * exists (a replay with a different, missing account fails without making
 * the transfer unreplayable).
 */
static int xfer_fail(struct xfer *x, const struct ledger_id *id, uint32_t result)
{
	struct ledger_entry e;
	uint64_t *entry_slot, *slot;
	bool found;
	int rc = xfer_find(x, id, &e, &found, &entry_slot);
	if (rc != 0 || found)
		return rc;
	slot = xfer_probe(x, &x->fail_ix, XK_FAIL, id);
	if (*slot == 0) {
		x->fails[x->nfails] = (struct xfail){ *id, result };
		xfer_index_set(slot, id, x->nfails++);
	}
	return 0;
}

/* TigerBeetle's order of comparison for a plain or pending transfer that exists. */
static uint32_t xfer_exists(const struct ledger_transfer *t, const struct ledger_transfer *e)
{
	if (t->flags != e->flags)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_FLAGS;
	if (!id_equal(&t->pending_id, &e->pending_id))
		return LEDGER_R_EXISTS_WITH_DIFFERENT_PENDING_ID;
	if (t->timeout != e->timeout)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_TIMEOUT;
	if (!id_equal(&t->debit_account_id, &e->debit_account_id))
		return LEDGER_R_EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID;
	if (!id_equal(&t->credit_account_id, &e->credit_account_id))
		return LEDGER_R_EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID;
	if (t->amount != e->amount)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_AMOUNT;
	if (!id_equal(&t->user_data_128, &e->user_data_128))
		return LEDGER_R_EXISTS_WITH_DIFFERENT_USER_DATA_128;
	if (t->user_data_64 != e->user_data_64)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_USER_DATA_64;
	if (t->user_data_32 != e->user_data_32)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_USER_DATA_32;
	if (t->ledger != e->ledger)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_LEDGER;
	if (t->code != e->code)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_CODE;
	return LEDGER_R_EXISTS;
}

/*
 * The same for a post or void: fields left zero were inherited from the
 * pending transfer, and the amount compared is the one it would move
 * (a post of "all" is the whole pending amount).
 */
static uint32_t xfer_exists_resolving(const struct ledger_transfer *t, int64_t amount,
				      const struct ledger_transfer *e)
{
	if (t->flags != e->flags)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_FLAGS;
	if (!id_equal(&t->pending_id, &e->pending_id))
		return LEDGER_R_EXISTS_WITH_DIFFERENT_PENDING_ID;
	if (!ledger_id_is_zero(&t->debit_account_id) && !id_equal(&t->debit_account_id, &e->debit_account_id))
		return LEDGER_R_EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID;
	if (!ledger_id_is_zero(&t->credit_account_id) && !id_equal(&t->credit_account_id, &e->credit_account_id))
		return LEDGER_R_EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID;
	if (amount != e->amount)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_AMOUNT;
	if (!id_equal(&t->user_data_128, &e->user_data_128))
		return LEDGER_R_EXISTS_WITH_DIFFERENT_USER_DATA_128;
	if (t->user_data_64 != e->user_data_64)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_USER_DATA_64;
	if (t->user_data_32 != e->user_data_32)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_USER_DATA_32;
	if (t->ledger != 0 && t->ledger != e->ledger)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_LEDGER;
	if (t->code != 0 && t->code != e->code)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_CODE;
	return LEDGER_R_EXISTS;
}

/* For `exists`: hands the stored fields back to the caller. */
static uint32_t xfer_report_exists(struct ledger_transfer *t, const struct ledger_entry *e, uint32_t result)
{
	if (result == LEDGER_R_EXISTS) {
		t->timestamp = e->t.timestamp;
		t->seq = e->t.seq;
	}
	return result;
}

/* --- applying --- */

static bool add_overflows(int64_t a, int64_t b)
{
	int64_t r;
	return __builtin_add_overflow(a, b, &r);
}

/* Appends the entry for t (effective fields) and links it into both accounts' histories. */
static int xfer_append(struct xfer *x, const struct ledger_transfer *t, struct acct_slot *dr,
		       struct acct_slot *cr, uint64_t timestamp, uint64_t *slot, struct ledger_transfer *out)
{
	struct ledger_entry *e = &x->entries[x->nentries];
	e->t = *t;
	e->t.timestamp = timestamp;
	e->t.seq = ++x->meta.head_seq;
	e->debit_prev_seq = dr->a->last_seq;
	e->credit_prev_seq = cr->a->last_seq;
	dr->a->last_seq = cr->a->last_seq = e->t.seq;
	dr->dirty = cr->dirty = true;
	xfer_index_set(slot, &e->t.id, x->nentries);
	x->nentries++;
	out->timestamp = e->t.timestamp;
	out->seq = e->t.seq;
	return 0;
}

/* Checks both accounts exist and share the transfer's ledger; TigerBeetle's order. */
static uint32_t xfer_check_accounts(const struct ledger_transfer *t, const struct acct_slot *dr,
				    const struct acct_slot *cr)
{
	if (!dr->found)
		return LEDGER_R_DEBIT_ACCOUNT_NOT_FOUND;
	if (!cr->found)
		return LEDGER_R_CREDIT_ACCOUNT_NOT_FOUND;
	if (dr->a->ledger != cr->a->ledger)
		return LEDGER_R_ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER;
	if (t->ledger != dr->a->ledger)
		return LEDGER_R_TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS;
	return LEDGER_R_OK;
}

/* A plain or pending transfer. */
static int xfer_create(struct xfer *x, struct ledger_transfer *t, uint32_t *result)
{
	struct acct_slot *dr, *cr;
	struct pend_slot *ps;
	struct ledger_entry e;
	uint64_t *slot;
	bool found, pending = t->flags & LEDGER_PENDING;
	uint64_t now;
	int rc = 0;

	if (ledger_id_is_zero(&t->debit_account_id))
		return *result = LEDGER_R_DEBIT_ACCOUNT_ID_MUST_NOT_BE_ZERO, 0;
	if (ledger_id_is_max(&t->debit_account_id))
		return *result = LEDGER_R_DEBIT_ACCOUNT_ID_MUST_NOT_BE_INT_MAX, 0;
	if (ledger_id_is_zero(&t->credit_account_id))
		return *result = LEDGER_R_CREDIT_ACCOUNT_ID_MUST_NOT_BE_ZERO, 0;
	if (ledger_id_is_max(&t->credit_account_id))
		return *result = LEDGER_R_CREDIT_ACCOUNT_ID_MUST_NOT_BE_INT_MAX, 0;
	if (id_equal(&t->debit_account_id, &t->credit_account_id))
		return *result = LEDGER_R_ACCOUNTS_MUST_BE_DIFFERENT, 0;
	if (!ledger_id_is_zero(&t->pending_id))
		return *result = LEDGER_R_PENDING_ID_MUST_BE_ZERO, 0;
	if (!pending && t->timeout != 0)
		return *result = LEDGER_R_TIMEOUT_RESERVED_FOR_PENDING_TRANSFER, 0;
	if (t->ledger == 0)
		return *result = LEDGER_R_LEDGER_MUST_NOT_BE_ZERO, 0;
	if (t->code == 0)
		return *result = LEDGER_R_CODE_MUST_NOT_BE_ZERO, 0;
	if (t->amount == 0)
		return *result = LEDGER_R_AMOUNT_MUST_NOT_BE_ZERO, 0;
	if (t->amount < 0)
		return *result = LEDGER_R_AMOUNT_MUST_NOT_BE_NEGATIVE, 0;
	if ((rc = xfer_failed_before(x, &t->id, &found)) != 0 || found)
		return rc == 0 ? (*result = LEDGER_R_ID_ALREADY_FAILED, 0) : rc;
	if (!(dr = xfer_account(x, &t->debit_account_id, &rc)) || !(cr = xfer_account(x, &t->credit_account_id, &rc)))
		return rc;
	if ((*result = xfer_check_accounts(t, dr, cr)) != LEDGER_R_OK)
		return 0;
	if ((rc = xfer_find(x, &t->id, &e, &found, &slot)) != 0)
		return rc;
	if (found)
		return *result = xfer_report_exists(t, &e, xfer_exists(t, &e.t)), 0;
	if (dr->a->flags & LEDGER_ACCOUNT_CLOSED)
		return *result = LEDGER_R_DEBIT_ACCOUNT_ALREADY_CLOSED, 0;
	if (cr->a->flags & LEDGER_ACCOUNT_CLOSED)
		return *result = LEDGER_R_CREDIT_ACCOUNT_ALREADY_CLOSED, 0;
	if (pending && add_overflows(t->amount, dr->a->debits_pending))
		return *result = LEDGER_R_OVERFLOWS_DEBITS_PENDING, 0;
	if (pending && add_overflows(t->amount, cr->a->credits_pending))
		return *result = LEDGER_R_OVERFLOWS_CREDITS_PENDING, 0;
	/* A pending amount may be posted later: the posted sides must have room too. */
	if (add_overflows(t->amount, dr->a->debits_posted))
		return *result = LEDGER_R_OVERFLOWS_DEBITS_POSTED, 0;
	if (add_overflows(t->amount, cr->a->credits_posted))
		return *result = LEDGER_R_OVERFLOWS_CREDITS_POSTED, 0;
	if (add_overflows(dr->a->debits_pending, dr->a->debits_posted) ||
	    add_overflows(t->amount, dr->a->debits_pending + dr->a->debits_posted))
		return *result = LEDGER_R_OVERFLOWS_DEBITS, 0;
	if (add_overflows(cr->a->credits_pending, cr->a->credits_posted) ||
	    add_overflows(t->amount, cr->a->credits_pending + cr->a->credits_posted))
		return *result = LEDGER_R_OVERFLOWS_CREDITS, 0;
	now = ledger_tick(&x->meta, x->now);
	if (pending && t->timeout && now + (uint64_t)t->timeout * NS_PER_S < now)
		return *result = LEDGER_R_OVERFLOWS_TIMEOUT, 0;
	if ((dr->a->flags & LEDGER_DEBITS_MUST_NOT_EXCEED_CREDITS) &&
	    dr->a->debits_pending + dr->a->debits_posted + t->amount > dr->a->credits_posted)
		return *result = LEDGER_R_EXCEEDS_CREDITS, 0;
	if ((cr->a->flags & LEDGER_CREDITS_MUST_NOT_EXCEED_DEBITS) &&
	    cr->a->credits_pending + cr->a->credits_posted + t->amount > cr->a->debits_posted)
		return *result = LEDGER_R_EXCEEDS_DEBITS, 0;

	if ((rc = xfer_remember(x, dr, false)) != 0 || (rc = xfer_remember(x, cr, false)) != 0)
		return rc;
	if (pending) {
		if (!(ps = xfer_pending(x, &t->id, &rc)))
			return rc;
		if ((rc = xfer_remember(x, ps, true)) != 0)
			return rc;
		dr->a->debits_pending += t->amount;
		cr->a->credits_pending += t->amount;
		ps->found = ps->dirty = ps->created = true;
		ps->p.debit_account_id = t->debit_account_id;
		ps->p.credit_account_id = t->credit_account_id;
		ps->p.amount = t->amount;
		ps->p.ledger = t->ledger;
		ps->p.code = t->code;
		ps->p.status = LEDGER_PENDING_OPEN;
		ps->p.seq = x->meta.head_seq + 1;
		ps->p.expires_at = t->timeout ? now + (uint64_t)t->timeout * NS_PER_S : 0;
	} else {
		dr->a->debits_posted += t->amount;
		cr->a->credits_posted += t->amount;
	}
	*result = LEDGER_R_OK;
	return xfer_append(x, t, dr, cr, now, slot, t);
}

/* A post or void of a pending transfer (and the ledger's own expiry voids). */
static int xfer_resolve(struct xfer *x, struct ledger_transfer *t, uint32_t *result)
{
	bool post = t->flags & LEDGER_POST_PENDING;
	bool expiry = t->flags & LEDGER_EXPIRY;
	struct ledger_transfer eff;
	struct ledger_entry e;
	struct acct_slot *dr, *cr;
	struct pend_slot *ps;
	uint64_t *slot;
	int64_t amount;
	bool found;
	uint64_t now;
	int rc = 0;

	if (ledger_id_is_zero(&t->pending_id))
		return *result = LEDGER_R_PENDING_ID_MUST_NOT_BE_ZERO, 0;
	if (ledger_id_is_max(&t->pending_id))
		return *result = LEDGER_R_PENDING_ID_MUST_NOT_BE_INT_MAX, 0;
	if (id_equal(&t->pending_id, &t->id))
		return *result = LEDGER_R_PENDING_ID_MUST_BE_DIFFERENT, 0;
	if (t->timeout != 0)
		return *result = LEDGER_R_TIMEOUT_RESERVED_FOR_PENDING_TRANSFER, 0;
	if ((rc = xfer_failed_before(x, &t->id, &found)) != 0 || found)
		return rc == 0 ? (*result = LEDGER_R_ID_ALREADY_FAILED, 0) : rc;
	if (!(ps = xfer_pending(x, &t->pending_id, &rc))) {
		if (rc)
			return rc;
	}
	if (!ps->found) {
		bool plain;
		if ((rc = xfer_find(x, &t->pending_id, &e, &plain, &slot)) != 0)
			return rc;
		return *result = plain ? LEDGER_R_PENDING_TRANSFER_NOT_PENDING : LEDGER_R_PENDING_TRANSFER_NOT_FOUND, 0;
	}
	if (!ledger_id_is_zero(&t->debit_account_id) && !id_equal(&t->debit_account_id, &ps->p.debit_account_id))
		return *result = LEDGER_R_PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID, 0;
	if (!ledger_id_is_zero(&t->credit_account_id) && !id_equal(&t->credit_account_id, &ps->p.credit_account_id))
		return *result = LEDGER_R_PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT_ID, 0;
	if (t->ledger != 0 && t->ledger != ps->p.ledger)
		return *result = LEDGER_R_PENDING_TRANSFER_HAS_DIFFERENT_LEDGER, 0;
	if (t->code != 0 && t->code != ps->p.code)
		return *result = LEDGER_R_PENDING_TRANSFER_HAS_DIFFERENT_CODE, 0;
	if (t->amount < 0)
		return *result = LEDGER_R_AMOUNT_MUST_NOT_BE_NEGATIVE, 0;
	if (post) {
		if (t->amount == 0)
			return *result = LEDGER_R_AMOUNT_MUST_NOT_BE_ZERO, 0;
		amount = t->amount == LEDGER_AMOUNT_MAX ? ps->p.amount : t->amount;
		if (amount > ps->p.amount)
			return *result = LEDGER_R_EXCEEDS_PENDING_TRANSFER_AMOUNT, 0;
	} else {
		amount = ps->p.amount;
		if (t->amount != 0 && t->amount != ps->p.amount)
			return *result = LEDGER_R_PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT, 0;
	}
	if ((rc = xfer_find(x, &t->id, &e, &found, &slot)) != 0)
		return rc;
	if (found)
		return *result = xfer_report_exists(t, &e, xfer_exists_resolving(t, amount, &e.t)), 0;
	if (ps->p.status == LEDGER_PENDING_POSTED)
		return *result = LEDGER_R_PENDING_TRANSFER_ALREADY_POSTED, 0;
	if (ps->p.status == LEDGER_PENDING_VOIDED)
		return *result = LEDGER_R_PENDING_TRANSFER_ALREADY_VOIDED, 0;
	if (ps->p.status == LEDGER_PENDING_EXPIRED)
		return *result = LEDGER_R_PENDING_TRANSFER_EXPIRED, 0;
	now = ledger_tick(&x->meta, x->now);
	if (!expiry && ps->p.expires_at && now >= ps->p.expires_at)
		return *result = LEDGER_R_PENDING_TRANSFER_EXPIRED, 0;
	if (!(dr = xfer_account(x, &ps->p.debit_account_id, &rc)) ||
	    !(cr = xfer_account(x, &ps->p.credit_account_id, &rc)))
		return rc;
	if (!dr->found || !cr->found)
		return LEDGER_ECORRUPT;
	if (post && (dr->a->flags & LEDGER_ACCOUNT_CLOSED))
		return *result = LEDGER_R_DEBIT_ACCOUNT_ALREADY_CLOSED, 0;
	if (post && (cr->a->flags & LEDGER_ACCOUNT_CLOSED))
		return *result = LEDGER_R_CREDIT_ACCOUNT_ALREADY_CLOSED, 0;
	if (post && add_overflows(amount, dr->a->debits_posted))
		return *result = LEDGER_R_OVERFLOWS_DEBITS_POSTED, 0;
	if (post && add_overflows(amount, cr->a->credits_posted))
		return *result = LEDGER_R_OVERFLOWS_CREDITS_POSTED, 0;

	if ((rc = xfer_remember(x, dr, false)) != 0 || (rc = xfer_remember(x, cr, false)) != 0 ||
	    (rc = xfer_remember(x, ps, true)) != 0)
		return rc;
	dr->a->debits_pending -= ps->p.amount;
	cr->a->credits_pending -= ps->p.amount;
	if (post) {
		dr->a->debits_posted += amount;
		cr->a->credits_posted += amount;
	}
	ps->p.status = post ? LEDGER_PENDING_POSTED : expiry ? LEDGER_PENDING_EXPIRED : LEDGER_PENDING_VOIDED;
	ps->dirty = true;
	ps->resolved = true;
	/* The entry records what moved: the pending transfer's accounts and the amount. */
	eff = *t;
	eff.debit_account_id = ps->p.debit_account_id;
	eff.credit_account_id = ps->p.credit_account_id;
	eff.ledger = ps->p.ledger;
	eff.code = ps->p.code;
	eff.amount = amount;
	*result = LEDGER_R_OK;
	return xfer_append(x, &eff, dr, cr, now, slot, t);
}

static int xfer_event(struct xfer *x, struct ledger_transfer *t, bool internal, uint32_t *result)
{
	uint16_t allowed = LEDGER_TRANSFER_FLAGS | (internal ? LEDGER_EXPIRY : 0);
	unsigned kinds = !!(t->flags & LEDGER_PENDING) + !!(t->flags & LEDGER_POST_PENDING) +
			 !!(t->flags & LEDGER_VOID_PENDING);
	/* The ledger sets the timestamp; as TigerBeetle, before any of the event's own checks. */
	if (t->timestamp != 0)
		return *result = LEDGER_R_TIMESTAMP_MUST_BE_ZERO, 0;
	if (t->flags & ~allowed)
		return *result = LEDGER_R_RESERVED_FLAG, 0;
	if (ledger_id_is_zero(&t->id))
		return *result = LEDGER_R_ID_MUST_NOT_BE_ZERO, 0;
	if (ledger_id_is_max(&t->id))
		return *result = LEDGER_R_ID_MUST_NOT_BE_INT_MAX, 0;
	if (kinds > 1)
		return *result = LEDGER_R_FLAGS_ARE_MUTUALLY_EXCLUSIVE, 0;
	if (t->flags & (LEDGER_POST_PENDING | LEDGER_VOID_PENDING))
		return xfer_resolve(x, t, result);
	return xfer_create(x, t, result);
}

/* --- writing the call's effects --- */

struct id_seq {
	struct ledger_id id;
	uint64_t seq;
};

static int id_seq_cmp(const void *a, const void *b)
{
	return memcmp(((const struct id_seq *)a)->id.b, ((const struct id_seq *)b)->id.b, 16);
}

static int xfer_write_entries(struct xfer *x, const uint8_t head_before[LEDGER_HASH_LEN])
{
	uint8_t key[8];
	const uint8_t *prev = head_before;
	MDB_val k = { sizeof(key), key }, v;
	int rc;
	for (size_t i = 0; i < x->nentries; i++) {
		ledger_put_u64(key, x->entries[i].t.seq);
		v.mv_size = LEDGER_STORED_LEN;
		v.mv_data = NULL;
		rc = mdb_put(x->txn, x->l->log, &k, &v, MDB_APPEND | MDB_RESERVE);
		if (rc != 0)
			return rc;
		/* Encode straight into the page LMDB reserved. */
		ledger_entry_encode(&x->entries[i], v.mv_data);
		ledger_chain(prev, v.mv_data, (uint8_t *)v.mv_data + LEDGER_CANONICAL_LEN);
		prev = (uint8_t *)v.mv_data + LEDGER_CANONICAL_LEN;
	}
	memcpy(x->meta.head_hash, prev, LEDGER_HASH_LEN);
	return 0;
}

static int xfer_write_ids(struct xfer *x)
{
	struct id_seq *pairs = malloc(x->nentries * sizeof(*pairs));
	unsigned flags = 0;
	int rc = 0;
	if (!pairs)
		return LEDGER_ENOMEM;
	for (size_t i = 0; i < x->nentries; i++) {
		pairs[i].id = x->entries[i].t.id;
		pairs[i].seq = x->entries[i].t.seq;
	}
	qsort(pairs, x->nentries, sizeof(*pairs), id_seq_cmp);
	/* Time-ordered ids newer than every stored one go on the end of the tree. */
	if (!x->have_stored_ids || memcmp(pairs[0].id.b, x->max_stored_id.b, 16) > 0)
		flags = MDB_APPEND;
	for (size_t i = 0; i < x->nentries && rc == 0; i++) {
		uint8_t seq[8];
		MDB_val k = { 16, pairs[i].id.b }, v = { 8, seq };
		ledger_put_u64(seq, pairs[i].seq);
		rc = mdb_put(x->txn, x->l->ids, &k, &v, flags ? flags : MDB_NOOVERWRITE);
	}
	free(pairs);
	return rc;
}

static int xfer_write_fails(struct xfer *x)
{
	int rc = 0;
	for (size_t i = 0; i < x->nfails && rc == 0; i++) {
		uint8_t result = (uint8_t)x->fails[i].result;   /* every result number is below 256 */
		MDB_val k = { 16, x->fails[i].id.b }, v = { 1, &result };
		rc = mdb_put(x->txn, x->l->failed, &k, &v, MDB_NOOVERWRITE);
	}
	return rc;
}

static size_t xfer_count_dirty(const struct xfer *x)
{
	size_t n = 0;
	for (size_t i = 0; i < x->naccts; i++)
		n += x->accts[i].dirty;
	return n;
}

/*
 * Writes each touched account's balances once. When the call touched a large part of
 * all accounts, one pass over the table in key order rewrites them in place
 * (each page visited once, no search from the root per account); otherwise
 * each is put on its own.
 */
static int xfer_write_accounts(struct xfer *x, size_t dirty)
{
	uint8_t buf[LEDGER_BALANCES_RECORD_LEN];
	MDB_cursor *cur;
	MDB_stat st;
	MDB_val k, v;
	int rc = mdb_stat(x->txn, x->l->balances, &st);
	if (rc != 0)
		return rc;
	if (dirty * 8 < st.ms_entries) {
		for (size_t i = 0; i < x->naccts && rc == 0; i++) {
			struct acct_slot *s = &x->accts[i];
			if (!s->dirty)
				continue;
			k.mv_size = 16;
			k.mv_data = s->a->id.b;
			ledger_balances_encode(s->a, buf);
			v.mv_size = sizeof(buf);
			v.mv_data = buf;
			rc = mdb_put(x->txn, x->l->balances, &k, &v, 0);
		}
		return rc;
	}
	rc = mdb_cursor_open(x->txn, x->l->balances, &cur);
	if (rc != 0)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && dirty > 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct ledger_id id;
		struct acct_slot *s;
		uint64_t *slot;
		if (k.mv_size != 16)
			continue;
		memcpy(id.b, k.mv_data, 16);
		slot = xfer_probe(x, &x->acct_ix, XK_ACCOUNT, &id);
		if (!*slot)
			continue;
		s = &x->accts[(uint32_t)*slot - 1];
		if (!s->dirty)
			continue;
		ledger_balances_encode(s->a, buf);
		v.mv_size = sizeof(buf);
		v.mv_data = buf;
		rc = mdb_cursor_put(cur, &k, &v, MDB_CURRENT);
		if (rc != 0)
			break;
		dirty--;
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/* The expiry index key: deadline (8 bytes BE) then the pending id. */
static void expiry_key(uint8_t key[24], const struct ledger_pending *p)
{
	ledger_put_u64(key, p->expires_at);
	memcpy(key + 8, p->id.b, 16);
}

static int xfer_write_pending(struct xfer *x)
{
	uint8_t rec[LEDGER_PENDING_RECORD_LEN];
	uint8_t key[24];
	int rc = 0;
	for (size_t i = 0; i < x->npends && rc == 0; i++) {
		struct pend_slot *s = &x->pends[i];
		MDB_val k = { 16, s->p.id.b }, v = { sizeof(rec), rec };
		MDB_val ek = { sizeof(key), key }, ev = { 0, NULL };
		if (!s->dirty)
			continue;
		ledger_pending_encode(&s->p, rec);
		rc = mdb_put(x->txn, x->l->pending, &k, &v, 0);
		if (rc != 0 || !s->p.expires_at || s->created == s->resolved)
			continue;
		expiry_key(key, &s->p);
		if (s->created)
			rc = mdb_put(x->txn, x->l->expiry, &ek, &ev, 0);
		else
			rc = mdb_del(x->txn, x->l->expiry, &ek, NULL);
		if (rc == MDB_NOTFOUND)
			rc = 0;
	}
	return rc;
}

static int xfer_write_batch(struct xfer *x)
{
	struct ledger_batch b;
	uint8_t rec[LEDGER_BATCH_RECORD_LEN];
	uint8_t key[8];
	MDB_val k = { sizeof(key), key }, v = { sizeof(rec), rec };
	b.first_seq = x->entries[0].t.seq;
	b.last_seq = x->entries[x->nentries - 1].t.seq;
	memcpy(b.head_hash, x->meta.head_hash, LEDGER_HASH_LEN);
	b.timestamp = x->entries[x->nentries - 1].t.timestamp;
	ledger_batch_encode(&b, rec);
	ledger_put_u64(key, ++x->meta.batches);
	return mdb_put(x->txn, x->l->batches, &k, &v, MDB_APPEND);
}

static int xfer_write_all(struct xfer *x, const uint8_t head_before[LEDGER_HASH_LEN])
{
	int rc = 0;
	if (x->nentries > 0 &&
	    ((rc = xfer_write_entries(x, head_before)) != 0 || (rc = xfer_write_ids(x)) != 0 ||
	     (rc = xfer_write_batch(x)) != 0))
		return rc;
	if ((rc = xfer_write_accounts(x, xfer_count_dirty(x))) != 0 || (rc = xfer_write_fails(x)) != 0)
		return rc;
	return xfer_write_pending(x);
}

static int xfer_flush(struct xfer *x, const uint8_t head_before[LEDGER_HASH_LEN])
{
	struct ledger_tree_job *tree = NULL;
	int rc = x->nentries > 0 ? ledger_tree_begin(x->l, x->entries, x->nentries, &tree) : 0;
	int tree_rc;
	if (rc != 0)
		return rc;
	/* The Merkle tree's hashing runs beside these writes; its nodes are written after them. */
	rc = xfer_write_all(x, head_before);
	/* Waited for whatever happened: the hashing reads x->entries. */
	tree_rc = ledger_tree_end(x->l, x->txn, tree, rc == 0);
	if (rc == 0)
		rc = tree_rc;
	return rc == 0 ? ledger_meta_write(x->l, x->txn, &x->meta) : rc;
}

int ledger_failed_open(struct ledger *l)
{
	int rc = store_dbi_open(l->store, "ledger_failed", 0, &l->failed);
	if (rc == STORE_ENOTFOUND)
		return LEDGER_OK;
	l->has_failed = rc == STORE_OK;
	return rc;
}

/* --- the call --- */

void ledger_buffers_free(struct ledger_buffers *b)
{
	if (!b)
		return;
	free(b->accts);
	free(b->owns);
	free(b->pends);
	free(b->entries);
	free(b->fails);
	free(b->slots);
	free(b->undo);
	free(b);
}

/* Index capacity for `want` keys: a power of two at least twice as large. */
static size_t xfer_capacity(size_t want)
{
	size_t cap = 16;
	while (cap < want * 2)
		cap <<= 1;
	return cap;
}

/* Makes the kept buffers large enough for n events (2n accounts, n pending, n entries, n failures). */
static int xfer_buffers_reserve(struct ledger *l, size_t n)
{
	struct ledger_buffers *b = l->buffers;
	size_t slots = xfer_capacity(2 * n) + 3 * xfer_capacity(n);
	if (!b) {
		b = calloc(1, sizeof(*b));
		if (!b)
			return LEDGER_ENOMEM;
		l->buffers = b;
	}
	if (b->events_cap < n) {
		struct acct_slot *a = realloc(b->accts, 2 * n * sizeof(*a));
		struct ledger_account *o = a ? realloc(b->owns, 2 * n * sizeof(*o)) : NULL;
		struct pend_slot *p = o ? realloc(b->pends, n * sizeof(*p)) : NULL;
		struct ledger_entry *e = p ? realloc(b->entries, n * sizeof(*e)) : NULL;
		struct xfail *f = e ? realloc(b->fails, n * sizeof(*f)) : NULL;
		if (a)
			b->accts = a;
		if (o)
			b->owns = o;
		if (p)
			b->pends = p;
		if (e)
			b->entries = e;
		if (!f)
			return LEDGER_ENOMEM;
		b->fails = f;
		b->events_cap = n;
	}
	if (b->slots_cap < slots) {
		uint64_t *s = realloc(b->slots, slots * sizeof(*s));
		if (!s)
			return LEDGER_ENOMEM;
		b->slots = s;
		b->slots_cap = slots;
	}
	return LEDGER_OK;
}

static int xfer_init(struct xfer *x, struct ledger *l, MDB_txn *txn, size_t n)
{
	MDB_cursor *cur;
	MDB_val k, v;
	size_t acct_slots = xfer_capacity(2 * n), other_slots = xfer_capacity(n);
	int rc;
	memset(x, 0, sizeof(*x));
	x->l = l;
	x->txn = txn;
	rc = xfer_buffers_reserve(l, n);
	if (rc != 0)
		return rc;
	x->buf = l->buffers;
	x->accts = x->buf->accts;
	x->pends = x->buf->pends;
	x->entries = x->buf->entries;
	x->fails = x->buf->fails;
	x->acct_ix.slots = x->buf->slots;
	x->acct_ix.mask = acct_slots - 1;
	x->pend_ix.slots = x->acct_ix.slots + acct_slots;
	x->pend_ix.mask = other_slots - 1;
	x->entry_ix.slots = x->pend_ix.slots + other_slots;
	x->entry_ix.mask = other_slots - 1;
	x->fail_ix.slots = x->entry_ix.slots + other_slots;
	x->fail_ix.mask = other_slots - 1;
	memset(x->acct_ix.slots, 0, (acct_slots + 3 * other_slots) * sizeof(uint64_t));
	rc = ledger_meta_read(l, txn, &x->meta);
	if (rc != 0)
		return rc;
	x->now = ledger_now_ns();
	if (l->has_failed) {
		MDB_stat st;
		if ((rc = mdb_stat(txn, l->failed, &st)) != 0)
			return rc;
		x->have_stored_fails = st.ms_entries > 0;
	}
	rc = mdb_cursor_open(txn, l->ids, &cur);
	if (rc != 0)
		return rc;
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	if (rc == 0 && k.mv_size == 16) {
		memcpy(x->max_stored_id.b, k.mv_data, 16);
		x->have_stored_ids = true;
	}
	mdb_cursor_close(cur);
	return rc == 0 || rc == MDB_NOTFOUND ? 0 : rc;
}

/*
 * Runs the events chain by chain; `internal` allows the ledger's own flags.
 * As TigerBeetle: the last event of a call that is still linked is not run
 * (linked_event_chain_open); the event that broke a chain keeps its own
 * result and the chain's others get linked_event_failed. Only an event's own
 * transient failure spends its id.
 */
static int xfer_run(struct xfer *x, struct ledger_transfer *events, size_t n, uint32_t *results, bool internal)
{
	size_t i = 0;
	int rc;
	while (i < n) {
		size_t start = i, end = i, bad = n, stop;
		size_t entries_at = x->nentries;
		struct ledger_meta meta_at = x->meta;
		while (end < n && (events[end].flags & LEDGER_LINKED))
			end++;
		/* The events that run: the chain, less the last event of an open one. */
		stop = end < n ? end + 1 : n - 1;
		x->in_chain = end > start;
		x->nundo = 0;
		for (i = start; i < stop; i++) {
			rc = xfer_event(x, &events[i], internal, &results[i]);
			if (rc == 0 && ledger_result_is_transient(results[i]))
				rc = xfer_fail(x, &events[i].id, results[i]);
			if (rc != 0)
				return rc;
			if (results[i] != LEDGER_R_OK && results[i] != LEDGER_R_EXISTS) {
				bad = i;
				break;
			}
		}
		if (end == n) {
			results[n - 1] = LEDGER_R_LINKED_EVENT_CHAIN_OPEN;
			if (bad == n)
				bad = n - 1;
		}
		if (bad != n) {
			xfer_rollback(x, entries_at, &meta_at);
			/* Those before the failure were ok or exists: they report no place now. */
			ledger_transfers_clear(&events[start], bad - start);
			for (i = start; i < stop; i++)
				if (i != bad)
					results[i] = LEDGER_R_LINKED_EVENT_FAILED;
		}
		i = end + 1;
	}
	x->in_chain = false;
	return 0;
}

static int xfer_call(struct ledger *l, MDB_txn *txn, struct ledger_transfer *events, size_t n,
		     uint32_t *results, bool internal)
{
	struct xfer x;
	uint8_t head_before[LEDGER_HASH_LEN];
	int rc;
	if (n == 0 || n > LEDGER_BATCH_MAX)
		return LEDGER_EINVAL;
	rc = xfer_init(&x, l, txn, n);
	if (rc == 0) {
		memcpy(head_before, x.meta.head_hash, LEDGER_HASH_LEN);
		rc = xfer_run(&x, events, n, results, internal);
	}
	if (rc == 0)
		rc = xfer_flush(&x, head_before);
	return rc;
}

void ledger_transfers_clear(struct ledger_transfer *transfers, size_t n)
{
	for (size_t i = 0; i < n; i++)
		transfers[i].timestamp = transfers[i].seq = 0;
}

int ledger_create_transfers(struct ledger *l, MDB_txn *txn, struct ledger_transfer *transfers, size_t n,
			    uint32_t *results)
{
	return xfer_call(l, txn, transfers, n, results, false);
}

int ledger_expire(struct ledger *l, MDB_txn *txn, uint64_t now_ns, size_t max, size_t *expired)
{
	struct ledger_transfer *voids;
	uint32_t *results;
	MDB_cursor *cur;
	MDB_val k, v;
	size_t n = 0;
	int rc;

	*expired = 0;
	if (max == 0)
		return LEDGER_OK;
	if (max > LEDGER_BATCH_MAX)
		max = LEDGER_BATCH_MAX;
	voids = calloc(max, sizeof(*voids));
	results = calloc(max, sizeof(*results));
	if (!voids || !results) {
		rc = LEDGER_ENOMEM;
		goto free_all;
	}
	rc = mdb_cursor_open(txn, l->expiry, &cur);
	if (rc != 0)
		goto free_all;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && n < max;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct ledger_transfer *t = &voids[n];
		uint8_t key[24];
		if (k.mv_size != 24 || ledger_get_u64(k.mv_data) > now_ns)
			break;
		memcpy(t->pending_id.b, (uint8_t *)k.mv_data + 8, 16);
		/* The expiry's id derives from the pending id and its deadline: a retry finds it. */
		memcpy(key, k.mv_data, 24);
		ledger_id_derive(ledger_get_u64(key) / 1000000, key, sizeof(key), &t->id);
		t->flags = LEDGER_VOID_PENDING | LEDGER_EXPIRY;
		n++;
	}
	mdb_cursor_close(cur);
	if (rc != 0 && rc != MDB_NOTFOUND)
		goto free_all;
	rc = n ? xfer_call(l, txn, voids, n, results, true) : 0;
	for (size_t i = 0; i < n && rc == 0; i++)
		if (results[i] == LEDGER_R_OK)
			(*expired)++;
free_all:
	free(voids);
	free(results);
	return rc;
}
