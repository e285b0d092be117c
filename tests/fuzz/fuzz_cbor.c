/* fuzz_cbor.c: whatever bwc_cbor_check accepts, bwc_cbor_skip walks over in exactly one item. */
#include "tests/fuzz/fuzz.h"

#include "consensus/cbor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bwc_result res;
    if (!bwc_cbor_check(data, size, &res))
        return 0;
    bwc_cbor_reader r;
    bwc_cbor_reader_init(&r, data, size);
    FUZZ_CHECK(bwc_cbor_skip(&r));
    FUZZ_CHECK(r.pos == size);
    return 0;
}
