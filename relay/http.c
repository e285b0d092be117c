/* http.c: the relay's HTTP API (PROTOCOL.md §8) on libevent's evhttp: routes, payment headers,
 * receipt intake, the credit window, ceilings, and chunks sent as file segments.
 *
 * Every request callback ends in exactly one reply, now or (pull-through) when its fetch ends.
 * Nothing of a request is used before it is checked: paths by relay/path.c, headers by the
 * parsers below, receipts by consensus/ (bwc_receipt_decode, bwc_receipt_check_offchain). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "common/hex.h"
#include "common/log.h"
#include "consensus/key.h"
#include "consensus/receipt.h"
#include "common/base64url.h"
#include "common/objjson.h"
#include "relay/path.h"
#include "relay/relay_internal.h"

#define MAX_SINGLE_WRITE (1 << 20) /* PERFORMANCE.md: libevent's 16 KiB default caps a relay */

struct relay_conn {
    struct evhttp_connection *evcon;
    bwc_relay_server *r;
    relay_conn *prev, *next;
};

/* ---- replies ---- */

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 402:
        return "Payment Required";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 409:
        return "Conflict";
    case 416:
        return "Range Not Satisfiable";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Error";
    }
}

static void send_json(struct evhttp_request *req, int status, json_t *o)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct evbuffer *buf = evbuffer_new();
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text || !buf) {
        free(text);
        if (buf)
            evbuffer_free(buf);
        evhttp_send_error(req, 500, "Internal Server Error");
        return;
    }
    evhttp_add_header(h, "Content-Type", "application/json");
    evbuffer_add(buf, text, strlen(text));
    evbuffer_add(buf, "\n", 1);
    free(text);
    evhttp_send_reply(req, status, reason(status), buf);
    evbuffer_free(buf);
}

/* {"error":{"code":code,"message":message}} with Retry-After when retry_after > 0. */
static void send_error(struct evhttp_request *req, int status, const char *code,
                       const char *message, unsigned retry_after)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    if (retry_after) {
        char v[16];
        snprintf(v, sizeof v, "%u", retry_after);
        evhttp_add_header(h, "Retry-After", v);
    }
    json_t *e = json_object();
    json_object_set_new(e, "code", json_string(code));
    json_object_set_new(e, "message", json_string(message ? message : reason(status)));
    json_t *o = json_object();
    json_object_set_new(o, "error", e);
    send_json(req, status, o);
}

/* ---- connections ---- */

static void on_conn_close(struct evhttp_connection *evcon, void *arg)
{
    relay_conn *c = arg;
    bwc_relay_server *r = c->r;
    (void)evcon;
    if (c->prev)
        c->prev->next = c->next;
    else
        r->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    r->n_conns--;
    free(c);
}

/* The record of evcon, created on its first request (libevent 2.1 has no
 * evhttp_set_max_connections, so this list is the count). NULL past the limit. */
