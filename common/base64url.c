/* base64url.c: the encoder and the strict decoder. */
#include "common/base64url.h"

#include <stdint.h>
#include <string.h>

static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t bwc_b64url_len(size_t n)
{
    return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0);
}

size_t bwc_b64url_encode(char *out, size_t outlen, const void *data, size_t n)
{
    const unsigned char *p = data;
    size_t len = bwc_b64url_len(n), o = 0;
    if (outlen < len + 1)
        return 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        size_t k = n - i < 3 ? n - i : 3;
        if (k > 1)
            v |= (uint32_t)p[i + 1] << 8;
        if (k > 2)
            v |= p[i + 2];
        out[o++] = b64url[v >> 18 & 63];
        out[o++] = b64url[v >> 12 & 63];
        if (k > 1)
            out[o++] = b64url[v >> 6 & 63];
        if (k > 2)
            out[o++] = b64url[v & 63];
    }
    out[o] = '\0';
    return o;
}

static int b64url_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

long bwc_b64url_decode(unsigned char *out, size_t outlen, const char *s)
{
    size_t n = strlen(s);
    if (n % 4 == 1)
        return -1;
    size_t want = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
    if (want > outlen)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 4) {
        size_t k = n - i < 4 ? n - i : 4;
        uint32_t v = 0;
        for (size_t j = 0; j < 4; j++) {
            int d = j < k ? b64url_value(s[i + j]) : 0;
            if (d < 0)
                return -1;
            v = v << 6 | (uint32_t)d;
        }
        /* k characters carry k*6 bits, of which (k-1)*8 are data: the rest must be zero. */
        if ((k == 2 && (v & 0xffff)) || (k == 3 && (v & 0xff)))
            return -1;
        out[o++] = (unsigned char)(v >> 16);
        if (k > 2)
            out[o++] = (unsigned char)(v >> 8);
        if (k > 3)
            out[o++] = (unsigned char)v;
    }
    return (long)o;
}
