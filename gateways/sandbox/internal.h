/*
 * internal: what the sandbox provider's files share. Not a public API:
 * only the C files of gateways/sandbox include it. Internal names carry the prefix
 * sb_ (the sandbox program); the public ones in provider.h carry sandbox_.
 *
 * Everything runs on the loop thread. Records are owned by struct sandbox
 * and live until they are evicted (the bounds below) or the provider is
 * freed; pointers to them are valid only within one callback.
 */
#ifndef BANGSOLEH_SANDBOX_INTERNAL_H
#define BANGSOLEH_SANDBOX_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/http.h>
#include <jansson.h>

#include "body.h"
#include "crypto.h"
#include "map.h"
#include "provider.h"
#include "qris.h"

struct event;
struct hclient;

/* --- bounds ------------------------------------------------------------- */

#define SB_ID_MAX 64                 /* order_id, reference_id, payout_id, refund_key, fault scopes */
#define SB_IDEM_KEY_MAX 128          /* Idempotency-Key header values */
#define SB_BODY_MAX (64 * 1024)      /* request body */
#define SB_HEADERS_MAX (16 * 1024)   /* request header block */
#define SB_PATH_MAX 1024             /* request path, before decoding */
#define SB_SEGS_MAX 6                /* path segments */
#define SB_CHARGES_MAX 100000        /* charges kept; oldest finished dropped first */
#define SB_PAYOUTS_MAX 100000
#define SB_IDEM_MAX 20000            /* idempotency records kept (oldest dropped) */
#define SB_REFUNDS_MAX 64            /* refunds per charge */
#define SB_NOTIFY_URLS_MAX 4         /* per Midtrans charge: 3 from a header plus the default */
#define SB_FAULT_SCOPES_MAX 1024     /* fault entries, "global" included */
#define SB_HELD_MAX 1024             /* requests held by the timeout fault */
#define SB_AMOUNT_MAX QRIS_AMOUNT_MAX /* charges and refunds: 1..10,000,000 rupiah */
#define SB_PAYOUT_AMOUNT_MAX 1000000000 /* payouts: 1..1,000,000,000 rupiah */
#define SB_REASON_MAX 255            /* refund reason */
#define SB_CHANNEL_MAX 32            /* Xendit channel_code */
#define SB_BANK_CODE_MAX 16
#define SB_ACCOUNT_NUMBER_MAX 34
#define SB_ACCOUNT_NAME_MAX 100
#define SB_SHIPMENTS_MAX 100000      /* shipments kept; oldest finished dropped first */
#define SB_SHIP_HISTORY_MAX 32       /* status changes kept per shipment (the first ones) */
#define SB_SHIP_TEXT_MAX 255         /* contact names, addresses, notes, reasons */
#define SB_SHIP_PHONE_MAX 20
#define SB_SHIP_CODE_MAX 32          /* courier_company, courier_type */
#define SB_SHIP_ITEMS_MAX 50
#define SB_SHIP_WEIGHT_MAX 1000000   /* grams of one unit */
#define SB_SHIP_QTY_MAX 10000
#define SB_SHIP_PRICE_MAX 100000000  /* rupiah: /simulate's new price */
#define SB_SHIP_KM_MAX 3000          /* distances are capped here */

/* --- timing ------------------------------------------------------------- */

#define SB_NOTE_ATTEMPTS 8           /* per notification copy */
#define SB_NOTE_BACKOFF_MS 250       /* doubled per failed attempt ... */
#define SB_NOTE_BACKOFF_MAX_MS 4000  /* ... up to this */
#define SB_NOTE_TIMEOUT_MS 5000      /* one delivery attempt */
#define SB_HOLD_MAX_MS 60000         /* timeout fault: longest hold */
#define SB_HOLD_TICK_MS 100          /* how often held connections are checked */
#define SB_PAYOUT_DELAY_MS 200       /* a payout completes by itself after this */
#define SB_MIDTRANS_EXPIRY_S (15 * 60) /* without custom_expiry */
#define SB_XENDIT_EXPIRY_S (48 * 3600) /* without expires_at */
#define SB_EXPIRY_MAX_S (30 * 24 * 3600)
#define SB_DELAY_MAX_MS 60000        /* delay_ms fault */
#define SB_DUPLICATES_MAX 10         /* duplicates fault */
#define SB_SHIP_STEP_MAX_MS 3600000  /* --ship-step-ms */

