/*
 * The shipments module's by-courier index: kept by shipment_store with the
 * record, and built on open for a store written before the index existed
 * (a chunk per commit, resumed after a stop), through a real LMDB store in
 * a temporary folder. Also its rules and records: shipment_may_move over
 * every pair of states (holds included), delivery PINs (HMAC-SHA-256 for
 * new shipments, the plain SHA-256 of version 1 records still verified),
 * and version 1 records read and written again as version 2.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "crypto.h"
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

/* --- the state rule --- */

/*
 * Where a shipment is (state, furthest way-out state, held from) and the
 * moves it may make: one '1' or '0' per target, in enum ship_state's order
 * (pending, allocated, picking_up, picked, in_transit, delivered, on_hold,
 * returning, returned, cancelled, failed).
 */
static const struct {
	uint8_t state, progress, held_from;
	const char *allowed;
} moves[] = {
	{ SHIP_PENDING, SHIP_PENDING, 0, "01111111111" },
	{ SHIP_ALLOCATED, SHIP_ALLOCATED, 0, "00111111111" },
	{ SHIP_PICKING_UP, SHIP_PICKING_UP, 0, "00011111111" },
	{ SHIP_PICKED, SHIP_PICKED, 0, "00001111101" },
	{ SHIP_IN_TRANSIT, SHIP_IN_TRANSIT, 0, "00000111101" },
	/* On the way back: never out again, not cancelled once picked up. */
	{ SHIP_RETURNING, SHIP_PICKED, 0, "00000010101" },
	{ SHIP_RETURNING, SHIP_IN_TRANSIT, 0, "00000010101" },
	/* On hold: back to where it was, or on from there. */
	{ SHIP_ON_HOLD, SHIP_PENDING, SHIP_PENDING, "11111101111" },
	{ SHIP_ON_HOLD, SHIP_ALLOCATED, SHIP_ALLOCATED, "01111101111" },
	{ SHIP_ON_HOLD, SHIP_PICKING_UP, SHIP_PICKING_UP, "00111101111" },
	{ SHIP_ON_HOLD, SHIP_PICKED, SHIP_PICKED, "00011101101" },
	{ SHIP_ON_HOLD, SHIP_IN_TRANSIT, SHIP_IN_TRANSIT, "00001101101" },
	/* Held on the way back: only back (the hole this rule closes: picked, in_transit, delivered were allowed). */
	{ SHIP_ON_HOLD, SHIP_PICKED, SHIP_RETURNING, "00000001101" },
	{ SHIP_ON_HOLD, SHIP_IN_TRANSIT, SHIP_RETURNING, "00000001101" },
	/* Held, not known from where (never written so): its furthest way-out state. */
	{ SHIP_ON_HOLD, SHIP_PICKED, 0, "00011101101" },
	{ SHIP_DELIVERED, SHIP_DELIVERED, 0, "00000000000" },
	{ SHIP_RETURNED, SHIP_IN_TRANSIT, 0, "00000000000" },
	{ SHIP_CANCELLED, SHIP_PENDING, 0, "00000000000" },
	{ SHIP_FAILED, SHIP_PICKED, 0, "00000000000" },
};

static void test_may_move_every_pair(void **state)
{
	struct shipment sh;
	bool seen[SHIP_FAILED + 1] = { false };
	(void)state;
	for (size_t i = 0; i < sizeof(moves) / sizeof(moves[0]); i++) {
		assert_int_equal(strlen(moves[i].allowed), SHIP_FAILED);
		seen[moves[i].state] = true;
		memset(&sh, 0, sizeof(sh));
		sh.state = moves[i].state;
		sh.progress = moves[i].progress;
		sh.held_from = moves[i].held_from;
		for (uint8_t to = SHIP_PENDING; to <= SHIP_FAILED; to++) {
			bool want = moves[i].allowed[to - SHIP_PENDING] == '1';
			if (shipment_may_move(&sh, to) != want)
				fail_msg("%s (furthest %s, held from %s) -> %s: want %s",
					 ship_state_name((enum ship_state)sh.state),
					 ship_state_name((enum ship_state)sh.progress),
					 sh.held_from ? ship_state_name((enum ship_state)sh.held_from) : "-",
					 ship_state_name((enum ship_state)to), want ? "allowed" : "refused");
		}
	}
	/* Every state is a starting point of some row. */
	for (uint8_t st = SHIP_PENDING; st <= SHIP_FAILED; st++)
		assert_true(seen[st]);
}

/* A parcel held on its way back is never delivered; shipment_advance remembers where the hold came from. */
struct advance_case {
	struct fixture *f;
	bool moved[4];
};

