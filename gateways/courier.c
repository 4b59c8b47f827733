/*
 * courier: the registry of courier-gateway modules, shipment states and
 * the providers' status words, the city's tariff and its integer distance,
 * the checks every request passes before a module sees it, sending through
 * the hclient (courier_gw.h), and the "local" module.
 */
#include "courier.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "courier_gw.h"
#include "log.h"

#define COURIER_CODE_CHARS "abcdefghijklmnopqrstuvwxyz0123456789_-"
#define COURIER_PHONE_CHARS "0123456789+- "
#define COURIER_LOCAL_NAME "Kurir Kota Payakumbuh"
#define COURIER_LOCAL_DURATION "1 - 3 hours"

/* Fixed point of the distance: 10^9 is one (radians and the cosine). */
#define CD_ONE 1000000000LL
#define CD_NRAD_PER_UDEG_NUM 17453293LL   /* pi/180 * 10^9 nano-radians per degree ... */
#define CD_NRAD_PER_UDEG_DEN 1000000LL    /* ... per 10^6 micro-degrees */
#define CD_M_PER_DEG 111195LL             /* 2 pi 6,371,009 m / 360 */
#define CD_UDEG 1000000LL

static const struct courier_gateway_ops *const courier_modules[] = {
	&courier_sandbox_ops, &biteship_ops, &courier_local_ops,
};

/* --- states -------------------------------------------------------------- */

static const char *const ship_state_names[] = {
	[SHIP_PENDING] = "pending",       [SHIP_ALLOCATED] = "allocated", [SHIP_PICKING_UP] = "picking_up",
	[SHIP_PICKED] = "picked",         [SHIP_IN_TRANSIT] = "in_transit", [SHIP_DELIVERED] = "delivered",
	[SHIP_ON_HOLD] = "on_hold",       [SHIP_RETURNING] = "returning", [SHIP_RETURNED] = "returned",
	[SHIP_CANCELLED] = "cancelled",   [SHIP_FAILED] = "failed",
};

const char *ship_state_name(enum ship_state s)
{
	if (s < SHIP_PENDING || s > SHIP_FAILED)
		return NULL;
	return ship_state_names[s];
}

int ship_state_parse(const char *name, enum ship_state *out)
{
	if (!name || !out)
		return COURIER_EINVAL;
	for (int s = SHIP_PENDING; s <= SHIP_FAILED; s++)
		if (strcmp(ship_state_names[s], name) == 0) {
			*out = (enum ship_state)s;
			return COURIER_OK;
		}
	return COURIER_EINVAL;
}

int ship_state_from_provider(const char *status, enum ship_state *out)
{
	/* Biteship's 14 (orders overview), the camelCase of the tracking page, and "placed" (unofficial SDK). */
	static const struct {
		const char *word;
		enum ship_state state;
	} words[] = {
		{ "confirmed", SHIP_PENDING },       { "scheduled", SHIP_PENDING },
		{ "placed", SHIP_PENDING },          { "allocated", SHIP_ALLOCATED },
		{ "picking_up", SHIP_PICKING_UP },   { "pickingUp", SHIP_PICKING_UP },
		{ "picked", SHIP_PICKED },           { "dropping_off", SHIP_IN_TRANSIT },
		{ "droppingOff", SHIP_IN_TRANSIT },  { "delivered", SHIP_DELIVERED },
		{ "on_hold", SHIP_ON_HOLD },         { "onHold", SHIP_ON_HOLD },
		{ "return_in_transit", SHIP_RETURNING }, { "returnInTransit", SHIP_RETURNING },
		{ "returned", SHIP_RETURNED },       { "cancelled", SHIP_CANCELLED },
		{ "courier_not_found", SHIP_FAILED }, { "courierNotFound", SHIP_FAILED },
		{ "rejected", SHIP_FAILED },         { "disposed", SHIP_FAILED },
	};
	if (!status || !out)
		return COURIER_EMALFORMED;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(words[i].word, status) == 0) {
			*out = words[i].state;
			return COURIER_OK;
		}
	return COURIER_EMALFORMED;
}

