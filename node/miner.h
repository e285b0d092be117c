/* miner.h: building blocks on the tip: the template, proof of work, the authority's signature. */
#ifndef BWC_NODE_MINER_H
#define BWC_NODE_MINER_H

#include <stdint.h>

#include "consensus/block.h"
#include "node/chain.h"
#include "node/mempool.h"

/* Builds a block on the tip for producer with the mempool's best transactions and receipts:
 * header (height, prev, time = max(time, median-time-past + 1), roots, and on pow chains the
 * required target with nonce 0). The caller grinds (pow) or signs (poa) it. Returns 0, or -1
 * (out of memory, or a storage error) with res set. */
int bwc_miner_template(bwc_chain *c, bwc_mempool *m, const bwc_pubkey *producer, uint64_t time,
                       bwc_block *out, bwc_result *res);

/* Tries nonces from h->nonce up, at most tries of them. Returns 1 with h->nonce set when the
 * block id meets the header's target, else 0 (h->nonce is where to go on). */
int bwc_miner_grind(bwc_header *h, uint64_t tries);

/* Signs the header (poa): sig over the block id. Returns 1, or 0. */
int bwc_miner_sign(const secp256k1_context *secp, bwc_header *h, const unsigned char seckey[32]);

#endif
