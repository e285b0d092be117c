/* relay.h: the relay inside bwcd -relay: chunk store, HTTP API (PROTOCOL.md §8), receipt intake,
 * ceilings, pull-through and settlement, behind a small host interface.
 *
 * relay/ depends on consensus/ and common/, never on node/: the node hands it what it needs
 * through bwc_relay_host (the tip's state, its height, a way to submit a receipt to the
 * receipt pool). Everything runs on the event loop the relay was started on; no call here is
 * thread-safe. doc/relay.md is the operator's guide and lists the exact HTTP behaviour. */
#ifndef BWC_RELAY_RELAY_H
#define BWC_RELAY_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <secp256k1.h>

#include "consensus/params.h"
#include "consensus/result.h"
#include "consensus/state.h"
#include "consensus/types.h"

struct event_base;

/* Defaults, used where bwc_relay_config leaves a field 0 (PROTOCOL.md §8 for the window). */
#define BWC_RELAY_CREDIT_WINDOW (1u << 20)      /* bytes served ahead of the newest receipt */
#define BWC_RELAY_CREDIT_WINDOW_MAX (64u << 20) /* bounds the delivery log kept per lane */
#define BWC_RELAY_CREDIT_WINDOW_MIN 16384u       /* at least one small chunk ahead */
#define BWC_RELAY_SETTLE_MULTIPLE 10u           /* settle once unsettled >= this x receipt_fee */
#define BWC_RELAY_STORE_MIB 10240u              /* -relaystore */
#define BWC_RELAY_MAX_CONNECTIONS 512u          /* beyond this, requests get 503 */
#define BWC_RELAY_TIMEOUT_SECONDS 30            /* idle or stalled connection */
#define BWC_RELAY_MAX_HEADER_BYTES 8192u        /* request line + headers */
#define BWC_RELAY_MAX_BODY_BYTES 4096u          /* a POSTed receipt is at most 512 bytes */
#define BWC_RELAY_MAX_FETCHES 16u               /* concurrent pull-through fetches */
#define BWC_RELAY_FETCH_TIMEOUT_SECONDS 10      /* one upstream request */
#define BWC_RELAY_MAX_UPSTREAMS 8u              /* upstreams tried for one object */
#define BWC_RELAY_PERIOD_SECONDS (30u * 86400u) /* quota period (PROTOCOL.md §3.2: 30 days) */
#define BWC_RELAY_BURST_MIN_HOURS 12u
#define BWC_RELAY_BURST_MAX_HOURS 48u

/* What the node provides. Every function is called on the loop thread.
 * view:    the best chain tip's state, read-only (valid until the loop runs again).
 * height:  the tip's height (receipts are checked for the next block, height + 1).
 * submit_receipt: adds a receipt carrying both signatures to the node's receipt pool and
 *          gossips it; returns 1, or 0 with res set (consensus or pool reject string).
 * scan_relays (optional, may be NULL): calls fn for each relay record of the state until fn
 *          returns non-zero; returns 0, or -1 on a storage error. Pull-through uses it to find
 *          other relays. */
typedef struct {
    void *ctx;
    bwc_state_view (*view)(void *ctx);
    uint64_t (*height)(void *ctx);
    int (*submit_receipt)(void *ctx, const unsigned char *bytes, size_t len, bwc_hash *rid,
                          bwc_result *res);
    int (*scan_relays)(void *ctx, int (*fn)(void *arg, const bwc_pubkey *who, const bwc_relay *rec),
                       void *arg);
} bwc_relay_host;

/* Settings. Strings and arrays are copied by bwc_relay_start. Zero fields take the defaults
 * above where one is named. */
typedef struct {
    const char *dir;          /* <datadir>/<chain>/relay: created 0700 if missing */
    const bwc_params *params; /* the chain's (kept by reference: must outlive the relay) */
    const bwc_hash *chain_id;
    const char *hrp;               /* for addresses in JSON */
    const secp256k1_context *secp; /* kept by reference */
    const char *version;           /* shown by /v1/status ("0.1.0") */
    const char *const *bind;       /* numeric IPv4/IPv6 addresses; none: 127.0.0.1 */
    size_t n_bind;
    uint16_t port;        /* 0: a free port (tests) */
    const char *keyfile;  /* NULL: <dir>/relay.key, created 0600 on first start */
    uint64_t store_bytes; /* chunk store limit */
    uint64_t rate;        /* bytes per second, 0: unlimited */
    uint64_t quota;       /* bytes per 30 days, 0: unlimited */
    uint64_t burst_quota; /* bytes per 30 days during a burst (0: quota) */
    uint64_t burst_hours; /* open a burst window of this many hours at start (0: no) */
    uint64_t price;       /* units per MiB asked (0: every content is free) */
    const char *region;   /* two capitals; NULL: "ZZ" */
    uint64_t credit_window;
    uint64_t settle_multiple;
    const bwc_hash *free_ids; /* content served without payment */
    size_t n_free;
    const char *const *peers; /* -relaypeer endpoints "http://host:port" for pull-through */
    size_t n_peers;
    unsigned max_connections;
    int timeout_seconds;
    unsigned max_fetches;
    /* The clock (unix milliseconds). NULL: the real one. Tests pass a fake one. */
    uint64_t (*now_ms)(void *ctx);
    void *now_ctx;
} bwc_relay_config;

/* The running relay (bwc_relay is the chain's relay record, consensus/state.h). */
typedef struct bwc_relay_server bwc_relay_server;

/* Creates the relay directory, loads or creates the key, opens the chunk store and the relay
 * state database, binds the HTTP server on base and checks settlement once. Returns the relay,
 * or NULL with err filled (errlen bytes). Free with bwc_relay_stop. */
bwc_relay_server *bwc_relay_start(struct event_base *base, const bwc_relay_config *cfg,
                                  const bwc_relay_host *host, char *err, size_t errlen);

/* Answers requests still waiting for an upstream (503), stops listening, closes every
 * connection, the store and the database, wipes the key and frees the relay. NULL is fine.
 * Call from outside a request callback. */
void bwc_relay_stop(bwc_relay_server *r);

/* The node's tip changed: settles what is due (PROTOCOL.md §5: before every settle window
 * closes) and forgets lanes whose channel or pool can no longer settle. */
void bwc_relay_on_block(bwc_relay_server *r);

/* The port the first listening socket is bound to. */
uint16_t bwc_relay_port(const bwc_relay_server *r);

/* getrelaystats: address, served bytes, earnings, ceilings, burst, lanes, store. New
 * reference, or NULL when out of memory. */
json_t *bwc_relay_stats(bwc_relay_server *r);

/* Opens a burst window of hours (12..48) from now, or ends the current one (hours 0). The
 * window is persisted. Returns 0, or -1 with err. */
int bwc_relay_burst(bwc_relay_server *r, uint64_t hours, char *err, size_t errlen);

/* relayimport: builds the manifest of the file at path (chunk_size 0: 256 KiB), stores the
 * manifest and every chunk (checked against the manifest as they are copied), sets the
 * content's pin to pin (also when it was held before), and writes the content id to *cid. Returns 0, or -1 with err. Blocks the loop while it reads
 * the file. */
int bwc_relay_import(bwc_relay_server *r, const char *path, int pin, uint64_t chunk_size,
                     bwc_hash *cid, char *err, size_t errlen);

#endif
