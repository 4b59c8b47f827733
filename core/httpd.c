#include "httpd.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "clock.h"
#include "crypto.h"
#include "log.h"
#include "metrics.h"
#include "role.h"
#include "router.h"
#include "store.h"

#define HTTPD_JSON_TYPE "application/json; charset=utf-8"
#define HTTPD_MESSAGE_MAX 512

struct httpd_route {
	unsigned roles;
	httpd_handler_fn fn;
	void *ctx;
};

struct httpd_req {
	TAILQ_ENTRY(httpd_req) link;
	struct httpd *h;
	struct evhttp_request *ev;
	struct router_match match;
	const char *route;              /* matched pattern, or a fixed label */
	const char *method;
	const struct evhttp_uri *uri;
	struct evkeyvalq query;
	bool query_parsed;
	bool query_ok;
	struct httpd_principal principal;
	bool has_principal;
	json_t *json;
	httpd_closed_fn closed;         /* set while the request is an open stream */
	void *closed_arg;
	size_t streamed;                /* bytes sent on the stream */
	httpd_sent_fn sent;             /* httpd_stream_send_then's, until its bytes are written */
	void *sent_arg;
	uint64_t start_us;
	char request_id[HTTPD_REQUEST_ID_MAX + 1];
	char peer[64];
};

TAILQ_HEAD(httpd_req_list, httpd_req);

struct httpd {
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	struct router *router;
	struct httpd_route *routes[ROUTER_ROUTES_MAX];
	size_t nroutes;
	struct httpd_config cfg;
	char host[256];
	httpd_auth_fn auth;
	void *auth_ctx;
	struct httpd_req_list live;
	struct httpd_req_list streams;  /* open streams: not in flight, ended by a drain */
	unsigned in_flight;
	bool draining;
	httpd_drained_fn drained;
	void *drained_arg;
	struct event *grace_timer;
	uint8_t id_seed[16];            /* random, per server: request ids */
	uint64_t request_count;
};

static uint64_t httpd_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Calls the drain callback once, when the last request is answered or the grace ran out. */
static void httpd_maybe_drained(struct httpd *h, bool grace_over)
{
	httpd_drained_fn fn = h->drained;
	if (!h->draining || !fn || (h->in_flight > 0 && !grace_over))
		return;
	h->drained = NULL;
	if (h->grace_timer)
		event_del(h->grace_timer);
	fn(h->drained_arg);
}

static void httpd_req_free(struct httpd_req *r)
{
	if (r->query_parsed)
		evhttp_clear_headers(&r->query);
	json_decref(r->json);
	free(r);
}

/* One access-log line and the request metrics. */
static void httpd_account(struct httpd_req *r, int status, size_t bytes)
{
	char labels[METRICS_LABELS_MAX];
	char status_text[8];
	uint64_t dur = httpd_now_us() - r->start_us;
	json_t *line;
	snprintf(status_text, sizeof(status_text), "%d", status);
	metrics_label(labels, sizeof(labels), "route", r->route, "status", status_text, (char *)NULL);
	metrics_add(METRIC_HTTP_REQUESTS, labels, 1);
	metrics_label(labels, sizeof(labels), "route", r->route, (char *)NULL);
	metrics_observe(METRIC_HTTP_DURATION, labels, dur);
	if (!log_enabled(LOG_INFO))
		return;
	line = json_pack("{s:s, s:s, s:s, s:i, s:I, s:I, s:s, s:s}", "msg", "request", "method",
			 r->method, "route", r->route, "status", status, "bytes", (json_int_t)bytes,
			 "duration_us", (json_int_t)dur, "request_id", r->request_id, "peer", r->peer);
	if (line) {
		const char *path = r->uri ? evhttp_uri_get_path(r->uri) : NULL;
		/* The path is client text: logged only when it is valid UTF-8 (jansson checks). */
		if (path)
			json_object_set_new(line, "path", json_string(path));
		if (r->has_principal)
			json_object_set_new(line, "user_id", json_integer((json_int_t)r->principal.user_id));
		log_fields(LOG_INFO, "http", line);
		json_decref(line);
	}
}

