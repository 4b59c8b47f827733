/*
 * The writer's memory of account balances across calls.
 *
 * A busy ledger touches the same accounts batch after batch; reading each
 * back from LMDB every time costs a B-tree search and a decode. The cache
 * keeps each account as last committed. Values a job writes are staged and
 * reach the cache only when the store reports the job kept and its batch
 * committed; an account written in the current batch is read from the
 * transaction instead (its cached value is then older than the truth). So
 * a job or batch that rolls back leaves the cache exactly as it was.
 *
 * Only the writer thread uses it. Bounded: past LEDGER_CACHE_MAX accounts,
 * the rest are simply read from storage.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define LEDGER_CACHE_MAX 65536
#define LEDGER_CACHE_SLOTS (2 * LEDGER_CACHE_MAX)

struct cache_entry {
	struct ledger_account a;
	bool valid;              /* `a` is the committed value */
	uint64_t touched;        /* the batch generation that last wrote it */
};

struct ledger_cache {
	uint32_t *slots;         /* position + 1; 0 = empty */
	struct cache_entry *entries;
	size_t n, cap;
	uint64_t generation;     /* the current batch; starts at 1 */
	struct ledger_account *job;      /* staged by the running job */
	size_t njob, job_cap;
	struct ledger_account *batch;    /* staged by kept jobs of this batch */
	size_t nbatch, batch_cap;
};

static size_t cache_hash(const struct ledger_id *id)
{
	uint64_t h = ledger_get_u64(id->b + 8) ^ (ledger_get_u64(id->b) * 0x9e3779b97f4a7c15ull);
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	return (size_t)(h ^ (h >> 29));
}

int ledger_cache_new(struct ledger_cache **out)
{
	struct ledger_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return LEDGER_ENOMEM;
	c->slots = calloc(LEDGER_CACHE_SLOTS, sizeof(*c->slots));
	if (!c->slots) {
		free(c);
		return LEDGER_ENOMEM;
	}
	c->generation = 1;
	*out = c;
	return LEDGER_OK;
}

void ledger_cache_free(struct ledger_cache *c)
{
	if (!c)
		return;
	free(c->slots);
	free(c->entries);
	free(c->job);
	free(c->batch);
	free(c);
}

/* The entry for id; with `add`, a new one when absent and there is room. NULL otherwise. */
static struct cache_entry *cache_find(struct ledger_cache *c, const struct ledger_id *id, bool add)
{
	size_t i = cache_hash(id) % LEDGER_CACHE_SLOTS;
	struct cache_entry *e;
	for (; c->slots[i]; i = (i + 1) % LEDGER_CACHE_SLOTS) {
		e = &c->entries[c->slots[i] - 1];
		if (memcmp(e->a.id.b, id->b, 16) == 0)
			return e;
	}
	if (!add || c->n == LEDGER_CACHE_MAX)
		return NULL;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 1024;
		struct cache_entry *n = realloc(c->entries, cap * sizeof(*n));
		if (!n)
			return NULL;
		c->entries = n;
		c->cap = cap;
	}
	e = &c->entries[c->n];
	memset(e, 0, sizeof(*e));
	e->a.id = *id;
	c->slots[i] = (uint32_t)++c->n;
	return e;
}

bool ledger_cache_get(struct ledger_cache *c, const struct ledger_id *id, struct ledger_account *out)
{
	struct cache_entry *e = cache_find(c, id, false);
	if (!e || !e->valid || e->touched == c->generation)
		return false;
	*out = e->a;
	return true;
}

void ledger_cache_seen(struct ledger_cache *c, const struct ledger_account *a)
{
	struct cache_entry *e = cache_find(c, &a->id, true);
	/* Read from the transaction: the committed value unless this batch wrote it. */
	if (e && e->touched != c->generation) {
		e->a = *a;
		e->valid = true;
	}
}

static int cache_push(struct ledger_account **list, size_t *n, size_t *cap, const struct ledger_account *a)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		struct ledger_account *l = realloc(*list, ncap * sizeof(*l));
		if (!l)
			return LEDGER_ENOMEM;
		*list = l;
		*cap = ncap;
	}
	(*list)[(*n)++] = *a;
	return LEDGER_OK;
}

int ledger_cache_stage(struct ledger_cache *c, const struct ledger_account *a)
{
	struct cache_entry *e = cache_find(c, &a->id, true);
	if (!e)
		return LEDGER_OK;    /* not cached: always read from storage */
	e->touched = c->generation;
	return cache_push(&c->job, &c->njob, &c->job_cap, a);
}

void ledger_cache_job_end(bool kept, void *ctx)
{
	struct ledger_cache *c = ctx;
	for (size_t i = 0; kept && i < c->njob; i++) {
		/* Out of memory here: forget the account, so it is read from storage. */
		if (cache_push(&c->batch, &c->nbatch, &c->batch_cap, &c->job[i]) != LEDGER_OK) {
			struct cache_entry *e = cache_find(c, &c->job[i].id, false);
			if (e)
				e->valid = false;
		}
	}
	c->njob = 0;
}

void ledger_cache_batch_end(bool committed, void *ctx)
{
	struct ledger_cache *c = ctx;
	for (size_t i = 0; committed && i < c->nbatch; i++) {
		struct cache_entry *e = cache_find(c, &c->batch[i].id, false);
		if (e) {
			e->a = c->batch[i];
			e->valid = true;
		}
	}
	c->nbatch = 0;
	c->njob = 0;
	/* A new generation: nothing counts as written by the batch in progress. */
	c->generation++;
}
