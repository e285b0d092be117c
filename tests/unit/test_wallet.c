/* test_wallet.c: the wallet's pure parts: amounts, sizes and heights as typed; the keystore's
 * encryption round trip, wrong passphrase, every tampered byte, files; addresses with their
 * reasons; signing. */
#include "tests/unit/unit.h"

#include <ctype.h>
#include <sys/stat.h>
#include <unistd.h>

#include "consensus/bech32m.h"
#include "consensus/key.h"
#include "wallet/address.h"
#include "wallet/amount.h"
#include "wallet/keystore.h"
#include "wallet/txbuild.h"

/* The cheapest cost the reader accepts, so that tampering every byte stays fast. */
static const bwc_scrypt_params CHEAP = {BWC_SCRYPT_LOG2_N_MIN, 8, 1};
static const char *DEV_KEY1_ADDR =
    "dbwc10xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq54886f";

static int setup(void **state)
{
    static const unsigned char seed[32] = {7};
    *state = bwc_secp_create(seed);
    return *state ? 0 : -1;
}

static int teardown(void **state)
{
    bwc_secp_destroy(*state);
    return 0;
}

/* ---- amounts ---- */

static void test_amount_accepts(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        uint64_t units;
    } ok[] = {
        {"1.5", 150000000},
        {"1", 100000000},
        {"0", 0},
        {"0.00000001", 1},
        {"0.1", 10000000},
        {"1000000", 100000000000000ULL},
        {"150000000u", 150000000},
        {"1u", 1},
        {"0u", 0},
        {"18446744073709551615u", UINT64_MAX},
        {"184467440737.09551615", UINT64_MAX},
        {"007.50", 750000000},
    };
    char err[256];
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        uint64_t v = 99;
        assert_int_equal(bwc_amount_parse(&v, ok[i].s, err, sizeof err), 0);
        assert_true(v == ok[i].units);
    }
}

static void test_amount_refuses(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "u",
        ".5",
        "1.",
        "1.5u",
        "-1",
        "+1",
        "1e5",
        "1,5",
        "1 ",
        " 1",
        "abc",
        "1.2.3",
        "0x10",
        "1U",
        "1BWC",
        "0.000000001",
        "18446744073709551616u",
        "184467440737.09551616",
        "99999999999999999999999",
    };
    char err[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t v = 99;
        err[0] = '\0';
        assert_int_equal(bwc_amount_parse(&v, bad[i], err, sizeof err), -1);
        assert_true(v == 0);
        assert_non_null(strstr(err, "bad amount"));
    }
}

static void test_amount_format(void **state)
{
    (void)state;
    char s[BWC_AMOUNT_STR_MAX];
    assert_string_equal(bwc_amount_format(s, 150000000), "1.50000000");
    assert_string_equal(bwc_amount_format(s, 0), "0.00000000");
    assert_string_equal(bwc_amount_format(s, 1), "0.00000001");
    assert_string_equal(bwc_amount_format(s, UINT64_MAX), "184467440737.09551615");
    /* format then parse gives the same units */
    for (uint64_t v = 1; v < UINT64_MAX / 3; v = v * 3 + 1) {
        uint64_t back;
        char err[128];
        assert_int_equal(bwc_amount_parse(&back, bwc_amount_format(s, v), err, sizeof err), 0);
        assert_true(back == v);
    }
}

