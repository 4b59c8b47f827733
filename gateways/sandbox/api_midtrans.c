/*
 * api_midtrans: the Midtrans-like Core API for QRIS (charge, status,
 * cancel, expire, refund) and its HTTP notifications. docs/sandbox.md
 * lists every field.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SB_MERCHANT_ID "G816020221"
#define SB_UNIT_COUNT 4

static const struct {
	const char *name;
	int64_t seconds;
} expiry_units[SB_UNIT_COUNT] = {
	{ "second", 1 }, { "minute", 60 }, { "hour", 3600 }, { "day", 86400 },
};

/* Notification status_code of a state. */
static const char *mid_note_code(enum sb_state s)
{
	switch (s) {
	case SB_PENDING:
		return "201";
	case SB_EXPIRE:
	case SB_CANCEL:
		return "202";
	default:
		return "200";
	}
}

/* Status API status_code of a state. */
static const char *mid_status_code(enum sb_state s)
{
	return s == SB_PENDING ? "201" : s == SB_EXPIRE ? "407" : "200";
}

/* The refunds of a charge: [{refund_chargeback_id, refund_amount, created_at, reason, refund_key}]. */
static json_t *mid_refunds(const struct sb_charge *c)
{
	json_t *list = json_array();
	for (unsigned i = 0; list && i < c->n_refunds; i++) {
		const struct sb_refund *r = &c->refunds[i];
		char amount[SB_AMOUNT_TEXT_MAX], at[SB_WIB_LEN + 1];
		sb_amount_text(r->amount, amount);
		sb_time_wib(r->created_ms, at);
		if (json_array_append_new(list, json_pack("{s:I, s:s, s:s, s:s, s:s}", "refund_chargeback_id",
							  (json_int_t)r->chargeback_id, "refund_amount", amount,
							  "created_at", at, "reason", r->reason ? r->reason : "",
							  "refund_key", r->key)) != 0) {
			json_decref(list);
			return NULL;
		}
	}
	return list;
}

/*
 * The fields a status response and a notification share. gross_amount is
 * what was paid once paid (else what was asked), plus `delta`.
 */
static json_t *mid_common(const struct sb_charge *c, int64_t delta)
{
	char created[SB_WIB_LEN + 1], settled[SB_WIB_LEN + 1], gross[SB_AMOUNT_TEXT_MAX];
	char refunded[SB_AMOUNT_TEXT_MAX];
	json_t *j;
	int rc = 0;
	sb_time_wib(c->created_ms, created);
	sb_amount_text((c->paid ? c->paid : c->amount) + delta, gross);
	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "transaction_time", created,
		      "transaction_status", sb_charge_status_word(c), "transaction_id", c->id, "order_id", c->ref,
		      "merchant_id", SB_MERCHANT_ID, "gross_amount", gross, "currency", "IDR", "payment_type",
		      "qris", "fraud_status", "accept", "acquirer", c->acquirer);
	if (j && c->settled_ms) {
		sb_time_wib(c->settled_ms, settled);
		rc |= sb_set(j, "settlement_time", json_string(settled));
	}
	if (j && c->n_refunds) {
		sb_amount_text(c->refunded, refunded);
		rc |= sb_set(j, "refund_amount", json_string(refunded));
		rc |= sb_set(j, "refunds", mid_refunds(c));
	}
	if (rc != 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* A status-shaped response: the common fields with status_code and status_message. */
static json_t *mid_status_body(const struct sb_charge *c, const char *code, const char *message)
{
	json_t *j = mid_common(c, 0);
	if (j && (sb_set(j, "status_code", json_string(code)) != 0 ||
		  sb_set(j, "status_message", json_string(message)) != 0)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* The charge response (also for a repeated pending order_id with the same amount). */
static json_t *mid_charge_body(struct sandbox *sb, const struct sb_charge *c)
{
	char gross[SB_AMOUNT_TEXT_MAX], created[SB_WIB_LEN + 1], url[SANDBOX_URL_MAX + 128];
	sb_amount_text(c->amount, gross);
	sb_time_wib(c->created_ms, created);
	snprintf(url, sizeof(url), "%s/v2/qris/%s/qr-code", sb->base_url, c->id);
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:s, s:s}], s:s, s:s}",
			 "status_code", "201", "status_message", "QRIS transaction is created", "transaction_id",
			 c->id, "order_id", c->ref, "merchant_id", SB_MERCHANT_ID, "gross_amount", gross,
			 "currency", "IDR", "payment_type", "qris", "transaction_time", created,
			 "transaction_status", "pending", "fraud_status", "accept", "actions", "name",
			 "generate-qr-code", "method", "GET", "url", url, "qr_string", c->qr_string, "acquirer",
			 c->acquirer);
}

