/* test_key.c: BIP340 keys and signatures against every official test vector, plus misuse. */
#include "tests/unit/unit.h"

#include "consensus/key.h"

/* bip-0340/test-vectors.csv holds rows 0..18; the count is checked so that an empty or
 * truncated file cannot pass. */
#define BIP340_ROWS 19

#define MSG_MAX 128

/* One parsed row; the hex fields are decoded, an empty secret key leaves has_sec 0. */
typedef struct {
    long index;
    int has_sec;
    unsigned char sec[32], aux[32], msg[MSG_MAX];
    size_t msglen;
    bwc_pubkey pk;
    bwc_sig sig;
    int expect;
    const char *comment;
} bip340_row;

static int setup(void **state)
{
    static const unsigned char seed[32] = {1, 2, 3};
    *state = bwc_secp_create(seed);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    bwc_secp_destroy(*state);
    return 0;
}

/* Splits line at commas into at most n fields (the last one takes the rest of the line) and
 * returns how many there were. */
static size_t split(char *line, char **field, size_t n)
{
    size_t k = 0;
    field[k++] = line;
    for (char *p = line; *p && k < n; p++)
        if (*p == ',') {
            *p = '\0';
            field[k++] = p + 1;
        }
    return k;
}

static void parse_row(bip340_row *r, char *line)
{
    char *f[8], *end;
    assert_int_equal(split(line, f, 8), 8);
    r->index = strtol(f[0], &end, 10);
    assert_true(end != f[0] && *end == '\0');
    r->has_sec = f[1][0] != '\0';
    if (r->has_sec)
        unit_hex(r->sec, sizeof r->sec, f[1]);
    assert_true(bwc_hex_decode(r->pk.b, 32, f[2]));
    if (f[3][0])
        unit_hex(r->aux, sizeof r->aux, f[3]);
    r->msglen = unit_hex(r->msg, sizeof r->msg, f[4]);
    assert_int_equal(strlen(f[4]), 2 * r->msglen);
    assert_true(bwc_hex_decode(r->sig.b, 64, f[5]));
    assert_true(!strcmp(f[6], "TRUE") || !strcmp(f[6], "FALSE"));
    r->expect = !strcmp(f[6], "TRUE");
    r->comment = f[7];
}

static void check_row(const secp256k1_context *ctx, const bip340_row *r)
{
    bwc_pubkey pk;
    bwc_sig sig;
    bwc_hash h;

    if (r->has_sec) {
        assert_true(bwc_key_pubkey(ctx, &pk, r->sec));
        assert_memory_equal(pk.b, r->pk.b, 32);
        assert_true(bwc_sign_msg(ctx, &sig, r->sec, r->msg, r->msglen, r->aux));
        assert_memory_equal(sig.b, r->sig.b, 64);
        if (r->msglen == 32) {
            memcpy(h.b, r->msg, 32);
            assert_true(bwc_sign(ctx, &sig, r->sec, &h, r->aux));
            assert_memory_equal(sig.b, r->sig.b, 64);
        }
    }
    /* Rows 5 and 14 carry keys that are no x coordinate on the curve; their comments say so. */
    int on_curve = strstr(r->comment, "public key") == NULL;
    assert_int_equal(bwc_pubkey_valid(ctx, &r->pk), on_curve);
    assert_int_equal(bwc_verify_msg(ctx, &r->sig, r->msg, r->msglen, &r->pk), r->expect);
    if (r->msglen == 32) {
        memcpy(h.b, r->msg, 32);
        assert_int_equal(bwc_verify(ctx, &r->sig, &h, &r->pk), r->expect);
    }
}

static void test_bip340_vectors(void **state)
{
    const secp256k1_context *ctx = *state;
    char *csv = unit_read_data("bip340-test-vectors.csv", NULL);
    char *save = NULL;
    size_t rows = 0, signed_rows = 0, failing = 0;

    char *line = strtok_r(csv, "\n", &save);
    assert_non_null(line);
    assert_true(!strncmp(line, "index,secret key,public key,aux_rand,message,signature,", 55));
    while ((line = strtok_r(NULL, "\n", &save))) {
        size_t n = strlen(line);
        if (n && line[n - 1] == '\r')
            line[--n] = '\0';
        if (!n)
            continue;
        bip340_row r;
        memset(&r, 0, sizeof r);
        parse_row(&r, line);
        assert_int_equal(r.index, (long)rows); /* rows in order, none skipped */
        check_row(ctx, &r);
        rows++;
        signed_rows += (size_t)r.has_sec;
        failing += (size_t)!r.expect;
    }
    free(csv);
    assert_int_equal(rows, BIP340_ROWS);
    assert_int_equal(signed_rows, 8); /* rows 0-3 and 15-18 have a secret key... */
    assert_int_equal(failing, 10);    /* ...and rows 5-14 must fail */
}

