/* chain.c: block tree, best-chain selection, connect and disconnect with undo data. */
#include "node/chain.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hex.h"
#include "common/log.h"
#include "consensus/genesis.h"
#include "consensus/state.h"
#include "node/sigcheck.h"

#define INDEX_FIXED 21 /* u8 status, u32 n_txs, u32 n_receipts, u32 size, u64 sequence */

static const char META_TIP[] = "Mtip";
static const char META_CHAIN[] = "Mchain_id";
static const char META_VERSION[] = "Mversion";
/* The database layout (key prefixes and index entry format); bumped when either changes. */
static const unsigned char DB_VERSION = 1;

static void key_id(unsigned char k[33], char prefix, const bwc_hash *id)
{
    k[0] = (unsigned char)prefix;
    memcpy(k + 1, id->b, 32);
}

static void key_height(unsigned char k[9], uint64_t h)
{
    k[0] = BWC_K_HEIGHT;
    bwc_put_u64be(k + 1, h);
}

/* ---- index entries ---- */

static int index_encode(const bwc_index *x, bwc_buf *out)
{
    unsigned char fixed[INDEX_FIXED];
    fixed[0] = (unsigned char)x->status;
    bwc_put_u32be(fixed + 1, x->n_txs);
    bwc_put_u32be(fixed + 5, x->n_receipts);
    bwc_put_u32be(fixed + 9, x->size);
    bwc_put_u64be(fixed + 13, x->sequence);
    bwc_buf_append(out, fixed, sizeof fixed);
    return bwc_header_encode(&x->header, 0, out) && !out->oom;
}

static void index_batch_put(bwc_batch *batch, const bwc_index *x)
{
    unsigned char k[33];
    bwc_buf v = BWC_BUF_INIT;
    key_id(k, BWC_K_INDEX, &x->id);
    if (index_encode(x, &v))
        bwc_batch_put(batch, k, sizeof k, v.data, v.len);
    bwc_buf_free(&v);
}

static int index_persist(bwc_chain *c, const bwc_index *x)
{
    bwc_batch *batch = bwc_batch_new();
    if (!batch)
        return -1;
    index_batch_put(batch, x);
    int rc = bwc_store_write(c->store, batch);
    bwc_batch_free(batch);
    return rc;
}

static bwc_index *index_add(bwc_chain *c, const bwc_hash *id, const bwc_header *h)
{
    bwc_index *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->id = *id;
    x->header = *h;
    x->height = h->height;
    if (bwc_map_put(&c->index, id->b, 32, x) != 0) {
        free(x);
        return NULL;
    }
    return x;
}

static void set_work(bwc_chain *c, bwc_index *x)
{
    unsigned char w[BWC_U256_SIZE];
    bwc_header_work(c->params, &x->header, w);
    if (x->prev)
        bwc_u256_add(x->work, x->prev->work, w);
    else
        memcpy(x->work, w, sizeof w);
}

/* More work wins; of equal work, the block seen first. */
static int better(const bwc_index *a, const bwc_index *b)
{
    int cmp = bwc_u256_cmp(a->work, b->work);
    return cmp > 0 || (cmp == 0 && a->sequence < b->sequence);
}

static void recompute_best(bwc_chain *c)
{
    const unsigned char *k;
    size_t kl;
    void *v;
    c->best = c->best_header = c->active[0];
    for (size_t i = 0; bwc_map_next(&c->index, &i, &k, &kl, &v);) {
        bwc_index *x = v;
        if (x->status & BWC_INDEX_FAILED)
            continue;
        if (x->linked && better(x, c->best))
            c->best = x;
        if (better(x, c->best_header))
            c->best_header = x;
    }
}

static void consider(bwc_chain *c, bwc_index *x)
{
    if (x->status & BWC_INDEX_FAILED)
        return;
    if (x->linked && (!c->best || better(x, c->best)))
        c->best = x;
    if (!c->best_header || better(x, c->best_header))
        c->best_header = x;
}

/* x's data has arrived: it, and every waiting block whose ancestors are now all stored,
 * become linked (candidates for the best chain). O(waiting) per link. */
