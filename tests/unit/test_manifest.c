/* test_manifest.c: manifests, content ids and chunk-by-chunk building (PROTOCOL.md §3.5, §7). */
#include "tests/unit/unit.h"

#include "consensus/hash.h"
#include "consensus/manifest.h"

/* The hand-built CBOR below keeps one map entry per group of hex literals (STYLE.md: clarity
 * wins); the formatter would put every literal on a line of its own. */
/* clang-format off */

/* Hex of a byte repeated, and a byte string of 32 such bytes (58 20 ...). */
#define R1(s) s
#define R2(s) s s
#define R4(s) R2(s) R2(s)
#define R8(s) R4(s) R4(s)
#define R16(s) R8(s) R8(s)
#define R32(s) R16(s) R16(s)
#define B32(x) "5820" R32(x)

/* a4 {0: version, 1: size, 2: chunk_size, 3: chunks}, each argument already-encoded CBOR hex. */
#define MF(version, size, chunk, chunks) "a4" "00" version "01" size "02" chunk "03" chunks
#define ONE_CHUNK "81" B32("ab") /* array(1) of one 32-byte hash */

#define CONTENT_SIZE 40000u
#define CHUNK 16384u

static int bytes_all(const void *p, size_t n, unsigned char v)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        if (c[i] != v)
            return 0;
    return 1;
}

/* Decodes n bytes into *m (pre-filled with garbage). Returns "" when accepted (the caller frees
 * m), else the reject string, after asserting the MALFORMED class and that *m was zeroed. */
static const char *decode_bytes(bwc_manifest *m, const unsigned char *p, size_t n)
{
    bwc_result res;
    memset(m, 0xa5, sizeof *m);
    if (bwc_manifest_decode(m, p, n, &res)) {
        assert_int_equal(res.code, BWC_RESULT_OK);
        return "";
    }
    assert_int_equal(res.code, BWC_RESULT_MALFORMED);
    assert_true(bytes_all(m, sizeof *m, 0));
    return res.reject;
}

/* The reject string of a hex input ("" when accepted). */
static const char *reject_of(const char *hex)
{
    unsigned char buf[1024];
    bwc_manifest m;
    size_t n = unit_hex(buf, sizeof buf, hex);
    const char *rej = decode_bytes(&m, buf, n);
    bwc_manifest_free(&m);
    return rej;
}

static size_t append_hex(unsigned char *out, size_t n, size_t cap, const char *hex)
{
    size_t k = strlen(hex) / 2;
    assert_true(n + k <= cap);
    assert_true(bwc_hex_decode(out + n, k, hex));
    return n + k;
}

/* The test content: byte i is (i * 7 + 3) mod 256. */
static unsigned char *make_content(void)
{
    unsigned char *c = malloc(CONTENT_SIZE);
    assert_non_null(c);
    for (size_t i = 0; i < CONTENT_SIZE; i++)
        c[i] = (unsigned char)(i * 7 + 3);
    return c;
}

/* Hand-built enc(manifest) of the test content:
 *   a4                    map(4)
 *     00 01               0: version 1
 *     01 19 9c40          1: size 40000
 *     02 19 4000          2: chunk_size 16384
 *     03 83               3: array(3)
 *        58 20 <sha256(content[0, 16384))>
 *        58 20 <sha256(content[16384, 32768))>
 *        58 20 <sha256(content[32768, 40000))>      (the short last chunk, 7232 bytes) */
static size_t expected_bytes(unsigned char *out, size_t cap, const unsigned char *content)
{
    static const size_t starts[3] = {0, 16384, 32768}, lens[3] = {16384, 16384, 7232};
    size_t n = append_hex(out, 0, cap, "a4" "0001" "01199c40" "02194000" "0383");
    for (int i = 0; i < 3; i++) {
        bwc_hash h;
        bwc_sha256(&h, content + starts[i], lens[i]);
        n = append_hex(out, n, cap, "5820");
        assert_true(n + 32 <= cap);
        memcpy(out + n, h.b, 32);
        n += 32;
    }
    return n;
}

