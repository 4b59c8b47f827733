/* The orders' endpoints (besides the checkout) and the module's life cycle. */
#include "orders.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "clock.h"
#include "httpd.h"
#include "log.h"
#include "merchants.h"
#include "order_internal.h"
#include "record.h"
#include "role.h"
#include "router.h"
#include "store.h"

#define ORDER_SCAN_MAX 1000           /* index entries one listing reads at most */

/* --- who may see an order --- */

static bool order_is_buyer(const struct order *ord, const struct httpd_principal *who)
{
	return who->role == ROLE_SHOPPER && who->user_id == ord->buyer_id;
}

/* Within txn: true when the caller runs the order's store. */
static bool order_is_owner(struct orders *o, MDB_txn *txn, const struct order *ord, const struct httpd_principal *who)
{
	struct merchant *mc;
	bool owner = false;
	if (who->role != ROLE_MERCHANT || !(mc = malloc(sizeof(*mc))))
		return false;
	owner = merchants_get(o->merchants, txn, ord->merchant_id, mc) == 0 && mc->owner_user_id == who->user_id;
	free(mc);
	return owner;
}

static bool order_may_see(struct orders *o, MDB_txn *txn, const struct order *ord, const struct httpd_principal *who)
{
	return who->role == ROLE_ADMIN || who->role == ROLE_AUDITOR || order_is_buyer(ord, who) ||
	       order_is_owner(o, txn, ord, who);
}

/* --- reading --- */

void order_group_reply(struct orders *o, struct httpd_req *req, const struct ledger_id *group_id, int status)
{
	const struct httpd_principal *who = httpd_principal(req);
	struct order_group g;
	struct order *ord = malloc(sizeof(*ord));
	json_t *reply = NULL, *orders = json_array(), *payment = NULL;
	MDB_txn *txn;
	int rc = ord ? store_read_begin(o->store, &txn) : STORE_ENOMEM;
	if (rc != 0)
		goto reply;
	rc = order_group_load(o, txn, group_id, &g);
	if (rc == 0 && !(who->role == ROLE_ADMIN || who->role == ROLE_AUDITOR || who->user_id == g.buyer_id))
		rc = ORDERS_ESTATE;
	for (uint8_t i = 0; rc == 0 && i < g.norders; i++) {
		rc = order_load(o, txn, g.order_ids[i], ord);
		if (rc == 0)
			json_array_append_new(orders, order_json(ord));
	}
	if (rc == 0)
		rc = payments_json(o->payments, txn, &g.payment_id, &payment);
	store_read_end(o->store, txn);
	if (rc == 0) {
		reply = order_group_json(&g);
		json_object_set_new(reply, "orders", orders);
		json_object_set_new(reply, "payment", payment);
		orders = NULL;
	}
reply:
	if (rc == 0)
		httpd_reply_json(req, status, reply);
	else if (rc == STORE_ENOTFOUND)
		httpd_reply_error(req, 404, "not_found", "no such order group");
	else if (rc == ORDERS_ESTATE)
		httpd_reply_error(req, 403, "forbidden", "not your order");
	else
		httpd_reply_store_error(req, rc);
	json_decref(orders);
	free(ord);
}

static void order_handle_group(struct httpd_req *req, void *ctx)
{
	struct ledger_id id;
	if (ledger_id_parse(httpd_param(req, "id"), &id) != LEDGER_OK) {
		httpd_reply_error(req, 404, "not_found", "no such order group");
		return;
	}
	order_group_reply(ctx, req, &id, 200);
}

/* Loads the order named by {id} within txn. Replies and returns -1 when there is none. */
static int order_load_param(struct orders *o, struct httpd_req *req, MDB_txn *txn, struct order *out)
{
	uint64_t id;
	int rc;
	if (httpd_param_u64(req, "id", &id) != 0) {
		httpd_reply_error(req, 404, "not_found", "no such order");
		return -1;
	}
	rc = order_load(o, txn, id, out);
	if (rc == STORE_ENOTFOUND)
		httpd_reply_error(req, 404, "not_found", "no such order");
	else if (rc != 0)
		httpd_reply_store_error(req, rc);
	return rc == 0 ? 0 : -1;
}