static void link_block(bwc_chain *c, bwc_index *x)
{
    if (!x->prev || x->prev->linked) {
        x->linked = 1;
        consider(c, x);
    } else {
        if (c->n_unlinked == c->unlinked_cap) {
            size_t cap = c->unlinked_cap ? c->unlinked_cap * 2 : 64;
            bwc_index **a = realloc(c->unlinked, cap * sizeof *a);
            if (!a)
                return; /* it stays unlinked until a restart relinks it from the index */
            c->unlinked = a;
            c->unlinked_cap = cap;
        }
        c->unlinked[c->n_unlinked++] = x;
        return;
    }
    for (int progress = 1; progress;) {
        progress = 0;
        for (size_t i = 0; i < c->n_unlinked; i++) {
            bwc_index *w = c->unlinked[i];
            if (w->prev->linked) {
                w->linked = 1;
                consider(c, w);
                c->unlinked[i--] = c->unlinked[--c->n_unlinked];
                progress = 1;
            }
        }
    }
}

/* ---- the active chain ---- */

/* Makes room for one more block in active, so that pushing it cannot fail. */
static int active_reserve(bwc_chain *c)
{
    if (c->active_len == c->active_cap) {
        size_t cap = c->active_cap ? c->active_cap * 2 : 1024;
        bwc_index **a = realloc(c->active, cap * sizeof *a);
        if (!a)
            return -1;
        c->active = a;
        c->active_cap = cap;
    }
    return 0;
}

static void active_push(bwc_chain *c, bwc_index *x)
{
    c->active[c->active_len++] = x;
}

static int active_rebuild(bwc_chain *c, bwc_index *tip)
{
    c->active_len = 0;
    if (tip->height + 1 > c->active_cap) {
        bwc_index **a = realloc(c->active, (tip->height + 1) * sizeof *a);
        if (!a)
            return -1;
        c->active = a;
        c->active_cap = tip->height + 1;
    }
    for (bwc_index *x = tip; x; x = x->prev)
        c->active[x->height] = x;
    c->active_len = tip->height + 1;
    return 0;
}

const bwc_index *bwc_chain_at(const bwc_chain *c, uint64_t height)
{
    return height < c->active_len ? c->active[height] : NULL;
}

const bwc_index *bwc_chain_find(const bwc_chain *c, const bwc_hash *id)
{
    return bwc_map_get(&c->index, id->b, 32);
}

int bwc_chain_contains(const bwc_chain *c, const bwc_index *idx)
{
    return idx->height < c->active_len && c->active[idx->height] == idx;
}

uint64_t bwc_chain_finalized_height(const bwc_chain *c)
{
    if (c->params->engine != BWC_ENGINE_POA)
        return 0;
    uint64_t h = bwc_chain_height(c);
    return h > c->params->poa.finality_depth ? h - c->params->poa.finality_depth : 0;
}

size_t bwc_chain_mtp_times(const bwc_index *idx, uint64_t times[BWC_MTP_SPAN])
{
    size_t n = 0;
    for (const bwc_index *x = idx; x && n < BWC_MTP_SPAN; x = x->prev)
        times[n++] = x->header.time;
    return n;
}

bwc_state_view bwc_chain_view(bwc_chain *c)
{
    return bwc_store_view(c->store);
}

int bwc_chain_read_block(bwc_chain *c, const bwc_hash *id, bwc_buf *raw, bwc_block *b)
{
    unsigned char k[33];
    bwc_buf tmp = BWC_BUF_INIT;
    bwc_buf *buf = raw ? raw : &tmp;
    size_t start = buf->len;
    if (b)
        memset(b, 0, sizeof *b);
    key_id(k, BWC_K_BLOCK, id);
    int rc = -1;
    if (bwc_store_get(c->store, k, sizeof k, buf) == 1) {
        bwc_result res;
        rc = 0;
        if (b && !bwc_block_decode(b, buf->data + start, buf->len - start,
                                   c->params->max_block_bytes, &res)) {
            bwc_log(BWC_LOG_ERROR, "stored block does not decode: %s", res.reject);
            rc = -1;
        }
    }
    bwc_buf_free(&tmp);
    return rc;
}

/* ---- applying a block ---- */

static void index_tx(bwc_state_view *v, const bwc_pubkey *who, uint64_t height, uint32_t i,
                     const bwc_hash *txid)
{
    unsigned char k[1 + 32 + 8 + 4];
    k[0] = BWC_K_ADDR;
    memcpy(k + 1, who->b, 32);
    bwc_put_u64be(k + 33, height);
    bwc_put_u32be(k + 41, i);
    v->put(v->ctx, k, sizeof k, txid->b, 32);
}

