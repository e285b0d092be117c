/* fuzz_block.c: every block bwc_block_decode accepts (max_bytes 2 MiB) re-encodes to exactly its
 * input. */
#include "tests/fuzz/fuzz.h"

#include "consensus/block.h"

#define FUZZ_MAX_BLOCK_BYTES (2u * 1024u * 1024u)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bwc_block blk;
    bwc_result res;
    if (!bwc_block_decode(&blk, data, size, FUZZ_MAX_BLOCK_BYTES, &res))
        return 0;
    bwc_buf b = BWC_BUF_INIT;
    fuzz_check_identity(bwc_block_encode(&blk, &b), &b, data, size);
    bwc_block_free(&blk);
    return 0;
}
