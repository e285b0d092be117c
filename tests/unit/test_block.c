/* test_block.c: Merkle roots, block headers and ids, and whole blocks (PROTOCOL.md §3.6). */
#include "tests/unit/unit.h"

#include "consensus/block.h"
#include "consensus/hash.h"
#include "consensus/header.h"
#include "consensus/merkle.h"

/* The hand-built CBOR below keeps one map entry per group of hex literals (STYLE.md: clarity
 * wins); the formatter would put every literal on a line of its own. */
/* clang-format off */

/* Hex of a byte repeated, and byte strings of 32 (58 20 ...) or 64 (58 40 ...) such bytes. */
#define R2(s) s s
#define R4(s) R2(s) R2(s)
#define R8(s) R4(s) R4(s)
#define R16(s) R8(s) R8(s)
#define R32(s) R16(s) R16(s)
#define R64(s) R32(s) R32(s)
#define B32(x) "5820" R32(x)
#define B64(x) "5840" R64(x)

/* Header keys 0-6 with the given roots (each a 2-hex-digit byte repeated 32 times):
 *   00 01                 0: version 1
 *   01 0a                 1: height 10
 *   02 5820 01..01        2: prev
 *   03 1a 6553f100        3: time 1700000000
 *   04 5820 <tx_root>     4: tx_root
 *   05 5820 <rc_root>     5: receipt_root
 *   06 5820 04..04        6: producer                                                      */
#define HDR_BASE(txr, rcr)                                                                         \
    "00" "01" "01" "0a" "02" B32("01") "03" "1a6553f100" "04" B32(txr) "05" B32(rcr) "06" B32("04")
/* pow: a9, plus 07 1a 1d00ffff (target) and 08 19 3039 (nonce 12345) */
#define POW_HEADER "a9" HDR_BASE("02", "03") "07" "1a1d00ffff" "08" "193039"
/* poa: a8, plus 0f 5840 05..05 (sig) */
#define POA_HEADER "a8" HDR_BASE("02", "03") "0f" B64("05")
#define POA_HEADER_NOSIG "a7" HDR_BASE("02", "03")

/* A transfer {0:1, 1:h'11'*32, 2:5, 3:1000, 4:{0:h'22'*32, 1:500000}, 15:h'33'*64} and a
 * relay_retire {0:5, 1:h'11'*32, 2:6, 3:1000, 4:{}, 15:h'33'*64}. */
#define TX_TRANSFER                                                                                \
    "a6" "00" "01" "01" B32("11") "02" "05" "03" "1903e8" "04" "a2" "00" B32("22")                  \
    "01" "1a0007a120" "0f" B64("33")
#define TX_TRANSFER_AMOUNT_0                                                                       \
    "a6" "00" "01" "01" B32("11") "02" "05" "03" "1903e8" "04" "a2" "00" B32("22")                  \
    "01" "00" "0f" B64("33")
#define TX_RETIRE "a6" "00" "05" "01" B32("11") "02" "06" "03" "1903e8" "04" "a0" "0f" B64("33")
/* A channel receipt {0:h'66'*32, 1:3, 2:2^20, 3:1000, 4:h'77'*32, 14:h'88'*64, 15:h'99'*64}. */
#define RECEIPT                                                                                    \
    "a7" "00" B32("66") "01" "03" "02" "1a00100000" "03" "1903e8" "04" B32("77")                    \
    "0e" B64("88") "0f" B64("99")

static unsigned char g_buf[8192];

static int bytes_all(const void *p, size_t n, unsigned char v)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i] != v)
            return 0;
    return 1;
}

static void assert_bytes_hex(const unsigned char *p, size_t n, const char *hex)
{
    char *got = malloc(2 * n + 1);
    assert_non_null(got);
    bwc_hex_encode(got, p, n);
    int same = strcmp(got, hex) == 0;
    if (!same)
        print_error("got  %s\nwant %s\n", got, hex);
    free(got);
    assert_true(same);
}

/* M(l, r) = TH("bwc/merkle", l || r) */
static bwc_hash merkle_pair(bwc_hash l, bwc_hash r)
{
    bwc_hash out;
    bwc_tagged_hash2(&out, "bwc/merkle", l.b, 32, r.b, 32);
    return out;
}

