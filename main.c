/*
 * bangsoleh: the program put together. Parses the command line, starts the
 * modules in dependency order and hands subcommands to their owners.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "build_config.h"
#include "core/auth.h"
#include "core/config.h"
#include "core/clock.h"
#include "core/httpd.h"
#include "core/idem.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/ops.h"
#include "core/role.h"
#include "core/static.h"
#include "core/store.h"
#include "core/hclient.h"
#include "core/workq.h"
#include "gateways/payment.h"
#include "gateways/qris.h"
#include "ledger/ledger.h"
#include "ledger/audit_export.h"
#include "merchant/merchants.h"
#include "merchant/payments.h"
#include "courier/profiles.h"
#include "courier/shipments.h"
#include "gateways/courier.h"
#include "merchant/orders.h"
#include "merchant/payouts.h"
#include "merchant/audit.h"
#include "merchant/products.h"

extern char **environ;

#define EXIT_USAGE 2

/* Everything `serve` runs, so the signal callbacks can reach it. */
struct app {
	struct config cfg;
	struct event_base *base;
	struct store *store;
	struct auth *auth;
	struct ledger *ledger;
	struct idem *idem;
	struct merchants *merchants;
	struct payments *payments;
	struct payouts *payouts;
	struct audit *audit;
	struct products *products;
	struct orders *orders;
	struct hclient *http;
	struct pay_gateway *gateway;
	struct courier_gateway *couriers;
	struct profiles *profiles;
	struct shipments *shipments;
	struct workq *workq;
	struct workq *audit_reads;    /* the auditors' long reads, apart from password hashing */
	struct httpd *httpd;
	struct static_files *web;
	struct event *sigint, *sigterm;
	int signals;
};

static void app_usage(FILE *out)
{
	fprintf(out,
		"usage: bangsoleh COMMAND [options]\n"
		"\n"
		"commands:\n"
		"  serve [--listen HOST:PORT] [--data DIR] [--config FILE] [--set KEY=VALUE]...\n"
		"        run the server\n"
		"  user add --role ROLE --username NAME [--data DIR] [--config FILE]\n"
		"        create a user; the password is read from the first line of standard input.\n"
		"        ROLE is shopper, merchant, courier, auditor or admin\n"
		"  ledger verify [--data DIR] [--config FILE]\n"
		"        recompute the hash chain and every balance; exit 0 when the books are sound\n"
		"  ledger bench [--accounts N] [--transfers M] [--batch B] [--data DIR]\n"
		"        durable transfers per second, batch latency\n"
		"  audit export --from TIME --to TIME --out DIR [--data DIR] [--config FILE]\n"
		"        write the ledger entries of a time range with checkpoints, proofs and a manifest\n"
		"  audit verify DIR\n"
		"        check an export offline; exit 0 when every check passes\n"
		"  qris decode PAYLOAD\n"
		"        check a QRIS payload and print its fields as JSON\n"
		"  qris dynamic PAYLOAD --amount N [--fee-fixed N | --fee-percent P]\n"
		"        turn a QRIS payload into a dynamic one for an amount\n"
		"  version\n"
		"  help\n");
}

static void app_help(void)
{
	static char text[16384];
	app_usage(stdout);
	config_help(text, sizeof(text));
	printf("\nsettings (flag > environment > config file > default):\n%s", text);
}

static void app_store_config(const struct config *cfg, struct store_config *sc)
{
	memset(sc, 0, sizeof(*sc));
	sc->path = cfg->data_dir;
	sc->map_size = (size_t)cfg->store_map_size;
	sc->map_max = (size_t)cfg->store_map_max;
	sc->queue_max = (unsigned)cfg->store_queue_max;
	sc->batch_max = (unsigned)cfg->store_batch_max;
	sc->group_commit = true;
}

static void app_auth_config(const struct config *cfg, struct auth_config *ac)
{
	ac->token_ttl_s = cfg->auth_token_ttl;
	ac->password_cost = (unsigned)cfg->auth_password_cost;
	ac->login_window_s = cfg->auth_login_window;
	ac->login_max_account = (unsigned)cfg->auth_login_max_account;
	ac->login_max_address = (unsigned)cfg->auth_login_max_address;
}

