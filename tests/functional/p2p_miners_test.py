#!/usr/bin/env python3
"""p2p_miners_test.py: two nodes mining against each other (-mine -mineinterval=200) while
connected, so their blocks race; for a moment node0 bans 127.0.0.1 (a network hiccup), so
each mines its own branch for sure; then they reconnect and one branch wins. Mining stops on
both (each restarted without -mine, node1 first so that node0's chain ends strictly ahead and
no tie of equal work can remain). They converge on one best block with the same height and
the same state (every block paid its producer), and getchaintips shows the forks that were
resolved, off the active chain.

The dev chain is used: a no_retarget PoW chain with a trivial target (about every second
hash is a block). The test chain's retargeting target (0x1d00ffff, the easiest that PROTOCOL.md
§6 allows with retargeting) needs about 2^32 hashes a block, far beyond a CI machine."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_framework.objects import DEV_SPEC, Key  # noqa: E402
from test_framework.p2p import (P2PTestFramework, is_connected,  # noqa: E402
                                peers_of, sync_blocks, wait_connected, wait_disconnected,
                                wait_until_state)
from test_framework.util import assert_equal, assert_in, assert_true  # noqa: E402

SUBSIDY = DEV_SPEC["economics"]["initial_subsidy"]
MINE_INTERVAL_MS = 200


class P2PMinersTest(P2PTestFramework):
    num_nodes = 2

    def setup_nodes(self):
        n0, n1 = self.nodes
        self.miners = [Key(), Key()]
        n0.start(extra_args=self.mine_args(self.miners[0]))
        self.start_p2p(n1, connect=[n0], extra_args=self.mine_args(self.miners[1]))
        wait_connected([(n0, n1)])

    def mine_args(self, key):
        return ["-mine", "-mineraddress=" + key.address,
                "-mineinterval=%d" % MINE_INTERVAL_MS]

    def heights(self):
        return [n.rpc.getblockcount() for n in self.nodes]

    def run_test(self):
        n0, n1 = self.nodes
        addrs = [k.address for k in self.miners]

        self.log("both mine while connected")
        wait_until_state(lambda: min(self.heights()) >= 15, lambda: "heights %r" % (
                         self.heights(),), timeout=60, interval=0.2, what="both at height 15")

        self.log("a hiccup: node0 bans 127.0.0.1 for a moment; each mines alone")
        # (this also proves that both miners work: each branch is its own miner's blocks)
        n0.rpc.setban("127.0.0.1", "add", 600)
        wait_disconnected(n0, n1)
        start = self.heights()
        wait_until_state(lambda: all(h >= s + 4 for h, s in zip(self.heights(), start)),
                         lambda: "heights %r since %r" % (self.heights(), start),
                         timeout=60, interval=0.2, what="both grow alone")
        split_tips = [n.rpc.getbestblockhash() for n in self.nodes]
        assert_true(split_tips[0] != split_tips[1], "the halves did not diverge: %r" % split_tips)
        for n, t, k in zip(self.nodes, split_tips, self.miners):
            assert_equal(n.rpc.getblock(t)["producer"], k.address,
                         msg="node%d's tip during the hiccup is its own miner's" % n.index)
        assert_true(not is_connected(n0, n1), "still connected during the ban")

        self.log("reconnect: one branch wins while both go on mining")
        n0.rpc.clearbanned()
        wait_connected([(n0, n1)])
        h = max(self.heights())
        wait_until_state(lambda: min(self.heights()) >= h + 5,
                         lambda: "heights %r" % self.heights(), timeout=60, interval=0.2,
                         what="mining goes on after the reconnection")

        self.log("stop mining: node1 restarts without -mine, node0 mines on a little")
        n1.stop()
        n1.start()
        wait_connected([(n0, n1)])
        h = n0.rpc.getblockcount()
        wait_until_state(lambda: n0.rpc.getblockcount() >= h + 3 and
                         n1.rpc.getbestblockhash() == n0.rpc.getbestblockhash(),
                         lambda: "node0 at %d %s, node1 at %d %s" % (
                             n0.rpc.getblockcount(), n0.rpc.getbestblockhash(),
                             n1.rpc.getblockcount(), n1.rpc.getbestblockhash()),
                         timeout=60, interval=0.1, what="node1 follows node0 without mining")
        self.log("node0 restarts without -mine")
        n0.stop()
        n0.start()
        wait_connected([(n0, n1)])
        tip = sync_blocks(self.nodes, timeout=30, what="one best block after mining stopped")
        assert_equal(peers_of(n0, n1)[0]["synced_headers"] if peers_of(n0, n1) else None,
                     n0.rpc.getblockcount(), msg="node0's view of node1's best header")

        self.log("same height and state; the resolved forks are in getchaintips")
        infos = [n.rpc.getblockchaininfo() for n in self.nodes]
        height = infos[0]["blocks"]
        for info in infos:
            assert_equal((info["bestblockhash"], info["blocks"], info["headers"],
                          info["initialblockdownload"]), (tip, height, height, False))
        states = [[n.rpc.getaccount(a) for a in addrs] for n in self.nodes]
        assert_equal(states[0], states[1], msg="the miners' accounts on the two nodes")
        balances = [s["balance"] for s in states[0]]
        assert_equal(sum(balances), height * SUBSIDY, msg="every block paid its producer once")
        # (which miner's blocks end up on the chain is the race's business: not checked)
        self.log("final chain: %d blocks, %r of them by node0's miner, %r by node1's" % (
            height, balances[0] // SUBSIDY, balances[1] // SUBSIDY))
        for i in range(1, height + 1, max(1, height // 20)):
            assert_equal(n0.rpc.getblockhash(i), n1.rpc.getblockhash(i))
        forks = 0
        for n in self.nodes:
            tips = n.rpc.getchaintips()
            active = [t for t in tips if t["status"] == "active"]
            assert_equal(active, [{"height": height, "hash": tip, "branchlen": 0,
                                   "status": "active"}], msg="node%d's active tip" % n.index)
            for t in tips:
                if t["status"] == "active":
                    continue
                forks += 1
                assert_in(t["status"], ("valid-fork", "valid-headers"),
                          msg="node%d's tip %r" % (n.index, t))
                assert_true(t["branchlen"] >= 1, "fork tip with branchlen 0: %r" % t)
                fork_height = t["height"] - t["branchlen"]
                # the fork point is on the active chain of both nodes; the tip is not
                assert_equal(n0.rpc.getblockhash(fork_height), n1.rpc.getblockhash(fork_height))
                assert_true(n.rpc.getblockhash(t["height"]) != t["hash"] if
                            t["height"] <= height else True,
                            "fork tip %r is on the active chain" % t)
                hdr = n.rpc.getblockheader(t["hash"])
                assert_equal(hdr["height"], t["height"])
            self.log("node%d: %d chain tips: %r" % (
                n.index, len(tips), sorted((t["height"], t["branchlen"], t["status"])
                                           for t in tips)))
        # the branch of the hiccup lost on one side: its tip is a resolved fork there
        loser_tips = [t for n, t in zip(self.nodes, split_tips)
                      if n.rpc.getblockhash(n.rpc.getblockheader(t)["height"]) != t]
        assert_true(loser_tips, "neither branch of the hiccup lost?")
        assert_true(forks >= 1, "no fork in getchaintips on either node")


if __name__ == "__main__":
    P2PMinersTest().main()
