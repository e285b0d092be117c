/* test_hash.c: SHA-256 and tagged hashes against independently known values. */
#include "tests/unit/unit.h"

#include "consensus/hash.h"

static void test_sha256_known(void **state)
{
    (void)state;
    bwc_hash h;
    bwc_sha256(&h, "", 0);
    assert_hex32(h.b, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    bwc_sha256(&h, "abc", 3);
    assert_hex32(h.b, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* TH(tag, m) = SHA256(SHA256(tag) || SHA256(tag) || m), recomputed by hand. */
static void test_tagged_matches_definition(void **state)
{
    (void)state;
    bwc_hash t, want, got;
    unsigned char pre[64 + 5];
    bwc_sha256(&t, "bwc/tx", 6);
    memcpy(pre, t.b, 32);
    memcpy(pre + 32, t.b, 32);
    memcpy(pre + 64, "hello", 5);
    bwc_sha256(&want, pre, sizeof pre);
    bwc_tagged_hash(&got, "bwc/tx", "hello", 5);
    assert_memory_equal(got.b, want.b, 32);
    bwc_tagged_hash2(&got, "bwc/tx", "he", 2, "llo", 3);
    assert_memory_equal(got.b, want.b, 32);
}

/* A different tag gives a different hash of the same message. */
static void test_tag_changes_hash(void **state)
{
    (void)state;
    bwc_hash a, b;
    bwc_tagged_hash(&a, "bwc/tx", "x", 1);
    bwc_tagged_hash(&b, "bwc/receipt", "x", 1);
    assert_memory_not_equal(a.b, b.b, 32);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256_known),
        cmocka_unit_test(test_tagged_matches_definition),
        cmocka_unit_test(test_tag_changes_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
