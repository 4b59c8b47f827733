/*
 * bench_notify: the helper of bench_notify.sh. It makes what the
 * notification benchmark fires and checks what it left:
 *
 *   bench_notify port
 *       prints a loopback port that was free a moment ago
 *   bench_notify prepare HOST:PORT ADMIN PASSWORD N NOTES
 *       as ADMIN: a merchant user and a UMI merchant; as that user, N
 *       in-store charges of BN_AMOUNT (BN_THREADS connections in parallel);
 *       then waits until the sandbox's pending notification of every charge
 *       was answered, and writes NOTES: one signed Midtrans settlement
 *       notification per charge, one JSON object per line
 *   bench_notify verify HOST:PORT ADMIN PASSWORD NOTES
 *       every payment named in NOTES is paid, and the merchant's payable
 *       balance is exactly N * BN_AMOUNT (UMI at Rp150,000: no MDR)
 *   bench_notify ship-prepare HOST:PORT SANDBOX_PORT ADMIN PASSWORD GROUPS NOTES SHIPS
 *       for bench_courier.sh: GROUPS checkouts of one order from each of
 *       BN_SHIP_STORES stores with a courier's rate, paid at the sandbox and
 *       confirmed; once every shipment is at the sandbox, writes NOTES: the
 *       company's order.status webhooks, one per shipment and step
 *       (allocated .. delivered), step by step; and SHIPS: "order shipment"
 *   bench_notify ship-verify HOST:PORT ADMIN PASSWORD SHIPS
 *       every shipment in SHIPS is delivered, and so is its order
 *
 * Talks HTTP/1.1 with keep-alive over blocking loopback sockets. Every
 * response is bounded by BN_RESPONSE_MAX and every wait by BN_IO_TIMEOUT_S
 * or BN_WAIT_S. Exits 0, 1 (a check failed) or 2 (bad usage).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "crypto.h"

#define BN_AMOUNT 150000
#define BN_THREADS 32
#define BN_CHARGES_MAX 1000000
#define BN_RESPONSE_MAX (64 * 1024)
#define BN_REQUEST_MAX 16384         /* a checkout with ten rate tokens */
#define BN_TOKEN_MAX 128
#define BN_ID_MAX 65                 /* 32 hex ids and provider references, with the NUL */
#define BN_NOTE_MAX 1024             /* one notification line */
#define BN_IO_TIMEOUT_S 30
#define BN_WAIT_S 120                /* for the sandbox's pending notifications */
#define BN_SERVER_KEY "SB-Mid-server-bangsoleh-sandbox"
#define BN_WEBHOOK_ROUTE "route=\"/api/v1/webhooks/payments/{provider}\""

/* One keep-alive connection to the server. */
struct bn_conn {
	int fd;
	int port;
	char buf[BN_RESPONSE_MAX + 1];   /* the last response's body, NUL-terminated */
	size_t body_len;
	int status;
};

/* A charge as the notes need it. */
struct bn_charge {
	char id[BN_ID_MAX];
	char ref[BN_ID_MAX];
};

/* The work of one charging thread: charges [from, to). */
struct bn_worker {
	pthread_t thread;
	int port;
	const char *token;
	uint64_t merchant;
	struct bn_charge *charges;
	size_t from, to;
	int failed;
};

