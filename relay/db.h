/* db.h: the relay's own LevelDB (<datadir>/<chain>/relay/state): lanes, their delivery logs and
 * the quota state, so nothing earned is lost across a restart.
 *
 * Keys: 'L' lane key (64) -> lane record; 'D' lane key (64) u64be(bytes_after) -> log entry;
 * 'Q' -> quota state. Writes are LevelDB batches without fsync: the batch is in the kernel's
 * page cache when bwc_relay_db_write returns, which survives kill -9 of bwcd (not a power cut;
 * doc/relay.md says what that costs). */
#ifndef BWC_RELAY_DB_H
#define BWC_RELAY_DB_H

#include <stddef.h>
#include <stdint.h>

#include "relay/ceiling.h"
#include "relay/lane.h"

typedef struct bwc_relay_db bwc_relay_db;
typedef struct bwc_relay_batch bwc_relay_batch;

/* Opens (creating) the database at path. Returns it, or NULL with err. */
bwc_relay_db *bwc_relay_db_open(const char *path, char *err, size_t errlen);
void bwc_relay_db_close(bwc_relay_db *db);

/* Reads the quota state: 1 found, 0 absent (*q zeroed), -1 error or bad record. */
int bwc_relay_db_load_quota(bwc_relay_db *db, bwc_relay_quota *q);

/* Calls fn for every stored lane with a heap lane (bwc_relay_lane_init'ed, receipt decoded and its
 * id computed under chain_id, log loaded) that fn takes over (free with bwc_relay_lane_free +
 * free). Records that do not decode are skipped and counted in *bad. Returns 0, or -1 on a read
 * error or when fn returns non-zero. */
int bwc_relay_db_load_lanes(bwc_relay_db *db, const bwc_hash *chain_id,
                            int (*fn)(void *arg, bwc_relay_lane *l), void *arg, size_t *bad);

bwc_relay_batch *bwc_relay_batch_new(void);
void bwc_relay_batch_free(bwc_relay_batch *b);
/* The lane record (served, digest, base, newest receipt). */
void bwc_relay_batch_lane(bwc_relay_batch *b, const bwc_relay_lane *l);
void bwc_relay_batch_entry(bwc_relay_batch *b, const bwc_relay_lane *l,
                           const bwc_relay_lane_entry *e);
void bwc_relay_batch_drop_entry(bwc_relay_batch *b, const bwc_relay_lane *l, uint64_t bytes_after);
/* The lane record and every entry of its (in-memory) log. */
void bwc_relay_batch_drop_lane(bwc_relay_batch *b, const bwc_relay_lane *l);
void bwc_relay_batch_quota(bwc_relay_batch *b, const bwc_relay_quota *q);

/* Writes the batch atomically (no fsync). Returns 0, or -1 with err. */
int bwc_relay_db_write(bwc_relay_db *db, bwc_relay_batch *b, char *err, size_t errlen);

#endif
