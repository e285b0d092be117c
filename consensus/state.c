/* state.c: the ledger's state-transition function (PROTOCOL.md §5, §5.1) over a caller's view. */
#include "consensus/state.h"

#include <stddef.h>
#include <string.h>

#include "consensus/cbor.h"
#include "consensus/engine.h"
#include "consensus/key.h"
#include "consensus/schema.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Every record is far below this (a content record, the largest, is under 700 bytes); a
 * stored value above it is corrupt and is refused before it is parsed. */
#define RECORD_MAX_BYTES 1024

/* A closing entry: the kind byte ('c' or 'p') and the channel or pool id. */
#define CLOSING_BYTES (1 + BWC_HASH_SIZE)

/* --- Record layouts. A record that fails its schema reads as "state-corrupt". --- */

#define RECORD_SCHEMA(fields)                                                                      \
    {                                                                                              \
        fields, COUNT(fields), "state-corrupt", "state-corrupt", "state-corrupt", "state-corrupt"  \
    }

#define AC(f) offsetof(bwc_account, f)
static const bwc_field account_fields[] = {
    {0, BWC_F_UINT, 0, AC(balance), 0, 0, NULL, NULL},
    {1, BWC_F_UINT, 0, AC(nonce), 0, 0, NULL, NULL},
    {2, BWC_F_UINT, 0, AC(bytes_served), 0, 0, NULL, NULL},
    {3, BWC_F_UINT, 0, AC(bytes_consumed), 0, 0, NULL, NULL},
};

#define CH(f) offsetof(bwc_channel, f)
static const bwc_field channel_fields[] = {
    {0, BWC_F_HASH, 0, CH(consumer), 0, 0, NULL, NULL},
    {1, BWC_F_HASH, 0, CH(relay), 0, 0, NULL, NULL},
    {2, BWC_F_UINT, 0, CH(deposit), 0, 0, NULL, NULL},
    {3, BWC_F_UINT, 0, CH(price), 0, 0, NULL, NULL},
    {4, BWC_F_UINT, 0, CH(expiry), 0, 0, NULL, NULL},
    {5, BWC_F_UINT, 0, CH(claimed), 0, 0, NULL, NULL},
    {6, BWC_F_UINT, 0, CH(seq), 0, 0, NULL, NULL},
    {7, BWC_F_UINT, 0, CH(bytes), 0, 0, NULL, NULL},
    {8, BWC_F_HASH, 0, CH(digest), 0, 0, NULL, NULL},
    {9, BWC_F_UINT, 0, CH(opened), 0, 0, NULL, NULL},
    {10, BWC_F_UINT, 0, CH(closed), 0, 0, NULL, NULL},
};

#define CN(f) offsetof(bwc_content, f)
static const bwc_field content_fields[] = {
    {0, BWC_F_HASH, 0, CN(publisher), 0, 0, NULL, NULL},
    {1, BWC_F_UINT, 0, CN(size), 0, 0, NULL, NULL},
    {2, BWC_F_UINT, 0, CN(chunk_size), 0, 0, NULL, NULL},
    {3, BWC_F_TEXT, 1, CN(name), BWC_NAME_MAX, CN(name_len), NULL, NULL},
    {4, BWC_F_TEXT, 1, CN(origin), BWC_ENDPOINT_MAX, CN(origin_len), NULL, NULL},
    {5, BWC_F_TEXT, 1, CN(mime), BWC_MIME_MAX, CN(mime_len), NULL, NULL},
    {6, BWC_F_UINT, 0, CN(registered), 0, 0, NULL, NULL},
};

/* Keys 0-6 are those of the relay_announce body (§3.2), so a record reads like the tx. */
#define RL(f) offsetof(bwc_relay, f)
static const bwc_field relay_fields[] = {
    {0, BWC_F_TEXT, 0, RL(ann.endpoint), BWC_ENDPOINT_MAX, RL(ann.endpoint_len), NULL, NULL},
    {1, BWC_F_TEXT, 0, RL(ann.region), BWC_REGION_LEN, RL(ann.region_len), NULL, NULL},
    {2, BWC_F_UINT, 0, RL(ann.price), 0, 0, NULL, NULL},
    {3, BWC_F_UINT, 0, RL(ann.rate), 0, 0, NULL, NULL},
    {4, BWC_F_UINT, 0, RL(ann.quota), 0, 0, NULL, NULL},
    {5, BWC_F_UINT, 0, RL(ann.burst_quota), 0, 0, NULL, NULL},
    {6, BWC_F_UINT, 0, RL(ann.burst_hours), 0, 0, NULL, NULL},
    {7, BWC_F_UINT, 0, RL(announced), 0, 0, NULL, NULL},
};

#define PL(f) offsetof(bwc_pool, f)
static const bwc_field pool_fields[] = {
    {0, BWC_F_HASH, 0, PL(sponsor), 0, 0, NULL, NULL},
    {1, BWC_F_HASH, 0, PL(content_id), 0, 0, NULL, NULL},
    {2, BWC_F_UINT, 0, PL(amount), 0, 0, NULL, NULL},
    {3, BWC_F_UINT, 0, PL(balance), 0, 0, NULL, NULL},
    {4, BWC_F_UINT, 0, PL(price), 0, 0, NULL, NULL},
    {5, BWC_F_UINT, 0, PL(per_consumer_cap), 0, 0, NULL, NULL},
    {6, BWC_F_UINT, 0, PL(expiry), 0, 0, NULL, NULL},
    {7, BWC_F_HASH, 1, PL(ticket_key), 0, PL(has_ticket_key), NULL, NULL},
    {8, BWC_F_UINT, 0, PL(opened), 0, 0, NULL, NULL},
    {9, BWC_F_UINT, 0, PL(closed), 0, 0, NULL, NULL},
};

#define LN(f) offsetof(bwc_lane, f)
static const bwc_field lane_fields[] = {
    {0, BWC_F_UINT, 0, LN(seq), 0, 0, NULL, NULL},
    {1, BWC_F_UINT, 0, LN(bytes), 0, 0, NULL, NULL},
    {2, BWC_F_UINT, 0, LN(claimed), 0, 0, NULL, NULL},
    {3, BWC_F_HASH, 0, LN(digest), 0, 0, NULL, NULL},
};

