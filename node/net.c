/* net.c: P2P connections: listening, connecting, framing, the handshake, pings, misbehaviour
 * and bans, and the address book. What a message means is net_sync.c's business. */
#include "node/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <jansson.h>

#include "common/fileio.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/random.h"
#include "node/node.h"


static size_t max_payload(const bwc_net *net)
{
    return net->node->params->max_message_bytes;
}

/* ---- addresses ---- */

/* Splits "ip:port", "[v6]:port" (or "ip" with def_port) into host and port. Numeric only. */
static int parse_hostport(const char *s, uint16_t def_port, char *host, size_t hostlen,
                          uint16_t *port)
{
    const char *colon;
    size_t hl;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end)
            return -1;
        hl = (size_t)(end - s - 1);
        if (hl >= hostlen)
            return -1;
        memcpy(host, s + 1, hl);
        host[hl] = '\0';
        colon = end[1] == ':' ? end + 1 : NULL;
        if (!colon && end[1] != '\0')
            return -1;
    } else {
        colon = strrchr(s, ':');
        if (colon && strchr(s, ':') != colon)
            colon = NULL; /* a bare IPv6 address */
        hl = colon ? (size_t)(colon - s) : strlen(s);
        if (hl >= hostlen)
            return -1;
        memcpy(host, s, hl);
        host[hl] = '\0';
    }
    unsigned char buf[16];
    if (inet_pton(AF_INET, host, buf) != 1 && inet_pton(AF_INET6, host, buf) != 1)
        return -1;
    if (!colon) {
        *port = def_port;
        return 0;
    }
    char *end;
    long v = strtol(colon + 1, &end, 10);
    if (*end || v < 1 || v > 65535)
        return -1;
    *port = (uint16_t)v;
    return 0;
}

static void format_name(char *out, size_t len, const char *host, uint16_t port)
{
    if (strchr(host, ':'))
        snprintf(out, len, "[%s]:%u", host, (unsigned)port);
    else
        snprintf(out, len, "%s:%u", host, (unsigned)port);
}

static bwc_addr_entry *addr_find(bwc_net *net, const char *host, uint16_t port)
{
    for (size_t i = 0; i < net->n_addrs; i++)
        if (net->addrs[i].port == port && strcmp(net->addrs[i].host, host) == 0)
            return &net->addrs[i];
    return NULL;
}

/* Our own listening address, as peers on this machine see it. */
static int is_self(const bwc_net *net, const char *host, uint16_t port)
{
    if (!net->listen || port != net->port)
        return 0;
    return strcmp(host, net->bind) == 0 || strncmp(host, "127.", 4) == 0 ||
           strcmp(host, "::1") == 0;
}

void bwc_addrman_add(bwc_net *net, const char *host, uint16_t port, uint64_t seen)
{
    if (is_self(net, host, port))
        return;
    bwc_addr_entry *e = addr_find(net, host, port);
    if (e) {
        if (seen > e->last_seen)
            e->last_seen = seen;
        return;
    }
    if (net->n_addrs == BWC_NET_ADDRMAN_MAX) {
        /* Full: replace the entry seen longest ago, so old gossip cannot pin the table. */
        size_t old = 0;
        for (size_t i = 1; i < net->n_addrs; i++)
            if (net->addrs[i].last_seen < net->addrs[old].last_seen)
                old = i;
        if (net->addrs[old].last_seen >= seen)
            return;
        e = &net->addrs[old];
    } else {
        bwc_addr_entry *a = realloc(net->addrs, (net->n_addrs + 1) * sizeof *a);
        if (!a)
            return;
        net->addrs = a;
        e = &net->addrs[net->n_addrs++];
    }
    memset(e, 0, sizeof *e);
    snprintf(e->host, sizeof e->host, "%s", host);
    e->port = port;
    e->last_seen = seen;
    net->addrs_dirty = 1;
}

size_t bwc_addrman_sample(bwc_net *net, bwc_netaddr *out, size_t max)
{
    size_t n = 0;
    uint64_t now = bwc_node_now();
    for (size_t i = 0; i < net->n_addrs && n < max; i++) {
        bwc_addr_entry *e = &net->addrs[i];
        /* Only addresses that worked recently are worth passing on. */
        if (e->last_success == 0 && e->last_seen + 3 * 3600 < now)
            continue;
        snprintf(out[n].host, sizeof out[n].host, "%s", e->host);
        out[n].port = e->port;
        out[n].time = e->last_seen;
        n++;
    }
    return n;
}

