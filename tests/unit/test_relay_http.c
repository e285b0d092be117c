/* test_relay_http.c: the relay's HTTP API over real loopback sockets, driven by libevent's HTTP
 * client on the same loop: a fake host (an in-memory ledger state holding a channel and a pool,
 * built by consensus/state.c) and a fake clock. Every wait is bounded. */
#include "tests/unit/unit.h"

#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "common/map.h"
#include "consensus/bech32m.h"
#include "consensus/hash.h"
#include "consensus/key.h"
#include "consensus/manifest.h"
#include "consensus/receipt.h"
#include "consensus/state.h"
#include "consensus/tx.h"
#include "common/base64url.h"
#include "relay/path.h"
#include "relay/relay.h"

#define COIN BWC_UNITS_PER_COIN
#define KIB16 16384u
#define PRICE 1000000u /* units per MiB the channel and the pool pay */
#define WINDOW (2 * KIB16)
#define N_CHUNKS 5
#define SIZE (N_CHUNKS * KIB16 - 1000) /* the last chunk is short */
#define EXPIRY 50u
#define SETTLE 100u
#define RFEE 1000u

/* ---- an in-memory state view ---- */

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
    assert_non_null(b);
    b->len = vn;
    memcpy(b->data, v, vn);
    return bwc_map_put(&kv, k, kn, b);
}

static void mem_clear(void)
{
    const unsigned char *k;
    size_t kl;
    void *v;
    for (size_t i = 0; bwc_map_next(&kv, &i, &k, &kl, &v);)
        free(v);
    bwc_map_free(&kv);
}

static bwc_state_view view = {NULL, mem_get, mem_put};

/* ---- keys, chain, ledger ---- */

enum { ALICE, BOB, ORG, TICKETS, RELAY, MINER, N_KEYS };
static secp256k1_context *secp;
static unsigned char sk[N_KEYS][32];
static bwc_pubkey pk[N_KEYS];
static bwc_hash chain_id;
static bwc_params params;
static bwc_allocation allocs[2];
static const unsigned char aux[32];

static bwc_hash cid, cid_free; /* paid content, free content */
static unsigned char content[SIZE], content2[SIZE];
static bwc_hash chunk_hashes[N_CHUNKS];
static bwc_hash channel, pool;
static bwc_hash channel2; /* Alice's second channel to the relay's key: the edge relay's lane */
static char tmp[128];
static char file1[256], file2[256];

static void sign_tx(bwc_tx *tx)
{
    bwc_hash id;
    bwc_account a;
    assert_true(bwc_state_account(&view, &tx->from, &a) >= 0);
    tx->nonce = a.nonce;
    bwc_tx_id(&chain_id, tx, &id);
    int who = -1;
    for (int i = 0; i < N_KEYS; i++)
        if (memcmp(pk[i].b, tx->from.b, 32) == 0)
            who = i;
    assert_true(who >= 0);
    assert_true(bwc_sign(secp, &tx->sig, sk[who], &id, aux));
}

static bwc_hash apply(bwc_block_ctx *ctx, bwc_tx *tx)
{
    bwc_result res;
    bwc_hash id;
    sign_tx(tx);
    bwc_tx_id(&chain_id, tx, &id);
    assert_true(bwc_state_apply_tx(&view, ctx, tx, &id, &res));
    return id;
}

static bwc_hash make_file(const char *path, unsigned char *data, unsigned seed)
{
    bwc_manifest m;
    bwc_result res;
    bwc_hash id;
    for (size_t i = 0; i < SIZE; i++)
        data[i] = (unsigned char)(seed + i * 13 + i / 777);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, SIZE, f), SIZE);
    fclose(f);
    assert_true(bwc_manifest_begin(&m, SIZE, KIB16, &res));
    for (size_t i = 0; i < m.n_chunks; i++)
        assert_true(
            bwc_manifest_add_chunk(&m, i, data + i * KIB16, (size_t)bwc_manifest_chunk_len(&m, i)));
    assert_true(bwc_manifest_content_id(&m, &id));
    if (data == content)
        memcpy(chunk_hashes, m.chunks, sizeof chunk_hashes);
    bwc_manifest_free(&m);
    return id;
}

static uint64_t height = 1;

/* Genesis, then block 1: Alice opens a channel to the relay; Org registers the paid content and
 * sponsors a pool for it with a ticket key. */
static void build_ledger(void)
{
    bwc_result res;
    bwc_block_ctx ctx;
    mem_clear();
    bwc_map_init(&kv);
    memset(&params, 0, sizeof params);
    strcpy(params.hrp, "dbwc");
    params.magic = 0xb0c0de01;
    params.genesis_time = 1700000000;
    params.engine = BWC_ENGINE_POW;
    params.pow.initial_target = 0x207fffff;
    params.pow.target_spacing = 60;
    params.pow.half_life = 3600;
    params.pow.no_retarget = 1;
    params.initial_subsidy = 50 * COIN;
    params.halving_interval = 210000;
    params.min_fee = 1000;
    params.receipt_fee = RFEE;
    params.settle_window = SETTLE;
    params.max_channel_blocks = 100000;
    params.max_block_bytes = 2u << 20;
    params.max_message_bytes = 4u << 20;
    params.max_future_seconds = 7200;
    allocs[0] = (bwc_allocation){pk[ALICE], 1000 * COIN};
    allocs[1] = (bwc_allocation){pk[ORG], 1000 * COIN};
    params.allocations = allocs;
    params.n_allocations = 2;
    assert_true(bwc_state_genesis(&view, &params, &res));
    bwc_state_begin_block(&ctx, &params, &chain_id, secp, NULL, 1, &pk[MINER]);
    bwc_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.type = BWC_TX_CHANNEL_OPEN;
    tx.from = pk[ALICE];
    tx.fee = 1000;
    tx.body.channel_open.relay = pk[RELAY];
    tx.body.channel_open.deposit = COIN;
    tx.body.channel_open.price = PRICE;
    tx.body.channel_open.expiry = EXPIRY;
    channel = apply(&ctx, &tx);
    tx.body.channel_open.deposit = COIN / 2;
    channel2 = apply(&ctx, &tx);
    memset(&tx, 0, sizeof tx);
    tx.type = BWC_TX_CONTENT_REGISTER;
    tx.from = pk[ORG];
    tx.fee = 1000;
    tx.body.content_register.content_id = cid;
    tx.body.content_register.size = SIZE;
    tx.body.content_register.chunk_size = KIB16;
    apply(&ctx, &tx);
    memset(&tx, 0, sizeof tx);
    tx.type = BWC_TX_SPONSOR;
    tx.from = pk[ORG];
    tx.fee = 1000;
    tx.body.sponsor.content_id = cid;
    tx.body.sponsor.amount = 10 * COIN;
    tx.body.sponsor.price = PRICE;
    tx.body.sponsor.per_consumer_cap = COIN;
    tx.body.sponsor.expiry = EXPIRY;
    tx.body.sponsor.has_ticket_key = 1;
    tx.body.sponsor.ticket_key = pk[TICKETS];
    pool = apply(&ctx, &tx);
    assert_true(bwc_state_end_block(&view, &ctx, &res));
    height = 1;
}

