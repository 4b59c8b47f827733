/*
 * courier: the interface of courier providers and the registry of their
 * modules. A module speaks one provider's protocol over the core's
 * asynchronous HTTP client (or none, for the city's own couriers) and keeps
 * nothing: the shipments module in courier/ keeps the records and states.
 *
 * Modules: "sandbox" (the default: the Biteship-like protocol of the
 * bangsoleh-sandbox program on loopback), "biteship" (api.biteship.com:
 * POST /v1/rates/couriers, POST /v1/orders with reference_id = our shipment
 * id, POST /v1/orders/{id}/cancel, GET /v1/trackings/{id}, the raw key in
 * the `authorization` header), "local" (the city's couriers: no outside
 * call; rates from the city's tariff, shipments offered to its couriers).
 * Every call runs on the loop thread, returns at once, and calls back
 * exactly once (never from inside the call) unless it returned an error.
 *
 * Webhooks (`order.status`, `order.price`, `order.waybill_id`) carry no
 * signature the provider documents; they are verified by a secret token the
 * operator puts in the webhook URL registered at the provider
 * (`?token=...`), compared in constant time.
 *
 * Weights are grams, money whole rupiah, coordinates millionths of a degree
 * (integers: no floats anywhere on the way to a price).
 */
#ifndef BANGSOLEH_COURIER_H
#define BANGSOLEH_COURIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct hclient;
struct courier_gateway;

#define COURIER_OK 0
#define COURIER_EINVAL (-1)       /* a bad request or configuration */
#define COURIER_ENOMEM (-2)
#define COURIER_EUNSUPPORTED (-3) /* the module has no such operation */
#define COURIER_EPROVIDER (-4)    /* the provider answered an error not known to be the request's (error_text) */
#define COURIER_EUNAVAILABLE (-5) /* timeout, connection failure, 5xx, breaker open: try later */
#define COURIER_EFORGED (-6)      /* a webhook whose token does not verify */
#define COURIER_EMALFORMED (-7)   /* a webhook or answer that does not parse */
/*
 * The provider refused the request itself as invalid: an explicit refusal
 * (Biteship: HTTP 400 or 422 with success false, but for its key errors),
 * so sending it again is refused again. Any other error answer (a wrong key,
 * 401, 403, 404, 409, ...) is COURIER_EPROVIDER: not known to be the
 * request's fault, so a create is tried again later.
 */
#define COURIER_EREFUSED (-8)

#define COURIER_ID_MAX 64          /* our shipment ids, the provider's order and waybill ids */
#define COURIER_EVENT_ID_MAX 160   /* a webhook's identity for deduplication */
#define COURIER_CODE_MAX 32        /* courier and service codes ("jne", "reg") */
#define COURIER_NAME_MAX 64        /* courier, service, driver names */
#define COURIER_PHONE_MAX 20
#define COURIER_PLATE_MAX 16
#define COURIER_LINK_MAX 256
#define COURIER_TEXT_MAX 256
#define COURIER_RATES_MAX 16       /* rates one quote returns at most */
#define COURIER_ITEMS_MAX 50       /* items of one shipment */
#define COURIER_QTY_MAX 10000      /* units of one item */
#define COURIER_WEIGHT_MAX 1000000 /* grams of one unit (a tonne) */
#define COURIER_VALUE_MAX 1000000000LL /* rupiah of one unit */
#define COURIER_POSTAL_MAX 10      /* digits of a postal code (Indonesia's have 5) */
#define COURIER_ADDRESS_MAX 255

/*
 * Shipment states, normalised from the providers' 14 statuses: confirmed,
 * scheduled -> pending; allocated; picking_up; picked; dropping_off ->
 * in_transit; delivered; on_hold; return_in_transit -> returning; returned;
 * cancelled; courier_not_found, rejected, disposed -> failed.
 */
enum ship_state {
	SHIP_PENDING = 1,
	SHIP_ALLOCATED,
	SHIP_PICKING_UP,
	SHIP_PICKED,
	SHIP_IN_TRANSIT,
	SHIP_DELIVERED,
	SHIP_ON_HOLD,
	SHIP_RETURNING,
	SHIP_RETURNED,
	SHIP_CANCELLED,
	SHIP_FAILED,
};

/* "pending", "allocated", ...; NULL outside the enum. */
const char *ship_state_name(enum ship_state s);
/* Our state named by `name` (ours, as ship_state_name gives). Returns 0 or COURIER_EINVAL. */
int ship_state_parse(const char *name, enum ship_state *out);
/*
 * A provider's status word (Biteship's 14, snake_case or camelCase, and
 * "placed") as our state. Returns 0 or COURIER_EMALFORMED for an unknown word.
 */
int ship_state_from_provider(const char *status, enum ship_state *out);

