/* cmd_pay.c: balances, sending and history. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hex.h"
#include "consensus/bech32m.h"
#include "wallet/address.h"
#include "wallet/amount.h"
#include "wallet/wallet.h"

#define HISTORY_DEFAULT 20
#define HISTORY_MAX 1000 /* the node lists at most 10000 per call */

/* The keys a command covers: the one --from names, or all of them. */
static int selected_keys(bwc_wctx *w, const char *from, const bwc_wallet_key **one, size_t *first,
                         size_t *end)
{
    int rc;
    if (from) {
        if ((rc = bwc_wctx_key(w, from, one)) != 0)
            return rc;
        *first = (size_t)(*one - w->ks.keys);
        *end = *first + 1;
    } else {
        *first = 0;
        *end = w->ks.n_keys;
    }
    return 0;
}

/* ---- balance ---- */

int bwc_cmd_balance(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out)
{
    char addr[BWC_ADDRESS_MAX];
    const bwc_wallet_key *one;
    size_t first, end;
    uint64_t total = 0, avail = 0, pending = 0;
    int rc;

    if ((rc = bwc_wctx_open(w, 0)) != 0 ||
        (rc = selected_keys(w, bwc_wopt_get(a, "from"), &one, &first, &end)) != 0 ||
        (rc = bwc_wctx_node(w)) != 0)
        return rc;
    json_t *keys = json_array();
    for (size_t i = first; i < end; i++) {
        const bwc_wallet_key *k = &w->ks.keys[i];
        bwc_wallet_account acct;
        if ((rc = bwc_wctx_account(w, &k->pub, &acct)) != 0) {
            json_decref(keys);
            return rc;
        }
        uint64_t av = acct.available;
        json_t *o = json_object();
        json_object_set_new(o, "address", json_string(bwc_wctx_address(w, &k->pub, addr)));
        if (k->label[0])
            json_object_set_new(o, "label", json_string(k->label));
        json_object_set_new(o, "balance", json_integer((json_int_t)acct.balance));
        json_object_set_new(o, "pending_out", json_integer((json_int_t)acct.pending_out));
        json_object_set_new(o, "available", json_integer((json_int_t)av));
        json_object_set_new(o, "pending_txs", json_integer((json_int_t)acct.n_pending));
        json_object_set_new(o, "nonce", json_integer((json_int_t)acct.nonce));
        json_array_append_new(keys, o);
        /* Totals cannot overflow on a valid chain (supply < 2^64), but stay checked. */
        if (!bwc_amount_add(&total, total, acct.balance) || !bwc_amount_add(&avail, avail, av) ||
            !bwc_amount_add(&pending, pending, acct.pending_out)) {
            json_decref(keys);
            return bwc_wfail(WEXIT_NODE, "node: balances overflow");
        }
    }
    *out = json_object();
    json_object_set_new(*out, "height", json_integer((json_int_t)w->tip));
    json_object_set_new(*out, "balance", json_integer((json_int_t)total));
    json_object_set_new(*out, "pending_out", json_integer((json_int_t)pending));
    json_object_set_new(*out, "available", json_integer((json_int_t)avail));
    json_object_set_new(*out, "keys", keys);
    return 0;
}

void bwc_show_balance(const bwc_wctx *w, const json_t *out)
{
    char b[BWC_WSHOW_AMOUNT_MAX];
    size_t i;
    json_t *k, *keys = json_object_get(out, "keys");
    (void)w;
    json_array_foreach(keys, i, k)
    {
        printf("%s  %-16s %24s", bwc_wshow_str(k, "address", ""), bwc_wshow_str(k, "label", ""),
               bwc_wshow_amount(b, bwc_wshow_u64(k, "balance")));
        if (bwc_wshow_u64(k, "pending_txs"))
            printf("  (%s after %llu pending)", bwc_wshow_amount(b, bwc_wshow_u64(k, "available")),
                   (unsigned long long)bwc_wshow_u64(k, "pending_txs"));
        putchar('\n');
    }
    if (json_array_size(keys) > 1)
        printf("Total: %s\n", bwc_wshow_amount(b, bwc_wshow_u64(out, "balance")));
    if (bwc_wshow_u64(out, "pending_out"))
        printf("Available after pending transactions: %s\n",
               bwc_wshow_amount(b, bwc_wshow_u64(out, "available")));
}

/* ---- send ---- */

