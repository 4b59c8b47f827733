/* Shipments: rates and their tokens, the state machine, the provider's side (calls, webhooks, polls). */
#include "shipments.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "clock.h"
#include "crypto.h"
#include "httpd.h"
#include "log.h"
#include "record.h"
#include "role.h"
#include "router.h"
#include "shipment_internal.h"
#include "store.h"

#define SHIPMENT_RETRY_MIN_MS 5000       /* first wait after the provider failed us */
#define SHIPMENT_RETRY_MAX_MS 600000     /* longest wait between tries */
#define SHIPMENT_POLL_MS 600000          /* a shipment out with a provider is polled this often */

/* --- PINs --- */

void shipments_pin(const struct shipments *s, const struct ledger_id *id, char out[7])
{
	uint8_t mac[CRYPTO_SHA256_LEN], msg[20] = { 'p', 'i', 'n', ':' };
	uint32_t v;
	memcpy(msg + 4, id->b, 16);
	crypto_hmac_sha256(s->key, sizeof(s->key), msg, sizeof(msg), mac);
	v = (uint32_t)mac[0] << 24 | (uint32_t)mac[1] << 16 | (uint32_t)mac[2] << 8 | mac[3];
	snprintf(out, 7, "%06u", v % 1000000u);
}

void shipment_pin_hash(const struct shipments *s, const struct shipment *sh, const char *pin, uint8_t out[32])
{
	uint8_t msg[9 + 16 + 6] = { 'p', 'i', 'n', '-', 'h', 'a', 's', 'h', ':' };
	if (sh->pin_scheme == SHIPMENT_PIN_SHA256) {
		crypto_sha256(pin, 6, out);
		return;
	}
	memcpy(msg + 9, sh->id.b, 16);
	memcpy(msg + 25, pin, 6);
	crypto_hmac_sha256(s->key, sizeof(s->key), msg, sizeof(msg), out);
	OPENSSL_cleanse(msg, sizeof(msg));
}

bool shipment_pin_ok(const struct shipments *s, const struct shipment *sh, const char *pin)
{
	uint8_t hash[32];
	bool ok;
	if (strlen(pin) != 6 || (sh->pin_scheme != SHIPMENT_PIN_SHA256 && sh->pin_scheme != SHIPMENT_PIN_HMAC))
		return false;
	shipment_pin_hash(s, sh, pin, hash);
	ok = crypto_equal(hash, sh->pin_hash, sizeof(hash));
	OPENSSL_cleanse(hash, sizeof(hash));
	return ok;
}

/* --- rate tokens --- */

void shipments_lines_hash(const uint64_t *product_ids, const int64_t *qtys, size_t n, uint8_t out[32])
{
	uint8_t buf[COURIER_ITEMS_MAX * 16];
	bool used[COURIER_ITEMS_MAX] = { false };
	size_t len = 0;
	if (n > COURIER_ITEMS_MAX)
		n = COURIER_ITEMS_MAX;
	/* Sorted by id so the same goods hash alike whatever the cart's order. */
	for (size_t k = 0; k < n; k++) {
		size_t best = n;
		for (size_t i = 0; i < n; i++)
			if (!used[i] && (best == n || product_ids[i] < product_ids[best]))
				best = i;
		used[best] = true;
		record_be64_put(buf + len, product_ids[best]);
		record_be64_put(buf + len + 8, (uint64_t)qtys[best]);
		len += 16;
	}
	crypto_sha256(buf, len, out);
}

/* Where a rate is for: the postal code, then the coordinates when known ("26213" or "26213@-223456,100634567"). */
static void shipments_dest_text(const struct courier_place *to, char *out, size_t cap)
{
	if (to->has_coords)
		snprintf(out, cap, "%s@%ld,%ld", to->postal_code ? to->postal_code : "", (long)to->lat_e6,
			 (long)to->lng_e6);
	else
		snprintf(out, cap, "%s", to->postal_code ? to->postal_code : "");
}

/* The token's signed text: what a rate binds. */
static json_t *shipments_token_claims(uint64_t merchant_id, const uint8_t lines_hash[32], const char *dest,
				      const struct shipments_choice *c, int64_t expires_ms)
{
	char hash[65];
	crypto_hex_encode(lines_hash, 32, hash, sizeof(hash));
	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "m", (json_int_t)merchant_id, "g", hash,
			 "z", dest, "mod", c->module, "cc", c->courier_code, "sc", c->service_code, "cn",
			 c->courier_name, "sn", c->service_name, "p", (json_int_t)c->price, "e", (json_int_t)expires_ms);
}

/* token = base64url(claims JSON) "." base64url(HMAC-SHA256(key, claims JSON)). Returns 0 or -1. */
static int shipments_token_make(const struct shipments *s, json_t *claims, char *out, size_t cap)
{
	char *text = json_dumps(claims, JSON_COMPACT | JSON_SORT_KEYS), mac_text[48];
	uint8_t mac[CRYPTO_SHA256_LEN];
	size_t len;
	int rc = -1;
	if (!text)
		return -1;
	len = strlen(text);
	if (crypto_base64_encode(text, len, true, out, cap) == CRYPTO_OK &&
	    crypto_hmac_sha256(s->key, sizeof(s->key), text, len, mac) == CRYPTO_OK &&
	    crypto_base64_encode(mac, sizeof(mac), true, mac_text, sizeof(mac_text)) == CRYPTO_OK &&
	    strlen(out) + 1 + strlen(mac_text) < cap) {
		strcat(out, ".");
		strcat(out, mac_text);
		rc = 0;
	}
	free(text);
	return rc;
}

