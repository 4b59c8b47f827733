/*
 * The purge (core/purge.c): a pass drops exactly the expired records of a
 * DBI, across chunk boundaries, the first and last keys included, and a
 * second pass finds nothing, and passes started on the loop do the same;
 * the idempotency keys' purge drops keys past their keeping time only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <lmdb.h>

#include "clock.h"
#include "idem.h"
#include "purge.h"
#include "record.h"
#include "store.h"
#include "testsrv.h"

#define ENTRIES (3 * PURGE_CHUNK + 7)

struct fixture {
	char dir[TESTSRV_PATH_MAX];
	struct event_base *base;
	struct store *s;
	struct idem *idem;
	MDB_dbi dbi;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct store_config cfg = { .map_size = 16 << 20, .map_max = 64 << 20, .group_commit = true };
	if (!f || testsrv_tmpdir(f->dir, sizeof(f->dir)) != 0)
		return -1;
	cfg.path = f->dir;
	f->base = event_base_new();
	if (!f->base || store_open(&cfg, &f->s) != 0 || store_dbi_open(f->s, "purge_test", 0, &f->dbi) != 0 ||
	    idem_open(f->s, &f->idem) != 0 || store_start(f->s, f->base) != 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	store_stop(f->s);
	idem_free(f->idem);
	store_close(f->s);
	event_base_free(f->base);
	testsrv_rmtree(f->dir);
	free(f);
	return 0;
}

/* Entry i is expired when: every third, the first, the last, and both sides of each chunk boundary. */
static bool planted_expired(unsigned i)
{
	return i % 3 == 0 || i == ENTRIES - 1 || i % PURGE_CHUNK == 0 || i % PURGE_CHUNK == PURGE_CHUNK - 1;
}

struct fill {
	MDB_dbi dbi;
	int64_t now;
};

/* Values are a deadline (8 bytes big-endian); expired ones lie in the past. */
static int fill_apply(MDB_txn *txn, void *arg)
{
	struct fill *j = arg;
	for (unsigned i = 0; i < ENTRIES; i++) {
		char key[16];
		uint8_t deadline[8];
		MDB_val k = { (size_t)snprintf(key, sizeof(key), "k%06u", i), key }, v = { sizeof(deadline), deadline };
		int rc;
		record_be64_put(deadline, (uint64_t)(j->now + (planted_expired(i) ? -1000 : 3600 * 1000)));
		rc = mdb_put(txn, j->dbi, &k, &v, 0);
		if (rc != 0)
			return rc;
	}
	return 0;
}

static bool deadline_passed(const MDB_val *key, const MDB_val *val, int64_t now_ms, void *ctx)
{
	(void)key;
	(*(unsigned *)ctx)++;
	return val->mv_size == 8 && (int64_t)record_be64_get(val->mv_data) <= now_ms;
}

static void test_pass_drops_exactly_the_expired(void **state)
{
	struct fixture *f = *state;
	struct fill j = { f->dbi, clock_now_ms() };
	unsigned asked = 0, planted = 0, left = 0;
	struct purge_config cfg = { f->dbi, "test records", deadline_passed, &asked, 60, NULL };
	uint64_t dropped = 99;
	MDB_txn *txn;
	MDB_cursor *cur;
	MDB_val k, v;
	int rc;

	assert_int_equal(purge_pass(f->s, &cfg, &dropped), 0);
	assert_int_equal(dropped, 0);
	assert_int_equal(store_run(f->s, fill_apply, &j), 0);
	for (unsigned i = 0; i < ENTRIES; i++)
		planted += planted_expired(i);
	assert_int_equal(purge_pass(f->s, &cfg, &dropped), 0);
	assert_int_equal(dropped, planted);
	assert_int_equal(asked, ENTRIES);

	/* What is left is exactly the entries still within their time. */
	assert_int_equal(store_read_begin(f->s, &txn), 0);
	assert_int_equal(mdb_cursor_open(txn, f->dbi, &cur), 0);
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		unsigned i = (unsigned)strtoul((const char *)k.mv_data + 1, NULL, 10);
		assert_false(planted_expired(i));
		left++;
	}
	assert_int_equal(rc, MDB_NOTFOUND);
	mdb_cursor_close(cur);
	store_read_end(f->s, txn);
	assert_int_equal(left, ENTRIES - planted);

	asked = 0;
	assert_int_equal(purge_pass(f->s, &cfg, &dropped), 0);
	assert_int_equal(dropped, 0);
	assert_int_equal(asked, left);
}

