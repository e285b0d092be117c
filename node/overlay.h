/* overlay.h: a write buffer over a state view, for atomic application and undo data.
 *
 * Reads fall through to the base view until a key is written; writes stay in memory. The
 * overlay remembers, for every key it wrote, the value the base held (the undo data), so a
 * block's effects go to LevelDB as one batch together with what it takes to reverse them.
 * Overlays stack: a child's writes can be pushed into its parent (bwc_overlay_commit). */
#ifndef BWC_NODE_OVERLAY_H
#define BWC_NODE_OVERLAY_H

#include <stddef.h>

#include "common/map.h"
#include "consensus/buf.h"
#include "consensus/state.h"
#include "node/store.h"

typedef struct {
    const bwc_state_view *base;
    bwc_map map; /* key -> struct overlay_entry * */
    int failed;  /* a base read or an allocation failed: the overlay must be dropped */
} bwc_overlay;

void bwc_overlay_init(bwc_overlay *o, const bwc_state_view *base);
void bwc_overlay_free(bwc_overlay *o);
/* Forgets every write (the overlay reads as its base again). */
void bwc_overlay_clear(bwc_overlay *o);
/* The view that reads and writes through o. */
bwc_state_view bwc_overlay_view(bwc_overlay *o);
/* Adds every write to batch (puts and deletes). */
void bwc_overlay_to_batch(const bwc_overlay *o, bwc_batch *batch);
/* Appends the undo data: for each written key, the value the base held or its absence.
 * Sorted by key so that the same block gives the same bytes. Returns 0, or -1 (no memory). */
int bwc_overlay_undo(const bwc_overlay *o, bwc_buf *out);
/* Adds to batch the writes that restore what undo records. Returns 0, or -1 for undo data that
 * does not parse. */
int bwc_undo_to_batch(const unsigned char *undo, size_t n, bwc_batch *batch);
/* Writes every entry of o into its base view (a parent overlay). Returns 0, or -1. */
int bwc_overlay_commit(bwc_overlay *o);

#endif
