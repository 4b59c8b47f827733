/*
 * The checkout: a cart of products from one or more stores becomes one
 * order per store under one order group, the stock is taken, and one
 * payment is made for the group, all in one write transaction. Then the
 * provider issues the payment's QR.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "clock.h"
#include "httpd.h"
#include "idem.h"
#include "order_internal.h"
#include "qris.h"
#include "store.h"

struct checkout_line {
	uint64_t product_id;
	int64_t qty;
};

/* One checkout in flight, from the request to the reply. */
struct checkout {
	struct orders *o;
	struct httpd_req *req;
	struct idem_req idem;
	uint64_t buyer_id;
	struct order_address ship_to;
	size_t nlines;
	struct checkout_line lines[ORDER_ITEMS_MAX];
	size_t nrates;                       /* the couriers chosen, per store */
	struct {
		uint64_t merchant_id;
		char token[SHIPMENTS_TOKEN_MAX + 1];
	} rates[ORDER_GROUP_MAX];
	struct ledger_id group_id;
	int64_t created_ms;
	/* Filled by the job: */
	int first_status;                    /* a replay: the first answer's status */
	uint64_t bad_product;                /* the line that failed */
	struct order_group group;
	struct ledger_id payment_id;
	struct product product;              /* scratch */
	struct order orders[ORDER_GROUP_MAX];
};

/* The order of `merchant_id` in the checkout, made when new. NULL when the group is full. */
static struct order *checkout_order_for(struct checkout *ck, uint64_t merchant_id)
{
	struct order *ord;
	for (uint8_t i = 0; i < ck->group.norders; i++)
		if (ck->orders[i].merchant_id == merchant_id)
			return &ck->orders[i];
	if (ck->group.norders == ORDER_GROUP_MAX)
		return NULL;
	ord = &ck->orders[ck->group.norders++];
	memset(ord, 0, sizeof(*ord));
	ord->merchant_id = merchant_id;
	return ord;
}

/* Takes the stock of every line and sorts the lines into one order per store. */
static int checkout_take_lines(struct checkout *ck, MDB_txn *txn)
{
	for (size_t i = 0; i < ck->nlines; i++) {
		struct product *p = &ck->product;
		struct order_item *it;
		struct order *ord;
		int rc = products_reserve(ck->o->products, txn, ck->lines[i].product_id, ck->lines[i].qty, p);
		if (rc != 0) {
			ck->bad_product = ck->lines[i].product_id;
			return rc;
		}
		ord = checkout_order_for(ck, p->merchant_id);
		if (!ord) {
			ck->bad_product = p->id;
			return ORDERS_EOVERFLOW;
		}
		it = &ord->items[ord->nitems++];
		it->product_id = p->id;
		snprintf(it->title, sizeof(it->title), "%s", p->title);
		it->price = p->price;
		it->qty = ck->lines[i].qty;
		it->weight_g = p->weight_g;
		/* price <= QRIS_AMOUNT_MAX and qty <= ORDER_QTY_MAX: no line or sum of 50 overflows. */
		ord->subtotal += it->price * it->qty;
	}
	return 0;
}

/*
 * Puts each chosen courier's quoted fee on its store's order, after checking
 * the rate was quoted for exactly these goods and this address.
 */
static int checkout_take_rates(struct checkout *ck)
{
	const struct courier_place to = { .postal_code = ck->ship_to.postal_code, .has_coords = ck->ship_to.has_coords,
					  .lat_e6 = ck->ship_to.lat_e6, .lng_e6 = ck->ship_to.lng_e6 };
	for (size_t r = 0; r < ck->nrates; r++) {
		struct order *ord = NULL;
		uint64_t ids[ORDER_ITEMS_MAX];
		int64_t qtys[ORDER_ITEMS_MAX];
		uint8_t hash[32];
		for (uint8_t i = 0; i < ck->group.norders; i++)
			if (ck->orders[i].merchant_id == ck->rates[r].merchant_id)
				ord = &ck->orders[i];
		ck->bad_product = ck->rates[r].merchant_id;
		if (!ord)
			return SHIPMENTS_EBADRATE;
		for (uint8_t i = 0; i < ord->nitems; i++) {
			ids[i] = ord->items[i].product_id;
			qtys[i] = ord->items[i].qty;
		}
		shipments_lines_hash(ids, qtys, ord->nitems, hash);
		if (shipments_rate_verify(ck->o->shipments, ck->rates[r].token, ord->merchant_id, hash, &to,
					  ck->created_ms, &ord->courier) != 0)
			return SHIPMENTS_EBADRATE;
		ord->shipping = ord->courier.price;
	}
	ck->bad_product = 0;
	return 0;
}

