/* test_download.c: bwc-wallet download: receipts chain and follow the price exactly, a bad chunk
 * gets no receipt, resynchronisation with a relay's view, relay choice by region, price and
 * capacity, chunk scheduling and answers, progress, the resume state (round trip and every kind
 * of corruption refused), and the transfer loop itself against in-process evhttp relays on
 * loopback (a relay sending a bad chunk is left unpaid for it and dropped; a resume fetches only
 * what is missing; a request asked again after a 402, a 429 or a broken connection carries a
 * fresh receipt, never one that went out before). */
#include "tests/unit/unit.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "consensus/hash.h"
#include "consensus/key.h"
#include "consensus/manifest.h"
#include "consensus/receipt.h"
#include "wallet/download.h"
#include "wallet/download_progress.h"
#include "common/base64url.h"
#include "wallet/download_receipt.h"
#include "wallet/download_sched.h"
#include "wallet/download_select.h"
#include "wallet/download_state.h"

static secp256k1_context *g_secp;
static const unsigned char SECRET[32] = {[31] = 0x11};
static const unsigned char OTHER_SECRET[32] = {[31] = 0x22};
static bwc_pubkey g_consumer, g_other;
static bwc_hash g_chain;

static int setup(void **state)
{
    static const unsigned char seed[32] = {9};
    (void)state;
    if (!(g_secp = bwc_secp_create(seed)) || !bwc_key_pubkey(g_secp, &g_consumer, SECRET) ||
        !bwc_key_pubkey(g_secp, &g_other, OTHER_SECRET))
        return -1;
    memset(g_chain.b, 0xc4, 32);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    bwc_secp_destroy(g_secp);
    return 0;
}

static void fill_hash(bwc_hash *h, unsigned char v)
{
    memset(h->b, v, 32);
}

/* A manifest over data (n bytes) in chunks of cs; the caller frees it. */
static void make_manifest(bwc_manifest *m, const unsigned char *data, size_t n, uint64_t cs,
                          bwc_hash *cid)
{
    bwc_result res;
    assert_true(bwc_manifest_begin(m, n, cs, &res));
    for (size_t i = 0; i < m->n_chunks; i++)
        assert_true(bwc_manifest_add_chunk(m, i, data + i * cs, bwc_manifest_chunk_len(m, i)));
    assert_true(bwc_manifest_content_id(m, cid));
}

static unsigned char *pattern(size_t n, unsigned seed)
{
    unsigned char *p = malloc(n);
    assert_non_null(p);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (unsigned char)(x >> 16);
    }
    return p;
}

static const unsigned char AUX[32] = {1, 2, 3};

/* ---- receipts ---- */

static void test_receipts_chain(void **state)
{
    (void)state;
    enum { CS = 16384, N = 5 * CS + 77 };
    unsigned char *data = pattern(N, 1);
    bwc_manifest m;
    bwc_hash cid, id, d, h, rid;
    bwc_pubkey relay;
    make_manifest(&m, data, N, CS, &cid);
    fill_hash(&id, 0x31);
    memset(relay.b, 0x32, 32);
    bwc_dl_channel c;
    bwc_dl_channel_init(&c, &id, &relay, 1000, 1000000);
    memset(d.b, 0, 32);
    uint64_t bytes = 0;
    const char *why;
    /* Chunks in any order: 3, 0, 5 (the short one), 1. */
    const uint32_t order[] = {3, 0, 5, 1};
    for (size_t k = 0; k < 4; k++) {
        uint32_t i = order[k];
        size_t len = (size_t)bwc_manifest_chunk_len(&m, i);
        assert_true(bwc_dl_pending_add(&c, i));
        assert_true(bwc_dl_chunk_verify(&m, i, data + (size_t)i * CS, len, &h));
        assert_true(
            bwc_dl_channel_countersign(&c, g_secp, SECRET, &g_chain, &cid, i, &h, len, AUX, &why));
        bytes += len;
        bwc_delivery_next(&d, &cid, i, &m.chunks[i]);
        assert_int_equal(c.newest.seq, k + 1);
        assert_int_equal(c.newest.bytes, bytes);
        assert_memory_equal(c.newest.digest.b, d.b, 32);
        assert_memory_equal(c.newest.channel.b, id.b, 32);
        assert_false(c.newest.is_pool);
        assert_false(c.newest.has_relay_sig);
        assert_int_equal(c.n_pending, 0);
        /* Signed by the consumer over receipt_id, and it decodes as sent. */
        bwc_receipt_id(&g_chain, &c.newest, &rid);
        assert_true(bwc_verify(g_secp, &c.newest.consumer_sig, &rid, &g_consumer));
        bwc_buf enc = BWC_BUF_INIT;
        bwc_receipt back;
        bwc_result res;
        assert_true(bwc_receipt_encode(&c.newest, &enc));
        assert_true(bwc_receipt_decode(&back, enc.data, enc.len, &res));
        assert_int_equal(back.seq, c.newest.seq);
        bwc_buf_free(&enc);
    }
    free(data);
    bwc_manifest_free(&m);
}

static void test_amounts_follow_price(void **state)
{
    (void)state;
    static const struct {
        uint64_t price, bytes, amount;
    } cases[] = {
        {1000, 1, 1},              /* ceil(1000 / 2^20) = 1 */
        {1000, 1048576, 1000},     /* exactly one MiB */
        {1000, 1048577, 1001},     /* one byte more rounds up */
        {100000, 5300000, 505448}, /* a real download */
        {1, 1048575, 1},
        {1, 1048576, 1},
        {1, 2097153, 3},
        {UINT64_MAX, 1048576, UINT64_MAX}, /* 128-bit arithmetic, no wrap */
    };
    bwc_hash id, cid, h;
    bwc_pubkey relay;
    const char *why;
    fill_hash(&id, 1);
    fill_hash(&cid, 2);
    fill_hash(&h, 3);
    memset(relay.b, 4, 32);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bwc_dl_channel c;
        bwc_receipt r;
        bwc_dl_channel_init(&c, &id, &relay, cases[i].price, UINT64_MAX);
        assert_true(bwc_dl_receipt_next(&c, &cid, 0, &h, cases[i].bytes, &r, &why));
        assert_int_equal(r.amount, cases[i].amount);
        uint64_t max;
        assert_true(bwc_receipt_max_amount(r.bytes, cases[i].price, &max));
        assert_int_equal(r.amount, max);
    }
    /* Cumulative: two half-MiB chunks at 3 units per MiB make 2 then 3, never 4. */
    bwc_dl_channel c;
    bwc_dl_channel_init(&c, &id, &relay, 3, 100);
    assert_true(
        bwc_dl_channel_countersign(&c, g_secp, SECRET, &g_chain, &cid, 0, &h, 524288, AUX, &why));
    assert_int_equal(c.newest.amount, 2);
    assert_true(
        bwc_dl_channel_countersign(&c, g_secp, SECRET, &g_chain, &cid, 1, &h, 524288, AUX, &why));
    assert_int_equal(c.newest.amount, 3);
    /* The deposit bounds it: refused, and the channel is unchanged. */
    bwc_dl_channel_init(&c, &id, &relay, 1000, 1500);
    assert_true(
        bwc_dl_channel_countersign(&c, g_secp, SECRET, &g_chain, &cid, 0, &h, 1048576, AUX, &why));
    bwc_dl_channel before = c;
    assert_false(
        bwc_dl_channel_countersign(&c, g_secp, SECRET, &g_chain, &cid, 1, &h, 1048576, AUX, &why));
    assert_string_equal(why, "over-deposit");
    assert_memory_equal(&before, &c, sizeof c);
    /* Byte counts that would wrap are refused. */
    bwc_dl_channel_init(&c, &id, &relay, 1, UINT64_MAX);
    assert_true(bwc_dl_channel_countersign(&c, g_secp, SECRET, &g_chain, &cid, 0, &h,
                                           UINT64_MAX - 5, AUX, &why));
    bwc_receipt r;
    assert_false(bwc_dl_receipt_next(&c, &cid, 1, &h, 10, &r, &why));
    assert_string_equal(why, "overflow");
}

static void test_opening_receipt(void **state)
{
    (void)state;
    enum { CS = 16384, N = 2 * CS };
    unsigned char *data = pattern(N, 4);
    bwc_manifest m;
    bwc_hash cid, id, rid, h;
    bwc_pubkey relay;
    bwc_receipt r;
    const char *why;
    make_manifest(&m, data, N, CS, &cid);
    fill_hash(&id, 0x41);
    memset(relay.b, 0x42, 32);
    bwc_dl_channel c;
    bwc_dl_channel_init(&c, &id, &relay, 1000, 1000000);
    /* A fresh channel opens at the start: seq 1, bytes 0, amount 0, digest 0^32. */
    assert_true(bwc_dl_receipt_opening(&c, &r, &why));
    assert_memory_equal(r.channel.b, id.b, 32);
    assert_int_equal(r.seq, 1);
    assert_int_equal(r.bytes, 0);
    assert_int_equal(r.amount, 0);
    assert_true(bwc_hash_is_zero(&r.digest));
    assert_true(bwc_dl_channel_sign_opening(&c, g_secp, SECRET, &g_chain, AUX, &why));
    assert_true(c.has_receipt && c.unsent);
    assert_int_equal(c.newest.seq, 1);
    bwc_receipt_id(&g_chain, &c.newest, &rid);
    assert_true(bwc_verify(g_secp, &c.newest.consumer_sig, &rid, &g_consumer));
    /* After a chunk: the next seq at the newest point, nothing new. */
    assert_true(bwc_dl_chunk_verify(&m, 0, data, CS, &h));
    assert_true(
        bwc_dl_channel_countersign(&c, g_secp, SECRET, &g_chain, &cid, 0, &h, CS, AUX, &why));
    assert_int_equal(c.newest.seq, 2);
    bwc_receipt after = c.newest;
    assert_true(bwc_dl_receipt_opening(&c, &r, &why));
    assert_int_equal(r.seq, 3);
    assert_int_equal(r.bytes, after.bytes);
    assert_int_equal(r.amount, after.amount);
    assert_memory_equal(r.digest.b, after.digest.b, 32);
    /* A receipt adopted from elsewhere (the relay, the journal) is not unsent. */
    bwc_dl_channel_adopt(&c, &after);
    assert_false(c.unsent);
    /* seq cannot pass 2^64 - 1. */
    c.newest.seq = UINT64_MAX;
    bwc_dl_channel keep = c;
    assert_false(bwc_dl_receipt_opening(&c, &r, &why));
    assert_string_equal(why, "overflow");
    assert_false(bwc_dl_channel_sign_opening(&c, g_secp, SECRET, &g_chain, AUX, &why));
    assert_memory_equal(&keep, &c, sizeof c);
    free(data);
    bwc_manifest_free(&m);
}

static void test_bad_chunk_gets_no_receipt(void **state)
{
    (void)state;
    enum { CS = 16384, N = 3 * CS };
    unsigned char *data = pattern(N, 2);
    bwc_manifest m;
    bwc_hash cid, h;
    make_manifest(&m, data, N, CS, &cid);
    assert_true(bwc_dl_chunk_verify(&m, 1, data + CS, CS, &h));
    assert_memory_equal(h.b, m.chunks[1].b, 32);
    data[CS + 100] ^= 1; /* one bit */
    assert_false(bwc_dl_chunk_verify(&m, 1, data + CS, CS, &h));
    assert_true(bwc_hash_is_zero(&h));
    data[CS + 100] ^= 1;
    assert_false(bwc_dl_chunk_verify(&m, 1, data + CS, CS - 1, &h)); /* short */
    assert_false(bwc_dl_chunk_verify(&m, 0, data + CS, CS, &h));     /* another chunk's bytes */
    assert_false(bwc_dl_chunk_verify(&m, 3, data, CS, &h));          /* past the end */
    free(data);
    bwc_manifest_free(&m);
}

