/*
 * provider: the sandbox's front: the evhttp callback, routing, Basic auth,
 * the API fault counters (http_500, timeout), idempotency records, requests
 * held by the timeout fault, replies and the access log. The protocols
 * live in api_*.c, the test controls in simulate.c and faults.c.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/keyvalq_struct.h>

#include "hclient.h"
#include "log.h"

/* The merchant's static QRIS: reference vector 9.1 (qris.md), renamed below. */
#define SB_STATIC_QRIS                                                                                 \
	"00020101021126630016COM.MEMBASUH.WWW0118936000091100004515021004893710810303UMI51440014ID.CO.QRIS." \
	"WWW0215ID20200340731930303UKE5204482953033605802ID5912Sintas Store6015Kota Yogyakarta61055500062" \
	"070703A0163049FB7"
#define SB_MERCHANT_NAME "Bang Soleh Sandbox"
#define SB_XENDIT_API_VERSION "2022-07-31"
#define SB_HTTP_TIMEOUT_S 75          /* idle connections; longer than a held request */
#define SB_LOG_URI_MAX 256
#define SB_IDS_MAX 32                 /* ids a call may name, with their charges', payouts' and shipments' ids */
#define SB_NOTIFY_RESPONSE_MAX (64 * 1024)
#define SB_NOTIFY_CONNECT_MS 2000
/* Retries are the point of a provider: a receiver that is down must not stop them. */
#define SB_BREAKER_OFF 1000000u

struct sb_route {
	enum evhttp_cmd_type method;
	const char *pattern;         /* a path; a segment that is just an asterisk is the {id} */
	enum sb_kind kind;
	bool idempotent;             /* honours Idempotency-Key */
	sb_handler_fn fn;
};

static const struct sb_route sb_routes[] = {
	{ EVHTTP_REQ_POST, "/v2/charge", SB_KIND_MIDTRANS, true, sb_mid_charge },
	{ EVHTTP_REQ_GET, "/v2/*/status", SB_KIND_MIDTRANS, false, sb_mid_status },
	{ EVHTTP_REQ_POST, "/v2/*/cancel", SB_KIND_MIDTRANS, false, sb_mid_cancel },
	{ EVHTTP_REQ_POST, "/v2/*/expire", SB_KIND_MIDTRANS, false, sb_mid_expire },
	{ EVHTTP_REQ_POST, "/v2/*/refund", SB_KIND_MIDTRANS, false, sb_mid_refund },
	{ EVHTTP_REQ_GET, "/v2/qris/*/qr-code", SB_KIND_OPEN, false, sb_sim_qr },
	{ EVHTTP_REQ_POST, "/qr_codes", SB_KIND_XENDIT, true, sb_x_create },
	{ EVHTTP_REQ_GET, "/qr_codes/*", SB_KIND_XENDIT, false, sb_x_get },
	{ EVHTTP_REQ_GET, "/qr_codes/*/payments", SB_KIND_XENDIT, false, sb_x_payments },
	{ EVHTTP_REQ_POST, "/qr_codes/*/payments/simulate", SB_KIND_XENDIT, false, sb_x_simulate },
	{ EVHTTP_REQ_POST, "/v1/payouts", SB_KIND_PAYOUT, false, sb_po_create },
	{ EVHTTP_REQ_GET, "/v1/payouts/*", SB_KIND_PAYOUT, false, sb_po_get },
	{ EVHTTP_REQ_POST, "/v1/rates/couriers", SB_KIND_BITESHIP, false, sb_bs_rates },
	{ EVHTTP_REQ_POST, "/v1/orders", SB_KIND_BITESHIP, true, sb_bs_create },
	{ EVHTTP_REQ_GET, "/v1/orders/*", SB_KIND_BITESHIP, false, sb_bs_get },
	{ EVHTTP_REQ_POST, "/v1/orders/*/cancel", SB_KIND_BITESHIP, false, sb_bs_cancel },
	{ EVHTTP_REQ_GET, "/v1/trackings/*", SB_KIND_BITESHIP, false, sb_bs_tracking },
	{ EVHTTP_REQ_GET, "/", SB_KIND_OPEN, false, sb_sim_page },
	{ EVHTTP_REQ_GET, "/simulate/charges", SB_KIND_OPEN, false, sb_sim_charges },
	{ EVHTTP_REQ_POST, "/simulate/pay/*", SB_KIND_OPEN, false, sb_sim_pay },
	{ EVHTTP_REQ_POST, "/simulate/payout/*", SB_KIND_OPEN, false, sb_po_simulate },
	{ EVHTTP_REQ_POST, "/simulate/shipment/*", SB_KIND_OPEN, false, sb_bs_simulate },
	{ EVHTTP_REQ_GET, "/simulate/shipments", SB_KIND_OPEN, false, sb_bs_list },
	{ EVHTTP_REQ_GET, "/simulate/shipments/*", SB_KIND_OPEN, false, sb_bs_show },
	{ EVHTTP_REQ_GET, "/simulate/faults", SB_KIND_OPEN, false, sb_faults_get },
	{ EVHTTP_REQ_POST, "/simulate/faults", SB_KIND_OPEN, false, sb_faults_post },
	{ EVHTTP_REQ_DELETE, "/simulate/faults", SB_KIND_OPEN, false, sb_faults_delete },
	{ EVHTTP_REQ_POST, "/simulate/faults/release", SB_KIND_OPEN, false, sb_faults_release },
};