static bwc_hash leaf_of(const char *s)
{
    bwc_hash h;
    bwc_sha256(&h, s, strlen(s));
    return h;
}

/* bwc_merkle_root over a copy of the first n of the five test leaves a..e. */
static bwc_hash root_of(size_t n)
{
    bwc_hash leaves[5] = {leaf_of("a"), leaf_of("b"), leaf_of("c"), leaf_of("d"), leaf_of("e")};
    bwc_hash root;
    memset(root.b, 0xee, 32);
    bwc_merkle_root(leaves, n, &root);
    return root;
}

/* ================= Merkle roots ================= */

static void test_merkle_empty_is_zero(void **state)
{
    (void)state;
    bwc_hash r = root_of(0);
    assert_true(bytes_all(r.b, 32, 0));
}

static void test_merkle_one_is_the_leaf(void **state)
{
    (void)state;
    bwc_hash r = root_of(1), a = leaf_of("a");
    assert_memory_equal(r.b, a.b, 32);
}

static void test_merkle_two(void **state)
{
    (void)state;
    bwc_hash r = root_of(2), want = merkle_pair(leaf_of("a"), leaf_of("b"));
    assert_memory_equal(r.b, want.b, 32);
    /* order matters */
    bwc_hash swapped = merkle_pair(leaf_of("b"), leaf_of("a"));
    assert_memory_not_equal(r.b, swapped.b, 32);
}

static void test_merkle_three_promotes_odd_node(void **state)
{
    (void)state;
    bwc_hash a = leaf_of("a"), b = leaf_of("b"), c = leaf_of("c");
    bwc_hash r = root_of(3);
    bwc_hash want = merkle_pair(merkle_pair(a, b), c); /* M(M(a,b), c) */
    assert_memory_equal(r.b, want.b, 32);
    /* not Bitcoin's duplication M(M(a,b), M(c,c)) */
    bwc_hash dup = merkle_pair(merkle_pair(a, b), merkle_pair(c, c));
    assert_memory_not_equal(r.b, dup.b, 32);
}

static void test_merkle_five(void **state)
{
    (void)state;
    bwc_hash a = leaf_of("a"), b = leaf_of("b"), c = leaf_of("c"), d = leaf_of("d"),
             e = leaf_of("e");
    bwc_hash r = root_of(5);
    /* M(M(M(a,b), M(c,d)), e): e is promoted twice */
    bwc_hash want = merkle_pair(merkle_pair(merkle_pair(a, b), merkle_pair(c, d)), e);
    assert_memory_equal(r.b, want.b, 32);
    bwc_hash r4 = root_of(4);
    bwc_hash want4 = merkle_pair(merkle_pair(a, b), merkle_pair(c, d));
    assert_memory_equal(r4.b, want4.b, 32);
}

/* ================= headers ================= */

/* Decodes a header from hex into *h (pre-filled with garbage); "" or the reject string, with
 * *h asserted zero on failure. */
static const char *header_decode_hex(bwc_header *h, const char *hex)
{
    bwc_result res;
    size_t n = unit_hex(g_buf, sizeof g_buf, hex);
    memset(h, 0xa5, sizeof *h);
    if (bwc_header_decode(h, g_buf, n, &res)) {
        assert_int_equal(res.code, BWC_RESULT_OK);
        return "";
    }
    assert_int_equal(res.code, BWC_RESULT_MALFORMED);
    assert_true(bytes_all(h, sizeof *h, 0));
    return res.reject;
}

static const char *header_reject(const char *hex)
{
    bwc_header h;
    return header_decode_hex(&h, hex);
}

static void header_reencode(const bwc_header *h, const char *hex)
{
    bwc_buf b = BWC_BUF_INIT;
    assert_true(bwc_header_encode(h, 0, &b));
    assert_bytes_hex(b.data, b.len, hex);
    bwc_buf_free(&b);
}

