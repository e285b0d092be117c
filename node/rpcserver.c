/* rpcserver.c: JSON-RPC 1.0/2.0 over HTTP (libevent evhttp + jansson), Bitcoin Core's way. */
#include "node/rpcserver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/util.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/hex.h"
#include "common/log.h"
#include "common/random.h"
#include "common/fileio.h"
#include "consensus/cbor.h"

#define WWW_AUTH_HEADER "Basic realm=\"jsonrpc\""
#define COOKIE_SECRET_BYTES 32
#define MAX_BINDS 16

typedef struct {
    char *name;
    bwc_rpc_handler handler;
    void *ctx;
    char **args; /* n_args names */
    size_t n_args;
    int variadic; /* args ended in "..." */
    char *help;
} rpc_method;

/* A function to run after a reply was written (bwc_rpc_after_reply). */
typedef struct deferred {
    void (*fn)(void *);
    void *arg;
    struct deferred *next;
} deferred;

/* An HTTP connection that has sent at least one request; freed by its close callback.
 * libevent 2.1 has no evhttp_set_max_connections, so this list is the connection count. */
typedef struct rpc_conn {
    struct evhttp_connection *evcon;
    bwc_rpc_server *srv;
    deferred *after; /* to run when the current reply is written or the connection closes */
    struct rpc_conn *prev, *next;
} rpc_conn;

/* A request with a wrong password, answered when its timer fires. */
typedef struct pending_auth {
    struct event *timer;
    struct evhttp_request *req;
    bwc_rpc_server *srv;
    struct pending_auth *prev, *next;
} pending_auth;

struct bwc_rpc_server {
    struct event_base *base;
    struct evhttp *http;
    uint16_t port;
    bwc_netmask *allow;
    size_t n_allow;
    char *cookie_path;
    unsigned char cookie_digest[32], userpass_digest[32];
    int have_cookie, have_userpass;
    size_t max_body, max_header;
    int timeout;
    unsigned max_conns, max_batch, auth_delay_ms;
    rpc_method *methods;
    size_t n_methods, cap_methods;
    char *warmup;
    rpc_conn *conns;
    unsigned n_conns;
    pending_auth *pending;
    deferred **collect; /* while a handler runs: where bwc_rpc_after_reply appends */
};


/* Makes s valid UTF-8 in place: a character truncation split, or invalid bytes a caller's
 * string brought, become '?', so json_pack never refuses the message. */
static void utf8_sanitize(char *s)
{
    unsigned char *p = (unsigned char *)s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        size_t len = p[i] < 0x80 ? 1 : (p[i] & 0xe0) == 0xc0 ? 2 : (p[i] & 0xf0) == 0xe0 ? 3
                   : (p[i] & 0xf8) == 0xf0 ? 4 : 0;
        if (len == 1) {
            i++;
        } else if (len && len <= n - i && bwc_utf8_valid(p + i, len)) {
            i += len;
        } else {
            p[i++] = '?';
        }
    }
}

json_t *bwc_rpc_fail(bwc_rpc_error *err, int code, const char *fmt, ...)
{
    va_list ap;
    if (err) {
        err->code = code;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        utf8_sanitize(err->message);
    }
    return NULL;
}

/* ---- subnets ---------------------------------------------------------------------------- */

static int parse_ip(const char *s, int *family, unsigned char *out)
{
    if (evutil_inet_pton(AF_INET, s, out) == 1) {
        *family = AF_INET;
        return 1;
    }
    if (evutil_inet_pton(AF_INET6, s, out) == 1) {
        *family = AF_INET6;
        return 1;
    }
    return 0;
}

int bwc_netmask_parse(bwc_netmask *out, const char *spec)
{
    char ip[64];
    const char *slash = strchr(spec, '/');
    size_t iplen = slash ? (size_t)(slash - spec) : strlen(spec);
    memset(out, 0, sizeof *out);
    if (iplen == 0 || iplen >= sizeof ip)
        return 0;
    memcpy(ip, spec, iplen);
    ip[iplen] = '\0';
    if (!parse_ip(ip, &out->family, out->net))
        return 0;
    size_t len = out->family == AF_INET ? 4 : 16;
    unsigned bits = (unsigned)len * 8;
    if (slash) {
        const char *m = slash + 1;
        size_t mlen = strlen(m);
        if (mlen > 0 && mlen <= 3 && strspn(m, "0123456789") == mlen) {
            bits = (unsigned)atoi(m);
            if (bits > len * 8)
                goto bad;
        } else {
            int mfam;
            unsigned char mask[16];
            if (!parse_ip(m, &mfam, mask) || mfam != out->family)
                goto bad;
            /* Contiguous: ones, then zeros. */
            bits = 0;
            size_t i = 0;
            while (i < len && mask[i] == 0xff)
                bits += 8, i++;
            if (i < len) {
                unsigned char b = mask[i];
                while (b & 0x80)
                    bits++, b = (unsigned char)(b << 1);
                if (b)
                    goto bad;
                for (i++; i < len; i++)
                    if (mask[i])
                        goto bad;
            }
        }
    }
    for (size_t i = 0; i < len; i++) {
        unsigned take = bits >= 8 ? 8 : bits;
        out->mask[i] = (unsigned char)(take ? 0xff << (8 - take) : 0);
        bits -= take;
        out->net[i] &= out->mask[i];
    }
    return 1;
bad:
    memset(out, 0, sizeof *out);
    return 0;
}

