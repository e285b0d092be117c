/* mempool.c: the transaction pool and the receipt pool. */
#include "node/mempool.h"

#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "consensus/key.h"
#include "consensus/state.h"

#define TX_EXPIRY_SECONDS (14 * 24 * 3600)

void bwc_mempool_init(bwc_mempool *m, bwc_chain *chain, size_t max_bytes)
{
    memset(m, 0, sizeof *m);
    m->chain = chain;
    m->max_bytes = max_bytes ? max_bytes : BWC_MEMPOOL_DEFAULT_BYTES;
    bwc_map_init(&m->txs);
    bwc_map_init(&m->by_nonce);
    bwc_map_init(&m->receipts);
    bwc_map_init(&m->by_rid);
}

static void nonce_key(unsigned char k[40], const bwc_pubkey *from, uint64_t nonce)
{
    memcpy(k, from->b, 32);
    bwc_put_u64be(k + 32, nonce);
}

static void tx_free(bwc_mempool_tx *e)
{
    free(e->bytes);
    free(e);
}

static void receipt_free(bwc_mempool_receipt *e)
{
    free(e->bytes);
    free(e);
}

void bwc_mempool_free(bwc_mempool *m)
{
    const unsigned char *k;
    size_t kl;
    void *v;
    for (size_t i = 0; bwc_map_next(&m->txs, &i, &k, &kl, &v);)
        tx_free(v);
    for (size_t i = 0; bwc_map_next(&m->receipts, &i, &k, &kl, &v);)
        receipt_free(v);
    bwc_map_free(&m->txs);
    bwc_map_free(&m->by_nonce);
    bwc_map_free(&m->receipts);
    bwc_map_free(&m->by_rid);
}

/* Takes e out of both indexes and the byte count; the caller keeps or frees it. */
static void tx_detach(bwc_mempool *m, bwc_mempool_tx *e)
{
    unsigned char k[40];
    nonce_key(k, &e->tx.from, e->tx.nonce);
    bwc_map_del(&m->by_nonce, k, sizeof k);
    bwc_map_del(&m->txs, e->txid.b, 32);
    m->bytes -= e->len;
}

static void tx_remove(bwc_mempool *m, bwc_mempool_tx *e)
{
    tx_detach(m, e);
    tx_free(e);
}

/* Puts e (not in the pool; its (sender, nonce) free) into both indexes. Returns 0, or -1 when
 * out of memory, with e freed. */
static int tx_attach(bwc_mempool *m, bwc_mempool_tx *e)
{
    unsigned char k[40];
    nonce_key(k, &e->tx.from, e->tx.nonce);
    if (bwc_map_put(&m->txs, e->txid.b, 32, e) != 0) {
        tx_free(e);
        return -1;
    }
    if (bwc_map_put(&m->by_nonce, k, sizeof k, e) != 0) {
        bwc_map_del(&m->txs, e->txid.b, 32);
        tx_free(e);
        return -1;
    }
    m->bytes += e->len;
    return 0;
}

/* Entries taken out of the pool while a new transaction is admitted, so that a refusal can put
 * them back. */
typedef struct {
    bwc_mempool_tx **v;
    size_t n, cap;
} tx_list;

/* Detaches e into l; when l cannot grow, e is dropped for good (freed). */
static void tx_list_take(bwc_mempool *m, tx_list *l, bwc_mempool_tx *e)
{
    tx_detach(m, e);
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 8;
        bwc_mempool_tx **v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            tx_free(e);
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = e;
}

/* Puts every entry of l back (restore) or frees them, and releases l. */
static void tx_list_finish(bwc_mempool *m, tx_list *l, int restore)
{
    for (size_t i = 0; i < l->n; i++) {
        if (!restore)
            tx_free(l->v[i]);
        else if (tx_attach(m, l->v[i]) != 0)
            bwc_log_debug(BWC_LOG_MEMPOOL, "out of memory: a transaction could not be restored");
    }
    free(l->v);
    memset(l, 0, sizeof *l);
}

static bwc_mempool_tx *at_nonce(const bwc_mempool *m, const bwc_pubkey *from, uint64_t nonce)
{
    unsigned char k[40];
    nonce_key(k, from, nonce);
    return bwc_map_get(&m->by_nonce, k, sizeof k);
}