/*
 * Notification URLs from X-Override-Notification (instead of the default)
 * or X-Append-Notification (after it): at most 3, comma-separated, http(s).
 * OUT: urls (malloc'd), *n. Returns 0, or -1 with chk failed (or out of memory).
 */
static int mid_urls(struct sandbox *sb, const struct sb_call *call, char **urls, unsigned *n,
		    struct body_check *chk)
{
	const char *over = sb_header(call, "X-Override-Notification");
	const char *app = sb_header(call, "X-Append-Notification");
	const char *list = over ? over : app;
	const char *field = over ? "X-Override-Notification" : "X-Append-Notification";
	unsigned from_header = 0;
	*n = 0;
	if (!over) {
		urls[(*n)++] = strdup(sb->notify_midtrans);
		if (!urls[0])
			return -1;
	}
	while (list && *list) {
		const char *end = strchr(list, ',');
		size_t len = end ? (size_t)(end - list) : strlen(list);
		while (len && *list == ' ')
			list++, len--;
		while (len && list[len - 1] == ' ')
			len--;
		if (++from_header > SB_NOTIFY_URLS_MAX - 1 || len == 0 || len > SANDBOX_URL_MAX ||
		    (strncmp(list, "http://", 7) != 0 && strncmp(list, "https://", 8) != 0)) {
			body_fail(chk, field, "must be 1 to 3 comma-separated http(s) URLs");
			return -1;
		}
		urls[*n] = strndup(list, len);
		if (!urls[(*n)++])
			return -1;
		if (!end)
			break;
		list = end + 1;
	}
	if (*n == 0) {
		body_fail(chk, field, "must be 1 to 3 comma-separated http(s) URLs");
		return -1;
	}
	return 0;
}

/* Checks custom_expiry and qris. OUT: *expiry_s, acquirer (copied). */
static void mid_options(const json_t *body, struct body_check *chk, int64_t *expiry_s, char acquirer[16])
{
	const json_t *ce = json_object_get(body, "custom_expiry");
	const json_t *q = json_object_get(body, "qris");
	if (ce && !json_is_null(ce)) {
		int64_t dur = body_int(chk, ce, "expiry_duration", true, 1, SB_EXPIRY_MAX_S, 0);
		const char *unit = body_str(chk, ce, "unit", false, 1, 16);
		int64_t mult = 0;
		(void)body_str(chk, ce, "order_time", false, 1, 32);
		for (size_t i = 0; i < SB_UNIT_COUNT; i++)
			if (!unit ? i == 1 : strcmp(unit, expiry_units[i].name) == 0)
				mult = expiry_units[i].seconds;
		if (!chk->failed && !json_is_object(ce))
			body_fail(chk, "custom_expiry", "must be an object");
		else if (!chk->failed && !mult)
			body_fail(chk, "custom_expiry.unit", "must be second, minute, hour or day");
		else if (!chk->failed && dur * mult > SB_EXPIRY_MAX_S)
			body_fail(chk, "custom_expiry", "must be at most 30 days");
		else
			*expiry_s = dur * mult;
	}
	if (q && !json_is_null(q)) {
		const char *a = body_str(chk, q, "acquirer", false, 1, 15);
		if (!chk->failed && !json_is_object(q))
			body_fail(chk, "qris", "must be an object");
		else if (a && strcmp(a, "gopay") != 0 && strcmp(a, "airpay shopee") != 0)
			body_fail(chk, "qris.acquirer", "must be gopay or airpay shopee");
		else if (a)
			snprintf(acquirer, 16, "%s", a);
	}
}

