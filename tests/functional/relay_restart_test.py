#!/usr/bin/env python3
"""relay_restart_test.py: a paid download interrupted by its relays restarting, then resumed
with the same command (test_framework/relay.py PaidNetwork: an origin and two paid relays, each
with -relayrate so that the transfer takes a few seconds).

First run: once part of the content has arrived, both relay nodes stop in the middle of the
download, and the download is stopped with SIGTERM (exit 143, FILE.part and its state kept).
The relay nodes start again on their data directories: each lane (bytes served, newest
receipt) is as it was, and blocks settle what the receipts hold so far; relay1 restarts once
more with nothing served in between. Second run, the same command, with relay2 restarted while
it runs: it resumes (its summary's `resumed` is what the first run verified, and it says so),
reuses the channels, asks the relays only for the chunks it did not have (they serve exactly
size - resumed bytes of chunks, besides manifests), and the output is byte-identical to the
source. After mining, each relay has settled everything it earned across the restarts: its
lane's bytes served equal its newest receipt's bytes, the chain's claimed amount equals that
receipt's amount, and its balance rose by exactly the final claims minus one receipt_fee per
settled receipt; the consumer paid for every byte of the content, and for at most one
delivery per relay that an interruption cut off twice."""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_framework import objects  # noqa: E402
from test_framework.relay import (MIB, RECEIPT_FEE, PaidNetwork, RelayClient,  # noqa: E402
                                  RelayTestFramework, file_sha256, mine_until_settled,
                                  settled_receipts, sync_tips)
from test_framework.util import TestFailure, assert_equal, assert_true  # noqa: E402

SIZE = 6 * MIB                # 24 chunks
CHUNK = 256 * 1024
PRICE = 100000
RATE = MIB                    # per relay: about 4 chunks a second
STOP_AFTER = 6                # chunks served (both relays) before the first run is stopped
RESTART_AFTER = 4             # chunks served in the second run before relay2 restarts


