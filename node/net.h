/* net.h: the P2P network: connections over libevent bufferevents, the handshake, peers'
 * scores and bans, the address book, and (net_sync.c) gossip and headers-first sync. */
#ifndef BWC_NODE_NET_H
#define BWC_NODE_NET_H

#include <stddef.h>
#include <stdint.h>

#include "common/map.h"
#include "node/chain.h"
#include "node/p2pmsg.h"
#include "node/rpcserver.h"

struct bwc_node;
struct bufferevent;
struct evconnlistener;
struct event;

#define BWC_NET_MAX_OUTBOUND 8
#define BWC_NET_MAX_INBOUND 117
#define BWC_NET_HANDSHAKE_SECONDS 10
#define BWC_NET_PING_SECONDS 30     /* a ping after this much silence */
#define BWC_NET_TIMEOUT_SECONDS 90  /* no answer at all for this long: disconnect */
#define BWC_NET_BAN_SCORE 100
#define BWC_NET_BAN_SECONDS (24 * 3600)
#define BWC_NET_MAX_BANS 10000 /* beyond, the ban that expires first is dropped */
#define BWC_NET_BLOCKS_IN_FLIGHT 16   /* per peer */
#define BWC_NET_DOWNLOAD_WINDOW 1024  /* blocks ahead of the tip we fetch */
#define BWC_NET_BLOCK_TIMEOUT_SECONDS 30
#define BWC_NET_ANNOUNCE_MAX 20000    /* queued announcements per peer; beyond, dropped */
#define BWC_NET_KNOWN_MAX 50000       /* ids remembered per peer as known to it */
#define BWC_NET_SENDBUF_MAX (64u << 20) /* a peer that does not read this much is dropped */
#define BWC_NET_INV_PER_MINUTE 50000  /* inventory items a peer may announce per minute */
#define BWC_NET_ADDRMAN_MAX 4096
#define BWC_NET_RETRY_MAX_SECONDS 600
#define BWC_NET_WAITING_MAX 512          /* txs and receipts waiting for a block they need */
#define BWC_NET_WAITING_SECONDS (20 * 60) /* and for how long at most */
#define BWC_NET_UNCONNECTING_MAX 8        /* non-connecting headers before it costs score */

typedef struct bwc_peer {
    struct bwc_net *net;
    uint64_t id;
    struct bufferevent *bev;
    char host[BWC_HOST_MAX + 1];
    uint16_t port;    /* the remote port of the connection */
    char name[BWC_HOST_MAX + 16]; /* "host:port" or "[v6]:port" */
    int inbound;
    int manual;       /* from -connect, -addnode or the addnode RPC */
    int connected;    /* TCP is up */
    int got_version, got_verack;
    int disconnect;   /* marked: closed at the next maintenance pass */
    uint64_t version, start_height;
    char agent[BWC_USER_AGENT_MAX + 1];
    uint16_t listen_port;
    uint64_t connect_ms, last_recv_ms, last_send_ms;
    uint64_t ping_nonce, ping_start_ms, ping_ms, min_ping_ms;
    uint64_t bytes_sent, bytes_recv;
    int score;
    const bwc_index *best_known; /* the peer's best header as far as we know */
    bwc_map known;               /* ids the peer has or was told about */
    bwc_inv *announce;           /* queued inventory to send */
    size_t n_announce, announce_cap;
    bwc_hash in_flight[BWC_NET_BLOCKS_IN_FLIGHT];
    uint64_t in_flight_ms[BWC_NET_BLOCKS_IN_FLIGHT];
    size_t n_in_flight;
    uint64_t inv_window_ms, inv_in_window;
    int unconnecting;            /* headers messages in a row that did not connect */
    int sent_getaddr;
    struct bwc_peer *next;
} bwc_peer;

typedef struct {
    char host[BWC_HOST_MAX + 1];
    uint16_t port;
    uint64_t last_seen;    /* from the gossip or our own success */
    uint64_t last_try;
    uint64_t last_success;
    uint32_t attempts;     /* failures since the last success */
} bwc_addr_entry;

typedef struct {
    char host[BWC_HOST_MAX + 1]; /* an IP, or a subnet "ip/bits", as given */
    bwc_netmask mask;            /* host, parsed */
    uint64_t until;
    char reason[64];
} bwc_ban;

