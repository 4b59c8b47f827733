/*
 * payment: the interface of payment providers (QRIS acquirers) and the
 * registry of their modules. A module speaks one provider's protocol over
 * the core's asynchronous HTTP client and posts nothing: the payments
 * module in merchant/ keeps the records, their states and their postings.
 *
 * Modules: "sandbox" (the default: the Midtrans-like protocol of the
 * bangsoleh-sandbox program on loopback, plus its payouts), "midtrans"
 * (Core API /v2, payment_type qris), "xendit" (QR Codes with api-version
 * 2022-07-31). Every call runs on the loop thread, returns at once, and
 * calls back exactly once (never from inside the call) unless it returned
 * an error.
 */
#ifndef BANGSOLEH_PAYMENT_H
#define BANGSOLEH_PAYMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qris.h"

struct hclient;
struct pay_gateway;

#define PAY_OK 0
#define PAY_EINVAL (-1)       /* a bad request or configuration */
#define PAY_ENOMEM (-2)
#define PAY_EUNSUPPORTED (-3) /* the provider has no such operation */
#define PAY_EPROVIDER (-4)    /* the provider answered an error (its text in error_text) */
#define PAY_EUNAVAILABLE (-5) /* timeout, connection failure, 5xx, breaker open: try later */
#define PAY_EFORGED (-6)      /* a webhook whose signature or token does not verify */
#define PAY_EMALFORMED (-7)   /* a webhook or response that does not parse */

#define PAY_ID_MAX 64          /* our payment ids and the provider's references */
#define PAY_EVENT_ID_MAX 160   /* a webhook's identity for deduplication */
#define PAY_TEXT_MAX 256

/* States as providers report them, mapped to ours. */
enum pay_state {
	PAY_STATE_PENDING = 1,
	PAY_STATE_PAID,
	PAY_STATE_EXPIRED,
	PAY_STATE_CANCELLED,
	PAY_STATE_FAILED,
	PAY_STATE_REFUNDED,
	PAY_STATE_PARTIALLY_REFUNDED,
};

/* "pending", "paid", ...; NULL outside the enum. */
const char *pay_state_name(enum pay_state s);

struct pay_gateway_config {
	const char *module;          /* "sandbox", "midtrans", "xendit" */
	const char *base_url;        /* the provider's API, e.g. http://127.0.0.1:8081 */
	const char *server_key;      /* secret: API key (never logged) */
	const char *callback_token;  /* secret: webhook token (xendit) */
	const char *notify_url;      /* where the provider sends webhooks, if it takes it per request */
	long timeout_ms;             /* per attempt; 0: the client's default */
};

/*
 * Creates a gateway of cfg->module. The strings are copied; `http` is lent
 * for the gateway's life. OUT: *out, freed with pay_gateway_free. Returns 0,
 * PAY_EINVAL (unknown module, missing key) or PAY_ENOMEM.
 */
int pay_gateway_new(const struct pay_gateway_config *cfg, struct hclient *http, struct pay_gateway **out);
/* Frees the gateway; calls still in flight are safe and still call back once. NULL is allowed. */
void pay_gateway_free(struct pay_gateway *g);
/* The module's name, also the provider in account names ("gateway:<name>:clearing"). */
const char *pay_gateway_name(const struct pay_gateway *g);

/* --- charges --- */

struct pay_charge_req {
	const char *payment_id;      /* ours: the provider's order_id / reference_id, <= PAY_ID_MAX */
	int64_t amount;              /* whole rupiah, 1..QRIS_AMOUNT_MAX */
	uint32_t expiry_s;           /* how long the QR may be paid */
	const char *idempotency_key; /* sent where the provider takes one; NULL: the payment id */
};

struct pay_charge_res {
	int error;                   /* PAY_OK or PAY_E* */
	char provider_ref[PAY_ID_MAX + 1];
	char qr_string[QRIS_PAYLOAD_MAX + 1];   /* a dynamic QRIS payload */
	enum pay_state state;
	const char *error_text;      /* never NULL; lent for the call */
};

