/* fuzz_chainspec.c: any JSON chainspec the loader accepts yields params that encode into a G
 * the strict CBOR checker accepts. */
#include "tests/fuzz/fuzz.h"

#include "chainspec/chainspec.h"
#include "consensus/cbor.h"
#include "consensus/genesis.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The loader takes a C string: NUL-terminate a copy (an embedded NUL just ends it early). */
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';

    bwc_chainspec cs;
    char err[256];
    if (bwc_chainspec_load_string(&cs, s, err, sizeof err) == 0) {
        bwc_buf g = BWC_BUF_INIT;
        bwc_result res;
        FUZZ_CHECK(bwc_genesis_encode_g(&cs.params, &g) && !g.oom);
        FUZZ_CHECK(bwc_cbor_check(g.data, g.len, &res));
        bwc_buf_free(&g);
        bwc_chainspec_free(&cs);
    } else {
        FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL);
    }
    free(s);
    return 0;
}
