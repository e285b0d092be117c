/* bench_mkchain.c: writes a dev chain full of receipts, one block per line in hex, for the
 * sync benchmark (bench_sync.sh). Block 1 opens the channels; every later block carries one
 * receipt per channel, signed by consumer and relay, one step further each block.
 *
 * Usage: bench_mkchain BLOCKS RECEIPTS_PER_BLOCK > chain.hex */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chainspec/chainspec.h"
#include "common/hex.h"
#include "consensus/engine.h"
#include "consensus/genesis.h"
#include "consensus/key.h"
#include "consensus/receipt.h"
#include "node/miner.h"

static void die(const char *what)
{
    fprintf(stderr, "bench_mkchain: %s\n", what);
    exit(1);
}

static void secret(unsigned char sk[32], unsigned v)
{
    memset(sk, 0, 32);
    sk[31] = (unsigned char)v;
}

/* Seals blk on parent (id, height, time) and prints it; updates the parent to it. */
static void emit(const bwc_params *p, bwc_block *blk, const bwc_pubkey *producer,
                 bwc_hash *prev, uint64_t *height, uint64_t *time)
{
    bwc_header *h = &blk->header;
    memset(h, 0, sizeof *h);
    h->version = 1;
    h->height = *height + 1;
    h->prev = *prev;
    h->time = ++*time;
    h->producer = *producer;
    h->has_pow = 1;
    h->target = bwc_asert_next_compact(p, *height, *time - 1);
    bwc_buf raw = BWC_BUF_INIT;
    if (!bwc_block_roots(blk, &h->tx_root, &h->receipt_root) || !bwc_miner_grind(h, 1u << 20) ||
        !bwc_block_encode(blk, &raw))
        die("cannot seal a block");
    char *hex = malloc(raw.len * 2 + 1);
    if (!hex)
        die("out of memory");
    bwc_hex_encode(hex, raw.data, raw.len);
    puts(hex);
    free(hex);
    bwc_buf_free(&raw);
    bwc_header_id(h, prev);
    *height = h->height;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        die("usage: bench_mkchain BLOCKS RECEIPTS_PER_BLOCK");
    unsigned blocks = (unsigned)atoi(argv[1]), per = (unsigned)atoi(argv[2]);
    if (blocks < 2 || per < 1 || per > 5000)
        die("BLOCKS >= 2, 1 <= RECEIPTS_PER_BLOCK <= 5000");
    bwc_chainspec cs;
    char err[256];
    if (bwc_chainspec_load_named(&cs, "dev", err, sizeof err) != 0)
        die(err);
    const bwc_params *p = &cs.params;
    secp256k1_context *secp = bwc_secp_create(NULL);
    unsigned char csk[32], rsk[32], aux[32] = {0};
    bwc_pubkey consumer, relay;
    secret(csk, 1); /* funded dev accounts */
    secret(rsk, 2);
    bwc_key_pubkey(secp, &consumer, csk);
    bwc_key_pubkey(secp, &relay, rsk);
    bwc_hash prev = cs.chain_id;
    uint64_t height = 0, time = p->genesis_time;

    bwc_block blk;
    memset(&blk, 0, sizeof blk);
    blk.txs = calloc(per, sizeof *blk.txs);
    bwc_hash *channel = calloc(per, sizeof *channel);
    if (!blk.txs || !channel)
        die("out of memory");
    for (unsigned i = 0; i < per; i++) {
        bwc_tx *tx = &blk.txs[i];
        tx->type = BWC_TX_CHANNEL_OPEN;
        tx->from = consumer;
        tx->nonce = i;
        tx->fee = p->min_fee;
        tx->body.channel_open.relay = relay;
        tx->body.channel_open.deposit = 100 * BWC_UNITS_PER_COIN;
        tx->body.channel_open.price = 4000;
        tx->body.channel_open.expiry = p->max_channel_blocks;
        bwc_tx_id(&cs.chain_id, tx, &channel[i]);
        bwc_sign(secp, &tx->sig, csk, &channel[i], aux);
    }
    blk.n_txs = per;
    emit(p, &blk, &relay, &prev, &height, &time);
    free(blk.txs);
    blk.txs = NULL;
    blk.n_txs = 0;
    blk.receipts = calloc(per, sizeof *blk.receipts);
    if (!blk.receipts)
        die("out of memory");
    blk.n_receipts = per;
    for (unsigned k = 1; k < blocks; k++) {
        for (unsigned i = 0; i < per; i++) {
            bwc_receipt *r = &blk.receipts[i];
            bwc_hash rid;
            memset(r, 0, sizeof *r);
            r->channel = channel[i];
            r->seq = k;
            r->bytes = (uint64_t)k << 20;
            r->amount = (uint64_t)k * 4000;
            r->has_relay_sig = 1;
            bwc_receipt_id(&cs.chain_id, r, &rid);
            bwc_sign(secp, &r->consumer_sig, csk, &rid, aux);
            bwc_sign(secp, &r->relay_sig, rsk, &rid, aux);
        }
        emit(p, &blk, &relay, &prev, &height, &time);
    }
    free(blk.receipts);
    free(channel);
    bwc_secp_destroy(secp);
    bwc_chainspec_free(&cs);
    return 0;
}
