/* cbor.h: canonical CBOR (PROTOCOL.md §2): the writer, the strict checker and a reader. */
#ifndef BWC_CONSENSUS_CBOR_H
#define BWC_CONSENSUS_CBOR_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/buf.h"
#include "consensus/result.h"

/* The outermost container is depth 1; anything nested deeper than this is rejected. */
#define BWC_CBOR_MAX_DEPTH 8

/* --- Writer: heads come from libcbor's encoders, which always use the shortest form. --- */
void bwc_cbor_put_uint(bwc_buf *b, uint64_t v);
void bwc_cbor_put_bstr(bwc_buf *b, const void *p, size_t n);
void bwc_cbor_put_tstr(bwc_buf *b, const char *s, size_t n);
void bwc_cbor_put_array(bwc_buf *b, size_t count);
void bwc_cbor_put_map(bwc_buf *b, size_t count);

/* --- Checker. ---
 * Accepts exactly one data item filling all n bytes, made only of unsigned integers, byte
 * strings, UTF-8 text strings, arrays and maps whose keys are unsigned integers in strictly
 * ascending order; definite lengths, shortest forms, depth <= BWC_CBOR_MAX_DEPTH, and every
 * declared length or count checked against the remaining bytes before anything is used.
 * Allocates nothing. Returns 1, or 0 with res->reject one of:
 *   cbor-truncated, cbor-trailing-bytes, cbor-malformed, cbor-indefinite-length, cbor-tag,
 *   cbor-float, cbor-simple-value, cbor-negative-int, cbor-non-shortest, cbor-bad-utf8,
 *   cbor-too-deep, cbor-map-key-type, cbor-map-keys-unsorted, cbor-map-key-duplicate. */
int bwc_cbor_check(const unsigned char *p, size_t n, bwc_result *res);

/* Returns 1 when the n bytes are valid UTF-8 (no overlong forms, surrogates or values above
 * U+10FFFF). */
int bwc_utf8_valid(const unsigned char *p, size_t n);

/* --- Reader over bytes that bwc_cbor_check accepted. ---
 * Each read_* consumes one item of the named type and returns 1, or returns 0 and consumes
 * nothing when the next item has another type or the input ends. Pointers returned point
 * into the reader's input (no copies). */
typedef struct {
    const unsigned char *p;
    size_t n;
    size_t pos;
} bwc_cbor_reader;

void bwc_cbor_reader_init(bwc_cbor_reader *r, const unsigned char *p, size_t n);
int bwc_cbor_read_uint(bwc_cbor_reader *r, uint64_t *v);
int bwc_cbor_read_bstr(bwc_cbor_reader *r, const unsigned char **data, size_t *len);
int bwc_cbor_read_tstr(bwc_cbor_reader *r, const char **data, size_t *len);
int bwc_cbor_read_array(bwc_cbor_reader *r, size_t *count);
int bwc_cbor_read_map(bwc_cbor_reader *r, size_t *count);
/* Skips one whole item, nested items included. */
int bwc_cbor_skip(bwc_cbor_reader *r);

#endif
