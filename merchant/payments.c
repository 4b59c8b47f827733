#include "payments.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "body.h"
#include "clock.h"
#include "crypto.h"
#include "httpd.h"
#include "idem.h"
#include "log.h"
#include "merchants.h"
#include "qr.h"
#include "record.h"
#include "role.h"
#include "router.h"
#include "store.h"

#define PAYMENT_VERSION 2             /* 2: the paid time after the history */
#define PAYMENT_FIELDS 20             /* before the history entries */
#define PAYMENT_HISTORY_FIELDS 6      /* per history entry */
#define PAYMENT_HISTORY_MAX 16        /* entries kept in the record: the newest */
#define PAYMENT_NOTE_MAX 96
#define PAYMENT_SOURCE_MAX 16
#define PAYMENT_PROVIDER_MAX 16
#define PAYMENT_SWEEP_MAX 64          /* watched payments handled per sweep */
#define PAYMENT_KEEPALIVE_S 15
#define PAYMENT_LIST_MAX 100          /* charges per page */
#define PAYMENT_LIST_DEFAULT 20
#define PAYMENT_SCAN_MAX 1000         /* index entries one listing reads at most */
#define PAYMENT_INDEX_CHUNK 4096      /* payments one commit of the index's build reads */
#define PAYMENT_REFUND_KEY_LEN 25     /* an admin's refund at the provider: "k" and 12 bytes in hex, so
					 with the payment id before it the provider's key fits PAY_ID_MAX */

enum payment_kind { PAYMENT_ORDER = 1, PAYMENT_INSTORE = 2 };

/* One thing that happened to a payment: its history, and how repeats are known. */
struct payment_event {
	int64_t at_ms;
	char source[PAYMENT_SOURCE_MAX + 1];     /* "local", "provider", "webhook", "poll", "refund" */
	char event_id[PAY_EVENT_ID_MAX + 1];     /* the provider's, for deduplication */
	uint8_t state;                           /* what it reported */
	int64_t amount;                          /* what it reported, -1 when nothing */
	char note[PAYMENT_NOTE_MAX + 1];         /* what it did */
};

/*
 * A payment, with its newest events inside the record: a notification then
 * touches one record (one page) instead of a record and two indexes.
 */
struct payment {
	struct ledger_id id;
	uint8_t kind;
	uint64_t merchant_id;
	uint64_t owner_user_id;               /* who may see it besides admins */
	struct ledger_id order_ref;           /* the order group, for order payments */
	struct ledger_id payable;             /* the merchant's payable, for in-store charges */
	int64_t amount, mdr, paid_amount, refunded;
	char provider[PAYMENT_PROVIDER_MAX + 1];
	char provider_ref[PAY_ID_MAX + 1];
	char qr[QRIS_PAYLOAD_MAX + 1];
	uint8_t state;                        /* enum pay_state */
	bool flagged;                         /* held for review: not credited */
	bool late;                            /* paid after it expired: refunded */
	int64_t created_ms, updated_ms, expires_ms;
	int64_t paid_ms;                      /* when it was marked paid; 0 when not (or not known) */
	uint64_t nevents;                     /* events ever recorded */
	uint8_t nhist;                        /* the newest of them kept below, oldest first */
	struct payment_event hist[PAYMENT_HISTORY_MAX];
};

/* A client following a payment's status (Server-Sent Events). */
struct payment_sub {
	struct payment_sub *next;
	struct payments *p;
	struct ledger_id id;
	struct httpd_req *req;
};

struct payments {
	struct store *store;
	struct idem *idem;
	struct ledger *ledger;
	struct merchants *merchants;
	struct pay_gateway *gw;
	struct payments_config cfg;
	MDB_dbi payments, watch, by_merchant;
	struct event *sweep_timer, *keepalive_timer;
	bool sweeping;
	struct payment_sub *subs;
	payments_order_fn on_order;
	void *on_order_ctx;
	payments_payout_fn on_payout;
	void *on_payout_ctx;
};

/* What one store job did, for its done callback. */
enum job_outcome {
	OUTCOME_APPLIED = 1,   /* the state or flags changed */
	OUTCOME_KEPT,          /* recorded, nothing to change (stale or repeated state) */
	OUTCOME_DUPLICATE,     /* the same event again */
	OUTCOME_UNKNOWN,       /* no such payment */
	OUTCOME_REFUSED,       /* the ledger refused the postings: flagged */
};

/* The one field of a charge's and a refund's body. */
static const char *const pay_amount_keys[] = { "amount", NULL };

/* --- small helpers --- */

static void pay_time_text(int64_t ms, char *out, size_t cap)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

int64_t payments_mdr(const char *criteria, int64_t amount)
{
	int64_t bps;
	/* UMI: free up to Rp500,000, 0.3% above; regular merchants 0.7%. */
	if (strcmp(criteria, "UMI") == 0)
		bps = amount <= 500000 ? 0 : 30;
	else
		bps = 70;
	return (amount * bps + 5000) / 10000;
}

/* --- records --- */

/*
 * A version 1 record's paid time, from the kept event that marked it paid;
 * 0 when it is not paid or that event has left the history.
 */
static int64_t pay_paid_ms_kept(const struct payment *pay)
{
	if (pay->paid_amount == 0)
		return 0;
	for (uint8_t i = 0; i < pay->nhist; i++)
		if (pay->hist[i].state == PAY_STATE_PAID &&
		    (pay->hist[i].amount == -1 || pay->hist[i].amount == pay->amount))
			return pay->hist[i].at_ms;
	return 0;
}

/* Reads a payment; `id` may point into `out` (it is copied first). */
static int pay_load(struct payments *p, MDB_txn *txn, const struct ledger_id *id, struct payment *out)
{
	struct ledger_id key = *id;
	MDB_val k = { 16, key.b }, v;
	struct record_reader r;
	uint64_t kind = 0, state = 0, nhist = 0;
	int rc = mdb_get(txn, p->payments, &k, &v);
	if (rc != 0)
		return store_status_from_mdb(rc);
	if (record_reader_open(&r, v.mv_data, v.mv_size, PAYMENT_VERSION, PAYMENT_FIELDS) != RECORD_OK)
		return STORE_ECORRUPT;
	memset(out, 0, sizeof(*out));
	out->id = key;
	if (record_get_u64(&r, &kind) || record_get_u64(&r, &out->merchant_id) ||
	    record_get_u64(&r, &out->owner_user_id) || record_get_bin_exact(&r, out->order_ref.b, 16) ||
	    record_get_bin_exact(&r, out->payable.b, 16) || record_get_i64(&r, &out->amount) ||
	    record_get_i64(&r, &out->mdr) || record_get_i64(&r, &out->paid_amount) ||
	    record_get_i64(&r, &out->refunded) ||
	    record_get_str(&r, out->provider, sizeof(out->provider), NULL) ||
	    record_get_str(&r, out->provider_ref, sizeof(out->provider_ref), NULL) ||
	    record_get_str(&r, out->qr, sizeof(out->qr), NULL) || record_get_u64(&r, &state) ||
	    record_get_bool(&r, &out->flagged) || record_get_bool(&r, &out->late) ||
	    record_get_i64(&r, &out->created_ms) || record_get_i64(&r, &out->updated_ms) ||
	    record_get_i64(&r, &out->expires_ms) || record_get_u64(&r, &out->nevents) ||
	    record_get_u64(&r, &nhist) || nhist > PAYMENT_HISTORY_MAX || !pay_state_name((enum pay_state)state))
		rc = STORE_ECORRUPT;
	for (uint64_t i = 0; rc == 0 && i < nhist; i++) {
		struct payment_event *e = &out->hist[i];
		uint64_t st;
		if (record_get_i64(&r, &e->at_ms) || record_get_str(&r, e->source, sizeof(e->source), NULL) ||
		    record_get_str(&r, e->event_id, sizeof(e->event_id), NULL) || record_get_u64(&r, &st) ||
		    record_get_i64(&r, &e->amount) || record_get_str(&r, e->note, sizeof(e->note), NULL) ||
		    !pay_state_name((enum pay_state)st))
			rc = STORE_ECORRUPT;
		e->state = (uint8_t)st;
	}
	out->nhist = (uint8_t)nhist;
	out->kind = (uint8_t)kind;
	out->state = (uint8_t)state;
	if (rc == 0 && r.version >= 2 && record_get_i64(&r, &out->paid_ms))
		rc = STORE_ECORRUPT;
	else if (rc == 0 && r.version < 2)
		out->paid_ms = pay_paid_ms_kept(out);
	record_reader_free(&r);
	return rc;
}

static int pay_store(struct payments *p, MDB_txn *txn, struct payment *pay)
{
	struct record_writer w;
	MDB_val k = { 16, pay->id.b }, v;
	size_t len;
	int rc;
	pay->updated_ms = clock_now_ms();
	record_writer_init(&w, PAYMENT_VERSION, PAYMENT_FIELDS + (uint32_t)pay->nhist * PAYMENT_HISTORY_FIELDS + 1);
	record_put_u64(&w, pay->kind);
	record_put_u64(&w, pay->merchant_id);
	record_put_u64(&w, pay->owner_user_id);
	record_put_bin(&w, pay->order_ref.b, 16);
	record_put_bin(&w, pay->payable.b, 16);
	record_put_i64(&w, pay->amount);
	record_put_i64(&w, pay->mdr);
	record_put_i64(&w, pay->paid_amount);
	record_put_i64(&w, pay->refunded);
	record_put_str(&w, pay->provider, strlen(pay->provider));
	record_put_str(&w, pay->provider_ref, strlen(pay->provider_ref));
	record_put_str(&w, pay->qr, strlen(pay->qr));
	record_put_u64(&w, pay->state);
	record_put_bool(&w, pay->flagged);
	record_put_bool(&w, pay->late);
	record_put_i64(&w, pay->created_ms);
	record_put_i64(&w, pay->updated_ms);
	record_put_i64(&w, pay->expires_ms);
	record_put_u64(&w, pay->nevents);
	record_put_u64(&w, pay->nhist);
	for (uint8_t i = 0; i < pay->nhist; i++) {
		const struct payment_event *e = &pay->hist[i];
		record_put_i64(&w, e->at_ms);
		record_put_str(&w, e->source, strlen(e->source));
		record_put_str(&w, e->event_id, strlen(e->event_id));
		record_put_u64(&w, e->state);
		record_put_i64(&w, e->amount);
		record_put_str(&w, e->note, strlen(e->note));
	}
	record_put_i64(&w, pay->paid_ms);
	v.mv_data = (void *)record_data(&w, &len);
	v.mv_size = len;
	rc = v.mv_data ? mdb_put(txn, p->payments, &k, &v, 0) : STORE_ENOMEM;
	record_writer_free(&w);
	return rc;
}

