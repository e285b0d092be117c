/* amount.h: what a person types for amounts, byte sizes and heights, parsed strictly. */
#ifndef BWC_WALLET_AMOUNT_H
#define BWC_WALLET_AMOUNT_H

#include <stddef.h>
#include <stdint.h>

/* "18446744073709551615" is 20 digits; with the decimal point and NUL 22 bytes hold any
 * formatted amount. */
#define BWC_AMOUNT_STR_MAX 24

/* Parses an amount as a person writes it:
 *   "1.5", "1", "0.00001"  BWC, at most 8 decimals (1 BWC = 10^8 units);
 *   "150000000u"           base units, an integer followed by a lower-case 'u'.
 * Nothing else: no sign, no exponent, no spaces, no ".5" or "1." halves, no separators.
 * Zero is accepted here; callers that need >= 1 say so. Returns 0 with *out set, or -1 with
 * the reason in err (errlen bytes), e.g. "bad amount '1,5': write BWC as 1.5 (at most 8
 * decimals) or units as 150000000u"; *out is 0 then. */
int bwc_amount_parse(uint64_t *out, const char *s, char *err, size_t errlen);

/* Writes units as BWC with exactly 8 decimals ("1.50000000") to out (BWC_AMOUNT_STR_MAX
 * bytes) and returns out. */
char *bwc_amount_format(char *out, uint64_t units);

/* Parses a byte count: a decimal integer, optionally followed by KiB, MiB, GiB or TiB (powers
 * of 1024). Returns 0, or -1 with err naming the option what ("--quota"). */
int bwc_size_parse(uint64_t *out, const char *s, const char *what, char *err, size_t errlen);

/* Parses a plain decimal integer (no sign, no suffix) into *out. Returns 0, or -1 with err
 * naming what. */
int bwc_uint_parse(uint64_t *out, const char *s, const char *what, char *err, size_t errlen);

/* Parses a block height for an expiry: "H" (absolute) or "+N" (N blocks after tip). Returns 0
 * with *out = the absolute height, or -1 with err (also on overflow). */
int bwc_height_parse(uint64_t *out, const char *s, uint64_t tip, const char *what, char *err,
                     size_t errlen);

#endif
