/* hash.h: SHA-256 and BIP340-style tagged hashes (PROTOCOL.md §1). */
#ifndef BWC_CONSENSUS_HASH_H
#define BWC_CONSENSUS_HASH_H

#include <stddef.h>

#include "consensus/types.h"

/* Plain SHA-256 of n bytes. */
void bwc_sha256(bwc_hash *out, const void *data, size_t n);

/* Incremental tagged hash: TH(tag, m) = SHA256(SHA256(tag) || SHA256(tag) || m).
 * ctx is an opaque OpenSSL digest context owned by the struct; always end with _final
 * (which frees it) or _abort. */
typedef struct {
    void *ctx;
} bwc_tagged_hasher;

/* Starts TH(tag, ...). Returns 1, or 0 if OpenSSL could not allocate (hasher unusable). */
int bwc_tagged_begin(bwc_tagged_hasher *h, const char *tag);
void bwc_tagged_update(bwc_tagged_hasher *h, const void *data, size_t n);
/* Writes the digest and releases the context. Returns 1, or 0 on an OpenSSL failure
 * (out is zeroed then). */
int bwc_tagged_final(bwc_tagged_hasher *h, bwc_hash *out);

/* One-shot TH(tag, data). */
void bwc_tagged_hash(bwc_hash *out, const char *tag, const void *data, size_t n);

/* TH(tag, a || b): the common two-part form (chain_id || encoding, left || right). */
void bwc_tagged_hash2(bwc_hash *out, const char *tag, const void *a, size_t an, const void *b,
                      size_t bn);

#endif