/* Loads settings or explains which one is wrong. Returns 0 or EXIT_USAGE. */
static int app_load_config(struct config *cfg, int argc, char **argv)
{
	char err[CONFIG_ERR_MAX];
	enum log_level level;
	if (config_load(cfg, argc, argv, environ, err, sizeof(err)) != CONFIG_OK) {
		fprintf(stderr, "bangsoleh: %s\n", err);
		return EXIT_USAGE;
	}
	log_level_parse(cfg->log_level, &level);
	log_set_level(level);
	return 0;
}

/*
 * Opens the store and the modules' DBIs; `exclusive` for the server, which
 * must be the only one serving the folder. Returns 0 or 1 (logged).
 */
static int app_open_store(struct app *app, bool exclusive)
{
	struct store_config sc;
	struct auth_config ac;
	int rc;
	app_store_config(&app->cfg, &sc);
	sc.exclusive = exclusive;
	rc = store_open(&sc, &app->store);
	if (rc != STORE_OK) {
		log_msg(LOG_ERROR, "main", "cannot open the store in %s: %s", app->cfg.data_dir,
			store_strerror(rc));
		return 1;
	}
	app_auth_config(&app->cfg, &ac);
	rc = auth_open(app->store, &ac, &app->auth);
	if (rc != AUTH_OK) {
		log_msg(LOG_ERROR, "main", "cannot open the user tables: %d", rc);
		return 1;
	}
	rc = ledger_open(app->store, &app->ledger);
	if (rc == LEDGER_OK)
		rc = ledger_checkpoints_open(app->ledger, app->cfg.data_dir,
					     (uint64_t)app->cfg.audit_checkpoint_interval);
	if (rc != LEDGER_OK) {
		log_msg(LOG_ERROR, "main", "cannot open the ledger: %d", rc);
		return 1;
	}
	if (idem_open(app->store, &app->idem) != 0 ||
	    merchants_open(app->store, app->ledger, app->idem, app->auth, &app->merchants) != 0 ||
	    payments_open(app->store, app->ledger, app->merchants, app->idem, &app->payments) != 0 ||
	    profiles_open(app->store, &app->profiles) != 0 ||
	    payouts_open(app->store, app->ledger,
			 &(struct payouts_payees){ .auth = app->auth, .merchants = app->merchants,
						   .profiles = app->profiles },
			 app->payments, app->idem, &app->payouts) != 0 ||
	    products_open(app->store, app->merchants, app->idem, &app->products) != 0 ||
	    shipments_open(app->store, app->ledger, app->profiles, app->cfg.data_dir, &app->shipments) != 0 ||
	    orders_open(app->store, app->ledger, app->merchants, app->products, app->payments, app->shipments, app->idem,
			&app->orders) != 0 ||
	    audit_open(&(struct audit_sources){ .store = app->store, .ledger = app->ledger, .merchants = app->merchants,
						.payments = app->payments, .orders = app->orders,
						.shipments = app->shipments },
		       &(struct audit_config){ .refund_ratio_bps = app->cfg.audit_refund_ratio_bps }, &app->audit) != 0) {
		log_msg(LOG_ERROR, "main", "cannot open the merchant tables");
		return 1;
	}
	return 0;
}

/* Closes what app_open_store opened (each part may be missing). */
static void app_close_store(struct app *app)
{
	audit_free(app->audit);
	orders_free(app->orders);
	shipments_free(app->shipments);
	products_free(app->products);
	payouts_free(app->payouts);
	profiles_free(app->profiles);
	payments_free(app->payments);
	merchants_free(app->merchants);
	idem_free(app->idem);
	ledger_close(app->ledger);
	auth_free(app->auth);
	store_close(app->store);
}

static void app_on_drained(void *arg)
{
	struct app *app = arg;
	event_base_loopexit(app->base, NULL);
}

static void app_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct app *app = arg;
	(void)what;
	if (++app->signals > 1) {
		log_msg(LOG_WARN, "main", "second signal: exiting at once");
		_exit(1);
	}
	log_msg(LOG_INFO, "main", "signal %d: draining (up to %lld s)", (int)sig,
		(long long)app->cfg.http_shutdown_grace);
	httpd_drain(app->httpd, app_on_drained, app);
}

