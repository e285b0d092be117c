/* genesis.c: enc(G), the genesis header and chain_id, exactly as PROTOCOL.md §4 writes them. */
#include "consensus/genesis.h"

#include <string.h>

#include "consensus/cbor.h"
#include "consensus/hash.h"

static void put_key_uint(bwc_buf *b, uint64_t key, uint64_t v)
{
    bwc_cbor_put_uint(b, key);
    bwc_cbor_put_uint(b, v);
}

static void put_engine(bwc_buf *b, const bwc_params *p)
{
    bwc_cbor_put_uint(b, 5);
    if (p->engine == BWC_ENGINE_POW) {
        bwc_cbor_put_tstr(b, "pow", 3);
        bwc_cbor_put_uint(b, 6);
        bwc_cbor_put_map(b, 4);
        put_key_uint(b, 0, p->pow.initial_target);
        put_key_uint(b, 1, p->pow.target_spacing);
        put_key_uint(b, 2, p->pow.half_life);
        put_key_uint(b, 3, p->pow.no_retarget ? 1 : 0);
    } else {
        bwc_cbor_put_tstr(b, "poa", 3);
        bwc_cbor_put_uint(b, 6);
        bwc_cbor_put_map(b, 3);
        bwc_cbor_put_uint(b, 0);
        bwc_cbor_put_array(b, p->poa.n_authorities);
        for (size_t i = 0; i < p->poa.n_authorities; i++)
            bwc_cbor_put_bstr(b, p->poa.authorities[i].b, BWC_PUBKEY_SIZE);
        put_key_uint(b, 1, p->poa.slot_seconds);
        put_key_uint(b, 2, p->poa.finality_depth);
    }
}

int bwc_genesis_encode_g(const bwc_params *p, bwc_buf *out)
{
    if (p->engine != BWC_ENGINE_POW && p->engine != BWC_ENGINE_POA)
        return 0;
    if ((p->n_allocations && !p->allocations) ||
        (p->engine == BWC_ENGINE_POA && p->poa.n_authorities && !p->poa.authorities))
        return 0;
    bwc_cbor_put_map(out, 9);
    bwc_cbor_put_uint(out, 0);
    bwc_cbor_put_tstr(out, p->hrp, strnlen(p->hrp, BWC_HRP_MAX));
    put_key_uint(out, 1, p->magic);
    put_key_uint(out, 2, p->genesis_time);
    bwc_cbor_put_uint(out, 3);
    bwc_cbor_put_tstr(out, p->message, strnlen(p->message, BWC_GENESIS_MSG_MAX));
    bwc_cbor_put_uint(out, 4);
    bwc_cbor_put_array(out, p->n_allocations);
    for (size_t i = 0; i < p->n_allocations; i++) {
        bwc_cbor_put_array(out, 2);
        bwc_cbor_put_bstr(out, p->allocations[i].address.b, BWC_PUBKEY_SIZE);
        bwc_cbor_put_uint(out, p->allocations[i].amount);
    }
    put_engine(out, p);
    bwc_cbor_put_uint(out, 7);
    bwc_cbor_put_map(out, 6);
    put_key_uint(out, 0, p->initial_subsidy);
    put_key_uint(out, 1, p->halving_interval);
    put_key_uint(out, 2, p->min_fee);
    put_key_uint(out, 3, p->receipt_fee);
    put_key_uint(out, 4, p->settle_window);
    put_key_uint(out, 5, p->max_channel_blocks);
    bwc_cbor_put_uint(out, 8);
    bwc_cbor_put_map(out, 3);
    put_key_uint(out, 0, p->max_block_bytes);
    put_key_uint(out, 1, p->max_message_bytes);
    put_key_uint(out, 2, p->max_future_seconds);
    return !out->oom;
}

int bwc_genesis_header(const bwc_params *p, bwc_header *out)
{
    bwc_buf g = BWC_BUF_INIT;
    memset(out, 0, sizeof *out);
    if (!bwc_genesis_encode_g(p, &g)) {
        bwc_buf_free(&g);
        return 0;
    }
    out->version = 1;
    out->time = p->genesis_time;
    bwc_tagged_hash(&out->tx_root, "bwc/genesis", g.data, g.len);
    bwc_buf_free(&g);
    if (p->engine == BWC_ENGINE_POW) {
        out->has_pow = 1;
        out->target = p->pow.initial_target;
        out->nonce = 0;
    }
    return 1;
}

int bwc_chain_id(const bwc_params *p, bwc_hash *out)
{
    bwc_header h;
    memset(out->b, 0, sizeof out->b);
    if (!bwc_genesis_header(p, &h))
        return 0;
    bwc_header_id(&h, out);
    return !bwc_hash_is_zero(out); /* bwc_header_id gives 0^32 when out of memory */
}
