/*
 * midtrans: the Midtrans Core API for QRIS (/v2 charge, status, cancel,
 * refund) and its HTTP notifications. The sandbox module speaks the same
 * protocol through these functions (gateway.h).
 *
 * Midtrans answers carry their own status_code beside the HTTP status; both
 * are read, and a body status_code >= 400 is an error even under HTTP 200,
 * except 407 (an expired transaction) on the status call. Amounts come back
 * as strings with two decimals ("789000.00") and are parsed strictly.
 * Amounts above QRIS_AMOUNT_MAX are refused, so Automatic Fee Imposition
 * (a fee added to gross_amount) must stay off for QRIS.
 */
#include <string.h>

#include "gateway.h"
#include "qris.h"

#define MT_CODE_LEN 3          /* status_code: three digits */
#define MT_AMOUNT_TEXT_MAX 20  /* "10000000.00" and room to spare */
#define MT_SIG_LEN 128         /* hex SHA-512 */
#define MT_REFUNDS_MAX 1000    /* refunds[] entries read */

/* Maps transaction_status (and fraud_status for card captures) to a state. */
static bool mt_state(const char *status, const char *fraud, enum pay_state *out)
{
	static const struct {
		const char *name;
		enum pay_state state;
	} map[] = {
		{ "pending", PAY_STATE_PENDING },
		{ "settlement", PAY_STATE_PAID },
		{ "expire", PAY_STATE_EXPIRED },
		{ "cancel", PAY_STATE_CANCELLED },
		{ "deny", PAY_STATE_CANCELLED },
		{ "refund", PAY_STATE_REFUNDED },
		{ "partial_refund", PAY_STATE_PARTIALLY_REFUNDED },
		{ "failure", PAY_STATE_FAILED },
	};
	if (!status)
		return false;
	if (strcmp(status, "capture") == 0) {
		/* A capture is money only once fraud review accepted it. */
		*out = fraud && strcmp(fraud, "accept") == 0 ? PAY_STATE_PAID : PAY_STATE_PENDING;
		return true;
	}
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].name, status) == 0) {
			*out = map[i].state;
			return true;
		}
	return false;
}

