/* test_relay.c: the relay's pure rules (paths, base64url, ceilings, receipt intake, credit
 * window, delivery log, settlement) and its chunk store on a temporary directory. */
#include "tests/unit/unit.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "consensus/hash.h"
#include "consensus/key.h"
#include "consensus/manifest.h"
#include "consensus/receipt.h"
#include "relay/ceiling.h"
#include "relay/chunkstore.h"
#include "relay/lane.h"
#include "common/base64url.h"
#include "relay/path.h"
#include "relay/relay.h"

#define MIB (1u << 20)
#define KIB16 16384u

/* ================================ paths ================================ */

static const char *H64 = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

static void test_paths(void **state)
{
    (void)state;
    bwc_relay_path p;
    char uri[256];
    assert_int_equal(bwc_relay_parse_path("/v1/status", &p), BWC_ROUTE_STATUS);
    assert_int_equal(bwc_relay_parse_path("/v1/receipt", &p), BWC_ROUTE_RECEIPT);
    snprintf(uri, sizeof uri, "/v1/manifest/%s", H64);
    assert_int_equal(bwc_relay_parse_path(uri, &p), BWC_ROUTE_MANIFEST);
    assert_int_equal(p.id.b[0], 0x00);
    assert_int_equal(p.id.b[31], 0xff);
    snprintf(uri, sizeof uri, "/v1/channel/%s", H64);
    assert_int_equal(bwc_relay_parse_path(uri, &p), BWC_ROUTE_CHANNEL);
    snprintf(uri, sizeof uri, "/v1/chunk/%s/0", H64);
    assert_int_equal(bwc_relay_parse_path(uri, &p), BWC_ROUTE_CHUNK);
    assert_int_equal(p.index, 0);
    snprintf(uri, sizeof uri, "/v1/chunk/%s/4294967295", H64);
    assert_int_equal(bwc_relay_parse_path(uri, &p), BWC_ROUTE_CHUNK);
    assert_int_equal(p.index, 4294967295u);
    snprintf(uri, sizeof uri, "/v1/chunk/%s/262143", H64);
    assert_int_equal(bwc_relay_parse_path(uri, &p), BWC_ROUTE_CHUNK);
    assert_int_equal(p.index, 262143);
    /* Everything that is not exactly one of the forms. */
    static const char *bad[] = {
        "",
        "/",
        "/v1",
        "/v1/",
        "/v1/status/",
        "/v1/status?x=1",
        "/V1/status",
        "/v2/status",
        "/v1/statusx",
        "//v1/status",
        "/v1/receipt/",
        "/v1/manifest/",
        "/v1/chunk/",
        "/v1/manifest/00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff",
        "/v1/manifest/00112233445566778899aabbccddeeff00112233445566778899aabbccddeef",
        "/v1/manifest/00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff0",
        "/v1/manifest/00112233445566778899aabbccddeeff00112233445566778899aabbccddeefg",
        "/v1/manifest/00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff/",
        "/v1/manifest/00112233445566778899aabbccddeeff00112233445566778899aabbccddee%66",
        "/v1/chunk/00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
        "/v1/chunk/00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff/",
        "/v1/chunk/00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff/01",
        "/v1/chunk/00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff/-1",
        "/v1/chunk/00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff/+1",
        "/v1/chunk/00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff/1 ",
        "/v1/chunk/00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff/4294967296",
        "/v1/chunk/00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff/99999999999",
        "/v1/chunk/00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff/1/2",
        "/v1/chunk/00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff/1#x",
        "/v1/channel/00112233445566778899aabbccddeeff",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&p, 0xaa, sizeof p);
        assert_int_equal(bwc_relay_parse_path(bad[i], &p), BWC_ROUTE_NONE);
        assert_int_equal(p.index, 0);
        assert_true(bwc_hash_is_zero(&p.id));
    }
    assert_int_equal(bwc_relay_parse_path(NULL, &p), BWC_ROUTE_NONE);
    unsigned char out[32];
    assert_true(bwc_relay_parse_hex32(H64, out));
    assert_false(bwc_relay_parse_hex32("00", out));
    assert_false(bwc_relay_parse_hex32(
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeFF", out));
}

static void test_base64url(void **state)
{
    (void)state;
    /* RFC 4648 §10 vectors, in the url alphabet and without padding. */
    static const struct {
        const char *plain, *enc;
    } v[] = {{"", ""},           {"f", "Zg"},          {"fo", "Zm8"},         {"foo", "Zm9v"},
             {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
    char enc[64];
    unsigned char dec[64];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t n = strlen(v[i].plain);
        assert_int_equal(bwc_b64url_len(n), strlen(v[i].enc));
        assert_int_equal(bwc_b64url_encode(enc, sizeof enc, v[i].plain, n), strlen(v[i].enc));
        assert_string_equal(enc, v[i].enc);
        assert_int_equal(bwc_b64url_decode(dec, sizeof dec, v[i].enc), (long)n);
        assert_memory_equal(dec, v[i].plain, n);
    }
    /* The url alphabet: 0xfb 0xff -> "-_8". */
    const unsigned char u[] = {0xfb, 0xff};
    assert_int_equal(bwc_b64url_encode(enc, sizeof enc, u, 2), 3);
    assert_string_equal(enc, "-_8");
    assert_int_equal(bwc_b64url_decode(dec, sizeof dec, "-_8"), 2);
    assert_memory_equal(dec, u, 2);
    /* Refused: padding, the standard alphabet's + and /, whitespace, a length of 1 mod 4,
     * non-zero unused bits, a result too large. */
    assert_int_equal(bwc_b64url_decode(dec, sizeof dec, "Zg=="), -1);
    assert_int_equal(bwc_b64url_decode(dec, sizeof dec, "+/8"), -1);
    assert_int_equal(bwc_b64url_decode(dec, sizeof dec, "Zm9 v"), -1);
    assert_int_equal(bwc_b64url_decode(dec, sizeof dec, "Zm9vY"), -1);
    assert_int_equal(bwc_b64url_decode(dec, sizeof dec, "Zh"), -1);
    assert_int_equal(bwc_b64url_decode(dec, sizeof dec, "Zm9"), -1); /* "Zm8" with a low bit */
    assert_int_equal(bwc_b64url_decode(dec, sizeof dec, "Zm-"), -1);
    assert_int_equal(bwc_b64url_decode(dec, 5, "Zm9vYmFy"), -1);
    assert_int_equal(bwc_b64url_encode(enc, 8, "foobar", 6), 0);
    /* Round trip of every length up to 64. */
    unsigned char src[64];
    for (size_t i = 0; i < sizeof src; i++)
        src[i] = (unsigned char)(i * 37 + 11);
    char big[128];
    for (size_t n = 0; n <= sizeof src; n++) {
        assert_int_equal(bwc_b64url_encode(big, sizeof big, src, n), bwc_b64url_len(n));
        assert_int_equal(bwc_b64url_decode(dec, sizeof dec, big), (long)n);
        assert_memory_equal(dec, src, n);
    }
}

/* ================================ ceilings ================================ */

static void test_bucket(void **state)
{
    (void)state;
    bwc_relay_bucket b;
    uint64_t retry;
    /* Unlimited. */
    bwc_relay_bucket_init(&b, 0, 1000);
    for (int i = 0; i < 100; i++)
        assert_true(bwc_relay_bucket_take(&b, 1u << 30, 1000, &retry));
    /* 100 000 B/s: a full bucket holds one second. */
    bwc_relay_bucket_init(&b, 100000, 5000);
    assert_true(bwc_relay_bucket_take(&b, 60000, 5000, &retry));
    assert_true(bwc_relay_bucket_take(&b, 40000, 5000, &retry));
    assert_false(bwc_relay_bucket_take(&b, 1000, 5000, &retry));
    assert_int_equal(retry, 10); /* 1000 B at 100 B/ms */
    assert_false(bwc_relay_bucket_take(&b, 1000, 5009, &retry));
    assert_int_equal(retry, 1);
    assert_true(bwc_relay_bucket_take(&b, 1000, 5010, &retry));
    /* The clock going backwards adds nothing. */
    assert_false(bwc_relay_bucket_take(&b, 1000, 4000, &retry));
    /* A long pause fills the bucket, no more. */
    assert_true(bwc_relay_bucket_take(&b, 100000, 10000000, &retry));
    assert_false(bwc_relay_bucket_take(&b, 1, 10000000, &retry));
    /* A request above one second's worth passes on a full bucket and leaves a debt. */
    bwc_relay_bucket_init(&b, 1000, 0);
    assert_true(bwc_relay_bucket_take(&b, 4000, 0, &retry));
    assert_false(bwc_relay_bucket_take(&b, 4000, 0, &retry));
    assert_int_equal(retry, 4000); /* 3000 debt + a full bucket of 1000 */
    assert_false(bwc_relay_bucket_take(&b, 4000, 3999, &retry));
    assert_true(bwc_relay_bucket_take(&b, 4000, 4000, &retry));
    /* The long-run average is the rate: 100 s at 1000 B/s serve about 100 000 bytes. */
    bwc_relay_bucket_init(&b, 1000, 0);
    uint64_t served = 0;
    for (uint64_t t = 0; t <= 100000; t += 10)
        if (bwc_relay_bucket_take(&b, 300, t, &retry))
            served += 300;
    assert_true(served >= 100000 && served <= 101500);
}

static void test_quota(void **state)
{
    (void)state;
    const uint64_t P = BWC_RELAY_PERIOD_SECONDS, T0 = 1700000000;
    bwc_relay_quota q;
    uint64_t retry;
    memset(&q, 0, sizeof q);
    bwc_relay_quota_roll(&q, T0);
    assert_int_equal(q.period_start, T0);
    /* quota 0: unlimited. */
    assert_true(bwc_relay_quota_allows(&q, 0, 0, UINT64_MAX, T0, &retry));
    /* 1000 per period. */
    assert_true(bwc_relay_quota_allows(&q, 1000, 3000, 600, T0 + 1, &retry));
    bwc_relay_quota_add(&q, 600);
    assert_true(bwc_relay_quota_allows(&q, 1000, 3000, 400, T0 + 2, &retry));
    assert_false(bwc_relay_quota_allows(&q, 1000, 3000, 401, T0 + 2, &retry));
    assert_int_equal(retry, P - 2);
    bwc_relay_quota_add(&q, 400);
    assert_false(bwc_relay_quota_allows(&q, 1000, 3000, 1, T0 + 10, &retry));
    assert_int_equal(q.total, 1000);
    /* A burst raises the ceiling while it lasts. */
    q.burst_until = T0 + 12 * 3600;
    assert_true(bwc_relay_quota_burst_active(&q, T0 + 10));
    assert_int_equal(bwc_relay_quota_limit(&q, 1000, 3000, T0 + 10), 3000);
    assert_true(bwc_relay_quota_allows(&q, 1000, 3000, 2000, T0 + 10, &retry));
    bwc_relay_quota_add(&q, 2000);
    assert_false(bwc_relay_quota_allows(&q, 1000, 3000, 1, T0 + 11, &retry));
    /* When it ends, the normal quota is in force again (and already used up). */
    assert_false(bwc_relay_quota_burst_active(&q, T0 + 12 * 3600));
    assert_int_equal(bwc_relay_quota_limit(&q, 1000, 3000, T0 + 12 * 3600), 1000);
    assert_false(bwc_relay_quota_allows(&q, 1000, 3000, 1, T0 + 12 * 3600, &retry));
    /* burst_quota 0 means the quota. */
    assert_int_equal(bwc_relay_quota_limit(&q, 1000, 0, T0 + 10), 1000);
    /* The next period starts fresh; periods stay aligned to the first start. */
    assert_true(bwc_relay_quota_allows(&q, 1000, 3000, 1000, T0 + P, &retry));
    assert_int_equal(q.period_start, T0 + P);
    assert_int_equal(q.used, 0);
    assert_int_equal(q.total, 3000);
    bwc_relay_quota_roll(&q, T0 + 5 * P + 7);
    assert_int_equal(q.period_start, T0 + 5 * P);
    /* A clock set far back starts a new period rather than none. */
    bwc_relay_quota_add(&q, 5);
    bwc_relay_quota_roll(&q, T0);
    assert_int_equal(q.period_start, T0);
    assert_int_equal(q.used, 0);
    /* Saturating counters. */
    q.used = UINT64_MAX - 1;
    q.total = UINT64_MAX - 1;
    bwc_relay_quota_add(&q, 10);
    assert_int_equal(q.used, UINT64_MAX);
    assert_int_equal(q.total, UINT64_MAX);
}

/* ================================ lanes ================================ */

static secp256k1_context *secp;
static unsigned char consumer_sk[32];
static bwc_pubkey consumer_pk;
static bwc_hash chain_id, channel, content;
static const unsigned char aux[32];

static int group_setup(void **state)
{
    static const unsigned char seed[32] = {7};
    (void)state;
    secp = bwc_secp_create(seed);
    memset(consumer_sk, 0x21, 32);
    memset(chain_id.b, 0xc1, 32);
    memset(channel.b, 0xcc, 32);
    memset(content.b, 0xdd, 32);
    return secp && bwc_key_pubkey(secp, &consumer_pk, consumer_sk) ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    bwc_secp_destroy(secp);
    return 0;
}

static bwc_hash chunk_hash(uint32_t i)
{
    bwc_hash h;
    memset(h.b, (int)(0x40 + i), 32);
    return h;
}

/* A consumer-signed receipt on the test channel; *raw gets its encoding. */
static bwc_receipt mk_receipt(uint64_t seq, uint64_t bytes, uint64_t amount, const bwc_hash *digest,
                              bwc_hash *rid, bwc_buf *raw)
{
    bwc_receipt r;
    memset(&r, 0, sizeof r);
    r.channel = channel;
    r.seq = seq;
    r.bytes = bytes;
    r.amount = amount;
    r.digest = *digest;
    bwc_receipt_id(&chain_id, &r, rid);
    assert_true(bwc_sign(secp, &r.consumer_sig, consumer_sk, rid, aux));
    bwc_buf_reset(raw);
    assert_true(bwc_receipt_encode(&r, raw));
    return r;
}

/* The digest a consumer holds after verifying chunks 0..n-1 of the test content. */
static bwc_hash digest_after(uint32_t n)
{
    bwc_hash d;
    memset(&d, 0, sizeof d);
    for (uint32_t i = 0; i < n; i++) {
        bwc_hash h = chunk_hash(i);
        bwc_delivery_next(&d, &content, i, &h);
    }
    return d;
}

static void serve(bwc_relay_lane *l, uint32_t i, uint64_t len)
{
    bwc_hash h = chunk_hash(i);
    const bwc_relay_lane_entry *e = bwc_relay_lane_served(l, &content, i, &h, len);
    assert_non_null(e);
    assert_int_equal(e->bytes_after, l->served);
    assert_int_equal(e->index, i);
}

static void test_lane_intake(void **state)
{
    (void)state;
    bwc_relay_lane l;
    bwc_hash rid, d;
    bwc_buf raw = BWC_BUF_INIT;
    const char *why;
    bwc_relay_lane_init(&l, &channel, NULL);
    assert_false(l.is_pool);
    unsigned char key[BWC_RELAY_LANE_KEY_SIZE];
    bwc_relay_lane_key(key, &channel, NULL);
    assert_memory_equal(key, l.key, sizeof key);
    /* Nothing served: any receipt claiming bytes conflicts. */
    d = digest_after(1);
    bwc_receipt r = mk_receipt(1, KIB16, 100, &d, &rid, &raw);
    assert_int_equal(bwc_relay_lane_check_receipt(&l, &r, &rid, 0, 0, &why), BWC_RELAY_CONFLICT);
    assert_string_equal(why, "receipt-bytes-over-served");
    /* Two chunks served. */
    serve(&l, 0, KIB16);
    serve(&l, 1, KIB16);
    assert_int_equal(l.served, 2 * KIB16);
    d = digest_after(2);
    assert_memory_equal(l.digest.b, d.b, 32);
    /* More than served: 409. */
    r = mk_receipt(1, 2 * KIB16 + 1, 100, &d, &rid, &raw);
    assert_int_equal(bwc_relay_lane_check_receipt(&l, &r, &rid, 0, 0, &why), BWC_RELAY_CONFLICT);
    assert_string_equal(why, "receipt-bytes-over-served");
    /* At a point of the log with another digest: 409. */
    d = digest_after(2);
    r = mk_receipt(1, KIB16, 100, &d, &rid, &raw);
    assert_int_equal(bwc_relay_lane_check_receipt(&l, &r, &rid, 0, 0, &why), BWC_RELAY_CONFLICT);
    assert_string_equal(why, "receipt-digest");
    /* At the start (0 bytes) the digest must be 0^32. */
    r = mk_receipt(1, 0, 0, &d, &rid, &raw);
    assert_int_equal(bwc_relay_lane_check_receipt(&l, &r, &rid, 0, 0, &why), BWC_RELAY_CONFLICT);
    assert_string_equal(why, "receipt-digest");
    /* Below what the chain holds: can never settle, 400. */
    d = digest_after(1);
    r = mk_receipt(3, KIB16, 100, &d, &rid, &raw);
    assert_int_equal(bwc_relay_lane_check_receipt(&l, &r, &rid, 3, 0, &why), BWC_RELAY_INVALID);
    assert_string_equal(why, "bad-receipt-seq");
    assert_int_equal(bwc_relay_lane_check_receipt(&l, &r, &rid, 2, 101, &why), BWC_RELAY_INVALID);
    assert_string_equal(why, "bad-receipt-amount");
    /* The right one: newer; accepted, the log up to its point goes. */
    assert_int_equal(bwc_relay_lane_check_receipt(&l, &r, &rid, 2, 100, &why), BWC_RELAY_NEWER);
    assert_string_equal(why, "");
    bwc_relay_lane_accept(&l, &r, &rid, raw.data, raw.len);
    assert_true(l.has_receipt);
    assert_int_equal(l.n_log, 1);
    assert_int_equal(l.base_bytes, KIB16);
    assert_true(l.base_known);
    assert_memory_equal(l.raw, raw.data, raw.len);
    /* Resending it: SAME, also with a fresh signature (same receipt id). */
    assert_int_equal(bwc_relay_lane_check_receipt(&l, &r, &rid, 0, 0, &why), BWC_RELAY_SAME);
    bwc_receipt again = r;
    unsigned char aux2[32] = {9};
    assert_true(bwc_sign(secp, &again.consumer_sig, consumer_sk, &rid, aux2));
    assert_int_equal(bwc_relay_lane_check_receipt(&l, &again, &rid, 0, 0, &why), BWC_RELAY_SAME);
    /* The next seq at the same point (bytes, amount and digest of the newest): NEWER. A consumer
     * signs one to ask again without new chunks, since a chunk request on the newest itself is
     * refused (409 receipt-replayed, relay/http.c). Not taken here. */
    {
        bwc_hash rid2;
        bwc_buf raw2 = BWC_BUF_INIT;
        bwc_receipt fresh = mk_receipt(r.seq + 1, r.bytes, r.amount, &r.digest, &rid2, &raw2);
        assert_int_equal(bwc_relay_lane_check_receipt(&l, &fresh, &rid2, 0, 0, &why),
                         BWC_RELAY_NEWER);
        assert_string_equal(why, "");
        bwc_buf_free(&raw2);
    }
    /* seq not above the newest, bytes or amount going down: 409. */
    d = digest_after(2);
    r = mk_receipt(3, 2 * KIB16, 200, &d, &rid, &raw);
    assert_int_equal(bwc_relay_lane_check_receipt(&l, &r, &rid, 0, 0, &why), BWC_RELAY_CONFLICT);
    assert_string_equal(why, "receipt-seq");
    d = digest_after(0);
    r = mk_receipt(4, 0, 200, &d, &rid, &raw);
    assert_int_equal(bwc_relay_lane_check_receipt(&l, &r, &rid, 0, 0, &why), BWC_RELAY_CONFLICT);
    assert_string_equal(why, "receipt-bytes-down");
    d = digest_after(2);
    r = mk_receipt(4, 2 * KIB16, 99, &d, &rid, &raw);
    assert_int_equal(bwc_relay_lane_check_receipt(&l, &r, &rid, 0, 0, &why), BWC_RELAY_CONFLICT);
    assert_string_equal(why, "receipt-amount-down");
    /* The same bytes as the newest must carry its digest. */
    r = mk_receipt(4, KIB16, 150, &d, &rid, &raw);
    assert_int_equal(bwc_relay_lane_check_receipt(&l, &r, &rid, 0, 0, &why), BWC_RELAY_CONFLICT);
    assert_string_equal(why, "receipt-digest");
    d = digest_after(1);
    r = mk_receipt(4, KIB16, 150, &d, &rid, &raw);
    assert_int_equal(bwc_relay_lane_check_receipt(&l, &r, &rid, 0, 0, &why), BWC_RELAY_NEWER);
    /* Between two points nothing can be compared: accepted, and then the base is unknown. */
    d = digest_after(0);
    r = mk_receipt(5, KIB16 + 100, 150, &d, &rid, &raw);
    assert_int_equal(bwc_relay_lane_check_receipt(&l, &r, &rid, 0, 0, &why), BWC_RELAY_NEWER);
    bwc_relay_lane_accept(&l, &r, &rid, raw.data, raw.len);
    assert_false(l.base_known);
    assert_int_equal(l.n_log, 1); /* the point at 2 chunks is still ahead */
    r = mk_receipt(6, KIB16 + 100, 160, &d, &rid, &raw);
    assert_int_equal(bwc_relay_lane_check_receipt(&l, &r, &rid, 0, 0, &why), BWC_RELAY_NEWER);
    d = digest_after(2);
    r = mk_receipt(6, 2 * KIB16, 300, &d, &rid, &raw);
    assert_int_equal(bwc_relay_lane_check_receipt(&l, &r, &rid, 0, 0, &why), BWC_RELAY_NEWER);
    bwc_relay_lane_accept(&l, &r, &rid, raw.data, raw.len);
    assert_true(l.base_known);
    assert_int_equal(l.n_log, 0);
    bwc_relay_lane_free(&l);
    bwc_buf_free(&raw);
}

static void test_lane_credit_window(void **state)
{
    (void)state;
    const uint64_t price = 1000000, window = 2 * KIB16;
    bwc_relay_lane l;
    bwc_hash rid, d;
    bwc_buf raw = BWC_BUF_INIT;
    const char *why;
    uint64_t need;
    bwc_relay_lane_init(&l, &channel, NULL);
    /* No receipt yet: the window's worth is served on credit. */
    assert_true(bwc_relay_lane_may_serve(&l, KIB16, price, 1000000, window, &why));
    serve(&l, 0, KIB16);
    assert_true(bwc_relay_lane_may_serve(&l, KIB16, price, 1000000, window, &why));
    serve(&l, 1, KIB16);
    assert_false(bwc_relay_lane_may_serve(&l, 1, price, 1000000, window, &why));
    assert_string_equal(why, "credit-window-exceeded");
    /* A receipt for both chunks at the price ceiling opens the window again. */
    assert_true(bwc_receipt_max_amount(2 * KIB16, price, &need));
    assert_int_equal(need, 31250); /* ceil(32768 x 10^6 / 2^20) */
    d = digest_after(2);
    bwc_receipt r = mk_receipt(1, 2 * KIB16, need - 1, &d, &rid, &raw);
    bwc_relay_lane_accept(&l, &r, &rid, raw.data, raw.len);
    assert_false(bwc_relay_lane_may_serve(&l, KIB16, price, 1000000, window, &why));
    assert_string_equal(why, "receipt-amount-too-low");
    r = mk_receipt(2, 2 * KIB16, need, &d, &rid, &raw);
    bwc_relay_lane_accept(&l, &r, &rid, raw.data, raw.len);
    assert_true(bwc_relay_lane_may_serve(&l, 2 * KIB16, price, 1000000, window, &why));
    assert_false(bwc_relay_lane_may_serve(&l, 2 * KIB16 + 1, price, 1000000, window, &why));
    /* The deposit: what would be owed after the chunk must fit the limit. */
    assert_true(bwc_receipt_max_amount(3 * KIB16, price, &need));
    assert_true(bwc_relay_lane_may_serve(&l, KIB16, price, need, window, &why));
    assert_false(bwc_relay_lane_may_serve(&l, KIB16, price, need - 1, window, &why));
    assert_string_equal(why, "deposit-exhausted");
    /* Price 0 (a pool paying nothing, free relay): only the window counts. */
    assert_true(bwc_relay_lane_may_serve(&l, KIB16, 0, 0, window, &why));
    /* A ceiling that does not fit 64 bits is never met. */
    assert_false(bwc_relay_lane_may_serve(&l, KIB16, UINT64_MAX, UINT64_MAX, window, &why));
    bwc_relay_lane_free(&l);
    bwc_buf_free(&raw);
}

/* The opening receipt a consumer sends first (doc/relay.md): the next seq at its newest point.
 * The relay takes it on an empty lane and on a lane with a receipt, and never settles it alone. */
static void test_lane_opening_receipt(void **state)
{
    (void)state;
    const uint64_t price = 1000000, window = 2 * KIB16;
    bwc_relay_lane l;
    bwc_hash rid, d;
    bwc_buf raw = BWC_BUF_INIT;
    const char *why;
    uint64_t owed2;
    bwc_relay_lane_init(&l, &channel, NULL);
    /* A fresh lane: seq 1, bytes 0 (<= served 0), digest 0^32 (the log's start), amount 0. */
    d = digest_after(0);
    bwc_receipt r = mk_receipt(1, 0, 0, &d, &rid, &raw);
    assert_int_equal(bwc_relay_lane_check_receipt(&l, &r, &rid, 0, 0, &why), BWC_RELAY_NEWER);
    bwc_relay_lane_accept(&l, &r, &rid, raw.data, raw.len);
    assert_true(l.base_known);
    assert_int_equal(l.base_bytes, 0);
    assert_true(bwc_relay_lane_may_serve(&l, KIB16, price, 1000000, window, &why));
    serve(&l, 0, KIB16);
    serve(&l, 1, KIB16);
    assert_false(bwc_relay_lane_may_serve(&l, 1, price, 1000000, window, &why));
    assert_string_equal(why, "credit-window-exceeded");
    /* A receipt for both chunks, then (a later run) the opening receipt at that point: newer,
     * and it moves nothing. */
    assert_true(bwc_receipt_max_amount(2 * KIB16, price, &owed2));
    d = digest_after(2);
    r = mk_receipt(2, 2 * KIB16, owed2, &d, &rid, &raw);
    assert_int_equal(bwc_relay_lane_check_receipt(&l, &r, &rid, 0, 0, &why), BWC_RELAY_NEWER);
    bwc_relay_lane_accept(&l, &r, &rid, raw.data, raw.len);
    serve(&l, 2, KIB16); /* a delivery the consumer has not countersigned yet */
    r = mk_receipt(3, 2 * KIB16, owed2, &d, &rid, &raw);
    assert_int_equal(bwc_relay_lane_check_receipt(&l, &r, &rid, 0, owed2, &why), BWC_RELAY_NEWER);
    bwc_relay_lane_accept(&l, &r, &rid, raw.data, raw.len);
    assert_int_equal(l.n_log, 1);
    assert_int_equal(l.base_bytes, 2 * KIB16);
    assert_true(l.base_known);
    /* With another digest at that point it is refused like any receipt. */
    d.b[0] ^= 1;
    r = mk_receipt(4, 2 * KIB16, owed2, &d, &rid, &raw);
    assert_int_equal(bwc_relay_lane_check_receipt(&l, &r, &rid, 0, owed2, &why),
                     BWC_RELAY_CONFLICT);
    assert_string_equal(why, "receipt-digest");
    /* Settlement: an opening receipt claims nothing above what the chain holds, so it is never
     * submitted while receipt_fee > 0, even when the channel expires; with receipt_fee 0 the
     * chain takes it (amount >= claimed + 0, seq above). */
    bwc_receipt open1;
    memset(&open1, 0, sizeof open1);
    open1.seq = 1;
    bwc_settle_terms t = {.next_height = 100,
                          .expiry = 100,
                          .settle_window = 50,
                          .receipt_fee = 1000,
                          .multiple = 10,
                          .chain_seq = 0,
                          .chain_claimed = 0};
    assert_false(bwc_relay_lane_settle_due(&open1, &t, &why));
    assert_string_equal(why, "below-fee");
    r.amount = owed2;
    r.seq = 3;
    t.chain_seq = 2;
    t.chain_claimed = owed2;
    assert_false(bwc_relay_lane_settle_due(&r, &t, &why));
    assert_string_equal(why, "below-fee");
    t.receipt_fee = 0;
    assert_true(bwc_relay_lane_settle_due(&r, &t, &why));
    bwc_relay_lane_free(&l);
    bwc_buf_free(&raw);
}

static void test_lane_pool_key(void **state)
{
    (void)state;
    bwc_relay_lane a, b;
    bwc_relay_lane_init(&a, &channel, &consumer_pk);
    bwc_relay_lane_init(&b, &channel, NULL);
    assert_true(a.is_pool);
    assert_memory_equal(a.key, channel.b, 32);
    assert_memory_equal(a.key + 32, consumer_pk.b, 32);
    assert_memory_not_equal(a.key, b.key, BWC_RELAY_LANE_KEY_SIZE);
    /* served cannot pass 2^64 - 1. */
    a.served = UINT64_MAX - 10;
    bwc_hash h = chunk_hash(0);
    assert_null(bwc_relay_lane_served(&a, &content, 0, &h, 11));
    assert_int_equal(a.served, UINT64_MAX - 10);
    assert_int_equal(a.n_log, 0);
    bwc_relay_lane_free(&a);
    bwc_relay_lane_free(&b);
}

static void test_settle_decision(void **state)
{
    (void)state;
    bwc_receipt r;
    const char *why;
    memset(&r, 0, sizeof r);
    r.seq = 5;
    r.amount = 20000;
    bwc_settle_terms t = {.next_height = 10,
                          .expiry = 100,
                          .settle_window = 50,
                          .receipt_fee = 1000,
                          .multiple = 10,
                          .chain_seq = 0,
                          .chain_claimed = 0};
    /* Unsettled 20000 >= 10 x 1000: the threshold. */
    assert_true(bwc_relay_lane_settle_due(&r, &t, &why));
    assert_string_equal(why, "threshold");
    t.multiple = 21;
    assert_false(bwc_relay_lane_settle_due(&r, &t, &why));
    assert_string_equal(why, "waiting");
    /* What the chain already paid is not counted again. */
    t.multiple = 10;
    t.chain_claimed = 10001;
    assert_false(bwc_relay_lane_settle_due(&r, &t, &why));
    assert_string_equal(why, "waiting");
    t.chain_claimed = 10000;
    assert_true(bwc_relay_lane_settle_due(&r, &t, &why));
    /* Never one the chain would refuse: below claimed + receipt_fee, or seq not above. */
    t.chain_claimed = 19001;
    t.next_height = 100;
    assert_false(bwc_relay_lane_settle_due(&r, &t, &why));
    assert_string_equal(why, "below-fee");
    t.chain_claimed = 20001;
    assert_false(bwc_relay_lane_settle_due(&r, &t, &why));
    assert_string_equal(why, "below-fee");
    t.chain_claimed = 19000;
    t.chain_seq = 5;
    assert_false(bwc_relay_lane_settle_due(&r, &t, &why));
    assert_string_equal(why, "settled");
    /* From expiry on, anything settleable goes before the window closes. */
    t.chain_seq = 4;
    t.multiple = 1000;
    t.next_height = 99;
    assert_false(bwc_relay_lane_settle_due(&r, &t, &why));
    t.next_height = 100;
    assert_true(bwc_relay_lane_settle_due(&r, &t, &why));
    assert_string_equal(why, "expiring");
    t.next_height = 150; /* expiry + settle_window: the last block that takes it */
    assert_true(bwc_relay_lane_settle_due(&r, &t, &why));
    t.next_height = 151;
    assert_false(bwc_relay_lane_settle_due(&r, &t, &why));
    assert_string_equal(why, "closed");
    /* Huge values do not wrap. */
    t.expiry = UINT64_MAX;
    t.next_height = 5;
    t.multiple = UINT64_MAX;
    t.receipt_fee = UINT64_MAX;
    t.chain_claimed = 0;
    r.amount = UINT64_MAX;
    assert_false(bwc_relay_lane_settle_due(&r, &t, &why));
    assert_string_equal(why, "waiting");
}

/* ================================ chunk store ================================ */

static char tmpdir[256];

static void rm_rf(const char *path)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    assert_int_equal(system(cmd), 0);
}

static int store_setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/bwc-test-relay-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int store_teardown(void **state)
{
    (void)state;
    rm_rf(tmpdir);
    return 0;
}

/* A content of n_chunks chunks of 16 KiB (the last one short by `short_by`), filled from seed:
 * its manifest encoding in *raw, its bytes in *data (caller frees). */
static bwc_hash make_content(unsigned seed, size_t n_chunks, size_t short_by, bwc_buf *raw,
                             unsigned char **data, size_t *size)
{
    bwc_manifest m;
    bwc_result res;
    bwc_hash id;
    *size = n_chunks * KIB16 - short_by;
    *data = malloc(*size);
    assert_non_null(*data);
    for (size_t i = 0; i < *size; i++)
        (*data)[i] = (unsigned char)(seed * 131 + i * 7 + i / 1000);
    assert_true(bwc_manifest_begin(&m, *size, KIB16, &res));
    for (size_t i = 0; i < m.n_chunks; i++)
        assert_true(bwc_manifest_add_chunk(&m, i, *data + i * KIB16,
                                           (size_t)bwc_manifest_chunk_len(&m, i)));
    bwc_buf_reset(raw);
    assert_true(bwc_manifest_encode(&m, raw));
    assert_true(bwc_manifest_content_id(&m, &id));
    bwc_manifest_free(&m);
    return id;
}

static void put_all(bwc_chunkstore *cs, const bwc_hash *id, const unsigned char *data, size_t size,
                    uint64_t now)
{
    char err[256];
    for (size_t i = 0; i * KIB16 < size; i++) {
        size_t len = size - i * KIB16 < KIB16 ? size - i * KIB16 : KIB16;
        assert_int_equal(bwc_chunkstore_put_chunk(cs, id, (uint32_t)i, data + i * KIB16, len, now,
                                                  err, sizeof err),
                         0);
    }
}

static size_t count_tmp_files(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "find '%s' -name '.tmp-*' | wc -l", dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    unsigned long n = 0;
    assert_int_equal(fscanf(p, "%lu", &n), 1);
    pclose(p);
    return n;
}

static void test_store_write_and_read(void **state)
{
    (void)state;
    char err[256], path[1024], dir[512];
    bwc_buf raw = BWC_BUF_INIT;
    unsigned char *data;
    size_t size;
    bwc_hash id = make_content(1, 3, 100, &raw, &data, &size), got;
    snprintf(dir, sizeof dir, "%s/chunks", tmpdir);
    bwc_chunkstore *cs = bwc_chunkstore_open(dir, 1u << 30, err, sizeof err);
    assert_non_null(cs);
    assert_null(bwc_chunkstore_manifest(cs, &id));
    /* A manifest must hash to the id asked for. */
    bwc_hash other;
    memset(other.b, 1, 32);
    assert_int_equal(
        bwc_chunkstore_add_manifest(cs, raw.data, raw.len, &other, 0, 100, NULL, err, sizeof err),
        -1);
    assert_int_equal(
        bwc_chunkstore_add_manifest(cs, raw.data, raw.len - 1, NULL, 0, 100, NULL, err, sizeof err),
        -1);
    assert_int_equal(
        bwc_chunkstore_add_manifest(cs, raw.data, raw.len, &id, 0, 100, &got, err, sizeof err), 0);
    assert_memory_equal(got.b, id.b, 32);
    const bwc_manifest *m = bwc_chunkstore_manifest(cs, &id);
    assert_non_null(m);
    assert_int_equal(m->n_chunks, 3);
    /* A chunk that does not match its hash, or of the wrong length, is refused. */
    unsigned char bad[KIB16];
    memcpy(bad, data, KIB16);
    bad[5] ^= 1;
    assert_int_equal(bwc_chunkstore_put_chunk(cs, &id, 0, bad, KIB16, 100, err, sizeof err), -1);
    assert_int_equal(bwc_chunkstore_put_chunk(cs, &id, 0, data, KIB16 - 1, 100, err, sizeof err),
                     -1);
    assert_int_equal(bwc_chunkstore_put_chunk(cs, &id, 3, data, KIB16, 100, err, sizeof err), -1);
    assert_false(bwc_chunkstore_has_chunk(cs, &id, 0));
    put_all(cs, &id, data, size, 100);
    assert_true(bwc_chunkstore_has_chunk(cs, &id, 2));
    /* Written atomically: the final names, no temporary left; the file is the chunk. */
    assert_int_equal(count_tmp_files(tmpdir), 0);
    char hex[65];
    bwc_hex_encode(hex, id.b, 32);
    snprintf(path, sizeof path, "%s/%s/2", dir, hex);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, KIB16 - 100);
    /* Served as a file segment of the right length. */
    struct evbuffer_file_segment *seg;
    uint64_t len;
    assert_int_equal(bwc_chunkstore_open_chunk(cs, &id, 2, 101, &seg, &len), 1);
    assert_int_equal(len, KIB16 - 100);
    struct evbuffer *b = evbuffer_new();
    assert_int_equal(evbuffer_add_file_segment(b, seg, 0, (ev_off_t)len), 0);
    unsigned char *out = malloc(len);
    assert_int_equal(evbuffer_remove(b, out, len), (int)len);
    assert_memory_equal(out, data + 2 * KIB16, len);
    free(out);
    evbuffer_free(b);
    bwc_chunkstore_usage u;
    bwc_chunkstore_get_usage(cs, &u);
    assert_int_equal(u.used, size + raw.len);
    assert_int_equal(u.contents, 1);
    bwc_chunkstore_close(cs);
    /* Reopened: the same content, sizes and chunks; leftovers and manifest-less folders go. */
    snprintf(path, sizeof path, "%s/%s/.tmp-7-0123", dir, hex);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fclose(f);
    char stray[600];
    snprintf(stray, sizeof stray, "%s/%064d", dir, 0);
    assert_int_equal(mkdir(stray, 0700), 0);
    cs = bwc_chunkstore_open(dir, 1u << 30, err, sizeof err);
    assert_non_null(cs);
    assert_int_equal(count_tmp_files(tmpdir), 0);
    assert_int_equal(access(stray, F_OK), -1);
    bwc_chunkstore_get_usage(cs, &u);
    assert_int_equal(u.used, size + raw.len);
    assert_true(bwc_chunkstore_has_chunk(cs, &id, 0));
    assert_int_equal(bwc_chunkstore_open_chunk(cs, &id, 0, 102, &seg, &len), 1);
    assert_int_equal(len, KIB16);
    bwc_chunkstore_close(cs);
    free(data);
    bwc_buf_free(&raw);
}