int bwc_cmd_send(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out)
{
    char err[512], addr[BWC_ADDRESS_MAX], txid_hex[65];
    const char *memo = bwc_wopt_get(a, "memo"), *memo_hex = bwc_wopt_get(a, "memo-hex");
    const bwc_wallet_key *k;
    bwc_tx tx;
    bwc_hash txid;
    int rc;

    memset(&tx, 0, sizeof tx);
    tx.type = BWC_TX_TRANSFER;
    bwc_tx_transfer *t = &tx.body.transfer;
    /* Every argument is checked before the passphrase is asked. */
    if (bwc_wallet_parse_address(w->secp, w->cs.params.hrp, a->pos[0], &t->to, err, sizeof err) !=
        0)
        return bwc_wfail(WEXIT_USAGE, "%s", err);
    if ((rc = bwc_wctx_amount(a->pos[1], "AMOUNT", 1, &t->amount)) != 0)
        return rc;
    if (memo && memo_hex)
        return bwc_wfail(WEXIT_USAGE, "give --memo or --memo-hex, not both");
    if (memo) {
        t->memo_len = strlen(memo);
        if (t->memo_len == 0 || t->memo_len > BWC_MEMO_MAX)
            return bwc_wfail(WEXIT_USAGE, "--memo: 1 to %d bytes (this one has %zu)", BWC_MEMO_MAX,
                             t->memo_len);
        memcpy(t->memo, memo, t->memo_len);
    } else if (memo_hex) {
        size_t n = strlen(memo_hex) / 2;
        if (strlen(memo_hex) % 2 || n == 0 || n > BWC_MEMO_MAX ||
            !bwc_hex_decode(t->memo, n, memo_hex))
            return bwc_wfail(WEXIT_USAGE, "--memo-hex: 1 to %d bytes as hex digits", BWC_MEMO_MAX);
        t->memo_len = n;
    }
    if ((rc = bwc_wctx_open(w, 0)) != 0 || (rc = bwc_wctx_key(w, bwc_wopt_get(a, "from"), &k)) ||
        (rc = bwc_wctx_node(w)) != 0 || (rc = bwc_wctx_fee(w, bwc_wopt_get(a, "fee"), &tx.fee)) ||
        (rc = bwc_wctx_prepare(w, k, &tx)) != 0 || (rc = bwc_wctx_submit(w, k, &tx, &txid)) != 0)
        return rc;

    *out = json_object();
    bwc_hex_encode(txid_hex, txid.b, 32);
    json_object_set_new(*out, "txid", json_string(txid_hex));
    json_object_set_new(*out, "from", json_string(bwc_wctx_address(w, &k->pub, addr)));
    json_object_set_new(*out, "to", json_string(bwc_wctx_address(w, &t->to, addr)));
    json_object_set_new(*out, "amount", json_integer((json_int_t)t->amount));
    json_object_set_new(*out, "fee", json_integer((json_int_t)tx.fee));
    json_object_set_new(*out, "nonce", json_integer((json_int_t)tx.nonce));
    if (t->memo_len) {
        char hex[2 * BWC_MEMO_MAX + 1];
        bwc_hex_encode(hex, t->memo, t->memo_len);
        json_object_set_new(*out, "memo", json_string(hex));
    }
    return 0;
}

void bwc_show_send(const bwc_wctx *w, const json_t *out)
{
    char a[BWC_WSHOW_AMOUNT_MAX], f[BWC_WSHOW_AMOUNT_MAX];
    (void)w;
    printf("Sent %s to %s (fee %s)\ntxid %s\n", bwc_wshow_amount(a, bwc_wshow_u64(out, "amount")),
           bwc_wshow_str(out, "to", ""), bwc_wshow_amount(f, bwc_wshow_u64(out, "fee")),
           bwc_wshow_str(out, "txid", ""));
}

/* ---- history ---- */

/* Pending first, then by height, newest first (qsort is not stable: ties keep the node's
 * order through the index). */
typedef struct {
    json_t *e;
    size_t index;
} entry;

static int cmp_entry(const void *pa, const void *pb)
{
    const entry *a = pa, *b = pb;
    uint64_t ca = bwc_wshow_u64(a->e, "confirmations"), cb = bwc_wshow_u64(b->e, "confirmations");
    uint64_t ha = bwc_wshow_u64(a->e, "height"), hb = bwc_wshow_u64(b->e, "height");
    if ((ca == 0) != (cb == 0))
        return ca == 0 ? -1 : 1;
    if (ca == 0) { /* two pending: the later nonce first */
        uint64_t na = bwc_wshow_u64(a->e, "nonce"), nb = bwc_wshow_u64(b->e, "nonce");
        if (na != nb)
            return na > nb ? -1 : 1;
    }
    if (ha != hb)
        return ha > hb ? -1 : 1;
    return (a->index > b->index) - (a->index < b->index);
}