static void test_size_and_height(void **state)
{
    (void)state;
    char err[256];
    uint64_t v;
    assert_int_equal(bwc_size_parse(&v, "1024", "--rate", err, sizeof err), 0);
    assert_true(v == 1024);
    assert_int_equal(bwc_size_parse(&v, "256KiB", "--chunk-size", err, sizeof err), 0);
    assert_true(v == 262144);
    assert_int_equal(bwc_size_parse(&v, "1TiB", "--quota", err, sizeof err), 0);
    assert_true(v == 1ULL << 40);
    assert_int_equal(bwc_size_parse(&v, "1kib", "--quota", err, sizeof err), -1);
    assert_int_equal(bwc_size_parse(&v, "KiB", "--quota", err, sizeof err), -1);
    assert_int_equal(bwc_size_parse(&v, "16777216TiB", "--quota", err, sizeof err), -1);
    assert_non_null(strstr(err, "--quota"));
    assert_int_equal(bwc_height_parse(&v, "+10", 100, "--expiry", err, sizeof err), 0);
    assert_true(v == 110);
    assert_int_equal(bwc_height_parse(&v, "500", 100, "--expiry", err, sizeof err), 0);
    assert_true(v == 500);
    assert_int_equal(bwc_height_parse(&v, "-5", 100, "--expiry", err, sizeof err), -1);
    assert_int_equal(bwc_height_parse(&v, "+", 100, "--expiry", err, sizeof err), -1);
    assert_int_equal(bwc_height_parse(&v, "+18446744073709551615", 1, "--expiry", err, sizeof err),
                     -1);
    assert_int_equal(bwc_uint_parse(&v, "12", "--count", err, sizeof err), 0);
    assert_true(v == 12);
    assert_int_equal(bwc_uint_parse(&v, "1x", "--count", err, sizeof err), -1);
}

/* ---- keystore ---- */

static void make_secret(unsigned char s[32], unsigned char seed)
{
    for (int i = 0; i < 32; i++)
        s[i] = (unsigned char)(seed + i * 3);
}

/* A keystore of three keys (two labelled) encrypted under "pass phrase" into file. */
static void make_file(const secp256k1_context *ctx, bwc_keystore *ks, bwc_buf *file)
{
    bwc_hash chain;
    unsigned char s[32];
    char err[256];
    memset(chain.b, 0xab, 32);
    bwc_keystore_init(ks, &chain);
    make_secret(s, 1);
    assert_int_equal(bwc_keystore_add(ks, ctx, s, "main", 1700000000, err, sizeof err), 0);
    make_secret(s, 2);
    assert_int_equal(bwc_keystore_add(ks, ctx, s, NULL, 1700000001, err, sizeof err), 0);
    make_secret(s, 3);
    assert_int_equal(bwc_keystore_add(ks, ctx, s, "savings \xc3\xa9t\xc3\xa9", 5, err, sizeof err),
                     0);
    bwc_buf_init(file);
    assert_int_equal(bwc_keystore_encrypt(ks, "pass phrase", 11, &CHEAP, file, err, sizeof err), 0);
}

static void test_keystore_round_trip(void **state)
{
    const secp256k1_context *ctx = *state;
    bwc_keystore ks, back;
    bwc_buf file;
    char err[256];
    make_file(ctx, &ks, &file);
    size_t ct_len = (size_t)file.data[48] << 24 | (size_t)file.data[49] << 16 |
                    (size_t)file.data[50] << 8 | file.data[51];
    assert_true(file.len == BWC_KEYSTORE_HEADER_BYTES + BWC_KEYSTORE_TAG_BYTES + ct_len);
    assert_memory_equal(file.data, "BWCWALLT", 8);
    /* the secrets do not appear in the file */
    for (size_t i = 0; i < ks.n_keys; i++)
        for (size_t off = 0; off + 32 <= file.len; off++)
            assert_true(memcmp(file.data + off, ks.keys[i].secret, 32) != 0);

    assert_int_equal(
        bwc_keystore_decrypt(&back, ctx, file.data, file.len, "pass phrase", 11, err, sizeof err),
        BWC_KEYSTORE_OK);
    assert_memory_equal(back.chain_id.b, ks.chain_id.b, 32);
    assert_int_equal(back.n_keys, 3);
    for (size_t i = 0; i < 3; i++) {
        assert_memory_equal(back.keys[i].secret, ks.keys[i].secret, 32);
        assert_memory_equal(back.keys[i].pub.b, ks.keys[i].pub.b, 32);
        assert_string_equal(back.keys[i].label, ks.keys[i].label);
        assert_true(back.keys[i].created == ks.keys[i].created);
    }
    assert_int_equal(bwc_keystore_find_label(&back, "savings \xc3\xa9t\xc3\xa9"), 2);
    assert_int_equal(bwc_keystore_find(&back, &ks.keys[1].pub), 1);

    /* Encrypting again uses a fresh salt and nonce. */
    bwc_buf again = BWC_BUF_INIT;
    assert_int_equal(
        bwc_keystore_encrypt(&back, "pass phrase", 11, &CHEAP, &again, err, sizeof err), 0);
    assert_int_equal(again.len, file.len);
    assert_true(memcmp(again.data + 19, file.data + 19, 16) != 0); /* salt */
    assert_true(memcmp(again.data + 36, file.data + 36, 12) != 0); /* nonce */

    bwc_keystore_free(&back);
    assert_int_equal(back.n_keys, 0);
    assert_null(back.keys);
    bwc_buf_free(&again);
    bwc_buf_free(&file);
    bwc_keystore_free(&ks);
}

