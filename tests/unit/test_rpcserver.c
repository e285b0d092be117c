/* test_rpcserver.c: the JSON-RPC server over real loopback HTTP: auth, versions, batches, limits.
 */
#include "tests/unit/unit.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "node/rpcserver.h"

#define SAFETY_SECONDS 10 /* no loop in this file runs longer */
#define TEST_MAX_BODY (256u << 10)

typedef struct {
    struct event_base *base;
    bwc_rpc_server *srv;
    char dir[64];
    char cookie_path[128];
    char cookie[160]; /* "__cookie__:<hex>" as read from the file */
    int after_ran;
} fixture;

typedef struct {
    int done;
    int status; /* 0: no response */
    char *body;
    size_t len;
    char www_auth[128];
    char allow[32];
    double seconds; /* from sending to the response */
    struct timespec start;
} response;

/* ---- handlers -------------------------------------------------------------------------------- */

static json_t *echo(void *ctx, json_t *params, bwc_rpc_error *err)
{
    (void)ctx;
    (void)err;
    return json_incref(params);
}

static json_t *fail_method(void *ctx, json_t *params, bwc_rpc_error *err)
{
    (void)ctx;
    (void)params;
    return bwc_rpc_fail(err, RPC_INVALID_PARAMETER, "failing on purpose: %d", 42);
}

static void mark_after(void *arg)
{
    ((fixture *)arg)->after_ran = 1;
}

static json_t *stopper(void *ctx, json_t *params, bwc_rpc_error *err)
{
    fixture *f = ctx;
    (void)params;
    if (bwc_rpc_after_reply(f->srv, mark_after, f) != 0)
        return bwc_rpc_fail(err, RPC_MISC_ERROR, "after_reply failed");
    return json_string("stopping");
}

/* ---- loop and client helpers ----------------------------------------------------------------- */

static double elapsed(const struct timespec *a)
{
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (double)(b.tv_sec - a->tv_sec) + (double)(b.tv_nsec - a->tv_nsec) / 1e9;
}

static void on_safety(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    *(int *)arg = 1;
}

/* Runs the loop until *flag is set (or cond() holds), failing the test after SAFETY_SECONDS. */
static void run_until(struct event_base *base, const int *flag, int (*cond)(void *), void *arg)
{
    int timed_out = 0;
    struct event *t = evtimer_new(base, on_safety, &timed_out);
    struct timeval tv = {SAFETY_SECONDS, 0};
    assert_non_null(t);
    evtimer_add(t, &tv);
    while (!timed_out && !(flag && *flag) && !(cond && cond(arg)))
        event_base_loop(base, EVLOOP_ONCE);
    event_free(t);
    if (timed_out)
        fail_msg("event loop safety timeout (%d s)", SAFETY_SECONDS);
}

static void on_response(struct evhttp_request *req, void *arg)
{
    response *r = arg;
    r->done = 1;
    r->seconds = elapsed(&r->start);
    if (!req)
        return;
    r->status = evhttp_request_get_response_code(req);
    struct evbuffer *b = evhttp_request_get_input_buffer(req);
    r->len = evbuffer_get_length(b);
    r->body = malloc(r->len + 1);
    assert_non_null(r->body);
    evbuffer_remove(b, r->body, r->len);
    r->body[r->len] = '\0';
    const struct evkeyvalq *h = evhttp_request_get_input_headers(req);
    const char *v = evhttp_find_header(h, "WWW-Authenticate");
    snprintf(r->www_auth, sizeof r->www_auth, "%s", v ? v : "");
    v = evhttp_find_header(h, "Allow");
    snprintf(r->allow, sizeof r->allow, "%s", v ? v : "");
}

static struct evhttp_connection *client_conn(fixture *f)
{
    struct evhttp_connection *c =
        evhttp_connection_base_new(f->base, NULL, "127.0.0.1", bwc_rpc_server_port(f->srv));
    assert_non_null(c);
    evhttp_connection_set_timeout(c, SAFETY_SECONDS);
    return c;
}

/* Sends one request on conn (a new one, closed afterwards, when conn is NULL) and waits for
 * the answer. userpass is "user:password" for Basic auth, or NULL. */
static response request_on(fixture *f, struct evhttp_connection *conn, enum evhttp_cmd_type type,
                           const char *path, const char *userpass, const char *body, size_t len)
{
    response r;
    memset(&r, 0, sizeof r);
    int own = conn == NULL;
    if (own)
        conn = client_conn(f);
    struct evhttp_request *req = evhttp_request_new(on_response, &r);
    assert_non_null(req);
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    evhttp_add_header(h, "Host", "127.0.0.1");
    if (own)
        evhttp_add_header(h, "Connection", "close");
    if (userpass) {
        char auth[512] = "Basic ";
        assert_true(strlen(userpass) < 300);
        EVP_EncodeBlock((unsigned char *)auth + 6, (const unsigned char *)userpass,
                        (int)strlen(userpass));
        evhttp_add_header(h, "Authorization", auth);
    }
    if (body)
        evbuffer_add(evhttp_request_get_output_buffer(req), body, len);
    clock_gettime(CLOCK_MONOTONIC, &r.start);
    assert_int_equal(evhttp_make_request(conn, req, type, path), 0);
    run_until(f->base, &r.done, NULL, NULL);
    if (own)
        evhttp_connection_free(conn);
    return r;
}

