#!/usr/bin/env python3
"""p2p_sync_test.py: headers-first sync and block download (doc/p2p.md). node0 alone builds
a chain of 2006 blocks: a channel, 1000 blocks each settling one receipt of it (seq 1..1000),
then 1005 empty ones, so that the headers take two `headers` messages (at most 2000 each).
node1 starts late with -connect to node0 and downloads all of it; then node2, connected to
both, downloads it from the two in parallel (each serves a real share). Every node ends
with the same best block, the same accounts for the consumer, the relay and the producer,
headers == blocks and initialblockdownload false."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_framework import objects  # noqa: E402
from test_framework.objects import DEV_SPEC, Key, dev_keys  # noqa: E402
from test_framework.p2p import (P2PTestFramework, accounts, peers_of,  # noqa: E402
                                wait_connected, wait_until_state)
from test_framework.util import assert_equal, assert_true, wait_until  # noqa: E402

ECON = DEV_SPEC["economics"]
SUBSIDY = ECON["initial_subsidy"]
RECEIPT_FEE = ECON["receipt_fee"]
MIB = 1 << 20
N_RECEIPTS = 1000
N_EMPTY = 1005
PRICE = 2 * RECEIPT_FEE   # units per MiB: each receipt pays the relay 1 MiB's worth
DEPOSIT = 10 ** 9


class P2PSyncTest(P2PTestFramework):
    num_nodes = 3

    def setup_nodes(self):
        self.nodes[0].start()  # the others start later

    def run_test(self):
        n0, n1, n2 = self.nodes
        consumer = dev_keys()[0]
        relay, producer = Key(), Key()
        addrs = [consumer.address, relay.address, producer.address]

        self.log("node0: a channel, then %d blocks of one receipt each" % N_RECEIPTS)
        chan_tx = objects.channel_open(consumer, relay, DEPOSIT, PRICE, 5000, 0)
        chan = n0.rpc.sendrawtransaction(chan_tx)
        n0.rpc.generate(1, producer.address)
        assert_equal(n0.rpc.getchannel(chan)["deposit"], DEPOSIT)
        t0 = time.monotonic()
        for seq in range(1, N_RECEIPTS + 1):
            rc = objects.receipt(chan, seq, seq * MIB, seq * PRICE, objects.ZERO32, consumer,
                                 relay)
            n0.rpc.sendrawreceipt(rc)
            n0.rpc.generate(1, producer.address)
        # empty blocks on top, so that the chain is longer than one headers message (2000)
        n0.rpc.generate(N_EMPTY, producer.address)
        height = n0.rpc.getblockcount()
        assert_equal(height, 1 + N_RECEIPTS + N_EMPTY)
        self.log("built %d blocks in %.1fs" % (height, time.monotonic() - t0))
        tip = n0.rpc.getbestblockhash()
        ch = n0.rpc.getchannel(chan)
        assert_equal((ch["seq"], ch["claimed"], ch["bytes"]),
                     (N_RECEIPTS, N_RECEIPTS * PRICE, N_RECEIPTS * MIB))
        expected = accounts(n0, addrs)
        assert_equal(expected[relay.address]["balance"], N_RECEIPTS * (PRICE - RECEIPT_FEE))
        assert_equal(expected[relay.address]["bytes_served"], N_RECEIPTS * MIB)
        assert_equal(expected[consumer.address]["bytes_consumed"], N_RECEIPTS * MIB)
        assert_equal(expected[producer.address]["balance"],
                     height * SUBSIDY + 1000 + N_RECEIPTS * RECEIPT_FEE)

        self.log("node1 starts late with -connect=node0 and syncs")
        self.start_p2p(n1, connect=[n0])
        wait_connected([(n0, n1)])
        self.wait_synced(n1, tip, height)
        self.check_state(n1, chan, addrs, expected, tip, height)

        self.log("node2, connected to both, downloads from both")
        self.start_p2p(n2, connect=[n0, n1])
        wait_connected([(n2, n0), (n2, n1)])
        self.wait_synced(n2, tip, height)
        self.check_state(n2, chan, addrs, expected, tip, height)
        got = {}
        for src in (n0, n1):
            peers = peers_of(n2, src)
            assert_equal(len(peers), 1, msg="node2's connections to node%d: %r" % (
                src.index, peers))
            got[src.index] = peers[0]["bytesrecv"]
        self.log("node2 received %d bytes from node0, %d from node1" % (got[0], got[1]))
        chain_bytes = sum(n0.rpc.getblock(n0.rpc.getblockhash(h))["size"]
                          for h in range(1, height + 1, 100)) * 100
        # both peers served a real share of the blocks (requests go 16 at a time to every
        # peer whose headers are on the branch; a fifth each is far below an even split)
        for i in (0, 1):
            assert_true(got[i] > chain_bytes // 5,
                        "node2 downloaded only %d bytes from node%d of a chain of about %d "
                        "bytes: no parallel download" % (got[i], i, chain_bytes))

        self.log("a new block reaches both late nodes")
        h = n0.rpc.generate(1, producer.address)[0]
        for x in (n1, n2):
            wait_until(lambda: x.rpc.getbestblockhash() == h, timeout=30, interval=0.1,
                       what="node%d gets the new block" % x.index)

    def wait_synced(self, node, tip, height, timeout=120):
        seen = {"max_gap": 0}

        def done():
            info = node.rpc.getblockchaininfo()
            seen["max_gap"] = max(seen["max_gap"], info["headers"] - info["blocks"])
            return info["bestblockhash"] == tip
        wait_until_state(done, lambda: repr(node.rpc.getblockchaininfo()), timeout=timeout,
                         interval=0.2, what="node%d synced to height %d" % (node.index, height))
        self.log("node%d synced (headers ran up to %d blocks ahead of blocks)" % (
            node.index, seen["max_gap"]))

    def check_state(self, node, chan, addrs, expected, tip, height):
        info = node.rpc.getblockchaininfo()
        assert_equal(info["bestblockhash"], tip)
        assert_equal(info["blocks"], height)
        assert_equal(info["headers"], height, msg="headers == blocks at the end")
        assert_equal(info["initialblockdownload"], False)
        assert_equal(info["verificationprogress"], 1.0)
        assert_equal(accounts(node, addrs), expected, msg="accounts on node%d" % node.index)
        assert_equal(node.rpc.getchannel(chan)["seq"], N_RECEIPTS)
        for h in (1, 2, N_RECEIPTS, 2000, 2001, height):
            assert_equal(node.rpc.getblockhash(h), self.nodes[0].rpc.getblockhash(h))


if __name__ == "__main__":
    P2PSyncTest().main()
