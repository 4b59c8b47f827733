/*
 * map: a string-keyed hash table of pointers for the sandbox provider
 * (open addressing, linear probing, tombstones, grows and shrinks by
 * rehashing).
 *
 * Keys are borrowed: the map keeps the caller's pointer, so a key must stay
 * valid and unchanged until its entry is removed (the sandbox uses strings
 * stored inside the record the entry points to). At most SBMAP_MAX entries.
 */
#ifndef BANGSOLEH_SANDBOX_MAP_H
#define BANGSOLEH_SANDBOX_MAP_H

#include <stddef.h>

#define SBMAP_OK 0
#define SBMAP_ENOMEM (-1)
#define SBMAP_EFULL (-2)

#define SBMAP_MAX (1u << 22)

struct sbmap;

/* OUT: *out, freed with sbmap_free. Returns 0 or SBMAP_ENOMEM. */
int sbmap_new(struct sbmap **out);
/* Frees the table (not the keys or values). NULL is allowed. */
void sbmap_free(struct sbmap *m);
/* The value stored under key, or NULL. */
void *sbmap_get(const struct sbmap *m, const char *key);
/* Stores val under key, replacing an existing value. Returns 0 or SBMAP_E*. */
int sbmap_put(struct sbmap *m, const char *key, void *val);
/* Removes key if present. */
void sbmap_del(struct sbmap *m, const char *key);
/* Removes key only while it maps to val (a newer record may have taken the key). */
void sbmap_del_if(struct sbmap *m, const char *key, const void *val);

#endif
