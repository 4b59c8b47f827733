/*
 * The ledger's id map (ledger/idmap.c) against a plain array: random puts,
 * removes and finds over a few thousand ids (growing the map as it goes,
 * with runs long enough for removal to move slots back), then every id's
 * presence, its slot's contents and a walk over the slots must agree.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define IDS 3000
#define OPS 200000

struct slot {
	struct ledger_id id;
	uint64_t value;
};

static uint64_t next_random(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* Id k: time-ordered-like (shared high bytes), never zero. */
static struct ledger_id id_of(unsigned k)
{
	struct ledger_id id = ledger_id_from_u64(k + 1);
	id.b[0] = 0x01;
	id.b[1] = 0xa2;
	return id;
}

static void check(const struct ledger_idmap *m, const uint64_t *want, const bool *present)
{
	size_t seen = 0, pos = 0;
	const struct slot *s;
	for (unsigned k = 0; k < IDS; k++) {
		struct ledger_id id = id_of(k);
		s = ledger_idmap_find(m, &id);
		assert_int_equal(s != NULL, present[k]);
		if (s)
			assert_int_equal(s->value, want[k]);
		seen += present[k];
	}
	assert_int_equal(m->len, seen);
	while ((s = ledger_idmap_next(m, &pos)) != NULL)
		seen--;
	assert_int_equal(seen, 0);
}

static void test_against_an_array(void **state)
{
	struct ledger_idmap m;
	static uint64_t want[IDS];
	static bool present[IDS];
	uint64_t rng = 7;
	(void)state;
	assert_int_equal(ledger_idmap_init(&m, sizeof(struct slot), 0), LEDGER_OK);
	for (unsigned op = 0; op < OPS; op++) {
		unsigned k = (unsigned)(next_random(&rng) % IDS);
		struct ledger_id id = id_of(k);
		struct slot *s = ledger_idmap_find(&m, &id);
		assert_int_equal(s != NULL, present[k]);
		/* More puts than removes early on, so the map grows; then both. */
		if (!present[k] || next_random(&rng) % 100 < (op < OPS / 4 ? 20 : 50)) {
			bool added;
			if (present[k]) {
				ledger_idmap_remove(&m, s);
				present[k] = false;
				continue;
			}
			assert_int_equal(ledger_idmap_reserve(&m, 1), LEDGER_OK);
			s = ledger_idmap_put(&m, &id, &added);
			assert_true(added);
			assert_int_equal(s->value, 0);
			s->value = want[k] = next_random(&rng);
			present[k] = true;
		}
		if (op % 10000 == 0)
			check(&m, want, present);
	}
	check(&m, want, present);
	assert_true(m.cap >= 2 * m.len);
	ledger_idmap_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_against_an_array),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