static void test_keystore_empty_wallet(void **state)
{
    const secp256k1_context *ctx = *state;
    bwc_keystore ks, back;
    bwc_hash chain = {{1}};
    bwc_buf file = BWC_BUF_INIT;
    char err[256];
    bwc_keystore_init(&ks, &chain);
    assert_int_equal(bwc_keystore_encrypt(&ks, "x", 1, &CHEAP, &file, err, sizeof err), 0);
    assert_int_equal(bwc_keystore_decrypt(&back, ctx, file.data, file.len, "x", 1, err, sizeof err),
                     BWC_KEYSTORE_OK);
    assert_int_equal(back.n_keys, 0);
    assert_memory_equal(back.chain_id.b, chain.b, 32);
    bwc_keystore_free(&back);
    bwc_buf_free(&file);
}

static void test_keystore_wrong_passphrase(void **state)
{
    const secp256k1_context *ctx = *state;
    bwc_keystore ks, back;
    bwc_buf file;
    char err[256];
    make_file(ctx, &ks, &file);
    static const char *wrong[] = {"pass phrasE", "pass phras", "pass phrase ", "", "x"};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++) {
        assert_int_equal(bwc_keystore_decrypt(&back, ctx, file.data, file.len, wrong[i],
                                              strlen(wrong[i]), err, sizeof err),
                         BWC_KEYSTORE_AUTH);
        assert_non_null(strstr(err, "wrong passphrase"));
        assert_int_equal(back.n_keys, 0);
        assert_null(back.keys);
    }
    bwc_buf_free(&file);
    bwc_keystore_free(&ks);
}

/* Flipping any bit of any byte (header, ciphertext or tag) makes the file refused. */
static void test_keystore_tampered(void **state)
{
    const secp256k1_context *ctx = *state;
    bwc_keystore ks, back;
    bwc_buf file;
    char err[256];
    make_file(ctx, &ks, &file);
    for (size_t i = 0; i < file.len; i++) {
        for (int bit = 0; bit < 8; bit += 7) {
            file.data[i] ^= (unsigned char)(1 << bit);
            bwc_keystore_status st = bwc_keystore_decrypt(&back, ctx, file.data, file.len,
                                                          "pass phrase", 11, err, sizeof err);
            file.data[i] ^= (unsigned char)(1 << bit);
            assert_true(st == BWC_KEYSTORE_CORRUPT || st == BWC_KEYSTORE_AUTH);
            assert_int_equal(back.n_keys, 0);
        }
    }
    /* truncated or extended */
    for (size_t n = 0; n < file.len; n += 7)
        assert_int_equal(
            bwc_keystore_decrypt(&back, ctx, file.data, n, "pass phrase", 11, err, sizeof err),
            BWC_KEYSTORE_CORRUPT);
    assert_true(bwc_buf_reserve(&file, 1));
    file.data[file.len] = 0;
    assert_int_equal(bwc_keystore_decrypt(&back, ctx, file.data, file.len + 1, "pass phrase", 11,
                                          err, sizeof err),
                     BWC_KEYSTORE_CORRUPT);
    assert_non_null(strstr(err, "length"));
    /* an scrypt cost beyond the bounds is refused before any work (no 2^40-byte allocation) */
    file.data[10] = 40;
    assert_int_equal(
        bwc_keystore_decrypt(&back, ctx, file.data, file.len, "pass phrase", 11, err, sizeof err),
        BWC_KEYSTORE_CORRUPT);
    file.data[10] = BWC_SCRYPT_LOG2_N_MIN;
    file.data[8] = 2; /* a future version */
    assert_int_equal(
        bwc_keystore_decrypt(&back, ctx, file.data, file.len, "pass phrase", 11, err, sizeof err),
        BWC_KEYSTORE_CORRUPT);
    assert_non_null(strstr(err, "version"));
    bwc_buf_free(&file);
    bwc_keystore_free(&ks);
}

