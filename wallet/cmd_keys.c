/* cmd_keys.c: the commands that manage keys: create, import, address, list, passphrase. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/hex.h"
#include "common/random.h"
#include "consensus/bech32m.h"
#include "consensus/key.h"
#include "wallet/wallet.h"

/* A label option checked before anything else happens (so a bad one never costs a passphrase
 * prompt). Returns 0 or WEXIT_USAGE. */
static int check_label(const char *label)
{
    if (label && !bwc_keystore_label_valid(label))
        return bwc_wfail(WEXIT_USAGE,
                         "--label: 1 to %d bytes of UTF-8 text without control characters",
                         BWC_KEYSTORE_LABEL_MAX);
    return 0;
}

/* Adds a fresh key from the OS's randomness. Returns 0 or an exit code (printed). */
static int new_key(bwc_wctx *w, const char *label, const bwc_wallet_key **k)
{
    unsigned char secret[32];
    char err[256];
    bwc_pubkey pub;
    int rc = 0;
    /* A random 32-byte string is a valid secret except with probability ~2^-128. */
    do {
        if (bwc_random_bytes(secret, sizeof secret) != 0)
            return bwc_wfail(WEXIT_WALLET, "the operating system gave no random bytes");
    } while (!bwc_key_pubkey(w->secp, &pub, secret));
    if (bwc_keystore_add(&w->ks, w->secp, secret, label, (uint64_t)time(NULL), err, sizeof err) !=
        0)
        rc = bwc_wfail(WEXIT_USAGE, "%s", err);
    bwc_cleanse(secret, sizeof secret);
    *k = rc == 0 ? &w->ks.keys[w->ks.n_keys - 1] : NULL;
    return rc;
}

static json_t *key_json(const bwc_wctx *w, const bwc_wallet_key *k)
{
    char addr[BWC_ADDRESS_MAX];
    json_t *o = json_object();
    json_object_set_new(o, "address", json_string(bwc_wctx_address(w, &k->pub, addr)));
    if (k->label[0])
        json_object_set_new(o, "label", json_string(k->label));
    return o;
}

int bwc_cmd_create(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out)
{
    const char *label = bwc_wopt_get(a, "label");
    const bwc_wallet_key *k;
    int rc;
    if ((rc = check_label(label)) != 0 || (rc = bwc_wctx_create(w)) != 0 ||
        (rc = new_key(w, label, &k)) != 0 || (rc = bwc_wctx_save(w)) != 0)
        return rc;
    *out = key_json(w, k);
    json_object_set_new(*out, "wallet", json_string(w->path));
    json_object_set_new(*out, "chain", json_string(w->cs.name));
    return 0;
}

void bwc_show_create(const bwc_wctx *w, const json_t *out)
{
    printf("Created a wallet for the %s chain: %s\n"
           "Your address: %s\n"
           "Nobody can recover the passphrase: without it the keys are lost. Back up the file.\n",
           w->cs.name, bwc_wshow_str(out, "wallet", ""), bwc_wshow_str(out, "address", ""));
}

/* Reads the secret argument: 64 hex digits, or "-" for one line of standard input. */
static int read_secret(const char *arg, unsigned char secret[32])
{
    char line[256];
    const char *hex = arg;
    int rc = 0;
    if (strcmp(arg, "-") == 0) {
        if (!fgets(line, sizeof line, stdin))
            return bwc_wfail(WEXIT_USAGE, "SECRET: nothing on standard input");
        line[strcspn(line, "\r\n")] = '\0';
        hex = line;
    }
    if (strlen(hex) != 64 || !bwc_hex_decode(secret, 32, hex))
        rc =
            bwc_wfail(WEXIT_USAGE, "SECRET: expected a secret key as 64 hex digits (e.g. a line of "
                                   "chainspec/dev-keys.txt)");
    bwc_cleanse(line, sizeof line);
    return rc;
}

