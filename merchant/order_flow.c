/* The orders' state machine, their money, and the rules that run on timers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "log.h"
#include "merchants.h"
#include "order_internal.h"
#include "record.h"
#include "store.h"

#define ORDER_REFUND_RETRY_MS 60000    /* a failed refund is tried again after this */

/* Which states each state may move to. */
static bool order_may_move(uint8_t from, uint8_t to)
{
	switch (from) {
	case ORDER_AWAITING_PAYMENT: return to == ORDER_PAID || to == ORDER_CANCELLED;
	case ORDER_PAID: return to == ORDER_CONFIRMED || to == ORDER_CANCELLED;
	case ORDER_CONFIRMED: return to == ORDER_SHIPPED || to == ORDER_CANCELLED;
	case ORDER_SHIPPED: return to == ORDER_DELIVERED || to == ORDER_CANCELLED;
	case ORDER_DELIVERED: return to == ORDER_COMPLETED || to == ORDER_DISPUTED;
	case ORDER_DISPUTED: return to == ORDER_COMPLETED || to == ORDER_REFUNDED;
	case ORDER_CANCELLED: return to == ORDER_REFUNDED;
	default: return false;
	}
}

int order_commission(int64_t goods, int64_t bps, int64_t *out)
{
	/* goods <= 10^13 and bps <= 5000 keep the product far inside int64. */
	if (goods < 0 || goods > 10000000000000LL || bps < 0 || bps > 10000)
		return ORDERS_EOVERFLOW;
	*out = (goods * bps + 5000) / 10000;
	return 0;
}

/* A transfer of the order; its id derives from the order and `what`, so a re-run posts nothing twice. */
static void order_transfer(const struct order *ord, const char *what, struct ledger_id debit, struct ledger_id credit,
			   int64_t amount, uint16_t code, struct ledger_transfer *t)
{
	char key[64];
	snprintf(key, sizeof(key), "order:%llu:%s", (unsigned long long)ord->id, what);
	memset(t, 0, sizeof(*t));
	ledger_id_derive((uint64_t)ord->created_ms, key, strlen(key), &t->id);
	t->debit_account_id = debit;
	t->credit_account_id = credit;
	t->amount = amount;
	t->ledger = LEDGER_IDR;
	t->code = code;
	t->user_data_128 = ord->group_id;
	t->user_data_64 = ord->id;
	t->user_data_32 = (uint32_t)ord->merchant_id;
}

/*
 * Releases the order's escrow, less what was refunded, in one linked chain:
 * the goods kept less the commission on them to the merchant, the
 * commission to the platform, the shipping fee to the courier.
 */
static int order_release(struct orders *o, MDB_txn *txn, const struct order *ord)
{
	struct ledger_transfer t[3];
	struct ledger_id escrow = payments_platform_account("escrow"), courier;
	struct merchant *mc = malloc(sizeof(*mc));
	uint32_t results[3];
	int64_t goods = ord->subtotal - ord->refunded, commission;
	size_t n = 0;
	int rc;
	if (!mc)
		return STORE_ENOMEM;
	rc = merchants_get(o->merchants, txn, ord->merchant_id, mc);
	if (rc == 0 && (goods < 0 || order_commission(goods, ord->commission_bps, &commission) != 0))
		rc = ORDERS_EOVERFLOW;
	if (rc != 0)
		goto free_mc;
	if (goods - commission > 0)
		order_transfer(ord, "release", escrow, mc->payable, goods - commission, LEDGER_CODE_RELEASE, &t[n++]);
	if (commission > 0)
		order_transfer(ord, "commission", escrow, payments_platform_account("platform:fees"), commission,
			       LEDGER_CODE_COMMISSION, &t[n++]);
	if (ord->shipping > 0 && !ledger_id_is_zero(&ord->shipment_id)) {
		if ((rc = shipments_payee(o->shipments, txn, &ord->shipment_id, &courier)) != 0)
			goto free_mc;
		order_transfer(ord, "shipping", escrow, courier, ord->shipping, LEDGER_CODE_SHIPPING, &t[n++]);
	}
	for (size_t i = 0; i + 1 < n; i++)
		t[i].flags |= LEDGER_LINKED;
	if (n == 0)
		goto free_mc;
	rc = ledger_create_transfers(o->ledger, txn, t, n, results);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (results[i] != LEDGER_R_OK && results[i] != LEDGER_R_EXISTS) {
			log_msg(LOG_ERROR, "orders", "release of order %llu refused: %s", (unsigned long long)ord->id,
				ledger_result_name(results[i]));
			rc = ORDERS_ELEDGER;
		}
	}
