/* test_tx.c: transactions (PROTOCOL.md §2, §3.1, §3.2, §7) against hand-built canonical CBOR. */
#include "tests/unit/unit.h"

#include "consensus/hash.h"
#include "consensus/tx.h"

/* The hand-built CBOR below keeps one map entry per group of hex literals (STYLE.md: clarity
 * wins); the formatter would put every literal on a line of its own. */
/* clang-format off */

/* Hex of a byte repeated 2^k times, and byte strings of 32 / 64 such bytes:
 * 0x58 0x20 is the head of a bstr of 32 bytes (major type 2, one-byte length), 0x58 0x40 of 64. */
#define R1(s) s
#define R2(s) s s
#define R4(s) R2(s) R2(s)
#define R8(s) R4(s) R4(s)
#define R16(s) R8(s) R8(s)
#define R32(s) R16(s) R16(s)
#define R64(s) R32(s) R32(s)
#define B32(x) "5820" R32(x)
#define B64(x) "5840" R64(x)

/* Every transaction below shares from = h'11'*32, nonce = 5, fee = 1000 and sig = h'33'*64:
 *   a6                       map(6)
 *     00 <type>              0: type
 *     01 5820 11..11         1: from
 *     02 05                  2: nonce 5
 *     03 1903e8              3: fee 1000
 *     04 <body>              4: body
 *     0f 5840 33..33         15: sig                                                       */
#define TX_HEAD(type) "a6" "00" type "01" B32("11") "02" "05" "03" "1903e8" "04"
#define TX_SIG "0f" B64("33")

/* transfer body {0: h'22'*32, 1: 500000, 2: h'6869' ("hi")}; 500000 = 0x0007a120 (1a ...). */
#define TRANSFER_MEMO_BODY "a3" "00" B32("22") "01" "1a0007a120" "02" "42" "6869"
#define TRANSFER_BODY "a2" "00" B32("22") "01" "1a0007a120"
#define TRANSFER(body) TX_HEAD("01") body TX_SIG
/* channel_open body {0: relay h'22'*32, 1: deposit 10^8, 2: price 1000, 3: expiry 5000}. */
#define CHANNEL_OPEN_BODY "a4" "00" B32("22") "01" "1a05f5e100" "02" "1903e8" "03" "191388"
/* content_register {0: h'44'*32, 1: size, 2: chunk_size, extra}; count is the body's map head. */
#define CR(count, size, chunk, extra)                                                              \
    TX_HEAD("03") count "00" B32("44") "01" size "02" chunk extra TX_SIG
/* sponsor body {0: h'44'*32, 1: amount 10^6, 2: price 2000, 3: cap 50000, 4: expiry 7000, [5]}. */
#define SPONSOR_BODY_NO_TICKET                                                                     \
    "a5" "00" B32("44") "01" "1a000f4240" "02" "1907d0" "03" "19c350" "04" "191b58"

static unsigned char g_buf[16384];

/* Returns 1 when n bytes at p all equal v. */
static int bytes_all(const void *p, size_t n, unsigned char v)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i] != v)
            return 0;
    return 1;
}

/* Decodes n bytes into *tx (pre-filled with garbage). Returns "" when accepted, else the reject
 * string, after asserting the MALFORMED class and that *tx was zeroed. */
static const char *decode_bytes(bwc_tx *tx, const unsigned char *p, size_t n)
{
    bwc_result res;
    memset(tx, 0xa5, sizeof *tx);
    if (bwc_tx_decode(tx, p, n, &res)) {
        assert_int_equal(res.code, BWC_RESULT_OK);
        return "";
    }
    assert_int_equal(res.code, BWC_RESULT_MALFORMED);
    assert_true(bytes_all(tx, sizeof *tx, 0));
    return res.reject;
}

static const char *decode_hex(bwc_tx *tx, const char *hex)
{
    size_t n = unit_hex(g_buf, sizeof g_buf, hex);
    return decode_bytes(tx, g_buf, n);
}

/* Just the reject string of a hex input. */
static const char *reject_of(const char *hex)
{
    bwc_tx tx;
    return decode_hex(&tx, hex);
}

/* Asserts that the n bytes at p are exactly the given hex. */
static void assert_bytes_hex(const unsigned char *p, size_t n, const char *hex)
{
    char *got = malloc(2 * n + 1);
    assert_non_null(got);
    bwc_hex_encode(got, p, n);
    assert_string_equal(got, hex);
    free(got);
}

/* Decodes hex (which must be accepted) and asserts that re-encoding gives the same bytes. */
static void decode_reencode(bwc_tx *tx, const char *hex)
{
    bwc_buf b = BWC_BUF_INIT;
    assert_string_equal(decode_hex(tx, hex), "");
    assert_true(bwc_tx_encode(tx, 0, &b));
    assert_bytes_hex(b.data, b.len, hex);
    bwc_buf_free(&b);
}

static void check_common(const bwc_tx *tx, uint64_t type)
{
    assert_int_equal(tx->type, type);
    assert_true(bytes_all(tx->from.b, 32, 0x11));
    assert_int_equal(tx->nonce, 5);
    assert_int_equal(tx->fee, 1000);
    assert_true(bytes_all(tx->sig.b, 64, 0x33));
}

/* --- a tiny hand encoder for the variable parts of the grammar tests --- */

