/*
 * api_biteship: the sandbox's Biteship-like courier API (docs/sandbox.md,
 * section F). Rates come from a fixed table of four services priced by
 * distance and weight; orders are kept like charges (bounded, evicted
 * oldest finished first) and walk confirmed -> allocated -> picking_up ->
 * picked -> dropping_off -> delivered, one step every --ship-step-ms, or
 * wait for /simulate/shipment. Each change posts Biteship's flat webhooks
 * (order.status, order.waybill_id once, order.price) through notify.c with
 * the same faults as payment notifications.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "courier.h"
#include "log.h"

#define SB_SHIP_HEX_BYTES 12           /* ids of 24 hex digits */
#define SB_WAYBILL_DIGITS 12
#define SB_COURIERS_TEXT_MAX 128
#define SB_INSTANT_KM_MAX 40           /* instant couriers ride at most this far ... */
#define SB_INSTANT_KG_MAX 20           /* ... and carry at most this much */
#define SB_POSTAL_MAX 9999999999LL
#define SB_NOTE_URL_MAX (SANDBOX_URL_MAX + 8)
#define SB_SHIP_WHAT_MAX 48

#define SB_DRIVER_NAME "Budi Santoso"
#define SB_DRIVER_PHONE "081234567890"
#define SB_DRIVER_PLATE "BA 1234 XY"

/*
 * The services the sandbox prices: base + per_km * km + per_kg * (kg - 1),
 * with km and kg rounded up and at least 1. Instant services need both
 * places' coordinates.
 */
static const struct sb_service {
	const char *company, *type, *courier_name, *service_name, *duration, *range, *unit;
	int64_t base, per_km, per_kg;
	bool instant;
} sb_services[] = {
	{ "jne", "reg", "JNE", "Reguler", "2 - 3 days", "2 - 3", "days", 9000, 10, 9000, false },
	{ "jne", "yes", "JNE", "Yakin Esok Sampai", "1 - 1 days", "1", "days", 18000, 15, 18000, false },
	{ "sicepat", "reg", "SiCepat", "Reguler", "1 - 2 days", "1 - 2", "days", 8000, 9, 8000, false },
	{ "gojek", "instant", "Gojek", "Instant", "1 - 3 hours", "1 - 3", "hours", 10000, 2500, 0, true },
};

static const char *const sb_ship_words[SB_SHIP_STATUS_COUNT] = {
	[SB_SHIP_CONFIRMED] = "confirmed",     [SB_SHIP_ALLOCATED] = "allocated",
	[SB_SHIP_PICKING_UP] = "picking_up",   [SB_SHIP_PICKED] = "picked",
	[SB_SHIP_DROPPING_OFF] = "dropping_off", [SB_SHIP_DELIVERED] = "delivered",
	[SB_SHIP_SCHEDULED] = "scheduled",     [SB_SHIP_CANCELLED] = "cancelled",
	[SB_SHIP_ON_HOLD] = "on_hold",         [SB_SHIP_RETURN_IN_TRANSIT] = "return_in_transit",
	[SB_SHIP_RETURNED] = "returned",       [SB_SHIP_REJECTED] = "rejected",
	[SB_SHIP_DISPOSED] = "disposed",       [SB_SHIP_COURIER_NOT_FOUND] = "courier_not_found",
};

static const char *const sb_ship_notes[SB_SHIP_STATUS_COUNT] = {
	[SB_SHIP_CONFIRMED] = "Order has been confirmed",
	[SB_SHIP_ALLOCATED] = "Courier has been allocated",
	[SB_SHIP_PICKING_UP] = "Courier is on the way to pick up the item",
	[SB_SHIP_PICKED] = "Item has been picked up",
	[SB_SHIP_DROPPING_OFF] = "Item is on the way to the receiver",
	[SB_SHIP_DELIVERED] = "Item has been delivered",
	[SB_SHIP_SCHEDULED] = "Order has been scheduled",
	[SB_SHIP_CANCELLED] = "Order has been cancelled",
	[SB_SHIP_ON_HOLD] = "Order is on hold",
	[SB_SHIP_RETURN_IN_TRANSIT] = "Item is on the way back to the sender",
	[SB_SHIP_RETURNED] = "Item has been returned to the sender",
	[SB_SHIP_REJECTED] = "Shipment was rejected",
	[SB_SHIP_DISPOSED] = "Item was disposed",
	[SB_SHIP_COURIER_NOT_FOUND] = "No courier was found",
};

