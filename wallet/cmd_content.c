/* cmd_content.c: publishing a file (its manifest and a content_register transaction), listing
 * content, and sponsoring it with a pool. */
#include <libgen.h>
#include <stdio.h>
#include <string.h>

#include "common/hex.h"
#include "common/manifest_file.h"
#include "consensus/bech32m.h"
#include "consensus/cbor.h"
#include "wallet/address.h"
#include "wallet/amount.h"
#include "wallet/wallet.h"

/* A text field of a transaction: 1..max bytes of UTF-8 without control characters (the
 * decoder refuses NUL; the others would garble what people see). */
static int check_text(const char *s, size_t max, const char *what)
{
    size_t n = strlen(s);
    if (n == 0 || n > max || !bwc_utf8_valid((const unsigned char *)s, n))
        return bwc_wfail(WEXIT_USAGE, "%s: 1 to %zu bytes of UTF-8 text", what, max);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return bwc_wfail(WEXIT_USAGE, "%s: no control characters", what);
    return 0;
}

static void copy_text(char *dst, size_t *dstlen, const char *src)
{
    *dstlen = strlen(src);
    memcpy(dst, src, *dstlen);
    dst[*dstlen] = '\0';
}

/* Fails with WEXIT_USAGE when content_id is registered already (publish) or is not (sponsor). */
static int content_state(bwc_wctx *w, const char *id_hex, int want_registered)
{
    int rc;
    json_t *c = bwc_wctx_call_opt(w, "getcontent", json_pack("[s]", id_hex), -5, &rc);
    if (rc != 0)
        return rc;
    if (c && !want_registered)
        rc = bwc_wfail(WEXIT_USAGE,
                       "content %s is registered already (by %s at height %llu); nothing was "
                       "sent",
                       id_hex, bwc_wshow_str(c, "publisher", "?"),
                       (unsigned long long)bwc_wshow_u64(c, "registered"));
    else if (!c && want_registered)
        rc = bwc_wfail(WEXIT_USAGE,
                       "content %s is not registered: publish it first (bwc-wallet publish FILE)",
                       id_hex);
    json_decref(c);
    return rc;
}

int bwc_cmd_publish(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out)
{
    char err[BWC_PATH_MAX + 256], path[BWC_PATH_MAX], addr[BWC_ADDRESS_MAX], id_hex[65],
        txid_hex[65];
    const char *name = bwc_wopt_get(a, "name"), *origin = bwc_wopt_get(a, "origin");
    const char *mime = bwc_wopt_get(a, "mime"), *cs_s = bwc_wopt_get(a, "chunk-size");
    uint64_t chunk_size = BWC_DEFAULT_CHUNK_SIZE;
    const bwc_wallet_key *k;
    bwc_manifest m;
    bwc_tx tx;
    bwc_hash txid;
    int rc;

    memset(&tx, 0, sizeof tx);
    tx.type = BWC_TX_CONTENT_REGISTER;
    bwc_tx_content_register *c = &tx.body.content_register;
    if (cs_s && bwc_size_parse(&chunk_size, cs_s, "--chunk-size", err, sizeof err) != 0)
        return bwc_wfail(WEXIT_USAGE, "%s", err);
    if (!bwc_chunk_size_valid(chunk_size))
        return bwc_wfail(WEXIT_USAGE,
                         "--chunk-size: a power of two from 16KiB to 4MiB (default 256KiB)");
    if (!name) {
        snprintf(path, sizeof path, "%s", a->pos[0]);
        name = basename(path);
    }
    if ((rc = check_text(name, BWC_NAME_MAX, "--name")) != 0 ||
        (mime && (rc = check_text(mime, BWC_MIME_MAX, "--mime")) != 0))
        return rc;
    if (origin && !bwc_endpoint_valid(origin, strlen(origin)))
        return bwc_wfail(WEXIT_USAGE,
                         "--origin: expected http://HOST:PORT (a DNS name, IPv4 or [IPv6] "
                         "address; no path), at most %d bytes",
                         BWC_ENDPOINT_MAX);
    copy_text(c->name, &c->name_len, name);
    if (origin)
        copy_text(c->origin, &c->origin_len, origin);
    if (mime)
        copy_text(c->mime, &c->mime_len, mime);

    /* The manifest first: a file that cannot be read costs no passphrase. */
    if (bwc_manifest_from_file(&m, a->pos[0], chunk_size, err, sizeof err) != 0)
        return bwc_wfail(WEXIT_USAGE, "%s", err);
    int ok = bwc_manifest_content_id(&m, &c->content_id);
    size_t n_chunks = m.n_chunks;
    c->size = m.size;
    c->chunk_size = m.chunk_size;
    bwc_manifest_free(&m);
    if (!ok)
        return bwc_wfail(WEXIT_USAGE, "out of memory");
    bwc_hex_encode(id_hex, c->content_id.b, 32);

    if ((rc = bwc_wctx_open(w, 0)) != 0 || (rc = bwc_wctx_key(w, bwc_wopt_get(a, "from"), &k)) ||
        (rc = bwc_wctx_node(w)) != 0 || (rc = content_state(w, id_hex, 0)) != 0 ||
        (rc = bwc_wctx_fee(w, bwc_wopt_get(a, "fee"), &tx.fee)) != 0 ||
        (rc = bwc_wctx_prepare(w, k, &tx)) != 0 || (rc = bwc_wctx_submit(w, k, &tx, &txid)) != 0)
        return rc;

    *out = json_object();
    bwc_hex_encode(txid_hex, txid.b, 32);
    json_object_set_new(*out, "content_id", json_string(id_hex));
    json_object_set_new(*out, "txid", json_string(txid_hex));
    json_object_set_new(*out, "publisher", json_string(bwc_wctx_address(w, &k->pub, addr)));
    json_object_set_new(*out, "name", json_string(c->name));
    json_object_set_new(*out, "size", json_integer((json_int_t)c->size));
    json_object_set_new(*out, "chunk_size", json_integer((json_int_t)c->chunk_size));
    json_object_set_new(*out, "chunks", json_integer((json_int_t)n_chunks));
    if (origin)
        json_object_set_new(*out, "origin", json_string(origin));
    if (mime)
        json_object_set_new(*out, "mime", json_string(mime));
    json_object_set_new(*out, "fee", json_integer((json_int_t)tx.fee));
    json_object_set_new(*out, "nonce", json_integer((json_int_t)tx.nonce));
    return 0;
}