/* Appends an event to the payment's history (kept in its record; the oldest goes when full). */
static void pay_history(struct payment *pay, const char *source, const char *event_id, enum pay_state state,
			int64_t amount, const char *note)
{
	struct payment_event *e;
	if (pay->nhist == PAYMENT_HISTORY_MAX) {
		memmove(&pay->hist[0], &pay->hist[1], (PAYMENT_HISTORY_MAX - 1) * sizeof(pay->hist[0]));
		pay->nhist--;
	}
	e = &pay->hist[pay->nhist++];
	e->at_ms = clock_now_ms();
	snprintf(e->source, sizeof(e->source), "%s", source);
	snprintf(e->event_id, sizeof(e->event_id), "%s", event_id);
	e->state = (uint8_t)state;
	e->amount = amount;
	snprintf(e->note, sizeof(e->note), "%.*s", PAYMENT_NOTE_MAX, note); /* longer notes are cut */
	pay->nevents++;
}

/* True when the payment's kept history already holds this provider event. */
static bool pay_seen(const struct payment *pay, const char *event_id)
{
	for (uint8_t i = 0; i < pay->nhist; i++)
		if (strcmp(pay->hist[i].event_id, event_id) == 0)
			return true;
	return false;
}

/* Schedules the next look at a payment (expiry, polling): key = due time, then id. */
static int pay_watch(struct payments *p, MDB_txn *txn, const struct ledger_id *id, int64_t due_ms, uint32_t attempts)
{
	return store_watch_put(txn, p->watch, due_ms, id->b, attempts);
}

/*
 * The by-merchant index of in-store charges: key merchant 8 | payment id
 * 16 (ids begin with their creation time, so a store's charges are in time
 * order), no value. Its one other key, pay_index_mark (1 byte, before every
 * merchant's), says how far its build got: empty once every charge is in,
 * else the last payment id the build looked at.
 */
static const uint8_t pay_index_mark[1] = { 0 };

static int pay_index_charge(struct payments *p, MDB_txn *txn, const struct payment *pay)
{
	uint8_t key[24];
	MDB_val k = { sizeof(key), key }, v = { 0, key };
	record_be64_put(key, pay->merchant_id);
	memcpy(key + 8, pay->id.b, 16);
	return mdb_put(txn, p->by_merchant, &k, &v, 0);
}

/* Tells the orders module about an order payment's change, in the change's transaction. */
static int pay_tell_orders(struct payments *p, MDB_txn *txn, const struct payment *pay)
{
	struct payments_order_change c;
	if (pay->kind != PAYMENT_ORDER || !p->on_order)
		return 0;
	c.payment_id = pay->id;
	c.group_id = pay->order_ref;
	c.state = (enum pay_state)pay->state;
	c.amount = pay->amount;
	c.at_ms = clock_now_ms();
	return p->on_order(txn, &c, p->on_order_ctx);
}

/* --- ledger postings --- */

struct ledger_id payments_platform_account(const char *name)
{
	struct ledger_id id;
	/* The platform's accounts have fixed ids: their names, at time 0. */
	ledger_id_derive(0, name, strlen(name), &id);
	return id;
}

static struct ledger_id pay_clearing(const char *provider)
{
	char name[LEDGER_NAME_MAX + 1];
	snprintf(name, sizeof(name), "gateway:%s:clearing", provider);
	return payments_platform_account(name);
}

/* The id of the payment's transfer `what` (at most 48 bytes): derived, so a retry finds it. */
static void pay_transfer_id(const struct payment *pay, const char *what, struct ledger_id *out)
{
	char key[96], hex[33];
	ledger_id_hex(&pay->id, hex, sizeof(hex));
	snprintf(key, sizeof(key), "payment:%s:%s", hex, what);
	ledger_id_derive((uint64_t)pay->created_ms, key, strlen(key), out);
}

/* A transfer of the payment: its id derives from the payment and `what`. */
static void pay_transfer(const struct payment *pay, const char *what, struct ledger_id debit,
			 struct ledger_id credit, int64_t amount, uint16_t code, bool linked,
			 struct ledger_transfer *t)
{
	memset(t, 0, sizeof(*t));
	pay_transfer_id(pay, what, &t->id);
	t->debit_account_id = debit;
	t->credit_account_id = credit;
	t->amount = amount;
	t->ledger = LEDGER_IDR;
	t->code = code;
	t->flags = linked ? LEDGER_LINKED : 0;
	t->user_data_128 = pay->id;
	t->user_data_64 = pay->merchant_id;
}

/*
 * Posts transfers; OUT: *refused when the ledger would not take them (a
 * result other than ok or exists: nothing posted). Returns a storage status.
 */
static int pay_post(struct payments *p, MDB_txn *txn, struct ledger_transfer *t, size_t n, uint32_t *why,
		    bool *refused)
{
	uint32_t results[4] = { 0 };
	int rc = ledger_create_transfers(p->ledger, txn, t, n, results);
	*refused = false;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (results[i] != LEDGER_R_OK && results[i] != LEDGER_R_EXISTS && results[i] != LEDGER_R_LINKED_EVENT_FAILED) {
			*refused = true;
			*why = results[i];
		}
	}
	return rc;
}

/* The money of a captured payment: to escrow (orders) or to the merchant and fees (in-store). */
static int pay_post_capture(struct payments *p, MDB_txn *txn, const struct payment *pay, uint32_t *why,
			    bool *refused)
{
	struct ledger_transfer t[2];
	struct ledger_id clearing = pay_clearing(pay->provider);
	size_t n = 0;
	if (pay->kind == PAYMENT_ORDER) {
		pay_transfer(pay, "capture", clearing, payments_platform_account("escrow"), pay->amount, LEDGER_CODE_PAYMENT, false, &t[n++]);
	} else {
		pay_transfer(pay, "capture", clearing, pay->payable, pay->amount - pay->mdr, LEDGER_CODE_PAYMENT,
			     pay->mdr > 0, &t[n++]);
		if (pay->mdr > 0)
			pay_transfer(pay, "mdr", clearing, payments_platform_account("platform:fees"), pay->mdr, LEDGER_CODE_COMMISSION,
				     false, &t[n++]);
	}
	return pay_post(p, txn, t, n, why, refused);
}

/* The MDR share of `refunded` rupiah of a payment, so shares of partial refunds add up exactly. */
static int64_t pay_mdr_share(const struct payment *pay, int64_t refunded)
{
	if (pay->paid_amount <= 0)
		return 0;
	return (pay->mdr * refunded * 2 + pay->paid_amount) / (pay->paid_amount * 2);
}

/* Refunds up to a total of `total` rupiah: moves the difference back the way it came. */
static int pay_post_refund(struct payments *p, MDB_txn *txn, const struct payment *pay, int64_t total, uint32_t *why,
			   bool *refused)
{
	struct ledger_transfer t[2];
	struct ledger_id clearing = pay_clearing(pay->provider);
	int64_t delta = total - pay->refunded;
	char what[48];
	size_t n = 0;
	snprintf(what, sizeof(what), "refund:%lld", (long long)total);
	if (pay->kind == PAYMENT_ORDER) {
		pay_transfer(pay, what, payments_platform_account("escrow"), clearing, delta, LEDGER_CODE_REFUND, false, &t[n++]);
	} else {
		int64_t mdr = pay_mdr_share(pay, total) - pay_mdr_share(pay, pay->refunded);
		pay_transfer(pay, what, pay->payable, clearing, delta - mdr, LEDGER_CODE_REFUND, mdr > 0, &t[n++]);
		if (mdr > 0) {
			snprintf(what, sizeof(what), "refund-mdr:%lld", (long long)total);
			pay_transfer(pay, what, payments_platform_account("platform:fees"), clearing, mdr, LEDGER_CODE_REFUND, false, &t[n++]);
		}
	}
	return pay_post(p, txn, t, n, why, refused);
}

/* The platform's accounts of the chart, made once (their fixed ids make repeats `exists`). */
static int pay_apply_accounts(MDB_txn *txn, void *arg)
{
	struct payments *p = arg;
	static const struct {
		const char *name;
		uint16_t code;
		uint16_t flags;
	} chart[] = {
		{ "escrow", LEDGER_ACCOUNT_ESCROW, LEDGER_DEBITS_MUST_NOT_EXCEED_CREDITS },
		{ "platform:fees", LEDGER_ACCOUNT_PLATFORM_FEES, LEDGER_DEBITS_MUST_NOT_EXCEED_CREDITS },
		{ "bank:settlement", LEDGER_ACCOUNT_BANK_SETTLEMENT, 0 },
		{ "city:promotions", LEDGER_ACCOUNT_CITY_PROMOTIONS, 0 },
		{ NULL, LEDGER_ACCOUNT_GATEWAY_CLEARING, 0 },
	};
	struct ledger_account a[5];
	uint32_t results[5];
	int rc;
	memset(a, 0, sizeof(a));
	for (size_t i = 0; i < 5; i++) {
		if (chart[i].name)
			snprintf(a[i].name, sizeof(a[i].name), "%s", chart[i].name);
		else
			snprintf(a[i].name, sizeof(a[i].name), "gateway:%s:clearing", pay_gateway_name(p->gw));
		a[i].id = payments_platform_account(a[i].name);
		a[i].ledger = LEDGER_IDR;
		a[i].code = chart[i].code;
		a[i].flags = chart[i].flags;
	}
	rc = ledger_create_accounts(p->ledger, txn, a, 5, results);
	for (size_t i = 0; rc == 0 && i < 5; i++)
		if (results[i] != LEDGER_R_OK && results[i] != LEDGER_R_EXISTS)
			rc = STORE_ECORRUPT;
	return rc;
}

static void pay_accounts_done(int status, void *arg)
{
	(void)arg;
	if (status != 0)
		log_msg(LOG_ERROR, "payments", "the platform's ledger accounts could not be made: %s",
			store_strerror(status));
}

/* --- applying a provider's event --- */

/* A store job about one payment; the loop's continuation reads its outcome. */
struct pay_job {
	struct payments *p;
	struct httpd_req *req;               /* the request waiting for it, or NULL */
	struct pay_event ev;
	char source[PAYMENT_SOURCE_MAX];     /* "webhook", "poll", "refund" */
	struct payment pay;                  /* the payment after the job */
	enum job_outcome outcome;
	bool needs_refund;                   /* paid late: give the money back */
	payments_refund_fn done;             /* a module's refund waits for it; else NULL */
	void *done_arg;
	struct idem_req idem;                /* an admin's refund: its Idempotency-Key; else not present */
};

