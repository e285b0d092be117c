/* wallet.h: what every bwc-wallet command shares: exit codes, the command table's types, the
 * run context (chain, keystore, node connection) and the helpers commands are built from. */
#ifndef BWC_WALLET_WALLET_H
#define BWC_WALLET_WALLET_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <secp256k1.h>

#include "chainspec/chainspec.h"
#include "common/args.h"
#include "consensus/tx.h"
#include "wallet/keystore.h"
#include "wallet/noderpc.h"
#include "wallet/passphrase.h"

/* Exit codes (doc/wallet.md). */
#define WEXIT_OK 0
#define WEXIT_USAGE 1  /* bad command line or input: nothing was done */
#define WEXIT_NODE 2   /* the node could not be reached, refused, or is on another chain */
#define WEXIT_WALLET 3 /* wallet file missing, unreadable, corrupted, or wrong passphrase */
#define WEXIT_FUNDS 4  /* not enough balance: nothing was broadcast */

/* Channel and pool expiry when --expiry is not given: this many blocks after the tip, and
 * never more than the chain's max_channel_blocks (doc/wallet.md). */
#define BWC_WALLET_DEFAULT_EXPIRY_BLOCKS 10000

/* ---- the command table ---- */

/* One option of a command: --name VALUE (or --name=VALUE), or a switch --name. */
typedef struct {
    const char *name;  /* without dashes */
    const char *value; /* shown in help ("TEXT"); NULL for a switch */
    const char *help;
} bwc_wopt;

#define BWC_WCMD_MAX_POS 4
#define BWC_WCMD_MAX_OPTS 16 /* the most options a command has (download: 13) */

typedef struct bwc_wcmd bwc_wcmd;
typedef struct bwc_wctx bwc_wctx;

#define BWC_WCMD_MAX_REPEAT 32

/* A parsed command line: positional arguments and option values (NULL when not given, "1"
 * for a given switch), in the order of the command's option table. An option given twice keeps
 * its last value in val; rep_val lists every value given, in order, with rep_opt the index of
 * its option, for options that may repeat (download --relay). */
typedef struct {
    const bwc_wcmd *cmd;
    const char *pos[BWC_WCMD_MAX_POS];
    size_t npos;
    const char *val[BWC_WCMD_MAX_OPTS];
    const char *rep_val[BWC_WCMD_MAX_REPEAT];
    size_t rep_opt[BWC_WCMD_MAX_REPEAT];
    size_t n_rep;
} bwc_wcmd_args;

/* run returns an exit code; on WEXIT_OK it sets *out to the result (a new reference), which
 * --json prints as it is and show prints for people. On failure it has printed the error. */
struct bwc_wcmd {
    const char *name;    /* "send", "channel open" */
    const char *usage;   /* positional arguments, "ADDRESS AMOUNT" */
    const char *summary; /* one line for the command list */
    const char *help;    /* what it does, in full */
    size_t min_pos, max_pos;
    const bwc_wopt *opts;
    size_t n_opts;
    int (*run)(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out);
    void (*show)(const bwc_wctx *w, const json_t *out);
};

/* The value of a command's option, or NULL when it was not given. */
const char *bwc_wopt_get(const bwc_wcmd_args *a, const char *name);

/* ---- the run context ---- */

struct bwc_wctx {
    bwc_args *args;
    bwc_chainspec cs;
    secp256k1_context *secp;
    int json;
    const char *passphrase_file;
    char path[BWC_PATH_MAX]; /* the wallet file */
    bwc_keystore ks;
    int ks_open;
    bwc_passphrase pass; /* kept to re-encrypt when the wallet is saved; wiped at exit */
    int lock_fd;
    bwc_node_client node;
    int node_ready;
    uint64_t tip; /* the node's height when it was first asked */
};

/* Prints "error: <message>" to stderr and returns code. */
int bwc_wfail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Resolves the wallet file path from -walletdir and -wallet (doc/wallet.md); with create,
 * makes the directories (mode 0700). Returns 0 or an exit code (printed). */
int bwc_wctx_resolve_path(bwc_wctx *w, int create);

/* Opens the wallet: reads the file, asks for the passphrase, decrypts, and checks that it
 * belongs to this chain. With for_write, first takes the wallet lock (held until exit) so the
 * caller can change and bwc_wctx_save it. Returns 0 or an exit code (printed). */
int bwc_wctx_open(bwc_wctx *w, int for_write);

/* Starts a new, empty wallet for this chain: takes the lock, refuses when the file exists, and
 * asks for a new passphrase (twice on a terminal). Returns 0 or an exit code (printed). */
int bwc_wctx_create(bwc_wctx *w);

/* Encrypts the keystore under the passphrase and replaces the file atomically. Returns 0 or
 * an exit code (printed). */
int bwc_wctx_save(bwc_wctx *w);

/* Connects to the node once and checks that its chain_id is this chain's (w->tip is set).
 * Returns 0 or WEXIT_NODE (printed). */
int bwc_wctx_node(bwc_wctx *w);

/* Calls the node; on failure prints "error: node: ..." and sets *rc to WEXIT_NODE. Returns a
 * new reference or NULL. params is stolen. */
json_t *bwc_wctx_call(bwc_wctx *w, const char *method, json_t *params, int *rc);

/* As bwc_wctx_call, but an RPC error with code absent_code (e.g. -5 "No such ...") is not a
 * failure: returns NULL with *rc 0. */
