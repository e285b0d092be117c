/* download_select.h: which relays a download uses and which channels it may reuse: relay records
 * from listrelays, their ranking (region, price, capacity), the --max-price filter, and the
 * test for an open channel with enough left. Pure: no I/O, no clock. */
#ifndef BWC_WALLET_DOWNLOAD_SELECT_H
#define BWC_WALLET_DOWNLOAD_SELECT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <secp256k1.h>

#include "consensus/bech32m.h"
#include "consensus/tx.h"
#include "consensus/types.h"

/* A relay as its record announces it (PROTOCOL.md §3.2 relay_announce). */
typedef struct {
    bwc_pubkey key;
    char address[BWC_ADDRESS_MAX];
    char endpoint[BWC_ENDPOINT_MAX + 1];
    char host[256]; /* without brackets for IPv6 */
    uint16_t port;
    char region[BWC_REGION_LEN + 1];
    uint64_t price; /* units per MiB; 0 serves without a channel */
    uint64_t rate;  /* bytes per second, 0 = unlimited */
    uint64_t quota; /* bytes per 30 days */
} bwc_dl_relay;

/* Splits an endpoint "http://HOST:PORT" (PROTOCOL.md §3.2) into host (brackets of an IPv6
 * literal removed) and port. Returns 1, or 0 for anything else. */
int bwc_dl_endpoint_parse(const char *endpoint, char *host, size_t hostlen, uint16_t *port);

/* Reads one listrelays/getrelay object (doc/rpc.md) for the chain whose hrp is hrp. Returns 1,
 * or 0 with err (a record the node should never have given). */
int bwc_dl_relay_from_json(bwc_dl_relay *r, const json_t *o, const secp256k1_context *secp,
                           const char *hrp, char *err, size_t errlen);

/* Ranking, best first: a relay in region (when region is non-NULL) before one elsewhere, then
 * the lower price, then the higher rate (0, unlimited, highest), then the larger quota, then the
 * key (so the order is total and repeatable). Returns <0, 0 or >0 as for qsort. */
int bwc_dl_relay_compare(const bwc_dl_relay *a, const bwc_dl_relay *b, const char *region);

/* Sorts r[0..n) by bwc_dl_relay_compare and moves the relays whose price exceeds max_price
 * (when has_max_price) to the end. Returns how many are eligible (they come first). */
size_t bwc_dl_relay_rank(bwc_dl_relay *r, size_t n, const char *region, int has_max_price,
                         uint64_t max_price);

/* ---- reusing a channel ---- */

/* An open channel is not reused when it ends within this many blocks: the relay stops serving
 * at its expiry (doc/wallet.md). */
#define BWC_DL_MIN_BLOCKS_LEFT 100

/* What the chain says of a channel (getchannel) and the most it has been used: base_bytes is
 * the largest of the chain's settled bytes, the relay's bytes served and our newest receipt's
 * bytes. */
typedef struct {
    bwc_pubkey consumer, relay;
    uint64_t deposit, price, expiry, claimed;
    int open; /* state "open" */
    uint64_t base_bytes;
} bwc_dl_channel_info;

/* Whether a download may keep using channel c with the relay whose record asks relay_price:
 * open, consumer and relay as expected, at least BWC_DL_MIN_BLOCKS_LEFT blocks before expiry
 * after tip, a price the relay accepts (>= relay_price), and a deposit that still covers
 * need_bytes more: ceil((base_bytes + need_bytes) x price / 2^20) <= deposit. Returns 1, or 0
 * with *why: closed, wrong-parties, near-expiry, price-below-relay, deposit-low. */
int bwc_dl_channel_usable(const bwc_dl_channel_info *c, const bwc_pubkey *consumer,
                          const bwc_pubkey *relay, uint64_t relay_price, uint64_t tip,
                          uint64_t need_bytes, const char **why);

/* Bytes a download expects one relay to serve: its share ceil(remaining / n_relays) of what is
 * left, rounded up to whole chunks of chunk_size, at most remaining. n_relays 0 counts as 1. A
 * channel is reused when it covers this much; a relay that serves more than its share may use
 * its deposit up, and the other relays then take over. */
uint64_t bwc_dl_need_bytes(uint64_t remaining, size_t n_relays, uint64_t chunk_size);

/* The deposit of a new channel when --deposit is not given: what the whole of remaining plus one
 * chunk costs at price (so any one relay can finish the download alone), and at least 10
 * receipt fees so the relay can settle. Returns 1, or 0 on overflow. */
int bwc_dl_default_deposit(uint64_t remaining, uint64_t chunk_size, uint64_t price,
                           uint64_t receipt_fee, uint64_t *deposit);

#endif
