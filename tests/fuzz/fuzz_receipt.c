/* fuzz_receipt.c: every receipt bwc_receipt_decode accepts re-encodes to exactly its input. */
#include "tests/fuzz/fuzz.h"

#include "consensus/receipt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bwc_receipt r;
    bwc_result res;
    if (!bwc_receipt_decode(&r, data, size, &res))
        return 0;
    bwc_buf b = BWC_BUF_INIT;
    fuzz_check_identity(bwc_receipt_encode(&r, &b), &b, data, size);
    return 0;
}
