/*
 * orders: the marketplace's orders. A checkout turns a cart of products
 * from one or more stores into one order per store under one order group,
 * takes the stock, and creates one QRIS payment for the group. Money waits
 * in `escrow` until the buyer has the goods; completion releases it to the
 * merchant (goods less commission), the platform (commission) and the
 * courier (shipping), in linked transfers, all or nothing.
 *
 * States: awaiting_payment -> paid -> confirmed -> shipped -> delivered ->
 * completed; cancelled (unpaid and expired; or paid and rejected, not
 * confirmed in time, or cancelled by the buyer before confirmation) ->
 * refunded once the provider gave the money back; delivered -> disputed (a
 * complaint within the window) -> completed (released, perhaps after a
 * partial refund) or refunded. Every change is a timeline event with its
 * actor and time; an illegal change is refused with the current state.
 *
 * Rules with timers (orders_config): an unpaid order ends with its payment
 * (payment.expiry) and gives its stock back; a paid order not confirmed
 * within confirm_within_s is cancelled and refunded; a delivered order
 * completes complete_after_s after delivery unless a complaint froze it.
 *
 * DBIs owned: orders, order_groups, order_buyer, order_merchant, order_due.
 * Endpoints: see orders_attach and docs/api.md, "Orders".
 */
#ifndef BANGSOLEH_ORDERS_H
#define BANGSOLEH_ORDERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "ledger.h"

struct event_base;
struct httpd;
struct idem;
struct ledger;
struct merchants;
struct payments;
struct products;
struct shipments;
struct store;
struct orders;

struct orders_config {
	int64_t confirm_within_s;     /* default 172800 */
	int64_t complete_after_s;     /* default 172800 */
	int64_t commission_bps;       /* 0..5000, default 300 */
};

/*
 * Opens the DBIs and registers the payments' order listener (before
 * store_start). Every argument is lent for the module's life. OUT: *out,
 * freed with orders_free. Returns 0 or a STORE_* status.
 */
int orders_open(struct store *store, struct ledger *ledger, struct merchants *merchants,
		struct products *products, struct payments *payments, struct shipments *shipments, struct idem *idem,
		struct orders **out);

/* Starts the rules' timer on base (after payments_start). cfg is copied. Returns 0 or -1. */
int orders_start(struct orders *o, struct event_base *base, const struct orders_config *cfg);

/*
 * Registers the endpoints on h (lent):
 *   POST /api/v1/checkout                      shopper (Idempotency-Key required)
 *   GET  /api/v1/order-groups/{id}             its buyer, admin, auditor
 *   GET  /api/v1/orders                        shopper: their own orders
 *   GET  /api/v1/merchants/{id}/orders         the store's owner, admin, auditor
 *   GET  /api/v1/orders/{id}                   its buyer, the store's owner, admin, auditor
 *   GET  /api/v1/orders/{id}/tracking          the same: the shipment's timeline, courier, link
 *   POST /api/v1/shipping/rates                public: rates of a store's goods to an address
 *   POST /api/v1/orders/{id}/confirm|reject|ship   the store's owner, admin
 *   POST /api/v1/orders/{id}/cancel            its buyer (paid, not yet confirmed), admin
 *   POST /api/v1/orders/{id}/deliver           admin (until couriers report it)
 *   POST /api/v1/orders/{id}/receive           its buyer
 *   POST /api/v1/orders/{id}/complaint         its buyer (within the window)
 *   POST /api/v1/orders/{id}/resolve           admin
 */
int orders_attach(struct orders *o, struct httpd *h);

/* Stops the timer. Before store_stop. */
void orders_stop(struct orders *o);
void orders_free(struct orders *o);

/* --- for auditors (merchant/audit.c): reads only --- */

#define ORDERS_GROUP_MAX 10           /* orders (stores) in one order group */

/* What the audit views need of an order. */
struct orders_audit {
	uint64_t id, merchant_id;
	int64_t total;                        /* goods and shipping: its share of the group's payment */
	int64_t refunded;                     /* given back so far */
	const char *state;                    /* its state's name (static) */
	bool completed;
	struct ledger_id shipment_id;         /* zero: it has none */
};

/* Reads one order within txn. Returns 0, STORE_ENOTFOUND or another STORE_* status. */
int orders_audit_get(struct orders *o, MDB_txn *txn, uint64_t id, struct orders_audit *out);
/*
 * The orders of a group, in the group's order. OUT: out[0..*n), *n <=
 * ORDERS_GROUP_MAX (out has room for that many). Returns as orders_audit_get.
 */
int orders_audit_group(struct orders *o, MDB_txn *txn, const struct ledger_id *group, struct orders_audit *out,
		       size_t *n);

#endif
