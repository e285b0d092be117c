/* fuzz_header.c: every header bwc_header_decode accepts re-encodes to exactly its input. */
#include "tests/fuzz/fuzz.h"

#include "consensus/header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bwc_header h;
    bwc_result res;
    if (!bwc_header_decode(&h, data, size, &res))
        return 0;
    bwc_buf b = BWC_BUF_INIT;
    fuzz_check_identity(bwc_header_encode(&h, 0, &b), &b, data, size);
    return 0;
}
