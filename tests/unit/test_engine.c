/* test_engine.c: header rules (§5, §6): MTP, ASERT vectors, PoW/PoA checks, work, subsidy. */
#include "tests/unit/unit.h"

#include "consensus/engine.h"
#include "consensus/genesis.h"
#include "consensus/key.h"
#include "consensus/target.h"

#define GENESIS_TIME 1767225600ULL /* divisible by 5: slot 353445120, which is 0 mod 3 */
#define NOW (GENESIS_TIME + 100000)
#define DEV_TARGET 0x207fffffu
#define N_AUTH 3

/* A params set and the arrays it points into. */
typedef struct {
    bwc_params p;
    bwc_allocation alloc;
    bwc_pubkey auths[N_AUTH];
    unsigned char secrets[N_AUTH][32];
} fixture;

static secp256k1_context *secp;

static int setup(void **state)
{
    (void)state;
    static const unsigned char seed[32] = {7, 7, 7};
    secp = bwc_secp_create(seed);
    return secp ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    bwc_secp_destroy(secp);
    return 0;
}

static void common_fields(fixture *f)
{
    memset(f, 0, sizeof *f);
    strcpy(f->p.hrp, "dbwc");
    f->p.magic = 0xdabc0b1d;
    f->p.genesis_time = GENESIS_TIME;
    strcpy(f->p.message, "engine test");
    memset(f->alloc.address.b, 0x21, 32);
    f->alloc.amount = 1000;
    f->p.allocations = &f->alloc;
    f->p.n_allocations = 1;
    f->p.initial_subsidy = 50 * BWC_UNITS_PER_COIN;
    f->p.halving_interval = 210000;
    f->p.min_fee = 1000;
    f->p.receipt_fee = 1000;
    f->p.settle_window = 100;
    f->p.max_channel_blocks = 100000;
    f->p.max_block_bytes = 2 * 1024 * 1024;
    f->p.max_message_bytes = 4 * 1024 * 1024;
    f->p.max_future_seconds = 7200;
}

/* The dev chain's engine: pow at 0x207fffff without retargeting (about 2 tries per block). */
static void pow_dev(fixture *f)
{
    common_fields(f);
    f->p.engine = BWC_ENGINE_POW;
    f->p.pow.initial_target = DEV_TARGET;
    f->p.pow.target_spacing = 10;
    f->p.pow.half_life = 3600;
    f->p.pow.no_retarget = 1;
}

/* A retargeting pow chain whose initial target is 2^220 (compact 0x1c100000). */
static void pow_asert(fixture *f)
{
    common_fields(f);
    f->p.engine = BWC_ENGINE_POW;
    f->p.pow.initial_target = 0x1c100000;
    f->p.pow.target_spacing = 60;
    f->p.pow.half_life = 3600;
    f->p.pow.no_retarget = 0;
}

/* A poa chain of three authorities with keys from fixed secrets, 5-second slots. */
static void poa(fixture *f)
{
    common_fields(f);
    f->p.engine = BWC_ENGINE_POA;
    for (int i = 0; i < N_AUTH; i++) {
        memset(f->secrets[i], 0x11 * (i + 1), 32);
        assert_true(bwc_key_pubkey(secp, &f->auths[i], f->secrets[i]));
    }
    f->p.poa.authorities = f->auths;
    f->p.poa.n_authorities = N_AUTH;
    f->p.poa.slot_seconds = 5;
    f->p.poa.finality_depth = 10;
}

static void check_params(const fixture *f)
{
    bwc_result res;
    assert_true(bwc_params_check(&f->p, &res));
}

/* A child of parent at the given time; pow fields set on pow chains, signature left out. */
static void child(const fixture *f, bwc_header *h, const bwc_header *parent,
                  const bwc_hash *parent_id, uint64_t time)
{
    memset(h, 0, sizeof *h);
    h->version = 1;
    h->height = parent->height + 1;
    h->prev = *parent_id;
    h->time = time;
    memset(h->tx_root.b, 0xa1, 32);
    memset(h->receipt_root.b, 0xa2, 32);
    memset(h->producer.b, 0x5a, 32);
    if (f->p.engine == BWC_ENGINE_POW) {
        h->has_pow = 1;
        h->target = f->p.pow.initial_target;
    }
}

/* Increments the nonce until the block id meets the header's own target (or fails to, with
 * want_meet 0: a header that is valid except for high-hash). */
