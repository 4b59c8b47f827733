/*
 * xendit: Xendit QR Codes (api-version 2022-07-31). A charge creates a
 * DYNAMIC QR (POST /qr_codes); its status is the QR's (GET /qr_codes/{id}:
 * ACTIVE is still payable, INACTIVE has expired); payments are learnt from
 * qr.payment webhooks, in the V2 nested shape (data {reference_id, status
 * SUCCEEDED}) or the V1 flat one (status COMPLETED, qr_code {external_id}).
 * Webhooks are authenticated by the x-callback-token header and identified
 * by the webhook-id header.
 *
 * Cancel, refund and payouts are not part of the QR Codes API this module
 * speaks, so the module leaves them out (PAY_EUNSUPPORTED).
 */
#include <string.h>
#include <time.h>

#include "gateway.h"
#include "qris.h"

#define XD_API_VERSION "api-version: 2022-07-31"
#define XD_TIME_MAX 32   /* "2024-01-31T23:59:59Z" */

/* An amount that must be a JSON integer in 1..QRIS_AMOUNT_MAX. */
static bool xd_amount(json_t *v, int64_t *out)
{
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > QRIS_AMOUNT_MAX)
		return false;
	*out = (int64_t)json_integer_value(v);
	return true;
}

/* The QR's status word to a state. */
static bool xd_qr_state(const char *s, enum pay_state *out)
{
	if (!s)
		return false;
	if (strcmp(s, "ACTIVE") == 0)
		*out = PAY_STATE_PENDING;
	else if (strcmp(s, "INACTIVE") == 0)
		*out = PAY_STATE_EXPIRED;
	else
		return false;
	return true;
}

/* The common part of answers: HTTP errors carry {error_code, message}. */
static int xd_answer(struct gw_call *call, long http_status, json_t *body)
{
	if (http_status < 200 || http_status > 299) {
		const char *code = body ? gw_json_peek(body, "error_code", GW_STATUS_MAX * 2) : NULL;
		const char *msg = body ? gw_json_peek(body, "message", PAY_TEXT_MAX / 2) : NULL;
		gw_format(call->err, sizeof(call->err), "xendit: HTTP %ld: %s %s", http_status, code ? code : "",
			  msg ? msg : "");
		return PAY_EPROVIDER;
	}
	if (!body) {
		gw_format(call->err, sizeof(call->err), "xendit: answer is not a JSON object");
		return PAY_EMALFORMED;
	}
	return PAY_OK;
}

/*
 * The fields of a QR code object: id (equal to call->provider_ref when
 * set), reference_id (equal to call->payment_id when set), status, and
 * currency and type when present. OUT: ref, *state.
 */
static int xd_qr_object(struct gw_call *call, json_t *body, char *ref, enum pay_state *state)
{
	char reference[PAY_ID_MAX + 1];
	json_t *type = json_object_get(body, "type");
	json_t *currency = json_object_get(body, "currency");
	if (gw_json_str(body, "id", ref, PAY_ID_MAX + 1, call->err, sizeof(call->err)) != PAY_OK ||
	    gw_json_str(body, "reference_id", reference, sizeof(reference), call->err, sizeof(call->err)) != PAY_OK)
		return PAY_EMALFORMED;
	if (!gw_id_ok(ref) || (call->provider_ref[0] && strcmp(ref, call->provider_ref) != 0) ||
	    (call->payment_id[0] && strcmp(reference, call->payment_id) != 0) ||
	    !xd_qr_state(gw_json_peek(body, "status", GW_STATUS_MAX), state) ||
	    (type && !(json_is_string(type) && strcmp(json_string_value(type), "DYNAMIC") == 0)) ||
	    (currency && !(json_is_string(currency) && strcmp(json_string_value(currency), "IDR") == 0))) {
		gw_format(call->err, sizeof(call->err), "xendit: QR code answer differs from the request");
		return PAY_EMALFORMED;
	}
	return PAY_OK;
}

static int xd_read_charge(struct gw_call *call, long http_status, json_t *body, union gw_result *out)
{
	struct pay_charge_res *res = &out->charge;
	int64_t amount;
	int rc = xd_answer(call, http_status, body);
	if (rc == PAY_OK)
		rc = xd_qr_object(call, body, res->provider_ref, &res->state);
	if (rc != PAY_OK)
		return rc;
	if (!xd_amount(json_object_get(body, "amount"), &amount) || amount != call->amount ||
	    res->state != PAY_STATE_PENDING) {
		gw_format(call->err, sizeof(call->err), "xendit: amount or status differs from the request");
		return PAY_EMALFORMED;
	}
	rc = gw_json_str(body, "qr_string", res->qr_string, sizeof(res->qr_string), call->err, sizeof(call->err));
	if (rc != PAY_OK)
		return rc;
	return gw_qr_check(res->qr_string, call->amount, call->err, sizeof(call->err));
}

static int xd_read_status(struct gw_call *call, long http_status, json_t *body, union gw_result *out)
{
	int rc = xd_answer(call, http_status, body);
	if (rc != PAY_OK)
		return rc;
	/* A QR code says nothing of what was paid: amount stays -1. */
	return xd_qr_object(call, body, out->status.provider_ref, &out->status.state);
}

