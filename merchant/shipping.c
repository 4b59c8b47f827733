/* Shipping rates of a store's goods to an address, each with the token the checkout takes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "httpd.h"
#include "merchants.h"
#include "order_internal.h"
#include "store.h"

/* One quote in flight, from the request to the reply. */
struct rates_call {
	struct httpd_req *req;
	uint64_t merchant_id;
};

static void shipping_quoted(int error, const char *error_text, const struct shipments_rate *rates, size_t n, void *arg)
{
	struct rates_call *rc = arg;
	json_t *list;
	if (error == COURIER_EUNAVAILABLE) {
		httpd_reply_error(rc->req, 503, "courier_unavailable", "the courier service did not answer: %s",
				  error_text);
		goto free_call;
	}
	if (error != COURIER_OK) {
		httpd_reply_error(rc->req, 502, "courier_error", "the courier service refused: %s", error_text);
		goto free_call;
	}
	list = json_array();
	for (size_t i = 0; i < n; i++) {
		const struct shipments_rate *r = &rates[i];
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s}", "courier_code",
						      r->choice.courier_code, "service_code", r->choice.service_code,
						      "courier_name", r->choice.courier_name, "service_name",
						      r->choice.service_name, "duration", r->duration, "price",
						      (json_int_t)r->choice.price, "rate_token", r->token));
	}
	httpd_reply_json(rc->req, 200, json_pack("{s:I, s:i, s:o}", "merchant_id", (json_int_t)rc->merchant_id,
						  "valid_for_s", SHIPMENTS_RATE_TTL_S, "rates", list));
free_call:
	free(rc);
}

/*
 * Reads the goods of one store: each line a listed product of that store.
 * OUT: items (names lent from products), ids, qtys. Returns 0, or replies
 * and returns -1.
 */
static int shipping_read_goods(struct orders *o, struct httpd_req *req, uint64_t merchant_id, const json_t *lines,
			       struct product *products, struct courier_item *items, uint64_t *ids, int64_t *qtys)
{
	static const char *const keys[] = { "product_id", "quantity", NULL };
	struct body_check c = { 0 };
	MDB_txn *txn;
	json_t *line;
	size_t i;
	int rc;
	if (!json_is_array(lines) || json_array_size(lines) < 1 || json_array_size(lines) > ORDER_ITEMS_MAX) {
		httpd_reply_error(req, 400, "invalid_field", "items must be a list of 1 to %d lines", ORDER_ITEMS_MAX);
		return -1;
	}
	json_array_foreach(lines, i, line) {
		if (!json_is_object(line)) {
			body_fail(&c, "items", "must hold objects {product_id, quantity}");
			break;
		}
		body_only(&c, line, keys);
		ids[i] = (uint64_t)body_int(&c, line, "product_id", true, 1, INT64_MAX, 0);
		qtys[i] = body_int(&c, line, "quantity", true, 1, ORDER_QTY_MAX, 0);
		if (c.failed)
			break;
	}
	if (c.failed) {
		httpd_reply_error(req, 400, body_error_code(&c), "%s %s", c.field, c.reason);
		return -1;
	}
	if ((rc = store_read_begin(o->store, &txn)) != 0) {
		httpd_reply_store_error(req, rc);
		return -1;
	}
	for (i = 0; rc == 0 && i < json_array_size(lines); i++) {
		rc = products_get(o->products, txn, ids[i], &products[i]);
		if (rc == 0 && (products[i].merchant_id != merchant_id || !products_is_listed(o->products, txn, &products[i])))
			rc = PRODUCTS_ENOTSOLD;
		items[i] = (struct courier_item){ .name = products[i].title, .value = products[i].price,
						  .weight_g = products[i].weight_g, .qty = qtys[i] };
	}
	store_read_end(o->store, txn);
	if (rc == STORE_ENOTFOUND || rc == PRODUCTS_ENOTSOLD) {
		httpd_reply_error(req, 422, "product_unavailable", "product %llu is not for sale by store %llu",
				  (unsigned long long)ids[i - 1], (unsigned long long)merchant_id);
		return -1;
	}
	if (rc != 0) {
		httpd_reply_store_error(req, rc);
		return -1;
	}
	return 0;
}

int order_read_coords(struct body_check *c, const json_t *obj, bool *has, int32_t *lat, int32_t *lng)
{
	*has = false;
	if (!json_object_get(obj, "lat_e6") && !json_object_get(obj, "lng_e6"))
		return 0;
	*lat = (int32_t)body_int(c, obj, "lat_e6", true, -ORDER_LAT_MAX, ORDER_LAT_MAX, 0);
	*lng = (int32_t)body_int(c, obj, "lng_e6", true, -ORDER_LNG_MAX, ORDER_LNG_MAX, 0);
	*has = !c->failed;
	return c->failed ? -1 : 0;
}