/* The buyer's delivery PIN, on orders the city's couriers deliver. */
static void order_add_pin(struct orders *o, const struct order *ord, const struct httpd_principal *who, json_t *j)
{
	char pin[7];
	if (!order_is_buyer(ord, who) || strcmp(ord->courier.module, "local") != 0 ||
	    ledger_id_is_zero(&ord->shipment_id))
		return;
	shipments_pin(o->shipments, &ord->shipment_id, pin);
	json_object_set_new(j, "delivery_pin", json_string(pin));
}

/* The order's way to the buyer: its shipment's timeline, courier, plate and link. */
static void order_handle_tracking(struct httpd_req *req, void *ctx)
{
	struct orders *o = ctx;
	const struct httpd_principal *who = httpd_principal(req);
	struct order *ord = malloc(sizeof(*ord));
	json_t *shipment = NULL, *reply;
	MDB_txn *txn;
	bool may = false;
	int rc = ord ? store_read_begin(o->store, &txn) : STORE_ENOMEM;
	if (rc != 0) {
		httpd_reply_store_error(req, rc);
		free(ord);
		return;
	}
	if (order_load_param(o, req, txn, ord) != 0) {
		store_read_end(o->store, txn);
		free(ord);
		return;
	}
	if ((may = order_may_see(o, txn, ord, who)) && !ledger_id_is_zero(&ord->shipment_id))
		rc = shipments_tracking_json(o->shipments, txn, &ord->shipment_id, &shipment);
	store_read_end(o->store, txn);
	if (rc != 0) {
		httpd_reply_store_error(req, rc);
	} else if (!may) {
		httpd_reply_error(req, 403, "forbidden", "not your order");
	} else {
		reply = json_pack("{s:I, s:s, s:o}", "order_id", (json_int_t)ord->id, "state", order_state_name(ord->state),
				  "shipment", shipment ? shipment : json_null());
		order_add_pin(o, ord, who, reply);
		httpd_reply_json(req, 200, reply);
	}
	free(ord);
}

static void order_handle_get(struct httpd_req *req, void *ctx)
{
	struct orders *o = ctx;
	struct order *ord = malloc(sizeof(*ord));
	MDB_txn *txn;
	bool may;
	int rc = ord ? store_read_begin(o->store, &txn) : STORE_ENOMEM;
	if (rc != 0) {
		httpd_reply_store_error(req, rc);
		free(ord);
		return;
	}
	rc = order_load_param(o, req, txn, ord);
	may = rc == 0 && order_may_see(o, txn, ord, httpd_principal(req));
	store_read_end(o->store, txn);
	if (rc == 0 && !may)
		httpd_reply_error(req, 403, "forbidden", "not your order");
	else if (rc == 0) {
		json_t *j = order_json(ord);
		order_add_pin(o, ord, httpd_principal(req), j);
		httpd_reply_json(req, 200, j);
	}
	free(ord);
}

/*
 * The query of a listing: state filter, direction, cursor, limit. The
 * cursor is the last entry's state and id, "S.ID" walking up and "dS.ID"
 * walking down, so a cursor cannot be taken the wrong way.
 */
struct order_query {
	uint8_t state;                   /* 0: any */
	bool desc;                       /* newest (highest key) first */
	bool has_cursor;
	uint8_t after_state;             /* the cursor: the last entry's state and id */
	uint64_t after_id;
	long limit;
};