typedef struct {
    bwc_schema schema;
    size_t size; /* of the C struct */
} record_type;

static const record_type ACCOUNT = {RECORD_SCHEMA(account_fields), sizeof(bwc_account)};
static const record_type CHANNEL = {RECORD_SCHEMA(channel_fields), sizeof(bwc_channel)};
static const record_type CONTENT = {RECORD_SCHEMA(content_fields), sizeof(bwc_content)};
static const record_type RELAY = {RECORD_SCHEMA(relay_fields), sizeof(bwc_relay)};
static const record_type POOL = {RECORD_SCHEMA(pool_fields), sizeof(bwc_pool)};
static const record_type LANE = {RECORD_SCHEMA(lane_fields), sizeof(bwc_lane)};

/* Decodes exactly n bytes of canonical CBOR holding one map of t. On failure obj is zeroed. */
static int record_decode(const record_type *t, void *obj, const unsigned char *p, size_t n)
{
    bwc_cbor_reader r;
    bwc_result res;
    memset(obj, 0, t->size);
    if (n > RECORD_MAX_BYTES || !bwc_cbor_check(p, n, &res))
        return 0;
    bwc_cbor_reader_init(&r, p, n);
    if (!bwc_schema_decode(&r, &t->schema, obj, NULL, &res) || r.pos != n) {
        memset(obj, 0, t->size);
        return 0;
    }
    return 1;
}

/* The 'y' count and the 'q' claimed total are a bare CBOR uint. */
static int uint_decode(uint64_t *out, const unsigned char *p, size_t n)
{
    bwc_cbor_reader r;
    bwc_result res;
    *out = 0;
    if (n > RECORD_MAX_BYTES || !bwc_cbor_check(p, n, &res))
        return 0;
    bwc_cbor_reader_init(&r, p, n);
    if (!bwc_cbor_read_uint(&r, out) || r.pos != n) {
        *out = 0;
        return 0;
    }
    return 1;
}

int bwc_channel_decode(bwc_channel *out, const unsigned char *p, size_t n)
{
    return record_decode(&CHANNEL, out, p, n);
}

int bwc_content_decode(bwc_content *out, const unsigned char *p, size_t n)
{
    return record_decode(&CONTENT, out, p, n);
}

int bwc_relay_decode(bwc_relay *out, const unsigned char *p, size_t n)
{
    return record_decode(&RELAY, out, p, n);
}

int bwc_pool_decode(bwc_pool *out, const unsigned char *p, size_t n)
{
    return record_decode(&POOL, out, p, n);
}

/* --- Keys. --- */

typedef struct {
    unsigned char b[BWC_STATE_KEY_MAX];
    size_t n;
} state_key;

static void key_start(state_key *k, unsigned char prefix)
{
    k->b[0] = prefix;
    k->n = 1;
}

/* Callers never pass more than BWC_STATE_KEY_MAX bytes in all (the lane key is the longest). */
static void key_add(state_key *k, const void *p, size_t n)
{
    memcpy(k->b + k->n, p, n);
    k->n += n;
}

static void key_add_be(state_key *k, uint64_t v, size_t width)
{
    for (size_t i = 0; i < width; i++)
        k->b[k->n + i] = (unsigned char)(v >> (8 * (width - 1 - i)));
    k->n += width;
}

static void key_id(state_key *k, unsigned char prefix, const unsigned char id[32])
{
    key_start(k, prefix);
    key_add(k, id, 32);
}

static void key_claimed(state_key *k, const bwc_hash *pool, const bwc_pubkey *consumer)
{
    key_id(k, 'q', pool->b);
    key_add(k, consumer->b, 32);
}

static void key_lane(state_key *k, const bwc_hash *pool, const bwc_pubkey *consumer,
                     const bwc_pubkey *relay)
{
    key_id(k, 'l', pool->b);
    key_add(k, consumer->b, 32);
    key_add(k, relay->b, 32);
}

static void key_due_count(state_key *k, uint64_t height)
{
    key_start(k, 'y');
    key_add_be(k, height, 8);
}

static void key_due_entry(state_key *k, uint64_t height, uint32_t index)
{
    key_start(k, 'x');
    key_add_be(k, height, 8);
    key_add_be(k, index, 4);
}

/* --- Reading and writing through the view. --- */

/* Fetches key into b (reset first). Returns 1, 0 when absent, or -1 with res set. */
static int fetch(const bwc_state_view *v, const state_key *k, bwc_buf *b, bwc_result *res)
{
    bwc_buf_reset(b);
    int got = v->get(v->ctx, k->b, k->n, b);
    if (got < 0) {
        bwc_fail(res, BWC_RESULT_ERROR, "state-storage");
        return -1;
    }
    if (got > 0 && b->oom) {
        bwc_fail(res, BWC_RESULT_ERROR, "out-of-memory");
        return -1;
    }
    return got > 0;
}

/* Reads the record of type t under k into obj. Returns 1, 0 when absent (obj zeroed), or -1
 * with res set (obj zeroed). */
static int load(const bwc_state_view *v, const state_key *k, const record_type *t, void *obj,
                bwc_result *res)
{
    bwc_buf b = BWC_BUF_INIT;
    memset(obj, 0, t->size);
    int got = fetch(v, k, &b, res);
    if (got == 1 && !record_decode(t, obj, b.data, b.len)) {
        bwc_fail(res, BWC_RESULT_ERROR, "state-corrupt");
        got = -1;
    }
    bwc_buf_free(&b);
    return got;
}

static int load_uint(const bwc_state_view *v, const state_key *k, uint64_t *out, bwc_result *res)
{
    bwc_buf b = BWC_BUF_INIT;
    *out = 0;
    int got = fetch(v, k, &b, res);
    if (got == 1 && !uint_decode(out, b.data, b.len)) {
        bwc_fail(res, BWC_RESULT_ERROR, "state-corrupt");
        got = -1;
    }
    bwc_buf_free(&b);
    return got;
}

