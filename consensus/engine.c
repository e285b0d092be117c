/* engine.c: header-level consensus rules: MTP, ASERT, PoW/PoA header checks, work, subsidy. */
#include "consensus/engine.h"

#include <string.h>

#include "consensus/key.h"
#include "consensus/u256_internal.h"

uint64_t bwc_median_time_past(const uint64_t *times, size_t n)
{
    uint64_t s[BWC_MTP_SPAN];
    if (n == 0 || n > BWC_MTP_SPAN)
        return 0;
    memcpy(s, times, n * sizeof *s);
    /* Insertion sort: at most 11 elements. */
    for (size_t i = 1; i < n; i++) {
        uint64_t v = s[i];
        size_t j = i;
        while (j > 0 && s[j - 1] > v) {
            s[j] = s[j - 1];
            j--;
        }
        s[j] = v;
    }
    return s[n / 2];
}

/* Any exponent numerator (seconds off schedule) beyond +-2^100 gives a saturated result: even
 * with half_life = 2^64 - 1 the exponent then exceeds 2^52 / 65536 = 2^36 doublings or
 * halvings, far past the 2^8 that take any target to 0 or past 2^256. Clamping there keeps
 * every product below 2^117 in 128-bit arithmetic without changing any result. */
#define ASERT_NUM_CLAMP ((__int128)1 << 100)
/* Likewise any shift count beyond +-512 saturates (targets have at most 256 + 17 bits). */
#define ASERT_SHIFT_CLAMP 512

uint32_t bwc_asert_compute(const unsigned char anchor_target[BWC_U256_SIZE],
                           const unsigned char limit[BWC_U256_SIZE], uint64_t anchor_height,
                           uint64_t anchor_parent_time, uint64_t target_spacing, uint64_t half_life,
                           uint64_t eval_height, uint64_t eval_time)
{
    u256 ref, lim, next;
    u256_load(&ref, anchor_target);
    u256_load(&lim, limit);
    if (eval_height < anchor_height || target_spacing == 0 || half_life == 0)
        return 0;
    if (u256_is_zero(&ref) || u256_cmp(&ref, &lim) > 0 || u256_bits(&lim) > 224)
        return 0;

    /* Seconds ahead of (negative) or behind (positive) the schedule: time_diff - spacing *
     * (height_diff + 1). spacing < 2^64 and height_diff + 1 <= 2^64, so the unsigned 128-bit
     * product cannot wrap. */
    unsigned __int128 sched =
        (unsigned __int128)target_spacing * ((unsigned __int128)(eval_height - anchor_height) + 1);
    __int128 num;
    if (sched >= (unsigned __int128)ASERT_NUM_CLAMP) {
        num = -ASERT_NUM_CLAMP; /* |time_diff| < 2^64 cannot bring it back into range */
    } else {
        num = (__int128)eval_time - (__int128)anchor_parent_time - (__int128)sched;
        if (num < -ASERT_NUM_CLAMP)
            num = -ASERT_NUM_CLAMP;
        if (num > ASERT_NUM_CLAMP)
            num = ASERT_NUM_CLAMP;
    }
    /* C division truncates toward zero, as BCHN's int64 division (spec note 3). */
    __int128 exponent = num * 65536 / (__int128)half_life;
    /* shifts = floor(exponent / 65536) (BCHN: arithmetic exponent >> 16), written out so it
     * does not lean on the implementation-defined shift of a negative number. */
    __int128 shifts128 = exponent >= 0 ? exponent / 65536 : -((-exponent + 65535) / 65536);
    uint64_t frac = (uint64_t)(exponent - shifts128 * 65536); /* 0..65535 */
    int shifts;
    if (shifts128 > ASERT_SHIFT_CLAMP)
        shifts = ASERT_SHIFT_CLAMP;
    else if (shifts128 < -ASERT_SHIFT_CLAMP)
        shifts = -ASERT_SHIFT_CLAMP;
    else
        shifts = (int)shifts128;

    /* 2^frac/65536 * 65536, the spec's cubic; the sum stays below 2^64 for frac < 2^16, and
     * it is computed in unsigned 64-bit arithmetic exactly as BCHN does (spec note 7). */
    uint32_t factor = (uint32_t)(65536 + ((195766423245049ULL * frac + 971821376ULL * frac * frac +
                                           5127ULL * frac * frac * frac + (1ULL << 47)) >>
                                          48));
    next = ref;
    u256_mul32(&next, factor); /* ref < 2^224 and factor < 2^17: no carry out */

    shifts -= 16;
    if (shifts <= 0) {
        u256_shr(&next, (unsigned int)-shifts);
    } else if (u256_bits(&next) + (unsigned int)shifts > 256) {
        next = lim; /* the unbounded value is >= 2^256 > limit (BCHN's overflow rule) */
    } else {
        u256_shl(&next, (unsigned int)shifts);
    }

    if (u256_is_zero(&next)) {
        memset(&next, 0, sizeof next);
        next.w[0] = 1; /* 0 is not a valid target; 1 is the hardest one */
    } else if (u256_cmp(&next, &lim) > 0) {
        next = lim;
    }
    unsigned char out[BWC_U256_SIZE];
    u256_store(out, &next);
    return bwc_target_to_compact(out);
}

