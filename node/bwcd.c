/* bwcd.c: the full node: options, data directory, storage, the chain, the mempool, block
 * production and the JSON-RPC server on one libevent loop. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "common/args.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/random.h"
#include "consensus/bech32m.h"
#include "consensus/engine.h"
#include "consensus/key.h"
#include "node/miner.h"
#include "node/node.h"

extern char **environ;

static const bwc_arg_def options[] = {
    {"help", NULL, 0, "Print this help message and exit."},
    {"version", NULL, 0, "Print the version and exit."},
    {"conf", "<file>", BWC_ARG_CMDLINE_ONLY,
     "Configuration file, relative to the data directory (default: bwc.conf)."},
    {"datadir", "<dir>", BWC_ARG_CMDLINE_ONLY,
     "Data directory (default: ~/.bwc). Each chain keeps its files in <datadir>/<chain>."},
    {"chain", "<name>", 0,
     "Chain: main (default), test, dev or poa-example (the built-in chainspecs)."},
    {"chainspec", "<file>", 0,
     "Run the network described by this chainspec file instead of a built-in chain."},
    {"daemon", NULL, 0, "Run in the background."},
    {"printtoconsole", NULL, 0, "Also log to the console (default: 1 unless -daemon)."},
    {"debug", "<category>", BWC_ARG_MULTI | BWC_ARG_BARE_OK,
     "Log debug messages of a category (net, rpc, http, mempool, validation, db, relay, miner, "
     "sync, index, receipts, libevent), or all of them (1)."},
    {"reindex", NULL, 0, "Rebuild the state and the indexes from the stored blocks."},
    {"par", "<n>", BWC_ARG_INT, "Threads that verify a block's signatures (default: 2)."},
    {"maxmempool", "<MiB>", BWC_ARG_INT, "Mempool size limit in MiB (default: 64)."},
    {"blocknotify", "<cmd>", 0,
     "Run cmd when the best block changes; %s in cmd is replaced by the block id."},
    {"producerkey", "<hex>", 0,
     "PoA: the secret key (32 bytes, hex) of this node's authority; it produces in its slots."},
    {"mine", NULL, 0, "PoW: mine blocks in a background thread (needs -mineraddress)."},
    {"mineraddress", "<address>", 0, "Address paid by mined and generated blocks."},
    {"mineinterval", "<ms>", BWC_ARG_INT,
     "PoW with -mine: wait this long after a block before mining the next (default: 0)."},
    {"listen", NULL, 0, "Accept P2P connections (default: 1; -nolisten to turn off)."},
    {"bind", "<addr>", 0, "Listen for P2P connections on this IP address (default: 127.0.0.1)."},
    {"port", "<port>", BWC_ARG_INT, "P2P port (default: the chain's)."},
    {"connect", "<ip[:port]>", BWC_ARG_MULTI,
     "Connect only to these peers (no address book, no other outbound connections)."},
    {"addnode", "<ip[:port]>", BWC_ARG_MULTI,
     "Keep a connection to this peer, besides the others."},
    {"seednode", "<ip[:port]>", BWC_ARG_MULTI,
     "Add this node to the address book, where outbound connections are chosen from."},
    {"maxconnections", "<n>", BWC_ARG_INT,
     "Most P2P connections, inbound and outbound together (default: 125; 8 of them outbound)."},
    {"rpcbind", "<addr>[:port]", BWC_ARG_MULTI,
     "Listen for JSON-RPC on this address (default: 127.0.0.1 and ::1). A non-loopback "
     "address also needs -rpcallowip."},
    {"rpcallowip", "<ip>[/mask]", BWC_ARG_MULTI, "Accept JSON-RPC from this address or subnet."},
    {"rpcport", "<port>", BWC_ARG_INT, "JSON-RPC port (default: the chain's)."},
    {"rpcuser", "<user>", 0, "Username for JSON-RPC (besides the cookie)."},
    {"rpcpassword", "<pw>", 0, "Password for JSON-RPC."},
    /* -relay: doc/relay.md */
    {"relay", NULL, 0, "Run the relay: serve content over HTTP and earn credit (doc/relay.md)."},
    {"relaybind", "<addr>", BWC_ARG_MULTI,
     "Listen for relay HTTP requests on this IP address (default: 127.0.0.1)."},
    {"relayport", "<port>", BWC_ARG_INT, "Relay HTTP port (default: the chain's)."},
    {"relaystore", "<MiB>", BWC_ARG_INT,
     "Chunk store size limit in MiB; unpinned content is evicted LRU (default: 10240)."},
    {"relayrate", "<bytes/s>", BWC_ARG_INT, "Most bytes served per second (default: 0, no limit)."},
    {"relayquota", "<bytes>", BWC_ARG_INT,
     "Most bytes served per 30 days (default: 0, no limit)."},
    {"relayburstquota", "<bytes>", BWC_ARG_INT,
     "Most bytes per 30 days while a burst window is open (default: -relayquota)."},
    {"relayburst", "<hours>", BWC_ARG_INT, "Open a burst window of 12 to 48 hours at start."},
    {"relayprice", "<units>", BWC_ARG_INT,
     "Units per MiB the relay asks; channels and pools paying less are refused; 0 serves "
     "everything free (default: 0)."},
    {"relayregion", "<CC>", 0, "The relay's region, ISO 3166-1 alpha-2 (default: ZZ)."},
    {"relaycreditwindow", "<bytes>", BWC_ARG_INT,
     "Bytes served ahead of the newest receipt (default: 1048576)."},
    {"relaysettlemultiple", "<n>", BWC_ARG_INT,
     "Settle a channel once its unsettled amount reaches n receipt fees (default: 10)."},
    {"relayfree", "<content_id>", BWC_ARG_MULTI, "Serve this content without payment."},
    {"relaykeyfile", "<file>", 0,
     "The relay's secret key file (default: <chain>/relay/relay.key, created on first start)."},
    {"relaypeer", "<http://host:port>", BWC_ARG_MULTI,
     "Another relay to fetch content from (pull-through)."},
};
#define N_OPTIONS (sizeof options / sizeof options[0])