/* wrong_signature: notifications are signed with the server key plus this. */
#define SB_WRONG_KEY_SUFFIX "-not-the-key"

/* --- text sizes ---------------------------------------------------------- */

#define SB_UUID_LEN 36
#define SB_WIB_LEN 19                /* "YYYY-MM-DD HH:MM:SS" */
#define SB_ISO_LEN 24                /* "YYYY-MM-DDTHH:MM:SS.mmmZ" */
#define SB_AMOUNT_TEXT_MAX 24        /* "-10000000000.00" and the NUL fit */
#define SB_SHA512_HEX_LEN 128

/* How a route authenticates and shapes its errors. */
enum sb_kind {
	SB_KIND_OPEN = 0,    /* test controls: no auth, {"error":{"code","message"}} */
	SB_KIND_MIDTRANS,    /* Basic auth, {"status_code","status_message"} */
	SB_KIND_XENDIT,      /* Basic auth + api-version, {"error_code","message"} */
	SB_KIND_PAYOUT,      /* Basic auth, {"error":{"code","message"}} */
	SB_KIND_BITESHIP,    /* raw key in authorization, {"success":false,"error","code"} */
};

enum sb_proto { SB_MIDTRANS = 1, SB_XENDIT };

/* Charge states in Midtrans words; a Xendit QR is ACTIVE while pending. */
enum sb_state { SB_PENDING = 0, SB_SETTLEMENT, SB_EXPIRE, SB_CANCEL, SB_REFUND, SB_PARTIAL_REFUND };

/* --- notifications -------------------------------------------------------- */

struct sb_note;

/*
 * The notifications of one charge or payout: sent one at a time in order
 * (the head is the one in progress), or held while out_of_order is on.
 */
struct sb_outbox {
	struct sb_note *head, *tail;
	struct sb_note *held;        /* newest first */
	unsigned queued;             /* notes in head..tail */
	unsigned held_n;
	unsigned delivered;          /* copies answered 2xx */
	unsigned given_up;           /* copies that ran out of attempts */
	unsigned dropped;            /* notes the drop fault threw away */
};

/* The notification faults in force for one record, taken when a notification is made. */
struct sb_effect {
	unsigned duplicates;
	long delay_ms;
	bool out_of_order;
	bool wrong_signature;
	bool payout_manual;
	bool shipment_manual;
	bool drop;
	int64_t amount_delta;
};

/* One notification to post. The body is stolen; strings are copied. */
struct sb_note_spec {
	const char *url;
	json_t *body;
	const char *callback_token;  /* x-callback-token header, or NULL */
	const char *webhook_id;      /* webhook-id header, or NULL */
	const char *what;            /* for logs, e.g. "midtrans settlement" */
	const char *ref;             /* the record's id, for logs */
	const struct sb_effect *fx;
};

/* --- records ---------------------------------------------------------------- */

struct sb_refund {
	int64_t chargeback_id;
	int64_t amount;
	int64_t created_ms;
	char key[SB_ID_MAX + 1];
	char *reason;                /* malloc'd; NULL when none */
};

struct sb_charge {
	struct sb_charge *older, *newer;
	struct sandbox *sb;          /* the owner, for timer callbacks */
	enum sb_proto proto;
	enum sb_state state;
	char id[SB_ID_MAX + 1];      /* Midtrans transaction_id (UUID) or Xendit "qr_<uuid>" */
	char ref[SB_ID_MAX + 1];     /* order_id or reference_id */
	int64_t amount;              /* asked for */
	int64_t paid;                /* paid (0 before settlement) */
	int64_t refunded;
	int64_t created_ms, updated_ms, expires_ms, settled_ms;
	char *qr_string;             /* malloc'd dynamic QRIS */
	char acquirer[16];           /* Midtrans: "gopay" or "airpay shopee" */
	char channel_code[SB_CHANNEL_MAX + 1]; /* Xendit */
	char payment_id[SB_ID_MAX + 1];        /* Xendit "qrpy_<uuid>" once paid */
	char receipt_id[16];
	bool webhook_v1;             /* Xendit: flat V1 webhook shape */
	char *notify_urls[SB_NOTIFY_URLS_MAX]; /* Midtrans: malloc'd copies */
	unsigned n_urls;
	struct sb_refund *refunds;   /* malloc'd, grown by one per refund up to SB_REFUNDS_MAX */
	unsigned n_refunds;
	struct event *expiry;        /* armed while pending */
	struct sb_outbox box;
};

