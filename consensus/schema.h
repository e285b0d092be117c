/* schema.h: table-driven encoding and decoding of the integer-keyed CBOR maps of §3.
 *
 * Each consensus object describes its map as a table of fields (key, kind, where the value
 * lives in the C struct); one encoder and one decoder walk those tables, so the rules of §2
 * (unknown keys, missing keys, wrong types, empty optional fields) are written once. */
#ifndef BWC_CONSENSUS_SCHEMA_H
#define BWC_CONSENSUS_SCHEMA_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/buf.h"
#include "consensus/cbor.h"
#include "consensus/result.h"

typedef enum {
    BWC_F_UINT,   /* uint64_t */
    BWC_F_U32,    /* a uint that must fit 32 bits, stored as uint32_t */
    BWC_F_HASH,   /* bstr of exactly 32 bytes into a 32-byte struct (bwc_hash, bwc_pubkey) */
    BWC_F_SIG,    /* bstr of exactly 64 bytes into a bwc_sig */
    BWC_F_BYTES,  /* bstr of 1..max bytes into unsigned char[max]; length in a size_t */
    BWC_F_TEXT,   /* tstr of 1..max bytes, no NUL, into char[max + 1] NUL-terminated; length in
                     a size_t */
    BWC_F_CUSTOM, /* decoded and encoded by the field's callbacks */
} bwc_field_kind;

typedef struct {
    unsigned key; /* < 32; tables list fields in ascending key order */
    bwc_field_kind kind;
    int optional;
    size_t off;     /* offset of the value in the object */
    size_t max;     /* BYTES, TEXT: longest allowed */
    size_t aux_off; /* BYTES, TEXT: offset of the size_t length (0 = absent);
                       optional UINT/U32/HASH/SIG: offset of an int presence flag */
    /* CUSTOM: read the value at r into obj; write it to out. */
    int (*decode)(bwc_cbor_reader *r, void *obj, bwc_result *res);
    int (*encode)(const void *obj, bwc_buf *out);
} bwc_field;

typedef struct {
    const bwc_field *fields;
    size_t n_fields;
    const char *rej_type;    /* a field of the wrong CBOR type or fixed length, or not a map */
    const char *rej_length;  /* a BYTES/TEXT field empty, too long, or TEXT with a NUL */
    const char *rej_unknown; /* a key the table does not name */
    const char *rej_missing; /* a required key absent */
} bwc_schema;

/* Reads one map described by s into obj (which the caller zeroed). *seen gets a bit per key
 * present (may be NULL). Returns 1, or 0 with res set (BWC_RESULT_MALFORMED). */
int bwc_schema_decode(bwc_cbor_reader *r, const bwc_schema *s, void *obj, uint32_t *seen,
                      bwc_result *res);

/* Appends the map of obj, leaving out absent optional fields and every key whose bit is set in
 * omit (e.g. the signature when hashing). Returns 1, or 0 on allocation failure. */
int bwc_schema_encode(bwc_buf *out, const bwc_schema *s, const void *obj, uint32_t omit);

#define BWC_KEY_BIT(k) (1u << (k))

#endif
