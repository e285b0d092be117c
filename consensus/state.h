/* state.h: the ledger state and its transitions (PROTOCOL.md §5, §5.1) over an abstract view.
 *
 * The state is a key-value map. This module owns the keys and the record encodings; the caller
 * owns storage and supplies a bwc_state_view. Nothing here does I/O, reads a clock or keeps a
 * global: a block is applied by calling bwc_state_begin_block, then apply_tx for each
 * transaction and apply_receipt for each receipt in block order, then bwc_state_end_block.
 * A function that fails may have written part of its effects through the view: the caller
 * makes application atomic by writing into an overlay it discards on failure (the node's store
 * and mempool both do).
 *
 * Keys (first byte, then fixed-width parts; heights are u64be):
 *   'a' pubkey                         account   {balance, nonce, bytes_served, bytes_consumed}
 *   'c' channel id                     channel
 *   'n' content id                     content record
 *   'r' pubkey                         relay record
 *   'p' pool id                        sponsor pool
 *   'q' pool id, consumer              claimed total of one consumer in a pool
 *   'l' pool id, consumer, relay       lane {seq, bytes, claimed, digest}
 *   'y' height                         number of closings due after the block at height
 *   'x' height, u32be index            a closing due: kind byte ('c' or 'p') and the id
 * Every key starts with a lower-case letter; callers keep their own keys out of that range.
 * Records are canonical CBOR maps (schema.h), except the 'q' total and the 'y' count (a bare
 * CBOR uint) and the 'x' entry (33 raw bytes); all are decoded strictly on every read. An
 * account, or a 'q' total, that would be all zero is deleted rather than stored. */
#ifndef BWC_CONSENSUS_STATE_H
#define BWC_CONSENSUS_STATE_H

#include <stddef.h>
#include <stdint.h>

#include <secp256k1.h>

#include "consensus/buf.h"
#include "consensus/params.h"
#include "consensus/receipt.h"
#include "consensus/result.h"
#include "consensus/tx.h"
#include "consensus/types.h"

#define BWC_STATE_KEY_MAX (1 + 32 + 32 + 32)

/* Storage supplied by the caller.
 * get: appends the value of key to out (which the caller reset) and returns 1; returns 0 when
 *      the key is absent, -1 on a storage error.
 * put: stores val (vlen bytes) under key, or deletes the key when val is NULL. Returns 0, or
 *      -1 on a storage error. */
typedef struct {
    void *ctx;
    int (*get)(void *ctx, const unsigned char *key, size_t klen, bwc_buf *out);
    int (*put)(void *ctx, const unsigned char *key, size_t klen, const unsigned char *val,
               size_t vlen);
} bwc_state_view;

/* Signature checks can be deferred so that a caller verifies them in parallel (the node does,
 * on both cores). check returns 1 when the signature is accepted for now (queued or verified),
 * 0 to fail with reject. When a block context has no checker, signatures are verified inline. */
typedef struct {
    void *ctx;
    int (*check)(void *ctx, const bwc_pubkey *pk, const bwc_hash *msg, const bwc_sig *sig,
                 const char *reject);
} bwc_sig_checker;

typedef struct {
    uint64_t balance;
    uint64_t nonce;
    uint64_t bytes_served;
    uint64_t bytes_consumed;
} bwc_account;

typedef struct {
    bwc_pubkey consumer;
    bwc_pubkey relay;
    uint64_t deposit;
    uint64_t price;
    uint64_t expiry;
    uint64_t claimed;
    uint64_t seq;
    uint64_t bytes;
    bwc_hash digest;
    uint64_t opened; /* height of the block that opened it */
    uint64_t closed; /* 0 while open; else the height after whose block it was refunded */
} bwc_channel;

typedef struct {
    bwc_pubkey publisher;
    uint64_t size;
    uint64_t chunk_size;
    char name[BWC_NAME_MAX + 1];
    size_t name_len;
    char origin[BWC_ENDPOINT_MAX + 1];
    size_t origin_len;
    char mime[BWC_MIME_MAX + 1];
    size_t mime_len;
    uint64_t registered; /* height */
} bwc_content;

typedef struct {
    bwc_tx_relay_announce ann; /* as last announced */
    uint64_t announced;        /* height */
} bwc_relay;

typedef struct {
    bwc_pubkey sponsor;
    bwc_hash content_id;
    uint64_t amount;  /* as funded */
    uint64_t balance; /* what is left to pay relays */
    uint64_t price;
    uint64_t per_consumer_cap;
    uint64_t expiry;
    int has_ticket_key;
    bwc_pubkey ticket_key;
    uint64_t opened;
    uint64_t closed; /* as for channels */
} bwc_pool;

