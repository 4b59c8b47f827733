#include "ops.h"

#include <stdlib.h>

#include "httpd.h"
#include "metrics.h"
#include "role.h"
#include "router.h"
#include "store.h"

static void ops_handle_health(struct httpd_req *req, void *ctx)
{
	struct store *store = ctx;
	bool alive = store_writer_alive(store);
	httpd_set_header(req, "Cache-Control", "no-store");
	httpd_reply_json(req, alive ? 200 : 503,
			 json_pack("{s:s, s:s, s:s, s:i}", "status", alive ? "ok" : "unavailable", "store",
				   "open", "writer", alive ? "alive" : "stopped", "queue_depth",
				   (int)store_queue_depth(store)));
}

static void ops_handle_metrics(struct httpd_req *req, void *ctx)
{
	struct store *store = ctx;
	char *text;
	size_t len;
	metrics_set(METRIC_STORE_QUEUE_DEPTH, "", store_queue_depth(store));
	if (metrics_render(&text, &len) != 0) {
		httpd_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	httpd_reply_raw(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
	free(text);
}

static void ops_handle_ping(struct httpd_req *req, void *ctx)
{
	(void)ctx;
	httpd_reply_raw(req, 200, "application/json; charset=utf-8", "{\"ok\":true}", 11);
}

int ops_attach(struct httpd *h, struct store *store)
{
	int rc;
	if ((rc = httpd_route(h, ROUTER_GET, "/healthz", ROLE_PUBLIC, ops_handle_health, store)) ||
	    (rc = httpd_route(h, ROUTER_GET, "/metrics", ROLE_PUBLIC, ops_handle_metrics, store)) ||
	    (rc = httpd_route(h, ROUTER_GET, "/api/v1/ping", ROLE_PUBLIC, ops_handle_ping, NULL)))
		return rc;
	return HTTPD_OK;
}
