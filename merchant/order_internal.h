/*
 * The orders module's own parts, shared by its files only: the records
 * (order_record.c), the state machine, money and timers (order_flow.c), the
 * checkout (checkout.c) and the other endpoints (orders.c).
 */
#ifndef BANGSOLEH_ORDER_INTERNAL_H
#define BANGSOLEH_ORDER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>
#include <lmdb.h>

#include "ledger.h"
#include "orders.h"
#include "payments.h"
#include "products.h"
#include "shipments.h"

struct body_check;
struct httpd_req;

#define ORDER_ITEMS_MAX 50            /* lines in one checkout */
#define ORDER_GROUP_MAX 10            /* stores in one checkout */
#define ORDER_QTY_MAX 1000            /* units of one line */
#define ORDER_TIMELINE_MAX 24         /* events kept in an order: the newest */
#define ORDER_NOTE_MAX 200
#define ORDER_NAME_MAX 64
#define ORDER_PHONE_MAX 20
#define ORDER_ADDRESS_MAX 200
#define ORDER_CITY_MAX 64
#define ORDER_POSTAL_MAX 10
#define ORDER_LAT_MAX 90000000            /* millionths of a degree */
#define ORDER_LNG_MAX 180000000
#define ORDER_LIST_MAX 100            /* orders per page */
#define ORDER_SWEEP_MAX 64            /* due rules handled per sweep */
#define ORDER_REFUNDS_MAX 32          /* refunds in flight at once */

/* Status codes of the module besides 0 and STORE_* / PRODUCTS_*. */
#define ORDERS_ESTATE (-90)           /* the change is not allowed from the current state */
#define ORDERS_EOVERFLOW (-91)        /* an amount beyond what a payment may be */
#define ORDERS_ELEDGER (-92)          /* the ledger refused a posting */
#define ORDERS_EREPLAY (-93)          /* a checkout's Idempotency-Key seen before */
#define ORDERS_ECONFLICT (-94)        /* ... with another request */

enum order_state {
	ORDER_AWAITING_PAYMENT = 1,
	ORDER_PAID,
	ORDER_CONFIRMED,
	ORDER_SHIPPED,
	ORDER_DELIVERED,
	ORDER_COMPLETED,
	ORDER_CANCELLED,
	ORDER_REFUNDED,
	ORDER_DISPUTED,
};

/* What a due entry asks for. */
enum order_due_kind { DUE_CONFIRM = 1, DUE_COMPLETE, DUE_REFUND };

struct order_item {
	uint64_t product_id;
	char title[PRODUCT_TITLE_MAX + 1];    /* as sold */
	int64_t price;                        /* unit price as sold */
	int64_t qty;
	int64_t weight_g;                     /* per unit */
};

struct order_event {
	int64_t at_ms;
	uint8_t state;                        /* the state it moved to */
	uint64_t actor;                       /* user id; 0: the system */
	char note[ORDER_NOTE_MAX + 1];
};

struct order_address {
	char name[ORDER_NAME_MAX + 1];
	char phone[ORDER_PHONE_MAX + 1];
	char address[ORDER_ADDRESS_MAX + 1];
	char city[ORDER_CITY_MAX + 1];
	char postal_code[ORDER_POSTAL_MAX + 1];
	bool has_coords;                      /* for couriers' directions and distance tariffs */
	int32_t lat_e6, lng_e6;               /* millionths of a degree */
};

struct order {
	uint64_t id;
	struct ledger_id group_id;
	struct ledger_id payment_id;
	uint64_t merchant_id;
	uint64_t buyer_id;
	uint8_t state;
	int64_t subtotal;                     /* goods */
	int64_t shipping;                     /* fee, to the courier */
	int64_t commission;                   /* on the goods, at the rate frozen at checkout */
	int64_t commission_bps;               /* that rate */
	int64_t total;                        /* subtotal + shipping: this order's share of the payment */
	int64_t refund_due;                   /* to give back (set with the refund's start) */
	int64_t refunded;                     /* given back */
	int64_t created_ms, paid_ms, delivered_ms;
	char complaint[ORDER_NOTE_MAX + 1];
	uint8_t resolution;                   /* what the refund leads to: ORDER_COMPLETED or ORDER_REFUNDED */
	struct order_address ship_to;
	struct shipments_choice courier;      /* the rate chosen at checkout (module "" : none) */
	struct ledger_id shipment_id;         /* made when the store confirms; zero before */
	uint8_t nitems;
	struct order_item items[ORDER_ITEMS_MAX];
	uint64_t nevents;                     /* ever recorded */
	uint8_t ntimeline;                    /* the newest kept, oldest first */
	struct order_event timeline[ORDER_TIMELINE_MAX];
};

