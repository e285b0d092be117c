/* params.h: the consensus parameters of one chain, everything that goes into genesis G (§4). */
#ifndef BWC_CONSENSUS_PARAMS_H
#define BWC_CONSENSUS_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/result.h"
#include "consensus/types.h"

#define BWC_HRP_MAX 16          /* bytes of a chain's bech32m human-readable part */
#define BWC_GENESIS_MSG_MAX 200 /* bytes of the genesis message */

typedef enum {
    BWC_ENGINE_POW = 1,
    BWC_ENGINE_POA = 2,
} bwc_engine;

typedef struct {
    bwc_pubkey address;
    uint64_t amount;
} bwc_allocation;

/* Owned by whoever filled it (the chainspec loader); free the arrays with bwc_params_free. */
typedef struct {
    char hrp[BWC_HRP_MAX + 1];
    uint32_t magic;
    uint64_t genesis_time;
    char message[BWC_GENESIS_MSG_MAX + 1];
    bwc_allocation *allocations;
    size_t n_allocations;
    bwc_engine engine;
    struct {
        uint32_t initial_target; /* compact form */
        uint64_t target_spacing;
        uint64_t half_life;
        int no_retarget;
    } pow;
    struct {
        bwc_pubkey *authorities;
        size_t n_authorities;
        uint64_t slot_seconds;
        uint64_t finality_depth;
    } poa;
    /* economics */
    uint64_t initial_subsidy;
    uint64_t halving_interval;
    uint64_t min_fee;
    uint64_t receipt_fee;
    uint64_t settle_window;
    uint64_t max_channel_blocks;
    /* limits */
    uint64_t max_block_bytes;
    uint64_t max_message_bytes;
    uint64_t max_future_seconds;
} bwc_params;

/* Sanity bounds on the limits (our choice; PROTOCOL.md §7 leaves them to the chainspec).
 * A block must hold a header (<= 512 B) and at least a few maximal transactions (4 KiB) and
 * receipts (512 B); a P2P message must carry a whole block plus its framing (message
 * header, command, the block message's own CBOR envelope), for which BWC_PARAMS_FRAMING
 * bytes are reserved; and no peer may make us buffer more than BWC_PARAMS_MAX_MESSAGE_BYTES. */
#define BWC_PARAMS_MIN_BLOCK_BYTES 16384u
#define BWC_PARAMS_FRAMING 4096u
#define BWC_PARAMS_MAX_MESSAGE_BYTES (256u * 1024u * 1024u)

/* Frees the allocation and authority arrays (NULL is fine) and zeroes *p. */
void bwc_params_free(bwc_params *p);

/* Checks the chainspec rules of PROTOCOL.md §4 and §6 plus the sanity bounds above.
 * Returns 1 (res OK), or 0 with res->code BWC_RESULT_INVALID and res->reject one of:
 *   bad-params-hrp             hrp empty, longer than BWC_HRP_MAX or not [a-z0-9]
 *   bad-params-magic           magic is zero
 *   bad-params-genesis-time    above INT64_MAX, or (pow) below target_spacing, so that the
 *                              ASERT anchor parent time (time - target_spacing) is >= 0
 *   bad-params-message         longer than BWC_GENESIS_MSG_MAX or not valid UTF-8
 *   bad-params-allocations     n_allocations > 0 with a NULL array
 *   bad-params-allocation-amount     an amount is zero
 *   bad-params-allocation-duplicate  an address appears twice
 *   bad-params-supply-overflow the allocations plus every block subsidy ever paid exceed
 *                              2^64 - 1, so no balance can ever overflow
 *   bad-params-engine          engine is neither pow nor poa
 *   bad-params-unused-engine   the other engine's parameters are not all zero / empty (they
 *                              are not in G, so they must not carry meaning)
 *   bad-params-initial-target  not canonical compact, zero or negative (pow)
 *   bad-params-initial-target-too-easy  retargeting chain with initial target >= 2^224 (§6)
 *   bad-params-target-spacing, bad-params-half-life  zero (pow)
 *   bad-params-no-retarget     not 0 or 1 (pow)
 *   bad-params-authorities     no authority, or n_authorities > 0 with a NULL array (poa)
 *   bad-params-authority-duplicate   an authority appears twice (poa)
 *   bad-params-slot-seconds, bad-params-finality-depth  zero (poa)
 *   bad-params-halving-interval      zero
 *   bad-params-max-channel-blocks    zero (no channel could ever be opened)
 *   bad-params-max-block-bytes       below BWC_PARAMS_MIN_BLOCK_BYTES
 *   bad-params-max-message-bytes     below max_block_bytes + BWC_PARAMS_FRAMING or above
 *                                    BWC_PARAMS_MAX_MESSAGE_BYTES
 * Whether allocation addresses and authorities are keys on the curve needs a secp256k1
 * context and is checked by the chainspec loader. Duplicate detection is O(n^2) in the
 * number of allocations: chainspecs hold a handful. */
int bwc_params_check(const bwc_params *p, bwc_result *res);

#endif
