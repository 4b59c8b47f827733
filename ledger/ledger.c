/*
 * The ledger's set-up, its running state, ids, result names and the expiry
 * sweep.
 */
#include "internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "crypto.h"
#include "log.h"
#include "store.h"

#define LEDGER_EXPIRE_PER_JOB 1024

static const char ledger_meta_key[] = "meta";

static const char *const ledger_result_names[LEDGER_R_COUNT] = {
	[LEDGER_R_OK] = "ok",
	[LEDGER_R_LINKED_EVENT_FAILED] = "linked_event_failed",
	[LEDGER_R_LINKED_EVENT_CHAIN_OPEN] = "linked_event_chain_open",
	[LEDGER_R_RESERVED_FLAG] = "reserved_flag",
	[LEDGER_R_ID_MUST_NOT_BE_ZERO] = "id_must_not_be_zero",
	[LEDGER_R_ID_MUST_NOT_BE_INT_MAX] = "id_must_not_be_int_max",
	[LEDGER_R_FLAGS_ARE_MUTUALLY_EXCLUSIVE] = "flags_are_mutually_exclusive",
	[LEDGER_R_DEBIT_ACCOUNT_ID_MUST_NOT_BE_ZERO] = "debit_account_id_must_not_be_zero",
	[LEDGER_R_DEBIT_ACCOUNT_ID_MUST_NOT_BE_INT_MAX] = "debit_account_id_must_not_be_int_max",
	[LEDGER_R_CREDIT_ACCOUNT_ID_MUST_NOT_BE_ZERO] = "credit_account_id_must_not_be_zero",
	[LEDGER_R_CREDIT_ACCOUNT_ID_MUST_NOT_BE_INT_MAX] = "credit_account_id_must_not_be_int_max",
	[LEDGER_R_ACCOUNTS_MUST_BE_DIFFERENT] = "accounts_must_be_different",
	[LEDGER_R_PENDING_ID_MUST_BE_ZERO] = "pending_id_must_be_zero",
	[LEDGER_R_PENDING_ID_MUST_NOT_BE_ZERO] = "pending_id_must_not_be_zero",
	[LEDGER_R_PENDING_ID_MUST_NOT_BE_INT_MAX] = "pending_id_must_not_be_int_max",
	[LEDGER_R_PENDING_ID_MUST_BE_DIFFERENT] = "pending_id_must_be_different",
	[LEDGER_R_TIMEOUT_RESERVED_FOR_PENDING_TRANSFER] = "timeout_reserved_for_pending_transfer",
	[LEDGER_R_AMOUNT_MUST_NOT_BE_ZERO] = "amount_must_not_be_zero",
	[LEDGER_R_AMOUNT_MUST_NOT_BE_NEGATIVE] = "amount_must_not_be_negative",
	[LEDGER_R_LEDGER_MUST_NOT_BE_ZERO] = "ledger_must_not_be_zero",
	[LEDGER_R_CODE_MUST_NOT_BE_ZERO] = "code_must_not_be_zero",
	[LEDGER_R_DEBIT_ACCOUNT_NOT_FOUND] = "debit_account_not_found",
	[LEDGER_R_CREDIT_ACCOUNT_NOT_FOUND] = "credit_account_not_found",
	[LEDGER_R_ACCOUNTS_MUST_HAVE_THE_SAME_LEDGER] = "accounts_must_have_the_same_ledger",
	[LEDGER_R_TRANSFER_MUST_HAVE_THE_SAME_LEDGER_AS_ACCOUNTS] =
		"transfer_must_have_the_same_ledger_as_accounts",
	[LEDGER_R_PENDING_TRANSFER_NOT_FOUND] = "pending_transfer_not_found",
	[LEDGER_R_PENDING_TRANSFER_NOT_PENDING] = "pending_transfer_not_pending",
	[LEDGER_R_PENDING_TRANSFER_HAS_DIFFERENT_DEBIT_ACCOUNT_ID] =
		"pending_transfer_has_different_debit_account_id",
	[LEDGER_R_PENDING_TRANSFER_HAS_DIFFERENT_CREDIT_ACCOUNT_ID] =
		"pending_transfer_has_different_credit_account_id",
	[LEDGER_R_PENDING_TRANSFER_HAS_DIFFERENT_LEDGER] = "pending_transfer_has_different_ledger",
	[LEDGER_R_PENDING_TRANSFER_HAS_DIFFERENT_CODE] = "pending_transfer_has_different_code",
	[LEDGER_R_EXCEEDS_PENDING_TRANSFER_AMOUNT] = "exceeds_pending_transfer_amount",
	[LEDGER_R_PENDING_TRANSFER_HAS_DIFFERENT_AMOUNT] = "pending_transfer_has_different_amount",
	[LEDGER_R_PENDING_TRANSFER_ALREADY_POSTED] = "pending_transfer_already_posted",
	[LEDGER_R_PENDING_TRANSFER_ALREADY_VOIDED] = "pending_transfer_already_voided",
	[LEDGER_R_PENDING_TRANSFER_EXPIRED] = "pending_transfer_expired",
	[LEDGER_R_EXISTS_WITH_DIFFERENT_FLAGS] = "exists_with_different_flags",
	[LEDGER_R_EXISTS_WITH_DIFFERENT_PENDING_ID] = "exists_with_different_pending_id",
	[LEDGER_R_EXISTS_WITH_DIFFERENT_TIMEOUT] = "exists_with_different_timeout",
	[LEDGER_R_EXISTS_WITH_DIFFERENT_DEBIT_ACCOUNT_ID] = "exists_with_different_debit_account_id",
	[LEDGER_R_EXISTS_WITH_DIFFERENT_CREDIT_ACCOUNT_ID] = "exists_with_different_credit_account_id",
	[LEDGER_R_EXISTS_WITH_DIFFERENT_AMOUNT] = "exists_with_different_amount",
	[LEDGER_R_EXISTS_WITH_DIFFERENT_USER_DATA_128] = "exists_with_different_user_data_128",
	[LEDGER_R_EXISTS_WITH_DIFFERENT_USER_DATA_64] = "exists_with_different_user_data_64",
	[LEDGER_R_EXISTS_WITH_DIFFERENT_USER_DATA_32] = "exists_with_different_user_data_32",
	[LEDGER_R_EXISTS_WITH_DIFFERENT_LEDGER] = "exists_with_different_ledger",
	[LEDGER_R_EXISTS_WITH_DIFFERENT_CODE] = "exists_with_different_code",
	[LEDGER_R_EXISTS] = "exists",
	[LEDGER_R_OVERFLOWS_DEBITS_PENDING] = "overflows_debits_pending",
	[LEDGER_R_OVERFLOWS_CREDITS_PENDING] = "overflows_credits_pending",
	[LEDGER_R_OVERFLOWS_DEBITS_POSTED] = "overflows_debits_posted",
	[LEDGER_R_OVERFLOWS_CREDITS_POSTED] = "overflows_credits_posted",
	[LEDGER_R_OVERFLOWS_DEBITS] = "overflows_debits",
	[LEDGER_R_OVERFLOWS_CREDITS] = "overflows_credits",
	[LEDGER_R_OVERFLOWS_TIMEOUT] = "overflows_timeout",
	[LEDGER_R_EXCEEDS_CREDITS] = "exceeds_credits",
	[LEDGER_R_EXCEEDS_DEBITS] = "exceeds_debits",
	[LEDGER_R_DEBIT_ACCOUNT_ALREADY_CLOSED] = "debit_account_already_closed",
	[LEDGER_R_CREDIT_ACCOUNT_ALREADY_CLOSED] = "credit_account_already_closed",
	[LEDGER_R_NAME_MUST_BE_VALID] = "name_must_be_valid",
	[LEDGER_R_NAME_ALREADY_USED] = "name_already_used",
	[LEDGER_R_EXISTS_WITH_DIFFERENT_NAME] = "exists_with_different_name",
	[LEDGER_R_ID_ALREADY_FAILED] = "id_already_failed",
	[LEDGER_R_TIMESTAMP_MUST_BE_ZERO] = "timestamp_must_be_zero",
	[LEDGER_R_DEBITS_PENDING_MUST_BE_ZERO] = "debits_pending_must_be_zero",
	[LEDGER_R_DEBITS_POSTED_MUST_BE_ZERO] = "debits_posted_must_be_zero",
	[LEDGER_R_CREDITS_PENDING_MUST_BE_ZERO] = "credits_pending_must_be_zero",
	[LEDGER_R_CREDITS_POSTED_MUST_BE_ZERO] = "credits_posted_must_be_zero",
};