void sb_mid_charge(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp)
{
	struct body_check chk = { 0 };
	const json_t *td = call->json ? json_object_get(call->json, "transaction_details") : NULL;
	const char *ptype, *order_id;
	char acquirer[16] = "gopay";
	char *urls[SB_NOTIFY_URLS_MAX] = { NULL };
	unsigned n_urls = 0;
	int64_t amount, expiry_s = SB_MIDTRANS_EXPIRY_S;
	struct sb_charge *c;
	if (!call->json)
		body_fail(&chk, "body", "must be a JSON object");
	ptype = body_str(&chk, call->json, "payment_type", true, 1, 32);
	if (ptype && strcmp(ptype, "qris") != 0)
		body_fail(&chk, "payment_type", "must be qris");
	if (!chk.failed && !json_is_object(td))
		body_fail(&chk, "transaction_details", "must be an object");
	order_id = body_str(&chk, td, "order_id", true, 1, SB_ID_MAX);
	if (order_id && !sb_id_valid(order_id))
		body_fail(&chk, "transaction_details.order_id", "may hold only letters, digits and -_.~:@#");
	amount = body_int(&chk, td, "gross_amount", true, 1, SB_AMOUNT_MAX, 0);
	if (!chk.failed)
		mid_options(call->json, &chk, &expiry_s, acquirer);
	if (chk.failed) {
		sb_resp_invalid(resp, SB_KIND_MIDTRANS, &chk);
		return;
	}
	c = sbmap_get(sb->mid_orders, order_id);
	if (c && c->state != SB_EXPIRE) {
		/* A retried charge finds its pending twin; anything else is a conflict. */
		if (c->state == SB_PENDING && c->amount == amount)
			sb_resp_json(resp, 200, mid_charge_body(sb, c));
		else
			sb_resp_error(resp, SB_KIND_MIDTRANS, 406, NULL,
				      "Duplicate order ID. Order ID has already been utilized previously.");
		return;
	}
	if (mid_urls(sb, call, urls, &n_urls, &chk) != 0) {
		if (chk.failed)
			sb_resp_invalid(resp, SB_KIND_MIDTRANS, &chk);
		else
			sb_resp_error(resp, SB_KIND_MIDTRANS, 500, NULL, "Out of memory");
		goto free_urls;
	}
	if (sb_charge_create(sb, SB_MIDTRANS, order_id, amount, sb_now_ms() + expiry_s * 1000, &c) != 0) {
		sb_resp_error(resp, SB_KIND_MIDTRANS, 500, NULL, "Internal server error");
		goto free_urls;
	}
	snprintf(c->acquirer, sizeof(c->acquirer), "%s", acquirer);
	memcpy(c->notify_urls, urls, sizeof(urls));
	c->n_urls = n_urls;
	n_urls = 0;
	sb_resp_json(resp, 200, mid_charge_body(sb, c));
	sb_charge_notify(sb, c);
free_urls:
	for (unsigned i = 0; i < n_urls; i++)
		free(urls[i]);
}

/* The charge named by the path, or NULL after answering 404. */
static struct sb_charge *mid_target(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp)
{
	struct sb_charge *c = sb_charge_find_proto(sb, SB_MIDTRANS, call->arg);
	if (!c)
		sb_resp_error(resp, SB_KIND_MIDTRANS, 404, NULL, "Transaction doesn't exist.");
	return c;
}

void sb_mid_status(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp)
{
	struct sb_charge *c = mid_target(sb, call, resp);
	if (c)
		sb_resp_json(resp, 200,
			     mid_status_body(c, mid_status_code(c->state), "Success, transaction is found"));
}

/* Cancel and expire: a pending charge moves to `to`; anything else is 412. */
static void mid_end(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp, enum sb_state to,
		    const char *code, const char *message)
{
	struct sb_charge *c = mid_target(sb, call, resp);
	if (!c)
		return;
	if (c->state != SB_PENDING) {
		sb_resp_error(resp, SB_KIND_MIDTRANS, 412, NULL,
			      "Merchant cannot modify the status of the transaction");
		return;
	}
	sb_charge_transition(sb, c, to);
	sb_resp_json(resp, 200, mid_status_body(c, code, message));
}

void sb_mid_cancel(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp)
{
	mid_end(sb, call, resp, SB_CANCEL, "200", "Success, transaction is canceled");
}

void sb_mid_expire(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp)
{
	mid_end(sb, call, resp, SB_EXPIRE, "407", "Success, transaction has expired");
}

/* The refund response: the status fields plus this refund's id, amount and key. */
static void mid_refund_reply(struct sb_resp *resp, const struct sb_charge *c, const struct sb_refund *r)
{
	char amount[SB_AMOUNT_TEXT_MAX];
	json_t *j = mid_status_body(c, "200", "Success, refund request is approved");
	sb_amount_text(r->amount, amount);
	if (j && (sb_set(j, "refund_chargeback_id", json_integer(r->chargeback_id)) != 0 ||
		  sb_set(j, "refund_amount", json_string(amount)) != 0 ||
		  sb_set(j, "refund_key", json_string(r->key)) != 0)) {
		json_decref(j);
		j = NULL;
	}
	sb_resp_json(resp, 200, j);
}

