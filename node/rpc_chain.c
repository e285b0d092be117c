/* rpc_chain.c: RPC methods about blocks and the chain: info, blocks, headers, tips, submitting
 * and generating blocks. */
#include <string.h>

#include "common/hex.h"
#include "common/objjson.h"
#include "consensus/engine.h"
#include "node/miner.h"
#include "node/node.h"

static uint64_t mtp_of(const bwc_index *x)
{
    uint64_t t[BWC_MTP_SPAN];
    size_t n = bwc_chain_mtp_times(x, t);
    return bwc_median_time_past(t, n);
}

static json_t *getblockchaininfo(void *ctx, json_t *params, bwc_rpc_error *err)
{
    (void)params, (void)err;
    bwc_node *n = ctx;
    const bwc_index *tip = bwc_chain_tip(&n->chain);
    json_t *o = json_object();
    json_object_set_new(o, "chain", json_string(n->spec.name));
    json_object_set_new(o, "chain_id", bwc_json_hex(n->chain.chain_id.b, 32));
    json_object_set_new(o, "engine",
                        json_string(n->params->engine == BWC_ENGINE_POW ? "pow" : "poa"));
    json_object_set_new(o, "blocks", json_integer((json_int_t)tip->height));
    json_object_set_new(o, "headers", json_integer((json_int_t)n->chain.best_header->height));
    json_object_set_new(o, "bestblockhash", bwc_json_hex(tip->id.b, 32));
    json_object_set_new(o, "chainwork", bwc_json_hex(tip->work, BWC_U256_SIZE));
    json_object_set_new(o, "time", json_integer((json_int_t)tip->header.time));
    json_object_set_new(o, "mediantime", json_integer((json_int_t)mtp_of(tip)));
    json_object_set_new(o, "finalized_height",
                        json_integer((json_int_t)bwc_chain_finalized_height(&n->chain)));
    /* Progress against the best header known from peers: blocks, not work, as users read it. */
    const bwc_index *goal = n->chain.best_header;
    double progress = goal->height ? (double)tip->height / (double)goal->height : 1.0;
    json_object_set_new(o, "verificationprogress", json_real(progress > 1.0 ? 1.0 : progress));
    json_object_set_new(o, "initialblockdownload", json_boolean(bwc_node_in_ibd(n)));
    return o;
}

static json_t *getblockcount(void *ctx, json_t *params, bwc_rpc_error *err)
{
    (void)params, (void)err;
    bwc_node *n = ctx;
    return json_integer((json_int_t)bwc_chain_height(&n->chain));
}

static json_t *getbestblockhash(void *ctx, json_t *params, bwc_rpc_error *err)
{
    (void)params, (void)err;
    bwc_node *n = ctx;
    return bwc_json_hex(bwc_chain_tip(&n->chain)->id.b, 32);
}

static json_t *getblockhash(void *ctx, json_t *params, bwc_rpc_error *err)
{
    bwc_node *n = ctx;
    int64_t h;
    if (bwc_rpc_param_absent(params, 0))
        return bwc_rpc_fail(err, RPC_INVALID_PARAMS, "height is required");
    if (bwc_rpc_param_int(params, 0, "height", 0, 0, INT64_MAX, &h, err) != 0)
        return NULL;
    const bwc_index *x = bwc_chain_at(&n->chain, (uint64_t)h);
    if (!x)
        return bwc_rpc_fail(err, RPC_INVALID_PARAMETER, "block height out of range");
    return bwc_json_hex(x->id.b, 32);
}

/* The known block named by parameter 0. */
static const bwc_index *param_block(bwc_node *n, json_t *params, bwc_rpc_error *err)
{
    bwc_hash id;
    if (bwc_rpc_param_hash(params, 0, "blockhash", &id, err) != 0)
        return NULL;
    const bwc_index *x = bwc_chain_find(&n->chain, &id);
    if (!x)
        bwc_rpc_fail(err, RPC_INVALID_ADDRESS_OR_KEY, "Block not found");
    return x;
}

static json_t *header_json(bwc_node *n, const bwc_index *x)
{
    json_t *o = json_object();
    int active = bwc_chain_contains(&n->chain, x);
    json_object_set_new(o, "hash", bwc_json_hex(x->id.b, 32));
    json_object_set_new(o, "confirmations", json_integer(bwc_rpc_confirmations(n, x)));
    json_object_set_new(o, "height", json_integer((json_int_t)x->height));
    json_object_set_new(o, "version", json_integer((json_int_t)x->header.version));
    if (x->height > 0)
        json_object_set_new(o, "previousblockhash", bwc_json_hex(x->header.prev.b, 32));
    const bwc_index *next = active ? bwc_chain_at(&n->chain, x->height + 1) : NULL;
    if (next)
        json_object_set_new(o, "nextblockhash", bwc_json_hex(next->id.b, 32));
    json_object_set_new(o, "time", json_integer((json_int_t)x->header.time));
    json_object_set_new(o, "mediantime", json_integer((json_int_t)mtp_of(x)));
    json_object_set_new(o, "producer", bwc_rpc_address(n, &x->header.producer));
    if (x->header.has_pow) {
        char bits[9];
        snprintf(bits, sizeof bits, "%08x", (unsigned)x->header.target);
        json_object_set_new(o, "target", json_string(bits));
        json_object_set_new(o, "nonce", json_integer((json_int_t)x->header.nonce));
    }
    if (x->header.has_sig)
        json_object_set_new(o, "sig", bwc_json_hex(x->header.sig.b, 64));
    json_object_set_new(o, "tx_root", bwc_json_hex(x->header.tx_root.b, 32));
    json_object_set_new(o, "receipt_root", bwc_json_hex(x->header.receipt_root.b, 32));
    json_object_set_new(o, "chainwork", bwc_json_hex(x->work, BWC_U256_SIZE));
    json_object_set_new(o, "n_tx", json_integer(x->n_txs));
    json_object_set_new(o, "n_receipts", json_integer(x->n_receipts));
    return o;
}