struct order_group {
	struct ledger_id id;
	struct ledger_id payment_id;
	uint64_t buyer_id;
	int64_t total;
	int64_t created_ms;
	uint8_t norders;
	uint64_t order_ids[ORDER_GROUP_MAX];
};

/* A refund started on the loop and not yet done; at most one per payment. */
struct order_refund {
	bool busy;
	uint64_t order_id;
	struct ledger_id payment_id;
	int64_t retry_ms;                     /* after a failure: not before */
};

#define ORDER_ACTIONS_MAX 8           /* POST /api/v1/orders/{id}/<action> routes */

/* The context of one action's route: the module and which action (orders.c's table). */
struct order_binding {
	struct orders *o;
	const void *action;
};

struct orders {
	struct store *store;
	struct ledger *ledger;
	struct merchants *merchants;
	struct products *products;
	struct payments *payments;
	struct shipments *shipments;
	struct idem *idem;
	struct orders_config cfg;
	MDB_dbi orders, groups, by_buyer, by_merchant, due;
	struct event *sweep_timer;
	bool sweeping;
	struct order_refund refunds[ORDER_REFUNDS_MAX];
	struct order_binding bindings[ORDER_ACTIONS_MAX];
};

/* --- order_record.c --- */

const char *order_state_name(uint8_t state);
/* The state named `name`. Returns 0 or -1. */
int order_state_parse(const char *name, uint8_t *out);

/* Reads one order / group within txn. Returns 0, STORE_ENOTFOUND or another STORE_* status. */
int order_load(struct orders *o, MDB_txn *txn, uint64_t id, struct order *out);
int order_group_load(struct orders *o, MDB_txn *txn, const struct ledger_id *id, struct order_group *out);
/*
 * Writes an order and keeps the merchant index in step with its state
 * (`was` is the state it is stored under, 0 for a new order).
 */
int order_store(struct orders *o, MDB_txn *txn, const struct order *ord, uint8_t was);
int order_group_store(struct orders *o, MDB_txn *txn, const struct order_group *g);
/* The next order id within a write txn. */
int order_next_id(struct orders *o, MDB_txn *txn, uint64_t *out);
/* Adds the buyer index entry of a new order. */
int order_index_buyer(struct orders *o, MDB_txn *txn, const struct order *ord);
/* Puts (or with del, removes) a due entry. */
int order_due_put(struct orders *o, MDB_txn *txn, int64_t due_ms, uint64_t order_id, uint8_t kind, bool del);

/* Appends a timeline event (dropping the oldest when full). */
void order_event_add(struct order *ord, int64_t at_ms, uint8_t state, uint64_t actor, const char *note);

/* JSON (new references). */
json_t *order_json(const struct order *ord);
json_t *order_group_json(const struct order_group *g);
void order_time_text(int64_t ms, char *out, size_t cap);

/* --- order_flow.c --- */

/*
 * Moves ord to `to` by `actor` (0: the system) within a write txn: checks
 * the transition, gives stock back, posts the release, schedules the next
 * rule or the refund, writes the order. Returns 0, ORDERS_ESTATE (nothing
 * changed), ORDERS_ELEDGER or a STORE_* status.
 */
int order_move(struct orders *o, MDB_txn *txn, struct order *ord, uint8_t to, uint64_t actor, const char *note);

/* The payments' listener (payments_on_order). */
int order_on_payment(MDB_txn *txn, const struct payments_order_change *c, void *ctx);

/* The shipments' listener (shipments_on_change). */
int order_on_shipment(MDB_txn *txn, const struct shipments_change *c, void *ctx);

/* The once-a-second rules sweep. */
void order_on_sweep(evutil_socket_t fd, short what, void *arg);

/* Commission of goods at bps, rounded half up. OUT: *out. Returns 0 or ORDERS_EOVERFLOW. */
int order_commission(int64_t goods, int64_t bps, int64_t *out);

/* --- orders.c --- */

/* Replies with the group, its orders and its payment as they are now, if the caller may see them. */
void order_group_reply(struct orders *o, struct httpd_req *req, const struct ledger_id *group_id, int status);

/* --- checkout.c --- */

void order_handle_checkout(struct httpd_req *req, void *ctx);

/* --- shipping.c --- */

void order_handle_rates(struct httpd_req *req, void *ctx);
/*
 * Reads optional "lat_e6" and "lng_e6" of obj (both or neither) into *place.
 * Returns 0, or -1 with c filled.
 */
int order_read_coords(struct body_check *c, const json_t *obj, bool *has, int32_t *lat, int32_t *lng);

#endif
