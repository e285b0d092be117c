/* cmd_channel.c: opening payment channels to relays, and listing the wallet's channels. */
#include <stdio.h>
#include <string.h>

#include "common/hex.h"
#include "consensus/bech32m.h"
#include "wallet/address.h"
#include "wallet/wallet.h"

int bwc_cmd_channel_open(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out)
{
    char err[512], addr[BWC_ADDRESS_MAX], txid_hex[65];
    const char *price_s = bwc_wopt_get(a, "price");
    const bwc_wallet_key *k;
    bwc_tx tx;
    bwc_hash txid;
    int rc, price_from_relay = 0;

    memset(&tx, 0, sizeof tx);
    tx.type = BWC_TX_CHANNEL_OPEN;
    bwc_tx_channel_open *c = &tx.body.channel_open;
    if (bwc_wallet_parse_address(w->secp, w->cs.params.hrp, a->pos[0], &c->relay, err,
                                 sizeof err) != 0)
        return bwc_wfail(WEXIT_USAGE, "RELAY: %s", err);
    if ((rc = bwc_wctx_amount(a->pos[1], "DEPOSIT", 1, &c->deposit)) != 0)
        return rc;
    if (price_s && (rc = bwc_wctx_amount(price_s, "--price", 1, &c->price)) != 0)
        return rc;
    if ((rc = bwc_wctx_open(w, 0)) != 0 || (rc = bwc_wctx_key(w, bwc_wopt_get(a, "from"), &k)) ||
        (rc = bwc_wctx_node(w)) != 0)
        return rc;
    if (memcmp(c->relay.b, k->pub.b, 32) == 0)
        return bwc_wfail(WEXIT_USAGE, "RELAY: a channel to yourself pays nobody");
    if (!price_s) {
        /* The relay's announced price, when it has a record (doc/wallet.md). */
        json_t *r = bwc_wctx_call_opt(
            w, "getrelay", json_pack("[s]", bwc_wctx_address(w, &c->relay, addr)), -5, &rc);
        if (rc != 0)
            return rc;
        if (!r)
            return bwc_wfail(WEXIT_USAGE,
                             "RELAY %s has announced no price (it has no relay record): give "
                             "--price (units per MiB, e.g. --price 1000u)",
                             a->pos[0]);
        int ok = bwc_json_get_u64(r, "price", &c->price);
        json_decref(r);
        if (!ok)
            return bwc_wfail(WEXIT_NODE, "node: getrelay gave no price");
        if (c->price == 0)
            return bwc_wfail(WEXIT_USAGE,
                             "RELAY %s serves for free (price 0): a channel cannot pay it",
                             a->pos[0]);
        price_from_relay = 1;
    }
    if ((rc = bwc_wctx_expiry(w, bwc_wopt_get(a, "expiry"), &c->expiry)) != 0 ||
        (rc = bwc_wctx_fee(w, bwc_wopt_get(a, "fee"), &tx.fee)) != 0 ||
        (rc = bwc_wctx_prepare(w, k, &tx)) != 0 || (rc = bwc_wctx_submit(w, k, &tx, &txid)) != 0)
        return rc;

    *out = json_object();
    bwc_hex_encode(txid_hex, txid.b, 32);
    json_object_set_new(*out, "channel_id", json_string(txid_hex));
    json_object_set_new(*out, "txid", json_string(txid_hex));
    json_object_set_new(*out, "consumer", json_string(bwc_wctx_address(w, &k->pub, addr)));
    json_object_set_new(*out, "relay", json_string(bwc_wctx_address(w, &c->relay, addr)));
    json_object_set_new(*out, "deposit", json_integer((json_int_t)c->deposit));
    json_object_set_new(*out, "price", json_integer((json_int_t)c->price));
    json_object_set_new(*out, "price_from_relay", json_boolean(price_from_relay));
    json_object_set_new(*out, "expiry", json_integer((json_int_t)c->expiry));
    json_object_set_new(*out, "fee", json_integer((json_int_t)tx.fee));
    json_object_set_new(*out, "nonce", json_integer((json_int_t)tx.nonce));
    return 0;
}

void bwc_show_channel_open(const bwc_wctx *w, const json_t *out)
{
    char d[BWC_WSHOW_AMOUNT_MAX], f[BWC_WSHOW_AMOUNT_MAX];
    (void)w;
    printf("Opened channel %s\n"
           "  relay %s, deposit %s, price %llu units per MiB%s\n"
           "  expires after block %llu; fee %s\n",
           bwc_wshow_str(out, "channel_id", ""), bwc_wshow_str(out, "relay", ""),
           bwc_wshow_amount(d, bwc_wshow_u64(out, "deposit")),
           (unsigned long long)bwc_wshow_u64(out, "price"),
           json_is_true(json_object_get(out, "price_from_relay")) ? " (the relay's)" : "",
           (unsigned long long)bwc_wshow_u64(out, "expiry"),
           bwc_wshow_amount(f, bwc_wshow_u64(out, "fee")));
}

int bwc_cmd_channels(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out)
{
    char addr[BWC_ADDRESS_MAX];
    const bwc_wallet_key *one = NULL;
    const char *from = bwc_wopt_get(a, "from");
    int rc;
    if ((rc = bwc_wctx_open(w, 0)) != 0 || (from && (rc = bwc_wctx_key(w, from, &one)) != 0) ||
        (rc = bwc_wctx_node(w)) != 0)
        return rc;
    json_t *all = json_array();
    for (size_t i = 0; i < w->ks.n_keys; i++) {
        const bwc_wallet_key *k = &w->ks.keys[i];
        if (one && k != one)
            continue;
        json_t *list = bwc_wctx_call(w, "listchannels",
                                     json_pack("[s]", bwc_wctx_address(w, &k->pub, addr)), &rc);
        if (!list) {
            json_decref(all);
            return rc;
        }
        size_t j, m;
        json_t *c, *seen;
        json_array_foreach(list, j, c)
        {
            /* A channel between two keys of this wallet is listed for both: show it once
             * (quadratic in the wallet's channels, which are few). */
            const char *id = bwc_wshow_str(c, "channel_id", "-");
            int dup = 0;
            json_array_foreach(all, m, seen)
            {
                dup |= !strcmp(bwc_wshow_str(seen, "channel_id", ""), id);
            }
            if (!dup)
                json_array_append(all, c);
        }
        json_decref(list);
    }
    *out = json_object();
    json_object_set_new(*out, "height", json_integer((json_int_t)w->tip));
    json_object_set_new(*out, "channels", all);
    return 0;
}

void bwc_show_channels(const bwc_wctx *w, const json_t *out)
{
    char d[BWC_WSHOW_AMOUNT_MAX], c[BWC_WSHOW_AMOUNT_MAX];
    json_t *list = json_object_get(out, "channels"), *e;
    size_t i;
    (void)w;
    if (json_array_size(list) == 0) {
        printf("No channels.\n");
        return;
    }
    json_array_foreach(list, i, e)
    {
        printf("%s  %s\n  relay %s, deposit %s, claimed %s, price %llu units per MiB, expiry "
               "%llu\n",
               bwc_wshow_str(e, "channel_id", ""), bwc_wshow_str(e, "state", ""),
               bwc_wshow_str(e, "relay", ""), bwc_wshow_amount(d, bwc_wshow_u64(e, "deposit")),
               bwc_wshow_amount(c, bwc_wshow_u64(e, "claimed")),
               (unsigned long long)bwc_wshow_u64(e, "price"),
               (unsigned long long)bwc_wshow_u64(e, "expiry"));
    }
}
