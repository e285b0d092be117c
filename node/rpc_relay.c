/* rpc_relay.c: bwcd's side of -relay: the host interface the relay runs on (the tip's state,
 * the receipt pool, relay records), its options, start and stop, and the relay RPCs
 * (getrelaystats, relayburst, relayimport). doc/relay.md is the operator's guide. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/args.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/objjson.h"
#include "consensus/manifest.h"
#include "node/node.h"
#include "node/p2pmsg.h"
#include "relay/relay.h"

/* ---- the host interface ---- */

static bwc_state_view host_view(void *ctx)
{
    bwc_node *n = ctx;
    return bwc_chain_view(&n->chain);
}

static uint64_t host_height(void *ctx)
{
    bwc_node *n = ctx;
    return bwc_chain_height(&n->chain);
}

/* As sendrawreceipt: into the receipt pool, then gossiped. */
static int host_submit(void *ctx, const unsigned char *bytes, size_t len, bwc_hash *rid,
                       bwc_result *res)
{
    bwc_node *n = ctx;
    if (!bwc_mempool_add_receipt(&n->mempool, bytes, len, rid, res))
        return 0;
    bwc_node_announce(n, BWC_INV_RECEIPT, rid);
    return 1;
}

typedef struct {
    int (*fn)(void *arg, const bwc_pubkey *who, const bwc_relay *rec);
    void *arg;
} relay_scan;

static int relay_entry(void *ctx, const unsigned char *key, size_t klen, const unsigned char *val,
                       size_t vlen)
{
    relay_scan *s = ctx;
    bwc_relay rec;
    bwc_pubkey who;
    if (klen != 33 || !bwc_relay_decode(&rec, val, vlen))
        return 0;
    memcpy(who.b, key + 1, 32);
    return s->fn(s->arg, &who, &rec);
}

static int host_scan_relays(void *ctx,
                            int (*fn)(void *arg, const bwc_pubkey *who, const bwc_relay *rec),
                            void *arg)
{
    bwc_node *n = ctx;
    unsigned char prefix = BWC_STATE_RELAY;
    relay_scan s = {fn, arg};
    return bwc_store_scan(n->store, &prefix, 1, 0, relay_entry, &s) < 0 ? -1 : 0;
}

/* ---- options, start, stop ---- */

static int get_u64(bwc_node *n, const char *name, int64_t def, int64_t min, int64_t max,
                   uint64_t *out, char *err, size_t errlen)
{
    int64_t v;
    if (bwc_args_get_int(n->args, name, def, min, max, &v, err, errlen) != 0)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

int bwc_node_relay_start(bwc_node *n, char *err, size_t errlen)
{
    if (!bwc_args_get_bool(n->args, "relay", 0))
        return 0;
    bwc_relay_config cfg;
    memset(&cfg, 0, sizeof cfg);
    uint64_t port, store_mib;
    char dir[BWC_PATH_MAX + 16];
    int rc = -1;
    size_t n_free = 0;
    const char **frees = NULL;
    bwc_hash *free_ids = NULL;
    if (get_u64(n, "relayport", n->spec.relay_port, 1, 65535, &port, err, errlen) != 0 ||
        get_u64(n, "relaystore", BWC_RELAY_STORE_MIB, 1, 1 << 24, &store_mib, err, errlen) != 0 ||
        get_u64(n, "relayrate", 0, 0, INT64_C(1) << 40, &cfg.rate, err, errlen) != 0 ||
        get_u64(n, "relayquota", 0, 0, INT64_MAX, &cfg.quota, err, errlen) != 0 ||
        get_u64(n, "relayburstquota", 0, 0, INT64_MAX, &cfg.burst_quota, err, errlen) != 0 ||
        get_u64(n, "relayburst", 0, 0, INT64_MAX, &cfg.burst_hours, err, errlen) != 0 ||
        get_u64(n, "relayprice", 0, 0, INT64_MAX, &cfg.price, err, errlen) != 0 ||
        get_u64(n, "relaycreditwindow", BWC_RELAY_CREDIT_WINDOW, 1, INT64_MAX, &cfg.credit_window,
                err, errlen) != 0 ||
        get_u64(n, "relaysettlemultiple", BWC_RELAY_SETTLE_MULTIPLE, 1, 1000000,
                &cfg.settle_multiple, err, errlen) != 0)
        return -1;
    /* The ranges of -relayburst and -relaycreditwindow are bwc_relay_start's to check. */
    frees = bwc_args_get_all(n->args, "relayfree", &n_free);
    if (n_free && !(free_ids = calloc(n_free, sizeof *free_ids))) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n_free; i++)
        if (strlen(frees[i]) != 64 || !bwc_hex_decode(free_ids[i].b, 32, frees[i])) {
            snprintf(err, errlen, "-relayfree=%s is not a content id (64 hex digits)", frees[i]);
            goto out;
        }
    snprintf(dir, sizeof dir, "%s/relay", n->chaindir);
    cfg.dir = dir;
    cfg.params = n->params;
    cfg.chain_id = &n->spec.chain_id;
    cfg.hrp = n->params->hrp;
    cfg.secp = n->secp;
    cfg.version = BWC_NODE_VERSION;
    cfg.bind = bwc_args_get_all(n->args, "relaybind", &cfg.n_bind);
    cfg.port = (uint16_t)port;
    cfg.keyfile = bwc_args_get(n->args, "relaykeyfile", NULL);
    cfg.store_bytes = store_mib << 20;
    cfg.region = bwc_args_get(n->args, "relayregion", "ZZ");
    cfg.free_ids = free_ids;
    cfg.n_free = n_free;
    cfg.peers = bwc_args_get_all(n->args, "relaypeer", &cfg.n_peers);
    bwc_relay_host host = {n, host_view, host_height, host_submit, host_scan_relays};
    n->relay = bwc_relay_start(n->base, &cfg, &host, err, errlen);
    free((void *)cfg.bind);
    free((void *)cfg.peers);
    if (n->relay)
        rc = 0;
out:
    free(frees);
    free(free_ids);
    return rc;
}

