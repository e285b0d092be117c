/* test_receipt.c: receipts, receipt ids and the delivery digest (PROTOCOL.md §3.3, §3.4, §7). */
#include "tests/unit/unit.h"

#include "consensus/hash.h"
#include "consensus/receipt.h"

/* The hand-built CBOR below keeps one map entry per group of hex literals (STYLE.md: clarity
 * wins); the formatter would put every literal on a line of its own. */
/* clang-format off */

/* Hex of a byte repeated, and byte strings of 32 (58 20 ...) or 64 (58 40 ...) such bytes. */
#define R1(s) s
#define R2(s) s s
#define R4(s) R2(s) R2(s)
#define R8(s) R4(s) R4(s)
#define R16(s) R8(s) R8(s)
#define R32(s) R16(s) R16(s)
#define R64(s) R32(s) R32(s)
#define B32(x) "5820" R32(x)
#define B64(x) "5840" R64(x)

/* Keys 0-4 shared by every receipt below:
 *   00 5820 66..66      0: channel
 *   01 03               1: seq 3
 *   02 1a00100000       2: bytes 2^20
 *   03 1903e8           3: amount 1000
 *   04 5820 77..77      4: digest                                                          */
#define RC_HEAD "00" B32("66") "01" "03" "02" "1a00100000" "03" "1903e8" "04" B32("77")
#define RC_SIGS "0e" B64("88") "0f" B64("99") /* 14: relay_sig, 15: consumer_sig */
/* 5: consumer h'aa'*32, 6: ticket h'bb'*64, 7: relay h'cc'*32 */
#define RC_CONSUMER "05" B32("aa")
#define RC_TICKET "06" B64("bb")
#define RC_RELAY "07" B32("cc")

#define CHANNEL_RC "a7" RC_HEAD RC_SIGS
#define CHANNEL_RC_NO_RELAY_SIG "a6" RC_HEAD "0f" B64("99")
#define POOL_RC_TICKET "aa" RC_HEAD RC_CONSUMER RC_TICKET RC_RELAY RC_SIGS
#define POOL_RC "a9" RC_HEAD RC_CONSUMER RC_RELAY RC_SIGS

static unsigned char g_buf[4096];

static int bytes_all(const void *p, size_t n, unsigned char v)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i] != v)
            return 0;
    return 1;
}

/* Decodes n bytes into *r (pre-filled with garbage). Returns "" when accepted, else the reject
 * string, after asserting the MALFORMED class and that *r was zeroed. */
static const char *decode_bytes(bwc_receipt *r, const unsigned char *p, size_t n)
{
    bwc_result res;
    memset(r, 0xa5, sizeof *r);
    if (bwc_receipt_decode(r, p, n, &res)) {
        assert_int_equal(res.code, BWC_RESULT_OK);
        return "";
    }
    assert_int_equal(res.code, BWC_RESULT_MALFORMED);
    assert_true(bytes_all(r, sizeof *r, 0));
    return res.reject;
}

static const char *decode_hex(bwc_receipt *r, const char *hex)
{
    size_t n = unit_hex(g_buf, sizeof g_buf, hex);
    return decode_bytes(r, g_buf, n);
}

static const char *reject_of(const char *hex)
{
    bwc_receipt r;
    return decode_hex(&r, hex);
}

static void assert_bytes_hex(const unsigned char *p, size_t n, const char *hex)
{
    char got[2 * sizeof g_buf + 1];
    assert_true(n <= sizeof g_buf);
    bwc_hex_encode(got, p, n);
    assert_string_equal(got, hex);
}

static void decode_reencode(bwc_receipt *r, const char *hex)
{
    bwc_buf b = BWC_BUF_INIT;
    assert_string_equal(decode_hex(r, hex), "");
    assert_true(bwc_receipt_encode(r, &b));
    assert_bytes_hex(b.data, b.len, hex);
    bwc_buf_free(&b);
}

static void check_head(const bwc_receipt *r)
{
    assert_true(bytes_all(r->channel.b, 32, 0x66));
    assert_int_equal(r->seq, 3);
    assert_int_equal(r->bytes, 1048576);
    assert_int_equal(r->amount, 1000);
    assert_true(bytes_all(r->digest.b, 32, 0x77));
    assert_true(bytes_all(r->consumer_sig.b, 64, 0x99));
}

