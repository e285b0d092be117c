/* base64url.h: base64url (RFC 4648 §5) without padding, as receipts and tickets travel in HTTP
 * headers (PROTOCOL.md §8); shared by the relay and the wallet. */
#ifndef BWC_COMMON_BASE64URL_H
#define BWC_COMMON_BASE64URL_H

#include <stddef.h>

/* Base64url (RFC 4648 §5) without padding, as receipts and tickets travel in headers.
 * Encode: writes the text and a NUL to out (outlen >= bwc_b64url_len(n) + 1); returns the
 * length, or 0 when out is too small. */
size_t bwc_b64url_len(size_t n);
size_t bwc_b64url_encode(char *out, size_t outlen, const void *data, size_t n);

/* Decodes strictly: only the url alphabet, no padding, no whitespace, a length that is not 1
 * mod 4, and zero bits in the unused low bits of the last character (so each byte string has
 * exactly one encoding). Returns the number of bytes written, or -1 on bad input or when the
 * result would exceed outlen. */
long bwc_b64url_decode(unsigned char *out, size_t outlen, const char *s);

#endif
