/* path.c: strict parsing of relay request paths and hex ids. */
#include "relay/path.h"

#include "common/hex.h"

#include <string.h>

int bwc_relay_parse_hex32(const char *s, unsigned char out[32])
{
    /* Lower case only: bwc_hex_decode takes either case and checks the length. */
    if (strspn(s, "0123456789abcdef") != 64) {
        memset(out, 0, 32);
        return 0;
    }
    return bwc_hex_decode(out, 32, s);
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
