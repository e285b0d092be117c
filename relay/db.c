/* db.c: the relay state database over LevelDB's C API. */
#include "relay/db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <leveldb/c.h>

#include "consensus/receipt.h"

#define LANE_RECORD_MIN (1 + 1 + 8 + 32 + 8 + 32 + 1 + 2)
#define ENTRY_BYTES (32 + 4 + 32 + 32)

struct bwc_relay_db {
    leveldb_t *db;
    leveldb_options_t *opts;
    leveldb_readoptions_t *ropts;
    leveldb_writeoptions_t *wopts;
};

struct bwc_relay_batch {
    leveldb_writebatch_t *wb;
};

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (56 - 8 * i));
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

bwc_relay_db *bwc_relay_db_open(const char *path, char *err, size_t errlen)
{
    char *lerr = NULL;
    bwc_relay_db *db = calloc(1, sizeof *db);
    if (!db) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    db->opts = leveldb_options_create();
    leveldb_options_set_create_if_missing(db->opts, 1);
    db->ropts = leveldb_readoptions_create();
    leveldb_readoptions_set_verify_checksums(db->ropts, 1);
    db->wopts = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(db->wopts, 0);
    db->db = leveldb_open(db->opts, path, &lerr);
    if (!db->db) {
        snprintf(err, errlen, "cannot open relay state %s: %s", path, lerr ? lerr : "?");
        leveldb_free(lerr);
        bwc_relay_db_close(db);
        return NULL;
    }
    return db;
}

void bwc_relay_db_close(bwc_relay_db *db)
{
    if (!db)
        return;
    if (db->db)
        leveldb_close(db->db);
    if (db->opts)
        leveldb_options_destroy(db->opts);
    if (db->ropts)
        leveldb_readoptions_destroy(db->ropts);
    if (db->wopts)
        leveldb_writeoptions_destroy(db->wopts);
    free(db);
}

int bwc_relay_db_load_quota(bwc_relay_db *db, bwc_relay_quota *q)
{
    char *lerr = NULL;
    size_t n = 0;
    memset(q, 0, sizeof *q);
    char *v = leveldb_get(db->db, db->ropts, "Q", 1, &n, &lerr);
    if (lerr) {
        leveldb_free(lerr);
        return -1;
    }
    if (!v)
        return 0;
    int rc = -1;
    if (n == 32) {
        const unsigned char *p = (const unsigned char *)v;
        q->period_start = get64(p);
        q->used = get64(p + 8);
        q->burst_until = get64(p + 16);
        q->total = get64(p + 24);
        rc = 1;
    }
    leveldb_free(v);
    return rc;
}

static int decode_lane(bwc_relay_lane *l, const unsigned char *k, const unsigned char *v, size_t n,
                       const bwc_hash *chain_id)
{
    bwc_hash id;
    bwc_pubkey consumer;
    if (n < LANE_RECORD_MIN || v[0] != 1 || v[1] > 1)
        return 0;
    memcpy(id.b, k + 1, 32);
    memcpy(consumer.b, k + 33, 32);
    bwc_relay_lane_init(l, &id, v[1] ? &consumer : NULL);
    const unsigned char *p = v + 2;
    l->served = get64(p);
    memcpy(l->digest.b, p + 8, 32);
    l->base_bytes = get64(p + 40);
    memcpy(l->base_digest.b, p + 48, 32);
    l->base_known = p[80] != 0;
    size_t raw_len = (size_t)p[81] << 8 | p[82];
    p += 83;
    if (raw_len != n - LANE_RECORD_MIN || raw_len > BWC_RECEIPT_MAX_BYTES)
        return 0;
    if (raw_len) {
        bwc_result res;
        if (!bwc_receipt_decode(&l->receipt, p, raw_len, &res))
            return 0;
        memcpy(l->raw, p, raw_len);
        l->raw_len = raw_len;
        l->has_receipt = 1;
        bwc_receipt_id(chain_id, &l->receipt, &l->rid);
    }
    return 1;
}

static int load_log(bwc_relay_db *db, bwc_relay_lane *l)
{
    unsigned char prefix[65];
    prefix[0] = 'D';
    memcpy(prefix + 1, l->key, 64);
    leveldb_iterator_t *it = leveldb_create_iterator(db->db, db->ropts);
    int rc = 0;
    for (leveldb_iter_seek(it, (const char *)prefix, sizeof prefix); leveldb_iter_valid(it);
         leveldb_iter_next(it)) {
        size_t kn, vn;
        const unsigned char *k = (const unsigned char *)leveldb_iter_key(it, &kn);
        const unsigned char *v = (const unsigned char *)leveldb_iter_value(it, &vn);
        if (kn != 73 || memcmp(k, prefix, sizeof prefix) != 0)
            break;
        if (vn != ENTRY_BYTES)
            continue;
        if (l->n_log == l->cap_log) {
            size_t cap = l->cap_log ? 2 * l->cap_log : 8;
            bwc_relay_lane_entry *p = realloc(l->log, cap * sizeof *p);
            if (!p) {
                rc = -1;
                break;
            }
            l->log = p;
            l->cap_log = cap;
        }
        bwc_relay_lane_entry *e = &l->log[l->n_log++];
        e->bytes_after = get64(k + 65);
        memcpy(e->content_id.b, v, 32);
        e->index = (uint32_t)v[32] << 24 | (uint32_t)v[33] << 16 | (uint32_t)v[34] << 8 | v[35];
        memcpy(e->chunk_hash.b, v + 36, 32);
        memcpy(e->digest_after.b, v + 68, 32);
    }
    char *lerr = NULL;
    leveldb_iter_get_error(it, &lerr);
    if (lerr) {
        leveldb_free(lerr);
        rc = -1;
    }
    leveldb_iter_destroy(it);
    return rc;
}