static void mine(bwc_header *h, int want_meet)
{
    unsigned char t[32];
    bwc_hash id;
    assert_true(bwc_target_from_compact(t, h->target));
    for (h->nonce = 0; h->nonce < 1000; h->nonce++) {
        bwc_header_id(h, &id);
        if (bwc_hash_meets_target(&id, t) == want_meet)
            return;
    }
    fail_msg("no nonce in 1000 tries");
}

/* Makes h the block of the authority whose turn its time is, signed by authority `who`. */
static void sign_as(const fixture *f, bwc_header *h, int who)
{
    static const unsigned char aux[32] = {0};
    bwc_hash id;
    h->producer = f->auths[who];
    h->has_sig = 1;
    bwc_header_id(h, &id);
    assert_true(bwc_sign(secp, &h->sig, f->secrets[who], &id, aux));
}

/* The index of the authority due at time (slot mod 3). */
static int due(uint64_t time)
{
    return (int)((time / 5) % N_AUTH);
}

typedef struct {
    bwc_header genesis;
    bwc_hash genesis_id;
    uint64_t times[1];
} chain1;

static void start_chain(const fixture *f, chain1 *c)
{
    check_params(f);
    assert_true(bwc_genesis_header(&f->p, &c->genesis));
    assert_true(bwc_chain_id(&f->p, &c->genesis_id));
    c->times[0] = c->genesis.time;
}

static const char *check(const fixture *f, const chain1 *c, const bwc_header *h, uint64_t now)
{
    bwc_result res;
    int ok = bwc_header_check(&f->p, secp, h, &c->genesis, &c->genesis_id, c->times, 1, now, &res);
    assert_int_equal(ok, res.code == BWC_RESULT_OK);
    if (!ok)
        assert_int_equal(res.code, BWC_RESULT_INVALID);
    return res.reject;
}

/* ---- median-time-past ---- */

static void test_mtp(void **state)
{
    (void)state;
    const uint64_t one[1] = {42};
    assert_int_equal(bwc_median_time_past(one, 1), 42);
    /* Two: sorted {10, 20}, element floor(2/2) = 1, the later one, whatever the order. */
    const uint64_t two[2] = {20, 10};
    assert_int_equal(bwc_median_time_past(two, 2), 20);
    const uint64_t two_sorted[2] = {10, 20};
    assert_int_equal(bwc_median_time_past(two_sorted, 2), 20);
    /* Eleven, unsorted with a duplicate: sorted 1 2 3 4 5 [6] 6 8 9 10 11 -> element 5. */
    const uint64_t eleven[11] = {11, 3, 9, 1, 6, 10, 2, 8, 6, 4, 5};
    assert_int_equal(bwc_median_time_past(eleven, 11), 6);
    const uint64_t desc[11] = {110, 100, 90, 80, 70, 60, 50, 40, 30, 20, 10};
    assert_int_equal(bwc_median_time_past(desc, 11), 60);
    /* Three and four: element 1 and element 2. */
    const uint64_t three[3] = {30, 10, 20};
    assert_int_equal(bwc_median_time_past(three, 3), 20);
    const uint64_t four[4] = {40, 10, 30, 20};
    assert_int_equal(bwc_median_time_past(four, 4), 30);
    /* The input is not modified. */
    assert_int_equal(eleven[0], 11);
    assert_int_equal(eleven[10], 5);
    /* Caller errors. */
    assert_int_equal(bwc_median_time_past(one, 0), 0);
    const uint64_t twelve[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    assert_int_equal(bwc_median_time_past(twelve, 12), 0);
}

/* ---- ASERT: the official vectors ---- */

typedef struct {
    uint64_t anchor_height, anchor_parent_time;
    uint32_t anchor_bits;
    size_t rows;
    uint64_t height[512], time[512];
    uint32_t bits[512];
} asert_run;

static uint64_t header_u64(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    assert_non_null(p);
    char *end;
    uint64_t v = strtoull(p + strlen(key), &end, 0);
    assert_true(end != p + strlen(key));
    return v;
}

static void load_run(asert_run *r, const char *name, size_t want_rows)
{
    char path[64];
    snprintf(path, sizeof path, "asert/%s", name);
    char *text = unit_read_data(path, NULL);
    memset(r, 0, sizeof *r);
    r->anchor_height = header_u64(text, "anchor height:");
    r->anchor_parent_time = header_u64(text, "anchor ancestor time:");
    r->anchor_bits = (uint32_t)header_u64(text, "anchor nBits:");
    uint64_t iterations = header_u64(text, "iterations:");
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#')
            continue;
        unsigned long long it, h, t;
        unsigned int bits;
        assert_int_equal(sscanf(line, "%llu %llu %llu %x", &it, &h, &t, &bits), 4);
        assert_true(r->rows < 512);
        assert_int_equal(it, r->rows + 1);
        r->height[r->rows] = h;
        r->time[r->rows] = t;
        r->bits[r->rows] = bits;
        r->rows++;
    }
    free(text);
    /* A truncated file must not pass. */
    assert_int_equal(r->rows, iterations);
    assert_int_equal(r->rows, want_rows);
}

