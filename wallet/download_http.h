/* download_http.h: the download's HTTP client on libevent's evhttp: one keep-alive connection per
 * relay carrying one request at a time, answers through a callback, and a blocking form for
 * the steps before and after the parallel transfer. All calls run on the caller's thread. */
#ifndef BWC_WALLET_DOWNLOAD_HTTP_H
#define BWC_WALLET_DOWNLOAD_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct evdns_base;

/* An answer. Pointers are valid only during the callback. */
typedef struct {
    int status;                /* HTTP status; 0 when no answer came (error says why) */
    const char *error;         /* "connection refused", "timeout reached", ... when status 0 */
    const unsigned char *body; /* len bytes */
    size_t len;
    const char *retry_after; /* headers, NULL when absent */
    const char *served;      /* Bwc-Served */
    const char *content_type;
    char code[64]; /* "code" of a JSON error body (PROTOCOL.md §8), "" when none */
} bwc_dl_response;

typedef void (*bwc_dl_response_fn)(void *arg, const bwc_dl_response *r);

typedef struct bwc_dl_conn bwc_dl_conn;

/* A connection to host:port (a DNS name through dns, which may be NULL for IP literals) with
 * timeout_s seconds of inactivity allowed and answers of at most max_body bytes. Nothing is
 * sent until the first request. Returns NULL when out of memory. Free with bwc_dl_conn_free. */
bwc_dl_conn *bwc_dl_conn_new(struct event_base *base, struct evdns_base *dns, const char *host,
                             uint16_t port, int timeout_s, size_t max_body);

/* Closes the connection; a request in flight is dropped without its callback. Never call it
 * from the connection's own callback. NULL is fine. */
void bwc_dl_conn_free(bwc_dl_conn *c);

/* Sends GET path (or POST with body of len bytes and Content-Type content_type when post) with
 * extra headers given as name, value pairs ending in NULL (headers may be NULL). fn(arg, r)
 * runs once with the answer, after the connection is ready for the next request (fn may send
 * it). Returns 0, or -1 when busy or out of memory (fn will not run). */
int bwc_dl_request(bwc_dl_conn *c, int post, const char *path, const char *const *headers,
                   const char *content_type, const void *body, size_t len, bwc_dl_response_fn fn,
                   void *arg);

/* A blocking answer: body is a malloc'd copy (NUL-terminated; free with bwc_dl_reply_free). */
typedef struct {
    int status;
    char error[96];
    unsigned char *body;
    size_t len;
    char code[64];
    char retry_after[16];
} bwc_dl_reply;

/* As bwc_dl_request, then runs the connection's event base until the answer. Only when nothing
 * else waits on that base. Returns 0 with *out filled (status 0 for no answer), or -1 when the
 * request could not be made or the copy not allocated. */
int bwc_dl_fetch(bwc_dl_conn *c, int post, const char *path, const char *const *headers,
                 const char *content_type, const void *body, size_t len, bwc_dl_reply *out);

void bwc_dl_reply_free(bwc_dl_reply *r);

#endif
