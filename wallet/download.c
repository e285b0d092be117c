/* download.c: the transfer loop of bwc-wallet download: parallel chunk requests on a libevent
 * loop, verification, countersigning, resume state, progress, final receipts, the rename. */
#define _GNU_SOURCE /* SEEK_DATA: skip the holes of a sparse FILE.part */
#include "wallet/download.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "common/base64url.h"
#include "common/fileio.h"
#include "common/hex.h"
#include "common/random.h"
#include "wallet/amount.h"
#include "consensus/key.h"
#include "wallet/download_progress.h"
#include "wallet/download_sched.h"
#include "wallet/wallet.h"

#define VIEW_MAX_BODY (4u << 20) /* a channel view lists at most a credit window of deliveries */
#define CHECKPOINT_MS 2000       /* FILE.part and the state reach the disk this often */
#define UNKNOWN_CHANNEL_WAITS 30 /* 402 channel-unknown: the relay's node may lag a block */
#define UNKNOWN_CHANNEL_WAIT_MS 2000

uint64_t bwc_dl_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- helpers shared with cmd_download.c ---- */

int bwc_dl_fetch_view(bwc_dl_conn *c, const bwc_hash *channel, const bwc_pubkey *pool_consumer,
                      bwc_dl_relay_view *v, char *err, size_t errlen)
{
    char path[96], hex[65], chex[65];
    const char *headers[3] = {NULL};
    bwc_dl_reply r;
    memset(v, 0, sizeof *v);
    bwc_hex_encode(hex, channel->b, 32);
    snprintf(path, sizeof path, "/v1/channel/%s", hex);
    if (pool_consumer) {
        bwc_hex_encode(chex, pool_consumer->b, 32);
        headers[0] = "Bwc-Consumer";
        headers[1] = chex;
    }
    if (bwc_dl_fetch(c, 0, path, headers, NULL, NULL, 0, &r) != 0) {
        snprintf(err, errlen, "GET %s failed: %s", path, r.error[0] ? r.error : "out of memory");
        bwc_dl_reply_free(&r);
        return -1;
    }
    int rc = -1;
    if (r.status == 404) {
        rc = 0; /* the relay holds nothing for the channel */
    } else if (r.status == 200) {
        json_t *j = json_loadb((const char *)r.body, r.len, 0, NULL);
        rc = j && bwc_dl_relay_view_parse(v, j, channel, err, errlen) ? 0 : -1;
        if (!j)
            snprintf(err, errlen, "GET %s: the answer is not JSON", path);
        json_decref(j);
    } else if (r.status == 0) {
        snprintf(err, errlen, "GET %s: %s", path, r.error);
    } else {
        snprintf(err, errlen, "GET %s answered %d %s", path, r.status, r.code);
    }
    bwc_dl_reply_free(&r);
    return rc;
}

int bwc_dl_reconcile(bwc_dl_channel *c, const secp256k1_context *secp, const bwc_hash *chain_id,
                     const unsigned char seckey[32], const bwc_pubkey *consumer,
                     const bwc_manifest *m, const bwc_hash *content_id, const bwc_dl_relay_view *v,
                     const char **why)
{
    bwc_dl_channel t = *c;
    bwc_receipt next;
    unsigned char aux[32];
    int need;
    if (!bwc_dl_channel_resync(&t, secp, chain_id, consumer, m, content_id, v, &next, &need, why))
        return 0;
    if (need) {
        if (bwc_random_bytes(aux, sizeof aux) != 0 ||
            !bwc_dl_receipt_sign(secp, &next, seckey, chain_id, aux)) {
            *why = "sign-failed";
            return 0;
        }
        bwc_dl_channel_adopt(&t, &next);
        t.unsent = 1;
    }
    *c = t;
    return 1;
}

/* ---- the run ---- */

typedef enum { P_IDLE, P_CHUNK, P_VIEW, P_WAIT, P_DROPPED } peer_state;

typedef struct run_ctx run_ctx;

typedef struct {
    run_ctx *x;
    bwc_dl_source *src;
    bwc_dl_conn *conn;
    peer_state st;
    long chunk;
    int needs_resync;
    int mismatch; /* its record of the channel cannot be reconciled with ours */
    unsigned failures, resyncs, unknown;
    struct event *timer;
} peer;

