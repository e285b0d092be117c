/* keystore.h: the wallet's keys and labels, and wallet.dat, the passphrase-encrypted file that
 * holds them (format in doc/wallet.md). */
#ifndef BWC_WALLET_KEYSTORE_H
#define BWC_WALLET_KEYSTORE_H

#include <stddef.h>
#include <stdint.h>

#include <secp256k1.h>

#include "consensus/buf.h"
#include "consensus/types.h"

#define BWC_KEYSTORE_LABEL_MAX 64 /* bytes of UTF-8 */
#define BWC_KEYSTORE_MAX_KEYS 10000
/* The file: a 52-byte header, the ciphertext, a 16-byte tag (doc/wallet.md). */
#define BWC_KEYSTORE_HEADER_BYTES 52
#define BWC_KEYSTORE_TAG_BYTES 16
#define BWC_KEYSTORE_MAX_PAYLOAD (BWC_KEYSTORE_MAX_KEYS * 128u + 64u)
#define BWC_KEYSTORE_MAX_FILE                                                                      \
    (BWC_KEYSTORE_HEADER_BYTES + BWC_KEYSTORE_MAX_PAYLOAD + BWC_KEYSTORE_TAG_BYTES)

/* One key. secret is wiped by bwc_keystore_free. label is "" when there is none. */
typedef struct {
    unsigned char secret[32];
    bwc_pubkey pub;
    char label[BWC_KEYSTORE_LABEL_MAX + 1];
    uint64_t created; /* unix seconds */
} bwc_wallet_key;

/* The decrypted wallet: the chain it belongs to and its keys in creation order; keys[0] is
 * the default key. Owns keys: release with bwc_keystore_free, which wipes every secret. */
typedef struct {
    bwc_hash chain_id;
    bwc_wallet_key *keys;
    size_t n_keys, cap;
} bwc_keystore;

/* scrypt cost: N = 2^log2_n, r, p. Written into every file; readers accept only the bounded
 * ranges below, so a tampered header cannot make them allocate gigabytes. */
typedef struct {
    unsigned log2_n;
    uint32_t r, p;
} bwc_scrypt_params;

#define BWC_SCRYPT_LOG2_N_DEFAULT 16 /* 64 MiB, ~0.4 s on a 2020s laptop core */
#define BWC_SCRYPT_R_DEFAULT 8
#define BWC_SCRYPT_P_DEFAULT 1
#define BWC_SCRYPT_LOG2_N_MIN 10
#define BWC_SCRYPT_LOG2_N_MAX 20
#define BWC_SCRYPT_R_MAX 32
#define BWC_SCRYPT_P_MAX 16
#define BWC_SCRYPT_MAXMEM (1024ULL * 1024 * 1024) /* 128 * r * N must stay below 1 GiB */

/* How opening a wallet file failed. */
typedef enum {
    BWC_KEYSTORE_OK = 0,
    BWC_KEYSTORE_CORRUPT,  /* not a wallet file, or a header out of range */
    BWC_KEYSTORE_AUTH,     /* wrong passphrase, or the file was modified */
    BWC_KEYSTORE_INTERNAL, /* out of memory, or OpenSSL failed */
} bwc_keystore_status;

/* Starts an empty keystore for a chain. */
void bwc_keystore_init(bwc_keystore *ks, const bwc_hash *chain_id);

/* Wipes every secret and frees the keys; *ks is empty afterwards. Safe on an empty one. */
void bwc_keystore_free(bwc_keystore *ks);

/* Adds a key with this 32-byte secret (1..n-1), label (NULL or "" for none: 1..64 bytes of
 * UTF-8 without control characters, unique in the wallet) and creation time. Returns 0, or
 * -1 with err: an invalid secret, a key already in the wallet, a bad or taken label, too many
 * keys, or no memory. The caller still wipes its own copy of the secret. */
int bwc_keystore_add(bwc_keystore *ks, const secp256k1_context *secp,
                     const unsigned char secret[32], const char *label, uint64_t created, char *err,
                     size_t errlen);

/* Returns 1 when label is acceptable as a label (1..64 bytes of UTF-8, no control character),
 * else 0. */
int bwc_keystore_label_valid(const char *label);

/* Finds a key by public key; returns its index or -1. */
long bwc_keystore_find(const bwc_keystore *ks, const bwc_pubkey *pub);

/* Finds a key by label; returns its index or -1. */
long bwc_keystore_find_label(const bwc_keystore *ks, const char *label);

/* Encrypts ks under the passphrase (pass, passlen bytes) with the scrypt cost sp (NULL: the
 * defaults), a fresh random salt and nonce, into a complete wallet file appended to out
 * (whose previous contents the caller owns; every intermediate copy of the plaintext is
 * wiped). Returns 0, or -1 with err. */
int bwc_keystore_encrypt(const bwc_keystore *ks, const char *pass, size_t passlen,
                         const bwc_scrypt_params *sp, bwc_buf *out, char *err, size_t errlen);

/* Decrypts a wallet file of n bytes into *ks (which the caller then frees with
 * bwc_keystore_free; on failure *ks is empty). Public keys are recomputed from the secrets.
 * Returns BWC_KEYSTORE_OK, or another status with a message in err. */
bwc_keystore_status bwc_keystore_decrypt(bwc_keystore *ks, const secp256k1_context *secp,
                                         const unsigned char *file, size_t n, const char *pass,
                                         size_t passlen, char *err, size_t errlen);

/* Reads the whole file at path (at most BWC_KEYSTORE_MAX_FILE bytes) into out. Returns 0, -1
 * with err (*missing set to 1 when the file does not exist). */
int bwc_keystore_read_file(const char *path, bwc_buf *out, int *missing, char *err, size_t errlen);

/* Replaces the file at path atomically: writes path.tmp (mode 0600, O_EXCL, no symlink
 * followed), fsyncs it, renames it over path and fsyncs the directory, so a crash leaves
 * either the old file or the new one. A stale path.tmp is removed first: callers hold the
 * wallet lock (bwc_keystore_lock). Returns 0, or -1 with err. */
int bwc_keystore_write_file(const char *path, const unsigned char *data, size_t n, char *err,
                            size_t errlen);

/* Takes an exclusive advisory lock (flock) on path.lock, creating it with mode 0600, so that
 * two wallet processes never read-modify-write the same file at once. Waits while another
 * holds it. Returns a descriptor to pass to bwc_keystore_unlock, or -1 with err. */
int bwc_keystore_lock(const char *path, char *err, size_t errlen);

/* Releases a lock from bwc_keystore_lock (fd -1 is ignored). */
void bwc_keystore_unlock(int fd);

#endif