static int advance_through_hold(MDB_txn *txn, void *arg)
{
	struct advance_case *c = arg;
	struct shipment *sh = &c->f->rec;
	int rc;
	shipment_of(c->f, 7);
	sh->state = sh->progress = SHIP_IN_TRANSIT;
	if ((rc = shipment_advance(c->f->sh, txn, sh, SHIP_RETURNING, "webhook", "e1", NULL, &c->moved[0])) != 0 ||
	    (rc = shipment_advance(c->f->sh, txn, sh, SHIP_ON_HOLD, "webhook", "e2", NULL, &c->moved[1])) != 0)
		return rc;
	assert_int_equal(sh->held_from, SHIP_RETURNING);
	if ((rc = shipment_advance(c->f->sh, txn, sh, SHIP_DELIVERED, "webhook", "e3", NULL, &c->moved[2])) != 0)
		return rc;
	rc = shipment_advance(c->f->sh, txn, sh, SHIP_RETURNING, "webhook", "e4", NULL, &c->moved[3]);
	assert_int_equal(sh->held_from, 0);
	return rc;
}

static void test_hold_on_the_way_back(void **state)
{
	struct fixture *f = *state;
	struct advance_case c = { f, { false } };
	assert_int_equal(store_run(f->s, advance_through_hold, &c), 0);
	assert_true(c.moved[0]);
	assert_true(c.moved[1]);
	assert_false(c.moved[2]);
	assert_true(c.moved[3]);
	assert_int_equal(f->rec.state, SHIP_RETURNING);
}

/* --- PINs and records --- */

/* Makes a shipment through shipments_create (a company's: due at once). OUT: f->rec, its id. */
static int create_one(MDB_txn *txn, void *arg)
{
	struct fixture *f = arg;
	struct shipments_choice choice = { .module = "sandbox", .courier_code = "jne", .service_code = "reg",
					   .price = 9000 };
	struct courier_item item = { "Rendang", 50000, 1000, 1 };
	struct shipments_new n = { .order_id = 42, .merchant_id = 1, .buyer_id = 2, .choice = &choice,
				   .items = &item, .nitems = 1, .created_ms = 1764300000000LL };
	struct ledger_id id;
	int rc = shipments_create(f->sh, txn, &n, &id);
	return rc ? rc : shipment_load(f->sh, txn, &id, &f->rec);
}

static void test_new_pins_are_keyed(void **state)
{
	struct fixture *f = *state;
	struct shipment other;
	uint8_t plain[CRYPTO_SHA256_LEN], again[CRYPTO_SHA256_LEN];
	char pin[7], wrong[7];
	assert_int_equal(store_run(f->s, create_one, f), 0);
	assert_int_equal(f->rec.pin_scheme, SHIPMENT_PIN_HMAC);
	shipments_pin(f->sh, &f->rec.id, pin);
	assert_true(shipment_pin_ok(f->sh, &f->rec, pin));
	/* The last digit changed. */
	memcpy(wrong, pin, sizeof(wrong));
	wrong[5] = wrong[5] == '9' ? '0' : (char)(wrong[5] + 1);
	assert_false(shipment_pin_ok(f->sh, &f->rec, wrong));
	assert_false(shipment_pin_ok(f->sh, &f->rec, "12345"));
	/* Not the plain hash of the digits, and another shipment's hash of the same digits differs. */
	crypto_sha256(pin, 6, plain);
	assert_memory_not_equal(plain, f->rec.pin_hash, sizeof(plain));
	other = f->rec;
	other.id.b[15] ^= 1;
	shipment_pin_hash(f->sh, &other, pin, again);
	assert_memory_not_equal(again, f->rec.pin_hash, sizeof(again));
	/* A hash of an unknown scheme verifies nothing. */
	other = f->rec;
	other.pin_scheme = 0;
	assert_false(shipment_pin_ok(f->sh, &other, pin));
}

/*
 * A version 1 record as the module wrote it before version 2: 22 numbers,
 * 19 strings, the PIN's plain SHA-256, then the timeline. On hold after
 * turning back: pending, picked, returning, on_hold.
 */
#define V1_PIN "482913"
static const uint8_t v1_states[] = { SHIP_PENDING, SHIP_PICKED, SHIP_RETURNING, SHIP_ON_HOLD };