class RelayRestartTest(RelayTestFramework):

    def run_test(self):
        net = self.net = PaidNetwork(self, SIZE, CHUNK, n_relays=2, price=PRICE,
                                     relay_extra=["-relayrate=%d" % RATE])
        origin = net.origin
        n = len(net.m[3])
        keys = net.relay_keys
        h0 = origin.rpc.getblockcount()
        before = net.balances()
        out = os.path.join(self.tmpdir, "download.bin")

        def chunks_served():
            return sum(r.rpc.getrelaystats()["served"]["chunks_since_start"]
                       for r in net.relays)

        def restart(i):
            net.clients[i].close()
            net.relays[i].stop()
            net.relays[i].start()
            net.clients[i] = RelayClient(net.relays[i].relay_port)

        def stop_relays_then_the_download(proc):
            if chunks_served() < STOP_AFTER:
                return False
            self.log("both relay nodes stop in the middle of the download")
            for i, r in enumerate(net.relays):
                net.clients[i].close()
                r.stop()
            return True

        self.log("first run: the relays stop after %d chunks, then the download is stopped "
                 "with SIGTERM" % STOP_AFTER)
        rc, res, err = net.download(out, stop_when=stop_relays_then_the_download)
        if rc == 0:
            raise TestFailure("the first run finished before it could be interrupted (the "
                              "relays' -relayrate should slow it): %s" % err)
        assert_equal(rc, 128 + signal.SIGTERM, msg="exit code of an interrupted download: %s"
                     % err)
        assert_true(os.path.exists(out + ".part") and os.path.exists(out + ".part.state"),
                    "FILE.part and FILE.part.state are kept")
        assert_true(not os.path.exists(out), "no output before the download is complete")

        self.log("both relay nodes start again on their data directories")
        for i, r in enumerate(net.relays):
            r.start()
            net.clients[i] = RelayClient(r.relay_port)
        net.wait_connected()
        sync_tips(net.nodes)
        chan = {}
        for i, k in enumerate(keys):
            cs = [c for c in origin.rpc.listchannels(k.address) if c["consumer"] == net.consumer]
            assert_equal(len(cs), 1, msg="channels to relay%d: %r" % (i + 1, cs))
            chan[k.address] = cs[0]["channel_id"]
        first = {}
        for i, k in enumerate(keys):
            v = net.clients[i].channel(chan[k.address]).json()
            first[k.address] = v
            self.log("relay%d after the first run: %d bytes served, receipt %s" % (
                i + 1, v["bytes_served"], v["receipt"] and (v["receipt"]["seq"],
                                                             v["receipt"]["bytes"])))
        assert_true(sum(v["bytes_served"] for v in first.values()) < SIZE,
                    "the first run was stopped in the middle")

        self.log("blocks: the relays settle what their receipts hold so far")
        mine_until_settled(origin, net.nodes, self.producer,
                           [(net.clients[i], chan[k.address]) for i, k in enumerate(keys)])
        for k in keys:
            assert_equal(origin.rpc.getchannel(chan[k.address])["claimed"],
                         first[k.address]["receipt"]["amount"] if first[k.address]["receipt"]
                         else 0)

        self.log("relay1 restarts again (nothing served in between): its lane is kept")
        restart(0)
        net.wait_connected()
        sync_tips(net.nodes)
        for i, k in enumerate(keys):
            v = net.clients[i].channel(chan[k.address]).json()
            assert_equal(v["bytes_served"], first[k.address]["bytes_served"],
                         msg="relay%d's lane after its restart" % (i + 1))
            assert_equal(v["receipt"], first[k.address]["receipt"])
        served0 = {k.address: net.relays[i].rpc.getrelaystats()["served"]["total_bytes"]
                   for i, k in enumerate(keys)}

        self.log("second run: the same command resumes; relay2 restarts while it runs")
        restarted = []

        def restart_relay2_once(proc):
            if not restarted and sum(
                    r.rpc.getrelaystats()["served"]["total_bytes"] for r in net.relays) - \
                    sum(served0.values()) >= RESTART_AFTER * CHUNK:
                self.log("relay2 restarts in the middle of the second run")
                restart(1)
                restarted.append(1)
            return False

        rc, res, err = net.download(out, stop_when=restart_relay2_once)
        assert_true(restarted, "relay2 was not restarted during the second run")
        if rc != 0 or res is None:
            raise TestFailure("the second run exited %s: %s" % (rc, err))
        assert_equal(file_sha256(out), file_sha256(net.path), msg="the output's SHA-256")
        assert_true(res["resumed"] > 0, "the second run resumed nothing: %s" % err)
        assert_equal(res["resumed"] % CHUNK, 0)
        assert_equal(res["downloaded"], SIZE - res["resumed"],
                     msg="bytes fetched again: verified chunks are not downloaded twice")
        assert_true("resuming: %d of %d bytes already verified" % (res["resumed"], SIZE) in err,
                    "the second run says it resumes: %s" % err)
        assert_equal(res["channels_opened"], [], msg="the channels are reused")
        rel = {r["address"]: r for r in res["relays"]}
        assert_equal(sorted(r["channel_id"] for r in rel.values()), sorted(chan.values()))
        assert_equal(sum(r["bytes"] for r in rel.values()), SIZE - res["resumed"])
        chunk_bytes_2nd = 0
        for i, k in enumerate(keys):
            extra = net.relays[i].rpc.getrelaystats()["served"]["total_bytes"] - \
                served0[k.address] - rel[k.address]["bytes"]
            assert_true(extra >= 0 and extra % net.manifest_len == 0,
                        "relay%d served %d bytes of chunks the consumer did not count in the "
                        "second run" % (i + 1, extra))
            chunk_bytes_2nd += rel[k.address]["bytes"]
        assert_equal(chunk_bytes_2nd, SIZE - res["resumed"])

        self.log("mine: each relay settles everything it earned across the restart")
        lanes = [(net.clients[i], chan[k.address]) for i, k in enumerate(keys)]
        mine_until_settled(origin, net.nodes, self.producer, lanes)
        after = net.balances()
        total_bytes = 0
        for i, k in enumerate(keys):
            a = k.address
            v = net.clients[i].channel(chan[a]).json()
            rb, ra = v["receipt"]["bytes"], v["receipt"]["amount"]
            assert_equal(v["bytes_served"], rb,
                         msg="relay%d: every byte it served is covered by a receipt" % (i + 1))
            assert_equal(ra, objects.max_amount(rb, PRICE))
            ch = origin.rpc.getchannel(chan[a])
            assert_equal((ch["claimed"], ch["bytes"], ch["seq"]),
                         (ra, rb, v["receipt"]["seq"]), msg="relay%d's channel" % (i + 1))
            settled = settled_receipts(origin, h0, {chan[a]})
            assert_true(len(settled) >= 2, "relay%d settled before and after the restart: %r" %
                        (i + 1, [(s["seq"], s["amount"]) for s in settled]))
            assert_equal(after[a]["balance"] - before[a]["balance"],
                         ra - len(settled) * RECEIPT_FEE, msg="relay%d's balance" % (i + 1))
            assert_equal(after[a]["bytes_served"] - before[a]["bytes_served"], rb)
            s = net.relays[i].rpc.getrelaystats()
            assert_equal(s["earnings"]["unsettled"], 0)
            assert_equal(s["earnings"]["settled_balance"], after[a]["balance"])
            total_bytes += rb
        # every byte paid once; a delivery the interruption cut off may be paid twice (it was
        # served, then fetched again), at most one per relay
        assert_true(SIZE <= total_bytes <= SIZE + len(keys) * CHUNK,
                    "the consumer paid for %d bytes of a %d-byte content" % (total_bytes, SIZE))
        assert_equal(after[net.consumer]["bytes_consumed"] - before[net.consumer]["bytes_consumed"],
                     total_bytes)


if __name__ == "__main__":
    RelayRestartTest().main()