static int app_start_http(struct app *app)
{
	struct httpd_config hc = {
		.host = app->cfg.listen_host,
		.port = app->cfg.listen_port,
		.max_body = (size_t)app->cfg.http_max_body,
		.max_headers = (size_t)app->cfg.http_max_headers,
		.timeout_s = (int)app->cfg.http_timeout,
		.shutdown_grace_s = (int)app->cfg.http_shutdown_grace,
	};
	uint16_t port;
	if (httpd_new(app->base, &hc, &app->httpd) != HTTPD_OK || ops_attach(app->httpd, app->store) ||
	    auth_attach(app->auth, app->httpd, app->workq) != AUTH_OK ||
	    ledger_attach(app->ledger, app->httpd, app->audit_reads) != 0 || merchants_attach(app->merchants, app->httpd) != 0 ||
	    payments_attach(app->payments, app->httpd) != 0 || payouts_attach(app->payouts, app->httpd, app->audit_reads) != 0 ||
	    audit_attach(app->audit, app->httpd, app->audit_reads) != 0 ||
	    products_attach(app->products, app->httpd) != 0 || orders_attach(app->orders, app->httpd) != 0 ||
	    shipments_attach(app->shipments, app->httpd) != 0 || profiles_attach(app->profiles, app->httpd) != 0 ||
	    (app->cfg.test_clock_control && clock_attach(app->httpd) != 0) ||
	    static_open(app->cfg.web_root, &app->web) != STATIC_OK || static_attach(app->web, app->httpd) != STATIC_OK) {
		log_msg(LOG_ERROR, "main", "cannot set up the HTTP server");
		return 1;
	}
	if (httpd_listen(app->httpd, &port) != HTTPD_OK) {
		log_msg(LOG_ERROR, "main", "cannot listen on %s:%u", app->cfg.listen_host,
			(unsigned)app->cfg.listen_port);
		return 1;
	}
	printf("bangsoleh listening on http://%s:%u\n", app->cfg.listen_host, (unsigned)port);
	fflush(stdout);
	log_msg(LOG_INFO, "main", "bangsoleh %s serving on %s:%u, data in %s", BANGSOLEH_VERSION,
		app->cfg.listen_host, (unsigned)port, app->cfg.data_dir);
	return 0;
}

/* The outbound client, the payment and courier providers' modules, the rules. Returns 0 or 1 (logged). */
static int app_start_gateway(struct app *app)
{
	const struct config *c = &app->cfg;
	struct hclient_config hc = {
		.connect_timeout_ms = c->outbound_connect_timeout_ms,
		.total_timeout_ms = c->outbound_timeout_ms,
		.max_response = (size_t)c->outbound_max_response,
		.max_attempts = (unsigned)c->outbound_max_attempts,
		.breaker_threshold = (unsigned)c->outbound_breaker_threshold,
		.breaker_cooldown_ms = c->outbound_breaker_cooldown_ms,
	};
	struct pay_gateway_config gc = {
		.module = c->payment_gateway,
		.base_url = c->payment_base_url,
		.server_key = c->payment_server_key,
		.callback_token = c->payment_callback_token,
		.notify_url = c->payment_notify_url[0] ? c->payment_notify_url : NULL,
	};
	struct payments_config pc = {
		.expiry_s = c->payment_expiry,
		.reconcile_after_s = c->payment_reconcile_after,
		.reconcile_max_s = c->payment_reconcile_max,
	};
	if (hclient_new(app->base, &hc, &app->http) != HCLIENT_OK) {
		log_msg(LOG_ERROR, "main", "cannot start the outbound HTTP client");
		return 1;
	}
	if (pay_gateway_new(&gc, app->http, &app->gateway) != PAY_OK) {
		log_msg(LOG_ERROR, "main", "cannot set up payment gateway %s (check payment.gateway and its keys)",
			c->payment_gateway);
		return 1;
	}
	if (payments_start(app->payments, app->base, app->gateway, &pc) != 0) {
		log_msg(LOG_ERROR, "main", "cannot start the payments");
		return 1;
	}
	/* Payouts still processing are asked about again on the payments' polling schedule. */
	if (payouts_start(app->payouts, app->base,
			  &(struct payouts_config){ .min_amount = c->payout_min_amount,
						    .retry_after_s = c->payment_reconcile_after,
						    .retry_max_s = c->payment_reconcile_max }) != 0) {
		log_msg(LOG_ERROR, "main", "cannot start the payouts");
		return 1;
	}
	if (courier_gateway_new(&(struct courier_gateway_config){ .module = c->courier_gateway,
								  .base_url = c->courier_base_url,
								  .api_key = c->courier_api_key,
								  .webhook_token = c->courier_webhook_token,
								  .couriers = c->courier_couriers,
								  .local_flat = c->courier_local_flat,
								  .local_per_km = c->courier_local_per_km,
								  .local_per_kg = c->courier_local_per_kg,
								  .base = app->base },
				app->http, &app->couriers) != COURIER_OK ||
	    shipments_start(app->shipments, app->base, app->couriers) != 0) {
		log_msg(LOG_ERROR, "main", "cannot set up courier gateway %s (check courier.gateway and its keys)",
			c->courier_gateway);
		return 1;
	}
	if (orders_start(app->orders, app->base,
			 &(struct orders_config){ .confirm_within_s = c->order_confirm_within,
						  .complete_after_s = c->order_complete_after,
						  .commission_bps = c->order_commission_bps }) != 0) {
		log_msg(LOG_ERROR, "main", "cannot start the order rules");
		return 1;
	}
	return 0;
}

