/* tx.c: the transaction map and its six bodies, the strict decoder and the txid (§3.1, §3.2). */
#include "consensus/tx.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <string.h>

#include "consensus/hash.h"
#include "consensus/objects_internal.h"
#include "consensus/schema.h"

#define T(field) offsetof(bwc_tx, field)
#define TR(field) offsetof(bwc_tx, body.transfer.field)
#define CO(field) offsetof(bwc_tx, body.channel_open.field)
#define CR(field) offsetof(bwc_tx, body.content_register.field)
#define RA(field) offsetof(bwc_tx, body.relay_announce.field)
#define SP(field) offsetof(bwc_tx, body.sponsor.field)

static const bwc_field transfer_fields[] = {
    {0, BWC_F_HASH, 0, TR(to), 0, 0, NULL, NULL},
    {1, BWC_F_UINT, 0, TR(amount), 0, 0, NULL, NULL},
    {2, BWC_F_BYTES, 1, TR(memo), BWC_MEMO_MAX, TR(memo_len), NULL, NULL},
};
static const bwc_field channel_open_fields[] = {
    {0, BWC_F_HASH, 0, CO(relay), 0, 0, NULL, NULL},
    {1, BWC_F_UINT, 0, CO(deposit), 0, 0, NULL, NULL},
    {2, BWC_F_UINT, 0, CO(price), 0, 0, NULL, NULL},
    {3, BWC_F_UINT, 0, CO(expiry), 0, 0, NULL, NULL},
};
static const bwc_field content_register_fields[] = {
    {0, BWC_F_HASH, 0, CR(content_id), 0, 0, NULL, NULL},
    {1, BWC_F_UINT, 0, CR(size), 0, 0, NULL, NULL},
    {2, BWC_F_UINT, 0, CR(chunk_size), 0, 0, NULL, NULL},
    {3, BWC_F_TEXT, 1, CR(name), BWC_NAME_MAX, CR(name_len), NULL, NULL},
    {4, BWC_F_TEXT, 1, CR(origin), BWC_ENDPOINT_MAX, CR(origin_len), NULL, NULL},
    {5, BWC_F_TEXT, 1, CR(mime), BWC_MIME_MAX, CR(mime_len), NULL, NULL},
};
static const bwc_field relay_announce_fields[] = {
    {0, BWC_F_TEXT, 0, RA(endpoint), BWC_ENDPOINT_MAX, RA(endpoint_len), NULL, NULL},
    {1, BWC_F_TEXT, 0, RA(region), BWC_REGION_LEN, RA(region_len), NULL, NULL},
    {2, BWC_F_UINT, 0, RA(price), 0, 0, NULL, NULL},
    {3, BWC_F_UINT, 0, RA(rate), 0, 0, NULL, NULL},
    {4, BWC_F_UINT, 0, RA(quota), 0, 0, NULL, NULL},
    {5, BWC_F_UINT, 0, RA(burst_quota), 0, 0, NULL, NULL},
    {6, BWC_F_UINT, 0, RA(burst_hours), 0, 0, NULL, NULL},
};
static const bwc_field sponsor_fields[] = {
    {0, BWC_F_HASH, 0, SP(content_id), 0, 0, NULL, NULL},
    {1, BWC_F_UINT, 0, SP(amount), 0, 0, NULL, NULL},
    {2, BWC_F_UINT, 0, SP(price), 0, 0, NULL, NULL},
    {3, BWC_F_UINT, 0, SP(per_consumer_cap), 0, 0, NULL, NULL},
    {4, BWC_F_UINT, 0, SP(expiry), 0, 0, NULL, NULL},
    {5, BWC_F_HASH, 1, SP(ticket_key), 0, SP(has_ticket_key), NULL, NULL},
};

#define BODY_SCHEMA(fields, n)                                                                     \
    {                                                                                              \
        fields, n, "bad-tx-body-field", "bad-tx-body-field-length", "bad-tx-body-unknown-key",     \
            "bad-tx-body-missing-field"                                                            \
    }
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Indexed by type; relay_retire's body is the empty map. */
static const bwc_schema body_schemas[] = {
    BODY_SCHEMA(NULL, 0),
    BODY_SCHEMA(transfer_fields, COUNT(transfer_fields)),
    BODY_SCHEMA(channel_open_fields, COUNT(channel_open_fields)),
    BODY_SCHEMA(content_register_fields, COUNT(content_register_fields)),
    BODY_SCHEMA(relay_announce_fields, COUNT(relay_announce_fields)),
    BODY_SCHEMA(NULL, 0),
    BODY_SCHEMA(sponsor_fields, COUNT(sponsor_fields)),
};

static const char *const type_names[] = {
    NULL, "transfer", "channel_open", "content_register", "relay_announce", "relay_retire",
    "sponsor",
};

uint64_t bwc_tx_spend(const bwc_tx *tx)
{
    switch (tx->type) {
    case BWC_TX_TRANSFER:
        return tx->body.transfer.amount;
    case BWC_TX_CHANNEL_OPEN:
        return tx->body.channel_open.deposit;
    case BWC_TX_SPONSOR:
        return tx->body.sponsor.amount;
    default:
        return 0;
    }
}

