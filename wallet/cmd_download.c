/* cmd_download.c: bwc-wallet download: choosing relays, the manifest, reusing or opening
 * channels and waiting for them, then the transfer (download.c) and its summary. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/dns.h>
#include <event2/event.h>

#include "common/hex.h"
#include "consensus/key.h"
#include "wallet/address.h"
#include "wallet/amount.h"
#include "wallet/download.h"
#include "wallet/download_progress.h"
#include "wallet/download_sched.h"
#include "wallet/txbuild.h"
#include "wallet/wallet.h"

#define DEFAULT_RELAYS 3
#define MAX_RELAYS 16
#define DEFAULT_WAIT_SECONDS 600
#define MANIFEST_TIMEOUT 20 /* seconds for one relay to answer the manifest request */

/* A relay the download will use, and what happens to its channel. */
typedef struct {
    bwc_dl_relay info;
    long channel; /* index in the state, -1: none (free relay, or still to open) */
    int open_new; /* a channel is to be opened */
    uint64_t deposit;
    int awaiting; /* its channel is not in a block yet */
} plan;

/* Every value of --relay, in order (the parser keeps repeated options, wallet.h). */
static size_t forced_relays(const bwc_wcmd_args *a, const char **out, size_t max)
{
    size_t k, n = 0;
    for (k = 0; k < a->cmd->n_opts && strcmp(a->cmd->opts[k].name, "relay") != 0; k++) {
    }
    for (size_t i = 0; i < a->n_rep && n < max; i++)
        if (a->rep_opt[i] == k)
            out[n++] = a->rep_val[i];
    return n;
}

