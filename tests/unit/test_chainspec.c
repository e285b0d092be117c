/* test_chainspec.c: the committed chainspecs load and check; bad ones name the bad field. */
#include "tests/unit/unit.h"

#include <ctype.h>

#include <jansson.h>
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>

#include "chainspec/chainspec.h"
#include "consensus/bech32m.h"
#include "consensus/genesis.h"
#include "consensus/key.h"

static const char *const committed[] = {"dev", "test", "main", "poa-example"};

/* Their chain_ids, recomputed when the files were written by a separate script straight from
 * PROTOCOL.md §3.6 and §4 (its own CBOR, bech32m and tagged hash). A mismatch means the
 * chain changed: a consensus value in the file, G or the header encoding. */
static const char *const committed_ids[] = {
    "2fb7044298a2fb4e2de79e88e7c78d863b88f5a476568528576e4ebec8b82c3c",
    "6f1bba313e0096eb05397cb1917db5d1a5a1c9966309693ba76d958ef183c85c",
    "45c6f616cb30ace7ec8e0d8cb887bbcc5339d8aec66dc243ad50efe96edf9c4d",
    "0bd701fa09e45713e2d0f35d66616876d56482f59b114ab357b32f74318036dd",
};

static void spec_path(char *out, size_t cap, const char *file)
{
    snprintf(out, cap, "%s/%s", BWC_CHAINSPEC_DIR, file);
}

static void load_named(bwc_chainspec *cs, const char *name)
{
    char path[1024], file[64], err[512];
    snprintf(file, sizeof file, "%s.json", name);
    spec_path(path, sizeof path, file);
    if (bwc_chainspec_load_file(cs, path, err, sizeof err) != 0)
        fail_msg("%s", err);
}

static void test_committed_chainspecs_load(void **state)
{
    (void)state;
    bwc_hash ids[4];
    for (size_t i = 0; i < 4; i++) {
        bwc_chainspec cs;
        bwc_result r;
        char hex[65];
        load_named(&cs, committed[i]);
        assert_string_equal(cs.name, committed[i]);
        assert_true(bwc_params_check(&cs.params, &r));
        assert_true(bwc_chain_id(&cs.params, &ids[i]));
        bwc_hex_encode(hex, ids[i].b, 32);
        printf("# chain_id %-12s %s\n", cs.name, hex);
        assert_string_equal(hex, committed_ids[i]);
        for (size_t j = 0; j < i; j++)
            assert_memory_not_equal(ids[i].b, ids[j].b, 32);
        bwc_chainspec_free(&cs);
    }
}

static void test_chainspec_contents(void **state)
{
    (void)state;
    bwc_chainspec cs;
    unsigned char x[32];

    load_named(&cs, "dev");
    assert_string_equal(cs.params.hrp, "dbwc");
    assert_int_equal(cs.params.magic, 0xdabc0b1d);
    assert_int_equal(cs.params.engine, BWC_ENGINE_POW);
    assert_int_equal(cs.params.pow.initial_target, 0x207fffff);
    assert_int_equal(cs.params.pow.no_retarget, 1);
    assert_int_equal(cs.params.n_allocations, 4);
    assert_int_equal(cs.params.allocations[0].amount, 1000000 * BWC_UNITS_PER_COIN);
    /* Secret key 1's x-only public key is the generator's x coordinate. */
    unit_hex(x, 32, "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");
    assert_memory_equal(cs.params.allocations[0].address.b, x, 32);
    /* §7 dev defaults. */
    assert_int_equal(cs.params.initial_subsidy, 50 * BWC_UNITS_PER_COIN);
    assert_int_equal(cs.params.halving_interval, 210000);
    assert_int_equal(cs.params.min_fee, 1000);
    assert_int_equal(cs.params.receipt_fee, 1000);
    assert_int_equal(cs.params.settle_window, 100);
    assert_int_equal(cs.params.max_channel_blocks, 100000);
    assert_int_equal(cs.params.max_block_bytes, 2 * 1024 * 1024);
    assert_int_equal(cs.params.max_message_bytes, 4 * 1024 * 1024);
    assert_int_equal(cs.params.max_future_seconds, 7200);
    assert_int_equal(cs.p2p_port, 18744);
    assert_int_equal(cs.n_seeds, 0);
    bwc_chainspec_free(&cs);

    load_named(&cs, "main");
    assert_string_equal(cs.params.hrp, "bwc");
    assert_int_equal(cs.params.genesis_time, 1796083200); /* 2026-12-01T00:00:00Z */
    assert_int_equal(cs.params.pow.initial_target, 0x1d00ffff);
    assert_int_equal(cs.params.pow.no_retarget, 0);
    assert_int_equal(cs.params.pow.half_life, 172800);
    assert_int_equal(cs.params.n_allocations, 0);
    bwc_chainspec_free(&cs);

    load_named(&cs, "poa-example");
    assert_int_equal(cs.params.engine, BWC_ENGINE_POA);
    assert_int_equal(cs.params.poa.n_authorities, 3);
    assert_int_equal(cs.params.poa.slot_seconds, 5);
    assert_int_equal(cs.params.poa.finality_depth, 10);
    bwc_chainspec_free(&cs);
}

