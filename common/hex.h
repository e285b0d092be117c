/* hex.h: lower-case hex encoding and strict decoding. */
#ifndef BWC_COMMON_HEX_H
#define BWC_COMMON_HEX_H

#include <stddef.h>

/* Writes 2n lower-case hex digits and a NUL to out, which holds at least 2n+1 bytes. */
void bwc_hex_encode(char *out, const void *data, size_t n);

/* Decodes exactly outlen bytes from a string of exactly 2*outlen hex digits (either case).
 * Returns 1, or 0 (out zeroed) on a wrong length or a non-hex character. */
int bwc_hex_decode(void *out, size_t outlen, const char *hex);

/* Decodes a hex string of any even length into a new buffer (*out, freed by the caller with
 * free()). Returns 1, or 0 with *out NULL on bad input or no memory. */
int bwc_hex_decode_alloc(unsigned char **out, size_t *outlen, const char *hex);

#endif
