/* rpc_ledger.c: RPC methods over the ledger state: accounts, history, channels, content,
 * relays, pools and addresses. */
#include <string.h>

#include "common/hex.h"
#include "common/objjson.h"
#include "consensus/bech32m.h"
#include "consensus/key.h"
#include "node/node.h"

#define LIST_MAX 10000

static json_t *state_error(bwc_rpc_error *err)
{
    return bwc_rpc_fail(err, RPC_DATABASE_ERROR, "cannot read the state");
}

/* Maps a state reader's 1 / 0 / -1 to 0, or -1 with err: "No such <what>" or a database
 * error. */
static int found(int rc, const char *what, bwc_rpc_error *err)
{
    if (rc < 0)
        state_error(err);
    else if (rc == 0)
        bwc_rpc_fail(err, RPC_INVALID_ADDRESS_OR_KEY, "No such %s", what);
    return rc == 1 ? 0 : -1;
}

static json_t *account_json(bwc_node *n, const bwc_pubkey *who, const bwc_account *a)
{
    json_t *o = json_object();
    json_object_set_new(o, "address", bwc_rpc_address(n, who));
    json_object_set_new(o, "balance", bwc_json_u64(a->balance));
    json_object_set_new(o, "nonce", bwc_json_u64(a->nonce));
    json_object_set_new(o, "bytes_served", bwc_json_u64(a->bytes_served));
    json_object_set_new(o, "bytes_consumed", bwc_json_u64(a->bytes_consumed));
    return o;
}

static json_t *getaccount(void *ctx, json_t *params, bwc_rpc_error *err)
{
    bwc_node *n = ctx;
    bwc_pubkey who;
    if (bwc_rpc_param_address(n, params, 0, &who, err) != 0)
        return NULL;
    bwc_state_view v = bwc_chain_view(&n->chain);
    bwc_account a;
    if (bwc_state_account(&v, &who, &a) < 0)
        return state_error(err);
    json_t *o = account_json(n, &who, &a);
    bwc_relay r;
    json_object_set_new(o, "relay", json_boolean(bwc_state_relay(&v, &who, &r) == 1));
    return o;
}

static json_t *getbalance(void *ctx, json_t *params, bwc_rpc_error *err)
{
    bwc_node *n = ctx;
    bwc_pubkey who;
    if (bwc_rpc_param_address(n, params, 0, &who, err) != 0)
        return NULL;
    bwc_state_view v = bwc_chain_view(&n->chain);
    bwc_account a;
    if (bwc_state_account(&v, &who, &a) < 0)
        return state_error(err);
    return bwc_json_u64(a.balance);
}

/* ---- history ---- */

typedef struct {
    bwc_node *n;
    const bwc_pubkey *who;
    int64_t skip, count;
    json_t *out;
    bwc_hash cached_id; /* the block last read, since one block often holds several */
    bwc_block cached;
    int have_cached;
    int failed;
} history;

static const bwc_tx *history_tx(history *h, uint64_t height, uint32_t i, const bwc_index **blk)
{
    *blk = bwc_chain_at(&h->n->chain, height);
    if (!*blk)
        return NULL;
    if (!h->have_cached || memcmp(&h->cached_id, &(*blk)->id, 32) != 0) {
        if (h->have_cached)
            bwc_block_free(&h->cached);
        h->have_cached = 0;
        if (bwc_chain_read_block(&h->n->chain, &(*blk)->id, NULL, &h->cached) != 0) {
            h->failed = 1;
            return NULL;
        }
        h->cached_id = (*blk)->id;
        h->have_cached = 1;
    }
    return i < h->cached.n_txs ? &h->cached.txs[i] : NULL;
}

