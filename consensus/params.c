/* params.c: the rules a chain's consensus parameters must satisfy (§4, §6, §7), and freeing. */
#include "consensus/params.h"

#include <stdlib.h>
#include <string.h>

#include "consensus/cbor.h"
#include "consensus/target.h"

void bwc_params_free(bwc_params *p)
{
    if (!p)
        return;
    free(p->allocations);
    free(p->poa.authorities);
    memset(p, 0, sizeof *p);
}

static int invalid(bwc_result *res, const char *reject)
{
    return bwc_fail(res, BWC_RESULT_INVALID, reject);
}

/* The hrp is [a-z0-9]{1,BWC_HRP_MAX}: BIP173 allows any printable ASCII, but a chain name
 * with '1' (the separator), upper case or punctuation only invites confusion. */
static int hrp_ok(const char *hrp)
{
    size_t n = strnlen(hrp, BWC_HRP_MAX + 1);
    if (n == 0 || n > BWC_HRP_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = hrp[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
            return 0;
    }
    return 1;
}

/* Returns 1 when two of the n keys are equal. O(n^2), fine for a chainspec's handful. */
static int has_duplicate(const bwc_pubkey *keys, size_t stride, size_t n)
{
    const unsigned char *base = (const unsigned char *)keys;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = i + 1; j < n; j++) {
            if (memcmp(base + i * stride, base + j * stride, BWC_PUBKEY_SIZE) == 0)
                return 1;
        }
    }
    return 0;
}

/* Everything the chain can ever create: the allocations plus the subsidies of §5.4,
 * sum over k < 64 of (initial_subsidy >> k) * halving_interval. Returns 0 on overflow. */
static int supply_fits(const bwc_params *p)
{
    uint64_t total = 0;
    for (size_t i = 0; i < p->n_allocations; i++) {
        if (!bwc_amount_add(&total, total, p->allocations[i].amount))
            return 0;
    }
    for (unsigned int k = 0; k < 64; k++) {
        uint64_t s = p->initial_subsidy >> k;
        if (s == 0)
            break;
        if (p->halving_interval > UINT64_MAX / s)
            return 0;
        if (!bwc_amount_add(&total, total, s * p->halving_interval))
            return 0;
    }
    return 1;
}

static int check_pow(const bwc_params *p, bwc_result *res)
{
    unsigned char target[BWC_U256_SIZE];
    if (p->poa.authorities || p->poa.n_authorities || p->poa.slot_seconds || p->poa.finality_depth)
        return invalid(res, "bad-params-unused-engine");
    if (!bwc_target_from_compact(target, p->pow.initial_target))
        return invalid(res, "bad-params-initial-target");
    if (p->pow.target_spacing == 0)
        return invalid(res, "bad-params-target-spacing");
    if (p->pow.half_life == 0)
        return invalid(res, "bad-params-half-life");
    if (p->pow.no_retarget != 0 && p->pow.no_retarget != 1)
        return invalid(res, "bad-params-no-retarget");
    /* aserti3-2d multiplies the anchor target by up to 2^17 in 256-bit arithmetic (§6). */
    if (!p->pow.no_retarget && (target[0] | target[1] | target[2] | target[3]))
        return invalid(res, "bad-params-initial-target-too-easy");
    if (p->genesis_time < p->pow.target_spacing)
        return invalid(res, "bad-params-genesis-time");
    return 1;
}

static int check_poa(const bwc_params *p, bwc_result *res)
{
    if (p->pow.initial_target || p->pow.target_spacing || p->pow.half_life || p->pow.no_retarget)
        return invalid(res, "bad-params-unused-engine");
    if (p->poa.n_authorities == 0 || !p->poa.authorities)
        return invalid(res, "bad-params-authorities");
    if (has_duplicate(p->poa.authorities, sizeof p->poa.authorities[0], p->poa.n_authorities))
        return invalid(res, "bad-params-authority-duplicate");
    if (p->poa.slot_seconds == 0)
        return invalid(res, "bad-params-slot-seconds");
    if (p->poa.finality_depth == 0)
        return invalid(res, "bad-params-finality-depth");
    return 1;
}

int bwc_params_check(const bwc_params *p, bwc_result *res)
{
    if (!hrp_ok(p->hrp))
        return invalid(res, "bad-params-hrp");
    if (p->magic == 0)
        return invalid(res, "bad-params-magic");
    if (p->genesis_time > (uint64_t)INT64_MAX)
        return invalid(res, "bad-params-genesis-time");
    size_t mlen = strnlen(p->message, BWC_GENESIS_MSG_MAX + 1);
    if (mlen > BWC_GENESIS_MSG_MAX || !bwc_utf8_valid((const unsigned char *)p->message, mlen))
        return invalid(res, "bad-params-message");

    if (p->n_allocations > 0 && !p->allocations)
        return invalid(res, "bad-params-allocations");
    for (size_t i = 0; i < p->n_allocations; i++) {
        if (p->allocations[i].amount == 0)
            return invalid(res, "bad-params-allocation-amount");
    }
    if (p->n_allocations > 0 &&
        has_duplicate(&p->allocations[0].address, sizeof p->allocations[0], p->n_allocations))
        return invalid(res, "bad-params-allocation-duplicate");

    if (p->engine == BWC_ENGINE_POW) {
        if (!check_pow(p, res))
            return 0;
    } else if (p->engine == BWC_ENGINE_POA) {
        if (!check_poa(p, res))
            return 0;
    } else {
        return invalid(res, "bad-params-engine");
    }

    if (p->halving_interval == 0)
        return invalid(res, "bad-params-halving-interval");
    if (p->max_channel_blocks == 0)
        return invalid(res, "bad-params-max-channel-blocks");
    if (!supply_fits(p))
        return invalid(res, "bad-params-supply-overflow");

    if (p->max_block_bytes < BWC_PARAMS_MIN_BLOCK_BYTES)
        return invalid(res, "bad-params-max-block-bytes");
    if (p->max_message_bytes > BWC_PARAMS_MAX_MESSAGE_BYTES ||
        p->max_message_bytes < BWC_PARAMS_FRAMING ||
        p->max_block_bytes > p->max_message_bytes - BWC_PARAMS_FRAMING)
        return invalid(res, "bad-params-max-message-bytes");

    if (res)
        bwc_result_ok(res);
    return 1;
}
