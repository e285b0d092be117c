/* context.c: the helpers every bwc-wallet command is built from: opening and saving the
 * wallet, talking to the node, nonces, fees, expiries, the funds check and submission. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hex.h"
#include "consensus/bech32m.h"
#include "consensus/key.h"
#include "wallet/address.h"
#include "wallet/amount.h"
#include "wallet/txbuild.h"
#include "wallet/wallet.h"

int bwc_wfail(int code, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

const char *bwc_wopt_get(const bwc_wcmd_args *a, const char *name)
{
    for (size_t i = 0; i < a->cmd->n_opts; i++)
        if (strcmp(a->cmd->opts[i].name, name) == 0)
            return a->val[i];
    return NULL;
}

/* ---- the wallet file ---- */

static int make_dir(const char *dir)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return bwc_wfail(WEXIT_WALLET, "cannot create the wallet directory %s: %s", dir,
                         strerror(errno));
    return 0;
}

int bwc_wctx_resolve_path(bwc_wctx *w, int create)
{
    char dir[BWC_PATH_MAX], err[BWC_PATH_MAX + 128];
    const char *wd = bwc_args_get(w->args, "walletdir", NULL);
    const char *name = bwc_args_get(w->args, "wallet", NULL);
    int n;

    if (wd && wd[0]) {
        n = snprintf(dir, sizeof dir, "%s", wd);
    } else {
        char chaindir[BWC_PATH_MAX];
        if (bwc_args_chaindir(w->args, w->cs.name, create, chaindir, sizeof chaindir, err,
                              sizeof err) != 0)
            return bwc_wfail(WEXIT_WALLET, "%s", err);
        n = snprintf(dir, sizeof dir, "%s/wallet", chaindir);
    }
    if (n < 0 || (size_t)n >= sizeof dir)
        return bwc_wfail(WEXIT_WALLET, "wallet directory path too long");
    if (create && make_dir(dir) != 0)
        return WEXIT_WALLET;
    if (name && name[0] && strcmp(name, "0") != 0) {
        char sub[BWC_PATH_MAX];
        if (!strcmp(name, ".") || !strcmp(name, ".."))
            return bwc_wfail(WEXIT_USAGE, "-wallet=%s: not a wallet name", name);
        /* A name with a slash is a directory of its own, as in Bitcoin Core. */
        n = strchr(name, '/') ? snprintf(sub, sizeof sub, "%s", name)
                              : snprintf(sub, sizeof sub, "%s/%s", dir, name);
        if (n < 0 || (size_t)n >= sizeof sub)
            return bwc_wfail(WEXIT_WALLET, "wallet path too long");
        if (create && make_dir(sub) != 0)
            return WEXIT_WALLET;
        n = snprintf(w->path, sizeof w->path, "%s/wallet.dat", sub);
    } else {
        n = snprintf(w->path, sizeof w->path, "%s/wallet.dat", dir);
    }
    if (n < 0 || (size_t)n >= sizeof w->path)
        return bwc_wfail(WEXIT_WALLET, "wallet path too long");
    return 0;
}

static int no_wallet(const bwc_wctx *w)
{
    return bwc_wfail(WEXIT_WALLET,
                     "no wallet at %s: make one with `bwc-wallet create` (or `bwc-wallet import "
                     "SECRET`)",
                     w->path);
}

