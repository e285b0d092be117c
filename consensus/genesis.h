/* genesis.h: the genesis parameters G, the genesis header built from them and chain_id (§4). */
#ifndef BWC_CONSENSUS_GENESIS_H
#define BWC_CONSENSUS_GENESIS_H

#include "consensus/buf.h"
#include "consensus/header.h"
#include "consensus/params.h"
#include "consensus/types.h"

/* Appends enc(G) to out: the canonical CBOR map of PROTOCOL.md §4, keys 0..8 in order,
 * allocations in the params' order, key 6 holding the parameters of p->engine only.
 * p should have passed bwc_params_check; this function checks only what it needs to be safe.
 * Returns 1, or 0 when out ran out of memory, p->engine is neither pow nor poa, or a count is
 * non-zero with a NULL array. */
int bwc_genesis_encode_g(const bwc_params *p, bwc_buf *out);

/* Fills *out with the genesis header: version 1, height 0, prev 0, time = genesis time,
 * tx_root = TH("bwc/genesis", enc(G)), receipt_root 0, producer 0; on pow chains target =
 * the initial target and nonce 0; never a signature. The genesis block is constructed,
 * never validated. Returns 1, or 0 (with *out zeroed) as bwc_genesis_encode_g. */
int bwc_genesis_header(const bwc_params *p, bwc_header *out);

/* chain_id = block_id(genesis header). Returns 1, or 0 (with *out zeroed) as
 * bwc_genesis_encode_g. */
int bwc_chain_id(const bwc_params *p, bwc_hash *out);

#endif