json_t *bwc_wctx_call_opt(bwc_wctx *w, const char *method, json_t *params, int absent_code,
                          int *rc);

/* The key --from names (an address or a label of this wallet), or the default key (the first)
 * when from is NULL. Returns 0 with *k set, or an exit code (printed). */
int bwc_wctx_key(bwc_wctx *w, const char *from, const bwc_wallet_key **k);

/* Writes the address of pk to out (BWC_ADDRESS_MAX bytes) and returns out. */
char *bwc_wctx_address(const bwc_wctx *w, const bwc_pubkey *pk, char *out);

/* The fee: --fee when given (at least the chain's min_fee), else the node's estimatefee.
 * Returns 0 or an exit code (printed). */
int bwc_wctx_fee(bwc_wctx *w, const char *opt, uint64_t *fee);

/* Parses an amount option or argument (bwc_amount_parse); with positive, zero is refused.
 * what names it in the error. Returns 0 or WEXIT_USAGE (printed). */
int bwc_wctx_amount(const char *s, const char *what, int positive, uint64_t *out);

/* The expiry height: --expiry (H or +N) when given, else tip + the default; checked to lie in
 * (tip + 1, tip + 1 + max_channel_blocks]. Returns 0 or an exit code (printed). */
int bwc_wctx_expiry(bwc_wctx *w, const char *opt, uint64_t *expiry);

/* Sets tx->from and tx->nonce for key k (the account's nonce plus this key's transactions
 * waiting in the node's mempool) and checks that the balance, less what those pending
 * transactions spend, covers the cost of tx. Returns 0, WEXIT_FUNDS or WEXIT_NODE (printed). */
int bwc_wctx_prepare(bwc_wctx *w, const bwc_wallet_key *k, bwc_tx *tx);

/* Signs tx with k, sends it with sendrawtransaction and checks the txid the node returns.
 * Returns 0 with *txid set, or an exit code (printed). */
int bwc_wctx_submit(bwc_wctx *w, const bwc_wallet_key *k, bwc_tx *tx, bwc_hash *txid);

/* The confirmed balance and nonce of an address, plus what its transactions in the mempool
 * spend and how many there are, what is left to spend (balance less pending_out, at least 0)
 * and the next nonce to use. Returns 0 or WEXIT_NODE. */
typedef struct {
    uint64_t balance, nonce, pending_out, available, next_nonce;
    size_t n_pending;
} bwc_wallet_account;
int bwc_wctx_account(bwc_wctx *w, const bwc_pubkey *pk, bwc_wallet_account *acct);

/* pk's transactions waiting in the node's mempool, as a new JSON array of history entries
 * shaped like listtransactions' ({txid, type, category "send", from, to?, relay?, amount?,
 * memo?, memo_text?, fee, nonce, confirmations 0}), or NULL with *rc set (printed). */
json_t *bwc_wctx_pending(bwc_wctx *w, const bwc_pubkey *pk, int *rc);

/* ---- output ---- */

/* "1.50000000 BWC" into out (BWC_AMOUNT_STR_MAX + 4 bytes). */
char *bwc_wshow_amount(char *out, uint64_t units);
#define BWC_WSHOW_AMOUNT_MAX 32

/* Reads an unsigned field of an object for display (0 when absent). */
uint64_t bwc_wshow_u64(const json_t *o, const char *field);

/* A string field of an object, or def. */
const char *bwc_wshow_str(const json_t *o, const char *field, const char *def);

/* ---- the commands (cmd_*.c) ---- */

int bwc_cmd_create(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out);
int bwc_cmd_import(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out);
int bwc_cmd_address(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out);
int bwc_cmd_list(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out);
int bwc_cmd_passphrase(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out);
void bwc_show_create(const bwc_wctx *w, const json_t *out);
void bwc_show_import(const bwc_wctx *w, const json_t *out);
void bwc_show_address(const bwc_wctx *w, const json_t *out);
void bwc_show_list(const bwc_wctx *w, const json_t *out);
void bwc_show_passphrase(const bwc_wctx *w, const json_t *out);

int bwc_cmd_balance(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out);
int bwc_cmd_send(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out);
int bwc_cmd_history(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out);
void bwc_show_balance(const bwc_wctx *w, const json_t *out);
void bwc_show_send(const bwc_wctx *w, const json_t *out);
void bwc_show_history(const bwc_wctx *w, const json_t *out);

int bwc_cmd_channel_open(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out);
int bwc_cmd_channels(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out);
void bwc_show_channel_open(const bwc_wctx *w, const json_t *out);
void bwc_show_channels(const bwc_wctx *w, const json_t *out);

int bwc_cmd_publish(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out);
int bwc_cmd_content(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out);
int bwc_cmd_sponsor(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out);
void bwc_show_publish(const bwc_wctx *w, const json_t *out);
void bwc_show_content(const bwc_wctx *w, const json_t *out);
void bwc_show_sponsor(const bwc_wctx *w, const json_t *out);

int bwc_cmd_relays(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out);
int bwc_cmd_relay_announce(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out);
int bwc_cmd_relay_retire(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out);
void bwc_show_relays(const bwc_wctx *w, const json_t *out);
void bwc_show_relay_tx(const bwc_wctx *w, const json_t *out);

int bwc_cmd_download(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out);
void bwc_show_download(const bwc_wctx *w, const json_t *out);

#endif