/* --- distance and tariff ------------------------------------------------- */

/* floor(sqrt(v)) for v >= 0, by Newton's method on integers. */
static int64_t courier_isqrt(int64_t v)
{
	int64_t x = v, y;
	if (v < 2)
		return v;
	y = (x + 1) / 2;
	while (y < x) {
		x = y;
		y = (x + v / x) / 2;
	}
	return x;
}

/* cos(lat) * 10^9 for |lat| <= 90 degrees: 1 - p^2/2 + p^4/24 - p^6/720 (error < 0.1%). */
static int64_t courier_cos_e9(int64_t lat_e6)
{
	int64_t p = lat_e6 * CD_NRAD_PER_UDEG_NUM / CD_NRAD_PER_UDEG_DEN; /* nano-radians, <= 1.571e9 */
	int64_t p2 = p * p / CD_ONE;                                      /* p * p < 2.5e18 fits */
	int64_t p4 = p2 * p2 / CD_ONE;
	int64_t p6 = p4 * p2 / CD_ONE;
	return CD_ONE - p2 / 2 + p4 / 24 - p6 / 720;
}

int courier_distance_m(int32_t lat1_e6, int32_t lng1_e6, int32_t lat2_e6, int32_t lng2_e6, int64_t *out)
{
	int64_t dlat, dlng, x, d;
	if (!out || lat1_e6 < -90 * CD_UDEG || lat1_e6 > 90 * CD_UDEG || lat2_e6 < -90 * CD_UDEG ||
	    lat2_e6 > 90 * CD_UDEG || lng1_e6 < -180 * CD_UDEG || lng1_e6 > 180 * CD_UDEG ||
	    lng2_e6 < -180 * CD_UDEG || lng2_e6 > 180 * CD_UDEG)
		return COURIER_EINVAL;
	dlat = (int64_t)lat2_e6 - lat1_e6;
	dlng = (int64_t)lng2_e6 - lng1_e6;
	if (dlng < 0)
		dlng = -dlng;
	if (dlng > 180 * CD_UDEG)   /* the short way round, across the antimeridian */
		dlng = 360 * CD_UDEG - dlng;
	/* |dlng| <= 1.8e8 and the cosine <= 1e9: the product fits in 63 bits. */
	x = dlng * courier_cos_e9(((int64_t)lat1_e6 + lat2_e6) / 2) / CD_ONE;
	d = courier_isqrt(x * x + dlat * dlat);        /* micro-degrees, <= 2.6e8 */
	*out = d * CD_M_PER_DEG / CD_UDEG;
	return COURIER_OK;
}

/* a + b * n without overflow, all >= 0. Returns false on overflow. */
static bool courier_add_mul(int64_t *acc, int64_t b, int64_t n)
{
	if (n > 0 && b > (INT64_MAX - *acc) / n)
		return false;
	*acc += b * n;
	return true;
}

int courier_local_tariff(const struct courier_gateway_config *cfg, const struct courier_place *from,
			 const struct courier_place *to, int64_t weight_g, int64_t *price, int64_t *distance_m)
{
	int64_t total, dist = -1, km, kg;
	if (!cfg || !from || !to || !price || !distance_m || cfg->local_flat < 0 || cfg->local_per_km < 0 ||
	    cfg->local_per_kg < 0 || weight_g < 0)
		return COURIER_EINVAL;
	if (from->has_coords && to->has_coords &&
	    courier_distance_m(from->lat_e6, from->lng_e6, to->lat_e6, to->lng_e6, &dist) != COURIER_OK)
		return COURIER_EINVAL;
	total = cfg->local_flat;
	/* Started units beyond the first: 1..1000 m and 1..1000 g cost nothing extra. */
	km = dist > 0 ? (dist - 1) / 1000 : 0;
	kg = weight_g > 0 ? (weight_g - 1) / 1000 : 0;
	if (!courier_add_mul(&total, cfg->local_per_km, km) || !courier_add_mul(&total, cfg->local_per_kg, kg))
		return COURIER_EINVAL;
	*price = total;
	*distance_m = dist;
	return COURIER_OK;
}