static void check_header_base(const bwc_header *h)
{
    assert_int_equal(h->version, 1);
    assert_int_equal(h->height, 10);
    assert_true(bytes_all(h->prev.b, 32, 0x01));
    assert_int_equal(h->time, 1700000000);
    assert_true(bytes_all(h->tx_root.b, 32, 0x02));
    assert_true(bytes_all(h->receipt_root.b, 32, 0x03));
    assert_true(bytes_all(h->producer.b, 32, 0x04));
}

static void test_pow_header_round_trip(void **state)
{
    (void)state;
    bwc_header h;
    assert_string_equal(header_decode_hex(&h, POW_HEADER), "");
    check_header_base(&h);
    assert_int_equal(h.has_pow, 1);
    assert_int_equal(h.target, 0x1d00ffff);
    assert_int_equal(h.nonce, 12345);
    assert_int_equal(h.has_sig, 0);
    header_reencode(&h, POW_HEADER);
}

static void test_poa_header_round_trip(void **state)
{
    (void)state;
    bwc_header h;
    assert_string_equal(header_decode_hex(&h, POA_HEADER), "");
    check_header_base(&h);
    assert_int_equal(h.has_pow, 0);
    assert_int_equal(h.has_sig, 1);
    assert_true(bytes_all(h.sig.b, 64, 0x05));
    header_reencode(&h, POA_HEADER);
}

static void test_block_id_by_hand(void **state)
{
    (void)state;
    unsigned char m[512];
    bwc_hash want, got;
    bwc_header h;

    /* poa: the id hashes the header without key 15 (a7, keys 0-6) */
    size_t n = unit_hex(m, sizeof m, POA_HEADER_NOSIG);
    bwc_tagged_hash(&want, "bwc/block", m, n);
    assert_string_equal(header_decode_hex(&h, POA_HEADER), "");
    bwc_header_id(&h, &got);
    assert_memory_equal(got.b, want.b, 32);
    bwc_buf b = BWC_BUF_INIT;
    assert_true(bwc_header_encode(&h, 1, &b));
    assert_bytes_hex(b.data, b.len, POA_HEADER_NOSIG);
    bwc_buf_free(&b);
    /* the signature does not change the id; the height does */
    h.sig.b[0] ^= 1;
    bwc_header_id(&h, &got);
    assert_memory_equal(got.b, want.b, 32);
    h.height++;
    bwc_header_id(&h, &got);
    assert_memory_not_equal(got.b, want.b, 32);

    /* pow: no key 15, so the whole header is hashed, target and nonce included */
    n = unit_hex(m, sizeof m, POW_HEADER);
    bwc_tagged_hash(&want, "bwc/block", m, n);
    assert_string_equal(header_decode_hex(&h, POW_HEADER), "");
    bwc_header_id(&h, &got);
    assert_memory_equal(got.b, want.b, 32);
    h.nonce++;
    bwc_header_id(&h, &got);
    assert_memory_not_equal(got.b, want.b, 32);
}

static void test_header_rejects_version_2(void **state)
{
    (void)state;
    assert_string_equal(header_reject("a8" "00" "02" "01" "0a" "02" B32("01") "03" "1a6553f100"
                                      "04" B32("02") "05" B32("03") "06" B32("04")
                                      "0f" B64("05")),
                        "bad-header-version");
}

static void test_header_rejects_target_without_nonce(void **state)
{
    (void)state;
    assert_string_equal(header_reject("a8" HDR_BASE("02", "03") "07" "1a1d00ffff"),
                        "bad-header-pow-fields");
    assert_string_equal(header_reject("a8" HDR_BASE("02", "03") "08" "193039"),
                        "bad-header-pow-fields");
}

static void test_header_rejects_target_above_u32(void **state)
{
    (void)state;
    /* 2^32 (1b 0000000100000000) */
    assert_string_equal(header_reject("a9" HDR_BASE("02", "03") "07" "1b0000000100000000"
                                      "08" "193039"),
                        "bad-header-field");
    /* 2^32 - 1 (1a ffffffff) still fits */
    bwc_header h;
    assert_string_equal(header_decode_hex(&h, "a9" HDR_BASE("02", "03") "07" "1affffffff"
                                              "08" "193039"),
                        "");
    assert_true(h.target == 0xffffffffu);
}

