/*
 * shipments: how an order's goods reach the shopper — through a courier
 * provider (the courier gateway: sandbox or biteship) or through the city's
 * own couriers (the local module).
 *
 * Rates: a shopper asks for rates of a store's goods to an address; each
 * rate comes with a token, signed by this server, that binds the store, the
 * goods (a hash of the lines), the destination's postal code, the courier
 * and its price, and expires after SHIPMENTS_RATE_TTL_S. The checkout takes
 * the token instead of a price, so the fee in the order is the quoted one
 * and cannot be made up by the client.
 *
 * A shipment is made (inside the order's write transaction) when the
 * merchant confirms; the provider is then called from a sweep, retried with
 * backoff while it is down or answers any error but a refusal of the
 * shipment itself (the order stays confirmed: nothing is lost), or the job
 * is offered to the city's couriers. A cancel that overtakes the create is
 * sent once the create's answer names the provider's order. Its state only moves forward
 * (webhooks, polls and couriers' updates alike); duplicates change nothing;
 * every change is a timeline event. The orders module hears of a change
 * through a listener called in the change's transaction.
 *
 * DBIs owned: shipments (id 16 -> record), shipment_provider (provider's
 * order id -> shipment id), shipment_order (order id 8 -> shipment id),
 * shipment_due (due time 8 | id 16 -> attempts), shipment_courier (courier
 * user id 8 | list 1 | id 16: the shipments each city courier took, built on
 * open for a store older than it).
 */
#ifndef BANGSOLEH_SHIPMENTS_H
#define BANGSOLEH_SHIPMENTS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>
#include <lmdb.h>

#include "courier.h"
#include "ledger.h"

struct event_base;
struct httpd;
struct store;
struct ledger;
struct profiles;
struct shipments;

#define SHIPMENTS_RATE_TTL_S 1800          /* a quoted rate may be used this long */
#define SHIPMENTS_TOKEN_MAX 512            /* a rate token's text */

#define SHIPMENTS_EBADRATE (-100)          /* a rate token that does not verify, expired, or not for these goods */

/* The part of a rate an order keeps. */
struct shipments_choice {
	char module[16];                               /* the gateway that quoted it */
	char courier_code[COURIER_CODE_MAX + 1];
	char service_code[COURIER_CODE_MAX + 1];
	char courier_name[COURIER_NAME_MAX + 1];
	char service_name[COURIER_NAME_MAX + 1];
	int64_t price;
};

/* What a shipment is made of, lent for the call. */
struct shipments_new {
	uint64_t order_id;
	uint64_t merchant_id;
	uint64_t buyer_id;
	const struct shipments_choice *choice;
	struct courier_place origin, destination;
	const struct courier_item *items;
	size_t nitems;
	int64_t created_ms;                            /* the order's: derived ids keep its time */
};

/* A shipment's change, told to the orders module inside its transaction. */
struct shipments_change {
	uint64_t order_id;
	struct ledger_id shipment_id;
	enum ship_state state;
	const char *note;
};

typedef int (*shipments_change_fn)(MDB_txn *txn, const struct shipments_change *c, void *ctx);

/*
 * Opens the DBIs and reads (or makes, 0600) the data folder's secret
 * `shipments.key` that signs rate tokens, derives delivery PINs and keys
 * their stored hashes (before store_start). store, ledger and profiles
 * (whose name, phone and plate a courier's accepted job shows) are lent for
 * the module's life. OUT: *out,
 * freed with shipments_free. Returns 0 or a STORE_* status.
 */
int shipments_open(struct store *store, struct ledger *ledger, struct profiles *profiles, const char *data_dir,
		   struct shipments **out);
void shipments_free(struct shipments *s);

/* Sets the one change listener (fn and ctx lent). Before store_start. */
void shipments_on_change(struct shipments *s, shipments_change_fn fn, void *ctx);

/*
 * Starts on the loop with the courier gateway (lent for the module's life):
 * the sweep that calls the provider. After store_start; before any request.
 * Returns 0 or -1.
 */
int shipments_start(struct shipments *s, struct event_base *base, struct courier_gateway *gw);
void shipments_stop(struct shipments *s);