/* Reads the query. Returns 0, or replies 400 and returns -1. */
static int order_read_query(struct httpd_req *req, struct order_query *q)
{
	const char *state = httpd_query(req, "state"), *cursor = httpd_query(req, "cursor");
	const char *limit = httpd_query(req, "limit"), *order = httpd_query(req, "order");
	unsigned long long id;
	unsigned st;
	char *end;
	int n = 0;
	memset(q, 0, sizeof(*q));
	q->limit = 20;
	if (state && order_state_parse(state, &q->state) != 0) {
		httpd_reply_error(req, 400, "invalid_field", "state is not an order state");
		return -1;
	}
	if (order && strcmp(order, "asc") != 0 && strcmp(order, "desc") != 0) {
		httpd_reply_error(req, 400, "invalid_field", "order must be asc or desc");
		return -1;
	}
	q->desc = order && strcmp(order, "desc") == 0;
	if (cursor) {
		bool down = cursor[0] == 'd';
		const char *c = cursor + (down ? 1 : 0);
		const char *dot = strchr(c, '.');
		if (sscanf(c, "%u.%llu%n", &st, &id, &n) != 2 || c[n] || st > 255 || !(c[0] >= '0' && c[0] <= '9') ||
		    !(dot && dot[1] >= '0' && dot[1] <= '9')) {
			httpd_reply_error(req, 400, "invalid_field", "cursor is not a cursor of this list");
			return -1;
		}
		if (down != q->desc) {
			httpd_reply_error(req, 400, "invalid_field", "cursor is a cursor of order=%s",
					  down ? "desc" : "asc");
			return -1;
		}
		q->has_cursor = true;
		q->after_state = (uint8_t)st;
		q->after_id = id;
	}
	if (limit) {
		errno = 0;
		q->limit = strtol(limit, &end, 10);
		if (errno || end == limit || *end || q->limit < 1 || q->limit > ORDER_LIST_MAX) {
			httpd_reply_error(req, 400, "invalid_field", "limit must be 1 to %d", ORDER_LIST_MAX);
			return -1;
		}
	}
	return 0;
}

/*
 * The keys a listing walks: [prefix 8] | [state 1] | order id 8. The orders
 * themselves (id only), a buyer's (prefix), a store's (prefix, state).
 */
struct order_keys {
	MDB_dbi dbi;
	bool with_prefix, with_state;
	uint64_t prefix;
};

#define ORDER_KEY_MAX 17              /* [prefix 8] | [state 1] | order id 8 */

/* Writes the listing key of (state, id) into key. Returns its length. */
static size_t order_key_put(const struct order_keys *ks, uint8_t key[ORDER_KEY_MAX], uint8_t state, uint64_t id)
{
	size_t n = 0;
	if (ks->with_prefix) {
		record_be64_put(key, ks->prefix);
		n = 8;
	}
	if (ks->with_state)
		key[n++] = state;
	record_be64_put(key + n, id);
	return n + 8;
}

/*
 * Puts the cursor on the listing's first entry: the range's end (lo walking
 * up, hi walking down) or, past the cursor's key `at` (when it lies inside
 * the range), the entry after it in the walk's direction. Returns 0 or an
 * LMDB status (MDB_NOTFOUND: none).
 */
static int order_list_first(MDB_txn *txn, const struct order_keys *ks, MDB_cursor *cur, const MDB_val *lo,
			    const MDB_val *hi, const MDB_val *at, bool desc, MDB_val *k, MDB_val *v)
{
	bool past = at && (desc ? mdb_cmp(txn, ks->dbi, at, hi) < 0 : mdb_cmp(txn, ks->dbi, at, lo) > 0);
	const MDB_val *from = past ? at : desc ? hi : lo;
	int rc;
	if (desc)
		return store_cursor_last_upto(cur, from, past, k, v);
	*k = *from;
	rc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
	return rc == 0 && past && mdb_cmp(txn, ks->dbi, k, from) == 0 ? mdb_cursor_get(cur, k, v, MDB_NEXT) : rc;
}

/*
 * Lists orders in key order (q->desc: backwards) after the cursor, those in
 * q->state only when it is set. Reads at most ORDER_SCAN_MAX entries, so a
 * page may be short while it has a next cursor.
 */
