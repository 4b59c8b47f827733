/*
 * gateway: what payment-gateway modules share, private to gateways/. A
 * module fills one struct pay_gateway_ops; payment.c keeps the registry,
 * checks requests, sends them through the hclient and hands each answer to
 * the module's reader. The helpers below (gw_*) are the only code modules
 * use to build requests and to read provider fields, so every field is
 * bounded and validated the same way everywhere.
 *
 * Lifetimes: a call in flight owns a struct gw_call and never touches the
 * gateway again, so a gateway may be freed while calls are in flight; their
 * callbacks still run once (with PAY_EUNAVAILABLE when hclient_free cancels
 * them).
 */
#ifndef BANGSOLEH_GATEWAY_H
#define BANGSOLEH_GATEWAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "hclient.h"
#include "payment.h"

#define GW_URL_MAX 512            /* base_url and notify_url */
#define GW_SECRET_MAX 256         /* server_key and callback_token */
#define GW_KEY_MAX 128            /* idempotency keys: printable ASCII, no blank */
#define GW_BODY_MAX (64 * 1024)   /* a provider answer or a webhook body */
#define GW_STATUS_MAX 32          /* a provider's status word */
#define GW_AMOUNT_MAX 1000000000000LL /* any amount a provider reports (payouts); QRIS ones are checked tighter */
#define GW_NAME_MAX 100           /* an account holder's name */
#define GW_HEADERS_MAX 8          /* request headers a module adds */

struct pay_gateway;
struct gw_call;

/* The answer a call delivers, by kind. */
union gw_result {
	struct pay_charge_res charge;
	struct pay_status_res status;
	struct pay_disburse_res disburse;
};

enum gw_kind { GW_CHARGE = 1, GW_STATUS, GW_DISBURSE };

/*
 * Reads a provider answer into *out (already zeroed with error = PAY_OK and
 * amount = -1 for statuses): http_status is below 500 and not 429, body is
 * the parsed JSON object (NULL when the body is not one; the reader decides
 * what that means). Returns PAY_OK or PAY_E*, with the reason written to
 * call->err when not OK.
 */
typedef int (*gw_read_fn)(struct gw_call *call, long http_status, json_t *body, union gw_result *out);

/* One request in flight: allocated by gw_call_new, freed after done ran. */
struct gw_call {
	enum gw_kind kind;
	union {
		pay_charge_fn charge;
		pay_status_fn status;
		pay_disburse_fn disburse;
	} done;
	void *arg;
	gw_read_fn read;
	const char *module;                 /* static: the module's name, for logs (set by gw_send) */
	char payment_id[PAY_ID_MAX + 1];    /* the id the answer must name, "" when not known */
	char provider_ref[PAY_ID_MAX + 1];  /* the reference the answer must name, "" when not known */
	int64_t amount;                     /* what a charge, refund or payout asked for */
	char err[PAY_TEXT_MAX + 1];         /* error_text of the result */
};

/* A module: its protocol functions and defaults. */
struct pay_gateway_ops {
	const char *name;
	const char *default_base_url;
	const char *default_server_key;     /* NULL: cfg->server_key is required */
	bool needs_callback_token;          /* webhooks are verified by a token */
	int (*charge)(struct pay_gateway *g, const struct pay_charge_req *req, pay_charge_fn done, void *arg);
	int (*status)(struct pay_gateway *g, const char *payment_id, const char *provider_ref, pay_status_fn done,
		      void *arg);
	/* NULL: PAY_EUNSUPPORTED */
	int (*cancel)(struct pay_gateway *g, const char *payment_id, const char *provider_ref, pay_status_fn done,
		      void *arg);
	int (*refund)(struct pay_gateway *g, const struct pay_refund_req *req, pay_status_fn done, void *arg);
	int (*disburse)(struct pay_gateway *g, const struct pay_disburse_req *req, pay_disburse_fn done, void *arg);
	int (*parse_webhook)(struct pay_gateway *g, const struct pay_webhook *in, struct pay_event *out);
};

/* A configured gateway; the secrets are wiped when it is freed. */
struct pay_gateway {
	const struct pay_gateway_ops *ops;
	struct hclient *http;                         /* lent */
	char base_url[GW_URL_MAX + 1];                /* no trailing '/' */
	char server_key[GW_SECRET_MAX + 1];
	char callback_token[GW_SECRET_MAX + 1];       /* "" when not configured */
	char notify_url[GW_URL_MAX + 1];              /* "" when not configured */
	long timeout_ms;
	/* "Authorization: Basic base64(server_key:)" */
	char auth_header[32 + 4 * ((GW_SECRET_MAX + 3) / 3)];
};

extern const struct pay_gateway_ops midtrans_ops;
extern const struct pay_gateway_ops xendit_ops;
extern const struct pay_gateway_ops sandbox_ops;

/* --- the Midtrans protocol, shared by the midtrans and sandbox modules --- */

