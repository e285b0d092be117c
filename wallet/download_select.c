/* download_select.c: relay records, their ranking, and whether a channel can be reused. */
#include "wallet/download_select.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/receipt.h"
#include "wallet/address.h"
#include "wallet/noderpc.h"

int bwc_dl_endpoint_parse(const char *endpoint, char *host, size_t hostlen, uint16_t *port)
{
    const char *p, *colon;
    size_t hl;
    *port = 0;
    if (hostlen)
        host[0] = '\0';
    if (strncmp(endpoint, "http://", 7) != 0)
        return 0;
    p = endpoint + 7;
    if (*p == '[') { /* [IPv6]:PORT */
        const char *end = strchr(p, ']');
        if (!end || end[1] != ':')
            return 0;
        colon = end + 1;
        p++;
        hl = (size_t)(end - p);
    } else {
        colon = strchr(p, ':');
        if (!colon || memchr(p, '/', (size_t)(colon - p)))
            return 0;
        hl = (size_t)(colon - p);
    }
    if (hl == 0 || hl >= hostlen)
        return 0;
    const char *ps = colon + 1;
    unsigned long v = 0;
    if (!*ps || *ps == '0' || strlen(ps) > 5)
        return 0;
    for (const char *q = ps; *q; q++) {
        if (*q < '0' || *q > '9')
            return 0;
        v = v * 10 + (unsigned long)(*q - '0');
    }
    if (v < 1 || v > 65535)
        return 0;
    memcpy(host, p, hl);
    host[hl] = '\0';
    *port = (uint16_t)v;
    return 1;
}

int bwc_dl_relay_from_json(bwc_dl_relay *r, const json_t *o, const secp256k1_context *secp,
                           const char *hrp, char *err, size_t errlen)
{
    char why[256];
    const char *addr = json_string_value(json_object_get(o, "address"));
    const char *ep = json_string_value(json_object_get(o, "endpoint"));
    const char *region = json_string_value(json_object_get(o, "region"));
    memset(r, 0, sizeof *r);
    if (!addr || bwc_wallet_parse_address(secp, hrp, addr, &r->key, why, sizeof why) != 0) {
        snprintf(err, errlen, "a relay record has no valid address");
        return 0;
    }
    snprintf(r->address, sizeof r->address, "%s", addr);
    if (!ep || strlen(ep) > BWC_ENDPOINT_MAX ||
        !bwc_dl_endpoint_parse(ep, r->host, sizeof r->host, &r->port)) {
        snprintf(err, errlen, "relay %s has no valid endpoint", addr);
        return 0;
    }
    snprintf(r->endpoint, sizeof r->endpoint, "%s", ep);
    if (!region || strlen(region) != BWC_REGION_LEN) {
        snprintf(err, errlen, "relay %s has no valid region", addr);
        return 0;
    }
    memcpy(r->region, region, BWC_REGION_LEN + 1);
    if (!bwc_json_get_u64(o, "price", &r->price) || !bwc_json_get_u64(o, "rate", &r->rate) ||
        !bwc_json_get_u64(o, "quota", &r->quota)) {
        snprintf(err, errlen, "relay %s has no price, rate or quota", addr);
        return 0;
    }
    return 1;
}

/* Orders a before b (-1) when x is "better" for both: smaller for price, larger otherwise. */
static int cmp_u64(uint64_t a, uint64_t b)
{
    return a < b ? -1 : a > b;
}

int bwc_dl_relay_compare(const bwc_dl_relay *a, const bwc_dl_relay *b, const char *region)
{
    int c;
    if (region) {
        int ia = strcmp(a->region, region) == 0, ib = strcmp(b->region, region) == 0;
        if (ia != ib)
            return ia ? -1 : 1;
    }
    if ((c = cmp_u64(a->price, b->price)) != 0)
        return c;
    /* Rate 0 means unlimited: the most capacity there is. */
    uint64_t ra = a->rate ? a->rate : UINT64_MAX, rb = b->rate ? b->rate : UINT64_MAX;
    if ((c = cmp_u64(rb, ra)) != 0)
        return c;
    if ((c = cmp_u64(b->quota, a->quota)) != 0)
        return c;
    return memcmp(a->key.b, b->key.b, 32);
}

/* qsort has no context argument: insertion sort, fine for the few relays a chain lists per
 * download (at most 10,000, ranked once). */
size_t bwc_dl_relay_rank(bwc_dl_relay *r, size_t n, const char *region, int has_max_price,
                         uint64_t max_price)
{
    for (size_t i = 1; i < n; i++) {
        bwc_dl_relay x = r[i];
        size_t j = i;
        for (; j > 0; j--) {
            int x_out = has_max_price && x.price > max_price;
            int p_out = has_max_price && r[j - 1].price > max_price;
            /* Eligible before ineligible, then by rank. */
            if (x_out > p_out ||
                (x_out == p_out && bwc_dl_relay_compare(&r[j - 1], &x, region) <= 0))
                break;
            r[j] = r[j - 1];
        }
        r[j] = x;
    }
    size_t eligible = 0;
    while (eligible < n && !(has_max_price && r[eligible].price > max_price))
        eligible++;
    return eligible;
}

int bwc_dl_channel_usable(const bwc_dl_channel_info *c, const bwc_pubkey *consumer,
                          const bwc_pubkey *relay, uint64_t relay_price, uint64_t tip,
                          uint64_t need_bytes, const char **why)
{
    uint64_t total, cost;
    if (!c->open) {
        *why = "closed";
        return 0;
    }
    if (memcmp(c->consumer.b, consumer->b, 32) != 0 || memcmp(c->relay.b, relay->b, 32) != 0) {
        *why = "wrong-parties";
        return 0;
    }
    if (c->expiry <= tip || c->expiry - tip < BWC_DL_MIN_BLOCKS_LEFT) {
        *why = "near-expiry";
        return 0;
    }
    if (c->price < relay_price || c->price == 0) {
        *why = "price-below-relay";
        return 0;
    }
    if (!bwc_amount_add(&total, c->base_bytes, need_bytes) ||
        !bwc_receipt_max_amount(total, c->price, &cost) || cost > c->deposit) {
        *why = "deposit-low";
        return 0;
    }
    *why = "";
    return 1;
}

uint64_t bwc_dl_need_bytes(uint64_t remaining, size_t n_relays, uint64_t chunk_size)
{
    uint64_t n = n_relays ? n_relays : 1;
    uint64_t share = remaining / n + (remaining % n != 0);
    /* Relays serve whole chunks: a share is rounded up to them, never past the remainder. */
    if (chunk_size && share % chunk_size) {
        uint64_t up = share - share % chunk_size;
        if (bwc_amount_add(&up, up, chunk_size))
            share = up;
    }
    return share < remaining ? share : remaining;
}

int bwc_dl_default_deposit(uint64_t remaining, uint64_t chunk_size, uint64_t price,
                           uint64_t receipt_fee, uint64_t *deposit)
{
    uint64_t bytes, cost, floor_fee;
    if (!bwc_amount_add(&bytes, remaining, chunk_size) ||
        !bwc_receipt_max_amount(bytes, price, &cost) || receipt_fee > UINT64_MAX / 10)
        return 0;
    floor_fee = 10 * receipt_fee;
    *deposit = cost > floor_fee ? cost : floor_fee;
    return 1;
}