static response post(fixture *f, const char *body)
{
    return request_on(f, NULL, EVHTTP_REQ_POST, "/", f->cookie, body, strlen(body));
}

/* Posts body and parses the JSON reply (the test fails if it is not JSON). */
static json_t *post_json(fixture *f, const char *body, int *status)
{
    response r = post(f, body);
    json_error_t e;
    *status = r.status;
    json_t *j = json_loadb(r.body, r.len, 0, &e);
    if (!j)
        fail_msg("reply is not JSON (%s): %s", e.text, r.body ? r.body : "(none)");
    assert_true(r.len > 0 && r.body[r.len - 1] == '\n');
    free(r.body);
    return j;
}

static void read_cookie(const char *path, char *out, size_t cap)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    size_t n = fread(out, 1, cap - 1, fp);
    fclose(fp);
    out[n] = '\0';
}

static bwc_rpc_server *start(fixture *f, bwc_rpc_config *cfg)
{
    char err[512];
    bwc_rpc_server *srv = bwc_rpc_server_start(f->base, cfg, err, sizeof err);
    if (!srv)
        fail_msg("bwc_rpc_server_start: %s", err);
    f->srv = srv;
    assert_int_equal(bwc_rpc_register(srv, "echo", echo, f, "a,b", "echo a b\n\nReturns them."), 0);
    assert_int_equal(bwc_rpc_register(srv, "fail", fail_method, f, "", ""), 0);
    assert_int_equal(bwc_rpc_register(srv, "stopper", stopper, f, "", ""), 0);
    if (cfg->cookie_path)
        read_cookie(cfg->cookie_path, f->cookie, sizeof f->cookie);
    return srv;
}

static void default_config(fixture *f, bwc_rpc_config *cfg)
{
    static const char *const bind[] = {"127.0.0.1"};
    memset(cfg, 0, sizeof *cfg);
    cfg->bind = bind;
    cfg->n_bind = 1;
    cfg->port = 0;
    cfg->cookie_path = f->cookie_path;
    cfg->user = "alice";
    cfg->password = "s3cret";
    cfg->max_body_bytes = TEST_MAX_BODY;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    bwc_rpc_config cfg;
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/bwc-rpctest-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->cookie_path, sizeof f->cookie_path, "%s/.cookie", f->dir);
    f->base = event_base_new();
    assert_non_null(f->base);
    default_config(f, &cfg);
    start(f, &cfg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    bwc_rpc_server_stop(f->srv);
    assert_int_equal(access(f->cookie_path, F_OK), -1); /* deleted at stop */
    event_base_free(f->base);
    assert_int_equal(rmdir(f->dir), 0);
    free(f);
    return 0;
}

/* ---- tests ----------------------------------------------------------------------------------- */