static void test_pending_list(void **state)
{
    (void)state;
    bwc_dl_channel c;
    bwc_hash id;
    bwc_pubkey relay;
    fill_hash(&id, 1);
    memset(relay.b, 2, 32);
    bwc_dl_channel_init(&c, &id, &relay, 1, 1);
    for (uint32_t i = 0; i < BWC_DL_MAX_PENDING; i++)
        assert_true(bwc_dl_pending_add(&c, i * 10));
    assert_true(bwc_dl_pending_add(&c, 30)); /* already there */
    assert_false(bwc_dl_pending_add(&c, 999));
    bwc_dl_pending_remove(&c, 30);
    bwc_dl_pending_remove(&c, 12345); /* absent: nothing */
    assert_int_equal(c.n_pending, BWC_DL_MAX_PENDING - 1);
    assert_int_equal(c.pending[3], 40);
}

/* ---- resynchronisation ---- */

typedef struct {
    bwc_manifest m;
    bwc_hash cid;
    unsigned char *data;
    bwc_dl_channel c;
} sync_fixture;

enum { SCS = 16384, SN = 8 * SCS };

static void sync_setup(sync_fixture *f)
{
    bwc_hash id;
    bwc_pubkey relay;
    f->data = pattern(SN, 3);
    make_manifest(&f->m, f->data, SN, SCS, &f->cid);
    fill_hash(&id, 0x51);
    memset(relay.b, 0x52, 32);
    bwc_dl_channel_init(&f->c, &id, &relay, 1000, 1000000);
}

static void sync_free(sync_fixture *f)
{
    free(f->data);
    bwc_manifest_free(&f->m);
}

/* Countersigns chunk i on c. */
static void sign_chunk(sync_fixture *f, bwc_dl_channel *c, uint32_t i)
{
    const char *why;
    assert_true(bwc_dl_channel_countersign(c, g_secp, SECRET, &g_chain, &f->cid, i, &f->m.chunks[i],
                                           bwc_manifest_chunk_len(&f->m, i), AUX, &why));
}

/* A relay view holding receipt r (or none) and deliveries of chunks idx[0..n) after it. */
static void make_view(sync_fixture *f, bwc_dl_relay_view *v, const bwc_receipt *r,
                      const uint32_t *idx, size_t n)
{
    memset(v, 0, sizeof *v);
    v->found = 1;
    uint64_t bytes = 0;
    bwc_hash d;
    memset(d.b, 0, 32);
    if (r) {
        v->has_receipt = 1;
        v->receipt = *r;
        bytes = r->bytes;
        d = r->digest;
    }
    v->log = calloc(n ? n : 1, sizeof *v->log);
    for (size_t k = 0; k < n; k++) {
        bytes += bwc_manifest_chunk_len(&f->m, idx[k]);
        bwc_delivery_next(&d, &f->cid, idx[k], &f->m.chunks[idx[k]]);
        v->log[k].bytes_after = bytes;
        v->log[k].content_id = f->cid;
        v->log[k].index = idx[k];
        v->log[k].chunk_hash = f->m.chunks[idx[k]];
        v->log[k].digest_after = d;
    }
    v->n_log = n;
    v->served = bytes;
}

static int resync(sync_fixture *f, bwc_dl_channel *c, const bwc_dl_relay_view *v, bwc_receipt *next,
                  int *need, const char **why)
{
    return bwc_dl_channel_resync(c, g_secp, &g_chain, &g_consumer, &f->m, &f->cid, v, next, need,
                                 why);
}

static void test_resync_lost_chunk_is_paid(void **state)
{
    (void)state;
    sync_fixture f;
    bwc_dl_relay_view v;
    bwc_receipt next;
    int need;
    const char *why;
    sync_setup(&f);
    sign_chunk(&f, &f.c, 0);
    sign_chunk(&f, &f.c, 1);
    /* Chunk 2 asked, sent by the relay, lost on the way. */
    assert_true(bwc_dl_pending_add(&f.c, 2));
    static const uint32_t lost[] = {2};
    make_view(&f, &v, &f.c.newest, lost, 1);
    assert_true(resync(&f, &f.c, &v, &next, &need, &why));
    assert_true(need);
    assert_int_equal(next.seq, 3);
    assert_int_equal(next.bytes, 3 * SCS);
    assert_int_equal(next.amount, (3 * SCS * 1000 + (1 << 20) - 1) >> 20);
    assert_memory_equal(next.digest.b, v.log[0].digest_after.b, 32);
    assert_int_equal(f.c.n_pending, 0);
    /* bwc_dl_reconcile signs it and makes it the newest. */
    bwc_dl_channel c2 = f.c;
    bwc_dl_channel_init(&c2, &f.c.id, &f.c.relay, 1000, 1000000);
    sign_chunk(&f, &c2, 0);
    sign_chunk(&f, &c2, 1);
    assert_true(bwc_dl_pending_add(&c2, 2));
    assert_true(
        bwc_dl_reconcile(&c2, g_secp, &g_chain, SECRET, &g_consumer, &f.m, &f.cid, &v, &why));
    assert_int_equal(c2.newest.seq, 3);
    assert_int_equal(c2.newest.bytes, 3 * SCS);
    bwc_hash rid;
    bwc_receipt_id(&g_chain, &c2.newest, &rid);
    assert_true(bwc_verify(g_secp, &c2.newest.consumer_sig, &rid, &g_consumer));
    bwc_dl_relay_view_free(&v);

    /* Without the request on record the same log is refused: never pay for what was not asked. */
    bwc_dl_channel c3;
    bwc_dl_channel_init(&c3, &f.c.id, &f.c.relay, 1000, 1000000);
    sign_chunk(&f, &c3, 0);
    make_view(&f, &v, &c3.newest, lost, 1);
    bwc_dl_channel keep = c3;
    assert_false(resync(&f, &c3, &v, &next, &need, &why));
    assert_string_equal(why, "unrequested-delivery");
    assert_memory_equal(&keep, &c3, sizeof c3);
    bwc_dl_relay_view_free(&v);
    sync_free(&f);
}

static void test_resync_relay_receipt_newer(void **state)
{
    (void)state;
    sync_fixture f;
    bwc_dl_relay_view v;
    bwc_receipt next;
    int need;
    const char *why;
    sync_setup(&f);
    /* What we signed and sent, then lost with a crash: the state still says seq 1. */
    bwc_dl_channel sent = f.c;
    sign_chunk(&f, &sent, 0);
    bwc_dl_channel saved = sent;
    sign_chunk(&f, &sent, 1);
    sign_chunk(&f, &sent, 2);
    make_view(&f, &v, &sent.newest, NULL, 0);
    v.receipt.has_relay_sig = 1; /* the relay may have added its own: we drop it */
    assert_true(resync(&f, &saved, &v, &next, &need, &why));
    assert_false(need);
    assert_int_equal(saved.newest.seq, 3);
    assert_int_equal(saved.newest.bytes, 3 * SCS);
    assert_false(saved.newest.has_relay_sig);
    bwc_dl_relay_view_free(&v);

    /* Our receipt newer than the relay's: kept, as long as it sits on the relay's log. */
    bwc_dl_channel older = f.c;
    sign_chunk(&f, &older, 0);
    static const uint32_t two[] = {1, 2};
    make_view(&f, &v, &older.newest, two, 2);
    bwc_dl_channel ours = sent; /* seq 3 at chunk 2's point */
    assert_true(resync(&f, &ours, &v, &next, &need, &why));
    assert_false(need);
    assert_int_equal(ours.newest.seq, 3);
    /* ... and refused when the digest at that point differs. */
    v.log[1].digest_after.b[0] ^= 1;
    ours = sent;
    assert_false(resync(&f, &ours, &v, &next, &need, &why));
    assert_string_equal(why, "digest-mismatch");
    bwc_dl_relay_view_free(&v);

    /* The relay holds our opening receipt (bytes 0) and a delivery after it; our state lost
     * both (a crash) but has the request on record: the opening receipt is adopted and the lost
     * chunk paid for. */
    bwc_dl_channel opened = f.c;
    assert_true(bwc_dl_channel_sign_opening(&opened, g_secp, SECRET, &g_chain, AUX, &why));
    static const uint32_t first[] = {0};
    make_view(&f, &v, &opened.newest, first, 1);
    bwc_dl_channel crashed = f.c;
    assert_true(bwc_dl_pending_add(&crashed, 0));
    assert_true(resync(&f, &crashed, &v, &next, &need, &why));
    assert_true(need);
    assert_int_equal(next.seq, 2);
    assert_int_equal(next.bytes, SCS);
    assert_memory_equal(next.digest.b, v.log[0].digest_after.b, 32);
    /* With the opening receipt in our state too, the same. */
    assert_true(bwc_dl_pending_add(&opened, 0));
    assert_true(resync(&f, &opened, &v, &next, &need, &why));
    assert_true(need);
    assert_int_equal(next.seq, 2);
    bwc_dl_relay_view_free(&v);

    /* A relay receipt not signed by us is refused. */
    bwc_dl_channel foreign = f.c;
    const char *w2;
    assert_true(bwc_dl_channel_countersign(&foreign, g_secp, OTHER_SECRET, &g_chain, &f.cid, 0,
                                           &f.m.chunks[0], SCS, AUX, &w2));
    make_view(&f, &v, &foreign.newest, NULL, 0);
    bwc_dl_channel mine = f.c;
    assert_false(resync(&f, &mine, &v, &next, &need, &why));
    assert_string_equal(why, "relay-receipt-bad-sig");
    bwc_dl_relay_view_free(&v);
    sync_free(&f);
}

static void test_resync_refusals(void **state)
{
    (void)state;
    sync_fixture f;
    bwc_dl_relay_view v;
    bwc_receipt next;
    int need;
    const char *why;
    sync_setup(&f);
    /* The relay forgot what we hold a receipt for. */
    bwc_dl_channel c = f.c;
    sign_chunk(&f, &c, 0);
    memset(&v, 0, sizeof v);
    assert_false(resync(&f, &c, &v, &next, &need, &why));
    assert_string_equal(why, "relay-served-below-receipt");
    /* An empty relay and a fresh channel agree. */
    c = f.c;
    assert_true(resync(&f, &c, &v, &next, &need, &why));
    assert_false(need);
    /* A log that does not reach bytes_served. */
    static const uint32_t one[] = {0};
    c = f.c;
    assert_true(bwc_dl_pending_add(&c, 0));
    make_view(&f, &v, NULL, one, 1);
    v.served += 5;
    assert_false(resync(&f, &c, &v, &next, &need, &why));
    assert_string_equal(why, "log-incomplete");
    bwc_dl_relay_view_free(&v);
    /* A logged hash that is not the manifest's. */
    make_view(&f, &v, NULL, one, 1);
    v.log[0].chunk_hash.b[3] ^= 1;
    assert_false(resync(&f, &c, &v, &next, &need, &why));
    assert_string_equal(why, "log-mismatch");
    bwc_dl_relay_view_free(&v);
    /* Another content in the log. */
    make_view(&f, &v, NULL, one, 1);
    v.log[0].content_id.b[0] ^= 1;
    assert_false(resync(&f, &c, &v, &next, &need, &why));
    assert_string_equal(why, "unrequested-delivery");
    bwc_dl_relay_view_free(&v);
    /* A lost chunk the deposit cannot pay for. */
    c.deposit = 0;
    make_view(&f, &v, NULL, one, 1);
    assert_false(resync(&f, &c, &v, &next, &need, &why));
    assert_string_equal(why, "over-deposit");
    bwc_dl_relay_view_free(&v);
    /* Pending chunks the log does not show were never served: cleared. */
    c = f.c;
    assert_true(bwc_dl_pending_add(&c, 4));
    memset(&v, 0, sizeof v);
    assert_true(resync(&f, &c, &v, &next, &need, &why));
    assert_int_equal(c.n_pending, 0);
    sync_free(&f);
}

