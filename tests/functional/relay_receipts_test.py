#!/usr/bin/env python3
"""relay_receipts_test.py: the relay's receipt rules over HTTP (PROTOCOL.md §8, doc/relay.md),
driven by an independent consumer (test_framework/relay.py, receipts signed with objects.py),
no wallet: a channel opened with objects.py; chunks asked for with Bwc-Channel; a paid request
without Bwc-Receipt gets 402 receipt-required and serves nothing, nor does one whose receipt a
stranger signed (400 bad-receipt-consumer-sig); on opening receipts alone (bytes 0, a new seq
for each request) the relay stops at the credit window (402 credit-window-exceeded, and nothing
more is served however often one asks); a receipt below the price is taken but serves nothing;
the lane's newest receipt again on a chunk request gets 409 receipt-replayed and serves
nothing: a stranger who reads it from GET /v1/channel and replays it is not served, and the
owner goes on as before; stale receipts (seq not above the newest, bytes or amount going down, a
wrong digest, more bytes than served) get 409, by POST and as Bwc-Receipt, which then serves
nothing; one over the price ceiling, over the deposit, or with a bad signature gets 400; the
newest sent again by POST is 200. The relay settles its newest receipt; the stale receipt,
signed by the relay too, is then refused by the chain (sendrawreceipt: bad-receipt-seq) and by
the relay (400 bad-receipt-seq). An expiring channel: serving stops at its expiry (402
channel-expired), the relay settles a receipt below its settle threshold before the window
closes, and the block at expiry + settle_window refunds the consumer exactly deposit -
claimed."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_framework import cbor, objects  # noqa: E402
from test_framework.node import JSONRPCException  # noqa: E402
from test_framework.objects import Key  # noqa: E402
from test_framework.relay import (RECEIPT_FEE, SETTLE_WINDOW, ChannelPayer,  # noqa: E402
                                  RelayClient, RelayTestFramework, b64url_decode,
                                  b64url_encode, write_random_file)
from test_framework.util import (TestFailure, assert_equal, assert_raises_rpc_error,  # noqa: E402
                                 assert_true, wait_until)

CHUNK = 64 * 1024
N_CHUNKS = 24
PRICE = 1000000                 # units per MiB: 62,500 units per 64 KiB chunk
PER_CHUNK = PRICE * CHUNK >> 20
WINDOW = 4 * CHUNK              # -relaycreditwindow
MULTIPLE = 100                  # settle at 100 x receipt_fee = 100,000 units (1.6 chunks)
DEPOSIT = 20 * PER_CHUNK


class RelayReceiptsTest(RelayTestFramework):

    def run_test(self):
        self.relay_key = Key()
        self.node = self.relay_node(price=PRICE, keyfile_key=self.relay_key, extra=[
            "-relaycreditwindow=%d" % WINDOW, "-relaysettlemultiple=%d" % MULTIPLE,
            "-debug=relay"])
        self.node.start()
        self.rpc = self.node.rpc
        self.client = RelayClient(self.node.relay_port)
        self.mine(self.node)

        path = os.path.join(self.tmpdir, "content.bin")
        data = write_random_file(path, N_CHUNKS * CHUNK - 1000, seed=3)
        self.m, self.cid = objects.manifest(data, CHUNK)
        r = self.rpc.relayimport(path, True, CHUNK)
        assert_equal(r, {"content_id": self.cid.hex(), "chunk_size": CHUNK, "pinned": True})

        self.consumer = Key()
        self.fund(self.node, self.consumer, 10 * DEPOSIT)
        self.mine(self.node)

        self.check_status()
        self.channel_refusals()
        self.credit_window()
        self.stale_receipts()
        self.settle_and_replay_on_chain()
        self.expiring_channel()

    # ------------------------------------------------------------------ helpers

    def open_channel(self, deposit, expiry):
        cid = self.send(self.node, self.consumer, objects.channel_open, self.relay_key, deposit,
                        PRICE, expiry)
        self.mine(self.node)
        assert_equal(self.rpc.getchannel(cid)["state"], "open")
        return cid

    def view(self, channel):
        r = self.client.channel(channel)
        assert_equal(r.status, 200, msg="GET /v1/channel: %r" % r)
        return r.json()

    def served_total(self):
        return self.rpc.getrelaystats()["served"]["total_bytes"]

    def expect(self, reply, status, code, what):
        if reply.status != status or reply.code != code:
            raise TestFailure("%s: expected %d %s, got %r" % (what, status, code, reply))

    def refused_chunk(self, payer, index, receipt, status, code, what):
        """A chunk request that must be refused and serve nothing."""
        before = self.view(payer.channel.hex())
        total = self.served_total()
        r = payer.client.chunk(self.cid, index, channel=payer.channel, receipt=receipt)
        self.expect(r, status, code, what)
        assert_equal(r.body.startswith(b'{"error"'), True, msg=what)
        after = self.view(payer.channel.hex())
        assert_equal(after["bytes_served"], before["bytes_served"], msg=what)
        assert_equal(after["receipt"], before["receipt"], msg=what + ": the newest receipt")
        assert_equal(self.served_total(), total, msg=what + ": bytes served")
        return r

    # ------------------------------------------------------------------ parts

    def check_status(self):
        self.log("/v1/status, the manifest, and a chunk without payment")
        st = self.client.status()
        assert_equal(st["address"], self.relay_key.address)
        assert_equal(st["pubkey"], self.relay_key.pub.hex())
        assert_equal(st["price"], PRICE)
        assert_equal(st["credit_window"], WINDOW)
        assert_equal(st["chain_id"], objects.DEV_CHAIN_ID.hex())
        assert_equal(st["height"], self.rpc.getblockcount())
        r = self.client.manifest(self.cid)
        assert_equal(r.status, 200)
        assert_equal(r.header("Content-Type"), "application/cbor")
        assert_equal(r.body, cbor.encode(self.m))
        assert_equal(objects.tagged_hash("bwc/manifest", r.body), self.cid)
        self.expect(self.client.chunk(self.cid, 0), 402, "payment-required", "no payment")
        self.expect(self.client.chunk(self.cid, N_CHUNKS, channel=bytes(32)), 416,
                    "index-out-of-range", "index past the end")
        self.expect(self.client.chunk(self.cid, 0, channel=bytes(32)), 402, "channel-unknown",
                    "an unknown channel")
        self.expect(self.client.chunk(self.cid, 0, receipt=b"\xa0"), 400,
                    "bad-payment-headers", "a receipt without a channel")

    def channel_refusals(self):
        self.log("paths, channels that do not pay this relay, a used-up deposit")
        cid = self.cid.hex()
        for path in ("/v1/chunk/%s/0" % cid.upper(), "/v1/chunk/%s/00" % cid,
                     "/v1/chunk/%s/0?x=1" % cid, "/v1/chunk/%s/0/" % cid,
                     "/v1/manifest/%s/" % cid, "/v1/chunk/%s/%%30" % cid, "/v2/status"):
            self.expect(self.client.request("GET", path), 404, "not-found", "GET " + path)
        self.expect(self.client.channel(bytes(32)), 404, "not-found", "an unknown lane")
        self.expect(self.client.request("POST", "/v1/receipt", body=b""), 400,
                    "bad-receipt-empty", "an empty POST")
        self.expect(self.client.request("POST", "/v1/receipt", body=b"\xa0" * 600), 400,
                    "bad-receipt-oversize", "a POST over 512 bytes")
        tip = self.rpc.getblockcount()
        other = Key()
        cheap = self.send(self.node, self.consumer, objects.channel_open, self.relay_key,
                          DEPOSIT, PRICE - 1, tip + 1000)
        elsewhere = self.send(self.node, self.consumer, objects.channel_open, other, DEPOSIT,
                              PRICE, tip + 1000)
        small = self.send(self.node, self.consumer, objects.channel_open, self.relay_key,
                          2 * PER_CHUNK, PRICE, tip + 1000)
        self.mine(self.node)
        self.expect(self.client.chunk(self.cid, 0, channel=cheap), 402, "channel-price-too-low",
                    "a channel below the relay's price")
        self.expect(self.client.chunk(self.cid, 0, channel=elsewhere), 402,
                    "channel-wrong-relay", "a channel to another relay")
        p = ChannelPayer(self.client, small, self.consumer, PRICE, self.m, self.cid)
        for i in range(2):
            assert_equal(p.fetch(i).status, 200)
        r = p.fetch(2)
        self.expect(r, 402, "deposit-exhausted", "a third chunk on a deposit for two")
        assert_equal(r.header("Bwc-Served"), str(2 * CHUNK))
        # a receipt of another channel on this one's request
        self.expect(self.client.chunk(self.cid, 2, channel=cheap, receipt=p.newest), 402,
                    "channel-price-too-low", "a wrong-lane receipt on a refused channel")
        other_payer = ChannelPayer(self.client, bytes(32), self.consumer, PRICE, self.m, self.cid)
        self.expect(self.client.chunk(self.cid, 2, channel=small,
                                      receipt=other_payer.sign(nbytes=0, seq=1)),
                    400, "receipt-wrong-lane", "a receipt of another channel")
        assert_equal(self.view(small)["bytes_served"], 2 * CHUNK)
        self.small = (small, p.amount)  # settled with the main channel below

    def credit_window(self):
        self.log("a paid request without a receipt, or with a stranger's: refused, nothing "
                 "served")
        tip = self.rpc.getblockcount()
        self.chan = self.open_channel(DEPOSIT, tip + 1000)
        p = self.payer = ChannelPayer(self.client, self.chan, self.consumer, PRICE, self.m,
                                      self.cid)
        total = self.served_total()
        r = self.client.chunk(self.cid, 0, channel=self.chan)
        self.expect(r, 402, "receipt-required", "a chunk without Bwc-Receipt")
        assert_equal(r.header("Bwc-Served"), "0")
        stranger = p.sign(nbytes=0, amount=0, digest=objects.ZERO32, key=Key())
        r = self.client.chunk(self.cid, 0, channel=self.chan, receipt=stranger)
        self.expect(r, 400, "bad-receipt-consumer-sig", "an opening receipt by another key")
        self.expect(self.client.channel(self.chan), 404, "not-found",
                    "the lane after refused requests")
        assert_equal(self.served_total(), total, msg="bytes served by refused requests")

        self.log("the opening receipt sent again on a chunk request: 409 receipt-replayed")
        opening = p.open()
        r = p.fetch(0, receipt=opening)
        assert_equal(r.status, 200, msg="chunk 0 on the opening receipt: %r" % r)
        self.refused_chunk(p, 1, opening, 409, "receipt-replayed",
                           "the opening receipt again on a chunk request")
        self.log("on opening receipts alone (bytes 0, a new seq each) the relay serves exactly "
                 "one credit window, then 402")
        for i in range(1, WINDOW // CHUNK):
            r = p.fetch(i, receipt=p.open())
            assert_equal(r.status, 200, msg="chunk %d: %r" % (i, r))
            assert_equal(r.header("Bwc-Served"), str((i + 1) * CHUNK))
        v = self.view(self.chan)
        assert_equal(v["bytes_served"], WINDOW)
        assert_equal((v["receipt"]["seq"], v["receipt"]["bytes"], v["receipt"]["amount"],
                      v["receipt"]["digest"]), (p.seq, 0, 0, objects.ZERO32.hex()))
        assert_equal(p.seq, WINDOW // CHUNK)
        assert_equal(v["digest"], p.digest.hex())
        assert_equal([e["index"] for e in v["log"]], list(range(WINDOW // CHUNK)))
        assert_equal(v["log"][-1]["digest_after"], p.digest.hex())
        for i in (WINDOW // CHUNK, WINDOW // CHUNK + 1, 0, WINDOW // CHUNK):
            # a new opening receipt is taken, but the window is full
            total = self.served_total()
            fresh = p.open()
            r = self.client.chunk(self.cid, i, channel=p.channel, receipt=fresh)
            self.expect(r, 402, "credit-window-exceeded",
                        "chunk %d past the window on an opening receipt" % i)
            assert_equal(r.header("Bwc-Served"), str(WINDOW))
            v = self.view(self.chan)
            assert_equal((v["bytes_served"], v["receipt"]["seq"]), (WINDOW, p.seq))
            assert_equal(self.served_total(), total)
            # and sent again it is refused before the window is even looked at
            self.refused_chunk(p, i, fresh, 409, "receipt-replayed",
                               "chunk %d past the window on the same receipt again" % i)
        r = self.refused_chunk(p, WINDOW // CHUNK, None, 402, "receipt-required",
                               "a chunk without Bwc-Receipt on a lane in use")
        assert_equal(r.header("Bwc-Served"), str(WINDOW))

        self.log("a receipt below the price is taken but serves nothing (402)")
        low = p.sign(amount=objects.max_amount(p.bytes, PRICE) - 1)
        r = self.client.chunk(self.cid, 4, channel=p.channel, receipt=low)
        self.expect(r, 402, "receipt-amount-too-low", "a receipt paying too little")
        p.seq += 1
        assert_equal(self.view(self.chan)["receipt"]["seq"], p.seq)
        assert_equal(self.view(self.chan)["bytes_served"], WINDOW)

        self.log("countersigning, the relay serves on")
        for i in range(4, 9):
            r = p.fetch(i)
            assert_equal(r.status, 200, msg="chunk %d: %r" % (i, r))

        self.log("a stranger replays the newest receipt, public through GET /v1/channel: 409 "
                 "receipt-replayed, nothing served; the owner goes on")
        stranger = RelayClient(self.node.relay_port)
        public = b64url_decode(self.view(self.chan)["receipt"]["receipt"])
        assert_equal(public, p.newest)
        for i in (9, 0, N_CHUNKS - 1):
            before = self.view(self.chan)
            total = self.served_total()
            r = stranger.chunk(self.cid, i, channel=p.channel, receipt=public)
            self.expect(r, 409, "receipt-replayed", "the stranger's replay for chunk %d" % i)
            assert_equal(self.view(self.chan), before,
                         msg="the lane after the stranger's replay for chunk %d" % i)
            assert_equal(self.served_total(), total)
        stranger.close()
        v = self.view(self.chan)
        assert_equal((v["bytes_served"], v["receipt"]["seq"]), (9 * CHUNK, p.seq))
        assert_equal([e["index"] for e in v["log"]], [8])
        r = p.fetch(9)
        assert_equal(r.status, 200, msg="the owner's chunk 9 after the replays: %r" % r)
        # the last chunk is covered by a POSTed receipt
        p.countersign()
        r = p.post()
        assert_equal(r.status, 200, msg="POST the newest: %r" % r)
        v = r.json()
        assert_equal((v["receipt"]["seq"], v["receipt"]["bytes"], v["receipt"]["amount"]),
                     (p.seq, 10 * CHUNK, 10 * PER_CHUNK))
        assert_equal(v["receipt"]["digest"], p.digest.hex())
        assert_equal(v["log"], [])
        assert_equal(v["bytes_served"], 10 * CHUNK)

    def stale_receipts(self):
        self.log("stale and replayed receipts: 409; bad ones: 400; the newest again: 200")
        p = self.payer
        newest = p.newest
        # the first receipt covering 4 chunks (the ones before it are opening receipts)
        self.older = [x for x in p.receipts if x[1] == 4 * CHUNK][0][3]
        seq = p.seq
        n = p.bytes
        ceiling = objects.max_amount(n, PRICE)
        # digest after chunk 8 (one chunk less)
        d8 = objects.ZERO32
        for i in range(9):
            d8 = objects.delivery_next(d8, self.cid, i, self.m[3][i])
        cases = [
            (self.older, 409, "receipt-seq", "an older receipt replayed"),
            (p.sign(seq=seq, amount=ceiling - 1), 409, "receipt-seq",
             "another receipt with the newest's seq"),
            (p.sign(seq=seq + 1, nbytes=n - CHUNK, digest=d8), 409, "receipt-bytes-down",
             "bytes going down"),
            (p.sign(seq=seq + 1, amount=ceiling - 1), 409, "receipt-amount-down",
             "amount going down"),
            (p.sign(seq=seq + 1, digest=b"\x01" * 32), 409, "receipt-digest",
             "a digest that is not the delivery log's"),
            (p.sign(seq=seq + 1, nbytes=n + CHUNK,
                    amount=objects.max_amount(n + CHUNK, PRICE)), 409,
             "receipt-bytes-over-served", "more bytes than served"),
            (p.sign(seq=seq + 1, amount=ceiling + 1), 400, "bad-receipt-over-price",
             "one unit over the price ceiling"),
            (p.sign(seq=seq + 1, amount=DEPOSIT + 1, nbytes=n), 400, "bad-receipt-over-deposit",
             "over the deposit"),
            (p.sign(seq=seq + 1, key=Key()), 400, "bad-receipt-consumer-sig",
             "signed by another key"),
            (b"\xa0", 400, "bad-receipt-missing-field", "an empty map"),
        ]
        for raw, status, code, what in cases:
            self.expect(self.client.post_receipt(raw), status, code, "POST " + what)
            assert_equal(self.view(self.chan)["receipt"]["seq"], seq, msg=what)
        # as Bwc-Receipt on a chunk request: refused, nothing served
        for raw, status, code, what in cases[:6]:
            self.refused_chunk(p, 10, raw, status, code, "Bwc-Receipt: " + what)
        bad_sig = bytearray(p.sign(seq=seq + 1))
        bad_sig[-1] ^= 1
        self.refused_chunk(p, 10, bytes(bad_sig), 400, "bad-receipt-consumer-sig",
                           "Bwc-Receipt with a flipped signature bit")
        r = self.client.chunk(self.cid, 10, channel=p.channel,
                              headers={"Bwc-Receipt": b64url_encode(newest) + "="})
        self.expect(r, 400, "bad-receipt-encoding", "padded base64url")
        # the newest again: 200 by POST (submitting the same proof twice), 409 with a chunk
        r = self.client.post_receipt(newest)
        assert_equal(r.status, 200, msg="the newest again: %r" % r)
        assert_equal(r.json()["receipt"]["seq"], seq)
        self.refused_chunk(p, 10, newest, 409, "receipt-replayed",
                           "Bwc-Receipt: the newest again")
        # the next seq at the newest's point (bytes, amount and digest) is served
        r = p.fetch(10)
        assert_equal(r.status, 200, msg="chunk 10 on a new receipt at the newest point: %r" % r)
        assert_equal(p.receipts[-1][:3], (seq + 1, n, ceiling))
        r = p.fetch(11)
        assert_equal(r.status, 200, msg="chunk 11: %r" % r)
        p.countersign()
        assert_equal(p.post().status, 200)

    def settle_and_replay_on_chain(self):
        self.log("the relay settles its newest receipt; the stale one is refused by the chain")
        p = self.payer
        before = self.rpc.getaccount(self.relay_key.address)["balance"]
        assert_equal(before, 0)
        small, small_amount = self.small
        stats = self.rpc.getrelaystats()
        # (the small channel settled on the block after its receipt, the main one is due)
        assert_equal(stats["earnings"]["unsettled"],
                     p.amount + small_amount - self.rpc.getchannel(small)["claimed"])
        self.mine(self.node)  # the relay submits on this block
        wait_until(lambda: self.rpc.getmempoolinfo()["receipts"] >= 1, timeout=10,
                   what="the relay's receipt in the receipt pool")
        self.mine(self.node)
        ch = self.rpc.getchannel(self.chan)
        assert_equal((ch["seq"], ch["bytes"], ch["claimed"], ch["digest"]),
                     (p.seq, p.bytes, p.amount, p.digest.hex()))
        assert_equal(self.rpc.getchannel(small)["claimed"], small_amount)
        earned = p.amount + small_amount - 2 * RECEIPT_FEE
        after = self.rpc.getaccount(self.relay_key.address)
        assert_equal(after["balance"], earned)
        assert_equal(after["bytes_served"], p.bytes + 2 * CHUNK)
        stats = self.rpc.getrelaystats()
        assert_equal(stats["earnings"]["settled_balance"], earned)
        assert_equal(stats["earnings"]["unsettled"], 0)
        assert_equal(stats["earnings"]["bytes_served_on_chain"], p.bytes + 2 * CHUNK)
        assert_equal(stats["earnings"]["settlements_since_start"], 2)

        # the older receipt, with the relay's signature too: the chain refuses it
        r = cbor.decode(self.older)
        r[14] = self.relay_key.sign(objects.receipt_id(r))
        stale = cbor.encode(r).hex()
        assert_raises_rpc_error(-26, "bad-receipt-seq", self.rpc.sendrawreceipt, stale)
        # and so does the relay, now that the chain holds a higher seq
        self.expect(self.client.post_receipt(self.older), 400, "bad-receipt-seq",
                    "POST a receipt below the chain's seq")
        # a new seq that claims less than the chain paid
        low = p.sign(seq=p.seq + 1, nbytes=4 * CHUNK,
                     digest=objects.ZERO32, amount=objects.max_amount(4 * CHUNK, PRICE))
        self.expect(self.client.post_receipt(low), 400, "bad-receipt-amount",
                    "POST a receipt below the chain's claimed amount")
        # the settled one itself again: it is the relay's newest, 200
        assert_equal(self.client.post_receipt(p.newest).status, 200)
        try:
            self.rpc.sendrawreceipt(p.newest.hex())
            raise TestFailure("a consumer-only receipt was accepted by sendrawreceipt")
        except JSONRPCException as e:
            assert_equal(e.code, -26)

    def expiring_channel(self):
        self.log("an expiring channel: 402 at expiry, settled below the threshold, refunded")
        tip = self.rpc.getblockcount()
        expiry = tip + 5
        chan = self.open_channel(DEPOSIT, expiry)  # at tip + 1
        bal0 = self.rpc.getaccount(self.consumer.address)["balance"]
        relay0 = self.rpc.getaccount(self.relay_key.address)["balance"]
        p = ChannelPayer(self.client, chan, self.consumer, PRICE, self.m, self.cid)
        assert_equal(p.fetch(0).status, 200)
        p.countersign()
        assert_equal(self.client.post_receipt(p.newest).status, 200)
        assert_true(p.amount < MULTIPLE * RECEIPT_FEE, "below the settle threshold")
        # below the threshold: not settled while the channel is open
        while self.rpc.getblockcount() + 2 < expiry:
            self.mine(self.node)
            assert_equal(self.rpc.getmempoolinfo()["receipts"], 0)
        assert_equal(self.rpc.getchannel(chan)["claimed"], 0)
        # from the block before expiry on, the next block is at expiry: serving stops and the
        # relay settles what it holds (doc/relay.md: "from the channel's expiry on")
        self.mine(self.node)
        self.refused_chunk(p, 1, p.newest, 402, "channel-expired", "a chunk at expiry")
        wait_until(lambda: self.rpc.getmempoolinfo()["receipts"] == 1, timeout=10,
                   what="the relay settles before the window closes")
        self.mine(self.node)
        ch = self.rpc.getchannel(chan)
        assert_equal((ch["claimed"], ch["seq"], ch["state"]), (p.amount, 2, "settling"))
        assert_equal(self.rpc.getaccount(self.relay_key.address)["balance"],
                     relay0 + p.amount - RECEIPT_FEE)
        # the settle window ends: the block at expiry + settle_window refunds
        self.mine(self.node, expiry + SETTLE_WINDOW - 1 - self.rpc.getblockcount())
        assert_equal(self.rpc.getchannel(chan)["state"], "settling")
        assert_equal(self.rpc.getaccount(self.consumer.address)["balance"], bal0)
        self.mine(self.node)
        ch = self.rpc.getchannel(chan)
        assert_equal((ch["state"], ch["closed"]), ("closed", expiry + SETTLE_WINDOW))
        assert_equal(self.rpc.getaccount(self.consumer.address)["balance"],
                     bal0 + DEPOSIT - p.amount)
        # the first channel (expiry far away) is untouched; the closed one serves nothing
        self.expect(self.client.post_receipt(p.sign()), 400, "bad-receipt-closed",
                    "a receipt on a closed channel")
        assert_equal(self.rpc.getrelaystats()["earnings"]["unsettled"], 0)
        # the relay forgets the closed lane; the open one stays
        wait_until(lambda: self.client.channel(chan).status == 404, timeout=10,
                   what="the closed channel's lane forgotten")
        assert_equal(self.view(self.chan)["receipt"]["seq"], self.payer.seq)
        assert_equal(self.rpc.getrelaystats()["channels"]["total"], 2)


if __name__ == "__main__":
    RelayReceiptsTest().main()
