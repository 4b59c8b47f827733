/*
 * payments: QRIS payments of orders and of in-store charges — their
 * records, states and ledger postings — fed by the payment gateway's
 * webhooks and by polling it.
 *
 * A payment is `pending` until the provider reports it `paid` (or it
 * `expired`, was `cancelled` or `failed`); a paid one may become
 * `partially_refunded` and `refunded`. Notifications are verified, then
 * deduplicated by the provider's event id, and each state change is applied
 * once, in one store transaction with its ledger transfers; out-of-order
 * notifications never move a payment backwards. A paid amount that differs
 * from the payment is not credited: the payment is flagged for review and
 * the event kept. A payment that arrives after its expiry is recorded and
 * refunded. Pending payments older than `reconcile_after` are polled with
 * the provider's status API, with backoff.
 *
 * Postings (transfer ids derive from the payment and the event, so a replay
 * posts nothing twice): an order's payment moves gateway:<p>:clearing ->
 * escrow; an in-store charge moves clearing -> merchant:<id>:payable (the
 * amount less MDR) and clearing -> platform:fees (the MDR); refunds move
 * the same accounts back.
 *
 * A payment's record holds its newest events (its history, and how a
 * repeated notification is recognised), so a notification touches one
 * record. DBIs owned: payments, payment_watch (what to look at, and when),
 * payment_merchant (each store's in-store charges, built on open for a
 * data folder from before it).
 */
#ifndef BANGSOLEH_PAYMENTS_H
#define BANGSOLEH_PAYMENTS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <lmdb.h>

#include "ledger.h"
#include "payment.h"

struct event_base;
struct httpd;
struct httpd_req;
struct idem;
struct merchants;
struct store;
struct payments;

struct payments_config {
	int64_t expiry_s;            /* how long a QR may be paid; default 900 */
	int64_t reconcile_after_s;   /* poll pending payments older than this; default 60 */
	int64_t reconcile_max_s;     /* longest wait between polls of one payment; default 600 */
	int64_t watch_s;             /* keep polling an expired payment this long; default 86400 */
};

/*
 * Opens the DBIs and builds the by-merchant index where it is missing
 * (before store_start). store, ledger, merchants and idem are
 * lent for the payments' life. OUT: *out. Returns 0 or a STORE_* status.
 */
int payments_open(struct store *store, struct ledger *ledger, struct merchants *merchants, struct idem *idem,
		  struct payments **out);

/*
 * Starts on the loop: makes the platform's ledger accounts (once), the
 * expiry sweep and reconciliation timers. `gw` is lent. Returns 0 or -1.
 */
int payments_start(struct payments *p, struct event_base *base, struct pay_gateway *gw,
		   const struct payments_config *cfg);

/*
 * Registers the endpoints (see docs/api.md, "Payments") on h (lent):
 *   POST /api/v1/merchants/{id}/charges       merchant (own store), admin (Idempotency-Key)
 *   GET  /api/v1/merchants/{id}/charges       the store's owner, admin, auditor: newest first
 *   GET  /api/v1/payments/{id}                its owner, admin, auditor
 *   GET  /api/v1/payments/{id}/receipt        its owner, admin, auditor (with its proof)
 *   GET  /api/v1/payments/{id}/qr.svg         its owner, admin
 *   GET  /api/v1/payments/{id}/events         its owner, admin (Server-Sent Events)
 *   POST /api/v1/payments/{id}/refund         admin (Idempotency-Key required: it names the refund)
 *   POST /api/v1/webhooks/payments/{provider} the provider (verified, no token)
 */
int payments_attach(struct payments *p, struct httpd *h);

/* Stops the timers and ends the event streams. Before store_stop. */
void payments_stop(struct payments *p);
void payments_free(struct payments *p);

/* --- order payments (for the orders module) --- */

/* Outcomes of the calls below besides 0 and STORE_* (which they pass through). */
#define PAYMENTS_EPROVIDER (-70)     /* the provider refused */
#define PAYMENTS_EUNAVAILABLE (-71)  /* the provider did not answer: try later */
#define PAYMENTS_ESTATE (-72)        /* the payment is not in a state for it */

/* A change of an order payment, told inside the write transaction that makes it. */
struct payments_order_change {
	struct ledger_id payment_id;
	struct ledger_id group_id;           /* the order group it pays */
	enum pay_state state;                /* paid, expired, cancelled or failed */
	int64_t amount;
	int64_t at_ms;
};

/*
 * The orders module's listener: called in the write transaction of the
 * change, so the orders move in the same commit as the money. A non-zero
 * return aborts the whole job.
 */
typedef int (*payments_order_fn)(MDB_txn *txn, const struct payments_order_change *c, void *ctx);

/* Sets the one order listener; fn and ctx are lent. Before store_start. */
void payments_on_order(struct payments *p, payments_order_fn fn, void *ctx);