/* BCHN's powLimit for these vectors: 2^224 - 1. */
static void bch_limit(unsigned char limit[32])
{
    memset(limit, 0xff, 32);
    memset(limit, 0, 4);
}

static void run_vectors(const char *name, size_t rows)
{
    asert_run *r = malloc(sizeof *r);
    assert_non_null(r);
    load_run(r, name, rows);
    unsigned char anchor[32], limit[32];
    assert_true(bwc_target_from_compact(anchor, r->anchor_bits));
    bch_limit(limit);
    for (size_t i = 0; i < r->rows; i++) {
        uint32_t got = bwc_asert_compute(anchor, limit, r->anchor_height, r->anchor_parent_time,
                                         600, 172800, r->height[i], r->time[i]);
        if (got != r->bits[i])
            fail_msg("%s row %zu: got %08x, want %08x", name, i + 1, (unsigned)got,
                     (unsigned)r->bits[i]);
    }
    free(r);
}

static void test_asert_official_vectors(void **state)
{
    (void)state;
    run_vectors("run01", 10);  /* steady at the limit */
    run_vectors("run02", 10);  /* steady at 0x1a2b3c4d */
    run_vectors("run03", 10);  /* steady at the hardest target */
    run_vectors("run04", 225); /* doubling up to the limit */
    run_vectors("run05", 225); /* halving down to the hardest target */
    run_vectors("run08", 500); /* random solve times, falling hash rate, ends at the limit */
    run_vectors("run09", 10);  /* heights across 2^31 */
    run_vectors("run10", 10);  /* heights across 2^63, times across 2^31 */
}

/* ASERT depends on the anchor only through height and time differences, so a vector run maps
 * onto a bwc chain anchored at genesis (height 0, anchor parent time genesis_time - spacing)
 * by shifting heights by the anchor height. bwc's limit is the initial target itself, not
 * 2^224 - 1, so only runs whose targets never rise above the anchor apply. */
static void run_through_params(const char *name, size_t rows)
{
    asert_run *r = malloc(sizeof *r);
    assert_non_null(r);
    load_run(r, name, rows);
    fixture f;
    common_fields(&f);
    f.p.engine = BWC_ENGINE_POW;
    f.p.pow.initial_target = r->anchor_bits;
    f.p.pow.target_spacing = 600;
    f.p.pow.half_life = 172800;
    f.p.genesis_time = r->anchor_parent_time + 600;
    check_params(&f);
    for (size_t i = 0; i < r->rows; i++) {
        uint32_t got = bwc_asert_next_compact(&f.p, r->height[i] - r->anchor_height, r->time[i]);
        if (got != r->bits[i])
            fail_msg("%s row %zu via params: got %08x, want %08x", name, i + 1, (unsigned)got,
                     (unsigned)r->bits[i]);
    }
    free(r);
}

static void test_asert_vectors_at_genesis(void **state)
{
    (void)state;
    run_through_params("run01", 10);
    run_through_params("run02", 10);
    run_through_params("run03", 10);
    run_through_params("run05", 225);
    run_through_params("run09", 10);
}

/* ---- ASERT: vectors built by hand from the formula ---- */

/* Chain: initial target 2^220 (0x1c100000), spacing 60, half-life 3600. On schedule means
 * parent_time = genesis_time + 60 * parent_height. */
