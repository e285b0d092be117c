/* log.c: the node's debug.log: timestamped, thread-safe, -debug categories, reopen on SIGHUP. */
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/fileio.h"

#define LOG_LINE_MAX 4096

static const struct {
    const char *name;
    bwc_log_category cat;
} categories[] = {
    {"net", BWC_LOG_NET},
    {"rpc", BWC_LOG_RPC},
    {"http", BWC_LOG_HTTP},
    {"mempool", BWC_LOG_MEMPOOL},
    {"validation", BWC_LOG_VALIDATION},
    {"db", BWC_LOG_DB},
    {"relay", BWC_LOG_RELAY},
    {"miner", BWC_LOG_MINER},
    {"sync", BWC_LOG_SYNC},
    {"index", BWC_LOG_INDEX},
    {"receipts", BWC_LOG_RECEIPTS},
    {"libevent", BWC_LOG_LIBEVENT},
};
#define N_CATEGORIES (sizeof categories / sizeof categories[0])
#define ALL_CATEGORIES ((1u << N_CATEGORIES) - 1)

/* Everything below is guarded by mu, except reopen_requested (set from a signal handler) and
 * enabled (atomic, read without the lock: a stale read only delays a -debug change by a line). */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static FILE *file;
static char file_path[4096];
static int to_console = 1;
static atomic_uint enabled;
static volatile sig_atomic_t reopen_requested;

const char *bwc_log_category_names(void)
{
    return "net, rpc, http, mempool, validation, db, relay, miner, sync, index, receipts, "
           "libevent";
}

/* Opens path for appending with mode 0600 for a new file. */
static FILE *open_append(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "a");
    if (!f)
        close(fd);
    return f;
}

int bwc_log_open(const char *path, int print_to_console, char *err, size_t errlen)
{
    FILE *f = NULL;
    if (path) {
        if (strlen(path) >= sizeof file_path) {
            return bwc_errf(err, errlen, "log file path too long: %s", path);
        }
        if (!(f = open_append(path))) {
            return bwc_errf(err, errlen, "cannot open log file %s: %s", path, strerror(errno));
        }
    }
    pthread_mutex_lock(&mu);
    if (file)
        fclose(file);
    file = f;
    if (path)
        snprintf(file_path, sizeof file_path, "%s", path);
    else
        file_path[0] = '\0';
    to_console = print_to_console;
    reopen_requested = 0;
    pthread_mutex_unlock(&mu);
    return 0;
}

void bwc_log_close(void)
{
    pthread_mutex_lock(&mu);
    if (file)
        fclose(file);
    file = NULL;
    file_path[0] = '\0';
    to_console = 1;
    pthread_mutex_unlock(&mu);
}

int bwc_log_set_debug(const char *const *values, size_t n, char *err, size_t errlen)
{
    unsigned mask = atomic_load_explicit(&enabled, memory_order_relaxed);
    for (size_t i = 0; i < n; i++) {
        const char *v = values[i];
        if (!strcmp(v, "1") || !strcmp(v, "") || !strcmp(v, "all")) {
            mask = ALL_CATEGORIES;
            continue;
        }
        if (!strcmp(v, "0") || !strcmp(v, "none")) {
            mask = 0;
            continue;
        }
        size_t k = 0;
        while (k < N_CATEGORIES && strcmp(categories[k].name, v) != 0)
            k++;
        if (k == N_CATEGORIES) {
            return bwc_errf(err, errlen, "unknown debug category '%s' (known: %s)", v,
                            bwc_log_category_names());
        }
        mask |= categories[k].cat;
    }
    atomic_store_explicit(&enabled, mask, memory_order_relaxed);
    return 0;
}

int bwc_log_enabled(bwc_log_category cat)
{
    return (atomic_load_explicit(&enabled, memory_order_relaxed) & (unsigned)cat) != 0;
}