/* ---- persistence: peers.json, banlist.json ---- */

static void path_of(const bwc_net *net, const char *file, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", net->chaindir, file);
}

/* Writes JSON atomically (common/fileio.h): readers never see half a file. */
static void save_json(const bwc_net *net, const char *file, json_t *doc)
{
    char path[4200], err[256];
    path_of(net, file, path, sizeof path);
    char *text = json_dumps(doc, JSON_INDENT(1) | JSON_SORT_KEYS);
    if (!text || bwc_file_replace(path, text, strlen(text), 0600,
                                  BWC_FILE_SYNC | BWC_FILE_SYNC_DIR, err, sizeof err) != 0)
        bwc_log(BWC_LOG_WARNING, "cannot save %s: %s", path, text ? err : "out of memory");
    free(text);
}

static void save_state(bwc_net *net)
{
    json_t *a = json_array();
    for (size_t i = 0; i < net->n_addrs; i++) {
        bwc_addr_entry *e = &net->addrs[i];
        json_array_append_new(a, json_pack("{s:s,s:i,s:I,s:I,s:i}", "host", e->host, "port",
                                           (int)e->port, "last_seen", (json_int_t)e->last_seen,
                                           "last_success", (json_int_t)e->last_success,
                                           "attempts", (int)e->attempts));
    }
    save_json(net, "peers.json", a);
    json_decref(a);
    json_t *b = json_array();
    for (size_t i = 0; i < net->n_bans; i++)
        json_array_append_new(b, json_pack("{s:s,s:I,s:s}", "address", net->bans[i].host, "until",
                                           (json_int_t)net->bans[i].until, "reason",
                                           net->bans[i].reason));
    save_json(net, "banlist.json", b);
    json_decref(b);
    net->addrs_dirty = 0;
}

static int ban_set(bwc_net *net, const char *host, const bwc_netmask *m, uint64_t until,
                   const char *reason);

static void load_state(bwc_net *net)
{
    uint64_t now = bwc_node_now();
    char path[4200];
    json_error_t jerr;
    path_of(net, "peers.json", path, sizeof path);
    json_t *a = json_load_file(path, 0, &jerr);
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v)
    {
        const char *host = json_string_value(json_object_get(v, "host"));
        json_int_t port = json_integer_value(json_object_get(v, "port"));
        char h[BWC_HOST_MAX + 1];
        uint16_t pt;
        if (!host || port < 1 || port > 65535 || parse_hostport(host, (uint16_t)port, h, sizeof h,
                                                                 &pt) != 0)
            continue;
        bwc_addrman_add(net, h, (uint16_t)port,
                        (uint64_t)json_integer_value(json_object_get(v, "last_seen")));
        bwc_addr_entry *e = addr_find(net, h, (uint16_t)port);
        if (e) {
            e->last_success = (uint64_t)json_integer_value(json_object_get(v, "last_success"));
            e->attempts = (uint32_t)json_integer_value(json_object_get(v, "attempts"));
        }
    }
    json_decref(a);
    path_of(net, "banlist.json", path, sizeof path);
    json_t *b = json_load_file(path, 0, &jerr);
    json_array_foreach(b, i, v)
    {
        const char *host = json_string_value(json_object_get(v, "address"));
        json_int_t until = json_integer_value(json_object_get(v, "until"));
        const char *reason = json_string_value(json_object_get(v, "reason"));
        bwc_netmask m;
        if (host && until > 0 && (uint64_t)until > now && bwc_netmask_parse(&m, host))
            ban_set(net, host, &m, (uint64_t)until, reason ? reason : "");
    }
    json_decref(b);
    net->addrs_dirty = 0;
}

/* ---- bans ---- */

/* host as a socket address (port 0 unless given). Returns the length, or 0 if not an IP. */
static int host_sockaddr(const char *host, uint16_t port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (strchr(host, ':')) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        return inet_pton(AF_INET6, host, &in6->sin6_addr) == 1 ? (int)sizeof *in6 : 0;
    }
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    return inet_pton(AF_INET, host, &in->sin_addr) == 1 ? (int)sizeof *in : 0;
}