uint64_t bwc_node_now(void)
{
    return (uint64_t)time(NULL);
}

uint64_t bwc_node_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int bwc_node_in_ibd(const bwc_node *n)
{
    const bwc_index *tip = bwc_chain_tip(&n->chain);
    if (tip != n->chain.best_header && tip->height + 6 < n->chain.best_header->height)
        return 1;
    return 0;
}

/* ---- chain events ---- */

static void on_connected(void *ctx, const bwc_index *idx, const bwc_block *b)
{
    (void)idx;
    bwc_node *n = ctx;
    bwc_mempool_block_connected(&n->mempool, b);
}

static void on_disconnected(void *ctx, const bwc_index *idx, const bwc_block *b)
{
    (void)idx;
    bwc_node *n = ctx;
    bwc_mempool_block_disconnected(&n->mempool, b, bwc_node_now());
    /* What came back into the pools is news to peers that only saw it in the block. */
    for (size_t i = 0; i < b->n_txs; i++) {
        bwc_hash id;
        bwc_tx_id(&n->chain.chain_id, &b->txs[i], &id);
        if (bwc_mempool_get(&n->mempool, &id))
            bwc_node_announce(n, BWC_INV_TX, &id);
    }
    for (size_t i = 0; i < b->n_receipts; i++) {
        bwc_hash id;
        bwc_receipt_id(&n->chain.chain_id, &b->receipts[i], &id);
        if (bwc_mempool_get_receipt(&n->mempool, &id))
            bwc_node_announce(n, BWC_INV_RECEIPT, &id);
    }
}

/* -blocknotify: the command runs through /bin/sh in the background; %s becomes the block id
 * (hex only, so nothing of it can be read as shell syntax). */
static void block_notify(bwc_node *n, const bwc_hash *id)
{
    if (!n->blocknotify)
        return;
    char hex[65], cmd[4096];
    bwc_hex_encode(hex, id->b, 32);
    size_t o = 0;
    for (const char *p = n->blocknotify; *p && o + 65 < sizeof cmd; p++) {
        if (p[0] == '%' && p[1] == 's') {
            memcpy(cmd + o, hex, 64);
            o += 64;
            p++;
        } else {
            cmd[o++] = *p;
        }
    }
    cmd[o] = '\0';
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    pid_t pid;
    if (posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ) != 0)
        bwc_log(BWC_LOG_WARNING, "-blocknotify: cannot run the command");
}

static void miner_refresh(bwc_node *n);

