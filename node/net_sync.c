/* net_sync.c: what P2P messages mean: gossip by inventory, serving data, headers-first sync
 * and parallel block download. */
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "common/log.h"
#include "node/net.h"
#include "node/node.h"

#define TX_REQUEST_MS 60000 /* a tx or receipt asked for is not asked again for this long */
#define TX_REQUESTED_MAX 100000 /* at most this many tx/receipt ids outstanding */
#define SERVE_BUDGET (16u << 20) /* output a getdata may queue before the rest is notfound */

static bwc_chain *chain_of(bwc_peer *p)
{
    return &p->net->node->chain;
}

static void remember(bwc_peer *p, const bwc_hash *id)
{
    if (bwc_map_size(&p->known) >= BWC_NET_KNOWN_MAX) {
        /* Forgetting costs at most a duplicate announcement. */
        bwc_map_free(&p->known);
        bwc_map_init(&p->known);
    }
    bwc_map_put(&p->known, id->b, 32, p);
}

static int ready(const bwc_peer *p)
{
    return !p->disconnect && p->got_verack;
}

static void announce_pools(bwc_peer *p);

/* ---- locators and headers ---- */

/* x's ancestor at height (x itself when height is its own): found by height on the best
 * chain, walking back only while x is on a side branch. */
static const bwc_index *ancestor(const bwc_chain *c, const bwc_index *x, uint64_t height)
{
    while (x && x->height > height && !bwc_chain_contains(c, x))
        x = x->prev;
    if (!x || x->height <= height)
        return x;
    return bwc_chain_at(c, height);
}

/* Hashes from x back to genesis: the last 10 one by one, then doubling steps (Bitcoin's). */
static size_t build_locator(const bwc_chain *c, const bwc_index *x, bwc_hash *out, size_t max)
{
    size_t n = 0;
    uint64_t step = 1;
    while (x && n < max - 1) {
        out[n++] = x->id;
        if (x->height == 0)
            return n;
        uint64_t h = x->height > step ? x->height - step : 0;
        x = ancestor(c, x, h);
        if (n >= 10)
            step *= 2;
    }
    x = ancestor(c, x, 0);
    if (x)
        out[n++] = x->id;
    return n;
}

static void send_getheaders(bwc_peer *p)
{
    bwc_hash loc[BWC_MAX_LOCATOR];
    bwc_msg m;
    memset(&m, 0, sizeof m);
    m.type = BWC_MSG_GETHEADERS;
    m.locator = loc;
    m.n_locator = build_locator(chain_of(p), chain_of(p)->best_header, loc, BWC_MAX_LOCATOR);
    bwc_peer_send(p, &m);
    m.locator = NULL;
}

static void on_getheaders(bwc_peer *p, const bwc_msg *m)
{
    bwc_chain *c = chain_of(p);
    const bwc_index *fork = bwc_chain_at(c, 0);
    for (size_t i = 0; i < m->n_locator; i++) {
        const bwc_index *x = bwc_chain_find(c, &m->locator[i]);
        if (x && bwc_chain_contains(c, x)) {
            fork = x;
            break;
        }
    }
    bwc_msg out;
    memset(&out, 0, sizeof out);
    out.type = BWC_MSG_HEADERS;
    out.headers = calloc(BWC_MAX_HEADERS, sizeof *out.headers);
    if (!out.headers)
        return;
    for (uint64_t h = fork->height + 1; h <= bwc_chain_height(c) && out.n_headers < BWC_MAX_HEADERS;
         h++) {
        const bwc_index *x = bwc_chain_at(c, h);
        out.headers[out.n_headers++] = x->header;
        if (memcmp(&x->id, &m->stop, 32) == 0)
            break;
    }
    bwc_peer_send(p, &out);
    bwc_msg_free(&out);
}

static void request_blocks(bwc_net *net);

/* a is a better best-known block for a peer than b: more work. */
static int better_known(const bwc_index *a, const bwc_index *b)
{
    return bwc_u256_cmp(a->work, b->work) > 0;
}