const bwc_mempool_tx *bwc_mempool_get(const bwc_mempool *m, const bwc_hash *txid)
{
    return bwc_map_get(&m->txs, txid->b, 32);
}

/* Signatures in the pool were verified on entry; applying them again for a template or a
 * re-check needs no second verification (the block itself is verified when connected). */
static int accept_sig(void *ctx, const bwc_pubkey *pk, const bwc_hash *msg, const bwc_sig *sig,
                      const char *reject)
{
    (void)ctx, (void)pk, (void)msg, (void)sig, (void)reject;
    return 1;
}
static const bwc_sig_checker accept_all = {NULL, accept_sig};

static void begin_next_block(bwc_mempool *m, bwc_block_ctx *ctx)
{
    bwc_pubkey nobody;
    memset(&nobody, 0, sizeof nobody);
    bwc_state_begin_block(ctx, m->chain->params, &m->chain->chain_id, m->chain->secp, &accept_all,
                          bwc_chain_height(m->chain) + 1, &nobody);
}

/* Applies the sender's pooled transactions from its account nonce up to (not including)
 * upto, then tx when non-NULL, on an overlay over the tip. Returns 1 when all apply, 0 with res
 * set when tx does not, -1 when a predecessor is missing (tx is a future transaction). */
static int check_in_sequence(bwc_mempool *m, const bwc_tx *tx, const bwc_hash *txid,
                             bwc_result *res)
{
    bwc_state_view base = bwc_chain_view(m->chain);
    bwc_overlay o;
    bwc_overlay_init(&o, &base);
    bwc_state_view v = bwc_overlay_view(&o);
    bwc_block_ctx ctx;
    begin_next_block(m, &ctx);
    bwc_account acc;
    int rc = 1;
    if (bwc_state_account(&base, &tx->from, &acc) < 0) {
        bwc_fail(res, BWC_RESULT_ERROR, "state-storage");
        rc = 0;
        goto out;
    }
    for (uint64_t n = acc.nonce; n < tx->nonce; n++) {
        const bwc_mempool_tx *p = at_nonce(m, &tx->from, n);
        if (!p) {
            rc = -1;
            goto out;
        }
        bwc_result r;
        if (!bwc_state_apply_tx(&v, &ctx, &p->tx, &p->txid, &r)) {
            rc = -1; /* a predecessor no longer applies: treat tx as waiting */
            goto out;
        }
    }
    if (!bwc_state_apply_tx(&v, &ctx, tx, txid, res))
        rc = 0;
out:
    bwc_overlay_free(&o);
    return rc;
}

/* After a replacement or a block: drops the sender's transactions that no longer apply in
 * sequence from its account nonce, and the ones behind them (into taken when non-NULL, else
 * freed). why (may be NULL) gets the result of the first that failed (ok when none did). */
static void revalidate_sender(bwc_mempool *m, const bwc_pubkey *from, tx_list *taken,
                              bwc_result *why)
{
    if (why)
        bwc_result_ok(why);
    bwc_state_view base = bwc_chain_view(m->chain);
    bwc_account acc;
    if (bwc_state_account(&base, from, &acc) < 0)
        return;
    bwc_overlay o;
    bwc_overlay_init(&o, &base);
    bwc_state_view v = bwc_overlay_view(&o);
    bwc_block_ctx ctx;
    begin_next_block(m, &ctx);
    uint64_t n = acc.nonce;
    for (bwc_mempool_tx *e; (e = at_nonce(m, from, n)) != NULL; n++) {
        bwc_result r;
        if (!bwc_state_apply_tx(&v, &ctx, &e->tx, &e->txid, &r)) {
            bwc_log_debug(BWC_LOG_MEMPOOL, "dropping a transaction that no longer applies: %s",
                          r.reject);
            if (why)
                *why = r;
            /* Everything behind it goes too: the rest of the unbroken run and whatever
             * floats within BWC_MEMPOOL_NONCE_GAP of its end. */
            for (uint64_t k = n, misses = 0; misses <= BWC_MEMPOOL_NONCE_GAP; k++) {
                bwc_mempool_tx *d = at_nonce(m, from, k);
                misses = d ? 0 : misses + 1;
                if (d && taken)
                    tx_list_take(m, taken, d);
                else if (d)
                    tx_remove(m, d);
            }
            break;
        }
    }
    bwc_overlay_free(&o);
}