/* --- field readers ------------------------------------------------------- */

int courier_json_opt(json_t *obj, const char *key, char *out, size_t cap, char *err, size_t err_cap)
{
	json_t *v = json_object_get(obj, key);
	out[0] = '\0';
	if (!v || json_is_null(v))
		return COURIER_OK;
	if (gw_json_str(obj, key, out, cap, err, err_cap) != PAY_OK)
		return COURIER_EMALFORMED;
	return COURIER_OK;
}

int courier_json_price(json_t *obj, const char *key, int64_t *out)
{
	json_t *v = json_object_get(obj, key);
	const char *s;
	if (json_is_integer(v)) {
		json_int_t n = json_integer_value(v);
		if (n < 0 || n > COURIER_PRICE_MAX)
			return COURIER_EMALFORMED;
		*out = (int64_t)n;
		return COURIER_OK;
	}
	s = gw_json_peek(obj, key, GW_STATUS_MAX);
	if (!s || gw_amount_parse(s, COURIER_PRICE_MAX, out) != PAY_OK)
		return COURIER_EMALFORMED;
	return COURIER_OK;
}

/* --- calls --------------------------------------------------------------- */

int courier_call_new(enum courier_call_kind kind, courier_read_fn read, struct courier_call **out)
{
	struct courier_call *c = calloc(1, sizeof(*c));
	if (!c)
		return COURIER_ENOMEM;
	c->kind = kind;
	c->read = read;
	*out = c;
	return COURIER_OK;
}

/* A result as a module's reader first sees it: nothing told yet. */
static void courier_result_init(union courier_result *res)
{
	memset(res, 0, sizeof(*res));
	res->ship.price = -1;
}

/* Runs the call's done with the outcome. */
static void courier_deliver(struct courier_call *call, int error, union courier_result *res)
{
	const char *text = error == COURIER_OK ? "" : call->err;
	if (call->kind == COURIER_CALL_RATES) {
		res->rates.error = error;
		res->rates.error_text = text;
		if (error != COURIER_OK)
			res->rates.n = 0;
		call->done.rates(&res->rates, call->arg);
		return;
	}
	res->ship.error = error;
	res->ship.error_text = text;
	call->done.ship(&res->ship, call->arg);
}

/* hclient done: the transport's outcome first, then the module's reader. */
static void courier_on_response(const struct hclient_response *res, void *arg)
{
	struct courier_call *call = arg;
	union courier_result out;
	json_t *body;
	int error;
	courier_result_init(&out);
	switch (gw_answer_sort(res, call->module, call->err, sizeof(call->err), &body)) {
	case GW_ANSWER_TOO_BIG:
		error = COURIER_EMALFORMED;
		break;
	case GW_ANSWER_UNAVAILABLE:
		error = COURIER_EUNAVAILABLE;
		break;
	default:
		error = call->read(call, res->status, body, &out);
		if (error == COURIER_EMALFORMED)
			log_msg(LOG_WARN, "courier", "%s: unusable answer (HTTP %ld): %s", call->module, res->status,
				call->err);
		break;
	}
	courier_deliver(call, error, &out);
	json_decref(body);
	free(call);
}

