/* miner.c: block templates and the two ways of sealing them. */
#include "node/miner.h"

#include <string.h>

#include "common/random.h"
#include "consensus/engine.h"
#include "consensus/key.h"
#include "consensus/state.h"
#include "consensus/target.h"

/* Room for the header and the block's own envelope. */
#define TEMPLATE_RESERVED 1024

int bwc_miner_template(bwc_chain *c, bwc_mempool *m, const bwc_pubkey *producer, uint64_t time,
                       bwc_block *out, bwc_result *res)
{
    const bwc_params *p = c->params;
    const bwc_index *tip = bwc_chain_tip(c);
    memset(out, 0, sizeof *out);
    bwc_header *h = &out->header;
    h->version = 1;
    h->height = tip->height + 1;
    h->prev = tip->id;
    uint64_t times[BWC_MTP_SPAN];
    size_t n = bwc_chain_mtp_times(tip, times);
    uint64_t mtp = bwc_median_time_past(times, n);
    h->time = time > mtp ? time : mtp + 1;
    h->producer = *producer;
    if (p->engine == BWC_ENGINE_POW) {
        h->has_pow = 1;
        h->target = bwc_asert_next_compact(p, tip->height, tip->header.time);
        h->nonce = 0;
    } else {
        h->has_sig = 1;
    }
    bwc_state_view base = bwc_chain_view(c);
    bwc_overlay o;
    bwc_overlay_init(&o, &base);
    bwc_block_ctx ctx;
    bwc_state_begin_block(&ctx, p, &c->chain_id, c->secp, NULL, h->height, producer);
    int rc = -1;
    if (bwc_mempool_fill(m, &o, &ctx, p->max_block_bytes - TEMPLATE_RESERVED, out) != 0) {
        bwc_fail(res, BWC_RESULT_ERROR, "out-of-memory");
        goto out;
    }
    if (!bwc_block_roots(out, &h->tx_root, &h->receipt_root)) {
        bwc_fail(res, BWC_RESULT_ERROR, "out-of-memory");
        goto out;
    }
    bwc_result_ok(res);
    rc = 0;
out:
    bwc_overlay_free(&o);
    if (rc != 0)
        bwc_block_free(out);
    return rc;
}

int bwc_miner_grind(bwc_header *h, uint64_t tries)
{
    unsigned char target[BWC_U256_SIZE];
    if (!bwc_target_from_compact(target, h->target))
        return 0;
    for (uint64_t i = 0; i < tries; i++) {
        bwc_hash id;
        bwc_header_id(h, &id);
        if (bwc_hash_meets_target(&id, target))
            return 1;
        h->nonce++;
    }
    return 0;
}

int bwc_miner_sign(const secp256k1_context *secp, bwc_header *h, const unsigned char seckey[32])
{
    bwc_hash id;
    unsigned char aux[32];
    bwc_header_id(h, &id);
    if (bwc_random_bytes(aux, sizeof aux) != 0)
        return 0;
    h->has_sig = 1;
    return bwc_sign(secp, &h->sig, seckey, &id, aux);
}
