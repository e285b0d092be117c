/* u256_internal.h: 256-bit unsigned integer limb helpers shared by target.c and engine.c.
 * Internal to the consensus library; not part of its public interface. */
#ifndef BWC_CONSENSUS_U256_INTERNAL_H
#define BWC_CONSENSUS_U256_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "consensus/target.h"

/* Eight 32-bit limbs, least significant first. */
typedef struct {
    uint32_t w[8];
} u256;

/* Loads a big-endian 32-byte value. */
static inline void u256_load(u256 *x, const unsigned char b[BWC_U256_SIZE])
{
    for (int i = 0; i < 8; i++) {
        const unsigned char *p = b + 4 * (7 - i);
        x->w[i] = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    }
}

/* Stores as a big-endian 32-byte value. */
static inline void u256_store(unsigned char b[BWC_U256_SIZE], const u256 *x)
{
    for (int i = 0; i < 8; i++) {
        unsigned char *p = b + 4 * (7 - i);
        p[0] = (unsigned char)(x->w[i] >> 24);
        p[1] = (unsigned char)(x->w[i] >> 16);
        p[2] = (unsigned char)(x->w[i] >> 8);
        p[3] = (unsigned char)x->w[i];
    }
}

static inline int u256_cmp(const u256 *a, const u256 *b)
{
    for (int i = 7; i >= 0; i--) {
        if (a->w[i] != b->w[i])
            return a->w[i] < b->w[i] ? -1 : 1;
    }
    return 0;
}

static inline int u256_is_zero(const u256 *x)
{
    uint32_t acc = 0;
    for (int i = 0; i < 8; i++)
        acc |= x->w[i];
    return acc == 0;
}

/* Number of significant bits (0 for zero). */
static inline unsigned int u256_bits(const u256 *x)
{
    for (int i = 7; i >= 0; i--) {
        if (x->w[i]) {
            unsigned int b = 32;
            while (!(x->w[i] >> (b - 1)))
                b--;
            return 32 * (unsigned int)i + b;
        }
    }
    return 0;
}

/* x *= m; returns the part that carried out past 2^256. */
static inline uint32_t u256_mul32(u256 *x, uint32_t m)
{
    uint64_t carry = 0;
    for (int i = 0; i < 8; i++) {
        carry += (uint64_t)x->w[i] * m;
        x->w[i] = (uint32_t)carry;
        carry >>= 32;
    }
    return (uint32_t)carry;
}

/* x <<= n for n < 256; bits past 2^256 are lost (callers check u256_bits first). */
static inline void u256_shl(u256 *x, unsigned int n)
{
    unsigned int limbs = n / 32, bits = n % 32;
    for (int i = 7; i >= 0; i--) {
        int src = i - (int)limbs;
        uint32_t v = src >= 0 ? x->w[src] << bits : 0;
        if (bits && src - 1 >= 0)
            v |= x->w[src - 1] >> (32 - bits);
        x->w[i] = v;
    }
}

/* x >>= n; n >= 256 gives zero. */
static inline void u256_shr(u256 *x, unsigned int n)
{
    if (n >= 256) {
        memset(x, 0, sizeof *x);
        return;
    }
    unsigned int limbs = n / 32, bits = n % 32;
    for (int i = 0; i < 8; i++) {
        unsigned int src = (unsigned int)i + limbs;
        uint32_t v = src < 8 ? x->w[src] >> bits : 0;
        if (bits && src + 1 < 8)
            v |= x->w[src + 1] << (32 - bits);
        x->w[i] = v;
    }
}

#endif
