/* noderpc.h: the wallet's JSON-RPC calls to bwcd: one request per call, results as jansson
 * values, failures as an RPC error code and message. */
#ifndef BWC_WALLET_NODERPC_H
#define BWC_WALLET_NODERPC_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "wallet/rpcclient.h"

/* code is the node's JSON-RPC error code, or 0 when the failure was not an RPC error (the
 * node could not be reached, bad credentials, an unparseable reply). */
typedef struct {
    int code;
    char message[1024];
} bwc_node_error;

/* A connection to one node. Owns base: release with bwc_node_client_free. */
typedef struct {
    struct event_base *base;
    bwc_rpc_target target;
    int wait;             /* -rpcwait: retry while the node is unreachable or warming up */
    int64_t wait_timeout; /* seconds, 0 forever */
    int next_id;
} bwc_node_client;

/* Prepares a client for the target (copied). Returns 0, or -1 when libevent has no memory. */
int bwc_node_client_init(bwc_node_client *c, const bwc_rpc_target *t, int wait,
                         int64_t wait_timeout);

/* Frees what bwc_node_client_init allocated. Safe on a zeroed client. */
void bwc_node_client_free(bwc_node_client *c);

/* Calls method with params (an array; the reference is stolen; NULL means no parameters).
 * Returns a new reference to the result (json_null() for a null result), or NULL with e
 * filled. */
json_t *bwc_node_call(bwc_node_client *c, const char *method, json_t *params, bwc_node_error *e);

/* Reads an unsigned integer field of a reply object (a JSON integer >= 0, or a decimal string
 * for values above 2^63-1, as the node writes them). Returns 1 with *out set, or 0. */
int bwc_json_get_u64(const json_t *obj, const char *field, uint64_t *out);

#endif