/* status_code as a number, or -1 when absent or not three digits. */
static int mt_code(json_t *body)
{
	const char *s = body ? gw_json_peek(body, "status_code", MT_CODE_LEN) : NULL;
	if (!s || strlen(s) != MT_CODE_LEN)
		return -1;
	for (int i = 0; i < MT_CODE_LEN; i++)
		if (s[i] < '0' || s[i] > '9')
			return -1;
	return (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
}

/*
 * The common part of every answer: the HTTP status, then the body's
 * status_code. 407 passes only when expired_ok (the status call).
 */
static int mt_answer(struct gw_call *call, long http_status, json_t *body, bool expired_ok)
{
	const char *msg = body ? gw_json_peek(body, "status_message", PAY_TEXT_MAX / 2) : NULL;
	int code = mt_code(body);
	if (http_status < 200 || http_status > 299) {
		gw_format(call->err, sizeof(call->err), "%s: HTTP %ld: %s", call->module, http_status, msg ? msg : "");
		return PAY_EPROVIDER;
	}
	if (code < 0) {
		gw_format(call->err, sizeof(call->err), "%s: answer without a status_code", call->module);
		return PAY_EMALFORMED;
	}
	if (code >= 500) {
		gw_format(call->err, sizeof(call->err), "%s: status_code %d: %s", call->module, code, msg ? msg : "");
		return PAY_EUNAVAILABLE;
	}
	if (code >= 400 && !(expired_ok && code == 407)) {
		gw_format(call->err, sizeof(call->err), "%s: status_code %d: %s", call->module, code, msg ? msg : "");
		return PAY_EPROVIDER;
	}
	return PAY_OK;
}

/* A present member must have this exact value (currency, payment_type). */
static bool mt_member_is(json_t *body, const char *key, const char *want)
{
	json_t *v = json_object_get(body, key);
	return !v || (json_is_string(v) && strcmp(json_string_value(v), want) == 0);
}

/*
 * The fields every transaction answer and notification carry: order_id
 * (must equal want_order when set), transaction_id (must equal want_ref when
 * set), the state, gross_amount and currency. OUT: order, ref, *state,
 * *gross.
 */
static int mt_transaction(json_t *body, const char *want_order, const char *want_ref, char *order, char *ref,
			  enum pay_state *state, int64_t *gross, char *err, size_t err_cap)
{
	char amount[MT_AMOUNT_TEXT_MAX + 1];
	if (gw_json_str(body, "order_id", order, PAY_ID_MAX + 1, err, err_cap) != PAY_OK ||
	    gw_json_str(body, "transaction_id", ref, PAY_ID_MAX + 1, err, err_cap) != PAY_OK ||
	    gw_json_str(body, "gross_amount", amount, sizeof(amount), err, err_cap) != PAY_OK)
		return PAY_EMALFORMED;
	if (!gw_id_ok(order) || !gw_id_ok(ref) || (want_order && want_order[0] && strcmp(order, want_order) != 0) ||
	    (want_ref && want_ref[0] && strcmp(ref, want_ref) != 0)) {
		gw_format(err, err_cap, "midtrans: order_id or transaction_id is not the one asked about");
		return PAY_EMALFORMED;
	}
	if (gw_amount_parse(amount, QRIS_AMOUNT_MAX, gross) != PAY_OK) {
		gw_format(err, err_cap, "midtrans: gross_amount is not whole rupiah up to %d", QRIS_AMOUNT_MAX);
		return PAY_EMALFORMED;
	}
	if (!mt_state(gw_json_peek(body, "transaction_status", GW_STATUS_MAX),
		      gw_json_peek(body, "fraud_status", GW_STATUS_MAX), state)) {
		gw_format(err, err_cap, "midtrans: unknown transaction_status");
		return PAY_EMALFORMED;
	}
	if (!mt_member_is(body, "currency", "IDR")) {
		gw_format(err, err_cap, "midtrans: currency is not IDR");
		return PAY_EMALFORMED;
	}
	return PAY_OK;
}

/* --- charge -------------------------------------------------------------- */

static int mt_read_charge(struct gw_call *call, long http_status, json_t *body, union gw_result *out)
{
	struct pay_charge_res *res = &out->charge;
	char order[PAY_ID_MAX + 1];
	int64_t gross;
	int rc = mt_answer(call, http_status, body, false);
	if (rc != PAY_OK)
		return rc;
	rc = mt_transaction(body, call->payment_id, NULL, order, res->provider_ref, &res->state, &gross, call->err,
			    sizeof(call->err));
	if (rc != PAY_OK)
		return rc;
	if (gross != call->amount || res->state != PAY_STATE_PENDING || !mt_member_is(body, "payment_type", "qris")) {
		gw_format(call->err, sizeof(call->err), "midtrans: charge answer differs from the request");
		return PAY_EMALFORMED;
	}
	rc = gw_json_str(body, "qr_string", res->qr_string, sizeof(res->qr_string), call->err, sizeof(call->err));
	if (rc != PAY_OK)
		return rc;
	return gw_qr_check(res->qr_string, call->amount, call->err, sizeof(call->err));
}

int midtrans_charge(struct pay_gateway *g, const struct pay_charge_req *req, pay_charge_fn done, void *arg)
{
	char idem[GW_KEY_MAX + 32];
	char notify[GW_URL_MAX + 32];
	const char *extra[3] = { idem, NULL, NULL };
	struct gw_call *call;
	/* Without a key of its own, the payment id (unique per charge) is the key. */
	const char *key = req->idempotency_key ? req->idempotency_key : req->payment_id;
	if (!gw_format(idem, sizeof(idem), "Idempotency-Key: %s", key))
		return PAY_EINVAL;
	if (g->notify_url[0]) {
		if (!gw_format(notify, sizeof(notify), "X-Override-Notification: %s", g->notify_url))
			return PAY_EINVAL;
		extra[1] = notify;
	}
	json_t *body = json_pack("{s:s, s:{s:s, s:I}, s:{s:I, s:s}}", "payment_type", "qris",
				 "transaction_details", "order_id", req->payment_id, "gross_amount",
				 (json_int_t)req->amount, "custom_expiry", "expiry_duration", (json_int_t)req->expiry_s,
				 "unit", "second");
	if (!body)
		return PAY_ENOMEM;
	int rc = gw_call_new(GW_CHARGE, mt_read_charge, &call);
	if (rc != PAY_OK)
		goto free_body;
	call->done.charge = done;
	call->arg = arg;
	call->amount = req->amount;
	memcpy(call->payment_id, req->payment_id, strlen(req->payment_id) + 1);
	/* Retried safely: the provider answers a repeated key with the first result. */
	rc = gw_send(g, call, "POST", "/v2/charge", body, extra, true);
free_body:
	json_decref(body);
	return rc;
}

/* --- status, cancel, refund ---------------------------------------------- */

/*
 * The refunded total: the sum of refunds[] when the body lists them, else
 * refund_amount (the total in status answers and notifications; in a
 * refund's own answer, `one_refund`, it is that one refund and tells no
 * total), else 0 (not told); a refunded transaction that says neither has
 * refunded all of gross. Each amount and the total are at most gross.
 * OUT: *out. Returns 0 or PAY_EMALFORMED.
 */
static int mt_refunded(json_t *body, int64_t gross, enum pay_state state, bool one_refund, int64_t *out)
{
	json_t *refunds = json_object_get(body, "refunds");
	json_t *total = json_object_get(body, "refund_amount");
	int64_t sum = 0;
	int64_t one;
	if (refunds) {
		size_t n = json_is_array(refunds) ? json_array_size(refunds) : MT_REFUNDS_MAX + 1;
		if (n > MT_REFUNDS_MAX)
			return PAY_EMALFORMED;
		for (size_t i = 0; i < n; i++) {
			const char *a = gw_json_peek(json_array_get(refunds, i), "refund_amount", MT_AMOUNT_TEXT_MAX);
			if (!a || gw_amount_parse(a, gross, &one) != PAY_OK || one > gross - sum)
				return PAY_EMALFORMED;
			sum += one;
		}
	} else if (total && !one_refund) {
		const char *a = gw_json_peek(body, "refund_amount", MT_AMOUNT_TEXT_MAX);
		if (!a || gw_amount_parse(a, gross, &sum) != PAY_OK)
			return PAY_EMALFORMED;
	} else if (state == PAY_STATE_REFUNDED) {
		sum = gross;
	}
	*out = sum;
	return PAY_OK;
}

/*
 * A transaction answer into a status result. amount is what was paid, so
 * only paid and refunded states report it. A status answer (status_answer)
 * may say the transaction expired, and its refund_amount is the total; in a
 * cancel's or a refund's answer expiry is an error and refund_amount the
 * one refund.
 */
static int mt_read_state(struct gw_call *call, long http_status, json_t *body, struct pay_status_res *res,
			 bool status_answer)
{
	char order[PAY_ID_MAX + 1];
	int64_t gross;
	int rc = mt_answer(call, http_status, body, status_answer);
	if (rc != PAY_OK)
		return rc;
	rc = mt_transaction(body, call->payment_id, call->provider_ref, order, res->provider_ref, &res->state,
			    &gross, call->err, sizeof(call->err));
	if (rc != PAY_OK)
		return rc;
	if (res->state == PAY_STATE_PAID || res->state == PAY_STATE_REFUNDED ||
	    res->state == PAY_STATE_PARTIALLY_REFUNDED)
		res->amount = gross;
	if (mt_refunded(body, gross, res->state, !status_answer, &res->refunded) != PAY_OK) {
		gw_format(call->err, sizeof(call->err), "midtrans: refunds are not whole rupiah within gross_amount");
		return PAY_EMALFORMED;
	}
	return PAY_OK;
}

static int mt_read_status(struct gw_call *call, long http_status, json_t *body, union gw_result *out)
{
	return mt_read_state(call, http_status, body, &out->status, true);
}

static int mt_read_change(struct gw_call *call, long http_status, json_t *body, union gw_result *out)
{
	return mt_read_state(call, http_status, body, &out->status, false);
}

/*
 * Starts a call about one transaction: path /v2/{id}/verb, where id is the
 * provider's reference when known (it never needs escaping), else ours.
 */
static int mt_about(struct pay_gateway *g, const char *method, const char *verb, gw_read_fn read,
		    const char *payment_id, const char *provider_ref, json_t *body, const char *const *extra,
		    pay_status_fn done, void *arg)
{
	char path[PAY_ID_MAX + 32];
	struct gw_call *call;
	if (!gw_format(path, sizeof(path), "/v2/%s/%s", provider_ref ? provider_ref : payment_id, verb))
		return PAY_EINVAL;
	int rc = gw_call_new(GW_STATUS, read, &call);
	if (rc != PAY_OK)
		return rc;
	call->done.status = done;
	call->arg = arg;
	if (payment_id)
		memcpy(call->payment_id, payment_id, strlen(payment_id) + 1);
	if (provider_ref)
		memcpy(call->provider_ref, provider_ref, strlen(provider_ref) + 1);
	/* Status reads; cancel is idempotent at the provider; refunds carry their key. */
	return gw_send(g, call, method, path, body, extra, true);
}

int midtrans_status(struct pay_gateway *g, const char *payment_id, const char *provider_ref, pay_status_fn done,
		    void *arg)
{
	return mt_about(g, "GET", "status", mt_read_status, payment_id, provider_ref, NULL, NULL, done, arg);
}

int midtrans_cancel(struct pay_gateway *g, const char *payment_id, const char *provider_ref, pay_status_fn done,
		    void *arg)
{
	return mt_about(g, "POST", "cancel", mt_read_change, payment_id, provider_ref, NULL, NULL, done, arg);
}

int midtrans_refund(struct pay_gateway *g, const struct pay_refund_req *req, pay_status_fn done, void *arg)
{
	char idem[PAY_ID_MAX + 32];
	const char *extra[] = { idem, NULL };
	if (!gw_format(idem, sizeof(idem), "Idempotency-Key: %s", req->refund_key))
		return PAY_EINVAL;
	json_t *body = json_pack("{s:s, s:I}", "refund_key", req->refund_key, "amount", (json_int_t)req->amount);
	if (!body)
		return PAY_ENOMEM;
	int rc = PAY_ENOMEM;
	if (req->reason && json_object_set_new(body, "reason", json_string(req->reason)) != 0)
		goto free_body;
	rc = mt_about(g, "POST", "refund", mt_read_change, req->payment_id, req->provider_ref, body, extra, done,
		      arg);
free_body:
	json_decref(body);
	return rc;
}

/* --- notifications ------------------------------------------------------- */

/*
 * What tells refund events apart, so two partial refunds differ: the key
 * of the newest entry in refunds[] when given, else the refunded total.
 * OUT: mark (GW_KEY_MAX + 1 bytes).
 */
static void mt_refund_mark(json_t *body, int64_t refunded, char *mark)
{
	json_t *refunds = json_object_get(body, "refunds");
	size_t n = json_is_array(refunds) ? json_array_size(refunds) : 0;
	const char *key = n ? gw_json_peek(json_array_get(refunds, n - 1), "refund_key", PAY_ID_MAX) : NULL;
	if (key)
		gw_format(mark, GW_KEY_MAX + 1, "%s", key);
	else
		gw_format(mark, GW_KEY_MAX + 1, "%lld", (long long)refunded);
}

int midtrans_parse_event(struct pay_gateway *g, json_t *body, struct pay_event *out)
{
	char err[PAY_TEXT_MAX + 1];
	char status[GW_STATUS_MAX + 1];
	char tx[PAY_ID_MAX + 1];
	char mark[GW_KEY_MAX + 1];
	const char *sig = gw_json_peek(body, "signature_key", MT_SIG_LEN);
	const char *parts[3] = {
		gw_json_peek(body, "order_id", PAY_ID_MAX),
		gw_json_peek(body, "status_code", MT_CODE_LEN),
		gw_json_peek(body, "gross_amount", MT_AMOUNT_TEXT_MAX),
	};
	if (!sig)
		return PAY_EFORGED;
	if (!parts[0] || !parts[1] || !parts[2])
		return PAY_EMALFORMED;
	/* Over the exact strings received: "100000" and "100000.00" sign differently. */
	if (!gw_sha512_sig_ok(parts, 3, g->server_key, sig))
		return PAY_EFORGED;
	if (mt_transaction(body, NULL, NULL, out->payment_id, tx, &out->state, &out->amount, err, sizeof(err)) !=
		    PAY_OK ||
	    gw_json_str(body, "transaction_status", status, sizeof(status), NULL, 0) != PAY_OK)
		return PAY_EMALFORMED;
	/* Paid means status_code 200 with settlement (or an accepted capture). */
	if (out->state == PAY_STATE_PAID && strcmp(parts[1], "200") != 0)
		return PAY_EMALFORMED;
	memcpy(out->provider_ref, tx, sizeof(tx));
	out->kind = PAY_EVENT_PAYMENT;
	if (out->state != PAY_STATE_REFUNDED && out->state != PAY_STATE_PARTIALLY_REFUNDED)
		return gw_format(out->event_id, sizeof(out->event_id), "%s:%s", tx, status) ? PAY_OK : PAY_EMALFORMED;
	if (mt_refunded(body, out->amount, out->state, false, &out->refunded) != PAY_OK || out->refunded < 1)
		return PAY_EMALFORMED;
	mt_refund_mark(body, out->refunded, mark);
	return gw_format(out->event_id, sizeof(out->event_id), "%s:%s:%s", tx, status, mark) ? PAY_OK
											      : PAY_EMALFORMED;
}

int midtrans_parse_webhook(struct pay_gateway *g, const struct pay_webhook *in, struct pay_event *out)
{
	json_t *body;
	int rc = gw_webhook_json(in, &body);
	if (rc != PAY_OK)
		return rc;
	rc = midtrans_parse_event(g, body, out);
	json_decref(body);
	return rc;
}

const struct pay_gateway_ops midtrans_ops = {
	.name = "midtrans",
	.default_base_url = "https://api.sandbox.midtrans.com",
	.default_server_key = NULL,
	.needs_callback_token = false,
	.charge = midtrans_charge,
	.status = midtrans_status,
	.cancel = midtrans_cancel,
	.refund = midtrans_refund,
	.disburse = NULL,
	.parse_webhook = midtrans_parse_webhook,
};