/*
 * A repeat of a checkout: ORDERS_EREPLAY with the group named, or 0 when
 * the first one answered 502/503 "not placed" (its payment failed before
 * its QR came, its orders are cancelled): then the key places the order
 * afresh, as the client that retries after that answer expects.
 */
static int checkout_replay(struct checkout *ck, MDB_txn *txn, const struct idem_entry *seen)
{
	struct order_group g;
	bool unplaced;
	int rc;
	memcpy(ck->group.id.b, seen->ref, sizeof(ck->group.id.b));
	if ((rc = order_group_load(ck->o, txn, &ck->group.id, &g)) != 0 ||
	    (rc = payments_failed_unissued(ck->o->payments, txn, &g.payment_id, &unplaced)) != 0)
		return rc;
	if (unplaced)
		return 0;
	ck->first_status = seen->status;
	return ORDERS_EREPLAY;
}

static int checkout_apply(MDB_txn *txn, void *arg)
{
	struct checkout *ck = arg;
	struct orders *o = ck->o;
	struct idem_entry seen;
	int64_t total = 0;
	int rc;

	ck->group.norders = 0;
	ck->bad_product = 0;
	ck->first_status = 0;
	rc = idem_lookup(o->idem, txn, &ck->idem, &seen);
	if (rc == IDEM_REPLAY && seen.ref_len == 16)
		rc = checkout_replay(ck, txn, &seen);
	if (rc == IDEM_CONFLICT)
		return ORDERS_ECONFLICT;
	if (rc != IDEM_NEW)
		return rc < 0 ? rc : STORE_ECORRUPT;
	if ((rc = checkout_take_lines(ck, txn)) != 0)
		return rc;
	if ((rc = checkout_take_rates(ck)) != 0)
		return rc;
	for (uint8_t i = 0; i < ck->group.norders; i++) {
		struct order *ord = &ck->orders[i];
		ord->commission_bps = o->cfg.commission_bps;
		if ((rc = order_commission(ord->subtotal, ord->commission_bps, &ord->commission)) != 0)
			return rc;
		ord->total = ord->subtotal + ord->shipping;
		total += ord->total;
	}
	if (total > QRIS_AMOUNT_MAX)
		return ORDERS_EOVERFLOW;
	ck->group.id = ck->group_id;
	ck->group.buyer_id = ck->buyer_id;
	ck->group.total = total;
	ck->group.created_ms = ck->created_ms;
	rc = payments_create_order(o->payments, txn, &ck->group_id, ck->buyer_id, total, ck->created_ms,
				   &ck->payment_id);
	if (rc != 0)
		return rc;
	ck->group.payment_id = ck->payment_id;
	for (uint8_t i = 0; i < ck->group.norders; i++) {
		struct order *ord = &ck->orders[i];
		if ((rc = order_next_id(o, txn, &ord->id)) != 0)
			return rc;
		ord->group_id = ck->group_id;
		ord->payment_id = ck->payment_id;
		ord->buyer_id = ck->buyer_id;
		ord->state = ORDER_AWAITING_PAYMENT;
		ord->created_ms = ck->created_ms;
		ord->ship_to = ck->ship_to;
		ord->nevents = ord->ntimeline = 0;
		order_event_add(ord, ck->created_ms, ORDER_AWAITING_PAYMENT, ck->buyer_id, "order placed");
		if ((rc = order_store(o, txn, ord, 0)) != 0 || (rc = order_index_buyer(o, txn, ord)) != 0)
			return rc;
		ck->group.order_ids[i] = ord->id;
	}
	if ((rc = order_group_store(o, txn, &ck->group)) != 0)
		return rc;
	return idem_save(o->idem, txn, &ck->idem, 201, ck->group_id.b, 16, ck->created_ms);
}

