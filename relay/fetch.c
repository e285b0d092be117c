/* fetch.c: pull-through. A manifest or chunk the relay lacks is fetched (evhttp client) from the
 * content's origin, the -relaypeer list or announced relays, checked (content id, SHA-256),
 * cached, and the requests waiting for it resume. Requests for the same object share one fetch;
 * at most max_fetches run at once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>

#include "common/hex.h"
#include "common/log.h"
#include "consensus/hash.h"
#include "consensus/manifest.h"
#include "relay/relay_internal.h"

typedef struct waiter {
    struct evhttp_request *req;
    bwc_relay_resume_fn resume;
    bwc_relay_fail_fn fail;
    struct waiter *next;
} waiter;

struct relay_fetch {
    bwc_relay_server *r;
    bwc_hash cid;
    int is_manifest;
    uint32_t index;
    waiter *waiters, **tail;
    char *upstreams[BWC_RELAY_MAX_UPSTREAMS];
    size_t n_up, next_up;
    int unreachable; /* an upstream failed at the network level or answered 5xx/429 */
    struct evhttp_connection *evcon;
    relay_fetch *prev, *next;
};

static void add_upstream(relay_fetch *f, const char *ep)
{
    if (f->n_up >= BWC_RELAY_MAX_UPSTREAMS || !ep || !*ep)
        return;
    for (size_t i = 0; i < f->n_up; i++)
        if (strcmp(f->upstreams[i], ep) == 0)
            return;
    char *copy = strdup(ep);
    if (copy)
        f->upstreams[f->n_up++] = copy;
}

static int add_relay_record(void *arg, const bwc_pubkey *who, const bwc_relay *rec)
{
    relay_fetch *f = arg;
    if (memcmp(who->b, f->r->pub.b, 32) != 0)
        add_upstream(f, rec->ann.endpoint);
    return f->n_up >= BWC_RELAY_MAX_UPSTREAMS;
}

/* Origin first (the publisher's own node), then -relaypeer, then announced relays. */
static void gather_upstreams(relay_fetch *f)
{
    bwc_relay_server *r = f->r;
    bwc_state_view v = r->host.view(r->host.ctx);
    bwc_content c;
    if (bwc_state_content(&v, &f->cid, &c) == 1 && c.origin_len)
        add_upstream(f, c.origin);
    for (size_t i = 0; i < r->n_peers; i++)
        add_upstream(f, r->peers[i]);
    if (r->host.scan_relays && f->n_up < BWC_RELAY_MAX_UPSTREAMS)
        r->host.scan_relays(r->host.ctx, add_relay_record, f);
}

static void fetch_free(relay_fetch *f)
{
    for (size_t i = 0; i < f->n_up; i++)
        free(f->upstreams[i]);
    free(f);
}

static void unlink_fetch(bwc_relay_server *r, relay_fetch *f)
{
    if (f->prev)
        f->prev->next = f->next;
    else
        r->fetches = f->next;
    if (f->next)
        f->next->prev = f->prev;
    r->n_fetches--;
}

/* Ends the fetch: every waiter resumes (ok) or gets status. data/len: chunk bytes the store did
 * not keep. */
static void finish(relay_fetch *f, int ok, int status, const unsigned char *data, size_t len)
{
    bwc_relay_server *r = f->r;
    unlink_fetch(r, f);
    bwc_relay_fetched got = {&f->cid, f->is_manifest, f->index, data, len};
    const char *code = status == 404 ? "not-found" : "upstream-unavailable";
    waiter *w = f->waiters;
    while (w) {
        waiter *next = w->next;
        if (ok)
            w->resume(r, w->req, &got);
        else
            w->fail(r, w->req, status, code, status == 503 ? 5 : 0);
        free(w);
        w = next;
    }
    fetch_free(f);
}

static void try_next(relay_fetch *f);

/* Splits "http://HOST:PORT" (grammar checked by consensus or at start) into host and port. */
static int split_endpoint(const char *ep, char *host, size_t hostlen, uint16_t *port)
{
    if (strncmp(ep, "http://", 7) != 0)
        return 0;
    const char *h = ep + 7, *colon;
    if (*h == '[') {
        const char *end = strchr(h, ']');
        if (!end || end[1] != ':')
            return 0;
        if ((size_t)(end - h - 1) >= hostlen)
            return 0;
        memcpy(host, h + 1, (size_t)(end - h - 1));
        host[end - h - 1] = '\0';
        colon = end + 1;
    } else {
        colon = strrchr(h, ':');
        if (!colon || (size_t)(colon - h) >= hostlen)
            return 0;
        memcpy(host, h, (size_t)(colon - h));
        host[colon - h] = '\0';
    }
    long p = strtol(colon + 1, NULL, 10);
    if (p < 1 || p > 65535)
        return 0;
    *port = (uint16_t)p;
    return 1;
}