const char *sb_ship_status_word(enum sb_ship_status st)
{
	return sb_ship_words[st];
}

bool sb_ship_final(enum sb_ship_status st)
{
	return st == SB_SHIP_DELIVERED || st == SB_SHIP_CANCELLED || st == SB_SHIP_RETURNED ||
	       st == SB_SHIP_REJECTED || st == SB_SHIP_DISPOSED || st == SB_SHIP_COURIER_NOT_FOUND;
}

/* Biteship: cancellable until the courier has the goods. */
static bool ship_cancellable(enum sb_ship_status st)
{
	return st == SB_SHIP_CONFIRMED || st == SB_SHIP_SCHEDULED || st == SB_SHIP_ALLOCATED ||
	       st == SB_SHIP_PICKING_UP;
}

/* Statuses that come after a courier took the order: it has a waybill and a driver by then. */
static bool ship_has_courier(enum sb_ship_status st)
{
	return st != SB_SHIP_CONFIRMED && st != SB_SHIP_SCHEDULED && st != SB_SHIP_CANCELLED &&
	       st != SB_SHIP_COURIER_NOT_FOUND;
}

/* --- records ------------------------------------------------------------------------------ */

struct sb_shipment *sb_shipment_find(struct sandbox *sb, const char *id)
{
	struct sb_shipment *s = sbmap_get(sb->ship_ids, id);
	if (!s)
		s = sbmap_get(sb->ship_refs, id);
	if (!s)
		s = sbmap_get(sb->ship_tracking, id);
	return s;
}

void sb_shipment_ids(const struct sb_shipment *s, const char *ids[3])
{
	ids[0] = s->id;
	ids[1] = s->ref[0] ? s->ref : NULL;
	ids[2] = s->tracking_id;
}

static void ship_drop(struct sandbox *sb, struct sb_shipment *s)
{
	if (s->older)
		s->older->newer = s->newer;
	else
		sb->ships_oldest = s->newer;
	if (s->newer)
		s->newer->older = s->older;
	else
		sb->ships_newest = s->older;
	sb->n_ships--;
	sbmap_del_if(sb->ship_ids, s->id, s);
	sbmap_del_if(sb->ship_tracking, s->tracking_id, s);
	if (s->ref[0])
		sbmap_del_if(sb->ship_refs, s->ref, s);
	if (s->timer)
		event_free(s->timer);
	sb_outbox_clear(&s->box);
	json_decref(s->request);
	free(s->cancel_reason);
	free(s);
}

/* Makes room: the oldest finished shipment with nothing to send, else the oldest. */
static void ships_evict(struct sandbox *sb)
{
	struct sb_shipment *s = sb->ships_oldest;
	while (s && (!sb_ship_final(s->status) || sb_outbox_busy(&s->box)))
		s = s->newer;
	ship_drop(sb, s ? s : sb->ships_oldest);
}

void sb_shipments_free(struct sandbox *sb)
{
	while (sb->ships_oldest)
		ship_drop(sb, sb->ships_oldest);
}

/* 24 random hex digits. Returns 0 or -1 (no entropy). */
static int ship_hex_id(char out[SB_ID_MAX + 1])
{
	uint8_t b[SB_SHIP_HEX_BYTES];
	if (crypto_random(b, sizeof(b)) != CRYPTO_OK ||
	    crypto_hex_encode(b, sizeof(b), out, SB_ID_MAX + 1) != CRYPTO_OK)
		return -1;
	return 0;
}

/* --- JSON of a shipment --------------------------------------------------------------------- */

/* A string, or JSON null for "". */
static json_t *str_or_null(const char *s)
{
	return s[0] ? json_string(s) : json_null();
}

static json_t *ship_link(const struct sandbox *sb, const struct sb_shipment *s)
{
	char link[SANDBOX_URL_MAX + SB_ID_MAX + 32];
	snprintf(link, sizeof(link), "%s/simulate/shipments/%s", sb->base_url, s->id);
	return json_string(link);
}

/* The courier's people: null until one is allocated. */
static int ship_driver(const struct sb_shipment *s, json_t *obj, const char *prefix)
{
	bool has = s->waybill[0] != '\0';
	char key[48];
	static const char *const fields[][2] = {
		{ "driver_name", SB_DRIVER_NAME },
		{ "driver_phone", SB_DRIVER_PHONE },
		{ "driver_plate_number", SB_DRIVER_PLATE },
	};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		snprintf(key, sizeof(key), "%s%s", prefix, fields[i][0]);
		if (sb_set(obj, key, has ? json_string(fields[i][1]) : json_null()) != 0)
			return -1;
	}
	snprintf(key, sizeof(key), "%sdriver_photo_url", prefix);
	return sb_set(obj, key, json_null());
}