static size_t append_hex(unsigned char *out, size_t n, size_t cap, const char *hex)
{
    size_t k = strlen(hex) / 2;
    assert_true(n + k <= cap);
    assert_true(bwc_hex_decode(out + n, k, hex));
    return n + k;
}

/* A text string: head of major type 3 in shortest form (0x60+len below 24, 0x78 len below 256,
 * 0x79 len16 below 65536), then the bytes. */
static size_t append_tstr(unsigned char *out, size_t n, size_t cap, const char *s, size_t len)
{
    assert_true(len < 65536 && n + 3 + len <= cap);
    if (len < 24) {
        out[n++] = (unsigned char)(0x60 + len);
    } else if (len < 256) {
        out[n++] = 0x78;
        out[n++] = (unsigned char)len;
    } else {
        out[n++] = 0x79;
        out[n++] = (unsigned char)(len >> 8);
        out[n++] = (unsigned char)len;
    }
    memcpy(out + n, s, len);
    return n + len;
}

/* A relay_announce transaction:
 *   TX_HEAD(04) a7 {0: tstr endpoint, 1: tstr region, 2: 1000, 3: 0, 4: quota, 5: burst_quota,
 *                   6: burst_hours} TX_SIG
 * with quota, burst_quota and burst_hours given as CBOR uint hex. Returns the reject string. */
static const char *announce_full(bwc_tx *tx, const char *endpoint, size_t elen, const char *region,
                                 const char *quota, const char *burst, const char *hours)
{
    unsigned char buf[1024];
    size_t n = append_hex(buf, 0, sizeof buf, TX_HEAD("04") "a7" "00");
    n = append_tstr(buf, n, sizeof buf, endpoint, elen);
    n = append_hex(buf, n, sizeof buf, "01");
    n = append_tstr(buf, n, sizeof buf, region, strlen(region));
    n = append_hex(buf, n, sizeof buf, "02" "1903e8" "03" "00" "04");
    n = append_hex(buf, n, sizeof buf, quota);
    n = append_hex(buf, n, sizeof buf, "05");
    n = append_hex(buf, n, sizeof buf, burst);
    n = append_hex(buf, n, sizeof buf, "06");
    n = append_hex(buf, n, sizeof buf, hours);
    n = append_hex(buf, n, sizeof buf, TX_SIG);
    return decode_bytes(tx, buf, n);
}

/* quota 10^9 (1a3b9aca00), burst_quota 2*10^9 (1a77359400), burst_hours 24 (1818). */
static const char *announce_endpoint(const char *endpoint)
{
    bwc_tx tx;
    return announce_full(&tx, endpoint, strlen(endpoint), "DE", "1a3b9aca00", "1a77359400",
                         "1818");
}

static const char *announce_region(const char *region)
{
    bwc_tx tx;
    return announce_full(&tx, "http://relay.example.org:8080", 29, region, "1a3b9aca00",
                         "1a77359400", "1818");
}

static const char *announce_quota(const char *quota, const char *burst, const char *hours)
{
    bwc_tx tx;
    return announce_full(&tx, "http://relay.example.org:8080", 29, "DE", quota, burst, hours);
}

/* ================= the six types: decode, fields, re-encode identical ================= */

static void test_transfer_with_memo(void **state)
{
    (void)state;
    bwc_tx tx;
    decode_reencode(&tx, TRANSFER(TRANSFER_MEMO_BODY));
    check_common(&tx, BWC_TX_TRANSFER);
    assert_true(bytes_all(tx.body.transfer.to.b, 32, 0x22));
    assert_int_equal(tx.body.transfer.amount, 500000);
    assert_int_equal(tx.body.transfer.memo_len, 2);
    assert_memory_equal(tx.body.transfer.memo, "hi", 2);
}

static void test_transfer_without_memo(void **state)
{
    (void)state;
    bwc_tx tx;
    decode_reencode(&tx, TRANSFER(TRANSFER_BODY));
    check_common(&tx, BWC_TX_TRANSFER);
    assert_int_equal(tx.body.transfer.amount, 500000);
    assert_int_equal(tx.body.transfer.memo_len, 0);
}

/* The encoder on a struct filled field by field (not from the decoder). */
static void test_transfer_encode_from_struct(void **state)
{
    (void)state;
    bwc_tx tx;
    bwc_buf b = BWC_BUF_INIT;
    memset(&tx, 0, sizeof tx);
    tx.type = BWC_TX_TRANSFER;
    memset(tx.from.b, 0x11, 32);
    tx.nonce = 5;
    tx.fee = 1000;
    memset(tx.body.transfer.to.b, 0x22, 32);
    tx.body.transfer.amount = 500000;
    memcpy(tx.body.transfer.memo, "hi", 2);
    tx.body.transfer.memo_len = 2;
    memset(tx.sig.b, 0x33, 64);
    assert_true(bwc_tx_encode(&tx, 0, &b));
    assert_bytes_hex(b.data, b.len, TRANSFER(TRANSFER_MEMO_BODY));
    bwc_buf_free(&b);
}

static void test_channel_open(void **state)
{
    (void)state;
    bwc_tx tx;
    decode_reencode(&tx, TX_HEAD("02") CHANNEL_OPEN_BODY TX_SIG);
    check_common(&tx, BWC_TX_CHANNEL_OPEN);
    assert_true(bytes_all(tx.body.channel_open.relay.b, 32, 0x22));
    assert_int_equal(tx.body.channel_open.deposit, 100000000);
    assert_int_equal(tx.body.channel_open.price, 1000);
    assert_int_equal(tx.body.channel_open.expiry, 5000);
}

