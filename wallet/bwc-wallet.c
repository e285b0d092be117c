/* bwc-wallet.c: the user's wallet CLI: the command table, its help, option parsing and main. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "config.h"
#include "common/random.h"
#include "consensus/key.h"
#include "wallet/wallet.h"

/* ---- global options (before the command) ---- */

static const bwc_arg_def options[] = {
    {"help", NULL, 0, "Print this help message and exit."},
    {"version", NULL, 0, "Print the version and exit."},
    {"conf", "<file>", BWC_ARG_CMDLINE_ONLY,
     "Read options from <file>; a relative path is relative to the data directory (default: "
     "bwc.conf). Options bwc-wallet does not know (the node's) are skipped. -noconf reads "
     "none."},
    {"datadir", "<dir>", BWC_ARG_CMDLINE_ONLY,
     "Data directory (default: $HOME/.bwc): where the node's cookie and, by default, the "
     "wallet live."},
    {"chain", "<name>", 0, "Chain: main (default), test, dev or poa-example."},
    {"chainspec", "<file>", 0, "Use the chain described by <file> instead of a built-in one."},
    {"walletdir", "<dir>", 0, "Directory of wallets (default: <datadir>/<chain>/wallet)."},
    {"wallet", "<name>", 0,
     "Use the wallet <walletdir>/<name>/wallet.dat instead of <walletdir>/wallet.dat; a <name> "
     "with a '/' is a directory of its own."},
    {"passphrase-file", "<file>", 0,
     "Read the wallet passphrase from the first line of <file> instead of asking on the "
     "terminal. The environment variable BWC_WALLET_PASSPHRASE does the same."},
    {"json", NULL, 0, "Print results as JSON (amounts in integer units) for scripts."},
    {"rpcconnect", "<ip>", 0,
     "Talk to the node at <ip>, <ip>:<port> or [<ipv6>]:<port> (default: 127.0.0.1)."},
    {"rpcport", "<port>", BWC_ARG_INT, "The node's JSON-RPC port (default: the chain's)."},
    {"rpcuser", "<user>", 0, "Username for JSON-RPC."},
    {"rpcpassword", "<pw>", 0, "Password for JSON-RPC. Without it the node's cookie is used."},
    {"rpccookiefile", "<file>", 0,
     "The node's cookie file (default: <datadir>/<chain>/.cookie; a relative path is relative "
     "to <datadir>/<chain>)."},
    {"rpcwait", NULL, 0, "Wait for the node's RPC server to start."},
    {"rpcwaittimeout", "<n>", BWC_ARG_INT,
     "How long -rpcwait waits, in seconds; 0 waits forever (default: 60)."},
    {"rpcclienttimeout", "<n>", BWC_ARG_INT,
     "Timeout in seconds for one request; 0 means none (default: 900)."},
};
#define N_OPTIONS (sizeof options / sizeof options[0])

/* ---- the commands ---- */

#define OPT_FROM                                                                                   \
    {                                                                                              \
        "from", "KEY",                                                                             \
            "Spend from this key of the wallet: its address or label (default: the wallet's "      \
            "first "                                                                               \
            "key)."                                                                                \
    }
#define OPT_FEE                                                                                    \
    {                                                                                              \
        "fee", "AMOUNT",                                                                           \
            "The fee (default: the node's estimatefee; never below the chain's minimum fee)."      \
    }
#define OPT_EXPIRY(what)                                                                           \
    {                                                                                              \
        "expiry", "H|+N",                                                                          \
            "The block height after which the " what " ends: H, or +N blocks from now (default: "  \
            "+10000, at most the chain's max_channel_blocks)."                                     \
    }
#define OPTS(a) a, sizeof(a) / sizeof(a)[0]

