/* bench_relay.c: relay throughput for 256 KiB chunks, every request paid with a receipt, as a
 * ratio to nginx serving the very same chunk files in the same run (PERFORMANCE.md: loopback
 * figures drift by up to 1.7x over an hour, so only the ratio means something).
 *
 * nginx: sendfile on, tcp_nopush off, access_log off, keep-alive, 2 workers, 127.0.0.1, a free
 * port; installed with apt-get when missing (the bench reports the relay alone if that fails).
 * The relay runs on its own thread and event loop with a fake host holding one channel per
 * client connection; the load generator is one poll() loop over CONNS keep-alive connections.
 * Each relay request carries Bwc-Channel and a Bwc-Receipt covering every chunk served before
 * on that channel, the first one the opening receipt (seq 1, bytes 0) that every paid lane
 * starts with (one new receipt per request, as a wallet sends them; the client takes chunk
 * hashes from the manifest rather than hashing the bytes, and signs the receipts before the
 * timed rounds, to measure the server). Rounds alternate nginx, the relay with receipts and the
 * relay serving free content; the medians are reported. */
#define _GNU_SOURCE /* strcasestr */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "common/hex.h"
#include "common/log.h"
#include "common/manifest_file.h"
#include "common/map.h"
#include "consensus/hash.h"
#include "consensus/key.h"
#include "consensus/manifest.h"
#include "consensus/receipt.h"
#include "consensus/state.h"
#include "consensus/tx.h"
#include "common/base64url.h"
#include "relay/path.h"
#include "relay/relay.h"

#define CHUNK (256u * 1024u)
#define N_CHUNKS 64
#define CONNS 8
#define ROUND_SECONDS 2.0
#define ROUNDS 3
#define PRICE 1000u
#define COIN 100000000ull

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_relay: %s\n", what);
    exit(1);
}

/* ---- the ledger: one channel per connection, in memory ---- */

typedef struct {
    size_t len;
    unsigned char data[];
} blob;
static bwc_map kv;

static int mem_get(void *ctx, const unsigned char *k, size_t kn, bwc_buf *out)
{
    (void)ctx;
    blob *b = bwc_map_get(&kv, k, kn);
    if (!b)
        return 0;
    bwc_buf_append(out, b->data, b->len);
    return 1;
}

static int mem_put(void *ctx, const unsigned char *k, size_t kn, const unsigned char *v, size_t vn)
{
    (void)ctx;
    free(bwc_map_del(&kv, k, kn));
    if (!v)
        return 0;
    blob *b = malloc(sizeof *b + vn + 1);
    if (!b)
        die("out of memory");
    b->len = vn;
    memcpy(b->data, v, vn);
    return bwc_map_put(&kv, k, kn, b);
}

static bwc_state_view view = {NULL, mem_get, mem_put};
static secp256k1_context *secp;
static unsigned char consumer_sk[32], relay_sk[32];
static bwc_pubkey consumer_pk, relay_pk;
static bwc_hash chain_id, cid, cid_free, channels[CONNS], hashes[N_CHUNKS];
static bwc_params params;
static const unsigned char aux[32];