/*
 * Within a write transaction: records a pending payment of `amount` for the
 * order group `group` (whose owner may see it), expiring after the
 * configured expiry from created_ms. OUT: *payment_id (derived from the
 * group, so a re-run makes the same one). Returns 0 or a STORE_* status.
 */
int payments_create_order(struct payments *p, MDB_txn *txn, const struct ledger_id *group, uint64_t owner_user_id,
			  int64_t amount, int64_t created_ms, struct ledger_id *payment_id);

/*
 * The payment as JSON (a new reference), read within txn. Returns 0,
 * STORE_ENOTFOUND or another STORE_* status.
 */
int payments_json(struct payments *p, MDB_txn *txn, const struct ledger_id *payment_id, json_t **out);

/* done(status, payment JSON or NULL (a reference the callee keeps), arg) on the loop thread. */
typedef void (*payments_issue_fn)(int status, json_t *payment, void *arg);

/*
 * After the payment's commit: asks the provider for its QR (the provider's
 * idempotency key is the payment id, so asking twice makes one charge) and
 * records it. status is 0 (also when the QR was there already),
 * PAYMENTS_E* (PAYMENTS_EUNAVAILABLE also when the payment failed before
 * its QR came, on a twin request's charge) or a STORE_* status. Returns 0
 * (done will be called, perhaps before this returns) or -1.
 */
int payments_issue(struct payments *p, const struct ledger_id *payment_id, payments_issue_fn done, void *arg);

/*
 * Within txn: OUT *out, true when the payment failed before the provider
 * issued its QR (the checkout that made it answered 502/503: nothing was
 * placed). Returns 0, STORE_ENOTFOUND or another STORE_* status.
 */
int payments_failed_unissued(struct payments *p, MDB_txn *txn, const struct ledger_id *payment_id, bool *out);

/* done(status, arg): 0 when refunded and posted, else PAYMENTS_E* or STORE_*. */
typedef void (*payments_refund_fn)(int status, void *arg);

/*
 * Refunds `amount` of a paid payment through the provider and posts it
 * (escrow back to clearing). `key` (<= 40 bytes) names the refund: the same
 * key refunds once. The caller runs at most one refund of a payment at a
 * time. Returns 0 (done will be called), PAYMENTS_ESTATE (not paid, or less
 * left to refund), or another STORE_* status.
 */
int payments_refund(struct payments *p, const struct ledger_id *payment_id, int64_t amount, const char *key,
		    payments_refund_fn done, void *arg);

/* --- payouts (for the payouts module) --- */

/*
 * Handles a verified payout notification on the payment webhook route and
 * replies to req. ev is lent for the call.
 */
typedef void (*payments_payout_fn)(struct httpd_req *req, const struct pay_event *ev, void *ctx);

/* Sets the one payout listener; fn and ctx are lent. Without one, payout notifications are ignored. */
void payments_on_payout(struct payments *p, payments_payout_fn fn, void *ctx);

/* The id of one of the platform's accounts ("escrow", "platform:fees", ...): fixed, derived from its name. */
struct ledger_id payments_platform_account(const char *name);

/* The gateway the payments run on (lent), after payments_start. */
struct pay_gateway *payments_gateway(struct payments *p);

/* MDR of an in-store payment by the merchant's criteria, in rupiah, rounded half up. */
int64_t payments_mdr(const char *criteria, int64_t amount);

/* --- for auditors (merchant/audit.c): reads only --- */

/* What the audit views need of a payment. */
struct payments_audit {
	struct ledger_id id;
	struct ledger_id group_id;           /* order payments: the order group; zero for in-store charges */
	bool instore;
	uint64_t merchant_id;                /* in-store charges: the store; order payments: 0 */
	int64_t amount, paid_amount, refunded, created_ms;
	int64_t reported;                    /* flagged: the newest amount the provider reported unlike `amount`; -1 if none */
	enum pay_state state;
	bool flagged, late;
};

/* Reads one payment within txn. Returns 0, STORE_ENOTFOUND or another STORE_* status. */
int payments_audit_get(struct payments *p, MDB_txn *txn, const struct ledger_id *id, struct payments_audit *out);

/* Called per payment by payments_audit_scan (pa lent for the call); false stops the scan. */
typedef bool (*payments_audit_fn)(const struct payments_audit *pa, void *arg);

/*
 * Visits, in time order, the payments whose ids were made in [from_ms,
 * to_ms) (a payment's id begins with its creation time), at most `max`.
 * OUT: *more, true when payments of the range were left (max reached).
 * Returns 0 or a STORE_* status.
 */
int payments_audit_scan(struct payments *p, MDB_txn *txn, int64_t from_ms, int64_t to_ms, size_t max,
			payments_audit_fn fn, void *arg, bool *more);

#endif