/* TH(tag, m) straight from its definition SHA256(SHA256(tag) || SHA256(tag) || m). */
static void th_by_definition(bwc_hash *out, const char *tag, const unsigned char *m, size_t n)
{
    unsigned char buf[64 + 256];
    bwc_hash t;
    assert_true(n <= 256);
    bwc_sha256(&t, tag, strlen(tag));
    memcpy(buf, t.b, 32);
    memcpy(buf + 32, t.b, 32);
    memcpy(buf + 64, m, n);
    bwc_sha256(out, buf, 64 + n);
}

/* ================= decode / re-encode ================= */

static void test_channel_receipt(void **state)
{
    (void)state;
    bwc_receipt r;
    decode_reencode(&r, CHANNEL_RC);
    check_head(&r);
    assert_int_equal(r.is_pool, 0);
    assert_int_equal(r.has_ticket, 0);
    assert_int_equal(r.has_relay_sig, 1);
    assert_true(bytes_all(r.relay_sig.b, 64, 0x88));
}

static void test_relay_sig_optional(void **state)
{
    (void)state;
    bwc_receipt r;
    decode_reencode(&r, CHANNEL_RC_NO_RELAY_SIG);
    check_head(&r);
    assert_int_equal(r.has_relay_sig, 0);
    assert_true(bytes_all(r.relay_sig.b, 64, 0));
}

static void test_consumer_sig_required(void **state)
{
    (void)state;
    /* a6: keys 0-4 and 14, no 15 */
    assert_string_equal(reject_of("a6" RC_HEAD "0e" B64("88")), "bad-receipt-missing-field");
}

static void test_pool_receipt_with_ticket(void **state)
{
    (void)state;
    bwc_receipt r;
    decode_reencode(&r, POOL_RC_TICKET);
    check_head(&r);
    assert_int_equal(r.is_pool, 1);
    assert_true(bytes_all(r.consumer.b, 32, 0xaa));
    assert_true(bytes_all(r.relay.b, 32, 0xcc));
    assert_int_equal(r.has_ticket, 1);
    assert_true(bytes_all(r.ticket.b, 64, 0xbb));
    assert_int_equal(r.has_relay_sig, 1);
}

static void test_pool_receipt_without_ticket(void **state)
{
    (void)state;
    bwc_receipt r;
    decode_reencode(&r, POOL_RC);
    check_head(&r);
    assert_int_equal(r.is_pool, 1);
    assert_int_equal(r.has_ticket, 0);
    assert_true(bytes_all(r.consumer.b, 32, 0xaa));
    assert_true(bytes_all(r.relay.b, 32, 0xcc));
}

/* The encoder on a struct filled field by field. */
static void test_encode_from_struct(void **state)
{
    (void)state;
    bwc_receipt r;
    bwc_buf b = BWC_BUF_INIT;
    memset(&r, 0, sizeof r);
    memset(r.channel.b, 0x66, 32);
    r.seq = 3;
    r.bytes = 1048576;
    r.amount = 1000;
    memset(r.digest.b, 0x77, 32);
    r.is_pool = 1;
    memset(r.consumer.b, 0xaa, 32);
    memset(r.relay.b, 0xcc, 32);
    r.has_ticket = 1;
    memset(r.ticket.b, 0xbb, 64);
    r.has_relay_sig = 1;
    memset(r.relay_sig.b, 0x88, 64);
    memset(r.consumer_sig.b, 0x99, 64);
    assert_true(bwc_receipt_encode(&r, &b));
    assert_bytes_hex(b.data, b.len, POOL_RC_TICKET);
    bwc_buf_free(&b);
}

/* ================= rejections ================= */

static void test_rejects_seq_zero(void **state)
{
    (void)state;
    assert_string_equal(reject_of("a7" "00" B32("66") "01" "00" "02" "1a00100000" "03" "1903e8"
                                  "04" B32("77") RC_SIGS),
                        "bad-receipt-seq-zero");
}

static void test_rejects_consumer_without_relay(void **state)
{
    (void)state;
    assert_string_equal(reject_of("a8" RC_HEAD RC_CONSUMER RC_SIGS), "bad-receipt-pool-fields");
}

static void test_rejects_relay_without_consumer(void **state)
{
    (void)state;
    assert_string_equal(reject_of("a8" RC_HEAD RC_RELAY RC_SIGS), "bad-receipt-pool-fields");
}

static void test_rejects_ticket_on_channel_receipt(void **state)
{
    (void)state;
    assert_string_equal(reject_of("a8" RC_HEAD RC_TICKET RC_SIGS),
                        "bad-receipt-ticket-without-pool");
}

