#!/usr/bin/env python3
"""rpc_errors_test.py: the JSON-RPC server's answers to bad requests: authentication (401),
HTTP method and path, parse errors, wrong parameter types and counts, unknown methods,
batches (mixed, at and over the limit), JSON-RPC 2.0 notifications, and the reject strings of
sendrawtransaction / sendrawreceipt. The node must keep serving after each. Also the cookie:
mode 0600, a new secret at every start, the old one refused, and -rpcuser/-rpcpassword."""

import json
import os
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_framework import objects  # noqa: E402
from test_framework.objects import DEV_SPEC, Key, dev_keys  # noqa: E402
from test_framework.test_framework import BwcTestFramework  # noqa: E402
from test_framework.util import (assert_equal, assert_in, assert_raises_rpc_error,  # noqa: E402
                                 assert_true)

MIN_FEE = DEV_SPEC["economics"]["min_fee"]


class RPCErrorsTest(BwcTestFramework):
    num_nodes = 1

    def post_json(self, obj, **kw):
        status, headers, body = self.node.http_post(json.dumps(obj), **kw)
        return status, headers, (json.loads(body) if body else None)

    def alive(self):
        assert_equal(self.node.rpc.getblockcount(), self.height)

    def run_test(self):
        self.node = self.nodes[0]
        rpc = self.node.rpc
        self.keys = dev_keys()
        self.producer = Key()
        rpc.generate(2, self.producer.address)
        self.height = 2

        self.test_auth()
        self.test_http()
        self.test_parse_and_params()
        self.test_batches()
        self.test_sendraw()
        self.test_cookie_and_userpass()

    def test_auth(self):
        self.log("authentication")
        body = json.dumps({"method": "getblockcount", "params": [], "id": 1})
        status, headers, _ = self.node.http_post(body, auth=None)
        assert_equal(status, 401)
        assert_in("basic", headers.get("www-authenticate", "").lower())
        status, _, _ = self.node.http_post(body, auth="__cookie__:" + "00" * 32)
        assert_equal(status, 401)
        secret = self.node.cookie_auth().split(":", 1)[1]
        status, _, _ = self.node.http_post(body, auth="__cookie__:" + secret[:-1])
        assert_equal(status, 401)
        status, _, _ = self.node.http_post(body, auth="nobody:" + secret)
        assert_equal(status, 401)
        status, _, _ = self.node.http_post(body, auth=None,
                                           headers={"Authorization": "Bearer " + secret})
        assert_equal(status, 401)
        status, _, _ = self.node.http_post(body, auth=None,
                                           headers={"Authorization": "Basic !!!notbase64"})
        assert_equal(status, 401)
        status, _, reply = self.post_json({"method": "getblockcount", "params": [], "id": 1})
        assert_equal(status, 200)
        assert_equal(reply, {"result": self.height, "error": None, "id": 1})
        self.alive()

    def test_http(self):
        self.log("HTTP method and path")
        status, headers, _ = self.node.http_post(b"", method="GET")
        assert_equal(status, 405)
        assert_in("POST", headers.get("allow", ""))
        status, _, _ = self.node.http_post(
            json.dumps({"method": "getblockcount", "id": 1}), path="/wallet/x")
        assert_equal(status, 404)
        self.alive()

    def test_parse_and_params(self):
        self.log("parse errors, parameter types, unknown methods")
        for bad in (b"{", b"{\"method\": ", b"not json at all", b"\xff\xfe", b"", b"42",
                    b"\"string\""):
            status, _, body = self.node.http_post(bad)
            reply = json.loads(body)
            assert_equal(status, 500, msg=repr(bad))
            assert_equal(reply["error"]["code"], -32700, msg=repr(bad))
            assert_equal(reply["result"], None)
            assert_equal(reply["id"], None)
        rpc = self.node.rpc
        # wrong JSON types: -3 (RPC_TYPE_ERROR) or -8 for a bad value
        for method, params in (("getblockhash", ["zero"]), ("getblockhash", [1.5]),
                               ("getblock", [12]), ("getblock", [[]]),
                               ("generate", ["x", self.producer.address]),
                               ("getbalance", [123]), ("getrawmempool", ["yes"]),
                               ("listtransactions", [self.producer.address, "ten"]),
                               ("gettransaction", [{}])):
            e = assert_raises_rpc_error(None, None, self.node.call, method, params)
            assert_in(e.code, (-3, -8), msg="%s %r: %s" % (method, params, e))
        assert_raises_rpc_error(-8, None, rpc.getblockhash, 10**6)
        assert_raises_rpc_error(-8, None, rpc.getblock, "00" * 31)
        # unknown method: -32601 and HTTP 404
        e = assert_raises_rpc_error(-32601, None, rpc.nosuchmethod)
        assert_equal(e.http_status, 404)
        # too many positional parameters, unknown named parameter
        assert_raises_rpc_error(-32602, None, rpc.getblockcount, 1)
        assert_raises_rpc_error(-32602, None, self.node.call, "getblockhash", {"hieght": 0})
        assert_equal(self.node.call("getblockhash", {"height": 0}), rpc.getblockhash(0))
        # invalid requests
        status, _, reply = self.post_json({"params": [], "id": 7})
        assert_equal(reply["error"]["code"], -32600)
        assert_equal(status, 400)
        status, _, reply = self.post_json({"method": 5, "id": 7})
        assert_equal(reply["error"]["code"], -32600)
        status, _, reply = self.post_json({"method": "getblockcount", "params": 5, "id": 7})
        assert_equal(reply["error"]["code"], -32600)
        # JSON-RPC 2.0: the 2.0 shape, HTTP 200 even for errors, notifications not answered
        status, _, reply = self.post_json({"jsonrpc": "2.0", "method": "getblockcount",
                                           "id": "a"})
        assert_equal((status, reply), (200, {"jsonrpc": "2.0", "result": self.height,
                                             "id": "a"}))
        status, _, reply = self.post_json({"jsonrpc": "2.0", "method": "nosuch", "id": 3})
        assert_equal(status, 200)
        assert_equal(reply["error"]["code"], -32601)
        assert_true("result" not in reply, repr(reply))
        status, _, reply = self.post_json({"jsonrpc": "2.0", "method": "getblockcount"})
        assert_equal((status, reply), (204, None))
        # version 1 without an id is still answered
        status, _, reply = self.post_json({"method": "getblockcount"})
        assert_equal(reply, {"result": self.height, "error": None, "id": None})
        self.alive()

    def test_batches(self):
        self.log("batches")
        batch = [{"method": "getblockcount", "id": 1},
                 {"method": "nosuchmethod", "id": 2},
                 {"method": "getblockhash", "params": [0], "id": 3},
                 {"method": "getblockhash", "params": ["x"], "id": 4},
                 "not a request",
                 {"jsonrpc": "2.0", "method": "getblockcount"},  # notification: no entry
                 {"jsonrpc": "2.0", "method": "getbestblockhash", "id": 6}]
        status, _, reply = self.post_json(batch)
        assert_equal(status, 200)
        assert_equal(len(reply), 6)
        assert_equal(reply[0], {"result": self.height, "error": None, "id": 1})
        assert_equal(reply[1]["error"]["code"], -32601)
        assert_equal(reply[1]["id"], 2)
        assert_equal(reply[2]["result"], objects.DEV_CHAIN_ID.hex())
        assert_in(reply[3]["error"]["code"], (-3, -8))
        assert_equal(reply[4]["error"]["code"], -32600)
        assert_equal(reply[5], {"jsonrpc": "2.0", "result": self.node.rpc.getbestblockhash(),
                                "id": 6})
        status, _, reply = self.post_json([])
        assert_equal((status, reply), (200, []))
        # exactly at the limit: every request answered, in order
        status, _, reply = self.post_json([{"method": "getblockcount", "id": i}
                                           for i in range(1000)])
        assert_equal(status, 200)
        assert_equal([r["id"] for r in reply], list(range(1000)))
        assert_true(all(r["result"] == self.height for r in reply))
        # over it: refused as a whole, nothing runs (a generate in it must not mine)
        over = [{"method": "generate", "params": [1, self.producer.address], "id": 0}] + \
            [{"method": "getblockcount", "id": i} for i in range(1, 1001)]
        status, _, reply = self.post_json(over)
        assert_equal(status, 400)
        assert_true(isinstance(reply, dict), repr(reply)[:200])
        assert_equal(reply["error"]["code"], -32600)
        assert_in("1000", reply["error"]["message"])
        self.alive()

    def test_sendraw(self):
        self.log("sendrawtransaction / sendrawreceipt rejects")
        rpc = self.node.rpc
        k1, k2 = self.keys[0], self.keys[1]
        for garbage in ("deadbeef", "00", "a0", "a1" + "00" * 10, ""):
            assert_raises_rpc_error(-22, None, rpc.sendrawtransaction, garbage)
            assert_raises_rpc_error(-22, None, rpc.decoderawtransaction, garbage)
        e = assert_raises_rpc_error(None, None, rpc.sendrawtransaction, "zz")
        assert_in(e.code, (-8, -22))
        good = objects.transfer(k1, k2, 1000, 0)
        # a non-canonical encoding of a valid tx (map count in a 1-byte argument)
        assert_raises_rpc_error(-22, None, rpc.sendrawtransaction, "b806" + good[2:])
        # trailing byte
        assert_raises_rpc_error(-22, None, rpc.sendrawtransaction, good + "00")
        # wrong signature: flipped bit; signed by another key; signed for another chain
        tx = bytearray(bytes.fromhex(good))
        tx[-1] ^= 1
        assert_raises_rpc_error(-26, "bad-tx-sig", rpc.sendrawtransaction, tx.hex())
        m = objects.decode_tx(good)
        m[15] = k2.sign(objects.tx_id(m))
        assert_raises_rpc_error(-26, "bad-tx-sig", rpc.sendrawtransaction,
                                objects.cbor.encode(m).hex())
        main_id = objects.chain_id_of(objects.load_chainspec("main"))
        assert_raises_rpc_error(-26, "bad-tx-sig", rpc.sendrawtransaction,
                                objects.transfer(k1, k2, 1000, 0, chain_id=main_id))
        # a nonce too far ahead of the account's (bwcd queues up to 32 ahead in its mempool;
        # the contract says any nonce but the account's is bad-tx-nonce)
        assert_raises_rpc_error(-26, None, rpc.sendrawtransaction,
                                objects.transfer(k1, k2, 1000, 1000))
        assert_raises_rpc_error(-26, "bad-tx-fee", rpc.sendrawtransaction,
                                objects.transfer(k1, k2, 1000, 0, fee=MIN_FEE - 1))
        assert_raises_rpc_error(-26, "bad-tx-insufficient-funds", rpc.sendrawtransaction,
                                objects.transfer(k1, k2, 10**15, 0))
        # a key that is not on the curve as the recipient
        x = 5
        while objects.bip340.lift_x(x) is not None:
            x += 1
        assert_raises_rpc_error(-26, None, rpc.sendrawtransaction,
                                objects.transfer(k1, x.to_bytes(32, "big"), 1000, 0))
        assert_equal(rpc.getrawmempool(), [])
        # now the good one; then it is in the chain: -27; a replay of nonce 0: bad-tx-nonce
        txid = rpc.sendrawtransaction(good)
        assert_equal(txid, objects.txid_hex(good))
        rpc.generate(1, self.producer.address)
        self.height += 1
        assert_raises_rpc_error(-27, None, rpc.sendrawtransaction, good)
        assert_raises_rpc_error(-26, "bad-tx-nonce", rpc.sendrawtransaction,
                                objects.transfer(k1, k2, 999, 0))
        # receipts
        for garbage in ("deadbeef", "a0", ""):
            assert_raises_rpc_error(-22, None, rpc.sendrawreceipt, garbage)
        # a receipt for a channel that does not exist
        r = objects.receipt("77" * 32, 1, 1000, 1000, bytes(32), k1, k2)
        assert_raises_rpc_error(-26, None, rpc.sendrawreceipt, r)
        # a tx given to sendrawreceipt and a receipt given to sendrawtransaction
        assert_raises_rpc_error(-22, None, rpc.sendrawreceipt, good)
        assert_raises_rpc_error(-22, None, rpc.sendrawtransaction, r)
        assert_equal(rpc.getmempoolinfo()["size"], 0)
        assert_equal(rpc.getmempoolinfo()["receipts"], 0)
        self.alive()

    def test_cookie_and_userpass(self):
        self.log("cookie file and -rpcuser/-rpcpassword")
        n = self.node
        st = os.stat(n.cookie_path)
        assert_equal(stat.S_IMODE(st.st_mode), 0o600)
        old = n.cookie_auth()
        assert_true(old.startswith("__cookie__:"), old)
        secret = old.split(":", 1)[1]
        assert_equal(len(secret), 64)
        int(secret, 16)
        n.stop()
        assert_true(not os.path.exists(n.cookie_path), "cookie left after stop")
        n.start(["-rpcuser=alice", "-rpcpassword=s3cret"])
        new = n.cookie_auth()
        assert_true(new != old, "cookie not replaced")
        assert_equal(stat.S_IMODE(os.stat(n.cookie_path).st_mode), 0o600)
        body = json.dumps({"method": "getblockcount", "id": 1})
        status, _, _ = n.http_post(body, auth=old)
        assert_equal(status, 401)
        for auth in (new, "alice:s3cret"):
            status, _, reply = n.http_post(body, auth=auth)
            assert_equal(status, 200)
            assert_equal(json.loads(reply)["result"], self.height)
        for auth in ("alice:s3cre", "alice:s3cret2", "bob:s3cret"):
            status, _, _ = n.http_post(body, auth=auth)
            assert_equal(status, 401)
        # bwc-cli with user and password, and with a wrong one
        assert_equal(n.cli("getblockcount", options=["-rpcuser=alice", "-rpcpassword=s3cret"]),
                     self.height)
        p = n.cli_raw("getblockcount", options=["-rpcuser=alice", "-rpcpassword=wrong"])
        assert_equal(p.returncode, 1)
        # a cookie left by a killed node is replaced at the next start
        n.kill9()
        assert_true(os.path.exists(n.cookie_path), "cookie of a killed node")
        stale = n.cookie_auth()
        n.start()
        assert_true(n.cookie_auth() != stale, "stale cookie kept")
        assert_equal(stat.S_IMODE(os.stat(n.cookie_path).st_mode), 0o600)
        self.alive()


if __name__ == "__main__":
    RPCErrorsTest().main()