int bwc_netmask_match(const bwc_netmask *m, const struct sockaddr *addr)
{
    const unsigned char *a;
    int family;
    if (!addr)
        return 0;
    if (addr->sa_family == AF_INET) {
        a = (const unsigned char *)&((const struct sockaddr_in *)addr)->sin_addr;
        family = AF_INET;
    } else if (addr->sa_family == AF_INET6) {
        const struct in6_addr *a6 = &((const struct sockaddr_in6 *)addr)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a6)) {
            a = a6->s6_addr + 12;
            family = AF_INET;
        } else {
            a = a6->s6_addr;
            family = AF_INET6;
        }
    } else {
        return 0;
    }
    if (family != m->family)
        return 0;
    size_t len = family == AF_INET ? 4 : 16;
    for (size_t i = 0; i < len; i++)
        if ((a[i] & m->mask[i]) != m->net[i])
            return 0;
    return 1;
}

static void addr_to_string(const struct sockaddr *sa, char *out, size_t outlen)
{
    const void *p = NULL;
    if (sa && sa->sa_family == AF_INET)
        p = &((const struct sockaddr_in *)sa)->sin_addr;
    else if (sa && sa->sa_family == AF_INET6)
        p = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    if (!p || !evutil_inet_ntop(sa->sa_family, p, out, outlen))
        snprintf(out, outlen, "?");
}

/* ---- methods ---------------------------------------------------------------------------- */

static rpc_method *find_method(bwc_rpc_server *srv, const char *name)
{
    /* Linear: a few dozen methods, compared once per call. */
    for (size_t i = 0; i < srv->n_methods; i++)
        if (!strcmp(srv->methods[i].name, name))
            return &srv->methods[i];
    return NULL;
}

static int valid_name(const char *s, size_t n)
{
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    return 1;
}

static void free_method(rpc_method *m)
{
    for (size_t i = 0; i < m->n_args; i++)
        free(m->args[i]);
    free(m->args);
    free(m->name);
    free(m->help);
}

int bwc_rpc_register(bwc_rpc_server *srv, const char *name, bwc_rpc_handler handler, void *ctx,
                     const char *args, const char *help)
{
    rpc_method m;
    memset(&m, 0, sizeof m);
    if (!srv || !handler || !valid_name(name, strlen(name)) || find_method(srv, name))
        return -1;
    m.handler = handler;
    m.ctx = ctx;
    m.name = strdup(name);
    m.help = strdup(help ? help : "");
    if (!m.name || !m.help)
        goto bad;
    for (const char *p = args ? args : ""; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        while (n && *p == ' ')
            p++, n--;
        while (n && p[n - 1] == ' ')
            n--;
        if (m.variadic)
            goto bad; /* "..." must come last */
        if (n == 3 && !memcmp(p, "...", 3)) {
            m.variadic = 1;
        } else {
            if (!valid_name(p, n))
                goto bad;
            for (size_t i = 0; i < m.n_args; i++)
                if (strlen(m.args[i]) == n && !memcmp(m.args[i], p, n))
                    goto bad;
            char **grown = realloc(m.args, (m.n_args + 1) * sizeof *grown);
            if (!grown)
                goto bad;
            m.args = grown;
            if (!(m.args[m.n_args] = strndup(p, n)))
                goto bad;
            m.n_args++;
        }
        if (!comma)
            break;
        p = comma + 1;
    }
    if (srv->n_methods == srv->cap_methods) {
        size_t cap = srv->cap_methods ? srv->cap_methods * 2 : 32;
        rpc_method *grown = realloc(srv->methods, cap * sizeof *grown);
        if (!grown)
            goto bad;
        srv->methods = grown;
        srv->cap_methods = cap;
    }
    srv->methods[srv->n_methods++] = m;
    return 0;
bad:
    free_method(&m);
    return -1;
}

void bwc_rpc_server_set_warmup(bwc_rpc_server *srv, const char *status)
{
    free(srv->warmup);
    /* Out of memory leaves no warmup: better to serve early than to refuse forever. */
    srv->warmup = status ? strdup(status) : NULL;
}

int bwc_rpc_after_reply(bwc_rpc_server *srv, void (*fn)(void *), void *arg)
{
    if (!srv || !srv->collect || !fn)
        return -1;
    deferred *d = malloc(sizeof *d);
    if (!d)
        return -1;
    d->fn = fn;
    d->arg = arg;
    d->next = NULL;
    deferred **tail = srv->collect;
    while (*tail)
        tail = &(*tail)->next;
    *tail = d;
    return 0;
}

static void run_deferred(deferred *d)
{
    while (d) {
        deferred *next = d->next;
        d->fn(d->arg);
        free(d);
        d = next;
    }
}

/* "name arg1 arg2" */
static void synopsis(const rpc_method *m, char *out, size_t outlen)
{
    size_t n = (size_t)snprintf(out, outlen, "%s", m->name);
    for (size_t i = 0; i < m->n_args && n < outlen; i++)
        n += (size_t)snprintf(out + n, outlen - n, " %s", m->args[i]);
    if (m->variadic && n < outlen)
        snprintf(out + n, outlen - n, " ...");
}

static int cmp_method_ptr(const void *a, const void *b)
{
    const rpc_method *x = *(const rpc_method *const *)a, *y = *(const rpc_method *const *)b;
    return strcmp(x->name, y->name);
}