/* a pays a lower fee per byte than b. */
static int lower_rate(const bwc_mempool_tx *a, const bwc_mempool_tx *b)
{
    return (unsigned __int128)a->tx.fee * b->len < (unsigned __int128)b->tx.fee * a->len;
}

/* Evicts the lowest fee rate among the transactions that end their sender's sequence, so that
 * no remaining transaction loses its predecessor. */
static bwc_mempool_tx *eviction_candidate(bwc_mempool *m)
{
    bwc_mempool_tx *worst = NULL;
    const unsigned char *k;
    size_t kl;
    void *v;
    for (size_t i = 0; bwc_map_next(&m->txs, &i, &k, &kl, &v);) {
        bwc_mempool_tx *e = v;
        if (e->tx.nonce != UINT64_MAX && at_nonce(m, &e->tx.from, e->tx.nonce + 1))
            continue;
        if (!worst || lower_rate(e, worst))
            worst = e;
    }
    return worst;
}

int bwc_mempool_add_tx(bwc_mempool *m, const unsigned char *bytes, size_t len, uint64_t now,
                       bwc_hash *txid_out, bwc_result *res)
{
    const bwc_params *p = m->chain->params;
    bwc_tx tx;
    if (!bwc_tx_decode(&tx, bytes, len, res))
        return 0;
    bwc_hash txid;
    bwc_tx_id(&m->chain->chain_id, &tx, &txid);
    if (txid_out)
        *txid_out = txid;
    if (bwc_map_get(&m->txs, txid.b, 32))
        return bwc_fail(res, BWC_RESULT_INVALID, "txn-already-in-mempool");
    int known = bwc_chain_tx_known(m->chain, &txid);
    if (known < 0)
        return bwc_fail(res, BWC_RESULT_ERROR, "state-storage");
    if (known == 1)
        return bwc_fail(res, BWC_RESULT_INVALID, "txn-already-known");
    if (tx.fee < p->min_fee)
        return bwc_fail(res, BWC_RESULT_INVALID, "bad-tx-fee");
    if (!bwc_verify(m->chain->secp, &tx.sig, &txid, &tx.from))
        return bwc_fail(res, BWC_RESULT_INVALID, "bad-tx-sig");
    bwc_state_view base = bwc_chain_view(m->chain);
    bwc_account acc;
    if (bwc_state_account(&base, &tx.from, &acc) < 0)
        return bwc_fail(res, BWC_RESULT_ERROR, "state-storage");
    if (tx.nonce < acc.nonce)
        return bwc_fail(res, BWC_RESULT_INVALID, "bad-tx-nonce");
    /* The gap counts from the end of the sender's unbroken pooled sequence, so a long run of
     * transactions (a disconnected block's, say) re-enters in order; only what floats beyond
     * it, unable to be mined yet, is bounded. */
    uint64_t next = acc.nonce;
    while (next < tx.nonce && at_nonce(m, &tx.from, next))
        next++;
    if (tx.nonce - next > BWC_MEMPOOL_NONCE_GAP)
        return bwc_fail(res, BWC_RESULT_INVALID, "mempool-nonce-gap");
    bwc_mempool_tx *old = at_nonce(m, &tx.from, tx.nonce);
    if (old) {
        uint64_t need;
        if (!bwc_amount_add(&need, old->tx.fee, p->min_fee) || tx.fee < need)
            return bwc_fail(res, BWC_RESULT_INVALID, "mempool-replacement-fee-too-low");
    }
    int in_seq = check_in_sequence(m, &tx, &txid, res);
    if (in_seq == 0)
        return 0;
    /* A future transaction cannot be applied yet, but it must at least be payable from the
     * sender's balance (its own transactions never raise it): else any key, funded or not, could
     * fill the pool for free with transactions claiming any fee, and eviction by fee rate would
     * then push out every honest one. */
    uint64_t spend;
    if (in_seq < 0 && (!bwc_amount_add(&spend, tx.fee, bwc_tx_spend(&tx)) || acc.balance < spend))
        return bwc_fail(res, BWC_RESULT_INVALID, "bad-tx-insufficient-funds");
    bwc_mempool_tx *e = calloc(1, sizeof *e);
    unsigned char *copy = malloc(len);
    if (!e || !copy) {
        free(e);
        free(copy);
        return bwc_fail(res, BWC_RESULT_ERROR, "out-of-memory");
    }
    memcpy(copy, bytes, len);
    *e = (bwc_mempool_tx){txid, tx, copy, len, now};
    /* Everything that leaves the pool on the way (the replaced transaction, followers it no
     * longer pays for, evicted ones) is kept aside until the outcome is known: a refused
     * transaction leaves the pool as it found it. */
    tx_list taken = {NULL, 0, 0};
    if (old)
        tx_list_take(m, &taken, old);
    if (tx_attach(m, e) != 0) {
        tx_list_finish(m, &taken, 1);
        return bwc_fail(res, BWC_RESULT_ERROR, "out-of-memory");
    }
    bwc_result why;
    bwc_result_ok(&why);
    if (old)
        revalidate_sender(m, &tx.from, &taken, &why);
    if (!bwc_mempool_get(m, &txid)) {
        /* A stale predecessor, or the replacement itself, failed and dropped it: refuse it and
         * put back what it displaced (the replaced transaction among them). */
        for (size_t i = 0; i < taken.n; i++)
            if (taken.v[i] == e) {
                taken.v[i] = taken.v[--taken.n];
                tx_free(e);
                break;
            } /* not listed: tx_list_take already freed it */
        tx_list_finish(m, &taken, 1);
        if (why.code == BWC_RESULT_OK)
            return bwc_fail(res, BWC_RESULT_ERROR, "out-of-memory");
        return bwc_fail(res, why.code, why.reject);
    }
    while (m->bytes > m->max_bytes) {
        bwc_mempool_tx *w = eviction_candidate(m);
        if (!w)
            break;
        if (w == e) {
            tx_remove(m, e);
            tx_list_finish(m, &taken, 1);
            return bwc_fail(res, BWC_RESULT_INVALID, "mempool-full");
        }
        tx_list_take(m, &taken, w);
    }
    tx_list_finish(m, &taken, 0);
    bwc_log_debug(BWC_LOG_MEMPOOL, "accepted a %s transaction (%zu bytes, fee %llu)",
                  bwc_tx_type_name(tx.type), len, (unsigned long long)tx.fee);
    bwc_result_ok(res);
    return 1;
}