static void test_view_parse(void **state)
{
    (void)state;
    sync_fixture f;
    bwc_dl_relay_view v;
    char err[256], hex[65], b64[1024];
    sync_setup(&f);
    bwc_dl_channel c = f.c;
    sign_chunk(&f, &c, 0);
    bwc_buf enc = BWC_BUF_INIT;
    assert_true(bwc_receipt_encode(&c.newest, &enc));
    assert_true(bwc_b64url_encode(b64, sizeof b64, enc.data, enc.len) > 0);
    bwc_buf_free(&enc);
    bwc_hex_encode(hex, c.id.b, 32);
    char chash[65], cid[65];
    bwc_hex_encode(chash, f.m.chunks[1].b, 32);
    bwc_hex_encode(cid, f.cid.b, 32);
    json_t *o =
        json_pack("{s:s,s:b,s:I,s:{s:I,s:s},s:[{s:I,s:s,s:I,s:s,s:s}]}", "channel", hex, "pool", 0,
                  "bytes_served", (json_int_t)(2 * SCS), "receipt", "seq", (json_int_t)1, "receipt",
                  b64, "log", "bytes_after", (json_int_t)(2 * SCS), "content_id", cid, "index",
                  (json_int_t)1, "chunk_hash", chash, "digest_after", chash);
    assert_non_null(o);
    assert_true(bwc_dl_relay_view_parse(&v, o, &c.id, err, sizeof err));
    assert_true(v.found && v.has_receipt);
    assert_int_equal(v.served, 2 * SCS);
    assert_int_equal(v.receipt.seq, 1);
    assert_int_equal(v.n_log, 1);
    assert_int_equal(v.log[0].index, 1);
    bwc_dl_relay_view_free(&v);
    /* About another channel. */
    bwc_hash other = c.id;
    other.b[0] ^= 1;
    assert_false(bwc_dl_relay_view_parse(&v, o, &other, err, sizeof err));
    /* A receipt that is not base64url, and one that does not decode. */
    json_object_set_new(json_object_get(o, "receipt"), "receipt", json_string("a+b/"));
    assert_false(bwc_dl_relay_view_parse(&v, o, &c.id, err, sizeof err));
    json_object_set_new(json_object_get(o, "receipt"), "receipt", json_string("AAAA"));
    assert_false(bwc_dl_relay_view_parse(&v, o, &c.id, err, sizeof err));
    json_object_set_new(o, "receipt", json_null());
    assert_true(bwc_dl_relay_view_parse(&v, o, &c.id, err, sizeof err));
    assert_false(v.has_receipt);
    bwc_dl_relay_view_free(&v);
    /* A malformed log entry. */
    json_object_set_new(json_array_get(json_object_get(o, "log"), 0), "index", json_integer(-1));
    assert_false(bwc_dl_relay_view_parse(&v, o, &c.id, err, sizeof err));
    json_decref(o);
    sync_free(&f);
}

static void test_b64url(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } v[] = {{"", ""},        {"f", "Zg"},        {"fo", "Zm8"},
             {"foo", "Zm9v"}, {"foob", "Zm9vYg"}, {"\xfb\xff", "-_8"}};
    char buf[64];
    unsigned char back[64];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t n = strlen(v[i].in);
        assert_int_equal(bwc_b64url_encode(buf, sizeof buf, v[i].in, n), strlen(v[i].out));
        assert_string_equal(buf, v[i].out);
        assert_int_equal(bwc_b64url_decode(back, sizeof back, v[i].out), (long)n);
        assert_memory_equal(back, v[i].in, n);
    }
    assert_int_equal(bwc_b64url_decode(back, sizeof back, "Zg=="), -1); /* padding */
    assert_int_equal(bwc_b64url_decode(back, sizeof back, "Zm9v+"), -1);
    assert_int_equal(bwc_b64url_decode(back, sizeof back, "Z"), -1);  /* 1 mod 4 */
    assert_int_equal(bwc_b64url_decode(back, sizeof back, "Zh"), -1); /* unused bits set */
    assert_int_equal(bwc_b64url_decode(back, 2, "Zm9v"), -1);         /* does not fit */
    assert_int_equal(bwc_b64url_encode(buf, 4, "foo", 3), 0);         /* no room for NUL */
}

/* ---- relay choice ---- */

static bwc_dl_relay relay(unsigned char key, const char *region, uint64_t price, uint64_t rate,
                          uint64_t quota)
{
    bwc_dl_relay r;
    memset(&r, 0, sizeof r);
    memset(r.key.b, key, 32);
    snprintf(r.region, sizeof r.region, "%s", region);
    r.price = price;
    r.rate = rate;
    r.quota = quota;
    return r;
}

static void test_select_region_price_capacity(void **state)
{
    (void)state;
    bwc_dl_relay r[] = {
        relay(1, "DE", 2000, 0, 100),    /* DE, dear */
        relay(2, "US", 500, 0, 100),     /* cheapest, elsewhere */
        relay(3, "DE", 1000, 1000, 100), /* DE, cheap, slow */
        relay(4, "DE", 1000, 0, 100),    /* DE, cheap, unlimited rate */
        relay(5, "FR", 5000, 0, 100),    /* dearest */
        relay(6, "DE", 1000, 0, 200),    /* as 4 with a larger quota */
    };
    size_t n = sizeof r / sizeof r[0];
    size_t e = bwc_dl_relay_rank(r, n, "DE", 0, 0);
    assert_int_equal(e, n);
    const unsigned char want[] = {6, 4, 3, 1, 2, 5};
    for (size_t i = 0; i < n; i++)
        assert_int_equal(r[i].key.b[0], want[i]);
    /* Without a region: price first. */
    e = bwc_dl_relay_rank(r, n, NULL, 0, 0);
    const unsigned char want2[] = {2, 6, 4, 3, 1, 5};
    for (size_t i = 0; i < n; i++)
        assert_int_equal(r[i].key.b[0], want2[i]);
    /* --max-price: the dearer ones go to the end and do not count. */
    e = bwc_dl_relay_rank(r, n, "DE", 1, 1000);
    assert_int_equal(e, 4);
    const unsigned char want3[] = {6, 4, 3, 2};
    for (size_t i = 0; i < e; i++)
        assert_int_equal(r[i].key.b[0], want3[i]);
    for (size_t i = e; i < n; i++)
        assert_true(r[i].price > 1000);
    assert_int_equal(bwc_dl_relay_rank(r, n, NULL, 1, 100), 0);
    /* Equal in everything but the key: the key decides, so the order is repeatable. */
    bwc_dl_relay a = relay(7, "ZZ", 1, 0, 1), b = relay(8, "ZZ", 1, 0, 1);
    assert_true(bwc_dl_relay_compare(&a, &b, NULL) < 0);
    assert_true(bwc_dl_relay_compare(&b, &a, NULL) > 0);
    assert_int_equal(bwc_dl_relay_compare(&a, &a, NULL), 0);
}

