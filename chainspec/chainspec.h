/* chainspec.h: loading a chain's JSON chainspec (doc/chainspec.md) into bwc_params and ports. */
#ifndef BWC_CHAINSPEC_CHAINSPEC_H
#define BWC_CHAINSPEC_CHAINSPEC_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/params.h"

#define BWC_CHAINSPEC_NAME_MAX 31  /* bytes of a chain name: [a-z0-9_-], used as a directory */
#define BWC_CHAINSPEC_SEED_MAX 255 /* bytes of one "HOST:PORT" seed */

/* A loaded chainspec. Everything it points to is owned by it: release with
 * bwc_chainspec_free. name, ports and seeds are node settings outside G (they do not change
 * chain_id); params is exactly what G binds. */
typedef struct {
    char name[BWC_CHAINSPEC_NAME_MAX + 1];
    bwc_params params;
    bwc_hash chain_id; /* the genesis block id, computed at load */
    uint16_t p2p_port, rpc_port, relay_port;
    char **seeds; /* n_seeds NUL-terminated "HOST:PORT" strings */
    size_t n_seeds;
} bwc_chainspec;

/* Parses the JSON text s (NUL-terminated) into *cs. Every field of doc/chainspec.md is
 * required and no other field is allowed (a misspelt field is an error, never ignored);
 * addresses must be bech32m addresses of the chainspec's own hrp whose key is on the curve;
 * the result must pass bwc_params_check. Returns 0, or -1 with *cs zeroed (nothing to free)
 * and a message naming the offending field written to err (errlen bytes, always
 * NUL-terminated when errlen > 0), e.g.
 *   chainspec field 'economics.min_fee': expected a non-negative integer */
int bwc_chainspec_load_string(bwc_chainspec *cs, const char *s, char *err, size_t errlen);

/* As bwc_chainspec_load_string, reading the file at path; I/O errors are reported in err. */
int bwc_chainspec_load_file(bwc_chainspec *cs, const char *path, char *err, size_t errlen);

/* Returns the JSON text of a built-in chainspec ("main", "test", "dev", "poa-example"), or
 * NULL. The text is static: do not free it. */
const char *bwc_chainspec_builtin(const char *name);

/* Loads a built-in chainspec by name, as bwc_chainspec_load_string. */
int bwc_chainspec_load_named(bwc_chainspec *cs, const char *name, char *err, size_t errlen);

/* Frees what a successful load allocated and zeroes *cs. Safe on a zeroed or freed struct. */
void bwc_chainspec_free(bwc_chainspec *cs);

#endif
