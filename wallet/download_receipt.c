/* download_receipt.c: chunk checks, cumulative receipts and resynchronisation for a download. */
#include "wallet/download_receipt.h"

#include "common/base64url.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hex.h"
#include "consensus/hash.h"
#include "consensus/key.h"
#include "wallet/noderpc.h"

void bwc_dl_channel_init(bwc_dl_channel *c, const bwc_hash *id, const bwc_pubkey *relay,
                         uint64_t price, uint64_t deposit)
{
    memset(c, 0, sizeof *c);
    c->id = *id;
    c->relay = *relay;
    c->price = price;
    c->deposit = deposit;
}

void bwc_dl_channel_set_pool(bwc_dl_channel *c, const bwc_pubkey *consumer,
                             const unsigned char *ticket)
{
    c->is_pool = 1;
    c->consumer = *consumer;
    c->has_ticket = ticket != NULL;
    if (ticket)
        memcpy(c->ticket.b, ticket, 64);
    else
        memset(c->ticket.b, 0, 64);
}

int bwc_dl_channel_owns(const bwc_dl_channel *c, const bwc_receipt *r)
{
    if (memcmp(r->channel.b, c->id.b, 32) != 0 || !r->is_pool != !c->is_pool)
        return 0;
    if (!c->is_pool)
        return 1;
    return !memcmp(r->consumer.b, c->consumer.b, 32) && !memcmp(r->relay.b, c->relay.b, 32) &&
           !r->has_ticket == !c->has_ticket &&
           (!c->has_ticket || !memcmp(r->ticket.b, c->ticket.b, 64));
}

/* The lane's fields of a receipt: keys 5, 6 and 7 for a pool lane, none for a channel. */
static void lane_fields(const bwc_dl_channel *c, bwc_receipt *out)
{
    out->channel = c->id;
    if (!c->is_pool)
        return;
    out->is_pool = 1;
    out->consumer = c->consumer;
    out->relay = c->relay;
    out->has_ticket = c->has_ticket;
    if (c->has_ticket)
        out->ticket = c->ticket;
}

void bwc_dl_channel_point(const bwc_dl_channel *c, uint64_t *seq, uint64_t *bytes, uint64_t *amount,
                          bwc_hash *digest)
{
    if (c->has_receipt) {
        *seq = c->newest.seq;
        *bytes = c->newest.bytes;
        *amount = c->newest.amount;
        *digest = c->newest.digest;
    } else {
        *seq = *bytes = *amount = 0;
        memset(digest, 0, sizeof *digest);
    }
}

int bwc_dl_chunk_verify(const bwc_manifest *m, uint32_t index, const void *data, size_t len,
                        bwc_hash *hash)
{
    bwc_hash h;
    memset(hash, 0, sizeof *hash);
    if (index >= m->n_chunks || len != bwc_manifest_chunk_len(m, index))
        return 0;
    bwc_sha256(&h, data, len);
    if (memcmp(h.b, m->chunks[index].b, 32) != 0)
        return 0;
    *hash = h;
    return 1;
}

int bwc_dl_pending_add(bwc_dl_channel *c, uint32_t index)
{
    for (size_t i = 0; i < c->n_pending; i++)
        if (c->pending[i] == index)
            return 1;
    if (c->n_pending == BWC_DL_MAX_PENDING)
        return 0;
    c->pending[c->n_pending++] = index;
    return 1;
}

void bwc_dl_pending_remove(bwc_dl_channel *c, uint32_t index)
{
    for (size_t i = 0; i < c->n_pending; i++)
        if (c->pending[i] == index) {
            memmove(&c->pending[i], &c->pending[i + 1],
                    (c->n_pending - i - 1) * sizeof c->pending[0]);
            c->n_pending--;
            return;
        }
}

/* The receipt at (bytes, digest) after the point (seq, amount): seq + 1 and the price's amount,
 * never below the previous one. */