static void test_endpoint_parse(void **state)
{
    (void)state;
    char host[64];
    uint16_t port;
    assert_true(bwc_dl_endpoint_parse("http://127.0.0.1:18745", host, sizeof host, &port));
    assert_string_equal(host, "127.0.0.1");
    assert_int_equal(port, 18745);
    assert_true(bwc_dl_endpoint_parse("http://relay.example.org:80", host, sizeof host, &port));
    assert_string_equal(host, "relay.example.org");
    assert_true(bwc_dl_endpoint_parse("http://[::1]:65535", host, sizeof host, &port));
    assert_string_equal(host, "::1");
    assert_int_equal(port, 65535);
    static const char *bad[] = {"https://a:1",    "http://a",       "http://a:",  "http://a:0",
                                "http://a:65536", "http://a:080",   "http://:80", "http://a:1/x",
                                "http://a:b:1",   "http://[::1]80", "http://a:1x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(bwc_dl_endpoint_parse(bad[i], host, sizeof host, &port));
    assert_false(bwc_dl_endpoint_parse("http://averylonghostname:1", host, 8, &port));
}

static void test_relay_from_json(void **state)
{
    (void)state;
    char err[256];
    bwc_dl_relay r;
    json_t *o = json_pack("{s:s,s:s,s:s,s:i,s:i,s:s}", "address",
                          "dbwc10xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq54886f",
                          "endpoint", "http://127.0.0.1:18745", "region", "DE", "price", 1000,
                          "rate", 0, "quota", "1099511627776");
    assert_true(bwc_dl_relay_from_json(&r, o, g_secp, "dbwc", err, sizeof err));
    assert_int_equal(r.price, 1000);
    assert_int_equal(r.quota, 1099511627776ull);
    assert_int_equal(r.port, 18745);
    assert_string_equal(r.region, "DE");
    assert_false(bwc_dl_relay_from_json(&r, o, g_secp, "bwc", err, sizeof err)); /* other chain */
    json_object_set_new(o, "endpoint", json_string("ftp://x:1"));
    assert_false(bwc_dl_relay_from_json(&r, o, g_secp, "dbwc", err, sizeof err));
    json_decref(o);
}

static void test_channel_usable(void **state)
{
    (void)state;
    bwc_dl_channel_info c;
    bwc_pubkey relay_key;
    const char *why;
    memset(&c, 0, sizeof c);
    memset(relay_key.b, 7, 32);
    c.consumer = g_consumer;
    c.relay = relay_key;
    c.deposit = 2000;
    c.price = 1000;
    c.expiry = 1000;
    c.open = 1;
    c.base_bytes = 1048576; /* 1000 units used */
    assert_true(bwc_dl_channel_usable(&c, &g_consumer, &relay_key, 1000, 500, 1048576, &why));
    assert_false(bwc_dl_channel_usable(&c, &g_consumer, &relay_key, 1000, 500, 1048577, &why));
    assert_string_equal(why, "deposit-low");
    assert_false(bwc_dl_channel_usable(&c, &g_consumer, &relay_key, 1001, 500, 1, &why));
    assert_string_equal(why, "price-below-relay");
    assert_false(bwc_dl_channel_usable(&c, &g_consumer, &relay_key, 1000,
                                       1000 - BWC_DL_MIN_BLOCKS_LEFT + 1, 1, &why));
    assert_string_equal(why, "near-expiry");
    assert_true(bwc_dl_channel_usable(&c, &g_consumer, &relay_key, 1000,
                                      1000 - BWC_DL_MIN_BLOCKS_LEFT, 1, &why));
    assert_false(bwc_dl_channel_usable(&c, &g_other, &relay_key, 1000, 500, 1, &why));
    assert_string_equal(why, "wrong-parties");
    c.open = 0;
    assert_false(bwc_dl_channel_usable(&c, &g_consumer, &relay_key, 1000, 500, 1, &why));
    assert_string_equal(why, "closed");
    /* Shares and default deposits. */
    assert_int_equal(bwc_dl_need_bytes(10 * 16384 + 5, 3, 16384), 4 * 16384);
    assert_int_equal(bwc_dl_need_bytes(100, 1, 16384), 100);
    assert_int_equal(bwc_dl_need_bytes(100, 0, 16384), 100);
    uint64_t dep;
    assert_true(bwc_dl_default_deposit(5300000, 262144, 100000, 1000, &dep));
    assert_int_equal(dep, 530448);
    assert_true(bwc_dl_default_deposit(1, 16384, 1, 1000, &dep));
    assert_int_equal(dep, 10000); /* at least 10 receipt fees */
    assert_false(bwc_dl_default_deposit(UINT64_MAX, 16384, 1, 1000, &dep));
}

/* ---- scheduling, answers, progress ---- */

static void test_sched(void **state)
{
    (void)state;
    enum { CS = 16384, N = 10 * CS + 1 };
    unsigned char *data = pattern(N, 4);
    bwc_manifest m;
    bwc_hash cid;
    bwc_dl_sched s;
    make_manifest(&m, data, N, CS, &cid);
    unsigned char bm[2] = {0x05, 0x04}; /* chunks 0, 2 and 10 done */
    assert_true(bwc_dl_sched_init(&s, &m, bm));
    assert_int_equal(s.n_done, 3);
    assert_int_equal(s.bytes_done, 2 * CS + 1);
    assert_int_equal(bwc_dl_sched_take(&s), 1);
    assert_int_equal(bwc_dl_sched_take(&s), 3);
    assert_int_equal(bwc_dl_sched_take(&s), 4);
    bwc_dl_sched_release(&s, 3); /* a relay failed: it comes back first */
    assert_int_equal(bwc_dl_sched_take(&s), 3);
    bwc_dl_sched_done(&s, 1);
    bwc_dl_sched_done(&s, 1); /* twice: counted once */
    assert_int_equal(s.n_done, 4);
    long got;
    size_t taken = 0;
    while ((got = bwc_dl_sched_take(&s)) >= 0) {
        bwc_dl_sched_done(&s, (size_t)got);
        taken++;
    }
    assert_int_equal(taken, 5); /* 5..9 */
    assert_false(bwc_dl_sched_complete(&s));
    bwc_dl_sched_done(&s, 3);
    bwc_dl_sched_done(&s, 4);
    assert_true(bwc_dl_sched_complete(&s));
    assert_int_equal(s.bytes_done, N);
    bwc_dl_sched_undo(&s, 7);
    assert_false(bwc_dl_sched_complete(&s));
    assert_int_equal(bwc_dl_sched_take(&s), 7);
    unsigned char out[2];
    bwc_dl_sched_bitmap(&s, out);
    assert_int_equal(out[0], 0x7f);
    assert_int_equal(out[1], 0x07);
    bwc_dl_sched_free(&s);
    free(data);
    bwc_manifest_free(&m);
}

static void test_classify(void **state)
{
    (void)state;
    assert_int_equal(bwc_dl_classify(200, NULL), BWC_DL_ACT_OK);
    assert_int_equal(bwc_dl_classify(409, "receipt-seq"), BWC_DL_ACT_RESYNC);
    assert_int_equal(bwc_dl_classify(402, "credit-window-exceeded"), BWC_DL_ACT_RESYNC);
    assert_int_equal(bwc_dl_classify(402, "payment-required"), BWC_DL_ACT_RESYNC);
    assert_int_equal(bwc_dl_classify(402, ""), BWC_DL_ACT_RESYNC);
    assert_int_equal(bwc_dl_classify(402, "channel-unknown"), BWC_DL_ACT_WAIT);
    assert_int_equal(bwc_dl_classify(402, "deposit-exhausted"), BWC_DL_ACT_DROP);
    assert_int_equal(bwc_dl_classify(402, "channel-expired"), BWC_DL_ACT_DROP);
    assert_int_equal(bwc_dl_classify(400, "bad-receipt-consumer-sig"), BWC_DL_ACT_RESYNC);
    assert_int_equal(bwc_dl_classify(400, "receipt-wrong-lane"), BWC_DL_ACT_RESYNC);
    assert_int_equal(bwc_dl_classify(400, "bad-payment-headers"), BWC_DL_ACT_DROP);
    assert_int_equal(bwc_dl_classify(404, "not-found"), BWC_DL_ACT_DROP);
    assert_int_equal(bwc_dl_classify(416, NULL), BWC_DL_ACT_DROP);
    assert_int_equal(bwc_dl_classify(429, "rate-limited"), BWC_DL_ACT_WAIT);
    assert_int_equal(bwc_dl_classify(503, "quota-exhausted"), BWC_DL_ACT_WAIT);
    assert_int_equal(bwc_dl_classify(500, NULL), BWC_DL_ACT_WAIT);
    assert_int_equal(bwc_dl_classify(0, NULL), BWC_DL_ACT_WAIT);
    assert_int_equal(bwc_dl_classify(301, NULL), BWC_DL_ACT_DROP);
    assert_int_equal(bwc_dl_backoff_ms(1), 500);
    assert_int_equal(bwc_dl_backoff_ms(2), 1000);
    assert_int_equal(bwc_dl_backoff_ms(7), 30000);
    assert_int_equal(bwc_dl_backoff_ms(1000), 30000);
    uint64_t s;
    assert_true(bwc_dl_retry_after("120", &s));
    assert_int_equal(s, 120);
    assert_false(bwc_dl_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", &s));
    assert_false(bwc_dl_retry_after("-1", &s));
    assert_false(bwc_dl_retry_after("", &s));
    assert_false(bwc_dl_retry_after(NULL, &s));
    assert_false(bwc_dl_retry_after("+5", &s));
    assert_false(bwc_dl_retry_after("12345678901", &s)); /* too long: a backoff instead */
    assert_true(bwc_dl_retry_after("0", &s));
    assert_int_equal(s, 0);

    /* what a download spent on a channel */
    bwc_dl_channel c;
    memset(&c, 0, sizeof c);
    c.start_amount = 100;
    assert_int_equal(bwc_dl_channel_spent(&c), 0); /* no receipt */
    c.has_receipt = 1;
    c.newest.amount = 100;
    assert_int_equal(bwc_dl_channel_spent(&c), 0);
    c.newest.amount = 350;
    assert_int_equal(bwc_dl_channel_spent(&c), 250);
    c.start_amount = 400; /* inconsistent: never wraps */
    assert_int_equal(bwc_dl_channel_spent(&c), 0);
}

static void test_progress(void **state)
{
    (void)state;
    char b[256];
    bwc_dl_format_bytes(b, sizeof b, 512);
    assert_string_equal(b, "512 B");
    bwc_dl_format_bytes(b, sizeof b, 1536);
    assert_string_equal(b, "1.50 KiB");
    bwc_dl_format_bytes(b, sizeof b, 27u << 20);
    assert_string_equal(b, "27.0 MiB");
    bwc_dl_format_bytes(b, sizeof b, 300ull << 30);
    assert_string_equal(b, "300 GiB");
    bwc_dl_format_eta(b, sizeof b, 7);
    assert_string_equal(b, "0:07");
    bwc_dl_format_eta(b, sizeof b, 3723);
    assert_string_equal(b, "1:02:03");
    bwc_dl_format_eta(b, sizeof b, UINT64_MAX);
    assert_string_equal(b, "--:--");

    bwc_dl_progress p;
    bwc_dl_progress_init(&p, 10u << 20, 0, 1000);
    assert_true(bwc_dl_progress_due(&p, 1000, 1));
    assert_false(bwc_dl_progress_due(&p, 1050, 1)); /* at most 10 a second */
    assert_true(bwc_dl_progress_due(&p, 1100, 1));
    assert_false(bwc_dl_progress_due(&p, 5000, 0)); /* lines: every 5 s */
    assert_true(bwc_dl_progress_due(&p, 6100, 0));
    /* 1 MiB/s for 4 s. */
    for (uint64_t t = 0; t <= 4000; t += 250)
        bwc_dl_progress_update(&p, t * 1048576 / 1000, 1000 + t);
    assert_int_equal(bwc_dl_progress_rate(&p, 5000), 1048576);
    bwc_dl_progress_format(b, sizeof b, &p, 5000, 3, 0);
    assert_string_equal(b, "download: 40% (4.00 MiB of 10.0 MiB), 1.00 MiB/s, ETA 0:06, 3 relays");
    bwc_dl_progress_format(b, sizeof b, &p, 5000, 1, 80);
    assert_true(strlen(b) <= 79);
    assert_non_null(strstr(b, "[====>"));
    /* The bar keeps its length while the numbers change. */
    char b2[256];
    bwc_dl_progress_update(&p, 10u << 20, 9000);
    bwc_dl_progress_format(b2, sizeof b2, &p, 9000, 1, 80);
    assert_int_equal(strlen(b2), strlen(b));
    assert_int_equal(strchr(b2, ']') - b2, strchr(b, ']') - b);
    assert_non_null(strstr(b2, "100%"));
    assert_non_null(strstr(b, " 40%"));
    assert_non_null(strstr(b, "1 relay"));
    bwc_dl_progress_format(b, sizeof b, &p, 5000, 2, 30); /* too narrow for a bar */
    assert_null(strchr(b, '['));
}

/* ---- the resume state ---- */

static void make_state(bwc_dl_state *s, sync_fixture *f)
{
    assert_true(bwc_dl_state_init(s, &g_chain, &f->cid, &g_consumer, SN, SCS));
    bwc_dl_bitmap_set(s->verified, 0);
    bwc_dl_bitmap_set(s->verified, 5);
    bwc_dl_channel c = f->c;
    sign_chunk(f, &c, 0);
    sign_chunk(f, &c, 5);
    c.start_amount = 12;
    assert_true(bwc_dl_pending_add(&c, 6));
    assert_true(bwc_dl_pending_add(&c, 2));
    assert_int_equal(bwc_dl_state_add(s, &c), 0);
    bwc_dl_channel fresh;
    bwc_hash id2;
    fill_hash(&id2, 0x77);
    bwc_dl_channel_init(&fresh, &id2, &f->c.relay, 5, 6);
    fresh.caught = 1; /* its relay sent a bad chunk */
    assert_int_equal(bwc_dl_state_add(s, &fresh), 1);
}

static int decode_state(const bwc_buf *b, bwc_dl_state *out, const char **why)
{
    return bwc_dl_state_decode(out, b->data, b->len, g_secp, &g_chain, why);
}

/* Replaces the checksum after an edit, so the decoder's later checks are reached. */
static void reseal(bwc_buf *b)
{
    bwc_hash sum;
    bwc_sha256(&sum, b->data, b->len - 32);
    memcpy(b->data + b->len - 32, sum.b, 32);
}

static void test_state_round_trip(void **state)
{
    (void)state;
    sync_fixture f;
    bwc_dl_state s, back;
    bwc_buf b = BWC_BUF_INIT, b2 = BWC_BUF_INIT;
    const char *why;
    sync_setup(&f);
    make_state(&s, &f);
    assert_true(bwc_dl_state_encode(&s, &b));
    assert_memory_equal(b.data, BWC_DL_STATE_MAGIC, 8);
    assert_true(decode_state(&b, &back, &why));
    assert_memory_equal(back.content_id.b, f.cid.b, 32);
    assert_memory_equal(back.consumer.b, g_consumer.b, 32);
    assert_int_equal(back.size, SN);
    assert_int_equal(back.n_chunks, 8);
    assert_int_equal(back.verified[0], 0x21);
    assert_int_equal(back.n_channels, 2);
    const bwc_dl_channel *c = &back.channels[0];
    assert_true(c->has_receipt);
    assert_int_equal(c->newest.seq, 2);
    assert_int_equal(c->newest.bytes, 2 * SCS);
    assert_int_equal(c->start_amount, 12);
    assert_int_equal(c->n_pending, 2);
    assert_int_equal(c->pending[0], 6);
    assert_int_equal(c->pending[1], 2);
    assert_memory_equal(&c->newest, &s.channels[0].newest, sizeof c->newest);
    assert_false(c->caught);
    assert_false(back.channels[1].has_receipt);
    assert_int_equal(back.channels[1].deposit, 6);
    assert_true(back.channels[1].caught);
    assert_int_equal(bwc_dl_state_find(&back, &back.channels[1].id), 1);
    /* Encoding the decoded state gives the same bytes. */
    assert_true(bwc_dl_state_encode(&back, &b2));
    assert_int_equal(b2.len, b.len);
    assert_memory_equal(b2.data, b.data, b.len);

    /* Through a file. */
    char dir[] = "/tmp/bwc-test-dl-XXXXXX", path[128], err[256];
    int missing;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/f.part.state", dir);
    bwc_dl_state_free(&back);
    assert_int_equal(bwc_dl_state_load(path, &back, g_secp, &g_chain, &missing, err, sizeof err),
                     -1);
    assert_true(missing);
    assert_int_equal(bwc_dl_state_save(path, &s, 1, err, sizeof err), 0);
    assert_int_equal(bwc_dl_state_load(path, &back, g_secp, &g_chain, &missing, err, sizeof err),
                     0);
    assert_int_equal(back.n_channels, 2);
    bwc_dl_state_free(&back);
    /* A corrupted file is refused with its name. */
    int fd = open(path, O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, "X", 1, 20), 1);
    close(fd);
    assert_int_equal(bwc_dl_state_load(path, &back, g_secp, &g_chain, &missing, err, sizeof err),
                     -1);
    assert_false(missing);
    assert_non_null(strstr(err, "corrupted"));
    unlink(path);
    rmdir(dir);

    bwc_buf_free(&b);
    bwc_buf_free(&b2);
    bwc_dl_state_free(&s);
    sync_free(&f);
}

static void test_state_corruption_refused(void **state)
{
    (void)state;
    sync_fixture f;
    bwc_dl_state s, back;
    bwc_buf b = BWC_BUF_INIT;
    const char *why;
    sync_setup(&f);
    make_state(&s, &f);
    assert_true(bwc_dl_state_encode(&s, &b));
    /* Every single changed byte, and every truncation, is caught. */
    for (size_t i = 0; i < b.len; i++) {
        b.data[i] ^= 0x40;
        assert_false(decode_state(&b, &back, &why));
        assert_null(back.verified);
        b.data[i] ^= 0x40;
    }
    for (size_t n = 0; n < b.len; n++) {
        bwc_buf t = {b.data, n, n, 0};
        assert_false(decode_state(&t, &back, &why));
    }
    /* Another chain's state. */
    bwc_hash other = g_chain;
    other.b[0] ^= 1;
    assert_false(bwc_dl_state_decode(&back, b.data, b.len, g_secp, &other, &why));
    assert_string_equal(why, "state-other-chain");

    /* Edits behind a valid checksum: the content checks. The bitmap of 8 chunks is one byte
     * (0x21) right before key 7 (07 82: two channels). */
    size_t at = 0;
    for (size_t i = 8; i + 2 < b.len; i++)
        if (b.data[i] == 0x41 && b.data[i + 1] == 0x21 && b.data[i + 2] == 0x07)
            at = i + 1;
    assert_true(at > 0);
    b.data[at] = 0x23; /* chunk 1 verified too: still a valid state */
    reseal(&b);
    assert_true(decode_state(&b, &back, &why));
    assert_int_equal(back.verified[0], 0x23);
    bwc_dl_state_free(&back);
    /* The receipt's consumer signature: the last byte of the first receipt's bstr. */
    bwc_buf enc = BWC_BUF_INIT;
    assert_true(bwc_receipt_encode(&s.channels[0].newest, &enc));
    size_t rpos = 0;
    for (size_t i = 0; i + enc.len <= b.len; i++)
        if (!memcmp(b.data + i, enc.data, enc.len))
            rpos = i;
    assert_true(rpos > 0);
    b.data[rpos + enc.len - 1] ^= 1;
    reseal(&b);
    assert_false(decode_state(&b, &back, &why));
    assert_string_equal(why, "state-bad-receipt-sig");
    b.data[rpos + enc.len - 1] ^= 1;
    bwc_buf_free(&enc);
    reseal(&b);
    assert_true(decode_state(&b, &back, &why));
    bwc_dl_state_free(&back);

    /* Semantic errors, built through the encoder. */
    bwc_dl_state t;
    bwc_buf e = BWC_BUF_INIT;
    /* A pending chunk past the end. */
    make_state(&t, &f);
    t.channels[0].pending[0] = 8;
    assert_true(bwc_dl_state_encode(&t, &e));
    assert_false(decode_state(&e, &back, &why));
    assert_string_equal(why, "state-bad-channel");
    bwc_buf_reset(&e);
    /* The same pending chunk twice. */
    t.channels[0].pending[0] = 2;
    assert_true(bwc_dl_state_encode(&t, &e));
    assert_false(decode_state(&e, &back, &why));
    bwc_buf_reset(&e);
    t.channels[0].pending[0] = 6;
    /* A bit past the last chunk: 9 chunks' bitmap is 2 bytes, the 7 spare bits must be 0. */
    bwc_dl_state_free(&t);
    assert_true(bwc_dl_state_init(&t, &g_chain, &f.cid, &g_consumer, 8 * SCS + 1, SCS));
    t.verified[1] = 0x02;
    assert_true(bwc_dl_state_encode(&t, &e));
    assert_false(decode_state(&e, &back, &why));
    assert_string_equal(why, "state-bad-bitmap");
    bwc_buf_reset(&e);
    t.verified[1] = 0x01;
    assert_true(bwc_dl_state_encode(&t, &e));
    assert_true(decode_state(&e, &back, &why));
    bwc_dl_state_free(&back);
    bwc_buf_reset(&e);
    /* The same channel twice. */
    bwc_dl_state_free(&t);
    make_state(&t, &f);
    t.channels[1].id = t.channels[0].id;
    assert_true(bwc_dl_state_encode(&t, &e));
    assert_false(decode_state(&e, &back, &why));
    assert_string_equal(why, "state-duplicate-channel");
    bwc_buf_reset(&e);
    /* A receipt over its deposit. */
    bwc_dl_state_free(&t);
    make_state(&t, &f);
    t.channels[0].deposit = t.channels[0].newest.amount - 1;
    assert_true(bwc_dl_state_encode(&t, &e));
    assert_false(decode_state(&e, &back, &why));
    assert_string_equal(why, "state-bad-receipt");
    bwc_buf_reset(&e);
    /* A chunk size no manifest has. */
    bwc_dl_state_free(&t);
    make_state(&t, &f);
    t.chunk_size = 1000;
    assert_true(bwc_dl_state_encode(&t, &e));
    assert_false(decode_state(&e, &back, &why));
    assert_string_equal(why, "state-bad-size");
    bwc_buf_reset(&e);
    /* Too many channels are never written (the API refuses the 65th). */
    bwc_dl_state_free(&t);
    make_state(&t, &f);
    bwc_dl_channel extra = t.channels[1];
    while (t.n_channels < BWC_DL_STATE_MAX_CHANNELS) {
        extra.id.b[0]++;
        assert_true(bwc_dl_state_add(&t, &extra) >= 0);
    }
    assert_int_equal(bwc_dl_state_add(&t, &extra), -1);

    bwc_buf_free(&e);
    bwc_dl_state_free(&t);
    bwc_buf_free(&b);
    bwc_dl_state_free(&s);
    sync_free(&f);
}

/* Pool lanes (PROTOCOL.md §3.3, §5.1): every receipt is a pool receipt (keys 5 consumer, 7 relay,
 * 6 ticket when the pool has a ticket key) with the same cumulative rules at the pool's price,
 * and each (pool, consumer, relay) lane keeps its own seq, bytes, amount and digest. */
static void test_pool_receipts(void **state)
{
    (void)state;
    enum { CS = 16384, N = 4 * CS + 99 };
    unsigned char *data = pattern(N, 7);
    bwc_manifest m;
    bwc_hash cid, pool, h, rid, d[2];
    bwc_pubkey relay[2];
    bwc_sig ticket;
    bwc_dl_channel lane[2];
    uint64_t bytes[2] = {0, 0}, max;
    const char *why;
    make_manifest(&m, data, N, CS, &cid);
    fill_hash(&pool, 0x51);
    memset(ticket.b, 0x5e, 64);
    for (int k = 0; k < 2; k++) {
        memset(relay[k].b, 0x60 + k, 32);
        memset(d[k].b, 0, 32);
        bwc_dl_channel_init(&lane[k], &pool, &relay[k], 3000, 1000000);
        bwc_dl_channel_set_pool(&lane[k], &g_consumer, k == 0 ? ticket.b : NULL);
    }
    /* The opening receipt is a pool receipt at zero. */
    bwc_receipt r;
    assert_true(bwc_dl_receipt_opening(&lane[0], &r, &why));
    assert_true(r.is_pool && r.has_ticket);
    assert_int_equal(r.seq, 1);
    assert_int_equal(r.bytes, 0);
    assert_int_equal(r.amount, 0);
    assert_true(bwc_hash_is_zero(&r.digest));
    assert_memory_equal(r.channel.b, pool.b, 32);
    assert_memory_equal(r.consumer.b, g_consumer.b, 32);
    assert_memory_equal(r.relay.b, relay[0].b, 32);
    assert_memory_equal(r.ticket.b, ticket.b, 64);
    assert_true(bwc_dl_channel_owns(&lane[0], &r));
    assert_false(bwc_dl_channel_owns(&lane[1], &r)); /* another relay's lane */
    /* Chunks 0, 2 to lane 0 and 1, 3, 4 to lane 1: per-lane cumulative receipts. */
    const uint32_t order[] = {0, 1, 2, 3, 4};
    for (size_t j = 0; j < 5; j++) {
        uint32_t i = order[j];
        int k = i == 0 || i == 2 ? 0 : 1;
        size_t len = (size_t)bwc_manifest_chunk_len(&m, i);
        assert_true(bwc_dl_chunk_verify(&m, i, data + (size_t)i * CS, len, &h));
        assert_true(bwc_dl_channel_countersign(&lane[k], g_secp, SECRET, &g_chain, &cid, i, &h, len,
                                               AUX, &why));
        bytes[k] += len;
        bwc_delivery_next(&d[k], &cid, i, &m.chunks[i]);
        const bwc_receipt *n = &lane[k].newest;
        assert_true(bwc_receipt_max_amount(bytes[k], 3000, &max));
        assert_int_equal(n->bytes, bytes[k]);
        assert_int_equal(n->amount, max); /* at the pool's price */
        assert_memory_equal(n->digest.b, d[k].b, 32);
        /* Encoded, it carries keys 5 and 7 (and 6 on the ticketed lane) and decodes back. */
        bwc_buf enc = BWC_BUF_INIT;
        bwc_receipt back;
        bwc_result res;
        assert_true(bwc_receipt_encode(n, &enc));
        assert_true(bwc_receipt_decode(&back, enc.data, enc.len, &res));
        assert_true(back.is_pool);
        assert_int_equal(back.has_ticket, k == 0);
        assert_memory_equal(back.channel.b, pool.b, 32);
        assert_memory_equal(back.consumer.b, g_consumer.b, 32);
        assert_memory_equal(back.relay.b, relay[k].b, 32);
        if (k == 0)
            assert_memory_equal(back.ticket.b, ticket.b, 64);
        bwc_receipt_id(&g_chain, &back, &rid);
        assert_true(bwc_verify(g_secp, &back.consumer_sig, &rid, &g_consumer));
        bwc_buf_free(&enc);
    }
    assert_int_equal(lane[0].newest.seq, 2);
    assert_int_equal(lane[1].newest.seq, 3);
    /* The per-lane limit holds as for a channel's deposit. */
    lane[1].deposit = lane[1].newest.amount;
    assert_false(bwc_dl_receipt_next(&lane[1], &cid, 0, &m.chunks[0], CS, &r, &why));
    assert_string_equal(why, "over-deposit");
    /* A channel receipt is not a pool lane's, nor the reverse. */
    bwc_dl_channel ch;
    bwc_dl_channel_init(&ch, &pool, &relay[0], 3000, 1000000);
    assert_false(bwc_dl_channel_owns(&ch, &lane[0].newest));
    assert_false(bwc_dl_channel_owns(&lane[0], &(bwc_receipt){.channel = pool}));
    free(data);
    bwc_manifest_free(&m);
}

/* The state file (version 2) keeps pool lanes: two lanes of one pool (one per relay), their
 * kind and ticket; a pool receipt in a channel lane, or the reverse, is refused. */
static void test_state_pool_lanes(void **state)
{
    (void)state;
    enum { CS = 16384, N = 3 * CS };
    unsigned char *data = pattern(N, 9);
    bwc_manifest m;
    bwc_hash cid, pool, h;
    bwc_pubkey relay[2];
    bwc_sig ticket;
    bwc_dl_state s, t;
    const char *why;
    make_manifest(&m, data, N, CS, &cid);
    fill_hash(&pool, 0x71);
    memset(ticket.b, 0x7e, 64);
    assert_true(bwc_dl_state_init(&s, &g_chain, &cid, &g_consumer, N, CS));
    for (int k = 0; k < 2; k++) {
        bwc_dl_channel c;
        memset(relay[k].b, 0x80 + k, 32);
        bwc_dl_channel_init(&c, &pool, &relay[k], 2000, 500000);
        bwc_dl_channel_set_pool(&c, &g_consumer, k == 0 ? ticket.b : NULL);
        size_t len = (size_t)bwc_manifest_chunk_len(&m, (uint32_t)k);
        assert_true(bwc_dl_chunk_verify(&m, (uint32_t)k, data + (size_t)k * CS, len, &h));
        assert_true(bwc_dl_channel_countersign(&c, g_secp, SECRET, &g_chain, &cid, (uint32_t)k, &h,
                                               len, AUX, &why));
        assert_int_equal(bwc_dl_state_add(&s, &c), k);
    }
    assert_int_equal(bwc_dl_state_find_lane(&s, &pool, 1, &relay[1]), 1);
    assert_int_equal(bwc_dl_state_find_lane(&s, &pool, 0, &relay[1]), -1);
    bwc_buf b = BWC_BUF_INIT;
    assert_true(bwc_dl_state_encode(&s, &b));
    assert_true(bwc_dl_state_decode(&t, b.data, b.len, g_secp, &g_chain, &why));
    assert_int_equal(t.n_channels, 2);
    for (int k = 0; k < 2; k++) {
        assert_true(t.channels[k].is_pool);
        assert_int_equal(t.channels[k].has_ticket, k == 0);
        assert_memory_equal(t.channels[k].consumer.b, g_consumer.b, 32);
        assert_memory_equal(t.channels[k].relay.b, relay[k].b, 32);
        assert_memory_equal(&t.channels[k].newest, &s.channels[k].newest, sizeof(bwc_receipt));
    }
    assert_memory_equal(t.channels[0].ticket.b, ticket.b, 64);
    bwc_dl_state_free(&t);
    bwc_buf_free(&b);
    /* The same lane twice is refused; a channel lane holding a pool receipt too. */
    s.channels[1].relay = relay[0];
    s.channels[1].newest.relay = relay[0];
    assert_true(bwc_dl_state_encode(&s, &b));
    assert_false(bwc_dl_state_decode(&t, b.data, b.len, g_secp, &g_chain, &why));
    bwc_buf_free(&b);
    s.n_channels = 1;
    s.channels[0].is_pool = 0;
    assert_true(bwc_dl_state_encode(&s, &b));
    assert_false(bwc_dl_state_decode(&t, b.data, b.len, g_secp, &g_chain, &why));
    assert_string_equal(why, "state-bad-receipt");
    bwc_buf_free(&b);
    bwc_dl_state_free(&s);
    free(data);
    bwc_manifest_free(&m);
}

/* ---- the transfer loop against in-process relays ---- */

/* A relay of PROTOCOL.md §8 on a loopback evhttp listener, strict about receipts: it serves a
 * paid request only with a Bwc-Receipt (402 receipt-required, doc/relay.md), refuses its newest
 * receipt again on a chunk request (409 receipt-replayed; by POST it is 200), and refuses one
 * (409) whose seq does not grow, whose bytes pass what it served, whose digest differs at one
 * of its points, whose amount is not exactly ceil(bytes x price / 2^20), or whose signature is
 * not the consumer's. GET /v1/channel/{id} shows its view for a resync. corrupt_nth: the n-th
 * chunk it serves (from 0) has a flipped bit. refuse_at / drop_at: the chunk request of that
 * number (from 1) takes its receipt, then gets refuse_status (402 credit-window-exceeded, or
 * 429 rate-limited with Retry-After: 0) / no answer at all (the connection closes; with
 * drop_served the chunk was counted as sent first). */
#define STUB_MAX_POINTS 256
typedef struct {
    struct event_base *base;
    struct evhttp *http;
    uint16_t port;
    const unsigned char *data;
    const bwc_manifest *m;
    bwc_hash cid;
    uint64_t price;
    int corrupt_nth;
    unsigned n_served;
    uint64_t served;
    uint64_t pt_bytes[STUB_MAX_POINTS];
    bwc_hash pt_digest[STUB_MAX_POINTS];
    uint32_t pt_index[STUB_MAX_POINTS];
    size_t n_points;
    int has_receipt;
    bwc_receipt newest;
    unsigned refused, posts, chunk_requests;
    unsigned unreceipted; /* paid requests without Bwc-Receipt (refused) */
    int has_first;
    bwc_receipt first;           /* the receipt of the first chunk request */
    uint64_t corrupt_bytes;      /* served bytes after the corrupted chunk, 0 when none */
    unsigned refuse_at, drop_at; /* 0: never */
    int refuse_status;           /* 402 (the default) or 429 */
    int drop_served;
    unsigned replayed;      /* chunk requests that brought the newest again (refused) */
    unsigned views;         /* GET /v1/channel */
    unsigned refusals_made; /* 402s of refuse_at, dropped connections of drop_at */
    /* A sponsor pool's relay: chunk requests must carry Bwc-Pool (pool), Bwc-Consumer (our key,
     * hex) and Bwc-Ticket (when has_ticket), and every receipt must be a pool receipt of that
     * pool for our key and this relay's key (key), with the ticket; GET /v1/channel needs
     * Bwc-Consumer. */
    int is_pool;
    bwc_hash pool;
    bwc_pubkey key;
    int has_ticket;
    bwc_sig ticket;
    unsigned bad_pool_headers; /* pool requests refused for their headers */
} stub_relay;

/* 200, 400 or 409; chunk: the receipt came with a chunk request. */
static int stub_intake(stub_relay *s, const unsigned char *raw, size_t len, int chunk)
{
    bwc_receipt r;
    bwc_result res;
    bwc_hash rid;
    uint64_t max;
    int placed = 0;
    if (!bwc_receipt_decode(&r, raw, len, &res))
        return 400;
    bwc_receipt_id(&g_chain, &r, &rid);
    if (!bwc_verify(g_secp, &r.consumer_sig, &rid, &g_consumer) ||
        !bwc_receipt_max_amount(r.bytes, s->price, &max) || r.amount != max)
        return 400;
    if (s->is_pool && (!r.is_pool || memcmp(r.channel.b, s->pool.b, 32) != 0 ||
                       memcmp(r.consumer.b, g_consumer.b, 32) != 0 ||
                       memcmp(r.relay.b, s->key.b, 32) != 0 || !r.has_ticket != !s->has_ticket ||
                       (s->has_ticket && memcmp(r.ticket.b, s->ticket.b, 64) != 0)))
        return 400;
    if (!s->is_pool && r.is_pool)
        return 400;
    if (s->has_receipt && !memcmp(&r, &s->newest, sizeof r)) {
        if (chunk)
            s->replayed++;
        return chunk ? 409 : 200;
    }
    if (r.bytes > s->served || (s->has_receipt && r.seq <= s->newest.seq))
        return 409;
    for (size_t i = 0; i < s->n_points; i++)
        if (s->pt_bytes[i] == r.bytes)
            placed = !memcmp(s->pt_digest[i].b, r.digest.b, 32);
    if (!placed && !(r.bytes == 0 && bwc_hash_is_zero(&r.digest)))
        return 409;
    s->newest = r;
    s->has_receipt = 1;
    return 200;
}

/* The chunk it serves: the log point after it. */
static void stub_point(stub_relay *s, uint32_t idx)
{
    bwc_hash d = s->n_points ? s->pt_digest[s->n_points - 1] : (bwc_hash){{0}};
    bwc_delivery_next(&d, &s->cid, idx, &s->m->chunks[idx]);
    s->served += bwc_manifest_chunk_len(s->m, idx);
    assert_true(s->n_points < STUB_MAX_POINTS);
    s->pt_bytes[s->n_points] = s->served;
    s->pt_digest[s->n_points] = d;
    s->pt_index[s->n_points++] = idx;
}

/* GET /v1/channel/{id}: served, the newest receipt and the deliveries after it. */
static void stub_view(stub_relay *s, struct evhttp_request *req, const char *id_hex)
{
    char hex[65], b64[2 * BWC_RECEIPT_MAX_BYTES];
    s->views++;
    if (!s->served && !s->has_receipt) {
        struct evbuffer *b = evbuffer_new();
        evbuffer_add_printf(b, "{\"error\":{\"code\":\"not-found\",\"message\":\"x\"}}");
        evhttp_send_reply(req, 404, "Not Found", b);
        evbuffer_free(b);
        return;
    }
    json_t *o = json_object();
    json_object_set_new(o, "channel", json_string(id_hex));
    json_object_set_new(o, "bytes_served", json_integer((json_int_t)s->served));
    if (s->has_receipt) {
        bwc_buf enc = BWC_BUF_INIT;
        assert_true(bwc_receipt_encode(&s->newest, &enc));
        assert_true(bwc_b64url_encode(b64, sizeof b64, enc.data, enc.len) > 0);
        bwc_buf_free(&enc);
        json_t *rc = json_object();
        json_object_set_new(rc, "seq", json_integer((json_int_t)s->newest.seq));
        json_object_set_new(rc, "bytes", json_integer((json_int_t)s->newest.bytes));
        json_object_set_new(rc, "receipt", json_string(b64));
        json_object_set_new(o, "receipt", rc);
    } else {
        json_object_set_new(o, "receipt", json_null());
    }
    json_t *log = json_array();
    uint64_t base = s->has_receipt ? s->newest.bytes : 0;
    for (size_t i = 0; i < s->n_points; i++) {
        if (s->pt_bytes[i] <= base)
            continue;
        json_t *e = json_object();
        json_object_set_new(e, "bytes_after", json_integer((json_int_t)s->pt_bytes[i]));
        bwc_hex_encode(hex, s->cid.b, 32);
        json_object_set_new(e, "content_id", json_string(hex));
        json_object_set_new(e, "index", json_integer(s->pt_index[i]));
        bwc_hex_encode(hex, s->m->chunks[s->pt_index[i]].b, 32);
        json_object_set_new(e, "chunk_hash", json_string(hex));
        bwc_hex_encode(hex, s->pt_digest[i].b, 32);
        json_object_set_new(e, "digest_after", json_string(hex));
        json_array_append_new(log, e);
    }
    json_object_set_new(o, "log", log);
    char *text = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, text, strlen(text));
    free(text);
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

/* Closes the connection of a request left unanswered, outside libevent's HTTP callbacks. */
static void stub_hang_up(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    evhttp_connection_free(evhttp_request_get_connection(arg));
}

static void stub_error(struct evhttp_request *req, int status, const char *code)
{
    struct evbuffer *b = evbuffer_new();
    evbuffer_add_printf(b, "{\"error\":{\"code\":\"%s\",\"message\":\"x\"}}", code);
    evhttp_send_reply(req, status, "Error", b);
    evbuffer_free(b);
}

static void stub_cb(struct evhttp_request *req, void *arg)
{
    stub_relay *s = arg;
    const char *uri = evhttp_request_get_uri(req);
    char cid[65], prefix[128];
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    bwc_hex_encode(cid, s->cid.b, 32);
    snprintf(prefix, sizeof prefix, "/v1/chunk/%s/", cid);
    /* One write per answer, as the relay does (PERFORMANCE.md): with libevent's 16 KiB writes the
     * short tail of a chunk waits on Nagle and a delayed ACK, 40 ms a chunk. */
    bufferevent_set_max_single_write(
        evhttp_connection_get_bufferevent(evhttp_request_get_connection(req)), 1 << 20);
    if (evhttp_request_get_command(req) == EVHTTP_REQ_POST && !strcmp(uri, "/v1/receipt")) {
        struct evbuffer *body = evhttp_request_get_input_buffer(req);
        size_t n = evbuffer_get_length(body);
        unsigned char raw[BWC_RECEIPT_MAX_BYTES];
        s->posts++;
        if (n > sizeof raw) {
            stub_error(req, 400, "bad-receipt-oversize");
            return;
        }
        evbuffer_copyout(body, raw, n);
        int st = stub_intake(s, raw, n, 0);
        if (st != 200) {
            s->refused++;
            stub_error(req, st, "receipt-refused");
            return;
        }
        struct evbuffer *b = evbuffer_new();
        evbuffer_add_printf(b, "{}");
        evhttp_send_reply(req, 200, "OK", b);
        evbuffer_free(b);
        return;
    }
    if (!strncmp(uri, "/v1/channel/", 12) && strlen(uri) == 12 + 64) {
        char chex[65];
        const char *hc = evhttp_find_header(in, "Bwc-Consumer");
        bwc_hex_encode(chex, g_consumer.b, 32);
        if (s->is_pool && (!hc || strcmp(hc, chex) != 0)) { /* another consumer's lane */
            stub_error(req, 404, "not-found");
            return;
        }
        stub_view(s, req, uri + 12);
        return;
    }
    if (strncmp(uri, prefix, strlen(prefix)) != 0) {
        stub_error(req, 404, "not-found");
        return;
    }
    s->chunk_requests++;
    long idx = strtol(uri + strlen(prefix), NULL, 10);
    if (idx < 0 || (size_t)idx >= s->m->n_chunks) {
        stub_error(req, 416, "index-out-of-range");
        return;
    }
    if (s->is_pool) {
        char phex[65], chex[65], tb64[100];
        const char *hp = evhttp_find_header(in, "Bwc-Pool"),
                   *hc = evhttp_find_header(in, "Bwc-Consumer");
        const char *ht = evhttp_find_header(in, "Bwc-Ticket");
        bwc_hex_encode(phex, s->pool.b, 32);
        bwc_hex_encode(chex, g_consumer.b, 32);
        assert_true(bwc_b64url_encode(tb64, sizeof tb64, s->ticket.b, 64) > 0);
        if (evhttp_find_header(in, "Bwc-Channel") || !hp || strcmp(hp, phex) != 0 || !hc ||
            strcmp(hc, chex) != 0 || !ht != !s->has_ticket || (ht && strcmp(ht, tb64) != 0)) {
            s->bad_pool_headers++;
            stub_error(req, 400, "bad-payment-headers");
            return;
        }
    } else if (!evhttp_find_header(in, "Bwc-Channel")) {
        stub_error(req, 402, "payment-required");
        return;
    }
    const char *rc = evhttp_find_header(in, "Bwc-Receipt");
    if (!rc) {
        char v[24];
        s->unreceipted++;
        snprintf(v, sizeof v, "%llu", (unsigned long long)s->served);
        evhttp_add_header(out, "Bwc-Served", v);
        stub_error(req, 402, "receipt-required");
        return;
    }
    unsigned char raw[BWC_RECEIPT_MAX_BYTES];
    bwc_result res;
    long n = bwc_b64url_decode(raw, sizeof raw, rc);
    if (!s->has_first && n > 0 && bwc_receipt_decode(&s->first, raw, (size_t)n, &res))
        s->has_first = 1;
    unsigned replayed = s->replayed;
    int st = n > 0 ? stub_intake(s, raw, (size_t)n, 1) : 400;
    if (st != 200) {
        s->refused++;
        stub_error(req, st, s->replayed != replayed ? "receipt-replayed" : "receipt-refused");
        return;
    }
    if (s->chunk_requests == s->refuse_at) { /* the receipt is taken, nothing is served */
        char v[24];
        s->refusals_made++;
        snprintf(v, sizeof v, "%llu", (unsigned long long)s->served);
        evhttp_add_header(out, "Bwc-Served", v);
        if (s->refuse_status == 429) {
            evhttp_add_header(out, "Retry-After", "0");
            stub_error(req, 429, "rate-limited");
        } else {
            stub_error(req, 402, "credit-window-exceeded");
        }
        return;
    }
    if (s->chunk_requests == s->drop_at) { /* no answer: the connection closes */
        struct timeval now = {0, 0};
        s->refusals_made++;
        if (s->drop_served) {
            stub_point(s, (uint32_t)idx);
            s->n_served++;
        }
        assert_int_equal(event_base_once(s->base, -1, EV_TIMEOUT, stub_hang_up, req, &now), 0);
        return;
    }
    size_t len = (size_t)bwc_manifest_chunk_len(s->m, (size_t)idx);
    unsigned char *copy = malloc(len);
    memcpy(copy, s->data + (size_t)idx * s->m->chunk_size, len);
    if ((int)s->n_served == s->corrupt_nth)
        copy[len / 2] ^= 0x10;
    s->n_served++;
    /* The relay's log holds the manifest's hash for what it sent, bad copy or not. */
    stub_point(s, (uint32_t)idx);
    if ((int)s->n_served - 1 == s->corrupt_nth)
        s->corrupt_bytes = s->served;
    char v[24];
    snprintf(v, sizeof v, "%llu", (unsigned long long)s->served);
    evhttp_add_header(out, "Bwc-Served", v);
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, copy, len);
    free(copy);
    evhttp_send_reply(req, 200, "OK", b);
    evbuffer_free(b);
}

