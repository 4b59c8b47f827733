/*
 * provider: the bangsoleh-sandbox payment provider, everything but the
 * command line. It answers on an evhttp server it is given:
 *   - a Midtrans-like Core API (/v2/charge, status, cancel, expire, refund),
 *   - Xendit-like QR Codes v2 (/qr_codes, api-version 2022-07-31),
 *   - its own payouts (/v1/payouts),
 *   - a Biteship-like courier API (/v1/rates/couriers, /v1/orders,
 *     /v1/trackings) whose shipments walk through statuses by themselves,
 *   - test controls (/simulate/..., an HTML page at /),
 * keeps every charge and payout in memory (bounded), sends signed
 * notifications with retries through core/hclient, and injects faults on
 * request. docs/sandbox.md describes every endpoint, shape and fault.
 *
 * One provider per event_base; everything runs on that loop's thread.
 */
#ifndef BANGSOLEH_SANDBOX_PROVIDER_H
#define BANGSOLEH_SANDBOX_PROVIDER_H

struct event_base;
struct evhttp;
struct sandbox;

#define SANDBOX_OK 0
#define SANDBOX_EINVAL (-1)   /* a missing or malformed setting */
#define SANDBOX_ENOMEM (-2)
#define SANDBOX_EQRIS (-3)    /* the built-in static QRIS does not convert */

#define SANDBOX_URL_MAX 1024      /* notification URLs and the public base URL */
#define SANDBOX_SECRET_MAX 256    /* server key, callback token */

struct sandbox_config {
	const char *base_url;        /* how callers reach us, e.g. "http://127.0.0.1:8081" (in actions[].url) */
	const char *notify_midtrans; /* default Midtrans notification URL; payout notifications go here too */
	const char *notify_xendit;   /* Xendit webhook URL */
	const char *server_key;      /* Basic-auth user of every API call; Midtrans signature key */
	const char *callback_token;  /* Xendit x-callback-token */
	const char *notify_biteship; /* courier webhook URL (its ?token= is the receiver's check) */
	const char *biteship_key;    /* the raw `authorization` of the Biteship-like API */
	long ship_step_ms;           /* a shipment's automatic step; 0: only /simulate/shipment moves it */
};

/*
 * Creates the provider and makes it the generic callback of `http` (which
 * must stay alive until sandbox_free). The strings in cfg are copied.
 * OUT: *out. Returns 0 or SANDBOX_E*.
 */
int sandbox_new(struct event_base *base, struct evhttp *http, const struct sandbox_config *cfg,
		struct sandbox **out);

/*
 * Answers requests held by the timeout fault, cancels notifications in
 * flight, and frees everything. Call before evhttp_free and
 * event_base_free. NULL is allowed.
 */
void sandbox_free(struct sandbox *sb);

#endif