static void test_netmask(void **state)
{
    (void)state;
    bwc_netmask m;
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
    memset(&v4, 0, sizeof v4);
    memset(&v6, 0, sizeof v6);
    v4.sin_family = AF_INET;
    v6.sin6_family = AF_INET6;
#define V4(s) (inet_pton(AF_INET, (s), &v4.sin_addr), (const struct sockaddr *)&v4)
#define V6(s) (inet_pton(AF_INET6, (s), &v6.sin6_addr), (const struct sockaddr *)&v6)

    assert_true(bwc_netmask_parse(&m, "192.168.1.7"));
    assert_true(bwc_netmask_match(&m, V4("192.168.1.7")));
    assert_false(bwc_netmask_match(&m, V4("192.168.1.8")));
    assert_false(bwc_netmask_match(&m, V6("::1")));

    assert_true(bwc_netmask_parse(&m, "10.1.2.3/8")); /* host bits are cleared */
    assert_true(bwc_netmask_match(&m, V4("10.200.0.1")));
    assert_false(bwc_netmask_match(&m, V4("11.0.0.1")));
    assert_true(bwc_netmask_match(&m, V6("::ffff:10.9.9.9"))); /* IPv4-mapped */

    assert_true(bwc_netmask_parse(&m, "172.16.0.0/255.240.0.0"));
    assert_true(bwc_netmask_match(&m, V4("172.31.255.255")));
    assert_false(bwc_netmask_match(&m, V4("172.32.0.0")));

    assert_true(bwc_netmask_parse(&m, "0.0.0.0/0"));
    assert_true(bwc_netmask_match(&m, V4("8.8.8.8")));
    assert_false(bwc_netmask_match(&m, V6("2001:db8::1")));

    assert_true(bwc_netmask_parse(&m, "fd00::/8"));
    assert_true(bwc_netmask_match(&m, V6("fd12:3456::1")));
    assert_false(bwc_netmask_match(&m, V6("fe80::1")));
    assert_false(bwc_netmask_match(&m, V4("10.0.0.1")));

    assert_true(bwc_netmask_parse(&m, "2001:db8::/32"));
    assert_true(bwc_netmask_match(&m, V6("2001:db8:ffff::1")));
    assert_false(bwc_netmask_match(&m, V6("2001:db9::1")));

    assert_true(bwc_netmask_parse(&m, "::1"));
    assert_true(bwc_netmask_match(&m, V6("::1")));
    assert_false(bwc_netmask_match(&m, V6("::2")));

    const char *bad[] = {"",           "1.2.3",       "1.2.3.4/33",   "1.2.3.4/",
                         "::1/129",    "1.2.3.4/-1",  "host.example", "1.2.3.4/255.0.255.0",
                         "1.2.3.4/::", "1.2.3.4/8/8", "300.1.1.1",    "1.2.3.4 "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (bwc_netmask_parse(&m, bad[i]))
            fail_msg("accepted bad subnet '%s'", bad[i]);
    assert_false(bwc_netmask_match(&m, NULL));
#undef V4
#undef V6
}

#define MIN_AUTH_DELAY (0.8 * BWC_RPC_AUTH_FAIL_DELAY_MS / 1000.0)

static void test_auth(void **state)
{
    fixture *f = *state;
    const char *body = "{\"method\":\"echo\",\"params\":[1],\"id\":1}";
    size_t len = strlen(body);

    response r = request_on(f, NULL, EVHTTP_REQ_POST, "/", NULL, body, len);
    assert_int_equal(r.status, 401);
    assert_string_equal(r.www_auth, "Basic realm=\"jsonrpc\"");
    double no_credentials = r.seconds;
    free(r.body);

    r = request_on(f, NULL, EVHTTP_REQ_POST, "/", "alice:wrong", body, len);
    assert_int_equal(r.status, 401);
    assert_string_equal(r.www_auth, "Basic realm=\"jsonrpc\"");
    printf("# no credentials answered after %.3f s, a wrong password after %.3f s\n",
           no_credentials, r.seconds);
    /* The delay is the server's timer, not the machine's speed: a wrong password waits for it
     * (libevent arms timers from the loop's cached clock, so allow it to fire a little early).
     * That a request without credentials does not wait is shown below without the clock. */
    assert_true(r.seconds >= MIN_AUTH_DELAY);
    free(r.body);

    /* The cookie's own user with a wrong secret, and a non-Basic scheme. */
    r = request_on(f, NULL, EVHTTP_REQ_POST, "/", "__cookie__:00", body, len);
    assert_int_equal(r.status, 401);
    free(r.body);

    r = request_on(f, NULL, EVHTTP_REQ_POST, "/", f->cookie, body, len);
    assert_int_equal(r.status, 200);
    free(r.body);

    r = request_on(f, NULL, EVHTTP_REQ_POST, "/", "alice:s3cret", body, len);
    assert_int_equal(r.status, 200);
    free(r.body);

    /* While one wrong password waits for its timer, the loop keeps serving others. */
    response slow, fast;
    memset(&slow, 0, sizeof slow);
    struct evhttp_connection *c = client_conn(f);
    struct evhttp_request *req = evhttp_request_new(on_response, &slow);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Authorization",
                      "Basic YWxpY2U6bm9wZQ=="); /* alice:nope */
    clock_gettime(CLOCK_MONOTONIC, &slow.start);
    assert_int_equal(evhttp_make_request(c, req, EVHTTP_REQ_POST, "/"), 0);
    fast = post(f, body);
    assert_int_equal(fast.status, 200);
    assert_false(slow.done);
    /* A request without credentials is answered at once: before the pending wrong password. */
    response anon = request_on(f, NULL, EVHTTP_REQ_POST, "/", NULL, body, len);
    assert_int_equal(anon.status, 401);
    assert_false(slow.done);
    free(anon.body);
    run_until(f->base, &slow.done, NULL, NULL);
    assert_int_equal(slow.status, 401);
    assert_true(slow.seconds >= MIN_AUTH_DELAY);
    evhttp_connection_free(c);
    free(fast.body);
    free(slow.body);
}

