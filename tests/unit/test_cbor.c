/* test_cbor.c: the canonical CBOR checker, one test per rejection rule of PROTOCOL.md §2. */
#include "tests/unit/unit.h"

#include "consensus/cbor.h"

/* Runs the checker on hex input and returns its reject string ("" when accepted). */
static const char *check_hex(const char *hex)
{
    static unsigned char buf[4096];
    size_t n = unit_hex(buf, sizeof buf, hex);
    bwc_result r;
    if (bwc_cbor_check(buf, n, &r)) {
        assert_int_equal(r.code, BWC_RESULT_OK);
        return "";
    }
    assert_int_equal(r.code, BWC_RESULT_MALFORMED);
    return r.reject;
}

static void test_accepts_canonical(void **state)
{
    (void)state;
    assert_string_equal(check_hex("00"), "");
    assert_string_equal(check_hex("17"), "");
    assert_string_equal(check_hex("1818"), "");
    assert_string_equal(check_hex("1b0000000100000000"), "");
    assert_string_equal(check_hex("a20001036161"), "");     /* {0:1, 3:"a"} */
    assert_string_equal(check_hex("824100a0"), "");         /* [h'00', {}] */
    assert_string_equal(check_hex("a1018080"), "cbor-trailing-bytes");
}

static void test_rejects_unsorted_and_duplicate_keys(void **state)
{
    (void)state;
    assert_string_equal(check_hex("a201000000"), "cbor-map-keys-unsorted");
    assert_string_equal(check_hex("a201000100"), "cbor-map-key-duplicate");
    assert_string_equal(check_hex("a1616100"), "cbor-map-key-type");
}

static void test_rejects_non_shortest(void **state)
{
    (void)state;
    assert_string_equal(check_hex("1800"), "cbor-non-shortest");       /* 0 in two bytes */
    assert_string_equal(check_hex("190017"), "cbor-non-shortest");
    assert_string_equal(check_hex("1a0000ffff"), "cbor-non-shortest");
    assert_string_equal(check_hex("1b00000000ffffffff"), "cbor-non-shortest");
    assert_string_equal(check_hex("580100"), "cbor-non-shortest");     /* bstr len 1, long form */
    assert_string_equal(check_hex("9800"), "cbor-non-shortest");       /* array len 0, long form */
    assert_string_equal(check_hex("b800"), "cbor-non-shortest");       /* map len 0, long form */
}

static void test_rejects_indefinite(void **state)
{
    (void)state;
    assert_string_equal(check_hex("9f00ff"), "cbor-indefinite-length");
    assert_string_equal(check_hex("bf0000ff"), "cbor-indefinite-length");
    assert_string_equal(check_hex("5f4100ff"), "cbor-indefinite-length");
    assert_string_equal(check_hex("7f6161ff"), "cbor-indefinite-length");
}

static void test_rejects_float_tag_simple_negative(void **state)
{
    (void)state;
    assert_string_equal(check_hex("f93c00"), "cbor-float");
    assert_string_equal(check_hex("fa3f800000"), "cbor-float");
    assert_string_equal(check_hex("fb3ff0000000000000"), "cbor-float");
    assert_string_equal(check_hex("c11a514b67b0"), "cbor-tag");
    assert_string_equal(check_hex("f5"), "cbor-simple-value");
    assert_string_equal(check_hex("f6"), "cbor-simple-value");
    assert_string_equal(check_hex("20"), "cbor-negative-int");
}

static void test_rejects_truncation_and_lies(void **state)
{
    (void)state;
    assert_string_equal(check_hex(""), "cbor-truncated");
    assert_string_equal(check_hex("19"), "cbor-truncated");
    assert_string_equal(check_hex("4200"), "cbor-truncated");
    /* A byte string declaring 2^63 bytes: refused without allocating anything. */
    assert_string_equal(check_hex("5b8000000000000000"), "cbor-truncated");
    /* Arrays and maps declaring more elements than bytes remain. */
    assert_string_equal(check_hex("9b800000000000000000"), "cbor-truncated");
    assert_string_equal(check_hex("a30000"), "cbor-truncated");
    assert_string_equal(check_hex("820000" "00"), "cbor-trailing-bytes");
}