/* ---- receipts ---- */

static size_t lane_key(unsigned char k[96], const bwc_receipt *r)
{
    memcpy(k, r->channel.b, 32);
    if (!r->is_pool)
        return 32;
    memcpy(k + 32, r->consumer.b, 32);
    memcpy(k + 64, r->relay.b, 32);
    return 96;
}

/* Checks r against the tip's state, as the first receipt of the next block. */
static int check_receipt(bwc_mempool *m, const bwc_receipt *r, const bwc_hash *rid,
                         const bwc_sig_checker *sigs, bwc_result *res)
{
    bwc_state_view base = bwc_chain_view(m->chain);
    bwc_overlay o;
    bwc_overlay_init(&o, &base);
    bwc_state_view v = bwc_overlay_view(&o);
    bwc_block_ctx ctx;
    begin_next_block(m, &ctx);
    ctx.sigs = sigs;
    int ok = bwc_state_apply_receipt(&v, &ctx, r, rid, 1, res);
    bwc_overlay_free(&o);
    return ok;
}

int bwc_mempool_add_receipt(bwc_mempool *m, const unsigned char *bytes, size_t len,
                            bwc_hash *rid_out, bwc_result *res)
{
    bwc_receipt r;
    if (!bwc_receipt_decode(&r, bytes, len, res))
        return 0;
    bwc_hash rid;
    bwc_receipt_id(&m->chain->chain_id, &r, &rid);
    if (rid_out)
        *rid_out = rid;
    unsigned char k[96];
    size_t kl = lane_key(k, &r);
    bwc_mempool_receipt *old = bwc_map_get(&m->receipts, k, kl);
    if (old && memcmp(&old->rid, &rid, 32) == 0 &&
        memcmp(old->r.relay_sig.b, r.relay_sig.b, 64) == 0)
        return bwc_fail(res, BWC_RESULT_INVALID, "receipt-already-pooled");
    if (old && old->r.seq >= r.seq)
        return bwc_fail(res, BWC_RESULT_INVALID, "bad-receipt-seq");
    if (!old && bwc_map_size(&m->receipts) >= BWC_RECEIPTPOOL_MAX)
        return bwc_fail(res, BWC_RESULT_INVALID, "receipt-pool-full");
    /* NULL checker: signatures are verified inline here, once. */
    if (!check_receipt(m, &r, &rid, NULL, res))
        return 0;
    bwc_mempool_receipt *e = calloc(1, sizeof *e);
    unsigned char *copy = malloc(len);
    if (!e || !copy || bwc_map_put(&m->receipts, k, kl, e) != 0) {
        free(e);
        free(copy);
        return bwc_fail(res, BWC_RESULT_ERROR, "out-of-memory");
    }
    memcpy(copy, bytes, len);
    *e = (bwc_mempool_receipt){rid, r, copy, len};
    if (old) {
        bwc_map_del(&m->by_rid, old->rid.b, 32);
        receipt_free(old);
    }
    if (bwc_map_put(&m->by_rid, rid.b, 32, e) != 0) {
        bwc_map_del(&m->receipts, k, kl);
        receipt_free(e);
        return bwc_fail(res, BWC_RESULT_ERROR, "out-of-memory");
    }
    bwc_log_debug(BWC_LOG_RECEIPTS, "pooled a receipt (seq %llu, amount %llu)",
                  (unsigned long long)r.seq, (unsigned long long)r.amount);
    bwc_result_ok(res);
    return 1;
}

