/* rpc_util.c: parameter parsing and value formatting shared by the node's RPC methods. */
#include <string.h>

#include "common/hex.h"
#include "common/objjson.h"
#include "consensus/bech32m.h"
#include "consensus/key.h"
#include "node/node.h"

int bwc_rpc_param_absent(json_t *params, size_t i)
{
    json_t *v = json_array_get(params, i);
    return !v || json_is_null(v);
}

int bwc_rpc_param_hash(json_t *params, size_t i, const char *name, bwc_hash *out,
                       bwc_rpc_error *err)
{
    json_t *v = json_array_get(params, i);
    if (!json_is_string(v)) {
        bwc_rpc_fail(err, RPC_TYPE_ERROR, "%s must be a hex string", name);
        return -1;
    }
    const char *s = json_string_value(v);
    if (strlen(s) != 64 || !bwc_hex_decode(out->b, 32, s)) {
        bwc_rpc_fail(err, RPC_INVALID_PARAMETER, "%s must be 64 hex characters", name);
        return -1;
    }
    return 0;
}

int bwc_rpc_param_address(const bwc_node *n, json_t *params, size_t i, bwc_pubkey *out,
                          bwc_rpc_error *err)
{
    json_t *v = json_array_get(params, i);
    if (!json_is_string(v)) {
        bwc_rpc_fail(err, RPC_TYPE_ERROR, "address must be a string");
        return -1;
    }
    const char *s = json_string_value(v);
    if (!bwc_address_decode(out, n->params->hrp, s) || !bwc_pubkey_valid(n->secp, out)) {
        bwc_rpc_fail(err, RPC_INVALID_ADDRESS_OR_KEY,
                     "invalid address '%.100s' (expected a bech32m address with prefix %s1)", s,
                     n->params->hrp);
        return -1;
    }
    return 0;
}

int bwc_rpc_param_int(json_t *params, size_t i, const char *name, int64_t def, int64_t min,
                      int64_t max, int64_t *out, bwc_rpc_error *err)
{
    if (bwc_rpc_param_absent(params, i)) {
        *out = def;
        return 0;
    }
    json_t *v = json_array_get(params, i);
    if (!json_is_integer(v)) {
        bwc_rpc_fail(err, RPC_TYPE_ERROR, "%s must be an integer", name);
        return -1;
    }
    json_int_t x = json_integer_value(v);
    if (x < min || x > max) {
        bwc_rpc_fail(err, RPC_INVALID_PARAMETER, "%s out of range (%lld to %lld)", name,
                     (long long)min, (long long)max);
        return -1;
    }
    *out = x;
    return 0;
}

int bwc_rpc_param_bool(json_t *params, size_t i, const char *name, int def, int *out,
                       bwc_rpc_error *err)
{
    if (bwc_rpc_param_absent(params, i)) {
        *out = def;
        return 0;
    }
    json_t *v = json_array_get(params, i);
    if (!json_is_boolean(v)) {
        bwc_rpc_fail(err, RPC_TYPE_ERROR, "%s must be true or false", name);
        return -1;
    }
    *out = json_is_true(v);
    return 0;
}

int bwc_rpc_param_hex(json_t *params, size_t i, const char *name, unsigned char **out,
                      size_t *len, bwc_rpc_error *err)
{
    json_t *v = json_array_get(params, i);
    if (!json_is_string(v)) {
        bwc_rpc_fail(err, RPC_TYPE_ERROR, "%s must be a hex string", name);
        return -1;
    }
    if (!bwc_hex_decode_alloc(out, len, json_string_value(v))) {
        bwc_rpc_fail(err, RPC_DESERIALIZATION_ERROR, "%s is not valid hex", name);
        return -1;
    }
    return 0;
}

json_t *bwc_rpc_address(const bwc_node *n, const bwc_pubkey *pk)
{
    return bwc_json_address(n->params->hrp, pk);
}

json_int_t bwc_rpc_confirmations(const bwc_node *n, const bwc_index *blk)
{
    if (!blk)
        return 0;
    if (!bwc_chain_contains(&n->chain, blk))
        return -1;
    return (json_int_t)(bwc_chain_height(&n->chain) - blk->height + 1);
}

json_t *bwc_rpc_refused(const bwc_result *res, const char *what, bwc_rpc_error *err)
{
    if (res->code == BWC_RESULT_MALFORMED)
        return bwc_rpc_fail(err, RPC_DESERIALIZATION_ERROR, "%s decode failed: %s", what,
                            res->reject);
    if (strcmp(res->reject, "txn-already-known") == 0)
        return bwc_rpc_fail(err, RPC_VERIFY_ALREADY_IN_CHAIN, "%s", res->reject);
    if (res->code == BWC_RESULT_ERROR)
        return bwc_rpc_fail(err, RPC_DATABASE_ERROR, "%s", res->reject);
    return bwc_rpc_fail(err, RPC_VERIFY_REJECTED, "%s", res->reject);
}