static int bn_connect(struct bn_conn *c, int port)
{
	struct timeval tv = { BN_IO_TIMEOUT_S, 0 };
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	c->port = port;
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	if (c->fd < 0)
		return -1;
	if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(c->fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

static int bn_send_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The Content-Length of a response head (NUL-terminated), or -1. */
static long bn_content_length(const char *head)
{
	for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n"))
		if (strncasecmp(p + 2, "Content-Length:", 15) == 0)
			return strtol(p + 17, NULL, 10);
	return -1;
}

/* Reads one response with a Content-Length body into c->buf. Returns 0 or -1. */
static int bn_read_response(struct bn_conn *c)
{
	size_t len = 0, head_len, want;
	char *end = NULL;
	long cl;
	while (!end) {
		ssize_t n;
		if (len == BN_RESPONSE_MAX)
			return -1;
		n = recv(c->fd, c->buf + len, BN_RESPONSE_MAX - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		len += (size_t)n;
		c->buf[len] = '\0';
		end = strstr(c->buf, "\r\n\r\n");
	}
	head_len = (size_t)(end - c->buf) + 4;
	if (sscanf(c->buf, "HTTP/1.%*d %d", &c->status) != 1)
		return -1;
	end[2] = '\0';
	cl = bn_content_length(c->buf);
	if (cl < 0 || (size_t)cl > BN_RESPONSE_MAX - head_len)
		return -1;
	want = (size_t)cl;
	while (len < head_len + want) {
		ssize_t n = recv(c->fd, c->buf + len, head_len + want - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		len += (size_t)n;
	}
	memmove(c->buf, c->buf + head_len, want);
	c->buf[want] = '\0';
	c->body_len = want;
	return 0;
}

/*
 * One request on the connection (token, key and body may be NULL; key is
 * an Idempotency-Key). Returns 0 or -1; c->status, c->buf.
 */
static int bn_request_keyed(struct bn_conn *c, const char *method, const char *path, const char *token,
			    const char *key, const char *body)
{
	char req[BN_REQUEST_MAX];
	char auth[BN_TOKEN_MAX + 32] = "", idem[BN_ID_MAX + 32] = "";
	size_t body_len = body ? strlen(body) : 0;
	int n;
	if (token)
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s\r\n", token);
	if (key)
		snprintf(idem, sizeof(idem), "Idempotency-Key: %s\r\n", key);
	n = snprintf(req, sizeof(req),
		     "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%sContent-Type: application/json\r\n"
		     "Content-Length: %zu\r\n\r\n%s",
		     method, path, auth, idem, body_len, body ? body : "");
	if (n < 0 || (size_t)n >= sizeof(req))
		return -1;
	if (bn_send_all(c->fd, req, (size_t)n) != 0)
		return -1;
	return bn_read_response(c);
}

static int bn_request(struct bn_conn *c, const char *method, const char *path, const char *token,
		      const char *body)
{
	return bn_request_keyed(c, method, path, token, NULL, body);
}

/* A request whose answer must have `status`; its body as JSON (caller decrefs), else NULL (said). */
static json_t *bn_call_keyed(struct bn_conn *c, const char *method, const char *path, const char *token,
			     const char *key, const char *body, int status)
{
	json_t *doc;
	if (bn_request_keyed(c, method, path, token, key, body) != 0) {
		fprintf(stderr, "bench_notify: %s %s: no answer\n", method, path);
		return NULL;
	}
	if (c->status != status) {
		fprintf(stderr, "bench_notify: %s %s: status %d, want %d: %.300s\n", method, path, c->status, status,
			c->buf);
		return NULL;
	}
	doc = json_loadb(c->buf, c->body_len, 0, NULL);
	if (!doc)
		fprintf(stderr, "bench_notify: %s %s: the answer is not JSON\n", method, path);
	return doc;
}

static json_t *bn_call(struct bn_conn *c, const char *method, const char *path, const char *token,
		       const char *body, int status)
{
	return bn_call_keyed(c, method, path, token, NULL, body, status);
}

static int bn_login(struct bn_conn *c, const char *user, const char *password, char token[BN_TOKEN_MAX])
{
	char body[512];
	json_t *doc;
	const char *t;
	snprintf(body, sizeof(body), "{\"username\":\"%s\",\"password\":\"%s\"}", user, password);
	doc = bn_call(c, "POST", "/api/v1/auth/login", NULL, body, 200);
	t = json_string_value(json_object_get(doc, "token"));
	if (t)
		snprintf(token, BN_TOKEN_MAX, "%s", t);
	json_decref(doc);
	return t ? 0 : -1;
}

/* An integer member of the answer to a call, or -1. */
static int64_t bn_call_int(struct bn_conn *c, const char *method, const char *path, const char *token,
			   const char *body, int status, const char *key)
{
	json_t *doc = bn_call(c, method, path, token, body, status);
	json_t *v = json_object_get(doc, key);
	int64_t out = json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
	json_decref(doc);
	return out;
}

static void *bn_charge_worker(void *arg)
{
	struct bn_worker *wk = arg;
	struct bn_conn *c = malloc(sizeof(*c));
	char path[64], body[64];
	if (!c || bn_connect(c, wk->port) != 0) {
		wk->failed = 1;
		free(c);
		return NULL;
	}
	snprintf(path, sizeof(path), "/api/v1/merchants/%llu/charges", (unsigned long long)wk->merchant);
	snprintf(body, sizeof(body), "{\"amount\":%d}", BN_AMOUNT);
	for (size_t i = wk->from; i < wk->to && !wk->failed; i++) {
		json_t *doc = bn_call(c, "POST", path, wk->token, body, 201);
		const char *id = json_string_value(json_object_get(doc, "id"));
		const char *ref = json_string_value(json_object_get(doc, "provider_ref"));
		if (id && ref && strlen(id) < BN_ID_MAX && strlen(ref) < BN_ID_MAX) {
			snprintf(wk->charges[i].id, BN_ID_MAX, "%s", id);
			snprintf(wk->charges[i].ref, BN_ID_MAX, "%s", ref);
		} else {
			wk->failed = 1;
		}
		json_decref(doc);
	}
	close(c->fd);
	free(c);
	return NULL;
}

/* The signed settlement notification of one charge, on one line. */
static int bn_note(const struct bn_charge *ch, char out[BN_NOTE_MAX])
{
	char text[256], gross[32], sig[2 * CRYPTO_SHA512_LEN + 1];
	uint8_t digest[CRYPTO_SHA512_LEN];
	int n;
	snprintf(gross, sizeof(gross), "%d.00", BN_AMOUNT);
	n = snprintf(text, sizeof(text), "%s200%s%s", ch->id, gross, BN_SERVER_KEY);
	if (n < 0 || (size_t)n >= sizeof(text) || crypto_sha512(text, (size_t)n, digest) != CRYPTO_OK ||
	    crypto_hex_encode(digest, sizeof(digest), sig, sizeof(sig)) != CRYPTO_OK)
		return -1;
	n = snprintf(out, BN_NOTE_MAX,
		     "{\"transaction_time\":\"2026-11-28 10:00:00\",\"transaction_status\":\"settlement\","
		     "\"transaction_id\":\"%s\",\"status_message\":\"midtrans payment notification\","
		     "\"status_code\":\"200\",\"signature_key\":\"%s\",\"order_id\":\"%s\","
		     "\"merchant_id\":\"G816020221\",\"gross_amount\":\"%s\",\"currency\":\"IDR\","
		     "\"payment_type\":\"qris\",\"fraud_status\":\"accept\"}",
		     ch->ref, sig, ch->id, gross);
	return n > 0 && n < BN_NOTE_MAX ? 0 : -1;
}

/* Webhook requests answered 200 so far, from the server's /metrics; -1 when unreadable. */
static int64_t bn_webhooks_answered(struct bn_conn *c)
{
	int64_t total = 0;
	char *line, *save = NULL;
	if (bn_request(c, "GET", "/metrics", NULL, NULL) != 0 || c->status != 200)
		return -1;
	for (line = strtok_r(c->buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strrchr(line, ' ');
		if (strncmp(line, "bangsoleh_http_requests_total{", 30) == 0 && strstr(line, BN_WEBHOOK_ROUTE) &&
		    strstr(line, "status=\"200\"") && sp)
			total += strtoll(sp + 1, NULL, 10);
	}
	return total;
}

static double bn_seconds(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* Makes the merchant and its charges, waits out the pending notifications, writes the notes. */
static int bn_prepare(int port, const char *admin, const char *password, size_t n, const char *notes_path)
{
	static struct bn_conn c;
	struct bn_worker workers[BN_THREADS];
	struct bn_charge *charges = calloc(n, sizeof(*charges));
	char admin_token[BN_TOKEN_MAX], token[BN_TOKEN_MAX], body[512];
	struct timespec t0, t1;
	int64_t user, merchant, answered = -1;
	FILE *f = NULL;
	int rc = 1;

	if (!charges) {
		fprintf(stderr, "bench_notify: out of memory\n");
		return 1;
	}
	if (bn_connect(&c, port) != 0)
		goto free_charges;
	if (bn_login(&c, admin, password, admin_token) != 0)
		goto close_conn;
	snprintf(body, sizeof(body), "{\"username\":\"bench-merchant\",\"password\":\"%s\",\"role\":\"merchant\"}",
		 password);
	user = bn_call_int(&c, "POST", "/api/v1/users", admin_token, body, 201, "id");
	snprintf(body, sizeof(body),
		 "{\"name\":\"Warung Bench\",\"owner_user_id\":%lld,\"city\":\"BANDUNG\",\"postal_code\":\"40111\","
		 "\"criteria\":\"UMI\",\"nmid\":\"ID1020021181745\"}",
		 (long long)user);
	merchant = user > 0 ? bn_call_int(&c, "POST", "/api/v1/admin/merchants", admin_token, body, 201, "id") : -1;
	if (merchant <= 0 || bn_login(&c, "bench-merchant", password, token) != 0)
		goto close_conn;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < BN_THREADS; i++) {
		workers[i] = (struct bn_worker){ .port = port, .token = token, .merchant = (uint64_t)merchant,
						 .charges = charges, .from = n * i / BN_THREADS,
						 .to = n * (i + 1) / BN_THREADS };
		if (pthread_create(&workers[i].thread, NULL, bn_charge_worker, &workers[i]) != 0) {
			fprintf(stderr, "bench_notify: cannot start a thread\n");
			exit(1);
		}
	}
	rc = 0;
	for (size_t i = 0; i < BN_THREADS; i++) {
		pthread_join(workers[i].thread, NULL);
		rc |= workers[i].failed;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc) {
		fprintf(stderr, "bench_notify: not every charge was made\n");
		goto close_conn;
	}
	printf("charges: %zu made in %.2f s (%.0f/s)\n", n, bn_seconds(&t0, &t1), (double)n / bn_seconds(&t0, &t1));

	/* The sandbox notifies each new charge (pending): let those land before the run. */
	for (int s = 0; s < BN_WAIT_S * 10; s++) {
		struct timespec tenth = { 0, 100000000L };
		answered = bn_webhooks_answered(&c);
		if (answered < 0 || answered >= (int64_t)n)
			break;
		nanosleep(&tenth, NULL);
	}
	if (answered < (int64_t)n) {
		fprintf(stderr, "bench_notify: only %lld of %zu pending notifications were answered\n",
			(long long)answered, n);
		rc = 1;
		goto close_conn;
	}

	f = fopen(notes_path, "w");
	for (size_t i = 0; f && i < n; i++) {
		char line[BN_NOTE_MAX];
		if (bn_note(&charges[i], line) != 0 || fprintf(f, "%s\n", line) < 0)
			rc = 1;
	}
	if (!f || fclose(f) != 0 || rc) {
		fprintf(stderr, "bench_notify: cannot write %s\n", notes_path);
		rc = 1;
	}
close_conn:
	close(c.fd);
free_charges:
	free(charges);
	return rc ? 1 : 0;
}

/* Every payment in the notes is paid, and the merchant holds exactly what they paid. */
static int bn_verify(int port, const char *admin, const char *password, const char *notes_path)
{
	static struct bn_conn c;
	char token[BN_TOKEN_MAX], line[BN_NOTE_MAX + 2], path[128];
	size_t n = 0, paid = 0;
	int64_t payable = -1;
	json_t *doc;
	FILE *f = fopen(notes_path, "r");
	if (!f || bn_connect(&c, port) != 0 || bn_login(&c, admin, password, token) != 0) {
		fprintf(stderr, "bench_notify: cannot read %s or sign in\n", notes_path);
		if (f)
			fclose(f);
		return 1;
	}
	while (fgets(line, sizeof(line), f)) {
		json_t *note = json_loads(line, 0, NULL);
		const char *id = json_string_value(json_object_get(note, "order_id"));
		n++;
		if (id && strlen(id) < BN_ID_MAX) {
			snprintf(path, sizeof(path), "/api/v1/payments/%s", id);
			doc = bn_call(&c, "GET", path, token, NULL, 200);
			const char *status = json_string_value(json_object_get(doc, "status"));
			if (status && strcmp(status, "paid") == 0)
				paid++;
			json_decref(doc);
		}
		json_decref(note);
	}
	fclose(f);
	/* The data folder is the benchmark's own: its merchant is the first. */
	doc = bn_call(&c, "GET", "/api/v1/ledger/accounts/merchant:1:payable", token, NULL, 200);
	if (doc)
		payable = (int64_t)json_integer_value(json_object_get(doc, "credits_posted")) -
			  (int64_t)json_integer_value(json_object_get(doc, "debits_posted"));
	json_decref(doc);
	close(c.fd);
	printf("verify: %zu of %zu payments paid; merchant payable %lld (want %lld)\n", paid, n, (long long)payable,
	       (long long)n * BN_AMOUNT);
	return paid == n && payable == (int64_t)n * BN_AMOUNT ? 0 : 1;
}

/* --- courier webhooks (bench_courier.sh) --- */

#define BN_SHIP_STORES 10            /* stores of one checkout: one order and shipment each */
#define BN_SHIP_PRICE 50000
#define BN_SHIP_POSTAL "40115"       /* the buyer's; the stores are at 40111 */
#define BN_SHIP_TOKEN_MAX 512        /* a rate token (SHIPMENTS_TOKEN_MAX) */
#define BN_SHIP_HOOK "/api/v1/webhooks/couriers/sandbox?token=sandbox-courier-token"

/* The company's statuses each shipment walks through, one webhook each: each moves it. */
static const char *const bn_ship_steps[] = { "allocated", "picking_up", "picked", "dropping_off", "delivered" };
#define BN_SHIP_STEPS (sizeof(bn_ship_steps) / sizeof(bn_ship_steps[0]))

/* One order and its shipment. */
struct bn_ship {
	int64_t order;
	char shipment[BN_ID_MAX];
	char provider[BN_ID_MAX];
};

/* What the checkout threads share (read-only) and fill (their own groups of ships). */
struct bn_shop {
	int port, sb_port;
	char admin[BN_TOKEN_MAX], shopper[BN_TOKEN_MAX];
	int64_t stores[BN_SHIP_STORES], products[BN_SHIP_STORES];
	char rates[BN_SHIP_STORES][BN_SHIP_TOKEN_MAX + 1];
	struct bn_ship *ships;
};

struct bn_ship_worker {
	pthread_t thread;
	struct bn_shop *shop;
	size_t from, to;                 /* groups [from, to) */
	int failed;
};

static void bn_tenth(void)
{
	struct timespec tenth = { 0, 100000000L };
	nanosleep(&tenth, NULL);
}

/* A store of its own merchant, with an address and a phone, and one product with its jne/reg rate. */
static int bn_ship_store(struct bn_conn *c, struct bn_shop *shop, size_t k, const char *password, size_t stock)
{
	char body[1024], path[128];
	int64_t user;
	json_t *doc, *r;
	size_t i;
	snprintf(body, sizeof(body), "{\"username\":\"bench-store-%zu\",\"password\":\"%s\",\"role\":\"merchant\"}", k,
		 password);
	user = bn_call_int(c, "POST", "/api/v1/users", shop->admin, body, 201, "id");
	snprintf(body, sizeof(body),
		 "{\"name\":\"Warung Bench %zu\",\"owner_user_id\":%lld,\"city\":\"BANDUNG\",\"postal_code\":\"40111\","
		 "\"criteria\":\"UMI\",\"nmid\":\"ID1020021181745\",\"address\":\"Jl. Braga %zu\","
		 "\"phone\":\"+6281234567890\"}",
		 k, (long long)user, k + 1);
	shop->stores[k] = user > 0 ? bn_call_int(c, "POST", "/api/v1/admin/merchants", shop->admin, body, 201, "id") : -1;
	if (shop->stores[k] <= 0)
		return -1;
	snprintf(path, sizeof(path), "/api/v1/merchants/%lld/products", (long long)shop->stores[k]);
	snprintf(body, sizeof(body),
		 "{\"title\":\"Rendang %zu\",\"description\":\"bench\",\"price\":%d,\"stock\":%zu,\"weight_g\":800,"
		 "\"category\":\"makanan\"}",
		 k, BN_SHIP_PRICE, stock);
	shop->products[k] = bn_call_int(c, "POST", path, shop->admin, body, 201, "id");
	snprintf(body, sizeof(body),
		 "{\"merchant_id\":%lld,\"items\":[{\"product_id\":%lld,\"quantity\":1}],\"ship_to\":{\"postal_code\":\""
		 BN_SHIP_POSTAL "\"}}",
		 (long long)shop->stores[k], (long long)shop->products[k]);
	doc = shop->products[k] > 0 ? bn_call(c, "POST", "/api/v1/shipping/rates", NULL, body, 200) : NULL;
	shop->rates[k][0] = '\0';
	json_array_foreach(json_object_get(doc, "rates"), i, r) {
		const char *code = json_string_value(json_object_get(r, "courier_code"));
		const char *token = json_string_value(json_object_get(r, "rate_token"));
		if (code && token && strcmp(code, "jne") == 0 && strlen(token) <= BN_SHIP_TOKEN_MAX)
			snprintf(shop->rates[k], sizeof(shop->rates[k]), "%s", token);
	}
	json_decref(doc);
	return shop->rates[k][0] ? 0 : -1;
}

/* Appends formatted text at *len of out (cap bytes). Returns 0, or -1 when it does not fit. */
static int bn_append(char *out, size_t cap, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int n;
	if (*len >= cap)
		return -1;
	va_start(ap, fmt);
	n = vsnprintf(out + *len, cap - *len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap - *len)
		return -1;
	*len += (size_t)n;
	return 0;
}

/* The checkout body of one order per store, each with its rate. Returns 0 or -1 (too long). */
static int bn_ship_cart(const struct bn_shop *shop, char *out, size_t cap)
{
	size_t len = 0;
	int rc = bn_append(out, cap, &len, "{\"items\":[");
	for (size_t k = 0; k < BN_SHIP_STORES; k++)
		rc |= bn_append(out, cap, &len, "%s{\"product_id\":%lld,\"quantity\":1}", k ? "," : "",
				(long long)shop->products[k]);
	rc |= bn_append(out, cap, &len,
			"],\"ship_to\":{\"name\":\"Ani\",\"phone\":\"+6281200001111\",\"address\":\"Jl. Merdeka 5\","
			"\"city\":\"Bandung\",\"postal_code\":\"" BN_SHIP_POSTAL "\"},\"shipping\":{");
	for (size_t k = 0; k < BN_SHIP_STORES; k++)
		rc |= bn_append(out, cap, &len, "%s\"%lld\":\"%s\"", k ? "," : "", (long long)shop->stores[k],
				shop->rates[k]);
	rc |= bn_append(out, cap, &len, "}}");
	return rc ? -1 : 0;
}

/* True when the document's state is `want`. */
static bool bn_state_is(const json_t *doc, const char *want)
{
	const char *state = json_string_value(json_object_get(doc, "state"));
	return state && strcmp(state, want) == 0;
}

/* One checkout: pays it at the sandbox, waits until paid, confirms every order (which makes the shipments). */
static int bn_ship_group(struct bn_conn *c, struct bn_conn *sb, const struct bn_shop *shop, size_t g,
			 const char *cart)
{
	char key[32], path[128];
	struct bn_ship *ships = shop->ships + g * BN_SHIP_STORES;
	json_t *doc, *ord;
	size_t i;
	int rc = 0;
	snprintf(key, sizeof(key), "bench-ship-%zu", g);
	doc = bn_call_keyed(c, "POST", "/api/v1/checkout", shop->shopper, key, cart, 201);
	json_array_foreach(json_object_get(doc, "orders"), i, ord) {
		if (i < BN_SHIP_STORES)
			ships[i].order = (int64_t)json_integer_value(json_object_get(ord, "id"));
	}
	snprintf(path, sizeof(path), "/simulate/pay/%s", doc ? json_string_value(json_object_get(doc, "payment_id")) : "");
	if (!doc || json_array_size(json_object_get(doc, "orders")) != BN_SHIP_STORES)
		rc = -1;
	json_decref(doc);
	json_decref(rc ? NULL : bn_call(sb, "POST", path, NULL, "{}", 200));
	snprintf(path, sizeof(path), "/api/v1/orders/%lld", (long long)ships[BN_SHIP_STORES - 1].order);
	for (int t = 0; rc == 0 && t < BN_WAIT_S * 10; t++) {
		doc = bn_call(c, "GET", path, shop->admin, NULL, 200);
		t = bn_state_is(doc, "paid") ? BN_WAIT_S * 10 : t;
		json_decref(doc);
		if (t < BN_WAIT_S * 10)
			bn_tenth();
	}
	for (i = 0; rc == 0 && i < BN_SHIP_STORES; i++) {
		const char *id;
		snprintf(path, sizeof(path), "/api/v1/orders/%lld/confirm", (long long)ships[i].order);
		doc = bn_call(c, "POST", path, shop->admin, NULL, 200);
		id = json_string_value(json_object_get(doc, "shipment_id"));
		if (id && strlen(id) < BN_ID_MAX)
			snprintf(ships[i].shipment, BN_ID_MAX, "%s", id);
		else
			rc = -1;
		json_decref(doc);
	}
	return rc;
}

static void *bn_ship_worker(void *arg)
{
	struct bn_ship_worker *wk = arg;
	struct bn_conn *c = calloc(2, sizeof(*c));   /* the server's, the sandbox's */
	char *cart = malloc(BN_REQUEST_MAX);
	wk->failed = 1;
	if (c && cart && bn_ship_cart(wk->shop, cart, BN_REQUEST_MAX) == 0 && bn_connect(&c[0], wk->shop->port) == 0) {
		if (bn_connect(&c[1], wk->shop->sb_port) == 0) {
			wk->failed = 0;
			for (size_t g = wk->from; !wk->failed && g < wk->to; g++)
				wk->failed = bn_ship_group(&c[0], &c[1], wk->shop, g, cart) != 0;
			close(c[1].fd);
		}
		close(c[0].fd);
	}
	free(cart);
	free(c);
	return NULL;
}

/*
 * Waits until the sandbox holds the shipment, has sent its webhooks, and
 * the server has its answer (the company's link). OUT: ship->provider.
 * Returns 0 or -1 (not within BN_WAIT_S).
 */
static int bn_ship_sent(struct bn_conn *c, struct bn_conn *sb, const char *admin, struct bn_ship *ship)
{
	char path[128];
	int t = 0;
	snprintf(path, sizeof(path), "/simulate/shipments/%s", ship->shipment);
	for (ship->provider[0] = '\0'; !ship->provider[0] && t < BN_WAIT_S * 10; t++) {
		if (bn_request(sb, "GET", path, NULL, NULL) != 0)
			return -1;
		if (sb->status == 200) {
			json_t *doc = json_loadb(sb->buf, sb->body_len, 0, NULL), *n = json_object_get(doc, "notifications");
			const char *id = json_string_value(json_object_get(doc, "id"));
			if (id && strlen(id) < BN_ID_MAX && json_integer_value(json_object_get(n, "queued")) == 0 &&
			    json_integer_value(json_object_get(n, "held")) == 0)
				snprintf(ship->provider, BN_ID_MAX, "%s", id);
			json_decref(doc);
		}
		if (!ship->provider[0])
			bn_tenth();
	}
	snprintf(path, sizeof(path), "/api/v1/shipments/%s", ship->shipment);
	for (bool sent = false; !sent && ship->provider[0] && t < BN_WAIT_S * 10; t++) {
		json_t *doc = bn_call(c, "GET", path, admin, NULL, 200);
		const char *link = json_string_value(json_object_get(doc, "link"));
		sent = link && strstr(link, ship->provider);
		json_decref(doc);
		if (sent)
			return 0;
		bn_tenth();
	}
	return -1;
}

/* The company's order.status webhook of one step, on one line. */
static int bn_ship_note(FILE *f, const struct bn_ship *ship, size_t step)
{
	return fprintf(f,
		       "{\"event\":\"order.status\",\"order_id\":\"%s\",\"courier_tracking_id\":\"trk-%s\","
		       "\"courier_waybill_id\":\"WYB-%lld\",\"courier_company\":\"jne\",\"courier_type\":\"reg\","
		       "\"courier_driver_name\":\"Budi Santoso\",\"courier_driver_phone\":\"081234567890\","
		       "\"courier_driver_plate_number\":\"BA 1234 XY\",\"order_price\":18000,\"status\":\"%s\"}\n",
		       ship->provider, ship->provider, (long long)ship->order, bn_ship_steps[step]) > 0
		       ? 0
		       : -1;
}

/*
 * As ADMIN: BN_SHIP_STORES stores (each its merchant, an address, one
 * product and its jne/reg rate) and a shopper; `groups` checkouts of one
 * unit from every store with those rates, paid at the sandbox and
 * confirmed (BN_THREADS at once); waits until every shipment was sent to
 * the sandbox and its webhooks landed; writes NOTES (BN_SHIP_STEPS rounds:
 * every shipment's webhook of one step, then the next step) and SHIPS
 * ("order shipment" lines).
 */
static int bn_ship_prepare(int port, int sb_port, const char *admin, const char *password, size_t groups,
			   const char *notes_path, const char *ships_path)
{
	static struct bn_conn c, sb;
	struct bn_ship_worker workers[BN_THREADS];
	struct bn_shop *shop = calloc(1, sizeof(*shop));
	size_t n = groups * BN_SHIP_STORES, threads = groups < BN_THREADS ? groups : BN_THREADS;
	char body[512];
	struct timespec t0, t1, t2;
	FILE *notes = NULL, *ships = NULL;
	int rc = 1;

	if (!shop || !(shop->ships = calloc(n, sizeof(*shop->ships))) || bn_connect(&c, port) != 0 ||
	    bn_connect(&sb, sb_port) != 0 || bn_login(&c, admin, password, shop->admin) != 0)
		goto free_shop;
	shop->port = port;
	shop->sb_port = sb_port;
	snprintf(body, sizeof(body), "{\"username\":\"bench-shopper\",\"password\":\"%s\",\"role\":\"shopper\"}",
		 password);
	if (bn_call_int(&c, "POST", "/api/v1/users", shop->admin, body, 201, "id") <= 0 ||
	    bn_login(&c, "bench-shopper", password, shop->shopper) != 0)
		goto free_shop;
	for (size_t k = 0; k < BN_SHIP_STORES; k++)
		if (bn_ship_store(&c, shop, k, password, groups) != 0)
			goto free_shop;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < threads; i++) {
		workers[i] = (struct bn_ship_worker){ .shop = shop, .from = groups * i / threads,
						      .to = groups * (i + 1) / threads };
		if (pthread_create(&workers[i].thread, NULL, bn_ship_worker, &workers[i]) != 0) {
			fprintf(stderr, "bench_notify: cannot start a thread\n");
			exit(1);
		}
	}
	rc = 0;
	for (size_t i = 0; i < threads; i++) {
		pthread_join(workers[i].thread, NULL);
		rc |= workers[i].failed;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc) {
		fprintf(stderr, "bench_notify: not every order was placed, paid and confirmed\n");
		goto free_shop;
	}
	printf("orders: %zu placed, paid and confirmed in %.2f s\n", n, bn_seconds(&t0, &t1));
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (bn_ship_sent(&c, &sb, shop->admin, &shop->ships[i]) != 0) {
			fprintf(stderr, "bench_notify: shipment %s was not sent in %d s\n", shop->ships[i].shipment,
				BN_WAIT_S);
			rc = 1;
		}
	clock_gettime(CLOCK_MONOTONIC, &t2);
	if (rc)
		goto free_shop;
	printf("shipments: %zu sent to the courier company in %.2f s\n", n, bn_seconds(&t1, &t2));
	notes = fopen(notes_path, "w");
	ships = fopen(ships_path, "w");
	/*
	 * The wrk script sends lines 2..n, then line 1 (its request() is called
	 * once before the run): the last webhook of all goes first in the file,
	 * so they go out in the order of the steps.
	 */
	rc = notes ? bn_ship_note(notes, &shop->ships[n - 1], BN_SHIP_STEPS - 1) : 1;
	for (size_t k = 0; notes && k + 1 < n * BN_SHIP_STEPS; k++)
		rc |= bn_ship_note(notes, &shop->ships[k % n], k / n);
	for (size_t i = 0; ships && i < n; i++)
		rc |= fprintf(ships, "%lld %s\n", (long long)shop->ships[i].order, shop->ships[i].shipment) > 0 ? 0 : 1;
	if (!notes || fclose(notes) != 0 || !ships || fclose(ships) != 0 || rc) {
		fprintf(stderr, "bench_notify: cannot write %s or %s\n", notes_path, ships_path);
		rc = 1;
	}
free_shop:
	if (c.fd > 0)
		close(c.fd);
	if (sb.fd > 0)
		close(sb.fd);
	if (shop)
		free(shop->ships);
	free(shop);
	return rc ? 1 : 0;
}

/* Every shipment in SHIPS is delivered, and so is its order. */
static int bn_ship_verify(int port, const char *admin, const char *password, const char *ships_path)
{
	static struct bn_conn c;
	char token[BN_TOKEN_MAX], shipment[BN_ID_MAX], path[128];
	size_t n = 0, shipped = 0, ordered = 0;
	long long order;
	FILE *f = fopen(ships_path, "r");
	if (!f || bn_connect(&c, port) != 0 || bn_login(&c, admin, password, token) != 0) {
		fprintf(stderr, "bench_notify: cannot read %s or sign in\n", ships_path);
		if (f)
			fclose(f);
		return 1;
	}
	while (fscanf(f, "%lld %64s", &order, shipment) == 2) {
		json_t *doc;
		n++;
		snprintf(path, sizeof(path), "/api/v1/shipments/%s", shipment);
		doc = bn_call(&c, "GET", path, token, NULL, 200);
		shipped += bn_state_is(doc, "delivered");
		json_decref(doc);
		snprintf(path, sizeof(path), "/api/v1/orders/%lld", order);
		doc = bn_call(&c, "GET", path, token, NULL, 200);
		ordered += bn_state_is(doc, "delivered");
		json_decref(doc);
	}
	fclose(f);
	close(c.fd);
	printf("verify: %zu of %zu shipments delivered, %zu orders delivered\n", shipped, n, ordered);
	return n > 0 && shipped == n && ordered == n ? 0 : 1;
}

/* The port of "127.0.0.1:PORT" (or "PORT"), or -1. */
static int bn_port_of(const char *hostport)
{
	const char *colon = strrchr(hostport, ':');
	long v = strtol(colon ? colon + 1 : hostport, NULL, 10);
	return v > 0 && v < 65536 ? (int)v : -1;
}

static int bn_free_port(void)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	socklen_t len = sizeof(addr);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || bind(s, (struct sockaddr *)&addr, sizeof(addr)) != 0 ||
	    getsockname(s, (struct sockaddr *)&addr, &len) != 0) {
		if (s >= 0)
			close(s);
		return 1;
	}
	close(s);
	printf("%d\n", ntohs(addr.sin_port));
	return 0;
}

int main(int argc, char **argv)
{
	char *end = NULL;
	unsigned long n = 0;
	if (argc == 2 && strcmp(argv[1], "port") == 0)
		return bn_free_port();
	if (argc == 7 && strcmp(argv[1], "prepare") == 0) {
		n = strtoul(argv[5], &end, 10);
		if (bn_port_of(argv[2]) > 0 && *end == '\0' && n >= 1 && n <= BN_CHARGES_MAX)
			return bn_prepare(bn_port_of(argv[2]), argv[3], argv[4], n, argv[6]);
	}
	if (argc == 6 && strcmp(argv[1], "verify") == 0 && bn_port_of(argv[2]) > 0)
		return bn_verify(bn_port_of(argv[2]), argv[3], argv[4], argv[5]);
	if (argc == 9 && strcmp(argv[1], "ship-prepare") == 0) {
		n = strtoul(argv[6], &end, 10);
		if (bn_port_of(argv[2]) > 0 && bn_port_of(argv[3]) > 0 && *end == '\0' && n >= 1 &&
		    n <= BN_CHARGES_MAX / BN_SHIP_STORES)
			return bn_ship_prepare(bn_port_of(argv[2]), bn_port_of(argv[3]), argv[4], argv[5], n, argv[7],
					       argv[8]);
	}
	if (argc == 6 && strcmp(argv[1], "ship-verify") == 0 && bn_port_of(argv[2]) > 0)
		return bn_ship_verify(bn_port_of(argv[2]), argv[3], argv[4], argv[5]);
	fprintf(stderr, "usage: bench_notify port\n"
			"       bench_notify prepare HOST:PORT ADMIN PASSWORD N NOTES\n"
			"       bench_notify verify HOST:PORT ADMIN PASSWORD NOTES\n"
			"       bench_notify ship-prepare HOST:PORT SANDBOX_PORT ADMIN PASSWORD GROUPS NOTES SHIPS\n"
			"       bench_notify ship-verify HOST:PORT ADMIN PASSWORD SHIPS\n");
	return 2;
}
