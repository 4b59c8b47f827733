/*
 * The courier gateway without a provider: states and Biteship's status
 * words, the integer distance and the city's tariff, the registry, the
 * local module, and the Biteship webhook rules on fixed inputs (token,
 * installation test, events, duplicates, malformed bodies). The wire is
 * tested in tests/integration/test_courier_gateways.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "courier.h"
#include "hclient.h"

#define TOKEN "sandbox-courier-token"

/* Reference distances: haversine on a sphere of radius 6,371,008.8 m (Python). */
#define PYK_LAT (-224500)
#define PYK_LNG 100633100
#define BKT_LAT (-305600)
#define BKT_LNG 100369200
#define PYK_BKT_M 30698    /* Payakumbuh - Bukittinggi */
#define JKT_BDG_M 120262   /* Jakarta (Monas) - Bandung */
#define PYK_PDG_M 83859    /* Payakumbuh - Padang */
#define DPS_KPG_M 935880   /* Denpasar - Kupang */
#define DATELINE_M 22236   /* (1, 179.9) - (1, -179.9) */

static void test_status_words(void **state)
{
	static const struct {
		const char *word;
		enum ship_state state;
	} words[] = {
		{ "confirmed", SHIP_PENDING },          { "scheduled", SHIP_PENDING },
		{ "allocated", SHIP_ALLOCATED },        { "picking_up", SHIP_PICKING_UP },
		{ "picked", SHIP_PICKED },              { "cancelled", SHIP_CANCELLED },
		{ "on_hold", SHIP_ON_HOLD },            { "dropping_off", SHIP_IN_TRANSIT },
		{ "return_in_transit", SHIP_RETURNING }, { "returned", SHIP_RETURNED },
		{ "rejected", SHIP_FAILED },            { "disposed", SHIP_FAILED },
		{ "courier_not_found", SHIP_FAILED },   { "delivered", SHIP_DELIVERED },
		{ "pickingUp", SHIP_PICKING_UP },       { "droppingOff", SHIP_IN_TRANSIT },
		{ "returnInTransit", SHIP_RETURNING },  { "onHold", SHIP_ON_HOLD },
		{ "courierNotFound", SHIP_FAILED },     { "placed", SHIP_PENDING },
	};
	static const char *const unknown[] = { "", "Delivered", "DELIVERED", "picking-up", "pickingup", "on hold",
					       "delivered ", "cancel", "pending", "in_transit", "x" };
	enum ship_state s;
	(void)state;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		s = 0;
		assert_int_equal(ship_state_from_provider(words[i].word, &s), COURIER_OK);
		assert_int_equal(s, words[i].state);
	}
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		assert_int_equal(ship_state_from_provider(unknown[i], &s), COURIER_EMALFORMED);
	assert_int_equal(ship_state_from_provider(NULL, &s), COURIER_EMALFORMED);
}

static void test_state_names(void **state)
{
	enum ship_state back;
	(void)state;
	for (int s = SHIP_PENDING; s <= SHIP_FAILED; s++) {
		const char *name = ship_state_name((enum ship_state)s);
		assert_non_null(name);
		assert_int_equal(ship_state_parse(name, &back), COURIER_OK);
		assert_int_equal(back, s);
	}
	assert_string_equal(ship_state_name(SHIP_IN_TRANSIT), "in_transit");
	assert_null(ship_state_name((enum ship_state)0));
	assert_null(ship_state_name((enum ship_state)(SHIP_FAILED + 1)));
	assert_int_equal(ship_state_parse("Pending", &back), COURIER_EINVAL);
	assert_int_equal(ship_state_parse("confirmed", &back), COURIER_EINVAL);
	assert_int_equal(ship_state_parse(NULL, &back), COURIER_EINVAL);
}

/* Within 2% of the great circle. */
static void assert_near(int64_t got, int64_t want)
{
	if (got < want * 98 / 100 || got > want * 102 / 100)
		fail_msg("distance %lld m, want %lld m +-2%%", (long long)got, (long long)want);
}

