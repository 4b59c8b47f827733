/*
 * Payments over the wire: the real `bangsoleh serve` and the real
 * `bangsoleh-sandbox` provider on loopback, talking to each other. Each test
 * starts both (world_start): an admin made with `bangsoleh user add`, the
 * other users made by the admin over HTTP, and two merchants registered by
 * the admin: warung (UMI, run by siti) and toko (UKE, run by budi). The
 * server's webhooks come from the sandbox, or from the test itself with
 * notifications signed as the sandbox signs them. Every test ends with
 * `bangsoleh ledger verify` on the running store and a clean exit of both
 * programs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <lmdb.h>

#include "crypto.h"
#include "ledger.h"
#include "qris.h"
#include "apitest.h"
#include "audittest.h"
#include "sandboxtest.h"
#include "testsrv.h"

#define PASSWORD "correct horse battery"
#define COST_ENV "BANGSOLEH_AUTH_PASSWORD_COST=10"
#define SANDBOX_KEY "SB-Mid-server-bangsoleh-sandbox"
#define TOKEN_MAX APITEST_TOKEN_MAX
#define ID_MAX 65                 /* payment ids (32 hex) and provider references, with the NUL */
#define PATH_MAX_LEN 512
#define LINE_MAX_LEN 1200
#define ENV_MAX 12                /* entries in the server's environment */
#define WAIT_MS 30000             /* longest wait for something asynchronous to show */
#define WAIT_STEP_MS 50
#define SSE_RAW_MAX 65536         /* undecoded stream bytes held */
#define SSE_TEXT_MAX 65536        /* decoded stream text held */
#define NOTE_MAX 4096             /* one notification body */
#define DUPLICATES 1000

struct world {
	struct sandboxtest sb;
	struct testsrv *srv;
	char admin[TOKEN_MAX], auditor[TOKEN_MAX], shopper[TOKEN_MAX];
	char siti[TOKEN_MAX], budi[TOKEN_MAX];   /* merchant users: warung's and toko's */
	uint64_t warung, toko;         /* merchant ids: UMI and UKE */
	char moved[TESTSRV_PATH_MAX];  /* where a restarted server's data went, removed at the end */
};

/* --- HTTP helpers --- */

static json_t *call(const struct world *w, const char *token, const char *method, const char *path,
		    const char *body, int status)
{
	return apitest_call(w->srv, token, method, path, body, status);
}

static json_t *call_json(const struct world *w, const char *token, const char *method, const char *path,
			 json_t *body, int status)
{
	return apitest_call_json(w->srv, token, method, path, body, status);
}

/* The request fails with status and this error code. */
static void expect_error(const struct world *w, const char *token, const char *method, const char *path,
			 const char *body, int status, const char *code)
{
	apitest_expect_error(w->srv, token, method, path, body, status, code, NULL);
}

/* As expect_error, with `Idempotency-Key: key`. */
static void expect_keyed_error(const struct world *w, const char *token, const char *method, const char *path,
			       const char *key, const char *body, int status, const char *code)
{
	json_t *doc = apitest_call_keyed(w->srv, token, method, path, key, body, status);
	assert_string_equal(apitest_str(json_object_get(doc, "error"), "code"), code);
	json_decref(doc);
}

static bool bool_of(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);
	if (!json_is_boolean(v))
		fail_msg("%s is not a boolean", key);
	return json_is_true(v);
}

/* --- users, merchants --- */

static void user_add_cli(const struct world *w, const char *role, const char *username)
{
	const char *env[] = { COST_ENV, NULL };
	apitest_user_add_cli(w->srv, env, role, username, PASSWORD);
}

/* The admin makes a user over HTTP; returns its id. */
static uint64_t user_add(const struct world *w, const char *role, const char *username)
{
	json_t *doc = call_json(w, w->admin, "POST", "/api/v1/users",
				json_pack("{s:s, s:s, s:s}", "username", username, "password", PASSWORD, "role", role),
				201);
	uint64_t id = (uint64_t)apitest_int(doc, "id");
	json_decref(doc);
	return id;
}

static void login(const struct world *w, const char *username, char *token)
{
	apitest_login(w->srv, username, PASSWORD, token);
}

static uint64_t merchant_add(const struct world *w, const char *name, uint64_t owner, const char *criteria)
{
	char account[64];
	json_t *doc = call_json(w, w->admin, "POST", "/api/v1/admin/merchants",
				json_pack("{s:s, s:I, s:s, s:s, s:s, s:s}", "name", name, "owner_user_id",
					  (json_int_t)owner, "city", "BANDUNG", "postal_code", "40111", "criteria",
					  criteria, "nmid", "ID1020021181745"),
				201);
	uint64_t id = (uint64_t)apitest_int(doc, "id");
	assert_string_equal(apitest_str(doc, "criteria"), criteria);
	assert_int_equal(apitest_int(doc, "owner_user_id"), owner);
	json_decref(doc);
	/* Its payable account exists from the start, empty. */
	snprintf(account, sizeof(account), "/api/v1/ledger/accounts/merchant:%llu:payable", (unsigned long long)id);
	doc = call(w, w->admin, "GET", account, NULL, 200);
	assert_int_equal(apitest_int(doc, "credits_posted"), 0);
	json_decref(doc);
	return id;
}

/* --- the world --- */

/*
 * The start-up every test shares: the sandbox, then the server (on a port
 * picked first, so the sandbox knows where to send notifications) with
 * `env` added (NULL-terminated, may be NULL), then the users and the two
 * merchants. Fails the test when something does not start.
 */
static void world_start(struct world *w, const char *const *env)
{
	char base_url[64], listen[32];
	const char *server_env[ENV_MAX + 1] = { COST_ENV, base_url, NULL };
	const char *args[] = { "--listen", listen, NULL };
	size_t n = 2;
	uint64_t siti, budi;
	int port = sandboxtest_free_port();

	for (size_t i = 0; env && env[i]; i++) {
		assert_true(n < ENV_MAX);
		server_env[n++] = env[i];
	}
	server_env[n] = NULL;
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", port);
	assert_int_equal(sandboxtest_start(&w->sb, port), 0);
	snprintf(base_url, sizeof(base_url), "BANGSOLEH_PAYMENT_BASE_URL=http://127.0.0.1:%d", w->sb.port);
	w->srv = testsrv_new(args, server_env);
	assert_non_null(w->srv);
	assert_int_equal(w->srv->port, port);

	user_add_cli(w, "admin", "admin");
	login(w, "admin", w->admin);
	siti = user_add(w, "merchant", "siti");
	budi = user_add(w, "merchant", "budi");
	user_add(w, "shopper", "shopper");
	user_add(w, "auditor", "auditor");
	login(w, "siti", w->siti);
	login(w, "budi", w->budi);
	login(w, "shopper", w->shopper);
	login(w, "auditor", w->auditor);
	w->warung = merchant_add(w, "Warung Bu Siti", siti, "UMI");
	w->toko = merchant_add(w, "Toko Budi", budi, "UKE");
}

static int world_setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	if (!w)
		return -1;
	sandboxtest_init(&w->sb);
	*state = w;
	return 0;
}

static int world_teardown(void **state)
{
	struct world *w = *state;
	if (w) {
		testsrv_free(w->srv);
		sandboxtest_stop(&w->sb);
		if (w->moved[0])
			testsrv_rmtree(w->moved);
	}
	free(w);
	return 0;
}

/* Ends a test: the books verify, and both programs stop with status 0. */
static void world_finish(struct world *w)
{
	char moved[TESTSRV_PATH_MAX + 8];
	snprintf(moved, sizeof(moved), "%s/data", w->moved);
	sandboxtest_ledger_verify(w->moved[0] ? moved : w->srv->data_dir);
	assert_true(testsrv_stopped_cleanly(w->srv));
	testsrv_free(w->srv);
	w->srv = NULL;
	assert_int_equal(sandboxtest_stop(&w->sb), 0);
}

/* --- payments --- */

static void payment_path(char *out, size_t cap, const char *id, const char *suffix)
{
	snprintf(out, cap, "/api/v1/payments/%s%s", id, suffix);
}

/* A charge of `amount` on merchant `m` as `token`: 201, pending, with a dynamic QR of the amount. OUT: id. */
static json_t *charge(const struct world *w, const char *token, uint64_t m, int64_t amount, char id[ID_MAX])
{
	char path[PATH_MAX_LEN], body[64];
	struct qris q;
	struct qris_error err;
	const char *qr;
	json_t *doc;
	snprintf(path, sizeof(path), "/api/v1/merchants/%llu/charges", (unsigned long long)m);
	snprintf(body, sizeof(body), "{\"amount\":%lld}", (long long)amount);
	doc = call(w, token, "POST", path, body, 201);
	assert_non_null(doc);
	snprintf(id, ID_MAX, "%s", apitest_str(doc, "id"));
	assert_int_equal(strlen(id), 32);
	assert_string_equal(apitest_str(doc, "status"), "pending");
	assert_string_equal(apitest_str(doc, "kind"), "instore");
	assert_string_equal(apitest_str(doc, "provider"), "sandbox");
	assert_int_equal(apitest_int(doc, "merchant_id"), m);
	assert_int_equal(apitest_int(doc, "amount"), amount);
	assert_true(apitest_str(doc, "provider_ref")[0] != '\0');
	qr = apitest_str(doc, "qr_string");
	if (qris_decode(qr, strlen(qr), &q, &err) != QRIS_OK)
		fail_msg("qr_string %s does not decode: %s %s", qr, err.tag, err.rule);
	assert_true(q.dynamic);
	assert_int_equal(q.amount, amount);
	return doc;
}

