/* test_state.c: the state-transition function (PROTOCOL.md §5, §5.1) over an in-memory view. */
#include "tests/unit/unit.h"

#include "consensus/engine.h"
#include "consensus/key.h"
#include "consensus/receipt.h"
#include "consensus/state.h"
#include "consensus/tx.h"

#define COIN BWC_UNITS_PER_COIN
#define MIN_FEE 1000u
#define RFEE 1000u
#define SETTLE 100u
#define MAX_CH 100000u
#define SUBSIDY (50 * COIN)
#define HALVING 210000u
#define MIB (1u << 20)
#define PRICE 1000000u /* units per MiB: one MiB may claim up to this much */

/* --- An in-memory view: a sorted array of key/value pairs. --- */

typedef struct {
    unsigned char key[BWC_STATE_KEY_MAX];
    size_t klen;
    unsigned char *val;
    size_t vlen;
} mem_entry;

typedef struct {
    mem_entry *e;
    size_t n;
    size_t cap;
    int fail_get; /* every get fails (-1) while set */
    int fail_put; /* every put fails (-1) while set */
} mem_store;

static int key_cmp(const mem_entry *e, const unsigned char *k, size_t kn)
{
    size_t m = e->klen < kn ? e->klen : kn;
    int c = memcmp(e->key, k, m);
    if (c)
        return c;
    return (e->klen > kn) - (e->klen < kn);
}

/* The index of the first entry not below k. */
static size_t mem_find(const mem_store *s, const unsigned char *k, size_t kn)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (key_cmp(&s->e[mid], k, kn) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static const mem_entry *mem_lookup(const mem_store *s, const unsigned char *k, size_t kn)
{
    size_t i = mem_find(s, k, kn);
    return i < s->n && key_cmp(&s->e[i], k, kn) == 0 ? &s->e[i] : NULL;
}

/* The key layout of state.h: every key state.c writes has its prefix's exact length. */
static size_t layout_len(unsigned char prefix)
{
    switch (prefix) {
    case 'a':
    case 'c':
    case 'n':
    case 'r':
    case 'p':
        return 33;
    case 'q':
        return 65;
    case 'l':
        return 97;
    case 'y':
        return 9;
    case 'x':
        return 13;
    default:
        return 0;
    }
}

static int mem_get(void *opaque, const unsigned char *k, size_t kn, bwc_buf *out)
{
    mem_store *s = opaque;
    if (s->fail_get)
        return -1;
    assert_int_equal(kn, layout_len(k[0]));
    const mem_entry *e = mem_lookup(s, k, kn);
    if (!e)
        return 0;
    bwc_buf_append(out, e->val, e->vlen);
    return 1;
}

static int mem_put(void *opaque, const unsigned char *k, size_t kn, const unsigned char *val,
                   size_t vn)
{
    mem_store *s = opaque;
    if (s->fail_put)
        return -1;
    assert_int_equal(kn, layout_len(k[0]));
    size_t i = mem_find(s, k, kn);
    int found = i < s->n && key_cmp(&s->e[i], k, kn) == 0;
    if (!val) {
        if (found) {
            free(s->e[i].val);
            memmove(&s->e[i], &s->e[i + 1], (s->n - i - 1) * sizeof *s->e);
            s->n--;
        }
        return 0;
    }
    unsigned char *copy = malloc(vn ? vn : 1);
    assert_non_null(copy);
    memcpy(copy, val, vn);
    if (found) {
        free(s->e[i].val);
    } else {
        if (s->n == s->cap) {
            s->cap = s->cap ? 2 * s->cap : 64;
            s->e = realloc(s->e, s->cap * sizeof *s->e);
            assert_non_null(s->e);
        }
        memmove(&s->e[i + 1], &s->e[i], (s->n - i) * sizeof *s->e);
        s->n++;
        memcpy(s->e[i].key, k, kn);
        s->e[i].klen = kn;
    }
    s->e[i].val = copy;
    s->e[i].vlen = vn;
    return 0;
}

static void mem_clear(mem_store *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->e[i].val);
    free(s->e);
    memset(s, 0, sizeof *s);
}

static void mem_copy(mem_store *dst, const mem_store *src)
{
    memset(dst, 0, sizeof *dst);
    dst->cap = src->n ? src->n : 1;
    dst->e = malloc(dst->cap * sizeof *dst->e);
    assert_non_null(dst->e);
    for (size_t i = 0; i < src->n; i++) {
        dst->e[i] = src->e[i];
        dst->e[i].val = malloc(src->e[i].vlen ? src->e[i].vlen : 1);
        assert_non_null(dst->e[i].val);
        memcpy(dst->e[i].val, src->e[i].val, src->e[i].vlen);
    }
    dst->n = src->n;
}

/* --- The fixture: keys, a dev-like chain and a block context. --- */

enum { ALICE, BOB, CAROL, DAVE, ORG, TICKETS, ERIN, N_KEYS };

static secp256k1_context *secp;
static unsigned char sk[N_KEYS][32];
static bwc_pubkey pk[N_KEYS];
static bwc_pubkey bad_key; /* 32 bytes of 0xff: not an x coordinate on the curve */
static bwc_hash chain_id;
static bwc_params params;
static bwc_allocation allocs[4];
static mem_store store;
static bwc_state_view view = {&store, mem_get, mem_put};
static bwc_block_ctx ctx;
static bwc_result res;
static const unsigned char aux[32];

static int group_setup(void **state)
{
    static const unsigned char seed[32] = {42};
    (void)state;
    secp = bwc_secp_create(seed);
    if (!secp)
        return -1;
    for (int i = 0; i < N_KEYS; i++) {
        memset(sk[i], i + 1, 32);
        if (!bwc_key_pubkey(secp, &pk[i], sk[i]))
            return -1;
    }
    memset(bad_key.b, 0xff, sizeof bad_key.b);
    memset(chain_id.b, 0xc1, sizeof chain_id.b);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    bwc_secp_destroy(secp);
    return 0;
}

static void begin(uint64_t height)
{
    bwc_state_begin_block(&ctx, &params, &chain_id, secp, NULL, height, &pk[DAVE]);
}

/* A fresh chain with the given allocations, and the block at height 1 begun. */
static void genesis_with(const bwc_allocation *a, size_t n)
{
    mem_clear(&store);
    memcpy(allocs, a, n * sizeof *a);
    params.allocations = allocs;
    params.n_allocations = n;
    assert_true(bwc_state_genesis(&view, &params, &res));
    assert_int_equal(res.code, BWC_RESULT_OK);
    begin(1);
}

static int setup(void **state)
{
    (void)state;
    memset(&params, 0, sizeof params);
    strcpy(params.hrp, "dbwc");
    params.magic = 0xb0c0de01;
    params.genesis_time = 1700000000;
    params.engine = BWC_ENGINE_POW;
    params.pow.initial_target = 0x207fffff;
    params.pow.target_spacing = 60;
    params.pow.half_life = 3600;
    params.pow.no_retarget = 1;
    params.initial_subsidy = SUBSIDY;
    params.halving_interval = HALVING;
    params.min_fee = MIN_FEE;
    params.receipt_fee = RFEE;
    params.settle_window = SETTLE;
    params.max_channel_blocks = MAX_CH;
    params.max_block_bytes = 2u << 20;
    params.max_message_bytes = 4u << 20;
    params.max_future_seconds = 7200;
    const bwc_allocation a[] = {
        {pk[ALICE], 1000 * COIN},
        {pk[BOB], 10 * COIN},
        {pk[ORG], 500 * COIN},
    };
    genesis_with(a, 3);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mem_clear(&store);
    return 0;
}

static bwc_account account(int who)
{
    bwc_account a;
    assert_true(bwc_state_account(&view, &pk[who], &a) >= 0);
    return a;
}

static uint64_t balance(int who)
{
    return account(who).balance;
}

/* --- Applying, the way the node does: into an overlay dropped on failure. --- */

/* Ends a step: on success returns ""; on failure checks that ctx was left alone, puts the
 * store back as it was and returns the reject string. */
static const char *finish(int ok, mem_store *snap, const bwc_block_ctx *before)
{
    if (ok) {
        assert_int_equal(res.code, BWC_RESULT_OK);
        assert_string_equal(res.reject, "");
        mem_clear(snap);
        return "";
    }
    assert_int_not_equal(res.code, BWC_RESULT_OK);
    assert_int_equal(ctx.fees, before->fees);
    assert_int_equal(ctx.receipt_fees, before->receipt_fees);
    assert_int_equal(ctx.subsidy, before->subsidy);
    mem_clear(&store);
    store = *snap;
    return res.reject;
}

static bwc_hash txid_of(const bwc_tx *tx)
{
    bwc_hash id;
    bwc_tx_id(&chain_id, tx, &id);
    return id;
}

static const char *run_tx(const bwc_tx *tx)
{
    mem_store snap;
    bwc_block_ctx before = ctx;
    bwc_hash id = txid_of(tx);
    mem_copy(&snap, &store);
    return finish(bwc_state_apply_tx(&view, &ctx, tx, &id, &res), &snap, &before);
}

static const char *run_receipt_opt(const bwc_receipt *r, int require_relay_sig)
{
    mem_store snap;
    bwc_block_ctx before = ctx;
    bwc_hash rid;
    bwc_receipt_id(&chain_id, r, &rid);
    mem_copy(&snap, &store);
    return finish(bwc_state_apply_receipt(&view, &ctx, r, &rid, require_relay_sig, &res), &snap,
                  &before);
}

static const char *run_receipt(const bwc_receipt *r)
{
    return run_receipt_opt(r, 1);
}

static const char *run_end(void)
{
    mem_store snap;
    bwc_block_ctx before = ctx;
    mem_copy(&snap, &store);
    return finish(bwc_state_end_block(&view, &ctx, &res), &snap, &before);
}

/* Ends the block at ctx.height and begins the next; returns the subsidy paid. */
static uint64_t next_block(void)
{
    assert_string_equal(run_end(), "");
    uint64_t paid = ctx.subsidy;
    begin(ctx.height + 1);
    return paid;
}

/* Rejected with reject, as INVALID. */
#define assert_invalid(call, reject)                                                               \
    do {                                                                                           \
        assert_string_equal((call), (reject));                                                     \
        assert_int_equal(res.code, BWC_RESULT_INVALID);                                            \
    } while (0)

/* --- Building transactions, each signed by its sender unless re-signed. --- */

static void sign_tx(bwc_tx *tx, int signer)
{
    bwc_hash id = txid_of(tx);
    assert_true(bwc_sign(secp, &tx->sig, sk[signer], &id, aux));
}

static bwc_tx tx_base(int who, uint64_t type)
{
    bwc_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.type = type;
    tx.from = pk[who];
    tx.nonce = account(who).nonce;
    tx.fee = MIN_FEE;
    return tx;
}

static bwc_tx mk_transfer_to(int who, const bwc_pubkey *to, uint64_t amount)
{
    bwc_tx tx = tx_base(who, BWC_TX_TRANSFER);
    tx.body.transfer.to = *to;
    tx.body.transfer.amount = amount;
    sign_tx(&tx, who);
    return tx;
}

static bwc_tx mk_transfer(int who, int to, uint64_t amount)
{
    return mk_transfer_to(who, &pk[to], amount);
}

static bwc_tx mk_open(int who, const bwc_pubkey *relay, uint64_t deposit, uint64_t price,
                      uint64_t expiry)
{
    bwc_tx tx = tx_base(who, BWC_TX_CHANNEL_OPEN);
    tx.body.channel_open.relay = *relay;
    tx.body.channel_open.deposit = deposit;
    tx.body.channel_open.price = price;
    tx.body.channel_open.expiry = expiry;
    sign_tx(&tx, who);
    return tx;
}

static bwc_hash content_id(unsigned char tag)
{
    bwc_hash id;
    memset(id.b, tag, sizeof id.b);
    return id;
}

