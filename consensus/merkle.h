/* merkle.h: the Merkle root of §3.6 (odd last node promoted, never duplicated). */
#ifndef BWC_CONSENSUS_MERKLE_H
#define BWC_CONSENSUS_MERKLE_H

#include <stddef.h>

#include "consensus/types.h"

/* Computes the root of n leaves into *root, using leaves[] as scratch space (its contents are
 * destroyed). Each level pairs TH("bwc/merkle", l || r); an odd last node moves up unchanged;
 * no leaves give 0^32. */
void bwc_merkle_root(bwc_hash *leaves, size_t n, bwc_hash *root);

#endif