const bwc_mempool_receipt *bwc_mempool_get_receipt(const bwc_mempool *m, const bwc_hash *rid)
{
    return bwc_map_get(&m->by_rid, rid->b, 32);
}

/* ---- templates ---- */

static int cmp_rate(const void *a, const void *b)
{
    const bwc_mempool_tx *x = *(bwc_mempool_tx *const *)a, *y = *(bwc_mempool_tx *const *)b;
    if (lower_rate(y, x))
        return -1;
    if (lower_rate(x, y))
        return 1;
    return (x->tx.nonce > y->tx.nonce) - (x->tx.nonce < y->tx.nonce);
}

/* Applies one object through a child overlay, so that a failure leaves o and ctx untouched. */
static int try_apply(bwc_overlay *o, bwc_block_ctx *ctx, const bwc_tx *tx, const bwc_hash *txid,
                     const bwc_receipt *r, const bwc_hash *rid)
{
    bwc_state_view pv = bwc_overlay_view(o);
    bwc_overlay child;
    bwc_overlay_init(&child, &pv);
    bwc_state_view cv = bwc_overlay_view(&child);
    bwc_block_ctx saved = *ctx;
    bwc_result res;
    int ok = tx ? bwc_state_apply_tx(&cv, ctx, tx, txid, &res)
                : bwc_state_apply_receipt(&cv, ctx, r, rid, 1, &res);
    if (ok && (child.failed || bwc_overlay_commit(&child) != 0))
        ok = 0;
    if (!ok)
        *ctx = saved;
    bwc_overlay_free(&child);
    return ok;
}

int bwc_mempool_fill(bwc_mempool *m, bwc_overlay *o, bwc_block_ctx *ctx, size_t max_body,
                     bwc_block *b)
{
    size_t n = bwc_map_size(&m->txs), used = 64, j = 0;
    bwc_mempool_tx **all = malloc((n ? n : 1) * sizeof *all);
    b->txs = calloc(n ? n : 1, sizeof *b->txs);
    b->receipts = calloc(bwc_map_size(&m->receipts) + 1, sizeof *b->receipts);
    if (!all || !b->txs || !b->receipts) {
        free(all);
        return -1;
    }
    const bwc_sig_checker *sigs = ctx->sigs;
    ctx->sigs = &accept_all;
    const unsigned char *k;
    size_t kl;
    void *v;
    for (size_t i = 0; bwc_map_next(&m->txs, &i, &k, &kl, &v);)
        all[j++] = v;
    qsort(all, n, sizeof *all, cmp_rate);
    bwc_state_view view = bwc_overlay_view(o);
    /* Highest fee rate first, each sender in nonce order: repeat passes until nothing more
     * fits, since taking a sender's transaction can make its next one ready. */
    for (int progress = 1; progress;) {
        progress = 0;
        for (size_t i = 0; i < n; i++) {
            bwc_mempool_tx *e = all[i];
            if (!e || used + e->len > max_body)
                continue;
            bwc_account acc;
            if (bwc_state_account(&view, &e->tx.from, &acc) < 0 || e->tx.nonce != acc.nonce)
                continue;
            if (try_apply(o, ctx, &e->tx, &e->txid, NULL, NULL)) {
                b->txs[b->n_txs++] = e->tx;
                used += e->len;
                progress = 1;
            }
            all[i] = NULL;
        }
    }
    free(all);
    for (size_t i = 0; bwc_map_next(&m->receipts, &i, &k, &kl, &v);) {
        bwc_mempool_receipt *e = v;
        if (used + e->len > max_body)
            continue;
        if (try_apply(o, ctx, NULL, NULL, &e->r, &e->rid)) {
            b->receipts[b->n_receipts++] = e->r;
            used += e->len;
        }
    }
    ctx->sigs = sigs;
    return 0;
}

