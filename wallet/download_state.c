/* download_state.c: the resume state file (FILE.part.state): encoding, strict decoding, saving. */
#include "wallet/download_state.h"

#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/hex.h"
#include "consensus/cbor.h"
#include "consensus/hash.h"
#include "consensus/key.h"
#include "consensus/manifest.h"
#include "consensus/tx.h"
#include "wallet/download_sched.h"

int bwc_dl_state_init(bwc_dl_state *s, const bwc_hash *chain_id, const bwc_hash *content_id,
                      const bwc_pubkey *consumer, uint64_t size, uint64_t chunk_size)
{
    memset(s, 0, sizeof *s);
    if (size < 1 || !bwc_chunk_size_valid(chunk_size) ||
        bwc_manifest_chunk_count(size, chunk_size) > BWC_MAX_CHUNKS)
        return 0;
    s->chain_id = *chain_id;
    s->content_id = *content_id;
    s->consumer = *consumer;
    s->size = size;
    s->chunk_size = chunk_size;
    s->n_chunks = (size_t)bwc_manifest_chunk_count(size, chunk_size);
    if (!(s->verified = calloc(bwc_dl_bitmap_len(s->n_chunks), 1)))
        return 0;
    return 1;
}

void bwc_dl_state_free(bwc_dl_state *s)
{
    free(s->verified);
    free(s->channels);
    memset(s, 0, sizeof *s);
}

long bwc_dl_state_find(const bwc_dl_state *s, const bwc_hash *id)
{
    for (size_t i = 0; i < s->n_channels; i++)
        if (memcmp(s->channels[i].id.b, id->b, 32) == 0)
            return (long)i;
    return -1;
}

long bwc_dl_state_find_lane(const bwc_dl_state *s, const bwc_hash *id, int is_pool,
                            const bwc_pubkey *relay)
{
    for (size_t i = 0; i < s->n_channels; i++) {
        const bwc_dl_channel *c = &s->channels[i];
        if (!memcmp(c->id.b, id->b, 32) && !c->is_pool == !is_pool &&
            (!is_pool || !memcmp(c->relay.b, relay->b, 32)))
            return (long)i;
    }
    return -1;
}

long bwc_dl_state_add(bwc_dl_state *s, const bwc_dl_channel *c)
{
    if (s->n_channels >= BWC_DL_STATE_MAX_CHANNELS)
        return -1;
    bwc_dl_channel *grown = realloc(s->channels, (s->n_channels + 1) * sizeof *grown);
    if (!grown)
        return -1;
    s->channels = grown;
    s->channels[s->n_channels] = *c;
    return (long)s->n_channels++;
}

/* ---- encoding ---- */

static void put_channel(bwc_buf *b, const bwc_dl_channel *c)
{
    size_t fields = 5 + (c->has_receipt != 0) + (c->n_pending != 0) + (c->caught != 0) +
                    (c->is_pool != 0) + (c->is_pool && c->has_ticket);
    bwc_cbor_put_map(b, fields);
    bwc_cbor_put_uint(b, 0);
    bwc_cbor_put_bstr(b, c->id.b, 32);
    bwc_cbor_put_uint(b, 1);
    bwc_cbor_put_bstr(b, c->relay.b, 32);
    bwc_cbor_put_uint(b, 2);
    bwc_cbor_put_uint(b, c->price);
    bwc_cbor_put_uint(b, 3);
    bwc_cbor_put_uint(b, c->deposit);
    bwc_cbor_put_uint(b, 4);
    bwc_cbor_put_uint(b, c->start_amount);
    if (c->has_receipt) {
        bwc_buf r = BWC_BUF_INIT;
        if (!bwc_receipt_encode(&c->newest, &r))
            b->oom = 1;
        bwc_cbor_put_uint(b, 5);
        bwc_cbor_put_bstr(b, r.data, r.len);
        bwc_buf_free(&r);
    }
    if (c->n_pending) {
        bwc_cbor_put_uint(b, 6);
        bwc_cbor_put_array(b, c->n_pending);
        for (size_t i = 0; i < c->n_pending; i++)
            bwc_cbor_put_uint(b, c->pending[i]);
    }
    if (c->caught) {
        bwc_cbor_put_uint(b, 7);
        bwc_cbor_put_uint(b, 1);
    }
    if (c->is_pool) { /* version 2: the lane kind */
        bwc_cbor_put_uint(b, 8);
        bwc_cbor_put_uint(b, 1);
        if (c->has_ticket) {
            bwc_cbor_put_uint(b, 9);
            bwc_cbor_put_bstr(b, c->ticket.b, 64);
        }
    }
}