static int history_entry(void *ctx, const unsigned char *key, size_t klen,
                         const unsigned char *val, size_t vlen)
{
    history *h = ctx;
    if (klen != 45 || vlen != 32)
        return 0;
    uint64_t height = bwc_get_u64be(key + 33);
    /* Entries above the tip belong to no block of the best chain (never the case after a
     * clean disconnect, which removes them; kept as a guard). */
    if (height > bwc_chain_height(&h->n->chain))
        return 0;
    if (h->skip > 0) {
        h->skip--;
        return 0;
    }
    const bwc_index *blk;
    const bwc_tx *tx = history_tx(h, height, bwc_get_u32be(key + 41), &blk);
    if (!tx)
        return h->failed ? -1 : 0;
    bwc_hash txid;
    memcpy(txid.b, val, 32);
    json_array_append_new(h->out, bwc_rpc_tx_entry(h->n, tx, &txid, blk, h->who));
    return --h->count == 0 ? 1 : 0;
}

static json_t *listtransactions(void *ctx, json_t *params, bwc_rpc_error *err)
{
    bwc_node *n = ctx;
    bwc_pubkey who;
    history h = {.n = n, .who = &who};
    if (bwc_rpc_param_address(n, params, 0, &who, err) != 0 ||
        bwc_rpc_param_int(params, 1, "count", 10, 1, LIST_MAX, &h.count, err) != 0 ||
        bwc_rpc_param_int(params, 2, "skip", 0, 0, INT64_MAX, &h.skip, err) != 0)
        return NULL;
    unsigned char prefix[33] = {BWC_K_ADDR};
    memcpy(prefix + 1, who.b, 32);
    h.out = json_array();
    int rc = bwc_store_scan(n->store, prefix, sizeof prefix, 1, history_entry, &h);
    if (h.have_cached)
        bwc_block_free(&h.cached);
    if (rc < 0) {
        json_decref(h.out);
        return state_error(err);
    }
    return h.out;
}

static int touches(const bwc_tx *tx, const bwc_pubkey *who)
{
    if (memcmp(&tx->from, who, 32) == 0)
        return 1;
    if (tx->type == BWC_TX_TRANSFER)
        return memcmp(&tx->body.transfer.to, who, 32) == 0;
    if (tx->type == BWC_TX_CHANNEL_OPEN)
        return memcmp(&tx->body.channel_open.relay, who, 32) == 0;
    return 0;
}

/* Blocks listed by listsinceblock at most (the caller pages with lastblock). It also stops
 * after the block that brings the list to LIST_MAX transactions: blocks are listed whole, and
 * lastblock is the last block fully listed, so the next call starts where this one ended. */
#define SINCEBLOCK_MAX_BLOCKS 10000

static json_t *listsinceblock(void *ctx, json_t *params, bwc_rpc_error *err)
{
    bwc_node *n = ctx;
    uint64_t from = 1;
    if (!bwc_rpc_param_absent(params, 0)) {
        bwc_hash id;
        if (bwc_rpc_param_hash(params, 0, "blockhash", &id, err) != 0)
            return NULL;
        const bwc_index *x = bwc_chain_find(&n->chain, &id);
        if (!x)
            return bwc_rpc_fail(err, RPC_INVALID_ADDRESS_OR_KEY, "Block not found");
        /* A block of a losing branch: list from where the branch left the best chain. */
        while (!bwc_chain_contains(&n->chain, x))
            x = x->prev;
        from = x->height + 1;
    }
    bwc_pubkey who;
    int filter = !bwc_rpc_param_absent(params, 1);
    if (filter && bwc_rpc_param_address(n, params, 1, &who, err) != 0)
        return NULL;
    uint64_t tip = bwc_chain_height(&n->chain);
    uint64_t to = tip;
    if (to >= from && to - from >= SINCEBLOCK_MAX_BLOCKS)
        to = from + SINCEBLOCK_MAX_BLOCKS - 1;
    json_t *txs = json_array();
    for (uint64_t h = from; h <= to; h++) {
        const bwc_index *blk = bwc_chain_at(&n->chain, h);
        if (blk->n_txs == 0)
            continue;
        bwc_block b;
        if (bwc_chain_read_block(&n->chain, &blk->id, NULL, &b) != 0) {
            json_decref(txs);
            return state_error(err);
        }
        for (size_t i = 0; i < b.n_txs; i++) {
            if (filter && !touches(&b.txs[i], &who))
                continue;
            bwc_hash txid;
            bwc_tx_id(&n->chain.chain_id, &b.txs[i], &txid);
            json_array_append_new(txs,
                                  bwc_rpc_tx_entry(n, &b.txs[i], &txid, blk, filter ? &who : NULL));
        }
        bwc_block_free(&b);
        if (json_array_size(txs) >= LIST_MAX) {
            to = h;
            break;
        }
    }
    json_t *o = json_object();
    json_object_set_new(o, "transactions", txs);
    json_object_set_new(o, "lastblock", bwc_json_hex(bwc_chain_at(&n->chain, to)->id.b, 32));
    return o;
}