static void test_build_encode_and_content_id(void **state)
{
    (void)state;
    unsigned char *content = make_content();
    unsigned char want[256];
    size_t wn = expected_bytes(want, sizeof want, content);
    assert_int_equal(wn, 1 + 2 + 4 + 4 + 2 + 3 * 34);

    bwc_manifest m;
    bwc_result res;
    assert_true(bwc_manifest_begin(&m, CONTENT_SIZE, CHUNK, &res));
    assert_int_equal(res.code, BWC_RESULT_OK);
    assert_int_equal(m.n_chunks, 3);
    for (size_t i = 0; i < 3; i++) {
        size_t len = (size_t)bwc_manifest_chunk_len(&m, i);
        assert_true(bwc_manifest_add_chunk(&m, i, content + i * CHUNK, len));
    }
    /* each chunk hash is the plain SHA-256 of its slice */
    bwc_hash h;
    bwc_sha256(&h, content + 2 * CHUNK, 7232);
    assert_memory_equal(m.chunks[2].b, h.b, 32);
    bwc_sha256(&h, content, CHUNK);
    assert_memory_equal(m.chunks[0].b, h.b, 32);

    bwc_buf b = BWC_BUF_INIT;
    assert_true(bwc_manifest_encode(&m, &b));
    assert_int_equal(b.len, wn);
    assert_memory_equal(b.data, want, wn);
    bwc_buf_free(&b);

    /* content_id = TH("bwc/manifest", enc(manifest)), no chain id */
    bwc_hash id, want_id;
    bwc_tagged_hash(&want_id, "bwc/manifest", want, wn);
    assert_true(bwc_manifest_content_id(&m, &id));
    assert_memory_equal(id.b, want_id.b, 32);

    bwc_manifest_free(&m);
    assert_null(m.chunks);
    free(content);
}

static void test_decode_reencode(void **state)
{
    (void)state;
    unsigned char *content = make_content();
    unsigned char want[256];
    size_t wn = expected_bytes(want, sizeof want, content);
    bwc_manifest m;
    assert_string_equal(decode_bytes(&m, want, wn), "");
    assert_int_equal(m.version, 1);
    assert_int_equal(m.size, 40000);
    assert_int_equal(m.chunk_size, 16384);
    assert_int_equal(m.n_chunks, 3);
    bwc_hash h;
    bwc_sha256(&h, content + CHUNK, CHUNK);
    assert_memory_equal(m.chunks[1].b, h.b, 32);

    bwc_buf b = BWC_BUF_INIT;
    assert_true(bwc_manifest_encode(&m, &b));
    assert_int_equal(b.len, wn);
    assert_memory_equal(b.data, want, wn);
    bwc_buf_free(&b);
    bwc_manifest_free(&m);
    free(content);
}

static void test_chunk_len(void **state)
{
    (void)state;
    bwc_manifest m;
    bwc_result res;
    assert_true(bwc_manifest_begin(&m, CONTENT_SIZE, CHUNK, &res));
    assert_int_equal(bwc_manifest_chunk_len(&m, 0), 16384);
    assert_int_equal(bwc_manifest_chunk_len(&m, 1), 16384);
    assert_int_equal(bwc_manifest_chunk_len(&m, 2), 7232);
    assert_int_equal(bwc_manifest_chunk_len(&m, 3), 0);
    bwc_manifest_free(&m);
    /* an exact multiple: the last chunk is whole */
    assert_true(bwc_manifest_begin(&m, 2 * CHUNK, CHUNK, &res));
    assert_int_equal(m.n_chunks, 2);
    assert_int_equal(bwc_manifest_chunk_len(&m, 1), 16384);
    bwc_manifest_free(&m);
    assert_int_equal(bwc_manifest_chunk_count(40000, 16384), 3);
    assert_int_equal(bwc_manifest_chunk_count(32768, 16384), 2);
    assert_int_equal(bwc_manifest_chunk_count(1, 16384), 1);
}

static void test_add_chunk_refuses_wrong_length_or_index(void **state)
{
    (void)state;
    unsigned char *content = make_content();
    bwc_manifest m;
    bwc_result res;
    assert_true(bwc_manifest_begin(&m, CONTENT_SIZE, CHUNK, &res));
    assert_false(bwc_manifest_add_chunk(&m, 2, content + 2 * CHUNK, 7231));
    assert_false(bwc_manifest_add_chunk(&m, 2, content + 2 * CHUNK, 7233));
    assert_false(bwc_manifest_add_chunk(&m, 2, content, CHUNK));
    assert_false(bwc_manifest_add_chunk(&m, 0, content, 7232));
    assert_false(bwc_manifest_add_chunk(&m, 3, content, 7232));
    assert_false(bwc_manifest_add_chunk(&m, 3, content, 0));
    /* nothing was written by the refused calls */
    assert_true(bytes_all(m.chunks, 3 * sizeof(bwc_hash), 0));
    assert_true(bwc_manifest_add_chunk(&m, 2, content + 2 * CHUNK, 7232));
    bwc_manifest_free(&m);
    free(content);
}

