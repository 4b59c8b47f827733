/*
 * The orders module's own parts: commission rounding, state names, the
 * timeline's bound, and the order and group records written and read back
 * through a real LMDB store in a temporary folder (full and corrupt).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "order_internal.h"
#include "record.h"
#include "store.h"

static void test_commission_rounds_half_up(void **state)
{
	static const struct {
		int64_t goods, bps, want;
	} cases[] = {
		{ 170000, 300, 5100 },  { 50, 300, 2 },   { 49, 300, 1 },      { 16, 300, 0 },
		{ 17, 300, 1 },         { 0, 300, 0 },    { 999999, 0, 0 },    { 10000000, 5000, 5000000 },
		{ 1, 5000, 1 },         { 3, 5000, 2 },   { 10000000000000LL, 5000, 5000000000000LL },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t got = -1;
		assert_int_equal(order_commission(cases[i].goods, cases[i].bps, &got), 0);
		assert_int_equal(got, cases[i].want);
	}
}

static void test_commission_refuses_out_of_range(void **state)
{
	int64_t got;
	(void)state;
	assert_int_equal(order_commission(-1, 300, &got), ORDERS_EOVERFLOW);
	assert_int_equal(order_commission(10000000000001LL, 300, &got), ORDERS_EOVERFLOW);
	assert_int_equal(order_commission(100, -1, &got), ORDERS_EOVERFLOW);
	assert_int_equal(order_commission(100, 10001, &got), ORDERS_EOVERFLOW);
}

static void test_state_names_round_trip(void **state)
{
	uint8_t st;
	(void)state;
	for (uint8_t s = ORDER_AWAITING_PAYMENT; s <= ORDER_DISPUTED; s++) {
		assert_int_equal(order_state_parse(order_state_name(s), &st), 0);
		assert_int_equal(st, s);
	}
	assert_string_equal(order_state_name(0), "unknown");
	assert_string_equal(order_state_name(200), "unknown");
	assert_int_equal(order_state_parse("PAID", &st), -1);
	assert_int_equal(order_state_parse("", &st), -1);
}

static void test_timeline_keeps_the_newest(void **state)
{
	struct order *ord = calloc(1, sizeof(*ord));
	char note[32];
	(void)state;
	assert_non_null(ord);
	for (int i = 0; i < ORDER_TIMELINE_MAX + 5; i++) {
		snprintf(note, sizeof(note), "event %d", i);
		order_event_add(ord, 1000 + i, ORDER_PAID, 7, note);
	}
	assert_int_equal(ord->ntimeline, ORDER_TIMELINE_MAX);
	assert_int_equal(ord->nevents, ORDER_TIMELINE_MAX + 5);
	assert_string_equal(ord->timeline[0].note, "event 5");
	assert_string_equal(ord->timeline[ORDER_TIMELINE_MAX - 1].note, "event 28");
	assert_int_equal(ord->timeline[0].at_ms, 1005);
	free(ord);
}

/* A store in a temporary folder with the orders' DBIs, without the rest of the module. */
struct fixture {
	char dir[64];
	struct store *s;
	struct orders o;
	struct order *in, *out;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct store_config cfg = { .map_size = 16u << 20, .map_max = 16u << 20 };
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/bangsoleh-orders-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	cfg.path = f->dir;
	if (store_open(&cfg, &f->s) != 0 || store_dbi_open(f->s, "orders", 0, &f->o.orders) != 0 ||
	    store_dbi_open(f->s, "order_groups", 0, &f->o.groups) != 0 ||
	    store_dbi_open(f->s, "order_merchant", 0, &f->o.by_merchant) != 0)
		return -1;
	f->o.store = f->s;
	f->in = calloc(1, sizeof(*f->in));
	f->out = calloc(1, sizeof(*f->out));
	*state = f;
	return f->in && f->out ? 0 : -1;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];
	store_close(f->s);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f->in);
	free(f->out);
	free(f);
	return 0;
}

static int apply_store_order(MDB_txn *txn, void *arg)
{
	struct fixture *f = arg;
	return order_store(&f->o, txn, f->in, 0);
}

static int apply_corrupt(MDB_txn *txn, void *arg)
{
	struct fixture *f = arg;
	uint8_t key[8], junk[] = { 0x93, 0x01, 0xc0, 0xc0 };
	MDB_val k = { sizeof(key), key }, v = { sizeof(junk), junk };
	record_be64_put(key, 99);
	return mdb_put(txn, f->o.orders, &k, &v, 0);
}