/* Stores n bytes under k, or deletes k when val is NULL. Returns 1, or 0 with res set. */
static int put(const bwc_state_view *v, const state_key *k, const unsigned char *val, size_t n,
               bwc_result *res)
{
    if (v->put(v->ctx, k->b, k->n, val, n) < 0)
        return bwc_fail(res, BWC_RESULT_ERROR, "state-storage");
    return 1;
}

static int erase(const bwc_state_view *v, const state_key *k, bwc_result *res)
{
    return put(v, k, NULL, 0, res);
}

static int store(const bwc_state_view *v, const state_key *k, const record_type *t, const void *obj,
                 bwc_result *res)
{
    bwc_buf b = BWC_BUF_INIT;
    int ok = bwc_schema_encode(&b, &t->schema, obj, 0)
                 ? put(v, k, b.data, b.len, res)
                 : bwc_fail(res, BWC_RESULT_ERROR, "out-of-memory");
    bwc_buf_free(&b);
    return ok;
}

/* A zero uint is deleted, as an absent one reads as zero: the state has one form. */
static int store_uint(const bwc_state_view *v, const state_key *k, uint64_t val, bwc_result *res)
{
    bwc_buf b = BWC_BUF_INIT;
    if (val == 0)
        return erase(v, k, res);
    bwc_cbor_put_uint(&b, val);
    int ok =
        b.oom ? bwc_fail(res, BWC_RESULT_ERROR, "out-of-memory") : put(v, k, b.data, b.len, res);
    bwc_buf_free(&b);
    return ok;
}

static int load_account(const bwc_state_view *v, const bwc_pubkey *who, bwc_account *a,
                        bwc_result *res)
{
    state_key k;
    key_id(&k, BWC_STATE_ACCOUNT, who->b);
    return load(v, &k, &ACCOUNT, a, res);
}

/* An all-zero account is deleted rather than stored, so that an address that never held
 * anything and one that went back to nothing leave the same state. */
static int store_account(const bwc_state_view *v, const bwc_pubkey *who, const bwc_account *a,
                         bwc_result *res)
{
    state_key k;
    key_id(&k, BWC_STATE_ACCOUNT, who->b);
    if (a->balance == 0 && a->nonce == 0 && a->bytes_served == 0 && a->bytes_consumed == 0)
        return erase(v, &k, res);
    return store(v, &k, &ACCOUNT, a, res);
}

/* who += amount. Returns 1, or 0 with res set (overflow: reject_overflow, INVALID). */
static int credit(const bwc_state_view *v, const bwc_pubkey *who, uint64_t amount,
                  const char *reject_overflow, bwc_result *res)
{
    bwc_account a;
    if (load_account(v, who, &a, res) < 0)
        return 0;
    if (!bwc_amount_add(&a.balance, a.balance, amount))
        return bwc_fail(res, BWC_RESULT_INVALID, reject_overflow);
    return store_account(v, who, &a, res);
}

/* --- Readers for queries. --- */

/* Maps the internal 1/0/-1 to the readers' contract, which has no room for a reject. */
static int read_record(const bwc_state_view *v, const state_key *k, const record_type *t, void *out)
{
    bwc_result res;
    return load(v, k, t, out, &res);
}

int bwc_state_account(const bwc_state_view *v, const bwc_pubkey *who, bwc_account *out)
{
    bwc_result res;
    return load_account(v, who, out, &res);
}

int bwc_state_channel(const bwc_state_view *v, const bwc_hash *id, bwc_channel *out)
{
    state_key k;
    key_id(&k, BWC_STATE_CHANNEL, id->b);
    return read_record(v, &k, &CHANNEL, out);
}

int bwc_state_content(const bwc_state_view *v, const bwc_hash *id, bwc_content *out)
{
    state_key k;
    key_id(&k, BWC_STATE_CONTENT, id->b);
    return read_record(v, &k, &CONTENT, out);
}

int bwc_state_relay(const bwc_state_view *v, const bwc_pubkey *who, bwc_relay *out)
{
    state_key k;
    key_id(&k, BWC_STATE_RELAY, who->b);
    return read_record(v, &k, &RELAY, out);
}

int bwc_state_pool(const bwc_state_view *v, const bwc_hash *id, bwc_pool *out)
{
    state_key k;
    key_id(&k, BWC_STATE_POOL, id->b);
    return read_record(v, &k, &POOL, out);
}

int bwc_state_pool_claimed(const bwc_state_view *v, const bwc_hash *pool,
                           const bwc_pubkey *consumer, uint64_t *out)
{
    state_key k;
    bwc_result res;
    key_claimed(&k, pool, consumer);
    return load_uint(v, &k, out, &res);
}

int bwc_state_lane(const bwc_state_view *v, const bwc_hash *pool, const bwc_pubkey *consumer,
                   const bwc_pubkey *relay, bwc_lane *out)
{
    state_key k;
    key_lane(&k, pool, consumer, relay);
    return read_record(v, &k, &LANE, out);
}

/* --- Genesis and blocks. --- */

int bwc_state_genesis(const bwc_state_view *v, const bwc_params *p, bwc_result *res)
{
    for (size_t i = 0; i < p->n_allocations; i++)
        if (!credit(v, &p->allocations[i].address, p->allocations[i].amount,
                    "bad-params-supply-overflow", res))
            return 0;
    bwc_result_ok(res);
    return 1;
}

void bwc_state_begin_block(bwc_block_ctx *ctx, const bwc_params *p, const bwc_hash *chain_id,
                           const secp256k1_context *secp, const bwc_sig_checker *sigs,
                           uint64_t height, const bwc_pubkey *producer)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->params = p;
    ctx->chain_id = chain_id;
    ctx->secp = secp;
    ctx->sigs = sigs;
    ctx->height = height;
    ctx->producer = *producer;
}

/* Verifies sig inline, or hands it to the caller's checker, which may queue it for a batch. */
static int check_sig(const bwc_block_ctx *ctx, const bwc_pubkey *pk, const bwc_hash *msg,
                     const bwc_sig *sig, const char *reject, bwc_result *res)
{
    int ok = ctx->sigs ? ctx->sigs->check(ctx->sigs->ctx, pk, msg, sig, reject)
                       : bwc_verify(ctx->secp, sig, msg, pk);
    return ok ? 1 : bwc_fail(res, BWC_RESULT_INVALID, reject);
}

