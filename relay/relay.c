/* relay.c: the relay object: key, lanes, quota, settlement on new blocks, stats, bursts and
 * imports. The HTTP API is in http.c, pull-through in fetch.c. */
#include "relay/relay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/hex.h"
#include "common/log.h"
#include "common/manifest_file.h"
#include "common/random.h"
#include "common/fileio.h"
#include "common/objjson.h"
#include "consensus/key.h"
#include "consensus/tx.h"
#include "relay/relay_internal.h"


uint64_t bwc_relay_now_ms(const bwc_relay_server *r)
{
    if (r->cfg.now_ms)
        return r->cfg.now_ms(r->cfg.now_ctx);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- the key ---- */

/* Reads 64 hex digits (and an optional newline) from path. */
static int read_key(const char *path, unsigned char key[32], char *err, size_t errlen)
{
    char buf[80];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return bwc_errf(err, errlen, "cannot read the relay key %s: %s", path, strerror(errno));
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0)
        return bwc_errf(err, errlen, "cannot read the relay key %s", path);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    int ok = n == 64 && bwc_hex_decode(key, 32, buf);
    bwc_cleanse(buf, sizeof buf);
    if (!ok)
        return bwc_errf(err, errlen, "%s must hold a secret key as 64 hex digits", path);
    return 0;
}

/* Creates a new key file (0600, never replacing one). */
static int create_key(const char *path, unsigned char key[32], char *err, size_t errlen)
{
    char hex[66];
    if (bwc_random_bytes(key, 32) != 0)
        return bwc_errf(err, errlen, "no randomness for the relay key");
    bwc_hex_encode(hex, key, 32);
    hex[64] = '\n';
    hex[65] = '\0';
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        bwc_cleanse(hex, sizeof hex);
        return bwc_errf(err, errlen, "cannot create the relay key %s: %s", path, strerror(errno));
    }
    int ok = write(fd, hex, 65) == 65 && fsync(fd) == 0;
    close(fd);
    bwc_cleanse(hex, sizeof hex);
    if (!ok) {
        unlink(path);
        return bwc_errf(err, errlen, "cannot write the relay key %s", path);
    }
    return 0;
}

static int load_key(bwc_relay_server *r, char *err, size_t errlen)
{
    char path[4200];
    if (r->cfg.keyfile) {
        if (read_key(r->cfg.keyfile, r->key, err, errlen) != 0)
            return -1;
    } else {
        snprintf(path, sizeof path, "%s/relay.key", r->dir);
        if (access(path, F_OK) == 0) {
            if (read_key(path, r->key, err, errlen) != 0)
                return -1;
        } else {
            if (create_key(path, r->key, err, errlen) != 0)
                return -1;
            bwc_log(BWC_LOG_INFO, "relay: created a new relay key in %s", path);
        }
    }
    if (!bwc_key_pubkey(r->cfg.secp, &r->pub, r->key))
        return bwc_errf(err, errlen, "the relay key is not a valid secret key");
    return 0;
}

/* ---- lanes ---- */

bwc_relay_lane *bwc_relay_lane_get(bwc_relay_server *r, const bwc_hash *id,
                                   const bwc_pubkey *consumer, int create)
{
    unsigned char key[BWC_RELAY_LANE_KEY_SIZE];
    bwc_relay_lane_key(key, id, consumer);
    bwc_relay_lane *l = bwc_map_get(&r->lanes, key, sizeof key);
    if (l || !create)
        return l;
    l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    bwc_relay_lane_init(l, id, consumer);
    if (bwc_map_put(&r->lanes, key, sizeof key, l) != 0) {
        free(l);
        return NULL;
    }
    return l;
}

static void lane_drop(bwc_relay_server *r, bwc_relay_lane *l)
{
    char err[256];
    bwc_relay_batch *b = bwc_relay_batch_new();
    if (b) {
        bwc_relay_batch_drop_lane(b, l);
        if (bwc_relay_db_write(r->db, b, err, sizeof err) != 0)
            bwc_log(BWC_LOG_WARNING, "relay: %s", err);
        bwc_relay_batch_free(b);
    }
    bwc_map_del(&r->lanes, l->key, sizeof l->key);
    bwc_relay_lane_free(l);
    free(l);
}

