/* keystore.c: wallet.dat: scrypt (OpenSSL) + AES-256-GCM over a canonical CBOR payload of keys
 * and labels; atomic replacement and locking of the file. */
#include "wallet/keystore.h"

#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/args.h"
#include "common/random.h"
#include "consensus/cbor.h"
#include "consensus/key.h"

/* Header layout (doc/wallet.md): every integer big-endian. */
static const unsigned char MAGIC[8] = {'B', 'W', 'C', 'W', 'A', 'L', 'L', 'T'};
#define VERSION 1
#define KDF_SCRYPT 1
#define AEAD_AES256GCM 1
#define SALT_BYTES 16
#define NONCE_BYTES 12
#define KEY_BYTES 32
#define OFF_VERSION 8
#define OFF_KDF 9
#define OFF_LOG2N 10
#define OFF_R 11
#define OFF_P 15
#define OFF_SALT 19
#define OFF_AEAD 35
#define OFF_NONCE 36
#define OFF_LEN 48
/* Payload map keys. */
#define P_VERSION 0
#define P_CHAIN 1
#define P_KEYS 2
#define K_SECRET 0
#define K_CREATED 1
#define K_LABEL 2

static void put_u32be(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

static uint32_t get_u32be(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void bwc_keystore_init(bwc_keystore *ks, const bwc_hash *chain_id)
{
    memset(ks, 0, sizeof *ks);
    ks->chain_id = *chain_id;
}

void bwc_keystore_free(bwc_keystore *ks)
{
    if (ks->keys) {
        bwc_cleanse(ks->keys, ks->cap * sizeof *ks->keys);
        free(ks->keys);
    }
    memset(ks, 0, sizeof *ks);
}

int bwc_keystore_label_valid(const char *label)
{
    size_t n = strlen(label);
    if (n == 0 || n > BWC_KEYSTORE_LABEL_MAX || !bwc_utf8_valid((const unsigned char *)label, n))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)label[i] < 0x20 || label[i] == 0x7f)
            return 0;
    return 1;
}

long bwc_keystore_find(const bwc_keystore *ks, const bwc_pubkey *pub)
{
    for (size_t i = 0; i < ks->n_keys; i++)
        if (memcmp(ks->keys[i].pub.b, pub->b, 32) == 0)
            return (long)i;
    return -1;
}

long bwc_keystore_find_label(const bwc_keystore *ks, const char *label)
{
    for (size_t i = 0; i < ks->n_keys; i++)
        if (ks->keys[i].label[0] && strcmp(ks->keys[i].label, label) == 0)
            return (long)i;
    return -1;
}

int bwc_keystore_add(bwc_keystore *ks, const secp256k1_context *secp,
                     const unsigned char secret[32], const char *label, uint64_t created, char *err,
                     size_t errlen)
{
    bwc_pubkey pub;
    if (!bwc_key_pubkey(secp, &pub, secret)) {
        snprintf(err, errlen, "not a valid secret key (it must be 32 bytes in 1..n-1)");
        return -1;
    }
    if (bwc_keystore_find(ks, &pub) >= 0) {
        snprintf(err, errlen, "this key is already in the wallet");
        return -1;
    }
    if (label && label[0]) {
        if (!bwc_keystore_label_valid(label)) {
            snprintf(err, errlen,
                     "bad label: 1 to %d bytes of UTF-8 text without control characters",
                     BWC_KEYSTORE_LABEL_MAX);
            return -1;
        }
        if (bwc_keystore_find_label(ks, label) >= 0) {
            snprintf(err, errlen, "the label '%s' is already used in this wallet", label);
            return -1;
        }
    }
    if (ks->n_keys >= BWC_KEYSTORE_MAX_KEYS) {
        snprintf(err, errlen, "the wallet holds the most keys it can (%d)", BWC_KEYSTORE_MAX_KEYS);
        return -1;
    }
    if (ks->n_keys == ks->cap) {
        /* Grown by hand rather than realloc, so the old array is wiped before it is freed. */
        size_t cap = ks->cap ? ks->cap * 2 : 8;
        bwc_wallet_key *keys = calloc(cap, sizeof *keys);
        if (!keys) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        if (ks->keys) {
            memcpy(keys, ks->keys, ks->n_keys * sizeof *keys);
            bwc_cleanse(ks->keys, ks->cap * sizeof *ks->keys);
            free(ks->keys);
        }
        ks->keys = keys;
        ks->cap = cap;
    }
    bwc_wallet_key *k = &ks->keys[ks->n_keys++];
    memset(k, 0, sizeof *k);
    memcpy(k->secret, secret, 32);
    k->pub = pub;
    if (label)
        snprintf(k->label, sizeof k->label, "%s", label);
    k->created = created;
    return 0;
}