static int key_on_curve(const bwc_block_ctx *ctx, const bwc_pubkey *pk, const char *reject,
                        bwc_result *res)
{
    return bwc_pubkey_valid(ctx->secp, pk) ? 1 : bwc_fail(res, BWC_RESULT_INVALID, reject);
}

/* height > expiry + settle_window, written so that it cannot wrap. */
static int past_settle_window(const bwc_block_ctx *ctx, uint64_t expiry)
{
    return ctx->height > expiry && ctx->height - expiry > ctx->params->settle_window;
}

/* §3.2: height < expiry <= height + max_channel_blocks, without computing a sum that could
 * wrap; and the closing height expiry + settle_window must fit 64 bits, so that the closing
 * is due at a height the chain can reach. */
static int check_expiry(const bwc_block_ctx *ctx, uint64_t expiry, bwc_result *res)
{
    uint64_t close_at;
    if (expiry <= ctx->height || expiry - ctx->height > ctx->params->max_channel_blocks ||
        !bwc_amount_add(&close_at, expiry, ctx->params->settle_window))
        return bwc_fail(res, BWC_RESULT_INVALID, "bad-tx-expiry");
    return 1;
}

/* Appends a closing of kind ('c' or 'p') for id to the list due after the block at height:
 * entry 'x'+height+u32be(count), then count + 1 under 'y'+height. The index is a u32, so a
 * height holds at most 2^32 closings; past that the opening transaction is an overflow. */
static int add_closing(const bwc_state_view *v, uint64_t height, unsigned char kind,
                       const bwc_hash *id, bwc_result *res)
{
    state_key kc, ke;
    uint64_t count;
    unsigned char val[CLOSING_BYTES];
    key_due_count(&kc, height);
    if (load_uint(v, &kc, &count, res) < 0)
        return 0;
    if (count > UINT32_MAX)
        return bwc_fail(res, BWC_RESULT_INVALID, "bad-tx-overflow");
    key_due_entry(&ke, height, (uint32_t)count);
    val[0] = kind;
    memcpy(val + 1, id->b, BWC_HASH_SIZE);
    return put(v, &ke, val, sizeof val, res) && store_uint(v, &kc, count + 1, res);
}

/* --- Transactions. --- */

static int content_exists(const bwc_state_view *v, const bwc_hash *id, bwc_result *res)
{
    state_key k;
    bwc_content c;
    key_id(&k, BWC_STATE_CONTENT, id->b);
    return load(v, &k, &CONTENT, &c, res);
}

static int relay_exists(const bwc_state_view *v, const bwc_pubkey *who, bwc_result *res)
{
    state_key k;
    bwc_relay r;
    key_id(&k, BWC_STATE_RELAY, who->b);
    return load(v, &k, &RELAY, &r, res);
}

/* The body rules that need the chain or the state (§3.2), before any balance moves. */
static int check_body(const bwc_state_view *v, const bwc_block_ctx *ctx, const bwc_tx *tx,
                      bwc_result *res)
{
    int found;
    switch (tx->type) {
    case BWC_TX_TRANSFER:
        return key_on_curve(ctx, &tx->body.transfer.to, "bad-tx-to-key", res);
    case BWC_TX_CHANNEL_OPEN:
        return key_on_curve(ctx, &tx->body.channel_open.relay, "bad-tx-relay-key", res) &&
               check_expiry(ctx, tx->body.channel_open.expiry, res);
    case BWC_TX_CONTENT_REGISTER:
        found = content_exists(v, &tx->body.content_register.content_id, res);
        if (found < 0)
            return 0;
        return found ? bwc_fail(res, BWC_RESULT_INVALID, "bad-tx-content-exists") : 1;
    case BWC_TX_RELAY_ANNOUNCE:
        return 1;
    case BWC_TX_RELAY_RETIRE:
        found = relay_exists(v, &tx->from, res);
        if (found < 0)
            return 0;
        return found ? 1 : bwc_fail(res, BWC_RESULT_INVALID, "bad-tx-no-relay");
    case BWC_TX_SPONSOR:
        found = content_exists(v, &tx->body.sponsor.content_id, res);
        if (found < 0)
            return 0;
        if (!found)
            return bwc_fail(res, BWC_RESULT_INVALID, "bad-tx-unknown-content");
        if (!check_expiry(ctx, tx->body.sponsor.expiry, res))
            return 0;
        if (tx->body.sponsor.has_ticket_key)
            return key_on_curve(ctx, &tx->body.sponsor.ticket_key, "bad-tx-ticket-key", res);
        return 1;
    default:
        return bwc_fail(res, BWC_RESULT_MALFORMED, "bad-tx-type");
    }
}

static int open_channel(const bwc_state_view *v, const bwc_block_ctx *ctx, const bwc_tx *tx,
                        const bwc_hash *txid, bwc_result *res)
{
    const bwc_tx_channel_open *b = &tx->body.channel_open;
    bwc_channel c;
    state_key k;
    memset(&c, 0, sizeof c);
    c.consumer = tx->from;
    c.relay = b->relay;
    c.deposit = b->deposit;
    c.price = b->price;
    c.expiry = b->expiry;
    c.opened = ctx->height;
    key_id(&k, BWC_STATE_CHANNEL, txid->b);
    /* check_body has shown that the sum fits. */
    return store(v, &k, &CHANNEL, &c, res) &&
           add_closing(v, b->expiry + ctx->params->settle_window, BWC_STATE_CHANNEL, txid, res);
}

