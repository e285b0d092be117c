/* download_sched.h: which chunk a relay fetches next, what to do after each answer a relay
 * gives (PROTOCOL.md §8 statuses), and how long to leave a relay alone. Pure: no I/O; times
 * are passed in. */
#ifndef BWC_WALLET_DOWNLOAD_SCHED_H
#define BWC_WALLET_DOWNLOAD_SCHED_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/manifest.h"

/* The state of each chunk. */
enum {
    BWC_DL_MISSING = 0,
    BWC_DL_INFLIGHT = 1, /* asked of a relay, answer pending */
    BWC_DL_DONE = 2,     /* verified and written */
};

/* Chunks are handed out lowest index first, so the file fills from its start and a resumed
 * download rarely has holes. st is owned: bwc_dl_sched_free. */
typedef struct {
    const bwc_manifest *m; /* borrowed */
    size_t n;
    unsigned char *st;
    size_t n_done;
    uint64_t bytes_done;
    size_t low; /* no chunk below it is missing */
} bwc_dl_sched;

/* Bytes of a bitmap of n chunks: bit i is bit (i % 8) of byte i / 8. */
size_t bwc_dl_bitmap_len(size_t n);
int bwc_dl_bitmap_get(const unsigned char *bm, size_t i);
void bwc_dl_bitmap_set(unsigned char *bm, size_t i);

/* Starts a schedule for m's chunks; those set in verified (a bitmap, or NULL) are done.
 * Returns 1, or 0 when out of memory. */
int bwc_dl_sched_init(bwc_dl_sched *s, const bwc_manifest *m, const unsigned char *verified);
void bwc_dl_sched_free(bwc_dl_sched *s);

/* The lowest missing chunk, now in flight; -1 when none is missing. */
long bwc_dl_sched_take(bwc_dl_sched *s);

/* An in-flight chunk goes back to missing (its relay failed or sent a bad one). */
void bwc_dl_sched_release(bwc_dl_sched *s, size_t i);

/* A chunk (in flight or missing) is verified and written. */
void bwc_dl_sched_done(bwc_dl_sched *s, size_t i);

/* A done chunk turned out bad on disk (final check): missing again. */
void bwc_dl_sched_undo(bwc_dl_sched *s, size_t i);

/* 1 when every chunk is done. */
int bwc_dl_sched_complete(const bwc_dl_sched *s);

/* Writes the done chunks as a bitmap of bwc_dl_bitmap_len(s->n) bytes. */
void bwc_dl_sched_bitmap(const bwc_dl_sched *s, unsigned char *out);

/* ---- answers ---- */

typedef enum {
    BWC_DL_ACT_OK,     /* 200: a chunk to verify */
    BWC_DL_ACT_RESYNC, /* the relay and we disagree on the channel: read its view
                          (GET /v1/channel/{id}), reconcile, retry with the newest receipt */
    BWC_DL_ACT_WAIT,   /* try this relay again later (Retry-After, or a backoff) */
    BWC_DL_ACT_DROP,   /* do not use this relay again in this download */
} bwc_dl_action;

/* What to do after a chunk request answered status (0: no answer, the connection failed) with
 * the error code of its JSON body (NULL or "" when none):
 *   200 OK; 409 RESYNC; 402 channel-unknown WAIT (the relay's node has not seen the block that
 *   opened the channel yet); 402 deposit-exhausted, channel-expired, channel-wrong-relay,
 *   channel-price-too-low DROP; any other 402 RESYNC (the relay wants a receipt it does not
 *   have); 400 for a receipt (code bad-receipt-* or receipt-*) RESYNC, other 400 DROP;
 *   404, 416 DROP; 429, 503 and other 5xx WAIT; 0 WAIT; anything else DROP. */
bwc_dl_action bwc_dl_classify(int status, const char *code);

/* Most consecutive failures (WAIT for errors, not for Retry-After) and resyncs before a relay is
 * dropped. */
#define BWC_DL_MAX_FAILURES 6
#define BWC_DL_MAX_RESYNCS 3
/* A Retry-After longer than this drops the relay for this download (a quota that ends next
 * week is no reason to stall). */
#define BWC_DL_MAX_RETRY_AFTER 300

/* The backoff after the n-th consecutive failure (n >= 1): 500 ms doubling, at most 30 s. */
uint64_t bwc_dl_backoff_ms(unsigned n);

/* Parses a Retry-After header in delta-seconds ("120"). Returns 1 with *secs, or 0 (an HTTP
 * date or anything else: the caller uses a backoff). */
int bwc_dl_retry_after(const char *value, uint64_t *secs);

#endif