static void stub_start(stub_relay *s, struct event_base *base, const unsigned char *data,
                       const bwc_manifest *m, const bwc_hash *cid, uint64_t price, int corrupt_nth)
{
    memset(s, 0, sizeof *s);
    s->base = base;
    s->data = data;
    s->m = m;
    s->cid = *cid;
    s->price = price;
    s->corrupt_nth = corrupt_nth;
    assert_non_null(s->http = evhttp_new(base));
    evhttp_set_allowed_methods(s->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
    evhttp_set_gencb(s->http, stub_cb, s);
    struct evhttp_bound_socket *sock = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0);
    assert_non_null(sock);
    struct sockaddr_in sa;
    socklen_t sl = sizeof sa;
    assert_int_equal(getsockname(evhttp_bound_socket_get_fd(sock), (struct sockaddr *)&sa, &sl), 0);
    s->port = ntohs(sa.sin_port);
}

typedef struct {
    char dir[64], file[128], part[128], state[128];
    struct event_base *base;
    unsigned char *data;
    size_t n;
    bwc_manifest m;
    bwc_hash cid;
    bwc_dl_state st;
    stub_relay relays[2];
    bwc_dl_source src[2];
    bwc_download d;
} loop_fixture;

static void loop_setup(loop_fixture *f, size_t n, int corrupt_nth0)
{
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/bwc-test-dl-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->file, sizeof f->file, "%s/out.bin", f->dir);
    snprintf(f->part, sizeof f->part, "%s/out.bin.part", f->dir);
    snprintf(f->state, sizeof f->state, "%s/out.bin.part.state", f->dir);
    assert_non_null(f->base = event_base_new());
    f->n = n;
    f->data = pattern(n, 5);
    make_manifest(&f->m, f->data, n, 16384, &f->cid);
    assert_true(bwc_dl_state_init(&f->st, &g_chain, &f->cid, &g_consumer, n, 16384));
    for (int k = 0; k < 2; k++) {
        stub_start(&f->relays[k], f->base, f->data, &f->m, &f->cid, 1000,
                   k == 0 ? corrupt_nth0 : -1);
        bwc_dl_source *s = &f->src[k];
        bwc_dl_channel c;
        bwc_hash id;
        fill_hash(&id, (unsigned char)(0xa0 + k));
        memset(s->info.key.b, 0xb0 + k, 32);
        snprintf(s->info.host, sizeof s->info.host, "127.0.0.1");
        s->info.port = f->relays[k].port;
        snprintf(s->info.endpoint, sizeof s->info.endpoint, "http://127.0.0.1:%u",
                 (unsigned)s->info.port);
        s->info.price = 1000;
        bwc_dl_channel_init(&c, &id, &s->info.key, 1000, 1000000);
        s->channel = bwc_dl_state_add(&f->st, &c);
    }
    bwc_download *d = &f->d;
    d->base = f->base;
    d->secp = g_secp;
    d->chain_id = &g_chain;
    d->seckey = SECRET;
    d->m = &f->m;
    d->file = f->file;
    d->part = f->part;
    d->state_path = f->state;
    d->state = &f->st;
    d->sources = f->src;
    d->n_sources = 2;
}

