/* rpcclient.h: the JSON-RPC transport to bwcd (libevent evhttp, cookie or user/password
 * auth), shared by bwc-cli and bwc-wallet. */
#ifndef BWC_WALLET_RPCCLIENT_H
#define BWC_WALLET_RPCCLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "common/args.h"

#define BWC_RPC_DEFAULT_CONNECT "127.0.0.1"
#define BWC_RPC_DEFAULT_CLIENT_TIMEOUT 900 /* seconds, as bitcoin-cli */
#define BWC_RPC_DEFAULT_WAIT_TIMEOUT 60    /* seconds of -rpcwait; bitcoin-cli waits forever */
#define BWC_RPC_IN_WARMUP (-28)

/* Where and how to connect. user and password point into the options (bwc_args) they came
 * from, which must outlive the target. */
typedef struct {
    char host[256];
    uint16_t port;
    char cookie_path[BWC_PATH_MAX];
    const char *user, *password;
    int timeout; /* seconds for one request */
} bwc_rpc_target;

/* Fills *t from the options -rpcconnect, -rpcport, -rpcclienttimeout, -rpcuser,
 * -rpcpassword and -rpccookiefile of a (which must know them), for the chain named chain
 * whose default RPC port is chain_port. The port is -rpcport, else a port in -rpcconnect,
 * else chain_port; the cookie is <datadir>/<chain>/.cookie unless -rpccookiefile says
 * otherwise. Returns 0, or -1 with err (the message alone, no "error: " prefix). */
int bwc_rpc_target_from_args(bwc_rpc_target *t, const bwc_args *a, const char *chain,
                             uint16_t chain_port, char *err, size_t errlen);

typedef enum {
    BWC_RPC_CALL_OK,    /* *reply is the parsed reply object (result or error inside) */
    BWC_RPC_CALL_RETRY, /* transient: no server, warmup (then *reply is set), no cookie yet */
    BWC_RPC_CALL_FAIL,  /* permanent: bad credentials, HTTP error, unparseable reply */
} bwc_rpc_outcome;

/* Posts one JSON-RPC request body to the node and runs base until the answer. On OK, and on
 * RETRY during warmup, *reply is a new reference to the reply object (the caller
 * json_decrefs it); otherwise NULL. For RETRY and FAIL, msg says why (no "error: " prefix),
 * e.g. "could not connect to the server 127.0.0.1:18743 (error code 1 - \"timeout
 * reached\")". Credentials are wiped from memory after use. */
bwc_rpc_outcome bwc_rpc_post(struct event_base *base, const bwc_rpc_target *t, const char *body,
                             json_t **reply, char *msg, size_t msglen);

#endif