enum sb_payout_state { SB_PO_PROCESSING = 0, SB_PO_COMPLETED, SB_PO_FAILED };

struct sb_payout {
	struct sb_payout *older, *newer;
	struct sandbox *sb;          /* the owner, for timer callbacks */
	enum sb_payout_state state;
	char id[SB_ID_MAX + 1];      /* "po_<uuid>" */
	char payout_id[SB_ID_MAX + 1];
	int64_t amount;
	char bank_code[SB_BANK_CODE_MAX + 1];
	char account_number[SB_ACCOUNT_NUMBER_MAX + 1];
	char account_name[SB_ACCOUNT_NAME_MAX + 1];
	const char *failure_reason;  /* static text; NULL unless FAILED */
	int64_t created_ms, updated_ms;
	bool manual;                 /* waits for /simulate/payout (payout_manual fault) */
	struct event *timer;         /* the automatic completion */
	struct sb_outbox box;
};

/* Biteship order statuses, in the order of the normal walk first. */
enum sb_ship_status {
	SB_SHIP_CONFIRMED = 0,
	SB_SHIP_ALLOCATED,
	SB_SHIP_PICKING_UP,
	SB_SHIP_PICKED,
	SB_SHIP_DROPPING_OFF,
	SB_SHIP_DELIVERED,          /* the end of the walk */
	SB_SHIP_SCHEDULED,
	SB_SHIP_CANCELLED,
	SB_SHIP_ON_HOLD,
	SB_SHIP_RETURN_IN_TRANSIT,
	SB_SHIP_RETURNED,
	SB_SHIP_REJECTED,
	SB_SHIP_DISPOSED,
	SB_SHIP_COURIER_NOT_FOUND,
	SB_SHIP_STATUS_COUNT
};

struct sb_ship_step {
	enum sb_ship_status status;
	int64_t ms;
};

struct sb_shipment {
	struct sb_shipment *older, *newer;
	struct sandbox *sb;          /* the owner, for timer callbacks */
	enum sb_ship_status status;
	char id[SB_ID_MAX + 1];      /* 24 hex digits, like Biteship's */
	char tracking_id[SB_ID_MAX + 1];
	char ref[SB_ID_MAX + 1];     /* reference_id; "" when none */
	char waybill[SB_ID_MAX + 1]; /* "" until a courier is allocated */
	char company[SB_SHIP_CODE_MAX + 1];
	char type[SB_SHIP_CODE_MAX + 1];
	int64_t price;
	int64_t km;
	json_t *request;             /* the create body as received (for the order's origin, destination, items) */
	struct sb_ship_step history[SB_SHIP_HISTORY_MAX];
	unsigned n_history;
	char *cancel_reason;         /* malloc'd; NULL when none */
	int64_t created_ms, updated_ms;
	bool manual;                 /* no automatic steps: /simulate/shipment moves it */
	struct event *timer;         /* the next automatic step */
	struct sb_outbox box;
};

/* --- faults ------------------------------------------------------------------ */

enum sb_fault_field {
	SB_F_DUPLICATES = 0,
	SB_F_OUT_OF_ORDER,
	SB_F_DELAY_MS,
	SB_F_HTTP_500,
	SB_F_TIMEOUT,
	SB_F_WRONG_SIGNATURE,
	SB_F_AMOUNT_DELTA,
	SB_F_PAYOUT_MANUAL,
	SB_F_SHIPMENT_MANUAL,
	SB_F_DROP,
	SB_F_COUNT
};