int shipments_rate_verify(struct shipments *s, const char *token, uint64_t merchant_id, const uint8_t lines_hash[32],
			  const struct courier_place *to, int64_t now_ms, struct shipments_choice *choice)
{
	char text[SHIPMENTS_TOKEN_MAX], hash[65], dest[SHIPMENT_DEST_MAX];
	uint8_t mac[CRYPTO_SHA256_LEN], got[CRYPTO_SHA256_LEN + 4];
	const char *dot = strchr(token, '.');
	size_t len, got_len;
	json_t *claims;
	json_int_t m, p, e;
	const char *g, *z, *mod, *cc, *sc, *cn, *sn;
	int rc = SHIPMENTS_EBADRATE;
	if (!dot || strlen(token) > SHIPMENTS_TOKEN_MAX ||
	    crypto_base64_decode(token, (size_t)(dot - token), (uint8_t *)text, sizeof(text) - 1, &len) != CRYPTO_OK ||
	    crypto_base64_decode(dot + 1, strlen(dot + 1), got, sizeof(got), &got_len) != CRYPTO_OK ||
	    got_len != sizeof(mac) || crypto_hmac_sha256(s->key, sizeof(s->key), text, len, mac) != CRYPTO_OK ||
	    !crypto_equal(mac, got, sizeof(mac)))
		return SHIPMENTS_EBADRATE;
	text[len] = '\0';
	claims = json_loads(text, 0, NULL);
	crypto_hex_encode(lines_hash, 32, hash, sizeof(hash));
	shipments_dest_text(to, dest, sizeof(dest));
	if (claims &&
	    json_unpack(claims, "{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "m", &m, "g", &g, "z", &z, "mod",
			&mod, "cc", &cc, "sc", &sc, "cn", &cn, "sn", &sn, "p", &p, "e", &e) == 0 &&
	    (uint64_t)m == merchant_id && strcmp(g, hash) == 0 && strcmp(z, dest) == 0 && now_ms < e &&
	    p >= 0 && strcmp(mod, courier_gateway_name(s->gw)) == 0) {
		memset(choice, 0, sizeof(*choice));
		snprintf(choice->module, sizeof(choice->module), "%s", mod);
		snprintf(choice->courier_code, sizeof(choice->courier_code), "%s", cc);
		snprintf(choice->service_code, sizeof(choice->service_code), "%s", sc);
		snprintf(choice->courier_name, sizeof(choice->courier_name), "%s", cn);
		snprintf(choice->service_name, sizeof(choice->service_name), "%s", sn);
		choice->price = p;
		rc = 0;
	}
	json_decref(claims);
	return rc;
}

/* A quote in flight. */
struct quote_call {
	struct shipments *s;
	uint64_t merchant_id;
	uint8_t lines_hash[32];
	char dest[SHIPMENT_DEST_MAX];
	shipments_quote_fn done;
	void *arg;
};

static void shipments_quoted(const struct courier_rates_res *res, void *arg)
{
	struct quote_call *q = arg;
	struct shipments_rate *rates = NULL;
	size_t n = 0;
	int64_t expires = clock_now_ms() + (int64_t)SHIPMENTS_RATE_TTL_S * 1000;
	if (res->error == COURIER_OK && res->n > 0 && !(rates = calloc(res->n, sizeof(*rates)))) {
		q->done(COURIER_ENOMEM, "out of memory", NULL, 0, q->arg);
		free(q);
		return;
	}
	for (size_t i = 0; res->error == COURIER_OK && i < res->n; i++) {
		const struct courier_rate *r = &res->rates[i];
		struct shipments_rate *out = &rates[n];
		json_t *claims;
		if (r->price < 0)
			continue;
		snprintf(out->choice.module, sizeof(out->choice.module), "%s", courier_gateway_name(q->s->gw));
		snprintf(out->choice.courier_code, sizeof(out->choice.courier_code), "%s", r->courier_code);
		snprintf(out->choice.service_code, sizeof(out->choice.service_code), "%s", r->service_code);
		snprintf(out->choice.courier_name, sizeof(out->choice.courier_name), "%s", r->courier_name);
		snprintf(out->choice.service_name, sizeof(out->choice.service_name), "%s", r->service_name);
		snprintf(out->duration, sizeof(out->duration), "%s", r->duration);
		out->choice.price = r->price;
		claims = shipments_token_claims(q->merchant_id, q->lines_hash, q->dest, &out->choice, expires);
		if (claims && shipments_token_make(q->s, claims, out->token, sizeof(out->token)) == 0)
			n++;
		json_decref(claims);
	}
	q->done(res->error, res->error_text, rates, n, q->arg);
	free(rates);
	free(q);
}

int shipments_quote(struct shipments *s, uint64_t merchant_id, const uint8_t lines_hash[32],
		    const struct courier_rates_req *req, shipments_quote_fn done, void *arg)
{
	struct quote_call *q;
	int rc;
	/* A company's courier needs someone to meet at the pickup: refuse before quoting what cannot be sent. */
	if (!courier_gateway_is_local(s->gw) && (!req->origin.name || !req->origin.phone || !req->origin.address))
		return COURIER_EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return COURIER_ENOMEM;
	q->s = s;
	q->merchant_id = merchant_id;
	memcpy(q->lines_hash, lines_hash, 32);
	shipments_dest_text(&req->destination, q->dest, sizeof(q->dest));
	q->done = done;
	q->arg = arg;
	rc = courier_rates(s->gw, req, shipments_quoted, q);
	if (rc != COURIER_OK)
		free(q);
	return rc;
}

/* --- the state machine --- */