static int banned_addr(const bwc_net *net, const struct sockaddr *sa, uint64_t now)
{
    for (size_t i = 0; i < net->n_bans; i++)
        if (net->bans[i].until > now && bwc_netmask_match(&net->bans[i].mask, sa))
            return 1;
    return 0;
}

static bwc_ban *ban_find(bwc_net *net, const bwc_netmask *m)
{
    for (size_t i = 0; i < net->n_bans; i++)
        if (memcmp(&net->bans[i].mask, m, sizeof *m) == 0)
            return &net->bans[i];
    return NULL;
}

/* Drops bans that have run out. */
static void prune_bans(bwc_net *net, uint64_t now)
{
    size_t k = 0;
    for (size_t i = 0; i < net->n_bans; i++)
        if (net->bans[i].until > now)
            net->bans[k++] = net->bans[i];
    if (k != net->n_bans) {
        net->n_bans = k;
        net->addrs_dirty = 1;
    }
}

/* Adds or renews the ban of m until the absolute time until. At BWC_NET_MAX_BANS the ban
 * that expires first makes room. Returns 0, or -1 out of memory. */
static int ban_set(bwc_net *net, const char *host, const bwc_netmask *m, uint64_t until,
                   const char *reason)
{
    bwc_ban *e = ban_find(net, m);
    if (!e && net->n_bans >= BWC_NET_MAX_BANS) {
        e = &net->bans[0];
        for (size_t i = 1; i < net->n_bans; i++)
            if (net->bans[i].until < e->until)
                e = &net->bans[i];
    }
    if (!e) {
        bwc_ban *b = realloc(net->bans, (net->n_bans + 1) * sizeof *b);
        if (!b)
            return -1;
        net->bans = b;
        e = &net->bans[net->n_bans++];
    }
    snprintf(e->host, sizeof e->host, "%s", host);
    snprintf(e->reason, sizeof e->reason, "%s", reason);
    e->mask = *m;
    e->until = until;
    net->addrs_dirty = 1;
    return 0;
}

int bwc_net_is_banned(const bwc_net *net, const char *host, uint64_t now)
{
    struct sockaddr_storage ss;
    if (host_sockaddr(host, 0, &ss))
        return banned_addr(net, (struct sockaddr *)&ss, now);
    /* A subnet: banned when that very subnet is. */
    bwc_netmask m;
    if (!bwc_netmask_parse(&m, host))
        return 0;
    const bwc_ban *b = ban_find((bwc_net *)net, &m);
    return b && b->until > now;
}

int bwc_net_ban(bwc_net *net, const char *host, uint64_t seconds, const char *reason)
{
    bwc_netmask m;
    if (!bwc_netmask_parse(&m, host))
        return -1;
    uint64_t until = bwc_node_now() + (seconds ? seconds : BWC_NET_BAN_SECONDS);
    if (ban_set(net, host, &m, until, reason) != 0)
        return -1;
    /* Existing connections from a banned address go too. */
    for (bwc_peer *p = net->peers; p; p = p->next) {
        struct sockaddr_storage ss;
        if (host_sockaddr(p->host, 0, &ss) && bwc_netmask_match(&m, (struct sockaddr *)&ss))
            bwc_peer_close(p, "banned");
    }
    return 0;
}

int bwc_net_unban(bwc_net *net, const char *host)
{
    bwc_netmask m;
    bwc_ban *b = bwc_netmask_parse(&m, host) ? ban_find(net, &m) : NULL;
    if (!b)
        return -1;
    *b = net->bans[--net->n_bans];
    net->addrs_dirty = 1;
    return 0;
}

void bwc_net_clear_bans(bwc_net *net)
{
    net->n_bans = 0;
    net->addrs_dirty = 1;
}

/* ---- peers ---- */

static void peer_free(bwc_peer *p)
{
    if (p->bev)
        bufferevent_free(p->bev);
    bwc_map_free(&p->known);
    free(p->announce);
    free(p);
}

void bwc_peer_close(bwc_peer *p, const char *why)
{
    if (p->disconnect)
        return;
    p->disconnect = 1;
    bwc_log_debug(BWC_LOG_NET, "disconnecting peer %llu (%s): %s", (unsigned long long)p->id,
                  p->name, why);
    /* Stop reading at once; the structure goes at the next maintenance pass, outside any of
     * its own callbacks. */
    if (p->bev)
        bufferevent_disable(p->bev, EV_READ);
}

