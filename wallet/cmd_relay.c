/* cmd_relay.c: listing relays, and announcing or retiring this wallet's relay record. */
#include <stdio.h>
#include <string.h>

#include "common/hex.h"
#include "consensus/bech32m.h"
#include "consensus/tx.h"
#include "wallet/amount.h"
#include "wallet/wallet.h"

/* A relay's default 30-day quota when --quota is not given (doc/wallet.md). */
#define DEFAULT_QUOTA (1ULL << 40) /* 1 TiB */

int bwc_cmd_relays(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out)
{
    const char *region = bwc_wopt_get(a, "region");
    int rc;
    if (region && !bwc_region_valid(region, strlen(region)))
        return bwc_wfail(WEXIT_USAGE,
                         "--region: two capital letters (ISO 3166-1 alpha-2, ZZ for unknown)");
    json_t *list = bwc_wctx_call(w, "listrelays", region ? json_pack("[s]", region) : NULL, &rc);
    if (!list)
        return rc;
    *out = json_object();
    json_object_set_new(*out, "relays", list);
    return 0;
}

void bwc_show_relays(const bwc_wctx *w, const json_t *out)
{
    json_t *list = json_object_get(out, "relays"), *e;
    size_t i;
    (void)w;
    if (json_array_size(list) == 0) {
        printf("No relays.\n");
        return;
    }
    json_array_foreach(list, i, e)
    {
        uint64_t rate = bwc_wshow_u64(e, "rate");
        printf("%s  %s  %s\n  price %llu units per MiB, rate ", bwc_wshow_str(e, "address", ""),
               bwc_wshow_str(e, "region", ""), bwc_wshow_str(e, "endpoint", ""),
               (unsigned long long)bwc_wshow_u64(e, "price"));
        if (rate)
            printf("%llu bytes/s", (unsigned long long)rate);
        else
            printf("unlimited");
        printf(", quota %llu bytes per 30 days", (unsigned long long)bwc_wshow_u64(e, "quota"));
        if (bwc_wshow_u64(e, "burst_hours"))
            printf(" (burst: %llu for %llu hours)",
                   (unsigned long long)bwc_wshow_u64(e, "burst_quota"),
                   (unsigned long long)bwc_wshow_u64(e, "burst_hours"));
        putchar('\n');
    }
}

/* The output of both relay transactions. */
static json_t *relay_tx_json(bwc_wctx *w, const bwc_wallet_key *k, const bwc_tx *tx,
                             const bwc_hash *txid)
{
    char addr[BWC_ADDRESS_MAX], txid_hex[65];
    json_t *o = json_object();
    bwc_hex_encode(txid_hex, txid->b, 32);
    json_object_set_new(o, "txid", json_string(txid_hex));
    json_object_set_new(o, "type", json_string(bwc_tx_type_name(tx->type)));
    json_object_set_new(o, "relay", json_string(bwc_wctx_address(w, &k->pub, addr)));
    if (tx->type == BWC_TX_RELAY_ANNOUNCE) {
        const bwc_tx_relay_announce *r = &tx->body.relay_announce;
        json_object_set_new(o, "endpoint", json_string(r->endpoint));
        json_object_set_new(o, "region", json_string(r->region));
        json_object_set_new(o, "price", json_integer((json_int_t)r->price));
        json_object_set_new(o, "rate", json_integer((json_int_t)r->rate));
        json_object_set_new(o, "quota", json_integer((json_int_t)r->quota));
        json_object_set_new(o, "burst_quota", json_integer((json_int_t)r->burst_quota));
        json_object_set_new(o, "burst_hours", json_integer((json_int_t)r->burst_hours));
    }
    json_object_set_new(o, "fee", json_integer((json_int_t)tx->fee));
    json_object_set_new(o, "nonce", json_integer((json_int_t)tx->nonce));
    return o;
}

