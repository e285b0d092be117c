#!/usr/bin/env python3
"""relay_pool_download_test.py: downloads through sponsor pools end to end (PROTOCOL.md §5.1,
§8; doc/wallet.md, --pool) on the network of relay_paid_download_test.py (PaidNetwork: an
origin serving the content free, two paid relays pulling through from it).

The publisher sponsors two pools for the content with `bwc-wallet sponsor`: an open one, and
one with a --ticket-key (tickets: the ticket key's BIP340 signature over
TH("bwc/ticket", chain_id || pool || consumer), objects.ticket). A consumer whose account holds
nothing downloads the content through both relays with `bwc-wallet download --pool`, once
through each pool (with --ticket for the second); a download through the ticketed pool without
a ticket, or with a ticket for another key, fails with a clear error before anything is asked of
a relay.

Checked: the output's SHA-256; no channel is opened and the consumer pays nothing; each relay's
newest pool receipt (GET /v1/channel with Bwc-Consumer) covers the bytes it served at the pool's
price; after mining until the relays settled, each relay's balance rose by its claims minus one
receipt_fee per settled receipt, each pool's balance fell by exactly the claims (getpool
consumer_claimed agrees), and the consumer's balance is still 0."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_framework import objects  # noqa: E402
from test_framework.relay import (MIB, RECEIPT_FEE, PaidNetwork,  # noqa: E402
                                  RelayTestFramework, file_sha256, sync_tips)
from test_framework.util import (TestFailure, assert_equal, assert_true,  # noqa: E402
                                 wait_until)

SIZE = 3 * MIB - 4321         # 12 chunks of 256 KiB, the last one short
CHUNK = 256 * 1024
PRICE = 100000                # units per MiB, the relays' and the pools'
POOL_AMOUNT = 3000000         # units: enough for both relays' share several times
CAP = 1000000                 # per consumer: the content costs ~300,000


class RelayPoolDownloadTest(RelayTestFramework):

    def sponsor(self, *extra):
        net = self.net
        out = net.w.json("publisher", "sponsor", net.cid, "%du" % POOL_AMOUNT, "--price",
                         "%du" % PRICE, "--cap", "%du" % CAP, "--expiry", "+200", *extra)
        net.mine()
        pool = net.origin.rpc.getpool(out["pool_id"])
        assert_equal((pool["content_id"], pool["balance"], pool["price"], pool["state"]),
                     (net.cid, POOL_AMOUNT, PRICE, "open"))
        return out["pool_id"]

    def download(self, name, pool, *extra):
        net = self.net
        out = os.path.join(self.tmpdir, name)
        rc, res, err = net.download(out, "--pool", pool, *extra, wallet="free")
        if rc != 0 or res is None:
            raise TestFailure("download through pool %s exited %s: %s" % (pool[:16], rc, err))
        assert_equal(file_sha256(out), file_sha256(net.path), msg="the output's SHA-256")
        assert_equal((res["downloaded"], res["paid"], res["channels_opened"]), (SIZE, 0, []))
        rel = {r["address"]: r for r in res["relays"]}
        assert_equal(sorted(rel), sorted(k.address for k in net.relay_keys))
        consumer_hex = objects.pubkey_of(self.free).hex()
        for i, k in enumerate(net.relay_keys):
            r = rel[k.address]
            assert_true(r["chunks"] >= 1, "relay %s served no chunk: %s" % (k.address, err))
            assert_equal((r["channel_id"], r["pool_id"], r["paid"], r["final_receipt"]),
                         (None, pool, 0, 200))
            assert_equal(r["pool_drawn"], objects.max_amount(r["bytes"], PRICE))
            v = net.clients[i].channel(pool, consumer=consumer_hex).json()
            assert_equal((v["pool"], v["consumer"], v["bytes_served"]),
                         (True, consumer_hex, r["bytes"]))
            assert_equal((v["receipt"]["bytes"], v["receipt"]["amount"], v["receipt"]["digest"]),
                         (r["bytes"], r["pool_drawn"], v["digest"]))
        assert_equal(sum(r["bytes"] for r in rel.values()), SIZE)
        return {a: r["pool_drawn"] for a, r in rel.items()}

    def run_test(self):
        net = self.net = PaidNetwork(self, SIZE, CHUNK, n_relays=2, price=PRICE)
        origin = net.origin
        w = net.w
        self.free = w.json("free", "create")["address"]
        ticket_key = objects.Key()

        self.log("the publisher sponsors an open pool and a ticketed one")
        open_pool = self.sponsor()
        ticket_pool = self.sponsor("--ticket-key", ticket_key.address)
        assert_equal(origin.rpc.getpool(ticket_pool)["ticket_key"], ticket_key.address)
        h0 = origin.rpc.getblockcount()
        before = net.balances()
        free0 = origin.rpc.getaccount(self.free)
        assert_equal(free0["balance"], 0)

        self.log("the ticketed pool refuses a download without a ticket, or with another's")
        for extra, words in (((), "ticket"),
                             (("--ticket", objects.ticket(ticket_key, ticket_pool,
                                                          net.consumer).hex()), "not a ticket")):
            out = os.path.join(self.tmpdir, "refused.bin")
            rc, res, err = net.download(out, "--pool", ticket_pool, *extra, wallet="free")
            assert_equal(rc, 1, msg="exit code without a valid ticket: %s" % err)
            assert_true(words in err and "--ticket" in err, "unclear error: %s" % err)
            assert_true(not os.path.exists(out + ".part"), "nothing was downloaded")
        self.log("an unknown pool is refused")
        rc, _, err = net.download(os.path.join(self.tmpdir, "x.bin"), "--pool", "ab" * 32,
                                  wallet="free")
        assert_true(rc == 1 and "no such sponsor pool" in err, err)

        self.log("download through the open pool (both relays), then the ticketed one")
        drawn = {open_pool: self.download("open.bin", open_pool)}
        tk = objects.ticket(ticket_key, ticket_pool, self.free).hex()
        drawn[ticket_pool] = self.download("ticketed.bin", ticket_pool, "--ticket", tk)
        assert_equal(origin.rpc.getaccount(self.free)["balance"], 0)

        self.log("mine until the relays' pool receipts are confirmed")
        pools = list(drawn)
        consumer_hex = objects.pubkey_of(self.free).hex()

        def unsettled():
            return [p for p in pools
                    if origin.rpc.getpool(p, self.free)["consumer_claimed"] != sum(
                        net.clients[i].channel(p, consumer=consumer_hex).json()["receipt"]
                        ["amount"] for i in range(len(net.relays)))]
        mined = 0
        while unsettled():
            if mined >= 12:
                raise TestFailure("pool receipts still unsettled after 12 blocks: %s" %
                                  unsettled())
            if mined:
                try:
                    wait_until(lambda: origin.rpc.getmempoolinfo()["receipts"] >= 1,
                               timeout=10, interval=0.1)
                except TestFailure:
                    pass
            origin.rpc.generate(1, self.producer.address)
            sync_tips(net.nodes)
            mined += 1
        self.log("settled after %d blocks" % mined)

        after = net.balances()
        settled = []
        for h in range(h0 + 1, origin.rpc.getblockcount() + 1):
            b = origin.rpc.getblock(origin.rpc.getblockhash(h), 2)
            settled += [r for r in b["receipts"] if r["channel"] in drawn]
        for r in settled:
            assert_equal(r["consumer"], self.free)
        for i, k in enumerate(net.relay_keys):
            a = k.address
            mine = [r for r in settled if r["relay"] == a]
            claims = sum(drawn[p][a] for p in pools)
            assert_true(mine, "no pool receipt of relay%d settled" % (i + 1))
            for p in pools:
                last = [r for r in mine if r["channel"] == p][-1]
                assert_equal(last["amount"], drawn[p][a])
                assert_equal("ticket" in last, p == ticket_pool)
            assert_equal(after[a]["balance"] - before[a]["balance"],
                         claims - len(mine) * RECEIPT_FEE,
                         msg="relay%d's balance: claimed %d in %d receipts" % (
                             i + 1, claims, len(mine)))
            s = net.relays[i].rpc.getrelaystats()
            assert_equal(s["earnings"]["unsettled"], 0)
            assert_equal(s["earnings"]["settled_balance"], after[a]["balance"])
        for p in pools:
            claims = sum(drawn[p].values())
            pool = origin.rpc.getpool(p, self.free)
            assert_equal((pool["balance"], pool["consumer_claimed"]),
                         (POOL_AMOUNT - claims, claims), msg="pool %s" % p[:16])
        free1 = origin.rpc.getaccount(self.free)
        assert_equal(free1["balance"], 0, msg="the consumer paid nothing")
        assert_equal(free1["bytes_consumed"] - free0["bytes_consumed"], 2 * SIZE)


if __name__ == "__main__":
    RelayPoolDownloadTest().main()
