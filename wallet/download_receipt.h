/* download_receipt.h: the consumer's side of one channel during a download (PROTOCOL.md §3.3,
 * §3.4, §8): checking a chunk against the manifest, countersigning cumulative receipts, and
 * reconciling with the relay's view (GET /v1/channel/{id}) after an interruption.
 *
 * Pure: no I/O, no clock. Randomness for signatures is passed in by the caller. */
#ifndef BWC_WALLET_DOWNLOAD_RECEIPT_H
#define BWC_WALLET_DOWNLOAD_RECEIPT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <secp256k1.h>

#include "consensus/manifest.h"
#include "consensus/receipt.h"
#include "consensus/types.h"

/* Chunks asked of one relay and not yet countersigned. With one request in flight per relay
 * at most one is outstanding; the room is for requests cut off before a resync cleared them. */
#define BWC_DL_MAX_PENDING 8

/* One channel as the consumer keeps it. newest is the newest receipt we signed (or adopted
 * from the relay after checking that we signed it); without one the channel is at
 * (seq 0, bytes 0, amount 0, digest 0^32), as the chain creates it. */
typedef struct {
    bwc_hash id; /* channel id: the txid of its channel_open */
    bwc_pubkey relay;
    uint64_t price;        /* the channel's price, units per MiB */
    uint64_t deposit;      /* no receipt may claim more */
    uint64_t start_amount; /* newest.amount when this download first used the channel */
    int has_receipt;
    bwc_receipt newest;
    uint32_t pending[BWC_DL_MAX_PENDING];
    size_t n_pending;
    int caught; /* its relay sent a chunk that failed its check: nothing more is signed on this
                   channel and the relay is not used again by this download, resumed or not */
    int unsent; /* newest was signed by this process and has not gone out in a request yet
                   (memory only, never in the state file). A chunk request never carries a
                   receipt that went out before (the relay refuses its newest again: 409
                   receipt-replayed): without unsent, the download signs the opening receipt
                   (bwc_dl_channel_sign_opening) first */
    /* A sponsor pool lane (PROTOCOL.md §5.1): id is the pool id, relay the relay's key, and
     * every receipt is a pool receipt (keys 5 consumer, 7 relay, 6 ticket when has_ticket).
     * price is the pool's, deposit what the lane may claim at most. */
    int is_pool;
    bwc_pubkey consumer;
    int has_ticket;
    bwc_sig ticket;
} bwc_dl_channel;

/* A channel with no receipt yet. */
void bwc_dl_channel_init(bwc_dl_channel *c, const bwc_hash *id, const bwc_pubkey *relay,
                         uint64_t price, uint64_t deposit);

/* Makes c (initialised by bwc_dl_channel_init with the pool id and the relay's key) a pool lane
 * of consumer, with ticket (64 bytes) or NULL for a pool without a ticket key. */
void bwc_dl_channel_set_pool(bwc_dl_channel *c, const bwc_pubkey *consumer,
                             const unsigned char *ticket);

/* 1 when receipt r belongs to lane c: the same channel (or pool) id and kind; for a pool lane
 * also the same consumer, relay and ticket. */
int bwc_dl_channel_owns(const bwc_dl_channel *c, const bwc_receipt *r);

/* The newest point of the channel: seq, bytes, amount and digest of newest, or zeros. */
void bwc_dl_channel_point(const bwc_dl_channel *c, uint64_t *seq, uint64_t *bytes, uint64_t *amount,
                          bwc_hash *digest);

/* Returns 1 when chunk index of m is exactly len bytes of data whose SHA-256 is the manifest's
 * (then *hash is it), else 0. The only test a chunk must pass before it is paid for. */
int bwc_dl_chunk_verify(const bwc_manifest *m, uint32_t index, const void *data, size_t len,
                        bwc_hash *hash);

/* Records that chunk index was asked of the channel's relay. Returns 1, or 0 when the list is
 * full (the caller resynchronises first). */
int bwc_dl_pending_add(bwc_dl_channel *c, uint32_t index);

/* Forgets index in the pending list (no-op when absent). */
void bwc_dl_pending_remove(bwc_dl_channel *c, uint32_t index);

/* The receipt that follows the channel's newest after one more verified chunk (index of
 * content_id, hash chunk_hash, len bytes): seq + 1, bytes + len, amount =
 * ceil(bytes x price / 2^20) (bwc_receipt_max_amount, never below the newest amount),
 * digest stepped by bwc_delivery_next. Unsigned (consumer_sig zero). Returns 1, or 0 with *why
 * "overflow" or "over-deposit" (the amount would pass the deposit: the channel is used up). */
int bwc_dl_receipt_next(const bwc_dl_channel *c, const bwc_hash *content_id, uint32_t index,
                        const bwc_hash *chunk_hash, uint64_t len, bwc_receipt *out,
                        const char **why);

/* The opening receipt (doc/relay.md: a relay serves a paid request only with a consumer-signed
 * receipt newer than its newest): the one that follows the channel's newest and commits to
 * nothing new: seq + 1 with the newest's bytes, amount and digest; seq 1, bytes 0, amount 0,
 * digest 0^32 for a channel without a receipt. The first request of a run carries one, and so
 * does every request asked again without new chunks since the newest went out. Unsigned.
 * Returns 1, or 0 with *why "overflow" (seq at its maximum). */
