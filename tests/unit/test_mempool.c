/* test_mempool.c: the transaction pool and the receipt pool over a real chain in LevelDB:
 * admission rules, replace-by-fee, eviction, block templates, and the pool following blocks that
 * connect and disconnect. */
#include "tests/unit/unit.h"

#include <stdlib.h>
#include <unistd.h>

#include "chainspec/chainspec.h"
#include "consensus/engine.h"
#include "consensus/key.h"
#include "consensus/state.h"
#include "node/chain.h"
#include "node/mempool.h"
#include "node/miner.h"
#include "node/store.h"

#define MIB (1ull << 20)
#define PRODUCER 9 /* an unfunded key, so its balance is exactly what blocks paid it */

typedef struct {
    bwc_chainspec spec;
    secp256k1_context *secp;
    char dir[64];
    bwc_store *store;
    bwc_chain chain;
    bwc_mempool pool;
    uint64_t now; /* the clock the pool is told */
    int connected, disconnected;
} fixture;

/* Wired as bwcd wires them (node/bwcd.c on_connected / on_disconnected). */
static void on_connected(void *ctx, const bwc_index *idx, const bwc_block *b)
{
    fixture *f = ctx;
    (void)idx;
    f->connected++;
    bwc_mempool_block_connected(&f->pool, b);
}

static void on_disconnected(void *ctx, const bwc_index *idx, const bwc_block *b)
{
    fixture *f = ctx;
    (void)idx;
    f->disconnected++;
    bwc_mempool_block_disconnected(&f->pool, b, f->now);
}