/* ---- crypto ---------------------------------------------------------------------------- */

static int params_ok(unsigned log2_n, uint32_t r, uint32_t p)
{
    return log2_n >= BWC_SCRYPT_LOG2_N_MIN && log2_n <= BWC_SCRYPT_LOG2_N_MAX && r >= 1 &&
           r <= BWC_SCRYPT_R_MAX && p >= 1 && p <= BWC_SCRYPT_P_MAX &&
           128ULL * r * (1ULL << log2_n) < BWC_SCRYPT_MAXMEM;
}

static int derive_key(unsigned char key[KEY_BYTES], const char *pass, size_t passlen,
                      const unsigned char *salt, unsigned log2_n, uint32_t r, uint32_t p)
{
    /* maxmem must cover 128 * r * N plus OpenSSL's own bookkeeping (its default is 32 MiB,
     * below our default cost). */
    return EVP_PBE_scrypt(pass, passlen, salt, SALT_BYTES, 1ULL << log2_n, r, p,
                          BWC_SCRYPT_MAXMEM + (1ULL << 20), key, KEY_BYTES) == 1
               ? 0
               : -1;
}

/* AES-256-GCM of in[0..n) into out (n bytes) with the header as associated data; the tag goes
 * to tag. Returns 0 or -1. */
static int gcm_encrypt(const unsigned char key[KEY_BYTES], const unsigned char *nonce,
                       const unsigned char *aad, size_t aadlen, const unsigned char *in, size_t n,
                       unsigned char *out, unsigned char *tag)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len, ok = c && EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
                  EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_BYTES, NULL) == 1 &&
                  EVP_EncryptInit_ex(c, NULL, NULL, key, nonce) == 1 &&
                  EVP_EncryptUpdate(c, NULL, &len, aad, (int)aadlen) == 1 &&
                  EVP_EncryptUpdate(c, out, &len, in, (int)n) == 1 &&
                  EVP_EncryptFinal_ex(c, out + len, &len) == 1 &&
                  EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, BWC_KEYSTORE_TAG_BYTES, tag) == 1;
    EVP_CIPHER_CTX_free(c); /* wipes the key schedule */
    return ok ? 0 : -1;
}

/* Returns 1 (authentic; plaintext in out), 0 (the tag does not verify) or -1 (OpenSSL
 * failed). */
static int gcm_decrypt(const unsigned char key[KEY_BYTES], const unsigned char *nonce,
                       const unsigned char *aad, size_t aadlen, const unsigned char *in, size_t n,
                       const unsigned char *tag, unsigned char *out)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int len, rc = -1;
    if (c && EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL) == 1 &&
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_BYTES, NULL) == 1 &&
        EVP_DecryptInit_ex(c, NULL, NULL, key, nonce) == 1 &&
        EVP_DecryptUpdate(c, NULL, &len, aad, (int)aadlen) == 1 &&
        EVP_DecryptUpdate(c, out, &len, in, (int)n) == 1 &&
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, BWC_KEYSTORE_TAG_BYTES, (void *)tag) == 1)
        rc = EVP_DecryptFinal_ex(c, out + len, &len) == 1 ? 1 : 0;
    EVP_CIPHER_CTX_free(c);
    return rc;
}

/* ---- payload --------------------------------------------------------------------------- */

/* The canonical CBOR payload {0: 1, 1: chain_id, 2: [{0: secret, 1: created, 2: label?}...]}
 * into b, which was reserved large enough that it never reallocates (a reallocation would
 * leave a copy of the secrets in freed memory). */
