/* hash.c: SHA-256 through OpenSSL's EVP interface and the tagged hash built on it. */
#include "consensus/hash.h"

#include <string.h>

#include <openssl/evp.h>

void bwc_sha256(bwc_hash *out, const void *data, size_t n)
{
    unsigned int len = 0;
    if (!EVP_Digest(data, n, out->b, &len, EVP_sha256(), NULL) || len != BWC_HASH_SIZE)
        memset(out->b, 0, BWC_HASH_SIZE);
}

int bwc_tagged_begin(bwc_tagged_hasher *h, const char *tag)
{
    bwc_hash t;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    h->ctx = NULL;
    if (!ctx)
        return 0;
    bwc_sha256(&t, tag, strlen(tag));
    if (!EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) ||
        !EVP_DigestUpdate(ctx, t.b, sizeof t.b) || !EVP_DigestUpdate(ctx, t.b, sizeof t.b)) {
        EVP_MD_CTX_free(ctx);
        return 0;
    }
    h->ctx = ctx;
    return 1;
}

void bwc_tagged_update(bwc_tagged_hasher *h, const void *data, size_t n)
{
    if (h->ctx && n > 0 && !EVP_DigestUpdate(h->ctx, data, n)) {
        EVP_MD_CTX_free(h->ctx);
        h->ctx = NULL;
    }
}

int bwc_tagged_final(bwc_tagged_hasher *h, bwc_hash *out)
{
    unsigned int len = 0;
    int ok = h->ctx && EVP_DigestFinal_ex(h->ctx, out->b, &len) && len == BWC_HASH_SIZE;
    if (!ok)
        memset(out->b, 0, BWC_HASH_SIZE);
    EVP_MD_CTX_free(h->ctx);
    h->ctx = NULL;
    return ok;
}

void bwc_tagged_hash2(bwc_hash *out, const char *tag, const void *a, size_t an, const void *b,
                      size_t bn)
{
    bwc_tagged_hasher h;
    if (!bwc_tagged_begin(&h, tag)) {
        memset(out->b, 0, BWC_HASH_SIZE);
        return;
    }
    bwc_tagged_update(&h, a, an);
    bwc_tagged_update(&h, b, bn);
    bwc_tagged_final(&h, out);
}

void bwc_tagged_hash(bwc_hash *out, const char *tag, const void *data, size_t n)
{
    bwc_tagged_hash2(out, tag, data, n, NULL, 0);
}
