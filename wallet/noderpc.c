/* noderpc.c: JSON-RPC calls from the wallet to bwcd, with -rpcwait's retry loop. */
#include "wallet/noderpc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int bwc_node_client_init(bwc_node_client *c, const bwc_rpc_target *t, int wait,
                         int64_t wait_timeout)
{
    memset(c, 0, sizeof *c);
    c->target = *t;
    c->wait = wait;
    c->wait_timeout = wait_timeout;
    c->base = event_base_new();
    return c->base ? 0 : -1;
}

void bwc_node_client_free(bwc_node_client *c)
{
    if (c->base)
        event_base_free(c->base);
    memset(c, 0, sizeof *c);
}

static void sleep_seconds(int s)
{
    struct timespec ts = {s, 0};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static json_t *fail(bwc_node_error *e, int code, const char *msg)
{
    e->code = code;
    snprintf(e->message, sizeof e->message, "%.*s", (int)sizeof e->message - 1, msg);
    return NULL;
}

json_t *bwc_node_call(bwc_node_client *c, const char *method, json_t *params, bwc_node_error *e)
{
    char msg[BWC_PATH_MAX + 256];
    json_t *reply = NULL, *result = NULL;
    char *body = NULL;

    memset(e, 0, sizeof *e);
    if (!params)
        params = json_array();
    json_t *req =
        json_pack("{s:s,s:o,s:i}", "method", method, "params", params, "id", ++c->next_id);
    if (!req || !(body = json_dumps(req, JSON_COMPACT))) {
        json_decref(req);
        return fail(e, 0, "out of memory");
    }
    json_decref(req);

    time_t deadline = time(NULL) + (time_t)c->wait_timeout;
    for (;;) {
        msg[0] = '\0';
        bwc_rpc_outcome oc = bwc_rpc_post(c->base, &c->target, body, &reply, msg, sizeof msg);
        if (oc == BWC_RPC_CALL_OK)
            break;
        if (oc == BWC_RPC_CALL_FAIL || !c->wait ||
            (c->wait_timeout > 0 && time(NULL) >= deadline)) {
            if (reply) /* warmup: report the node's own message */
                break;
            free(body);
            if (oc == BWC_RPC_CALL_RETRY && !strncmp(msg, "could not connect", 17)) {
                char full[sizeof msg + 128];
                snprintf(full, sizeof full,
                         "%s: is bwcd running, and are -chain, -rpcport and -datadir right?", msg);
                return fail(e, 0, full);
            }
            return fail(e, 0, msg);
        }
        json_decref(reply);
        reply = NULL;
        sleep_seconds(1);
    }
    free(body);

    json_t *err = json_object_get(reply, "error");
    if (err && !json_is_null(err)) {
        const char *m = json_string_value(json_object_get(err, "message"));
        fail(e, (int)json_integer_value(json_object_get(err, "code")), m ? m : "unknown error");
        if (e->code == 0)
            e->code = -1;
    } else {
        result = json_object_get(reply, "result");
        result = result ? json_incref(result) : json_null();
    }
    json_decref(reply);
    return result;
}

int bwc_json_get_u64(const json_t *obj, const char *field, uint64_t *out)
{
    json_t *v = json_object_get(obj, field);
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return 1;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        errno = 0;
        unsigned long long x = strtoull(s, &end, 10);
        if (*s >= '0' && *s <= '9' && !*end && errno == 0) {
            *out = x;
            return 1;
        }
    }
    return 0;
}