static void test_header_rejects_oversize(void **state)
{
    (void)state;
    unsigned char big[BWC_HEADER_MAX_BYTES + 1];
    bwc_header h;
    bwc_result res;
    memset(big, 0xff, sizeof big);
    memset(&h, 0xa5, sizeof h);
    assert_false(bwc_header_decode(&h, big, sizeof big, &res));
    assert_string_equal(res.reject, "bad-header-oversize");
    assert_true(bytes_all(&h, sizeof h, 0));
    assert_false(bwc_header_decode(&h, big, BWC_HEADER_MAX_BYTES, &res));
    assert_string_not_equal(res.reject, "bad-header-oversize");
}

static void test_header_rejects_unknown_key(void **state)
{
    (void)state;
    /* key 9 = 0 */
    assert_string_equal(header_reject("a8" HDR_BASE("02", "03") "09" "00"),
                        "bad-header-unknown-key");
}

static void test_header_rejects_missing_field(void **state)
{
    (void)state;
    /* a6 without the producer (key 6) */
    assert_string_equal(header_reject("a6" "00" "01" "01" "0a" "02" B32("01") "03" "1a6553f100"
                                      "04" B32("02") "05" B32("03")),
                        "bad-header-missing-field");
}

/* ================= blocks ================= */

/* Decodes a block (pre-filled with garbage). "" or the reject string, with *b zero on failure. */
static const char *block_decode_bytes(bwc_block *b, const unsigned char *p, size_t n, size_t max)
{
    bwc_result res;
    memset(b, 0xa5, sizeof *b);
    if (bwc_block_decode(b, p, n, max, &res)) {
        assert_int_equal(res.code, BWC_RESULT_OK);
        return "";
    }
    assert_int_equal(res.code, BWC_RESULT_MALFORMED);
    assert_true(bytes_all(b, sizeof *b, 0));
    return res.reject;
}

static const char *block_reject(const char *hex)
{
    bwc_block b;
    size_t n = unit_hex(g_buf, sizeof g_buf, hex);
    const char *rej = block_decode_bytes(&b, g_buf, n, 2u << 20);
    bwc_block_free(&b);
    return rej;
}

/* a3 {0: header, 1: [transfer, relay_retire], 2: [receipt]} */
#define BLOCK_HEX(header) "a3" "00" header "01" "82" TX_TRANSFER TX_RETIRE "02" "81" RECEIPT

/* The block of BLOCK_HEX(POA_HEADER), filled field by field. Caller frees with bwc_block_free. */
static void build_block(bwc_block *blk)
{
    memset(blk, 0, sizeof *blk);
    bwc_header *h = &blk->header;
    h->version = 1;
    h->height = 10;
    memset(h->prev.b, 0x01, 32);
    h->time = 1700000000;
    memset(h->tx_root.b, 0x02, 32);
    memset(h->receipt_root.b, 0x03, 32);
    memset(h->producer.b, 0x04, 32);
    h->has_sig = 1;
    memset(h->sig.b, 0x05, 64);

    blk->txs = calloc(2, sizeof *blk->txs);
    assert_non_null(blk->txs);
    blk->n_txs = 2;
    bwc_tx *t = &blk->txs[0];
    t->type = BWC_TX_TRANSFER;
    memset(t->from.b, 0x11, 32);
    t->nonce = 5;
    t->fee = 1000;
    memset(t->body.transfer.to.b, 0x22, 32);
    t->body.transfer.amount = 500000;
    memset(t->sig.b, 0x33, 64);
    t = &blk->txs[1];
    t->type = BWC_TX_RELAY_RETIRE;
    memset(t->from.b, 0x11, 32);
    t->nonce = 6;
    t->fee = 1000;
    memset(t->sig.b, 0x33, 64);

    blk->receipts = calloc(1, sizeof *blk->receipts);
    assert_non_null(blk->receipts);
    blk->n_receipts = 1;
    bwc_receipt *r = &blk->receipts[0];
    memset(r->channel.b, 0x66, 32);
    r->seq = 3;
    r->bytes = 1u << 20;
    r->amount = 1000;
    memset(r->digest.b, 0x77, 32);
    r->has_relay_sig = 1;
    memset(r->relay_sig.b, 0x88, 64);
    memset(r->consumer_sig.b, 0x99, 64);
}