static void test_asert_by_hand(void **state)
{
    (void)state;
    fixture f;
    pow_asert(&f);
    check_params(&f);
    const bwc_params *p = &f.p;
    const uint64_t g = GENESIS_TIME;
    /* On schedule: exponent 0, factor 65536, the target stays. Block 1 (parent = genesis). */
    assert_int_equal(bwc_asert_next_compact(p, 0, g), 0x1c100000);
    assert_int_equal(bwc_asert_next_compact(p, 1000, g + 60000), 0x1c100000);
    /* One half-life ahead of schedule: exponent -65536, shifts -1, frac 0 -> 2^219. */
    assert_int_equal(bwc_asert_next_compact(p, 1000, g + 60000 - 3600), 0x1c080000);
    /* Two ahead: 2^218. */
    assert_int_equal(bwc_asert_next_compact(p, 1000, g + 60000 - 7200), 0x1c040000);
    /* Half a half-life ahead: frac 32768, factor 92681 (2^0.5 * 65536 = 92681.9 by the cubic),
     * 2^220 * 92681 / 2^17 = 0x0b5010 << 200. */
    assert_int_equal(bwc_asert_next_compact(p, 1000, g + 60000 - 1800), 0x1c0b5010);
    /* One second ahead: exponent = trunc(-65536 / 3600) = -18 (floor would give -19 and
     * 0x1c0fff30), so shifts -1, frac 65518. */
    assert_int_equal(bwc_asert_next_compact(p, 10, g + 600 - 1), 0x1c0fff38);
    /* Behind schedule the target would grow past the initial target: capped there. */
    assert_int_equal(bwc_asert_next_compact(p, 1000, g + 60000 + 1), 0x1c100000);
    assert_int_equal(bwc_asert_next_compact(p, 1000, g + 60000 + 3600), 0x1c100000);
    /* Far outside BCHN's asserted range: saturates at the limit and at the hardest target. */
    assert_int_equal(bwc_asert_next_compact(p, 1000, UINT64_MAX), 0x1c100000);
    assert_int_equal(bwc_asert_next_compact(p, UINT64_MAX, g), 0x01010000);
    assert_int_equal(bwc_asert_next_compact(p, UINT64_MAX - 1, 0), 0x01010000);

    /* With an anchor below the limit, one half-life behind doubles: 2^200 -> 2^201, and 30
     * half-lives behind hit the limit 2^220. */
    unsigned char anchor[32], limit[32];
    assert_true(bwc_target_from_compact(anchor, 0x1a010000)); /* 2^200 */
    assert_true(bwc_target_from_compact(limit, 0x1c100000));
    assert_int_equal(bwc_asert_compute(anchor, limit, 0, g - 60, 60, 3600, 1000, g + 63600),
                     0x1a020000);
    assert_int_equal(
        bwc_asert_compute(anchor, limit, 0, g - 60, 60, 3600, 1000, g + 60000 + 30 * 3600),
        0x1c100000);
    /* A spacing times height product past 2^64 (and past 2^100) is handled, not wrapped. */
    assert_int_equal(bwc_asert_compute(anchor, limit, 0, 0, UINT64_MAX, 1, UINT64_MAX, UINT64_MAX),
                     0x01010000);
    /* 2^64 - 2 s behind with a half-life of 2^64 - 1 s: exponent 65535, one step short of a
     * doubling: factor 131071, 2^200 * 131071 / 2^16. */
    assert_int_equal(bwc_asert_compute(anchor, limit, 0, 0, 1, UINT64_MAX, 0, UINT64_MAX),
                     0x1a01ffff);

    /* Preconditions: 0 (never a valid compact). */
    unsigned char zero[32] = {0}, big[32];
    assert_int_equal(bwc_asert_compute(anchor, limit, 5, 0, 60, 3600, 4, 0), 0);
    assert_int_equal(bwc_asert_compute(anchor, limit, 0, 0, 0, 3600, 4, 0), 0);
    assert_int_equal(bwc_asert_compute(anchor, limit, 0, 0, 60, 0, 4, 0), 0);
    assert_int_equal(bwc_asert_compute(zero, limit, 0, 0, 60, 3600, 4, 0), 0);
    assert_int_equal(bwc_asert_compute(limit, anchor, 0, 0, 60, 3600, 4, 0), 0); /* ref > limit */
    assert_true(bwc_target_from_compact(big, 0x1d010000));                       /* 2^224 */
    assert_int_equal(bwc_asert_compute(anchor, big, 0, 0, 60, 3600, 4, 0), 0);

    /* no_retarget: always the initial target. */
    fixture d;
    pow_dev(&d);
    assert_int_equal(bwc_asert_next_compact(&d.p, 0, 0), DEV_TARGET);
    assert_int_equal(bwc_asert_next_compact(&d.p, 12345, GENESIS_TIME - 99999), DEV_TARGET);
    /* Not a pow chain. */
    fixture a;
    poa(&a);
    assert_int_equal(bwc_asert_next_compact(&a.p, 0, GENESIS_TIME), 0);
}