static int app_serve(int argc, char **argv)
{
	struct app app = { 0 };
	int rc = app_load_config(&app.cfg, argc, argv);
	if (rc)
		return rc;
	metrics_init();
	rc = 1;
	if (app_open_store(&app, true) != 0)
		goto close_store;
	app.base = event_base_new();
	if (!app.base)
		goto close_store;
	if (store_start(app.store, app.base) != STORE_OK ||
	    workq_new(app.base, (unsigned)app.cfg.workers, (unsigned)app.cfg.work_queue_max, &app.workq) !=
		    WORKQ_OK ||
	    workq_new(app.base, (unsigned)app.cfg.audit_workers, (unsigned)app.cfg.work_queue_max,
		      &app.audit_reads) != WORKQ_OK ||
	    ledger_start(app.ledger, app.base) != LEDGER_OK || auth_start(app.auth, app.base) != 0 ||
	    idem_start(app.idem, app.base) != 0) {
		log_msg(LOG_ERROR, "main", "cannot start the writer or the work pool");
		goto stop_all;
	}
	app.sigint = evsignal_new(app.base, SIGINT, app_on_signal, &app);
	app.sigterm = evsignal_new(app.base, SIGTERM, app_on_signal, &app);
	if (!app.sigint || !app.sigterm || evsignal_add(app.sigint, NULL) || evsignal_add(app.sigterm, NULL))
		goto stop_all;
	if (app_start_gateway(&app) != 0 || app_start_http(&app) != 0)
		goto stop_all;
	event_base_dispatch(app.base);
	rc = 0;
stop_all:
	/* CPU jobs may still queue store jobs, and store jobs reply through the server: in that order. */
	workq_free(app.workq);
	workq_free(app.audit_reads);
	if (app.ledger)
		ledger_stop(app.ledger);
	auth_stop(app.auth);
	idem_stop(app.idem);
	orders_stop(app.orders);
	shipments_stop(app.shipments);
	payouts_stop(app.payouts);
	payments_stop(app.payments);
	store_stop(app.store);
	/* Calls still out come back cancelled; what they queue finds the store stopped. */
	hclient_free(app.http);
	httpd_free(app.httpd);
	static_free(app.web);
	pay_gateway_free(app.gateway);
	courier_gateway_free(app.couriers);
	if (app.sigint)
		event_free(app.sigint);
	if (app.sigterm)
		event_free(app.sigterm);
	event_base_free(app.base);
close_store:
	app_close_store(&app);
	if (rc == 0)
		log_msg(LOG_INFO, "main", "stopped cleanly");
	return rc;
}