static void test_block_encode_decode(void **state)
{
    (void)state;
    bwc_block blk, back;
    bwc_buf out = BWC_BUF_INIT, again = BWC_BUF_INIT;
    build_block(&blk);
    assert_true(bwc_block_encode(&blk, &out));
    assert_bytes_hex(out.data, out.len, BLOCK_HEX(POA_HEADER));

    assert_string_equal(block_decode_bytes(&back, out.data, out.len, 2u << 20), "");
    assert_memory_equal(&back.header, &blk.header, sizeof blk.header);
    assert_int_equal(back.n_txs, 2);
    assert_memory_equal(&back.txs[0], &blk.txs[0], sizeof(bwc_tx));
    assert_memory_equal(&back.txs[1], &blk.txs[1], sizeof(bwc_tx));
    assert_int_equal(back.n_receipts, 1);
    assert_memory_equal(&back.receipts[0], &blk.receipts[0], sizeof(bwc_receipt));

    assert_true(bwc_block_encode(&back, &again));
    assert_int_equal(again.len, out.len);
    assert_memory_equal(again.data, out.data, out.len);

    bwc_buf_free(&out);
    bwc_buf_free(&again);
    bwc_block_free(&back);
    bwc_block_free(&blk);
    assert_null(blk.txs);
}

/* {0: h, 1: [], 2: []}: both arrays present even when empty. */
static void test_empty_block(void **state)
{
    (void)state;
    bwc_block b;
    bwc_result res;
    bwc_buf out = BWC_BUF_INIT;
    size_t n = unit_hex(g_buf, sizeof g_buf, "a3" "00" "a8" HDR_BASE("00", "00") "0f" B64("05")
                                             "01" "80" "02" "80");
    assert_string_equal(block_decode_bytes(&b, g_buf, n, 2u << 20), "");
    assert_int_equal(b.n_txs, 0);
    assert_int_equal(b.n_receipts, 0);
    assert_true(bwc_block_encode(&b, &out));
    assert_int_equal(out.len, n);
    assert_memory_equal(out.data, g_buf, n);
    bwc_buf_free(&out);
    /* an empty list has the all-zero root */
    assert_true(bwc_block_check_roots(&b, &res));
    bwc_block_free(&b);
}

static void test_block_rejects_missing_receipts(void **state)
{
    (void)state;
    assert_string_equal(block_reject("a2" "00" POA_HEADER "01" "80"), "bad-block-missing-field");
}

static void test_block_rejects_other_shapes(void **state)
{
    (void)state;
    /* key 3 */
    assert_string_equal(block_reject("a4" "00" POA_HEADER "01" "80" "02" "80" "03" "00"),
                        "bad-block-unknown-key");
    /* txs as a map */
    assert_string_equal(block_reject("a3" "00" POA_HEADER "01" "a0" "02" "80"), "bad-block-field");
}

static void test_block_rejects_oversize(void **state)
{
    (void)state;
    bwc_block b;
    size_t n = unit_hex(g_buf, sizeof g_buf, BLOCK_HEX(POA_HEADER));
    assert_string_equal(block_decode_bytes(&b, g_buf, n, n - 1), "bad-block-oversize");
    assert_string_equal(block_decode_bytes(&b, g_buf, n, n), "");
    bwc_block_free(&b);
}

static void test_block_passes_on_inner_rejects(void **state)
{
    (void)state;
    /* the second tx has amount 0 */
    assert_string_equal(block_reject("a3" "00" POA_HEADER "01" "82" TX_RETIRE TX_TRANSFER_AMOUNT_0
                                     "02" "80"),
                        "bad-tx-amount-zero");
    /* a receipt with seq 0 */
    assert_string_equal(block_reject("a3" "00" POA_HEADER "01" "80" "02" "81"
                                     "a7" "00" B32("66") "01" "00" "02" "1a00100000" "03" "1903e8"
                                     "04" B32("77") "0e" B64("88") "0f" B64("99")),
                        "bad-receipt-seq-zero");
    /* a header with only a target */
    assert_string_equal(block_reject("a3" "00" "a8" HDR_BASE("02", "03") "07" "1a1d00ffff"
                                     "01" "80" "02" "80"),
                        "bad-header-pow-fields");
}