int courier_send(struct courier_gateway *g, struct courier_call *call, const char *method, const char *path,
		 const char *body, const char *const *extra, bool retryable)
{
	char url[GW_URL_MAX + 2 * COURIER_ID_MAX + 32];
	const char *headers[GW_HEADERS_MAX + 4];
	size_t nh = 0;
	int rc = COURIER_EINVAL;
	struct hclient_request req = {
		.target = g->ops->target,
		.method = method,
		.url = url,
		.headers = headers,
		.body = body,
		.body_len = body ? strlen(body) : 0,
		.total_timeout_ms = g->timeout_ms,
		.max_response = GW_BODY_MAX,
		.retryable = retryable,
	};
	call->module = g->ops->name;
	if (!g->http || !gw_format(url, sizeof(url), "%s%s", g->base_url, path))
		goto free_call;
	headers[nh++] = "Accept: application/json";
	headers[nh++] = g->auth_header;
	if (body)
		headers[nh++] = "Content-Type: application/json";
	for (size_t i = 0; extra && extra[i]; i++) {
		if (i == GW_HEADERS_MAX)
			goto free_call;
		headers[nh++] = extra[i];
	}
	headers[nh] = NULL;
	int hrc = hclient_send(g->http, &req, courier_on_response, call);
	if (hrc == HCLIENT_OK)
		return COURIER_OK;
	rc = hrc == HCLIENT_ENOMEM ? COURIER_ENOMEM : COURIER_EINVAL;
free_call:
	free(call);
	return rc;
}

/* --- gateways ------------------------------------------------------------ */

/* Copies a setting (or its default when empty): printable, no blanks, fits. */
static bool courier_setting(char *out, size_t cap, const char *in, const char *def)
{
	const char *v = in && in[0] ? in : def;
	if (!v || !v[0]) {
		out[0] = '\0';
		return true;
	}
	if (!gw_text_ok(v, cap - 1, false))
		return false;
	memcpy(out, v, strlen(v) + 1);
	return true;
}

/* "jne,sicepat,gojek": codes of [a-z0-9_-] joined by single commas. */
static bool courier_codes_ok(const char *s)
{
	bool need = true;
	for (; *s; s++) {
		if (*s == ',') {
			if (need)
				return false;
			need = true;
		} else if (strchr(COURIER_CODE_CHARS, *s)) {
			need = false;
		} else {
			return false;
		}
	}
	return !need;
}

int courier_gateway_new(const struct courier_gateway_config *cfg, struct hclient *http,
			struct courier_gateway **out)
{
	const struct courier_gateway_ops *ops = NULL;
	struct courier_gateway *g;
	if (!cfg || !cfg->module || !out || cfg->timeout_ms < 0 || cfg->local_flat < 0 ||
	    cfg->local_flat > COURIER_TARIFF_MAX || cfg->local_per_km < 0 || cfg->local_per_km > COURIER_TARIFF_MAX ||
	    cfg->local_per_kg < 0 || cfg->local_per_kg > COURIER_TARIFF_MAX)
		return COURIER_EINVAL;
	for (size_t i = 0; i < sizeof(courier_modules) / sizeof(courier_modules[0]); i++)
		if (strcmp(courier_modules[i]->name, cfg->module) == 0)
			ops = courier_modules[i];
	if (!ops || (ops->local ? !cfg->base : !http))
		return COURIER_EINVAL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return COURIER_ENOMEM;
	g->ops = ops;
	g->http = http;
	g->base = cfg->base;
	g->timeout_ms = cfg->timeout_ms;
	g->tariff.local_flat = cfg->local_flat;
	g->tariff.local_per_km = cfg->local_per_km;
	g->tariff.local_per_kg = cfg->local_per_kg;
	if (!courier_setting(g->couriers, sizeof(g->couriers), cfg->couriers, NULL) ||
	    (g->couriers[0] && !courier_codes_ok(g->couriers)))
		goto free_gateway;
	if (!ops->local) {
		if (!courier_setting(g->base_url, sizeof(g->base_url), cfg->base_url, ops->default_base_url) ||
		    (strncmp(g->base_url, "http://", 7) != 0 && strncmp(g->base_url, "https://", 8) != 0) ||
		    !courier_setting(g->api_key, sizeof(g->api_key), cfg->api_key, ops->default_api_key) ||
		    !g->api_key[0] ||
		    !courier_setting(g->webhook_token, sizeof(g->webhook_token), cfg->webhook_token,
				     ops->default_webhook_token) ||
		    !g->webhook_token[0] || !g->couriers[0] ||
		    !gw_format(g->auth_header, sizeof(g->auth_header), "authorization: %s", g->api_key))
			goto free_gateway;
		size_t blen = strlen(g->base_url);
		while (blen > 0 && g->base_url[blen - 1] == '/')
			g->base_url[--blen] = '\0';
	}
	*out = g;
	return COURIER_OK;
free_gateway:
	courier_gateway_free(g);
	return COURIER_EINVAL;
}