/* Each line of a *-keys.txt file: the secret derives the address, which the chainspec holds. */
static void check_keys_file(const char *keys_file, const char *chain, int allocations)
{
    char path[1024], line[512];
    bwc_chainspec cs;
    size_t n = 0;
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    assert_non_null(ctx);
    load_named(&cs, chain);
    spec_path(path, sizeof path, keys_file);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f)) {
        char secret_hex[65], addr[128];
        unsigned long long amount = 0;
        unsigned char secret[32];
        secp256k1_keypair kp;
        secp256k1_xonly_pubkey xpk;
        bwc_pubkey pk, decoded;
        if (line[0] == '#')
            continue;
        int fields = sscanf(line, "%64s %127s %llu", secret_hex, addr, &amount);
        assert_int_equal(fields, allocations ? 3 : 2);
        unit_hex(secret, 32, secret_hex);
        assert_true(secp256k1_keypair_create(ctx, &kp, secret));
        assert_true(secp256k1_keypair_xonly_pub(ctx, &xpk, NULL, &kp));
        assert_true(secp256k1_xonly_pubkey_serialize(ctx, pk.b, &xpk));
        assert_true(bwc_address_decode(&decoded, cs.params.hrp, addr));
        assert_memory_equal(decoded.b, pk.b, 32);
        if (allocations) {
            assert_true(n < cs.params.n_allocations);
            assert_memory_equal(cs.params.allocations[n].address.b, pk.b, 32);
            assert_int_equal(cs.params.allocations[n].amount, amount);
        } else {
            assert_true(n < cs.params.poa.n_authorities);
            assert_memory_equal(cs.params.poa.authorities[n].b, pk.b, 32);
        }
        n++;
    }
    fclose(f);
    assert_int_equal(n, allocations ? cs.params.n_allocations : cs.params.poa.n_authorities);
    bwc_chainspec_free(&cs);
    secp256k1_context_destroy(ctx);
}

static void test_keys_files_match(void **state)
{
    (void)state;
    check_keys_file("dev-keys.txt", "dev", 1);
    check_keys_file("poa-example-keys.txt", "poa-example", 0);
}

static void test_dev_chain_id_stable(void **state)
{
    (void)state;
    bwc_chainspec a, b;
    bwc_hash ia, ib;
    load_named(&a, "dev");
    load_named(&b, "dev");
    assert_true(bwc_chain_id(&a.params, &ia));
    assert_true(bwc_chain_id(&b.params, &ib));
    assert_memory_equal(ia.b, ib.b, 32);
    bwc_chainspec_free(&a);
    bwc_chainspec_free(&b);
}

/* --- bad inputs: a committed chainspec with one thing changed --- */