/* --- replies ------------------------------------------------------------------ */

static const char *reason_phrase(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 303: return "See Other";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 409: return "Conflict";
	case 412: return "Precondition Failed";
	case 504: return "Gateway Timeout";
	default: return status < 500 ? "Error" : "Internal Server Error";
	}
}

/* The error code of a front-door error in the shape of `kind` (Midtrans uses the number). */
static const char *front_code(enum sb_kind kind, int status)
{
	if (kind == SB_KIND_MIDTRANS)
		return NULL;
	if (kind == SB_KIND_XENDIT) {
		switch (status) {
		case 400: return "API_VALIDATION_ERROR";
		case 401: return "INVALID_API_KEY";
		case 404: return "NOT_FOUND";
		case 405: return "METHOD_NOT_ALLOWED";
		default: return "SERVER_ERROR";
		}
	}
	switch (status) {
	case 400: return "invalid_request";
	case 401: return "unauthorized";
	case 404: return "not_found";
	case 405: return "method_not_allowed";
	case 504: return "timeout";
	default: return "internal";
	}
}

static void front_error(struct sb_resp *resp, enum sb_kind kind, int status, const char *msg)
{
	sb_resp_error(resp, kind, status, front_code(kind, status), msg);
}

/* Turns a JSON answer into its text (what is sent and what idempotency keeps). */
static void resp_text(struct sb_resp *resp)
{
	if (!resp->json)
		return;
	resp->text = json_dumps(resp->json, JSON_COMPACT);
	json_decref(resp->json);
	resp->json = NULL;
	resp->ctype = "application/json";
	if (resp->text)
		resp->text_len = strlen(resp->text);
	else
		resp->status = 500;
}

static void resp_free(struct sb_resp *resp)
{
	json_decref(resp->json);
	free(resp->text);
}

/* Sends resp on req; req is gone afterwards. */
static void reply(struct evhttp_request *req, struct sb_resp *resp)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *buf = evbuffer_new();
	resp_text(resp);
	if (!resp->status)
		resp->status = 500;
	if (buf && resp->text)
		evbuffer_add(buf, resp->text, resp->text_len);
	if (resp->text && resp->ctype)
		evhttp_add_header(h, "Content-Type", resp->ctype);
	if (resp->location)
		evhttp_add_header(h, "Location", resp->location);
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_send_reply(req, resp->status, reason_phrase(resp->status), buf);
	if (buf)
		evbuffer_free(buf);
}

/* --- requests held by the timeout fault ------------------------------------------- */

/* True once the client has closed (or libevent has let go of) the connection. */
static bool held_gone(struct evhttp_request *req)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	struct bufferevent *bev = conn ? evhttp_connection_get_bufferevent(conn) : NULL;
	evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
	char c;
	ssize_t n;
	if (fd < 0)
		return true;
	n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* Answers a held request 504 (if its client is still there) and forgets it. */
static void held_answer(struct sandbox *sb, struct sb_held *h, const char *why)
{
	struct sb_resp resp = { 0 };
	log_msg(LOG_INFO, "sandbox", "held request answered: %s", why);
	if (h->prev)
		h->prev->next = h->next;
	else
		sb->held = h->next;
	if (h->next)
		h->next->prev = h->prev;
	sb->n_held--;
	front_error(&resp, h->kind, 504, "Injected timeout: the sandbox did not answer");
	reply(h->req, &resp);
	resp_free(&resp);
	free(h);
}

