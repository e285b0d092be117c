/* manifest_file.c: a file's manifest, read once in chunk-sized pieces. */
#include "common/manifest_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int bwc_manifest_from_file(bwc_manifest *m, const char *path, uint64_t chunk_size, char *err,
                           size_t errlen)
{
    struct stat st;
    unsigned char *chunk = NULL;
    bwc_result res;
    FILE *f = fopen(path, "rb");

    memset(m, 0, sizeof *m);
    if (!f) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is not a regular file", path);
        goto fail;
    }
    if (st.st_size == 0) {
        snprintf(err, errlen, "%s is empty: content has at least one byte", path);
        goto fail;
    }
    if (!bwc_manifest_begin(m, (uint64_t)st.st_size, chunk_size, &res)) {
        snprintf(err, errlen, "cannot build a manifest for %s (%llu bytes, chunk size %llu): %s",
                 path, (unsigned long long)st.st_size, (unsigned long long)chunk_size,
                 res.reject);
        goto fail;
    }
    chunk = malloc(chunk_size);
    if (!chunk) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < m->n_chunks; i++) {
        size_t want = (size_t)bwc_manifest_chunk_len(m, i);
        if (fread(chunk, 1, want, f) != want) {
            snprintf(err, errlen, "%s: short read at chunk %zu (file changed while reading?)",
                     path, i);
            goto fail;
        }
        bwc_manifest_add_chunk(m, i, chunk, want);
    }
    if (fgetc(f) != EOF) {
        snprintf(err, errlen, "%s grew while being read", path);
        goto fail;
    }
    free(chunk);
    fclose(f);
    return 0;
fail:
    free(chunk);
    fclose(f);
    bwc_manifest_free(m);
    return -1;
}