static bwc_tx mk_register(int who, unsigned char tag)
{
    bwc_tx tx = tx_base(who, BWC_TX_CONTENT_REGISTER);
    tx.body.content_register.content_id = content_id(tag);
    tx.body.content_register.size = 3 * MIB + 5;
    tx.body.content_register.chunk_size = 256 * 1024;
    sign_tx(&tx, who);
    return tx;
}

static void set_text(char *dst, size_t *len, const char *s)
{
    *len = strlen(s);
    memcpy(dst, s, *len + 1);
}

static bwc_tx mk_announce(int who, uint64_t price)
{
    bwc_tx tx = tx_base(who, BWC_TX_RELAY_ANNOUNCE);
    bwc_tx_relay_announce *a = &tx.body.relay_announce;
    set_text(a->endpoint, &a->endpoint_len, "http://relay.example:8000");
    set_text(a->region, &a->region_len, "DE");
    a->price = price;
    a->rate = 1000000;
    a->quota = 1ull << 40;
    a->burst_quota = 1ull << 41;
    a->burst_hours = 24;
    sign_tx(&tx, who);
    return tx;
}

static bwc_tx mk_retire(int who)
{
    bwc_tx tx = tx_base(who, BWC_TX_RELAY_RETIRE);
    sign_tx(&tx, who);
    return tx;
}

/* ticket_key < 0: a pool without ticket_key. */
static bwc_tx mk_sponsor(int who, unsigned char content, uint64_t amount, uint64_t cap,
                         uint64_t expiry, int ticket_key)
{
    bwc_tx tx = tx_base(who, BWC_TX_SPONSOR);
    bwc_tx_sponsor *s = &tx.body.sponsor;
    s->content_id = content_id(content);
    s->amount = amount;
    s->price = PRICE;
    s->per_consumer_cap = cap;
    s->expiry = expiry;
    if (ticket_key >= 0) {
        s->has_ticket_key = 1;
        s->ticket_key = pk[ticket_key];
    }
    sign_tx(&tx, who);
    return tx;
}

/* Applies tx, which must succeed, and returns its id (the channel or pool id). */
static bwc_hash apply_ok(const bwc_tx *tx)
{
    assert_string_equal(run_tx(tx), "");
    return txid_of(tx);
}

static bwc_hash open_ok(int who, int relay, uint64_t deposit, uint64_t expiry)
{
    bwc_tx tx = mk_open(who, &pk[relay], deposit, PRICE, expiry);
    return apply_ok(&tx);
}

static bwc_hash pool_ok(unsigned char content, uint64_t amount, uint64_t cap, uint64_t expiry,
                        int ticket_key)
{
    bwc_tx reg = mk_register(ORG, content);
    apply_ok(&reg);
    bwc_tx tx = mk_sponsor(ORG, content, amount, cap, expiry, ticket_key);
    return apply_ok(&tx);
}

/* --- Building receipts. --- */

/* relay < 0: no relay_sig (a receipt on its way from consumer to relay). */
static void sign_receipt(bwc_receipt *r, int relay, int consumer)
{
    bwc_hash rid;
    bwc_receipt_id(&chain_id, r, &rid);
    assert_true(bwc_sign(secp, &r->consumer_sig, sk[consumer], &rid, aux));
    r->has_relay_sig = relay >= 0;
    if (relay >= 0)
        assert_true(bwc_sign(secp, &r->relay_sig, sk[relay], &rid, aux));
    else
        memset(&r->relay_sig, 0, sizeof r->relay_sig);
}

static bwc_receipt rc_base(const bwc_hash *id, uint64_t seq, uint64_t bytes, uint64_t amount)
{
    bwc_receipt r;
    memset(&r, 0, sizeof r);
    r.channel = *id;
    r.seq = seq;
    r.bytes = bytes;
    r.amount = amount;
    memset(r.digest.b, (int)seq, sizeof r.digest.b);
    return r;
}

static bwc_receipt mk_rc(const bwc_hash *ch, uint64_t seq, uint64_t bytes, uint64_t amount,
                         int relay, int consumer)
{
    bwc_receipt r = rc_base(ch, seq, bytes, amount);
    sign_receipt(&r, relay, consumer);
    return r;
}

static void sign_ticket(bwc_sig *out, int signer, const bwc_hash *pool, int consumer)
{
    bwc_hash msg;
    bwc_ticket_msg(&chain_id, pool, &pk[consumer], &msg);
    assert_true(bwc_sign(secp, out, sk[signer], &msg, aux));
}

/* ticket_signer < 0: no ticket. */
static bwc_receipt mk_pool_rc(const bwc_hash *pool, int relay, int consumer, uint64_t seq,
                              uint64_t bytes, uint64_t amount, int ticket_signer)
{
    bwc_receipt r = rc_base(pool, seq, bytes, amount);
    r.is_pool = 1;
    r.relay = pk[relay];
    r.consumer = pk[consumer];
    if (ticket_signer >= 0) {
        r.has_ticket = 1;
        sign_ticket(&r.ticket, ticket_signer, pool, consumer);
    }
    sign_receipt(&r, relay, consumer);
    return r;
}

/* --- Raw keys, written out here so the tests pin state.h's layout. --- */

static size_t raw_key(unsigned char *k, unsigned char prefix, const void *a, const void *b,
                      const void *c)
{
    size_t n = 1;
    k[0] = prefix;
    const void *parts[3] = {a, b, c};
    for (int i = 0; i < 3 && parts[i]; i++, n += 32)
        memcpy(k + n, parts[i], 32);
    return n;
}

static size_t due_key(unsigned char *k, unsigned char prefix, uint64_t height, int64_t index)
{
    k[0] = prefix;
    for (int i = 0; i < 8; i++)
        k[1 + i] = (unsigned char)(height >> (56 - 8 * i));
    if (index < 0)
        return 9;
    for (int i = 0; i < 4; i++)
        k[9 + i] = (unsigned char)((uint64_t)index >> (24 - 8 * i));
    return 13;
}

static const mem_entry *raw_get(const unsigned char *k, size_t kn)
{
    return mem_lookup(&store, k, kn);
}

static void raw_put(const unsigned char *k, size_t kn, const void *val, size_t vn)
{
    assert_int_equal(mem_put(&store, k, kn, val, vn), 0);
}

/* ================================ genesis ================================ */

static void test_genesis_credits_allocations(void **state)
{
    (void)state;
    bwc_account a = account(ALICE);
    assert_int_equal(a.balance, 1000 * COIN);
    assert_int_equal(a.nonce, 0);
    assert_int_equal(a.bytes_served, 0);
    assert_int_equal(a.bytes_consumed, 0);
    assert_int_equal(balance(BOB), 10 * COIN);
    assert_int_equal(balance(ORG), 500 * COIN);
    /* An address never credited is absent and reads as zero. */
    unsigned char k[BWC_STATE_KEY_MAX];
    assert_null(raw_get(k, raw_key(k, 'a', pk[CAROL].b, NULL, NULL)));
    assert_int_equal(bwc_state_account(&view, &pk[CAROL], &a), 0);
    assert_int_equal(a.balance, 0);
    assert_int_equal(store.n, 3);
}

static void test_genesis_supply_overflow(void **state)
{
    (void)state;
    mem_clear(&store);
    bwc_allocation a[] = {{pk[ALICE], UINT64_MAX}, {pk[ALICE], 1}};
    params.allocations = a;
    params.n_allocations = 2;
    assert_false(bwc_state_genesis(&view, &params, &res));
    assert_int_equal(res.code, BWC_RESULT_INVALID);
    assert_string_equal(res.reject, "bad-params-supply-overflow");
    params.allocations = NULL;
    params.n_allocations = 0;
}

/* ================================ transactions ================================ */

static void test_transfer(void **state)
{
    (void)state;
    bwc_tx tx = mk_transfer(ALICE, BOB, 3 * COIN);
    assert_string_equal(run_tx(&tx), "");
    assert_int_equal(balance(ALICE), 997 * COIN - MIN_FEE);
    assert_int_equal(account(ALICE).nonce, 1);
    assert_int_equal(balance(BOB), 13 * COIN);
    assert_int_equal(account(BOB).nonce, 0);
    assert_int_equal(ctx.fees, MIN_FEE);
    /* To a fresh address, with a fee above the minimum. */
    tx = mk_transfer(ALICE, CAROL, 5);
    tx.fee = 2500;
    sign_tx(&tx, ALICE);
    assert_string_equal(run_tx(&tx), "");
    assert_int_equal(balance(CAROL), 5);
    assert_int_equal(account(ALICE).nonce, 2);
    assert_int_equal(ctx.fees, MIN_FEE + 2500);
}

static void test_transfer_to_self(void **state)
{
    (void)state;
    bwc_tx tx = mk_transfer(ALICE, ALICE, 7 * COIN);
    assert_string_equal(run_tx(&tx), "");
    assert_int_equal(balance(ALICE), 1000 * COIN - MIN_FEE);
    assert_int_equal(account(ALICE).nonce, 1);
}

static void test_tx_bad_sig(void **state)
{
    (void)state;
    bwc_tx tx = mk_transfer(ALICE, BOB, 1);
    sign_tx(&tx, BOB); /* the wrong signer */
    assert_invalid(run_tx(&tx), "bad-tx-sig");
    tx = mk_transfer(ALICE, BOB, 1);
    tx.body.transfer.amount = 2; /* changed after signing */
    assert_invalid(run_tx(&tx), "bad-tx-sig");
    assert_int_equal(balance(ALICE), 1000 * COIN);
    assert_int_equal(account(ALICE).nonce, 0);
    /* The signature is checked before everything else, the fee included. */
    tx = mk_transfer(ALICE, BOB, 1);
    tx.fee = 0;
    assert_invalid(run_tx(&tx), "bad-tx-sig");
}

static void test_tx_fee_below_min(void **state)
{
    (void)state;
    bwc_tx tx = mk_transfer(ALICE, BOB, 1);
    tx.fee = MIN_FEE - 1;
    sign_tx(&tx, ALICE);
    assert_invalid(run_tx(&tx), "bad-tx-fee");
    /* The fee is checked before the nonce. */
    tx.nonce = 9;
    sign_tx(&tx, ALICE);
    assert_invalid(run_tx(&tx), "bad-tx-fee");
    tx.nonce = 0;
    tx.fee = MIN_FEE;
    sign_tx(&tx, ALICE);
    assert_string_equal(run_tx(&tx), "");
}

static void test_tx_wrong_nonce(void **state)
{
    (void)state;
    bwc_tx tx = mk_transfer(ALICE, BOB, 1);
    tx.nonce = 1;
    sign_tx(&tx, ALICE);
    assert_invalid(run_tx(&tx), "bad-tx-nonce");
    tx = mk_transfer(ALICE, BOB, 1);
    assert_string_equal(run_tx(&tx), "");
    /* A replay carries the nonce just used. */
    assert_invalid(run_tx(&tx), "bad-tx-nonce");
    assert_int_equal(balance(BOB), 10 * COIN + 1);
}

static void test_tx_insufficient_funds(void **state)
{
    (void)state;
    bwc_tx tx = mk_transfer(BOB, ALICE, 10 * COIN - MIN_FEE + 1);
    assert_invalid(run_tx(&tx), "bad-tx-insufficient-funds");
    /* An address with nothing cannot even pay the fee. */
    tx = mk_transfer(CAROL, ALICE, 1);
    assert_invalid(run_tx(&tx), "bad-tx-insufficient-funds");
    /* amount + fee past 2^64 - 1: no balance could pay it. */
    tx = mk_transfer(BOB, ALICE, UINT64_MAX);
    assert_invalid(run_tx(&tx), "bad-tx-insufficient-funds");
    /* Exactly everything is fine; the account stays (its nonce is 1). */
    tx = mk_transfer(BOB, ALICE, 10 * COIN - MIN_FEE);
    assert_string_equal(run_tx(&tx), "");
    assert_int_equal(balance(BOB), 0);
    assert_int_equal(account(BOB).nonce, 1);
    unsigned char k[BWC_STATE_KEY_MAX];
    assert_non_null(raw_get(k, raw_key(k, 'a', pk[BOB].b, NULL, NULL)));
}

