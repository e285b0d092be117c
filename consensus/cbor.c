/* cbor.c: canonical CBOR on top of libcbor's encoders and its non-allocating streaming decoder.
 *
 * libcbor's stream decoder reads one item head per call and reports string payloads by
 * pointer, so nothing is allocated however large a declared length is; a declared length
 * beyond the input comes back as CBOR_DECODER_NEDATA. libcbor accepts tags, floats and
 * invalid UTF-8, so the checks for those are ours. */
#include "consensus/cbor.h"

#include <cbor.h>

/* What one item head turned out to be. */
typedef enum {
    ITEM_NONE = 0,
    ITEM_UINT,
    ITEM_NEGINT,
    ITEM_BSTR,
    ITEM_TSTR,
    ITEM_ARRAY,
    ITEM_MAP,
    ITEM_TAG,
    ITEM_FLOAT,
    ITEM_SIMPLE,
    ITEM_INDEF,
} item_kind;

typedef struct {
    item_kind kind;
    uint64_t value;            /* integer value, or length/count for strings and containers */
    const unsigned char *data; /* string payload */
    size_t size;               /* bytes the item's head (and string payload) take */
} item;

/* Returns the length of the shortest head that encodes v. */
static size_t head_len(uint64_t v)
{
    if (v < 24)
        return 1;
    if (v <= 0xff)
        return 2;
    if (v <= 0xffff)
        return 3;
    if (v <= 0xffffffffULL)
        return 5;
    return 9;
}

static void on_u8(void *c, uint8_t v) { ((item *)c)->kind = ITEM_UINT, ((item *)c)->value = v; }
static void on_u16(void *c, uint16_t v) { ((item *)c)->kind = ITEM_UINT, ((item *)c)->value = v; }
static void on_u32(void *c, uint32_t v) { ((item *)c)->kind = ITEM_UINT, ((item *)c)->value = v; }
static void on_u64(void *c, uint64_t v) { ((item *)c)->kind = ITEM_UINT, ((item *)c)->value = v; }
static void on_n8(void *c, uint8_t v) { (void)v, ((item *)c)->kind = ITEM_NEGINT; }
static void on_n16(void *c, uint16_t v) { (void)v, ((item *)c)->kind = ITEM_NEGINT; }
static void on_n32(void *c, uint32_t v) { (void)v, ((item *)c)->kind = ITEM_NEGINT; }
static void on_n64(void *c, uint64_t v) { (void)v, ((item *)c)->kind = ITEM_NEGINT; }
static void on_bstr(void *c, cbor_data d, size_t n)
{
    item *it = c;
    it->kind = ITEM_BSTR, it->data = d, it->value = n;
}
static void on_tstr(void *c, cbor_data d, size_t n)
{
    item *it = c;
    it->kind = ITEM_TSTR, it->data = d, it->value = n;
}
static void on_array(void *c, size_t n) { ((item *)c)->kind = ITEM_ARRAY, ((item *)c)->value = n; }
static void on_map(void *c, size_t n) { ((item *)c)->kind = ITEM_MAP, ((item *)c)->value = n; }
static void on_indef(void *c) { ((item *)c)->kind = ITEM_INDEF; }
static void on_tag(void *c, uint64_t v) { (void)v, ((item *)c)->kind = ITEM_TAG; }
static void on_f4(void *c, float v) { (void)v, ((item *)c)->kind = ITEM_FLOAT; }
static void on_f8(void *c, double v) { (void)v, ((item *)c)->kind = ITEM_FLOAT; }
static void on_simple(void *c) { ((item *)c)->kind = ITEM_SIMPLE; }
static void on_bool(void *c, bool v) { (void)v, ((item *)c)->kind = ITEM_SIMPLE; }

static const struct cbor_callbacks callbacks = {
    .uint8 = on_u8,
    .uint16 = on_u16,
    .uint32 = on_u32,
    .uint64 = on_u64,
    .negint8 = on_n8,
    .negint16 = on_n16,
    .negint32 = on_n32,
    .negint64 = on_n64,
    .byte_string_start = on_indef,
    .byte_string = on_bstr,
    .string = on_tstr,
    .string_start = on_indef,
    .indef_array_start = on_indef,
    .array_start = on_array,
    .indef_map_start = on_indef,
    .map_start = on_map,
    .tag = on_tag,
    .float2 = on_f4,
    .float4 = on_f4,
    .float8 = on_f8,
    .undefined = on_simple,
    .null = on_simple,
    .boolean = on_bool,
    .indef_break = on_indef,
};