/* ---- the fake host and clock ---- */

static uint64_t now_ms = 1800000000000ull;
static uint64_t fake_now(void *ctx)
{
    (void)ctx;
    return now_ms;
}

static bwc_receipt submitted[16];
static size_t n_submitted;

static bwc_state_view host_view(void *ctx)
{
    (void)ctx;
    return view;
}

static uint64_t host_height(void *ctx)
{
    (void)ctx;
    return height;
}

/* Takes what the relay settles: it must decode, carry both signatures and apply. */
static int host_submit(void *ctx, const unsigned char *bytes, size_t len, bwc_hash *rid,
                       bwc_result *res)
{
    (void)ctx;
    bwc_receipt r;
    assert_true(bwc_receipt_decode(&r, bytes, len, res));
    assert_true(r.has_relay_sig);
    bwc_receipt_id(&chain_id, &r, rid);
    assert_true(bwc_verify(secp, &r.relay_sig, rid, &pk[RELAY]));
    assert_true(n_submitted < 16);
    submitted[n_submitted++] = r;
    /* As the next block would: the chain's claimed and seq move. */
    bwc_block_ctx bctx;
    bwc_state_begin_block(&bctx, &params, &chain_id, secp, NULL, height + 1, &pk[MINER]);
    if (!bwc_state_apply_receipt(&view, &bctx, &r, rid, 1, res))
        fail_msg("a settled receipt does not apply: %s", res->reject);
    return 1;
}

static const bwc_relay_host host = {NULL, host_view, host_height, host_submit, NULL};

/* ---- relays ---- */

static struct event_base *base;
static struct event *tick;

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
}

typedef struct {
    bwc_relay_server *relay;
    struct evhttp_connection *conn;
    char dir[256];
} relay_t;

static relay_t main_relay;

static bwc_relay_config base_config(const char *dir)
{
    static char keyfile[300];
    bwc_relay_config c;
    memset(&c, 0, sizeof c);
    snprintf(keyfile, sizeof keyfile, "%s/relay.key", tmp);
    c.dir = dir;
    c.params = &params;
    c.chain_id = &chain_id;
    c.hrp = "dbwc";
    c.secp = secp;
    c.version = "test";
    c.port = 0;
    c.keyfile = keyfile;
    c.store_bytes = 64u << 20;
    c.price = 1000;
    c.region = "DE";
    c.credit_window = WINDOW;
    c.settle_multiple = 10;
    c.now_ms = fake_now;
    return c;
}

static void relay_open(relay_t *t, const bwc_relay_config *cfg)
{
    char err[512];
    t->relay = bwc_relay_start(base, cfg, &host, err, sizeof err);
    if (!t->relay)
        fail_msg("bwc_relay_start: %s", err);
    t->conn = evhttp_connection_base_new(base, NULL, "127.0.0.1", bwc_relay_port(t->relay));
    assert_non_null(t->conn);
    evhttp_connection_set_timeout(t->conn, 10);
}

static void relay_close(relay_t *t)
{
    if (t->conn)
        evhttp_connection_free(t->conn);
    t->conn = NULL;
    bwc_relay_stop(t->relay);
    t->relay = NULL;
}

/* ---- the client ---- */

typedef struct {
    int done;
    int status;
    unsigned char *body;
    size_t len;
    char retry_after[32];
    char chunk_hash[80];
    char content_type[64];
    char served[32];
} resp;

static void copy_header(struct evhttp_request *req, const char *name, char *out, size_t n)
{
    const char *v = evhttp_find_header(evhttp_request_get_input_headers(req), name);
    snprintf(out, n, "%s", v ? v : "");
}

static void on_resp(struct evhttp_request *req, void *arg)
{
    resp *r = arg;
    r->done = 1;
    if (!req)
        return;
    r->status = evhttp_request_get_response_code(req);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    r->len = evbuffer_get_length(in);
    r->body = malloc(r->len + 1);
    assert_non_null(r->body);
    evbuffer_remove(in, r->body, r->len);
    r->body[r->len] = '\0';
    copy_header(req, "Retry-After", r->retry_after, sizeof r->retry_after);
    copy_header(req, "Bwc-Chunk-Hash", r->chunk_hash, sizeof r->chunk_hash);
    copy_header(req, "Content-Type", r->content_type, sizeof r->content_type);
    copy_header(req, "Bwc-Served", r->served, sizeof r->served);
}

static void resp_free(resp *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* Sends one request on t's keep-alive connection and runs the loop until the answer (at most
 * 10 s of 100 ms ticks). headers: name, value pairs ending in NULL. */
static int http(relay_t *t, enum evhttp_cmd_type cmd, const char *path, const char *const *headers,
                const void *body, size_t blen, resp *out)
{
    memset(out, 0, sizeof *out);
    struct evhttp_request *req = evhttp_request_new(on_resp, out);
    assert_non_null(req);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", "127.0.0.1");
    for (size_t i = 0; headers && headers[i]; i += 2)
        evhttp_add_header(h, headers[i], headers[i + 1]);
    if (body)
        evbuffer_add(evhttp_request_get_output_buffer(req), body, blen);
    assert_int_equal(evhttp_make_request(t->conn, req, cmd, path), 0);
    for (int i = 0; i < 100 && !out->done; i++)
        event_base_loop(base, EVLOOP_ONCE);
    assert_true(out->done);
    return out->status;
}

static int get(relay_t *t, const char *path, const char *const *headers, resp *out)
{
    return http(t, EVHTTP_REQ_GET, path, headers, NULL, 0, out);
}

/* The "code" of an error reply. */
static const char *err_code(const resp *r)
{
    static char code[128];
    json_error_t e;
    json_t *o = json_loadb((const char *)r->body, r->len, 0, &e);
    assert_non_null(o);
    const char *c = json_string_value(json_object_get(json_object_get(o, "error"), "code"));
    assert_non_null(c);
    assert_non_null(json_string_value(json_object_get(json_object_get(o, "error"), "message")));
    snprintf(code, sizeof code, "%s", c);
    json_decref(o);
    return code;
}

static void path_chunk(char *out, size_t n, const bwc_hash *id, uint32_t i)
{
    char hex[65];
    bwc_hex_encode(hex, id->b, 32);
    snprintf(out, n, "/v1/chunk/%s/%u", hex, i);
}

/* ---- the consumer ---- */

typedef struct {
    uint64_t seq, bytes;
    bwc_hash digest;
    char b64[1024];
    bwc_hash id;
    char id_hex[65];
    int pool;
} consumer;

static void consumer_init(consumer *c, const bwc_hash *lane_id, int is_pool)
{
    memset(c, 0, sizeof *c);
    c->id = *lane_id;
    bwc_hex_encode(c->id_hex, lane_id->b, 32);
    c->pool = is_pool;
}