/* content_register with name "a.txt" (65 612e747874), origin "http://127.0.0.1:1" (18 bytes:
 * 72 ...) and mime "text/plain" (6a ...); size 40000 = 199c40, chunk_size 16384 = 194000. */
static void test_content_register_all_optionals(void **state)
{
    (void)state;
    bwc_tx tx;
    decode_reencode(&tx, CR("a6", "199c40", "194000",
                            "03" "65" "612e747874"
                            "04" "72" "687474703a2f2f3132372e302e302e313a31"
                            "05" "6a" "746578742f706c61696e"));
    check_common(&tx, BWC_TX_CONTENT_REGISTER);
    const bwc_tx_content_register *c = &tx.body.content_register;
    assert_true(bytes_all(c->content_id.b, 32, 0x44));
    assert_int_equal(c->size, 40000);
    assert_int_equal(c->chunk_size, 16384);
    assert_int_equal(c->name_len, 5);
    assert_string_equal(c->name, "a.txt");
    assert_int_equal(c->origin_len, 18);
    assert_string_equal(c->origin, "http://127.0.0.1:1");
    assert_int_equal(c->mime_len, 10);
    assert_string_equal(c->mime, "text/plain");
}

static void test_content_register_no_optionals(void **state)
{
    (void)state;
    bwc_tx tx;
    decode_reencode(&tx, CR("a3", "199c40", "194000", ""));
    check_common(&tx, BWC_TX_CONTENT_REGISTER);
    assert_int_equal(tx.body.content_register.size, 40000);
    assert_int_equal(tx.body.content_register.name_len, 0);
    assert_int_equal(tx.body.content_register.origin_len, 0);
    assert_int_equal(tx.body.content_register.mime_len, 0);
}

/* Only key 5 of the optional ones: keys 3 and 4 are skipped, not encoded empty. */
static void test_content_register_only_mime(void **state)
{
    (void)state;
    bwc_tx tx;
    decode_reencode(&tx, CR("a4", "199c40", "194000", "05" "6a" "746578742f706c61696e"));
    assert_int_equal(tx.body.content_register.name_len, 0);
    assert_int_equal(tx.body.content_register.origin_len, 0);
    assert_string_equal(tx.body.content_register.mime, "text/plain");
}

/* endpoint "http://relay.example.org:8080" (29 bytes: 78 1d ...), region "DE" (62 4445). */
static void test_relay_announce(void **state)
{
    (void)state;
    bwc_tx tx;
    decode_reencode(&tx, TX_HEAD("04") "a7"
                         "00" "781d" "687474703a2f2f72656c61792e6578616d706c652e6f72673a38303830"
                         "01" "62" "4445"
                         "02" "1903e8" "03" "00" "04" "1a3b9aca00" "05" "1a77359400" "06" "1818"
                         TX_SIG);
    check_common(&tx, BWC_TX_RELAY_ANNOUNCE);
    const bwc_tx_relay_announce *a = &tx.body.relay_announce;
    assert_string_equal(a->endpoint, "http://relay.example.org:8080");
    assert_int_equal(a->endpoint_len, 29);
    assert_string_equal(a->region, "DE");
    assert_int_equal(a->region_len, 2);
    assert_int_equal(a->price, 1000);
    assert_int_equal(a->rate, 0);
    assert_int_equal(a->quota, 1000000000);
    assert_int_equal(a->burst_quota, 2000000000);
    assert_int_equal(a->burst_hours, 24);
}

static void test_relay_retire(void **state)
{
    (void)state;
    bwc_tx tx;
    decode_reencode(&tx, TX_HEAD("05") "a0" TX_SIG);
    check_common(&tx, BWC_TX_RELAY_RETIRE);
}

static void test_sponsor_with_ticket_key(void **state)
{
    (void)state;
    bwc_tx tx;
    /* a6: the five fields of SPONSOR_BODY_NO_TICKET plus 5: h'55'*32 */
    decode_reencode(&tx, TX_HEAD("06") "a6" "00" B32("44") "01" "1a000f4240" "02" "1907d0"
                                       "03" "19c350" "04" "191b58" "05" B32("55") TX_SIG);
    check_common(&tx, BWC_TX_SPONSOR);
    const bwc_tx_sponsor *s = &tx.body.sponsor;
    assert_true(bytes_all(s->content_id.b, 32, 0x44));
    assert_int_equal(s->amount, 1000000);
    assert_int_equal(s->price, 2000);
    assert_int_equal(s->per_consumer_cap, 50000);
    assert_int_equal(s->expiry, 7000);
    assert_int_equal(s->has_ticket_key, 1);
    assert_true(bytes_all(s->ticket_key.b, 32, 0x55));
}

static void test_sponsor_without_ticket_key(void **state)
{
    (void)state;
    bwc_tx tx;
    decode_reencode(&tx, TX_HEAD("06") SPONSOR_BODY_NO_TICKET TX_SIG);
    check_common(&tx, BWC_TX_SPONSOR);
    assert_int_equal(tx.body.sponsor.has_ticket_key, 0);
    assert_int_equal(tx.body.sponsor.per_consumer_cap, 50000);
}

