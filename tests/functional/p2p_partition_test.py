#!/usr/bin/env python3
"""p2p_partition_test.py: a network split in two halves that each extend the chain, then heal.

(a) PoW dev chain, four nodes: A-B and C-D (B and D started with -connect to A and C; A and C
    know nobody else). A common prefix first (A's blocks handed to C by submitblock), then
    each half mines its own branch (20 and 25 blocks: longer than a locator's 10 single
    steps) with its own transfer; half 2 has more blocks, so more work (every dev block has
    the same work). Healed with `addnode onetry` from A to C: all four end on half 2's tip
    with identical accounts; half 1's transfer is back in A's and B's mempools, is announced
    again so that it reaches C's and D's, and is confirmed everywhere by the next block.
(b) PoA with a chainspec of our own (3 authorities, slot_seconds 1, finality_depth 100):
    P1 and P2 (authorities 1 and 2) form half 1, P3 (authority 3) is half 2. All three
    connected first (a common prefix; P2 -connect=P1, P3 -addnode=P1), then P3 cuts itself
    off: `addnode remove` and `setban 127.0.0.1`, which also refuses P1's attempts to dial
    P3 (P1 learnt its address). Half 1 owns 2 of every 3 slots, so its branch grows faster.
    Healed (clearbanned, addnode onetry): all converge on half 1's branch, P3's blocks of the
    split end up off the active chain, and production goes on with one state everywhere."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_framework import objects  # noqa: E402
from test_framework.objects import DEV_SPEC, Key, dev_keys  # noqa: E402
from test_framework.p2p import (P2PTestFramework, accounts, is_connected,  # noqa: E402
                                p2p_addr, peers_of, sync_blocks, wait_connected,
                                wait_disconnected, wait_until_state, write_poa_chainspec)
from test_framework.util import assert_equal, assert_in, assert_true, wait_until  # noqa: E402

SUBSIDY = DEV_SPEC["economics"]["initial_subsidy"]
PREFIX = 3   # blocks both halves share
HALF1 = 20   # blocks each half mines alone
HALF2 = 25


class P2PPartitionTest(P2PTestFramework):
    num_nodes = 0  # nodes are added by the two parts

    def setup_nodes(self):
        pass

    def run_test(self):
        self.pow_partition()
        self.poa_partition()

    # ------------------------------------------------------------------ (a) PoW

    def pow_partition(self):
        self.log("(a) PoW: halves A-B and C-D")
        a = self.add_node()
        b = self.add_node()
        c = self.add_node()
        d = self.add_node()
        a.start()
        c.start()
        self.start_p2p(b, connect=[a])
        self.start_p2p(d, connect=[c])
        wait_connected([(a, b), (c, d)])
        keys = dev_keys()
        m1, m2, dest1, dest2 = Key(), Key(), Key(), Key()
        addrs = [k.address for k in keys] + [m1.address, m2.address, dest1.address,
                                             dest2.address]

        self.log("a common prefix of %d blocks, handed from A to C by submitblock" % PREFIX)
        prefix = a.rpc.generate(PREFIX, m1.address)
        for h in prefix:
            assert_equal(c.rpc.submitblock(a.rpc.getblock(h, 0)), None)
        sync_blocks([a, b], what="prefix on half 1")
        sync_blocks([c, d], what="prefix on half 2")
        assert_equal(a.rpc.getbestblockhash(), c.rpc.getbestblockhash())
        for x, y in ((a, c), (a, d), (b, c), (b, d)):
            assert_true(not is_connected(x, y), "node%d and node%d are connected across the "
                        "partition" % (x.index, y.index))

        self.log("each half mines its own branch with its own transfer; half 2's is longer")
        # branches longer than the 10 single steps of a block locator, so that the locator's
        # doubling steps are what finds the fork
        tx1 = objects.transfer(keys[0], dest1, 111111, 0, memo=b"half 1")
        tx2 = objects.transfer(keys[1], dest2, 222222, 0, memo=b"half 2")
        txid1 = b.rpc.sendrawtransaction(tx1)
        txid2 = d.rpc.sendrawtransaction(tx2)
        wait_until(lambda: txid1 in a.rpc.getrawmempool(), what="tx1 gossiped to A")
        wait_until(lambda: txid2 in c.rpc.getrawmempool(), what="tx2 gossiped to C")
        # within a half, a node mines on the other's blocks once they have arrived
        half1 = a.rpc.generate(HALF1 // 2, m1.address)
        wait_until(lambda: b.rpc.getbestblockhash() == half1[-1], what="A's blocks at B")
        half1 += b.rpc.generate(HALF1 - HALF1 // 2, m1.address)
        half2 = c.rpc.generate(HALF2 // 2, m2.address)
        wait_until(lambda: d.rpc.getbestblockhash() == half2[-1], what="C's blocks at D")
        half2 += d.rpc.generate(HALF2 - HALF2 // 2, m2.address)
        tip1 = sync_blocks([a, b], what="half 1 on one tip")
        tip2 = sync_blocks([c, d], what="half 2 on one tip")
        assert_equal((tip1, tip2), (half1[-1], half2[-1]))
        assert_equal(a.rpc.getblockcount(), PREFIX + HALF1)
        assert_equal(c.rpc.getblockcount(), PREFIX + HALF2)
        assert_equal(a.rpc.gettransaction(txid1)["blockhash"], half1[0])
        assert_equal(c.rpc.gettransaction(txid2)["blockhash"], half2[0])
        assert_true(txid2 not in a.rpc.getrawmempool(), "tx2 leaked into half 1")
        assert_true(txid1 not in c.rpc.getrawmempool(), "tx1 leaked into half 2")
        work2 = c.rpc.getblockchaininfo()["chainwork"]
        assert_true(int(work2, 16) > int(a.rpc.getblockchaininfo()["chainwork"], 16),
                    "half 2 should have more work")

        self.log("heal: A connects to C once; all four end on half 2's chain")
        a.rpc.addnode(p2p_addr(c), "onetry")
        wait_connected([(a, c)])
        assert_equal(sync_blocks([a, b, c, d], what="all four on one tip"), tip2)
        for x in (a, b, c, d):
            info = x.rpc.getblockchaininfo()
            assert_equal((info["blocks"], info["headers"], info["chainwork"]),
                         (PREFIX + HALF2, PREFIX + HALF2, work2), msg="node%d's chain" % x.index)
            for i, h in enumerate(prefix + half2, start=1):
                assert_equal(x.rpc.getblockhash(i), h)
        for x in (a, b):
            tips = x.rpc.getchaintips()
            assert_in({"height": PREFIX + HALF1, "hash": tip1, "branchlen": HALF1,
                       "status": "valid-fork"}, tips,
                      msg="node%d's chain tips %r" % (x.index, tips))
            assert_equal(x.rpc.getblock(tip1)["confirmations"], -1)

        self.log("half 1's transfer is back in half 1's mempools; state is identical")
        for x in (a, b):
            wait_until_state(lambda: txid1 in x.rpc.getrawmempool(),
                             lambda: "mempool %r" % x.rpc.getrawmempool(), timeout=30,
                             what="tx1 back in node%d's mempool" % x.index)
        # doc/p2p.md: "transactions and receipts a reorganisation puts back into the pools are
        # announced again". Half 2, where the mining goes on, never saw tx1: without that it
        # would stay stuck in the losing half (and a second sendrawtransaction of it at A is
        # refused as txn-already-in-mempool, announcing nothing).
        for x in (c, d):
            wait_until_state(lambda: txid1 in x.rpc.getrawmempool(),
                             lambda: "mempool %r" % x.rpc.getrawmempool(), timeout=15,
                             what="tx1, put back into half 1's pools by the reorganisation, "
                             "gossiped to node%d in half 2" % x.index)
        ref = accounts(c, addrs)
        assert_equal(ref[dest1.address]["balance"], 0)
        assert_equal(ref[dest2.address]["balance"], 222222)
        assert_equal(ref[m1.address]["balance"], PREFIX * SUBSIDY)
        assert_equal(ref[m2.address]["balance"], HALF2 * SUBSIDY + 1000)
        for x in (a, b, d):
            assert_equal(accounts(x, addrs), ref, msg="accounts of node%d" % x.index)

        self.log("the next block, mined by A, confirms it on every node")
        h = a.rpc.generate(1, m1.address)[0]
        assert_equal(a.rpc.getblock(h)["tx"], [txid1])
        assert_equal(sync_blocks([a, b, c, d]), h)
        ref = accounts(a, addrs)
        assert_equal(ref[dest1.address]["balance"], 111111)
        for x in (a, b, c, d):
            assert_equal(x.rpc.gettransaction(txid1)["blockhash"], h)
            assert_equal(x.rpc.gettransaction(txid2)["blockhash"], half2[0])
            wait_until(lambda: x.rpc.getrawmempool() == [], what="node%d's mempool empty" %
                       x.index)
            assert_equal(accounts(x, addrs), ref, msg="accounts of node%d" % x.index)
        for x in (a, b, c, d):
            x.stop()

    # ------------------------------------------------------------------ (b) PoA

    def poa_partition(self):
        self.log("(b) PoA: 3 authorities; half 1 = P1, P2; half 2 = P3")
        path = os.path.join(self.tmpdir, "p2ppoa.json")
        spec, keys = write_poa_chainspec(path, name="p2ppoa", slot_seconds=1,
                                         finality_depth=100)
        hrp = spec["hrp"]
        nodes = []
        for k in keys:
            nodes.append(self.add_node(
                ["-producerkey=" + k.secret.hex()], chain=spec["name"], chainspec=path))
        p1, p2, p3 = nodes
        # P2 dials P1 only; P3 dials P1 through -addnode (so that it can forget it)
        p1.start()
        self.start_p2p(p2, connect=[p1])
        self.start_p2p(p3, addnode=[p1])
        chain_id = objects.chain_id_of(spec).hex()
        assert_equal(p1.rpc.getblockchaininfo()["chain_id"], chain_id)
        wait_connected([(p1, p2), (p3, p1)])

        self.log("a common prefix: every authority produces in its slots")
        wait_until(lambda: len({self.producer_of(p1, h) for h in
                                range(1, p1.rpc.getblockcount() + 1)}) == 3,
                   timeout=30, interval=0.2, what="blocks of all three authorities")
        sync_blocks(nodes, timeout=20, what="the common prefix on all three")

        self.log("partition: P3 forgets P1 and bans 127.0.0.1")
        p3.rpc.addnode(p2p_addr(p1), "remove")
        p3.rpc.setban("127.0.0.1", "add", 3600)
        wait_disconnected(p3, p1)
        wait_disconnected(p3, p2)
        s0 = min(p1.rpc.getblockcount(), p3.rpc.getblockcount())

        self.log("both halves grow on their own")
        # half 1 gets 2 slots of 3, half 2 one
        wait_until_state(lambda: p3.rpc.getblockcount() >= s0 + 2 and
                         p1.rpc.getblockcount() >= s0 + 5,
                         lambda: "P1 at %d, P3 at %d, split near %d" % (
                             p1.rpc.getblockcount(), p3.rpc.getblockcount(), s0),
                         timeout=30, interval=0.2, what="both halves past the split")
        assert_equal(p3.rpc.getconnectioncount(), 0)
        assert_true(not peers_of(p1, p3) and not peers_of(p2, p3), "P3 still connected")
        # the split: the highest height where both halves have the same block
        split = s0
        while p1.rpc.getblockhash(split) != p3.rpc.getblockhash(split):
            split -= 1
        self.log("split at height %d; P1 at %d, P3 at %d" % (
            split, p1.rpc.getblockcount(), p3.rpc.getblockcount()))
        # P3's branch is made only of its own blocks; half 1's only of P1's and P2's
        h3 = p3.rpc.getblockcount()
        own3 = [p3.rpc.getblockhash(h) for h in range(split + 1, h3 + 1)]
        assert_true(len(own3) >= 2, "P3 made %d blocks alone" % len(own3))
        for h in own3:
            assert_equal(p3.rpc.getblock(h)["producer"], keys[2].address)
        half1_branch = [p1.rpc.getblockhash(h) for h in range(split + 1, split + 5)]
        for h in half1_branch:
            assert_in(p1.rpc.getblock(h)["producer"], (keys[0].address, keys[1].address))
        assert_true(p1.rpc.getblockcount() > p3.rpc.getblockcount(),
                    "half 1 should have the longer branch")

        self.log("heal: P3 lifts the ban and connects to P1 once")
        p3.rpc.clearbanned()
        assert_equal(p3.rpc.listbanned(), [])
        p3.rpc.addnode(p2p_addr(p1), "onetry")
        wait_connected([(p3, p1)])

        def converged():
            tips = [x.rpc.getbestblockhash() for x in nodes]
            return len(set(tips)) == 1 and \
                p3.rpc.getblockhash(split + 1) == half1_branch[0]
        wait_until_state(converged, lambda: "heights %r, tips %r" % (
            [x.rpc.getblockcount() for x in nodes], [x.rpc.getbestblockhash() for x in nodes]),
            timeout=30, interval=0.2, what="all three on half 1's branch")
        for x in nodes:
            for i, h in enumerate(half1_branch, start=split + 1):
                assert_equal(x.rpc.getblockhash(i), h, msg="node%d at height %d" % (x.index, i))
        for h in own3:
            assert_equal(p3.rpc.getblock(h)["confirmations"], -1,
                         msg="P3's block %s of the split should be off the chain" % h)
        tips = p3.rpc.getchaintips()
        assert_true(any(t["status"] == "valid-fork" and t["height"] - t["branchlen"] == split
                        for t in tips), "P3's branch of the split is not a fork tip: %r" % tips)

        self.log("the chain goes on with all three authorities")
        height = p1.rpc.getblockcount()
        wait_until(lambda: min(x.rpc.getblockcount() for x in nodes) >= height + 3, timeout=30,
                   interval=0.2, what="three more blocks everywhere")
        tip = sync_blocks(nodes, timeout=20)
        h = p1.rpc.getblock(tip)["height"]
        addrs = [objects.address_of(k, hrp) for k in keys]
        # between two polls a new block may come: compare the state at one tip
        wait_until(lambda: len({str(accounts(x, addrs)) for x in nodes}) == 1, timeout=20,
                   interval=0.2, what="one state on all three")
        self.log("PoA converged at height %d" % h)

    def producer_of(self, node, height):
        return node.rpc.getblock(node.rpc.getblockhash(height))["producer"]


if __name__ == "__main__":
    P2PPartitionTest().main()
