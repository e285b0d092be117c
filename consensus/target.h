/* target.h: compact targets (Bitcoin nBits), 256-bit targets and chain work (PROTOCOL.md §6). */
#ifndef BWC_CONSENSUS_TARGET_H
#define BWC_CONSENSUS_TARGET_H

#include <stdint.h>

#include "consensus/types.h"

/* Every 256-bit quantity here (a target, the work of a block, cumulative chain work) is
 * 32 bytes holding an unsigned integer in big-endian order, so memcmp orders them and they
 * can be stored and hashed as they are. */
#define BWC_U256_SIZE 32

/* Decodes a compact target into out. Returns 1 when compact is in canonical form (exactly
 * what bwc_target_to_compact produces for the value it encodes), encodes a non-zero value,
 * does not have the sign bit (0x00800000) set and fits in 256 bits; otherwise returns 0 and
 * zeroes out. Bitcoin's SetCompact accepts the non-canonical forms; we refuse them so that
 * each target has exactly one header encoding (§6). */
int bwc_target_from_compact(unsigned char out[BWC_U256_SIZE], uint32_t compact);

/* Encodes t in canonical compact form (Bitcoin's GetCompact): the three most significant
 * bytes as mantissa, lower bytes dropped. Zero encodes as 0. */
uint32_t bwc_target_to_compact(const unsigned char t[BWC_U256_SIZE]);

/* Returns 1 when the block id, read as a 256-bit big-endian integer, is <= target. */
int bwc_hash_meets_target(const bwc_hash *id, const unsigned char target[BWC_U256_SIZE]);

/* The work of a block with this target: floor(2^256 / (target + 1)) (§6), computed as
 * Bitcoin does, (~target / (target + 1)) + 1. target must be non-zero (a decoded compact
 * always is); for a zero target the true value 2^256 does not fit and work is set to
 * 2^256 - 1. */
void bwc_target_work(unsigned char work[BWC_U256_SIZE], const unsigned char target[BWC_U256_SIZE]);

/* out = a + b. Returns 1, or 0 on overflow past 2^256 - 1 (out then zeroed). out may alias
 * a or b. */
int bwc_u256_add(unsigned char out[BWC_U256_SIZE], const unsigned char a[BWC_U256_SIZE],
                 const unsigned char b[BWC_U256_SIZE]);

/* out = a - b. Returns 1, or 0 when b > a (out then zeroed). out may alias a or b. */
int bwc_u256_sub(unsigned char out[BWC_U256_SIZE], const unsigned char a[BWC_U256_SIZE],
                 const unsigned char b[BWC_U256_SIZE]);

/* Returns -1, 0 or 1 as a is less than, equal to or greater than b. */
int bwc_u256_cmp(const unsigned char a[BWC_U256_SIZE], const unsigned char b[BWC_U256_SIZE]);

#endif