/* Sends the reply and ends the request: the one exit every request takes. */
static void httpd_finish(struct httpd_req *r, int status, struct evbuffer *body)
{
	struct httpd *h = r->h;
	struct evkeyvalq *out = evhttp_request_get_output_headers(r->ev);
	size_t bytes = body ? evbuffer_get_length(body) : 0;
	evhttp_add_header(out, "X-Request-Id", r->request_id);
	if (h->draining)
		evhttp_add_header(out, "Connection", "close");
	if (body && evhttp_request_get_command(r->ev) == EVHTTP_REQ_HEAD) {
		/* evhttp would send the body after a HEAD reply: its length alone goes. */
		char length[24];
		snprintf(length, sizeof(length), "%zu", bytes);
		evhttp_remove_header(out, "Content-Length");
		evhttp_add_header(out, "Content-Length", length);
		body = NULL;
	}
	/* evhttp supplies the standard reason phrase for the code when given NULL. */
	evhttp_send_reply(r->ev, status, NULL, body);
	httpd_account(r, status, bytes);
	TAILQ_REMOVE(&h->live, r, link);
	h->in_flight--;
	httpd_req_free(r);
	httpd_maybe_drained(h, false);
}

void httpd_reply_raw(struct httpd_req *r, int status, const char *content_type, const void *data,
		     size_t len)
{
	struct evbuffer *buf = evbuffer_new();
	if (buf && len && evbuffer_add(buf, data, len) != 0) {
		evbuffer_free(buf);
		buf = NULL;
	}
	if (!buf)
		status = 500;
	else if (content_type)
		evhttp_add_header(evhttp_request_get_output_headers(r->ev), "Content-Type", content_type);
	httpd_finish(r, status, buf);
	if (buf)
		evbuffer_free(buf);
}

/* evhttp's close callback of a streaming connection: the client went away. */
static void httpd_stream_closed(struct evhttp_connection *conn, void *arg)
{
	struct httpd_req *r = arg;
	httpd_closed_fn closed = r->closed;
	(void)conn;
	TAILQ_REMOVE(&r->h->streams, r, link);
	httpd_account(r, 200, r->streamed);
	r->closed = NULL;
	closed(r->closed_arg);
	/* A client that hung up leaves the unfinished request detached and ours to free. */
	if (!evhttp_request_get_connection(r->ev))
		evhttp_request_free(r->ev);
	httpd_req_free(r);
}

int httpd_stream_start(struct httpd_req *r, const char *content_type, httpd_closed_fn closed, void *arg)
{
	struct httpd *h = r->h;
	struct evhttp_connection *conn = evhttp_request_get_connection(r->ev);
	struct evkeyvalq *out = evhttp_request_get_output_headers(r->ev);
	if (!conn || !closed)
		return HTTPD_EINVAL;
	evhttp_add_header(out, "Content-Type", content_type);
	evhttp_add_header(out, "Cache-Control", "no-store");
	evhttp_add_header(out, "X-Request-Id", r->request_id);
	r->closed = closed;
	r->closed_arg = arg;
	/* A stream is not "in flight": it may last as long as the client stays. */
	TAILQ_REMOVE(&h->live, r, link);
	TAILQ_INSERT_TAIL(&h->streams, r, link);
	h->in_flight--;
	evhttp_send_reply_start(r->ev, 200, NULL);
	evhttp_connection_set_closecb(conn, httpd_stream_closed, r);
	httpd_maybe_drained(h, false);
	return HTTPD_OK;
}

/* evhttp's write callback of httpd_stream_send_then: the output buffer is empty. */
static void httpd_stream_sent(struct evhttp_connection *conn, void *arg)
{
	struct httpd_req *r = arg;
	httpd_sent_fn sent = r->sent;
	(void)conn;
	r->sent = NULL;
	/* Last: sent may end the stream, and r with it. */
	if (sent)
		sent(r->sent_arg);
}