bool shipment_terminal(uint8_t st)
{
	return st == SHIP_DELIVERED || st == SHIP_RETURNED || st == SHIP_CANCELLED || st == SHIP_FAILED;
}

/* The way out, in order: pending .. in_transit, delivered. 0 for the side states. */
static int shipment_rank(uint8_t st)
{
	switch (st) {
	case SHIP_PENDING: return 1;
	case SHIP_ALLOCATED: return 2;
	case SHIP_PICKING_UP: return 3;
	case SHIP_PICKED: return 4;
	case SHIP_IN_TRANSIT: return 5;
	case SHIP_DELIVERED: return 6;
	default: return 0;
	}
}

bool shipment_may_move(const struct shipment *sh, uint8_t to)
{
	uint8_t st = sh->state;
	if (shipment_terminal(st) || st == to)
		return false;
	if (st == SHIP_ON_HOLD) {
		/* Off hold, a shipment resumes where it was held, or moves on as it could have from there. */
		uint8_t from = sh->held_from ? sh->held_from : sh->progress;
		if (to == from)
			return true;
		st = from;
	}
	switch (to) {
	case SHIP_ON_HOLD:
	case SHIP_FAILED:
	case SHIP_RETURNING:
	case SHIP_RETURNED:
		return true;
	case SHIP_CANCELLED:
		return shipment_rank(sh->progress) < shipment_rank(SHIP_PICKED);
	default:
		/* Once on the way back, never out again; on the way out, only forward. */
		return st != SHIP_RETURNING && shipment_rank(to) > shipment_rank(sh->progress);
	}
}

int shipment_advance(struct shipments *s, MDB_txn *txn, struct shipment *sh, enum ship_state to, const char *source,
		     const char *event_id, const char *note, bool *moved)
{
	struct shipments_change c;
	char text[SHIPMENT_NOTE_MAX + 1];
	int64_t now = clock_now_ms();
	*moved = shipment_may_move(sh, (uint8_t)to);
	if (!*moved) {
		snprintf(text, sizeof(text), "%s reported; stays %s", ship_state_name(to),
			 ship_state_name((enum ship_state)sh->state));
		shipment_event_add(sh, sh->state, source, event_id, text, now);
		return shipment_store(s, txn, sh);
	}
	sh->held_from = to == SHIP_ON_HOLD ? sh->state : 0;
	sh->state = (uint8_t)to;
	if (shipment_rank((uint8_t)to) > shipment_rank(sh->progress))
		sh->progress = (uint8_t)to;
	shipment_event_add(sh, sh->state, source, event_id, note ? note : ship_state_name(to), now);
	if (s->on_change) {
		int rc;
		c.order_id = sh->order_id;
		c.shipment_id = sh->id;
		c.state = to;
		c.note = note ? note : ship_state_name(to);
		if ((rc = s->on_change(txn, &c, s->on_change_ctx)) != 0)
			return rc;
	}
	return shipment_store(s, txn, sh);
}

/* --- making a shipment --- */

int shipments_create(struct shipments *s, MDB_txn *txn, const struct shipments_new *n, struct ledger_id *id)
{
	struct shipment *sh = calloc(1, sizeof(*sh));
	MDB_val k, v;
	uint8_t okey[8];
	char key[48], pin[7];
	int rc;
	if (!sh)
		return STORE_ENOMEM;
	snprintf(key, sizeof(key), "shipment:%llu", (unsigned long long)n->order_id);
	ledger_id_derive((uint64_t)n->created_ms, key, strlen(key), &sh->id);
	sh->order_id = n->order_id;
	sh->merchant_id = n->merchant_id;
	sh->buyer_id = n->buyer_id;
	sh->choice = *n->choice;
	sh->state = sh->progress = SHIP_PENDING;
	shipment_place_in(&n->origin, &sh->origin);
	shipment_place_in(&n->destination, &sh->destination);
	for (size_t i = 0; i < n->nitems; i++) {
		sh->weight_g += n->items[i].weight_g * n->items[i].qty;
		sh->value += n->items[i].value * n->items[i].qty;
	}
	shipments_pin(s, &sh->id, pin);
	sh->pin_scheme = SHIPMENT_PIN_HMAC;
	shipment_pin_hash(s, sh, pin, sh->pin_hash);
	OPENSSL_cleanse(pin, sizeof(pin));
	sh->created_ms = clock_now_ms();
	shipment_event_add(sh, SHIP_PENDING, "local", "created",
			   courier_gateway_is_local(s->gw) ? "offered to the city's couriers" : "to be sent to the courier",
			   sh->created_ms);
	if ((rc = shipment_store(s, txn, sh)) != 0)
		goto free_sh;
	record_be64_put(okey, n->order_id);
	k.mv_size = sizeof(okey);
	k.mv_data = okey;
	v.mv_size = 16;
	v.mv_data = sh->id.b;
	if ((rc = mdb_put(txn, s->by_order, &k, &v, 0)) != 0)
		goto free_sh;
	if (courier_gateway_is_local(s->gw)) {
		k.mv_size = 16;
		k.mv_data = sh->id.b;
		v.mv_size = 0;
		rc = mdb_put(txn, s->jobs, &k, &v, 0);
	} else {
		rc = store_watch_put(txn, s->due, sh->created_ms, sh->id.b, 0);
	}
	*id = sh->id;
free_sh:
	free(sh);
	return rc;
}

