#include "ratelimit.h"

#include <stdlib.h>
#include <string.h>

struct ratelimit_slot {
	char key[RATELIMIT_KEY_MAX + 1];   /* "" when free */
	int64_t window_start_ms;
	uint32_t count;
};

struct ratelimit {
	struct ratelimit_slot *slots;
	size_t nslots;
	int64_t window_ms;
};

int ratelimit_new(size_t slots, int64_t window_ms, struct ratelimit **out)
{
	struct ratelimit *rl = calloc(1, sizeof(*rl));
	if (!rl || slots == 0)
		goto free_rl;
	rl->slots = calloc(slots, sizeof(*rl->slots));
	if (!rl->slots)
		goto free_rl;
	rl->nslots = slots;
	rl->window_ms = window_ms;
	*out = rl;
	return 0;
free_rl:
	free(rl);
	return -1;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	free(rl->slots);
	free(rl);
}

/* FNV-1a over the key; placement only, keys are compared in full. */
static uint64_t ratelimit_hash(const char *key)
{
	uint64_t h = 1469598103934665603ull;
	for (; *key; key++) {
		h ^= (unsigned char)*key;
		h *= 1099511628211ull;
	}
	return h;
}

static bool ratelimit_reusable(const struct ratelimit *rl, const struct ratelimit_slot *s,
			       int64_t now_ms)
{
	return s->key[0] == '\0' || now_ms - s->window_start_ms >= rl->window_ms;
}

/*
 * The key's slot, or NULL. With `claim`, a missing key gets a slot: a free
 * or expired one if the probe finds one, else the oldest window's.
 */
static struct ratelimit_slot *ratelimit_find(struct ratelimit *rl, const char *key, int64_t now_ms,
					     bool claim)
{
	size_t start = (size_t)(ratelimit_hash(key) % rl->nslots);
	struct ratelimit_slot *victim = NULL;
	for (size_t i = 0; i < RATELIMIT_PROBE && i < rl->nslots; i++) {
		struct ratelimit_slot *s = &rl->slots[(start + i) % rl->nslots];
		if (s->key[0] && strcmp(s->key, key) == 0)
			return s;
		if (!victim || (ratelimit_reusable(rl, s, now_ms) && !ratelimit_reusable(rl, victim, now_ms)) ||
		    (!ratelimit_reusable(rl, victim, now_ms) && s->window_start_ms < victim->window_start_ms))
			victim = s;
	}
	if (!claim)
		return NULL;
	victim->key[0] = '\0';
	return victim;
}

bool ratelimit_exceeded(struct ratelimit *rl, const char *key, uint32_t max, int64_t now_ms,
			int64_t *retry_after_s)
{
	struct ratelimit_slot *s = ratelimit_find(rl, key, now_ms, false);
	if (!s || ratelimit_reusable(rl, s, now_ms) || s->count < max)
		return false;
	*retry_after_s = (s->window_start_ms + rl->window_ms - now_ms + 999) / 1000;
	return true;
}

void ratelimit_hit(struct ratelimit *rl, const char *key, int64_t now_ms)
{
	struct ratelimit_slot *s;
	if (strlen(key) > RATELIMIT_KEY_MAX)
		return;
	s = ratelimit_find(rl, key, now_ms, true);
	if (s->key[0] == '\0' || now_ms - s->window_start_ms >= rl->window_ms) {
		strcpy(s->key, key);
		s->window_start_ms = now_ms;
		s->count = 0;
	}
	if (s->count < UINT32_MAX)
		s->count++;
}

void ratelimit_clear(struct ratelimit *rl, const char *key)
{
	struct ratelimit_slot *s = ratelimit_find(rl, key, INT64_MIN, false);
	if (s)
		s->key[0] = '\0';
}