free_mc:
	free(mc);
	return rc;
}

/* Gives the order's stock back. */
static int order_restock(struct orders *o, MDB_txn *txn, const struct order *ord)
{
	for (uint8_t i = 0; i < ord->nitems; i++) {
		int rc = products_release(o->products, txn, ord->items[i].product_id, ord->items[i].qty);
		/* A product deleted since is nothing to give back to. */
		if (rc != 0 && rc != STORE_ENOTFOUND)
			return rc;
	}
	return 0;
}

/* Starts giving `amount` back; the refund's end moves the order to `then`. */
static int order_start_refund(struct orders *o, MDB_txn *txn, struct order *ord, int64_t amount, uint8_t then)
{
	ord->refund_due = amount;
	ord->resolution = then;
	/* Refunds are due at once: key time 0 keeps them first in the index. */
	return order_due_put(o, txn, 0, ord->id, DUE_REFUND, false);
}

/* Makes the order's shipment with the courier chosen at checkout, from the store to the buyer. */
static int order_ship(struct orders *o, MDB_txn *txn, struct order *ord)
{
	struct merchant *mc = malloc(sizeof(*mc));
	struct courier_item items[ORDER_ITEMS_MAX];
	struct shipments_new n = { 0 };
	int rc = mc ? merchants_get(o->merchants, txn, ord->merchant_id, mc) : STORE_ENOMEM;
	if (rc != 0)
		goto free_mc;
	for (uint8_t i = 0; i < ord->nitems; i++)
		items[i] = (struct courier_item){ .name = ord->items[i].title, .value = ord->items[i].price,
						  .weight_g = ord->items[i].weight_g, .qty = ord->items[i].qty };
	n.order_id = ord->id;
	n.merchant_id = ord->merchant_id;
	n.buyer_id = ord->buyer_id;
	n.choice = &ord->courier;
	n.origin = (struct courier_place){ .name = mc->name, .phone = mc->phone, .address = mc->address,
					   .postal_code = mc->postal_code, .has_coords = mc->has_coords,
					   .lat_e6 = mc->lat_e6, .lng_e6 = mc->lng_e6 };
	n.destination = (struct courier_place){ .name = ord->ship_to.name, .phone = ord->ship_to.phone,
						.address = ord->ship_to.address, .postal_code = ord->ship_to.postal_code,
						.has_coords = ord->ship_to.has_coords, .lat_e6 = ord->ship_to.lat_e6,
						.lng_e6 = ord->ship_to.lng_e6 };
	n.items = items;
	n.nitems = ord->nitems;
	n.created_ms = ord->created_ms;
	rc = shipments_create(o->shipments, txn, &n, &ord->shipment_id);
free_mc:
	free(mc);
	return rc;
}

int order_move(struct orders *o, MDB_txn *txn, struct order *ord, uint8_t to, uint64_t actor, const char *note)
{
	int64_t now = clock_now_ms();
	uint8_t was = ord->state;
	int rc = 0;
	if (!order_may_move(was, to))
		return ORDERS_ESTATE;
	switch (to) {
	case ORDER_PAID:
		ord->paid_ms = now;
		rc = order_due_put(o, txn, now + o->cfg.confirm_within_s * 1000, ord->id, DUE_CONFIRM, false);
		break;
	case ORDER_CONFIRMED:
		rc = order_due_put(o, txn, ord->paid_ms + o->cfg.confirm_within_s * 1000, ord->id, DUE_CONFIRM, true);
		if (rc == 0 && ord->courier.module[0])
			rc = order_ship(o, txn, ord);
		break;
	case ORDER_CANCELLED:
		rc = order_restock(o, txn, ord);
		if (rc == 0 && was == ORDER_PAID)
			rc = order_due_put(o, txn, ord->paid_ms + o->cfg.confirm_within_s * 1000, ord->id, DUE_CONFIRM,
					   true);
		/* Paid orders get their money back; unpaid ones had none. */
		if (rc == 0 && was != ORDER_AWAITING_PAYMENT)
			rc = order_start_refund(o, txn, ord, ord->total, ORDER_REFUNDED);
		break;
	case ORDER_DELIVERED:
		ord->delivered_ms = now;
		rc = order_due_put(o, txn, now + o->cfg.complete_after_s * 1000, ord->id, DUE_COMPLETE, false);
		break;
	case ORDER_DISPUTED:
		rc = order_due_put(o, txn, ord->delivered_ms + o->cfg.complete_after_s * 1000, ord->id, DUE_COMPLETE,
				   true);
		break;
	case ORDER_COMPLETED:
		if (was == ORDER_DELIVERED)
			rc = order_due_put(o, txn, ord->delivered_ms + o->cfg.complete_after_s * 1000, ord->id,
					   DUE_COMPLETE, true);
		if (rc == 0)
			rc = order_release(o, txn, ord);
		break;
	case ORDER_REFUNDED:
	case ORDER_SHIPPED:
	default:
		break;
	}
	if (rc != 0)
		return rc;
	ord->state = to;
	order_event_add(ord, now, to, actor, note);
	return order_store(o, txn, ord, was);
}