static json_t *help_handler(void *ctx, json_t *params, bwc_rpc_error *err)
{
    bwc_rpc_server *srv = ctx;
    json_t *which = json_array_get(params, 0);
    char line[512];
    if (which && !json_is_null(which)) {
        if (!json_is_string(which))
            return bwc_rpc_fail(err, RPC_TYPE_ERROR, "help: command must be a string");
        const rpc_method *m = find_method(srv, json_string_value(which));
        if (!m) {
            snprintf(line, sizeof line, "help: unknown command: %s", json_string_value(which));
            return json_string(line);
        }
        if (m->help[0])
            return json_string(m->help);
        synopsis(m, line, sizeof line);
        return json_string(line);
    }
    const rpc_method **sorted = malloc((srv->n_methods + 1) * sizeof *sorted);
    if (!sorted)
        return bwc_rpc_fail(err, RPC_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; i < srv->n_methods; i++)
        sorted[i] = &srv->methods[i];
    qsort(sorted, srv->n_methods, sizeof *sorted, cmp_method_ptr);
    size_t cap = 1024, len = 0;
    char *text = malloc(cap);
    for (size_t i = 0; text && i < srv->n_methods; i++) {
        synopsis(sorted[i], line, sizeof line);
        size_t n = strlen(line);
        if (len + n + 2 > cap) {
            char *grown = realloc(text, cap = (len + n + 2) * 2);
            if (!grown)
                free(text);
            text = grown;
            if (!text)
                break;
        }
        memcpy(text + len, line, n);
        len += n;
        text[len++] = '\n';
    }
    free(sorted);
    if (!text)
        return bwc_rpc_fail(err, RPC_OUT_OF_MEMORY, "out of memory");
    if (len)
        len--; /* no final newline, as Bitcoin Core */
    json_t *r = json_stringn(text, len);
    free(text);
    return r;
}

/* ---- JSON-RPC ---------------------------------------------------------------------------- */

enum { V1 = 1, V2 = 2 };

/* Never NULL for a failed call: a message jansson refuses (or no memory) still yields a fixed
 * internal error rather than "error": null beside a null result. */
static json_t *error_obj(int code, const char *message)
{
    json_t *e = json_pack("{s:i,s:s}", "code", code, "message", message);
    if (!e)
        e = json_pack("{s:i,s:s}", "code", RPC_INTERNAL_ERROR, "message", "internal error");
    return e;
}

/* A reply object. result and error are stolen (either may be NULL); id is borrowed. Version 1
 * carries both result and error (one null), version 2 exactly one of them, as Bitcoin Core. */
static json_t *reply_obj(int version, json_t *result, json_t *error, json_t *id)
{
    json_t *r = json_object();
    if (!r) {
        json_decref(result);
        json_decref(error);
        return NULL;
    }
    if (version == V2) {
        json_object_set_new(r, "jsonrpc", json_string("2.0"));
        if (error)
            json_object_set_new(r, "error", error);
        else
            json_object_set_new(r, "result", result ? result : json_null());
        if (error)
            json_decref(result);
    } else {
        json_object_set_new(r, "result", result ? result : json_null());
        json_object_set_new(r, "error", error ? error : json_null());
    }
    json_object_set(r, "id", id ? id : json_null());
    return r;
}

/* Maps named parameters onto the method's positions; unknown names are an error. Returns a
 * new array, or NULL with err filled. */
static json_t *named_to_positional(const rpc_method *m, json_t *obj, bwc_rpc_error *err)
{
    const char *key;
    json_t *val;
    size_t count = 0;
    json_object_foreach(obj, key, val)
    {
        size_t i = 0;
        while (i < m->n_args && strcmp(m->args[i], key) != 0)
            i++;
        if (i == m->n_args)
            return bwc_rpc_fail(err, RPC_INVALID_PARAMS, "Unknown named parameter %s", key);
        if (i + 1 > count)
            count = i + 1;
    }
    json_t *arr = json_array();
    for (size_t i = 0; arr && i < count; i++) {
        json_t *v = json_object_get(obj, m->args[i]);
        json_array_append(arr, v ? v : json_null());
    }
    if (!arr)
        return bwc_rpc_fail(err, RPC_OUT_OF_MEMORY, "out of memory");
    return arr;
}

/* Executes one request object. Returns the reply (new reference), or NULL when none is due
 * (a JSON-RPC 2.0 notification). *version gets the request's version. */