/* Frees the upstream connections whose request has ended. A connection cannot be freed inside
 * its own request callback, and libevent's free_on_completion leaks one whose connect failed,
 * so they are parked and freed from the loop right after. */
static void reap(evutil_socket_t fd, short what, void *arg)
{
    bwc_relay_server *r = arg;
    (void)fd, (void)what;
    for (size_t i = 0; i < r->n_done; i++)
        evhttp_connection_free(r->done_conns[i]);
    r->n_done = 0;
}

static void park_conn(bwc_relay_server *r, struct evhttp_connection *evcon)
{
    if (!r->reap_ev)
        r->reap_ev = event_new(r->base, -1, 0, reap, r);
    if (r->n_done == r->cap_done) {
        size_t cap = r->cap_done ? 2 * r->cap_done : 8;
        struct evhttp_connection **p = realloc(r->done_conns, cap * sizeof *p);
        if (!p)
            return; /* leaks one connection rather than freeing it under libevent's feet */
        r->done_conns = p;
        r->cap_done = cap;
    }
    r->done_conns[r->n_done++] = evcon;
    if (r->reap_ev)
        event_active(r->reap_ev, EV_TIMEOUT, 0);
}

static void on_response(struct evhttp_request *req, void *arg)
{
    relay_fetch *f = arg;
    bwc_relay_server *r = f->r;
    if (f->evcon)
        park_conn(r, f->evcon);
    static bwc_log_limiter limiter = BWC_LOG_LIMITER_INIT;
    const char *ep = f->upstreams[f->next_up - 1];
    int code = req ? evhttp_request_get_response_code(req) : 0;
    f->evcon = NULL; /* parked: freed from the loop once this callback has returned */
    if (code != 200) {
        if (code == 0 || code >= 500 || code == 429)
            f->unreachable = 1;
        bwc_log_debug(BWC_LOG_RELAY, "pull-through: %s answered %d", ep, code);
        try_next(f);
        return;
    }
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const unsigned char *body = len ? evbuffer_pullup(in, (ev_ssize_t)len) : NULL;
    char err[256];
    uint64_t now = bwc_relay_now(r);
    if (!body) {
        try_next(f);
        return;
    }
    if (f->is_manifest) {
        /* add_manifest checks that the bytes hash to the content id (§3.5). */
        if (bwc_chunkstore_add_manifest(r->store, body, len, &f->cid, 0, now, NULL, err,
                                        sizeof err) != 0) {
            bwc_log_rate_limited(&limiter, BWC_LOG_WARNING,
                                 "pull-through: manifest from %s refused: %s", ep, err);
            try_next(f);
            return;
        }
        finish(f, 1, 200, NULL, 0);
        return;
    }
    const bwc_manifest *m = bwc_chunkstore_manifest(r->store, &f->cid);
    bwc_hash h;
    if (!m || f->index >= m->n_chunks) {
        finish(f, 0, 503, NULL, 0);
        return;
    }
    bwc_sha256(&h, body, len);
    if (len != bwc_manifest_chunk_len(m, f->index) || memcmp(h.b, m->chunks[f->index].b, 32) != 0) {
        /* Never served, never cached: try someone else. */
        bwc_log_rate_limited(&limiter, BWC_LOG_WARNING,
                             "pull-through: chunk %u from %s does not match the manifest", f->index,
                             ep);
        try_next(f);
        return;
    }
    if (bwc_chunkstore_put_chunk(r->store, &f->cid, f->index, body, len, now, err, sizeof err) !=
        0) {
        /* Checked but not kept (store full): serve it from memory this once. */
        bwc_log_rate_limited(&limiter, BWC_LOG_WARNING, "pull-through: not cached: %s", err);
        finish(f, 1, 200, body, len);
        return;
    }
    finish(f, 1, 200, NULL, 0);
}