int bwc_dl_state_encode(const bwc_dl_state *s, bwc_buf *out)
{
    size_t start = out->len;
    bwc_hash sum;
    bwc_buf_append(out, BWC_DL_STATE_MAGIC, BWC_DL_STATE_MAGIC_LEN);
    bwc_cbor_put_map(out, 8);
    bwc_cbor_put_uint(out, 0);
    bwc_cbor_put_uint(out, BWC_DL_STATE_VERSION);
    bwc_cbor_put_uint(out, 1);
    bwc_cbor_put_bstr(out, s->chain_id.b, 32);
    bwc_cbor_put_uint(out, 2);
    bwc_cbor_put_bstr(out, s->content_id.b, 32);
    bwc_cbor_put_uint(out, 3);
    bwc_cbor_put_bstr(out, s->consumer.b, 32);
    bwc_cbor_put_uint(out, 4);
    bwc_cbor_put_uint(out, s->size);
    bwc_cbor_put_uint(out, 5);
    bwc_cbor_put_uint(out, s->chunk_size);
    bwc_cbor_put_uint(out, 6);
    bwc_cbor_put_bstr(out, s->verified, bwc_dl_bitmap_len(s->n_chunks));
    bwc_cbor_put_uint(out, 7);
    bwc_cbor_put_array(out, s->n_channels);
    for (size_t i = 0; i < s->n_channels; i++)
        put_channel(out, &s->channels[i]);
    if (out->oom)
        return 0;
    bwc_sha256(&sum, out->data + start, out->len - start);
    bwc_buf_append(out, sum.b, 32);
    return !out->oom;
}

/* ---- decoding ---- */

/* Reads the next map key, which must be k. */
static int key_is(bwc_cbor_reader *r, uint64_t k)
{
    uint64_t v;
    return bwc_cbor_read_uint(r, &v) && v == k;
}

static int read_hash(bwc_cbor_reader *r, unsigned char out[32])
{
    const unsigned char *d;
    size_t len;
    if (!bwc_cbor_read_bstr(r, &d, &len) || len != 32)
        return 0;
    memcpy(out, d, 32);
    return 1;
}

/* The next key of a map with count entries, at position *seen of them; 0 when none is left. */
static int peek_key(const bwc_cbor_reader *r, size_t seen, size_t count, uint64_t *k)
{
    bwc_cbor_reader t = *r;
    return seen < count && bwc_cbor_read_uint(&t, k);
}

static int read_channel(bwc_cbor_reader *r, bwc_dl_channel *c, const bwc_dl_state *s,
                        uint64_t version, const secp256k1_context *secp, const char **why)
{
    size_t count, seen = 5;
    uint64_t k;
    bwc_cbor_reader kinds;
    memset(c, 0, sizeof *c);
    *why = "state-bad-channel";
    if (!bwc_cbor_read_map(r, &count) || count < 5 || count > (version >= 2 ? 10u : 8u))
        return 0;
    /* Version 2's lane kind (keys 8 and 9) comes last in the map, but the receipt's checks need
     * it: read it first from a copy of the reader. */
    kinds = *r;
    for (size_t i = 0; i < count; i++) {
        uint64_t key;
        if (!bwc_cbor_read_uint(&kinds, &key))
            return 0;
        if (key == 8) {
            uint64_t v;
            if (!bwc_cbor_read_uint(&kinds, &v) || v != 1)
                return 0;
            c->is_pool = 1;
            c->consumer = s->consumer;
        } else if (key == 9) {
            const unsigned char *d;
            size_t len;
            if (!c->is_pool || !bwc_cbor_read_bstr(&kinds, &d, &len) || len != 64)
                return 0;
            c->has_ticket = 1;
            memcpy(c->ticket.b, d, 64);
        } else if (!bwc_cbor_skip(&kinds)) {
            return 0;
        }
    }
    if (version < 2 && c->is_pool)
        return 0;
    if (!key_is(r, 0) ||
        !read_hash(r, c->id.b) || !key_is(r, 1) || !read_hash(r, c->relay.b) || !key_is(r, 2) ||
        !bwc_cbor_read_uint(r, &c->price) || !key_is(r, 3) || !bwc_cbor_read_uint(r, &c->deposit) ||
        !key_is(r, 4) || !bwc_cbor_read_uint(r, &c->start_amount))
        return 0;
    if (peek_key(r, seen, count, &k) && k == 5) {
        const unsigned char *d;
        size_t len;
        bwc_result res;
        bwc_hash rid;
        seen++;
        if (!key_is(r, 5) || !bwc_cbor_read_bstr(r, &d, &len) ||
            !bwc_receipt_decode(&c->newest, d, len, &res)) {
            *why = "state-bad-receipt";
            return 0;
        }
        if (!bwc_dl_channel_owns(c, &c->newest) || c->newest.has_relay_sig ||
            c->newest.amount > c->deposit ||
            c->start_amount > c->newest.amount) {
            *why = "state-bad-receipt";
            return 0;
        }
        bwc_receipt_id(&s->chain_id, &c->newest, &rid);
        if (!bwc_verify(secp, &c->newest.consumer_sig, &rid, &s->consumer)) {
            *why = "state-bad-receipt-sig";
            return 0;
        }
        c->has_receipt = 1;
    } else if (c->start_amount != 0) {
        return 0;
    }
    if (peek_key(r, seen, count, &k) && k == 6) {
        size_t n;
        seen++;
        if (!key_is(r, 6) || !bwc_cbor_read_array(r, &n) || n < 1 || n > BWC_DL_MAX_PENDING)
            return 0;
        for (size_t i = 0; i < n; i++) {
            uint64_t v;
            if (!bwc_cbor_read_uint(r, &v) || v >= s->n_chunks)
                return 0;
            for (size_t j = 0; j < c->n_pending; j++)
                if (c->pending[j] == v)
                    return 0;
            c->pending[c->n_pending++] = (uint32_t)v;
        }
    }
    if (peek_key(r, seen, count, &k) && k == 7) {
        uint64_t v;
        seen++;
        if (!key_is(r, 7) || !bwc_cbor_read_uint(r, &v) || v != 1)
            return 0;
        c->caught = 1;
    }
    if (c->is_pool) { /* already read: skip them in order */
        seen++;
        if (!key_is(r, 8) || !bwc_cbor_skip(r))
            return 0;
        if (c->has_ticket && (seen++, !key_is(r, 9) || !bwc_cbor_skip(r)))
            return 0;
    }
    if (seen != count) /* a key the format does not have, or one out of order */
        return 0;
    return 1;
}