static void checkout_issued(int status, json_t *payment, void *arg)
{
	struct checkout *ck = arg;
	json_decref(payment);
	if (status == PAYMENTS_EUNAVAILABLE)
		httpd_reply_error(ck->req, 503, "provider_unavailable",
				  "the payment provider did not answer; the order was not placed");
	else if (status == PAYMENTS_EPROVIDER)
		httpd_reply_error(ck->req, 502, "provider_error",
				  "the payment provider refused the payment; the order was not placed");
	else if (status != 0)
		httpd_reply_store_error(ck->req, status);
	else
		order_group_reply(ck->o, ck->req, &ck->group.id, ck->first_status ? ck->first_status : 201);
	free(ck);
}

static void checkout_done(int status, void *arg)
{
	struct checkout *ck = arg;
	struct httpd_req *req = ck->req;
	char product[24];
	snprintf(product, sizeof(product), "%llu", (unsigned long long)ck->bad_product);
	switch (status) {
	case 0:
	case ORDERS_EREPLAY: {
		struct order_group g;
		MDB_txn *txn;
		int rc = store_read_begin(ck->o->store, &txn);
		if (rc == 0) {
			rc = order_group_load(ck->o, txn, &ck->group.id, &g);
			store_read_end(ck->o->store, txn);
		}
		if (rc != 0) {
			httpd_reply_store_error(req, rc);
			break;
		}
		/* A replay whose QR never came (the first request was cut short) asks again. */
		if (payments_issue(ck->o->payments, &g.payment_id, checkout_issued, ck) == 0)
			return;
		httpd_reply_error(req, 500, "internal", "the payment could not be issued");
		break;
	}
	case ORDERS_ECONFLICT:
		idem_reply_conflict(req);
		break;
	case PRODUCTS_EINSUFFICIENT:
		httpd_reply_error(req, 409, "insufficient_stock", "product %s does not have that many in stock", product);
		break;
	case PRODUCTS_ENOTSOLD:
	case STORE_ENOTFOUND:
		httpd_reply_error(req, 422, "product_unavailable", "product %s is not for sale", product);
		break;
	case SHIPMENTS_EBADRATE:
		httpd_reply_error(req, 422, "invalid_rate",
				  "the shipping rate for store %s is not valid for this cart and address (ask for rates again)",
				  product);
		break;
	case ORDERS_EOVERFLOW:
		httpd_reply_error(req, 422, "amount_too_large",
				  "one checkout may hold at most %d stores and Rp%d in all (a QRIS payment's limit)",
				  ORDER_GROUP_MAX, QRIS_AMOUNT_MAX);
		break;
	default:
		httpd_reply_store_error(req, status);
		break;
	}
	free(ck);
}

/* Reads the cart's lines. Returns 0, or -1 with c filled. */
static int checkout_read_lines(struct body_check *c, const json_t *items, struct checkout *ck)
{
	static const char *const line_keys[] = { "product_id", "quantity", NULL };
	size_t i;
	json_t *line;
	if (!json_is_array(items) || json_array_size(items) < 1 || json_array_size(items) > ORDER_ITEMS_MAX) {
		body_fail(c, "items", "must be a list of 1 to 50 lines");
		return -1;
	}
	json_array_foreach(items, i, line) {
		struct checkout_line *l = &ck->lines[i];
		if (!json_is_object(line)) {
			body_fail(c, "items", "must hold objects {product_id, quantity}");
			return -1;
		}
		if (!body_only(c, line, line_keys))
			return -1;
		l->product_id = (uint64_t)body_int(c, line, "product_id", true, 1, INT64_MAX, 0);
		l->qty = body_int(c, line, "quantity", true, 1, ORDER_QTY_MAX, 0);
		if (c->failed)
			return -1;
		for (size_t j = 0; j < i; j++) {
			if (ck->lines[j].product_id == l->product_id) {
				body_fail(c, "items", "must name each product once");
				return -1;
			}
		}
	}
	ck->nlines = json_array_size(items);
	return 0;
}