/* As charge, the document dropped. */
static void charge_id(const struct world *w, const char *token, uint64_t m, int64_t amount, char id[ID_MAX])
{
	json_decref(charge(w, token, m, amount, id));
}

static json_t *payment_get(const struct world *w, const char *id)
{
	char path[PATH_MAX_LEN];
	payment_path(path, sizeof(path), id, "");
	return call(w, w->admin, "GET", path, NULL, 200);
}

/* Waits until the payment has this status (and, when refunded >= 0, this refunded total); returns it. */
static json_t *wait_payment(const struct world *w, const char *id, const char *status, int64_t refunded)
{
	int64_t deadline = sandboxtest_now_ms() + WAIT_MS;
	for (;;) {
		json_t *doc = payment_get(w, id);
		bool there = strcmp(apitest_str(doc, "status"), status) == 0 &&
			     (refunded < 0 || apitest_int(doc, "refunded") == refunded);
		if (there)
			return doc;
		if (sandboxtest_now_ms() >= deadline)
			fail_msg("payment %s is %s (refunded %lld), want %s (refunded %lld)", id, apitest_str(doc, "status"),
				 (long long)apitest_int(doc, "refunded"), status, (long long)refunded);
		json_decref(doc);
		sandboxtest_sleep_ms(WAIT_STEP_MS);
	}
}

/* Waits until the payment is flagged for review; returns it. */
static json_t *wait_flagged(const struct world *w, const char *id)
{
	int64_t deadline = sandboxtest_now_ms() + WAIT_MS;
	for (;;) {
		json_t *doc = payment_get(w, id);
		if (bool_of(doc, "flagged"))
			return doc;
		json_decref(doc);
		if (sandboxtest_now_ms() >= deadline)
			fail_msg("payment %s was not flagged", id);
		sandboxtest_sleep_ms(WAIT_STEP_MS);
	}
}

/* How many history entries the payment has from `source` (NULL: all). */
static size_t history_count(const json_t *pay, const char *source)
{
	const json_t *events = json_object_get(pay, "events"), *e;
	size_t i, n = 0;
	assert_true(json_is_array(events));
	json_array_foreach(events, i, e) {
		if (!source || strcmp(apitest_str(e, "source"), source) == 0)
			n++;
	}
	return n;
}

/* Waits until the payment's history has n entries; fails when it has another number then. */
static void wait_history(const struct world *w, const char *id, size_t n)
{
	int64_t deadline = sandboxtest_now_ms() + WAIT_MS;
	size_t got;
	for (;;) {
		json_t *doc = payment_get(w, id);
		got = history_count(doc, NULL);
		json_decref(doc);
		if (got == n || sandboxtest_now_ms() >= deadline)
			break;
		sandboxtest_sleep_ms(WAIT_STEP_MS);
	}
	if (got != n)
		fail_msg("payment %s has %zu history entries, want %zu", id, got, n);
}

/*
 * A charge whose first notification (pending, sent by the sandbox with the
 * charge) is in: created, charged, and that webhook. OUT: id.
 */
static void charge_noted(const struct world *w, const char *token, uint64_t m, int64_t amount, char id[ID_MAX])
{
	json_decref(charge(w, token, m, amount, id));
	wait_history(w, id, 3);
}

/* --- the ledger --- */

/* Credits less debits posted on the named account; nothing may be pending. */
static int64_t net(const struct world *w, const char *name)
{
	char path[PATH_MAX_LEN];
	json_t *a;
	int64_t v;
	snprintf(path, sizeof(path), "/api/v1/ledger/accounts/%s", name);
	a = call(w, w->auditor, "GET", path, NULL, 200);
	assert_int_equal(apitest_int(a, "debits_pending"), 0);
	assert_int_equal(apitest_int(a, "credits_pending"), 0);
	v = apitest_int(a, "credits_posted") - apitest_int(a, "debits_posted");
	json_decref(a);
	return v;
}

static int64_t payable(const struct world *w, uint64_t m)
{
	char name[64];
	snprintf(name, sizeof(name), "merchant:%llu:payable", (unsigned long long)m);
	return net(w, name);
}

/* The books of in-store payments: merchant payables, fees, and what the provider owes. */
static void expect_books(const struct world *w, int64_t warung, int64_t toko, int64_t fees, int64_t clearing)
{
	int64_t got[4] = { payable(w, w->warung), payable(w, w->toko), net(w, "platform:fees"),
			   net(w, "gateway:sandbox:clearing") };
	if (got[0] != warung || got[1] != toko || got[2] != fees || got[3] != clearing)
		fail_msg("books: warung %lld, toko %lld, fees %lld, clearing %lld; want %lld, %lld, %lld, %lld",
			 (long long)got[0], (long long)got[1], (long long)got[2], (long long)got[3], (long long)warung,
			 (long long)toko, (long long)fees, (long long)clearing);
}

static uint64_t head_seq(const struct world *w)
{
	json_t *doc = call(w, w->auditor, "GET", "/api/v1/ledger/journal?limit=1", NULL, 200);
	uint64_t head = (uint64_t)apitest_int(doc, "head_seq");
	json_decref(doc);
	return head;
}

/* --- notifications made by the test, signed as the sandbox signs them --- */

struct note {
	const char *order_id;        /* our payment id */
	const char *tx;              /* the provider's transaction id */
	const char *status;          /* transaction_status */
	const char *code;            /* status_code */
	int64_t gross;               /* gross_amount */
	int64_t refunded;            /* refund_amount when > 0 */
	const char *refund_key;      /* the newest refunds[] entry's key, or NULL */
	const char *key;             /* the key it is signed with */
	int64_t signed_gross;        /* when > 0: the gross_amount the signature covers (a tampered body) */
};

static void amount_text(int64_t rupiah, char *out, size_t cap)
{
	snprintf(out, cap, "%lld.00", (long long)rupiah);
}

/* hex SHA-512(order_id + status_code + gross_amount + key). */
static void note_sign(const char *order_id, const char *code, const char *gross, const char *key,
		      char out[2 * CRYPTO_SHA512_LEN + 1])
{
	char text[LINE_MAX_LEN];
	uint8_t digest[CRYPTO_SHA512_LEN];
	int n = snprintf(text, sizeof(text), "%s%s%s%s", order_id, code, gross, key);
	assert_true(n > 0 && (size_t)n < sizeof(text));
	assert_int_equal(crypto_sha512(text, (size_t)n, digest), CRYPTO_OK);
	assert_int_equal(crypto_hex_encode(digest, sizeof(digest), out, 2 * CRYPTO_SHA512_LEN + 1), CRYPTO_OK);
}

/* A Midtrans-shaped notification as text (malloc'd). */
static char *note_text(const struct note *n)
{
	char gross[32], signed_gross[32], refunded[32], sig[2 * CRYPTO_SHA512_LEN + 1];
	json_t *j;
	char *text;
	amount_text(n->gross, gross, sizeof(gross));
	amount_text(n->signed_gross > 0 ? n->signed_gross : n->gross, signed_gross, sizeof(signed_gross));
	note_sign(n->order_id, n->code, signed_gross, n->key ? n->key : SANDBOX_KEY, sig);
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "transaction_time",
		      "2026-11-28 10:00:00", "transaction_status", n->status, "transaction_id", n->tx, "status_message",
		      "midtrans payment notification", "status_code", n->code, "signature_key", sig, "order_id",
		      n->order_id, "merchant_id", "G816020221", "gross_amount", gross, "currency", "IDR",
		      "payment_type", "qris", "fraud_status", "accept");
	assert_non_null(j);
	if (n->refunded > 0) {
		amount_text(n->refunded, refunded, sizeof(refunded));
		json_object_set_new(j, "refund_amount", json_string(refunded));
		if (n->refund_key)
			json_object_set_new(j, "refunds", json_pack("[{s:s, s:s}]", "refund_key", n->refund_key,
								     "refund_amount", refunded));
	}
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	assert_non_null(text);
	return text;
}

/* POSTs a notification body to the webhook. OUT: result (the "result" member, or ""). Returns the status. */
static int webhook(const struct world *w, const char *body, char *result, size_t cap)
{
	const char *headers[] = { "Content-Type: application/json", NULL };
	struct testsrv_response resp;
	json_t *doc;
	int status;
	assert_int_equal(testsrv_request(w->srv, "POST", SANDBOXTEST_WEBHOOK_PATH, headers, body, &resp), 0);
	status = resp.status;
	doc = json_loadb(resp.body, resp.body_len, 0, NULL);
	snprintf(result, cap, "%s", json_is_string(json_object_get(doc, "result")) ?
					    json_string_value(json_object_get(doc, "result")) : "");
	json_decref(doc);
	testsrv_response_free(&resp);
	return status;
}

/* Sends a made notification and insists on the answer: 200 with `result`. */
static void send_note(const struct world *w, const struct note *n, const char *result)
{
	char got[32];
	char *text = note_text(n);
	int status = webhook(w, text, got, sizeof(got));
	if (status != 200 || strcmp(got, result) != 0)
		fail_msg("%s %s: status %d result \"%s\", want 200 \"%s\"", n->status, n->order_id, status, got, result);
	free(text);
}