static void build_ledger(void)
{
    bwc_result res;
    bwc_block_ctx ctx;
    bwc_allocation alloc = {consumer_pk, 1000000 * COIN};
    memset(&params, 0, sizeof params);
    strcpy(params.hrp, "dbwc");
    params.magic = 1;
    params.genesis_time = 1700000000;
    params.engine = BWC_ENGINE_POW;
    params.pow.initial_target = 0x207fffff;
    params.pow.target_spacing = 60;
    params.pow.half_life = 3600;
    params.pow.no_retarget = 1;
    params.initial_subsidy = 50 * COIN;
    params.halving_interval = 210000;
    params.min_fee = 1000;
    params.receipt_fee = 1000;
    params.settle_window = 100;
    params.max_channel_blocks = 100000;
    params.max_block_bytes = 2u << 20;
    params.max_message_bytes = 4u << 20;
    params.max_future_seconds = 7200;
    params.allocations = &alloc;
    params.n_allocations = 1;
    bwc_map_init(&kv);
    if (!bwc_state_genesis(&view, &params, &res))
        die("genesis");
    bwc_state_begin_block(&ctx, &params, &chain_id, secp, NULL, 1, &relay_pk);
    for (int i = 0; i < CONNS; i++) {
        bwc_tx tx;
        memset(&tx, 0, sizeof tx);
        tx.type = BWC_TX_CHANNEL_OPEN;
        tx.from = consumer_pk;
        tx.nonce = (uint64_t)i;
        tx.fee = 1000;
        tx.body.channel_open.relay = relay_pk;
        tx.body.channel_open.deposit = 10000 * COIN;
        tx.body.channel_open.price = PRICE;
        tx.body.channel_open.expiry = 90000;
        bwc_tx_id(&chain_id, &tx, &channels[i]);
        if (!bwc_sign(secp, &tx.sig, consumer_sk, &channels[i], aux) ||
            !bwc_state_apply_tx(&view, &ctx, &tx, &channels[i], &res))
            die("channel_open");
    }
    if (!bwc_state_end_block(&view, &ctx, &res))
        die("end_block");
}

static bwc_state_view host_view(void *ctx)
{
    (void)ctx;
    return view;
}
static uint64_t host_height(void *ctx)
{
    (void)ctx;
    return 1;
}
static int host_submit(void *ctx, const unsigned char *b, size_t n, bwc_hash *rid, bwc_result *res)
{
    (void)ctx, (void)b, (void)n, (void)rid;
    bwc_result_ok(res);
    return 1;
}

/* ---- the relay on its own thread ---- */

static struct event_base *relay_base;
static bwc_relay_server *relay;

static void *relay_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "relay");
    event_base_dispatch(relay_base);
    return NULL;
}

/* ---- nginx ---- */

static uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    socklen_t l = sizeof a;
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &l) != 0)
        die("no free port");
    close(fd);
    return ntohs(a.sin_port);
}

static const char *find_nginx(void)
{
    static const char *paths[] = {"/usr/sbin/nginx", "/usr/bin/nginx", "/usr/local/sbin/nginx"};
    for (int round = 0; round < 2; round++) {
        for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++)
            if (access(paths[i], X_OK) == 0)
                return paths[i];
        if (round == 0) {
            fprintf(stderr, "bench_relay: nginx missing, trying apt-get install -y nginx\n");
            if (system("DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light "
                       ">/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y "
                       "-qq nginx >/dev/null 2>&1") != 0)
                return NULL;
        }
    }
    return NULL;
}

static char tmp[128];
static pid_t nginx_pid = -1;

static int start_nginx(const char *nginx, const char *chunks, uint16_t port)
{
    char conf[256];
    snprintf(conf, sizeof conf, "%s/nginx.conf", tmp);
    FILE *f = fopen(conf, "w");
    if (!f)
        return -1;
    fprintf(f,
            "daemon off;\nmaster_process on;\nworker_processes 2;\nuser root;\n"
            "pid %s/nginx.pid;\nerror_log %s/nginx-error.log;\n"
            "events { worker_connections 1024; }\n"
            "http {\n  access_log off;\n  sendfile on;\n  tcp_nopush off;\n"
            "  keepalive_timeout 65;\n  keepalive_requests 1000000;\n"
            "  client_body_temp_path %s/ngx-body;\n  proxy_temp_path %s/ngx-proxy;\n"
            "  fastcgi_temp_path %s/ngx-fcgi;\n  uwsgi_temp_path %s/ngx-uwsgi;\n"
            "  scgi_temp_path %s/ngx-scgi;\n"
            "  server {\n    listen 127.0.0.1:%u;\n"
            "    location ~ \"^/v1/chunk/([0-9a-f]{64})/([0-9]+)$\" {\n"
            "      default_type application/octet-stream;\n      alias %s/$1/$2;\n    }\n"
            "  }\n}\n",
            tmp, tmp, tmp, tmp, tmp, tmp, tmp, (unsigned)port, chunks);
    fclose(f);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        char log[256];
        snprintf(log, sizeof log, "%s/nginx-error.log", tmp);
        int out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        dup2(out, 1);
        dup2(out, 2);
        execl(nginx, nginx, "-p", tmp, "-c", conf, (char *)NULL);
        _exit(127);
    }
    nginx_pid = pid;
    /* Wait (bounded: 5 s) until it accepts connections. */
    for (int i = 0; i < 100; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in a = {0};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
        close(fd);
        if (ok)
            return 0;
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return -1;
}