int shipments_cancel(struct shipments *s, MDB_txn *txn, const struct ledger_id *id, const char *note, bool *refused)
{
	struct shipment *sh = malloc(sizeof(*sh));
	MDB_val k = { 16, (void *)id->b };
	bool moved;
	int rc = sh ? shipment_load(s, txn, id, sh) : STORE_ENOMEM;
	*refused = false;
	if (rc != 0)
		goto free_sh;
	if (!shipment_may_move(sh, SHIP_CANCELLED)) {
		*refused = !shipment_terminal(sh->state);
		goto free_sh;
	}
	rc = mdb_del(txn, s->jobs, &k, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND)
		goto free_sh;
	/* A shipment the company has, or may have (a create in flight), is cancelled there too. */
	sh->cancel_due = !courier_gateway_is_local(s->gw);
	rc = sh->cancel_due ? store_watch_put(txn, s->due, clock_now_ms(), sh->id.b, 0) : 0;
	if (rc == 0)
		rc = shipment_advance(s, txn, sh, SHIP_CANCELLED, "local", "cancelled", note, &moved);
free_sh:
	free(sh);
	return rc;
}

void shipments_courier_account(uint64_t courier_user_id, const char *module, char *name, size_t cap,
			       struct ledger_id *id)
{
	if (courier_user_id)
		snprintf(name, cap, "courier:%llu:payable", (unsigned long long)courier_user_id);
	else
		snprintf(name, cap, "courier:%s:payable", module);
	/* Fixed ids, as the platform's accounts: made once, `exists` after. */
	ledger_id_derive(0, name, strlen(name), id);
}

int shipments_payee(struct shipments *s, MDB_txn *txn, const struct ledger_id *id, struct ledger_id *account)
{
	struct shipment *sh = malloc(sizeof(*sh));
	struct ledger_account a = { 0 };
	uint32_t result;
	int rc = sh ? shipment_load(s, txn, id, sh) : STORE_ENOMEM;
	if (rc != 0)
		goto free_sh;
	shipments_courier_account(sh->courier_user_id, sh->choice.module, a.name, sizeof(a.name), &a.id);
	a.ledger = LEDGER_IDR;
	a.code = LEDGER_ACCOUNT_COURIER_PAYABLE;
	a.flags = LEDGER_DEBITS_MUST_NOT_EXCEED_CREDITS;
	a.user_data_64 = sh->courier_user_id;
	rc = ledger_create_accounts(s->ledger, txn, &a, 1, &result);
	if (rc == 0 && result != LEDGER_R_OK && result != LEDGER_R_EXISTS)
		rc = STORE_ECORRUPT;
	*account = a.id;
free_sh:
	free(sh);
	return rc;
}

int shipments_tracking_json(struct shipments *s, MDB_txn *txn, const struct ledger_id *id, json_t **out)
{
	struct shipment *sh = malloc(sizeof(*sh));
	int rc = sh ? shipment_load(s, txn, id, sh) : STORE_ENOMEM;
	if (rc == 0) {
		/* The order's parties (buyer, store, admin, auditor) see its address and phone already. */
		*out = shipment_json(sh, true);
		rc = *out ? 0 : STORE_ENOMEM;
	}
	free(sh);
	return rc;
}

/* --- the provider's side --- */

/* A provider's word on one shipment, applied in one job. */
struct ship_job {
	struct shipments *s;
	struct httpd_req *req;                  /* a webhook waiting for it, or NULL */
	struct ledger_id id;                    /* ours, or zero when only provider_id is known */
	struct courier_event ev;                /* what the provider said (kind 0: a create's answer) */
	const char *source;
	int error;                              /* a create's outcome */
	uint32_t attempts;
	bool found, duplicate, moved;
};

/* The shipment of a provider's order id. Returns 0, STORE_ENOTFOUND or a status. */
static int shipment_by_provider(struct shipments *s, MDB_txn *txn, const char *provider_id, struct ledger_id *id)
{
	MDB_val k = { strlen(provider_id), (void *)provider_id }, v;
	int rc;
	if (k.mv_size == 0)
		return STORE_ENOTFOUND;
	rc = mdb_get(txn, s->by_provider, &k, &v);
	if (rc != 0)
		return store_status_from_mdb(rc);
	if (v.mv_size != 16)
		return STORE_ECORRUPT;
	memcpy(id->b, v.mv_data, 16);
	return 0;
}

/* Copies what the provider told of the courier into the shipment. */
static void shipment_take_details(struct shipment *sh, const struct courier_event *ev)
{
	/* The first tracking id told (the create's answer) is kept: webhooks' copies are not documented. */
	if (ev->tracking_id[0] && !sh->tracking_id[0])
		snprintf(sh->tracking_id, sizeof(sh->tracking_id), "%s", ev->tracking_id);
	if (ev->waybill[0])
		snprintf(sh->waybill, sizeof(sh->waybill), "%s", ev->waybill);
	if (ev->link[0])
		snprintf(sh->link, sizeof(sh->link), "%s", ev->link);
	if (ev->driver_name[0])
		snprintf(sh->driver_name, sizeof(sh->driver_name), "%s", ev->driver_name);
	if (ev->driver_phone[0])
		snprintf(sh->driver_phone, sizeof(sh->driver_phone), "%s", ev->driver_phone);
	if (ev->plate[0])
		snprintf(sh->plate, sizeof(sh->plate), "%s", ev->plate);
}