static void test_tx_overflow_recipient(void **state)
{
    (void)state;
    const bwc_allocation a[] = {{pk[ALICE], 1000 * COIN}, {pk[BOB], UINT64_MAX - 5}};
    genesis_with(a, 2);
    bwc_tx tx = mk_transfer(ALICE, BOB, 6);
    assert_invalid(run_tx(&tx), "bad-tx-overflow");
    assert_int_equal(balance(BOB), UINT64_MAX - 5);
    tx = mk_transfer(ALICE, BOB, 5);
    assert_string_equal(run_tx(&tx), "");
    assert_int_equal(balance(BOB), UINT64_MAX);
}

static void test_tx_overflow_fees(void **state)
{
    (void)state;
    ctx.fees = UINT64_MAX - MIN_FEE + 1;
    bwc_tx tx = mk_transfer(ALICE, BOB, 1);
    assert_invalid(run_tx(&tx), "bad-tx-overflow");
    ctx.fees = UINT64_MAX - MIN_FEE;
    assert_string_equal(run_tx(&tx), "");
    assert_int_equal(ctx.fees, UINT64_MAX);
}

static void test_tx_bad_keys(void **state)
{
    (void)state;
    assert_false(bwc_pubkey_valid(secp, &bad_key));
    bwc_tx tx = mk_transfer_to(ALICE, &bad_key, 1);
    assert_invalid(run_tx(&tx), "bad-tx-to-key");
    tx = mk_open(ALICE, &bad_key, 1000, PRICE, 10);
    assert_invalid(run_tx(&tx), "bad-tx-relay-key");
    bwc_tx reg = mk_register(ORG, 0x11);
    apply_ok(&reg);
    tx = mk_sponsor(ORG, 0x11, 1000, 1000, 10, -1);
    tx.body.sponsor.has_ticket_key = 1;
    tx.body.sponsor.ticket_key = bad_key;
    sign_tx(&tx, ORG);
    assert_invalid(run_tx(&tx), "bad-tx-ticket-key");
}

static void test_tx_unknown_type(void **state)
{
    (void)state;
    bwc_tx tx = tx_base(ALICE, 7);
    sign_tx(&tx, ALICE);
    assert_string_equal(run_tx(&tx), "bad-tx-type");
    assert_int_equal(res.code, BWC_RESULT_MALFORMED);
}

static void test_channel_open(void **state)
{
    (void)state;
    begin(7);
    bwc_tx tx = mk_open(ALICE, &pk[CAROL], 5 * COIN, PRICE, 50);
    bwc_hash id = apply_ok(&tx);
    assert_int_equal(balance(ALICE), 995 * COIN - MIN_FEE);
    bwc_channel c;
    assert_int_equal(bwc_state_channel(&view, &id, &c), 1);
    assert_memory_equal(c.consumer.b, pk[ALICE].b, 32);
    assert_memory_equal(c.relay.b, pk[CAROL].b, 32);
    assert_int_equal(c.deposit, 5 * COIN);
    assert_int_equal(c.price, PRICE);
    assert_int_equal(c.expiry, 50);
    assert_int_equal(c.claimed, 0);
    assert_int_equal(c.seq, 0);
    assert_int_equal(c.bytes, 0);
    assert_true(bwc_hash_is_zero(&c.digest));
    assert_int_equal(c.opened, 7);
    assert_int_equal(c.closed, 0);
    /* Its closing is due after block 50 + 100: count 1 ('y'), entry 0 = 'c' || id ('x'). */
    unsigned char k[BWC_STATE_KEY_MAX], want[33] = {'c'};
    const mem_entry *e = raw_get(k, due_key(k, 'y', 150, -1));
    assert_non_null(e);
    assert_int_equal(e->vlen, 1);
    assert_int_equal(e->val[0], 0x01);
    e = raw_get(k, due_key(k, 'x', 150, 0));
    assert_non_null(e);
    memcpy(want + 1, id.b, 32);
    assert_int_equal(e->vlen, 33);
    assert_memory_equal(e->val, want, 33);
    /* A second channel due at the same height takes index 1. */
    bwc_hash id2 = open_ok(BOB, CAROL, 1000, 50);
    e = raw_get(k, due_key(k, 'y', 150, -1));
    assert_int_equal(e->val[0], 0x02);
    e = raw_get(k, due_key(k, 'x', 150, 1));
    assert_non_null(e);
    assert_memory_equal(e->val + 1, id2.b, 32);
    /* Price 0 is allowed. */
    tx = mk_open(ALICE, &pk[CAROL], 1000, 0, 60);
    assert_string_equal(run_tx(&tx), "");
}

static void test_channel_open_expiry(void **state)
{
    (void)state;
    begin(100);
    bwc_tx tx = mk_open(ALICE, &pk[CAROL], 1000, PRICE, 100); /* == height */
    assert_invalid(run_tx(&tx), "bad-tx-expiry");
    tx = mk_open(ALICE, &pk[CAROL], 1000, PRICE, 99);
    assert_invalid(run_tx(&tx), "bad-tx-expiry");
    tx = mk_open(ALICE, &pk[CAROL], 1000, PRICE, 100 + MAX_CH + 1);
    assert_invalid(run_tx(&tx), "bad-tx-expiry");
    tx = mk_open(ALICE, &pk[CAROL], 1000, PRICE, 100 + MAX_CH);
    assert_string_equal(run_tx(&tx), "");
    tx = mk_open(ALICE, &pk[CAROL], 1000, PRICE, 101);
    assert_string_equal(run_tx(&tx), "");
    /* Near 2^64 height + max_channel_blocks wraps: an expiry inside the window is still
     * accepted when its closing height fits, refused when expiry + settle_window does not. */
    begin(UINT64_MAX - 150);
    tx = mk_open(ALICE, &pk[CAROL], 1000, PRICE, UINT64_MAX - SETTLE + 1);
    assert_invalid(run_tx(&tx), "bad-tx-expiry");
    tx = mk_open(ALICE, &pk[CAROL], 1000, PRICE, UINT64_MAX - SETTLE);
    assert_string_equal(run_tx(&tx), "");
    unsigned char k[BWC_STATE_KEY_MAX];
    assert_non_null(raw_get(k, due_key(k, 'y', UINT64_MAX, -1)));
}

static void test_channel_open_insufficient_funds(void **state)
{
    (void)state;
    bwc_tx tx = mk_open(BOB, &pk[CAROL], 10 * COIN - MIN_FEE + 1, PRICE, 10);
    assert_invalid(run_tx(&tx), "bad-tx-insufficient-funds");
    tx = mk_open(BOB, &pk[CAROL], 10 * COIN - MIN_FEE, PRICE, 10);
    assert_string_equal(run_tx(&tx), "");
    assert_int_equal(balance(BOB), 0);
}

static void test_content_register(void **state)
{
    (void)state;
    begin(12);
    bwc_tx tx = mk_register(ORG, 0x42);
    bwc_tx_content_register *b = &tx.body.content_register;
    set_text(b->name, &b->name_len, "Big Buck Bunny");
    set_text(b->origin, &b->origin_len, "http://origin.example:8080");
    set_text(b->mime, &b->mime_len, "video/mp4");
    sign_tx(&tx, ORG);
    assert_string_equal(run_tx(&tx), "");
    bwc_content c;
    bwc_hash id = content_id(0x42);
    assert_int_equal(bwc_state_content(&view, &id, &c), 1);
    assert_memory_equal(c.publisher.b, pk[ORG].b, 32);
    assert_int_equal(c.size, 3 * MIB + 5);
    assert_int_equal(c.chunk_size, 256 * 1024);
    assert_string_equal(c.name, "Big Buck Bunny");
    assert_int_equal(c.name_len, 14);
    assert_string_equal(c.origin, "http://origin.example:8080");
    assert_string_equal(c.mime, "video/mp4");
    assert_int_equal(c.registered, 12);
    assert_int_equal(balance(ORG), 500 * COIN - MIN_FEE);
    /* Without the optional fields. */
    tx = mk_register(ORG, 0x43);
    assert_string_equal(run_tx(&tx), "");
    id = content_id(0x43);
    assert_int_equal(bwc_state_content(&view, &id, &c), 1);
    assert_int_equal(c.name_len + c.origin_len + c.mime_len, 0);
    id = content_id(0x44);
    assert_int_equal(bwc_state_content(&view, &id, &c), 0);
}

static void test_content_exists(void **state)
{
    (void)state;
    bwc_tx tx = mk_register(ORG, 0x42);
    apply_ok(&tx);
    tx = mk_register(ORG, 0x42);
    assert_invalid(run_tx(&tx), "bad-tx-content-exists");
    tx = mk_register(ALICE, 0x42); /* another publisher, the same id */
    assert_invalid(run_tx(&tx), "bad-tx-content-exists");
    bwc_content c;
    bwc_hash id = content_id(0x42);
    assert_int_equal(bwc_state_content(&view, &id, &c), 1);
    assert_memory_equal(c.publisher.b, pk[ORG].b, 32);
}

static void test_relay_announce(void **state)
{
    (void)state;
    begin(3);
    bwc_tx tx = mk_announce(CAROL, 500); /* an announce with no balance cannot pay its fee */
    assert_invalid(run_tx(&tx), "bad-tx-insufficient-funds");
    tx = mk_transfer(ALICE, CAROL, COIN);
    apply_ok(&tx);
    tx = mk_announce(CAROL, 500);
    assert_string_equal(run_tx(&tx), "");
    bwc_relay r;
    assert_int_equal(bwc_state_relay(&view, &pk[CAROL], &r), 1);
    assert_string_equal(r.ann.endpoint, "http://relay.example:8000");
    assert_string_equal(r.ann.region, "DE");
    assert_int_equal(r.ann.price, 500);
    assert_int_equal(r.ann.rate, 1000000);
    assert_int_equal(r.ann.quota, 1ull << 40);
    assert_int_equal(r.ann.burst_quota, 1ull << 41);
    assert_int_equal(r.ann.burst_hours, 24);
    assert_int_equal(r.announced, 3);
    /* A second announce replaces the record. */
    begin(9);
    tx = mk_announce(CAROL, 800);
    assert_string_equal(run_tx(&tx), "");
    assert_int_equal(bwc_state_relay(&view, &pk[CAROL], &r), 1);
    assert_int_equal(r.ann.price, 800);
    assert_int_equal(r.announced, 9);
    assert_int_equal(balance(CAROL), COIN - 2 * MIN_FEE);
}

static void test_relay_retire(void **state)
{
    (void)state;
    bwc_tx tx = mk_retire(ALICE);
    assert_invalid(run_tx(&tx), "bad-tx-no-relay");
    tx = mk_announce(ALICE, 1);
    apply_ok(&tx);
    tx = mk_retire(ALICE);
    assert_string_equal(run_tx(&tx), "");
    bwc_relay r;
    assert_int_equal(bwc_state_relay(&view, &pk[ALICE], &r), 0);
    assert_int_equal(account(ALICE).nonce, 2);
    assert_int_equal(balance(ALICE), 1000 * COIN - 2 * MIN_FEE);
    tx = mk_retire(ALICE);
    assert_invalid(run_tx(&tx), "bad-tx-no-relay");
}