const char *bwc_tx_type_name(uint64_t type)
{
    return type >= 1 && type < COUNT(type_names) ? type_names[type] : NULL;
}

static int body_decode(bwc_cbor_reader *r, void *obj, bwc_result *res)
{
    bwc_tx *tx = obj;
    /* Key 0 (type) precedes key 4 in canonical order, so the type is known here. */
    if (!bwc_tx_type_name(tx->type))
        return bwc_fail(res, BWC_RESULT_MALFORMED, "bad-tx-type");
    return bwc_schema_decode(r, &body_schemas[tx->type], tx, NULL, res);
}

static int body_encode(const void *obj, bwc_buf *out)
{
    const bwc_tx *tx = obj;
    if (!bwc_tx_type_name(tx->type)) /* encoding an unknown type is a caller bug: empty body */
        return bwc_schema_encode(out, &body_schemas[0], tx, 0);
    return bwc_schema_encode(out, &body_schemas[tx->type], tx, 0);
}

static const bwc_field tx_fields[] = {
    {0, BWC_F_UINT, 0, T(type), 0, 0, NULL, NULL},
    {1, BWC_F_HASH, 0, T(from), 0, 0, NULL, NULL},
    {2, BWC_F_UINT, 0, T(nonce), 0, 0, NULL, NULL},
    {3, BWC_F_UINT, 0, T(fee), 0, 0, NULL, NULL},
    {4, BWC_F_CUSTOM, 0, 0, 0, 0, body_decode, body_encode},
    {15, BWC_F_SIG, 0, T(sig), 0, 0, NULL, NULL},
};

static const bwc_schema tx_schema = {
    tx_fields,        COUNT(tx_fields),     "bad-tx-field",
    "bad-tx-field-length", "bad-tx-unknown-key", "bad-tx-missing-field",
};

int bwc_tx_encode(const bwc_tx *tx, int without_sig, bwc_buf *out)
{
    return bwc_schema_encode(out, &tx_schema, tx, without_sig ? BWC_KEY_BIT(15) : 0);
}

int bwc_chunk_size_valid(uint64_t chunk_size)
{
    return chunk_size >= (1u << 14) && chunk_size <= (1u << 22) &&
           (chunk_size & (chunk_size - 1)) == 0;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* A dotted quad of 0-255 without leading zeros. */
static int ipv4_valid(const char *s, size_t n)
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        size_t start = i;
        unsigned v = 0;
        while (i < n && is_digit(s[i]) && i - start < 3)
            v = v * 10 + (unsigned)(s[i++] - '0');
        if (i == start || v > 255 || (s[start] == '0' && i - start > 1))
            return 0;
        if (part < 3 && (i >= n || s[i++] != '.'))
            return 0;
    }
    return i == n;
}

/* LDH labels of 1-63 characters, no hyphen at either end, no empty label (so no trailing
 * dot), at most 253 characters in all. */
static int dns_name_valid(const char *s, size_t n)
{
    size_t label = 0;
    if (n == 0 || n > 253)
        return 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || s[i] == '.') {
            if (label == 0 || label > 63 || s[i - 1] == '-')
                return 0;
            label = 0;
            continue;
        }
        char c = s[i];
        int ldh = is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
        if (!ldh || (label == 0 && c == '-'))
            return 0;
        label++;
    }
    return 1;
}

static int host_valid(const char *s, size_t n)
{
    char tmp[64];
    unsigned char addr[16];
    if (n >= 2 && s[0] == '[') {
        if (s[n - 1] != ']' || n - 2 >= sizeof tmp || n - 2 == 0)
            return 0;
        memcpy(tmp, s + 1, n - 2);
        tmp[n - 2] = '\0';
        return inet_pton(AF_INET6, tmp, addr) == 1; /* refuses a zone id ("%eth0") */
    }
    int all_digits_dots = 1;
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i]) && s[i] != '.')
            all_digits_dots = 0;
    return all_digits_dots ? ipv4_valid(s, n) : dns_name_valid(s, n);
}

int bwc_region_valid(const char *s, size_t n)
{
    return n == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z';
}

int bwc_relay_ceilings_valid(uint64_t quota, uint64_t burst_quota, uint64_t burst_hours)
{
    return burst_quota >= quota && (burst_hours == 0 || (burst_hours >= 12 && burst_hours <= 48));
}

int bwc_endpoint_valid(const char *s, size_t n)
{
    static const char scheme[] = "http://";
    const size_t sl = sizeof scheme - 1;
    if (n > BWC_ENDPOINT_MAX || n <= sl || memcmp(s, scheme, sl) != 0)
        return 0;
    s += sl;
    n -= sl;
    size_t colon = n;
    while (colon > 0 && s[colon - 1] != ':')
        colon--;
    if (colon == 0) /* no port */
        return 0;
    const char *port = s + colon;
    size_t pn = n - colon;
    if (pn == 0 || pn > 5 || port[0] == '0')
        return 0;
    unsigned long v = 0;
    for (size_t i = 0; i < pn; i++) {
        if (!is_digit(port[i]))
            return 0;
        v = v * 10 + (unsigned long)(port[i] - '0');
    }
    if (v < 1 || v > 65535)
        return 0;
    return host_valid(s, colon - 1);
}

