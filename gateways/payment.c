/*
 * payment: the registry of payment-gateway modules, the checks every
 * request passes before a module sees it, and the helpers modules share
 * (gateway.h): sending through the hclient, reading answers, bounded field
 * access, amount parsing, QR checks and constant-time webhook checks.
 */
#include "payment.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "gateway.h"
#include "log.h"
#include "qris.h"

#define GW_EXPIRY_MAX (7u * 24u * 3600u)  /* a QR open longer than a week is a mistake */
#define GW_BANK_CODE_MAX 16               /* "BRI", "MANDIRI", "BCA_SYR" ... */
#define GW_ACCOUNT_NUMBER_MAX 34          /* the longest IBAN-like account numbers */
#define GW_SIG_INPUT_MAX 1024             /* signed parts + key */

static const struct pay_gateway_ops *const gw_modules[] = { &sandbox_ops, &midtrans_ops, &xendit_ops };

const char *pay_state_name(enum pay_state s)
{
	switch (s) {
	case PAY_STATE_PENDING: return "pending";
	case PAY_STATE_PAID: return "paid";
	case PAY_STATE_EXPIRED: return "expired";
	case PAY_STATE_CANCELLED: return "cancelled";
	case PAY_STATE_FAILED: return "failed";
	case PAY_STATE_REFUNDED: return "refunded";
	case PAY_STATE_PARTIALLY_REFUNDED: return "partially_refunded";
	}
	return NULL;
}

/* --- small helpers ------------------------------------------------------- */

bool gw_format(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, cap, fmt, ap);
	va_end(ap);
	return n >= 0 && (size_t)n < cap;
}

bool gw_text_ok(const char *s, size_t max, bool blank)
{
	if (!s)
		return false;
	size_t n = strnlen(s, max + 1);
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c > 0x7e || c < 0x20 || (c == ' ' && !blank))
			return false;
	}
	return true;
}

bool gw_id_ok(const char *s)
{
	if (!gw_text_ok(s, PAY_ID_MAX, false))
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '_' || *s == '.' || *s == '~'))
			return false;
	return true;
}

int gw_amount_parse(const char *s, int64_t max, int64_t *out)
{
	int64_t v = 0;
	size_t i = 0;
	if (!s || (s[0] == '0' && s[1] >= '0' && s[1] <= '9'))
		return PAY_EMALFORMED;
	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		v = v * 10 + (s[i] - '0');
		if (v > max)   /* max <= GW_AMOUNT_MAX, so v * 10 + 9 never overflows */
			return PAY_EMALFORMED;
	}
	if (i == 0)
		return PAY_EMALFORMED;
	if (s[i] == '.') {
		/* Rupiah have no subunit in practice: only a zero fraction is an amount. */
		if (!(s[i + 1] == '0' && (s[i + 2] == '\0' || (s[i + 2] == '0' && s[i + 3] == '\0'))))
			return PAY_EMALFORMED;
	} else if (s[i] != '\0') {
		return PAY_EMALFORMED;
	}
	*out = v;
	return PAY_OK;
}

const char *gw_json_peek(json_t *obj, const char *key, size_t max)
{
	json_t *v = json_object_get(obj, key);
	if (!json_is_string(v))
		return NULL;
	const char *s = json_string_value(v);
	/* An embedded NUL would make the C string differ from the JSON one. */
	if (strlen(s) != json_string_length(v) || !gw_text_ok(s, max, true))
		return NULL;
	return s;
}

int gw_json_str(json_t *obj, const char *key, char *out, size_t cap, char *err, size_t err_cap)
{
	const char *s = gw_json_peek(obj, key, cap - 1);
	if (!s) {
		if (err)
			gw_format(err, err_cap, "field %s is missing or not a short printable string", key);
		return PAY_EMALFORMED;
	}
	memcpy(out, s, strlen(s) + 1);
	return PAY_OK;
}

