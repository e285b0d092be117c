#!/usr/bin/env python3
"""framework_test.py: the framework's own encodings against official vectors and the repo's
fixed values: canonical CBOR (RFC 8949 examples, rejects), BIP340 (tests/data vectors),
bech32m (BIP350 vectors, dev addresses), the dev chain_id from chainspec/dev.json, and, when
bwc-util is built, that bwc-util decodes every object type built here to the same id."""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_framework import bech32m, bip340, cbor, objects  # noqa: E402
from test_framework.util import assert_equal, repo_root  # noqa: E402


def main():
    bindir = repo_root()
    if "--bindir" in sys.argv:
        bindir = sys.argv[sys.argv.index("--bindir") + 1]
    cbor.selftest()
    n = bip340.selftest()
    bech32m.selftest()
    objects.selftest()
    print("selftests ok (%d BIP340 vectors)" % n)

    # dev-keys.txt: every funded dev key is secret i and its address is in dev.json
    keys = objects.dev_keys()
    with open(os.path.join(repo_root(), "chainspec", "dev-keys.txt")) as f:
        rows = [l.split() for l in f if l.strip() and not l.startswith("#")]
    assert_equal([r[1] for r in rows], [k.address for k in keys])
    assert_equal([int(r[2]) for r in rows],
                 [a["amount"] for a in objects.DEV_SPEC["genesis"]["allocations"]])

    util = os.path.join(bindir, "bwc-util")
    if not os.path.exists(util):
        print("bwc-util not built: cross-check skipped")
        return 0
    g = json.loads(subprocess.run([util, "-chain=dev", "genesis",
                                   objects.chainspec_path("dev")], check=True,
                                  capture_output=True, text=True).stdout)
    assert_equal(g["chain_id"], objects.DEV_CHAIN_ID.hex())
    assert_equal(g["g"], objects.cbor.encode(objects.genesis_g(objects.DEV_SPEC)).hex())
    for name in ("test", "main"):
        spec = objects.load_chainspec(name)
        g = json.loads(subprocess.run([util, "-chain=" + name, "genesis",
                                       objects.chainspec_path(name)], check=True,
                                      capture_output=True, text=True).stdout)
        assert_equal(g["chain_id"], objects.chain_id_of(spec).hex(), msg=name)

    cid = objects.manifest(b"x" * 40000, 16384)[1]
    k = keys
    txs = [objects.transfer(k[0], k[1], 5, 0, memo=b"hi"),
           objects.transfer(k[0], k[1].address, 2**64 - 1, 2**32, fee=2**40),
           objects.channel_open(k[0], k[1], 100000, 1000, 50, 1),
           objects.content_register(k[0], cid, 40000, 16384, 2, name="n\u00e9",
                                    origin="http://[::1]:80", mime="text/plain"),
           objects.content_register(k[0], cid, 40000, 16384, 2),
           objects.relay_announce(k[1], "http://127.0.0.1:8080", "DE", 100, 0, 10**9,
                                  2 * 10**9, 24, 0),
           objects.relay_retire(k[1], 1),
           objects.sponsor(k[0], cid, 10**6, 100, 1000, 60, 3, ticket_key=k[2]),
           objects.sponsor(k[0], cid, 10**6, 100, 1000, 60, 3)]
    for t in txs:
        out = subprocess.run([util, "-chain=dev", "decode", "tx", t], capture_output=True,
                             text=True)
        assert_equal(out.returncode, 0, msg=out.stderr)
        d = json.loads(out.stdout)
        assert_equal(d["txid"], objects.txid_hex(t))
        tx = objects.decode_tx(t)
        assert_equal(d["type"], objects.TX_TYPE_NAMES[tx[0]])
        assert_equal(d["from"], objects.address_of(tx[1]))
    chan = objects.txid_hex(txs[2])
    pool = objects.txid_hex(txs[7])
    rcs = [objects.receipt(chan, 1, 1000, 2000, bytes(32), k[0], k[1]),
           objects.receipt(chan, 7, 10**6, 10**5, objects.delivery_next(bytes(32), cid, 0, cid),
                           k[0]),
           objects.receipt(pool, 1, 1000, 2000, bytes(32), k[0], k[1], pool=True,
                           ticket_sig=objects.ticket(k[2], pool, k[0]))]
    for r in rcs:
        out = subprocess.run([util, "-chain=dev", "decode", "receipt", r], capture_output=True,
                             text=True)
        assert_equal(out.returncode, 0, msg=out.stderr)
        assert_equal(json.loads(out.stdout)["receipt_id"], objects.receipt_id_hex(r))
    # a manifest built here decodes there to the same content id
    m, mid = objects.manifest(bytes(range(256)) * 300, 16384)
    out = subprocess.run([util, "decode", "manifest", cbor.encode(m).hex()],
                         capture_output=True, text=True)
    assert_equal(out.returncode, 0, msg=out.stderr)
    assert_equal(json.loads(out.stdout)["content_id"], mid.hex())
    # a flipped signature bit still decodes (signatures are checked by validation, not the
    # decoder), but a non-canonical form does not
    bad = bytearray(bytes.fromhex(txs[0]))
    bad[-1] ^= 1
    out = subprocess.run([util, "-chain=dev", "decode", "tx", bad.hex()], capture_output=True,
                         text=True)
    assert_equal(out.returncode, 0)
    noncanon = "b806" + txs[0][2:]  # map header with a 1-byte count: not the shortest form
    out = subprocess.run([util, "-chain=dev", "decode", "tx", noncanon], capture_output=True,
                         text=True)
    assert_equal(out.returncode, 1)
    print("bwc-util agrees on %d txs, %d receipts, a manifest and 3 chain_ids" % (
        len(txs), len(rcs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
