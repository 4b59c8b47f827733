#include "purge.h"

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "clock.h"
#include "log.h"
#include "store.h"

/* Where a pass is, between its jobs. */
struct purge_walk {
	struct purge_config cfg;
	uint8_t last[PURGE_KEY_MAX];  /* the last key looked at */
	size_t last_len;              /* 0: the pass begins at the first key */
	bool finished;                /* the pass reached the end */
	uint64_t dropped;             /* this pass so far */
};

struct purge {
	struct store *store;
	struct event *timer;
	struct purge_walk walk;
	bool running;                 /* a job is out */
	bool stopped;                 /* purge_stop came while a job was out: free when it returns */
};

/*
 * One job: up to PURGE_CHUNK entries after w->last, the expired ones noted
 * while the cursor reads and deleted after it closed (deleting under a
 * cursor moves it in ways that are easy to get wrong).
 */
static int purge_apply(MDB_txn *txn, void *arg)
{
	struct purge_walk *w = arg;
	uint8_t (*gone)[PURGE_KEY_MAX] = malloc(PURGE_CHUNK * sizeof(*gone));
	size_t gone_len[PURGE_CHUNK], ngone = 0, seen = 0;
	int64_t now = w->cfg.now_ms ? w->cfg.now_ms() : clock_now_ms();
	MDB_cursor *cur = NULL;
	MDB_val k, v;
	int rc = gone ? mdb_cursor_open(txn, w->cfg.dbi, &cur) : STORE_ENOMEM;
	if (rc != 0)
		goto free_gone;
	if (w->last_len) {
		k = (MDB_val){ w->last_len, w->last };
		rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
		if (rc == 0 && k.mv_size == w->last_len && memcmp(k.mv_data, w->last, w->last_len) == 0)
			rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
	} else {
		rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
	}
	for (; rc == 0 && seen < PURGE_CHUNK; seen++, rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		if (k.mv_size > PURGE_KEY_MAX) {
			rc = STORE_ECORRUPT;
			break;
		}
		memcpy(w->last, k.mv_data, k.mv_size);
		w->last_len = k.mv_size;
		if (w->cfg.expired(&k, &v, now, w->cfg.ctx)) {
			memcpy(gone[ngone], k.mv_data, k.mv_size);
			gone_len[ngone++] = k.mv_size;
		}
	}
	mdb_cursor_close(cur);
	w->finished = rc == MDB_NOTFOUND;
	if (rc == MDB_NOTFOUND)
		rc = 0;
	for (size_t i = 0; rc == 0 && i < ngone; i++) {
		MDB_val dk = { gone_len[i], gone[i] };
		rc = mdb_del(txn, w->cfg.dbi, &dk, NULL);
	}
	if (rc == 0)
		w->dropped += ngone;
free_gone:
	free(gone);
	return rc > 0 ? store_status_from_mdb(rc) : rc;
}

static void purge_walk_begin(struct purge_walk *w)
{
	w->last_len = 0;
	w->finished = false;
	w->dropped = 0;
}

int purge_pass(struct store *s, const struct purge_config *cfg, uint64_t *dropped)
{
	struct purge_walk *w = calloc(1, sizeof(*w));
	int rc = 0;
	if (!w)
		return STORE_ENOMEM;
	w->cfg = *cfg;
	purge_walk_begin(w);
	while (rc == 0 && !w->finished)
		rc = store_run(s, purge_apply, w);
	*dropped = w->dropped;
	free(w);
	return rc;
}

static void purge_next(struct purge *p);

/* A job of a pass started on the loop: the store lends it the purge. */
static int purge_apply_started(MDB_txn *txn, void *arg)
{
	struct purge *p = arg;
	return purge_apply(txn, &p->walk);
}

static void purge_done(int status, void *arg)
{
	struct purge *p = arg;
	p->running = false;
	if (p->stopped) {
		free(p);
		return;
	}
	if (status != 0) {
		/* The next pass starts over; nothing was lost but this chunk's deletions. */
		log_msg(LOG_WARN, "purge", "%s: a purge job failed: %s", p->walk.cfg.name, store_strerror(status));
		return;
	}
	if (!p->walk.finished) {
		purge_next(p);
		return;
	}
	if (p->walk.dropped)
		log_msg(LOG_INFO, "purge", "%s: %llu past their keeping time dropped", p->walk.cfg.name,
			(unsigned long long)p->walk.dropped);
}

static void purge_next(struct purge *p)
{
	int rc = store_submit(p->store, purge_apply_started, purge_done, p);
	/* A full queue or a stopping store: the next pass tries again. */
	p->running = rc == STORE_OK;
}

static void purge_on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct purge *p = arg;
	(void)fd;
	(void)what;
	if (p->running)
		return;
	purge_walk_begin(&p->walk);
	purge_next(p);
}

int purge_start(struct store *s, struct event_base *base, const struct purge_config *cfg, struct purge **out)
{
	struct timeval every = { (time_t)cfg->interval_s, 0 };
	struct purge *p = calloc(1, sizeof(*p));
	if (!p)
		return STORE_ENOMEM;
	p->store = s;
	p->walk.cfg = *cfg;
	p->timer = event_new(base, -1, EV_PERSIST, purge_on_timer, p);
	if (!p->timer || event_add(p->timer, &every) != 0) {
		if (p->timer)
			event_free(p->timer);
		free(p);
		return STORE_ENOMEM;
	}
	*out = p;
	return 0;
}

void purge_stop(struct purge *p)
{
	if (!p)
		return;
	event_free(p->timer);
	if (p->running)
		p->stopped = true;
	else
		free(p);
}
