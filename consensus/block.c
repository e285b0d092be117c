/* block.c: the block map, its decoder (which reuses the header, tx and receipt readers) and
 * its Merkle roots. */
#include "consensus/block.h"

#include <stdlib.h>
#include <string.h>

#include "consensus/merkle.h"
#include "consensus/objects_internal.h"
#include "consensus/schema.h"

/* Reads an array of fixed-size elements, growing the storage as elements actually decode so
 * that a count in the header never sizes an allocation by itself. */
static int read_list(bwc_cbor_reader *r, void **items, size_t *n_items, size_t elem_size,
                     bwc_read_fn read, bwc_result *res)
{
    size_t count, cap = 0;
    unsigned char *arr = NULL;
    if (!bwc_cbor_read_array(r, &count))
        return bwc_fail(res, BWC_RESULT_MALFORMED, "bad-block-field");
    for (size_t i = 0; i < count; i++) {
        if (i == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            unsigned char *p = realloc(arr, ncap * elem_size);
            if (!p) {
                free(arr);
                return bwc_fail(res, BWC_RESULT_ERROR, "out-of-memory");
            }
            arr = p;
            cap = ncap;
        }
        if (!read(r, arr + i * elem_size, res)) {
            free(arr);
            return 0;
        }
    }
    *items = arr;
    *n_items = count;
    return 1;
}

static int read_tx(bwc_cbor_reader *r, void *obj, bwc_result *res)
{
    return bwc_tx_read(r, obj, res);
}

static int read_receipt(bwc_cbor_reader *r, void *obj, bwc_result *res)
{
    return bwc_receipt_read(r, obj, res);
}

static int header_decode(bwc_cbor_reader *r, void *obj, bwc_result *res)
{
    return bwc_header_read(r, &((bwc_block *)obj)->header, res);
}

static int txs_decode(bwc_cbor_reader *r, void *obj, bwc_result *res)
{
    bwc_block *b = obj;
    return read_list(r, (void **)&b->txs, &b->n_txs, sizeof(bwc_tx), read_tx, res);
}

static int receipts_decode(bwc_cbor_reader *r, void *obj, bwc_result *res)
{
    bwc_block *b = obj;
    return read_list(r, (void **)&b->receipts, &b->n_receipts, sizeof(bwc_receipt), read_receipt,
                     res);
}

static int header_encode(const void *obj, bwc_buf *out)
{
    return bwc_header_encode(&((const bwc_block *)obj)->header, 0, out);
}

static int txs_encode(const void *obj, bwc_buf *out)
{
    const bwc_block *b = obj;
    bwc_cbor_put_array(out, b->n_txs);
    for (size_t i = 0; i < b->n_txs; i++)
        if (!bwc_tx_encode(&b->txs[i], 0, out))
            return 0;
    return !out->oom;
}

static int receipts_encode(const void *obj, bwc_buf *out)
{
    const bwc_block *b = obj;
    bwc_cbor_put_array(out, b->n_receipts);
    for (size_t i = 0; i < b->n_receipts; i++)
        if (!bwc_receipt_encode(&b->receipts[i], out))
            return 0;
    return !out->oom;
}

static const bwc_field block_fields[] = {
    {0, BWC_F_CUSTOM, 0, 0, 0, 0, header_decode, header_encode},
    {1, BWC_F_CUSTOM, 0, 0, 0, 0, txs_decode, txs_encode},
    {2, BWC_F_CUSTOM, 0, 0, 0, 0, receipts_decode, receipts_encode},
};

static const bwc_schema block_schema = {
    block_fields,
    sizeof block_fields / sizeof block_fields[0],
    "bad-block-field",
    "bad-block-field",
    "bad-block-unknown-key",
    "bad-block-missing-field",
};

int bwc_block_encode(const bwc_block *b, bwc_buf *out)
{
    return bwc_schema_encode(out, &block_schema, b, 0);
}

void bwc_block_free(bwc_block *b)
{
    free(b->txs);
    free(b->receipts);
    memset(b, 0, sizeof *b);
}

static int read_block(bwc_cbor_reader *r, void *obj, bwc_result *res)
{
    if (!bwc_schema_decode(r, &block_schema, obj, NULL, res)) {
        bwc_block_free(obj);
        return 0;
    }
    return 1;
}

int bwc_block_decode(bwc_block *b, const unsigned char *p, size_t n, size_t max_bytes,
                     bwc_result *res)
{
    return bwc_decode_whole(p, n, max_bytes, "bad-block-oversize", read_block, b, sizeof *b,
                            res);
}

int bwc_block_roots(const bwc_block *b, bwc_hash *tx_root, bwc_hash *receipt_root)
{
    size_t n = b->n_txs > b->n_receipts ? b->n_txs : b->n_receipts;
    bwc_hash *leaves = malloc((n ? n : 1) * sizeof *leaves);
    if (!leaves)
        return 0;
    for (size_t i = 0; i < b->n_txs; i++)
        bwc_tx_leaf(&b->txs[i], &leaves[i]);
    bwc_merkle_root(leaves, b->n_txs, tx_root);
    for (size_t i = 0; i < b->n_receipts; i++)
        bwc_receipt_leaf(&b->receipts[i], &leaves[i]);
    bwc_merkle_root(leaves, b->n_receipts, receipt_root);
    free(leaves);
    return 1;
}

int bwc_block_check_roots(const bwc_block *b, bwc_result *res)
{
    bwc_hash tx_root, receipt_root;
    if (!bwc_block_roots(b, &tx_root, &receipt_root))
        return bwc_fail(res, BWC_RESULT_ERROR, "out-of-memory");
    if (memcmp(tx_root.b, b->header.tx_root.b, 32) != 0)
        return bwc_fail(res, BWC_RESULT_INVALID, "bad-block-tx-root");
    if (memcmp(receipt_root.b, b->header.receipt_root.b, 32) != 0)
        return bwc_fail(res, BWC_RESULT_INVALID, "bad-block-receipt-root");
    bwc_result_ok(res);
    return 1;
}
