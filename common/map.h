/* map.h: a hash map from byte-string keys to pointers, for the node's in-memory indexes. */
#ifndef BWC_COMMON_MAP_H
#define BWC_COMMON_MAP_H

#include <stddef.h>
#include <stdint.h>

/* Open addressing with linear probing; keys are copied, values are borrowed pointers the
 * caller owns. Deleted slots are tombstones, reclaimed when the table grows or shrinks.
 * Iteration order is unspecified. Not thread-safe. */
typedef struct {
    unsigned char *key; /* NULL: empty; BWC_MAP_TOMB: deleted */
    size_t klen;
    uint64_t hash;
    void *value;
} bwc_map_slot;

typedef struct {
    bwc_map_slot *slots;
    size_t cap;  /* power of two, or 0 */
    size_t used; /* live entries */
    size_t tombs;
    uint64_t seed; /* per-map hash key, so a peer cannot aim keys at one bucket */
} bwc_map;

void bwc_map_init(bwc_map *m);
/* Frees the table and the copied keys (not the values). */
void bwc_map_free(bwc_map *m);
/* Returns the value stored under key, or NULL. */
void *bwc_map_get(const bwc_map *m, const void *key, size_t klen);
/* Stores value (non-NULL) under key, replacing any previous value. Returns 0, or -1 when out of
 * memory (the map is unchanged). */
int bwc_map_put(bwc_map *m, const void *key, size_t klen, void *value);
/* Removes key; returns its value, or NULL when it was absent. */
void *bwc_map_del(bwc_map *m, const void *key, size_t klen);
static inline size_t bwc_map_size(const bwc_map *m)
{
    return m->used;
}
/* Iteration: for (size_t i = 0; bwc_map_next(m, &i, &k, &kl, &v);) ... Removing the entry just
 * returned is allowed; inserting during iteration is not. */
int bwc_map_next(const bwc_map *m, size_t *pos, const unsigned char **key, size_t *klen,
                 void **value);

#endif
