/* download_http.c: evhttp client connections for downloads: keep-alive, one request at a time. */
#include "wallet/download_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#define MAX_HEADERS_SIZE 16384

struct bwc_dl_conn {
    struct event_base *base;
    struct evhttp_connection *evcon;
    char host_header[300];
    int busy;
    int error; /* the evhttp_request_error of a failed request, or -1 */
    bwc_dl_response_fn fn;
    void *arg;
};

bwc_dl_conn *bwc_dl_conn_new(struct event_base *base, struct evdns_base *dns, const char *host,
                             uint16_t port, int timeout_s, size_t max_body)
{
    bwc_dl_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->base = base;
    c->error = -1;
    if (!(c->evcon = evhttp_connection_base_new(base, dns, host, port))) {
        free(c);
        return NULL;
    }
    evhttp_connection_set_timeout(c->evcon, timeout_s);
    evhttp_connection_set_retries(c->evcon, 0);
    evhttp_connection_set_max_headers_size(c->evcon, MAX_HEADERS_SIZE);
    evhttp_connection_set_max_body_size(c->evcon, (ev_ssize_t)max_body);
    /* An IPv6 literal travels in brackets in Host (RFC 7230 §5.4). */
    snprintf(c->host_header, sizeof c->host_header, strchr(host, ':') ? "[%s]:%u" : "%s:%u", host,
             (unsigned)port);
    return c;
}

void bwc_dl_conn_free(bwc_dl_conn *c)
{
    if (!c)
        return;
    evhttp_connection_free(c->evcon);
    free(c);
}

static const char *error_text(int e)
{
    switch (e) {
    case EVREQ_HTTP_TIMEOUT:
        return "timeout reached";
    case EVREQ_HTTP_EOF:
        return "connection closed";
    case EVREQ_HTTP_INVALID_HEADER:
        return "invalid header";
    case EVREQ_HTTP_BUFFER_ERROR:
        return "connection failed";
    case EVREQ_HTTP_REQUEST_CANCEL:
        return "request canceled";
    case EVREQ_HTTP_DATA_TOO_LONG:
        return "answer larger than allowed";
    default:
        return "no answer";
    }
}

static void on_error(enum evhttp_request_error e, void *arg)
{
    ((bwc_dl_conn *)arg)->error = (int)e;
}

/* The "code" of {"error":{"code":...}}, when the body is that. */
static void error_code(const unsigned char *body, size_t len, char *code, size_t codelen)
{
    code[0] = '\0';
    if (!len || body[0] != '{' || len > 65536)
        return;
    json_t *j = json_loadb((const char *)body, len, 0, NULL);
    const char *s = json_string_value(json_object_get(json_object_get(j, "error"), "code"));
    if (s)
        snprintf(code, codelen, "%s", s);
    json_decref(j);
}

static void on_done(struct evhttp_request *req, void *arg)
{
    bwc_dl_conn *c = arg;
    bwc_dl_response r;
    memset(&r, 0, sizeof r);
    bwc_dl_response_fn fn = c->fn;
    void *fn_arg = c->arg;
    c->busy = 0;
    c->fn = NULL;
    c->arg = NULL;
    if (!req || evhttp_request_get_response_code(req) == 0) {
        r.error = error_text(c->error);
        c->error = -1;
        if (fn)
            fn(fn_arg, &r);
        return;
    }
    c->error = -1;
    struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    r.status = evhttp_request_get_response_code(req);
    r.len = evbuffer_get_length(in);
    r.body = r.len ? evbuffer_pullup(in, -1) : (const unsigned char *)"";
    if (!r.body) { /* no memory to make the body contiguous */
        r.status = 0;
        r.len = 0;
        r.error = "out of memory";
    }
    r.retry_after = evhttp_find_header(h, "Retry-After");
    r.served = evhttp_find_header(h, "Bwc-Served");
    r.content_type = evhttp_find_header(h, "Content-Type");
    if (r.status != 200)
        error_code(r.body, r.len, r.code, sizeof r.code);
    if (fn)
        fn(fn_arg, &r);
}

int bwc_dl_request(bwc_dl_conn *c, int post, const char *path, const char *const *headers,
                   const char *content_type, const void *body, size_t len, bwc_dl_response_fn fn,
                   void *arg)
{
    if (c->busy)
        return -1;
    struct evhttp_request *req = evhttp_request_new(on_done, c);
    if (!req)
        return -1;
    evhttp_request_set_error_cb(req, on_error);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", c->host_header);
    evhttp_add_header(h, "User-Agent", "bwc-wallet");
    for (size_t i = 0; headers && headers[i]; i += 2)
        evhttp_add_header(h, headers[i], headers[i + 1]);
    if (post) {
        evhttp_add_header(h, "Content-Type",
                          content_type ? content_type : "application/octet-stream");
        if (len && evbuffer_add(evhttp_request_get_output_buffer(req), body, len) != 0) {
            evhttp_request_free(req);
            return -1;
        }
    }
    c->busy = 1;
    c->fn = fn;
    c->arg = arg;
    c->error = -1;
    /* The connection owns req from here, also when this fails. */
    if (evhttp_make_request(c->evcon, req, post ? EVHTTP_REQ_POST : EVHTTP_REQ_GET, path) != 0) {
        if (!c->busy) /* the failure was reported through fn already */
            return 0;
        c->busy = 0;
        c->fn = NULL;
        c->arg = NULL;
        return -1;
    }
    return 0;
}

typedef struct {
    int done, oom;
    bwc_dl_reply *out;
} fetch_ctx;

static void on_fetched(void *arg, const bwc_dl_response *r)
{
    fetch_ctx *f = arg;
    bwc_dl_reply *out = f->out;
    f->done = 1;
    out->status = r->status;
    snprintf(out->error, sizeof out->error, "%s", r->error ? r->error : "");
    snprintf(out->code, sizeof out->code, "%s", r->code);
    snprintf(out->retry_after, sizeof out->retry_after, "%s", r->retry_after ? r->retry_after : "");
    if (!(out->body = malloc(r->len + 1))) {
        f->oom = 1;
        return;
    }
    if (r->len)
        memcpy(out->body, r->body, r->len);
    out->body[r->len] = '\0';
    out->len = r->len;
}

int bwc_dl_fetch(bwc_dl_conn *c, int post, const char *path, const char *const *headers,
                 const char *content_type, const void *body, size_t len, bwc_dl_reply *out)
{
    fetch_ctx f = {0, 0, out};
    memset(out, 0, sizeof *out);
    if (bwc_dl_request(c, post, path, headers, content_type, body, len, on_fetched, &f) != 0)
        return -1;
    while (!f.done)
        if (event_base_loop(c->base, EVLOOP_ONCE) < 0)
            break;
    if (!f.done) { /* the loop failed: nothing will answer */
        c->fn = NULL;
        c->arg = NULL;
        snprintf(out->error, sizeof out->error, "event loop failure");
        return -1;
    }
    return f.oom ? -1 : 0;
}

void bwc_dl_reply_free(bwc_dl_reply *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}
