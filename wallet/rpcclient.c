/* rpcclient.c: one JSON-RPC request to bwcd over HTTP with libevent's evhttp client. */
#include "wallet/rpcclient.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#define YEAR_SECONDS 31556952 /* libevent has no "no timeout": use a year */

/* Splits -rpcconnect into host and an optional port ("h", "h:p", "[v6]:p", or a bare v6). */
static int split_host_port(const char *s, char *host, size_t hostlen, long *port)
{
    const char *h = s, *p = NULL;
    size_t hl;
    *port = -1;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || (close[1] && close[1] != ':'))
            return -1;
        h = s + 1;
        hl = (size_t)(close - h);
        if (close[1] == ':')
            p = close + 2;
    } else {
        const char *colon = strchr(s, ':');
        if (colon && !strchr(colon + 1, ':')) {
            hl = (size_t)(colon - s);
            p = colon + 1;
        } else {
            hl = strlen(s);
        }
    }
    if (hl == 0 || hl >= hostlen)
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    if (p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (!*p || *end || v < 1 || v > 65535)
            return -1;
        *port = v;
    }
    return 0;
}

int bwc_rpc_target_from_args(bwc_rpc_target *t, const bwc_args *a, const char *chain,
                             uint16_t chain_port, char *err, size_t errlen)
{
    char dir[BWC_PATH_MAX];
    int64_t v;
    long cport;

    memset(t, 0, sizeof *t);
    t->port = chain_port;
    /* Port: -rpcport, else a port in -rpcconnect, else the chain's (as bitcoin-cli). */
    if (split_host_port(bwc_args_get(a, "rpcconnect", BWC_RPC_DEFAULT_CONNECT), t->host,
                        sizeof t->host, &cport) != 0) {
        snprintf(err, errlen, "-rpcconnect=%s: expected <ip>, <ip>:<port> or [<ipv6>]:<port>",
                 bwc_args_get(a, "rpcconnect", ""));
        return -1;
    }
    if (cport > 0)
        t->port = (uint16_t)cport;
    if (bwc_args_get_int(a, "rpcport", t->port, 1, 65535, &v, err, errlen) != 0)
        return -1;
    t->port = (uint16_t)v;
    if (bwc_args_get_int(a, "rpcclienttimeout", BWC_RPC_DEFAULT_CLIENT_TIMEOUT, 0, YEAR_SECONDS, &v,
                         err, errlen) != 0)
        return -1;
    t->timeout = v > 0 ? (int)v : YEAR_SECONDS;

    t->user = bwc_args_get(a, "rpcuser", "");
    t->password = bwc_args_get(a, "rpcpassword", "");
    if (bwc_args_chaindir(a, chain, 0, dir, sizeof dir, err, errlen) != 0)
        return -1;
    const char *cf = bwc_args_get(a, "rpccookiefile", ".cookie");
    int n = cf[0] == '/' ? snprintf(t->cookie_path, sizeof t->cookie_path, "%s", cf)
                         : snprintf(t->cookie_path, sizeof t->cookie_path, "%s/%s", dir, cf);
    if (n < 0 || (size_t)n >= sizeof t->cookie_path) {
        snprintf(err, errlen, "cookie file path too long");
        return -1;
    }
    return 0;
}

/* Reads "user:secret" from the cookie file into out. Returns 0, or -1 when there is none. */
static int read_cookie(const char *path, char *out, size_t outlen)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(out, 1, outlen - 1, f);
    fclose(f);
    out[n] = '\0';
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
        out[--n] = '\0';
    return n > 0 && strchr(out, ':') ? 0 : -1;
}

/* ---- one HTTP exchange ---------------------------------------------------------------------- */

typedef struct {
    int status; /* 0: no HTTP response */
    int error;  /* an evhttp_request_error, or -1 */
    char *body;
    size_t len;
} reply;

static void on_done(struct evhttp_request *req, void *arg)
{
    reply *r = arg;
    if (!req)
        return; /* connection failed: on_error said why */
    r->status = evhttp_request_get_response_code(req);
    struct evbuffer *b = evhttp_request_get_input_buffer(req);
    size_t n = evbuffer_get_length(b);
    free(r->body);
    r->body = malloc(n + 1);
    if (r->body) {
        evbuffer_remove(b, r->body, n);
        r->body[n] = '\0';
        r->len = n;
    }
}

static void on_error(enum evhttp_request_error e, void *arg)
{
    ((reply *)arg)->error = (int)e;
}

static const char *http_error_string(int e)
{
    switch (e) {
    case EVREQ_HTTP_TIMEOUT:
        return "timeout reached";
    case EVREQ_HTTP_EOF:
        return "EOF reached";
    case EVREQ_HTTP_INVALID_HEADER:
        return "error while reading header, or invalid header";
    case EVREQ_HTTP_BUFFER_ERROR:
        return "error encountered while reading or writing";
    case EVREQ_HTTP_REQUEST_CANCEL:
        return "request was canceled";
    case EVREQ_HTTP_DATA_TOO_LONG:
        return "response body is larger than allowed";
    default:
        return "unknown";
    }
}