const char *ledger_code_name(uint16_t code)
{
	static const char *const names[] = {
		[LEDGER_CODE_PAYMENT] = "payment",
		[LEDGER_CODE_RELEASE] = "release",
		[LEDGER_CODE_COMMISSION] = "commission",
		[LEDGER_CODE_SHIPPING] = "shipping",
		[LEDGER_CODE_REFUND] = "refund",
		[LEDGER_CODE_PAYOUT] = "payout",
		[LEDGER_CODE_SETTLEMENT] = "settlement",
		[LEDGER_CODE_VOUCHER] = "voucher",
		[LEDGER_CODE_ADJUSTMENT] = "adjustment",
	};
	return code < sizeof(names) / sizeof(names[0]) ? names[code] : NULL;
}

const char *ledger_result_name(uint32_t result)
{
	return result < LEDGER_R_COUNT ? ledger_result_names[result] : "unknown";
}

int ledger_open(struct store *store, struct ledger **out)
{
	struct ledger *l = calloc(1, sizeof(*l));
	struct store_hooks hooks = { ledger_cache_job_end, ledger_cache_batch_end, NULL };
	int rc;
	if (!l)
		return LEDGER_ENOMEM;
	l->store = store;
	rc = ledger_cache_new(&l->cache);
	if (rc != LEDGER_OK) {
		free(l);
		return rc;
	}
	hooks.ctx = l->cache;
	if ((rc = store_add_hooks(store, &hooks)) != 0 ||
	    (rc = store_dbi_open(store, "ledger_log", 0, &l->log)) != 0 ||
	    (rc = store_dbi_open(store, "ledger_ids", 0, &l->ids)) != 0 ||
	    (rc = store_dbi_open(store, "ledger_accounts", 0, &l->accounts)) != 0 ||
	    (rc = store_dbi_open(store, "ledger_balances", 0, &l->balances)) != 0 ||
	    (rc = store_dbi_open(store, "ledger_names", 0, &l->names)) != 0 ||
	    (rc = store_dbi_open(store, "ledger_pending", 0, &l->pending)) != 0 ||
	    (rc = store_dbi_open(store, "ledger_expiry", 0, &l->expiry)) != 0 ||
	    (rc = store_dbi_open(store, "ledger_batches", 0, &l->batches)) != 0 ||
	    (rc = store_dbi_open(store, "ledger_meta", 0, &l->meta)) != 0 || (rc = ledger_failed_open(l)) != 0 ||
	    (rc = ledger_tree_open(l)) != 0) {
		ledger_cache_free(l->cache);
		free(l);
		return rc;
	}
	*out = l;
	return LEDGER_OK;
}

