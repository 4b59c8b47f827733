/*
 * httpd: the HTTP server (libevent evhttp) with every limit set, the router
 * in front of the handlers, role checks, request ids, one JSON access-log
 * line and metrics per request, JSON error envelopes, and graceful drain.
 *
 * A handler runs on the loop thread and must lead to exactly one reply
 * (httpd_reply_*), either before it returns or later from a callback (a
 * store job's done, say). The request and everything borrowed from it are
 * valid until that reply; after it the request is gone.
 *
 * Errors: {"error": {"code": "...", "message": "..."}} with the status.
 */
#ifndef BANGSOLEH_HTTPD_H
#define BANGSOLEH_HTTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct event_base;
struct httpd;
struct httpd_req;

#define HTTPD_OK 0
#define HTTPD_EINVAL (-1)
#define HTTPD_ENOMEM (-2)
#define HTTPD_EBIND (-3)

#define HTTPD_USERNAME_MAX 64
#define HTTPD_REQUEST_ID_MAX 64

struct httpd_config {
	const char *host;
	uint16_t port;            /* 0: an ephemeral port */
	size_t max_body;
	size_t max_headers;
	int timeout_s;            /* idle read/write timeout per connection */
	int shutdown_grace_s;     /* how long httpd_drain waits for in-flight requests */
};

/* Who is calling, from a bearer token. */
struct httpd_principal {
	uint64_t user_id;
	unsigned role;            /* one ROLE_* bit */
	char username[HTTPD_USERNAME_MAX + 1];
};

#define HTTPD_AUTH_OK 0
#define HTTPD_AUTH_INVALID (-1)   /* unknown, expired or malformed token: 401 */
#define HTTPD_AUTH_UNAVAILABLE (-2) /* the store cannot answer: 503 */

/* Resolves a bearer token (not NUL-terminated, `len` bytes) on the loop thread. OUT: *out. */
typedef int (*httpd_auth_fn)(const char *token, size_t len, struct httpd_principal *out, void *ctx);
typedef void (*httpd_handler_fn)(struct httpd_req *req, void *ctx);
typedef void (*httpd_drained_fn)(void *arg);

/* OUT: *out, freed with httpd_free. cfg is copied. Returns 0 or HTTPD_E*. */
int httpd_new(struct event_base *base, const struct httpd_config *cfg, struct httpd **out);

/*
 * Registers a handler for methods (ROUTER_* bits) on a pattern, callable by
 * the roles in `roles` (ROLE_* bits; ROLE_PUBLIC for anyone). `ctx` is lent
 * for the server's life. Returns 0 or HTTPD_EINVAL.
 */
int httpd_route(struct httpd *h, unsigned methods, const char *pattern, unsigned roles,
		httpd_handler_fn fn, void *ctx);

/* Sets the bearer-token resolver; without one every protected route is 401. */
void httpd_set_auth(struct httpd *h, httpd_auth_fn fn, void *ctx);

/* Binds and listens. OUT: *port, the bound port. Returns 0 or HTTPD_EBIND. */
int httpd_listen(struct httpd *h, uint16_t *port);

/*
 * Stops accepting connections; requests still arriving on open connections
 * get 503 with Connection: close. Calls drained(arg) once, on the loop
 * thread, when no request is in flight or the grace period ran out.
 */
void httpd_drain(struct httpd *h, httpd_drained_fn drained, void *arg);

/* Requests received and not yet answered. */
unsigned httpd_in_flight(const struct httpd *h);

/* Frees the server, its connections and any request never answered. NULL is allowed. */
void httpd_free(struct httpd *h);

/* --- the request, for handlers; every pointer is borrowed until the reply --- */

/* A path parameter of the matched pattern, percent-decoded, or NULL. */
const char *httpd_param(const struct httpd_req *r, const char *name);
/*
 * A path parameter as a whole number: 1 to 20 decimal digits, no sign, no
 * leading zero (except "0"), within uint64. OUT: *out. Returns 0 or -1.
 */
int httpd_param_u64(const struct httpd_req *r, const char *name, uint64_t *out);
/*
 * A query parameter as such a number within [min, max]; def when absent or
 * empty. OUT: *out. Returns 0, or -1 when it is not (the caller answers).
 */
int httpd_query_u64(struct httpd_req *r, const char *name, uint64_t min, uint64_t max, uint64_t def, uint64_t *out);
/* As httpd_query_u64, answering 400 invalid_field "NAME must be a whole number from MIN to MAX" on -1. */
int httpd_query_u64_or_400(struct httpd_req *r, const char *name, uint64_t min, uint64_t max, uint64_t def,
			   uint64_t *out);
