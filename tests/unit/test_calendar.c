/*
 * Unit tests for the WIB calendar (core/calendar.c): parsing of RFC 3339
 * times and bare dates, formatting, day and month starts, checked against
 * libc's own UTC arithmetic (timegm, gmtime_r) over every day from 1970 to
 * 2200, and every malformed form refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"

#define HOUR_MS (3600LL * 1000)
#define DAY_MS (24 * HOUR_MS)

static int64_t utc_ms(int y, int mo, int d, int h, int mi, int s)
{
	struct tm tm = { .tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi, .tm_sec = s };
	return (int64_t)timegm(&tm) * 1000;
}

static void parses(const char *s, int64_t want)
{
	int64_t got = -1;
	assert_int_equal(clock_parse_time(s, &got), 0);
	assert_true(got == want);
}

static void test_parse_forms(void **state)
{
	(void)state;
	parses("2026-11-28", utc_ms(2026, 11, 27, 17, 0, 0));
	parses("2026-11-28T00:00:00+07:00", utc_ms(2026, 11, 27, 17, 0, 0));
	parses("2026-11-28T01:02:03Z", utc_ms(2026, 11, 28, 1, 2, 3));
	parses("2026-11-28t01:02:03z", utc_ms(2026, 11, 28, 1, 2, 3));
	parses("2026-11-28T01:02:03.5Z", utc_ms(2026, 11, 28, 1, 2, 3) + 500);
	parses("2026-11-28T01:02:03.123456789Z", utc_ms(2026, 11, 28, 1, 2, 3) + 123);
	parses("2026-11-28T01:02:03-05:30", utc_ms(2026, 11, 28, 6, 32, 3));
	parses("2024-02-29", utc_ms(2024, 2, 28, 17, 0, 0));
	parses("1970-01-01T07:00:00+07:00", 0);
	parses("9999-12-31T23:59:59Z", utc_ms(9999, 12, 31, 23, 59, 59));
}

static void test_parse_refusals(void **state)
{
	static const char *const bad[] = {
		"", "2026", "2026-11", "2026-11-28T", "2026-11-28 01:02:03Z", "2026-11-28T01:02:03",
		"2026-11-28T01:02Z", "2026-11-28T24:00:00Z", "2026-11-28T23:60:00Z", "2026-11-28T23:59:60Z",
		"2026-02-29", "2026-13-01", "2026-00-10", "2026-11-00", "2026-11-31", "1969-12-31T23:59:59Z",
		"1970-01-01", "10000-01-01", "2026-11-28T01:02:03.Z", "2026-11-28T01:02:03.1234567890Z",
		"2026-11-28T01:02:03+7:00", "2026-11-28T01:02:03+07:60", "2026-11-28x", "2026-11-28T01:02:03Z ",
		"+2026-11-28", "2026-1a-28", "2026-11-28T01:02:03+07:00:00", "2026-11-28T01:02:03.000000000000000Z",
	};
	int64_t ms = 42;
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (clock_parse_time(bad[i], &ms) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	assert_int_equal(clock_parse_time(NULL, &ms), -1);
	assert_true(ms == 42);
}

/* Every day's midnight WIB: parse, format, date, day start and month start agree with libc's UTC. */
static void test_every_day(void **state)
{
	(void)state;
	for (int64_t day = 1; day < 84000; day++) {
		time_t secs = (time_t)(day * 86400);
		struct tm tm;
		char text[CLOCK_TIME_MAX], date[32], month[8], want[64];
		int64_t midnight = day * DAY_MS - 7 * HOUR_MS, got;
		gmtime_r(&secs, &tm);
		snprintf(date, sizeof(date), "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
		assert_int_equal(clock_parse_time(date, &got), 0);
		assert_true(got == midnight);
		snprintf(want, sizeof(want), "%sT00:00:00.000+07:00", date);
		assert_int_equal(clock_format_wib(midnight, text, sizeof(text)), 0);
		assert_string_equal(text, want);
		assert_int_equal(clock_parse_time(text, &got), 0);
		assert_true(got == midnight);
		assert_int_equal(clock_wib_date(midnight + DAY_MS - 1, text, sizeof(text)), 0);
		assert_string_equal(text, date);
		assert_true(clock_wib_day_start(midnight + DAY_MS - 1) == midnight);
		assert_true(clock_wib_day_start(midnight) == midnight);
		assert_int_equal(clock_wib_month(midnight, month, sizeof(month)), 0);
		assert_memory_equal(month, date, 7);
		assert_true(clock_wib_month_start(midnight + 5 * HOUR_MS) == midnight - (int64_t)(tm.tm_mday - 1) * DAY_MS);
	}
}

static void test_months_and_bounds(void **state)
{
	char small[10];
	int64_t jan;
	(void)state;
	assert_int_equal(clock_parse_time("2026-12-01", &jan), 0);
	jan = clock_wib_next_month(jan);
	assert_int_equal(clock_wib_month(jan, small, sizeof(small)), 0);
	assert_string_equal(small, "2027-01");
	assert_true(clock_wib_next_month(clock_wib_month_start(utc_ms(2024, 2, 10, 0, 0, 0))) ==
		    utc_ms(2024, 2, 29, 17, 0, 0));
	assert_int_equal(clock_format_wib(0, small, sizeof(small)), -1);
	assert_int_equal(clock_wib_date(0, small, 10), -1);
	assert_int_equal(clock_wib_month(0, small, 7), -1);
	assert_int_equal(clock_format_wib(-1, small, sizeof(small)), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_forms),
		cmocka_unit_test(test_parse_refusals),
		cmocka_unit_test(test_every_day),
		cmocka_unit_test(test_months_and_bounds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
