/*
 * ratelimit: fixed-window counters by key (an account, an address), kept
 * in a bounded table in memory. For the loop thread only.
 *
 * The table has a fixed number of slots; a key probes RATELIMIT_PROBE slots
 * from its hash. When all are taken by live windows, the one that started
 * first is replaced, so memory stays bounded whatever the traffic.
 */
#ifndef BANGSOLEH_RATELIMIT_H
#define BANGSOLEH_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_KEY_MAX 96
#define RATELIMIT_PROBE 8

struct ratelimit;

/* OUT: *out, freed with ratelimit_free. Returns 0 or -1 (out of memory). */
int ratelimit_new(size_t slots, int64_t window_ms, struct ratelimit **out);
void ratelimit_free(struct ratelimit *rl);

/*
 * True when `key` already counted `max` events in the current window.
 * OUT: *retry_after_s, seconds until the window ends (when true).
 */
bool ratelimit_exceeded(struct ratelimit *rl, const char *key, uint32_t max, int64_t now_ms,
			int64_t *retry_after_s);
/* Counts one event for `key` (keys over RATELIMIT_KEY_MAX bytes are not counted: callers bound them). */
void ratelimit_hit(struct ratelimit *rl, const char *key, int64_t now_ms);
/* Forgets `key` (a successful login clears its failures). */
void ratelimit_clear(struct ratelimit *rl, const char *key);

#endif
