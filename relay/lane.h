/* lane.h: what a relay keeps per channel (or per pool and consumer) and the rules of
 * PROTOCOL.md §8 over it: receipt intake (400/409/200), the credit window and price ceiling
 * (402), the delivery log behind the digest (§3.4), and when to settle (§5). Pure: no I/O, no
 * clock; the relay persists lanes (relay/db.h) and feeds them the chain's terms. */
#ifndef BWC_RELAY_LANE_H
#define BWC_RELAY_LANE_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/receipt.h"
#include "consensus/types.h"

#define BWC_RELAY_LANE_KEY_SIZE 64 /* id || consumer (zero for a channel) */

/* One chunk served: the point the log reaches after it. */
typedef struct {
    uint64_t bytes_after; /* lane bytes served once this chunk was sent */
    bwc_hash content_id;
    uint32_t index;
    bwc_hash chunk_hash;
    bwc_hash digest_after; /* the delivery digest over everything served up to here */
} bwc_relay_lane_entry;

/* A lane. The log holds the chunks served after the newest receipt's point (base), so its
 * length is bounded by the credit window; everything before is committed by that receipt. */
typedef struct {
    unsigned char key[BWC_RELAY_LANE_KEY_SIZE];
    bwc_hash id; /* channel id, or pool id */
    int is_pool;
    bwc_pubkey consumer; /* pool lanes; zero for channels */
    uint64_t served;     /* bytes served on this lane, every byte sent counted */
    bwc_hash digest;     /* the digest over everything served */
    /* The newest valid consumer-signed receipt. */
    int has_receipt;
    bwc_receipt receipt;
    bwc_hash rid;
    unsigned char raw[BWC_RECEIPT_MAX_BYTES];
    size_t raw_len;
    /* The log. base is the point below the first entry: (0, 0^32) at first, then the newest
     * receipt's bytes; base_known is 0 when that receipt ended between two points (then its
     * digest could not be checked and cannot be compared with). */
    uint64_t base_bytes;
    bwc_hash base_digest;
    int base_known;
    bwc_relay_lane_entry *log; /* owned: bwc_relay_lane_free */
    size_t n_log, cap_log;
    /* Settlement, in memory only: the seq last handed to the node and at which height. */
    uint64_t submitted_seq;
    uint64_t submitted_height;
} bwc_relay_lane;

/* The lane key of a channel (consumer NULL) or of a pool lane. */
void bwc_relay_lane_key(unsigned char key[BWC_RELAY_LANE_KEY_SIZE], const bwc_hash *id,
                        const bwc_pubkey *consumer);

/* An empty lane for id (and consumer for a pool lane: NULL for a channel). */
void bwc_relay_lane_init(bwc_relay_lane *l, const bwc_hash *id, const bwc_pubkey *consumer);
void bwc_relay_lane_free(bwc_relay_lane *l);

/* What receipt intake decides. */
typedef enum {
    BWC_RELAY_NEWER = 0, /* a valid receipt newer than the lane's: accept (200) */
    BWC_RELAY_SAME,      /* the lane's newest again: 200 by POST, nothing changes; on a chunk
                            request 409 receipt-replayed (relay/http.c) */
    BWC_RELAY_INVALID,   /* can never be valid (400) */
    BWC_RELAY_CONFLICT,  /* valid, but conflicts with what the relay holds (409) */
} bwc_relay_verdict;

/* The relay's own rules for a receipt r with id rid that passed bwc_receipt_check_offchain
 * (which gave chain_seq and chain_claimed, the chain's seq and claimed for this lane) and
 * names this lane. In order:
 *   same receipt id as the newest                       SAME
 *   seq <= chain_seq                   INVALID bad-receipt-seq (the chain is past it)
 *   amount < chain_claimed             INVALID bad-receipt-amount (the chain is past it)
 *   bytes > served                     CONFLICT receipt-bytes-over-served
 *   seq <= newest seq                  CONFLICT receipt-seq
 *   bytes < newest bytes               CONFLICT receipt-bytes-down
 *   amount < newest amount             CONFLICT receipt-amount-down
 *   bytes at a point of the log (or the base) with another digest
 *                                      CONFLICT receipt-digest
 * else NEWER. *reject gets the string (static), "" for NEWER and SAME. */
bwc_relay_verdict bwc_relay_lane_check_receipt(const bwc_relay_lane *l, const bwc_receipt *r,
                                               const bwc_hash *rid, uint64_t chain_seq,
                                               uint64_t chain_claimed, const char **reject);

/* Makes r (raw: its len encoded bytes, at most BWC_RECEIPT_MAX_BYTES) the newest and drops
 * the log up to its point. Call only after NEWER. */
void bwc_relay_lane_accept(bwc_relay_lane *l, const bwc_receipt *r, const bwc_hash *rid,
                           const unsigned char *raw, size_t len);

/* 402 rules for serving len more bytes at price (units per MiB) with limit the most the lane
 * can ever be paid (deposit, or the consumer's room in the pool):
 *   served - receipt.bytes + len > credit_window        credit-window-exceeded
 *   receipt.amount < ceil(receipt.bytes x price / 2^20)  receipt-amount-too-low
 *   ceil((served + len) x price / 2^20) > limit         deposit-exhausted
 * (no receipt counts as bytes 0, amount 0). Returns 1, or 0 with *reject. */
int bwc_relay_lane_may_serve(const bwc_relay_lane *l, uint64_t len, uint64_t price, uint64_t limit,
                             uint64_t credit_window, const char **reject);

/* Records chunk index of content (hash chunk_hash, len bytes) as served: served grows, the
 * digest steps (§3.4) and an entry is appended. Returns the entry, or NULL when out of memory
 * or served would pass 2^64 - 1 (nothing changes then). */
const bwc_relay_lane_entry *bwc_relay_lane_served(bwc_relay_lane *l, const bwc_hash *content_id,
                                                  uint32_t index, const bwc_hash *chunk_hash,
                                                  uint64_t len);

/* Settlement. The chain's view of the lane and the chain's rules. */
typedef struct {
    uint64_t next_height;   /* tip + 1: the block a submitted receipt would enter */
    uint64_t expiry;        /* channel's or pool's */
    uint64_t settle_window; /* chain parameter */
    uint64_t receipt_fee;   /* chain parameter */
    uint64_t multiple;      /* -relaysettlemultiple */
    uint64_t chain_seq;     /* the chain's seq and claimed for this lane */
    uint64_t chain_claimed;
} bwc_settle_terms;

/* Whether the settle window of t's channel or pool is over: next_height > expiry +
 * settle_window (the chain takes no receipt for it any more). */
int bwc_relay_settle_closed(const bwc_settle_terms *t);

/* Whether to submit the newest receipt r now: never once next_height > expiry + settle_window
 * ("closed"), nor one the chain would refuse (seq <= chain_seq: "settled"; amount <
 * chain_claimed + receipt_fee: "below-fee"); then yes when next_height >= expiry ("expiring":
 * the last chance is the settle window) or when amount - chain_claimed >= multiple x
 * receipt_fee ("threshold"); else no ("waiting"). Returns 1 or 0, *why the reason. */
int bwc_relay_lane_settle_due(const bwc_receipt *r, const bwc_settle_terms *t, const char **why);

#endif