/* Verifies a served chunk as a consumer does and steps its digest. */
static void consumer_got(consumer *c, const resp *r, const bwc_hash *content_id,
                         const unsigned char *data, uint32_t i)
{
    bwc_hash h;
    char hex[65];
    size_t len = i + 1 < N_CHUNKS ? KIB16 : SIZE - (N_CHUNKS - 1) * KIB16;
    assert_int_equal(r->status, 200);
    assert_int_equal(r->len, len);
    assert_memory_equal(r->body, data + (size_t)i * KIB16, len);
    bwc_sha256(&h, r->body, r->len);
    bwc_hex_encode(hex, h.b, 32);
    assert_string_equal(r->chunk_hash, hex);
    bwc_delivery_next(&c->digest, content_id, i, &h);
    c->bytes += len;
}

/* Signs a receipt for what c verified (or other values), base64url into c->b64; raw (may be
 * NULL) gets the CBOR. */
static void consumer_sign(consumer *c, uint64_t seq, uint64_t bytes, uint64_t amount,
                          const bwc_hash *digest, int signer, bwc_buf *raw)
{
    bwc_receipt r;
    bwc_hash rid;
    bwc_buf enc = BWC_BUF_INIT;
    memset(&r, 0, sizeof r);
    r.channel = c->id;
    r.seq = seq;
    r.bytes = bytes;
    r.amount = amount;
    r.digest = *digest;
    if (c->pool) {
        r.is_pool = 1;
        r.consumer = pk[ALICE];
        r.relay = pk[RELAY];
        r.has_ticket = 1;
        bwc_hash msg;
        bwc_ticket_msg(&chain_id, &pool, &pk[ALICE], &msg);
        assert_true(bwc_sign(secp, &r.ticket, sk[TICKETS], &msg, aux));
    }
    bwc_receipt_id(&chain_id, &r, &rid);
    assert_true(bwc_sign(secp, &r.consumer_sig, sk[signer], &rid, aux));
    assert_true(bwc_receipt_encode(&r, &enc));
    assert_true(bwc_b64url_encode(c->b64, sizeof c->b64, enc.data, enc.len) > 0);
    if (raw) {
        bwc_buf_reset(raw);
        bwc_buf_append(raw, enc.data, enc.len);
    }
    bwc_buf_free(&enc);
}

/* The main relay's chunks served and total bytes served since it started (getrelaystats). */
static void served_counters(uint64_t *chunks, uint64_t *bytes)
{
    json_t *st = bwc_relay_stats(main_relay.relay);
    json_t *served = json_object_get(st, "served");
    *chunks = (uint64_t)json_integer_value(json_object_get(served, "chunks_since_start"));
    *bytes = (uint64_t)json_integer_value(json_object_get(served, "total_bytes"));
    json_decref(st);
}

static uint64_t owed(uint64_t bytes)
{
    uint64_t a;
    assert_true(bwc_receipt_max_amount(bytes, PRICE, &a));
    return a;
}

/* ---- fixture ---- */

static int group_setup(void **state)
{
    static const unsigned char seed[32] = {3};
    (void)state;
    secp = bwc_secp_create(seed);
    for (int i = 0; i < N_KEYS; i++) {
        memset(sk[i], 0x31 + i, 32);
        if (!bwc_key_pubkey(secp, &pk[i], sk[i]))
            return -1;
    }
    memset(chain_id.b, 0xc1, 32);
    snprintf(tmp, sizeof tmp, "/tmp/bwc-test-relay-http-XXXXXX");
    if (!mkdtemp(tmp))
        return -1;
    snprintf(file1, sizeof file1, "%s/content1", tmp);
    snprintf(file2, sizeof file2, "%s/content2", tmp);
    cid = make_file(file1, content, 1);
    cid_free = make_file(file2, content2, 2);
    /* The relay's key, so the ledger can name it before the relay starts. */
    char path[300], hex[66];
    snprintf(path, sizeof path, "%s/relay.key", tmp);
    bwc_hex_encode(hex, sk[RELAY], 32);
    FILE *f = fopen(path, "w");
    fprintf(f, "%s\n", hex);
    fclose(f);
    build_ledger();
    base = event_base_new();
    tick = event_new(base, -1, EV_PERSIST, on_tick, NULL);
    struct timeval tv = {0, 100 * 1000};
    event_add(tick, &tv);
    /* The main relay: paid content imported (pinned), the second content free. */
    snprintf(main_relay.dir, sizeof main_relay.dir, "%s/main", tmp);
    bwc_relay_config c = base_config(main_relay.dir);
    c.free_ids = &cid_free;
    c.n_free = 1;
    relay_open(&main_relay, &c);
    char err[256];
    bwc_hash got;
    if (bwc_relay_import(main_relay.relay, file1, 1, KIB16, &got, err, sizeof err) != 0 ||
        memcmp(got.b, cid.b, 32) != 0)
        return -1;
    if (bwc_relay_import(main_relay.relay, file2, 0, KIB16, &got, err, sizeof err) != 0)
        return -1;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    relay_close(&main_relay);
    event_free(tick);
    event_base_free(base);
    mem_clear();
    bwc_secp_destroy(secp);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    return system(cmd) == 0 ? 0 : -1;
}

/* ================================ tests ================================ */

static void test_status_and_manifest(void **state)
{
    (void)state;
    resp r;
    char path[200], hex[65];
    assert_int_equal(get(&main_relay, "/v1/status", NULL, &r), 200);
    assert_string_equal(r.content_type, "application/json");
    json_t *o = json_loadb((const char *)r.body, r.len, 0, NULL);
    assert_non_null(o);
    char addr[128];
    assert_true(bwc_address_encode(addr, sizeof addr, "dbwc", &pk[RELAY]));
    assert_string_equal(json_string_value(json_object_get(o, "address")), addr);
    assert_string_equal(json_string_value(json_object_get(o, "region")), "DE");
    assert_int_equal(json_integer_value(json_object_get(o, "price")), 1000);
    assert_true(json_is_false(json_object_get(o, "burst_active")));
    assert_string_equal(json_string_value(json_object_get(o, "version")), "test");
    assert_non_null(json_object_get(o, "quota"));
    assert_non_null(json_object_get(o, "used"));
    assert_non_null(json_object_get(o, "rate"));
    json_decref(o);
    resp_free(&r);
    /* The manifest: CBOR that hashes to the content id. */
    bwc_hex_encode(hex, cid.b, 32);
    snprintf(path, sizeof path, "/v1/manifest/%s", hex);
    assert_int_equal(get(&main_relay, path, NULL, &r), 200);
    assert_string_equal(r.content_type, "application/cbor");
    bwc_manifest m;
    bwc_result res;
    bwc_hash id;
    assert_true(bwc_manifest_decode(&m, r.body, r.len, &res));
    assert_true(bwc_manifest_content_id(&m, &id));
    assert_memory_equal(id.b, cid.b, 32);
    assert_int_equal(m.n_chunks, N_CHUNKS);
    bwc_manifest_free(&m);
    resp_free(&r);
    /* Unknown content with no upstream: 404. */
    snprintf(path, sizeof path, "/v1/manifest/%064d", 7);
    assert_int_equal(get(&main_relay, path, NULL, &r), 404);
    assert_string_equal(err_code(&r), "not-found");
    resp_free(&r);
    /* Wrong method, unknown path. */
    assert_int_equal(http(&main_relay, EVHTTP_REQ_POST, "/v1/status", NULL, "x", 1, &r), 405);
    resp_free(&r);
    assert_int_equal(get(&main_relay, "/v1/receipt", NULL, &r), 405);
    resp_free(&r);
    assert_int_equal(get(&main_relay, "/v1/nothing", NULL, &r), 404);
    resp_free(&r);
}