static void test_cookie_file(void **state)
{
    fixture *f = *state;
    struct stat st;
    assert_int_equal(stat(f->cookie_path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(strlen(f->cookie), strlen("__cookie__:") + 64);
    assert_memory_equal(f->cookie, "__cookie__:", 11);
    for (size_t i = 11; i < strlen(f->cookie); i++)
        assert_non_null(strchr("0123456789abcdef", f->cookie[i]));
    assert_int_equal(access(f->dir, F_OK), 0);

    /* A restart writes a new secret; the old one no longer works. */
    char old[sizeof f->cookie];
    memcpy(old, f->cookie, sizeof old);
    bwc_rpc_server_stop(f->srv);
    assert_int_equal(access(f->cookie_path, F_OK), -1);
    bwc_rpc_config cfg;
    default_config(f, &cfg);
    start(f, &cfg);
    assert_string_not_equal(old, f->cookie);
    assert_int_equal(stat(f->cookie_path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    const char *body = "{\"method\":\"echo\",\"id\":1}";
    response r = request_on(f, NULL, EVHTTP_REQ_POST, "/", old, body, strlen(body));
    assert_int_equal(r.status, 401);
    free(r.body);
    r = post(f, body);
    assert_int_equal(r.status, 200);
    free(r.body);

    /* A stale temporary file from a crash does not stop the next start. */
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", f->cookie_path);
    FILE *fp = fopen(tmp, "w");
    assert_non_null(fp);
    fclose(fp);
    bwc_rpc_server_stop(f->srv);
    start(f, &cfg);
    assert_int_equal(access(tmp, F_OK), -1);
}

static void test_version1(void **state)
{
    fixture *f = *state;
    int status;
    json_t *j = post_json(f, "{\"method\":\"echo\",\"params\":[1,\"x\"],\"id\":7}", &status);
    assert_int_equal(status, 200);
    assert_int_equal(json_object_size(j), 3);
    assert_true(json_is_null(json_object_get(j, "error")));
    assert_int_equal(json_integer_value(json_object_get(j, "id")), 7);
    json_t *res = json_object_get(j, "result");
    assert_int_equal(json_array_size(res), 2);
    assert_string_equal(json_string_value(json_array_get(res, 1)), "x");
    json_decref(j);

    /* An error: result null, error set, HTTP 500. */
    j = post_json(f, "{\"method\":\"fail\",\"id\":\"abc\"}", &status);
    assert_int_equal(status, 500);
    assert_true(json_is_null(json_object_get(j, "result")));
    json_t *e = json_object_get(j, "error");
    assert_int_equal(json_integer_value(json_object_get(e, "code")), RPC_INVALID_PARAMETER);
    assert_string_equal(json_string_value(json_object_get(e, "message")), "failing on purpose: 42");
    assert_string_equal(json_string_value(json_object_get(j, "id")), "abc");
    json_decref(j);

    /* Method not found: 404; an invalid request: 400. "jsonrpc":"1.0" is version 1 too. */
    j = post_json(f, "{\"jsonrpc\":\"1.0\",\"method\":\"nope\",\"id\":1}", &status);
    assert_int_equal(status, 404);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "code")),
                     RPC_METHOD_NOT_FOUND);
    assert_non_null(json_object_get(j, "result"));
    json_decref(j);
    j = post_json(f, "{\"params\":[],\"id\":1}", &status);
    assert_int_equal(status, 400);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "code")),
                     RPC_INVALID_REQUEST);
    json_decref(j);

    /* No id in version 1 is not a notification: the reply carries id null. */
    j = post_json(f, "{\"method\":\"echo\"}", &status);
    assert_int_equal(status, 200);
    assert_true(json_is_null(json_object_get(j, "id")));
    assert_int_equal(json_array_size(json_object_get(j, "result")), 0);
    json_decref(j);
}

static void test_version2(void **state)
{
    fixture *f = *state;
    int status;
    json_t *j = post_json(
        f, "{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":[3],\"id\":\"q\"}", &status);
    assert_int_equal(status, 200);
    assert_string_equal(json_string_value(json_object_get(j, "jsonrpc")), "2.0");
    assert_null(json_object_get(j, "error"));
    assert_int_equal(json_integer_value(json_array_get(json_object_get(j, "result"), 0)), 3);
    assert_string_equal(json_string_value(json_object_get(j, "id")), "q");
    json_decref(j);

    /* Errors: HTTP 200, an error and no result. */
    j = post_json(f, "{\"jsonrpc\":\"2.0\",\"method\":\"fail\",\"id\":2}", &status);
    assert_int_equal(status, 200);
    assert_null(json_object_get(j, "result"));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "code")),
                     RPC_INVALID_PARAMETER);
    assert_int_equal(json_integer_value(json_object_get(j, "id")), 2);
    json_decref(j);
    j = post_json(f, "{\"jsonrpc\":\"2.0\",\"method\":\"nope\",\"id\":3}", &status);
    assert_int_equal(status, 200);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "code")),
                     RPC_METHOD_NOT_FOUND);
    json_decref(j);

    /* A notification (no id) is executed and answered with 204 and no body. */
    f->after_ran = 0;
    response r = post(f, "{\"jsonrpc\":\"2.0\",\"method\":\"stopper\"}");
    assert_int_equal(r.status, 204);
    assert_int_equal(r.len, 0);
    assert_true(f->after_ran);
    free(r.body);

    /* Unsupported versions and a non-string jsonrpc are invalid requests. */
    j = post_json(f, "{\"jsonrpc\":\"3.0\",\"method\":\"echo\",\"id\":1}", &status);
    assert_int_equal(status, 400);
    json_decref(j);
    j = post_json(f, "{\"jsonrpc\":2,\"method\":\"echo\",\"id\":1}", &status);
    assert_int_equal(status, 400);
    json_decref(j);
}