static void index_block_txs(bwc_state_view *v, const bwc_block *b, uint32_t i,
                            const bwc_hash *txid)
{
    const bwc_tx *tx = &b->txs[i];
    uint64_t h = b->header.height;
    unsigned char k[33], val[12];
    key_id(k, BWC_K_TX, txid);
    bwc_put_u64be(val, h);
    bwc_put_u32be(val + 8, i);
    v->put(v->ctx, k, sizeof k, val, sizeof val);
    index_tx(v, &tx->from, h, i, txid);
    const bwc_pubkey *other = NULL;
    if (tx->type == BWC_TX_TRANSFER)
        other = &tx->body.transfer.to;
    else if (tx->type == BWC_TX_CHANNEL_OPEN)
        other = &tx->body.channel_open.relay;
    if (other && memcmp(other, &tx->from, 32) != 0)
        index_tx(v, other, h, i, txid);
}

int bwc_chain_apply_body(bwc_chain *c, bwc_overlay *o, const bwc_block *b, bwc_result *res)
{
    bwc_sigbatch sb;
    bwc_sigbatch_init(&sb);
    bwc_sig_checker checker = bwc_sigbatch_checker(&sb);
    bwc_state_view v = bwc_overlay_view(o);
    bwc_block_ctx ctx;
    int ok = 0;
    bwc_state_begin_block(&ctx, c->params, &c->chain_id, c->secp, &checker, b->header.height,
                          &b->header.producer);
    for (size_t i = 0; i < b->n_txs; i++) {
        bwc_hash txid;
        bwc_tx_id(&c->chain_id, &b->txs[i], &txid);
        if (!bwc_state_apply_tx(&v, &ctx, &b->txs[i], &txid, res))
            goto out;
        index_block_txs(&v, b, (uint32_t)i, &txid);
    }
    for (size_t i = 0; i < b->n_receipts; i++) {
        bwc_hash rid;
        bwc_receipt_id(&c->chain_id, &b->receipts[i], &rid);
        if (!bwc_state_apply_receipt(&v, &ctx, &b->receipts[i], &rid, 1, res))
            goto out;
    }
    if (!bwc_state_end_block(&v, &ctx, res))
        goto out;
    if (o->failed) {
        bwc_fail(res, BWC_RESULT_ERROR, "state-storage");
        goto out;
    }
    if (sb.oom) {
        bwc_fail(res, BWC_RESULT_ERROR, "out-of-memory");
        goto out;
    }
    const char *bad = bwc_sigbatch_verify(&sb, c->secp, c->sig_threads);
    if (bad) {
        bwc_fail(res, BWC_RESULT_INVALID, bad);
        goto out;
    }
    bwc_result_ok(res);
    ok = 1;
out:
    bwc_sigbatch_free(&sb);
    return ok;
}

int bwc_chain_tx_known(bwc_chain *c, const bwc_hash *txid)
{
    unsigned char k[33];
    bwc_buf v = BWC_BUF_INIT;
    key_id(k, BWC_K_TX, txid);
    int rc = bwc_store_get(c->store, k, sizeof k, &v);
    bwc_buf_free(&v);
    return rc;
}

/* Connects x (whose parent is the tip). Returns 1, 0 when the block breaks a rule (res set),
 * -1 on a storage error. */
static int connect_block(bwc_chain *c, bwc_index *x, bwc_result *res)
{
    bwc_block b;
    if (bwc_chain_read_block(c, &x->id, NULL, &b) != 0)
        return -1;
    bwc_state_view base = bwc_store_view(c->store);
    bwc_overlay o;
    bwc_overlay_init(&o, &base);
    int rc = -1;
    if (!bwc_chain_apply_body(c, &o, &b, res)) {
        rc = res->code == BWC_RESULT_ERROR ? -1 : 0;
        goto out;
    }
    bwc_state_view v = bwc_overlay_view(&o);
    unsigned char kh[9];
    key_height(kh, x->height);
    v.put(v.ctx, kh, sizeof kh, x->id.b, 32);
    v.put(v.ctx, (const unsigned char *)META_TIP, strlen(META_TIP), x->id.b, 32);
    bwc_buf undo = BWC_BUF_INIT;
    bwc_batch *batch = bwc_batch_new();
    /* Room for x in active before the tip moves on disk, so memory and disk agree. */
    if (o.failed || !batch || active_reserve(c) != 0 || bwc_overlay_undo(&o, &undo) != 0) {
        bwc_buf_free(&undo);
        bwc_batch_free(batch);
        goto out;
    }
    unsigned char ku[33];
    key_id(ku, BWC_K_UNDO, &x->id);
    bwc_overlay_to_batch(&o, batch);
    bwc_batch_put(batch, ku, sizeof ku, undo.data, undo.len);
    unsigned old_status = x->status;
    x->status |= BWC_INDEX_VALID;
    index_batch_put(batch, x);
    bwc_buf_free(&undo);
    if (bwc_store_write(c->store, batch) != 0) {
        x->status = old_status;
        bwc_batch_free(batch);
        goto out;
    }
    active_push(c, x);
    bwc_batch_free(batch);
    bwc_log_debug(BWC_LOG_VALIDATION, "connected block %u txs %u receipts at height %llu",
                  x->n_txs, x->n_receipts, (unsigned long long)x->height);
    if (c->listener.connected)
        c->listener.connected(c->listener.ctx, x, &b);
    rc = 1;
out:
    bwc_overlay_free(&o);
    bwc_block_free(&b);
    return rc;
}

