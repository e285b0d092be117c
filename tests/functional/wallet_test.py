#!/usr/bin/env python3
"""wallet_test.py: bwc-wallet against a real dev node: a wallet importing dev key 1 and a new
one; a send with a memo and a second send in a row (nonce from the mempool), confirmed by a
block, with exact balances and history on both sides (and through listtransactions and
listsinceblock); every error the issue names (wrong passphrase, corrupted keystore, bad
address of another chain or with a bad checksum, bad amounts, insufficient funds, a node of
another chain) giving its exit code and message and changing nothing; a relay announcement;
channels (with and without --price) in `channels` and getchannel; a published file whose
content_id matches an independent manifest computation; a sponsor pool; a passphrase
change; and --help for every command."""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from test_framework import objects  # noqa: E402
from test_framework.bech32m import encode_address  # noqa: E402
from test_framework.objects import DEV_SPEC, Key, dev_keys  # noqa: E402
from test_framework.test_framework import BwcTestFramework  # noqa: E402
from test_framework.util import (TestFailure, assert_equal, assert_in,  # noqa: E402
                                 assert_not_in, assert_true, free_port)

ALLOC = DEV_SPEC["genesis"]["allocations"][0]["amount"]
MIN_FEE = DEV_SPEC["economics"]["min_fee"]
MAX_CHANNEL_BLOCKS = DEV_SPEC["economics"]["max_channel_blocks"]
COIN = 100000000
DEFAULT_EXPIRY_BLOCKS = 10000  # wallet/wallet.h, doc/wallet.md

EXIT_USAGE, EXIT_NODE, EXIT_WALLET, EXIT_FUNDS = 1, 2, 3, 4

COMMANDS = ["create", "import", "address", "list", "passphrase", "balance", "send", "history",
            "channel open", "channels", "publish", "content", "sponsor", "relays",
            "relay announce", "relay retire"]