/* ---- PoW header checks ---- */

static void test_pow_accept(void **state)
{
    (void)state;
    fixture f;
    chain1 c;
    bwc_header h;
    pow_dev(&f);
    start_chain(&f, &c);
    child(&f, &h, &c.genesis, &c.genesis_id, GENESIS_TIME + 10);
    mine(&h, 1);
    assert_string_equal(check(&f, &c, &h, NOW), "");

    /* A second block on top: the MTP window holds genesis and block 1 (in any order). */
    bwc_hash id1;
    bwc_header h2;
    bwc_result res;
    bwc_header_id(&h, &id1);
    child(&f, &h2, &h, &id1, GENESIS_TIME + 20);
    mine(&h2, 1);
    const uint64_t times[2] = {h.time, c.genesis.time};
    assert_true(bwc_header_check(&f.p, NULL, &h2, &h, &id1, times, 2, NOW, &res));
    assert_int_equal(res.code, BWC_RESULT_OK);
    /* time-too-old against that window: MTP of {genesis, genesis + 10} is genesis + 10. */
    h2.time = GENESIS_TIME + 10;
    mine(&h2, 1);
    assert_false(bwc_header_check(&f.p, NULL, &h2, &h, &id1, times, 2, NOW, &res));
    assert_string_equal(res.reject, "time-too-old");
    /* The window must have min(parent height + 1, 11) timestamps: a caller error otherwise. */
    h2.time = GENESIS_TIME + 20;
    mine(&h2, 1);
    assert_false(bwc_header_check(&f.p, NULL, &h2, &h, &id1, times, 1, NOW, &res));
    assert_int_equal(res.code, BWC_RESULT_ERROR);
    assert_string_equal(res.reject, "bad-mtp-times");
}

static void test_pow_rejects(void **state)
{
    (void)state;
    fixture f;
    chain1 c;
    bwc_header h;
    pow_dev(&f);
    start_chain(&f, &c);
    const uint64_t t = GENESIS_TIME + 10;

    /* bad-header-height */
    child(&f, &h, &c.genesis, &c.genesis_id, t);
    h.height = 2;
    mine(&h, 1);
    assert_string_equal(check(&f, &c, &h, NOW), "bad-header-height");
    h.height = 0;
    mine(&h, 1);
    assert_string_equal(check(&f, &c, &h, NOW), "bad-header-height");

    /* bad-header-prev */
    child(&f, &h, &c.genesis, &c.genesis_id, t);
    h.prev.b[31] ^= 1;
    mine(&h, 1);
    assert_string_equal(check(&f, &c, &h, NOW), "bad-header-prev");

    /* time-too-old: equal to the MTP (genesis time) is too old, one second later is fine. */
    child(&f, &h, &c.genesis, &c.genesis_id, GENESIS_TIME);
    mine(&h, 1);
    assert_string_equal(check(&f, &c, &h, NOW), "time-too-old");
    child(&f, &h, &c.genesis, &c.genesis_id, GENESIS_TIME + 1);
    mine(&h, 1);
    assert_string_equal(check(&f, &c, &h, NOW), "");

    /* time-too-new: now + max_future_seconds is the latest allowed time. */
    child(&f, &h, &c.genesis, &c.genesis_id, NOW + 7200);
    mine(&h, 1);
    assert_string_equal(check(&f, &c, &h, NOW), "");
    child(&f, &h, &c.genesis, &c.genesis_id, NOW + 7201);
    mine(&h, 1);
    assert_string_equal(check(&f, &c, &h, NOW), "time-too-new");
    assert_string_equal(check(&f, &c, &h, NOW + 1), ""); /* valid later: not permanent */
    /* A clock near 2^64: now + max_future would wrap; nothing is too new. */
    child(&f, &h, &c.genesis, &c.genesis_id, UINT64_MAX);
    mine(&h, 1);
    assert_string_equal(check(&f, &c, &h, UINT64_MAX - 10), "");

    /* bad-header-engine-fields: pow needs keys 7 and 8 and refuses key 15. */
    child(&f, &h, &c.genesis, &c.genesis_id, t);
    h.has_pow = 0;
    assert_string_equal(check(&f, &c, &h, NOW), "bad-header-engine-fields");
    child(&f, &h, &c.genesis, &c.genesis_id, t);
    h.has_sig = 1;
    mine(&h, 1);
    assert_string_equal(check(&f, &c, &h, NOW), "bad-header-engine-fields");

    /* bad-target: zero, negative, non-canonical, above the initial target. */
    static const uint32_t bad_targets[] = {0,          0x01fedcba, 0x04923456, 0x04001234,
                                           0x21010000, 0x2100ffff, 0x20800000};
    for (size_t i = 0; i < sizeof bad_targets / sizeof bad_targets[0]; i++) {
        child(&f, &h, &c.genesis, &c.genesis_id, t);
        h.target = bad_targets[i];
        assert_string_equal(check(&f, &c, &h, NOW), "bad-target");
    }

    /* bad-diffbits: a valid, easier-to-check target that is not the required one. */
    child(&f, &h, &c.genesis, &c.genesis_id, t);
    h.target = 0x207ffffe;
    mine(&h, 1);
    assert_string_equal(check(&f, &c, &h, NOW), "bad-diffbits");

    /* high-hash: a nonce whose id is above the target. */
    child(&f, &h, &c.genesis, &c.genesis_id, t);
    mine(&h, 0);
    assert_string_equal(check(&f, &c, &h, NOW), "high-hash");
}