static void msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void msg(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fputs("download: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static int region_valid(const char *r)
{
    return strlen(r) == 2 && r[0] >= 'A' && r[0] <= 'Z' && r[1] >= 'A' && r[1] <= 'Z';
}

/* ---- the manifest ---- */

/* Asks one relay for the manifest. The first good one is decoded into *m and its bytes kept in
 * *kept; later ones must be the same bytes. Returns 1 when the relay has it, else 0 (noted). */
static int probe_manifest(struct event_base *base, struct evdns_base *dns, const bwc_dl_relay *r,
                          const bwc_hash *cid, bwc_manifest *m, unsigned char **kept,
                          size_t *kept_len)
{
    char path[96], hex[65];
    bwc_dl_reply rep;
    bwc_result res;
    bwc_hash got;
    int ok = 0;
    bwc_dl_conn *c =
        bwc_dl_conn_new(base, dns, r->host, r->port, MANIFEST_TIMEOUT, BWC_MANIFEST_MAX_BYTES);
    if (!c)
        return 0;
    bwc_hex_encode(hex, cid->b, 32);
    snprintf(path, sizeof path, "/v1/manifest/%s", hex);
    if (bwc_dl_fetch(c, 0, path, NULL, NULL, NULL, 0, &rep) != 0) {
        msg("relay %s: no manifest (%s)", r->endpoint, rep.error[0] ? rep.error : "no memory");
    } else if (rep.status != 200) {
        if (rep.status)
            msg("relay %s: no manifest (%d %s)", r->endpoint, rep.status, rep.code);
        else
            msg("relay %s: no manifest (%s)", r->endpoint, rep.error);
    } else if (*kept) {
        ok = rep.len == *kept_len && memcmp(rep.body, *kept, rep.len) == 0;
        if (!ok)
            msg("relay %s: its manifest is not the content's; not using it", r->endpoint);
    } else if (!bwc_manifest_decode(m, rep.body, rep.len, &res)) {
        msg("relay %s: its manifest does not decode (%s); not using it", r->endpoint, res.reject);
    } else if (!bwc_manifest_content_id(m, &got) || memcmp(got.b, cid->b, 32) != 0) {
        /* The content id is the hash of the manifest: anything else is another file. */
        msg("relay %s: its manifest hashes to another content id; not using it", r->endpoint);
        bwc_manifest_free(m);
    } else {
        *kept = rep.body;
        *kept_len = rep.len;
        rep.body = NULL;
        ok = 1;
    }
    bwc_dl_reply_free(&rep);
    bwc_dl_conn_free(c);
    return ok;
}

/* ---- channels ---- */

/* Reads a getchannel object into info and the channel's id; 0 when it is not one. */
static int chain_channel(bwc_wctx *w, const json_t *o, bwc_hash *id, bwc_dl_channel_info *info,
                         uint64_t *chain_bytes)
{
    char err[256];
    const char *cid = json_string_value(json_object_get(o, "channel_id"));
    const char *consumer = json_string_value(json_object_get(o, "consumer"));
    const char *relay = json_string_value(json_object_get(o, "relay"));
    memset(info, 0, sizeof *info);
    if (!cid || !consumer || !relay || bwc_wallet_parse_hash(cid, "channel", id, err, sizeof err) ||
        bwc_wallet_parse_address(w->secp, w->cs.params.hrp, consumer, &info->consumer, err,
                                 sizeof err) ||
        bwc_wallet_parse_address(w->secp, w->cs.params.hrp, relay, &info->relay, err, sizeof err) ||
        !bwc_json_get_u64(o, "deposit", &info->deposit) ||
        !bwc_json_get_u64(o, "price", &info->price) ||
        !bwc_json_get_u64(o, "expiry", &info->expiry) ||
        !bwc_json_get_u64(o, "claimed", &info->claimed) ||
        !bwc_json_get_u64(o, "bytes", chain_bytes))
        return 0;
    info->open = !strcmp(bwc_wshow_str(o, "state", ""), "open");
    return 1;
}

/* The open channel to p's relay with the most deposit left, reconciled with the relay, into the
 * state (p->channel), or none. chain: our listchannels. Returns 0, or an exit code. */
/* A relay this download caught sending a bad chunk, before an interruption. */
static int caught_before(const bwc_dl_state *s, const bwc_dl_relay *x)
{
    if (!s)
        return 0;
    for (size_t i = 0; i < s->n_channels; i++) {
        if (s->channels[i].caught && !memcmp(s->channels[i].relay.b, x->key.b, 32)) {
            msg("not using relay %s again: it sent a chunk that failed its check", x->endpoint);
            return 1;
        }
    }
    return 0;
}

static int reuse_channel(bwc_wctx *w, const bwc_wallet_key *k, bwc_download *d, plan *p,
                         const json_t *chain, uint64_t need, const char *journal)
{
    bwc_dl_state *s = d->state;
    bwc_hash ids[BWC_DL_STATE_MAX_CHANNELS + 64];
    size_t n_ids = 0;
    size_t i;
    json_t *e;

    /* Candidates: the state's channels to this relay, then the chain's open ones. */
    for (i = 0; i < s->n_channels && n_ids < sizeof ids / sizeof ids[0]; i++)
        if (!memcmp(s->channels[i].relay.b, p->info.key.b, 32))
            ids[n_ids++] = s->channels[i].id;
    json_array_foreach(chain, i, e)
    {
        bwc_hash id;
        bwc_dl_channel_info info;
        uint64_t cb;
        if (n_ids == sizeof ids / sizeof ids[0] || !chain_channel(w, e, &id, &info, &cb) ||
            !info.open || memcmp(info.consumer.b, k->pub.b, 32) ||
            memcmp(info.relay.b, p->info.key.b, 32) || bwc_dl_state_find(s, &id) >= 0)
            continue;
        ids[n_ids++] = id;
    }

    bwc_dl_conn *c =
        bwc_dl_conn_new(d->base, d->dns, p->info.host, p->info.port, BWC_DL_HTTP_TIMEOUT, 4u << 20);
    if (!c)
        return bwc_wfail(WEXIT_USAGE, "out of memory");
    bwc_dl_channel best;
    uint64_t best_left = 0;
    int have_best = 0, best_awaiting = 0;
    for (i = 0; i < n_ids; i++) {
        char hex[65], err[512];
        bwc_dl_channel_info info;
        bwc_dl_channel ch;
        bwc_dl_relay_view v;
        uint64_t chain_bytes = 0, seq, bytes, amount, cost;
        bwc_hash digest, id;
        const char *why;
        int rc;
        long si = bwc_dl_state_find(s, &ids[i]);
        bwc_hex_encode(hex, ids[i].b, 32);
        json_t *o = bwc_wctx_call_opt(w, "getchannel", json_pack("[s]", hex), -5, &rc);
        if (rc) {
            bwc_dl_conn_free(c);
            return rc;
        }
        if (!o) {
            /* A channel this download opened before an interruption, not in a block yet? */
            json_t *tx =
                si >= 0 ? bwc_wctx_call_opt(w, "getrawtransaction", json_pack("[s]", hex), -5, &rc)
                        : NULL;
            if (rc) {
                bwc_dl_conn_free(c);
                return rc;
            }
            if (tx && !have_best) {
                best = s->channels[si];
                have_best = best_awaiting = 1;
                best_left = 0;
            }
            json_decref(tx);
            continue;
        }
        int parsed = chain_channel(w, o, &id, &info, &chain_bytes);
        json_decref(o);
        if (!parsed || memcmp(id.b, ids[i].b, 32) != 0) {
            bwc_dl_conn_free(c);
            return bwc_wfail(WEXIT_NODE, "node: getchannel %s gave no channel", hex);
        }
        if (si >= 0) {
            ch = s->channels[si];
        } else {
            bwc_dl_channel_init(&ch, &id, &info.relay, info.price, info.deposit);
        }
        /* What an earlier download signed last, if the journal is ahead of us. */
        bwc_receipt jr;
        int jrc = bwc_dl_journal_load(journal, &id, w->secp, &w->cs.chain_id, &k->pub, &jr, err,
                                      sizeof err);
        if (jrc < 0)
            msg("ignoring the journal of channel %.16s...: %s", hex, err);
        else if (jrc > 0 && (!ch.has_receipt || jr.seq > ch.newest.seq))
            bwc_dl_channel_adopt(&ch, &jr);
        if (bwc_dl_fetch_view(c, &id, NULL, &v, err, sizeof err) != 0) {
            msg("not reusing channel %.16s... to %s: %s", hex, p->info.endpoint, err);
            continue;
        }
        int ok = bwc_dl_reconcile(&ch, w->secp, &w->cs.chain_id, k->secret, &k->pub, d->m,
                                  &s->content_id, &v, &why);
        uint64_t served = v.found ? v.served : 0;
        bwc_dl_relay_view_free(&v);
        if (!ok) {
            msg("not reusing channel %.16s... to %s: the relay's record of it does not match "
                "ours (%s)",
                hex, p->info.endpoint, why);
            continue;
        }
        bwc_dl_channel_point(&ch, &seq, &bytes, &amount, &digest);
        info.base_bytes = chain_bytes > bytes ? chain_bytes : bytes;
        if (served > info.base_bytes)
            info.base_bytes = served;
        if (si >= 0)
            s->channels[si] = ch; /* reconciled with the relay, used or not */
        if (!bwc_dl_channel_usable(&info, &k->pub, &p->info.key, p->info.price, w->tip, need,
                                   &why)) {
            if (si >= 0) /* the chain's other channels are only candidates: no noise */
                msg("not reusing channel %.16s... to %s: %s", hex, p->info.endpoint, why);
            continue;
        }
        bwc_receipt_max_amount(info.base_bytes, info.price, &cost);
        if (!have_best || best_awaiting || info.deposit - cost > best_left) {
            best = ch;
            best_left = info.deposit - cost;
            have_best = 1;
            best_awaiting = 0;
        }
    }
    bwc_dl_conn_free(c);
    if (!have_best)
        return 0;
    long si = bwc_dl_state_find(s, &best.id);
    if (si >= 0) {
        s->channels[si] = best; /* reconciled; its start_amount stays the download's */
    } else {
        best.start_amount = best.has_receipt ? best.newest.amount : 0;
        if ((si = bwc_dl_state_add(s, &best)) < 0)
            return bwc_wfail(WEXIT_USAGE, "too many channels in the download state");
    }
    p->channel = si;
    p->awaiting = best_awaiting;
    return 0;
}

/* Opens the planned channels: checks the funds for all first, then signs and sends each and
 * records it in the state (saved at once, so an interruption never opens it twice). */
static int open_channels(bwc_wctx *w, const bwc_wallet_key *k, bwc_download *d, plan *plans,
                         size_t n, const bwc_wcmd_args *a, json_t *opened)
{
    char a1[BWC_WSHOW_AMOUNT_MAX], a2[BWC_WSHOW_AMOUNT_MAX], addr[BWC_ADDRESS_MAX], err[512];
    uint64_t fee, expiry, total = 0;
    bwc_wallet_account acct;
    size_t count = 0;
    int rc;
    for (size_t i = 0; i < n; i++)
        count += plans[i].open_new;
    if (!count)
        return 0;
    if ((rc = bwc_wctx_expiry(w, bwc_wopt_get(a, "expiry"), &expiry)) != 0 ||
        (rc = bwc_wctx_fee(w, bwc_wopt_get(a, "fee"), &fee)) != 0 ||
        (rc = bwc_wctx_account(w, &k->pub, &acct)) != 0)
        return rc;
    for (size_t i = 0; i < n; i++)
        if (plans[i].open_new && (!bwc_amount_add(&total, total, plans[i].deposit) ||
                                  !bwc_amount_add(&total, total, fee)))
            return bwc_wfail(WEXIT_FUNDS, "the deposits are larger than any balance");
    uint64_t avail = acct.available;
    if (avail < total)
        return bwc_wfail(WEXIT_FUNDS,
                         "insufficient funds: %zu new channel%s %s in deposits and fees; %s "
                         "has %s available. Nothing was sent (--deposit sets a smaller deposit).",
                         count, count == 1 ? " needs" : "s need", bwc_wshow_amount(a1, total),
                         bwc_wctx_address(w, &k->pub, addr), bwc_wshow_amount(a2, avail));
    for (size_t i = 0; i < n; i++) {
        plan *p = &plans[i];
        bwc_tx tx;
        bwc_hash txid;
        bwc_dl_channel ch;
        char hex[65];
        if (!p->open_new)
            continue;
        memset(&tx, 0, sizeof tx);
        tx.type = BWC_TX_CHANNEL_OPEN;
        tx.fee = fee;
        tx.body.channel_open.relay = p->info.key;
        tx.body.channel_open.deposit = p->deposit;
        tx.body.channel_open.price = p->info.price;
        tx.body.channel_open.expiry = expiry;
        if ((rc = bwc_wctx_prepare(w, k, &tx)) != 0 || (rc = bwc_wctx_submit(w, k, &tx, &txid)))
            return rc;
        bwc_dl_channel_init(&ch, &txid, &p->info.key, p->info.price, p->deposit);
        if ((p->channel = bwc_dl_state_add(d->state, &ch)) < 0)
            return bwc_wfail(WEXIT_USAGE, "too many channels in the download state");
        p->open_new = 0;
        p->awaiting = 1;
        if (bwc_dl_state_save(d->state_path, d->state, 1, err, sizeof err) != 0)
            return bwc_wfail(WEXIT_USAGE, "%s", err);
        bwc_hex_encode(hex, txid.b, 32);
        msg("opened channel %s to %s: deposit %s, price %llu units per MiB, fee %s", hex,
            p->info.endpoint, bwc_wshow_amount(a1, p->deposit), (unsigned long long)p->info.price,
            bwc_wshow_amount(a2, fee));
        json_t *o = json_object();
        json_object_set_new(o, "channel_id", json_string(hex));
        json_object_set_new(o, "relay", json_string(p->info.address));
        json_object_set_new(o, "deposit", json_integer((json_int_t)p->deposit));
        json_object_set_new(o, "price", json_integer((json_int_t)p->info.price));
        json_object_set_new(o, "expiry", json_integer((json_int_t)expiry));
        json_object_set_new(o, "fee", json_integer((json_int_t)fee));
        json_array_append_new(opened, o);
    }
    return 0;
}

/* Polls getchannel until every awaited channel is in a block, for at most wait seconds. */
static int await_channels(bwc_wctx *w, bwc_download *d, plan *plans, size_t n, uint64_t wait)
{
    size_t waiting = 0;
    int rc;
    for (size_t i = 0; i < n; i++)
        waiting += plans[i].awaiting;
    if (!waiting)
        return 0;
    msg("waiting for %zu channel%s to be confirmed in a block (at most %llu s)%s", waiting,
        waiting == 1 ? "" : "s", (unsigned long long)wait,
        strcmp(w->cs.name, "dev") == 0 ? "; on the dev chain mine one: bwc-cli -chain=dev "
                                         "generate 1"
                                       : "");
    uint64_t deadline = bwc_dl_now_ms() + wait * 1000;
    for (;;) {
        for (size_t i = 0; i < n; i++) {
            char hex[65];
            if (!plans[i].awaiting)
                continue;
            bwc_hex_encode(hex, d->state->channels[plans[i].channel].id.b, 32);
            json_t *o = bwc_wctx_call_opt(w, "getchannel", json_pack("[s]", hex), -5, &rc);
            if (rc)
                return rc;
            if (o) {
                plans[i].awaiting = 0;
                waiting--;
                msg("channel %.16s... to %s is confirmed", hex, plans[i].info.endpoint);
            }
            json_decref(o);
        }
        if (!waiting)
            return 0;
        if (bwc_dl_now_ms() >= deadline)
            return bwc_wfail(WEXIT_NODE,
                             "%zu channel%s not confirmed after %llu s; nothing was downloaded. "
                             "Run the same command again to wait longer: it uses them once they "
                             "are in a block",
                             waiting, waiting == 1 ? " is" : "s are", (unsigned long long)wait);
        sleep_ms(1000);
    }
}

/* Keeps every channel's newest receipt in the journal (warnings only: the download is done). */
static void journal_all(const char *dir, const bwc_dl_state *s)
{
    char err[512];
    for (size_t i = 0; i < s->n_channels; i++)
        if (s->channels[i].has_receipt && !s->channels[i].is_pool && /* channels only */
            bwc_dl_journal_save(dir, &s->channels[i].newest, err, sizeof err) != 0)
            msg("warning: %s", err);
}

/* ---- sponsor pools (--pool) ---- */

/* A download through a sponsor pool: one pool lane per relay, no channel, nothing paid by us. */
typedef struct {
    int on;
    bwc_hash id;
    const char *hex; /* as given */
    int has_ticket;
    unsigned char ticket[64];
    uint64_t price; /* the pool's, units per MiB */
    uint64_t limit; /* what this consumer may still draw: its room under per_consumer_cap
                       (across relays), and at most the pool's balance */
} pool_req;

/* getpool POOL consumer: the pool must exist, be open, pay for cid, have a balance, and take our
 * ticket (or need none). Fills price and limit. Returns 0, or an exit code (printed). */
static int pool_check(bwc_wctx *w, const bwc_wallet_key *k, const bwc_hash *cid, pool_req *pr)
{
    char addr[BWC_ADDRESS_MAX], hex[65];
    int rc;
    bwc_hash pcid;
    json_t *o = bwc_wctx_call_opt(w, "getpool",
                                  json_pack("[ss]", pr->hex, bwc_wctx_address(w, &k->pub, addr)),
                                  -5, &rc);
    if (!o)
        return rc ? rc : bwc_wfail(WEXIT_USAGE, "--pool %s: no such sponsor pool on this chain",
                                   pr->hex);
    const char *state = json_string_value(json_object_get(o, "state"));
    const char *content = json_string_value(json_object_get(o, "content_id"));
    const json_t *tk = json_object_get(o, "ticket_key");
    uint64_t balance = bwc_wshow_u64(o, "balance"), cap = bwc_wshow_u64(o, "per_consumer_cap");
    uint64_t claimed = bwc_wshow_u64(o, "consumer_claimed");
    char err[256];
    pr->price = bwc_wshow_u64(o, "price");
    rc = 0;
    if (!state || strcmp(state, "open") != 0)
        rc = bwc_wfail(WEXIT_USAGE, "--pool %s is %s: it pays for no more downloads", pr->hex,
                       state ? state : "not open");
    else if (!content || bwc_wallet_parse_hash(content, "content_id", &pcid, err, sizeof err) ||
             memcmp(pcid.b, cid->b, 32) != 0)
        rc = (bwc_hex_encode(hex, cid->b, 32),
              bwc_wfail(WEXIT_USAGE, "--pool %s pays for the content %s, not %s", pr->hex,
                        content ? content : "?", hex));
    else if (balance == 0)
        rc = bwc_wfail(WEXIT_USAGE, "--pool %s has no balance left", pr->hex);
    else if (claimed >= cap)
        rc = bwc_wfail(WEXIT_USAGE,
                       "--pool %s: this key has drawn its whole share (per_consumer_cap %llu) "
                       "already",
                       pr->hex, (unsigned long long)cap);
    else if (json_is_string(tk) && !pr->has_ticket)
        rc = bwc_wfail(WEXIT_USAGE,
                       "--pool %s only pays for consumers with a ticket from its ticket key %s: "
                       "give --ticket HEX (the 64-byte ticket for this key, %s)",
                       pr->hex, json_string_value(tk), addr);
    else if (!json_is_string(tk) && pr->has_ticket)
        rc = bwc_wfail(WEXIT_USAGE, "--pool %s has no ticket key: leave out --ticket", pr->hex);
    else if (json_is_string(tk)) {
        bwc_pubkey key;
        bwc_hash m;
        bwc_sig sig;
        memcpy(sig.b, pr->ticket, 64);
        bwc_ticket_msg(&w->cs.chain_id, &pr->id, &k->pub, &m);
        if (bwc_wallet_parse_address(w->secp, w->cs.params.hrp, json_string_value(tk), &key, err,
                                     sizeof err) != 0)
            rc = bwc_wfail(WEXIT_NODE, "node: getpool gave a bad ticket_key: %s", err);
        else if (!bwc_verify(w->secp, &sig, &m, &key))
            rc = bwc_wfail(WEXIT_USAGE,
                           "--ticket is not a ticket of pool %s for the key %s (it must be the "
                           "ticket key's signature over this pool and key)",
                           pr->hex, addr);
    }
    pr->limit = cap - claimed < balance ? cap - claimed : balance;
    json_decref(o);
    return rc;
}

/* The pool lane to p's relay into the state (p->channel): the state's, reconciled with the
 * relay, or a new one. Returns 0, or an exit code. */
static int pool_lane(bwc_wctx *w, const bwc_wallet_key *k, bwc_download *d, plan *p,
                     const pool_req *pr)
{
    bwc_dl_state *s = d->state;
    long si = bwc_dl_state_find_lane(s, &pr->id, 1, &p->info.key);
    bwc_dl_channel ch;
    if (si < 0) {
        bwc_dl_channel_init(&ch, &pr->id, &p->info.key, pr->price, pr->limit);
        bwc_dl_channel_set_pool(&ch, &k->pub, pr->has_ticket ? pr->ticket : NULL);
        if ((p->channel = bwc_dl_state_add(s, &ch)) < 0)
            return bwc_wfail(WEXIT_USAGE, "too many lanes in the download state");
        return 0;
    }
    ch = s->channels[si];
    if (ch.has_ticket != pr->has_ticket ||
        (pr->has_ticket && memcmp(ch.ticket.b, pr->ticket, 64) != 0))
        return bwc_wfail(WEXIT_USAGE,
                         "the download state's lane to %s was made with %s --ticket: resume "
                         "with the same one (or remove the state to start over)",
                         p->info.endpoint, ch.has_ticket ? "another" : "no");
    /* What it may claim: what it claimed so far (its newest) plus the room the chain shows. */
    uint64_t base = ch.has_receipt ? ch.newest.amount : 0;
    ch.deposit = base + pr->limit < base ? UINT64_MAX : base + pr->limit;
    ch.price = pr->price;
    bwc_dl_conn *c =
        bwc_dl_conn_new(d->base, d->dns, p->info.host, p->info.port, BWC_DL_HTTP_TIMEOUT, 4u << 20);
    bwc_dl_relay_view v;
    char err[256];
    const char *why;
    if (!c)
        return bwc_wfail(WEXIT_USAGE, "out of memory");
    int got = bwc_dl_fetch_view(c, &pr->id, &k->pub, &v, err, sizeof err);
    bwc_dl_conn_free(c);
    if (got != 0) {
        msg("not using relay %s: %s", p->info.endpoint, err);
        return 0;
    }
    int ok = bwc_dl_reconcile(&ch, w->secp, &w->cs.chain_id, k->secret, &k->pub, d->m,
                              &s->content_id, &v, &why);
    bwc_dl_relay_view_free(&v);
    if (!ok) {
        msg("not using relay %s: its record of our pool lane does not match ours (%s)",
            p->info.endpoint, why);
        return 0;
    }
    s->channels[si] = ch;
    p->channel = si;
    return 0;
}

/* ---- the command ---- */

typedef struct {
    struct event_base *base;
    struct evdns_base *dns;
    bwc_manifest m;
    unsigned char *manifest_bytes;
    bwc_dl_state state;
    int have_state;
    bwc_dl_relay *relays;
    plan *plans;
    bwc_dl_source *sources;
    json_t *opened;
} dl_res;

static void dl_res_free(dl_res *r)
{
    if (r->dns)
        evdns_base_free(r->dns, 0);
    if (r->base)
        event_base_free(r->base);
    bwc_manifest_free(&r->m);
    free(r->manifest_bytes);
    bwc_dl_state_free(&r->state);
    free(r->relays);
    free(r->plans);
    free(r->sources);
    json_decref(r->opened);
}

static json_t *summary(bwc_wctx *w, const bwc_download *d, const char *file, const bwc_hash *cid)
{
    char hex[65];
    uint64_t paid_total = 0;
    json_t *o = json_object(), *rel = json_array();
    bwc_hex_encode(hex, cid->b, 32);
    (void)w;
    json_object_set_new(o, "content_id", json_string(hex));
    json_object_set_new(o, "file", json_string(file));
    json_object_set_new(o, "size", json_integer((json_int_t)d->m->size));
    json_object_set_new(o, "chunk_size", json_integer((json_int_t)d->m->chunk_size));
    json_object_set_new(o, "chunks", json_integer((json_int_t)d->m->n_chunks));
    json_object_set_new(o, "downloaded", json_integer((json_int_t)d->bytes));
    json_object_set_new(o, "resumed", json_integer((json_int_t)d->had));
    json_object_set_new(o, "ms", json_integer((json_int_t)d->ms));
    for (size_t i = 0; i < d->n_sources; i++) {
        const bwc_dl_source *s = &d->sources[i];
        json_t *r = json_object();
        uint64_t paid = 0;
        json_object_set_new(r, "address", json_string(s->info.address));
        json_object_set_new(r, "endpoint", json_string(s->info.endpoint));
        json_object_set_new(r, "region", json_string(s->info.region));
        json_object_set_new(r, "price", json_integer((json_int_t)s->info.price));
        if (s->channel >= 0 && d->state->channels[s->channel].is_pool) {
            /* The pool pays the relay; the consumer pays nothing. */
            const bwc_dl_channel *ch = &d->state->channels[s->channel];
            uint64_t drawn = bwc_dl_channel_spent(ch);
            bwc_hex_encode(hex, ch->id.b, 32);
            json_object_set_new(r, "channel_id", json_null());
            json_object_set_new(r, "pool_id", json_string(hex));
            json_object_set_new(r, "pool_drawn", json_integer((json_int_t)drawn));
        } else if (s->channel >= 0) {
            const bwc_dl_channel *ch = &d->state->channels[s->channel];
            bwc_hex_encode(hex, ch->id.b, 32);
            json_object_set_new(r, "channel_id", json_string(hex));
            paid = bwc_dl_channel_spent(ch);
        } else {
            json_object_set_new(r, "channel_id", json_null());
        }
        json_object_set_new(r, "chunks", json_integer((json_int_t)s->chunks));
        json_object_set_new(r, "bytes", json_integer((json_int_t)s->bytes));
        json_object_set_new(r, "paid", json_integer((json_int_t)paid));
        json_object_set_new(r, "final_receipt",
                            s->final_status >= 0 ? json_integer(s->final_status) : json_null());
        if (s->dropped[0])
            json_object_set_new(r, "dropped", json_string(s->dropped));
        json_array_append_new(rel, r);
        paid_total += paid;
    }
    json_object_set_new(o, "paid", json_integer((json_int_t)paid_total));
    json_object_set_new(o, "relays", rel);
    return o;
}

int bwc_cmd_download(bwc_wctx *w, const bwc_wcmd_args *a, json_t **out)
{
    char err[1024], part[BWC_PATH_MAX + 16], state_path[BWC_PATH_MAX + 16];
    const char *forced_s[BWC_WCMD_MAX_REPEAT];
    bwc_pubkey forced[BWC_WCMD_MAX_REPEAT];
    const char *file = bwc_wopt_get(a, "o"), *output = bwc_wopt_get(a, "output");
    const char *region = bwc_wopt_get(a, "region"), *s;
    uint64_t n_want = DEFAULT_RELAYS, max_price = 0, deposit = 0, wait = DEFAULT_WAIT_SECONDS;
    int has_max = 0, force = bwc_wopt_get(a, "force") != NULL;
    const bwc_wallet_key *k;
    bwc_hash cid;
    struct stat st;
    dl_res r;
    int rc;

    memset(&r, 0, sizeof r);
    /* 1. Everything the command line says, checked before the passphrase is asked for. */
    if (bwc_wallet_parse_hash(a->pos[0], "CONTENT_ID", &cid, err, sizeof err) != 0)
        return bwc_wfail(WEXIT_USAGE, "%s", err);
    if (file && output)
        return bwc_wfail(WEXIT_USAGE, "give -o or --output, not both");
    if (!file && !(file = output))
        return bwc_wfail(WEXIT_USAGE, "-o FILE is required: where to write the content");
    if (!file[0])
        return bwc_wfail(WEXIT_USAGE, "-o: empty file name");
    if ((s = bwc_wopt_get(a, "relays")) &&
        (bwc_uint_parse(&n_want, s, "--relays", err, sizeof err) != 0 || n_want < 1 ||
         n_want > MAX_RELAYS))
        return bwc_wfail(WEXIT_USAGE, "--relays: a number from 1 to %d", MAX_RELAYS);
    if (region && !region_valid(region))
        return bwc_wfail(WEXIT_USAGE,
                         "--region: two capital letters (ISO 3166-1 alpha-2, ZZ for unknown)");
    if ((s = bwc_wopt_get(a, "max-price"))) {
        if ((rc = bwc_wctx_amount(s, "--max-price", 0, &max_price)) != 0)
            return rc;
        has_max = 1;
    }
    if ((s = bwc_wopt_get(a, "deposit")) && (rc = bwc_wctx_amount(s, "--deposit", 1, &deposit)))
        return rc;
    if ((s = bwc_wopt_get(a, "wait")) &&
        (bwc_uint_parse(&wait, s, "--wait", err, sizeof err) != 0 || wait < 1 || wait > 86400))
        return bwc_wfail(WEXIT_USAGE, "--wait: seconds from 1 to 86400");
    pool_req pool;
    memset(&pool, 0, sizeof pool);
    if ((pool.hex = bwc_wopt_get(a, "pool"))) {
        pool.on = 1;
        if (bwc_wallet_parse_hash(pool.hex, "--pool", &pool.id, err, sizeof err) != 0)
            return bwc_wfail(WEXIT_USAGE, "%s", err);
        if (bwc_wopt_get(a, "deposit"))
            return bwc_wfail(WEXIT_USAGE, "--deposit is for channels: a --pool download opens "
                                          "none");
    }
    if ((s = bwc_wopt_get(a, "ticket"))) {
        if (!pool.on)
            return bwc_wfail(WEXIT_USAGE, "--ticket needs --pool");
        if (strlen(s) != 128 || !bwc_hex_decode(pool.ticket, 64, s))
            return bwc_wfail(WEXIT_USAGE, "--ticket: 128 hex digits (a 64-byte ticket)");
        pool.has_ticket = 1;
    }
    size_t n_forced = forced_relays(a, forced_s, BWC_WCMD_MAX_REPEAT);
    if (snprintf(part, sizeof part, "%s.part", file) >= (int)sizeof part ||
        snprintf(state_path, sizeof state_path, "%s.part.state", file) >= (int)sizeof state_path)
        return bwc_wfail(WEXIT_USAGE, "-o: path too long");
    if (stat(file, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return bwc_wfail(WEXIT_USAGE, "-o %s is a directory: name the file to write", file);
        if (!force)
            return bwc_wfail(WEXIT_USAGE,
                             "%s exists: remove it, choose another -o, or give "
                             "--force to replace it",
                             file);
    }

    for (size_t i = 0; i < n_forced; i++)
        if (bwc_wallet_parse_address(w->secp, w->cs.params.hrp, forced_s[i], &forced[i], err,
                                     sizeof err) != 0)
            return bwc_wfail(WEXIT_USAGE, "--relay: %s", err);

    /* 2. The wallet, its key, the node. */
    if ((rc = bwc_wctx_open(w, 0)) != 0 || (rc = bwc_wctx_key(w, bwc_wopt_get(a, "from"), &k)) ||
        (rc = bwc_wctx_node(w)) != 0)
        return rc;

    char journal[BWC_PATH_MAX + 16];
    const char *slash = strrchr(w->path, '/');
    snprintf(journal, sizeof journal, "%.*s/receipts", slash ? (int)(slash - w->path) : 1,
             slash ? w->path : ".");

    /* The pool, checked before anything else is asked; its price bounds the relays' (a relay
     * refuses a pool below its own price). */
    if (pool.on) {
        if ((rc = pool_check(w, k, &cid, &pool)) != 0)
            return rc;
        if (!has_max || pool.price < max_price)
            max_price = pool.price;
        has_max = 1;
    }

    /* 3. Relays: the chain's records, ranked. */
    json_t *list = bwc_wctx_call(w, "listrelays", NULL, &rc);
    if (!list)
        return rc;
    size_t n_rel = 0, n_list = json_array_size(list);
    if (!(r.relays = calloc(n_list ? n_list : 1, sizeof *r.relays))) {
        json_decref(list);
        return bwc_wfail(WEXIT_USAGE, "out of memory");
    }
    for (size_t i = 0; i < n_list; i++) {
        bwc_dl_relay *x = &r.relays[n_rel];
        if (!bwc_dl_relay_from_json(x, json_array_get(list, i), w->secp, w->cs.params.hrp, err,
                                    sizeof err)) {
            msg("skipping a relay record: %s", err);
            continue;
        }
        int keep = !n_forced;
        for (size_t f = 0; f < n_forced; f++)
            keep |= !memcmp(forced[f].b, x->key.b, 32);
        if (keep && !memcmp(x->key.b, k->pub.b, 32)) {
            msg("skipping relay %s: it is this wallet's own key", x->endpoint);
            keep = 0;
        }
        n_rel += keep;
    }
    json_decref(list);
    for (size_t f = 0; f < n_forced; f++) {
        int found = 0;
        for (size_t i = 0; i < n_rel; i++)
            found |= !memcmp(forced[f].b, r.relays[i].key.b, 32);
        if (!found && memcmp(forced[f].b, k->pub.b, 32) != 0) {
            dl_res_free(&r);
            return bwc_wfail(WEXIT_USAGE, "--relay %s has no relay record on this chain",
                             forced_s[f]);
        }
    }
    size_t eligible = bwc_dl_relay_rank(r.relays, n_rel, region, has_max, max_price);
    if (!n_rel) {
        dl_res_free(&r);
        return bwc_wfail(WEXIT_NODE, "the chain lists no relay to download from");
    }
    if (!eligible) {
        dl_res_free(&r);
        return bwc_wfail(WEXIT_USAGE,
                         "no relay asks at most %llu units per MiB (--max-price); the cheapest "
                         "asks %llu",
                         (unsigned long long)max_price, (unsigned long long)r.relays[0].price);
    }
    if (n_forced)
        n_want = eligible;

    /* 4. A download to resume? */
    int missing;
    if (bwc_dl_state_load(state_path, &r.state, w->secp, &w->cs.chain_id, &missing, err,
                          sizeof err) == 0) {
        r.have_state = 1;
        char addr[BWC_ADDRESS_MAX];
        if (memcmp(r.state.content_id.b, cid.b, 32) != 0) {
            dl_res_free(&r);
            return bwc_wfail(WEXIT_USAGE,
                             "%s belongs to the download of another content: remove %s and %s, "
                             "or choose another -o",
                             state_path, part, state_path);
        }
        if (memcmp(r.state.consumer.b, k->pub.b, 32) != 0) {
            bwc_wctx_address(w, &r.state.consumer, addr);
            dl_res_free(&r);
            return bwc_wfail(WEXIT_USAGE,
                             "%s was written for the key %s: resume with --from %s (or remove it "
                             "to start over)",
                             state_path, addr, addr);
        }
    } else if (!missing) {
        dl_res_free(&r);
        return bwc_wfail(WEXIT_USAGE, "%s; remove it (and %s) to start over", err, part);
    }
    /* A state's lanes are all channels or all lanes of one pool: resume the same way. */
    for (size_t i = 0; r.have_state && i < r.state.n_channels; i++) {
        const bwc_dl_channel *c = &r.state.channels[i];
        if (c->is_pool && (!pool.on || memcmp(c->id.b, pool.id.b, 32) != 0)) {
            char hex[65];
            bwc_hex_encode(hex, c->id.b, 32);
            dl_res_free(&r);
            return bwc_wfail(WEXIT_USAGE,
                             "%s is a download through the sponsor pool %s: resume with --pool "
                             "%s (or remove it to start over)",
                             state_path, hex, hex);
        }
        if (!c->is_pool && pool.on) {
            dl_res_free(&r);
            return bwc_wfail(WEXIT_USAGE,
                             "%s is a download over channels: resume without --pool (or remove "
                             "it to start over)",
                             state_path);
        }
    }

    /* A relay that closes its end while a request is written must cost a retry, not the
     * process (libevent writes with plain send()). */
    signal(SIGPIPE, SIG_IGN);

    /* 5. The manifest, checked against the content id before anything else; relays that have
     * it are the ones used. */
    if (!(r.base = event_base_new()) || !(r.plans = calloc(n_want, sizeof *r.plans)) ||
        !(r.opened = json_array())) {
        dl_res_free(&r);
        return bwc_wfail(WEXIT_USAGE, "out of memory");
    }
    r.dns = evdns_base_new(r.base, EVDNS_BASE_INITIALIZE_NAMESERVERS); /* NULL: IP literals */
    size_t n_plans = 0, manifest_len = 0;
    for (size_t i = 0; i < eligible && n_plans < n_want; i++)
        if (!caught_before(r.have_state ? &r.state : NULL, &r.relays[i]) && probe_manifest(r.base, r.dns, &r.relays[i], &cid, &r.m, &r.manifest_bytes,
                           &manifest_len)) {
            r.plans[n_plans].info = r.relays[i];
            r.plans[n_plans].channel = -1;
            n_plans++;
        }
    if (!n_plans) {
        dl_res_free(&r);
        return bwc_wfail(WEXIT_NODE, "no relay could give the manifest of %s", a->pos[0]);
    }

    /* 6. The state: resumed, or new. */
    if (r.have_state && (r.state.size != r.m.size || r.state.chunk_size != r.m.chunk_size)) {
        dl_res_free(&r);
        return bwc_wfail(WEXIT_USAGE, "%s does not match the manifest: remove it to start over",
                         state_path);
    }
    if (!r.have_state &&
        !bwc_dl_state_init(&r.state, &w->cs.chain_id, &cid, &k->pub, r.m.size, r.m.chunk_size)) {
        dl_res_free(&r);
        return bwc_wfail(WEXIT_USAGE, "out of memory");
    }
    bwc_download d;
    memset(&d, 0, sizeof d);
    d.base = r.base;
    d.dns = r.dns;
    d.secp = w->secp;
    d.chain_id = &w->cs.chain_id;
    d.seckey = k->secret;
    d.m = &r.m;
    d.file = file;
    d.part = part;
    d.state_path = state_path;
    d.state = &r.state;
    int part_exists = access(part, F_OK) == 0;
    if (r.have_state && !part_exists) /* the data is gone: keep the channels, not the chunks */
        memset(r.state.verified, 0, bwc_dl_bitmap_len(r.state.n_chunks));
    d.rescan_all = !r.have_state && part_exists;
    uint64_t have = 0;
    for (size_t i = 0; i < r.state.n_chunks; i++)
        if (bwc_dl_bitmap_get(r.state.verified, i))
            have += bwc_manifest_chunk_len(&r.m, i);
    uint64_t remaining = r.m.size - have;
    if (r.have_state && have)
        msg("resuming: %llu of %llu bytes already verified", (unsigned long long)have,
            (unsigned long long)r.m.size);

    /* 7'. A pool download: one pool lane per relay, no channel, nothing to open. */
    if (pool.on) {
        uint64_t cost;
        if (!bwc_receipt_max_amount(remaining, pool.price, &cost) || cost > pool.limit) {
            dl_res_free(&r);
            return bwc_wfail(WEXIT_USAGE,
                             "--pool %s: the rest of the content costs %llu at the pool's price, "
                             "more than this key may still draw from it (%llu: its "
                             "per_consumer_cap across relays, or the pool's balance)",
                             pool.hex, (unsigned long long)cost,
                             (unsigned long long)pool.limit);
        }
        size_t kept = 0;
        for (size_t i = 0; i < n_plans && rc == 0; i++) {
            plan *p = &r.plans[i];
            if (p->info.price != 0 && (rc = pool_lane(w, k, &d, p, &pool)) == 0 &&
                p->channel < 0)
                continue; /* its lane does not match ours: not used */
            r.plans[kept++] = *p;
        }
        n_plans = kept;
        if (rc == 0 && !n_plans)
            rc = bwc_wfail(WEXIT_NODE, "no relay is left to download from");
        if (rc == 0 && bwc_dl_state_save(state_path, &r.state, 1, err, sizeof err) != 0)
            rc = bwc_wfail(WEXIT_USAGE, "%s", err);
        if (rc != 0) {
            dl_res_free(&r);
            return rc;
        }
        goto transfer;
    }

    /* 7. Channels: reuse what has enough left, plan the rest. */
    char addr[BWC_ADDRESS_MAX];
    json_t *chain =
        bwc_wctx_call(w, "listchannels", json_pack("[s]", bwc_wctx_address(w, &k->pub, addr)), &rc);
    if (!chain) {
        dl_res_free(&r);
        return rc;
    }
    uint64_t need = bwc_dl_need_bytes(remaining, n_plans, r.m.chunk_size);
    for (size_t i = 0; i < n_plans && rc == 0; i++) {
        plan *p = &r.plans[i];
        if (p->info.price == 0)
            continue; /* serves without a channel */
        if ((rc = reuse_channel(w, k, &d, p, chain, need, journal)) != 0 || p->channel >= 0)
            continue;
        p->open_new = 1;
        p->deposit = deposit;
        if (!deposit && !bwc_dl_default_deposit(remaining, r.m.chunk_size, p->info.price,
                                                w->cs.params.receipt_fee, &p->deposit))
            rc = bwc_wfail(WEXIT_USAGE, "relay %s: its price is too high to pay for this content",
                           p->info.endpoint);
    }
    json_decref(chain);
    if (rc == 0)
        rc = open_channels(w, k, &d, r.plans, n_plans, a, r.opened);
    if (rc == 0)
        rc = await_channels(w, &d, r.plans, n_plans, wait);
    if (rc == 0 && bwc_dl_state_save(state_path, &r.state, 1, err, sizeof err) != 0)
        rc = bwc_wfail(WEXIT_USAGE, "%s", err);
    if (rc != 0) {
        dl_res_free(&r);
        return rc;
    }

    /* 8. The transfer; whatever happens, the newest receipts go to the journal. */
transfer:
    if (!(r.sources = calloc(n_plans, sizeof *r.sources))) {
        dl_res_free(&r);
        return bwc_wfail(WEXIT_USAGE, "out of memory");
    }
    for (size_t i = 0; i < n_plans; i++) {
        r.sources[i].info = r.plans[i].info;
        r.sources[i].channel = r.plans[i].channel;
    }
    d.sources = r.sources;
    d.n_sources = n_plans;
    d.progress = isatty(STDERR_FILENO) ? 2 : 1;
    msg("fetching %s (%llu bytes in %zu chunks) from %zu relay%s", a->pos[0],
        (unsigned long long)r.m.size, r.m.n_chunks, n_plans, n_plans == 1 ? "" : "s");
    rc = bwc_dl_run(&d, err, sizeof err);
    journal_all(journal, &r.state);
    if (rc != 0) {
        bwc_wfail(rc, "%s", err);
        dl_res_free(&r);
        return rc;
    }
    *out = summary(w, &d, file, &cid);
    json_object_set(*out, "channels_opened", r.opened);
    dl_res_free(&r);
    return 0;
}

void bwc_show_download(const bwc_wctx *w, const json_t *out)
{
    char size[32], done[32], rate[32], had[32], paid[BWC_WSHOW_AMOUNT_MAX];
    json_t *rel = json_object_get(out, "relays"), *e;
    uint64_t ms = bwc_wshow_u64(out, "ms"), bytes = bwc_wshow_u64(out, "downloaded");
    size_t i;
    (void)w;
    bwc_dl_format_bytes(size, sizeof size, bwc_wshow_u64(out, "size"));
    bwc_dl_format_bytes(done, sizeof done, bytes);
    bwc_dl_format_bytes(rate, sizeof rate, ms ? bytes * 1000 / ms : bytes);
    printf("Downloaded %s (%s) in %llu.%02llu s: %s at %s/s\n", bwc_wshow_str(out, "file", ""),
           size, (unsigned long long)(ms / 1000), (unsigned long long)(ms % 1000 / 10), done, rate);
    printf("  content %s\n", bwc_wshow_str(out, "content_id", ""));
    if (bwc_wshow_u64(out, "resumed")) {
        bwc_dl_format_bytes(had, sizeof had, bwc_wshow_u64(out, "resumed"));
        printf("  %s were already here (resumed)\n", had);
    }
    json_array_foreach(rel, i, e)
    {
        char b[32], p[BWC_WSHOW_AMOUNT_MAX];
        bwc_dl_format_bytes(b, sizeof b, bwc_wshow_u64(e, "bytes"));
        printf("  relay %s (%s): %llu chunks, %s, paid %s", bwc_wshow_str(e, "endpoint", ""),
               bwc_wshow_str(e, "region", ""), (unsigned long long)bwc_wshow_u64(e, "chunks"), b,
               bwc_wshow_amount(p, bwc_wshow_u64(e, "paid")));
        if (json_is_string(json_object_get(e, "dropped")))
            printf("; left: %s", bwc_wshow_str(e, "dropped", ""));
        putchar('\n');
    }
    printf("  credit paid: %s\n", bwc_wshow_amount(paid, bwc_wshow_u64(out, "paid")));
    json_t *opened = json_object_get(out, "channels_opened");
    if (json_array_size(opened)) {
        uint64_t dep = 0, fee = 0;
        char d1[BWC_WSHOW_AMOUNT_MAX], f1[BWC_WSHOW_AMOUNT_MAX];
        json_array_foreach(opened, i, e)
        {
            dep += bwc_wshow_u64(e, "deposit");
            fee += bwc_wshow_u64(e, "fee");
        }
        printf("  opened %zu channel%s: %s in deposits (what is not spent returns after expiry), "
               "%s in fees\n",
               json_array_size(opened), json_array_size(opened) == 1 ? "" : "s",
               bwc_wshow_amount(d1, dep), bwc_wshow_amount(f1, fee));
    }
}