static void order_list(struct orders *o, struct httpd_req *req, const struct order_keys *ks, const struct order_query *q)
{
	const size_t plen = ks->with_prefix ? 8 : 0;
	struct order *ord = malloc(sizeof(*ord));
	json_t *items = json_array(), *reply;
	uint8_t lokey[ORDER_KEY_MAX], hikey[ORDER_KEY_MAX], atkey[ORDER_KEY_MAX], last_state = 0;
	const size_t klen = order_key_put(ks, lokey, q->state, 0), idoff = klen - 8;
	MDB_val lo = { klen, lokey }, hi = { klen, hikey }, at = { klen, atkey }, k, v;
	MDB_cursor *cur = NULL;
	MDB_txn *txn;
	uint64_t last_id = 0;
	size_t scanned = 0;
	bool more = false;
	int rc = ord ? store_read_begin(o->store, &txn) : STORE_ENOMEM;
	if (rc != 0) {
		httpd_reply_store_error(req, rc);
		goto free_all;
	}
	order_key_put(ks, hikey, q->state ? q->state : UINT8_MAX, UINT64_MAX);
	order_key_put(ks, atkey, q->after_state, q->after_id);
	rc = mdb_cursor_open(txn, ks->dbi, &cur);
	for (rc = rc ? rc : order_list_first(txn, ks, cur, &lo, &hi, q->has_cursor ? &at : NULL, q->desc, &k, &v);
	     rc == 0; rc = mdb_cursor_get(cur, &k, &v, q->desc ? MDB_PREV : MDB_NEXT)) {
		const uint8_t *kb = k.mv_data;
		if (k.mv_size != klen || mdb_cmp(txn, ks->dbi, &k, &lo) < 0 || mdb_cmp(txn, ks->dbi, &k, &hi) > 0)
			break;
		if ((long)json_array_size(items) == q->limit || ++scanned > ORDER_SCAN_MAX) {
			more = true;
			break;
		}
		last_state = ks->with_state ? kb[plen] : 0;
		last_id = record_be64_get(kb + idoff);
		if ((rc = order_load(o, txn, last_id, ord)) != 0)
			break;
		if (!q->state || ord->state == q->state)
			json_array_append_new(items, order_json(ord));
	}
	if (cur)
		mdb_cursor_close(cur);
	store_read_end(o->store, txn);
	if (rc != 0 && rc != MDB_NOTFOUND && !more) {
		httpd_reply_store_error(req, rc < 0 ? rc : store_status_from_mdb(rc));
		goto free_all;
	}
	reply = json_pack("{s:o}", "items", items);
	items = NULL;
	if (more) {
		char next[32];
		snprintf(next, sizeof(next), "%s%u.%llu", q->desc ? "d" : "", (unsigned)last_state,
			 (unsigned long long)last_id);
		json_object_set_new(reply, "next_cursor", json_string(next));
	} else {
		json_object_set_new(reply, "next_cursor", json_null());
	}
	httpd_reply_json(req, 200, reply);
free_all:
	json_decref(items);
	free(ord);
}

static void order_handle_mine(struct httpd_req *req, void *ctx)
{
	struct orders *o = ctx;
	struct order_query q;
	if (order_read_query(req, &q) == 0)
		order_list(o, req, &(struct order_keys){ o->by_buyer, true, false, httpd_principal(req)->user_id }, &q);
}

static void order_handle_store_orders(struct httpd_req *req, void *ctx)
{
	struct orders *o = ctx;
	const struct httpd_principal *who = httpd_principal(req);
	struct order_query q;
	struct merchant *mc = malloc(sizeof(*mc));
	uint64_t id;
	MDB_txn *txn;
	int rc = mc ? 0 : STORE_ENOMEM;
	if (rc == 0 && httpd_param_u64(req, "id", &id) != 0)
		rc = STORE_ENOTFOUND;
	if (rc == 0 && (rc = store_read_begin(o->store, &txn)) == 0) {
		rc = merchants_get(o->merchants, txn, id, mc);
		store_read_end(o->store, txn);
	}
	if (rc == STORE_ENOTFOUND)
		httpd_reply_error(req, 404, "not_found", "no such merchant");
	else if (rc != 0)
		httpd_reply_store_error(req, rc);
	else if (who->role != ROLE_AUDITOR && !merchants_may_manage(mc, who))
		httpd_reply_error(req, 403, "forbidden", "not your store");
	else if (order_read_query(req, &q) == 0)
		order_list(o, req, &(struct order_keys){ o->by_merchant, true, true, id }, &q);
	free(mc);
}