/* Posts body to the node and runs the loop until the answer (or failure). Returns 0, or -1
 * when the request could not even be created. */
static int http_post(struct event_base *base, const bwc_rpc_target *t, const char *userpass,
                     const char *body, reply *r)
{
    memset(r, 0, sizeof *r);
    r->error = -1;
    struct evhttp_connection *conn = evhttp_connection_base_new(base, NULL, t->host, t->port);
    if (!conn)
        return -1;
    evhttp_connection_set_timeout(conn, t->timeout);
    struct evhttp_request *req = evhttp_request_new(on_done, r);
    if (!req) {
        evhttp_connection_free(conn);
        return -1;
    }
    evhttp_request_set_error_cb(req, on_error);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", t->host);
    evhttp_add_header(h, "Connection", "close");
    evhttp_add_header(h, "Content-Type", "application/json");
    if (userpass) {
        size_t n = strlen(userpass);
        char *auth = malloc(6 + 4 * ((n + 2) / 3) + 1);
        if (!auth) {
            evhttp_request_free(req);
            evhttp_connection_free(conn);
            return -1;
        }
        memcpy(auth, "Basic ", 6);
        EVP_EncodeBlock((unsigned char *)auth + 6, (const unsigned char *)userpass, (int)n);
        evhttp_add_header(h, "Authorization", auth);
        OPENSSL_cleanse(auth, strlen(auth));
        free(auth);
    }
    evbuffer_add(evhttp_request_get_output_buffer(req), body, strlen(body));
    /* The connection owns req from here, even when this fails. */
    if (evhttp_make_request(conn, req, EVHTTP_REQ_POST, "/") == 0)
        event_base_dispatch(base);
    evhttp_connection_free(conn);
    return 0;
}

bwc_rpc_outcome bwc_rpc_post(struct event_base *base, const bwc_rpc_target *t, const char *body,
                             json_t **out, char *msg, size_t msglen)
{
    char cookie[512], *userpass = NULL;
    int no_cookie = 0;
    reply r;
    *out = NULL;
    if (t->password[0]) {
        size_t n = strlen(t->user) + strlen(t->password) + 2;
        if (!(userpass = malloc(n))) {
            snprintf(msg, msglen, "out of memory");
            return BWC_RPC_CALL_FAIL;
        }
        snprintf(userpass, n, "%s:%s", t->user, t->password);
    } else if (read_cookie(t->cookie_path, cookie, sizeof cookie) == 0) {
        userpass = cookie;
    } else {
        no_cookie = 1;
    }
    int rc = http_post(base, t, userpass, body, &r);
    if (userpass) {
        OPENSSL_cleanse(userpass, strlen(userpass));
        if (userpass != cookie)
            free(userpass);
    }
    if (rc != 0) {
        snprintf(msg, msglen, "cannot create the HTTP request");
        return BWC_RPC_CALL_FAIL;
    }

    bwc_rpc_outcome oc = BWC_RPC_CALL_FAIL;
    if (r.status == 0) {
        int n = snprintf(msg, msglen, "could not connect to the server %s:%u", t->host,
                         (unsigned)t->port);
        if (r.error != -1 && n > 0 && (size_t)n < msglen)
            snprintf(msg + n, msglen - (size_t)n, " (error code %d - \"%s\")", r.error,
                     http_error_string(r.error));
        oc = BWC_RPC_CALL_RETRY;
    } else if (r.status == 401) {
        if (no_cookie) {
            snprintf(msg, msglen,
                     "could not locate RPC credentials: no authentication cookie at %s and no "
                     "-rpcpassword",
                     t->cookie_path);
            oc = BWC_RPC_CALL_RETRY; /* the node may not have written it yet */
        } else {
            snprintf(msg, msglen, "Authorization failed: Incorrect rpcuser or rpcpassword");
        }
    } else if (r.status == 503) {
        snprintf(msg, msglen, "Server response: %s", r.body ? r.body : "");
    } else if (r.status >= 400 && r.status != 400 && r.status != 404 && r.status != 500) {
        snprintf(msg, msglen, "server returned HTTP error %d", r.status);
    } else if (!r.body || r.len == 0) {
        snprintf(msg, msglen, "no response from server");
    } else {
        json_t *j = json_loadb(r.body, r.len, 0, NULL);
        if (!json_is_object(j)) {
            json_decref(j);
            snprintf(msg, msglen, "couldn't parse reply from server");
        } else {
            json_t *e = json_object_get(j, "error");
            if (e && json_integer_value(json_object_get(e, "code")) == BWC_RPC_IN_WARMUP) {
                snprintf(msg, msglen, "server in warmup: %s",
                         json_string_value(json_object_get(e, "message"))
                             ? json_string_value(json_object_get(e, "message"))
                             : "");
                *out = j; /* shown as the error if the caller stops waiting */
                oc = BWC_RPC_CALL_RETRY;
            } else {
                *out = j;
                oc = BWC_RPC_CALL_OK;
            }
        }
    }
    free(r.body);
    return oc;
}
