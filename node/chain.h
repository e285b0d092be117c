/* chain.h: the block tree, the best chain and the state it implies.
 *
 * Every block the node accepted is stored ('B') with an index entry ('I'); the index lives in
 * memory as a tree. The best chain is the valid chain of most work (PoW) or most blocks (PoA,
 * never reorganised deeper than finality_depth). Connecting a block applies it to the state
 * through an overlay and writes the state changes, the undo data, the tx and address index
 * entries and the new tip as one synced LevelDB batch; disconnecting writes the undo data back
 * as one batch. A crash at any point therefore restarts on the last written tip. */
#ifndef BWC_NODE_CHAIN_H
#define BWC_NODE_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include <secp256k1.h>

#include "common/map.h"
#include "consensus/block.h"
#include "consensus/params.h"
#include "consensus/result.h"
#include "consensus/engine.h"
#include "consensus/target.h"
#include "node/overlay.h"
#include "node/store.h"

enum {
    BWC_INDEX_VALID = 1u << 0,     /* connected at least once: every rule held */
    BWC_INDEX_FAILED = 1u << 1,    /* broke a rule, or descends from such a block */
    BWC_INDEX_HAVE_DATA = 1u << 2, /* the block itself is stored, not only its header */
};

typedef struct bwc_index {
    bwc_hash id;
    bwc_header header;
    struct bwc_index *prev;
    uint64_t height;
    unsigned char work[BWC_U256_SIZE]; /* cumulative, genesis included */
    unsigned status;
    uint64_t sequence; /* arrival order: of equal work, the first seen wins */
    uint32_t n_txs, n_receipts, size;
    int linked; /* in memory: this block and all its ancestors are stored */
} bwc_index;

/* Told about every block connected to or disconnected from the best chain, in order. */
typedef struct {
    void *ctx;
    void (*connected)(void *ctx, const bwc_index *idx, const bwc_block *b);
    void (*disconnected)(void *ctx, const bwc_index *idx, const bwc_block *b);
} bwc_chain_listener;

#define BWC_ORPHANS_MAX 128

typedef struct {
    unsigned char *bytes;
    size_t len;
    bwc_hash id, prev;
} bwc_orphan;

typedef struct {
    bwc_store *store;
    const bwc_params *params;
    bwc_hash chain_id;
    const secp256k1_context *secp;
    unsigned sig_threads; /* threads that verify a block's signatures (>= 1) */
    bwc_map index;        /* id -> bwc_index * */
    bwc_index **active;   /* active[h]: the best chain's block at height h */
    size_t active_len, active_cap;
    bwc_index *best;        /* the linked candidate of most work: where the chain goes */
    bwc_index *best_header; /* the header of most work, data or not: what sync aims at */
    bwc_index **unlinked;   /* stored blocks waiting for an ancestor's data */
    size_t n_unlinked, unlinked_cap;
    uint64_t next_sequence;
    bwc_orphan orphans[BWC_ORPHANS_MAX];
    size_t n_orphans;
    bwc_chain_listener listener;
} bwc_chain;

/* Opens the chain in store: on a new database writes genesis, else loads the index and the
 * tip. With reindex, drops the state and every index built from blocks and connects the stored
 * blocks again from genesis, verifying signatures on sig_threads threads (0 is taken as 1; the
 * same count is kept in c->sig_threads for later blocks). Returns 0, or -1 with err filled
 * (also when the database belongs to another chain). */
int bwc_chain_open(bwc_chain *c, bwc_store *store, const bwc_params *params,
                   const secp256k1_context *secp, unsigned sig_threads, int reindex, char *err,
                   size_t errlen);
void bwc_chain_close(bwc_chain *c);

static inline const bwc_index *bwc_chain_tip(const bwc_chain *c)
{
    return c->active[c->active_len - 1];
}
static inline uint64_t bwc_chain_height(const bwc_chain *c)
{
    return c->active_len - 1;
}
/* The best chain's block at height, or NULL. */
const bwc_index *bwc_chain_at(const bwc_chain *c, uint64_t height);
/* Any known block, or NULL. */
const bwc_index *bwc_chain_find(const bwc_chain *c, const bwc_hash *id);
/* 1 when idx is on the best chain. */
int bwc_chain_contains(const bwc_chain *c, const bwc_index *idx);
/* Highest height that can no longer be reorganised: tip - finality_depth on PoA chains, 0 on
 * PoW chains (no finality). */
uint64_t bwc_chain_finalized_height(const bwc_chain *c);

/* What bwc_chain_submit says about a block. */
typedef enum {
    BWC_SUBMIT_ACCEPTED = 0, /* stored; the best chain may have moved */
    BWC_SUBMIT_DUPLICATE,    /* known already (res says whether it was invalid) */
    BWC_SUBMIT_ORPHAN,       /* parent unknown: held in the orphan pool */
    BWC_SUBMIT_REJECTED,     /* res says why */
    BWC_SUBMIT_ERROR,        /* storage failed */
} bwc_submit_status;

/* Takes a block from a peer, the miner or RPC: decodes it, checks the header against its
 * parent (now = the local clock), the roots, stores it and moves to the best chain, connecting
 * and disconnecting blocks as needed. Blocks that were waiting for this one as their parent
 * follow. id (may be NULL) gets the block id when it decoded. */
bwc_submit_status bwc_chain_submit(bwc_chain *c, const unsigned char *bytes, size_t len,
                                   uint64_t now, bwc_hash *id, bwc_result *res);

/* Takes a header ahead of its block (headers-first sync): checks it against its parent like a
 * block's header and adds it to the tree without data. Returns BWC_SUBMIT_ACCEPTED (new),
 * BWC_SUBMIT_DUPLICATE (known), BWC_SUBMIT_ORPHAN (parent unknown), BWC_SUBMIT_REJECTED (res
 * says why) or BWC_SUBMIT_ERROR. id (may be NULL) gets its block id. */
bwc_submit_status bwc_chain_accept_header(bwc_chain *c, const bwc_header *h, uint64_t now,
                                          bwc_hash *id, bwc_result *res);

/* Reads a stored block: raw bytes into raw (may be NULL) and the decoded block into b (may be
 * NULL; release with bwc_block_free). Returns 0, or -1. */
int bwc_chain_read_block(bwc_chain *c, const bwc_hash *id, bwc_buf *raw, bwc_block *b);

/* The timestamps of idx and up to 10 ancestors, for the MTP of its child. Returns n. */
size_t bwc_chain_mtp_times(const bwc_index *idx, uint64_t times[BWC_MTP_SPAN]);

/* Whether a confirmed tx with this id is indexed on the best chain: 1, 0, or -1 on a storage
 * error. */
int bwc_chain_tx_known(bwc_chain *c, const bwc_hash *txid);

/* The state view of the best chain's tip (read-only). */
bwc_state_view bwc_chain_view(bwc_chain *c);

/* Applies the body of block b (height and producer from its header) to overlay o through the
 * rules of consensus/state.h, with every signature verified on c->sig_threads threads, and
 * adds the tx and address index entries. Used to connect a block and to check a new one.
 * Returns 1, or 0 with res set. */
int bwc_chain_apply_body(bwc_chain *c, bwc_overlay *o, const bwc_block *b, bwc_result *res);

#endif