void bwc_show_publish(const bwc_wctx *w, const json_t *out)
{
    char f[BWC_WSHOW_AMOUNT_MAX];
    (void)w;
    uint64_t chunks = bwc_wshow_u64(out, "chunks");
    printf("Registered \"%s\" as content %s\n"
           "  %llu bytes in %llu chunk%s of %llu bytes; fee %s\n"
           "  txid %s\n",
           bwc_wshow_str(out, "name", ""), bwc_wshow_str(out, "content_id", ""),
           (unsigned long long)bwc_wshow_u64(out, "size"), (unsigned long long)chunks,
           chunks == 1 ? "" : "s", (unsigned long long)bwc_wshow_u64(out, "chunk_size"),
           bwc_wshow_amount(f, bwc_wshow_u64(out, "fee")), bwc_wshow_str(out, "txid", ""));
}

int bwc_cmd_content(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out)
{
    char addr[BWC_ADDRESS_MAX];
    const char *from = bwc_wopt_get(a, "from");
    const bwc_wallet_key *one = NULL;
    int all = bwc_wopt_get(a, "all") != NULL, rc;
    json_t *list;

    if (all && from)
        return bwc_wfail(WEXIT_USAGE, "give --all or --from, not both");
    if (all) {
        /* Everything registered: no wallet needed. */
        if (!(list = bwc_wctx_call(w, "listcontent", NULL, &rc)))
            return rc;
    } else {
        if ((rc = bwc_wctx_open(w, 0)) != 0 || (from && (rc = bwc_wctx_key(w, from, &one)) != 0) ||
            (rc = bwc_wctx_node(w)) != 0)
            return rc;
        list = json_array();
        for (size_t i = 0; i < w->ks.n_keys; i++) {
            const bwc_wallet_key *k = &w->ks.keys[i];
            if (one && k != one)
                continue;
            json_t *mine = bwc_wctx_call(w, "listcontent",
                                         json_pack("[s]", bwc_wctx_address(w, &k->pub, addr)), &rc);
            if (!mine) {
                json_decref(list);
                return rc;
            }
            json_array_extend(list, mine);
            json_decref(mine);
        }
    }
    *out = json_object();
    json_object_set_new(*out, "content", list);
    return 0;
}

void bwc_show_content(const bwc_wctx *w, const json_t *out)
{
    json_t *list = json_object_get(out, "content"), *e;
    size_t i;
    (void)w;
    if (json_array_size(list) == 0) {
        printf("No content.\n");
        return;
    }
    json_array_foreach(list, i, e)
    {
        printf("%s  \"%s\"\n  %llu bytes, chunk size %llu, publisher %s, registered at height "
               "%llu",
               bwc_wshow_str(e, "content_id", ""), bwc_wshow_str(e, "name", ""),
               (unsigned long long)bwc_wshow_u64(e, "size"),
               (unsigned long long)bwc_wshow_u64(e, "chunk_size"),
               bwc_wshow_str(e, "publisher", ""),
               (unsigned long long)bwc_wshow_u64(e, "registered"));
        if (bwc_wshow_str(e, "origin", NULL))
            printf(", origin %s", bwc_wshow_str(e, "origin", ""));
        putchar('\n');
    }
}