void courier_gateway_free(struct courier_gateway *g)
{
	if (!g)
		return;
	explicit_bzero(g, sizeof(*g));
	free(g);
}

const char *courier_gateway_name(const struct courier_gateway *g)
{
	return g ? g->ops->name : NULL;
}

bool courier_gateway_is_local(const struct courier_gateway *g)
{
	return g && g->ops->local;
}

/* --- request checks ------------------------------------------------------ */

/* 1..max bytes, each one of `chars`. */
static bool courier_chars_ok(const char *s, size_t max, const char *chars)
{
	if (!gw_text_ok(s, max, true))
		return false;
	for (; *s; s++)
		if (!strchr(chars, *s))
			return false;
	return true;
}

static bool courier_coords_ok(const struct courier_place *p)
{
	return !p->has_coords || (p->lat_e6 >= -90 * CD_UDEG && p->lat_e6 <= 90 * CD_UDEG &&
				  p->lng_e6 >= -180 * CD_UDEG && p->lng_e6 <= 180 * CD_UDEG);
}

/* A place: located (postal code or coordinates); for shipments also named, reachable and addressed. */
static bool courier_place_ok(const struct courier_place *p, bool ship)
{
	if ((p->postal_code && !courier_chars_ok(p->postal_code, COURIER_POSTAL_MAX, "0123456789")) ||
	    !courier_coords_ok(p) || (!p->postal_code && !p->has_coords))
		return false;
	if (p->name && !gw_text_ok(p->name, COURIER_NAME_MAX, true))
		return false;
	if (p->phone && !courier_chars_ok(p->phone, COURIER_PHONE_MAX, COURIER_PHONE_CHARS))
		return false;
	if (p->address && !gw_text_ok(p->address, COURIER_ADDRESS_MAX, true))
		return false;
	return !ship || (p->name && p->phone && p->address);
}

static bool courier_items_ok(const struct courier_item *items, size_t n)
{
	if (!items || n < 1 || n > COURIER_ITEMS_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!gw_text_ok(items[i].name, COURIER_NAME_MAX, true) || items[i].value < 0 ||
		    items[i].value > COURIER_VALUE_MAX || items[i].weight_g < 1 ||
		    items[i].weight_g > COURIER_WEIGHT_MAX || items[i].qty < 1 || items[i].qty > COURIER_QTY_MAX)
			return false;
	return true;
}

/* --- dispatch ------------------------------------------------------------ */

int courier_rates(struct courier_gateway *g, const struct courier_rates_req *req, courier_rates_fn done, void *arg)
{
	if (!g || !req || !done || !courier_place_ok(&req->origin, false) ||
	    !courier_place_ok(&req->destination, false) || !courier_items_ok(req->items, req->nitems))
		return COURIER_EINVAL;
	return g->ops->rates(g, req, done, arg);
}

int courier_ship(struct courier_gateway *g, const struct courier_ship_req *req, courier_ship_fn done, void *arg)
{
	if (!g)
		return COURIER_EINVAL;
	if (!g->ops->ship)
		return COURIER_EUNSUPPORTED;
	if (!req || !done || !gw_id_ok(req->shipment_id) || !courier_place_ok(&req->origin, true) ||
	    !courier_place_ok(&req->destination, true) || !courier_items_ok(req->items, req->nitems) ||
	    !courier_chars_ok(req->courier_code, COURIER_CODE_MAX, COURIER_CODE_CHARS) ||
	    !courier_chars_ok(req->service_code, COURIER_CODE_MAX, COURIER_CODE_CHARS) ||
	    (req->note && !gw_text_ok(req->note, COURIER_TEXT_MAX, true)))
		return COURIER_EINVAL;
	return g->ops->ship(g, req, done, arg);
}