void bwc_peer_misbehaving(bwc_peer *p, int score, const char *reason)
{
    static bwc_log_limiter lim = BWC_LOG_LIMITER_INIT;
    p->score += score;
    bwc_log_rate_limited(&lim, BWC_LOG_INFO, "peer %llu (%s) misbehaving (+%d = %d): %s",
                         (unsigned long long)p->id, p->name, score, p->score, reason);
    if (p->score >= BWC_NET_BAN_SCORE) {
        bwc_net_ban(p->net, p->host, BWC_NET_BAN_SECONDS, reason);
        bwc_peer_close(p, reason);
    }
}

void bwc_peer_send(bwc_peer *p, const bwc_msg *m)
{
    if (p->disconnect || !p->bev)
        return;
    bwc_buf frame = BWC_BUF_INIT;
    if (!bwc_msg_encode(m, p->net->magic, &frame)) {
        bwc_buf_free(&frame);
        return;
    }
    struct evbuffer *out = bufferevent_get_output(p->bev);
    if (evbuffer_get_length(out) + frame.len > BWC_NET_SENDBUF_MAX) {
        bwc_buf_free(&frame);
        bwc_peer_close(p, "not reading what we send");
        return;
    }
    bufferevent_write(p->bev, frame.data, frame.len);
    p->bytes_sent += frame.len;
    p->last_send_ms = bwc_node_now_ms();
    bwc_log_debug(BWC_LOG_NET, "sent %s (%zu bytes) to peer %llu", bwc_msg_name(m->type),
                  frame.len, (unsigned long long)p->id);
    bwc_buf_free(&frame);
}

static void send_version(bwc_peer *p)
{
    bwc_net *net = p->net;
    const bwc_index *tip = bwc_chain_tip(&net->node->chain);
    bwc_msg m;
    memset(&m, 0, sizeof m);
    m.type = BWC_MSG_VERSION;
    m.version = BWC_P2P_VERSION;
    m.chain_id = net->node->chain.chain_id;
    m.height = tip->height;
    m.best = tip->id;
    snprintf(m.agent, sizeof m.agent, "%s", BWC_NODE_USER_AGENT);
    m.port = net->listen ? net->port : 0;
    m.nonce = net->nonce;
    m.time = bwc_node_now();
    bwc_peer_send(p, &m);
}

static void on_version(bwc_peer *p, const bwc_msg *m)
{
    bwc_net *net = p->net;
    if (p->got_version) {
        bwc_peer_misbehaving(p, 20, "duplicate version");
        return;
    }
    if (m->nonce == net->nonce) {
        bwc_peer_close(p, "connected to ourselves");
        return;
    }
    if (memcmp(&m->chain_id, &net->node->chain.chain_id, 32) != 0) {
        bwc_peer_misbehaving(p, BWC_NET_BAN_SCORE, "another chain (chain_id differs)");
        return;
    }
    if (m->version < 1) {
        bwc_peer_close(p, "obsolete protocol version");
        return;
    }
    p->got_version = 1;
    p->version = m->version;
    p->start_height = m->height;
    snprintf(p->agent, sizeof p->agent, "%s", m->agent);
    p->listen_port = m->port;
    p->best_known = bwc_chain_find(&net->node->chain, &m->best);
    if (p->inbound) {
        send_version(p);
        if (m->port)
            bwc_addrman_add(net, p->host, m->port, bwc_node_now());
    }
    bwc_msg ack;
    memset(&ack, 0, sizeof ack);
    ack.type = BWC_MSG_VERACK;
    bwc_peer_send(p, &ack);
}

