#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"

enum config_type {
	CONFIG_INT,     /* plain integer */
	CONFIG_SIZE,    /* bytes, with optional K, M, G (binary) suffix */
	CONFIG_STRING,
	CONFIG_LISTEN,  /* HOST:PORT */
	CONFIG_LEVEL,   /* log level name */
	CONFIG_URL,     /* empty, or http:// or https:// and printable */
};

struct config_setting {
	const char *key;
	enum config_type type;
	size_t offset;
	size_t size;      /* string buffer size */
	int64_t min, max; /* numbers */
	const char *def;
	const char *help;
	bool secret;
};

#define KIB ((int64_t)1024)
#define MIB (KIB * 1024)
#define GIB (MIB * 1024)
#define NUM(k, t, field, lo, hi, d, h) \
	{ k, t, offsetof(struct config, field), 0, lo, hi, d, h, false }
#define STR(k, t, field, d, h) \
	{ k, t, offsetof(struct config, field), sizeof(((struct config *)0)->field), 0, 0, d, h, false }
#define SECRET(k, field, d, h) \
	{ k, CONFIG_STRING, offsetof(struct config, field), sizeof(((struct config *)0)->field), 0, 0, d, h, true }

static const struct config_setting config_settings[] = {
	{ "listen", CONFIG_LISTEN, 0, 0, 0, 0, "127.0.0.1:8080", "address and port to listen on", false },
	STR("data", CONFIG_STRING, data_dir, "./var", "data folder (LMDB environment)"),
	STR("log.level", CONFIG_LEVEL, log_level, "info", "debug, info, warn or error"),
	STR("web.root", CONFIG_STRING, web_root, "", "folder of the web front end served at / (empty: the source tree's web/ for a binary in its build folder, else the installed share/bangsoleh/web)"),
	NUM("http.max_body", CONFIG_SIZE, http_max_body, KIB, 64 * MIB, "1M", "largest request body; 413 beyond"),
	NUM("http.max_headers", CONFIG_SIZE, http_max_headers, KIB, MIB, "8K", "largest request header block"),
	NUM("http.timeout", CONFIG_INT, http_timeout, 1, 3600, "30", "seconds a connection may stay idle while reading or writing"),
	NUM("http.shutdown_grace", CONFIG_INT, http_shutdown_grace, 0, 300, "10", "seconds to finish in-flight requests on SIGTERM"),
	NUM("store.map_size", CONFIG_SIZE, store_map_size, MIB, 1024 * GIB, "1G", "initial LMDB map size"),
	NUM("store.map_max", CONFIG_SIZE, store_map_max, MIB, 1024 * GIB, "64G", "largest the map may grow to"),
	NUM("store.queue_max", CONFIG_INT, store_queue_max, 1, 1000000, "4096", "write jobs queued before 503"),
	NUM("store.batch_max", CONFIG_INT, store_batch_max, 1, 65536, "1024", "write jobs per commit"),
	NUM("workers", CONFIG_INT, workers, 1, 64, "2", "threads for CPU-heavy work (password hashing)"),
	NUM("audit.workers", CONFIG_INT, audit_workers, 1, 16, "1", "threads for the auditors' long reads (statements, trial balances, reports, findings, exports), apart from sign-ins"),
	NUM("work.queue_max", CONFIG_INT, work_queue_max, 1, 100000, "256", "CPU jobs queued before 503"),
	NUM("auth.token_ttl", CONFIG_INT, auth_token_ttl, 60, 31536000, "86400", "seconds a login token stays valid"),
	NUM("auth.password_cost", CONFIG_INT, auth_password_cost, 10, 20, "15", "scrypt cost, log2(N)"),
	NUM("auth.login_window", CONFIG_INT, auth_login_window, 1, 86400, "300", "seconds over which login attempts are counted"),
	NUM("auth.login_max_account", CONFIG_INT, auth_login_max_account, 1, 10000, "5", "failed logins per account per window before 429"),
	NUM("auth.login_max_address", CONFIG_INT, auth_login_max_address, 1, 100000, "20", "login attempts per client address per window before 429"),
	STR("payment.gateway", CONFIG_STRING, payment_gateway, "sandbox", "payment provider module: sandbox, midtrans or xendit"),
	STR("payment.base_url", CONFIG_URL, payment_base_url, "http://127.0.0.1:8081", "the provider's API"),
	SECRET("payment.server_key", payment_server_key, "SB-Mid-server-bangsoleh-sandbox", "the provider's secret API key"),
	SECRET("payment.callback_token", payment_callback_token, "sandbox-callback-token", "the provider's webhook token (xendit)"),
	STR("payment.notify_url", CONFIG_URL, payment_notify_url, "", "webhook URL sent with each charge (empty: the provider's own setting)"),
	NUM("payment.expiry", CONFIG_INT, payment_expiry, 5, 86400, "900", "seconds a payment's QR may be paid"),
	NUM("payment.reconcile_after", CONFIG_INT, payment_reconcile_after, 1, 86400, "60", "seconds before a pending payment is polled at the provider"),
	NUM("payment.reconcile_max", CONFIG_INT, payment_reconcile_max, 1, 86400, "600", "longest wait between polls of one payment"),
	NUM("payout.min_amount", CONFIG_INT, payout_min_amount, 1, 1000000000, "10000", "the smallest payout a store or a courier may ask for, in rupiah"),
	NUM("order.confirm_within", CONFIG_INT, order_confirm_within, 1, 31536000, "172800", "seconds a merchant has to confirm a paid order before it is cancelled and refunded"),
	NUM("order.complete_after", CONFIG_INT, order_complete_after, 1, 31536000, "172800", "seconds after delivery when an order completes by itself (the complaint window)"),
	NUM("order.commission_bps", CONFIG_INT, order_commission_bps, 0, 5000, "300", "the platform's commission on goods, in basis points (300 = 3%)"),
	NUM("audit.checkpoint_interval", CONFIG_INT, audit_checkpoint_interval, 1, 86400, "60", "seconds between signed checkpoints of the ledger's tree (made only when it grew)"),
	NUM("audit.refund_ratio_bps", CONFIG_INT, audit_refund_ratio_bps, 0, 10000, "1000", "a store's refunds above this share of its payments in a period (basis points; 1000 = 10%) are an audit finding"),
	NUM("test.clock_control", CONFIG_INT, test_clock_control, 0, 1, "0", "1: admins may move the clock forward (POST /api/v1/test/clock); for tests only"),
	STR("courier.gateway", CONFIG_STRING, courier_gateway, "sandbox", "courier provider module: sandbox, biteship or local"),
	STR("courier.base_url", CONFIG_URL, courier_base_url, "http://127.0.0.1:8081", "the courier provider's API (Biteship: https://api.biteship.com)"),
	SECRET("courier.api_key", courier_api_key, "biteship_test.bangsoleh-sandbox", "the courier provider's secret API key"),
	SECRET("courier.webhook_token", courier_webhook_token, "sandbox-courier-token", "the token in the courier webhook URL (?token=...)"),
	STR("courier.couriers", CONFIG_STRING, courier_couriers, "jne,sicepat,gojek", "courier codes to quote, comma-separated"),
	NUM("courier.local_flat", CONFIG_INT, courier_local_flat, 0, 1000000000, "8000", "the city's courier tariff: flat rupiah per delivery"),
	NUM("courier.local_per_km", CONFIG_INT, courier_local_per_km, 0, 1000000000, "2000", "the city's courier tariff: rupiah per started km beyond the first"),
	NUM("courier.local_per_kg", CONFIG_INT, courier_local_per_kg, 0, 1000000000, "1000", "the city's courier tariff: rupiah per started kg beyond the first"),
	NUM("outbound.connect_timeout_ms", CONFIG_INT, outbound_connect_timeout_ms, 10, 60000, "3000", "connect timeout of outbound calls"),
	NUM("outbound.timeout_ms", CONFIG_INT, outbound_timeout_ms, 10, 300000, "10000", "total timeout of one outbound attempt"),
	NUM("outbound.max_response", CONFIG_SIZE, outbound_max_response, KIB, 64 * MIB, "1M", "largest outbound response body"),
	NUM("outbound.max_attempts", CONFIG_INT, outbound_max_attempts, 1, 10, "3", "attempts of a retryable outbound call"),
	NUM("outbound.breaker_threshold", CONFIG_INT, outbound_breaker_threshold, 1, 1000, "5", "consecutive failures that open a target's breaker"),
	NUM("outbound.breaker_cooldown_ms", CONFIG_INT, outbound_breaker_cooldown_ms, 10, 3600000, "30000", "how long an open breaker waits before a probe"),
};

