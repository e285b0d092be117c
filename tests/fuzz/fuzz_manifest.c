/* fuzz_manifest.c: every manifest bwc_manifest_decode accepts re-encodes to exactly its input. */
#include "tests/fuzz/fuzz.h"

#include "consensus/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bwc_manifest m;
    bwc_result res;
    if (!bwc_manifest_decode(&m, data, size, &res))
        return 0;
    bwc_buf b = BWC_BUF_INIT;
    fuzz_check_identity(bwc_manifest_encode(&m, &b), &b, data, size);
    bwc_manifest_free(&m);
    return 0;
}
