/* merkle.c: the Merkle root over tagged leaf hashes. */
#include "consensus/merkle.h"

#include <string.h>

#include "consensus/hash.h"

void bwc_merkle_root(bwc_hash *leaves, size_t n, bwc_hash *root)
{
    if (n == 0) {
        memset(root->b, 0, sizeof root->b);
        return;
    }
    while (n > 1) {
        size_t out = 0;
        for (size_t i = 0; i + 1 < n; i += 2)
            bwc_tagged_hash2(&leaves[out++], "bwc/merkle", leaves[i].b, 32, leaves[i + 1].b, 32);
        if (n % 2) /* promoted unchanged: duplicating it would let two lists share a root */
            leaves[out++] = leaves[n - 1];
        n = out;
    }
    *root = leaves[0];
}