void ledger_close(struct ledger *l)
{
	if (!l)
		return;
	ledger_stop(l);
	ledger_checkpoints_close(l);
	ledger_buffers_free(l->buffers);
	ledger_cache_free(l->cache);
	free(l);
}

int ledger_meta_read(struct ledger *l, MDB_txn *txn, struct ledger_meta *out)
{
	MDB_val k = { sizeof(ledger_meta_key) - 1, (void *)ledger_meta_key }, v;
	int rc = mdb_get(txn, l->meta, &k, &v);
	if (rc == MDB_NOTFOUND) {
		memset(out, 0, sizeof(*out));
		return LEDGER_OK;
	}
	if (rc != 0)
		return store_status_from_mdb(rc);
	return ledger_meta_decode(v.mv_data, v.mv_size, out);
}

int ledger_meta_write(struct ledger *l, MDB_txn *txn, const struct ledger_meta *m)
{
	uint8_t buf[LEDGER_META_RECORD_LEN];
	MDB_val k = { sizeof(ledger_meta_key) - 1, (void *)ledger_meta_key };
	MDB_val v = { sizeof(buf), buf };
	ledger_meta_encode(m, buf);
	return mdb_put(txn, l->meta, &k, &v, 0);
}

uint64_t ledger_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t ledger_tick(struct ledger_meta *m, uint64_t now)
{
	/* Strictly increasing even when the wall clock steps back. */
	m->clock = now > m->clock ? now : m->clock + 1;
	return m->clock;
}

int ledger_head(struct ledger *l, MDB_txn *txn, uint64_t *seq, uint8_t hash[LEDGER_HASH_LEN])
{
	struct ledger_meta m;
	int rc = ledger_meta_read(l, txn, &m);
	if (rc != LEDGER_OK)
		return rc;
	*seq = m.head_seq;
	memcpy(hash, m.head_hash, LEDGER_HASH_LEN);
	return LEDGER_OK;
}

/* --- ids --- */

static pthread_mutex_t ledger_id_lock = PTHREAD_MUTEX_INITIALIZER;
static struct ledger_id ledger_id_last;
static uint64_t ledger_id_last_ms;

static void ledger_id_set_ms(struct ledger_id *id, uint64_t ms)
{
	for (int i = 5; i >= 0; i--, ms >>= 8)
		id->b[i] = (uint8_t)ms;
}

/* Adds one to the 128-bit big-endian number. */
static void ledger_id_increment(struct ledger_id *id)
{
	for (int i = 15; i >= 0; i--)
		if (++id->b[i] != 0)
			break;
}

int ledger_id_new(struct ledger_id *out)
{
	struct timespec ts;
	uint64_t ms;
	int rc = LEDGER_OK;
	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	pthread_mutex_lock(&ledger_id_lock);
	/*
	 * Fresh random bits once per millisecond; within it (or when the clock
	 * stepped back) count up from the last id, so ids strictly increase.
	 */
	if (ms > ledger_id_last_ms) {
		struct ledger_id id;
		if (crypto_random(id.b + 6, 10) != CRYPTO_OK) {
			rc = LEDGER_ENOMEM;
			goto unlock;
		}
		ledger_id_set_ms(&id, ms);
		ledger_id_last = id;
		ledger_id_last_ms = ms;
	} else {
		ledger_id_increment(&ledger_id_last);
	}
	*out = ledger_id_last;
unlock:
	pthread_mutex_unlock(&ledger_id_lock);
	return rc;
}

