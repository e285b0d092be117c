/* ceiling.h: the donor's ceilings as pure arithmetic: a token bucket for the rate and a 30-day
 * quota with burst windows. Time is always an argument; nothing here reads a clock. */
#ifndef BWC_RELAY_CEILING_H
#define BWC_RELAY_CEILING_H

#include <stdint.h>

/* Token bucket in milli-bytes, allowed to go into debt: a request of n bytes passes when the
 * bucket holds min(n, capacity) bytes, and then takes all n. The bucket holds one second of
 * rate, so a chunk larger than one second's worth still passes once the bucket is full, and the
 * long-run average is exactly the rate. rate 0: unlimited. */
typedef struct {
    uint64_t rate;  /* bytes per second, 0: unlimited */
    int64_t tokens; /* milli-bytes; negative while in debt */
    uint64_t last_ms;
} bwc_relay_bucket;

/* A full bucket for rate at now_ms. rate is capped at 2^40 bytes/s (1 TiB/s). */
void bwc_relay_bucket_init(bwc_relay_bucket *b, uint64_t rate, uint64_t now_ms);

/* Takes n bytes at now_ms (a clock going backwards adds nothing). Returns 1, or 0 with
 * *retry_ms the wait until the same request would pass (>= 1). */
int bwc_relay_bucket_take(bwc_relay_bucket *b, uint64_t n, uint64_t now_ms, uint64_t *retry_ms);

/* Quota state, persisted by the relay. Periods are BWC_RELAY_PERIOD_SECONDS long, counted from
 * the first start. */
typedef struct {
    uint64_t period_start; /* unix seconds */
    uint64_t used;         /* bytes served in this period */
    uint64_t burst_until;  /* unix seconds; a burst is active while now < burst_until */
    uint64_t total;        /* bytes served, all periods */
} bwc_relay_quota;

/* Moves to the period that contains now (used restarts at 0). A zero period_start starts the
 * first period at now. */
void bwc_relay_quota_roll(bwc_relay_quota *q, uint64_t now);

/* 1 while a burst window is open at now. */
int bwc_relay_quota_burst_active(const bwc_relay_quota *q, uint64_t now);

/* The ceiling in force at now: burst_quota during a burst, else quota (0: unlimited). */
uint64_t bwc_relay_quota_limit(const bwc_relay_quota *q, uint64_t quota, uint64_t burst_quota,
                               uint64_t now);

/* 1 when n more bytes fit the ceiling in force at now (after rolling the period), else 0 with
 * *retry_s the seconds until the period ends (>= 1). */
int bwc_relay_quota_allows(bwc_relay_quota *q, uint64_t quota, uint64_t burst_quota, uint64_t n,
                           uint64_t now, uint64_t *retry_s);

/* Counts n bytes served (saturating). */
void bwc_relay_quota_add(bwc_relay_quota *q, uint64_t n);

#endif