static void test_rejects_bad_utf8(void **state)
{
    (void)state;
    assert_string_equal(check_hex("62c3a9"), "");                    /* e acute */
    assert_string_equal(check_hex("62c3"), "cbor-truncated");
    assert_string_equal(check_hex("61ff"), "cbor-bad-utf8");
    assert_string_equal(check_hex("62c0af"), "cbor-bad-utf8");       /* overlong '/' */
    assert_string_equal(check_hex("63eda080"), "cbor-bad-utf8");     /* surrogate */
    assert_string_equal(check_hex("64f4908080"), "cbor-bad-utf8");   /* above U+10FFFF */
    assert_string_equal(check_hex("61c3"), "cbor-bad-utf8");         /* cut sequence */
    assert_string_equal(check_hex("63e282ac"), "");                  /* euro sign */
}

static void test_depth_limit(void **state)
{
    (void)state;
    /* 8 nested arrays are allowed, 9 are not (the outermost container is depth 1). */
    assert_string_equal(check_hex("818181818181818100"), "");
    assert_string_equal(check_hex("81818181818181818100"), "cbor-too-deep");
}

static void test_writer_round_trip(void **state)
{
    (void)state;
    bwc_buf b = BWC_BUF_INIT;
    bwc_cbor_put_map(&b, 3);
    bwc_cbor_put_uint(&b, 0);
    bwc_cbor_put_uint(&b, 23);
    bwc_cbor_put_uint(&b, 1);
    bwc_cbor_put_uint(&b, 0x100000000ULL);
    bwc_cbor_put_uint(&b, 2);
    bwc_cbor_put_array(&b, 2);
    bwc_cbor_put_bstr(&b, "\x01\x02", 2);
    bwc_cbor_put_tstr(&b, "hi", 2);
    assert_false(b.oom);
    char hex[128];
    bwc_hex_encode(hex, b.data, b.len);
    assert_string_equal(hex, "a3001701" "1b0000000100000000" "0282420102626869");
    bwc_result r;
    assert_true(bwc_cbor_check(b.data, b.len, &r));

    bwc_cbor_reader rd;
    size_t n;
    uint64_t v;
    const unsigned char *d;
    const char *s;
    bwc_cbor_reader_init(&rd, b.data, b.len);
    assert_false(bwc_cbor_read_array(&rd, &n));
    assert_true(bwc_cbor_read_map(&rd, &n));
    assert_int_equal(n, 3);
    assert_true(bwc_cbor_read_uint(&rd, &v));
    assert_int_equal(v, 0);
    assert_true(bwc_cbor_read_uint(&rd, &v));
    assert_int_equal(v, 23);
    assert_true(bwc_cbor_read_uint(&rd, &v));
    assert_true(bwc_cbor_read_uint(&rd, &v));
    assert_int_equal(v, 0x100000000ULL);
    assert_true(bwc_cbor_read_uint(&rd, &v));
    size_t pos = rd.pos;
    assert_true(bwc_cbor_skip(&rd));
    assert_int_equal(rd.pos, b.len);
    rd.pos = pos;
    assert_true(bwc_cbor_read_array(&rd, &n));
    assert_true(bwc_cbor_read_bstr(&rd, &d, &n));
    assert_int_equal(n, 2);
    assert_memory_equal(d, "\x01\x02", 2);
    assert_false(bwc_cbor_read_bstr(&rd, &d, &n));
    assert_true(bwc_cbor_read_tstr(&rd, &s, &n));
    assert_memory_equal(s, "hi", 2);
    assert_false(bwc_cbor_read_uint(&rd, &v));
    bwc_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_canonical),
        cmocka_unit_test(test_rejects_unsorted_and_duplicate_keys),
        cmocka_unit_test(test_rejects_non_shortest),
        cmocka_unit_test(test_rejects_indefinite),
        cmocka_unit_test(test_rejects_float_tag_simple_negative),
        cmocka_unit_test(test_rejects_truncation_and_lies),
        cmocka_unit_test(test_rejects_bad_utf8),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_writer_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
