/* bwc-util.c: offline tool for integrators: decode objects, compute ids, manifests, keys and
 * chain ids exactly as the node does, from the same consensus code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "chainspec/chainspec.h"
#include "common/hex.h"
#include "common/manifest_file.h"
#include "common/objjson.h"
#include "common/random.h"
#include "consensus/bech32m.h"
#include "consensus/block.h"
#include "consensus/genesis.h"
#include "consensus/key.h"

#define MAX_HEX_INPUT (2 * BWC_MANIFEST_MAX_BYTES + 1024)

static const char usage[] =
    "Usage: bwc-util [options] COMMAND [ARGS]\n"
    "\n"
    "Offline tools for integrators; nothing here talks to a node.\n"
    "\n"
    "Commands:\n"
    "  decode TYPE HEX|-     Decode a consensus object (TYPE: tx, receipt, manifest, header,\n"
    "                        block) from hex (or hex on stdin with -) and print it as JSON\n"
    "                        with its id. Invalid input: the reject string, exit 1.\n"
    "  manifest FILE         Print the manifest of FILE and its content_id.\n"
    "  keygen                Print a new secret key, its public key and address.\n"
    "  address PUBKEY        Print the address of a 32-byte x-only public key (hex).\n"
    "  pubkey ADDRESS        Print the public key (hex) inside an address.\n"
    "  genesis CHAINSPEC     Print the chain_id and genesis block of a chainspec file.\n"
    "\n"
    "Options:\n"
    "  -chain=NAME           Chain whose chain_id and hrp apply: main (default), test, dev,\n"
    "                        poa-example.\n"
    "  -chainspec=FILE       Use the chain described by FILE instead.\n"
    "  -chunk-size=BYTES     Chunk size for `manifest` (default 262144; a power of two from\n"
    "                        16384 to 4194304).\n"
    "  -chunks               With `manifest` or `decode manifest`: list every chunk hash.\n"
    "  -h, -help             This text.\n"
    "\n"
    "Options take one or two leading dashes. Exit status: 0 success, 1 invalid input or\n"
    "failure, 2 usage error.\n";

typedef struct {
    const char *chain;
    const char *chainspec;
    uint64_t chunk_size;
    int chunks;
} options;

static int die_usage(const char *msg)
{
    fprintf(stderr, "bwc-util: %s\nTry 'bwc-util -help'.\n", msg);
    return 2;
}

static void print_json(json_t *j)
{
    char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (s) {
        puts(s);
        free(s);
    }
    json_decref(j);
}

static int load_chain(const options *o, bwc_chainspec *cs)
{
    char err[512];
    int rc = o->chainspec ? bwc_chainspec_load_file(cs, o->chainspec, err, sizeof err)
                          : bwc_chainspec_load_named(cs, o->chain, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "bwc-util: %s\n", err);
        return -1;
    }
    return 0;
}

/* Reads the hex argument, or all of stdin for "-", into a new buffer of bytes. */
static int read_hex_input(const char *arg, unsigned char **out, size_t *len)
{
    char *text = NULL;
    int ok;
    if (strcmp(arg, "-") == 0) {
        size_t n = 0, cap = 4096;
        text = malloc(cap);
        for (int c; text && (c = getchar()) != EOF;) {
            if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
                continue;
            if (n + 1 >= cap) {
                if (cap >= MAX_HEX_INPUT) {
                    free(text);
                    fprintf(stderr, "bwc-util: input larger than any object\n");
                    return -1;
                }
                char *p = realloc(text, cap * 2);
                if (!p)
                    free(text);
                text = p;
                cap *= 2;
            }
            if (text)
                text[n++] = (char)c;
        }
        if (!text) {
            fprintf(stderr, "bwc-util: out of memory\n");
            return -1;
        }
        text[n] = '\0';
        arg = text;
    }
    ok = bwc_hex_decode_alloc(out, len, arg);
    free(text);
    if (!ok) {
        fprintf(stderr, "bwc-util: input is not an even-length hex string\n");
        return -1;
    }
    return 0;
}

