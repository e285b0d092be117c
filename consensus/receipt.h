/* receipt.h: proof-of-relay receipts (§3.3) and the delivery digest (§3.4). */
#ifndef BWC_CONSENSUS_RECEIPT_H
#define BWC_CONSENSUS_RECEIPT_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/buf.h"
#include "consensus/result.h"
#include "consensus/types.h"

#define BWC_RECEIPT_MAX_BYTES 512 /* §7: protocol constant */

typedef struct {
    bwc_hash channel; /* channel id, or pool id for a pool receipt */
    uint64_t seq;     /* >= 1 */
    uint64_t bytes;   /* cumulative */
    uint64_t amount;  /* cumulative units owed to the relay */
    bwc_hash digest;  /* running delivery digest */
    int is_pool;      /* keys 5 and 7 present */
    bwc_pubkey consumer;
    bwc_pubkey relay;
    int has_ticket; /* key 6 (pool receipts of a pool with a ticket_key) */
    bwc_sig ticket;
    int has_relay_sig; /* key 14: added by the relay before it gossips */
    bwc_sig relay_sig;
    bwc_sig consumer_sig; /* key 15: always present */
} bwc_receipt;

/* Appends enc(r) with every field present in r. Returns 1, or 0 on allocation failure. */
int bwc_receipt_encode(const bwc_receipt *r, bwc_buf *out);

/* Decodes a receipt from exactly n bytes (§2, §3.3, §7): consumer_sig required, relay_sig
 * optional (a receipt on its way from consumer to relay), seq >= 1, keys 5 and 7 together, a
 * ticket only on a pool receipt. Returns 1, or 0 with res set and *r zeroed. */
int bwc_receipt_decode(bwc_receipt *r, const unsigned char *p, size_t n, bwc_result *res);

/* receipt_id = TH("bwc/receipt", chain_id || enc(r\{14,15})): what both parties sign. */
void bwc_receipt_id(const bwc_hash *chain_id, const bwc_receipt *r, bwc_hash *id);

/* The receipt_root leaf TH("bwc/rcw", enc(r)), both signatures included. */
void bwc_receipt_leaf(const bwc_receipt *r, bwc_hash *leaf);

/* The ticket message TH("bwc/ticket", chain_id || pool || consumer) (§3.3). */
void bwc_ticket_msg(const bwc_hash *chain_id, const bwc_hash *pool, const bwc_pubkey *consumer,
                    bwc_hash *msg);

/* One step of the delivery digest (§3.4):
 * d <- TH("bwc/delivery", d || content_id || u32be(index) || chunk_hash). */
void bwc_delivery_next(bwc_hash *digest, const bwc_hash *content_id, uint32_t index,
                       const bwc_hash *chunk_hash);

/* ceil(bytes * price / 2^20) in 128-bit arithmetic: the most a receipt for `bytes` may claim
 * at `price` units per MiB. Returns 1, or 0 when the result does not fit 64 bits. */
int bwc_receipt_max_amount(uint64_t bytes, uint64_t price, uint64_t *out);

#endif