uint32_t bwc_asert_next_compact(const bwc_params *p, uint64_t parent_height, uint64_t parent_time)
{
    unsigned char initial[BWC_U256_SIZE];
    if (p->engine != BWC_ENGINE_POW || !bwc_target_from_compact(initial, p->pow.initial_target))
        return 0;
    if (p->pow.no_retarget == 1)
        return p->pow.initial_target;
    if (p->pow.no_retarget != 0 || p->genesis_time < p->pow.target_spacing)
        return 0;
    /* Anchored at genesis (§6): height 0, the initial target (also the limit), and as anchor
     * parent time genesis_time - target_spacing, so a chain exactly on schedule keeps the
     * initial target. */
    return bwc_asert_compute(initial, initial, 0, p->genesis_time - p->pow.target_spacing,
                             p->pow.target_spacing, p->pow.half_life, parent_height, parent_time);
}

static int invalid(bwc_result *res, const char *reject)
{
    return bwc_fail(res, BWC_RESULT_INVALID, reject);
}

static int error(bwc_result *res, const char *reject)
{
    return bwc_fail(res, BWC_RESULT_ERROR, reject);
}

/* §6: keys 7 and 8 on pow chains only, key 15 on poa chains only (above height 0). */
static int engine_fields_ok(const bwc_params *p, const bwc_header *h)
{
    if (p->engine == BWC_ENGINE_POW)
        return h->has_pow && !h->has_sig;
    return !h->has_pow && h->has_sig;
}

/* The block id; a failed hash (OpenSSL out of memory) leaves an all-zero id, which would meet
 * every target, so it is refused here rather than trusted. */
static int header_id(const bwc_header *h, bwc_hash *id, bwc_result *res)
{
    bwc_header_id(h, id);
    if (bwc_hash_is_zero(id))
        return error(res, "header-id-failed");
    return 1;
}

/* bad-target: the header's compact decodes canonically and is <= the initial target. */
static int pow_target(const bwc_params *p, const bwc_header *h, unsigned char target[BWC_U256_SIZE],
                      bwc_result *res)
{
    unsigned char initial[BWC_U256_SIZE];
    if (!bwc_target_from_compact(initial, p->pow.initial_target))
        return error(res, "bad-params");
    if (!bwc_target_from_compact(target, h->target) || bwc_u256_cmp(target, initial) > 0)
        return invalid(res, "bad-target");
    return 1;
}

static int pow_hash(const bwc_header *h, const unsigned char target[BWC_U256_SIZE], bwc_result *res)
{
    bwc_hash id;
    if (!header_id(h, &id, res))
        return 0;
    if (!bwc_hash_meets_target(&id, target))
        return invalid(res, "high-hash");
    return 1;
}

/* bad-poa-producer and bad-poa-sig. */
static int poa_producer_sig(const bwc_params *p, const secp256k1_context *secp, const bwc_header *h,
                            bwc_result *res)
{
    bwc_pubkey want;
    bwc_hash id;
    if (!bwc_poa_expected_producer(p, h->time, &want))
        return error(res, "bad-params");
    if (memcmp(want.b, h->producer.b, sizeof want.b) != 0)
        return invalid(res, "bad-poa-producer");
    if (!header_id(h, &id, res))
        return 0;
    if (!bwc_verify(secp, &h->sig, &id, &h->producer))
        return invalid(res, "bad-poa-sig");
    return 1;
}

