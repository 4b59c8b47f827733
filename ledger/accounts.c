/*
 * Creating and reading accounts. Account creation is rare (a few per
 * merchant or courier), so each linked chain runs in its own nested
 * transaction and a failed chain is simply aborted.
 */
#include "internal.h"

#include <string.h>

#include "store.h"

#define LEDGER_ACCOUNT_FLAGS \
	(LEDGER_ACCOUNT_LINKED | LEDGER_DEBITS_MUST_NOT_EXCEED_CREDITS | \
	 LEDGER_CREDITS_MUST_NOT_EXCEED_DEBITS | LEDGER_ACCOUNT_CLOSED)

/* Names: 1..64 of [a-z0-9:._-], e.g. "merchant:42:payable". */
static bool ledger_name_valid(const char *name)
{
	size_t n = strnlen(name, LEDGER_NAME_MAX + 1);
	if (n == 0 || n > LEDGER_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ':' || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

int ledger_account_get(struct ledger *l, MDB_txn *txn, const struct ledger_id *id, struct ledger_account *out)
{
	MDB_val k = { 16, (void *)id->b }, v;
	int rc = mdb_get(txn, l->accounts, &k, &v);
	if (rc != 0)
		return store_status_from_mdb(rc);
	rc = ledger_account_decode(v.mv_data, v.mv_size, out);
	if (rc != 0)
		return rc;
	/* Every account has both records; one without the other is damage. */
	rc = mdb_get(txn, l->balances, &k, &v);
	if (rc != 0)
		return rc == MDB_NOTFOUND ? LEDGER_ECORRUPT : store_status_from_mdb(rc);
	return ledger_balances_decode(v.mv_data, v.mv_size, out);
}

int ledger_account_by_name(struct ledger *l, MDB_txn *txn, const char *name, struct ledger_account *out)
{
	MDB_val k = { strnlen(name, LEDGER_NAME_MAX + 1), (void *)name }, v;
	struct ledger_id id;
	int rc;
	if (!ledger_name_valid(name))
		return STORE_ENOTFOUND;
	rc = mdb_get(txn, l->names, &k, &v);
	if (rc != 0)
		return store_status_from_mdb(rc);
	if (v.mv_size != 16)
		return LEDGER_ECORRUPT;
	memcpy(id.b, v.mv_data, 16);
	return ledger_account_get(l, txn, &id, out);
}

int ledger_account_lookup(struct ledger *l, MDB_txn *txn, const char *ref, struct ledger_account *out)
{
	struct ledger_id id;
	if (strlen(ref) == 2 * sizeof(id.b) && ledger_id_parse(ref, &id) == LEDGER_OK)
		return ledger_account_get(l, txn, &id, out);
	return ledger_account_by_name(l, txn, ref, out);
}

/* Field checks that need no storage, in TigerBeetle's order. */
static uint32_t ledger_account_check(const struct ledger_account *a)
{
	if (a->timestamp != 0)
		return LEDGER_R_TIMESTAMP_MUST_BE_ZERO;
	if (a->flags & ~LEDGER_ACCOUNT_FLAGS)
		return LEDGER_R_RESERVED_FLAG;
	if (ledger_id_is_zero(&a->id))
		return LEDGER_R_ID_MUST_NOT_BE_ZERO;
	if (ledger_id_is_max(&a->id))
		return LEDGER_R_ID_MUST_NOT_BE_INT_MAX;
	if ((a->flags & LEDGER_DEBITS_MUST_NOT_EXCEED_CREDITS) && (a->flags & LEDGER_CREDITS_MUST_NOT_EXCEED_DEBITS))
		return LEDGER_R_FLAGS_ARE_MUTUALLY_EXCLUSIVE;
	/* Balances come from transfers only: an account opens at zero. */
	if (a->debits_pending != 0)
		return LEDGER_R_DEBITS_PENDING_MUST_BE_ZERO;
	if (a->debits_posted != 0)
		return LEDGER_R_DEBITS_POSTED_MUST_BE_ZERO;
	if (a->credits_pending != 0)
		return LEDGER_R_CREDITS_PENDING_MUST_BE_ZERO;
	if (a->credits_posted != 0)
		return LEDGER_R_CREDITS_POSTED_MUST_BE_ZERO;
	if (a->ledger == 0)
		return LEDGER_R_LEDGER_MUST_NOT_BE_ZERO;
	if (a->code == 0)
		return LEDGER_R_CODE_MUST_NOT_BE_ZERO;
	if (!ledger_name_valid(a->name))
		return LEDGER_R_NAME_MUST_BE_VALID;
	return LEDGER_R_OK;
}

/* The result for an id that is already stored, comparing in TigerBeetle's order. */
static uint32_t ledger_account_exists(const struct ledger_account *a, const struct ledger_account *e)
{
	if (a->flags != e->flags)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_FLAGS;
	if (memcmp(&a->user_data_128, &e->user_data_128, 16) != 0)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_USER_DATA_128;
	if (a->user_data_64 != e->user_data_64)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_USER_DATA_64;
	if (a->user_data_32 != e->user_data_32)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_USER_DATA_32;
	if (a->ledger != e->ledger)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_LEDGER;
	if (a->code != e->code)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_CODE;
	if (strcmp(a->name, e->name) != 0)
		return LEDGER_R_EXISTS_WITH_DIFFERENT_NAME;
	return LEDGER_R_EXISTS;
}

/*
 * One account. Returns an LMDB/STORE status for a storage failure (the
 * whole call fails), else 0 with *result set.
 */
static int ledger_account_create(struct ledger *l, MDB_txn *txn, struct ledger_meta *meta,
				 struct ledger_account *a, uint32_t *result)
{
	struct ledger_account e;
	uint8_t buf[LEDGER_ACCOUNT_RECORD_MAX];
	MDB_val k, v;
	int rc;

	*result = ledger_account_check(a);
	if (*result != LEDGER_R_OK)
		return 0;
	rc = ledger_account_get(l, txn, &a->id, &e);
	if (rc == 0) {
		*result = ledger_account_exists(a, &e);
		if (*result == LEDGER_R_EXISTS)
			*a = e;
		return 0;
	}
	if (rc != STORE_ENOTFOUND)
		return rc;
	k.mv_size = strlen(a->name);
	k.mv_data = a->name;
	rc = mdb_get(txn, l->names, &k, &v);
	if (rc == 0) {
		*result = LEDGER_R_NAME_ALREADY_USED;
		return 0;
	}
	if (rc != MDB_NOTFOUND)
		return rc;
	a->last_seq = 0;
	a->timestamp = ledger_tick(meta, ledger_now_ns());
	v.mv_size = 16;
	v.mv_data = a->id.b;
	rc = mdb_put(txn, l->names, &k, &v, MDB_NOOVERWRITE);
	if (rc != 0)
		return rc;
	k.mv_size = 16;
	k.mv_data = a->id.b;
	v.mv_size = ledger_account_encode(a, buf);
	v.mv_data = buf;
	rc = mdb_put(txn, l->accounts, &k, &v, MDB_NOOVERWRITE);
	if (rc != 0)
		return rc;
	ledger_balances_encode(a, buf);
	v.mv_size = LEDGER_BALANCES_RECORD_LEN;
	return mdb_put(txn, l->balances, &k, &v, MDB_NOOVERWRITE);
}

void ledger_accounts_clear(struct ledger_account *accounts, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct ledger_account *a = &accounts[i];
		a->debits_pending = a->debits_posted = a->credits_pending = a->credits_posted = 0;
		a->last_seq = a->timestamp = 0;
	}
}

int ledger_create_accounts(struct ledger *l, MDB_txn *txn, struct ledger_account *accounts, size_t n,
			   uint32_t *results)
{
	struct ledger_meta meta;
	size_t i = 0;
	int rc;

	if (n == 0 || n > LEDGER_BATCH_MAX)
		return LEDGER_EINVAL;
	rc = ledger_meta_read(l, txn, &meta);
	if (rc != LEDGER_OK)
		return rc;
	while (i < n) {
		/*
		 * A chain runs to the first event without `linked` (a lone event is a
		 * chain of one). As TigerBeetle: the last event of a call that is still
		 * linked is not run (linked_event_chain_open), the event that broke a
		 * chain keeps its own result, the chain's others get linked_event_failed.
		 */
		size_t start = i, end = i, bad = n, stop;
		uint64_t clock = meta.clock;
		MDB_txn *child;
		while (end < n && (accounts[end].flags & LEDGER_ACCOUNT_LINKED))
			end++;
		stop = end < n ? end + 1 : n - 1;
		rc = mdb_txn_begin(mdb_txn_env(txn), txn, 0, &child);
		if (rc != 0)
			return rc;
		for (i = start; i < stop; i++) {
			rc = ledger_account_create(l, child, &meta, &accounts[i], &results[i]);
			if (rc != 0) {
				mdb_txn_abort(child);
				return rc;
			}
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
			mdb_txn_abort(child);
			meta.clock = clock;
			/* Those before the failure were ok or exists: what the ledger filled in goes. */
			ledger_accounts_clear(&accounts[start], bad - start);
			for (i = start; i < stop; i++)
				if (i != bad)
					results[i] = LEDGER_R_LINKED_EVENT_FAILED;
		} else {
			rc = mdb_txn_commit(child);
			if (rc != 0)
				return rc;
		}
		i = end + 1;
	}
	rc = ledger_meta_write(l, txn, &meta);
	return rc == 0 ? LEDGER_OK : rc;
}
