/* download.h: the transfer of a download: chunks from several relays at once over keep-alive
 * connections, each checked against the manifest, written in place into FILE.part and
 * countersigned, with the resume state kept in FILE.part.state, a progress display, the final
 * receipts, and FILE renamed into place at the end. bwc-wallet download (cmd_download.c)
 * chooses the relays and channels; this runs on a libevent loop. doc/wallet.md describes it. */
#ifndef BWC_WALLET_DOWNLOAD_H
#define BWC_WALLET_DOWNLOAD_H

#include <stddef.h>
#include <stdint.h>

#include <secp256k1.h>

#include "consensus/manifest.h"
#include "consensus/types.h"
#include "wallet/download_http.h"
#include "wallet/download_receipt.h"
#include "wallet/download_select.h"
#include "wallet/download_state.h"

struct event_base;
struct evdns_base;

/* Seconds of silence before a relay connection is given up. */
#define BWC_DL_HTTP_TIMEOUT 30
/* A download that verifies nothing for this long, from any relay, stops (exit 2). */
#define BWC_DL_STALL_SECONDS 300
/* Exit code of a download stopped by SIGINT or SIGTERM: 128 + the signal, as shells report. */
#define BWC_DL_EXIT_SIGNAL_BASE 128

/* One relay the transfer uses. channel: the index of its channel in the state, or -1 for a
 * relay that serves without payment (price 0). Results are filled by bwc_dl_run. */
typedef struct {
    bwc_dl_relay info;
    long channel;
    /* results */
    uint64_t chunks, bytes; /* verified from it in this run */
    char dropped[200];      /* why it was left, "" when it was not */
    int final_status;       /* HTTP status of the final receipt's POST, 0: none sent or no
                               answer, -1: nothing to send */
} bwc_dl_source;

typedef struct {
    /* inputs */
    struct event_base *base;
    struct evdns_base *dns;
    const secp256k1_context *secp;
    const bwc_hash *chain_id;
    const unsigned char *seckey; /* the consumer's 32-byte secret: state->consumer's */
    const bwc_manifest *m;
    const char *file;       /* FILE */
    const char *part;       /* FILE.part */
    const char *state_path; /* FILE.part.state */
    bwc_dl_state *state;    /* channels indexed by the sources; changed in place */
    bwc_dl_source *sources;
    size_t n_sources;
    int rescan_all; /* hash every chunk FILE.part holds that the state does not count (no state
                       file was found next to an existing FILE.part) */
    int progress;   /* 0 none, 1 lines, 2 a bar (stderr is a terminal) */
    /* results */
    uint64_t had;   /* bytes verified before this run (resumed, or found by a rescan) */
    uint64_t bytes; /* bytes verified in this run */
    uint64_t ms;    /* duration of the transfer */
} bwc_download;

/* Runs the transfer until FILE is complete (0), or fails with an exit code and err: WEXIT_USAGE
 * (1) when FILE.part or the state cannot be written, WEXIT_NODE (2) when no relay is left or
 * nothing arrives for BWC_DL_STALL_SECONDS, BWC_DL_EXIT_SIGNAL_BASE + signal when interrupted
 * (the state is saved: the same command resumes). On 0 the final receipts were posted,
 * FILE.part was checked chunk by chunk on disk, renamed to FILE, and the state file removed. */
int bwc_dl_run(bwc_download *d, char *err, size_t errlen);

/* GET /v1/channel/{id} on c (blocking) and parse it: 404 gives a view with found 0. For a pool
 * lane pool_consumer is the consumer's key (sent as Bwc-Consumer), NULL for a channel. Returns
 * 0, or -1 with err (no answer, another status, or a view that does not parse). */
int bwc_dl_fetch_view(bwc_dl_conn *c, const bwc_hash *channel, const bwc_pubkey *pool_consumer,
                      bwc_dl_relay_view *v, char *err, size_t errlen);

/* Reconciles channel c with relay view v (bwc_dl_channel_resync) and signs the receipt it asks
 * for. Returns 1, or 0 with *why. */
int bwc_dl_reconcile(bwc_dl_channel *c, const secp256k1_context *secp, const bwc_hash *chain_id,
                     const unsigned char seckey[32], const bwc_pubkey *consumer,
                     const bwc_manifest *m, const bwc_hash *content_id, const bwc_dl_relay_view *v,
                     const char **why);

/* Monotonic milliseconds. */
uint64_t bwc_dl_now_ms(void);

#endif