static json_t *execute_one(bwc_rpc_server *srv, json_t *req, int *version)
{
    bwc_rpc_error err = {0, ""};
    json_t *id = NULL, *params = NULL, *result = NULL;
    const char *method;
    *version = V1;

    if (!json_is_object(req))
        return reply_obj(V1, NULL, error_obj(RPC_INVALID_REQUEST, "Invalid Request object"), NULL);
    id = json_object_get(req, "id");
    json_t *jv = json_object_get(req, "jsonrpc");
    if (jv && !json_is_null(jv)) {
        if (!json_is_string(jv))
            return reply_obj(V1, NULL,
                             error_obj(RPC_INVALID_REQUEST, "jsonrpc field must be a string"), id);
        /* "1.0" appeared in old documentation; Bitcoin Core accepts it as version 1. */
        if (!strcmp(json_string_value(jv), "2.0"))
            *version = V2;
        else if (strcmp(json_string_value(jv), "1.0") != 0)
            return reply_obj(V1, NULL,
                             error_obj(RPC_INVALID_REQUEST, "JSON-RPC version not supported"), id);
    }
    json_t *jm = json_object_get(req, "method");
    if (!jm)
        return reply_obj(*version, NULL, error_obj(RPC_INVALID_REQUEST, "Missing method"), id);
    if (!json_is_string(jm))
        return reply_obj(*version, NULL, error_obj(RPC_INVALID_REQUEST, "Method must be a string"),
                         id);
    method = json_string_value(jm);
    json_t *jp = json_object_get(req, "params");
    if (jp && !json_is_null(jp) && !json_is_array(jp) && !json_is_object(jp))
        return reply_obj(*version, NULL,
                         error_obj(RPC_INVALID_REQUEST, "Params must be an array or object"), id);
    int notification = *version == V2 && !id;

    rpc_method *m = find_method(srv, method);
    if (!m) {
        bwc_rpc_fail(&err, RPC_METHOD_NOT_FOUND, "Method not found");
    } else if (srv->warmup && strcmp(method, "help") != 0 && strcmp(method, "stop") != 0) {
        bwc_rpc_fail(&err, RPC_IN_WARMUP, "%s", srv->warmup);
    } else {
        if (!jp || json_is_null(jp))
            params = json_array();
        else if (json_is_object(jp))
            params = named_to_positional(m, jp, &err);
        else
            params = json_incref(jp);
        if (params && !m->variadic && json_array_size(params) > m->n_args) {
            char syn[512];
            synopsis(m, syn, sizeof syn);
            bwc_rpc_fail(&err, RPC_INVALID_PARAMS, "too many parameters: %s takes at most %zu (%s)",
                         method, m->n_args, syn);
        } else if (params) {
            bwc_log_debug(BWC_LOG_RPC, "call method=%s", method);
            result = m->handler(m->ctx, params, &err);
            if (!result && !err.code)
                bwc_rpc_fail(&err, RPC_INTERNAL_ERROR, "%s failed", method);
            if (!result && !err.message[0])
                bwc_rpc_fail(&err, err.code, "%s failed", method);
        } else if (!err.code) {
            bwc_rpc_fail(&err, RPC_OUT_OF_MEMORY, "out of memory");
        }
        json_decref(params);
    }
    if (notification) {
        json_decref(result);
        return NULL;
    }
    if (result)
        return reply_obj(*version, result, NULL, id);
    utf8_sanitize(err.message); /* a handler may have written it directly */
    return reply_obj(*version, NULL, error_obj(err.code, err.message), id);
}

static int status_for_error(json_t *reply)
{
    json_t *e = json_object_get(reply, "error");
    if (!e || json_is_null(e))
        return 200;
    json_int_t code = json_integer_value(json_object_get(e, "code"));
    if (code == RPC_INVALID_REQUEST)
        return 400;
    if (code == RPC_METHOD_NOT_FOUND)
        return 404;
    return 500;
}

/* Serialises reply (stolen) with a final newline. */
static char *dump_reply(json_t *reply)
{
    char *s = reply ? json_dumps(reply, JSON_COMPACT) : NULL;
    json_decref(reply);
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *t = realloc(s, n + 2);
    if (!t) {
        free(s);
        return NULL;
    }
    t[n] = '\n';
    t[n + 1] = '\0';
    return t;
}

static char *execute_body(bwc_rpc_server *srv, const char *body, size_t len, int *status,
                          deferred **after)
{
    json_error_t jerr;
    json_t *in, *reply;
    char msg[256];
    int version;

    *status = 200;
    srv->collect = after;
    in = json_loadb(body, len, 0, &jerr);
    if (!in) {
        /* The version is unknown here, so the reply is version 1's shape, as Bitcoin Core. */
        snprintf(msg, sizeof msg, "Parse error: %s at line %d column %d", jerr.text, jerr.line,
                 jerr.column);
        utf8_sanitize(msg);
        reply = reply_obj(V1, NULL, error_obj(RPC_PARSE_ERROR, msg), NULL);
        *status = 500;
    } else if (json_is_array(in)) {
        size_t n = json_array_size(in);
        if (n > srv->max_batch) {
            snprintf(msg, sizeof msg, "batch of %zu requests is over the limit of %u", n,
                     srv->max_batch);
            reply = reply_obj(V1, NULL, error_obj(RPC_INVALID_REQUEST, msg), NULL);
            *status = 400;
        } else {
            reply = json_array();
            for (size_t i = 0; reply && i < n; i++) {
                json_t *r = execute_one(srv, json_array_get(in, i), &version);
                if (r)
                    json_array_append_new(reply, r);
            }
            /* Only notifications: nothing to send. An empty batch gets "[]", as Bitcoin
             * Core (it held no version 2 call). */
            if (reply && n > 0 && json_array_size(reply) == 0) {
                json_decref(reply);
                reply = NULL;
                *status = 204;
            }
        }
    } else {
        reply = execute_one(srv, in, &version);
        if (!reply)
            *status = 204;
        else if (version == V1)
            *status = status_for_error(reply);
    }
    json_decref(in);
    srv->collect = NULL;
    if (*status == 204)
        return NULL;
    char *out = dump_reply(reply);
    if (!out) {
        *status = 500;
        static const char oom[] =
            "{\"result\":null,\"error\":{\"code\":-7,\"message\":\"out of memory\"},\"id\":null}\n";
        out = strdup(oom);
    }
    return out;
}

char *bwc_rpc_execute(bwc_rpc_server *srv, const char *body, size_t len, int *http_status)
{
    deferred *after = NULL;
    char *out = execute_body(srv, body, len, http_status, &after);
    run_deferred(after); /* no socket here: "after the reply" is now */
    return out;
}

/* ---- authentication ----------------------------------------------------------------------- */

static void sha256(const void *data, size_t len, unsigned char out[32])
{
    unsigned int n = 32;
    if (!EVP_Digest(data, len, out, &n, EVP_sha256(), NULL))
        memset(out, 0, 32);
}

/* Checks an "Authorization: Basic ..." value in constant time against the cookie and
 * -rpcuser/-rpcpassword (SHA-256 of "user:pass" compared with CRYPTO_memcmp, so neither the
 * content nor the length of the secret leaks through timing). Returns 1 or 0. */
