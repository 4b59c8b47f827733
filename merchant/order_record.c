/* The orders' records, keys, indexes and JSON. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "order_internal.h"
#include "record.h"
#include "store.h"

#define ORDER_VERSION 2
#define ORDER_FIELDS 35               /* before the items and the timeline */
#define ORDER_ITEM_FIELDS 5
#define ORDER_EVENT_FIELDS 4
#define GROUP_VERSION 1
#define GROUP_FIELDS 5                /* before the order ids */

static const char *const order_state_names[] = {
	[ORDER_AWAITING_PAYMENT] = "awaiting_payment", [ORDER_PAID] = "paid",
	[ORDER_CONFIRMED] = "confirmed",               [ORDER_SHIPPED] = "shipped",
	[ORDER_DELIVERED] = "delivered",               [ORDER_COMPLETED] = "completed",
	[ORDER_CANCELLED] = "cancelled",               [ORDER_REFUNDED] = "refunded",
	[ORDER_DISPUTED] = "disputed",
};
#define ORDER_NSTATES (sizeof(order_state_names) / sizeof(order_state_names[0]))

const char *order_state_name(uint8_t state)
{
	return state > 0 && state < ORDER_NSTATES ? order_state_names[state] : "unknown";
}

int order_state_parse(const char *name, uint8_t *out)
{
	for (uint8_t i = 1; i < ORDER_NSTATES; i++) {
		if (strcmp(order_state_names[i], name) == 0) {
			*out = i;
			return 0;
		}
	}
	return -1;
}

