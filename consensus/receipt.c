/* receipt.c: the receipt map, its strict decoder, its ids and the delivery digest. */
#include "consensus/receipt.h"

#include <stddef.h>
#include <string.h>

#include "consensus/hash.h"
#include "consensus/objects_internal.h"
#include "consensus/schema.h"

#define R(field) offsetof(bwc_receipt, field)

static const bwc_field receipt_fields[] = {
    {0, BWC_F_HASH, 0, R(channel), 0, 0, NULL, NULL},
    {1, BWC_F_UINT, 0, R(seq), 0, 0, NULL, NULL},
    {2, BWC_F_UINT, 0, R(bytes), 0, 0, NULL, NULL},
    {3, BWC_F_UINT, 0, R(amount), 0, 0, NULL, NULL},
    {4, BWC_F_HASH, 0, R(digest), 0, 0, NULL, NULL},
    {5, BWC_F_HASH, 1, R(consumer), 0, R(is_pool), NULL, NULL},
    {6, BWC_F_SIG, 1, R(ticket), 0, R(has_ticket), NULL, NULL},
    {7, BWC_F_HASH, 1, R(relay), 0, R(is_pool), NULL, NULL},
    {14, BWC_F_SIG, 1, R(relay_sig), 0, R(has_relay_sig), NULL, NULL},
    {15, BWC_F_SIG, 0, R(consumer_sig), 0, 0, NULL, NULL},
};

static const bwc_schema receipt_schema = {
    receipt_fields,
    sizeof receipt_fields / sizeof receipt_fields[0],
    "bad-receipt-field",
    "bad-receipt-field",
    "bad-receipt-unknown-key",
    "bad-receipt-missing-field",
};

int bwc_receipt_encode(const bwc_receipt *r, bwc_buf *out)
{
    return bwc_schema_encode(out, &receipt_schema, r, 0);
}

int bwc_receipt_read(bwc_cbor_reader *rd, bwc_receipt *r, bwc_result *res)
{
    uint32_t seen;
    size_t start = rd->pos;
    memset(r, 0, sizeof *r);
    if (!bwc_schema_decode(rd, &receipt_schema, r, &seen, res))
        goto fail;
    if (rd->pos - start > BWC_RECEIPT_MAX_BYTES) {
        bwc_fail(res, BWC_RESULT_MALFORMED, "bad-receipt-oversize");
        goto fail;
    }
    if (r->seq < 1) {
        bwc_fail(res, BWC_RESULT_MALFORMED, "bad-receipt-seq-zero");
        goto fail;
    }
    if (!(seen & BWC_KEY_BIT(5)) != !(seen & BWC_KEY_BIT(7))) {
        bwc_fail(res, BWC_RESULT_MALFORMED, "bad-receipt-pool-fields");
        goto fail;
    }
    if (r->has_ticket && !r->is_pool) {
        bwc_fail(res, BWC_RESULT_MALFORMED, "bad-receipt-ticket-without-pool");
        goto fail;
    }
    return 1;
fail:
    memset(r, 0, sizeof *r);
    return 0;
}

static int read_receipt(bwc_cbor_reader *rd, void *obj, bwc_result *res)
{
    return bwc_receipt_read(rd, obj, res);
}

int bwc_receipt_decode(bwc_receipt *r, const unsigned char *p, size_t n, bwc_result *res)
{
    return bwc_decode_whole(p, n, BWC_RECEIPT_MAX_BYTES, "bad-receipt-oversize", read_receipt, r,
                            sizeof *r, res);
}

void bwc_receipt_id(const bwc_hash *chain_id, const bwc_receipt *r, bwc_hash *id)
{
    bwc_buf b = BWC_BUF_INIT;
    if (!bwc_schema_encode(&b, &receipt_schema, r, BWC_KEY_BIT(14) | BWC_KEY_BIT(15)))
        memset(id->b, 0, sizeof id->b);
    else
        bwc_tagged_hash2(id, "bwc/receipt", chain_id->b, sizeof chain_id->b, b.data, b.len);
    bwc_buf_free(&b);
}

void bwc_receipt_leaf(const bwc_receipt *r, bwc_hash *leaf)
{
    bwc_buf b = BWC_BUF_INIT;
    if (!bwc_receipt_encode(r, &b))
        memset(leaf->b, 0, sizeof leaf->b);
    else
        bwc_tagged_hash(leaf, "bwc/rcw", b.data, b.len);
    bwc_buf_free(&b);
}

void bwc_ticket_msg(const bwc_hash *chain_id, const bwc_hash *pool, const bwc_pubkey *consumer,
                    bwc_hash *msg)
{
    unsigned char m[96];
    memcpy(m, chain_id->b, 32);
    memcpy(m + 32, pool->b, 32);
    memcpy(m + 64, consumer->b, 32);
    bwc_tagged_hash(msg, "bwc/ticket", m, sizeof m);
}

void bwc_delivery_next(bwc_hash *digest, const bwc_hash *content_id, uint32_t index,
                       const bwc_hash *chunk_hash)
{
    unsigned char m[32 + 32 + 4 + 32];
    memcpy(m, digest->b, 32);
    memcpy(m + 32, content_id->b, 32);
    m[64] = (unsigned char)(index >> 24);
    m[65] = (unsigned char)(index >> 16);
    m[66] = (unsigned char)(index >> 8);
    m[67] = (unsigned char)index;
    memcpy(m + 68, chunk_hash->b, 32);
    bwc_tagged_hash(digest, "bwc/delivery", m, sizeof m);
}

int bwc_receipt_max_amount(uint64_t bytes, uint64_t price, uint64_t *out)
{
    unsigned __int128 v = (unsigned __int128)bytes * price;
    v = (v + ((1u << 20) - 1)) >> 20;
    if (v > UINT64_MAX)
        return 0;
    *out = (uint64_t)v;
    return 1;
}