int bwc_relay_persist(bwc_relay_server *r, const bwc_relay_lane *l, const bwc_relay_lane_entry *e,
                      const uint64_t *dropped, size_t n_dropped, int with_quota)
{
    char err[256];
    bwc_relay_batch *b = bwc_relay_batch_new();
    if (!b) {
        bwc_log(BWC_LOG_ERROR, "relay: out of memory writing the relay state");
        return -1;
    }
    if (l)
        bwc_relay_batch_lane(b, l);
    if (l && e)
        bwc_relay_batch_entry(b, l, e);
    for (size_t i = 0; l && i < n_dropped; i++)
        bwc_relay_batch_drop_entry(b, l, dropped[i]);
    if (with_quota)
        bwc_relay_batch_quota(b, &r->quota);
    int rc = bwc_relay_db_write(r->db, b, err, sizeof err);
    bwc_relay_batch_free(b);
    if (rc != 0)
        bwc_log(BWC_LOG_ERROR, "relay: %s", err);
    return rc;
}

static int take_lane(void *arg, bwc_relay_lane *l)
{
    bwc_relay_server *r = arg;
    if (bwc_map_put(&r->lanes, l->key, sizeof l->key, l) != 0) {
        bwc_relay_lane_free(l);
        free(l);
        return -1;
    }
    return 0;
}

/* ---- settlement ---- */

/* The chain's terms of a lane: 1 with t's expiry, chain_seq and chain_claimed filled; 0 when
 * the channel or pool is closed for good (the lane can be forgotten); -1 when it cannot be
 * read now (absent, perhaps after a reorganisation: the lane is kept). */
static int chain_terms(bwc_relay_server *r, const bwc_state_view *v, const bwc_relay_lane *l,
                       bwc_settle_terms *t)
{
    if (!l->is_pool) {
        bwc_channel c;
        if (bwc_state_channel(v, &l->id, &c) <= 0)
            return -1;
        if (c.closed)
            return 0;
        t->expiry = c.expiry;
        t->chain_seq = c.seq;
        t->chain_claimed = c.claimed;
        return 1;
    }
    bwc_pool p;
    bwc_lane chain;
    if (bwc_state_pool(v, &l->id, &p) <= 0)
        return -1;
    if (p.closed)
        return 0;
    if (bwc_state_lane(v, &l->id, &l->consumer, &r->pub, &chain) < 0)
        return -1;
    t->expiry = p.expiry;
    t->chain_seq = chain.seq;
    t->chain_claimed = chain.claimed;
    return 1;
}

/* Adds relay_sig to the lane's newest receipt and hands it to the node. */
static void submit(bwc_relay_server *r, bwc_relay_lane *l, uint64_t next_height, const char *why)
{
    static bwc_log_limiter limiter = BWC_LOG_LIMITER_INIT;
    bwc_receipt rc = l->receipt;
    unsigned char aux[32];
    bwc_buf enc = BWC_BUF_INIT;
    bwc_result res;
    bwc_hash rid;
    char hex[65];
    bwc_hex_encode(hex, l->id.b, 32);
    if (bwc_random_bytes(aux, sizeof aux) != 0 ||
        !bwc_sign(r->cfg.secp, &rc.relay_sig, r->key, &l->rid, aux)) {
        bwc_log(BWC_LOG_ERROR, "relay: cannot sign a receipt for %s", hex);
        return;
    }
    rc.has_relay_sig = 1;
    if (!bwc_receipt_encode(&rc, &enc) || enc.oom) {
        bwc_buf_free(&enc);
        return;
    }
    l->submitted_seq = rc.seq;
    l->submitted_height = next_height;
    if (r->host.submit_receipt(r->host.ctx, enc.data, enc.len, &rid, &res)) {
        r->settlements++;
        bwc_log(BWC_LOG_INFO, "relay: settling %s seq %llu amount %llu (%s)", hex,
                (unsigned long long)rc.seq, (unsigned long long)rc.amount, why);
    } else {
        bwc_log_rate_limited(&limiter, BWC_LOG_WARNING,
                             "relay: receipt for %s seq %llu refused by the node: %s", hex,
                             (unsigned long long)rc.seq, res.reject);
    }
    bwc_buf_free(&enc);
}

