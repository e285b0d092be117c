/* fuzz.h: what every libFuzzer target in tests/fuzz/ shares: the entry point and a check that
 * survives NDEBUG. */
#ifndef BWC_TESTS_FUZZ_H
#define BWC_TESTS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts with file:line when cond is false. Never assert(): NDEBUG would silence it. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #cond);          \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Aborts unless the encoder succeeded and wrote exactly the n bytes at p; frees b. */
static inline void fuzz_check_identity(int encoded, bwc_buf *b, const uint8_t *p, size_t n)
{
    FUZZ_CHECK(encoded && !b->oom);
    FUZZ_CHECK(b->len == n);
    FUZZ_CHECK(n == 0 || memcmp(b->data, p, n) == 0);
    bwc_buf_free(b);
}

#endif
