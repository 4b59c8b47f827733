/*
 * bangsoleh-sandbox: the sandbox payment provider as a program.
 *
 *   bangsoleh-sandbox [--listen HOST:PORT] [--notify-midtrans URL]
 *                     [--notify-xendit URL] [--server-key KEY]
 *                     [--callback-token TOKEN] [--notify-biteship URL]
 *                     [--biteship-key KEY] [--ship-step-ms MS]
 *
 * Once it answers it prints `bangsoleh-sandbox listening on
 * http://HOST:PORT` (the real port when PORT is 0) on stdout. Logs are JSON
 * lines on stderr. SIGTERM or SIGINT stop it with status 0; a bad command
 * line exits 2, a failure to start 1. docs/sandbox.md has the rest.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/http.h>

#include "log.h"
#include "provider.h"

#define SB_HOST_MAX 255
#define SB_BASE_URL_MAX (SB_HOST_MAX + 16)
#define SB_NOTIFY_BITESHIP "http://127.0.0.1:8080/api/v1/webhooks/couriers/sandbox?token=sandbox-courier-token"
#define SB_STEP_MS_MAX 3600000

struct sb_options {
	const char *listen;
	const char *notify_midtrans;
	const char *notify_xendit;
	const char *server_key;
	const char *callback_token;
	const char *notify_biteship;
	const char *biteship_key;
	const char *ship_step_ms;
};

static void usage(FILE *f)
{
	fputs("usage: bangsoleh-sandbox [--listen HOST:PORT] [--notify-midtrans URL] [--notify-xendit URL]\n"
	      "                         [--server-key KEY] [--callback-token TOKEN]\n"
	      "                         [--notify-biteship URL] [--biteship-key KEY] [--ship-step-ms MS]\n"
	      "defaults: --listen 127.0.0.1:8081\n"
	      "          --notify-midtrans http://127.0.0.1:8080/api/v1/webhooks/payments/sandbox\n"
	      "          --notify-xendit http://127.0.0.1:8080/api/v1/webhooks/payments/xendit\n"
	      "          --server-key SB-Mid-server-bangsoleh-sandbox\n"
	      "          --callback-token sandbox-callback-token\n"
	      "          --notify-biteship " SB_NOTIFY_BITESHIP "\n"
	      "          --biteship-key biteship_test.bangsoleh-sandbox\n"
	      "          --ship-step-ms 2000 (0: shipments move only by /simulate/shipment)\n",
	      f);
}

/* Takes "--name VALUE" or "--name=VALUE" at argv[*i]. Returns 1 (taken), 0 (not this flag), -1 (no value). */
static int take_flag(int argc, char **argv, int *i, const char *name, const char **out)
{
	size_t len = strlen(name);
	if (strncmp(argv[*i], name, len) != 0)
		return 0;
	if (argv[*i][len] == '=') {
		*out = argv[*i] + len + 1;
		return 1;
	}
	if (argv[*i][len] != '\0')
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*out = argv[++*i];
	return 1;
}

/* Returns 0, 1 (--help) or -1 (bad usage, said on stderr). */
static int parse_args(int argc, char **argv, struct sb_options *o)
{
	for (int i = 1; i < argc; i++) {
		int rc = 0;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
		if (!rc)
			rc = take_flag(argc, argv, &i, "--listen", &o->listen);
		if (!rc)
			rc = take_flag(argc, argv, &i, "--notify-midtrans", &o->notify_midtrans);
		if (!rc)
			rc = take_flag(argc, argv, &i, "--notify-xendit", &o->notify_xendit);
		if (!rc)
			rc = take_flag(argc, argv, &i, "--server-key", &o->server_key);
		if (!rc)
			rc = take_flag(argc, argv, &i, "--callback-token", &o->callback_token);
		if (!rc)
			rc = take_flag(argc, argv, &i, "--notify-biteship", &o->notify_biteship);
		if (!rc)
			rc = take_flag(argc, argv, &i, "--biteship-key", &o->biteship_key);
		if (!rc)
			rc = take_flag(argc, argv, &i, "--ship-step-ms", &o->ship_step_ms);
		if (rc != 1) {
			fprintf(stderr, "bangsoleh-sandbox: %s: %s\n", argv[i],
				rc < 0 ? "needs a value" : "unknown argument");
			return -1;
		}
	}
	return 0;
}

/* Splits "HOST:PORT" ("[v6]:PORT" too). OUT: host, *port. Returns 0 or -1. */
static int split_listen(const char *s, char host[SB_HOST_MAX + 1], unsigned short *port)
{
	const char *colon = strrchr(s, ':');
	const char *h = s;
	size_t hlen;
	char *end;
	long v;
	if (!colon)
		return -1;
	hlen = (size_t)(colon - s);
	if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
		h++;
		hlen -= 2;
	}
	v = strtol(colon + 1, &end, 10);
	if (hlen == 0 || hlen > SB_HOST_MAX || end == colon + 1 || *end != '\0' || v < 0 || v > 65535)
		return -1;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	*port = (unsigned short)v;
	return 0;
}

