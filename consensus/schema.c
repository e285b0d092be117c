/* schema.c: the one table-driven map encoder and decoder behind every consensus object. */
#include "consensus/schema.h"

#include "consensus/objects_internal.h"

#include <string.h>

#define AT(obj, off) ((unsigned char *)(obj) + (off))
#define AT_CONST(obj, off) ((const unsigned char *)(obj) + (off))

static const bwc_field *find_field(const bwc_schema *s, uint64_t key)
{
    for (size_t i = 0; i < s->n_fields; i++)
        if (s->fields[i].key == key)
            return &s->fields[i];
    return NULL;
}

/* Marks an optional field present. For BYTES and TEXT, aux_off is the size_t length (already
 * written by decode_field), not an int flag: writing 1 there would truncate the length. */
static void set_flag(const bwc_field *f, void *obj)
{
    if (f->optional && f->aux_off && f->kind != BWC_F_BYTES && f->kind != BWC_F_TEXT)
        *(int *)AT(obj, f->aux_off) = 1;
}

static int decode_field(bwc_cbor_reader *r, const bwc_schema *s, const bwc_field *f, void *obj,
                        bwc_result *res)
{
    uint64_t v;
    const unsigned char *d;
    const char *t;
    size_t n;

    switch (f->kind) {
    case BWC_F_UINT:
        if (!bwc_cbor_read_uint(r, &v))
            return bwc_fail(res, BWC_RESULT_MALFORMED, s->rej_type);
        memcpy(AT(obj, f->off), &v, sizeof v);
        break;
    case BWC_F_U32: {
        if (!bwc_cbor_read_uint(r, &v) || v > UINT32_MAX)
            return bwc_fail(res, BWC_RESULT_MALFORMED, s->rej_type);
        uint32_t v32 = (uint32_t)v;
        memcpy(AT(obj, f->off), &v32, sizeof v32);
        break;
    }
    case BWC_F_HASH:
    case BWC_F_SIG: {
        size_t want = f->kind == BWC_F_HASH ? 32 : 64;
        if (!bwc_cbor_read_bstr(r, &d, &n) || n != want)
            return bwc_fail(res, BWC_RESULT_MALFORMED, s->rej_type);
        memcpy(AT(obj, f->off), d, n);
        break;
    }
    case BWC_F_BYTES:
        if (!bwc_cbor_read_bstr(r, &d, &n))
            return bwc_fail(res, BWC_RESULT_MALFORMED, s->rej_type);
        if (n == 0 || n > f->max) /* §1: an optional field is omitted, never present and empty */
            return bwc_fail(res, BWC_RESULT_MALFORMED, s->rej_length);
        memcpy(AT(obj, f->off), d, n);
        memcpy(AT(obj, f->aux_off), &n, sizeof n);
        break;
    case BWC_F_TEXT:
        if (!bwc_cbor_read_tstr(r, &t, &n))
            return bwc_fail(res, BWC_RESULT_MALFORMED, s->rej_type);
        /* An embedded NUL is valid UTF-8 but would truncate the C string every consumer of
         * these fields uses; bwc refuses it (doc/protocol.md). */
        if (n == 0 || n > f->max || memchr(t, 0, n))
            return bwc_fail(res, BWC_RESULT_MALFORMED, s->rej_length);
        memcpy(AT(obj, f->off), t, n);
        AT(obj, f->off)[n] = '\0';
        memcpy(AT(obj, f->aux_off), &n, sizeof n);
        break;
    case BWC_F_CUSTOM:
        return f->decode(r, obj, res);
    }
    set_flag(f, obj);
    return 1;
}

