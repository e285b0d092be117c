/* manifest.c: the manifest map, its strict decoder, content ids and chunk-by-chunk building. */
#include "consensus/manifest.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/hash.h"
#include "consensus/objects_internal.h"
#include "consensus/schema.h"
#include "consensus/tx.h"

#define M(field) offsetof(bwc_manifest, field)

uint64_t bwc_manifest_chunk_count(uint64_t size, uint64_t chunk_size)
{
    return size / chunk_size + (size % chunk_size != 0);
}

uint64_t bwc_manifest_chunk_len(const bwc_manifest *m, size_t index)
{
    uint64_t start = (uint64_t)index * m->chunk_size;
    if (start >= m->size)
        return 0;
    return m->size - start < m->chunk_size ? m->size - start : m->chunk_size;
}

static int chunks_decode(bwc_cbor_reader *r, void *obj, bwc_result *res)
{
    bwc_manifest *m = obj;
    size_t n;
    if (!bwc_cbor_read_array(r, &n))
        return bwc_fail(res, BWC_RESULT_MALFORMED, "bad-manifest-field");
    /* Bounded before the allocation: at most 2^18 entries, and bwc_cbor_check has already
     * held the count to the bytes that remain. */
    if (n < 1 || n > BWC_MAX_CHUNKS)
        return bwc_fail(res, BWC_RESULT_MALFORMED, "bad-manifest-chunk-count");
    m->chunks = malloc(n * sizeof *m->chunks);
    if (!m->chunks)
        return bwc_fail(res, BWC_RESULT_ERROR, "out-of-memory");
    for (size_t i = 0; i < n; i++) {
        const unsigned char *d;
        size_t len;
        if (!bwc_cbor_read_bstr(r, &d, &len) || len != 32)
            return bwc_fail(res, BWC_RESULT_MALFORMED, "bad-manifest-field");
        memcpy(m->chunks[i].b, d, 32);
        m->n_chunks = i + 1;
    }
    return 1;
}

static int chunks_encode(const void *obj, bwc_buf *out)
{
    const bwc_manifest *m = obj;
    bwc_cbor_put_array(out, m->n_chunks);
    for (size_t i = 0; i < m->n_chunks; i++)
        bwc_cbor_put_bstr(out, m->chunks[i].b, 32);
    return !out->oom;
}

static const bwc_field manifest_fields[] = {
    {0, BWC_F_UINT, 0, M(version), 0, 0, NULL, NULL},
    {1, BWC_F_UINT, 0, M(size), 0, 0, NULL, NULL},
    {2, BWC_F_UINT, 0, M(chunk_size), 0, 0, NULL, NULL},
    {3, BWC_F_CUSTOM, 0, 0, 0, 0, chunks_decode, chunks_encode},
};

static const bwc_schema manifest_schema = {
    manifest_fields,
    sizeof manifest_fields / sizeof manifest_fields[0],
    "bad-manifest-field",
    "bad-manifest-field",
    "bad-manifest-unknown-key",
    "bad-manifest-missing-field",
};

int bwc_manifest_encode(const bwc_manifest *m, bwc_buf *out)
{
    return bwc_schema_encode(out, &manifest_schema, m, 0);
}

void bwc_manifest_free(bwc_manifest *m)
{
    free(m->chunks);
    memset(m, 0, sizeof *m);
}

/* The rules between fields: the ones a table cannot express. */
static int manifest_shape_ok(uint64_t version, uint64_t size, uint64_t chunk_size,
                             bwc_result *res)
{
    if (version != 1)
        return bwc_fail(res, BWC_RESULT_MALFORMED, "bad-manifest-version");
    if (!bwc_chunk_size_valid(chunk_size))
        return bwc_fail(res, BWC_RESULT_MALFORMED, "bad-manifest-chunk-size");
    if (size < 1 || bwc_manifest_chunk_count(size, chunk_size) > BWC_MAX_CHUNKS)
        return bwc_fail(res, BWC_RESULT_MALFORMED, "bad-manifest-size");
    return 1;
}

static int read_manifest(bwc_cbor_reader *r, void *obj, bwc_result *res)
{
    bwc_manifest *m = obj;
    if (!bwc_schema_decode(r, &manifest_schema, m, NULL, res) ||
        !manifest_shape_ok(m->version, m->size, m->chunk_size, res))
        goto fail;
    if (m->n_chunks != bwc_manifest_chunk_count(m->size, m->chunk_size)) {
        bwc_fail(res, BWC_RESULT_MALFORMED, "bad-manifest-chunk-count");
        goto fail;
    }
    return 1;
fail:
    bwc_manifest_free(m);
    return 0;
}

int bwc_manifest_decode(bwc_manifest *m, const unsigned char *p, size_t n, bwc_result *res)
{
    return bwc_decode_whole(p, n, BWC_MANIFEST_MAX_BYTES, "bad-manifest-oversize", read_manifest,
                            m, sizeof *m, res);
}

int bwc_manifest_content_id(const bwc_manifest *m, bwc_hash *id)
{
    bwc_buf b = BWC_BUF_INIT;
    int ok = bwc_manifest_encode(m, &b);
    if (ok)
        bwc_tagged_hash(id, "bwc/manifest", b.data, b.len);
    else
        memset(id->b, 0, sizeof id->b);
    bwc_buf_free(&b);
    return ok;
}

int bwc_manifest_begin(bwc_manifest *m, uint64_t size, uint64_t chunk_size, bwc_result *res)
{
    memset(m, 0, sizeof *m);
    if (!manifest_shape_ok(1, size, chunk_size, res))
        return 0;
    size_t n = (size_t)bwc_manifest_chunk_count(size, chunk_size);
    m->chunks = calloc(n, sizeof *m->chunks);
    if (!m->chunks)
        return bwc_fail(res, BWC_RESULT_ERROR, "out-of-memory");
    m->version = 1;
    m->size = size;
    m->chunk_size = chunk_size;
    m->n_chunks = n;
    bwc_result_ok(res);
    return 1;
}

int bwc_manifest_add_chunk(bwc_manifest *m, size_t index, const void *data, size_t len)
{
    if (index >= m->n_chunks || len != bwc_manifest_chunk_len(m, index))
        return 0;
    bwc_sha256(&m->chunks[index], data, len);
    return 1;
}
