/* random.h: bytes from the operating system's CSPRNG (getrandom). */
#ifndef BWC_COMMON_RANDOM_H
#define BWC_COMMON_RANDOM_H

#include <stddef.h>

/* Fills out with n random bytes. Returns 0, or -1 if the OS could not supply them (out is
 * then zeroed and must not be used). */
int bwc_random_bytes(void *out, size_t n);

#endif