static relay_conn *track(bwc_relay_server *r, struct evhttp_connection *evcon)
{
    if (!evcon)
        return NULL;
    /* Linear in open connections (bounded by the limit); a connection that sent a request
     * before is usually near the head. */
    for (relay_conn *c = r->conns; c; c = c->next)
        if (c->evcon == evcon)
            return c;
    if (r->n_conns >= r->cfg.max_connections)
        return NULL;
    relay_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->evcon = evcon;
    c->r = r;
    c->next = r->conns;
    if (r->conns)
        r->conns->prev = c;
    r->conns = c;
    r->n_conns++;
    evhttp_connection_set_closecb(evcon, on_conn_close, c);
    struct bufferevent *bev = evhttp_connection_get_bufferevent(evcon);
    if (bev) {
        bufferevent_set_max_single_write(bev, MAX_SINGLE_WRITE);
        /* evhttp writes the header, then the body by sendfile: with Nagle the body waits for
         * the header's ACK (delayed by the client). nginx sets tcp_nodelay on keep-alive too. */
        evutil_socket_t fd = bufferevent_getfd(bev);
        int one = 1;
        if (fd >= 0)
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    return c;
}

/* ---- payment headers ---- */

typedef enum { PAY_NONE = 0, PAY_CHANNEL, PAY_POOL } pay_mode;

typedef struct {
    pay_mode mode;
    bwc_hash id;
    bwc_pubkey consumer;
    int has_ticket;
    bwc_sig ticket;
    int has_receipt;
    unsigned char raw[BWC_RECEIPT_MAX_BYTES];
    size_t raw_len;
} payment;

/* Parses Bwc-Channel, Bwc-Pool, Bwc-Consumer, Bwc-Ticket and Bwc-Receipt. Returns 0, or -1 with
 * *code for a malformed or contradictory set (400). */
static int parse_payment(struct evhttp_request *req, payment *p, const char **code)
{
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    const char *ch = evhttp_find_header(h, "Bwc-Channel");
    const char *pool = evhttp_find_header(h, "Bwc-Pool");
    const char *consumer = evhttp_find_header(h, "Bwc-Consumer");
    const char *ticket = evhttp_find_header(h, "Bwc-Ticket");
    const char *receipt = evhttp_find_header(h, "Bwc-Receipt");
    memset(p, 0, sizeof *p);
    *code = "bad-payment-headers";
    if (ch && pool)
        return -1;
    if (ch) {
        if (!bwc_relay_parse_hex32(ch, p->id.b))
            return -1;
        p->mode = PAY_CHANNEL;
    } else if (pool) {
        if (!bwc_relay_parse_hex32(pool, p->id.b) || !consumer ||
            !bwc_relay_parse_hex32(consumer, p->consumer.b))
            return -1;
        p->mode = PAY_POOL;
        if (ticket) {
            if (bwc_b64url_decode(p->ticket.b, sizeof p->ticket.b, ticket) != 64)
                return -1;
            p->has_ticket = 1;
        }
    }
    if (receipt) {
        if (p->mode == PAY_NONE)
            return -1;
        if (strlen(receipt) > bwc_b64url_len(BWC_RECEIPT_MAX_BYTES)) {
            *code = "bad-receipt-oversize";
            return -1;
        }
        long n = bwc_b64url_decode(p->raw, sizeof p->raw, receipt);
        if (n <= 0) {
            *code = "bad-receipt-encoding";
            return -1;
        }
        p->raw_len = (size_t)n;
        p->has_receipt = 1;
    }
    return 0;
}

/* ---- receipt intake ---- */

/* Checks and takes a consumer-signed receipt. expect (NULL for POST /v1/receipt) is the lane the
 * request pays on. Returns the HTTP status (200, 400, 409, 500) with *code, and the lane in
 * *lane_out on 200. With dw, a new receipt is not written here: the caller writes it with the
 * delivery it pays for (one batch per chunk) or alone, before it answers.
 *
 * The lane's newest receipt sent again is 200 by POST (an idempotent submission), but 409
 * receipt-replayed on a chunk request (expect set) unless taken_before: the newest receipt is
 * public (GET /v1/channel, gossip, blocks), so serving on it would let anyone spend the lane's
 * credit window; only a receipt newer than the newest proves the consumer's key
 * (doc/protocol.md, decision 20). taken_before: this very request took the receipt before it
 * waited for a pull-through fetch of its chunk. */
typedef struct {
    int pending;       /* a new receipt was taken in memory and is not written yet */
    uint64_t *dropped; /* log entries it covers (bytes_after), to delete on disk */
    size_t n_dropped;
} deferred_write;

static int intake(bwc_relay_server *r, const unsigned char *raw, size_t len, const payment *expect,
                  int taken_before, bwc_relay_lane **lane_out, const char **code,
                  deferred_write *dw)
{
    bwc_receipt rc;
    bwc_result res;
    bwc_hash rid;
    bwc_receipt_terms terms;
    *lane_out = NULL;
    if (!bwc_receipt_decode(&rc, raw, len, &res)) {
        *code = res.reject;
        return 400;
    }
    if (expect &&
        (memcmp(rc.channel.b, expect->id.b, 32) != 0 || rc.is_pool != (expect->mode == PAY_POOL) ||
         (rc.is_pool && memcmp(rc.consumer.b, expect->consumer.b, 32) != 0))) {
        *code = "receipt-wrong-lane";
        return 400;
    }
    bwc_receipt_id(r->cfg.chain_id, &rc, &rid);
    bwc_state_view v = r->host.view(r->host.ctx);
    uint64_t next = r->host.height(r->host.ctx) + 1;
    if (!bwc_receipt_check_offchain(&v, r->cfg.params, r->cfg.chain_id, r->cfg.secp, next, &r->pub,
                                    &rc, &rid, &terms, &res)) {
        *code = res.reject;
        return res.code == BWC_RESULT_ERROR ? 500 : 400;
    }
    bwc_relay_lane *l = bwc_relay_lane_get(r, &rc.channel, rc.is_pool ? &rc.consumer : NULL, 1);
    if (!l) {
        *code = "out-of-memory";
        return 500;
    }
    bwc_relay_verdict vd =
        bwc_relay_lane_check_receipt(l, &rc, &rid, terms.seq, terms.claimed, code);
    if (vd == BWC_RELAY_SAME) {
        if (expect && !taken_before) {
            *code = "receipt-replayed";
            return 409;
        }
        *lane_out = l;
        return 200;
    }
    if (vd != BWC_RELAY_NEWER) {
        if (l->served == 0 && !l->has_receipt) { /* nothing to keep: forget the empty lane */
            bwc_map_del(&r->lanes, l->key, sizeof l->key);
            bwc_relay_lane_free(l);
            free(l);
        }
        return vd == BWC_RELAY_INVALID ? 400 : 409;
    }
    /* The entries the receipt now covers leave the log, in memory and on disk. */
    uint64_t *dropped = NULL;
    size_t n_dropped = 0;
    while (n_dropped < l->n_log && l->log[n_dropped].bytes_after <= rc.bytes)
        n_dropped++;
    if (n_dropped && !(dropped = malloc(n_dropped * sizeof *dropped))) {
        *code = "out-of-memory";
        return 500;
    }
    for (size_t i = 0; i < n_dropped; i++)
        dropped[i] = l->log[i].bytes_after;
    bwc_relay_lane_accept(l, &rc, &rid, raw, len);
    if (dw) {
        dw->pending = 1;
        dw->dropped = dropped;
        dw->n_dropped = n_dropped;
    } else {
        /* Persisted before anything more is served on it: nothing earned is lost to a crash. */
        int rcode = bwc_relay_persist(r, l, NULL, dropped, n_dropped, 0);
        free(dropped);
        if (rcode != 0) {
            *code = "storage-error";
            return 500;
        }
    }
    r->receipts_accepted++;
    char hex[65];
    if (bwc_log_enabled(BWC_LOG_RELAY)) {
        bwc_hex_encode(hex, rc.channel.b, 32);
        bwc_log_debug(BWC_LOG_RELAY, "receipt %s seq %llu bytes %llu amount %llu", hex,
                      (unsigned long long)rc.seq, (unsigned long long)rc.bytes,
                      (unsigned long long)rc.amount);
    }
    *lane_out = l;
    *code = "";
    return 200;
}

/* What a lane's channel or pool promises, for serving (no receipt needed). Returns 0 with price
 * and limit, or the status (400, 402, 500) with *code. */
static int lane_terms(bwc_relay_server *r, const payment *p, const bwc_hash *cid, uint64_t *price,
                      uint64_t *limit, const char **code)
{
    bwc_state_view v = r->host.view(r->host.ctx);
    uint64_t next = r->host.height(r->host.ctx) + 1;
    if (p->mode == PAY_CHANNEL) {
        bwc_channel c;
        int f = bwc_state_channel(&v, &p->id, &c);
        if (f < 0) {
            *code = "state-error";
            return 500;
        }
        if (f == 0) {
            *code = "channel-unknown";
            return 402;
        }
        if (memcmp(c.relay.b, r->pub.b, 32) != 0) {
            *code = "channel-wrong-relay";
            return 402;
        }
        /* Serving stops at expiry: the settle window after it is the relay's time to settle. */
        if (c.closed || next >= c.expiry) {
            *code = "channel-expired";
            return 402;
        }
        if (c.price < r->cfg.price) {
            *code = "channel-price-too-low";
            return 402;
        }
        *price = c.price;
        *limit = c.deposit;
        return 0;
    }
    bwc_pool pool;
    int f = bwc_state_pool(&v, &p->id, &pool);
    if (f < 0) {
        *code = "state-error";
        return 500;
    }
    if (f == 0) {
        *code = "pool-unknown";
        return 402;
    }
    if (memcmp(pool.content_id.b, cid->b, 32) != 0) {
        *code = "pool-wrong-content";
        return 400;
    }
    if (pool.closed || next >= pool.expiry) {
        *code = "pool-expired";
        return 402;
    }
    if (pool.price < r->cfg.price) {
        *code = "pool-price-too-low";
        return 402;
    }
    if (pool.has_ticket_key && !p->has_receipt) {
        /* §5.1: the ticket is the pool's defence against sybil consumers; check it before the
         * first byte. A request with a receipt has its ticket checked by intake
         * (bwc_receipt_check_offchain), not twice. */
        bwc_hash msg;
        if (!p->has_ticket) {
            *code = "ticket-missing";
            return 402;
        }
        bwc_ticket_msg(r->cfg.chain_id, &p->id, &p->consumer, &msg);
        if (!bwc_verify(r->cfg.secp, &p->ticket, &msg, &pool.ticket_key)) {
            *code = "bad-receipt-ticket";
            return 400;
        }
    }
    uint64_t total = 0;
    bwc_lane chain;
    if (bwc_state_pool_claimed(&v, &p->id, &p->consumer, &total) < 0 ||
        bwc_state_lane(&v, &p->id, &p->consumer, &r->pub, &chain) < 0) {
        *code = "state-error";
        return 500;
    }
    /* The consumer's room in its cap (what it drew through other relays is spent), and no more
     * than the pool still holds. */
    uint64_t others = total >= chain.claimed ? total - chain.claimed : 0;
    uint64_t room = others <= pool.per_consumer_cap ? pool.per_consumer_cap - others : 0;
    uint64_t funded =
        chain.claimed + pool.balance < chain.claimed ? UINT64_MAX : chain.claimed + pool.balance;
    *price = pool.price;
    *limit = room < funded ? room : funded;
    return 0;
}

static json_t *lane_json(const bwc_relay_server *r, const bwc_relay_lane *l)
{
    json_t *o = json_object();
    json_object_set_new(o, "channel", bwc_json_hex(l->id.b, 32));
    json_object_set_new(o, "pool", json_boolean(l->is_pool));
    if (l->is_pool)
        json_object_set_new(o, "consumer", bwc_json_hex(l->consumer.b, 32));
    json_object_set_new(o, "bytes_served", bwc_json_u64(l->served));
    json_object_set_new(o, "digest", bwc_json_hex(l->digest.b, 32));
    json_object_set_new(o, "credit_window", bwc_json_u64(r->cfg.credit_window));
    if (l->has_receipt) {
        json_t *rc = json_object();
        char b64[2 * BWC_RECEIPT_MAX_BYTES];
        bwc_b64url_encode(b64, sizeof b64, l->raw, l->raw_len);
        json_object_set_new(rc, "seq", bwc_json_u64(l->receipt.seq));
        json_object_set_new(rc, "bytes", bwc_json_u64(l->receipt.bytes));
        json_object_set_new(rc, "amount", bwc_json_u64(l->receipt.amount));
        json_object_set_new(rc, "digest", bwc_json_hex(l->receipt.digest.b, 32));
        json_object_set_new(rc, "receipt", json_string(b64));
        json_object_set_new(o, "receipt", rc);
    } else {
        json_object_set_new(o, "receipt", json_null());
    }
    json_t *log = json_array();
    for (size_t i = 0; i < l->n_log; i++) {
        const bwc_relay_lane_entry *e = &l->log[i];
        json_t *je = json_object();
        json_object_set_new(je, "bytes_after", bwc_json_u64(e->bytes_after));
        json_object_set_new(je, "content_id", bwc_json_hex(e->content_id.b, 32));
        json_object_set_new(je, "index", json_integer(e->index));
        json_object_set_new(je, "chunk_hash", bwc_json_hex(e->chunk_hash.b, 32));
        json_object_set_new(je, "digest_after", bwc_json_hex(e->digest_after.b, 32));
        json_array_append_new(log, je);
    }
    json_object_set_new(o, "log", log);
    return o;
}

/* ---- ceilings ---- */

/* Checks the quota and takes from the rate bucket for n bytes. Returns 1, or 0 after replying
 * 503 (quota) or 429 (rate) with Retry-After. */
static int pass_ceilings(bwc_relay_server *r, struct evhttp_request *req, uint64_t n)
{
    uint64_t now_ms = bwc_relay_now_ms(r), retry;
    if (!bwc_relay_quota_allows(&r->quota, r->cfg.quota, r->cfg.burst_quota, n, now_ms / 1000u,
                                &retry)) {
        send_error(req, 503, "quota-exhausted", "the relay's quota for this period is used up",
                   retry > UINT32_MAX ? UINT32_MAX : (unsigned)retry);
        return 0;
    }
    if (!bwc_relay_bucket_take(&r->bucket, n, now_ms, &retry)) {
        uint64_t s = (retry + 999) / 1000;
        send_error(req, 429, "rate-limited", "the relay is at its rate ceiling",
                   s > UINT32_MAX ? UINT32_MAX : (unsigned)(s ? s : 1));
        return 0;
    }
    return 1;
}

/* ---- routes ---- */

/* A reply body for file segments. libevent keeps a segment as a sendfile chain only in a
 * buffer flagged as draining to a descriptor; without the flag it mmaps the file and the
 * bytes go out by writev, copied through user space. evhttp moves the chains unchanged into
 * the connection's (socket) buffer, which does drain to the descriptor. */
static struct evbuffer *new_body(void)
{
    struct evbuffer *buf = evbuffer_new();
    if (buf && evbuffer_set_flags(buf, EVBUFFER_FLAG_DRAINS_TO_FD) != 0) {
        evbuffer_free(buf);
        return NULL;
    }
    return buf;
}

static void dispatch(bwc_relay_server *r, struct evhttp_request *req, const bwc_relay_fetched *f);

static void fetch_failed(bwc_relay_server *r, struct evhttp_request *req, int status,
                         const char *code, unsigned retry_after)
{
    (void)r;
    send_error(req, status, code,
               status == 404 ? "no upstream holds this content" : "the upstream is unreachable",
               retry_after);
}

/* Parks req on a fetch, or answers why it cannot. f: what the fetch req resumes from brought. */
static void fetch_or_fail(bwc_relay_server *r, struct evhttp_request *req, const bwc_hash *cid,
                          int is_manifest, uint32_t index, const bwc_relay_fetched *f)
{
    int status = 0;
    if (f && f->is_manifest == is_manifest && (is_manifest || f->index == index) &&
        memcmp(f->cid->b, cid->b, 32) == 0) {
        /* Resumed after a fetch that succeeded, yet the store does not hold the object. */
        send_error(req, 503, "store-error", "the fetched object could not be kept", 5);
        return;
    }
    if (bwc_relay_fetch(r, req, cid, is_manifest, index, dispatch, fetch_failed, &status) == 0)
        return;
    if (status == 404)
        send_error(req, 404, "not-found", "the relay does not hold this content", 0);
    else
        send_error(req, 503, "busy", "too many fetches in flight", 1);
}

static void handle_status(bwc_relay_server *r, struct evhttp_request *req)
{
    uint64_t now = bwc_relay_now(r);
    bwc_relay_quota_roll(&r->quota, now);
    json_t *o = json_object();
    json_object_set_new(o, "address", bwc_json_address(r->cfg.hrp, &r->pub));
    json_object_set_new(o, "pubkey", bwc_json_hex(r->pub.b, 32));
    json_object_set_new(o, "region", json_string(r->region));
    json_object_set_new(o, "price", bwc_json_u64(r->cfg.price));
    json_object_set_new(o, "rate", bwc_json_u64(r->cfg.rate));
    json_object_set_new(o, "quota", bwc_json_u64(r->cfg.quota));
    json_object_set_new(o, "burst_quota", bwc_json_u64(r->cfg.burst_quota));
    json_object_set_new(o, "used", bwc_json_u64(r->quota.used));
    json_object_set_new(o, "period_end",
                        bwc_json_u64(r->quota.period_start + BWC_RELAY_PERIOD_SECONDS));
    int burst = bwc_relay_quota_burst_active(&r->quota, now);
    json_object_set_new(o, "burst_active", json_boolean(burst));
    json_object_set_new(o, "burst_until", burst ? bwc_json_u64(r->quota.burst_until) : json_null());
    json_object_set_new(o, "credit_window", bwc_json_u64(r->cfg.credit_window));
    json_object_set_new(o, "chain_id", bwc_json_hex(r->cfg.chain_id->b, 32));
    json_object_set_new(o, "height", bwc_json_u64(r->host.height(r->host.ctx)));
    json_object_set_new(o, "version", json_string(r->version));
    send_json(req, 200, o);
}

static void handle_manifest(bwc_relay_server *r, struct evhttp_request *req, const bwc_hash *cid,
                            const bwc_relay_fetched *f)
{
    char path[4200];
    if (!bwc_chunkstore_manifest(r->store, cid) ||
        !bwc_chunkstore_manifest_path(r->store, cid, path, sizeof path)) {
        fetch_or_fail(r, req, cid, 1, 0, f);
        return;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0)
            close(fd);
        send_error(req, 500, "store-error", "cannot read the manifest", 0);
        return;
    }
    if (!pass_ceilings(r, req, (uint64_t)st.st_size)) {
        close(fd);
        return;
    }
    struct evbuffer *buf = new_body();
    /* evbuffer_add_file owns fd from here, also on failure. */
    if (!buf || evbuffer_add_file(buf, fd, 0, st.st_size) != 0) {
        if (buf)
            evbuffer_free(buf);
        send_error(req, 500, "store-error", "cannot send the manifest", 0);
        return;
    }
    bwc_relay_quota_add(&r->quota, (uint64_t)st.st_size);
    bwc_relay_persist(r, NULL, NULL, NULL, 0, 1);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/cbor");
    evhttp_send_reply(req, 200, "OK", buf);
    evbuffer_free(buf);
}