struct courier_gateway_config {
	const char *module;          /* "sandbox", "biteship", "local" */
	const char *base_url;        /* the provider's API, e.g. http://127.0.0.1:8081 */
	const char *api_key;         /* secret: sent raw in `authorization` (never logged) */
	const char *webhook_token;   /* secret: the token of the webhook URL */
	const char *couriers;        /* courier codes to quote, e.g. "jne,sicepat,gojek" */
	long timeout_ms;             /* per attempt; 0: the client's default */
	/* The local tariff: flat + per started km beyond the first + per started kg beyond the first. */
	int64_t local_flat;
	int64_t local_per_km;
	int64_t local_per_kg;
	/*
	 * The loop the gateway runs on: the local module calls back through a
	 * zero-delay timer on it (required for "local"; others may leave it NULL).
	 */
	struct event_base *base;
};

/*
 * Creates a gateway of cfg->module. Strings are copied; `http` and
 * cfg->base are lent for the gateway's life (`http` may be NULL for
 * "local", cfg->base for the others). Empty base_url, api_key and
 * webhook_token take the module's defaults: the sandbox's for "sandbox";
 * "biteship" requires its key and token (https://api.biteship.com by
 * default). Settings are printable ASCII without blanks (URLs and secrets
 * at most 512 and 256 bytes, couriers 128); the tariff values 0..10^9.
 * OUT: *out, freed with courier_gateway_free. Returns 0, COURIER_EINVAL or
 * COURIER_ENOMEM.
 */
int courier_gateway_new(const struct courier_gateway_config *cfg, struct hclient *http,
			struct courier_gateway **out);
/* Frees the gateway; calls in flight still call back once. NULL is allowed. */
void courier_gateway_free(struct courier_gateway *g);
/* The module's name ("sandbox", "biteship", "local"). */
const char *courier_gateway_name(const struct courier_gateway *g);
/* True for the city's own couriers: shipments are offered to them, not sent out. */
bool courier_gateway_is_local(const struct courier_gateway *g);

/*
 * A place goods go from or to. Strings lent for the call. Quotes need a
 * postal code or coordinates; shipments also name, phone and address.
 */
struct courier_place {
	const char *name;            /* <= COURIER_NAME_MAX printable bytes; NULL for quotes */
	const char *phone;           /* <= COURIER_PHONE_MAX of digits, '+', '-', ' ' */
	const char *address;         /* <= COURIER_ADDRESS_MAX printable bytes */
	const char *postal_code;     /* 1..COURIER_POSTAL_MAX digits, or NULL */
	bool has_coords;
	int32_t lat_e6, lng_e6;      /* millionths of a degree */
};

struct courier_item {
	const char *name;            /* <= COURIER_NAME_MAX printable bytes */
	int64_t value;               /* rupiah per unit, 0..COURIER_VALUE_MAX */
	int64_t weight_g;            /* per unit, 1..COURIER_WEIGHT_MAX */
	int64_t qty;                 /* 1..COURIER_QTY_MAX */
};

/* --- rates --- */

struct courier_rates_req {
	struct courier_place origin, destination;
	const struct courier_item *items;
	size_t nitems;               /* 1..COURIER_ITEMS_MAX */
};

struct courier_rate {
	char courier_code[COURIER_CODE_MAX + 1];
	char service_code[COURIER_CODE_MAX + 1];
	char courier_name[COURIER_NAME_MAX + 1];
	char service_name[COURIER_NAME_MAX + 1];
	char duration[COURIER_NAME_MAX + 1];    /* as the provider says it, e.g. "1 - 2 days" */
	int64_t price;                          /* whole rupiah */
};

struct courier_rates_res {
	int error;
	size_t n;
	struct courier_rate rates[COURIER_RATES_MAX];
	const char *error_text;      /* never NULL; lent for the call */
};

typedef void (*courier_rates_fn)(const struct courier_rates_res *res, void *arg);

/*
 * Quotes the configured couriers for the goods. The request is copied.
 * The local module quotes one rate (courier_local_tariff of the places and the
 * total weight: courier "local", service "ojek") and calls back on the
 * next turn of cfg->base.
 */
int courier_rates(struct courier_gateway *g, const struct courier_rates_req *req, courier_rates_fn done, void *arg);

/* --- shipments --- */

struct courier_ship_req {
	const char *shipment_id;     /* ours: the provider's reference_id, also the idempotency key */
	struct courier_place origin, destination;
	const struct courier_item *items;
	size_t nitems;
	const char *courier_code, *service_code;
	const char *note;            /* may be NULL */
};

/* What a provider says about a shipment (an answer to create, cancel or track). */
struct courier_ship_res {
	int error;
	char provider_id[COURIER_ID_MAX + 1];
	char tracking_id[COURIER_ID_MAX + 1]; /* the courier's tracking id, "" when not told (or not an id) */
	char waybill[COURIER_ID_MAX + 1];
	char link[COURIER_LINK_MAX + 1];
	char driver_name[COURIER_NAME_MAX + 1];
	char driver_phone[COURIER_PHONE_MAX + 1];
	char plate[COURIER_PLATE_MAX + 1];
	enum ship_state state;
	int64_t price;               /* -1 when not told */
	const char *error_text;      /* never NULL; lent for the call */
};