/* The city officer's list: every store's orders, or those in one state (`state`: disputed ones to resolve). */
static void order_handle_admin_list(struct httpd_req *req, void *ctx)
{
	struct orders *o = ctx;
	struct order_query q;
	if (order_read_query(req, &q) == 0)
		order_list(o, req, &(struct order_keys){ o->orders, false, false, 0 }, &q);
}

/* --- actions --- */

enum order_actor { ACTOR_BUYER = 1, ACTOR_OWNER = 2, ACTOR_ADMIN = 4 };

struct order_action {
	const char *name;
	uint8_t to;
	unsigned actors;                  /* who may, besides the route's role check */
	unsigned roles;
};

static const struct order_action order_actions[] = {
	{ "confirm", ORDER_CONFIRMED, ACTOR_OWNER | ACTOR_ADMIN, ROLE_MERCHANT | ROLE_ADMIN },
	{ "reject", ORDER_CANCELLED, ACTOR_OWNER | ACTOR_ADMIN, ROLE_MERCHANT | ROLE_ADMIN },
	{ "ship", ORDER_SHIPPED, ACTOR_OWNER | ACTOR_ADMIN, ROLE_MERCHANT | ROLE_ADMIN },
	{ "cancel", ORDER_CANCELLED, ACTOR_BUYER | ACTOR_ADMIN, ROLE_SHOPPER | ROLE_ADMIN },
	{ "deliver", ORDER_DELIVERED, ACTOR_ADMIN, ROLE_ADMIN },
	{ "receive", ORDER_COMPLETED, ACTOR_BUYER, ROLE_SHOPPER },
	{ "complaint", ORDER_DISPUTED, ACTOR_BUYER, ROLE_SHOPPER },
	{ "resolve", 0, ACTOR_ADMIN, ROLE_ADMIN },
};
#define ORDER_NACTIONS (sizeof(order_actions) / sizeof(order_actions[0]))
_Static_assert(ORDER_NACTIONS <= ORDER_ACTIONS_MAX, "one binding per action");

enum order_outcome { RESOLVE_RELEASE = 1, RESOLVE_PARTIAL, RESOLVE_FULL };

/* One action in flight. */
struct order_act {
	struct orders *o;
	struct httpd_req *req;
	const struct order_action *action;
	struct httpd_principal who;
	uint64_t order_id;
	char note[ORDER_NOTE_MAX + 1];
	uint8_t outcome;                  /* resolve only */
	int64_t refund;                   /* partial_refund only */
	/* Filled by the job: */
	bool forbidden;
	bool exceeds;                     /* a partial refund not below the goods' subtotal */
	const char *refusal;              /* why the state refused it, beyond "not from this state" */
	struct order ord;
};

/* What the caller is to the order (ACTOR_* bits). */
static unsigned order_actor_of(struct orders *o, MDB_txn *txn, const struct order *ord, const struct httpd_principal *who)
{
	if (who->role == ROLE_ADMIN)
		return ACTOR_ADMIN;
	if (order_is_buyer(ord, who))
		return ACTOR_BUYER;
	return order_is_owner(o, txn, ord, who) ? ACTOR_OWNER : 0;
}

