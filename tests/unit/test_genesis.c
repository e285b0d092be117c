/* test_genesis.c: enc(G), the genesis header, chain_id, and the parameter rules (§4, §6, §7). */
#include "tests/unit/unit.h"

#include "consensus/cbor.h"
#include "consensus/genesis.h"
#include "consensus/hash.h"
#include "consensus/params.h"
#include "consensus/target.h"

/* Storage for the arrays a test params set points into. */
typedef struct {
    bwc_params p;
    bwc_allocation allocs[3];
    bwc_pubkey auths[3];
} fixture;

static void fill_key(bwc_pubkey *k, unsigned char v)
{
    memset(k->b, v, sizeof k->b);
}

static void common_fields(fixture *f)
{
    memset(f, 0, sizeof *f);
    strcpy(f->p.hrp, "dbwc");
    f->p.magic = 0xdabc0b1d;
    f->p.genesis_time = 1767225600;
    strcpy(f->p.message, "genesis message");
    for (int i = 0; i < 3; i++) {
        fill_key(&f->allocs[i].address, (unsigned char)(0x21 + i));
        f->allocs[i].amount = 1000000 * BWC_UNITS_PER_COIN + (uint64_t)i;
    }
    f->p.allocations = f->allocs;
    f->p.n_allocations = 3;
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

/* A valid retargeting pow chain. */
static void base_pow(fixture *f)
{
    common_fields(f);
    f->p.engine = BWC_ENGINE_POW;
    f->p.pow.initial_target = 0x1d00ffff;
    f->p.pow.target_spacing = 60;
    f->p.pow.half_life = 3600;
    f->p.pow.no_retarget = 0;
}

static void set_poa(fixture *f)
{
    memset(&f->p.pow, 0, sizeof f->p.pow);
    f->p.engine = BWC_ENGINE_POA;
    for (int i = 0; i < 3; i++)
        fill_key(&f->auths[i], (unsigned char)(0x41 + i));
    f->p.poa.authorities = f->auths;
    f->p.poa.n_authorities = 3;
    f->p.poa.slot_seconds = 5;
    f->p.poa.finality_depth = 10;
}

static void base_poa(fixture *f)
{
    common_fields(f);
    set_poa(f);
}

static void chain_id_of(const bwc_params *p, bwc_hash *id)
{
    assert_true(bwc_chain_id(p, id));
}

/* --- golden encodings, written out by hand from the CBOR rules (RFC 8949 §3, §4.2.1) --- */

/* Tiny pow params: hrp "t", magic 1, time 2, message "", one allocation of 1 unit to the key
 * 01^32, pow {0x207fffff, 1, 1, 1}, economics {1, 1, 0, 0, 0, 1}, limits {16384, 20480, 0}.
 *
 *   a9                      map(9)
 *   00 61 74                0: "t"                 (text, length 1)
 *   01 01                   1: 1
 *   02 02                   2: 2
 *   03 60                   3: ""                  (text, length 0)
 *   04 81                   4: array(1)
 *      82 5820 01..01 01         [bstr(32) 01^32, 1]
 *   05 63 706f77            5: "pow"
 *   06 a4                   6: map(4)
 *      00 1a 207fffff            0: 0x207fffff     (uint32 form: > 0xffff)
 *      01 01 02 01 03 01         1: 1, 2: 1, 3: 1
 *   07 a6                   7: map(6)
 *      00 01 01 01 02 00 03 00 04 00 05 01
 *   08 a3                   8: map(3)
 *      00 19 4000                0: 16384          (uint16 form)
 *      01 19 5000                1: 20480
 *      02 00                     2: 0                                                     */
/* clang-format off */
static const char golden_pow[] =
    "a9"
    "006174"
    "0101"
    "0202"
    "0360"
    "0481"
    "825820"
    "0101010101010101010101010101010101010101010101010101010101010101"
    "01"
    "0563706f77"
    "06a4001a207fffff010102010301"
    "07a6000101010200030004000501"
    "08a3"
    "00194000"
    "01195000"
    "0200";
/* clang-format on */

/* Tiny poa params: hrp "p", magic 0x01020304, time 0, message "hi", no allocations,
 * authorities [02^32], slot_seconds 2, finality_depth 10, economics {0, 1, 2, 3, 4, 5},
 * limits {16384, 1048576, 7200}.
 *
 *   a9 00 61 70             0: "p"
 *   01 1a 01020304          1: 0x01020304
 *   02 00                   2: 0
 *   03 62 6869              3: "hi"
 *   04 80                   4: []
 *   05 63 706f61            5: "poa"
 *   06 a3 00 81 5820 02..02      6: {0: [bstr(32) 02^32],
 *         01 02 02 0a                 1: 2, 2: 10}
 *   07 a6 00 00 01 01 02 02 03 03 04 04 05 05
 *   08 a3 00 19 4000 01 1a 00100000 02 19 1c20                                            */
/* clang-format off */
static const char golden_poa[] =
    "a9"
    "006170"
    "011a01020304"
    "0200"
    "03626869"
    "0480"
    "0563706f61"
    "06a300815820"
    "0202020202020202020202020202020202020202020202020202020202020202"
    "0102020a"
    "07a6000001010202030304040505"
    "08a3"
    "00194000"
    "011a00100000"
    "02191c20";
/* clang-format on */

static void check_golden(const bwc_params *p, const char *golden)
{
    bwc_buf b = BWC_BUF_INIT;
    assert_true(bwc_genesis_encode_g(p, &b));
    char *hex = malloc(2 * b.len + 1);
    assert_non_null(hex);
    bwc_hex_encode(hex, b.data, b.len);
    assert_string_equal(hex, golden);
    bwc_result r;
    assert_true(bwc_cbor_check(b.data, b.len, &r));
    free(hex);
    bwc_buf_free(&b);
}

static void test_golden_g(void **state)
{
    (void)state;
    bwc_allocation a;
    bwc_pubkey auth;
    bwc_params p;
    bwc_result r;

    memset(&p, 0, sizeof p);
    strcpy(p.hrp, "t");
    p.magic = 1;
    p.genesis_time = 2;
    fill_key(&a.address, 0x01);
    a.amount = 1;
    p.allocations = &a;
    p.n_allocations = 1;
    p.engine = BWC_ENGINE_POW;
    p.pow.initial_target = 0x207fffff;
    p.pow.target_spacing = 1;
    p.pow.half_life = 1;
    p.pow.no_retarget = 1;
    p.initial_subsidy = 1;
    p.halving_interval = 1;
    p.max_channel_blocks = 1;
    p.max_block_bytes = 16384;
    p.max_message_bytes = 20480;
    assert_true(bwc_params_check(&p, &r));
    check_golden(&p, golden_pow);

    memset(&p, 0, sizeof p);
    strcpy(p.hrp, "p");
    p.magic = 0x01020304;
    strcpy(p.message, "hi");
    p.engine = BWC_ENGINE_POA;
    fill_key(&auth, 0x02);
    p.poa.authorities = &auth;
    p.poa.n_authorities = 1;
    p.poa.slot_seconds = 2;
    p.poa.finality_depth = 10;
    p.halving_interval = 1;
    p.min_fee = 2;
    p.receipt_fee = 3;
    p.settle_window = 4;
    p.max_channel_blocks = 5;
    p.max_block_bytes = 16384;
    p.max_message_bytes = 1048576;
    p.max_future_seconds = 7200;
    assert_true(bwc_params_check(&p, &r));
    check_golden(&p, golden_poa);
}

/* The genesis header is exactly §4's, and chain_id is its block id. */
static void test_genesis_header(void **state)
{
    (void)state;
    fixture f;
    bwc_header h, back;
    bwc_hash id, want, tx_root;
    bwc_buf g = BWC_BUF_INIT, enc = BWC_BUF_INIT;
    bwc_result r;
    static const unsigned char zero[32];

    base_pow(&f);
    assert_true(bwc_genesis_header(&f.p, &h));
    assert_int_equal(h.version, 1);
    assert_int_equal(h.height, 0);
    assert_true(bwc_hash_is_zero(&h.prev));
    assert_int_equal(h.time, f.p.genesis_time);
    assert_true(bwc_genesis_encode_g(&f.p, &g));
    bwc_tagged_hash(&tx_root, "bwc/genesis", g.data, g.len);
    assert_memory_equal(h.tx_root.b, tx_root.b, 32);
    assert_true(bwc_hash_is_zero(&h.receipt_root));
    assert_memory_equal(h.producer.b, zero, 32);
    assert_true(h.has_pow);
    assert_int_equal(h.target, 0x1d00ffff);
    assert_int_equal(h.nonce, 0);
    assert_false(h.has_sig);
    chain_id_of(&f.p, &id);
    bwc_header_id(&h, &want);
    assert_memory_equal(id.b, want.b, 32);
    /* It is an ordinary header: it encodes canonically and decodes back. */
    assert_true(bwc_header_encode(&h, 0, &enc));
    assert_true(bwc_header_decode(&back, enc.data, enc.len, &r));
    assert_memory_equal(&back, &h, sizeof h);
    bwc_buf_free(&g);
    bwc_buf_free(&enc);

    base_poa(&f);
    assert_true(bwc_genesis_header(&f.p, &h));
    assert_false(h.has_pow);
    assert_int_equal(h.target, 0);
    assert_false(h.has_sig);

    /* An engine that is neither gives no genesis. */
    f.p.engine = (bwc_engine)7;
    assert_false(bwc_genesis_header(&f.p, &h));
    assert_false(bwc_chain_id(&f.p, &id));
    assert_true(bwc_hash_is_zero(&id));
}

static void test_deterministic(void **state)
{
    (void)state;
    fixture f1, f2;
    bwc_hash a, b;
    base_pow(&f1);
    base_pow(&f2);
    chain_id_of(&f1.p, &a);
    chain_id_of(&f1.p, &b);
    assert_memory_equal(a.b, b.b, 32);
    chain_id_of(&f2.p, &b); /* equal params in other storage */
    assert_memory_equal(a.b, b.b, 32);
}

/* --- one change per consensus parameter --- */

typedef void (*mutator)(fixture *f);

static void m_hrp(fixture *f)
{
    strcpy(f->p.hrp, "dbwx");
}
static void m_magic(fixture *f)
{
    f->p.magic++;
}
static void m_time(fixture *f)
{
    f->p.genesis_time++;
}
static void m_message(fixture *f)
{
    f->p.message[0] = 'G';
}
static void m_alloc_address(fixture *f)
{
    f->allocs[1].address.b[31] ^= 1;
}
static void m_alloc_amount(fixture *f)
{
    f->allocs[1].amount++;
}
static void m_alloc_order(fixture *f)
{
    bwc_allocation t = f->allocs[0];
    f->allocs[0] = f->allocs[1];
    f->allocs[1] = t;
}
static void m_alloc_count(fixture *f)
{
    f->p.n_allocations = 2;
}
static void m_engine(fixture *f)
{
    set_poa(f);
}
static void m_initial_target(fixture *f)
{
    f->p.pow.initial_target = 0x1d00fffe;
}
static void m_target_spacing(fixture *f)
{
    f->p.pow.target_spacing++;
}
static void m_half_life(fixture *f)
{
    f->p.pow.half_life++;
}
static void m_no_retarget(fixture *f)
{
    f->p.pow.no_retarget = 1;
}
static void m_auth_key(fixture *f)
{
    f->auths[2].b[0] ^= 1;
}
static void m_auth_order(fixture *f)
{
    bwc_pubkey t = f->auths[0];
    f->auths[0] = f->auths[2];
    f->auths[2] = t;
}
static void m_auth_count(fixture *f)
{
    f->p.poa.n_authorities = 2;
}
static void m_slot_seconds(fixture *f)
{
    f->p.poa.slot_seconds++;
}
static void m_finality_depth(fixture *f)
{
    f->p.poa.finality_depth++;
}
static void m_initial_subsidy(fixture *f)
{
    f->p.initial_subsidy++;
}
static void m_halving_interval(fixture *f)
{
    f->p.halving_interval++;
}
static void m_min_fee(fixture *f)
{
    f->p.min_fee++;
}
static void m_receipt_fee(fixture *f)
{
    f->p.receipt_fee++;
}
static void m_settle_window(fixture *f)
{
    f->p.settle_window++;
}
static void m_max_channel_blocks(fixture *f)
{
    f->p.max_channel_blocks++;
}
static void m_max_block_bytes(fixture *f)
{
    f->p.max_block_bytes++;
}
static void m_max_message_bytes(fixture *f)
{
    f->p.max_message_bytes++;
}
static void m_max_future_seconds(fixture *f)
{
    f->p.max_future_seconds++;
}

typedef struct {
    const char *name;
    size_t offset, size, align; /* the bwc_params field the change touches */
    void (*base)(fixture *f);
    mutator change;
} mutation;

#define FLD(field)                                                                                 \
    offsetof(bwc_params, field), sizeof(((bwc_params *)0)->field),                                 \
        __alignof__(((bwc_params *)0)->field)
/* The first member of a nested struct starts at the struct's alignment, not its own. */
#define FLD1(outer, field)                                                                         \
    offsetof(bwc_params, outer.field), sizeof(((bwc_params *)0)->outer.field),                     \
        __alignof__(((bwc_params *)0)->outer)

static const mutation mutations[] = {
    {"hrp", FLD(hrp), base_pow, m_hrp},
    {"magic", FLD(magic), base_pow, m_magic},
    {"genesis_time", FLD(genesis_time), base_pow, m_time},
    {"message", FLD(message), base_pow, m_message},
    {"allocation address", FLD(allocations), base_pow, m_alloc_address},
    {"allocation amount", FLD(allocations), base_pow, m_alloc_amount},
    {"allocation order", FLD(allocations), base_pow, m_alloc_order},
    {"n_allocations", FLD(n_allocations), base_pow, m_alloc_count},
    {"engine", FLD(engine), base_pow, m_engine},
    {"pow.initial_target", FLD1(pow, initial_target), base_pow, m_initial_target},
    {"pow.target_spacing", FLD(pow.target_spacing), base_pow, m_target_spacing},
    {"pow.half_life", FLD(pow.half_life), base_pow, m_half_life},
    {"pow.no_retarget", FLD(pow.no_retarget), base_pow, m_no_retarget},
    {"poa.authority key", FLD1(poa, authorities), base_poa, m_auth_key},
    {"poa.authority order", FLD1(poa, authorities), base_poa, m_auth_order},
    {"poa.n_authorities", FLD(poa.n_authorities), base_poa, m_auth_count},
    {"poa.slot_seconds", FLD(poa.slot_seconds), base_poa, m_slot_seconds},
    {"poa.finality_depth", FLD(poa.finality_depth), base_poa, m_finality_depth},
    {"initial_subsidy", FLD(initial_subsidy), base_pow, m_initial_subsidy},
    {"halving_interval", FLD(halving_interval), base_pow, m_halving_interval},
    {"min_fee", FLD(min_fee), base_pow, m_min_fee},
    {"receipt_fee", FLD(receipt_fee), base_pow, m_receipt_fee},
    {"settle_window", FLD(settle_window), base_pow, m_settle_window},
    {"max_channel_blocks", FLD(max_channel_blocks), base_pow, m_max_channel_blocks},
    {"max_block_bytes", FLD(max_block_bytes), base_pow, m_max_block_bytes},
    {"max_message_bytes", FLD(max_message_bytes), base_pow, m_max_message_bytes},
    {"max_future_seconds", FLD(max_future_seconds), base_pow, m_max_future_seconds},
};
#define N_MUTATIONS (sizeof mutations / sizeof mutations[0])

static int by_offset(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

/* Guards the table: the fields it names, in offset order and each at the position the
 * previous one's end and its own alignment put it, must make up all of bwc_params. A field
 * added to the struct and not to the table leaves a hole and fails here; only one small
 * enough to hide in existing padding (at most 7 bytes after message, 4 after no_retarget)
 * would slip through. */
static void test_table_covers_every_field(void **state)
{
    (void)state;
    size_t idx[N_MUTATIONS];
    size_t n = 0;
    for (size_t i = 0; i < N_MUTATIONS; i++) {
        int seen = 0;
        for (size_t j = 0; j < n; j++)
            seen |= mutations[idx[j]].offset == mutations[i].offset;
        if (!seen)
            idx[n++] = i;
    }
    /* Sort indices by offset (offset is the first member of the pair sorted on). */
    size_t pairs[N_MUTATIONS][2];
    for (size_t i = 0; i < n; i++) {
        pairs[i][0] = mutations[idx[i]].offset;
        pairs[i][1] = idx[i];
    }
    qsort(pairs, n, sizeof pairs[0], by_offset);
    size_t end = 0;
    for (size_t i = 0; i < n; i++) {
        const mutation *m = &mutations[pairs[i][1]];
        size_t want = (end + m->align - 1) / m->align * m->align;
        if (m->offset != want)
            fail_msg("bwc_params has a field before '%s' that the table does not change", m->name);
        end = m->offset + m->size;
    }
    size_t al = __alignof__(bwc_params);
    if ((end + al - 1) / al * al != sizeof(bwc_params))
        fail_msg("bwc_params has a field after '%s' that the table does not change",
                 mutations[pairs[n - 1][1]].name);
}

static void test_every_parameter_changes_chain_id(void **state)
{
    (void)state;
    bwc_hash base_ids[2], ids[N_MUTATIONS];
    fixture f;
    bwc_result r;
    bwc_buf g = BWC_BUF_INIT;

    base_pow(&f);
    assert_true(bwc_params_check(&f.p, &r));
    chain_id_of(&f.p, &base_ids[0]);
    base_poa(&f);
    assert_true(bwc_params_check(&f.p, &r));
    chain_id_of(&f.p, &base_ids[1]);

    for (size_t i = 0; i < N_MUTATIONS; i++) {
        const mutation *m = &mutations[i];
        m->base(&f);
        m->change(&f);
        if (!bwc_params_check(&f.p, &r))
            fail_msg("mutation '%s' made invalid params: %s", m->name, r.reject);
        bwc_buf_reset(&g);
        assert_true(bwc_genesis_encode_g(&f.p, &g));
        assert_true(bwc_cbor_check(g.data, g.len, &r));
        chain_id_of(&f.p, &ids[i]);
        const bwc_hash *base = &base_ids[m->base == base_poa];
        if (memcmp(ids[i].b, base->b, 32) == 0)
            fail_msg("changing '%s' leaves chain_id unchanged", m->name);
    }
    bwc_buf_free(&g);
    /* No two changes collide either (the engine switch equals the poa base by design, so the
     * bases are left out here). */
    for (size_t i = 0; i < N_MUTATIONS; i++) {
        for (size_t j = i + 1; j < N_MUTATIONS; j++) {
            if (memcmp(ids[i].b, ids[j].b, 32) == 0)
                fail_msg("same chain_id for '%s' and '%s'", mutations[i].name, mutations[j].name);
        }
    }
}

/* --- bwc_params_check: one case per reject string --- */

static const char *check(const fixture *f)
{
    bwc_result r;
    if (bwc_params_check(&f->p, &r)) {
        assert_int_equal(r.code, BWC_RESULT_OK);
        return "";
    }
    assert_int_equal(r.code, BWC_RESULT_INVALID);
    return r.reject;
}

static void test_params_check_rejects(void **state)
{
    (void)state;
    fixture f;

    base_pow(&f);
    assert_string_equal(check(&f), "");
    base_poa(&f);
    assert_string_equal(check(&f), "");

#define EXPECT(base, stmt, reject)                                                                 \
    do {                                                                                           \
        base(&f);                                                                                  \
        stmt;                                                                                      \
        assert_string_equal(check(&f), reject);                                                    \
    } while (0)

    EXPECT(base_pow, f.p.hrp[0] = '\0', "bad-params-hrp");
    EXPECT(base_pow, strcpy(f.p.hrp, "Dbwc"), "bad-params-hrp");
    EXPECT(base_pow, strcpy(f.p.hrp, "d1wc"), "");
    EXPECT(base_pow, strcpy(f.p.hrp, "d-wc"), "bad-params-hrp");
    EXPECT(base_pow, memset(f.p.hrp, 'a', sizeof f.p.hrp), "bad-params-hrp"); /* no NUL */
    EXPECT(base_pow, memset(f.p.hrp, 'a', BWC_HRP_MAX), "");
    EXPECT(base_pow, f.p.magic = 0, "bad-params-magic");
    EXPECT(base_pow, f.p.genesis_time = (uint64_t)INT64_MAX + 1, "bad-params-genesis-time");
    EXPECT(base_pow, f.p.genesis_time = 59, "bad-params-genesis-time");
    EXPECT(base_pow, f.p.genesis_time = 60, "");
    EXPECT(base_poa, f.p.genesis_time = 0, "");
    EXPECT(base_pow, f.p.message[0] = '\0', "");
    EXPECT(base_pow, strcpy(f.p.message, "\xc3\x28"), "bad-params-message");
    EXPECT(base_pow, memset(f.p.message, 'm', sizeof f.p.message), "bad-params-message");
    EXPECT(base_pow, f.p.allocations = NULL, "bad-params-allocations");
    EXPECT(base_pow, f.p.n_allocations = 0, "");
    EXPECT(base_pow, f.allocs[2].amount = 0, "bad-params-allocation-amount");
    EXPECT(base_pow, f.allocs[2].address = f.allocs[0].address, "bad-params-allocation-duplicate");
    EXPECT(base_pow, (f.allocs[0].amount = UINT64_MAX - 1, f.allocs[1].amount = 2),
           "bad-params-supply-overflow");
    EXPECT(base_pow, (f.p.n_allocations = 0, f.p.halving_interval = UINT64_MAX / 2),
           "bad-params-supply-overflow");
    EXPECT(base_pow, f.p.engine = (bwc_engine)0, "bad-params-engine");
    EXPECT(base_pow, f.p.engine = (bwc_engine)3, "bad-params-engine");
    EXPECT(base_pow, f.p.poa.slot_seconds = 1, "bad-params-unused-engine");
    EXPECT(base_poa, f.p.pow.half_life = 1, "bad-params-unused-engine");
    EXPECT(base_pow, f.p.pow.initial_target = 0x1d0000ff, "bad-params-initial-target");
    EXPECT(base_pow, f.p.pow.initial_target = 0x04000000, "bad-params-initial-target");
    EXPECT(base_pow, f.p.pow.initial_target = 0x01803456, "bad-params-initial-target");
    EXPECT(base_pow, f.p.pow.initial_target = 0xff123456, "bad-params-initial-target");
    EXPECT(base_pow, f.p.pow.initial_target = 0x1d010000, "bad-params-initial-target-too-easy");
    EXPECT(base_pow, f.p.pow.initial_target = 0x207fffff, "bad-params-initial-target-too-easy");
    EXPECT(base_pow, (f.p.pow.initial_target = 0x207fffff, f.p.pow.no_retarget = 1), "");
    EXPECT(base_pow, f.p.pow.target_spacing = 0, "bad-params-target-spacing");
    EXPECT(base_pow, f.p.pow.half_life = 0, "bad-params-half-life");
    EXPECT(base_pow, f.p.pow.no_retarget = 2, "bad-params-no-retarget");
    EXPECT(base_poa, f.p.poa.n_authorities = 0, "bad-params-authorities");
    EXPECT(base_poa, f.p.poa.authorities = NULL, "bad-params-authorities");
    EXPECT(base_poa, f.auths[1] = f.auths[2], "bad-params-authority-duplicate");
    EXPECT(base_poa, f.p.poa.slot_seconds = 0, "bad-params-slot-seconds");
    EXPECT(base_poa, f.p.poa.finality_depth = 0, "bad-params-finality-depth");
    EXPECT(base_pow, f.p.halving_interval = 0, "bad-params-halving-interval");
    EXPECT(base_pow, f.p.max_channel_blocks = 0, "bad-params-max-channel-blocks");
    EXPECT(base_pow, f.p.initial_subsidy = 0, "");
    EXPECT(base_pow, (f.p.min_fee = 0, f.p.receipt_fee = 0, f.p.settle_window = 0), "");
    EXPECT(base_pow, f.p.max_block_bytes = BWC_PARAMS_MIN_BLOCK_BYTES - 1,
           "bad-params-max-block-bytes");
    EXPECT(base_pow, f.p.max_message_bytes = f.p.max_block_bytes + BWC_PARAMS_FRAMING - 1,
           "bad-params-max-message-bytes");
    EXPECT(base_pow, f.p.max_message_bytes = f.p.max_block_bytes + BWC_PARAMS_FRAMING, "");
    EXPECT(base_pow, f.p.max_message_bytes = BWC_PARAMS_MAX_MESSAGE_BYTES + 1ULL,
           "bad-params-max-message-bytes");
    EXPECT(base_pow, (f.p.max_block_bytes = UINT64_MAX, f.p.max_message_bytes = UINT64_MAX),
           "bad-params-max-message-bytes");
    EXPECT(base_pow, f.p.max_message_bytes = 0, "bad-params-max-message-bytes");
#undef EXPECT
}

static void test_params_free(void **state)
{
    (void)state;
    bwc_params p;
    memset(&p, 0, sizeof p);
    p.allocations = calloc(2, sizeof *p.allocations);
    p.n_allocations = 2;
    p.poa.authorities = calloc(1, sizeof *p.poa.authorities);
    p.poa.n_authorities = 1;
    p.magic = 5;
    bwc_params_free(&p);
    assert_null(p.allocations);
    assert_null(p.poa.authorities);
    assert_int_equal(p.n_allocations, 0);
    assert_int_equal(p.magic, 0);
    bwc_params_free(&p); /* twice is harmless */
    bwc_params_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_g),
        cmocka_unit_test(test_genesis_header),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_table_covers_every_field),
        cmocka_unit_test(test_every_parameter_changes_chain_id),
        cmocka_unit_test(test_params_check_rejects),
        cmocka_unit_test(test_params_free),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