static void test_sponsor(void **state)
{
    (void)state;
    begin(20);
    bwc_tx reg = mk_register(ORG, 0x42);
    apply_ok(&reg);
    bwc_tx tx = mk_sponsor(ORG, 0x42, 7 * COIN, 5000, 80, TICKETS);
    bwc_hash id = apply_ok(&tx);
    assert_int_equal(balance(ORG), 493 * COIN - 2 * MIN_FEE);
    bwc_pool p;
    assert_int_equal(bwc_state_pool(&view, &id, &p), 1);
    assert_memory_equal(p.sponsor.b, pk[ORG].b, 32);
    assert_memory_equal(p.content_id.b, content_id(0x42).b, 32);
    assert_int_equal(p.amount, 7 * COIN);
    assert_int_equal(p.balance, 7 * COIN);
    assert_int_equal(p.price, PRICE);
    assert_int_equal(p.per_consumer_cap, 5000);
    assert_int_equal(p.expiry, 80);
    assert_int_equal(p.has_ticket_key, 1);
    assert_memory_equal(p.ticket_key.b, pk[TICKETS].b, 32);
    assert_int_equal(p.opened, 20);
    assert_int_equal(p.closed, 0);
    unsigned char k[BWC_STATE_KEY_MAX];
    const mem_entry *e = raw_get(k, due_key(k, 'x', 180, 0));
    assert_non_null(e);
    assert_int_equal(e->val[0], 'p');
    assert_memory_equal(e->val + 1, id.b, 32);
    /* Anyone may sponsor; without a ticket_key the field is absent. */
    tx = mk_sponsor(ALICE, 0x42, 1000, 1000, 21, -1);
    id = apply_ok(&tx);
    assert_int_equal(bwc_state_pool(&view, &id, &p), 1);
    assert_int_equal(p.has_ticket_key, 0);
    assert_int_equal(balance(ALICE), 1000 * COIN - 1000 - MIN_FEE);
}

static void test_sponsor_rejects(void **state)
{
    (void)state;
    bwc_tx tx = mk_sponsor(ORG, 0x42, 1000, 1000, 10, -1);
    assert_invalid(run_tx(&tx), "bad-tx-unknown-content");
    bwc_tx reg = mk_register(ORG, 0x42);
    apply_ok(&reg);
    tx = mk_sponsor(ORG, 0x42, 1000, 1000, 1, -1);
    assert_invalid(run_tx(&tx), "bad-tx-expiry");
    tx = mk_sponsor(ORG, 0x42, 1000, 1000, 1 + MAX_CH + 1, -1);
    assert_invalid(run_tx(&tx), "bad-tx-expiry");
    tx = mk_sponsor(ORG, 0x42, 500 * COIN, 1000, 10, -1); /* plus the fee: too much */
    assert_invalid(run_tx(&tx), "bad-tx-insufficient-funds");
    tx = mk_sponsor(ORG, 0x42, 500 * COIN - 2 * MIN_FEE, 1000, 10, -1);
    assert_string_equal(run_tx(&tx), "");
    assert_int_equal(balance(ORG), 0);
}

/* ================================ channel receipts ================================ */

static void test_receipt(void **state)
{
    (void)state;
    bwc_hash ch = open_ok(ALICE, CAROL, 5 * COIN, 50);
    next_block();
    bwc_receipt r = mk_rc(&ch, 1, MIB, 400000, CAROL, ALICE);
    assert_string_equal(run_receipt(&r), "");
    assert_int_equal(balance(CAROL), 400000 - RFEE);
    assert_int_equal(account(CAROL).bytes_served, MIB);
    assert_int_equal(account(ALICE).bytes_consumed, MIB);
    assert_int_equal(account(ALICE).bytes_served, 0);
    assert_int_equal(ctx.receipt_fees, RFEE);
    bwc_channel c;
    assert_int_equal(bwc_state_channel(&view, &ch, &c), 1);
    assert_int_equal(c.claimed, 400000);
    assert_int_equal(c.seq, 1);
    assert_int_equal(c.bytes, MIB);
    assert_memory_equal(c.digest.b, r.digest.b, 32);
    /* The next pays only the delta; seq may jump. */
    r = mk_rc(&ch, 5, 2 * MIB, 1500000, CAROL, ALICE);
    assert_string_equal(run_receipt(&r), "");
    assert_int_equal(balance(CAROL), 1500000 - 2 * RFEE);
    assert_int_equal(account(CAROL).bytes_served, 2 * MIB);
    assert_int_equal(account(ALICE).bytes_consumed, 2 * MIB);
    assert_int_equal(ctx.receipt_fees, 2 * RFEE);
    assert_int_equal(bwc_state_channel(&view, &ch, &c), 1);
    assert_int_equal(c.claimed, 1500000);
    assert_int_equal(c.seq, 5);
    /* The consumer's balance is untouched: the deposit paid. */
    assert_int_equal(balance(ALICE), 995 * COIN - MIN_FEE);
}

static void test_receipt_relay_sig_missing(void **state)
{
    (void)state;
    bwc_hash ch = open_ok(ALICE, CAROL, 5 * COIN, 50);
    bwc_receipt r = mk_rc(&ch, 1, MIB, 5000, -1, ALICE);
    assert_invalid(run_receipt(&r), "bad-receipt-relay-sig-missing");
    /* A relay checking its consumer's receipt does not need its own signature yet. */
    assert_string_equal(run_receipt_opt(&r, 0), "");
    assert_int_equal(balance(CAROL), 5000 - RFEE);
    /* ...but the consumer's is still checked. */
    r = mk_rc(&ch, 2, MIB, 6000, -1, BOB);
    assert_invalid(run_receipt_opt(&r, 0), "bad-receipt-consumer-sig");
}

static void test_receipt_unknown_channel(void **state)
{
    (void)state;
    bwc_hash nowhere = content_id(0x99);
    bwc_receipt r = mk_rc(&nowhere, 1, MIB, 5000, CAROL, ALICE);
    assert_invalid(run_receipt(&r), "bad-receipt-unknown-channel");
    /* A channel receipt naming a pool, and a pool receipt naming a channel. */
    bwc_hash pool = pool_ok(0x42, COIN, COIN, 50, -1);
    r = mk_rc(&pool, 1, MIB, 5000, CAROL, ALICE);
    assert_invalid(run_receipt(&r), "bad-receipt-unknown-channel");
    bwc_hash ch = open_ok(ALICE, CAROL, 5 * COIN, 50);
    r = mk_pool_rc(&ch, CAROL, ALICE, 1, MIB, 5000, -1);
    assert_invalid(run_receipt(&r), "bad-receipt-unknown-channel");
    r = mk_rc(&ch, 1, MIB, 5000, CAROL, ALICE);
    assert_string_equal(run_receipt(&r), "");
}

static void test_receipt_stale_seq(void **state)
{
    (void)state;
    bwc_hash ch = open_ok(ALICE, CAROL, 5 * COIN, 50);
    bwc_receipt r = mk_rc(&ch, 3, MIB, 5000, CAROL, ALICE);
    assert_string_equal(run_receipt(&r), "");
    r = mk_rc(&ch, 3, 2 * MIB, 9000, CAROL, ALICE);
    assert_invalid(run_receipt(&r), "bad-receipt-seq");
    r = mk_rc(&ch, 2, 2 * MIB, 9000, CAROL, ALICE);
    assert_invalid(run_receipt(&r), "bad-receipt-seq");
    /* A replay of the settled receipt is stale too. */
    r = mk_rc(&ch, 3, MIB, 5000, CAROL, ALICE);
    assert_invalid(run_receipt(&r), "bad-receipt-seq");
    assert_int_equal(balance(CAROL), 5000 - RFEE);
}

static void test_receipt_bytes_down(void **state)
{
    (void)state;
    bwc_hash ch = open_ok(ALICE, CAROL, 5 * COIN, 50);
    bwc_receipt r = mk_rc(&ch, 1, 2 * MIB, 5000, CAROL, ALICE);
    assert_string_equal(run_receipt(&r), "");
    r = mk_rc(&ch, 2, 2 * MIB - 1, 9000, CAROL, ALICE);
    assert_invalid(run_receipt(&r), "bad-receipt-bytes");
    /* Equal bytes are fine (a receipt may only raise the amount). */
    r = mk_rc(&ch, 2, 2 * MIB, 9000, CAROL, ALICE);
    assert_string_equal(run_receipt(&r), "");
    assert_int_equal(account(CAROL).bytes_served, 2 * MIB);
}

static void test_receipt_over_deposit(void **state)
{
    (void)state;
    bwc_hash ch = open_ok(ALICE, CAROL, 10000, 50);
    bwc_receipt r = mk_rc(&ch, 1, MIB, 10001, CAROL, ALICE);
    assert_invalid(run_receipt(&r), "bad-receipt-over-deposit");
    r = mk_rc(&ch, 1, MIB, 10000, CAROL, ALICE);
    assert_string_equal(run_receipt(&r), "");
    assert_int_equal(balance(CAROL), 10000 - RFEE);
}

static void test_receipt_over_price(void **state)
{
    (void)state;
    bwc_hash ch = open_ok(ALICE, CAROL, 5 * COIN, 50);
    /* ceil(1.5 MiB * 1000000 / 2^20) = 1500000; one byte more rounds up. */
    bwc_receipt r = mk_rc(&ch, 1, MIB + MIB / 2, 1500001, CAROL, ALICE);
    assert_invalid(run_receipt(&r), "bad-receipt-over-price");
    r = mk_rc(&ch, 1, MIB + MIB / 2 + 1, 1500001, CAROL, ALICE);
    assert_string_equal(run_receipt(&r), "");
    /* Price 0 can never settle. */
    bwc_tx tx = mk_open(ALICE, &pk[CAROL], COIN, 0, 50);
    bwc_hash free_ch = apply_ok(&tx);
    r = mk_rc(&free_ch, 1, MIB, RFEE, CAROL, ALICE);
    assert_invalid(run_receipt(&r), "bad-receipt-over-price");
    /* A ceiling past 2^64 - 1 bounds nothing: 2^21 bytes at the highest price. */
    tx = mk_open(ALICE, &pk[CAROL], COIN, UINT64_MAX, 50);
    bwc_hash dear = apply_ok(&tx);
    r = mk_rc(&dear, 1, 2 * MIB, COIN, CAROL, ALICE);
    assert_string_equal(run_receipt(&r), "");
}

static void test_receipt_amount_below_fee(void **state)
{
    (void)state;
    bwc_hash ch = open_ok(ALICE, CAROL, 5 * COIN, 50);
    bwc_receipt r = mk_rc(&ch, 1, MIB, RFEE - 1, CAROL, ALICE);
    assert_invalid(run_receipt(&r), "bad-receipt-amount");
    r = mk_rc(&ch, 1, MIB, 5000, CAROL, ALICE);
    assert_string_equal(run_receipt(&r), "");
    r = mk_rc(&ch, 2, 2 * MIB, 5000 + RFEE - 1, CAROL, ALICE);
    assert_invalid(run_receipt(&r), "bad-receipt-amount");
    /* An amount going down is caught by the same rule, not wrapped. */
    r = mk_rc(&ch, 2, 2 * MIB, 10, CAROL, ALICE);
    assert_invalid(run_receipt(&r), "bad-receipt-amount");
    /* Exactly claimed + receipt_fee: the relay nets nothing, the producer gets the fee. */
    r = mk_rc(&ch, 2, 2 * MIB, 5000 + RFEE, CAROL, ALICE);
    assert_string_equal(run_receipt(&r), "");
    assert_int_equal(balance(CAROL), 5000 - RFEE);
    assert_int_equal(ctx.receipt_fees, 2 * RFEE);
}

static void test_receipt_after_settle_window(void **state)
{
    (void)state;
    bwc_hash ch = open_ok(ALICE, CAROL, 5 * COIN, 10);
    begin(10 + SETTLE + 1);
    bwc_receipt r = mk_rc(&ch, 1, MIB, 5000, CAROL, ALICE);
    assert_invalid(run_receipt(&r), "bad-receipt-closed");
    /* The last block of the window still settles (after expiry itself). */
    begin(10 + SETTLE);
    assert_string_equal(run_receipt(&r), "");
    assert_int_equal(balance(CAROL), 5000 - RFEE);
}

static void test_receipt_refunded_channel(void **state)
{
    (void)state;
    bwc_hash ch = open_ok(ALICE, CAROL, 5 * COIN, 10);
    begin(10 + SETTLE);
    assert_string_equal(run_end(), "");
    bwc_channel c;
    assert_int_equal(bwc_state_channel(&view, &ch, &c), 1);
    assert_int_equal(c.closed, 10 + SETTLE);
    /* At the same height only the closed mark can refuse it. */
    begin(10 + SETTLE);
    bwc_receipt r = mk_rc(&ch, 1, MIB, 5000, CAROL, ALICE);
    assert_invalid(run_receipt(&r), "bad-receipt-closed");
    assert_int_equal(balance(CAROL), 0);
}