struct run_ctx {
    bwc_download *d;
    peer *peers;
    peer **batch;
    bwc_dl_sched sched;
    int fd;
    int dirty;    /* the state changed since it was last written */
    int unsynced; /* ... since the last checkpoint */
    int done, code, signal;
    char *err;
    size_t errlen;
    uint64_t last_checkpoint_ms, last_progress_ms;
    bwc_dl_progress prog;
    int bar_visible;
    struct event *tick, *sigint, *sigterm;
};

static void kick(run_ctx *x);

static void note(run_ctx *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(run_ctx *x, const char *fmt, ...)
{
    va_list ap;
    if (x->bar_visible) {
        fputs("\r\033[K", stderr);
        x->bar_visible = 0;
    }
    fputs("download: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void fail(run_ctx *x, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(run_ctx *x, int code, const char *fmt, ...)
{
    va_list ap;
    if (x->code)
        return;
    x->code = code;
    va_start(ap, fmt);
    vsnprintf(x->err, x->errlen, fmt, ap);
    va_end(ap);
    event_base_loopbreak(x->d->base);
}

static bwc_dl_channel *channel_of(const peer *p)
{
    return p->src->channel >= 0 ? &p->x->d->state->channels[p->src->channel] : NULL;
}

static void drop(peer *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void drop(peer *p, const char *fmt, ...)
{
    va_list ap;
    if (p->st == P_DROPPED)
        return;
    va_start(ap, fmt);
    vsnprintf(p->src->dropped, sizeof p->src->dropped, fmt, ap);
    va_end(ap);
    p->st = P_DROPPED;
    evtimer_del(p->timer);
    note(p->x, "leaving relay %s: %s", p->src->info.endpoint, p->src->dropped);
}

static void wait_ms(peer *p, uint64_t ms)
{
    struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)(ms % 1000 * 1000)};
    p->st = P_WAIT;
    evtimer_add(p->timer, &tv);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    peer *p = arg;
    (void)fd;
    (void)what;
    if (p->st == P_WAIT)
        p->st = P_IDLE;
    kick(p->x);
}

/* A failure worth a backoff (no answer, a 5xx): after BWC_DL_MAX_FAILURES in a row, drop. */
static void backoff(peer *p, const char *what)
{
    if (++p->failures > BWC_DL_MAX_FAILURES) {
        drop(p, "%s (%u times in a row)", what, p->failures);
        return;
    }
    wait_ms(p, bwc_dl_backoff_ms(p->failures));
}

/* Honours Retry-After (429, 503) or falls back to a backoff. */
static void retry_later(peer *p, const bwc_dl_response *r, const char *what)
{
    uint64_t secs;
    if (r->status && bwc_dl_retry_after(r->retry_after, &secs)) {
        if (secs > BWC_DL_MAX_RETRY_AFTER) {
            drop(p, "%s for %llu s (Retry-After)", what, (unsigned long long)secs);
            return;
        }
        wait_ms(p, secs ? secs * 1000 : 500);
        return;
    }
    backoff(p, what);
}

static int save_state(run_ctx *x, int durable)
{
    char err[512];
    bwc_dl_sched_bitmap(&x->sched, x->d->state->verified);
    if (durable && fdatasync(x->fd) != 0) {
        fail(x, WEXIT_USAGE, "cannot sync %s: %s", x->d->part, strerror(errno));
        return -1;
    }
    if (bwc_dl_state_save(x->d->state_path, x->d->state, durable, err, sizeof err) != 0) {
        fail(x, WEXIT_USAGE, "%s", err);
        return -1;
    }
    x->dirty = 0;
    if (durable) {
        x->unsynced = 0;
        x->last_checkpoint_ms = bwc_dl_now_ms();
    } else {
        x->unsynced = 1;
    }
    return 0;
}

static int write_chunk(run_ctx *x, size_t i, const unsigned char *p, size_t n)
{
    off_t off = (off_t)(i * x->d->m->chunk_size);
    while (n) {
        ssize_t w = pwrite(x->fd, p, n, off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
        off += w;
    }
    return 0;
}

/* Reads chunk i of FILE.part into buf (chunk_size bytes) and checks it. 1 when it is good. */
static int chunk_on_disk(run_ctx *x, size_t i, unsigned char *buf)
{
    const bwc_manifest *m = x->d->m;
    size_t len = (size_t)bwc_manifest_chunk_len(m, i), got = 0;
    off_t off = (off_t)(i * m->chunk_size);
    bwc_hash h;
    /* A chunk entirely in a hole of the sparse file was never written. */
    off_t data = lseek(x->fd, off, SEEK_DATA);
    if (data < 0 || data >= off + (off_t)len)
        return 0;
    while (got < len) {
        ssize_t r = pread(x->fd, buf + got, len - got, off + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return 0;
        got += (size_t)r;
    }
    return bwc_dl_chunk_verify(m, (uint32_t)i, buf, len, &h);
}

static int in_pending(const bwc_dl_state *s, size_t i)
{
    for (size_t c = 0; c < s->n_channels; c++)
        for (size_t k = 0; k < s->channels[c].n_pending; k++)
            if (s->channels[c].pending[k] == i)
                return 1;
    return 0;
}

/* Chunks FILE.part may hold that the state does not count: a write that a crash kept from the
 * state (a pending chunk), or everything when there was no state. */
static int rescan(run_ctx *x)
{
    unsigned char *buf = malloc(x->d->m->chunk_size);
    size_t found = 0;
    if (!buf)
        return -1;
    for (size_t i = 0; i < x->sched.n; i++)
        if (x->sched.st[i] != BWC_DL_DONE && (x->d->rescan_all || in_pending(x->d->state, i)) &&
            chunk_on_disk(x, i, buf)) {
            bwc_dl_sched_done(&x->sched, i);
            found++;
        }
    free(buf);
    if (found)
        x->dirty = 1;
    if (found && x->d->progress)
        note(x, "%zu chunk%s already in %s checked good", found, found == 1 ? "" : "s", x->d->part);
    return 0;
}

/* The final check: every chunk as it is on disk. Returns how many failed (now missing). */
static size_t verify_on_disk(run_ctx *x)
{
    unsigned char *buf = malloc(x->d->m->chunk_size);
    size_t bad = 0;
    if (!buf) {
        fail(x, WEXIT_USAGE, "out of memory");
        return 0;
    }
    for (size_t i = 0; i < x->sched.n; i++)
        if (!chunk_on_disk(x, i, buf)) {
            bwc_dl_sched_undo(&x->sched, i);
            bad++;
        }
    free(buf);
    return bad;
}

/* ---- progress ---- */

static int term_width(void)
{
    struct winsize ws;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20)
        return ws.ws_col;
    return 80;
}

static unsigned relays_in_use(const run_ctx *x)
{
    unsigned n = 0;
    for (size_t i = 0; i < x->d->n_sources; i++)
        n += x->peers[i].st != P_DROPPED;
    return n;
}

static void draw(run_ctx *x, uint64_t now, int force)
{
    char line[256];
    int tty = x->d->progress == 2;
    if (!x->d->progress)
        return;
    bwc_dl_progress_update(&x->prog, x->sched.bytes_done, now);
    if (!bwc_dl_progress_due(&x->prog, now, tty) && !force)
        return;
    bwc_dl_progress_format(line, sizeof line, &x->prog, now, relays_in_use(x),
                           tty ? term_width() : 0);
    if (tty) {
        fprintf(stderr, "\r%s\033[K", line);
        x->bar_visible = 1;
    } else {
        fprintf(stderr, "%s\n", line);
    }
    fflush(stderr);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    run_ctx *x = arg;
    uint64_t now = bwc_dl_now_ms();
    (void)fd;
    (void)what;
    if (x->unsynced && now - x->last_checkpoint_ms >= CHECKPOINT_MS)
        save_state(x, 1);
    if (now - x->last_progress_ms > BWC_DL_STALL_SECONDS * 1000ull)
        fail(x, WEXIT_NODE, "nothing arrived for %d seconds from any relay", BWC_DL_STALL_SECONDS);
    draw(x, now, 0);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    run_ctx *x = arg;
    (void)what;
    x->signal = (int)sig;
    event_base_loopbreak(x->d->base);
}

/* ---- requests ---- */

static void on_chunk(void *arg, const bwc_dl_response *r);
static void on_view(void *arg, const bwc_dl_response *r);

static void start_view(peer *p)
{
    char path[96], hex[65], chex[65];
    const char *headers[3] = {NULL};
    const bwc_dl_channel *lane = channel_of(p);
    bwc_hex_encode(hex, lane->id.b, 32);
    snprintf(path, sizeof path, "/v1/channel/%s", hex);
    if (lane->is_pool) { /* a pool has a lane per consumer: name ours */
        bwc_hex_encode(chex, lane->consumer.b, 32);
        headers[0] = "Bwc-Consumer";
        headers[1] = chex;
    }
    p->st = P_VIEW;
    if (bwc_dl_request(p->conn, 0, path, headers, NULL, NULL, 0, on_view, p) != 0) {
        p->st = P_IDLE;
        backoff(p, "cannot send a request");
    }
}

static void send_chunk(peer *p)
{
    run_ctx *x = p->x;
    char path[128], cid[65], chan[65], chex[65], tb64[100];
    char b64[2 * BWC_RECEIPT_MAX_BYTES];
    const char *headers[9] = {NULL};
    size_t nh = 0;
    bwc_dl_channel *ch = channel_of(p);
    int was_unsent = ch ? ch->unsent : 0;
    bwc_hex_encode(cid, x->d->state->content_id.b, 32);
    snprintf(path, sizeof path, "/v1/chunk/%s/%ld", cid, p->chunk);
    if (ch) {
        bwc_hex_encode(chan, ch->id.b, 32);
        headers[nh++] = ch->is_pool ? "Bwc-Pool" : "Bwc-Channel";
        headers[nh++] = chan;
        if (ch->is_pool) {
            bwc_hex_encode(chex, ch->consumer.b, 32);
            headers[nh++] = "Bwc-Consumer";
            headers[nh++] = chex;
            if (ch->has_ticket && bwc_b64url_encode(tb64, sizeof tb64, ch->ticket.b, 64)) {
                headers[nh++] = "Bwc-Ticket";
                headers[nh++] = tb64;
            }
        }
        if (ch->has_receipt) {
            /* Every paid request carries a receipt that no request carried before (kick signs
             * a fresh one at the newest point when the newest went out already). */
            bwc_buf enc = BWC_BUF_INIT;
            if (bwc_receipt_encode(&ch->newest, &enc) &&
                bwc_b64url_encode(b64, sizeof b64, enc.data, enc.len)) {
                headers[nh++] = "Bwc-Receipt";
                headers[nh++] = b64;
                ch->unsent = 0;
            }
            bwc_buf_free(&enc);
        }
    }
    if (bwc_dl_request(p->conn, 0, path, headers, NULL, NULL, 0, on_chunk, p) != 0) {
        if (ch) /* nothing went out */
            ch->unsent = was_unsent;
        bwc_dl_sched_release(&x->sched, (size_t)p->chunk);
        p->chunk = -1;
        p->st = P_IDLE;
        backoff(p, "cannot send a request");
    }
}

static int parse_u64(const char *s, uint64_t *v)
{
    char err[128];
    return s && bwc_uint_parse(v, s, "value", err, sizeof err) == 0;
}

static void on_chunk(void *arg, const bwc_dl_response *r)
{
    peer *p = arg;
    run_ctx *x = p->x;
    bwc_download *d = x->d;
    bwc_dl_channel *ch = channel_of(p);
    long i = p->chunk;
    const char *code = r->code[0] ? r->code : "no code";
    p->chunk = -1;
    p->st = P_IDLE;
    bwc_dl_action act = bwc_dl_classify(r->status, r->code);
    if (act != BWC_DL_ACT_OK)
        bwc_dl_sched_release(&x->sched, (size_t)i);
    switch (act) {
    case BWC_DL_ACT_OK: {
        bwc_hash h;
        if (!bwc_dl_chunk_verify(d->m, (uint32_t)i, r->body, r->len, &h)) {
            /* Never paid for: no receipt covers it, and this relay gets no more requests. The
             * channel remembers it (saved with the state), so a resumed download neither
             * mistakes the bad delivery for a lost one to pay for nor asks this relay again. */
            bwc_dl_sched_release(&x->sched, (size_t)i);
            if (ch) {
                bwc_dl_pending_remove(ch, (uint32_t)i);
                ch->caught = 1;
                x->dirty = 1;
            }
            drop(p,
                 "chunk %ld failed its check (%zu bytes, not the manifest's SHA-256); it was "
                 "not paid for",
                 i, r->len);
            break;
        }
        if (write_chunk(x, (size_t)i, r->body, r->len) != 0) {
            bwc_dl_sched_release(&x->sched, (size_t)i);
            fail(x, WEXIT_USAGE, "cannot write %s: %s", d->part, strerror(errno));
            return;
        }
        bwc_dl_sched_done(&x->sched, (size_t)i);
        p->src->chunks++;
        p->src->bytes += r->len;
        d->bytes += r->len;
        p->failures = p->resyncs = p->unknown = 0;
        x->dirty = 1;
        x->last_progress_ms = bwc_dl_now_ms();
        if (ch && !r->served) {
            /* Served without payment (content the relay serves free): nothing to sign. */
            bwc_dl_pending_remove(ch, (uint32_t)i);
        } else if (ch) {
            unsigned char aux[32];
            const char *why = "no randomness";
            uint64_t served;
            if (bwc_random_bytes(aux, sizeof aux) != 0 ||
                !bwc_dl_channel_countersign(ch, d->secp, d->seckey, d->chain_id,
                                            &d->state->content_id, (uint32_t)i, &h, r->len, aux,
                                            &why)) {
                drop(p, "cannot countersign chunk %ld: %s", i, why);
                break;
            }
            /* The relay counted more than we have receipts for: a delivery was lost earlier. */
            if (parse_u64(r->served, &served) && served > ch->newest.bytes)
                p->needs_resync = 1;
        }
        draw(x, x->last_progress_ms, 0);
        break;
    }
    case BWC_DL_ACT_RESYNC:
        if (!ch) {
            drop(p, "it asks for payment (%d %s) but announced no price", r->status, code);
        } else if (++p->resyncs > BWC_DL_MAX_RESYNCS) {
            drop(p, "it keeps refusing our receipts (%d %s)", r->status, code);
        } else {
            p->needs_resync = 1;
        }
        break;
    case BWC_DL_ACT_WAIT:
        if (r->status == 0) {
            /* The relay may have counted the chunk before the connection broke: ask it. */
            if (ch)
                p->needs_resync = 1;
            backoff(p, r->error ? r->error : "no answer");
        } else if (r->status == 402) { /* channel-unknown: its node has not seen the block yet */
            if (++p->unknown > UNKNOWN_CHANNEL_WAITS)
                drop(p, "its node does not know our channel (402 channel-unknown)");
            else
                wait_ms(p, UNKNOWN_CHANNEL_WAIT_MS);
        } else {
            char what[96];
            snprintf(what, sizeof what, "busy (%d %s)", r->status, code);
            retry_later(p, r, what);
        }
        break;
    case BWC_DL_ACT_DROP:
        drop(p, "it answered %d %s", r->status, code);
        break;
    }
    kick(x);
}

static void on_view(void *arg, const bwc_dl_response *r)
{
    peer *p = arg;
    run_ctx *x = p->x;
    bwc_download *d = x->d;
    bwc_dl_channel *ch = channel_of(p);
    bwc_dl_relay_view v;
    char err[256];
    const char *why;
    p->st = P_IDLE;
    memset(&v, 0, sizeof v);
    if (r->status == 200) {
        json_t *j = json_loadb((const char *)r->body, r->len, 0, NULL);
        int ok = j && bwc_dl_relay_view_parse(&v, j, &ch->id, err, sizeof err);
        json_decref(j);
        if (!ok) {
            drop(p, "its view of our channel does not parse (%s)", j ? err : "not JSON");
            goto next;
        }
    } else if (r->status != 404) {
        char what[96];
        if (r->status && r->status < 500 && r->status != 429) {
            drop(p, "GET /v1/channel answered %d %s", r->status, r->code);
            goto next;
        }
        snprintf(what, sizeof what, "GET /v1/channel: %s",
                 r->status ? "busy" : (r->error ? r->error : "no answer"));
        retry_later(p, r, what);
        goto next;
    }
    if (!bwc_dl_reconcile(ch, d->secp, d->chain_id, d->seckey, &d->state->consumer, d->m,
                          &d->state->content_id, &v, &why)) {
        p->mismatch = 1;
        drop(p, "its record of our channel does not match ours (%s)", why);
    } else {
        p->needs_resync = 0;
        x->dirty = 1;
    }
    bwc_dl_relay_view_free(&v);
next:
    kick(x);
}

/* ---- the loop ---- */

static int busy(const peer *p)
{
    return p->st == P_CHUNK || p->st == P_VIEW;
}

static void check_end(run_ctx *x)
{
    size_t alive = 0, active = 0;
    for (size_t i = 0; i < x->d->n_sources; i++) {
        alive += x->peers[i].st != P_DROPPED;
        active += busy(&x->peers[i]);
    }
    if (bwc_dl_sched_complete(&x->sched)) {
        if (!active) {
            x->done = 1;
            event_base_loopbreak(x->d->base);
        }
    } else if (!alive) {
        fail(x, WEXIT_NODE, "no relay is left to fetch the other %zu chunks from",
             x->sched.n - x->sched.n_done);
    }
}

/* Every paid request must prove that it comes from the consumer with a receipt that no request
 * carried before: a relay refuses a paid request without a receipt (402 receipt-required), and
 * one whose receipt is its newest again (409 receipt-replayed: the newest is public, so it
 * proves nothing). Unless the newest receipt is a new one that has not gone out yet (a chunk
 * just countersigned, a lost delivery paid after a resync), sign the opening receipt: seq + 1
 * at the newest point, committing to nothing new. That is the first request of a run, and any
 * request asked again without new chunks since the last one went out: after a 402, a 409 and
 * a resync, a dropped connection, a 429 or 503. Saved with the state before the request
 * leaves (kick). Returns 1, or 0 after dropping the relay. */
static int open_lane(peer *p)
{
    bwc_download *d = p->x->d;
    unsigned char aux[32];
    const char *why = "no randomness";
    if (bwc_random_bytes(aux, sizeof aux) != 0 ||
        !bwc_dl_channel_sign_opening(channel_of(p), d->secp, d->seckey, d->chain_id, aux, &why)) {
        drop(p, "cannot sign the opening receipt: %s", why);
        return 0;
    }
    p->x->dirty = 1;
    return 1;
}

static void kick(run_ctx *x)
{
    size_t nb = 0;
    if (x->code || x->signal || x->done)
        return;
    for (size_t k = 0; k < x->d->n_sources; k++) {
        peer *p = &x->peers[k];
        bwc_dl_channel *ch = channel_of(p);
        if (p->st != P_IDLE)
            continue;
        if (ch && p->needs_resync) {
            start_view(p);
            continue;
        }
        long i = bwc_dl_sched_take(&x->sched);
        if (i < 0)
            continue;
        if (ch) {
            if (!ch->unsent && !open_lane(p)) {
                bwc_dl_sched_release(&x->sched, (size_t)i);
                continue;
            }
            if (!bwc_dl_pending_add(ch, (uint32_t)i)) { /* full: learn what was served first */
                bwc_dl_sched_release(&x->sched, (size_t)i);
                start_view(p);
                continue;
            }
            x->dirty = 1;
        }
        p->chunk = i;
        p->st = P_CHUNK;
        x->batch[nb++] = p;
    }
    /* The pending chunks reach the state file before the requests leave (doc/wallet.md). */
    if (x->dirty && save_state(x, 0) != 0) {
        for (size_t k = 0; k < nb; k++) {
            bwc_dl_sched_release(&x->sched, (size_t)x->batch[k]->chunk);
            x->batch[k]->chunk = -1;
            x->batch[k]->st = P_IDLE;
        }
        return;
    }
    for (size_t k = 0; k < nb; k++)
        send_chunk(x->batch[k]);
    check_end(x);
}

/* POSTs channel's newest receipt to its relay so it can settle (blocking). Returns the status. */
static int post_receipt(peer *p)
{
    bwc_dl_channel *ch = channel_of(p);
    bwc_buf enc = BWC_BUF_INIT;
    bwc_dl_reply r;
    int status = 0;
    if (!bwc_receipt_encode(&ch->newest, &enc) || enc.oom) {
        bwc_buf_free(&enc);
        return 0;
    }
    if (bwc_dl_fetch(p->conn, 1, "/v1/receipt", NULL, "application/cbor", enc.data, enc.len, &r) ==
        0)
        status = r.status;
    bwc_dl_reply_free(&r);
    bwc_buf_free(&enc);
    return status;
}

/* Brings a channel in line with its relay before the final receipt (blocking). */
static int resync_now(run_ctx *x, peer *p)
{
    bwc_download *d = x->d;
    bwc_dl_relay_view v;
    char err[256];
    const char *why;
    bwc_dl_channel *lane = channel_of(p);
    if (bwc_dl_fetch_view(p->conn, &lane->id, lane->is_pool ? &lane->consumer : NULL, &v, err,
                          sizeof err) != 0) {
        note(x, "relay %s: %s", p->src->info.endpoint, err);
        return -1;
    }
    int ok = bwc_dl_reconcile(channel_of(p), d->secp, d->chain_id, d->seckey, &d->state->consumer,
                              d->m, &d->state->content_id, &v, &why);
    bwc_dl_relay_view_free(&v);
    if (!ok) {
        p->mismatch = 1;
        note(x, "relay %s: its record of our channel does not match ours (%s)",
             p->src->info.endpoint, why);
        return -1;
    }
    p->needs_resync = 0;
    return 0;
}

static void final_receipts(run_ctx *x)
{
    for (size_t k = 0; k < x->d->n_sources; k++) {
        peer *p = &x->peers[k];
        bwc_dl_channel *ch = channel_of(p);
        p->src->final_status = -1;
        if (!ch || (p->st == P_DROPPED && p->src->chunks == 0))
            continue;
        if (p->needs_resync && !p->mismatch)
            resync_now(x, p);
        if (bwc_dl_channel_spent(ch) == 0)
            continue;
        int st = post_receipt(p);
        if (st == 409 || st == 400) { /* it holds something else: learn what, then again */
            if (resync_now(x, p) == 0)
                st = post_receipt(p);
        }
        p->src->final_status = st;
        if (st != 200)
            note(x,
                 "relay %s did not take the final receipt (%s %d): it can settle the one "
                 "before it",
                 p->src->info.endpoint, st ? "HTTP" : "no answer", st);
    }
    x->dirty = 1;
}


static void stop_events(run_ctx *x)
{
    if (x->tick)
        event_free(x->tick);
    if (x->sigint)
        event_free(x->sigint);
    if (x->sigterm)
        event_free(x->sigterm);
    x->tick = x->sigint = x->sigterm = NULL;
    for (size_t k = 0; x->peers && k < x->d->n_sources; k++)
        if (x->peers[k].timer) {
            event_free(x->peers[k].timer);
            x->peers[k].timer = NULL;
        }
}

static int setup(run_ctx *x)
{
    bwc_download *d = x->d;
    struct stat st;
    size_t max_body = d->m->chunk_size > VIEW_MAX_BODY ? d->m->chunk_size : VIEW_MAX_BODY;
    x->fd = open(d->part, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (x->fd < 0 || fstat(x->fd, &st) != 0) {
        fail(x, WEXIT_USAGE, "cannot open %s: %s", d->part, strerror(errno));
        return -1;
    }
    if ((uint64_t)st.st_size != d->m->size && ftruncate(x->fd, (off_t)d->m->size) != 0) {
        fail(x, WEXIT_USAGE, "cannot size %s to %llu bytes: %s", d->part,
             (unsigned long long)d->m->size, strerror(errno));
        return -1;
    }
    if (!bwc_dl_sched_init(&x->sched, d->m, d->state->verified) ||
        !(x->peers = calloc(d->n_sources ? d->n_sources : 1, sizeof *x->peers)) ||
        !(x->batch = calloc(d->n_sources ? d->n_sources : 1, sizeof *x->batch))) {
        fail(x, WEXIT_USAGE, "out of memory");
        return -1;
    }
    if (rescan(x) != 0) {
        fail(x, WEXIT_USAGE, "out of memory");
        return -1;
    }
    d->had = x->sched.bytes_done;
    for (size_t k = 0; k < d->n_sources; k++) {
        peer *p = &x->peers[k];
        p->x = x;
        p->src = &d->sources[k];
        p->chunk = -1;
        p->src->dropped[0] = '\0';
        p->src->final_status = -1;
        /* Chunks asked before an interruption: the relay's log says whether they went out. */
        p->needs_resync = channel_of(p) && channel_of(p)->n_pending > 0;
        p->conn = bwc_dl_conn_new(d->base, d->dns, p->src->info.host, p->src->info.port,
                                  BWC_DL_HTTP_TIMEOUT, max_body);
        p->timer = evtimer_new(d->base, on_timer, p);
        if (!p->conn || !p->timer) {
            fail(x, WEXIT_USAGE, "out of memory");
            return -1;
        }
    }
    struct timeval every = {0, (d->progress == 2 ? BWC_DL_DRAW_TTY_MS : 1000) * 1000};
    if (every.tv_usec >= 1000000) {
        every.tv_sec = every.tv_usec / 1000000;
        every.tv_usec %= 1000000;
    }
    x->tick = event_new(d->base, -1, EV_PERSIST, on_tick, x);
    x->sigint = evsignal_new(d->base, SIGINT, on_signal, x);
    x->sigterm = evsignal_new(d->base, SIGTERM, on_signal, x);
    if (!x->tick || !x->sigint || !x->sigterm || event_add(x->tick, &every) != 0 ||
        event_add(x->sigint, NULL) != 0 || event_add(x->sigterm, NULL) != 0) {
        fail(x, WEXIT_USAGE, "cannot set up the event loop");
        return -1;
    }
    return 0;
}

int bwc_dl_run(bwc_download *d, char *err, size_t errlen)
{
    run_ctx x;
    uint64_t t0 = bwc_dl_now_ms();
    memset(&x, 0, sizeof x);
    x.d = d;
    x.fd = -1;
    x.err = err;
    x.errlen = errlen;
    err[0] = '\0';
    d->bytes = 0;

    if (setup(&x) == 0) {
        x.last_progress_ms = x.last_checkpoint_ms = bwc_dl_now_ms();
        bwc_dl_progress_init(&x.prog, d->m->size, x.sched.bytes_done, x.last_progress_ms);
        for (int round = 0; !x.code && !x.signal; round++) {
            kick(&x);
            if (!x.done && !x.code && !x.signal)
                event_base_dispatch(d->base);
            if (x.code || x.signal || !x.done)
                break;
            draw(&x, bwc_dl_now_ms(), 1);
            /* Everything was verified in memory; the file on disk must say the same before it
             * takes FILE's name. */
            size_t bad = verify_on_disk(&x);
            if (!bad || x.code)
                break;
            if (round == 1) {
                fail(&x, WEXIT_USAGE, "%zu chunks of %s keep failing their check on disk", bad,
                     d->part);
                break;
            }
            note(&x, "%zu chunk%s did not check on disk; fetching again", bad, bad == 1 ? "" : "s");
            x.done = 0;
        }
        if (!x.code && !x.signal && !x.done) /* the loop ended with nothing left to wait on */
            fail(&x, WEXIT_NODE, "the transfer stopped with %zu chunks missing",
                 x.sched.n - x.sched.n_done);
    }
    if (x.bar_visible) {
        fputc('\n', stderr);
        x.bar_visible = 0;
    }
    stop_events(&x);
    d->ms = bwc_dl_now_ms() - t0;
    int rc = 0;
    if (x.signal || x.code) {
        if (x.fd >= 0 && x.peers)
            save_state(&x, 1); /* as far as it got: the same command resumes */
        if (x.signal) {
            snprintf(err, errlen,
                     "interrupted: %llu of %llu bytes verified; the state is saved in %s and the "
                     "same command resumes",
                     (unsigned long long)x.sched.bytes_done, (unsigned long long)d->m->size,
                     d->state_path);
            rc = BWC_DL_EXIT_SIGNAL_BASE + x.signal;
        } else {
            rc = x.code;
        }
    } else {
        final_receipts(&x);
        if (save_state(&x, 1) == 0) {
            if (rename(d->part, d->file) != 0) {
                snprintf(err, errlen, "cannot rename %s to %s: %s", d->part, d->file,
                         strerror(errno));
                rc = WEXIT_USAGE;
            } else {
                bwc_fsync_parent(d->file);
                unlink(d->state_path);
            }
        } else {
            rc = x.code;
        }
    }
    for (size_t k = 0; x.peers && k < d->n_sources; k++)
        bwc_dl_conn_free(x.peers[k].conn);
    free(x.peers);
    free(x.batch);
    bwc_dl_sched_free(&x.sched);
    if (x.fd >= 0)
        close(x.fd);
    return rc;
}