int bwc_dl_receipt_opening(const bwc_dl_channel *c, bwc_receipt *out, const char **why);

/* Signs the opening receipt and makes it the newest (unsent). Returns 1, or 0 with *why
 * (overflow, sign-failed; the channel is unchanged). */
int bwc_dl_channel_sign_opening(bwc_dl_channel *c, const secp256k1_context *secp,
                                const unsigned char seckey[32], const bwc_hash *chain_id,
                                const unsigned char aux32[32], const char **why);

/* Signs r as the consumer: consumer_sig = BIP340 over bwc_receipt_id(chain_id, r) with seckey
 * and the caller's 32 random bytes aux32. Returns 1, or 0 (r->consumer_sig zeroed). */
int bwc_dl_receipt_sign(const secp256k1_context *secp, bwc_receipt *r,
                        const unsigned char seckey[32], const bwc_hash *chain_id,
                        const unsigned char aux32[32]);

/* Countersigns one verified chunk: bwc_dl_receipt_next, then signs it, makes it the newest
 * (unsent) and removes index from the pending list. Returns 1, or 0 with *why (the channel is
 * unchanged). */
int bwc_dl_channel_countersign(bwc_dl_channel *c, const secp256k1_context *secp,
                               const unsigned char seckey[32], const bwc_hash *chain_id,
                               const bwc_hash *content_id, uint32_t index,
                               const bwc_hash *chunk_hash, uint64_t len,
                               const unsigned char aux32[32], const char **why);

/* ---- the relay's view of a channel (GET /v1/channel/{id}) ---- */

/* One delivery the relay logged after its newest receipt. */
typedef struct {
    uint64_t bytes_after;
    bwc_hash content_id;
    uint32_t index;
    bwc_hash chunk_hash;
    bwc_hash digest_after;
} bwc_dl_log_entry;

#define BWC_DL_MAX_LOG 65536u /* a 64 MiB window of 1 KiB chunks would need fewer */

/* found 0: the relay holds nothing for the channel (it answered 404). log is owned. */
typedef struct {
    int found;
    uint64_t served;
    int has_receipt;
    bwc_receipt receipt;
    bwc_dl_log_entry *log;
    size_t n_log;
} bwc_dl_relay_view;

/* Parses the JSON the relay answers for GET /v1/channel/{id} (doc/relay.md): bytes_served,
 * receipt (null, or an object whose "receipt" is the consumer-signed receipt in base64url) and
 * log. The receipt must decode (bwc_receipt_decode) and name channel. Returns 1 with *v filled
 * (free with bwc_dl_relay_view_free), or 0 with err. */
int bwc_dl_relay_view_parse(bwc_dl_relay_view *v, const json_t *o, const bwc_hash *channel,
                            char *err, size_t errlen);

void bwc_dl_relay_view_free(bwc_dl_relay_view *v);

/* Brings c in line with the relay's view v (PROTOCOL.md §8: "use it to resynchronise"):
 *  - a relay receipt must be a channel receipt for c signed by consumer (we signed it); when its
 *    seq is at least ours it becomes the newest (the relay holds it: ours never reached it, or
 *    this is a resumed download whose state is older than what was sent);
 *  - the newest must sit at a point of the relay's log (its receipt's point, or an entry's
 *    bytes_after) with the same digest;
 *  - every logged delivery after the newest must be a chunk of content_id that we asked this
 *    relay for (in the pending list), with the manifest's hash, the right length and digest:
 *    it was sent, then lost to an interruption. It is paid for (without it every later receipt
 *    would sit on one of the relay's points with another digest: 409 receipt-digest), and that
 *    costs at most the pending chunks; anything else in the log is refused;
 *  - the pending list is cleared: what the log does not show was never served.
 * When deliveries were adopted, *next is the receipt to sign (bwc_dl_receipt_sign) and make the
 * newest with bwc_dl_channel_adopt, and *need_sign is 1; else 0. Returns 1, or 0 with *why
 * (c unchanged): relay-receipt-foreign, relay-receipt-bad-sig, relay-served-below-receipt,
 * digest-mismatch, unrequested-delivery, log-mismatch, log-incomplete, over-deposit, overflow. */
int bwc_dl_channel_resync(bwc_dl_channel *c, const secp256k1_context *secp,
                          const bwc_hash *chain_id, const bwc_pubkey *consumer,
                          const bwc_manifest *m, const bwc_hash *content_id,
                          const bwc_dl_relay_view *v, bwc_receipt *next, int *need_sign,
                          const char **why);

/* Makes the signed receipt r the channel's newest, not marked unsent (the caller that just
 * signed it sets unsent). */
void bwc_dl_channel_adopt(bwc_dl_channel *c, const bwc_receipt *r);

/* What this download spent on the channel (or drew on the pool lane): newest.amount minus
 * start_amount, 0 without a receipt above it. */
uint64_t bwc_dl_channel_spent(const bwc_dl_channel *c);

#endif