static int cmd_decode(const options *o, const char *type, const char *arg)
{
    bwc_chainspec cs;
    unsigned char *data = NULL;
    size_t len = 0;
    bwc_result res = {BWC_RESULT_OK, ""};
    json_t *j = NULL;
    int rc = 1;

    if (load_chain(o, &cs) != 0)
        return 1;
    if (read_hex_input(arg, &data, &len) != 0)
        goto out;
    const bwc_hash *cid = &cs.chain_id;
    const char *hrp = cs.params.hrp;
    if (strcmp(type, "tx") == 0) {
        bwc_tx tx;
        if (bwc_tx_decode(&tx, data, len, &res))
            j = bwc_json_tx(&tx, cid, hrp);
    } else if (strcmp(type, "receipt") == 0) {
        bwc_receipt r;
        if (bwc_receipt_decode(&r, data, len, &res))
            j = bwc_json_receipt(&r, cid, hrp);
    } else if (strcmp(type, "manifest") == 0) {
        bwc_manifest m;
        if (bwc_manifest_decode(&m, data, len, &res)) {
            j = bwc_json_manifest(&m, o->chunks);
            bwc_manifest_free(&m);
        }
    } else if (strcmp(type, "header") == 0) {
        bwc_header h;
        if (bwc_header_decode(&h, data, len, &res))
            j = bwc_json_header(&h, hrp);
    } else if (strcmp(type, "block") == 0) {
        bwc_block b;
        if (bwc_block_decode(&b, data, len, (size_t)cs.params.max_block_bytes, &res)) {
            if (!bwc_block_check_roots(&b, &res))
                fprintf(stderr, "bwc-util: warning: %s\n", res.reject);
            res.code = BWC_RESULT_OK;
            j = bwc_json_block(&b, cid, hrp, 1);
            bwc_block_free(&b);
        }
    } else {
        fprintf(stderr, "bwc-util: unknown object type '%s' (tx, receipt, manifest, header, "
                        "block)\n",
                type);
        rc = 2;
        goto out;
    }
    if (res.code != BWC_RESULT_OK) {
        fprintf(stderr, "bwc-util: invalid %s: %s\n", type, res.reject);
        goto out;
    }
    if (!j) {
        fprintf(stderr, "bwc-util: out of memory\n");
        goto out;
    }
    print_json(j);
    rc = 0;
out:
    free(data);
    bwc_chainspec_free(&cs);
    return rc;
}

static int cmd_manifest(const options *o, const char *path)
{
    bwc_manifest m;
    char err[512];
    if (bwc_manifest_from_file(&m, path, o->chunk_size, err, sizeof err) != 0) {
        fprintf(stderr, "bwc-util: %s\n", err);
        return 1;
    }
    json_t *j = bwc_json_manifest(&m, o->chunks);
    bwc_buf b = BWC_BUF_INIT;
    if (j && bwc_manifest_encode(&m, &b))
        json_object_set_new(j, "bytes", json_integer((json_int_t)b.len));
    bwc_buf_free(&b);
    bwc_manifest_free(&m);
    print_json(j);
    return 0;
}

static int cmd_keygen(const options *o)
{
    bwc_chainspec cs;
    unsigned char seed[32], sec[32];
    bwc_pubkey pk;
    char addr[BWC_ADDRESS_MAX], hex[65];
    secp256k1_context *ctx;
    int rc = 1;

    if (load_chain(o, &cs) != 0)
        return 1;
    if (bwc_random_bytes(seed, sizeof seed) != 0 || !(ctx = bwc_secp_create(seed))) {
        fprintf(stderr, "bwc-util: no randomness from the operating system\n");
        bwc_chainspec_free(&cs);
        return 1;
    }
    do { /* a random 32-byte value is a valid secret with overwhelming probability */
        if (bwc_random_bytes(sec, sizeof sec) != 0)
            goto out;
    } while (!bwc_key_pubkey(ctx, &pk, sec));
    if (!bwc_address_encode(addr, sizeof addr, cs.params.hrp, &pk))
        goto out;
    json_t *j = json_object();
    bwc_hex_encode(hex, sec, 32);
    json_object_set_new(j, "secret", json_string(hex));
    bwc_hex_encode(hex, pk.b, 32);
    json_object_set_new(j, "pubkey", json_string(hex));
    json_object_set_new(j, "address", json_string(addr));
    print_json(j);
    rc = 0;
out:
    bwc_cleanse(sec, sizeof sec);
    bwc_cleanse(hex, sizeof hex);
    bwc_secp_destroy(ctx);
    bwc_chainspec_free(&cs);
    return rc;
}

static int cmd_address(const options *o, const char *arg)
{
    bwc_chainspec cs;
    bwc_pubkey pk;
    char addr[BWC_ADDRESS_MAX];
    int rc = 1;
    if (load_chain(o, &cs) != 0)
        return 1;
    secp256k1_context *ctx = bwc_secp_create(NULL);
    if (!bwc_hex_decode(pk.b, 32, arg))
        fprintf(stderr, "bwc-util: a public key is 64 hex digits\n");
    else if (!ctx || !bwc_pubkey_valid(ctx, &pk))
        fprintf(stderr, "bwc-util: %s is not an x coordinate on secp256k1: no address\n", arg);
    else if (bwc_address_encode(addr, sizeof addr, cs.params.hrp, &pk) && puts(addr) >= 0)
        rc = 0;
    bwc_secp_destroy(ctx);
    bwc_chainspec_free(&cs);
    return rc;
}