static int disconnect_tip(bwc_chain *c)
{
    bwc_index *x = c->active[c->active_len - 1];
    if (x->height == 0)
        return -1;
    unsigned char ku[33];
    key_id(ku, BWC_K_UNDO, &x->id);
    bwc_buf undo = BWC_BUF_INIT;
    bwc_block b;
    int rc = -1;
    if (bwc_store_get(c->store, ku, sizeof ku, &undo) != 1) {
        bwc_log(BWC_LOG_ERROR, "no undo data for the tip at height %llu",
                (unsigned long long)x->height);
        bwc_buf_free(&undo);
        return -1;
    }
    if (bwc_chain_read_block(c, &x->id, NULL, &b) != 0) {
        bwc_buf_free(&undo);
        return -1;
    }
    bwc_batch *batch = bwc_batch_new();
    if (batch && bwc_undo_to_batch(undo.data, undo.len, batch) == 0) {
        bwc_batch_del(batch, ku, sizeof ku);
        if (bwc_store_write(c->store, batch) == 0) {
            c->active_len--;
            rc = 0;
        }
    } else {
        bwc_log(BWC_LOG_ERROR, "undo data of height %llu does not parse",
                (unsigned long long)x->height);
    }
    bwc_batch_free(batch);
    bwc_buf_free(&undo);
    if (rc == 0) {
        bwc_log_debug(BWC_LOG_VALIDATION, "disconnected block at height %llu",
                      (unsigned long long)x->height);
        if (c->listener.disconnected)
            c->listener.disconnected(c->listener.ctx, x, &b);
    }
    bwc_block_free(&b);
    return rc;
}

static int descends_from(const bwc_index *x, const bwc_index *anc)
{
    while (x && x->height > anc->height)
        x = x->prev;
    return x == anc;
}

/* Marks x and everything built on it as failed, for good. */
static void mark_failed(bwc_chain *c, bwc_index *bad, const char *reject)
{
    char hex[65];
    bwc_hex_encode(hex, bad->id.b, 32);
    bwc_log(BWC_LOG_WARNING, "block %s at height %llu is invalid: %s", hex,
            (unsigned long long)bad->height, reject);
    const unsigned char *k;
    size_t kl;
    void *v;
    for (size_t i = 0; bwc_map_next(&c->index, &i, &k, &kl, &v);) {
        bwc_index *x = v;
        if (!(x->status & BWC_INDEX_FAILED) && descends_from(x, bad)) {
            x->status |= BWC_INDEX_FAILED;
            index_persist(c, x);
        }
    }
    recompute_best(c);
}

static bwc_index *find_fork(bwc_index *a, bwc_index *b)
{
    while (a != b) {
        if (a->height > b->height)
            a = a->prev;
        else if (b->height > a->height)
            b = b->prev;
        else
            a = a->prev, b = b->prev;
    }
    return a;
}

/* Moves the best chain to c->best, block by block. Returns 0, or -1 on a storage error.
 * *last_reject gets the reject string of a block found invalid on the way. */
static int activate_best_chain(bwc_chain *c, const char **last_reject)
{
    for (;;) {
        bwc_index *tip = c->active[c->active_len - 1];
        bwc_index *best = c->best;
        if (best == tip || !better(best, tip))
            return 0;
        bwc_index *fork = find_fork(tip, best);
        if (c->params->engine == BWC_ENGINE_POA &&
            tip->height - fork->height > c->params->poa.finality_depth) {
            bwc_index *first = best;
            while (first->prev != fork)
                first = first->prev;
            mark_failed(c, first, "bad-fork-past-finality");
            if (last_reject)
                *last_reject = "bad-fork-past-finality";
            continue;
        }
        if (fork != tip)
            bwc_log(BWC_LOG_INFO, "reorganising: %llu blocks back to height %llu, then %llu up",
                    (unsigned long long)(tip->height - fork->height),
                    (unsigned long long)fork->height,
                    (unsigned long long)(best->height - fork->height));
        while (c->active[c->active_len - 1] != fork)
            if (disconnect_tip(c) != 0)
                return -1;
        size_t n = best->height - fork->height;
        bwc_index **path = malloc(n * sizeof *path);
        if (!path)
            return -1;
        size_t j = n;
        for (bwc_index *x = best; x != fork; x = x->prev)
            path[--j] = x;
        for (size_t i = 0; i < n; i++) {
            bwc_result res;
            int rc = connect_block(c, path[i], &res);
            if (rc < 0) {
                free(path);
                return -1;
            }
            if (rc == 0 && res.code == BWC_RESULT_ERROR) {
                free(path);
                return -1;
            }
            if (rc == 0) {
                if (last_reject)
                    *last_reject = res.reject;
                mark_failed(c, path[i], res.reject);
                break;
            }
        }
        free(path);
    }
}