static void test_rejects_oversize(void **state)
{
    (void)state;
    unsigned char big[BWC_RECEIPT_MAX_BYTES + 1];
    bwc_receipt r;
    /* 513 bytes of 0xff: the limit is checked before any parsing */
    memset(big, 0xff, sizeof big);
    assert_string_equal(decode_bytes(&r, big, sizeof big), "bad-receipt-oversize");
    const char *rej = decode_bytes(&r, big, BWC_RECEIPT_MAX_BYTES);
    assert_string_not_equal(rej, "bad-receipt-oversize");
    assert_string_not_equal(rej, "");
}

static void test_rejects_unknown_key(void **state)
{
    (void)state;
    /* key 8 = 0 between 4 and 14 */
    assert_string_equal(reject_of("a8" RC_HEAD "08" "00" RC_SIGS), "bad-receipt-unknown-key");
}

static void test_rejects_short_channel(void **state)
{
    (void)state;
    /* channel of 31 bytes (58 1f ...) */
    assert_string_equal(reject_of("a7" "00" "581f" R16("66") R8("66") R4("66") R2("66") R1("66")
                                  "01" "03" "02" "1a00100000" "03" "1903e8" "04" B32("77")
                                  RC_SIGS),
                        "bad-receipt-field");
}

static void test_rejects_long_digest(void **state)
{
    (void)state;
    /* digest of 33 bytes (58 21 ...) */
    assert_string_equal(reject_of("a7" "00" B32("66") "01" "03" "02" "1a00100000" "03" "1903e8"
                                  "04" "5821" R32("77") "77" RC_SIGS),
                        "bad-receipt-field");
}

static void test_rejects_wrong_types(void **state)
{
    (void)state;
    /* seq as a text string "3" (61 33) */
    assert_string_equal(reject_of("a7" "00" B32("66") "01" "6133" "02" "1a00100000" "03" "1903e8"
                                  "04" B32("77") RC_SIGS),
                        "bad-receipt-field");
    /* consumer_sig of 63 bytes (58 3f ...) */
    assert_string_equal(reject_of("a7" RC_HEAD "0e" B64("88") "0f" "583f" R32("99") R16("99")
                                  R8("99") R4("99") R2("99") R1("99")),
                        "bad-receipt-field");
}

/* ================= receipt id and leaf ================= */

/* enc(r\{14,15}) of CHANNEL_RC: a5 and keys 0-4 only. */
#define CHANNEL_RC_UNSIGNED "a5" RC_HEAD
/* enc(r\{14,15}) of POOL_RC_TICKET: a8, keys 0-7. */
#define POOL_RC_TICKET_UNSIGNED "a8" RC_HEAD RC_CONSUMER RC_TICKET RC_RELAY

static void test_receipt_id_by_hand(void **state)
{
    (void)state;
    unsigned char m[512];
    bwc_hash chain, want, got;
    bwc_receipt r;
    memset(chain.b, 0xc0, 32);

    size_t n = unit_hex(m, sizeof m, CHANNEL_RC_UNSIGNED);
    bwc_tagged_hash2(&want, "bwc/receipt", chain.b, 32, m, n);
    assert_string_equal(decode_hex(&r, CHANNEL_RC), "");
    bwc_receipt_id(&chain, &r, &got);
    assert_memory_equal(got.b, want.b, 32);
    /* a receipt without relay_sig has the same id */
    assert_string_equal(decode_hex(&r, CHANNEL_RC_NO_RELAY_SIG), "");
    bwc_receipt_id(&chain, &r, &got);
    assert_memory_equal(got.b, want.b, 32);

    n = unit_hex(m, sizeof m, POOL_RC_TICKET_UNSIGNED);
    bwc_tagged_hash2(&want, "bwc/receipt", chain.b, 32, m, n);
    assert_string_equal(decode_hex(&r, POOL_RC_TICKET), "");
    bwc_receipt_id(&chain, &r, &got);
    assert_memory_equal(got.b, want.b, 32);
}

static void test_receipt_id_ignores_signatures(void **state)
{
    (void)state;
    bwc_hash chain, base, got;
    bwc_receipt r;
    memset(chain.b, 0xc0, 32);
    assert_string_equal(decode_hex(&r, POOL_RC_TICKET), "");
    bwc_receipt_id(&chain, &r, &base);
    r.relay_sig.b[0] ^= 1;
    bwc_receipt_id(&chain, &r, &got);
    assert_memory_equal(got.b, base.b, 32);
    r.consumer_sig.b[0] ^= 1;
    bwc_receipt_id(&chain, &r, &got);
    assert_memory_equal(got.b, base.b, 32);
    r.has_relay_sig = 0;
    bwc_receipt_id(&chain, &r, &got);
    assert_memory_equal(got.b, base.b, 32);
}

