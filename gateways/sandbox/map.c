#include "map.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SBMAP_MIN_CAP 16

/* A slot holds a key, is empty (key NULL) or a tombstone (key == &tombstone). */
static const char tombstone;

struct sbmap_slot {
	const char *key;
	void *val;
	uint64_t hash;
};

struct sbmap {
	struct sbmap_slot *slots;
	size_t cap;          /* a power of two */
	size_t count;        /* live entries */
	size_t dead;         /* tombstones */
};

/* FNV-1a: keys are short ids chosen by the sandbox or its loopback callers. */
static uint64_t sbmap_hash(const char *key)
{
	uint64_t h = 1469598103934665603ull;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		h ^= *p;
		h *= 1099511628211ull;
	}
	return h;
}

static bool sbmap_live(const struct sbmap_slot *s)
{
	return s->key != NULL && s->key != &tombstone;
}

/* The slot of key, or NULL. */
static struct sbmap_slot *sbmap_find(const struct sbmap *m, const char *key, uint64_t h)
{
	size_t mask = m->cap - 1;
	for (size_t i = h & mask, n = 0; n < m->cap; i = (i + 1) & mask, n++) {
		struct sbmap_slot *s = &m->slots[i];
		if (s->key == NULL)
			return NULL;
		if (s->key != &tombstone && s->hash == h && strcmp(s->key, key) == 0)
			return s;
	}
	return NULL;
}

/* Moves every live entry into a fresh table of `cap` slots. */
static int sbmap_rehash(struct sbmap *m, size_t cap)
{
	struct sbmap_slot *old = m->slots;
	size_t old_cap = m->cap;
	struct sbmap_slot *slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return SBMAP_ENOMEM;
	for (size_t i = 0; i < old_cap; i++) {
		if (!sbmap_live(&old[i]))
			continue;
		size_t j = old[i].hash & (cap - 1);
		while (slots[j].key)
			j = (j + 1) & (cap - 1);
		slots[j] = old[i];
	}
	free(old);
	m->slots = slots;
	m->cap = cap;
	m->dead = 0;
	return SBMAP_OK;
}

int sbmap_new(struct sbmap **out)
{
	struct sbmap *m = calloc(1, sizeof(*m));
	if (!m)
		return SBMAP_ENOMEM;
	m->slots = calloc(SBMAP_MIN_CAP, sizeof(*m->slots));
	if (!m->slots) {
		free(m);
		return SBMAP_ENOMEM;
	}
	m->cap = SBMAP_MIN_CAP;
	*out = m;
	return SBMAP_OK;
}

void sbmap_free(struct sbmap *m)
{
	if (!m)
		return;
	free(m->slots);
	free(m);
}

void *sbmap_get(const struct sbmap *m, const char *key)
{
	struct sbmap_slot *s = sbmap_find(m, key, sbmap_hash(key));
	return s ? s->val : NULL;
}

int sbmap_put(struct sbmap *m, const char *key, void *val)
{
	uint64_t h = sbmap_hash(key);
	struct sbmap_slot *s = sbmap_find(m, key, h);
	size_t i;
	if (s) {
		s->key = key;
		s->val = val;
		return SBMAP_OK;
	}
	if (m->count >= SBMAP_MAX)
		return SBMAP_EFULL;
	/* Keep at most 3/4 of the slots used (live or dead) so probes stay short. */
	if ((m->count + m->dead + 1) * 4 > m->cap * 3) {
		size_t cap = SBMAP_MIN_CAP;
		while (cap < (m->count + 1) * 2)
			cap *= 2;
		if (sbmap_rehash(m, cap) != SBMAP_OK)
			return SBMAP_ENOMEM;
	}
	i = h & (m->cap - 1);
	while (sbmap_live(&m->slots[i]))
		i = (i + 1) & (m->cap - 1);
	if (m->slots[i].key == &tombstone)
		m->dead--;
	m->slots[i].key = key;
	m->slots[i].val = val;
	m->slots[i].hash = h;
	m->count++;
	return SBMAP_OK;
}

/* Turns a slot into a tombstone; shrinks a mostly empty table (failure to shrink is harmless). */
static void sbmap_remove(struct sbmap *m, struct sbmap_slot *s)
{
	s->key = &tombstone;
	s->val = NULL;
	m->count--;
	m->dead++;
	if (m->cap > SBMAP_MIN_CAP && m->count * 8 < m->cap)
		(void)sbmap_rehash(m, m->cap / 2);
}

void sbmap_del(struct sbmap *m, const char *key)
{
	struct sbmap_slot *s = sbmap_find(m, key, sbmap_hash(key));
	if (s)
		sbmap_remove(m, s);
}

void sbmap_del_if(struct sbmap *m, const char *key, const void *val)
{
	struct sbmap_slot *s = sbmap_find(m, key, sbmap_hash(key));
	if (s && s->val == val)
		sbmap_remove(m, s);
}
