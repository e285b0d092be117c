/* fuzz_tx.c: every transaction bwc_tx_decode accepts re-encodes to exactly its input. */
#include "tests/fuzz/fuzz.h"

#include "consensus/tx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bwc_tx tx;
    bwc_result res;
    if (!bwc_tx_decode(&tx, data, size, &res))
        return 0;
    bwc_buf b = BWC_BUF_INIT;
    fuzz_check_identity(bwc_tx_encode(&tx, 0, &b), &b, data, size);
    return 0;
}
