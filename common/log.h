/* log.h: the node's debug.log: timestamped, thread-safe, -debug categories, reopen on SIGHUP. */
#ifndef BWC_COMMON_LOG_H
#define BWC_COMMON_LOG_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    BWC_LOG_DEBUG = 0, /* only through bwc_log_debug, when its category is enabled */
    BWC_LOG_INFO,
    BWC_LOG_WARNING, /* tagged "[warning]" */
    BWC_LOG_ERROR,   /* tagged "[error]" */
} bwc_log_level;

/* Debug categories, one bit each, enabled with -debug=<name> (names in bwc_log_category_names).
 * Add new ones at the end and to the name table in log.c. */
typedef enum {
    BWC_LOG_NET = 1u << 0,        /* "net": P2P connections and messages */
    BWC_LOG_RPC = 1u << 1,        /* "rpc": JSON-RPC calls */
    BWC_LOG_HTTP = 1u << 2,       /* "http": the HTTP layer under RPC and the relay */
    BWC_LOG_MEMPOOL = 1u << 3,    /* "mempool" */
    BWC_LOG_VALIDATION = 1u << 4, /* "validation": blocks, headers, reorgs */
    BWC_LOG_DB = 1u << 5,         /* "db": LevelDB */
    BWC_LOG_RELAY = 1u << 6,      /* "relay": chunk serving, receipts, ceilings */
    BWC_LOG_MINER = 1u << 7,      /* "miner": block production */
    BWC_LOG_SYNC = 1u << 8,       /* "sync": initial download */
    BWC_LOG_INDEX = 1u << 9,      /* "index": tx and address indexes */
    BWC_LOG_RECEIPTS = 1u << 10,  /* "receipts": the receipt pool */
    BWC_LOG_LIBEVENT = 1u << 11,  /* "libevent": libevent's own messages */
} bwc_log_category;

/* Every category name, comma-separated, for -help text ("net, rpc, http, ..."). Static. */
const char *bwc_log_category_names(void);

/* Sends the log to the file at path (appended, created 0600 if missing; NULL: no file) and,
 * when print_to_console is set, to stderr as well. May be called again to switch files.
 * Until it is first called every message goes to stderr. Returns 0, or -1 with err filled
 * (the previous destination is kept). */
int bwc_log_open(const char *path, int print_to_console, char *err, size_t errlen);

/* Closes the log file; later messages go to stderr. */
void bwc_log_close(void);

/* Enables debug categories from the values of -debug: "1", "" or "all" enable every category,
 * "0" or "none" disable all, otherwise a category name (values apply in order, so
 * -debug=0 -debug=net enables only net). Returns 0, or -1 with err naming an unknown
 * category (nothing is changed then). */
int bwc_log_set_debug(const char *const *values, size_t n, char *err, size_t errlen);

/* 1 when messages of cat are written (to skip expensive formatting), else 0. */
int bwc_log_enabled(bwc_log_category cat);

/* Writes one line "2024-05-01T12:34:56Z [warning] message" (UTC). A missing final newline is
 * added; control characters inside the message are escaped as \xNN so that text from peers
 * cannot forge log lines. Lines longer than 4 KiB are cut, ending in "...". BWC_LOG_DEBUG here
 * is written only when every category is enabled (-debug=all). Thread-safe. */
void bwc_log(bwc_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A debug line "... [net] message", written only when cat is enabled. */
void bwc_log_debug(bwc_log_category cat, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* State of one rate-limited call site: declare it static next to the call, initialised with
 * BWC_LOG_LIMITER_INIT. Touched only under the log's mutex. */
typedef struct {
    int64_t window_start_ms;
    uint32_t count;      /* messages written in this window */
    uint32_t suppressed; /* messages dropped in this window */
} bwc_log_limiter;
#define BWC_LOG_LIMITER_INIT                                                                       \
    {                                                                                              \
        0, 0, 0                                                                                    \
    }
#define BWC_LOG_RATE_BURST 10 /* messages per window and call site */
#define BWC_LOG_RATE_WINDOW_MS 60000

/* As bwc_log, for messages a peer could trigger at will: at most BWC_LOG_RATE_BURST lines per
 * minute from this limiter; the rest are counted and the first line written after the window
 * ends says how many were suppressed. */
void bwc_log_rate_limited(bwc_log_limiter *lim, bwc_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Asks the logger to reopen its file before the next line (after logrotate moved it).
 * Async-signal-safe: this is what a SIGHUP handler calls. */
void bwc_log_request_reopen(void);

#endif
