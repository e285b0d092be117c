/* objjson.c: JSON views of transactions, receipts, manifests, headers and blocks. */
#include "common/objjson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hex.h"
#include "consensus/bech32m.h"

json_t *bwc_json_hex(const void *data, size_t n)
{
    char stack[129];
    char *s = n * 2 + 1 <= sizeof stack ? stack : malloc(n * 2 + 1);
    if (!s)
        return NULL;
    bwc_hex_encode(s, data, n);
    json_t *j = json_string(s);
    if (s != stack)
        free(s);
    return j;
}

json_t *bwc_json_address(const char *hrp, const bwc_pubkey *pk)
{
    char addr[BWC_ADDRESS_MAX];
    if (hrp && bwc_address_encode(addr, sizeof addr, hrp, pk))
        return json_string(addr);
    return bwc_json_hex(pk->b, sizeof pk->b);
}

#define HASH(h) bwc_json_hex((h)->b, 32)
#define U64(v) json_integer((json_int_t)(v))

/* json_integer holds int64: every amount of a valid chain is far below 2^63 (total supply is
 * bounded by allocations and subsidy), but a decoded object may carry any u64, so values
 * above INT64_MAX are shown as decimal strings rather than wrapped. */
json_t *bwc_json_u64(uint64_t v)
{
    if (v <= (uint64_t)INT64_MAX)
        return U64(v);
    char s[24];
    snprintf(s, sizeof s, "%llu", (unsigned long long)v);
    return json_string(s);
}

static void set_text(json_t *o, const char *key, const char *s, size_t n)
{
    if (n)
        json_object_set_new(o, key, json_stringn(s, n));
}

static json_t *tx_body(const bwc_tx *tx, const char *hrp)
{
    json_t *b = json_object();
    switch (tx->type) {
    case BWC_TX_TRANSFER: {
        const bwc_tx_transfer *t = &tx->body.transfer;
        json_object_set_new(b, "to", bwc_json_address(hrp, &t->to));
        json_object_set_new(b, "amount", bwc_json_u64(t->amount));
        if (t->memo_len)
            json_object_set_new(b, "memo", bwc_json_hex(t->memo, t->memo_len));
        break;
    }
    case BWC_TX_CHANNEL_OPEN: {
        const bwc_tx_channel_open *c = &tx->body.channel_open;
        json_object_set_new(b, "relay", bwc_json_address(hrp, &c->relay));
        json_object_set_new(b, "deposit", bwc_json_u64(c->deposit));
        json_object_set_new(b, "price", bwc_json_u64(c->price));
        json_object_set_new(b, "expiry", bwc_json_u64(c->expiry));
        break;
    }
    case BWC_TX_CONTENT_REGISTER: {
        const bwc_tx_content_register *c = &tx->body.content_register;
        json_object_set_new(b, "content_id", HASH(&c->content_id));
        json_object_set_new(b, "size", bwc_json_u64(c->size));
        json_object_set_new(b, "chunk_size", bwc_json_u64(c->chunk_size));
        set_text(b, "name", c->name, c->name_len);
        set_text(b, "origin", c->origin, c->origin_len);
        set_text(b, "mime", c->mime, c->mime_len);
        break;
    }
    case BWC_TX_RELAY_ANNOUNCE: {
        const bwc_tx_relay_announce *a = &tx->body.relay_announce;
        set_text(b, "endpoint", a->endpoint, a->endpoint_len);
        set_text(b, "region", a->region, a->region_len);
        json_object_set_new(b, "price", bwc_json_u64(a->price));
        json_object_set_new(b, "rate", bwc_json_u64(a->rate));
        json_object_set_new(b, "quota", bwc_json_u64(a->quota));
        json_object_set_new(b, "burst_quota", bwc_json_u64(a->burst_quota));
        json_object_set_new(b, "burst_hours", bwc_json_u64(a->burst_hours));
        break;
    }
    case BWC_TX_SPONSOR: {
        const bwc_tx_sponsor *s = &tx->body.sponsor;
        json_object_set_new(b, "content_id", HASH(&s->content_id));
        json_object_set_new(b, "amount", bwc_json_u64(s->amount));
        json_object_set_new(b, "price", bwc_json_u64(s->price));
        json_object_set_new(b, "per_consumer_cap", bwc_json_u64(s->per_consumer_cap));
        json_object_set_new(b, "expiry", bwc_json_u64(s->expiry));
        if (s->has_ticket_key)
            json_object_set_new(b, "ticket_key", bwc_json_address(hrp, &s->ticket_key));
        break;
    }
    default:
        break;
    }
    return b;
}

