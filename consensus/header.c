/* header.c: the block header's map, its strict decoder and the block id (§3.6). */
#include "consensus/header.h"

#include <stddef.h>
#include <string.h>

#include "consensus/hash.h"
#include "consensus/objects_internal.h"
#include "consensus/schema.h"

#define H(field) offsetof(bwc_header, field)

static const bwc_field header_fields[] = {
    {0, BWC_F_UINT, 0, H(version), 0, 0, NULL, NULL},
    {1, BWC_F_UINT, 0, H(height), 0, 0, NULL, NULL},
    {2, BWC_F_HASH, 0, H(prev), 0, 0, NULL, NULL},
    {3, BWC_F_UINT, 0, H(time), 0, 0, NULL, NULL},
    {4, BWC_F_HASH, 0, H(tx_root), 0, 0, NULL, NULL},
    {5, BWC_F_HASH, 0, H(receipt_root), 0, 0, NULL, NULL},
    {6, BWC_F_HASH, 0, H(producer), 0, 0, NULL, NULL},
    {7, BWC_F_U32, 1, H(target), 0, H(has_pow), NULL, NULL},
    {8, BWC_F_UINT, 1, H(nonce), 0, H(has_pow), NULL, NULL},
    {15, BWC_F_SIG, 1, H(sig), 0, H(has_sig), NULL, NULL},
};

static const bwc_schema header_schema = {
    header_fields,       sizeof header_fields / sizeof header_fields[0],
    "bad-header-field",  "bad-header-field",
    "bad-header-unknown-key", "bad-header-missing-field",
};

int bwc_header_encode(const bwc_header *h, int without_sig, bwc_buf *out)
{
    return bwc_schema_encode(out, &header_schema, h, without_sig ? BWC_KEY_BIT(15) : 0);
}

int bwc_header_read(bwc_cbor_reader *r, bwc_header *h, bwc_result *res)
{
    uint32_t seen;
    size_t start = r->pos;
    memset(h, 0, sizeof *h);
    if (!bwc_schema_decode(r, &header_schema, h, &seen, res))
        goto fail;
    if (r->pos - start > BWC_HEADER_MAX_BYTES) {
        bwc_fail(res, BWC_RESULT_MALFORMED, "bad-header-oversize");
        goto fail;
    }
    if (h->version != 1) {
        bwc_fail(res, BWC_RESULT_MALFORMED, "bad-header-version");
        goto fail;
    }
    /* Keys 7 and 8 come together (pow) or not at all (poa), §6. */
    if (!(seen & BWC_KEY_BIT(7)) != !(seen & BWC_KEY_BIT(8))) {
        bwc_fail(res, BWC_RESULT_MALFORMED, "bad-header-pow-fields");
        goto fail;
    }
    return 1;
fail:
    memset(h, 0, sizeof *h);
    return 0;
}

static int read_header(bwc_cbor_reader *r, void *obj, bwc_result *res)
{
    return bwc_header_read(r, obj, res);
}

int bwc_header_decode(bwc_header *h, const unsigned char *p, size_t n, bwc_result *res)
{
    return bwc_decode_whole(p, n, BWC_HEADER_MAX_BYTES, "bad-header-oversize", read_header, h,
                            sizeof *h, res);
}

void bwc_header_id(const bwc_header *h, bwc_hash *id)
{
    bwc_buf b = BWC_BUF_INIT;
    if (!bwc_header_encode(h, 1, &b))
        memset(id->b, 0, sizeof id->b);
    else
        bwc_tagged_hash(id, "bwc/block", b.data, b.len);
    bwc_buf_free(&b);
}