int bwc_cmd_sponsor(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out)
{
    char err[512], addr[BWC_ADDRESS_MAX], id_hex[65], txid_hex[65];
    const char *price_s = bwc_wopt_get(a, "price"), *cap_s = bwc_wopt_get(a, "cap");
    const char *ticket_s = bwc_wopt_get(a, "ticket-key");
    const bwc_wallet_key *k;
    bwc_tx tx;
    bwc_hash txid;
    int rc;

    memset(&tx, 0, sizeof tx);
    tx.type = BWC_TX_SPONSOR;
    bwc_tx_sponsor *s = &tx.body.sponsor;
    if (bwc_wallet_parse_hash(a->pos[0], "CONTENT", &s->content_id, err, sizeof err) != 0)
        return bwc_wfail(WEXIT_USAGE, "%s", err);
    if ((rc = bwc_wctx_amount(a->pos[1], "AMOUNT", 1, &s->amount)) != 0)
        return rc;
    if (!price_s || !cap_s)
        return bwc_wfail(WEXIT_USAGE,
                         "sponsor needs --price (units per MiB paid to relays) and --cap (the "
                         "most one consumer may draw)");
    if ((rc = bwc_wctx_amount(price_s, "--price", 1, &s->price)) != 0 ||
        (rc = bwc_wctx_amount(cap_s, "--cap", 1, &s->per_consumer_cap)) != 0)
        return rc;
    if (ticket_s) {
        if (bwc_wallet_parse_pubkey(w->secp, w->cs.params.hrp, ticket_s, "--ticket-key",
                                    &s->ticket_key, err, sizeof err) != 0)
            return bwc_wfail(WEXIT_USAGE, "%s", err);
        s->has_ticket_key = 1;
    }
    bwc_hex_encode(id_hex, s->content_id.b, 32);
    if ((rc = bwc_wctx_open(w, 0)) != 0 || (rc = bwc_wctx_key(w, bwc_wopt_get(a, "from"), &k)) ||
        (rc = bwc_wctx_node(w)) != 0 || (rc = content_state(w, id_hex, 1)) != 0 ||
        (rc = bwc_wctx_expiry(w, bwc_wopt_get(a, "expiry"), &s->expiry)) != 0 ||
        (rc = bwc_wctx_fee(w, bwc_wopt_get(a, "fee"), &tx.fee)) != 0 ||
        (rc = bwc_wctx_prepare(w, k, &tx)) != 0 || (rc = bwc_wctx_submit(w, k, &tx, &txid)) != 0)
        return rc;

    *out = json_object();
    bwc_hex_encode(txid_hex, txid.b, 32);
    json_object_set_new(*out, "pool_id", json_string(txid_hex));
    json_object_set_new(*out, "txid", json_string(txid_hex));
    json_object_set_new(*out, "sponsor", json_string(bwc_wctx_address(w, &k->pub, addr)));
    json_object_set_new(*out, "content_id", json_string(id_hex));
    json_object_set_new(*out, "amount", json_integer((json_int_t)s->amount));
    json_object_set_new(*out, "price", json_integer((json_int_t)s->price));
    json_object_set_new(*out, "per_consumer_cap", json_integer((json_int_t)s->per_consumer_cap));
    json_object_set_new(*out, "expiry", json_integer((json_int_t)s->expiry));
    if (s->has_ticket_key)
        json_object_set_new(*out, "ticket_key",
                            json_string(bwc_wctx_address(w, &s->ticket_key, addr)));
    json_object_set_new(*out, "fee", json_integer((json_int_t)tx.fee));
    json_object_set_new(*out, "nonce", json_integer((json_int_t)tx.nonce));
    return 0;
}

void bwc_show_sponsor(const bwc_wctx *w, const json_t *out)
{
    char am[BWC_WSHOW_AMOUNT_MAX], cap[BWC_WSHOW_AMOUNT_MAX], f[BWC_WSHOW_AMOUNT_MAX];
    (void)w;
    printf("Opened sponsor pool %s for content %s\n"
           "  %s at %llu units per MiB, at most %s per consumer, until block %llu%s; fee %s\n",
           bwc_wshow_str(out, "pool_id", ""), bwc_wshow_str(out, "content_id", ""),
           bwc_wshow_amount(am, bwc_wshow_u64(out, "amount")),
           (unsigned long long)bwc_wshow_u64(out, "price"),
           bwc_wshow_amount(cap, bwc_wshow_u64(out, "per_consumer_cap")),
           (unsigned long long)bwc_wshow_u64(out, "expiry"),
           bwc_wshow_str(out, "ticket_key", NULL) ? ", tickets required" : "",
           bwc_wshow_amount(f, bwc_wshow_u64(out, "fee")));
}
