/* rpcserver.h: JSON-RPC 1.0/2.0 over HTTP (libevent evhttp + jansson), Bitcoin Core's way. */
#ifndef BWC_NODE_RPCSERVER_H
#define BWC_NODE_RPCSERVER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct event_base;
struct sockaddr;

/* Error codes. The names and numbers are Bitcoin Core's (src/rpc/protocol.h) so that
 * integrators' code and documentation carry over; hence no BWC_ prefix. doc/rpc.md lists
 * them. */
enum {
    /* JSON-RPC 2.0 standard errors */
    RPC_INVALID_REQUEST = -32600,  /* not a valid request object */
    RPC_METHOD_NOT_FOUND = -32601, /* no such method */
    RPC_INVALID_PARAMS = -32602,   /* unknown named parameter, too many parameters */
    RPC_INTERNAL_ERROR = -32603,   /* a handler failed without saying why */
    RPC_PARSE_ERROR = -32700,      /* the body is not JSON */

    /* application errors */
    RPC_MISC_ERROR = -1,                   /* anything without a better code */
    RPC_TYPE_ERROR = -3,                   /* a parameter of the wrong JSON type */
    RPC_INVALID_ADDRESS_OR_KEY = -5,       /* bad address, unknown tx/block/account */
    RPC_OUT_OF_MEMORY = -7,                /* ran out of memory during the call */
    RPC_INVALID_PARAMETER = -8,            /* a parameter with a bad value */
    RPC_DATABASE_ERROR = -20,              /* LevelDB failed */
    RPC_DESERIALIZATION_ERROR = -22,       /* raw tx or block bytes do not decode */
    RPC_VERIFY_ERROR = -25,                /* general error while verifying a submitted object */
    RPC_VERIFY_REJECTED = -26,             /* rejected by the rules (the reject string says why) */
    RPC_VERIFY_ALREADY_IN_CHAIN = -27,     /* already in the chain */
    RPC_IN_WARMUP = -28,                   /* the node is still starting */
    RPC_CLIENT_NOT_CONNECTED = -9,         /* no peers */
    RPC_CLIENT_IN_INITIAL_DOWNLOAD = -10,  /* still syncing */
    RPC_CLIENT_NODE_ALREADY_ADDED = -23,   /* addnode: already added */
    RPC_CLIENT_NODE_NOT_ADDED = -24,       /* addnode remove: was not added */
    RPC_CLIENT_NODE_NOT_CONNECTED = -29,   /* disconnectnode: no such peer */
    RPC_CLIENT_INVALID_IP_OR_SUBNET = -30, /* setban: bad address */
};

/* Defaults, used where bwc_rpc_config leaves a field 0. */
#define BWC_RPC_MAX_BODY_BYTES (32u << 20) /* a raw 4 MiB block in hex is 8 MiB, plus JSON */
#define BWC_RPC_MAX_HEADER_BYTES 8192u     /* request line + headers, as Bitcoin Core */
#define BWC_RPC_TIMEOUT_SECONDS 30         /* idle or stalled connection */
#define BWC_RPC_MAX_CONNECTIONS 128u       /* beyond this, requests get 503 */
#define BWC_RPC_MAX_BATCH 1000u            /* requests in one batch */
#define BWC_RPC_AUTH_FAIL_DELAY_MS 250u    /* a wrong password is answered this much later */

#define BWC_RPC_COOKIE_USER "__cookie__"
#define BWC_RPC_ERROR_MESSAGE_MAX 512

/* What a handler fills when it fails. */
typedef struct {
    int code; /* one of the codes above */
    char message[BWC_RPC_ERROR_MESSAGE_MAX];
} bwc_rpc_error;

/* A method. params is always an array (named parameters were already mapped to positions;
 * a position not given is JSON null, and there are never more entries than the method has
 * names unless its name list ends in "..."); it is borrowed. Returns the result as a new
 * reference (json_null() for "nothing"), or NULL with err filled (bwc_rpc_fail does both).
 * Runs on the event loop thread and must not block: every request is handled to completion,
 * in order, before the loop does anything else. */
typedef json_t *(*bwc_rpc_handler)(void *ctx, json_t *params, bwc_rpc_error *err);

/* Fills err (message formatted like printf) and returns NULL, so a handler can write
 * `return bwc_rpc_fail(err, RPC_INVALID_PARAMETER, "bad height %d", h);`. */