static int write_v1(MDB_txn *txn, void *arg)
{
	struct fixture *f = arg;
	const int64_t nums[22] = { 9, 1, 2, 0, 9000, SHIP_ON_HOLD, SHIP_PICKED, 0, 1, 0, 0, 0, 0, 0, 0, 1000, 50000,
				   1764300000000LL, 1764300100000LL, 4, 4, 0 };
	const char *strs[19] = { "sandbox", "jne", "reg", "JNE", "Reguler", "906aae473b1a58fe2930f986", "SBX1", "",
				 "Budi", "0812", "BA 1 XY", "Warung", "0811", "Jl. Braga 12", "40111", "Ani", "0813",
				 "Jl. Merdeka 5", "40115" };
	uint8_t pin_hash[CRYPTO_SHA256_LEN];
	struct record_writer w;
	MDB_val k, v;
	size_t len;
	int rc;
	shipment_of(f, 9);
	record_writer_init(&w, 1, 22 + 19 + 1 + 4 * 5);
	for (size_t i = 0; i < 22; i++)
		record_put_i64(&w, nums[i]);
	for (size_t i = 0; i < 19; i++)
		record_put_str(&w, strs[i], strlen(strs[i]));
	crypto_sha256(V1_PIN, 6, pin_hash);
	record_put_bin(&w, pin_hash, sizeof(pin_hash));
	for (size_t i = 0; i < sizeof(v1_states); i++) {
		record_put_i64(&w, 1764300000000LL + (int64_t)i);
		record_put_u64(&w, v1_states[i]);
		record_put_str(&w, "webhook", 7);
		record_put_str(&w, "", 0);
		record_put_str(&w, "a step", 6);
	}
	k = (MDB_val){ 16, f->rec.id.b };
	v.mv_data = (void *)record_data(&w, &len);
	v.mv_size = len;
	rc = mdb_put(txn, f->sh->shipments, &k, &v, 0);
	record_writer_free(&w);
	return rc;
}

static int load_rec(MDB_txn *txn, void *arg)
{
	struct fixture *f = arg;
	struct ledger_id id = f->rec.id;
	return shipment_load(f->sh, txn, &id, &f->rec);
}

static int store_rec(MDB_txn *txn, void *arg)
{
	struct fixture *f = arg;
	return shipment_store(f->sh, txn, &f->rec);
}

/* What the version 1 record says, read as it was written or after it was written again (as version 2). */
static void expect_v1_shipment(const struct fixture *f)
{
	const struct shipment *sh = &f->rec;
	assert_int_equal(sh->order_id, 9);
	assert_int_equal(sh->state, SHIP_ON_HOLD);
	assert_int_equal(sh->progress, SHIP_PICKED);
	assert_int_equal(sh->held_from, SHIP_RETURNING);
	assert_int_equal(sh->pin_scheme, SHIPMENT_PIN_SHA256);
	assert_string_equal(sh->provider_id, "906aae473b1a58fe2930f986");
	assert_string_equal(sh->tracking_id, "");
	assert_string_equal(sh->destination.postal_code, "40115");
	assert_int_equal(sh->ntimeline, sizeof(v1_states));
	assert_int_equal(sh->timeline[3].state, SHIP_ON_HOLD);
	assert_true(shipment_pin_ok(f->sh, sh, V1_PIN));
	assert_false(shipment_pin_ok(f->sh, sh, "482914"));
	/* Held on the way back: never out again. */
	assert_false(shipment_may_move(sh, SHIP_DELIVERED));
	assert_false(shipment_may_move(sh, SHIP_IN_TRANSIT));
	assert_true(shipment_may_move(sh, SHIP_RETURNED));
}

static void test_version_1_records(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(store_run(f->s, write_v1, f), 0);
	assert_int_equal(store_run(f->s, load_rec, f), 0);
	expect_v1_shipment(f);
	/* Written again it is version 2 and keeps what version 1 implied; a tracking id now fits. */
	snprintf(f->rec.tracking_id, sizeof(f->rec.tracking_id), "d21445e8d2141f17b1603527");
	assert_int_equal(store_run(f->s, store_rec, f), 0);
	memset(f->rec.tracking_id, 0, sizeof(f->rec.tracking_id));
	assert_int_equal(store_run(f->s, load_rec, f), 0);
	assert_string_equal(f->rec.tracking_id, "d21445e8d2141f17b1603527");
	f->rec.tracking_id[0] = '\0';
	expect_v1_shipment(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_may_move_every_pair),
		cmocka_unit_test_setup_teardown(test_hold_on_the_way_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_new_pins_are_keyed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_version_1_records, setup, teardown),
		cmocka_unit_test_setup_teardown(test_store_keeps_the_index, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_builds_the_index_of_an_older_store, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_resumes_a_build, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
