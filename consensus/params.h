/* params.h: the consensus parameters of one chain, everything that goes into genesis G (§4). */
#ifndef BWC_CONSENSUS_PARAMS_H
#define BWC_CONSENSUS_PARAMS_H

#include <stddef.h>
#include <stdint.h>

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

#endif
