/* address.h: reading addresses, keys and ids a person typed, with the exact reason for every
 * refusal (wrong chain, bad checksum, bad character, not on the curve). */
#ifndef BWC_WALLET_ADDRESS_H
#define BWC_WALLET_ADDRESS_H

#include <stddef.h>

#include <secp256k1.h>

#include "consensus/types.h"

/* Parses s as an address of the chain whose hrp is hrp, whose key is on the curve. Returns 0
 * with *pk set, or -1 with *pk zeroed and err such as
 *   invalid address 'bwc1...': it is for another chain (prefix 'bwc1'; this chain's addresses
 *   start with 'dbwc1')
 *   invalid address 'dbwc1...': bad checksum (a mistyped or truncated address?) */
int bwc_wallet_parse_address(const secp256k1_context *secp, const char *hrp, const char *s,
                             bwc_pubkey *pk, char *err, size_t errlen);

/* Parses a key given either as an address (as above) or as 64 hex digits; the key must be on
 * the curve. what names the argument in messages ("--ticket-key"). Returns 0 or -1 with err. */
int bwc_wallet_parse_pubkey(const secp256k1_context *secp, const char *hrp, const char *s,
                            const char *what, bwc_pubkey *pk, char *err, size_t errlen);

/* Parses a 32-byte id written as 64 hex digits. Returns 0 or -1 with err naming what. */
int bwc_wallet_parse_hash(const char *s, const char *what, bwc_hash *h, char *err, size_t errlen);

#endif