static void held_tick(evutil_socket_t fd, short events, void *arg)
{
	struct sandbox *sb = arg;
	int64_t now = sb_now_ms();
	(void)fd;
	(void)events;
	for (struct sb_held *h = sb->held, *next; h; h = next) {
		next = h->next;
		if (held_gone(h->req))
			held_answer(sb, h, "the client closed the connection");
		else if (now >= h->deadline_ms)
			held_answer(sb, h, "held for 60 s");
	}
	if (!sb->held)
		event_del(sb->held_tick);
}

/* Keeps the request unanswered. Returns true, or false with resp set when it cannot. */
static bool hold(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp)
{
	struct sb_held *h = sb->n_held < SB_HELD_MAX ? calloc(1, sizeof(*h)) : NULL;
	struct timeval tick = { .tv_sec = 0, .tv_usec = SB_HOLD_TICK_MS * 1000 };
	if (!h) {
		front_error(resp, call->kind, 504, "Injected timeout (too many held requests to hold another)");
		return false;
	}
	h->req = call->req;
	h->kind = call->kind;
	h->deadline_ms = sb_now_ms() + SB_HOLD_MAX_MS;
	h->next = sb->held;
	if (sb->held)
		sb->held->prev = h;
	sb->held = h;
	if (sb->n_held++ == 0)
		event_add(sb->held_tick, &tick);
	return true;
}

/* --- idempotency ------------------------------------------------------------------- */

static void idem_drop_oldest(struct sandbox *sb)
{
	struct sb_idem *r = sb->idem_oldest;
	sb->idem_oldest = r->newer;
	if (r->newer)
		r->newer->older = NULL;
	else
		sb->idem_newest = NULL;
	sbmap_del_if(sb->idem, r->key, r);
	sb->n_idem--;
	free(r->text);
	free(r);
}

/* Keeps a response under key (a failure to keep it only loses the replay). */
static void idem_store(struct sandbox *sb, const char *key, const uint8_t *hash, const struct sb_resp *resp)
{
	struct sb_idem *r;
	if (sb->n_idem >= SB_IDEM_MAX)
		idem_drop_oldest(sb);
	r = calloc(1, sizeof(*r));
	if (!r)
		return;
	r->text = malloc(resp->text_len + 1);
	snprintf(r->key, sizeof(r->key), "%s", key);
	if (!r->text || sbmap_put(sb->idem, r->key, r) != SBMAP_OK) {
		free(r->text);
		free(r);
		return;
	}
	memcpy(r->text, resp->text, resp->text_len + 1);
	r->len = resp->text_len;
	r->status = resp->status;
	memcpy(r->hash, hash, sizeof(r->hash));
	r->older = sb->idem_newest;
	if (sb->idem_newest)
		sb->idem_newest->newer = r;
	else
		sb->idem_oldest = r;
	sb->idem_newest = r;
	sb->n_idem++;
}

/*
 * Runs a create under its Idempotency-Key: the same key and body replay
 * the first response; the same key with another body is 409. Responses of
 * 500 and above are not kept, so a retry runs again.
 */