static void on_headers(bwc_peer *p, const bwc_msg *m)
{
    bwc_chain *c = chain_of(p);
    const bwc_index *last = NULL;
    for (size_t i = 0; i < m->n_headers; i++) {
        bwc_result res;
        bwc_hash id;
        bwc_submit_status st =
            bwc_chain_accept_header(c, &m->headers[i], bwc_node_now(), &id, &res);
        if (st == BWC_SUBMIT_ORPHAN) {
            /* Headers that do not connect, such as a new block announced while we lag
             * behind: ask from our locator. Only a peer that keeps doing it pays. */
            if (++p->unconnecting > BWC_NET_UNCONNECTING_MAX)
                bwc_peer_misbehaving(p, 10, "headers that do not connect");
            send_getheaders(p);
            return;
        }
        if (st == BWC_SUBMIT_REJECTED) {
            if (strcmp(res.reject, "time-too-new") != 0)
                bwc_peer_misbehaving(p, BWC_NET_BAN_SCORE, res.reject);
            return;
        }
        if (st == BWC_SUBMIT_ERROR)
            return;
        last = bwc_chain_find(c, &id);
        remember(p, &id);
    }
    if (m->n_headers > 0)
        p->unconnecting = 0;
    if (last && (!p->best_known || better_known(last, p->best_known)))
        p->best_known = last;
    if (m->n_headers == BWC_MAX_HEADERS)
        send_getheaders(p);
    request_blocks(p->net);
}

/* ---- inventory ---- */

static int have_tx(bwc_peer *p, const bwc_hash *id)
{
    bwc_node *n = p->net->node;
    if (bwc_mempool_get(&n->mempool, id))
        return 1;
    const bwc_index *blk;
    uint32_t i;
    return bwc_node_find_tx(n, id, &blk, &i) == 1;
}

static void on_inv(bwc_peer *p, const bwc_msg *m)
{
    bwc_net *net = p->net;
    uint64_t now = bwc_node_now_ms();
    if (now - p->inv_window_ms > 60000) {
        p->inv_window_ms = now;
        p->inv_in_window = 0;
    }
    p->inv_in_window += m->n_inv;
    if (p->inv_in_window > BWC_NET_INV_PER_MINUTE) {
        bwc_peer_misbehaving(p, 50, "inventory flood");
        return;
    }
    bwc_msg want;
    memset(&want, 0, sizeof want);
    want.type = BWC_MSG_GETDATA;
    want.inv = calloc(m->n_inv ? m->n_inv : 1, sizeof *want.inv);
    if (!want.inv)
        return;
    int block_news = 0;
    for (size_t i = 0; i < m->n_inv; i++) {
        const bwc_inv *v = &m->inv[i];
        remember(p, &v->id);
        if (v->kind == BWC_INV_BLOCK) {
            if (!bwc_chain_find(chain_of(p), &v->id))
                block_news = 1;
            continue;
        }
        int have = v->kind == BWC_INV_TX ? have_tx(p, &v->id)
                                         : bwc_mempool_get_receipt(&net->node->mempool, &v->id) != NULL;
        uintptr_t asked = (uintptr_t)bwc_map_get(&net->tx_requested, v->id.b, 32);
        if (have || (asked && now - asked < TX_REQUEST_MS))
            continue;
        if (!asked && bwc_map_size(&net->tx_requested) >= TX_REQUESTED_MAX)
            continue; /* too many outstanding: a later inv will bring it again */
        bwc_map_put(&net->tx_requested, v->id.b, 32, (void *)(uintptr_t)now);
        want.inv[want.n_inv++] = *v;
    }
    if (want.n_inv)
        bwc_peer_send(p, &want);
    bwc_msg_free(&want);
    /* A new block is fetched headers first. */
    if (block_news)
        send_getheaders(p);
}

static void send_object(bwc_peer *p, bwc_msg_type type, const unsigned char *bytes, size_t len)
{
    bwc_msg m;
    memset(&m, 0, sizeof m);
    m.type = type;
    m.obj = bytes;
    m.obj_len = len;
    bwc_peer_send(p, &m);
}

