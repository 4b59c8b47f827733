/*
 * biteship: the Biteship API (shared/reference/courier.md section 1), used
 * by two modules: "biteship" (api.biteship.com) and "sandbox" (the same
 * protocol of the bangsoleh-sandbox program on loopback).
 *
 *   POST /v1/rates/couriers      postal codes, coordinates when known, the
 *                                configured couriers, items (grams)
 *   POST /v1/orders              reference_id = our shipment id, also the
 *                                Idempotency-Key, so it is retried
 *   POST /v1/orders/{id}/cancel  cancellation_reason_code and _reason; not
 *                                retried
 *   GET  /v1/trackings/{id}      tracking by the courier's tracking_id (of
 *                                the create answer or a webhook); its
 *                                order_id must be our provider_id
 *   GET  /v1/orders/{id}         tracking by the order id while no
 *                                tracking_id is known
 *
 * The raw key goes in `authorization`. Answers carry `success`: an HTTP 400
 * or 422 with success false refuses the request itself (COURIER_EREFUSED),
 * unless its code is one of our key's; any other error answer, or success
 * false with another status, is COURIER_EPROVIDER (a wrong key: not the
 * request's fault, so a create is tried again).
 * Coordinates are JSON numbers: they are written as decimal text from
 * millionths of a degree, so no float is ever made.
 *
 * Webhooks (order.status, order.price, order.waybill_id) are flat JSON
 * verified by the `token` query parameter of the URL registered at the
 * provider.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "courier_gw.h"

#define BS_COORD_TEXT_MAX 16       /* "-180.000000" and the NUL */
#define BS_RAW_MAX 256             /* the coordinate members appended to a body */
#define BS_ERROR_TEXT_MAX 160      /* of a provider's error message, quoted in ours */
#define BS_DEFAULT_REASON "cancelled by the merchant"
/*
 * cancellation_reason_code: the reference names the field, not its values
 * (Biteship lists them at GET /v1/orders/cancellation_reasons); "others" is
 * the code the unofficial SDK hsib19/biteship-api-node sends in its tests.
 */
#define BS_REASON_CODE "others"

/* --- requests ------------------------------------------------------------ */

/* Millionths of a degree as a JSON number, e.g. -224500 -> "-0.224500". */
static void bs_coord_text(int32_t e6, char out[BS_COORD_TEXT_MAX])
{
	int64_t v = e6;
	const char *sign = v < 0 ? "-" : "";
	if (v < 0)
		v = -v;
	snprintf(out, BS_COORD_TEXT_MAX, "%s%lld.%06lld", sign, (long long)(v / 1000000), (long long)(v % 1000000));
}

/*
 * Appends the coordinates of a place to raw (members text, each preceded
 * by a comma): "<prefix>latitude" and "<prefix>longitude" flat, or an
 * object "<prefix>coordinate" {latitude, longitude}. Returns false when
 * it does not fit.
 */
static bool bs_coords(char *raw, size_t cap, const struct courier_place *p, const char *prefix, bool nested)
{
	char lat[BS_COORD_TEXT_MAX], lng[BS_COORD_TEXT_MAX];
	size_t n = strlen(raw);
	if (!p->has_coords)
		return true;
	bs_coord_text(p->lat_e6, lat);
	bs_coord_text(p->lng_e6, lng);
	if (nested)
		return gw_format(raw + n, cap - n, ",\"%scoordinate\":{\"latitude\":%s,\"longitude\":%s}", prefix, lat,
				 lng);
	return gw_format(raw + n, cap - n, ",\"%slatitude\":%s,\"%slongitude\":%s", prefix, lat, prefix, lng);
}

/*
 * The body text: obj serialised, with the coordinate members of both
 * places added before its closing brace. OUT: *out (malloc'd, the caller
 * frees). Returns 0, COURIER_EINVAL or COURIER_ENOMEM.
 */