bwc_submit_status bwc_node_submit_block(bwc_node *n, const unsigned char *bytes, size_t len,
                                        bwc_hash *id, bwc_result *res)
{
    const bwc_index *before = bwc_chain_tip(&n->chain);
    bwc_submit_status st = bwc_chain_submit(&n->chain, bytes, len, bwc_node_now(), id, res);
    const bwc_index *after = bwc_chain_tip(&n->chain);
    if (after != before) {
        if (!bwc_node_in_ibd(n) || after->height % 1000 == 0)
            bwc_log(BWC_LOG_INFO, "new best block at height %llu (%u txs, %u receipts)",
                    (unsigned long long)after->height, after->n_txs, after->n_receipts);
        if (n->net_started)
            bwc_net_tip_changed(&n->net);
        block_notify(n, &after->id);
        miner_refresh(n);
        bwc_node_relay_block(n);
    }
    return st;
}

void bwc_node_announce(bwc_node *n, int kind, const bwc_hash *id)
{
    if (n->net_started)
        bwc_net_announce(&n->net, (bwc_inv_kind)kind, id);
}

int bwc_node_produce(bwc_node *n, const bwc_pubkey *producer, uint64_t time, bwc_hash *id,
                     bwc_result *res)
{
    bwc_block b;
    if (bwc_miner_template(&n->chain, &n->mempool, producer, time, &b, res) != 0)
        return -1;
    int rc = -1;
    bwc_buf enc = BWC_BUF_INIT;
    if (n->params->engine == BWC_ENGINE_POW) {
        /* Only chains with a trivial target are ground here (generate); 2^24 tries is far
         * beyond what the dev target needs. */
        if (!bwc_miner_grind(&b.header, 1u << 24)) {
            bwc_fail(res, BWC_RESULT_ERROR, "no-solution");
            goto out;
        }
    } else if (!n->have_producer_key || memcmp(producer, &n->producer_pub, 32) != 0 ||
               !bwc_miner_sign(n->secp, &b.header, n->producer_key)) {
        bwc_fail(res, BWC_RESULT_ERROR, "cannot-sign");
        goto out;
    }
    if (!bwc_block_encode(&b, &enc)) {
        bwc_fail(res, BWC_RESULT_ERROR, "out-of-memory");
        goto out;
    }
    if (bwc_node_submit_block(n, enc.data, enc.len, id, res) == BWC_SUBMIT_ACCEPTED)
        rc = 0;
out:
    bwc_buf_free(&enc);
    bwc_block_free(&b);
    return rc;
}

/* ---- the PoW miner thread ---- */

#define MINER_BATCH 20000

static void *miner_main(void *arg)
{
    bwc_miner_state *m = arg;
    for (;;) {
        pthread_mutex_lock(&m->lock);
        if (m->stop) {
            pthread_mutex_unlock(&m->lock);
            break;
        }
        int have = m->have_work && !m->have_found;
        bwc_header h = m->work.header;
        uint64_t seq = m->work_seq;
        pthread_mutex_unlock(&m->lock);
        if (!have) {
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
            continue;
        }
        int found = bwc_miner_grind(&h, MINER_BATCH);
        pthread_mutex_lock(&m->lock);
        if (seq == m->work_seq) {
            if (found) {
                m->found = h;
                m->found_seq = seq;
                m->have_found = 1;
                event_active(m->found_ev, EV_READ, 0);
            } else {
                m->work.header.nonce = h.nonce; /* go on from here next round */
            }
        }
        pthread_mutex_unlock(&m->lock);
    }
    return NULL;
}

/* Builds a new template for the miner thread (loop thread). */
static void miner_refresh(bwc_node *n)
{
    bwc_miner_state *m = &n->miner;
    if (!m->running)
        return;
    if (n->mine_interval_ms > 0 &&
        bwc_node_now_ms() < n->last_mined_ms + (uint64_t)n->mine_interval_ms) {
        pthread_mutex_lock(&m->lock);
        m->have_work = 0;
        m->work_seq++;
        pthread_mutex_unlock(&m->lock);
        return;
    }
    bwc_block b;
    bwc_result res;
    if (bwc_miner_template(&n->chain, &n->mempool, &n->mine_address, bwc_node_now(), &b, &res) !=
        0) {
        bwc_log(BWC_LOG_WARNING, "miner: cannot build a template: %s", res.reject);
        return;
    }
    /* Start each template at a random nonce so two miners paying one address do not
     * repeat each other's work. */
    bwc_random_bytes(&b.header.nonce, sizeof b.header.nonce);
    pthread_mutex_lock(&m->lock);
    bwc_block_free(&m->work);
    m->work = b;
    m->have_work = 1;
    m->have_found = 0;
    m->work_seq++;
    pthread_mutex_unlock(&m->lock);
}