typedef struct {
    uint64_t seq;
    uint64_t bytes;
    uint64_t claimed;
    bwc_hash digest;
} bwc_lane;

/* What one block's application needs and accumulates. Fill the first group, call
 * bwc_state_begin_block, leave the rest alone. */
typedef struct {
    const bwc_params *params;
    const bwc_hash *chain_id;
    const secp256k1_context *secp; /* for key validity, and inline signature checks */
    const bwc_sig_checker *sigs;   /* NULL: verify inline */
    uint64_t height;               /* of the block being applied */
    bwc_pubkey producer;
    /* accumulated */
    uint64_t fees;         /* transaction fees */
    uint64_t receipt_fees; /* receipt_fee per settled receipt */
    uint64_t subsidy;      /* set by end_block */
} bwc_block_ctx;

/* Reject strings (res->code BWC_RESULT_INVALID; BWC_RESULT_ERROR "state-storage" or
 * "state-corrupt" when the view fails or holds a record that does not decode):
 *  transactions
 *   bad-tx-sig                 sig is not from's signature over the txid
 *   bad-tx-nonce               nonce != the sender's nonce
 *   bad-tx-fee                 fee < min_fee
 *   bad-tx-insufficient-funds  the sender cannot pay amount/deposit + fee
 *   bad-tx-overflow            a balance or counter would pass 2^64 - 1
 *   bad-tx-to-key              transfer to a key that is not on the curve
 *   bad-tx-relay-key           channel_open to a relay key that is not on the curve
 *   bad-tx-expiry              expiry not in (height, height + max_channel_blocks]
 *   bad-tx-content-exists      content_register of an id registered before
 *   bad-tx-no-relay            relay_retire without a relay record
 *   bad-tx-unknown-content     sponsor of a content that is not registered
 *   bad-tx-ticket-key          sponsor with a ticket_key that is not on the curve
 *  receipts
 *   bad-receipt-relay-sig-missing  a receipt without relay_sig in a block
 *   bad-receipt-unknown-channel    no channel (or, pool form, no pool) with that id
 *   bad-receipt-closed             height > expiry + settle_window, or already refunded
 *   bad-receipt-seq                seq <= the channel's (lane's) seq
 *   bad-receipt-bytes              bytes < the channel's (lane's) bytes
 *   bad-receipt-over-deposit       amount > deposit
 *   bad-receipt-over-price         amount > ceil(bytes * price / 2^20)
 *   bad-receipt-amount             amount < claimed + receipt_fee
 *   bad-receipt-relay-sig          relay_sig is not the relay's
 *   bad-receipt-consumer-sig       consumer_sig is not the consumer's
 *   bad-receipt-ticket-missing     pool with a ticket_key, receipt without ticket
 *   bad-receipt-ticket-unexpected  pool without ticket_key, receipt with ticket
 *   bad-receipt-ticket             ticket is not the ticket_key's signature
 *   bad-receipt-over-cap           the consumer's claimed total would pass per_consumer_cap
 *   bad-receipt-pool-exhausted     the pool's balance does not cover the delta
 *   bad-receipt-overflow           a counter would pass 2^64 - 1
 *  block end
 *   bad-block-producer             the producer key is not on the curve
 *   bad-block-overflow             the producer's balance (or a refunded one) would pass
 *                                  2^64 - 1
 * and bwc_state_genesis: bad-params-supply-overflow; apply_tx of a type the decoder refuses:
 * bad-tx-type (BWC_RESULT_MALFORMED); an encoder out of memory: out-of-memory (ERROR).
 * apply_tx, apply_receipt and end_block change *ctx only when they succeed. */

/* Writes the genesis state: the chainspec's allocations. The view must be empty. Returns 1, or
 * 0 with res set. */
int bwc_state_genesis(const bwc_state_view *v, const bwc_params *p, bwc_result *res);

/* Prepares ctx for a block at height with producer. Never fails. */
void bwc_state_begin_block(bwc_block_ctx *ctx, const bwc_params *p, const bwc_hash *chain_id,
                           const secp256k1_context *secp, const bwc_sig_checker *sigs,
                           uint64_t height, const bwc_pubkey *producer);

/* Applies one decoded transaction whose id (bwc_tx_id) is txid. Returns 1, or 0 with res set. */
int bwc_state_apply_tx(const bwc_state_view *v, bwc_block_ctx *ctx, const bwc_tx *tx,
                       const bwc_hash *txid, bwc_result *res);

