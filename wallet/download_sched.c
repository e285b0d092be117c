/* download_sched.c: chunk states, the order chunks are fetched in, and answers to actions. */
#include "wallet/download_sched.h"

#include <stdlib.h>
#include <string.h>

#include "wallet/amount.h"

size_t bwc_dl_bitmap_len(size_t n)
{
    return n / 8 + (n % 8 != 0);
}

int bwc_dl_bitmap_get(const unsigned char *bm, size_t i)
{
    return (bm[i / 8] >> (i % 8)) & 1;
}

void bwc_dl_bitmap_set(unsigned char *bm, size_t i)
{
    bm[i / 8] |= (unsigned char)(1u << (i % 8));
}

int bwc_dl_sched_init(bwc_dl_sched *s, const bwc_manifest *m, const unsigned char *verified)
{
    memset(s, 0, sizeof *s);
    s->m = m;
    s->n = m->n_chunks;
    if (!(s->st = calloc(s->n ? s->n : 1, 1)))
        return 0;
    for (size_t i = 0; verified && i < s->n; i++)
        if (bwc_dl_bitmap_get(verified, i)) {
            s->st[i] = BWC_DL_DONE;
            s->n_done++;
            s->bytes_done += bwc_manifest_chunk_len(m, i);
        }
    while (s->low < s->n && s->st[s->low] != BWC_DL_MISSING)
        s->low++;
    return 1;
}

void bwc_dl_sched_free(bwc_dl_sched *s)
{
    free(s->st);
    memset(s, 0, sizeof *s);
}

long bwc_dl_sched_take(bwc_dl_sched *s)
{
    /* low only moves up past chunks that are not missing, and back down on release: each take
     * is amortised O(1). */
    while (s->low < s->n && s->st[s->low] != BWC_DL_MISSING)
        s->low++;
    if (s->low == s->n)
        return -1;
    s->st[s->low] = BWC_DL_INFLIGHT;
    return (long)s->low++;
}

void bwc_dl_sched_release(bwc_dl_sched *s, size_t i)
{
    if (i >= s->n || s->st[i] != BWC_DL_INFLIGHT)
        return;
    s->st[i] = BWC_DL_MISSING;
    if (i < s->low)
        s->low = i;
}

void bwc_dl_sched_done(bwc_dl_sched *s, size_t i)
{
    if (i >= s->n || s->st[i] == BWC_DL_DONE)
        return;
    s->st[i] = BWC_DL_DONE;
    s->n_done++;
    s->bytes_done += bwc_manifest_chunk_len(s->m, i);
}

void bwc_dl_sched_undo(bwc_dl_sched *s, size_t i)
{
    if (i >= s->n || s->st[i] != BWC_DL_DONE)
        return;
    s->st[i] = BWC_DL_MISSING;
    s->n_done--;
    s->bytes_done -= bwc_manifest_chunk_len(s->m, i);
    if (i < s->low)
        s->low = i;
}

int bwc_dl_sched_complete(const bwc_dl_sched *s)
{
    return s->n_done == s->n;
}

void bwc_dl_sched_bitmap(const bwc_dl_sched *s, unsigned char *out)
{
    memset(out, 0, bwc_dl_bitmap_len(s->n));
    for (size_t i = 0; i < s->n; i++)
        if (s->st[i] == BWC_DL_DONE)
            bwc_dl_bitmap_set(out, i);
}

bwc_dl_action bwc_dl_classify(int status, const char *code)
{
    if (!code)
        code = "";
    switch (status) {
    case 200:
        return BWC_DL_ACT_OK;
    case 0:
    case 429:
    case 503:
        return BWC_DL_ACT_WAIT;
    case 409:
        return BWC_DL_ACT_RESYNC;
    case 402:
        if (!strcmp(code, "channel-unknown") || !strcmp(code, "pool-unknown"))
            return BWC_DL_ACT_WAIT;
        if (!strcmp(code, "deposit-exhausted") || !strcmp(code, "channel-expired") ||
            !strcmp(code, "channel-wrong-relay") || !strcmp(code, "channel-price-too-low") ||
            !strcmp(code, "pool-expired") || !strcmp(code, "pool-price-too-low") ||
            !strcmp(code, "ticket-missing"))
            return BWC_DL_ACT_DROP;
        return BWC_DL_ACT_RESYNC;
    case 400:
        if (!strncmp(code, "bad-receipt-ticket", 18)) /* a wrong ticket stays wrong */
            return BWC_DL_ACT_DROP;
        if (!strncmp(code, "bad-receipt-", 12) || !strncmp(code, "receipt-", 8))
            return BWC_DL_ACT_RESYNC;
        return BWC_DL_ACT_DROP;
    default:
        return status >= 500 && status <= 599 ? BWC_DL_ACT_WAIT : BWC_DL_ACT_DROP;
    }
}

uint64_t bwc_dl_backoff_ms(unsigned n)
{
    if (n == 0)
        n = 1;
    if (n > 7)
        return 30000;
    uint64_t ms = 500ull << (n - 1);
    return ms > 30000 ? 30000 : ms;
}

int bwc_dl_retry_after(const char *value, uint64_t *secs)
{
    char err[128];
    uint64_t v;
    if (!value || strlen(value) > 10 ||
        bwc_uint_parse(&v, value, "Retry-After", err, sizeof err) != 0)
        return 0;
    *secs = v;
    return 1;
}
