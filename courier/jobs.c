/* The city's own couriers: open jobs near them, taking one, pickup and delivery with the PIN. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "clock.h"
#include "crypto.h"
#include "httpd.h"
#include "profiles.h"
#include "record.h"
#include "role.h"
#include "router.h"
#include "shipment_internal.h"
#include "store.h"

#define JOBS_SCAN_MAX 500             /* open jobs one listing reads at most */
#define JOBS_LIST_MAX 50              /* jobs one listing returns at most */
#define JOBS_COORD_MAX 180000000      /* millionths of a degree */
#define JOBS_MINE_MAX 100             /* a courier's own shipments one page returns at most */
#define JOBS_MINE_DEFAULT 20

/* One open job and how far its pickup is. */
struct job_item {
	int64_t distance_m;               /* -1: unknown */
	struct ledger_id id;
};

static int jobs_cmp(const void *a, const void *b)
{
	const struct job_item *x = a, *y = b;
	/* Unknown distances last; then nearest first. */
	if ((x->distance_m < 0) != (y->distance_m < 0))
		return x->distance_m < 0 ? 1 : -1;
	return x->distance_m < y->distance_m ? -1 : x->distance_m > y->distance_m;
}

/* Reads an optional coordinate query parameter. Returns 0, 1 (absent) or -1 (bad, replied). */
static int jobs_coord(struct httpd_req *req, const char *name, int32_t *out)
{
	const char *text = httpd_query(req, name);
	char *end;
	long v;
	if (!text)
		return 1;
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno || end == text || *end || v < -JOBS_COORD_MAX || v > JOBS_COORD_MAX) {
		httpd_reply_error(req, 400, "invalid_field", "%s must be millionths of a degree", name);
		return -1;
	}
	*out = (int32_t)v;
	return 0;
}

static void jobs_handle_list(struct httpd_req *req, void *ctx)
{
	struct shipments *s = ctx;
	struct courier_gateway_config zero = { 0 };
	struct courier_place here = { 0 }, pickup;
	struct job_item *items = calloc(JOBS_SCAN_MAX, sizeof(*items));
	struct shipment *sh = malloc(sizeof(*sh));
	json_t *list = json_array();
	size_t n = 0;
	MDB_cursor *cur = NULL;
	MDB_txn *txn;
	MDB_val k, v;
	int rc, lat, lng;
	if (!items || !sh || !list) {
		httpd_reply_error(req, 500, "internal", "out of memory");
		goto free_all;
	}
	lat = jobs_coord(req, "lat_e6", &here.lat_e6);
	lng = lat < 0 ? -1 : jobs_coord(req, "lng_e6", &here.lng_e6);
	if (lat < 0 || lng < 0)
		goto free_all;
	here.has_coords = lat == 0 && lng == 0;
	if ((rc = store_read_begin(s->store, &txn)) != 0) {
		httpd_reply_store_error(req, rc);
		goto free_all;
	}
	rc = mdb_cursor_open(txn, s->jobs, &cur);
	for (rc = rc ? rc : mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && n < JOBS_SCAN_MAX;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		int64_t price;
		if (k.mv_size != 16)
			continue;
		memcpy(items[n].id.b, k.mv_data, 16);
		if (shipment_load(s, txn, &items[n].id, sh) != 0)
			continue;
		shipment_place_out(&sh->origin, &pickup);
		if (!here.has_coords || courier_local_tariff(&zero, &here, &pickup, 0, &price, &items[n].distance_m))
			items[n].distance_m = -1;
		n++;
	}
	qsort(items, n, sizeof(*items), jobs_cmp);
	for (size_t i = 0; i < n && i < JOBS_LIST_MAX; i++) {
		json_t *j;
		/* Open jobs go to every courier: no phones before one takes it. */
		if (shipment_load(s, txn, &items[i].id, sh) != 0 || !(j = shipment_json(sh, false)))
			continue;
		json_object_set_new(j, "distance_m", items[i].distance_m < 0 ? json_null() :
						      json_integer((json_int_t)items[i].distance_m));
		json_array_append_new(list, j);
	}
	if (cur)
		mdb_cursor_close(cur);
	store_read_end(s->store, txn);
	httpd_reply_json(req, 200, json_pack("{s:O}", "jobs", list));
free_all:
	json_decref(list);
	free(items);
	free(sh);
}