int gw_qr_check(const char *qr, int64_t amount, char *err, size_t err_cap)
{
	struct qris q;
	struct qris_error qe;
	size_t len = strnlen(qr, QRIS_PAYLOAD_MAX + 1);
	if (len > QRIS_PAYLOAD_MAX) {
		gw_format(err, err_cap, "qr_string longer than %d", QRIS_PAYLOAD_MAX);
		return PAY_EMALFORMED;
	}
	if (qris_decode(qr, len, &q, &qe) != QRIS_OK) {
		gw_format(err, err_cap, "qr_string is not valid QRIS (tag %.8s: %.160s)", qe.tag, qe.rule);
		return PAY_EMALFORMED;
	}
	if (!q.dynamic || q.amount != amount) {
		gw_format(err, err_cap, "qr_string is not a dynamic QRIS for %lld", (long long)amount);
		return PAY_EMALFORMED;
	}
	return PAY_OK;
}

/* --- webhooks ------------------------------------------------------------ */

int gw_webhook_json(const struct pay_webhook *in, json_t **out)
{
	json_error_t jerr;
	if (!in->body || in->body_len > GW_BODY_MAX)
		return PAY_EMALFORMED;
	json_t *j = json_loadb(in->body, in->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(j)) {
		json_decref(j);
		return PAY_EMALFORMED;
	}
	*out = j;
	return PAY_OK;
}

const char *gw_webhook_header(const struct pay_webhook *in, const char *name)
{
	return in->header ? in->header(name, in->header_ctx) : NULL;
}

bool gw_secret_equal(const char *a, const char *b)
{
	uint8_t ha[CRYPTO_SHA256_LEN];
	uint8_t hb[CRYPTO_SHA256_LEN];
	if (!a || !b)
		return false;
	/* Comparing digests hides the lengths as well as the contents. */
	if (crypto_sha256(a, strlen(a), ha) != CRYPTO_OK || crypto_sha256(b, strlen(b), hb) != CRYPTO_OK)
		return false;
	return crypto_equal(ha, hb, sizeof(ha));
}

bool gw_sha512_sig_ok(const char *const *parts, size_t n, const char *key, const char *sig)
{
	char buf[GW_SIG_INPUT_MAX];
	uint8_t md[CRYPTO_SHA512_LEN];
	char hex[2 * CRYPTO_SHA512_LEN + 1];
	size_t len = 0;
	bool ok = false;
	if (!sig || strnlen(sig, sizeof(hex)) != 2 * CRYPTO_SHA512_LEN)
		return false;
	for (size_t i = 0; i <= n; i++) {
		const char *p = i < n ? parts[i] : key;
		size_t plen = strlen(p);
		if (plen > sizeof(buf) - len)
			goto wipe;
		memcpy(buf + len, p, plen);
		len += plen;
	}
	if (crypto_sha512(buf, len, md) != CRYPTO_OK ||
	    crypto_hex_encode(md, sizeof(md), hex, sizeof(hex)) != CRYPTO_OK)
		goto wipe;
	ok = crypto_equal(hex, sig, 2 * CRYPTO_SHA512_LEN);
wipe:
	explicit_bzero(buf, sizeof(buf));   /* it holds the server key */
	return ok;
}

/* --- calls --------------------------------------------------------------- */

int gw_call_new(enum gw_kind kind, gw_read_fn read, struct gw_call **out)
{
	struct gw_call *c = calloc(1, sizeof(*c));
	if (!c)
		return PAY_ENOMEM;
	c->kind = kind;
	c->read = read;
	*out = c;
	return PAY_OK;
}