int bwc_relay_db_load_lanes(bwc_relay_db *db, const bwc_hash *chain_id,
                            int (*fn)(void *arg, bwc_relay_lane *l), void *arg, size_t *bad)
{
    *bad = 0;
    leveldb_iterator_t *it = leveldb_create_iterator(db->db, db->ropts);
    int rc = 0;
    for (leveldb_iter_seek(it, "L", 1); rc == 0 && leveldb_iter_valid(it); leveldb_iter_next(it)) {
        size_t kn, vn;
        const unsigned char *k = (const unsigned char *)leveldb_iter_key(it, &kn);
        const unsigned char *v = (const unsigned char *)leveldb_iter_value(it, &vn);
        if (kn < 1 || k[0] != 'L')
            break;
        bwc_relay_lane *l = calloc(1, sizeof *l);
        if (!l) {
            rc = -1;
            break;
        }
        if (kn != 65 || !decode_lane(l, k, v, vn, chain_id)) {
            (*bad)++;
            free(l);
            continue;
        }
        if (load_log(db, l) != 0) {
            bwc_relay_lane_free(l);
            free(l);
            rc = -1;
            break;
        }
        if (fn(arg, l) != 0)
            rc = -1;
    }
    char *lerr = NULL;
    leveldb_iter_get_error(it, &lerr);
    if (lerr) {
        leveldb_free(lerr);
        rc = -1;
    }
    leveldb_iter_destroy(it);
    return rc;
}

bwc_relay_batch *bwc_relay_batch_new(void)
{
    bwc_relay_batch *b = calloc(1, sizeof *b);
    if (b)
        b->wb = leveldb_writebatch_create();
    return b;
}

void bwc_relay_batch_free(bwc_relay_batch *b)
{
    if (!b)
        return;
    leveldb_writebatch_destroy(b->wb);
    free(b);
}

void bwc_relay_batch_lane(bwc_relay_batch *b, const bwc_relay_lane *l)
{
    unsigned char k[65], v[LANE_RECORD_MIN + BWC_RECEIPT_MAX_BYTES];
    k[0] = 'L';
    memcpy(k + 1, l->key, 64);
    size_t raw_len = l->has_receipt ? l->raw_len : 0;
    v[0] = 1;
    v[1] = (unsigned char)(l->is_pool != 0);
    unsigned char *p = v + 2;
    put64(p, l->served);
    memcpy(p + 8, l->digest.b, 32);
    put64(p + 40, l->base_bytes);
    memcpy(p + 48, l->base_digest.b, 32);
    p[80] = (unsigned char)(l->base_known != 0);
    p[81] = (unsigned char)(raw_len >> 8);
    p[82] = (unsigned char)raw_len;
    memcpy(p + 83, l->raw, raw_len);
    leveldb_writebatch_put(b->wb, (const char *)k, sizeof k, (const char *)v,
                           LANE_RECORD_MIN + raw_len);
}

static void entry_key(unsigned char k[73], const bwc_relay_lane *l, uint64_t bytes_after)
{
    k[0] = 'D';
    memcpy(k + 1, l->key, 64);
    put64(k + 65, bytes_after);
}

void bwc_relay_batch_entry(bwc_relay_batch *b, const bwc_relay_lane *l,
                           const bwc_relay_lane_entry *e)
{
    unsigned char k[73], v[ENTRY_BYTES];
    entry_key(k, l, e->bytes_after);
    memcpy(v, e->content_id.b, 32);
    v[32] = (unsigned char)(e->index >> 24);
    v[33] = (unsigned char)(e->index >> 16);
    v[34] = (unsigned char)(e->index >> 8);
    v[35] = (unsigned char)e->index;
    memcpy(v + 36, e->chunk_hash.b, 32);
    memcpy(v + 68, e->digest_after.b, 32);
    leveldb_writebatch_put(b->wb, (const char *)k, sizeof k, (const char *)v, sizeof v);
}

void bwc_relay_batch_drop_entry(bwc_relay_batch *b, const bwc_relay_lane *l, uint64_t bytes_after)
{
    unsigned char k[73];
    entry_key(k, l, bytes_after);
    leveldb_writebatch_delete(b->wb, (const char *)k, sizeof k);
}

void bwc_relay_batch_drop_lane(bwc_relay_batch *b, const bwc_relay_lane *l)
{
    unsigned char k[65];
    k[0] = 'L';
    memcpy(k + 1, l->key, 64);
    leveldb_writebatch_delete(b->wb, (const char *)k, sizeof k);
    for (size_t i = 0; i < l->n_log; i++)
        bwc_relay_batch_drop_entry(b, l, l->log[i].bytes_after);
}

void bwc_relay_batch_quota(bwc_relay_batch *b, const bwc_relay_quota *q)
{
    unsigned char v[32];
    put64(v, q->period_start);
    put64(v + 8, q->used);
    put64(v + 16, q->burst_until);
    put64(v + 24, q->total);
    leveldb_writebatch_put(b->wb, "Q", 1, (const char *)v, sizeof v);
}

int bwc_relay_db_write(bwc_relay_db *db, bwc_relay_batch *b, char *err, size_t errlen)
{
    char *lerr = NULL;
    leveldb_write(db->db, db->wopts, b->wb, &lerr);
    if (lerr) {
        snprintf(err, errlen, "relay state write failed: %s", lerr);
        leveldb_free(lerr);
        return -1;
    }
    return 0;
}
