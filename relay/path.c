/* path.c: strict parsing of relay request paths, hex ids and base64url. */
#include "relay/path.h"

#include <string.h>

int bwc_relay_parse_hex32(const char *s, unsigned char out[32])
{
    memset(out, 0, 32);
    for (size_t i = 0; i < 64; i++) {
        char c = s[i];
        int v;
        if (c >= '0' && c <= '9')
            v = c - '0';
        else if (c >= 'a' && c <= 'f')
            v = c - 'a' + 10;
        else {
            memset(out, 0, 32);
            return 0; /* also the NUL of a short string */
        }
        out[i / 2] = (unsigned char)(out[i / 2] << 4 | v);
    }
    if (s[64] != '\0') {
        memset(out, 0, 32);
        return 0;
    }
    return 1;
}

/* The id at p (64 lower-case hex digits) followed by end (a '/' or the NUL). Returns a pointer
 * past the id, or NULL. */
static const char *take_id(const char *p, unsigned char out[32], char end)
{
    char buf[65];
    size_t n = 0;
    while (p[n] && p[n] != '/' && n < 65)
        n++;
    if (n != 64 || p[n] != end)
        return NULL;
    memcpy(buf, p, 64);
    buf[64] = '\0';
    if (!bwc_relay_parse_hex32(buf, out))
        return NULL;
    return p + 64;
}

static int take_index(const char *p, uint32_t *out)
{
    uint64_t v = 0;
    size_t n = 0;
    if (p[0] == '0' && p[1] != '\0')
        return 0;
    for (; p[n]; n++) {
        if (p[n] < '0' || p[n] > '9' || n >= 10)
            return 0;
        v = v * 10 + (uint64_t)(p[n] - '0');
    }
    if (n == 0 || v > UINT32_MAX)
        return 0;
    *out = (uint32_t)v;
    return 1;
}

bwc_route bwc_relay_parse_path(const char *uri, bwc_relay_path *out)
{
    memset(out, 0, sizeof *out);
    if (!uri || strpbrk(uri, "?#%") || strncmp(uri, "/v1/", 4) != 0)
        return BWC_ROUTE_NONE;
    const char *p = uri + 4;
    bwc_route route = BWC_ROUTE_NONE;
    if (strcmp(p, "status") == 0) {
        route = BWC_ROUTE_STATUS;
    } else if (strcmp(p, "receipt") == 0) {
        route = BWC_ROUTE_RECEIPT;
    } else if (strncmp(p, "manifest/", 9) == 0) {
        if (take_id(p + 9, out->id.b, '\0'))
            route = BWC_ROUTE_MANIFEST;
    } else if (strncmp(p, "channel/", 8) == 0) {
        if (take_id(p + 8, out->id.b, '\0'))
            route = BWC_ROUTE_CHANNEL;
    } else if (strncmp(p, "chunk/", 6) == 0) {
        const char *q = take_id(p + 6, out->id.b, '/');
        if (q && take_index(q + 1, &out->index))
            route = BWC_ROUTE_CHUNK;
    }
    if (route == BWC_ROUTE_NONE)
        memset(out, 0, sizeof *out);
    out->route = route;
    return route;
}

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
