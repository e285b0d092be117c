/* result.h: the outcome of a validation: a class plus a short reject string shown as it is. */
#ifndef BWC_CONSENSUS_RESULT_H
#define BWC_CONSENSUS_RESULT_H

typedef enum {
    BWC_RESULT_OK = 0,
    BWC_RESULT_MALFORMED, /* bytes that do not decode (§2, §7 limits) */
    BWC_RESULT_INVALID,   /* decodes, but breaks a consensus rule */
    BWC_RESULT_ERROR,     /* not the input's fault: out of memory, a failing callback */
} bwc_result_code;

/* reject always points at a string literal (never freed); "" while code is OK. */
typedef struct {
    bwc_result_code code;
    const char *reject;
} bwc_result;

static inline void bwc_result_ok(bwc_result *r)
{
    r->code = BWC_RESULT_OK;
    r->reject = "";
}

/* Records a failure and returns 0, so callers can write `return bwc_fail(r, ...)`. */
static inline int bwc_fail(bwc_result *r, bwc_result_code code, const char *reject)
{
    if (r) {
        r->code = code;
        r->reject = reject;
    }
    return 0;
}

#endif