static void test_distance(void **state)
{
	int64_t m = -1;
	(void)state;
	assert_int_equal(courier_distance_m(PYK_LAT, PYK_LNG, BKT_LAT, BKT_LNG, &m), COURIER_OK);
	assert_near(m, PYK_BKT_M);
	/* The other way round is the same distance. */
	int64_t back = -1;
	assert_int_equal(courier_distance_m(BKT_LAT, BKT_LNG, PYK_LAT, PYK_LNG, &back), COURIER_OK);
	assert_int_equal(back, m);
	assert_int_equal(courier_distance_m(-6175392, 106827153, -6917464, 107619123, &m), COURIER_OK);
	assert_near(m, JKT_BDG_M);
	assert_int_equal(courier_distance_m(PYK_LAT, PYK_LNG, -947100, 100417200, &m), COURIER_OK);
	assert_near(m, PYK_PDG_M);
	assert_int_equal(courier_distance_m(-8650000, 115216700, -10177200, 123607000, &m), COURIER_OK);
	assert_near(m, DPS_KPG_M);
	assert_int_equal(courier_distance_m(1000000, 179900000, 1000000, -179900000, &m), COURIER_OK);
	assert_near(m, DATELINE_M);
	assert_int_equal(courier_distance_m(PYK_LAT, PYK_LNG, PYK_LAT, PYK_LNG, &m), COURIER_OK);
	assert_int_equal(m, 0);
	/* The extremes stay in range (no overflow). */
	assert_int_equal(courier_distance_m(-90000000, -180000000, 90000000, 180000000, &m), COURIER_OK);
	assert_true(m > 0 && m < 25000000);
	assert_int_equal(courier_distance_m(90000001, 0, 0, 0, &m), COURIER_EINVAL);
	assert_int_equal(courier_distance_m(0, 0, 0, -180000001, &m), COURIER_EINVAL);
}

static void test_tariff(void **state)
{
	struct courier_gateway_config cfg = { .local_flat = 8000, .local_per_km = 2000, .local_per_kg = 1000 };
	struct courier_place pyk = { .has_coords = true, .lat_e6 = PYK_LAT, .lng_e6 = PYK_LNG };
	struct courier_place bkt = { .has_coords = true, .lat_e6 = BKT_LAT, .lng_e6 = BKT_LNG };
	struct courier_place nowhere = { .postal_code = "26211" };
	int64_t price = -1, dist = 0;
	(void)state;
	/* Without coordinates: flat plus started kg beyond the first. */
	assert_int_equal(courier_local_tariff(&cfg, &pyk, &nowhere, 1000, &price, &dist), COURIER_OK);
	assert_int_equal(price, 8000);
	assert_int_equal(dist, -1);
	assert_int_equal(courier_local_tariff(&cfg, &pyk, &nowhere, 1001, &price, &dist), COURIER_OK);
	assert_int_equal(price, 9000);
	assert_int_equal(courier_local_tariff(&cfg, &pyk, &nowhere, 0, &price, &dist), COURIER_OK);
	assert_int_equal(price, 8000);
	assert_int_equal(courier_local_tariff(&cfg, &pyk, &nowhere, 5500, &price, &dist), COURIER_OK);
	assert_int_equal(price, 8000 + 5 * 1000);
	/* The same place: no km beyond the first. */
	assert_int_equal(courier_local_tariff(&cfg, &pyk, &pyk, 500, &price, &dist), COURIER_OK);
	assert_int_equal(price, 8000);
	assert_int_equal(dist, 0);
	/* Payakumbuh - Bukittinggi, about 30.7 km: 30 started km beyond the first, 2 kg beyond. */
	assert_int_equal(courier_local_tariff(&cfg, &pyk, &bkt, 2500, &price, &dist), COURIER_OK);
	assert_near(dist, PYK_BKT_M);
	assert_int_equal(price, 8000 + ((dist - 1) / 1000) * 2000 + 2 * 1000);
	assert_true(price >= 8000 + 29 * 2000 + 2000 && price <= 8000 + 31 * 2000 + 2000);
	/* Overflow and nonsense are refused, not wrapped. */
	cfg.local_per_kg = INT64_MAX / 2;
	assert_int_equal(courier_local_tariff(&cfg, &pyk, &nowhere, 3001, &price, &dist), COURIER_EINVAL);
	cfg.local_per_kg = 1000;
	cfg.local_flat = INT64_MAX;
	assert_int_equal(courier_local_tariff(&cfg, &pyk, &bkt, 1, &price, &dist), COURIER_EINVAL);
	cfg.local_flat = INT64_MAX;
	assert_int_equal(courier_local_tariff(&cfg, &pyk, &pyk, 1, &price, &dist), COURIER_OK);
	assert_int_equal(price, INT64_MAX);
	cfg.local_flat = -1;
	assert_int_equal(courier_local_tariff(&cfg, &pyk, &pyk, 1, &price, &dist), COURIER_EINVAL);
	cfg.local_flat = 8000;
	assert_int_equal(courier_local_tariff(&cfg, &pyk, &pyk, -1, &price, &dist), COURIER_EINVAL);
	bkt.lat_e6 = 91000000;
	assert_int_equal(courier_local_tariff(&cfg, &pyk, &bkt, 1, &price, &dist), COURIER_EINVAL);
}