/* An admin's resolution of a complaint: release, or refund first and then release or end. */
static int order_resolve(struct orders *o, MDB_txn *txn, struct order_act *a)
{
	struct order *ord = &a->ord;
	char note[ORDER_NOTE_MAX + 96];      /* the event keeps the first ORDER_NOTE_MAX bytes */
	int rc;
	if (ord->state != ORDER_DISPUTED)
		return ORDERS_ESTATE;
	if (ord->refund_due > ord->refunded) {
		a->refusal = "a refund of this order is already running";
		return ORDERS_ESTATE;
	}
	if (a->outcome == RESOLVE_RELEASE)
		return order_move(o, txn, ord, ORDER_COMPLETED, a->who.user_id, a->note[0] ? a->note : "complaint resolved: released");
	if (a->outcome == RESOLVE_PARTIAL && a->refund >= ord->subtotal) {
		a->exceeds = true;
		return ORDERS_ESTATE;
	}
	ord->refund_due = a->outcome == RESOLVE_FULL ? ord->total : a->refund;
	ord->resolution = a->outcome == RESOLVE_FULL ? ORDER_REFUNDED : ORDER_COMPLETED;
	snprintf(note, sizeof(note), "complaint resolved: refund of %lld started%s%s", (long long)ord->refund_due,
		 a->note[0] ? ": " : "", a->note);
	order_event_add(ord, clock_now_ms(), ORDER_DISPUTED, a->who.user_id, note);
	rc = order_due_put(o, txn, 0, ord->id, DUE_REFUND, false);
	return rc ? rc : order_store(o, txn, ord, ord->state);
}

static int order_apply_action(MDB_txn *txn, void *arg)
{
	struct order_act *a = arg;
	struct orders *o = a->o;
	struct order *ord = &a->ord;
	unsigned actor;
	int rc = order_load(o, txn, a->order_id, ord);
	a->forbidden = false;
	a->exceeds = false;
	a->refusal = NULL;
	if (rc != 0)
		return rc;
	actor = order_actor_of(o, txn, ord, &a->who);
	if (!(actor & a->action->actors)) {
		a->forbidden = true;
		return 0;
	}
	if (a->action->to == 0)
		return order_resolve(o, txn, a);
	/* With a courier, the courier reports pickup, delivery and a failed delivery. */
	if (ord->courier.module[0] && (a->action->to == ORDER_SHIPPED || a->action->to == ORDER_DELIVERED)) {
		a->refusal = "this order's courier reports its pickup and delivery";
		return ORDERS_ESTATE;
	}
	if (ord->state == ORDER_SHIPPED && a->action->to == ORDER_CANCELLED) {
		a->refusal = "a shipped order comes back through its courier";
		return ORDERS_ESTATE;
	}
	/* With a shipment made, cancelling it cancels the order (through the shipments' listener). */
	if (a->action->to == ORDER_CANCELLED && !ledger_id_is_zero(&ord->shipment_id)) {
		bool refused;
		char note[ORDER_NOTE_MAX + 1];
		snprintf(note, sizeof(note), "%s", a->note[0] ? a->note : a->action->name);
		rc = shipments_cancel(o->shipments, txn, &ord->shipment_id, note, &refused);
		if (rc == 0 && refused) {
			a->refusal = "the parcel is already with the courier";
			return ORDERS_ESTATE;
		}
		return rc ? rc : order_load(o, txn, a->order_id, ord);
	}
	/* A buyer may cancel only before the merchant confirmed. */
	if (actor == ACTOR_BUYER && a->action->to == ORDER_CANCELLED && ord->state != ORDER_PAID) {
		a->refusal = "a buyer may cancel only a paid order the store has not confirmed";
		return ORDERS_ESTATE;
	}
	if (a->action->to == ORDER_DISPUTED) {
		if (ord->state == ORDER_DELIVERED && clock_now_ms() >= ord->delivered_ms + o->cfg.complete_after_s * 1000) {
			a->refusal = "the complaint window has closed";
			return ORDERS_ESTATE;
		}
		snprintf(ord->complaint, sizeof(ord->complaint), "%s", a->note);
	}
	return order_move(o, txn, ord, a->action->to, a->who.user_id, a->note[0] ? a->note : a->action->name);
}

