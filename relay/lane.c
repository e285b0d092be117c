/* lane.c: per-lane receipt intake, credit window, delivery log and settlement decisions. */
#include "relay/lane.h"

#include <stdlib.h>
#include <string.h>

void bwc_relay_lane_key(unsigned char key[BWC_RELAY_LANE_KEY_SIZE], const bwc_hash *id,
                        const bwc_pubkey *consumer)
{
    memcpy(key, id->b, 32);
    if (consumer)
        memcpy(key + 32, consumer->b, 32);
    else
        memset(key + 32, 0, 32);
}

void bwc_relay_lane_init(bwc_relay_lane *l, const bwc_hash *id, const bwc_pubkey *consumer)
{
    memset(l, 0, sizeof *l);
    l->id = *id;
    l->is_pool = consumer != NULL;
    if (consumer)
        l->consumer = *consumer;
    bwc_relay_lane_key(l->key, id, consumer);
    l->base_known = 1; /* (0 bytes, 0^32): d0 of §3.4 */
}

void bwc_relay_lane_free(bwc_relay_lane *l)
{
    free(l->log);
    l->log = NULL;
    l->n_log = l->cap_log = 0;
}

/* The digest the log holds at exactly `bytes`, if that is a point: 1 with *d, else 0. */
static int digest_at(const bwc_relay_lane *l, uint64_t bytes, bwc_hash *d)
{
    if (bytes == l->base_bytes) {
        if (!l->base_known)
            return 0;
        *d = l->base_digest;
        return 1;
    }
    /* Entries are in increasing bytes_after: binary search. */
    size_t lo = 0, hi = l->n_log;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (l->log[mid].bytes_after < bytes)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < l->n_log && l->log[lo].bytes_after == bytes) {
        *d = l->log[lo].digest_after;
        return 1;
    }
    return 0;
}

bwc_relay_verdict bwc_relay_lane_check_receipt(const bwc_relay_lane *l, const bwc_receipt *r,
                                               const bwc_hash *rid, uint64_t chain_seq,
                                               uint64_t chain_claimed, const char **reject)
{
    bwc_hash d;
    *reject = "";
    if (l->has_receipt && memcmp(rid->b, l->rid.b, 32) == 0)
        return BWC_RELAY_SAME;
    if (r->seq <= chain_seq) {
        *reject = "bad-receipt-seq";
        return BWC_RELAY_INVALID;
    }
    if (r->amount < chain_claimed) {
        *reject = "bad-receipt-amount";
        return BWC_RELAY_INVALID;
    }
    if (r->bytes > l->served) {
        *reject = "receipt-bytes-over-served";
        return BWC_RELAY_CONFLICT;
    }
    if (l->has_receipt) {
        if (r->seq <= l->receipt.seq) {
            *reject = "receipt-seq";
            return BWC_RELAY_CONFLICT;
        }
        if (r->bytes < l->receipt.bytes) {
            *reject = "receipt-bytes-down";
            return BWC_RELAY_CONFLICT;
        }
        if (r->amount < l->receipt.amount) {
            *reject = "receipt-amount-down";
            return BWC_RELAY_CONFLICT;
        }
    }
    if (digest_at(l, r->bytes, &d) && memcmp(d.b, r->digest.b, 32) != 0) {
        *reject = "receipt-digest";
        return BWC_RELAY_CONFLICT;
    }
    return BWC_RELAY_NEWER;
}

void bwc_relay_lane_accept(bwc_relay_lane *l, const bwc_receipt *r, const bwc_hash *rid,
                           const unsigned char *raw, size_t len)
{
    size_t drop = 0;
    bwc_hash d;
    int known = digest_at(l, r->bytes, &d);
    while (drop < l->n_log && l->log[drop].bytes_after <= r->bytes)
        drop++;
    /* An opening receipt on a lane with nothing served has no log: memmove of a NULL pointer is
     * undefined even for 0 bytes. */
    if (drop)
        memmove(l->log, l->log + drop, (l->n_log - drop) * sizeof *l->log);
    l->n_log -= drop;
    l->base_bytes = r->bytes;
    l->base_known = known;
    if (known)
        l->base_digest = d;
    else
        memset(&l->base_digest, 0, sizeof l->base_digest);
    l->receipt = *r;
    l->rid = *rid;
    l->has_receipt = 1;
    if (len > sizeof l->raw)
        len = sizeof l->raw;
    memcpy(l->raw, raw, len);
    l->raw_len = len;
}

int bwc_relay_lane_may_serve(const bwc_relay_lane *l, uint64_t len, uint64_t price, uint64_t limit,
                             uint64_t credit_window, const char **reject)
{
    uint64_t rbytes = l->has_receipt ? l->receipt.bytes : 0;
    uint64_t ramount = l->has_receipt ? l->receipt.amount : 0;
    uint64_t ceiling, after;
    *reject = "";
    /* served >= rbytes always holds (intake refuses more bytes than served). */
    uint64_t ahead = l->served - rbytes;
    if (ahead > credit_window || len > credit_window - ahead) {
        *reject = "credit-window-exceeded";
        return 0;
    }
    if (!bwc_receipt_max_amount(rbytes, price, &ceiling) || ramount < ceiling) {
        *reject = "receipt-amount-too-low";
        return 0;
    }
    if (!bwc_amount_add(&after, l->served, len) ||
        !bwc_receipt_max_amount(after, price, &ceiling) || ceiling > limit) {
        *reject = "deposit-exhausted";
        return 0;
    }
    return 1;
}

const bwc_relay_lane_entry *bwc_relay_lane_served(bwc_relay_lane *l, const bwc_hash *content_id,
                                                  uint32_t index, const bwc_hash *chunk_hash,
                                                  uint64_t len)
{
    uint64_t after;
    if (!bwc_amount_add(&after, l->served, len))
        return NULL;
    if (l->n_log == l->cap_log) {
        size_t cap = l->cap_log ? 2 * l->cap_log : 8;
        bwc_relay_lane_entry *p = realloc(l->log, cap * sizeof *p);
        if (!p)
            return NULL;
        l->log = p;
        l->cap_log = cap;
    }
    bwc_delivery_next(&l->digest, content_id, index, chunk_hash);
    l->served = after;
    bwc_relay_lane_entry *e = &l->log[l->n_log++];
    e->bytes_after = after;
    e->content_id = *content_id;
    e->index = index;
    e->chunk_hash = *chunk_hash;
    e->digest_after = l->digest;
    return e;
}

int bwc_relay_settle_closed(const bwc_settle_terms *t)
{
    /* next_height > expiry + settle_window, without computing a sum that could wrap. */
    return t->next_height > t->expiry && t->next_height - t->expiry > t->settle_window;
}

int bwc_relay_lane_settle_due(const bwc_receipt *r, const bwc_settle_terms *t, const char **why)
{
    if (bwc_relay_settle_closed(t)) {
        *why = "closed";
        return 0;
    }
    if (r->seq <= t->chain_seq) {
        *why = "settled";
        return 0;
    }
    if (r->amount < t->chain_claimed || r->amount - t->chain_claimed < t->receipt_fee) {
        *why = "below-fee";
        return 0;
    }
    if (t->next_height >= t->expiry) {
        *why = "expiring";
        return 1;
    }
    unsigned __int128 threshold = (unsigned __int128)t->multiple * t->receipt_fee;
    if (r->amount - t->chain_claimed >= threshold) {
        *why = "threshold";
        return 1;
    }
    *why = "waiting";
    return 0;
}