static int ship_apply(MDB_txn *txn, void *arg)
{
	struct ship_job *j = arg;
	struct shipments *s = j->s;
	struct shipment *sh = malloc(sizeof(*sh));
	char note[SHIPMENT_NOTE_MAX + 1];
	int64_t now = clock_now_ms();
	int rc = sh ? 0 : STORE_ENOMEM;
	j->found = j->duplicate = j->moved = false;
	/* A webhook names the provider's order; our own calls know the shipment. */
	if (rc == 0 && ledger_id_is_zero(&j->id))
		rc = shipment_by_provider(s, txn, j->ev.provider_id, &j->id);
	if (rc == 0)
		rc = shipment_load(s, txn, &j->id, sh);
	if (rc == STORE_ENOTFOUND) {
		rc = 0;
		goto free_sh;
	}
	if (rc != 0)
		goto free_sh;
	j->found = true;
	/*
	 * A repeat changes nothing, except the status a held shipment resumes
	 * with: its event id (order, event, status) was seen before the hold.
	 */
	if (shipment_seen(sh, j->ev.event_id) &&
	    !(j->ev.kind == COURIER_EVENT_STATUS && sh->state == SHIP_ON_HOLD && shipment_may_move(sh, j->ev.state))) {
		j->duplicate = true;
		goto free_sh;
	}
	if (j->ev.kind == 0) {
		/* The answer to our create. */
		if (j->error == COURIER_EREFUSED) {
			/* Only a refusal of the request itself fails it (and refunds the order): it would be refused again. */
			rc = shipment_advance(s, txn, sh, SHIP_FAILED, j->source, "create-refused",
					      "the courier refused the shipment", &j->moved);
			goto free_sh;
		}
		if (j->error != COURIER_OK) {
			/*
			 * Down, our key or balance refused, an answer we cannot read (the
			 * order may exist there): the order stays confirmed, and the sweep
			 * put the next try in the due index before it called.
			 */
			sh->attempts = j->attempts + 1;
			snprintf(note, sizeof(note), "%s (try %u): %s",
				 j->error == COURIER_EUNAVAILABLE ? "courier did not answer" : "courier answered an error",
				 (unsigned)sh->attempts,
				 shipment_terminal(sh->state) ? "not tried again" : "trying again");
			shipment_event_add(sh, sh->state, j->source, "", note, now);
			rc = shipment_store(s, txn, sh);
			goto free_sh;
		}
		snprintf(sh->provider_id, sizeof(sh->provider_id), "%s", j->ev.provider_id);
		shipment_take_details(sh, &j->ev);
		{
			MDB_val k = { strlen(sh->provider_id), sh->provider_id }, v = { 16, sh->id.b };
			if (k.mv_size && (rc = mdb_put(txn, s->by_provider, &k, &v, 0)) != 0)
				goto free_sh;
		}
		if (sh->state == SHIP_CANCELLED) {
			/* Cancelled here while the create was on its way: the company has it now, so it is told. */
			shipment_event_add(sh, sh->state, j->source, j->ev.event_id,
					   "sent to the courier after it was cancelled: cancelling it there", now);
			if (!sh->cancel_due) {
				sh->cancel_due = true;
				rc = store_watch_put(txn, s->due, now, sh->id.b, 0);
			}
			if (rc == 0)
				rc = shipment_store(s, txn, sh);
			goto free_sh;
		}
		shipment_event_add(sh, sh->state, j->source, j->ev.event_id, "sent to the courier", now);
		if (j->ev.state && j->ev.state != SHIP_PENDING)
			rc = shipment_advance(s, txn, sh, j->ev.state, j->source, "", NULL, &j->moved);
		else if (rc == 0)
			rc = shipment_store(s, txn, sh);
		goto free_sh;
	}
	shipment_take_details(sh, &j->ev);
	if (j->ev.kind == COURIER_EVENT_STATUS) {
		rc = shipment_advance(s, txn, sh, j->ev.state, j->source, j->ev.event_id, NULL, &j->moved);
	} else {
		if (j->ev.kind == COURIER_EVENT_PRICE)
			snprintf(note, sizeof(note), "the courier's price is now %lld (the order keeps %lld)",
				 (long long)j->ev.price, (long long)sh->choice.price);
		else
			snprintf(note, sizeof(note), "waybill %s", sh->waybill);
		shipment_event_add(sh, sh->state, j->source, j->ev.event_id, note, now);
		rc = shipment_store(s, txn, sh);
	}
free_sh:
	free(sh);
	return rc;
}

static void ship_reply(struct ship_job *j, int status)
{
	char body[64];
	int n;
	if (!j->req)
		return;
	if (status != 0) {
		httpd_reply_store_error(j->req, status);
		return;
	}
	if (!j->found) {
		httpd_reply_error(j->req, 404, "not_found", "no such shipment");
		return;
	}
	n = snprintf(body, sizeof(body), "{\"ok\":true,\"result\":\"%s\"}",
		     j->duplicate ? "duplicate" : j->moved ? "applied" : "recorded");
	httpd_reply_raw(j->req, 200, "application/json; charset=utf-8", body, (size_t)n);
}

static void ship_done(int status, void *arg)
{
	struct ship_job *j = arg;
	if (status != 0 && !j->req)
		log_msg(LOG_WARN, "shipments", "a courier's answer could not be stored: %s", store_strerror(status));
	ship_reply(j, status);
	free(j);
}

static void ship_submit(struct ship_job *j)
{
	int rc = store_submit(j->s->store, ship_apply, ship_done, j);
	if (rc != STORE_OK) {
		ship_reply(j, rc);
		free(j);
	}
}