void ledger_id_derive(uint64_t time_ms, const void *key, size_t len, struct ledger_id *out)
{
	uint8_t digest[CRYPTO_SHA256_LEN];
	crypto_sha256(key, len, digest);
	memcpy(out->b + 6, digest, 10);
	ledger_id_set_ms(out, time_ms);
}

bool ledger_id_is_zero(const struct ledger_id *id)
{
	static const struct ledger_id zero;
	return memcmp(id->b, zero.b, 16) == 0;
}

bool ledger_id_is_max(const struct ledger_id *id)
{
	for (int i = 0; i < 16; i++)
		if (id->b[i] != 0xff)
			return false;
	return true;
}

void ledger_id_hex(const struct ledger_id *id, char *out, size_t cap)
{
	if (crypto_hex_encode(id->b, 16, out, cap) != CRYPTO_OK && cap)
		out[0] = '\0';
}

int ledger_id_parse(const char *text, struct ledger_id *out)
{
	size_t n;
	if (strlen(text) != 32 || crypto_hex_decode(text, 32, out->b, 16, &n) != CRYPTO_OK || n != 16)
		return LEDGER_EINVAL;
	return LEDGER_OK;
}

struct ledger_id ledger_id_from_u64(uint64_t v)
{
	struct ledger_id id = { { 0 } };
	ledger_put_u64(id.b + 8, v);
	return id;
}

/* --- the expiry sweep (and the checkpoint schedule, on the same timer) --- */

struct ledger_sweep {
	struct ledger *l;
	struct event *timer;
	bool job_running;
	bool stopped;       /* ledger_stop ran while a job was out: its done frees */
	size_t expired;
};

static int ledger_sweep_apply(MDB_txn *txn, void *arg)
{
	struct ledger_sweep *sw = arg;
	sw->expired = 0;
	return ledger_expire(sw->l, txn, ledger_now_ns(), LEDGER_EXPIRE_PER_JOB, &sw->expired);
}

static void ledger_sweep_done(int status, void *arg)
{
	struct ledger_sweep *sw = arg;
	sw->job_running = false;
	if (status != 0)
		log_msg(LOG_WARN, "ledger", "expiry sweep failed: %s", store_strerror(status));
	else if (sw->expired)
		log_msg(LOG_INFO, "ledger", "expired %zu pending transfers", sw->expired);
	if (sw->stopped)
		free(sw);
}

/* True when some pending transfer's deadline has passed (a cheap read first). */
static bool ledger_sweep_due(struct ledger *l)
{
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	bool due = false;
	if (store_read_begin(l->store, &txn) != 0)
		return false;
	if (mdb_cursor_open(txn, l->expiry, &cur) == 0) {
		if (mdb_cursor_get(cur, &k, &v, MDB_FIRST) == 0 && k.mv_size >= 8)
			due = ledger_get_u64(k.mv_data) <= ledger_now_ns();
		mdb_cursor_close(cur);
	}
	store_read_end(l->store, txn);
	return due;
}

static void ledger_on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct ledger_sweep *sw = arg;
	(void)fd;
	(void)what;
	ledger_checkpoint_tick(sw->l, ledger_now_ns() / 1000000u);
	if (sw->job_running || !ledger_sweep_due(sw->l))
		return;
	if (store_submit(sw->l->store, ledger_sweep_apply, ledger_sweep_done, sw) == 0)
		sw->job_running = true;
}

int ledger_start(struct ledger *l, struct event_base *base)
{
	struct timeval second = { 1, 0 };
	struct ledger_sweep *sw;
	if (l->sweep)
		return LEDGER_EINVAL;
	sw = calloc(1, sizeof(*sw));
	if (!sw)
		return LEDGER_ENOMEM;
	sw->l = l;
	sw->timer = event_new(base, -1, EV_PERSIST, ledger_on_sweep, sw);
	if (!sw->timer || event_add(sw->timer, &second) != 0) {
		if (sw->timer)
			event_free(sw->timer);
		free(sw);
		return LEDGER_ENOMEM;
	}
	l->sweep = sw;
	return LEDGER_OK;
}

void ledger_stop(struct ledger *l)
{
	struct ledger_sweep *sw = l->sweep;
	if (!sw)
		return;
	l->sweep = NULL;
	event_free(sw->timer);
	if (sw->job_running)
		sw->stopped = true;
	else
		free(sw);
}