static void test_block_roots_by_hand(void **state)
{
    (void)state;
    unsigned char m[512];
    size_t n;
    bwc_hash l1, l2, tx_root, rc_root, got_tx, got_rc;
    bwc_block blk;
    bwc_result res;

    /* leaves TH("bwc/txw", enc(tx)) and TH("bwc/rcw", enc(receipt)) over the hand-built bytes */
    n = unit_hex(m, sizeof m, TX_TRANSFER);
    bwc_tagged_hash(&l1, "bwc/txw", m, n);
    n = unit_hex(m, sizeof m, TX_RETIRE);
    bwc_tagged_hash(&l2, "bwc/txw", m, n);
    tx_root = merkle_pair(l1, l2);
    n = unit_hex(m, sizeof m, RECEIPT);
    bwc_tagged_hash(&rc_root, "bwc/rcw", m, n); /* one leaf: the root is the leaf */

    build_block(&blk);
    assert_true(bwc_block_roots(&blk, &got_tx, &got_rc));
    assert_memory_equal(got_tx.b, tx_root.b, 32);
    assert_memory_equal(got_rc.b, rc_root.b, 32);

    blk.header.tx_root = tx_root;
    blk.header.receipt_root = rc_root;
    assert_true(bwc_block_check_roots(&blk, &res));
    assert_int_equal(res.code, BWC_RESULT_OK);

    blk.header.tx_root.b[0] ^= 1;
    assert_false(bwc_block_check_roots(&blk, &res));
    assert_int_equal(res.code, BWC_RESULT_INVALID);
    assert_string_equal(res.reject, "bad-block-tx-root");
    blk.header.tx_root.b[0] ^= 1;

    blk.header.receipt_root.b[31] ^= 1;
    assert_false(bwc_block_check_roots(&blk, &res));
    assert_int_equal(res.code, BWC_RESULT_INVALID);
    assert_string_equal(res.reject, "bad-block-receipt-root");
    blk.header.receipt_root.b[31] ^= 1;

    /* a signature change inside the body changes the root the header must carry */
    blk.receipts[0].relay_sig.b[0] ^= 1;
    assert_false(bwc_block_check_roots(&blk, &res));
    assert_string_equal(res.reject, "bad-block-receipt-root");
    blk.receipts[0].relay_sig.b[0] ^= 1;
    blk.txs[1].sig.b[0] ^= 1;
    assert_false(bwc_block_check_roots(&blk, &res));
    assert_string_equal(res.reject, "bad-block-tx-root");

    bwc_block_free(&blk);
}

/* clang-format on */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merkle_empty_is_zero),
        cmocka_unit_test(test_merkle_one_is_the_leaf),
        cmocka_unit_test(test_merkle_two),
        cmocka_unit_test(test_merkle_three_promotes_odd_node),
        cmocka_unit_test(test_merkle_five),
        cmocka_unit_test(test_pow_header_round_trip),
        cmocka_unit_test(test_poa_header_round_trip),
        cmocka_unit_test(test_block_id_by_hand),
        cmocka_unit_test(test_header_rejects_version_2),
        cmocka_unit_test(test_header_rejects_target_without_nonce),
        cmocka_unit_test(test_header_rejects_target_above_u32),
        cmocka_unit_test(test_header_rejects_oversize),
        cmocka_unit_test(test_header_rejects_unknown_key),
        cmocka_unit_test(test_header_rejects_missing_field),
        cmocka_unit_test(test_block_encode_decode),
        cmocka_unit_test(test_empty_block),
        cmocka_unit_test(test_block_rejects_missing_receipts),
        cmocka_unit_test(test_block_rejects_other_shapes),
        cmocka_unit_test(test_block_rejects_oversize),
        cmocka_unit_test(test_block_passes_on_inner_rejects),
        cmocka_unit_test(test_block_roots_by_hand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