/* The answer to a create or a poll. */
static void ship_answered(const struct courier_ship_res *res, void *arg)
{
	struct ship_job *j = arg;
	j->error = res->error;
	snprintf(j->ev.provider_id, sizeof(j->ev.provider_id), "%s", res->provider_id);
	snprintf(j->ev.tracking_id, sizeof(j->ev.tracking_id), "%s", res->tracking_id);
	snprintf(j->ev.waybill, sizeof(j->ev.waybill), "%s", res->waybill);
	snprintf(j->ev.link, sizeof(j->ev.link), "%s", res->link);
	snprintf(j->ev.driver_name, sizeof(j->ev.driver_name), "%s", res->driver_name);
	snprintf(j->ev.driver_phone, sizeof(j->ev.driver_phone), "%s", res->driver_phone);
	snprintf(j->ev.plate, sizeof(j->ev.plate), "%s", res->plate);
	j->ev.state = res->state;
	if (j->ev.kind == COURIER_EVENT_STATUS) {
		if (res->error != COURIER_OK) {
			free(j);
			return;
		}
		snprintf(j->ev.event_id, sizeof(j->ev.event_id), "poll:%s", ship_state_name(res->state));
	} else if (res->error == COURIER_EUNAVAILABLE) {
		log_msg(LOG_WARN, "shipments", "creating a shipment failed (tried again later): %s", res->error_text);
	} else if (res->error != COURIER_OK) {
		/* A refusal fails the shipment; anything else (a wrong key, no balance) needs an operator. */
		log_msg(LOG_ERROR, "shipments", "the courier company %s a shipment: %s",
			res->error == COURIER_EREFUSED ? "refused" : "did not take (tried again later)", res->error_text);
	} else {
		/* A create sent again answers again: the second answer is a repeat. */
		snprintf(j->ev.event_id, sizeof(j->ev.event_id), "created-at-provider");
	}
	ship_submit(j);
}

/* Takes the shipment's due entry: a create to send, or a poll. */
static int shipment_due_apply(MDB_txn *txn, void *arg);

struct due_sweep {
	struct shipments *s;
	size_t n;
	uint8_t keys[SHIPMENT_SWEEP_MAX][24];
	uint32_t attempts[SHIPMENT_SWEEP_MAX];
	struct shipment *sh;                     /* scratch of the job */
	bool create[SHIPMENT_SWEEP_MAX], poll[SHIPMENT_SWEEP_MAX], cancel[SHIPMENT_SWEEP_MAX];
	struct ledger_id ids[SHIPMENT_SWEEP_MAX];
	char provider[SHIPMENT_SWEEP_MAX][COURIER_ID_MAX + 1];
	char tracking[SHIPMENT_SWEEP_MAX][COURIER_ID_MAX + 1];
};

static bool shipment_due_take(const MDB_val *k, const MDB_val *v, void *arg)
{
	struct due_sweep *d = arg;
	if (!store_watch_read(k, v, d->keys[d->n], &d->attempts[d->n]))
		return false;
	d->n++;
	return true;
}

