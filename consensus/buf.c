/* buf.c: the growable byte buffer. */
#include "consensus/buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void bwc_buf_init(bwc_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->oom = 0;
}

void bwc_buf_free(bwc_buf *b)
{
    free(b->data);
    bwc_buf_init(b);
}

void bwc_buf_reset(bwc_buf *b)
{
    b->len = 0;
    b->oom = 0;
}

int bwc_buf_reserve(bwc_buf *b, size_t n)
{
    if (b->oom)
        return 0;
    if (n <= b->cap - b->len)
        return 1;
    if (n > SIZE_MAX / 2 - b->len) {
        b->oom = 1;
        return 0;
    }
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + n)
        cap *= 2;
    unsigned char *p = realloc(b->data, cap);
    if (!p) {
        b->oom = 1;
        return 0;
    }
    b->data = p;
    b->cap = cap;
    return 1;
}

void bwc_buf_append(bwc_buf *b, const void *p, size_t n)
{
    if (n == 0 || !bwc_buf_reserve(b, n))
        return;
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

unsigned char *bwc_buf_detach(bwc_buf *b, size_t *len)
{
    unsigned char *p = b->data;
    if (len)
        *len = b->len;
    bwc_buf_init(b);
    return p;
}
