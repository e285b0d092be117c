/* sigcheck.c: a block's signatures are independent, so they split evenly over threads; the
 * shared libsecp256k1 context is only read by verification. */
#include "node/sigcheck.h"

#include <pthread.h>
#include <stdlib.h>

#include "consensus/key.h"

#define SIGCHECK_MAX_THREADS 64
/* Below this many signatures a thread costs more than it saves. */
#define SIGCHECK_MIN_PER_THREAD 16

void bwc_sigbatch_init(bwc_sigbatch *b)
{
    b->jobs = NULL;
    b->n = b->cap = 0;
    b->oom = 0;
}

void bwc_sigbatch_free(bwc_sigbatch *b)
{
    free(b->jobs);
    bwc_sigbatch_init(b);
}

static int queue_check(void *ctx, const bwc_pubkey *pk, const bwc_hash *msg, const bwc_sig *sig,
                       const char *reject)
{
    bwc_sigbatch *b = ctx;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        bwc_sigjob *j = realloc(b->jobs, cap * sizeof *j);
        if (!j) {
            /* Not a verdict on the signature: the caller sees b->oom and fails with an error. */
            b->oom = 1;
            return 1;
        }
        b->jobs = j;
        b->cap = cap;
    }
    b->jobs[b->n++] = (bwc_sigjob){*pk, *msg, *sig, reject};
    return 1;
}

bwc_sig_checker bwc_sigbatch_checker(bwc_sigbatch *b)
{
    bwc_sig_checker c = {b, queue_check};
    return c;
}

typedef struct {
    const bwc_sigbatch *b;
    const secp256k1_context *secp;
    size_t begin, end;
    size_t first_bad; /* end when none */
} slice;

static void *verify_slice(void *arg)
{
    slice *s = arg;
    s->first_bad = s->end;
    for (size_t i = s->begin; i < s->end; i++) {
        const bwc_sigjob *j = &s->b->jobs[i];
        if (!bwc_verify(s->secp, &j->sig, &j->msg, &j->pk)) {
            s->first_bad = i;
            break;
        }
    }
    return NULL;
}

const char *bwc_sigbatch_verify(bwc_sigbatch *b, const secp256k1_context *secp,
                                unsigned threads)
{
    if (b->oom)
        return "sig-queue-oom";
    size_t want = b->n / SIGCHECK_MIN_PER_THREAD;
    if (threads > want)
        threads = want ? (unsigned)want : 1;
    if (threads > SIGCHECK_MAX_THREADS)
        threads = SIGCHECK_MAX_THREADS;
    if (threads == 0)
        threads = 1;
    slice s[SIGCHECK_MAX_THREADS];
    pthread_t tid[SIGCHECK_MAX_THREADS];
    int started[SIGCHECK_MAX_THREADS] = {0};
    size_t per = (b->n + threads - 1) / threads;
    for (unsigned t = 0; t < threads; t++) {
        size_t begin = per * t < b->n ? per * t : b->n;
        size_t end = begin + per < b->n ? begin + per : b->n;
        s[t] = (slice){b, secp, begin, end, end};
        /* The calling thread takes slice 0; if a thread cannot start, its slice runs here. */
        if (t > 0 && pthread_create(&tid[t], NULL, verify_slice, &s[t]) == 0)
            started[t] = 1;
    }
    for (unsigned t = 0; t < threads; t++)
        if (!started[t])
            verify_slice(&s[t]);
    for (unsigned t = 0; t < threads; t++)
        if (started[t])
            pthread_join(tid[t], NULL);
    for (unsigned t = 0; t < threads; t++)
        if (s[t].first_bad < s[t].end)
            return b->jobs[s[t].first_bad].reject;
    return NULL;
}
