/* mempool.h: transactions and receipts waiting for a block.
 *
 * Transactions: at most one per (sender, nonce); a sender's transactions form a sequence from
 * its account nonce, and one may float at most BWC_MEMPOOL_NONCE_GAP nonces beyond the end of
 * that unbroken sequence; a transaction that continues
 * the sequence is checked against the tip's state with its predecessors applied, one after a
 * gap (a future transaction) only for being payable from the sender's balance; one at the
 * same nonce replaces the old one when it pays at least min_fee more (replace-by-fee). When the
 * pool is over its byte limit the lowest fee rate among the last transactions of each sender is
 * evicted. Receipts: the newest valid receipt per channel, or per (pool, consumer, relay). */
#ifndef BWC_NODE_MEMPOOL_H
#define BWC_NODE_MEMPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "common/map.h"
#include "consensus/block.h"
#include "node/chain.h"

#define BWC_MEMPOOL_NONCE_GAP 32
#define BWC_MEMPOOL_DEFAULT_BYTES (64u << 20)
#define BWC_RECEIPTPOOL_MAX 200000

typedef struct {
    bwc_hash txid;
    bwc_tx tx;
    unsigned char *bytes;
    size_t len;
    uint64_t time; /* unix seconds when it entered */
} bwc_mempool_tx;

typedef struct {
    bwc_hash rid;
    bwc_receipt r;
    unsigned char *bytes;
    size_t len;
} bwc_mempool_receipt;

typedef struct {
    bwc_chain *chain;
    bwc_map txs;      /* txid -> bwc_mempool_tx * */
    bwc_map by_nonce; /* from || u64be nonce -> the same */
    bwc_map receipts; /* lane -> bwc_mempool_receipt * */
    bwc_map by_rid;   /* receipt id -> the same */
    size_t bytes, max_bytes;
} bwc_mempool;

void bwc_mempool_init(bwc_mempool *m, bwc_chain *chain, size_t max_bytes);
void bwc_mempool_free(bwc_mempool *m);

/* Checks and adds an encoded transaction. Returns 1 (res OK), or 0 with res set: MALFORMED
 * when it does not decode, INVALID with a consensus reject string or one of
 *   txn-already-in-mempool, txn-already-known (confirmed on the best chain),
 *   mempool-nonce-gap, mempool-replacement-fee-too-low, mempool-full. */
int bwc_mempool_add_tx(bwc_mempool *m, const unsigned char *bytes, size_t len, uint64_t now,
                       bwc_hash *txid, bwc_result *res);
/* Checks and adds an encoded receipt (relay_sig required) against the tip's state. Returns 1,
 * or 0 with res set (consensus reject strings, receipt-already-pooled, receipt-pool-full). */
int bwc_mempool_add_receipt(bwc_mempool *m, const unsigned char *bytes, size_t len,
                            bwc_hash *rid, bwc_result *res);

const bwc_mempool_tx *bwc_mempool_get(const bwc_mempool *m, const bwc_hash *txid);
/* The pooled receipt with this receipt id, or NULL. */
const bwc_mempool_receipt *bwc_mempool_get_receipt(const bwc_mempool *m, const bwc_hash *rid);
static inline size_t bwc_mempool_size(const bwc_mempool *m)
{
    return bwc_map_size(&m->txs);
}

/* Fills the body of a block template: txs in fee-rate order that apply in sequence on top of
 * o (an overlay over the tip's state, with ctx begun for the new block), then receipts, while
 * the encoded block stays under max_body bytes. Applies what it selects to o. Returns 0, or -1
 * when out of memory. */
int bwc_mempool_fill(bwc_mempool *m, bwc_overlay *o, bwc_block_ctx *ctx, size_t max_body,
                     bwc_block *b);

/* Chain listener callbacks: remove what a block confirmed, what its nonces used up and what no
 * longer applies (re-checking the block's senders and those whose content_register, channel_open
 * or sponsor can be invalidated by others or by the height); take back what a disconnected block
 * held. */
void bwc_mempool_block_connected(bwc_mempool *m, const bwc_block *b);
void bwc_mempool_block_disconnected(bwc_mempool *m, const bwc_block *b, uint64_t now);

#endif