int bwc_cmd_relay_announce(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out)
{
    char err[256];
    const char *endpoint = bwc_wopt_get(a, "endpoint"), *region = bwc_wopt_get(a, "region");
    const char *price = bwc_wopt_get(a, "price"), *rate = bwc_wopt_get(a, "rate");
    const char *quota = bwc_wopt_get(a, "quota"), *burst = bwc_wopt_get(a, "burst-quota");
    const char *hours = bwc_wopt_get(a, "burst-hours");
    const bwc_wallet_key *k;
    bwc_tx tx;
    bwc_hash txid;
    int rc;

    memset(&tx, 0, sizeof tx);
    tx.type = BWC_TX_RELAY_ANNOUNCE;
    bwc_tx_relay_announce *r = &tx.body.relay_announce;
    if (!endpoint || !region || !price)
        return bwc_wfail(WEXIT_USAGE,
                         "relay announce needs --endpoint http://HOST:PORT, --region XX and "
                         "--price P (units per MiB)");
    if (!bwc_endpoint_valid(endpoint, strlen(endpoint)))
        return bwc_wfail(WEXIT_USAGE,
                         "--endpoint: expected http://HOST:PORT (a DNS name, IPv4 or [IPv6] "
                         "address; no path), at most %d bytes",
                         BWC_ENDPOINT_MAX);
    if (!bwc_region_valid(region, strlen(region)))
        return bwc_wfail(WEXIT_USAGE,
                         "--region: two capital letters (ISO 3166-1 alpha-2, ZZ for unknown)");
    r->endpoint_len = strlen(endpoint);
    memcpy(r->endpoint, endpoint, r->endpoint_len + 1);
    memcpy(r->region, region, 3);
    r->region_len = 2;
    r->quota = DEFAULT_QUOTA;
    if ((rc = bwc_wctx_amount(price, "--price", 0, &r->price)) != 0)
        return rc;
    if ((rate && bwc_size_parse(&r->rate, rate, "--rate", err, sizeof err) != 0) ||
        (quota && bwc_size_parse(&r->quota, quota, "--quota", err, sizeof err) != 0) ||
        (burst && bwc_size_parse(&r->burst_quota, burst, "--burst-quota", err, sizeof err) != 0) ||
        (hours && bwc_uint_parse(&r->burst_hours, hours, "--burst-hours", err, sizeof err) != 0))
        return bwc_wfail(WEXIT_USAGE, "%s", err);
    if (!burst)
        r->burst_quota = r->quota;
    if (!bwc_relay_ceilings_valid(r->quota, r->burst_quota, 0))
        return bwc_wfail(WEXIT_USAGE, "--burst-quota must be at least --quota");
    if (!bwc_relay_ceilings_valid(r->quota, r->burst_quota, r->burst_hours))
        return bwc_wfail(WEXIT_USAGE, "--burst-hours: 0 (no burst) or 12 to 48");
    if ((rc = bwc_wctx_open(w, 0)) != 0 || (rc = bwc_wctx_key(w, bwc_wopt_get(a, "from"), &k)) ||
        (rc = bwc_wctx_node(w)) != 0 ||
        (rc = bwc_wctx_fee(w, bwc_wopt_get(a, "fee"), &tx.fee)) != 0 ||
        (rc = bwc_wctx_prepare(w, k, &tx)) != 0 || (rc = bwc_wctx_submit(w, k, &tx, &txid)) != 0)
        return rc;
    *out = relay_tx_json(w, k, &tx, &txid);
    return 0;
}

int bwc_cmd_relay_retire(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out)
{
    char addr[BWC_ADDRESS_MAX];
    const bwc_wallet_key *k;
    bwc_tx tx;
    bwc_hash txid;
    int rc;

    memset(&tx, 0, sizeof tx);
    tx.type = BWC_TX_RELAY_RETIRE;
    if ((rc = bwc_wctx_open(w, 0)) != 0 || (rc = bwc_wctx_key(w, bwc_wopt_get(a, "from"), &k)) ||
        (rc = bwc_wctx_node(w)) != 0)
        return rc;
    json_t *rec = bwc_wctx_call_opt(w, "getrelay",
                                    json_pack("[s]", bwc_wctx_address(w, &k->pub, addr)), -5, &rc);
    if (rc != 0)
        return rc;
    if (!rec)
        return bwc_wfail(WEXIT_USAGE, "%s has no relay record to retire", addr);
    json_decref(rec);
    if ((rc = bwc_wctx_fee(w, bwc_wopt_get(a, "fee"), &tx.fee)) != 0 ||
        (rc = bwc_wctx_prepare(w, k, &tx)) != 0 || (rc = bwc_wctx_submit(w, k, &tx, &txid)) != 0)
        return rc;
    *out = relay_tx_json(w, k, &tx, &txid);
    return 0;
}

void bwc_show_relay_tx(const bwc_wctx *w, const json_t *out)
{
    char f[BWC_WSHOW_AMOUNT_MAX];
    (void)w;
    if (!strcmp(bwc_wshow_str(out, "type", ""), "relay_retire"))
        printf("Retired the relay record of %s", bwc_wshow_str(out, "relay", ""));
    else
        printf("Announced relay %s at %s (%s), price %llu units per MiB",
               bwc_wshow_str(out, "relay", ""), bwc_wshow_str(out, "endpoint", ""),
               bwc_wshow_str(out, "region", ""), (unsigned long long)bwc_wshow_u64(out, "price"));
    printf("; fee %s\ntxid %s\n", bwc_wshow_amount(f, bwc_wshow_u64(out, "fee")),
           bwc_wshow_str(out, "txid", ""));
}