static const bwc_wopt o_label[] = {{"label", "TEXT", "A label for the key (1-64 bytes)."}};
static const bwc_wopt o_address[] = {
    {"new", NULL, "Make a new key (with --label, labelled) and print its address."},
    {"label", "TEXT", "With --new: the new key's label; without: show the key with this label."},
};
static const bwc_wopt o_passphrase[] = {
    {"new-passphrase-file", "FILE",
     "Read the new passphrase from the first line of FILE (or set BWC_WALLET_NEW_PASSPHRASE); "
     "else it is asked twice on the terminal."},
};
static const bwc_wopt o_from[] = {OPT_FROM};
static const bwc_wopt o_send[] = {
    {"memo", "TEXT", "A memo (1-64 bytes) the receiver sees, e.g. an invoice or deposit id."},
    {"memo-hex", "HEX", "A memo given as hex bytes."},
    OPT_FEE,
    OPT_FROM,
};
static const bwc_wopt o_history[] = {
    {"count", "N", "How many transactions to show, newest first (default 20, at most 1000)."},
    OPT_FROM,
};
static const bwc_wopt o_channel_open[] = {
    {"price", "AMOUNT",
     "What the relay is paid per MiB (default: the price in the relay's announcement; "
     "required when it has none)."},
    OPT_EXPIRY("channel"),
    OPT_FEE,
    OPT_FROM,
};
static const bwc_wopt o_publish[] = {
    {"name", "TEXT", "The content's name (default: the file's name; at most 200 bytes)."},
    {"origin", "URL", "Where relays can fetch the chunks: http://HOST:PORT."},
    {"mime", "TYPE", "The content's MIME type, e.g. text/plain (at most 100 bytes)."},
    {"chunk-size", "BYTES",
     "Chunk size: a power of two from 16KiB to 4MiB (default 256KiB); KiB and MiB suffixes "
     "allowed."},
    OPT_FEE,
    OPT_FROM,
};
static const bwc_wopt o_content[] = {
    {"all", NULL, "Every registered content, not only this wallet's (needs no wallet)."},
    OPT_FROM,
};
static const bwc_wopt o_relays[] = {
    {"region", "XX", "Only relays of this region (two capital letters; ZZ is unknown)."},
};
static const bwc_wopt o_relay_announce[] = {
    {"endpoint", "URL", "Where the relay serves: http://HOST:PORT (required)."},
    {"region", "XX", "Its region, ISO 3166-1 alpha-2, ZZ for unknown (required)."},
    {"price", "AMOUNT", "What it charges per MiB, e.g. 1000u (required)."},
    {"rate", "BYTES", "Most bytes per second it serves; 0 is unlimited (default 0)."},
    {"quota", "BYTES", "Most bytes it serves per 30 days (default 1TiB)."},
    {"burst-quota", "BYTES", "Its 30-day ceiling during a burst, >= quota (default: quota)."},
    {"burst-hours", "N", "How long a burst lasts: 0 (none) or 12 to 48 (default 0)."},
    OPT_FEE,
    OPT_FROM,
};
static const bwc_wopt o_relay_retire[] = {OPT_FEE, OPT_FROM};
static const bwc_wopt o_download[] = {
    {"o", "FILE",
     "Write the content to FILE (required). It is built in FILE.part, with "
     "FILE.part.state beside it to resume, and renamed to FILE when complete."},
    {"output", "FILE", "The same as -o."},
    {"relays", "N", "Fetch from up to N relays at once (default 3, at most 16)."},
    {"region", "XX", "Prefer relays of this region (two capital letters); others fill in."},
    {"max-price", "AMOUNT", "Skip relays asking more than this per MiB, e.g. 2000u."},
    {"deposit", "AMOUNT",
     "The deposit of each channel the download opens (default: what the whole content costs "
     "at that relay's price, plus one chunk)."},
    {"pool", "POOL_ID",
     "Download through this sponsor pool (bwc-wallet sponsor) instead of channels: no channel "
     "is opened and you pay nothing; the pool pays each relay at the pool's price, up to its "
     "per-consumer cap. The pool must be open, for CONTENT_ID, and have a balance."},
    {"ticket", "HEX",
     "With --pool: the 64-byte ticket (128 hex digits) a pool with a ticket key requires, the "
     "ticket key's signature over the pool and your key (the sponsor hands them out)."},
    {"relay", "ADDRESS",
     "Use this relay (may be given several times); only these are used. They still need a "
     "relay record."},
    {"wait", "SECONDS", "How long to wait for new channels to be confirmed (default 600)."},
    {"force", NULL, "Replace FILE when it exists."},
    OPT_EXPIRY("channel"),
    OPT_FEE,
    OPT_FROM,
};
static const bwc_wopt o_sponsor[] = {
    {"price", "AMOUNT", "What relays are paid per MiB served from the pool (required)."},
    {"cap", "AMOUNT", "The most one consumer may draw from the pool (required)."},
    OPT_EXPIRY("pool"),
    {"ticket-key", "KEY",
     "Only consumers holding a ticket signed by this key (an address or 64 hex digits) may "
     "draw."},
    OPT_FEE,
    OPT_FROM,
};

