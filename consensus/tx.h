/* tx.h: transactions (PROTOCOL.md §3.1, §3.2): encoding, strict decoding, txid. */
#ifndef BWC_CONSENSUS_TX_H
#define BWC_CONSENSUS_TX_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/buf.h"
#include "consensus/result.h"
#include "consensus/types.h"

#define BWC_TX_MAX_BYTES 4096 /* §7: protocol constant */
#define BWC_MEMO_MAX 64
#define BWC_NAME_MAX 200
#define BWC_ENDPOINT_MAX 200
#define BWC_MIME_MAX 100
#define BWC_REGION_LEN 2
#define BWC_MAX_CHUNKS (1u << 18) /* §3.5 */

typedef enum {
    BWC_TX_TRANSFER = 1,
    BWC_TX_CHANNEL_OPEN = 2,
    BWC_TX_CONTENT_REGISTER = 3,
    BWC_TX_RELAY_ANNOUNCE = 4,
    BWC_TX_RELAY_RETIRE = 5,
    BWC_TX_SPONSOR = 6,
} bwc_tx_type;

typedef struct {
    bwc_pubkey to;
    uint64_t amount;
    unsigned char memo[BWC_MEMO_MAX];
    size_t memo_len; /* 0 = no memo */
} bwc_tx_transfer;

typedef struct {
    bwc_pubkey relay;
    uint64_t deposit;
    uint64_t price; /* units per MiB */
    uint64_t expiry; /* block height */
} bwc_tx_channel_open;

typedef struct {
    bwc_hash content_id;
    uint64_t size;
    uint64_t chunk_size;
    char name[BWC_NAME_MAX + 1];
    size_t name_len; /* 0 = absent, likewise below */
    char origin[BWC_ENDPOINT_MAX + 1];
    size_t origin_len;
    char mime[BWC_MIME_MAX + 1];
    size_t mime_len;
} bwc_tx_content_register;

typedef struct {
    char endpoint[BWC_ENDPOINT_MAX + 1];
    size_t endpoint_len;
    char region[BWC_REGION_LEN + 1];
    size_t region_len;
    uint64_t price;
    uint64_t rate;        /* bytes/s, 0 = unlimited */
    uint64_t quota;       /* bytes per 30 days */
    uint64_t burst_quota; /* bytes per 30 days, >= quota */
    uint64_t burst_hours; /* 0, or 12..48 */
} bwc_tx_relay_announce;

typedef struct {
    bwc_hash content_id;
    uint64_t amount;
    uint64_t price;
    uint64_t per_consumer_cap;
    uint64_t expiry;
    int has_ticket_key;
    bwc_pubkey ticket_key;
} bwc_tx_sponsor;

typedef struct {
    uint64_t type; /* bwc_tx_type */
    bwc_pubkey from;
    uint64_t nonce;
    uint64_t fee;
    union {
        bwc_tx_transfer transfer;
        bwc_tx_channel_open channel_open;
        bwc_tx_content_register content_register;
        bwc_tx_relay_announce relay_announce;
        bwc_tx_sponsor sponsor;
    } body; /* relay_retire has an empty body */
    bwc_sig sig;
} bwc_tx;

/* Appends enc(tx), or enc(tx\{15}) when without_sig. Returns 1, or 0 on allocation failure. */
int bwc_tx_encode(const bwc_tx *tx, int without_sig, bwc_buf *out);

/* Decodes a transaction from exactly n bytes, applying every context-free rule of §2, §3.2 and
 * §7 (size, types, ranges, endpoint and region grammar). Returns 1, or 0 with res set and *tx
 * zeroed. Rules that need state or the chainspec (fee >= min_fee, keys on the curve, expiry
 * windows, the signature) are checked when the transaction is applied. */
int bwc_tx_decode(bwc_tx *tx, const unsigned char *p, size_t n, bwc_result *res);

/* txid = TH("bwc/tx", chain_id || enc(tx\{15})): the message the sender signs. */
void bwc_tx_id(const bwc_hash *chain_id, const bwc_tx *tx, bwc_hash *txid);

/* The tx_root leaf TH("bwc/txw", enc(tx)), signature included. */
void bwc_tx_leaf(const bwc_tx *tx, bwc_hash *leaf);

/* What the body moves out of the sender's balance on top of the fee: a transfer's amount, a
 * channel's deposit, a sponsor pool's amount; 0 for the other types. */
uint64_t bwc_tx_spend(const bwc_tx *tx);

/* Returns the lower-case name of a type ("transfer", ...) or NULL for an unknown one. */
const char *bwc_tx_type_name(uint64_t type);

/* Returns 1 when s[0..n) is an endpoint of §3.2: http://HOST:PORT, lower-case scheme, HOST an
 * LDH DNS name, a dotted-quad IPv4 address without leading zeros or a bracketed IPv6 address
 * without zone id, PORT 1-65535 without a leading zero, nothing after. */
int bwc_endpoint_valid(const char *s, size_t n);

/* Returns 1 when s[0..n) is a relay region of §3.2: two capital letters A-Z (ISO 3166-1
 * alpha-2, ZZ for unknown), else 0. */
int bwc_region_valid(const char *s, size_t n);

/* Returns 1 when a relay's ceilings follow §3.2: burst_quota >= quota, and burst_hours 0 (no
 * burst) or 12 to 48; else 0. burst_hours 0 is always valid, so passing 0 checks the quota
 * rule alone. */
int bwc_relay_ceilings_valid(uint64_t quota, uint64_t burst_quota, uint64_t burst_hours);

/* Returns 1 when chunk_size is a power of two from 16 KiB to 4 MiB (§3.5). */
int bwc_chunk_size_valid(uint64_t chunk_size);

#endif
