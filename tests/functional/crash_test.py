#!/usr/bin/env python3
"""crash_test.py: kill -9 at random moments must never lose a block the node reported.

Part 1, 30 rounds (at least 20): a dev node mines (generate in a loop) and takes transfers
from a worker thread while the test kills it with SIGKILL after a random 0-0.5 s; it restarts
on the same datadir. Every transaction the worker saw confirmed (gettransaction with >= 1
confirmation) must still be confirmed in the same block, every block hash generate returned
must still be on the best chain, and the balances of all known accounts must add up to the
allocations plus the subsidies of the current height (fees only move to producers).

Part 2: a second node imports part 1's chain with submitblock while being killed the same
way; every block it accepted stays, and it ends on the same tip and state. Finally both
nodes restart once with -reindex and must report the same state."""

import http.client
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_framework import objects  # noqa: E402
from test_framework.node import JSONRPCException  # noqa: E402
from test_framework.objects import DEV_SPEC, Key, dev_keys  # noqa: E402
from test_framework.test_framework import BwcTestFramework  # noqa: E402
from test_framework.util import TestFailure, assert_equal, assert_true  # noqa: E402

SUBSIDY = DEV_SPEC["economics"]["initial_subsidy"]
ALLOC = DEV_SPEC["genesis"]["allocations"][0]["amount"]
N_ALLOC = len(DEV_SPEC["genesis"]["allocations"])
ROUNDS = 30  # default; --rounds changes it
MIN_ROUNDS = 20  # never fewer unless --rounds asks for fewer
IMPORT_ROUNDS = 10
MAX_SECONDS = 240  # the loops stop starting rounds after this (each round is bounded too)

CONNECTION_ERRORS = (OSError, http.client.HTTPException)


class Worker(threading.Thread):
    """Mines and sends transfers until the node dies; records what the node confirmed.
    Uses its own RPC client (connection); the main thread makes no calls meanwhile."""

    def __init__(self, node, keys, recipients, producer, rng, record):
        super().__init__(daemon=True)
        self.node = node
        self.keys = keys
        self.recipients = recipients
        self.producer = producer
        self.rng = rng
        self.record = record  # shared: {"tx": {txid: blockhash}, "blocks": {blockhash: None}}
        self.error = None

    def run(self):
        rpc = self.node.new_client().rpc
        try:
            nonces = {k.address: rpc.getaccount(k.address)["nonce"] for k in self.keys}
            pending = set(rpc.getrawmempool())
            # txs left in a restarted node's mempool would hold their nonces: mine them first
            if pending:
                self.confirm(rpc.generate(1, self.producer.address))
                nonces = {k.address: rpc.getaccount(k.address)["nonce"] for k in self.keys}
            for _ in range(10000):
                sent = []
                for _ in range(self.rng.randint(0, 3)):
                    k = self.rng.choice(self.keys)
                    to = self.rng.choice(self.recipients)
                    tx = objects.transfer(k, to, self.rng.randint(1, 10**6), nonces[k.address],
                                          fee=1000 + self.rng.randint(0, 500))
                    txid = rpc.sendrawtransaction(tx)
                    nonces[k.address] += 1
                    sent.append(txid)
                hashes = rpc.generate(self.rng.choice((1, 1, 1, 3)), self.producer.address)
                self.confirm(hashes)
                for txid in sent:
                    t = rpc.gettransaction(txid)
                    if t["confirmations"] < 1:
                        raise TestFailure("tx %s not confirmed by generate" % txid)
                    self.record["tx"][txid] = t["blockhash"]
        except CONNECTION_ERRORS:
            return  # killed
        except JSONRPCException as e:
            if e.code == -28:
                return
            self.error = e
        except Exception as e:  # noqa: BLE001 (reported by the main thread)
            self.error = e

    def confirm(self, hashes):
        for h in hashes:
            self.record["blocks"][h] = None


