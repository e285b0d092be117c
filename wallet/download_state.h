/* download_state.h: FILE.part.state, what lets an interrupted download resume: the content, which
 * chunks are verified, and per channel the newest receipt we signed and the chunks asked of its
 * relay that no receipt covers yet. Format in doc/wallet.md ("Resuming"). */
#ifndef BWC_WALLET_DOWNLOAD_STATE_H
#define BWC_WALLET_DOWNLOAD_STATE_H

#include <stddef.h>
#include <stdint.h>

#include <secp256k1.h>

#include "consensus/buf.h"
#include "consensus/types.h"
#include "wallet/download_receipt.h"

#define BWC_DL_STATE_MAGIC "BWCDLST1" /* 8 bytes, then canonical CBOR, then its SHA-256 */
#define BWC_DL_STATE_MAGIC_LEN 8
#define BWC_DL_STATE_VERSION 2 /* written; version 1 (channels only) is read too */
#define BWC_DL_STATE_MAX_CHANNELS 64
/* The bitmap of 2^18 chunks (32 KiB) and 64 channels of at most ~700 bytes fit well inside. */
#define BWC_DL_STATE_MAX_BYTES (1u << 20)

/* verified and channels are owned: bwc_dl_state_free. */
typedef struct {
    bwc_hash chain_id;
    bwc_hash content_id;
    bwc_pubkey consumer; /* the key that signs the receipts */
    uint64_t size, chunk_size;
    size_t n_chunks;
    unsigned char *verified; /* bwc_dl_bitmap_len(n_chunks) bytes */
    bwc_dl_channel *channels;
    size_t n_channels;
} bwc_dl_state;

/* A new state with no chunk verified and no channel. Returns 1, or 0 for a size or chunk size
 * no manifest can have, or when out of memory. */
int bwc_dl_state_init(bwc_dl_state *s, const bwc_hash *chain_id, const bwc_hash *content_id,
                      const bwc_pubkey *consumer, uint64_t size, uint64_t chunk_size);

void bwc_dl_state_free(bwc_dl_state *s);

/* The index of the channel with this id, or -1. */
long bwc_dl_state_find(const bwc_dl_state *s, const bwc_hash *id);

/* The index of the lane with this id: for a pool lane (is_pool) also with this relay (a pool
 * has one lane per relay); -1 when none. */
long bwc_dl_state_find_lane(const bwc_dl_state *s, const bwc_hash *id, int is_pool,
                            const bwc_pubkey *relay);

/* Appends a copy of c. Returns its index, or -1 when full (BWC_DL_STATE_MAX_CHANNELS) or out of
 * memory. The channels array may move: do not keep pointers into it across this call. */
long bwc_dl_state_add(bwc_dl_state *s, const bwc_dl_channel *c);

/* Appends the file's bytes (magic, CBOR, SHA-256) to out. Returns 1, or 0 when out of memory. */
int bwc_dl_state_encode(const bwc_dl_state *s, bwc_buf *out);

/* Decodes a state file strictly: magic, checksum, canonical CBOR with exactly the keys of
 * version 1, a chain_id equal to chain_id, a size and chunk size a manifest can have, a bitmap
 * of the right length with no bit past the last chunk, at most BWC_DL_STATE_MAX_CHANNELS
 * distinct channels whose receipts decode, name their channel, claim no more than the deposit
 * and carry a valid consumer_sig by consumer, pending chunks in range and distinct. Returns 1
 * with *s filled (free with bwc_dl_state_free), or 0 with *why (*s empty). */
int bwc_dl_state_decode(bwc_dl_state *s, const unsigned char *p, size_t n,
                        const secp256k1_context *secp, const bwc_hash *chain_id, const char **why);

/* Replaces the file at path with the encoding of s: written to path.tmp, renamed over path. With
 * durable, the file and its directory are fsynced (a checkpoint); without, a crash of this
 * process still leaves the old or the new file, and only a power failure could lose the last
 * writes. Returns 0, or -1 with err. */
int bwc_dl_state_save(const char *path, const bwc_dl_state *s, int durable, char *err,
                      size_t errlen);

/* Reads and decodes the file at path. Returns 0 with *s; or -1 with *missing 1 when there is no
 * file, or *missing 0 and err (unreadable, or refused by bwc_dl_state_decode). */
int bwc_dl_state_load(const char *path, bwc_dl_state *s, const secp256k1_context *secp,
                      const bwc_hash *chain_id, int *missing, char *err, size_t errlen);

/* ---- the receipt journal ----
 * The newest receipt signed for each channel, kept after a download ends (doc/wallet.md): in
 * <wallet directory>/receipts/<channel id>.receipt, the receipt's CBOR as it was sent. A later
 * download that reuses the channel starts from it, so it sends the relay what an earlier final
 * POST could not deliver, and sits on the relay's log where the relay expects it. */

/* Writes r (which must carry a consumer_sig) for its channel into dir (created 0700 when
 * missing), replacing the file atomically. Returns 0, or -1 with err. */
int bwc_dl_journal_save(const char *dir, const bwc_receipt *r, char *err, size_t errlen);

/* Reads the journal's receipt for channel: a channel receipt for it whose consumer_sig is
 * consumer's over bwc_receipt_id(chain_id, r). Returns 1 with *r, 0 when there is none, -1 with
 * err when the file is there but not such a receipt. */
int bwc_dl_journal_load(const char *dir, const bwc_hash *channel, const secp256k1_context *secp,
                        const bwc_hash *chain_id, const bwc_pubkey *consumer, bwc_receipt *r,
                        char *err, size_t errlen);

#endif