static json_t *spec_json(const char *name)
{
    char path[1024], file[64];
    json_error_t je;
    snprintf(file, sizeof file, "%s.json", name);
    spec_path(path, sizeof path, file);
    json_t *root = json_load_file(path, 0, &je);
    assert_non_null(root);
    return root;
}

/* Loads the JSON text and asserts it fails with an error containing want. */
static void expect_error_text(const char *text, const char *want)
{
    bwc_chainspec cs;
    char err[512];
    static const unsigned char zero[sizeof(bwc_chainspec)];
    memset(&cs, 0x5a, sizeof cs);
    assert_int_equal(bwc_chainspec_load_string(&cs, text, err, sizeof err), -1);
    if (!strstr(err, want))
        fail_msg("error \"%s\" does not contain \"%s\"", err, want);
    assert_memory_equal(&cs, zero, sizeof cs); /* nothing left to free */
}

static void expect_error(json_t *root, const char *want)
{
    char *text = json_dumps(root, 0);
    assert_non_null(text);
    expect_error_text(text, want);
    free(text);
    json_decref(root);
}

static json_t *at(json_t *root, const char *a, const char *b)
{
    json_t *v = json_object_get(root, a);
    if (b)
        v = json_object_get(v, b);
    assert_non_null(v);
    return v;
}

static json_t *allocation(json_t *root, size_t i)
{
    json_t *v = json_array_get(at(root, "genesis", "allocations"), i);
    assert_non_null(v);
    return v;
}

static void test_missing_and_unknown_fields(void **state)
{
    (void)state;
    json_t *r;

    r = spec_json("dev");
    json_object_del(at(r, "economics", NULL), "min_fee");
    expect_error(r, "chainspec field 'economics.min_fee': missing");

    r = spec_json("dev");
    json_object_del(r, "ports");
    expect_error(r, "chainspec field 'ports': missing");

    r = spec_json("dev");
    json_object_del(allocation(r, 2), "address");
    expect_error(r, "chainspec field 'genesis.allocations[2].address': missing");

    r = spec_json("dev");
    json_object_set_new(at(r, "economics", NULL), "min_fees", json_integer(1000));
    expect_error(r, "chainspec field 'economics.min_fees': unknown field");

    r = spec_json("dev");
    json_object_set_new(r, "seed", json_array());
    expect_error(r, "chainspec field 'seed': unknown field");

    r = spec_json("dev");
    json_object_set_new(allocation(r, 0), "memo", json_string("x"));
    expect_error(r, "chainspec field 'genesis.allocations[0].memo': unknown field");

    /* The other engine's section is refused, not ignored. */
    r = spec_json("dev");
    json_object_set_new(r, "poa", json_object());
    expect_error(r, "chainspec field 'poa': not allowed when engine is \"pow\"");
}