/*
 * Moves the payment by one event, forward only, posting what moved. OUT:
 * note (why nothing changed, or what did). Returns a storage status.
 */
static int pay_transition(struct payments *p, MDB_txn *txn, struct pay_job *job, char *note, size_t cap)
{
	struct payment *pay = &job->pay;
	const struct pay_event *ev = &job->ev;
	uint32_t why = 0;
	bool refused = false;
	int rc = 0;

	job->outcome = OUTCOME_KEPT;
	snprintf(note, cap, "no change: payment is %s", pay_state_name((enum pay_state)pay->state));
	switch (ev->state) {
	case PAY_STATE_PAID:
		if (pay->state == PAY_STATE_PAID || pay->state == PAY_STATE_REFUNDED ||
		    pay->state == PAY_STATE_PARTIALLY_REFUNDED)
			break;
		if (ev->amount >= 0 && ev->amount != pay->amount) {
			/* Not credited: someone must look at it. */
			pay->flagged = true;
			job->outcome = OUTCOME_APPLIED;
			snprintf(note, cap, "amount %lld differs from %lld: held for review", (long long)ev->amount,
				 (long long)pay->amount);
			break;
		}
		rc = pay_post_capture(p, txn, pay, &why, &refused);
		if (rc != 0)
			break;
		if (refused) {
			pay->flagged = true;
			job->outcome = OUTCOME_REFUSED;
			snprintf(note, cap, "ledger refused the capture: %s", ledger_result_name(why));
			break;
		}
		pay->late = pay->state != PAY_STATE_PENDING;
		pay->state = PAY_STATE_PAID;
		pay->paid_amount = pay->amount;
		pay->paid_ms = clock_now_ms();
		job->needs_refund = pay->late;
		job->outcome = OUTCOME_APPLIED;
		snprintf(note, cap, pay->late ? "paid after it ended: to be refunded" : "paid");
		if (!pay->late)
			rc = pay_tell_orders(p, txn, pay);
		break;
	case PAY_STATE_EXPIRED:
	case PAY_STATE_CANCELLED:
	case PAY_STATE_FAILED:
		if (pay->state != PAY_STATE_PENDING)
			break;
		pay->state = (uint8_t)ev->state;
		job->outcome = OUTCOME_APPLIED;
		snprintf(note, cap, "%s", pay_state_name(ev->state));
		rc = pay_tell_orders(p, txn, pay);
		break;
	case PAY_STATE_REFUNDED:
	case PAY_STATE_PARTIALLY_REFUNDED: {
		int64_t total = ev->refunded > 0 ? ev->refunded : ev->state == PAY_STATE_REFUNDED ? pay->paid_amount : 0;
		if ((pay->state != PAY_STATE_PAID && pay->state != PAY_STATE_PARTIALLY_REFUNDED) ||
		    total <= pay->refunded)
			break;
		if (total > pay->paid_amount) {
			pay->flagged = true;
			job->outcome = OUTCOME_APPLIED;
			snprintf(note, cap, "refund total %lld is over the paid %lld: held for review", (long long)total,
				 (long long)pay->paid_amount);
			break;
		}
		rc = pay_post_refund(p, txn, pay, total, &why, &refused);
		if (rc != 0)
			break;
		if (refused) {
			pay->flagged = true;
			job->outcome = OUTCOME_REFUSED;
			snprintf(note, cap, "ledger refused the refund: %s", ledger_result_name(why));
			break;
		}
		pay->refunded = total;
		pay->state = total >= pay->paid_amount ? PAY_STATE_REFUNDED : PAY_STATE_PARTIALLY_REFUNDED;
		job->outcome = OUTCOME_APPLIED;
		snprintf(note, cap, "refunded %lld in all", (long long)total);
		break;
	}
	case PAY_STATE_PENDING:
		break;
	}
	return rc;
}

static int pay_apply_event(MDB_txn *txn, void *arg)
{
	struct pay_job *job = arg;
	struct payments *p = job->p;
	char note[PAYMENT_NOTE_MAX];
	struct ledger_id id;
	int rc;

	job->needs_refund = false;
	if (ledger_id_parse(job->ev.payment_id, &id) != LEDGER_OK) {
		job->outcome = OUTCOME_UNKNOWN;
		return 0;
	}
	rc = pay_load(p, txn, &id, &job->pay);
	if (rc == STORE_ENOTFOUND) {
		job->outcome = OUTCOME_UNKNOWN;
		return 0;
	}
	if (rc != 0)
		return rc;
	/*
	 * The provider's event id: the same notification twice is applied once.
	 * Past the kept history the forward-only states and the derived transfer
	 * ids still make a very late repeat change nothing.
	 */
	if (pay_seen(&job->pay, job->ev.event_id)) {
		job->outcome = OUTCOME_DUPLICATE;
		return 0;
	}
	rc = pay_transition(p, txn, job, note, sizeof(note));
	if (rc != 0)
		return rc;
	pay_history(&job->pay, job->source, job->ev.event_id, job->ev.state, job->ev.amount, note);
	return pay_store(p, txn, &job->pay);
}

static json_t *pay_json(const struct payment *pay);
static void pay_notify(struct payments *p, const struct payment *pay);
static void pay_start_refund(struct payments *p, const struct payment *pay, int64_t amount, const char *key);

/* After an event's job: wakes the streams, starts a late payment's refund. */
static void pay_after_event(struct pay_job *job, int status)
{
	if (status != 0)
		return;
	if (job->outcome == OUTCOME_APPLIED || job->outcome == OUTCOME_REFUSED)
		pay_notify(job->p, &job->pay);
	if (job->needs_refund)
		pay_start_refund(job->p, &job->pay, job->pay.paid_amount, "late");
}

/* A provider's answer, {"ok":true,"result":...}: written directly, it is on the hottest path. */
static void pay_reply_result(struct httpd_req *req, const char *result)
{
	char body[64];
	int n = snprintf(body, sizeof(body), "{\"ok\":true,\"result\":\"%s\"}", result);
	httpd_reply_raw(req, 200, "application/json; charset=utf-8", body, (size_t)n);
}

static void pay_webhook_done(int status, void *arg)
{
	struct pay_job *job = arg;
	pay_after_event(job, status);
	if (status != 0)
		httpd_reply_store_error(job->req, status);
	else if (job->outcome == OUTCOME_UNKNOWN)
		httpd_reply_error(job->req, 404, "not_found", "no such payment");
	else
		pay_reply_result(job->req, job->outcome == OUTCOME_DUPLICATE ? "duplicate" :
					   job->outcome == OUTCOME_APPLIED ? "applied" :
					   job->outcome == OUTCOME_REFUSED ? "held" : "recorded");
	free(job);
}

static const char *pay_webhook_header(const char *name, void *ctx)
{
	return httpd_header(ctx, name);
}