static void order_action_done(int status, void *arg)
{
	struct order_act *a = arg;
	const char *state = order_state_name(a->ord.state);
	if (status == 0 && a->forbidden)
		httpd_reply_error(a->req, 403, "forbidden", "not your order");
	else if (status == 0)
		httpd_reply_json(a->req, 200, order_json(&a->ord));
	else if (status == ORDERS_ESTATE && a->exceeds)
		httpd_reply_error(a->req, 422, "exceeds_refundable",
				  "refund_amount must be less than the goods' subtotal of %lld (or a full_refund)",
				  (long long)a->ord.subtotal);
	else if (status == ORDERS_ESTATE && a->refusal)
		httpd_reply_state_error(a->req, 409, "invalid_state", state, "%s (the order is %s)", a->refusal, state);
	else if (status == ORDERS_ESTATE)
		httpd_reply_state_error(a->req, 409, "invalid_state", state, "cannot %s an order that is %s",
					a->action->name, state);
	else if (status == STORE_ENOTFOUND)
		httpd_reply_error(a->req, 404, "not_found", "no such order");
	else if (status == ORDERS_ELEDGER || status == ORDERS_EOVERFLOW)
		httpd_reply_error(a->req, 500, "internal", "the ledger refused the order's money movement");
	else
		httpd_reply_store_error(a->req, status);
	free(a);
}

/* Reads the action's body: an optional note ("reason"), and the resolution's fields. Returns 0 or -1 (replied). */
static int order_read_action(struct httpd_req *req, struct order_act *a)
{
	static const char *const keys[] = { "reason", NULL };
	static const char *const resolve_keys[] = { "reason", "outcome", "refund_amount", NULL };
	struct body_check c = { 0 };
	const char *reason, *outcome;
	size_t len;
	json_t *body;
	bool is_resolve = a->action->to == 0, is_complaint = a->action->to == ORDER_DISPUTED;
	httpd_body(req, &len);
	/* An action without anything to say may come without a body. */
	if (len == 0 && !is_resolve && !is_complaint)
		return 0;
	if (httpd_json_body(req, &body) != 0)
		return -1;
	body_only(&c, body, is_resolve ? resolve_keys : keys);
	reason = body_str(&c, body, "reason", is_complaint, 1, ORDER_NOTE_MAX);
	if (is_resolve) {
		outcome = body_str(&c, body, "outcome", true, 1, 16);
		if (!c.failed && strcmp(outcome, "release") == 0)
			a->outcome = RESOLVE_RELEASE;
		else if (!c.failed && strcmp(outcome, "partial_refund") == 0)
			a->outcome = RESOLVE_PARTIAL;
		else if (!c.failed && strcmp(outcome, "full_refund") == 0)
			a->outcome = RESOLVE_FULL;
		else
			body_fail(&c, "outcome", "must be release, partial_refund or full_refund");
		a->refund = body_int(&c, body, "refund_amount", a->outcome == RESOLVE_PARTIAL, 1, INT64_MAX, 0);
		if (!c.failed && a->outcome != RESOLVE_PARTIAL && json_object_get(body, "refund_amount"))
			body_fail(&c, "refund_amount", "is only for a partial_refund");
	}
	if (!c.failed && reason) {
		for (const char *p = reason; *p; p++)
			if ((unsigned char)*p < 0x20)
				body_fail(&c, "reason", "must not hold control characters");
	}
	if (c.failed) {
		httpd_reply_error(req, 400, body_error_code(&c), "%s %s", c.field, c.reason);
		return -1;
	}
	if (reason)
		snprintf(a->note, sizeof(a->note), "%s", reason);
	return 0;
}

