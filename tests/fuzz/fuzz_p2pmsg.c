/* fuzz_p2pmsg.c: every P2P payload bwc_msg_decode accepts re-encodes to exactly its input
 * (after the frame header), and a frame header never admits more than the limit. */
#include "tests/fuzz/fuzz.h"

#include "node/p2pmsg.h"

#define MAGIC 0x0b11d0c5u
#define LIMIT 65536u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bwc_result res;
    if (size >= BWC_FRAME_HEADER) {
        size_t len;
        if (bwc_frame_header(data, MAGIC, LIMIT, &len, &res))
            FUZZ_CHECK(len <= LIMIT);
    }
    bwc_msg m;
    if (!bwc_msg_decode(&m, data, size, &res))
        return 0;
    bwc_buf b = BWC_BUF_INIT;
    int ok = bwc_msg_encode(&m, MAGIC, &b);
    FUZZ_CHECK(ok && b.len == size + BWC_FRAME_HEADER);
    FUZZ_CHECK(memcmp(b.data + BWC_FRAME_HEADER, data, size) == 0);
    bwc_buf_free(&b);
    bwc_msg_free(&m);
    return 0;
}
