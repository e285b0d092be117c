/* chunkstore.c: content folders of manifest + chunk files, LRU eviction, pins, open segments. */
#include "relay/chunkstore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "common/fileio.h"
#include "common/hex.h"
#include "common/log.h"
#include "common/map.h"
#include "common/random.h"
#include "consensus/hash.h"
#include "relay/path.h"

#define MAX_INDEX (1u << 18) /* PROTOCOL.md §3.5: at most 2^18 chunks */
#define TOUCH_SECONDS 60

typedef struct {
    bwc_hash cid;
    int pinned;
    uint64_t bytes;    /* every file of the folder */
    uint64_t last_use; /* unix seconds */
    uint64_t touched;  /* last time the folder's mtime was set */
    int have_manifest; /* decoded and checked */
    bwc_manifest m;
    unsigned char *have; /* bitmap of stored chunks */
    size_t have_bytes;
} content;

typedef struct seg_entry {
    unsigned char key[36]; /* cid || u32be index */
    struct evbuffer_file_segment *seg;
    uint64_t len;
    struct seg_entry *prev, *next; /* LRU list, most recent first */
} seg_entry;

struct bwc_chunkstore {
    char dir[3800];
    uint64_t limit, used, evicted;
    bwc_map contents; /* cid -> content * */
    bwc_map segs;     /* key -> seg_entry * */
    seg_entry *seg_head, *seg_tail;
    size_t n_segs;
    unsigned char *scratch; /* a chunk's worth, for checking */
    size_t scratch_len;
};


static void content_dir(const bwc_chunkstore *cs, const bwc_hash *cid, char *out, size_t n)
{
    char hex[65];
    bwc_hex_encode(hex, cid->b, 32);
    snprintf(out, n, "%s/%s", cs->dir, hex);
}


/* Writes data to folder/name through a temporary file of its own (pull-through may write
 * the same chunk twice at once): write, fsync, rename. With sync_dir the folder is fsynced
 * too, so the rename itself survives a power cut. */
static int write_atomic(const char *folder, const char *name, const void *data, size_t len,
                        int sync_dir, char *err, size_t errlen)
{
    char dst[4200];
    if ((size_t)snprintf(dst, sizeof dst, "%s/%s", folder, name) >= sizeof dst)
        return bwc_errf(err, errlen, "path too long: %.200s", folder);
    return bwc_file_replace(dst, data, len, 0600,
                            BWC_FILE_SYNC | BWC_FILE_UNIQUE_TMP |
                                (sync_dir ? BWC_FILE_SYNC_DIR : 0),
                            err, errlen);
}

static int read_file(const char *path, unsigned char **out, size_t *len, size_t max)
{
    *out = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) != 0 || st.st_size < 0 || (uint64_t)st.st_size > max) {
        close(fd);
        return -1;
    }
    size_t n = (size_t)st.st_size;
    unsigned char *buf = malloc(n ? n : 1);
    size_t off = 0;
    while (buf && off < n) {
        ssize_t r = read(fd, buf + off, n - off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        off += (size_t)r;
    }
    close(fd);
    if (!buf || off != n) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}

/* ---- open segments ---- */

static void seg_key(unsigned char key[36], const bwc_hash *cid, uint32_t index)
{
    memcpy(key, cid->b, 32);
    key[32] = (unsigned char)(index >> 24);
    key[33] = (unsigned char)(index >> 16);
    key[34] = (unsigned char)(index >> 8);
    key[35] = (unsigned char)index;
}

static void seg_unlink(bwc_chunkstore *cs, seg_entry *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        cs->seg_head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        cs->seg_tail = e->prev;
    e->prev = e->next = NULL;
}

static void seg_push_front(bwc_chunkstore *cs, seg_entry *e)
{
    e->prev = NULL;
    e->next = cs->seg_head;
    if (cs->seg_head)
        cs->seg_head->prev = e;
    cs->seg_head = e;
    if (!cs->seg_tail)
        cs->seg_tail = e;
}