static int bs_body(json_t *obj, const struct courier_place *origin, const struct courier_place *dest, bool nested,
		   char **out)
{
	char raw[BS_RAW_MAX] = "";
	char *text, *joined;
	size_t tlen, rlen;
	if (!bs_coords(raw, sizeof(raw), origin, "origin_", nested) ||
	    !bs_coords(raw, sizeof(raw), dest, "destination_", nested))
		return COURIER_EINVAL;
	text = json_dumps(obj, JSON_COMPACT);
	if (!text)
		return COURIER_ENOMEM;
	tlen = strlen(text);
	rlen = strlen(raw);
	joined = malloc(tlen + rlen + 1);
	if (!joined) {
		free(text);
		return COURIER_ENOMEM;
	}
	/* obj is a non-empty object: its text ends in '}', and raw starts with a comma. */
	memcpy(joined, text, tlen - 1);
	memcpy(joined + tlen - 1, raw, rlen);
	memcpy(joined + tlen - 1 + rlen, "}", 2);
	free(text);
	*out = joined;
	return COURIER_OK;
}

/* A postal code (1..COURIER_POSTAL_MAX digits, checked) as the number Biteship takes. */
static json_int_t bs_postal(const char *s)
{
	json_int_t v = 0;
	for (; *s; s++)
		v = v * 10 + (*s - '0');
	return v;
}

/* Sets obj[key] = val (stolen). Returns false when val is NULL or the set fails. */
static bool bs_set(json_t *obj, const char *key, json_t *val)
{
	return val && json_object_set_new(obj, key, val) == 0;
}