static void idem_run(struct sandbox *sb, struct sb_call *call, const struct sb_route *r, struct sb_resp *resp)
{
	const char *key = sb_header(call, "Idempotency-Key");
	char full[SB_IDEM_KEY_MAX + 3];
	uint8_t hash[CRYPTO_SHA256_LEN];
	struct sb_idem *rec;
	if (!key && call->kind == SB_KIND_XENDIT)
		key = sb_header(call, "X-Idempotency-Key");
	if (!key) {
		r->fn(sb, call, resp);
		return;
	}
	for (const char *p = key; *p; p++) {
		if ((unsigned char)*p < 0x20 || *p == 0x7f || p - key >= SB_IDEM_KEY_MAX) {
			front_error(resp, call->kind, 400, "Idempotency-Key must be 1 to 128 printable characters");
			return;
		}
	}
	if (!*key || crypto_sha256(call->body ? call->body : "", call->body_len, hash) != CRYPTO_OK) {
		front_error(resp, call->kind, 400, "Idempotency-Key must be 1 to 128 printable characters");
		return;
	}
	snprintf(full, sizeof(full), "%c:%s",
		 call->kind == SB_KIND_MIDTRANS ? 'm' : call->kind == SB_KIND_BITESHIP ? 'b' : 'x', key);
	rec = sbmap_get(sb->idem, full);
	if (rec && !crypto_equal(rec->hash, hash, sizeof(hash))) {
		sb_resp_error(resp, call->kind, 409, call->kind == SB_KIND_XENDIT ? "IDEMPOTENCY_ERROR" : NULL,
			      "Idempotency-Key was already used with a different request body");
		return;
	}
	if (rec) {
		resp->text = malloc(rec->len + 1);
		if (!resp->text) {
			front_error(resp, call->kind, 500, "Out of memory");
			return;
		}
		memcpy(resp->text, rec->text, rec->len + 1);
		resp->text_len = rec->len;
		resp->status = rec->status;
		resp->ctype = "application/json";
		return;
	}
	r->fn(sb, call, resp);
	resp_text(resp);
	if (resp->status < 500 && resp->text)
		idem_store(sb, full, hash, resp);
}

/* --- requests ------------------------------------------------------------------------- */

/* Splits and percent-decodes the path. Returns 0 or -1 (malformed or too long). */
static int call_path(struct sb_call *call)
{
	const char *uri = evhttp_request_get_uri(call->req);
	const char *p, *end;
	if (!uri || uri[0] != '/')
		return -1;
	end = uri + strcspn(uri, "?#");
	if (end - uri > SB_PATH_MAX)
		return -1;
	for (p = uri + 1; p < end;) {
		const char *slash = memchr(p, '/', (size_t)(end - p));
		const char *stop = slash ? slash : end;
		if (stop > p) {
			char *raw = strndup(p, (size_t)(stop - p));
			size_t len = 0;
			char *seg = raw ? evhttp_uridecode(raw, 0, &len) : NULL;
			free(raw);
			if (!seg || call->nseg == SB_SEGS_MAX || strlen(seg) != len) {
				free(seg);
				return -1;
			}
			call->seg[call->nseg++] = seg;
		}
		p = stop + 1;
	}
	return 0;
}

/*
 * Copies the body and parses it as a JSON object. A form-typed request
 * whose body is not a JSON object is an HTML form post (the Pay button).
 * Returns 0 or -1 (out of memory).
 */
static int call_body(struct sb_call *call)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(call->req);
	const char *ctype = sb_header(call, "Content-Type");
	bool form_type = ctype && strncasecmp(ctype, "application/x-www-form-urlencoded", 33) == 0;
	size_t len = evbuffer_get_length(in);
	if (len > 0) {
		call->body = malloc(len + 1);
		if (!call->body)
			return -1;
		evbuffer_copyout(in, call->body, len);
		call->body[len] = '\0';
		call->body_len = len;
		call->json = json_loadb(call->body, len, JSON_REJECT_DUPLICATES, NULL);
		if (!json_is_object(call->json)) {
			json_decref(call->json);
			call->json = NULL;
		}
	}
	call->form = form_type && !call->json;
	call->json_bad = len > 0 && !call->json && !call->form;
	return 0;
}

static void call_free(struct sb_call *call)
{
	for (size_t i = 0; i < call->nseg; i++)
		free(call->seg[i]);
	free(call->body);
	json_decref(call->json);
}

/* Whether the path has the pattern's shape; OUT: *arg, the '*' segment. */
static bool route_match(const char *pattern, const struct sb_call *call, const char **arg)
{
	size_t i = 0;
	for (const char *p = pattern + 1; *p;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (i == call->nseg)
			return false;
		if (len == 1 && *p == '*')
			*arg = call->seg[i];
		else if (strlen(call->seg[i]) != len || memcmp(call->seg[i], p, len) != 0)
			return false;
		i++;
		p += len + (slash ? 1 : 0);
	}
	return i == call->nseg;
}

/* The route of the call; *wrong_method when only another method matches. */
static const struct sb_route *route_find(struct sb_call *call, bool *wrong_method)
{
	*wrong_method = false;
	for (size_t r = 0; r < sizeof(sb_routes) / sizeof(sb_routes[0]); r++) {
		const char *arg = NULL;
		if (!route_match(sb_routes[r].pattern, call, &arg))
			continue;
		if (sb_routes[r].method == call->method) {
			call->arg = arg;
			return &sb_routes[r];
		}
		*wrong_method = true;
	}
	return NULL;
}