static void seg_drop(bwc_chunkstore *cs, seg_entry *e)
{
    seg_unlink(cs, e);
    bwc_map_del(&cs->segs, e->key, sizeof e->key);
    /* libevent counts references: buffers still sending it keep the descriptor open. */
    evbuffer_file_segment_free(e->seg);
    free(e);
    cs->n_segs--;
}

static void seg_drop_content(bwc_chunkstore *cs, const bwc_hash *cid)
{
    seg_entry *e = cs->seg_head;
    while (e) {
        seg_entry *next = e->next;
        if (memcmp(e->key, cid->b, 32) == 0)
            seg_drop(cs, e);
        e = next;
    }
}

/* ---- contents ---- */

static content *find(const bwc_chunkstore *cs, const bwc_hash *cid)
{
    return bwc_map_get(&cs->contents, cid->b, 32);
}

static int have_bit(const content *c, uint32_t i)
{
    return (size_t)(i / 8) < c->have_bytes && (c->have[i / 8] >> (i % 8) & 1);
}

static int set_bit(content *c, uint32_t i, int on)
{
    if (i >= MAX_INDEX)
        return -1;
    if ((size_t)(i / 8) >= c->have_bytes) {
        if (!on)
            return 0;
        size_t n =
            MAX_INDEX / 8 < (size_t)(i / 8 + 1) * 2 ? MAX_INDEX / 8 : (size_t)(i / 8 + 1) * 2;
        unsigned char *p = realloc(c->have, n);
        if (!p)
            return -1;
        memset(p + c->have_bytes, 0, n - c->have_bytes);
        c->have = p;
        c->have_bytes = n;
    }
    if (on)
        c->have[i / 8] |= (unsigned char)(1u << (i % 8));
    else
        c->have[i / 8] &= (unsigned char)~(1u << (i % 8));
    return 0;
}

static void content_free(content *c)
{
    if (c->have_manifest)
        bwc_manifest_free(&c->m);
    free(c->have);
    free(c);
}

static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        struct dirent *de;
        char f[4200];
        while ((de = readdir(d))) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            snprintf(f, sizeof f, "%s/%s", path, de->d_name);
            unlink(f);
        }
        closedir(d);
    }
    rmdir(path);
}

int bwc_chunkstore_remove(bwc_chunkstore *cs, const bwc_hash *cid)
{
    content *c = find(cs, cid);
    char path[3900];
    content_dir(cs, cid, path, sizeof path);
    seg_drop_content(cs, cid);
    remove_tree(path);
    if (c) {
        bwc_map_del(&cs->contents, cid->b, 32);
        cs->used -= c->bytes <= cs->used ? c->bytes : cs->used;
        content_free(c);
    }
    return 0;
}

/* Index of a chunk file name: decimal without leading zeros, below 2^18. */
static int chunk_name(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    size_t n = 0;
    if (s[0] == '0' && s[1])
        return 0;
    for (; s[n]; n++) {
        if (s[n] < '0' || s[n] > '9' || n >= 7)
            return 0;
        v = v * 10 + (uint32_t)(s[n] - '0');
    }
    if (n == 0 || v >= MAX_INDEX)
        return 0;
    *out = v;
    return 1;
}

/* Reads one content folder into memory; removes leftovers, and the folder when it has no
 * manifest. */