static void handle(bwc_peer *p, bwc_msg *m)
{
    p->last_recv_ms = bwc_node_now_ms();
    if (m->type == BWC_MSG_VERSION) {
        on_version(p, m);
        return;
    }
    if (!p->got_version) {
        bwc_peer_misbehaving(p, BWC_NET_BAN_SCORE, "message before version");
        return;
    }
    if (m->type == BWC_MSG_VERACK) {
        if (p->got_verack)
            return;
        p->got_verack = 1;
        if (!p->inbound) {
            bwc_addr_entry *e = addr_find(p->net, p->host, p->port);
            if (e) {
                e->last_success = e->last_seen = bwc_node_now();
                e->attempts = 0;
                p->net->addrs_dirty = 1;
            }
        }
        bwc_log(BWC_LOG_INFO, "peer %llu connected: %s %s, %s, height %llu",
                (unsigned long long)p->id, p->inbound ? "inbound from" : "outbound to", p->name,
                p->agent, (unsigned long long)p->start_height);
        bwc_sync_peer_ready(p);
        return;
    }
    if (!p->got_verack) {
        bwc_peer_misbehaving(p, 20, "message before verack");
        return;
    }
    switch (m->type) {
    case BWC_MSG_PING: {
        bwc_msg pong;
        memset(&pong, 0, sizeof pong);
        pong.type = BWC_MSG_PONG;
        pong.nonce = m->nonce;
        bwc_peer_send(p, &pong);
        return;
    }
    case BWC_MSG_PONG:
        if (p->ping_nonce && m->nonce == p->ping_nonce) {
            p->ping_ms = bwc_node_now_ms() - p->ping_start_ms;
            if (!p->min_ping_ms || p->ping_ms < p->min_ping_ms)
                p->min_ping_ms = p->ping_ms;
            p->ping_nonce = 0;
        }
        return;
    default:
        bwc_sync_handle(p, m);
    }
}