static void loop_free(loop_fixture *f)
{
    for (int k = 0; k < 2; k++)
        evhttp_free(f->relays[k].http);
    event_base_free(f->base);
    bwc_dl_state_free(&f->st);
    bwc_manifest_free(&f->m);
    free(f->data);
    unlink(f->file);
    unlink(f->part);
    unlink(f->state);
    rmdir(f->dir);
}

/* The file as written equals the content. */
static void assert_file(const loop_fixture *f)
{
    unsigned char *got = malloc(f->n + 1);
    int fd = open(f->file, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(read(fd, got, f->n + 1), (ssize_t)f->n);
    close(fd);
    assert_memory_equal(got, f->data, f->n);
    free(got);
    assert_int_equal(access(f->part, F_OK), -1);
    assert_int_equal(access(f->state, F_OK), -1);
}

/* What a relay that served bytes (all good) must hold at the end: the final receipt. */
static void assert_paid_exactly(const stub_relay *r, const bwc_dl_source *s)
{
    uint64_t max;
    assert_true(r->has_receipt);
    assert_int_equal(r->newest.bytes, r->served);
    assert_int_equal(r->newest.bytes, s->bytes);
    assert_true(bwc_receipt_max_amount(r->served, r->price, &max));
    assert_int_equal(r->newest.amount, max);
    assert_memory_equal(r->newest.digest.b, r->pt_digest[r->n_points - 1].b, 32);
    assert_int_equal(r->refused, 0);
    assert_int_equal(s->final_status, 200);
}

static void test_loop_two_relays(void **state)
{
    (void)state;
    char err[512];
    loop_fixture f;
    loop_setup(&f, 40 * 16384 + 123, -1);
    assert_int_equal(bwc_dl_run(&f.d, err, sizeof err), 0);
    assert_file(&f);
    assert_int_equal(f.d.bytes, f.n);
    assert_int_equal(f.d.had, 0);
    assert_int_equal(f.src[0].chunks + f.src[1].chunks, 41);
    assert_true(f.src[0].chunks > 0 && f.src[1].chunks > 0); /* both were used */
    for (int k = 0; k < 2; k++) {
        assert_string_equal(f.src[k].dropped, "");
        assert_paid_exactly(&f.relays[k], &f.src[k]);
        /* The first request carried the opening receipt of the fresh channel; every later one
         * the newest receipt, so none was refused and the credit window never grew past one
         * chunk. */
        assert_int_equal(f.relays[k].unreceipted, 0);
        assert_true(f.relays[k].has_first);
        assert_int_equal(f.relays[k].first.seq, 1);
        assert_int_equal(f.relays[k].first.bytes, 0);
        assert_int_equal(f.relays[k].first.amount, 0);
        assert_true(bwc_hash_is_zero(&f.relays[k].first.digest));
        assert_int_equal(f.st.channels[f.src[k].channel].newest.seq, f.src[k].chunks + 1);
    }
    loop_free(&f);
}

static void test_loop_bad_chunk_drops_relay(void **state)
{
    (void)state;
    char err[512];
    loop_fixture f;
    /* Relay 0 sends its second chunk with a flipped bit. */
    loop_setup(&f, 40 * 16384, 1);
    assert_int_equal(bwc_dl_run(&f.d, err, sizeof err), 0);
    assert_file(&f);
    stub_relay *bad = &f.relays[0];
    assert_true(bad->corrupt_bytes > 0);
    assert_non_null(strstr(f.src[0].dropped, "failed its check"));
    /* It was paid for the good chunk it sent before, never for the bad one ... */
    assert_true(bad->has_receipt);
    assert_int_equal(bad->newest.bytes, 16384);
    assert_int_equal(bad->newest.seq, 2); /* the opening receipt, then the good chunk's */
    assert_int_equal(f.src[0].chunks, 1);
    assert_true(bad->newest.bytes < bad->corrupt_bytes);
    /* ... and asked for nothing more after it. */
    assert_int_equal(bad->chunk_requests, 2);
    /* The other relay served the rest, the bad chunk included, and is paid exactly. */
    assert_int_equal(f.src[1].chunks, 39);
    assert_paid_exactly(&f.relays[1], &f.src[1]);
    loop_free(&f);

    /* A relay whose very first chunk is bad gets nothing but the opening receipt, which pays
     * for nothing. */
    loop_setup(&f, 8 * 16384, 0);
    assert_int_equal(bwc_dl_run(&f.d, err, sizeof err), 0);
    assert_file(&f);
    assert_true(f.relays[0].has_receipt);
    assert_int_equal(f.relays[0].newest.seq, 1);
    assert_int_equal(f.relays[0].newest.bytes, 0);
    assert_int_equal(f.relays[0].newest.amount, 0);
    assert_int_equal(f.relays[0].posts, 0);
    assert_int_equal(f.src[0].chunks, 0);
    assert_paid_exactly(&f.relays[1], &f.src[1]);
    loop_free(&f);
}

static void test_loop_resume(void **state)
{
    (void)state;
    char err[512];
    loop_fixture f;
    loop_setup(&f, 10 * 16384, -1);
    /* A previous run verified chunks 0-3 and asked relay 1 for chunk 4, which reached the disk
     * before the crash but not the state. */
    int fd = open(f.part, O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, f.data, 5 * 16384, 0), 5 * 16384);
    close(fd);
    for (size_t i = 0; i < 4; i++)
        bwc_dl_bitmap_set(f.st.verified, i);
    assert_true(bwc_dl_pending_add(&f.st.channels[1], 4));
    /* Only relay 1 this time; the relay never saw the request for chunk 4. */
    f.d.sources = &f.src[1];
    f.d.n_sources = 1;
    assert_int_equal(bwc_dl_run(&f.d, err, sizeof err), 0);
    assert_file(&f);
    assert_int_equal(f.d.had, 5 * 16384);
    assert_int_equal(f.d.bytes, 5 * 16384);
    assert_int_equal(f.relays[1].chunk_requests, 5); /* chunks 5-9 */
    assert_int_equal(f.relays[1].unreceipted, 0);
    assert_int_equal(f.relays[1].first.seq, 1);
    assert_paid_exactly(&f.relays[1], &f.src[1]);
    loop_free(&f);
}