static int authorized(const bwc_rpc_server *srv, const char *header)
{
    if (strncasecmp(header, "Basic ", 6) != 0)
        return 0;
    const char *b64 = header + 6;
    while (*b64 == ' ')
        b64++;
    size_t n = strlen(b64);
    if (n == 0 || n % 4 != 0)
        return 0;
    unsigned char *plain = malloc(n / 4 * 3 + 1);
    if (!plain)
        return 0;
    int len = EVP_DecodeBlock(plain, (const unsigned char *)b64, (int)n);
    if (len < 0) {
        free(plain);
        return 0;
    }
    /* EVP_DecodeBlock counts padding as zero bytes. */
    if (b64[n - 1] == '=')
        len--;
    if (b64[n - 2] == '=')
        len--;
    unsigned char d[32];
    sha256(plain, (size_t)len, d);
    OPENSSL_cleanse(plain, n / 4 * 3 + 1);
    free(plain);
    int ok = 0;
    ok |= srv->have_cookie && CRYPTO_memcmp(d, srv->cookie_digest, 32) == 0;
    ok |= srv->have_userpass && CRYPTO_memcmp(d, srv->userpass_digest, 32) == 0;
    return ok;
}

static int write_cookie(bwc_rpc_server *srv, const char *path, char *err, size_t errlen)
{
    unsigned char secret[COOKIE_SECRET_BYTES];
    char text[sizeof BWC_RPC_COOKIE_USER + 1 + 2 * COOKIE_SECRET_BYTES + 1];
    char tmp[4096 + 8];
    int rc = -1, fd = -1;

    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return bwc_errf(err, errlen, "cookie path too long");
    if (bwc_random_bytes(secret, sizeof secret) != 0)
        return bwc_errf(err, errlen, "no randomness for the RPC cookie");
    memcpy(text, BWC_RPC_COOKIE_USER ":", sizeof BWC_RPC_COOKIE_USER);
    bwc_hex_encode(text + sizeof BWC_RPC_COOKIE_USER, secret, sizeof secret);
    size_t len = strlen(text);

    /* A stale temp file from a crash would make O_EXCL fail: remove it first. O_EXCL and
     * O_NOFOLLOW make sure we write a new file of our own, never through a planted link. */
    if (unlink(tmp) != 0 && errno != ENOENT) {
        bwc_errf(err, errlen, "cannot remove %s: %s", tmp, strerror(errno));
        goto out;
    }
    fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        bwc_errf(err, errlen, "cannot create RPC cookie %s: %s", tmp, strerror(errno));
        goto out;
    }
    for (size_t off = 0; off < len;) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            bwc_errf(err, errlen, "cannot write RPC cookie %s: %s", tmp, strerror(errno));
            goto out;
        }
        off += (size_t)w;
    }
    if (close(fd) != 0) {
        fd = -1;
        bwc_errf(err, errlen, "cannot write RPC cookie %s: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        bwc_errf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        goto out;
    }
    sha256(text, len, srv->cookie_digest);
    srv->have_cookie = 1;
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (rc != 0)
        unlink(tmp);
    OPENSSL_cleanse(secret, sizeof secret);
    OPENSSL_cleanse(text, sizeof text);
    return rc;
}

/* ---- HTTP --------------------------------------------------------------------------------- */

static void send_text(struct evhttp_request *req, int code, const char *text)
{
    struct evbuffer *b = text ? evbuffer_new() : NULL;
    if (b)
        evbuffer_add(b, text, strlen(text));
    if (text)
        evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
                          "text/plain; charset=utf-8");
    evhttp_send_reply(req, code, NULL, b);
    if (b)
        evbuffer_free(b);
}

static void send_unauthorized(struct evhttp_request *req)
{
    evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate", WWW_AUTH_HEADER);
    evhttp_send_reply(req, 401, NULL, NULL);
}

static void free_string(const void *data, size_t len, void *arg)
{
    (void)len;
    (void)arg;
    free((void *)data);
}

static void on_conn_close(struct evhttp_connection *evcon, void *arg)
{
    rpc_conn *c = arg;
    bwc_rpc_server *srv = c->srv;
    (void)evcon;
    deferred *after = c->after;
    c->after = NULL;
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->n_conns--;
    free(c);
    run_deferred(after);
}

/* The record of evcon, created on its first request; NULL when the connection limit is
 * reached (or no memory). */
static rpc_conn *track(bwc_rpc_server *srv, struct evhttp_connection *evcon)
{
    /* Linear in the number of open connections, which the limit keeps small. */
    for (rpc_conn *c = srv->conns; c; c = c->next)
        if (c->evcon == evcon)
            return c;
    if (srv->n_conns >= srv->max_conns)
        return NULL;
    rpc_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->evcon = evcon;
    c->srv = srv;
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->n_conns++;
    evhttp_connection_set_closecb(evcon, on_conn_close, c);
    return c;
}

static void on_reply_complete(struct evhttp_request *req, void *arg)
{
    rpc_conn *c = arg;
    (void)req;
    deferred *after = c->after;
    c->after = NULL;
    run_deferred(after);
}

static void on_auth_delay(evutil_socket_t fd, short what, void *arg)
{
    pending_auth *p = arg;
    bwc_rpc_server *srv = p->srv;
    (void)fd;
    (void)what;
    if (p->prev)
        p->prev->next = p->next;
    else
        srv->pending = p->next;
    if (p->next)
        p->next->prev = p->prev;
    /* If the client left meanwhile, libevent detached the request from its connection and
     * this reply only frees it. */
    send_unauthorized(p->req);
    event_free(p->timer);
    free(p);
}