/* ---- accepting blocks ---- */

static int store_block(bwc_chain *c, bwc_index *x, const unsigned char *bytes, size_t len)
{
    unsigned char kb[33];
    key_id(kb, BWC_K_BLOCK, &x->id);
    bwc_batch *batch = bwc_batch_new();
    if (!batch)
        return -1;
    bwc_batch_put(batch, kb, sizeof kb, bytes, len);
    index_batch_put(batch, x);
    int rc = bwc_store_write(c->store, batch);
    bwc_batch_free(batch);
    return rc;
}

static void orphan_add(bwc_chain *c, const unsigned char *bytes, size_t len, const bwc_hash *id,
                       const bwc_hash *prev)
{
    for (size_t i = 0; i < c->n_orphans; i++)
        if (memcmp(&c->orphans[i].id, id, 32) == 0)
            return;
    if (c->n_orphans == BWC_ORPHANS_MAX) {
        /* Drop the oldest: a flood of orphans cannot grow memory. */
        free(c->orphans[0].bytes);
        memmove(&c->orphans[0], &c->orphans[1], (BWC_ORPHANS_MAX - 1) * sizeof c->orphans[0]);
        c->n_orphans--;
    }
    unsigned char *copy = malloc(len);
    if (!copy)
        return;
    memcpy(copy, bytes, len);
    c->orphans[c->n_orphans++] = (bwc_orphan){copy, len, *id, *prev};
}

/* Stores the body of x, links it and moves the best chain. */
static bwc_submit_status store_data(bwc_chain *c, bwc_index *x, const bwc_block *b,
                                    const unsigned char *bytes, size_t len, bwc_result *res)
{
    x->n_txs = (uint32_t)b->n_txs;
    x->n_receipts = (uint32_t)b->n_receipts;
    x->size = (uint32_t)len;
    x->status |= BWC_INDEX_HAVE_DATA;
    if (store_block(c, x, bytes, len) != 0) {
        x->status &= ~(unsigned)BWC_INDEX_HAVE_DATA;
        bwc_fail(res, BWC_RESULT_ERROR, "storage");
        return BWC_SUBMIT_ERROR;
    }
    link_block(c, x);
    const char *reject = NULL;
    if (activate_best_chain(c, &reject) != 0) {
        bwc_fail(res, BWC_RESULT_ERROR, "storage");
        return BWC_SUBMIT_ERROR;
    }
    if (x->status & BWC_INDEX_FAILED) {
        bwc_fail(res, BWC_RESULT_INVALID, reject ? reject : "bad-block");
        return BWC_SUBMIT_REJECTED;
    }
    bwc_result_ok(res);
    return BWC_SUBMIT_ACCEPTED;
}

bwc_submit_status bwc_chain_accept_header(bwc_chain *c, const bwc_header *h, uint64_t now,
                                          bwc_hash *id_out, bwc_result *res)
{
    bwc_hash id;
    bwc_header_id(h, &id);
    if (id_out)
        *id_out = id;
    bwc_index *known = bwc_map_get(&c->index, id.b, 32);
    if (known) {
        if (known->status & BWC_INDEX_FAILED) {
            bwc_fail(res, BWC_RESULT_INVALID, "duplicate-invalid");
            return BWC_SUBMIT_REJECTED;
        }
        bwc_fail(res, BWC_RESULT_OK, "duplicate");
        return BWC_SUBMIT_DUPLICATE;
    }
    bwc_index *parent = bwc_map_get(&c->index, h->prev.b, 32);
    if (!parent) {
        bwc_fail(res, BWC_RESULT_OK, "orphan");
        return BWC_SUBMIT_ORPHAN;
    }
    if (parent->status & BWC_INDEX_FAILED) {
        bwc_fail(res, BWC_RESULT_INVALID, "bad-prevblk");
        return BWC_SUBMIT_REJECTED;
    }
    uint64_t times[BWC_MTP_SPAN];
    size_t n = bwc_chain_mtp_times(parent, times);
    if (!bwc_header_check(c->params, c->secp, h, &parent->header, &parent->id, times, n, now,
                          res))
        return BWC_SUBMIT_REJECTED;
    bwc_index *x = index_add(c, &id, h);
    if (!x)
        return BWC_SUBMIT_ERROR;
    x->prev = parent;
    x->sequence = c->next_sequence++;
    set_work(c, x);
    if (index_persist(c, x) != 0) {
        free(bwc_map_del(&c->index, id.b, 32));
        bwc_fail(res, BWC_RESULT_ERROR, "storage");
        return BWC_SUBMIT_ERROR;
    }
    consider(c, x);
    bwc_result_ok(res);
    return BWC_SUBMIT_ACCEPTED;
}

