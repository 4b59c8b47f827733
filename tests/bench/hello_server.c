/*
 * hello_server: the baseline for the HTTP benchmark. A bare libevent evhttp
 * server on 127.0.0.1 that answers every request 200 {"ok":true} as JSON,
 * with no router, no logging and no metrics, so that the cost bangsoleh adds
 * on top of evhttp can be measured.
 *
 * Usage: hello_server PORT  (0 picks a free port). Prints
 * `hello_server listening on http://127.0.0.1:PORT` once ready; exits 0 on
 * SIGTERM or SIGINT.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

static const char hello_body[] = "{\"ok\":true}";

static void hello_reply(struct evhttp_request *req, void *arg)
{
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	(void)arg;
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			  "application/json; charset=utf-8");
	evbuffer_add_reference(out, hello_body, sizeof(hello_body) - 1, NULL, NULL);
	evhttp_send_reply(req, HTTP_OK, "OK", NULL);
}

static void hello_stop(evutil_socket_t sig, short events, void *arg)
{
	(void)sig;
	(void)events;
	event_base_loopbreak(arg);
}

/* Parses a port number 0..65535. Returns 0 or -1. */
static int hello_port(const char *text, unsigned short *port)
{
	char *end;
	long v = strtol(text, &end, 10);
	if (end == text || *end != '\0' || v < 0 || v > 65535)
		return -1;
	*port = (unsigned short)v;
	return 0;
}

/* The port the kernel gave the listening socket. */
static int hello_bound_port(struct evhttp_bound_socket *bound)
{
	struct sockaddr_in addr;
	socklen_t len = sizeof(addr);
	evutil_socket_t fd = evhttp_bound_socket_get_fd(bound);
	if (getsockname(fd, (struct sockaddr *)&addr, &len) != 0)
		return -1;
	return ntohs(addr.sin_port);
}

int main(int argc, char **argv)
{
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	struct event *sigterm, *sigint;
	unsigned short port;
	int rc = 1;

	if (argc != 2 || hello_port(argv[1], &port) != 0) {
		fprintf(stderr, "usage: hello_server PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	if (!base)
		return 1;
	http = evhttp_new(base);
	if (!http)
		goto free_base;
	evhttp_set_gencb(http, hello_reply, NULL);
	bound = evhttp_bind_socket_with_handle(http, "127.0.0.1", port);
	if (!bound) {
		fprintf(stderr, "hello_server: cannot listen on 127.0.0.1:%u\n", port);
		goto free_http;
	}
	sigterm = evsignal_new(base, SIGTERM, hello_stop, base);
	sigint = evsignal_new(base, SIGINT, hello_stop, base);
	if (!sigterm || !sigint || evsignal_add(sigterm, NULL) != 0 || evsignal_add(sigint, NULL) != 0)
		goto free_signals;
	printf("hello_server listening on http://127.0.0.1:%d\n", hello_bound_port(bound));
	fflush(stdout);
	rc = event_base_dispatch(base) < 0 ? 1 : 0;
free_signals:
	if (sigterm)
		event_free(sigterm);
	if (sigint)
		event_free(sigint);
free_http:
	evhttp_free(http);
free_base:
	event_base_free(base);
	return rc;
}