static void on_read(struct bufferevent *bev, void *arg)
{
    bwc_peer *p = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    while (!p->disconnect) {
        size_t have = evbuffer_get_length(in);
        if (have < BWC_FRAME_HEADER)
            return;
        unsigned char hdr[BWC_FRAME_HEADER];
        evbuffer_copyout(in, hdr, sizeof hdr);
        size_t len;
        bwc_result res;
        if (!bwc_frame_header(hdr, p->net->magic, max_payload(p->net), &len, &res)) {
            bwc_peer_misbehaving(p, BWC_NET_BAN_SCORE, res.reject);
            return;
        }
        if (have < BWC_FRAME_HEADER + len)
            return; /* the watermark lets exactly this much in */
        evbuffer_drain(in, BWC_FRAME_HEADER);
        unsigned char *payload = evbuffer_pullup(in, (ev_ssize_t)len);
        p->bytes_recv += BWC_FRAME_HEADER + len;
        bwc_msg m;
        if (!bwc_msg_decode(&m, payload, len, &res)) {
            evbuffer_drain(in, len);
            bwc_peer_misbehaving(p, BWC_NET_BAN_SCORE, res.reject);
            return;
        }
        bwc_log_debug(BWC_LOG_NET, "received %s (%zu bytes) from peer %llu",
                      bwc_msg_name(m.type), len, (unsigned long long)p->id);
        handle(p, &m);
        bwc_msg_free(&m);
        evbuffer_drain(in, len);
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    bwc_peer *p = arg;
    if (what & BEV_EVENT_CONNECTED) {
        p->connected = 1;
        bwc_log_debug(BWC_LOG_NET, "connected to %s", p->name);
        send_version(p);
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        bwc_peer_close(p, what & BEV_EVENT_EOF ? "closed by peer" : "connection error");
    }
}

static bwc_peer *peer_new(bwc_net *net, struct bufferevent *bev, const char *host,
                          uint16_t port, int inbound)
{
    bwc_peer *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->net = net;
    p->id = net->next_id++;
    p->bev = bev;
    p->inbound = inbound;
    snprintf(p->host, sizeof p->host, "%s", host);
    p->port = port;
    format_name(p->name, sizeof p->name, host, port);
    p->connect_ms = p->last_recv_ms = bwc_node_now_ms();
    bwc_map_init(&p->known);
    /* Never buffer more than one whole frame: libevent stops reading at the high mark. */
    bufferevent_setwatermark(bev, EV_READ, 0, BWC_FRAME_HEADER + max_payload(net));
    bufferevent_setcb(bev, on_read, NULL, on_event, p);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    p->next = net->peers;
    net->peers = p;
    return p;
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    (void)l, (void)salen;
    bwc_net *net = arg;
    char host[BWC_HOST_MAX + 1] = "";
    uint16_t port = 0;
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
    }
    int banned = banned_addr(net, sa, bwc_node_now());
    if (banned || bwc_net_count(net, 1) >= net->max_inbound) {
        bwc_log_debug(BWC_LOG_NET, "refused a connection from %s (%s)", host,
                      banned ? "banned" : "full");
        evutil_closesocket(fd);
        return;
    }
    struct bufferevent *bev = bufferevent_socket_new(net->base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (!bev) {
        evutil_closesocket(fd);
        return;
    }
    bwc_peer *p = peer_new(net, bev, host, port, 1);
    if (!p) {
        bufferevent_free(bev);
        return;
    }
    p->connected = 1;
}

/* A live connection to host:port: outbound to it, or inbound from a peer that listens there
 * (one connection per pair of nodes is enough). */
static bwc_peer *find_peer(bwc_net *net, const char *host, uint16_t port)
{
    for (bwc_peer *p = net->peers; p; p = p->next) {
        if (p->disconnect || strcmp(p->host, host) != 0)
            continue;
        if (p->inbound ? p->listen_port == port : p->port == port)
            return p;
    }
    return NULL;
}

static bwc_peer *connect_to(bwc_net *net, const char *host, uint16_t port, int manual)
{
    struct sockaddr_storage ss;
    int sslen = host_sockaddr(host, port, &ss);
    if (!sslen)
        return NULL;
    struct bufferevent *bev = bufferevent_socket_new(net->base, -1, BEV_OPT_CLOSE_ON_FREE);
    if (!bev)
        return NULL;
    bwc_peer *p = peer_new(net, bev, host, port, 0);
    if (!p) {
        bufferevent_free(bev);
        return NULL;
    }
    p->manual = manual;
    bwc_addr_entry *e = addr_find(net, host, port);
    if (e)
        e->last_try = bwc_node_now();
    if (bufferevent_socket_connect(bev, (struct sockaddr *)&ss, sslen) != 0)
        bwc_peer_close(p, "connect failed");
    bwc_log_debug(BWC_LOG_NET, "connecting to %s", p->name);
    return p;
}

size_t bwc_net_count(const bwc_net *net, int inbound)
{
    size_t n = 0;
    for (const bwc_peer *p = net->peers; p; p = p->next)
        if (!p->disconnect && p->inbound == inbound)
            n++;
    return n;
}

int bwc_net_disconnect(bwc_net *net, uint64_t id, const char *name)
{
    for (bwc_peer *p = net->peers; p; p = p->next) {
        if (p->disconnect)
            continue;
        if ((name && strcmp(p->name, name) == 0) || (!name && p->id == id)) {
            bwc_peer_close(p, "disconnectnode");
            return 0;
        }
    }
    return -1;
}

static int list_has(char **list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return 1;
    return 0;
}

static int list_add(char ***list, size_t *n, const char *s)
{
    char **a = realloc(*list, (*n + 1) * sizeof *a);
    if (!a)
        return -1;
    *list = a;
    if (!(a[*n] = strdup(s)))
        return -1;
    (*n)++;
    return 0;
}

int bwc_net_addnode(bwc_net *net, const char *hostport, const char *command)
{
    char host[BWC_HOST_MAX + 1], name[BWC_HOST_MAX + 16];
    uint16_t port;
    if (parse_hostport(hostport, net->node->spec.p2p_port, host, sizeof host, &port) != 0)
        return -1;
    format_name(name, sizeof name, host, port);
    if (strcmp(command, "onetry") == 0) {
        if (!find_peer(net, host, port))
            connect_to(net, host, port, 1);
        return 0;
    }
    if (strcmp(command, "add") == 0) {
        if (list_has(net->added, net->n_added, name))
            return -2;
        return list_add(&net->added, &net->n_added, name);
    }
    if (strcmp(command, "remove") == 0) {
        for (size_t i = 0; i < net->n_added; i++) {
            if (strcmp(net->added[i], name) == 0) {
                free(net->added[i]);
                net->added[i] = net->added[--net->n_added];
                return 0;
            }
        }
        return -2;
    }
    return -1;
}

/* ---- maintenance ---- */

static void reap(bwc_net *net)
{
    bwc_peer **pp = &net->peers;
    while (*pp) {
        bwc_peer *p = *pp;
        if (p->disconnect) {
            *pp = p->next;
            if (!p->inbound && !p->got_verack && !net->stopping) {
                /* An outbound attempt that never completed its handshake: back off. */
                bwc_addr_entry *e = addr_find(net, p->host, p->port);
                if (e) {
                    e->attempts++;
                    net->addrs_dirty = 1;
                }
            }
            bwc_sync_peer_gone(p);
            if (p->got_verack)
                bwc_log(BWC_LOG_INFO, "peer %llu (%s) disconnected", (unsigned long long)p->id,
                        p->name);
            peer_free(p);
        } else {
            pp = &p->next;
        }
    }
}

static void check_timeouts(bwc_net *net, uint64_t now_ms)
{
    for (bwc_peer *p = net->peers; p; p = p->next) {
        if (p->disconnect)
            continue;
        if (!p->got_verack) {
            if (now_ms - p->connect_ms > BWC_NET_HANDSHAKE_SECONDS * 1000u)
                bwc_peer_close(p, "no handshake in time");
            continue;
        }
        if (p->ping_nonce && now_ms - p->ping_start_ms > BWC_NET_TIMEOUT_SECONDS * 1000u) {
            bwc_peer_close(p, "ping timeout");
            continue;
        }
        if (!p->ping_nonce && now_ms - p->last_recv_ms > BWC_NET_PING_SECONDS * 1000u) {
            bwc_msg ping;
            memset(&ping, 0, sizeof ping);
            ping.type = BWC_MSG_PING;
            bwc_random_bytes(&ping.nonce, sizeof ping.nonce);
            ping.nonce |= 1; /* never 0, which means "none outstanding" */
            p->ping_nonce = ping.nonce;
            p->ping_start_ms = now_ms;
            bwc_peer_send(p, &ping);
        }
    }
}

/* Back-off: a target that failed k times waits 2^k seconds (at most 10 minutes). */
static int due(const bwc_addr_entry *e, uint64_t now)
{
    if (!e)
        return 1;
    uint64_t wait = e->attempts >= 10 ? BWC_NET_RETRY_MAX_SECONDS : (1ull << e->attempts);
    if (wait > BWC_NET_RETRY_MAX_SECONDS)
        wait = BWC_NET_RETRY_MAX_SECONDS;
    return e->last_try + wait <= now;
}

static void connect_list(bwc_net *net, char **list, size_t n, uint64_t now)
{
    for (size_t i = 0; i < n; i++) {
        char host[BWC_HOST_MAX + 1];
        uint16_t port;
        if (parse_hostport(list[i], net->node->spec.p2p_port, host, sizeof host, &port) != 0 ||
            find_peer(net, host, port))
            continue;
        bwc_addrman_add(net, host, port, 0);
        if (due(addr_find(net, host, port), now))
            connect_to(net, host, port, 1);
    }
}

static void open_connections(bwc_net *net)
{
    uint64_t now = bwc_node_now();
    if (net->n_connect) {
        connect_list(net, net->connect, net->n_connect, now);
        return;
    }
    connect_list(net, net->added, net->n_added, now);
    size_t out = bwc_net_count(net, 0);
    if (out >= net->max_outbound)
        return;
    for (size_t i = 0; i < net->n_addrs && out < net->max_outbound; i++) {
        bwc_addr_entry *e = &net->addrs[i];
        if (find_peer(net, e->host, e->port) || bwc_net_is_banned(net, e->host, now) ||
            !due(e, now))
            continue;
        if (connect_to(net, e->host, e->port, 0))
            out++;
    }
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    bwc_net *net = arg;
    uint64_t now_ms = bwc_node_now_ms();
    reap(net);
    check_timeouts(net, now_ms);
    if (now_ms - net->last_open_ms >= 1000) {
        net->last_open_ms = now_ms;
        prune_bans(net, bwc_node_now());
        open_connections(net);
    }
    bwc_sync_tick(net, now_ms);
    reap(net);
    if (net->addrs_dirty && now_ms - net->last_save_ms > 60000) {
        save_state(net);
        net->last_save_ms = now_ms;
    }
}

static int start_listening(bwc_net *net, const char *bind, char *err, size_t errlen)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    int sslen;
    if (strchr(bind, ':')) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(net->port);
        if (inet_pton(AF_INET6, bind, &in6->sin6_addr) != 1)
            goto bad;
        sslen = sizeof *in6;
    } else {
        struct sockaddr_in *in = (struct sockaddr_in *)&ss;
        in->sin_family = AF_INET;
        in->sin_port = htons(net->port);
        if (inet_pton(AF_INET, bind, &in->sin_addr) != 1)
            goto bad;
        sslen = sizeof *in;
    }
    struct evconnlistener *l = evconnlistener_new_bind(
        net->base, on_accept, net, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE, 64,
        (struct sockaddr *)&ss, sslen);
    if (!l) {
        snprintf(err, errlen, "cannot listen for P2P on %s port %u: %s", bind,
                 (unsigned)net->port, strerror(errno));
        return -1;
    }
    net->listeners[net->n_listeners++] = l;
    bwc_log(BWC_LOG_INFO, "P2P listening on %s port %u", bind, (unsigned)net->port);
    return 0;