/* Accepts one block whose parent may be known. */
static bwc_submit_status submit_one(bwc_chain *c, const unsigned char *bytes, size_t len,
                                    uint64_t now, bwc_hash *id_out, bwc_result *res)
{
    bwc_block b;
    if (!bwc_block_decode(&b, bytes, len, c->params->max_block_bytes, res))
        return BWC_SUBMIT_REJECTED;
    bwc_hash id;
    bwc_header_id(&b.header, &id);
    if (id_out)
        *id_out = id;
    bwc_submit_status st = BWC_SUBMIT_REJECTED;
    bwc_index *known = bwc_map_get(&c->index, id.b, 32);
    if (known && !(known->status & (BWC_INDEX_HAVE_DATA | BWC_INDEX_FAILED))) {
        /* The block of a header we hold: its header was checked when it came. */
        if (!bwc_block_check_roots(&b, res))
            goto out;
        st = store_data(c, known, &b, bytes, len, res);
        goto out;
    }
    if (known) {
        if (known->status & BWC_INDEX_FAILED)
            bwc_fail(res, BWC_RESULT_INVALID, "duplicate-invalid");
        else
            bwc_fail(res, BWC_RESULT_OK, "duplicate");
        st = BWC_SUBMIT_DUPLICATE;
        goto out;
    }
    bwc_index *parent = bwc_map_get(&c->index, b.header.prev.b, 32);
    if (!parent) {
        orphan_add(c, bytes, len, &id, &b.header.prev);
        bwc_fail(res, BWC_RESULT_OK, "orphan");
        st = BWC_SUBMIT_ORPHAN;
        goto out;
    }
    if (parent->status & BWC_INDEX_FAILED) {
        bwc_fail(res, BWC_RESULT_INVALID, "bad-prevblk");
        goto out;
    }
    uint64_t times[BWC_MTP_SPAN];
    size_t n = bwc_chain_mtp_times(parent, times);
    if (!bwc_header_check(c->params, c->secp, &b.header, &parent->header, &parent->id, times, n,
                          now, res) ||
        !bwc_block_check_roots(&b, res))
        goto out;
    bwc_index *x = index_add(c, &id, &b.header);
    if (!x) {
        st = BWC_SUBMIT_ERROR;
        goto out;
    }
    x->prev = parent;
    x->sequence = c->next_sequence++;
    set_work(c, x);
    st = store_data(c, x, &b, bytes, len, res);
    if (st == BWC_SUBMIT_ERROR && !(x->status & BWC_INDEX_HAVE_DATA))
        free(bwc_map_del(&c->index, id.b, 32));
out:
    bwc_block_free(&b);
    return st;
}

bwc_submit_status bwc_chain_submit(bwc_chain *c, const unsigned char *bytes, size_t len,
                                   uint64_t now, bwc_hash *id, bwc_result *res)
{
    bwc_submit_status st = submit_one(c, bytes, len, now, id, res);
    if (st != BWC_SUBMIT_ACCEPTED)
        return st;
    /* Children waiting in the orphan pool follow, breadth first. */
    int progress = 1;
    while (progress) {
        progress = 0;
        for (size_t i = 0; i < c->n_orphans; i++) {
            if (!bwc_chain_find(c, &c->orphans[i].prev))
                continue;
            bwc_orphan o = c->orphans[i];
            memmove(&c->orphans[i], &c->orphans[i + 1],
                    (c->n_orphans - i - 1) * sizeof c->orphans[0]);
            c->n_orphans--;
            bwc_result r;
            submit_one(c, o.bytes, o.len, now, NULL, &r);
            free(o.bytes);
            progress = 1;
            break;
        }
    }
    return st;
}

/* ---- opening ---- */

