/* bwc-cli.c: command-line JSON-RPC client for bwcd, in the conventions of bitcoin-cli. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "chainspec/chainspec.h"
#include "common/args.h"

#define DEFAULT_RPCCONNECT "127.0.0.1"
#define DEFAULT_WAIT_TIMEOUT 60     /* bitcoin-cli waits forever by default; see -help */
#define DEFAULT_CLIENT_TIMEOUT 900  /* seconds, as bitcoin-cli */
#define YEAR_SECONDS 31556952       /* libevent has no "no timeout": use a year */
#define STDIN_MAX_BYTES (32u << 20) /* the server's body limit */
#define RPC_IN_WARMUP (-28)

static const bwc_arg_def options[] = {
    {"help", NULL, 0, "Print this help message and exit."},
    {"conf", "<file>", BWC_ARG_CMDLINE_ONLY,
     "Read options from <file>; a relative path is relative to the data directory (default: "
     "bwc.conf). Options bwc-cli does not know (the node's) are skipped. -noconf reads none."},
    {"datadir", "<dir>", BWC_ARG_CMDLINE_ONLY,
     "Data directory (default: $HOME/.bwc); a directory given here must exist."},
    {"chain", "<name>", 0,
     "Chain: main (default), test or dev. Selects the default RPC port and the cookie "
     "directory <datadir>/<chain>."},
    {"chainspec", "<file>", 0,
     "Use the chain described by <file> (its name and rpc_port) instead of a built-in one."},
    {"rpcconnect", "<ip>", 0,
     "Send commands to the node at <ip>, <ip>:<port> or [<ipv6>]:<port> (default: "
     "127.0.0.1)."},
    {"rpcport", "<port>", BWC_ARG_INT,
     "Connect to JSON-RPC on <port> (default: the chain's rpc_port; it overrides a port in "
     "-rpcconnect)."},
    {"rpcuser", "<user>", 0, "Username for JSON-RPC connections."},
    {"rpcpassword", "<pw>", 0,
     "Password for JSON-RPC connections. Without it the cookie file is used."},
    {"rpccookiefile", "<file>", 0,
     "The node's cookie file (default: <datadir>/<chain>/.cookie; a relative path is relative "
     "to <datadir>/<chain>)."},
    {"rpcwait", NULL, 0,
     "Wait for the RPC server to start: retry once a second while it cannot be reached, is "
     "warming up, or has not written its cookie yet."},
    {"rpcwaittimeout", "<n>", BWC_ARG_INT,
     "How long -rpcwait waits, in seconds; 0 waits forever (default: 60; bitcoin-cli's "
     "default is 0)."},
    {"rpcclienttimeout", "<n>", BWC_ARG_INT,
     "Timeout in seconds for one HTTP request; 0 means no timeout (default: 900)."},
    {"named", NULL, 0, "Pass named arguments (name=value) instead of positional ones."},
    {"stdin", NULL, 0,
     "Read extra arguments from standard input, one per line until EOF (after those on the "
     "command line)."},
};
#define N_OPTIONS (sizeof options / sizeof options[0])

static void usage(void)
{
    fputs("Usage: bwc-cli [options] <command> [params]   Send a command to bwcd\n"
          "       bwc-cli [options] -named <command> [name=value]...\n"
          "       bwc-cli [options] help                List commands\n"
          "       bwc-cli [options] help <command>      Get help for a command\n"
          "\n"
          "Each param is sent as JSON when it parses as JSON (numbers, true, false, null,\n"
          "objects, arrays, \"quoted strings\"), otherwise as a string: quote a value that\n"
          "must stay a string, e.g. '\"1234\"'. A string result is printed as it is, others\n"
          "as indented JSON, null as nothing. An error prints \"error code: N\" and the\n"
          "message to stderr; every failure exits with status 1.\n"
          "\n"
          "Options:\n"
          "\n",
          stdout);
    bwc_args_print_help(options, N_OPTIONS, stdout);
}