/* Bwc-Served: the bytes served on the lane a paid request names. */
static void add_served(struct evhttp_request *req, uint64_t served)
{
    char v[24];
    snprintf(v, sizeof v, "%llu", (unsigned long long)served);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Bwc-Served", v);
}

static void handle_chunk(bwc_relay_server *r, struct evhttp_request *req, const bwc_relay_path *p,
                         const bwc_relay_fetched *f)
{
    const bwc_hash *cid = &p->id;
    const char *code = "";
    const bwc_manifest *m = bwc_chunkstore_manifest(r->store, cid);
    if (!m) {
        fetch_or_fail(r, req, cid, 1, 0, f);
        return;
    }
    if (p->index >= m->n_chunks) {
        send_error(req, 416, "index-out-of-range", "the content has fewer chunks", 0);
        return;
    }
    uint64_t len = bwc_manifest_chunk_len(m, p->index);
    const bwc_hash *hash = &m->chunks[p->index];

    /* Payment: free content, a channel, or a pool lane. */
    deferred_write dw = {0, NULL, 0};
    int free_content = r->cfg.price == 0 || bwc_map_get(&r->free_ids, cid->b, 32) != NULL;
    bwc_relay_lane *lane = NULL;
    uint64_t price = 0, limit = 0;
    if (!free_content) {
        payment pay;
        int status;
        if (parse_payment(req, &pay, &code) != 0) {
            send_error(req, 400, code, "malformed payment headers", 0);
            return;
        }
        if (pay.mode == PAY_NONE) {
            send_error(req, 402, "payment-required",
                       "send Bwc-Channel (or Bwc-Pool and Bwc-Consumer) to be served", 0);
            return;
        }
        if ((status = lane_terms(r, &pay, cid, &price, &limit, &code)) != 0) {
            send_error(req, status, code, "the channel or pool does not pay for this", 0);
            return;
        }
        if (!pay.has_receipt) {
            /* Channel ids are public: without the consumer's signature on every paid request
             * anyone could spend a fresh lane's first credit window and break its digest for
             * the owner (doc/protocol.md, decision 20). The lane is looked up, not created. */
            const bwc_relay_lane *l =
                bwc_relay_lane_get(r, &pay.id, pay.mode == PAY_POOL ? &pay.consumer : NULL, 0);
            add_served(req, l ? l->served : 0);
            send_error(req, 402, "receipt-required",
                       "send Bwc-Receipt signed by the consumer (to open a lane: the next seq "
                       "at its newest point)",
                       0);
            return;
        }
        /* A bad receipt refuses the request: never served on an older receipt, nor on the
         * newest sent again. A request resumed after a fetch of its chunk took its receipt
         * before it waited (only paid requests that passed intake fetch a chunk). */
        int resumed =
            f && !f->is_manifest && f->index == p->index && memcmp(f->cid->b, cid->b, 32) == 0;
        status = intake(r, pay.raw, pay.raw_len, &pay, resumed, &lane, &code, &dw);
        if (status != 200) {
            send_error(req, status, code, "receipt refused", 0);
            return;
        }
        if (!bwc_relay_lane_may_serve(lane, len, price, limit, r->cfg.credit_window, &code)) {
            add_served(req, lane->served);
            send_error(req, 402, code, "send a receipt covering what was served", 0);
            goto out;
        }
    }

    /* The bytes: an open file segment, or what a fetch brought when the store kept none. */
    struct evbuffer_file_segment *seg = NULL;
    uint64_t seg_len = 0;
    const unsigned char *mem = f && f->data && !f->is_manifest && f->index == p->index &&
                                       memcmp(f->cid->b, cid->b, 32) == 0 && f->len == len
                                   ? f->data
                                   : NULL;
    if (!mem) {
        int got =
            bwc_chunkstore_open_chunk(r->store, cid, p->index, bwc_relay_now(r), &seg, &seg_len);
        if (got < 0) {
            send_error(req, 500, "store-error", "cannot read the chunk", 0);
            goto out;
        }
        if (got == 0 || seg_len != len) {
            fetch_or_fail(r, req, cid, 0, p->index, f);
            goto out;
        }
    }
    if (!pass_ceilings(r, req, len))
        goto out;
    struct evbuffer *buf = new_body();
    if (!buf || (mem ? evbuffer_add(buf, mem, len)
                     : evbuffer_add_file_segment(buf, seg, 0, (ev_off_t)len)) != 0) {
        if (buf)
            evbuffer_free(buf);
        send_error(req, 500, "out-of-memory", NULL, 0);
        goto out;
    }
    /* Counted and persisted before a byte leaves: "bytes served" counts every byte sent. The
     * receipt that came with the request goes in the same batch as the delivery. */
    bwc_relay_quota_add(&r->quota, len);
    r->chunks_served++;
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    if (lane) {
        const bwc_relay_lane_entry *e = bwc_relay_lane_served(lane, cid, p->index, hash, len);
        if (!e || bwc_relay_persist(r, lane, e, dw.dropped, dw.n_dropped, 1) != 0) {
            evbuffer_free(buf);
            send_error(req, 500, "storage-error", "cannot record the delivery", 0);
            goto out;
        }
        dw.pending = 0;
        add_served(req, lane->served);
    } else {
        bwc_relay_persist(r, NULL, NULL, NULL, 0, 1);
    }
    char hex[65];
    bwc_hex_encode(hex, hash->b, 32);
    evhttp_add_header(h, "Content-Type", "application/octet-stream");
    evhttp_add_header(h, "Bwc-Chunk-Hash", hex);
    evhttp_send_reply(req, 200, "OK", buf);
    evbuffer_free(buf);
out:
    /* A receipt taken but not served on (402, 429, 503, a fetch) is written now. */
    if (dw.pending)
        bwc_relay_persist(r, lane, NULL, dw.dropped, dw.n_dropped, 0);
    free(dw.dropped);
}