/* The port the kernel gave the listening socket, or -1. */
static int bound_port(struct evhttp_bound_socket *bound)
{
	struct sockaddr_storage addr;
	socklen_t len = sizeof(addr);
	if (getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&addr, &len) != 0)
		return -1;
	if (addr.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&addr)->sin6_port);
	return ntohs(((struct sockaddr_in *)&addr)->sin_port);
}

static void on_signal(evutil_socket_t sig, short events, void *arg)
{
	(void)events;
	log_msg(LOG_INFO, "sandbox", "signal %d: stopping", (int)sig);
	event_base_loopbreak(arg);
}

int main(int argc, char **argv)
{
	struct sb_options o = {
		.listen = "127.0.0.1:8081",
		.notify_midtrans = "http://127.0.0.1:8080/api/v1/webhooks/payments/sandbox",
		.notify_xendit = "http://127.0.0.1:8080/api/v1/webhooks/payments/xendit",
		.server_key = "SB-Mid-server-bangsoleh-sandbox",
		.callback_token = "sandbox-callback-token",
		.notify_biteship = SB_NOTIFY_BITESHIP,
		.biteship_key = "biteship_test.bangsoleh-sandbox",
		.ship_step_ms = "2000",
	};
	char host[SB_HOST_MAX + 1], base_url[SB_BASE_URL_MAX];
	unsigned short port;
	long step_ms;
	char *end;
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	struct event *sigterm = NULL, *sigint = NULL;
	struct sandbox *sb = NULL;
	struct sandbox_config cfg;
	int rc = parse_args(argc, argv, &o);
	if (rc != 0) {
		usage(rc > 0 ? stdout : stderr);
		return rc > 0 ? 0 : 2;
	}
	if (split_listen(o.listen, host, &port) != 0) {
		fprintf(stderr, "bangsoleh-sandbox: --listen wants HOST:PORT (PORT 0-65535), not %s\n", o.listen);
		return 2;
	}
	step_ms = strtol(o.ship_step_ms, &end, 10);
	if (end == o.ship_step_ms || *end != '\0' || step_ms < 0 || step_ms > SB_STEP_MS_MAX) {
		fprintf(stderr, "bangsoleh-sandbox: --ship-step-ms wants 0 to %d, not %s\n", SB_STEP_MS_MAX,
			o.ship_step_ms);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	rc = 1;
	base = event_base_new();
	if (!base)
		return 1;
	http = evhttp_new(base);
	if (!http)
		goto free_base;
	bound = evhttp_bind_socket_with_handle(http, host, port);
	if (!bound) {
		log_msg(LOG_ERROR, "sandbox", "cannot listen on %s", o.listen);
		goto free_http;
	}
	snprintf(base_url, sizeof(base_url), strchr(host, ':') ? "http://[%s]:%d" : "http://%s:%d", host,
		 bound_port(bound));
	cfg = (struct sandbox_config){
		.base_url = base_url,
		.notify_midtrans = o.notify_midtrans,
		.notify_xendit = o.notify_xendit,
		.server_key = o.server_key,
		.callback_token = o.callback_token,
		.notify_biteship = o.notify_biteship,
		.biteship_key = o.biteship_key,
		.ship_step_ms = step_ms,
	};
	if (sandbox_new(base, http, &cfg, &sb) != SANDBOX_OK) {
		log_msg(LOG_ERROR, "sandbox", "cannot start: check the URLs (http:// or https://, at most %d bytes) "
			"and the key and token (1 to %d bytes)", SANDBOX_URL_MAX, SANDBOX_SECRET_MAX);
		goto free_http;
	}
	sigterm = evsignal_new(base, SIGTERM, on_signal, base);
	sigint = evsignal_new(base, SIGINT, on_signal, base);
	if (!sigterm || !sigint || evsignal_add(sigterm, NULL) != 0 || evsignal_add(sigint, NULL) != 0)
		goto free_signals;
	printf("bangsoleh-sandbox listening on %s\n", base_url);
	fflush(stdout);
	log_msg(LOG_INFO, "sandbox", "listening on %s", base_url);
	rc = event_base_dispatch(base) < 0 ? 1 : 0;
free_signals:
	if (sigterm)
		event_free(sigterm);
	if (sigint)
		event_free(sigint);
	sandbox_free(sb);
free_http:
	evhttp_free(http);
free_base:
	event_base_free(base);
	return rc;
}