/* The error shape of a path no route takes. */
static enum sb_kind path_kind(const struct sb_call *call)
{
	if (call->nseg && strcmp(call->seg[0], "v2") == 0)
		return SB_KIND_MIDTRANS;
	if (call->nseg && strcmp(call->seg[0], "qr_codes") == 0)
		return SB_KIND_XENDIT;
	if (call->nseg > 1 && strcmp(call->seg[0], "v1") == 0 &&
	    (strcmp(call->seg[1], "rates") == 0 || strcmp(call->seg[1], "orders") == 0 ||
	     strcmp(call->seg[1], "trackings") == 0))
		return SB_KIND_BITESHIP;
	if (call->nseg && strcmp(call->seg[0], "v1") == 0)
		return SB_KIND_PAYOUT;
	return SB_KIND_OPEN;
}

static bool auth_ok(const struct sandbox *sb, const struct sb_call *call)
{
	const char *h = sb_header(call, "Authorization");
	uint8_t buf[SANDBOX_SECRET_MAX + 2];
	size_t n, want = strlen(sb->server_key);
	/* Biteship takes the key itself: "Bearer KEY" or Basic are refused. */
	if (call->kind == SB_KIND_BITESHIP)
		return h && strlen(h) == strlen(sb->biteship_key) && crypto_equal(h, sb->biteship_key, strlen(h));
	if (!h || strncasecmp(h, "Basic ", 6) != 0)
		return false;
	for (h += 6; *h == ' '; h++)
		;
	if (crypto_base64_decode(h, strlen(h), buf, sizeof(buf), &n) != CRYPTO_OK)
		return false;
	return n == want + 1 && buf[want] == ':' && crypto_equal(buf, sb->server_key, want);
}

/* The ids a call names (path, body) and the ids of the records they name, for fault scopes. */
static size_t call_ids(struct sandbox *sb, const struct sb_call *call, const char **ids)
{
	const char *raw[4];
	size_t nraw = 0, n = 0;
	const json_t *td = json_object_get(call->json, "transaction_details");
	if (call->arg)
		raw[nraw++] = call->arg;
	if ((raw[nraw] = json_string_value(json_object_get(td, "order_id"))))
		nraw++;
	if ((raw[nraw] = json_string_value(json_object_get(call->json, "reference_id"))))
		nraw++;
	if ((raw[nraw] = json_string_value(json_object_get(call->json, "payout_id"))))
		nraw++;
	for (size_t i = 0; i < nraw; i++) {
		const struct sb_charge *c = sb_charge_find(sb, raw[i]);
		const struct sb_payout *po = sb_payout_find(sb, raw[i]);
		const struct sb_shipment *sh = sb_shipment_find(sb, raw[i]);
		ids[n++] = raw[i];
		if (sh) {
			sb_shipment_ids(sh, ids + n);
			n += 3;
		}
		if (c) {
			ids[n++] = c->id;
			ids[n++] = c->ref;
		}
		if (po) {
			ids[n++] = po->payout_id;
			ids[n++] = po->id;
		}
	}
	return n;
}

/*
 * Runs a routed call: auth, api-version, injected faults, body check,
 * idempotency, the handler. Returns true when the call is held (no reply
 * now), else resp holds the answer.
 */
static bool dispatch(struct sandbox *sb, struct sb_call *call, const struct sb_route *r, struct sb_resp *resp)
{
	const char *ids[SB_IDS_MAX];
	if (call->kind != SB_KIND_OPEN) {
		const char *version = sb_header(call, "api-version");
		if (!auth_ok(sb, call)) {
			front_error(resp, call->kind, 401,
				    call->kind == SB_KIND_MIDTRANS   ? "Unknown Merchant server_key/id"
				    : call->kind == SB_KIND_BITESHIP ? "Authorization failed"
								     : "The API key in Basic Authorization is not valid");
			return false;
		}
		if (call->kind == SB_KIND_XENDIT && (!version || strcmp(version, SB_XENDIT_API_VERSION) != 0)) {
			front_error(resp, call->kind, 400, "The api-version header must be " SB_XENDIT_API_VERSION);
			return false;
		}
		switch (sb_faults_gate(sb, ids, call_ids(sb, call, ids))) {
		case SB_GATE_500:
			front_error(resp, call->kind, 500, "Injected failure: internal server error");
			return false;
		case SB_GATE_TIMEOUT:
			return hold(sb, call, resp);
		case SB_GATE_PASS:
			break;
		}
	}
	if (call->json_bad) {
		struct body_check chk = { .failed = true, .field = "body", .reason = "must be a JSON object" };
		sb_resp_invalid(resp, call->kind, &chk);
		return false;
	}
	if (r->idempotent)
		idem_run(sb, call, r, resp);
	else
		r->fn(sb, call, resp);
	return false;
}

