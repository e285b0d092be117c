#!/usr/bin/env python3
"""p2p_propagation_test.py: gossip across several hops (doc/p2p.md "Gossip"). Four dev nodes
in a line, node0 - node1 - node2 - node3 (each of 1..3 started with -connect to the one
before, so the line is all there is). A channel is opened from dev key 1 to a relay key
(sent at node0, mined at node1: a transaction and a block travel both ways); then a transfer
sent at node0 reaches every mempool, a receipt signed by consumer and relay sent at node3
reaches every receipt pool; node4, joining node2 late (its chain given by submitblock), is
told of both, and so should node5, which joins 41 blocks behind; and the block node3 mines
with both confirms them on every node, with the same state everywhere."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_framework import objects  # noqa: E402
from test_framework.objects import DEV_SPEC, Key, dev_keys  # noqa: E402
from test_framework.p2p import (P2PTestFramework, accounts, is_connected,  # noqa: E402
                                p2p_addr, sync_blocks, wait_connected, wait_until_state)
from test_framework.util import TestFailure, assert_equal, assert_true, wait_until  # noqa: E402

ECON = DEV_SPEC["economics"]
SUBSIDY = ECON["initial_subsidy"]
RECEIPT_FEE = ECON["receipt_fee"]
MIB = 1 << 20
PRICE = 50000        # units per MiB
DEPOSIT = 10 ** 8
EARLY_BLOCKS = 40    # before the channel: a late joiner needs a while to reach it


class P2PPropagationTest(P2PTestFramework):
    num_nodes = 6

    def setup_nodes(self):
        # node i>0 connects only to node i-1: a line of three hops (node4, node5 come later)
        n = self.line = self.nodes[:4]
        n[0].start()
        for i in range(1, 4):
            self.start_p2p(n[i], connect=[n[i - 1]])
        wait_connected([(n[0], n[1]), (n[1], n[2]), (n[2], n[3])])

    def wait_all(self, pred, what, timeout=30):
        for node in self.line:
            wait_until(lambda: pred(node), timeout=timeout, interval=0.1,
                       what="%s on node%d" % (what, node.index))

    def run_test(self):
        n = self.line
        k1 = dev_keys()[0]
        relay, dest, miner1, miner3 = Key(), Key(), Key(), Key()
        addrs = [k1.address, relay.address, dest.address, miner1.address, miner3.address]

        self.log("the nodes form a line: no shortcuts")
        for a, b in ((n[0], n[2]), (n[0], n[3]), (n[1], n[3])):
            assert_true(not is_connected(a, b), "node%d and node%d should not be connected: "
                        "%r" % (a.index, b.index, a.rpc.getpeerinfo()))
        for node, count in zip(n, (1, 2, 2, 1)):
            assert_equal(node.rpc.getconnectioncount(), count,
                         msg="node%d's connections" % node.index)

        self.log("%d empty blocks from node0 reach node3" % EARLY_BLOCKS)
        h = n[0].rpc.generate(EARLY_BLOCKS, miner1.address)[-1]
        assert_equal(sync_blocks(n), h)

        self.log("channel_open sent at node0 reaches node3; node1 mines it")
        expiry = 1000
        chan_tx = objects.channel_open(k1, relay, DEPOSIT, PRICE, expiry, 0)
        chan = n[0].rpc.sendrawtransaction(chan_tx)
        self.wait_all(lambda x: chan in x.rpc.getrawmempool(), "channel_open in the mempool")
        h1 = n[1].rpc.generate(1, miner1.address)[0]
        assert_equal(sync_blocks(n), h1)
        self.wait_all(lambda x: x.rpc.getrawmempool() == [], "empty mempool after block 1")
        for x in n:
            assert_equal(x.rpc.gettransaction(chan)["blockhash"], h1)
            assert_equal(x.rpc.getchannel(chan)["deposit"], DEPOSIT)

        self.log("a transfer sent at node0 reaches every mempool")
        tx = objects.transfer(k1, dest, 123456, 1, memo=b"three hops")
        txid = n[0].rpc.sendrawtransaction(tx)
        assert_equal(txid, objects.txid_hex(tx))
        self.wait_all(lambda x: txid in x.rpc.getrawmempool(), "the transfer in the mempool")

        self.log("a receipt signed by consumer and relay, sent at node3, reaches every pool")
        amount = 2 * MIB * PRICE // MIB
        rc = objects.receipt(chan, 1, 2 * MIB, amount, objects.ZERO32, k1, relay)
        rid = n[3].rpc.sendrawreceipt(rc)
        assert_equal(rid, objects.receipt_id_hex(rc))
        self.wait_all(lambda x: x.rpc.getmempoolinfo()["receipts"] == 1,
                      "the receipt in the receipt pool")

        self.late_joiners(n, h1, txid)
        n = self.line = self.nodes

        self.log("node3 mines a block with both; it reaches node0 and confirms them everywhere")
        h2 = n[3].rpc.generate(1, miner3.address)[0]
        blk = n[3].rpc.getblock(h2)
        assert_equal(blk["tx"], [txid])
        assert_equal(blk["receipts"], [rid])
        assert_equal(sync_blocks(n), h2)
        self.wait_all(lambda x: x.rpc.getrawmempool() == [] and
                      x.rpc.getmempoolinfo()["receipts"] == 0, "empty pools after block 2")
        expected = accounts(n[3], addrs)
        assert_equal(expected[dest.address]["balance"], 123456)
        assert_equal(expected[relay.address]["balance"], amount - RECEIPT_FEE)
        assert_equal(expected[miner3.address]["balance"], SUBSIDY + 1000 + RECEIPT_FEE)
        assert_equal(expected[miner1.address]["balance"], (EARLY_BLOCKS + 1) * SUBSIDY + 1000)
        for x in n:
            assert_equal(x.rpc.getblockcount(), EARLY_BLOCKS + 2)
            assert_equal(x.rpc.gettransaction(txid)["blockhash"], h2)
            assert_equal(x.rpc.getblock(h2)["receipts"], [rid])
            assert_equal(x.rpc.getchannel(chan)["claimed"], amount)
            assert_equal(accounts(x, addrs), expected, msg="state of node%d" % x.index)

        self.log("a block mined at each end travels the whole line")
        for src in (n[0], n[3], n[2]):
            h = src.rpc.generate(1, miner1.address)[0]
            assert_equal(sync_blocks(n, what="block from node%d everywhere" % src.index), h)
        for x in n:
            info = x.rpc.getblockchaininfo()
            assert_equal(info["blocks"], EARLY_BLOCKS + 5)
            assert_equal(info["headers"], EARLY_BLOCKS + 5)
            assert_equal(info["initialblockdownload"], False)


    def late_joiners(self, n, h1, txid):
        """doc/p2p.md: "A peer that completes the handshake is announced everything in our
        mempool and receipt pool". The pooled transfer (nonce 1) and receipt both depend on
        block h1 (the channel_open, nonce 0)."""
        self.log("node4 joins node2 late, with the chain already (submitblock): it is told "
                 "of what the pools hold")
        late = self.nodes[4]
        late.start()  # knows no address: connects nowhere
        for i in range(1, n[0].rpc.getblockcount() + 1):
            assert_equal(late.rpc.submitblock(n[0].rpc.getblock(n[0].rpc.getblockhash(i), 0)),
                         None)
        assert_equal(late.rpc.getbestblockhash(), h1)
        late.rpc.addnode(p2p_addr(n[2]), "onetry")
        wait_connected([(late, n[2])])
        wait_until_state(lambda: txid in late.rpc.getrawmempool() and
                         late.rpc.getmempoolinfo()["receipts"] == 1,
                         lambda: repr(late.rpc.getmempoolinfo()), timeout=30, interval=0.1,
                         what="node4 gets the pooled transfer and receipt")

        self.log("node5 joins node2 late and %d blocks behind: after its sync it should hold "
                 "them too" % (EARLY_BLOCKS + 1))
        # node2 announces its pools at the handshake; node5 asks for them at once, before its
        # headers-first download (16 blocks per peer every 100 ms) has reached h1, refuses
        # them for lack of the channel and of nonce 0 (not scored), and both sides then count
        # them as known: node5 never gets them until they are mined
        behind = self.nodes[5]
        self.start_p2p(behind, connect=[n[2]], extra_args=["-debug=mempool"])
        wait_until_state(lambda: behind.rpc.getbestblockhash() == h1,
                         lambda: repr(behind.rpc.getblockchaininfo()), timeout=30,
                         what="node5 synced")
        try:
            wait_until(lambda: txid in behind.rpc.getrawmempool() and
                       behind.rpc.getmempoolinfo()["receipts"] == 1, timeout=10,
                       interval=0.2)
            got = True
        except TestFailure:
            got = False
        self.contract(got, True, "a node that joins %d blocks behind holds the pooled "
                      "transfer and receipt once it has synced (node5's pools: %r; node5 "
                      "refused them while still syncing, see its debug.log)" % (
                          EARLY_BLOCKS + 1, behind.rpc.getmempoolinfo()))


if __name__ == "__main__":
    P2PPropagationTest().main()