static json_t *getblock(void *ctx, json_t *params, bwc_rpc_error *err)
{
    bwc_node *n = ctx;
    const bwc_index *x = param_block(n, params, err);
    int64_t verbosity;
    if (!x || bwc_rpc_param_int(params, 1, "verbosity", 1, 0, 2, &verbosity, err) != 0)
        return NULL;
    bwc_buf raw = BWC_BUF_INIT;
    bwc_block b;
    if (bwc_chain_read_block(&n->chain, &x->id, &raw, &b) != 0) {
        bwc_buf_free(&raw);
        return bwc_rpc_fail(err, RPC_DATABASE_ERROR, "cannot read the block");
    }
    json_t *o;
    if (verbosity == 0) {
        o = bwc_json_hex(raw.data, raw.len);
    } else {
        o = header_json(n, x);
        json_object_set_new(o, "size", json_integer((json_int_t)raw.len));
        json_t *txs = json_array(), *rcs = json_array();
        for (size_t i = 0; i < b.n_txs; i++) {
            if (verbosity == 2) {
                json_array_append_new(txs, bwc_json_tx(&b.txs[i], &n->chain.chain_id,
                                                       n->params->hrp));
            } else {
                bwc_hash id;
                bwc_tx_id(&n->chain.chain_id, &b.txs[i], &id);
                json_array_append_new(txs, bwc_json_hex(id.b, 32));
            }
        }
        for (size_t i = 0; i < b.n_receipts; i++) {
            if (verbosity == 2) {
                json_array_append_new(rcs, bwc_json_receipt(&b.receipts[i], &n->chain.chain_id,
                                                            n->params->hrp));
            } else {
                bwc_hash id;
                bwc_receipt_id(&n->chain.chain_id, &b.receipts[i], &id);
                json_array_append_new(rcs, bwc_json_hex(id.b, 32));
            }
        }
        json_object_set_new(o, "tx", txs);
        json_object_set_new(o, "receipts", rcs);
    }
    bwc_block_free(&b);
    bwc_buf_free(&raw);
    return o;
}

static json_t *getblockheader(void *ctx, json_t *params, bwc_rpc_error *err)
{
    bwc_node *n = ctx;
    const bwc_index *x = param_block(n, params, err);
    int verbose;
    if (!x || bwc_rpc_param_bool(params, 1, "verbose", 1, &verbose, err) != 0)
        return NULL;
    if (verbose)
        return header_json(n, x);
    bwc_buf enc = BWC_BUF_INIT;
    if (!bwc_header_encode(&x->header, 0, &enc)) {
        bwc_buf_free(&enc);
        return bwc_rpc_fail(err, RPC_OUT_OF_MEMORY, "out of memory");
    }
    json_t *o = bwc_json_hex(enc.data, enc.len);
    bwc_buf_free(&enc);
    return o;
}

/* getchaintips: every block without a child, and the active tip. O(number of blocks). */
static json_t *getchaintips(void *ctx, json_t *params, bwc_rpc_error *err)
{
    (void)params, (void)err;
    bwc_node *n = ctx;
    bwc_map has_child;
    bwc_map_init(&has_child);
    const unsigned char *k;
    size_t kl;
    void *v;
    for (size_t i = 0; bwc_map_next(&n->chain.index, &i, &k, &kl, &v);) {
        bwc_index *x = v;
        if (x->prev)
            bwc_map_put(&has_child, x->prev->id.b, 32, x);
    }
    json_t *tips = json_array();
    for (size_t i = 0; bwc_map_next(&n->chain.index, &i, &k, &kl, &v);) {
        bwc_index *x = v;
        int active = x == bwc_chain_tip(&n->chain);
        if (!active && bwc_map_get(&has_child, x->id.b, 32))
            continue;
        const bwc_index *f = x;
        while (!bwc_chain_contains(&n->chain, f))
            f = f->prev;
        const char *status = "active";
        if (!active) {
            if (x->status & BWC_INDEX_FAILED)
                status = "invalid";
            else if (x->status & BWC_INDEX_VALID)
                status = "valid-fork";
            else
                status = "valid-headers";
        }
        json_t *t = json_object();
        json_object_set_new(t, "height", json_integer((json_int_t)x->height));
        json_object_set_new(t, "hash", bwc_json_hex(x->id.b, 32));
        json_object_set_new(t, "branchlen", json_integer((json_int_t)(x->height - f->height)));
        json_object_set_new(t, "status", json_string(status));
        json_array_append_new(tips, t);
    }
    bwc_map_free(&has_child);
    return tips;
}