int bwc_wctx_open(bwc_wctx *w, int for_write)
{
    char err[BWC_PATH_MAX + 256];
    bwc_buf file = BWC_BUF_INIT;
    int missing, rc;

    if (w->ks_open)
        return 0;
    if ((rc = bwc_wctx_resolve_path(w, 0)) != 0)
        return rc;
    if (access(w->path, F_OK) != 0 && errno == ENOENT)
        return no_wallet(w);
    if (for_write && (w->lock_fd = bwc_keystore_lock(w->path, err, sizeof err)) < 0)
        return bwc_wfail(WEXIT_WALLET, "%s", err);
    if (bwc_keystore_read_file(w->path, &file, &missing, err, sizeof err) != 0) {
        bwc_buf_free(&file);
        return missing ? no_wallet(w) : bwc_wfail(WEXIT_WALLET, "%s", err);
    }
    if (bwc_passphrase_get(&w->pass, w->passphrase_file, BWC_PASSPHRASE_ENV,
                           "Wallet passphrase: ", 0, err, sizeof err) != 0) {
        bwc_buf_free(&file);
        return bwc_wfail(WEXIT_WALLET, "%s", err);
    }
    bwc_keystore_status st = bwc_keystore_decrypt(&w->ks, w->secp, file.data, file.len, w->pass.s,
                                                  w->pass.len, err, sizeof err);
    bwc_buf_free(&file);
    if (st != BWC_KEYSTORE_OK)
        return bwc_wfail(WEXIT_WALLET, "%s: %s; nothing was changed", w->path, err);
    w->ks_open = 1;
    if (memcmp(w->ks.chain_id.b, w->cs.chain_id.b, 32) != 0) {
        char have[65], want[65];
        bwc_hex_encode(have, w->ks.chain_id.b, 32);
        bwc_hex_encode(want, w->cs.chain_id.b, 32);
        return bwc_wfail(WEXIT_WALLET,
                         "%s belongs to another chain (chain_id %s); this is the %s chain "
                         "(chain_id %s): check -chain",
                         w->path, have, w->cs.name, want);
    }
    return 0;
}

int bwc_wctx_create(bwc_wctx *w)
{
    char err[BWC_PATH_MAX + 256];
    struct stat st;
    int rc;

    if ((rc = bwc_wctx_resolve_path(w, 1)) != 0)
        return rc;
    if ((w->lock_fd = bwc_keystore_lock(w->path, err, sizeof err)) < 0)
        return bwc_wfail(WEXIT_WALLET, "%s", err);
    if (lstat(w->path, &st) == 0)
        return bwc_wfail(WEXIT_WALLET, "a wallet already exists at %s; nothing was changed",
                         w->path);
    if (bwc_passphrase_get(&w->pass, w->passphrase_file, BWC_PASSPHRASE_ENV,
                           "New wallet passphrase: ", 1, err, sizeof err) != 0)
        return bwc_wfail(WEXIT_WALLET, "%s", err);
    bwc_keystore_init(&w->ks, &w->cs.chain_id);
    w->ks_open = 1;
    return 0;
}

int bwc_wctx_save(bwc_wctx *w)
{
    char err[BWC_PATH_MAX + 256];
    bwc_buf file = BWC_BUF_INIT;
    int rc = 0;
    if (bwc_keystore_encrypt(&w->ks, w->pass.s, w->pass.len, NULL, &file, err, sizeof err) != 0 ||
        bwc_keystore_write_file(w->path, file.data, file.len, err, sizeof err) != 0)
        rc = bwc_wfail(WEXIT_WALLET, "cannot save the wallet: %s", err);
    bwc_buf_free(&file);
    return rc;
}

/* ---- the node ---- */

int bwc_wctx_node(bwc_wctx *w)
{
    char err[BWC_PATH_MAX + 256], want[65];
    bwc_rpc_target t;
    int64_t wait_timeout;
    int rc = 0;

    if (w->node_ready)
        return 0;
    if (bwc_rpc_target_from_args(&t, w->args, w->cs.name, w->cs.rpc_port, err, sizeof err) != 0 ||
        bwc_args_get_int(w->args, "rpcwaittimeout", BWC_RPC_DEFAULT_WAIT_TIMEOUT, 0, INT32_MAX,
                         &wait_timeout, err, sizeof err) != 0)
        return bwc_wfail(WEXIT_USAGE, "%s", err);
    if (bwc_node_client_init(&w->node, &t, bwc_args_get_bool(w->args, "rpcwait", 0),
                             wait_timeout) != 0)
        return bwc_wfail(WEXIT_NODE, "cannot create an event base");
    w->node_ready = 1;
    json_t *info = bwc_wctx_call(w, "getblockchaininfo", NULL, &rc);
    if (!info) {
        w->node_ready = 0;
        bwc_node_client_free(&w->node);
        return rc;
    }
    const char *id = json_string_value(json_object_get(info, "chain_id"));
    bwc_hex_encode(want, w->cs.chain_id.b, 32);
    if (!id || strcmp(id, want) != 0) {
        rc = bwc_wfail(WEXIT_NODE,
                       "the node at %s:%u is on another chain (%s, chain_id %s); this wallet "
                       "works on the %s chain (chain_id %s): check -chain and -rpcport",
                       t.host, (unsigned)t.port, bwc_wshow_str(info, "chain", "?"), id ? id : "?",
                       w->cs.name, want);
    } else if (!bwc_json_get_u64(info, "blocks", &w->tip)) {
        rc = bwc_wfail(WEXIT_NODE, "node: getblockchaininfo has no height");
    }
    json_decref(info);
    if (rc != 0) {
        w->node_ready = 0;
        bwc_node_client_free(&w->node);
    }
    return rc;
}

