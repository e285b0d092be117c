/* rpc_tx.c: RPC methods for transactions and receipts: lookups, decoding, submission and the
 * mempool. */
#include <string.h>

#include "common/hex.h"
#include "common/objjson.h"
#include "node/node.h"

int bwc_node_find_tx(bwc_node *n, const bwc_hash *txid, const bwc_index **blk, uint32_t *i)
{
    unsigned char k[33] = {BWC_K_TX};
    memcpy(k + 1, txid->b, 32);
    bwc_buf v = BWC_BUF_INIT;
    int rc = bwc_store_get(n->store, k, sizeof k, &v);
    if (rc == 1) {
        if (v.len != 12) {
            rc = -1;
        } else {
            *blk = bwc_chain_at(&n->chain, bwc_get_u64be(v.data));
            *i = bwc_get_u32be(v.data + 8);
            rc = *blk ? 1 : 0;
        }
    }
    bwc_buf_free(&v);
    return rc;
}

static void set_block_fields(bwc_node *n, json_t *o, const bwc_index *blk)
{
    if (!blk) {
        json_object_set_new(o, "confirmations", json_integer(0));
        return;
    }
    json_object_set_new(o, "blockhash", bwc_json_hex(blk->id.b, 32));
    json_object_set_new(o, "height", json_integer((json_int_t)blk->height));
    json_object_set_new(o, "confirmations", json_integer(bwc_rpc_confirmations(n, blk)));
    json_object_set_new(o, "time", json_integer((json_int_t)blk->header.time));
}

/* A memo as text when it is printable UTF-8 without control characters. */
static json_t *memo_text(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x20 || p[i] == 0x7f)
            return NULL;
    return json_stringn((const char *)p, n); /* NULL when not UTF-8 */
}

json_t *bwc_rpc_tx_entry(bwc_node *n, const bwc_tx *tx, const bwc_hash *txid,
                         const bwc_index *blk, const bwc_pubkey *viewer)
{
    json_t *o = json_object();
    const char *type = bwc_tx_type_name(tx->type);
    json_object_set_new(o, "txid", bwc_json_hex(txid->b, 32));
    json_object_set_new(o, "type", json_string(type ? type : "unknown"));
    const bwc_pubkey *to = NULL;
    if (tx->type == BWC_TX_TRANSFER)
        to = &tx->body.transfer.to;
    else if (tx->type == BWC_TX_CHANNEL_OPEN)
        to = &tx->body.channel_open.relay;
    if (viewer) {
        int sent = memcmp(viewer, &tx->from, 32) == 0;
        int received = to && memcmp(viewer, to, 32) == 0;
        json_object_set_new(o, "category",
                            json_string(sent && received ? "self" : sent ? "send" : "receive"));
    }
    json_object_set_new(o, "from", bwc_rpc_address(n, &tx->from));
    if (tx->type == BWC_TX_TRANSFER) {
        const bwc_tx_transfer *t = &tx->body.transfer;
        json_object_set_new(o, "to", bwc_rpc_address(n, &t->to));
        json_object_set_new(o, "amount", bwc_json_u64(t->amount));
        if (t->memo_len) {
            json_object_set_new(o, "memo", bwc_json_hex(t->memo, t->memo_len));
            json_t *text = memo_text(t->memo, t->memo_len);
            if (text)
                json_object_set_new(o, "memo_text", text);
        }
    } else if (tx->type == BWC_TX_CHANNEL_OPEN) {
        json_object_set_new(o, "relay", bwc_rpc_address(n, to));
        json_object_set_new(o, "amount", bwc_json_u64(tx->body.channel_open.deposit));
    } else if (tx->type == BWC_TX_SPONSOR) {
        json_object_set_new(o, "amount", bwc_json_u64(tx->body.sponsor.amount));
    }
    json_object_set_new(o, "fee", bwc_json_u64(tx->fee));
    json_object_set_new(o, "nonce", bwc_json_u64(tx->nonce));
    set_block_fields(n, o, blk);
    return o;
}

/* Finds a transaction in the chain or the mempool: the decoded tx, its bytes (hex) and block
 * (NULL in the mempool). Returns 1, 0 when unknown, -1 on a storage error. */
static int lookup_tx(bwc_node *n, const bwc_hash *txid, bwc_tx *tx, json_t **hex,
                     const bwc_index **blk)
{
    const bwc_mempool_tx *e = bwc_mempool_get(&n->mempool, txid);
    if (e) {
        *tx = e->tx;
        *hex = bwc_json_hex(e->bytes, e->len);
        *blk = NULL;
        return 1;
    }
    uint32_t i;
    int rc = bwc_node_find_tx(n, txid, blk, &i);
    if (rc != 1)
        return rc;
    bwc_block b = {0};
    if (bwc_chain_read_block(&n->chain, &(*blk)->id, NULL, &b) != 0 || i >= b.n_txs) {
        bwc_block_free(&b);
        return -1;
    }
    *tx = b.txs[i];
    bwc_buf enc = BWC_BUF_INIT;
    if (!bwc_tx_encode(tx, 0, &enc)) {
        bwc_buf_free(&enc);
        bwc_block_free(&b);
        return -1;
    }
    *hex = bwc_json_hex(enc.data, enc.len);
    bwc_buf_free(&enc);
    bwc_block_free(&b);
    return 1;
}