/* Delivers the outcome of a call to its done callback. */
static void gw_deliver(struct gw_call *call, int error, union gw_result *res)
{
	const char *text = error == PAY_OK ? "" : call->err;
	switch (call->kind) {
	case GW_CHARGE:
		res->charge.error = error;
		res->charge.error_text = text;
		call->done.charge(&res->charge, call->arg);
		break;
	case GW_STATUS:
		res->status.error = error;
		res->status.error_text = text;
		call->done.status(&res->status, call->arg);
		break;
	case GW_DISBURSE:
		res->disburse.error = error;
		res->disburse.error_text = text;
		call->done.disburse(&res->disburse, call->arg);
		break;
	}
}

enum gw_answer gw_answer_sort(const struct hclient_response *res, const char *module, char *err, size_t cap,
			      json_t **body)
{
	json_error_t jerr;
	*body = NULL;
	if (res->error == HCLIENT_ETOOBIG) {
		gw_format(err, cap, "%s: answer over %d bytes", module, GW_BODY_MAX);
		return GW_ANSWER_TOO_BIG;
	}
	if (res->error != HCLIENT_OK) {
		gw_format(err, cap, "%s: %.200s", module, res->error_text);
		return GW_ANSWER_UNAVAILABLE;
	}
	if (res->status >= 500 || res->status == 429) {
		gw_format(err, cap, "%s: HTTP %ld", module, res->status);
		return GW_ANSWER_UNAVAILABLE;
	}
	*body = json_loadb(res->body, res->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(*body)) {
		json_decref(*body);
		*body = NULL;
	}
	return GW_ANSWER_READ;
}

/* hclient done: transport outcome first, then the module's reader. */
static void gw_on_response(const struct hclient_response *res, void *arg)
{
	struct gw_call *call = arg;
	union gw_result out;
	json_t *body;
	int error;
	memset(&out, 0, sizeof(out));
	if (call->kind == GW_STATUS)
		out.status.amount = -1;
	switch (gw_answer_sort(res, call->module, call->err, sizeof(call->err), &body)) {
	case GW_ANSWER_TOO_BIG:
		error = PAY_EMALFORMED;
		break;
	case GW_ANSWER_UNAVAILABLE:
		error = PAY_EUNAVAILABLE;
		break;
	default:
		error = call->read(call, res->status, body, &out);
		if (error == PAY_EMALFORMED)
			log_msg(LOG_WARN, "payment", "%s: unusable answer (HTTP %ld): %s", call->module, res->status,
				call->err);
		break;
	}
	gw_deliver(call, error, &out);
	json_decref(body);
	free(call);
}

int gw_send(struct pay_gateway *g, struct gw_call *call, const char *method, const char *path, json_t *body,
	    const char *const *extra, bool retryable)
{
	char url[GW_URL_MAX + 2 * PAY_ID_MAX + 32];
	const char *headers[GW_HEADERS_MAX + 4];
	size_t nh = 0;
	char *text = NULL;
	struct hclient_request req = {
		.target = g->ops->name,
		.method = method,
		.url = url,
		.headers = headers,
		.total_timeout_ms = g->timeout_ms,
		.max_response = GW_BODY_MAX,
		.retryable = retryable,
	};
	int rc = PAY_EINVAL;
	call->module = g->ops->name;
	if (!gw_format(url, sizeof(url), "%s%s", g->base_url, path))
		goto free_call;
	headers[nh++] = "Accept: application/json";
	headers[nh++] = g->auth_header;
	if (body)
		headers[nh++] = "Content-Type: application/json";
	for (size_t i = 0; extra && extra[i]; i++) {
		if (i == GW_HEADERS_MAX)
			goto free_call;
		headers[nh++] = extra[i];
	}
	headers[nh] = NULL;
	if (body) {
		rc = PAY_ENOMEM;
		text = json_dumps(body, JSON_COMPACT);
		if (!text)
			goto free_call;
	}
	req.body = text;
	req.body_len = text ? strlen(text) : 0;
	int hrc = hclient_send(g->http, &req, gw_on_response, call);
	free(text);
	if (hrc == HCLIENT_OK)
		return PAY_OK;
	rc = hrc == HCLIENT_ENOMEM ? PAY_ENOMEM : PAY_EINVAL;
free_call:
	free(call);
	return rc;
}

