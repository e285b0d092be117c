/* chainspec.c: the JSON chainspec loader: strict, field-by-field, with jansson. */
#include "chainspec/chainspec.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <secp256k1.h>

#include "consensus/bech32m.h"
#include "consensus/genesis.h"
#include "consensus/key.h"

#define FIELD_MAX 96 /* longest field path, e.g. "genesis.allocations[12345].address" */

typedef struct {
    char *err;
    size_t errlen;
    secp256k1_context *secp;
    bwc_chainspec *cs;
} loader;

static void set_err(loader *L, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_err(loader *L, const char *fmt, ...)
{
    va_list ap;
    if (!L->errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(L->err, L->errlen, fmt, ap);
    va_end(ap);
}

/* Reports a bad field and returns 0, so callers write `return bad(L, field, "...")`. */
static int bad(loader *L, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(loader *L, const char *field, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    set_err(L, "chainspec field '%s': %s", field, msg);
    return 0;
}

static void join(char field[FIELD_MAX], const char *prefix, const char *key)
{
    if (*prefix)
        snprintf(field, FIELD_MAX, "%s.%s", prefix, key);
    else
        snprintf(field, FIELD_MAX, "%s", key);
}

/* Refuses any member of obj not named in allowed (NULL-terminated): typo safety. */
static int only_fields(loader *L, json_t *obj, const char *prefix, const char *const *allowed)
{
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v)
    {
        int known = 0;
        for (size_t i = 0; allowed[i]; i++)
            known |= strcmp(key, allowed[i]) == 0;
        if (!known) {
            char field[FIELD_MAX];
            join(field, prefix, key);
            return bad(L, field, "unknown field");
        }
    }
    return 1;
}

/* Fetches a required member; writes its path to field either way. */
static json_t *member(loader *L, json_t *obj, const char *prefix, const char *key,
                      char field[FIELD_MAX])
{
    join(field, prefix, key);
    json_t *v = json_object_get(obj, key);
    if (!v)
        bad(L, field, "missing");
    return v;
}

static json_t *get_object(loader *L, json_t *obj, const char *prefix, const char *key,
                          const char *const *allowed)
{
    char field[FIELD_MAX];
    json_t *v = member(L, obj, prefix, key, field);
    if (!v)
        return NULL;
    if (!json_is_object(v)) {
        bad(L, field, "expected an object");
        return NULL;
    }
    return only_fields(L, v, field, allowed) ? v : NULL;
}

static json_t *get_array(loader *L, json_t *obj, const char *prefix, const char *key)
{
    char field[FIELD_MAX];
    json_t *v = member(L, obj, prefix, key, field);
    if (v && !json_is_array(v)) {
        bad(L, field, "expected an array");
        return NULL;
    }
    return v;
}

/* A JSON integer in [min, max]; jansson's integers are signed 64-bit, so a u64 field can
 * hold at most 2^63 - 1 in a chainspec. */
static int get_uint(loader *L, json_t *obj, const char *prefix, const char *key, uint64_t min,
                    uint64_t max, uint64_t *out)
{
    char field[FIELD_MAX];
    json_t *v = member(L, obj, prefix, key, field);
    if (!v)
        return 0;
    json_int_t i = json_is_integer(v) ? json_integer_value(v) : -1;
    if (i < 0)
        return bad(L, field, "expected a non-negative integer");
    if ((uint64_t)i < min || (uint64_t)i > max)
        return bad(L, field, "expected an integer from %llu to %llu", (unsigned long long)min,
                   (unsigned long long)max);
    *out = (uint64_t)i;
    return 1;
}

static int get_u64(loader *L, json_t *obj, const char *prefix, const char *key, uint64_t *out)
{
    return get_uint(L, obj, prefix, key, 0, UINT64_MAX, out);
}

/* A JSON string without NUL characters of at most max bytes (jansson has checked UTF-8). */
static const char *string_value(loader *L, json_t *v, const char *field, size_t max)
{
    if (!json_is_string(v)) {
        bad(L, field, "expected a string");
        return NULL;
    }
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (strlen(s) != n) {
        bad(L, field, "expected a string without NUL characters");
        return NULL;
    }
    if (n > max) {
        bad(L, field, "expected at most %zu bytes", max);
        return NULL;
    }
    return s;
}

static const char *get_string(loader *L, json_t *obj, const char *prefix, const char *key,
                              size_t max, char field[FIELD_MAX])
{
    json_t *v = member(L, obj, prefix, key, field);
    return v ? string_value(L, v, field, max) : NULL;
}

/* "0x" and 1 to 8 hex digits, for the magic and the compact target. */
static int parse_hex32(const char *s, uint32_t *out)
{
    if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return 0;
    size_t n = strlen(s + 2);
    if (n < 1 || n > 8 || strspn(s + 2, "0123456789abcdefABCDEF") != n)
        return 0;
    *out = (uint32_t)strtoul(s + 2, NULL, 16);
    return 1;
}

/* Decodes an address of the chain's hrp and checks that its key lies on the curve. */
static int key_value(loader *L, json_t *v, const char *field, bwc_pubkey *pk)
{
    const char *s = string_value(L, v, field, 128);
    if (!s)
        return 0;
    if (!bwc_address_decode(pk, L->cs->params.hrp, s))
        return bad(L, field, "expected a bech32m address of this chain (hrp \"%s\")",
                   L->cs->params.hrp);
    if (!bwc_pubkey_valid(L->secp, pk))
        return bad(L, field, "key is not a point on secp256k1, so not an address");
    return 1;
}

static int name_ok(const char *s)
{
    return *s && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == strlen(s);
}

static int parse_ports(loader *L, json_t *root)
{
    static const char *const fields[] = {"p2p", "rpc", "relay", NULL};
    json_t *o = get_object(L, root, "", "ports", fields);
    uint64_t p2p, rpc, relay;
    if (!o || !get_uint(L, o, "ports", "p2p", 1, 65535, &p2p) ||
        !get_uint(L, o, "ports", "rpc", 1, 65535, &rpc) ||
        !get_uint(L, o, "ports", "relay", 1, 65535, &relay))
        return 0;
    if (rpc == p2p)
        return bad(L, "ports.rpc", "must differ from ports.p2p");
    if (relay == p2p || relay == rpc)
        return bad(L, "ports.relay", "must differ from ports.p2p and ports.rpc");
    L->cs->p2p_port = (uint16_t)p2p;
    L->cs->rpc_port = (uint16_t)rpc;
    L->cs->relay_port = (uint16_t)relay;
    return 1;
}

/* "HOST:PORT" with a non-empty HOST (a bracketed IPv6 address is fine) and PORT 1-65535;
 * the node resolves it. */
static int seed_ok(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s || strpbrk(s, " \t\r\n/"))
        return 0;
    const char *port = colon + 1;
    size_t n = strlen(port);
    if (n < 1 || n > 5 || strspn(port, "0123456789") != n || port[0] == '0')
        return 0;
    return strtoul(port, NULL, 10) <= 65535;
}

static int parse_seeds(loader *L, json_t *root)
{
    json_t *a = get_array(L, root, "", "seeds");
    if (!a)
        return 0;
    size_t n = json_array_size(a);
    if (n > 0) {
        L->cs->seeds = calloc(n, sizeof *L->cs->seeds);
        if (!L->cs->seeds)
            return bad(L, "seeds", "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        char field[FIELD_MAX];
        snprintf(field, sizeof field, "seeds[%zu]", i);
        const char *s = string_value(L, json_array_get(a, i), field, BWC_CHAINSPEC_SEED_MAX);
        if (!s)
            return 0;
        if (!seed_ok(s))
            return bad(L, field, "expected \"HOST:PORT\" with PORT from 1 to 65535");
        L->cs->seeds[i] = strdup(s);
        if (!L->cs->seeds[i])
            return bad(L, field, "out of memory");
        L->cs->n_seeds = i + 1;
    }
    return 1;
}

static int parse_allocations(loader *L, json_t *genesis)
{
    static const char *const fields[] = {"address", "amount", NULL};
    bwc_params *p = &L->cs->params;
    json_t *a = get_array(L, genesis, "genesis", "allocations");
    if (!a)
        return 0;
    size_t n = json_array_size(a);
    if (n > 0) {
        p->allocations = calloc(n, sizeof *p->allocations);
        if (!p->allocations)
            return bad(L, "genesis.allocations", "out of memory");
    }
    p->n_allocations = n;
    for (size_t i = 0; i < n; i++) {
        char prefix[FIELD_MAX], field[FIELD_MAX];
        json_t *e = json_array_get(a, i);
        snprintf(prefix, sizeof prefix, "genesis.allocations[%zu]", i);
        if (!json_is_object(e))
            return bad(L, prefix, "expected an object {\"address\", \"amount\"}");
        if (!only_fields(L, e, prefix, fields))
            return 0;
        json_t *addr = member(L, e, prefix, "address", field);
        if (!addr || !key_value(L, addr, field, &p->allocations[i].address) ||
            !get_u64(L, e, prefix, "amount", &p->allocations[i].amount))
            return 0;
    }
    return 1;
}

static int parse_genesis(loader *L, json_t *root)
{
    static const char *const fields[] = {"time", "message", "allocations", NULL};
    bwc_params *p = &L->cs->params;
    char field[FIELD_MAX];
    json_t *g = get_object(L, root, "", "genesis", fields);
    if (!g || !get_u64(L, g, "genesis", "time", &p->genesis_time))
        return 0;
    const char *msg = get_string(L, g, "genesis", "message", BWC_GENESIS_MSG_MAX, field);
    if (!msg)
        return 0;
    memcpy(p->message, msg, strlen(msg) + 1);
    return parse_allocations(L, g);
}

static int parse_pow(loader *L, json_t *root)
{
    static const char *const fields[] = {"initial_target", "target_spacing", "half_life",
                                         "no_retarget", NULL};
    bwc_params *p = &L->cs->params;
    char field[FIELD_MAX];
    json_t *o = get_object(L, root, "", "pow", fields);
    if (!o)
        return 0;
    const char *t = get_string(L, o, "pow", "initial_target", 16, field);
    if (!t)
        return 0;
    if (!parse_hex32(t, &p->pow.initial_target))
        return bad(L, field, "expected a compact target as a hex string such as \"0x1d00ffff\"");
    if (!get_u64(L, o, "pow", "target_spacing", &p->pow.target_spacing) ||
        !get_u64(L, o, "pow", "half_life", &p->pow.half_life))
        return 0;
    json_t *nr = member(L, o, "pow", "no_retarget", field);
    if (!nr)
        return 0;
    if (!json_is_boolean(nr))
        return bad(L, field, "expected true or false");
    p->pow.no_retarget = json_is_true(nr);
    return 1;
}

static int parse_poa(loader *L, json_t *root)
{
    static const char *const fields[] = {"authorities", "slot_seconds", "finality_depth", NULL};
    bwc_params *p = &L->cs->params;
    json_t *o = get_object(L, root, "", "poa", fields);
    if (!o)
        return 0;
    json_t *a = get_array(L, o, "poa", "authorities");
    if (!a)
        return 0;
    size_t n = json_array_size(a);
    if (n > 0) {
        p->poa.authorities = calloc(n, sizeof *p->poa.authorities);
        if (!p->poa.authorities)
            return bad(L, "poa.authorities", "out of memory");
    }
    p->poa.n_authorities = n;
    for (size_t i = 0; i < n; i++) {
        char field[FIELD_MAX];
        snprintf(field, sizeof field, "poa.authorities[%zu]", i);
        if (!key_value(L, json_array_get(a, i), field, &p->poa.authorities[i]))
            return 0;
    }
    return get_u64(L, o, "poa", "slot_seconds", &p->poa.slot_seconds) &&
           get_u64(L, o, "poa", "finality_depth", &p->poa.finality_depth);
}

static int parse_engine(loader *L, json_t *root)
{
    char field[FIELD_MAX];
    const char *e = get_string(L, root, "", "engine", 16, field);
    if (!e)
        return 0;
    if (strcmp(e, "pow") == 0) {
        L->cs->params.engine = BWC_ENGINE_POW;
        if (json_object_get(root, "poa"))
            return bad(L, "poa", "not allowed when engine is \"pow\"");
        return parse_pow(L, root);
    }
    if (strcmp(e, "poa") == 0) {
        L->cs->params.engine = BWC_ENGINE_POA;
        if (json_object_get(root, "pow"))
            return bad(L, "pow", "not allowed when engine is \"poa\"");
        return parse_poa(L, root);
    }
    return bad(L, field, "expected \"pow\" or \"poa\"");
}

static int parse_economics(loader *L, json_t *root)
{
    static const char *const fields[] = {
        "initial_subsidy", "halving_interval",   "min_fee", "receipt_fee",
        "settle_window",   "max_channel_blocks", NULL};
    bwc_params *p = &L->cs->params;
    json_t *o = get_object(L, root, "", "economics", fields);
    return o && get_u64(L, o, "economics", "initial_subsidy", &p->initial_subsidy) &&
           get_u64(L, o, "economics", "halving_interval", &p->halving_interval) &&
           get_u64(L, o, "economics", "min_fee", &p->min_fee) &&
           get_u64(L, o, "economics", "receipt_fee", &p->receipt_fee) &&
           get_u64(L, o, "economics", "settle_window", &p->settle_window) &&
           get_u64(L, o, "economics", "max_channel_blocks", &p->max_channel_blocks);
}

static int parse_limits(loader *L, json_t *root)
{
    static const char *const fields[] = {"max_block_bytes", "max_message_bytes",
                                         "max_future_seconds", NULL};
    bwc_params *p = &L->cs->params;
    json_t *o = get_object(L, root, "", "limits", fields);
    return o && get_u64(L, o, "limits", "max_block_bytes", &p->max_block_bytes) &&
           get_u64(L, o, "limits", "max_message_bytes", &p->max_message_bytes) &&
           get_u64(L, o, "limits", "max_future_seconds", &p->max_future_seconds);
}

/* Where each bwc_params_check reject points in the JSON, with a word for people. */
static const struct {
    const char *reject, *field, *why;
} reject_fields[] = {
    {"bad-params-hrp", "hrp", "expected 1 to 16 lower-case letters or digits"},
    {"bad-params-magic", "magic", "must not be zero"},
    {"bad-params-genesis-time", "genesis.time",
     "must be at most 2^63-1 and, on pow chains, at least pow.target_spacing"},
    {"bad-params-message", "genesis.message", "expected at most 200 bytes of UTF-8"},
    {"bad-params-supply-overflow", "economics.initial_subsidy",
     "allocations plus all block subsidies exceed 2^64-1 units"},
    {"bad-params-initial-target", "pow.initial_target", "not a canonical, positive compact target"},
    {"bad-params-initial-target-too-easy", "pow.initial_target",
     "a retargeting chain (no_retarget false) needs a target below 2^224 (0x1d00ffff at most)"},
    {"bad-params-target-spacing", "pow.target_spacing", "must not be zero"},
    {"bad-params-half-life", "pow.half_life", "must not be zero"},
    {"bad-params-authorities", "poa.authorities", "needs at least one authority"},
    {"bad-params-slot-seconds", "poa.slot_seconds", "must not be zero"},
    {"bad-params-finality-depth", "poa.finality_depth", "must not be zero"},
    {"bad-params-halving-interval", "economics.halving_interval", "must not be zero"},
    {"bad-params-max-channel-blocks", "economics.max_channel_blocks", "must not be zero"},
    {"bad-params-max-block-bytes", "limits.max_block_bytes", "must be at least 16384"},
    {"bad-params-max-message-bytes", "limits.max_message_bytes",
     "must be at least limits.max_block_bytes + 4096 and at most 268435456"},
};

/* Names the element behind an allocation or authority reject (the check only says which
 * rule failed). */
static int report_element(loader *L, const char *reject)
{
    const bwc_params *p = &L->cs->params;
    char field[FIELD_MAX];
    if (strcmp(reject, "bad-params-allocation-amount") == 0) {
        for (size_t i = 0; i < p->n_allocations; i++) {
            if (p->allocations[i].amount == 0) {
                snprintf(field, sizeof field, "genesis.allocations[%zu].amount", i);
                return bad(L, field, "must be at least 1 unit (%s)", reject);
            }
        }
    }
    if (strcmp(reject, "bad-params-allocation-duplicate") == 0) {
        for (size_t j = 1; j < p->n_allocations; j++) {
            for (size_t i = 0; i < j; i++) {
                if (memcmp(p->allocations[i].address.b, p->allocations[j].address.b,
                           BWC_PUBKEY_SIZE) == 0) {
                    snprintf(field, sizeof field, "genesis.allocations[%zu].address", j);
                    return bad(L, field, "same address as genesis.allocations[%zu] (%s)", i,
                               reject);
                }
            }
        }
    }
    if (strcmp(reject, "bad-params-authority-duplicate") == 0) {
        for (size_t j = 1; j < p->poa.n_authorities; j++) {
            for (size_t i = 0; i < j; i++) {
                if (!memcmp(p->poa.authorities[i].b, p->poa.authorities[j].b, BWC_PUBKEY_SIZE)) {
                    snprintf(field, sizeof field, "poa.authorities[%zu]", j);
                    return bad(L, field, "same key as poa.authorities[%zu] (%s)", i, reject);
                }
            }
        }
    }
    for (size_t i = 0; i < sizeof reject_fields / sizeof reject_fields[0]; i++) {
        if (strcmp(reject, reject_fields[i].reject) == 0)
            return bad(L, reject_fields[i].field, "%s (%s)", reject_fields[i].why, reject);
    }
    set_err(L, "chainspec rejected: %s", reject);
    return 0;
}

static int parse_root(loader *L, json_t *root)
{
    static const char *const fields[] = {"name",   "hrp", "magic", "ports",     "seeds",  "genesis",
                                         "engine", "pow", "poa",   "economics", "limits", NULL};
    bwc_chainspec *cs = L->cs;
    char field[FIELD_MAX];
    if (!json_is_object(root)) {
        set_err(L, "chainspec: expected a JSON object at the top level");
        return 0;
    }
    if (!only_fields(L, root, "", fields))
        return 0;

    const char *name = get_string(L, root, "", "name", BWC_CHAINSPEC_NAME_MAX, field);
    if (!name)
        return 0;
    if (!name_ok(name))
        return bad(L, field, "expected 1 to %d characters from [a-z0-9_-]", BWC_CHAINSPEC_NAME_MAX);
    memcpy(cs->name, name, strlen(name) + 1);

    /* The hrp comes first: every address is decoded against it. */
    const char *hrp = get_string(L, root, "", "hrp", BWC_HRP_MAX, field);
    if (!hrp)
        return 0;
    if (!*hrp || strspn(hrp, "abcdefghijklmnopqrstuvwxyz0123456789") != strlen(hrp))
        return bad(L, field, "expected 1 to %d lower-case letters or digits", BWC_HRP_MAX);
    memcpy(cs->params.hrp, hrp, strlen(hrp) + 1);

    json_t *m = member(L, root, "", "magic", field);
    if (!m)
        return 0;
    json_int_t mi = json_is_integer(m) ? json_integer_value(m) : -1;
    if (json_is_integer(m) && mi >= 1 && mi <= 0xffffffffLL)
        cs->params.magic = (uint32_t)mi;
    else if (!json_is_string(m) || !parse_hex32(json_string_value(m), &cs->params.magic) ||
             cs->params.magic == 0)
        return bad(L, field,
                   "expected a non-zero 32-bit value as an integer or a hex string "
                   "such as \"0xdabc0b1d\"");

    if (!parse_ports(L, root) || !parse_seeds(L, root) || !parse_genesis(L, root) ||
        !parse_engine(L, root) || !parse_economics(L, root) || !parse_limits(L, root))
        return 0;

    bwc_result res;
    if (!bwc_params_check(&cs->params, &res))
        return report_element(L, res.reject);
    if (!bwc_chain_id(&cs->params, &cs->chain_id)) {
        set_err(L, "chainspec: cannot compute the chain_id (out of memory)");
        return 0;
    }
    return 1;
}

static int load_json(bwc_chainspec *cs, json_t *root, char *err, size_t errlen)
{
    /* One context per load: loading happens once per process, and it only verifies (so no
     * randomization seed). */
    loader L = {err, errlen, NULL, cs};
    int ok = 0;
    memset(cs, 0, sizeof *cs);
    if (errlen)
        err[0] = '\0';
    L.secp = bwc_secp_create(NULL);
    if (!L.secp)
        set_err(&L, "chainspec: cannot create a secp256k1 context");
    else
        ok = parse_root(&L, root);
    bwc_secp_destroy(L.secp);
    if (!ok)
        bwc_chainspec_free(cs);
    return ok ? 0 : -1;
}

int bwc_chainspec_load_string(bwc_chainspec *cs, const char *s, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_loads(s, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        memset(cs, 0, sizeof *cs);
        if (errlen)
            snprintf(err, errlen, "chainspec: invalid JSON at line %d, column %d: %s", je.line,
                     je.column, je.text);
        return -1;
    }
    int rc = load_json(cs, root, err, errlen);
    json_decref(root);
    return rc;
}

int bwc_chainspec_load_file(bwc_chainspec *cs, const char *path, char *err, size_t errlen)
{
    json_error_t je;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        memset(cs, 0, sizeof *cs);
        if (errlen) {
            if (je.line > 0)
                snprintf(err, errlen, "chainspec %s: invalid JSON at line %d, column %d: %s", path,
                         je.line, je.column, je.text);
            else
                snprintf(err, errlen, "chainspec %s: %s", path, je.text);
        }
        return -1;
    }
    int rc = load_json(cs, root, err, errlen);
    json_decref(root);
    if (rc != 0 && errlen) {
        /* Say which file the field is in. */
        char inner[512];
        snprintf(inner, sizeof inner, "%s", err);
        snprintf(err, errlen, "%s: %s", path, inner);
    }
    return rc;
}

void bwc_chainspec_free(bwc_chainspec *cs)
{
    if (!cs)
        return;
    for (size_t i = 0; i < cs->n_seeds; i++)
        free(cs->seeds[i]);
    free(cs->seeds);
    bwc_params_free(&cs->params);
    memset(cs, 0, sizeof *cs);
}

/* The chainspecs compiled into the binaries (chainspec/builtin.c, generated from the JSON
 * files at build time), so that -chain=NAME works wherever a binary is copied. */
extern const struct bwc_builtin_chainspec {
    const char *name;
    const char *json;
} bwc_builtin_chainspecs[];

const char *bwc_chainspec_builtin(const char *name)
{
    for (size_t i = 0; bwc_builtin_chainspecs[i].name; i++)
        if (strcmp(bwc_builtin_chainspecs[i].name, name) == 0)
            return bwc_builtin_chainspecs[i].json;
    return NULL;
}

int bwc_chainspec_load_named(bwc_chainspec *cs, const char *name, char *err, size_t errlen)
{
    const char *json = bwc_chainspec_builtin(name);
    if (!json) {
        memset(cs, 0, sizeof *cs);
        snprintf(err, errlen, "unknown chain '%s' (built in: main, test, dev, poa-example; "
                 "use -chainspec=FILE for any other)", name);
        return -1;
    }
    return bwc_chainspec_load_string(cs, json, err, errlen);
}