static const char *category_name(bwc_log_category cat)
{
    for (size_t k = 0; k < N_CATEGORIES; k++)
        if (categories[k].cat == cat)
            return categories[k].name;
    return "?";
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Formats the whole line into out (LOG_LINE_MAX bytes): timestamp, tag, escaped message and a
 * newline. Returns its length. */
static size_t format_line(char *out, const char *tag, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static size_t format_line(char *out, const char *tag, const char *fmt, va_list ap)
{
    char msg[LOG_LINE_MAX];
    struct timespec ts;
    struct tm tm;
    size_t n;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ ", &tm);
    if (tag)
        n += (size_t)snprintf(out + n, 32, "[%s] ", tag);

    int len = vsnprintf(msg, sizeof msg, fmt, ap);
    size_t mlen = len < 0 ? 0 : (size_t)len >= sizeof msg ? sizeof msg - 1 : (size_t)len;
    int cut = len >= (int)sizeof msg;
    while (mlen > 0 && msg[mlen - 1] == '\n')
        mlen--;
    /* Leave room for "...\n" and the NUL. */
    const size_t limit = LOG_LINE_MAX - 5;
    size_t i = 0;
    for (; i < mlen; i++) {
        unsigned char c = (unsigned char)msg[i];
        int esc = c < 0x20 || c == 0x7f;
        if (n + (esc ? 4 : 1) > limit)
            break;
        if (esc)
            n += (size_t)snprintf(out + n, 5, "\\x%02x", c);
        else
            out[n++] = (char)c;
    }
    if (i < mlen)
        cut = 1;
    if (cut) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n++] = '\n';
    out[n] = '\0';
    return n;
}

/* Writes a formatted line; called with mu held. */
static void write_line_locked(const char *line, size_t n)
{
    if (reopen_requested && file_path[0]) {
        reopen_requested = 0;
        FILE *f = open_append(file_path);
        if (f) {
            fclose(file);
            file = f;
        }
    }
    if (file) {
        fwrite(line, 1, n, file);
        fflush(file);
    }
    if (to_console || !file) {
        fwrite(line, 1, n, stderr);
        fflush(stderr);
    }
}

static const char *level_tag(bwc_log_level level)
{
    switch (level) {
    case BWC_LOG_WARNING:
        return "warning";
    case BWC_LOG_ERROR:
        return "error";
    default:
        return NULL;
    }
}

void bwc_log(bwc_log_level level, const char *fmt, ...)
{
    char line[LOG_LINE_MAX];
    va_list ap;
    if (level == BWC_LOG_DEBUG &&
        atomic_load_explicit(&enabled, memory_order_relaxed) != ALL_CATEGORIES)
        return;
    va_start(ap, fmt);
    size_t n = format_line(line, level_tag(level), fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&mu);
    write_line_locked(line, n);
    pthread_mutex_unlock(&mu);
}

void bwc_log_debug(bwc_log_category cat, const char *fmt, ...)
{
    char line[LOG_LINE_MAX];
    va_list ap;
    if (!bwc_log_enabled(cat))
        return;
    va_start(ap, fmt);
    size_t n = format_line(line, category_name(cat), fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&mu);
    write_line_locked(line, n);
    pthread_mutex_unlock(&mu);
}

void bwc_log_rate_limited(bwc_log_limiter *lim, bwc_log_level level, const char *fmt, ...)
{
    char line[LOG_LINE_MAX], note[160];
    size_t n = 0, nn = 0;
    va_list ap;
    int64_t now = monotonic_ms();

    /* Format outside the lock; the decision to write is taken under it. */
    va_start(ap, fmt);
    n = format_line(line, level_tag(level), fmt, ap);
    va_end(ap);

    pthread_mutex_lock(&mu);
    if (lim->count == 0 || now - lim->window_start_ms >= BWC_LOG_RATE_WINDOW_MS) {
        if (lim->suppressed) {
            struct timespec ts;
            struct tm tm;
            clock_gettime(CLOCK_REALTIME, &ts);
            gmtime_r(&ts.tv_sec, &tm);
            nn = strftime(note, 32, "%Y-%m-%dT%H:%M:%SZ ", &tm);
            nn += (size_t)snprintf(note + nn, sizeof note - nn,
                                   "(%u similar messages suppressed in the last minute)\n",
                                   (unsigned)lim->suppressed);
            write_line_locked(note, nn);
        }
        lim->window_start_ms = now;
        lim->count = 0;
        lim->suppressed = 0;
    }
    if (lim->count < BWC_LOG_RATE_BURST) {
        lim->count++;
        write_line_locked(line, n);
    } else {
        lim->suppressed++;
    }
    pthread_mutex_unlock(&mu);
}

void bwc_log_request_reopen(void)
{
    reopen_requested = 1;
}
