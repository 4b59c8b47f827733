/*
 * The writer's memory of accounts across calls.
 *
 * A busy ledger touches the same accounts batch after batch; reading each
 * back from LMDB every time costs a B-tree search and a decode. The cache
 * holds each account as the writer's transaction sees it, and the ledger
 * reads and changes accounts in place here. Every change (including taking
 * a value in from storage) first saves the entry's previous state, once per
 * job; when the store reports a job dropped, its saved states are put back,
 * and when a batch is abandoned, all of the batch's. So the cache always
 * agrees with what the transaction holds, and a job or batch that rolls
 * back leaves it exactly as it was.
 *
 * Only the writer thread uses it. Entries never move (the ledger holds
 * pointers to them during a call): all LEDGER_CACHE_MAX are reserved at
 * once, as address space the system fills only as it is used. Past that
 * many accounts, the rest are simply read from storage each time.
 */
#include "internal.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define LEDGER_CACHE_MAX 65536
#define LEDGER_CACHE_SLOTS (2 * LEDGER_CACHE_MAX)

_Static_assert(offsetof(struct ledger_account, timestamp) == 64,
	       "the fields a transfer touches fill the first cache line of an account");

struct cache_entry {
	_Alignas(64) struct ledger_account a;   /* its first 64 bytes: one cache line */
	bool valid;              /* `a` is what the transaction holds */
	uint64_t saved_job;      /* the job that last saved its state */
};

/* An entry's state before the job that changed it. */
struct saved {
	uint32_t handle;
	bool valid;
	struct ledger_account a;
};

struct ledger_cache {
	uint64_t *slots;         /* hash tag in the high 32 bits, position + 1 in the low; 0 = empty */
	struct cache_entry *entries;   /* LEDGER_CACHE_MAX, reserved once: they never move */
	size_t n;
	uint64_t job;            /* the running job; starts at 1 */
	struct saved *saved;     /* this batch's saved states, oldest first */
	size_t nsaved, saved_cap;
	size_t kept;             /* saved[0..kept) belong to jobs the store kept */
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
	c->entries = aligned_alloc(64, LEDGER_CACHE_MAX * sizeof(struct cache_entry));
	if (!c->slots || !c->entries) {
		free(c->slots);
		free(c->entries);
		free(c);
		return LEDGER_ENOMEM;
	}
	c->job = 1;
	*out = c;
	return LEDGER_OK;
}

void ledger_cache_free(struct ledger_cache *c)
{
	if (!c)
		return;
	free(c->slots);
	free(c->entries);
	free(c->saved);
	free(c);
}

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
	e = &c->entries[c->n];
	memset(e, 0, sizeof(*e));
	e->a.id = *id;
	c->slots[i] = (uint64_t)tag << 32 | (uint64_t)++c->n;
	return (uint32_t)c->n;
}

struct ledger_account *ledger_cache_get(struct ledger_cache *c, uint32_t handle)
{
	struct cache_entry *e = &c->entries[handle - 1];
	return e->valid ? &e->a : NULL;
}

struct ledger_account *ledger_cache_change(struct ledger_cache *c, uint32_t handle)
{
	struct cache_entry *e = &c->entries[handle - 1];
	if (e->saved_job != c->job) {
		if (c->nsaved == c->saved_cap) {
			size_t cap = c->saved_cap ? c->saved_cap * 2 : 256;
			struct saved *n = realloc(c->saved, cap * sizeof(*n));
			if (!n)
				return NULL;
			c->saved = n;
			c->saved_cap = cap;
		}
		c->saved[c->nsaved].handle = handle;
		c->saved[c->nsaved].valid = e->valid;
		c->saved[c->nsaved].a = e->a;
		c->nsaved++;
		e->saved_job = c->job;
	}
	e->valid = true;
	return &e->a;
}

/* Puts back saved states from the newest down to saved[to]. */
static void cache_restore(struct ledger_cache *c, size_t to)
{
	while (c->nsaved > to) {
		const struct saved *s = &c->saved[--c->nsaved];
		struct cache_entry *e = &c->entries[s->handle - 1];
		e->a = s->a;
		e->valid = s->valid;
		e->saved_job = 0;
	}
}

void ledger_cache_job_end(bool kept, void *ctx)
{
	struct ledger_cache *c = ctx;
	if (kept)
		c->kept = c->nsaved;
	else
		cache_restore(c, c->kept);
	c->job++;
}

void ledger_cache_batch_end(bool committed, void *ctx)
{
	struct ledger_cache *c = ctx;
	if (!committed)
		cache_restore(c, 0);
	c->nsaved = c->kept = 0;
	c->job++;
}
