/* overlay.c: a map of pending writes plus the values they replace. */
#include "node/overlay.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    int present; /* 0: the write is a delete */
    bwc_buf val;
    int old_present;
    bwc_buf old;
} overlay_entry;

static void entry_free(overlay_entry *e)
{
    bwc_buf_free(&e->val);
    bwc_buf_free(&e->old);
    free(e);
}

void bwc_overlay_init(bwc_overlay *o, const bwc_state_view *base)
{
    o->base = base;
    bwc_map_init(&o->map);
    o->failed = 0;
}

void bwc_overlay_clear(bwc_overlay *o)
{
    const unsigned char *k;
    size_t kl;
    void *v;
    for (size_t i = 0; bwc_map_next(&o->map, &i, &k, &kl, &v);)
        entry_free(v);
    bwc_map_free(&o->map);
    o->failed = 0;
}

void bwc_overlay_free(bwc_overlay *o)
{
    bwc_overlay_clear(o);
}

static int ov_get(void *ctx, const unsigned char *key, size_t klen, bwc_buf *out)
{
    bwc_overlay *o = ctx;
    overlay_entry *e = bwc_map_get(&o->map, key, klen);
    if (!e)
        return o->base->get(o->base->ctx, key, klen, out);
    if (!e->present)
        return 0;
    bwc_buf_append(out, e->val.data, e->val.len);
    return out->oom ? -1 : 1;
}

static int ov_put(void *ctx, const unsigned char *key, size_t klen, const unsigned char *val,
                  size_t vlen)
{
    bwc_overlay *o = ctx;
    overlay_entry *e = bwc_map_get(&o->map, key, klen);
    if (!e) {
        e = calloc(1, sizeof *e);
        if (!e)
            goto fail;
        int rc = o->base->get(o->base->ctx, key, klen, &e->old);
        if (rc < 0 || bwc_map_put(&o->map, key, klen, e) != 0) {
            entry_free(e);
            goto fail;
        }
        e->old_present = rc;
    }
    bwc_buf_reset(&e->val);
    e->present = val != NULL;
    if (val)
        bwc_buf_append(&e->val, val, vlen);
    if (e->val.oom)
        goto fail;
    return 0;
fail:
    o->failed = 1;
    return -1;
}

bwc_state_view bwc_overlay_view(bwc_overlay *o)
{
    bwc_state_view v = {o, ov_get, ov_put};
    return v;
}

void bwc_overlay_to_batch(const bwc_overlay *o, bwc_batch *batch)
{
    const unsigned char *k;
    size_t kl;
    void *v;
    for (size_t i = 0; bwc_map_next(&o->map, &i, &k, &kl, &v);) {
        overlay_entry *e = v;
        if (e->present)
            bwc_batch_put(batch, k, kl, e->val.data, e->val.len);
        else
            bwc_batch_del(batch, k, kl);
    }
}

typedef struct {
    const unsigned char *key;
    size_t klen;
    const overlay_entry *e;
} sorted_entry;

static int cmp_entry(const void *a, const void *b)
{
    const sorted_entry *x = a, *y = b;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = memcmp(x->key, y->key, n);
    if (c)
        return c;
    return (x->klen > y->klen) - (x->klen < y->klen);
}

/* Undo record: repeated { u32be klen, key, u8 present, [u32be vlen, value] }. */
int bwc_overlay_undo(const bwc_overlay *o, bwc_buf *out)
{
    size_t n = bwc_map_size(&o->map);
    sorted_entry *all = calloc(n ? n : 1, sizeof *all);
    if (!all)
        return -1;
    const unsigned char *k;
    size_t kl, j = 0;
    void *v;
    for (size_t i = 0; bwc_map_next(&o->map, &i, &k, &kl, &v);)
        all[j++] = (sorted_entry){k, kl, v};
    qsort(all, n, sizeof *all, cmp_entry);
    for (size_t i = 0; i < n; i++) {
        unsigned char len[4];
        bwc_put_u32be(len, (uint32_t)all[i].klen);
        bwc_buf_append(out, len, 4);
        bwc_buf_append(out, all[i].key, all[i].klen);
        unsigned char present = (unsigned char)all[i].e->old_present;
        bwc_buf_append(out, &present, 1);
        if (present) {
            bwc_put_u32be(len, (uint32_t)all[i].e->old.len);
            bwc_buf_append(out, len, 4);
            bwc_buf_append(out, all[i].e->old.data, all[i].e->old.len);
        }
    }
    free(all);
    return out->oom ? -1 : 0;
}

int bwc_undo_to_batch(const unsigned char *p, size_t n, bwc_batch *batch)
{
    size_t i = 0;
    while (i < n) {
        if (n - i < 5)
            return -1;
        size_t kl = bwc_get_u32be(p + i);
        i += 4;
        if (n - i < kl + 1)
            return -1;
        const unsigned char *key = p + i;
        i += kl;
        unsigned char present = p[i++];
        if (present > 1)
            return -1;
        if (!present) {
            bwc_batch_del(batch, key, kl);
            continue;
        }
        if (n - i < 4)
            return -1;
        size_t vl = bwc_get_u32be(p + i);
        i += 4;
        if (n - i < vl)
            return -1;
        bwc_batch_put(batch, key, kl, p + i, vl);
        i += vl;
    }
    return 0;
}

int bwc_overlay_commit(bwc_overlay *o)
{
    const unsigned char *k;
    size_t kl;
    void *v;
    for (size_t i = 0; bwc_map_next(&o->map, &i, &k, &kl, &v);) {
        overlay_entry *e = v;
        const unsigned char *val = e->val.data ? e->val.data : (const unsigned char *)"";
        if (o->base->put(o->base->ctx, k, kl, e->present ? val : NULL, e->val.len) != 0)
            return -1;
    }
    return 0;
}