/* The provider reference the server recorded for a payment. */
static void provider_ref(const struct world *w, const char *id, char out[ID_MAX])
{
	json_t *doc = payment_get(w, id);
	snprintf(out, ID_MAX, "%s", apitest_str(doc, "provider_ref"));
	json_decref(doc);
}

/* --- the sandbox's test controls --- */

/* Waits until the sandbox has no notification of the charge queued, held or in flight. */
static void sandbox_quiet(const struct world *w, const char *id)
{
	int64_t deadline = sandboxtest_now_ms() + WAIT_MS;
	for (;;) {
		json_t *doc = sandboxtest_charge(&w->sb, id);
		const json_t *n = json_object_get(doc, "notifications");
		bool quiet = apitest_int(n, "queued") == 0 && apitest_int(n, "held") == 0;
		json_decref(doc);
		if (quiet)
			return;
		if (sandboxtest_now_ms() >= deadline)
			fail_msg("the sandbox still has notifications of %s to send", id);
		sandboxtest_sleep_ms(WAIT_STEP_MS);
	}
}

/* --- Server-Sent Events on a raw socket --- */

struct sse {
	int fd;
	bool chunked;
	char raw[SSE_RAW_MAX];       /* received, not yet de-chunked */
	size_t raw_len;
	char text[SSE_TEXT_MAX];     /* the event stream's text */
	size_t text_len;
};

/* The first `needle` in len bytes of hay, or NULL. */
static char *find(char *hay, size_t len, const char *needle)
{
	size_t n = strlen(needle);
	for (size_t i = 0; i + n <= len; i++)
		if (memcmp(hay + i, needle, n) == 0)
			return hay + i;
	return NULL;
}

/* Moves whole chunks (or, unchunked, everything) from raw to text. */
static void sse_dechunk(struct sse *s)
{
	for (;;) {
		char *eol = find(s->raw, s->raw_len, "\r\n");
		size_t head, size;
		if (!s->chunked) {
			assert_true(s->text_len + s->raw_len <= SSE_TEXT_MAX);
			memcpy(s->text + s->text_len, s->raw, s->raw_len);
			s->text_len += s->raw_len;
			s->raw_len = 0;
			return;
		}
		if (!eol)
			return;
		head = (size_t)(eol - s->raw) + 2;
		size = strtoul(s->raw, NULL, 16);
		assert_true(size > 0);
		if (s->raw_len < head + size + 2)
			return;
		assert_true(s->text_len + size <= SSE_TEXT_MAX);
		memcpy(s->text + s->text_len, s->raw + head, size);
		s->text_len += size;
		memmove(s->raw, s->raw + head + size + 2, s->raw_len - head - size - 2);
		s->raw_len -= head + size + 2;
	}
}

/* Reads what arrives before the deadline into raw. False when nothing came. */
static bool sse_fill(struct sse *s, int64_t deadline)
{
	struct pollfd p = { .fd = s->fd, .events = POLLIN };
	ssize_t n;
	if (sandboxtest_now_ms() >= deadline || poll(&p, 1, (int)(deadline - sandboxtest_now_ms())) <= 0)
		return false;
	assert_true(s->raw_len < SSE_RAW_MAX);
	n = read(s->fd, s->raw + s->raw_len, SSE_RAW_MAX - s->raw_len);
	if (n <= 0)
		return false;
	s->raw_len += (size_t)n;
	return true;
}

/* Opens the payment's event stream as `token`: 200 text/event-stream. */
static void sse_open(const struct world *w, const char *token, const char *id, struct sse *s)
{
	char req[LINE_MAX_LEN], *end;
	int64_t deadline = sandboxtest_now_ms() + WAIT_MS;
	int n = snprintf(req, sizeof(req),
			 "GET /api/v1/payments/%s/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
			 "Authorization: Bearer %s\r\nAccept: text/event-stream\r\n\r\n",
			 id, token);
	memset(s, 0, sizeof(*s));
	assert_int_equal(testsrv_connect(w->srv, &s->fd), 0);
	assert_int_equal(testsrv_send(s->fd, req, (size_t)n), 0);
	while (!(end = find(s->raw, s->raw_len, "\r\n\r\n")))
		if (!sse_fill(s, deadline))
			fail_msg("no response head on the event stream");
	*end = '\0';
	if (strncmp(s->raw, "HTTP/1.1 200", 12) != 0 || !strstr(s->raw, "text/event-stream"))
		fail_msg("event stream head: %s", s->raw);
	s->chunked = strstr(s->raw, "chunked") != NULL;
	memmove(s->raw, end + 4, s->raw_len - (size_t)(end + 4 - s->raw));
	s->raw_len -= (size_t)(end + 4 - s->raw);
}

/* The next `status` event's data as JSON (comments skipped); fails after WAIT_MS. */
static json_t *sse_next(struct sse *s)
{
	int64_t deadline = sandboxtest_now_ms() + WAIT_MS;
	for (;;) {
		char *end;
		sse_dechunk(s);
		while ((end = find(s->text, s->text_len, "\n\n"))) {
			size_t len = (size_t)(end - s->text) + 2;
			char block[SSE_TEXT_MAX];
			json_t *data = NULL;
			memcpy(block, s->text, len - 2);
			block[len - 2] = '\0';
			memmove(s->text, s->text + len, s->text_len - len);
			s->text_len -= len;
			if (block[0] == ':')
				continue;
			if (strncmp(block, "event: status\ndata: ", 20) != 0)
				fail_msg("unexpected event: %s", block);
			data = json_loads(block + 20, 0, NULL);
			assert_non_null(data);
			return data;
		}
		if (!sse_fill(s, deadline))
			fail_msg("no status event within %d ms", WAIT_MS);
	}
}

/* --- tests --- */

/*
 * The in-store journey: a charge with a dynamic QR of its amount, its SVG,
 * an event stream that shows pending and then, without another request,
 * paid once the shopper paid at the provider; the payment's history; and
 * after three payments (UMI below and above Rp500,000, UKE) the books hold
 * exactly amount less MDR for the merchants, the MDR for the platform and
 * the amounts owed by the provider.
 */
static void test_instore_journey(void **state)
{
	struct world *w = *state;
	char id[ID_MAX], big[ID_MAX], uke[ID_MAX], path[PATH_MAX_LEN];
	struct testsrv_response resp;
	char auth[TOKEN_MAX + 32];
	const char *headers[] = { auth, NULL };
	struct sse s;
	json_t *doc, *ev;

	world_start(w, NULL);
	doc = charge(w, w->siti, w->warung, 150000, id);
	assert_int_equal(apitest_int(doc, "mdr"), 0);
	assert_false(bool_of(doc, "flagged"));
	payment_path(path, sizeof(path), id, "/qr.svg");
	assert_string_equal(apitest_str(doc, "qr_svg_url"), path);
	json_decref(doc);

	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", w->siti);
	assert_int_equal(testsrv_request(w->srv, "GET", path, headers, NULL, &resp), 0);
	assert_int_equal(resp.status, 200);
	assert_non_null(testsrv_header(&resp, "Content-Type"));
	assert_non_null(strstr(testsrv_header(&resp, "Content-Type"), "image/svg+xml"));
	assert_non_null(strstr(resp.body, "<svg"));
	assert_non_null(strstr(resp.body, "</svg>"));
	testsrv_response_free(&resp);

	sse_open(w, w->siti, id, &s);
	ev = sse_next(&s);
	assert_string_equal(apitest_str(ev, "id"), id);
	assert_string_equal(apitest_str(ev, "status"), "pending");
	json_decref(ev);
	sandboxtest_pay(&w->sb, id, 0);
	/* The stream moves by itself: no request from the test in between. */
	ev = sse_next(&s);
	assert_string_equal(apitest_str(ev, "id"), id);
	assert_string_equal(apitest_str(ev, "status"), "paid");
	assert_int_equal(apitest_int(ev, "paid_amount"), 150000);
	json_decref(ev);
	close(s.fd);

	doc = payment_get(w, id);
	assert_string_equal(apitest_str(doc, "status"), "paid");
	assert_int_equal(apitest_int(doc, "paid_amount"), 150000);
	assert_false(bool_of(doc, "late"));
	assert_int_equal(history_count(doc, "local"), 1);
	assert_int_equal(history_count(doc, "provider"), 1);
	/* The pending notification of the new charge, then the settlement. */
	assert_int_equal(history_count(doc, "webhook"), 2);
	ev = json_array_get(json_object_get(doc, "events"), json_array_size(json_object_get(doc, "events")) - 1);
	assert_string_equal(apitest_str(ev, "status"), "paid");
	assert_string_equal(apitest_str(ev, "source"), "webhook");
	assert_int_equal(apitest_int(ev, "amount"), 150000);
	json_decref(doc);
	expect_books(w, 150000, 0, 0, -150000);

	/* UMI above Rp500,000: 0.3%. */
	charge_id(w, w->siti, w->warung, 1000000, big);
	sandboxtest_pay(&w->sb, big, 0);
	json_decref(wait_payment(w, big, "paid", 0));
	expect_books(w, 150000 + 997000, 0, 3000, -1150000);

	/* UKE: 0.7% of 123,457 is 864.199, rounded to 864; of 123,500 it is 864.5, rounded half up. */
	doc = charge(w, w->budi, w->toko, 123500, uke);
	assert_int_equal(apitest_int(doc, "mdr"), 865);
	json_decref(doc);
	doc = charge(w, w->budi, w->toko, 123457, uke);
	assert_int_equal(apitest_int(doc, "mdr"), 864);
	json_decref(doc);
	sandboxtest_pay(&w->sb, uke, 0);
	json_decref(wait_payment(w, uke, "paid", 0));
	expect_books(w, 1147000, 123457 - 864, 3864, -1273457);
	world_finish(w);
}