static int register_content(const bwc_state_view *v, const bwc_block_ctx *ctx, const bwc_tx *tx,
                            bwc_result *res)
{
    const bwc_tx_content_register *b = &tx->body.content_register;
    bwc_content c;
    state_key k;
    memset(&c, 0, sizeof c);
    c.publisher = tx->from;
    c.size = b->size;
    c.chunk_size = b->chunk_size;
    memcpy(c.name, b->name, sizeof c.name);
    c.name_len = b->name_len;
    memcpy(c.origin, b->origin, sizeof c.origin);
    c.origin_len = b->origin_len;
    memcpy(c.mime, b->mime, sizeof c.mime);
    c.mime_len = b->mime_len;
    c.registered = ctx->height;
    key_id(&k, BWC_STATE_CONTENT, b->content_id.b);
    return store(v, &k, &CONTENT, &c, res);
}

static int announce_relay(const bwc_state_view *v, const bwc_block_ctx *ctx, const bwc_tx *tx,
                          bwc_result *res)
{
    bwc_relay r;
    state_key k;
    memset(&r, 0, sizeof r);
    r.ann = tx->body.relay_announce;
    r.announced = ctx->height;
    key_id(&k, BWC_STATE_RELAY, tx->from.b);
    return store(v, &k, &RELAY, &r, res);
}

static int open_pool(const bwc_state_view *v, const bwc_block_ctx *ctx, const bwc_tx *tx,
                     const bwc_hash *txid, bwc_result *res)
{
    const bwc_tx_sponsor *b = &tx->body.sponsor;
    bwc_pool p;
    state_key k;
    memset(&p, 0, sizeof p);
    p.sponsor = tx->from;
    p.content_id = b->content_id;
    p.amount = b->amount;
    p.balance = b->amount;
    p.price = b->price;
    p.per_consumer_cap = b->per_consumer_cap;
    p.expiry = b->expiry;
    p.has_ticket_key = b->has_ticket_key;
    if (b->has_ticket_key)
        p.ticket_key = b->ticket_key;
    p.opened = ctx->height;
    key_id(&k, BWC_STATE_POOL, txid->b);
    /* check_body has shown that the sum fits. */
    return store(v, &k, &POOL, &p, res) &&
           add_closing(v, b->expiry + ctx->params->settle_window, BWC_STATE_POOL, txid, res);
}

/* The body's effects beyond the sender's balance and nonce. */
static int apply_body(const bwc_state_view *v, const bwc_block_ctx *ctx, const bwc_tx *tx,
                      const bwc_hash *txid, bwc_result *res)
{
    state_key k;
    switch (tx->type) {
    case BWC_TX_TRANSFER:
        /* Read after the sender's debit was stored, so a transfer to self nets to -fee. */
        return credit(v, &tx->body.transfer.to, tx->body.transfer.amount, "bad-tx-overflow", res);
    case BWC_TX_CHANNEL_OPEN:
        return open_channel(v, ctx, tx, txid, res);
    case BWC_TX_CONTENT_REGISTER:
        return register_content(v, ctx, tx, res);
    case BWC_TX_RELAY_ANNOUNCE:
        return announce_relay(v, ctx, tx, res);
    case BWC_TX_RELAY_RETIRE:
        key_id(&k, BWC_STATE_RELAY, tx->from.b);
        return erase(v, &k, res);
    case BWC_TX_SPONSOR:
        return open_pool(v, ctx, tx, txid, res);
    default:
        return bwc_fail(res, BWC_RESULT_MALFORMED, "bad-tx-type");
    }
}

/* The order of the checks, so that the reject string of a transaction breaking several rules
 * is predictable (§5 rule 2):
 *   1. bad-tx-sig    (the signature: inline, or handed to ctx->sigs)
 *   2. bad-tx-fee    (needs no state, so it is checked before the first read)
 *   3. bad-tx-nonce
 *   4. the body rules, by type:
 *        transfer          bad-tx-to-key
 *        channel_open      bad-tx-relay-key, bad-tx-expiry
 *        content_register  bad-tx-content-exists
 *        relay_retire      bad-tx-no-relay
 *        sponsor           bad-tx-unknown-content, bad-tx-expiry, bad-tx-ticket-key
 *   5. bad-tx-insufficient-funds (also when amount + fee does not fit 64 bits: no balance
 *      could pay it)
 *   6. the effects, any of which may fail with bad-tx-overflow: the fee total of the block,
 *      the sender's nonce, the recipient's balance, the count of closings at one height.
 * A type the decoder would refuse is MALFORMED bad-tx-type, and a failing view is ERROR
 * state-storage or state-corrupt, at whichever step first reads. ctx changes only on
 * success. */
int bwc_state_apply_tx(const bwc_state_view *v, bwc_block_ctx *ctx, const bwc_tx *tx,
                       const bwc_hash *txid, bwc_result *res)
{
    bwc_account from;
    uint64_t spend, fees;
    if (!bwc_tx_type_name(tx->type))
        return bwc_fail(res, BWC_RESULT_MALFORMED, "bad-tx-type");
    if (!check_sig(ctx, &tx->from, txid, &tx->sig, "bad-tx-sig", res))
        return 0;
    if (tx->fee < ctx->params->min_fee)
        return bwc_fail(res, BWC_RESULT_INVALID, "bad-tx-fee");
    if (load_account(v, &tx->from, &from, res) < 0)
        return 0;
    if (tx->nonce != from.nonce)
        return bwc_fail(res, BWC_RESULT_INVALID, "bad-tx-nonce");
    if (!check_body(v, ctx, tx, res))
        return 0;
    if (!bwc_amount_add(&spend, tx->fee, bwc_tx_spend(tx)) || from.balance < spend)
        return bwc_fail(res, BWC_RESULT_INVALID, "bad-tx-insufficient-funds");
    if (!bwc_amount_add(&fees, ctx->fees, tx->fee) || from.nonce == UINT64_MAX)
        return bwc_fail(res, BWC_RESULT_INVALID, "bad-tx-overflow");
    from.balance -= spend;
    from.nonce++;
    if (!store_account(v, &tx->from, &from, res) || !apply_body(v, ctx, tx, txid, res))
        return 0;
    ctx->fees = fees;
    bwc_result_ok(res);
    return 1;
}

/* --- Receipts. --- */

/* What a receipt is measured against: its channel's, or its lane's, progress so far. */
typedef struct {
    uint64_t seq;
    uint64_t bytes;
    uint64_t claimed;
} progress;