class WalletTest(BwcTestFramework):
    num_nodes = 1

    def run_test(self):
        self.node = self.nodes[0]
        self.rpc = self.node.rpc
        self.bin = os.path.join(self.options.bindir, "bwc-wallet")
        self.walletdir = os.path.join(self.tmpdir, "wallets")
        self.producer = Key()  # blocks pay a third party, so wallet balances stay exact
        self.dev1 = dev_keys()[0]
        self.pw = {}
        for name, secret in (("alice", "correct horse battery staple"), ("bob", "b0b's pass"),
                             ("wrong", "not it"), ("bob2", "a new one")):
            path = os.path.join(self.tmpdir, "pw-" + name)
            with open(path, "w") as f:
                f.write(secret + "\n")
            self.pw[name] = path
        # what each wallet address should hold, in units
        self.expected = {}

        self.test_help()
        self.test_make_wallets()
        self.test_errors_change_nothing()
        self.test_send_and_history()
        self.test_relay_and_channels()
        self.test_publish_and_sponsor()
        self.test_passphrase_change()
        self.test_other_chain_and_no_node()
        self.check_balances()

    # ------------------------------------------------------------------ helpers

    def run_wallet(self, wallet, *args, pw=None, env_pw=None, options=()):
        """Runs bwc-wallet with the node's options, -walletdir and -wallet=wallet; returns the
        CompletedProcess. Runs in a new session: with no controlling terminal, a missing
        passphrase is an error instead of a prompt."""
        cmd = [self.bin, "-datadir=" + self.node.datadir, "-chain=dev",
               "-rpcport=%d" % self.node.rpcport, "-walletdir=" + self.walletdir]
        if wallet:
            cmd.append("-wallet=" + wallet)
        if pw is not False and env_pw is None:
            cmd.append("-passphrase-file=" + self.pw[pw or wallet])
        cmd += list(options) + list(args)
        env = {k: v for k, v in os.environ.items() if not k.startswith("BWC_WALLET_")}
        if env_pw is not None:
            env["BWC_WALLET_PASSPHRASE"] = env_pw
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env,
                              stdin=subprocess.DEVNULL, start_new_session=True)

    def w(self, wallet, *args, **kw):
        """bwc-wallet ... --json, which must succeed; returns the parsed JSON."""
        p = self.run_wallet(wallet, *args, "--json", **kw)
        if p.returncode != 0:
            raise TestFailure("bwc-wallet %s exited %d: %s" % (" ".join(args), p.returncode,
                                                               p.stderr.strip()))
        return json.loads(p.stdout)

    def fails(self, rc, message, wallet, *args, **kw):
        """bwc-wallet ... must exit with rc and say message on stderr."""
        p = self.run_wallet(wallet, *args, **kw)
        if p.returncode != rc:
            raise TestFailure("bwc-wallet %s: exit %d, expected %d (stderr: %s)" % (
                " ".join(args), p.returncode, rc, p.stderr.strip()))
        assert_in(message, p.stderr, "bwc-wallet %s" % " ".join(args))
        assert_true(p.stderr.startswith("error: "), p.stderr)
        assert_equal(p.stdout, "")
        return p

    def wallet_file(self, name):
        return os.path.join(self.walletdir, name, "wallet.dat")

    def snapshot(self):
        """What an error must not change: the wallet files, the mempool, the balances."""
        files = {}
        for name in ("alice", "bob"):
            with open(self.wallet_file(name), "rb") as f:
                files[name] = f.read()
        return (files, sorted(self.rpc.getrawmempool()),
                {a: self.rpc.getaccount(a) for a in self.expected})

    def mine(self):
        h = self.rpc.generate(1, self.producer.address)
        assert_equal(self.rpc.getrawmempool(), [])
        return h[0]

    def check_balances(self):
        for addr, units in self.expected.items():
            assert_equal(self.rpc.getbalance(addr), units, msg=addr)
        for name in ("alice", "bob"):
            bal = self.w(name, "balance")
            total = 0
            for k in bal["keys"]:
                assert_equal(k["balance"], self.expected[k["address"]], msg=k["address"])
                assert_equal(k["pending_out"], 0)
                assert_equal(k["available"], k["balance"])
                total += k["balance"]
            assert_equal(bal["balance"], total)
            assert_equal(bal["height"], self.rpc.getblockcount())

    def spend(self, addr, units):
        self.expected[addr] -= units

    # ------------------------------------------------------------------ tests

    def test_help(self):
        self.log("--help for bwc-wallet and every command")
        p = subprocess.run([self.bin, "-help"], capture_output=True, text=True)
        assert_equal(p.returncode, 0)
        for c in COMMANDS:
            assert_in("  " + c, p.stdout)
        for words in ("Exit codes", "150000000u", "BWC_WALLET_PASSPHRASE", "-passphrase-file",
                      "import", "generate"):
            assert_in(words, p.stdout)
        for c in COMMANDS:
            for form in (c.split() + ["--help"], ["help"] + c.split()):
                p = subprocess.run([self.bin] + form, capture_output=True, text=True)
                assert_equal(p.returncode, 0, msg=" ".join(form))
                assert_in("Usage: bwc-wallet [options] " + c, p.stdout)
                assert_in("--json", p.stdout)
        p = subprocess.run([self.bin], capture_output=True, text=True)
        assert_equal(p.returncode, EXIT_USAGE)
        p = subprocess.run([self.bin, "frobnicate"], capture_output=True, text=True)
        assert_equal(p.returncode, EXIT_USAGE)
        assert_in("unknown command", p.stderr)
        p = subprocess.run([self.bin, "send", "--bogus"], capture_output=True, text=True)
        assert_equal(p.returncode, EXIT_USAGE)
        assert_in("unknown option --bogus", p.stderr)

    def test_make_wallets(self):
        self.log("import dev key 1 into a new wallet; create a second wallet")
        secret = self.dev1.secret.hex()
        r = self.w("alice", "import", secret, "--label", "dev1")
        assert_equal(r["address"], self.dev1.address)
        assert_equal(r["label"], "dev1")
        assert_equal(r["created_wallet"], True)
        assert_equal(r["wallet"], self.wallet_file("alice"))
        assert_equal(os.stat(self.wallet_file("alice")).st_mode & 0o777, 0o600)
        self.alice = self.dev1.address
        # the secret is not in the file
        with open(self.wallet_file("alice"), "rb") as f:
            assert_not_in(self.dev1.secret, f.read())

        r = self.w("bob", "create", "--label", "main")
        self.bob = r["address"]
        assert_equal(self.rpc.validateaddress(self.bob)["isvalid"], True)
        assert_equal(os.stat(self.wallet_file("bob")).st_mode & 0o777, 0o600)
        assert_equal(self.w("bob", "address")["address"], self.bob)
        # human output of `address` is the address alone
        p = self.run_wallet("bob", "address")
        assert_equal((p.returncode, p.stdout), (0, self.bob + "\n"))
        # a second key with a label
        r = self.w("bob", "address", "--new", "--label", "second")
        self.bob2 = r["address"]
        assert_true(self.bob2 != self.bob)
        keys = self.w("bob", "list")["keys"]
        assert_equal([(k["address"], k.get("label"), k["default"]) for k in keys],
                     [(self.bob, "main", True), (self.bob2, "second", False)])
        assert_equal(self.w("bob", "address", "--label", "second")["address"], self.bob2)
        self.expected = {self.alice: ALLOC, self.bob: 0, self.bob2: 0}
        self.check_balances()

        # refusals that leave the files as they were
        before = self.snapshot()
        self.fails(EXIT_WALLET, "already exists", "bob", "create")
        self.fails(EXIT_USAGE, "already in the wallet", "alice", "import", secret)
        self.fails(EXIT_USAGE, "64 hex digits", "alice", "import", "01")
        self.fails(EXIT_USAGE, "label", "bob", "address", "--new", "--label", "main")
        assert_equal(self.snapshot(), before)

    def test_errors_change_nothing(self):
        self.log("wrong passphrase, corrupted keystore, bad addresses and amounts, no funds")
        before = self.snapshot()
        dev2 = dev_keys()[1].address
        # wrong passphrase: from a file and from the environment
        self.fails(EXIT_WALLET, "wrong passphrase", "alice", "send", self.bob, "1",
                   pw="wrong")
        self.fails(EXIT_WALLET, "wrong passphrase", "alice", "balance", env_pw="nope")
        assert_equal(self.w("alice", "balance", env_pw="correct horse battery staple")
                     ["balance"], ALLOC)
        # no passphrase and no terminal to ask on
        self.fails(EXIT_WALLET, "BWC_WALLET_PASSPHRASE", "alice", "balance", pw=False)
        # no such wallet
        self.fails(EXIT_WALLET, "no wallet at", "carol", "balance", pw="alice")

        # corrupted keystores, each in a wallet directory of its own
        with open(self.wallet_file("alice"), "rb") as f:
            good = f.read()
        corruptions = {
            "flipped-ciphertext": good[:60] + bytes([good[60] ^ 1]) + good[61:],
            "flipped-tag": good[:-1] + bytes([good[-1] ^ 0x80]),
            "flipped-salt": good[:20] + bytes([good[20] ^ 4]) + good[21:],
            "truncated": good[:len(good) // 2],
            "bad-magic": b"X" + good[1:],
            "empty": b"",
        }
        for name, data in corruptions.items():
            os.makedirs(os.path.join(self.walletdir, name))
            with open(self.wallet_file(name), "wb") as f:
                f.write(data)
            p = self.fails(EXIT_WALLET, self.wallet_file(name), name, "send", self.bob, "1",
                           pw="alice")
            assert_true("wrong passphrase, or the wallet file was modified" in p.stderr or
                        "corrupted" in p.stderr or "not a bwc wallet file" in p.stderr,
                        p.stderr)
            with open(self.wallet_file(name), "rb") as f:
                assert_equal(f.read(), data)

        # addresses: another chain's prefix, a bad checksum, a bad character, not a key
        main_addr = encode_address("bwc", objects.pubkey_of(self.bob))
        self.fails(EXIT_USAGE, "another chain (prefix 'bwc1'", "alice", "send", main_addr, "1")
        bad = self.bob[:-1] + ("q" if self.bob[-1] != "q" else "p")
        self.fails(EXIT_USAGE, "bad checksum", "alice", "send", bad, "1")
        bad = self.bob[:10] + "b" + self.bob[11:]
        self.fails(EXIT_USAGE, "not a bech32m character", "alice", "send", bad, "1")
        self.fails(EXIT_USAGE, "invalid address", "alice", "send", "hello", "1")
        # amounts: BWC with at most 8 decimals, or units with a 'u'
        for amount in ("1,5", "-1", "1e5", ".5", "1.", "0.000000001", "abc", "1.5u", "1 BWC",
                       "18446744073709551616u"):
            self.fails(EXIT_USAGE, "bad amount", "alice", "send", self.bob, amount)
        self.fails(EXIT_USAGE, "at least 0.00000001", "alice", "send", self.bob, "0")
        self.fails(EXIT_USAGE, "below the chain's minimum fee", "alice", "send", self.bob, "1",
                   "--fee", "999u")
        self.fails(EXIT_USAGE, "1 to 64 bytes", "alice", "send", self.bob, "1", "--memo",
                   "x" * 65)
        self.fails(EXIT_USAGE, "--from", "alice", "send", self.bob, "1", "--from", "nobody")
        # insufficient funds: an empty wallet, and the whole balance plus a fee
        self.fails(EXIT_FUNDS, "insufficient funds", "bob", "send", self.alice, "1")
        self.fails(EXIT_FUNDS, "insufficient funds", "alice", "send", self.bob,
                   "%du" % ALLOC)
        self.fails(EXIT_FUNDS, "insufficient funds", "alice", "channel", "open", dev2,
                   "%du" % ALLOC, "--price", "1000u")
        assert_equal(self.snapshot(), before)

    def test_send_and_history(self):
        self.log("send with a memo, a second send in a row, confirm, both sides' history")
        memo = "invoice 42"
        a1 = 1250000000  # 12.5 BWC
        r1 = self.w("alice", "send", self.bob, "12.5", "--memo", memo)
        assert_equal(r1["amount"], a1)
        assert_equal(r1["fee"], MIN_FEE)  # estimatefee on an empty mempool
        assert_equal(r1["nonce"], 0)
        assert_equal(r1["memo"], memo.encode().hex())
        tx1 = self.rpc.gettransaction(r1["txid"])
        assert_equal(tx1["confirmations"], 0)
        assert_equal(tx1["body"]["memo"], memo.encode().hex())
        assert_equal(tx1["body"]["to"], self.bob)

        # pending: the balance shows what is on its way out
        bal = self.w("alice", "balance")
        assert_equal(bal["balance"], ALLOC)
        assert_equal(bal["pending_out"], a1 + MIN_FEE)
        assert_equal(bal["available"], ALLOC - a1 - MIN_FEE)
        hist = self.w("alice", "history")["transactions"]
        assert_equal(hist[0]["txid"], r1["txid"])
        assert_equal(hist[0]["confirmations"], 0)
        assert_equal(hist[0]["memo_text"], memo)

        # a second send at once: the nonce follows the pending one; units and an explicit fee
        a2, f2 = 50000000, 2500
        r2 = self.w("alice", "send", self.bob2, "%du" % a2, "--fee", "0.000025",
                    "--from", "dev1")
        assert_equal((r2["nonce"], r2["fee"], r2["amount"]), (1, f2, a2))
        assert_equal(sorted(self.rpc.getrawmempool()), sorted([r1["txid"], r2["txid"]]))
        # human output
        p = self.run_wallet("alice", "balance")
        assert_equal(p.returncode, 0)
        assert_in("1000000.00000000 BWC", p.stdout)
        assert_in("after 2 pending", p.stdout)

        block = self.mine()
        self.spend(self.alice, a1 + MIN_FEE + a2 + f2)
        self.expected[self.bob] += a1
        self.expected[self.bob2] += a2
        self.check_balances()
        bal = self.w("bob", "balance")
        assert_equal(bal["balance"], a1 + a2)
        assert_equal([k["balance"] for k in bal["keys"]], [a1, a2])

        # history on both sides, and what the node says
        sent = {e["txid"]: e for e in self.w("alice", "history")["transactions"]}
        got = {e["txid"]: e for e in self.w("bob", "history")["transactions"]}
        for r, to, amount, fee in ((r1, self.bob, a1, MIN_FEE), (r2, self.bob2, a2, f2)):
            s, g = sent[r["txid"]], got[r["txid"]]
            assert_equal((s["category"], s["from"], s["to"], s["amount"], s["fee"]),
                         ("send", self.alice, to, amount, fee))
            assert_equal((g["category"], g["from"], g["to"], g["amount"], g["wallet_address"]),
                         ("receive", self.alice, to, amount, to))
            assert_equal((s["blockhash"], g["blockhash"]), (block, block))
            assert_equal(s["confirmations"], 1)
        assert_equal(sent[r1["txid"]]["memo_text"], memo)
        assert_equal(got[r1["txid"]]["memo_text"], memo)
        assert_not_in("memo", sent[r2["txid"]])
        node_sent = self.rpc.listtransactions(self.alice)
        assert_equal(sorted(e["txid"] for e in node_sent), sorted(sent))
        for e in node_sent:
            for k in ("amount", "fee", "to", "category", "blockhash", "height"):
                assert_equal(e[k], sent[e["txid"]][k], msg=k)
        node_got = self.rpc.listtransactions(self.bob) + self.rpc.listtransactions(self.bob2)
        assert_equal(sorted(e["txid"] for e in node_got), sorted(got))
        since = self.rpc.listsinceblock(self.rpc.getblockhash(0), self.bob)
        assert_equal([e["txid"] for e in since["transactions"]], [r1["txid"]])
        assert_equal(since["transactions"][0]["memo_text"], memo)
        assert_equal(since["lastblock"], block)
        since = self.rpc.listsinceblock(self.rpc.getblockhash(0), self.alice)
        assert_equal(sorted(e["txid"] for e in since["transactions"]), sorted(sent))
        # --count limits, and a key filter
        assert_equal(len(self.w("alice", "history", "--count", "1")["transactions"]), 1)
        only = self.w("bob", "history", "--from", "second")["transactions"]
        assert_equal([e["txid"] for e in only], [r2["txid"]])
        p = self.run_wallet("bob", "history")
        assert_in('memo "invoice 42"', p.stdout)
        assert_in("+12.50000000 BWC", p.stdout)

    def test_relay_and_channels(self):
        self.log("relay announce, channels with and without --price, getchannel")
        # bob announces a relay from his first key
        ann = self.w("bob", "relay", "announce", "--endpoint", "http://127.0.0.1:18745",
                     "--region", "DE", "--price", "2000u", "--rate", "1MiB", "--quota",
                     "100GiB", "--burst-quota", "200GiB", "--burst-hours", "24")
        self.spend(self.bob, ann["fee"])
        self.fails(EXIT_USAGE, "--endpoint", "bob", "relay", "announce", "--endpoint",
                   "http://x:1/path", "--region", "DE", "--price", "1u")
        self.fails(EXIT_USAGE, "--burst-hours", "bob", "relay", "announce", "--endpoint",
                   "http://x:1", "--region", "DE", "--price", "1u", "--burst-hours", "5")
        self.mine()
        relays = self.w("bob", "relays", pw=False)["relays"]
        assert_equal([(r["address"], r["price"], r["region"], r["rate"], r["quota"],
                       r["burst_quota"], r["burst_hours"]) for r in relays],
                     [(self.bob, 2000, "DE", 1 << 20, 100 << 30, 200 << 30, 24)])
        assert_equal(self.w(None, "relays", "--region", "US", pw=False)["relays"], [])

        relay2 = dev_keys()[1].address  # no relay record: a price must be given
        self.fails(EXIT_USAGE, "--price", "alice", "channel", "open", relay2, "10")
        tip = self.rpc.getblockcount()
        c1 = self.w("alice", "channel", "open", relay2, "10", "--price", "1000u")
        assert_equal((c1["deposit"], c1["price"], c1["expiry"]),
                     (10 * COIN, 1000, tip + DEFAULT_EXPIRY_BLOCKS))
        # bob's announced price is the default
        c2 = self.w("alice", "channel", "open", self.bob, "0.5", "--expiry", "+50")
        assert_equal((c2["price"], c2["price_from_relay"], c2["expiry"]), (2000, True, tip + 50))
        self.fails(EXIT_USAGE, "--expiry", "alice", "channel", "open", relay2, "1", "--price",
                   "1u", "--expiry", str(tip + 1))
        self.fails(EXIT_USAGE, "--expiry", "alice", "channel", "open", relay2, "1", "--price",
                   "1u", "--expiry", "+%d" % (MAX_CHANNEL_BLOCKS + 2))
        self.mine()
        self.spend(self.alice, 10 * COIN + c1["fee"] + COIN // 2 + c2["fee"])
        listed = {c["channel_id"]: c for c in self.w("alice", "channels")["channels"]}
        assert_equal(sorted(listed), sorted([c1["channel_id"], c2["channel_id"]]))
        for c, relay in ((c1, relay2), (c2, self.bob)):
            got = self.rpc.getchannel(c["channel_id"])
            assert_equal((got["consumer"], got["relay"], got["deposit"], got["price"],
                          got["expiry"], got["claimed"], got["state"]),
                         (self.alice, relay, c["deposit"], c["price"], c["expiry"], 0, "open"))
            assert_equal(listed[c["channel_id"]]["deposit"], c["deposit"])
        # bob, the relay of the second channel, sees it too
        assert_equal([c["channel_id"] for c in self.w("bob", "channels")["channels"]],
                     [c2["channel_id"]])
        self.check_balances()

    def test_publish_and_sponsor(self):
        self.log("publish a file: content_id as computed independently; sponsor it")
        data = os.urandom(600 * 1024 + 17)  # three chunks of 256 KiB, the last one short
        path = os.path.join(self.tmpdir, "payload.bin")
        with open(path, "wb") as f:
            f.write(data)
        _, cid = objects.manifest(data)
        r = self.w("alice", "publish", path, "--origin", "http://127.0.0.1:8080", "--mime",
                   "application/octet-stream")
        assert_equal(r["content_id"], cid.hex())
        assert_equal((r["size"], r["chunk_size"], r["chunks"], r["name"]),
                     (len(data), 256 * 1024, 3, "payload.bin"))
        # another chunk size is another content id
        _, cid64 = objects.manifest(data, 64 * 1024)
        r64 = self.w("alice", "publish", path, "--chunk-size", "64KiB", "--name", "small chunks")
        assert_equal((r64["content_id"], r64["chunks"]), (cid64.hex(), 10))
        self.fails(EXIT_USAGE, "--chunk-size", "alice", "publish", path, "--chunk-size", "1000")
        self.fails(EXIT_USAGE, "--origin", "alice", "publish", path, "--origin", "ftp://x:1")
        self.fails(EXIT_USAGE, "cannot open", "alice", "publish", path + ".missing")
        self.mine()
        self.spend(self.alice, r["fee"] + r64["fee"])
        got = self.rpc.getcontent(cid.hex())
        assert_equal((got["publisher"], got["size"], got["chunk_size"], got["name"],
                      got["origin"], got["mime"]),
                     (self.alice, len(data), 256 * 1024, "payload.bin", "http://127.0.0.1:8080",
                      "application/octet-stream"))
        assert_equal(self.rpc.getcontent(cid64.hex())["name"], "small chunks")
        mine = self.w("alice", "content")["content"]
        assert_equal(sorted(c["content_id"] for c in mine), sorted([cid.hex(), cid64.hex()]))
        assert_equal(self.w("bob", "content")["content"], [])
        assert_equal(len(self.w(None, "content", "--all", pw=False)["content"]), 2)
        before = self.snapshot()
        self.fails(EXIT_USAGE, "registered already", "alice", "publish", path)

        # a sponsor pool for it, with a ticket key
        self.fails(EXIT_USAGE, "not registered", "alice", "sponsor", "00" * 32, "1", "--price",
                   "1000u", "--cap", "0.1")
        self.fails(EXIT_USAGE, "--cap", "alice", "sponsor", cid.hex(), "1", "--price", "1000u")
        assert_equal(self.snapshot(), before)
        ticket = Key()
        s = self.w("alice", "sponsor", cid.hex(), "2", "--price", "1500u", "--cap", "0.1",
                   "--ticket-key", ticket.address)
        self.mine()
        self.spend(self.alice, 2 * COIN + s["fee"])
        pool = self.rpc.getpool(s["pool_id"])
        assert_equal((pool["sponsor"], pool["content_id"], pool["amount"], pool["price"],
                      pool["per_consumer_cap"], pool["expiry"]),
                     (self.alice, cid.hex(), 2 * COIN, 1500, COIN // 10, s["expiry"]))
        # the node shows the ticket key as an address (or, in older builds, as hex)
        assert_equal(objects.pubkey_of(pool["ticket_key"]), ticket.pub)
        assert_equal(s["ticket_key"], ticket.address)
        self.check_balances()

    def test_passphrase_change(self):
        self.log("passphrase change")
        before = open(self.wallet_file("bob"), "rb").read()
        r = self.w("bob", "passphrase", "--new-passphrase-file", self.pw["bob2"])
        assert_equal(r["wallet"], self.wallet_file("bob"))
        assert_true(open(self.wallet_file("bob"), "rb").read() != before)
        self.fails(EXIT_WALLET, "wrong passphrase", "bob", "list")
        keys = self.w("bob", "list", pw="bob2")["keys"]
        assert_equal([k["address"] for k in keys], [self.bob, self.bob2])
        self.pw["bob"] = self.pw["bob2"]
        assert_equal(os.stat(self.wallet_file("bob")).st_mode & 0o777, 0o600)
        assert_true(not os.path.exists(self.wallet_file("bob") + ".tmp"))

    def test_other_chain_and_no_node(self):
        self.log("a node of another chain, no node at all")
        before = self.snapshot()
        # the test chain's wallet settings against the dev node (its cookie given by hand)
        cookie = os.path.join(self.node.chaindir, ".cookie")
        p = subprocess.run([self.bin, "-datadir=" + self.node.datadir, "-chain=test",
                            "-rpcport=%d" % self.node.rpcport, "-rpccookiefile=" + cookie,
                            "relays"], capture_output=True, text=True, timeout=60)
        assert_equal(p.returncode, EXIT_NODE)
        assert_in("on another chain", p.stderr)
        # a dev wallet opened as a test-chain wallet
        p = self.run_wallet("alice", "balance", options=["-chain=test"])
        assert_equal(p.returncode, EXIT_WALLET)
        assert_in("belongs to another chain", p.stderr)
        # no node listening
        p = self.run_wallet("alice", "send", self.bob, "1",
                            options=["-rpcport=%d" % free_port()])
        assert_equal(p.returncode, EXIT_NODE)
        assert_in("could not connect", p.stderr)
        assert_equal(self.snapshot(), before)


if __name__ == "__main__":
    WalletTest().main()
