/* key.h: BIP340 Schnorr keys and signatures over libsecp256k1 (PROTOCOL.md §1). */
#ifndef BWC_CONSENSUS_KEY_H
#define BWC_CONSENSUS_KEY_H

#include <stddef.h>

#include <secp256k1.h>

#include "consensus/types.h"

/* Argument order follows libsecp256k1: context, outputs, inputs, a length right after its
 * pointer. Every pointer argument must be non-NULL unless its comment says otherwise.
 *
 * The context is created once by the caller (a process or a long-lived object) and passed to
 * every call; these functions never create one, keep none in a global and do no I/O. A context
 * is safe to share between threads for these calls, which only read it. */

/* Creates the shared signing and verification context (SECP256K1_CONTEXT_NONE: in
 * libsecp256k1 0.2.0 every context can sign and verify). When seed32 is non-NULL the context
 * is randomized with it (side-channel blinding for signing; the caller reads the 32 bytes from
 * the OS). Returns a context the caller owns and releases with bwc_secp_destroy, or NULL when
 * out of memory or the randomization failed. This is the only allocating call of the module. */
secp256k1_context *bwc_secp_create(const unsigned char *seed32);

/* Releases a context from bwc_secp_create. ctx may be NULL (nothing happens). */
void bwc_secp_destroy(secp256k1_context *ctx);

/* Writes the 32-byte x-only public key of a 32-byte secret key. Returns 1, or 0 (out zeroed)
 * when the secret is not in 1..n-1. */
int bwc_key_pubkey(const secp256k1_context *ctx, bwc_pubkey *out, const unsigned char seckey[32]);

/* Returns 1 when pk is the x coordinate of a point on secp256k1 (below the field size p and
 * with x^3 + 7 a square), else 0. Only such keys can verify or receive (PROTOCOL.md §1). */
int bwc_pubkey_valid(const secp256k1_context *ctx, const bwc_pubkey *pk);

/* BIP340-signs the 32-byte msg with seckey and the caller's 32 bytes of auxiliary randomness
 * aux32 (PROTOCOL.md §1: read from the OS by the caller). The fresh signature is verified
 * before it is returned, as BIP340 recommends against fault attacks. The keypair derived from
 * seckey is wiped from the stack; seckey itself stays the caller's to wipe (bwc_cleanse).
 * Returns 1, or 0 (out zeroed) for an invalid secret key or a failed self-check. */
int bwc_sign(const secp256k1_context *ctx, bwc_sig *out, const unsigned char seckey[32],
             const bwc_hash *msg, const unsigned char aux32[32]);

/* As bwc_sign, for a message of any length msglen (msg may be NULL when msglen is 0).
 * bwc_sign(…, msg, …) equals bwc_sign_msg(…, msg->b, 32, …). */
int bwc_sign_msg(const secp256k1_context *ctx, bwc_sig *out, const unsigned char seckey[32],
                 const unsigned char *msg, size_t msglen, const unsigned char aux32[32]);

/* Returns 1 when sig is a valid BIP340 signature by pk over the 32-byte msg, else 0 (also
 * when pk is not on the curve). */
int bwc_verify(const secp256k1_context *ctx, const bwc_sig *sig, const bwc_hash *msg,
               const bwc_pubkey *pk);

/* As bwc_verify, for a message of any length msglen (msg may be NULL when msglen is 0). */
int bwc_verify_msg(const secp256k1_context *ctx, const bwc_sig *sig, const unsigned char *msg,
                   size_t msglen, const bwc_pubkey *pk);

/* Overwrites n bytes at p with zeros in a way the compiler cannot drop (OPENSSL_cleanse); use
 * it on every buffer that held a secret key before it goes out of scope. */
void bwc_cleanse(void *p, size_t n);

#endif