typedef struct bwc_net {
    struct bwc_node *node;
    struct event_base *base;
    uint32_t magic;
    struct evconnlistener *listeners[2];
    int n_listeners;
    uint16_t port;
    int listen;
    char bind[BWC_HOST_MAX + 1];
    bwc_peer *peers;
    uint64_t next_id;
    uint64_t nonce; /* our version nonce: a peer sending it back is ourselves */
    size_t max_inbound, max_outbound;
    /* the address book and the bans, persisted in peers.json and banlist.json */
    bwc_addr_entry *addrs;
    size_t n_addrs;
    int addrs_dirty;
    bwc_ban *bans;
    size_t n_bans;
    char chaindir[4096];
    /* fixed targets: -connect (only these), -addnode and the addnode RPC (also these) */
    char **connect;
    size_t n_connect;
    char **added;
    size_t n_added;
    bwc_map requested;    /* block id -> the peer it is asked from (not owned) */
    bwc_map tx_requested; /* tx/receipt id -> request time: ask each once at a time */
    struct event *timer;
    /* Transactions and receipts refused only for state they need (an unknown channel, a
     * balance not yet received): tried again after every new best block. */
    struct {
        uint8_t kind;
        unsigned char *bytes;
        size_t len;
        uint64_t since;
    } waiting[BWC_NET_WAITING_MAX];
    size_t n_waiting;
    uint64_t last_save_ms;
    uint64_t last_sweep_ms;
    uint64_t last_open_ms; /* open_connections runs at most once a second */
    int stopping;          /* in bwc_net_stop: closing is no failed attempt */
} bwc_net;

/* Settings from bwcd's options. */
typedef struct {
    int listen;
    const char *bind; /* listening address: NULL = 127.0.0.1 */
    uint16_t port;
    const char *const *connect;
    size_t n_connect;
    const char *const *addnode;
    size_t n_addnode;
    const char *const *seednode;
    size_t n_seednode;
    size_t max_inbound, max_outbound;
} bwc_net_config;

/* Starts listening and connecting. Returns 0, or -1 with err. */
int bwc_net_start(bwc_net *net, struct bwc_node *node, const bwc_net_config *cfg, char *err,
                  size_t errlen);
/* Saves the address book and bans, closes every connection. */
void bwc_net_stop(bwc_net *net);

/* Announces an accepted object to every peer that does not have it. */
void bwc_net_announce(bwc_net *net, bwc_inv_kind kind, const bwc_hash *id);

/* The best chain moved: retry what waits for state, and tell peers (headers first). */
void bwc_net_tip_changed(bwc_net *net);

/* Peers and bans, for RPC. */
size_t bwc_net_count(const bwc_net *net, int inbound);
int bwc_net_disconnect(bwc_net *net, uint64_t id, const char *name);
int bwc_net_ban(bwc_net *net, const char *host, uint64_t seconds, const char *reason);
int bwc_net_unban(bwc_net *net, const char *host);
void bwc_net_clear_bans(bwc_net *net);
int bwc_net_is_banned(const bwc_net *net, const char *host, uint64_t now);
/* addnode: "add" keeps a connection to host:port, "remove" forgets it, "onetry" connects once.
 * Returns 0, -1 for a bad address, -2 already added / not added. */
int bwc_net_addnode(bwc_net *net, const char *hostport, const char *command);

/* ---- internal to net.c and net_sync.c ---- */

/* Sends m to p (queued in its output buffer). */
void bwc_peer_send(bwc_peer *p, const bwc_msg *m);
/* Adds score for misbehaviour; at BWC_NET_BAN_SCORE the peer is banned and disconnected. */
void bwc_peer_misbehaving(bwc_peer *p, int score, const char *reason);
/* Marks p to be closed. */
void bwc_peer_close(bwc_peer *p, const char *why);
/* A message after the handshake (net_sync.c). */
void bwc_sync_handle(bwc_peer *p, bwc_msg *m);
/* After the handshake: start syncing from p. */
void bwc_sync_peer_ready(bwc_peer *p);
/* Called from the timer: requests blocks, retries stalled downloads, flushes announcements. */
void bwc_sync_tick(bwc_net *net, uint64_t now_ms);
/* A peer is going away: its requests return to the pool. */
void bwc_sync_peer_gone(bwc_peer *p);
/* Adds an address learned from p or from configuration. */
void bwc_addrman_add(bwc_net *net, const char *host, uint16_t port, uint64_t seen);
/* Fills out with up to max addresses worth sharing. Returns the count. */
size_t bwc_addrman_sample(bwc_net *net, bwc_netaddr *out, size_t max);

#endif
