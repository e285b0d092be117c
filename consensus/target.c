/* target.c: compact target encoding, the proof-of-work comparison and 256-bit chain work. */
#include "consensus/target.h"

#include <string.h>

#include "consensus/u256_internal.h"

/* r = a + b; returns the carry out of the top limb. */
static uint32_t u256_add(u256 *r, const u256 *a, const u256 *b)
{
    uint64_t carry = 0;
    for (int i = 0; i < 8; i++) {
        carry += (uint64_t)a->w[i] + b->w[i];
        r->w[i] = (uint32_t)carry;
        carry >>= 32;
    }
    return (uint32_t)carry;
}

/* r = a - b (mod 2^256); returns 1 when it borrowed (b > a). */
static uint32_t u256_sub(u256 *r, const u256 *a, const u256 *b)
{
    uint64_t borrow = 0;
    for (int i = 0; i < 8; i++) {
        uint64_t d = (uint64_t)a->w[i] - b->w[i] - borrow;
        r->w[i] = (uint32_t)d;
        borrow = (d >> 32) & 1;
    }
    return (uint32_t)borrow;
}

/* q = n / d by shift-and-subtract, d != 0. 256 rounds of limb operations: a few microseconds,
 * paid once per header when its work is added to the chain's. */
static void u256_div(u256 *q, const u256 *n, const u256 *d)
{
    u256 r;
    memset(&r, 0, sizeof r);
    memset(q, 0, sizeof *q);
    for (int bit = 255; bit >= 0; bit--) {
        uint32_t top = r.w[7] >> 31;
        for (int i = 7; i > 0; i--)
            r.w[i] = r.w[i] << 1 | r.w[i - 1] >> 31;
        r.w[0] = r.w[0] << 1 | ((n->w[bit / 32] >> (bit % 32)) & 1);
        /* With a bit shifted out the true remainder is >= 2^256 > d; the wrapping subtraction
         * still gives the right (smaller than d) result. */
        if (top || u256_cmp(&r, d) >= 0) {
            u256_sub(&r, &r, d);
            q->w[bit / 32] |= (uint32_t)1 << (bit % 32);
        }
    }
}

int bwc_target_from_compact(unsigned char out[BWC_U256_SIZE], uint32_t compact)
{
    unsigned int size = compact >> 24;
    uint32_t word = compact & 0x007fffff;
    memset(out, 0, BWC_U256_SIZE);
    if (word == 0 || (compact & 0x00800000))
        return 0; /* zero, or negative in Bitcoin's signed reading */
    /* Mantissa byte j (most significant first) has weight 256^(size - 1 - j). */
    for (unsigned int j = 0; j < 3; j++) {
        unsigned char m = (unsigned char)(word >> (8 * (2 - j)));
        if (size < 1 + j)
            continue; /* shifted out below the units byte; canonical check catches it */
        unsigned int weight = size - 1 - j;
        if (weight >= BWC_U256_SIZE) {
            if (m != 0) {
                memset(out, 0, BWC_U256_SIZE);
                return 0; /* does not fit in 256 bits */
            }
            continue;
        }
        out[BWC_U256_SIZE - 1 - weight] = m;
    }
    if (bwc_target_to_compact(out) != compact) {
        memset(out, 0, BWC_U256_SIZE);
        return 0;
    }
    return 1;
}

uint32_t bwc_target_to_compact(const unsigned char t[BWC_U256_SIZE])
{
    unsigned int i = 0;
    while (i < BWC_U256_SIZE && t[i] == 0)
        i++;
    if (i == BWC_U256_SIZE)
        return 0;
    unsigned int size = BWC_U256_SIZE - i;
    uint32_t word = 0;
    for (unsigned int j = 0; j < 3; j++)
        word = word << 8 | (i + j < BWC_U256_SIZE ? t[i + j] : 0);
    /* A mantissa with its top bit set would read as negative: move it down a byte. */
    if (word & 0x00800000) {
        word >>= 8;
        size++;
    }
    return (uint32_t)size << 24 | word;
}

int bwc_hash_meets_target(const bwc_hash *id, const unsigned char target[BWC_U256_SIZE])
{
    return memcmp(id->b, target, BWC_U256_SIZE) <= 0;
}

void bwc_target_work(unsigned char work[BWC_U256_SIZE], const unsigned char target[BWC_U256_SIZE])
{
    u256 t, d, n, q, one;
    u256_load(&t, target);
    memset(&one, 0, sizeof one);
    one.w[0] = 1;
    if (u256_add(&d, &t, &one)) {
        u256_store(work, &one); /* target = 2^256 - 1: 2^256 / 2^256 = 1 */
        return;
    }
    for (int i = 0; i < 8; i++)
        n.w[i] = ~t.w[i];
    u256_div(&q, &n, &d);
    if (u256_add(&q, &q, &one))
        memset(&q, 0xff, sizeof q); /* target 0: 2^256 saturates */
    u256_store(work, &q);
}

int bwc_u256_add(unsigned char out[BWC_U256_SIZE], const unsigned char a[BWC_U256_SIZE],
                 const unsigned char b[BWC_U256_SIZE])
{
    u256 x, y, r;
    u256_load(&x, a);
    u256_load(&y, b);
    if (u256_add(&r, &x, &y)) {
        memset(out, 0, BWC_U256_SIZE);
        return 0;
    }
    u256_store(out, &r);
    return 1;
}

int bwc_u256_sub(unsigned char out[BWC_U256_SIZE], const unsigned char a[BWC_U256_SIZE],
                 const unsigned char b[BWC_U256_SIZE])
{
    u256 x, y, r;
    u256_load(&x, a);
    u256_load(&y, b);
    if (u256_sub(&r, &x, &y)) {
        memset(out, 0, BWC_U256_SIZE);
        return 0;
    }
    u256_store(out, &r);
    return 1;
}

int bwc_u256_cmp(const unsigned char a[BWC_U256_SIZE], const unsigned char b[BWC_U256_SIZE])
{
    int c = memcmp(a, b, BWC_U256_SIZE);
    return (c > 0) - (c < 0);
}