static int receipt_at(const bwc_dl_channel *c, uint64_t seq, uint64_t prev_amount, uint64_t bytes,
                      const bwc_hash *digest, bwc_receipt *out, const char **why)
{
    uint64_t amount;
    memset(out, 0, sizeof *out);
    if (seq == UINT64_MAX || !bwc_receipt_max_amount(bytes, c->price, &amount)) {
        *why = "overflow";
        return 0;
    }
    if (amount < prev_amount)
        amount = prev_amount;
    if (amount > c->deposit) {
        *why = "over-deposit";
        return 0;
    }
    lane_fields(c, out);
    out->seq = seq + 1;
    out->bytes = bytes;
    out->amount = amount;
    out->digest = *digest;
    return 1;
}

int bwc_dl_receipt_next(const bwc_dl_channel *c, const bwc_hash *content_id, uint32_t index,
                        const bwc_hash *chunk_hash, uint64_t len, bwc_receipt *out,
                        const char **why)
{
    uint64_t seq, bytes, amount;
    bwc_hash d;
    *why = "";
    bwc_dl_channel_point(c, &seq, &bytes, &amount, &d);
    if (!bwc_amount_add(&bytes, bytes, len)) {
        memset(out, 0, sizeof *out);
        *why = "overflow";
        return 0;
    }
    bwc_delivery_next(&d, content_id, index, chunk_hash);
    return receipt_at(c, seq, amount, bytes, &d, out, why);
}

int bwc_dl_receipt_opening(const bwc_dl_channel *c, bwc_receipt *out, const char **why)
{
    uint64_t seq, bytes, amount;
    bwc_hash d;
    memset(out, 0, sizeof *out);
    *why = "";
    bwc_dl_channel_point(c, &seq, &bytes, &amount, &d);
    if (seq == UINT64_MAX) {
        *why = "overflow";
        return 0;
    }
    lane_fields(c, out);
    out->seq = seq + 1;
    out->bytes = bytes;
    out->amount = amount;
    out->digest = d;
    return 1;
}

int bwc_dl_channel_sign_opening(bwc_dl_channel *c, const secp256k1_context *secp,
                                const unsigned char seckey[32], const bwc_hash *chain_id,
                                const unsigned char aux32[32], const char **why)
{
    bwc_receipt r;
    if (!bwc_dl_receipt_opening(c, &r, why))
        return 0;
    if (!bwc_dl_receipt_sign(secp, &r, seckey, chain_id, aux32)) {
        *why = "sign-failed";
        return 0;
    }
    bwc_dl_channel_adopt(c, &r);
    c->unsent = 1;
    return 1;
}

int bwc_dl_receipt_sign(const secp256k1_context *secp, bwc_receipt *r,
                        const unsigned char seckey[32], const bwc_hash *chain_id,
                        const unsigned char aux32[32])
{
    bwc_hash rid;
    r->has_relay_sig = 0;
    memset(&r->relay_sig, 0, sizeof r->relay_sig);
    bwc_receipt_id(chain_id, r, &rid);
    if (!bwc_sign(secp, &r->consumer_sig, seckey, &rid, aux32)) {
        memset(&r->consumer_sig, 0, sizeof r->consumer_sig);
        return 0;
    }
    return 1;
}

int bwc_dl_channel_countersign(bwc_dl_channel *c, const secp256k1_context *secp,
                               const unsigned char seckey[32], const bwc_hash *chain_id,
                               const bwc_hash *content_id, uint32_t index,
                               const bwc_hash *chunk_hash, uint64_t len,
                               const unsigned char aux32[32], const char **why)
{
    bwc_receipt r;
    if (!bwc_dl_receipt_next(c, content_id, index, chunk_hash, len, &r, why))
        return 0;
    if (!bwc_dl_receipt_sign(secp, &r, seckey, chain_id, aux32)) {
        *why = "sign-failed";
        return 0;
    }
    bwc_dl_channel_adopt(c, &r);
    c->unsent = 1;
    bwc_dl_pending_remove(c, index);
    return 1;
}

