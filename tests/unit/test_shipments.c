/*
 * The shipments module's by-courier index: kept by shipment_store with the
 * record, and built on open for a store written before the index existed
 * (a chunk per commit, resumed after a stop), through a real LMDB store in
 * a temporary folder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "record.h"
#include "shipment_internal.h"
#include "store.h"
#include "testsrv.h"

/* More than two of shipments.c's chunks (1000), so a build takes three commits. */
#define N_SHIPMENTS 2500
#define N_COURIERS 3

struct fixture {
	char dir[64];
	struct store *s;
	struct shipments *sh;
	struct shipment rec;                    /* scratch */
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct store_config cfg = { .map_size = 64u << 20, .map_max = 64u << 20 };
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/bangsoleh-shipments-XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	cfg.path = f->dir;
	/* The index needs neither the ledger nor the profiles (lent to accepts and payees only). */
	if (store_open(&cfg, &f->s) != 0 || shipments_open(f->s, NULL, NULL, f->dir, &f->sh) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	shipments_free(f->sh);
	store_close(f->s);
	testsrv_rmtree(f->dir);
	free(f);
	return 0;
}

/* Shipment i: taken by courier i % 4 (0: none), delivered when i % 5 == 0, else allocated. */
static void shipment_of(struct fixture *f, uint32_t i)
{
	struct shipment *sh = &f->rec;
	memset(sh, 0, sizeof(*sh));
	record_be64_put(sh->id.b, 1000 + i);
	record_be64_put(sh->id.b + 8, i);
	sh->order_id = i + 1;
	sh->courier_user_id = i % (N_COURIERS + 1);
	sh->state = sh->progress = i % 5 == 0 ? SHIP_DELIVERED : SHIP_ALLOCATED;
	snprintf(sh->choice.module, sizeof(sh->choice.module), "local");
}

static int write_all(MDB_txn *txn, void *arg)
{
	struct fixture *f = arg;
	int rc = 0;
	for (uint32_t i = 0; rc == 0 && i < N_SHIPMENTS; i++) {
		shipment_of(f, i);
		rc = shipment_store(f->sh, txn, &f->rec);
	}
	return rc;
}

/* What an old store has: the records, no index and no marker. */
static int drop_index(MDB_txn *txn, void *arg)
{
	struct fixture *f = arg;
	return mdb_drop(txn, f->sh->by_courier, 0);
}

/* Moves shipment 1 (courier 1, allocated) to delivered through shipment_store. */
static int deliver_one(MDB_txn *txn, void *arg)
{
	struct fixture *f = arg;
	shipment_of(f, 1);
	f->rec.state = f->rec.progress = SHIP_DELIVERED;
	return shipment_store(f->sh, txn, &f->rec);
}

/* The index's entries, each checked against shipment_of; OUT: the counts per list, and the marker's value size. */
struct index_count {
	size_t all, active, entries;
	long marker;                            /* -1: none */
};

static int count_index(MDB_txn *txn, void *arg)
{
	struct fixture *f = ((void **)arg)[0];
	struct index_count *c = ((void **)arg)[1];
	MDB_cursor *cur;
	MDB_val k, v;
	int rc = mdb_cursor_open(txn, f->sh->by_courier, &cur);
	memset(c, 0, sizeof(*c));
	c->marker = -1;
	for (rc = rc ? rc : mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		const uint8_t *kb = k.mv_data;
		uint64_t courier = record_be64_get(kb);
		c->entries++;
		if (courier == 0) {
			assert_int_equal(k.mv_size, 8);
			c->marker = (long)v.mv_size;
			continue;
		}
		assert_int_equal(k.mv_size, SHIPMENT_COURIER_KEY);
		uint32_t i = (uint32_t)record_be64_get(kb + 9 + 8);
		assert_true(i < N_SHIPMENTS);
		assert_int_equal(courier, i % (N_COURIERS + 1));
		if (kb[8] == SHIPMENT_LIST_ALL) {
			c->all++;
		} else {
			assert_int_equal(kb[8], SHIPMENT_LIST_ACTIVE);
			c->active++;
		}
	}
	mdb_cursor_close(cur);
	return rc == MDB_NOTFOUND ? 0 : rc;
}

static void expect_index(struct fixture *f, size_t all, size_t active)
{
	struct index_count c;
	void *args[2] = { f, &c };
	assert_int_equal(store_run(f->s, count_index, args), 0);
	assert_int_equal(c.all, all);
	assert_int_equal(c.active, active);
	assert_int_equal(c.entries, all + active + 1);
	assert_int_equal(c.marker, 0);
}

/* Of shipments from..N_SHIPMENTS: those a courier took (i % 4 != 0), and of them those not delivered (i % 5 != 0). */
static void counts(uint32_t from, size_t *all, size_t *active)
{
	*all = *active = 0;
	for (uint32_t i = from; i < N_SHIPMENTS; i++) {
		*all += i % (N_COURIERS + 1) != 0;
		*active += i % (N_COURIERS + 1) != 0 && i % 5 != 0;
	}
}

static void test_store_keeps_the_index(void **state)
{
	struct fixture *f = *state;
	size_t all, active;
	counts(0, &all, &active);
	assert_int_equal(store_run(f->s, write_all, f), 0);
	expect_index(f, all, active);
	/* Delivered: out of the active list, still in all. */
	assert_int_equal(store_run(f->s, deliver_one, f), 0);
	expect_index(f, all, active - 1);
}

static void test_open_builds_the_index_of_an_older_store(void **state)
{
	struct fixture *f = *state;
	struct index_count c;
	void *args[2] = { f, &c };
	size_t all, active;
	counts(0, &all, &active);
	assert_int_equal(store_run(f->s, write_all, f), 0);
	assert_int_equal(store_run(f->s, drop_index, f), 0);
	assert_int_equal(store_run(f->s, count_index, args), 0);
	assert_int_equal(c.entries, 0);
	shipments_free(f->sh);
	f->sh = NULL;
	assert_int_equal(shipments_open(f->s, NULL, NULL, f->dir, &f->sh), 0);
	expect_index(f, all, active);
	/* Built once: opening again changes nothing. */
	shipments_free(f->sh);
	f->sh = NULL;
	assert_int_equal(shipments_open(f->s, NULL, NULL, f->dir, &f->sh), 0);
	expect_index(f, all, active);
}

/* A build that stopped (the marker names the last shipment indexed, RESUME_AFTER) goes on after it. */
#define RESUME_AFTER 1499

static int mark_half_built(MDB_txn *txn, void *arg)
{
	struct fixture *f = arg;
	static const uint8_t mark[8];
	MDB_val k = { sizeof(mark), (void *)mark }, v;
	int rc = mdb_drop(txn, f->sh->by_courier, 0);
	shipment_of(f, RESUME_AFTER);
	v = (MDB_val){ 16, f->rec.id.b };
	return rc ? rc : mdb_put(txn, f->sh->by_courier, &k, &v, 0);
}

static void test_open_resumes_a_build(void **state)
{
	struct fixture *f = *state;
	size_t all, active;
	counts(RESUME_AFTER + 1, &all, &active);
	assert_int_equal(store_run(f->s, write_all, f), 0);
	assert_int_equal(store_run(f->s, mark_half_built, f), 0);
	shipments_free(f->sh);
	f->sh = NULL;
	assert_int_equal(shipments_open(f->s, NULL, NULL, f->dir, &f->sh), 0);
	expect_index(f, all, active);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_store_keeps_the_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_builds_the_index_of_an_older_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_resumes_a_build, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