static void stop_nginx(void)
{
    if (nginx_pid > 0) {
        kill(nginx_pid, SIGQUIT);
        for (int i = 0; i < 100; i++) {
            if (waitpid(nginx_pid, NULL, WNOHANG) == nginx_pid) {
                nginx_pid = -1;
                return;
            }
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
        kill(nginx_pid, SIGKILL);
        waitpid(nginx_pid, NULL, 0);
        nginx_pid = -1;
    }
}

/* ---- the load generator ---- */

typedef struct {
    int fd;
    int ch;          /* channel index */
    uint64_t served; /* chunks served on the channel; its next receipt has seq served + 1 */
    uint64_t bytes;
    bwc_hash digest;
    uint32_t next; /* next chunk index */
    char req[2048];
    size_t req_len, req_off;
    char hdr[4096];
    size_t hdr_len;
    long body_left; /* -1 while reading headers */
    int status;
    int inited;
} conn;

static int connect_to(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        die("cannot connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* mode: 0 nginx (the paid content's files), 1 relay paid, 2 relay free content. */
/* Receipts covering 0..PRESIGNED chunks of each channel (seq 1..PRESIGNED + 1: the opening
 * receipt first), signed before the timed rounds so that the rounds measure the server (a wallet
 * signs them as it goes: ~50 µs each with the BIP340 self-check). Past that the client signs on
 * the fly. */
#define PRESIGNED 12000
static char *presigned[CONNS][PRESIGNED + 1];

static char *sign_receipt(int ch, uint64_t seq, uint64_t bytes, const bwc_hash *digest)
{
    bwc_receipt r;
    bwc_hash rid;
    bwc_buf enc = BWC_BUF_INIT;
    char b64[1024];
    memset(&r, 0, sizeof r);
    r.channel = channels[ch];
    r.seq = seq;
    r.bytes = bytes;
    if (!bwc_receipt_max_amount(bytes, PRICE, &r.amount))
        die("amount");
    r.digest = *digest;
    bwc_receipt_id(&chain_id, &r, &rid);
    if (!bwc_sign(secp, &r.consumer_sig, consumer_sk, &rid, aux) || !bwc_receipt_encode(&r, &enc))
        die("receipt");
    bwc_b64url_encode(b64, sizeof b64, enc.data, enc.len);
    bwc_buf_free(&enc);
    return strdup(b64);
}

static void presign(void)
{
    for (int ch = 0; ch < CONNS; ch++) {
        bwc_hash d;
        memset(&d, 0, sizeof d);
        uint32_t next = (uint32_t)(ch * 7) % N_CHUNKS;
        for (uint64_t n = 0; n <= PRESIGNED; n++) {
            if (n > 0) {
                bwc_delivery_next(&d, &cid, next, &hashes[next]);
                next = (next + 1) % N_CHUNKS;
            }
            presigned[ch][n] = sign_receipt(ch, n + 1, n * CHUNK, &d);
        }
    }
}

static void build_request(conn *c, int mode)
{
    char hex[65], chhex[65], path[200];
    int paid = mode == 1;
    bwc_hex_encode(hex, mode == 2 ? cid_free.b : cid.b, 32);
    snprintf(path, sizeof path, "/v1/chunk/%s/%u", hex, c->next);
    if (!paid) {
        c->req_len = (size_t)snprintf(c->req, sizeof c->req,
                                      "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path);
    } else {
        bwc_hex_encode(chhex, channels[c->ch].b, 32);
        int n = snprintf(c->req, sizeof c->req,
                         "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nBwc-Channel: %s\r\n", path, chhex);
        /* A receipt for everything served so far on this channel (none yet: the opening one). */
        char *b64 = c->served <= PRESIGNED
                        ? presigned[c->ch][c->served]
                        : sign_receipt(c->ch, c->served + 1, c->bytes, &c->digest);
        n += snprintf(c->req + n, sizeof c->req - (size_t)n, "Bwc-Receipt: %s\r\n", b64);
        if (c->served > PRESIGNED)
            free(b64);
        n += snprintf(c->req + n, sizeof c->req - (size_t)n, "\r\n");
        c->req_len = (size_t)n;
    }
    c->req_off = 0;
    c->hdr_len = 0;
    c->body_left = -1;
}

typedef struct {
    double seconds;
    uint64_t requests, bytes, errors;
} result;

static result run_load(uint16_t port, int mode, double seconds)
{
    /* One set per server: a paid connection's channel carries on from round to round. */
    static conn sets[3][CONNS];
    conn *cs = sets[mode];
    int paid = mode == 1;
    struct pollfd pfd[CONNS];
    static char buf[1 << 20];
    result res = {0, 0, 0, 0};
    for (int i = 0; i < CONNS; i++) {
        conn *c = &cs[i];
        if (!c->inited) {
            c->next = (uint32_t)(i * 7) % N_CHUNKS;
            c->inited = 1;
        }
        c->fd = connect_to(port);
        c->ch = i;
        build_request(c, mode);
    }
    double start = now_s(), end = start + seconds;
    int stopping = 0, active = CONNS;
    while (active > 0) {
        double t = now_s();
        if (t >= end)
            stopping = 1;
        if (t >= end + 10)
            die("a server stopped answering");
        for (int i = 0; i < CONNS; i++) {
            pfd[i].fd = cs[i].fd;
            pfd[i].events = cs[i].fd < 0 ? 0 : cs[i].req_off < cs[i].req_len ? POLLOUT : POLLIN;
        }
        if (poll(pfd, CONNS, 100) < 0 && errno != EINTR)
            die("poll");
        for (int i = 0; i < CONNS; i++) {
            conn *c = &cs[i];
            if (c->fd < 0 || !pfd[i].revents)
                continue;
            if (c->req_off < c->req_len) {
                ssize_t w = write(c->fd, c->req + c->req_off, c->req_len - c->req_off);
                if (w > 0)
                    c->req_off += (size_t)w;
                else if (errno != EAGAIN)
                    die("write");
                continue;
            }
            ssize_t n = read(c->fd, buf, sizeof buf);
            if (n <= 0) {
                if (n < 0 && errno == EAGAIN)
                    continue;
                die("connection closed by the server");
            }
            size_t off = 0;
            while (off < (size_t)n) {
                if (c->body_left < 0) {
                    while (off < (size_t)n && c->hdr_len < sizeof c->hdr - 1) {
                        c->hdr[c->hdr_len++] = buf[off++];
                        if (c->hdr_len >= 4 && memcmp(c->hdr + c->hdr_len - 4, "\r\n\r\n", 4) == 0)
                            break;
                    }
                    c->hdr[c->hdr_len] = '\0';
                    if (c->hdr_len < 4 || memcmp(c->hdr + c->hdr_len - 4, "\r\n\r\n", 4) != 0)
                        continue;
                    c->status = atoi(c->hdr + 9);
                    const char *cl = strcasestr(c->hdr, "\r\nContent-Length:");
                    if (!cl)
                        die("no Content-Length");
                    c->body_left = atol(cl + 17);
                }
                size_t take =
                    (size_t)n - off < (size_t)c->body_left ? (size_t)n - off : (size_t)c->body_left;
                off += take;
                c->body_left -= (long)take;
                if (c->body_left == 0) {
                    res.requests++;
                    if (c->status != 200) {
                        res.errors++;
                        if (res.errors < 3)
                            fprintf(stderr, "bench_relay: status %d: %s\n", c->status, c->hdr);
                    } else {
                        uint64_t len = CHUNK;
                        res.bytes += len;
                        if (paid) {
                            bwc_delivery_next(&c->digest, &cid, c->next, &hashes[c->next]);
                            c->bytes += len;
                            c->served++;
                        }
                        c->next = (c->next + 1) % N_CHUNKS;
                    }
                    if (stopping) {
                        close(c->fd);
                        c->fd = -1;
                        active--;
                        break;
                    }
                    build_request(c, mode);
                    if (off != (size_t)n)
                        die("unexpected bytes after a response");
                }
            }
        }
    }
    res.seconds = now_s() - start;
    return res;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void)
{
    static const unsigned char seed[32] = {5};
    char err[512], path[256];
    signal(SIGPIPE, SIG_IGN);
    secp = bwc_secp_create(seed);
    memset(consumer_sk, 0x41, 32);
    memset(relay_sk, 0x42, 32);
    memset(chain_id.b, 0xc1, 32);
    if (!secp || !bwc_key_pubkey(secp, &consumer_pk, consumer_sk) ||
        !bwc_key_pubkey(secp, &relay_pk, relay_sk))
        die("keys");
    snprintf(tmp, sizeof tmp, "/tmp/bwc-bench-relay-XXXXXX");
    if (!mkdtemp(tmp))
        die("mkdtemp");
    /* The content: 64 chunks of 256 KiB. */
    snprintf(path, sizeof path, "%s/content", tmp);
    FILE *f = fopen(path, "wb");
    unsigned char *chunk = malloc(CHUNK);
    if (!f || !chunk)
        die("content");
    for (uint32_t i = 0; i < N_CHUNKS; i++) {
        for (uint32_t j = 0; j < CHUNK; j++)
            chunk[j] = (unsigned char)(i * 31 + j * 7 + j / 4096);
        bwc_sha256(&hashes[i], chunk, CHUNK);
        fwrite(chunk, 1, CHUNK, f);
    }
    fclose(f);
    char path_free[256];
    snprintf(path_free, sizeof path_free, "%s/content-free", tmp);
    f = fopen(path_free, "wb");
    if (!f)
        die("content");
    for (uint32_t i = 0; i < N_CHUNKS; i++) {
        for (uint32_t j = 0; j < CHUNK; j++)
            chunk[j] = (unsigned char)(i * 17 + j * 5 + j / 4096);
        fwrite(chunk, 1, CHUNK, f);
    }
    fclose(f);
    free(chunk);
    bwc_manifest fm;
    if (bwc_manifest_from_file(&fm, path_free, CHUNK, err, sizeof err) != 0 ||
        !bwc_manifest_content_id(&fm, &cid_free))
        die("free content");
    bwc_manifest_free(&fm);
    build_ledger();
    char keyfile[256], hex[66];
    snprintf(keyfile, sizeof keyfile, "%s/relay.key", tmp);
    bwc_hex_encode(hex, relay_sk, 32);
    f = fopen(keyfile, "w");
    fprintf(f, "%s\n", hex);
    fclose(f);
    evthread_use_pthreads();
    relay_base = event_base_new();
    bwc_relay_config c;
    memset(&c, 0, sizeof c);
    char dir[256];
    snprintf(dir, sizeof dir, "%s/relay", tmp);
    c.dir = dir;
    c.params = &params;
    c.chain_id = &chain_id;
    c.hrp = "dbwc";
    c.secp = secp;
    c.version = "bench";
    c.keyfile = keyfile;
    c.price = PRICE;
    c.free_ids = &cid_free;
    c.n_free = 1;
    bwc_relay_host host = {NULL, host_view, host_height, host_submit, NULL};
    const char *quiet[] = {"0"};
    bwc_log_set_debug(quiet, 1, err, sizeof err);
    bwc_log_open(NULL, 0, err, sizeof err);
    relay = bwc_relay_start(relay_base, &c, &host, err, sizeof err);
    if (!relay)
        die(err);
    bwc_hash got;
    if (bwc_relay_import(relay, path, 1, CHUNK, &cid, err, sizeof err) != 0 ||
        bwc_relay_import(relay, path_free, 1, CHUNK, &got, err, sizeof err) != 0)
        die(err);
    uint16_t relay_port = bwc_relay_port(relay);
    pthread_t th;
    if (pthread_create(&th, NULL, relay_main, NULL) != 0)
        die("thread");

    double t0 = now_s();
    presign();
    fprintf(stderr, "bench_relay: %d receipts signed in %.1f s (not timed)\n",
            CONNS * (PRESIGNED + 1), now_s() - t0);
    const char *nginx = find_nginx();
    uint16_t nginx_port = free_port();
    char chunks[300];
    snprintf(chunks, sizeof chunks, "%s/chunks", dir);
    int have_nginx = nginx && start_nginx(nginx, chunks, nginx_port) == 0;
    if (!have_nginx) {
        char cmd[400];
        fprintf(stderr, "bench_relay: nginx unavailable: reporting the relay alone\n");
        snprintf(cmd, sizeof cmd, "cat '%s/nginx-error.log' >&2 2>/dev/null", tmp);
        if (system(cmd) != 0)
            fprintf(stderr, "bench_relay: no nginx error log\n");
    }

    printf("bench_relay: %u KiB chunks, %d keep-alive connections, %d rounds of %.0f s each\n",
           CHUNK / 1024, CONNS, ROUNDS, ROUND_SECONDS);
    double relay_rps[ROUNDS], free_rps[ROUNDS], nginx_rps[ROUNDS];
    uint64_t relay_errors = 0, nginx_errors = 0;
    for (int r = 0; r < ROUNDS; r++) {
        if (have_nginx) {
            result n = run_load(nginx_port, 0, ROUND_SECONDS);
            nginx_rps[r] = (double)(n.requests - n.errors) / n.seconds;
            nginx_errors += n.errors;
        }
        result x = run_load(relay_port, 1, ROUND_SECONDS);
        relay_rps[r] = (double)(x.requests - x.errors) / x.seconds;
        relay_errors += x.errors;
        result fr = run_load(relay_port, 2, ROUND_SECONDS);
        free_rps[r] = (double)(fr.requests - fr.errors) / fr.seconds;
        relay_errors += fr.errors;
        printf("  round %d: relay paid %.0f req/s, relay free %.0f req/s", r + 1, relay_rps[r],
               free_rps[r]);
        if (have_nginx)
            printf(", nginx %.0f req/s, ratio paid %.2f, free %.2f", nginx_rps[r],
                   relay_rps[r] / nginx_rps[r], free_rps[r] / nginx_rps[r]);
        printf("\n");
    }
    qsort(relay_rps, ROUNDS, sizeof relay_rps[0], cmp_double);
    qsort(free_rps, ROUNDS, sizeof free_rps[0], cmp_double);
    double rm = relay_rps[ROUNDS / 2], fm2 = free_rps[ROUNDS / 2];
    printf("relay, paid (a receipt with every request): %.0f req/s, %.2f GB/s\n", rm,
           rm * CHUNK / 1e9);
    printf("relay, free content (no receipt):           %.0f req/s, %.2f GB/s\n", fm2,
           fm2 * CHUNK / 1e9);
    if (have_nginx) {
        qsort(nginx_rps, ROUNDS, sizeof nginx_rps[0], cmp_double);
        double nm = nginx_rps[ROUNDS / 2];
        printf("nginx (sendfile, same chunk files):         %.0f req/s, %.2f GB/s\n", nm,
               nm * CHUNK / 1e9);
        printf("ratio relay/nginx (medians): paid %.2f, free %.2f\n", rm / nm, fm2 / nm);
        stop_nginx();
    }
    printf("errors: relay %llu, nginx %llu\n", (unsigned long long)relay_errors,
           (unsigned long long)nginx_errors);
    event_base_loopexit(relay_base, NULL);
    pthread_join(th, NULL);
    bwc_relay_stop(relay);
    event_base_free(relay_base);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_relay: cannot remove %s\n", tmp);
    for (int ch = 0; ch < CONNS; ch++)
        for (int i = 0; i <= PRESIGNED; i++)
            free(presigned[ch][i]);
    bwc_secp_destroy(secp);
    return relay_errors || nginx_errors ? 1 : 0;
}