json_t *bwc_json_tx(const bwc_tx *tx, const bwc_hash *chain_id, const char *hrp)
{
    json_t *o = json_object();
    const char *name = bwc_tx_type_name(tx->type);
    if (!o)
        return NULL;
    if (chain_id) {
        bwc_hash txid;
        bwc_tx_id(chain_id, tx, &txid);
        json_object_set_new(o, "txid", HASH(&txid));
    }
    json_object_set_new(o, "type", json_string(name ? name : "unknown"));
    json_object_set_new(o, "from", bwc_json_address(hrp, &tx->from));
    json_object_set_new(o, "nonce", bwc_json_u64(tx->nonce));
    json_object_set_new(o, "fee", bwc_json_u64(tx->fee));
    json_object_set_new(o, "body", tx_body(tx, hrp));
    json_object_set_new(o, "sig", bwc_json_hex(tx->sig.b, sizeof tx->sig.b));
    return o;
}

json_t *bwc_json_receipt(const bwc_receipt *r, const bwc_hash *chain_id, const char *hrp)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    if (chain_id) {
        bwc_hash id;
        bwc_receipt_id(chain_id, r, &id);
        json_object_set_new(o, "receipt_id", HASH(&id));
    }
    json_object_set_new(o, "channel", HASH(&r->channel));
    json_object_set_new(o, "seq", bwc_json_u64(r->seq));
    json_object_set_new(o, "bytes", bwc_json_u64(r->bytes));
    json_object_set_new(o, "amount", bwc_json_u64(r->amount));
    json_object_set_new(o, "digest", HASH(&r->digest));
    if (r->is_pool) {
        json_object_set_new(o, "consumer", bwc_json_address(hrp, &r->consumer));
        json_object_set_new(o, "relay", bwc_json_address(hrp, &r->relay));
    }
    if (r->has_ticket)
        json_object_set_new(o, "ticket", bwc_json_hex(r->ticket.b, 64));
    if (r->has_relay_sig)
        json_object_set_new(o, "relay_sig", bwc_json_hex(r->relay_sig.b, 64));
    json_object_set_new(o, "consumer_sig", bwc_json_hex(r->consumer_sig.b, 64));
    return o;
}

json_t *bwc_json_manifest(const bwc_manifest *m, int with_chunks)
{
    json_t *o = json_object();
    bwc_hash id;
    if (!o)
        return NULL;
    bwc_manifest_content_id(m, &id);
    json_object_set_new(o, "content_id", HASH(&id));
    json_object_set_new(o, "version", bwc_json_u64(m->version));
    json_object_set_new(o, "size", bwc_json_u64(m->size));
    json_object_set_new(o, "chunk_size", bwc_json_u64(m->chunk_size));
    json_object_set_new(o, "n_chunks", bwc_json_u64(m->n_chunks));
    if (with_chunks) {
        json_t *a = json_array();
        for (size_t i = 0; i < m->n_chunks; i++)
            json_array_append_new(a, HASH(&m->chunks[i]));
        json_object_set_new(o, "chunks", a);
    }
    return o;
}

json_t *bwc_json_header(const bwc_header *h, const char *hrp)
{
    json_t *o = json_object();
    bwc_hash id;
    if (!o)
        return NULL;
    bwc_header_id(h, &id);
    json_object_set_new(o, "block_id", HASH(&id));
    json_object_set_new(o, "version", bwc_json_u64(h->version));
    json_object_set_new(o, "height", bwc_json_u64(h->height));
    json_object_set_new(o, "prev", HASH(&h->prev));
    json_object_set_new(o, "time", bwc_json_u64(h->time));
    json_object_set_new(o, "tx_root", HASH(&h->tx_root));
    json_object_set_new(o, "receipt_root", HASH(&h->receipt_root));
    json_object_set_new(o, "producer", bwc_json_address(hrp, &h->producer));
    if (h->has_pow) {
        char bits[11];
        snprintf(bits, sizeof bits, "%08x", (unsigned)h->target);
        json_object_set_new(o, "target", json_string(bits));
        json_object_set_new(o, "nonce", bwc_json_u64(h->nonce));
    }
    if (h->has_sig)
        json_object_set_new(o, "sig", bwc_json_hex(h->sig.b, 64));
    return o;
}

json_t *bwc_json_block(const bwc_block *b, const bwc_hash *chain_id, const char *hrp, int full)
{
    json_t *o = json_object(), *txs = json_array(), *rcs = json_array();
    if (!o || !txs || !rcs) {
        json_decref(o);
        json_decref(txs);
        json_decref(rcs);
        return NULL;
    }
    json_object_set_new(o, "header", bwc_json_header(&b->header, hrp));
    for (size_t i = 0; i < b->n_txs; i++) {
        if (full) {
            json_array_append_new(txs, bwc_json_tx(&b->txs[i], chain_id, hrp));
        } else {
            bwc_hash id;
            bwc_tx_id(chain_id, &b->txs[i], &id);
            json_array_append_new(txs, HASH(&id));
        }
    }
    for (size_t i = 0; i < b->n_receipts; i++) {
        if (full) {
            json_array_append_new(rcs, bwc_json_receipt(&b->receipts[i], chain_id, hrp));
        } else {
            bwc_hash id;
            bwc_receipt_id(chain_id, &b->receipts[i], &id);
            json_array_append_new(rcs, HASH(&id));
        }
    }
    json_object_set_new(o, "txs", txs);
    json_object_set_new(o, "receipts", rcs);
    return o;
}