static int scan_content(bwc_chunkstore *cs, const char *name)
{
    bwc_hash cid;
    char path[3900], f[4200];
    struct stat st;
    if (!bwc_relay_parse_hex32(name, cid.b))
        return 0; /* not ours: leave it alone */
    snprintf(path, sizeof path, "%s/%s", cs->dir, name);
    snprintf(f, sizeof f, "%s/manifest.cbor", path);
    if (stat(f, &st) != 0) {
        remove_tree(path);
        return 0;
    }
    content *c = calloc(1, sizeof *c);
    if (!c)
        return -1;
    c->cid = cid;
    DIR *d = opendir(path);
    if (!d) {
        free(c);
        return 0;
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        uint32_t idx;
        snprintf(f, sizeof f, "%s/%s", path, de->d_name);
        if (strncmp(de->d_name, ".tmp-", 5) == 0) {
            unlink(f);
            continue;
        }
        if (stat(f, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (strcmp(de->d_name, "pinned") == 0)
            c->pinned = 1;
        else if (chunk_name(de->d_name, &idx))
            set_bit(c, idx, 1);
        else if (strcmp(de->d_name, "manifest.cbor") != 0)
            continue;
        c->bytes += (uint64_t)st.st_size;
    }
    closedir(d);
    c->last_use = stat(path, &st) == 0 ? (uint64_t)st.st_mtime : 0;
    c->touched = c->last_use;
    if (bwc_map_put(&cs->contents, cid.b, 32, c) != 0) {
        content_free(c);
        return -1;
    }
    cs->used += c->bytes;
    return 0;
}

bwc_chunkstore *bwc_chunkstore_open(const char *dir, uint64_t limit, char *err, size_t errlen)
{
    bwc_chunkstore *cs = calloc(1, sizeof *cs);
    if (!cs) {
        bwc_errf(err, errlen, "out of memory");
        return NULL;
    }
    if (strlen(dir) >= sizeof cs->dir - 100) {
        bwc_errf(err, errlen, "chunk store path too long");
        free(cs);
        return NULL;
    }
    snprintf(cs->dir, sizeof cs->dir, "%s", dir);
    cs->limit = limit;
    bwc_map_init(&cs->contents);
    bwc_map_init(&cs->segs);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        bwc_errf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        goto bad;
    }
    DIR *d = opendir(dir);
    if (!d) {
        bwc_errf(err, errlen, "cannot read %s: %s", dir, strerror(errno));
        goto bad;
    }
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d)))
        if (de->d_name[0] != '.')
            rc = scan_content(cs, de->d_name);
    closedir(d);
    if (rc != 0) {
        bwc_errf(err, errlen, "out of memory reading %s", dir);
        goto bad;
    }
    return cs;
bad:
    bwc_chunkstore_close(cs);
    return NULL;
}

void bwc_chunkstore_close(bwc_chunkstore *cs)
{
    if (!cs)
        return;
    while (cs->seg_head)
        seg_drop(cs, cs->seg_head);
    const unsigned char *k;
    size_t kl;
    void *v;
    for (size_t i = 0; bwc_map_next(&cs->contents, &i, &k, &kl, &v);)
        content_free(v);
    bwc_map_free(&cs->contents);
    bwc_map_free(&cs->segs);
    free(cs->scratch);
    free(cs);
}

static void touch(bwc_chunkstore *cs, content *c, uint64_t now)
{
    c->last_use = now;
    if (now >= c->touched + TOUCH_SECONDS) {
        char path[3900];
        struct timespec ts[2] = {{(time_t)now, 0}, {(time_t)now, 0}};
        content_dir(cs, &c->cid, path, sizeof path);
        utimensat(AT_FDCWD, path, ts, 0);
        c->touched = now;
    }
}

const bwc_manifest *bwc_chunkstore_manifest(bwc_chunkstore *cs, const bwc_hash *cid)
{
    content *c = find(cs, cid);
    if (!c)
        return NULL;
    if (c->have_manifest)
        return &c->m;
    char path[3900];
    unsigned char *raw;
    size_t len;
    bwc_result res;
    bwc_hash id;
    content_dir(cs, cid, path, sizeof path);
    strncat(path, "/manifest.cbor", sizeof path - strlen(path) - 1);
    if (read_file(path, &raw, &len, BWC_MANIFEST_MAX_BYTES) != 0) {
        bwc_log(BWC_LOG_WARNING, "relay store: cannot read %s: removing the content", path);
        bwc_chunkstore_remove(cs, cid);
        return NULL;
    }
    int ok = bwc_manifest_decode(&c->m, raw, len, &res);
    free(raw);
    if (!ok || !bwc_manifest_content_id(&c->m, &id) || memcmp(id.b, cid->b, 32) != 0) {
        if (ok)
            bwc_manifest_free(&c->m);
        bwc_log(BWC_LOG_WARNING, "relay store: %s does not match its content id: removing it",
                path);
        bwc_chunkstore_remove(cs, cid);
        return NULL;
    }
    c->have_manifest = 1;
    return &c->m;
}