/* What a relay holds after serving chunk idx (as stub_cb counts it). */
static void stub_preserve(stub_relay *s, uint32_t idx)
{
    stub_point(s, idx);
}

/* A relay's newest receipt covers everything it served (this run and before) at the price, and it
 * took the final receipt. */
static void assert_all_paid(const stub_relay *r, const bwc_dl_source *s)
{
    uint64_t max;
    assert_true(r->has_receipt);
    assert_int_equal(r->newest.bytes, r->served);
    assert_true(bwc_receipt_max_amount(r->served, r->price, &max));
    assert_int_equal(r->newest.amount, max);
    assert_memory_equal(r->newest.digest.b, r->pt_digest[r->n_points - 1].b, 32);
    assert_int_equal(r->refused, 0);
    assert_int_equal(s->final_status, 200);
}

/* A channel reused by a later run: its first request carries the opening receipt at the newest
 * point (seq + 1, nothing new), never the old receipt alone; unless the newest was signed by this
 * process and never sent, which then goes out as it is. */
static void test_loop_opening_receipt(void **state)
{
    (void)state;
    char err[512];
    loop_fixture f;
    const char *why;
    loop_setup(&f, 6 * 16384, -1);
    bwc_dl_channel *ch = &f.st.channels[f.src[0].channel];
    stub_relay *s = &f.relays[0];
    /* An earlier run: relay 0 served chunks 0 and 1, and holds the receipt for both. */
    int fd = open(f.part, O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, f.data, 2 * 16384, 0), 2 * 16384);
    close(fd);
    for (uint32_t i = 0; i < 2; i++) {
        assert_true(bwc_dl_channel_countersign(ch, g_secp, SECRET, &g_chain, &f.cid, i,
                                               &f.m.chunks[i], 16384, AUX, &why));
        stub_preserve(s, i);
        bwc_dl_bitmap_set(f.st.verified, i);
    }
    ch->unsent = 0; /* the state file came from disk */
    ch->start_amount = ch->newest.amount;
    s->newest = ch->newest;
    s->has_receipt = 1;
    bwc_receipt old = ch->newest;
    f.d.n_sources = 1;
    assert_int_equal(bwc_dl_run(&f.d, err, sizeof err), 0);
    assert_file(&f);
    assert_int_equal(f.d.had, 2 * 16384);
    assert_int_equal(s->unreceipted, 0);
    assert_true(s->has_first);
    assert_int_equal(s->first.seq, old.seq + 1);
    assert_int_equal(s->first.bytes, old.bytes);
    assert_int_equal(s->first.amount, old.amount);
    assert_memory_equal(s->first.digest.b, old.digest.b, 32);
    assert_int_equal(ch->newest.seq, old.seq + 1 + 4); /* then one per chunk 2-5 */
    assert_all_paid(s, &f.src[0]);
    assert_int_equal(s->newest.bytes, 6 * 16384);
    loop_free(&f);

    /* The newest not sent yet (signed by this process, e.g. for a lost delivery at start): it is
     * the first request's receipt, and no opening receipt is signed. */
    loop_setup(&f, 4 * 16384, -1);
    ch = &f.st.channels[f.src[0].channel];
    s = &f.relays[0];
    fd = open(f.part, O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, f.data, 16384, 0), 16384);
    close(fd);
    assert_true(bwc_dl_channel_countersign(ch, g_secp, SECRET, &g_chain, &f.cid, 0, &f.m.chunks[0],
                                           16384, AUX, &why));
    assert_true(ch->unsent);
    stub_preserve(s, 0);
    bwc_dl_bitmap_set(f.st.verified, 0);
    old = ch->newest;
    f.d.n_sources = 1;
    assert_int_equal(bwc_dl_run(&f.d, err, sizeof err), 0);
    assert_file(&f);
    assert_int_equal(s->unreceipted, 0);
    assert_int_equal(s->first.seq, old.seq);
    assert_int_equal(s->first.bytes, 16384);
    assert_int_equal(ch->newest.seq, old.seq + 3);
    assert_all_paid(s, &f.src[0]);
    loop_free(&f);
}