static void test_chunk_errors(void **state)
{
    (void)state;
    resp r;
    char path[200], hex[65];
    path_chunk(path, sizeof path, &cid, 0);
    assert_int_equal(get(&main_relay, path, NULL, &r), 402);
    assert_string_equal(err_code(&r), "payment-required");
    resp_free(&r);
    path_chunk(path, sizeof path, &cid, N_CHUNKS);
    assert_int_equal(get(&main_relay, path, NULL, &r), 416);
    assert_string_equal(err_code(&r), "index-out-of-range");
    resp_free(&r);
    bwc_hex_encode(hex, cid.b, 32);
    snprintf(path, sizeof path, "/v1/chunk/%s/00", hex);
    assert_int_equal(get(&main_relay, path, NULL, &r), 404);
    resp_free(&r);
    hex[0] = hex[0] >= 'a' ? (char)(hex[0] - 32) : hex[0] == '9' ? 'A' : (char)(hex[0] + 1);
    snprintf(path, sizeof path, "/v1/chunk/%s/0", hex);
    assert_int_equal(get(&main_relay, path, NULL, &r), 404);
    resp_free(&r);
    /* Malformed or unknown payment. */
    path_chunk(path, sizeof path, &cid, 0);
    const char *h1[] = {"Bwc-Channel", "1234", NULL};
    assert_int_equal(get(&main_relay, path, h1, &r), 400);
    assert_string_equal(err_code(&r), "bad-payment-headers");
    resp_free(&r);
    char other[65];
    bwc_hex_encode(other, pool.b, 32);
    const char *h2[] = {"Bwc-Channel", other, NULL}; /* a pool id as a channel */
    assert_int_equal(get(&main_relay, path, h2, &r), 402);
    assert_string_equal(err_code(&r), "channel-unknown");
    resp_free(&r);
    const char *h3[] = {"Bwc-Receipt", "AAAA", NULL};
    assert_int_equal(get(&main_relay, path, h3, &r), 400);
    resp_free(&r);
    /* Free content needs nothing. */
    path_chunk(path, sizeof path, &cid_free, 1);
    assert_int_equal(get(&main_relay, path, NULL, &r), 200);
    assert_int_equal(r.len, KIB16);
    assert_memory_equal(r.body, content2 + KIB16, KIB16);
    resp_free(&r);
}