/* A submitted receipt that has not settled after this many blocks is handed over again (the
 * node's receipt pool is in memory: a restart of the node forgets it). */
#define RESUBMIT_BLOCKS 6

void bwc_relay_on_block(bwc_relay_server *r)
{
    bwc_state_view v = r->host.view(r->host.ctx);
    uint64_t next = r->host.height(r->host.ctx) + 1;
    bwc_relay_lane **gone = NULL;
    size_t n_gone = 0, cap_gone = 0;
    const unsigned char *k;
    size_t kl;
    void *val;
    r->last_settle_height = next - 1;
    for (size_t i = 0; bwc_map_next(&r->lanes, &i, &k, &kl, &val);) {
        bwc_relay_lane *l = val;
        bwc_settle_terms t;
        const char *why;
        memset(&t, 0, sizeof t);
        t.next_height = next;
        t.settle_window = r->cfg.params->settle_window;
        t.receipt_fee = r->cfg.params->receipt_fee;
        t.multiple = r->cfg.settle_multiple;
        int f = chain_terms(r, &v, l, &t);
        int closed = f == 0 || (f > 0 && bwc_relay_settle_closed(&t));
        if (closed) {
            if (n_gone == cap_gone) {
                size_t cap = cap_gone ? 2 * cap_gone : 16;
                bwc_relay_lane **p = realloc(gone, cap * sizeof *p);
                if (!p)
                    continue;
                gone = p;
                cap_gone = cap;
            }
            gone[n_gone++] = l;
            continue;
        }
        if (f < 0 || !l->has_receipt)
            continue;
        if (!bwc_relay_lane_settle_due(&l->receipt, &t, &why))
            continue;
        if (l->submitted_seq == l->receipt.seq && next < l->submitted_height + RESUBMIT_BLOCKS)
            continue;
        submit(r, l, next, why);
    }
    /* Removing during bwc_map_next is allowed only for the entry just returned. */
    for (size_t i = 0; i < n_gone; i++) {
        char hex[65];
        bwc_hex_encode(hex, gone[i]->id.b, 32);
        bwc_log_debug(BWC_LOG_RELAY, "relay: forgetting lane %s: its settle window is over", hex);
        lane_drop(r, gone[i]);
    }
    free(gone);
}

/* ---- stats ---- */