/* The fields a scope has set (has[]) and their values; entry 0 is "global". */
struct sb_fault {
	char scope[SB_ID_MAX + 1];
	bool has[SB_F_COUNT];
	int64_t val[SB_F_COUNT];
};

/* What the API fault counters decide for one call. */
enum sb_gate { SB_GATE_PASS = 0, SB_GATE_500, SB_GATE_TIMEOUT };

/* --- idempotency and held requests --------------------------------------------- */

struct sb_idem {
	struct sb_idem *older, *newer;
	char key[SB_IDEM_KEY_MAX + 3];   /* "m:" or "x:" and the header value */
	uint8_t hash[CRYPTO_SHA256_LEN]; /* of the request body */
	int status;
	char *text;                      /* the response body, malloc'd */
	size_t len;
};

struct sb_held {
	struct sb_held *prev, *next;
	struct evhttp_request *req;
	enum sb_kind kind;
	int64_t deadline_ms;
};

/* --- the provider ---------------------------------------------------------------- */

struct sandbox {
	struct event_base *base;
	struct hclient *hc;
	char base_url[SANDBOX_URL_MAX + 1];
	char notify_midtrans[SANDBOX_URL_MAX + 1];
	char notify_xendit[SANDBOX_URL_MAX + 1];
	char server_key[SANDBOX_SECRET_MAX + 1];
	char callback_token[SANDBOX_SECRET_MAX + 1];
	char static_qris[QRIS_PAYLOAD_MAX + 1];  /* the merchant's static QRIS */
	size_t static_qris_len;

	struct sb_charge *charges_oldest, *charges_newest;
	size_t n_charges;
	struct sbmap *charge_ids;    /* transaction_id / qr id -> charge */
	struct sbmap *mid_orders;    /* order_id -> newest Midtrans charge */
	struct sbmap *x_refs;        /* reference_id -> newest Xendit charge */

	struct sb_payout *payouts_oldest, *payouts_newest;
	size_t n_payouts;
	struct sbmap *payout_ids;    /* "po_..." -> payout */
	struct sbmap *payout_refs;   /* payout_id -> payout */

	struct sb_shipment *ships_oldest, *ships_newest;
	size_t n_ships;
	struct sbmap *ship_ids;      /* order id -> shipment */
	struct sbmap *ship_refs;     /* reference_id -> shipment */
	struct sbmap *ship_tracking; /* tracking_id -> shipment */
	char notify_biteship[SANDBOX_URL_MAX + 1];
	char biteship_key[SANDBOX_SECRET_MAX + 1];
	long ship_step_ms;           /* 0: shipments wait for /simulate/shipment */

	struct sb_idem *idem_oldest, *idem_newest;
	size_t n_idem;
	struct sbmap *idem;

	struct sb_fault faults[SB_FAULT_SCOPES_MAX];
	size_t n_faults;             /* >= 1: faults[0] is global */

	struct sb_held *held;
	size_t n_held;
	struct event *held_tick;

	int64_t next_chargeback_id;
	uint64_t delivered;          /* notification copies answered 2xx */
	uint64_t failed_attempts;    /* attempts answered otherwise or not at all */
	uint64_t given_up;           /* copies that ran out of attempts */
	uint64_t dropped;            /* notes thrown away by the drop fault */
};

/* --- one request --------------------------------------------------------------------- */

struct sb_call {
	struct evhttp_request *req;
	enum evhttp_cmd_type method;
	enum sb_kind kind;
	char *seg[SB_SEGS_MAX];      /* decoded path segments, malloc'd */
	size_t nseg;
	const char *arg;             /* the route's {id} segment, or NULL */
	char *body;                  /* NUL-terminated copy, malloc'd; NULL when empty */
	size_t body_len;
	json_t *json;                /* the body when it is a JSON object */
	bool json_bad;               /* a body that is not a JSON object */
	bool form;                   /* an HTML form post */
};

/* A handler's answer; the front sends it (and keeps it for idempotency). */
struct sb_resp {
	int status;
	json_t *json;                /* owned */
	char *text;                  /* owned, malloc'd; used when json is NULL */
	size_t text_len;
	const char *ctype;           /* static; for text */
	const char *location;        /* static; for 303 */
};

typedef void (*sb_handler_fn)(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp);