/* On a retargeting chain the header's target must equal ASERT's; mining a 2^220 target is out
 * of reach in a unit test, so an exact target shows up as passing every rule up to high-hash. */
static void test_pow_asert_diffbits(void **state)
{
    (void)state;
    fixture f;
    chain1 c;
    bwc_header h;
    pow_asert(&f);
    start_chain(&f, &c);
    /* Block 1: its parent, genesis, is on schedule by construction (the anchor parent time is
     * genesis_time - spacing), so the required target is the initial one. */
    child(&f, &h, &c.genesis, &c.genesis_id, GENESIS_TIME + 60);
    h.target = 0x1c100000;
    assert_string_equal(check(&f, &c, &h, NOW), "high-hash");
    h.target = 0x1c0fffff;
    assert_string_equal(check(&f, &c, &h, NOW), "bad-diffbits");
    h.target = 0x1c080000;
    assert_string_equal(check(&f, &c, &h, NOW), "bad-diffbits");

    /* A parent at height 100 one half-life ahead of schedule (100 blocks in 2400 s instead of
     * 6000): its child must carry half the initial target, 2^219. The MTP window then holds 11
     * timestamps, here the parent's and 10 earlier ones. */
    bwc_header parent = h, h2;
    bwc_hash pid;
    bwc_result res;
    parent.height = 100;
    parent.time = GENESIS_TIME + 6000 - 3600;
    bwc_header_id(&parent, &pid);
    uint64_t times[BWC_MTP_SPAN];
    for (size_t i = 0; i < BWC_MTP_SPAN; i++)
        times[i] = parent.time - 24 * i;
    child(&f, &h2, &parent, &pid, parent.time + 60);
    assert_int_equal(bwc_asert_next_compact(&f.p, parent.height, parent.time), 0x1c080000);
    h2.target = 0x1c080000;
    assert_false(bwc_header_check(&f.p, NULL, &h2, &parent, &pid, times, 11, NOW, &res));
    assert_string_equal(res.reject, "high-hash");
    h2.target = 0x1c100000;
    assert_false(bwc_header_check(&f.p, NULL, &h2, &parent, &pid, times, 11, NOW, &res));
    assert_string_equal(res.reject, "bad-diffbits");
    /* 10 timestamps for a parent at height 100 is a caller error. */
    assert_false(bwc_header_check(&f.p, NULL, &h2, &parent, &pid, times, 10, NOW, &res));
    assert_int_equal(res.code, BWC_RESULT_ERROR);
    assert_string_equal(res.reject, "bad-mtp-times");
}

/* ---- PoA header checks ---- */