static int die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int die(const char *fmt, ...)
{
    va_list ap;
    fputs("error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

/* ---- building the request ----------------------------------------------------------------- */

/* A command-line value as JSON when it parses as JSON, else as a string. New reference. */
static json_t *arg_value(const char *s)
{
    json_t *v = json_loads(s, JSON_DECODE_ANY, NULL);
    return v ? v : json_string(s);
}

typedef struct {
    char **v;
    size_t n, cap;
    size_t bytes;
} strlist;

static int strlist_add(strlist *l, char *s)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = s;
    return 0;
}

static void strlist_free(strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
}

/* Appends one argument per line of stdin (line ends stripped). */
static int read_stdin_args(strlist *l)
{
    char *line = NULL;
    size_t cap = 0, total = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        total += (size_t)n;
        if (total > STDIN_MAX_BYTES) {
            free(line);
            return die("-stdin: more than %u bytes of arguments", STDIN_MAX_BYTES);
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        char *copy = strdup(line);
        if (!copy || strlist_add(l, copy) != 0) {
            free(copy);
            free(line);
            return die("out of memory");
        }
    }
    free(line);
    if (ferror(stdin))
        return die("-stdin: cannot read standard input: %s", strerror(errno));
    return 0;
}

/* The params of the request: an array, or with -named an object. NULL after printing an
 * error. */
static json_t *build_params(const strlist *args, int named)
{
    json_t *p = named ? json_object() : json_array();
    if (!p) {
        die("out of memory");
        return NULL;
    }
    for (size_t i = 0; i < args->n; i++) {
        const char *a = args->v[i];
        if (!named) {
            json_array_append_new(p, arg_value(a));
            continue;
        }
        const char *eq = strchr(a, '=');
        if (!eq || eq == a) {
            die("-named: expected name=value, got '%s'", a);
            json_decref(p);
            return NULL;
        }
        char *name = strndup(a, (size_t)(eq - a));
        if (!name || json_object_set_new(p, name, arg_value(eq + 1)) != 0) {
            free(name);
            json_decref(p);
            die("-named: bad parameter name in '%s'", a);
            return NULL;
        }
        free(name);
    }
    return p;
}

/* ---- connection settings ------------------------------------------------------------------ */

typedef struct {
    char host[256];
    uint16_t port;
    char cookie_path[BWC_PATH_MAX];
    const char *user, *password;
    int timeout;
} target;

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

static int resolve_target(const bwc_args *a, target *t)
{
    char err[512], dir[BWC_PATH_MAX];
    bwc_chainspec cs;
    const char *spec = bwc_args_get(a, "chainspec", NULL);
    const char *chain = bwc_args_chain(a);
    int64_t v;
    long cport;

    memset(t, 0, sizeof *t);
    int rc = spec ? bwc_chainspec_load_file(&cs, spec, err, sizeof err)
                  : bwc_chainspec_load_named(&cs, chain, err, sizeof err);
    if (rc != 0)
        return die("%s", err);
    char name[BWC_CHAINSPEC_NAME_MAX + 1];
    snprintf(name, sizeof name, "%s", cs.name);
    t->port = cs.rpc_port;
    bwc_chainspec_free(&cs);

    /* Port: -rpcport, else a port in -rpcconnect, else the chain's (as bitcoin-cli). */
    if (split_host_port(bwc_args_get(a, "rpcconnect", DEFAULT_RPCCONNECT), t->host, sizeof t->host,
                        &cport) != 0)
        return die("-rpcconnect=%s: expected <ip>, <ip>:<port> or [<ipv6>]:<port>",
                   bwc_args_get(a, "rpcconnect", ""));
    if (cport > 0)
        t->port = (uint16_t)cport;
    if (bwc_args_get_int(a, "rpcport", t->port, 1, 65535, &v, err, sizeof err) != 0)
        return die("%s", err);
    t->port = (uint16_t)v;
    if (bwc_args_get_int(a, "rpcclienttimeout", DEFAULT_CLIENT_TIMEOUT, 0, YEAR_SECONDS, &v, err,
                         sizeof err) != 0)
        return die("%s", err);
    t->timeout = v > 0 ? (int)v : YEAR_SECONDS;

    t->user = bwc_args_get(a, "rpcuser", "");
    t->password = bwc_args_get(a, "rpcpassword", "");
    if (bwc_args_chaindir(a, name, 0, dir, sizeof dir, err, sizeof err) != 0)
        return die("%s", err);
    const char *cf = bwc_args_get(a, "rpccookiefile", ".cookie");
    int n = cf[0] == '/' ? snprintf(t->cookie_path, sizeof t->cookie_path, "%s", cf)
                         : snprintf(t->cookie_path, sizeof t->cookie_path, "%s/%s", dir, cf);
    if (n < 0 || (size_t)n >= sizeof t->cookie_path)
        return die("cookie file path too long");
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
static int http_post(struct event_base *base, const target *t, const char *userpass,
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

/* ---- main ------------------------------------------------------------------------------------ */

typedef enum { CALL_OK, CALL_RETRY, CALL_FAIL } call_outcome;

/* One attempt. On CALL_OK *out is the parsed reply object; CALL_RETRY is a transient failure
 * (no server, warmup, no cookie yet) whose message is in msg; CALL_FAIL was printed. */
static call_outcome call_once(struct event_base *base, const target *t, const char *body,
                              json_t **out, char *msg, size_t msglen)
{
    char cookie[512], *userpass = NULL;
    int no_cookie = 0;
    reply r;
    *out = NULL;
    if (t->password[0]) {
        size_t n = strlen(t->user) + strlen(t->password) + 2;
        if (!(userpass = malloc(n))) {
            die("out of memory");
            return CALL_FAIL;
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
        die("cannot create the HTTP request");
        return CALL_FAIL;
    }

    call_outcome oc = CALL_FAIL;
    if (r.status == 0) {
        int n = snprintf(msg, msglen, "could not connect to the server %s:%u", t->host,
                         (unsigned)t->port);
        if (r.error != -1 && n > 0 && (size_t)n < msglen)
            snprintf(msg + n, msglen - (size_t)n, " (error code %d - \"%s\")", r.error,
                     http_error_string(r.error));
        oc = CALL_RETRY;
    } else if (r.status == 401) {
        if (no_cookie) {
            snprintf(msg, msglen,
                     "could not locate RPC credentials: no authentication cookie at %s and no "
                     "-rpcpassword",
                     t->cookie_path);
            oc = CALL_RETRY; /* the node may not have written it yet */
        } else {
            die("Authorization failed: Incorrect rpcuser or rpcpassword");
        }
    } else if (r.status == 503) {
        die("Server response: %s", r.body ? r.body : "");
    } else if (r.status >= 400 && r.status != 400 && r.status != 404 && r.status != 500) {
        die("server returned HTTP error %d", r.status);
    } else if (!r.body || r.len == 0) {
        die("no response from server");
    } else {
        json_t *j = json_loadb(r.body, r.len, 0, NULL);
        if (!json_is_object(j)) {
            json_decref(j);
            die("couldn't parse reply from server");
        } else {
            json_t *e = json_object_get(j, "error");
            if (e && json_integer_value(json_object_get(e, "code")) == RPC_IN_WARMUP) {
                snprintf(msg, msglen, "server in warmup: %s",
                         json_string_value(json_object_get(e, "message"))
                             ? json_string_value(json_object_get(e, "message"))
                             : "");
                *out = j; /* shown as the error if we stop waiting */
                oc = CALL_RETRY;
            } else {
                *out = j;
                oc = CALL_OK;
            }
        }
    }
    free(r.body);
    return oc;
}

static int print_reply(json_t *j)
{
    json_t *e = json_object_get(j, "error");
    if (e && !json_is_null(e)) {
        json_t *code = json_object_get(e, "code"), *m = json_object_get(e, "message");
        if (json_is_object(e) && code) {
            fprintf(stderr, "error code: %lld\n", (long long)json_integer_value(code));
            if (json_is_string(m))
                fprintf(stderr, "error message:\n%s\n", json_string_value(m));
        } else {
            char *s = json_dumps(e, JSON_ENCODE_ANY | JSON_COMPACT);
            fprintf(stderr, "error: %s\n", s ? s : "?");
            free(s);
        }
        return 1;
    }
    json_t *res = json_object_get(j, "result");
    if (!res || json_is_null(res))
        return 0;
    if (json_is_string(res)) {
        fwrite(json_string_value(res), 1, json_string_length(res), stdout);
        fputc('\n', stdout);
    } else {
        char *s = json_dumps(res, JSON_ENCODE_ANY | JSON_INDENT(2));
        if (!s)
            return die("out of memory");
        puts(s);
        free(s);
    }
    return fflush(stdout) == 0 ? 0 : die("cannot write the result: %s", strerror(errno));
}

static void sleep_seconds(int s)
{
    struct timespec ts = {s, 0};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int main(int argc, char **argv)
{
    char err[1024], msg[BWC_PATH_MAX + 256];
    int first, rc = 1;
    strlist args = {0};
    json_t *params = NULL, *req = NULL, *reply_obj = NULL;
    char *body = NULL;
    struct event_base *base = NULL;
    target t;
    int64_t wait_timeout;

    bwc_args *a = bwc_args_new(options, N_OPTIONS);
    if (!a)
        return die("out of memory");
    if (bwc_args_parse_cmdline(a, argc, argv, &first, err, sizeof err) != 0) {
        die("%s\nTry 'bwc-cli -help'.", err);
        goto out;
    }
    if (bwc_args_get_bool(a, "help", 0)) {
        usage();
        rc = 0;
        goto out;
    }
    if (bwc_args_read_config(a, 1, err, sizeof err) != 0) {
        die("%s", err);
        goto out;
    }
    if (first >= argc) {
        die("too few parameters (need at least a command)\nTry 'bwc-cli -help'.");
        goto out;
    }
    if (bwc_args_get_int(a, "rpcwaittimeout", DEFAULT_WAIT_TIMEOUT, 0, INT32_MAX, &wait_timeout,
                         err, sizeof err) != 0) {
        die("%s", err);
        goto out;
    }
    if (resolve_target(a, &t) != 0)
        goto out;

    const char *method = argv[first];
    for (int i = first + 1; i < argc; i++) {
        char *copy = strdup(argv[i]);
        if (!copy || strlist_add(&args, copy) != 0) {
            free(copy);
            die("out of memory");
            goto out;
        }
    }
    if (bwc_args_get_bool(a, "stdin", 0) && read_stdin_args(&args) != 0)
        goto out;
    if (!(params = build_params(&args, bwc_args_get_bool(a, "named", 0))))
        goto out;
    /* Version 1 requests, as bitcoin-cli sends. */
    req = json_pack("{s:s,s:O,s:i}", "method", method, "params", params, "id", 1);
    if (!req || !(body = json_dumps(req, JSON_COMPACT))) {
        die("out of memory");
        goto out;
    }
    if (!(base = event_base_new())) {
        die("cannot create an event base");
        goto out;
    }

    int wait = bwc_args_get_bool(a, "rpcwait", 0);
    time_t deadline = time(NULL) + (time_t)wait_timeout;
    for (;;) {
        msg[0] = '\0';
        call_outcome oc = call_once(base, &t, body, &reply_obj, msg, sizeof msg);
        if (oc == CALL_OK)
            break;
        if (oc == CALL_FAIL)
            goto out;
        if (!wait || (wait_timeout > 0 && time(NULL) >= deadline)) {
            if (reply_obj) /* warmup: print the server's error as it is */
                break;
            if (wait)
                die("timeout on transient error: %s", msg);
            else if (!strncmp(msg, "could not connect", 17))
                die("%s\n\nMake sure the bwcd server is running and that you are connecting to "
                    "the correct RPC port.\nUse \"bwc-cli -help\" for more info.",
                    msg);
            else
                die("%s", msg);
            goto out;
        }
        json_decref(reply_obj);
        reply_obj = NULL;
        sleep_seconds(1);
    }
    rc = print_reply(reply_obj);
out:
    json_decref(reply_obj);
    json_decref(req);
    json_decref(params);
    free(body);
    if (base)
        event_base_free(base);
    strlist_free(&args);
    bwc_args_free(a);
    return rc;
}