/* ---- channels, pools ---- */

static const char *lifecycle(bwc_node *n, uint64_t expiry, uint64_t closed)
{
    if (closed)
        return "closed";
    return bwc_chain_height(&n->chain) < expiry ? "open" : "settling";
}

/* The lifecycle fields channels and pools share: settle_until, opened, closed and state. */
static void set_lifecycle(bwc_node *n, json_t *o, uint64_t expiry, uint64_t opened,
                          uint64_t closed)
{
    json_object_set_new(o, "settle_until", bwc_json_u64(expiry + n->params->settle_window));
    json_object_set_new(o, "opened", bwc_json_u64(opened));
    json_object_set_new(o, "closed", bwc_json_u64(closed));
    json_object_set_new(o, "state", json_string(lifecycle(n, expiry, closed)));
}

static json_t *channel_json(bwc_node *n, const bwc_hash *id, const bwc_channel *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "channel_id", bwc_json_hex(id->b, 32));
    json_object_set_new(o, "consumer", bwc_rpc_address(n, &c->consumer));
    json_object_set_new(o, "relay", bwc_rpc_address(n, &c->relay));
    json_object_set_new(o, "deposit", bwc_json_u64(c->deposit));
    json_object_set_new(o, "price", bwc_json_u64(c->price));
    json_object_set_new(o, "expiry", bwc_json_u64(c->expiry));
    set_lifecycle(n, o, c->expiry, c->opened, c->closed);
    json_object_set_new(o, "claimed", bwc_json_u64(c->claimed));
    json_object_set_new(o, "seq", bwc_json_u64(c->seq));
    json_object_set_new(o, "bytes", bwc_json_u64(c->bytes));
    json_object_set_new(o, "digest", bwc_json_hex(c->digest.b, 32));
    return o;
}

static json_t *getchannel(void *ctx, json_t *params, bwc_rpc_error *err)
{
    bwc_node *n = ctx;
    bwc_hash id;
    if (bwc_rpc_param_hash(params, 0, "channel_id", &id, err) != 0)
        return NULL;
    bwc_state_view v = bwc_chain_view(&n->chain);
    bwc_channel c;
    if (found(bwc_state_channel(&v, &id, &c), "channel", err) != 0)
        return NULL;
    return channel_json(n, &id, &c);
}

/* A scan over one record kind, filtered, into a JSON array. */
typedef struct {
    bwc_node *n;
    int filter;
    bwc_pubkey who;
    char region[3];
    json_t *out;
} scan;

static int channel_entry(void *ctx, const unsigned char *key, size_t klen,
                         const unsigned char *val, size_t vlen)
{
    scan *s = ctx;
    bwc_channel c;
    if (klen != 33 || !bwc_channel_decode(&c, val, vlen))
        return -1;
    if (s->filter && memcmp(&c.consumer, &s->who, 32) != 0 && memcmp(&c.relay, &s->who, 32) != 0)
        return 0;
    bwc_hash id;
    memcpy(id.b, key + 1, 32);
    json_array_append_new(s->out, channel_json(s->n, &id, &c));
    return json_array_size(s->out) >= LIST_MAX;
}