int bwc_dl_state_decode(bwc_dl_state *s, const unsigned char *p, size_t n,
                        const secp256k1_context *secp, const bwc_hash *chain_id, const char **why)
{
    bwc_result res;
    bwc_hash sum, content_id;
    bwc_pubkey consumer;
    bwc_hash file_chain;
    uint64_t version, size, chunk_size;
    size_t count, bm_len, n_ch;
    const unsigned char *bm;
    bwc_cbor_reader r;

    memset(s, 0, sizeof *s);
    if (n < BWC_DL_STATE_MAGIC_LEN + 1 + 32 || n > BWC_DL_STATE_MAX_BYTES ||
        memcmp(p, BWC_DL_STATE_MAGIC, BWC_DL_STATE_MAGIC_LEN) != 0) {
        *why = "state-not-a-state-file";
        return 0;
    }
    bwc_sha256(&sum, p, n - 32);
    if (memcmp(sum.b, p + n - 32, 32) != 0) {
        *why = "state-checksum";
        return 0;
    }
    p += BWC_DL_STATE_MAGIC_LEN;
    n -= BWC_DL_STATE_MAGIC_LEN + 32;
    if (!bwc_cbor_check(p, n, &res)) {
        *why = "state-not-canonical";
        return 0;
    }
    bwc_cbor_reader_init(&r, p, n);
    *why = "state-bad-field";
    if (!bwc_cbor_read_map(&r, &count) || count != 8 || !key_is(&r, 0) ||
        !bwc_cbor_read_uint(&r, &version))
        return 0;
    if (version != 1 && version != BWC_DL_STATE_VERSION) {
        *why = "state-version";
        return 0;
    }
    if (!key_is(&r, 1) || !read_hash(&r, file_chain.b) || !key_is(&r, 2) ||
        !read_hash(&r, content_id.b) || !key_is(&r, 3) || !read_hash(&r, consumer.b) ||
        !key_is(&r, 4) || !bwc_cbor_read_uint(&r, &size) || !key_is(&r, 5) ||
        !bwc_cbor_read_uint(&r, &chunk_size) || !key_is(&r, 6) ||
        !bwc_cbor_read_bstr(&r, &bm, &bm_len) || !key_is(&r, 7) || !bwc_cbor_read_array(&r, &n_ch))
        return 0;
    if (memcmp(file_chain.b, chain_id->b, 32) != 0) {
        *why = "state-other-chain";
        return 0;
    }
    if (!bwc_dl_state_init(s, chain_id, &content_id, &consumer, size, chunk_size)) {
        *why = "state-bad-size";
        return 0;
    }
    if (bm_len != bwc_dl_bitmap_len(s->n_chunks) ||
        (s->n_chunks % 8 && (bm[bm_len - 1] >> (s->n_chunks % 8)) != 0)) {
        *why = "state-bad-bitmap";
        goto fail;
    }
    memcpy(s->verified, bm, bm_len);
    if (n_ch > BWC_DL_STATE_MAX_CHANNELS) {
        *why = "state-too-many-channels";
        goto fail;
    }
    for (size_t i = 0; i < n_ch; i++) {
        bwc_dl_channel c;
        if (!read_channel(&r, &c, s, version, secp, why))
            goto fail;
        if (bwc_dl_state_find_lane(s, &c.id, c.is_pool, &c.relay) >= 0) {
            *why = "state-duplicate-channel";
            goto fail;
        }
        if (bwc_dl_state_add(s, &c) < 0) {
            *why = "out-of-memory";
            goto fail;
        }
    }
    if (r.pos != r.n) {
        *why = "state-bad-field";
        goto fail;
    }
    *why = "";
    return 1;
fail:
    bwc_dl_state_free(s);
    return 0;
}

