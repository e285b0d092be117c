/* store.h: the node's LevelDB database: one key space for blocks, indexes and the state. */
#ifndef BWC_NODE_STORE_H
#define BWC_NODE_STORE_H

#include <stddef.h>

#include "consensus/buf.h"
#include "consensus/state.h"

/* Key prefixes owned by the node. consensus/state.h owns every lower-case first byte. */
#define BWC_K_BLOCK 'B'  /* 'B' id -> block bytes (kept on disconnect) */
#define BWC_K_INDEX 'I'  /* 'I' id -> block index entry (node/chain.c) */
#define BWC_K_UNDO 'U'   /* 'U' id -> undo data of a connected block */
#define BWC_K_HEIGHT 'H' /* 'H' u64be height -> id of the best chain's block */
#define BWC_K_TX 'T'     /* 'T' txid -> u64be height, u32be index in the block */
#define BWC_K_ADDR 'A'   /* 'A' pubkey u64be height u32be index -> txid */
#define BWC_K_META 'M'   /* 'M' name -> value ("tip", "chain_id", "version") */

typedef struct bwc_store bwc_store;
typedef struct bwc_batch bwc_batch;

/* Opens (creating if missing) the database in the directory path. LevelDB's own LOCK file
 * keeps a second process out. Returns the store, or NULL with err filled. */
bwc_store *bwc_store_open(const char *path, char *err, size_t errlen);
void bwc_store_close(bwc_store *s);

/* Appends the value of key to out. Returns 1 (found), 0 (absent) or -1 (error, logged). */
int bwc_store_get(bwc_store *s, const void *key, size_t klen, bwc_buf *out);

/* A read-only state view over the store (put fails). */
bwc_state_view bwc_store_view(bwc_store *s);

/* Calls fn for every key that starts with prefix, in key order, until fn returns non-zero
 * (which is then returned). With reverse, from the last such key to the first. Returns 0 after
 * the last key, -1 on a read error. */
typedef int (*bwc_store_iter_fn)(void *ctx, const unsigned char *key, size_t klen,
                                 const unsigned char *val, size_t vlen);
int bwc_store_scan(bwc_store *s, const void *prefix, size_t plen, int reverse,
                   bwc_store_iter_fn fn, void *ctx);

/* Atomic groups of writes. */
bwc_batch *bwc_batch_new(void);
void bwc_batch_free(bwc_batch *b);
void bwc_batch_put(bwc_batch *b, const void *key, size_t klen, const void *val, size_t vlen);
void bwc_batch_del(bwc_batch *b, const void *key, size_t klen);
/* Writes the batch atomically, fsynced (a crash after return keeps it, a crash before loses
 * all of it). Returns 0, or -1 with the error logged. */
int bwc_store_write(bwc_store *s, bwc_batch *b);

/* Big-endian helpers for keys. */
void bwc_put_u64be(unsigned char *p, uint64_t v);
uint64_t bwc_get_u64be(const unsigned char *p);
void bwc_put_u32be(unsigned char *p, uint32_t v);
uint32_t bwc_get_u32be(const unsigned char *p);

#endif
