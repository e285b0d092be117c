/* header.h: the block header (PROTOCOL.md §3.6): encoding, strict decoding and block id. */
#ifndef BWC_CONSENSUS_HEADER_H
#define BWC_CONSENSUS_HEADER_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/buf.h"
#include "consensus/result.h"
#include "consensus/types.h"

/* A header encodes to at most this many bytes; longer input is refused before decoding. */
#define BWC_HEADER_MAX_BYTES 512

typedef struct {
    uint64_t version; /* = 1 */
    uint64_t height;
    bwc_hash prev;
    uint64_t time;
    bwc_hash tx_root;
    bwc_hash receipt_root;
    bwc_pubkey producer;
    int has_pow;     /* keys 7 and 8: present together (pow chains) or both absent */
    uint32_t target; /* compact target */
    uint64_t nonce;
    int has_sig;     /* key 15 (poa chains above height 0) */
    bwc_sig sig;
} bwc_header;

/* Appends enc(h) to out; without_sig leaves key 15 out (the form the block id hashes).
 * Returns 1, or 0 when out ran out of memory. */
int bwc_header_encode(const bwc_header *h, int without_sig, bwc_buf *out);

/* Decodes a header from exactly n bytes. Returns 1, or 0 with res set and *h zeroed. */
int bwc_header_decode(bwc_header *h, const unsigned char *p, size_t n, bwc_result *res);

/* block_id = TH("bwc/block", enc(header\{15})). */
void bwc_header_id(const bwc_header *h, bwc_hash *id);

#endif
