/* ceiling.c: token bucket and quota periods (pure; time comes in as an argument). */
#include "relay/ceiling.h"

#include "relay/relay.h"

#define RATE_MAX (1ull << 40)

void bwc_relay_bucket_init(bwc_relay_bucket *b, uint64_t rate, uint64_t now_ms)
{
    b->rate = rate > RATE_MAX ? RATE_MAX : rate;
    b->tokens = (int64_t)(b->rate * 1000u);
    b->last_ms = now_ms;
}

static void refill(bwc_relay_bucket *b, uint64_t now_ms)
{
    if (now_ms <= b->last_ms)
        return;
    /* Elapsed ms x rate (bytes/s) = milli-bytes; 128-bit so a long pause cannot wrap. */
    unsigned __int128 add = (unsigned __int128)(now_ms - b->last_ms) * b->rate;
    int64_t cap = (int64_t)(b->rate * 1000u);
    unsigned __int128 room = (unsigned __int128)((__int128)cap - b->tokens);
    b->tokens = add >= room ? cap : b->tokens + (int64_t)add;
    b->last_ms = now_ms;
}

int bwc_relay_bucket_take(bwc_relay_bucket *b, uint64_t n, uint64_t now_ms, uint64_t *retry_ms)
{
    *retry_ms = 0;
    if (b->rate == 0)
        return 1;
    refill(b, now_ms);
    uint64_t need = n < b->rate ? n : b->rate;
    if (n > RATE_MAX)
        n = RATE_MAX; /* no chunk is this large; keeps the debt within int64 */
    if (b->tokens >= (int64_t)(need * 1000u)) {
        b->tokens -= (int64_t)(n * 1000u);
        return 1;
    }
    uint64_t missing = (uint64_t)((int64_t)(need * 1000u) - b->tokens);
    *retry_ms = (missing + b->rate - 1) / b->rate;
    if (*retry_ms == 0)
        *retry_ms = 1;
    return 0;
}

void bwc_relay_quota_roll(bwc_relay_quota *q, uint64_t now)
{
    if (q->period_start == 0 || now < q->period_start) {
        /* First start, or a clock set far back: begin a period now rather than never. */
        if (q->period_start == 0 || q->period_start - now > BWC_RELAY_PERIOD_SECONDS) {
            q->period_start = now;
            q->used = 0;
        }
        return;
    }
    uint64_t elapsed = now - q->period_start;
    if (elapsed >= BWC_RELAY_PERIOD_SECONDS) {
        q->period_start += elapsed / BWC_RELAY_PERIOD_SECONDS * BWC_RELAY_PERIOD_SECONDS;
        q->used = 0;
    }
}

int bwc_relay_quota_burst_active(const bwc_relay_quota *q, uint64_t now)
{
    return now < q->burst_until;
}

uint64_t bwc_relay_quota_limit(const bwc_relay_quota *q, uint64_t quota, uint64_t burst_quota,
                               uint64_t now)
{
    if (bwc_relay_quota_burst_active(q, now))
        return burst_quota ? burst_quota : quota;
    return quota;
}

int bwc_relay_quota_allows(bwc_relay_quota *q, uint64_t quota, uint64_t burst_quota, uint64_t n,
                           uint64_t now, uint64_t *retry_s)
{
    *retry_s = 0;
    bwc_relay_quota_roll(q, now);
    uint64_t limit = bwc_relay_quota_limit(q, quota, burst_quota, now);
    if (limit == 0 || (q->used <= limit && n <= limit - q->used))
        return 1;
    uint64_t end = q->period_start + BWC_RELAY_PERIOD_SECONDS;
    *retry_s = end > now ? end - now : 1;
    return 0;
}

void bwc_relay_quota_add(bwc_relay_quota *q, uint64_t n)
{
    q->used = q->used > UINT64_MAX - n ? UINT64_MAX : q->used + n;
    q->total = q->total > UINT64_MAX - n ? UINT64_MAX : q->total + n;
}
