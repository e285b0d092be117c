/* test_chain.c: the chain manager over a real LevelDB: connecting, reorganising with undo data
 * (both engines), PoA finality, invalid branches, orphans, reopening and -reindex. */
#include "tests/unit/unit.h"

#include <stdlib.h>
#include <unistd.h>

#include "chainspec/chainspec.h"
#include "consensus/engine.h"
#include "consensus/key.h"
#include "consensus/state.h"
#include "node/chain.h"
#include "node/miner.h"
#include "node/store.h"

typedef struct {
    bwc_chainspec spec;
    secp256k1_context *secp;
    char dir[64];
    bwc_store *store;
    bwc_chain chain;
    int disconnected;
} fixture;

static void on_disconnected(void *ctx, const bwc_index *idx, const bwc_block *b)
{
    (void)idx, (void)b;
    ((fixture *)ctx)->disconnected++;
}

static void open_at(fixture *f, const char *dir, int reindex)
{
    char err[256];
    f->store = bwc_store_open(dir, err, sizeof err);
    assert_non_null(f->store);
    assert_int_equal(bwc_chain_open(&f->chain, f->store, &f->spec.params, f->secp, 2, reindex, err,
                                    sizeof err),
                     0);
    f->chain.listener = (bwc_chain_listener){f, NULL, on_disconnected};
}

static void close_chain(fixture *f)
{
    bwc_chain_close(&f->chain);
    bwc_store_close(f->store);
    f->store = NULL;
}