/* --- the payment's outcome --- */

int order_on_payment(MDB_txn *txn, const struct payments_order_change *c, void *ctx)
{
	struct orders *o = ctx;
	struct order_group g;
	struct order *ord;
	uint8_t to;
	const char *note;
	int rc;
	if (c->state == PAY_STATE_PAID) {
		to = ORDER_PAID;
		note = "payment received";
	} else {
		to = ORDER_CANCELLED;
		note = c->state == PAY_STATE_EXPIRED ? "payment expired: stock given back" :
						       "payment ended unpaid: stock given back";
	}
	rc = order_group_load(o, txn, &c->group_id, &g);
	if (rc != 0)
		return rc == STORE_ENOTFOUND ? 0 : rc;
	ord = malloc(sizeof(*ord));
	if (!ord)
		return STORE_ENOMEM;
	for (uint8_t i = 0; rc == 0 && i < g.norders; i++) {
		rc = order_load(o, txn, g.order_ids[i], ord);
		if (rc != 0)
			break;
		if (ord->state == ORDER_AWAITING_PAYMENT) {
			rc = order_move(o, txn, ord, to, 0, note);
		} else if (to == ORDER_PAID && ord->state == ORDER_CANCELLED && ord->refund_due == 0) {
			/* Cancelled before the money came: its share of the payment goes back. */
			rc = order_start_refund(o, txn, ord, ord->total, ORDER_REFUNDED);
			if (rc == 0) {
				order_event_add(ord, c->at_ms, ORDER_CANCELLED, 0, "paid after it was cancelled: refunding");
				rc = order_store(o, txn, ord, ord->state);
			}
		}
	}
	free(ord);
	return rc;
}

/* --- the courier's outcome --- */

int order_on_shipment(MDB_txn *txn, const struct shipments_change *c, void *ctx)
{
	struct orders *o = ctx;
	struct order *ord = malloc(sizeof(*ord));
	int rc = ord ? order_load(o, txn, c->order_id, ord) : STORE_ENOMEM;
	if (rc != 0)
		goto free_ord;
	switch (c->state) {
	case SHIP_PICKED:
	case SHIP_IN_TRANSIT:
		if (ord->state == ORDER_CONFIRMED)
			rc = order_move(o, txn, ord, ORDER_SHIPPED, 0, "picked up by the courier");
		break;
	case SHIP_DELIVERED:
		/* A courier may report delivery without reporting the pickup first. */
		if (ord->state == ORDER_CONFIRMED)
			rc = order_move(o, txn, ord, ORDER_SHIPPED, 0, "picked up by the courier");
		if (rc == 0 && ord->state == ORDER_SHIPPED)
			rc = order_move(o, txn, ord, ORDER_DELIVERED, 0, "delivered by the courier");
		break;
	case SHIP_RETURNED:
	case SHIP_FAILED:
	case SHIP_CANCELLED:
		if (ord->state == ORDER_CONFIRMED || ord->state == ORDER_SHIPPED)
			rc = order_move(o, txn, ord, ORDER_CANCELLED, 0, c->note);
		break;
	default:
		break;
	}
free_ord:
	free(ord);
	return rc;
}

/* --- refunds --- */

/* A refund that came back: the job that records it. */
struct refund_done {
	struct orders *o;
	struct order_refund *slot;
	int status;                      /* of the refund */
};

static int order_apply_refunded(MDB_txn *txn, void *arg)
{
	struct refund_done *rd = arg;
	struct orders *o = rd->o;
	struct order *ord = malloc(sizeof(*ord));
	char note[96];
	int rc;
	if (!ord)
		return STORE_ENOMEM;
	rc = order_load(o, txn, rd->slot->order_id, ord);
	if (rc != 0 || ord->refund_due <= ord->refunded)
		goto free_ord;
	ord->refunded = ord->refund_due;
	snprintf(note, sizeof(note), "refunded %lld", (long long)ord->refunded);
	if ((rc = order_due_put(o, txn, 0, ord->id, DUE_REFUND, true)) == 0)
		rc = order_move(o, txn, ord, ord->resolution, 0, note);
free_ord:
	free(ord);
	return rc;
}