static json_t *submitblock(void *ctx, json_t *params, bwc_rpc_error *err)
{
    bwc_node *n = ctx;
    unsigned char *bytes;
    size_t len;
    if (bwc_rpc_param_hex(params, 0, "hexdata", &bytes, &len, err) != 0)
        return NULL;
    bwc_result res;
    bwc_hash id;
    bwc_submit_status st = bwc_node_submit_block(n, bytes, len, &id, &res);
    free(bytes);
    switch (st) {
    case BWC_SUBMIT_ACCEPTED:
        return json_null();
    case BWC_SUBMIT_DUPLICATE:
        return json_string(res.reject);
    case BWC_SUBMIT_ORPHAN:
        return json_string("orphan");
    case BWC_SUBMIT_REJECTED:
        return bwc_rpc_refused(&res, "block", err);
    default:
        return bwc_rpc_fail(err, RPC_DATABASE_ERROR, "storage failed");
    }
}

#define GENERATE_MAX 10000

static json_t *generate(void *ctx, json_t *params, bwc_rpc_error *err)
{
    bwc_node *n = ctx;
    if (n->params->engine != BWC_ENGINE_POW || !n->params->pow.no_retarget)
        return bwc_rpc_fail(err, RPC_MISC_ERROR,
                            "generate works on chains with no_retarget (dev) only");
    int64_t count;
    if (bwc_rpc_param_absent(params, 0))
        return bwc_rpc_fail(err, RPC_INVALID_PARAMS, "nblocks is required");
    if (bwc_rpc_param_int(params, 0, "nblocks", 1, 1, GENERATE_MAX, &count, err) != 0)
        return NULL;
    bwc_pubkey producer;
    if (!bwc_rpc_param_absent(params, 1)) {
        if (bwc_rpc_param_address(n, params, 1, &producer, err) != 0)
            return NULL;
    } else if (n->have_mine_address) {
        producer = n->mine_address;
    } else {
        return bwc_rpc_fail(err, RPC_INVALID_PARAMETER,
                            "no address: pass one, or start bwcd with -mineraddress");
    }
    json_t *ids = json_array();
    for (int64_t i = 0; i < count; i++) {
        bwc_hash id;
        bwc_result res;
        if (bwc_node_produce(n, &producer, bwc_node_now(), &id, &res) != 0) {
            json_decref(ids);
            return bwc_rpc_fail(err, RPC_MISC_ERROR, "block production failed: %s",
                                res.reject);
        }
        json_array_append_new(ids, bwc_json_hex(id.b, 32));
    }
    return ids;
}

void bwc_rpc_register_chain(bwc_node *n)
{
    bwc_rpc_server *s = n->rpc;
    bwc_rpc_register(s, "getblockchaininfo", getblockchaininfo, n, "",
                     "getblockchaininfo\nThe chain, its id and engine, the height, best block, "
                     "chain work, finalized height and sync progress.");
    bwc_rpc_register(s, "getblockcount", getblockcount, n, "",
                     "getblockcount\nThe height of the best chain.");
    bwc_rpc_register(s, "getbestblockhash", getbestblockhash, n, "",
                     "getbestblockhash\nThe id of the best chain's tip.");
    bwc_rpc_register(s, "getblockhash", getblockhash, n, "height",
                     "getblockhash height\nThe id of the best chain's block at height.");
    bwc_rpc_register(s, "getblock", getblock, n, "blockhash,verbosity",
                     "getblock \"blockhash\" ( verbosity )\nverbosity 0: the block as hex; 1 "
                     "(default): header fields with tx and receipt ids; 2: full tx and receipt "
                     "objects.");
    bwc_rpc_register(s, "getblockheader", getblockheader, n, "blockhash,verbose",
                     "getblockheader \"blockhash\" ( verbose )\nThe header as an object, or as "
                     "hex when verbose is false.");
    bwc_rpc_register(s, "getchaintips", getchaintips, n, "",
                     "getchaintips\nEvery known branch tip: height, hash, branch length and "
                     "status (active, valid-fork, valid-headers, invalid).");
    bwc_rpc_register(s, "submitblock", submitblock, n, "hexdata",
                     "submitblock \"hexdata\"\nSubmits a block. Returns null when accepted, "
                     "\"duplicate\", \"duplicate-invalid\" or \"orphan\"; an error with the "
                     "reject string when it breaks a rule.");
    bwc_rpc_register(s, "generate", generate, n, "nblocks,address",
                     "generate nblocks ( \"address\" )\nMines nblocks blocks at once on a "
                     "chain with no_retarget (dev), paying address (default: -mineraddress). "
                     "Returns their ids.");
}
