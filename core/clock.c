#include "clock.h"

#include <stdatomic.h>
#include <time.h>

#include "body.h"
#include "httpd.h"
#include "role.h"
#include "router.h"

#define CLOCK_ADVANCE_MAX_MS (31536000LL * 1000)

static _Atomic int64_t clock_offset_ms;

int64_t clock_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + atomic_load(&clock_offset_ms);
}

int clock_advance_ms(int64_t ms)
{
	if (ms <= 0 || ms > CLOCK_ADVANCE_MAX_MS)
		return -1;
	atomic_fetch_add(&clock_offset_ms, ms);
	return 0;
}

static void clock_handle_advance(struct httpd_req *req, void *ctx)
{
	static const char *const keys[] = { "advance_s", NULL };
	struct body_check c = { 0 };
	json_t *body;
	int64_t secs;
	(void)ctx;
	if (httpd_json_body(req, &body) != 0)
		return;
	body_only(&c, body, keys);
	secs = body_int(&c, body, "advance_s", true, 1, CLOCK_ADVANCE_MAX_MS / 1000, 0);
	if (c.failed) {
		httpd_reply_error(req, 400, body_error_code(&c), "%s %s", c.field, c.reason);
		return;
	}
	clock_advance_ms(secs * 1000);
	httpd_reply_json(req, 200, json_pack("{s:I}", "now_ms", (json_int_t)clock_now_ms()));
}

int clock_attach(struct httpd *h)
{
	return httpd_route(h, ROUTER_POST, "/api/v1/test/clock", ROLE_ADMIN, clock_handle_advance, NULL);
}
