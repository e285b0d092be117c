/* p2pmsg.c: encoding and strict decoding of P2P messages over the canonical CBOR layer. */
#include "node/p2pmsg.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "consensus/cbor.h"

static const char *const names[BWC_MSG_COUNT] = {
    "version", "verack",  "ping",    "pong",       "inv",     "getdata", "notfound",
    "tx",      "receipt", "block",   "getheaders", "headers", "getaddr", "addr",
};

const char *bwc_msg_name(bwc_msg_type type)
{
    return (unsigned)type < BWC_MSG_COUNT ? names[type] : "unknown";
}

void bwc_msg_free(bwc_msg *m)
{
    free(m->inv);
    free(m->locator);
    free(m->headers);
    free(m->addrs);
    memset(m, 0, sizeof *m);
}

/* ---- encoding ---- */

static void put_hash(bwc_buf *b, const bwc_hash *h)
{
    bwc_cbor_put_bstr(b, h->b, 32);
}

static void put_invs(bwc_buf *b, const bwc_msg *m)
{
    bwc_cbor_put_array(b, m->n_inv);
    for (size_t i = 0; i < m->n_inv; i++) {
        bwc_cbor_put_array(b, 2);
        bwc_cbor_put_uint(b, m->inv[i].kind);
        put_hash(b, &m->inv[i].id);
    }
}

static int encode_payload(const bwc_msg *m, bwc_buf *b)
{
    switch (m->type) {
    case BWC_MSG_VERSION:
        bwc_cbor_put_array(b, 9);
        bwc_cbor_put_uint(b, m->type);
        bwc_cbor_put_uint(b, m->version);
        put_hash(b, &m->chain_id);
        bwc_cbor_put_uint(b, m->height);
        put_hash(b, &m->best);
        bwc_cbor_put_tstr(b, m->agent, strlen(m->agent));
        bwc_cbor_put_uint(b, m->port);
        bwc_cbor_put_uint(b, m->nonce);
        bwc_cbor_put_uint(b, m->time);
        break;
    case BWC_MSG_VERACK:
    case BWC_MSG_GETADDR:
        bwc_cbor_put_array(b, 1);
        bwc_cbor_put_uint(b, m->type);
        break;
    case BWC_MSG_PING:
    case BWC_MSG_PONG:
        bwc_cbor_put_array(b, 2);
        bwc_cbor_put_uint(b, m->type);
        bwc_cbor_put_uint(b, m->nonce);
        break;
    case BWC_MSG_INV:
    case BWC_MSG_GETDATA:
    case BWC_MSG_NOTFOUND:
        bwc_cbor_put_array(b, 2);
        bwc_cbor_put_uint(b, m->type);
        put_invs(b, m);
        break;
    case BWC_MSG_TX:
    case BWC_MSG_RECEIPT:
    case BWC_MSG_BLOCK:
        bwc_cbor_put_array(b, 2);
        bwc_cbor_put_uint(b, m->type);
        bwc_cbor_put_bstr(b, m->obj, m->obj_len);
        break;
    case BWC_MSG_GETHEADERS:
        bwc_cbor_put_array(b, 3);
        bwc_cbor_put_uint(b, m->type);
        bwc_cbor_put_array(b, m->n_locator);
        for (size_t i = 0; i < m->n_locator; i++)
            put_hash(b, &m->locator[i]);
        put_hash(b, &m->stop);
        break;
    case BWC_MSG_HEADERS: {
        bwc_cbor_put_array(b, 2);
        bwc_cbor_put_uint(b, m->type);
        bwc_cbor_put_array(b, m->n_headers);
        bwc_buf h = BWC_BUF_INIT;
        for (size_t i = 0; i < m->n_headers; i++) {
            bwc_buf_reset(&h);
            if (!bwc_header_encode(&m->headers[i], 0, &h)) {
                bwc_buf_free(&h);
                return 0;
            }
            bwc_cbor_put_bstr(b, h.data, h.len);
        }
        bwc_buf_free(&h);
        break;
    }
    case BWC_MSG_ADDR:
        bwc_cbor_put_array(b, 2);
        bwc_cbor_put_uint(b, m->type);
        bwc_cbor_put_array(b, m->n_addrs);
        for (size_t i = 0; i < m->n_addrs; i++) {
            bwc_cbor_put_array(b, 3);
            bwc_cbor_put_tstr(b, m->addrs[i].host, strlen(m->addrs[i].host));
            bwc_cbor_put_uint(b, m->addrs[i].port);
            bwc_cbor_put_uint(b, m->addrs[i].time);
        }
        break;
    default:
        return 0;
    }
    return !b->oom;
}

