/* bench_connect.c: block import speed for blocks full of receipts, as a ratio to the raw
 * libsecp256k1 BIP340 verification rate measured in the same run.
 *
 * Each receipt costs two signature checks, so the bound is (verify rate x cores) / 2 receipts
 * per second. Setup (opening the channels, signing the receipts) is not timed; the timed part
 * is bwc_chain_submit of each block into a fresh LevelDB: decode, header and root checks,
 * storing, applying every receipt, the signatures on -par threads, one synced batch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chainspec/chainspec.h"
#include "common/log.h"
#include "consensus/engine.h"
#include "consensus/key.h"
#include "consensus/receipt.h"
#include "node/chain.h"
#include "node/miner.h"
#include "node/sigcheck.h"
#include "node/store.h"

#define CHANNELS 2000
#define BLOCKS 8
#define VERIFY_SAMPLES 20000

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_connect: %s\n", what);
    exit(1);
}

static void secret(unsigned char sk[32], unsigned v)
{
    memset(sk, 0, 32);
    sk[30] = (unsigned char)(v >> 8);
    sk[31] = (unsigned char)v;
}

typedef struct {
    bwc_chainspec spec;
    secp256k1_context *secp;
    char dir[64];
    bwc_store *store;
    bwc_chain chain;
} bench;

static void open_bench(bench *b)
{
    char err[256];
    snprintf(b->dir, sizeof b->dir, "/tmp/bwc-bench-XXXXXX");
    if (!mkdtemp(b->dir))
        die("mkdtemp");
    if (!(b->store = bwc_store_open(b->dir, err, sizeof err)) ||
        bwc_chain_open(&b->chain, b->store, &b->spec.params, b->secp, 2, 0, err, sizeof err) != 0)
        die(err);
}

static void close_bench(bench *b)
{
    char cmd[128];
    bwc_chain_close(&b->chain);
    bwc_store_close(b->store);
    snprintf(cmd, sizeof cmd, "rm -rf %s", b->dir);
    if (system(cmd) != 0)
        die("cleanup");
}

/* Seals a block of txs or receipts on the tip of b, encoded into out. */
static void seal(bench *b, bwc_block *blk, const bwc_pubkey *producer, uint64_t time,
                 bwc_buf *out)
{
    const bwc_index *tip = bwc_chain_tip(&b->chain);
    bwc_header *h = &blk->header;
    memset(h, 0, sizeof *h);
    h->version = 1;
    h->height = tip->height + 1;
    h->prev = tip->id;
    h->time = time;
    h->producer = *producer;
    h->has_pow = 1;
    h->target = bwc_asert_next_compact(&b->spec.params, tip->height, tip->header.time);
    if (!bwc_block_roots(blk, &h->tx_root, &h->receipt_root) || !bwc_miner_grind(h, 1u << 20))
        die("seal");
    bwc_buf_reset(out);
    if (!bwc_block_encode(blk, out))
        die("encode");
}