/* Reads where the goods go. Returns 0, or -1 with c filled. */
static int checkout_read_address(struct body_check *c, const json_t *to, struct order_address *out)
{
	static const char *const keys[] = { "name", "phone", "address", "city", "postal_code", "lat_e6", "lng_e6", NULL };
	const char *name, *phone, *address, *city, *postal;
	if (!json_is_object(to)) {
		body_fail(c, "ship_to", "must be an object {name, phone, address, city, postal_code}");
		return -1;
	}
	if (!body_only(c, to, keys))
		return -1;
	name = body_str(c, to, "name", true, 1, ORDER_NAME_MAX);
	phone = body_str(c, to, "phone", true, 6, ORDER_PHONE_MAX);
	address = body_str(c, to, "address", true, 1, ORDER_ADDRESS_MAX);
	city = body_str(c, to, "city", true, 1, ORDER_CITY_MAX);
	postal = body_str(c, to, "postal_code", true, 5, ORDER_POSTAL_MAX);
	if (c->failed)
		return -1;
	for (const char *p = phone + (phone[0] == '+'); *p; p++) {
		if (*p < '0' || *p > '9') {
			body_fail(c, "phone", "must be digits, optionally after a leading +");
			return -1;
		}
	}
	for (const char *p = postal; *p; p++) {
		if (*p < '0' || *p > '9') {
			body_fail(c, "postal_code", "must be digits");
			return -1;
		}
	}
	snprintf(out->name, sizeof(out->name), "%s", name);
	snprintf(out->phone, sizeof(out->phone), "%s", phone);
	snprintf(out->address, sizeof(out->address), "%s", address);
	snprintf(out->city, sizeof(out->city), "%s", city);
	snprintf(out->postal_code, sizeof(out->postal_code), "%s", postal);
	return order_read_coords(c, to, &out->has_coords, &out->lat_e6, &out->lng_e6);
}

/* Reads the couriers chosen: {"<store id>": "<rate token>", ...}, optional. Returns 0, or -1 with c filled. */
static int checkout_read_rates(struct body_check *c, const json_t *shipping, struct checkout *ck)
{
	const char *key;
	json_t *token;
	if (!shipping || json_is_null(shipping))
		return 0;
	if (!json_is_object(shipping) || json_object_size(shipping) > ORDER_GROUP_MAX) {
		body_fail(c, "shipping", "must be an object of at most 10 store ids, each with a rate token");
		return -1;
	}
	json_object_foreach((json_t *)shipping, key, token) {
		char *end;
		unsigned long long id = strtoull(key, &end, 10);
		if (!*key || *end || key[0] == '-' || id == 0 || !json_is_string(token) ||
		    json_string_length(token) > SHIPMENTS_TOKEN_MAX) {
			body_fail(c, "shipping", "must map store ids to rate tokens from POST /api/v1/shipping/rates");
			return -1;
		}
		ck->rates[ck->nrates].merchant_id = id;
		snprintf(ck->rates[ck->nrates].token, sizeof(ck->rates[0].token), "%s", json_string_value(token));
		ck->nrates++;
	}
	return 0;
}

void order_handle_checkout(struct httpd_req *req, void *ctx)
{
	static const char *const keys[] = { "items", "ship_to", "shipping", NULL };
	struct orders *o = ctx;
	struct body_check c = { 0 };
	struct checkout *ck;
	json_t *body;
	int rc;

	if (httpd_json_body(req, &body) != 0)
		return;
	ck = calloc(1, sizeof(*ck));
	if (!ck) {
		httpd_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	if (body_only(&c, body, keys) && checkout_read_lines(&c, json_object_get(body, "items"), ck) == 0 &&
	    checkout_read_address(&c, json_object_get(body, "ship_to"), &ck->ship_to) == 0)
		checkout_read_rates(&c, json_object_get(body, "shipping"), ck);
	if (c.failed) {
		httpd_reply_error(req, 400, body_error_code(&c), "%s %s", c.field, c.reason);
		goto free_ck;
	}
	if (idem_begin(req, "checkout", &ck->idem) != 0)
		goto free_ck;
	/* A checkout takes stock and money: a retry must never make a second one. */
	if (!ck->idem.present) {
		httpd_reply_error(req, 400, "idempotency_key_required", "a checkout needs an Idempotency-Key header");
		goto free_ck;
	}
	if (ledger_id_new(&ck->group_id) != LEDGER_OK) {
		httpd_reply_error(req, 500, "internal", "no id could be made");
		goto free_ck;
	}
	ck->o = o;
	ck->req = req;
	ck->buyer_id = httpd_principal(req)->user_id;
	ck->created_ms = clock_now_ms();
	rc = store_submit(o->store, checkout_apply, checkout_done, ck);
	if (rc == STORE_OK)
		return;
	httpd_reply_store_error(req, rc);
free_ck:
	free(ck);
}