/* The body rules that need nothing but the transaction itself (§3.2). */
static int body_check(const bwc_tx *tx, bwc_result *res)
{
    switch (tx->type) {
    case BWC_TX_TRANSFER:
        if (tx->body.transfer.amount < 1)
            return bwc_fail(res, BWC_RESULT_MALFORMED, "bad-tx-amount-zero");
        break;
    case BWC_TX_CHANNEL_OPEN:
        if (tx->body.channel_open.deposit < 1)
            return bwc_fail(res, BWC_RESULT_MALFORMED, "bad-tx-deposit-zero");
        break;
    case BWC_TX_CONTENT_REGISTER: {
        const bwc_tx_content_register *c = &tx->body.content_register;
        if (!bwc_chunk_size_valid(c->chunk_size))
            return bwc_fail(res, BWC_RESULT_MALFORMED, "bad-tx-chunk-size");
        if (c->size < 1 || c->size > c->chunk_size * BWC_MAX_CHUNKS)
            return bwc_fail(res, BWC_RESULT_MALFORMED, "bad-tx-content-size");
        if (c->origin_len && !bwc_endpoint_valid(c->origin, c->origin_len))
            return bwc_fail(res, BWC_RESULT_MALFORMED, "bad-tx-origin");
        break;
    }
    case BWC_TX_RELAY_ANNOUNCE: {
        const bwc_tx_relay_announce *a = &tx->body.relay_announce;
        if (!bwc_endpoint_valid(a->endpoint, a->endpoint_len))
            return bwc_fail(res, BWC_RESULT_MALFORMED, "bad-tx-endpoint");
        if (!bwc_region_valid(a->region, a->region_len))
            return bwc_fail(res, BWC_RESULT_MALFORMED, "bad-tx-region");
        if (!bwc_relay_ceilings_valid(a->quota, a->burst_quota, 0))
            return bwc_fail(res, BWC_RESULT_MALFORMED, "bad-tx-burst-quota");
        if (!bwc_relay_ceilings_valid(a->quota, a->burst_quota, a->burst_hours))
            return bwc_fail(res, BWC_RESULT_MALFORMED, "bad-tx-burst-hours");
        break;
    }
    case BWC_TX_SPONSOR:
        if (tx->body.sponsor.amount < 1)
            return bwc_fail(res, BWC_RESULT_MALFORMED, "bad-tx-amount-zero");
        if (tx->body.sponsor.per_consumer_cap < 1)
            return bwc_fail(res, BWC_RESULT_MALFORMED, "bad-tx-cap-zero");
        break;
    default:
        break;
    }
    return 1;
}

int bwc_tx_read(bwc_cbor_reader *r, bwc_tx *tx, bwc_result *res)
{
    size_t start = r->pos;
    memset(tx, 0, sizeof *tx);
    if (!bwc_schema_decode(r, &tx_schema, tx, NULL, res))
        goto fail;
    if (r->pos - start > BWC_TX_MAX_BYTES) {
        bwc_fail(res, BWC_RESULT_MALFORMED, "bad-tx-oversize");
        goto fail;
    }
    if (!body_check(tx, res))
        goto fail;
    return 1;
fail:
    memset(tx, 0, sizeof *tx);
    return 0;
}

static int read_tx(bwc_cbor_reader *r, void *obj, bwc_result *res)
{
    return bwc_tx_read(r, obj, res);
}

int bwc_tx_decode(bwc_tx *tx, const unsigned char *p, size_t n, bwc_result *res)
{
    return bwc_decode_whole(p, n, BWC_TX_MAX_BYTES, "bad-tx-oversize", read_tx, tx, sizeof *tx,
                            res);
}

/* Hashes TH(tag, [chain_id ||] enc(tx or tx\{15})). */
static void tx_hash(const char *tag, const bwc_hash *chain_id, const bwc_tx *tx, int without_sig,
                    bwc_hash *out)
{
    bwc_buf b = BWC_BUF_INIT;
    if (!bwc_tx_encode(tx, without_sig, &b))
        memset(out->b, 0, sizeof out->b);
    else if (chain_id)
        bwc_tagged_hash2(out, tag, chain_id->b, sizeof chain_id->b, b.data, b.len);
    else
        bwc_tagged_hash(out, tag, b.data, b.len);
    bwc_buf_free(&b);
}

void bwc_tx_id(const bwc_hash *chain_id, const bwc_tx *tx, bwc_hash *txid)
{
    tx_hash("bwc/tx", chain_id, tx, 1, txid);
}

void bwc_tx_leaf(const bwc_tx *tx, bwc_hash *leaf)
{
    tx_hash("bwc/txw", NULL, tx, 0, leaf);
}
