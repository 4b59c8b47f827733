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

#endif
