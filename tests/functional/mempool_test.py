#!/usr/bin/env python3
"""mempool_test.py: the transaction pool's rules as seen over RPC: a sender's transactions
are checked with its earlier pooled ones applied (balance, nonce); a later nonce waits
until the gap is filled (bwcd queues up to 32 ahead) and is then mined in nonce order;
replace-by-fee at the same nonce needs min_fee more; a duplicate is refused; a block takes
the whole pool and leaves nothing behind; getrawmempool / getmempoolinfo agree with the
transactions' own sizes and fees at every step."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_framework import objects  # noqa: E402
from test_framework.objects import DEV_SPEC, Key, dev_keys  # noqa: E402
from test_framework.test_framework import BwcTestFramework  # noqa: E402
from test_framework.util import (assert_equal, assert_in, assert_raises_rpc_error,  # noqa: E402
                                 assert_true)

SUBSIDY = DEV_SPEC["economics"]["initial_subsidy"]
MIN_FEE = DEV_SPEC["economics"]["min_fee"]
NONCE_GAP = 32  # bwcd's BWC_MEMPOOL_NONCE_GAP


class MempoolTest(BwcTestFramework):
    num_nodes = 1

    def pool_matches(self, txs):
        """The mempool holds exactly txs (hex list), with their sizes and fees."""
        rpc = self.node.rpc
        ids = sorted(objects.txid_hex(t) for t in txs)
        assert_equal(sorted(rpc.getrawmempool()), ids)
        verbose = rpc.getrawmempool(True)
        assert_equal(sorted(verbose), ids)
        for t in txs:
            m = objects.decode_tx(t)
            e = verbose[objects.txid_hex(t)]
            assert_equal((e["fee"], e["size"], e["nonce"], e["from"]),
                         (m[3], len(t) // 2, m[2], objects.address_of(m[1])))
        info = rpc.getmempoolinfo()
        assert_equal(info["size"], len(txs))
        assert_equal(info["bytes"], sum(len(t) // 2 for t in txs))

    def run_test(self):
        self.node = self.nodes[0]
        rpc = self.node.rpc
        k1, k2, k3, k4 = dev_keys()
        producer = Key()
        rpc.generate(1, producer.address)
        dest = Key()

        self.log("a nonce ahead waits for the gap to fill")
        t1 = objects.transfer(k1, dest, 100, 1)
        rpc.sendrawtransaction(t1)
        self.pool_matches([t1])
        h = rpc.generate(1, producer.address)[0]
        assert_equal(rpc.getblock(h)["tx"], [])
        self.pool_matches([t1])
        assert_equal(rpc.getaccount(k1.address)["nonce"], 0)
        t0 = objects.transfer(k1, dest, 200, 0)
        rpc.sendrawtransaction(t0)
        self.pool_matches([t0, t1])
        h = rpc.generate(1, producer.address)[0]
        assert_equal(rpc.getblock(h)["tx"], [objects.txid_hex(t0), objects.txid_hex(t1)])
        self.pool_matches([])
        assert_equal(rpc.getaccount(k1.address)["nonce"], 2)
        assert_equal(rpc.getbalance(dest.address), 300)
        # too far ahead, and behind
        assert_raises_rpc_error(-26, "mempool-nonce-gap", rpc.sendrawtransaction,
                                objects.transfer(k1, dest, 1, 2 + NONCE_GAP + 1))
        assert_raises_rpc_error(-26, "bad-tx-nonce", rpc.sendrawtransaction,
                                objects.transfer(k1, dest, 1, 1))
        edge = objects.transfer(k1, dest, 1, 2 + NONCE_GAP)
        rpc.sendrawtransaction(edge)
        self.pool_matches([edge])

        self.log("replace-by-fee at the same nonce")
        a = objects.transfer(k2, dest, 5, 0, fee=MIN_FEE)
        rpc.sendrawtransaction(a)
        e = assert_raises_rpc_error(-26, None, rpc.sendrawtransaction, a)
        assert_in("already", e.message)
        low = objects.transfer(k2, dest, 6, 0, fee=2 * MIN_FEE - 1)
        assert_raises_rpc_error(-26, "mempool-replacement-fee-too-low", rpc.sendrawtransaction,
                                low)
        b = objects.transfer(k2, dest, 7, 0, fee=2 * MIN_FEE)
        rpc.sendrawtransaction(b)
        self.pool_matches([edge, b])
        assert_raises_rpc_error(-5, None, rpc.gettransaction, objects.txid_hex(a))

        self.log("a sender's pooled transactions count against its balance")
        poor = Key()
        rpc.sendrawtransaction(objects.transfer(k3, poor, 10 * MIN_FEE, 0))
        rpc.generate(1, producer.address)
        self.pool_matches([edge])  # b was mined; edge still waits
        c0 = objects.transfer(poor, dest, 4 * MIN_FEE, 0)  # costs 5 of the 10
        c1 = objects.transfer(poor, dest, 4 * MIN_FEE, 1)  # 10 of 10
        c2 = objects.transfer(poor, dest, 1, 2)            # nothing left for it
        rpc.sendrawtransaction(c0)
        rpc.sendrawtransaction(c1)
        # c2 is refused up front rather than queued behind c0 and c1
        assert_raises_rpc_error(-26, "bad-tx-insufficient-funds", rpc.sendrawtransaction, c2)
        self.pool_matches([edge, c0, c1])

        self.log("many senders in one block, fees to the producer")
        before = rpc.getbalance(producer.address)
        batch = []
        for i, k in enumerate((k2, k3, k4)):
            nonce = rpc.getaccount(k.address)["nonce"]
            for j in range(5):
                batch.append(objects.transfer(k, dest, 1 + i, nonce + j, fee=MIN_FEE + 7 * j))
        for t in batch:
            rpc.sendrawtransaction(t)
        self.pool_matches([edge, c0, c1] + batch)
        h = rpc.generate(1, producer.address)[0]
        mined = rpc.getblock(h)["tx"]
        assert_equal(sorted(mined), sorted(objects.txid_hex(t) for t in [c0, c1] + batch))
        # each sender's transactions in nonce order within the block
        order = {objects.txid_hex(t): objects.decode_tx(t) for t in [c0, c1] + batch}
        for sender in {m[1] for m in order.values()}:
            nonces = [order[t][2] for t in mined if order[t][1] == sender]
            assert_equal(nonces, sorted(nonces))
        fees = sum(objects.decode_tx(t)[3] for t in [c0, c1] + batch)
        assert_equal(rpc.getbalance(producer.address), before + SUBSIDY + fees)
        assert_equal(rpc.getbalance(poor.address), 0)
        self.pool_matches([edge])

        self.log("restart: the chain is kept; the pool is kept or dropped, never corrupted")
        self.node.stop()
        self.node.start()
        pool = rpc.getrawmempool()
        assert_true(pool in ([], [objects.txid_hex(edge)]), repr(pool))
        self.log("mempool after restart: %s" % ("kept" if pool else "dropped"))
        h = rpc.generate(1, producer.address)[0]
        assert_equal(rpc.getblock(h)["tx"], [])


if __name__ == "__main__":
    MempoolTest().main()