/* ================= canonical-form rejections (§2) ================= */

static void test_rejects_unsorted_keys(void **state)
{
    (void)state;
    /* keys 0, 1, 3, 2, ...: fee before nonce */
    assert_string_equal(reject_of("a6" "00" "01" "01" B32("11") "03" "1903e8" "02" "05"
                                  "04" TRANSFER_BODY TX_SIG),
                        "cbor-map-keys-unsorted");
}

static void test_rejects_duplicate_key(void **state)
{
    (void)state;
    /* key 1 twice in place of key 2 */
    assert_string_equal(reject_of("a6" "00" "01" "01" B32("11") "01" B32("11") "03" "1903e8"
                                  "04" TRANSFER_BODY TX_SIG),
                        "cbor-map-key-duplicate");
}

static void test_rejects_non_shortest_integer(void **state)
{
    (void)state;
    /* nonce 5 as 18 05 (one-byte form for a value below 24) */
    assert_string_equal(reject_of("a6" "00" "01" "01" B32("11") "02" "1805" "03" "1903e8"
                                  "04" TRANSFER_BODY TX_SIG),
                        "cbor-non-shortest");
}

static void test_rejects_indefinite_length(void **state)
{
    (void)state;
    /* body as an indefinite map bf ... ff */
    assert_string_equal(reject_of(TX_HEAD("01") "bf" "00" B32("22") "01" "1a0007a120" "ff"
                                  TX_SIG),
                        "cbor-indefinite-length");
}

static void test_rejects_float(void **state)
{
    (void)state;
    /* fee as float32 1000.0 (fa 447a0000) */
    assert_string_equal(reject_of("a6" "00" "01" "01" B32("11") "02" "05" "03" "fa447a0000"
                                  "04" TRANSFER_BODY TX_SIG),
                        "cbor-float");
}

static void test_rejects_tag(void **state)
{
    (void)state;
    /* nonce wrapped in tag 1 (c1 05) */
    assert_string_equal(reject_of("a6" "00" "01" "01" B32("11") "02" "c105" "03" "1903e8"
                                  "04" TRANSFER_BODY TX_SIG),
                        "cbor-tag");
}

static void test_rejects_trailing_bytes(void **state)
{
    (void)state;
    assert_string_equal(reject_of(TRANSFER(TRANSFER_BODY) "00"), "cbor-trailing-bytes");
}

static void test_rejects_unknown_top_level_key(void **state)
{
    (void)state;
    /* a7: key 5 = 0 between the body and the signature */
    assert_string_equal(reject_of("a7" "00" "01" "01" B32("11") "02" "05" "03" "1903e8"
                                  "04" TRANSFER_BODY "05" "00" TX_SIG),
                        "bad-tx-unknown-key");
}

static void test_rejects_unknown_body_key(void **state)
{
    (void)state;
    /* transfer body with key 3 */
    assert_string_equal(reject_of(TRANSFER("a3" "00" B32("22") "01" "1a0007a120" "03" "00")),
                        "bad-tx-body-unknown-key");
    /* relay_retire's body must be the empty map */
    assert_string_equal(reject_of(TX_HEAD("05") "a1" "00" "00" TX_SIG),
                        "bad-tx-body-unknown-key");
}

static void test_rejects_missing_top_level_field(void **state)
{
    (void)state;
    /* a5 without the nonce (key 2) */
    assert_string_equal(reject_of("a5" "00" "01" "01" B32("11") "03" "1903e8"
                                  "04" TRANSFER_BODY TX_SIG),
                        "bad-tx-missing-field");
    /* a5 without the signature (key 15) */
    assert_string_equal(reject_of("a5" "00" "01" "01" B32("11") "02" "05" "03" "1903e8"
                                  "04" TRANSFER_BODY),
                        "bad-tx-missing-field");
}

static void test_rejects_missing_body_field(void **state)
{
    (void)state;
    /* transfer body without amount (key 1) */
    assert_string_equal(reject_of(TRANSFER("a1" "00" B32("22"))), "bad-tx-body-missing-field");
}

static void test_rejects_too_deep(void **state)
{
    (void)state;
    /* nonce = 9 nested arrays [[[[[[[[[]]]]]]]]]: depth 10 with the tx map */
    assert_string_equal(reject_of("a6" "00" "01" "01" B32("11") "02" "818181818181818180"
                                  "03" "1903e8" "04" TRANSFER_BODY TX_SIG),
                        "cbor-too-deep");
    /* 8 nested arrays: depth 9, one too many */
    assert_string_equal(reject_of("a6" "00" "01" "01" B32("11") "02" "8181818181818180"
                                  "03" "1903e8" "04" TRANSFER_BODY TX_SIG),
                        "cbor-too-deep");
    /* 7 nested arrays: depth 8 is allowed by §2, so the failure is the field's type */
    assert_string_equal(reject_of("a6" "00" "01" "01" B32("11") "02" "81818181818180"
                                  "03" "1903e8" "04" TRANSFER_BODY TX_SIG),
                        "bad-tx-field");
}