/* --- util.c ---------------------------------------------------------------------------- */

int64_t sb_now_ms(void);
/* A random (version 4) UUID, lower case. OUT: out. Returns 0 or -1 (no entropy). */
int sb_uuid(char out[SB_UUID_LEN + 1]);
/* Random decimal digits. OUT: out (n digits and a NUL). Returns 0 or -1. */
int sb_digits(char *out, size_t n);
/* Wall-clock ms as WIB (UTC+7) "YYYY-MM-DD HH:MM:SS". */
void sb_time_wib(int64_t ms, char out[SB_WIB_LEN + 1]);
/* Wall-clock ms as UTC "YYYY-MM-DDTHH:MM:SS.mmmZ". */
void sb_time_iso(int64_t ms, char out[SB_ISO_LEN + 1]);
/* Parses "YYYY-MM-DDTHH:MM:SS[.fff]" with "Z" or "+HH:MM"/"-HH:MM". OUT: *ms. Returns 0 or -1. */
int sb_time_iso_parse(const char *s, int64_t *ms);
/* Rupiah as "N.00". */
void sb_amount_text(int64_t rupiah, char out[SB_AMOUNT_TEXT_MAX]);
/* An id: 1..SB_ID_MAX characters of [A-Za-z0-9] and "-_.~:@#". */
bool sb_id_valid(const char *s);
/* Lower-case hex SHA-512 of the concatenated parts. Returns 0 or -1. */
int sb_sha512_hex(const char *const *parts, size_t n, char out[SB_SHA512_HEX_LEN + 1]);
/* A request header (case-insensitive), or NULL. */
const char *sb_header(const struct sb_call *call, const char *name);
/* Sets resp to status and json (stolen; NULL means out of memory: 500). */
void sb_resp_json(struct sb_resp *resp, int status, json_t *json);
/*
 * An error in the shape of `kind`. code: Midtrans status_code (NULL: the
 * HTTP status), Xendit error_code, or the sandbox's error code.
 */
void sb_resp_error(struct sb_resp *resp, enum sb_kind kind, int status, const char *code, const char *msg);
/* 400 for a failed body_check, naming the field. */
void sb_resp_invalid(struct sb_resp *resp, enum sb_kind kind, const struct body_check *chk);
/* Sets obj[key] = val (stolen); returns -1 when val is NULL or the set fails. */
int sb_set(json_t *obj, const char *key, json_t *val);

/* --- charges.c ---------------------------------------------------------------------------- */

/* By transaction_id / qr id, then order_id, then reference_id. NULL when unknown. */
struct sb_charge *sb_charge_find(struct sandbox *sb, const char *id);
/* A charge of `proto` by its id or its reference (order_id / reference_id). */
struct sb_charge *sb_charge_find_proto(struct sandbox *sb, enum sb_proto proto, const char *id);
/*
 * Creates a pending charge with a fresh id and dynamic QRIS, dropping the
 * oldest finished charge (else the oldest) at SB_CHARGES_MAX, and arms its
 * expiry. The caller sets protocol details and then calls
 * sb_charge_notify. OUT: *out (owned by sb). Returns 0 or -1 (out of
 * memory or entropy).
 */
int sb_charge_create(struct sandbox *sb, enum sb_proto proto, const char *ref, int64_t amount,
		     int64_t expires_ms, struct sb_charge **out);
/* Moves a charge to `state` (disarming its expiry unless pending) and notifies. */
void sb_charge_transition(struct sandbox *sb, struct sb_charge *c, enum sb_state state);
/* Marks a pending charge paid with `amount` and notifies. Returns 0 or -1 (no entropy). */
int sb_charge_pay(struct sandbox *sb, struct sb_charge *c, int64_t amount);
/* Sends the notification of the charge's current state (Midtrans: every state; Xendit: payment). */
void sb_charge_notify(struct sandbox *sb, struct sb_charge *c);
/* The ids a fault scope may name for this charge: {id, ref}. */
void sb_charge_ids(const struct sb_charge *c, const char *ids[2]);
/* "pending", "paid", "expired", "cancelled", "refunded", "partially_refunded". */
const char *sb_charge_state_name(const struct sb_charge *c);
/* The protocol's own status word: Midtrans transaction_status, Xendit QR status. */
const char *sb_charge_status_word(const struct sb_charge *c);
/* The charge for /simulate/charges (a new reference, NULL when out of memory). */
json_t *sb_charge_json(const struct sb_charge *c);
void sb_charges_free(struct sandbox *sb);