int courier_cancel(struct courier_gateway *g, const char *provider_id, const char *reason, courier_ship_fn done,
		   void *arg)
{
	if (!g)
		return COURIER_EINVAL;
	if (!g->ops->cancel)
		return COURIER_EUNSUPPORTED;
	if (!done || !gw_id_ok(provider_id) || (reason && !gw_text_ok(reason, COURIER_TEXT_MAX, true)))
		return COURIER_EINVAL;
	return g->ops->cancel(g, provider_id, reason, done, arg);
}

int courier_track(struct courier_gateway *g, const char *provider_id, const char *tracking_id, courier_ship_fn done,
		  void *arg)
{
	if (!g)
		return COURIER_EINVAL;
	if (!g->ops->track)
		return COURIER_EUNSUPPORTED;
	if (tracking_id && !tracking_id[0])
		tracking_id = NULL;
	if (!done || !gw_id_ok(provider_id) || (tracking_id && !gw_id_ok(tracking_id)))
		return COURIER_EINVAL;
	return g->ops->track(g, provider_id, tracking_id, done, arg);
}

int courier_parse_webhook(struct courier_gateway *g, const struct courier_webhook *in, struct courier_event *out)
{
	int rc;
	if (!g || !in || !out)
		return COURIER_EINVAL;
	if (!g->ops->parse_webhook)
		return COURIER_EUNSUPPORTED;
	memset(out, 0, sizeof(*out));
	out->price = -1;
	rc = g->ops->parse_webhook(g, in, out);
	if (rc != COURIER_OK || out->kind == COURIER_EVENT_IGNORED) {
		memset(out, 0, sizeof(*out));
		out->price = -1;
		if (rc == COURIER_OK)
			out->kind = COURIER_EVENT_IGNORED;
	}
	return rc;
}

/* --- the local module ---------------------------------------------------- */

/* A quote waiting for the next turn of the loop. */
struct courier_local_quote {
	courier_rates_fn done;
	void *arg;
	struct courier_rates_res res;
};

static void courier_local_deliver(evutil_socket_t fd, short what, void *arg)
{
	struct courier_local_quote *q = arg;
	(void)fd;
	(void)what;
	q->done(&q->res, q->arg);
	free(q);
}

static int courier_local_rates(struct courier_gateway *g, const struct courier_rates_req *req,
			       courier_rates_fn done, void *arg)
{
	static const struct timeval now = { 0, 0 };
	struct courier_local_quote *q;
	struct courier_rate *r;
	int64_t weight = 0, distance;
	for (size_t i = 0; i < req->nitems; i++)
		if (!courier_add_mul(&weight, req->items[i].weight_g, req->items[i].qty))
			return COURIER_EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return COURIER_ENOMEM;
	q->done = done;
	q->arg = arg;
	q->res.error_text = "";
	q->res.n = 1;
	r = &q->res.rates[0];
	if (courier_local_tariff(&g->tariff, &req->origin, &req->destination, weight, &r->price, &distance) !=
	    COURIER_OK)
		goto free_quote;
	memcpy(r->courier_code, "local", sizeof("local"));
	memcpy(r->service_code, "ojek", sizeof("ojek"));
	memcpy(r->courier_name, COURIER_LOCAL_NAME, sizeof(COURIER_LOCAL_NAME));
	memcpy(r->service_name, "Ojek", sizeof("Ojek"));
	memcpy(r->duration, COURIER_LOCAL_DURATION, sizeof(COURIER_LOCAL_DURATION));
	if (event_base_once(g->base, -1, EV_TIMEOUT, courier_local_deliver, q, &now) != 0) {
		free(q);
		return COURIER_ENOMEM;
	}
	return COURIER_OK;
free_quote:
	free(q);
	return COURIER_EINVAL;
}

const struct courier_gateway_ops courier_local_ops = {
	.name = "local",
	.local = true,
	.rates = courier_local_rates,
};