static const char *method_name(enum evhttp_cmd_type m)
{
	switch (m) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_PATCH: return "PATCH";
	default: return "OTHER";
	}
}

static void access_log(const char *method, const char *uri, int status, int64_t ms, bool held)
{
	json_t *j;
	if (!log_enabled(LOG_INFO))
		return;
	j = json_pack("{s:s, s:s, s:s%, s:i, s:I, s:b}", "msg", "request", "method", method, "path", uri,
		      strnlen(uri, SB_LOG_URI_MAX), "status", status, "ms", (json_int_t)ms, "held", held);
	if (j)
		log_fields(LOG_INFO, "sandbox", j);
	json_decref(j);
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct sandbox *sb = arg;
	struct sb_call call = { .req = req, .method = evhttp_request_get_command(req) };
	struct sb_resp resp = { 0 };
	const struct sb_route *r = NULL;
	const char *uri = evhttp_request_get_uri(req);
	char logged[SB_LOG_URI_MAX + 1];
	int64_t t0 = sb_now_ms();
	bool wrong_method = false, held = false;
	snprintf(logged, sizeof(logged), "%s", uri ? uri : "-");
	if (call_path(&call) != 0) {
		front_error(&resp, SB_KIND_OPEN, 400, "Malformed or too long request path");
		goto send;
	}
	r = route_find(&call, &wrong_method);
	if (!r) {
		call.kind = path_kind(&call);
		front_error(&resp, call.kind, wrong_method ? 405 : 404,
			    wrong_method ? "Method not allowed here" : "No such endpoint");
		goto send;
	}
	call.kind = r->kind;
	if (call_body(&call) != 0) {
		front_error(&resp, call.kind, 500, "Out of memory");
		goto send;
	}
	held = dispatch(sb, &call, r, &resp);
send:
	if (!held)
		reply(req, &resp);
	access_log(method_name(call.method), logged, held ? 0 : resp.status, sb_now_ms() - t0, held);
	resp_free(&resp);
	call_free(&call);
}

/* --- life cycle ---------------------------------------------------------------------------- */

/* Copies a setting of 1..max bytes; URLs must be http(s). Returns 0 or -1. */
static int setting_copy(char *dst, size_t cap, const char *src, bool url)
{
	size_t len = src ? strlen(src) : 0;
	if (len == 0 || len >= cap)
		return -1;
	if (url && strncmp(src, "http://", 7) != 0 && strncmp(src, "https://", 8) != 0)
		return -1;
	memcpy(dst, src, len + 1);
	return 0;
}

/* The static QRIS of the sandbox's merchant: vector 9.1 with our name. */
static int static_qris(struct sandbox *sb)
{
	struct qris_tlv root;
	struct qris q;
	struct qris_error err;
	int rc = qris_tlv_parse(SB_STATIC_QRIS, strlen(SB_STATIC_QRIS), &root, &err);
	for (size_t i = 0; rc == QRIS_OK && i < root.n; i++) {
		if (root.objects[i].id != 59)
			continue;
		root.objects[i].len = (uint8_t)strlen(SB_MERCHANT_NAME);
		memcpy(root.objects[i].value, SB_MERCHANT_NAME, sizeof(SB_MERCHANT_NAME));
	}
	if (rc == QRIS_OK)
		rc = qris_encode(&root, sb->static_qris, sizeof(sb->static_qris), &sb->static_qris_len);
	if (rc == QRIS_OK)
		rc = qris_decode(sb->static_qris, sb->static_qris_len, &q, &err);
	if (rc != QRIS_OK)
		log_msg(LOG_ERROR, "sandbox", "static QRIS invalid: %s %s", err.tag, err.rule);
	return rc;
}