static void test_rejects_oversize_before_parsing(void **state)
{
    (void)state;
    static unsigned char big[BWC_TX_MAX_BYTES + 1];
    bwc_tx tx;
    /* 4097 bytes of 0xff (not even CBOR): the size limit answers first. */
    memset(big, 0xff, sizeof big);
    assert_string_equal(decode_bytes(&tx, big, sizeof big), "bad-tx-oversize");
    /* At 4096 bytes the same garbage reaches the CBOR checker. */
    const char *rej = decode_bytes(&tx, big, BWC_TX_MAX_BYTES);
    assert_string_not_equal(rej, "bad-tx-oversize");
    assert_string_not_equal(rej, "");
}

/* ================= field rules ================= */

static void test_rejects_bad_utf8_name(void **state)
{
    (void)state;
    /* name = 61 ff: one byte that is not UTF-8 */
    assert_string_equal(reject_of(CR("a4", "199c40", "194000", "03" "61ff")), "cbor-bad-utf8");
}

static void test_rejects_empty_memo(void **state)
{
    (void)state;
    /* memo = 40 (empty bstr): an optional field is omitted, never present and empty */
    assert_string_equal(reject_of(TRANSFER("a3" "00" B32("22") "01" "1a0007a120" "02" "40")),
                        "bad-tx-body-field-length");
}

static void test_rejects_empty_name(void **state)
{
    (void)state;
    assert_string_equal(reject_of(CR("a4", "199c40", "194000", "03" "60")),
                        "bad-tx-body-field-length");
}

static void test_memo_length_limit(void **state)
{
    (void)state;
    bwc_tx tx;
    /* 64 bytes (58 40 ...) is the limit */
    assert_string_equal(decode_hex(&tx, TRANSFER("a3" "00" B32("22") "01" "1a0007a120"
                                                 "02" B64("ab"))),
                        "");
    assert_int_equal(tx.body.transfer.memo_len, 64);
    /* 65 bytes (58 41 ...) */
    assert_string_equal(reject_of(TRANSFER("a3" "00" B32("22") "01" "1a0007a120"
                                           "02" "5841" R64("ab") "ab")),
                        "bad-tx-body-field-length");
}

static void test_rejects_unknown_type_7(void **state)
{
    (void)state;
    assert_string_equal(reject_of(TX_HEAD("07") "a0" TX_SIG), "bad-tx-type");
}

static void test_rejects_unknown_type_0(void **state)
{
    (void)state;
    assert_string_equal(reject_of(TX_HEAD("00") "a0" TX_SIG), "bad-tx-type");
}

static void test_rejects_bstr_for_uint(void **state)
{
    (void)state;
    /* top level: nonce as h'05' */
    assert_string_equal(reject_of("a6" "00" "01" "01" B32("11") "02" "4105" "03" "1903e8"
                                  "04" TRANSFER_BODY TX_SIG),
                        "bad-tx-field");
    /* body: amount as h'05' */
    assert_string_equal(reject_of(TRANSFER("a2" "00" B32("22") "01" "4105")),
                        "bad-tx-body-field");
    /* the body itself as an array */
    assert_string_equal(reject_of(TX_HEAD("01") "80" TX_SIG), "bad-tx-body-field");
}

static void test_rejects_from_31_bytes(void **state)
{
    (void)state;
    /* 58 1f + 31 bytes */
    assert_string_equal(reject_of("a6" "00" "01" "01" "581f" R16("11") R8("11") R4("11")
                                  R2("11") R1("11") "02" "05" "03" "1903e8"
                                  "04" TRANSFER_BODY TX_SIG),
                        "bad-tx-field");
    /* likewise a signature of 63 bytes (58 3f) */
    assert_string_equal(reject_of(TX_HEAD("01") TRANSFER_BODY "0f" "583f" R32("33") R16("33")
                                  R8("33") R4("33") R2("33") R1("33")),
                        "bad-tx-field");
}

static void test_rejects_transfer_amount_zero(void **state)
{
    (void)state;
    assert_string_equal(reject_of(TRANSFER("a2" "00" B32("22") "01" "00")), "bad-tx-amount-zero");
}

static void test_rejects_sponsor_amount_zero(void **state)
{
    (void)state;
    assert_string_equal(reject_of(TX_HEAD("06") "a5" "00" B32("44") "01" "00" "02" "1907d0"
                                  "03" "19c350" "04" "191b58" TX_SIG),
                        "bad-tx-amount-zero");
}

static void test_rejects_deposit_zero(void **state)
{
    (void)state;
    assert_string_equal(reject_of(TX_HEAD("02") "a4" "00" B32("22") "01" "00" "02" "1903e8"
                                  "03" "191388" TX_SIG),
                        "bad-tx-deposit-zero");
}

static void test_rejects_chunk_size_not_power_of_two(void **state)
{
    (void)state;
    /* 20000 = 0x4e20 */
    assert_string_equal(reject_of(CR("a3", "199c40", "194e20", "")), "bad-tx-chunk-size");
}

static void test_rejects_chunk_size_below_16k(void **state)
{
    (void)state;
    /* 8192 = 0x2000 */
    assert_string_equal(reject_of(CR("a3", "199c40", "192000", "")), "bad-tx-chunk-size");
}

static void test_rejects_chunk_size_above_4m(void **state)
{
    (void)state;
    /* 8 MiB = 0x00800000 */
    assert_string_equal(reject_of(CR("a3", "199c40", "1a00800000", "")), "bad-tx-chunk-size");
    /* 4 MiB = 0x00400000 is the largest allowed */
    assert_string_equal(reject_of(CR("a3", "199c40", "1a00400000", "")), "");
}

