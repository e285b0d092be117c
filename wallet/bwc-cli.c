/* bwc-cli.c: command-line JSON-RPC client for bwcd, in the conventions of bitcoin-cli. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>

#include "chainspec/chainspec.h"
#include "common/args.h"
#include "wallet/rpcclient.h"

#define STDIN_MAX_BYTES (32u << 20) /* the server's body limit */

static const bwc_arg_def options[] = {
    {"help", NULL, 0, "Print this help message and exit."},
    {"conf", "<file>", BWC_ARG_CMDLINE_ONLY,
     "Read options from <file>; a relative path is relative to the data directory (default: "
     "bwc.conf). Options bwc-cli does not know (the node's) are skipped. -noconf reads none."},
    {"datadir", "<dir>", BWC_ARG_CMDLINE_ONLY,
     "Data directory (default: $HOME/.bwc); a directory given here must exist."},
    {"chain", "<name>", 0,
     "Chain: main (default), test, dev or poa-example. Selects the default RPC port and the cookie "
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

static int resolve_target(bwc_args *a, bwc_rpc_target *t)
{
    char err[512];
    bwc_chainspec cs;
    const char *spec = bwc_args_get(a, "chainspec", NULL);
    const char *chain = bwc_args_chain(a);

    memset(t, 0, sizeof *t);
    int rc = spec ? bwc_chainspec_load_file(&cs, spec, err, sizeof err)
                  : bwc_chainspec_load_named(&cs, chain, err, sizeof err);
    if (rc != 0)
        return die("%s", err);
    /* A -chainspec network reads the bwc.conf section of its own name, as bwcd does. */
    if (spec && bwc_args_set_chain(a, cs.name) != 0) {
        rc = die("chainspec name '%s' cannot name a config section", cs.name);
        bwc_chainspec_free(&cs);
        return rc;
    }
    char name[BWC_CHAINSPEC_NAME_MAX + 1];
    snprintf(name, sizeof name, "%s", cs.name);
    uint16_t port = cs.rpc_port;
    bwc_chainspec_free(&cs);
    if (bwc_rpc_target_from_args(t, a, name, port, err, sizeof err) != 0)
        return die("%s", err);
    return 0;
}

/* ---- main ------------------------------------------------------------------------------------ */

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
    bwc_rpc_target t;
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
    if (bwc_args_get_int(a, "rpcwaittimeout", BWC_RPC_DEFAULT_WAIT_TIMEOUT, 0, INT32_MAX,
                         &wait_timeout, err, sizeof err) != 0) {
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
        bwc_rpc_outcome oc = bwc_rpc_post(base, &t, body, &reply_obj, msg, sizeof msg);
        if (oc == BWC_RPC_CALL_OK)
            break;
        if (oc == BWC_RPC_CALL_FAIL) {
            die("%s", msg);
            goto out;
        }
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