void sb_mid_refund(struct sandbox *sb, struct sb_call *call, struct sb_resp *resp)
{
	struct body_check chk = { 0 };
	struct sb_charge *c = mid_target(sb, call, resp);
	const char *key, *reason;
	int64_t amount;
	char uuid[SB_UUID_LEN + 1];
	struct sb_refund *r;
	if (!c)
		return;
	/* An empty body refunds everything that is left. */
	key = body_str(&chk, call->json, "refund_key", false, 1, SB_ID_MAX);
	if (key && !sb_id_valid(key))
		body_fail(&chk, "refund_key", "may hold only letters, digits and -_.~:@#");
	amount = body_int(&chk, call->json, "amount", false, 1, SB_AMOUNT_MAX, 0);
	reason = body_str(&chk, call->json, "reason", false, 0, SB_REASON_MAX);
	if (chk.failed) {
		sb_resp_invalid(resp, SB_KIND_MIDTRANS, &chk);
		return;
	}
	for (unsigned i = 0; key && i < c->n_refunds; i++) {
		if (strcmp(c->refunds[i].key, key) != 0)
			continue;
		if (amount && amount != c->refunds[i].amount)
			sb_resp_error(resp, SB_KIND_MIDTRANS, 409, NULL,
				      "refund_key was already used for a different amount");
		else
			mid_refund_reply(resp, c, &c->refunds[i]);
		return;
	}
	if (c->state != SB_SETTLEMENT && c->state != SB_PARTIAL_REFUND) {
		sb_resp_error(resp, SB_KIND_MIDTRANS, 412, NULL,
			      "Merchant cannot modify the status of the transaction");
		return;
	}
	if (!amount)
		amount = c->paid - c->refunded;
	if (amount > c->paid - c->refunded) {
		sb_resp_error(resp, SB_KIND_MIDTRANS, 400, NULL,
			      "Refund amount exceeds the amount that can still be refunded");
		return;
	}
	if (c->n_refunds >= SB_REFUNDS_MAX) {
		sb_resp_error(resp, SB_KIND_MIDTRANS, 412, NULL, "Too many refunds for this transaction");
		return;
	}
	r = realloc(c->refunds, (c->n_refunds + 1) * sizeof(*r));
	if (!r || (!key && sb_uuid(uuid) != 0)) {
		if (r)
			c->refunds = r;
		sb_resp_error(resp, SB_KIND_MIDTRANS, 500, NULL, "Internal server error");
		return;
	}
	c->refunds = r;
	r = &c->refunds[c->n_refunds];
	memset(r, 0, sizeof(*r));
	r->reason = reason ? strdup(reason) : NULL;
	if (reason && !r->reason) {
		sb_resp_error(resp, SB_KIND_MIDTRANS, 500, NULL, "Internal server error");
		return;
	}
	r->chargeback_id = ++sb->next_chargeback_id;
	r->amount = amount;
	r->created_ms = sb_now_ms();
	snprintf(r->key, sizeof(r->key), "%s", key ? key : uuid);
	c->n_refunds++;
	c->refunded += amount;
	sb_charge_transition(sb, c, c->refunded == c->paid ? SB_REFUND : SB_PARTIAL_REFUND);
	mid_refund_reply(resp, c, r);
}

void sb_mid_notify(struct sandbox *sb, struct sb_charge *c)
{
	struct sb_effect fx;
	const char *ids[2];
	const char *code = mid_note_code(c->state);
	char gross[SB_AMOUNT_TEXT_MAX], sig[SB_SHA512_HEX_LEN + 1], what[48];
	sb_charge_ids(c, ids);
	sb_faults_effect(sb, ids, 2, &fx);
	sb_amount_text((c->paid ? c->paid : c->amount) + fx.amount_delta, gross);
	{
		const char *parts[] = { c->ref, code, gross, sb->server_key, SB_WRONG_KEY_SUFFIX };
		if (sb_sha512_hex(parts, fx.wrong_signature ? 5 : 4, sig) != 0)
			return;
	}
	snprintf(what, sizeof(what), "midtrans %s", sb_charge_status_word(c));
	for (unsigned i = 0; i < c->n_urls; i++) {
		json_t *body = mid_common(c, fx.amount_delta);
		struct sb_note_spec spec = {
			.url = c->notify_urls[i], .body = body, .what = what, .ref = c->ref, .fx = &fx,
		};
		if (body && (sb_set(body, "status_message", json_string("midtrans payment notification")) != 0 ||
			     sb_set(body, "status_code", json_string(code)) != 0 ||
			     sb_set(body, "signature_key", json_string(sig)) != 0)) {
			json_decref(body);
			spec.body = NULL;
		}
		(void)sb_note_post(sb, &c->box, &spec);
	}
}