static int write_genesis(bwc_chain *c, char *err, size_t errlen)
{
    bwc_block g = {0};
    if (!bwc_genesis_header(c->params, &g.header)) {
        snprintf(err, errlen, "cannot build the genesis header");
        return -1;
    }
    bwc_buf bytes = BWC_BUF_INIT;
    bwc_batch *batch = bwc_batch_new();
    bwc_state_view base = bwc_store_view(c->store);
    bwc_overlay o;
    bwc_overlay_init(&o, &base);
    bwc_state_view v = bwc_overlay_view(&o);
    bwc_result res;
    int rc = -1;
    if (!batch || !bwc_block_encode(&g, &bytes)) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if (!bwc_state_genesis(&v, c->params, &res)) {
        snprintf(err, errlen, "genesis state: %s", res.reject);
        goto out;
    }
    unsigned char kh[9], kb[33];
    key_height(kh, 0);
    v.put(v.ctx, kh, sizeof kh, c->chain_id.b, 32);
    v.put(v.ctx, (const unsigned char *)META_TIP, strlen(META_TIP), c->chain_id.b, 32);
    v.put(v.ctx, (const unsigned char *)META_CHAIN, strlen(META_CHAIN), c->chain_id.b, 32);
    v.put(v.ctx, (const unsigned char *)META_VERSION, strlen(META_VERSION), &DB_VERSION, 1);
    bwc_overlay_to_batch(&o, batch);
    key_id(kb, BWC_K_BLOCK, &c->chain_id);
    bwc_batch_put(batch, kb, sizeof kb, bytes.data, bytes.len);
    bwc_index x = {.id = c->chain_id, .header = g.header,
                   .status = BWC_INDEX_VALID | BWC_INDEX_HAVE_DATA};
    x.size = (uint32_t)bytes.len;
    index_batch_put(batch, &x);
    if (o.failed || bwc_store_write(c->store, batch) != 0) {
        snprintf(err, errlen, "cannot write genesis");
        goto out;
    }
    rc = 0;
out:
    bwc_overlay_free(&o);
    bwc_batch_free(batch);
    bwc_buf_free(&bytes);
    return rc;
}

static int load_entry(void *ctx, const unsigned char *key, size_t klen, const unsigned char *val,
                      size_t vlen)
{
    bwc_chain *c = ctx;
    bwc_header h;
    bwc_result res;
    if (klen != 33 || vlen < INDEX_FIXED ||
        !bwc_header_decode(&h, val + INDEX_FIXED, vlen - INDEX_FIXED, &res))
        return -2;
    bwc_hash id;
    memcpy(id.b, key + 1, 32);
    bwc_index *x = index_add(c, &id, &h);
    if (!x)
        return -2;
    x->status = val[0];
    x->n_txs = bwc_get_u32be(val + 1);
    x->n_receipts = bwc_get_u32be(val + 5);
    x->size = bwc_get_u32be(val + 9);
    x->sequence = bwc_get_u64be(val + 13);
    if (x->sequence >= c->next_sequence)
        c->next_sequence = x->sequence + 1;
    return 0;
}

static int cmp_height(const void *a, const void *b)
{
    const bwc_index *x = *(bwc_index *const *)a, *y = *(bwc_index *const *)b;
    return (x->height > y->height) - (x->height < y->height);
}

static int load_index(bwc_chain *c, char *err, size_t errlen)
{
    const unsigned char prefix = BWC_K_INDEX;
    int rc = bwc_store_scan(c->store, &prefix, 1, 0, load_entry, c);
    if (rc != 0) {
        snprintf(err, errlen, "the block index is unreadable (try -reindex)");
        return -1;
    }
    size_t n = bwc_map_size(&c->index), j = 0;
    bwc_index **all = malloc((n ? n : 1) * sizeof *all);
    if (!all) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const unsigned char *k;
    size_t kl;
    void *v;
    for (size_t i = 0; bwc_map_next(&c->index, &i, &k, &kl, &v);)
        all[j++] = v;
    qsort(all, n, sizeof *all, cmp_height);
    for (size_t i = 0; i < n; i++) {
        bwc_index *x = all[i];
        if (x->height > 0) {
            x->prev = bwc_map_get(&c->index, x->header.prev.b, 32);
            if (!x->prev || x->prev->height + 1 != x->height) {
                free(all);
                snprintf(err, errlen, "the block index is inconsistent (try -reindex)");
                return -1;
            }
            if (x->prev->status & BWC_INDEX_FAILED)
                x->status |= BWC_INDEX_FAILED;
        }
        set_work(c, x);
        if (x->status & BWC_INDEX_HAVE_DATA)
            link_block(c, x);
    }
    free(all);
    return 0;
}