/* The rules a channel receipt and a pool receipt share (§5 rule 3, §5.1), in this order:
 * seq, bytes, deposit (channels only: deposit NULL for a lane), price, amount. */
static int check_progress(const bwc_block_ctx *ctx, const bwc_receipt *r, const progress *was,
                          const uint64_t *deposit, uint64_t price, bwc_result *res)
{
    uint64_t ceiling, floor;
    if (r->seq <= was->seq)
        return bwc_fail(res, BWC_RESULT_INVALID, "bad-receipt-seq");
    if (r->bytes < was->bytes)
        return bwc_fail(res, BWC_RESULT_INVALID, "bad-receipt-bytes");
    if (deposit && r->amount > *deposit)
        return bwc_fail(res, BWC_RESULT_INVALID, "bad-receipt-over-deposit");
    /* A ceiling past 2^64 - 1 bounds nothing an amount can reach. */
    if (bwc_receipt_max_amount(r->bytes, price, &ceiling) && r->amount > ceiling)
        return bwc_fail(res, BWC_RESULT_INVALID, "bad-receipt-over-price");
    if (!bwc_amount_add(&floor, was->claimed, ctx->params->receipt_fee) || r->amount < floor)
        return bwc_fail(res, BWC_RESULT_INVALID, "bad-receipt-amount");
    return 1;
}

/* relay_sig (when present; bwc_state_apply_receipt has required it in a block) by relay, then
 * consumer_sig by consumer, both over the receipt id. */
static int check_receipt_sigs(const bwc_block_ctx *ctx, const bwc_receipt *r, const bwc_hash *rid,
                              const bwc_pubkey *relay, const bwc_pubkey *consumer, bwc_result *res)
{
    if (r->has_relay_sig &&
        !check_sig(ctx, relay, rid, &r->relay_sig, "bad-receipt-relay-sig", res))
        return 0;
    return check_sig(ctx, consumer, rid, &r->consumer_sig, "bad-receipt-consumer-sig", res);
}

/* The effects on accounts (§5 rule 3): the relay earns the new amount less receipt_fee (the
 * amount rule guarantees delta >= receipt_fee), and both sides count the new bytes. The relay
 * is read and written before the consumer, so a relay paying itself is counted on both sides
 * of one account. */
static int settle(const bwc_state_view *v, const bwc_block_ctx *ctx, const bwc_pubkey *relay,
                  const bwc_pubkey *consumer, uint64_t delta, uint64_t new_bytes, bwc_result *res)
{
    bwc_account a;
    if (load_account(v, relay, &a, res) < 0)
        return 0;
    if (!bwc_amount_add(&a.balance, a.balance, delta - ctx->params->receipt_fee) ||
        !bwc_amount_add(&a.bytes_served, a.bytes_served, new_bytes))
        return bwc_fail(res, BWC_RESULT_INVALID, "bad-receipt-overflow");
    if (!store_account(v, relay, &a, res) || load_account(v, consumer, &a, res) < 0)
        return 0;
    if (!bwc_amount_add(&a.bytes_consumed, a.bytes_consumed, new_bytes))
        return bwc_fail(res, BWC_RESULT_INVALID, "bad-receipt-overflow");
    return store_account(v, consumer, &a, res);
}

/* The block's receipt fee total with this receipt's added, into *fees: ctx itself is updated
 * only once the whole receipt has been applied. */
static int add_receipt_fee(const bwc_block_ctx *ctx, uint64_t *fees, bwc_result *res)
{
    if (!bwc_amount_add(fees, ctx->receipt_fees, ctx->params->receipt_fee))
        return bwc_fail(res, BWC_RESULT_INVALID, "bad-receipt-overflow");
    return 1;
}

/* Order: unknown-channel, closed, ticket-unexpected (a channel has no ticket_key; only a
 * hand-built receipt gets here), seq, bytes, over-deposit, over-price, amount, relay-sig,
 * consumer-sig, then the effects (overflow). */
static int apply_channel_receipt(const bwc_state_view *v, bwc_block_ctx *ctx, const bwc_receipt *r,
                                 const bwc_hash *rid, bwc_result *res)
{
    bwc_channel c;
    state_key k;
    uint64_t fees;
    key_id(&k, BWC_STATE_CHANNEL, r->channel.b);
    int found = load(v, &k, &CHANNEL, &c, res);
    if (found < 0)
        return 0;
    if (!found)
        return bwc_fail(res, BWC_RESULT_INVALID, "bad-receipt-unknown-channel");
    if (c.closed != 0 || past_settle_window(ctx, c.expiry))
        return bwc_fail(res, BWC_RESULT_INVALID, "bad-receipt-closed");
    if (r->has_ticket)
        return bwc_fail(res, BWC_RESULT_INVALID, "bad-receipt-ticket-unexpected");
    progress was = {c.seq, c.bytes, c.claimed};
    if (!check_progress(ctx, r, &was, &c.deposit, c.price, res) ||
        !check_receipt_sigs(ctx, r, rid, &c.relay, &c.consumer, res) ||
        !add_receipt_fee(ctx, &fees, res) ||
        !settle(v, ctx, &c.relay, &c.consumer, r->amount - c.claimed, r->bytes - c.bytes, res))
        return 0;
    c.claimed = r->amount;
    c.seq = r->seq;
    c.bytes = r->bytes;
    c.digest = r->digest;
    if (!store(v, &k, &CHANNEL, &c, res))
        return 0;
    ctx->receipt_fees = fees;
    return 1;
}

/* The ticket rules of §3.3: present exactly when the pool has a ticket_key, and then that
 * key's signature over TH("bwc/ticket", chain_id || pool || consumer). */
static int check_ticket(const bwc_block_ctx *ctx, const bwc_pool *p, const bwc_receipt *r,
                        bwc_result *res)
{
    bwc_hash msg;
    if (p->has_ticket_key && !r->has_ticket)
        return bwc_fail(res, BWC_RESULT_INVALID, "bad-receipt-ticket-missing");
    if (!p->has_ticket_key && r->has_ticket)
        return bwc_fail(res, BWC_RESULT_INVALID, "bad-receipt-ticket-unexpected");
    if (!p->has_ticket_key)
        return 1;
    bwc_ticket_msg(ctx->chain_id, &r->channel, &r->consumer, &msg);
    return check_sig(ctx, &p->ticket_key, &msg, &r->ticket, "bad-receipt-ticket", res);
}