static void delay_unauthorized(bwc_rpc_server *srv, struct evhttp_request *req)
{
    pending_auth *p = calloc(1, sizeof *p);
    struct timeval tv = {(time_t)(srv->auth_delay_ms / 1000),
                         (suseconds_t)(srv->auth_delay_ms % 1000) * 1000};
    if (p)
        p->timer = evtimer_new(srv->base, on_auth_delay, p);
    if (!p || !p->timer || evtimer_add(p->timer, &tv) != 0) {
        if (p && p->timer)
            event_free(p->timer);
        free(p);
        send_unauthorized(req); /* cannot delay: answer now rather than never */
        return;
    }
    p->req = req;
    p->srv = srv;
    p->next = srv->pending;
    if (srv->pending)
        srv->pending->prev = p;
    srv->pending = p;
}

static int peer_allowed(const bwc_rpc_server *srv, const struct sockaddr *sa)
{
    for (size_t i = 0; i < srv->n_allow; i++)
        if (bwc_netmask_match(&srv->allow[i], sa))
            return 1;
    return 0;
}

static const struct sockaddr *peer_addr(struct evhttp_connection *evcon,
                                        struct sockaddr_storage *buf)
{
    const struct sockaddr *sa = evcon ? evhttp_connection_get_addr(evcon) : NULL;
    if (sa || !evcon)
        return sa;
    /* Fallback: the numeric address string evhttp keeps for the peer. */
    char *host = NULL;
    ev_uint16_t port = 0;
    evhttp_connection_get_peer(evcon, &host, &port);
    memset(buf, 0, sizeof *buf);
    struct sockaddr_in *v4 = (struct sockaddr_in *)buf;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)buf;
    if (host && evutil_inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        return (const struct sockaddr *)buf;
    }
    if (host && evutil_inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        return (const struct sockaddr *)buf;
    }
    return NULL;
}

/* Every path below ends in exactly one evhttp_send_reply (the wrong-password path in its
 * timer callback). Checks in Bitcoin Core's order: peer, method, path, credentials. */
static void on_request(struct evhttp_request *req, void *arg)
{
    bwc_rpc_server *srv = arg;
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct sockaddr_storage ss;
    const struct sockaddr *sa = peer_addr(evcon, &ss);
    char peer[64];
    static bwc_log_limiter forbidden_limiter = BWC_LOG_LIMITER_INIT;
    static bwc_log_limiter password_limiter = BWC_LOG_LIMITER_INIT;

    addr_to_string(sa, peer, sizeof peer);
    if (!peer_allowed(srv, sa)) {
        bwc_log_rate_limited(&forbidden_limiter, BWC_LOG_WARNING,
                             "RPC request from %s refused: not in -rpcallowip", peer);
        send_text(req, 403, NULL);
        return;
    }
    rpc_conn *c = track(srv, evcon);
    if (!c) {
        char text[96];
        snprintf(text, sizeof text, "too many RPC connections (limit %u)\n", srv->max_conns);
        evhttp_add_header(evhttp_request_get_output_headers(req), "Connection", "close");
        send_text(req, 503, text);
        return;
    }
    if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
        evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", "POST");
        send_text(req, 405, "JSONRPC server handles only POST requests\n");
        return;
    }
    const char *uri = evhttp_request_get_uri(req);
    if (!uri || strcmp(uri, "/") != 0) {
        send_text(req, 404, NULL);
        return;
    }
    const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization");
    if (!auth) {
        send_unauthorized(req);
        return;
    }
    if (!authorized(srv, auth)) {
        bwc_log_rate_limited(&password_limiter, BWC_LOG_WARNING,
                             "incorrect RPC password attempt from %s", peer);
        /* Deters brute force without holding the loop: the 401 leaves later, by a timer. */
        delay_unauthorized(srv, req);
        return;
    }

    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    const char *body = len ? (const char *)evbuffer_pullup(in, (ev_ssize_t)len) : "";
    int status = 500;
    deferred *after = NULL;
    char *out = NULL;
    if (body)
        out = execute_body(srv, body, len, &status, &after);
    if (len)
        evbuffer_drain(in, len);
    if (after) {
        c->after = after;
        evhttp_request_set_on_complete_cb(req, on_reply_complete, c);
    }
    if (!out) {
        evhttp_send_reply(req, status == 204 ? 204 : 500, NULL, NULL);
        return;
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    struct evbuffer *ob = evhttp_request_get_output_buffer(req);
    if (evbuffer_add_reference(ob, out, strlen(out), free_string, NULL) != 0) {
        free(out);
        status = 500;
    }
    evhttp_send_reply(req, status, NULL, NULL);
}

/* libevent's own messages go to our log, as Bitcoin Core does. */
static void libevent_log(int severity, const char *msg)
{
    if (severity >= EVENT_LOG_WARN)
        bwc_log(BWC_LOG_WARNING, "libevent: %s", msg);
    else
        bwc_log_debug(BWC_LOG_LIBEVENT, "libevent: %s", msg);
}

static int is_loopback(int family, const unsigned char *a)
{
    static const unsigned char v6_loopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    return family == AF_INET ? a[0] == 127 : memcmp(a, v6_loopback, 16) == 0;
}

typedef struct {
    char host[64];
    uint16_t port;
    int loopback;
} endpoint;