typedef struct {
    bwc_batch *batch;
    size_t n;
} wipe_ctx;

static int wipe_entry(void *ctx, const unsigned char *key, size_t klen, const unsigned char *val,
                      size_t vlen)
{
    (void)val, (void)vlen;
    wipe_ctx *w = ctx;
    int chain_id = (klen == strlen(META_CHAIN) && memcmp(key, META_CHAIN, klen) == 0) ||
                   (klen == strlen(META_VERSION) && memcmp(key, META_VERSION, klen) == 0);
    if (key[0] != BWC_K_BLOCK && key[0] != BWC_K_INDEX && !chain_id) {
        bwc_batch_del(w->batch, key, klen);
        w->n++;
    }
    return 0;
}

/* -reindex: everything but the blocks, their index entries and the chain id goes; the state is
 * rebuilt by connecting the stored blocks from genesis. */
static int wipe_derived(bwc_chain *c)
{
    wipe_ctx w = {bwc_batch_new(), 0};
    if (!w.batch)
        return -1;
    int rc = bwc_store_scan(c->store, "", 0, 0, wipe_entry, &w);
    if (rc == 0)
        rc = bwc_store_write(c->store, w.batch);
    bwc_batch_free(w.batch);
    bwc_log(BWC_LOG_INFO, "reindex: dropped %zu derived entries", w.n);
    return rc;
}

int bwc_chain_open(bwc_chain *c, bwc_store *store, const bwc_params *params,
                   const secp256k1_context *secp, unsigned sig_threads, int reindex, char *err,
                   size_t errlen)
{
    memset(c, 0, sizeof *c);
    c->store = store;
    c->params = params;
    c->secp = secp;
    c->sig_threads = sig_threads ? sig_threads : 1;
    bwc_map_init(&c->index);
    if (!bwc_chain_id(params, &c->chain_id)) {
        snprintf(err, errlen, "cannot compute the chain id");
        return -1;
    }
    bwc_buf v = BWC_BUF_INIT;
    int have = bwc_store_get(store, META_CHAIN, strlen(META_CHAIN), &v);
    if (have < 0) {
        snprintf(err, errlen, "cannot read the database");
        bwc_buf_free(&v);
        return -1;
    }
    if (have == 1 && (v.len != 32 || memcmp(v.data, c->chain_id.b, 32) != 0)) {
        snprintf(err, errlen, "the database belongs to another chain (wrong -datadir or -chain?)");
        bwc_buf_free(&v);
        return -1;
    }
    bwc_buf_reset(&v);
    if (have == 1 && (bwc_store_get(store, META_VERSION, strlen(META_VERSION), &v) != 1 ||
                      v.len != 1 || v.data[0] != DB_VERSION)) {
        snprintf(err, errlen,
                 "the database was written by another version of bwcd (layout %d, this one "
                 "reads %d): use a new data directory",
                 v.len == 1 ? v.data[0] : 0, DB_VERSION);
        bwc_buf_free(&v);
        return -1;
    }
    bwc_buf_free(&v);
    if (have == 1 && reindex && wipe_derived(c) != 0) {
        snprintf(err, errlen, "reindex: cannot clear the state");
        return -1;
    }
    if ((have == 0 || reindex) && write_genesis(c, err, errlen) != 0)
        return -1;
    if (load_index(c, err, errlen) != 0)
        return -1;
    bwc_buf tip = BWC_BUF_INIT;
    bwc_index *t = NULL;
    if (bwc_store_get(store, META_TIP, strlen(META_TIP), &tip) == 1 && tip.len == 32)
        t = bwc_map_get(&c->index, tip.data, 32);
    bwc_buf_free(&tip);
    if (!t || active_rebuild(c, t) != 0 || c->active[0]->height != 0 ||
        memcmp(&c->active[0]->id, &c->chain_id, 32) != 0) {
        snprintf(err, errlen, "the chain tip is missing or inconsistent (try -reindex)");
        return -1;
    }
    recompute_best(c);
    if (activate_best_chain(c, NULL) != 0) {
        snprintf(err, errlen, "cannot connect the best chain");
        return -1;
    }
    return 0;
}

void bwc_chain_close(bwc_chain *c)
{
    const unsigned char *k;
    size_t kl;
    void *v;
    for (size_t i = 0; bwc_map_next(&c->index, &i, &k, &kl, &v);)
        free(v);
    bwc_map_free(&c->index);
    free(c->active);
    free(c->unlinked);
    for (size_t i = 0; i < c->n_orphans; i++)
        free(c->orphans[i].bytes);
    memset(c, 0, sizeof *c);
}
