#!/usr/bin/env python3
"""reorg_test.py: two dev nodes without P2P. A mines 3 blocks, one with a transfer; B mines 5.
B's blocks go to A through submitblock (one out of order, so it waits as an orphan); A
reorganises to B's heavier chain: same tip, the transfer of A's losing branch is back in A's
mempool, every account equal on both nodes, getchaintips shows the fork. Then blocks built by
the test itself (objects.mine_block, an independent encoder): a valid one is accepted; a
corrupted byte, a bad signature, a bad root, a bad nonce are refused and the tip stays; a
body-corrupted block does not poison its id (the genuine block is accepted after it)."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_framework import cbor, objects  # noqa: E402
from test_framework.node import JSONRPCException  # noqa: E402
from test_framework.objects import DEV_SPEC, Key, dev_keys  # noqa: E402
from test_framework.test_framework import BwcTestFramework  # noqa: E402
from test_framework.util import (assert_equal, assert_in, assert_raises_rpc_error,  # noqa: E402
                                 assert_true)

SUBSIDY = DEV_SPEC["economics"]["initial_subsidy"]
ALLOC = DEV_SPEC["genesis"]["allocations"][0]["amount"]


class ReorgTest(BwcTestFramework):
    num_nodes = 2

    def accounts(self, node, addrs):
        return {a: node.rpc.getaccount(a) for a in addrs}

    def run_test(self):
        a, b = self.nodes
        keys = dev_keys()
        pa, pb = Key(), Key()
        dest = Key()
        addrs = [k.address for k in keys] + [pa.address, pb.address, dest.address]

        self.log("A: 3 blocks with a transfer in the second; B: 5 blocks")
        a.rpc.generate(1, pa.address)
        tx = objects.transfer(keys[0], dest, 4242, 0, memo=b"reorg")
        txid = a.rpc.sendrawtransaction(tx)
        a_blocks = a.rpc.generate(2, pa.address)
        assert_equal(a.rpc.gettransaction(txid)["blockhash"], a_blocks[0])
        assert_equal(a.rpc.getbalance(dest.address), 4242)
        b_hashes = b.rpc.generate(5, pb.address)
        assert_equal(a.rpc.getblockcount(), 3)
        assert_equal(b.rpc.getblockcount(), 5)
        a_tip = a.rpc.getbestblockhash()
        b_raw = [b.rpc.getblock(h, 0) for h in b_hashes]

        self.log("B's blocks to A: an orphan first, then in order")
        assert_equal(a.rpc.submitblock(b_raw[1]), "orphan")
        assert_equal(a.rpc.getbestblockhash(), a_tip)
        assert_equal(a.rpc.submitblock(b_raw[0]), None)
        # B's blocks 1 and 2 (the orphan followed its parent) are less work than A's 3
        assert_equal(a.rpc.getbestblockhash(), a_tip)
        assert_equal(a.rpc.getblockheader(b_hashes[1])["height"], 2)
        assert_equal(a.rpc.submitblock(b_raw[2]), None)
        # equal work: the first seen (A's own) stays
        assert_equal(a.rpc.getbestblockhash(), a_tip)
        assert_equal(a.rpc.submitblock(b_raw[3]), None)
        assert_equal(a.rpc.getbestblockhash(), b_hashes[3])
        assert_equal(a.rpc.submitblock(b_raw[4]), None)
        assert_equal(a.rpc.getbestblockhash(), b_hashes[4])
        assert_equal(a.rpc.getblockcount(), 5)
        for h in b_hashes:
            assert_equal(a.rpc.submitblock(b.rpc.getblock(h, 0)), "duplicate")

        self.log("the losing branch's transfer is back in the mempool; state equals B's")
        assert_equal(a.rpc.getrawmempool(), [txid])
        mem = a.rpc.gettransaction(txid)
        assert_equal(mem["confirmations"], 0)
        assert_true("blockhash" not in mem, repr(mem))
        assert_equal(self.accounts(a, addrs), self.accounts(b, addrs))
        assert_equal(a.rpc.getbalance(dest.address), 0)
        assert_equal(a.rpc.getbalance(pa.address), 0)
        assert_equal(a.rpc.getbalance(pb.address), 5 * SUBSIDY)
        assert_equal(a.rpc.getaccount(keys[0].address)["nonce"], 0)
        assert_equal(a.rpc.listtransactions(dest.address), [])
        for h in range(6):
            assert_equal(a.rpc.getblockhash(h), b.rpc.getblockhash(h))
        tips = sorted(a.rpc.getchaintips(), key=lambda t: -t["height"])
        assert_equal(tips, [{"height": 5, "hash": b_hashes[4], "branchlen": 0, "status": "active"},
                            {"height": 3, "hash": a_tip, "branchlen": 3,
                             "status": "valid-fork"}])
        old = a.rpc.getblock(a_tip)
        assert_equal(old["confirmations"], -1)
        info = a.rpc.getblockchaininfo()
        assert_equal(info["blocks"], 5)
        assert_equal(info["bestblockhash"], b_hashes[4])
        assert_equal(info["chainwork"], b.rpc.getblockchaininfo()["chainwork"])

        self.log("A mines the transfer again on the new chain; B takes A's block")
        h6 = a.rpc.generate(1, pa.address)[0]
        assert_equal(a.rpc.gettransaction(txid)["blockhash"], h6)
        assert_equal(b.rpc.submitblock(a.rpc.getblock(h6, 0)), None)
        assert_equal(b.rpc.getbestblockhash(), h6)
        assert_equal(b.rpc.gettransaction(txid)["blockhash"], h6)
        assert_equal(self.accounts(a, addrs), self.accounts(b, addrs))
        assert_equal(a.rpc.getbalance(dest.address), 4242)
        total = sum(x["balance"] for x in self.accounts(a, addrs).values())
        assert_equal(total, 4 * ALLOC + 6 * SUBSIDY)

        self.log("A reorganises back when its old branch grows heavier")
        # B's view: submit A's old branch (3 blocks) plus 4 new ones built on it by A's
        # producer key through the test's own miner, so the old branch wins on both nodes
        old_hashes = [a.rpc.getblockhash(0)]
        hdr = objects.cbor.decode(bytes.fromhex(a.rpc.getblockheader(a_tip, False)))
        branch = []
        t = max(hdr[3], int(time.time())) + 1
        for i in range(4):
            raw = objects.mine_block(hdr, pa, time_=t + i)
            branch.append(raw)
            hdr = objects.decode_block(raw)[0]
        for raw in branch:
            assert_equal(a.rpc.submitblock(raw), None)
        assert_equal(a.rpc.getblockcount(), 7)
        assert_equal(a.rpc.getbestblockhash(), objects.block_id(branch[-1]).hex())
        # the transfer is confirmed in A's original block again, not in the mempool
        assert_equal(a.rpc.gettransaction(txid)["blockhash"], a_blocks[0])
        assert_equal(a.rpc.getrawmempool(), [])
        for h in (a.rpc.getblockhash(i) for i in range(1, 4)):
            assert_equal(b.rpc.submitblock(a.rpc.getblock(h, 0)), None)
        for raw in branch:
            assert_equal(b.rpc.submitblock(raw), None)
        assert_equal(b.rpc.getbestblockhash(), a.rpc.getbestblockhash())
        assert_equal(self.accounts(a, addrs), self.accounts(b, addrs))
        assert_equal(a.rpc.getbalance(pa.address), 7 * SUBSIDY + 1000)
        assert_equal(a.rpc.getbalance(pb.address), 0)
        del old_hashes

        self.test_bad_blocks(a, keys, dest)
        self.test_restart_keeps_state(a, b, addrs)

    def test_bad_blocks(self, a, keys, dest):
        self.log("blocks built by the test: valid accepted, invalid refused")
        tip = a.rpc.getbestblockhash()
        height = a.rpc.getblockcount()
        hdr = cbor.decode(bytes.fromhex(a.rpc.getblockheader(tip, False)))
        t = max(hdr[3] + 1, int(time.time()))
        prod = Key()
        nonce = a.rpc.getaccount(keys[1].address)["nonce"]
        good_tx = objects.transfer(keys[1], dest, 1, nonce)

        def refused(raw, code=-26, msg=None):
            e = assert_raises_rpc_error(code, msg, a.rpc.submitblock, raw)
            assert_equal(a.rpc.getbestblockhash(), tip)
            assert_equal(a.rpc.getblockcount(), height)
            return e

        # one corrupted byte: an error (-22 does not decode, -26 breaks a rule) and the tip
        # stays. The positions avoid prev (that would make an orphan) and the fields whose
        # change can still give a valid block (time, producer, nonce): the map structure,
        # the roots, and every byte of the transaction.
        genuine = objects.mine_block(hdr, prod, [good_tx], time_=t)
        raw = bytearray(bytes.fromhex(genuine))
        hlen = len(cbor.encode(objects.decode_block(genuine)[0]))
        txlen = len(good_tx) // 2
        tx_start = 2 + hlen + 2  # a3 00 <header> 01 81 <tx>
        assert_equal(raw[tx_start:tx_start + txlen].hex(), good_tx)
        enc_hdr = bytes(raw[2:2 + hlen])
        root_pos = [2 + enc_hdr.index(hdr_root) + 5 for hdr_root in
                    (objects.decode_block(genuine)[0][4], objects.decode_block(genuine)[0][5])]
        positions = [0, 1, 2, 4, len(raw) - 1, tx_start - 1] + root_pos + \
            list(range(tx_start, tx_start + txlen))
        for pos in positions:
            bad = bytearray(raw)
            bad[pos] ^= 0x55
            try:
                r = a.rpc.submitblock(bad.hex())
                raise AssertionError("corrupted block (byte %d) accepted: %r" % (pos, r))
            except JSONRPCException as e:
                assert_in(e.code, (-22, -26), msg=str(e))
            assert_equal(a.rpc.getbestblockhash(), tip)
        refused(genuine[:-2], -22)
        refused(genuine + "00", -22)
        refused("", -22)
        refused("zz" * 10, None)

        # a tx with a bad signature inside a correctly mined block
        m = objects.decode_tx(good_tx)
        m[15] = bytes(64)
        e = refused(objects.mine_block(hdr, prod, [m], time_=t))
        assert_in("sig", e.message)
        # the same header id with a corrupted body (tx_root no longer matches): refused,
        # and the id is not marked invalid: the genuine block is accepted afterwards
        blk = objects.decode_block(genuine)
        blk[1][0][15] = bytes(64)
        e = refused(cbor.encode(blk).hex())
        assert_in("root", e.message)
        # a header whose nonce does not meet the target
        blk = objects.decode_block(genuine)
        h = blk[0]
        while objects.check_pow(h):
            h[8] += 1
        refused(cbor.encode(blk).hex(), -26, None)
        # wrong height, a time at or below the median time past, wrong target
        for field, value in ((1, hdr[1] + 2), (3, a.rpc.getblockchaininfo()["mediantime"]),
                             (7, 0x207ffffe)):
            h2 = dict(hdr)
            blk = objects.decode_block(objects.mine_block(h2, prod, [], time_=t))
            blk[0][field] = value
            while not objects.check_pow(blk[0]):
                blk[0][8] += 1
            refused(cbor.encode(blk).hex(), -26, None)
        # a tx whose nonce was used already (replay of the chain's first transfer)
        used = objects.transfer(keys[0], dest, 4242, 0, memo=b"reorg")
        refused(objects.mine_block(hdr, prod, [used], time_=t), -26, "nonce")
        # the genuine block: accepted, despite the earlier bodies under its id
        assert_equal(a.rpc.submitblock(genuine), None)
        assert_equal(a.rpc.getbestblockhash(), objects.block_id(genuine).hex())
        assert_equal(a.rpc.getblock(objects.block_id(genuine).hex(), 0), genuine)
        assert_equal(a.rpc.getbalance(prod.address), SUBSIDY + 1000)
        assert_equal(a.rpc.gettransaction(objects.txid_hex(good_tx))["height"], height + 1)

    def test_restart_keeps_state(self, a, b, addrs):
        self.log("restart A: the reorganised state persisted")
        before = self.accounts(a, addrs)
        tip = a.rpc.getbestblockhash()
        tips = a.rpc.getchaintips()
        a.stop()
        a.start()
        assert_equal(a.rpc.getbestblockhash(), tip)
        assert_equal(self.accounts(a, addrs), before)
        assert_equal(sorted(a.rpc.getchaintips(), key=lambda x: x["hash"]),
                     sorted(tips, key=lambda x: x["hash"]))


if __name__ == "__main__":
    ReorgTest().main()
