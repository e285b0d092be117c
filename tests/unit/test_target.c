/* test_target.c: compact targets, the PoW comparison and chain work against Bitcoin's values. */
#include "tests/unit/unit.h"

#include "consensus/target.h"

#define ZERO64 "0000000000000000000000000000000000000000000000000000000000000000"

/* Decodes a compact and returns its value as hex, or "" when it is refused. */
static const char *decode(uint32_t compact)
{
    static char hex[65];
    unsigned char t[32];
    if (!bwc_target_from_compact(t, compact)) {
        for (size_t i = 0; i < sizeof t; i++)
            assert_int_equal(t[i], 0); /* output zeroed on failure */
        return "";
    }
    bwc_hex_encode(hex, t, sizeof t);
    assert_int_equal(bwc_target_to_compact(t), compact); /* accepted means canonical */
    return hex;
}

static uint32_t encode(const char *hex)
{
    unsigned char t[32];
    unit_hex(t, sizeof t, hex);
    return bwc_target_to_compact(t);
}

static void test_bitcoin_genesis_target(void **state)
{
    (void)state;
    assert_string_equal(decode(0x1d00ffff),
                        "00000000ffff0000000000000000000000000000000000000000000000000000");
    assert_int_equal(encode("00000000ffff0000000000000000000000000000000000000000000000000000"),
                     0x1d00ffff);
    assert_string_equal(decode(0x207fffff),
                        "7fffff0000000000000000000000000000000000000000000000000000000000");
}

/* The canonical cases of Bitcoin's arith_uint256_tests (SetCompact / GetCompact). */
static void test_canonical_values(void **state)
{
    (void)state;
    assert_string_equal(decode(0x01120000),
                        "0000000000000000000000000000000000000000000000000000000000000012");
    assert_string_equal(decode(0x02123400),
                        "0000000000000000000000000000000000000000000000000000000000001234");
    assert_string_equal(decode(0x03123456),
                        "0000000000000000000000000000000000000000000000000000000000123456");
    assert_string_equal(decode(0x04123456),
                        "0000000000000000000000000000000000000000000000000000000012345600");
    assert_string_equal(decode(0x05009234),
                        "0000000000000000000000000000000000000000000000000000000092340000");
    assert_string_equal(decode(0x20123456),
                        "1234560000000000000000000000000000000000000000000000000000000000");
    assert_string_equal(decode(0x1e00ffff), /* a leading zero byte the sign rule needs */
                        "000000ffff000000000000000000000000000000000000000000000000000000");
    assert_string_equal(decode(0x02008000),
                        "0000000000000000000000000000000000000000000000000000000000000080");
    /* The largest values: size 33 and 34 with leading zero mantissa bytes. */
    assert_string_equal(decode(0x2100ffff),
                        "ffff000000000000000000000000000000000000000000000000000000000000");
    assert_int_equal(encode("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"),
                     0x2100ffff);
    /* GetCompact drops the bytes below the mantissa and moves a high mantissa bit down. */
    assert_int_equal(encode("0000000000000000000000000000000000000000000000000000000000000080"),
                     0x02008000);
    assert_int_equal(encode("0000000000000000000000000000000000000000000000000000000012345678"),
                     0x04123456);
    assert_int_equal(encode(ZERO64), 0);
}

static void test_rejects_non_canonical(void **state)
{
    (void)state;
    /* zero */
    assert_string_equal(decode(0x00000000), "");
    assert_string_equal(decode(0x00123456), ""); /* size 0: every mantissa byte shifted out */
    assert_string_equal(decode(0x01003456), ""); /* value 0 */
    assert_string_equal(decode(0x02000056), "");
    assert_string_equal(decode(0x03000000), "");
    assert_string_equal(decode(0x04000000), ""); /* zero mantissa */
    /* negative (sign bit) */
    assert_string_equal(decode(0x00923456), "");
    assert_string_equal(decode(0x01803456), "");
    assert_string_equal(decode(0x02800056), "");
    assert_string_equal(decode(0x03800000), "");
    assert_string_equal(decode(0x04800000), "");
    assert_string_equal(decode(0x01fedcba), "");
    assert_string_equal(decode(0x04923456), "");
    /* non-canonical: lost low bytes, leading zero mantissa byte, not normalised */
    assert_string_equal(decode(0x01123456), ""); /* SetCompact gives 0x12, GetCompact 0x01120000 */
    assert_string_equal(decode(0x02123456), "");
    assert_string_equal(decode(0x04001234), ""); /* = 0x03123400 */
    assert_string_equal(decode(0x1d0000ff), ""); /* = 0x1c00ff00 */
    assert_string_equal(decode(0x1e0000ff), ""); /* = 0x1d00ff00 */
    assert_string_equal(decode(0x03000080), ""); /* = 0x02008000 */
    /* overflow past 256 bits */
    assert_string_equal(decode(0xff123456), "");
    assert_string_equal(decode(0x21010000), "");
    assert_string_equal(decode(0x22000100), "");
    assert_string_equal(decode(0x23000001), "");
}