static void test_batch(void **state)
{
    fixture *f = *state;
    int status;
    json_t *j = post_json(f,
                          "[{\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":[1],\"id\":1},"
                          " {\"method\":\"fail\",\"id\":2},"
                          " {\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"params\":{\"b\":5},"
                          "\"id\":3}]",
                          &status);
    assert_int_equal(status, 200);
    assert_true(json_is_array(j));
    assert_int_equal(json_array_size(j), 3);
    json_t *r0 = json_array_get(j, 0), *r1 = json_array_get(j, 1), *r2 = json_array_get(j, 2);
    assert_int_equal(json_integer_value(json_object_get(r0, "id")), 1);
    assert_null(json_object_get(r0, "error"));
    assert_int_equal(json_integer_value(json_object_get(r1, "id")), 2);
    assert_true(json_is_null(json_object_get(r1, "result"))); /* version 1 entry: both */
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r1, "error"), "code")),
                     RPC_INVALID_PARAMETER);
    json_t *p = json_object_get(r2, "result");
    assert_int_equal(json_array_size(p), 2);
    assert_true(json_is_null(json_array_get(p, 0)));
    assert_int_equal(json_integer_value(json_array_get(p, 1)), 5);
    json_decref(j);

    /* Notifications get no entry; invalid entries get an error entry each. */
    j = post_json(f,
                  "[{\"jsonrpc\":\"2.0\",\"method\":\"echo\"}, 17,"
                  " {\"jsonrpc\":\"2.0\",\"method\":\"echo\",\"id\":9}]",
                  &status);
    assert_int_equal(status, 200);
    assert_int_equal(json_array_size(j), 2);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(json_array_get(j, 0), "error"), "code")),
        RPC_INVALID_REQUEST);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(j, 1), "id")), 9);
    json_decref(j);

    /* Only notifications: 204. An empty batch: [] (as Bitcoin Core). */
    response r = post(f, "[{\"jsonrpc\":\"2.0\",\"method\":\"echo\"}]");
    assert_int_equal(r.status, 204);
    free(r.body);
    j = post_json(f, "[]", &status);
    assert_int_equal(status, 200);
    assert_int_equal(json_array_size(j), 0);
    json_decref(j);

    /* 1,000 requests are fine, 1,001 are refused as a whole. */
    for (size_t n = BWC_RPC_MAX_BATCH; n <= BWC_RPC_MAX_BATCH + 1; n++) {
        size_t cap = n * 48 + 8, len = 0;
        char *body = malloc(cap);
        assert_non_null(body);
        body[len++] = '[';
        for (size_t i = 0; i < n; i++)
            len += (size_t)snprintf(body + len, cap - len, "%s{\"method\":\"echo\",\"id\":%zu}",
                                    i ? "," : "", i);
        body[len++] = ']';
        body[len] = '\0';
        j = post_json(f, body, &status);
        free(body);
        if (n == BWC_RPC_MAX_BATCH) {
            assert_int_equal(status, 200);
            assert_int_equal(json_array_size(j), n);
            assert_int_equal(json_integer_value(json_object_get(json_array_get(j, n - 1), "id")),
                             n - 1);
        } else {
            assert_int_equal(status, 400);
            assert_true(json_is_object(j));
            json_t *e = json_object_get(j, "error");
            assert_int_equal(json_integer_value(json_object_get(e, "code")), RPC_INVALID_REQUEST);
            assert_non_null(strstr(json_string_value(json_object_get(e, "message")), "1000"));
        }
        json_decref(j);
    }
}

