/* fileio.c: complete writes and write-to-temporary-then-rename. */
#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/hex.h"
#include "common/random.h"

int bwc_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

int bwc_write_all(int fd, const void *data, size_t n)
{
    const unsigned char *p = data;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int bwc_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    int saved = errno;
    close(fd);
    errno = saved;
    return rc;
}

int bwc_fsync_parent(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == path)
        snprintf(dir, sizeof dir, "/");
    else if ((size_t)(slash - path) >= sizeof dir) {
        errno = ENAMETOOLONG;
        return -1;
    } else
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    return bwc_fsync_dir(dir);
}

int bwc_file_replace(const char *path, const void *data, size_t n, int mode, unsigned flags,
                     char *err, size_t errlen)
{
    char tmp[4200];
    int len;
    if (flags & BWC_FILE_UNIQUE_TMP) {
        unsigned char rnd[8];
        char rhex[17];
        if (bwc_random_bytes(rnd, sizeof rnd) != 0)
            return bwc_errf(err, errlen, "no randomness for a temporary name");
        bwc_hex_encode(rhex, rnd, sizeof rnd);
        len = snprintf(tmp, sizeof tmp, "%s.tmp-%s", path, rhex);
    } else {
        len = snprintf(tmp, sizeof tmp, "%s.tmp", path);
    }
    if (len < 0 || (size_t)len >= sizeof tmp)
        return bwc_errf(err, errlen, "path too long: %.200s", path);
    if (!(flags & BWC_FILE_UNIQUE_TMP) && unlink(tmp) != 0 && errno != ENOENT)
        return bwc_errf(err, errlen, "cannot remove the stale %s: %s", tmp, strerror(errno));
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        return bwc_errf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
    if (bwc_write_all(fd, data, n) != 0 || ((flags & BWC_FILE_SYNC) && fsync(fd) != 0)) {
        bwc_errf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    if (close(fd) != 0) {
        bwc_errf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        unlink(tmp);
        return -1;
    }
    if (rename(tmp, path) != 0) {
        bwc_errf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    if ((flags & BWC_FILE_SYNC_DIR) && bwc_fsync_parent(path) != 0)
        return bwc_errf(err, errlen, "cannot sync the directory of %s: %s", path,
                        strerror(errno));
    return 0;
}
