/* buf.h: the one growable byte buffer used by every encoder. */
#ifndef BWC_CONSENSUS_BUF_H
#define BWC_CONSENSUS_BUF_H

#include <stddef.h>

/* Invariants: data is NULL only while cap == 0; len <= cap; once an allocation fails,
 * oom is set and every later append is a no-op, so encoders check once at the end. */
typedef struct {
    unsigned char *data;
    size_t len;
    size_t cap;
    int oom;
} bwc_buf;

#define BWC_BUF_INIT {NULL, 0, 0, 0}

void bwc_buf_init(bwc_buf *b);
/* Frees the storage and resets to empty. */
void bwc_buf_free(bwc_buf *b);
/* Empties without freeing (len = 0, oom cleared). */
void bwc_buf_reset(bwc_buf *b);
/* Makes room for n more bytes; returns 1, or 0 and sets oom. */
int bwc_buf_reserve(bwc_buf *b, size_t n);
/* Appends n bytes (a no-op after an allocation failure). */
void bwc_buf_append(bwc_buf *b, const void *p, size_t n);
/* Hands the storage to the caller (who frees it with free()) and resets b. */
unsigned char *bwc_buf_detach(bwc_buf *b, size_t *len);

#endif