static int shipment_due_apply(MDB_txn *txn, void *arg)
{
	struct due_sweep *d = arg;
	for (size_t i = 0; i < d->n; i++) {
		MDB_val k = { 24, d->keys[i] };
		int rc = mdb_del(txn, d->s->due, &k, NULL);
		d->create[i] = d->poll[i] = d->cancel[i] = false;
		if (rc == MDB_NOTFOUND)
			continue;
		if (rc != 0)
			return rc;
		memcpy(d->ids[i].b, d->keys[i] + 8, 16);
		rc = shipment_load(d->s, txn, &d->ids[i], d->sh);
		if (rc == 0 && d->sh->cancel_due) {
			/* Told once: a company that missed it cancels when the parcel is not collected. */
			d->sh->cancel_due = false;
			d->cancel[i] = d->sh->provider_id[0] != '\0';
			snprintf(d->provider[i], sizeof(d->provider[i]), "%s", d->sh->provider_id);
			rc = shipment_store(d->s, txn, d->sh);
			if (rc != 0)
				return rc;
			continue;
		}
		if (rc == STORE_ENOTFOUND || (rc == 0 && shipment_terminal(d->sh->state)))
			continue;
		if (rc != 0)
			return rc;
		d->create[i] = !d->sh->provider_id[0];
		d->poll[i] = !d->create[i];
		snprintf(d->provider[i], sizeof(d->provider[i]), "%s", d->sh->provider_id);
		snprintf(d->tracking[i], sizeof(d->tracking[i]), "%s", d->sh->tracking_id);
		/*
		 * The next look is due before this one is made: a poll, or another
		 * try of the create (the provider knows a repeat by its reference),
		 * so a call lost with the process is made again.
		 */
		int64_t wait = d->poll[i] ? SHIPMENT_POLL_MS
					  : store_watch_backoff_ms(SHIPMENT_RETRY_MIN_MS, SHIPMENT_RETRY_MAX_MS, d->attempts[i]);
		rc = store_watch_put(txn, d->s->due, clock_now_ms() + wait, d->ids[i].b,
				     d->poll[i] ? 0 : d->attempts[i] + 1);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Sends a shipment to the provider. */
static void shipment_send(struct shipments *s, const struct ledger_id *id, uint32_t attempts)
{
	struct shipment *sh = malloc(sizeof(*sh));
	struct ship_job *j = calloc(1, sizeof(*j));
	struct courier_ship_req req;
	struct courier_item item;
	char ref[33], name[48];
	MDB_txn *txn;
	int rc = sh && j ? store_read_begin(s->store, &txn) : STORE_ENOMEM;
	if (rc == 0) {
		rc = shipment_load(s, txn, id, sh);
		store_read_end(s->store, txn);
	}
	if (rc != 0)
		goto free_all;
	ledger_id_hex(&sh->id, ref, sizeof(ref));
	/* One parcel of the order's goods: the provider prices by weight and insures the value. */
	snprintf(name, sizeof(name), "Pesanan Bang Soleh #%llu", (unsigned long long)sh->order_id);
	item = (struct courier_item){ .name = name, .value = sh->value, .weight_g = sh->weight_g, .qty = 1 };
	memset(&req, 0, sizeof(req));
	req.shipment_id = ref;
	shipment_place_out(&sh->origin, &req.origin);
	shipment_place_out(&sh->destination, &req.destination);
	req.items = &item;
	req.nitems = 1;
	req.courier_code = sh->choice.courier_code;
	req.service_code = sh->choice.service_code;
	j->s = s;
	j->id = sh->id;
	j->source = "provider";
	j->attempts = attempts;
	rc = courier_ship(s->gw, &req, ship_answered, j);
	if (rc == COURIER_OK) {
		j = NULL;
	} else if (rc == COURIER_EINVAL) {
		/* What the shipment holds cannot be sent at all: it fails (and its order is refunded). */
		log_msg(LOG_WARN, "shipments", "shipment %s cannot be sent: its addresses are incomplete", ref);
		j->error = COURIER_EREFUSED;
		ship_submit(j);
		j = NULL;
	} else {
		log_msg(LOG_WARN, "shipments", "shipment %s could not be sent", ref);
	}
free_all:
	free(sh);
	free(j);
}

static void shipment_poll(struct shipments *s, const struct ledger_id *id, const char *provider_id,
			  const char *tracking_id)
{
	struct ship_job *j = calloc(1, sizeof(*j));
	if (!j)
		return;
	j->s = s;
	j->id = *id;
	j->source = "poll";
	j->ev.kind = COURIER_EVENT_STATUS;
	if (courier_track(s->gw, provider_id, tracking_id, ship_answered, j) != COURIER_OK)
		free(j);
}

static void shipment_cancelled(const struct courier_ship_res *res, void *arg)
{
	(void)arg;
	if (res->error != COURIER_OK)
		log_msg(LOG_WARN, "shipments", "the courier company did not take the cancel: %s", res->error_text);
}

static void shipment_due_done(int status, void *arg)
{
	struct due_sweep *d = arg;
	d->s->sweeping = false;
	for (size_t i = 0; status == 0 && i < d->n; i++) {
		if (d->create[i])
			shipment_send(d->s, &d->ids[i], d->attempts[i]);
		else if (d->poll[i])
			shipment_poll(d->s, &d->ids[i], d->provider[i], d->tracking[i]);
		else if (d->cancel[i] && courier_cancel(d->s->gw, d->provider[i], "order cancelled", shipment_cancelled,
							NULL) != COURIER_OK)
			log_msg(LOG_WARN, "shipments", "the cancel of %s could not be sent", d->provider[i]);
	}
	free(d->sh);
	free(d);
}

static void shipments_on_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct shipments *s = arg;
	struct due_sweep *d;
	(void)fd;
	(void)what;
	if (s->sweeping || !(d = calloc(1, sizeof(*d))))
		return;
	d->s = s;
	d->sh = malloc(sizeof(*d->sh));
	if (!d->sh || store_sweep(s->store, s->due, NULL, clock_now_ms(), SHIPMENT_SWEEP_MAX, shipment_due_take,
				  shipment_due_apply, shipment_due_done, d) != STORE_OK) {
		free(d->sh);
		free(d);
		return;
	}
	s->sweeping = true;
}

/* --- webhooks --- */

static const char *shipments_query(const char *name, void *ctx)
{
	return httpd_query(ctx, name);
}

static void shipments_handle_webhook(struct httpd_req *req, void *ctx)
{
	struct shipments *s = ctx;
	struct courier_webhook in = { .query = shipments_query, .ctx = req };
	struct ship_job *j;
	int rc;
	if (strcmp(httpd_param(req, "provider"), courier_gateway_name(s->gw)) != 0) {
		httpd_reply_error(req, 404, "not_found", "no such courier provider");
		return;
	}
	j = calloc(1, sizeof(*j));
	if (!j) {
		httpd_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	in.body = httpd_body(req, &in.body_len);
	rc = courier_parse_webhook(s->gw, &in, &j->ev);
	if (rc != COURIER_OK || j->ev.kind == COURIER_EVENT_IGNORED) {
		if (rc == COURIER_OK)
			httpd_reply_json(req, 200, json_pack("{s:b, s:s}", "ok", 1, "result", "ignored"));
		else if (rc == COURIER_EFORGED)
			httpd_reply_error(req, 401, "invalid_token", "the notification does not verify");
		else
			httpd_reply_error(req, 400, "invalid_notification", "the notification does not parse");
		free(j);
		return;
	}
	j->s = s;
	j->req = req;
	j->source = "webhook";
	ship_submit(j);
}

/* --- set-up --- */

#define SHIPMENT_INDEX_CHUNK 1000        /* shipments indexed per commit while building the by-courier index */

/* The by-courier index's build, a chunk per job. */
struct index_build {
	struct shipments *s;
	struct shipment sh;                      /* scratch */
	uint64_t indexed;                        /* shipments read so far */
	bool done;
};

/*
 * Indexes the next chunk of shipments after the one the marker names (from
 * the first without a marker), then moves the marker on; at the end it
 * marks the index built.
 */
static int shipments_index_chunk(MDB_txn *txn, void *arg)
{
	static const uint8_t mark[8];
	struct index_build *b = arg;
	struct shipments *s = b->s;
	MDB_val mk = { sizeof(mark), (void *)mark }, mv, k, v;
	uint8_t last[16];
	MDB_cursor *cur;
	MDB_cursor_op op = MDB_FIRST;
	size_t n = 0;
	int rc = mdb_get(txn, s->by_courier, &mk, &mv);
	b->done = rc == 0 && mv.mv_size == 0;
	if (b->done)
		return 0;
	if (rc == 0 && mv.mv_size != sizeof(last))
		return STORE_ECORRUPT;
	if (rc == 0) {
		memcpy(last, mv.mv_data, sizeof(last));
		k = (MDB_val){ sizeof(last), last };
		op = MDB_SET_RANGE;
	} else if (rc != MDB_NOTFOUND) {
		return rc;
	}
	if ((rc = mdb_cursor_open(txn, s->shipments, &cur)) != 0)
		return rc;
	for (rc = mdb_cursor_get(cur, &k, &v, op); rc == 0 && n < SHIPMENT_INDEX_CHUNK;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		struct ledger_id id;
		/* Resuming, the marker's own shipment was indexed already. */
		if (k.mv_size != 16 || (op == MDB_SET_RANGE && n == 0 && memcmp(k.mv_data, last, 16) == 0))
			continue;
		memcpy(id.b, k.mv_data, 16);
		if ((rc = shipment_load(s, txn, &id, &b->sh)) != 0 || (rc = shipment_index(s, txn, &b->sh)) != 0)
			break;
		memcpy(last, id.b, sizeof(last));
		n++;
	}
	mdb_cursor_close(cur);
	b->indexed += n;
	if (rc == MDB_NOTFOUND) {
		b->done = true;
		mv = (MDB_val){ 0, NULL };
	} else if (rc == 0) {
		mv = (MDB_val){ sizeof(last), last };
	} else {
		return rc;
	}
	return mdb_put(txn, s->by_courier, &mk, &mv, 0);
}

/*
 * The by-courier index came after the shipments: a store written before it
 * gets it on open, a chunk per commit (resumed after a crash), before any
 * request can read it.
 */
static int shipments_index_build(struct shipments *s)
{
	struct index_build *b = calloc(1, sizeof(*b));
	int rc = b ? 0 : STORE_ENOMEM;
	if (b)
		b->s = s;
	while (rc == 0 && !(rc = store_run(s->store, shipments_index_chunk, b)) && !b->done)
		log_msg(LOG_INFO, "shipments", "indexing the shipments by courier: %llu read",
			(unsigned long long)b->indexed);
	free(b);
	return rc > 0 ? store_status_from_mdb(rc) : rc;
}

int shipments_open(struct store *store, struct ledger *ledger, struct profiles *profiles, const char *data_dir,
		   struct shipments **out)
{
	struct shipments *s = calloc(1, sizeof(*s));
	char path[1100];
	int rc;
	if (!s)
		return STORE_ENOMEM;
	s->store = store;
	s->ledger = ledger;
	s->profiles = profiles;
	snprintf(path, sizeof(path), "%s/shipments.key", data_dir);
	if (crypto_key_file(path, s->key, sizeof(s->key)) != CRYPTO_OK) {
		log_msg(LOG_ERROR, "shipments", "the key %s/shipments.key cannot be read or made", data_dir);
		free(s);
		return STORE_EIO;
	}
	if ((rc = store_dbi_open(store, "shipments", 0, &s->shipments)) != 0 ||
	    (rc = store_dbi_open(store, "shipment_provider", 0, &s->by_provider)) != 0 ||
	    (rc = store_dbi_open(store, "shipment_order", 0, &s->by_order)) != 0 ||
	    (rc = store_dbi_open(store, "shipment_due", 0, &s->due)) != 0 ||
	    (rc = store_dbi_open(store, "shipment_jobs", 0, &s->jobs)) != 0 ||
	    (rc = store_dbi_open(store, "shipment_courier", 0, &s->by_courier)) != 0 ||
	    (rc = shipments_index_build(s)) != 0) {
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

void shipments_on_change(struct shipments *s, shipments_change_fn fn, void *ctx)
{
	s->on_change = fn;
	s->on_change_ctx = ctx;
}

int shipments_start(struct shipments *s, struct event_base *base, struct courier_gateway *gw)
{
	struct timeval second = { 1, 0 };
	s->gw = gw;
	s->sweep_timer = event_new(base, -1, EV_PERSIST, shipments_on_sweep, s);
	return s->sweep_timer && event_add(s->sweep_timer, &second) == 0 ? 0 : -1;
}

int shipments_attach(struct shipments *s, struct httpd *h)
{
	int rc = httpd_route(h, ROUTER_POST, "/api/v1/webhooks/couriers/{provider}", ROLE_PUBLIC,
			     shipments_handle_webhook, s);
	return rc ? rc : shipment_jobs_attach(s, h);
}

void shipments_stop(struct shipments *s)
{
	if (s && s->sweep_timer) {
		event_free(s->sweep_timer);
		s->sweep_timer = NULL;
	}
}

void shipments_free(struct shipments *s)
{
	shipments_stop(s);
	if (s)
		OPENSSL_cleanse(s->key, sizeof(s->key));
	free(s);
}

/* --- for auditors --- */

int shipments_audit_delivered(struct shipments *s, MDB_txn *txn, const struct ledger_id *id, bool *delivered,
			      const char **state)
{
	struct shipment *sh = malloc(sizeof(*sh));
	int rc = sh ? shipment_load(s, txn, id, sh) : STORE_ENOMEM;
	if (rc == 0) {
		*delivered = sh->progress == SHIP_DELIVERED || sh->state == SHIP_DELIVERED;
		*state = ship_state_name((enum ship_state)sh->state);
	}
	free(sh);
	return rc;
}