int bwc_chunkstore_manifest_path(bwc_chunkstore *cs, const bwc_hash *cid, char *out, size_t outlen)
{
    if (!find(cs, cid))
        return 0;
    content_dir(cs, cid, out, outlen);
    strncat(out, "/manifest.cbor", outlen - strlen(out) - 1);
    return 1;
}

static int set_pin_file(bwc_chunkstore *cs, content *c, int pin)
{
    char path[3900], f[4200];
    content_dir(cs, &c->cid, path, sizeof path);
    snprintf(f, sizeof f, "%s/pinned", path);
    if (pin) {
        if (write_atomic(path, "pinned", "", 0, 1, NULL, 0) != 0)
            return -1;
    } else if (unlink(f) != 0 && errno != ENOENT) {
        return -1;
    } else {
        bwc_fsync_dir(path);
    }
    c->pinned = pin;
    return 0;
}

int bwc_chunkstore_add_manifest(bwc_chunkstore *cs, const unsigned char *raw, size_t len,
                                const bwc_hash *expect, int pin, uint64_t now, bwc_hash *cid,
                                char *err, size_t errlen)
{
    bwc_manifest m;
    bwc_result res;
    bwc_hash id;
    if (!bwc_manifest_decode(&m, raw, len, &res))
        return bwc_errf(err, errlen, "manifest does not decode: %s", res.reject);
    int ok = bwc_manifest_content_id(&m, &id);
    if (!ok) {
        bwc_manifest_free(&m);
        return bwc_errf(err, errlen, "out of memory");
    }
    if (expect && memcmp(id.b, expect->b, 32) != 0) {
        bwc_manifest_free(&m);
        return bwc_errf(err, errlen, "manifest does not hash to the content id");
    }
    if (cid)
        *cid = id;
    content *c = find(cs, &id);
    if (c) {
        bwc_manifest_free(&m);
        if (pin && !c->pinned && set_pin_file(cs, c, 1) != 0)
            return bwc_errf(err, errlen, "cannot pin: %s", strerror(errno));
        touch(cs, c, now);
        return 0;
    }
    char path[3900];
    content_dir(cs, &id, path, sizeof path);
    if (mkdir(path, 0700) != 0 && errno != EEXIST) {
        bwc_manifest_free(&m);
        return bwc_errf(err, errlen, "cannot create %s: %s", path, strerror(errno));
    }
    if (write_atomic(path, "manifest.cbor", raw, len, 1, err, errlen) != 0) {
        bwc_manifest_free(&m);
        remove_tree(path);
        return -1;
    }
    c = calloc(1, sizeof *c);
    if (!c || bwc_map_put(&cs->contents, id.b, 32, c) != 0) {
        free(c);
        bwc_manifest_free(&m);
        remove_tree(path);
        return bwc_errf(err, errlen, "out of memory");
    }
    c->cid = id;
    c->m = m;
    c->have_manifest = 1;
    c->bytes = len;
    c->last_use = c->touched = now;
    cs->used += len;
    if (pin && set_pin_file(cs, c, 1) != 0)
        return bwc_errf(err, errlen, "cannot pin: %s", strerror(errno));
    return 0;
}

int bwc_chunkstore_has_chunk(bwc_chunkstore *cs, const bwc_hash *cid, uint32_t index)
{
    content *c = find(cs, cid);
    return c && have_bit(c, index);
}