static const bwc_wcmd commands[] = {
    {"create", "", "Make a new wallet with one key",
     "Makes a new encrypted wallet holding one fresh key and prints its address. Asks for a "
     "new passphrase (twice) unless -passphrase-file or BWC_WALLET_PASSPHRASE gives it. "
     "Refuses to overwrite an existing wallet. Needs no node.",
     0, 0, OPTS(o_label), bwc_cmd_create, bwc_show_create},
    {"import", "SECRET", "Add a secret key, e.g. a funded dev key",
     "Adds the secret key SECRET (64 hex digits; '-' reads it from standard input) to the "
     "wallet, creating the wallet when there is none. On the dev chain the funded keys are "
     "the secrets 1 to 4, listed in chainspec/dev-keys.txt: bwc-wallet -chain=dev import "
     "0000000000000000000000000000000000000000000000000000000000000001. Needs no node.",
     1, 1, OPTS(o_label), bwc_cmd_import, bwc_show_import},
    {"address", "", "Show the wallet's address, or make a new one",
     "Prints the address of the wallet's default key (its first), of the key with --label, or "
     "with --new of a new key. Give it to whoever pays you. Needs no node.",
     0, 0, OPTS(o_address), bwc_cmd_address, bwc_show_address},
    {"list", "", "List the wallet's keys and labels",
     "Lists every key of the wallet: address, label, and which is the default. Needs no node.", 0,
     0, NULL, 0, bwc_cmd_list, bwc_show_list},
    {"passphrase", "", "Change the wallet's passphrase",
     "Re-encrypts the wallet under a new passphrase (fresh salt and nonce). Needs no node.", 0, 0,
     OPTS(o_passphrase), bwc_cmd_passphrase, bwc_show_passphrase},
    {"balance", "", "Show the balance of each key and the total",
     "Shows each key's confirmed balance, what its transactions waiting in the mempool will "
     "spend, and the total.",
     0, 0, OPTS(o_from), bwc_cmd_balance, bwc_show_balance},
    {"send", "ADDRESS AMOUNT", "Send credit to an address",
     "Sends AMOUNT (1.5 = 1.5 BWC, 150000000u = units) to ADDRESS with an optional memo. The "
     "fee comes on top of the amount. Refuses, before anything is broadcast, when the key's "
     "balance less its pending transactions does not cover amount plus fee. Prints the txid; "
     "the transaction is confirmed once a block includes it (bwc-wallet history).",
     2, 2, OPTS(o_send), bwc_cmd_send, bwc_show_send},
    {"history", "", "Show the wallet's transactions, pending ones first",
     "Lists the wallet's transactions, newest first: pending ones (in the node's mempool) and "
     "confirmed ones (from listtransactions), with amounts, counterparties and memos.",
     0, 0, OPTS(o_history), bwc_cmd_history, bwc_show_history},
    {"channel open", "RELAY DEPOSIT", "Open a payment channel to a relay",
     "Locks DEPOSIT in a channel that pays the relay RELAY (an address) for the chunks it "
     "serves you, at --price per MiB (default: the relay's announced price). What the relay "
     "has not claimed comes back after the expiry plus the chain's settle window. Prints the "
     "channel id.",
     2, 2, OPTS(o_channel_open), bwc_cmd_channel_open, bwc_show_channel_open},
    {"channels", "", "List the wallet's channels",
     "Lists the channels whose consumer or relay is a key of this wallet (getchannel shows one "
     "in full).",
     0, 0, OPTS(o_from), bwc_cmd_channels, bwc_show_channels},
    {"download", "CONTENT_ID -o FILE", "Download a content from relays, paying as it verifies",
     "Fetches the content whose content_id is CONTENT_ID from several relays at once and writes "
     "it to -o FILE. The manifest is checked against CONTENT_ID first, every chunk against its "
     "SHA-256 before a receipt pays for it, and a relay that sends a bad chunk is not used "
     "again. Relays come from the chain's records (--region first, then price and capacity); "
     "the download reuses an open channel with enough deposit left or opens one (and waits "
     "for a block); with --pool it draws on a sponsor pool instead and opens nothing. "
     "Interrupted, the same command resumes. Exit codes as below; 130 (143) when "
     "stopped by Ctrl-C (SIGTERM), with the progress saved.",
     1, 1, OPTS(o_download), bwc_cmd_download, bwc_show_download},
    {"publish", "FILE", "Register a file's content on the chain",
     "Builds FILE's manifest (SHA-256 of each chunk), computes its content_id and registers it "
     "with a content_register transaction naming you as publisher. The file itself is not "
     "uploaded: a relay serves it, such as your own node's after `bwc-cli relayimport FILE`, "
     "and other relays fetch chunks from --origin.",
     1, 1, OPTS(o_publish), bwc_cmd_publish, bwc_show_publish},
    {"content", "", "List content the wallet published",
     "Lists the content registered by the wallet's keys, or with --all every registered "
     "content.",
     0, 0, OPTS(o_content), bwc_cmd_content, bwc_show_content},
    {"sponsor", "CONTENT AMOUNT", "Fund free downloads of a content",
     "Opens a sponsor pool of AMOUNT for the registered content CONTENT (its content_id): "
     "relays are paid --price per MiB from it for serving any consumer, up to --cap per "
     "consumer, so your users download free. Prints the pool id.",
     2, 2, OPTS(o_sponsor), bwc_cmd_sponsor, bwc_show_sponsor},
    {"relays", "", "List the relays on the chain",
     "Lists every announced relay (or one region's): address, endpoint, price and ceilings. "
     "Needs no wallet.",
     0, 0, OPTS(o_relays), bwc_cmd_relays, bwc_show_relays},
    {"relay announce", "", "Announce (or update) your relay",
     "Publishes a relay record for a key of this wallet: where it serves, its region, price "
     "and ceilings (PROTOCOL.md section 3.2). Announcing again replaces the record.",
     0, 0, OPTS(o_relay_announce), bwc_cmd_relay_announce, bwc_show_relay_tx},
    {"relay retire", "", "Remove your relay record",
     "Removes the relay record of a key of this wallet.", 0, 0, OPTS(o_relay_retire),
     bwc_cmd_relay_retire, bwc_show_relay_tx},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

/* Options every command takes, after it as well as before it. */
static const bwc_wopt common_opts[] = {
    {"json", NULL, "Print the result as JSON (amounts in integer units)."},
    {"passphrase-file", "FILE", "Read the wallet passphrase from the first line of FILE."},
    {"help", NULL, "Show this help."},
};
#define N_COMMON (sizeof common_opts / sizeof common_opts[0])

/* ---- help ---- */

/* Prints text wrapped at 79 columns, each line indented by indent spaces. */
static void wrap(const char *text, int indent, FILE *out)
{
    int col = 0;
    const char *p = text;
    while (*p) {
        size_t wl = strcspn(p, " ");
        if (col > 0 && col + 1 + (int)wl > 79) {
            fputc('\n', out);
            col = 0;
        }
        if (col == 0) {
            fprintf(out, "%*s", indent, "");
            col = indent;
        } else {
            fputc(' ', out);
            col++;
        }
        fwrite(p, 1, wl, out);
        col += (int)wl;
        p += wl;
        while (*p == ' ')
            p++;
    }
    if (col > 0)
        fputc('\n', out);
}

static void print_opts(const bwc_wopt *o, size_t n, FILE *out)
{
    for (size_t i = 0; i < n; i++) {
        const char *dash = o[i].name[1] ? "--" : "-"; /* -o */
        if (o[i].value)
            fprintf(out, "  %s%s %s\n", dash, o[i].name, o[i].value);
        else
            fprintf(out, "  %s%s\n", dash, o[i].name);
        wrap(o[i].help, 6, out);
    }
}

static void command_help(const bwc_wcmd *c, FILE *out)
{
    fprintf(out, "Usage: bwc-wallet [options] %s%s%s%s\n\n", c->name, c->usage[0] ? " " : "",
            c->usage, c->n_opts ? " [--option ...]" : "");
    wrap(c->help, 0, out);
    fputs("\nOptions (--name VALUE or --name=VALUE):\n", out);
    print_opts(c->opts, c->n_opts, out);
    print_opts(common_opts, N_COMMON, out);
    fputs("\nAmounts: 1.5 is 1.5 BWC (at most 8 decimals); 150000000u is 150000000 units\n"
          "(1 BWC = 100000000 units). Prices are units per MiB, written the same way.\n"
          "Exit codes: 0 ok, 1 bad input, 2 node error, 3 wallet or passphrase error,\n"
          "4 insufficient funds. Global options (bwc-wallet -help) go before the command.\n",
          out);
}

static void usage(FILE *out)
{
    fprintf(out,
            "bwc-wallet %s: keys, payments, channels and publishing for bwc\n"
            "\n"
            "Usage: bwc-wallet [options] COMMAND [ARGS] [--json]\n"
            "       bwc-wallet help COMMAND      (or: bwc-wallet COMMAND --help)\n"
            "\n"
            "The wallet keeps your keys in a passphrase-encrypted file, by default\n"
            "<datadir>/<chain>/wallet/wallet.dat, signs transactions itself and sends them to\n"
            "a bwcd node over JSON-RPC: the node never sees a key.\n"
            "\n"
            "Commands:\n",
            PACKAGE_VERSION);
    for (size_t i = 0; i < N_COMMANDS; i++) {
        char head[64];
        snprintf(head, sizeof head, "%s %s", commands[i].name, commands[i].usage);
        fprintf(out, "  %-28s %s\n", head, commands[i].summary);
    }
    fputs("\n"
          "Amounts: 1.5 means 1.5 BWC (at most 8 decimals); 150000000u means 150000000 units\n"
          "(1 BWC = 100000000 units). Anything else is refused. Prices are units per MiB.\n"
          "\n"
          "Passphrase: asked on the terminal without echo; for scripts give\n"
          "-passphrase-file=FILE (its first line) or set BWC_WALLET_PASSPHRASE.\n"
          "\n"
          "Output is for people; --json prints JSON for scripts. Exit codes: 0 ok, 1 bad\n"
          "command line or input, 2 node or RPC error (also: the node is on another chain),\n"
          "3 wallet file or passphrase error, 4 insufficient funds. After any error nothing\n"
          "was sent and the wallet file is unchanged.\n"
          "\n"
          "Try it on the dev chain (every dev key is public):\n"
          "  bwcd -chain=dev -daemon\n"
          "  bwc-wallet -chain=dev create                  # your wallet and address\n"
          "  bwc-wallet -chain=dev -wallet=dev1 import 00000000000000000000000000000000\\\n"
          "             00000000000000000000000000000001   # a funded dev key\n"
          "  bwc-wallet -chain=dev -wallet=dev1 send YOUR_ADDRESS 100 --memo hello\n"
          "  bwc-cli -chain=dev generate 1 YOUR_ADDRESS      # mine a block (dev only)\n"
          "  bwc-wallet -chain=dev balance\n"
          "  bwc-wallet -chain=dev channel open RELAY_ADDRESS 10 --price 1000u\n"
          "  bwc-wallet -chain=dev publish FILE\n"
          "\n"
          "Options (before the command):\n"
          "\n",
          out);
    bwc_args_print_help(options, N_OPTIONS, out);
}

/* ---- parsing a command's arguments ---- */

/* Finds the command named by argv[i] (and argv[i+1] for the two-word ones); *used is how many
 * words it took. */
static const bwc_wcmd *find_command(int argc, char **argv, int i, int *used)
{
    for (size_t c = 0; c < N_COMMANDS; c++) {
        const char *name = commands[c].name, *space = strchr(name, ' ');
        if (!space && strcmp(argv[i], name) == 0) {
            *used = 1;
            return &commands[c];
        }
        if (space && i + 1 < argc && strncmp(argv[i], name, (size_t)(space - name)) == 0 &&
            argv[i][space - name] == '\0' && strcmp(argv[i + 1], space + 1) == 0) {
            *used = 2;
            return &commands[c];
        }
    }
    return NULL;
}

/* The sub-commands of a two-word command's first word ("open" for "channel"), for errors. */
static int is_group(const char *word, char *subs, size_t len)
{
    int found = 0;
    subs[0] = '\0';
    for (size_t c = 0; c < N_COMMANDS; c++) {
        const char *name = commands[c].name, *space = strchr(name, ' ');
        if (space && strncmp(word, name, (size_t)(space - name)) == 0 &&
            word[space - name] == '\0') {
            size_t n = strlen(subs);
            snprintf(subs + n, len - n, "%s%s", found ? ", " : "", space + 1);
            found = 1;
        }
    }
    return found;
}

typedef struct {
    int json, help;
    const char *passphrase_file;
} common_vals;

static int is_global_option(const char *name)
{
    for (size_t i = 0; i < N_OPTIONS; i++)
        if (strcmp(options[i].name, name) == 0)
            return 1;
    return 0;
}

/* Parses argv[i..argc) into a. Returns 0 or WEXIT_USAGE (printed). */
static int parse_command_args(const bwc_wcmd *c, int argc, char **argv, int i, bwc_wcmd_args *a,
                              common_vals *cv)
{
    int only_pos = 0;
    memset(a, 0, sizeof *a);
    a->cmd = c;
    if (c->n_opts > BWC_WCMD_MAX_OPTS) /* a value would land past a->val */
        return bwc_wfail(WEXIT_USAGE, "%s: more options than BWC_WCMD_MAX_OPTS", c->name);
    for (; i < argc; i++) {
        const char *arg = argv[i];
        /* "-" (standard input) and "-1" (a bad amount, reported as one) are arguments. */
        if (only_pos || arg[0] != '-' || arg[1] == '\0' || (arg[1] >= '0' && arg[1] <= '9')) {
            if (a->npos == BWC_WCMD_MAX_POS || a->npos >= c->max_pos)
                return bwc_wfail(WEXIT_USAGE,
                                 "%s: unexpected argument '%.100s' (see bwc-wallet %s --help)",
                                 c->name, arg, c->name);
            a->pos[a->npos++] = arg;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            only_pos = 1;
            continue;
        }
        const char *name = arg + (arg[1] == '-' ? 2 : 1);
        const char *eq = strchr(name, '=');
        size_t nl = eq ? (size_t)(eq - name) : strlen(name);
        const bwc_wopt *def = NULL;
        const char **slot = NULL;
        for (size_t k = 0; k < c->n_opts && !def; k++)
            if (strlen(c->opts[k].name) == nl && strncmp(c->opts[k].name, name, nl) == 0) {
                def = &c->opts[k];
                slot = &a->val[k];
            }
        for (size_t k = 0; k < N_COMMON && !def; k++)
            if (strlen(common_opts[k].name) == nl && strncmp(common_opts[k].name, name, nl) == 0)
                def = &common_opts[k];
        if (!def && nl == 1 && name[0] == 'h')
            def = &common_opts[N_COMMON - 1];
        if (!def) {
            char n[64];
            snprintf(n, sizeof n, "%.*s", (int)(nl < 60 ? nl : 60), name);
            if (is_global_option(n))
                return bwc_wfail(WEXIT_USAGE,
                                 "-%s is a global option: put it before the command "
                                 "(bwc-wallet -%s=... %s ...)",
                                 n, n, c->name);
            return bwc_wfail(WEXIT_USAGE, "%s: unknown option --%s (see bwc-wallet %s --help)",
                             c->name, n, c->name);
        }
        const char *value = "1";
        if (def->value) {
            if (eq) {
                value = eq + 1;
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                return bwc_wfail(WEXIT_USAGE, "--%s needs a value (%s)", def->name, def->value);
            }
        } else if (eq) {
            return bwc_wfail(WEXIT_USAGE, "--%s takes no value", def->name);
        }
        if (slot) {
            *slot = value;
            if (a->n_rep == BWC_WCMD_MAX_REPEAT)
                return bwc_wfail(WEXIT_USAGE, "%s: too many options", c->name);
            a->rep_val[a->n_rep] = value;
            a->rep_opt[a->n_rep++] = (size_t)(slot - a->val);
        } else if (!strcmp(def->name, "json"))
            cv->json = 1;
        else if (!strcmp(def->name, "help"))
            cv->help = 1;
        else
            cv->passphrase_file = value;
    }
    if (cv->help)
        return 0;
    if (a->npos < c->min_pos)
        return bwc_wfail(WEXIT_USAGE, "%s needs %s (see bwc-wallet %s --help)", c->name, c->usage,
                         c->name);
    return 0;
}

/* ---- main ---- */

static int print_result(const bwc_wctx *w, const bwc_wcmd *c, const json_t *out)
{
    if (w->json) {
        char *s = json_dumps(out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        if (!s)
            return bwc_wfail(WEXIT_USAGE, "out of memory");
        puts(s);
        free(s);
    } else {
        c->show(w, out);
    }
    return fflush(stdout) == 0 ? WEXIT_OK : bwc_wfail(WEXIT_USAGE, "cannot write the result");
}

static int run(bwc_wctx *w, int argc, char **argv)
{
    char err[1024];
    int first, used;
    bwc_wcmd_args a;
    common_vals cv = {0, 0, NULL};

    if (bwc_args_parse_cmdline(w->args, argc, argv, &first, err, sizeof err) != 0)
        return bwc_wfail(WEXIT_USAGE, "%s\nTry 'bwc-wallet -help'.", err);
    if (bwc_args_get_bool(w->args, "help", 0)) {
        usage(stdout);
        return WEXIT_OK;
    }
    if (bwc_args_get_bool(w->args, "version", 0)) {
        printf("bwc-wallet %s\n", PACKAGE_VERSION);
        return WEXIT_OK;
    }
    if (first >= argc)
        return bwc_wfail(WEXIT_USAGE, "no command given (bwc-wallet -help lists them)");
    if (strcmp(argv[first], "help") == 0) {
        if (first + 1 >= argc) {
            usage(stdout);
            return WEXIT_OK;
        }
        const bwc_wcmd *c = find_command(argc, argv, first + 1, &used);
        if (!c)
            return bwc_wfail(WEXIT_USAGE, "help: no command '%s' (bwc-wallet help lists them)",
                             argv[first + 1]);
        command_help(c, stdout);
        return WEXIT_OK;
    }
    const bwc_wcmd *c = find_command(argc, argv, first, &used);
    if (!c) {
        char subs[128];
        if (is_group(argv[first], subs, sizeof subs))
            return bwc_wfail(WEXIT_USAGE, "%s: expected one of: %s (bwc-wallet help lists them)",
                             argv[first], subs);
        return bwc_wfail(WEXIT_USAGE, "unknown command '%s' (bwc-wallet help lists them)",
                         argv[first]);
    }
    int rc = parse_command_args(c, argc, argv, first + used, &a, &cv);
    if (rc != 0)
        return rc;
    if (cv.help) {
        command_help(c, stdout);
        return WEXIT_OK;
    }
    if (bwc_args_read_config(w->args, 1, err, sizeof err) != 0)
        return bwc_wfail(WEXIT_USAGE, "%s", err);
    w->json = cv.json || bwc_args_get_bool(w->args, "json", 0);
    w->passphrase_file =
        cv.passphrase_file ? cv.passphrase_file : bwc_args_get(w->args, "passphrase-file", NULL);

    const char *spec = bwc_args_get(w->args, "chainspec", NULL);
    if ((spec ? bwc_chainspec_load_file(&w->cs, spec, err, sizeof err)
              : bwc_chainspec_load_named(&w->cs, bwc_args_chain(w->args), err, sizeof err)) != 0)
        return bwc_wfail(WEXIT_USAGE, "%s", err);
    /* A -chainspec network reads the bwc.conf section of its own name, as bwcd does. */
    if (spec && bwc_args_set_chain(w->args, w->cs.name) != 0)
        return bwc_wfail(WEXIT_USAGE, "chainspec name '%s' cannot name a config section",
                         w->cs.name);
    unsigned char seed[32];
    if (bwc_random_bytes(seed, sizeof seed) != 0 || !(w->secp = bwc_secp_create(seed)))
        return bwc_wfail(WEXIT_WALLET, "cannot create the secp256k1 context");
    bwc_cleanse(seed, sizeof seed);

    json_t *out = NULL;
    rc = c->run(w, &a, &out);
    if (rc == WEXIT_OK)
        rc = print_result(w, c, out);
    json_decref(out);
    return rc;
}

int main(int argc, char **argv)
{
    /* Secrets stay out of core dumps. */
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none);

    bwc_wctx w;
    memset(&w, 0, sizeof w);
    w.lock_fd = -1;
    if (!(w.args = bwc_args_new(options, N_OPTIONS)))
        return bwc_wfail(WEXIT_USAGE, "out of memory");
    int rc = run(&w, argc, argv);
    bwc_keystore_free(&w.ks);
    bwc_passphrase_wipe(&w.pass);
    bwc_keystore_unlock(w.lock_fd);
    if (w.node_ready)
        bwc_node_client_free(&w.node);
    bwc_secp_destroy(w.secp);
    bwc_chainspec_free(&w.cs);
    bwc_args_free(w.args);
    return rc;
}