/* Entries left in the DBI. */
static unsigned count_entries(struct fixture *f)
{
	MDB_txn *txn;
	MDB_stat st;
	assert_int_equal(store_read_begin(f->s, &txn), 0);
	assert_int_equal(mdb_stat(txn, f->dbi, &st), 0);
	store_read_end(f->s, txn);
	return (unsigned)st.ms_entries;
}

struct watch {
	struct fixture *f;
	unsigned want;
};

/* Ends the loop once the purge left only the entries within their time. */
static void watch_tick(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;
	(void)fd;
	(void)what;
	if (count_entries(w->f) == w->want)
		event_base_loopexit(w->f->base, NULL);
}

/* Started on the loop, the purge's passes do the same, job after job, until stopped. */
static void test_started_purge(void **state)
{
	struct fixture *f = *state;
	struct fill j = { f->dbi, clock_now_ms() };
	unsigned asked = 0, planted = 0;
	struct purge_config cfg = { f->dbi, "test records", deadline_passed, &asked, 1, NULL };
	struct timeval tick = { 0, 20 * 1000 };
	struct watch w = { f, 0 };
	struct purge *p = NULL;
	struct event *ev;

	assert_int_equal(store_run(f->s, fill_apply, &j), 0);
	for (unsigned i = 0; i < ENTRIES; i++)
		planted += planted_expired(i);
	w.want = ENTRIES - planted;
	ev = event_new(f->base, -1, EV_PERSIST, watch_tick, &w);
	assert_non_null(ev);
	assert_int_equal(event_add(ev, &tick), 0);
	assert_int_equal(purge_start(f->s, f->base, &cfg, &p), 0);
	assert_int_equal(event_base_dispatch(f->base), 0);
	purge_stop(p);
	event_free(ev);
	assert_int_equal(count_entries(f), ENTRIES - planted);
	assert_true(asked >= ENTRIES);
}

struct idem_fill {
	struct idem *idem;
	struct idem_req old, fresh;
};

static int idem_fill_apply(MDB_txn *txn, void *arg)
{
	struct idem_fill *j = arg;
	int64_t now = clock_now_ms();
	int rc = idem_save(j->idem, txn, &j->old, 201, "a", 1, now - ((int64_t)IDEM_KEEP_S + 1) * 1000);
	return rc ? rc : idem_save(j->idem, txn, &j->fresh, 201, "b", 1, now);
}

static void test_idempotency_keys(void **state)
{
	struct fixture *f = *state;
	struct idem_fill j = { .idem = f->idem, .old = { .present = true }, .fresh = { .present = true } };
	struct idem_entry e;
	uint64_t dropped;
	MDB_txn *txn;
	int old_rc, fresh_rc;

	j.old.key[0] = 1;
	j.fresh.key[0] = 2;
	assert_int_equal(store_run(f->s, idem_fill_apply, &j), 0);
	assert_int_equal(idem_purge(f->idem, &dropped), 0);
	assert_int_equal(dropped, 1);
	assert_int_equal(idem_purge(f->idem, &dropped), 0);
	assert_int_equal(dropped, 0);
	assert_int_equal(store_read_begin(f->s, &txn), 0);
	old_rc = idem_lookup(f->idem, txn, &j.old, &e);
	fresh_rc = idem_lookup(f->idem, txn, &j.fresh, &e);
	store_read_end(f->s, txn);
	assert_int_equal(old_rc, IDEM_NEW);
	assert_int_equal(fresh_rc, IDEM_REPLAY);
	assert_int_equal(e.ref_len, 1);
	assert_memory_equal(e.ref, "b", 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_pass_drops_exactly_the_expired, setup, teardown),
		cmocka_unit_test_setup_teardown(test_started_purge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_idempotency_keys, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