static void test_receipt_wrong_signers(void **state)
{
    (void)state;
    bwc_hash ch = open_ok(ALICE, CAROL, 5 * COIN, 50);
    bwc_receipt r = mk_rc(&ch, 1, MIB, 5000, ERIN, ALICE);
    assert_invalid(run_receipt(&r), "bad-receipt-relay-sig");
    r = mk_rc(&ch, 1, MIB, 5000, CAROL, BOB);
    assert_invalid(run_receipt(&r), "bad-receipt-consumer-sig");
    /* The relay's signature is checked first. */
    r = mk_rc(&ch, 1, MIB, 5000, ERIN, BOB);
    assert_invalid(run_receipt(&r), "bad-receipt-relay-sig");
    /* Both signatures cover the amount. */
    r = mk_rc(&ch, 1, MIB, 5000, CAROL, ALICE);
    r.amount = 6000;
    assert_invalid(run_receipt(&r), "bad-receipt-relay-sig");
    assert_int_equal(balance(CAROL), 0);
    bwc_channel c;
    assert_int_equal(bwc_state_channel(&view, &ch, &c), 1);
    assert_int_equal(c.seq, 0);
}

static void test_receipt_overflow(void **state)
{
    (void)state;
    /* The relay's balance. */
    const bwc_allocation a[] = {{pk[ALICE], 1000 * COIN}, {pk[CAROL], UINT64_MAX - 3000}};
    genesis_with(a, 2);
    bwc_hash ch = open_ok(ALICE, CAROL, 5 * COIN, 50);
    bwc_receipt r = mk_rc(&ch, 1, MIB, 3001 + RFEE, CAROL, ALICE);
    assert_invalid(run_receipt(&r), "bad-receipt-overflow");
    r = mk_rc(&ch, 1, MIB, 3000 + RFEE, CAROL, ALICE);
    assert_string_equal(run_receipt(&r), "");
    assert_int_equal(balance(CAROL), UINT64_MAX);
    /* The relay's bytes_served, over two channels; at the highest price a few bytes may
     * claim anything up to the deposit. */
    setup(NULL);
    bwc_hash c1 = open_ok(ALICE, ERIN, COIN, 50);
    bwc_tx tx = mk_open(BOB, &pk[ERIN], COIN, UINT64_MAX, 50);
    bwc_hash c2 = apply_ok(&tx);
    r = mk_rc(&c1, 1, UINT64_MAX - 5, 2000, ERIN, ALICE);
    assert_string_equal(run_receipt(&r), "");
    r = mk_rc(&c2, 1, 6, 2000, ERIN, BOB);
    assert_invalid(run_receipt(&r), "bad-receipt-overflow");
    r = mk_rc(&c2, 1, 5, 2000, ERIN, BOB);
    assert_string_equal(run_receipt(&r), "");
    assert_int_equal(account(ERIN).bytes_served, UINT64_MAX);
    /* The consumer's bytes_consumed: Alice again, through another relay. */
    tx = mk_open(ALICE, &pk[CAROL], COIN, UINT64_MAX, 50);
    bwc_hash c3 = apply_ok(&tx);
    r = mk_rc(&c3, 1, 6, 2000, CAROL, ALICE);
    assert_invalid(run_receipt(&r), "bad-receipt-overflow");
    assert_int_equal(account(ALICE).bytes_consumed, UINT64_MAX - 5);
    /* The block's receipt fee total. */
    setup(NULL);
    ch = open_ok(ALICE, CAROL, COIN, 50);
    ctx.receipt_fees = UINT64_MAX - RFEE + 1;
    r = mk_rc(&ch, 1, MIB, 5000, CAROL, ALICE);
    assert_invalid(run_receipt(&r), "bad-receipt-overflow");
    ctx.receipt_fees = UINT64_MAX - RFEE;
    assert_string_equal(run_receipt(&r), "");
    assert_int_equal(ctx.receipt_fees, UINT64_MAX);
}

/* ================================ pool receipts ================================ */

static void test_pool_receipt(void **state)
{
    (void)state;
    bwc_hash pool = pool_ok(0x42, 7 * COIN, COIN, 50, -1);
    bwc_receipt r = mk_pool_rc(&pool, CAROL, ALICE, 1, MIB, 400000, -1);
    assert_string_equal(run_receipt(&r), "");
    assert_int_equal(balance(CAROL), 400000 - RFEE);
    assert_int_equal(account(CAROL).bytes_served, MIB);
    assert_int_equal(account(ALICE).bytes_consumed, MIB);
    assert_int_equal(ctx.receipt_fees, RFEE);
    bwc_pool p;
    assert_int_equal(bwc_state_pool(&view, &pool, &p), 1);
    assert_int_equal(p.balance, 7 * COIN - 400000);
    assert_int_equal(p.amount, 7 * COIN);
    uint64_t total;
    assert_int_equal(bwc_state_pool_claimed(&view, &pool, &pk[ALICE], &total), 1);
    assert_int_equal(total, 400000);
    bwc_lane lane;
    assert_int_equal(bwc_state_lane(&view, &pool, &pk[ALICE], &pk[CAROL], &lane), 1);
    assert_int_equal(lane.seq, 1);
    assert_int_equal(lane.bytes, MIB);
    assert_int_equal(lane.claimed, 400000);
    assert_memory_equal(lane.digest.b, r.digest.b, 32);
    /* The next receipt on the lane pays the delta. */
    r = mk_pool_rc(&pool, CAROL, ALICE, 2, 2 * MIB, 900000, -1);
    assert_string_equal(run_receipt(&r), "");
    assert_int_equal(balance(CAROL), 900000 - 2 * RFEE);
    assert_int_equal(bwc_state_pool(&view, &pool, &p), 1);
    assert_int_equal(p.balance, 7 * COIN - 900000);
    assert_int_equal(bwc_state_pool_claimed(&view, &pool, &pk[ALICE], &total), 1);
    assert_int_equal(total, 900000);
    /* Other consumers have their own lanes and totals. */
    assert_int_equal(bwc_state_pool_claimed(&view, &pool, &pk[BOB], &total), 0);
    assert_int_equal(total, 0);
    assert_int_equal(bwc_state_lane(&view, &pool, &pk[BOB], &pk[CAROL], &lane), 0);
}

static void test_pool_lane_rules(void **state)
{
    (void)state;
    bwc_hash pool = pool_ok(0x42, 7 * COIN, COIN, 50, -1);
    bwc_receipt r = mk_pool_rc(&pool, CAROL, ALICE, 2, MIB, 5000, -1);
    assert_string_equal(run_receipt(&r), "");
    r = mk_pool_rc(&pool, CAROL, ALICE, 2, 2 * MIB, 9000, -1);
    assert_invalid(run_receipt(&r), "bad-receipt-seq");
    r = mk_pool_rc(&pool, CAROL, ALICE, 3, MIB - 1, 9000, -1);
    assert_invalid(run_receipt(&r), "bad-receipt-bytes");
    r = mk_pool_rc(&pool, CAROL, ALICE, 3, 2 * MIB, 2 * PRICE + 1, -1);
    assert_invalid(run_receipt(&r), "bad-receipt-over-price");
    r = mk_pool_rc(&pool, CAROL, ALICE, 3, 2 * MIB, 5000 + RFEE - 1, -1);
    assert_invalid(run_receipt(&r), "bad-receipt-amount");
    /* No deposit rule: a lane is bounded by the cap and the pool. */
    r = mk_pool_rc(&pool, CAROL, ALICE, 3, 2 * MIB, 2 * PRICE, -1);
    assert_string_equal(run_receipt(&r), "");
    /* A new relay starts its own lane at seq 1 for the same consumer. */
    r = mk_pool_rc(&pool, ERIN, ALICE, 1, MIB, 5000, -1);
    assert_string_equal(run_receipt(&r), "");
    assert_int_equal(balance(ERIN), 5000 - RFEE);
}

static void test_pool_signers(void **state)
{
    (void)state;
    bwc_hash pool = pool_ok(0x42, 7 * COIN, COIN, 50, -1);
    bwc_receipt r = mk_pool_rc(&pool, CAROL, ALICE, 1, MIB, 5000, -1);
    sign_receipt(&r, ERIN, ALICE); /* names Carol, signed by Erin */
    assert_invalid(run_receipt(&r), "bad-receipt-relay-sig");
    sign_receipt(&r, CAROL, BOB); /* names Alice, signed by Bob */
    assert_invalid(run_receipt(&r), "bad-receipt-consumer-sig");
    sign_receipt(&r, -1, ALICE);
    assert_invalid(run_receipt(&r), "bad-receipt-relay-sig-missing");
    sign_receipt(&r, CAROL, ALICE);
    assert_string_equal(run_receipt(&r), "");
}

static void test_pool_cap(void **state)
{
    (void)state;
    bwc_hash pool = pool_ok(0x42, 7 * COIN, 3000, 50, -1);
    bwc_receipt r = mk_pool_rc(&pool, CAROL, ALICE, 1, MIB, 2000, -1);
    assert_string_equal(run_receipt(&r), "");
    /* Over two relays Alice's total would be 3001 > 3000. */
    r = mk_pool_rc(&pool, ERIN, ALICE, 1, MIB, 1001, -1);
    assert_invalid(run_receipt(&r), "bad-receipt-over-cap");
    r = mk_pool_rc(&pool, ERIN, ALICE, 1, MIB, 1000, -1);
    assert_string_equal(run_receipt(&r), "");
    uint64_t total;
    assert_int_equal(bwc_state_pool_claimed(&view, &pool, &pk[ALICE], &total), 1);
    assert_int_equal(total, 3000);
    r = mk_pool_rc(&pool, CAROL, ALICE, 2, 2 * MIB, 2000 + RFEE, -1);
    assert_invalid(run_receipt(&r), "bad-receipt-over-cap");
    /* Bob has his own cap. */
    r = mk_pool_rc(&pool, CAROL, BOB, 1, MIB, 3000, -1);
    assert_string_equal(run_receipt(&r), "");
}

static void test_pool_exhausted(void **state)
{
    (void)state;
    bwc_hash pool = pool_ok(0x42, 5000, 10000, 50, -1);
    bwc_receipt r = mk_pool_rc(&pool, CAROL, ALICE, 1, MIB, 4000, -1);
    assert_string_equal(run_receipt(&r), "");
    r = mk_pool_rc(&pool, CAROL, BOB, 1, MIB, 1001, -1);
    assert_invalid(run_receipt(&r), "bad-receipt-pool-exhausted");
    r = mk_pool_rc(&pool, CAROL, BOB, 1, MIB, 1000, -1);
    assert_string_equal(run_receipt(&r), "");
    bwc_pool p;
    assert_int_equal(bwc_state_pool(&view, &pool, &p), 1);
    assert_int_equal(p.balance, 0);
    assert_int_equal(balance(CAROL), 5000 - 2 * RFEE);
}

static void test_pool_ticket(void **state)
{
    (void)state;
    bwc_hash pool = pool_ok(0x42, 7 * COIN, COIN, 50, TICKETS);
    bwc_receipt r = mk_pool_rc(&pool, CAROL, ALICE, 1, MIB, 5000, -1);
    assert_invalid(run_receipt(&r), "bad-receipt-ticket-missing");
    r = mk_pool_rc(&pool, CAROL, ALICE, 1, MIB, 5000, ORG); /* signed by the wrong key */
    assert_invalid(run_receipt(&r), "bad-receipt-ticket");
    /* Bob's ticket does not let Alice draw. */
    r = mk_pool_rc(&pool, CAROL, ALICE, 1, MIB, 5000, -1);
    r.has_ticket = 1;
    sign_ticket(&r.ticket, TICKETS, &pool, BOB);
    sign_receipt(&r, CAROL, ALICE);
    assert_invalid(run_receipt(&r), "bad-receipt-ticket");
    /* The ticket is checked before the lane. */
    r = mk_pool_rc(&pool, CAROL, ALICE, 1, MIB, 10, ORG);
    assert_invalid(run_receipt(&r), "bad-receipt-ticket");
    r = mk_pool_rc(&pool, CAROL, ALICE, 1, MIB, 5000, TICKETS);
    assert_string_equal(run_receipt(&r), "");
    assert_int_equal(balance(CAROL), 5000 - RFEE);
    /* A pool without ticket_key refuses a ticket. */
    bwc_hash open_pool = pool_ok(0x43, 7 * COIN, COIN, 50, -1);
    r = mk_pool_rc(&open_pool, CAROL, ALICE, 1, MIB, 5000, TICKETS);
    assert_invalid(run_receipt(&r), "bad-receipt-ticket-unexpected");
}

