/* path.h: strict parsing of what a relay request carries: paths, ids and indexes (base64url
 * lives in common/base64url.h). */
#ifndef BWC_RELAY_PATH_H
#define BWC_RELAY_PATH_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/types.h"

/* The routes of PROTOCOL.md §8. */
typedef enum {
    BWC_ROUTE_NONE = 0, /* no route matches: 404 */
    BWC_ROUTE_STATUS,   /* /v1/status */
    BWC_ROUTE_MANIFEST, /* /v1/manifest/{content_id} */
    BWC_ROUTE_CHUNK,    /* /v1/chunk/{content_id}/{index} */
    BWC_ROUTE_RECEIPT,  /* /v1/receipt */
    BWC_ROUTE_CHANNEL,  /* /v1/channel/{id} */
} bwc_route;

typedef struct {
    bwc_route route;
    bwc_hash id;    /* content id (manifest, chunk) or channel/pool id */
    uint32_t index; /* chunk index */
} bwc_relay_path;

/* Parses a request URI as evhttp hands it (path plus an optional query). Only exact forms
 * match: ids of exactly 64 lower-case hex digits, an index in decimal without leading zeros
 * (a lone "0" is fine) below 2^32, no query, no fragment, no trailing slash, no percent
 * escapes. Anything else is BWC_ROUTE_NONE. Returns the route (also in out->route). */
bwc_route bwc_relay_parse_path(const char *uri, bwc_relay_path *out);

/* Exactly 64 lower-case hex digits into 32 bytes. Returns 1, or 0 (out zeroed). */
int bwc_relay_parse_hex32(const char *s, unsigned char out[32]);

#endif