typedef void (*courier_ship_fn)(const struct courier_ship_res *res, void *arg);

/*
 * Creates the shipment at the provider (sending it twice makes one:
 * reference_id and the Idempotency-Key are the shipment id, so it is
 * retried). The local module returns COURIER_EUNSUPPORTED at once and never
 * calls back for ship, cancel and track: the courier/ module keeps local
 * shipments itself.
 */
int courier_ship(struct courier_gateway *g, const struct courier_ship_req *req, courier_ship_fn done, void *arg);
/*
 * Cancels a shipment not yet picked up (COURIER_EREFUSED when the provider
 * refuses: it was picked up). reason: printable, <= COURIER_TEXT_MAX, or
 * NULL. Not retried (the first attempt may have cancelled it); on
 * COURIER_EUNAVAILABLE track it before trying again.
 */
int courier_cancel(struct courier_gateway *g, const char *provider_id, const char *reason, courier_ship_fn done,
		   void *arg);
/*
 * The provider's view of a shipment now. Biteship: GET /v1/trackings/{tracking_id}
 * (its order_id must be provider_id), or GET /v1/orders/{provider_id} while
 * no tracking id is known (tracking_id NULL or "").
 */
int courier_track(struct courier_gateway *g, const char *provider_id, const char *tracking_id, courier_ship_fn done,
		  void *arg);

/* --- webhooks --- */

/* A webhook as received: raw body, and lookups of headers and query parameters. */
struct courier_webhook {
	const char *body;
	size_t body_len;
	const char *(*query)(const char *name, void *ctx);
	void *ctx;
};

/*
 * COURIER_EVENT_IGNORED: a verified webhook that carries nothing to record:
 * an empty body or an event we do not know (the provider's installation
 * test on registration). Answer 200 and record nothing; the other fields of
 * the event are empty.
 */
enum courier_event_kind { COURIER_EVENT_STATUS = 1, COURIER_EVENT_PRICE, COURIER_EVENT_WAYBILL, COURIER_EVENT_IGNORED };

struct courier_event {
	enum courier_event_kind kind;
	char provider_id[COURIER_ID_MAX + 1];   /* the provider's order id */
	char tracking_id[COURIER_ID_MAX + 1];   /* the courier's tracking id, "" when not told (or not an id) */
	char event_id[COURIER_EVENT_ID_MAX + 1]; /* what makes it unique: order, event, status / value */
	enum ship_state state;                   /* status events */
	int64_t price;                           /* price events, -1 otherwise */
	char waybill[COURIER_ID_MAX + 1];
	char link[COURIER_LINK_MAX + 1];
	char driver_name[COURIER_NAME_MAX + 1];
	char driver_phone[COURIER_PHONE_MAX + 1];
	char plate[COURIER_PLATE_MAX + 1];
};

/*
 * Verifies (the URL's token, in constant time) and parses a webhook
 * synchronously. The body is at most 64 KiB of one JSON object (or empty).
 * event_id is "order_id:event:value" where value is the status, the price
 * or the waybill, so repeats of one event have one id. Returns 0 with *out
 * filled (kind COURIER_EVENT_IGNORED: answer 200, record nothing),
 * COURIER_EFORGED (answer 401, record nothing), COURIER_EMALFORMED (400),
 * COURIER_EINVAL (NULL arguments) or COURIER_EUNSUPPORTED for the local
 * module (it has no webhooks).
 */
int courier_parse_webhook(struct courier_gateway *g, const struct courier_webhook *in, struct courier_event *out);

/*
 * The local tariff for the goods between two places: flat, plus per_km for
 * each started km beyond the first (when both places have coordinates),
 * plus per_kg for each started kg beyond the first. The distance is
 * courier_distance_m's. OUT: *price, *distance_m (-1 without coordinates).
 * Returns 0 or COURIER_EINVAL (negative settings or weight, coordinates out
 * of range, an overflow).
 */
int courier_local_tariff(const struct courier_gateway_config *cfg, const struct courier_place *from,
			 const struct courier_place *to, int64_t weight_g, int64_t *price, int64_t *distance_m);

/*
 * The straight-line distance in metres between two points given in
 * millionths of a degree, in integer arithmetic: the equirectangular
 * approximation (the longitude difference scaled by the cosine of the mean
 * latitude, a 6th-order Taylor polynomial; then Pythagoras with an integer
 * square root) on a sphere of mean radius 6,371,009 m (111,195 m a degree).
 * Within 1% of the great circle for points up to a few hundred km apart at
 * Indonesia's latitudes (and within 60 degrees of the equator); wraps at the
 * antimeridian. OUT: *out. Returns 0 or COURIER_EINVAL (|lat| > 90 or |lng|
 * > 180 degrees).
 */
int courier_distance_m(int32_t lat1_e6, int32_t lng1_e6, int32_t lat2_e6, int32_t lng2_e6, int64_t *out);

#endif
