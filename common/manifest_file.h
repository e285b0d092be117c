/* manifest_file.h: building a content manifest by reading a file chunk by chunk. */
#ifndef BWC_COMMON_MANIFEST_FILE_H
#define BWC_COMMON_MANIFEST_FILE_H

#include <stdint.h>

#include "consensus/manifest.h"

/* Reads the file at path in chunks of chunk_size and fills *m (freed with bwc_manifest_free).
 * Returns 0, or -1 with a message in err (an unreadable file, an empty one, one too large for
 * 2^18 chunks, a bad chunk size, or a file that changed size while being read). */
int bwc_manifest_from_file(bwc_manifest *m, const char *path, uint64_t chunk_size, char *err,
                           size_t errlen);

#endif
