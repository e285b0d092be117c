/* engine.h: header-level consensus rules: MTP, ASERT, PoW/PoA checks, work, subsidy (§5, §6). */
#ifndef BWC_CONSENSUS_ENGINE_H
#define BWC_CONSENSUS_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include <secp256k1.h>

#include "consensus/header.h"
#include "consensus/params.h"
#include "consensus/result.h"
#include "consensus/target.h"
#include "consensus/types.h"

/* Everything here is pure: no I/O, no clock (the caller passes "now"), no globals, no heap
 * allocation of its own (computing a block id hashes through OpenSSL, which may allocate).
 * Every pointer argument must be non-NULL unless its comment says otherwise. */

/* The median-time-past window: the parent and up to 10 of its ancestors (§5 rule 1). */
#define BWC_MTP_SPAN 11

/* The median-time-past of n timestamps (1 <= n <= BWC_MTP_SPAN): the timestamps of the parent
 * and of up to 10 of its ancestors, in any order (a local copy is sorted), and the result is
 * element floor(n/2) of the sorted copy (§5 rule 1). For n = 2 that is the larger one.
 * Returns that timestamp, or 0 when n is 0 or above BWC_MTP_SPAN (a caller error). */
uint64_t bwc_median_time_past(const uint64_t *times, size_t n);

/* The aserti3-2d target (Bitcoin Cash, 2020-11-15 spec) with an explicit anchor, computed with
 * the integer arithmetic of Bitcoin Cash Node's CalculateASERT:
 *   exponent = trunc((eval_time - anchor_parent_time
 *                     - target_spacing * (eval_height - anchor_height + 1)) * 65536 / half_life)
 *   shifts = floor(exponent / 65536), frac = exponent - 65536 * shifts
 *   factor = 65536 + ((195766423245049 frac + 971821376 frac^2 + 5127 frac^3 + 2^47) >> 48)
 *   next = (anchor_target * factor) * 2^(shifts - 16), rounded down; 0 becomes 1 and anything
 *   above limit (including a value past 2^256) becomes limit.
 * The difference and the product are computed in 128-bit integers, so inputs for which BCHN's
 * int64 arithmetic would overflow (and which BCHN excludes with an assert) give the value the
 * unbounded formula gives: limit far behind schedule, 1 far ahead.
 * eval_height and eval_time are the height and time of the block whose child gets the target.
 * anchor_target and limit are 256-bit big-endian integers (target.h).
 * Returns the canonical compact form of next (what the child's header must carry), or 0 (never
 * a valid compact) when a precondition fails: eval_height < anchor_height, target_spacing or
 * half_life zero, anchor_target zero or above limit, or limit >= 2^224 (the head-room the
 * 2^17 factor needs). */
uint32_t bwc_asert_compute(const unsigned char anchor_target[BWC_U256_SIZE],
                           const unsigned char limit[BWC_U256_SIZE], uint64_t anchor_height,
                           uint64_t anchor_parent_time, uint64_t target_spacing, uint64_t half_life,
                           uint64_t eval_height, uint64_t eval_time);

/* The compact target the block at parent_height + 1 must carry on the pow chain p (§6): the
 * initial target when p->pow.no_retarget is 1, else bwc_asert_compute anchored at genesis
 * (anchor height 0, anchor target = limit = the initial target, anchor parent time =
 * genesis_time - target_spacing) evaluated at the parent's height and time.
 * Returns the compact target, or 0 when p is not a pow chain or its pow parameters break the
 * rules bwc_params_check enforces. */
uint32_t bwc_asert_next_compact(const bwc_params *p, uint64_t parent_height, uint64_t parent_time);

/* Reject strings set by the checks below (res->code BWC_RESULT_INVALID unless noted):
 *   bad-header-engine-fields  pow chain: keys 7/8 absent or key 15 present; poa chain: keys 7/8
 *                             present or key 15 absent (every checked header is above height
 *                             0; the genesis header is constructed, never checked, §4)
 *   bad-header-height         height != parent height + 1
 *   bad-header-prev           prev != the parent's block id
 *   time-too-old              time <= median-time-past of the parent and 10 ancestors
 *   time-too-new              time > now + max_future_seconds. Not permanent: the same header
 *                             may pass later, so a caller must not mark it invalid for good.
 *   bad-target                pow: target not canonical compact, zero, negative or above the
 *                             initial target
 *   bad-diffbits              pow: target != bwc_asert_next_compact(parent)
 *   high-hash                 pow: block id above the target
 *   bad-poa-slot              poa: time / slot_seconds not above the parent's slot
 *   bad-poa-producer          poa: producer != authorities[slot mod n]
 *   bad-poa-sig               poa: sig is not the producer's BIP340 signature over the block id
 * and, with res->code BWC_RESULT_ERROR (the caller's fault, not the header's):
 *   bad-params                     p->engine is neither pow nor poa, or its initial target or
 *                                  slot_seconds / authorities are unusable
 *   bad-mtp-times                  n_times != min(parent height + 1, BWC_MTP_SPAN)
 *   header-id-failed               hashing the header failed (out of memory in OpenSSL)
 * The Merkle roots are checked with the block body, not here. */

/* Every header rule of §5 rule 1 and §6 except the Merkle roots, for h extending parent, whose
 * block id is parent_id. mtp_times holds the timestamps of the parent and its ancestors, in
 * any order: exactly min(parent->height + 1, BWC_MTP_SPAN) of them (the window of §5 rule 1;
 * it includes genesis while the chain is short). now is the caller's clock in unix seconds.
 * secp is used on poa chains only (it may be NULL on pow chains).
 * Cheap rules run first and the signature check last: engine fields, height, prev,
 * time-too-old, time-too-new, then pow: bad-target, bad-diffbits, high-hash, or poa:
 * bad-poa-slot, bad-poa-producer, bad-poa-sig.
 * Returns 1 (res OK), or 0 with res set to the first rule that failed. */
int bwc_header_check(const bwc_params *p, const secp256k1_context *secp, const bwc_header *h,
                     const bwc_header *parent, const bwc_hash *parent_id, const uint64_t *mtp_times,
                     size_t n_times, uint64_t now, bwc_result *res);

/* The weight h adds to its chain, as a 256-bit big-endian integer (target.h): on pow chains
 * floor(2^256 / (target + 1)) of the header's target; on poa chains 1 (heaviest chain = most
 * blocks, §6). For a pow header whose target does not decode (one that failed the checks
 * above) and for an unknown engine, work is 0. */
void bwc_header_work(const bwc_params *p, const bwc_header *h, unsigned char work[BWC_U256_SIZE]);

/* The authority that must produce a block with this time on the poa chain p:
 * authorities[(time / slot_seconds) mod n] (§6). Returns 1, or 0 with *out zeroed when p is not
 * a poa chain, has no authorities or has slot_seconds 0. */
int bwc_poa_expected_producer(const bwc_params *p, uint64_t time, bwc_pubkey *out);

/* The block subsidy at height (§5 rule 4): with k = height / halving_interval,
 * k >= 64 ? 0 : initial_subsidy >> k. Returns it in base units (0 when halving_interval is 0,
 * which bwc_params_check refuses). */
uint64_t bwc_subsidy(const bwc_params *p, uint64_t height);

#endif