/* One courier's action on a shipment, in one job. */
struct job_act {
	struct shipments *s;
	struct httpd_req *req;
	struct ledger_id id;
	struct httpd_principal who;
	bool accept;
	enum ship_state to;
	char pin[8];
	char note[SHIPMENT_NOTE_MAX + 1];
	/* Filled by the job: */
	int refusal;                      /* 0, or the HTTP status of a refusal */
	const char *code, *why;
	int tries_left;
	struct shipment sh;
};

/* A refusal: nothing changes but what the refusal itself records (a wrong PIN). */
static void job_refuse(struct job_act *a, int status, const char *code, const char *why)
{
	a->refusal = status;
	a->code = code;
	a->why = why;
}

/* Checks a courier's PIN; counts wrong ones and puts the shipment on hold at the limit. */
static int job_check_pin(struct job_act *a, MDB_txn *txn, bool *ok)
{
	bool moved;
	*ok = shipment_pin_ok(a->s, &a->sh, a->pin);
	if (*ok)
		return 0;
	a->sh.pin_tries++;
	a->tries_left = SHIPMENT_PIN_TRIES - a->sh.pin_tries;
	if (a->tries_left > 0) {
		job_refuse(a, 422, "wrong_pin", "the delivery PIN is wrong");
		shipment_event_add(&a->sh, a->sh.state, "courier", "", "a wrong delivery PIN", clock_now_ms());
		return shipment_store(a->s, txn, &a->sh);
	}
	job_refuse(a, 409, "on_hold", "too many wrong PINs: the shipment is on hold for an admin");
	return shipment_advance(a->s, txn, &a->sh, SHIP_ON_HOLD, "courier", "", "too many wrong delivery PINs", &moved);
}

static int job_apply(MDB_txn *txn, void *arg)
{
	struct job_act *a = arg;
	struct shipments *s = a->s;
	bool admin = a->who.role == ROLE_ADMIN, moved, pin_ok;
	char note[SHIPMENT_NOTE_MAX + 1];
	int rc = shipment_load(s, txn, &a->id, &a->sh);
	a->refusal = 0;
	if (rc != 0)
		return rc;
	if (strcmp(a->sh.choice.module, "local") != 0) {
		job_refuse(a, 409, "not_local", "this shipment is with a courier company");
		return 0;
	}
	if (a->accept) {
		MDB_val k = { 16, a->sh.id.b };
		struct courier_profile prof;
		if (a->sh.courier_user_id || a->sh.state != SHIP_PENDING) {
			job_refuse(a, 409, "job_taken", "another courier took this job");
			return 0;
		}
		a->sh.courier_user_id = a->who.user_id;
		/* The buyer's tracking shows who comes: the profile's, or the username without one. */
		rc = profiles_get(s->profiles, txn, a->who.user_id, &prof);
		if (rc != 0 && rc != STORE_ENOTFOUND)
			return rc;
		snprintf(a->sh.driver_name, sizeof(a->sh.driver_name), "%s", rc == 0 ? prof.name : a->who.username);
		snprintf(a->sh.driver_phone, sizeof(a->sh.driver_phone), "%s", rc == 0 ? prof.phone : "");
		snprintf(a->sh.plate, sizeof(a->sh.plate), "%s", rc == 0 ? prof.plate : "");
		rc = mdb_del(txn, s->jobs, &k, NULL);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return rc;
		snprintf(note, sizeof(note), "taken by courier %llu", (unsigned long long)a->who.user_id);
		return shipment_advance(s, txn, &a->sh, SHIP_ALLOCATED, "courier", "", note, &moved);
	}
	if (!admin && a->sh.courier_user_id != a->who.user_id) {
		job_refuse(a, 403, "forbidden", "this shipment is another courier's");
		return 0;
	}
	/* Someone must carry it: an admin steps in on a courier's shipment, never instead of one. */
	if (!a->sh.courier_user_id) {
		job_refuse(a, 409, "not_taken", "no courier has taken this job yet");
		return 0;
	}
	/* On hold, only an admin moves it on (a right PIN after five wrong ones is no way around that). */
	if (!admin && a->sh.state == SHIP_ON_HOLD) {
		job_refuse(a, 409, "on_hold", "the shipment is on hold for an admin");
		return 0;
	}
	if (a->to == SHIP_DELIVERED && !admin) {
		if ((rc = job_check_pin(a, txn, &pin_ok)) != 0 || !pin_ok)
			return rc;
	}
	/* An admin taking a shipment off hold gives the courier their PIN tries back. */
	if (admin && a->sh.state == SHIP_ON_HOLD)
		a->sh.pin_tries = 0;
	rc = shipment_advance(s, txn, &a->sh, a->to, admin ? "admin" : "courier", "", a->note[0] ? a->note : NULL,
			      &moved);
	if (rc == 0 && !moved)
		job_refuse(a, 409, "invalid_state", "the shipment cannot move there now");
	return rc;
}

