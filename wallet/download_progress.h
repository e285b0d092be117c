/* download_progress.h: what a download shows while it runs: the bar on a terminal, plain lines
 * otherwise, the transfer rate over the last seconds and the time left. Pure: times are passed
 * in (milliseconds). */
#ifndef BWC_WALLET_DOWNLOAD_PROGRESS_H
#define BWC_WALLET_DOWNLOAD_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

#define BWC_DL_RATE_SAMPLES 32
#define BWC_DL_RATE_WINDOW_MS 5000 /* the rate shown is over about this long */
#define BWC_DL_DRAW_TTY_MS 100     /* a bar is redrawn at most 10 times a second */
#define BWC_DL_DRAW_LINE_MS 5000   /* a plain line at most every 5 seconds */

typedef struct {
    uint64_t total;    /* bytes of the content */
    uint64_t start;    /* bytes verified when this run began */
    uint64_t done;     /* bytes verified now */
    uint64_t start_ms; /* when this run began */
    uint64_t last_draw_ms;
    int drawn;
    /* ring of (time, done) samples for the rate */
    uint64_t s_ms[BWC_DL_RATE_SAMPLES], s_done[BWC_DL_RATE_SAMPLES];
    size_t head, count;
} bwc_dl_progress;

void bwc_dl_progress_init(bwc_dl_progress *p, uint64_t total, uint64_t have, uint64_t now_ms);

/* Records that done bytes are verified at now_ms. */
void bwc_dl_progress_update(bwc_dl_progress *p, uint64_t done, uint64_t now_ms);

/* Bytes per second over the last BWC_DL_RATE_WINDOW_MS (or since the start when shorter). */
uint64_t bwc_dl_progress_rate(const bwc_dl_progress *p, uint64_t now_ms);

/* 1 when a redraw is due at now_ms (tty: every 100 ms; else every 5 s), and then records it. */
int bwc_dl_progress_due(bwc_dl_progress *p, uint64_t now_ms, int tty);

/* "1.50 MiB", "512 B", "3.20 GiB" into out. */
void bwc_dl_format_bytes(char *out, size_t len, uint64_t bytes);

/* "0:07", "12:03", "1:02:03"; "--:--" when unknown (secs UINT64_MAX). */
void bwc_dl_format_eta(char *out, size_t len, uint64_t secs);

/* The status line: with a width (tty) a bar
 *   "[=========>          ]  45%  12.3 MiB / 27.0 MiB  5.10 MiB/s  ETA 0:03  3 relays"
 * fitted to width columns; with width 0 a plain line
 *   "download: 45% (12.3 MiB of 27.0 MiB), 5.10 MiB/s, ETA 0:03, 3 relays". */
void bwc_dl_progress_format(char *out, size_t len, const bwc_dl_progress *p, uint64_t now_ms,
                            unsigned relays, int width);

#endif