void bwc_dl_channel_adopt(bwc_dl_channel *c, const bwc_receipt *r)
{
    c->newest = *r;
    /* We keep (and resend) what we signed; the relay adds its own signature when it gossips. */
    c->newest.has_relay_sig = 0;
    memset(&c->newest.relay_sig, 0, sizeof c->newest.relay_sig);
    c->has_receipt = 1;
    c->unsent = 0;
}

/* ---- the relay's view ---- */

void bwc_dl_relay_view_free(bwc_dl_relay_view *v)
{
    free(v->log);
    memset(v, 0, sizeof *v);
}

static int get_hash(const json_t *o, const char *field, bwc_hash *h)
{
    const char *s = json_string_value(json_object_get(o, field));
    return s && strlen(s) == 64 && bwc_hex_decode(h->b, 32, s);
}

int bwc_dl_relay_view_parse(bwc_dl_relay_view *v, const json_t *o, const bwc_hash *channel,
                            char *err, size_t errlen)
{
    bwc_hash id;
    memset(v, 0, sizeof *v);
    if (!json_is_object(o) || !get_hash(o, "channel", &id) ||
        !bwc_json_get_u64(o, "bytes_served", &v->served)) {
        snprintf(err, errlen, "the channel view has no channel or bytes_served");
        return 0;
    }
    if (memcmp(id.b, channel->b, 32) != 0) {
        snprintf(err, errlen, "the channel view is about another channel");
        return 0;
    }
    json_t *rj = json_object_get(o, "receipt");
    if (rj && !json_is_null(rj)) {
        unsigned char raw[BWC_RECEIPT_MAX_BYTES];
        bwc_result res;
        const char *b64 = json_string_value(json_object_get(rj, "receipt"));
        long n = b64 ? bwc_b64url_decode(raw, sizeof raw, b64) : -1;
        if (n <= 0) {
            snprintf(err, errlen, "the channel view's receipt is not base64url");
            return 0;
        }
        if (!bwc_receipt_decode(&v->receipt, raw, (size_t)n, &res)) {
            snprintf(err, errlen, "the channel view's receipt does not decode (%s)", res.reject);
            return 0;
        }
        /* A pool lane's receipt is a pool receipt: bwc_dl_channel_resync checks its lane. */
        if (memcmp(v->receipt.channel.b, channel->b, 32) != 0) {
            snprintf(err, errlen, "the channel view's receipt is for another channel");
            return 0;
        }
        v->has_receipt = 1;
    }
    json_t *log = json_object_get(o, "log");
    size_t n = json_array_size(log);
    if (log && !json_is_array(log)) {
        snprintf(err, errlen, "the channel view's log is not an array");
        return 0;
    }
    if (n > BWC_DL_MAX_LOG) {
        snprintf(err, errlen, "the channel view's log is too long (%zu entries)", n);
        return 0;
    }
    if (n && !(v->log = calloc(n, sizeof *v->log))) {
        snprintf(err, errlen, "out of memory");
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(log, i);
        bwc_dl_log_entry *le = &v->log[i];
        uint64_t index;
        if (!bwc_json_get_u64(e, "bytes_after", &le->bytes_after) ||
            !get_hash(e, "content_id", &le->content_id) || !bwc_json_get_u64(e, "index", &index) ||
            index > UINT32_MAX || !get_hash(e, "chunk_hash", &le->chunk_hash) ||
            !get_hash(e, "digest_after", &le->digest_after)) {
            snprintf(err, errlen, "entry %zu of the channel view's log is malformed", i);
            bwc_dl_relay_view_free(v);
            return 0;
        }
        le->index = (uint32_t)index;
        v->n_log = i + 1;
    }
    v->found = 1;
    return 1;
}