static void test_pool_closed(void **state)
{
    (void)state;
    bwc_hash pool = pool_ok(0x42, 7 * COIN, COIN, 10, -1);
    bwc_receipt r = mk_pool_rc(&pool, CAROL, ALICE, 1, MIB, 5000, -1);
    begin(10 + SETTLE + 1);
    assert_invalid(run_receipt(&r), "bad-receipt-closed");
    begin(10 + SETTLE);
    assert_string_equal(run_end(), "");
    begin(10 + SETTLE);
    assert_invalid(run_receipt(&r), "bad-receipt-closed");
}

/* ================================ end of block ================================ */

static void test_end_block_bad_producer(void **state)
{
    (void)state;
    bwc_state_begin_block(&ctx, &params, &chain_id, secp, NULL, 1, &bad_key);
    assert_invalid(run_end(), "bad-block-producer");
    unsigned char k[BWC_STATE_KEY_MAX];
    assert_null(raw_get(k, raw_key(k, 'a', bad_key.b, NULL, NULL)));
}

static void test_subsidy_halving_and_fees(void **state)
{
    (void)state;
    begin(HALVING - 1);
    bwc_hash ch = open_ok(ALICE, CAROL, 5 * COIN, HALVING + 50);
    assert_string_equal(run_end(), "");
    assert_int_equal(ctx.subsidy, SUBSIDY);
    assert_int_equal(balance(DAVE), SUBSIDY + MIN_FEE);
    /* The first halving: subsidy / 2 plus a transaction fee and a receipt fee. */
    begin(HALVING);
    bwc_tx tx = mk_transfer(ALICE, BOB, 1);
    tx.fee = 1234;
    sign_tx(&tx, ALICE);
    apply_ok(&tx);
    bwc_receipt r = mk_rc(&ch, 1, MIB, 7000, CAROL, ALICE);
    assert_string_equal(run_receipt(&r), "");
    assert_int_equal(ctx.fees, 1234);
    assert_int_equal(ctx.receipt_fees, RFEE);
    assert_string_equal(run_end(), "");
    assert_int_equal(ctx.subsidy, SUBSIDY / 2);
    assert_int_equal(balance(DAVE), SUBSIDY + MIN_FEE + SUBSIDY / 2 + 1234 + RFEE);
    begin(2 * HALVING + 17);
    assert_string_equal(run_end(), "");
    assert_int_equal(ctx.subsidy, SUBSIDY / 4);
    assert_int_equal(balance(DAVE), SUBSIDY + MIN_FEE + SUBSIDY / 2 + 1234 + RFEE + SUBSIDY / 4);
    assert_int_equal(ctx.subsidy, bwc_subsidy(&params, 2 * HALVING + 17));
}

static void test_zero_account_not_stored(void **state)
{
    (void)state;
    /* At k >= 64 halvings there is no subsidy: an empty block leaves the producer absent. */
    begin(64ull * HALVING);
    assert_string_equal(run_end(), "");
    assert_int_equal(ctx.subsidy, 0);
    unsigned char k[BWC_STATE_KEY_MAX];
    assert_null(raw_get(k, raw_key(k, 'a', pk[DAVE].b, NULL, NULL)));
    assert_int_equal(store.n, 3);
}

static void test_end_block_overflow(void **state)
{
    (void)state;
    const bwc_allocation a[] = {{pk[ALICE], 1000 * COIN}, {pk[DAVE], UINT64_MAX - SUBSIDY}};
    genesis_with(a, 2);
    bwc_tx tx = mk_transfer(ALICE, BOB, 1);
    apply_ok(&tx);
    assert_invalid(run_end(), "bad-block-overflow");
    begin(1);
    assert_string_equal(run_end(), "");
    assert_int_equal(balance(DAVE), UINT64_MAX);
    /* subsidy + fees + receipt fees past 2^64 - 1 before any balance is read. */
    setup(NULL);
    ctx.fees = UINT64_MAX - SUBSIDY;
    ctx.receipt_fees = 1;
    assert_invalid(run_end(), "bad-block-overflow");
}

static void test_channel_expiry_refund(void **state)
{
    (void)state;
    bwc_hash ch = open_ok(ALICE, CAROL, 5 * COIN, 10);
    bwc_receipt r = mk_rc(&ch, 1, MIB, 300000, CAROL, ALICE);
    assert_string_equal(run_receipt(&r), "");
    uint64_t before = 1000 * COIN - 5 * COIN - MIN_FEE;
    assert_int_equal(balance(ALICE), before);
    begin(10 + SETTLE - 1);
    assert_string_equal(run_end(), "");
    assert_int_equal(balance(ALICE), before);
    begin(10 + SETTLE);
    assert_string_equal(run_end(), "");
    assert_int_equal(balance(ALICE), before + 5 * COIN - 300000);
    assert_int_equal(balance(CAROL), 300000 - RFEE);
    bwc_channel c;
    assert_int_equal(bwc_state_channel(&view, &ch, &c), 1);
    assert_int_equal(c.closed, 10 + SETTLE);
    assert_int_equal(c.claimed, 300000);
    unsigned char k[BWC_STATE_KEY_MAX];
    assert_null(raw_get(k, due_key(k, 'y', 10 + SETTLE, -1)));
    assert_null(raw_get(k, due_key(k, 'x', 10 + SETTLE, 0)));
    /* Nothing is due twice. */
    begin(10 + SETTLE);
    assert_string_equal(run_end(), "");
    assert_int_equal(balance(ALICE), before + 5 * COIN - 300000);
}

static void test_pool_expiry_refund(void **state)
{
    (void)state;
    bwc_hash pool = pool_ok(0x42, 7 * COIN, COIN, 10, -1);
    bwc_hash ch = open_ok(ALICE, CAROL, COIN, 10); /* due at the same height */
    bwc_receipt r = mk_pool_rc(&pool, CAROL, BOB, 1, MIB, 250000, -1);
    assert_string_equal(run_receipt(&r), "");
    uint64_t org = 500 * COIN - 7 * COIN - 2 * MIN_FEE;
    assert_int_equal(balance(ORG), org);
    begin(10 + SETTLE);
    assert_string_equal(run_end(), "");
    assert_int_equal(balance(ORG), org + 7 * COIN - 250000);
    assert_int_equal(balance(ALICE), 1000 * COIN - MIN_FEE);
    bwc_pool p;
    assert_int_equal(bwc_state_pool(&view, &pool, &p), 1);
    assert_int_equal(p.balance, 0);
    assert_int_equal(p.amount, 7 * COIN);
    assert_int_equal(p.closed, 10 + SETTLE);
    bwc_channel c;
    assert_int_equal(bwc_state_channel(&view, &ch, &c), 1);
    assert_int_equal(c.closed, 10 + SETTLE);
}

static void test_refund_overflow(void **state)
{
    (void)state;
    const bwc_allocation a[] = {{pk[ALICE], 1ull << 40}, {pk[BOB], UINT64_MAX - 1000}};
    genesis_with(a, 2);
    open_ok(ALICE, CAROL, MIB, 10);
    uint64_t alice = (1ull << 40) - MIB - MIN_FEE;
    bwc_tx tx = mk_transfer(BOB, ALICE, UINT64_MAX - alice - 10);
    apply_ok(&tx);
    assert_int_equal(balance(ALICE), UINT64_MAX - 10);
    begin(10 + SETTLE);
    assert_invalid(run_end(), "bad-block-overflow");
}

/* ================================ deferred signatures ================================ */

typedef struct {
    bwc_pubkey pk;
    bwc_hash msg;
    bwc_sig sig;
    const char *reject;
} queued_sig;

typedef struct {
    queued_sig q[8];
    size_t n;
    int refuse;
} sig_queue;

static int queue_check(void *c, const bwc_pubkey *pkey, const bwc_hash *msg, const bwc_sig *sig,
                       const char *reject)
{
    sig_queue *s = c;
    assert_true(s->n < 8);
    s->q[s->n].pk = *pkey;
    s->q[s->n].msg = *msg;
    s->q[s->n].sig = *sig;
    s->q[s->n].reject = reject;
    s->n++;
    return !s->refuse;
}

static void assert_queued(const queued_sig *q, const bwc_pubkey *pkey, const bwc_hash *msg,
                          const char *reject, int valid)
{
    assert_memory_equal(q->pk.b, pkey->b, 32);
    assert_memory_equal(q->msg.b, msg->b, 32);
    assert_string_equal(q->reject, reject);
    assert_int_equal(bwc_verify(secp, &q->sig, &q->msg, &q->pk), valid);
}

static void test_deferred_sigs_queued(void **state)
{
    (void)state;
    bwc_hash pool = pool_ok(0x42, 7 * COIN, COIN, 50, TICKETS);
    bwc_hash ch = open_ok(ALICE, CAROL, COIN, 50);
    sig_queue q = {.n = 0, .refuse = 0};
    bwc_sig_checker checker = {&q, queue_check};
    bwc_state_begin_block(&ctx, &params, &chain_id, secp, &checker, 1, &pk[DAVE]);
    /* A bad signature passes for now: the checker owns the verdict. */
    bwc_tx tx = mk_transfer(ALICE, BOB, 5);
    sign_tx(&tx, BOB);
    assert_string_equal(run_tx(&tx), "");
    assert_int_equal(q.n, 1);
    bwc_hash id = txid_of(&tx);
    assert_queued(&q.q[0], &pk[ALICE], &id, "bad-tx-sig", 0);
    /* A channel receipt queues the relay's and the consumer's. */
    bwc_receipt r = mk_rc(&ch, 1, MIB, 5000, CAROL, ALICE);
    assert_string_equal(run_receipt(&r), "");
    bwc_hash rid;
    bwc_receipt_id(&chain_id, &r, &rid);
    assert_int_equal(q.n, 3);
    assert_queued(&q.q[1], &pk[CAROL], &rid, "bad-receipt-relay-sig", 1);
    assert_queued(&q.q[2], &pk[ALICE], &rid, "bad-receipt-consumer-sig", 1);
    /* A pool receipt queues the ticket too. */
    r = mk_pool_rc(&pool, CAROL, BOB, 1, MIB, 5000, TICKETS);
    assert_string_equal(run_receipt(&r), "");
    bwc_receipt_id(&chain_id, &r, &rid);
    bwc_hash tmsg;
    bwc_ticket_msg(&chain_id, &pool, &pk[BOB], &tmsg);
    assert_int_equal(q.n, 6);
    assert_queued(&q.q[3], &pk[TICKETS], &tmsg, "bad-receipt-ticket", 1);
    assert_queued(&q.q[4], &pk[CAROL], &rid, "bad-receipt-relay-sig", 1);
    assert_queued(&q.q[5], &pk[BOB], &rid, "bad-receipt-consumer-sig", 1);
}

static void test_deferred_sigs_refused(void **state)
{
    (void)state;
    bwc_hash ch = open_ok(ALICE, CAROL, COIN, 50);
    sig_queue q = {.n = 0, .refuse = 1};
    bwc_sig_checker checker = {&q, queue_check};
    bwc_state_begin_block(&ctx, &params, &chain_id, secp, &checker, 1, &pk[DAVE]);
    bwc_tx tx = mk_transfer(ALICE, BOB, 5); /* correctly signed, yet the checker says no */
    assert_invalid(run_tx(&tx), "bad-tx-sig");
    assert_int_equal(q.n, 1);
    bwc_receipt r = mk_rc(&ch, 1, MIB, 5000, CAROL, ALICE);
    assert_invalid(run_receipt(&r), "bad-receipt-relay-sig");
    r = mk_rc(&ch, 1, MIB, 5000, -1, ALICE);
    assert_invalid(run_receipt_opt(&r, 0), "bad-receipt-consumer-sig");
    assert_int_equal(q.n, 3);
    assert_int_equal(balance(BOB), 10 * COIN);
}