static void test_paid_channel(void **state)
{
    (void)state;
    resp r;
    consumer c;
    char path[200], chpath[200];
    bwc_buf raw = BWC_BUF_INIT;
    consumer_init(&c, &channel, 0);
    snprintf(chpath, sizeof chpath, "/v1/channel/%s", c.id_hex);
    assert_int_equal(get(&main_relay, chpath, NULL, &r), 404);
    resp_free(&r);
    const char *hdr[] = {"Bwc-Channel", c.id_hex, NULL};
    uint64_t chunks0, bytes0;
    served_counters(&chunks0, &bytes0);
    /* Without Bwc-Receipt nothing is served, nor counted, nor is a lane made. */
    path_chunk(path, sizeof path, &cid, 0);
    assert_int_equal(get(&main_relay, path, hdr, &r), 402);
    assert_string_equal(err_code(&r), "receipt-required");
    assert_string_equal(r.served, "0");
    resp_free(&r);
    assert_int_equal(get(&main_relay, chpath, NULL, &r), 404);
    resp_free(&r);
    /* A stranger who knows the channel id signs an opening receipt with its own key: 400. */
    static const bwc_hash zero;
    consumer_sign(&c, 1, 0, 0, &zero, BOB, NULL);
    const char *hdr_o1[] = {"Bwc-Channel", c.id_hex, "Bwc-Receipt", c.b64, NULL};
    assert_int_equal(get(&main_relay, path, hdr_o1, &r), 400);
    assert_string_equal(err_code(&r), "bad-receipt-consumer-sig");
    resp_free(&r);
    assert_int_equal(get(&main_relay, chpath, NULL, &r), 404);
    resp_free(&r);
    uint64_t chunks1, bytes1;
    served_counters(&chunks1, &bytes1);
    assert_int_equal(chunks1, chunks0);
    assert_int_equal(bytes1, bytes0);
    /* The consumer's opening receipt (seq 1 at the start: bytes 0, amount 0, digest 0^32):
     * chunk 0. */
    consumer_sign(&c, 1, 0, 0, &zero, ALICE, &raw);
    const char *hdr_open[] = {"Bwc-Channel", c.id_hex, "Bwc-Receipt", c.b64, NULL};
    path_chunk(path, sizeof path, &cid, 0);
    get(&main_relay, path, hdr_open, &r);
    consumer_got(&c, &r, &cid, content, 0);
    assert_string_equal(r.served, "16384");
    resp_free(&r);
    /* The same receipt again on a chunk request: the lane's newest, which anyone can read
     * (GET /v1/channel): 409 receipt-replayed, nothing served or counted. */
    served_counters(&chunks1, &bytes1);
    path_chunk(path, sizeof path, &cid, 1);
    assert_int_equal(get(&main_relay, path, hdr_open, &r), 409);
    assert_string_equal(err_code(&r), "receipt-replayed");
    resp_free(&r);
    uint64_t chunks2, bytes2;
    served_counters(&chunks2, &bytes2);
    assert_int_equal(chunks2, chunks1);
    assert_int_equal(bytes2, bytes1);
    assert_int_equal(get(&main_relay, chpath, NULL, &r), 200);
    json_t *o = json_loadb((const char *)r.body, r.len, 0, NULL);
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "bytes_served")), KIB16);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "receipt"), "seq")), 1);
    assert_int_equal(json_array_size(json_object_get(o, "log")), 1);
    json_decref(o);
    resp_free(&r);
    /* By POST the same receipt is an idempotent submission: 200 with the lane, nothing served. */
    assert_int_equal(http(&main_relay, EVHTTP_REQ_POST, "/v1/receipt", NULL, raw.data, raw.len, &r),
                     200);
    o = json_loadb((const char *)r.body, r.len, 0, NULL);
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "bytes_served")), KIB16);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "receipt"), "seq")), 1);
    json_decref(o);
    resp_free(&r);
    /* A fresh receipt at the same point (seq 2, still bytes 0): chunk 1, the credit window's
     * second chunk. */
    consumer_sign(&c, 2, 0, 0, &zero, ALICE, NULL);
    get(&main_relay, path, hdr_open, &r);
    consumer_got(&c, &r, &cid, content, 1);
    assert_string_equal(r.served, "32768");
    resp_free(&r);
    served_counters(&chunks1, &bytes1);
    assert_int_equal(chunks1, chunks0 + 2);
    assert_int_equal(bytes1, bytes0 + 2 * KIB16);
    /* seq 3 at the start: the window is full, 402 (the receipt is taken all the same); sent
     * again, 409 receipt-replayed. */
    consumer_sign(&c, 3, 0, 0, &zero, ALICE, NULL);
    path_chunk(path, sizeof path, &cid, 2);
    assert_int_equal(get(&main_relay, path, hdr_open, &r), 402);
    assert_string_equal(err_code(&r), "credit-window-exceeded");
    assert_string_equal(r.served, "32768");
    resp_free(&r);
    assert_int_equal(get(&main_relay, path, hdr_open, &r), 409);
    assert_string_equal(err_code(&r), "receipt-replayed");
    resp_free(&r);
    /* Without a receipt now: 402 receipt-required, with the lane's count. */
    assert_int_equal(get(&main_relay, path, hdr, &r), 402);
    assert_string_equal(err_code(&r), "receipt-required");
    assert_string_equal(r.served, "32768");
    resp_free(&r);
    /* A receipt paying less than the price ceiling of its bytes: valid, but 402. */
    consumer_sign(&c, 4, c.bytes, owed(c.bytes) - 1, &c.digest, ALICE, NULL);
    const char *hdr_r[] = {"Bwc-Channel", c.id_hex, "Bwc-Receipt", c.b64, NULL};
    assert_int_equal(get(&main_relay, path, hdr_r, &r), 402);
    assert_string_equal(err_code(&r), "receipt-amount-too-low");
    resp_free(&r);
    /* 400: over the price ceiling, a bad signature, garbage, another channel. */
    consumer_sign(&c, 5, c.bytes, owed(c.bytes) + 1, &c.digest, ALICE, NULL);
    assert_int_equal(get(&main_relay, path, hdr_r, &r), 400);
    assert_string_equal(err_code(&r), "bad-receipt-over-price");
    resp_free(&r);
    consumer_sign(&c, 5, c.bytes, owed(c.bytes), &c.digest, BOB, NULL);
    assert_int_equal(get(&main_relay, path, hdr_r, &r), 400);
    assert_string_equal(err_code(&r), "bad-receipt-consumer-sig");
    resp_free(&r);
    const char *hdr_bad[] = {"Bwc-Channel", c.id_hex, "Bwc-Receipt", "oA", NULL};
    assert_int_equal(get(&main_relay, path, hdr_bad, &r), 400);
    resp_free(&r);
    const char *hdr_pad[] = {"Bwc-Channel", c.id_hex, "Bwc-Receipt", "oA==", NULL};
    assert_int_equal(get(&main_relay, path, hdr_pad, &r), 400);
    assert_string_equal(err_code(&r), "bad-receipt-encoding");
    resp_free(&r);
    consumer other;
    consumer_init(&other, &pool, 1);
    consumer_sign(&other, 2, c.bytes, owed(c.bytes), &c.digest, ALICE, NULL);
    const char *hdr_o[] = {"Bwc-Channel", c.id_hex, "Bwc-Receipt", other.b64, NULL};
    assert_int_equal(get(&main_relay, path, hdr_o, &r), 400);
    assert_string_equal(err_code(&r), "receipt-wrong-lane");
    resp_free(&r);
    /* 409: more bytes than served; a digest that is not the log's. */
    consumer_sign(&c, 5, c.bytes + 1, owed(c.bytes), &c.digest, ALICE, NULL);
    assert_int_equal(get(&main_relay, path, hdr_r, &r), 409);
    assert_string_equal(err_code(&r), "receipt-bytes-over-served");
    resp_free(&r);
    bwc_hash wrong = c.digest;
    wrong.b[0] ^= 1;
    consumer_sign(&c, 5, c.bytes, owed(c.bytes), &wrong, ALICE, NULL);
    assert_int_equal(get(&main_relay, path, hdr_r, &r), 409);
    assert_string_equal(err_code(&r), "receipt-digest");
    resp_free(&r);
    /* The right receipt opens the window again: chunk 2 on it, chunk 3 on the next seq at the
     * same point. */
    consumer_sign(&c, 5, c.bytes, owed(c.bytes), &c.digest, ALICE, NULL);
    get(&main_relay, path, hdr_r, &r);
    consumer_got(&c, &r, &cid, content, 2);
    resp_free(&r);
    bwc_hash d2; /* the point of seq 5: two chunks */
    memset(&d2, 0, sizeof d2);
    for (uint32_t i = 0; i < 2; i++)
        bwc_delivery_next(&d2, &cid, i, &chunk_hashes[i]);
    consumer_sign(&c, 6, 2 * KIB16, owed(2 * KIB16), &d2, ALICE, &raw);
    path_chunk(path, sizeof path, &cid, 3);
    get(&main_relay, path, hdr_r, &r);
    consumer_got(&c, &r, &cid, content, 3);
    resp_free(&r);
    /* seq not above the newest: 409; the newest again (POST): 200 with the lane. */
    bwc_buf raw2 = BWC_BUF_INIT;
    consumer_sign(&c, 6, c.bytes, owed(c.bytes), &c.digest, ALICE, &raw2);
    assert_int_equal(
        http(&main_relay, EVHTTP_REQ_POST, "/v1/receipt", NULL, raw2.data, raw2.len, &r), 409);
    assert_string_equal(err_code(&r), "receipt-seq");
    resp_free(&r);
    assert_int_equal(http(&main_relay, EVHTTP_REQ_POST, "/v1/receipt", NULL, raw.data, raw.len, &r),
                     200);
    o = json_loadb((const char *)r.body, r.len, 0, NULL);
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "bytes_served")), 4 * KIB16);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "receipt"), "seq")), 6);
    assert_int_equal(json_array_size(json_object_get(o, "log")), 2);
    json_decref(o);
    resp_free(&r);
    /* POST: the newer receipt for all four chunks; bytes or amount going down then 409. */
    consumer_sign(&c, 7, c.bytes, owed(c.bytes), &c.digest, ALICE, &raw2);
    assert_int_equal(
        http(&main_relay, EVHTTP_REQ_POST, "/v1/receipt", NULL, raw2.data, raw2.len, &r), 200);
    resp_free(&r);
    char newest_b64[sizeof c.b64]; /* seq 7, the lane's newest */
    memcpy(newest_b64, c.b64, sizeof newest_b64);
    consumer_sign(&c, 8, c.bytes - KIB16, owed(c.bytes - KIB16), &c.digest, ALICE, &raw2);
    assert_int_equal(
        http(&main_relay, EVHTTP_REQ_POST, "/v1/receipt", NULL, raw2.data, raw2.len, &r), 409);
    assert_string_equal(err_code(&r), "receipt-bytes-down");
    resp_free(&r);
    consumer_sign(&c, 8, c.bytes, owed(c.bytes) - 1, &c.digest, ALICE, &raw2);
    assert_int_equal(
        http(&main_relay, EVHTTP_REQ_POST, "/v1/receipt", NULL, raw2.data, raw2.len, &r), 409);
    assert_string_equal(err_code(&r), "receipt-amount-down");
    resp_free(&r);
    assert_int_equal(http(&main_relay, EVHTTP_REQ_POST, "/v1/receipt", NULL, "\xa0", 1, &r), 400);
    resp_free(&r);
    /* The newest, which came by POST, on a chunk request: 409 receipt-replayed, nothing
     * served. The next seq at its point (same bytes, amount and digest) is served: the last
     * chunk. The channel view shows it. */
    memcpy(c.b64, newest_b64, sizeof c.b64);
    served_counters(&chunks1, &bytes1);
    path_chunk(path, sizeof path, &cid, 4);
    assert_int_equal(get(&main_relay, path, hdr_r, &r), 409);
    assert_string_equal(err_code(&r), "receipt-replayed");
    resp_free(&r);
    served_counters(&chunks2, &bytes2);
    assert_int_equal(chunks2, chunks1);
    assert_int_equal(bytes2, bytes1);
    consumer_sign(&c, 8, c.bytes, owed(c.bytes), &c.digest, ALICE, NULL);
    get(&main_relay, path, hdr_r, &r);
    consumer_got(&c, &r, &cid, content, 4);
    resp_free(&r);
    assert_int_equal(get(&main_relay, chpath, NULL, &r), 200);
    o = json_loadb((const char *)r.body, r.len, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(o, "bytes_served")), SIZE);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "receipt"), "seq")), 8);
    char dhex[65];
    bwc_hex_encode(dhex, c.digest.b, 32);
    assert_string_equal(json_string_value(json_object_get(o, "digest")), dhex);
    json_decref(o);
    resp_free(&r);
    /* Settlement: unsettled = owed(4 chunks) >= 10 receipt fees, so the next block settles it,
     * with the relay's signature; once handed over it is not handed over again. The seq 8
     * receipt sits at the point of seq 7: a higher seq supersedes on chain. */
    n_submitted = 0;
    height = 2;
    bwc_relay_on_block(main_relay.relay);
    assert_int_equal(n_submitted, 1);
    assert_int_equal(submitted[0].seq, 8);
    assert_int_equal(submitted[0].bytes, 4 * KIB16);
    assert_int_equal(submitted[0].amount, owed(4 * KIB16));
    bwc_channel ch;
    assert_int_equal(bwc_state_channel(&view, &channel, &ch), 1);
    assert_int_equal(ch.seq, 8);
    assert_int_equal(ch.claimed, owed(4 * KIB16));
    height = 3;
    bwc_relay_on_block(main_relay.relay);
    assert_int_equal(n_submitted, 1);
    json_t *st = bwc_relay_stats(main_relay.relay);
    json_t *earn = json_object_get(st, "earnings");
    assert_int_equal(json_integer_value(json_object_get(earn, "settled_balance")),
                     owed(4 * KIB16) - RFEE);
    assert_int_equal(json_integer_value(json_object_get(earn, "unsettled")), 0);
    json_decref(st);
    /* Restart (settling at 20 fees now): the lane, its receipt and log come back, and its
     * newest is still refused on a chunk request. */
    relay_close(&main_relay);
    bwc_relay_config cfg = base_config(main_relay.dir);
    cfg.free_ids = &cid_free;
    cfg.n_free = 1;
    cfg.settle_multiple = 20;
    relay_open(&main_relay, &cfg);
    assert_int_equal(get(&main_relay, chpath, NULL, &r), 200);
    o = json_loadb((const char *)r.body, r.len, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(o, "bytes_served")), SIZE);
    assert_string_equal(json_string_value(json_object_get(o, "digest")), dhex);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(o, "receipt"), "seq")), 8);
    assert_int_equal(json_array_size(json_object_get(o, "log")), 1);
    json_decref(o);
    resp_free(&r);
    assert_int_equal(n_submitted, 1); /* seq 8 is settled: nothing to hand over again */
    path_chunk(path, sizeof path, &cid, 0);
    assert_int_equal(get(&main_relay, path, hdr_r, &r), 409);
    assert_string_equal(err_code(&r), "receipt-replayed");
    resp_free(&r);
    /* The final receipt: 14672 units more, below 20 fees, so it waits until expiry. */
    consumer_sign(&c, 9, c.bytes, owed(c.bytes), &c.digest, ALICE, &raw2);
    assert_int_equal(
        http(&main_relay, EVHTTP_REQ_POST, "/v1/receipt", NULL, raw2.data, raw2.len, &r), 200);
    resp_free(&r);
    /* A receipt the chain is already past can never settle: 400. */
    consumer_sign(&c, 8, c.bytes, owed(c.bytes), &c.digest, ALICE, &raw2);
    assert_int_equal(
        http(&main_relay, EVHTTP_REQ_POST, "/v1/receipt", NULL, raw2.data, raw2.len, &r), 400);
    assert_string_equal(err_code(&r), "bad-receipt-seq");
    resp_free(&r);
    height = 10;
    bwc_relay_on_block(main_relay.relay);
    assert_int_equal(n_submitted, 1);
    st = bwc_relay_stats(main_relay.relay);
    earn = json_object_get(st, "earnings");
    assert_int_equal(json_integer_value(json_object_get(earn, "unsettled")),
                     owed(SIZE) - owed(4 * KIB16));
    json_decref(st);
    height = EXPIRY - 1; /* the next block is at expiry */
    bwc_relay_on_block(main_relay.relay);
    assert_int_equal(n_submitted, 2);
    assert_int_equal(submitted[1].seq, 9);
    assert_int_equal(submitted[1].bytes, SIZE);
    /* Past expiry nothing more is served. */
    path_chunk(path, sizeof path, &cid, 0);
    assert_int_equal(get(&main_relay, path, hdr, &r), 402);
    assert_string_equal(err_code(&r), "channel-expired");
    resp_free(&r);
    height = 1;
    bwc_buf_free(&raw);
    bwc_buf_free(&raw2);
}