static int httpd_stream_chunk(struct httpd_req *r, const void *data, size_t len, httpd_sent_fn sent, void *arg)
{
	struct evbuffer *buf = evbuffer_new();
	if (!buf || evbuffer_add(buf, data, len) != 0) {
		if (buf)
			evbuffer_free(buf);
		return HTTPD_ENOMEM;
	}
	if (sent) {
		r->sent = sent;
		r->sent_arg = arg;
		evhttp_send_reply_chunk_with_cb(r->ev, buf, httpd_stream_sent, r);
	} else {
		evhttp_send_reply_chunk(r->ev, buf);
	}
	evbuffer_free(buf);
	r->streamed += len;
	return HTTPD_OK;
}

int httpd_stream_send(struct httpd_req *r, const void *data, size_t len)
{
	return httpd_stream_chunk(r, data, len, NULL, NULL);
}

int httpd_stream_send_then(struct httpd_req *r, const void *data, size_t len, httpd_sent_fn sent, void *arg)
{
	/* evhttp sends nothing for these, and would never call back. */
	if (len == 0 || !sent || evhttp_request_get_command(r->ev) == EVHTTP_REQ_HEAD)
		return HTTPD_EINVAL;
	return httpd_stream_chunk(r, data, len, sent, arg);
}

void httpd_stream_end(struct httpd_req *r)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(r->ev);
	if (conn)
		evhttp_connection_set_closecb(conn, NULL, NULL);
	TAILQ_REMOVE(&r->h->streams, r, link);
	/* First: the end may free evhttp's request, whose URI the log line reads. */
	httpd_account(r, 200, r->streamed);
	evhttp_send_reply_end(r->ev);
	httpd_req_free(r);
}

void httpd_reply_json(struct httpd_req *r, int status, json_t *body)
{
	char *text;
	if (!body) {
		httpd_reply_raw(r, status, NULL, NULL, 0);
		return;
	}
	text = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(body);
	if (!text) {
		httpd_reply_raw(r, 500, HTTPD_JSON_TYPE,
				"{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}", 57);
		return;
	}
	httpd_reply_raw(r, status, HTTPD_JSON_TYPE, text, strlen(text));
	free(text);
}

static void httpd_reply_error_v(struct httpd_req *r, int status, const char *code, json_t *extra, const char *fmt,
				va_list ap)
{
	char msg[HTTPD_MESSAGE_MAX];
	json_t *body;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* json_pack fails on invalid UTF-8 that a message may echo from input. */
	body = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", msg);
	if (!body)
		body = json_pack("{s:{s:s, s:s}}", "error", "code", code, "message", code);
	if (body && extra)
		json_object_update_missing(json_object_get(body, "error"), extra);
	json_decref(extra);
	httpd_reply_json(r, status, body);
}

void httpd_reply_error(struct httpd_req *r, int status, const char *code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	httpd_reply_error_v(r, status, code, NULL, fmt, ap);
	va_end(ap);
}

void httpd_reply_error_with(struct httpd_req *r, int status, const char *code, json_t *extra, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	httpd_reply_error_v(r, status, code, extra, fmt, ap);
	va_end(ap);
}

void httpd_reply_state_error(struct httpd_req *r, int status, const char *code, const char *state, const char *fmt,
			     ...)
{
	va_list ap;
	va_start(ap, fmt);
	httpd_reply_error_v(r, status, code, json_pack("{s:s}", "state", state), fmt, ap);
	va_end(ap);
}

void httpd_reply_unavailable(struct httpd_req *r, const char *reason)
{
	httpd_set_header(r, "Retry-After", "1");
	httpd_reply_error(r, 503, "unavailable", "%s; try again shortly", reason);
}

void httpd_reply_store_error(struct httpd_req *r, int store_status)
{
	if (store_status == STORE_EBUSY || store_status == STORE_EFULL || store_status == STORE_EIO ||
	    store_status == STORE_ESTOPPED || store_status == STORE_ENOMEM)
		httpd_reply_unavailable(r, store_strerror(store_status));
	else
		httpd_reply_error(r, 500, "internal", "%s", store_strerror(store_status));
}

void httpd_set_header(struct httpd_req *r, const char *name, const char *value)
{
	evhttp_add_header(evhttp_request_get_output_headers(r->ev), name, value);
}