static void on_getdata(bwc_peer *p, const bwc_msg *m)
{
    bwc_node *n = p->net->node;
    bwc_msg missing;
    memset(&missing, 0, sizeof missing);
    missing.type = BWC_MSG_NOTFOUND;
    missing.inv = calloc(m->n_inv ? m->n_inv : 1, sizeof *missing.inv);
    if (!missing.inv)
        return;
    bwc_buf raw = BWC_BUF_INIT;
    for (size_t i = 0; i < m->n_inv && !p->disconnect; i++) {
        const bwc_inv *v = &m->inv[i];
        size_t queued = evbuffer_get_length(bufferevent_get_output(p->bev));
        int found = 0;
        if (queued < SERVE_BUDGET) {
            if (v->kind == BWC_INV_TX) {
                const bwc_mempool_tx *e = bwc_mempool_get(&n->mempool, &v->id);
                if (e) {
                    send_object(p, BWC_MSG_TX, e->bytes, e->len);
                    found = 1;
                }
            } else if (v->kind == BWC_INV_RECEIPT) {
                const bwc_mempool_receipt *e = bwc_mempool_get_receipt(&n->mempool, &v->id);
                if (e) {
                    send_object(p, BWC_MSG_RECEIPT, e->bytes, e->len);
                    found = 1;
                }
            } else {
                const bwc_index *x = bwc_chain_find(&n->chain, &v->id);
                bwc_buf_reset(&raw);
                if (x && (x->status & BWC_INDEX_HAVE_DATA) &&
                    bwc_chain_read_block(&n->chain, &v->id, &raw, NULL) == 0) {
                    send_object(p, BWC_MSG_BLOCK, raw.data, raw.len);
                    found = 1;
                }
            }
        }
        if (found)
            remember(p, &v->id);
        else
            missing.inv[missing.n_inv++] = *v;
    }
    bwc_buf_free(&raw);
    if (missing.n_inv)
        bwc_peer_send(p, &missing);
    bwc_msg_free(&missing);
}

/* ---- objects ---- */

static void forget_request(bwc_peer *p, const bwc_hash *id)
{
    for (size_t i = 0; i < p->n_in_flight; i++) {
        if (memcmp(&p->in_flight[i], id, 32) == 0) {
            bwc_map_del(&p->net->requested, id->b, 32);
            p->in_flight[i] = p->in_flight[p->n_in_flight - 1];
            p->in_flight_ms[i] = p->in_flight_ms[p->n_in_flight - 1];
            p->n_in_flight--;
            return;
        }
    }
}

static void on_block(bwc_peer *p, const bwc_msg *m)
{
    bwc_result res;
    bwc_hash id;
    memset(&id, 0, sizeof id);
    const bwc_index *tip = bwc_chain_tip(chain_of(p));
    bwc_submit_status st = bwc_node_submit_block(p->net->node, m->obj, m->obj_len, &id, &res);
    forget_request(p, &id);
    remember(p, &id);
    switch (st) {
    case BWC_SUBMIT_REJECTED:
        if (strcmp(res.reject, "time-too-new") != 0)
            bwc_peer_misbehaving(p, BWC_NET_BAN_SCORE, res.reject);
        break;
    case BWC_SUBMIT_ORPHAN:
        send_getheaders(p);
        break;
    default:
        break;
    }
    const bwc_index *x = bwc_chain_find(chain_of(p), &id);
    if (x && (!p->best_known || better_known(x, p->best_known)))
        p->best_known = x;
    /* A new tip already asked for more (bwc_net_tip_changed); otherwise ask here. */
    if (bwc_chain_tip(chain_of(p)) == tip)
        request_blocks(p->net);
}

/* Refusals that a later block can turn around: the object may be fine once we have caught
 * up (a receipt for a channel opened in a block we lack, a payment from funds received
 * there). Anything else is final. */
static int needs_state(const char *reject)
{
    static const char *const later[] = {
        "bad-receipt-unknown-channel", "bad-tx-insufficient-funds", "bad-tx-unknown-content",
        "bad-tx-no-relay", "bad-receipt-seq", "bad-tx-nonce", "mempool-nonce-gap",
    };
    for (size_t i = 0; i < sizeof later / sizeof later[0]; i++)
        if (strcmp(reject, later[i]) == 0)
            return 1;
    return 0;
}

