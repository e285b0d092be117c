/* sigcheck.h: collects a block's signature checks and verifies them on several threads. */
#ifndef BWC_NODE_SIGCHECK_H
#define BWC_NODE_SIGCHECK_H

#include <stddef.h>

#include <secp256k1.h>

#include "consensus/state.h"
#include "consensus/types.h"

typedef struct {
    bwc_pubkey pk;
    bwc_hash msg;
    bwc_sig sig;
    const char *reject;
} bwc_sigjob;

typedef struct {
    bwc_sigjob *jobs;
    size_t n, cap;
    int oom; /* a check could not be queued: the batch proves nothing, an error not a verdict */
} bwc_sigbatch;

void bwc_sigbatch_init(bwc_sigbatch *b);
void bwc_sigbatch_free(bwc_sigbatch *b);
/* A checker (consensus/state.h) that queues every check into b. When queueing runs out of
 * memory it sets b->oom and still answers 1, so that the rules never take it for a bad
 * signature; callers test b->oom before verifying. */
bwc_sig_checker bwc_sigbatch_checker(bwc_sigbatch *b);
/* Verifies every queued signature on up to threads threads (the calling one included).
 * Returns NULL when all verify, else the reject string of the first failing job in queue
 * order (or "sig-queue-oom" when queueing ran out of memory, which callers handle first). */
const char *bwc_sigbatch_verify(bwc_sigbatch *b, const secp256k1_context *secp,
                                unsigned threads);

#endif