/* ---- files ---- */



int bwc_dl_state_save(const char *path, const bwc_dl_state *s, int durable, char *err,
                      size_t errlen)
{
    bwc_buf b = BWC_BUF_INIT;
    int rc = -1;
    if (!bwc_dl_state_encode(s, &b))
        bwc_errf(err, errlen, "out of memory");
    else
        rc = bwc_file_replace(path, b.data, b.len, 0600,
                              durable ? BWC_FILE_SYNC | BWC_FILE_SYNC_DIR : 0, err, errlen);
    bwc_buf_free(&b);
    return rc;
}

int bwc_dl_state_load(const char *path, bwc_dl_state *s, const secp256k1_context *secp,
                      const bwc_hash *chain_id, int *missing, char *err, size_t errlen)
{
    const char *why;
    struct stat st;
    unsigned char *data = NULL;
    int rc = -1;
    memset(s, 0, sizeof *s);
    *missing = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        *missing = errno == ENOENT;
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
        (uint64_t)st.st_size > BWC_DL_STATE_MAX_BYTES) {
        snprintf(err, errlen, "%s is not a download state file (wrong size or type)", path);
        goto out;
    }
    size_t n = (size_t)st.st_size, got = 0;
    if (!(data = malloc(n))) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    while (got < n) {
        ssize_t k = read(fd, data + got, n - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            snprintf(err, errlen, "cannot read %s", path);
            goto out;
        }
        got += (size_t)k;
    }
    if (!bwc_dl_state_decode(s, data, n, secp, chain_id, &why)) {
        snprintf(err, errlen, "%s is corrupted or not a download state file (%s)", path, why);
        goto out;
    }
    rc = 0;
out:
    free(data);
    close(fd);
    return rc;
}

/* ---- the receipt journal ---- */

static int journal_path(char *out, size_t len, const char *dir, const bwc_hash *channel)
{
    char hex[65];
    bwc_hex_encode(hex, channel->b, 32);
    int n = snprintf(out, len, "%s/%s.receipt", dir, hex);
    return n > 0 && (size_t)n < len;
}

int bwc_dl_journal_save(const char *dir, const bwc_receipt *r, char *err, size_t errlen)
{
    char path[4200];
    bwc_buf b = BWC_BUF_INIT;
    int rc = -1;
    if (!journal_path(path, sizeof path, dir, &r->channel)) {
        snprintf(err, errlen, "path too long: %s", dir);
        return -1;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    if (!bwc_receipt_encode(r, &b) || b.oom) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    rc = bwc_file_replace(path, b.data, b.len, 0600, BWC_FILE_SYNC | BWC_FILE_SYNC_DIR, err,
                          errlen);
out:
    bwc_buf_free(&b);
    return rc;
}

int bwc_dl_journal_load(const char *dir, const bwc_hash *channel, const secp256k1_context *secp,
                        const bwc_hash *chain_id, const bwc_pubkey *consumer, bwc_receipt *r,
                        char *err, size_t errlen)
{
    char path[4200];
    unsigned char raw[BWC_RECEIPT_MAX_BYTES + 1];
    bwc_result res;
    bwc_hash rid;
    size_t got = 0;
    memset(r, 0, sizeof *r);
    if (!journal_path(path, sizeof path, dir, channel))
        return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    for (;;) {
        ssize_t k = read(fd, raw + got, sizeof raw - got);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
        if (got == sizeof raw)
            break;
    }
    close(fd);
    if (got == 0 || got > BWC_RECEIPT_MAX_BYTES || !bwc_receipt_decode(r, raw, got, &res) ||
        r->is_pool || memcmp(r->channel.b, channel->b, 32) != 0) {
        memset(r, 0, sizeof *r);
        snprintf(err, errlen, "%s is not a receipt of this channel", path);
        return -1;
    }
    bwc_receipt_id(chain_id, r, &rid);
    if (!bwc_verify(secp, &r->consumer_sig, &rid, consumer)) {
        memset(r, 0, sizeof *r);
        snprintf(err, errlen, "%s is not signed by this key", path);
        return -1;
    }
    r->has_relay_sig = 0;
    memset(&r->relay_sig, 0, sizeof r->relay_sig);
    return 1;
}