/*
 * A thousand copies of one signed settlement give one posting: the first
 * is applied, the rest are duplicates, the history holds it once, and the
 * merchant is credited one capture. Then the sandbox itself delivers its
 * notifications several times over, with the same outcome.
 */
static void test_duplicate_notifications(void **state)
{
	struct world *w = *state;
	char id[ID_MAX], tx[ID_MAX], other[ID_MAX];
	char req[NOTE_MAX + 256];
	size_t applied = 0, duplicate = 0;
	uint64_t head;
	json_t *doc;
	char *text;
	int fd, n;

	world_start(w, NULL);
	charge_id(w, w->siti, w->warung, 1000000, id);
	provider_ref(w, id, tx);
	head = head_seq(w);
	text = note_text(&(struct note){ .order_id = id, .tx = tx, .status = "settlement", .code = "200",
					 .gross = 1000000 });
	n = snprintf(req, sizeof(req),
		     "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
		     "Content-Length: %zu\r\n\r\n%s",
		     SANDBOXTEST_WEBHOOK_PATH, strlen(text), text);
	assert_true(n > 0 && (size_t)n < sizeof(req));
	free(text);
	/* One kept-alive connection carries them all. */
	assert_int_equal(testsrv_connect(w->srv, &fd), 0);
	for (size_t i = 0; i < DUPLICATES; i++) {
		struct testsrv_response resp;
		const char *result;
		assert_int_equal(testsrv_send(fd, req, (size_t)n), 0);
		assert_int_equal(testsrv_read_response(fd, &resp), 0);
		assert_int_equal(resp.status, 200);
		doc = json_loadb(resp.body, resp.body_len, 0, NULL);
		result = json_string_value(json_object_get(doc, "result"));
		assert_non_null(result);
		if (strcmp(result, "applied") == 0)
			applied++;
		else if (strcmp(result, "duplicate") == 0)
			duplicate++;
		json_decref(doc);
		testsrv_response_free(&resp);
	}
	close(fd);
	assert_int_equal(applied, 1);
	assert_int_equal(duplicate, DUPLICATES - 1);
	doc = payment_get(w, id);
	assert_string_equal(apitest_str(doc, "status"), "paid");
	json_decref(doc);
	/* Capture and MDR: two entries, once. */
	assert_int_equal(head_seq(w), head + 2);
	expect_books(w, 997000, 0, 3000, -1000000);

	/* The sandbox sends every notification of this charge 1 + 10 times. */
	charge_id(w, w->siti, w->warung, 150000, other);
	sandboxtest_fault(&w->sb, other, "\"duplicates\":10");
	sandboxtest_pay(&w->sb, other, 0);
	json_decref(wait_payment(w, other, "paid", 0));
	sandbox_quiet(w, other);
	/* The pending one came before the fault; the settlement's 11 copies after, all answered 200. */
	doc = sandboxtest_charge(&w->sb, other);
	assert_int_equal(apitest_int(json_object_get(doc, "notifications"), "delivered"), 1 + 11);
	json_decref(doc);
	doc = payment_get(w, other);
	assert_int_equal(history_count(doc, "webhook"), 2);
	json_decref(doc);
	assert_int_equal(head_seq(w), head + 3);
	expect_books(w, 997000 + 150000, 0, 3000, -1150000);
	world_finish(w);
}

/*
 * Statuses that arrive out of order never move a payment back: pending or
 * expire after settlement leave it paid; partial refund totals that arrive
 * late are kept without effect, and the final refunded total and the books
 * are right.
 */
static void test_out_of_order(void **state)
{
	struct world *w = *state;
	char a[ID_MAX], b[ID_MAX], tx[ID_MAX];
	json_t *doc;

	world_start(w, NULL);
	charge_noted(w, w->siti, w->warung, 150000, a);
	provider_ref(w, a, tx);
	send_note(w, &(struct note){ .order_id = a, .tx = tx, .status = "settlement", .code = "200", .gross = 150000 },
		  "applied");
	/* The pending notification of the charge, late (the sandbox's own came with the charge). */
	send_note(w, &(struct note){ .order_id = a, .tx = tx, .status = "pending", .code = "201", .gross = 150000 },
		  "duplicate");
	send_note(w, &(struct note){ .order_id = a, .tx = "late-tx", .status = "pending", .code = "201",
				     .gross = 150000 },
		  "recorded");
	send_note(w, &(struct note){ .order_id = a, .tx = tx, .status = "expire", .code = "202", .gross = 150000 },
		  "recorded");
	doc = payment_get(w, a);
	assert_string_equal(apitest_str(doc, "status"), "paid");
	json_decref(doc);
	expect_books(w, 150000, 0, 0, -150000);

	/* 1,000,000 paid (MDR 3,000); refunds to 500,000, 300,000 and 1,000,000 in all arrive 500k, 1M, 300k. */
	charge_id(w, w->siti, w->warung, 1000000, b);
	provider_ref(w, b, tx);
	send_note(w, &(struct note){ .order_id = b, .tx = tx, .status = "settlement", .code = "200",
				     .gross = 1000000 },
		  "applied");
	send_note(w, &(struct note){ .order_id = b, .tx = tx, .status = "partial_refund", .code = "200",
				     .gross = 1000000, .refunded = 500000, .refund_key = "r2" },
		  "applied");
	doc = payment_get(w, b);
	assert_string_equal(apitest_str(doc, "status"), "partially_refunded");
	assert_int_equal(apitest_int(doc, "refunded"), 500000);
	json_decref(doc);
	/* Half the MDR goes back with half the money. */
	expect_books(w, 150000 + 997000 - 498500, 0, 1500, -650000);
	send_note(w, &(struct note){ .order_id = b, .tx = tx, .status = "refund", .code = "200", .gross = 1000000,
				     .refunded = 1000000, .refund_key = "r3" },
		  "applied");
	send_note(w, &(struct note){ .order_id = b, .tx = tx, .status = "partial_refund", .code = "200",
				     .gross = 1000000, .refunded = 300000, .refund_key = "r1" },
		  "recorded");
	doc = payment_get(w, b);
	assert_string_equal(apitest_str(doc, "status"), "refunded");
	assert_int_equal(apitest_int(doc, "refunded"), 1000000);
	json_decref(doc);
	expect_books(w, 150000, 0, 0, -150000);
	world_finish(w);
}

/*
 * A notification that does not verify is refused with 401 and leaves no
 * trace: wrong key, a body changed after signing, no signature. Malformed
 * bodies are 400, unknown payments and providers 404.
 */
static void test_forged_signature(void **state)
{
	struct world *w = *state;
	char id[ID_MAX], tx[ID_MAX], result[32];
	const struct note forged[] = {
		{ .status = "settlement", .code = "200", .gross = 150000, .key = "SB-Mid-server-guessed" },
		{ .status = "settlement", .code = "200", .gross = 1, .signed_gross = 150000 },
	};
	const char *headers[] = { "Content-Type: application/json", NULL };
	struct testsrv_response resp;
	uint64_t head;
	json_t *doc;
	char *text;

	world_start(w, NULL);
	/* Once the sandbox's pending notification is in, the history stands still. */
	charge_noted(w, w->siti, w->warung, 150000, id);
	provider_ref(w, id, tx);
	head = head_seq(w);

	for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
		struct note n = forged[i];
		n.order_id = id;
		n.tx = tx;
		text = note_text(&n);
		assert_int_equal(webhook(w, text, result, sizeof(result)), 401);
		free(text);
	}
	/* No signature at all. */
	text = note_text(&(struct note){ .order_id = id, .tx = tx, .status = "settlement", .code = "200",
					 .gross = 150000 });
	doc = json_loads(text, 0, NULL);
	free(text);
	json_object_del(doc, "signature_key");
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	assert_int_equal(testsrv_request(w->srv, "POST", SANDBOXTEST_WEBHOOK_PATH, headers, text, &resp), 0);
	assert_int_equal(resp.status, 401);
	assert_true(testsrv_error_is(&resp, "invalid_signature"));
	testsrv_response_free(&resp);
	free(text);

	doc = payment_get(w, id);
	assert_string_equal(apitest_str(doc, "status"), "pending");
	assert_int_equal(history_count(doc, NULL), 3);
	json_decref(doc);
	assert_int_equal(head_seq(w), head);
	expect_books(w, 0, 0, 0, 0);

	/* Not JSON: 400. A signed notification of a payment we do not have: 404. */
	assert_int_equal(webhook(w, "{\"order_id\":", result, sizeof(result)), 400);
	text = note_text(&(struct note){ .order_id = "0123456789abcdef0123456789abcdef", .tx = tx, .status = "settlement", .code = "200",
					 .gross = 150000 });
	assert_int_equal(webhook(w, text, result, sizeof(result)), 404);
	assert_int_equal(testsrv_request(w->srv, "POST", "/api/v1/webhooks/payments/xendit", headers, text, &resp), 0);
	assert_int_equal(resp.status, 404);
	testsrv_response_free(&resp);
	free(text);
	assert_int_equal(head_seq(w), head);
	world_finish(w);
}