static int xd_charge(struct pay_gateway *g, const struct pay_charge_req *req, pay_charge_fn done, void *arg)
{
	char idem[GW_KEY_MAX + 32];
	char expires[XD_TIME_MAX];
	const char *extra[] = { XD_API_VERSION, idem, NULL };
	struct gw_call *call;
	struct tm tm;
	time_t at = time(NULL) + (time_t)req->expiry_s;
	const char *key = req->idempotency_key ? req->idempotency_key : req->payment_id;
	if (!gmtime_r(&at, &tm) || strftime(expires, sizeof(expires), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0 ||
	    !gw_format(idem, sizeof(idem), "idempotency-key: %s", key))
		return PAY_EINVAL;
	json_t *body = json_pack("{s:s, s:s, s:s, s:I, s:s}", "reference_id", req->payment_id, "type", "DYNAMIC",
				 "currency", "IDR", "amount", (json_int_t)req->amount, "expires_at", expires);
	if (!body)
		return PAY_ENOMEM;
	int rc = gw_call_new(GW_CHARGE, xd_read_charge, &call);
	if (rc != PAY_OK)
		goto free_body;
	call->done.charge = done;
	call->arg = arg;
	call->amount = req->amount;
	memcpy(call->payment_id, req->payment_id, strlen(req->payment_id) + 1);
	rc = gw_send(g, call, "POST", "/qr_codes", body, extra, true);
free_body:
	json_decref(body);
	return rc;
}

static int xd_status(struct pay_gateway *g, const char *payment_id, const char *provider_ref, pay_status_fn done,
		     void *arg)
{
	char path[PAY_ID_MAX + 16];
	const char *extra[] = { XD_API_VERSION, NULL };
	struct gw_call *call;
	/* QR codes are looked up by the provider's id only. */
	if (!provider_ref || !gw_format(path, sizeof(path), "/qr_codes/%s", provider_ref))
		return PAY_EINVAL;
	int rc = gw_call_new(GW_STATUS, xd_read_status, &call);
	if (rc != PAY_OK)
		return rc;
	call->done.status = done;
	call->arg = arg;
	if (payment_id)
		memcpy(call->payment_id, payment_id, strlen(payment_id) + 1);
	memcpy(call->provider_ref, provider_ref, strlen(provider_ref) + 1);
	return gw_send(g, call, "GET", path, NULL, extra, true);
}

/* --- webhooks ------------------------------------------------------------ */

/*
 * The payment in a qr.payment callback, V2 (under data) or V1 (flat, the
 * QR under qr_code). OUT: our id, the QR's id, the state and amount.
 */
static int xd_payment(json_t *body, struct pay_event *out)
{
	json_t *data = json_object_get(body, "data");
	json_t *qr = json_object_get(body, "qr_code");
	json_t *p = json_is_object(data) ? data : body;
	const char *paid_word = json_is_object(data) ? "SUCCEEDED" : "COMPLETED";
	const char *status = gw_json_peek(p, "status", GW_STATUS_MAX);
	bool ids;
	if (p == data)
		ids = gw_json_str(data, "reference_id", out->payment_id, sizeof(out->payment_id), NULL, 0) == PAY_OK &&
		      gw_json_str(data, "qr_id", out->provider_ref, sizeof(out->provider_ref), NULL, 0) == PAY_OK;
	else
		ids = json_is_object(qr) &&
		      gw_json_str(qr, "external_id", out->payment_id, sizeof(out->payment_id), NULL, 0) == PAY_OK &&
		      gw_json_str(qr, "id", out->provider_ref, sizeof(out->provider_ref), NULL, 0) == PAY_OK;
	if (!ids || !gw_id_ok(out->payment_id) || !gw_id_ok(out->provider_ref) ||
	    !xd_amount(json_object_get(p, "amount"), &out->amount) || !status)
		return PAY_EMALFORMED;
	if (strcmp(status, paid_word) == 0)
		out->state = PAY_STATE_PAID;
	else if (strcmp(status, "FAILED") == 0)
		out->state = PAY_STATE_FAILED;
	else
		return PAY_EMALFORMED;
	return PAY_OK;
}

static int xd_parse_webhook(struct pay_gateway *g, const struct pay_webhook *in, struct pay_event *out)
{
	json_t *body;
	const char *token = gw_webhook_header(in, "x-callback-token");
	const char *id = gw_webhook_header(in, "webhook-id");
	if (!token || !gw_secret_equal(token, g->callback_token))
		return PAY_EFORGED;
	if (!gw_text_ok(id, PAY_EVENT_ID_MAX, false))
		return PAY_EMALFORMED;
	int rc = gw_webhook_json(in, &body);
	if (rc != PAY_OK)
		return rc;
	const char *event = gw_json_peek(body, "event", GW_STATUS_MAX);
	if (!event || strcmp(event, "qr.payment") != 0)
		rc = PAY_EMALFORMED;
	else
		rc = xd_payment(body, out);
	if (rc == PAY_OK) {
		out->kind = PAY_EVENT_PAYMENT;
		memcpy(out->event_id, id, strlen(id) + 1);
	}
	json_decref(body);
	return rc;
}

const struct pay_gateway_ops xendit_ops = {
	.name = "xendit",
	.default_base_url = "https://api.xendit.co",
	.default_server_key = NULL,
	.needs_callback_token = true,
	.charge = xd_charge,
	.status = xd_status,
	.cancel = NULL,
	.refund = NULL,
	.disburse = NULL,
	.parse_webhook = xd_parse_webhook,
};
