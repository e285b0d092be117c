/* objjson.h: JSON views of consensus objects, shared by bwc-util and the node's RPC.
 *
 * Field names follow PROTOCOL.md §3 (see doc/protocol.md). Keys are shown as bech32m addresses
 * of the chain's hrp; hashes, signatures and memos as lower-case hex; amounts as integers of
 * base units. Every function returns a new reference the caller must json_decref, or NULL
 * when memory ran out. */
#ifndef BWC_COMMON_OBJJSON_H
#define BWC_COMMON_OBJJSON_H

#include <jansson.h>

#include "consensus/block.h"
#include "consensus/header.h"
#include "consensus/manifest.h"
#include "consensus/receipt.h"
#include "consensus/tx.h"

/* An unsigned 64-bit value: a JSON integer, or a decimal string above 2^63 - 1 (jansson's
 * integers are signed). */
json_t *bwc_json_u64(uint64_t v);

/* A lower-case hex string of n bytes. */
json_t *bwc_json_hex(const void *data, size_t n);

/* The address of a key under hrp (hex when the key cannot be encoded). */
json_t *bwc_json_address(const char *hrp, const bwc_pubkey *pk);

/* The transaction with its txid (under chain_id), type name and body fields. */
json_t *bwc_json_tx(const bwc_tx *tx, const bwc_hash *chain_id, const char *hrp);

/* The receipt with its receipt_id; the pool fields only for pool receipts. */
json_t *bwc_json_receipt(const bwc_receipt *r, const bwc_hash *chain_id, const char *hrp);

/* The manifest with its content_id; the chunk hashes only when with_chunks. */
json_t *bwc_json_manifest(const bwc_manifest *m, int with_chunks);

/* The header with its block id as "block_id". */
json_t *bwc_json_header(const bwc_header *h, const char *hrp);

/* The block: "header", "txs" and "receipts" (objects when full, else ids). */
json_t *bwc_json_block(const bwc_block *b, const bwc_hash *chain_id, const char *hrp, int full);

#endif