/*
 * A provider that does not answer a charge makes it 503
 * provider_unavailable (the payment is recorded failed); a provider whose
 * notifications never verify while the shopper pays is reconciled: the
 * status poll (reconcile_after 1 s) finds the payment paid and posts it
 * once, with no webhook applied.
 */
static void test_provider_down(void **state)
{
	struct world *w = *state;
	const char *const env[] = { "BANGSOLEH_PAYMENT_RECONCILE_AFTER=1", "BANGSOLEH_PAYMENT_RECONCILE_MAX=1",
				    "BANGSOLEH_OUTBOUND_TIMEOUT_MS=500", "BANGSOLEH_OUTBOUND_MAX_ATTEMPTS=2",
				    "BANGSOLEH_OUTBOUND_BREAKER_THRESHOLD=100", NULL };
	char id[ID_MAX], charges[PATH_MAX_LEN];
	const json_t *e;
	json_t *doc;
	size_t i, polls = 0;

	world_start(w, env);
	/* Every attempt of the charge is held past the client's timeout. */
	sandboxtest_fault(&w->sb, "global", "\"timeout\":2");
	snprintf(charges, sizeof(charges), "/api/v1/merchants/%llu/charges", (unsigned long long)w->warung);
	expect_error(w, w->siti, "POST", charges, "{\"amount\":150000}", 503, "provider_unavailable");
	json_decref(sandboxtest_call(&w->sb, "DELETE", "/simulate/faults", NULL, 200));

	charge_id(w, w->siti, w->warung, 150000, id);
	sandboxtest_fault(&w->sb, id, "\"wrong_signature\":true");
	sandboxtest_pay(&w->sb, id, 0);
	doc = wait_payment(w, id, "paid", 0);
	json_array_foreach(json_object_get(doc, "events"), i, e) {
		if (strcmp(apitest_str(e, "status"), "paid") == 0) {
			assert_string_equal(apitest_str(e, "source"), "poll");
			polls++;
		}
	}
	assert_int_equal(polls, 1);
	json_decref(doc);
	expect_books(w, 150000, 0, 0, -150000);
	world_finish(w);
}

/*
 * A payment made after the QR expired is recorded paid and late, and
 * refunded by itself: the sandbox shows the refund, the payment ends
 * refunded and the merchant's books net to zero. (payment.expiry cannot go
 * below 60 s, so the expiry is a signed `expire` notification.)
 */
static void test_late_payment(void **state)
{
	struct world *w = *state;
	char id[ID_MAX], tx[ID_MAX];
	json_t *doc;

	world_start(w, NULL);
	charge_id(w, w->siti, w->warung, 150000, id);
	provider_ref(w, id, tx);
	send_note(w, &(struct note){ .order_id = id, .tx = tx, .status = "expire", .code = "202", .gross = 150000 },
		  "applied");
	doc = payment_get(w, id);
	assert_string_equal(apitest_str(doc, "status"), "expired");
	json_decref(doc);

	sandboxtest_pay(&w->sb, id, 0);
	doc = wait_payment(w, id, "refunded", 150000);
	assert_true(bool_of(doc, "late"));
	assert_int_equal(apitest_int(doc, "paid_amount"), 150000);
	json_decref(doc);
	doc = sandboxtest_charge(&w->sb, id);
	assert_string_equal(apitest_str(doc, "state"), "refunded");
	assert_int_equal(apitest_int(doc, "refunded_amount"), 150000);
	json_decref(doc);
	expect_books(w, 0, 0, 0, 0);
	world_finish(w);
}

/*
 * The clock ends a payment: once its QR's time is up it is expired — by the
 * sweep (which also cancels the charge at the provider) or by the provider's
 * own expiry notification, whichever comes first — and the provider will not
 * take a payment for it any more.
 */
static void test_expiry_by_the_clock(void **state)
{
	static const char *const env[] = { "BANGSOLEH_PAYMENT_EXPIRY=5", NULL };
	struct world *w = *state;
	char id[ID_MAX];
	int64_t deadline;
	json_t *doc;

	world_start(w, env);
	/* The provider's notifications are refused, so only the sweep can end it. */
	sandboxtest_fault(&w->sb, "global", "\"wrong_signature\": true");
	charge_id(w, w->siti, w->warung, 150000, id);
	doc = wait_payment(w, id, "expired", -1);
	assert_int_equal(history_count(doc, "local"), 2);   /* created, expired */
	assert_int_equal(history_count(doc, "webhook"), 0);
	json_decref(doc);
	deadline = sandboxtest_now_ms() + WAIT_MS;
	for (;;) {
		bool ended;
		doc = sandboxtest_charge(&w->sb, id);
		ended = strcmp(apitest_str(doc, "state"), "cancelled") == 0 || strcmp(apitest_str(doc, "state"), "expired") == 0;
		json_decref(doc);
		if (ended)
			break;
		if (sandboxtest_now_ms() >= deadline)
			fail_msg("the provider still takes payments for %s", id);
		sandboxtest_sleep_ms(WAIT_STEP_MS);
	}
	expect_books(w, 0, 0, 0, 0);
	world_finish(w);
}

/*
 * A payment of another amount than asked is flagged and held: still
 * pending, nothing posted.
 */
static void test_amount_mismatch(void **state)
{
	struct world *w = *state;
	char id[ID_MAX], other[ID_MAX];
	uint64_t head;
	json_t *doc;

	world_start(w, NULL);
	charge_id(w, w->siti, w->warung, 150000, id);
	head = head_seq(w);
	sandboxtest_pay(&w->sb, id, 149000);
	doc = wait_flagged(w, id);
	assert_string_equal(apitest_str(doc, "status"), "pending");
	assert_int_equal(apitest_int(doc, "paid_amount"), 0);
	json_decref(doc);

	/* The provider adds to what it reports: the same. */
	charge_id(w, w->budi, w->toko, 123457, other);
	sandboxtest_fault(&w->sb, other, "\"amount_delta\":1000");
	sandboxtest_pay(&w->sb, other, 0);
	doc = wait_flagged(w, other);
	assert_string_equal(apitest_str(doc, "status"), "pending");
	json_decref(doc);
	assert_int_equal(head_seq(w), head);
	expect_books(w, 0, 0, 0, 0);
	world_finish(w);
}

/*
 * Who may do what: charges only on one's own store (or as admin), payments
 * read by their merchant, admins and auditors, refunds by admins only,
 * partial then full, moving the books back exactly with the MDR's share,
 * never over what is left.
 */
static void test_authorization_and_refunds(void **state)
{
	struct world *w = *state;
	char id[ID_MAX], path[PATH_MAX_LEN], charges[PATH_MAX_LEN];
	json_t *doc;

	world_start(w, NULL);
	snprintf(charges, sizeof(charges), "/api/v1/merchants/%llu/charges", (unsigned long long)w->warung);
	expect_error(w, w->budi, "POST", charges, "{\"amount\":150000}", 403, "forbidden");
	expect_error(w, w->shopper, "POST", charges, "{\"amount\":150000}", 403, "forbidden");
	expect_error(w, w->auditor, "POST", charges, "{\"amount\":150000}", 403, "forbidden");
	expect_error(w, NULL, "POST", charges, "{\"amount\":150000}", 401, "unauthorized");
	expect_error(w, w->siti, "POST", charges, "{\"amount\":0}", 400, "invalid_field");
	expect_error(w, w->siti, "POST", charges, "{\"amount\":1000,\"tip\":500}", 400, "unknown_field");
	expect_error(w, w->siti, "POST", charges, "{\"amount\":10000001}", 400, "invalid_field");
	expect_error(w, w->siti, "POST", "/api/v1/merchants/99/charges", "{\"amount\":150000}", 404, "not_found");

	charge_id(w, w->siti, w->warung, 1000000, id);
	payment_path(path, sizeof(path), id, "");
	expect_error(w, w->budi, "GET", path, NULL, 403, "forbidden");
	expect_error(w, w->shopper, "GET", path, NULL, 403, "forbidden");
	expect_error(w, NULL, "GET", path, NULL, 401, "unauthorized");
	json_decref(call(w, w->siti, "GET", path, NULL, 200));
	json_decref(call(w, w->auditor, "GET", path, NULL, 200));
	payment_path(path, sizeof(path), id, "/qr.svg");
	expect_error(w, w->budi, "GET", path, NULL, 403, "forbidden");
	expect_error(w, w->auditor, "GET", path, NULL, 403, "forbidden");
	payment_path(path, sizeof(path), id, "/events");
	expect_error(w, w->budi, "GET", path, NULL, 403, "forbidden");
	expect_error(w, w->siti, "GET", "/api/v1/payments/0123456789abcdef0123456789abcdef", NULL, 404, "not_found");
	/* An admin may charge on any store. */
	json_decref(call(w, w->admin, "POST", charges, "{\"amount\":1000}", 201));

	payment_path(path, sizeof(path), id, "/refund");
	expect_keyed_error(w, w->admin, "POST", path, "r-early", "{\"amount\":1000}", 409, "invalid_state");
	sandboxtest_pay(&w->sb, id, 0);
	json_decref(wait_payment(w, id, "paid", 0));
	expect_books(w, 997000, 0, 3000, -1000000);

	expect_keyed_error(w, w->siti, "POST", path, "r-siti", "{\"amount\":1000}", 403, "forbidden");
	doc = apitest_call_keyed(w->srv, w->admin, "POST", path, "r-1", "{\"amount\":400200}", 200);
	assert_string_equal(apitest_str(doc, "status"), "partially_refunded");
	assert_int_equal(apitest_int(doc, "refunded"), 400200);
	json_decref(doc);
	/* 40.02% back: the MDR's share is 1,200.6, rounded half up to 1,201; the merchant gives the rest. */
	expect_books(w, 997000 - (400200 - 1201), 0, 3000 - 1201, -599800);
	expect_keyed_error(w, w->admin, "POST", path, "r-over", "{\"amount\":599801}", 422, "exceeds_refundable");
	expect_keyed_error(w, w->admin, "POST", path, "r-zero", "{\"amount\":0}", 400, "invalid_field");
	doc = apitest_call_keyed(w->srv, w->admin, "POST", path, "r-2", "{\"amount\":599800}", 200);
	assert_string_equal(apitest_str(doc, "status"), "refunded");
	assert_int_equal(apitest_int(doc, "refunded"), 1000000);
	json_decref(doc);
	expect_books(w, 0, 0, 0, 0);
	expect_keyed_error(w, w->admin, "POST", path, "r-3", "{\"amount\":1}", 409, "invalid_state");
	doc = sandboxtest_charge(&w->sb, id);
	assert_int_equal(apitest_int(doc, "refunded_amount"), 1000000);
	json_decref(doc);
	/* The sandbox's refund notifications come after: nothing moves twice. */
	sandbox_quiet(w, id);
	expect_books(w, 0, 0, 0, 0);
	world_finish(w);
}