/* items[] of Biteship: name, value, quantity, weight in grams. NULL when out of memory. */
static json_t *bs_items(const struct courier_item *items, size_t n)
{
	json_t *arr = json_array();
	for (size_t i = 0; arr && i < n; i++) {
		if (json_array_append_new(arr, json_pack("{s:s, s:I, s:I, s:I}", "name", items[i].name, "value",
							 (json_int_t)items[i].value, "quantity",
							 (json_int_t)items[i].qty, "weight",
							 (json_int_t)items[i].weight_g)) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/* --- answers ------------------------------------------------------------- */

/*
 * Error codes that come with HTTP 400 yet are about our account, not the
 * request: 40000001 (the auth codes of shared/reference/courier.md 1.1) and
 * the create's key errors 40002001-40002003 ("API Key is not found", "Key
 * has not been activated", "an error with your authentication key";
 * https://biteship.com/en/docs/api/orders/error).
 */
static bool bs_account_code(json_t *code)
{
	static const json_int_t codes[] = { 40000001, 40002001, 40002002, 40002003 };
	for (size_t i = 0; json_is_integer(code) && i < sizeof(codes) / sizeof(codes[0]); i++)
		if (json_integer_value(code) == codes[i])
			return true;
	return false;
}

/*
 * The common part of every answer: the HTTP status and `success`. Refusals
 * quote the provider's `error` (or `message`) and `code`.
 */
static int bs_answer(struct courier_call *call, long http_status, json_t *body)
{
	json_t *success = body ? json_object_get(body, "success") : NULL;
	json_t *code = body ? json_object_get(body, "code") : NULL;
	const char *msg = NULL;
	if (body) {
		msg = gw_json_peek(body, "error", BS_ERROR_TEXT_MAX);
		if (!msg)
			msg = gw_json_peek(body, "message", BS_ERROR_TEXT_MAX);
	}
	if (http_status < 200 || http_status > 299 || json_is_false(success)) {
		gw_format(call->err, sizeof(call->err), "%s: HTTP %ld, code %lld: %s", call->module, http_status,
			  json_is_integer(code) ? (long long)json_integer_value(code) : 0LL, msg ? msg : "");
		return (http_status == 400 || http_status == 422) && json_is_false(success) && !bs_account_code(code)
			       ? COURIER_EREFUSED
			       : COURIER_EPROVIDER;
	}
	if (!body) {
		gw_format(call->err, sizeof(call->err), "%s: the answer is not a JSON object", call->module);
		return COURIER_EMALFORMED;
	}
	return COURIER_OK;
}

/* A courier or service code as a provider writes it: [a-z0-9_-], at most COURIER_CODE_MAX. */
static int bs_code(json_t *obj, const char *key, char *out, struct courier_call *call)
{
	if (gw_json_str(obj, key, out, COURIER_CODE_MAX + 1, call->err, sizeof(call->err)) != PAY_OK)
		return COURIER_EMALFORMED;
	if (strspn(out, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(out)) {
		gw_format(call->err, sizeof(call->err), "%s: %s is not a courier code", call->module, key);
		return COURIER_EMALFORMED;
	}
	return COURIER_OK;
}

/* One pricing[] entry. */
static int bs_rate(struct courier_call *call, json_t *p, struct courier_rate *r)
{
	if (!json_is_object(p) || bs_code(p, "courier_code", r->courier_code, call) != COURIER_OK ||
	    bs_code(p, "courier_service_code", r->service_code, call) != COURIER_OK ||
	    gw_json_str(p, "courier_name", r->courier_name, sizeof(r->courier_name), call->err,
			sizeof(call->err)) != PAY_OK ||
	    gw_json_str(p, "courier_service_name", r->service_name, sizeof(r->service_name), call->err,
			sizeof(call->err)) != PAY_OK ||
	    courier_json_opt(p, "duration", r->duration, sizeof(r->duration), call->err, sizeof(call->err)) !=
		    COURIER_OK)
		return COURIER_EMALFORMED;
	if (courier_json_price(p, "price", &r->price) != COURIER_OK) {
		gw_format(call->err, sizeof(call->err), "%s: a price is not whole rupiah", call->module);
		return COURIER_EMALFORMED;
	}
	return COURIER_OK;
}

/* pricing[]: at most COURIER_RATES_MAX entries are read; more are left out (and logged by count). */
static int bs_read_rates(struct courier_call *call, long http_status, json_t *body, union courier_result *out)
{
	struct courier_rates_res *res = &out->rates;
	json_t *pricing;
	int rc = bs_answer(call, http_status, body);
	if (rc != COURIER_OK)
		return rc;
	pricing = json_object_get(body, "pricing");
	if (!json_is_array(pricing)) {
		gw_format(call->err, sizeof(call->err), "%s: the answer has no pricing[]", call->module);
		return COURIER_EMALFORMED;
	}
	for (size_t i = 0; i < json_array_size(pricing) && res->n < COURIER_RATES_MAX; i++) {
		rc = bs_rate(call, json_array_get(pricing, i), &res->rates[res->n]);
		if (rc != COURIER_OK)
			return rc;
		res->n++;
	}
	return COURIER_OK;
}

/*
 * A tracking id the answer may give (absent, null, or one we cannot put in
 * a path: "", so tracking falls back to the order). Returns 0 or
 * COURIER_EMALFORMED (not a string of printable bytes that fits).
 */
static int bs_tracking_id(json_t *obj, const char *key, char out[COURIER_ID_MAX + 1], struct courier_call *call)
{
	if (courier_json_opt(obj, key, out, COURIER_ID_MAX + 1, call ? call->err : NULL,
			     call ? sizeof(call->err) : 0) != COURIER_OK)
		return COURIER_EMALFORMED;
	if (out[0] && !gw_id_ok(out))
		out[0] = '\0';
	return COURIER_OK;
}

/* The driver of an answer's courier{} (absent or null: none told). */
static int bs_courier_fields(struct courier_call *call, json_t *courier, struct courier_ship_res *res)
{
	if (!courier || json_is_null(courier))
		return COURIER_OK;
	if (!json_is_object(courier)) {
		gw_format(call->err, sizeof(call->err), "%s: courier is not an object", call->module);
		return COURIER_EMALFORMED;
	}
	if (courier_json_opt(courier, "driver_name", res->driver_name, sizeof(res->driver_name), call->err,
			     sizeof(call->err)) != COURIER_OK ||
	    courier_json_opt(courier, "driver_phone", res->driver_phone, sizeof(res->driver_phone), call->err,
			     sizeof(call->err)) != COURIER_OK ||
	    courier_json_opt(courier, "driver_plate_number", res->plate, sizeof(res->plate), call->err,
			     sizeof(call->err)) != COURIER_OK)
		return COURIER_EMALFORMED;
	return COURIER_OK;
}

/* The status word of an answer as our state. */
static int bs_status(struct courier_call *call, json_t *body, enum ship_state *out)
{
	if (ship_state_from_provider(gw_json_peek(body, "status", GW_STATUS_MAX), out) != COURIER_OK) {
		gw_format(call->err, sizeof(call->err), "%s: unknown order status", call->module);
		return COURIER_EMALFORMED;
	}
	return COURIER_OK;
}

/*
 * A tracking answer (GET /v1/trackings/{id}): its id is the tracking asked
 * for, its order_id our provider_id; waybill_id and link at the top,
 * the driver in courier{}. history[] is not read: the status is the last.
 */
static int bs_read_tracking(struct courier_call *call, long http_status, json_t *body, union courier_result *out)
{
	struct courier_ship_res *res = &out->ship;
	int rc = bs_answer(call, http_status, body);
	if (rc != COURIER_OK)
		return rc;
	if (gw_json_str(body, "order_id", res->provider_id, sizeof(res->provider_id), call->err,
			sizeof(call->err)) != PAY_OK ||
	    strcmp(res->provider_id, call->provider_id) != 0 ||
	    bs_tracking_id(body, "id", res->tracking_id, call) != COURIER_OK ||
	    (res->tracking_id[0] && strcmp(res->tracking_id, call->tracking_id) != 0)) {
		gw_format(call->err, sizeof(call->err), "%s: the tracking names another order or tracking", call->module);
		return COURIER_EMALFORMED;
	}
	if (!res->tracking_id[0])
		memcpy(res->tracking_id, call->tracking_id, sizeof(res->tracking_id));
	if ((rc = bs_status(call, body, &res->state)) != COURIER_OK)
		return rc;
	if (courier_json_opt(body, "waybill_id", res->waybill, sizeof(res->waybill), call->err, sizeof(call->err)) !=
		    COURIER_OK ||
	    courier_json_opt(body, "link", res->link, sizeof(res->link), call->err, sizeof(call->err)) != COURIER_OK)
		return COURIER_EMALFORMED;
	return bs_courier_fields(call, json_object_get(body, "courier"), res);
}

/* An order answer (create, cancel, get): the order's id, status, courier and price. */
static int bs_read_order(struct courier_call *call, long http_status, json_t *body, union courier_result *out)
{
	struct courier_ship_res *res = &out->ship;
	const char *ref;
	json_t *courier;
	int rc = bs_answer(call, http_status, body);
	if (rc != COURIER_OK)
		return rc;
	if (gw_json_str(body, "id", res->provider_id, sizeof(res->provider_id), call->err, sizeof(call->err)) !=
		    PAY_OK ||
	    !gw_id_ok(res->provider_id) || (call->provider_id[0] && strcmp(res->provider_id, call->provider_id) != 0)) {
		gw_format(call->err, sizeof(call->err), "%s: the answer names no order or another one", call->module);
		return COURIER_EMALFORMED;
	}
	ref = gw_json_peek(body, "reference_id", COURIER_ID_MAX);
	if (call->reference[0] && json_object_get(body, "reference_id") && (!ref || strcmp(ref, call->reference) != 0)) {
		gw_format(call->err, sizeof(call->err), "%s: reference_id is not our shipment id", call->module);
		return COURIER_EMALFORMED;
	}
	if ((rc = bs_status(call, body, &res->state)) != COURIER_OK)
		return rc;
	courier = json_object_get(body, "courier");
	if ((rc = bs_courier_fields(call, courier, res)) != COURIER_OK)
		return rc;
	if (json_is_object(courier) &&
	    (courier_json_opt(courier, "waybill_id", res->waybill, sizeof(res->waybill), call->err,
			      sizeof(call->err)) != COURIER_OK ||
	     courier_json_opt(courier, "link", res->link, sizeof(res->link), call->err, sizeof(call->err)) !=
		     COURIER_OK ||
	     bs_tracking_id(courier, "tracking_id", res->tracking_id, call) != COURIER_OK))
		return COURIER_EMALFORMED;
	if (json_object_get(body, "price") && courier_json_price(body, "price", &res->price) != COURIER_OK) {
		gw_format(call->err, sizeof(call->err), "%s: price is not whole rupiah", call->module);
		return COURIER_EMALFORMED;
	}
	return COURIER_OK;
}

/* --- operations ---------------------------------------------------------- */

/* courier_send with a body text of ours, freed here whatever happens. */
static int bs_send(struct courier_gateway *g, struct courier_call *call, const char *method, const char *path,
		   char *text, const char *const *extra, bool retryable)
{
	int rc = courier_send(g, call, method, path, text, extra, retryable);
	free(text);
	return rc;
}

static int bs_rates(struct courier_gateway *g, const struct courier_rates_req *req, courier_rates_fn done, void *arg)
{
	struct courier_call *call;
	char *text = NULL;
	int rc = COURIER_ENOMEM;
	json_t *body = json_pack("{s:s, s:o}", "couriers", g->couriers, "items", bs_items(req->items, req->nitems));
	if (!body)
		return COURIER_ENOMEM;
	if ((req->origin.postal_code &&
	     !bs_set(body, "origin_postal_code", json_integer(bs_postal(req->origin.postal_code)))) ||
	    (req->destination.postal_code &&
	     !bs_set(body, "destination_postal_code", json_integer(bs_postal(req->destination.postal_code)))))
		goto free_body;
	rc = bs_body(body, &req->origin, &req->destination, false, &text);
	if (rc != COURIER_OK)
		goto free_body;
	rc = courier_call_new(COURIER_CALL_RATES, bs_read_rates, &call);
	if (rc != COURIER_OK) {
		free(text);
		goto free_body;
	}
	call->done.rates = done;
	call->arg = arg;
	/* A quote changes nothing: safe to send again. */
	rc = bs_send(g, call, "POST", "/v1/rates/couriers", text, NULL, true);
free_body:
	json_decref(body);
	return rc;
}

/* The origin_* or destination_* members of an order. Returns false when out of memory. */
static bool bs_place(json_t *body, const char *prefix, const struct courier_place *p)
{
	char key[32];
	snprintf(key, sizeof(key), "%scontact_name", prefix);
	if (!bs_set(body, key, json_string(p->name)))
		return false;
	snprintf(key, sizeof(key), "%scontact_phone", prefix);
	if (!bs_set(body, key, json_string(p->phone)))
		return false;
	snprintf(key, sizeof(key), "%saddress", prefix);
	if (!bs_set(body, key, json_string(p->address)))
		return false;
	snprintf(key, sizeof(key), "%spostal_code", prefix);
	return !p->postal_code || bs_set(body, key, json_integer(bs_postal(p->postal_code)));
}

static int bs_ship(struct courier_gateway *g, const struct courier_ship_req *req, courier_ship_fn done, void *arg)
{
	char idem[COURIER_ID_MAX + 32];
	const char *extra[] = { idem, NULL };
	struct courier_call *call;
	char *text = NULL;
	int rc = COURIER_ENOMEM;
	json_t *body;
	if (!gw_format(idem, sizeof(idem), "Idempotency-Key: %s", req->shipment_id))
		return COURIER_EINVAL;
	body = json_pack("{s:s, s:s, s:s, s:s, s:o}", "reference_id", req->shipment_id, "courier_company",
			 req->courier_code, "courier_type", req->service_code, "delivery_type", "now", "items",
			 bs_items(req->items, req->nitems));
	if (!body)
		return COURIER_ENOMEM;
	if (!bs_place(body, "origin_", &req->origin) || !bs_place(body, "destination_", &req->destination) ||
	    (req->note && !bs_set(body, "order_note", json_string(req->note))))
		goto free_body;
	rc = bs_body(body, &req->origin, &req->destination, true, &text);
	if (rc != COURIER_OK)
		goto free_body;
	rc = courier_call_new(COURIER_CALL_SHIP, bs_read_order, &call);
	if (rc != COURIER_OK) {
		free(text);
		goto free_body;
	}
	call->done.ship = done;
	call->arg = arg;
	memcpy(call->reference, req->shipment_id, strlen(req->shipment_id) + 1);
	/* Retried safely: reference_id and the key make a repeat the same order. */
	rc = bs_send(g, call, "POST", "/v1/orders", text, extra, true);
free_body:
	json_decref(body);
	return rc;
}

/*
 * A call about one order: METHOD /v1/orders/{id}{suffix}, or GET
 * /v1/trackings/{tracking_id} when tracking_id is not NULL.
 */
static int bs_about(struct courier_gateway *g, const char *method, const char *provider_id, const char *tracking_id,
		    const char *suffix, char *text, bool retryable, courier_ship_fn done, void *arg)
{
	char path[COURIER_ID_MAX + 32];
	struct courier_call *call;
	int rc;
	if (!(tracking_id ? gw_format(path, sizeof(path), "/v1/trackings/%s", tracking_id)
			  : gw_format(path, sizeof(path), "/v1/orders/%s%s", provider_id, suffix))) {
		free(text);
		return COURIER_EINVAL;
	}
	rc = courier_call_new(COURIER_CALL_SHIP, tracking_id ? bs_read_tracking : bs_read_order, &call);
	if (rc != COURIER_OK) {
		free(text);
		return rc;
	}
	call->done.ship = done;
	call->arg = arg;
	memcpy(call->provider_id, provider_id, strlen(provider_id) + 1);
	if (tracking_id)
		memcpy(call->tracking_id, tracking_id, strlen(tracking_id) + 1);
	return bs_send(g, call, method, path, text, NULL, retryable);
}

static int bs_cancel(struct courier_gateway *g, const char *provider_id, const char *reason, courier_ship_fn done,
		     void *arg)
{
	json_t *body = json_pack("{s:s, s:s}", "cancellation_reason_code", BS_REASON_CODE, "cancellation_reason",
				 reason ? reason : BS_DEFAULT_REASON);
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!text)
		return COURIER_ENOMEM;
	/* Not retried: an attempt that timed out may have cancelled it; the caller tracks first. */
	return bs_about(g, "POST", provider_id, NULL, "/cancel", text, false, done, arg);
}

static int bs_track(struct courier_gateway *g, const char *provider_id, const char *tracking_id, courier_ship_fn done,
		    void *arg)
{
	return bs_about(g, "GET", provider_id, tracking_id, "", NULL, true, done, arg);
}

/* --- webhooks ------------------------------------------------------------ */

/* The optional courier fields every event may carry. */
static int bs_event_courier(json_t *body, struct courier_event *out)
{
	if (courier_json_opt(body, "courier_waybill_id", out->waybill, sizeof(out->waybill), NULL, 0) != COURIER_OK ||
	    courier_json_opt(body, "courier_link", out->link, sizeof(out->link), NULL, 0) != COURIER_OK ||
	    courier_json_opt(body, "courier_driver_name", out->driver_name, sizeof(out->driver_name), NULL, 0) !=
		    COURIER_OK ||
	    courier_json_opt(body, "courier_driver_phone", out->driver_phone, sizeof(out->driver_phone), NULL, 0) !=
		    COURIER_OK ||
	    courier_json_opt(body, "courier_driver_plate_number", out->plate, sizeof(out->plate), NULL, 0) !=
		    COURIER_OK)
		return COURIER_EMALFORMED;
	return COURIER_OK;
}

/* A known event: order_id, the courier fields, and what the event is about. */
static int bs_event(json_t *body, const char *event, struct courier_event *out)
{
	char value[COURIER_ID_MAX + 1];
	if (gw_json_str(body, "order_id", out->provider_id, sizeof(out->provider_id), NULL, 0) != PAY_OK ||
	    !gw_id_ok(out->provider_id) || bs_event_courier(body, out) != COURIER_OK ||
	    bs_tracking_id(body, "courier_tracking_id", out->tracking_id, NULL) != COURIER_OK)
		return COURIER_EMALFORMED;
	if (strcmp(event, "order.status") == 0) {
		out->kind = COURIER_EVENT_STATUS;
		if (ship_state_from_provider(gw_json_peek(body, "status", GW_STATUS_MAX), &out->state) != COURIER_OK)
			return COURIER_EMALFORMED;
		/* Our state, so that snake_case and camelCase copies of one status are one event. */
		snprintf(value, sizeof(value), "%s", ship_state_name(out->state));
		if (json_object_get(body, "order_price") && courier_json_price(body, "order_price", &out->price) !=
								    COURIER_OK)
			return COURIER_EMALFORMED;
	} else if (strcmp(event, "order.price") == 0) {
		out->kind = COURIER_EVENT_PRICE;
		if (courier_json_price(body, "order_price", &out->price) != COURIER_OK)
			return COURIER_EMALFORMED;
		snprintf(value, sizeof(value), "%lld", (long long)out->price);
	} else {
		out->kind = COURIER_EVENT_WAYBILL;
		if (!out->waybill[0])
			return COURIER_EMALFORMED;
		snprintf(value, sizeof(value), "%s", out->waybill);
	}
	return gw_format(out->event_id, sizeof(out->event_id), "%s:%s:%s", out->provider_id, event, value)
		       ? COURIER_OK
		       : COURIER_EMALFORMED;
}

static int bs_parse_webhook(struct courier_gateway *g, const struct courier_webhook *in, struct courier_event *out)
{
	/* gw_webhook_json reads the body only; this protocol has no headers to pass. */
	struct pay_webhook raw = { in->body, in->body_len, NULL, NULL };
	const char *token = in->query ? in->query("token", in->ctx) : NULL;
	const char *event;
	json_t *body;
	int rc;
	if (!gw_secret_equal(token, g->webhook_token))
		return COURIER_EFORGED;
	/* The provider's installation test: an empty body, or an event we do not take. */
	if (!in->body || in->body_len == 0) {
		out->kind = COURIER_EVENT_IGNORED;
		return COURIER_OK;
	}
	if (gw_webhook_json(&raw, &body) != PAY_OK)
		return COURIER_EMALFORMED;
	event = gw_json_peek(body, "event", GW_STATUS_MAX);
	if (event && (strcmp(event, "order.status") == 0 || strcmp(event, "order.price") == 0 ||
		      strcmp(event, "order.waybill_id") == 0))
		rc = bs_event(body, event, out);
	else if (json_object_get(body, "event") && !event)
		rc = COURIER_EMALFORMED;
	else {
		out->kind = COURIER_EVENT_IGNORED;
		rc = COURIER_OK;
	}
	json_decref(body);
	return rc;
}

const struct courier_gateway_ops biteship_ops = {
	.name = "biteship",
	.target = "biteship",
	.default_base_url = "https://api.biteship.com",
	.default_api_key = NULL,
	.default_webhook_token = NULL,
	.rates = bs_rates,
	.ship = bs_ship,
	.cancel = bs_cancel,
	.track = bs_track,
	.parse_webhook = bs_parse_webhook,
};

const struct courier_gateway_ops courier_sandbox_ops = {
	.name = "sandbox",
	.target = "courier-sandbox",
	.default_base_url = "http://127.0.0.1:8081",
	.default_api_key = "biteship_test.bangsoleh-sandbox",
	.default_webhook_token = "sandbox-courier-token",
	.rates = bs_rates,
	.ship = bs_ship,
	.cancel = bs_cancel,
	.track = bs_track,
	.parse_webhook = bs_parse_webhook,
};