typedef void (*pay_charge_fn)(const struct pay_charge_res *res, void *arg);

/* Creates a dynamic QRIS charge. The request is copied. */
int pay_charge(struct pay_gateway *g, const struct pay_charge_req *req, pay_charge_fn done, void *arg);

/* --- status, cancel, refund --- */

struct pay_status_res {
	int error;
	enum pay_state state;
	int64_t amount;              /* what the provider says was paid, -1 when it does not say */
	int64_t refunded;            /* refunded so far in all, 0 when none or not told */
	char provider_ref[PAY_ID_MAX + 1];
	const char *error_text;
};

typedef void (*pay_status_fn)(const struct pay_status_res *res, void *arg);

/* The provider's view of a payment (by our id or the provider's reference; xendit needs the reference). */
int pay_status(struct pay_gateway *g, const char *payment_id, const char *provider_ref, pay_status_fn done,
	       void *arg);
/* Cancels a pending charge (its QR can no longer be paid). */
int pay_cancel(struct pay_gateway *g, const char *payment_id, const char *provider_ref, pay_status_fn done,
	       void *arg);

struct pay_refund_req {
	const char *payment_id;
	const char *provider_ref;
	int64_t amount;              /* rupiah, > 0; partial when below what was paid */
	const char *refund_key;      /* idempotency: the same key is the same refund, <= PAY_ID_MAX */
	const char *reason;          /* may be NULL */
};

/* Refunds (fully or partly) a paid charge; done gets the state after it. */
int pay_refund(struct pay_gateway *g, const struct pay_refund_req *req, pay_status_fn done, void *arg);

/* --- payouts --- */

struct pay_disburse_req {
	const char *payout_id;       /* ours, also the idempotency key */
	int64_t amount;
	const char *bank_code;       /* e.g. "BRI", "BNI", "MANDIRI" */
	const char *account_number;
	const char *account_name;
};

struct pay_disburse_res {
	int error;
	bool completed;              /* money sent (false: still processing, a webhook follows) */
	bool failed;                 /* the provider refused it for good */
	char provider_ref[PAY_ID_MAX + 1];
	const char *error_text;
};

typedef void (*pay_disburse_fn)(const struct pay_disburse_res *res, void *arg);

/* Sends money to a bank account; PAY_EUNSUPPORTED where the module has no payouts. */
int pay_disburse(struct pay_gateway *g, const struct pay_disburse_req *req, pay_disburse_fn done, void *arg);

/* --- webhooks --- */

/* A webhook as received: raw body and a header lookup (names case-insensitive). */
struct pay_webhook {
	const char *body;
	size_t body_len;
	const char *(*header)(const char *name, void *ctx);
	void *header_ctx;
};

enum pay_event_kind { PAY_EVENT_PAYMENT = 1, PAY_EVENT_PAYOUT };

struct pay_event {
	enum pay_event_kind kind;
	char payment_id[PAY_ID_MAX + 1];     /* ours (order_id / reference_id / external_id) */
	char provider_ref[PAY_ID_MAX + 1];
	/* What makes this notification unique: the provider's event or transaction id and the status. */
	char event_id[PAY_EVENT_ID_MAX + 1];
	enum pay_state state;
	int64_t amount;                      /* rupiah the event reports, -1 when absent */
	int64_t refunded;                    /* for refund events: the refunded total, else 0 */
	bool payout_failed;                  /* PAY_EVENT_PAYOUT: true when the payout failed */
};

/*
 * Verifies (signature or token, in constant time) and parses a webhook
 * synchronously. Returns 0 with *out filled, PAY_EFORGED (answer 401,
 * record nothing), PAY_EMALFORMED (400) or PAY_EINVAL (NULL arguments).
 */
int pay_parse_webhook(struct pay_gateway *g, const struct pay_webhook *in, struct pay_event *out);

#endif