static void submit(bench *b, bwc_buf *raw)
{
    bwc_result res;
    if (bwc_chain_submit(&b->chain, raw->data, raw->len, UINT64_MAX / 2, NULL, &res) !=
        BWC_SUBMIT_ACCEPTED) {
        fprintf(stderr, "bench_connect: block refused: %s\n", res.reject);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    unsigned threads = argc > 1 ? (unsigned)atoi(argv[1]) : 2;
    bench b;
    char err[256];
    memset(&b, 0, sizeof b);
    bwc_log_open(NULL, 0, err, sizeof err);
    if (bwc_chainspec_load_named(&b.spec, "dev", err, sizeof err) != 0)
        die(err);
    b.secp = bwc_secp_create(NULL);
    open_bench(&b);
    const bwc_params *p = &b.spec.params;
    unsigned char consumer_sk[32], relay_sk[32], aux[32] = {0};
    bwc_pubkey consumer, relay, producer;
    secret(consumer_sk, 1); /* a funded dev account */
    secret(relay_sk, 2);
    bwc_key_pubkey(b.secp, &consumer, consumer_sk);
    bwc_key_pubkey(b.secp, &relay, relay_sk);
    producer = relay;

    /* Setup block: CHANNELS channel_open transactions from the consumer to the relay. */
    bwc_block blk;
    memset(&blk, 0, sizeof blk);
    blk.txs = calloc(CHANNELS, sizeof *blk.txs);
    bwc_hash *channel = calloc(CHANNELS, sizeof *channel);
    if (!blk.txs || !channel)
        die("out of memory");
    for (unsigned i = 0; i < CHANNELS; i++) {
        bwc_tx *tx = &blk.txs[i];
        tx->type = BWC_TX_CHANNEL_OPEN;
        tx->from = consumer;
        tx->nonce = i;
        tx->fee = p->min_fee;
        tx->body.channel_open.relay = relay;
        tx->body.channel_open.deposit = 1000 * BWC_UNITS_PER_COIN / CHANNELS;
        tx->body.channel_open.price = 4000;
        tx->body.channel_open.expiry = 1000;
        bwc_tx_id(&b.chain.chain_id, tx, &channel[i]);
        bwc_sign(b.secp, &tx->sig, consumer_sk, &channel[i], aux);
    }
    blk.n_txs = CHANNELS;
    bwc_buf raw = BWC_BUF_INIT;
    uint64_t t = p->genesis_time + 1;
    seal(&b, &blk, &producer, t++, &raw);
    submit(&b, &raw);
    free(blk.txs);

    /* BLOCKS blocks of CHANNELS receipts each, every channel one step further per block. */
    bwc_buf *blocks = calloc(BLOCKS, sizeof *blocks);
    memset(&blk, 0, sizeof blk);
    blk.receipts = calloc(CHANNELS, sizeof *blk.receipts);
    blk.n_receipts = CHANNELS;
    if (!blocks || !blk.receipts)
        die("out of memory");
    /* Sealing needs each parent's id: build on a scratch chain, replay into a fresh one. */
    for (unsigned k = 0; k < BLOCKS; k++) {
        for (unsigned i = 0; i < CHANNELS; i++) {
            bwc_receipt *r = &blk.receipts[i];
            bwc_hash rid;
            memset(r, 0, sizeof *r);
            r->channel = channel[i];
            r->seq = k + 1;
            r->bytes = (uint64_t)(k + 1) << 20;
            r->amount = (k + 1) * (p->receipt_fee + 1000);
            r->has_relay_sig = 1;
            bwc_receipt_id(&b.chain.chain_id, r, &rid);
            bwc_sign(b.secp, &r->consumer_sig, consumer_sk, &rid, aux);
            bwc_sign(b.secp, &r->relay_sig, relay_sk, &rid, aux);
        }
        bwc_buf_init(&blocks[k]);
        seal(&b, &blk, &producer, t++, &blocks[k]);
        submit(&b, &blocks[k]);
    }
    /* The setup block again, for the fresh chain. */
    bwc_buf setup = BWC_BUF_INIT;
    if (bwc_chain_read_block(&b.chain, &bwc_chain_at(&b.chain, 1)->id, &setup, NULL) != 0)
        die("read");
    bwc_hash chain_id = b.chain.chain_id;
    close_bench(&b);

    /* Reference: raw verification, one core, over signatures of the blocks. */
    bwc_sigbatch sb;
    bwc_sigbatch_init(&sb);
    bwc_sig_checker q = bwc_sigbatch_checker(&sb);
    for (unsigned i = 0; i < VERIFY_SAMPLES / 2 && i < CHANNELS; i++) {
        bwc_hash rid;
        bwc_receipt_id(&chain_id, &blk.receipts[i], &rid);
        q.check(q.ctx, &consumer, &rid, &blk.receipts[i].consumer_sig, "x");
        q.check(q.ctx, &relay, &rid, &blk.receipts[i].relay_sig, "x");
    }
    double t0 = now_s();
    size_t verified = 0;
    while (now_s() - t0 < 1.0) {
        if (bwc_sigbatch_verify(&sb, b.secp, 1) != NULL)
            die("reference signatures do not verify");
        verified += sb.n;
    }
    double raw_rate = (double)verified / (now_s() - t0);
    bwc_sigbatch_free(&sb);

    /* Timed: import the receipt blocks into a fresh node store. */
    open_bench(&b);
    b.chain.sig_threads = threads;
    submit(&b, &setup);
    t0 = now_s();
    for (unsigned k = 0; k < BLOCKS; k++)
        submit(&b, &blocks[k]);
    double elapsed = now_s() - t0;
    close_bench(&b);

    double receipts = (double)BLOCKS * CHANNELS;
    double rate = receipts / elapsed;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned used = threads < (unsigned)cores ? threads : (unsigned)cores;
    double bound = raw_rate * used / 2.0;
    printf("bench connect: %u blocks x %u receipts (%zu bytes each) in %.3f s\n", BLOCKS,
           CHANNELS, blocks[0].len, elapsed);
    printf("bench connect: raw BIP340 verify %.0f/s per core; bound with %u threads %.0f "
           "receipts/s\n",
           raw_rate, used, bound);
    printf("bench connect: %.0f receipts/s, %.2f blocks/s, ratio to bound %.2f\n", rate,
           BLOCKS / elapsed, rate / bound);
    for (unsigned k = 0; k < BLOCKS; k++)
        bwc_buf_free(&blocks[k]);
    free(blocks);
    free(blk.receipts);
    free(channel);
    bwc_buf_free(&setup);
    bwc_buf_free(&raw);
    bwc_secp_destroy(b.secp);
    bwc_chainspec_free(&b.spec);
    return 0;
}