static void miner_found(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    bwc_node *n = arg;
    bwc_miner_state *m = &n->miner;
    bwc_buf enc = BWC_BUF_INIT;
    pthread_mutex_lock(&m->lock);
    int ok = m->have_found && m->found_seq == m->work_seq;
    if (ok) {
        bwc_block b = m->work;
        b.header = m->found;
        ok = bwc_block_encode(&b, &enc);
    }
    m->have_found = 0;
    pthread_mutex_unlock(&m->lock);
    if (ok) {
        bwc_hash id;
        bwc_result res;
        n->last_mined_ms = bwc_node_now_ms();
        if (bwc_node_submit_block(n, enc.data, enc.len, &id, &res) != BWC_SUBMIT_ACCEPTED)
            bwc_log(BWC_LOG_WARNING, "miner: own block refused: %s", res.reject);
        else
            bwc_log_debug(BWC_LOG_MINER, "mined a block");
    }
    bwc_buf_free(&enc);
    miner_refresh(n);
}

static int miner_start(bwc_node *n)
{
    bwc_miner_state *m = &n->miner;
    pthread_mutex_init(&m->lock, NULL);
    m->found_ev = event_new(n->base, -1, 0, miner_found, n);
    if (!m->found_ev || pthread_create(&m->thread, NULL, miner_main, m) != 0)
        return -1;
    m->running = 1;
    miner_refresh(n);
    return 0;
}

static void miner_stop(bwc_node *n)
{
    bwc_miner_state *m = &n->miner;
    if (!m->running)
        return;
    pthread_mutex_lock(&m->lock);
    m->stop = 1;
    pthread_mutex_unlock(&m->lock);
    pthread_join(m->thread, NULL);
    m->running = 0;
    bwc_block_free(&m->work);
    event_free(m->found_ev);
    pthread_mutex_destroy(&m->lock);
}

/* ---- the PoA producer and the mining interval ---- */

static void produce_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    bwc_node *n = arg;
    if (n->params->engine == BWC_ENGINE_POW) {
        /* -mineinterval: the template is withheld until the interval has passed. */
        if (n->miner.running) {
            pthread_mutex_lock(&n->miner.lock);
            int idle = !n->miner.have_work;
            pthread_mutex_unlock(&n->miner.lock);
            if (idle)
                miner_refresh(n);
        }
        return;
    }
    uint64_t now = bwc_node_now();
    const bwc_index *tip = bwc_chain_tip(&n->chain);
    uint64_t slot = now / n->params->poa.slot_seconds;
    bwc_pubkey expected;
    if (slot <= tip->header.time / n->params->poa.slot_seconds ||
        !bwc_poa_expected_producer(n->params, now, &expected) ||
        memcmp(&expected, &n->producer_pub, 32) != 0)
        return;
    bwc_hash id;
    bwc_result res;
    if (bwc_node_produce(n, &n->producer_pub, now, &id, &res) != 0)
        bwc_log(BWC_LOG_WARNING, "cannot produce in slot %llu: %s", (unsigned long long)slot,
                res.reject);
}

/* ---- misc RPC methods ---- */

static json_t *rpc_uptime(void *ctx, json_t *params, bwc_rpc_error *err)
{
    (void)params, (void)err;
    bwc_node *n = ctx;
    return json_integer((json_int_t)(bwc_node_now() - n->start_time));
}