int bwc_cmd_history(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out)
{
    char err[256], addr[BWC_ADDRESS_MAX];
    const char *count_s = bwc_wopt_get(a, "count");
    const bwc_wallet_key *one;
    size_t first, end;
    uint64_t count = HISTORY_DEFAULT;
    int rc;

    if (count_s && (bwc_uint_parse(&count, count_s, "--count", err, sizeof err) != 0 || count < 1 ||
                    count > HISTORY_MAX))
        return bwc_wfail(WEXIT_USAGE, "--count: 1 to %d", HISTORY_MAX);
    if ((rc = bwc_wctx_open(w, 0)) != 0 ||
        (rc = selected_keys(w, bwc_wopt_get(a, "from"), &one, &first, &end)) != 0 ||
        (rc = bwc_wctx_node(w)) != 0)
        return rc;
    json_t *all = json_array();
    for (size_t i = first; i < end; i++) {
        const bwc_wallet_key *k = &w->ks.keys[i];
        bwc_wctx_address(w, &k->pub, addr);
        json_t *pending = bwc_wctx_pending(w, &k->pub, &rc);
        json_t *confirmed = pending
                                ? bwc_wctx_call(w, "listtransactions",
                                                json_pack("[s,I]", addr, (json_int_t)count), &rc)
                                : NULL;
        if (!confirmed) {
            json_decref(pending);
            json_decref(all);
            return rc;
        }
        size_t j;
        json_t *e;
        json_array_foreach(pending, j, e)
        {
            json_object_set_new(e, "wallet_address", json_string(addr));
            json_array_append(all, e);
        }
        json_array_foreach(confirmed, j, e)
        {
            json_object_set_new(e, "wallet_address", json_string(addr));
            json_array_append(all, e);
        }
        json_decref(pending);
        json_decref(confirmed);
    }
    size_t n = json_array_size(all);
    entry *v = calloc(n ? n : 1, sizeof *v);
    if (!v) {
        json_decref(all);
        return bwc_wfail(WEXIT_NODE, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        v[i].e = json_array_get(all, i);
        v[i].index = i;
    }
    qsort(v, n, sizeof *v, cmp_entry);
    json_t *sorted = json_array();
    for (size_t i = 0; i < n && i < count; i++)
        json_array_append(sorted, v[i].e);
    free(v);
    json_decref(all);
    *out = json_object();
    json_object_set_new(*out, "height", json_integer((json_int_t)w->tip));
    json_object_set_new(*out, "transactions", sorted);
    return 0;
}

void bwc_show_history(const bwc_wctx *w, const json_t *out)
{
    char amt[BWC_WSHOW_AMOUNT_MAX], fee[BWC_WSHOW_AMOUNT_MAX];
    json_t *txs = json_object_get(out, "transactions"), *e;
    size_t i;
    (void)w;
    if (json_array_size(txs) == 0) {
        printf("No transactions yet.\n");
        return;
    }
    json_array_foreach(txs, i, e)
    {
        char where[32];
        const char *cat = bwc_wshow_str(e, "category", "");
        const char *type = bwc_wshow_str(e, "type", "");
        if (bwc_wshow_u64(e, "confirmations") == 0)
            snprintf(where, sizeof where, "pending");
        else
            snprintf(where, sizeof where, "block %llu",
                     (unsigned long long)bwc_wshow_u64(e, "height"));
        printf("%-13s %-8s", where, cat);
        if (!strcmp(type, "transfer")) {
            int in = !strcmp(cat, "receive");
            printf(" %c%s %s %s", in ? '+' : '-', bwc_wshow_amount(amt, bwc_wshow_u64(e, "amount")),
                   in ? "from" : "to", bwc_wshow_str(e, in ? "from" : "to", "?"));
        } else if (!strcmp(type, "channel_open")) {
            printf(" channel deposit %s, relay %s",
                   bwc_wshow_amount(amt, bwc_wshow_u64(e, "amount")),
                   bwc_wshow_str(e, "relay", "?"));
        } else if (!strcmp(type, "sponsor")) {
            printf(" sponsor pool of %s", bwc_wshow_amount(amt, bwc_wshow_u64(e, "amount")));
        } else {
            printf(" %s", type);
        }
        if (strcmp(cat, "receive") != 0)
            printf(", fee %s", bwc_wshow_amount(fee, bwc_wshow_u64(e, "fee")));
        const char *memo = bwc_wshow_str(e, "memo_text", NULL);
        if (memo)
            printf(", memo \"%s\"", memo);
        else if (bwc_wshow_str(e, "memo", NULL))
            printf(", memo 0x%s", bwc_wshow_str(e, "memo", ""));
        printf("\n              txid %s\n", bwc_wshow_str(e, "txid", ""));
    }
}
