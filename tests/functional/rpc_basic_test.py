#!/usr/bin/env python3
"""rpc_basic_test.py: every RPC method on a fresh dev node, with exact values: blocks and
headers, a transfer with a memo through the mempool into a block (history on both sides,
balances, the producer's subsidy and fees), a channel, content, relays, a sponsor pool, a
settled channel receipt, address validation, node info, help, and bwc-cli (-named, -stdin,
errors). Ends by restarting the node with -mineraddress and checking that everything
persisted."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_framework import objects  # noqa: E402
from test_framework.contract import check_fields  # noqa: E402
from test_framework.node import CLIError  # noqa: E402
from test_framework.objects import DEV_CHAIN_ID, DEV_SPEC, Key, dev_keys  # noqa: E402
from test_framework.test_framework import BwcTestFramework  # noqa: E402
from test_framework.util import (assert_equal, assert_fields, assert_greater_than,  # noqa: E402
                                 assert_in, assert_list_fields, assert_not_in,
                                 assert_raises_rpc_error, assert_true)

ECON = DEV_SPEC["economics"]
SUBSIDY = ECON["initial_subsidy"]
MIN_FEE = ECON["min_fee"]
RECEIPT_FEE = ECON["receipt_fee"]
ALLOC = DEV_SPEC["genesis"]["allocations"][0]["amount"]
GENESIS_TIME = DEV_SPEC["genesis"]["time"]
INITIAL_TARGET = int(DEV_SPEC["pow"]["initial_target"], 16)
WORK = objects.block_work(INITIAL_TARGET)
ZERO_HASH = "00" * 32
MIB = 1 << 20


class RPCBasicTest(BwcTestFramework):
    num_nodes = 1

    def run_test(self):
        self.node = self.nodes[0]
        self.rpc = self.node.rpc
        self.keys = dev_keys()
        self.producer = Key()
        self.start_time = time.time()
        # the expected balance of every account the test touches, by address
        self.expected = {k.address: ALLOC for k in self.keys}
        self.expected[self.producer.address] = 0

        self.test_genesis()
        self.test_generate()
        self.test_transfer()
        self.test_self_transfer()
        self.test_ledger_objects()
        self.test_receipt()
        self.test_blocks()
        self.test_validateaddress()
        self.test_node_info()
        self.test_help()
        self.test_cli()
        self.check_balances()
        self.test_restart()

    # ------------------------------------------------------------------ helpers

    def nonce(self, key):
        return self.rpc.getaccount(key.address)["nonce"]

    def mine(self, n=1):
        hashes = self.rpc.generate(n, self.producer.address)
        assert_equal(len(hashes), n)
        assert_equal(self.rpc.getbestblockhash(), hashes[-1])
        return hashes

    def check_balances(self):
        for addr, bal in self.expected.items():
            assert_equal(self.rpc.getbalance(addr), bal, msg=addr)
            assert_equal(self.rpc.getaccount(addr)["balance"], bal, msg=addr)

    def send(self, txhex):
        txid = self.rpc.sendrawtransaction(txhex)
        assert_equal(txid, objects.txid_hex(txhex))
        return txid

    # ------------------------------------------------------------------ tests

    def test_genesis(self):
        self.log("genesis state")
        info = check_fields(self.rpc.getblockchaininfo(), "getblockchaininfo")
        assert_equal(info["chain"], "dev")
        assert_equal(info["chain_id"], DEV_CHAIN_ID.hex())
        assert_equal(info["engine"], "pow")
        assert_equal(info["blocks"], 0)
        assert_equal(info["headers"], 0)
        assert_equal(info["bestblockhash"], DEV_CHAIN_ID.hex())
        assert_equal(int(info["chainwork"], 16), WORK)
        assert_equal(info["mediantime"], GENESIS_TIME)
        assert_equal(info["finalized_height"], 0)
        assert_true(isinstance(info["verificationprogress"], (int, float)))
        assert_true(isinstance(info["initialblockdownload"], bool))
        assert_equal(self.rpc.getblockcount(), 0)
        assert_equal(self.rpc.getbestblockhash(), DEV_CHAIN_ID.hex())
        assert_equal(self.rpc.getblockhash(0), DEV_CHAIN_ID.hex())
        assert_raises_rpc_error(-8, None, self.rpc.getblockhash, 1)
        assert_raises_rpc_error(-8, None, self.rpc.getblockhash, -1)
        # no -mineraddress and no address: generate asks for one
        assert_raises_rpc_error(-8, None, self.rpc.generate, 1)
        assert_equal(self.rpc.getblockcount(), 0)
        # the genesis block as the contract builds it
        g = self.rpc.getblock(DEV_CHAIN_ID.hex(), 0)
        block = objects.decode_block(g)
        assert_equal(block[0], objects.genesis_header(DEV_SPEC))
        assert_equal(block[1], [])
        assert_equal(block[2], [])
        gb = check_fields(self.rpc.getblock(DEV_CHAIN_ID.hex()), "getblock")
        assert_equal(gb["height"], 0)
        assert_equal(gb["confirmations"], 1)
        assert_not_in("previousblockhash", gb)
        assert_not_in("nextblockhash", gb)
        for k in self.keys:
            acc = self.rpc.getaccount(k.address)
            check_fields(acc, "getaccount")
            assert_fields(acc, {"address": k.address, "balance": ALLOC, "nonce": 0,
                                "bytes_served": 0, "bytes_consumed": 0}, "getaccount")

    def test_generate(self):
        self.log("generate")
        hashes = self.mine(5)
        assert_equal(self.rpc.getblockcount(), 5)
        for h, bh in enumerate(hashes, start=1):
            assert_equal(self.rpc.getblockhash(h), bh)
            blk = self.rpc.getblock(bh)
            assert_equal(blk["producer"], self.producer.address)
            assert_equal(blk["height"], h)
            assert_equal(blk["tx"], [])
            assert_equal(blk["receipts"], [])
        self.expected[self.producer.address] += 5 * SUBSIDY
        info = self.rpc.getblockchaininfo()
        assert_equal(info["blocks"], 5)
        assert_equal(info["headers"], 5)
        assert_equal(int(info["chainwork"], 16), 6 * WORK)
        assert_equal(info["initialblockdownload"], False)
        # blocks made just now, on the best header: fully verified
        assert_true(0.99 <= info["verificationprogress"] <= 1, repr(info))
        # an address of another chain, or no address, is refused
        assert_raises_rpc_error(-5, None, self.rpc.generate, 1,
                                "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4")
        assert_raises_rpc_error(-8, None, self.rpc.generate, 0, self.producer.address)
        assert_equal(self.rpc.getblockcount(), 5)
        self.check_balances()

    def test_transfer(self):
        self.log("transfer with memo: mempool, block, history")
        k1 = self.keys[0]
        recv = Key()
        self.recv = recv
        amount, fee, memo = 123456789, 2500, b"exchange deposit #42"
        tx = objects.transfer(k1, recv, amount, 0, fee=fee, memo=memo)
        txid = self.send(tx)
        self.transfer_txid = txid
        size = len(tx) // 2

        assert_equal(self.rpc.getrawmempool(), [txid])
        verbose = self.rpc.getrawmempool(True)
        assert_equal(list(verbose), [txid])
        entry = check_fields(verbose[txid], "getrawmempool")
        assert_equal(entry["fee"], fee)
        assert_equal(entry["size"], size)
        assert_equal(entry["from"], k1.address)
        assert_equal(entry["nonce"], 0)
        assert_true(abs(entry["time"] - time.time()) < 3600)
        mi = check_fields(self.rpc.getmempoolinfo(), "getmempoolinfo")
        assert_equal(mi["size"], 1)
        assert_equal(mi["bytes"], size)
        assert_equal(mi["receipts"], 0)
        assert_equal(mi["minfee"], MIN_FEE)
        assert_greater_than(mi["maxmempool"], 0)
        # the same tx again is refused while in the mempool (as Bitcoin Core, -26 or -27)
        e = assert_raises_rpc_error(None, None, self.rpc.sendrawtransaction, tx)
        assert_in(e.code, (-26, -27))

        mem = check_fields(self.rpc.gettransaction(txid), "gettransaction")
        assert_equal(mem["txid"], txid)
        assert_equal(mem["hex"], tx)
        assert_equal(mem["confirmations"], 0)
        assert_not_in("blockhash", mem)
        self.check_tx_fields(mem, txid, "transfer", k1, 0, fee,
                             {"to": recv.address, "amount": amount, "memo": memo.hex()})
        assert_equal(self.rpc.getrawtransaction(txid), tx)
        dec = check_fields(self.rpc.decoderawtransaction(tx), "decoderawtransaction")
        assert_equal(dec["txid"], txid)
        self.check_tx_fields(dec, txid, "transfer", k1, 0, fee,
                             {"to": recv.address, "amount": amount, "memo": memo.hex()})
        # an account with no history yet
        assert_fields(self.rpc.getaccount(recv.address),
                      {"address": recv.address, "balance": 0, "nonce": 0, "bytes_served": 0,
                       "bytes_consumed": 0}, "getaccount")
        assert_equal(self.rpc.listtransactions(recv.address), [])

        bh = self.mine(1)[0]
        assert_equal(self.rpc.getrawmempool(), [])
        assert_equal(self.rpc.getmempoolinfo()["size"], 0)
        assert_equal(self.rpc.getmempoolinfo()["bytes"], 0)
        blk = self.rpc.getblock(bh)
        assert_equal(blk["tx"], [txid])
        self.expected[k1.address] -= amount + fee
        self.expected[recv.address] = amount
        self.expected[self.producer.address] += SUBSIDY + fee
        self.check_balances()
        assert_equal(self.rpc.getaccount(k1.address)["nonce"], 1)
        assert_equal(self.rpc.getaccount(recv.address)["nonce"], 0)

        conf = check_fields(self.rpc.gettransaction(txid), "gettransaction")
        assert_equal(conf["blockhash"], bh)
        assert_equal(conf["height"], 6)
        assert_equal(conf["confirmations"], 1)
        assert_equal(conf["time"], blk["time"])
        assert_equal(conf["hex"], tx)
        assert_equal(self.rpc.getrawtransaction(txid, True), conf)
        assert_equal(self.rpc.getrawtransaction(txid, False), tx)

        bh2 = self.mine(1)[0]
        self.expected[self.producer.address] += SUBSIDY
        assert_equal(self.rpc.gettransaction(txid)["confirmations"], 2)

        common = {"txid": txid, "type": "transfer", "from": k1.address, "to": recv.address,
                  "amount": amount, "fee": fee, "nonce": 0, "memo": memo.hex(),
                  "blockhash": bh, "height": 6, "confirmations": 2, "time": blk["time"]}
        sent = self.rpc.listtransactions(k1.address)
        [check_fields(t, "listtransactions") for t in sent]
        assert_list_fields(sent, [dict(common, category="send")], "listtransactions")
        recd = self.rpc.listtransactions(recv.address)
        assert_list_fields(recd, [dict(common, category="receive")], "listtransactions")
        assert_equal(self.rpc.listtransactions(recv.address, 10, 1), [])
        assert_equal(self.rpc.listtransactions(self.keys[2].address), [])
        assert_raises_rpc_error(-5, None, self.rpc.listtransactions, "dbwc1notanaddress")

        h5 = self.rpc.getblockhash(5)
        since = self.rpc.listsinceblock(h5)
        [check_fields(t, "listsinceblock") for t in since["transactions"]]
        assert_equal(since["lastblock"], bh2)
        assert_list_fields(since["transactions"], [common], "listsinceblock")
        assert_equal(self.rpc.listsinceblock(bh)["transactions"], [])
        assert_equal(self.rpc.listsinceblock(bh2), {"transactions": [], "lastblock": bh2})
        assert_list_fields(self.rpc.listsinceblock()["transactions"], [common], "listsinceblock")
        assert_list_fields(self.rpc.listsinceblock(h5, recv.address)["transactions"],
                           [dict(common, category="receive")], "listsinceblock")
        assert_list_fields(self.rpc.listsinceblock(h5, k1.address)["transactions"],
                           [dict(common, category="send")], "listsinceblock")
        assert_equal(self.rpc.listsinceblock(h5, self.keys[2].address)["transactions"], [])
        assert_raises_rpc_error(-5, None, self.rpc.listsinceblock, "11" * 32)
        self.check_balances()

    def check_tx_fields(self, obj, txid, type_, key, nonce, fee, body):
        """obj is a decoded tx (gettransaction / decoderawtransaction): the common fields and
        the body's fields. The contract lists "body fields..." among the top-level ones;
        bwcd nests them in "body" (as bwc-util decode does): both are accepted, the nesting
        is noted in the log."""
        assert_fields(obj, {"txid": txid, "type": type_, "from": key.address, "nonce": nonce,
                            "fee": fee}, "decoded tx")
        if "body" in obj and isinstance(obj["body"], dict):
            if not getattr(self, "_noted_body", False):
                self._noted_body = True
                self.log("note: tx body fields are nested in \"body\", not top-level")
            assert_equal(obj["body"], body, msg="tx body")
        else:
            assert_fields(obj, body, "decoded tx")

    def test_self_transfer(self):
        self.log("self transfer")
        k2 = self.keys[1]
        tx = objects.transfer(k2, k2, 777, 0, fee=MIN_FEE)
        txid = self.send(tx)
        bh = self.mine(1)[0]
        self.expected[k2.address] -= MIN_FEE
        self.expected[self.producer.address] += SUBSIDY + MIN_FEE
        self.check_balances()
        lt = self.rpc.listtransactions(k2.address)
        assert_equal(len(lt), 1)
        assert_equal(lt[0]["txid"], txid)
        assert_equal(lt[0]["category"], "self")
        assert_equal(lt[0]["blockhash"], bh)
        assert_not_in("memo", lt[0])
        # a fee below min_fee, and a spend beyond the balance, are refused
        assert_raises_rpc_error(-26, "bad-tx-fee", self.rpc.sendrawtransaction,
                                objects.transfer(k2, k2, 1, 1, fee=MIN_FEE - 1))
        poor = Key()
        assert_raises_rpc_error(-26, "bad-tx-insufficient-funds", self.rpc.sendrawtransaction,
                                objects.transfer(poor, k2, 1, 0, fee=MIN_FEE))
        assert_equal(self.rpc.getrawmempool(), [])

    def test_ledger_objects(self):
        k1, k2, k3, k4 = self.keys
        self.relay = relay = Key()
        height = self.rpc.getblockcount()

        self.log("channel_open, content_register, relay funding")
        self.deposit, self.price = 10**8, 10**6
        expiry = height + 50
        chan_tx = objects.channel_open(k2, relay, self.deposit, self.price, expiry, self.nonce(k2))
        self.chan_id = self.send(chan_tx)
        data = bytes(range(256)) * 200  # 51200 bytes: 4 chunks of 16 KiB
        _, cid = objects.manifest(data, 16384)
        self.content_id = cid.hex()
        reg_tx = objects.content_register(k3, cid, len(data), 16384, 0, name="hello.txt",
                                          origin="http://127.0.0.1:8080", mime="text/plain")
        reg_id = self.send(reg_tx)
        fund_tx = objects.transfer(k1, relay, 10**7, self.nonce(k1))
        fund_id = self.send(fund_tx)
        assert_equal(sorted(self.rpc.getrawmempool()), sorted([self.chan_id, reg_id, fund_id]))
        bh = self.mine(1)[0]
        opened = height + 1
        assert_equal(sorted(self.rpc.getblock(bh)["tx"]), sorted([self.chan_id, reg_id, fund_id]))
        self.expected[k2.address] -= self.deposit + MIN_FEE
        self.expected[k3.address] -= MIN_FEE
        self.expected[k1.address] -= 10**7 + MIN_FEE
        self.expected[relay.address] = 10**7
        self.expected[self.producer.address] += SUBSIDY + 3 * MIN_FEE
        self.check_balances()

        ch = check_fields(self.rpc.getchannel(self.chan_id), "getchannel")
        assert_equal(ch["channel_id"], self.chan_id)
        assert_equal(ch["consumer"], k2.address)
        assert_equal(ch["relay"], relay.address)
        assert_equal(ch["deposit"], self.deposit)
        assert_equal(ch["price"], self.price)
        assert_equal(ch["expiry"], expiry)
        assert_equal(ch["claimed"], 0)
        assert_equal(ch["seq"], 0)
        assert_equal(ch["bytes"], 0)
        assert_equal(ch["digest"], ZERO_HASH)
        assert_equal(ch["opened"], opened)
        assert_equal(ch["state"], "open")
        assert_equal(ch["closed"], 0)
        self.channel = ch
        assert_equal(self.rpc.listchannels(k2.address), [ch])
        assert_equal(self.rpc.listchannels(relay.address), [ch])
        assert_equal(self.rpc.listchannels(k1.address), [])
        assert_equal(self.rpc.listchannels(), [ch])
        assert_raises_rpc_error(-5, None, self.rpc.getchannel, "22" * 32)
        assert_raises_rpc_error(-5, None, self.rpc.getchannel, self.transfer_txid)
        # the channel_open shows in the consumer's history
        lt = self.rpc.listtransactions(k2.address)
        assert_equal(lt[0]["txid"], self.chan_id)
        assert_equal(lt[0]["type"], "channel_open")

        content = check_fields(self.rpc.getcontent(self.content_id), "getcontent")
        assert_equal(content, {"content_id": self.content_id, "publisher": k3.address,
                               "size": len(data), "chunk_size": 16384, "name": "hello.txt",
                               "origin": "http://127.0.0.1:8080", "mime": "text/plain",
                               "registered": opened})
        assert_equal(self.rpc.listcontent(k3.address), [content])
        assert_equal(self.rpc.listcontent(), [content])
        assert_equal(self.rpc.listcontent(k1.address), [])
        assert_raises_rpc_error(-5, None, self.rpc.getcontent, "33" * 32)
        # registering the same id again is invalid
        assert_raises_rpc_error(-26, None, self.rpc.sendrawtransaction,
                                objects.content_register(k4, cid, len(data), 16384, 0))

        self.log("relay_announce, relay_retire")
        ann = objects.relay_announce(relay, "http://127.0.0.1:18745", "DE", self.price, 0,
                                     10**12, 2 * 10**12, 24, 0)
        ann_id = self.send(ann)
        ann4 = objects.relay_announce(k4, "http://relay.example.org:8634", "US", 5, 1000000,
                                      10**9, 10**9, 0, 0)
        self.send(ann4)
        self.mine(1)
        announced = opened + 1
        self.expected[relay.address] -= MIN_FEE
        self.expected[k4.address] -= MIN_FEE
        self.expected[self.producer.address] += SUBSIDY + 2 * MIN_FEE
        r = check_fields(self.rpc.getrelay(relay.address), "getrelay")
        assert_equal(r, {"address": relay.address, "endpoint": "http://127.0.0.1:18745",
                         "region": "DE", "price": self.price, "rate": 0, "quota": 10**12,
                         "burst_quota": 2 * 10**12, "burst_hours": 24, "announced": announced})
        r4 = self.rpc.getrelay(k4.address)
        assert_equal(r4, {"address": k4.address, "endpoint": "http://relay.example.org:8634",
                          "region": "US", "price": 5, "rate": 1000000, "quota": 10**9,
                          "burst_quota": 10**9, "burst_hours": 0, "announced": announced})
        assert_equal(self.rpc.listrelays("DE"), [r])
        assert_equal(self.rpc.listrelays("US"), [r4])
        assert_equal(self.rpc.listrelays("FR"), [])
        assert_equal(sorted(self.rpc.listrelays(), key=lambda x: x["address"]),
                     sorted([r, r4], key=lambda x: x["address"]))
        assert_raises_rpc_error(-5, None, self.rpc.getrelay, k1.address)
        assert_equal(self.rpc.gettransaction(ann_id)["type"], "relay_announce")
        # k4 retires; a second retire (no record any more) is invalid
        self.send(objects.relay_retire(k4, 1))
        self.mine(1)
        self.expected[k4.address] -= MIN_FEE
        self.expected[self.producer.address] += SUBSIDY + MIN_FEE
        assert_raises_rpc_error(-5, None, self.rpc.getrelay, k4.address)
        assert_equal(self.rpc.listrelays("US"), [])
        assert_equal(self.rpc.listrelays(), [r])
        assert_raises_rpc_error(-26, None, self.rpc.sendrawtransaction,
                                objects.relay_retire(k4, 2))

        self.log("sponsor pool")
        height = self.rpc.getblockcount()
        pool_expiry = height + 100
        sp = objects.sponsor(k3, cid, 10**7, 1000, 10**5, pool_expiry, 1, ticket_key=k4)
        pool_id = self.send(sp)
        self.mine(1)
        self.expected[k3.address] -= 10**7 + MIN_FEE
        self.expected[self.producer.address] += SUBSIDY + MIN_FEE
        pool = check_fields(self.rpc.getpool(pool_id), "getpool")
        assert_equal(pool["pool_id"], pool_id)
        assert_equal(pool["sponsor"], k3.address)
        assert_equal(pool["content_id"], self.content_id)
        assert_equal(pool["amount"], 10**7)
        assert_equal(pool["balance"], 10**7)
        assert_equal(pool["price"], 1000)
        assert_equal(pool["per_consumer_cap"], 10**5)
        assert_equal(pool["expiry"], pool_expiry)
        self.contract(pool["ticket_key"], k4.address, "getpool ticket_key (an address)")
        assert_equal(pool["opened"], height + 1)
        assert_equal(pool["state"], "open")
        assert_equal(pool["closed"], 0)
        assert_raises_rpc_error(-5, None, self.rpc.getpool, "44" * 32)
        # sponsoring content nobody registered is invalid
        assert_raises_rpc_error(-26, None, self.rpc.sendrawtransaction,
                                objects.sponsor(k3, "55" * 32, 10, 1000, 10, pool_expiry, 2))
        self.check_balances()

    def test_receipt(self):
        self.log("channel receipt")
        k2 = self.keys[1]
        relay = self.relay
        nbytes = 3 * MIB
        amount = objects.max_amount(nbytes, self.price)
        assert_equal(amount, 3 * self.price)
        d = bytes(32)
        for i in range(3):
            d = objects.delivery_next(d, self.content_id, i, bytes([i]) * 32)
        # without the relay's signature a receipt does not go to the network
        unsigned = objects.receipt(self.chan_id, 1, nbytes, amount, d, k2)
        e = assert_raises_rpc_error(None, None, self.rpc.sendrawreceipt, unsigned)
        assert_in(e.code, (-22, -26))
        # a receipt signed by the wrong relay
        assert_raises_rpc_error(-26, None, self.rpc.sendrawreceipt,
                                objects.receipt(self.chan_id, 1, nbytes, amount, d, k2, Key()))
        rc = objects.receipt(self.chan_id, 1, nbytes, amount, d, k2, relay)
        rid = self.rpc.sendrawreceipt(rc)
        assert_equal(rid, objects.receipt_id_hex(rc))
        assert_equal(self.rpc.getmempoolinfo()["receipts"], 1)
        bh = self.mine(1)[0]
        blk = self.rpc.getblock(bh)
        assert_equal(blk["receipts"], [rid])
        assert_equal(blk["tx"], [])
        assert_equal(self.rpc.getmempoolinfo()["receipts"], 0)
        ch = self.rpc.getchannel(self.chan_id)
        assert_equal(ch["claimed"], amount)
        assert_equal(ch["seq"], 1)
        assert_equal(ch["bytes"], nbytes)
        assert_equal(ch["digest"], d.hex())
        assert_equal(ch["state"], "open")
        assert_equal(ch["deposit"], self.deposit)
        self.expected[relay.address] += amount - RECEIPT_FEE
        self.expected[self.producer.address] += SUBSIDY + RECEIPT_FEE
        self.check_balances()
        ra = self.rpc.getaccount(relay.address)
        assert_equal(ra["bytes_served"], nbytes)
        assert_equal(ra["bytes_consumed"], 0)
        ca = self.rpc.getaccount(k2.address)
        assert_equal(ca["bytes_consumed"], nbytes)
        assert_equal(ca["bytes_served"], 0)
        # the same seq again, and an amount over the price ceiling, are refused
        assert_raises_rpc_error(-26, None, self.rpc.sendrawreceipt, rc)
        assert_raises_rpc_error(-26, None, self.rpc.sendrawreceipt, objects.receipt(
            self.chan_id, 2, nbytes + MIB, amount + self.price + 1, d, k2, relay))
        assert_raises_rpc_error(-22, None, self.rpc.sendrawreceipt, "a1")

    def test_blocks(self):
        self.log("getblock at every verbosity, getblockheader, getchaintips")
        tip = self.rpc.getblockcount()
        best = self.rpc.getbestblockhash()
        for h in range(0, tip + 1):
            bh = self.rpc.getblockhash(h)
            raw = self.rpc.getblock(bh, 0)
            block = objects.decode_block(raw)
            assert_equal(objects.block_id(block).hex(), bh)
            v1 = check_fields(self.rpc.getblock(bh, 1), "getblock")
            v2 = self.rpc.getblock(bh, 2)
            hdr = block[0]
            assert_equal(v1["hash"], bh)
            assert_equal(v1["height"], h)
            assert_equal(v1["confirmations"], tip - h + 1)
            assert_equal(v1["version"], 1)
            assert_equal(v1["time"], hdr[3])
            assert_equal(v1["tx_root"], hdr[4].hex())
            assert_equal(v1["receipt_root"], hdr[5].hex())
            assert_equal(v1["producer"], objects.address_of(hdr[6]))
            assert_equal(int(v1["target"], 16), hdr[7])
            assert_equal(v1["nonce"], hdr[8])
            assert_equal(v1["size"], len(raw) // 2)
            assert_equal(int(v1["chainwork"], 16), (h + 1) * WORK)
            assert_equal(v1["tx"], [objects.txid_hex(t) for t in block[1]])
            assert_equal(v1["receipts"], [objects.receipt_id_hex(r) for r in block[2]])
            assert_true(objects.check_pow(hdr) or h == 0, "pow of block %d" % h)
            if h > 0:
                assert_equal(objects.block_tx_root(block), hdr[4])
                assert_equal(objects.block_receipt_root(block), hdr[5])
                assert_equal(v1["previousblockhash"], hdr[2].hex())
                assert_true(v1["time"] > 0)
            if h < tip:
                assert_equal(v1["nextblockhash"], self.rpc.getblockhash(h + 1))
            else:
                assert_not_in("nextblockhash", v1)
            assert_true(isinstance(v1["mediantime"], int))
            # verbosity 2: the same, with full objects
            assert_equal({k: v for k, v in v2.items() if k not in ("tx", "receipts")},
                         {k: v for k, v in v1.items() if k not in ("tx", "receipts")})
            assert_equal([t["txid"] for t in v2["tx"]], v1["tx"])
            assert_equal([r["receipt_id"] for r in v2["receipts"]], v1["receipts"])
            for t, raw_tx in zip(v2["tx"], block[1]):
                # decoderawtransaction gives the same object (it may add fields such as size)
                assert_fields(self.rpc.decoderawtransaction(objects.cbor.encode(raw_tx).hex()),
                              t, "decoderawtransaction")
            # the header alone
            hv = check_fields(self.rpc.getblockheader(bh), "getblockheader")
            for k, v in hv.items():
                if k in v1:
                    assert_equal(v, v1[k], msg="getblockheader field " + k)
            for k in ("hash", "height", "time", "producer", "tx_root", "receipt_root",
                      "target", "nonce", "chainwork", "confirmations", "mediantime",
                      "version"):
                assert_in(k, hv)
            hhex = self.rpc.getblockheader(bh, False)
            assert_equal(objects.cbor.decode(bytes.fromhex(hhex)), hdr)
        # mediantime of the tip: median of the last 11 block times
        times = sorted(self.rpc.getblock(self.rpc.getblockhash(h))["time"]
                       for h in range(max(0, tip - 10), tip + 1))
        assert_equal(self.rpc.getblock(best)["mediantime"], times[len(times) // 2])
        assert_equal(self.rpc.getblockchaininfo()["mediantime"], times[len(times) // 2])
        # a receipt and a tx at verbosity 2
        rblock = [self.rpc.getblock(self.rpc.getblockhash(h), 2) for h in range(1, tip + 1)]
        rc = [r for b in rblock for r in b["receipts"]]
        assert_equal(len(rc), 1)
        assert_equal(rc[0]["channel"], self.chan_id)
        assert_equal(rc[0]["seq"], 1)
        txs = {t["txid"]: t for b in rblock for t in b["tx"]}
        assert_equal(txs[self.transfer_txid]["type"], "transfer")
        assert_equal(txs[self.transfer_txid]["from"], self.keys[0].address)
        assert_raises_rpc_error(-5, None, self.rpc.getblock, "66" * 32)
        assert_raises_rpc_error(-5, None, self.rpc.getblockheader, "66" * 32)
        e = assert_raises_rpc_error(None, None, self.rpc.getblock, "xyz")
        assert_in(e.code, (-8, -5))
        assert_raises_rpc_error(-8, None, self.rpc.getblock, best, 3)
        tips = self.rpc.getchaintips()
        [check_fields(t, "getchaintips") for t in tips]
        assert_list_fields(tips, [{"height": tip, "hash": best, "branchlen": 0,
                                   "status": "active"}], "getchaintips")

    def test_validateaddress(self):
        self.log("validateaddress")
        k = self.keys[0]
        v = check_fields(self.rpc.validateaddress(k.address), "validateaddress")
        assert_equal(v, {"isvalid": True, "address": k.address, "pubkey": k.pub.hex()})
        v = self.rpc.validateaddress(k.address.upper())
        assert_equal(v, {"isvalid": True, "address": k.address, "pubkey": k.pub.hex()})
        bad = [k.address[:-1] + ("q" if k.address[-1] != "q" else "p"),  # checksum
               objects.encode_address("bwc", k.pub),  # main chain hrp
               objects.encode_address("tbwc", k.pub),
               k.address[:20] + k.address[20:].upper(),  # mixed case
               "", "dbwc1", "hello"]
        # 32 bytes that are not an x coordinate on the curve
        x = 5
        while objects.bip340.lift_x(x) is not None:
            x += 1
        bad.append(objects.encode_address("dbwc", x.to_bytes(32, "big")))
        for a in bad:
            v = self.rpc.validateaddress(a)
            assert_equal(v["isvalid"], False, msg=a)
            assert_true(isinstance(v.get("error"), str) and v["error"], "error text for " + a)
            assert_equal(sorted(v), ["error", "isvalid"])
        assert_raises_rpc_error(-5, None, self.rpc.getaccount, bad[0])
        assert_raises_rpc_error(-5, None, self.rpc.getbalance, bad[1])

    def test_node_info(self):
        self.log("estimatefee, getnetworkinfo, uptime")
        ef = check_fields(self.rpc.estimatefee(), "estimatefee")
        assert_true(isinstance(ef["fee"], int) and ef["fee"] >= MIN_FEE, repr(ef))
        assert_true(isinstance(ef["feerate"], (int, float)) and ef["feerate"] >= 0, repr(ef))
        ni = check_fields(self.rpc.getnetworkinfo(), "getnetworkinfo")
        assert_true(ni["version"], repr(ni))
        assert_true(ni["subversion"].startswith("/bwcd:"), repr(ni))
        assert_equal(ni["protocolversion"], 1)
        assert_equal(ni["connections"], 0)
        assert_equal(ni["relayfee"], MIN_FEE)
        up = self.rpc.uptime()
        assert_true(isinstance(up, int), repr(up))
        assert_true(0 <= up <= time.time() - self.start_time + 2, "uptime %d" % up)

    METHODS = ["getblockchaininfo", "getblockcount", "getbestblockhash", "getblockhash",
               "getblock", "getblockheader", "getchaintips", "submitblock", "generate",
               "getaccount", "getbalance", "listtransactions", "listsinceblock",
               "gettransaction", "getrawtransaction", "decoderawtransaction",
               "sendrawtransaction", "sendrawreceipt", "getmempoolinfo", "getrawmempool",
               "getchannel", "listchannels", "getcontent", "listcontent", "getrelay",
               "listrelays", "getpool", "validateaddress", "estimatefee", "getnetworkinfo",
               "uptime", "stop", "help"]

    def test_help(self):
        self.log("help")
        text = self.rpc.help()
        names = [line.split()[0] for line in text.splitlines() if line.strip()]
        for m in self.METHODS:
            assert_in(m, names, msg="help lists " + m)
        for m in self.METHODS:
            h = self.rpc.help(m)
            assert_true(isinstance(h, str) and m in h, "help %s: %r" % (m, h))
        assert_equal(self.rpc.help("nosuchmethod"), "help: unknown command: nosuchmethod")

    def test_cli(self):
        self.log("bwc-cli")
        n = self.node
        assert_equal(n.cli("getblockcount"), self.rpc.getblockcount())
        best = self.rpc.getbestblockhash()
        assert_equal(n.cli("getbestblockhash"), best)
        assert_equal(n.cli("getblock", best), self.rpc.getblock(best))
        assert_equal(n.cli("getblock", best, "0"), self.rpc.getblock(best, 0))
        assert_equal(n.cli("getblockhash", "height=1", named=True), self.rpc.getblockhash(1))
        assert_equal(n.cli("getblock", "blockhash=" + best, "verbosity=2", named=True),
                     self.rpc.getblock(best, 2))
        assert_equal(n.cli("getbalance", self.keys[0].address),
                     self.expected[self.keys[0].address])
        assert_equal(n.cli("validateaddress", self.keys[0].address)["isvalid"], True)
        # -stdin: a transfer's hex on standard input
        k4 = self.keys[3]
        tx = objects.transfer(k4, self.recv, 5000, self.nonce(k4))
        txid = n.cli("sendrawtransaction", stdin=tx + "\n")
        assert_equal(txid, objects.txid_hex(tx))
        assert_equal(self.rpc.getrawmempool(), [txid])
        self.mine(1)
        self.expected[k4.address] -= 5000 + MIN_FEE
        self.expected[self.recv.address] += 5000
        self.expected[self.producer.address] += SUBSIDY + MIN_FEE
        # -stdin with -named
        assert_equal(n.cli("getrawtransaction", stdin="txid=%s\nverbose=true\n" % txid,
                           named=True)["blockhash"], self.rpc.getbestblockhash())
        # failures: exit status 1 and the error on stderr
        for args, code in ((["getblockhash", "100000"], -8),
                           (["nosuchmethod"], -32601),
                           (["sendrawtransaction", "zz"], -22),
                           (["getaccount", "nonsense"], -5)):
            p = n.cli_raw(*args)
            assert_equal(p.returncode, 1, msg=" ".join(args))
            assert_in("error code: %d" % code, p.stderr, msg=" ".join(args))
            assert_in("error message:", p.stderr)
            assert_equal(p.stdout, "")
        # a negative number after the method is an argument, not an option
        try:
            n.cli("getblockhash", "-5")
            raise AssertionError("no error")
        except CLIError as e:
            assert_equal(e.returncode, 1)
            assert_in("error code: -8", e.stderr)
        # wrong port: cannot connect
        p = n.cli_raw("getblockcount", options=["-rpcport=1"])
        assert_equal(p.returncode, 1)
        assert_in("could not connect", p.stderr)

    def test_restart(self):
        self.log("restart with -mineraddress: everything persisted")
        n = self.node
        best = self.rpc.getbestblockhash()
        height = self.rpc.getblockcount()
        cookie = n.cookie_auth()
        channel = self.rpc.getchannel(self.chan_id)
        tx = self.rpc.gettransaction(self.transfer_txid)
        n.stop()
        assert_true(not os.path.exists(n.cookie_path), "cookie deleted at shutdown")
        miner = Key()
        n.start(["-mineraddress=" + miner.address])
        assert_true(n.cookie_auth() != cookie, "a new cookie at every start")
        assert_equal(self.rpc.getbestblockhash(), best)
        assert_equal(self.rpc.getblockcount(), height)
        assert_equal(self.rpc.getchannel(self.chan_id), channel)
        assert_equal(self.rpc.gettransaction(self.transfer_txid), tx)
        self.check_balances()
        bh = self.rpc.generate(1)
        assert_equal(len(bh), 1)
        assert_equal(self.rpc.getblock(bh[0])["producer"], miner.address)
        assert_equal(self.rpc.getbalance(miner.address), SUBSIDY)
        self.expected[miner.address] = SUBSIDY
        assert_equal(self.rpc.gettransaction(self.transfer_txid)["confirmations"],
                     tx["confirmations"] + 1)
        # the sum of all balances: allocations + subsidies - the channel deposit still held
        # - the pool's balance (fees and receipt fees moved to the producer)
        total = sum(self.rpc.getbalance(a) for a in self.expected)
        held = (self.deposit - self.rpc.getchannel(self.chan_id)["claimed"]) + 10**7
        assert_equal(total + held, 4 * ALLOC + (height + 1) * SUBSIDY)
        self.check_balances()


if __name__ == "__main__":
    RPCBasicTest().main()