int midtrans_charge(struct pay_gateway *g, const struct pay_charge_req *req, pay_charge_fn done, void *arg);
int midtrans_status(struct pay_gateway *g, const char *payment_id, const char *provider_ref, pay_status_fn done,
		    void *arg);
int midtrans_cancel(struct pay_gateway *g, const char *payment_id, const char *provider_ref, pay_status_fn done,
		    void *arg);
int midtrans_refund(struct pay_gateway *g, const struct pay_refund_req *req, pay_status_fn done, void *arg);
int midtrans_parse_webhook(struct pay_gateway *g, const struct pay_webhook *in, struct pay_event *out);
/*
 * A Midtrans notification already parsed (body borrowed): verifies its
 * signature_key, then fills *out. Returns 0, PAY_EFORGED or PAY_EMALFORMED.
 */
int midtrans_parse_event(struct pay_gateway *g, json_t *body, struct pay_event *out);

/* --- calls --------------------------------------------------------------- */

/*
 * A new zeroed call of `kind` read by `read`; the module then sets the
 * member of done that matches kind, arg and what the answer must name.
 * OUT: *out, owned by the caller until gw_send takes it. Returns 0 or
 * PAY_ENOMEM.
 */
int gw_call_new(enum gw_kind kind, gw_read_fn read, struct gw_call **out);

/*
 * Sends METHOD base_url+path with the gateway's Authorization header, JSON
 * Accept/Content-Type, the `extra` header lines (NULL-terminated, at most
 * GW_HEADERS_MAX, may be NULL) and `body` (borrowed; NULL for none). Takes
 * `call` in every case: on success its done runs later exactly once; on
 * failure it is freed and done never runs. Returns 0, PAY_EINVAL or
 * PAY_ENOMEM.
 */
int gw_send(struct pay_gateway *g, struct gw_call *call, const char *method, const char *path, json_t *body,
	    const char *const *extra, bool retryable);

/* --- validation ---------------------------------------------------------- */

/* An id that can go in a URL path as it is: 1..PAY_ID_MAX of [A-Za-z0-9._~-]. */
bool gw_id_ok(const char *s);
/* 1..max bytes of printable ASCII (0x20..0x7e); blanks allowed when `blank`. */
bool gw_text_ok(const char *s, size_t max, bool blank);

/*
 * A rupiah amount as providers write it: digits without a leading zero,
 * optionally ".00" (or ".0"); nothing else, at most `max`. OUT: *out.
 * Returns 0 or PAY_EMALFORMED.
 */
int gw_amount_parse(const char *s, int64_t max, int64_t *out);

/*
 * Member `key` of obj when it is a string of 1..cap-1 printable bytes:
 * copied to out and returns 0. Returns PAY_EMALFORMED (the reason in
 * err, which may be NULL) when absent, of another type, empty, too long or
 * not printable.
 */
int gw_json_str(json_t *obj, const char *key, char *out, size_t cap, char *err, size_t err_cap);
/* Member `key` as a borrowed string of at most `max` printable bytes, or NULL. */
const char *gw_json_peek(json_t *obj, const char *key, size_t max);

/*
 * Checks that qr is a valid dynamic QRIS payload (qris_decode) for exactly
 * `amount`. Returns 0 or PAY_EMALFORMED with the reason in err.
 */
int gw_qr_check(const char *qr, int64_t amount, char *err, size_t err_cap);

/* --- webhooks ------------------------------------------------------------ */

/*
 * Parses a webhook body (at most GW_BODY_MAX bytes, one JSON object,
 * duplicate keys refused). OUT: *out, a new reference. Returns 0 or
 * PAY_EMALFORMED.
 */
int gw_webhook_json(const struct pay_webhook *in, json_t **out);
/* The value of header `name` of a webhook, or NULL. */
const char *gw_webhook_header(const struct pay_webhook *in, const char *name);

/* Equality of two secrets in time that depends on neither's contents. */
bool gw_secret_equal(const char *a, const char *b);
/*
 * True when sig is lowercase hex SHA-512 of the n parts concatenated with
 * the key, compared in constant time. False for a NULL or malformed sig.
 */
bool gw_sha512_sig_ok(const char *const *parts, size_t n, const char *key, const char *sig);

/* snprintf into a bounded buffer; false when it did not fit. */
bool gw_format(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* What the transport made of a provider's answer, before any module reads it. */
enum gw_answer { GW_ANSWER_READ = 0, GW_ANSWER_TOO_BIG, GW_ANSWER_UNAVAILABLE };

/*
 * Sorts out an answer: over the size cap, unavailable (no answer, 5xx,
 * 429: try later) — with the reason written to err as "<module>: ..." — or
 * to be read, with *body the parsed JSON object (NULL when the body is not
 * one; the caller json_decref's it). Shared by the payment and courier
 * modules so both treat a provider's answer alike.
 */
enum gw_answer gw_answer_sort(const struct hclient_response *res, const char *module, char *err, size_t cap,
			      json_t **body);

#endif
