/*
 * sandbox_gw: the "sandbox" payment module, the default. It speaks the
 * Midtrans protocol (midtrans.c's functions) to the bangsoleh-sandbox
 * program on loopback, plus the sandbox's payouts:
 *
 *   POST {base}/v1/payouts {payout_id, amount, bank_code, account_number,
 *   account_name} -> {id "po_...", payout_id, status PROCESSING | COMPLETED
 *   | FAILED}
 *
 * and their notifications {event "payout", payout_id, id, amount "N.00",
 * status, signature_key = hex SHA-512(payout_id + status + amount +
 * server_key)}. Other notifications are Midtrans-shaped payments.
 */
#include <string.h>

#include "gateway.h"

#define SB_SIG_LEN 128
#define SB_AMOUNT_TEXT_MAX 20

/* A payout status word; false for any other. */
static bool sb_payout_status(const char *s, bool *completed, bool *failed)
{
	if (!s)
		return false;
	*completed = strcmp(s, "COMPLETED") == 0;
	*failed = strcmp(s, "FAILED") == 0;
	return *completed || *failed || strcmp(s, "PROCESSING") == 0;
}

static int sb_read_payout(struct gw_call *call, long http_status, json_t *body, union gw_result *out)
{
	struct pay_disburse_res *res = &out->disburse;
	char payout_id[PAY_ID_MAX + 1];
	json_t *amount = body ? json_object_get(body, "amount") : NULL;
	if (http_status < 200 || http_status > 299) {
		/* Errors are {"error": {"code", "message"}}. */
		json_t *e = body ? json_object_get(body, "error") : NULL;
		const char *code = e ? gw_json_peek(e, "code", GW_STATUS_MAX) : NULL;
		const char *msg = e ? gw_json_peek(e, "message", PAY_TEXT_MAX / 2) : NULL;
		gw_format(call->err, sizeof(call->err), "sandbox: payout refused: HTTP %ld: %s %s", http_status,
			  code ? code : "", msg ? msg : "");
		return PAY_EPROVIDER;
	}
	if (!body || gw_json_str(body, "id", res->provider_ref, sizeof(res->provider_ref), call->err,
				 sizeof(call->err)) != PAY_OK ||
	    gw_json_str(body, "payout_id", payout_id, sizeof(payout_id), call->err, sizeof(call->err)) != PAY_OK) {
		if (!body)
			gw_format(call->err, sizeof(call->err), "sandbox: payout answer is not a JSON object");
		return PAY_EMALFORMED;
	}
	if (!gw_id_ok(res->provider_ref) || strcmp(payout_id, call->payment_id) != 0 ||
	    !sb_payout_status(gw_json_peek(body, "status", GW_STATUS_MAX), &res->completed, &res->failed) ||
	    (amount && !(json_is_integer(amount) && json_integer_value(amount) == call->amount))) {
		gw_format(call->err, sizeof(call->err), "sandbox: payout answer differs from the request");
		return PAY_EMALFORMED;
	}
	return PAY_OK;
}

static int sb_disburse(struct pay_gateway *g, const struct pay_disburse_req *req, pay_disburse_fn done, void *arg)
{
	char idem[PAY_ID_MAX + 32];
	const char *extra[] = { idem, NULL };
	struct gw_call *call;
	if (!gw_format(idem, sizeof(idem), "Idempotency-Key: %s", req->payout_id))
		return PAY_EINVAL;
	json_t *body = json_pack("{s:s, s:I, s:s, s:s, s:s}", "payout_id", req->payout_id, "amount",
				 (json_int_t)req->amount, "bank_code", req->bank_code, "account_number",
				 req->account_number, "account_name", req->account_name);
	if (!body)
		return PAY_ENOMEM;
	int rc = gw_call_new(GW_DISBURSE, sb_read_payout, &call);
	if (rc != PAY_OK)
		goto free_body;
	call->done.disburse = done;
	call->arg = arg;
	call->amount = req->amount;
	memcpy(call->payment_id, req->payout_id, strlen(req->payout_id) + 1);
	/* The payout id makes a repeat the same payout. */
	rc = gw_send(g, call, "POST", "/v1/payouts", body, extra, true);
free_body:
	json_decref(body);
	return rc;
}

/* A payout notification: signature first, then the fields. */
static int sb_parse_payout(struct pay_gateway *g, json_t *body, struct pay_event *out)
{
	char status[GW_STATUS_MAX + 1];
	bool completed;
	const char *sig = gw_json_peek(body, "signature_key", SB_SIG_LEN);
	const char *parts[3] = {
		gw_json_peek(body, "payout_id", PAY_ID_MAX),
		gw_json_peek(body, "status", GW_STATUS_MAX),
		gw_json_peek(body, "amount", SB_AMOUNT_TEXT_MAX),
	};
	if (!sig)
		return PAY_EFORGED;
	if (!parts[0] || !parts[1] || !parts[2])
		return PAY_EMALFORMED;
	if (!gw_sha512_sig_ok(parts, 3, g->server_key, sig))
		return PAY_EFORGED;
	if (!gw_id_ok(parts[0]) || gw_amount_parse(parts[2], GW_AMOUNT_MAX, &out->amount) != PAY_OK ||
	    out->amount < 1 || !sb_payout_status(parts[1], &completed, &out->payout_failed) ||
	    gw_json_str(body, "id", out->provider_ref, sizeof(out->provider_ref), NULL, 0) != PAY_OK ||
	    !gw_id_ok(out->provider_ref))
		return PAY_EMALFORMED;
	memcpy(status, parts[1], strlen(parts[1]) + 1);
	memcpy(out->payment_id, parts[0], strlen(parts[0]) + 1);
	out->kind = PAY_EVENT_PAYOUT;
	out->state = completed ? PAY_STATE_PAID : out->payout_failed ? PAY_STATE_FAILED : PAY_STATE_PENDING;
	return gw_format(out->event_id, sizeof(out->event_id), "%s:%s", out->provider_ref, status) ? PAY_OK
												  : PAY_EMALFORMED;
}

static int sb_parse_webhook(struct pay_gateway *g, const struct pay_webhook *in, struct pay_event *out)
{
	json_t *body;
	int rc = gw_webhook_json(in, &body);
	if (rc != PAY_OK)
		return rc;
	const char *event = gw_json_peek(body, "event", GW_STATUS_MAX);
	if (event && strcmp(event, "payout") == 0)
		rc = sb_parse_payout(g, body, out);
	else
		rc = midtrans_parse_event(g, body, out);
	json_decref(body);
	return rc;
}

const struct pay_gateway_ops sandbox_ops = {
	.name = "sandbox",
	.default_base_url = "http://127.0.0.1:8081",
	.default_server_key = "SB-Mid-server-bangsoleh-sandbox",
	.needs_callback_token = false,
	.charge = midtrans_charge,
	.status = midtrans_status,
	.cancel = midtrans_cancel,
	.refund = midtrans_refund,
	.disburse = sb_disburse,
	.parse_webhook = sb_parse_webhook,
};