static json_t *rpc_getnetworkinfo(void *ctx, json_t *params, bwc_rpc_error *err)
{
    (void)params, (void)err;
    bwc_node *n = ctx;
    json_t *o = json_object();
    json_object_set_new(o, "version", json_string(BWC_NODE_VERSION));
    json_object_set_new(o, "subversion", json_string(BWC_NODE_USER_AGENT));
    json_object_set_new(o, "protocolversion", json_integer(BWC_PROTOCOL_VERSION));
    json_object_set_new(o, "connections", json_integer((json_int_t)(bwc_net_count(&n->net, 0) +
                                                                     bwc_net_count(&n->net, 1))));
    json_object_set_new(o, "connections_in", json_integer((json_int_t)bwc_net_count(&n->net, 1)));
    json_object_set_new(o, "connections_out",
                        json_integer((json_int_t)bwc_net_count(&n->net, 0)));
    json_object_set_new(o, "networkactive", json_boolean(n->net_started));
    json_object_set_new(o, "listening", json_boolean(n->net.listen));
    json_object_set_new(o, "port", json_integer(n->net.port));
    json_object_set_new(o, "relayfee", json_integer((json_int_t)n->params->min_fee));
    json_object_set_new(o, "receiptfee", json_integer((json_int_t)n->params->receipt_fee));
    return o;
}

static void stop_loop(void *arg)
{
    bwc_node *n = arg;
    event_base_loopexit(n->base, NULL);
}

static json_t *rpc_stop(void *ctx, json_t *params, bwc_rpc_error *err)
{
    (void)params;
    bwc_node *n = ctx;
    if (bwc_rpc_after_reply(n->rpc, stop_loop, n) != 0)
        return bwc_rpc_fail(err, RPC_INTERNAL_ERROR, "cannot schedule the shutdown");
    n->stopping = 1;
    return json_string("bwcd stopping");
}

static void register_misc(bwc_node *n)
{
    bwc_rpc_register(n->rpc, "uptime", rpc_uptime, n, "", "uptime\nSeconds since bwcd started.");
    bwc_rpc_register(n->rpc, "getnetworkinfo", rpc_getnetworkinfo, n, "",
                     "getnetworkinfo\nVersion, user agent, protocol version, connections and "
                     "the minimum fees.");
    bwc_rpc_register(n->rpc, "stop", rpc_stop, n, "", "stop\nStops bwcd cleanly.");
}

/* ---- process ---- */

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    bwc_node *n = arg;
    if (sig == SIGHUP) {
        bwc_log_request_reopen();
        return;
    }
    bwc_log(BWC_LOG_INFO, "signal %d: shutting down", (int)sig);
    event_base_loopexit(n->base, NULL);
}

static int log_opened;
static void daemon_report(const char *failure);

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* Before debug.log is open, the console is the only place; after, the log (which also
     * prints to the console unless -daemon). */
    if (log_opened)
        bwc_log(BWC_LOG_ERROR, "%s", msg);
    else
        fprintf(stderr, "bwcd: %s\n", msg);
    daemon_report(msg);
    return 1;
}

/* -daemon: the starting process waits on a pipe until the node is ready ("+") or tells why it
 * failed (the message), so a script sees startup errors and a non-zero exit status, as it
 * would in the foreground. */
static int daemon_fd = -1;

static void daemon_report(const char *failure)
{
    if (daemon_fd < 0)
        return;
    const char *msg = failure ? failure : "+";
    ssize_t w = write(daemon_fd, msg, strlen(msg));
    (void)w;
    close(daemon_fd);
    daemon_fd = -1;
}

static int daemonize(void)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid > 0) {
        char msg[2048];
        size_t n = 0;
        close(fds[1]);
        while (n < sizeof msg - 1) {
            ssize_t k = read(fds[0], msg + n, sizeof msg - 1 - n);
            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                break;
            n += (size_t)k;
        }
        msg[n] = '\0';
        if (n > 0 && msg[0] == '+')
            _exit(0);
        fprintf(stderr, "bwcd: %s\n", n ? msg : "the node stopped while starting (see debug.log)");
        _exit(1);
    }
    close(fds[0]);
    daemon_fd = fds[1];
    if (setsid() < 0)
        return -1;
    int fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        if (fd > 2)
            close(fd);
    }
    return 0;
}

