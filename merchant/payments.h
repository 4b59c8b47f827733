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
 * record. DBIs owned: payments, payment_watch (what to look at, and when).
 */
#ifndef BANGSOLEH_PAYMENTS_H
#define BANGSOLEH_PAYMENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "ledger.h"
#include "payment.h"

struct event_base;
struct httpd;
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
 * Opens the DBIs (before store_start). store, ledger and merchants are lent
 * for the payments' life. OUT: *out. Returns 0 or a STORE_* status.
 */
int payments_open(struct store *store, struct ledger *ledger, struct merchants *merchants,
		  struct payments **out);

/*
 * Starts on the loop: makes the platform's ledger accounts (once), the
 * expiry sweep and reconciliation timers. `gw` is lent. Returns 0 or -1.
 */
int payments_start(struct payments *p, struct event_base *base, struct pay_gateway *gw,
		   const struct payments_config *cfg);

/*
 * Registers the endpoints (see docs/api.md, "Payments") on h (lent):
 *   POST /api/v1/merchants/{id}/charges       merchant (own store), admin
 *   GET  /api/v1/payments/{id}                its owner, admin, auditor
 *   GET  /api/v1/payments/{id}/qr.svg         its owner, admin
 *   GET  /api/v1/payments/{id}/events         its owner, admin (Server-Sent Events)
 *   POST /api/v1/payments/{id}/refund         admin
 *   POST /api/v1/webhooks/payments/{provider} the provider (verified, no token)
 */
int payments_attach(struct payments *p, struct httpd *h);

/* Stops the timers and ends the event streams. Before store_stop. */
void payments_stop(struct payments *p);
void payments_free(struct payments *p);

/* MDR of an in-store payment by the merchant's criteria, in rupiah, rounded half up. */
int64_t payments_mdr(const char *criteria, int64_t amount);

#endif