/* --- gateways ------------------------------------------------------------ */

/* Copies an optional setting that must be printable without blanks. */
static bool gw_copy_setting(char *out, size_t cap, const char *in)
{
	if (!in || !in[0]) {
		out[0] = '\0';
		return true;
	}
	if (!gw_text_ok(in, cap - 1, false))
		return false;
	memcpy(out, in, strlen(in) + 1);
	return true;
}

/* "Authorization: Basic base64(key:)"; the plain copy is wiped. */
static int gw_make_auth(struct pay_gateway *g)
{
	char plain[GW_SECRET_MAX + 2];
	char b64[4 * ((GW_SECRET_MAX + 3) / 3) + 1];
	int rc = PAY_EINVAL;
	size_t n = strlen(g->server_key);
	memcpy(plain, g->server_key, n);
	plain[n] = ':';
	if (crypto_base64_encode(plain, n + 1, false, b64, sizeof(b64)) != CRYPTO_OK)
		goto wipe;
	if (gw_format(g->auth_header, sizeof(g->auth_header), "Authorization: Basic %s", b64))
		rc = PAY_OK;
wipe:
	explicit_bzero(plain, sizeof(plain));
	explicit_bzero(b64, sizeof(b64));
	return rc;
}

int pay_gateway_new(const struct pay_gateway_config *cfg, struct hclient *http, struct pay_gateway **out)
{
	const struct pay_gateway_ops *ops = NULL;
	int rc = PAY_EINVAL;
	if (!cfg || !cfg->module || !http || !out || cfg->timeout_ms < 0)
		return PAY_EINVAL;
	for (size_t i = 0; i < sizeof(gw_modules) / sizeof(gw_modules[0]); i++)
		if (strcmp(gw_modules[i]->name, cfg->module) == 0)
			ops = gw_modules[i];
	if (!ops)
		return PAY_EINVAL;
	struct pay_gateway *g = calloc(1, sizeof(*g));
	if (!g)
		return PAY_ENOMEM;
	g->ops = ops;
	g->http = http;
	g->timeout_ms = cfg->timeout_ms;
	const char *base = cfg->base_url && cfg->base_url[0] ? cfg->base_url : ops->default_base_url;
	const char *key = cfg->server_key && cfg->server_key[0] ? cfg->server_key : ops->default_server_key;
	if (!gw_copy_setting(g->base_url, sizeof(g->base_url), base) || !g->base_url[0] ||
	    (strncmp(g->base_url, "http://", 7) != 0 && strncmp(g->base_url, "https://", 8) != 0))
		goto free_gateway;
	size_t blen = strlen(g->base_url);
	while (blen > 0 && g->base_url[blen - 1] == '/')
		g->base_url[--blen] = '\0';
	if (!gw_copy_setting(g->server_key, sizeof(g->server_key), key) || !g->server_key[0] ||
	    !gw_copy_setting(g->callback_token, sizeof(g->callback_token), cfg->callback_token) ||
	    (ops->needs_callback_token && !g->callback_token[0]) ||
	    !gw_copy_setting(g->notify_url, sizeof(g->notify_url), cfg->notify_url))
		goto free_gateway;
	rc = gw_make_auth(g);
	if (rc != PAY_OK)
		goto free_gateway;
	*out = g;
	return PAY_OK;
free_gateway:
	pay_gateway_free(g);
	return rc;
}

void pay_gateway_free(struct pay_gateway *g)
{
	if (!g)
		return;
	explicit_bzero(g, sizeof(*g));
	free(g);
}

const char *pay_gateway_name(const struct pay_gateway *g)
{
	return g ? g->ops->name : NULL;
}

/* --- dispatch: requests are checked here, once for every module ---------- */

