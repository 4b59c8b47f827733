/*
 * hclient: asynchronous outbound HTTP on the loop's event_base (libcurl
 * multi driven by libevent socket and timer events). The loop never blocks
 * on it.
 *
 * Every request has a connect timeout, a total timeout and a cap on the
 * response body. Requests marked retryable are retried on connection
 * errors, timeouts, 429 and 5xx with exponential backoff and full jitter.
 * Each target (a short name such as "midtrans") has a circuit breaker: after
 * `breaker_threshold` consecutive failed calls it opens and calls fail fast
 * with HCLIENT_EOPEN; after `breaker_cooldown_ms` one probe is let through
 * (half-open); its success closes the breaker, its failure opens it again.
 * Outcomes are counted in METRIC_OUTBOUND{target,outcome}.
 *
 * One hclient per event_base; use only from that loop's thread.
 */
#ifndef BANGSOLEH_HCLIENT_H
#define BANGSOLEH_HCLIENT_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct hclient;

#define HCLIENT_OK 0
#define HCLIENT_EINVAL (-1)    /* bad request description */
#define HCLIENT_ENOMEM (-2)
#define HCLIENT_ECONNECT (-3)  /* could not connect / resolve */
#define HCLIENT_ETIMEOUT (-4)  /* connect or total timeout */
#define HCLIENT_ETOOBIG (-5)   /* response body over max_response */
#define HCLIENT_EOPEN (-6)     /* circuit breaker open: not sent */
#define HCLIENT_EIO (-7)       /* other transfer error */
#define HCLIENT_ECANCELLED (-8) /* client freed before completion */

#define HCLIENT_MAX_HEADERS 32
#define HCLIENT_TARGET_MAX 64

struct hclient_config {
	long connect_timeout_ms;   /* default 3000 when 0 */
	long total_timeout_ms;     /* default 10000 when 0 */
	size_t max_response;       /* default 1 MiB when 0 */
	unsigned max_attempts;     /* for retryable requests, default 3 when 0 */
	long backoff_base_ms;      /* default 100 when 0 */
	long backoff_max_ms;       /* default 5000 when 0 */
	unsigned breaker_threshold; /* default 5 when 0 */
	long breaker_cooldown_ms;  /* default 30000 when 0 */
};

struct hclient_request {
	const char *target;        /* breaker and metrics name, <= HCLIENT_TARGET_MAX */
	const char *method;        /* "GET", "POST", ... */
	const char *url;
	const char *const *headers; /* NULL-terminated "Name: value" lines, <= HCLIENT_MAX_HEADERS */
	const void *body;          /* may be NULL */
	size_t body_len;
	long connect_timeout_ms;   /* 0: the client's default */
	long total_timeout_ms;     /* 0: the client's default; per attempt */
	size_t max_response;       /* 0: the client's default */
	bool retryable;            /* safe to send again (idempotent or keyed) */
};

struct hclient_response {
	int error;                 /* HCLIENT_OK when an HTTP status was received */
	long status;               /* HTTP status, 0 when error */
	const char *body;          /* NUL-terminated; body_len excludes the NUL */
	size_t body_len;
	unsigned attempts;         /* how many times it was sent */
	const char *error_text;    /* for logs; never NULL */
	const void *priv;          /* the client's own, for hclient_response_header */
};

/*
 * Called exactly once per accepted request, on the loop thread, never from
 * inside hclient_send. `res` and everything it points to are lent for the
 * duration of the call.
 */
typedef void (*hclient_done_fn)(const struct hclient_response *res, void *arg);

/* Creates a client on `base` (cfg may be NULL). OUT: *out. Returns 0 or HCLIENT_E*. */
int hclient_new(struct event_base *base, const struct hclient_config *cfg, struct hclient **out);

/*
 * Cancels everything in flight (their callbacks run with HCLIENT_ECANCELLED)
 * and frees the client. Call before event_base_free, and never from inside
 * a done callback. NULL is allowed.
 */
void hclient_free(struct hclient *c);

/*
 * Starts a request; copies everything in `req`, so it may be freed at once.
 * Returns 0 (done will be called), or HCLIENT_EINVAL / HCLIENT_ENOMEM (done
 * will not be called). A request to an open breaker is accepted and
 * completes with HCLIENT_EOPEN.
 */
int hclient_send(struct hclient *c, const struct hclient_request *req, hclient_done_fn done, void *arg);

/*
 * The value of response header `name` (case-insensitive) of the response
 * being delivered, or NULL. Valid only inside the done callback.
 */
const char *hclient_response_header(const struct hclient_response *res, const char *name);

/* Requests in flight or waiting for a retry. */
unsigned hclient_pending(const struct hclient *c);

#endif