json_t *bwc_relay_stats(bwc_relay_server *r)
{
    uint64_t now = bwc_relay_now(r);
    bwc_state_view v = r->host.view(r->host.ctx);
    uint64_t next = r->host.height(r->host.ctx) + 1;
    bwc_relay_quota_roll(&r->quota, now);
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "address", bwc_json_address(r->cfg.hrp, &r->pub));
    json_object_set_new(o, "port", json_integer(r->port));
    json_object_set_new(o, "region", json_string(r->region));
    json_object_set_new(o, "price", bwc_json_u64(r->cfg.price));
    json_object_set_new(o, "credit_window", bwc_json_u64(r->cfg.credit_window));
    json_object_set_new(o, "settle_multiple", bwc_json_u64(r->cfg.settle_multiple));

    json_t *served = json_object();
    json_object_set_new(served, "total_bytes", bwc_json_u64(r->quota.total));
    json_object_set_new(served, "period_bytes", bwc_json_u64(r->quota.used));
    json_object_set_new(served, "period_start", bwc_json_u64(r->quota.period_start));
    json_object_set_new(served, "period_end",
                        bwc_json_u64(r->quota.period_start + BWC_RELAY_PERIOD_SECONDS));
    json_object_set_new(served, "chunks_since_start", bwc_json_u64(r->chunks_served));
    json_object_set_new(served, "requests_since_start", bwc_json_u64(r->requests));
    json_object_set_new(o, "served", served);

    /* Earnings: settled = the relay account's balance; unsettled = what the newest receipts
     * hold above what the chain has paid, for lanes that can still settle. */
    bwc_account acct;
    if (bwc_state_account(&v, &r->pub, &acct) < 0)
        memset(&acct, 0, sizeof acct);
    uint64_t unsettled = 0;
    size_t n_lanes = 0, n_paid = 0, n_pool = 0;
    const unsigned char *k;
    size_t kl;
    void *val;
    for (size_t i = 0; bwc_map_next(&r->lanes, &i, &k, &kl, &val);) {
        bwc_relay_lane *l = val;
        bwc_settle_terms t;
        memset(&t, 0, sizeof t);
        t.next_height = next;
        t.settle_window = r->cfg.params->settle_window;
        n_lanes++;
        n_pool += l->is_pool != 0;
        if (!l->has_receipt)
            continue;
        n_paid++;
        if (chain_terms(r, &v, l, &t) > 0 &&
            !bwc_relay_settle_closed(&t) &&
            l->receipt.amount > t.chain_claimed)
            unsettled = unsettled + (l->receipt.amount - t.chain_claimed) < unsettled
                            ? UINT64_MAX
                            : unsettled + (l->receipt.amount - t.chain_claimed);
    }
    json_t *earn = json_object();
    json_object_set_new(earn, "settled_balance", bwc_json_u64(acct.balance));
    json_object_set_new(earn, "unsettled", bwc_json_u64(unsettled));
    json_object_set_new(earn, "bytes_served_on_chain", bwc_json_u64(acct.bytes_served));
    json_object_set_new(earn, "settlements_since_start", bwc_json_u64(r->settlements));
    json_object_set_new(o, "earnings", earn);

    json_t *ceil = json_object();
    uint64_t limit = bwc_relay_quota_limit(&r->quota, r->cfg.quota, r->cfg.burst_quota, now);
    json_object_set_new(ceil, "rate", bwc_json_u64(r->cfg.rate));
    json_object_set_new(ceil, "quota", bwc_json_u64(r->cfg.quota));
    json_object_set_new(ceil, "burst_quota", bwc_json_u64(r->cfg.burst_quota));
    json_object_set_new(ceil, "quota_in_force", bwc_json_u64(limit));
    json_object_set_new(ceil, "used", bwc_json_u64(r->quota.used));
    json_object_set_new(ceil, "remaining",
                        limit == 0 ? json_null()
                                   : bwc_json_u64(limit > r->quota.used ? limit - r->quota.used : 0));
    json_object_set_new(o, "ceilings", ceil);

    json_t *burst = json_object();
    int active = bwc_relay_quota_burst_active(&r->quota, now);
    json_object_set_new(burst, "active", json_boolean(active));
    json_object_set_new(burst, "until", active ? bwc_json_u64(r->quota.burst_until) : json_null());
    json_object_set_new(o, "burst", burst);

    json_t *lanes = json_object();
    json_object_set_new(lanes, "total", json_integer((json_int_t)n_lanes));
    json_object_set_new(lanes, "pool", json_integer((json_int_t)n_pool));
    json_object_set_new(lanes, "with_receipt", json_integer((json_int_t)n_paid));
    json_object_set_new(lanes, "receipts_accepted_since_start", bwc_json_u64(r->receipts_accepted));
    json_object_set_new(o, "channels", lanes);

    bwc_chunkstore_usage u;
    bwc_chunkstore_get_usage(r->store, &u);
    json_t *st = json_object();
    json_object_set_new(st, "used_bytes", bwc_json_u64(u.used));
    json_object_set_new(st, "limit_bytes", bwc_json_u64(u.limit));
    json_object_set_new(st, "contents", json_integer((json_int_t)u.contents));
    json_object_set_new(st, "pinned", json_integer((json_int_t)u.pinned));
    json_object_set_new(st, "evicted_since_start", bwc_json_u64(u.evicted));
    json_object_set_new(o, "store", st);
    json_object_set_new(o, "connections", json_integer(r->n_conns));
    json_object_set_new(o, "fetches", json_integer(r->n_fetches));
    return o;
}