static void test_keystore_add_rules(void **state)
{
    const secp256k1_context *ctx = *state;
    bwc_keystore ks;
    bwc_hash chain = {{0}};
    unsigned char s[32], zero[32] = {0}, order[32];
    char err[256], long_label[BWC_KEYSTORE_LABEL_MAX + 2];
    bwc_keystore_init(&ks, &chain);
    make_secret(s, 9);
    assert_int_equal(bwc_keystore_add(&ks, ctx, zero, NULL, 0, err, sizeof err), -1);
    /* the group order n is not a secret key */
    assert_int_equal(unit_hex(order, sizeof order,
                              "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"),
                     32);
    assert_int_equal(bwc_keystore_add(&ks, ctx, order, NULL, 0, err, sizeof err), -1);
    assert_int_equal(bwc_keystore_add(&ks, ctx, s, "a", 0, err, sizeof err), 0);
    assert_int_equal(bwc_keystore_add(&ks, ctx, s, "b", 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "already"));
    s[0] ^= 1;
    assert_int_equal(bwc_keystore_add(&ks, ctx, s, "a", 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "label"));
    assert_int_equal(bwc_keystore_add(&ks, ctx, s, "tab\there", 0, err, sizeof err), -1);
    assert_int_equal(bwc_keystore_add(&ks, ctx, s, "\xff", 0, err, sizeof err), -1);
    memset(long_label, 'x', sizeof long_label - 1);
    long_label[sizeof long_label - 1] = '\0';
    assert_int_equal(bwc_keystore_add(&ks, ctx, s, long_label, 0, err, sizeof err), -1);
    long_label[BWC_KEYSTORE_LABEL_MAX] = '\0';
    assert_int_equal(bwc_keystore_add(&ks, ctx, s, long_label, 0, err, sizeof err), 0);
    /* growing past the first allocation keeps every key */
    for (unsigned char i = 20; i < 40; i++) {
        make_secret(s, i);
        assert_int_equal(bwc_keystore_add(&ks, ctx, s, NULL, i, err, sizeof err), 0);
    }
    assert_int_equal(ks.n_keys, 22);
    make_secret(s, 9);
    assert_memory_equal(ks.keys[0].secret, s, 32);
    bwc_keystore_free(&ks);
}

static void test_keystore_files(void **state)
{
    const secp256k1_context *ctx = *state;
    char dir[] = "/tmp/bwc_test_wallet_XXXXXX", path[256], err[512];
    bwc_keystore ks, back;
    bwc_buf file, read = BWC_BUF_INIT;
    struct stat st;
    int missing;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/wallet.dat", dir);
    assert_int_equal(bwc_keystore_read_file(path, &read, &missing, err, sizeof err), -1);
    assert_int_equal(missing, 1);

    make_file(ctx, &ks, &file);
    int lock = bwc_keystore_lock(path, err, sizeof err);
    assert_true(lock >= 0);
    /* a stale temporary file from a crash is replaced */
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    assert_non_null(f);
    fclose(f);
    assert_int_equal(bwc_keystore_write_file(path, file.data, file.len, err, sizeof err), 0);
    assert_int_equal(access(tmp, F_OK), -1);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(bwc_keystore_read_file(path, &read, &missing, err, sizeof err), 0);
    assert_int_equal(read.len, file.len);
    assert_memory_equal(read.data, file.data, file.len);
    assert_int_equal(
        bwc_keystore_decrypt(&back, ctx, read.data, read.len, "pass phrase", 11, err, sizeof err),
        BWC_KEYSTORE_OK);
    assert_int_equal(back.n_keys, 3);
    bwc_keystore_unlock(lock);

    unlink(path);
    snprintf(tmp, sizeof tmp, "%s.lock", path);
    unlink(tmp);
    rmdir(dir);
    bwc_keystore_free(&back);
    bwc_keystore_free(&ks);
    bwc_buf_free(&file);
    bwc_buf_free(&read);
}