/* The sandbox's refunded total of a charge. */
static int64_t sandbox_refunded(const struct world *w, const char *id)
{
	json_t *doc = sandboxtest_charge(&w->sb, id);
	int64_t refunded = apitest_int(doc, "refunded_amount");
	json_decref(doc);
	return refunded;
}

/* An admin's refund of `amount` under `key`: 200, with the payment's refunded total then. */
static void refund_ok(const struct world *w, const char *path, const char *key, int64_t amount, int64_t refunded)
{
	char body[64];
	json_t *doc;
	snprintf(body, sizeof(body), "{\"amount\":%lld}", (long long)amount);
	doc = apitest_call_keyed(w->srv, w->admin, "POST", path, key, body, 200);
	assert_int_equal(apitest_int(doc, "refunded"), refunded);
	json_decref(doc);
}

/*
 * A refund is named by its Idempotency-Key: without one it is 400; the
 * same key and body again (a lost answer, a double click) answer the first
 * refund again, with one refund at the provider and one set of postings;
 * the same key with another amount is 409; a retry after the provider did
 * not answer refunds once; a replay of the refund that emptied the payment
 * still answers 200. The books move back exactly once per refund.
 */
static void test_refund_retries(void **state)
{
	struct world *w = *state;
	const char *const env[] = { "BANGSOLEH_OUTBOUND_TIMEOUT_MS=500", "BANGSOLEH_OUTBOUND_MAX_ATTEMPTS=2",
				    "BANGSOLEH_OUTBOUND_BREAKER_THRESHOLD=100", NULL };
	char id[ID_MAX], path[PATH_MAX_LEN];
	uint64_t head;

	world_start(w, env);
	charge_id(w, w->siti, w->warung, 1000000, id);
	sandboxtest_pay(&w->sb, id, 0);
	json_decref(wait_payment(w, id, "paid", 0));
	payment_path(path, sizeof(path), id, "/refund");
	expect_error(w, w->admin, "POST", path, "{\"amount\":400200}", 400, "idempotency_key_required");
	expect_keyed_error(w, w->admin, "POST", path, "two words", "{\"amount\":400200}", 400,
			   "invalid_idempotency_key");
	assert_int_equal(sandbox_refunded(w, id), 0);

	head = head_seq(w);
	refund_ok(w, path, "refund-a", 400200, 400200);
	/* Two transfers: the merchant's part and the MDR's share. */
	assert_int_equal(head_seq(w), head + 2);
	head += 2;
	for (int i = 0; i < 3; i++)
		refund_ok(w, path, "refund-a", 400200, 400200);
	expect_keyed_error(w, w->admin, "POST", path, "refund-a", "{\"amount\":100}", 409, "idempotency_key_reused");
	assert_int_equal(sandbox_refunded(w, id), 400200);
	assert_int_equal(head_seq(w), head);
	expect_books(w, 997000 - (400200 - 1201), 0, 3000 - 1201, -599800);

	/* The provider holds both attempts of the next one past the client's timeout: nothing is refunded. */
	sandboxtest_fault(&w->sb, id, "\"timeout\":2");
	expect_keyed_error(w, w->admin, "POST", path, "refund-b", "{\"amount\":100000}", 503, "provider_unavailable");
	assert_int_equal(sandbox_refunded(w, id), 400200);
	refund_ok(w, path, "refund-b", 100000, 500200);
	refund_ok(w, path, "refund-b", 100000, 500200);
	assert_int_equal(sandbox_refunded(w, id), 500200);
	assert_int_equal(head_seq(w), head + 2);
	expect_books(w, 997000 - (500200 - 1501), 0, 3000 - 1501, -499800);

	/* The last of it: a replay finds nothing left to refund, and answers the refund all the same. */
	refund_ok(w, path, "refund-c", 499800, 1000000);
	refund_ok(w, path, "refund-c", 499800, 1000000);
	assert_int_equal(sandbox_refunded(w, id), 1000000);
	sandbox_quiet(w, id);
	expect_books(w, 0, 0, 0, 0);
	world_finish(w);
}

/* A product of warung's for sale: price, stock. Returns its id. */
static uint64_t product_add(const struct world *w, int64_t price, int64_t stock)
{
	char path[PATH_MAX_LEN], body[256];
	json_t *doc;
	uint64_t id;
	snprintf(path, sizeof(path), "/api/v1/merchants/%llu/products", (unsigned long long)w->warung);
	snprintf(body, sizeof(body),
		 "{\"title\":\"Rendang\",\"description\":\"Oleh-oleh\",\"price\":%lld,\"stock\":%lld,"
		 "\"weight_g\":250,\"category\":\"makanan\"}",
		 (long long)price, (long long)stock);
	doc = call(w, w->siti, "POST", path, body, 201);
	id = (uint64_t)apitest_int(doc, "id");
	json_decref(doc);
	return id;
}

/* The integer `key` of what path shows the admin. */
static int64_t admin_int(const struct world *w, const char *path, const char *key)
{
	json_t *doc = call(w, w->admin, "GET", path, NULL, 200);
	int64_t v = apitest_int(doc, key);
	json_decref(doc);
	return v;
}

/*
 * A checkout whose QR the provider did not give answers 503 "not placed"
 * (the orders cancelled, the stock back); the shopper's retry with the same
 * key and cart places it afresh: 201 with orders awaiting payment and a QR,
 * the stock taken once. Repeats of that answer it again; another cart under
 * the key is 409. Paid, the money is in escrow once.
 */
static void test_checkout_retry_after_provider_failure(void **state)
{
	struct world *w = *state;
	const char *const env[] = { "BANGSOLEH_OUTBOUND_TIMEOUT_MS=500", "BANGSOLEH_OUTBOUND_MAX_ATTEMPTS=2",
				    "BANGSOLEH_OUTBOUND_BREAKER_THRESHOLD=100", NULL };
	const char *ship_to = "\"ship_to\":{\"name\":\"Ani\",\"phone\":\"081200001111\",\"address\":\"Jl. Merdeka 5\","
			      "\"city\":\"Bandung\",\"postal_code\":\"40111\"}";
	char cart[512], other[512], group[ID_MAX], payment[ID_MAX], stock[PATH_MAX_LEN];
	const json_t *o;
	json_t *doc;
	uint64_t product;
	size_t i;

	world_start(w, env);
	product = product_add(w, 50000, 5);
	snprintf(stock, sizeof(stock), "/api/v1/products/%llu", (unsigned long long)product);
	snprintf(cart, sizeof(cart), "{\"items\":[{\"product_id\":%llu,\"quantity\":2}],%s}",
		 (unsigned long long)product, ship_to);
	snprintf(other, sizeof(other), "{\"items\":[{\"product_id\":%llu,\"quantity\":1}],%s}",
		 (unsigned long long)product, ship_to);
	/* Both attempts of the QR's charge are held past the client's timeout. */
	sandboxtest_fault(&w->sb, "global", "\"timeout\":2");
	expect_keyed_error(w, w->shopper, "POST", "/api/v1/checkout", "cart-1", cart, 503, "provider_unavailable");
	json_decref(sandboxtest_call(&w->sb, "DELETE", "/simulate/faults", NULL, 200));
	assert_int_equal(admin_int(w, stock, "stock"), 5);

	doc = apitest_call_keyed(w->srv, w->shopper, "POST", "/api/v1/checkout", "cart-1", cart, 201);
	snprintf(group, sizeof(group), "%s", apitest_str(doc, "id"));
	snprintf(payment, sizeof(payment), "%s", apitest_str(doc, "payment_id"));
	assert_string_equal(apitest_str(json_object_get(doc, "payment"), "status"), "pending");
	assert_true(apitest_str(json_object_get(doc, "payment"), "qr_string")[0] != '\0');
	assert_int_equal(json_array_size(json_object_get(doc, "orders")), 1);
	json_array_foreach(json_object_get(doc, "orders"), i, o)
		assert_string_equal(apitest_str(o, "state"), "awaiting_payment");
	json_decref(doc);
	assert_int_equal(admin_int(w, stock, "stock"), 3);

	doc = apitest_call_keyed(w->srv, w->shopper, "POST", "/api/v1/checkout", "cart-1", cart, 201);
	assert_string_equal(apitest_str(doc, "id"), group);
	json_decref(doc);
	expect_keyed_error(w, w->shopper, "POST", "/api/v1/checkout", "cart-1", other, 409, "idempotency_key_reused");
	assert_int_equal(admin_int(w, stock, "stock"), 3);

	sandboxtest_pay(&w->sb, payment, 0);
	json_decref(wait_payment(w, payment, "paid", 0));
	assert_int_equal(net(w, "escrow"), 100000);
	world_finish(w);
}

