#!/usr/bin/env python3
"""p2p_misbehaviour_test.py: misbehaving peers are cut off and banned, honest ones are not
(doc/p2p.md "Misbehaviour and bans"). Two honest dev nodes (node1 -addnode=node0) stay
connected and keep syncing while a raw peer (test_framework/p2p.py), each time from its own
loopback address 127.0.0.N, talks to node0. First it behaves (the handshake and node0's
version, getheaders/headers, getdata of a block and of an unknown one, a tx over P2P that
reaches both nodes, the inv of a new block), and one connection stays silent (closed after
the 10 s handshake limit, no ban). Then it breaks the protocol:

- garbage bytes instead of a frame; a well-framed payload that is not CBOR;
- a frame header announcing more than max_message_bytes (the node must not wait for it);
- a version with another chain_id; a message before version;
- an inv of more than 1000 items; an inventory flood (more than 50,000 items in a minute in
  invs of 1000: nothing at 50,000, +50 at the first inv beyond, the ban at the second);
- blocks that decode but are invalid: a wrong tx_root, a header that is not mined, a header
  with a wrong target; and a `headers` message with a header that is not mined.

Each time: the raw peer is disconnected, its IP is in listbanned with the reason, 127.0.0.1
is never banned, the honest connection is the same one as before, and a block generated on
one honest node reaches the other. A message before verack costs 20 and no ban; a block with
a wrong tx_root does not poison its id (the genuine block is accepted afterwards).

Then the RPCs: setban (IP, subnet, bantime expiry, an existing connection closed, errors),
listbanned, clearbanned, bans kept across a restart, disconnectnode (by address, by id,
unknown), addnode (add keeps a connection, onetry, remove, errors) with a raw peer that
listens."""

import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_framework import cbor, objects  # noqa: E402
from test_framework import p2p  # noqa: E402
from test_framework.node import JSONRPCException  # noqa: E402
from test_framework.objects import DEV_SPEC, Key  # noqa: E402
from test_framework.p2p import (P2PListener, P2PPeer, P2PTestFramework,  # noqa: E402
                                banned_ips, p2p_addr, peers_of, wait_connected,
                                wait_until_state)
from test_framework.util import (assert_equal, assert_in, assert_raises_rpc_error,  # noqa: E402
                                 assert_true, wait_until)

MAX_MESSAGE_BYTES = DEV_SPEC["limits"]["max_message_bytes"]