static void test_rejects_size_zero(void **state)
{
    (void)state;
    assert_string_equal(reject_of(CR("a3", "00", "194000", "")), "bad-tx-content-size");
}

static void test_rejects_size_above_chunk_limit(void **state)
{
    (void)state;
    /* 16384 * 2^18 = 2^32 is the largest (1b 0000000100000000) ... */
    assert_string_equal(reject_of(CR("a3", "1b0000000100000000", "194000", "")), "");
    /* ... and 2^32 + 1 is one byte too many */
    assert_string_equal(reject_of(CR("a3", "1b0000000100000001", "194000", "")),
                        "bad-tx-content-size");
}

static void test_rejects_embedded_nul(void **state)
{
    (void)state;
    /* name "a\0b" (63 610062) */
    assert_string_equal(reject_of(CR("a4", "199c40", "194000", "03" "63610062")),
                        "bad-tx-body-field-length");
    /* mime "x\0" (62 7800) */
    assert_string_equal(reject_of(CR("a4", "199c40", "194000", "05" "627800")),
                        "bad-tx-body-field-length");
}

static void test_rejects_bad_origin(void **state)
{
    (void)state;
    /* origin "https://a.org:1" (15 bytes: 6f ...) follows the endpoint grammar */
    assert_string_equal(reject_of(CR("a4", "199c40", "194000",
                                     "04" "6f" "68747470733a2f2f612e6f72673a31")),
                        "bad-tx-origin");
}

/* ================= endpoint grammar ================= */

static void test_endpoint_accepts(void **state)
{
    (void)state;
    assert_string_equal(announce_endpoint("http://relay.example.org:8080"), "");
    assert_string_equal(announce_endpoint("http://127.0.0.1:1"), "");
    assert_string_equal(announce_endpoint("http://[::1]:65535"), "");
    assert_string_equal(announce_endpoint("http://a:80"), "");
    assert_true(bwc_endpoint_valid("http://relay.example.org:8080", 29));
    assert_true(bwc_endpoint_valid("http://255.255.255.255:65535", 28));
}

#define ENDPOINT_REJECT(name, ep)                                                                  \
    static void test_endpoint_rejects_##name(void **state)                                         \
    {                                                                                              \
        (void)state;                                                                               \
        assert_string_equal(announce_endpoint(ep), "bad-tx-endpoint");                             \
        assert_false(bwc_endpoint_valid(ep, strlen(ep)));                                          \
    }
ENDPOINT_REJECT(https, "https://relay.example.org:8080")
ENDPOINT_REJECT(upper_scheme, "HTTP://relay.example.org:8080")
ENDPOINT_REJECT(no_port, "http://relay.example.org")
ENDPOINT_REJECT(empty_port, "http://relay.example.org:")
ENDPOINT_REJECT(port_0, "http://relay.example.org:0")
ENDPOINT_REJECT(port_65536, "http://relay.example.org:65536")
ENDPOINT_REJECT(port_leading_zero, "http://relay.example.org:080")
ENDPOINT_REJECT(path_after_port, "http://relay.example.org:8080/")
ENDPOINT_REJECT(path_after_port2, "http://relay.example.org:8080/x")
ENDPOINT_REJECT(trailing_dot, "http://relay.example.org.:8080")
ENDPOINT_REJECT(ipv4_leading_zero, "http://010.0.0.1:80")
ENDPOINT_REJECT(ipv4_256, "http://256.1.1.1:80")
ENDPOINT_REJECT(ipv4_three_parts, "http://1.2.3:80")
ENDPOINT_REJECT(ipv4_five_parts, "http://1.2.3.4.5:80")
ENDPOINT_REJECT(label_leading_hyphen, "http://-relay.example.org:80")
ENDPOINT_REJECT(label_trailing_hyphen, "http://relay-.example.org:80")
ENDPOINT_REJECT(underscore, "http://relay_1.example.org:80")
ENDPOINT_REJECT(empty_host, "http://:80")
ENDPOINT_REJECT(zone_id, "http://[fe80::1%eth0]:80")
ENDPOINT_REJECT(ipv6_unbracketed, "http://::1:80")
ENDPOINT_REJECT(ipv6_no_port, "http://[::1]")
ENDPOINT_REJECT(userinfo, "http://u@relay.example.org:80")

/* 200 bytes: "http://" + 62 a's . 62 b's . 62 c's + ":8080" (7 + 188 + 5); 201 with 63 c's. */
static void test_endpoint_length_limit(void **state)
{
    (void)state;
    char ep[256];
    bwc_tx tx;
    size_t n = 0;
    memcpy(ep, "http://", 7), n = 7;
    memset(ep + n, 'a', 62), n += 62;
    ep[n++] = '.';
    memset(ep + n, 'b', 62), n += 62;
    ep[n++] = '.';
    memset(ep + n, 'c', 62), n += 62;
    memcpy(ep + n, ":8080", 5), n += 5;
    assert_int_equal(n, 200);
    assert_string_equal(announce_full(&tx, ep, n, "DE", "00", "00", "00"), "");
    assert_int_equal(tx.body.relay_announce.endpoint_len, 200);
    /* one more character in the last label: 201 bytes (78 c9 ...) */
    memmove(ep + n - 5 + 1, ep + n - 5, 5);
    ep[n - 5] = 'c';
    n++;
    assert_string_equal(announce_full(&tx, ep, n, "DE", "00", "00", "00"),
                        "bad-tx-body-field-length");
    assert_false(bwc_endpoint_valid(ep, n));
}