/* A till that repeats a keyed charge gets the same payment, once; another amount under the key is 409. */
static void test_keyed_charges(void **state)
{
	struct world *w = *state;
	char charges[PATH_MAX_LEN], id[ID_MAX];
	json_t *first, *again;
	world_start(w, NULL);
	snprintf(charges, sizeof(charges), "/api/v1/merchants/%llu/charges", (unsigned long long)w->warung);
	first = apitest_call_keyed(w->srv, w->siti, "POST", charges, "till-1-0001", "{\"amount\":25000}", 201);
	again = apitest_call_keyed(w->srv, w->siti, "POST", charges, "till-1-0001", "{\"amount\":25000}", 201);
	snprintf(id, sizeof(id), "%s", apitest_str(first, "id"));
	assert_string_equal(apitest_str(again, "id"), id);
	assert_string_equal(apitest_str(again, "qr_string"), apitest_str(first, "qr_string"));
	json_decref(first);
	json_decref(again);
	json_decref(apitest_call_keyed(w->srv, w->siti, "POST", charges, "till-1-0001", "{\"amount\":26000}", 409));
	json_decref(apitest_call_keyed(w->srv, w->siti, "POST", charges, "till 1", "{\"amount\":25000}", 400));
	/* Keys are the caller's own: the admin's same key is another charge. */
	again = apitest_call_keyed(w->srv, w->admin, "POST", charges, "till-1-0001", "{\"amount\":25000}", 201);
	assert_string_not_equal(apitest_str(again, "id"), id);
	json_decref(again);
	/* Paid once, the replay shows it paid, and the books hold one payment. */
	sandboxtest_pay(&w->sb, id, 0);
	json_decref(wait_payment(w, id, "paid", 0));
	again = apitest_call_keyed(w->srv, w->siti, "POST", charges, "till-1-0001", "{\"amount\":25000}", 201);
	assert_string_equal(apitest_str(again, "status"), "paid");
	json_decref(again);
	expect_books(w, 25000, 0, 0, -25000);
	world_finish(w);
}

/* --- receipts --- */

/* The receipt at path, once a signed checkpoint covers it; until then 409 not_yet_signed with a Retry-After. */
static json_t *wait_receipt(const struct world *w, const char *token, const char *path)
{
	char auth[TOKEN_MAX + 32];
	const char *headers[] = { auth, NULL };
	int64_t deadline = sandboxtest_now_ms() + WAIT_MS;
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	for (;;) {
		struct testsrv_response resp;
		json_t *doc;
		assert_int_equal(testsrv_request(w->srv, "GET", path, headers, NULL, &resp), 0);
		doc = json_loads(resp.body, 0, NULL);
		assert_non_null(doc);
		if (resp.status == 200) {
			testsrv_response_free(&resp);
			return doc;
		}
		assert_int_equal(resp.status, 409);
		assert_string_equal(apitest_str(json_object_get(doc, "error"), "code"), "not_yet_signed");
		assert_non_null(testsrv_header(&resp, "Retry-After"));
		assert_true(atoi(testsrv_header(&resp, "Retry-After")) >= 1);
		json_decref(doc);
		testsrv_response_free(&resp);
		if (sandboxtest_now_ms() >= deadline)
			fail_msg("no checkpoint covered %s", path);
		sandboxtest_sleep_ms(WAIT_STEP_MS);
	}
}

/*
 * One entry of a receipt checked as a shopper's own verifier would: the leaf
 * hash recomputed from the canonical bytes, the inclusion proof walked to
 * the checkpoint's root, and the same proof with one bit changed refused.
 * Returns the entry's amount.
 */
static int64_t receipt_entry_check(const json_t *e, const struct ledger_checkpoint *c)
{
	uint8_t bytes[256] = { 0x00 }, leaf[LEDGER_HASH_LEN], served[LEDGER_HASH_LEN];
	uint8_t proof[LEDGER_PROOF_MAX][LEDGER_HASH_LEN];
	size_t len, n;
	uint64_t index = (uint64_t)apitest_int(e, "leaf_index");
	/* bytes[0] stays the leaf prefix 0x00. */
	audittest_bytes_of(e, "canonical", true, bytes + 1, sizeof(bytes) - 1, &len);
	assert_int_equal(len, 169);
	assert_int_equal(crypto_sha256(bytes, 1 + len, leaf), 0);
	audittest_hash_of(e, "leaf_hash", served);
	assert_memory_equal(leaf, served, LEDGER_HASH_LEN);
	assert_int_equal(apitest_int(e, "seq"), index + 1);
	assert_true(index < c->tree_size);
	audittest_proof_of(e, "inclusion_proof", proof, &n);
	assert_true(ledger_merkle_verify_inclusion(leaf, index, c->tree_size, proof[0], n, c->root));
	if (n > 0) {
		proof[n - 1][0] ^= 1;
		assert_false(ledger_merkle_verify_inclusion(leaf, index, c->tree_size, proof[0], n, c->root));
	}
	return apitest_int(e, "amount");
}

/*
 * A receipt proves the payment's money entered the books: none before it is
 * paid (409 not_in_ledger), nor for a payment flagged for review; once paid,
 * the capture and the MDR entries, each proven against the signed checkpoint
 * the receipt carries. Its owner, admins and auditors read it; others 403.
 */
static void test_receipt(void **state)
{
	struct world *w = *state;
	const char *const env[] = { "BANGSOLEH_AUDIT_CHECKPOINT_INTERVAL=1", NULL };
	char id[ID_MAX], flagged[ID_MAX], path[PATH_MAX_LEN];
	uint8_t pub[LEDGER_KEY_LEN];
	struct ledger_checkpoint c;
	const json_t *entries;
	json_t *doc, *key;
	size_t n;

	world_start(w, env);
	charge_id(w, w->budi, w->toko, 123500, id);
	payment_path(path, sizeof(path), id, "/receipt");
	expect_error(w, w->budi, "GET", path, NULL, 409, "not_in_ledger");
	sandboxtest_pay(&w->sb, id, 0);
	json_decref(wait_payment(w, id, "paid", 0));
	doc = wait_receipt(w, w->budi, path);
	assert_string_equal(apitest_str(doc, "id"), id);
	assert_string_equal(apitest_str(doc, "status"), "paid");
	assert_int_equal(apitest_int(doc, "paid_amount"), 123500);

	key = call(w, w->auditor, "GET", "/api/v1/audit/public-key", NULL, 200);
	audittest_bytes_of(key, "public_key", false, pub, sizeof(pub), &n);
	assert_int_equal(n, LEDGER_KEY_LEN);
	json_decref(key);
	audittest_checkpoint_of(json_object_get(doc, "checkpoint"), pub, &c);
	entries = json_object_get(doc, "entries");
	assert_int_equal(json_array_size(entries), 2);
	assert_string_equal(apitest_str(json_array_get(entries, 0), "reason"), "payment");
	assert_int_equal(receipt_entry_check(json_array_get(entries, 0), &c), 123500 - 865);
	assert_string_equal(apitest_str(json_array_get(entries, 1), "reason"), "commission");
	assert_int_equal(receipt_entry_check(json_array_get(entries, 1), &c), 865);
	json_decref(doc);

	json_decref(call(w, w->auditor, "GET", path, NULL, 200));
	json_decref(call(w, w->admin, "GET", path, NULL, 200));
	expect_error(w, w->shopper, "GET", path, NULL, 403, "forbidden");
	expect_error(w, w->siti, "GET", path, NULL, 403, "forbidden");
	expect_error(w, w->budi, "GET", "/api/v1/payments/00000000000000000000000000000001/receipt", NULL, 404,
		     "not_found");

	charge_id(w, w->siti, w->warung, 150000, flagged);
	sandboxtest_pay(&w->sb, flagged, 149000);
	json_decref(wait_flagged(w, flagged));
	payment_path(path, sizeof(path), flagged, "/receipt");
	expect_error(w, w->siti, "GET", path, NULL, 409, "not_in_ledger");
	world_finish(w);
}

/* --- a store's charges --- */

#define LIST_CHARGES 5            /* warung's charges the listing test pages through */

/*
 * Follows GET path (a store's charges, `query` added) page by page with
 * `limit` as who. OUT: ids[0..*n) as listed (at most max), paid[i] whether
 * item i has a paid_at. Checks each page's size and that ids come newest
 * first (strictly descending: an id begins with its creation time).
 */