static void test_store_corrupt_chunk(void **state)
{
    (void)state;
    char err[256], path[1024], dir[512], hex[65];
    bwc_buf raw = BWC_BUF_INIT;
    unsigned char *data;
    size_t size;
    bwc_hash id = make_content(2, 2, 0, &raw, &data, &size);
    snprintf(dir, sizeof dir, "%s/chunks", tmpdir);
    bwc_chunkstore *cs = bwc_chunkstore_open(dir, 1u << 30, err, sizeof err);
    assert_non_null(cs);
    assert_int_equal(
        bwc_chunkstore_add_manifest(cs, raw.data, raw.len, &id, 0, 100, NULL, err, sizeof err), 0);
    put_all(cs, &id, data, size, 100);
    /* Flip one byte of chunk 1 on disk (same length), truncate chunk 0. */
    bwc_hex_encode(hex, id.b, 32);
    snprintf(path, sizeof path, "%s/%s/1", dir, hex);
    FILE *f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, 1000, SEEK_SET), 0);
    fputc(data[KIB16 + 1000] ^ 0x80, f);
    fclose(f);
    snprintf(path, sizeof path, "%s/%s/0", dir, hex);
    assert_int_equal(truncate(path, 100), 0);
    struct evbuffer_file_segment *seg;
    uint64_t len;
    assert_int_equal(bwc_chunkstore_open_chunk(cs, &id, 1, 101, &seg, &len), 0);
    assert_false(bwc_chunkstore_has_chunk(cs, &id, 1));
    assert_int_equal(bwc_chunkstore_open_chunk(cs, &id, 0, 101, &seg, &len), 0);
    assert_false(bwc_chunkstore_has_chunk(cs, &id, 0));
    assert_int_equal(access(path, F_OK), -1); /* deleted */
    bwc_chunkstore_usage u;
    bwc_chunkstore_get_usage(cs, &u);
    assert_int_equal(u.used, raw.len);
    /* Stored again, it is served. */
    put_all(cs, &id, data, size, 102);
    assert_int_equal(bwc_chunkstore_open_chunk(cs, &id, 1, 103, &seg, &len), 1);
    /* A manifest changed on disk is found out when it is first read after a restart. */
    bwc_chunkstore_close(cs);
    snprintf(path, sizeof path, "%s/%s/manifest.cbor", dir, hex);
    f = fopen(path, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, (long)raw.len - 1, SEEK_SET), 0);
    fputc(raw.data[raw.len - 1] ^ 1, f);
    fclose(f);
    cs = bwc_chunkstore_open(dir, 1u << 30, err, sizeof err);
    assert_non_null(cs);
    assert_null(bwc_chunkstore_manifest(cs, &id));
    assert_false(bwc_chunkstore_has_chunk(cs, &id, 1));
    bwc_chunkstore_get_usage(cs, &u);
    assert_int_equal(u.contents, 0);
    assert_int_equal(u.used, 0);
    bwc_chunkstore_close(cs);
    free(data);
    bwc_buf_free(&raw);
}