static void test_pool(void **state)
{
    (void)state;
    resp r;
    consumer c;
    char path[200], alice[65], ticket[128];
    consumer_init(&c, &pool, 1);
    bwc_hex_encode(alice, pk[ALICE].b, 32);
    path_chunk(path, sizeof path, &cid, 0);
    const char *no_ticket[] = {"Bwc-Pool", c.id_hex, "Bwc-Consumer", alice, NULL};
    assert_int_equal(get(&main_relay, path, no_ticket, &r), 402);
    assert_string_equal(err_code(&r), "ticket-missing");
    resp_free(&r);
    const char *no_consumer[] = {"Bwc-Pool", c.id_hex, NULL};
    assert_int_equal(get(&main_relay, path, no_consumer, &r), 400);
    resp_free(&r);
    bwc_hash msg;
    bwc_sig sig;
    bwc_ticket_msg(&chain_id, &pool, &pk[ALICE], &msg);
    assert_true(bwc_sign(secp, &sig, sk[ORG], &msg, aux)); /* the wrong key */
    bwc_b64url_encode(ticket, sizeof ticket, sig.b, 64);
    const char *bad[] = {"Bwc-Pool", c.id_hex, "Bwc-Consumer", alice, "Bwc-Ticket", ticket, NULL};
    assert_int_equal(get(&main_relay, path, bad, &r), 400);
    assert_string_equal(err_code(&r), "bad-receipt-ticket");
    resp_free(&r);
    assert_true(bwc_sign(secp, &sig, sk[TICKETS], &msg, aux));
    bwc_b64url_encode(ticket, sizeof ticket, sig.b, 64);
    const char *ok[] = {"Bwc-Pool", c.id_hex, "Bwc-Consumer", alice, "Bwc-Ticket", ticket, NULL};
    /* A pool lane too is served only on a receipt signed by its consumer. */
    assert_int_equal(get(&main_relay, path, ok, &r), 402);
    assert_string_equal(err_code(&r), "receipt-required");
    assert_string_equal(r.served, "0");
    resp_free(&r);
    static const bwc_hash zero;
    consumer_sign(&c, 1, 0, 0, &zero, BOB, NULL);
    const char *opening[] = {"Bwc-Pool", c.id_hex,      "Bwc-Consumer", alice, "Bwc-Ticket",
                             ticket,     "Bwc-Receipt", c.b64,          NULL};
    assert_int_equal(get(&main_relay, path, opening, &r), 400);
    assert_string_equal(err_code(&r), "bad-receipt-consumer-sig");
    resp_free(&r);
    /* The opening receipt, then the next seq at the same point for each request: the newest
     * again is 409 receipt-replayed on a pool lane too. */
    for (uint32_t i = 0; i < 2; i++) {
        consumer_sign(&c, i + 1, 0, 0, &zero, ALICE, NULL);
        path_chunk(path, sizeof path, &cid, i);
        get(&main_relay, path, opening, &r);
        consumer_got(&c, &r, &cid, content, i);
        resp_free(&r);
        path_chunk(path, sizeof path, &cid, i + 1);
        assert_int_equal(get(&main_relay, path, opening, &r), 409);
        assert_string_equal(err_code(&r), "receipt-replayed");
        resp_free(&r);
    }
    consumer_sign(&c, 3, 0, 0, &zero, ALICE, NULL);
    path_chunk(path, sizeof path, &cid, 2);
    assert_int_equal(get(&main_relay, path, opening, &r), 402);
    assert_string_equal(err_code(&r), "credit-window-exceeded");
    resp_free(&r);
    consumer_sign(&c, 4, c.bytes, owed(c.bytes), &c.digest, ALICE, NULL);
    const char *paid[] = {"Bwc-Pool", c.id_hex,      "Bwc-Consumer", alice, "Bwc-Ticket",
                          ticket,     "Bwc-Receipt", c.b64,          NULL};
    get(&main_relay, path, paid, &r);
    consumer_got(&c, &r, &cid, content, 2);
    resp_free(&r);
    /* Free content is served whatever payment comes with it. */
    path_chunk(path, sizeof path, &cid_free, 0);
    const char *h[] = {"Bwc-Pool", c.id_hex, "Bwc-Consumer", alice, "Bwc-Ticket", ticket, NULL};
    assert_int_equal(get(&main_relay, path, h, &r), 200); /* free content: served anyway */
    resp_free(&r);
    /* The pool lane is seen with Bwc-Consumer. */
    char chpath[200];
    snprintf(chpath, sizeof chpath, "/v1/channel/%s", c.id_hex);
    const char *who[] = {"Bwc-Consumer", alice, NULL};
    assert_int_equal(get(&main_relay, chpath, who, &r), 200);
    resp_free(&r);
    assert_int_equal(get(&main_relay, chpath, NULL, &r), 404);
    resp_free(&r);
}