/* Evicts unpinned contents other than keep, least recently used first, until need more bytes
 * fit. O(contents) per eviction. Returns 0, or -1 when pinned content leaves no room. */
static int make_room(bwc_chunkstore *cs, const bwc_hash *keep, uint64_t need)
{
    while (cs->used + need > cs->limit) {
        content *victim = NULL;
        const unsigned char *k;
        size_t kl;
        void *v;
        for (size_t i = 0; bwc_map_next(&cs->contents, &i, &k, &kl, &v);) {
            content *c = v;
            if (c->pinned || memcmp(c->cid.b, keep->b, 32) == 0)
                continue;
            if (!victim || c->last_use < victim->last_use)
                victim = c;
        }
        if (!victim)
            return -1;
        char hex[65];
        bwc_hex_encode(hex, victim->cid.b, 32);
        bwc_log_debug(BWC_LOG_RELAY, "store: evicting %s (%llu bytes)", hex,
                      (unsigned long long)victim->bytes);
        bwc_hash cid = victim->cid;
        bwc_chunkstore_remove(cs, &cid);
        cs->evicted++;
    }
    return 0;
}

int bwc_chunkstore_put_chunk(bwc_chunkstore *cs, const bwc_hash *cid, uint32_t index,
                             const void *data, size_t len, uint64_t now, char *err, size_t errlen)
{
    const bwc_manifest *m = bwc_chunkstore_manifest(cs, cid);
    content *c = find(cs, cid);
    bwc_hash h;
    if (!m || !c)
        return bwc_errf(err, errlen, "no manifest for this content");
    if (index >= m->n_chunks || len != bwc_manifest_chunk_len(m, index))
        return bwc_errf(err, errlen, "chunk %u has the wrong index or length", index);
    bwc_sha256(&h, data, len);
    if (memcmp(h.b, m->chunks[index].b, 32) != 0)
        return bwc_errf(err, errlen, "chunk %u does not match its hash in the manifest", index);
    if (have_bit(c, index))
        return 0;
    if (make_room(cs, cid, len) != 0)
        return bwc_errf(err, errlen, "store full (pinned content fills -relaystore)");
    char path[3900], name[16];
    content_dir(cs, cid, path, sizeof path);
    snprintf(name, sizeof name, "%u", index);
    if (write_atomic(path, name, data, len, 0, err, errlen) != 0)
        return -1;
    if (set_bit(c, index, 1) != 0)
        return bwc_errf(err, errlen, "out of memory");
    c->bytes += len;
    cs->used += len;
    touch(cs, c, now);
    return 0;
}

/* The bytes of every file in c's folder, as the scan at open counts them. */
static uint64_t folder_bytes(bwc_chunkstore *cs, const content *c)
{
    char path[3900], f[4200];
    struct stat st;
    uint64_t sum = 0;
    content_dir(cs, &c->cid, path, sizeof path);
    DIR *d = opendir(path);
    if (!d)
        return 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        snprintf(f, sizeof f, "%s/%s", path, de->d_name);
        if (de->d_name[0] != '.' && stat(f, &st) == 0 && S_ISREG(st.st_mode))
            sum += (uint64_t)st.st_size;
    }
    closedir(d);
    return sum;
}

/* Drops a stored chunk that failed its check. The file may have changed size since it was
 * counted, so the folder is counted again (a rare event: O(files of the content)). */
static void drop_chunk(bwc_chunkstore *cs, content *c, uint32_t index, const char *f)
{
    bwc_log(BWC_LOG_WARNING, "relay store: %s is corrupt: deleted", f);
    unlink(f);
    set_bit(c, index, 0);
    uint64_t now_bytes = folder_bytes(cs, c);
    cs->used = cs->used - (c->bytes <= cs->used ? c->bytes : cs->used) + now_bytes;
    c->bytes = now_bytes;
}

