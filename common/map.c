/* map.c: open addressing with linear probing over a seeded FNV-1a hash. */
#include "common/map.h"

#include <stdlib.h>
#include <string.h>

#include "common/random.h"

static unsigned char tomb_marker;
#define TOMB (&tomb_marker)

static uint64_t map_hash(uint64_t seed, const unsigned char *p, size_t n)
{
    /* FNV-1a over the seed and the bytes, finished with a 64-bit mixer (splitmix64) so that
     * the low bits used for the bucket depend on every input bit. */
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

void bwc_map_init(bwc_map *m)
{
    memset(m, 0, sizeof *m);
    if (bwc_random_bytes(&m->seed, sizeof m->seed) != 0)
        m->seed = 0x9e3779b97f4a7c15ULL;
}

void bwc_map_free(bwc_map *m)
{
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key && m->slots[i].key != TOMB)
            free(m->slots[i].key);
    free(m->slots);
    uint64_t seed = m->seed;
    memset(m, 0, sizeof *m);
    m->seed = seed;
}

static bwc_map_slot *find(const bwc_map *m, const void *key, size_t klen, uint64_t h)
{
    if (m->cap == 0)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = h & mask, n = 0; n < m->cap; i = (i + 1) & mask, n++) {
        bwc_map_slot *s = &m->slots[i];
        if (!s->key)
            return NULL;
        if (s->key != TOMB && s->hash == h && s->klen == klen && memcmp(s->key, key, klen) == 0)
            return s;
    }
    return NULL;
}

static int resize(bwc_map *m, size_t cap)
{
    bwc_map_slot *slots = calloc(cap, sizeof *slots);
    if (!slots)
        return -1;
    for (size_t i = 0; i < m->cap; i++) {
        bwc_map_slot *s = &m->slots[i];
        if (!s->key || s->key == TOMB)
            continue;
        size_t j = s->hash & (cap - 1);
        while (slots[j].key)
            j = (j + 1) & (cap - 1);
        slots[j] = *s;
    }
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    m->tombs = 0;
    return 0;
}

void *bwc_map_get(const bwc_map *m, const void *key, size_t klen)
{
    bwc_map_slot *s = find(m, key, klen, map_hash(m->seed, key, klen));
    return s ? s->value : NULL;
}

int bwc_map_put(bwc_map *m, const void *key, size_t klen, void *value)
{
    uint64_t h = map_hash(m->seed, key, klen);
    bwc_map_slot *s = find(m, key, klen, h);
    if (s) {
        s->value = value;
        return 0;
    }
    /* Keep the load (live + tombstones) under 3/4. */
    if ((m->used + m->tombs + 1) * 4 > m->cap * 3) {
        size_t cap = m->cap ? m->cap : 16;
        while ((m->used + 1) * 2 > cap)
            cap *= 2;
        if (resize(m, cap) != 0)
            return -1;
    }
    unsigned char *k = malloc(klen ? klen : 1);
    if (!k)
        return -1;
    memcpy(k, key, klen);
    size_t mask = m->cap - 1;
    size_t i = h & mask;
    while (m->slots[i].key && m->slots[i].key != TOMB)
        i = (i + 1) & mask;
    if (m->slots[i].key == TOMB)
        m->tombs--;
    m->slots[i] = (bwc_map_slot){k, klen, h, value};
    m->used++;
    return 0;
}

void *bwc_map_del(bwc_map *m, const void *key, size_t klen)
{
    bwc_map_slot *s = find(m, key, klen, map_hash(m->seed, key, klen));
    if (!s)
        return NULL;
    void *v = s->value;
    free(s->key);
    s->key = TOMB;
    s->value = NULL;
    m->used--;
    m->tombs++;
    return v;
}

int bwc_map_next(const bwc_map *m, size_t *pos, const unsigned char **key, size_t *klen,
                 void **value)
{
    for (; *pos < m->cap; (*pos)++) {
        bwc_map_slot *s = &m->slots[*pos];
        if (s->key && s->key != TOMB) {
            *key = s->key;
            *klen = s->klen;
            *value = s->value;
            (*pos)++;
            return 1;
        }
    }
    return 0;
}