static json_t *ship_history(const struct sb_shipment *s, bool tracking)
{
	json_t *arr = json_array();
	char at[SB_ISO_LEN + 1];
	for (unsigned i = 0; arr && i < s->n_history; i++) {
		const struct sb_ship_step *h = &s->history[i];
		json_t *e;
		sb_time_iso(h->ms, at);
		e = tracking ? json_pack("{s:s, s:s, s:s, s:s}", "note", sb_ship_notes[h->status], "service_type",
					 s->type, "updated_at", at, "status", sb_ship_words[h->status])
			     : json_pack("{s:s, s:s}", "status", sb_ship_words[h->status], "at", at);
		if (json_array_append_new(arr, e) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* origin or destination of an order, from the create body. */
static json_t *ship_place(const struct sb_shipment *s, const char *prefix, bool full)
{
	char key[48];
	json_t *o = json_object();
	static const char *const fields[] = { "contact_name", "contact_phone", "address", "postal_code", "note" };
	for (size_t i = 0; o && i < (full ? 5u : 3u); i++) {
		json_t *v;
		if (!full && i == 1)
			continue;
		snprintf(key, sizeof(key), "%s%s", prefix, fields[i]);
		v = json_object_get(s->request, key);
		if (sb_set(o, fields[i], v ? json_incref(v) : json_null()) != 0) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

/* The order as /v1/orders answers it. A new reference, or NULL when out of memory. */
static json_t *ship_order_json(const struct sandbox *sb, const struct sb_shipment *s, const char *message)
{
	json_t *courier = json_pack("{s:s, s:o, s:s, s:s, s:o, s:o}", "tracking_id", s->tracking_id, "waybill_id",
				    str_or_null(s->waybill), "company", s->company, "type", s->type, "link",
				    ship_link(sb, s), "history", ship_history(s, false));
	json_t *items = json_object_get(s->request, "items");
	json_t *j;
	if (!courier || ship_driver(s, courier, "") != 0) {
		json_decref(courier);
		return NULL;
	}
	j = json_pack("{s:b, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:{s:s, s:I, s:s}, s:O, s:I, s:s, s:s}", "success",
		      1, "message", message, "object", "order", "id", s->id, "reference_id", str_or_null(s->ref),
		      "origin", ship_place(s, "origin_", true), "destination", ship_place(s, "destination_", true),
		      "courier", courier, "delivery", "type", "now", "distance", (json_int_t)s->km, "distance_unit",
		      "kilometer", "items", items, "price", (json_int_t)s->price, "currency", "IDR", "status",
		      sb_ship_words[s->status]);
	if (j && s->cancel_reason && sb_set(j, "cancellation_reason", json_string(s->cancel_reason)) != 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* The shipment as /simulate/shipments shows it. */
static json_t *ship_sim_json(const struct sb_shipment *s)
{
	char created[SB_ISO_LEN + 1], updated[SB_ISO_LEN + 1];
	sb_time_iso(s->created_ms, created);
	sb_time_iso(s->updated_ms, updated);
	return json_pack("{s:s, s:o, s:s, s:o, s:s, s:s, s:s, s:I, s:I, s:b, s:s, s:s, s:o, "
			 "s:{s:i, s:i, s:i, s:i, s:i}}",
			 "id", s->id, "reference_id", str_or_null(s->ref), "tracking_id", s->tracking_id, "waybill_id",
			 str_or_null(s->waybill), "courier_company", s->company, "courier_type", s->type, "status",
			 sb_ship_words[s->status], "price", (json_int_t)s->price, "distance_km", (json_int_t)s->km,
			 "manual", s->manual, "created", created, "updated", updated, "history",
			 ship_history(s, false), "notifications", "queued", (int)s->box.queued, "held",
			 (int)s->box.held_n, "delivered", (int)s->box.delivered, "given_up", (int)s->box.given_up,
			 "dropped", (int)s->box.dropped);
}

/* --- webhooks --------------------------------------------------------------------------------- */

/* The webhook URL; the wrong_signature fault spoils its token ("token=X" -> "token=not-X"). */
static void ship_note_url(const struct sandbox *sb, const struct sb_effect *fx, char out[SB_NOTE_URL_MAX])
{
	const char *t = strstr(sb->notify_biteship, "token=");
	if (!fx->wrong_signature || !t) {
		snprintf(out, SB_NOTE_URL_MAX, "%s", sb->notify_biteship);
		return;
	}
	t += strlen("token=");
	snprintf(out, SB_NOTE_URL_MAX, "%.*snot-%s", (int)(t - sb->notify_biteship), sb->notify_biteship, t);
}

/*
 * Posts one webhook of the shipment: order.status, order.waybill_id or
 * order.price, with the faults of its scope.
 */
static void ship_notify(struct sandbox *sb, struct sb_shipment *s, const char *event)
{
	struct sb_effect fx;
	const char *ids[3];
	char url[SB_NOTE_URL_MAX], what[SB_SHIP_WHAT_MAX];
	struct sb_note_spec spec = { .url = url, .what = what, .ref = s->id, .fx = &fx };
	int64_t price;
	sb_shipment_ids(s, ids);
	sb_faults_effect(sb, ids, 3, &fx);
	ship_note_url(sb, &fx, url);
	price = s->price + fx.amount_delta;
	snprintf(what, sizeof(what), "biteship %s %s", event, sb_ship_words[s->status]);
	spec.body = json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:o, s:I, s:s}", "event", event, "order_id", s->id,
			      "courier_tracking_id", s->tracking_id, "courier_waybill_id", str_or_null(s->waybill),
			      "courier_company", s->company, "courier_type", s->type, "courier_link",
			      ship_link(sb, s), "order_price", (json_int_t)price, "status", sb_ship_words[s->status]);
	if (spec.body && (ship_driver(s, spec.body, "courier_") != 0 ||
			  (strcmp(event, "order.price") == 0 &&
			   (sb_set(spec.body, "shippment_fee", json_integer(price)) != 0 ||
			    sb_set(spec.body, "proof_of_delivery_fee", json_integer(0)) != 0 ||
			    sb_set(spec.body, "cash_on_delivery_fee", json_integer(0)) != 0)))) {
		json_decref(spec.body);
		spec.body = NULL;
	}
	(void)sb_note_post(sb, &s->box, &spec);
}

/* --- the walk --------------------------------------------------------------------------------- */

static void ship_arm(struct sandbox *sb, struct sb_shipment *s)
{
	struct timeval tv = { .tv_sec = sb->ship_step_ms / 1000, .tv_usec = (sb->ship_step_ms % 1000) * 1000 };
	if (!s->manual && s->status < SB_SHIP_DELIVERED)
		evtimer_add(s->timer, &tv);
	else
		event_del(s->timer);
}

/*
 * Moves a shipment to `st` and sends its webhooks: order.status, and
 * order.waybill_id the first time a courier is allocated. Returns 0 or -1
 * (no entropy for the waybill; nothing changed).
 */
static int ship_move(struct sandbox *sb, struct sb_shipment *s, enum sb_ship_status st)
{
	bool new_waybill = false;
	if (ship_has_courier(st) && !s->waybill[0]) {
		char digits[SB_WAYBILL_DIGITS + 1];
		if (sb_digits(digits, SB_WAYBILL_DIGITS) != 0)
			return -1;
		snprintf(s->waybill, sizeof(s->waybill), "SBX%s", digits);
		new_waybill = true;
	}
	s->status = st;
	s->updated_ms = sb_now_ms();
	if (s->n_history < SB_SHIP_HISTORY_MAX)
		s->history[s->n_history++] = (struct sb_ship_step){ st, s->updated_ms };
	log_msg(LOG_INFO, "sandbox", "shipment %s (%s) is now %s", s->id, s->ref, sb_ship_words[st]);
	ship_notify(sb, s, "order.status");
	if (new_waybill)
		ship_notify(sb, s, "order.waybill_id");
	ship_arm(sb, s);
	return 0;
}

static void ship_step(evutil_socket_t fd, short events, void *arg)
{
	struct sb_shipment *s = arg;
	(void)fd;
	(void)events;
	if (!s->manual && s->status < SB_SHIP_DELIVERED && ship_move(s->sb, s, s->status + 1) != 0)
		ship_arm(s->sb, s);   /* no entropy this time: try again at the next step */
}

/* --- reading requests --------------------------------------------------------------------------- */

/*
 * A coordinate member as millionths of a degree. jansson keeps JSON reals
 * as doubles: this is the one place the sandbox touches a float, rounded
 * to an integer at once. Returns false (with chk failed) when absent or
 * out of range.
 */
static bool read_coord(struct body_check *chk, const json_t *obj, const char *key, int32_t limit, int32_t *out)
{
	json_t *v = json_object_get(obj, key);
	double d;
	if (!json_is_number(v)) {
		body_fail(chk, key, "must be a number");
		return false;
	}
	d = json_number_value(v) * 1e6;
	if (!(d >= -(double)limit * 1e6 && d <= (double)limit * 1e6)) {
		body_fail(chk, key, "is out of range");
		return false;
	}
	*out = (int32_t)(d < 0 ? d - 0.5 : d + 0.5);
	return true;
}

/* A place's coordinates, flat ("<prefix>latitude") or nested ("<prefix>coordinate"). OUT: lat, lng. */
static bool read_place_coords(struct body_check *chk, const json_t *body, const char *prefix, bool nested,
			      int32_t *lat, int32_t *lng)
{
	char k1[48], k2[48];
	const json_t *obj = body;
	if (nested) {
		snprintf(k1, sizeof(k1), "%scoordinate", prefix);
		obj = json_object_get(body, k1);
		if (!obj)
			return false;
		if (!json_is_object(obj)) {
			body_fail(chk, k1, "must be an object");
			return false;
		}
		return read_coord(chk, obj, "latitude", 90, lat) && read_coord(chk, obj, "longitude", 180, lng);
	}
	snprintf(k1, sizeof(k1), "%slatitude", prefix);
	snprintf(k2, sizeof(k2), "%slongitude", prefix);
	if (!json_object_get(body, k1) && !json_object_get(body, k2))
		return false;
	return read_coord(chk, body, k1, 90, lat) && read_coord(chk, body, k2, 180, lng);
}

/*
 * The route's length in whole km (at least 1, at most SB_SHIP_KM_MAX):
 * from both places' coordinates when given, else from the postal codes'
 * difference (1 + |a - b| / 10, a stand-in). OUT: *km, *coords.
 */
static void read_route(struct body_check *chk, const json_t *body, bool nested, int64_t *km, bool *coords)
{
	int32_t lat1 = 0, lng1 = 0, lat2 = 0, lng2 = 0;
	int64_t m, a, b;
	bool o = read_place_coords(chk, body, "origin_", nested, &lat1, &lng1);
	bool d = read_place_coords(chk, body, "destination_", nested, &lat2, &lng2);
	*coords = o && d;
	if (*coords && courier_distance_m(lat1, lng1, lat2, lng2, &m) == COURIER_OK) {
		*km = m <= 1000 ? 1 : (m + 999) / 1000;
	} else {
		a = body_int(chk, body, "origin_postal_code", false, 0, SB_POSTAL_MAX, 0);
		b = body_int(chk, body, "destination_postal_code", false, 0, SB_POSTAL_MAX, 0);
		if (!chk->failed && (!a || !b))
			body_fail(chk, "origin_postal_code", "and destination_postal_code (or both coordinates) are required");
		*km = 1 + (a > b ? a - b : b - a) / 10;
	}
	if (*km > SB_SHIP_KM_MAX)
		*km = SB_SHIP_KM_MAX;
}

/* items[]: 1..50 of {name, weight (g), quantity, value}. OUT: *grams, the total weight. */
static void read_items(struct body_check *chk, const json_t *body, int64_t *grams)
{
	json_t *items = json_object_get(body, "items");
	size_t i;
	json_t *it;
	*grams = 0;
	if (!json_is_array(items) || json_array_size(items) < 1 || json_array_size(items) > SB_SHIP_ITEMS_MAX) {
		body_fail(chk, "items", "must be an array of 1 to 50 items");
		return;
	}
	json_array_foreach(items, i, it) {
		int64_t w, q;
		if (!json_is_object(it)) {
			body_fail(chk, "items", "must hold objects");
			return;
		}
		(void)body_str(chk, it, "name", true, 1, SB_SHIP_TEXT_MAX);
		(void)body_int(chk, it, "value", false, 0, SB_SHIP_PRICE_MAX * 10, 0);
		w = body_int(chk, it, "weight", true, 1, SB_SHIP_WEIGHT_MAX, 1);
		q = body_int(chk, it, "quantity", false, 1, SB_SHIP_QTY_MAX, 1);
		*grams += w * q;  /* at most 50 * 10^6 * 10^4: fits */
	}
}

/* The price of a service over km for grams, or -1 when it does not take the route. */
static int64_t service_price(const struct sb_service *svc, int64_t km, int64_t grams, bool coords)
{
	int64_t kg = grams <= 1000 ? 1 : (grams + 999) / 1000;
	if (svc->instant && (!coords || km > SB_INSTANT_KM_MAX || kg > SB_INSTANT_KG_MAX))
		return -1;
	return svc->base + svc->per_km * km + svc->per_kg * (kg - 1);
}

/* Whether `code` is one of the comma-separated codes. */
static bool code_listed(const char *list, const char *code)
{
	size_t n = strlen(code);
	for (const char *p = list; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, code, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

/* --- the API -------------------------------------------------------------------------------- */

void sb_bs_rates(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp)
{
	struct body_check chk = { 0 };
	const char *couriers;
	int64_t km = 0, grams = 0;
	bool coords = false;
	json_t *pricing;
	(void)sb;
	if (!call->json)
		body_fail(&chk, "body", "must be a JSON object");
	couriers = body_str(&chk, call->json, "couriers", true, 1, SB_COURIERS_TEXT_MAX);
	read_route(&chk, call->json, false, &km, &coords);
	read_items(&chk, call->json, &grams);
	if (chk.failed) {
		sb_resp_invalid(resp, SB_KIND_BITESHIP, &chk);
		return;
	}
	pricing = json_array();
	for (size_t i = 0; pricing && i < sizeof(sb_services) / sizeof(sb_services[0]); i++) {
		const struct sb_service *svc = &sb_services[i];
		int64_t price = service_price(svc, km, grams, coords);
		if (price < 0 || !code_listed(couriers, svc->company))
			continue;
		if (json_array_append_new(
			    pricing,
			    json_pack("{s:[s], s:b, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, "
				      "s:s}",
				      "available_collection_method", "pickup", "available_for_cash_on_delivery", 0,
				      "company", svc->company, "courier_name", svc->courier_name, "courier_code",
				      svc->company, "courier_service_name", svc->service_name, "courier_service_code",
				      svc->type, "currency", "IDR", "description", svc->service_name, "duration",
				      svc->duration, "shipment_duration_range", svc->range, "shipment_duration_unit",
				      svc->unit, "service_type", svc->instant ? "same_day" : "standard",
				      "shipping_type", "parcel", "shipping_fee", (json_int_t)price, "price",
				      (json_int_t)price, "type", svc->type)) != 0) {
			json_decref(pricing);
			pricing = NULL;
		}
	}
	if (!pricing) {
		sb_resp_error(resp, SB_KIND_BITESHIP, 500, NULL, "Out of memory");
		return;
	}
	sb_resp_json(resp, 200, json_pack("{s:b, s:s, s:s, s:i, s:{s:I}, s:o}", "success", 1, "object",
					  "courier_pricing", "message", "Success to retrieve courier pricing", "code",
					  20001003, "route", "distance_km", (json_int_t)km, "pricing", pricing));
}

/* Checks the order body. OUT: *svc, *km, *price. */
static void create_check(struct body_check *chk, const json_t *body, const struct sb_service **svc, int64_t *km,
			 int64_t *price)
{
	static const char *const required[] = { "origin_contact_name", "origin_contact_phone", "origin_address",
						 "destination_contact_name", "destination_contact_phone",
						 "destination_address" };
	const char *company, *type, *ref;
	int64_t grams = 0;
	bool coords = false;
	*svc = NULL;
	if (!body)
		body_fail(chk, "body", "must be a JSON object");
	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		(void)body_str(chk, body, required[i], true, 1,
			       strstr(required[i], "phone") ? SB_SHIP_PHONE_MAX : SB_SHIP_TEXT_MAX);
	(void)body_str(chk, body, "order_note", false, 0, SB_SHIP_TEXT_MAX);
	ref = body_str(chk, body, "reference_id", false, 1, SB_ID_MAX);
	if (ref && !sb_id_valid(ref))
		body_fail(chk, "reference_id", "may hold only letters, digits and -_.~:@#");
	company = body_str(chk, body, "courier_company", true, 1, SB_SHIP_CODE_MAX);
	type = body_str(chk, body, "courier_type", true, 1, SB_SHIP_CODE_MAX);
	read_route(chk, body, true, km, &coords);
	read_items(chk, body, &grams);
	if (chk->failed)
		return;
	for (size_t i = 0; i < sizeof(sb_services) / sizeof(sb_services[0]) && !*svc; i++)
		if (strcmp(sb_services[i].company, company) == 0 && strcmp(sb_services[i].type, type) == 0)
			*svc = &sb_services[i];
	*price = *svc ? service_price(*svc, *km, grams, coords) : -1;
	if (*price < 0)
		body_fail(chk, "courier_type", "is not available for this route and these goods");
}

/* Gives a new shipment its ids, timer and map entries. Returns 0 or -1 (out of memory or entropy; none kept). */
static int ship_register(struct sandbox *sb, struct sb_shipment *s)
{
	if (ship_hex_id(s->id) != 0 || ship_hex_id(s->tracking_id) != 0)
		return -1;
	s->timer = evtimer_new(sb->base, ship_step, s);
	if (!s->timer || sbmap_put(sb->ship_ids, s->id, s) != SBMAP_OK)
		return -1;
	if (sbmap_put(sb->ship_tracking, s->tracking_id, s) != SBMAP_OK ||
	    (s->ref[0] && sbmap_put(sb->ship_refs, s->ref, s) != SBMAP_OK)) {
		sbmap_del(sb->ship_ids, s->id);
		sbmap_del_if(sb->ship_tracking, s->tracking_id, s);
		return -1;
	}
	return 0;
}

/* Links a registered shipment in, reads its faults and confirms it (webhook included). */
static void ship_start(struct sandbox *sb, struct sb_shipment *s)
{
	const char *ids[3];
	struct sb_effect fx;
	s->older = sb->ships_newest;
	if (sb->ships_newest)
		sb->ships_newest->newer = s;
	else
		sb->ships_oldest = s;
	sb->ships_newest = s;
	sb->n_ships++;
	sb_shipment_ids(s, ids);
	sb_faults_effect(sb, ids, 3, &fx);
	s->manual = sb->ship_step_ms == 0 || fx.shipment_manual;
	s->created_ms = sb_now_ms();
	/* confirmed has no courier yet, so this move needs no entropy and cannot fail. */
	(void)ship_move(sb, s, SB_SHIP_CONFIRMED);
}

void sb_bs_create(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp)
{
	struct body_check chk = { 0 };
	const struct sb_service *svc;
	const char *ref;
	struct sb_shipment *s, *old;
	int64_t km = 0, price = 0;
	create_check(&chk, call->json, &svc, &km, &price);
	if (chk.failed) {
		sb_resp_invalid(resp, SB_KIND_BITESHIP, &chk);
		return;
	}
	ref = json_string_value(json_object_get(call->json, "reference_id"));
	old = ref ? sbmap_get(sb->ship_refs, ref) : NULL;
	if (old) {
		/* reference_id makes a repeat the same order, shown as it is now. */
		sb_resp_json(resp, 200, ship_order_json(sb, old, "Order successfully created"));
		return;
	}
	if (sb->n_ships >= SB_SHIPMENTS_MAX)
		ships_evict(sb);
	s = calloc(1, sizeof(*s));
	if (!s) {
		sb_resp_error(resp, SB_KIND_BITESHIP, 500, NULL, "Out of memory");
		return;
	}
	s->sb = sb;
	s->km = km;
	s->price = price;
	s->request = json_incref(call->json);
	snprintf(s->ref, sizeof(s->ref), "%s", ref ? ref : "");
	snprintf(s->company, sizeof(s->company), "%s", svc->company);
	snprintf(s->type, sizeof(s->type), "%s", svc->type);
	if (ship_register(sb, s) != 0) {
		if (s->timer)
			event_free(s->timer);
		json_decref(s->request);
		free(s);
		sb_resp_error(resp, SB_KIND_BITESHIP, 500, NULL, "Internal server error");
		return;
	}
	ship_start(sb, s);
	sb_resp_json(resp, 200, ship_order_json(sb, s, "Order successfully created"));
}

static void not_found(struct sb_resp *resp)
{
	sb_resp_error(resp, SB_KIND_BITESHIP, 404, NULL, "Order not found");
}

void sb_bs_get(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp)
{
	struct sb_shipment *s = sb_shipment_find(sb, call->arg);
	if (!s) {
		not_found(resp);
		return;
	}
	sb_resp_json(resp, 200, ship_order_json(sb, s, "Order successfully retrieved"));
}

void sb_bs_cancel(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp)
{
	struct body_check chk = { 0 };
	struct sb_shipment *s = sb_shipment_find(sb, call->arg);
	const char *reason = body_str(&chk, call->json, "cancellation_reason", false, 1, SB_SHIP_TEXT_MAX);
	char msg[96];
	if (chk.failed) {
		sb_resp_invalid(resp, SB_KIND_BITESHIP, &chk);
		return;
	}
	if (!s) {
		not_found(resp);
		return;
	}
	if (!ship_cancellable(s->status)) {
		snprintf(msg, sizeof(msg), "Order can no longer be cancelled: it is %s", sb_ship_words[s->status]);
		sb_resp_error(resp, SB_KIND_BITESHIP, 400, NULL, msg);
		return;
	}
	free(s->cancel_reason);
	s->cancel_reason = reason ? strdup(reason) : NULL;
	s->manual = true;
	(void)ship_move(sb, s, SB_SHIP_CANCELLED);   /* cancelled needs no waybill: cannot fail */
	sb_resp_json(resp, 200, ship_order_json(sb, s, "Order successfully cancelled"));
}

void sb_bs_tracking(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp)
{
	struct sb_shipment *s = sb_shipment_find(sb, call->arg);
	json_t *courier, *j;
	if (!s) {
		sb_resp_error(resp, SB_KIND_BITESHIP, 404, NULL, "Tracking not found");
		return;
	}
	courier = json_pack("{s:s}", "company", s->company);
	if (courier && ship_driver(s, courier, "") != 0) {
		json_decref(courier);
		courier = NULL;
	}
	j = json_pack("{s:b, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:s, s:s}", "success", 1, "message",
		      "Successfully get tracking info", "object", "tracking", "id", s->tracking_id, "waybill_id",
		      str_or_null(s->waybill), "courier", courier, "origin", ship_place(s, "origin_", false),
		      "destination", ship_place(s, "destination_", false), "history", ship_history(s, true), "link",
		      ship_link(sb, s), "order_id", s->id, "status", sb_ship_words[s->status]);
	sb_resp_json(resp, 200, j);
}

/* --- test controls ---------------------------------------------------------------------------- */

void sb_bs_simulate(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp)
{
	struct body_check chk = { 0 };
	struct sb_shipment *s = sb_shipment_find(sb, call->arg);
	const char *word = body_str(&chk, call->json, "status", false, 1, 32);
	int64_t price = body_int(&chk, call->json, "price", false, 0, SB_SHIP_PRICE_MAX, -1);
	int st = -1;
	for (int i = 0; word && i < SB_SHIP_STATUS_COUNT; i++)
		if (strcmp(sb_ship_words[i], word) == 0)
			st = i;
	if (word && st < 0)
		body_fail(&chk, "status", "is not one of Biteship's 14 statuses");
	if (!chk.failed && !word && price < 0)
		body_fail(&chk, "body", "needs status or price");
	if (chk.failed) {
		sb_resp_invalid(resp, SB_KIND_OPEN, &chk);
		return;
	}
	if (!s) {
		sb_resp_error(resp, SB_KIND_OPEN, 404, "not_found", "No shipment has this id");
		return;
	}
	/* Moved by hand, it stays where it is put. */
	s->manual = true;
	event_del(s->timer);
	if (price >= 0) {
		s->price = price;
		ship_notify(sb, s, "order.price");
	}
	if (st >= 0 && ship_move(sb, s, (enum sb_ship_status)st) != 0) {
		sb_resp_error(resp, SB_KIND_OPEN, 500, "internal", "Internal server error");
		return;
	}
	sb_resp_json(resp, 200, ship_sim_json(s));
}

void sb_bs_list(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp)
{
	json_t *list = json_array();
	(void)call;
	for (const struct sb_shipment *s = sb->ships_oldest; list && s; s = s->newer) {
		if (json_array_append_new(list, ship_sim_json(s)) != 0) {
			json_decref(list);
			list = NULL;
		}
	}
	if (!list) {
		sb_resp_error(resp, SB_KIND_OPEN, 500, "internal", "Out of memory");
		return;
	}
	sb_resp_json(resp, 200, json_pack("{s:o}", "shipments", list));
}

void sb_bs_show(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp)
{
	struct sb_shipment *s = sb_shipment_find(sb, call->arg);
	if (!s) {
		sb_resp_error(resp, SB_KIND_OPEN, 404, "not_found", "No shipment has this id");
		return;
	}
	sb_resp_json(resp, 200, ship_sim_json(s));
}