class CrashTest(BwcTestFramework):
    num_nodes = 2

    def setup_nodes(self):
        self.nodes[0].start()  # node1 starts in part 2

    def add_options(self, parser):
        parser.add_argument("--rounds", type=int, default=ROUNDS)

    def run_test(self):
        seed = self.options.seed if self.options.seed is not None else random.randrange(1 << 30)
        self.log("seed %d (rerun with --seed %d)" % (seed, seed))
        self.rng = random.Random(seed)
        self.t_start = time.monotonic()
        self.keys = dev_keys()
        self.recipients = [Key() for _ in range(3)]
        self.producer = Key()
        self.accounts = [k.address for k in self.keys + self.recipients] + [self.producer.address]
        self.record = {"tx": {}, "blocks": {}}
        self.part1()
        self.part2()
        self.reindex()

    # ---------------------------------------------------------------- checks

    def check_node(self, node, record):
        """The node answers, every recorded block and tx survived, balances add up."""
        info = node.rpc.getblockchaininfo()
        height = info["blocks"]
        assert_equal(info["bestblockhash"], node.rpc.getblockhash(height))
        for h in record["blocks"]:
            try:
                blk = node.rpc.getblock(h)
            except JSONRPCException as e:
                raise TestFailure("block %s returned by generate is lost: %s" % (h, e))
            if blk["confirmations"] < 1:
                raise TestFailure("block %s returned by generate is off the best chain" % h)
            assert_equal(node.rpc.getblockhash(blk["height"]), h)
        for txid, bh in record["tx"].items():
            try:
                t = node.rpc.gettransaction(txid)
            except JSONRPCException as e:
                raise TestFailure("confirmed tx %s lost: %s" % (txid, e))
            if t.get("blockhash") != bh or t["confirmations"] < 1:
                raise TestFailure("confirmed tx %s moved: %r (was in %s)" % (txid, t, bh))
        total = sum(node.rpc.getbalance(a) for a in self.accounts)
        assert_equal(total, N_ALLOC * ALLOC + height * SUBSIDY,
                     msg="sum of balances at height %d" % height)
        return height

    def time_left(self):
        return time.monotonic() - self.t_start < MAX_SECONDS

    # ---------------------------------------------------------------- part 1

    def part1(self):
        node = self.nodes[0]
        rounds = 0
        kills_mid_work = 0
        last_height = 0
        want = self.options.rounds
        floor = min(MIN_ROUNDS, want)
        while rounds < want and (rounds < floor or self.time_left()):
            rounds += 1
            worker = Worker(node, self.keys, self.recipients, self.producer, self.rng,
                            self.record)
            worker.start()
            time.sleep(self.rng.uniform(0, 0.5))
            busy = worker.is_alive()
            node.kill9()
            worker.join(timeout=60)
            if worker.is_alive():
                raise TestFailure("worker did not stop after the kill")
            if worker.error is not None:
                raise TestFailure("worker failed: %r" % (worker.error,))
            kills_mid_work += busy
            node.start()
            height = self.check_node(node, self.record)
            assert_true(height >= last_height, "height went down: %d -> %d" % (last_height,
                                                                              height))
            last_height = height
            if rounds % 5 == 0:
                self.log("round %d: height %d, %d confirmed txs, %d blocks recorded" % (
                    rounds, height, len(self.record["tx"]), len(self.record["blocks"])))
        assert_true(rounds >= floor, "only %d rounds" % rounds)
        # enough happened for the test to mean something
        assert_true(len(self.record["blocks"]) >= rounds,
                    "only %d blocks mined in %d rounds" % (len(self.record["blocks"]), rounds))
        assert_true(kills_mid_work >= rounds // 2,
                    "only %d kills while the worker was busy" % kills_mid_work)
        # a clean stop and start keeps everything too
        node.stop()
        node.start()
        self.check_node(node, self.record)
        self.log("part 1: %d rounds, height %d, %d txs" % (rounds, node.rpc.getblockcount(),
                                                           len(self.record["tx"])))

    # ---------------------------------------------------------------- part 2

    def part2(self):
        src, dst = self.nodes
        height = src.rpc.getblockcount()
        blocks = [src.rpc.getblock(src.rpc.getblockhash(h), 0) for h in range(1, height + 1)]
        self.log("part 2: importing %d blocks into node1 while killing it" % height)
        dst.start()
        accepted = {}  # hash -> height of every block submitblock accepted
        # how long one block takes to import, measured on the first few, so that the kills
        # land while the import is under way
        t0 = time.monotonic()
        first = min(5, height)
        for h in range(1, first + 1):
            assert_equal(dst.rpc.submitblock(blocks[h - 1]), None)
            accepted[objects.block_id(blocks[h - 1]).hex()] = h
        per_block = (time.monotonic() - t0) / max(1, first)
        # the chain in IMPORT_ROUNDS segments; each round feeds one segment from the node's
        # current height and kills the node at a random moment within the expected time
        rounds = 0
        for rounds in range(1, IMPORT_ROUNDS + 1):
            if not self.time_left() and rounds > 3:
                break
            start = dst.rpc.getblockcount()
            target = max(start, height * rounds // IMPORT_ROUNDS)
            stop_flag = {"err": None}
            client = dst.new_client()

            def feed():
                try:
                    for h in range(start + 1, target + 1):
                        r = client.call("submitblock", [blocks[h - 1]])
                        if r is not None:
                            stop_flag["err"] = "submitblock of height %d gave %r" % (h, r)
                            return
                        accepted[objects.block_id(blocks[h - 1]).hex()] = h
                except CONNECTION_ERRORS:
                    return
                except JSONRPCException as e:
                    if e.code != -28:
                        stop_flag["err"] = e
            t = threading.Thread(target=feed, daemon=True)
            t.start()
            time.sleep(self.rng.uniform(0, min(0.5, per_block * (target - start))))
            dst.kill9()
            t.join(timeout=60)
            if t.is_alive():
                raise TestFailure("feeder did not stop")
            if stop_flag["err"] is not None:
                raise TestFailure(str(stop_flag["err"]))
            dst.start()
            h = dst.rpc.getblockcount()
            for bh, bh_height in accepted.items():
                try:
                    blk = dst.rpc.getblock(bh)
                except JSONRPCException as e:
                    raise TestFailure("accepted block at height %d lost: %s" % (bh_height, e))
                if blk["confirmations"] < 1:
                    raise TestFailure("accepted block at height %d is off the best chain" %
                                      bh_height)
            assert_true(h >= max(accepted.values(), default=0), "height %d" % h)
        # the rest without kills
        for hh in range(dst.rpc.getblockcount() + 1, height + 1):
            assert_equal(dst.rpc.submitblock(blocks[hh - 1]), None)
        assert_equal(dst.rpc.getbestblockhash(), src.rpc.getbestblockhash())
        self.check_node(dst, self.record)
        for a in self.accounts:
            assert_equal(dst.rpc.getaccount(a), src.rpc.getaccount(a))
        self.log("part 2: %d kill rounds, %d blocks accepted before the last kill" % (
            rounds, len(accepted)))

    def reindex(self):
        self.log("-reindex on both nodes")
        expect = {a: self.nodes[0].rpc.getaccount(a) for a in self.accounts}
        tip = self.nodes[0].rpc.getbestblockhash()
        for n in self.nodes:
            n.stop()
            n.start(["-reindex"])
            assert_equal(n.rpc.getbestblockhash(), tip)
            for a in self.accounts:
                assert_equal(n.rpc.getaccount(a), expect[a])
            self.check_node(n, self.record)


if __name__ == "__main__":
    CrashTest().main()