/* Parses "ADDR", "ADDR:PORT", "[V6]:PORT" or a bare IPv6 address. */
static int parse_endpoint(const char *spec, uint16_t default_port, endpoint *ep)
{
    const char *host = spec, *port = NULL;
    size_t hlen;
    unsigned char a[16];
    int family;
    if (spec[0] == '[') {
        const char *close = strchr(spec, ']');
        if (!close || (close[1] != '\0' && close[1] != ':'))
            return 0;
        host = spec + 1;
        hlen = (size_t)(close - host);
        if (close[1] == ':')
            port = close + 2;
    } else {
        const char *colon = strchr(spec, ':');
        if (colon && !strchr(colon + 1, ':')) { /* exactly one colon: v4 (or name) with port */
            hlen = (size_t)(colon - spec);
            port = colon + 1;
        } else {
            hlen = strlen(spec);
        }
    }
    if (hlen == 0 || hlen >= sizeof ep->host)
        return 0;
    memcpy(ep->host, host, hlen);
    ep->host[hlen] = '\0';
    if (!parse_ip(ep->host, &family, a))
        return 0;
    ep->loopback = is_loopback(family, a);
    ep->port = default_port;
    if (port) {
        char *end;
        long p = strtol(port, &end, 10);
        if (!*port || *end || p < 1 || p > 65535)
            return 0;
        ep->port = (uint16_t)p;
    }
    return 1;
}

static uint16_t bound_port(struct evhttp_bound_socket *h)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    evutil_socket_t fd = evhttp_bound_socket_get_fd(h);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return 0;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static int bind_all(bwc_rpc_server *srv, const bwc_rpc_config *cfg, char *err, size_t errlen)
{
    endpoint eps[MAX_BINDS];
    int required[MAX_BINDS];
    size_t n = 0;

    if (cfg->n_bind > MAX_BINDS)
        return bwc_errf(err, errlen, "too many -rpcbind addresses (at most %d)", MAX_BINDS);
    for (size_t i = 0; i < cfg->n_bind; i++) {
        endpoint ep;
        if (!parse_endpoint(cfg->bind[i], cfg->port, &ep))
            return bwc_errf(err, errlen,
                        "-rpcbind=%s: expected a numeric IP address with an optional port "
                        "(1.2.3.4:5678, [::1]:5678)",
                        cfg->bind[i]);
        if (!ep.loopback && cfg->n_allowip == 0) {
            bwc_log(BWC_LOG_WARNING,
                    "option -rpcbind=%s was ignored because -rpcallowip was not specified, "
                    "refusing to allow everyone to connect",
                    cfg->bind[i]);
            continue;
        }
        required[n] = 1;
        eps[n++] = ep;
    }
    if (cfg->n_allowip > 0 && cfg->n_bind == 0)
        bwc_log(BWC_LOG_WARNING, "option -rpcallowip was specified without -rpcbind; this "
                                 "doesn't usually make sense: only loopback is bound");
    if (n == 0) { /* defaults: IPv4 first so that port 0 picks one port for both */
        snprintf(eps[0].host, sizeof eps[0].host, "127.0.0.1");
        snprintf(eps[1].host, sizeof eps[1].host, "::1");
        eps[0].port = eps[1].port = cfg->port;
        eps[0].loopback = eps[1].loopback = 1;
        required[0] = 1;
        required[1] = 0; /* ::1 only "when available" */
        n = 2;
    }
    int bound = 0;
    for (size_t i = 0; i < n; i++) {
        uint16_t port = eps[i].port ? eps[i].port : (!required[i] ? srv->port : 0);
        struct evhttp_bound_socket *h =
            evhttp_bind_socket_with_handle(srv->http, eps[i].host, port);
        if (!h) {
            int e = errno;
            if (required[i])
                return bwc_errf(err, errlen, "cannot bind RPC to %s port %u: %s", eps[i].host,
                            (unsigned)port, strerror(e));
            bwc_log_debug(BWC_LOG_HTTP, "binding RPC on %s port %u failed: %s", eps[i].host,
                          (unsigned)port, strerror(e));
            continue;
        }
        uint16_t got = bound_port(h);
        if (!bound)
            srv->port = got;
        bound++;
        bwc_log(BWC_LOG_INFO, "RPC server listening on %s port %u", eps[i].host, (unsigned)got);
        if (!eps[i].loopback)
            bwc_log(BWC_LOG_WARNING,
                    "the RPC server is bound to %s, which is not loopback: it "
                    "is not safe to expose to untrusted networks such as the "
                    "public internet",
                    eps[i].host);
    }
    if (!bound)
        return bwc_errf(err, errlen, "unable to bind any endpoint for the RPC server");
    return 0;
}

