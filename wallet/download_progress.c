/* download_progress.c: rate, time left and the progress line of a download. */
#include "wallet/download_progress.h"

#include <stdio.h>
#include <string.h>

void bwc_dl_progress_init(bwc_dl_progress *p, uint64_t total, uint64_t have, uint64_t now_ms)
{
    memset(p, 0, sizeof *p);
    p->total = total;
    p->start = p->done = have;
    p->start_ms = now_ms;
    bwc_dl_progress_update(p, have, now_ms);
}

void bwc_dl_progress_update(bwc_dl_progress *p, uint64_t done, uint64_t now_ms)
{
    p->done = done;
    /* One sample per 200 ms is plenty for a 5 s window of 32 samples. */
    if (p->count) {
        size_t last = (p->head + BWC_DL_RATE_SAMPLES - 1) % BWC_DL_RATE_SAMPLES;
        if (now_ms < p->s_ms[last] + 200) {
            p->s_done[last] = done;
            return;
        }
    }
    p->s_ms[p->head] = now_ms;
    p->s_done[p->head] = done;
    p->head = (p->head + 1) % BWC_DL_RATE_SAMPLES;
    if (p->count < BWC_DL_RATE_SAMPLES)
        p->count++;
}

uint64_t bwc_dl_progress_rate(const bwc_dl_progress *p, uint64_t now_ms)
{
    if (!p->count)
        return 0;
    /* The oldest sample still inside the window (or the oldest there is). */
    size_t oldest = (p->head + BWC_DL_RATE_SAMPLES - p->count) % BWC_DL_RATE_SAMPLES;
    size_t pick = oldest;
    for (size_t k = 0; k < p->count; k++) {
        size_t i = (oldest + k) % BWC_DL_RATE_SAMPLES;
        pick = i;
        if (now_ms < p->s_ms[i] + BWC_DL_RATE_WINDOW_MS)
            break;
    }
    uint64_t dt = now_ms > p->s_ms[pick] ? now_ms - p->s_ms[pick] : 0;
    uint64_t db = p->done > p->s_done[pick] ? p->done - p->s_done[pick] : 0;
    if (dt < 1000) {
        /* Under a second of samples says little: the average since the start, once there is a
         * twentieth of a second of it. */
        dt = now_ms > p->start_ms ? now_ms - p->start_ms : 0;
        db = p->done > p->start ? p->done - p->start : 0;
        if (dt < 50)
            return 0;
    }
    return (uint64_t)((unsigned __int128)db * 1000 / dt);
}

int bwc_dl_progress_due(bwc_dl_progress *p, uint64_t now_ms, int tty)
{
    uint64_t every = tty ? BWC_DL_DRAW_TTY_MS : BWC_DL_DRAW_LINE_MS;
    if (p->drawn && now_ms < p->last_draw_ms + every)
        return 0;
    p->drawn = 1;
    p->last_draw_ms = now_ms;
    return 1;
}

void bwc_dl_format_bytes(char *out, size_t len, uint64_t bytes)
{
    static const char *unit[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes < 1024) {
        snprintf(out, len, "%llu B", (unsigned long long)bytes);
        return;
    }
    double v = (double)bytes / 1024.0;
    size_t u = 0;
    while (v >= 1024.0 && u + 1 < sizeof unit / sizeof unit[0]) {
        v /= 1024.0;
        u++;
    }
    snprintf(out, len, v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

void bwc_dl_format_eta(char *out, size_t len, uint64_t secs)
{
    if (secs == UINT64_MAX || secs >= 100ull * 3600) {
        snprintf(out, len, "--:--");
        return;
    }
    unsigned h = (unsigned)(secs / 3600), m = (unsigned)(secs / 60 % 60), s = (unsigned)(secs % 60);
    if (h)
        snprintf(out, len, "%u:%02u:%02u", h, m, s);
    else
        snprintf(out, len, "%u:%02u", m, s);
}

void bwc_dl_progress_format(char *out, size_t len, const bwc_dl_progress *p, uint64_t now_ms,
                            unsigned relays, int width)
{
    char done[32], total[32], rate_s[32], eta[16], tail[160];
    uint64_t rate = bwc_dl_progress_rate(p, now_ms);
    uint64_t left = p->total > p->done ? p->total - p->done : 0;
    unsigned pct = p->total ? (unsigned)((unsigned __int128)p->done * 100 / p->total) : 100;
    bwc_dl_format_bytes(done, sizeof done, p->done);
    bwc_dl_format_bytes(total, sizeof total, p->total);
    bwc_dl_format_bytes(rate_s, sizeof rate_s, rate);
    bwc_dl_format_eta(eta, sizeof eta,
                      left == 0 ? 0
                      : rate    ? left / rate + (left % rate != 0)
                                : UINT64_MAX);
    if (width <= 0) {
        snprintf(out, len, "download: %u%% (%s of %s), %s/s, ETA %s, %u relay%s", pct, done, total,
                 rate_s, eta, relays, relays == 1 ? "" : "s");
        return;
    }
    /* Fixed widths, so the bar keeps its length while the numbers change. */
    int tl = snprintf(tail, sizeof tail, " %3u%%  %9s / %-9s %10s/s  ETA %7s  %2u relay%s", pct,
                      done, total, rate_s, eta, relays, relays == 1 ? " " : "s");
    if (tl < 0)
        tl = 0;
    /* The bar takes what the numbers leave, between 10 and 50 columns; on a narrow terminal the
     * bar goes and the numbers stay. */
    int bar = width - 1 - tl - 2;
    if (bar > 50)
        bar = 50;
    if (bar < 10) {
        snprintf(out, len, "%s", tail + 1);
        return;
    }
    char b[64];
    int fill = p->total ? (int)((unsigned __int128)p->done * (unsigned)bar / p->total) : bar;
    for (int i = 0; i < bar; i++)
        b[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
    b[bar] = '\0';
    snprintf(out, len, "[%s]%s", b, tail);
}