json_t *bwc_wctx_call_opt(bwc_wctx *w, const char *method, json_t *params, int absent_code, int *rc)
{
    bwc_node_error e;
    *rc = 0;
    if (!w->node_ready && (*rc = bwc_wctx_node(w)) != 0) {
        json_decref(params);
        return NULL;
    }
    json_t *r = bwc_node_call(&w->node, method, params, &e);
    if (r)
        return r;
    if (absent_code && e.code == absent_code)
        return NULL;
    if (e.code)
        *rc = bwc_wfail(WEXIT_NODE, "node: %s: %s (code %d)", method, e.message, e.code);
    else
        *rc = bwc_wfail(WEXIT_NODE, "node: %s", e.message);
    return NULL;
}

json_t *bwc_wctx_call(bwc_wctx *w, const char *method, json_t *params, int *rc)
{
    json_t *r = bwc_wctx_call_opt(w, method, params, 0, rc);
    if (!r && *rc == 0)
        *rc = WEXIT_NODE;
    return r;
}

/* ---- keys, amounts, fees, expiries ---- */

char *bwc_wctx_address(const bwc_wctx *w, const bwc_pubkey *pk, char *out)
{
    if (!bwc_address_encode(out, BWC_ADDRESS_MAX, w->cs.params.hrp, pk))
        bwc_hex_encode(out, pk->b, 32); /* cannot happen: the hrp passed the chainspec check */
    return out;
}

int bwc_wctx_key(bwc_wctx *w, const char *from, const bwc_wallet_key **k)
{
    bwc_pubkey pk;
    char err[256];
    long i;
    *k = NULL;
    if (w->ks.n_keys == 0)
        return bwc_wfail(WEXIT_WALLET, "the wallet holds no key");
    if (!from) {
        *k = &w->ks.keys[0];
        return 0;
    }
    if (bwc_wallet_parse_address(w->secp, w->cs.params.hrp, from, &pk, err, sizeof err) == 0) {
        if ((i = bwc_keystore_find(&w->ks, &pk)) < 0)
            return bwc_wfail(WEXIT_USAGE, "--from: %s is not an address of this wallet", from);
    } else if ((i = bwc_keystore_find_label(&w->ks, from)) < 0) {
        return bwc_wfail(WEXIT_USAGE,
                         "--from: this wallet has no key with the address or label '%.100s'", from);
    }
    *k = &w->ks.keys[i];
    return 0;
}

int bwc_wctx_amount(const char *s, const char *what, int positive, uint64_t *out)
{
    char err[256];
    if (bwc_amount_parse(out, s, err, sizeof err) != 0)
        return bwc_wfail(WEXIT_USAGE, "%s: %s", what, err);
    if (positive && *out == 0)
        return bwc_wfail(WEXIT_USAGE, "%s: the amount must be at least 0.00000001 (1u)", what);
    return 0;
}