static void encode_payload(const bwc_keystore *ks, bwc_buf *b)
{
    bwc_cbor_put_map(b, 3);
    bwc_cbor_put_uint(b, P_VERSION);
    bwc_cbor_put_uint(b, VERSION);
    bwc_cbor_put_uint(b, P_CHAIN);
    bwc_cbor_put_bstr(b, ks->chain_id.b, 32);
    bwc_cbor_put_uint(b, P_KEYS);
    bwc_cbor_put_array(b, ks->n_keys);
    for (size_t i = 0; i < ks->n_keys; i++) {
        const bwc_wallet_key *k = &ks->keys[i];
        bwc_cbor_put_map(b, k->label[0] ? 3 : 2);
        bwc_cbor_put_uint(b, K_SECRET);
        bwc_cbor_put_bstr(b, k->secret, 32);
        bwc_cbor_put_uint(b, K_CREATED);
        bwc_cbor_put_uint(b, k->created);
        if (k->label[0]) {
            bwc_cbor_put_uint(b, K_LABEL);
            bwc_cbor_put_tstr(b, k->label, strlen(k->label));
        }
    }
}

/* Worst case of one key entry: map head, 3 keys, bstr 32, uint, tstr 64 with heads. */
#define PAYLOAD_PER_KEY 120u
#define PAYLOAD_FIXED 64u

static int decode_payload(bwc_keystore *ks, const secp256k1_context *secp, const unsigned char *p,
                          size_t n, char *err, size_t errlen)
{
    bwc_result res;
    bwc_cbor_reader r;
    size_t count, nkeys = 0;
    uint64_t key, version = 0;
    const unsigned char *chain = NULL, *bytes;
    size_t len;
    int have_keys = 0;

    if (!bwc_cbor_check(p, n, &res)) {
        snprintf(err, errlen, "corrupted wallet payload (%s)", res.reject);
        return -1;
    }
    bwc_cbor_reader_init(&r, p, n);
    if (!bwc_cbor_read_map(&r, &count))
        goto bad;
    for (size_t i = 0; i < count; i++) {
        if (!bwc_cbor_read_uint(&r, &key))
            goto bad;
        if (key == P_VERSION) {
            if (!bwc_cbor_read_uint(&r, &version) || version != VERSION)
                goto bad;
        } else if (key == P_CHAIN) {
            if (!bwc_cbor_read_bstr(&r, &chain, &len) || len != 32)
                goto bad;
        } else if (key == P_KEYS) {
            if (!bwc_cbor_read_array(&r, &nkeys))
                goto bad;
            have_keys = 1;
            break; /* the keys are the last field; read below */
        } else {
            goto bad;
        }
    }
    if (version != VERSION || !chain || !have_keys)
        goto bad;
    memcpy(ks->chain_id.b, chain, 32);
    for (size_t i = 0; i < nkeys; i++) {
        unsigned char secret[32];
        char label[BWC_KEYSTORE_LABEL_MAX + 1] = "";
        uint64_t created = 0;
        int have_secret = 0, rc;
        if (!bwc_cbor_read_map(&r, &count))
            goto bad;
        for (size_t j = 0; j < count; j++) {
            const char *text;
            if (!bwc_cbor_read_uint(&r, &key))
                goto bad;
            if (key == K_SECRET && bwc_cbor_read_bstr(&r, &bytes, &len) && len == 32) {
                memcpy(secret, bytes, 32);
                have_secret = 1;
            } else if (key == K_CREATED && bwc_cbor_read_uint(&r, &created)) {
            } else if (key == K_LABEL && bwc_cbor_read_tstr(&r, &text, &len) &&
                       len <= BWC_KEYSTORE_LABEL_MAX) {
                memcpy(label, text, len);
                label[len] = '\0';
            } else {
                goto bad;
            }
        }
        if (!have_secret)
            goto bad;
        rc = bwc_keystore_add(ks, secp, secret, label, created, err, errlen);
        bwc_cleanse(secret, sizeof secret);
        if (rc != 0)
            return -1;
    }
    if (r.pos != r.n)
        goto bad;
    return 0;
bad:
    snprintf(err, errlen, "corrupted wallet payload (unexpected structure)");
    return -1;
}