static void test_rate_limit(void **state)
{
    (void)state;
    relay_t t;
    resp r;
    char path[200];
    memset(&t, 0, sizeof t);
    snprintf(t.dir, sizeof t.dir, "%s/rate", tmp);
    bwc_relay_config c = base_config(t.dir);
    c.rate = 2 * KIB16; /* two chunks a second */
    c.price = 0;        /* everything free */
    relay_open(&t, &c);
    char err[256];
    bwc_hash got;
    assert_int_equal(bwc_relay_import(t.relay, file2, 0, KIB16, &got, err, sizeof err), 0);
    path_chunk(path, sizeof path, &cid_free, 0);
    assert_int_equal(get(&t, path, NULL, &r), 200);
    resp_free(&r);
    assert_int_equal(get(&t, path, NULL, &r), 200);
    resp_free(&r);
    assert_int_equal(get(&t, path, NULL, &r), 429);
    assert_string_equal(err_code(&r), "rate-limited");
    assert_string_equal(r.retry_after, "1");
    resp_free(&r);
    now_ms += 400; /* 0.4 s: 13107 bytes back, not a chunk */
    assert_int_equal(get(&t, path, NULL, &r), 429);
    resp_free(&r);
    now_ms += 200;
    assert_int_equal(get(&t, path, NULL, &r), 200);
    resp_free(&r);
    relay_close(&t);
}