int bwc_wctx_fee(bwc_wctx *w, const char *opt, uint64_t *fee)
{
    char a[BWC_WSHOW_AMOUNT_MAX];
    uint64_t min = w->cs.params.min_fee;
    int rc;
    if (opt) {
        if ((rc = bwc_wctx_amount(opt, "--fee", 0, fee)) != 0)
            return rc;
        if (*fee < min)
            return bwc_wfail(WEXIT_USAGE, "--fee: %s is below the chain's minimum fee of %s", opt,
                             bwc_wshow_amount(a, min));
        return 0;
    }
    json_t *est = bwc_wctx_call(w, "estimatefee", NULL, &rc);
    if (!est)
        return rc;
    int ok = bwc_json_get_u64(est, "fee", fee);
    json_decref(est);
    if (!ok)
        return bwc_wfail(WEXIT_NODE, "node: estimatefee gave no fee");
    if (*fee < min)
        *fee = min;
    return 0;
}

int bwc_wctx_expiry(bwc_wctx *w, const char *opt, uint64_t *expiry)
{
    char err[256];
    uint64_t max = w->cs.params.max_channel_blocks;
    uint64_t next;
    int rc;
    if ((rc = bwc_wctx_node(w)) != 0)
        return rc;
    next = w->tip + 1; /* the earliest block the transaction can be in */
    if (opt) {
        if (bwc_height_parse(expiry, opt, w->tip, "--expiry", err, sizeof err) != 0)
            return bwc_wfail(WEXIT_USAGE, "%s", err);
    } else {
        *expiry = w->tip +
                  (max < BWC_WALLET_DEFAULT_EXPIRY_BLOCKS ? max : BWC_WALLET_DEFAULT_EXPIRY_BLOCKS);
    }
    /* PROTOCOL.md §3.2: h < expiry <= h + max_channel_blocks for the including block h. */
    if (*expiry <= next || *expiry - next > max)
        return bwc_wfail(WEXIT_USAGE,
                         "--expiry: %llu is out of range: the next block is %llu, so the expiry "
                         "must be above it and at most %llu (max_channel_blocks %llu)",
                         (unsigned long long)*expiry, (unsigned long long)next,
                         (unsigned long long)(next + max), (unsigned long long)max);
    return 0;
}

/* ---- pending transactions, nonces, the funds check ---- */

typedef struct {
    bwc_hash txid;
    bwc_tx tx;
} pending_tx;

/* pk's transactions in the mempool, decoded (a transaction mined between the two calls is
 * skipped). *out is malloc'd (the caller frees it). Returns 0 or an exit code (printed). */