int bwc_dl_channel_resync(bwc_dl_channel *c, const secp256k1_context *secp,
                          const bwc_hash *chain_id, const bwc_pubkey *consumer,
                          const bwc_manifest *m, const bwc_hash *content_id,
                          const bwc_dl_relay_view *v, bwc_receipt *next, int *need_sign,
                          const char **why)
{
    static const bwc_hash zero;
    bwc_dl_channel t = *c;
    uint64_t seq, bytes, amount;
    bwc_hash d;

    *need_sign = 0;
    *why = "";
    memset(next, 0, sizeof *next);

    /* 1. The relay's newest receipt: ours, and newer than what we remember? */
    if (v->found && v->has_receipt) {
        const bwc_receipt *rr = &v->receipt;
        bwc_hash rid, ours = zero;
        if (!bwc_dl_channel_owns(c, rr)) {
            *why = "relay-receipt-foreign";
            return 0;
        }
        bwc_receipt_id(chain_id, rr, &rid);
        if (!bwc_verify(secp, &rr->consumer_sig, &rid, consumer)) {
            *why = "relay-receipt-bad-sig";
            return 0;
        }
        if (t.has_receipt)
            bwc_receipt_id(chain_id, &t.newest, &ours);
        if (!t.has_receipt || (rr->seq >= t.newest.seq && memcmp(rid.b, ours.b, 32) != 0))
            bwc_dl_channel_adopt(&t, rr);
    }
    bwc_dl_channel_point(&t, &seq, &bytes, &amount, &d);
    uint64_t served = v->found ? v->served : 0;
    if (bytes > served) {
        *why = "relay-served-below-receipt";
        return 0;
    }

    /* 2. Our point must be one of the relay's: its receipt's, or an entry of its log. */
    uint64_t base = v->found && v->has_receipt ? v->receipt.bytes : 0;
    const bwc_hash *base_d = v->found && v->has_receipt ? &v->receipt.digest : &zero;
    int placed = bytes == base && memcmp(d.b, base_d->b, 32) == 0;
    size_t i = 0;
    uint64_t prev = base;
    for (; i < v->n_log && v->log[i].bytes_after <= bytes; i++) {
        if (v->log[i].bytes_after <= prev) {
            *why = "log-mismatch";
            return 0;
        }
        prev = v->log[i].bytes_after;
        if (prev == bytes)
            placed = memcmp(v->log[i].digest_after.b, d.b, 32) == 0;
    }
    if (!placed) {
        *why = "digest-mismatch";
        return 0;
    }

    /* 3. Deliveries after it: only chunks we asked this relay for, exactly as the manifest says. */
    uint64_t cur = bytes;
    bwc_hash cur_d = d;
    for (; i < v->n_log; i++) {
        const bwc_dl_log_entry *e = &v->log[i];
        size_t k;
        if (memcmp(e->content_id.b, content_id->b, 32) != 0) {
            *why = "unrequested-delivery";
            return 0;
        }
        for (k = 0; k < t.n_pending && t.pending[k] != e->index; k++) {
        }
        if (k == t.n_pending) {
            *why = "unrequested-delivery";
            return 0;
        }
        if (e->index >= m->n_chunks || memcmp(e->chunk_hash.b, m->chunks[e->index].b, 32) != 0 ||
            !bwc_amount_add(&cur, cur, bwc_manifest_chunk_len(m, e->index)) ||
            cur != e->bytes_after) {
            *why = "log-mismatch";
            return 0;
        }
        bwc_delivery_next(&cur_d, content_id, e->index, &e->chunk_hash);
        if (memcmp(cur_d.b, e->digest_after.b, 32) != 0) {
            *why = "log-mismatch";
            return 0;
        }
        bwc_dl_pending_remove(&t, e->index);
    }
    if (cur != served) {
        *why = "log-incomplete";
        return 0;
    }
    t.n_pending = 0; /* what the log does not show was never served */
    if (cur != bytes) {
        if (!receipt_at(&t, seq, amount, cur, &cur_d, next, why))
            return 0;
        *need_sign = 1;
    }
    *c = t;
    return 1;
}

uint64_t bwc_dl_channel_spent(const bwc_dl_channel *c)
{
    return c->has_receipt && c->newest.amount > c->start_amount
               ? c->newest.amount - c->start_amount
               : 0;
}