int bwc_cmd_import(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out)
{
    const char *label = bwc_wopt_get(a, "label");
    unsigned char secret[32];
    char err[256];
    bwc_pubkey pub;
    int rc, created = 0;

    if ((rc = check_label(label)) != 0 || (rc = read_secret(a->pos[0], secret)) != 0)
        return rc;
    /* argv is writable: overwrite the secret there too, so that ps and /proc/PID/cmdline stop
     * showing it (they did until now: reading it from standard input with '-' avoids that). */
    if (strcmp(a->pos[0], "-") != 0)
        bwc_cleanse((char *)(uintptr_t)a->pos[0], strlen(a->pos[0]));
    if (!bwc_key_pubkey(w->secp, &pub, secret)) {
        bwc_cleanse(secret, sizeof secret);
        return bwc_wfail(WEXIT_USAGE, "SECRET: not a valid secret key (it must be in 1..n-1)");
    }
    if ((rc = bwc_wctx_resolve_path(w, 0)) != 0)
        goto out;
    if (access(w->path, F_OK) != 0 && errno == ENOENT) {
        rc = bwc_wctx_create(w);
        created = 1;
    } else {
        rc = bwc_wctx_open(w, 1);
    }
    if (rc != 0)
        goto out;
    if (bwc_keystore_add(&w->ks, w->secp, secret, label, (uint64_t)time(NULL), err, sizeof err) !=
        0) {
        rc = bwc_wfail(WEXIT_USAGE, "%s; nothing was changed", err);
        goto out;
    }
    if ((rc = bwc_wctx_save(w)) != 0)
        goto out;
    /* The dev keys are the integers 1..4: anyone can spend from them. */
    static const unsigned char zeros[31];
    if (memcmp(secret, zeros, sizeof zeros) == 0 && strcmp(w->cs.name, "dev") != 0)
        fprintf(stderr, "warning: this is a public test key: anyone can spend what it holds\n");
    *out = key_json(w, &w->ks.keys[w->ks.n_keys - 1]);
    json_object_set_new(*out, "wallet", json_string(w->path));
    json_object_set_new(*out, "created_wallet", json_boolean(created));
out:
    bwc_cleanse(secret, sizeof secret);
    return rc;
}

void bwc_show_import(const bwc_wctx *w, const json_t *out)
{
    (void)w;
    if (json_is_true(json_object_get(out, "created_wallet")))
        printf("Created a wallet: %s\n", bwc_wshow_str(out, "wallet", ""));
    printf("Imported %s\n", bwc_wshow_str(out, "address", ""));
}

int bwc_cmd_address(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out)
{
    const char *label = bwc_wopt_get(a, "label");
    const bwc_wallet_key *k = NULL;
    int make = bwc_wopt_get(a, "new") != NULL, rc;
    if ((rc = check_label(label)) != 0 || (rc = bwc_wctx_open(w, make)) != 0)
        return rc;
    if (make) {
        if ((rc = new_key(w, label, &k)) != 0 || (rc = bwc_wctx_save(w)) != 0)
            return rc;
    } else if (label) {
        long i = bwc_keystore_find_label(&w->ks, label);
        if (i < 0)
            return bwc_wfail(WEXIT_USAGE, "--label: no key is labelled '%s'", label);
        k = &w->ks.keys[i];
    } else if ((rc = bwc_wctx_key(w, NULL, &k)) != 0) {
        return rc;
    }
    *out = key_json(w, k);
    json_object_set_new(*out, "new", json_boolean(make));
    return 0;
}

void bwc_show_address(const bwc_wctx *w, const json_t *out)
{
    (void)w;
    printf("%s\n", bwc_wshow_str(out, "address", ""));
}

int bwc_cmd_list(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out)
{
    (void)a;
    int rc;
    if ((rc = bwc_wctx_open(w, 0)) != 0)
        return rc;
    json_t *keys = json_array();
    for (size_t i = 0; i < w->ks.n_keys; i++) {
        json_t *o = key_json(w, &w->ks.keys[i]);
        json_object_set_new(o, "default", json_boolean(i == 0));
        json_object_set_new(o, "created", json_integer((json_int_t)w->ks.keys[i].created));
        json_array_append_new(keys, o);
    }
    *out = json_object();
    json_object_set_new(*out, "wallet", json_string(w->path));
    json_object_set_new(*out, "keys", keys);
    return 0;
}

void bwc_show_list(const bwc_wctx *w, const json_t *out)
{
    (void)w;
    size_t i;
    json_t *k;
    printf("Wallet %s\n", bwc_wshow_str(out, "wallet", ""));
    json_array_foreach(json_object_get(out, "keys"), i, k)
    {
        printf("  %s  %-20s%s\n", bwc_wshow_str(k, "address", ""), bwc_wshow_str(k, "label", ""),
               json_is_true(json_object_get(k, "default")) ? "  (default)" : "");
    }
}

int bwc_cmd_passphrase(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out)
{
    char err[BWC_PATH_MAX + 256];
    bwc_passphrase fresh;
    int rc;
    if ((rc = bwc_wctx_open(w, 1)) != 0)
        return rc;
    if (bwc_passphrase_get(&fresh, bwc_wopt_get(a, "new-passphrase-file"), BWC_NEW_PASSPHRASE_ENV,
                           "New wallet passphrase: ", 1, err, sizeof err) != 0)
        return bwc_wfail(WEXIT_WALLET, "%s; nothing was changed", err);
    bwc_passphrase_wipe(&w->pass);
    w->pass = fresh;
    bwc_passphrase_wipe(&fresh);
    if ((rc = bwc_wctx_save(w)) != 0)
        return rc;
    *out = json_object();
    json_object_set_new(*out, "wallet", json_string(w->path));
    return 0;
}

void bwc_show_passphrase(const bwc_wctx *w, const json_t *out)
{
    (void)w;
    printf("Changed the passphrase of %s\n", bwc_wshow_str(out, "wallet", ""));
}