static void test_begin_refuses_bad_shapes(void **state)
{
    (void)state;
    bwc_manifest m;
    bwc_result res;
    assert_false(bwc_manifest_begin(&m, 0, CHUNK, &res));
    assert_string_equal(res.reject, "bad-manifest-size");
    assert_false(bwc_manifest_begin(&m, 100, 8192, &res));
    assert_string_equal(res.reject, "bad-manifest-chunk-size");
    assert_false(bwc_manifest_begin(&m, (1ull << 32) + 1, CHUNK, &res));
    assert_string_equal(res.reject, "bad-manifest-size");
    assert_null(m.chunks);
}

/* ================= decode rejections ================= */

static void test_small_manifest_accepted(void **state)
{
    (void)state;
    /* size 100 (18 64), chunk_size 16384, one hash: the base of the rejections below */
    assert_string_equal(reject_of(MF("01", "1864", "194000", ONE_CHUNK)), "");
}

static void test_rejects_version_2(void **state)
{
    (void)state;
    assert_string_equal(reject_of(MF("02", "1864", "194000", ONE_CHUNK)), "bad-manifest-version");
}

static void test_rejects_chunk_size_3(void **state)
{
    (void)state;
    assert_string_equal(reject_of(MF("01", "1864", "03", ONE_CHUNK)), "bad-manifest-chunk-size");
}

static void test_rejects_chunk_size_8192(void **state)
{
    (void)state;
    assert_string_equal(reject_of(MF("01", "1864", "192000", ONE_CHUNK)),
                        "bad-manifest-chunk-size");
}

static void test_rejects_chunk_size_8m(void **state)
{
    (void)state;
    assert_string_equal(reject_of(MF("01", "1864", "1a00800000", ONE_CHUNK)),
                        "bad-manifest-chunk-size");
    /* 4 MiB is the largest */
    assert_string_equal(reject_of(MF("01", "1864", "1a00400000", ONE_CHUNK)), "");
}

static void test_rejects_size_0(void **state)
{
    (void)state;
    assert_string_equal(reject_of(MF("01", "00", "194000", ONE_CHUNK)), "bad-manifest-size");
}

static void test_rejects_one_chunk_too_many(void **state)
{
    (void)state;
    /* size 100 needs one hash; two given */
    assert_string_equal(reject_of(MF("01", "1864", "194000", "82" B32("ab") B32("cd"))),
                        "bad-manifest-chunk-count");
}

static void test_rejects_one_chunk_too_few(void **state)
{
    (void)state;
    /* size 16385 (19 4001) needs two hashes; one given */
    assert_string_equal(reject_of(MF("01", "194001", "194000", ONE_CHUNK)),
                        "bad-manifest-chunk-count");
    /* and none */
    assert_string_equal(reject_of(MF("01", "1864", "194000", "80")), "bad-manifest-chunk-count");
}

static void test_rejects_31_byte_hash(void **state)
{
    (void)state;
    assert_string_equal(reject_of(MF("01", "1864", "194000",
                                     "81" "581f" R16("ab") R8("ab") R4("ab") R2("ab") R1("ab"))),
                        "bad-manifest-field");
}

static void test_rejects_other_shapes(void **state)
{
    (void)state;
    /* unknown key 4 */
    assert_string_equal(reject_of("a5" "0001" "011864" "02194000" "03" ONE_CHUNK "0400"),
                        "bad-manifest-unknown-key");
    /* chunks missing */
    assert_string_equal(reject_of("a3" "0001" "011864" "02194000"), "bad-manifest-missing-field");
    /* chunks as a map */
    assert_string_equal(reject_of(MF("01", "1864", "194000", "a0")), "bad-manifest-field");
    /* the manifest as an array */
    assert_string_equal(reject_of("8101"), "bad-manifest-field");
}

/* A size that would need more than 2^18 chunks is refused whatever the array holds. */
static void test_rejects_size_beyond_2_18_chunks(void **state)
{
    (void)state;
    /* size 2^32 + 1 at 16 KiB = 2^18 + 1 chunks */
    assert_string_equal(reject_of(MF("01", "1b0000000100000001", "194000", ONE_CHUNK)),
                        "bad-manifest-size");
}

/* An array head declaring 2^18 + 1 hashes (9a 00040001) followed by only one: refused by the
 * count-versus-bytes rule of §2 before anything is allocated. */