static void order_handle_action(struct httpd_req *req, void *ctx)
{
	const struct order_binding *b = ctx;
	const struct order_action *action = b->action;
	struct orders *o = b->o;
	struct order_act *a = calloc(1, sizeof(*a));
	int rc;
	if (!a) {
		httpd_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	a->o = o;
	a->req = req;
	a->action = action;
	a->who = *httpd_principal(req);
	if (httpd_param_u64(req, "id", &a->order_id) != 0) {
		httpd_reply_error(req, 404, "not_found", "no such order");
		goto free_act;
	}
	if (order_read_action(req, a) != 0)
		goto free_act;
	rc = store_submit(o->store, order_apply_action, order_action_done, a);
	if (rc == STORE_OK)
		return;
	httpd_reply_store_error(req, rc);
free_act:
	free(a);
}

/* --- life cycle --- */

int orders_open(struct store *store, struct ledger *ledger, struct merchants *merchants, struct products *products,
		struct payments *payments, struct shipments *shipments, struct idem *idem, struct orders **out)
{
	struct orders *o = calloc(1, sizeof(*o));
	int rc;
	if (!o)
		return STORE_ENOMEM;
	o->store = store;
	o->ledger = ledger;
	o->merchants = merchants;
	o->products = products;
	o->payments = payments;
	o->shipments = shipments;
	o->idem = idem;
	if ((rc = store_dbi_open(store, "orders", 0, &o->orders)) != 0 ||
	    (rc = store_dbi_open(store, "order_groups", 0, &o->groups)) != 0 ||
	    (rc = store_dbi_open(store, "order_buyer", 0, &o->by_buyer)) != 0 ||
	    (rc = store_dbi_open(store, "order_merchant", 0, &o->by_merchant)) != 0 ||
	    (rc = store_dbi_open(store, "order_due", 0, &o->due)) != 0) {
		free(o);
		return rc;
	}
	payments_on_order(payments, order_on_payment, o);
	shipments_on_change(shipments, order_on_shipment, o);
	*out = o;
	return 0;
}

int orders_start(struct orders *o, struct event_base *base, const struct orders_config *cfg)
{
	struct timeval second = { 1, 0 };
	o->cfg = *cfg;
	if (o->cfg.confirm_within_s <= 0)
		o->cfg.confirm_within_s = 172800;
	if (o->cfg.complete_after_s <= 0)
		o->cfg.complete_after_s = 172800;
	if (o->cfg.commission_bps < 0 || o->cfg.commission_bps > 5000)
		o->cfg.commission_bps = 300;
	o->sweep_timer = event_new(base, -1, EV_PERSIST, order_on_sweep, o);
	return o->sweep_timer && event_add(o->sweep_timer, &second) == 0 ? 0 : -1;
}

int orders_attach(struct orders *o, struct httpd *h)
{
	char path[64];
	int rc;
	if ((rc = httpd_route(h, ROUTER_POST, "/api/v1/checkout", ROLE_SHOPPER, order_handle_checkout, o)) ||
	    (rc = httpd_route(h, ROUTER_GET, "/api/v1/order-groups/{id}", ROLE_SHOPPER | ROLE_ADMIN | ROLE_AUDITOR,
			      order_handle_group, o)) ||
	    (rc = httpd_route(h, ROUTER_GET, "/api/v1/orders", ROLE_SHOPPER, order_handle_mine, o)) ||
	    (rc = httpd_route(h, ROUTER_GET, "/api/v1/admin/orders", ROLE_ADMIN | ROLE_AUDITOR, order_handle_admin_list,
			      o)) ||
	    (rc = httpd_route(h, ROUTER_GET, "/api/v1/orders/{id}", ROLE_ANY, order_handle_get, o)) ||
	    (rc = httpd_route(h, ROUTER_GET, "/api/v1/orders/{id}/tracking", ROLE_ANY, order_handle_tracking, o)) ||
	    (rc = httpd_route(h, ROUTER_POST, "/api/v1/shipping/rates", ROLE_PUBLIC, order_handle_rates, o)) ||
	    (rc = httpd_route(h, ROUTER_GET, "/api/v1/merchants/{id}/orders", ROLE_MERCHANT | ROLE_ADMIN | ROLE_AUDITOR,
			      order_handle_store_orders, o)))
		return rc;
	for (size_t i = 0; i < ORDER_NACTIONS; i++) {
		snprintf(path, sizeof(path), "/api/v1/orders/{id}/%s", order_actions[i].name);
		o->bindings[i].o = o;
		o->bindings[i].action = &order_actions[i];
		if ((rc = httpd_route(h, ROUTER_POST, path, order_actions[i].roles, order_handle_action, &o->bindings[i])))
			return rc;
	}
	return 0;
}

void orders_stop(struct orders *o)
{
	if (o && o->sweep_timer) {
		event_free(o->sweep_timer);
		o->sweep_timer = NULL;
	}
}

void orders_free(struct orders *o)
{
	orders_stop(o);
	free(o);
}
