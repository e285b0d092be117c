#!/usr/bin/env python3
"""ledger_test.py: channels and sponsor pools through their whole life on a dev node, with
exact balances (PROTOCOL.md §3.3, §5, §5.1): channel receipts and every rule that refuses one
(seq, receipt_fee, bytes going down, deposit, price ceiling, signatures); pool receipts with
and without tickets, the per-consumer cap, the pool's balance; the states open -> settling ->
closed; a receipt settled in the very last block of the settle window; the refunds to the
consumer and the sponsor in that block; nothing accepted after it. Ends with the sum of all
balances equal to the allocations plus the subsidies (nothing created or lost)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_framework import objects  # noqa: E402
from test_framework.contract import check_fields  # noqa: E402
from test_framework.objects import DEV_SPEC, Key, dev_keys  # noqa: E402
from test_framework.test_framework import BwcTestFramework  # noqa: E402
from test_framework.util import (assert_equal, assert_fields, assert_raises_rpc_error,  # noqa: E402
                                 assert_true)

ECON = DEV_SPEC["economics"]
SUBSIDY = ECON["initial_subsidy"]
MIN_FEE = ECON["min_fee"]
RECEIPT_FEE = ECON["receipt_fee"]
SETTLE = ECON["settle_window"]
MAX_CHANNEL_BLOCKS = ECON["max_channel_blocks"]
ALLOC = DEV_SPEC["genesis"]["allocations"][0]["amount"]
MIB = 1 << 20
PRICE = 100000  # units per MiB, for the channel and both pools
LIFE = 10  # blocks from opening to expiry


class LedgerTest(BwcTestFramework):
    num_nodes = 1

    def run_test(self):
        self.node = self.nodes[0]
        self.rpc = self.node.rpc
        self.k1, self.k2, self.k3, self.k4 = dev_keys()
        self.producer = Key()
        self.relay1, self.relay2 = Key(), Key()
        self.ticket_key = Key()
        self.expected = {k.address: ALLOC for k in (self.k1, self.k2, self.k3, self.k4)}
        for k in (self.producer, self.relay1, self.relay2, self.ticket_key):
            self.expected[k.address] = 0
        self.nonces = {a: 0 for a in self.expected}
        self.served = {a: 0 for a in self.expected}
        self.consumed = {a: 0 for a in self.expected}
        self.mine(1)

        self.open_objects()
        self.channel_receipts()
        self.pool_receipts()
        self.expiry()

    # ------------------------------------------------------------------ helpers

    def mine(self, n=1, fees=0, receipts=0):
        """Mines n blocks; the first carries `fees` tx fees and `receipts` receipts."""
        hashes = self.rpc.generate(n, self.producer.address)
        assert_equal(len(hashes), n)
        self.expected[self.producer.address] += n * SUBSIDY + fees + receipts * RECEIPT_FEE
        return hashes

    def send_tx(self, key, build, *args, **kw):
        tx = build(key, *args, nonce=self.nonces[key.address], **kw)
        txid = self.rpc.sendrawtransaction(tx)
        assert_equal(txid, objects.txid_hex(tx))
        self.nonces[key.address] += 1
        self.expected[key.address] -= MIN_FEE
        return txid

    def check(self):
        for a, bal in self.expected.items():
            acc = self.rpc.getaccount(a)
            assert_equal(acc["balance"], bal, msg="balance of " + a)
            assert_equal(acc["nonce"], self.nonces[a], msg="nonce of " + a)
            assert_equal(acc["bytes_served"], self.served[a], msg="bytes_served of " + a)
            assert_equal(acc["bytes_consumed"], self.consumed[a], msg="bytes_consumed of " + a)

    def refused(self, r, msg=None):
        assert_raises_rpc_error(-26, msg, self.rpc.sendrawreceipt, r)

    def settle(self, relay, consumer, delta, dbytes):
        self.expected[relay.address] += delta - RECEIPT_FEE
        self.served[relay.address] += dbytes
        self.consumed[consumer.address] += dbytes

    # ------------------------------------------------------------------ steps

    def open_objects(self):
        self.log("content, channel, two pools")
        k2, k3 = self.k2, self.k3
        _, cid = objects.manifest(b"ledger test content" * 1000, 16384)
        self.cid = cid.hex()
        self.send_tx(k3, lambda k, nonce: objects.content_register(k, cid, 19000, 16384, nonce))
        tip = self.rpc.getblockcount()
        self.expiry_height = tip + 1 + LIFE
        self.deposit = 10**6
        # channel_open expiry rules: above the height of its block, at most max_channel_blocks
        for bad in (tip + 1, tip + 2 + MAX_CHANNEL_BLOCKS):
            assert_raises_rpc_error(-26, None, self.rpc.sendrawtransaction,
                                    objects.channel_open(k2, self.relay1, 1, 1, bad, 0))
        x = 5
        while objects.bip340.lift_x(x) is not None:
            x += 1
        assert_raises_rpc_error(-26, None, self.rpc.sendrawtransaction,
                                objects.channel_open(k2, x.to_bytes(32, "big"), 1, 1,
                                                     tip + 5, 0))
        self.chan = self.send_tx(k2, lambda k, nonce: objects.channel_open(
            k, self.relay1, self.deposit, PRICE, self.expiry_height, nonce))
        self.expected[k2.address] -= self.deposit
        self.mine(1, fees=2 * MIN_FEE)
        self.opened = tip + 1
        # sponsoring needs registered content: the pools come in the next block
        self.pool1_amount, self.pool2_amount = 100000, 20000
        self.cap = 30000
        self.pool1 = self.send_tx(k3, lambda k, nonce: objects.sponsor(
            k, cid, self.pool1_amount, PRICE, self.cap, self.expiry_height, nonce,
            ticket_key=self.ticket_key))
        self.pool2 = self.send_tx(k3, lambda k, nonce: objects.sponsor(
            k, cid, self.pool2_amount, PRICE, self.cap, self.expiry_height, nonce))
        self.expected[k3.address] -= self.pool1_amount + self.pool2_amount
        self.mine(1, fees=2 * MIN_FEE)
        p1 = check_fields(self.rpc.getpool(self.pool1), "getpool")
        assert_fields(p1, {"pool_id": self.pool1, "sponsor": k3.address,
                           "content_id": self.cid, "amount": self.pool1_amount,
                           "balance": self.pool1_amount, "price": PRICE,
                           "per_consumer_cap": self.cap, "expiry": self.expiry_height,
                           "opened": tip + 2, "closed": 0, "state": "open"}, "getpool")
        p2 = self.rpc.getpool(self.pool2)
        assert_equal(p2["balance"], self.pool2_amount)
        assert_true("ticket_key" not in p2, "pool without ticket_key shows one: %r" % p2)
        self.check()

    def channel_receipts(self):
        self.log("channel receipts and the rules that refuse them")
        k1, k2 = self.k1, self.k2
        r1, r2 = self.relay1, self.relay2
        chan = self.chan
        d = bytes(32)

        def rc(seq, nbytes, amount, consumer=k2, relay=r1, channel=chan):
            return objects.receipt(channel, seq, nbytes, amount, d, consumer, relay)

        # below receipt_fee on the first claim; the wrong signers; an unknown channel
        self.refused(rc(1, MIB, RECEIPT_FEE - 1))
        self.refused(rc(1, 4 * MIB, 200000, relay=r2))
        self.refused(rc(1, 4 * MIB, 200000, consumer=k1))
        self.refused(rc(1, 4 * MIB, 200000, channel="88" * 32))
        first = rc(1, 4 * MIB, 200000)
        rid = self.rpc.sendrawreceipt(first)
        assert_equal(rid, objects.receipt_id_hex(first))
        # a newer receipt replaces the pooled one; an older one is then refused
        second = rc(2, 4 * MIB, 210000)
        self.rpc.sendrawreceipt(second)
        assert_equal(self.rpc.getmempoolinfo()["receipts"], 1)
        e = assert_raises_rpc_error(None, None, self.rpc.sendrawreceipt, first)
        assert_true(e.code in (-26, -27), str(e))
        h = self.mine(1, receipts=1)[0]
        assert_equal(self.rpc.getblock(h)["receipts"], [objects.receipt_id_hex(second)])
        self.settle(r1, k2, 210000, 4 * MIB)
        ch = check_fields(self.rpc.getchannel(chan), "getchannel")
        assert_fields(ch, {"claimed": 210000, "seq": 2, "bytes": 4 * MIB, "state": "open",
                           "deposit": self.deposit, "closed": 0}, "getchannel")
        self.check()
        # against claimed 210000, seq 2, bytes 4 MiB:
        self.refused(rc(2, 5 * MIB, 300000))                            # seq not above
        self.refused(rc(3, 5 * MIB, 210000 + RECEIPT_FEE - 1))          # delta < receipt_fee
        self.refused(rc(3, 3 * MIB, 250000))                            # bytes going down
        self.refused(rc(3, 20 * MIB, self.deposit + 1))                 # over the deposit
        self.refused(rc(3, 5 * MIB, objects.max_amount(5 * MIB, PRICE) + 1))  # over the price
        # exactly at the limits: delta = receipt_fee (the relay nets 0), same bytes
        exact = rc(7, 4 * MIB, 210000 + RECEIPT_FEE)
        self.rpc.sendrawreceipt(exact)
        self.mine(1, receipts=1)
        self.settle(r1, k2, RECEIPT_FEE, 0)
        assert_fields(self.rpc.getchannel(chan),
                      {"claimed": 211000, "seq": 7, "bytes": 4 * MIB}, "getchannel")
        self.claimed = 211000
        self.chan_bytes = 4 * MIB
        self.check()

    def pool_receipts(self):
        self.log("pool receipts: tickets, the per-consumer cap, the pool's balance")
        k1, k2, k3, k4 = self.k1, self.k2, self.k3, self.k4
        r1, r2 = self.relay1, self.relay2
        tk = self.ticket_key
        d = bytes(32)
        p1, p2 = self.pool1, self.pool2

        def prc(pool, consumer, relay, seq, nbytes, amount, ticket="auto"):
            if ticket == "auto":
                ticket = objects.ticket(tk, pool, consumer) if pool == p1 else None
            return objects.receipt(pool, seq, nbytes, amount, d, consumer, relay, pool=True,
                                   ticket_sig=ticket)

        # tickets: required by pool 1, refused by pool 2; signed by the ticket key for this
        # pool and this consumer only
        self.refused(prc(p1, k2, r1, 1, MIB, 20000, ticket=None))
        self.refused(prc(p1, k2, r1, 1, MIB, 20000, ticket=objects.ticket(k1, p1, k2)))
        self.refused(prc(p1, k2, r1, 1, MIB, 20000, ticket=objects.ticket(tk, p1, k1)))
        self.refused(prc(p1, k2, r1, 1, MIB, 20000, ticket=objects.ticket(tk, p2, k2)))
        self.refused(prc(p2, k2, r1, 1, MIB, 20000, ticket=objects.ticket(tk, p2, k2)))
        # over the price ceiling: 1000 bytes at PRICE per MiB are worth at most 96 units
        assert_equal(objects.max_amount(1000, PRICE), 96)
        self.refused(prc(p1, k2, r1, 1, 1000, RECEIPT_FEE))
        self.rpc.sendrawreceipt(prc(p1, k2, r1, 1, MIB, 20000))
        self.rpc.sendrawreceipt(prc(p2, k2, r1, 1, MIB, 5000))
        self.mine(1, receipts=2)
        self.settle(r1, k2, 20000, MIB)
        self.settle(r1, k2, 5000, MIB)
        assert_equal(self.rpc.getpool(p1)["balance"], self.pool1_amount - 20000)
        assert_equal(self.rpc.getpool(p1, k2.address)["consumer_claimed"], 20000)
        assert_equal(self.rpc.getpool(p2)["balance"], self.pool2_amount - 5000)
        self.check()
        # the cap is per consumer over all relays: k2 has 20000 of 30000 in pool 1
        self.refused(prc(p1, k2, r2, 1, MIB, self.cap - 20000 + 1))
        self.rpc.sendrawreceipt(prc(p1, k2, r2, 1, MIB, self.cap - 20000))
        # another consumer has its own cap
        self.rpc.sendrawreceipt(prc(p1, k1, r1, 1, MIB, self.cap))
        self.mine(1, receipts=2)
        self.settle(r2, k2, self.cap - 20000, MIB)
        self.settle(r1, k1, self.cap, MIB)
        left = self.pool1_amount - 2 * self.cap
        assert_equal(self.rpc.getpool(p1)["balance"], left)
        assert_equal(self.rpc.getpool(p1, k2.address)["consumer_claimed"], self.cap)
        # k2 is at its cap for good, even with a new relay
        self.refused(prc(p1, k2, k4, 1, MIB, RECEIPT_FEE))
        # the pool's balance: 40000 left, k4 may draw 30000, then k3 only 10000
        self.rpc.sendrawreceipt(prc(p1, k4, r1, 1, MIB, self.cap))
        self.mine(1, receipts=1)
        self.settle(r1, k4, self.cap, MIB)
        left -= self.cap
        self.refused(prc(p1, k3, r1, 1, MIB, left + 1))
        self.rpc.sendrawreceipt(prc(p1, k3, r1, 1, MIB, left))
        self.mine(1, receipts=1)
        self.settle(r1, k3, left, MIB)
        assert_equal(self.rpc.getpool(p1)["balance"], 0)
        self.pool1_left = 0
        self.pool2_left = self.pool2_amount - 5000
        self.check()

    def expiry(self):
        self.log("expiry: settling, the last block of the settle window, refunds, closed")
        k2, k3 = self.k2, self.k3
        tip = self.rpc.getblockcount()
        E = self.expiry_height
        assert_true(tip < E - 1, "the test reached expiry too early (tip %d)" % tip)
        self.mine(E - 1 - tip)
        assert_equal(self.rpc.getchannel(self.chan)["state"], "open")
        self.mine(1)
        for what in (self.rpc.getchannel(self.chan), self.rpc.getpool(self.pool2)):
            assert_equal(what["state"], "settling")
        # mine to the last block before the window ends: still settling, receipts allowed
        self.mine(SETTLE - 1)
        assert_equal(self.rpc.getblockcount(), E + SETTLE - 1)
        assert_equal(self.rpc.getchannel(self.chan)["state"], "settling")
        self.check()
        d = bytes(32)
        last = objects.receipt(self.chan, 8, 6 * MIB, 300000, d, k2, self.relay1)
        self.rpc.sendrawreceipt(last)
        self.rpc.sendrawreceipt(objects.receipt(self.pool2, 2, 2 * MIB, 10000, d, k2,
                                                self.relay1, pool=True))
        # block E + SETTLE: the receipts settle, then the channel and pools close and refund
        h = self.mine(1, receipts=2)[0]
        assert_equal(len(self.rpc.getblock(h)["receipts"]), 2)
        self.settle(self.relay1, k2, 300000 - self.claimed, 2 * MIB)
        self.settle(self.relay1, k2, 10000 - 5000, MIB)
        self.expected[k2.address] += self.deposit - 300000
        self.expected[k3.address] += self.pool2_amount - 10000 + self.pool1_left
        ch = self.rpc.getchannel(self.chan)
        assert_fields(ch, {"claimed": 300000, "seq": 8, "bytes": 6 * MIB, "state": "closed",
                           "closed": E + SETTLE, "opened": self.opened}, "getchannel")
        for pool in (self.pool1, self.pool2):
            p = self.rpc.getpool(pool)
            assert_fields(p, {"state": "closed", "closed": E + SETTLE}, "getpool")
        self.check()
        # nothing settles after the window, and a closed channel stays listed
        self.refused(objects.receipt(self.chan, 9, 7 * MIB, 400000, d, k2, self.relay1))
        self.refused(objects.receipt(self.pool2, 3, 3 * MIB, 15000, d, k2, self.relay1,
                                     pool=True))
        assert_equal([c["channel_id"] for c in self.rpc.listchannels(k2.address)], [self.chan])
        self.mine(1)
        self.check()
        # nothing created or lost: every unit is in an account again
        total = sum(self.rpc.getbalance(a) for a in self.expected)
        assert_equal(total, 4 * ALLOC + self.rpc.getblockcount() * SUBSIDY)


if __name__ == "__main__":
    LedgerTest().main()