static json_t *tx_full(bwc_node *n, const bwc_tx *tx, json_t *hex, const bwc_index *blk)
{
    json_t *o = bwc_json_tx(tx, &n->chain.chain_id, n->params->hrp);
    json_object_set_new(o, "hex", hex);
    set_block_fields(n, o, blk);
    return o;
}

/* The transaction named by parameter 0, from the chain or the mempool. Returns 0, or -1 with
 * err filled. */
static int param_tx(bwc_node *n, json_t *params, bwc_tx *tx, json_t **hex, const bwc_index **blk,
                    bwc_rpc_error *err)
{
    bwc_hash txid;
    if (bwc_rpc_param_hash(params, 0, "txid", &txid, err) != 0)
        return -1;
    int rc = lookup_tx(n, &txid, tx, hex, blk);
    if (rc < 0)
        bwc_rpc_fail(err, RPC_DATABASE_ERROR, "cannot read the transaction");
    else if (rc == 0)
        bwc_rpc_fail(err, RPC_INVALID_ADDRESS_OR_KEY,
                     "No such transaction in the best chain or the mempool");
    return rc == 1 ? 0 : -1;
}

static json_t *gettransaction(void *ctx, json_t *params, bwc_rpc_error *err)
{
    bwc_node *n = ctx;
    bwc_tx tx;
    json_t *hex;
    const bwc_index *blk;
    if (param_tx(n, params, &tx, &hex, &blk, err) != 0)
        return NULL;
    return tx_full(n, &tx, hex, blk);
}

static json_t *getrawtransaction(void *ctx, json_t *params, bwc_rpc_error *err)
{
    bwc_node *n = ctx;
    int verbose;
    bwc_tx tx;
    json_t *hex;
    const bwc_index *blk;
    if (bwc_rpc_param_bool(params, 1, "verbose", 0, &verbose, err) != 0 ||
        param_tx(n, params, &tx, &hex, &blk, err) != 0)
        return NULL;
    return verbose ? tx_full(n, &tx, hex, blk) : hex;
}

static json_t *decoderawtransaction(void *ctx, json_t *params, bwc_rpc_error *err)
{
    bwc_node *n = ctx;
    unsigned char *bytes;
    size_t len;
    if (bwc_rpc_param_hex(params, 0, "hexstring", &bytes, &len, err) != 0)
        return NULL;
    bwc_tx tx;
    bwc_result res;
    int ok = bwc_tx_decode(&tx, bytes, len, &res);
    free(bytes);
    if (!ok)
        return bwc_rpc_fail(err, RPC_DESERIALIZATION_ERROR, "TX decode failed: %s", res.reject);
    json_t *o = bwc_json_tx(&tx, &n->chain.chain_id, n->params->hrp);
    json_object_set_new(o, "size", json_integer((json_int_t)len));
    return o;
}

static json_t *sendrawtransaction(void *ctx, json_t *params, bwc_rpc_error *err)
{
    bwc_node *n = ctx;
    unsigned char *bytes;
    size_t len;
    if (bwc_rpc_param_hex(params, 0, "hexstring", &bytes, &len, err) != 0)
        return NULL;
    bwc_hash txid;
    bwc_result res;
    int ok = bwc_mempool_add_tx(&n->mempool, bytes, len, bwc_node_now(), &txid, &res);
    free(bytes);
    if (!ok)
        return bwc_rpc_refused(&res, "TX", err);
    bwc_node_announce(n, BWC_INV_TX, &txid);
    return bwc_json_hex(txid.b, 32);
}

static json_t *sendrawreceipt(void *ctx, json_t *params, bwc_rpc_error *err)
{
    bwc_node *n = ctx;
    unsigned char *bytes;
    size_t len;
    if (bwc_rpc_param_hex(params, 0, "hexstring", &bytes, &len, err) != 0)
        return NULL;
    bwc_hash rid;
    bwc_result res;
    int ok = bwc_mempool_add_receipt(&n->mempool, bytes, len, &rid, &res);
    free(bytes);
    if (!ok)
        return bwc_rpc_refused(&res, "receipt", err);
    bwc_node_announce(n, BWC_INV_RECEIPT, &rid);
    return bwc_json_hex(rid.b, 32);
}

static json_t *getmempoolinfo(void *ctx, json_t *params, bwc_rpc_error *err)
{
    (void)params, (void)err;
    bwc_node *n = ctx;
    json_t *o = json_object();
    json_object_set_new(o, "size", json_integer((json_int_t)bwc_mempool_size(&n->mempool)));
    json_object_set_new(o, "bytes", json_integer((json_int_t)n->mempool.bytes));
    json_object_set_new(o, "receipts",
                        json_integer((json_int_t)bwc_map_size(&n->mempool.receipts)));
    json_object_set_new(o, "maxmempool", json_integer((json_int_t)n->mempool.max_bytes));
    json_object_set_new(o, "minfee", json_integer((json_int_t)n->params->min_fee));
    return o;
}