static void test_errors(void **state)
{
    fixture *f = *state;
    int status;
    json_t *j = post_json(f, "{\"method\":\"echo\",", &status);
    assert_int_equal(status, 500);
    json_t *e = json_object_get(j, "error");
    assert_int_equal(json_integer_value(json_object_get(e, "code")), RPC_PARSE_ERROR);
    assert_true(json_is_null(json_object_get(j, "id")));
    json_decref(j);
    j = post_json(f, "\"just a string\"", &status);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "code")),
                     RPC_PARSE_ERROR);
    json_decref(j);
    j = post_json(f, "", &status);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "code")),
                     RPC_PARSE_ERROR);
    json_decref(j);

    /* Named parameters: mapped by name, unknown ones refused. */
    j = post_json(f, "{\"method\":\"echo\",\"params\":{\"a\":1,\"b\":[2]},\"id\":1}", &status);
    assert_int_equal(status, 200);
    json_t *res = json_object_get(j, "result");
    assert_int_equal(json_array_size(res), 2);
    assert_int_equal(json_integer_value(json_array_get(res, 0)), 1);
    json_decref(j);
    j = post_json(f, "{\"method\":\"echo\",\"params\":{\"a\":1,\"zzz\":2},\"id\":1}", &status);
    assert_int_equal(status, 500);
    e = json_object_get(j, "error");
    assert_int_equal(json_integer_value(json_object_get(e, "code")), RPC_INVALID_PARAMS);
    assert_string_equal(json_string_value(json_object_get(e, "message")),
                        "Unknown named parameter zzz");
    json_decref(j);
    j = post_json(f, "{\"method\":\"echo\",\"params\":{},\"id\":1}", &status);
    assert_int_equal(json_array_size(json_object_get(j, "result")), 0);
    json_decref(j);

    /* Too many positional parameters; params of the wrong type; a non-string method. */
    j = post_json(f, "{\"method\":\"echo\",\"params\":[1,2,3],\"id\":1}", &status);
    e = json_object_get(j, "error");
    assert_int_equal(json_integer_value(json_object_get(e, "code")), RPC_INVALID_PARAMS);
    assert_non_null(strstr(json_string_value(json_object_get(e, "message")), "echo a b"));
    json_decref(j);
    j = post_json(f, "{\"method\":\"echo\",\"params\":\"x\",\"id\":1}", &status);
    assert_int_equal(status, 400);
    json_decref(j);
    j = post_json(f, "{\"method\":5,\"id\":1}", &status);
    assert_int_equal(status, 400);
    json_decref(j);
}

static void test_http_limits(void **state)
{
    fixture *f = *state;
    /* Only POST: GET / and others get 405 with Allow: POST. */
    response r = request_on(f, NULL, EVHTTP_REQ_GET, "/", f->cookie, NULL, 0);
    assert_int_equal(r.status, 405);
    assert_string_equal(r.allow, "POST");
    free(r.body);
    r = request_on(f, NULL, EVHTTP_REQ_PUT, "/", f->cookie, "{}", 2);
    assert_int_equal(r.status, 405);
    free(r.body);
    r = request_on(f, NULL, EVHTTP_REQ_POST, "/wallet/x", f->cookie, "{}", 2);
    assert_int_equal(r.status, 404);
    free(r.body);

    /* A body over the limit: 413, and the server goes on serving. */
    size_t big = TEST_MAX_BODY + 1;
    char *body = malloc(big);
    assert_non_null(body);
    memset(body, ' ', big);
    r = request_on(f, NULL, EVHTTP_REQ_POST, "/", f->cookie, body, big);
    assert_int_equal(r.status, 413);
    free(r.body);
    /* Exactly at the limit is read and parsed (a JSON value padded with spaces). */
    memcpy(body, "[]", 2);
    r = request_on(f, NULL, EVHTTP_REQ_POST, "/", f->cookie, body, TEST_MAX_BODY);
    assert_int_equal(r.status, 200);
    free(r.body);
    free(body);

    /* Headers over 8 KiB are refused too. */
    response big_hdr;
    memset(&big_hdr, 0, sizeof big_hdr);
    struct evhttp_connection *c = client_conn(f);
    struct evhttp_request *req = evhttp_request_new(on_response, &big_hdr);
    char *junk = malloc(9000);
    memset(junk, 'a', 8999);
    junk[8999] = '\0';
    evhttp_add_header(evhttp_request_get_output_headers(req), "X-Junk", junk);
    free(junk);
    clock_gettime(CLOCK_MONOTONIC, &big_hdr.start);
    assert_int_equal(evhttp_make_request(c, req, EVHTTP_REQ_POST, "/"), 0);
    run_until(f->base, &big_hdr.done, NULL, NULL);
    printf("# 9000-byte header answered with HTTP %d\n", big_hdr.status);
    assert_true(big_hdr.status == 400 || big_hdr.status == 413); /* evhttp 2.1.12: 400 */
    evhttp_connection_free(c);
    free(big_hdr.body);

    r = post(f, "{\"method\":\"echo\",\"id\":1}");
    assert_int_equal(r.status, 200);
    free(r.body);
}