static int fetch_pending(bwc_wctx *w, const bwc_pubkey *pk, pending_tx **out, size_t *n)
{
    char addr[BWC_ADDRESS_MAX];
    int rc;
    *out = NULL;
    *n = 0;
    json_t *pool = bwc_wctx_call(w, "getrawmempool", json_pack("[b]", 1), &rc);
    if (!pool)
        return rc;
    bwc_wctx_address(w, pk, addr);
    const char *txid_hex;
    json_t *e;
    size_t cap = 0;
    json_object_foreach(pool, txid_hex, e)
    {
        const char *from = json_string_value(json_object_get(e, "from"));
        if (!from || strcmp(from, addr) != 0)
            continue;
        json_t *raw =
            bwc_wctx_call_opt(w, "getrawtransaction", json_pack("[s]", txid_hex), -5, &rc);
        if (rc != 0)
            break;
        if (!raw)
            continue; /* mined meanwhile */
        unsigned char *bytes = NULL;
        size_t len = 0;
        bwc_result res;
        pending_tx p;
        int ok = json_is_string(raw) &&
                 bwc_hex_decode_alloc(&bytes, &len, json_string_value(raw)) &&
                 bwc_tx_decode(&p.tx, bytes, len, &res) && bwc_hex_decode(p.txid.b, 32, txid_hex);
        free(bytes);
        json_decref(raw);
        if (!ok) {
            rc = bwc_wfail(WEXIT_NODE, "node: getrawtransaction %s gave no valid transaction",
                           txid_hex);
            break;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            pending_tx *grown = realloc(*out, cap * sizeof *grown);
            if (!grown) {
                rc = bwc_wfail(WEXIT_NODE, "out of memory");
                break;
            }
            *out = grown;
        }
        (*out)[(*n)++] = p;
    }
    json_decref(pool);
    if (rc != 0) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

int bwc_wctx_account(bwc_wctx *w, const bwc_pubkey *pk, bwc_wallet_account *acct)
{
    char addr[BWC_ADDRESS_MAX];
    pending_tx *p;
    size_t n;
    int rc;

    memset(acct, 0, sizeof *acct);
    /* The mempool first: a transaction mined between the two calls is then counted twice
     * (conservative), never missed. */
    if ((rc = fetch_pending(w, pk, &p, &n)) != 0)
        return rc;
    json_t *a =
        bwc_wctx_call(w, "getaccount", json_pack("[s]", bwc_wctx_address(w, pk, addr)), &rc);
    if (!a) {
        free(p);
        return rc;
    }
    if (!bwc_json_get_u64(a, "balance", &acct->balance) ||
        !bwc_json_get_u64(a, "nonce", &acct->nonce))
        rc = bwc_wfail(WEXIT_NODE, "node: getaccount gave no balance or nonce");
    json_decref(a);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        uint64_t cost;
        if (p[i].tx.nonce < acct->nonce)
            continue; /* already applied */
        if (!bwc_txbuild_cost(&p[i].tx, &cost) ||
            !bwc_amount_add(&acct->pending_out, acct->pending_out, cost))
            acct->pending_out = UINT64_MAX;
        acct->n_pending++;
    }
    acct->available = acct->balance > acct->pending_out ? acct->balance - acct->pending_out : 0;
    /* The next nonce follows the unbroken run of pending nonces from the account's. */
    acct->next_nonce = acct->nonce;
    for (int found = 1; found && rc == 0;) {
        found = 0;
        for (size_t i = 0; i < n; i++)
            if (p[i].tx.nonce == acct->next_nonce) {
                acct->next_nonce++;
                found = 1;
            }
    }
    free(p);
    return rc;
}

json_t *bwc_wctx_pending(bwc_wctx *w, const bwc_pubkey *pk, int *rc)
{
    char addr[BWC_ADDRESS_MAX], txid[65];
    pending_tx *p;
    size_t n;
    if ((*rc = fetch_pending(w, pk, &p, &n)) != 0)
        return NULL;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const bwc_tx *tx = &p[i].tx;
        const char *type = bwc_tx_type_name(tx->type);
        json_t *o = json_object();
        bwc_hex_encode(txid, p[i].txid.b, 32);
        json_object_set_new(o, "txid", json_string(txid));
        json_object_set_new(o, "type", json_string(type ? type : "unknown"));
        json_object_set_new(o, "category", json_string("send"));
        json_object_set_new(o, "from", json_string(bwc_wctx_address(w, &tx->from, addr)));
        if (tx->type == BWC_TX_TRANSFER) {
            const bwc_tx_transfer *t = &tx->body.transfer;
            json_object_set_new(o, "to", json_string(bwc_wctx_address(w, &t->to, addr)));
            json_object_set_new(o, "amount", json_integer((json_int_t)t->amount));
            if (t->memo_len) {
                char memo[2 * BWC_MEMO_MAX + 1];
                bwc_hex_encode(memo, t->memo, t->memo_len);
                json_object_set_new(o, "memo", json_string(memo));
                /* As the node shows it: as text when printable UTF-8. */
                int printable = 1;
                for (size_t j = 0; j < t->memo_len; j++)
                    printable &= t->memo[j] >= 0x20 && t->memo[j] != 0x7f;
                json_t *text = printable ? json_stringn((const char *)t->memo, t->memo_len) : NULL;
                if (text)
                    json_object_set_new(o, "memo_text", text);
            }
        } else if (tx->type == BWC_TX_CHANNEL_OPEN) {
            json_object_set_new(
                o, "relay", json_string(bwc_wctx_address(w, &tx->body.channel_open.relay, addr)));
            json_object_set_new(o, "amount",
                                json_integer((json_int_t)tx->body.channel_open.deposit));
        } else if (tx->type == BWC_TX_SPONSOR) {
            json_object_set_new(o, "amount", json_integer((json_int_t)tx->body.sponsor.amount));
        }
        json_object_set_new(o, "fee", json_integer((json_int_t)tx->fee));
        json_object_set_new(o, "nonce", json_integer((json_int_t)tx->nonce));
        json_object_set_new(o, "confirmations", json_integer(0));
        json_array_append_new(arr, o);
    }
    free(p);
    return arr;
}