void order_handle_rates(struct httpd_req *req, void *ctx)
{
	static const char *const keys[] = { "merchant_id", "items", "ship_to", NULL };
	static const char *const to_keys[] = { "postal_code", "address", "name", "phone", "lat_e6", "lng_e6", NULL };
	struct orders *o = ctx;
	struct body_check c = { 0 };
	struct product *products = calloc(ORDER_ITEMS_MAX, sizeof(*products));
	struct courier_item items[ORDER_ITEMS_MAX];
	uint64_t ids[ORDER_ITEMS_MAX];
	int64_t qtys[ORDER_ITEMS_MAX];
	struct courier_rates_req q = { 0 };
	struct merchant *mc = malloc(sizeof(*mc));
	struct rates_call *call = NULL;
	const char *postal = NULL, *address = NULL;
	json_t *body, *to;
	MDB_txn *txn;
	int64_t merchant_id;
	int rc;
	if (!products || !mc) {
		httpd_reply_error(req, 500, "internal", "out of memory");
		goto free_all;
	}
	if (httpd_json_body(req, &body) != 0)
		goto free_all;
	body_only(&c, body, keys);
	merchant_id = body_int(&c, body, "merchant_id", true, 1, INT64_MAX, 0);
	to = json_object_get(body, "ship_to");
	if (!c.failed && !json_is_object(to))
		body_fail(&c, "ship_to", "must be an object {postal_code, address}");
	if (!c.failed && body_only(&c, to, to_keys)) {
		postal = body_str(&c, to, "postal_code", true, 5, ORDER_POSTAL_MAX);
		address = body_str(&c, to, "address", false, 1, ORDER_ADDRESS_MAX);
		order_read_coords(&c, to, &q.destination.has_coords, &q.destination.lat_e6, &q.destination.lng_e6);
	}
	for (const char *p = postal; !c.failed && p && *p; p++)
		if (*p < '0' || *p > '9')
			body_fail(&c, "postal_code", "must be digits");
	if (c.failed) {
		httpd_reply_error(req, 400, body_error_code(&c), "%s %s", c.field, c.reason);
		goto free_all;
	}
	if ((rc = store_read_begin(o->store, &txn)) == 0) {
		rc = merchants_get(o->merchants, txn, (uint64_t)merchant_id, mc);
		store_read_end(o->store, txn);
	}
	if (rc == STORE_ENOTFOUND || (rc == 0 && !merchants_is_selling(mc))) {
		httpd_reply_error(req, 404, "not_found", "no such store");
		goto free_all;
	}
	if (rc != 0) {
		httpd_reply_store_error(req, rc);
		goto free_all;
	}
	if (shipping_read_goods(o, req, mc->id, json_object_get(body, "items"), products, items, ids, qtys) != 0)
		goto free_all;
	/* Fields the store left empty are absent for the courier. */
	q.origin = (struct courier_place){ .name = mc->name, .phone = mc->phone[0] ? mc->phone : NULL,
					   .address = mc->address[0] ? mc->address : NULL,
					   .postal_code = mc->postal_code, .has_coords = mc->has_coords,
					   .lat_e6 = mc->lat_e6, .lng_e6 = mc->lng_e6 };
	q.destination.address = address;
	q.destination.postal_code = postal;
	q.items = items;
	q.nitems = json_array_size(json_object_get(body, "items"));
	call = calloc(1, sizeof(*call));
	if (!call) {
		httpd_reply_error(req, 500, "internal", "out of memory");
		goto free_all;
	}
	call->req = req;
	call->merchant_id = mc->id;
	{
		uint8_t hash[32];
		shipments_lines_hash(ids, qtys, q.nitems, hash);
		rc = shipments_quote(o->shipments, mc->id, hash, &q, shipping_quoted, call);
	}
	if (rc == COURIER_EINVAL)
		httpd_reply_error(req, 409, "store_not_shippable",
				  "store %llu has no address or phone for a courier to pick up from",
				  (unsigned long long)mc->id);
	else if (rc != COURIER_OK)
		httpd_reply_error(req, 503, "courier_unavailable", "the courier service cannot be asked now");
	if (rc != COURIER_OK)
		free(call);
free_all:
	free(products);
	free(mc);
}