/* The pool-side effects of §5.1 once the accounts are settled. */
static int draw_pool(const bwc_state_view *v, const bwc_receipt *r, bwc_pool *p,
                     uint64_t claimed_total, uint64_t delta, bwc_result *res)
{
    state_key k;
    bwc_lane lane = {r->seq, r->bytes, r->amount, r->digest};
    p->balance -= delta;
    key_id(&k, BWC_STATE_POOL, r->channel.b);
    if (!store(v, &k, &POOL, p, res))
        return 0;
    key_claimed(&k, &r->channel, &r->consumer);
    if (!store_uint(v, &k, claimed_total + delta, res))
        return 0;
    key_lane(&k, &r->channel, &r->consumer, &r->relay);
    return store(v, &k, &LANE, &lane, res);
}

/* Order: unknown-channel, closed, ticket-missing, ticket-unexpected, ticket, seq, bytes,
 * over-price, amount, over-cap, pool-exhausted, relay-sig, consumer-sig, then the effects
 * (overflow). The ticket goes first because it decides whether this consumer may draw on
 * the pool at all. */
static int apply_pool_receipt(const bwc_state_view *v, bwc_block_ctx *ctx, const bwc_receipt *r,
                              const bwc_hash *rid, bwc_result *res)
{
    bwc_pool p;
    bwc_lane lane;
    uint64_t total, fees;
    state_key k;
    key_id(&k, BWC_STATE_POOL, r->channel.b);
    int found = load(v, &k, &POOL, &p, res);
    if (found < 0)
        return 0;
    if (!found)
        return bwc_fail(res, BWC_RESULT_INVALID, "bad-receipt-unknown-channel");
    if (p.closed != 0 || past_settle_window(ctx, p.expiry))
        return bwc_fail(res, BWC_RESULT_INVALID, "bad-receipt-closed");
    if (!check_ticket(ctx, &p, r, res))
        return 0;
    key_lane(&k, &r->channel, &r->consumer, &r->relay);
    if (load(v, &k, &LANE, &lane, res) < 0)
        return 0;
    progress was = {lane.seq, lane.bytes, lane.claimed};
    if (!check_progress(ctx, r, &was, NULL, p.price, res))
        return 0;
    key_claimed(&k, &r->channel, &r->consumer);
    if (load_uint(v, &k, &total, res) < 0)
        return 0;
    uint64_t delta = r->amount - lane.claimed;
    if (total > p.per_consumer_cap || delta > p.per_consumer_cap - total)
        return bwc_fail(res, BWC_RESULT_INVALID, "bad-receipt-over-cap");
    if (delta > p.balance)
        return bwc_fail(res, BWC_RESULT_INVALID, "bad-receipt-pool-exhausted");
    if (!check_receipt_sigs(ctx, r, rid, &r->relay, &r->consumer, res) ||
        !add_receipt_fee(ctx, &fees, res) ||
        !settle(v, ctx, &r->relay, &r->consumer, delta, r->bytes - lane.bytes, res) ||
        !draw_pool(v, r, &p, total, delta, res))
        return 0;
    ctx->receipt_fees = fees;
    return 1;
}

int bwc_state_apply_receipt(const bwc_state_view *v, bwc_block_ctx *ctx, const bwc_receipt *r,
                            const bwc_hash *rid, int require_relay_sig, bwc_result *res)
{
    if (require_relay_sig && !r->has_relay_sig)
        return bwc_fail(res, BWC_RESULT_INVALID, "bad-receipt-relay-sig-missing");
    if (!(r->is_pool ? apply_pool_receipt(v, ctx, r, rid, res)
                     : apply_channel_receipt(v, ctx, r, rid, res)))
        return 0;
    bwc_result_ok(res);
    return 1;
}

/* --- A relay's view of a receipt. --- */

int bwc_receipt_check_offchain(const bwc_state_view *v, const bwc_params *params,
                               const bwc_hash *chain_id, const secp256k1_context *secp,
                               uint64_t height, const bwc_pubkey *relay, const bwc_receipt *r,
                               const bwc_hash *rid, bwc_receipt_terms *terms, bwc_result *res)
{
    bwc_block_ctx ctx;
    bwc_pubkey none;
    uint64_t ceiling;
    state_key k;
    memset(&none, 0, sizeof none);
    memset(terms, 0, sizeof *terms);
    bwc_state_begin_block(&ctx, params, chain_id, secp, NULL, height, &none);
    key_id(&k, r->is_pool ? BWC_STATE_POOL : BWC_STATE_CHANNEL, r->channel.b);
    if (!r->is_pool) {
        bwc_channel c;
        int found = load(v, &k, &CHANNEL, &c, res);
        if (found < 0)
            return 0;
        if (!found)
            return bwc_fail(res, BWC_RESULT_INVALID, "bad-receipt-unknown-channel");
        if (c.closed != 0 || past_settle_window(&ctx, c.expiry))
            return bwc_fail(res, BWC_RESULT_INVALID, "bad-receipt-closed");
        if (memcmp(&c.relay, relay, 32) != 0)
            return bwc_fail(res, BWC_RESULT_INVALID, "bad-receipt-wrong-relay");
        if (r->has_ticket)
            return bwc_fail(res, BWC_RESULT_INVALID, "bad-receipt-ticket-unexpected");
        if (r->amount > c.deposit)
            return bwc_fail(res, BWC_RESULT_INVALID, "bad-receipt-over-deposit");
        terms->price = c.price;
        terms->limit = c.deposit;
        terms->expiry = c.expiry;
        terms->claimed = c.claimed;
        terms->seq = c.seq;
        terms->consumer = c.consumer;
    } else {
        bwc_pool p;
        int found = load(v, &k, &POOL, &p, res);
        if (found < 0)
            return 0;
        if (!found)
            return bwc_fail(res, BWC_RESULT_INVALID, "bad-receipt-unknown-channel");
        if (p.closed != 0 || past_settle_window(&ctx, p.expiry))
            return bwc_fail(res, BWC_RESULT_INVALID, "bad-receipt-closed");
        if (memcmp(&r->relay, relay, 32) != 0)
            return bwc_fail(res, BWC_RESULT_INVALID, "bad-receipt-wrong-relay");
        if (!check_ticket(&ctx, &p, r, res))
            return 0;
        bwc_lane lane;
        uint64_t total;
        key_lane(&k, &r->channel, &r->consumer, &r->relay);
        if (load(v, &k, &LANE, &lane, res) < 0)
            return 0;
        key_claimed(&k, &r->channel, &r->consumer);
        if (load_uint(v, &k, &total, res) < 0)
            return 0;
        /* What this consumer drew through other relays is already spent from its cap. */
        uint64_t room = total - lane.claimed <= p.per_consumer_cap
                            ? p.per_consumer_cap - (total - lane.claimed)
                            : 0;
        if (r->amount > room)
            return bwc_fail(res, BWC_RESULT_INVALID, "bad-receipt-over-cap");
        terms->price = p.price;
        terms->limit = room;
        terms->expiry = p.expiry;
        terms->claimed = lane.claimed;
        terms->seq = lane.seq;
        terms->consumer = r->consumer;
    }
    if (bwc_receipt_max_amount(r->bytes, terms->price, &ceiling) && r->amount > ceiling)
        return bwc_fail(res, BWC_RESULT_INVALID, "bad-receipt-over-price");
    if (!check_sig(&ctx, &terms->consumer, rid, &r->consumer_sig, "bad-receipt-consumer-sig", res))
        return 0;
    bwc_result_ok(res);
    return 1;
}