const char *httpd_param(const struct httpd_req *r, const char *name)
{
	return router_param(&r->match, name);
}

/* 1 to 20 decimal digits, no sign, no leading zero (except "0"), within uint64. */
static int httpd_parse_u64(const char *text, uint64_t *out)
{
	uint64_t v = 0;
	size_t n;
	if (!text || !(n = strlen(text)) || n > 20 || (text[0] == '0' && n > 1))
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(text[i] - '0');
		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int httpd_param_u64(const struct httpd_req *r, const char *name, uint64_t *out)
{
	return httpd_parse_u64(httpd_param(r, name), out);
}

int httpd_query_u64(struct httpd_req *r, const char *name, uint64_t min, uint64_t max, uint64_t def, uint64_t *out)
{
	const char *text = httpd_query(r, name);
	uint64_t v;
	if (!text || !*text) {
		*out = def;
		return 0;
	}
	if (httpd_parse_u64(text, &v) != 0 || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int httpd_query_u64_or_400(struct httpd_req *r, const char *name, uint64_t min, uint64_t max, uint64_t def,
			   uint64_t *out)
{
	if (httpd_query_u64(r, name, min, max, def, out) == 0)
		return 0;
	httpd_reply_error(r, 400, "invalid_field", "%s must be a whole number from %llu to %llu", name,
			  (unsigned long long)min, (unsigned long long)max);
	return -1;
}

int httpd_query_time(struct httpd_req *r, const char *name, bool required, int64_t *ms, bool *given)
{
	const char *text = httpd_query(r, name);
	*given = text && *text;
	if (*given ? clock_parse_time(text, ms) == 0 : !required)
		return 0;
	httpd_reply_error(r, 400, "invalid_field",
			  "%s must be an RFC 3339 time (2026-11-28T08:00:00+07:00) or a date (2026-11-28, midnight WIB)",
			  name);
	return -1;
}

const char *httpd_query(struct httpd_req *r, const char *name)
{
	if (!r->query_parsed) {
		const char *q = r->uri ? evhttp_uri_get_query(r->uri) : NULL;
		TAILQ_INIT(&r->query);
		r->query_ok = !q || evhttp_parse_query_str(q, &r->query) == 0;
		r->query_parsed = true;
	}
	return r->query_ok ? evhttp_find_header(&r->query, name) : NULL;
}

const char *httpd_header(const struct httpd_req *r, const char *name)
{
	return evhttp_find_header(evhttp_request_get_input_headers(r->ev), name);
}

const char *httpd_method(const struct httpd_req *r)
{
	return r->method;
}

const char *httpd_path(const struct httpd_req *r)
{
	const char *path = r->uri ? evhttp_uri_get_path(r->uri) : NULL;
	return path ? path : "";
}

const struct httpd_principal *httpd_principal(const struct httpd_req *r)
{
	return r->has_principal ? &r->principal : NULL;
}

const char *httpd_peer(const struct httpd_req *r)
{
	return r->peer;
}

const char *httpd_request_id(const struct httpd_req *r)
{
	return r->request_id;
}

const void *httpd_body(struct httpd_req *r, size_t *len)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);
	*len = evbuffer_get_length(in);
	if (*len == 0)
		return "";
	return evbuffer_pullup(in, -1);
}

/* True for "application/json" with or without parameters such as charset. */
static bool httpd_is_json_type(const char *type)
{
	static const char want[] = "application/json";
	if (!type || strncasecmp(type, want, sizeof(want) - 1) != 0)
		return false;
	type += sizeof(want) - 1;
	return *type == '\0' || *type == ';' || *type == ' ';
}

int httpd_json_body(struct httpd_req *r, json_t **out)
{
	json_error_t err;
	size_t len;
	const void *data;
	if (!httpd_is_json_type(httpd_header(r, "Content-Type"))) {
		httpd_reply_error(r, 415, "unsupported_media_type", "the body must be application/json");
		return -1;
	}
	data = httpd_body(r, &len);
	if (len == 0) {
		httpd_reply_error(r, 400, "invalid_json", "the body is empty");
		return -1;
	}
	if (!data) {
		httpd_reply_error(r, 500, "internal", "out of memory");
		return -1;
	}
	json_decref(r->json);
	r->json = json_loadb(data, len, JSON_REJECT_DUPLICATES, &err);
	if (!r->json) {
		httpd_reply_error(r, 400, "invalid_json", "line %d column %d: %s", err.line, err.column,
				  err.text);
		return -1;
	}
	if (!json_is_object(r->json)) {
		httpd_reply_error(r, 400, "invalid_json", "the body must be a JSON object");
		return -1;
	}
	*out = r->json;
	return 0;
}

/* A client-sent request id is kept when it is 1..64 of [A-Za-z0-9._:-]. */
static bool httpd_request_id_ok(const char *id)
{
	size_t n = 0;
	for (; id[n]; n++) {
		char c = id[n];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			  c == '.' || c == '_' || c == ':' || c == '-';
		if (!ok || n == HTTPD_REQUEST_ID_MAX)
			return false;
	}
	return n > 0;
}

/*
 * A new request id: 16 random bytes drawn once per server, plus a counter,
 * as 32 hex characters. Unique within and across servers; no random draw
 * per request.
 */
static void httpd_set_request_id(struct httpd_req *r)
{
	const char *given = httpd_header(r, "X-Request-Id");
	struct httpd *h = r->h;
	uint8_t raw[16];
	uint64_t n = ++h->request_count;
	if (given && httpd_request_id_ok(given)) {
		strcpy(r->request_id, given);
		return;
	}
	memcpy(raw, h->id_seed, sizeof(raw));
	for (int i = 15; i >= 8; i--, n >>= 8)
		raw[i] ^= (uint8_t)n;
	crypto_hex_encode(raw, sizeof(raw), r->request_id, sizeof(r->request_id));
}

static unsigned httpd_method_bit(enum evhttp_cmd_type cmd, const char **name)
{
	switch (cmd) {
	case EVHTTP_REQ_GET: *name = "GET"; return ROUTER_GET;
	case EVHTTP_REQ_HEAD: *name = "HEAD"; return ROUTER_GET;
	case EVHTTP_REQ_POST: *name = "POST"; return ROUTER_POST;
	case EVHTTP_REQ_PUT: *name = "PUT"; return ROUTER_PUT;
	case EVHTTP_REQ_DELETE: *name = "DELETE"; return ROUTER_DELETE;
	case EVHTTP_REQ_PATCH: *name = "PATCH"; return ROUTER_PATCH;
	default: *name = "OTHER"; return 0;
	}
}

/* Resolves "Authorization: Bearer <token>". Returns HTTPD_AUTH_* (INVALID when absent). */
static int httpd_authenticate(struct httpd_req *r)
{
	const char *auth = httpd_header(r, "Authorization");
	const char *token;
	int rc;
	if (!auth || strncasecmp(auth, "Bearer ", 7) != 0 || !r->h->auth)
		return HTTPD_AUTH_INVALID;
	token = auth + 7;
	while (*token == ' ')
		token++;
	rc = r->h->auth(token, strlen(token), &r->principal, r->h->auth_ctx);
	r->has_principal = rc == HTTPD_AUTH_OK;
	return rc;
}

/* Routing, role checks and dispatch; every path ends in exactly one reply. */
static void httpd_dispatch(struct httpd_req *r)
{
	struct httpd *h = r->h;
	const struct httpd_route *route;
	const char *path;
	unsigned method = httpd_method_bit(evhttp_request_get_command(r->ev), &r->method);
	struct evkeyvalq *in = evhttp_request_get_input_headers(r->ev);
	char allow[64];
	int rc;

	if (h->draining) {
		httpd_reply_unavailable(r, "the server is shutting down");
		return;
	}
	/* Both framings at once is how requests get smuggled past proxies. */
	if (evhttp_find_header(in, "Transfer-Encoding") && evhttp_find_header(in, "Content-Length")) {
		httpd_set_header(r, "Connection", "close");
		httpd_reply_error(r, 400, "bad_request",
				  "Content-Length and Transfer-Encoding must not both be sent");
		return;
	}
	r->uri = evhttp_request_get_evhttp_uri(r->ev);
	path = r->uri ? evhttp_uri_get_path(r->uri) : NULL;
	if (!path || !*path) {
		httpd_reply_error(r, 400, "bad_request", "the request target is not a path");
		return;
	}
	rc = method ? router_match(h->router, method, path, &r->match) : ROUTER_ENOTFOUND;
	if (rc == ROUTER_ENOTFOUND && !method) {
		/* An unknown method on a known path is still "not allowed". */
		if (router_match(h->router, ROUTER_GET, path, &r->match) != ROUTER_ENOTFOUND)
			rc = ROUTER_EMETHOD;
	}
	if (rc == ROUTER_ENOTFOUND) {
		r->route = "unmatched";
		httpd_reply_error(r, 404, "not_found", "no such resource");
		return;
	}
	if (rc == ROUTER_EMETHOD) {
		/* Counted under the path's route: a wrong method on it, not an unknown path. */
		r->route = r->match.pattern;
		httpd_set_header(r, "Allow", router_methods_text(r->match.allowed, allow, sizeof(allow)));
		httpd_reply_error(r, 405, "method_not_allowed", "allowed: %s", allow);
		return;
	}
	r->route = r->match.pattern;
	route = r->match.data;
	rc = httpd_authenticate(r);
	if (route->roles != ROLE_PUBLIC) {
		if (rc == HTTPD_AUTH_UNAVAILABLE) {
			httpd_reply_unavailable(r, "sign-in cannot be checked now");
			return;
		}
		if (rc != HTTPD_AUTH_OK) {
			httpd_set_header(r, "WWW-Authenticate", "Bearer");
			httpd_reply_error(r, 401, "unauthorized", "a valid bearer token is required");
			return;
		}
		if (!(route->roles & r->principal.role)) {
			httpd_reply_error(r, 403, "forbidden", "this role may not call this endpoint");
			return;
		}
	}
	route->fn(r, route->ctx);
}

static void httpd_on_request(struct evhttp_request *ev, void *arg)
{
	struct httpd *h = arg;
	struct httpd_req *r = calloc(1, sizeof(*r));
	struct evhttp_connection *conn = evhttp_request_get_connection(ev);
	char *addr = NULL;
	ev_uint16_t port = 0;
	if (!r) {
		evhttp_send_error(ev, 500, NULL);
		return;
	}
	r->h = h;
	r->ev = ev;
	r->start_us = httpd_now_us();
	r->route = "unmatched";
	r->method = "OTHER";
	if (conn)
		evhttp_connection_get_peer(conn, &addr, &port);
	snprintf(r->peer, sizeof(r->peer), "%s", addr ? addr : "-");
	httpd_set_request_id(r);
	TAILQ_INSERT_TAIL(&h->live, r, link);
	h->in_flight++;
	httpd_dispatch(r);
}

int httpd_new(struct event_base *base, const struct httpd_config *cfg, struct httpd **out)
{
	struct httpd *h = calloc(1, sizeof(*h));
	if (!h)
		return HTTPD_ENOMEM;
	if (!cfg->host || strlen(cfg->host) >= sizeof(h->host))
		goto free_h;
	h->base = base;
	h->cfg = *cfg;
	strcpy(h->host, cfg->host);
	h->cfg.host = h->host;
	TAILQ_INIT(&h->live);
	TAILQ_INIT(&h->streams);
	if (crypto_random(h->id_seed, sizeof(h->id_seed)) != CRYPTO_OK || router_new(&h->router) != ROUTER_OK)
		goto free_h;
	h->http = evhttp_new(base);
	if (!h->http)
		goto free_router;
	evhttp_set_max_headers_size(h->http, (ev_ssize_t)cfg->max_headers);
	evhttp_set_max_body_size(h->http, (ev_ssize_t)cfg->max_body);
	evhttp_set_timeout(h->http, cfg->timeout_s);
	evhttp_set_default_content_type(h->http, HTTPD_JSON_TYPE);
	evhttp_set_allowed_methods(h->http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD | EVHTTP_REQ_POST |
						    EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH |
						    EVHTTP_REQ_OPTIONS);
	/* Read the whole oversized body before answering 413, so the client sees the 413. */
	evhttp_set_flags(h->http, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_gencb(h->http, httpd_on_request, h);
	*out = h;
	return HTTPD_OK;
free_router:
	router_free(h->router);
free_h:
	free(h);
	return HTTPD_ENOMEM;
}

int httpd_route(struct httpd *h, unsigned methods, const char *pattern, unsigned roles,
		httpd_handler_fn fn, void *ctx)
{
	struct httpd_route *route;
	if (!fn || h->nroutes == ROUTER_ROUTES_MAX)
		return HTTPD_EINVAL;
	route = malloc(sizeof(*route));
	if (!route)
		return HTTPD_ENOMEM;
	route->roles = roles;
	route->fn = fn;
	route->ctx = ctx;
	if (router_add(h->router, methods, pattern, route) != ROUTER_OK) {
		free(route);
		return HTTPD_EINVAL;
	}
	h->routes[h->nroutes++] = route;
	return HTTPD_OK;
}

void httpd_set_auth(struct httpd *h, httpd_auth_fn fn, void *ctx)
{
	h->auth = fn;
	h->auth_ctx = ctx;
}

int httpd_listen(struct httpd *h, uint16_t *port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	evutil_socket_t fd;
	h->bound = evhttp_bind_socket_with_handle(h->http, h->cfg.host, h->cfg.port);
	if (!h->bound)
		return HTTPD_EBIND;
	fd = evhttp_bound_socket_get_fd(h->bound);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return HTTPD_EBIND;
	if (ss.ss_family == AF_INET)
		*port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	else if (ss.ss_family == AF_INET6)
		*port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	else
		return HTTPD_EBIND;
	return HTTPD_OK;
}

static void httpd_on_grace(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	httpd_maybe_drained(arg, true);
}

void httpd_drain(struct httpd *h, httpd_drained_fn drained, void *arg)
{
	struct timeval grace = { h->cfg.shutdown_grace_s, 0 };
	struct httpd_req *r;
	if (h->draining)
		return;
	h->draining = true;
	h->drained = drained;
	h->drained_arg = arg;
	/* Streams last as long as their clients: a drain tells their owners and ends them. */
	while ((r = TAILQ_FIRST(&h->streams)) != NULL) {
		httpd_closed_fn closed = r->closed;
		void *closed_arg = r->closed_arg;
		httpd_stream_end(r);
		closed(closed_arg);
	}
	if (h->bound) {
		evhttp_del_accept_socket(h->http, h->bound);
		h->bound = NULL;
	}
	h->grace_timer = evtimer_new(h->base, httpd_on_grace, h);
	if (!h->grace_timer || evtimer_add(h->grace_timer, &grace) != 0) {
		httpd_maybe_drained(h, true);
		return;
	}
	httpd_maybe_drained(h, false);
}

unsigned httpd_in_flight(const struct httpd *h)
{
	return h->in_flight;
}

void httpd_free(struct httpd *h)
{
	struct httpd_req *r;
	if (!h)
		return;
	/* Requests never answered die with their connections in evhttp_free. */
	while ((r = TAILQ_FIRST(&h->live)) != NULL) {
		TAILQ_REMOVE(&h->live, r, link);
		httpd_req_free(r);
	}
	while ((r = TAILQ_FIRST(&h->streams)) != NULL) {
		struct evhttp_connection *conn = evhttp_request_get_connection(r->ev);
		if (conn)
			evhttp_connection_set_closecb(conn, NULL, NULL);
		TAILQ_REMOVE(&h->streams, r, link);
		r->closed(r->closed_arg);
		httpd_req_free(r);
	}
	evhttp_free(h->http);
	if (h->grace_timer)
		event_free(h->grace_timer);
	for (size_t i = 0; i < h->nroutes; i++)
		free(h->routes[i]);
	router_free(h->router);
	free(h);
}
