/* hex.c: lower-case hex encoding and strict decoding. */
#include "common/hex.h"

#include <stdlib.h>
#include <string.h>

static int nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

void bwc_hex_encode(char *out, const void *data, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

static int decode_into(unsigned char *out, const char *hex, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 1;
}

int bwc_hex_decode(void *out, size_t outlen, const char *hex)
{
    if (strlen(hex) != 2 * outlen || !decode_into(out, hex, outlen)) {
        memset(out, 0, outlen);
        return 0;
    }
    return 1;
}

int bwc_hex_decode_alloc(unsigned char **out, size_t *outlen, const char *hex)
{
    size_t len = strlen(hex);
    *out = NULL;
    *outlen = 0;
    if (len % 2)
        return 0;
    unsigned char *p = malloc(len / 2 + 1);
    if (!p)
        return 0;
    if (!decode_into(p, hex, len / 2)) {
        free(p);
        return 0;
    }
    *out = p;
    *outlen = len / 2;
    return 1;
}
