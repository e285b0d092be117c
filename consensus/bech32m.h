/* bech32m.h: BIP350 bech32m strings and bwc's witness-version-free addresses (PROTOCOL.md §1). */
#ifndef BWC_CONSENSUS_BECH32M_H
#define BWC_CONSENSUS_BECH32M_H

#include <stddef.h>

#include "consensus/types.h"

/* Longest bech32m string (BIP173/BIP350), and a buffer that holds any of them with its NUL. */
#define BWC_BECH32M_MAX 90
#define BWC_BECH32M_BUF (BWC_BECH32M_MAX + 1)
/* A buffer that holds any address and its NUL: hrp + "1" + 52 data + 6 checksum characters, an
 * hrp of up to 31 characters, within the 90-character limit. */
#define BWC_ADDRESS_MAX BWC_BECH32M_BUF

/* Writes hrp "1" data checksum and a NUL to out (outcap bytes), in lower case. hrp is 1..83
 * characters in 33..126 with no upper-case letter; each data5[i] is a 5-bit value (< 32); the
 * whole string is at most 90 characters. Returns 1, or 0 (out set to "" when outcap > 0) if
 * any of these fails or out is too small. */
int bwc_bech32m_encode(char *out, size_t outcap, const char *hrp, const unsigned char *data5,
                       size_t n5);

/* Parses a bech32m string under the BIP173 rules with BIP350's checksum constant: at most 90
 * characters, all in 33..126, not mixed case (all upper case is accepted), the separator is the
 * last '1', a non-empty hrp, data characters from the bech32 alphabet and a valid 6-character
 * checksum. On success writes the hrp in lower case with its NUL to hrp_out (hrpcap bytes), the
 * 5-bit data values without the checksum to data5 (at most data5cap) and their count to *n5,
 * and returns 1. Returns 0 when the string is invalid or a buffer is too small; hrp_out is then
 * "" (when hrpcap > 0), data5 zeroed and *n5 = 0. */
int bwc_bech32m_decode(char *hrp_out, size_t hrpcap, unsigned char *data5, size_t *n5,
                       size_t data5cap, const char *str);

/* Regroups inlen values of inbits bits (each < 2^inbits) into values of outbits bits, most
 * significant bit first, appending them to out (outcap values) and counting them in *outlen,
 * which the caller sets (usually to 0) first. inbits and outbits are 1..8. With pad, a last
 * partial group is padded with zero bits; without pad, fewer than inbits leftover bits are
 * allowed only if they are all zero (BIP173 convertbits). Returns 1, or 0 on a bad value or
 * width, on padding that breaks the rule, or when out is too small (out then holds a partial
 * result). */
int bwc_bech32m_convert_bits(unsigned char *out, size_t *outlen, size_t outcap, int outbits,
                             const unsigned char *in, size_t inlen, int inbits, int pad);

/* Writes the address of pk on the chain with this hrp: bech32m of the 32 key bytes regrouped
 * into 52 5-bit values (with 4 zero padding bits), no witness version (PROTOCOL.md §1). out
 * should hold BWC_ADDRESS_MAX bytes. Whether pk is on the curve is not checked here. Returns 1,
 * or 0 (out "") for a bad hrp or a short buffer. */
int bwc_address_encode(char *out, size_t outcap, const char *hrp, const bwc_pubkey *pk);

/* Parses addr as an address of the chain with this hrp: a valid bech32m string (lower case or
 * all upper case) whose hrp equals hrp (compared ignoring ASCII case) and whose data regroup
 * into exactly 32 bytes with zero padding bits. Returns 1, or 0 (pk zeroed) otherwise.
 * The decoder does NOT check that the key is an x coordinate on the curve: that is a state
 * rule (PROTOCOL.md §3.2), checked with bwc_pubkey_valid where the key is used. */
int bwc_address_decode(bwc_pubkey *pk, const char *hrp, const char *addr);

#endif