/* ---- addresses ---- */

static void expect_address_error(const secp256k1_context *ctx, const char *s, const char *why)
{
    bwc_pubkey pk;
    char err[512];
    memset(&pk, 0x55, sizeof pk);
    assert_int_equal(bwc_wallet_parse_address(ctx, "dbwc", s, &pk, err, sizeof err), -1);
    if (!strstr(err, why))
        fail_msg("'%s': expected '%s' in '%s'", s, why, err);
    bwc_pubkey zero = {{0}};
    assert_memory_equal(pk.b, zero.b, 32);
}

static void test_addresses(void **state)
{
    const secp256k1_context *ctx = *state;
    bwc_pubkey pk, pk2;
    char err[512], buf[128], addr[BWC_ADDRESS_MAX];
    assert_int_equal(bwc_wallet_parse_address(ctx, "dbwc", DEV_KEY1_ADDR, &pk, err, sizeof err), 0);
    /* upper case is the same address */
    for (size_t i = 0; DEV_KEY1_ADDR[i]; i++)
        buf[i] = (char)toupper((unsigned char)DEV_KEY1_ADDR[i]);
    buf[strlen(DEV_KEY1_ADDR)] = '\0';
    assert_int_equal(bwc_wallet_parse_address(ctx, "dbwc", buf, &pk2, err, sizeof err), 0);
    assert_memory_equal(pk.b, pk2.b, 32);

    /* the same key on main: another chain */
    assert_true(bwc_address_encode(addr, sizeof addr, "bwc", &pk));
    expect_address_error(ctx, addr, "another chain (prefix 'bwc1'");
    /* one character changed: bad checksum */
    snprintf(buf, sizeof buf, "%s", DEV_KEY1_ADDR);
    buf[20] = buf[20] == 'q' ? 'p' : 'q';
    expect_address_error(ctx, buf, "bad checksum");
    /* truncated */
    snprintf(buf, sizeof buf, "%.*s", (int)strlen(DEV_KEY1_ADDR) - 1, DEV_KEY1_ADDR);
    expect_address_error(ctx, buf, "bad checksum");
    snprintf(buf, sizeof buf, "%s", DEV_KEY1_ADDR);
    buf[10] = 'b'; /* not in the bech32 alphabet */
    expect_address_error(ctx, buf, "'b' is not a bech32m character");
    buf[10] = 'Q';
    expect_address_error(ctx, buf, "mixes upper and lower case");
    expect_address_error(ctx, "", "empty");
    expect_address_error(ctx, "hello", "no prefix");
    expect_address_error(ctx, "dbwc1 x", "space");
    /* a key that is not on the curve (x >= p) */
    memset(pk.b, 0xff, 32);
    assert_true(bwc_address_encode(addr, sizeof addr, "dbwc", &pk));
    expect_address_error(ctx, addr, "not on the curve");
    /* a valid bech32m string of the right hrp that holds 20 bytes */
    unsigned char d5[40];
    size_t n5 = 0;
    assert_true(bwc_bech32m_convert_bits(d5, &n5, sizeof d5, 5, pk.b, 20, 8, 1));
    assert_true(bwc_bech32m_encode(addr, sizeof addr, "dbwc", d5, n5));
    expect_address_error(ctx, addr, "wrong length");

    /* keys as hex or address; ids as hex */
    assert_int_equal(
        bwc_wallet_parse_pubkey(ctx, "dbwc", DEV_KEY1_ADDR, "--ticket-key", &pk, err, sizeof err),
        0);
    bwc_hex_encode(buf, pk.b, 32);
    assert_int_equal(
        bwc_wallet_parse_pubkey(ctx, "dbwc", buf, "--ticket-key", &pk2, err, sizeof err), 0);
    assert_memory_equal(pk.b, pk2.b, 32);
    assert_int_equal(
        bwc_wallet_parse_pubkey(ctx, "dbwc", "xyz", "--ticket-key", &pk2, err, sizeof err), -1);
    assert_non_null(strstr(err, "--ticket-key"));
    bwc_hash h;
    assert_int_equal(bwc_wallet_parse_hash(buf, "CONTENT", &h, err, sizeof err), 0);
    assert_int_equal(bwc_wallet_parse_hash("00", "CONTENT", &h, err, sizeof err), -1);
    assert_non_null(strstr(err, "CONTENT"));
}