/* Applies one decoded receipt whose id (bwc_receipt_id) is rid. In a block a receipt must
 * carry relay_sig; with require_relay_sig 0 (a relay checking what its consumer countersigned)
 * a missing relay_sig is accepted and only the consumer's signature is checked. Returns 1, or
 * 0 with res set. */
int bwc_state_apply_receipt(const bwc_state_view *v, bwc_block_ctx *ctx, const bwc_receipt *r,
                            const bwc_hash *rid, int require_relay_sig, bwc_result *res);

/* Ends the block: pays the producer subsidy(height) + fees + receipt fees, then refunds every
 * channel and pool whose settle window closes at this height (expiry + settle_window ==
 * height). Returns 1, or 0 with res set. */
int bwc_state_end_block(const bwc_state_view *v, bwc_block_ctx *ctx, bwc_result *res);

/* What a channel or pool promises the relay serving it, as bwc_receipt_check_offchain found. */
typedef struct {
    uint64_t price;   /* units per MiB */
    uint64_t limit;   /* the most an amount may reach: deposit, or the consumer's room in the
                         pool's cap (the pool's balance may still run out before settlement) */
    uint64_t expiry;  /* receipts settle until expiry + settle_window */
    uint64_t claimed; /* settled on chain so far (the channel's, or this lane's) */
    uint64_t seq;     /* the chain's seq for the channel or lane */
    bwc_pubkey consumer;
} bwc_receipt_terms;

/* The checks a relay makes on a consumer-signed receipt (PROTOCOL.md §8) against the state v
 * at height (the next block's): everything that makes it impossible to ever settle. The
 * channel (or pool) exists, is within its settle window, names relay as its relay, the ticket
 * rules (pools), amount <= deposit (channel) or <= the consumer's remaining cap (pool),
 * amount <= ceil(bytes * price / 2^20), and consumer_sig (inline, with secp). Not checked:
 * relay_sig, seq and bytes against the chain, receipt_fee (an early receipt may claim less
 * than one fee: it is only settled once it grows). Returns 1 with terms filled, or 0 with res:
 * bad-receipt-unknown-channel, bad-receipt-closed, bad-receipt-wrong-relay,
 * bad-receipt-ticket-*, bad-receipt-over-deposit, bad-receipt-over-cap, bad-receipt-over-price,
 * bad-receipt-consumer-sig (or BWC_RESULT_ERROR state-storage / state-corrupt). */
int bwc_receipt_check_offchain(const bwc_state_view *v, const bwc_params *params,
                               const bwc_hash *chain_id, const secp256k1_context *secp,
                               uint64_t height, const bwc_pubkey *relay, const bwc_receipt *r,
                               const bwc_hash *rid, bwc_receipt_terms *terms, bwc_result *res);

/* Readers for queries. Each returns 1 (found), 0 (absent: *out zeroed; an absent account reads
 * as all zero) or -1 (storage error or a record that does not decode). */
int bwc_state_account(const bwc_state_view *v, const bwc_pubkey *who, bwc_account *out);
int bwc_state_channel(const bwc_state_view *v, const bwc_hash *id, bwc_channel *out);
int bwc_state_content(const bwc_state_view *v, const bwc_hash *id, bwc_content *out);
int bwc_state_relay(const bwc_state_view *v, const bwc_pubkey *who, bwc_relay *out);
int bwc_state_pool(const bwc_state_view *v, const bwc_hash *id, bwc_pool *out);
int bwc_state_pool_claimed(const bwc_state_view *v, const bwc_hash *pool,
                           const bwc_pubkey *consumer, uint64_t *out);
int bwc_state_lane(const bwc_state_view *v, const bwc_hash *pool, const bwc_pubkey *consumer,
                   const bwc_pubkey *relay, bwc_lane *out);

/* Record decoders for callers that iterate storage themselves (listchannels, listrelays...):
 * decode the value stored under a 'c', 'n', 'r' or 'p' key. Return 1, or 0 when it does not
 * decode. */
int bwc_channel_decode(bwc_channel *out, const unsigned char *p, size_t n);
int bwc_content_decode(bwc_content *out, const unsigned char *p, size_t n);
int bwc_relay_decode(bwc_relay *out, const unsigned char *p, size_t n);
int bwc_pool_decode(bwc_pool *out, const unsigned char *p, size_t n);

/* The key prefixes, for callers that iterate. */
#define BWC_STATE_ACCOUNT 'a'
#define BWC_STATE_CHANNEL 'c'
#define BWC_STATE_CONTENT 'n'
#define BWC_STATE_RELAY 'r'
#define BWC_STATE_POOL 'p'

#endif