/* ================================ storage ================================ */

static void test_storage_errors(void **state)
{
    (void)state;
    bwc_tx tx = mk_transfer(ALICE, BOB, 5);
    bwc_hash id = txid_of(&tx);
    bwc_account a;
    store.fail_get = 1;
    assert_false(bwc_state_apply_tx(&view, &ctx, &tx, &id, &res));
    assert_int_equal(res.code, BWC_RESULT_ERROR);
    assert_string_equal(res.reject, "state-storage");
    assert_int_equal(bwc_state_account(&view, &pk[ALICE], &a), -1);
    assert_false(bwc_state_end_block(&view, &ctx, &res));
    assert_string_equal(res.reject, "state-storage");
    store.fail_get = 0;
    store.fail_put = 1;
    assert_false(bwc_state_apply_tx(&view, &ctx, &tx, &id, &res));
    assert_int_equal(res.code, BWC_RESULT_ERROR);
    assert_string_equal(res.reject, "state-storage");
    assert_int_equal(ctx.fees, 0);
    store.fail_put = 0;
    assert_int_equal(bwc_state_account(&view, &pk[ALICE], &a), 1);
    assert_int_equal(a.balance, 1000 * COIN);
}

static void test_corrupt_records(void **state)
{
    (void)state;
    unsigned char k[BWC_STATE_KEY_MAX];
    bwc_account a;
    bwc_tx tx = mk_transfer(ALICE, BOB, 5);
    /* A bare uint where an account map belongs. */
    raw_put(k, raw_key(k, 'a', pk[ALICE].b, NULL, NULL), "\x01", 1);
    assert_string_equal(run_tx(&tx), "state-corrupt");
    assert_int_equal(res.code, BWC_RESULT_ERROR);
    assert_int_equal(bwc_state_account(&view, &pk[ALICE], &a), -1);
    assert_int_equal(a.balance, 0);
    /* {0: 1, 1: 0, 2: 0, 3: 0, 4: 0}: an unknown key. */
    raw_put(k, raw_key(k, 'a', pk[ALICE].b, NULL, NULL),
            "\xa5\x00\x01\x01\x00\x02\x00\x03\x00\x04\x00", 11);
    assert_string_equal(run_tx(&tx), "state-corrupt");
    /* {0: 1, 1: 0, 2: 0}: a missing key. */
    raw_put(k, raw_key(k, 'a', pk[ALICE].b, NULL, NULL), "\xa3\x00\x01\x01\x00\x02\x00", 7);
    assert_string_equal(run_tx(&tx), "state-corrupt");
    /* A non-shortest uint. */
    raw_put(k, raw_key(k, 'a', pk[ALICE].b, NULL, NULL), "\xa4\x00\x18\x01\x01\x00\x02\x00\x03\x00",
            10);
    assert_string_equal(run_tx(&tx), "state-corrupt");
    raw_put(k, raw_key(k, 'a', pk[ALICE].b, NULL, NULL), "\xa4\x00\x01\x01\x00\x02\x00\x03\x00", 9);
    assert_string_equal(run_tx(&tx), "bad-tx-insufficient-funds");
    /* A closing count that is a map, and a closing entry of the wrong kind. */
    begin(50);
    raw_put(k, due_key(k, 'y', 50, -1), "\xa0", 1);
    assert_string_equal(run_end(), "state-corrupt");
    assert_int_equal(res.code, BWC_RESULT_ERROR);
    unsigned char entry[33] = {'z'};
    raw_put(k, due_key(k, 'y', 50, -1), "\x01", 1);
    raw_put(k, due_key(k, 'x', 50, 0), entry, sizeof entry);
    assert_string_equal(run_end(), "state-corrupt");
    /* A closing naming a channel that does not exist. */
    entry[0] = 'c';
    raw_put(k, due_key(k, 'x', 50, 0), entry, sizeof entry);
    assert_string_equal(run_end(), "state-corrupt");
    /* A claimed total that is not a uint. */
    bwc_hash pool = pool_ok(0x42, COIN, COIN, 60, -1);
    raw_put(k, raw_key(k, 'q', pool.b, pk[ALICE].b, NULL), "\x40", 1);
    bwc_receipt r = mk_pool_rc(&pool, CAROL, ALICE, 1, MIB, 5000, -1);
    assert_string_equal(run_receipt(&r), "state-corrupt");
    uint64_t total = 7;
    assert_int_equal(bwc_state_pool_claimed(&view, &pool, &pk[ALICE], &total), -1);
    assert_int_equal(total, 0);
}

static void test_record_decoders(void **state)
{
    (void)state;
    unsigned char k[BWC_STATE_KEY_MAX], buf[BWC_STATE_KEY_MAX + 1024];
    bwc_hash ch = open_ok(ALICE, CAROL, COIN, 50);
    bwc_hash pool = pool_ok(0x42, COIN, COIN, 60, TICKETS);
    bwc_tx tx = mk_announce(ALICE, 3);
    apply_ok(&tx);
    const mem_entry *e = raw_get(k, raw_key(k, 'c', ch.b, NULL, NULL));
    assert_non_null(e);
    bwc_channel c;
    assert_true(bwc_channel_decode(&c, e->val, e->vlen));
    assert_int_equal(c.deposit, COIN);
    memcpy(buf, e->val, e->vlen);
    buf[e->vlen] = 0x00;
    assert_false(bwc_channel_decode(&c, buf, e->vlen + 1)); /* trailing byte */
    assert_int_equal(c.deposit, 0);                         /* zeroed on failure */
    assert_false(bwc_channel_decode(&c, buf, e->vlen - 1)); /* truncated */
    e = raw_get(k, raw_key(k, 'p', pool.b, NULL, NULL));
    bwc_pool p;
    assert_true(bwc_pool_decode(&p, e->val, e->vlen));
    assert_int_equal(p.has_ticket_key, 1);
    assert_false(bwc_channel_decode(&c, e->val, e->vlen)); /* a pool is not a channel */
    e = raw_get(k, raw_key(k, 'r', pk[ALICE].b, NULL, NULL));
    bwc_relay rl;
    assert_true(bwc_relay_decode(&rl, e->val, e->vlen));
    assert_int_equal(rl.ann.price, 3);
    bwc_hash cid = content_id(0x42);
    e = raw_get(k, raw_key(k, 'n', cid.b, NULL, NULL));
    bwc_content cn;
    assert_true(bwc_content_decode(&cn, e->val, e->vlen));
    assert_int_equal(cn.chunk_size, 256 * 1024);
    assert_false(bwc_content_decode(&cn, NULL, 0));
}

/* ================================ conservation ================================ */

/* Every unit is in a balance, an open channel's unclaimed deposit or an open pool. */
static uint64_t total_supply(void)
{
    unsigned __int128 sum = 0;
    for (size_t i = 0; i < store.n; i++) {
        const mem_entry *e = &store.e[i];
        if (e->key[0] == 'a') {
            bwc_pubkey who;
            bwc_account a;
            memcpy(who.b, e->key + 1, 32);
            assert_int_equal(bwc_state_account(&view, &who, &a), 1);
            sum += a.balance;
        } else if (e->key[0] == 'c') {
            bwc_channel c;
            assert_true(bwc_channel_decode(&c, e->val, e->vlen));
            if (!c.closed)
                sum += c.deposit - c.claimed;
        } else if (e->key[0] == 'p') {
            bwc_pool p;
            assert_true(bwc_pool_decode(&p, e->val, e->vlen));
            assert_true(p.balance <= p.amount);
            if (!p.closed)
                sum += p.balance;
            else
                assert_int_equal(p.balance, 0);
        }
    }
    assert_true(sum <= UINT64_MAX);
    return (uint64_t)sum;
}

static void test_conservation(void **state)
{
    (void)state;
    const uint64_t genesis = 1510 * COIN;
    uint64_t minted = 0;
    assert_int_equal(total_supply(), genesis);
    /* Block 1: transfers, a relay, channels, a content and a pool. */
    bwc_tx tx = mk_transfer(ALICE, BOB, 3 * COIN);
    apply_ok(&tx);
    tx = mk_transfer(BOB, ERIN, COIN);
    apply_ok(&tx);
    tx = mk_announce(CAROL, PRICE);
    assert_invalid(run_tx(&tx), "bad-tx-insufficient-funds");
    bwc_hash ch1 = open_ok(ALICE, CAROL, 2 * COIN, 5);
    bwc_hash ch2 = open_ok(BOB, ERIN, COIN, 8);
    bwc_hash pool = pool_ok(0x42, 3 * COIN, COIN, 6, -1);
    minted += next_block();
    assert_int_equal(total_supply(), genesis + minted);
    /* Block 2: receipts on both channels and the pool, and a transfer. */
    bwc_receipt r = mk_rc(&ch1, 1, 10 * MIB, 9000000, CAROL, ALICE);
    assert_string_equal(run_receipt(&r), "");
    r = mk_rc(&ch2, 1, MIB, 700000, ERIN, BOB);
    assert_string_equal(run_receipt(&r), "");
    r = mk_pool_rc(&pool, CAROL, ALICE, 1, 3 * MIB, 2500000, -1);
    assert_string_equal(run_receipt(&r), "");
    r = mk_pool_rc(&pool, ERIN, BOB, 1, 2 * MIB, 1200000, -1);
    assert_string_equal(run_receipt(&r), "");
    tx = mk_transfer(CAROL, DAVE, 1000000);
    apply_ok(&tx);
    minted += next_block();
    assert_int_equal(total_supply(), genesis + minted);
    /* Through every refund: channel 1 at 105, the pool at 106, channel 2 at 108. */
    while (ctx.height <= 110) {
        if (ctx.height == 50) {
            r = mk_rc(&ch2, 2, 2 * MIB, 1800000, ERIN, BOB);
            assert_string_equal(run_receipt(&r), "");
        }
        minted += next_block();
        assert_int_equal(total_supply(), genesis + minted);
    }
    bwc_channel c;
    bwc_pool p;
    assert_int_equal(bwc_state_channel(&view, &ch1, &c), 1);
    assert_int_equal(c.closed, 105);
    assert_int_equal(bwc_state_channel(&view, &ch2, &c), 1);
    assert_int_equal(c.closed, 108);
    assert_int_equal(bwc_state_pool(&view, &pool, &p), 1);
    assert_int_equal(p.closed, 106);
    assert_int_equal(minted, 110 * SUBSIDY);
    /* Nothing is locked any more: every unit is in a balance. */
    uint64_t sum = 0;
    for (int i = 0; i < N_KEYS; i++)
        sum += balance(i);
    assert_int_equal(sum, genesis + minted);
    assert_int_equal(balance(CAROL), 9000000 - RFEE + 2500000 - RFEE - 1000000 - MIN_FEE);
    assert_int_equal(balance(ERIN), COIN + 1800000 - 2 * RFEE + 1200000 - RFEE);
}

/* ======================= bwc_receipt_check_offchain (a relay's checks) ======================= */

/* Runs the relay-side check for relay at the current block's height; "" when it passes. */
static const char *offchain(const bwc_receipt *r, int relay, bwc_receipt_terms *terms)
{
    bwc_hash rid;
    bwc_receipt_terms t;
    bwc_receipt_id(&chain_id, r, &rid);
    int ok = bwc_receipt_check_offchain(&view, &params, &chain_id, secp, ctx.height, &pk[relay], r,
                                        &rid, terms ? terms : &t, &res);
    if (ok) {
        assert_int_equal(res.code, BWC_RESULT_OK);
        return "";
    }
    assert_int_not_equal(res.code, BWC_RESULT_OK);
    return res.reject;
}

