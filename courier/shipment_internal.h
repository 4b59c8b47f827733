/*
 * The shipments module's own parts, shared by its files only: the record
 * and its store (shipment_record.c), the provider's side and the rules
 * (shipments.c), the city's couriers (jobs.c).
 */
#ifndef BANGSOLEH_SHIPMENT_INTERNAL_H
#define BANGSOLEH_SHIPMENT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>
#include <lmdb.h>

#include "shipments.h"

#define SHIPMENT_TIMELINE_MAX 16
#define SHIPMENT_NOTE_MAX 96
#define SHIPMENT_SOURCE_MAX 16
#define SHIPMENT_ADDR_NAME_MAX 64
#define SHIPMENT_ADDR_MAX 200
#define SHIPMENT_POSTAL_MAX 10
#define SHIPMENT_PIN_TRIES 5
#define SHIPMENT_SWEEP_MAX 32
#define SHIPMENT_KEY_LEN 32
#define SHIPMENT_DEST_MAX 48                    /* a rate's destination: postal code @ lat,lng */

struct shipment_place {
	char name[SHIPMENT_ADDR_NAME_MAX + 1];
	char phone[COURIER_PHONE_MAX + 1];
	char address[SHIPMENT_ADDR_MAX + 1];
	char postal_code[SHIPMENT_POSTAL_MAX + 1];
	bool has_coords;
	int32_t lat_e6, lng_e6;
};

/*
 * How a stored PIN hash was made: records of version 1 hold a plain SHA-256
 * of the 6 digits (still checked so), later ones an HMAC-SHA-256 keyed with
 * the module's secret (shipments.key) over "pin-hash:" | shipment id (16) |
 * the 6 digits, which a copy of the store alone cannot brute-force.
 */
enum shipment_pin_scheme { SHIPMENT_PIN_SHA256 = 1, SHIPMENT_PIN_HMAC = 2 };

struct shipment_event {
	int64_t at_ms;
	uint8_t state;
	char source[SHIPMENT_SOURCE_MAX + 1];       /* "local", "provider", "webhook", "poll", "courier" */
	char event_id[COURIER_EVENT_ID_MAX + 1];
	char note[SHIPMENT_NOTE_MAX + 1];
};

struct shipment {
	struct ledger_id id;
	uint64_t order_id, merchant_id, buyer_id;
	uint64_t courier_user_id;                   /* the city's courier who took it; 0: none */
	struct shipments_choice choice;
	uint8_t state;                              /* enum ship_state */
	uint8_t progress;                           /* the furthest state of the way out reached */
	uint8_t held_from;                          /* on hold: the state it was in before (0: not known) */
	uint8_t pin_tries;                          /* wrong PINs so far */
	uint8_t pin_scheme;                         /* enum shipment_pin_scheme: how pin_hash was made */
	uint8_t pin_hash[32];                       /* see shipment_pin_hash */
	uint32_t attempts;                          /* calls to create it at the provider */
	bool cancel_due;                            /* cancelled here: the company is still to be told */
	char provider_id[COURIER_ID_MAX + 1];
	char tracking_id[COURIER_ID_MAX + 1];       /* the courier's, for tracking; "" until told */
	char waybill[COURIER_ID_MAX + 1];
	char link[COURIER_LINK_MAX + 1];
	char driver_name[COURIER_NAME_MAX + 1];
	char driver_phone[COURIER_PHONE_MAX + 1];
	char plate[COURIER_PLATE_MAX + 1];
	struct shipment_place origin, destination;
	int64_t weight_g, value;                    /* of all the goods */
	int64_t created_ms, updated_ms;
	uint64_t nevents;
	uint8_t ntimeline;                          /* the newest kept, oldest first */
	struct shipment_event timeline[SHIPMENT_TIMELINE_MAX];
};