static void pay_handle_webhook(struct httpd_req *req, void *ctx)
{
	struct payments *p = ctx;
	struct pay_webhook in = { .header = pay_webhook_header, .header_ctx = req };
	struct pay_job *job;
	const char *provider = httpd_param(req, "provider");
	int rc;
	if (!p->gw || strcmp(provider, pay_gateway_name(p->gw)) != 0) {
		httpd_reply_error(req, 404, "not_found", "no such payment provider");
		return;
	}
	job = calloc(1, sizeof(*job));
	if (!job) {
		httpd_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	in.body = httpd_body(req, &in.body_len);
	rc = pay_parse_webhook(p->gw, &in, &job->ev);
	if (rc == PAY_OK && job->ev.kind == PAY_EVENT_PAYOUT && p->on_payout) {
		p->on_payout(req, &job->ev, p->on_payout_ctx);
		free(job);
		return;
	}
	if (rc != PAY_OK || job->ev.kind != PAY_EVENT_PAYMENT) {
		if (rc == PAY_EFORGED)
			httpd_reply_error(req, 401, "invalid_signature", "the notification does not verify");
		else if (rc == PAY_OK)
			pay_reply_result(req, "ignored");
		else
			httpd_reply_error(req, 400, "invalid_notification", "the notification does not parse");
		free(job);
		return;
	}
	job->p = p;
	job->req = req;
	snprintf(job->source, sizeof(job->source), "webhook");
	rc = store_submit(p->store, pay_apply_event, pay_webhook_done, job);
	if (rc != STORE_OK) {
		httpd_reply_store_error(req, rc);
		free(job);
	}
}

/* --- events from the loop: refunds, polls --- */

/* A refund or poll result turned into an event for the payment. */
struct pay_call {
	struct payments *p;
	struct httpd_req *req;               /* an admin's refund waits for it; else NULL */
	payments_refund_fn done;             /* or a module's refund; else NULL */
	void *done_arg;
	struct payment pay;                  /* as it was when the call began */
	int64_t amount;
	char key[48];
	struct idem_req idem;                /* an admin's refund: its Idempotency-Key; else not present */
};

/*
 * A refund or poll event, and for an admin's refund its Idempotency-Key in
 * the same commit: a twin of the request that committed first (same key and
 * body) makes this one a replay that changes nothing. A twin with another
 * body under the key does not stop it: the provider refunded this one all
 * the same, so it is recorded, under no key.
 */
static int pay_apply_called(MDB_txn *txn, void *arg)
{
	struct pay_job *job = arg;
	struct idem_entry seen;
	int found = idem_lookup(job->p->idem, txn, &job->idem, &seen), rc;
	if (found == IDEM_REPLAY && seen.ref_len == sizeof(job->pay.id.b)) {
		memcpy(job->pay.id.b, seen.ref, sizeof(job->pay.id.b));
		job->needs_refund = false;
		job->outcome = OUTCOME_DUPLICATE;
		return pay_load(job->p, txn, &job->pay.id, &job->pay);
	}
	if (found < 0)
		return found;
	if ((rc = pay_apply_event(txn, job)) != 0 || found != IDEM_NEW || job->outcome == OUTCOME_UNKNOWN)
		return rc;
	return idem_save(job->p->idem, txn, &job->idem, 200, job->pay.id.b, sizeof(job->pay.id.b), clock_now_ms());
}

static void pay_event_done(int status, void *arg)
{
	struct pay_job *job = arg;
	pay_after_event(job, status);
	if (job->done)
		job->done(status != 0 ? status : job->outcome == OUTCOME_REFUSED ? PAYMENTS_ESTATE : 0, job->done_arg);
	if (job->req) {
		if (status != 0)
			httpd_reply_store_error(job->req, status);
		else
			httpd_reply_json(job->req, 200, pay_json(&job->pay));
	}
	if (status != 0)
		log_msg(LOG_WARN, "payments", "an event could not be stored: %s", store_strerror(status));
	free(job);
}

/*
 * Queues the event (with idem, lent, when not NULL); replies to req (if
 * any) when it is stored, or tells `done` (if any). Takes over nothing.
 */
static void pay_submit_event(struct payments *p, struct httpd_req *req, payments_refund_fn done, void *done_arg,
			     const struct idem_req *idem, const struct payment *pay, const char *source,
			     const char *event_id, enum pay_state state, int64_t amount, int64_t refunded)
{
	struct pay_job *job = calloc(1, sizeof(*job));
	int rc = job ? 0 : STORE_ENOMEM;
	if (job) {
		job->p = p;
		job->req = req;
		job->done = done;
		job->done_arg = done_arg;
		ledger_id_hex(&pay->id, job->ev.payment_id, sizeof(job->ev.payment_id));
		snprintf(job->ev.event_id, sizeof(job->ev.event_id), "%s", event_id);
		snprintf(job->source, sizeof(job->source), "%s", source);
		job->ev.kind = PAY_EVENT_PAYMENT;
		job->ev.state = state;
		job->ev.amount = amount;
		job->ev.refunded = refunded;
		if (idem)
			job->idem = *idem;
		rc = store_submit(p->store, pay_apply_called, pay_event_done, job);
	}
	if (rc == 0)
		return;
	free(job);
	if (req)
		httpd_reply_store_error(req, rc);
	else if (done)
		done(rc, done_arg);
	else
		log_msg(LOG_WARN, "payments", "an event was not queued: %s", store_strerror(rc));
}

static void pay_refund_done(const struct pay_status_res *res, void *arg)
{
	struct pay_call *call = arg;
	char event_id[PAY_EVENT_ID_MAX];
	if (res->error != PAY_OK) {
		log_msg(LOG_WARN, "payments", "refund at the provider failed: %s", res->error_text);
		if (call->req)
			httpd_reply_error(call->req, res->error == PAY_EUNAVAILABLE ? 503 : 502,
					  res->error == PAY_EUNAVAILABLE ? "provider_unavailable" : "provider_error",
					  "the provider did not refund: %s", res->error_text);
		if (call->done)
			call->done(res->error == PAY_EUNAVAILABLE ? PAYMENTS_EUNAVAILABLE : PAYMENTS_EPROVIDER,
				   call->done_arg);
	} else {
		/*
		 * The provider's own total when it tells one: a retry of a refund
		 * whose first answer was lost, after its notification was booked,
		 * is the same refund there, and must add nothing here.
		 */
		int64_t total = res->refunded > 0 ? res->refunded : call->pay.refunded + call->amount;
		snprintf(event_id, sizeof(event_id), "refund:%s", call->key);
		pay_submit_event(call->p, call->req, call->done, call->done_arg, &call->idem, &call->pay, "refund", event_id,
				 total >= call->pay.paid_amount ? PAY_STATE_REFUNDED : PAY_STATE_PARTIALLY_REFUNDED, -1,
				 total);
	}
	free(call);
}

/*
 * Asks the provider for a refund; `key` makes repeats of the same refund one
 * refund. An admin's refund brings its Idempotency-Key (idem, lent; else
 * NULL), recorded with it. The outcome goes to req, or done, or the log.
 */
static void pay_refund_call(struct payments *p, struct httpd_req *req, payments_refund_fn done, void *done_arg,
			    const struct idem_req *idem, const struct payment *pay, int64_t amount, const char *key)
{
	struct pay_call *call = calloc(1, sizeof(*call));
	char id[33], refund_key[PAY_ID_MAX + 1];
	struct pay_refund_req r = { .amount = amount, .reason = "Bang Soleh refund" };
	ledger_id_hex(&pay->id, id, sizeof(id));
	if (call) {
		call->p = p;
		call->req = req;
		call->done = done;
		call->done_arg = done_arg;
		call->pay = *pay;
		call->amount = amount;
		if (idem)
			call->idem = *idem;
		snprintf(call->key, sizeof(call->key), "%s", key);
		snprintf(refund_key, sizeof(refund_key), "%s-%s", id, key);
		r.payment_id = id;
		r.provider_ref = pay->provider_ref;
		r.refund_key = refund_key;
	}
	if (call && pay_refund(p->gw, &r, pay_refund_done, call) == PAY_OK)
		return;
	free(call);
	if (req)
		httpd_reply_error(req, 500, "internal", "the refund could not be started");
	else if (done)
		done(PAYMENTS_EPROVIDER, done_arg);
}

static void pay_start_refund(struct payments *p, const struct payment *pay, int64_t amount, const char *key)
{
	pay_refund_call(p, NULL, NULL, NULL, NULL, pay, amount, key);
}

static void pay_poll_done(const struct pay_status_res *res, void *arg)
{
	struct pay_call *call = arg;
	char event_id[PAY_EVENT_ID_MAX];
	if (res->error == PAY_OK && res->state != PAY_STATE_PENDING) {
		snprintf(event_id, sizeof(event_id), "poll:%s:%lld", pay_state_name(res->state), (long long)res->refunded);
		pay_submit_event(call->p, NULL, NULL, NULL, NULL, &call->pay, "poll", event_id, res->state, res->amount,
				 res->refunded);
	} else if (res->error != PAY_OK) {
		log_msg(LOG_INFO, "payments", "status poll failed, trying later: %s", res->error_text);
	}
	free(call);
}

static void pay_cancel_done(const struct pay_status_res *res, void *arg)
{
	(void)arg;
	if (res->error != PAY_OK)
		log_msg(LOG_INFO, "payments", "cancel at the provider failed: %s", res->error_text);
}

/* Starts a poll or a cancel of a payment at the provider. */
static void pay_provider_call(struct payments *p, const struct payment *pay, bool cancel)
{
	struct pay_call *call;
	char id[33];
	ledger_id_hex(&pay->id, id, sizeof(id));
	if (cancel) {
		if (pay_cancel(p->gw, id, pay->provider_ref, pay_cancel_done, NULL) != PAY_OK)
			log_msg(LOG_WARN, "payments", "cancel of %s could not be sent", id);
		return;
	}
	call = calloc(1, sizeof(*call));
	if (!call)
		return;
	call->p = p;
	call->pay = *pay;
	if (pay_status(p->gw, id, pay->provider_ref, pay_poll_done, call) != PAY_OK)
		free(call);
}

/* --- the sweep: expiry, reconciliation, late refunds --- */

enum sweep_action { SWEEP_NONE = 0, SWEEP_CANCEL, SWEEP_POLL, SWEEP_REFUND };

struct sweep_item {
	uint8_t key[24];
	uint32_t attempts;
	enum sweep_action action;
	struct payment pay;
};

struct sweep_job {
	struct payments *p;
	int64_t now;
	size_t n;
	struct sweep_item items[PAYMENT_SWEEP_MAX];
};

static int64_t pay_backoff_ms(const struct payments *p, uint32_t attempts)
{
	int64_t wait = p->cfg.reconcile_after_s * 1000;
	for (uint32_t i = 0; i < attempts && wait < p->cfg.reconcile_max_s * 1000; i++)
		wait *= 2;
	return wait < p->cfg.reconcile_max_s * 1000 ? wait : p->cfg.reconcile_max_s * 1000;
}

/* Decides what one watched payment needs and when to look again (0: never). */
static int pay_sweep_one(struct payments *p, MDB_txn *txn, int64_t now, struct sweep_item *it)
{
	struct payment *pay = &it->pay;
	int64_t next = 0;
	int rc;
	it->action = SWEEP_NONE;
	if (pay->state == PAY_STATE_PENDING && now >= pay->expires_ms) {
		pay->state = PAY_STATE_EXPIRED;
		pay_history(pay, "local", "expired", PAY_STATE_EXPIRED, -1, "the QR expired");
		rc = pay_store(p, txn, pay);
		if (rc == 0)
			rc = pay_tell_orders(p, txn, pay);
		if (rc != 0)
			return rc;
		it->action = SWEEP_CANCEL;
		next = now + pay_backoff_ms(p, 0);
	} else if (pay->state == PAY_STATE_PENDING) {
		if (now >= pay->created_ms + p->cfg.reconcile_after_s * 1000)
			it->action = SWEEP_POLL;
		next = now + pay_backoff_ms(p, it->attempts);
		if (next > pay->expires_ms)
			next = pay->expires_ms;
	} else if ((pay->state == PAY_STATE_EXPIRED || pay->state == PAY_STATE_CANCELLED) &&
		   now < pay->created_ms + p->cfg.watch_s * 1000) {
		/* A QR paid after it ended must still be found: keep asking for a while. */
		it->action = SWEEP_POLL;
		next = now + pay_backoff_ms(p, it->attempts);
	} else if (pay->late && pay->state == PAY_STATE_PAID) {
		it->action = SWEEP_REFUND;
		next = now + pay_backoff_ms(p, it->attempts);
	}
	return next ? pay_watch(p, txn, &pay->id, next, it->attempts + 1) : 0;
}

static int pay_apply_sweep(MDB_txn *txn, void *arg)
{
	struct sweep_job *job = arg;
	struct payments *p = job->p;
	for (size_t i = 0; i < job->n; i++) {
		struct sweep_item *it = &job->items[i];
		MDB_val k = { sizeof(it->key), it->key };
		struct ledger_id id;
		int rc = mdb_del(txn, p->watch, &k, NULL);
		if (rc == MDB_NOTFOUND)
			continue;
		if (rc != 0)
			return rc;
		memcpy(id.b, it->key + 8, 16);
		rc = pay_load(p, txn, &id, &it->pay);
		if (rc == STORE_ENOTFOUND)
			continue;
		if (rc != 0 || (rc = pay_sweep_one(p, txn, job->now, it)) != 0)
			return rc;
	}
	return 0;
}

static void pay_sweep_done(int status, void *arg)
{
	struct sweep_job *job = arg;
	struct payments *p = job->p;
	p->sweeping = false;
	for (size_t i = 0; status == 0 && i < job->n; i++) {
		struct sweep_item *it = &job->items[i];
		if (it->action == SWEEP_CANCEL) {
			pay_notify(p, &it->pay);
			pay_provider_call(p, &it->pay, true);
		} else if (it->action == SWEEP_POLL) {
			pay_provider_call(p, &it->pay, false);
		} else if (it->action == SWEEP_REFUND) {
			pay_start_refund(p, &it->pay, it->pay.paid_amount - it->pay.refunded, "late");
		}
	}
	if (status != 0)
		log_msg(LOG_WARN, "payments", "sweep failed: %s", store_strerror(status));
	free(job);
}

/* Takes one due entry of the watch index into the sweep's job. */
static bool pay_sweep_take(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct sweep_job *job = arg;
	struct sweep_item *it = &job->items[job->n];
	if (!store_watch_read(k, v, it->key, &it->attempts))
		return false;
	job->n++;
	return true;
}

static void pay_on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct payments *p = arg;
	struct sweep_job *job;
	(void)fd;
	(void)what;
	if (p->sweeping || !(job = calloc(1, sizeof(*job))))
		return;
	job->p = p;
	job->now = clock_now_ms();
	if (store_sweep(p->store, p->watch, NULL, job->now, PAYMENT_SWEEP_MAX, pay_sweep_take, pay_apply_sweep,
			pay_sweep_done, job) != STORE_OK) {
		free(job);
		return;
	}
	p->sweeping = true;
}