void bwc_node_relay_stop(bwc_node *n)
{
    bwc_relay_stop(n->relay);
    n->relay = NULL;
}

void bwc_node_relay_block(bwc_node *n)
{
    if (n->relay)
        bwc_relay_on_block(n->relay);
}

/* ---- RPC ---- */

static json_t *no_relay(bwc_rpc_error *err)
{
    return bwc_rpc_fail(err, RPC_MISC_ERROR, "the relay is not running (start bwcd with -relay)");
}

static json_t *getrelaystats(void *ctx, json_t *params, bwc_rpc_error *err)
{
    (void)params;
    bwc_node *n = ctx;
    if (!n->relay)
        return no_relay(err);
    json_t *o = bwc_relay_stats(n->relay);
    return o ? o : bwc_rpc_fail(err, RPC_OUT_OF_MEMORY, "out of memory");
}

static json_t *relayburst(void *ctx, json_t *params, bwc_rpc_error *err)
{
    bwc_node *n = ctx;
    int64_t hours;
    char msg[256];
    if (!n->relay)
        return no_relay(err);
    if (bwc_rpc_param_absent(params, 0))
        return bwc_rpc_fail(err, RPC_INVALID_PARAMETER, "hours is required (12 to 48, 0 ends)");
    if (bwc_rpc_param_int(params, 0, "hours", 0, 0, INT64_MAX, &hours, err) != 0)
        return NULL;
    if (bwc_relay_burst(n->relay, (uint64_t)hours, msg, sizeof msg) != 0)
        return bwc_rpc_fail(err, RPC_INVALID_PARAMETER, "%s", msg);
    json_t *stats = bwc_relay_stats(n->relay);
    json_t *burst = stats ? json_incref(json_object_get(stats, "burst")) : NULL;
    json_decref(stats);
    return burst ? burst : bwc_rpc_fail(err, RPC_OUT_OF_MEMORY, "out of memory");
}

static json_t *relayimport(void *ctx, json_t *params, bwc_rpc_error *err)
{
    bwc_node *n = ctx;
    int pin;
    int64_t chunk_size;
    bwc_hash cid;
    char msg[512];
    if (!n->relay)
        return no_relay(err);
    json_t *p = json_array_get(params, 0);
    if (!json_is_string(p))
        return bwc_rpc_fail(err, RPC_TYPE_ERROR, "path must be a string");
    if (bwc_rpc_param_bool(params, 1, "pin", 1, &pin, err) != 0 ||
        bwc_rpc_param_int(params, 2, "chunk_size", BWC_DEFAULT_CHUNK_SIZE, 16384, 4 << 20,
                          &chunk_size, err) != 0)
        return NULL;
    if (bwc_relay_import(n->relay, json_string_value(p), pin, (uint64_t)chunk_size, &cid, msg,
                         sizeof msg) != 0)
        return bwc_rpc_fail(err, RPC_MISC_ERROR, "%s", msg);
    json_t *o = json_object();
    json_object_set_new(o, "content_id", bwc_json_hex(cid.b, 32));
    json_object_set_new(o, "chunk_size", json_integer(chunk_size));
    json_object_set_new(o, "pinned", json_boolean(pin));
    return o;
}

void bwc_rpc_register_relay(bwc_node *n)
{
    bwc_rpc_server *s = n->rpc;
    bwc_rpc_register(s, "getrelaystats", getrelaystats, n, "",
                     "getrelaystats\nThe relay's address, bytes served (total and this period), "
                     "earnings (settled: the relay account's balance; unsettled: newest receipts "
                     "above what the chain paid), ceilings and their use, burst state, channels "
                     "and store use. Needs -relay.");
    bwc_rpc_register(s, "relayburst", relayburst, n, "hours",
                     "relayburst hours\nOpens a burst window of 12 to 48 hours during which "
                     "-relayburstquota applies instead of -relayquota; 0 ends it. Needs -relay.");
    bwc_rpc_register(s, "relayimport", relayimport, n, "path,pin,chunk_size",
                     "relayimport \"path\" ( pin chunk_size )\nImports a file the node can read "
                     "into the relay's store (pinned unless pin is false; chunk_size a power of "
                     "two from 16384 to 4194304, default 262144) and returns its content_id. "
                     "Needs -relay.");
}