static void test_wrong_types_and_ranges(void **state)
{
    (void)state;
    json_t *r;

    r = spec_json("dev");
    json_object_set_new(at(r, "economics", NULL), "min_fee", json_string("1000"));
    expect_error(r, "chainspec field 'economics.min_fee': expected a non-negative integer");

    r = spec_json("dev");
    json_object_set_new(at(r, "economics", NULL), "min_fee", json_real(1000.0));
    expect_error(r, "chainspec field 'economics.min_fee': expected a non-negative integer");

    r = spec_json("dev");
    json_object_set_new(allocation(r, 1), "amount", json_integer(-5));
    expect_error(r, "chainspec field 'genesis.allocations[1].amount': expected a non-negative "
                    "integer");

    r = spec_json("dev");
    json_object_set_new(allocation(r, 1), "amount", json_integer(0));
    expect_error(r, "chainspec field 'genesis.allocations[1].amount': must be at least 1 unit");

    r = spec_json("dev");
    json_object_set_new(at(r, "genesis", NULL), "allocations", json_object());
    expect_error(r, "chainspec field 'genesis.allocations': expected an array");

    r = spec_json("dev");
    json_object_set_new(at(r, "pow", NULL), "no_retarget", json_integer(1));
    expect_error(r, "chainspec field 'pow.no_retarget': expected true or false");

    r = spec_json("dev");
    json_object_set_new(at(r, "pow", NULL), "initial_target", json_integer(0x207fffff));
    expect_error(r, "chainspec field 'pow.initial_target': expected a string");

    r = spec_json("dev");
    json_object_set_new(at(r, "pow", NULL), "initial_target", json_string("207fffff"));
    expect_error(r, "chainspec field 'pow.initial_target': expected a compact target");

    r = spec_json("dev");
    json_object_set_new(at(r, "pow", NULL), "initial_target", json_string("0x1d0000ff"));
    expect_error(r, "chainspec field 'pow.initial_target': not a canonical");

    r = spec_json("test");
    json_object_set_new(at(r, "pow", NULL), "initial_target", json_string("0x1d010000"));
    expect_error(r, "chainspec field 'pow.initial_target': a retargeting chain");

    r = spec_json("dev");
    json_object_set_new(at(r, "ports", NULL), "rpc", json_integer(65536));
    expect_error(r, "chainspec field 'ports.rpc': expected an integer from 1 to 65535");

    r = spec_json("dev");
    json_object_set_new(at(r, "ports", NULL), "rpc", json_integer(18744));
    expect_error(r, "chainspec field 'ports.rpc': must differ from ports.p2p");

    r = spec_json("dev");
    json_array_append_new(at(r, "seeds", NULL), json_string("seed.example.org"));
    expect_error(r, "chainspec field 'seeds[0]': expected \"HOST:PORT\"");

    r = spec_json("dev");
    json_object_set_new(r, "engine", json_string("pos"));
    expect_error(r, "chainspec field 'engine': expected \"pow\" or \"poa\"");

    r = spec_json("dev");
    json_object_set_new(r, "magic", json_integer(0));
    expect_error(r, "chainspec field 'magic': expected a non-zero 32-bit value");

    r = spec_json("dev");
    json_object_set_new(r, "magic", json_string("0x100000000"));
    expect_error(r, "chainspec field 'magic': expected a non-zero 32-bit value");

    r = spec_json("dev");
    json_object_set_new(r, "hrp", json_string("DBWC"));
    expect_error(r, "chainspec field 'hrp': expected 1 to 16 lower-case letters or digits");

    r = spec_json("dev");
    json_object_set_new(r, "name", json_string("../dev"));
    expect_error(r, "chainspec field 'name': expected 1 to 31 characters");

    r = spec_json("dev");
    json_object_set_new(at(r, "genesis", NULL), "message", json_stringn("a\0b", 3));
    expect_error(r, "invalid JSON"); /* jansson refuses \u0000 unless told otherwise */
}

static void test_consensus_rule_violations(void **state)
{
    (void)state;
    json_t *r;

    r = spec_json("dev");
    json_object_set_new(at(r, "economics", NULL), "halving_interval", json_integer(0));
    expect_error(r, "chainspec field 'economics.halving_interval': must not be zero "
                    "(bad-params-halving-interval)");

    r = spec_json("poa-example");
    json_object_set_new(at(r, "poa", NULL), "slot_seconds", json_integer(0));
    expect_error(r, "chainspec field 'poa.slot_seconds': must not be zero");

    r = spec_json("dev");
    json_object_set(allocation(r, 2), "address", json_object_get(allocation(r, 0), "address"));
    expect_error(r, "chainspec field 'genesis.allocations[2].address': same address as "
                    "genesis.allocations[0] (bad-params-allocation-duplicate)");

    r = spec_json("poa-example");
    json_array_append(at(r, "poa", "authorities"), json_array_get(at(r, "poa", "authorities"), 1));
    expect_error(r, "chainspec field 'poa.authorities[3]': same key as poa.authorities[1]");

    r = spec_json("poa-example");
    json_array_clear(at(r, "poa", "authorities"));
    expect_error(r, "chainspec field 'poa.authorities': needs at least one authority");

    r = spec_json("dev");
    json_object_set_new(at(r, "limits", NULL), "max_message_bytes", json_integer(2097152));
    expect_error(r, "chainspec field 'limits.max_message_bytes'");
}