static void try_next(relay_fetch *f)
{
    bwc_relay_server *r = f->r;
    while (f->next_up < f->n_up) {
        const char *ep = f->upstreams[f->next_up++];
        char host[256], path[128], hostport[300], hex[65];
        uint16_t port;
        if (!split_endpoint(ep, host, sizeof host, &port))
            continue;
        if (!r->dns)
            r->dns = evdns_base_new(r->base, EVDNS_BASE_INITIALIZE_NAMESERVERS);
        struct evhttp_connection *evcon = evhttp_connection_base_new(r->base, r->dns, host, port);
        if (!evcon)
            continue;
        evhttp_connection_set_timeout(evcon, BWC_RELAY_FETCH_TIMEOUT_SECONDS);
        const bwc_manifest *m = f->is_manifest ? NULL : bwc_chunkstore_manifest(r->store, &f->cid);
        evhttp_connection_set_max_body_size(
            evcon, (ev_ssize_t)(m && f->index < m->n_chunks ? bwc_manifest_chunk_len(m, f->index)
                                                            : BWC_MANIFEST_MAX_BYTES));
        evhttp_connection_set_max_headers_size(evcon, BWC_RELAY_MAX_HEADER_BYTES);
        struct evhttp_request *req = evhttp_request_new(on_response, f);
        if (!req) {
            evhttp_connection_free(evcon);
            continue;
        }
        bwc_hex_encode(hex, f->cid.b, 32);
        if (f->is_manifest)
            snprintf(path, sizeof path, "/v1/manifest/%s", hex);
        else
            snprintf(path, sizeof path, "/v1/chunk/%s/%u", hex, f->index);
        snprintf(hostport, sizeof hostport, "%s", ep + 7);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Host", hostport);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
        /* Set first: should the callback run from inside evhttp_make_request, it parks this
         * connection. */
        f->evcon = evcon;
        if (evhttp_make_request(evcon, req, EVHTTP_REQ_GET, path) != 0) {
            /* The request is gone with the failure; the connection is ours to free. */
            if (f->evcon == evcon)
                evhttp_connection_free(evcon);
            f->evcon = NULL;
            continue;
        }
        bwc_log_debug(BWC_LOG_RELAY, "pull-through: GET %s%s", ep, path);
        return;
    }
    finish(f, 0, f->unreachable ? 503 : 404, NULL, 0);
}

int bwc_relay_fetch(bwc_relay_server *r, struct evhttp_request *req, const bwc_hash *cid,
                    int is_manifest, uint32_t index, bwc_relay_resume_fn resume,
                    bwc_relay_fail_fn fail, int *status)
{
    waiter *w = calloc(1, sizeof *w);
    *status = 503;
    if (!w)
        return -1;
    w->req = req;
    w->resume = resume;
    w->fail = fail;
    for (relay_fetch *f = r->fetches; f; f = f->next)
        if (f->is_manifest == is_manifest && (is_manifest || f->index == index) &&
            memcmp(f->cid.b, cid->b, 32) == 0) {
            *f->tail = w;
            f->tail = &w->next;
            return 0;
        }
    if (r->n_fetches >= r->cfg.max_fetches) {
        free(w);
        return -1;
    }
    relay_fetch *f = calloc(1, sizeof *f);
    if (!f) {
        free(w);
        return -1;
    }
    f->r = r;
    f->cid = *cid;
    f->is_manifest = is_manifest;
    f->index = index;
    f->waiters = w;
    f->tail = &w->next;
    gather_upstreams(f);
    if (f->n_up == 0) {
        fetch_free(f);
        free(w);
        *status = 404;
        return -1;
    }
    f->next = r->fetches;
    if (r->fetches)
        r->fetches->prev = f;
    r->fetches = f;
    r->n_fetches++;
    /* Started from the loop, not from inside this request's callback, so that a fetch failing
     * at once cannot answer the request before the caller has returned. */
    try_next(f);
    return 0;
}

void bwc_relay_fetch_stop(bwc_relay_server *r)
{
    while (r->fetches) {
        relay_fetch *f = r->fetches;
        if (f->evcon)
            evhttp_connection_free(f->evcon); /* drops its request without a callback */
        f->evcon = NULL;
        finish(f, 0, 503, NULL, 0);
    }
    reap(-1, 0, r);
    free(r->done_conns);
    r->done_conns = NULL;
    r->cap_done = 0;
    if (r->reap_ev)
        event_free(r->reap_ev);
    r->reap_ev = NULL;
    if (r->dns)
        evdns_base_free(r->dns, 0);
    r->dns = NULL;
}