/* Keeps a copy to try again after the next blocks (bounded: the oldest goes first). */
static void wait_for_state(bwc_net *net, bwc_inv_kind kind, const unsigned char *bytes,
                           size_t len)
{
    for (size_t i = 0; i < net->n_waiting; i++)
        if (net->waiting[i].len == len && memcmp(net->waiting[i].bytes, bytes, len) == 0)
            return;
    if (net->n_waiting == BWC_NET_WAITING_MAX) {
        free(net->waiting[0].bytes);
        memmove(&net->waiting[0], &net->waiting[1], (net->n_waiting - 1) * sizeof net->waiting[0]);
        net->n_waiting--;
    }
    unsigned char *copy = malloc(len);
    if (!copy)
        return;
    memcpy(copy, bytes, len);
    size_t i = net->n_waiting++;
    net->waiting[i].kind = (uint8_t)kind;
    net->waiting[i].bytes = copy;
    net->waiting[i].len = len;
    net->waiting[i].since = bwc_node_now();
}

/* After a new best block: what now passes enters the pools and is announced; what still
 * waits stays, up to BWC_NET_WAITING_SECONDS. */
static void retry_waiting(bwc_net *net)
{
    bwc_node *n = net->node;
    uint64_t now = bwc_node_now();
    size_t keep = 0;
    for (size_t i = 0; i < net->n_waiting; i++) {
        bwc_result res;
        bwc_hash id;
        int receipt = net->waiting[i].kind == BWC_INV_RECEIPT;
        int ok = receipt ? bwc_mempool_add_receipt(&n->mempool, net->waiting[i].bytes,
                                                   net->waiting[i].len, &id, &res)
                         : bwc_mempool_add_tx(&n->mempool, net->waiting[i].bytes,
                                              net->waiting[i].len, now, &id, &res);
        if (ok)
            bwc_net_announce(net, receipt ? BWC_INV_RECEIPT : BWC_INV_TX, &id);
        if (ok || !needs_state(res.reject) ||
            now - net->waiting[i].since > BWC_NET_WAITING_SECONDS) {
            free(net->waiting[i].bytes);
            continue;
        }
        net->waiting[keep++] = net->waiting[i];
    }
    net->n_waiting = keep;
}

static void on_tx(bwc_peer *p, const bwc_msg *m, int receipt)
{
    bwc_node *n = p->net->node;
    bwc_result res;
    bwc_hash id;
    memset(&id, 0, sizeof id);
    int ok = receipt ? bwc_mempool_add_receipt(&n->mempool, m->obj, m->obj_len, &id, &res)
                     : bwc_mempool_add_tx(&n->mempool, m->obj, m->obj_len, bwc_node_now(), &id,
                                          &res);
    bwc_map_del(&p->net->tx_requested, id.b, 32);
    remember(p, &id);
    if (ok) {
        bwc_net_announce(p->net, receipt ? BWC_INV_RECEIPT : BWC_INV_TX, &id);
        return;
    }
    if (res.code == BWC_RESULT_MALFORMED) {
        bwc_peer_misbehaving(p, BWC_NET_BAN_SCORE, res.reject);
        return;
    }
    bwc_log_debug(BWC_LOG_MEMPOOL, "%s from peer %llu not accepted: %s",
                  receipt ? "receipt" : "tx", (unsigned long long)p->id, res.reject);
    if (needs_state(res.reject))
        wait_for_state(p->net, receipt ? BWC_INV_RECEIPT : BWC_INV_TX, m->obj, m->obj_len);
}

static void on_addr(bwc_peer *p, const bwc_msg *m)
{
    uint64_t now = bwc_node_now();
    for (size_t i = 0; i < m->n_addrs; i++) {
        uint64_t t = m->addrs[i].time > now ? now : m->addrs[i].time;
        bwc_addrman_add(p->net, m->addrs[i].host, m->addrs[i].port, t);
    }
}

static void on_getaddr(bwc_peer *p)
{
    if (!p->inbound || p->sent_getaddr)
        return; /* answered once per connection, to inbound peers only (fingerprinting) */
    p->sent_getaddr = 1;
    bwc_msg m;
    memset(&m, 0, sizeof m);
    m.type = BWC_MSG_ADDR;
    m.addrs = calloc(BWC_MAX_ADDR, sizeof *m.addrs);
    if (!m.addrs)
        return;
    m.n_addrs = bwc_addrman_sample(p->net, m.addrs, BWC_MAX_ADDR);
    bwc_peer_send(p, &m);
    bwc_msg_free(&m);
}