static void test_meets_target(void **state)
{
    (void)state;
    unsigned char t[32];
    bwc_hash id;
    assert_true(bwc_target_from_compact(t, 0x1d00ffff));
    memcpy(id.b, t, 32);
    assert_true(bwc_hash_meets_target(&id, t)); /* equal is enough */
    id.b[31] = 1;
    assert_false(bwc_hash_meets_target(&id, t)); /* one above */
    memset(id.b, 0, 32);
    assert_true(bwc_hash_meets_target(&id, t));
    unit_hex(id.b, 32, "00000000fffeffffffffffffffffffffffffffffffffffffffffffffffffffff");
    assert_true(bwc_hash_meets_target(&id, t));
    unit_hex(id.b, 32, "0000000100000000000000000000000000000000000000000000000000000000");
    assert_false(bwc_hash_meets_target(&id, t));
}

static const char *work_of(uint32_t compact)
{
    static char hex[65];
    unsigned char t[32], w[32];
    assert_true(bwc_target_from_compact(t, compact));
    bwc_target_work(w, t);
    bwc_hex_encode(hex, w, 32);
    return hex;
}

/* Expected values from floor(2**256 // (target + 1)) in Python's big integers. */
static void test_work(void **state)
{
    (void)state;
    assert_string_equal(work_of(0x1d00ffff),
                        "0000000000000000000000000000000000000000000000000000000100010001");
    assert_string_equal(work_of(0x1b0404cb),
                        "00000000000000000000000000000000000000000000000000003fb3ab764c00");
    assert_string_equal(work_of(0x1903a30c),
                        "0000000000000000000000000000000000000000000000004663bb9efdacfcf2");
    assert_string_equal(work_of(0x207fffff),
                        "0000000000000000000000000000000000000000000000000000000000000002");
    assert_string_equal(work_of(0x2100ffff),
                        "0000000000000000000000000000000000000000000000000000000000000001");
    assert_string_equal(work_of(0x01010000),
                        "8000000000000000000000000000000000000000000000000000000000000000");

    unsigned char t[32], w[32];
    memset(t, 0xff, 32);
    bwc_target_work(w, t);
    assert_hex32(w, "0000000000000000000000000000000000000000000000000000000000000001");
    memset(t, 0, 32);
    bwc_target_work(w, t);
    assert_hex32(w, "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
}

static void test_add_sub_cmp(void **state)
{
    (void)state;
    unsigned char a[32], b[32], r[32];
    unit_hex(a, 32, "00000000000000000000000000000000000000000000000000000000ffffffff");
    unit_hex(b, 32, "0000000000000000000000000000000000000000000000000000000000000001");
    assert_true(bwc_u256_add(r, a, b));
    assert_hex32(r, "0000000000000000000000000000000000000000000000000000000100000000");
    assert_int_equal(bwc_u256_cmp(a, b), 1);
    assert_int_equal(bwc_u256_cmp(b, a), -1);
    assert_int_equal(bwc_u256_cmp(a, a), 0);
    assert_true(bwc_u256_sub(r, r, b)); /* aliasing */
    assert_memory_equal(r, a, 32);
    assert_false(bwc_u256_sub(r, b, a));
    assert_hex32(r, ZERO64);

    /* Cumulative work: two blocks at 0x1d00ffff. */
    unsigned char t[32], w[32], sum[32];
    assert_true(bwc_target_from_compact(t, 0x1d00ffff));
    bwc_target_work(w, t);
    memset(sum, 0, 32);
    assert_true(bwc_u256_add(sum, sum, w));
    assert_true(bwc_u256_add(sum, sum, w));
    assert_hex32(sum, "0000000000000000000000000000000000000000000000000000000200020002");

    memset(a, 0xff, 32);
    assert_false(bwc_u256_add(r, a, b));
    assert_hex32(r, ZERO64);
    unit_hex(a, 32, "8000000000000000000000000000000000000000000000000000000000000000");
    assert_false(bwc_u256_add(r, a, a));
    unit_hex(b, 32, "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
    assert_true(bwc_u256_add(r, a, b));
    assert_hex32(r, "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bitcoin_genesis_target),
        cmocka_unit_test(test_canonical_values),
        cmocka_unit_test(test_rejects_non_canonical),
        cmocka_unit_test(test_meets_target),
        cmocka_unit_test(test_work),
        cmocka_unit_test(test_add_sub_cmp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