/* Every field other than the two signatures is committed to by the id. */
static void test_receipt_id_covers_fields(void **state)
{
    (void)state;
    bwc_hash chain, base, got;
    bwc_receipt orig, r;
    memset(chain.b, 0xc0, 32);
    assert_string_equal(decode_hex(&orig, POOL_RC_TICKET), "");
    bwc_receipt_id(&chain, &orig, &base);

    for (int field = 0; field < 11; field++) {
        r = orig;
        switch (field) {
        case 0:
            r.channel.b[31] ^= 1;
            break;
        case 1:
            r.seq++;
            break;
        case 2:
            r.bytes++;
            break;
        case 3:
            r.amount++;
            break;
        case 4:
            r.digest.b[0] ^= 1;
            break;
        case 5:
            r.consumer.b[5] ^= 1;
            break;
        case 6:
            r.ticket.b[63] ^= 1;
            break;
        case 7:
            r.relay.b[9] ^= 1;
            break;
        case 8:
            r.has_ticket = 0;
            break;
        case 9:
            r.is_pool = 0, r.has_ticket = 0;
            break;
        default:
            chain.b[0] ^= 1; /* and the chain */
            break;
        }
        bwc_receipt_id(&chain, &r, &got);
        if (memcmp(got.b, base.b, 32) == 0)
            fail_msg("receipt id unchanged when field %d changed", field);
    }
}

static void test_receipt_leaf(void **state)
{
    (void)state;
    unsigned char m[512];
    bwc_hash want, leaf, leaf2;
    bwc_receipt r;
    /* TH("bwc/rcw", enc(r)), both signatures included, no chain id */
    size_t n = unit_hex(m, sizeof m, CHANNEL_RC);
    bwc_tagged_hash(&want, "bwc/rcw", m, n);
    assert_string_equal(decode_hex(&r, CHANNEL_RC), "");
    bwc_receipt_leaf(&r, &leaf);
    assert_memory_equal(leaf.b, want.b, 32);

    r.relay_sig.b[1] ^= 1;
    bwc_receipt_leaf(&r, &leaf2);
    assert_memory_not_equal(leaf2.b, leaf.b, 32);
    r.relay_sig.b[1] ^= 1;
    r.consumer_sig.b[1] ^= 1;
    bwc_receipt_leaf(&r, &leaf2);
    assert_memory_not_equal(leaf2.b, leaf.b, 32);
}

static void test_ticket_msg_by_hand(void **state)
{
    (void)state;
    unsigned char m[96];
    bwc_hash chain, pool, want, got;
    bwc_pubkey consumer;
    memset(chain.b, 0xc0, 32);
    memset(pool.b, 0xd0, 32);
    memset(consumer.b, 0xaa, 32);
    memcpy(m, chain.b, 32);
    memcpy(m + 32, pool.b, 32);
    memcpy(m + 64, consumer.b, 32);
    th_by_definition(&want, "bwc/ticket", m, sizeof m);
    bwc_ticket_msg(&chain, &pool, &consumer, &got);
    assert_memory_equal(got.b, want.b, 32);
}

/* ================= delivery digest (§3.4) ================= */

/* d' = TH("bwc/delivery", d || c || u32be(i) || h), laid out byte by byte. */
static void delivery_by_hand(bwc_hash *d, const bwc_hash *c, const unsigned char be[4],
                             const bwc_hash *h)
{
    unsigned char m[100];
    memcpy(m, d->b, 32);
    memcpy(m + 32, c->b, 32);
    memcpy(m + 64, be, 4);
    memcpy(m + 68, h->b, 32);
    th_by_definition(d, "bwc/delivery", m, sizeof m);
}