/* --- End of block. --- */

static int refund_channel(const bwc_state_view *v, const bwc_block_ctx *ctx, const bwc_hash *id,
                          bwc_result *res)
{
    bwc_channel c;
    state_key k;
    key_id(&k, BWC_STATE_CHANNEL, id->b);
    /* A closing entry names a channel that exists, is open and never paid out more than its
     * deposit; anything else was not written by this module. */
    int found = load(v, &k, &CHANNEL, &c, res);
    if (found < 0)
        return 0;
    if (!found || c.closed != 0 || c.claimed > c.deposit)
        return bwc_fail(res, BWC_RESULT_ERROR, "state-corrupt");
    if (!credit(v, &c.consumer, c.deposit - c.claimed, "bad-block-overflow", res))
        return 0;
    c.closed = ctx->height;
    return store(v, &k, &CHANNEL, &c, res);
}

static int refund_pool(const bwc_state_view *v, const bwc_block_ctx *ctx, const bwc_hash *id,
                       bwc_result *res)
{
    bwc_pool p;
    state_key k;
    key_id(&k, BWC_STATE_POOL, id->b);
    int found = load(v, &k, &POOL, &p, res);
    if (found < 0)
        return 0;
    if (!found || p.closed != 0)
        return bwc_fail(res, BWC_RESULT_ERROR, "state-corrupt");
    if (!credit(v, &p.sponsor, p.balance, "bad-block-overflow", res))
        return 0;
    p.balance = 0;
    p.closed = ctx->height;
    return store(v, &k, &POOL, &p, res);
}

/* Processes closing index i due at ctx->height and deletes its entry. */
static int run_closing(const bwc_state_view *v, const bwc_block_ctx *ctx, uint32_t i,
                       bwc_result *res)
{
    state_key k;
    bwc_buf b = BWC_BUF_INIT;
    bwc_hash id;
    unsigned char kind = 0;
    key_due_entry(&k, ctx->height, i);
    int got = fetch(v, &k, &b, res);
    if (got == 1 && b.len == CLOSING_BYTES) {
        kind = b.data[0];
        memcpy(id.b, b.data + 1, BWC_HASH_SIZE);
    }
    bwc_buf_free(&b);
    if (got < 0)
        return 0;
    if (kind != BWC_STATE_CHANNEL && kind != BWC_STATE_POOL)
        return bwc_fail(res, BWC_RESULT_ERROR, "state-corrupt");
    if (!erase(v, &k, res))
        return 0;
    return kind == BWC_STATE_CHANNEL ? refund_channel(v, ctx, &id, res)
                                     : refund_pool(v, ctx, &id, res);
}

/* §5 rule 5: refunds every channel and pool whose settle window ends with this block, in the
 * order they were opened, then deletes the count. */
static int run_closings(const bwc_state_view *v, const bwc_block_ctx *ctx, bwc_result *res)
{
    state_key k;
    uint64_t count;
    key_due_count(&k, ctx->height);
    if (load_uint(v, &k, &count, res) < 0)
        return 0;
    if (count > (uint64_t)UINT32_MAX + 1)
        return bwc_fail(res, BWC_RESULT_ERROR, "state-corrupt");
    for (uint64_t i = 0; i < count; i++)
        if (!run_closing(v, ctx, (uint32_t)i, res))
            return 0;
    return count == 0 || erase(v, &k, res);
}

/* Order: bad-block-producer, then paying the producer (bad-block-overflow), then the
 * closings (bad-block-overflow for a refund that would overflow its recipient). */
int bwc_state_end_block(const bwc_state_view *v, bwc_block_ctx *ctx, bwc_result *res)
{
    uint64_t subsidy = bwc_subsidy(ctx->params, ctx->height), pay;
    if (!key_on_curve(ctx, &ctx->producer, "bad-block-producer", res))
        return 0;
    if (!bwc_amount_add(&pay, subsidy, ctx->fees) || !bwc_amount_add(&pay, pay, ctx->receipt_fees))
        return bwc_fail(res, BWC_RESULT_INVALID, "bad-block-overflow");
    if (!credit(v, &ctx->producer, pay, "bad-block-overflow", res) || !run_closings(v, ctx, res))
        return 0;
    ctx->subsidy = subsidy;
    bwc_result_ok(res);
    return 1;
}