int bwc_keystore_encrypt(const bwc_keystore *ks, const char *pass, size_t passlen,
                         const bwc_scrypt_params *sp, bwc_buf *out, char *err, size_t errlen)
{
    static const bwc_scrypt_params defaults = {BWC_SCRYPT_LOG2_N_DEFAULT, BWC_SCRYPT_R_DEFAULT,
                                               BWC_SCRYPT_P_DEFAULT};
    unsigned char header[BWC_KEYSTORE_HEADER_BYTES], key[KEY_BYTES];
    bwc_buf plain = BWC_BUF_INIT;
    int rc = -1;

    if (!sp)
        sp = &defaults;
    if (!params_ok(sp->log2_n, sp->r, sp->p)) {
        snprintf(err, errlen, "scrypt parameters out of range");
        return -1;
    }
    if (!bwc_buf_reserve(&plain, PAYLOAD_FIXED + ks->n_keys * PAYLOAD_PER_KEY)) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    encode_payload(ks, &plain);
    if (plain.oom || plain.len > BWC_KEYSTORE_MAX_PAYLOAD) {
        snprintf(err, errlen, "cannot encode the wallet");
        goto out;
    }
    memcpy(header, MAGIC, sizeof MAGIC);
    header[OFF_VERSION] = VERSION;
    header[OFF_KDF] = KDF_SCRYPT;
    header[OFF_LOG2N] = (unsigned char)sp->log2_n;
    put_u32be(header + OFF_R, sp->r);
    put_u32be(header + OFF_P, sp->p);
    header[OFF_AEAD] = AEAD_AES256GCM;
    put_u32be(header + OFF_LEN, (uint32_t)plain.len);
    if (bwc_random_bytes(header + OFF_SALT, SALT_BYTES) != 0 ||
        bwc_random_bytes(header + OFF_NONCE, NONCE_BYTES) != 0) {
        snprintf(err, errlen, "the operating system gave no random bytes");
        goto out;
    }
    if (derive_key(key, pass, passlen, header + OFF_SALT, sp->log2_n, sp->r, sp->p) != 0) {
        snprintf(err, errlen, "scrypt failed (out of memory?)");
        goto out;
    }
    size_t base = out->len;
    if (!bwc_buf_reserve(out, sizeof header + plain.len + BWC_KEYSTORE_TAG_BYTES)) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    bwc_buf_append(out, header, sizeof header);
    unsigned char *ct = out->data + out->len;
    if (gcm_encrypt(key, header + OFF_NONCE, header, sizeof header, plain.data, plain.len, ct,
                    ct + plain.len) != 0) {
        out->len = base;
        snprintf(err, errlen, "AES-256-GCM encryption failed");
        goto out;
    }
    out->len += plain.len + BWC_KEYSTORE_TAG_BYTES;
    rc = 0;
out:
    bwc_cleanse(key, sizeof key);
    if (plain.data)
        bwc_cleanse(plain.data, plain.cap);
    bwc_buf_free(&plain);
    return rc;
}