int bwc_header_check(const bwc_params *p, const secp256k1_context *secp, const bwc_header *h,
                     const bwc_header *parent, const bwc_hash *parent_id, const uint64_t *mtp_times,
                     size_t n_times, uint64_t now, bwc_result *res)
{
    if (p->engine != BWC_ENGINE_POW && p->engine != BWC_ENGINE_POA)
        return error(res, "bad-params");
    if (!engine_fields_ok(p, h))
        return invalid(res, "bad-header-engine-fields");

    /* §5 rule 1. */
    if (parent->height == UINT64_MAX || h->height != parent->height + 1)
        return invalid(res, "bad-header-height");
    if (memcmp(h->prev.b, parent_id->b, sizeof h->prev.b) != 0)
        return invalid(res, "bad-header-prev");
    size_t want_times =
        parent->height < BWC_MTP_SPAN - 1 ? (size_t)parent->height + 1 : BWC_MTP_SPAN;
    if (mtp_times == NULL || n_times != want_times)
        return error(res, "bad-mtp-times");
    if (h->time <= bwc_median_time_past(mtp_times, n_times))
        return invalid(res, "time-too-old");
    /* With now + max_future_seconds past 2^64 - 1 no uint64 time is too new. */
    if (now <= UINT64_MAX - p->max_future_seconds && h->time > now + p->max_future_seconds)
        return invalid(res, "time-too-new");

    if (p->engine == BWC_ENGINE_POW) {
        unsigned char target[BWC_U256_SIZE];
        if (!pow_target(p, h, target, res))
            return 0;
        /* The required target is a function of the parent alone (ASERT anchored at genesis),
         * so it is checked before the hash: an equal compact needs no further work. */
        uint32_t want = bwc_asert_next_compact(p, parent->height, parent->time);
        if (want == 0)
            return error(res, "bad-params");
        if (h->target != want)
            return invalid(res, "bad-diffbits");
        if (!pow_hash(h, target, res))
            return 0;
    } else {
        if (p->poa.slot_seconds == 0)
            return error(res, "bad-params");
        /* §6: one block per slot at most, and slots only move forward. The parent's slot comes
         * from its time like any other block's (genesis: genesis_time / slot_seconds). */
        if (h->time / p->poa.slot_seconds <= parent->time / p->poa.slot_seconds)
            return invalid(res, "bad-poa-slot");
        if (!poa_producer_sig(p, secp, h, res))
            return 0;
    }
    bwc_result_ok(res);
    return 1;
}

void bwc_header_work(const bwc_params *p, const bwc_header *h, unsigned char work[BWC_U256_SIZE])
{
    unsigned char target[BWC_U256_SIZE];
    memset(work, 0, BWC_U256_SIZE);
    if (p->engine == BWC_ENGINE_POW) {
        if (bwc_target_from_compact(target, h->target))
            bwc_target_work(work, target);
    } else if (p->engine == BWC_ENGINE_POA) {
        work[BWC_U256_SIZE - 1] = 1;
    }
}

int bwc_poa_expected_producer(const bwc_params *p, uint64_t time, bwc_pubkey *out)
{
    if (p->engine != BWC_ENGINE_POA || p->poa.slot_seconds == 0 || p->poa.n_authorities == 0 ||
        p->poa.authorities == NULL) {
        memset(out->b, 0, sizeof out->b);
        return 0;
    }
    uint64_t slot = time / p->poa.slot_seconds;
    *out = p->poa.authorities[slot % p->poa.n_authorities];
    return 1;
}

uint64_t bwc_subsidy(const bwc_params *p, uint64_t height)
{
    if (p->halving_interval == 0)
        return 0;
    uint64_t k = height / p->halving_interval;
    /* A shift by 64 or more is undefined in C; the rule defines it as 0. */
    return k >= 64 ? 0 : p->initial_subsidy >> k;
}
