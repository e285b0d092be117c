/* manifest.h: content manifests and content ids (§3.5), and building one chunk by chunk. */
#ifndef BWC_CONSENSUS_MANIFEST_H
#define BWC_CONSENSUS_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/buf.h"
#include "consensus/result.h"
#include "consensus/types.h"

#define BWC_DEFAULT_CHUNK_SIZE (256u * 1024u)
/* 2^18 chunks of 34 bytes plus the map's fields (§3.5). */
#define BWC_MANIFEST_MAX_BYTES ((size_t)(1u << 18) * 34u + 32u)

/* chunks is owned by the manifest: release with bwc_manifest_free. */
typedef struct {
    uint64_t version; /* = 1 */
    uint64_t size;
    uint64_t chunk_size;
    bwc_hash *chunks;
    size_t n_chunks;
} bwc_manifest;

/* Number of chunks of a content: ceil(size / chunk_size) (chunk_size != 0). */
uint64_t bwc_manifest_chunk_count(uint64_t size, uint64_t chunk_size);

/* Length of chunk `index`: chunk_size, or less for the last one. */
uint64_t bwc_manifest_chunk_len(const bwc_manifest *m, size_t index);

/* Appends enc(m). Returns 1, or 0 on allocation failure. */
int bwc_manifest_encode(const bwc_manifest *m, bwc_buf *out);

/* Decodes a manifest from exactly n bytes: version 1, size >= 1, a valid chunk_size, exactly
 * ceil(size/chunk_size) <= 2^18 hashes of 32 bytes. Returns 1 with m->chunks allocated, or 0
 * with res set and *m zeroed (res code BWC_RESULT_ERROR when memory ran out). */
int bwc_manifest_decode(bwc_manifest *m, const unsigned char *p, size_t n, bwc_result *res);

void bwc_manifest_free(bwc_manifest *m);

/* content_id = TH("bwc/manifest", enc(m)). Returns 1, or 0 on allocation failure. */
int bwc_manifest_content_id(const bwc_manifest *m, bwc_hash *id);

/* Starts a manifest for `size` bytes in chunks of chunk_size: allocates the hash array, which
 * bwc_manifest_add_chunk then fills in order. Returns 1, or 0 with res set for a size or
 * chunk size the protocol refuses, or on allocation failure. */
int bwc_manifest_begin(bwc_manifest *m, uint64_t size, uint64_t chunk_size, bwc_result *res);

/* Hashes chunk `index` (len must be bwc_manifest_chunk_len(m, index)). Returns 1, or 0 on a
 * wrong index or length. */
int bwc_manifest_add_chunk(bwc_manifest *m, size_t index, const void *data, size_t len);

#endif