typedef struct {
    fixture *f;
    unsigned want;
} conn_wait;

static int conns_at_most(void *arg)
{
    conn_wait *w = arg;
    return bwc_rpc_server_connections(w->f->srv) <= w->want;
}

static void test_connection_limit(void **state)
{
    fixture *f = *state;
    bwc_rpc_config cfg;
    bwc_rpc_server_stop(f->srv);
    default_config(f, &cfg);
    cfg.max_connections = 2;
    start(f, &cfg);

    const char *body = "{\"method\":\"echo\",\"id\":1}";
    struct evhttp_connection *keep[3];
    for (int i = 0; i < 3; i++)
        keep[i] = client_conn(f);
    /* Two kept-alive connections are within the limit... */
    for (int i = 0; i < 2; i++) {
        response r = request_on(f, keep[i], EVHTTP_REQ_POST, "/", f->cookie, body, strlen(body));
        assert_int_equal(r.status, 200);
        free(r.body);
    }
    assert_int_equal(bwc_rpc_server_connections(f->srv), 2);
    /* ...a third is answered 503 and closed... */
    response r = request_on(f, keep[2], EVHTTP_REQ_POST, "/", f->cookie, body, strlen(body));
    assert_int_equal(r.status, 503);
    free(r.body);
    /* ...and once a client leaves, a new connection is served again. */
    evhttp_connection_free(keep[0]);
    conn_wait w = {f, 1};
    run_until(f->base, NULL, conns_at_most, &w);
    r = request_on(f, keep[2], EVHTTP_REQ_POST, "/", f->cookie, body, strlen(body));
    assert_int_equal(r.status, 200);
    free(r.body);
    evhttp_connection_free(keep[1]);
    evhttp_connection_free(keep[2]);
    w.want = 0;
    run_until(f->base, NULL, conns_at_most, &w);
}

static void test_after_reply(void **state)
{
    fixture *f = *state;
    f->after_ran = 0;
    response r = post(f, "{\"method\":\"stopper\",\"id\":1}");
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"stopping\""));
    assert_true(f->after_ran); /* the reply was written before the client could read it */
    free(r.body);

    /* Only inside a handler. */
    assert_int_equal(bwc_rpc_after_reply(f->srv, mark_after, f), -1);

    /* The transport-free entry point runs it at once. */
    int status;
    f->after_ran = 0;
    const char *req = "{\"method\":\"stopper\",\"id\":1}";
    char *out = bwc_rpc_execute(f->srv, req, strlen(req), &status);
    assert_int_equal(status, 200);
    assert_true(f->after_ran);
    free(out);
}

static void test_warmup_and_help(void **state)
{
    fixture *f = *state;
    int status;
    bwc_rpc_server_set_warmup(f->srv, "Loading block index...");
    json_t *j = post_json(f, "{\"method\":\"echo\",\"id\":1}", &status);
    json_t *e = json_object_get(j, "error");
    assert_int_equal(json_integer_value(json_object_get(e, "code")), RPC_IN_WARMUP);
    assert_string_equal(json_string_value(json_object_get(e, "message")), "Loading block index...");
    json_decref(j);
    j = post_json(f, "{\"method\":\"help\",\"id\":1}", &status);
    assert_true(json_is_null(json_object_get(j, "error")));
    assert_string_equal(json_string_value(json_object_get(j, "result")),
                        "echo a b\nfail\nhelp command\nstopper");
    json_decref(j);
    bwc_rpc_server_set_warmup(f->srv, NULL);

    j = post_json(f, "{\"method\":\"help\",\"params\":[\"echo\"],\"id\":1}", &status);
    assert_string_equal(json_string_value(json_object_get(j, "result")),
                        "echo a b\n\nReturns them.");
    json_decref(j);
    j = post_json(f, "{\"method\":\"help\",\"params\":{\"command\":\"fail\"},\"id\":1}", &status);
    assert_string_equal(json_string_value(json_object_get(j, "result")), "fail");
    json_decref(j);
    j = post_json(f, "{\"method\":\"help\",\"params\":[\"nope\"],\"id\":1}", &status);
    assert_string_equal(json_string_value(json_object_get(j, "result")),
                        "help: unknown command: nope");
    json_decref(j);

    /* Registration rules. */
    assert_int_equal(bwc_rpc_register(f->srv, "echo", echo, f, "", ""), -1);
    assert_int_equal(bwc_rpc_register(f->srv, "Bad-Name", echo, f, "", ""), -1);
    assert_int_equal(bwc_rpc_register(f->srv, "dup", echo, f, "a,a", ""), -1);
    assert_int_equal(bwc_rpc_register(f->srv, "late", echo, f, "...,a", ""), -1);
    assert_int_equal(bwc_rpc_register(f->srv, "vararg", echo, f, "first, ...", ""), 0);
    j = post_json(f, "{\"method\":\"vararg\",\"params\":[1,2,3,4],\"id\":1}", &status);
    assert_int_equal(json_array_size(json_object_get(j, "result")), 4);
    json_decref(j);
}

