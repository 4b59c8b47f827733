/*
 * The payouts module's pure part: a payable account's two figures (balance
 * and available) from its four balances, exact over the whole int64_t range
 * and refused where a figure would leave it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ledger.h"
#include "payouts.h"

static void test_figures_follow_the_balances(void **state)
{
	static const struct {
		struct ledger_balances b;    /* debits_pending, debits_posted, credits_pending, credits_posted */
		int64_t balance, available;
	} cases[] = {
		{ { 0, 0, 0, 0 }, 0, 0 },
		{ { 0, 0, 0, 200000 }, 200000, 200000 },
		/* A payout's hold takes from the available money only. */
		{ { 150000, 0, 0, 200000 }, 200000, 50000 },
		/* Its post moves the balance; the hold is gone. */
		{ { 0, 150000, 0, 200000 }, 50000, 50000 },
		/* Money on its way in (a pending credit) is neither. */
		{ { 0, 0, 70000, 10000 }, 10000, 10000 },
		/* An account may be overdrawn (a refund after a payout): below zero, exact. */
		{ { 0, 30000, 0, 10000 }, -20000, -20000 },
		{ { INT64_MAX, 0, 0, INT64_MAX }, INT64_MAX, 0 },
		{ { 0, INT64_MAX, 0, 0 }, -INT64_MAX, -INT64_MAX },
		{ { 1, INT64_MAX, 0, 0 }, -INT64_MAX, INT64_MIN },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct payouts_figures f = { -1, -1 };
		assert_int_equal(payouts_figures(&cases[i].b, &f), 0);
		assert_int_equal(f.balance, cases[i].balance);
		assert_int_equal(f.available, cases[i].available);
	}
}

static void test_figures_refuse_what_int64_cannot_hold(void **state)
{
	static const struct ledger_balances bad[] = {
		{ 2, INT64_MAX, 0, 0 },                  /* available below INT64_MIN */
		{ INT64_MAX, INT64_MAX, 0, 0 },
		{ 0, 1, 0, INT64_MIN },                  /* no ledger balance is negative; still refused, not wrapped */
		{ -1, 0, 0, INT64_MAX },                 /* available above INT64_MAX */
	};
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct payouts_figures f;
		assert_int_equal(payouts_figures(&bad[i], &f), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_figures_follow_the_balances),
		cmocka_unit_test(test_figures_refuse_what_int64_cannot_hold),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
