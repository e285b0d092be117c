/* random.c: bytes from the operating system's CSPRNG. */
#include "common/random.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

int bwc_random_bytes(void *out, size_t n)
{
    unsigned char *p = out;
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(p + got, n - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            memset(out, 0, n);
            return -1;
        }
        got += (size_t)r;
    }
    return 0;
}
