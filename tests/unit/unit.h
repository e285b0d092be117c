/* unit.h: shared helpers for the cmocka unit tests. */
#ifndef BWC_TESTS_UNIT_H
#define BWC_TESTS_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/hex.h"

/* Decodes a hex literal into a static-size test buffer; fails the test on bad hex. */
static inline size_t unit_hex(unsigned char *out, size_t cap, const char *hex)
{
    size_t n = strlen(hex) / 2;
    assert_true(n <= cap);
    assert_true(bwc_hex_decode(out, n, hex));
    return n;
}

/* Asserts that 32 bytes equal the given hex. */
#define assert_hex32(bytes, hex)                                                                   \
    do {                                                                                           \
        char got_[65];                                                                             \
        bwc_hex_encode(got_, (bytes), 32);                                                         \
        assert_string_equal(got_, (hex));                                                          \
    } while (0)

/* Reads a whole test data file into a NUL-terminated heap buffer (caller frees). */
static inline char *unit_read_data(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", BWC_TEST_DATA_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

#endif