static void order_refunded_done(int status, void *arg)
{
	struct refund_done *rd = arg;
	if (status != 0) {
		log_msg(LOG_WARN, "orders", "refund of order %llu could not be recorded: %d",
			(unsigned long long)rd->slot->order_id, status);
		rd->slot->retry_ms = clock_now_ms() + ORDER_REFUND_RETRY_MS;
	}
	rd->slot->busy = false;
	free(rd);
}

static void order_on_refund(int status, void *arg)
{
	struct refund_done *rd = arg;
	if (status != 0) {
		log_msg(LOG_WARN, "orders", "refund of order %llu failed (%d): trying again later",
			(unsigned long long)rd->slot->order_id, status);
		rd->slot->retry_ms = clock_now_ms() + ORDER_REFUND_RETRY_MS;
		rd->slot->busy = false;
		free(rd);
		return;
	}
	if (store_submit(rd->o->store, order_apply_refunded, order_refunded_done, rd) != STORE_OK)
		order_refunded_done(STORE_EBUSY, rd);
}

/* The slot of a payment's refund in flight, or a free one (NULL when all are taken). */
static struct order_refund *order_refund_slot(struct orders *o, const struct ledger_id *payment, uint64_t order_id,
					      bool *busy)
{
	struct order_refund *free_slot = NULL;
	*busy = false;
	for (size_t i = 0; i < ORDER_REFUNDS_MAX; i++) {
		struct order_refund *s = &o->refunds[i];
		if (s->busy && (s->order_id == order_id || memcmp(s->payment_id.b, payment->b, 16) == 0)) {
			*busy = true;
			return NULL;
		}
		if (!s->busy && s->order_id == order_id)
			return s;
		if (!s->busy && !free_slot && (s->retry_ms == 0 || s->retry_ms <= clock_now_ms()))
			free_slot = s;
	}
	return free_slot;
}

/* Starts the refund of one order, unless its payment has one in flight or it failed a moment ago. */
static void order_refund(struct orders *o, uint64_t order_id)
{
	struct order *ord = malloc(sizeof(*ord));
	struct order_refund *slot;
	struct refund_done *rd;
	MDB_txn *txn;
	char key[32];
	bool busy;
	int rc;
	if (!ord)
		return;
	rc = store_read_begin(o->store, &txn);
	if (rc == 0) {
		rc = order_load(o, txn, order_id, ord);
		store_read_end(o->store, txn);
	}
	if (rc != 0 || ord->refund_due <= ord->refunded)
		goto free_ord;
	slot = order_refund_slot(o, &ord->payment_id, ord->id, &busy);
	if (!slot || busy || (slot->retry_ms && slot->retry_ms > clock_now_ms()))
		goto free_ord;
	rd = calloc(1, sizeof(*rd));
	if (!rd)
		goto free_ord;
	slot->busy = true;
	slot->order_id = ord->id;
	slot->payment_id = ord->payment_id;
	slot->retry_ms = 0;
	rd->o = o;
	rd->slot = slot;
	/* One refund per order: the provider's key makes a repeat the same refund. */
	snprintf(key, sizeof(key), "order-%llu", (unsigned long long)ord->id);
	rc = payments_refund(o->payments, &ord->payment_id, ord->refund_due - ord->refunded, key, order_on_refund, rd);
	if (rc != 0) {
		log_msg(LOG_WARN, "orders", "refund of order %llu cannot start (%d)", (unsigned long long)ord->id, rc);
		slot->busy = false;
		slot->retry_ms = clock_now_ms() + ORDER_REFUND_RETRY_MS;
		free(rd);
	}
free_ord:
	free(ord);
}

/* --- the sweep --- */

struct sweep_entry {
	int64_t due_ms;
	uint64_t order_id;
	uint8_t kind;
};

struct order_sweep {
	struct orders *o;
	int64_t now;
	size_t n;
	struct sweep_entry entries[ORDER_SWEEP_MAX];
};