/* Decodes the head at p[0..n). Returns 1 with *it filled, or 0 with res set. Only the
 * structural faults are judged here (truncation, malformed heads, non-shortest heads);
 * whether the kind is allowed is the caller's business. */
static int next_item(const unsigned char *p, size_t n, item *it, bwc_result *res)
{
    *it = (item){0};
    if (n == 0)
        return bwc_fail(res, BWC_RESULT_MALFORMED, "cbor-truncated");
    struct cbor_decoder_result d = cbor_stream_decode(p, n, &callbacks, it);
    if (d.status == CBOR_DECODER_NEDATA)
        return bwc_fail(res, BWC_RESULT_MALFORMED, "cbor-truncated");
    if (d.status != CBOR_DECODER_FINISHED || d.read == 0)
        return bwc_fail(res, BWC_RESULT_MALFORMED, "cbor-malformed");
    if (it->kind == ITEM_NONE) /* simple values other than false/true/null/undefined */
        it->kind = ITEM_SIMPLE;
    it->size = d.read;
    switch (it->kind) {
    case ITEM_UINT:
    case ITEM_ARRAY:
    case ITEM_MAP:
        if (d.read != head_len(it->value))
            return bwc_fail(res, BWC_RESULT_MALFORMED, "cbor-non-shortest");
        break;
    case ITEM_BSTR:
    case ITEM_TSTR:
        if (d.read - it->value != head_len(it->value))
            return bwc_fail(res, BWC_RESULT_MALFORMED, "cbor-non-shortest");
        break;
    default:
        break;
    }
    return 1;
}