bwc_rpc_server *bwc_rpc_server_start(struct event_base *base, const bwc_rpc_config *cfg, char *err,
                                     size_t errlen)
{
    bwc_rpc_server *srv = calloc(1, sizeof *srv);
    if (!srv) {
        bwc_errf(err, errlen, "out of memory");
        return NULL;
    }
    srv->base = base;
    srv->max_body = cfg->max_body_bytes ? cfg->max_body_bytes : BWC_RPC_MAX_BODY_BYTES;
    srv->max_header = cfg->max_header_bytes ? cfg->max_header_bytes : BWC_RPC_MAX_HEADER_BYTES;
    srv->timeout = cfg->timeout_seconds > 0 ? cfg->timeout_seconds : BWC_RPC_TIMEOUT_SECONDS;
    srv->max_conns = cfg->max_connections ? cfg->max_connections : BWC_RPC_MAX_CONNECTIONS;
    srv->max_batch = cfg->max_batch ? cfg->max_batch : BWC_RPC_MAX_BATCH;
    srv->auth_delay_ms =
        cfg->auth_fail_delay_ms ? cfg->auth_fail_delay_ms : BWC_RPC_AUTH_FAIL_DELAY_MS;

    /* Loopback is always allowed, as Bitcoin Core. */
    srv->allow = calloc(cfg->n_allowip + 2, sizeof *srv->allow);
    if (!srv->allow) {
        bwc_errf(err, errlen, "out of memory");
        goto bad;
    }
    bwc_netmask_parse(&srv->allow[0], "127.0.0.0/8");
    bwc_netmask_parse(&srv->allow[1], "::1");
    srv->n_allow = 2;
    for (size_t i = 0; i < cfg->n_allowip; i++) {
        if (!bwc_netmask_parse(&srv->allow[srv->n_allow++], cfg->allowip[i])) {
            bwc_errf(err, errlen,
                 "invalid -rpcallowip subnet specification: %s. Valid are a single IP (e.g. "
                 "1.2.3.4), a network/netmask (e.g. 1.2.3.4/255.255.255.0) or a network/CIDR "
                 "(e.g. 1.2.3.4/24).",
                 cfg->allowip[i]);
            goto bad;
        }
    }

    if (cfg->password && cfg->password[0]) {
        const char *user = cfg->user ? cfg->user : "";
        if (strchr(user, ':')) {
            bwc_errf(err, errlen, "-rpcuser may not contain ':'");
            goto bad;
        }
        size_t n = strlen(user) + 1 + strlen(cfg->password);
        char *up = malloc(n + 1);
        if (!up) {
            bwc_errf(err, errlen, "out of memory");
            goto bad;
        }
        snprintf(up, n + 1, "%s:%s", user, cfg->password);
        sha256(up, n, srv->userpass_digest);
        OPENSSL_cleanse(up, n);
        free(up);
        srv->have_userpass = 1;
    }
    if (!cfg->cookie_path && !srv->have_userpass) {
        bwc_errf(err, errlen, "no RPC credentials: neither a cookie file nor -rpcpassword");
        goto bad;
    }

    event_set_log_callback(libevent_log);
    if (!(srv->http = evhttp_new(base))) {
        bwc_errf(err, errlen, "cannot create the HTTP server");
        goto bad;
    }
    /* evhttp's defaults are unlimited: set every limit explicitly. */
    evhttp_set_timeout(srv->http, srv->timeout);
    evhttp_set_max_headers_size(srv->http, (ev_ssize_t)srv->max_header);
    evhttp_set_max_body_size(srv->http, (ev_ssize_t)srv->max_body);
    /* Let every method reach on_request, which answers 405 to all but POST. */
    evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
                                              EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
                                              EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
                                              EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
    /* Read (and drop) the rest of an oversized body before answering 413, so the client sees
     * the status instead of a reset connection. */
    evhttp_set_flags(srv->http, EVHTTP_SERVER_LINGERING_CLOSE);
    evhttp_set_gencb(srv->http, on_request, srv);
    if (bind_all(srv, cfg, err, errlen) != 0)
        goto bad;
    /* The cookie only after binding worked: a second node started by mistake on the same
     * port must not replace (and at its exit delete) the running node's cookie. No request is
     * served before the loop runs again, so none can arrive before the cookie exists. */
    if (cfg->cookie_path) {
        if (!(srv->cookie_path = strdup(cfg->cookie_path))) {
            bwc_errf(err, errlen, "out of memory");
            goto bad;
        }
        if (write_cookie(srv, srv->cookie_path, err, errlen) != 0) {
            free(srv->cookie_path);
            srv->cookie_path = NULL;
            goto bad;
        }
    }
    if (bwc_rpc_register(srv, "help", help_handler, srv, "command",
                         "help ( \"command\" )\n\nList all commands, or get help for a specified "
                         "command.\n\nArguments:\n1. command    (string, optional) The command "
                         "to get help on") != 0) {
        bwc_errf(err, errlen, "out of memory");
        goto bad;
    }
    return srv;
bad:
    bwc_rpc_server_stop(srv);
    return NULL;
}

void bwc_rpc_server_stop(bwc_rpc_server *srv)
{
    if (!srv)
        return;
    while (srv->pending) {
        pending_auth *p = srv->pending;
        srv->pending = p->next;
        event_free(p->timer);
        send_unauthorized(p->req);
        free(p);
    }
    if (srv->http)
        evhttp_free(srv->http); /* closes every connection: their close callbacks run */
    while (srv->conns) {        /* connections libevent freed without a close callback */
        rpc_conn *c = srv->conns;
        srv->conns = c->next;
        run_deferred(c->after);
        free(c);
    }
    if (srv->cookie_path) {
        if (unlink(srv->cookie_path) != 0 && errno != ENOENT)
            bwc_log(BWC_LOG_WARNING, "cannot delete RPC cookie %s: %s", srv->cookie_path,
                    strerror(errno));
        free(srv->cookie_path);
    }
    for (size_t i = 0; i < srv->n_methods; i++)
        free_method(&srv->methods[i]);
    free(srv->methods);
    free(srv->allow);
    free(srv->warmup);
    OPENSSL_cleanse(srv->cookie_digest, sizeof srv->cookie_digest);
    OPENSSL_cleanse(srv->userpass_digest, sizeof srv->userpass_digest);
    free(srv);
}

uint16_t bwc_rpc_server_port(const bwc_rpc_server *srv)
{
    return srv->port;
}

unsigned bwc_rpc_server_connections(const bwc_rpc_server *srv)
{
    return srv->n_conns;
}