static int setup_production(bwc_node *n, char *err, size_t errlen)
{
    const char *addr = bwc_args_get(n->args, "mineraddress", NULL);
    if (addr) {
        if (!bwc_address_decode(&n->mine_address, n->params->hrp, addr) ||
            !bwc_pubkey_valid(n->secp, &n->mine_address)) {
            snprintf(err, errlen, "-mineraddress=%s is not an address of this chain", addr);
            return -1;
        }
        n->have_mine_address = 1;
    }
    const char *key = bwc_args_get(n->args, "producerkey", NULL);
    if (key) {
        if (n->params->engine != BWC_ENGINE_POA) {
            snprintf(err, errlen, "-producerkey is for PoA chains");
            return -1;
        }
        if (strlen(key) != 64 || !bwc_hex_decode(n->producer_key, 32, key) ||
            !bwc_key_pubkey(n->secp, &n->producer_pub, n->producer_key)) {
            snprintf(err, errlen, "-producerkey must be a secret key of 64 hex characters");
            return -1;
        }
        int authority = 0;
        for (size_t i = 0; i < n->params->poa.n_authorities; i++)
            authority |= memcmp(&n->params->poa.authorities[i], &n->producer_pub, 32) == 0;
        if (!authority) {
            snprintf(err, errlen, "-producerkey is not the key of an authority of this chain");
            return -1;
        }
        n->have_producer_key = 1;
    }
    n->mine = bwc_args_get_bool(n->args, "mine", 0);
    if (n->mine) {
        if (n->params->engine != BWC_ENGINE_POW) {
            snprintf(err, errlen, "-mine is for PoW chains (PoA chains use -producerkey)");
            return -1;
        }
        if (!n->have_mine_address) {
            snprintf(err, errlen, "-mine needs -mineraddress");
            return -1;
        }
    }
    if (bwc_args_get_int(n->args, "mineinterval", 0, 0, 86400000, &n->mine_interval_ms, err,
                         errlen) != 0)
        return -1;
    return 0;
}

static int start_rpc(bwc_node *n, char *err, size_t errlen)
{
    int64_t port;
    if (bwc_args_get_int(n->args, "rpcport", n->spec.rpc_port, 1, 65535, &port, err, errlen) != 0)
        return -1;
    char cookie[BWC_PATH_MAX + 16];
    snprintf(cookie, sizeof cookie, "%s/.cookie", n->chaindir);
    size_t n_bind = 0, n_allow = 0;
    const char **bind = bwc_args_get_all(n->args, "rpcbind", &n_bind);
    const char **allow = bwc_args_get_all(n->args, "rpcallowip", &n_allow);
    bwc_rpc_config cfg = {0};
    cfg.bind = bind;
    cfg.n_bind = n_bind;
    cfg.allowip = allow;
    cfg.n_allowip = n_allow;
    cfg.port = (uint16_t)port;
    cfg.cookie_path = cookie;
    cfg.user = bwc_args_get(n->args, "rpcuser", NULL);
    cfg.password = bwc_args_get(n->args, "rpcpassword", NULL);
    n->rpc = bwc_rpc_server_start(n->base, &cfg, err, errlen);
    free(bind);
    free(allow);
    if (!n->rpc)
        return -1;
    bwc_rpc_server_set_warmup(n->rpc, "Loading block index...");
    bwc_rpc_register_chain(n);
    bwc_rpc_register_ledger(n);
    bwc_rpc_register_tx(n);
    bwc_rpc_register_net(n);
    bwc_rpc_register_relay(n);
    register_misc(n);
    return 0;
}

static int start_net(bwc_node *n, char *err, size_t errlen)
{
    int64_t port, maxconn;
    if (bwc_args_get_int(n->args, "port", n->spec.p2p_port, 1, 65535, &port, err, errlen) != 0 ||
        bwc_args_get_int(n->args, "maxconnections", 125, 0, 10000, &maxconn, err, errlen) != 0)
        return -1;
    bwc_net_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.listen = bwc_args_get_bool(n->args, "listen", 1);
    cfg.bind = bwc_args_get(n->args, "bind", NULL);
    cfg.port = (uint16_t)port;
    cfg.connect = bwc_args_get_all(n->args, "connect", &cfg.n_connect);
    cfg.addnode = bwc_args_get_all(n->args, "addnode", &cfg.n_addnode);
    cfg.seednode = bwc_args_get_all(n->args, "seednode", &cfg.n_seednode);
    cfg.max_outbound = maxconn < BWC_NET_MAX_OUTBOUND ? (size_t)maxconn : BWC_NET_MAX_OUTBOUND;
    cfg.max_inbound = (size_t)maxconn - cfg.max_outbound;
    int rc = bwc_net_start(&n->net, n, &cfg, err, errlen);
    free((void *)cfg.connect);
    free((void *)cfg.addnode);
    free((void *)cfg.seednode);
    if (rc == 0)
        n->net_started = 1;
    return rc;
}

