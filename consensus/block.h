/* block.h: blocks (§3.6): a header, transactions and receipts; decoding and Merkle roots. */
#ifndef BWC_CONSENSUS_BLOCK_H
#define BWC_CONSENSUS_BLOCK_H

#include <stddef.h>

#include "consensus/buf.h"
#include "consensus/header.h"
#include "consensus/receipt.h"
#include "consensus/result.h"
#include "consensus/tx.h"

/* txs and receipts are owned by the block: release with bwc_block_free. */
typedef struct {
    bwc_header header;
    bwc_tx *txs;
    size_t n_txs;
    bwc_receipt *receipts;
    size_t n_receipts;
} bwc_block;

/* Appends enc(block) = {0: header, 1: [tx...], 2: [receipt...]}. Returns 1, or 0 on allocation
 * failure. */
int bwc_block_encode(const bwc_block *b, bwc_buf *out);

/* Decodes a block of at most max_bytes (the chainspec's max_block_bytes) from exactly n bytes;
 * every transaction, receipt and the header obey their own decoders and limits. Returns 1 with
 * the arrays allocated, or 0 with res set and *b zeroed. */
int bwc_block_decode(bwc_block *b, const unsigned char *p, size_t n, size_t max_bytes,
                     bwc_result *res);

void bwc_block_free(bwc_block *b);

/* Computes the Merkle roots of the block's transactions and receipts (§3.6). Returns 1, or 0
 * on allocation failure. */
int bwc_block_roots(const bwc_block *b, bwc_hash *tx_root, bwc_hash *receipt_root);

/* Checks the header's roots against the body. Returns 1, or 0 with res set
 * (bad-block-tx-root, bad-block-receipt-root). */
int bwc_block_check_roots(const bwc_block *b, bwc_result *res);

#endif