static void charges_all(const struct world *w, const char *token, const char *path, const char *query, int limit,
			char ids[][ID_MAX], bool *paid, size_t max, size_t *n)
{
	char page[PATH_MAX_LEN + 128], cursor[ID_MAX] = "";
	*n = 0;
	for (size_t pages = 0;; pages++) {
		json_t *doc, *item;
		size_t i;
		assert_true(pages <= 2 * max + 1);
		snprintf(page, sizeof(page), "%s?limit=%d%s%s%s", path, limit, query, cursor[0] ? "&cursor=" : "",
			 cursor);
		doc = call(w, token, "GET", page, NULL, 200);
		assert_true(json_array_size(json_object_get(doc, "items")) <= (size_t)limit);
		json_array_foreach(json_object_get(doc, "items"), i, item) {
			assert_true(*n < max);
			snprintf(ids[*n], ID_MAX, "%s", apitest_str(item, "id"));
			if (*n > 0 && strcmp(ids[*n - 1], ids[*n]) <= 0)
				fail_msg("%s listed after %s", ids[*n], ids[*n - 1]);
			assert_true(apitest_int(item, "amount") > 0);
			assert_true(apitest_str(item, "created_at")[0] != '\0');
			paid[*n] = !json_is_null(json_object_get(item, "paid_at"));
			(*n)++;
		}
		if (json_is_null(json_object_get(doc, "next_cursor"))) {
			json_decref(doc);
			return;
		}
		snprintf(cursor, sizeof(cursor), "%s", apitest_str(doc, "next_cursor"));
		json_decref(doc);
	}
}

/* ids[0..n) are exactly want[0..nwant), each once. */
static void expect_same_charges(char ids[][ID_MAX], size_t n, char want[][ID_MAX], size_t nwant)
{
	assert_int_equal(n, nwant);
	for (size_t i = 0; i < nwant; i++) {
		size_t seen = 0;
		for (size_t j = 0; j < n; j++)
			seen += strcmp(ids[j], want[i]) == 0;
		if (seen != 1)
			fail_msg("charge %s listed %zu times", want[i], seen);
	}
}

/*
 * Kills the server, drops the by-merchant index of charges from its data
 * (a data folder from before the index has none), writes charge `old` back
 * as a version 1 record (from before the paid time was kept), and starts
 * another server on it, which builds the index as it opens. The owners sign
 * in again.
 */
static void restart_without_charge_index(struct world *w, const char *old)
{
	struct ledger_id old_id;
	char data[TESTSRV_PATH_MAX + 8], base_url[64];
	const char *const env[] = { COST_ENV, base_url, NULL };
	const char *args[] = { "--data", data, NULL };
	MDB_env *db;
	MDB_txn *txn;
	MDB_dbi dbi;
	snprintf(base_url, sizeof(base_url), "BANGSOLEH_PAYMENT_BASE_URL=http://127.0.0.1:%d", w->sb.port);
	assert_int_equal(testsrv_crash_keep_data(w->srv, w->moved, sizeof(w->moved), data, sizeof(data)), 0);
	testsrv_free(w->srv);
	w->srv = NULL;
	assert_int_equal(mdb_env_create(&db), 0);
	assert_int_equal(mdb_env_set_maxdbs(db, 64), 0);
	assert_int_equal(mdb_env_open(db, data, 0, 0600), 0);
	assert_int_equal(mdb_txn_begin(db, NULL, 0, &txn), 0);
	assert_int_equal(mdb_dbi_open(txn, "payment_merchant", 0, &dbi), 0);
	assert_int_equal(mdb_drop(txn, dbi, 1), 0);
	assert_int_equal(mdb_txn_commit(txn), 0);
	mdb_env_close(db);
	/* Version 2 added the paid time, after the kept events. */
	assert_int_equal(ledger_id_parse(old, &old_id), 0);
	apitest_record_older(data, "payments", old_id.b, sizeof(old_id.b), 2);
	w->srv = testsrv_new(args, env);
	assert_non_null(w->srv);
	login(w, "siti", w->siti);
	login(w, "budi", w->budi);
}

/*
 * GET /api/v1/merchants/{id}/charges: each store lists its own charges,
 * newest first, page by page without gaps or duplicates; the status filter;
 * paid_at on paid ones only; who may look; bad parameters; a data folder
 * from before the index gets it when the server opens it.
 */
static void test_charge_list(void **state)
{
	struct world *w = *state;
	char warung[LIST_CHARGES][ID_MAX], toko[2][ID_MAX], got[LIST_CHARGES][ID_MAX], paid_ids[2][ID_MAX];
	char wpath[PATH_MAX_LEN], tpath[PATH_MAX_LEN], url[PATH_MAX_LEN + 64];
	bool paid[LIST_CHARGES];
	size_t n;

	world_start(w, NULL);
	snprintf(wpath, sizeof(wpath), "/api/v1/merchants/%llu/charges", (unsigned long long)w->warung);
	snprintf(tpath, sizeof(tpath), "/api/v1/merchants/%llu/charges", (unsigned long long)w->toko);
	charges_all(w, w->siti, wpath, "", 20, got, paid, LIST_CHARGES, &n);
	assert_int_equal(n, 0);
	for (size_t i = 0; i < LIST_CHARGES; i++) {
		charge_id(w, w->siti, w->warung, 1000 + (int64_t)i, warung[i]);
		if (i < 2)
			charge_id(w, w->budi, w->toko, 5000 + (int64_t)i, toko[i]);
	}
	snprintf(paid_ids[0], ID_MAX, "%s", warung[1]);
	snprintf(paid_ids[1], ID_MAX, "%s", warung[3]);
	for (size_t i = 0; i < 2; i++) {
		sandboxtest_pay(&w->sb, paid_ids[i], 0);
		json_decref(wait_payment(w, paid_ids[i], "paid", 0));
	}

	for (int limit = 1; limit <= 3; limit++) {
		charges_all(w, w->siti, wpath, "", limit, got, paid, LIST_CHARGES, &n);
		expect_same_charges(got, n, warung, LIST_CHARGES);
		/* Newest first: the last charge made leads. */
		assert_string_equal(got[0], warung[LIST_CHARGES - 1]);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(paid[i], strcmp(got[i], warung[1]) == 0 || strcmp(got[i], warung[3]) == 0);
		charges_all(w, w->siti, wpath, "&status=paid", limit, got, paid, LIST_CHARGES, &n);
		expect_same_charges(got, n, paid_ids, 2);
		assert_true(paid[0] && paid[1]);
		charges_all(w, w->auditor, wpath, "&status=pending", limit, got, paid, LIST_CHARGES, &n);
		assert_int_equal(n, LIST_CHARGES - 2);
		charges_all(w, w->budi, tpath, "", limit, got, paid, LIST_CHARGES, &n);
		expect_same_charges(got, n, toko, 2);
		charges_all(w, w->admin, tpath, "&status=refunded", limit, got, paid, LIST_CHARGES, &n);
		assert_int_equal(n, 0);
	}
	{
		json_t *doc = call(w, w->siti, "GET", wpath, NULL, 200);
		const json_t *first = json_array_get(json_object_get(doc, "items"), 0);
		assert_int_equal(apitest_int(doc, "merchant_id"), w->warung);
		assert_string_equal(apitest_str(first, "id"), warung[LIST_CHARGES - 1]);
		assert_int_equal(apitest_int(first, "amount"), 1000 + LIST_CHARGES - 1);
		assert_string_equal(apitest_str(first, "status"), "pending");
		json_decref(doc);
	}

	/* Who may look. */
	expect_error(w, w->budi, "GET", wpath, NULL, 403, "forbidden");
	expect_error(w, w->shopper, "GET", wpath, NULL, 403, "forbidden");
	expect_error(w, NULL, "GET", wpath, NULL, 401, "unauthorized");
	expect_error(w, w->siti, "GET", "/api/v1/merchants/999/charges", NULL, 404, "not_found");
	expect_error(w, w->admin, "GET", "/api/v1/merchants/999/charges", NULL, 404, "not_found");
	/* Bad parameters. */
	{
		const char *bad[] = { "status=lost", "status=", "cursor=abc", "cursor=0123", "limit=0", "limit=101",
				      "limit=x" };
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			snprintf(url, sizeof(url), "%s?%s", wpath, bad[i]);
			expect_error(w, w->siti, "GET", url, NULL, 400, "invalid_field");
		}
	}

	restart_without_charge_index(w, paid_ids[0]);
	charges_all(w, w->siti, wpath, "", 2, got, paid, LIST_CHARGES, &n);
	expect_same_charges(got, n, warung, LIST_CHARGES);
	assert_string_equal(got[0], warung[LIST_CHARGES - 1]);
	charges_all(w, w->budi, tpath, "", 2, got, paid, LIST_CHARGES, &n);
	expect_same_charges(got, n, toko, 2);
	charges_all(w, w->siti, wpath, "&status=paid", 2, got, paid, LIST_CHARGES, &n);
	expect_same_charges(got, n, paid_ids, 2);
	/* The version 1 record's paid time comes from its history. */
	assert_true(paid[0] && paid[1]);
	world_finish(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_keyed_charges, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_instore_journey, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_notifications, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_out_of_order, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_forged_signature, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_provider_down, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_late_payment, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_expiry_by_the_clock, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_amount_mismatch, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_receipt, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_authorization_and_refunds, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_refund_retries, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_checkout_retry_after_provider_failure, world_setup, world_teardown),
		cmocka_unit_test_setup_teardown(test_charge_list, world_setup, world_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
