/*
 * config: every setting of the server, with its type, bounds and default.
 *
 * Sources, highest first: command-line flags, BANGSOLEH_* environment
 * variables (key upper-cased, '.' -> '_': http.max_body ->
 * BANGSOLEH_HTTP_MAX_BODY), the config file (`key = value` lines, `#`
 * comments), the embedded defaults. Any invalid value is an error that names
 * the setting and where it came from; the program exits 2 on it.
 */
#ifndef BANGSOLEH_CONFIG_H
#define BANGSOLEH_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_PATH_MAX 1024
#define CONFIG_HOST_MAX 256
#define CONFIG_ERR_MAX 512
#define CONFIG_FILE_MAX (256 * 1024)
#define CONFIG_LINE_MAX 4096
#define CONFIG_URL_MAX 256
#define CONFIG_SECRET_MAX 128
#define CONFIG_COURIERS_MAX 129

#define CONFIG_OK 0
#define CONFIG_EINVAL (-1)   /* a value, key or flag is wrong; the message says which */
#define CONFIG_EIO (-2)      /* the config file cannot be read */

struct config {
	char listen_host[CONFIG_HOST_MAX];
	uint16_t listen_port;
	char data_dir[CONFIG_PATH_MAX];
	char config_file[CONFIG_PATH_MAX];
	char log_level[16];
	char web_root[CONFIG_PATH_MAX];  /* empty: found next to the binary (core/static.h) */

	int64_t http_max_body;        /* bytes */
	int64_t http_max_headers;     /* bytes */
	int64_t http_timeout;         /* seconds, read and write idle */
	int64_t http_shutdown_grace;  /* seconds to finish in-flight requests */

	int64_t store_map_size;       /* bytes */
	int64_t store_map_max;        /* bytes */
	int64_t store_queue_max;      /* jobs */
	int64_t store_batch_max;      /* jobs per commit */

	int64_t workers;              /* CPU pool threads (password hashing) */
	int64_t audit_workers;        /* threads of the auditors' long reads */
	int64_t work_queue_max;

	int64_t auth_token_ttl;       /* seconds */
	int64_t audit_checkpoint_interval; /* seconds between signed tree heads */
	int64_t audit_refund_ratio_bps;   /* a store's refunds over its payments above this is a finding */
	int64_t auth_password_cost;   /* scrypt log2(N) */
	int64_t auth_login_window;    /* seconds */
	int64_t auth_login_max_account;
	int64_t auth_login_max_address;

	char payment_gateway[16];         /* sandbox, midtrans, xendit */
	char payment_base_url[CONFIG_URL_MAX];
	char payment_server_key[CONFIG_SECRET_MAX];
	char payment_callback_token[CONFIG_SECRET_MAX];
	char payment_notify_url[CONFIG_URL_MAX];
	int64_t payment_expiry;           /* seconds a QR may be paid */
	int64_t payment_reconcile_after;  /* seconds before a pending payment is polled */
	int64_t payment_reconcile_max;    /* longest wait between polls */
	int64_t payout_min_amount;        /* rupiah: the smallest payout */

	int64_t order_confirm_within;     /* seconds to confirm a paid order */
	int64_t order_complete_after;     /* seconds after delivery before completion */
	int64_t order_commission_bps;     /* platform commission on goods */
	int64_t test_clock_control;       /* 1: the test clock endpoint is on */

	char courier_gateway[16];         /* sandbox, biteship, local */
	char courier_base_url[CONFIG_URL_MAX];
	char courier_api_key[CONFIG_SECRET_MAX];
	char courier_webhook_token[CONFIG_SECRET_MAX];
	char courier_couriers[CONFIG_COURIERS_MAX]; /* courier codes quoted, comma-separated */
	int64_t courier_local_flat;       /* rupiah: the city's tariff ... */
	int64_t courier_local_per_km;     /* ... per started km beyond the first */
	int64_t courier_local_per_kg;     /* ... per started kg beyond the first */

	int64_t outbound_connect_timeout_ms;
	int64_t outbound_timeout_ms;
	int64_t outbound_max_response;
	int64_t outbound_max_attempts;
	int64_t outbound_breaker_threshold;
	int64_t outbound_breaker_cooldown_ms;
};

/* Fills cfg with the embedded defaults. */
void config_defaults(struct config *cfg);

/*
 * Loads the configuration of `bangsoleh serve`: defaults, then the file
 * (--config FILE or BANGSOLEH_CONFIG), then `envp` (a NULL-terminated
 * environ-style array, borrowed), then the flags argv[0..argc) (--listen
 * HOST:PORT, --data DIR, --config FILE, --set KEY=VALUE; both `--flag v`
 * and `--flag=v`). On error returns CONFIG_EINVAL or CONFIG_EIO and writes
 * a message naming the setting into err (cap CONFIG_ERR_MAX is enough).
 */
int config_load(struct config *cfg, int argc, char *const *argv, char *const *envp,
		char *err, size_t errlen);

/*
 * Sets one setting by key from text, as the file and environment do.
 * `source` names where the value came from, for the message.
 */
int config_set(struct config *cfg, const char *key, const char *value, const char *source,
	       char *err, size_t errlen);

/*
 * Writes each setting as "key = value\n" into buf (secrets shown as
 * "(set)"), for `bangsoleh help` and the start-up log. Returns the length
 * that would be written, as snprintf.
 */
size_t config_describe(const struct config *cfg, char *buf, size_t cap);

/* Each setting's key, environment name, default and one-line help, for `bangsoleh help`. */
size_t config_help(char *buf, size_t cap);

#endif