static void test_poa_producer_rotation(void **state)
{
    (void)state;
    fixture f;
    bwc_pubkey k;
    poa(&f);
    check_params(&f);
    /* GENESIS_TIME / 5 is 0 mod 3: slots go A, B, C, A, ... every 5 seconds. */
    for (int i = 0; i < 9; i++) {
        for (uint64_t s = 0; s < 5; s++) {
            assert_true(bwc_poa_expected_producer(&f.p, GENESIS_TIME + 5 * (uint64_t)i + s, &k));
            assert_memory_equal(k.b, f.auths[i % N_AUTH].b, 32);
        }
    }
    assert_true(bwc_poa_expected_producer(&f.p, 0, &k));
    assert_memory_equal(k.b, f.auths[0].b, 32);
    assert_true(bwc_poa_expected_producer(&f.p, UINT64_MAX, &k)); /* slot 3689348814741910323 */
    assert_memory_equal(k.b, f.auths[3689348814741910323ULL % 3].b, 32);
    /* Not a poa chain: 0 and a zeroed key. */
    fixture d;
    pow_dev(&d);
    memset(k.b, 0xee, 32);
    assert_false(bwc_poa_expected_producer(&d.p, 0, &k));
    for (int i = 0; i < 32; i++)
        assert_int_equal(k.b[i], 0);
    f.p.poa.slot_seconds = 0;
    assert_false(bwc_poa_expected_producer(&f.p, 0, &k));
}

static void test_poa_accept_and_reject(void **state)
{
    (void)state;
    fixture f;
    chain1 c;
    bwc_header h;
    poa(&f);
    start_chain(&f, &c);
    assert_false(c.genesis.has_sig);
    const uint64_t t = GENESIS_TIME + 5; /* the next slot: authority 1 */
    assert_int_equal(due(t), 1);

    child(&f, &h, &c.genesis, &c.genesis_id, t);
    sign_as(&f, &h, 1);
    assert_string_equal(check(&f, &c, &h, NOW), "");
    /* Any second of the slot, and a later slot of the same authority. */
    child(&f, &h, &c.genesis, &c.genesis_id, t + 4);
    sign_as(&f, &h, 1);
    assert_string_equal(check(&f, &c, &h, NOW), "");
    child(&f, &h, &c.genesis, &c.genesis_id, t + 15);
    sign_as(&f, &h, 1);
    assert_string_equal(check(&f, &c, &h, NOW), "");

    /* bad-poa-slot: after the MTP but in genesis' own slot. */
    child(&f, &h, &c.genesis, &c.genesis_id, GENESIS_TIME + 3);
    sign_as(&f, &h, due(GENESIS_TIME + 3));
    assert_string_equal(check(&f, &c, &h, NOW), "bad-poa-slot");

    /* bad-poa-producer: authority 2 signs in authority 1's slot. */
    child(&f, &h, &c.genesis, &c.genesis_id, t);
    sign_as(&f, &h, 2);
    assert_string_equal(check(&f, &c, &h, NOW), "bad-poa-producer");

    /* bad-poa-sig: a flipped bit, a signature over another header, a signature by the wrong
     * key while naming the right producer. */
    child(&f, &h, &c.genesis, &c.genesis_id, t);
    sign_as(&f, &h, 1);
    h.sig.b[10] ^= 1;
    assert_string_equal(check(&f, &c, &h, NOW), "bad-poa-sig");
    child(&f, &h, &c.genesis, &c.genesis_id, t);
    sign_as(&f, &h, 1);
    h.time = t + 1; /* same slot, but the id changed after signing */
    assert_string_equal(check(&f, &c, &h, NOW), "bad-poa-sig");
    child(&f, &h, &c.genesis, &c.genesis_id, t);
    sign_as(&f, &h, 0);
    h.producer = f.auths[1];
    assert_string_equal(check(&f, &c, &h, NOW), "bad-poa-sig");

    /* bad-header-engine-fields: poa needs key 15 and refuses keys 7 and 8. */
    child(&f, &h, &c.genesis, &c.genesis_id, t);
    h.producer = f.auths[1];
    assert_string_equal(check(&f, &c, &h, NOW), "bad-header-engine-fields");
    child(&f, &h, &c.genesis, &c.genesis_id, t);
    h.has_pow = 1;
    h.target = DEV_TARGET;
    sign_as(&f, &h, 1);
    assert_string_equal(check(&f, &c, &h, NOW), "bad-header-engine-fields");

    /* The shared rules hold on poa chains too. */
    child(&f, &h, &c.genesis, &c.genesis_id, t);
    h.height = 5;
    sign_as(&f, &h, 1);
    assert_string_equal(check(&f, &c, &h, NOW), "bad-header-height");
    child(&f, &h, &c.genesis, &c.genesis_id, t);
    memset(h.prev.b, 0, 32);
    sign_as(&f, &h, 1);
    assert_string_equal(check(&f, &c, &h, NOW), "bad-header-prev");
    child(&f, &h, &c.genesis, &c.genesis_id, GENESIS_TIME);
    sign_as(&f, &h, due(GENESIS_TIME));
    assert_string_equal(check(&f, &c, &h, NOW), "time-too-old");
    child(&f, &h, &c.genesis, &c.genesis_id, NOW + 7205);
    sign_as(&f, &h, due(NOW + 7205));
    assert_string_equal(check(&f, &c, &h, NOW), "time-too-new");
}

