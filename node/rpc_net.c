/* rpc_net.c: RPC methods about the P2P network: peers, bans, manual connections. */
#include <string.h>

#include "node/net.h"
#include "node/node.h"

static json_t *getpeerinfo(void *ctx, json_t *params, bwc_rpc_error *err)
{
    (void)params, (void)err;
    bwc_node *n = ctx;
    json_t *out = json_array();
    uint64_t now = bwc_node_now_ms();
    for (const bwc_peer *p = n->net.peers; p; p = p->next) {
        if (p->disconnect)
            continue;
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer((json_int_t)p->id));
        json_object_set_new(o, "addr", json_string(p->name));
        json_object_set_new(o, "inbound", json_boolean(p->inbound));
        json_object_set_new(o, "manual", json_boolean(p->manual));
        json_object_set_new(o, "connected", json_boolean(p->got_verack));
        json_object_set_new(o, "version", json_integer((json_int_t)p->version));
        json_object_set_new(o, "subver", json_string(p->agent));
        json_object_set_new(o, "listen_port", json_integer(p->listen_port));
        json_object_set_new(o, "startingheight", json_integer((json_int_t)p->start_height));
        json_object_set_new(o, "synced_headers",
                            json_integer(p->best_known ? (json_int_t)p->best_known->height : -1));
        json_object_set_new(o, "inflight", json_integer((json_int_t)p->n_in_flight));
        json_object_set_new(o, "bytessent", json_integer((json_int_t)p->bytes_sent));
        json_object_set_new(o, "bytesrecv", json_integer((json_int_t)p->bytes_recv));
        json_object_set_new(o, "conntime", json_integer((json_int_t)(p->connect_ms / 1000)));
        json_object_set_new(o, "lastrecv", json_integer((json_int_t)(p->last_recv_ms / 1000)));
        json_object_set_new(o, "lastsend", json_integer((json_int_t)(p->last_send_ms / 1000)));
        json_object_set_new(o, "connected_seconds",
                            json_integer((json_int_t)((now - p->connect_ms) / 1000)));
        if (p->min_ping_ms)
            json_object_set_new(o, "minping", json_real((double)p->min_ping_ms / 1000.0));
        json_object_set_new(o, "banscore", json_integer(p->score));
        json_array_append_new(out, o);
    }
    return out;
}

static json_t *getconnectioncount(void *ctx, json_t *params, bwc_rpc_error *err)
{
    (void)params, (void)err;
    bwc_node *n = ctx;
    return json_integer((json_int_t)(bwc_net_count(&n->net, 0) + bwc_net_count(&n->net, 1)));
}

static json_t *listbanned(void *ctx, json_t *params, bwc_rpc_error *err)
{
    (void)params, (void)err;
    bwc_node *n = ctx;
    json_t *out = json_array();
    uint64_t now = bwc_node_now();
    for (size_t i = 0; i < n->net.n_bans; i++) {
        const bwc_ban *b = &n->net.bans[i];
        if (b->until <= now)
            continue;
        json_array_append_new(out, json_pack("{s:s,s:I,s:s}", "address", b->host, "banned_until",
                                             (json_int_t)b->until, "reason", b->reason));
    }
    return out;
}

static json_t *setban(void *ctx, json_t *params, bwc_rpc_error *err)
{
    bwc_node *n = ctx;
    const char *subnet = json_string_value(json_array_get(params, 0));
    const char *command = json_string_value(json_array_get(params, 1));
    if (!subnet || !command)
        return bwc_rpc_fail(err, RPC_TYPE_ERROR, "subnet and command must be strings");
    int64_t seconds;
    if (bwc_rpc_param_int(params, 2, "bantime", BWC_NET_BAN_SECONDS, 1, 10LL * 365 * 86400,
                          &seconds, err) != 0)
        return NULL;
    if (strcmp(command, "add") == 0) {
        if (bwc_net_is_banned(&n->net, subnet, bwc_node_now()))
            return bwc_rpc_fail(err, RPC_CLIENT_NODE_ALREADY_ADDED, "IP/Subnet already banned");
        if (bwc_net_ban(&n->net, subnet, (uint64_t)seconds, "manually added") != 0)
            return bwc_rpc_fail(err, RPC_CLIENT_INVALID_IP_OR_SUBNET, "Invalid IP/Subnet");
        return json_null();
    }
    if (strcmp(command, "remove") == 0) {
        if (bwc_net_unban(&n->net, subnet) != 0)
            return bwc_rpc_fail(err, RPC_CLIENT_INVALID_IP_OR_SUBNET,
                                "Unban failed: not banned");
        return json_null();
    }
    return bwc_rpc_fail(err, RPC_INVALID_PARAMETER, "command must be add or remove");
}

