#!/usr/bin/env python3
"""relay_ceilings_test.py: the relay's ceilings (doc/relay.md "Ceilings and bursts") on one
relay node serving free content over HTTP. -relayrate: a request past the token bucket gets 429
rate-limited with Retry-After and is not served; after Retry-After seconds it is. -relayquota:
the relay serves exactly up to the quota (manifests count), then answers 503 quota-exhausted with
Retry-After (the seconds to the period's end) and serves nothing more; the quota use survives a
restart (still refused). A burst window (RPC relayburst 12, -relayburstquota larger) raises the
ceiling while it lasts: more is served, up to the burst quota exactly; getrelaystats and
/v1/status show the burst and its end, which survives a restart; relayburst 0 ends it and the
relay refuses again."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_framework import cbor, objects  # noqa: E402
from test_framework.relay import RelayClient, RelayTestFramework, write_random_file  # noqa: E402
from test_framework.util import (TestFailure, assert_equal, assert_raises_rpc_error,  # noqa: E402
                                 assert_true, wait_until)

CHUNK = 64 * 1024
N_CHUNKS = 16
RATE = 16384            # bytes per second: one 64 KiB chunk leaves a debt of 3 s
PERIOD = 30 * 86400


class RelayCeilingsTest(RelayTestFramework):

    def run_test(self):
        self.node = self.relay_node(price=0, extra=["-relayrate=%d" % RATE])
        self.node.start()
        self.rpc = self.node.rpc
        path = os.path.join(self.tmpdir, "content.bin")
        data = write_random_file(path, N_CHUNKS * CHUNK, seed=4)
        self.m, self.cid = objects.manifest(data, CHUNK)
        self.manifest_len = len(cbor.encode(self.m))
        assert_equal(self.rpc.relayimport(path, True, CHUNK)["content_id"], self.cid.hex())
        self.client = RelayClient(self.node.relay_port)

        self.rate()
        self.quota()
        self.burst()

    # ------------------------------------------------------------------ helpers

    def stats(self):
        return self.rpc.getrelaystats()

    def restart(self, ceilings=None):
        """Stops and starts the node on its datadir; ceilings (a list of options) replace its
        -relayrate, -relayquota and -relayburstquota when given."""
        self.client.close()
        self.node.stop()
        if ceilings is not None:
            self.node.extra_args = [a for a in self.node.extra_args
                                    if not a.startswith(("-relayrate", "-relayquota",
                                                         "-relayburstquota"))] + ceilings
        self.node.start()
        self.rpc = self.node.rpc

    def served(self, index):
        r = self.client.chunk(self.cid, index)
        if r.status != 200:
            raise TestFailure("chunk %d: expected 200, got %r (stats %s)" % (
                index, r, self.stats()["ceilings"]))
        assert_equal(r.body, self.data_of(index))
        return r

    def data_of(self, index):
        with open(os.path.join(self.tmpdir, "content.bin"), "rb") as f:
            f.seek(index * CHUNK)
            return f.read(CHUNK)

    def refused(self, status, code, request, what):
        """request() must be refused with status/code and Retry-After, serving nothing."""
        before = self.stats()["served"]
        r = request()
        if r.status != status or r.code != code:
            raise TestFailure("%s: expected %d %s, got %r" % (what, status, code, r))
        ra = r.header("Retry-After")
        assert_true(ra is not None and ra.isdigit() and int(ra) >= 1,
                    "%s: Retry-After %r" % (what, ra))
        after = self.stats()["served"]
        assert_equal((after["total_bytes"], after["period_bytes"]),
                     (before["total_bytes"], before["period_bytes"]), msg=what)
        return int(ra)

    def check_quota_refusal(self, what):
        t0 = time.time()
        ra = self.refused(503, "quota-exhausted", lambda: self.client.chunk(self.cid, 0),
                          what + ": a chunk")
        period_end = self.stats()["served"]["period_end"]
        # Retry-After is the seconds left in the 30-day period
        assert_true(0 < ra <= PERIOD, "%s: Retry-After %d" % (what, ra))
        assert_true(abs((period_end - t0) - ra) <= 5,
                    "%s: Retry-After %d, the period ends in %d s" % (what, ra, period_end - t0))
        self.refused(503, "quota-exhausted", lambda: self.client.manifest(self.cid),
                     what + ": the manifest")

    # ------------------------------------------------------------------ parts

    def rate(self):
        self.log("-relayrate=%d: a chunk past the bucket gets 429 with Retry-After" % RATE)
        st = self.client.status()
        assert_equal((st["rate"], st["quota"], st["price"]), (RATE, 0, 0))
        # the bucket starts full with one second (16 KiB): a chunk of four times that goes
        # out, and leaves a debt of three seconds
        self.served(0)
        ra = self.refused(429, "rate-limited", lambda: self.client.chunk(self.cid, 1),
                          "a chunk right after one four times the rate")
        # the debt is 48 KiB plus the 16 KiB needed: 4 s at 16 KiB/s
        assert_true(1 <= ra <= 4, "Retry-After %d for a 4 s debt" % ra)
        self.refused(429, "rate-limited", lambda: self.client.manifest(self.cid),
                     "the manifest while in debt")
        # after Retry-After seconds the relay serves again (bounded wait, no timing claims)
        time.sleep(ra)
        wait_until(lambda: self.client.chunk(self.cid, 1).status == 200, timeout=30,
                   interval=0.5, what="served again after Retry-After")
        s = self.stats()
        assert_equal(s["ceilings"]["rate"], RATE)
        assert_equal(s["served"]["total_bytes"], 2 * CHUNK)

    def quota(self):
        used = self.stats()["served"]["period_bytes"]
        # room for exactly 3 more chunks and 100 bytes: the manifest no longer fits after them
        self.q = used + self.manifest_len + 3 * CHUNK + 100
        self.bq = self.q + 4 * CHUNK
        self.log("-relayquota=%d (3 chunks from now), -relayburstquota=%d" % (self.q, self.bq))
        self.restart(["-relayquota=%d" % self.q, "-relayburstquota=%d" % self.bq])
        s = self.stats()
        assert_equal(s["served"]["period_bytes"], used)  # survived the restart
        assert_equal(s["ceilings"]["quota"], self.q)
        assert_equal(s["ceilings"]["burst_quota"], self.bq)
        assert_equal(s["ceilings"]["quota_in_force"], self.q)
        assert_equal(s["ceilings"]["remaining"], self.q - used)
        assert_equal(s["ceilings"]["rate"], 0)
        assert_equal(s["burst"], {"active": False, "until": None})
        r = self.client.manifest(self.cid)  # manifests count towards the quota
        assert_equal((r.status, len(r.body)), (200, self.manifest_len))
        for i in range(3):
            self.served(2 + i)
        s = self.stats()
        assert_equal(s["ceilings"]["used"], self.q - 100)
        assert_equal(s["ceilings"]["remaining"], 100)
        self.check_quota_refusal("past the quota")
        st = self.client.status()  # /v1/status is not a served object: still answered
        assert_equal((st["used"], st["quota"], st["burst_active"]), (self.q - 100, self.q, False))

        self.log("the quota survives a restart")
        self.restart()  # the same options, the same datadir
        s = self.stats()
        assert_equal(s["served"]["period_bytes"], self.q - 100)
        assert_equal(s["ceilings"]["remaining"], 100)
        self.check_quota_refusal("past the quota after a restart")

    def burst(self):
        self.log("relayburst 12: the burst quota applies while the window lasts")
        assert_raises_rpc_error(-8, None, self.rpc.relayburst, 11)
        assert_raises_rpc_error(-8, None, self.rpc.relayburst, 49)
        t0 = int(time.time())
        b = self.rpc.relayburst(12)
        t1 = int(time.time())
        assert_equal(b["active"], True)
        assert_true(t0 + 12 * 3600 <= b["until"] <= t1 + 12 * 3600 + 1,
                    "burst until %r, asked at %d..%d" % (b["until"], t0, t1))
        s = self.stats()
        assert_equal(s["burst"], b)
        assert_equal(s["ceilings"]["quota_in_force"], self.bq)
        st = self.client.status()
        assert_equal((st["burst_active"], st["burst_until"]), (True, b["until"]))
        for i in range(4):
            self.served(5 + i)
        self.check_quota_refusal("past the burst quota")
        assert_equal(self.stats()["ceilings"]["used"], self.bq - 100)

        self.log("the burst window survives a restart; relayburst 0 ends it")
        self.restart()
        s = self.stats()
        assert_equal(s["burst"], b)
        assert_equal(s["ceilings"]["quota_in_force"], self.bq)
        assert_equal(s["ceilings"]["used"], self.bq - 100)
        b0 = self.rpc.relayburst(0)
        assert_equal(b0, {"active": False, "until": None})
        s = self.stats()
        assert_equal(s["ceilings"]["quota_in_force"], self.q)
        assert_equal(s["ceilings"]["remaining"], 0)
        self.check_quota_refusal("after the burst ended")
        assert_equal(self.client.status()["burst_active"], False)


if __name__ == "__main__":
    RelayCeilingsTest().main()
