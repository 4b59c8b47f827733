/*
 * An open-addressing map from ledger ids to fixed-size slots (linear
 * probing, at most half full), shared by the readers that gather per-id
 * state over many entries: verify, balances as of a sequence, the audit
 * export's replay.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define IDMAP_MIN 64                 /* slots of the smallest map */

static const struct ledger_id idmap_zero;

static size_t idmap_hash(const struct ledger_id *id)
{
	uint64_t hi, lo, h;
	memcpy(&hi, id->b, 8);
	memcpy(&lo, id->b + 8, 8);
	/* Time-ordered ids share their high bytes: mix both halves fully. */
	h = hi * 0x9e3779b97f4a7c15u ^ lo;
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9u;
	h ^= h >> 29;
	return (size_t)h;
}

static bool idmap_free_slot(const void *slot)
{
	return ledger_id_same(slot, &idmap_zero);
}

int ledger_idmap_init(struct ledger_idmap *m, size_t slot_size, size_t expect)
{
	size_t cap = IDMAP_MIN;
	while (cap / 2 < expect) {
		if (cap > SIZE_MAX / 4 / slot_size)
			return LEDGER_ENOMEM;
		cap *= 2;
	}
	m->slots = calloc(cap, slot_size);
	m->slot_size = slot_size;
	m->cap = cap;
	m->len = 0;
	return m->slots ? LEDGER_OK : LEDGER_ENOMEM;
}

void ledger_idmap_free(struct ledger_idmap *m)
{
	free(m->slots);
	m->slots = NULL;
}

/* The slot holding id, or the free slot where it belongs. */
static unsigned char *idmap_probe(const struct ledger_idmap *m, const struct ledger_id *id)
{
	size_t mask = m->cap - 1;
	for (size_t i = idmap_hash(id) & mask;; i = (i + 1) & mask) {
		unsigned char *slot = m->slots + i * m->slot_size;
		if (ledger_id_same(slot, id) || idmap_free_slot(slot))
			return slot;
	}
}

void ledger_idmap_prefetch(const struct ledger_idmap *m, const struct ledger_id *id)
{
	__builtin_prefetch(m->slots + (idmap_hash(id) & (m->cap - 1)) * m->slot_size);
}

void *ledger_idmap_find(const struct ledger_idmap *m, const struct ledger_id *id)
{
	unsigned char *slot = idmap_probe(m, id);
	return idmap_free_slot(slot) ? NULL : slot;
}

int ledger_idmap_reserve(struct ledger_idmap *m, size_t extra)
{
	struct ledger_idmap bigger;
	size_t cap = m->cap;
	if (extra > SIZE_MAX / 2 - m->len)
		return LEDGER_ENOMEM;
	while ((m->len + extra) * 2 > cap) {
		if (cap > SIZE_MAX / 4 / m->slot_size)
			return LEDGER_ENOMEM;
		cap *= 2;
	}
	if (cap == m->cap)
		return LEDGER_OK;
	bigger.slots = calloc(cap, m->slot_size);
	if (!bigger.slots)
		return LEDGER_ENOMEM;
	bigger.slot_size = m->slot_size;
	bigger.cap = cap;
	bigger.len = m->len;
	for (size_t i = 0; i < m->cap; i++) {
		unsigned char *slot = m->slots + i * m->slot_size;
		if (!idmap_free_slot(slot))
			memcpy(idmap_probe(&bigger, (const struct ledger_id *)(const void *)slot), slot, m->slot_size);
	}
	free(m->slots);
	*m = bigger;
	return LEDGER_OK;
}

void *ledger_idmap_put(struct ledger_idmap *m, const struct ledger_id *id, bool *added)
{
	unsigned char *slot = idmap_probe(m, id);
	*added = idmap_free_slot(slot);
	if (*added) {
		memcpy(slot, id, sizeof(*id));
		m->len++;
	}
	return slot;
}

void ledger_idmap_remove(struct ledger_idmap *m, void *slot)
{
	size_t i = (size_t)((unsigned char *)slot - m->slots) / m->slot_size, j = i;
	memset(slot, 0, m->slot_size);
	m->len--;
	/* Moves later slots of the run back, so no probe stops early at the hole. */
	for (;;) {
		unsigned char *s;
		size_t home;
		j = (j + 1) & (m->cap - 1);
		s = m->slots + j * m->slot_size;
		if (idmap_free_slot(s))
			return;
		home = idmap_hash((const struct ledger_id *)(const void *)s) & (m->cap - 1);
		/* j stays when its home lies cyclically in (i, j]. */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		memcpy(m->slots + i * m->slot_size, s, m->slot_size);
		memset(s, 0, m->slot_size);
		i = j;
	}
}

void *ledger_idmap_next(const struct ledger_idmap *m, size_t *pos)
{
	for (; *pos < m->cap; (*pos)++) {
		unsigned char *slot = m->slots + *pos * m->slot_size;
		if (!idmap_free_slot(slot)) {
			(*pos)++;
			return slot;
		}
	}
	return NULL;
}
