/* fileio.h: small POSIX file helpers: complete writes, atomic replacement, directory fsync, and
 * the "format into the caller's error buffer" idiom. */
#ifndef BWC_COMMON_FILEIO_H
#define BWC_COMMON_FILEIO_H

#include <stddef.h>

/* Formats a message into err (errlen bytes; err may be NULL) and returns -1, so an I/O
 * function can end with `return bwc_errf(err, errlen, "cannot open %s", path);`. */
int bwc_errf(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Writes all n bytes to fd, retrying after EINTR and short writes. Returns 0, or -1 (errno
 * set). */
int bwc_write_all(int fd, const void *p, size_t n);

/* fsyncs the directory dir, or the directory holding the file path (bwc_fsync_parent), so a
 * rename there survives a power failure. Return 0, or -1 (errno set). */
int bwc_fsync_dir(const char *dir);
int bwc_fsync_parent(const char *path);

/* Flags of bwc_file_replace. */
#define BWC_FILE_SYNC 0x1u       /* fsync the data before the rename */
#define BWC_FILE_SYNC_DIR 0x2u   /* fsync the directory after it (the rename is durable) */
#define BWC_FILE_UNIQUE_TMP 0x4u /* a random temporary name, for concurrent writers of a path */

/* Replaces the file at path with n bytes of data, atomically: readers see the old file or the
 * new one, never a part. Writes path.tmp (or path.tmp-RANDOM with BWC_FILE_UNIQUE_TMP; a stale
 * path.tmp is removed first), created with mode (never following a symlink), then renames it.
 * Returns 0, or -1 with err filled and the temporary file removed. */
int bwc_file_replace(const char *path, const void *data, size_t n, int mode, unsigned flags,
                     char *err, size_t errlen);

#endif