/*
 * Registers the endpoints on h (lent):
 *   POST /api/v1/webhooks/couriers/{provider} the provider (token in the URL)
 *   GET  /api/v1/courier/jobs                 courier: open local jobs, nearest first
 *   POST /api/v1/shipments/{id}/accept        courier: takes a job (one courier wins)
 *   POST /api/v1/shipments/{id}/status        the assigned courier: pickup and delivery steps, PIN
 *   GET  /api/v1/shipments/{id}               its courier, admin
 *   GET  /api/v1/courier/shipments            courier: the ones they took, newest first (admin: ?courier=)
 * Rates (POST /api/v1/shipping/rates) and the order's tracking are served
 * by the orders module, which knows the goods, through shipments_quote and
 * shipments_tracking_json.
 */
int shipments_attach(struct shipments *s, struct httpd *h);

/* The rates of a quote, each with its token; done gets them (lent for the call) or an error. */
struct shipments_rate {
	struct shipments_choice choice;
	char duration[COURIER_NAME_MAX + 1];
	char token[SHIPMENTS_TOKEN_MAX + 1];
};

typedef void (*shipments_quote_fn)(int error, const char *error_text, const struct shipments_rate *rates, size_t n,
				   void *arg);

/*
 * Asks the gateway for rates of a store's goods and signs each one for
 * those goods (lines_hash) and the destination (postal code and, when
 * given, coordinates). The request
 * is copied. Returns 0 (done will be called once) or a COURIER_E* status.
 */
int shipments_quote(struct shipments *s, uint64_t merchant_id, const uint8_t lines_hash[32],
		    const struct courier_rates_req *req, shipments_quote_fn done, void *arg);

/*
 * Checks a rate token for the store's goods (lines_hash: sha256 over the
 * store's sorted product ids and quantities, as shipments_lines_hash makes
 * it) and destination (its postal code, and its coordinates when the quote
 * had them) at now_ms. OUT: *choice. Returns 0 or
 * SHIPMENTS_EBADRATE.
 */
int shipments_rate_verify(struct shipments *s, const char *token, uint64_t merchant_id, const uint8_t lines_hash[32],
			  const struct courier_place *to, int64_t now_ms, struct shipments_choice *choice);

/* The hash of a store's lines: pairs (product id, quantity) sorted by id. */
void shipments_lines_hash(const uint64_t *product_ids, const int64_t *qtys, size_t n, uint8_t out[32]);

/*
 * Within the order's write txn: makes the order's shipment (pending),
 * due for the provider at once, or open to the city's couriers. OUT: *id.
 * Returns 0 or a STORE_* status.
 */
int shipments_create(struct shipments *s, MDB_txn *txn, const struct shipments_new *n, struct ledger_id *id);

/*
 * Within a write txn: cancels the shipment of an order being cancelled
 * before its parcel was picked up. It becomes `cancelled` (the listener is
 * told, with `note`), leaves the open jobs, and the company is told from the
 * sweep. OUT: *refused, true when the parcel is already on its way (nothing
 * changes then). Returns 0 or a status of the store or the listener.
 */
int shipments_cancel(struct shipments *s, MDB_txn *txn, const struct ledger_id *id, const char *note, bool *refused);

/*
 * Within a write txn: the ledger account the shipping fee of a delivered
 * shipment goes to — `courier:<user id>:payable` for the city's couriers,
 * `courier:<module>:payable` for a provider's — made when missing.
 * OUT: *account. Returns 0, STORE_ENOTFOUND or another STORE_* status.
 */
int shipments_payee(struct shipments *s, MDB_txn *txn, const struct ledger_id *id, struct ledger_id *account);

/*
 * The payable account of a city courier (courier_user_id != 0) or of a
 * courier company's module: its name ("courier:<id>:payable",
 * "courier:<module>:payable") and its fixed id. OUT: name (cap >=
 * LEDGER_NAME_MAX + 1), *id.
 */
void shipments_courier_account(uint64_t courier_user_id, const char *module, char *name, size_t cap,
			       struct ledger_id *id);

/* The shipment's tracking view (timeline, courier, plate, link) as JSON (new reference), read within txn. */
int shipments_tracking_json(struct shipments *s, MDB_txn *txn, const struct ledger_id *id, json_t **out);

/* The delivery PIN the buyer gives the courier (6 digits + NUL). */
void shipments_pin(const struct shipments *s, const struct ledger_id *id, char out[7]);

/*
 * For auditors: whether the shipment ever reached `delivered` (its furthest
 * step on the way out), read within txn. OUT: *delivered, *state (its
 * state's name, static). Returns 0, STORE_ENOTFOUND or another STORE_* status.
 */
int shipments_audit_delivered(struct shipments *s, MDB_txn *txn, const struct ledger_id *id, bool *delivered,
			      const char **state);

#endif
