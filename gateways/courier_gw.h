/*
 * courier_gw: what courier-gateway modules share, private to gateways/. A
 * module fills one struct courier_gateway_ops; courier.c keeps the
 * registry, checks every request before a module sees it, sends requests
 * through the hclient and hands each answer to the module's reader. Fields
 * are read with gateway.h's bounded readers (gw_json_str, gw_json_peek,
 * gw_text_ok, gw_id_ok, gw_secret_equal), shared with the payment modules.
 *
 * Lifetimes: a call in flight owns its struct courier_call and never
 * touches the gateway again, so a gateway may be freed while calls are in
 * flight; their callbacks still run once (COURIER_EUNAVAILABLE when
 * hclient_free cancels them).
 */
#ifndef BANGSOLEH_COURIER_GW_H
#define BANGSOLEH_COURIER_GW_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "courier.h"
#include "gateway.h"

#define COURIER_COURIERS_MAX 128     /* the configured courier codes, comma-separated */
#define COURIER_TARIFF_MAX 1000000000LL /* a local tariff setting, rupiah */
#define COURIER_PRICE_MAX GW_AMOUNT_MAX /* any price a provider reports */
#define COURIER_DISTANCE_MAX_M 50000000LL /* the longest distance two coordinates can be apart, with room */

struct courier_call;

/* The answer a call delivers, by kind. */
union courier_result {
	struct courier_rates_res rates;
	struct courier_ship_res ship;
};

enum courier_call_kind { COURIER_CALL_RATES = 1, COURIER_CALL_SHIP };

/*
 * Reads a provider answer into *out (zeroed, price -1, state 0): the HTTP
 * status is below 500 and not 429; body is the parsed JSON object or NULL
 * when the body is not one. Returns COURIER_OK or COURIER_E* with the
 * reason in call->err.
 */
typedef int (*courier_read_fn)(struct courier_call *call, long http_status, json_t *body,
			       union courier_result *out);

/* One request in flight: made by courier_call_new, freed after done ran. */
struct courier_call {
	enum courier_call_kind kind;
	union {
		courier_rates_fn rates;
		courier_ship_fn ship;
	} done;
	void *arg;
	courier_read_fn read;
	const char *module;                  /* static: the module's name (set by courier_send) */
	char provider_id[COURIER_ID_MAX + 1]; /* the order the answer must name, "" when not known */
	char tracking_id[COURIER_ID_MAX + 1]; /* the tracking the answer must be, "" when not asked by one */
	char reference[COURIER_ID_MAX + 1];   /* our shipment id the answer must name, "" when not known */
	char err[COURIER_TEXT_MAX + 1];       /* error_text of the result */
};

/* A module: its operations (NULL: COURIER_EUNSUPPORTED) and defaults. */
struct courier_gateway_ops {
	const char *name;
	const char *target;                  /* hclient's breaker and metrics name (not the payment sandbox's) */
	bool local;                          /* the city's couriers: no provider, no http */
	const char *default_base_url;        /* NULL: none needed */
	const char *default_api_key;         /* NULL: cfg->api_key is required (unless local) */
	const char *default_webhook_token;   /* NULL: cfg->webhook_token is required (unless local) */
	int (*rates)(struct courier_gateway *g, const struct courier_rates_req *req, courier_rates_fn done,
		     void *arg);
	int (*ship)(struct courier_gateway *g, const struct courier_ship_req *req, courier_ship_fn done, void *arg);
	int (*cancel)(struct courier_gateway *g, const char *provider_id, const char *reason, courier_ship_fn done,
		      void *arg);
	int (*track)(struct courier_gateway *g, const char *provider_id, const char *tracking_id, courier_ship_fn done,
		     void *arg);
	int (*parse_webhook)(struct courier_gateway *g, const struct courier_webhook *in, struct courier_event *out);
};

/* A configured gateway; the secrets are wiped when it is freed. */
struct courier_gateway {
	const struct courier_gateway_ops *ops;
	struct hclient *http;                        /* lent; NULL for local */
	struct event_base *base;                     /* lent; local only */
	char base_url[GW_URL_MAX + 1];               /* no trailing '/' */
	char api_key[GW_SECRET_MAX + 1];
	char webhook_token[GW_SECRET_MAX + 1];
	char couriers[COURIER_COURIERS_MAX + 1];
	long timeout_ms;
	struct courier_gateway_config tariff;        /* local_* only; its strings are NULL */
	char auth_header[GW_SECRET_MAX + 32];        /* "authorization: <api_key>" */
};

extern const struct courier_gateway_ops biteship_ops;
extern const struct courier_gateway_ops courier_sandbox_ops;
extern const struct courier_gateway_ops courier_local_ops;

/* --- calls --------------------------------------------------------------- */

/*
 * A new zeroed call of `kind` read by `read`; the module sets the member
 * of done that matches kind, arg, and what the answer must name. OUT:
 * *out, owned by the caller until courier_send takes it. Returns 0 or
 * COURIER_ENOMEM.
 */
int courier_call_new(enum courier_call_kind kind, courier_read_fn read, struct courier_call **out);

/*
 * Sends METHOD base_url+path with the gateway's `authorization` header,
 * JSON Accept (and Content-Type with a body), the `extra` header lines
 * (NULL-terminated, at most GW_HEADERS_MAX, may be NULL) and `body` (JSON
 * text, borrowed; NULL for none). Takes `call` in every case: on success
 * its done runs later exactly once; on failure it is freed and done never
 * runs. Returns 0, COURIER_EINVAL or COURIER_ENOMEM.
 */
int courier_send(struct courier_gateway *g, struct courier_call *call, const char *method, const char *path,
		 const char *body, const char *const *extra, bool retryable);

/*
 * Member `key` of obj when absent or null ("" in out), or a string of at
 * most cap-1 printable bytes (copied). Returns 0 or COURIER_EMALFORMED
 * (another type, too long, not printable; the reason in err when not NULL).
 */
int courier_json_opt(json_t *obj, const char *key, char *out, size_t cap, char *err, size_t err_cap);

/*
 * A price: member `key` of obj as a JSON integer 0..COURIER_PRICE_MAX, or
 * a string of whole rupiah (gw_amount_parse). OUT: *out. Returns 0 or
 * COURIER_EMALFORMED (absent too).
 */
int courier_json_price(json_t *obj, const char *key, int64_t *out);

#endif
