/* store.c: LevelDB through its C API. Every write that moves the chain is one synced batch. */
#include "node/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <leveldb/c.h>

#include "common/log.h"

struct bwc_store {
    leveldb_t *db;
    leveldb_options_t *opts;
    leveldb_cache_t *cache;
    leveldb_filterpolicy_t *filter;
    leveldb_readoptions_t *ropts;
    leveldb_writeoptions_t *wopts;
};

struct bwc_batch {
    leveldb_writebatch_t *wb;
};

bwc_store *bwc_store_open(const char *path, char *err, size_t errlen)
{
    bwc_store *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->opts = leveldb_options_create();
    s->cache = leveldb_cache_create_lru(32u << 20);
    s->filter = leveldb_filterpolicy_create_bloom(10);
    leveldb_options_set_create_if_missing(s->opts, 1);
    leveldb_options_set_cache(s->opts, s->cache);
    leveldb_options_set_filter_policy(s->opts, s->filter);
    leveldb_options_set_max_open_files(s->opts, 256);
    leveldb_options_set_paranoid_checks(s->opts, 1);
    s->ropts = leveldb_readoptions_create();
    leveldb_readoptions_set_verify_checksums(s->ropts, 1);
    s->wopts = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(s->wopts, 1);
    char *lerr = NULL;
    s->db = leveldb_open(s->opts, path, &lerr);
    if (lerr) {
        snprintf(err, errlen, "cannot open database %s: %s", path, lerr);
        leveldb_free(lerr);
        bwc_store_close(s);
        return NULL;
    }
    return s;
}

void bwc_store_close(bwc_store *s)
{
    if (!s)
        return;
    if (s->db)
        leveldb_close(s->db);
    if (s->ropts)
        leveldb_readoptions_destroy(s->ropts);
    if (s->wopts)
        leveldb_writeoptions_destroy(s->wopts);
    if (s->opts)
        leveldb_options_destroy(s->opts);
    if (s->filter)
        leveldb_filterpolicy_destroy(s->filter);
    if (s->cache)
        leveldb_cache_destroy(s->cache);
    free(s);
}

int bwc_store_get(bwc_store *s, const void *key, size_t klen, bwc_buf *out)
{
    char *lerr = NULL;
    size_t vlen = 0;
    char *v = leveldb_get(s->db, s->ropts, key, klen, &vlen, &lerr);
    if (lerr) {
        bwc_log(BWC_LOG_ERROR, "database read failed: %s", lerr);
        leveldb_free(lerr);
        return -1;
    }
    if (!v)
        return 0;
    bwc_buf_append(out, v, vlen);
    leveldb_free(v);
    return out->oom ? -1 : 1;
}

static int view_get(void *ctx, const unsigned char *key, size_t klen, bwc_buf *out)
{
    return bwc_store_get(ctx, key, klen, out);
}

static int view_put(void *ctx, const unsigned char *key, size_t klen, const unsigned char *val,
                    size_t vlen)
{
    (void)ctx, (void)key, (void)klen, (void)val, (void)vlen;
    bwc_log(BWC_LOG_ERROR, "write through a read-only store view");
    return -1;
}

bwc_state_view bwc_store_view(bwc_store *s)
{
    bwc_state_view v = {s, view_get, view_put};
    return v;
}

int bwc_store_scan(bwc_store *s, const void *prefix, size_t plen, int reverse,
                   bwc_store_iter_fn fn, void *ctx)
{
    leveldb_iterator_t *it = leveldb_create_iterator(s->db, s->ropts);
    if (!reverse) {
        leveldb_iter_seek(it, prefix, plen);
    } else {
        /* Seek past the prefix range (prefix with its last byte incremented, carrying), then
         * step back. */
        unsigned char end[256];
        size_t elen = plen < sizeof end ? plen : sizeof end;
        memcpy(end, prefix, elen);
        while (elen > 0 && end[elen - 1] == 0xff)
            elen--;
        if (elen == 0) {
            leveldb_iter_seek_to_last(it);
        } else {
            end[elen - 1]++;
            leveldb_iter_seek(it, (const char *)end, elen);
            if (leveldb_iter_valid(it))
                leveldb_iter_prev(it);
            else
                leveldb_iter_seek_to_last(it);
        }
    }
    int rc = 0;
    for (; leveldb_iter_valid(it); reverse ? leveldb_iter_prev(it) : leveldb_iter_next(it)) {
        size_t klen, vlen;
        const char *k = leveldb_iter_key(it, &klen);
        if (klen < plen || memcmp(k, prefix, plen) != 0)
            break;
        const char *v = leveldb_iter_value(it, &vlen);
        rc = fn(ctx, (const unsigned char *)k, klen, (const unsigned char *)v, vlen);
        if (rc)
            break;
    }
    char *lerr = NULL;
    leveldb_iter_get_error(it, &lerr);
    if (lerr) {
        bwc_log(BWC_LOG_ERROR, "database scan failed: %s", lerr);
        leveldb_free(lerr);
        rc = -1;
    }
    leveldb_iter_destroy(it);
    return rc;
}

bwc_batch *bwc_batch_new(void)
{
    bwc_batch *b = malloc(sizeof *b);
    if (!b)
        return NULL;
    b->wb = leveldb_writebatch_create();
    return b;
}

void bwc_batch_free(bwc_batch *b)
{
    if (!b)
        return;
    leveldb_writebatch_destroy(b->wb);
    free(b);
}

void bwc_batch_put(bwc_batch *b, const void *key, size_t klen, const void *val, size_t vlen)
{
    leveldb_writebatch_put(b->wb, key, klen, val, vlen);
}

void bwc_batch_del(bwc_batch *b, const void *key, size_t klen)
{
    leveldb_writebatch_delete(b->wb, key, klen);
}

int bwc_store_write(bwc_store *s, bwc_batch *b)
{
    char *lerr = NULL;
    leveldb_write(s->db, s->wopts, b->wb, &lerr);
    if (lerr) {
        bwc_log(BWC_LOG_ERROR, "database write failed: %s", lerr);
        leveldb_free(lerr);
        return -1;
    }
    return 0;
}

void bwc_put_u64be(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

uint64_t bwc_get_u64be(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

void bwc_put_u32be(unsigned char *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = (unsigned char)v;
}

uint32_t bwc_get_u32be(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = v << 8 | p[i];
    return v;
}