static void handle_receipt(bwc_relay_server *r, struct evhttp_request *req)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    unsigned char raw[BWC_RECEIPT_MAX_BYTES];
    const char *code = "";
    bwc_relay_lane *l;
    if (len == 0 || len > sizeof raw) {
        send_error(req, 400, len ? "bad-receipt-oversize" : "bad-receipt-empty",
                   "the body must be one receipt (CBOR)", 0);
        return;
    }
    evbuffer_copyout(in, raw, len);
    int status = intake(r, raw, len, NULL, 0, &l, &code, NULL);
    if (status != 200) {
        send_error(req, status, code, "receipt refused", 0);
        return;
    }
    send_json(req, 200, lane_json(r, l));
}

static void handle_channel(bwc_relay_server *r, struct evhttp_request *req, const bwc_hash *id)
{
    const char *consumer =
        evhttp_find_header(evhttp_request_get_input_headers(req), "Bwc-Consumer");
    bwc_pubkey pk;
    if (consumer && !bwc_relay_parse_hex32(consumer, pk.b)) {
        send_error(req, 400, "bad-payment-headers", "Bwc-Consumer must be 64 lower-case hex", 0);
        return;
    }
    bwc_relay_lane *l = bwc_relay_lane_get(r, id, consumer ? &pk : NULL, 0);
    if (!l) {
        send_error(req, 404, "not-found", "the relay holds nothing for this channel", 0);
        return;
    }
    send_json(req, 200, lane_json(r, l));
}