static void test_addresses(void **state)
{
    (void)state;
    json_t *r;
    bwc_pubkey pk;
    char addr[128];

    /* A valid key, but encoded for the test chain: not an address on dev. */
    unit_hex(pk.b, 32, "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");
    assert_true(bwc_address_encode(addr, sizeof addr, "tbwc", &pk));
    r = spec_json("dev");
    json_object_set_new(allocation(r, 0), "address", json_string(addr));
    expect_error(r, "chainspec field 'genesis.allocations[0].address': expected a bech32m "
                    "address of this chain (hrp \"dbwc\")");

    /* An all-upper-case address is the same address (§1). */
    r = spec_json("dev");
    snprintf(addr, sizeof addr, "%s",
             json_string_value(json_object_get(allocation(r, 0), "address")));
    for (char *c = addr; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    json_object_set_new(allocation(r, 0), "address", json_string(addr));
    char *text = json_dumps(r, 0);
    bwc_chainspec cs;
    char err[512], hex[65];
    bwc_hash id;
    assert_int_equal(bwc_chainspec_load_string(&cs, text, err, sizeof err), 0);
    assert_true(bwc_chain_id(&cs.params, &id));
    bwc_hex_encode(hex, id.b, 32);
    assert_string_equal(hex, committed_ids[0]);
    bwc_chainspec_free(&cs);
    free(text);
    json_decref(r);

    r = spec_json("dev");
    json_object_set_new(allocation(r, 3), "address", json_string("dbwc1notanaddress"));
    expect_error(r, "chainspec field 'genesis.allocations[3].address': expected a bech32m");

    /* x = 5: 5^3 + 7 = 132 is not a square mod p, so no point has this x. */
    secp256k1_context *ctx = bwc_secp_create(NULL);
    assert_non_null(ctx);
    memset(pk.b, 0, 32);
    pk.b[31] = 5;
    assert_false(bwc_pubkey_valid(ctx, &pk));
    bwc_secp_destroy(ctx);
    /* The same 32 bytes as a pbwc bech32m string, computed with an independent reference
     * encoder (BIP350's); cross-checked with ours when ours encodes off-curve keys at all. */
    const char *off_curve = "pbwc1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqzszgmutt";
    if (bwc_address_encode(addr, sizeof addr, "pbwc", &pk))
        assert_string_equal(addr, off_curve);
    r = spec_json("poa-example");
    json_array_set_new(at(r, "poa", "authorities"), 1, json_string(off_curve));
    expect_error(r, "chainspec field 'poa.authorities[1]'");
}

static void test_bad_json_and_files(void **state)
{
    (void)state;
    bwc_chainspec cs;
    char err[512];
    expect_error_text("{\"name\": ", "chainspec: invalid JSON at line 1");
    expect_error_text("[]", "expected a JSON object at the top level");
    expect_error_text("{\"name\": \"dev\", \"name\": \"dev\"}", "duplicate object key");
    assert_int_equal(bwc_chainspec_load_file(&cs, "/nonexistent/dev.json", err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/dev.json"));
    /* A short error buffer is still terminated. */
    char small[8];
    assert_int_equal(bwc_chainspec_load_string(&cs, "{", small, sizeof small), -1);
    assert_int_equal(strlen(small), sizeof small - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_committed_chainspecs_load),
        cmocka_unit_test(test_chainspec_contents),
        cmocka_unit_test(test_keys_files_match),
        cmocka_unit_test(test_dev_chain_id_stable),
        cmocka_unit_test(test_missing_and_unknown_fields),
        cmocka_unit_test(test_wrong_types_and_ranges),
        cmocka_unit_test(test_consensus_rule_violations),
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_bad_json_and_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