static void test_store_lru_and_pins(void **state)
{
    (void)state;
    char err[256], dir[512];
    bwc_buf raw[4] = {BWC_BUF_INIT, BWC_BUF_INIT, BWC_BUF_INIT, BWC_BUF_INIT};
    unsigned char *data[4];
    size_t size[4];
    bwc_hash id[4];
    for (unsigned i = 0; i < 4; i++)
        id[i] = make_content(10 + i, 4, 0, &raw[i], &data[i], &size[i]);
    snprintf(dir, sizeof dir, "%s/chunks", tmpdir);
    /* Room for three contents of 64 KiB and their manifests, not four. */
    uint64_t limit = 3 * (4 * KIB16 + raw[0].len) + KIB16 / 2;
    bwc_chunkstore *cs = bwc_chunkstore_open(dir, limit, err, sizeof err);
    assert_non_null(cs);
    /* A pinned at time 100, B at 200, C at 300. */
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(bwc_chunkstore_add_manifest(cs, raw[i].data, raw[i].len, &id[i], i == 0,
                                                     100 * (i + 1), NULL, err, sizeof err),
                         0);
        put_all(cs, &id[i], data[i], size[i], 100 * (i + 1));
    }
    assert_true(bwc_chunkstore_pinned(cs, &id[0]));
    assert_false(bwc_chunkstore_pinned(cs, &id[1]));
    /* B is used after C: C is now the least recently used unpinned content. */
    struct evbuffer_file_segment *seg;
    uint64_t len;
    assert_int_equal(bwc_chunkstore_open_chunk(cs, &id[1], 0, 400, &seg, &len), 1);
    assert_int_equal(bwc_chunkstore_add_manifest(cs, raw[3].data, raw[3].len, &id[3], 0, 500, NULL,
                                                 err, sizeof err),
                     0);
    put_all(cs, &id[3], data[3], size[3], 500);
    assert_non_null(bwc_chunkstore_manifest(cs, &id[0])); /* pinned: kept though oldest */
    assert_non_null(bwc_chunkstore_manifest(cs, &id[1]));
    assert_null(bwc_chunkstore_manifest(cs, &id[2])); /* evicted */
    assert_non_null(bwc_chunkstore_manifest(cs, &id[3]));
    bwc_chunkstore_usage u;
    bwc_chunkstore_get_usage(cs, &u);
    assert_true(u.used <= limit);
    assert_int_equal(u.contents, 3);
    assert_int_equal(u.pinned, 1);
    assert_int_equal(u.evicted, 1);
    /* With everything else pinned there is no room: the chunk is refused, nothing evicted. */
    assert_int_equal(bwc_chunkstore_pin(cs, &id[1], 1), 0);
    assert_int_equal(bwc_chunkstore_pin(cs, &id[3], 1), 0);
    assert_int_equal(bwc_chunkstore_pin(cs, &id[2], 1), -1);
    assert_int_equal(bwc_chunkstore_add_manifest(cs, raw[2].data, raw[2].len, &id[2], 0, 600, NULL,
                                                 err, sizeof err),
                     0);
    assert_int_equal(bwc_chunkstore_put_chunk(cs, &id[2], 0, data[2], KIB16, 600, err, sizeof err),
                     -1);
    assert_non_null(strstr(err, "store full"));
    /* Pins survive a restart (the marker file). */
    bwc_chunkstore_close(cs);
    cs = bwc_chunkstore_open(dir, limit, err, sizeof err);
    assert_non_null(cs);
    assert_true(bwc_chunkstore_pinned(cs, &id[0]));
    assert_true(bwc_chunkstore_pinned(cs, &id[3]));
    assert_false(bwc_chunkstore_pinned(cs, &id[2]));
    /* Unpinned, it is evicted first when room is needed. */
    assert_int_equal(bwc_chunkstore_pin(cs, &id[3], 0), 0);
    put_all(cs, &id[2], data[2], size[2], 700);
    assert_null(bwc_chunkstore_manifest(cs, &id[3]));
    assert_non_null(bwc_chunkstore_manifest(cs, &id[2]));
    assert_int_equal(bwc_chunkstore_remove(cs, &id[2]), 0);
    assert_null(bwc_chunkstore_manifest(cs, &id[2]));
    bwc_chunkstore_close(cs);
    for (unsigned i = 0; i < 4; i++) {
        free(data[i]);
        bwc_buf_free(&raw[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_base64url),
        cmocka_unit_test(test_bucket),
        cmocka_unit_test(test_quota),
        cmocka_unit_test(test_lane_intake),
        cmocka_unit_test(test_lane_credit_window),
        cmocka_unit_test(test_lane_opening_receipt),
        cmocka_unit_test(test_lane_pool_key),
        cmocka_unit_test(test_settle_decision),
        cmocka_unit_test_setup_teardown(test_store_write_and_read, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_store_corrupt_chunk, store_setup, store_teardown),
        cmocka_unit_test_setup_teardown(test_store_lru_and_pins, store_setup, store_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