/* ---- work and subsidy ---- */

static void test_work(void **state)
{
    (void)state;
    fixture f;
    bwc_header h;
    unsigned char w[32];
    pow_dev(&f);
    memset(&h, 0, sizeof h);
    h.has_pow = 1;
    h.target = 0x207fffff; /* floor(2^256 / (0x7fffff << 232 + 1)) = 2 */
    bwc_header_work(&f.p, &h, w);
    assert_hex32(w, "0000000000000000000000000000000000000000000000000000000000000002");
    h.target = 0x1d00ffff; /* Bitcoin's genesis: 0x100010001 */
    bwc_header_work(&f.p, &h, w);
    assert_hex32(w, "0000000000000000000000000000000000000000000000000000000100010001");
    h.target = 0x1c100000; /* 2^220: floor(2^256 / (2^220 + 1)) = 2^36 - 1 */
    bwc_header_work(&f.p, &h, w);
    assert_hex32(w, "0000000000000000000000000000000000000000000000000000000fffffffff");
    h.target = 0x01010000; /* target 1: 2^255 */
    bwc_header_work(&f.p, &h, w);
    assert_hex32(w, "8000000000000000000000000000000000000000000000000000000000000000");
    h.target = 0x04001234; /* does not decode: no work */
    bwc_header_work(&f.p, &h, w);
    assert_hex32(w, "0000000000000000000000000000000000000000000000000000000000000000");

    /* poa: every block weighs 1, whatever the header says. */
    fixture a;
    poa(&a);
    h.target = 0x207fffff;
    bwc_header_work(&a.p, &h, w);
    assert_hex32(w, "0000000000000000000000000000000000000000000000000000000000000001");
}

static void test_subsidy(void **state)
{
    (void)state;
    fixture f;
    pow_dev(&f);
    const uint64_t iv = 210000, s0 = 50 * BWC_UNITS_PER_COIN;
    assert_int_equal(bwc_subsidy(&f.p, 0), s0);
    assert_int_equal(bwc_subsidy(&f.p, iv - 1), s0);
    assert_int_equal(bwc_subsidy(&f.p, iv), s0 / 2);
    assert_int_equal(bwc_subsidy(&f.p, 2 * iv - 1), s0 / 2);
    assert_int_equal(bwc_subsidy(&f.p, 2 * iv), s0 / 4);
    assert_int_equal(bwc_subsidy(&f.p, 33 * iv), 0); /* 5e9 >> 33 = 0 */
    assert_int_equal(bwc_subsidy(&f.p, 64 * iv - 1), 0);
    assert_int_equal(bwc_subsidy(&f.p, 64 * iv), 0);
    assert_int_equal(bwc_subsidy(&f.p, UINT64_MAX), 0);
    /* With a subsidy of 2^64 - 1 every one of the 64 halvings is visible: k = 63 leaves 1, and
     * k = 64 must be 0 (a C shift by 64 would be undefined, often the unshifted value). */
    f.p.initial_subsidy = UINT64_MAX;
    f.p.halving_interval = 1;
    assert_int_equal(bwc_subsidy(&f.p, 0), UINT64_MAX);
    assert_int_equal(bwc_subsidy(&f.p, 1), UINT64_MAX >> 1);
    assert_int_equal(bwc_subsidy(&f.p, 63), 1);
    assert_int_equal(bwc_subsidy(&f.p, 64), 0);
    assert_int_equal(bwc_subsidy(&f.p, 65), 0);
    f.p.halving_interval = 0;
    assert_int_equal(bwc_subsidy(&f.p, 5), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mtp),
        cmocka_unit_test(test_asert_official_vectors),
        cmocka_unit_test(test_asert_vectors_at_genesis),
        cmocka_unit_test(test_asert_by_hand),
        cmocka_unit_test(test_pow_accept),
        cmocka_unit_test(test_pow_rejects),
        cmocka_unit_test(test_pow_asert_diffbits),
        cmocka_unit_test(test_poa_producer_rotation),
        cmocka_unit_test(test_poa_accept_and_reject),
        cmocka_unit_test(test_work),
        cmocka_unit_test(test_subsidy),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