static int cmd_pubkey(const options *o, const char *arg)
{
    bwc_chainspec cs;
    bwc_pubkey pk;
    char hex[65];
    int rc = 1;
    if (load_chain(o, &cs) != 0)
        return 1;
    if (!bwc_address_decode(&pk, cs.params.hrp, arg)) {
        fprintf(stderr, "bwc-util: '%s' is not a valid %s address\n", arg, cs.params.hrp);
    } else {
        bwc_hex_encode(hex, pk.b, 32);
        puts(hex);
        rc = 0;
    }
    bwc_chainspec_free(&cs);
    return rc;
}

static int cmd_genesis(const char *path)
{
    bwc_chainspec cs;
    char err[512];
    bwc_header g;
    bwc_buf gb = BWC_BUF_INIT;
    if (bwc_chainspec_load_file(&cs, path, err, sizeof err) != 0) {
        fprintf(stderr, "bwc-util: %s\n", err);
        return 1;
    }
    json_t *j = json_object();
    json_object_set_new(j, "chain_id", bwc_json_hex(cs.chain_id.b, 32));
    json_object_set_new(j, "name", json_string(cs.name));
    json_object_set_new(j, "hrp", json_string(cs.params.hrp));
    json_object_set_new(j, "engine",
                        json_string(cs.params.engine == BWC_ENGINE_POW ? "pow" : "poa"));
    if (bwc_genesis_header(&cs.params, &g))
        json_object_set_new(j, "genesis", bwc_json_header(&g, cs.params.hrp));
    if (bwc_genesis_encode_g(&cs.params, &gb))
        json_object_set_new(j, "g", bwc_json_hex(gb.data, gb.len));
    bwc_buf_free(&gb);
    print_json(j);
    bwc_chainspec_free(&cs);
    return 0;
}

/* Matches -name=value or --name=value (value returned) and -name / --name (value ""). */
static const char *opt_value(const char *arg, const char *name)
{
    if (arg[0] != '-')
        return NULL;
    arg += arg[1] == '-' ? 2 : 1;
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0)
        return NULL;
    if (arg[n] == '=')
        return arg + n + 1;
    return arg[n] == '\0' ? "" : NULL;
}

int main(int argc, char **argv)
{
    options o = {"main", NULL, BWC_DEFAULT_CHUNK_SIZE, 0};
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && strcmp(argv[i], "-") != 0; i++) {
        const char *v;
        if ((v = opt_value(argv[i], "help")) || (v = opt_value(argv[i], "h"))) {
            fputs(usage, stdout);
            return 0;
        } else if ((v = opt_value(argv[i], "chain")) && *v) {
            o.chain = v;
        } else if ((v = opt_value(argv[i], "chainspec")) && *v) {
            o.chainspec = v;
        } else if ((v = opt_value(argv[i], "chunk-size")) && *v) {
            char *end;
            o.chunk_size = strtoull(v, &end, 10);
            if (*end || !bwc_chunk_size_valid(o.chunk_size))
                return die_usage("-chunk-size must be a power of two from 16384 to 4194304");
        } else if ((v = opt_value(argv[i], "chunks")) && !*v) {
            o.chunks = 1;
        } else {
            fprintf(stderr, "bwc-util: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (i >= argc)
        return die_usage("no command given");
    const char *cmd = argv[i++];
    int nargs = argc - i;
    char **args = argv + i;
    if (strcmp(cmd, "decode") == 0 && nargs == 2)
        return cmd_decode(&o, args[0], args[1]);
    if (strcmp(cmd, "manifest") == 0 && nargs == 1)
        return cmd_manifest(&o, args[0]);
    if (strcmp(cmd, "keygen") == 0 && nargs == 0)
        return cmd_keygen(&o);
    if (strcmp(cmd, "address") == 0 && nargs == 1)
        return cmd_address(&o, args[0]);
    if (strcmp(cmd, "pubkey") == 0 && nargs == 1)
        return cmd_pubkey(&o, args[0]);
    if (strcmp(cmd, "genesis") == 0 && nargs == 1)
        return cmd_genesis(args[0]);
    fprintf(stderr, "bwc-util: unknown command or wrong number of arguments: %s\n", cmd);
    return 2;
}