int bwc_utf8_valid(const unsigned char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = p[i];
        size_t len;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            len = 2, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (len > n - i)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (p[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += len;
    }
    return 1;
}

int bwc_cbor_check(const unsigned char *p, size_t n, bwc_result *res)
{
    /* One frame per open container: items still to come, and for maps the last key seen. */
    struct {
        uint64_t left;
        int is_map;
        int has_key;
        uint64_t last_key;
    } st[BWC_CBOR_MAX_DEPTH];
    int depth = 0;
    size_t pos = 0;

    do {
        item it;
        if (!next_item(p + pos, n - pos, &it, res))
            return 0;
        int is_key = depth > 0 && st[depth - 1].is_map && st[depth - 1].left % 2 == 0;
        switch (it.kind) {
        case ITEM_INDEF:
            return bwc_fail(res, BWC_RESULT_MALFORMED, "cbor-indefinite-length");
        case ITEM_TAG:
            return bwc_fail(res, BWC_RESULT_MALFORMED, "cbor-tag");
        case ITEM_FLOAT:
            return bwc_fail(res, BWC_RESULT_MALFORMED, "cbor-float");
        case ITEM_SIMPLE:
            return bwc_fail(res, BWC_RESULT_MALFORMED, "cbor-simple-value");
        case ITEM_NEGINT:
            return bwc_fail(res, BWC_RESULT_MALFORMED, "cbor-negative-int");
        default:
            break;
        }
        if (is_key) {
            if (it.kind != ITEM_UINT)
                return bwc_fail(res, BWC_RESULT_MALFORMED, "cbor-map-key-type");
            if (st[depth - 1].has_key) {
                if (it.value == st[depth - 1].last_key)
                    return bwc_fail(res, BWC_RESULT_MALFORMED, "cbor-map-key-duplicate");
                if (it.value < st[depth - 1].last_key)
                    return bwc_fail(res, BWC_RESULT_MALFORMED, "cbor-map-keys-unsorted");
            }
            st[depth - 1].has_key = 1;
            st[depth - 1].last_key = it.value;
        }
        if (it.kind == ITEM_TSTR && !bwc_utf8_valid(it.data, (size_t)it.value))
            return bwc_fail(res, BWC_RESULT_MALFORMED, "cbor-bad-utf8");
        pos += it.size;
        if (depth > 0)
            st[depth - 1].left--;
        if (it.kind == ITEM_ARRAY || it.kind == ITEM_MAP) {
            /* Every element takes at least one byte: a count beyond the remaining bytes is a
             * lie, refused before any caller sizes an allocation by it. */
            uint64_t remaining = n - pos;
            uint64_t items = it.value;
            if (it.kind == ITEM_MAP) {
                if (items > remaining / 2)
                    return bwc_fail(res, BWC_RESULT_MALFORMED, "cbor-truncated");
                items *= 2;
            } else if (items > remaining) {
                return bwc_fail(res, BWC_RESULT_MALFORMED, "cbor-truncated");
            }
            if (depth == BWC_CBOR_MAX_DEPTH)
                return bwc_fail(res, BWC_RESULT_MALFORMED, "cbor-too-deep");
            st[depth].left = items;
            st[depth].is_map = it.kind == ITEM_MAP;
            st[depth].has_key = 0;
            st[depth].last_key = 0;
            depth++;
        }
        while (depth > 0 && st[depth - 1].left == 0)
            depth--;
    } while (depth > 0);

    if (pos != n)
        return bwc_fail(res, BWC_RESULT_MALFORMED, "cbor-trailing-bytes");
    bwc_result_ok(res);
    return 1;
}

/* --- writer --- */

typedef size_t (*head_encoder)(size_t, unsigned char *, size_t);

static void put_head(bwc_buf *b, head_encoder enc, uint64_t v)
{
    unsigned char head[9];
    size_t n = enc((size_t)v, head, sizeof head);
    bwc_buf_append(b, head, n);
}

void bwc_cbor_put_uint(bwc_buf *b, uint64_t v)
{
    unsigned char head[9];
    size_t n = cbor_encode_uint(v, head, sizeof head);
    bwc_buf_append(b, head, n);
}

void bwc_cbor_put_bstr(bwc_buf *b, const void *p, size_t n)
{
    put_head(b, cbor_encode_bytestring_start, n);
    bwc_buf_append(b, p, n);
}

void bwc_cbor_put_tstr(bwc_buf *b, const char *s, size_t n)
{
    put_head(b, cbor_encode_string_start, n);
    bwc_buf_append(b, s, n);
}

void bwc_cbor_put_array(bwc_buf *b, size_t count)
{
    put_head(b, cbor_encode_array_start, count);
}

void bwc_cbor_put_map(bwc_buf *b, size_t count)
{
    put_head(b, cbor_encode_map_start, count);
}

/* --- reader --- */

void bwc_cbor_reader_init(bwc_cbor_reader *r, const unsigned char *p, size_t n)
{
    r->p = p;
    r->n = n;
    r->pos = 0;
}

/* Peeks at the next item; returns 1 when it has the wanted kind. */
static int peek(const bwc_cbor_reader *r, item_kind want, item *it)
{
    bwc_result res;
    if (r->pos >= r->n || !next_item(r->p + r->pos, r->n - r->pos, it, &res))
        return 0;
    return it->kind == want;
}

int bwc_cbor_read_uint(bwc_cbor_reader *r, uint64_t *v)
{
    item it;
    if (!peek(r, ITEM_UINT, &it))
        return 0;
    *v = it.value;
    r->pos += it.size;
    return 1;
}

int bwc_cbor_read_bstr(bwc_cbor_reader *r, const unsigned char **data, size_t *len)
{
    item it;
    if (!peek(r, ITEM_BSTR, &it))
        return 0;
    *data = it.data;
    *len = (size_t)it.value;
    r->pos += it.size;
    return 1;
}

int bwc_cbor_read_tstr(bwc_cbor_reader *r, const char **data, size_t *len)
{
    item it;
    if (!peek(r, ITEM_TSTR, &it))
        return 0;
    *data = (const char *)it.data;
    *len = (size_t)it.value;
    r->pos += it.size;
    return 1;
}

static int read_container(bwc_cbor_reader *r, item_kind kind, size_t *count)
{
    item it;
    if (!peek(r, kind, &it))
        return 0;
    *count = (size_t)it.value;
    r->pos += it.size;
    return 1;
}

int bwc_cbor_read_array(bwc_cbor_reader *r, size_t *count)
{
    return read_container(r, ITEM_ARRAY, count);
}

int bwc_cbor_read_map(bwc_cbor_reader *r, size_t *count)
{
    return read_container(r, ITEM_MAP, count);
}

int bwc_cbor_skip(bwc_cbor_reader *r)
{
    uint64_t pending = 1; /* items still to skip; bounded by the checked input's length */
    while (pending > 0) {
        item it;
        bwc_result res;
        if (r->pos >= r->n || !next_item(r->p + r->pos, r->n - r->pos, &it, &res))
            return 0;
        r->pos += it.size;
        pending--;
        if (it.kind == ITEM_ARRAY)
            pending += it.value;
        else if (it.kind == ITEM_MAP)
            pending += 2 * it.value;
        else if (it.kind != ITEM_UINT && it.kind != ITEM_BSTR && it.kind != ITEM_TSTR)
            return 0;
    }
    return 1;
}
