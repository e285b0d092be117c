/* node.h: the running node: everything bwcd's event loop and its RPC methods share. */
#ifndef BWC_NODE_NODE_H
#define BWC_NODE_NODE_H

#include <pthread.h>
#include <stdint.h>

#include <jansson.h>
#include <secp256k1.h>

#include "chainspec/chainspec.h"
#include "common/args.h"
#include "node/chain.h"
#include "node/mempool.h"
#include "node/net.h"
#include "node/rpcserver.h"
#include "node/store.h"

struct event_base;
struct event;
struct bwc_relay_server;

#define BWC_NODE_VERSION "0.1.0"
#define BWC_NODE_USER_AGENT "/bwcd:" BWC_NODE_VERSION "/"
#define BWC_PROTOCOL_VERSION 1

/* The PoW miner thread grinds a copy of the template; the loop thread owns everything else. */
typedef struct {
    pthread_t thread;
    int running;
    pthread_mutex_t lock;
    bwc_block work;       /* template being ground (loop thread writes under lock) */
    uint64_t work_seq;    /* bumped on every new template */
    int have_work;
    int stop;
    bwc_header found;     /* a solved header for template found_seq */
    uint64_t found_seq;
    int have_found;
    struct event *found_ev; /* activated by the miner thread (libevent is thread-enabled) */
} bwc_miner_state;

typedef struct bwc_node {
    struct event_base *base;
    bwc_args *args;
    bwc_chainspec spec;
    const bwc_params *params;
    secp256k1_context *secp;
    char chaindir[BWC_PATH_MAX];
    bwc_store *store;
    bwc_chain chain;
    bwc_mempool mempool;
    bwc_rpc_server *rpc;
    uint64_t start_time;
    /* block production */
    int have_producer_key; /* -producerkey: a PoA authority's secret */
    unsigned char producer_key[32];
    bwc_pubkey producer_pub;
    int have_mine_address; /* -mineraddress */
    bwc_pubkey mine_address;
    int mine;                  /* -mine */
    int64_t mine_interval_ms;  /* -mineinterval */
    uint64_t last_mined_ms;
    bwc_miner_state miner;
    struct event *produce_timer;
    const char *blocknotify;
    struct event *sig_events[3];
    int stopping;
    bwc_net net;
    int net_started;
    int lock_fd; /* <chaindir>/.lock, flock()ed while bwcd runs */
    struct bwc_relay_server *relay; /* -relay (node/rpc_relay.c), else NULL */
} bwc_node;

/* Wall clock in unix seconds and milliseconds (the node's only clock). */
uint64_t bwc_node_now(void);
uint64_t bwc_node_now_ms(void);

/* 1 while the node is catching up: its tip is more than 6 blocks behind the best header it
 * knows of. (Not Bitcoin Core's "tip older than a day": a dev or PoA chain may rest for days.) */
int bwc_node_in_ibd(const bwc_node *n);

/* Submits a block and runs what follows a new tip (template refresh, -blocknotify). */
bwc_submit_status bwc_node_submit_block(bwc_node *n, const unsigned char *bytes, size_t len,
                                        bwc_hash *id, bwc_result *res);

/* Builds, seals and submits one block on the tip for producer (pow: ground in this thread,
 * for chains with no_retarget; poa: signed with -producerkey at the given time). Returns 0
 * with id set, or -1 with res set. */
int bwc_node_produce(bwc_node *n, const bwc_pubkey *producer, uint64_t time, bwc_hash *id,
                     bwc_result *res);

/* RPC method groups (node/rpc_*.c). */
void bwc_rpc_register_chain(bwc_node *n);
void bwc_rpc_register_ledger(bwc_node *n);
void bwc_rpc_register_tx(bwc_node *n);
void bwc_rpc_register_net(bwc_node *n);
void bwc_rpc_register_relay(bwc_node *n);

/* -relay (node/rpc_relay.c): starts the relay when -relay is set (returns 0 without it), or -1
 * with err; tells it about a new tip; stops it (NULL relay is fine). */
int bwc_node_relay_start(bwc_node *n, char *err, size_t errlen);
void bwc_node_relay_block(bwc_node *n);
void bwc_node_relay_stop(bwc_node *n);

/* Tells peers about an object the node accepted (a no-op without P2P). */
void bwc_node_announce(bwc_node *n, int kind, const bwc_hash *id);

/* Parameter helpers for handlers: each returns 0, or -1 with err filled (RPC_TYPE_ERROR for a
 * wrong JSON type, RPC_INVALID_ADDRESS_OR_KEY / RPC_INVALID_PARAMETER for a bad value).
 * Optional parameters (JSON null) take def. */
int bwc_rpc_param_hash(json_t *params, size_t i, const char *name, bwc_hash *out,
                       bwc_rpc_error *err);
int bwc_rpc_param_address(const bwc_node *n, json_t *params, size_t i, bwc_pubkey *out,
                          bwc_rpc_error *err);
int bwc_rpc_param_int(json_t *params, size_t i, const char *name, int64_t def, int64_t min,
                      int64_t max, int64_t *out, bwc_rpc_error *err);
int bwc_rpc_param_bool(json_t *params, size_t i, const char *name, int def, int *out,
                       bwc_rpc_error *err);
/* A hex string parameter decoded into a new buffer (free()). */
int bwc_rpc_param_hex(json_t *params, size_t i, const char *name, unsigned char **out,
                      size_t *len, bwc_rpc_error *err);
/* 1 when parameter i is absent (past the end, or null). */
int bwc_rpc_param_absent(json_t *params, size_t i);

/* Where a confirmed transaction is: 1 with the block and its index in it, 0 when not on the
 * best chain, -1 on a storage error. */
int bwc_node_find_tx(bwc_node *n, const bwc_hash *txid, const bwc_index **blk, uint32_t *i);
/* The listtransactions entry of tx (txid, type, category for viewer (NULL: none), from, to,
 * amount, memo, fee, nonce; block fields when blk is not NULL). New reference. */
json_t *bwc_rpc_tx_entry(bwc_node *n, const bwc_tx *tx, const bwc_hash *txid,
                         const bwc_index *blk, const bwc_pubkey *viewer);

/* The error for an object the node refused (what: "TX", "block", ...): -22 when it does not
 * decode, -27 when it is confirmed already, -20 on a storage error, -26 with the reject string
 * when it breaks a rule. Returns NULL with err filled. */
json_t *bwc_rpc_refused(const bwc_result *res, const char *what, bwc_rpc_error *err);

/* The confirmations of a block: 0 for NULL (in the mempool), -1 when it is not on the best
 * chain, else the tip height - its height + 1. */
json_int_t bwc_rpc_confirmations(const bwc_node *n, const bwc_index *blk);

/* JSON helpers (hex: bwc_json_hex in common/objjson.h). */
json_t *bwc_rpc_address(const bwc_node *n, const bwc_pubkey *pk);

#endif