int sandbox_new(struct event_base *base, struct evhttp *http, const struct sandbox_config *cfg,
		struct sandbox **out)
{
	struct hclient_config hcfg = {
		.connect_timeout_ms = SB_NOTIFY_CONNECT_MS,
		.total_timeout_ms = SB_NOTE_TIMEOUT_MS,
		.max_response = SB_NOTIFY_RESPONSE_MAX,
		.max_attempts = 1,
		.breaker_threshold = SB_BREAKER_OFF,
	};
	struct sandbox *sb;
	int rc = SANDBOX_EINVAL;
	if (!base || !http || !cfg || !out)
		return SANDBOX_EINVAL;
	sb = calloc(1, sizeof(*sb));
	if (!sb)
		return SANDBOX_ENOMEM;
	sb->base = base;
	if (setting_copy(sb->base_url, sizeof(sb->base_url), cfg->base_url, true) != 0 ||
	    setting_copy(sb->notify_midtrans, sizeof(sb->notify_midtrans), cfg->notify_midtrans, true) != 0 ||
	    setting_copy(sb->notify_xendit, sizeof(sb->notify_xendit), cfg->notify_xendit, true) != 0 ||
	    setting_copy(sb->server_key, sizeof(sb->server_key), cfg->server_key, false) != 0 ||
	    setting_copy(sb->callback_token, sizeof(sb->callback_token), cfg->callback_token, false) != 0 ||
	    setting_copy(sb->notify_biteship, sizeof(sb->notify_biteship), cfg->notify_biteship, true) != 0 ||
	    setting_copy(sb->biteship_key, sizeof(sb->biteship_key), cfg->biteship_key, false) != 0 ||
	    cfg->ship_step_ms < 0 || cfg->ship_step_ms > SB_SHIP_STEP_MAX_MS)
		goto free_sandbox;
	sb->ship_step_ms = cfg->ship_step_ms;
	rc = SANDBOX_EQRIS;
	if (static_qris(sb) != QRIS_OK)
		goto free_sandbox;
	rc = SANDBOX_ENOMEM;
	if (sbmap_new(&sb->charge_ids) || sbmap_new(&sb->mid_orders) || sbmap_new(&sb->x_refs) ||
	    sbmap_new(&sb->payout_ids) || sbmap_new(&sb->payout_refs) || sbmap_new(&sb->idem) ||
	    sbmap_new(&sb->ship_ids) || sbmap_new(&sb->ship_refs) || sbmap_new(&sb->ship_tracking))
		goto free_sandbox;
	sb->held_tick = event_new(base, -1, EV_PERSIST, held_tick, sb);
	if (!sb->held_tick || hclient_new(base, &hcfg, &sb->hc) != HCLIENT_OK)
		goto free_sandbox;
	sb_faults_reset(sb);
	evhttp_set_max_body_size(http, SB_BODY_MAX);
	evhttp_set_max_headers_size(http, SB_HEADERS_MAX);
	evhttp_set_timeout(http, SB_HTTP_TIMEOUT_S);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE | EVHTTP_REQ_PUT |
					  EVHTTP_REQ_PATCH);
	evhttp_set_default_content_type(http, "application/json");
	evhttp_set_flags(http, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_gencb(http, on_request, sb);
	*out = sb;
	return SANDBOX_OK;
free_sandbox:
	sandbox_free(sb);
	return rc;
}

void sandbox_free(struct sandbox *sb)
{
	if (!sb)
		return;
	while (sb->held)
		held_answer(sb, sb->held, "shutting down");
	if (sb->held_tick)
		event_free(sb->held_tick);
	/* Notes in flight are cancelled here; their callbacks still find their outboxes. */
	hclient_free(sb->hc);
	sb_charges_free(sb);
	sb_payouts_free(sb);
	sb_shipments_free(sb);
	while (sb->idem_oldest)
		idem_drop_oldest(sb);
	sbmap_free(sb->charge_ids);
	sbmap_free(sb->mid_orders);
	sbmap_free(sb->x_refs);
	sbmap_free(sb->payout_ids);
	sbmap_free(sb->payout_refs);
	sbmap_free(sb->idem);
	sbmap_free(sb->ship_ids);
	sbmap_free(sb->ship_refs);
	sbmap_free(sb->ship_tracking);
	free(sb);
}