/* ================= region, quotas ================= */

static void test_region_accepts(void **state)
{
    (void)state;
    assert_string_equal(announce_region("DE"), "");
    assert_string_equal(announce_region("ZZ"), "");
}

static void test_region_rejects_lower_case(void **state)
{
    (void)state;
    assert_string_equal(announce_region("de"), "bad-tx-region");
}

static void test_region_rejects_one_letter(void **state)
{
    (void)state;
    assert_string_equal(announce_region("D"), "bad-tx-region");
}

static void test_region_rejects_three_letters(void **state)
{
    (void)state;
    /* longer than the field's 2-byte maximum: refused by the length rule */
    assert_string_equal(announce_region("DEU"), "bad-tx-body-field-length");
}

static void test_region_rejects_digit(void **state)
{
    (void)state;
    assert_string_equal(announce_region("D1"), "bad-tx-region");
}

static void test_rejects_burst_quota_below_quota(void **state)
{
    (void)state;
    /* quota 10^9, burst 10^9 - 1 (1a3b9ac9ff) */
    assert_string_equal(announce_quota("1a3b9aca00", "1a3b9ac9ff", "1818"), "bad-tx-burst-quota");
    /* equal is fine */
    assert_string_equal(announce_quota("1a3b9aca00", "1a3b9aca00", "1818"), "");
}

static void test_burst_hours(void **state)
{
    (void)state;
    assert_string_equal(announce_quota("00", "00", "0b"), "bad-tx-burst-hours");   /* 11 */
    assert_string_equal(announce_quota("00", "00", "1831"), "bad-tx-burst-hours"); /* 49 */
    assert_string_equal(announce_quota("00", "00", "00"), "");                     /* 0 */
    assert_string_equal(announce_quota("00", "00", "0c"), "");                     /* 12 */
    assert_string_equal(announce_quota("00", "00", "1830"), "");                   /* 48 */
}

static void test_rejects_per_consumer_cap_zero(void **state)
{
    (void)state;
    assert_string_equal(reject_of(TX_HEAD("06") "a5" "00" B32("44") "01" "1a000f4240"
                                  "02" "1907d0" "03" "00" "04" "191b58" TX_SIG),
                        "bad-tx-cap-zero");
}

/* ================= txid and leaf ================= */

/* enc(tx\{15}) of TRANSFER(TRANSFER_BODY): the same map, one entry fewer (a5), no key 15. */
#define TRANSFER_NOSIG "a5" "00" "01" "01" B32("11") "02" "05" "03" "1903e8" "04" TRANSFER_BODY

static void test_txid_by_hand(void **state)
{
    (void)state;
    unsigned char nosig[256];
    bwc_hash chain, want, got, other_chain;
    bwc_tx tx;
    size_t nn = unit_hex(nosig, sizeof nosig, TRANSFER_NOSIG);
    memset(chain.b, 0xc0, 32);
    bwc_tagged_hash2(&want, "bwc/tx", chain.b, 32, nosig, nn);

    assert_string_equal(decode_hex(&tx, TRANSFER(TRANSFER_BODY)), "");
    bwc_tx_id(&chain, &tx, &got);
    assert_memory_equal(got.b, want.b, 32);

    /* the without-sig encoding itself */
    bwc_buf b = BWC_BUF_INIT;
    assert_true(bwc_tx_encode(&tx, 1, &b));
    assert_bytes_hex(b.data, b.len, TRANSFER_NOSIG);
    bwc_buf_free(&b);

    /* the signature is not part of the txid... */
    memset(tx.sig.b, 0x77, 64);
    bwc_tx_id(&chain, &tx, &got);
    assert_memory_equal(got.b, want.b, 32);
    /* ...the chain is */
    memset(other_chain.b, 0xc1, 32);
    bwc_tx_id(&other_chain, &tx, &got);
    assert_memory_not_equal(got.b, want.b, 32);
    /* and so is every field, e.g. the nonce */
    tx.nonce = 6;
    bwc_tx_id(&chain, &tx, &got);
    assert_memory_not_equal(got.b, want.b, 32);
}

static void test_tx_leaf(void **state)
{
    (void)state;
    unsigned char whole[256];
    bwc_hash chain, txid, want, leaf, leaf2, txid2;
    bwc_tx tx;
    size_t n = unit_hex(whole, sizeof whole, TRANSFER(TRANSFER_BODY));
    memset(chain.b, 0xc0, 32);
    /* TH("bwc/txw", enc(tx)), signature included, no chain id */
    bwc_tagged_hash(&want, "bwc/txw", whole, n);

    assert_string_equal(decode_hex(&tx, TRANSFER(TRANSFER_BODY)), "");
    bwc_tx_leaf(&tx, &leaf);
    assert_memory_equal(leaf.b, want.b, 32);
    bwc_tx_id(&chain, &tx, &txid);
    assert_memory_not_equal(leaf.b, txid.b, 32);

    tx.sig.b[63] ^= 1;
    bwc_tx_leaf(&tx, &leaf2);
    bwc_tx_id(&chain, &tx, &txid2);
    assert_memory_not_equal(leaf2.b, leaf.b, 32);
    assert_memory_equal(txid2.b, txid.b, 32);
}