static fixture *fixture_new(size_t max_bytes)
{
    fixture *f = calloc(1, sizeof *f);
    char err[256];
    assert_non_null(f);
    assert_int_equal(bwc_chainspec_load_named(&f->spec, "dev", err, sizeof err), 0);
    f->secp = bwc_secp_create(NULL);
    assert_non_null(f->secp);
    snprintf(f->dir, sizeof f->dir, "/tmp/bwc-test-mempool-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    f->store = bwc_store_open(f->dir, err, sizeof err);
    assert_non_null(f->store);
    assert_int_equal(
        bwc_chain_open(&f->chain, f->store, &f->spec.params, f->secp, 2, 0, err, sizeof err), 0);
    f->chain.listener = (bwc_chain_listener){f, on_connected, on_disconnected};
    bwc_mempool_init(&f->pool, &f->chain, max_bytes);
    f->now = f->spec.params.genesis_time;
    return f;
}

static void fixture_free(fixture *f)
{
    char cmd[128];
    bwc_mempool_free(&f->pool);
    bwc_chain_close(&f->chain);
    bwc_store_close(f->store);
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    bwc_secp_destroy(f->secp);
    bwc_chainspec_free(&f->spec);
    free(f);
}

/* ---- keys and state ---- */

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

static bwc_account account(fixture *f, unsigned char who)
{
    bwc_state_view v = bwc_chain_view(&f->chain);
    bwc_account a;
    bwc_pubkey pk = pubkey_of(f, who);
    assert_true(bwc_state_account(&v, &pk, &a) >= 0);
    return a;
}

static uint64_t balance(fixture *f, unsigned char who)
{
    return account(f, who).balance;
}

/* ---- transactions ---- */

static bwc_hash txid_of(fixture *f, const bwc_tx *tx)
{
    bwc_hash id;
    bwc_tx_id(&f->chain.chain_id, tx, &id);
    return id;
}

/* Signs tx with the dev key `signer`; aux varies the (still valid) signature. */
static void sign_tx(fixture *f, bwc_tx *tx, unsigned char signer, unsigned char aux_byte)
{
    unsigned char sk[32], aux[32];
    bwc_hash id = txid_of(f, tx);
    memset(aux, aux_byte, sizeof aux);
    secret(sk, signer);
    assert_true(bwc_sign(f->secp, &tx->sig, sk, &id, aux));
}

static bwc_tx tx_base(fixture *f, uint64_t type, unsigned char from, uint64_t nonce, uint64_t fee)
{
    bwc_tx tx;
    memset(&tx, 0, sizeof tx);
    tx.type = type;
    tx.from = pubkey_of(f, from);
    tx.nonce = nonce;
    tx.fee = fee;
    return tx;
}

static bwc_tx transfer_fee(fixture *f, unsigned char from, uint64_t nonce, unsigned char to,
                           uint64_t amount, uint64_t fee)
{
    bwc_tx tx = tx_base(f, BWC_TX_TRANSFER, from, nonce, fee);
    tx.body.transfer.to = pubkey_of(f, to);
    tx.body.transfer.amount = amount;
    sign_tx(f, &tx, from, 0);
    return tx;
}

static bwc_tx transfer(fixture *f, unsigned char from, uint64_t nonce, unsigned char to,
                       uint64_t amount)
{
    return transfer_fee(f, from, nonce, to, amount, f->spec.params.min_fee);
}

/* A transfer with a 64-byte memo: the same kind of transaction, 67 bytes longer. */
static bwc_tx transfer_memo(fixture *f, unsigned char from, uint64_t nonce, unsigned char to,
                            uint64_t amount, uint64_t fee)
{
    bwc_tx tx = tx_base(f, BWC_TX_TRANSFER, from, nonce, fee);
    tx.body.transfer.to = pubkey_of(f, to);
    tx.body.transfer.amount = amount;
    memset(tx.body.transfer.memo, 'm', BWC_MEMO_MAX);
    tx.body.transfer.memo_len = BWC_MEMO_MAX;
    sign_tx(f, &tx, from, 0);
    return tx;
}

static bwc_tx content_register(fixture *f, unsigned char from, uint64_t nonce, uint64_t fee,
                               unsigned char id_byte)
{
    bwc_tx tx = tx_base(f, BWC_TX_CONTENT_REGISTER, from, nonce, fee);
    memset(tx.body.content_register.content_id.b, id_byte, 32);
    tx.body.content_register.size = 1000;
    tx.body.content_register.chunk_size = 1u << 18;
    sign_tx(f, &tx, from, 0);
    return tx;
}

static bwc_tx channel_open(fixture *f, unsigned char consumer, uint64_t nonce, unsigned char relay,
                           uint64_t deposit, uint64_t price, uint64_t expiry)
{
    bwc_tx tx = tx_base(f, BWC_TX_CHANNEL_OPEN, consumer, nonce, f->spec.params.min_fee);
    tx.body.channel_open.relay = pubkey_of(f, relay);
    tx.body.channel_open.deposit = deposit;
    tx.body.channel_open.price = price;
    tx.body.channel_open.expiry = expiry;
    sign_tx(f, &tx, consumer, 0);
    return tx;
}

static size_t tx_len(const bwc_tx *tx)
{
    bwc_buf enc = BWC_BUF_INIT;
    assert_true(bwc_tx_encode(tx, 0, &enc));
    size_t n = enc.len;
    bwc_buf_free(&enc);
    return n;
}

/* The pool's invariants: bytes is the sum of the entries' lengths, within max_bytes; both
 * indexes hold the same entries; every entry's bytes decode to its tx. */
static void check_pool(fixture *f)
{
    const bwc_mempool *m = &f->pool;
    const unsigned char *k;
    size_t kl, sum = 0;
    void *v;
    assert_int_equal(bwc_map_size(&m->by_nonce), bwc_map_size(&m->txs));
    for (size_t i = 0; bwc_map_next(&m->txs, &i, &k, &kl, &v);) {
        const bwc_mempool_tx *e = v;
        unsigned char nk[40];
        assert_int_equal(kl, 32);
        assert_memory_equal(k, e->txid.b, 32);
        memcpy(nk, e->tx.from.b, 32);
        bwc_put_u64be(nk + 32, e->tx.nonce);
        assert_ptr_equal(bwc_map_get(&m->by_nonce, nk, sizeof nk), e);
        bwc_hash id = txid_of(f, &e->tx);
        assert_memory_equal(&id, &e->txid, 32);
        assert_int_equal(tx_len(&e->tx), e->len);
        sum += e->len;
    }
    assert_int_equal(m->bytes, sum);
    assert_true(m->bytes <= m->max_bytes);
}

/* Offers raw bytes to the pool; returns the reject string ("" when accepted). */
static const char *submit_raw(fixture *f, const unsigned char *p, size_t n, bwc_hash *txid,
                              bwc_result_code *code)
{
    bwc_result res;
    int ok = bwc_mempool_add_tx(&f->pool, p, n, f->now, txid, &res);
    assert_int_equal(ok, res.code == BWC_RESULT_OK);
    if (code)
        *code = res.code;
    check_pool(f);
    return res.reject;
}

/* Offers tx to the pool; returns the reject string ("" when accepted). Every refusal of a
 * transaction that decodes is INVALID; an accepted one is in the pool afterwards, byte for byte
 * (unless it was refused as mempool-full). */
static const char *submit(fixture *f, const bwc_tx *tx)
{
    bwc_buf enc = BWC_BUF_INIT;
    bwc_hash id, want = txid_of(f, tx);
    bwc_result_code code;
    assert_true(bwc_tx_encode(tx, 0, &enc));
    const char *reject = submit_raw(f, enc.data, enc.len, &id, &code);
    assert_memory_equal(&id, &want, 32);
    if (code == BWC_RESULT_OK) {
        const bwc_mempool_tx *e = bwc_mempool_get(&f->pool, &want);
        assert_non_null(e);
        assert_int_equal(e->len, enc.len);
        assert_memory_equal(e->bytes, enc.data, enc.len);
        assert_int_equal(e->time, f->now);
    } else {
        assert_int_equal(code, BWC_RESULT_INVALID);
    }
    bwc_buf_free(&enc);
    return reject;
}

static int pooled(fixture *f, const bwc_tx *tx)
{
    bwc_hash id = txid_of(f, tx);
    const bwc_mempool_tx *e = bwc_mempool_get(&f->pool, &id);
    if (e)
        assert_memory_equal(&e->tx.sig, &tx->sig, sizeof tx->sig);
    return e != NULL;
}

/* ---- receipts ---- */

/* relay 0: no relay_sig. */
static void sign_receipt(fixture *f, bwc_receipt *r, unsigned char relay, unsigned char consumer)
{
    unsigned char sk[32], aux[32] = {0};
    bwc_hash rid;
    bwc_receipt_id(&f->chain.chain_id, r, &rid);
    secret(sk, consumer);
    assert_true(bwc_sign(f->secp, &r->consumer_sig, sk, &rid, aux));
    r->has_relay_sig = relay != 0;
    memset(&r->relay_sig, 0, sizeof r->relay_sig);
    if (relay) {
        secret(sk, relay);
        assert_true(bwc_sign(f->secp, &r->relay_sig, sk, &rid, aux));
    }
}

static bwc_receipt receipt(fixture *f, const bwc_hash *ch, uint64_t seq, uint64_t bytes,
                           uint64_t amount, unsigned char relay, unsigned char consumer)
{
    bwc_receipt r;
    memset(&r, 0, sizeof r);
    r.channel = *ch;
    r.seq = seq;
    r.bytes = bytes;
    r.amount = amount;
    memset(r.digest.b, (int)seq, sizeof r.digest.b);
    sign_receipt(f, &r, relay, consumer);
    return r;
}

static bwc_hash rid_of(fixture *f, const bwc_receipt *r)
{
    bwc_hash id;
    bwc_receipt_id(&f->chain.chain_id, r, &id);
    return id;
}

static const char *submit_receipt(fixture *f, const bwc_receipt *r)
{
    bwc_buf enc = BWC_BUF_INIT;
    bwc_result res;
    bwc_hash rid, want = rid_of(f, r);
    assert_true(bwc_receipt_encode(r, &enc));
    int ok = bwc_mempool_add_receipt(&f->pool, enc.data, enc.len, &rid, &res);
    assert_int_equal(ok, res.code == BWC_RESULT_OK);
    assert_memory_equal(&rid, &want, 32);
    if (!ok)
        assert_int_equal(res.code, BWC_RESULT_INVALID);
    bwc_buf_free(&enc);
    return res.reject;
}

/* The pooled receipt of a channel, or NULL. */
static const bwc_mempool_receipt *pooled_receipt(fixture *f, const bwc_hash *ch)
{
    return bwc_map_get(&f->pool.receipts, ch->b, 32);
}

/* ---- blocks ---- */

/* Builds a template on the tip from the pool, grinds it, submits it and checks that it became
 * the tip. The block goes to out (release with bwc_block_free). */
static void mine(fixture *f, bwc_block *out)
{
    bwc_result res;
    bwc_pubkey producer = pubkey_of(f, PRODUCER);
    uint64_t height = bwc_chain_height(&f->chain);
    uint64_t time = bwc_chain_tip(&f->chain)->header.time + 1;
    assert_int_equal(bwc_miner_template(&f->chain, &f->pool, &producer, time, out, &res), 0);
    assert_int_equal(res.code, BWC_RESULT_OK);
    assert_int_equal(out->header.height, height + 1);
    assert_true(bwc_miner_grind(&out->header, 1u << 20));
    bwc_buf enc = BWC_BUF_INIT;
    bwc_hash id;
    assert_true(bwc_block_encode(out, &enc));
    int connected = f->connected;
    assert_int_equal(bwc_chain_submit(&f->chain, enc.data, enc.len, UINT64_MAX / 2, &id, &res),
                     BWC_SUBMIT_ACCEPTED);
    assert_int_equal(bwc_chain_height(&f->chain), height + 1);
    assert_memory_equal(&bwc_chain_tip(&f->chain)->id, &id, 32);
    assert_int_equal(f->connected, connected + 1);
    check_pool(f);
    bwc_buf_free(&enc);
}

/* Builds, grinds and submits a block on parent holding txs, produced by PRODUCER; gap seconds
 * are added to its time. Returns the submit status; id gets the block id. */
static bwc_submit_status submit_block(fixture *f, const bwc_index *parent, int gap, bwc_tx *txs,
                                      size_t n_txs, bwc_hash *id)
{
    const bwc_params *p = &f->spec.params;
    bwc_block b;
    bwc_result res;
    memset(&b, 0, sizeof b);
    b.txs = txs;
    b.n_txs = n_txs;
    bwc_header *h = &b.header;
    h->version = 1;
    h->height = parent->height + 1;
    h->prev = parent->id;
    h->time = parent->header.time + 1 + (uint64_t)gap;
    h->producer = pubkey_of(f, PRODUCER);
    h->has_pow = 1;
    h->target = bwc_asert_next_compact(p, parent->height, parent->header.time);
    assert_true(bwc_block_roots(&b, &h->tx_root, &h->receipt_root));
    assert_true(bwc_miner_grind(h, 1u << 20));
    bwc_buf enc = BWC_BUF_INIT;
    assert_true(bwc_block_encode(&b, &enc));
    bwc_submit_status st = bwc_chain_submit(&f->chain, enc.data, enc.len, UINT64_MAX / 2, id, &res);
    bwc_buf_free(&enc);
    check_pool(f);
    return st;
}

static void assert_block_txs(fixture *f, const bwc_block *b, const bwc_tx *want, size_t n)
{
    assert_int_equal(b->n_txs, n);
    for (size_t i = 0; i < n; i++) {
        bwc_hash got = txid_of(f, &b->txs[i]), exp = txid_of(f, &want[i]);
        assert_memory_equal(&got, &exp, 32);
    }
}

/* ================================ admission ================================ */

/* A valid transfer enters; the same transaction again (also with another valid signature,
 * which keeps the txid) is already in the pool. */
static void test_accept_and_duplicate(void **state)
{
    (void)state;
    fixture *f = fixture_new(0);
    assert_int_equal(f->pool.max_bytes, BWC_MEMPOOL_DEFAULT_BYTES);
    bwc_tx t = transfer(f, 1, 0, 5, 12345);
    assert_string_equal(submit(f, &t), "");
    assert_int_equal(bwc_mempool_size(&f->pool), 1);
    assert_int_equal(f->pool.bytes, tx_len(&t));
    assert_true(pooled(f, &t));

    assert_string_equal(submit(f, &t), "txn-already-in-mempool");
    bwc_tx again = t;
    sign_tx(f, &again, 1, 0x5a);
    assert_memory_not_equal(&again.sig, &t.sig, sizeof t.sig);
    assert_string_equal(submit(f, &again), "txn-already-in-mempool");
    assert_int_equal(bwc_mempool_size(&f->pool), 1);
    assert_int_equal(f->pool.bytes, tx_len(&t));
    assert_true(pooled(f, &t));
    fixture_free(f);
}

/* Signature, fee floor and bytes that do not decode. */
static void test_reject_sig_fee_malformed(void **state)
{
    (void)state;
    fixture *f = fixture_new(0);
    uint64_t min_fee = f->spec.params.min_fee;
    assert_int_equal(min_fee, 1000);

    bwc_tx t = transfer(f, 1, 0, 5, 100);
    t.sig.b[10] ^= 1;
    assert_string_equal(submit(f, &t), "bad-tx-sig");
    bwc_tx u = transfer(f, 1, 0, 5, 100);
    sign_tx(f, &u, 2, 0); /* a valid signature, by the wrong key */
    assert_string_equal(submit(f, &u), "bad-tx-sig");

    bwc_tx low = transfer_fee(f, 1, 0, 5, 100, min_fee - 1);
    assert_string_equal(submit(f, &low), "bad-tx-fee");
    bwc_tx zero = transfer_fee(f, 1, 0, 5, 100, 0);
    assert_string_equal(submit(f, &zero), "bad-tx-fee");
    assert_int_equal(bwc_mempool_size(&f->pool), 0);
    assert_int_equal(f->pool.bytes, 0);

    const unsigned char junk[] = {0xa1, 0x00, 0x01};
    bwc_result_code code;
    bwc_hash id;
    assert_int_not_equal(submit_raw(f, junk, sizeof junk, &id, &code)[0], '\0');
    assert_int_equal(code, BWC_RESULT_MALFORMED);

    bwc_tx exact = transfer_fee(f, 1, 0, 5, 100, min_fee);
    assert_string_equal(submit(f, &exact), "");
    assert_int_equal(bwc_mempool_size(&f->pool), 1);
    fixture_free(f);
}

/* Nonces: below the account's is refused; up to BWC_MEMPOOL_NONCE_GAP ahead is held; further
 * is refused. */
static void test_nonce_rules(void **state)
{
    (void)state;
    fixture *f = fixture_new(0);
    bwc_tx t0 = transfer(f, 1, 0, 5, 100);
    assert_string_equal(submit(f, &t0), "");
    bwc_block b;
    mine(f, &b);
    assert_block_txs(f, &b, &t0, 1);
    bwc_block_free(&b);
    assert_int_equal(account(f, 1).nonce, 1);
    assert_int_equal(bwc_mempool_size(&f->pool), 0);

    bwc_tx stale = transfer(f, 1, 0, 5, 101);
    assert_string_equal(submit(f, &stale), "bad-tx-nonce");
    bwc_tx far = transfer(f, 1, 1 + BWC_MEMPOOL_NONCE_GAP + 1, 5, 100);
    assert_string_equal(submit(f, &far), "mempool-nonce-gap");
    bwc_tx edge = transfer(f, 1, 1 + BWC_MEMPOOL_NONCE_GAP, 5, 100);
    assert_string_equal(submit(f, &edge), "");
    assert_int_equal(bwc_mempool_size(&f->pool), 1);
    assert_true(pooled(f, &edge));
    fixture_free(f);
}

/* The gap counts from the end of the unbroken pooled run: a sender may queue a run longer than
 * the gap (a disconnected block's transactions come back this way), but not float beyond it. */
static void test_long_run(void **state)
{
    (void)state;
    fixture *f = fixture_new(0);
    const uint64_t run = 2 * BWC_MEMPOOL_NONCE_GAP + 5;
    for (uint64_t i = 0; i < run; i++) {
        bwc_tx t = transfer(f, 1, i, 5, 10 + i);
        assert_string_equal(submit(f, &t), "");
    }
    assert_int_equal(bwc_mempool_size(&f->pool), run);
    bwc_tx far = transfer(f, 1, run + BWC_MEMPOOL_NONCE_GAP + 1, 5, 1);
    assert_string_equal(submit(f, &far), "mempool-nonce-gap");
    bwc_tx edge = transfer(f, 1, run + BWC_MEMPOOL_NONCE_GAP, 5, 1);
    assert_string_equal(submit(f, &edge), "");
    bwc_block b;
    mine(f, &b);
    assert_int_equal(b.n_txs, run);
    bwc_block_free(&b);
    assert_int_equal(account(f, 1).nonce, run);
    assert_int_equal(bwc_mempool_size(&f->pool), 1);
    fixture_free(f);
}

/* A future transaction waits in the pool, stays out of templates while its predecessors are
 * missing, and is mined in order once they arrive. */
static void test_future_tx_held_then_mined(void **state)
{
    (void)state;
    fixture *f = fixture_new(0);
    bwc_tx t[3] = {transfer(f, 1, 0, 5, 10), transfer(f, 1, 1, 5, 20), transfer(f, 1, 2, 5, 30)};
    assert_string_equal(submit(f, &t[2]), "");
    bwc_block b;
    mine(f, &b);
    assert_int_equal(b.n_txs, 0);
    bwc_block_free(&b);
    assert_true(pooled(f, &t[2]));
    assert_int_equal(balance(f, 5), 0);

    assert_string_equal(submit(f, &t[0]), "");
    assert_string_equal(submit(f, &t[1]), "");
    assert_int_equal(bwc_mempool_size(&f->pool), 3);
    mine(f, &b);
    assert_block_txs(f, &b, t, 3);
    bwc_block_free(&b);
    assert_int_equal(bwc_mempool_size(&f->pool), 0);
    assert_int_equal(f->pool.bytes, 0);
    assert_int_equal(balance(f, 5), 60);
    assert_int_equal(account(f, 1).nonce, 3);
    fixture_free(f);
}

/* A transaction that continues a sequence is checked with its predecessors applied: the
 * balance the earlier ones leave is what it may spend. */
static void test_insufficient_funds_in_sequence(void **state)
{
    (void)state;
    fixture *f = fixture_new(0);
    uint64_t fee = f->spec.params.min_fee, start = balance(f, 1);
    assert_int_equal(start, 1000000 * BWC_UNITS_PER_COIN);
    bwc_tx t0 = transfer(f, 1, 0, 5, start - fee - (fee + 1)); /* leaves fee + 1 */
    assert_string_equal(submit(f, &t0), "");
    bwc_tx over = transfer(f, 1, 1, 5, 2);
    assert_string_equal(submit(f, &over), "bad-tx-insufficient-funds");
    assert_false(pooled(f, &over));
    bwc_tx fits = transfer(f, 1, 1, 5, 1);
    assert_string_equal(submit(f, &fits), "");
    assert_int_equal(bwc_mempool_size(&f->pool), 2);
    assert_int_equal(f->pool.bytes, tx_len(&t0) + tx_len(&fits));
    bwc_block b;
    mine(f, &b);
    bwc_tx want[2] = {t0, fits};
    assert_block_txs(f, &b, want, 2);
    bwc_block_free(&b);
    assert_int_equal(balance(f, 1), 0);
    fixture_free(f);
}

/* ================================ replace-by-fee ================================ */

static void test_replace_by_fee(void **state)
{
    (void)state;
    fixture *f = fixture_new(0);
    uint64_t min_fee = f->spec.params.min_fee;
    bwc_tx old = transfer_fee(f, 1, 0, 5, 100, 5000);
    assert_string_equal(submit(f, &old), "");

    bwc_tx cheap = transfer_fee(f, 1, 0, 5, 100, 5000 + min_fee - 1);
    assert_string_equal(submit(f, &cheap), "mempool-replacement-fee-too-low");
    assert_true(pooled(f, &old));
    assert_false(pooled(f, &cheap));
    assert_int_equal(f->pool.bytes, tx_len(&old));

    /* Enough fee; longer, so the byte count must follow. */
    bwc_tx rep = transfer_memo(f, 1, 0, 5, 100, 5000 + min_fee);
    assert_int_equal(tx_len(&rep), tx_len(&old) + 67);
    assert_string_equal(submit(f, &rep), "");
    assert_false(pooled(f, &old));
    assert_true(pooled(f, &rep));
    assert_int_equal(bwc_mempool_size(&f->pool), 1);
    assert_int_equal(f->pool.bytes, tx_len(&rep));

    /* A replacement that leaves too little for the sender's next transaction drops it. */
    bwc_tx next = transfer(f, 1, 1, 5, 1000);
    assert_string_equal(submit(f, &next), "");
    assert_int_equal(bwc_mempool_size(&f->pool), 2);
    uint64_t all = balance(f, 1);
    bwc_tx greedy = transfer_fee(f, 1, 0, 5, all - 7000, 7000);
    assert_string_equal(submit(f, &greedy), "");
    assert_false(pooled(f, &rep));
    assert_false(pooled(f, &next));
    assert_true(pooled(f, &greedy));
    assert_int_equal(bwc_mempool_size(&f->pool), 1);
    assert_int_equal(f->pool.bytes, tx_len(&greedy));

    bwc_block b;
    mine(f, &b);
    assert_block_txs(f, &b, &greedy, 1);
    bwc_block_free(&b);
    assert_int_equal(balance(f, 5), all - 7000);
    fixture_free(f);
}

/* ================================ eviction ================================ */

/* Over max_bytes the lowest fee rate among the sequences' last transactions goes; a newcomer
 * that would itself go is refused as mempool-full and leaves the pool as it was. */
static void test_eviction(void **state)
{
    (void)state;
    fixture *f = fixture_new(0);
    bwc_tx a0 = transfer_fee(f, 1, 0, 5, 100, 1000);
    bwc_tx a1 = transfer_fee(f, 1, 1, 5, 100, 4000);
    bwc_tx b0 = transfer_fee(f, 2, 0, 5, 100, 2000);
    bwc_tx b0r = transfer_fee(f, 2, 0, 5, 100, 4500);
    bwc_tx c0 = transfer_fee(f, 3, 0, 5, 100, 5000);
    bwc_tx d0 = transfer_fee(f, 4, 0, 5, 100, 1500);
    size_t len = tx_len(&a0);
    const bwc_tx *all[] = {&a1, &b0, &b0r, &c0, &d0};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        assert_int_equal(tx_len(all[i]), len); /* so fee order is fee-rate order */
    bwc_mempool_free(&f->pool);
    bwc_mempool_init(&f->pool, &f->chain, 3 * len);

    assert_string_equal(submit(f, &a0), "");
    assert_string_equal(submit(f, &b0), "");
    assert_string_equal(submit(f, &c0), "");
    assert_int_equal(f->pool.bytes, 3 * len);
    /* a0 pays least but a1 follows it: b0 is the cheapest end of a sequence. */
    assert_string_equal(submit(f, &a1), "");
    assert_int_equal(bwc_mempool_size(&f->pool), 3);
    assert_true(pooled(f, &a0) && pooled(f, &a1) && pooled(f, &c0));
    assert_false(pooled(f, &b0));
    assert_int_equal(f->pool.bytes, 3 * len);

    /* d0 pays less than every end: refused, nothing else lost. */
    assert_string_equal(submit(f, &d0), "mempool-full");
    assert_false(pooled(f, &d0));
    assert_int_equal(bwc_mempool_size(&f->pool), 3);
    assert_true(pooled(f, &a0) && pooled(f, &a1) && pooled(f, &c0));
    assert_int_equal(f->pool.bytes, 3 * len);

    /* b0r outbids a1, which goes; a0 stays (it is a sequence end now, but the pool fits). */
    assert_string_equal(submit(f, &b0r), "");
    assert_int_equal(bwc_mempool_size(&f->pool), 3);
    assert_true(pooled(f, &a0) && pooled(f, &b0r) && pooled(f, &c0));
    assert_false(pooled(f, &a1));
    assert_int_equal(f->pool.bytes, 3 * len);
    fixture_free(f);
}

/* A newcomer that needs several evictions and turns out the cheapest after the first is
 * refused, and what went before it comes back: a refused transaction changes nothing. */
static void test_eviction_refusal_changes_nothing(void **state)
{
    (void)state;
    fixture *f = fixture_new(0);
    bwc_tx p = transfer_fee(f, 1, 0, 5, 100, 1000);
    bwc_tx q = transfer_fee(f, 2, 0, 5, 100, 9000);
    bwc_tx r = transfer_fee(f, 3, 0, 5, 100, 9000);
    bwc_tx x = transfer_memo(f, 4, 0, 5, 100, 1500);
    size_t len = tx_len(&p), lm = tx_len(&x);
    assert_int_equal(lm, len + 67);
    assert_true(1500 * len > 1000 * lm); /* rate(x) > rate(p): p is evicted first */
    bwc_mempool_free(&f->pool);
    bwc_mempool_init(&f->pool, &f->chain, 3 * len);
    assert_string_equal(submit(f, &p), "");
    assert_string_equal(submit(f, &q), "");
    assert_string_equal(submit(f, &r), "");
    /* Evicting p leaves 67 bytes too many; then x is the cheapest end. */
    assert_string_equal(submit(f, &x), "mempool-full");
    assert_false(pooled(f, &x));
    assert_true(pooled(f, &p) && pooled(f, &q) && pooled(f, &r));
    assert_int_equal(bwc_mempool_size(&f->pool), 3);
    assert_int_equal(f->pool.bytes, 3 * len);
    fixture_free(f);
}

/* A replacement refused as mempool-full keeps the transaction it would have replaced. */
static void test_replacement_refused_keeps_original(void **state)
{
    (void)state;
    fixture *f = fixture_new(0);
    bwc_tx q = transfer_fee(f, 2, 0, 5, 100, 9000);
    bwc_tx a = transfer_fee(f, 1, 0, 5, 100, 5000);
    bwc_tx a2 = transfer_memo(f, 1, 0, 5, 100, 6000); /* more fee, a lower rate than q */
    size_t len = tx_len(&a);
    bwc_mempool_free(&f->pool);
    bwc_mempool_init(&f->pool, &f->chain, 2 * len);
    assert_string_equal(submit(f, &q), "");
    assert_string_equal(submit(f, &a), "");
    assert_string_equal(submit(f, &a2), "mempool-full");
    assert_false(pooled(f, &a2));
    assert_true(pooled(f, &a) && pooled(f, &q));
    assert_int_equal(f->pool.bytes, 2 * len);
    bwc_block b;
    mine(f, &b);
    bwc_tx want[2] = {q, a};
    assert_block_txs(f, &b, want, 2);
    bwc_block_free(&b);
    fixture_free(f);
}

/* A replacement that the sender's re-check drops again (behind a predecessor that stopped
 * applying while the pool was not told) is refused, and the transaction it replaced stays. */
static void test_replacement_dropped_by_recheck(void **state)
{
    (void)state;
    fixture *f = fixture_new(0);
    uint64_t min_fee = f->spec.params.min_fee;
    bwc_tx open3 = channel_open(f, 3, 0, 2, 5000, 100, 2); /* valid at height 1 only */
    bwc_tx a = transfer(f, 3, 1, 5, 100);
    assert_string_equal(submit(f, &open3), "");
    assert_string_equal(submit(f, &a), "");
    /* Height 1 passes without the pool hearing of it: open3 is stale but still pooled. */
    bwc_chain_listener saved = f->chain.listener;
    memset(&f->chain.listener, 0, sizeof f->chain.listener);
    bwc_hash id;
    assert_int_equal(submit_block(f, bwc_chain_tip(&f->chain), 0, NULL, 0, &id),
                     BWC_SUBMIT_ACCEPTED);
    f->chain.listener = saved;
    bwc_tx rep = transfer_fee(f, 3, 1, 5, 100, min_fee + min_fee);
    const char *why = submit(f, &rep);
    assert_string_not_equal(why, "");
    assert_false(pooled(f, &rep));
    assert_true(pooled(f, &a));
    assert_true(pooled(f, &open3));
    assert_int_equal(bwc_mempool_size(&f->pool), 2);
    assert_int_equal(f->pool.bytes, tx_len(&a) + tx_len(&open3));
    fixture_free(f);
}

/* ================================ templates ================================ */

/* Fee rate first (rate, not fee), each sender in nonce order, a transaction that conflicts with
 * one taken before is skipped; the block is valid and the pool empties. */
static void test_template(void **state)
{
    (void)state;
    fixture *f = fixture_new(0);
    bwc_tx k2 = transfer_fee(f, 2, 0, 5, 100, 5000);
    bwc_tx k3 = transfer_fee(f, 3, 0, 5, 100, 3000);
    bwc_tx k1 = transfer_memo(f, 1, 0, 5, 100, 3300); /* more fee than k3, a lower rate */
    bwc_tx k4a = transfer_fee(f, 4, 0, 5, 100, 1000);
    bwc_tx k4b = transfer_fee(f, 4, 1, 5, 100, 9000); /* the best rate, but after k4a */
    bwc_tx reg3 = content_register(f, 3, 1, 8000, 0xc1);
    bwc_tx reg2 = content_register(f, 2, 1, 7000, 0xc1); /* same content: loses to reg3 */
    size_t l = tx_len(&k2), lm = tx_len(&k1), lr = tx_len(&reg3);
    assert_int_equal(tx_len(&k3), l);
    assert_int_equal(tx_len(&reg2), lr);
    assert_true(3300 * l < 3000 * lm); /* rate(k1) < rate(k3) */
    assert_true(3300 * l > 1000 * lm); /* rate(k1) > rate(k4a) */

    const bwc_tx *in[] = {&k4a, &k1, &reg2, &k4b, &k3, &reg3, &k2};
    size_t bytes = 0;
    for (size_t i = 0; i < sizeof in / sizeof *in; i++) {
        assert_string_equal(submit(f, in[i]), "");
        bytes += tx_len(in[i]);
    }
    assert_int_equal(bwc_mempool_size(&f->pool), 7);
    assert_int_equal(f->pool.bytes, bytes);

    bwc_block b;
    mine(f, &b);
    bwc_tx want[] = {k2, k3, k1, k4a, k4b, reg3};
    assert_block_txs(f, &b, want, 6);
    assert_int_equal(b.n_receipts, 0);
    bwc_block_free(&b);
    /* reg2 no longer applies (its sender was in the block, so the pool re-checked it). */
    assert_int_equal(bwc_mempool_size(&f->pool), 0);
    assert_int_equal(f->pool.bytes, 0);
    assert_int_equal(balance(f, PRODUCER),
                     f->spec.params.initial_subsidy + 5000 + 3000 + 3300 + 1000 + 9000 + 8000);
    assert_int_equal(balance(f, 5), 500);
    bwc_state_view v = bwc_chain_view(&f->chain);
    bwc_content c;
    assert_int_equal(bwc_state_content(&v, &reg3.body.content_register.content_id, &c), 1);
    assert_memory_equal(&c.publisher, &reg3.from, 32);
    fixture_free(f);
}

/* Transactions that stop applying without their sender doing anything (another sender's
 * content_register, a channel_open whose expiry the height reached) are dropped when the block
 * connects, with what follows them, so they cannot hold back the sender's later transactions;
 * a sender whose transactions still apply keeps them. */
static void test_invalidated_by_others(void **state)
{
    (void)state;
    fixture *f = fixture_new(0);
    bwc_tx reg1 = content_register(f, 1, 0, 9000, 0xd7);
    bwc_tx reg2 = content_register(f, 2, 0, 2000, 0xd7);
    bwc_tx next2 = transfer(f, 2, 1, 5, 77);
    bwc_tx open3 = channel_open(f, 3, 0, 2, 5000, 100, 2); /* valid at height 1 only */
    bwc_tx open4 = channel_open(f, 4, 0, 2, 5000, 100, 3); /* valid at heights 1 and 2 */
    assert_string_equal(submit(f, &reg2), "");
    assert_string_equal(submit(f, &next2), "");
    assert_string_equal(submit(f, &open3), "");
    assert_string_equal(submit(f, &open4), "");
    assert_int_equal(bwc_mempool_size(&f->pool), 4);
    /* reg1 confirms at height 1 in a block that does not come from this pool. */
    bwc_hash id;
    assert_int_equal(submit_block(f, bwc_chain_tip(&f->chain), 0, &reg1, 1, &id),
                     BWC_SUBMIT_ACCEPTED);
    assert_false(pooled(f, &reg2));
    assert_false(pooled(f, &next2));
    assert_false(pooled(f, &open3));
    assert_true(pooled(f, &open4));
    assert_int_equal(bwc_mempool_size(&f->pool), 1);
    assert_int_equal(f->pool.bytes, tx_len(&open4));
    /* The sender can go on from its account nonce without paying for a replacement. */
    bwc_tx other = transfer_fee(f, 2, 0, 5, 55, 2000);
    assert_true(tx_len(&other) <= tx_len(&open4)); /* so other pays the better rate */
    assert_string_equal(submit(f, &other), "");
    bwc_block b;
    mine(f, &b);
    bwc_tx want[2] = {other, open4};
    assert_block_txs(f, &b, want, 2);
    bwc_block_free(&b);
    assert_int_equal(balance(f, 5), 55);
    assert_int_equal(bwc_mempool_size(&f->pool), 0);
    fixture_free(f);
}

/* A future transaction must be payable from the sender's balance: otherwise keys without a
 * coin could fill the pool with made-up fees and evict every honest transaction. */
static void test_future_tx_must_be_payable(void **state)
{
    (void)state;
    fixture *f = fixture_new(0);
    bwc_tx a0 = transfer_fee(f, 1, 0, 5, 100, 1000);
    bwc_tx b0 = transfer_fee(f, 2, 0, 5, 100, 2000);
    size_t len = tx_len(&a0);
    bwc_mempool_free(&f->pool);
    bwc_mempool_init(&f->pool, &f->chain, 2 * len);
    assert_string_equal(submit(f, &a0), "");
    assert_string_equal(submit(f, &b0), "");

    bwc_tx free_ride = transfer_fee(f, 8, 1, 5, 100, 1000000000000ull); /* key 8 owns nothing */
    assert_int_equal(tx_len(&free_ride), len + 6); /* a 9-byte fee instead of 3 bytes */
    assert_int_equal(balance(f, 8), 0);
    assert_string_equal(submit(f, &free_ride), "bad-tx-insufficient-funds");
    assert_true(pooled(f, &a0) && pooled(f, &b0));
    assert_int_equal(f->pool.bytes, 2 * len);

    /* A funded sender: the whole balance may go, not one unit more. */
    uint64_t all = balance(f, 3);
    bwc_tx over = transfer_fee(f, 3, 2, 5, all - 5000 + 1, 5000);
    assert_string_equal(submit(f, &over), "bad-tx-insufficient-funds");
    bwc_tx exact = transfer_fee(f, 3, 2, 5, all - 5000, 5000);
    assert_int_equal(tx_len(&exact), len + 7); /* a 9-byte amount instead of 2 bytes */
    /* It outbids both and needs the room of both: a0 goes, then b0. */
    assert_string_equal(submit(f, &exact), "");
    assert_true(pooled(f, &exact));
    assert_false(pooled(f, &a0));
    assert_false(pooled(f, &b0));
    assert_int_equal(bwc_mempool_size(&f->pool), 1);
    assert_int_equal(f->pool.bytes, len + 7);
    fixture_free(f);
}

/* ================================ chain events ================================ */

/* A block connected elsewhere: what it included leaves, a pooled tx whose nonce it used is
 * dropped, the sender's next one stays. */
static void test_block_connected(void **state)
{
    (void)state;
    fixture *f = fixture_new(0);
    bwc_tx t = transfer(f, 1, 0, 5, 100);
    bwc_tx u = transfer(f, 1, 1, 5, 200);
    bwc_tx v = transfer(f, 2, 0, 6, 300);
    assert_string_equal(submit(f, &t), "");
    assert_string_equal(submit(f, &u), "");
    assert_string_equal(submit(f, &v), "");
    assert_int_equal(bwc_mempool_size(&f->pool), 3);

    bwc_tx body[2] = {transfer(f, 1, 0, 7, 999), v};
    bwc_hash id;
    assert_int_equal(submit_block(f, bwc_chain_tip(&f->chain), 0, body, 2, &id),
                     BWC_SUBMIT_ACCEPTED);
    assert_int_equal(f->connected, 1);
    assert_false(pooled(f, &t)); /* nonce 0 used by another transaction */
    assert_false(pooled(f, &v)); /* included */
    assert_true(pooled(f, &u));
    assert_int_equal(bwc_mempool_size(&f->pool), 1);
    assert_int_equal(f->pool.bytes, tx_len(&u));

    bwc_block b;
    mine(f, &b);
    assert_block_txs(f, &b, &u, 1);
    bwc_block_free(&b);
    assert_int_equal(bwc_mempool_size(&f->pool), 0);
    assert_int_equal(balance(f, 5), 200);
    assert_int_equal(balance(f, 7), 999);
    assert_int_equal(balance(f, 6), 300);
    fixture_free(f);
}

/* A confirmed transaction is refused as known. */
static void test_already_known(void **state)
{
    (void)state;
    fixture *f = fixture_new(0);
    bwc_tx t = transfer(f, 1, 0, 5, 100);
    assert_string_equal(submit(f, &t), "");
    bwc_block b;
    mine(f, &b);
    bwc_block_free(&b);
    assert_int_equal(bwc_mempool_size(&f->pool), 0);
    assert_string_equal(submit(f, &t), "txn-already-known");
    assert_int_equal(bwc_mempool_size(&f->pool), 0);
    fixture_free(f);
}

/* A reorganisation to a heavier branch without a block's transactions puts them back; the
 * ones the new branch holds leave again. */
static void test_block_disconnected(void **state)
{
    (void)state;
    fixture *f = fixture_new(0);
    const bwc_index *genesis = bwc_chain_tip(&f->chain);
    bwc_tx t = transfer(f, 1, 0, 5, 100);
    bwc_tx w = transfer(f, 2, 0, 6, 50);
    assert_string_equal(submit(f, &t), "");
    assert_string_equal(submit(f, &w), "");
    bwc_block b;
    mine(f, &b);
    assert_int_equal(b.n_txs, 2);
    bwc_block_free(&b);
    bwc_hash a1 = bwc_chain_tip(&f->chain)->id;
    assert_int_equal(bwc_mempool_size(&f->pool), 0);
    assert_int_equal(balance(f, 5), 100);
    assert_string_equal(submit(f, &t), "txn-already-known");

    /* B1 (holding w) ties with A1: A1 stays. B2 makes B heavier. */
    bwc_hash b1, b2;
    assert_int_equal(submit_block(f, genesis, 1, &w, 1, &b1), BWC_SUBMIT_ACCEPTED);
    assert_memory_equal(&bwc_chain_tip(&f->chain)->id, &a1, 32);
    assert_int_equal(f->disconnected, 0);
    assert_int_equal(submit_block(f, bwc_chain_find(&f->chain, &b1), 0, NULL, 0, &b2),
                     BWC_SUBMIT_ACCEPTED);
    assert_memory_equal(&bwc_chain_tip(&f->chain)->id, &b2, 32);
    assert_int_equal(f->disconnected, 1);
    assert_int_equal(f->connected, 3);
    assert_true(pooled(f, &t));
    assert_false(pooled(f, &w));
    assert_int_equal(bwc_mempool_size(&f->pool), 1);
    assert_int_equal(f->pool.bytes, tx_len(&t));
    assert_int_equal(balance(f, 5), 0);
    assert_int_equal(balance(f, 6), 50);
    /* No longer confirmed: it is pooled again, not known. */
    assert_string_equal(submit(f, &t), "txn-already-in-mempool");

    mine(f, &b);
    assert_block_txs(f, &b, &t, 1);
    bwc_block_free(&b);
    assert_int_equal(balance(f, 5), 100);
    assert_int_equal(bwc_mempool_size(&f->pool), 0);
    fixture_free(f);
}

/* ================================ receipts ================================ */

static void test_receipt_pool(void **state)
{
    (void)state;
    fixture *f = fixture_new(0);
    const uint64_t deposit = 1000000, price = 100000, rfee = f->spec.params.receipt_fee;
    assert_int_equal(rfee, 1000);
    bwc_tx open = channel_open(f, 1, 0, 2, deposit, price, 1000);
    bwc_hash ch = txid_of(f, &open);
    assert_string_equal(submit(f, &open), "");

    /* No channel yet. */
    bwc_receipt early = receipt(f, &ch, 1, MIB, 50000, 2, 1);
    assert_string_equal(submit_receipt(f, &early), "bad-receipt-unknown-channel");
    assert_null(pooled_receipt(f, &ch));

    bwc_block b;
    mine(f, &b);
    assert_block_txs(f, &b, &open, 1);
    bwc_block_free(&b);
    bwc_state_view v = bwc_chain_view(&f->chain);
    bwc_channel c;
    assert_int_equal(bwc_state_channel(&v, &ch, &c), 1);
    assert_int_equal(c.deposit, deposit);
    assert_int_equal(c.seq, 0);

    bwc_receipt r1 = receipt(f, &ch, 1, MIB, 50000, 2, 1);
    bwc_hash rid1 = rid_of(f, &r1);
    assert_string_equal(submit_receipt(f, &r1), "");
    assert_int_equal(bwc_map_size(&f->pool.receipts), 1);
    assert_memory_equal(&pooled_receipt(f, &ch)->rid, &rid1, 32);
    assert_string_equal(submit_receipt(f, &r1), "receipt-already-pooled");

    bwc_receipt r2 = receipt(f, &ch, 2, 2 * MIB, 150000, 2, 1);
    bwc_hash rid2 = rid_of(f, &r2);
    assert_string_equal(submit_receipt(f, &r2), "");
    assert_int_equal(bwc_map_size(&f->pool.receipts), 1);
    const bwc_mempool_receipt *e = pooled_receipt(f, &ch);
    assert_memory_equal(&e->rid, &rid2, 32);
    assert_int_equal(e->r.seq, 2);
    assert_int_equal(e->r.amount, 150000);

    /* Equal or older seq. */
    bwc_receipt same_seq = receipt(f, &ch, 2, 2 * MIB, 160000, 2, 1);
    assert_string_equal(submit_receipt(f, &same_seq), "bad-receipt-seq");
    assert_string_equal(submit_receipt(f, &r1), "bad-receipt-seq");

    /* Signatures. */
    bwc_receipt r3 = receipt(f, &ch, 3, 3 * MIB, 250000, 0, 1);
    assert_false(r3.has_relay_sig);
    assert_string_equal(submit_receipt(f, &r3), "bad-receipt-relay-sig-missing");
    r3 = receipt(f, &ch, 3, 3 * MIB, 250000, 3, 1);
    assert_string_equal(submit_receipt(f, &r3), "bad-receipt-relay-sig");
    r3 = receipt(f, &ch, 3, 3 * MIB, 250000, 2, 4);
    assert_string_equal(submit_receipt(f, &r3), "bad-receipt-consumer-sig");
    r3 = receipt(f, &ch, 3, 3 * MIB, 250000, 2, 1);
    r3.relay_sig.b[63] ^= 0x80;
    assert_string_equal(submit_receipt(f, &r3), "bad-receipt-relay-sig");
    assert_int_equal(bwc_map_size(&f->pool.receipts), 1);
    assert_memory_equal(&pooled_receipt(f, &ch)->rid, &rid2, 32);

    /* The template settles r2. */
    uint64_t relay_before = balance(f, 2), consumer_before = balance(f, 1);
    uint64_t producer_before = balance(f, PRODUCER);
    mine(f, &b);
    assert_int_equal(b.n_txs, 0);
    assert_int_equal(b.n_receipts, 1);
    bwc_hash got = rid_of(f, &b.receipts[0]);
    assert_memory_equal(&got, &rid2, 32);
    assert_memory_equal(&b.receipts[0].relay_sig, &r2.relay_sig, sizeof r2.relay_sig);
    bwc_block_free(&b);
    assert_int_equal(bwc_map_size(&f->pool.receipts), 0);
    assert_null(pooled_receipt(f, &ch));
    assert_int_equal(balance(f, 2), relay_before + 150000 - rfee);
    assert_int_equal(balance(f, 1), consumer_before);
    assert_int_equal(balance(f, PRODUCER), producer_before + f->spec.params.initial_subsidy + rfee);
    v = bwc_chain_view(&f->chain);
    assert_int_equal(bwc_state_channel(&v, &ch, &c), 1);
    assert_int_equal(c.seq, 2);
    assert_int_equal(c.claimed, 150000);
    assert_int_equal(c.bytes, 2 * MIB);
    assert_int_equal(account(f, 2).bytes_served, 2 * MIB);
    assert_int_equal(account(f, 1).bytes_consumed, 2 * MIB);

    /* Settled: the chain refuses it now, and a newer one is welcome. */
    assert_string_equal(submit_receipt(f, &r2), "bad-receipt-seq");
    r3 = receipt(f, &ch, 3, 3 * MIB, 250000, 2, 1);
    assert_string_equal(submit_receipt(f, &r3), "");
    assert_int_equal(bwc_map_size(&f->pool.receipts), 1);
    fixture_free(f);
}

/* A receipt in a block that a reorganisation takes away comes back to the pool. */
static void test_receipt_back_on_disconnect(void **state)
{
    (void)state;
    fixture *f = fixture_new(0);
    bwc_tx open = channel_open(f, 1, 0, 2, 1000000, 100000, 1000);
    bwc_hash ch = txid_of(f, &open);
    assert_string_equal(submit(f, &open), "");
    bwc_block b;
    mine(f, &b);
    bwc_block_free(&b);
    const bwc_index *fork = bwc_chain_tip(&f->chain);
    bwc_receipt r = receipt(f, &ch, 1, MIB, 40000, 2, 1);
    bwc_hash rid = rid_of(f, &r);
    assert_string_equal(submit_receipt(f, &r), "");
    mine(f, &b);
    assert_int_equal(b.n_receipts, 1);
    bwc_block_free(&b);
    assert_null(pooled_receipt(f, &ch));

    bwc_hash x1, x2;
    assert_int_equal(submit_block(f, fork, 1, NULL, 0, &x1), BWC_SUBMIT_ACCEPTED);
    assert_int_equal(f->disconnected, 0);
    assert_int_equal(submit_block(f, bwc_chain_find(&f->chain, &x1), 0, NULL, 0, &x2),
                     BWC_SUBMIT_ACCEPTED);
    assert_int_equal(f->disconnected, 1);
    assert_memory_equal(&bwc_chain_tip(&f->chain)->id, &x2, 32);
    const bwc_mempool_receipt *e = pooled_receipt(f, &ch);
    assert_non_null(e);
    assert_memory_equal(&e->rid, &rid, 32);
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_and_duplicate),
        cmocka_unit_test(test_reject_sig_fee_malformed),
        cmocka_unit_test(test_nonce_rules),
        cmocka_unit_test(test_long_run),
        cmocka_unit_test(test_future_tx_held_then_mined),
        cmocka_unit_test(test_insufficient_funds_in_sequence),
        cmocka_unit_test(test_replace_by_fee),
        cmocka_unit_test(test_eviction),
        cmocka_unit_test(test_eviction_refusal_changes_nothing),
        cmocka_unit_test(test_replacement_refused_keeps_original),
        cmocka_unit_test(test_replacement_dropped_by_recheck),
        cmocka_unit_test(test_template),
        cmocka_unit_test(test_invalidated_by_others),
        cmocka_unit_test(test_future_tx_must_be_payable),
        cmocka_unit_test(test_block_connected),
        cmocka_unit_test(test_already_known),
        cmocka_unit_test(test_block_disconnected),
        cmocka_unit_test(test_receipt_pool),
        cmocka_unit_test(test_receipt_back_on_disconnect),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
