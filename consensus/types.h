/* types.h: fixed-size value types shared by every consensus object. */
#ifndef BWC_CONSENSUS_TYPES_H
#define BWC_CONSENSUS_TYPES_H

#include <stddef.h>
#include <stdint.h>

#define BWC_HASH_SIZE 32
#define BWC_PUBKEY_SIZE 32
#define BWC_SIG_SIZE 64

/* 1 BWC = 10^8 units (PROTOCOL.md §1). */
#define BWC_UNITS_PER_COIN 100000000ULL

/* A SHA-256 or tagged hash, also used for every 32-byte id (txid, channel id, content id). */
typedef struct {
    unsigned char b[BWC_HASH_SIZE];
} bwc_hash;

/* A BIP340 x-only public key as 32 bytes; whether it lies on the curve is checked where used. */
typedef struct {
    unsigned char b[BWC_PUBKEY_SIZE];
} bwc_pubkey;

/* A BIP340 Schnorr signature. */
typedef struct {
    unsigned char b[BWC_SIG_SIZE];
} bwc_sig;

/* Amounts are unsigned 64-bit base units; every sum goes through bwc_amount_add. */
typedef uint64_t bwc_amount;

/* Sets *out = a + b and returns 1, or returns 0 (leaving *out untouched) on overflow. */
static inline int bwc_amount_add(uint64_t *out, uint64_t a, uint64_t b)
{
    if (a > UINT64_MAX - b)
        return 0;
    *out = a + b;
    return 1;
}

/* Returns 1 when every byte of the hash is zero. */
static inline int bwc_hash_is_zero(const bwc_hash *h)
{
    unsigned char acc = 0;
    for (size_t i = 0; i < BWC_HASH_SIZE; i++)
        acc |= h->b[i];
    return acc == 0;
}

#endif
