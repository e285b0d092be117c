/* key.c: BIP340 keys and signatures: thin, checked wrappers over libsecp256k1's schnorrsig. */
#include "consensus/key.h"

#include <string.h>

#include <openssl/crypto.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

secp256k1_context *bwc_secp_create(const unsigned char *seed32)
{
    secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (!ctx)
        return NULL;
    if (seed32 && !secp256k1_context_randomize(ctx, seed32)) {
        secp256k1_context_destroy(ctx);
        return NULL;
    }
    return ctx;
}

void bwc_secp_destroy(secp256k1_context *ctx)
{
    if (ctx)
        secp256k1_context_destroy(ctx);
}

void bwc_cleanse(void *p, size_t n)
{
    OPENSSL_cleanse(p, n);
}

int bwc_key_pubkey(const secp256k1_context *ctx, bwc_pubkey *out, const unsigned char seckey[32])
{
    secp256k1_keypair kp;
    secp256k1_xonly_pubkey xpk;
    int ok = secp256k1_keypair_create(ctx, &kp, seckey) &&
             secp256k1_keypair_xonly_pub(ctx, &xpk, NULL, &kp) &&
             secp256k1_xonly_pubkey_serialize(ctx, out->b, &xpk);
    bwc_cleanse(&kp, sizeof kp); /* the keypair holds the secret key */
    if (!ok)
        memset(out->b, 0, sizeof out->b);
    return ok;
}

int bwc_pubkey_valid(const secp256k1_context *ctx, const bwc_pubkey *pk)
{
    secp256k1_xonly_pubkey xpk;
    return secp256k1_xonly_pubkey_parse(ctx, &xpk, pk->b);
}

int bwc_sign_msg(const secp256k1_context *ctx, bwc_sig *out, const unsigned char seckey[32],
                 const unsigned char *msg, size_t msglen, const unsigned char aux32[32])
{
    secp256k1_keypair kp;
    secp256k1_xonly_pubkey xpk;
    /* extraparams.ndata is not const in the 0.2.0 API; give it a copy rather than cast. */
    unsigned char aux[32];
    secp256k1_schnorrsig_extraparams extra = SECP256K1_SCHNORRSIG_EXTRAPARAMS_INIT;

    memcpy(aux, aux32, sizeof aux);
    extra.noncefp = secp256k1_nonce_function_bip340;
    extra.ndata = aux;
    /* libsecp256k1 does not verify what it signs; BIP340 recommends it, since a fault during
     * signing (glitch, bit flip) can otherwise leak the secret key through the bad signature. */
    int ok = secp256k1_keypair_create(ctx, &kp, seckey) &&
             secp256k1_keypair_xonly_pub(ctx, &xpk, NULL, &kp) &&
             secp256k1_schnorrsig_sign_custom(ctx, out->b, msg, msglen, &kp, &extra) &&
             secp256k1_schnorrsig_verify(ctx, out->b, msg, msglen, &xpk);
    bwc_cleanse(&kp, sizeof kp);
    bwc_cleanse(aux, sizeof aux);
    if (!ok)
        memset(out->b, 0, sizeof out->b);
    return ok;
}

int bwc_sign(const secp256k1_context *ctx, bwc_sig *out, const unsigned char seckey[32],
             const bwc_hash *msg, const unsigned char aux32[32])
{
    return bwc_sign_msg(ctx, out, seckey, msg->b, sizeof msg->b, aux32);
}

int bwc_verify_msg(const secp256k1_context *ctx, const bwc_sig *sig, const unsigned char *msg,
                   size_t msglen, const bwc_pubkey *pk)
{
    secp256k1_xonly_pubkey xpk;
    if (!secp256k1_xonly_pubkey_parse(ctx, &xpk, pk->b))
        return 0;
    return secp256k1_schnorrsig_verify(ctx, sig->b, msg, msglen, &xpk);
}

int bwc_verify(const secp256k1_context *ctx, const bwc_sig *sig, const bwc_hash *msg,
               const bwc_pubkey *pk)
{
    return bwc_verify_msg(ctx, sig, msg->b, sizeof msg->b, pk);
}