/* ---- bursts ---- */

int bwc_relay_burst(bwc_relay_server *r, uint64_t hours, char *err, size_t errlen)
{
    uint64_t now = bwc_relay_now(r);
    if (hours != 0 && (hours < BWC_RELAY_BURST_MIN_HOURS || hours > BWC_RELAY_BURST_MAX_HOURS))
        return bwc_errf(err, errlen, "a burst (-relayburst) lasts %u to %u hours (0 ends one)",
                    BWC_RELAY_BURST_MIN_HOURS, BWC_RELAY_BURST_MAX_HOURS);
    bwc_relay_quota_roll(&r->quota, now);
    r->quota.burst_until = hours ? now + hours * 3600u : 0;
    if (bwc_relay_persist(r, NULL, NULL, NULL, 0, 1) != 0)
        return bwc_errf(err, errlen, "cannot write the relay state");
    if (hours)
        bwc_log(BWC_LOG_INFO, "relay: burst window open for %llu hours", (unsigned long long)hours);
    else
        bwc_log(BWC_LOG_INFO, "relay: burst window closed");
    return 0;
}

/* ---- import ---- */

int bwc_relay_import(bwc_relay_server *r, const char *path, int pin, uint64_t chunk_size,
                     bwc_hash *cid, char *err, size_t errlen)
{
    bwc_manifest m;
    bwc_buf enc = BWC_BUF_INIT;
    unsigned char *buf = NULL;
    int fd = -1, rc = -1, added = 0;
    uint64_t now = bwc_relay_now(r);
    if (bwc_manifest_from_file(&m, path, chunk_size ? chunk_size : BWC_DEFAULT_CHUNK_SIZE, err,
                               errlen) != 0)
        return -1;
    if (!bwc_manifest_encode(&m, &enc) || enc.oom) {
        bwc_errf(err, errlen, "out of memory");
        goto out;
    }
    if (!bwc_manifest_content_id(&m, cid)) {
        bwc_errf(err, errlen, "out of memory");
        goto out;
    }
    added = bwc_chunkstore_manifest(r->store, cid) == NULL;
    if (bwc_chunkstore_add_manifest(r->store, enc.data, enc.len, cid, pin, now, NULL, err,
                                    errlen) != 0) {
        added = 0;
        goto out;
    }
    if (!(buf = malloc(m.chunk_size))) {
        bwc_errf(err, errlen, "out of memory");
        goto out;
    }
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        bwc_errf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        goto out;
    }
    for (size_t i = 0; i < m.n_chunks; i++) {
        size_t len = (size_t)bwc_manifest_chunk_len(&m, i), off = 0;
        while (off < len) {
            ssize_t n = read(fd, buf + off, len - off);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            off += (size_t)n;
        }
        if (off != len) {
            bwc_errf(err, errlen, "%s changed while it was imported", path);
            goto out;
        }
        /* put_chunk checks the bytes against the manifest: a file changed between the two
         * reads is refused, never stored under the wrong hash. */
        if (bwc_chunkstore_put_chunk(r->store, cid, (uint32_t)i, buf, len, now, err, errlen) != 0)
            goto out;
    }
    /* pin says what the content is now: importing again with pin false unpins it. */
    if (bwc_chunkstore_pin(r->store, cid, pin) != 0) {
        bwc_errf(err, errlen, "cannot set the pin of the imported content");
        goto out;
    }
    rc = 0;
out:
    if (rc != 0 && added)
        bwc_chunkstore_remove(r->store, cid);
    if (fd >= 0)
        close(fd);
    free(buf);
    bwc_buf_free(&enc);
    bwc_manifest_free(&m);
    return rc;
}