static void test_type_names(void **state)
{
    (void)state;
    assert_string_equal(bwc_tx_type_name(1), "transfer");
    assert_string_equal(bwc_tx_type_name(6), "sponsor");
    assert_null(bwc_tx_type_name(0));
    assert_null(bwc_tx_type_name(7));
}

/* clang-format on */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transfer_with_memo),
        cmocka_unit_test(test_transfer_without_memo),
        cmocka_unit_test(test_transfer_encode_from_struct),
        cmocka_unit_test(test_channel_open),
        cmocka_unit_test(test_content_register_all_optionals),
        cmocka_unit_test(test_content_register_no_optionals),
        cmocka_unit_test(test_content_register_only_mime),
        cmocka_unit_test(test_relay_announce),
        cmocka_unit_test(test_relay_retire),
        cmocka_unit_test(test_sponsor_with_ticket_key),
        cmocka_unit_test(test_sponsor_without_ticket_key),
        cmocka_unit_test(test_rejects_unsorted_keys),
        cmocka_unit_test(test_rejects_duplicate_key),
        cmocka_unit_test(test_rejects_non_shortest_integer),
        cmocka_unit_test(test_rejects_indefinite_length),
        cmocka_unit_test(test_rejects_float),
        cmocka_unit_test(test_rejects_tag),
        cmocka_unit_test(test_rejects_trailing_bytes),
        cmocka_unit_test(test_rejects_unknown_top_level_key),
        cmocka_unit_test(test_rejects_unknown_body_key),
        cmocka_unit_test(test_rejects_missing_top_level_field),
        cmocka_unit_test(test_rejects_missing_body_field),
        cmocka_unit_test(test_rejects_too_deep),
        cmocka_unit_test(test_rejects_oversize_before_parsing),
        cmocka_unit_test(test_rejects_bad_utf8_name),
        cmocka_unit_test(test_rejects_empty_memo),
        cmocka_unit_test(test_rejects_empty_name),
        cmocka_unit_test(test_memo_length_limit),
        cmocka_unit_test(test_rejects_unknown_type_7),
        cmocka_unit_test(test_rejects_unknown_type_0),
        cmocka_unit_test(test_rejects_bstr_for_uint),
        cmocka_unit_test(test_rejects_from_31_bytes),
        cmocka_unit_test(test_rejects_transfer_amount_zero),
        cmocka_unit_test(test_rejects_sponsor_amount_zero),
        cmocka_unit_test(test_rejects_deposit_zero),
        cmocka_unit_test(test_rejects_chunk_size_not_power_of_two),
        cmocka_unit_test(test_rejects_chunk_size_below_16k),
        cmocka_unit_test(test_rejects_chunk_size_above_4m),
        cmocka_unit_test(test_rejects_size_zero),
        cmocka_unit_test(test_rejects_size_above_chunk_limit),
        cmocka_unit_test(test_rejects_embedded_nul),
        cmocka_unit_test(test_rejects_bad_origin),
        cmocka_unit_test(test_endpoint_accepts),
        cmocka_unit_test(test_endpoint_rejects_https),
        cmocka_unit_test(test_endpoint_rejects_upper_scheme),
        cmocka_unit_test(test_endpoint_rejects_no_port),
        cmocka_unit_test(test_endpoint_rejects_empty_port),
        cmocka_unit_test(test_endpoint_rejects_port_0),
        cmocka_unit_test(test_endpoint_rejects_port_65536),
        cmocka_unit_test(test_endpoint_rejects_port_leading_zero),
        cmocka_unit_test(test_endpoint_rejects_path_after_port),
        cmocka_unit_test(test_endpoint_rejects_path_after_port2),
        cmocka_unit_test(test_endpoint_rejects_trailing_dot),
        cmocka_unit_test(test_endpoint_rejects_ipv4_leading_zero),
        cmocka_unit_test(test_endpoint_rejects_ipv4_256),
        cmocka_unit_test(test_endpoint_rejects_ipv4_three_parts),
        cmocka_unit_test(test_endpoint_rejects_ipv4_five_parts),
        cmocka_unit_test(test_endpoint_rejects_label_leading_hyphen),
        cmocka_unit_test(test_endpoint_rejects_label_trailing_hyphen),
        cmocka_unit_test(test_endpoint_rejects_underscore),
        cmocka_unit_test(test_endpoint_rejects_empty_host),
        cmocka_unit_test(test_endpoint_rejects_zone_id),
        cmocka_unit_test(test_endpoint_rejects_ipv6_unbracketed),
        cmocka_unit_test(test_endpoint_rejects_ipv6_no_port),
        cmocka_unit_test(test_endpoint_rejects_userinfo),
        cmocka_unit_test(test_endpoint_length_limit),
        cmocka_unit_test(test_region_accepts),
        cmocka_unit_test(test_region_rejects_lower_case),
        cmocka_unit_test(test_region_rejects_one_letter),
        cmocka_unit_test(test_region_rejects_three_letters),
        cmocka_unit_test(test_region_rejects_digit),
        cmocka_unit_test(test_rejects_burst_quota_below_quota),
        cmocka_unit_test(test_burst_hours),
        cmocka_unit_test(test_rejects_per_consumer_cap_zero),
        cmocka_unit_test(test_txid_by_hand),
        cmocka_unit_test(test_tx_leaf),
        cmocka_unit_test(test_type_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
