/* relay_internal.h: the relay object shared by relay.c (lifecycle, lanes, settlement), http.c
 * (the HTTP API) and fetch.c (pull-through). Not for use outside relay/. */
#ifndef BWC_RELAY_RELAY_INTERNAL_H
#define BWC_RELAY_RELAY_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "common/map.h"
#include "relay/ceiling.h"
#include "relay/chunkstore.h"
#include "relay/db.h"
#include "relay/lane.h"
#include "relay/relay.h"

struct evhttp;
struct evhttp_request;
struct evhttp_connection;
struct evdns_base;

typedef struct relay_conn relay_conn;
typedef struct relay_fetch relay_fetch;

struct bwc_relay_server {
    struct event_base *base;
    bwc_relay_config cfg; /* strings and arrays below are our copies */
    bwc_relay_host host;
    char dir[4096];
    char region[3];
    char version[32];
    char **peers;
    size_t n_peers;
    bwc_map free_ids; /* content id -> (void *)1 */
    /* key */
    unsigned char key[32];
    bwc_pubkey pub;
    /* storage */
    bwc_chunkstore *store;
    bwc_relay_db *db;
    bwc_map lanes; /* lane key -> bwc_relay_lane * */
    /* ceilings */
    bwc_relay_bucket bucket;
    bwc_relay_quota quota;
    /* HTTP */
    struct evhttp *http;
    uint16_t port;
    relay_conn *conns;
    unsigned n_conns;
    /* pull-through */
    struct evdns_base *dns;
    relay_fetch *fetches;
    unsigned n_fetches;
    struct evhttp_connection **done_conns; /* finished upstream connections, freed by reap_ev */
    size_t n_done, cap_done;
    struct event *reap_ev;
    /* counters since start */
    uint64_t chunks_served;
    uint64_t requests;
    uint64_t receipts_accepted;
    uint64_t settlements;
    uint64_t last_settle_height;
};

/* The clock. */
uint64_t bwc_relay_now_ms(const bwc_relay_server *r);
static inline uint64_t bwc_relay_now(const bwc_relay_server *r)
{
    return bwc_relay_now_ms(r) / 1000u;
}

/* The lane for key, loaded from memory or created empty (id/consumer as in bwc_relay_lane_init).
 * NULL when out of memory. */
bwc_relay_lane *bwc_relay_lane_get(bwc_relay_server *r, const bwc_hash *id,
                                   const bwc_pubkey *consumer, int create);

/* Writes a lane (and optionally one new log entry, dropped entries and the quota) in one batch.
 * Returns 0, or -1 (logged). */
int bwc_relay_persist(bwc_relay_server *r, const bwc_relay_lane *l, const bwc_relay_lane_entry *e,
                      const uint64_t *dropped, size_t n_dropped, int with_quota);

/* HTTP server (http.c). */
int bwc_relay_http_start(bwc_relay_server *r, char *err, size_t errlen);
void bwc_relay_http_stop(bwc_relay_server *r);

/* Pull-through (fetch.c). What a waiting request is resumed with. */
typedef struct {
    const bwc_hash *cid;
    int is_manifest;
    uint32_t index;
    const unsigned char *data; /* chunk bytes when the store could not keep them, else NULL */
    size_t len;
} bwc_relay_fetched;

/* Starts (or joins) a fetch of cid's manifest (is_manifest) or chunk index, and parks req on it.
 * When the fetch ends, resume(r, req, fetched) runs for a success (the object is in the store, or
 * in fetched->data) and fail(r, req, status, code, retry_after) for a failure. Returns 0 when
 * parked, or -1 with *status (503 too many fetches or no memory, 404 no upstream). */
typedef void (*bwc_relay_resume_fn)(bwc_relay_server *r, struct evhttp_request *req,
                                    const bwc_relay_fetched *f);
typedef void (*bwc_relay_fail_fn)(bwc_relay_server *r, struct evhttp_request *req, int status,
                                  const char *code, unsigned retry_after);
int bwc_relay_fetch(bwc_relay_server *r, struct evhttp_request *req, const bwc_hash *cid,
                    int is_manifest, uint32_t index, bwc_relay_resume_fn resume,
                    bwc_relay_fail_fn fail, int *status);
/* Answers every parked request with 503 and cancels every fetch. */
void bwc_relay_fetch_stop(bwc_relay_server *r);

#endif