static json_t *run_scan(scan *s, char prefix, bwc_store_iter_fn fn, bwc_rpc_error *err)
{
    unsigned char p = (unsigned char)prefix;
    s->out = json_array();
    if (bwc_store_scan(s->n->store, &p, 1, 0, fn, s) < 0) {
        json_decref(s->out);
        return state_error(err);
    }
    return s->out;
}

static json_t *listchannels(void *ctx, json_t *params, bwc_rpc_error *err)
{
    bwc_node *n = ctx;
    scan s = {.n = n, .filter = !bwc_rpc_param_absent(params, 0)};
    if (s.filter && bwc_rpc_param_address(n, params, 0, &s.who, err) != 0)
        return NULL;
    return run_scan(&s, BWC_STATE_CHANNEL, channel_entry, err);
}

static json_t *pool_json(bwc_node *n, const bwc_hash *id, const bwc_pool *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "pool_id", bwc_json_hex(id->b, 32));
    json_object_set_new(o, "sponsor", bwc_rpc_address(n, &p->sponsor));
    json_object_set_new(o, "content_id", bwc_json_hex(p->content_id.b, 32));
    json_object_set_new(o, "amount", bwc_json_u64(p->amount));
    json_object_set_new(o, "balance", bwc_json_u64(p->balance));
    json_object_set_new(o, "price", bwc_json_u64(p->price));
    json_object_set_new(o, "per_consumer_cap", bwc_json_u64(p->per_consumer_cap));
    json_object_set_new(o, "expiry", bwc_json_u64(p->expiry));
    set_lifecycle(n, o, p->expiry, p->opened, p->closed);
    if (p->has_ticket_key)
        json_object_set_new(o, "ticket_key", bwc_rpc_address(n, &p->ticket_key));
    return o;
}

static json_t *getpool(void *ctx, json_t *params, bwc_rpc_error *err)
{
    bwc_node *n = ctx;
    bwc_hash id;
    if (bwc_rpc_param_hash(params, 0, "pool_id", &id, err) != 0)
        return NULL;
    bwc_state_view v = bwc_chain_view(&n->chain);
    bwc_pool p;
    if (found(bwc_state_pool(&v, &id, &p), "pool", err) != 0)
        return NULL;
    json_t *o = pool_json(n, &id, &p);
    if (!bwc_rpc_param_absent(params, 1)) {
        bwc_pubkey consumer;
        uint64_t claimed;
        if (bwc_rpc_param_address(n, params, 1, &consumer, err) != 0) {
            json_decref(o);
            return NULL;
        }
        if (bwc_state_pool_claimed(&v, &id, &consumer, &claimed) < 0) {
            json_decref(o);
            return state_error(err);
        }
        json_object_set_new(o, "consumer_claimed", bwc_json_u64(claimed));
    }
    return o;
}

/* ---- content, relays ---- */

static json_t *content_json(bwc_node *n, const bwc_hash *id, const bwc_content *c)
{
    json_t *o = json_object();
    json_object_set_new(o, "content_id", bwc_json_hex(id->b, 32));
    json_object_set_new(o, "publisher", bwc_rpc_address(n, &c->publisher));
    json_object_set_new(o, "size", bwc_json_u64(c->size));
    json_object_set_new(o, "chunk_size", bwc_json_u64(c->chunk_size));
    if (c->name_len)
        json_object_set_new(o, "name", json_stringn(c->name, c->name_len));
    if (c->origin_len)
        json_object_set_new(o, "origin", json_stringn(c->origin, c->origin_len));
    if (c->mime_len)
        json_object_set_new(o, "mime", json_stringn(c->mime, c->mime_len));
    json_object_set_new(o, "registered", bwc_json_u64(c->registered));
    return o;
}