/* A request asked again without new chunks since the last one went out carries a fresh
 * receipt (the opening receipt: seq + 1 at the newest point), never the one that went out:
 * the relay took it, and refuses its newest again on a chunk request (409 receipt-replayed).
 * One relay, 8 chunks; its third chunk request takes the receipt and then: a 402 (the wallet
 * resyncs and asks again), a 429 (it waits and asks again), no answer (the connection closes:
 * it resyncs and asks again), or no answer after the chunk went out (the resync pays for the
 * lost delivery with a new receipt, which goes out next). */
static void test_loop_fresh_receipt_on_retry(void **state)
{
    (void)state;
    char err[512];
    loop_fixture f;
    static const struct {
        unsigned refuse_at, drop_at;
        int refuse_status, drop_served;
    } cases[] = {{3, 0, 402, 0}, {3, 0, 429, 0}, {0, 3, 0, 0}, {0, 3, 0, 1}};
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        loop_setup(&f, 8 * 16384, -1);
        stub_relay *s = &f.relays[0];
        bwc_dl_channel *ch = &f.st.channels[f.src[0].channel];
        s->refuse_at = cases[k].refuse_at;
        s->refuse_status = cases[k].refuse_status;
        s->drop_at = cases[k].drop_at;
        s->drop_served = cases[k].drop_served;
        f.d.n_sources = 1;
        assert_int_equal(bwc_dl_run(&f.d, err, sizeof err), 0);
        assert_file(&f);
        assert_int_equal(s->refusals_made, 1);
        assert_int_equal(s->replayed, 0); /* no receipt went out twice */
        assert_int_equal(s->unreceipted, 0);
        assert_string_equal(f.src[0].dropped, "");
        assert_int_equal(f.src[0].chunks, 8);
        if (cases[k].refuse_status != 429)
            assert_true(s->views >= 1); /* it asked for the relay's view */
        if (!cases[k].drop_served) {
            /* the opening receipt, one per chunk, and the fresh one for the request asked
             * again */
            assert_paid_exactly(s, &f.src[0]);
            assert_int_equal(s->chunk_requests, 9);
            assert_int_equal(ch->newest.seq, 8 + 2);
        } else {
            /* the lost delivery is paid for (it was asked of this relay) and asked again */
            assert_all_paid(s, &f.src[0]);
            assert_int_equal(s->newest.bytes, 9 * 16384);
            assert_int_equal(s->chunk_requests, 9);
            assert_int_equal(ch->newest.seq, 9 + 1);
        }
        loop_free(&f);
    }
}

/* A download through a sponsor pool against two strict in-process relays: one lane per relay
 * of the same pool, Bwc-Pool, Bwc-Consumer and Bwc-Ticket on every request, pool receipts that
 * each relay takes (its key as relay, the ticket) and that pay it exactly at the pool's price. */
static void test_loop_pool(void **state)
{
    (void)state;
    char err[512];
    loop_fixture f;
    bwc_hash pool;
    bwc_sig ticket;
    loop_setup(&f, 30 * 16384 + 5, -1);
    fill_hash(&pool, 0xc1);
    memset(ticket.b, 0xc7, 64);
    for (int k = 0; k < 2; k++) {
        bwc_dl_channel *c = &f.st.channels[f.src[k].channel];
        bwc_dl_channel_init(c, &pool, &f.src[k].info.key, 1000, 1000000);
        bwc_dl_channel_set_pool(c, &g_consumer, ticket.b);
        f.relays[k].is_pool = 1;
        f.relays[k].pool = pool;
        f.relays[k].key = f.src[k].info.key;
        f.relays[k].has_ticket = 1;
        f.relays[k].ticket = ticket;
    }
    assert_int_equal(bwc_dl_run(&f.d, err, sizeof err), 0);
    assert_file(&f);
    assert_true(f.src[0].chunks > 0 && f.src[1].chunks > 0);
    for (int k = 0; k < 2; k++) {
        stub_relay *r = &f.relays[k];
        assert_string_equal(f.src[k].dropped, "");
        assert_int_equal(r->bad_pool_headers, 0);
        assert_int_equal(r->unreceipted, 0);
        assert_paid_exactly(r, &f.src[k]);
        assert_true(r->newest.is_pool && r->newest.has_ticket);
        assert_memory_equal(r->newest.relay.b, f.src[k].info.key.b, 32);
        assert_memory_equal(r->newest.consumer.b, g_consumer.b, 32);
        assert_true(r->has_first && r->first.is_pool);
        assert_int_equal(r->first.seq, 1);
        assert_int_equal(r->first.bytes, 0);
    }
    loop_free(&f);
}

static void test_loop_no_relay_left(void **state)
{
    (void)state;
    char err[512];
    loop_fixture f;
    loop_setup(&f, 4 * 16384, 0);
    /* Only the bad relay: it is dropped and the download stops, state saved. */
    f.d.n_sources = 1;
    assert_int_equal(bwc_dl_run(&f.d, err, sizeof err), 2);
    assert_non_null(strstr(err, "no relay is left"));
    assert_int_equal(access(f.file, F_OK), -1);
    assert_int_equal(access(f.state, F_OK), 0);
    bwc_dl_state s;
    int missing;
    char e2[256];
    assert_int_equal(bwc_dl_state_load(f.state, &s, g_secp, &g_chain, &missing, e2, sizeof e2), 0);
    /* Nothing paid for the bad chunk: only the opening receipt was signed. */
    assert_true(s.channels[0].has_receipt);
    assert_int_equal(s.channels[0].newest.seq, 1);
    assert_int_equal(s.channels[0].newest.bytes, 0);
    assert_int_equal(s.channels[0].newest.amount, 0);
    bwc_dl_state_free(&s);
    loop_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_receipts_chain),
        cmocka_unit_test(test_pool_receipts),
        cmocka_unit_test(test_amounts_follow_price),
        cmocka_unit_test(test_opening_receipt),
        cmocka_unit_test(test_bad_chunk_gets_no_receipt),
        cmocka_unit_test(test_pending_list),
        cmocka_unit_test(test_resync_lost_chunk_is_paid),
        cmocka_unit_test(test_resync_relay_receipt_newer),
        cmocka_unit_test(test_resync_refusals),
        cmocka_unit_test(test_view_parse),
        cmocka_unit_test(test_b64url),
        cmocka_unit_test(test_select_region_price_capacity),
        cmocka_unit_test(test_endpoint_parse),
        cmocka_unit_test(test_relay_from_json),
        cmocka_unit_test(test_channel_usable),
        cmocka_unit_test(test_sched),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_progress),
        cmocka_unit_test(test_state_round_trip),
        cmocka_unit_test(test_state_pool_lanes),
        cmocka_unit_test(test_state_corruption_refused),
        cmocka_unit_test(test_loop_two_relays),
        cmocka_unit_test(test_loop_bad_chunk_drops_relay),
        cmocka_unit_test(test_loop_resume),
        cmocka_unit_test(test_loop_opening_receipt),
        cmocka_unit_test(test_loop_fresh_receipt_on_retry),
        cmocka_unit_test(test_loop_no_relay_left),
        cmocka_unit_test(test_loop_pool),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