static void dispatch(bwc_relay_server *r, struct evhttp_request *req, const bwc_relay_fetched *f)
{
    bwc_relay_path p;
    enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
    bwc_route route = bwc_relay_parse_path(evhttp_request_get_uri(req), &p);
    if (route == BWC_ROUTE_NONE) {
        send_error(req, 404, "not-found", "no such path", 0);
        return;
    }
    int want_post = route == BWC_ROUTE_RECEIPT;
    if ((want_post && cmd != EVHTTP_REQ_POST) || (!want_post && cmd != EVHTTP_REQ_GET)) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
                          want_post ? "POST" : "GET");
        send_error(req, 405, "method-not-allowed", NULL, 0);
        return;
    }
    switch (route) {
    case BWC_ROUTE_STATUS:
        handle_status(r, req);
        break;
    case BWC_ROUTE_MANIFEST:
        handle_manifest(r, req, &p.id, f);
        break;
    case BWC_ROUTE_CHUNK:
        handle_chunk(r, req, &p, f);
        break;
    case BWC_ROUTE_RECEIPT:
        handle_receipt(r, req);
        break;
    case BWC_ROUTE_CHANNEL:
        handle_channel(r, req, &p.id);
        break;
    default:
        send_error(req, 404, "not-found", "no such path", 0);
    }
}