static void on_notfound(bwc_peer *p, const bwc_msg *m)
{
    for (size_t i = 0; i < m->n_inv; i++)
        if (m->inv[i].kind == BWC_INV_BLOCK)
            forget_request(p, &m->inv[i].id);
}

void bwc_sync_handle(bwc_peer *p, bwc_msg *m)
{
    switch (m->type) {
    case BWC_MSG_INV:
        on_inv(p, m);
        break;
    case BWC_MSG_GETDATA:
        on_getdata(p, m);
        break;
    case BWC_MSG_NOTFOUND:
        on_notfound(p, m);
        break;
    case BWC_MSG_TX:
        on_tx(p, m, 0);
        break;
    case BWC_MSG_RECEIPT:
        on_tx(p, m, 1);
        break;
    case BWC_MSG_BLOCK:
        on_block(p, m);
        break;
    case BWC_MSG_GETHEADERS:
        on_getheaders(p, m);
        break;
    case BWC_MSG_HEADERS:
        on_headers(p, m);
        break;
    case BWC_MSG_GETADDR:
        on_getaddr(p);
        break;
    case BWC_MSG_ADDR:
        on_addr(p, m);
        break;
    default:
        bwc_peer_misbehaving(p, 10, "unexpected message");
    }
}

void bwc_sync_peer_ready(bwc_peer *p)
{
    if (!p->inbound) {
        bwc_msg m;
        memset(&m, 0, sizeof m);
        m.type = BWC_MSG_GETADDR;
        bwc_peer_send(p, &m);
    }
    send_getheaders(p);
    announce_pools(p);
}

void bwc_sync_peer_gone(bwc_peer *p)
{
    for (size_t i = 0; i < p->n_in_flight; i++)
        bwc_map_del(&p->net->requested, p->in_flight[i].b, 32);
    p->n_in_flight = 0;
}

/* ---- announcing ---- */

/* Queues one announcement for p, unless p knows the object or its queue is full. */
static void announce_to(bwc_peer *p, bwc_inv_kind kind, const bwc_hash *id)
{
    if (!ready(p) || bwc_map_get(&p->known, id->b, 32))
        return;
    if (p->n_announce == p->announce_cap) {
        if (p->announce_cap >= BWC_NET_ANNOUNCE_MAX)
            return;
        size_t cap = p->announce_cap ? p->announce_cap * 2 : 64;
        bwc_inv *a = realloc(p->announce, cap * sizeof *a);
        if (!a)
            return;
        p->announce = a;
        p->announce_cap = cap;
    }
    p->announce[p->n_announce++] = (bwc_inv){(uint8_t)kind, *id};
    remember(p, id);
}

void bwc_net_announce(bwc_net *net, bwc_inv_kind kind, const bwc_hash *id)
{
    if (!net || !net->node)
        return;
    for (bwc_peer *p = net->peers; p; p = p->next)
        announce_to(p, kind, id);
}

/* A new best block goes out at once as its header (one round trip less than an inv): a peer
 * that has its parent asks for the block; one that lags asks for headers. */
void bwc_net_tip_changed(bwc_net *net)
{
    if (!net || !net->node)
        return;
    const bwc_index *tip = bwc_chain_tip(&net->node->chain);
    bwc_msg m;
    memset(&m, 0, sizeof m);
    bwc_header h = tip->header;
    m.type = BWC_MSG_HEADERS;
    m.headers = &h;
    m.n_headers = 1;
    for (bwc_peer *p = net->peers; p; p = p->next) {
        if (!ready(p) || bwc_map_get(&p->known, tip->id.b, 32))
            continue;
        bwc_peer_send(p, &m);
        remember(p, &tip->id);
    }
    retry_waiting(net);
    request_blocks(net);
}

/* A new peer hears of everything waiting in our pools, as it would have had it been connected
 * when they arrived. */
static void announce_pools(bwc_peer *p)
{
    bwc_mempool *m = &p->net->node->mempool;
    const unsigned char *k;
    size_t kl;
    void *v;
    for (size_t i = 0; bwc_map_next(&m->txs, &i, &k, &kl, &v);)
        announce_to(p, BWC_INV_TX, &((bwc_mempool_tx *)v)->txid);
    for (size_t i = 0; bwc_map_next(&m->receipts, &i, &k, &kl, &v);)
        announce_to(p, BWC_INV_RECEIPT, &((bwc_mempool_receipt *)v)->rid);
}