static void test_delivery_two_steps(void **state)
{
    (void)state;
    bwc_hash c, h0, h1, want, got;
    static const unsigned char be0[4] = {0, 0, 0, 0}, be1[4] = {0, 0, 0, 1};
    memset(c.b, 0x44, 32);
    bwc_sha256(&h0, "chunk-0", 7);
    bwc_sha256(&h1, "chunk-1", 7);

    memset(want.b, 0, 32); /* d0 = 0^32 */
    memset(got.b, 0, 32);
    delivery_by_hand(&want, &c, be0, &h0);
    bwc_delivery_next(&got, &c, 0, &h0);
    assert_memory_equal(got.b, want.b, 32);
    delivery_by_hand(&want, &c, be1, &h1);
    bwc_delivery_next(&got, &c, 1, &h1);
    assert_memory_equal(got.b, want.b, 32);

    /* the order matters: the same chunks the other way round give another digest */
    bwc_hash other;
    memset(other.b, 0, 32);
    bwc_delivery_next(&other, &c, 1, &h1);
    bwc_delivery_next(&other, &c, 0, &h0);
    assert_memory_not_equal(other.b, got.b, 32);
}

static void test_delivery_index_big_endian(void **state)
{
    (void)state;
    bwc_hash c, h, d1, d256, want;
    static const unsigned char be256[4] = {0x00, 0x00, 0x01, 0x00};
    static const unsigned char be_mixed[4] = {0x01, 0x02, 0x03, 0x04};
    memset(c.b, 0x44, 32);
    memset(h.b, 0x55, 32);

    memset(d1.b, 0, 32);
    memset(d256.b, 0, 32);
    bwc_delivery_next(&d1, &c, 1, &h);
    bwc_delivery_next(&d256, &c, 256, &h);
    assert_memory_not_equal(d1.b, d256.b, 32);

    memset(want.b, 0, 32);
    delivery_by_hand(&want, &c, be256, &h);
    assert_memory_equal(d256.b, want.b, 32);

    memset(want.b, 0, 32);
    memset(d1.b, 0, 32);
    delivery_by_hand(&want, &c, be_mixed, &h);
    bwc_delivery_next(&d1, &c, 0x01020304u, &h);
    assert_memory_equal(d1.b, want.b, 32);
}

/* ================= bwc_receipt_max_amount ================= */

static void test_max_amount(void **state)
{
    (void)state;
    uint64_t v;
    v = 77;
    assert_true(bwc_receipt_max_amount(1, 1, &v));
    assert_int_equal(v, 1); /* ceil(1/2^20) */
    assert_true(bwc_receipt_max_amount(1u << 20, 1000, &v));
    assert_int_equal(v, 1000);
    assert_true(bwc_receipt_max_amount((1u << 20) + 1, 1000, &v));
    assert_int_equal(v, 1001);
    assert_true(bwc_receipt_max_amount((1u << 20) - 1, 1, &v));
    assert_int_equal(v, 1);
    assert_true(bwc_receipt_max_amount(12345, 0, &v));
    assert_int_equal(v, 0);
    assert_true(bwc_receipt_max_amount(0, 12345, &v));
    assert_int_equal(v, 0);
    /* 2^20 * (2^64-1) / 2^20 is exactly the largest result */
    assert_true(bwc_receipt_max_amount(1u << 20, UINT64_MAX, &v));
    assert_true(v == UINT64_MAX);
    /* one byte more rounds up past 2^64 - 1 */
    assert_false(bwc_receipt_max_amount((1u << 20) + 1, UINT64_MAX, &v));
    assert_false(bwc_receipt_max_amount(UINT64_MAX, UINT64_MAX, &v));
}

/* clang-format on */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_channel_receipt),
        cmocka_unit_test(test_relay_sig_optional),
        cmocka_unit_test(test_consumer_sig_required),
        cmocka_unit_test(test_pool_receipt_with_ticket),
        cmocka_unit_test(test_pool_receipt_without_ticket),
        cmocka_unit_test(test_encode_from_struct),
        cmocka_unit_test(test_rejects_seq_zero),
        cmocka_unit_test(test_rejects_consumer_without_relay),
        cmocka_unit_test(test_rejects_relay_without_consumer),
        cmocka_unit_test(test_rejects_ticket_on_channel_receipt),
        cmocka_unit_test(test_rejects_oversize),
        cmocka_unit_test(test_rejects_unknown_key),
        cmocka_unit_test(test_rejects_short_channel),
        cmocka_unit_test(test_rejects_long_digest),
        cmocka_unit_test(test_rejects_wrong_types),
        cmocka_unit_test(test_receipt_id_by_hand),
        cmocka_unit_test(test_receipt_id_ignores_signatures),
        cmocka_unit_test(test_receipt_id_covers_fields),
        cmocka_unit_test(test_receipt_leaf),
        cmocka_unit_test(test_ticket_msg_by_hand),
        cmocka_unit_test(test_delivery_two_steps),
        cmocka_unit_test(test_delivery_index_big_endian),
        cmocka_unit_test(test_max_amount),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
