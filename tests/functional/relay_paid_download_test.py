#!/usr/bin/env python3
"""relay_paid_download_test.py: a paid download end to end on a dev network of three nodes
(test_framework/relay.py PaidNetwork): the publisher's node is the origin (relayimport,
-relayfree for the content, registered with `bwc-wallet publish --origin`); two relay nodes
with keys of their own, imported into wallets, funded from dev key 1 and announced with
`bwc-wallet relay announce`, pull chunks through from the origin; a consumer wallet runs
`bwc-wallet download` through both relays, opening a channel to each.

Checked: the output's SHA-256 is the source's; both relays served and were paid exactly the
price of the bytes they served (amount = ceil(bytes x price / 2^20)), their receipts cover
every byte they served; the origin served each chunk once (pull-through) and the relays keep
what they fetched, unpinned; after blocks are mined until the relays' settlement receipts are
confirmed, each relay's balance rose by exactly the claimed amounts minus one receipt_fee per
settled receipt, the consumer's channels (getchannel, `bwc-wallet channels`) show the same
claims, getrelaystats agrees (settled balance, nothing unsettled, bytes served on chain), and
when the channels close the consumer gets back exactly deposit - claimed: in the end it paid
the price of the content and the two channel fees, nothing more."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_framework import objects  # noqa: E402
from test_framework.relay import (MIB, RECEIPT_FEE, PaidNetwork,  # noqa: E402
                                  RelayTestFramework, chunk_dir, file_sha256, mine_until_settled,
                                  settled_receipts, sha256)
from test_framework.util import TestFailure, assert_equal, assert_true  # noqa: E402

SIZE = 6 * MIB - 12345        # 24 chunks of 256 KiB, the last one short
CHUNK = 256 * 1024
PRICE = 100000                # units per MiB: 25,000 per full chunk
EXPIRY_BLOCKS = 40


class RelayPaidDownloadTest(RelayTestFramework):

    def run_test(self):
        net = self.net = PaidNetwork(self, SIZE, CHUNK, n_relays=2, price=PRICE)
        origin = net.origin
        n_chunks = len(net.m[3])
        h0 = origin.rpc.getblockcount()
        before = net.balances()
        origin_served0 = origin.rpc.getrelaystats()["served"]["total_bytes"]

        self.log("bwc-wallet download through both relays")
        out = os.path.join(self.tmpdir, "download.bin")
        rc, res, err = net.download(out, "--expiry", "+%d" % EXPIRY_BLOCKS)
        if rc != 0 or res is None:
            raise TestFailure("download exited %s: %s" % (rc, err))
        assert_equal(file_sha256(out), file_sha256(net.path), msg="the output's SHA-256")
        assert_true(not os.path.exists(out + ".part") and not os.path.exists(out + ".part.state"),
                    "the .part files are gone after a complete download")
        assert_equal((res["content_id"], res["size"], res["chunk_size"], res["chunks"]),
                     (net.cid, SIZE, CHUNK, n_chunks))
        assert_equal((res["downloaded"], res["resumed"]), (SIZE, 0))
        rel = {r["address"]: r for r in res["relays"]}
        keys = net.relay_keys
        assert_equal(sorted(rel), sorted(k.address for k in keys))
        for k in keys:
            r = rel[k.address]
            assert_true(r["chunks"] >= 1, "relay %s served no chunk: %s" % (k.address, err))
            assert_equal(r["paid"], objects.max_amount(r["bytes"], PRICE), msg="paid by bytes")
            assert_equal(r["final_receipt"], 200)
            assert_true("dropped" not in r, "relay dropped: %r" % r)
        assert_equal(sum(r["chunks"] for r in rel.values()), n_chunks)
        assert_equal(sum(r["bytes"] for r in rel.values()), SIZE)
        assert_equal(res["paid"], sum(r["paid"] for r in rel.values()))
        opened = {o["relay"]: o for o in res["channels_opened"]}
        assert_equal(sorted(opened), sorted(rel))
        chan = {k.address: rel[k.address]["channel_id"] for k in keys}
        for a, o in opened.items():
            assert_equal((o["channel_id"], o["price"]), (chan[a], PRICE))
            ch = origin.rpc.getchannel(o["channel_id"])
            assert_equal((ch["consumer"], ch["relay"], ch["deposit"], ch["price"]),
                         (net.consumer, a, o["deposit"], PRICE))
            assert_true(o["deposit"] >= rel[a]["paid"], "the deposit covers what was paid")
        spent = sum(o["deposit"] + o["fee"] for o in opened.values())
        assert_equal(origin.rpc.getaccount(net.consumer)["balance"],
                     before[net.consumer]["balance"] - spent)

        self.log("the relays' view: their newest receipts cover every byte they served")
        views = {}
        for i, k in enumerate(keys):
            r = rel[k.address]
            v = views[k.address] = net.clients[i].channel(chan[k.address]).json()
            assert_equal(v["bytes_served"], r["bytes"], msg="bytes served by relay%d" % (i + 1))
            assert_equal((v["receipt"]["bytes"], v["receipt"]["amount"]),
                         (r["bytes"], r["paid"]))
            assert_equal(v["receipt"]["digest"], v["digest"])
            assert_equal(v["log"], [])
            s = net.relays[i].rpc.getrelaystats()
            assert_equal(s["earnings"]["unsettled"], r["paid"])
            assert_equal(s["earnings"]["settled_balance"], before[k.address]["balance"])
            assert_equal(s["served"]["chunks_since_start"], r["chunks"])
            extra = s["served"]["total_bytes"] - r["bytes"]  # manifests served
            assert_true(extra >= net.manifest_len and extra % net.manifest_len == 0,
                        "relay%d served %d bytes besides chunks" % (i + 1, extra))
            # pull-through: the relay keeps what it fetched from the origin, unpinned
            d = chunk_dir(net.relays[i], net.cid)
            stored = sorted(int(f) for f in os.listdir(d) if f.isdigit())
            assert_equal(len(stored), r["chunks"])
            assert_true(not os.path.exists(os.path.join(d, "pinned")), "cached content pinned")
            for idx in stored:
                with open(os.path.join(d, str(idx)), "rb") as f:
                    assert_equal(sha256(f.read()), net.m[3][idx])
        # the origin served each chunk once (to the relay that served it) and the manifest once
        # to each relay
        origin_served = origin.rpc.getrelaystats()["served"]["total_bytes"] - origin_served0
        assert_equal(origin_served, SIZE + 2 * net.manifest_len, msg="bytes the origin served")

        self.log("mine until the relays' settlement receipts are confirmed")
        mined = mine_until_settled(origin, net.nodes, self.producer,
                                   [(net.clients[i], chan[k.address])
                                    for i, k in enumerate(keys)])
        self.log("settled after %d blocks" % mined)
        after = net.balances()
        for i, k in enumerate(keys):
            a = k.address
            r = rel[a]
            settled = settled_receipts(origin, h0, {chan[a]})
            assert_true(settled, "no receipt of relay%d settled" % (i + 1))
            last = settled[-1]
            assert_equal((last["amount"], last["bytes"], last["digest"], last["seq"]),
                         (r["paid"], r["bytes"], views[a]["receipt"]["digest"],
                          views[a]["receipt"]["seq"]))
            earned = r["paid"] - len(settled) * RECEIPT_FEE
            assert_equal(after[a]["balance"] - before[a]["balance"], earned,
                         msg="relay%d's balance: claimed %d in %d receipts" % (
                             i + 1, r["paid"], len(settled)))
            assert_equal(after[a]["bytes_served"] - before[a]["bytes_served"], r["bytes"])
            ch = origin.rpc.getchannel(chan[a])
            assert_equal((ch["claimed"], ch["bytes"], ch["seq"], ch["digest"], ch["state"]),
                         (r["paid"], r["bytes"], last["seq"], last["digest"], "open"))
            s = net.relays[i].rpc.getrelaystats()
            assert_equal(s["earnings"]["settled_balance"], after[a]["balance"])
            assert_equal(s["earnings"]["unsettled"], 0)
            assert_equal(s["earnings"]["bytes_served_on_chain"], after[a]["bytes_served"])
            assert_equal(s["earnings"]["settlements_since_start"], len(settled))
        assert_equal(after[net.consumer]["bytes_consumed"] - before[net.consumer]["bytes_consumed"],
                     SIZE)
        mine = net.w.json("consumer", "channels")["channels"]
        assert_equal(sorted((c["channel_id"], c["claimed"], c["bytes"]) for c in mine),
                     sorted((chan[k.address], rel[k.address]["paid"], rel[k.address]["bytes"])
                            for k in keys))

        self.log("the channels close: the consumer gets deposit - claimed back")
        until = max(origin.rpc.getchannel(c)["settle_until"] for c in chan.values())
        net.mine(until - origin.rpc.getblockcount())
        for c in chan.values():
            assert_equal(origin.rpc.getchannel(c)["state"], "closed")
        fees = sum(o["fee"] for o in opened.values())
        assert_equal(origin.rpc.getaccount(net.consumer)["balance"],
                     before[net.consumer]["balance"] - res["paid"] - fees,
                     msg="the consumer paid the content's price and two fees")
        final = net.balances()
        for k in keys:
            assert_equal(final[k.address]["balance"], after[k.address]["balance"])

if __name__ == "__main__":
    RelayPaidDownloadTest().main()