int bwc_chunkstore_open_chunk(bwc_chunkstore *cs, const bwc_hash *cid, uint32_t index, uint64_t now,
                              struct evbuffer_file_segment **seg, uint64_t *len)
{
    unsigned char key[36];
    *seg = NULL;
    *len = 0;
    /* First: loading a manifest that fails its check removes the content. */
    const bwc_manifest *m = bwc_chunkstore_manifest(cs, cid);
    content *c = find(cs, cid);
    if (!m || !c || !have_bit(c, index) || index >= m->n_chunks)
        return 0;
    touch(cs, c, now);
    seg_key(key, cid, index);
    seg_entry *e = bwc_map_get(&cs->segs, key, sizeof key);
    if (e) {
        seg_unlink(cs, e);
        seg_push_front(cs, e);
        *seg = e->seg;
        *len = e->len;
        return 1;
    }
    uint64_t want = bwc_manifest_chunk_len(m, index);
    char path[3900], f[4200];
    content_dir(cs, cid, path, sizeof path);
    snprintf(f, sizeof f, "%s/%u", path, index);
    int fd = open(f, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        set_bit(c, index, 0);
        return errno == ENOENT ? 0 : -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return -1;
    }
    if ((uint64_t)st.st_size != want) {
        close(fd);
        drop_chunk(cs, c, index, f);
        return 0;
    }
    /* The first open checks the bytes against the manifest (≈ 130 µs per 256 KiB): a chunk
     * changed on disk is never served. */
    if (cs->scratch_len < want) {
        unsigned char *p = realloc(cs->scratch, want);
        if (!p) {
            close(fd);
            return -1;
        }
        cs->scratch = p;
        cs->scratch_len = want;
    }
    size_t off = 0;
    while (off < want) {
        ssize_t r = pread(fd, cs->scratch + off, want - off, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        off += (size_t)r;
    }
    bwc_hash h;
    if (off == want)
        bwc_sha256(&h, cs->scratch, want);
    if (off != want || memcmp(h.b, m->chunks[index].b, 32) != 0) {
        close(fd);
        drop_chunk(cs, c, index, f);
        return 0;
    }
    struct evbuffer_file_segment *s =
        evbuffer_file_segment_new(fd, 0, (ev_off_t)want, EVBUF_FS_CLOSE_ON_FREE);
    if (!s) {
        close(fd);
        return -1;
    }
    e = calloc(1, sizeof *e);
    if (!e || bwc_map_put(&cs->segs, key, sizeof key, e) != 0) {
        free(e);
        evbuffer_file_segment_free(s);
        return -1;
    }
    memcpy(e->key, key, sizeof key);
    e->seg = s;
    e->len = want;
    seg_push_front(cs, e);
    cs->n_segs++;
    while (cs->n_segs > BWC_CHUNKSTORE_OPEN_MAX)
        seg_drop(cs, cs->seg_tail);
    *seg = s;
    *len = want;
    return 1;
}

int bwc_chunkstore_pin(bwc_chunkstore *cs, const bwc_hash *cid, int pin)
{
    content *c = find(cs, cid);
    if (!c)
        return -1;
    if (!!c->pinned == !!pin)
        return 0;
    return set_pin_file(cs, c, !!pin);
}

int bwc_chunkstore_pinned(bwc_chunkstore *cs, const bwc_hash *cid)
{
    content *c = find(cs, cid);
    return c && c->pinned;
}

void bwc_chunkstore_get_usage(const bwc_chunkstore *cs, bwc_chunkstore_usage *u)
{
    memset(u, 0, sizeof *u);
    u->used = cs->used;
    u->limit = cs->limit;
    u->evicted = cs->evicted;
    const unsigned char *k;
    size_t kl;
    void *v;
    for (size_t i = 0; bwc_map_next(&cs->contents, &i, &k, &kl, &v);) {
        u->contents++;
        u->pinned += ((content *)v)->pinned != 0;
    }
}