static void test_rejects_lying_array_head(void **state)
{
    (void)state;
    assert_string_equal(reject_of(MF("01", "1b0000000100000001", "194000",
                                     "9a00040001" B32("ab"))),
                        "cbor-truncated");
}

/* Builds a manifest of n hashes of 16 KiB chunks for size bytes by hand:
 *   a4 00 01 01 1b <size u64be> 02 19 4000 03 9a <n u32be> (58 20 <i as 32 bytes>) * n
 * Returns a heap buffer (caller frees). */
static unsigned char *big_manifest(uint64_t size, uint32_t n, size_t *len)
{
    size_t total = 23 + (size_t)n * 34;
    unsigned char *p = malloc(total);
    size_t k = 0;
    assert_non_null(p);
    p[k++] = 0xa4, p[k++] = 0x00, p[k++] = 0x01, p[k++] = 0x01, p[k++] = 0x1b;
    for (int s = 56; s >= 0; s -= 8)
        p[k++] = (unsigned char)(size >> s);
    p[k++] = 0x02, p[k++] = 0x19, p[k++] = 0x40, p[k++] = 0x00;
    p[k++] = 0x03, p[k++] = 0x9a;
    for (int s = 24; s >= 0; s -= 8)
        p[k++] = (unsigned char)(n >> s);
    assert_int_equal(k, 23);
    for (uint32_t i = 0; i < n; i++) {
        p[k++] = 0x58, p[k++] = 0x20;
        memset(p + k, 0, 32);
        memcpy(p + k, &i, sizeof i);
        k += 32;
    }
    assert_int_equal(k, total);
    *len = total;
    return p;
}

/* The largest manifest there is (2^18 chunks of 16 KiB, size 2^32) fits the byte limit. */
static void test_largest_manifest_accepted(void **state)
{
    (void)state;
    size_t n;
    unsigned char *p = big_manifest(1ull << 32, 1u << 18, &n);
    assert_true(n <= BWC_MANIFEST_MAX_BYTES);
    bwc_manifest m;
    assert_string_equal(decode_bytes(&m, p, n), "");
    assert_int_equal(m.n_chunks, 1u << 18);
    uint32_t last = (1u << 18) - 1;
    assert_memory_equal(m.chunks[last].b, &last, sizeof last);
    bwc_manifest_free(&m);
    free(p);
}

/* 2^18 + 1 real entries make the input longer than BWC_MANIFEST_MAX_BYTES: refused by size. */
static void test_rejects_oversize(void **state)
{
    (void)state;
    size_t n;
    unsigned char *p = big_manifest((1ull << 32) + 1, (1u << 18) + 1, &n);
    assert_true(n > BWC_MANIFEST_MAX_BYTES);
    bwc_manifest m;
    assert_string_equal(decode_bytes(&m, p, n), "bad-manifest-oversize");
    free(p);
    /* likewise any garbage one byte over the limit */
    p = malloc(BWC_MANIFEST_MAX_BYTES + 1);
    assert_non_null(p);
    memset(p, 0xff, BWC_MANIFEST_MAX_BYTES + 1);
    assert_string_equal(decode_bytes(&m, p, BWC_MANIFEST_MAX_BYTES + 1), "bad-manifest-oversize");
    free(p);
}

/* clang-format on */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_encode_and_content_id),
        cmocka_unit_test(test_decode_reencode),
        cmocka_unit_test(test_chunk_len),
        cmocka_unit_test(test_add_chunk_refuses_wrong_length_or_index),
        cmocka_unit_test(test_begin_refuses_bad_shapes),
        cmocka_unit_test(test_small_manifest_accepted),
        cmocka_unit_test(test_rejects_version_2),
        cmocka_unit_test(test_rejects_chunk_size_3),
        cmocka_unit_test(test_rejects_chunk_size_8192),
        cmocka_unit_test(test_rejects_chunk_size_8m),
        cmocka_unit_test(test_rejects_size_0),
        cmocka_unit_test(test_rejects_one_chunk_too_many),
        cmocka_unit_test(test_rejects_one_chunk_too_few),
        cmocka_unit_test(test_rejects_31_byte_hash),
        cmocka_unit_test(test_rejects_other_shapes),
        cmocka_unit_test(test_rejects_size_beyond_2_18_chunks),
        cmocka_unit_test(test_rejects_lying_array_head),
        cmocka_unit_test(test_largest_manifest_accepted),
        cmocka_unit_test(test_rejects_oversize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