static void test_quota_persists(void **state)
{
    (void)state;
    relay_t t;
    resp r;
    char path[200];
    memset(&t, 0, sizeof t);
    snprintf(t.dir, sizeof t.dir, "%s/quota", tmp);
    bwc_relay_config c = base_config(t.dir);
    c.quota = 3 * KIB16;
    c.burst_quota = 5 * KIB16;
    c.price = 0;
    relay_open(&t, &c);
    char err[256];
    bwc_hash got;
    assert_int_equal(bwc_relay_import(t.relay, file2, 0, KIB16, &got, err, sizeof err), 0);
    path_chunk(path, sizeof path, &cid_free, 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(get(&t, path, NULL, &r), 200);
        resp_free(&r);
    }
    assert_int_equal(get(&t, path, NULL, &r), 503);
    assert_string_equal(err_code(&r), "quota-exhausted");
    unsigned long retry = strtoul(r.retry_after, NULL, 10);
    assert_true(retry > 0 && retry <= BWC_RELAY_PERIOD_SECONDS);
    resp_free(&r);
    /* Across a restart of the relay object the period's use is remembered. */
    relay_close(&t);
    now_ms += 1000;
    relay_open(&t, &c);
    assert_int_equal(get(&t, path, NULL, &r), 503);
    resp_free(&r);
    json_t *st = bwc_relay_stats(t.relay);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(st, "served"), "period_bytes")),
        3 * KIB16);
    json_decref(st);
    /* A burst window raises the ceiling to burst_quota, and is persisted too. */
    assert_int_equal(bwc_relay_burst(t.relay, 11, err, sizeof err), -1);
    assert_int_equal(bwc_relay_burst(t.relay, 12, err, sizeof err), 0);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(get(&t, path, NULL, &r), 200);
        resp_free(&r);
    }
    assert_int_equal(get(&t, path, NULL, &r), 503);
    resp_free(&r);
    relay_close(&t);
    relay_open(&t, &c);
    assert_int_equal(get(&t, "/v1/status", NULL, &r), 200);
    json_t *o = json_loadb((const char *)r.body, r.len, 0, NULL);
    assert_true(json_is_true(json_object_get(o, "burst_active")));
    assert_int_equal(json_integer_value(json_object_get(o, "used")), 5 * KIB16);
    json_decref(o);
    resp_free(&r);
    /* The next 30-day period starts afresh. */
    now_ms += (uint64_t)BWC_RELAY_PERIOD_SECONDS * 1000u;
    assert_int_equal(get(&t, path, NULL, &r), 200);
    resp_free(&r);
    relay_close(&t);
}

static void test_pull_through(void **state)
{
    (void)state;
    relay_t t;
    resp r;
    char path[200], peer[64], hex[65];
    memset(&t, 0, sizeof t);
    snprintf(t.dir, sizeof t.dir, "%s/edge", tmp);
    /* An edge relay whose only upstream is the main relay (which serves cid_free free), and a
     * dead one first. */
    bwc_relay_config c = base_config(t.dir);
    c.price = 0;
    snprintf(peer, sizeof peer, "http://127.0.0.1:%u", (unsigned)bwc_relay_port(main_relay.relay));
    const char *peers[] = {"http://127.0.0.1:1", peer};
    c.peers = peers;
    c.n_peers = 2;
    relay_open(&t, &c);
    path_chunk(path, sizeof path, &cid_free, 3);
    assert_int_equal(get(&t, path, NULL, &r), 200);
    assert_int_equal(r.len, KIB16);
    assert_memory_equal(r.body, content2 + 3 * KIB16, KIB16);
    resp_free(&r);
    /* Cached: the manifest and the chunk are now in the edge's store. */
    char f[700];
    bwc_hex_encode(hex, cid_free.b, 32);
    snprintf(f, sizeof f, "%s/chunks/%s/3", t.dir, hex);
    assert_int_equal(access(f, F_OK), 0);
    snprintf(path, sizeof path, "/v1/manifest/%s", hex);
    assert_int_equal(get(&t, path, NULL, &r), 200);
    resp_free(&r);
    /* Content the upstream only serves for payment: its manifest comes (free), the chunk is
     * refused (402) and the dead upstream makes it 503 rather than 404. */
    path_chunk(path, sizeof path, &cid, 0);
    assert_int_equal(get(&t, path, NULL, &r), 503);
    assert_string_equal(err_code(&r), "upstream-unavailable");
    resp_free(&r);
    relay_close(&t);
    /* A paid edge (the same relay key, its own lanes): a chunk it fetches is served on the
     * receipt the request brought, which it took before the request waited for the fetch. The
     * newest again is refused before anything is fetched, also when the request first waits
     * for a manifest. */
    memset(&t, 0, sizeof t);
    snprintf(t.dir, sizeof t.dir, "%s/edge-paid", tmp);
    c = base_config(t.dir);
    const char *live[] = {peer};
    c.peers = live;
    c.n_peers = 1;
    relay_open(&t, &c);
    static const bwc_hash zero;
    consumer k;
    consumer_init(&k, &channel2, 0);
    const char *pay[] = {"Bwc-Channel", k.id_hex, "Bwc-Receipt", k.b64, NULL};
    consumer_sign(&k, 1, 0, 0, &zero, ALICE, NULL);
    path_chunk(path, sizeof path, &cid_free, 0);
    assert_int_equal(get(&t, path, pay, &r), 200);
    assert_int_equal(r.len, KIB16);
    assert_memory_equal(r.body, content2, KIB16);
    assert_string_equal(r.served, "16384");
    resp_free(&r);
    path_chunk(path, sizeof path, &cid_free, 1);
    assert_int_equal(get(&t, path, pay, &r), 409);
    assert_string_equal(err_code(&r), "receipt-replayed");
    resp_free(&r);
    snprintf(f, sizeof f, "%s/chunks/%s/1", t.dir, hex);
    assert_int_equal(access(f, F_OK), -1); /* nothing fetched for it */
    consumer_sign(&k, 2, 0, 0, &zero, ALICE, NULL);
    assert_int_equal(get(&t, path, pay, &r), 200);
    assert_memory_equal(r.body, content2 + KIB16, KIB16);
    assert_string_equal(r.served, "32768");
    resp_free(&r);
    assert_int_equal(access(f, F_OK), 0);
    /* Content whose manifest the edge does not hold yet (the upstream gives it free). */
    path_chunk(path, sizeof path, &cid, 0);
    assert_int_equal(get(&t, path, pay, &r), 409);
    assert_string_equal(err_code(&r), "receipt-replayed");
    resp_free(&r);
    bwc_hex_encode(hex, cid.b, 32);
    snprintf(f, sizeof f, "%s/chunks/%s/manifest.cbor", t.dir, hex);
    assert_int_equal(access(f, F_OK), 0); /* the manifest came; no chunk was asked for */
    snprintf(f, sizeof f, "%s/chunks/%s/0", t.dir, hex);
    assert_int_equal(access(f, F_OK), -1);
    relay_close(&t);
    /* With only a dead upstream: 503 with Retry-After. */
    memset(&t, 0, sizeof t);
    snprintf(t.dir, sizeof t.dir, "%s/edge2", tmp);
    c = base_config(t.dir);
    c.price = 0;
    c.peers = peers;
    c.n_peers = 1;
    relay_open(&t, &c);
    path_chunk(path, sizeof path, &cid_free, 0);
    assert_int_equal(get(&t, path, NULL, &r), 503);
    assert_string_equal(err_code(&r), "upstream-unavailable");
    assert_true(atoi(r.retry_after) > 0);
    resp_free(&r);
    relay_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_and_manifest), cmocka_unit_test(test_chunk_errors),
        cmocka_unit_test(test_paid_channel),        cmocka_unit_test(test_pool),
        cmocka_unit_test(test_rate_limit),          cmocka_unit_test(test_quota_persists),
        cmocka_unit_test(test_pull_through),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