bwc_keystore_status bwc_keystore_decrypt(bwc_keystore *ks, const secp256k1_context *secp,
                                         const unsigned char *file, size_t n, const char *pass,
                                         size_t passlen, char *err, size_t errlen)
{
    unsigned char key[KEY_BYTES];
    unsigned char *plain = NULL;
    bwc_keystore_status st = BWC_KEYSTORE_CORRUPT;
    static const bwc_hash zero;

    bwc_keystore_init(ks, &zero);
    if (n < BWC_KEYSTORE_HEADER_BYTES + BWC_KEYSTORE_TAG_BYTES ||
        memcmp(file, MAGIC, sizeof MAGIC) != 0) {
        snprintf(err, errlen, "not a bwc wallet file (bad magic or too short)");
        return BWC_KEYSTORE_CORRUPT;
    }
    if (file[OFF_VERSION] != VERSION) {
        snprintf(err, errlen, "wallet file version %u is not supported (this program reads %d)",
                 file[OFF_VERSION], VERSION);
        return BWC_KEYSTORE_CORRUPT;
    }
    unsigned log2_n = file[OFF_LOG2N];
    uint32_t r = get_u32be(file + OFF_R), p = get_u32be(file + OFF_P);
    uint32_t len = get_u32be(file + OFF_LEN);
    if (file[OFF_KDF] != KDF_SCRYPT || file[OFF_AEAD] != AEAD_AES256GCM ||
        !params_ok(log2_n, r, p)) {
        snprintf(err, errlen, "corrupted wallet file (unknown cipher or key derivation)");
        return BWC_KEYSTORE_CORRUPT;
    }
    if (len > BWC_KEYSTORE_MAX_PAYLOAD ||
        (size_t)len != n - BWC_KEYSTORE_HEADER_BYTES - BWC_KEYSTORE_TAG_BYTES) {
        snprintf(err, errlen, "corrupted wallet file (its length does not match its header)");
        return BWC_KEYSTORE_CORRUPT;
    }
    if (!(plain = malloc(len ? len : 1))) {
        snprintf(err, errlen, "out of memory");
        return BWC_KEYSTORE_INTERNAL;
    }
    if (derive_key(key, pass, passlen, file + OFF_SALT, log2_n, r, p) != 0) {
        snprintf(err, errlen, "scrypt failed (out of memory?)");
        st = BWC_KEYSTORE_INTERNAL;
        goto out;
    }
    const unsigned char *ct = file + BWC_KEYSTORE_HEADER_BYTES;
    int ok = gcm_decrypt(key, file + OFF_NONCE, file, BWC_KEYSTORE_HEADER_BYTES, ct, len, ct + len,
                         plain);
    if (ok < 0) {
        snprintf(err, errlen, "AES-256-GCM decryption failed");
        st = BWC_KEYSTORE_INTERNAL;
        goto out;
    }
    if (ok == 0) {
        snprintf(err, errlen,
                 "wrong passphrase, or the wallet file was modified (authentication failed)");
        st = BWC_KEYSTORE_AUTH;
        goto out;
    }
    if (decode_payload(ks, secp, plain, len, err, errlen) != 0) {
        bwc_keystore_free(ks);
        goto out;
    }
    st = BWC_KEYSTORE_OK;
out:
    bwc_cleanse(key, sizeof key);
    bwc_cleanse(plain, len ? len : 1);
    free(plain);
    return st;
}

/* ---- files ------------------------------------------------------------------------------- */

int bwc_keystore_read_file(const char *path, bwc_buf *out, int *missing, char *err, size_t errlen)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    *missing = 0;
    if (fd < 0) {
        *missing = errno == ENOENT;
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is not a regular file", path);
        goto fail;
    }
    if ((uint64_t)st.st_size > BWC_KEYSTORE_MAX_FILE) {
        snprintf(err, errlen, "%s is too large to be a wallet file", path);
        goto fail;
    }
    if (!bwc_buf_reserve(out, (size_t)st.st_size + 1)) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (;;) {
        ssize_t r = read(fd, out->data + out->len, out->cap - out->len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
            goto fail;
        }
        if (r == 0)
            break;
        out->len += (size_t)r;
        if (out->len > BWC_KEYSTORE_MAX_FILE) {
            snprintf(err, errlen, "%s is too large to be a wallet file", path);
            goto fail;
        }
        if (out->len == out->cap && !bwc_buf_reserve(out, 4096)) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    close(fd);
    return 0;
fail:
    close(fd);
    return -1;
}



int bwc_keystore_write_file(const char *path, const unsigned char *data, size_t n, char *err,
                            size_t errlen)
{
    return bwc_file_replace(path, data, n, 0600, BWC_FILE_SYNC | BWC_FILE_SYNC_DIR, err, errlen);
}

int bwc_keystore_lock(const char *path, char *err, size_t errlen)
{
    char lock[BWC_PATH_MAX];
    int len = snprintf(lock, sizeof lock, "%s.lock", path);
    if (len < 0 || (size_t)len >= sizeof lock) {
        snprintf(err, errlen, "wallet path too long");
        return -1;
    }
    int fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open the lock file %s: %s", lock, strerror(errno));
        return -1;
    }
    while (flock(fd, LOCK_EX) != 0) {
        if (errno != EINTR) {
            snprintf(err, errlen, "cannot lock %s: %s", lock, strerror(errno));
            close(fd);
            return -1;
        }
    }
    return fd;
}

void bwc_keystore_unlock(int fd)
{
    if (fd >= 0)
        close(fd);
}