/* The fullest order there can be: every item, every timeline slot, every string at its bound. */
static void fill_order(struct order *o)
{
	memset(o, 0, sizeof(*o));
	o->id = 42;
	memset(o->group_id.b, 0xab, 16);
	memset(o->payment_id.b, 0xcd, 16);
	o->merchant_id = 3;
	o->buyer_id = 9;
	o->state = ORDER_DISPUTED;
	o->subtotal = 9999999;
	o->shipping = 12000;
	o->commission = 300000;
	o->commission_bps = 300;
	o->total = 10011999;
	o->refund_due = 5000;
	o->refunded = 4000;
	o->created_ms = 1795819870037;
	o->paid_ms = o->created_ms + 1;
	o->delivered_ms = o->created_ms + 2;
	memset(o->complaint, 'c', ORDER_NOTE_MAX);
	o->resolution = ORDER_COMPLETED;
	memset(o->ship_to.address, 'a', ORDER_ADDRESS_MAX);
	snprintf(o->ship_to.name, sizeof(o->ship_to.name), "Budi");
	o->nitems = ORDER_ITEMS_MAX;
	for (int i = 0; i < ORDER_ITEMS_MAX; i++) {
		o->items[i].product_id = (uint64_t)i + 1;
		memset(o->items[i].title, 'A' + i % 26, PRODUCT_TITLE_MAX);
		o->items[i].price = 1000 + i;
		o->items[i].qty = ORDER_QTY_MAX;
		o->items[i].weight_g = i;
	}
	for (int i = 0; i < ORDER_TIMELINE_MAX; i++)
		order_event_add(o, o->created_ms + i, (uint8_t)(1 + i % 9), (uint64_t)i, "x");
}

static void test_order_record_round_trip(void **state)
{
	struct fixture *f = *state;
	MDB_txn *txn;
	fill_order(f->in);
	assert_int_equal(store_run(f->s, apply_store_order, f), 0);
	assert_int_equal(store_read_begin(f->s, &txn), 0);
	assert_int_equal(order_load(&f->o, txn, 43, f->out), STORE_ENOTFOUND);
	assert_int_equal(order_load(&f->o, txn, 42, f->out), 0);
	store_read_end(f->s, txn);
	assert_memory_equal(f->in, f->out, sizeof(*f->in));
}

static void test_corrupt_order_record_is_an_error(void **state)
{
	struct fixture *f = *state;
	MDB_txn *txn;
	assert_int_equal(store_run(f->s, apply_corrupt, f), 0);
	assert_int_equal(store_read_begin(f->s, &txn), 0);
	assert_int_equal(order_load(&f->o, txn, 99, f->out), STORE_ECORRUPT);
	store_read_end(f->s, txn);
}

struct group_job {
	struct fixture *f;
	struct order_group g;
};

static int apply_store_group(MDB_txn *txn, void *arg)
{
	struct group_job *job = arg;
	return order_group_store(&job->f->o, txn, &job->g);
}

static void test_group_record_round_trip(void **state)
{
	struct group_job job = { .f = *state };
	struct order_group back;
	MDB_txn *txn;
	memset(job.g.id.b, 0x11, 16);
	memset(job.g.payment_id.b, 0x22, 16);
	job.g.buyer_id = 5;
	job.g.total = 10000000;
	job.g.created_ms = 1795819870037;
	job.g.norders = ORDER_GROUP_MAX;
	for (int i = 0; i < ORDER_GROUP_MAX; i++)
		job.g.order_ids[i] = 100 + (uint64_t)i;
	assert_int_equal(store_run(job.f->s, apply_store_group, &job), 0);
	assert_int_equal(store_read_begin(job.f->s, &txn), 0);
	memset(&back, 0, sizeof(back));
	assert_int_equal(order_group_load(&job.f->o, txn, &job.g.id, &back), 0);
	store_read_end(job.f->s, txn);
	assert_memory_equal(&job.g, &back, sizeof(back));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commission_rounds_half_up),
		cmocka_unit_test(test_commission_refuses_out_of_range),
		cmocka_unit_test(test_state_names_round_trip),
		cmocka_unit_test(test_timeline_keeps_the_newest),
		cmocka_unit_test_setup_teardown(test_order_record_round_trip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_order_record_is_an_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_record_round_trip, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