int bwc_msg_encode(const bwc_msg *m, uint32_t magic, bwc_buf *out)
{
    size_t start = out->len;
    unsigned char hdr[BWC_FRAME_HEADER] = {0};
    bwc_buf_append(out, hdr, sizeof hdr);
    if (!encode_payload(m, out) || out->oom)
        return 0;
    size_t len = out->len - start - BWC_FRAME_HEADER;
    if (len > UINT32_MAX)
        return 0;
    uint32_t be = htonl(magic), bl = htonl((uint32_t)len);
    memcpy(out->data + start, &be, 4);
    memcpy(out->data + start + 4, &bl, 4);
    return 1;
}

int bwc_frame_header(const unsigned char hdr[BWC_FRAME_HEADER], uint32_t magic,
                     size_t max_payload, size_t *len, bwc_result *res)
{
    uint32_t m, l;
    memcpy(&m, hdr, 4);
    memcpy(&l, hdr + 4, 4);
    if (ntohl(m) != magic)
        return bwc_fail(res, BWC_RESULT_MALFORMED, "bad-magic");
    if (ntohl(l) > max_payload)
        return bwc_fail(res, BWC_RESULT_MALFORMED, "oversize-message");
    *len = ntohl(l);
    return 1;
}

/* ---- decoding ---- */

#define BAD(reason) return bwc_fail(res, BWC_RESULT_MALFORMED, reason)

static int read_hash(bwc_cbor_reader *r, bwc_hash *h)
{
    const unsigned char *d;
    size_t n;
    if (!bwc_cbor_read_bstr(r, &d, &n) || n != 32)
        return 0;
    memcpy(h->b, d, 32);
    return 1;
}

/* Reads an array head of at most max entries, each taking at least min_bytes, so that a
 * declared count cannot make us allocate more than the payload justifies. */
static int read_count(bwc_cbor_reader *r, size_t max, size_t min_bytes, size_t *count)
{
    if (!bwc_cbor_read_array(r, count) || *count > max)
        return 0;
    return *count <= (r->n - r->pos) / min_bytes;
}

static int read_invs(bwc_cbor_reader *r, bwc_msg *m, bwc_result *res)
{
    size_t n;
    if (!read_count(r, BWC_MAX_INV, 36, &n))
        BAD("bad-inv-count");
    m->inv = calloc(n ? n : 1, sizeof *m->inv);
    if (!m->inv)
        return bwc_fail(res, BWC_RESULT_ERROR, "out-of-memory");
    for (size_t i = 0; i < n; i++) {
        size_t two;
        uint64_t kind;
        if (!bwc_cbor_read_array(r, &two) || two != 2 || !bwc_cbor_read_uint(r, &kind) ||
            kind < BWC_INV_TX || kind > BWC_INV_BLOCK || !read_hash(r, &m->inv[i].id))
            BAD("bad-inv");
        m->inv[i].kind = (uint8_t)kind;
    }
    m->n_inv = n;
    return 1;
}