static void job_done(int status, void *arg)
{
	struct job_act *a = arg;
	json_t *j;
	if (status == STORE_ENOTFOUND) {
		httpd_reply_error(a->req, 404, "not_found", "no such shipment");
	} else if (status != 0) {
		httpd_reply_store_error(a->req, status);
	} else if (a->refusal == 422) {
		httpd_reply_error_with(a->req, 422, a->code, json_pack("{s:i}", "tries_left", a->tries_left),
				       "%s (%d tries left)", a->why, a->tries_left);
	} else if (a->refusal) {
		const char *state = ship_state_name((enum ship_state)a->sh.state);
		httpd_reply_state_error(a->req, a->refusal, a->code, state, "%s (the shipment is %s)", a->why, state);
	} else {
		/* The caller took it (accept) or is its courier or an admin (status). */
		j = shipment_json(&a->sh, true);
		httpd_reply_json(a->req, 200, j);
	}
	free(a);
}

/* Starts an action on the shipment named by {id}. Takes over a (freed on every path). */
static void job_submit(struct shipments *s, struct httpd_req *req, struct job_act *a)
{
	int rc;
	a->s = s;
	a->req = req;
	a->who = *httpd_principal(req);
	if (ledger_id_parse(httpd_param(req, "id"), &a->id) != LEDGER_OK) {
		httpd_reply_error(req, 404, "not_found", "no such shipment");
		free(a);
		return;
	}
	rc = store_submit(s->store, job_apply, job_done, a);
	if (rc != STORE_OK) {
		httpd_reply_store_error(req, rc);
		free(a);
	}
}