static void test_offchain_channel_ok(void **state)
{
    (void)state;
    bwc_hash ch = open_ok(ALICE, CAROL, COIN, 50);
    /* Consumer-signed only: relay_sig is not needed (nor checked) off chain. */
    bwc_receipt r = mk_rc(&ch, 1, MIB, PRICE, -1, ALICE);
    bwc_receipt_terms t;
    assert_string_equal(offchain(&r, CAROL, &t), "");
    assert_int_equal(t.price, PRICE);
    assert_int_equal(t.limit, COIN);
    assert_int_equal(t.expiry, 50);
    assert_int_equal(t.claimed, 0);
    assert_int_equal(t.seq, 0);
    assert_memory_equal(t.consumer.b, pk[ALICE].b, 32);
    /* An early receipt below one receipt_fee passes: it settles once it grows. */
    r = mk_rc(&ch, 1, 10, 1, -1, ALICE);
    assert_string_equal(offchain(&r, CAROL, NULL), "");
    /* A wrong relay_sig is not looked at either. */
    r = mk_rc(&ch, 1, MIB, 5000, ERIN, ALICE);
    assert_string_equal(offchain(&r, CAROL, NULL), "");
    /* Nothing was written. */
    bwc_channel c;
    assert_int_equal(bwc_state_channel(&view, &ch, &c), 1);
    assert_int_equal(c.seq, 0);
    assert_int_equal(c.claimed, 0);
    /* After a settled receipt the terms carry the chain's seq and claimed. */
    r = mk_rc(&ch, 3, MIB, 5000, CAROL, ALICE);
    assert_string_equal(run_receipt(&r), "");
    r = mk_rc(&ch, 4, 2 * MIB, 9000, -1, ALICE);
    assert_string_equal(offchain(&r, CAROL, &t), "");
    assert_int_equal(t.seq, 3);
    assert_int_equal(t.claimed, 5000);
    /* seq and bytes against the chain are the relay's to judge, not this check's. */
    r = mk_rc(&ch, 2, MIB - 1, 9000, -1, ALICE);
    assert_string_equal(offchain(&r, CAROL, NULL), "");
}

static void test_offchain_channel_rejects(void **state)
{
    (void)state;
    bwc_hash ch = open_ok(ALICE, CAROL, COIN, 50);
    bwc_hash none;
    memset(none.b, 0x77, sizeof none.b);
    bwc_receipt r = mk_rc(&none, 1, MIB, 5000, -1, ALICE);
    assert_invalid(offchain(&r, CAROL, NULL), "bad-receipt-unknown-channel");
    r = mk_rc(&ch, 1, MIB, 5000, -1, ALICE);
    assert_invalid(offchain(&r, ERIN, NULL), "bad-receipt-wrong-relay");
    r = mk_rc(&ch, 1, MIB, 5000, -1, BOB); /* signed by someone else */
    assert_invalid(offchain(&r, CAROL, NULL), "bad-receipt-consumer-sig");
    r = mk_rc(&ch, 1, MIB, 5000, -1, CAROL); /* by the relay itself */
    assert_invalid(offchain(&r, CAROL, NULL), "bad-receipt-consumer-sig");
    r = rc_base(&ch, 1, 2 * MIB, 2 * PRICE + 1);
    sign_receipt(&r, -1, ALICE);
    assert_invalid(offchain(&r, CAROL, NULL), "bad-receipt-over-price");
    r = mk_rc(&ch, 1, 2 * MIB, 2 * PRICE, -1, ALICE);
    assert_string_equal(offchain(&r, CAROL, NULL), "");
    r = mk_rc(&ch, 1, 2000 * MIB, COIN + 1, -1, ALICE);
    assert_invalid(offchain(&r, CAROL, NULL), "bad-receipt-over-deposit");
    r = mk_rc(&ch, 1, 2000 * MIB, COIN, -1, ALICE);
    assert_string_equal(offchain(&r, CAROL, NULL), "");
    /* A channel receipt carrying a ticket. */
    r = rc_base(&ch, 1, MIB, 5000);
    r.has_ticket = 1;
    sign_receipt(&r, -1, ALICE);
    assert_invalid(offchain(&r, CAROL, NULL), "bad-receipt-ticket-unexpected");
    /* The settle window: accepted at expiry + settle_window, not after. */
    r = mk_rc(&ch, 1, MIB, 5000, -1, ALICE);
    begin(50 + SETTLE);
    assert_string_equal(offchain(&r, CAROL, NULL), "");
    begin(50 + SETTLE + 1);
    assert_invalid(offchain(&r, CAROL, NULL), "bad-receipt-closed");
    /* Refunded (closed) channels too, at any height. */
    begin(50 + SETTLE);
    assert_string_equal(run_end(), "");
    begin(50 + SETTLE);
    assert_invalid(offchain(&r, CAROL, NULL), "bad-receipt-closed");
    /* A pool id in a channel receipt is an unknown channel. */
    setup(NULL);
    bwc_hash pool = pool_ok(0x42, COIN, COIN, 50, -1);
    r = mk_rc(&pool, 1, MIB, 5000, -1, ALICE);
    assert_invalid(offchain(&r, CAROL, NULL), "bad-receipt-unknown-channel");
}

static void test_offchain_pool(void **state)
{
    (void)state;
    bwc_hash pool = pool_ok(0x42, 7 * COIN, 3000, 50, TICKETS);
    bwc_receipt_terms t;
    bwc_receipt r = mk_pool_rc(&pool, CAROL, ALICE, 1, MIB, 2000, TICKETS);
    r.has_relay_sig = 0;
    assert_string_equal(offchain(&r, CAROL, &t), "");
    assert_int_equal(t.price, PRICE);
    assert_int_equal(t.limit, 3000);
    assert_int_equal(t.expiry, 50);
    assert_int_equal(t.claimed, 0);
    assert_memory_equal(t.consumer.b, pk[ALICE].b, 32);
    /* The relay named in the receipt must be the one checking. */
    assert_invalid(offchain(&r, ERIN, NULL), "bad-receipt-wrong-relay");
    /* Tickets. */
    r = mk_pool_rc(&pool, CAROL, ALICE, 1, MIB, 2000, -1);
    assert_invalid(offchain(&r, CAROL, NULL), "bad-receipt-ticket-missing");
    r = mk_pool_rc(&pool, CAROL, ALICE, 1, MIB, 2000, ORG);
    assert_invalid(offchain(&r, CAROL, NULL), "bad-receipt-ticket");
    r = mk_pool_rc(&pool, CAROL, ALICE, 1, MIB, 2000, TICKETS);
    sign_receipt(&r, -1, BOB);
    assert_invalid(offchain(&r, CAROL, NULL), "bad-receipt-consumer-sig");
    bwc_hash open_pool = pool_ok(0x43, 7 * COIN, 3000, 50, -1);
    r = mk_pool_rc(&open_pool, CAROL, ALICE, 1, MIB, 2000, TICKETS);
    assert_invalid(offchain(&r, CAROL, NULL), "bad-receipt-ticket-unexpected");
    /* The cap: what Alice drew through Erin is spent; her room is the rest. */
    r = mk_pool_rc(&pool, ERIN, ALICE, 1, MIB, 1000, TICKETS);
    assert_string_equal(run_receipt(&r), "");
    r = mk_pool_rc(&pool, CAROL, ALICE, 1, MIB, 2001, TICKETS);
    assert_invalid(offchain(&r, CAROL, NULL), "bad-receipt-over-cap");
    r = mk_pool_rc(&pool, CAROL, ALICE, 1, MIB, 2000, TICKETS);
    assert_string_equal(offchain(&r, CAROL, &t), "");
    assert_int_equal(t.limit, 2000);
    /* Erin's own lane: its claimed counts for its own room. */
    r = mk_pool_rc(&pool, ERIN, ALICE, 2, 2 * MIB, 3000, TICKETS);
    assert_string_equal(offchain(&r, ERIN, &t), "");
    assert_int_equal(t.limit, 3000);
    assert_int_equal(t.claimed, 1000);
    assert_int_equal(t.seq, 1);
    r = mk_pool_rc(&pool, CAROL, ALICE, 1, 2 * MIB / 1000, PRICE, TICKETS);
    assert_invalid(offchain(&r, CAROL, NULL), "bad-receipt-over-cap");
    /* ceil(1000 x PRICE / 2^20) = 954 */
    r = mk_pool_rc(&open_pool, CAROL, ALICE, 1, 1000, 955, -1);
    assert_invalid(offchain(&r, CAROL, NULL), "bad-receipt-over-price");
    /* Unknown and closed pools. */
    bwc_hash none;
    memset(none.b, 0x66, sizeof none.b);
    r = mk_pool_rc(&none, CAROL, ALICE, 1, MIB, 2000, -1);
    assert_invalid(offchain(&r, CAROL, NULL), "bad-receipt-unknown-channel");
    r = mk_pool_rc(&open_pool, CAROL, ALICE, 1, MIB, 2000, -1);
    begin(50 + SETTLE + 1);
    assert_invalid(offchain(&r, CAROL, NULL), "bad-receipt-closed");
}

static void test_offchain_storage(void **state)
{
    (void)state;
    bwc_hash ch = open_ok(ALICE, CAROL, COIN, 50);
    bwc_receipt r = mk_rc(&ch, 1, MIB, 5000, -1, ALICE);
    store.fail_get = 1;
    assert_string_equal(offchain(&r, CAROL, NULL), "state-storage");
    assert_int_equal(res.code, BWC_RESULT_ERROR);
    store.fail_get = 0;
    /* A channel record that does not decode. */
    unsigned char k[BWC_STATE_KEY_MAX];
    size_t kn = raw_key(k, 'c', ch.b, NULL, NULL);
    raw_put(k, kn, "\xa0", 1);
    assert_string_equal(offchain(&r, CAROL, NULL), "state-corrupt");
    assert_int_equal(res.code, BWC_RESULT_ERROR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
        T(test_genesis_credits_allocations),
        T(test_genesis_supply_overflow),
        T(test_transfer),
        T(test_transfer_to_self),
        T(test_tx_bad_sig),
        T(test_tx_fee_below_min),
        T(test_tx_wrong_nonce),
        T(test_tx_insufficient_funds),
        T(test_tx_overflow_recipient),
        T(test_tx_overflow_fees),
        T(test_tx_bad_keys),
        T(test_tx_unknown_type),
        T(test_channel_open),
        T(test_channel_open_expiry),
        T(test_channel_open_insufficient_funds),
        T(test_content_register),
        T(test_content_exists),
        T(test_relay_announce),
        T(test_relay_retire),
        T(test_sponsor),
        T(test_sponsor_rejects),
        T(test_receipt),
        T(test_receipt_relay_sig_missing),
        T(test_receipt_unknown_channel),
        T(test_receipt_stale_seq),
        T(test_receipt_bytes_down),
        T(test_receipt_over_deposit),
        T(test_receipt_over_price),
        T(test_receipt_amount_below_fee),
        T(test_receipt_after_settle_window),
        T(test_receipt_refunded_channel),
        T(test_receipt_wrong_signers),
        T(test_receipt_overflow),
        T(test_pool_receipt),
        T(test_pool_lane_rules),
        T(test_pool_signers),
        T(test_pool_cap),
        T(test_pool_exhausted),
        T(test_pool_ticket),
        T(test_pool_closed),
        T(test_end_block_bad_producer),
        T(test_subsidy_halving_and_fees),
        T(test_zero_account_not_stored),
        T(test_end_block_overflow),
        T(test_channel_expiry_refund),
        T(test_pool_expiry_refund),
        T(test_refund_overflow),
        T(test_deferred_sigs_queued),
        T(test_deferred_sigs_refused),
        T(test_storage_errors),
        T(test_corrupt_records),
        T(test_record_decoders),
        T(test_conservation),
        T(test_offchain_channel_ok),
        T(test_offchain_channel_rejects),
        T(test_offchain_pool),
        T(test_offchain_storage),
#undef T
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