/* --- the registry and the local module ------------------------------------- */

struct rates_out {
	unsigned calls;
	struct courier_rates_res res;
};

static void rates_done(const struct courier_rates_res *res, void *arg)
{
	struct rates_out *o = arg;
	o->calls++;
	o->res = *res;
}

static void ship_done(const struct courier_ship_res *res, void *arg)
{
	(void)res;
	(void)arg;
	fail_msg("the local module never calls back for shipments");
}

static void test_registry_and_local(void **state)
{
	struct event_base *base = event_base_new();
	struct hclient *http = NULL;
	struct courier_gateway *g = NULL;
	struct courier_gateway_config cfg = { .module = "local", .local_flat = 8000, .local_per_km = 2000,
					      .local_per_kg = 1000 };
	struct courier_item items[] = { { "Rendang", 50000, 1500, 2 } };
	struct courier_rates_req req = {
		.origin = { .postal_code = "26211", .has_coords = true, .lat_e6 = PYK_LAT, .lng_e6 = PYK_LNG },
		.destination = { .postal_code = "26111", .has_coords = true, .lat_e6 = BKT_LAT, .lng_e6 = BKT_LNG },
		.items = items,
		.nitems = 1,
	};
	struct courier_ship_req ship = { .shipment_id = "shp-1" };
	struct courier_event ev;
	struct courier_webhook wh = { "", 0, NULL, NULL };
	struct rates_out out = { 0 };
	int64_t price, dist;
	(void)state;
	assert_non_null(base);
	assert_int_equal(hclient_new(base, NULL, &http), HCLIENT_OK);
	/* local needs the loop; the others need the client. */
	assert_int_equal(courier_gateway_new(&cfg, NULL, &g), COURIER_EINVAL);
	cfg.base = base;
	assert_int_equal(courier_gateway_new(&cfg, NULL, &g), COURIER_OK);
	assert_true(courier_gateway_is_local(g));
	assert_string_equal(courier_gateway_name(g), "local");
	assert_int_equal(courier_rates(g, &req, rates_done, &out), COURIER_OK);
	assert_int_equal(out.calls, 0);   /* never from inside the call */
	event_base_loop(base, EVLOOP_NONBLOCK);
	assert_int_equal(out.calls, 1);
	assert_int_equal(out.res.error, COURIER_OK);
	assert_int_equal(out.res.n, 1);
	assert_string_equal(out.res.rates[0].courier_code, "local");
	assert_string_equal(out.res.rates[0].service_code, "ojek");
	assert_string_equal(out.res.rates[0].courier_name, "Kurir Kota Payakumbuh");
	assert_int_equal(courier_local_tariff(&cfg, &req.origin, &req.destination, 3000, &price, &dist), COURIER_OK);
	assert_int_equal(out.res.rates[0].price, price);
	/* Requests are checked before any module: no items, bad coordinates. */
	req.nitems = 0;
	assert_int_equal(courier_rates(g, &req, rates_done, &out), COURIER_EINVAL);
	req.nitems = 1;
	req.origin.lat_e6 = -91000000;
	assert_int_equal(courier_rates(g, &req, rates_done, &out), COURIER_EINVAL);
	assert_int_equal(courier_ship(g, &ship, ship_done, NULL), COURIER_EUNSUPPORTED);
	assert_int_equal(courier_cancel(g, "o-1", NULL, ship_done, NULL), COURIER_EUNSUPPORTED);
	assert_int_equal(courier_track(g, "o-1", NULL, ship_done, NULL), COURIER_EUNSUPPORTED);
	assert_int_equal(courier_parse_webhook(g, &wh, &ev), COURIER_EUNSUPPORTED);
	courier_gateway_free(g);

	/* Unknown modules, biteship without its secrets, bad settings. */
	struct courier_gateway_config bad = { .module = "rajaongkir", .couriers = "jne" };
	assert_int_equal(courier_gateway_new(&bad, http, &g), COURIER_EINVAL);
	bad.module = "biteship";
	assert_int_equal(courier_gateway_new(&bad, http, &g), COURIER_EINVAL);
	bad.api_key = "biteship_test.x";
	assert_int_equal(courier_gateway_new(&bad, http, &g), COURIER_EINVAL);
	bad.webhook_token = "t";
	assert_int_equal(courier_gateway_new(&bad, http, &g), COURIER_OK);
	assert_false(courier_gateway_is_local(g));
	courier_gateway_free(g);
	bad.couriers = "jne,,gojek";
	assert_int_equal(courier_gateway_new(&bad, http, &g), COURIER_EINVAL);
	bad.couriers = "JNE";
	assert_int_equal(courier_gateway_new(&bad, http, &g), COURIER_EINVAL);
	bad.couriers = "jne";
	bad.base_url = "ftp://x";
	assert_int_equal(courier_gateway_new(&bad, http, &g), COURIER_EINVAL);
	bad.base_url = NULL;
	bad.local_per_km = -1;
	assert_int_equal(courier_gateway_new(&bad, http, &g), COURIER_EINVAL);
	struct courier_gateway_config sb = { .module = "sandbox", .couriers = "jne,sicepat,gojek" };
	assert_int_equal(courier_gateway_new(&sb, NULL, &g), COURIER_EINVAL);
	assert_int_equal(courier_gateway_new(&sb, http, &g), COURIER_OK);
	assert_string_equal(courier_gateway_name(g), "sandbox");
	courier_gateway_free(g);
	courier_gateway_free(NULL);
	hclient_free(http);
	event_base_free(base);
}