bad:
    snprintf(err, errlen, "-bind=%s: expected a numeric IP address", bind);
    return -1;
}

int bwc_net_start(bwc_net *net, struct bwc_node *node, const bwc_net_config *cfg, char *err,
                  size_t errlen)
{
    memset(net, 0, sizeof *net);
    net->node = node;
    net->base = node->base;
    net->magic = node->params->magic;
    net->listen = cfg->listen;
    net->port = cfg->port;
    net->max_inbound = cfg->max_inbound;
    net->max_outbound = cfg->max_outbound;
    snprintf(net->bind, sizeof net->bind, "%s", cfg->bind ? cfg->bind : "127.0.0.1");
    net->next_id = 0;
    snprintf(net->chaindir, sizeof net->chaindir, "%s", node->chaindir);
    bwc_map_init(&net->requested);
    bwc_map_init(&net->tx_requested);
    if (bwc_random_bytes(&net->nonce, sizeof net->nonce) != 0) {
        snprintf(err, errlen, "no randomness for the P2P nonce");
        return -1;
    }
    load_state(net);
    for (size_t i = 0; i < cfg->n_connect; i++) {
        char host[BWC_HOST_MAX + 1];
        uint16_t port;
        if (parse_hostport(cfg->connect[i], node->spec.p2p_port, host, sizeof host, &port) != 0 ||
            list_add(&net->connect, &net->n_connect, cfg->connect[i]) != 0) {
            snprintf(err, errlen, "-connect=%s: expected IP[:port]", cfg->connect[i]);
            return -1;
        }
    }
    for (size_t i = 0; i < cfg->n_addnode; i++) {
        if (bwc_net_addnode(net, cfg->addnode[i], "add") == -1) {
            snprintf(err, errlen, "-addnode=%s: expected IP[:port]", cfg->addnode[i]);
            return -1;
        }
    }
    for (size_t i = 0; i < cfg->n_seednode; i++) {
        char host[BWC_HOST_MAX + 1];
        uint16_t port;
        if (parse_hostport(cfg->seednode[i], node->spec.p2p_port, host, sizeof host, &port) !=
            0) {
            snprintf(err, errlen, "-seednode=%s: expected IP[:port]", cfg->seednode[i]);
            return -1;
        }
        bwc_addrman_add(net, host, port, bwc_node_now());
    }
    for (size_t i = 0; i < node->spec.n_seeds; i++) {
        char host[BWC_HOST_MAX + 1];
        uint16_t port;
        if (parse_hostport(node->spec.seeds[i], node->spec.p2p_port, host, sizeof host, &port) ==
            0)
            bwc_addrman_add(net, host, port, bwc_node_now());
    }
    if (net->listen && start_listening(net, net->bind, err, errlen) != 0)
        return -1;
    net->timer = event_new(net->base, -1, EV_PERSIST, on_timer, net);
    struct timeval tick = {0, 100 * 1000};
    if (!net->timer || event_add(net->timer, &tick) != 0) {
        snprintf(err, errlen, "cannot start the P2P timer");
        return -1;
    }
    return 0;
}

void bwc_net_stop(bwc_net *net)
{
    if (!net->node)
        return;
    if (net->timer)
        event_free(net->timer);
    for (int i = 0; i < net->n_listeners; i++)
        evconnlistener_free(net->listeners[i]);
    net->stopping = 1;
    for (bwc_peer *p = net->peers; p; p = p->next)
        p->disconnect = 1;
    reap(net);
    save_state(net);
    for (size_t i = 0; i < net->n_connect; i++)
        free(net->connect[i]);
    for (size_t i = 0; i < net->n_added; i++)
        free(net->added[i]);
    free(net->connect);
    free(net->added);
    free(net->addrs);
    free(net->bans);
    for (size_t i = 0; i < net->n_waiting; i++)
        free(net->waiting[i].bytes);
    bwc_map_free(&net->requested);
    bwc_map_free(&net->tx_requested);
    memset(net, 0, sizeof *net);
}