static void test_round_trip_and_tamper(void **state)
{
    const secp256k1_context *ctx = *state;
    unsigned char sec[32], aux[32];
    bwc_pubkey pk, other;
    bwc_hash msg;
    bwc_sig sig;

    for (int i = 0; i < 32; i++) {
        sec[i] = (unsigned char)(i * 7 + 1);
        aux[i] = (unsigned char)(255 - i);
        msg.b[i] = (unsigned char)(i * 13);
    }
    assert_true(bwc_key_pubkey(ctx, &pk, sec));
    assert_true(bwc_pubkey_valid(ctx, &pk));
    assert_true(bwc_sign(ctx, &sig, sec, &msg, aux));
    assert_true(bwc_verify(ctx, &sig, &msg, &pk));
    assert_true(bwc_verify_msg(ctx, &sig, msg.b, 32, &pk));

    /* Any single flipped bit, in the signature or in the message, breaks it. */
    for (size_t bit = 0; bit < 64 * 8; bit += 37) {
        sig.b[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        assert_false(bwc_verify(ctx, &sig, &msg, &pk));
        sig.b[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
    msg.b[31] ^= 1;
    assert_false(bwc_verify(ctx, &sig, &msg, &pk));
    msg.b[31] ^= 1;
    assert_false(bwc_verify_msg(ctx, &sig, msg.b, 31, &pk));

    /* Another key does not verify it. */
    sec[0] ^= 1;
    assert_true(bwc_key_pubkey(ctx, &other, sec));
    assert_false(bwc_verify(ctx, &sig, &msg, &other));

    /* Different aux randomness gives a different, equally valid signature. */
    bwc_sig sig2;
    sec[0] ^= 1;
    aux[0] ^= 1;
    assert_true(bwc_sign(ctx, &sig2, sec, &msg, aux));
    assert_memory_not_equal(sig.b, sig2.b, 64);
    assert_true(bwc_verify(ctx, &sig2, &msg, &pk));

    /* Messages of other lengths, including none. */
    assert_true(bwc_sign_msg(ctx, &sig, sec, NULL, 0, aux));
    assert_true(bwc_verify_msg(ctx, &sig, NULL, 0, &pk));
    assert_false(bwc_verify_msg(ctx, &sig, (const unsigned char *)"x", 1, &pk));
    assert_true(bwc_sign_msg(ctx, &sig, sec, (const unsigned char *)"hello", 5, aux));
    assert_true(bwc_verify_msg(ctx, &sig, (const unsigned char *)"hello", 5, &pk));
    assert_false(bwc_verify_msg(ctx, &sig, (const unsigned char *)"hellp", 5, &pk));
    bwc_cleanse(sec, sizeof sec);
}

static void test_invalid_secret_refused(void **state)
{
    const secp256k1_context *ctx = *state;
    unsigned char sec[32], aux[32] = {0};
    bwc_pubkey pk;
    bwc_sig sig;
    bwc_hash msg = {{0}};
    static const unsigned char zero[64];

    /* 0, the group order n and n + 1 (above n: not reduced) are not secret keys. */
    static const char *const bad[] = {
        "0000000000000000000000000000000000000000000000000000000000000000",
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141",
        "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364142",
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        unit_hex(sec, sizeof sec, bad[i]);
        memset(pk.b, 0xaa, 32);
        memset(sig.b, 0xaa, 64);
        assert_false(bwc_key_pubkey(ctx, &pk, sec));
        assert_memory_equal(pk.b, zero, 32); /* outputs zeroed on failure */
        assert_false(bwc_sign(ctx, &sig, sec, &msg, aux));
        assert_memory_equal(sig.b, zero, 64);
        assert_false(bwc_sign_msg(ctx, &sig, sec, msg.b, 3, aux));
        assert_memory_equal(sig.b, zero, 64);
    }

    /* n - 1 is the largest valid secret. */
    unit_hex(sec, sizeof sec, "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140");
    assert_true(bwc_key_pubkey(ctx, &pk, sec));
    assert_true(bwc_sign(ctx, &sig, sec, &msg, aux));
    assert_true(bwc_verify(ctx, &sig, &msg, &pk));
}

static void test_pubkey_validity(void **state)
{
    const secp256k1_context *ctx = *state;
    bwc_pubkey pk;
    /* The generator's x is valid; x = 5 is not (5^3 + 7 = 132 is no square mod p); the field
     * size p itself and anything above it are not coordinates. */
    unit_hex(pk.b, 32, "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");
    assert_true(bwc_pubkey_valid(ctx, &pk));
    memset(pk.b, 0, 32);
    pk.b[31] = 5;
    assert_false(bwc_pubkey_valid(ctx, &pk));
    unit_hex(pk.b, 32, "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f");
    assert_false(bwc_pubkey_valid(ctx, &pk));
    memset(pk.b, 0xff, 32);
    assert_false(bwc_pubkey_valid(ctx, &pk));
}

static void test_cleanse(void **state)
{
    (void)state;
    unsigned char buf[48];
    static const unsigned char zero[48];
    memset(buf, 0x5a, sizeof buf);
    bwc_cleanse(buf, sizeof buf);
    assert_memory_equal(buf, zero, sizeof buf);
}

static void test_context_without_seed(void **state)
{
    (void)state;
    secp256k1_context *ctx = bwc_secp_create(NULL);
    assert_non_null(ctx);
    unsigned char sec[32] = {0};
    bwc_pubkey pk;
    sec[31] = 3;
    assert_true(bwc_key_pubkey(ctx, &pk, sec));
    assert_hex32(pk.b, "f9308a019258c31049344f85f89d5229b531c845836f99b08601f113bce036f9");
    bwc_secp_destroy(ctx);
    bwc_secp_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bip340_vectors),
        cmocka_unit_test(test_round_trip_and_tamper),
        cmocka_unit_test(test_invalid_secret_refused),
        cmocka_unit_test(test_pubkey_validity),
        cmocka_unit_test(test_cleanse),
        cmocka_unit_test(test_context_without_seed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