struct shipments {
	struct store *store;
	struct ledger *ledger;
	struct courier_gateway *gw;
	struct profiles *profiles;                  /* couriers' names, phones, plates */
	uint8_t key[SHIPMENT_KEY_LEN];              /* signs rate tokens, derives PINs, keys their hashes */
	MDB_dbi shipments, by_provider, by_order, due, jobs;
	MDB_dbi by_courier;                         /* see shipment_store */
	shipments_change_fn on_change;
	void *on_change_ctx;
	struct event *sweep_timer;
	bool sweeping;
};

/* --- shipment_record.c --- */

/*
 * The by-courier index (DBI shipment_courier), keys only: courier user id
 * (8, big-endian) | list (1) | shipment id (16), the id's time first so a
 * courier's shipments sort by their orders' time. Every shipment a city
 * courier took is in SHIPMENT_LIST_ALL, those not yet over in
 * SHIPMENT_LIST_ACTIVE too. User 0 takes nothing: its key (8 zero bytes)
 * marks the index as built (empty value) or the build's progress (the last
 * shipment id indexed).
 */
enum shipment_list { SHIPMENT_LIST_ALL = 0, SHIPMENT_LIST_ACTIVE = 1 };
#define SHIPMENT_COURIER_KEY (8 + 1 + 16)

int shipment_load(struct shipments *s, MDB_txn *txn, const struct ledger_id *id, struct shipment *out);
/*
 * Writes the record and, in the same txn, its by-courier index entries, so
 * the index cannot disagree with the record. Returns 0, STORE_ENOMEM or an
 * LMDB status.
 */
int shipment_store(struct shipments *s, MDB_txn *txn, const struct shipment *sh);
/* Puts the shipment's by-courier entries as its record says (none when no courier took it). */
int shipment_index(struct shipments *s, MDB_txn *txn, const struct shipment *sh);
/* Appends a timeline event (dropping the oldest when full). */
void shipment_event_add(struct shipment *sh, uint8_t state, const char *source, const char *event_id,
			const char *note, int64_t at_ms);
/* True when the timeline kept holds event_id. */
bool shipment_seen(const struct shipment *sh, const char *event_id);
/*
 * The shipment as JSON (new reference, NULL when out of memory). with_phones:
 * the pickup's and drop's `phone` too — for the courier who took it and the
 * order's parties, never for couriers looking at an open job.
 */
json_t *shipment_json(const struct shipment *sh, bool with_phones);
/* A stored place as the gateway's (strings lent from sh). */
void shipment_place_out(const struct shipment_place *in, struct courier_place *out);
void shipment_place_in(const struct courier_place *in, struct shipment_place *out);

/* --- shipments.c --- */

/* True for the states after which nothing moves: delivered, returned, cancelled, failed. */
bool shipment_terminal(uint8_t st);

/*
 * Whether sh (its state, furthest way-out state and, on hold, the state it
 * was held from) may move to `to`: never backwards, never out again once on
 * the way back, and off hold only on from where it was held.
 */
bool shipment_may_move(const struct shipment *sh, uint8_t to);

/* The PIN hash of sh's scheme for `pin` (6 digits). OUT: out. */
void shipment_pin_hash(const struct shipments *s, const struct shipment *sh, const char *pin, uint8_t out[32]);
/* True when pin (NUL-terminated) is sh's delivery PIN, compared in constant time. */
bool shipment_pin_ok(const struct shipments *s, const struct shipment *sh, const char *pin);

/*
 * Moves sh to `to` if that is forward from where it is, recording the event
 * and telling the orders module. OUT: *moved. Returns 0 or a status of the
 * store or of the listener.
 */
int shipment_advance(struct shipments *s, MDB_txn *txn, struct shipment *sh, enum ship_state to, const char *source,
		     const char *event_id, const char *note, bool *moved);

/* --- jobs.c --- */

/* Adds the city couriers' endpoints. */
int shipment_jobs_attach(struct shipments *s, struct httpd *h);

#endif