/* Takes "--name value" or "--name=value" at argv[*i]; advances *i past it. */
static const char *app_take_flag(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);
	if (strncmp(argv[*i], name, n) != 0)
		return NULL;
	if (argv[*i][n] == '=')
		return argv[(*i)++] + n + 1;
	if (argv[*i][n] == '\0' && *i + 1 < argc) {
		*i += 2;
		return argv[*i - 1];
	}
	return NULL;
}

static int app_user_add(int argc, char **argv)
{
	struct app app = { 0 };
	char password[AUTH_PASSWORD_MAX + 2];
	const char *role_text = NULL, *username = NULL, *v;
	char **rest = calloc((size_t)argc + 1, sizeof(*rest));
	int nrest = 0, rc = EXIT_USAGE;
	uint64_t id;
	unsigned role;

	if (!rest)
		return 1;
	for (int i = 0; i < argc;) {
		if ((v = app_take_flag(argc, argv, &i, "--role")))
			role_text = v;
		else if ((v = app_take_flag(argc, argv, &i, "--username")))
			username = v;
		else
			rest[nrest++] = argv[i++];
	}
	role = role_text ? role_parse(role_text) : 0;
	if (!role || !username) {
		fprintf(stderr, "bangsoleh: user add needs --role (shopper, merchant, courier, auditor, admin) and --username\n");
		goto free_rest;
	}
	if (!auth_username_valid(username)) {
		fprintf(stderr, "bangsoleh: invalid username: 3 to 32 of a-z, 0-9, '.', '_', '-'\n");
		goto free_rest;
	}
	if (!fgets(password, sizeof(password), stdin)) {
		fprintf(stderr, "bangsoleh: no password on standard input\n");
		goto free_rest;
	}
	password[strcspn(password, "\r\n")] = '\0';
	if (strlen(password) < AUTH_PASSWORD_MIN || strlen(password) > AUTH_PASSWORD_MAX) {
		fprintf(stderr, "bangsoleh: the password must be %d to %d bytes\n", AUTH_PASSWORD_MIN,
			AUTH_PASSWORD_MAX);
		goto free_rest;
	}
	rc = app_load_config(&app.cfg, nrest, rest);
	if (rc)
		goto free_rest;
	rc = 1;
	if (app_open_store(&app, false) != 0)
		goto close_store;
	switch (auth_user_add(app.auth, username, password, role, &id)) {
	case AUTH_OK:
		printf("{\"id\":%llu,\"username\":\"%s\",\"role\":\"%s\"}\n", (unsigned long long)id, username,
		       role_name(role));
		rc = 0;
		break;
	case AUTH_EEXISTS:
		fprintf(stderr, "bangsoleh: username %s is taken\n", username);
		break;
	default:
		fprintf(stderr, "bangsoleh: the user could not be stored\n");
		break;
	}
close_store:
	app_close_store(&app);
free_rest:
	memset(password, 0, sizeof(password));
	free(rest);
	return rc;
}

int main(int argc, char **argv)
{
	/* A client that hangs up must not kill the server through SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2) {
		app_usage(stderr);
		return EXIT_USAGE;
	}
	if (strcmp(argv[1], "serve") == 0)
		return app_serve(argc - 2, argv + 2);
	if (strcmp(argv[1], "user") == 0 && argc >= 3 && strcmp(argv[2], "add") == 0)
		return app_user_add(argc - 3, argv + 3);
	if (strcmp(argv[1], "audit") == 0)
		return ledger_audit_main(argc - 2, argv + 2);
	if (strcmp(argv[1], "ledger") == 0)
		return ledger_main(argc - 2, argv + 2);
	if (strcmp(argv[1], "qris") == 0)
		return qris_main(argc - 2, argv + 2);
	if (strcmp(argv[1], "version") == 0) {
		printf("bangsoleh %s\n", BANGSOLEH_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
		app_help();
		return 0;
	}
	fprintf(stderr, "bangsoleh: unknown command %s\n", argv[1]);
	app_usage(stderr);
	return EXIT_USAGE;
}