static int lock_chaindir(bwc_node *n, char *err, size_t errlen)
{
    char path[BWC_PATH_MAX + 16];
    snprintf(path, sizeof path, "%s/.lock", n->chaindir);
    n->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (n->lock_fd < 0) {
        snprintf(err, errlen, "cannot open %.900s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(n->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, errlen, "%.900s is in use by another bwcd", n->chaindir);
        return -1;
    }
    return 0;
}

static int run(bwc_node *n, int argc, char **argv)
{
    char err[1024];
    int first;
    n->start_time = bwc_node_now();
    if (bwc_args_parse_cmdline(n->args, argc, argv, &first, err, sizeof err) != 0)
        return fail("%s (see bwcd -help)", err);
    if (bwc_args_get_bool(n->args, "help", 0)) {
        printf("bwcd %s: the bwc full node\n\nUsage: bwcd [options]\n\nOptions:\n",
               BWC_NODE_VERSION);
        bwc_args_print_help(options, N_OPTIONS, stdout);
        return 0;
    }
    if (bwc_args_get_bool(n->args, "version", 0)) {
        printf("bwcd %s\n", BWC_NODE_VERSION);
        return 0;
    }
    if (first < argc)
        return fail("unexpected argument '%s' (options start with -)", argv[first]);
    if (bwc_args_read_config(n->args, 0, err, sizeof err) != 0)
        return fail("%s", err);
    const char *specfile = bwc_args_get(n->args, "chainspec", NULL);
    int rc = specfile ? bwc_chainspec_load_file(&n->spec, specfile, err, sizeof err)
                      : bwc_chainspec_load_named(&n->spec, bwc_args_chain(n->args), err,
                                                 sizeof err);
    if (rc != 0)
        return fail("%s", err);
    n->params = &n->spec.params;
    /* A -chainspec network reads the bwc.conf section of its own name. */
    if (specfile && bwc_args_set_chain(n->args, n->spec.name) != 0)
        return fail("chainspec name '%s' cannot name a config section", n->spec.name);
    if (bwc_args_chaindir(n->args, n->spec.name, 1, n->chaindir, sizeof n->chaindir, err,
                          sizeof err) != 0)
        return fail("%s", err);
    unsigned char seed[32];
    if (bwc_random_bytes(seed, sizeof seed) != 0 || !(n->secp = bwc_secp_create(seed)))
        return fail("%s", "cannot create the secp256k1 context");
    bwc_cleanse(seed, sizeof seed);
    if (setup_production(n, err, sizeof err) != 0)
        return fail("%s", err);
    /* One bwcd per chain directory: the lock is taken before anything in it is touched (the
     * log and the cookie included) and held until exit; a -daemon child inherits it. */
    if (lock_chaindir(n, err, sizeof err) != 0)
        return fail("%s", err);
    int daemon = bwc_args_get_bool(n->args, "daemon", 0);
    if (daemon && daemonize() != 0)
        return fail("%s", "cannot run in the background");
    char logpath[BWC_PATH_MAX + 16];
    snprintf(logpath, sizeof logpath, "%s/debug.log", n->chaindir);
    size_t n_debug = 0;
    const char **debug = bwc_args_get_all(n->args, "debug", &n_debug);
    rc = bwc_log_set_debug(debug, n_debug, err, sizeof err);
    free(debug);
    if (rc != 0)
        return fail("%s", err);
    if (bwc_log_open(logpath, bwc_args_get_bool(n->args, "printtoconsole", !daemon), err,
                     sizeof err) != 0)
        return fail("%s", err);
    log_opened = 1;
    bwc_log(BWC_LOG_INFO, "bwcd %s starting on chain %s, data in %s", BWC_NODE_VERSION,
            n->spec.name, n->chaindir);

    evthread_use_pthreads();
    n->base = event_base_new();
    if (!n->base)
        return fail("%s", "cannot create the event loop");
    /* RPC first, in warm-up, so that a second bwcd on the same port fails before it touches
     * the database, and callers see "loading" instead of "connection refused". */
    if (start_rpc(n, err, sizeof err) != 0)
        return fail("%s", err);
    char dbpath[BWC_PATH_MAX + 16];
    snprintf(dbpath, sizeof dbpath, "%s/chainstate", n->chaindir);
    if (!(n->store = bwc_store_open(dbpath, err, sizeof err)))
        return fail("%s", err);
    int reindex = bwc_args_get_bool(n->args, "reindex", 0);
    if (reindex)
        bwc_log(BWC_LOG_INFO, "reindexing from the stored blocks");
    /* Both read before the chain opens: -reindex connects blocks there, on -par threads. */
    int64_t par, maxmempool;
    if (bwc_args_get_int(n->args, "par", 2, 1, 64, &par, err, sizeof err) != 0 ||
        bwc_args_get_int(n->args, "maxmempool", 64, 1, 65536, &maxmempool, err, sizeof err) != 0 ||
        bwc_chain_open(&n->chain, n->store, n->params, n->secp, (unsigned)par, reindex, err,
                       sizeof err) != 0)
        return fail("%s", err);
    bwc_mempool_init(&n->mempool, &n->chain, (size_t)maxmempool << 20);
    n->chain.listener = (bwc_chain_listener){n, on_connected, on_disconnected};
    n->blocknotify = bwc_args_get(n->args, "blocknotify", NULL);
    const bwc_index *tip = bwc_chain_tip(&n->chain);
    char hex[65];
    bwc_hex_encode(hex, tip->id.b, 32);
    bwc_log(BWC_LOG_INFO, "best block at height %llu: %s", (unsigned long long)tip->height, hex);

    int sigs[3] = {SIGINT, SIGTERM, SIGHUP};
    for (int i = 0; i < 3; i++) {
        n->sig_events[i] = evsignal_new(n->base, sigs[i], on_signal, n);
        if (!n->sig_events[i] || evsignal_add(n->sig_events[i], NULL) != 0)
            return fail("%s", "cannot install signal handlers");
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGCHLD, SIG_IGN); /* -blocknotify children are reaped by the kernel */
    if (n->mine && miner_start(n) != 0)
        return fail("%s", "cannot start the miner thread");
    if (n->have_producer_key || n->mine) {
        struct timeval tick = {0, 250 * 1000};
        n->produce_timer = event_new(n->base, -1, EV_PERSIST, produce_tick, n);
        if (!n->produce_timer || event_add(n->produce_timer, &tick) != 0)
            return fail("%s", "cannot start block production");
    }
    if (start_net(n, err, sizeof err) != 0)
        return fail("%s", err);
    if (bwc_node_relay_start(n, err, sizeof err) != 0)
        return fail("%s", err);
    bwc_rpc_server_set_warmup(n->rpc, NULL);
    bwc_log(BWC_LOG_INFO, "ready: JSON-RPC on port %u", (unsigned)bwc_rpc_server_port(n->rpc));
    daemon_report(NULL);
    event_base_dispatch(n->base);
    bwc_log(BWC_LOG_INFO, "shutting down");
    return 0;
}

static void shutdown_node(bwc_node *n)
{
    miner_stop(n);
    if (n->net_started)
        bwc_net_stop(&n->net);
    if (n->produce_timer)
        event_free(n->produce_timer);
    bwc_node_relay_stop(n);
    bwc_rpc_server_stop(n->rpc);
    for (int i = 0; i < 3; i++)
        if (n->sig_events[i])
            event_free(n->sig_events[i]);
    if (n->chain.store) {
        bwc_mempool_free(&n->mempool);
        bwc_chain_close(&n->chain);
    }
    bwc_store_close(n->store);
    if (n->base)
        event_base_free(n->base);
    bwc_cleanse(n->producer_key, sizeof n->producer_key);
    bwc_secp_destroy(n->secp);
    bwc_chainspec_free(&n->spec);
    bwc_args_free(n->args);
    if (n->lock_fd > 0)
        close(n->lock_fd);
    if (log_opened) {
        bwc_log(BWC_LOG_INFO, "stopped");
        bwc_log_close();
    }
}

int main(int argc, char **argv)
{
    static bwc_node node;
    node.args = bwc_args_new(options, N_OPTIONS);
    if (!node.args)
        return fail("%s", "out of memory");
    int rc = run(&node, argc, argv);
    shutdown_node(&node);
    return rc;
}
