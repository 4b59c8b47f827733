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
	_Alignas(64) struct ledger_account a;   /* its first 64 bytes: one cache line */
	bool valid;              /* `a` is the committed value */
	uint64_t touched;        /* the batch generation that last wrote it */
};

/* A value written by a job, for the entry behind `handle`. */
struct staged {
	uint32_t handle;
	struct ledger_account a;
};

struct ledger_cache {
	uint64_t *slots;         /* hash tag in the high 32 bits, position + 1 in the low; 0 = empty */
	struct cache_entry *entries;
	size_t n, cap;
	uint64_t generation;     /* the current batch; starts at 1 */
	struct staged *staged;   /* written in this batch: kept jobs' values, then the running job's */
	size_t nstaged, staged_cap;
	size_t kept;             /* staged[0..kept) belong to jobs the store kept */
};

static uint64_t cache_hash(const struct ledger_id *id)
{
	uint64_t h = ledger_get_u64(id->b + 8) ^ (ledger_get_u64(id->b) * 0x9e3779b97f4a7c15ull);
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 29);
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
	free(c->staged);
	free(c);
}

/* The entry's handle (position + 1) for id; with `add`, a new entry when there is room. 0 otherwise. */
uint32_t ledger_cache_find(struct ledger_cache *c, const struct ledger_id *id, bool add)
{
	uint64_t h = cache_hash(id);
	uint32_t tag = (uint32_t)(h >> 32);
	size_t i = (size_t)h & (LEDGER_CACHE_SLOTS - 1);
	struct cache_entry *e;
	/* The tag spares a visit to the (large, cold) entry for most slots that are not it. */
	for (; c->slots[i]; i = (i + 1) & (LEDGER_CACHE_SLOTS - 1)) {
		if ((uint32_t)(c->slots[i] >> 32) != tag)
			continue;
		if (memcmp(c->entries[(uint32_t)c->slots[i] - 1].a.id.b, id->b, 16) == 0)
			return (uint32_t)c->slots[i];
	}
	if (!add || c->n == LEDGER_CACHE_MAX)
		return 0;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 1024;
		struct cache_entry *n = ledger_realloc_aligned(c->entries, c->cap * sizeof(*n), cap * sizeof(*n));
		if (!n)
			return 0;
		c->entries = n;
		c->cap = cap;
	}
	e = &c->entries[c->n];
	memset(e, 0, sizeof(*e));
	e->a.id = *id;
	c->slots[i] = (uint64_t)tag << 32 | (uint64_t)++c->n;
	return (uint32_t)c->n;
}

bool ledger_cache_get(struct ledger_cache *c, uint32_t handle, struct ledger_account *out)
{
	struct cache_entry *e = &c->entries[handle - 1];
	if (!e->valid || e->touched == c->generation)
		return false;
	*out = e->a;
	return true;
}

void ledger_cache_seen(struct ledger_cache *c, uint32_t handle, const struct ledger_account *a)
{
	struct cache_entry *e = &c->entries[handle - 1];
	/* Read from the transaction: the committed value unless this batch wrote it. */
	if (e->touched != c->generation) {
		e->a = *a;
		e->valid = true;
	}
}

int ledger_cache_stage(struct ledger_cache *c, uint32_t handle, const struct ledger_account *a)
{
	c->entries[handle - 1].touched = c->generation;
	if (c->nstaged == c->staged_cap) {
		size_t cap = c->staged_cap ? c->staged_cap * 2 : 256;
		struct staged *n = realloc(c->staged, cap * sizeof(*n));
		if (!n)
			return LEDGER_ENOMEM;
		c->staged = n;
		c->staged_cap = cap;
	}
	c->staged[c->nstaged].handle = handle;
	c->staged[c->nstaged].a = *a;
	c->nstaged++;
	return LEDGER_OK;
}

void ledger_cache_job_end(bool kept, void *ctx)
{
	struct ledger_cache *c = ctx;
	/* A dropped job's values go; its accounts stay marked as written, so they are read from storage. */
	if (kept)
		c->kept = c->nstaged;
	else
		c->nstaged = c->kept;
}

void ledger_cache_batch_end(bool committed, void *ctx)
{
	struct ledger_cache *c = ctx;
	for (size_t i = 0; committed && i < c->kept; i++) {
		struct cache_entry *e = &c->entries[c->staged[i].handle - 1];
		e->a = c->staged[i].a;
		e->valid = true;
	}
	c->nstaged = c->kept = 0;
	/* A new generation: nothing counts as written by the batch in progress. */
	c->generation++;
}