/* Finds an IPv4 address of an up interface outside 127.0.0.0/8; 0 when there is none. */
static int non_loopback_ipv4(struct in_addr *out)
{
    struct ifaddrs *list, *i;
    int found = 0;
    if (getifaddrs(&list) != 0)
        return 0;
    for (i = list; i && !found; i = i->ifa_next) {
        if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP) ||
            (i->ifa_flags & IFF_LOOPBACK))
            continue;
        struct in_addr a = ((const struct sockaddr_in *)i->ifa_addr)->sin_addr;
        if ((ntohl(a.s_addr) >> 24) == 127 || a.s_addr == htonl(INADDR_ANY))
            continue;
        *out = a;
        found = 1;
    }
    freeifaddrs(list);
    return found;
}

/* Whether a TCP connection to addr:port succeeds (a blocking connect, at most 5 s). */
static int tcp_connects(struct in_addr addr, uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = {5, 0};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    sa.sin_addr = addr;
    int ok = connect(fd, (const struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    return ok;
}

static void test_bind_policy(void **state)
{
    fixture *f = *state;
    bwc_rpc_config cfg;
    char err[512];
    bwc_rpc_server_stop(f->srv);
    f->srv = NULL;

    /* A bad address and a bad subnet are errors naming the value. */
    static const char *const bad_bind[] = {"localhost:1"};
    default_config(f, &cfg);
    cfg.bind = bad_bind;
    assert_null(bwc_rpc_server_start(f->base, &cfg, err, sizeof err));
    assert_non_null(strstr(err, "localhost:1"));
    assert_int_equal(access(f->cookie_path, F_OK), -1); /* nothing written on failure */
    static const char *const bad_allow[] = {"10.0.0.0/40"};
    default_config(f, &cfg);
    cfg.allowip = bad_allow;
    cfg.n_allowip = 1;
    assert_null(bwc_rpc_server_start(f->base, &cfg, err, sizeof err));
    assert_non_null(strstr(err, "10.0.0.0/40"));

    /* No credentials at all is refused. */
    default_config(f, &cfg);
    cfg.cookie_path = NULL;
    cfg.password = NULL;
    assert_null(bwc_rpc_server_start(f->base, &cfg, err, sizeof err));

    /* A non-loopback -rpcbind without -rpcallowip is ignored (loopback is bound instead). */
    static const char *const any[] = {"0.0.0.0"};
    default_config(f, &cfg);
    cfg.bind = any;
    start(f, &cfg);
    assert_true(bwc_rpc_server_port(f->srv) != 0);
    response r = post(f, "{\"method\":\"echo\",\"id\":1}");
    assert_int_equal(r.status, 200);
    free(r.body);
    /* ... and only loopback: the port is closed on this host's other IPv4 addresses. */
    struct in_addr other;
    if (!non_loopback_ipv4(&other)) {
        printf("# no non-loopback IPv4 address on this host: the loopback-only bind is not checked\n");
    } else {
        char shown[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &other, shown, sizeof shown);
        if (tcp_connects(other, bwc_rpc_server_port(f->srv)))
            fail_msg("-rpcbind=0.0.0.0 without -rpcallowip accepted a connection on %s", shown);
    }
    bwc_rpc_server_stop(f->srv);

    /* The defaults (127.0.0.1 and ::1 when available) with a free port; -rpcuser only. */
    default_config(f, &cfg);
    cfg.bind = NULL;
    cfg.n_bind = 0;
    cfg.cookie_path = NULL;
    start(f, &cfg);
    snprintf(f->cookie, sizeof f->cookie, "alice:s3cret");
    r = post(f, "{\"method\":\"echo\",\"id\":1}");
    assert_int_equal(r.status, 200);
    free(r.body);
    bwc_rpc_server_stop(f->srv);

    /* A port already taken is an error. */
    default_config(f, &cfg);
    start(f, &cfg);
    bwc_rpc_config again;
    static const char *const bind[] = {"127.0.0.1"};
    default_config(f, &again);
    again.bind = bind;
    again.port = bwc_rpc_server_port(f->srv);
    again.cookie_path = NULL;
    assert_null(bwc_rpc_server_start(f->base, &again, err, sizeof err));
    assert_non_null(strstr(err, "cannot bind"));
    assert_int_equal(access(f->cookie_path, F_OK), 0); /* the running server's is untouched */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_netmask),
        cmocka_unit_test_setup_teardown(test_auth, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cookie_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version1, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_http_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connection_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_after_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_warmup_and_help, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bind_policy, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