/* --- JSON and event streams --- */

static json_t *pay_json(const struct payment *pay)
{
	char id[33], created[64], updated[64], expires[64], url[96];
	json_t *j;
	ledger_id_hex(&pay->id, id, sizeof(id));
	pay_time_text(pay->created_ms, created, sizeof(created));
	pay_time_text(pay->updated_ms, updated, sizeof(updated));
	pay_time_text(pay->expires_ms, expires, sizeof(expires));
	j = json_pack("{s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:s, s:b, s:b, s:I, s:I, s:s, s:s, s:s, s:s}", "id", id,
		      "kind", pay->kind == PAYMENT_ORDER ? "order" : "instore", "merchant_id",
		      (json_int_t)pay->merchant_id, "amount", (json_int_t)pay->amount, "mdr", (json_int_t)pay->mdr,
		      "provider", pay->provider, "provider_ref", pay->provider_ref, "status",
		      pay_state_name((enum pay_state)pay->state), "flagged", pay->flagged, "late", pay->late,
		      "paid_amount", (json_int_t)pay->paid_amount, "refunded", (json_int_t)pay->refunded,
		      "qr_string", pay->qr, "created_at", created, "updated_at", updated, "expires_at", expires);
	if (j) {
		snprintf(url, sizeof(url), "/api/v1/payments/%s/qr.svg", id);
		json_object_set_new(j, "qr_svg_url", json_string(url));
		snprintf(url, sizeof(url), "/api/v1/payments/%s/events", id);
		json_object_set_new(j, "events_url", json_string(url));
	}
	return j;
}

/* Sends one status event (JSON of the payment) on a stream. */
static void pay_sub_send(struct payment_sub *s, const struct payment *pay)
{
	json_t *j = pay_json(pay);
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	char head[] = "event: status\ndata: ";
	json_decref(j);
	if (!text)
		return;
	httpd_stream_send(s->req, head, sizeof(head) - 1);
	httpd_stream_send(s->req, text, strlen(text));
	httpd_stream_send(s->req, "\n\n", 2);
	free(text);
}

static void pay_notify(struct payments *p, const struct payment *pay)
{
	for (struct payment_sub *s = p->subs; s; s = s->next)
		if (memcmp(s->id.b, pay->id.b, 16) == 0)
			pay_sub_send(s, pay);
}

static void pay_sub_unlink(struct payments *p, struct payment_sub *sub)
{
	for (struct payment_sub **s = &p->subs; *s; s = &(*s)->next) {
		if (*s == sub) {
			*s = sub->next;
			return;
		}
	}
}

/* The stream ended from the client's side (or the server drains). */
static void pay_sub_closed(void *arg)
{
	struct payment_sub *sub = arg;
	pay_sub_unlink(sub->p, sub);
	free(sub);
}

/* Comments keep idle proxies and the connection's own timeout from closing streams. */
static void pay_on_keepalive(evutil_socket_t fd, short what, void *arg)
{
	struct payments *p = arg;
	(void)fd;
	(void)what;
	for (struct payment_sub *s = p->subs; s; s = s->next)
		httpd_stream_send(s->req, ": keepalive\n\n", 13);
}

/* --- reading and creating payments over HTTP --- */

/* Loads the payment named by {id} if the caller may see it; replies and returns -1 otherwise. */
static int pay_for_caller(struct payments *p, struct httpd_req *req, bool auditors, struct payment *out)
{
	const struct httpd_principal *who = httpd_principal(req);
	struct ledger_id id;
	MDB_txn *txn;
	int rc;
	if (ledger_id_parse(httpd_param(req, "id"), &id) != LEDGER_OK) {
		httpd_reply_error(req, 404, "not_found", "no such payment");
		return -1;
	}
	rc = store_read_begin(p->store, &txn);
	if (rc == STORE_OK) {
		rc = pay_load(p, txn, &id, out);
		store_read_end(p->store, txn);
	}
	if (rc == STORE_ENOTFOUND) {
		httpd_reply_error(req, 404, "not_found", "no such payment");
		return -1;
	}
	if (rc != STORE_OK) {
		httpd_reply_store_error(req, rc);
		return -1;
	}
	if (!(who->role == ROLE_ADMIN || (auditors && who->role == ROLE_AUDITOR) || who->user_id == out->owner_user_id)) {
		httpd_reply_error(req, 403, "forbidden", "not your payment");
		return -1;
	}
	return 0;
}

/* The payment's kept history, oldest first. */
static json_t *pay_history_json(const struct payment *pay)
{
	json_t *list = json_array();
	char at[64];
	for (uint8_t i = 0; list && i < pay->nhist; i++) {
		const struct payment_event *e = &pay->hist[i];
		pay_time_text(e->at_ms, at, sizeof(at));
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "at", at, "source", e->source,
						      "event_id", e->event_id, "status",
						      pay_state_name((enum pay_state)e->state), "amount",
						      (json_int_t)e->amount, "note", e->note));
	}
	return list;
}

static void pay_handle_get(struct httpd_req *req, void *ctx)
{
	struct payments *p = ctx;
	struct payment pay;
	json_t *j;
	if (pay_for_caller(p, req, true, &pay) != 0)
		return;
	j = pay_json(&pay);
	if (j)
		json_object_set_new(j, "events", pay_history_json(&pay));
	if (j)
		json_object_set_new(j, "events_total", json_integer((json_int_t)pay.nevents));
	httpd_reply_json(req, 200, j);
}

/*
 * The payment with the proof that its money entered the books: the capture
 * entries (and the MDR's, for in-store charges) with inclusion proofs
 * against the latest signed checkpoint.
 */
