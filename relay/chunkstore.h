/* chunkstore.h: the relay's chunk store on disk, with a size limit, LRU eviction and pins.
 *
 * Layout under dir (doc/relay.md): one folder per content, named by its content id in
 * lower-case hex, holding manifest.cbor (the canonical manifest, PROTOCOL.md §3.5), one file
 * per chunk named by its index in decimal (so `sha256sum 0` checks chunk 0 against the
 * manifest) and, for pinned content, an empty file `pinned`. Every file is written to a
 * temporary name (".tmp-..."), fsynced and renamed into place; the manifest and the pin
 * marker also fsync the folder. A folder without a manifest and leftover temporary files are
 * removed when the store opens.
 *
 * The limit counts the bytes of every file. When a chunk would pass it, whole contents that
 * are not pinned are evicted, least recently used first (use is kept in memory and written
 * to the folder's mtime at most once a minute, so the order survives a restart). A chunk is
 * checked against its manifest (length and SHA-256) before it is stored and again the first
 * time it is opened for serving; one that fails is deleted and reads as absent. Open chunks
 * are kept as libevent file segments (at most BWC_CHUNKSTORE_OPEN_MAX), so serving one is a
 * sendfile from an open descriptor. */
#ifndef BWC_RELAY_CHUNKSTORE_H
#define BWC_RELAY_CHUNKSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "consensus/manifest.h"
#include "consensus/types.h"

struct evbuffer_file_segment;

#define BWC_CHUNKSTORE_OPEN_MAX 256

typedef struct bwc_chunkstore bwc_chunkstore;

/* Opens (creating, 0700) the store in dir with a limit of limit bytes; now (unix seconds) for
 * contents whose folder time is unreadable. Returns the store, or NULL with err. */
bwc_chunkstore *bwc_chunkstore_open(const char *dir, uint64_t limit, char *err, size_t errlen);
void bwc_chunkstore_close(bwc_chunkstore *cs);

/* The manifest of cid, loaded and checked (its id must be cid) on first use; NULL when the
 * store does not hold it (one that fails its check is removed with its content). Valid until
 * the content is evicted or the store closed. */
const bwc_manifest *bwc_chunkstore_manifest(bwc_chunkstore *cs, const bwc_hash *cid);

/* Writes the path of cid's manifest file to out. Returns 1 when the store holds it. */
int bwc_chunkstore_manifest_path(bwc_chunkstore *cs, const bwc_hash *cid, char *out, size_t outlen);

/* Stores a manifest (raw: its canonical encoding). It must decode and, when expect is not NULL,
 * have that content id. Manifests are stored even past the limit (they are small next to their
 * chunks; unpinned ones are evicted with their content). A content already held only has its
 * pin raised when pin is set. cid (may be NULL) gets the id. Returns 0, or -1 with err. */
int bwc_chunkstore_add_manifest(bwc_chunkstore *cs, const unsigned char *raw, size_t len,
                                const bwc_hash *expect, int pin, uint64_t now, bwc_hash *cid,
                                char *err, size_t errlen);

/* 1 when chunk index of cid is stored (not yet checked if never opened). */
int bwc_chunkstore_has_chunk(bwc_chunkstore *cs, const bwc_hash *cid, uint32_t index);

/* Stores chunk index of cid (whose manifest is held): len must be its length and its SHA-256
 * the manifest's. Evicts unpinned contents (never cid itself) to stay under the limit.
 * Returns 0, or -1 with err ("store full" when pinned content leaves no room). */
int bwc_chunkstore_put_chunk(bwc_chunkstore *cs, const bwc_hash *cid, uint32_t index,
                             const void *data, size_t len, uint64_t now, char *err, size_t errlen);

/* Opens chunk index of cid for serving: 1 with *seg (owned by the store: add it to an
 * evbuffer with evbuffer_add_file_segment, which keeps its own reference) and *len; 0 when it
 * is not stored or failed its check (it is deleted then); -1 on an I/O error. Marks the
 * content used at now. */
int bwc_chunkstore_open_chunk(bwc_chunkstore *cs, const bwc_hash *cid, uint32_t index, uint64_t now,
                              struct evbuffer_file_segment **seg, uint64_t *len);

/* Sets or clears cid's pin. Returns 0, or -1 when the store does not hold cid. */
int bwc_chunkstore_pin(bwc_chunkstore *cs, const bwc_hash *cid, int pin);
/* 1 when cid is held and pinned. */
int bwc_chunkstore_pinned(bwc_chunkstore *cs, const bwc_hash *cid);

/* Removes cid entirely. Returns 0 (also when absent), or -1. */
int bwc_chunkstore_remove(bwc_chunkstore *cs, const bwc_hash *cid);

typedef struct {
    uint64_t used; /* bytes of every file */
    uint64_t limit;
    size_t contents;
    size_t pinned;
    uint64_t evicted; /* contents evicted since open */
} bwc_chunkstore_usage;

void bwc_chunkstore_get_usage(const bwc_chunkstore *cs, bwc_chunkstore_usage *u);

#endif