static json_t *clearbanned(void *ctx, json_t *params, bwc_rpc_error *err)
{
    (void)params, (void)err;
    bwc_node *n = ctx;
    bwc_net_clear_bans(&n->net);
    return json_null();
}

static json_t *disconnectnode(void *ctx, json_t *params, bwc_rpc_error *err)
{
    bwc_node *n = ctx;
    const char *addr = json_string_value(json_array_get(params, 0));
    int64_t id = -1;
    if (!bwc_rpc_param_absent(params, 0) && !addr)
        return bwc_rpc_fail(err, RPC_TYPE_ERROR, "address must be a string");
    /* As Bitcoin Core: an empty address with a nodeid selects by id. */
    if ((!addr || !*addr) &&
        bwc_rpc_param_int(params, 1, "nodeid", -1, 0, INT64_MAX, &id, err) != 0)
        return NULL;
    if ((!addr || !*addr) && id < 0)
        return bwc_rpc_fail(err, RPC_INVALID_PARAMS, "give an address or a nodeid");
    if (bwc_net_disconnect(&n->net, (uint64_t)id, addr && *addr ? addr : NULL) != 0)
        return bwc_rpc_fail(err, RPC_CLIENT_NODE_NOT_CONNECTED, "Node not found in connected nodes");
    return json_null();
}

static json_t *addnode(void *ctx, json_t *params, bwc_rpc_error *err)
{
    bwc_node *n = ctx;
    const char *node = json_string_value(json_array_get(params, 0));
    const char *command = json_string_value(json_array_get(params, 1));
    if (!node || !command)
        return bwc_rpc_fail(err, RPC_TYPE_ERROR, "node and command must be strings");
    if (strcmp(command, "add") && strcmp(command, "remove") && strcmp(command, "onetry"))
        return bwc_rpc_fail(err, RPC_INVALID_PARAMETER, "command must be add, remove or onetry");
    int rc = bwc_net_addnode(&n->net, node, command);
    if (rc == -1)
        return bwc_rpc_fail(err, RPC_INVALID_PARAMETER,
                            "node must be IP[:port] or [IPv6]:port (numeric)");
    if (rc == -2)
        return bwc_rpc_fail(err, strcmp(command, "add") == 0 ? RPC_CLIENT_NODE_ALREADY_ADDED
                                                             : RPC_CLIENT_NODE_NOT_ADDED,
                            strcmp(command, "add") == 0 ? "Node already added"
                                                        : "Node has not been added");
    return json_null();
}

void bwc_rpc_register_net(bwc_node *n)
{
    bwc_rpc_server *s = n->rpc;
    bwc_rpc_register(s, "getpeerinfo", getpeerinfo, n, "",
                     "getpeerinfo\nEvery connected peer: id, address, direction, version, user "
                     "agent, heights, bytes, ping and ban score.");
    bwc_rpc_register(s, "getconnectioncount", getconnectioncount, n, "",
                     "getconnectioncount\nThe number of P2P connections.");
    bwc_rpc_register(s, "listbanned", listbanned, n, "",
                     "listbanned\nBanned addresses and subnets, with the time the ban ends.");
    bwc_rpc_register(s, "setban", setban, n, "subnet,command,bantime",
                     "setban \"subnet\" \"add|remove\" ( bantime )\nBans an IP or subnet "
                     "(\"ip/bits\") for bantime seconds (default 86400), or lifts a ban.");
    bwc_rpc_register(s, "clearbanned", clearbanned, n, "", "clearbanned\nLifts every ban.");
    bwc_rpc_register(s, "disconnectnode", disconnectnode, n, "address,nodeid",
                     "disconnectnode ( \"address\" nodeid )\nCloses the connection to a peer, "
                     "by address (as getpeerinfo shows it) or by id.");
    bwc_rpc_register(s, "addnode", addnode, n, "node,command",
                     "addnode \"node\" \"add|remove|onetry\"\nKeeps a connection to node "
                     "(IP[:port]), forgets it, or connects to it once.");
}