static int valid_ip(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static int decode_body(bwc_msg *m, bwc_cbor_reader *r, size_t fields, bwc_result *res)
{
    const char *s;
    size_t n;
    uint64_t v;
    switch (m->type) {
    case BWC_MSG_VERSION:
        if (fields != 9 || !bwc_cbor_read_uint(r, &m->version) || !read_hash(r, &m->chain_id) ||
            !bwc_cbor_read_uint(r, &m->height) || !read_hash(r, &m->best) ||
            !bwc_cbor_read_tstr(r, &s, &n) || n > BWC_USER_AGENT_MAX ||
            !bwc_cbor_read_uint(r, &v) || v > 65535 || !bwc_cbor_read_uint(r, &m->nonce) ||
            !bwc_cbor_read_uint(r, &m->time))
            BAD("bad-version");
        memcpy(m->agent, s, n);
        m->agent[n] = '\0';
        if (strlen(m->agent) != n)
            BAD("bad-version");
        m->port = (uint16_t)v;
        return 1;
    case BWC_MSG_VERACK:
    case BWC_MSG_GETADDR:
        if (fields != 1)
            BAD("bad-message-fields");
        return 1;
    case BWC_MSG_PING:
    case BWC_MSG_PONG:
        if (fields != 2 || !bwc_cbor_read_uint(r, &m->nonce))
            BAD("bad-ping");
        return 1;
    case BWC_MSG_INV:
    case BWC_MSG_GETDATA:
    case BWC_MSG_NOTFOUND:
        if (fields != 2)
            BAD("bad-message-fields");
        return read_invs(r, m, res);
    case BWC_MSG_TX:
    case BWC_MSG_RECEIPT:
    case BWC_MSG_BLOCK:
        if (fields != 2 || !bwc_cbor_read_bstr(r, &m->obj, &m->obj_len))
            BAD("bad-message-fields");
        return 1;
    case BWC_MSG_GETHEADERS:
        if (fields != 3 || !read_count(r, BWC_MAX_LOCATOR, 33, &n))
            BAD("bad-getheaders");
        m->locator = calloc(n ? n : 1, sizeof *m->locator);
        if (!m->locator)
            return bwc_fail(res, BWC_RESULT_ERROR, "out-of-memory");
        for (size_t i = 0; i < n; i++)
            if (!read_hash(r, &m->locator[i]))
                BAD("bad-getheaders");
        m->n_locator = n;
        if (!read_hash(r, &m->stop))
            BAD("bad-getheaders");
        return 1;
    case BWC_MSG_HEADERS:
        if (fields != 2 || !read_count(r, BWC_MAX_HEADERS, 40, &n))
            BAD("bad-headers");
        m->headers = calloc(n ? n : 1, sizeof *m->headers);
        if (!m->headers)
            return bwc_fail(res, BWC_RESULT_ERROR, "out-of-memory");
        for (size_t i = 0; i < n; i++) {
            const unsigned char *d;
            size_t len;
            bwc_result hr;
            if (!bwc_cbor_read_bstr(r, &d, &len) ||
                !bwc_header_decode(&m->headers[i], d, len, &hr))
                BAD("bad-headers");
        }
        m->n_headers = n;
        return 1;
    case BWC_MSG_ADDR: {
        size_t count;
        if (fields != 2 || !read_count(r, BWC_MAX_ADDR, 5, &count))
            BAD("bad-addr");
        m->addrs = calloc(count ? count : 1, sizeof *m->addrs);
        if (!m->addrs)
            return bwc_fail(res, BWC_RESULT_ERROR, "out-of-memory");
        for (size_t i = 0; i < count; i++) {
            size_t three;
            bwc_netaddr *a = &m->addrs[i];
            if (!bwc_cbor_read_array(r, &three) || three != 3 || !bwc_cbor_read_tstr(r, &s, &n) ||
                n == 0 || n > BWC_HOST_MAX || !bwc_cbor_read_uint(r, &v) || v == 0 ||
                v > 65535 || !bwc_cbor_read_uint(r, &a->time))
                BAD("bad-addr");
            memcpy(a->host, s, n);
            a->host[n] = '\0';
            if (strlen(a->host) != n || !valid_ip(a->host))
                BAD("bad-addr");
            a->port = (uint16_t)v;
        }
        m->n_addrs = count;
        return 1;
    }
    default:
        BAD("unknown-message");
    }
}

int bwc_msg_decode(bwc_msg *m, const unsigned char *p, size_t n, bwc_result *res)
{
    memset(m, 0, sizeof *m);
    bwc_result_ok(res);
    if (!bwc_cbor_check(p, n, res))
        return 0;
    bwc_cbor_reader r;
    size_t fields;
    uint64_t type;
    bwc_cbor_reader_init(&r, p, n);
    if (!bwc_cbor_read_array(&r, &fields) || fields < 1 || !bwc_cbor_read_uint(&r, &type) ||
        type >= BWC_MSG_COUNT) {
        bwc_fail(res, BWC_RESULT_MALFORMED, "unknown-message");
        return 0;
    }
    m->type = (bwc_msg_type)type;
    if (!decode_body(m, &r, fields, res) || r.pos != n) {
        if (res->code == BWC_RESULT_OK)
            bwc_fail(res, BWC_RESULT_MALFORMED, "bad-message-fields");
        bwc_msg_free(m);
        return 0;
    }
    bwc_result_ok(res);
    return 1;
}