static json_t *getcontent(void *ctx, json_t *params, bwc_rpc_error *err)
{
    bwc_node *n = ctx;
    bwc_hash id;
    if (bwc_rpc_param_hash(params, 0, "content_id", &id, err) != 0)
        return NULL;
    bwc_state_view v = bwc_chain_view(&n->chain);
    bwc_content c;
    if (found(bwc_state_content(&v, &id, &c), "content", err) != 0)
        return NULL;
    return content_json(n, &id, &c);
}

static int content_entry(void *ctx, const unsigned char *key, size_t klen,
                         const unsigned char *val, size_t vlen)
{
    scan *s = ctx;
    bwc_content c;
    if (klen != 33 || !bwc_content_decode(&c, val, vlen))
        return -1;
    if (s->filter && memcmp(&c.publisher, &s->who, 32) != 0)
        return 0;
    bwc_hash id;
    memcpy(id.b, key + 1, 32);
    json_array_append_new(s->out, content_json(s->n, &id, &c));
    return json_array_size(s->out) >= LIST_MAX;
}

static json_t *listcontent(void *ctx, json_t *params, bwc_rpc_error *err)
{
    bwc_node *n = ctx;
    scan s = {.n = n, .filter = !bwc_rpc_param_absent(params, 0)};
    if (s.filter && bwc_rpc_param_address(n, params, 0, &s.who, err) != 0)
        return NULL;
    return run_scan(&s, BWC_STATE_CONTENT, content_entry, err);
}

static json_t *relay_json(bwc_node *n, const bwc_pubkey *who, const bwc_relay *r)
{
    const bwc_tx_relay_announce *a = &r->ann;
    json_t *o = json_object();
    json_object_set_new(o, "address", bwc_rpc_address(n, who));
    json_object_set_new(o, "endpoint", json_stringn(a->endpoint, a->endpoint_len));
    json_object_set_new(o, "region", json_stringn(a->region, a->region_len));
    json_object_set_new(o, "price", bwc_json_u64(a->price));
    json_object_set_new(o, "rate", bwc_json_u64(a->rate));
    json_object_set_new(o, "quota", bwc_json_u64(a->quota));
    json_object_set_new(o, "burst_quota", bwc_json_u64(a->burst_quota));
    json_object_set_new(o, "burst_hours", bwc_json_u64(a->burst_hours));
    json_object_set_new(o, "announced", bwc_json_u64(r->announced));
    return o;
}

static json_t *getrelay(void *ctx, json_t *params, bwc_rpc_error *err)
{
    bwc_node *n = ctx;
    bwc_pubkey who;
    if (bwc_rpc_param_address(n, params, 0, &who, err) != 0)
        return NULL;
    bwc_state_view v = bwc_chain_view(&n->chain);
    bwc_relay r;
    if (found(bwc_state_relay(&v, &who, &r), "relay record for this address", err) != 0)
        return NULL;
    return relay_json(n, &who, &r);
}

static int relay_entry(void *ctx, const unsigned char *key, size_t klen, const unsigned char *val,
                       size_t vlen)
{
    scan *s = ctx;
    bwc_relay r;
    if (klen != 33 || !bwc_relay_decode(&r, val, vlen))
        return -1;
    if (s->filter && memcmp(r.ann.region, s->region, 2) != 0)
        return 0;
    bwc_pubkey who;
    memcpy(who.b, key + 1, 32);
    json_array_append_new(s->out, relay_json(s->n, &who, &r));
    return json_array_size(s->out) >= LIST_MAX;
}

static json_t *listrelays(void *ctx, json_t *params, bwc_rpc_error *err)
{
    bwc_node *n = ctx;
    scan s = {.n = n, .filter = !bwc_rpc_param_absent(params, 0)};
    if (s.filter) {
        json_t *r = json_array_get(params, 0);
        const char *region = json_string_value(r);
        if (!region)
            return bwc_rpc_fail(err, RPC_TYPE_ERROR, "region must be a string");
        if (strlen(region) != 2 || region[0] < 'A' || region[0] > 'Z' || region[1] < 'A' ||
            region[1] > 'Z')
            return bwc_rpc_fail(err, RPC_INVALID_PARAMETER,
                                "region must be two capital letters (ISO 3166-1 alpha-2, ZZ "
                                "for unknown)");
        memcpy(s.region, region, 3);
    }
    return run_scan(&s, BWC_STATE_RELAY, relay_entry, err);
}