/* --- api_midtrans.c ------------------------------------------------------------------------ */

void sb_mid_charge(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp);
void sb_mid_status(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp);
void sb_mid_cancel(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp);
void sb_mid_expire(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp);
void sb_mid_refund(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp);
/* Queues the notification of c's current state to each of its URLs. */
void sb_mid_notify(struct sandbox *sb, struct sb_charge *c);

/* --- api_xendit.c --------------------------------------------------------------------------- */

void sb_x_create(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp);
void sb_x_get(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp);
void sb_x_payments(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp);
void sb_x_simulate(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp);
/* Queues the qr.payment webhook of a paid charge. */
void sb_x_notify(struct sandbox *sb, struct sb_charge *c);

/* --- api_payouts.c ---------------------------------------------------------------------------- */

void sb_po_create(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp);
void sb_po_get(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp);
/* POST /simulate/payout/{payout_id} */
void sb_po_simulate(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp);
struct sb_payout *sb_payout_find(struct sandbox *sb, const char *id);
/* The payout as the API shows it (a new reference, NULL when out of memory). */
json_t *sb_payout_json(const struct sb_payout *po);
void sb_payouts_free(struct sandbox *sb);

/* --- api_biteship.c ---------------------------------------------------------------------------- */

void sb_bs_rates(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp);
void sb_bs_create(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp);
void sb_bs_get(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp);
void sb_bs_cancel(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp);
void sb_bs_tracking(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp);
/* POST /simulate/shipment/{id}, GET /simulate/shipments, GET /simulate/shipments/{id} */
void sb_bs_simulate(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp);
void sb_bs_list(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp);
void sb_bs_show(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp);
/* By order id, reference_id or tracking_id; NULL when unknown. */
struct sb_shipment *sb_shipment_find(struct sandbox *sb, const char *id);
/* The ids a fault scope may name for this shipment: {id, ref, tracking_id}. */
void sb_shipment_ids(const struct sb_shipment *s, const char *ids[3]);
/* Biteship's word for a status ("picking_up"). */
const char *sb_ship_status_word(enum sb_ship_status st);
/* True once a shipment can move no further by itself (delivered, cancelled, returned, ...). */
bool sb_ship_final(enum sb_ship_status st);
void sb_shipments_free(struct sandbox *sb);

/* --- simulate.c -------------------------------------------------------------------------------- */

void sb_sim_page(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp);
void sb_sim_charges(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp);
void sb_sim_pay(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp);
void sb_sim_qr(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp);

/* --- faults.c ------------------------------------------------------------------------------------ */

void sb_faults_post(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp);
void sb_faults_get(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp);
void sb_faults_delete(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp);
void sb_faults_release(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp);
/* Empties the table, leaving a global entry with nothing set. */
void sb_faults_reset(struct sandbox *sb);
/* The notification faults for a record known by these ids (a scope's value, else global's). */
void sb_faults_effect(struct sandbox *sb, const char *const *ids, size_t n, struct sb_effect *out);
/* Consumes one http_500 or timeout count (the record's scope first, then global). */
enum sb_gate sb_faults_gate(struct sandbox *sb, const char *const *ids, size_t n);

/* --- notify.c -------------------------------------------------------------------------------------- */

/* Queues (or holds) one notification in box. Returns 0 or -1 (out of memory; logged). */
int sb_note_post(struct sandbox *sb, struct sb_outbox *box, const struct sb_note_spec *spec);
/* Moves held notes to the queue, newest first, and starts sending. */
void sb_outbox_release(struct sb_outbox *box);
/* Drops every note (one being sent finishes on its own, unowned). */
void sb_outbox_clear(struct sb_outbox *box);
/* True while notes are queued, in flight or held. */
bool sb_outbox_busy(const struct sb_outbox *box);

#endif