int pay_charge(struct pay_gateway *g, const struct pay_charge_req *req, pay_charge_fn done, void *arg)
{
	if (!g || !req || !done || !gw_id_ok(req->payment_id) || req->amount < 1 ||
	    req->amount > QRIS_AMOUNT_MAX || req->expiry_s < 1 || req->expiry_s > GW_EXPIRY_MAX ||
	    (req->idempotency_key && !gw_text_ok(req->idempotency_key, GW_KEY_MAX, false)))
		return PAY_EINVAL;
	return g->ops->charge(g, req, done, arg);
}

/* Either id may be absent, not both; present ones must be path-safe. */
static bool gw_ids_ok(const char *payment_id, const char *provider_ref)
{
	return (payment_id || provider_ref) && (!payment_id || gw_id_ok(payment_id)) &&
	       (!provider_ref || gw_id_ok(provider_ref));
}

int pay_status(struct pay_gateway *g, const char *payment_id, const char *provider_ref, pay_status_fn done,
	       void *arg)
{
	if (!g || !done || !gw_ids_ok(payment_id, provider_ref))
		return PAY_EINVAL;
	return g->ops->status(g, payment_id, provider_ref, done, arg);
}

int pay_cancel(struct pay_gateway *g, const char *payment_id, const char *provider_ref, pay_status_fn done,
	       void *arg)
{
	if (!g)
		return PAY_EINVAL;
	if (!g->ops->cancel)
		return PAY_EUNSUPPORTED;
	if (!done || !gw_ids_ok(payment_id, provider_ref))
		return PAY_EINVAL;
	return g->ops->cancel(g, payment_id, provider_ref, done, arg);
}

int pay_refund(struct pay_gateway *g, const struct pay_refund_req *req, pay_status_fn done, void *arg)
{
	if (!g)
		return PAY_EINVAL;
	if (!g->ops->refund)
		return PAY_EUNSUPPORTED;
	if (!req || !done || !gw_ids_ok(req->payment_id, req->provider_ref) || req->amount < 1 ||
	    req->amount > QRIS_AMOUNT_MAX || !gw_text_ok(req->refund_key, PAY_ID_MAX, false) ||
	    (req->reason && !gw_text_ok(req->reason, PAY_TEXT_MAX, true)))
		return PAY_EINVAL;
	return g->ops->refund(g, req, done, arg);
}

/* Bank codes are upper-case letters, digits and '_'. */
static bool gw_bank_code_ok(const char *s)
{
	if (!gw_text_ok(s, GW_BANK_CODE_MAX, false))
		return false;
	for (; *s; s++)
		if (!((*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_'))
			return false;
	return true;
}

static bool gw_digits_ok(const char *s, size_t max)
{
	if (!gw_text_ok(s, max, false))
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

int pay_disburse(struct pay_gateway *g, const struct pay_disburse_req *req, pay_disburse_fn done, void *arg)
{
	if (!g)
		return PAY_EINVAL;
	if (!g->ops->disburse)
		return PAY_EUNSUPPORTED;
	if (!req || !done || !gw_id_ok(req->payout_id) || req->amount < 1 || req->amount > GW_AMOUNT_MAX ||
	    !gw_bank_code_ok(req->bank_code) || !gw_digits_ok(req->account_number, GW_ACCOUNT_NUMBER_MAX) ||
	    !gw_text_ok(req->account_name, GW_NAME_MAX, true))
		return PAY_EINVAL;
	return g->ops->disburse(g, req, done, arg);
}

int pay_parse_webhook(struct pay_gateway *g, const struct pay_webhook *in, struct pay_event *out)
{
	if (!g || !in || !out)
		return PAY_EINVAL;
	memset(out, 0, sizeof(*out));
	out->amount = -1;
	int rc = g->ops->parse_webhook(g, in, out);
	if (rc != PAY_OK) {
		memset(out, 0, sizeof(*out));
		out->amount = -1;
	}
	return rc;
}