/* ---- chain events ---- */

void bwc_mempool_block_connected(bwc_mempool *m, const bwc_block *b)
{
    for (size_t i = 0; i < b->n_txs; i++) {
        bwc_hash txid;
        bwc_tx_id(&m->chain->chain_id, &b->txs[i], &txid);
        bwc_mempool_tx *e = bwc_map_get(&m->txs, txid.b, 32);
        if (e)
            tx_remove(m, e);
    }
    /* Senders to re-check, each once: the block's, and those with a pooled transaction that
     * can stop applying without its sender doing anything: a content_register whose id another
     * sender registered, a channel_open or sponsor whose expiry the new height has reached.
     * Left in the pool, such a transaction would hold back its sender's later ones until it
     * expired (templates skip it, so nothing after it could be mined). */
    bwc_map senders;
    bwc_map_init(&senders);
    for (size_t i = 0; i < b->n_txs; i++)
        bwc_map_put(&senders, b->txs[i].from.b, 32, &b->txs[i]);
    /* Transactions whose nonce the block used up, and old ones that never made it. */
    bwc_state_view base = bwc_chain_view(m->chain);
    const unsigned char *k;
    size_t kl;
    void *v;
    for (size_t i = 0; bwc_map_next(&m->txs, &i, &k, &kl, &v);) {
        bwc_mempool_tx *e = v;
        bwc_account acc;
        if (bwc_state_account(&base, &e->tx.from, &acc) < 0)
            continue;
        if (e->tx.nonce < acc.nonce || e->time + TX_EXPIRY_SECONDS < b->header.time) {
            tx_remove(m, e);
            continue;
        }
        if (e->tx.type == BWC_TX_CONTENT_REGISTER || e->tx.type == BWC_TX_CHANNEL_OPEN ||
            e->tx.type == BWC_TX_SPONSOR)
            bwc_map_put(&senders, e->tx.from.b, 32, e);
    }
    /* revalidate_sender removes entries of m->txs, never of senders: iterating it is safe. An
     * allocation that failed above only skips a sender's re-check until the next block. */
    for (size_t i = 0; bwc_map_next(&senders, &i, &k, &kl, &v);) {
        bwc_pubkey from;
        memcpy(from.b, k, 32);
        revalidate_sender(m, &from, NULL, NULL);
    }
    bwc_map_free(&senders);
    /* Receipts the block settled, or that can no longer settle. */
    for (size_t i = 0; bwc_map_next(&m->receipts, &i, &k, &kl, &v);) {
        bwc_mempool_receipt *e = v;
        bwc_result res;
        if (!check_receipt(m, &e->r, &e->rid, &accept_all, &res)) {
            bwc_map_del(&m->receipts, k, kl);
            bwc_map_del(&m->by_rid, e->rid.b, 32);
            receipt_free(e);
        }
    }
}

void bwc_mempool_block_disconnected(bwc_mempool *m, const bwc_block *b, uint64_t now)
{
    bwc_buf enc = BWC_BUF_INIT;
    for (size_t i = 0; i < b->n_txs; i++) {
        bwc_buf_reset(&enc);
        bwc_result res;
        if (bwc_tx_encode(&b->txs[i], 0, &enc) &&
            !bwc_mempool_add_tx(m, enc.data, enc.len, now, NULL, &res))
            bwc_log_debug(BWC_LOG_MEMPOOL, "a transaction of a disconnected block is dropped: %s",
                          res.reject);
    }
    for (size_t i = 0; i < b->n_receipts; i++) {
        bwc_buf_reset(&enc);
        bwc_result res;
        if (bwc_receipt_encode(&b->receipts[i], &enc))
            bwc_mempool_add_receipt(m, enc.data, enc.len, NULL, &res);
    }
    bwc_buf_free(&enc);
}