static fixture *fixture_new(const char *chain)
{
    fixture *f = calloc(1, sizeof *f);
    char err[256];
    assert_non_null(f);
    assert_int_equal(bwc_chainspec_load_named(&f->spec, chain, err, sizeof err), 0);
    f->secp = bwc_secp_create(NULL);
    snprintf(f->dir, sizeof f->dir, "/tmp/bwc-test-chain-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    open_at(f, f->dir, 0);
    return f;
}

static void fixture_free(fixture *f)
{
    char cmd[128];
    if (f->store)
        close_chain(f);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    bwc_secp_destroy(f->secp);
    bwc_chainspec_free(&f->spec);
    free(f);
}

static void secret(unsigned char sk[32], unsigned char last)
{
    memset(sk, 0, 32);
    sk[31] = last;
}

static bwc_pubkey pubkey_of(fixture *f, unsigned char last)
{
    unsigned char sk[32];
    bwc_pubkey pk;
    secret(sk, last);
    assert_true(bwc_key_pubkey(f->secp, &pk, sk));
    return pk;
}

/* A signed transfer from the dev key `from` (secret 0x..from). */
static bwc_tx transfer(fixture *f, unsigned char from, uint64_t nonce, unsigned char to,
                       uint64_t amount)
{
    bwc_tx tx;
    unsigned char sk[32], aux[32] = {0};
    bwc_hash txid;
    memset(&tx, 0, sizeof tx);
    tx.type = BWC_TX_TRANSFER;
    tx.from = pubkey_of(f, from);
    tx.nonce = nonce;
    tx.fee = f->spec.params.min_fee;
    tx.body.transfer.to = pubkey_of(f, to);
    tx.body.transfer.amount = amount;
    bwc_tx_id(&f->chain.chain_id, &tx, &txid);
    secret(sk, from);
    assert_true(bwc_sign(f->secp, &tx.sig, sk, &txid, aux));
    return tx;
}

/* Builds, seals and encodes a block on parent: pow blocks are ground, poa blocks are signed by
 * the authority of the first slot after the parent's that gap slots skip. */
static void make_block(fixture *f, const bwc_index *parent, unsigned char producer, int gap,
                       bwc_tx *txs, size_t n_txs, bwc_buf *out)
{
    const bwc_params *p = &f->spec.params;
    bwc_block b;
    memset(&b, 0, sizeof b);
    b.txs = txs;
    b.n_txs = n_txs;
    bwc_header *h = &b.header;
    h->version = 1;
    h->height = parent->height + 1;
    h->prev = parent->id;
    if (p->engine == BWC_ENGINE_POW) {
        h->time = parent->header.time + 1 + (uint64_t)gap;
        h->producer = pubkey_of(f, producer);
        h->has_pow = 1;
        h->target = bwc_asert_next_compact(p, parent->height, parent->header.time);
    } else {
        uint64_t slot = parent->header.time / p->poa.slot_seconds + 1 + (uint64_t)gap;
        h->time = slot * p->poa.slot_seconds;
        assert_true(bwc_poa_expected_producer(p, h->time, &h->producer));
    }
    assert_true(bwc_block_roots(&b, &h->tx_root, &h->receipt_root));
    if (p->engine == BWC_ENGINE_POW) {
        assert_true(bwc_miner_grind(h, 1u << 20));
    } else {
        /* poa-example's authorities are the keys 0x..11, 0x..12, 0x..13. */
        unsigned char sk[32];
        int found = 0;
        for (unsigned char k = 0x11; k <= 0x13; k++) {
            bwc_pubkey pk = pubkey_of(f, k);
            if (memcmp(&pk, &h->producer, 32) == 0) {
                secret(sk, k);
                found = 1;
            }
        }
        assert_true(found);
        assert_true(bwc_miner_sign(f->secp, h, sk));
    }
    bwc_buf_reset(out);
    assert_true(bwc_block_encode(&b, out));
}

/* Submits a chain of n blocks on parent and returns its tip's id. tx_at puts one transfer in
 * the block at that position (-1: none). */
static bwc_hash extend(fixture *f, const bwc_index *parent, size_t n, unsigned char producer,
                       int gap, int tx_at, bwc_tx *tx, bwc_submit_status expect)
{
    bwc_buf buf = BWC_BUF_INIT;
    bwc_hash id;
    memset(&id, 0, sizeof id);
    for (size_t i = 0; i < n; i++) {
        bwc_result res;
        make_block(f, parent, producer, i == 0 ? gap : 0, (int)i == tx_at ? tx : NULL,
                   (int)i == tx_at ? 1 : 0, &buf);
        bwc_submit_status st = bwc_chain_submit(&f->chain, buf.data, buf.len, UINT64_MAX / 2,
                                                &id, &res);
        if (i + 1 == n)
            assert_int_equal(st, expect);
        else
            assert_int_equal(st, BWC_SUBMIT_ACCEPTED);
        parent = bwc_chain_find(&f->chain, &id);
        assert_non_null(parent);
    }
    bwc_buf_free(&buf);
    return id;
}

/* Everything derived from the best chain: the store without block bodies and index entries
 * (which keep every branch), as one byte string of sorted key/value pairs. */
static int dump_entry(void *ctx, const unsigned char *k, size_t kl, const unsigned char *v,
                      size_t vl)
{
    bwc_buf *out = ctx;
    if (k[0] == BWC_K_BLOCK || k[0] == BWC_K_INDEX)
        return 0;
    unsigned char len[8];
    bwc_put_u32be(len, (uint32_t)kl);
    bwc_put_u32be(len + 4, (uint32_t)vl);
    bwc_buf_append(out, len, 8);
    bwc_buf_append(out, k, kl);
    bwc_buf_append(out, v, vl);
    return 0;
}

static void dump_state(fixture *f, bwc_buf *out)
{
    bwc_buf_reset(out);
    assert_int_equal(bwc_store_scan(f->store, "", 0, 0, dump_entry, out), 0);
    assert_false(out->oom);
}

static uint64_t balance(fixture *f, unsigned char who)
{
    bwc_state_view v = bwc_chain_view(&f->chain);
    bwc_account a;
    bwc_pubkey pk = pubkey_of(f, who);
    assert_true(bwc_state_account(&v, &pk, &a) >= 0);
    return a.balance;
}

/* Replays the blocks of f's best chain into a fresh store: the state of applying that chain
 * from genesis. */
static void replay_best_chain(fixture *f, bwc_buf *out)
{
    fixture *g = fixture_new(f->spec.name);
    bwc_buf raw = BWC_BUF_INIT;
    for (uint64_t h = 1; h <= bwc_chain_height(&f->chain); h++) {
        bwc_result res;
        bwc_buf_reset(&raw);
        assert_int_equal(bwc_chain_read_block(&f->chain, &bwc_chain_at(&f->chain, h)->id, &raw,
                                              NULL),
                         0);
        assert_int_equal(bwc_chain_submit(&g->chain, raw.data, raw.len, UINT64_MAX / 2, NULL,
                                          &res),
                         BWC_SUBMIT_ACCEPTED);
    }
    assert_int_equal(bwc_chain_height(&g->chain), bwc_chain_height(&f->chain));
    dump_state(g, out);
    bwc_buf_free(&raw);
    fixture_free(g);
}

static void assert_state_is_best_chain_replayed(fixture *f)
{
    bwc_buf a = BWC_BUF_INIT, b = BWC_BUF_INIT;
    dump_state(f, &a);
    replay_best_chain(f, &b);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    bwc_buf_free(&a);
    bwc_buf_free(&b);
}

/* The secret byte of the key that produced x (dev producers are 3 and 4; PoA authorities
 * 0x11-0x13). */
static unsigned char producer_key(fixture *f, const bwc_index *x)
{
    for (unsigned k = 1; k <= 0x13; k++) {
        bwc_pubkey pk = pubkey_of(f, (unsigned char)k);
        if (memcmp(&pk, &x->header.producer, 32) == 0)
            return (unsigned char)k;
    }
    fail();
    return 0;
}

/* Chain A (3 blocks, a transfer to key 5) loses to chain B (4 blocks, a transfer to key 6):
 * the state after the reorganisation equals B applied from genesis and A's transfer is undone.
 * Each transfer is paid from the subsidy of its branch's first block, so it exists on one
 * branch only, on either engine. */
static void reorg_to_heavier(const char *chainspec)
{
    fixture *f = fixture_new(chainspec);
    const bwc_index *genesis = bwc_chain_tip(&f->chain);
    bwc_hash a1 = extend(f, genesis, 1, 3, 0, -1, NULL, BWC_SUBMIT_ACCEPTED);
    const bwc_index *ia1 = bwc_chain_find(&f->chain, &a1);
    unsigned char pa = producer_key(f, ia1);
    bwc_tx ta = transfer(f, pa, 0, 5, 7 * BWC_UNITS_PER_COIN);
    bwc_hash a = extend(f, ia1, 2, 3, 0, 0, &ta, BWC_SUBMIT_ACCEPTED);
    assert_memory_equal(&bwc_chain_tip(&f->chain)->id, &a, 32);
    assert_int_equal(balance(f, 5), 7 * BWC_UNITS_PER_COIN);
    assert_state_is_best_chain_replayed(f);

    /* B's third block ties with A: the first seen stays best; the fourth wins. */
    bwc_hash b1 = extend(f, genesis, 1, 4, 1, -1, NULL, BWC_SUBMIT_ACCEPTED);
    const bwc_index *ib1 = bwc_chain_find(&f->chain, &b1);
    bwc_tx tb = transfer(f, producer_key(f, ib1), 0, 6, 9 * BWC_UNITS_PER_COIN);
    bwc_hash b = extend(f, ib1, 2, 4, 0, 1, &tb, BWC_SUBMIT_ACCEPTED);
    assert_memory_equal(&bwc_chain_tip(&f->chain)->id, &a, 32);
    assert_int_equal(f->disconnected, 0);
    b = extend(f, bwc_chain_find(&f->chain, &b), 1, 4, 0, -1, NULL, BWC_SUBMIT_ACCEPTED);
    assert_memory_equal(&bwc_chain_tip(&f->chain)->id, &b, 32);
    assert_int_equal(bwc_chain_height(&f->chain), 4);
    assert_int_equal(f->disconnected, 3);
    assert_int_equal(balance(f, 5), 0);
    assert_int_equal(balance(f, 6), 9 * BWC_UNITS_PER_COIN);
    assert_state_is_best_chain_replayed(f);

    /* And back: A grows to 5 blocks. */
    bwc_hash a5 = extend(f, bwc_chain_find(&f->chain, &a), 2, 3, 0, -1, NULL,
                         BWC_SUBMIT_ACCEPTED);
    assert_memory_equal(&bwc_chain_tip(&f->chain)->id, &a5, 32);
    assert_int_equal(balance(f, 5), 7 * BWC_UNITS_PER_COIN);
    assert_int_equal(balance(f, 6), 0);
    assert_state_is_best_chain_replayed(f);
    fixture_free(f);
}

static void test_reorg_pow(void **state)
{
    (void)state;
    reorg_to_heavier("dev");
}

static void test_reorg_poa(void **state)
{
    (void)state;
    reorg_to_heavier("poa-example");
}

/* PoA: a longer branch that forks deeper than finality_depth below the tip is refused. */
static void test_poa_finality(void **state)
{
    (void)state;
    fixture *f = fixture_new("poa-example");
    uint64_t depth = f->spec.params.poa.finality_depth;
    const bwc_index *genesis = bwc_chain_tip(&f->chain);
    bwc_hash a = extend(f, genesis, depth + 2, 0, 0, -1, NULL, BWC_SUBMIT_ACCEPTED);
    bwc_buf before = BWC_BUF_INIT;
    dump_state(f, &before);
    /* depth + 3 blocks from genesis: heavier, but it would undo depth + 2 blocks. The branch
     * is refused for good when it becomes the heavier one. */
    bwc_hash b = extend(f, genesis, depth + 3, 0, 1, -1, NULL, BWC_SUBMIT_REJECTED);
    assert_true(bwc_chain_find(&f->chain, &b)->status & BWC_INDEX_FAILED);
    assert_memory_equal(&bwc_chain_tip(&f->chain)->id, &a, 32);
    assert_int_equal(f->disconnected, 0);
    bwc_buf after = BWC_BUF_INIT;
    dump_state(f, &after);
    assert_int_equal(before.len, after.len);
    assert_memory_equal(before.data, after.data, before.len);
    assert_int_equal(bwc_chain_finalized_height(&f->chain), 2);
    bwc_buf_free(&before);
    bwc_buf_free(&after);
    fixture_free(f);
}

/* A heavier branch whose third block breaks a rule: the node tries it, finds the invalid block,
 * marks it and its child failed and goes back to the old chain with its exact state. */
static void test_invalid_branch_rolls_back(void **state)
{
    (void)state;
    fixture *f = fixture_new("dev");
    const bwc_index *genesis = bwc_chain_tip(&f->chain);
    bwc_tx ta = transfer(f, 1, 0, 5, 3 * BWC_UNITS_PER_COIN);
    bwc_hash a = extend(f, genesis, 3, 3, 0, 0, &ta, BWC_SUBMIT_ACCEPTED);
    bwc_buf before = BWC_BUF_INIT;
    dump_state(f, &before);
    bwc_tx bad = transfer(f, 2, 7, 6, 1); /* wrong nonce */
    bwc_buf buf = BWC_BUF_INIT;
    const bwc_index *parent = genesis;
    bwc_hash id;
    for (int i = 0; i < 4; i++) {
        bwc_result res;
        make_block(f, parent, 4, i == 0 ? 1 : 0, i == 2 ? &bad : NULL, i == 2 ? 1 : 0, &buf);
        bwc_submit_status st =
            bwc_chain_submit(&f->chain, buf.data, buf.len, UINT64_MAX / 2, &id, &res);
        if (i < 3) {
            assert_int_equal(st, BWC_SUBMIT_ACCEPTED);
        } else {
            /* The fourth block makes the branch heavier: connecting it fails on block 3. */
            assert_int_equal(st, BWC_SUBMIT_REJECTED);
            assert_string_equal(res.reject, "bad-tx-nonce");
        }
        parent = bwc_chain_find(&f->chain, &id);
    }
    assert_memory_equal(&bwc_chain_tip(&f->chain)->id, &a, 32);
    assert_true(parent->status & BWC_INDEX_FAILED);
    bwc_buf after = BWC_BUF_INIT;
    dump_state(f, &after);
    assert_int_equal(before.len, after.len);
    assert_memory_equal(before.data, after.data, before.len);
    /* A child of the failed block is refused at once. */
    bwc_result res;
    make_block(f, parent, 4, 0, NULL, 0, &buf);
    assert_int_equal(bwc_chain_submit(&f->chain, buf.data, buf.len, UINT64_MAX / 2, NULL, &res),
                     BWC_SUBMIT_REJECTED);
    assert_string_equal(res.reject, "bad-prevblk");
    bwc_buf_free(&buf);
    bwc_buf_free(&before);
    bwc_buf_free(&after);
    fixture_free(f);
}

/* Blocks that arrive child first wait in the orphan pool and connect when the parent comes. */
static void test_orphans(void **state)
{
    (void)state;
    fixture *f = fixture_new("dev");
    const bwc_index *genesis = bwc_chain_tip(&f->chain);
    /* Build three blocks in a second store, then feed them here in reverse order. */
    fixture *g = fixture_new("dev");
    bwc_hash tip = extend(g, bwc_chain_tip(&g->chain), 3, 3, 0, -1, NULL, BWC_SUBMIT_ACCEPTED);
    bwc_buf raw[3] = {BWC_BUF_INIT, BWC_BUF_INIT, BWC_BUF_INIT};
    for (int h = 1; h <= 3; h++)
        assert_int_equal(bwc_chain_read_block(&g->chain, &bwc_chain_at(&g->chain, h)->id,
                                              &raw[h - 1], NULL),
                         0);
    bwc_result res;
    assert_int_equal(bwc_chain_submit(&f->chain, raw[2].data, raw[2].len, UINT64_MAX / 2, NULL,
                                      &res),
                     BWC_SUBMIT_ORPHAN);
    assert_int_equal(bwc_chain_submit(&f->chain, raw[1].data, raw[1].len, UINT64_MAX / 2, NULL,
                                      &res),
                     BWC_SUBMIT_ORPHAN);
    assert_ptr_equal(bwc_chain_tip(&f->chain), genesis);
    assert_int_equal(bwc_chain_submit(&f->chain, raw[0].data, raw[0].len, UINT64_MAX / 2, NULL,
                                      &res),
                     BWC_SUBMIT_ACCEPTED);
    assert_memory_equal(&bwc_chain_tip(&f->chain)->id, &tip, 32);
    assert_int_equal(f->chain.n_orphans, 0);
    /* A block seen twice is a duplicate. */
    assert_int_equal(bwc_chain_submit(&f->chain, raw[0].data, raw[0].len, UINT64_MAX / 2, NULL,
                                      &res),
                     BWC_SUBMIT_DUPLICATE);
    for (int i = 0; i < 3; i++)
        bwc_buf_free(&raw[i]);
    fixture_free(g);
    fixture_free(f);
}

/* Headers first: a heavier branch known by its headers only moves best_header, not the tip;
 * its blocks, arriving in any order, then take the chain there. */
static void test_headers_first(void **state)
{
    (void)state;
    fixture *f = fixture_new("dev");
    fixture *g = fixture_new("dev");
    extend(f, bwc_chain_tip(&f->chain), 2, 3, 0, -1, NULL, BWC_SUBMIT_ACCEPTED);
    const bwc_index *old_tip = bwc_chain_tip(&f->chain);
    bwc_hash tip = extend(g, bwc_chain_tip(&g->chain), 4, 4, 1, -1, NULL, BWC_SUBMIT_ACCEPTED);
    bwc_result res;
    bwc_block blocks[4];
    bwc_buf raw[4] = {BWC_BUF_INIT, BWC_BUF_INIT, BWC_BUF_INIT, BWC_BUF_INIT};
    for (int h = 1; h <= 4; h++) {
        assert_int_equal(bwc_chain_read_block(&g->chain, &bwc_chain_at(&g->chain, h)->id,
                                              &raw[h - 1], &blocks[h - 1]),
                         0);
    }
    /* A header whose parent is unknown is an orphan; in order they are accepted. */
    assert_int_equal(bwc_chain_accept_header(&f->chain, &blocks[1].header, UINT64_MAX / 2, NULL,
                                             &res),
                     BWC_SUBMIT_ORPHAN);
    for (int i = 0; i < 4; i++)
        assert_int_equal(bwc_chain_accept_header(&f->chain, &blocks[i].header, UINT64_MAX / 2,
                                                 NULL, &res),
                         BWC_SUBMIT_ACCEPTED);
    assert_int_equal(bwc_chain_accept_header(&f->chain, &blocks[3].header, UINT64_MAX / 2, NULL,
                                             &res),
                     BWC_SUBMIT_DUPLICATE);
    assert_memory_equal(&f->chain.best_header->id, &tip, 32);
    assert_ptr_equal(bwc_chain_tip(&f->chain), old_tip);
    /* A tampered body under a known header is refused by the roots, and changes nothing. */
    bwc_buf bad = BWC_BUF_INIT;
    bwc_tx t = transfer(f, 1, 0, 5, 1);
    bwc_block forged = blocks[0];
    forged.txs = &t;
    forged.n_txs = 1;
    assert_true(bwc_block_encode(&forged, &bad));
    assert_int_equal(bwc_chain_submit(&f->chain, bad.data, bad.len, UINT64_MAX / 2, NULL, &res),
                     BWC_SUBMIT_REJECTED);
    assert_string_equal(res.reject, "bad-block-tx-root");
    /* Bodies in reverse order: nothing moves until the first one comes. */
    for (int i = 3; i >= 1; i--) {
        assert_int_equal(bwc_chain_submit(&f->chain, raw[i].data, raw[i].len, UINT64_MAX / 2,
                                          NULL, &res),
                         BWC_SUBMIT_ACCEPTED);
        assert_ptr_equal(bwc_chain_tip(&f->chain), old_tip);
    }
    assert_int_equal(bwc_chain_submit(&f->chain, raw[0].data, raw[0].len, UINT64_MAX / 2, NULL,
                                      &res),
                     BWC_SUBMIT_ACCEPTED);
    assert_memory_equal(&bwc_chain_tip(&f->chain)->id, &tip, 32);
    assert_int_equal(f->chain.n_unlinked, 0);
    assert_state_is_best_chain_replayed(f);
    /* The index survives a restart with the data flags. */
    close_chain(f);
    open_at(f, f->dir, 0);
    assert_memory_equal(&bwc_chain_tip(&f->chain)->id, &tip, 32);
    for (int i = 0; i < 4; i++) {
        bwc_block_free(&blocks[i]);
        bwc_buf_free(&raw[i]);
    }
    bwc_buf_free(&bad);
    fixture_free(g);
    fixture_free(f);
}

/* A header from too far in the future is refused without being marked invalid. */
static void test_time_too_new(void **state)
{
    (void)state;
    fixture *f = fixture_new("dev");
    bwc_buf buf = BWC_BUF_INIT;
    bwc_result res;
    make_block(f, bwc_chain_tip(&f->chain), 3, 0, NULL, 0, &buf);
    uint64_t early = f->spec.params.genesis_time - f->spec.params.max_future_seconds - 100;
    assert_int_equal(bwc_chain_submit(&f->chain, buf.data, buf.len, early, NULL, &res),
                     BWC_SUBMIT_REJECTED);
    assert_string_equal(res.reject, "time-too-new");
    assert_int_equal(bwc_chain_submit(&f->chain, buf.data, buf.len, UINT64_MAX / 2, NULL, &res),
                     BWC_SUBMIT_ACCEPTED);
    bwc_buf_free(&buf);
    fixture_free(f);
}

/* Closing and reopening keeps tip and state; -reindex rebuilds the same state from the blocks. */
static void test_reopen_and_reindex(void **state)
{
    (void)state;
    fixture *f = fixture_new("dev");
    bwc_tx t1 = transfer(f, 1, 0, 5, 11);
    bwc_hash tip = extend(f, bwc_chain_tip(&f->chain), 5, 3, 0, 2, &t1, BWC_SUBMIT_ACCEPTED);
    bwc_buf before = BWC_BUF_INIT, after = BWC_BUF_INIT;
    dump_state(f, &before);
    close_chain(f);
    open_at(f, f->dir, 0);
    assert_memory_equal(&bwc_chain_tip(&f->chain)->id, &tip, 32);
    dump_state(f, &after);
    assert_int_equal(before.len, after.len);
    assert_memory_equal(before.data, after.data, before.len);
    close_chain(f);
    open_at(f, f->dir, 1);
    assert_memory_equal(&bwc_chain_tip(&f->chain)->id, &tip, 32);
    dump_state(f, &after);
    assert_int_equal(before.len, after.len);
    assert_memory_equal(before.data, after.data, before.len);
    assert_int_equal(balance(f, 5), 11);
    bwc_buf_free(&before);
    bwc_buf_free(&after);
    fixture_free(f);
}

/* A database of one chain is refused by another. */
static void test_wrong_chain(void **state)
{
    (void)state;
    fixture *f = fixture_new("dev");
    close_chain(f);
    bwc_chainspec other;
    char err[256];
    assert_int_equal(bwc_chainspec_load_named(&other, "poa-example", err, sizeof err), 0);
    bwc_store *s = bwc_store_open(f->dir, err, sizeof err);
    bwc_chain c;
    assert_int_equal(bwc_chain_open(&c, s, &other.params, f->secp, 2, 0, err, sizeof err), -1);
    assert_non_null(strstr(err, "another chain"));
    bwc_chain_close(&c);
    bwc_store_close(s);
    bwc_chainspec_free(&other);
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reorg_pow),
        cmocka_unit_test(test_reorg_poa),
        cmocka_unit_test(test_poa_finality),
        cmocka_unit_test(test_invalid_branch_rolls_back),
        cmocka_unit_test(test_orphans),
        cmocka_unit_test(test_headers_first),
        cmocka_unit_test(test_time_too_new),
        cmocka_unit_test(test_reopen_and_reindex),
        cmocka_unit_test(test_wrong_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