static void on_request(struct evhttp_request *req, void *arg)
{
    bwc_relay_server *r = arg;
    r->requests++;
    if (!track(r, evhttp_request_get_connection(req))) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
        send_error(req, 503, "too-many-connections", "the relay is at its connection limit", 1);
        return;
    }
    dispatch(r, req, NULL);
}

/* ---- start and stop ---- */

int bwc_relay_http_start(bwc_relay_server *r, char *err, size_t errlen)
{
    if (!(r->http = evhttp_new(r->base))) {
        snprintf(err, errlen, "cannot create the relay HTTP server");
        return -1;
    }
    /* evhttp's defaults are unlimited: set every limit explicitly. */
    evhttp_set_timeout(r->http, r->cfg.timeout_seconds);
    evhttp_set_max_headers_size(r->http, BWC_RELAY_MAX_HEADER_BYTES);
    evhttp_set_max_body_size(r->http, BWC_RELAY_MAX_BODY_BYTES);
    evhttp_set_allowed_methods(r->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                            EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                            EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH);
    evhttp_set_flags(r->http, EVHTTP_SERVER_LINGERING_CLOSE);
    evhttp_set_gencb(r->http, on_request, r);
    const char *def = "127.0.0.1";
    const char *const *bind = r->cfg.n_bind ? r->cfg.bind : &def;
    size_t n = r->cfg.n_bind ? r->cfg.n_bind : 1;
    uint16_t port = r->cfg.port;
    for (size_t i = 0; i < n; i++) {
        struct evhttp_bound_socket *s = evhttp_bind_socket_with_handle(r->http, bind[i], port);
        if (!s) {
            snprintf(err, errlen, "cannot bind the relay HTTP server to %s port %u", bind[i],
                     (unsigned)port);
            return -1;
        }
        if (i == 0) {
            struct sockaddr_storage ss;
            socklen_t sl = sizeof ss;
            evutil_socket_t fd = evhttp_bound_socket_get_fd(s);
            if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
                r->port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                                         : ((struct sockaddr_in *)&ss)->sin_port);
            port = r->port; /* every address on the same port, also with port 0 */
        }
        bwc_log(BWC_LOG_INFO, "relay HTTP server listening on %s port %u", bind[i],
                (unsigned)r->port);
    }
    return 0;
}

void bwc_relay_http_stop(bwc_relay_server *r)
{
    if (r->http)
        evhttp_free(r->http); /* closes every connection: their close callbacks run */
    r->http = NULL;
    while (r->conns) { /* connections libevent freed without a close callback */
        relay_conn *c = r->conns;
        r->conns = c->next;
        free(c);
    }
    r->n_conns = 0;
}