/* Runs one due rule within txn: deletes the entry, then acts if the order still waits for it. */
static int order_sweep_one(struct orders *o, MDB_txn *txn, int64_t now, const struct sweep_entry *e,
			   struct order *ord)
{
	int rc = order_due_put(o, txn, e->due_ms, e->order_id, e->kind, true);
	if (rc != 0)
		return rc;
	rc = order_load(o, txn, e->order_id, ord);
	if (rc == STORE_ENOTFOUND)
		return 0;
	if (rc != 0)
		return rc;
	if (e->kind == DUE_CONFIRM && ord->state == ORDER_PAID &&
	    now >= ord->paid_ms + o->cfg.confirm_within_s * 1000)
		return order_move(o, txn, ord, ORDER_CANCELLED, 0, "not confirmed in time: cancelled and refunded");
	if (e->kind == DUE_COMPLETE && ord->state == ORDER_DELIVERED &&
	    now >= ord->delivered_ms + o->cfg.complete_after_s * 1000)
		return order_move(o, txn, ord, ORDER_COMPLETED, 0, "completed after the complaint window");
	/* Due early (the setting changed) or no longer needed: put it back where it belongs. */
	if (e->kind == DUE_CONFIRM && ord->state == ORDER_PAID)
		return order_due_put(o, txn, ord->paid_ms + o->cfg.confirm_within_s * 1000, ord->id, DUE_CONFIRM,
				     false);
	if (e->kind == DUE_COMPLETE && ord->state == ORDER_DELIVERED)
		return order_due_put(o, txn, ord->delivered_ms + o->cfg.complete_after_s * 1000, ord->id,
				     DUE_COMPLETE, false);
	return 0;
}

static int order_apply_sweep(MDB_txn *txn, void *arg)
{
	struct order_sweep *sw = arg;
	struct order *ord = malloc(sizeof(*ord));
	int rc = ord ? 0 : STORE_ENOMEM;
	for (size_t i = 0; rc == 0 && i < sw->n; i++) {
		rc = order_sweep_one(sw->o, txn, sw->now, &sw->entries[i], ord);
		/* A rule that cannot move its order is logged and dropped; the others still run. */
		if (rc == ORDERS_ESTATE || rc == ORDERS_ELEDGER || rc == ORDERS_EOVERFLOW) {
			log_msg(LOG_ERROR, "orders", "rule %u of order %llu failed: %d", (unsigned)sw->entries[i].kind,
				(unsigned long long)sw->entries[i].order_id, rc);
			rc = 0;
		}
	}
	free(ord);
	return rc;
}

static void order_sweep_done(int status, void *arg)
{
	struct order_sweep *sw = arg;
	sw->o->sweeping = false;
	if (status != 0)
		log_msg(LOG_WARN, "orders", "rules sweep failed: %s", store_strerror(status));
	free(sw);
}

/* The refunds waiting, gathered by the sweep before it starts them. */
struct sweep_refunds {
	size_t n;
	uint64_t ids[ORDER_SWEEP_MAX];
};

static bool order_take_refund(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct sweep_refunds *r = arg;
	(void)v;
	if (k->mv_size != 17)
		return false;
	r->ids[r->n++] = record_be64_get((const uint8_t *)k->mv_data + 8);
	return true;
}

static bool order_take_rule(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct order_sweep *sw = arg;
	const uint8_t *key = k->mv_data;
	struct sweep_entry *e = &sw->entries[sw->n];
	(void)v;
	if (k->mv_size != 17)
		return false;
	e->due_ms = (int64_t)record_be64_get(key);
	e->order_id = record_be64_get(key + 8);
	e->kind = key[16];
	sw->n++;
	return true;
}

void order_on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct orders *o = arg;
	struct sweep_refunds refunds = { 0 };
	struct order_sweep *sw;
	uint8_t timed[8];
	MDB_val from = { sizeof(timed), timed };
	(void)fd;
	(void)what;
	/* Refunds sit at time 0, before every timed rule: each kind gets its own bounded pass. */
	if (store_scan_due(o->store, o->due, NULL, 0, ORDER_SWEEP_MAX, order_take_refund, &refunds) == STORE_OK)
		for (size_t i = 0; i < refunds.n; i++)
			order_refund(o, refunds.ids[i]);
	if (o->sweeping || !(sw = calloc(1, sizeof(*sw))))
		return;
	sw->o = o;
	sw->now = clock_now_ms();
	record_be64_put(timed, 1);
	if (store_sweep(o->store, o->due, &from, sw->now, ORDER_SWEEP_MAX, order_take_rule, order_apply_sweep,
			order_sweep_done, sw) != STORE_OK) {
		free(sw);
		return;
	}
	o->sweeping = true;
}