class P2PMisbehaviourTest(P2PTestFramework):
    num_nodes = 2

    def setup_nodes(self):
        n0, n1 = self.nodes
        n0.start()
        self.start_p2p(n1, addnode=[n0])
        wait_connected([(n0, n1)])
        self.next_ip = 2
        self.miner = Key()
        self.turn = 0

    def new_ip(self):
        ip = "127.0.0.%d" % self.next_ip
        self.next_ip += 1
        return ip

    def peer(self, ip=None, node=None):
        node = node or self.nodes[0]
        return P2PPeer(node.p2pport, source=ip or self.new_ip(), timeout=15)

    def raw_peer_entry(self, node, ip):
        return [p for p in node.rpc.getpeerinfo() if p["addr"].startswith(ip + ":")]

    def honest_link_ids(self):
        """The ids of node0's connections with node1 (normally one; two when both dialled at
        the same moment after a restart)."""
        n0, n1 = self.nodes
        ids = {p["id"] for p in peers_of(n0, n1)}
        assert_true(ids, "node0 is not connected to node1: %r" % n0.rpc.getpeerinfo())
        return ids

    # ------------------------------------------------------------------ checks

    def check_banned(self, peer, ip, reason, why, honest=True):
        """peer was closed by node0, ip is banned with a reason containing `reason`, the
        honest link is the one it was, and blocks still flow both ways."""
        n0, n1 = self.nodes
        assert_true(peer.wait_closed_raw(15), "node0 kept the peer that sent %s" % why)
        peer.close()
        wait_until_state(lambda: ip in banned_ips(n0), lambda: repr(n0.rpc.listbanned()),
                         timeout=10, what="%s banned after %s" % (ip, why))
        entry = [b for b in n0.rpc.listbanned() if b["address"] == ip][0]
        assert_true(reason in entry["reason"], "ban of %s for %s: reason %r does not say %r" % (
            ip, why, entry["reason"], reason))
        assert_true(entry["banned_until"] > time.time() + 23 * 3600,
                    "a misbehaviour ban should last 24 h: %r" % entry)
        assert_equal(self.raw_peer_entry(n0, ip), [], msg="%s still in getpeerinfo" % ip)
        if honest:
            self.check_honest(why)

    def check_honest(self, why):
        n0, n1 = self.nodes
        assert_true("127.0.0.1" not in banned_ips(n0) and "127.0.0.1" not in banned_ips(n1),
                    "127.0.0.1 banned after %s: %r" % (why, n0.rpc.listbanned()))
        ids = self.honest_link_ids()
        assert_true(ids & self.link_ids, "the honest connection was dropped after %s: had "
                    "%r, now %r" % (why, self.link_ids, ids))
        src, dst = (n0, n1) if self.turn % 2 == 0 else (n1, n0)
        self.turn += 1
        h = src.rpc.generate(1, self.miner.address)[0]
        wait_until_state(lambda: dst.rpc.getbestblockhash() == h,
                         lambda: "node%d at %s, node%d at %s" % (
                             src.index, src.rpc.getbestblockhash(), dst.index,
                             dst.rpc.getbestblockhash()),
                         timeout=20, what="block from node%d reaches node%d after %s" % (
                             src.index, dst.index, why))

    def tip_header(self, node):
        tip = node.rpc.getbestblockhash()
        return cbor.decode(bytes.fromhex(node.rpc.getblockheader(tip, False)))

    def block_on_tip(self, node, txs=()):
        """A correctly mined block (map) on node's tip."""
        hdr = self.tip_header(node)
        t = max(hdr[3] + 1, int(time.time()))
        return objects.decode_block(objects.mine_block(hdr, Key(), txs, time_=t))

    # ------------------------------------------------------------------ the test

    def run_test(self):
        n0, n1 = self.nodes
        self.link_ids = self.honest_link_ids()
        # a connection that never says anything: closed after the 10 s handshake limit (it
        # waits while the other cases run), and not banned for it
        idle_ip = self.new_ip()
        idle = self.peer(idle_ip)
        idle_since = time.monotonic()
        self.well_behaved()
        self.malformed()
        self.wrong_chain_and_order()
        self.inventory()
        self.invalid_blocks()
        self.log("the silent connection was closed after the handshake limit, without a ban")
        assert_true(idle.wait_closed_raw(max(1, 20 - (time.monotonic() - idle_since))),
                    "a connection without a handshake stayed open for 20 s (limit: 10 s)")
        idle.close()
        assert_true(idle_ip not in banned_ips(n0), "banned for a missing handshake")
        self.rpc_bans()
        self.rpc_connections()

    def well_behaved(self):
        n0, n1 = self.nodes
        self.log("a well-behaved raw peer: handshake, headers, blocks, notfound, a tx, an inv")
        miner = Key()
        n0.rpc.generate(3, miner.address)
        wait_until(lambda: n1.rpc.getbestblockhash() == n0.rpc.getbestblockhash(),
                   what="node1 has node0's blocks")
        ip = self.new_ip()
        peer = self.peer(ip)
        ver = peer.handshake()
        height = n0.rpc.getblockcount()
        chain_id = bytes.fromhex(n0.rpc.getblockchaininfo()["chain_id"])
        assert_equal(ver[:5], [p2p.VERSION, p2p.PROTOCOL_VERSION, chain_id, height,
                               bytes.fromhex(n0.rpc.getbestblockhash())])
        assert_equal(ver[6], n0.p2pport, msg="the listening port in node0's version")
        entry = wait_until(lambda: self.raw_peer_entry(n0, ip), what="the raw peer listed")
        assert_equal((entry[0]["inbound"], entry[0]["connected"], entry[0]["subver"],
                      entry[0]["banscore"]), (True, True, p2p.USER_AGENT, 0))
        # node0 asks an inbound peer for headers after the handshake
        gh = peer.wait_for(lambda m: m[0] == p2p.GETHEADERS, what="getheaders")
        assert_equal(gh[1][0].hex(), n0.rpc.getbestblockhash())
        peer.send(p2p.HEADERS, [])
        peer.send(p2p.GETHEADERS, [chain_id], bytes(32))
        hdrs = peer.wait_for(lambda m: m[0] == p2p.HEADERS, what="headers")[1]
        assert_equal([objects.block_id_of_header(cbor.decode(h)).hex() for h in hdrs],
                     [n0.rpc.getblockhash(i) for i in range(1, height + 1)])
        tip = bytes.fromhex(n0.rpc.getbestblockhash())
        unknown = os.urandom(32)
        peer.send(p2p.GETDATA, [[p2p.INV_BLOCK, tip], [p2p.INV_BLOCK, unknown]])
        blk = peer.wait_for(lambda m: m[0] == p2p.BLOCK, what="block")[1]
        assert_equal(blk.hex(), n0.rpc.getblock(tip.hex(), 0))
        nf = peer.wait_for(lambda m: m[0] == p2p.NOTFOUND, what="notfound")
        assert_equal(nf[1], [[p2p.INV_BLOCK, unknown]])
        # a transaction sent over P2P reaches node0's pool and node1's
        tx = objects.transfer(Key(4), Key(), 4444, 0)
        txid = objects.txid_hex(tx)
        peer.send(p2p.TX, bytes.fromhex(tx))
        for x in (n0, n1):
            wait_until(lambda: txid in x.rpc.getrawmempool(), timeout=10,
                       what="the P2P transaction in node%d's pool" % x.index)
        # a new block is announced to the raw peer by its header (a pow header has no key 15, so
        # its id is the tagged hash of the bytes as sent); its getdata gets the block
        h = n1.rpc.generate(1, miner.address)[0]
        peer.wait_for(lambda m: m[0] == p2p.HEADERS and
                      [objects.tagged_hash("bwc/block", x).hex() for x in m[1]] == [h],
                      what="the header of the new block")
        peer.send(p2p.GETDATA, [[p2p.INV_BLOCK, bytes.fromhex(h)]])
        blk = peer.wait_for(lambda m: m[0] == p2p.BLOCK, what="the new block")[1]
        assert_equal(objects.block_id(blk).hex(), h)
        assert_equal(objects.decode_block(blk)[1], [objects.decode_tx(tx)])
        peer.sync_with_ping()
        assert_equal([p["banscore"] for p in self.raw_peer_entry(n0, ip)], [0])
        peer.close()
        assert_equal(n0.rpc.listbanned(), [])

    def malformed(self):
        n0 = self.nodes[0]
        self.log("garbage bytes instead of a frame")
        ip = self.new_ip()
        peer = self.peer(ip)
        junk = bytearray(os.urandom(64))
        junk[0] = (p2p.DEV_MAGIC >> 24) ^ 0xff  # never the magic
        peer.send_raw(bytes(junk))
        self.check_banned(peer, ip, "magic", "garbage bytes")

        self.log("a well-framed payload that is not CBOR, after the handshake")
        ip = self.new_ip()
        peer = self.peer(ip)
        peer.handshake()
        peer.sync_with_ping()
        peer.send_raw(peer.frame(b"\xff\xfe\xfd not cbor at all"))
        self.check_banned(peer, ip, "cbor", "a payload that is not CBOR")

        self.log("a frame header announcing max_message_bytes + 1, without the payload")
        ip = self.new_ip()
        peer = self.peer(ip)
        peer.handshake()
        peer.sync_with_ping()
        peer.send_raw(struct.pack(">II", p2p.DEV_MAGIC, MAX_MESSAGE_BYTES + 1))
        # the node decides on the 8 header bytes alone: it closes without waiting for more
        self.check_banned(peer, ip, "oversize", "an oversize length")

        self.log("exactly max_message_bytes is not oversize: only the header, no ban yet")
        ip = self.new_ip()
        peer = self.peer(ip)
        peer.handshake()
        peer.sync_with_ping()
        peer.send_raw(struct.pack(">II", p2p.DEV_MAGIC, MAX_MESSAGE_BYTES) + b"\x00" * 100)
        assert_true(not peer.wait_closed_raw(1.0),
                    "node0 closed a peer that announced exactly max_message_bytes")
        assert_true(ip not in banned_ips(n0), "banned for a frame of exactly the maximum")
        peer.close()

    def wrong_chain_and_order(self):
        n0 = self.nodes[0]
        self.log("a version with another chain_id")
        ip = self.new_ip()
        peer = self.peer(ip)
        other = objects.chain_id_of(objects.load_chainspec("test"))
        peer.send(*peer.version_msg(chain_id=other))
        self.check_banned(peer, ip, "chain", "a version of another chain")

        self.log("a message before version")
        ip = self.new_ip()
        peer = self.peer(ip)
        peer.send(p2p.PING, 7)
        self.check_banned(peer, ip, "before version", "a ping before version")

        self.log("a message between version and verack costs 20, no ban")
        ip = self.new_ip()
        peer = self.peer(ip)
        peer.send(*peer.version_msg())
        peer.wait_for(lambda m: m[0] == p2p.VERACK, what="the node's verack")
        peer.send(p2p.PING, 9)
        wait_until_state(lambda: [p["banscore"] for p in self.raw_peer_entry(n0, ip)] == [20],
                         lambda: repr(self.raw_peer_entry(n0, ip)), timeout=10,
                         what="banscore 20 for a ping before verack")
        peer.send(p2p.VERACK)
        peer.sync_with_ping()
        assert_true(ip not in banned_ips(n0), "banned for one message before verack")
        peer.close()

    def inventory(self):
        n0 = self.nodes[0]
        self.log("an inv of 1001 items")
        ip = self.new_ip()
        peer = self.peer(ip)
        peer.handshake()
        peer.send(p2p.INV, [[p2p.INV_TX, os.urandom(32)] for _ in range(p2p.MAX_INV + 1)])
        self.check_banned(peer, ip, "inv", "an inv of 1001 items")

        self.log("an inventory flood: 50 invs of 1000 pass, the 51st costs 50, the 52nd bans")
        ip = self.new_ip()
        peer = self.peer(ip)
        peer.handshake()
        for i in range(50):
            peer.send(p2p.INV, [[p2p.INV_TX, os.urandom(32)] for _ in range(p2p.MAX_INV)])
        peer.sync_with_ping(timeout=30)
        entry = self.raw_peer_entry(n0, ip)
        assert_equal([p["banscore"] for p in entry], [0],
                     msg="50,000 inventory items in a minute are allowed: %r" % entry)
        peer.send(p2p.INV, [[p2p.INV_TX, os.urandom(32)]])
        peer.sync_with_ping(timeout=30)
        entry = self.raw_peer_entry(n0, ip)
        assert_equal([p["banscore"] for p in entry], [50],
                     msg="the 50,001st item in a minute is a flood: %r" % entry)
        peer.send(p2p.INV, [[p2p.INV_TX, os.urandom(32)] for _ in range(p2p.MAX_INV)])
        self.check_banned(peer, ip, "flood", "an inventory flood")

    def invalid_blocks(self):
        n0, n1 = self.nodes
        self.log("a block with a wrong tx_root (correctly mined, on the tip)")
        ip = self.new_ip()
        peer = self.peer(ip)
        peer.handshake()
        genuine = self.block_on_tip(n0)
        bad = objects.decode_block(cbor.encode(genuine))
        bad[1] = [objects.decode_tx(objects.transfer(Key(1), Key(), 5, 10 ** 6))]
        # the header (and so the id and its proof of work) stays the genuine block's
        tip = n0.rpc.getbestblockhash()
        assert_equal(n1.rpc.getbestblockhash(), tip)
        peer.send(p2p.BLOCK, cbor.encode(bad))
        self.check_banned(peer, ip, "tx-root", "a block with a wrong tx_root", honest=False)
        assert_equal(n0.rpc.getbestblockhash(), tip)
        self.log("... its id is not poisoned: the genuine block, given to node1, reaches node0")
        gid = objects.block_id(genuine).hex()
        assert_equal(n1.rpc.submitblock(cbor.encode(genuine).hex()), None)
        wait_until_state(lambda: n0.rpc.getbestblockhash() == gid,
                         lambda: "node0 at %s, node1 at %s" % (n0.rpc.getbestblockhash(),
                                                                n1.rpc.getbestblockhash()),
                         timeout=20, what="the genuine block (the bad one's id) reaches node0")
        self.check_honest("a block with a wrong tx_root")

        self.log("a block whose header is not mined")
        ip = self.new_ip()
        peer = self.peer(ip)
        peer.handshake()
        blk = self.block_on_tip(n0)
        while objects.check_pow(blk[0]):
            blk[0][8] += 1
        peer.send(p2p.BLOCK, cbor.encode(blk))
        self.check_banned(peer, ip, "high-hash", "a block that is not mined")

        self.log("a block with a wrong target (mined to it)")
        ip = self.new_ip()
        peer = self.peer(ip)
        peer.handshake()
        blk = self.block_on_tip(n0)
        blk[0][7] = 0x207ffffe
        while not objects.check_pow(blk[0]):
            blk[0][8] += 1
        peer.send(p2p.BLOCK, cbor.encode(blk))
        self.check_banned(peer, ip, "bad-diffbits", "a block with a wrong target")

        self.log("a headers message with a header that is not mined")
        ip = self.new_ip()
        peer = self.peer(ip)
        peer.handshake()
        blk = self.block_on_tip(n0)
        while objects.check_pow(blk[0]):
            blk[0][8] += 1
        peer.send(p2p.HEADERS, [cbor.encode(blk[0])])
        self.check_banned(peer, ip, "high-hash", "a header that is not mined")
        bans = {b["address"]: b["reason"] for b in n0.rpc.listbanned()}
        self.log("ban reasons: %r" % bans)

    # ------------------------------------------------------------------ RPCs

    def rpc_bans(self):
        n0, n1 = self.nodes
        self.log("bans survive a restart of node0")
        before = sorted((b["address"], b["reason"]) for b in n0.rpc.listbanned())
        assert_true(len(before) >= 10, "expected the bans of the cases above: %r" % before)
        n0.stop()
        n0.start()
        after = sorted((b["address"], b["reason"]) for b in n0.rpc.listbanned())
        assert_equal(after, before, msg="listbanned after a restart")
        wait_connected([(n0, n1)])  # node1 keeps its -addnode connection
        self.link_ids = self.honest_link_ids()
        banned_ip = before[0][0]
        peer = self.peer(banned_ip)
        peer.send(*peer.version_msg())
        assert_true(peer.wait_closed_raw(10), "a banned address was served after a restart")
        peer.close()

        self.log("clearbanned lifts every ban")
        assert_equal(n0.rpc.clearbanned(), None)
        assert_equal(n0.rpc.listbanned(), [])
        peer = self.peer(banned_ip)
        peer.handshake()
        peer.sync_with_ping()
        peer.close()

        self.log("setban of an IP: refused at once, lifted by remove")
        ip = self.new_ip()
        assert_equal(n0.rpc.setban(ip, "add"), None)
        entry = n0.rpc.listbanned()
        assert_equal([(b["address"], b["reason"]) for b in entry], [(ip, "manually added")])
        assert_true(abs(entry[0]["banned_until"] - (time.time() + 86400)) < 600,
                    "default bantime is 24 h: %r" % entry)
        assert_raises_rpc_error(-23, None, n0.rpc.setban, ip, "add")
        peer = self.peer(ip)
        try:
            peer.send(*peer.version_msg())
        except OSError:
            pass
        assert_true(peer.wait_closed_raw(10), "node0 served a banned address")
        assert_equal(peer.received, [])
        peer.close()
        assert_equal(n0.rpc.setban(ip, "remove"), None)
        assert_equal(n0.rpc.listbanned(), [])
        assert_raises_rpc_error(-30, None, n0.rpc.setban, ip, "remove")
        peer = self.peer(ip)
        peer.handshake()
        peer.sync_with_ping()

        self.log("setban closes an existing connection from that address")
        n0.rpc.setban(ip, "add")
        assert_true(peer.wait_closed_raw(10), "a connection from a newly banned IP stayed")
        peer.close()
        n0.rpc.clearbanned()

        self.log("setban of a subnet; a short bantime expires")
        assert_equal(n0.rpc.setban("127.0.0.64/26", "add"), None)
        inside, outside = "127.0.0.100", "127.0.0.130"
        peer = self.peer(inside)
        try:
            peer.send(*peer.version_msg())
        except OSError:
            pass
        assert_true(peer.wait_closed_raw(10), "node0 served an address of a banned subnet")
        peer.close()
        peer = self.peer(outside)
        peer.handshake()
        peer.close()
        assert_raises_rpc_error(-23, None, n0.rpc.setban, inside, "add")
        for bad in ("notanip", "127.0.0.1/33", "300.1.1.1", "127.0.0.1/x"):
            assert_raises_rpc_error(-30, None, n0.rpc.setban, bad, "add")
        assert_raises_rpc_error(-8, None, n0.rpc.setban, "127.0.0.140", "ban")
        assert_raises_rpc_error(-8, None, n0.rpc.setban, "127.0.0.140", "add", 0)
        n0.rpc.setban("127.0.0.140", "add", 1)
        assert_in("127.0.0.140", banned_ips(n0))
        wait_until(lambda: "127.0.0.140" not in banned_ips(n0), timeout=10,
                   what="a ban of 1 s expires")
        peer = self.peer("127.0.0.140")
        peer.handshake()
        peer.close()
        n0.rpc.clearbanned()
        assert_equal(n0.rpc.listbanned(), [])
        self.check_honest("the setban checks")

    def rpc_connections(self):
        n0, n1 = self.nodes
        self.log("disconnectnode: unknown, by address, by id")
        assert_raises_rpc_error(-29, None, n0.rpc.disconnectnode, "127.0.0.1:1")
        assert_raises_rpc_error(-29, None, n0.rpc.disconnectnode, nodeid=987654)
        # node0 drops node1 (by the address getpeerinfo shows); node1 dials again (-addnode)
        old = peers_of(n0, n1)[0]
        assert_equal(n0.rpc.disconnectnode(old["addr"]), None)
        wait_until(lambda: peers_of(n0, n1) and peers_of(n0, n1)[0]["id"] != old["id"],
                   timeout=30, what="node1 reconnects to node0 after disconnectnode")
        self.link_ids = self.honest_link_ids()
        # a raw peer by id (named parameter), not banned for it
        ip = self.new_ip()
        peer = self.peer(ip)
        peer.handshake()
        pid = self.raw_peer_entry(n0, ip)[0]["id"]
        assert_equal(n0.rpc.disconnectnode(nodeid=pid), None)
        assert_true(peer.wait_closed_raw(10), "disconnectnode nodeid=%d left it open" % pid)
        peer.close()
        assert_true(ip not in banned_ips(n0), "disconnectnode banned the peer")
        # by id as Bitcoin Core documents it: disconnectnode "" nodeid
        peer = self.peer(ip)
        peer.handshake()
        pid = self.raw_peer_entry(n0, ip)[0]["id"]
        try:
            res = n0.rpc.disconnectnode("", pid)
        except JSONRPCException as e:
            res = "error %s: %s" % (e.code, e.message)
        self.contract(res, None, 'disconnectnode "" %d (by id with an empty address, Bitcoin '
                      "Core's form; rpc.md promises its conventions)" % pid)
        peer.close()

        self.log("addnode: errors")
        for bad in ("not-an-ip:1", "127.0.0.1:0", "127.0.0.1:70000", "localhost"):
            assert_raises_rpc_error(-8, None, n0.rpc.addnode, bad, "add")
        assert_raises_rpc_error(-8, None, n0.rpc.addnode, "127.0.0.1:1", "connect")
        assert_raises_rpc_error(-23, None, n1.rpc.addnode, p2p_addr(n0), "add")
        assert_raises_rpc_error(-24, None, n0.rpc.addnode, "127.0.0.1:1", "remove")

        self.log("addnode onetry: node0 dials a raw peer that listens")
        listener = P2PListener("127.0.0.1")
        try:
            target = "127.0.0.1:%d" % listener.port
            assert_equal(n0.rpc.addnode(target, "onetry"), None)
            peer = listener.accept(timeout=15)
            ver = peer.accept_handshake()
            assert_equal(ver[2], bytes.fromhex(n0.rpc.getblockchaininfo()["chain_id"]))
            assert_equal(ver[3], n0.rpc.getblockcount())
            wait_until(lambda: [(p["inbound"], p["manual"], p["connected"])
                                for p in n0.rpc.getpeerinfo() if p["addr"] == target] ==
                       [(False, True, True)], timeout=10, what="outbound manual peer listed")
            # an outbound peer is asked for addresses and headers
            peer.wait_for(lambda m: m[0] == p2p.GETHEADERS, what="getheaders")
            peer.close()
            wait_until(lambda: not [p for p in n0.rpc.getpeerinfo() if p["addr"] == target],
                       timeout=10, what="the closed onetry peer gone")

            self.log("addnode add keeps a connection: it is dialled again after a close")
            assert_equal(n0.rpc.addnode(target, "add"), None)
            assert_raises_rpc_error(-23, None, n0.rpc.addnode, target, "add")
            peer = listener.accept(timeout=20)
            peer.accept_handshake()
            peer.close()
            peer = listener.accept(timeout=20)  # after a close, the node dials again
            peer.accept_handshake()
            assert_equal(n0.rpc.addnode(target, "remove"), None)
            assert_raises_rpc_error(-24, None, n0.rpc.addnode, target, "remove")
            peer.close()
        finally:
            listener.close()
        self.check_honest("the connection RPCs")


if __name__ == "__main__":
    P2PMisbehaviourTest().main()