void order_time_text(int64_t ms, char *out, size_t cap)
{
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	if (ms <= 0) {
		snprintf(out, cap, "%s", "");
		return;
	}
	gmtime_r(&secs, &tm);
	snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		 tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

/* The ship-to strings in their stored order: one table for reading and writing. */
#define ADDR_STR(field) { offsetof(struct order_address, field), sizeof(((struct order_address *)0)->field) }
static const struct {
	size_t offset, size;
} order_addr_strs[] = {
	ADDR_STR(name), ADDR_STR(phone), ADDR_STR(address), ADDR_STR(city), ADDR_STR(postal_code),
};
#define ORDER_NADDR (sizeof(order_addr_strs) / sizeof(order_addr_strs[0]))

/* The chosen courier's strings in their stored order. */
#define COURIER_STR(field) { offsetof(struct shipments_choice, field), sizeof(((struct shipments_choice *)0)->field) }
static const struct {
	size_t offset, size;
} order_courier_strs[] = {
	COURIER_STR(module), COURIER_STR(courier_code), COURIER_STR(service_code), COURIER_STR(courier_name),
	COURIER_STR(service_name),
};
#define ORDER_NCOURIER (sizeof(order_courier_strs) / sizeof(order_courier_strs[0]))

static int order_decode(struct record_reader *r, struct order *o)
{
	uint64_t state, resolution, nitems, nevents, ntimeline;
	int64_t lat = 0, lng = 0;
	int rc = record_get_bin_exact(r, o->group_id.b, 16);
	rc = rc ? rc : record_get_bin_exact(r, o->payment_id.b, 16);
	rc = rc ? rc : record_get_u64(r, &o->merchant_id);
	rc = rc ? rc : record_get_u64(r, &o->buyer_id);
	rc = rc ? rc : record_get_u64(r, &state);
	rc = rc ? rc : record_get_i64(r, &o->subtotal);
	rc = rc ? rc : record_get_i64(r, &o->shipping);
	rc = rc ? rc : record_get_i64(r, &o->commission);
	rc = rc ? rc : record_get_i64(r, &o->commission_bps);
	rc = rc ? rc : record_get_i64(r, &o->total);
	rc = rc ? rc : record_get_i64(r, &o->refund_due);
	rc = rc ? rc : record_get_i64(r, &o->refunded);
	rc = rc ? rc : record_get_i64(r, &o->created_ms);
	rc = rc ? rc : record_get_i64(r, &o->paid_ms);
	rc = rc ? rc : record_get_i64(r, &o->delivered_ms);
	rc = rc ? rc : record_get_str(r, o->complaint, sizeof(o->complaint), NULL);
	rc = rc ? rc : record_get_u64(r, &resolution);
	for (size_t i = 0; rc == 0 && i < ORDER_NCOURIER; i++)
		rc = record_get_str(r, (char *)&o->courier + order_courier_strs[i].offset, order_courier_strs[i].size,
				    NULL);
	rc = rc ? rc : record_get_i64(r, &o->courier.price);
	rc = rc ? rc : record_get_bin_exact(r, o->shipment_id.b, 16);
	rc = rc ? rc : record_get_bool(r, &o->ship_to.has_coords);
	rc = rc ? rc : record_get_i64(r, &lat);
	rc = rc ? rc : record_get_i64(r, &lng);
	if (rc == 0 && (lat < -ORDER_LAT_MAX || lat > ORDER_LAT_MAX || lng < -ORDER_LNG_MAX || lng > ORDER_LNG_MAX))
		rc = STORE_ECORRUPT;
	o->ship_to.lat_e6 = (int32_t)lat;
	o->ship_to.lng_e6 = (int32_t)lng;
	for (size_t i = 0; rc == 0 && i < ORDER_NADDR; i++)
		rc = record_get_str(r, (char *)&o->ship_to + order_addr_strs[i].offset, order_addr_strs[i].size, NULL);
	rc = rc ? rc : record_get_u64(r, &nitems);
	rc = rc ? rc : record_get_u64(r, &nevents);
	rc = rc ? rc : record_get_u64(r, &ntimeline);
	if (rc || nitems > ORDER_ITEMS_MAX || ntimeline > ORDER_TIMELINE_MAX ||
	    r->count != ORDER_FIELDS + nitems * ORDER_ITEM_FIELDS + ntimeline * ORDER_EVENT_FIELDS)
		return STORE_ECORRUPT;
	o->state = (uint8_t)state;
	o->resolution = (uint8_t)resolution;
	o->nitems = (uint8_t)nitems;
	o->nevents = nevents;
	o->ntimeline = (uint8_t)ntimeline;
	for (uint8_t i = 0; rc == 0 && i < o->nitems; i++) {
		struct order_item *it = &o->items[i];
		rc = record_get_u64(r, &it->product_id);
		rc = rc ? rc : record_get_str(r, it->title, sizeof(it->title), NULL);
		rc = rc ? rc : record_get_i64(r, &it->price);
		rc = rc ? rc : record_get_i64(r, &it->qty);
		rc = rc ? rc : record_get_i64(r, &it->weight_g);
	}
	for (uint8_t i = 0; rc == 0 && i < o->ntimeline; i++) {
		struct order_event *e = &o->timeline[i];
		uint64_t st;
		rc = record_get_i64(r, &e->at_ms);
		rc = rc ? rc : record_get_u64(r, &st);
		rc = rc ? rc : record_get_u64(r, &e->actor);
		rc = rc ? rc : record_get_str(r, e->note, sizeof(e->note), NULL);
		e->state = (uint8_t)st;
	}
	return rc ? STORE_ECORRUPT : 0;
}

int order_load(struct orders *o, MDB_txn *txn, uint64_t id, struct order *out)
{
	uint8_t key[8];
	MDB_val k = { sizeof(key), key }, v;
	struct record_reader r;
	int rc;
	record_be64_put(key, id);
	rc = mdb_get(txn, o->orders, &k, &v);
	if (rc != 0)
		return store_status_from_mdb(rc);
	if (record_reader_open(&r, v.mv_data, v.mv_size, ORDER_VERSION, ORDER_FIELDS) != RECORD_OK)
		return STORE_ECORRUPT;
	memset(out, 0, sizeof(*out));
	out->id = id;
	rc = order_decode(&r, out);
	record_reader_free(&r);
	return rc;
}

/* The merchant index key: merchant 8 | state 1 | order 8, so a state filter is one range. */
static void order_merchant_key(uint8_t key[17], const struct order *ord, uint8_t state)
{
	record_be64_put(key, ord->merchant_id);
	key[8] = state;
	record_be64_put(key + 9, ord->id);
}

int order_store(struct orders *o, MDB_txn *txn, const struct order *ord, uint8_t was)
{
	struct record_writer w;
	uint8_t key[8], mkey[17];
	MDB_val k = { sizeof(key), key }, v, mk = { sizeof(mkey), mkey };
	size_t len;
	int rc;
	record_writer_init(&w, ORDER_VERSION,
			   ORDER_FIELDS + (uint32_t)ord->nitems * ORDER_ITEM_FIELDS +
				   (uint32_t)ord->ntimeline * ORDER_EVENT_FIELDS);
	record_put_bin(&w, ord->group_id.b, 16);
	record_put_bin(&w, ord->payment_id.b, 16);
	record_put_u64(&w, ord->merchant_id);
	record_put_u64(&w, ord->buyer_id);
	record_put_u64(&w, ord->state);
	record_put_i64(&w, ord->subtotal);
	record_put_i64(&w, ord->shipping);
	record_put_i64(&w, ord->commission);
	record_put_i64(&w, ord->commission_bps);
	record_put_i64(&w, ord->total);
	record_put_i64(&w, ord->refund_due);
	record_put_i64(&w, ord->refunded);
	record_put_i64(&w, ord->created_ms);
	record_put_i64(&w, ord->paid_ms);
	record_put_i64(&w, ord->delivered_ms);
	record_put_str(&w, ord->complaint, strlen(ord->complaint));
	record_put_u64(&w, ord->resolution);
	for (size_t i = 0; i < ORDER_NCOURIER; i++) {
		const char *c = (const char *)&ord->courier + order_courier_strs[i].offset;
		record_put_str(&w, c, strlen(c));
	}
	record_put_i64(&w, ord->courier.price);
	record_put_bin(&w, ord->shipment_id.b, 16);
	record_put_bool(&w, ord->ship_to.has_coords);
	record_put_i64(&w, ord->ship_to.lat_e6);
	record_put_i64(&w, ord->ship_to.lng_e6);
	for (size_t i = 0; i < ORDER_NADDR; i++) {
		const char *s = (const char *)&ord->ship_to + order_addr_strs[i].offset;
		record_put_str(&w, s, strlen(s));
	}
	record_put_u64(&w, ord->nitems);
	record_put_u64(&w, ord->nevents);
	record_put_u64(&w, ord->ntimeline);
	for (uint8_t i = 0; i < ord->nitems; i++) {
		const struct order_item *it = &ord->items[i];
		record_put_u64(&w, it->product_id);
		record_put_str(&w, it->title, strlen(it->title));
		record_put_i64(&w, it->price);
		record_put_i64(&w, it->qty);
		record_put_i64(&w, it->weight_g);
	}
	for (uint8_t i = 0; i < ord->ntimeline; i++) {
		const struct order_event *e = &ord->timeline[i];
		record_put_i64(&w, e->at_ms);
		record_put_u64(&w, e->state);
		record_put_u64(&w, e->actor);
		record_put_str(&w, e->note, strlen(e->note));
	}
	v.mv_data = (void *)record_data(&w, &len);
	v.mv_size = len;
	record_be64_put(key, ord->id);
	rc = v.mv_data ? mdb_put(txn, o->orders, &k, &v, was ? 0 : MDB_APPEND) : STORE_ENOMEM;
	record_writer_free(&w);
	if (rc != 0 || was == ord->state)
		return rc;
	if (was) {
		order_merchant_key(mkey, ord, was);
		rc = mdb_del(txn, o->by_merchant, &mk, NULL);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return rc;
	}
	order_merchant_key(mkey, ord, ord->state);
	v.mv_size = 0;
	v.mv_data = mkey;
	return mdb_put(txn, o->by_merchant, &mk, &v, 0);
}

int order_next_id(struct orders *o, MDB_txn *txn, uint64_t *out)
{
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = mdb_cursor_open(txn, o->orders, &cur);
	if (rc != 0)
		return rc;
	rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
	mdb_cursor_close(cur);
	if (rc == MDB_NOTFOUND) {
		*out = 1;
		return 0;
	}
	if (rc != 0 || k.mv_size != 8)
		return rc ? rc : STORE_ECORRUPT;
	*out = record_be64_get(k.mv_data) + 1;
	return 0;
}

int order_index_buyer(struct orders *o, MDB_txn *txn, const struct order *ord)
{
	uint8_t key[16];
	MDB_val k = { sizeof(key), key }, v = { 0, key };
	record_be64_put(key, ord->buyer_id);
	record_be64_put(key + 8, ord->id);
	return mdb_put(txn, o->by_buyer, &k, &v, 0);
}

int order_due_put(struct orders *o, MDB_txn *txn, int64_t due_ms, uint64_t order_id, uint8_t kind, bool del)
{
	uint8_t key[17];
	MDB_val k = { sizeof(key), key }, v = { 0, key };
	int rc;
	record_be64_put(key, (uint64_t)due_ms);
	record_be64_put(key + 8, order_id);
	key[16] = kind;
	if (!del)
		return mdb_put(txn, o->due, &k, &v, 0);
	rc = mdb_del(txn, o->due, &k, NULL);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

int order_group_load(struct orders *o, MDB_txn *txn, const struct ledger_id *id, struct order_group *out)
{
	MDB_val k = { 16, (void *)id->b }, v;
	struct record_reader r;
	uint64_t n;
	int rc = mdb_get(txn, o->groups, &k, &v);
	if (rc != 0)
		return store_status_from_mdb(rc);
	if (record_reader_open(&r, v.mv_data, v.mv_size, GROUP_VERSION, GROUP_FIELDS) != RECORD_OK)
		return STORE_ECORRUPT;
	memset(out, 0, sizeof(*out));
	out->id = *id;
	rc = record_get_bin_exact(&r, out->payment_id.b, 16);
	rc = rc ? rc : record_get_u64(&r, &out->buyer_id);
	rc = rc ? rc : record_get_i64(&r, &out->total);
	rc = rc ? rc : record_get_i64(&r, &out->created_ms);
	rc = rc ? rc : record_get_u64(&r, &n);
	if (rc == 0 && (n > ORDER_GROUP_MAX || r.count != GROUP_FIELDS + n))
		rc = STORE_ECORRUPT;
	out->norders = (uint8_t)n;
	for (uint8_t i = 0; rc == 0 && i < out->norders; i++)
		rc = record_get_u64(&r, &out->order_ids[i]);
	record_reader_free(&r);
	return rc ? STORE_ECORRUPT : 0;
}

int order_group_store(struct orders *o, MDB_txn *txn, const struct order_group *g)
{
	struct record_writer w;
	MDB_val k = { 16, (void *)g->id.b }, v;
	size_t len;
	int rc;
	record_writer_init(&w, GROUP_VERSION, GROUP_FIELDS + g->norders);
	record_put_bin(&w, g->payment_id.b, 16);
	record_put_u64(&w, g->buyer_id);
	record_put_i64(&w, g->total);
	record_put_i64(&w, g->created_ms);
	record_put_u64(&w, g->norders);
	for (uint8_t i = 0; i < g->norders; i++)
		record_put_u64(&w, g->order_ids[i]);
	v.mv_data = (void *)record_data(&w, &len);
	v.mv_size = len;
	rc = v.mv_data ? mdb_put(txn, o->groups, &k, &v, 0) : STORE_ENOMEM;
	record_writer_free(&w);
	return rc;
}

void order_event_add(struct order *ord, int64_t at_ms, uint8_t state, uint64_t actor, const char *note)
{
	struct order_event *e;
	if (ord->ntimeline == ORDER_TIMELINE_MAX) {
		memmove(&ord->timeline[0], &ord->timeline[1], sizeof(ord->timeline[0]) * (ORDER_TIMELINE_MAX - 1));
		ord->ntimeline--;
	}
	e = &ord->timeline[ord->ntimeline++];
	e->at_ms = at_ms;
	e->state = state;
	e->actor = actor;
	snprintf(e->note, sizeof(e->note), "%s", note);
	ord->nevents++;
}

/* A time field: the text, or null when it has not happened. */
static json_t *order_time_json(int64_t ms)
{
	char text[64];
	if (ms <= 0)
		return json_null();
	order_time_text(ms, text, sizeof(text));
	return json_string(text);
}

json_t *order_json(const struct order *ord)
{
	char group[33], payment[33];
	json_t *items = json_array(), *timeline = json_array(), *j;
	for (uint8_t i = 0; i < ord->nitems; i++) {
		const struct order_item *it = &ord->items[i];
		json_array_append_new(items, json_pack("{s:I, s:s, s:I, s:I, s:I, s:I}", "product_id",
						       (json_int_t)it->product_id, "title", it->title, "price",
						       (json_int_t)it->price, "quantity", (json_int_t)it->qty, "weight_g",
						       (json_int_t)it->weight_g, "line_total",
						       (json_int_t)(it->price * it->qty)));
	}
	for (uint8_t i = 0; i < ord->ntimeline; i++) {
		const struct order_event *e = &ord->timeline[i];
		json_t *ev = json_pack("{s:o, s:s, s:s}", "at", order_time_json(e->at_ms), "state",
				       order_state_name(e->state), "note", e->note);
		json_object_set_new(ev, "actor_user_id", e->actor ? json_integer((json_int_t)e->actor) : json_null());
		json_array_append_new(timeline, ev);
	}
	ledger_id_hex(&ord->group_id, group, sizeof(group));
	ledger_id_hex(&ord->payment_id, payment, sizeof(payment));
	j = json_pack("{s:I, s:s, s:s, s:I, s:I, s:s, s:o, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o}", "id",
		      (json_int_t)ord->id, "group_id", group, "payment_id", payment, "merchant_id",
		      (json_int_t)ord->merchant_id, "buyer_user_id", (json_int_t)ord->buyer_id, "state",
		      order_state_name(ord->state), "items", items, "subtotal", (json_int_t)ord->subtotal,
		      "shipping_fee", (json_int_t)ord->shipping, "commission", (json_int_t)ord->commission,
		      "commission_bps", (json_int_t)ord->commission_bps, "total", (json_int_t)ord->total,
		      "refunded", (json_int_t)ord->refunded, "refund_pending",
		      (json_int_t)(ord->refund_due > ord->refunded ? ord->refund_due - ord->refunded : 0),
		      "created_at", order_time_json(ord->created_ms), "paid_at", order_time_json(ord->paid_ms),
		      "delivered_at", order_time_json(ord->delivered_ms));
	if (!j)
		return NULL;
	json_object_set_new(j, "complaint", ord->complaint[0] ? json_string(ord->complaint) : json_null());
	json_object_set_new(j, "ship_to",
			    json_pack("{s:s, s:s, s:s, s:s, s:s}", "name", ord->ship_to.name, "phone", ord->ship_to.phone,
				      "address", ord->ship_to.address, "city", ord->ship_to.city, "postal_code",
				      ord->ship_to.postal_code));
	if (ord->ship_to.has_coords) {
		json_t *to = json_object_get(j, "ship_to");
		json_object_set_new(to, "lat_e6", json_integer(ord->ship_to.lat_e6));
		json_object_set_new(to, "lng_e6", json_integer(ord->ship_to.lng_e6));
	}
	json_object_set_new(j, "timeline", timeline);
	json_object_set_new(j, "timeline_total", json_integer((json_int_t)ord->nevents));
	if (ord->courier.module[0]) {
		char shipment[33];
		json_object_set_new(j, "courier",
				    json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "module", ord->courier.module,
					      "courier_code", ord->courier.courier_code, "service_code",
					      ord->courier.service_code, "courier_name", ord->courier.courier_name,
					      "service_name", ord->courier.service_name, "price",
					      (json_int_t)ord->courier.price));
		ledger_id_hex(&ord->shipment_id, shipment, sizeof(shipment));
		json_object_set_new(j, "shipment_id",
				    ledger_id_is_zero(&ord->shipment_id) ? json_null() : json_string(shipment));
	} else {
		json_object_set_new(j, "courier", json_null());
		json_object_set_new(j, "shipment_id", json_null());
	}
	return j;
}

json_t *order_group_json(const struct order_group *g)
{
	char id[33], payment[33];
	json_t *ids = json_array();
	for (uint8_t i = 0; i < g->norders; i++)
		json_array_append_new(ids, json_integer((json_int_t)g->order_ids[i]));
	ledger_id_hex(&g->id, id, sizeof(id));
	ledger_id_hex(&g->payment_id, payment, sizeof(payment));
	return json_pack("{s:s, s:s, s:I, s:I, s:o, s:o}", "id", id, "payment_id", payment, "buyer_user_id",
			 (json_int_t)g->buyer_id, "total", (json_int_t)g->total, "created_at",
			 order_time_json(g->created_ms), "order_ids", ids);
}

/* --- for auditors --- */

_Static_assert(ORDERS_GROUP_MAX == ORDER_GROUP_MAX, "orders.h states the group bound");

int orders_audit_get(struct orders *o, MDB_txn *txn, uint64_t id, struct orders_audit *out)
{
	struct order *ord = malloc(sizeof(*ord));
	int rc = ord ? order_load(o, txn, id, ord) : STORE_ENOMEM;
	if (rc == 0) {
		out->id = ord->id;
		out->merchant_id = ord->merchant_id;
		out->total = ord->total;
		out->refunded = ord->refunded;
		out->state = order_state_name(ord->state);
		out->completed = ord->state == ORDER_COMPLETED;
		out->shipment_id = ord->shipment_id;
	}
	free(ord);
	return rc;
}

int orders_audit_group(struct orders *o, MDB_txn *txn, const struct ledger_id *group, struct orders_audit *out,
		       size_t *n)
{
	struct order_group g;
	int rc = order_group_load(o, txn, group, &g);
	*n = 0;
	for (uint8_t i = 0; rc == 0 && i < g.norders; i++)
		rc = orders_audit_get(o, txn, g.order_ids[i], &out[i]);
	if (rc == 0)
		*n = g.norders;
	return rc;
}