static void flush_announcements(bwc_peer *p)
{
    size_t done = 0;
    while (done < p->n_announce) {
        bwc_msg m;
        memset(&m, 0, sizeof m);
        m.type = BWC_MSG_INV;
        m.inv = p->announce + done;
        m.n_inv = p->n_announce - done > BWC_MAX_INV ? BWC_MAX_INV : p->n_announce - done;
        bwc_peer_send(p, &m);
        done += m.n_inv;
    }
    p->n_announce = 0;
}

/* ---- block download ---- */

/* Asks each peer for the blocks it can give that lead to its best known block, when that block
 * has more work than our tip: the lowest missing first, at most BWC_NET_BLOCKS_IN_FLIGHT per
 * peer and BWC_NET_DOWNLOAD_WINDOW ahead of the tip, each block from one peer at a time.
 * Aiming at each peer's own best block, not only at the best header we know, means a header
 * whose block never comes cannot stop us following the peers that do send theirs. */
static void request_from(bwc_net *net, bwc_peer *p)
{
    bwc_chain *c = &net->node->chain;
    const bwc_index *tip = bwc_chain_tip(c);
    const bwc_index *goal = p->best_known;
    if (!goal || (goal->status & BWC_INDEX_FAILED) || bwc_u256_cmp(goal->work, tip->work) <= 0)
        return;
    const bwc_index *top = ancestor(c, goal, tip->height + BWC_NET_DOWNLOAD_WINDOW);
    const bwc_index *path[BWC_NET_DOWNLOAD_WINDOW + 1];
    size_t n = 0;
    for (const bwc_index *x = top; x && !bwc_chain_contains(c, x); x = x->prev) {
        if (n == BWC_NET_DOWNLOAD_WINDOW + 1)
            memmove(path, path + 1, (--n) * sizeof path[0]);
        path[n++] = x;
    }
    bwc_msg m;
    bwc_inv want[BWC_NET_BLOCKS_IN_FLIGHT];
    memset(&m, 0, sizeof m);
    m.type = BWC_MSG_GETDATA;
    m.inv = want;
    for (size_t i = n; i-- > 0 && p->n_in_flight < BWC_NET_BLOCKS_IN_FLIGHT;) {
        const bwc_index *x = path[i];
        if ((x->status & BWC_INDEX_FAILED))
            break;
        if ((x->status & BWC_INDEX_HAVE_DATA) || bwc_map_get(&net->requested, x->id.b, 32))
            continue;
        bwc_map_put(&net->requested, x->id.b, 32, p);
        p->in_flight[p->n_in_flight] = x->id;
        p->in_flight_ms[p->n_in_flight++] = bwc_node_now_ms();
        want[m.n_inv++] = (bwc_inv){BWC_INV_BLOCK, x->id};
    }
    if (m.n_inv)
        bwc_peer_send(p, &m);
}

static void request_blocks(bwc_net *net)
{
    for (bwc_peer *p = net->peers; p; p = p->next)
        if (ready(p) && p->n_in_flight < BWC_NET_BLOCKS_IN_FLIGHT)
            request_from(net, p);
}

void bwc_sync_tick(bwc_net *net, uint64_t now_ms)
{
    for (bwc_peer *p = net->peers; p; p = p->next) {
        if (!ready(p))
            continue;
        for (size_t i = 0; i < p->n_in_flight; i++) {
            if (now_ms - p->in_flight_ms[i] > BWC_NET_BLOCK_TIMEOUT_SECONDS * 1000u) {
                bwc_peer_close(p, "block download timed out");
                break;
            }
        }
        if (p->n_announce)
            flush_announcements(p);
    }
    request_blocks(net);
    /* Forget old tx requests so an object can be asked from someone else. */
    if (now_ms - net->last_sweep_ms > 10000) {
        net->last_sweep_ms = now_ms;
        const unsigned char *k;
        size_t kl;
        void *v;
        for (size_t i = 0; bwc_map_next(&net->tx_requested, &i, &k, &kl, &v);)
            if (now_ms - (uintptr_t)v > TX_REQUEST_MS)
                bwc_map_del(&net->tx_requested, k, kl);
    }
}