static void pay_handle_receipt(struct httpd_req *req, void *ctx)
{
	struct payments *p = ctx;
	struct payment pay;
	struct ledger_id ids[2];
	size_t n = 0;
	MDB_txn *txn;
	json_t *proof = NULL, *j;
	int rc;
	if (pay_for_caller(p, req, true, &pay) != 0)
		return;
	pay_transfer_id(&pay, "capture", &ids[n++]);
	if (pay.kind != PAYMENT_ORDER && pay.mdr > 0)
		pay_transfer_id(&pay, "mdr", &ids[n++]);
	if ((rc = store_read_begin(p->store, &txn)) == STORE_OK) {
		rc = ledger_receipt_json(p->ledger, txn, ids, n, &proof);
		store_read_end(p->store, txn);
	}
	if (rc == STORE_ENOTFOUND) {
		httpd_reply_error(req, 409, "not_in_ledger", "the payment's money is not in the books (status %s%s)",
				  pay_state_name((enum pay_state)pay.state), pay.flagged ? ", flagged for review" : "");
		return;
	}
	if (rc == LEDGER_EUNSIGNED) {
		char wait[24];
		snprintf(wait, sizeof(wait), "%llu", (unsigned long long)ledger_checkpoint_wait_s(p->ledger));
		httpd_set_header(req, "Retry-After", wait);
		httpd_reply_error(req, 409, "not_yet_signed", "no signed checkpoint covers the payment yet; the next one will");
		return;
	}
	if (rc != LEDGER_OK) {
		httpd_reply_store_error(req, rc);
		return;
	}
	if (!(j = pay_json(&pay)) || json_object_update(proof, j) != 0) {
		json_decref(j);
		json_decref(proof);
		httpd_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	json_decref(j);
	httpd_reply_json(req, 200, proof);
}

static void pay_handle_qr(struct httpd_req *req, void *ctx)
{
	struct payment pay;
	char *svg;
	size_t len;
	if (pay_for_caller(ctx, req, false, &pay) != 0)
		return;
	if (!pay.qr[0]) {
		httpd_reply_error(req, 409, "no_qr", "the payment has no QR code (status %s)",
				  pay_state_name((enum pay_state)pay.state));
		return;
	}
	if (qr_svg(pay.qr, 8, 4, &svg, &len) != QR_OK) {
		httpd_reply_error(req, 500, "internal", "the QR image could not be made");
		return;
	}
	httpd_set_header(req, "Cache-Control", "no-store");
	httpd_reply_raw(req, 200, "image/svg+xml", svg, len);
	free(svg);
}

static void pay_handle_events(struct httpd_req *req, void *ctx)
{
	struct payments *p = ctx;
	struct payment_sub *sub;
	struct payment pay;
	if (pay_for_caller(p, req, false, &pay) != 0)
		return;
	sub = calloc(1, sizeof(*sub));
	if (!sub || httpd_stream_start(req, "text/event-stream", pay_sub_closed, sub) != HTTPD_OK) {
		free(sub);
		httpd_reply_error(req, 500, "internal", "the event stream could not be opened");
		return;
	}
	sub->p = p;
	sub->id = pay.id;
	sub->req = req;
	sub->next = p->subs;
	p->subs = sub;
	pay_sub_send(sub, &pay);
}

/*
 * The provider's name of the refund an admin's request asks for, from its
 * Idempotency-Key and request: the same key and body are the same refund at
 * the provider, however often they are sent. OUT: key (PAYMENT_REFUND_KEY_LEN + 1 bytes).
 */
static int pay_refund_key(const struct idem_req *idem, char *key)
{
	const struct crypto_part parts[] = { { idem->key, sizeof(idem->key) },
					     { idem->request_hash, sizeof(idem->request_hash) } };
	uint8_t hash[CRYPTO_SHA256_LEN];
	key[0] = 'k';
	if (crypto_sha256_parts(parts, 2, hash) != 0)
		return -1;
	return crypto_hex_encode(hash, (PAYMENT_REFUND_KEY_LEN - 1) / 2, key + 1, PAYMENT_REFUND_KEY_LEN);
}

/*
 * Where the request's Idempotency-Key was seen before: replies (a replay,
 * the payment as it is now; or 409) and returns 1; 0 when the key is new;
 * -1 after replying an error.
 */
static int pay_refund_seen(struct payments *p, struct httpd_req *req, const struct idem_req *idem,
			   const struct payment *pay)
{
	struct idem_entry seen;
	MDB_txn *txn;
	int rc = store_read_begin(p->store, &txn);
	if (rc == STORE_OK) {
		rc = idem_lookup(p->idem, txn, idem, &seen);
		store_read_end(p->store, txn);
	}
	if (rc < 0) {
		httpd_reply_store_error(req, rc);
		return -1;
	}
	if (rc == IDEM_CONFLICT)
		idem_reply_conflict(req);
	else if (rc == IDEM_REPLAY)
		httpd_reply_json(req, seen.status, pay_json(pay));
	return rc == IDEM_NEW ? 0 : 1;
}

static void pay_handle_refund(struct httpd_req *req, void *ctx)
{
	struct payments *p = ctx;
	struct body_check c = { 0 };
	struct payment pay;
	struct idem_req idem;
	char key[PAYMENT_REFUND_KEY_LEN + 1];
	json_t *body;
	int64_t amount;
	if (httpd_json_body(req, &body) != 0 || pay_for_caller(p, req, false, &pay) != 0)
		return;
	body_only(&c, body, pay_amount_keys);
	amount = body_int(&c, body, "amount", true, 1, QRIS_AMOUNT_MAX, 0);
	if (c.failed) {
		httpd_reply_error(req, 400, body_error_code(&c), "%s %s", c.field, c.reason);
		return;
	}
	if (idem_begin(req, "refunds", &idem) != 0)
		return;
	/* A refund sends money away: a retry must never send it twice. */
	if (!idem.present) {
		httpd_reply_error(req, 400, "idempotency_key_required", "a refund needs an Idempotency-Key header");
		return;
	}
	/* Before the checks: a replay of the refund that emptied the payment answers as the first did. */
	if (pay_refund_seen(p, req, &idem, &pay) != 0)
		return;
	/* An order's money sits in escrow: it goes back through the order (cancel, complaint). */
	if (pay.kind == PAYMENT_ORDER) {
		httpd_reply_error(req, 409, "order_payment", "an order's payment is refunded through its order");
		return;
	}
	if (pay.state != PAY_STATE_PAID && pay.state != PAY_STATE_PARTIALLY_REFUNDED) {
		const char *state = pay_state_name((enum pay_state)pay.state);
		httpd_reply_state_error(req, 409, "invalid_state", state, "a %s payment cannot be refunded", state);
		return;
	}
	if (amount > pay.paid_amount - pay.refunded) {
		httpd_reply_error(req, 422, "exceeds_refundable", "at most %lld can still be refunded",
				  (long long)(pay.paid_amount - pay.refunded));
		return;
	}
	if (pay_refund_key(&idem, key) != 0) {
		httpd_reply_error(req, 500, "internal", "the refund could not be named");
		return;
	}
	pay_refund_call(p, req, NULL, NULL, &idem, &pay, amount, key);
}

/* --- in-store charges --- */

struct charge_op {
	struct payments *p;
	struct httpd_req *req;               /* a charge's request, or NULL */
	payments_issue_fn done;              /* or the orders module waiting for the QR */
	void *done_arg;
	struct idem_req idem;                /* a charge's Idempotency-Key */
	int replay_status;                   /* a repeat of a charge: the first answer's status, else 0 */
	bool conflict;                       /* ... with another request */
	struct payment pay;
	int error;                           /* PAY_E* of the provider's answer */
	char provider_ref[PAY_ID_MAX + 1];
	char qr[QRIS_PAYLOAD_MAX + 1];
	char error_text[PAY_TEXT_MAX];
};

/* Stores a new pending payment and the first time to look at it. */
static int pay_insert(struct payments *p, MDB_txn *txn, struct payment *pay, const char *note)
{
	int64_t first_look = pay->created_ms + p->cfg.reconcile_after_s * 1000;
	int rc;
	pay->nevents = 0;
	pay->nhist = 0;
	pay_history(pay, "local", "created", PAY_STATE_PENDING, pay->amount, note);
	if ((rc = pay_store(p, txn, pay)) != 0)
		return rc;
	if (pay->kind == PAYMENT_INSTORE && (rc = pay_index_charge(p, txn, pay)) != 0)
		return rc;
	return pay_watch(p, txn, &pay->id, first_look < pay->expires_ms ? first_look : pay->expires_ms, 0);
}

static int pay_apply_create(MDB_txn *txn, void *arg)
{
	struct charge_op *op = arg;
	struct idem_entry seen;
	int rc = idem_lookup(op->p->idem, txn, &op->idem, &seen);
	op->replay_status = 0;
	op->conflict = rc == IDEM_CONFLICT;
	if (rc == IDEM_REPLAY && seen.ref_len == 16) {
		memcpy(op->pay.id.b, seen.ref, 16);
		op->replay_status = seen.status;
		return pay_load(op->p, txn, &op->pay.id, &op->pay);
	}
	if (rc != IDEM_NEW)
		return rc < 0 ? rc : 0;
	if ((rc = pay_insert(op->p, txn, &op->pay, "charge created")) != 0)
		return rc;
	return idem_save(op->p->idem, txn, &op->idem, 201, op->pay.id.b, 16, op->pay.created_ms);
}

/* op answers as the failure a twin of its request met first: the payment failed before its QR came. */
static void pay_charge_failed_first(struct charge_op *op)
{
	op->error = PAY_EUNAVAILABLE;
	snprintf(op->error_text, sizeof(op->error_text), "the charge failed before its QR came");
}

/*
 * Records the provider's answer: the QR, or the failure. Twins of a
 * request (a client's retry while the first waits) ask for the same charge:
 * the first answer recorded holds, so a QR is never shown for a payment
 * that failed, nor a payment failed whose QR was shown.
 */
static int pay_apply_charged(MDB_txn *txn, void *arg)
{
	struct charge_op *op = arg;
	struct payments *p = op->p;
	struct payment *pay = &op->pay;
	int rc = pay_load(p, txn, &pay->id, pay);
	if (rc != 0)
		return rc;
	if (op->error == PAY_OK && pay->state == PAY_STATE_FAILED && !pay->qr[0]) {
		pay_charge_failed_first(op);
		return 0;
	}
	if (op->error == PAY_OK) {
		snprintf(pay->provider_ref, sizeof(pay->provider_ref), "%s", op->provider_ref);
		snprintf(pay->qr, sizeof(pay->qr), "%s", op->qr);
		pay_history(pay, "provider", "charged", (enum pay_state)pay->state, pay->amount, "QR issued");
	} else if (pay->qr[0]) {
		op->error = PAY_OK;
		return 0;
	} else if (pay->state == PAY_STATE_PENDING) {
		pay->state = PAY_STATE_FAILED;
		pay_history(pay, "provider", "charge-failed", PAY_STATE_FAILED, -1, op->error_text);
		if ((rc = pay_tell_orders(p, txn, pay)) != 0)
			return rc;
	}
	return pay_store(p, txn, pay);
}

static void pay_charged_done(int status, void *arg)
{
	struct charge_op *op = arg;
	if (op->done) {
		if (status == 0 && op->error != PAY_OK)
			status = op->error == PAY_EUNAVAILABLE ? PAYMENTS_EUNAVAILABLE : PAYMENTS_EPROVIDER;
		op->done(status, status == 0 ? pay_json(&op->pay) : NULL, op->done_arg);
		free(op);
		return;
	}
	if (status != 0)
		httpd_reply_store_error(op->req, status);
	else if (op->error == PAY_OK)
		httpd_reply_json(op->req, op->replay_status ? op->replay_status : 201, pay_json(&op->pay));
	else if (op->error == PAY_EUNAVAILABLE)
		httpd_reply_error(op->req, 503, "provider_unavailable", "the payment provider did not answer: %s",
				  op->error_text);
	else
		httpd_reply_error(op->req, 502, "provider_error", "the payment provider refused the charge: %s",
				  op->error_text);
	free(op);
}

static void pay_charge_done(const struct pay_charge_res *res, void *arg)
{
	struct charge_op *op = arg;
	int rc;
	op->error = res->error;
	snprintf(op->provider_ref, sizeof(op->provider_ref), "%s", res->provider_ref);
	snprintf(op->qr, sizeof(op->qr), "%s", res->qr_string);
	snprintf(op->error_text, sizeof(op->error_text), "%s", res->error_text);
	rc = store_submit(op->p->store, pay_apply_charged, pay_charged_done, op);
	if (rc != STORE_OK)
		pay_charged_done(rc, op);
}

static void pay_created_done(int status, void *arg)
{
	struct charge_op *op = arg;
	char id[33];
	struct pay_charge_req creq = { .payment_id = id, .amount = op->pay.amount,
				       .expiry_s = (uint32_t)op->p->cfg.expiry_s, .idempotency_key = id };
	if (status == 0 && op->conflict) {
		idem_reply_conflict(op->req);
		free(op);
		return;
	}
	/* A repeated charge whose QR came (or that ended) answers as it is now. */
	if (status != 0 || (op->replay_status && (op->pay.qr[0] || op->pay.state != PAY_STATE_PENDING))) {
		pay_charged_done(status, op);
		return;
	}
	ledger_id_hex(&op->pay.id, id, sizeof(id));
	if (pay_charge(op->p->gw, &creq, pay_charge_done, op) != PAY_OK) {
		op->error = PAY_EINVAL;
		snprintf(op->error_text, sizeof(op->error_text), "the charge could not be sent");
		pay_charge_done(&(struct pay_charge_res){ .error = PAY_EINVAL, .error_text = op->error_text }, op);
	}
}

static void pay_handle_charge(struct httpd_req *req, void *ctx)
{
	struct payments *p = ctx;
	struct body_check c = { 0 };
	struct merchant mc;
	struct charge_op *op;
	struct idem_req idem;
	uint64_t merchant_id;
	MDB_txn *txn;
	json_t *body;
	int64_t amount;
	int rc;

	if (httpd_json_body(req, &body) != 0)
		return;
	body_only(&c, body, pay_amount_keys);
	amount = body_int(&c, body, "amount", true, 1, QRIS_AMOUNT_MAX, 0);
	if (c.failed) {
		httpd_reply_error(req, 400, body_error_code(&c), "%s %s", c.field, c.reason);
		return;
	}
	if (httpd_param_u64(req, "id", &merchant_id) != 0) {
		httpd_reply_error(req, 404, "not_found", "no such merchant");
		return;
	}
	if (idem_begin(req, "charges", &idem) != 0)
		return;
	rc = store_read_begin(p->store, &txn);
	if (rc == STORE_OK) {
		rc = merchants_get(p->merchants, txn, merchant_id, &mc);
		store_read_end(p->store, txn);
	}
	if (rc != STORE_OK) {
		if (rc == STORE_ENOTFOUND)
			httpd_reply_error(req, 404, "not_found", "no such merchant");
		else
			httpd_reply_store_error(req, rc);
		return;
	}
	if (!merchants_may_manage(&mc, httpd_principal(req))) {
		httpd_reply_error(req, 403, "forbidden", "not your store");
		return;
	}
	op = calloc(1, sizeof(*op));
	if (!op || ledger_id_new(&op->pay.id) != LEDGER_OK) {
		free(op);
		httpd_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	op->p = p;
	op->req = req;
	op->idem = idem;
	op->pay.kind = PAYMENT_INSTORE;
	op->pay.merchant_id = mc.id;
	op->pay.owner_user_id = mc.owner_user_id;
	op->pay.payable = mc.payable;
	op->pay.amount = amount;
	op->pay.mdr = payments_mdr(mc.criteria, amount);
	snprintf(op->pay.provider, sizeof(op->pay.provider), "%s", pay_gateway_name(p->gw));
	op->pay.state = PAY_STATE_PENDING;
	op->pay.created_ms = clock_now_ms();
	op->pay.expires_ms = op->pay.created_ms + p->cfg.expiry_s * 1000;
	rc = store_submit(p->store, pay_apply_create, pay_created_done, op);
	if (rc != STORE_OK) {
		httpd_reply_store_error(req, rc);
		free(op);
	}
}

/* --- a store's charges --- */


/* A charge as a store's list shows it (a new reference). */
static json_t *pay_charge_json(const struct payment *pay)
{
	char id[33], created[64], paid[64];
	int64_t paid_ms = pay->paid_ms;
	ledger_id_hex(&pay->id, id, sizeof(id));
	pay_time_text(pay->created_ms, created, sizeof(created));
	pay_time_text(paid_ms, paid, sizeof(paid));
	return json_pack("{s:s, s:I, s:I, s:s, s:b, s:I, s:s, s:s?}", "id", id, "amount", (json_int_t)pay->amount,
			 "mdr", (json_int_t)pay->mdr, "status", pay_state_name((enum pay_state)pay->state), "flagged",
			 pay->flagged, "refunded", (json_int_t)pay->refunded, "created_at", created, "paid_at",
			 paid_ms ? paid : NULL);
}

/* What a listing of charges asks. */
struct charge_query {
	uint64_t merchant_id;
	enum pay_state status;               /* 0: any */
	uint8_t from[16];                    /* the newest id to show (all 0xff: from the newest) */
	size_t limit;
};

/*
 * The store's charges, newest first, from q->from, those in q->status only
 * when it is set; reads at most PAYMENT_SCAN_MAX index entries. OUT: list
 * gets at most q->limit; *next is the id the next page starts at (*more
 * false when there is none). Returns a storage status.
 */
static int pay_list_charges(struct payments *p, MDB_txn *txn, const struct charge_query *q, json_t *list,
			    struct ledger_id *next, bool *more)
{
	struct payment *pay = malloc(sizeof(*pay));
	uint8_t key[24];
	MDB_val from = { sizeof(key), key }, k, v;
	MDB_cursor *cur = NULL;
	size_t scanned = 0;
	int rc = pay ? mdb_cursor_open(txn, p->by_merchant, &cur) : STORE_ENOMEM;
	*more = false;
	if (rc != 0)
		goto free_pay;
	record_be64_put(key, q->merchant_id);
	memcpy(key + 8, q->from, 16);
	for (rc = store_cursor_last_upto(cur, &from, false, &k, &v); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_PREV)) {
		struct ledger_id id;
		if (k.mv_size != 24 || memcmp(k.mv_data, key, 8) != 0)
			break;
		memcpy(id.b, (const uint8_t *)k.mv_data + 8, 16);
		if (json_array_size(list) == q->limit || ++scanned > PAYMENT_SCAN_MAX) {
			*next = id;
			*more = true;
			break;
		}
		if ((rc = pay_load(p, txn, &id, pay)) != 0)
			break;
		if (!q->status || pay->state == q->status)
			json_array_append_new(list, pay_charge_json(pay));
	}
	mdb_cursor_close(cur);
free_pay:
	free(pay);
	return rc == MDB_NOTFOUND ? 0 : rc > 0 ? store_status_from_mdb(rc) : rc;
}

/* Reads status, cursor and limit. Returns 0, or replies 400 and returns -1. */
static int pay_read_charge_query(struct httpd_req *req, struct charge_query *q)
{
	const char *status = httpd_query(req, "status"), *cursor = httpd_query(req, "cursor");
	struct ledger_id from;
	uint64_t limit;
	q->status = 0;
	memset(q->from, 0xff, sizeof(q->from));
	if (status) {
		enum pay_state s = PAY_STATE_PENDING;
		while (pay_state_name(s) && strcmp(pay_state_name(s), status) != 0)
			s++;
		if (!pay_state_name(s)) {
			httpd_reply_error(req, 400, "invalid_field", "status is not a payment status");
			return -1;
		}
		q->status = s;
	}
	if (cursor) {
		if (ledger_id_parse(cursor, &from) != LEDGER_OK) {
			httpd_reply_error(req, 400, "invalid_field", "cursor is not one this list gave out");
			return -1;
		}
		memcpy(q->from, from.b, 16);
	}
	if (httpd_query_u64_or_400(req, "limit", 1, PAYMENT_LIST_MAX, PAYMENT_LIST_DEFAULT, &limit) != 0)
		return -1;
	q->limit = (size_t)limit;
	return 0;
}

static void pay_handle_charges(struct httpd_req *req, void *ctx)
{
	struct payments *p = ctx;
	const struct httpd_principal *who = httpd_principal(req);
	struct charge_query q;
	struct ledger_id next;
	struct merchant mc;
	char next_text[33];
	json_t *list = NULL;
	MDB_txn *txn;
	bool more = false;
	int rc;
	if (httpd_param_u64(req, "id", &q.merchant_id) != 0) {
		httpd_reply_error(req, 404, "not_found", "no such merchant");
		return;
	}
	if (pay_read_charge_query(req, &q) != 0)
		return;
	if ((rc = store_read_begin(p->store, &txn)) != STORE_OK) {
		httpd_reply_store_error(req, rc);
		return;
	}
	rc = merchants_get(p->merchants, txn, q.merchant_id, &mc);
	if (rc == STORE_OK && (who->role == ROLE_AUDITOR || merchants_may_manage(&mc, who)))
		rc = (list = json_array()) ? pay_list_charges(p, txn, &q, list, &next, &more) : STORE_ENOMEM;
	store_read_end(p->store, txn);
	if (rc == STORE_ENOTFOUND)
		httpd_reply_error(req, 404, "not_found", "no such merchant");
	else if (rc != STORE_OK)
		httpd_reply_store_error(req, rc);
	else if (!list)
		httpd_reply_error(req, 403, "forbidden", "not your store");
	else {
		if (more)
			ledger_id_hex(&next, next_text, sizeof(next_text));
		httpd_reply_json(req, 200, json_pack("{s:I, s:O, s:s?}", "merchant_id", (json_int_t)q.merchant_id,
						     "items", list, "next_cursor", more ? next_text : NULL));
	}
	json_decref(list);
}

/* --- order payments --- */

void payments_on_order(struct payments *p, payments_order_fn fn, void *ctx)
{
	p->on_order = fn;
	p->on_order_ctx = ctx;
}

int payments_create_order(struct payments *p, MDB_txn *txn, const struct ledger_id *group, uint64_t owner_user_id,
			  int64_t amount, int64_t created_ms, struct ledger_id *payment_id)
{
	struct payment *pay = calloc(1, sizeof(*pay));
	char key[64], hex[33];
	int rc;
	if (!pay)
		return STORE_ENOMEM;
	ledger_id_hex(group, hex, sizeof(hex));
	snprintf(key, sizeof(key), "order-payment:%s", hex);
	ledger_id_derive((uint64_t)created_ms, key, strlen(key), &pay->id);
	pay->kind = PAYMENT_ORDER;
	pay->owner_user_id = owner_user_id;
	pay->order_ref = *group;
	pay->amount = amount;
	snprintf(pay->provider, sizeof(pay->provider), "%s", pay_gateway_name(p->gw));
	pay->state = PAY_STATE_PENDING;
	pay->created_ms = created_ms;
	pay->expires_ms = created_ms + p->cfg.expiry_s * 1000;
	rc = pay_insert(p, txn, pay, "order payment created");
	*payment_id = pay->id;
	free(pay);
	return rc;
}

int payments_json(struct payments *p, MDB_txn *txn, const struct ledger_id *payment_id, json_t **out)
{
	struct payment *pay = malloc(sizeof(*pay));
	int rc = pay ? pay_load(p, txn, payment_id, pay) : STORE_ENOMEM;
	if (rc == 0) {
		*out = pay_json(pay);
		rc = *out ? 0 : STORE_ENOMEM;
	}
	free(pay);
	return rc;
}

int payments_failed_unissued(struct payments *p, MDB_txn *txn, const struct ledger_id *payment_id, bool *out)
{
	struct payment *pay = malloc(sizeof(*pay));
	int rc = pay ? pay_load(p, txn, payment_id, pay) : STORE_ENOMEM;
	*out = rc == 0 && pay->state == PAY_STATE_FAILED && !pay->qr[0];
	free(pay);
	return rc;
}

/* Reads a payment outside any job. Returns 0 or a STORE_* status. */
static int pay_read(struct payments *p, const struct ledger_id *id, struct payment *out)
{
	MDB_txn *txn;
	int rc = store_read_begin(p->store, &txn);
	if (rc != STORE_OK)
		return rc;
	rc = pay_load(p, txn, id, out);
	store_read_end(p->store, txn);
	return rc;
}

int payments_issue(struct payments *p, const struct ledger_id *payment_id, payments_issue_fn done, void *arg)
{
	struct charge_op *op = calloc(1, sizeof(*op));
	if (!op)
		return -1;
	op->p = p;
	op->done = done;
	op->done_arg = arg;
	if (pay_read(p, payment_id, &op->pay) != STORE_OK) {
		free(op);
		return -1;
	}
	/* A charge that failed before its QR came (a twin's): answered as that failure, so nothing is placed. */
	if (!op->pay.qr[0] && op->pay.state == PAY_STATE_FAILED)
		pay_charge_failed_first(op);
	/* A QR issued before, or a payment past pending, needs no call. */
	if (op->pay.qr[0] || op->pay.state != PAY_STATE_PENDING)
		pay_charged_done(0, op);
	else
		pay_created_done(0, op);
	return 0;
}

int payments_refund(struct payments *p, const struct ledger_id *payment_id, int64_t amount, const char *key,
		    payments_refund_fn done, void *arg)
{
	struct payment *pay = malloc(sizeof(*pay));
	int rc = pay ? pay_read(p, payment_id, pay) : STORE_ENOMEM;
	if (rc == 0 && ((pay->state != PAY_STATE_PAID && pay->state != PAY_STATE_PARTIALLY_REFUNDED) ||
			amount < 1 || amount > pay->paid_amount - pay->refunded))
		rc = PAYMENTS_ESTATE;
	if (rc == 0)
		pay_refund_call(p, NULL, done, arg, NULL, pay, amount, key);
	free(pay);
	return rc;
}

void payments_on_payout(struct payments *p, payments_payout_fn fn, void *ctx)
{
	p->on_payout = fn;
	p->on_payout_ctx = ctx;
}

struct pay_gateway *payments_gateway(struct payments *p)
{
	return p->gw;
}

/* --- set-up --- */

/* One commit of the by-merchant index's build: the next PAYMENT_INDEX_CHUNK payments. */
struct pay_index_build {
	struct payments *p;
	bool done;                           /* every charge is in the index */
	uint64_t read;                       /* payments read so far, for the log */
};

static int pay_apply_index_build(MDB_txn *txn, void *arg)
{
	struct pay_index_build *b = arg;
	struct payments *p = b->p;
	struct payment *pay = malloc(sizeof(*pay));
	uint8_t last[16] = { 0 };
	MDB_val mk = { sizeof(pay_index_mark), (void *)pay_index_mark }, mv, k, v;
	MDB_cursor *cur = NULL;
	bool resume = false;
	int rc = pay ? mdb_get(txn, p->by_merchant, &mk, &mv) : STORE_ENOMEM;
	b->done = rc == 0 && mv.mv_size == 0;
	if (b->done || (rc != 0 && rc != MDB_NOTFOUND))
		goto free_pay;
	if (rc == 0 && mv.mv_size != sizeof(last)) {
		rc = STORE_ECORRUPT;
		goto free_pay;
	}
	if (rc == 0) {
		memcpy(last, mv.mv_data, sizeof(last));
		resume = true;
	}
	if ((rc = mdb_cursor_open(txn, p->payments, &cur)) != 0)
		goto free_pay;
	k.mv_size = sizeof(last);
	k.mv_data = last;
	rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
	if (rc == 0 && resume && k.mv_size == sizeof(last) && memcmp(k.mv_data, last, sizeof(last)) == 0)
		rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	for (size_t n = 0; rc == 0 && n < PAYMENT_INDEX_CHUNK; n++) {
		struct ledger_id id;
		if (k.mv_size != sizeof(id.b)) {
			rc = STORE_ECORRUPT;
			break;
		}
		memcpy(id.b, k.mv_data, sizeof(id.b));
		memcpy(last, id.b, sizeof(last));
		rc = pay_load(p, txn, &id, pay);
		b->read++;
		if (rc == 0 && pay->kind == PAYMENT_INSTORE)
			rc = pay_index_charge(p, txn, pay);
		if (rc == 0)
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(cur);
	b->done = rc == MDB_NOTFOUND;
	if (rc == 0 || rc == MDB_NOTFOUND) {
		mv.mv_size = b->done ? 0 : sizeof(last);
		mv.mv_data = last;
		rc = mdb_put(txn, p->by_merchant, &mk, &mv, 0);
	}
free_pay:
	free(pay);
	return rc > 0 ? store_status_from_mdb(rc) : rc;
}

/* A data folder from before the index gets it now, a chunk per commit. */
static int pay_index_build(struct payments *p)
{
	struct pay_index_build b = { p, false, 0 };
	int rc;
	while ((rc = store_run(p->store, pay_apply_index_build, &b)) == 0 && !b.done)
		log_msg(LOG_INFO, "payments", "indexing the in-store charges by store: %llu payments read",
			(unsigned long long)b.read);
	return rc;
}

int payments_open(struct store *store, struct ledger *ledger, struct merchants *merchants, struct idem *idem,
		  struct payments **out)
{
	struct payments *p = calloc(1, sizeof(*p));
	int rc;
	if (!p)
		return STORE_ENOMEM;
	p->store = store;
	p->idem = idem;
	p->ledger = ledger;
	p->merchants = merchants;
	if ((rc = store_dbi_open(store, "payments", 0, &p->payments)) != 0 ||
	    (rc = store_dbi_open(store, "payment_watch", 0, &p->watch)) != 0 ||
	    (rc = store_dbi_open(store, "payment_merchant", 0, &p->by_merchant)) != 0 ||
	    (rc = pay_index_build(p)) != 0) {
		free(p);
		return rc;
	}
	*out = p;
	return 0;
}

int payments_start(struct payments *p, struct event_base *base, struct pay_gateway *gw,
		   const struct payments_config *cfg)
{
	struct timeval second = { 1, 0 }, keepalive = { PAYMENT_KEEPALIVE_S, 0 };
	p->gw = gw;
	p->cfg = *cfg;
	if (p->cfg.expiry_s <= 0)
		p->cfg.expiry_s = 900;
	if (p->cfg.reconcile_after_s <= 0)
		p->cfg.reconcile_after_s = 60;
	if (p->cfg.reconcile_max_s < p->cfg.reconcile_after_s)
		p->cfg.reconcile_max_s = p->cfg.reconcile_after_s;
	if (p->cfg.watch_s <= 0)
		p->cfg.watch_s = 86400;
	p->sweep_timer = event_new(base, -1, EV_PERSIST, pay_on_sweep, p);
	p->keepalive_timer = event_new(base, -1, EV_PERSIST, pay_on_keepalive, p);
	if (!p->sweep_timer || !p->keepalive_timer || event_add(p->sweep_timer, &second) ||
	    event_add(p->keepalive_timer, &keepalive))
		return -1;
	return store_submit(p->store, pay_apply_accounts, pay_accounts_done, p) == STORE_OK ? 0 : -1;
}

int payments_attach(struct payments *p, struct httpd *h)
{
	int rc;
	if ((rc = httpd_route(h, ROUTER_POST, "/api/v1/merchants/{id}/charges", ROLE_MERCHANT | ROLE_ADMIN,
			      pay_handle_charge, p)) ||
	    (rc = httpd_route(h, ROUTER_GET, "/api/v1/merchants/{id}/charges", ROLE_MERCHANT | ROLE_ADMIN | ROLE_AUDITOR,
			      pay_handle_charges, p)) ||
	    (rc = httpd_route(h, ROUTER_GET, "/api/v1/payments/{id}", ROLE_ANY, pay_handle_get, p)) ||
	    (rc = httpd_route(h, ROUTER_GET, "/api/v1/payments/{id}/receipt", ROLE_ANY, pay_handle_receipt, p)) ||
	    (rc = httpd_route(h, ROUTER_GET, "/api/v1/payments/{id}/qr.svg", ROLE_ANY, pay_handle_qr, p)) ||
	    (rc = httpd_route(h, ROUTER_GET, "/api/v1/payments/{id}/events", ROLE_ANY, pay_handle_events, p)) ||
	    (rc = httpd_route(h, ROUTER_POST, "/api/v1/payments/{id}/refund", ROLE_ADMIN, pay_handle_refund, p)) ||
	    (rc = httpd_route(h, ROUTER_POST, "/api/v1/webhooks/payments/{provider}", ROLE_PUBLIC,
			      pay_handle_webhook, p)))
		return rc;
	return 0;
}

void payments_stop(struct payments *p)
{
	if (!p)
		return;
	if (p->sweep_timer)
		event_free(p->sweep_timer);
	if (p->keepalive_timer)
		event_free(p->keepalive_timer);
	p->sweep_timer = p->keepalive_timer = NULL;
	while (p->subs) {
		struct payment_sub *s = p->subs;
		p->subs = s->next;
		httpd_stream_end(s->req);
		free(s);
	}
}

void payments_free(struct payments *p)
{
	if (!p)
		return;
	payments_stop(p);
	free(p);
}

/* --- for auditors --- */

static void pay_audit_view(const struct payment *pay, struct payments_audit *out)
{
	memset(out, 0, sizeof(*out));
	out->id = pay->id;
	out->instore = pay->kind == PAYMENT_INSTORE;
	if (!out->instore)
		out->group_id = pay->order_ref;
	out->merchant_id = pay->merchant_id;
	out->amount = pay->amount;
	out->paid_amount = pay->paid_amount;
	out->refunded = pay->refunded;
	out->created_ms = pay->created_ms;
	out->reported = -1;
	for (uint8_t i = pay->nhist; pay->flagged && i > 0; i--) {
		if (pay->hist[i - 1].amount >= 0 && pay->hist[i - 1].amount != pay->amount) {
			out->reported = pay->hist[i - 1].amount;
			break;
		}
	}
	out->state = (enum pay_state)pay->state;
	out->flagged = pay->flagged;
	out->late = pay->late;
}

int payments_audit_get(struct payments *p, MDB_txn *txn, const struct ledger_id *id, struct payments_audit *out)
{
	struct payment *pay = malloc(sizeof(*pay));
	int rc = pay ? pay_load(p, txn, id, pay) : STORE_ENOMEM;
	if (rc == 0)
		pay_audit_view(pay, out);
	free(pay);
	return rc;
}

int payments_audit_scan(struct payments *p, MDB_txn *txn, int64_t from_ms, int64_t to_ms, size_t max,
			payments_audit_fn fn, void *arg, bool *more)
{
	struct payment *pay = malloc(sizeof(*pay));
	struct ledger_id start = { { 0 } };
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	size_t seen = 0;
	int rc = pay ? mdb_cursor_open(txn, p->payments, &cur) : STORE_ENOMEM;
	*more = false;
	if (rc != 0)
		goto free_pay;
	/* Ids are big-endian with the creation ms in their first 6 bytes. */
	for (int i = 0; i < 6; i++)
		start.b[i] = (uint8_t)((uint64_t)from_ms >> (40 - 8 * i));
	k.mv_size = 16;
	k.mv_data = start.b;
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct payments_audit pa;
		struct ledger_id id;
		int64_t made = 0;
		if (k.mv_size != 16) {
			rc = STORE_ECORRUPT;
			break;
		}
		memcpy(id.b, k.mv_data, 16);
		for (int i = 0; i < 6; i++)
			made = made << 8 | id.b[i];
		if (made >= to_ms)
			break;
		if (seen == max) {
			*more = true;
			break;
		}
		seen++;
		if ((rc = pay_load(p, txn, &id, pay)) != 0)
			break;
		pay_audit_view(pay, &pa);
		if (!fn(&pa, arg))
			break;
	}
	if (rc == MDB_NOTFOUND)
		rc = 0;
	mdb_cursor_close(cur);
free_pay:
	free(pay);
	return store_status_from_mdb(rc);
}