static json_t *getrawmempool(void *ctx, json_t *params, bwc_rpc_error *err)
{
    bwc_node *n = ctx;
    int verbose;
    if (bwc_rpc_param_bool(params, 0, "verbose", 0, &verbose, err) != 0)
        return NULL;
    json_t *out = verbose ? json_object() : json_array();
    const unsigned char *k;
    size_t kl;
    void *v;
    for (size_t i = 0; bwc_map_next(&n->mempool.txs, &i, &k, &kl, &v);) {
        const bwc_mempool_tx *e = v;
        char hex[65];
        bwc_hex_encode(hex, e->txid.b, 32);
        if (!verbose) {
            json_array_append_new(out, json_string(hex));
            continue;
        }
        json_t *o = json_object();
        json_object_set_new(o, "fee", bwc_json_u64(e->tx.fee));
        json_object_set_new(o, "size", json_integer((json_int_t)e->len));
        json_object_set_new(o, "time", json_integer((json_int_t)e->time));
        json_object_set_new(o, "from", bwc_rpc_address(n, &e->tx.from));
        json_object_set_new(o, "nonce", bwc_json_u64(e->tx.nonce));
        json_object_set_new(out, hex, o);
    }
    return out;
}

/* The fee that gets a transaction into the next block: min_fee while the pool's transactions
 * fit in one block, else the fee rate at the block's edge plus one unit per byte, for a
 * transaction of the typical transfer size. */
#define TYPICAL_TX_BYTES 180

static int cmp_rate_desc(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x < y) - (x > y);
}

static json_t *estimatefee(void *ctx, json_t *params, bwc_rpc_error *err)
{
    (void)params;
    bwc_node *n = ctx;
    size_t count = bwc_mempool_size(&n->mempool);
    uint64_t fee = n->params->min_fee;
    if (n->mempool.bytes > n->params->max_block_bytes / 2 && count > 0) {
        double *rates = malloc(count * sizeof *rates);
        if (!rates)
            return bwc_rpc_fail(err, RPC_OUT_OF_MEMORY, "out of memory");
        const unsigned char *k;
        size_t kl, j = 0;
        void *v;
        for (size_t i = 0; bwc_map_next(&n->mempool.txs, &i, &k, &kl, &v); j++) {
            const bwc_mempool_tx *e = v;
            rates[j] = (double)e->tx.fee / (double)e->len;
        }
        qsort(rates, count, sizeof *rates, cmp_rate_desc);
        /* Walk down the rates until half a block is taken: that rate is the edge. */
        size_t edge = count * (n->params->max_block_bytes / 2) / n->mempool.bytes;
        if (edge >= count)
            edge = count - 1;
        uint64_t est = (uint64_t)((rates[edge] + 1.0) * TYPICAL_TX_BYTES);
        if (est > fee)
            fee = est;
        free(rates);
    }
    json_t *o = json_object();
    json_object_set_new(o, "fee", json_integer((json_int_t)fee));
    json_object_set_new(o, "feerate", json_real((double)fee / TYPICAL_TX_BYTES));
    json_object_set_new(o, "minfee", json_integer((json_int_t)n->params->min_fee));
    return o;
}

void bwc_rpc_register_tx(bwc_node *n)
{
    bwc_rpc_server *s = n->rpc;
    bwc_rpc_register(s, "gettransaction", gettransaction, n, "txid",
                     "gettransaction \"txid\"\nA transaction of the best chain or the mempool, "
                     "decoded, with its hex and confirmations.");
    bwc_rpc_register(s, "getrawtransaction", getrawtransaction, n, "txid,verbose",
                     "getrawtransaction \"txid\" ( verbose )\nThe transaction as hex, or as "
                     "gettransaction's object when verbose is true.");
    bwc_rpc_register(s, "decoderawtransaction", decoderawtransaction, n, "hexstring",
                     "decoderawtransaction \"hexstring\"\nDecodes a transaction without "
                     "checking it against the state.");
    bwc_rpc_register(s, "sendrawtransaction", sendrawtransaction, n, "hexstring",
                     "sendrawtransaction \"hexstring\"\nChecks a signed transaction and adds "
                     "it to the mempool. Returns its txid.");
    bwc_rpc_register(s, "sendrawreceipt", sendrawreceipt, n, "hexstring",
                     "sendrawreceipt \"hexstring\"\nChecks a receipt signed by consumer and "
                     "relay and adds it to the receipt pool. Returns its receipt id.");
    bwc_rpc_register(s, "getmempoolinfo", getmempoolinfo, n, "",
                     "getmempoolinfo\nTransactions and bytes in the mempool, receipts in the "
                     "receipt pool, the size limit and the minimum fee.");
    bwc_rpc_register(s, "getrawmempool", getrawmempool, n, "verbose",
                     "getrawmempool ( verbose )\nThe txids in the mempool, or an object of "
                     "details by txid when verbose is true.");
    bwc_rpc_register(s, "estimatefee", estimatefee, n, "",
                     "estimatefee\nThe fee (units) that gets a typical transaction into the "
                     "next block.");
}