int bwc_schema_decode(bwc_cbor_reader *r, const bwc_schema *s, void *obj, uint32_t *seen,
                      bwc_result *res)
{
    size_t n;
    uint32_t mask = 0;
    if (seen)
        *seen = 0;
    if (!bwc_cbor_read_map(r, &n))
        return bwc_fail(res, BWC_RESULT_MALFORMED, s->rej_type);
    for (size_t i = 0; i < n; i++) {
        uint64_t key;
        if (!bwc_cbor_read_uint(r, &key))
            return bwc_fail(res, BWC_RESULT_MALFORMED, "cbor-map-key-type");
        const bwc_field *f = find_field(s, key);
        if (!f)
            return bwc_fail(res, BWC_RESULT_MALFORMED, s->rej_unknown);
        if (!decode_field(r, s, f, obj, res))
            return 0;
        mask |= BWC_KEY_BIT(f->key);
    }
    for (size_t i = 0; i < s->n_fields; i++)
        if (!s->fields[i].optional && !(mask & BWC_KEY_BIT(s->fields[i].key)))
            return bwc_fail(res, BWC_RESULT_MALFORMED, s->rej_missing);
    if (seen)
        *seen = mask;
    return 1;
}

static size_t length_at(const void *obj, const bwc_field *f)
{
    size_t n;
    memcpy(&n, AT_CONST(obj, f->aux_off), sizeof n);
    return n;
}

static int is_present(const bwc_field *f, const void *obj)
{
    if (f->kind == BWC_F_BYTES || f->kind == BWC_F_TEXT)
        return length_at(obj, f) > 0 || !f->optional;
    if (f->optional && f->aux_off)
        return *(const int *)AT_CONST(obj, f->aux_off) != 0;
    return 1;
}

int bwc_schema_encode(bwc_buf *out, const bwc_schema *s, const void *obj, uint32_t omit)
{
    size_t count = 0;
    for (size_t i = 0; i < s->n_fields; i++)
        if (!(omit & BWC_KEY_BIT(s->fields[i].key)) && is_present(&s->fields[i], obj))
            count++;
    bwc_cbor_put_map(out, count);
    for (size_t i = 0; i < s->n_fields; i++) {
        const bwc_field *f = &s->fields[i];
        uint64_t v;
        uint32_t v32;
        if ((omit & BWC_KEY_BIT(f->key)) || !is_present(f, obj))
            continue;
        bwc_cbor_put_uint(out, f->key);
        switch (f->kind) {
        case BWC_F_UINT:
            memcpy(&v, AT_CONST(obj, f->off), sizeof v);
            bwc_cbor_put_uint(out, v);
            break;
        case BWC_F_U32:
            memcpy(&v32, AT_CONST(obj, f->off), sizeof v32);
            bwc_cbor_put_uint(out, v32);
            break;
        case BWC_F_HASH:
            bwc_cbor_put_bstr(out, AT_CONST(obj, f->off), 32);
            break;
        case BWC_F_SIG:
            bwc_cbor_put_bstr(out, AT_CONST(obj, f->off), 64);
            break;
        case BWC_F_BYTES:
            bwc_cbor_put_bstr(out, AT_CONST(obj, f->off), length_at(obj, f));
            break;
        case BWC_F_TEXT:
            bwc_cbor_put_tstr(out, (const char *)AT_CONST(obj, f->off), length_at(obj, f));
            break;
        case BWC_F_CUSTOM:
            if (!f->encode(obj, out))
                return 0;
            break;
        }
    }
    return !out->oom;
}

int bwc_decode_whole(const unsigned char *p, size_t n, size_t max, const char *rej_oversize,
                     bwc_read_fn read, void *obj, size_t obj_size, bwc_result *res)
{
    bwc_cbor_reader r;
    memset(obj, 0, obj_size);
    /* The byte limit comes first: nothing of an oversize input is even parsed (§2). */
    if (n > max)
        return bwc_fail(res, BWC_RESULT_MALFORMED, rej_oversize);
    if (!bwc_cbor_check(p, n, res))
        return 0;
    bwc_cbor_reader_init(&r, p, n);
    if (!read(&r, obj, res))
        return 0;
    if (r.pos != n) /* unreachable after bwc_cbor_check accepted one item, kept as a guard */
        return bwc_fail(res, BWC_RESULT_MALFORMED, "cbor-trailing-bytes");
    bwc_result_ok(res);
    return 1;
}