#define CONFIG_NSETTINGS (sizeof(config_settings) / sizeof(config_settings[0]))

static void config_error(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void config_error(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static const struct config_setting *config_find(const char *key)
{
	for (size_t i = 0; i < CONFIG_NSETTINGS; i++)
		if (strcmp(config_settings[i].key, key) == 0)
			return &config_settings[i];
	return NULL;
}

/* Parses a whole decimal integer (optionally with a binary size suffix). */
static int config_parse_number(const char *text, bool size, int64_t *out)
{
	char *end;
	long long v;
	int64_t mult = 1;
	if (!isdigit((unsigned char)text[0]))
		return -1;
	errno = 0;
	v = strtoll(text, &end, 10);
	if (errno != 0 || end == text)
		return -1;
	if (size && *end) {
		switch (toupper((unsigned char)*end)) {
		case 'K': mult = KIB; break;
		case 'M': mult = MIB; break;
		case 'G': mult = GIB; break;
		default: return -1;
		}
		end++;
		/* Accept "1M", "1MB" and "1MiB" alike. */
		if (*end == 'i' || *end == 'I')
			end++;
		if (*end == 'b' || *end == 'B')
			end++;
	}
	if (*end || v > INT64_MAX / mult)
		return -1;
	*out = (int64_t)v * mult;
	return 0;
}

static int config_parse_listen(struct config *cfg, const char *text)
{
	const char *colon = strrchr(text, ':');
	size_t hostlen;
	int64_t port;
	if (!colon)
		return -1;
	hostlen = (size_t)(colon - text);
	if (hostlen == 0 || hostlen >= sizeof(cfg->listen_host))
		return -1;
	for (size_t i = 0; i < hostlen; i++)
		if (!isalnum((unsigned char)text[i]) && text[i] != '.' && text[i] != '-' && text[i] != ':')
			return -1;
	if (config_parse_number(colon + 1, false, &port) != 0 || port > 65535)
		return -1;
	memcpy(cfg->listen_host, text, hostlen);
	cfg->listen_host[hostlen] = '\0';
	cfg->listen_port = (uint16_t)port;
	return 0;
}

int config_set(struct config *cfg, const char *key, const char *value, const char *source,
	       char *err, size_t errlen)
{
	const struct config_setting *s = config_find(key);
	char *base = (char *)cfg;
	int64_t n;
	enum log_level level;
	if (!s) {
		config_error(err, errlen, "unknown setting %s (from %s)", key, source);
		return CONFIG_EINVAL;
	}
	switch (s->type) {
	case CONFIG_INT:
	case CONFIG_SIZE:
		if (config_parse_number(value, s->type == CONFIG_SIZE, &n) != 0) {
			config_error(err, errlen, "invalid setting %s (from %s): '%.64s' is not %s", key, source,
				     value, s->type == CONFIG_SIZE ? "a size such as 1048576 or 1M" : "a whole number");
			return CONFIG_EINVAL;
		}
		if (n < s->min || n > s->max) {
			config_error(err, errlen, "invalid setting %s (from %s): %" PRId64 " is outside %" PRId64
				     "..%" PRId64, key, source, n, s->min, s->max);
			return CONFIG_EINVAL;
		}
		memcpy(base + s->offset, &n, sizeof(n));
		return CONFIG_OK;
	case CONFIG_STRING:
		if (value[0] == '\0' || strlen(value) >= s->size) {
			config_error(err, errlen, "invalid setting %s (from %s): empty or longer than %zu bytes",
				     key, source, s->size - 1);
			return CONFIG_EINVAL;
		}
		strcpy(base + s->offset, value);
		return CONFIG_OK;
	case CONFIG_URL:
		if (strlen(value) >= s->size || (value[0] && strncmp(value, "http://", 7) != 0 &&
						 strncmp(value, "https://", 8) != 0)) {
			config_error(err, errlen, "invalid setting %s (from %s): not empty nor an http(s) URL under %zu bytes",
				     key, source, s->size);
			return CONFIG_EINVAL;
		}
		for (const char *c = value; *c; c++) {
			if (*c <= ' ' || *c > '~') {
				config_error(err, errlen, "invalid setting %s (from %s): URLs are printable ASCII without spaces",
					     key, source);
				return CONFIG_EINVAL;
			}
		}
		strcpy(base + s->offset, value);
		return CONFIG_OK;
	case CONFIG_LEVEL:
		if (log_level_parse(value, &level) != 0) {
			config_error(err, errlen, "invalid setting %s (from %s): '%.64s' is not one of debug, info, warn, error",
				     key, source, value);
			return CONFIG_EINVAL;
		}
		strcpy(base + s->offset, value);
		return CONFIG_OK;
	case CONFIG_LISTEN:
		if (config_parse_listen(cfg, value) != 0) {
			config_error(err, errlen, "invalid setting %s (from %s): '%.64s' is not HOST:PORT", key,
				     source, value);
			return CONFIG_EINVAL;
		}
		return CONFIG_OK;
	}
	return CONFIG_EINVAL;
}

void config_defaults(struct config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	/* The defaults go through the same parser as every other source. */
	for (size_t i = 0; i < CONFIG_NSETTINGS; i++)
		config_set(cfg, config_settings[i].key, config_settings[i].def, "default", NULL, 0);
}

static char *config_trim(char *s)
{
	char *end;
	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static int config_load_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
	char line[CONFIG_LINE_MAX];
	char source[CONFIG_PATH_MAX + 32];
	unsigned lineno = 0;
	size_t total = 0;
	int rc = CONFIG_OK;
	FILE *f = fopen(path, "r");
	if (!f) {
		config_error(err, errlen, "cannot read config file %s: %s", path, strerror(errno));
		return CONFIG_EIO;
	}
	while (fgets(line, sizeof(line), f)) {
		size_t len = strlen(line);
		char *key, *value, *eq;
		lineno++;
		total += len;
		if (total > CONFIG_FILE_MAX || (len == sizeof(line) - 1 && line[len - 1] != '\n')) {
			config_error(err, errlen, "config file %s: line %u too long or file over %d bytes",
				     path, lineno, CONFIG_FILE_MAX);
			rc = CONFIG_EINVAL;
			goto close_file;
		}
		key = config_trim(line);
		if (*key == '\0' || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			config_error(err, errlen, "config file %s: line %u is not `key = value`", path, lineno);
			rc = CONFIG_EINVAL;
			goto close_file;
		}
		*eq = '\0';
		key = config_trim(key);
		value = config_trim(eq + 1);
		snprintf(source, sizeof(source), "%s:%u", path, lineno);
		rc = config_set(cfg, key, value, source, err, errlen);
		if (rc != CONFIG_OK)
			goto close_file;
	}
	if (ferror(f)) {
		config_error(err, errlen, "cannot read config file %s", path);
		rc = CONFIG_EIO;
	}
close_file:
	fclose(f);
	return rc;
}

/* BANGSOLEH_ + the key upper-cased with '.' turned to '_'. */
static void config_env_name(const char *key, char *out, size_t cap)
{
	size_t n = (size_t)snprintf(out, cap, "BANGSOLEH_");
	for (; *key && n + 1 < cap; key++)
		out[n++] = *key == '.' ? '_' : (char)toupper((unsigned char)*key);
	out[n] = '\0';
}

static const char *config_getenv(char *const *envp, const char *name)
{
	size_t len = strlen(name);
	for (; envp && *envp; envp++)
		if (strncmp(*envp, name, len) == 0 && (*envp)[len] == '=')
			return *envp + len + 1;
	return NULL;
}

/* Maps a flag to its setting key; --set is handled by the caller. */
static const char *config_flag_key(const char *flag)
{
	if (strcmp(flag, "--listen") == 0)
		return "listen";
	if (strcmp(flag, "--data") == 0)
		return "data";
	return NULL;
}

/* Splits "--flag=value" or "--flag value". OUT: *name (copied into buf), *value, *consumed. */
static int config_flag_split(int argc, char *const *argv, int i, char *buf, size_t cap,
			     const char **value, int *consumed)
{
	const char *eq = strchr(argv[i], '=');
	if (eq) {
		size_t n = (size_t)(eq - argv[i]);
		if (n >= cap)
			return -1;
		memcpy(buf, argv[i], n);
		buf[n] = '\0';
		*value = eq + 1;
		*consumed = 1;
		return 0;
	}
	if (strlen(argv[i]) >= cap || i + 1 >= argc)
		return -1;
	strcpy(buf, argv[i]);
	*value = argv[i + 1];
	*consumed = 2;
	return 0;
}

/*
 * Refuses a real provider with the sandbox's secrets, which are public (in
 * this source and its docs): with them anyone could sign a payment
 * notification or post a courier's "delivered". Returns CONFIG_OK or
 * CONFIG_EINVAL naming the setting.
 */
static int config_check_secrets(const struct config *cfg, char *err, size_t errlen)
{
	static const struct {
		const char *gateway_key, *gateway, *secret_key; /* gateway NULL: any but "sandbox" */
	} rules[] = {
		{ "payment.gateway", NULL, "payment.server_key" },
		{ "payment.gateway", "xendit", "payment.callback_token" },
		{ "courier.gateway", "biteship", "courier.api_key" },
		{ "courier.gateway", "biteship", "courier.webhook_token" },
	};
	const char *base = (const char *)cfg;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		const struct config_setting *g = config_find(rules[i].gateway_key);
		const struct config_setting *s = config_find(rules[i].secret_key);
		const char *module = base + g->offset;
		bool real = rules[i].gateway ? strcmp(module, rules[i].gateway) == 0 : strcmp(module, "sandbox") != 0;
		if (real && strcmp(base + s->offset, s->def) == 0) {
			config_error(err, errlen, "invalid setting %s: still the sandbox's public value, with %s=%s",
				     s->key, g->key, module);
			return CONFIG_EINVAL;
		}
	}
	return CONFIG_OK;
}

int config_load(struct config *cfg, int argc, char *const *argv, char *const *envp,
		char *err, size_t errlen)
{
	char flag[64];
	char env_name[128];
	const char *value;
	const char *file = config_getenv(envp, "BANGSOLEH_CONFIG");
	int consumed = 1;   /* set by config_flag_split; the first pass checked every flag */
	int rc;

	config_defaults(cfg);
	/* First pass: only find --config, so the file goes under env and flags. */
	for (int i = 0; i < argc; i += consumed) {
		if (config_flag_split(argc, argv, i, flag, sizeof(flag), &value, &consumed) != 0) {
			config_error(err, errlen, "flag %s needs a value", argv[i]);
			return CONFIG_EINVAL;
		}
		if (strcmp(flag, "--config") == 0)
			file = value;
	}
	if (file) {
		if (strlen(file) >= sizeof(cfg->config_file)) {
			config_error(err, errlen, "invalid setting config: path too long");
			return CONFIG_EINVAL;
		}
		strcpy(cfg->config_file, file);
		rc = config_load_file(cfg, file, err, errlen);
		if (rc != CONFIG_OK)
			return rc;
	}
	for (size_t i = 0; i < CONFIG_NSETTINGS; i++) {
		config_env_name(config_settings[i].key, env_name, sizeof(env_name));
		value = config_getenv(envp, env_name);
		if (value) {
			rc = config_set(cfg, config_settings[i].key, value, env_name, err, errlen);
			if (rc != CONFIG_OK)
				return rc;
		}
	}
	for (int i = 0; i < argc; i += consumed) {
		const char *key;
		config_flag_split(argc, argv, i, flag, sizeof(flag), &value, &consumed);
		if (strcmp(flag, "--config") == 0)
			continue;
		key = config_flag_key(flag);
		if (key) {
			rc = config_set(cfg, key, value, flag, err, errlen);
		} else if (strcmp(flag, "--set") == 0) {
			char kv[CONFIG_LINE_MAX];
			char *eq;
			if (strlen(value) >= sizeof(kv) || !(eq = strchr(strcpy(kv, value), '='))) {
				config_error(err, errlen, "--set needs KEY=VALUE, got '%.64s'", value);
				return CONFIG_EINVAL;
			}
			*eq = '\0';
			rc = config_set(cfg, kv, eq + 1, "--set", err, errlen);
		} else {
			config_error(err, errlen, "unknown flag %s", flag);
			return CONFIG_EINVAL;
		}
		if (rc != CONFIG_OK)
			return rc;
	}
	if (cfg->store_map_max < cfg->store_map_size) {
		config_error(err, errlen, "invalid setting store.map_max: smaller than store.map_size");
		return CONFIG_EINVAL;
	}
	return config_check_secrets(cfg, err, errlen);
}

/* Appends with snprintf semantics: n keeps counting past cap. */
static size_t config_append(char *buf, size_t cap, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static size_t config_append(char *buf, size_t cap, size_t n, const char *fmt, ...)
{
	va_list ap;
	int w;
	va_start(ap, fmt);
	w = vsnprintf(n < cap ? buf + n : NULL, n < cap ? cap - n : 0, fmt, ap);
	va_end(ap);
	return w > 0 ? n + (size_t)w : n;
}

static size_t config_value_text(const struct config *cfg, const struct config_setting *s, char *out,
				size_t cap)
{
	const char *base = (const char *)cfg;
	int64_t n;
	if (s->secret)
		return (size_t)snprintf(out, cap, "(set)");
	switch (s->type) {
	case CONFIG_INT:
	case CONFIG_SIZE:
		memcpy(&n, base + s->offset, sizeof(n));
		return (size_t)snprintf(out, cap, "%" PRId64, n);
	case CONFIG_LISTEN:
		return (size_t)snprintf(out, cap, "%s:%u", cfg->listen_host, (unsigned)cfg->listen_port);
	case CONFIG_STRING:
	case CONFIG_LEVEL:
	case CONFIG_URL:
		break;
	}
	return (size_t)snprintf(out, cap, "%s", base + s->offset);
}

size_t config_describe(const struct config *cfg, char *buf, size_t cap)
{
	char value[CONFIG_PATH_MAX + 8];
	size_t n = 0;
	if (cap)
		buf[0] = '\0';
	for (size_t i = 0; i < CONFIG_NSETTINGS; i++) {
		config_value_text(cfg, &config_settings[i], value, sizeof(value));
		n = config_append(buf, cap, n, "%s = %s\n", config_settings[i].key, value);
	}
	return n;
}

size_t config_help(char *buf, size_t cap)
{
	char env_name[128];
	size_t n = 0;
	if (cap)
		buf[0] = '\0';
	for (size_t i = 0; i < CONFIG_NSETTINGS; i++) {
		const struct config_setting *s = &config_settings[i];
		config_env_name(s->key, env_name, sizeof(env_name));
		n = config_append(buf, cap, n, "  %-30s %-38s default %s\n      %s\n", s->key, env_name,
				  s->def, s->help);
	}
	return n;
}
