/*
 * clock: the wall clock the domain's timers read (payment expiry, order
 * rules), in milliseconds since the epoch, UTC.
 *
 * Tests move it forward with clock_advance_ms (through the test-only
 * endpoint POST /api/v1/test/clock, registered only when `test.clock_control`
 * is on) instead of sleeping for hours. The offset only grows, so time read
 * through it never goes backwards because of a test. Thread-safe.
 */
#ifndef BANGSOLEH_CLOCK_H
#define BANGSOLEH_CLOCK_H

#include <stddef.h>
#include <stdint.h>

struct httpd;

/* Real time plus the offset. */
int64_t clock_now_ms(void);

/* Moves the clock forward by ms (> 0; at most a year per call). Returns 0 or -1. */
int clock_advance_ms(int64_t ms);

/*
 * Registers POST /api/v1/test/clock (admin; body {"advance_s": 1..31536000})
 * on h (lent). Only for test servers.
 */
int clock_attach(struct httpd *h);

/*
 * The calendar of the city (core/calendar.c): Waktu Indonesia Barat, UTC+7
 * all year. Times are UTC milliseconds since the epoch, 1970 to 9999.
 */
#define CLOCK_WIB_OFFSET_MS (7LL * 3600 * 1000)
#define CLOCK_TIME_MAX 36       /* room for any text clock_format_wib writes, with its NUL */
#define CLOCK_PARSE_MAX 40      /* the longest text clock_parse_time reads */

/*
 * Parses RFC 3339 "YYYY-MM-DDTHH:MM:SS[.1 to 9 digits](Z|+HH:MM|-HH:MM)"
 * (fractions below a millisecond are dropped) or a bare "YYYY-MM-DD", the
 * midnight WIB that starts that day. OUT: *ms. Returns 0, or -1 when s is
 * malformed, longer than CLOCK_PARSE_MAX, not a real date, or before 1970.
 */
int clock_parse_time(const char *s, int64_t *ms);
/* "2026-11-28T08:00:00.000+07:00". Returns 0, or -1 when cap is too small or ms out of range. */
int clock_format_wib(int64_t ms, char *out, size_t cap);
/* The WIB date "YYYY-MM-DD" (cap >= 11) or month "YYYY-MM" (cap >= 8) holding ms. Returns 0 or -1. */
int clock_wib_date(int64_t ms, char *out, size_t cap);
int clock_wib_month(int64_t ms, char *out, size_t cap);
/* The start (UTC ms) of the WIB day or month holding ms; the start of the month after a month start. */
int64_t clock_wib_day_start(int64_t ms);
int64_t clock_wib_month_start(int64_t ms);
int64_t clock_wib_next_month(int64_t month_start);

#endif