/* ---- start and stop ---- */

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

bwc_relay_server *bwc_relay_start(struct event_base *base, const bwc_relay_config *cfg,
                                  const bwc_relay_host *host, char *err, size_t errlen)
{
    char path[4200];
    size_t bad = 0;
    bwc_relay_server *r = calloc(1, sizeof *r);
    if (!r) {
        bwc_errf(err, errlen, "out of memory");
        return NULL;
    }
    r->base = base;
    r->cfg = *cfg;
    r->host = *host;
    bwc_map_init(&r->lanes);
    bwc_map_init(&r->free_ids);
    /* Our copies of what the config points to; the rest stays by reference (documented). */
    r->cfg.peers = NULL; /* bind stays the caller's until the server is bound (below) */
    r->cfg.free_ids = NULL;
    r->cfg.keyfile = dup_or_null(cfg->keyfile);
    r->cfg.dir = NULL;
    r->cfg.hrp = dup_or_null(cfg->hrp);
    r->cfg.region = NULL;
    r->cfg.version = NULL;
    if (!cfg->dir || strlen(cfg->dir) >= sizeof r->dir - 64) {
        bwc_errf(err, errlen, "bad relay directory");
        goto bad;
    }
    snprintf(r->dir, sizeof r->dir, "%s", cfg->dir);
    snprintf(r->region, sizeof r->region, "%s", cfg->region ? cfg->region : "ZZ");
    if (strlen(r->region) != 2 || r->region[0] < 'A' || r->region[0] > 'Z' || r->region[1] < 'A' ||
        r->region[1] > 'Z') {
        bwc_errf(err, errlen, "-relayregion must be two capital letters (ISO 3166-1 alpha-2)");
        goto bad;
    }
    snprintf(r->version, sizeof r->version, "%s", cfg->version ? cfg->version : "");
    if (!r->cfg.credit_window)
        r->cfg.credit_window = BWC_RELAY_CREDIT_WINDOW;
    if (r->cfg.credit_window < BWC_RELAY_CREDIT_WINDOW_MIN ||
        r->cfg.credit_window > BWC_RELAY_CREDIT_WINDOW_MAX) {
        bwc_errf(err, errlen, "-relaycreditwindow is %u to %u bytes", BWC_RELAY_CREDIT_WINDOW_MIN,
                 BWC_RELAY_CREDIT_WINDOW_MAX);
        goto bad;
    }
    if (!r->cfg.settle_multiple)
        r->cfg.settle_multiple = BWC_RELAY_SETTLE_MULTIPLE;
    if (!r->cfg.store_bytes)
        r->cfg.store_bytes = (uint64_t)BWC_RELAY_STORE_MIB << 20;
    if (!r->cfg.burst_quota)
        r->cfg.burst_quota = r->cfg.quota;
    if (r->cfg.quota && r->cfg.burst_quota < r->cfg.quota) {
        bwc_errf(err, errlen, "-relayburstquota must be at least -relayquota");
        goto bad;
    }
    if (!r->cfg.max_connections)
        r->cfg.max_connections = BWC_RELAY_MAX_CONNECTIONS;
    if (r->cfg.timeout_seconds <= 0)
        r->cfg.timeout_seconds = BWC_RELAY_TIMEOUT_SECONDS;
    if (!r->cfg.max_fetches)
        r->cfg.max_fetches = BWC_RELAY_MAX_FETCHES;
    if ((cfg->keyfile && !r->cfg.keyfile) || (cfg->hrp && !r->cfg.hrp)) {
        bwc_errf(err, errlen, "out of memory");
        goto bad;
    }
    for (size_t i = 0; i < cfg->n_free; i++)
        if (bwc_map_put(&r->free_ids, cfg->free_ids[i].b, 32, (void *)1) != 0) {
            bwc_errf(err, errlen, "out of memory");
            goto bad;
        }
    if (cfg->n_peers) {
        r->peers = calloc(cfg->n_peers, sizeof *r->peers);
        if (!r->peers) {
            bwc_errf(err, errlen, "out of memory");
            goto bad;
        }
        for (size_t i = 0; i < cfg->n_peers; i++) {
            const char *p = cfg->peers[i];
            if (!bwc_endpoint_valid(p, strlen(p))) {
                bwc_errf(err, errlen, "-relaypeer=%s is not an endpoint http://HOST:PORT", p);
                goto bad;
            }
            if (!(r->peers[r->n_peers++] = strdup(p))) {
                bwc_errf(err, errlen, "out of memory");
                goto bad;
            }
        }
    }
    if (mkdir(r->dir, 0700) != 0 && errno != EEXIST) {
        bwc_errf(err, errlen, "cannot create %s: %s", r->dir, strerror(errno));
        goto bad;
    }
    if (load_key(r, err, errlen) != 0)
        goto bad;
    snprintf(path, sizeof path, "%s/chunks", r->dir);
    if (!(r->store = bwc_chunkstore_open(path, r->cfg.store_bytes, err, errlen)))
        goto bad;
    snprintf(path, sizeof path, "%s/state", r->dir);
    if (!(r->db = bwc_relay_db_open(path, err, errlen)))
        goto bad;
    if (bwc_relay_db_load_quota(r->db, &r->quota) < 0) {
        bwc_errf(err, errlen, "the relay state's quota record is unreadable");
        goto bad;
    }
    uint64_t now_ms = bwc_relay_now_ms(r);
    bwc_relay_quota_roll(&r->quota, now_ms / 1000u);
    if (cfg->burst_hours && bwc_relay_burst(r, cfg->burst_hours, err, errlen) != 0)
        goto bad;
    if (bwc_relay_persist(r, NULL, NULL, NULL, 0, 1) != 0) {
        bwc_errf(err, errlen, "cannot write the relay state in %s", path);
        goto bad;
    }
    if (bwc_relay_db_load_lanes(r->db, cfg->chain_id, take_lane, r, &bad) != 0) {
        bwc_errf(err, errlen, "cannot read the relay state in %s", path);
        goto bad;
    }
    if (bad)
        bwc_log(BWC_LOG_WARNING, "relay: %zu lane records did not decode and were skipped", bad);
    bwc_relay_bucket_init(&r->bucket, r->cfg.rate, now_ms);
    if (bwc_relay_http_start(r, err, errlen) != 0)
        goto bad;
    r->cfg.bind = NULL;
    r->cfg.n_bind = 0;
    json_t *addr = bwc_json_address(r->cfg.hrp, &r->pub);
    bwc_log(BWC_LOG_INFO, "relay: address %s, HTTP on port %u, %zu lanes",
            addr ? json_string_value(addr) : "?", (unsigned)r->port, bwc_map_size(&r->lanes));
    json_decref(addr);
    bwc_relay_on_block(r);
    return r;
bad:
    bwc_relay_stop(r);
    return NULL;
}

void bwc_relay_stop(bwc_relay_server *r)
{
    if (!r)
        return;
    bwc_relay_fetch_stop(r);
    bwc_relay_http_stop(r);
    const unsigned char *k;
    size_t kl;
    void *v;
    for (size_t i = 0; bwc_map_next(&r->lanes, &i, &k, &kl, &v);) {
        bwc_relay_lane_free(v);
        free(v);
    }
    bwc_map_free(&r->lanes);
    bwc_map_free(&r->free_ids);
    bwc_chunkstore_close(r->store);
    bwc_relay_db_close(r->db);
    for (size_t i = 0; i < r->n_peers; i++)
        free(r->peers[i]);
    free(r->peers);
    free((void *)r->cfg.keyfile);
    free((void *)r->cfg.hrp);
    bwc_cleanse(r->key, sizeof r->key);
    free(r);
}

uint16_t bwc_relay_port(const bwc_relay_server *r)
{
    return r->port;
}