int bwc_wctx_prepare(bwc_wctx *w, const bwc_wallet_key *k, bwc_tx *tx)
{
    char addr[BWC_ADDRESS_MAX], a1[BWC_WSHOW_AMOUNT_MAX], a2[BWC_WSHOW_AMOUNT_MAX],
        a3[BWC_WSHOW_AMOUNT_MAX], a4[BWC_WSHOW_AMOUNT_MAX];
    bwc_wallet_account acct;
    uint64_t cost, avail;
    int rc;

    tx->from = k->pub;
    if (!bwc_txbuild_cost(tx, &cost))
        return bwc_wfail(WEXIT_USAGE, "the amount plus the fee is larger than any balance");
    if ((rc = bwc_wctx_account(w, &k->pub, &acct)) != 0)
        return rc;
    avail = acct.available;
    if (avail < cost) {
        bwc_wctx_address(w, &k->pub, addr);
        if (acct.n_pending)
            return bwc_wfail(WEXIT_FUNDS,
                             "insufficient funds: %s has %s available (%s confirmed, less %s in "
                             "%zu pending transaction%s); this needs %s including the fee. "
                             "Nothing was sent.",
                             addr, bwc_wshow_amount(a1, avail), bwc_wshow_amount(a2, acct.balance),
                             bwc_wshow_amount(a3, acct.pending_out), acct.n_pending,
                             acct.n_pending == 1 ? "" : "s", bwc_wshow_amount(a4, cost));
        return bwc_wfail(WEXIT_FUNDS,
                         "insufficient funds: %s has %s; this needs %s including the fee. "
                         "Nothing was sent.",
                         addr, bwc_wshow_amount(a1, avail), bwc_wshow_amount(a4, cost));
    }
    tx->nonce = acct.next_nonce;
    return 0;
}

int bwc_wctx_submit(bwc_wctx *w, const bwc_wallet_key *k, bwc_tx *tx, bwc_hash *txid)
{
    char err[512], want[65];
    char *hex = NULL;
    int rc;
    if ((rc = bwc_wctx_node(w)) != 0)
        return rc;
    if (bwc_txbuild_sign(w->secp, tx, k->secret, &w->cs.chain_id, txid, &hex, err, sizeof err) != 0)
        return bwc_wfail(WEXIT_USAGE, "%s", err);
    json_t *r = bwc_wctx_call(w, "sendrawtransaction", json_pack("[s]", hex), &rc);
    free(hex);
    if (!r)
        return rc;
    bwc_hex_encode(want, txid->b, 32);
    if (!json_is_string(r) || strcmp(json_string_value(r), want) != 0)
        rc = bwc_wfail(WEXIT_NODE, "node: sendrawtransaction returned txid %s, expected %s",
                       json_is_string(r) ? json_string_value(r) : "?", want);
    json_decref(r);
    return rc;
}

/* ---- output ---- */

char *bwc_wshow_amount(char *out, uint64_t units)
{
    char a[BWC_AMOUNT_STR_MAX];
    snprintf(out, BWC_WSHOW_AMOUNT_MAX, "%s BWC", bwc_amount_format(a, units));
    return out;
}

uint64_t bwc_wshow_u64(const json_t *o, const char *field)
{
    uint64_t v;
    return bwc_json_get_u64(o, field, &v) ? v : 0;
}

const char *bwc_wshow_str(const json_t *o, const char *field, const char *def)
{
    const char *s = json_string_value(json_object_get(o, field));
    return s ? s : def;
}