/* ---- signing ---- */

static void test_txbuild(void **state)
{
    const secp256k1_context *ctx = *state;
    unsigned char secret[32] = {0};
    bwc_hash chain, txid, again;
    bwc_tx tx, dec;
    bwc_result res;
    char *hex = NULL, err[256];
    uint64_t cost;
    secret[31] = 1;
    memset(chain.b, 0x11, 32);
    memset(&tx, 0, sizeof tx);
    tx.type = BWC_TX_TRANSFER;
    assert_true(bwc_key_pubkey(ctx, &tx.from, secret));
    tx.nonce = 3;
    tx.fee = 1000;
    assert_int_equal(bwc_address_decode(&tx.body.transfer.to, "dbwc", DEV_KEY1_ADDR), 1);
    tx.body.transfer.amount = 150000000;
    memcpy(tx.body.transfer.memo, "hi", 2);
    tx.body.transfer.memo_len = 2;
    assert_int_equal(bwc_txbuild_cost(&tx, &cost), 1);
    assert_true(cost == 150001000);
    assert_int_equal(bwc_txbuild_sign(ctx, &tx, secret, &chain, &txid, &hex, err, sizeof err), 0);
    unsigned char *bytes;
    size_t len;
    assert_true(bwc_hex_decode_alloc(&bytes, &len, hex));
    assert_int_equal(bwc_tx_decode(&dec, bytes, len, &res), 1);
    free(bytes);
    free(hex);
    bwc_tx_id(&chain, &dec, &again);
    assert_memory_equal(again.b, txid.b, 32);
    assert_true(bwc_verify(ctx, &dec.sig, &txid, &dec.from));
    assert_true(dec.nonce == 3 && dec.body.transfer.amount == 150000000);

    /* a transaction the decoder would refuse is never produced */
    tx.body.transfer.amount = 0;
    assert_int_equal(bwc_txbuild_sign(ctx, &tx, secret, &chain, &txid, &hex, err, sizeof err), -1);
    assert_null(hex);
    assert_non_null(strstr(err, "bad-tx-amount-zero"));
    /* nor one signed by a key that is not the sender */
    tx.body.transfer.amount = 1;
    secret[31] = 2;
    assert_int_equal(bwc_txbuild_sign(ctx, &tx, secret, &chain, &txid, &hex, err, sizeof err), -1);
    /* cost overflow */
    tx.fee = UINT64_MAX;
    assert_int_equal(bwc_txbuild_cost(&tx, &cost), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_amount_accepts),
        cmocka_unit_test(test_amount_refuses),
        cmocka_unit_test(test_amount_format),
        cmocka_unit_test(test_size_and_height),
        cmocka_unit_test(test_keystore_round_trip),
        cmocka_unit_test(test_keystore_empty_wallet),
        cmocka_unit_test(test_keystore_wrong_passphrase),
        cmocka_unit_test(test_keystore_tampered),
        cmocka_unit_test(test_keystore_add_rules),
        cmocka_unit_test(test_keystore_files),
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_txbuild),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