static void jobs_handle_accept(struct httpd_req *req, void *ctx)
{
	struct job_act *a = calloc(1, sizeof(*a));
	if (!a) {
		httpd_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	a->accept = true;
	job_submit(ctx, req, a);
}

static void jobs_handle_status(struct httpd_req *req, void *ctx)
{
	static const char *const keys[] = { "status", "pin", "note", NULL };
	static const enum ship_state allowed[] = { SHIP_PICKING_UP, SHIP_PICKED, SHIP_IN_TRANSIT, SHIP_DELIVERED,
						   SHIP_RETURNING, SHIP_RETURNED, SHIP_FAILED };
	struct body_check c = { 0 };
	struct job_act *a;
	const char *status, *pin, *note;
	enum ship_state to = 0;
	json_t *body;
	if (httpd_json_body(req, &body) != 0)
		return;
	body_only(&c, body, keys);
	status = body_str(&c, body, "status", true, 1, 16);
	pin = body_str(&c, body, "pin", false, 6, 6);
	note = body_str(&c, body, "note", false, 1, SHIPMENT_NOTE_MAX);
	if (!c.failed && ship_state_parse(status, &to) != COURIER_OK)
		body_fail(&c, "status", "is not a shipment state");
	for (size_t i = 0; !c.failed && i < sizeof(allowed) / sizeof(allowed[0]) && allowed[i] != to; i++)
		if (i + 1 == sizeof(allowed) / sizeof(allowed[0]))
			body_fail(&c, "status", "must be picking_up, picked, in_transit, delivered, returning, returned or failed");
	if (!c.failed && to == SHIP_DELIVERED && !pin && httpd_principal(req)->role != ROLE_ADMIN)
		body_fail(&c, "pin", "is required to mark a shipment delivered");
	if (c.failed) {
		httpd_reply_error(req, 400, body_error_code(&c), "%s %s", c.field, c.reason);
		return;
	}
	a = calloc(1, sizeof(*a));
	if (!a) {
		httpd_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	a->to = to;
	snprintf(a->pin, sizeof(a->pin), "%s", pin ? pin : "");
	snprintf(a->note, sizeof(a->note), "%s", note ? note : "");
	job_submit(ctx, req, a);
}

static void jobs_handle_get(struct httpd_req *req, void *ctx)
{
	struct shipments *s = ctx;
	const struct httpd_principal *who = httpd_principal(req);
	/* Admins and auditors read every shipment, with the phones. */
	const bool sees_all = who->role == ROLE_ADMIN || who->role == ROLE_AUDITOR;
	struct shipment *sh = malloc(sizeof(*sh));
	struct ledger_id id;
	MDB_txn *txn;
	int rc = sh ? 0 : STORE_ENOMEM;
	if (rc == 0 && ledger_id_parse(httpd_param(req, "id"), &id) != LEDGER_OK)
		rc = STORE_ENOTFOUND;
	if (rc == 0 && (rc = store_read_begin(s->store, &txn)) == 0) {
		rc = shipment_load(s, txn, &id, sh);
		store_read_end(s->store, txn);
	}
	if (rc == STORE_ENOTFOUND)
		httpd_reply_error(req, 404, "not_found", "no such shipment");
	else if (rc != 0)
		httpd_reply_store_error(req, rc);
	else if (!sees_all && sh->courier_user_id != who->user_id &&
		 !(sh->state == SHIP_PENDING && strcmp(sh->choice.module, "local") == 0))
		httpd_reply_error(req, 403, "forbidden", "this shipment is another courier's");
	else
		httpd_reply_json(req, 200, shipment_json(sh, sees_all || sh->courier_user_id == who->user_id));
	free(sh);
}

/* Reads the query of a courier's own list. Returns 0, or -1 when it answered 400 or 403. */
static int jobs_mine_query(struct httpd_req *req, uint64_t *courier, uint8_t *list, uint64_t *limit,
			   struct ledger_id *before, bool *paged)
{
	const struct httpd_principal *who = httpd_principal(req);
	const char *state = httpd_query(req, "state"), *cursor = httpd_query(req, "cursor");
	/* Admins and auditors name any courier. */
	bool admin = who->role == ROLE_ADMIN || who->role == ROLE_AUDITOR;
	if (!state || !state[0] || strcmp(state, "active") == 0) {
		*list = SHIPMENT_LIST_ACTIVE;
	} else if (strcmp(state, "all") == 0) {
		*list = SHIPMENT_LIST_ALL;
	} else {
		httpd_reply_error(req, 400, "invalid_field", "state must be active or all");
		return -1;
	}
	if (httpd_query_u64_or_400(req, "limit", 1, JOBS_MINE_MAX, JOBS_MINE_DEFAULT, limit) != 0 ||
	    httpd_query_u64_or_400(req, "courier", 1, UINT64_MAX, admin ? 0 : who->user_id, courier) != 0)
		return -1;
	if (!*courier) {
		httpd_reply_error(req, 400, "invalid_field",
				  "courier (a courier's user id) is required for an admin or auditor");
		return -1;
	}
	if (!admin && *courier != who->user_id) {
		httpd_reply_error(req, 403, "forbidden", "a courier lists their own shipments only");
		return -1;
	}
	*paged = cursor && cursor[0];
	if (*paged && ledger_id_parse(cursor, before) != LEDGER_OK) {
		httpd_reply_error(req, 400, "invalid_field", "cursor must be a next_cursor this list gave out");
		return -1;
	}
	return 0;
}

/*
 * The shipments a courier took (all, or those not yet over), newest first,
 * read backwards from the cursor (the last id of the page before) through
 * the by-courier index.
 */
static void jobs_handle_mine(struct httpd_req *req, void *ctx)
{
	struct shipments *s = ctx;
	struct shipment *sh = malloc(sizeof(*sh));
	struct ledger_id id = { { 0 } };
	uint64_t courier, limit;
	uint8_t key[SHIPMENT_COURIER_KEY], list;
	json_t *items = json_array(), *j, *reply;
	MDB_val start = { sizeof(key), key }, k, v;
	MDB_cursor *cur = NULL;
	MDB_txn *txn;
	char next[33];
	bool paged, more = false;
	int rc;
	if (!sh || !items) {
		httpd_reply_error(req, 500, "internal", "out of memory");
		goto free_all;
	}
	if (jobs_mine_query(req, &courier, &list, &limit, &id, &paged) != 0)
		goto free_all;
	record_be64_put(key, courier);
	key[8] = list;
	/* The first page starts above every id; the next ones below the cursor's. */
	if (paged)
		memcpy(key + 9, id.b, 16);
	else
		memset(key + 9, 0xff, 16);
	if ((rc = store_read_begin(s->store, &txn)) != 0) {
		httpd_reply_store_error(req, rc);
		goto free_all;
	}
	rc = mdb_cursor_open(txn, s->by_courier, &cur);
	/* The last entry below the start. */
	rc = rc ? rc : store_cursor_last_upto(cur, &start, true, &k, &v);
	for (; rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_PREV)) {
		if (k.mv_size != sizeof(key) || memcmp(k.mv_data, key, 9) != 0)
			break;
		if (json_array_size(items) == limit) {
			more = true;
			break;
		}
		memcpy(id.b, (const uint8_t *)k.mv_data + 9, 16);
		if ((rc = shipment_load(s, txn, &id, sh)) != 0)
			break;
		if (!(j = shipment_json(sh, true))) {
			rc = STORE_ENOMEM;
			break;
		}
		json_array_append_new(items, j);
	}
	if (cur)
		mdb_cursor_close(cur);
	store_read_end(s->store, txn);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		httpd_reply_store_error(req, rc < 0 ? rc : store_status_from_mdb(rc));
		goto free_all;
	}
	ledger_id_hex(&id, next, sizeof(next));
	reply = json_pack("{s:O, s:s?}", "shipments", items, "next_cursor", more ? next : NULL);
	httpd_reply_json(req, 200, reply);
free_all:
	json_decref(items);
	free(sh);
}

int shipment_jobs_attach(struct shipments *s, struct httpd *h)
{
	int rc;
	if ((rc = httpd_route(h, ROUTER_GET, "/api/v1/courier/jobs", ROLE_COURIER | ROLE_ADMIN | ROLE_AUDITOR,
			      jobs_handle_list, s)) ||
	    (rc = httpd_route(h, ROUTER_POST, "/api/v1/shipments/{id}/accept", ROLE_COURIER, jobs_handle_accept, s)) ||
	    (rc = httpd_route(h, ROUTER_POST, "/api/v1/shipments/{id}/status", ROLE_COURIER | ROLE_ADMIN,
			      jobs_handle_status, s)) ||
	    (rc = httpd_route(h, ROUTER_GET, "/api/v1/shipments/{id}", ROLE_COURIER | ROLE_ADMIN | ROLE_AUDITOR,
			      jobs_handle_get, s)) ||
	    (rc = httpd_route(h, ROUTER_GET, "/api/v1/courier/shipments", ROLE_COURIER | ROLE_ADMIN | ROLE_AUDITOR,
			      jobs_handle_mine, s)))
		return rc;
	return 0;
}