/*
 * A query parameter as a time (clock_parse_time: RFC 3339, or a bare date
 * meaning midnight WIB), UTC ms. OUT: *ms, and *given, false when absent or
 * empty. Answers 400 invalid_field and returns -1 when it is not a time, or
 * is absent and `required`.
 */
int httpd_query_time(struct httpd_req *r, const char *name, bool required, int64_t *ms, bool *given);
/* A query-string parameter, decoded, or NULL (absent or malformed query). */
const char *httpd_query(struct httpd_req *r, const char *name);
/* The request's method name ("GET", "POST", ...) and path (without the query). */
const char *httpd_method(const struct httpd_req *r);
const char *httpd_path(const struct httpd_req *r);
/* A request header (case-insensitive), or NULL. */
const char *httpd_header(const struct httpd_req *r, const char *name);
/* The caller, or NULL on a public route called without a valid token. */
const struct httpd_principal *httpd_principal(const struct httpd_req *r);
/* The peer address as text ("127.0.0.1"). */
const char *httpd_peer(const struct httpd_req *r);
const char *httpd_request_id(const struct httpd_req *r);
/* The raw body. OUT: *len. Never NULL (empty body: "" and 0). */
const void *httpd_body(struct httpd_req *r, size_t *len);

/*
 * The body as a JSON object. Checks Content-Type (application/json) and
 * parses; on failure it has already replied (415 unsupported_media_type or
 * 400 invalid_json) and returns -1: the handler must just return.
 */
int httpd_json_body(struct httpd_req *r, json_t **out);

/* Adds a response header (name and value copied). */
void httpd_set_header(struct httpd_req *r, const char *name, const char *value);

/* Replies with a JSON body (reference stolen; NULL for no body). */
void httpd_reply_json(struct httpd_req *r, int status, json_t *body);
/* Replies with the error envelope; message printf-formatted. */
void httpd_reply_error(struct httpd_req *r, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/*
 * As httpd_reply_error, with the members of `extra` (an object, reference
 * stolen; NULL: none) added to the error object beside code and message,
 * such as the current "state" of a 409.
 */
void httpd_reply_error_with(struct httpd_req *r, int status, const char *code, json_t *extra, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* As httpd_reply_error, the error object also naming the thing's current `state` (docs/api.md, "Errors"). */
void httpd_reply_state_error(struct httpd_req *r, int status, const char *code, const char *state, const char *fmt,
			     ...) __attribute__((format(printf, 5, 6)));
/* Replies 503 with Retry-After, for a full queue or a store that cannot write. */
void httpd_reply_unavailable(struct httpd_req *r, const char *reason);
/*
 * Replies for a failed store operation: 503 with Retry-After when it may
 * pass (queue or map full, I/O, stopping), 500 otherwise (a corrupt record).
 */
void httpd_reply_store_error(struct httpd_req *r, int store_status);
/* Replies with raw bytes (copied) of the given type. */
void httpd_reply_raw(struct httpd_req *r, int status, const char *content_type, const void *data,
		     size_t len);

/*
 * Streaming (Server-Sent Events and the like). httpd_stream_start answers
 * 200 with `content_type` and keeps the request open; the handler then sends
 * with httpd_stream_send and finishes with httpd_stream_end. If the client
 * goes away first, or the server drains, `closed(arg)` runs once and the
 * request is gone: the handler must not use it after that. After
 * httpd_stream_end, `closed` is not called.
 */
typedef void (*httpd_closed_fn)(void *arg);
int httpd_stream_start(struct httpd_req *r, const char *content_type, httpd_closed_fn closed, void *arg);
/* Sends bytes (copied) on an open stream. Returns 0 or HTTPD_ENOMEM. */
int httpd_stream_send(struct httpd_req *r, const void *data, size_t len);
/*
 * As httpd_stream_send (len > 0), then sent(arg) runs once on the loop
 * thread when evhttp has written these bytes, and all before them, to the
 * socket: a sender that sends its next chunk from `sent` holds one chunk in
 * memory at a time. sent may send again or call httpd_stream_end. It does
 * not run when the stream closes first (`closed` runs) or after
 * httpd_stream_end. Returns 0, HTTPD_EINVAL (len 0, or a HEAD request,
 * which sends no body: sent would never run) or HTTPD_ENOMEM.
 */
typedef void (*httpd_sent_fn)(void *arg);
int httpd_stream_send_then(struct httpd_req *r, const void *data, size_t len, httpd_sent_fn sent, void *arg);
void httpd_stream_end(struct httpd_req *r);

#endif