/* --- webhooks ---------------------------------------------------------------- */

static const char *query_token(const char *name, void *ctx)
{
	return strcmp(name, "token") == 0 ? ctx : NULL;
}

static int parse(struct courier_gateway *g, const char *token, const char *body, struct courier_event *ev)
{
	struct courier_webhook w = { body, body ? strlen(body) : 0, query_token, (void *)token };
	return courier_parse_webhook(g, &w, ev);
}

static void test_webhooks(void **state)
{
	struct event_base *base = event_base_new();
	struct hclient *http = NULL;
	struct courier_gateway *g = NULL;
	struct courier_gateway_config cfg = { .module = "sandbox", .couriers = "jne" };
	struct courier_event ev, again;
	static const char status_picked[] =
		"{\"event\":\"order.status\",\"order_id\":\"5dd599ebdefcd4158eb8470b\",\"courier_tracking_id\":\"6db5\","
		"\"courier_waybill_id\":\"SBX123\",\"courier_company\":\"jne\",\"courier_type\":\"reg\","
		"\"courier_driver_name\":\"Budi\",\"courier_driver_phone\":\"0812\",\"courier_driver_photo_url\":null,"
		"\"courier_driver_plate_number\":\"BA 1 XY\",\"courier_link\":\"https://x/t\",\"order_price\":18000,"
		"\"status\":\"picked\"}";
	(void)state;
	assert_int_equal(hclient_new(base, NULL, &http), HCLIENT_OK);
	assert_int_equal(courier_gateway_new(&cfg, http, &g), COURIER_OK);

	assert_int_equal(parse(g, TOKEN, status_picked, &ev), COURIER_OK);
	assert_int_equal(ev.kind, COURIER_EVENT_STATUS);
	assert_int_equal(ev.state, SHIP_PICKED);
	assert_string_equal(ev.provider_id, "5dd599ebdefcd4158eb8470b");
	assert_string_equal(ev.event_id, "5dd599ebdefcd4158eb8470b:order.status:picked");
	assert_string_equal(ev.waybill, "SBX123");
	assert_string_equal(ev.driver_name, "Budi");
	assert_string_equal(ev.driver_phone, "0812");
	assert_string_equal(ev.plate, "BA 1 XY");
	assert_string_equal(ev.link, "https://x/t");
	assert_int_equal(ev.price, 18000);
	/* The same event again has the same id; camelCase names the same status. */
	assert_int_equal(parse(g, TOKEN, status_picked, &again), COURIER_OK);
	assert_string_equal(again.event_id, ev.event_id);
	assert_int_equal(parse(g, TOKEN, "{\"event\":\"order.status\",\"order_id\":\"o1\",\"status\":\"droppingOff\"}",
			       &ev), COURIER_OK);
	assert_int_equal(ev.state, SHIP_IN_TRANSIT);
	assert_int_equal(ev.price, -1);
	assert_string_equal(ev.event_id, "o1:order.status:in_transit");
	assert_int_equal(parse(g, TOKEN, "{\"event\":\"order.price\",\"order_id\":\"o1\",\"order_price\":21000,"
				       "\"shippment_fee\":21000,\"status\":\"picked\"}", &ev), COURIER_OK);
	assert_int_equal(ev.kind, COURIER_EVENT_PRICE);
	assert_int_equal(ev.price, 21000);
	assert_string_equal(ev.event_id, "o1:order.price:21000");
	assert_int_equal(parse(g, TOKEN, "{\"event\":\"order.waybill_id\",\"order_id\":\"o1\","
				       "\"courier_waybill_id\":\"WB-9\",\"status\":\"allocated\"}", &ev), COURIER_OK);
	assert_int_equal(ev.kind, COURIER_EVENT_WAYBILL);
	assert_string_equal(ev.waybill, "WB-9");
	assert_string_equal(ev.event_id, "o1:order.waybill_id:WB-9");

	/* The installation test: verified, then nothing to record. */
	assert_int_equal(parse(g, TOKEN, NULL, &ev), COURIER_OK);
	assert_int_equal(ev.kind, COURIER_EVENT_IGNORED);
	assert_int_equal(parse(g, TOKEN, "", &ev), COURIER_OK);
	assert_int_equal(ev.kind, COURIER_EVENT_IGNORED);
	assert_int_equal(parse(g, TOKEN, "{}", &ev), COURIER_OK);
	assert_int_equal(ev.kind, COURIER_EVENT_IGNORED);
	assert_int_equal(parse(g, TOKEN, "{\"event\":\"order.created\",\"order_id\":\"o1\"}", &ev), COURIER_OK);
	assert_int_equal(ev.kind, COURIER_EVENT_IGNORED);
	assert_string_equal(ev.provider_id, "");

	/* Forged: no token, another token, a prefix of it; checked before the body. */
	assert_int_equal(parse(g, NULL, status_picked, &ev), COURIER_EFORGED);
	assert_int_equal(parse(g, "not-" TOKEN, status_picked, &ev), COURIER_EFORGED);
	assert_int_equal(parse(g, "sandbox-courier", status_picked, &ev), COURIER_EFORGED);
	assert_int_equal(parse(g, "x", "not json", &ev), COURIER_EFORGED);
	assert_int_equal(parse(g, "", "", &ev), COURIER_EFORGED);

	/* Malformed. */
	static const char *const broken[] = {
		"not json",
		"[1,2]",
		"{\"event\":\"order.status\",\"order_id\":\"o1\",\"order_id\":\"o2\",\"status\":\"picked\"}",
		"{\"event\":\"order.status\",\"status\":\"picked\"}",
		"{\"event\":\"order.status\",\"order_id\":\"o 1\",\"status\":\"picked\"}",
		"{\"event\":\"order.status\",\"order_id\":\"o1\",\"status\":\"teleported\"}",
		"{\"event\":\"order.status\",\"order_id\":\"o1\"}",
		"{\"event\":\"order.status\",\"order_id\":\"o1\",\"status\":\"picked\",\"order_price\":-5}",
		"{\"event\":\"order.status\",\"order_id\":\"o1\",\"status\":\"picked\",\"order_price\":1.5}",
		"{\"event\":\"order.status\",\"order_id\":\"o1\",\"status\":\"picked\",\"courier_driver_phone\":12}",
		"{\"event\":\"order.status\",\"order_id\":\"o1\",\"status\":\"picked\","
		"\"courier_driver_phone\":\"081234567890123456789\"}",
		"{\"event\":\"order.price\",\"order_id\":\"o1\"}",
		"{\"event\":\"order.waybill_id\",\"order_id\":\"o1\",\"courier_waybill_id\":null}",
		"{\"event\":7,\"order_id\":\"o1\"}",
	};
	for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++) {
		if (parse(g, TOKEN, broken[i], &ev) != COURIER_EMALFORMED)
			fail_msg("not refused: %s", broken[i]);
		assert_int_equal(ev.kind, 0);
		assert_int_equal(ev.price, -1);
	}
	assert_int_equal(courier_parse_webhook(g, NULL, &ev), COURIER_EINVAL);
	courier_gateway_free(g);
	hclient_free(http);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_words),
		cmocka_unit_test(test_state_names),
		cmocka_unit_test(test_distance),
		cmocka_unit_test(test_tariff),
		cmocka_unit_test(test_registry_and_local),
		cmocka_unit_test(test_webhooks),
	};
	return cmocka_run_group_tests_name("courier", tests, NULL, NULL);
}