json_t *bwc_rpc_fail(bwc_rpc_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Server settings. Zero fields take the defaults above; the strings are read during
 * bwc_rpc_server_start only (not kept). */
typedef struct {
    const char *const *bind; /* -rpcbind values, "ADDR", "ADDR:PORT" or "[V6ADDR]:PORT", numeric
                                IPs only; none: 127.0.0.1 and ::1 (when available) */
    size_t n_bind;
    uint16_t port;              /* port for bind entries without one; 0: a free port */
    const char *const *allowip; /* -rpcallowip: "IP", "IP/CIDR" or "IP/NETMASK"; loopback
                                   (127.0.0.0/8, ::1) is always allowed */
    size_t n_allowip;
    const char *cookie_path; /* written at start, deleted at stop; NULL: no cookie */
    const char *user;        /* -rpcuser/-rpcpassword, accepted besides the cookie; */
    const char *password;    /* both NULL (or password "") when not used */
    size_t max_body_bytes;
    size_t max_header_bytes;
    int timeout_seconds;
    unsigned max_connections;
    unsigned max_batch;
    unsigned auth_fail_delay_ms;
} bwc_rpc_config;

typedef struct bwc_rpc_server bwc_rpc_server;

/* Starts a server on base: binds, then writes a fresh cookie (only once binding worked, so a
 * node started twice by mistake cannot clobber the running one's cookie; no request is
 * served before base runs again, so none is answered before the cookie exists). Binding
 * follows Bitcoin Core: without -rpcallowip
 * a non-loopback -rpcbind address is refused with a warning in the log (loopback ones are
 * bound); -rpcallowip without -rpcbind warns that only loopback is bound. If none of the
 * default addresses bind, or an explicit one does not, it fails. Methods are added with
 * bwc_rpc_register (before or after start; requests are served only while base runs).
 * Also routes libevent's own log messages into bwc_log (a process-wide libevent setting,
 * as Bitcoin Core does). Returns the server, or NULL with err filled (errlen bytes). */
bwc_rpc_server *bwc_rpc_server_start(struct event_base *base, const bwc_rpc_config *cfg, char *err,
                                     size_t errlen);

/* Stops listening, answers any delayed 401s, closes every connection, deletes the cookie and
 * frees the server. Replies still in socket buffers are dropped: to answer a "stop" call,
 * defer the shutdown with bwc_rpc_after_reply. Call from outside any request callback. NULL
 * is fine. */
void bwc_rpc_server_stop(bwc_rpc_server *srv);

/* The port the first listening socket is bound to (useful with port 0). */
uint16_t bwc_rpc_server_port(const bwc_rpc_server *srv);

/* Open HTTP connections that have sent at least one request (what the limit counts). */
unsigned bwc_rpc_server_connections(const bwc_rpc_server *srv);

/* Adds a method. args lists the parameter names in order, comma-separated ("height,verbose",
 * "" for none, ending in ",..." to accept extra positional parameters); help is the text
 * `help NAME` returns (its first line is best a synopsis). name, args and help are copied.
 * Returns 0, or -1 for a duplicate name, a bad name list or no memory. */
int bwc_rpc_register(bwc_rpc_server *srv, const char *name, bwc_rpc_handler handler, void *ctx,
                     const char *args, const char *help);

/* While status is not NULL every call except help and stop fails with RPC_IN_WARMUP and
 * that message (e.g. "Loading block index..."); NULL ends the warmup. Copied. */
void bwc_rpc_server_set_warmup(bwc_rpc_server *srv, const char *status);

/* Only from inside a handler: runs fn(arg) once the reply to the current HTTP request has
 * been written to the socket, or its connection closed, or the server stops, whichever
 * comes first. This is how `stop` answers before bwcd leaves its loop. Returns 0, or -1 when
 * called outside a handler or out of memory. */
int bwc_rpc_after_reply(bwc_rpc_server *srv, void (*fn)(void *), void *arg);

/* The transport-free core: executes a request body (one request or a batch) and returns the
 * reply body as a new NUL-terminated string (free() it), or NULL when nothing is to be sent
 * back (notifications only). *http_status gets the status the HTTP layer would use (200,
 * 204, 400, 404 or 500). For tests and fuzzing; the HTTP server uses it for every POST. */
char *bwc_rpc_execute(bwc_rpc_server *srv, const char *body, size_t len, int *http_status);

/* An allowed subnet: addresses whose masked bits equal net's. */
typedef struct {
    int family;            /* AF_INET or AF_INET6 */
    unsigned char net[16]; /* 4 or 16 bytes, already masked */
    unsigned char mask[16];
} bwc_netmask;

/* Parses "1.2.3.4", "1.2.3.0/24", "1.2.3.0/255.255.255.0", "::1", "fd00::/8". Host bits of the
 * network are cleared; a netmask must be contiguous. Returns 1, or 0 on bad input. */
int bwc_netmask_parse(bwc_netmask *out, const char *spec);

/* 1 when addr (AF_INET or AF_INET6; an IPv4-mapped IPv6 address counts as IPv4) is inside m,
 * else 0. */
int bwc_netmask_match(const bwc_netmask *m, const struct sockaddr *addr);

#endif
