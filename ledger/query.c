/* Reading entries: by id, by sequence, an account's history, the journal. */
#include "internal.h"

#include <string.h>

#include "store.h"

int ledger_entry_get(struct ledger *l, MDB_txn *txn, uint64_t seq, struct ledger_entry *out)
{
	uint8_t key[8];
	MDB_val k = { sizeof(key), key }, v;
	int rc;
	ledger_put_u64(key, seq);
	rc = mdb_get(txn, l->log, &k, &v);
	if (rc != 0)
		return store_status_from_mdb(rc);
	rc = ledger_entry_decode(v.mv_data, v.mv_size, out);
	return rc == LEDGER_OK && out->t.seq != seq ? LEDGER_ECORRUPT : rc;
}

int ledger_transfer_get(struct ledger *l, MDB_txn *txn, const struct ledger_id *id, struct ledger_entry *out)
{
	MDB_val k = { 16, (void *)id->b }, v;
	int rc = mdb_get(txn, l->ids, &k, &v);
	if (rc != 0)
		return store_status_from_mdb(rc);
	if (v.mv_size != 8)
		return LEDGER_ECORRUPT;
	return ledger_entry_get(l, txn, ledger_get_u64(v.mv_data), out);
}

/* The entry before e in the history of `account`. */
static uint64_t ledger_prev_of(const struct ledger_entry *e, const struct ledger_id *account)
{
	return memcmp(e->t.debit_account_id.b, account->b, 16) == 0 ? e->debit_prev_seq : e->credit_prev_seq;
}

static bool ledger_touches(const struct ledger_entry *e, const struct ledger_id *account)
{
	return memcmp(e->t.debit_account_id.b, account->b, 16) == 0 ||
	       memcmp(e->t.credit_account_id.b, account->b, 16) == 0;
}

int ledger_statement(struct ledger *l, MDB_txn *txn, const struct ledger_id *account, uint64_t cursor,
		     size_t limit, struct ledger_entry *out, size_t *n, uint64_t *next)
{
	struct ledger_account a;
	uint64_t seq;
	int rc = ledger_account_get(l, txn, account, &a);
	*n = 0;
	*next = 0;
	if (rc != 0)
		return rc;
	seq = cursor ? cursor : a.last_seq;
	if (cursor > a.last_seq)
		return LEDGER_EINVAL;
	while (seq && *n < limit) {
		struct ledger_entry *e = &out[*n];
		if ((rc = ledger_entry_get(l, txn, seq, e)) != 0)
			return rc == STORE_ENOTFOUND && cursor ? LEDGER_EINVAL : rc;
		if (!ledger_touches(e, account))
			return cursor ? LEDGER_EINVAL : LEDGER_ECORRUPT;
		(*n)++;
		seq = ledger_prev_of(e, account);
		/* Only the first entry can come from the caller; the rest follow the chain. */
		cursor = 0;
	}
	*next = seq;
	return LEDGER_OK;
}

int ledger_journal(struct ledger *l, MDB_txn *txn, uint64_t from_seq, size_t limit, struct ledger_entry *out,
		   size_t *n)
{
	MDB_cursor *cur;
	MDB_val k, v;
	uint8_t key[8];
	int rc;
	*n = 0;
	if (limit == 0)
		return LEDGER_OK;
	rc = mdb_cursor_open(txn, l->log, &cur);
	if (rc != 0)
		return store_status_from_mdb(rc);
	ledger_put_u64(key, from_seq);
	k.mv_size = sizeof(key);
	k.mv_data = key;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && *n < limit;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		rc = ledger_entry_decode(v.mv_data, v.mv_size, &out[*n]);
		if (rc != LEDGER_OK)
			break;
		(*n)++;
	}
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND || (rc == 0 && *n == limit))
		return LEDGER_OK;
	return rc == LEDGER_ECORRUPT ? rc : store_status_from_mdb(rc);
}

uint64_t ledger_time_from_ms(int64_t ms)
{
	const uint64_t ns_per_ms = 1000000u;
	if (ms <= 0)
		return 0;
	return (uint64_t)ms > UINT64_MAX / ns_per_ms ? UINT64_MAX : (uint64_t)ms * ns_per_ms;
}

int ledger_seq_at(struct ledger *l, MDB_txn *txn, uint64_t ts, uint64_t *seq)
{
	struct ledger_meta m;
	uint64_t lo = 1, hi;
	int rc = ledger_meta_read(l, txn, &m);
	if (rc != LEDGER_OK)
		return rc;
	/* Timestamps rise with the sequence: binary search for the first at or after ts. */
	hi = m.head_seq + 1;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		struct ledger_entry e;
		if ((rc = ledger_entry_get(l, txn, mid, &e)) != 0)
			return rc;
		if (e.t.timestamp < ts)
			lo = mid + 1;
		else
			hi = mid;
	}
	*seq = lo;
	return LEDGER_OK;
}
