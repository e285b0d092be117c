#!/usr/bin/env python3
"""p2p_stall_test.py: a peer that announces a chain and never delivers its blocks (doc/p2p.md:
"A peer that does not deliver a requested block in 30 s is disconnected and the block is
asked elsewhere").

node0 has 300 blocks. node1 starts with -connect to a raw peer (test_framework/p2p.py, which
listens) that offers node0's headers, so node1 asks it for the first blocks; the raw peer
never answers getdata. Then node1 also connects to node0 (addnode onetry), which serves the
rest, but node1's tip cannot pass the stalled blocks: headers 300, blocks 0,
initialblockdownload true. After the download timeout node1 drops the raw peer (no ban: a
slow peer is not a misbehaving one), asks node0 for those blocks and completes the sync.

Then a raw peer gives node1 one valid header on its tip and leaves without the block; node0
mines a block at that height, which node1 must still fetch and follow.

About 40 s, most of it the node's 30 s timeout (a protocol constant, not a performance
threshold; every wait here is bounded well above it)."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_framework import cbor, objects, p2p  # noqa: E402
from test_framework.objects import Key  # noqa: E402
from test_framework.p2p import (P2PListener, P2PPeer, P2PTestFramework, PeerClosed,  # noqa: E402
                                is_connected, p2p_addr, wait_until_state)
from test_framework.util import TestFailure, assert_equal, assert_true, wait_until  # noqa: E402

HEIGHT = 300
BLOCK_TIMEOUT = 30  # BWC_NET_BLOCK_TIMEOUT_SECONDS
IN_FLIGHT = 16      # BWC_NET_BLOCKS_IN_FLIGHT


class P2PStallTest(P2PTestFramework):
    num_nodes = 2

    def setup_nodes(self):
        self.nodes[0].start()

    def run_test(self):
        n0, n1 = self.nodes
        n0.rpc.generate(HEIGHT, Key().address)
        tip = n0.rpc.getbestblockhash()
        chain_id = bytes.fromhex(n0.rpc.getblockchaininfo()["chain_id"])
        headers = [bytes.fromhex(n0.rpc.getblockheader(n0.rpc.getblockhash(h), False))
                   for h in range(1, HEIGHT + 1)]

        self.log("node1 connects to a raw peer that offers node0's chain")
        listener = P2PListener("127.0.0.1")
        try:
            n1.extra_args.append("-connect=127.0.0.1:%d" % listener.port)
            n1.start()
            peer = listener.accept(timeout=20, chain_id=chain_id)
            peer.accept_handshake(chain_id=chain_id, height=HEIGHT, best=bytes.fromhex(tip))
            asked = []

            def serve(until, timeout, what):
                """Answers node1 (headers for getheaders, nothing for getdata) until until()
                holds; returns 'closed' when node1 closes the connection first."""
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    try:
                        m = peer.recv(0.2)
                    except TimeoutError:
                        m = None
                    except PeerClosed:
                        return "closed"
                    if m and m[0] == p2p.GETHEADERS:
                        peer.send(p2p.HEADERS, headers)
                    elif m and m[0] == p2p.GETDATA:
                        asked.extend(i[1].hex() for i in m[1])
                    if until():
                        return "done"
                raise TestFailure("timed out after %ss: %s (node1: %r)" % (
                    timeout, what, n1.rpc.getblockchaininfo()))

            serve(lambda: len(asked) >= IN_FLIGHT, 20, "node1 asks the raw peer for blocks")
            assert_equal(asked[:IN_FLIGHT], [n0.rpc.getblockhash(h) for h in
                                             range(1, IN_FLIGHT + 1)],
                         msg="the lowest blocks first")
            t_asked = time.monotonic()

            self.log("node1 also connects to node0; its tip stays at the stalled blocks")
            n1.rpc.addnode(p2p_addr(n0), "onetry")

            def waiting_for_the_rest():
                info = n1.rpc.getblockchaininfo()
                return is_connected(n0, n1) and info["headers"] == HEIGHT and \
                    info["blocks"] == 0
            serve(waiting_for_the_rest, 20, "node1 connected to node0 and waiting")
            # node0 serves everything else meanwhile; node1 keeps the stalled blocks on the
            # raw peer until the timeout (each block is asked from one peer at a time)
            serve(lambda: time.monotonic() - t_asked > BLOCK_TIMEOUT / 2, 30,
                  "half the block timeout passes")
            info = n1.rpc.getblockchaininfo()
            assert_equal((info["headers"], info["blocks"], info["initialblockdownload"]),
                         (HEIGHT, 0, True), msg="node1 while the first blocks are stalled")

            self.log("after the timeout node1 drops the raw peer and gets the blocks from node0")
            res = serve(lambda: False, BLOCK_TIMEOUT + 30, "node1 drops the stalling peer")
            assert_equal(res, "closed")
            waited = time.monotonic() - t_asked
            assert_true(waited >= BLOCK_TIMEOUT - 1,
                        "the stalling peer was dropped after %.1fs, before the %ds timeout" % (
                            waited, BLOCK_TIMEOUT))
            peer.close()
        finally:
            listener.close()
        wait_until_state(lambda: n1.rpc.getbestblockhash() == tip,
                         lambda: repr(n1.rpc.getblockchaininfo()), timeout=30, interval=0.2,
                         what="node1 synced from node0 after the stall")
        info = n1.rpc.getblockchaininfo()
        assert_equal((info["blocks"], info["headers"], info["initialblockdownload"]),
                     (HEIGHT, HEIGHT, False))
        assert_equal(n1.rpc.listbanned(), [], msg="a slow peer is not banned")
        log = self.log_tail(n1, "block download timed out", 5)
        assert_true("block download timed out" in log,
                    "node1's debug.log does not say why it dropped the raw peer")
        assert_true(is_connected(n0, n1), "node1 lost node0")
        self.withheld_header()

    def withheld_header(self):
        n0, n1 = self.nodes
        self.log("a header whose block never comes must not stop node1 following node0")
        # A raw peer sends node1 one valid (mined) header on its tip and leaves without the
        # block. node0 then mines a block at the same height: more work than node1's tip, and
        # node0 serves it. Bitcoin Core fetches towards every peer's best known block that
        # has more work than the tip; bwc fetches only the branch of the one best header
        # (doc/p2p.md: "Bodies are fetched for the branch of the best header"), which is the
        # withheld one (equal work, seen first), so node0's block is never asked for until
        # a later block outweighs the withheld header.
        tip = n1.rpc.getbestblockhash()
        hdr = cbor.decode(bytes.fromhex(n1.rpc.getblockheader(tip, False)))
        withheld = objects.decode_block(objects.mine_block(
            hdr, Key(), time_=max(hdr[3] + 1, int(time.time()))))[0]
        peer = P2PPeer(n1.p2pport, source="127.0.0.2", timeout=15)
        peer.handshake()
        peer.send(p2p.HEADERS, [cbor.encode(withheld)])
        peer.sync_with_ping()
        peer.close()
        info = n1.rpc.getblockchaininfo()
        assert_equal((info["headers"], info["blocks"]), (HEIGHT + 1, HEIGHT),
                     msg="node1 took the header")
        h = n0.rpc.generate(1, Key().address)[0]
        try:
            wait_until(lambda: n1.rpc.getbestblockhash() == h, timeout=15, interval=0.2)
            followed = True
        except TestFailure:
            followed = False
        self.contract(followed, True, "node1 fetches node0's new block (more work than its "
                      "tip, header known) although a withheld header of the same height was "
                      "seen first; node1: %r, tips %r" % (
                          n1.rpc.getblockchaininfo(), n1.rpc.getchaintips()))
        # the next block outweighs the withheld header: node1 catches up either way
        h = n0.rpc.generate(1, Key().address)[0]
        wait_until_state(lambda: n1.rpc.getbestblockhash() == h,
                         lambda: repr(n1.rpc.getblockchaininfo()), timeout=15, interval=0.2,
                         what="node1 catches up once node0's branch has more work")
        assert_equal(n1.rpc.listbanned(), [], msg="a valid header is no misbehaviour")


if __name__ == "__main__":
    P2PStallTest().main()