static json_t *validateaddress(void *ctx, json_t *params, bwc_rpc_error *err)
{
    bwc_node *n = ctx;
    json_t *a = json_array_get(params, 0);
    if (!json_is_string(a))
        return bwc_rpc_fail(err, RPC_TYPE_ERROR, "address must be a string");
    const char *s = json_string_value(a);
    bwc_pubkey pk;
    json_t *o = json_object();
    const char *why = NULL;
    if (!bwc_address_decode(&pk, n->params->hrp, s))
        why = "not a bech32m address of this chain (bad checksum, characters or prefix)";
    else if (!bwc_pubkey_valid(n->secp, &pk))
        why = "the key is not on the curve";
    json_object_set_new(o, "isvalid", json_boolean(why == NULL));
    if (why) {
        json_object_set_new(o, "error", json_string(why));
    } else {
        json_object_set_new(o, "address", bwc_rpc_address(n, &pk));
        json_object_set_new(o, "pubkey", bwc_json_hex(pk.b, 32));
    }
    return o;
}

void bwc_rpc_register_ledger(bwc_node *n)
{
    bwc_rpc_server *s = n->rpc;
    bwc_rpc_register(s, "getaccount", getaccount, n, "address",
                     "getaccount \"address\"\nBalance, nonce, bytes served and consumed of an "
                     "account, and whether it has a relay record.");
    bwc_rpc_register(s, "getbalance", getbalance, n, "address",
                     "getbalance \"address\"\nThe balance in units (1 BWC = 100000000).");
    bwc_rpc_register(s, "listtransactions", listtransactions, n, "address,count,skip",
                     "listtransactions \"address\" ( count skip )\nThe address's confirmed "
                     "transactions, newest first (default count 10).");
    bwc_rpc_register(s, "listsinceblock", listsinceblock, n, "blockhash,address",
                     "listsinceblock ( \"blockhash\" \"address\" )\nConfirmed transactions in "
                     "the blocks after blockhash (all, or those touching address), oldest "
                     "first, at most 10000 blocks (it also stops after the block that reaches 10000 "
                     "transactions), and lastblock, the last block fully listed, to continue "
                     "from.");
    bwc_rpc_register(s, "getchannel", getchannel, n, "channel_id",
                     "getchannel \"channel_id\"\nA payment channel: parties, deposit, price, "
                     "expiry, what was claimed and its state.");
    bwc_rpc_register(s, "listchannels", listchannels, n, "address",
                     "listchannels ( \"address\" )\nChannels, or those whose consumer or relay "
                     "is address.");
    bwc_rpc_register(s, "getcontent", getcontent, n, "content_id",
                     "getcontent \"content_id\"\nA registered content: publisher, size, chunk "
                     "size, name, origin, mime type.");
    bwc_rpc_register(s, "listcontent", listcontent, n, "publisher",
                     "listcontent ( \"publisher\" )\nRegistered content, or a publisher's.");
    bwc_rpc_register(s, "getrelay", getrelay, n, "address",
                     "getrelay \"address\"\nThe relay record of an address.");
    bwc_rpc_register(s, "listrelays", listrelays, n, "region",
                     "listrelays ( \"region\" )\nRelay records, or those of one region.");
    bwc_rpc_register(s, "getpool", getpool, n, "pool_id,consumer",
                     "getpool \"pool_id\" ( \"consumer\" )\nA sponsor pool; with consumer, also "
                     "what that consumer has drawn.");
    bwc_rpc_register(s, "validateaddress", validateaddress, n, "address",
                     "validateaddress \"address\"\nWhether address is valid on this chain, and "
                     "its key.");
}
