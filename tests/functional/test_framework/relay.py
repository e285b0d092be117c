"""relay.py: the consumer's side of the relay HTTP API (PROTOCOL.md §8, doc/relay.md) for the
functional tests, written independently of wallet/download*.c: base64url, a keep-alive HTTP
client, a channel payer that fetches chunks one at a time, checks each against the manifest,
steps the delivery digest and countersigns receipts with objects.py; and the pieces the relay
tests share: relay nodes, bwc-wallet runs, settlement bookkeeping."""

import base64
import hashlib
import http.client
import json
import os
import signal
import subprocess
import time

from . import cbor, objects
from .objects import DEV_SPEC, Key
from .test_framework import BwcTestFramework
from .util import TestFailure, assert_equal, free_port, wait_until

RECEIPT_FEE = DEV_SPEC["economics"]["receipt_fee"]
SETTLE_WINDOW = DEV_SPEC["economics"]["settle_window"]
MIB = 1 << 20
COIN = 100000000


# ---------------------------------------------------------------- encodings

def b64url_encode(data):
    """base64url without padding (RFC 4648 §5), as Bwc-Receipt and Bwc-Ticket carry it."""
    return base64.urlsafe_b64encode(bytes(data)).rstrip(b"=").decode()


def b64url_decode(text):
    """The bytes of unpadded base64url; ValueError on anything else (padding, other
    alphabets, a length that no unpadded encoding has)."""
    if not isinstance(text, str) or "=" in text or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url: %r" % (text,))
    for c in text:
        if not (c.isascii() and (c.isalnum() or c in "-_")):
            raise ValueError("not a base64url character: %r" % c)
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sha256(data):
    return hashlib.sha256(data).digest()


def write_random_file(path, size, seed=None):
    """size bytes of (seeded) pseudo-random data; returns the bytes."""
    import random
    rng = random.Random(seed)
    data = rng.randbytes(size)
    with open(path, "wb") as f:
        f.write(data)
    return data


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# ---------------------------------------------------------------- HTTP

class Reply:
    """One HTTP answer: status, headers (lower-case names), body bytes."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    @property
    def code(self):
        """The error code of a JSON error body, else None."""
        try:
            return self.json()["error"]["code"]
        except (ValueError, KeyError, TypeError):
            return None

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def __repr__(self):
        body = self.body if len(self.body) <= 200 else self.body[:200] + b"..."
        return "Reply(%d, %r)" % (self.status, body if self.status != 200 else len(self.body))


class RelayClient:
    """An HTTP/1.1 client of one relay on one kept-alive connection (reconnects when the relay
    closed it). Not thread-safe."""

    def __init__(self, port, host="127.0.0.1", timeout=30):
        self.host = host
        self.port = port
        self.timeout = timeout
        self._conn = None

    def close(self):
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
            self._conn = None

    def request(self, method, path, headers=None, body=None):
        for attempt in range(2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self.host, self.port,
                                                        timeout=self.timeout)
            try:
                self._conn.request(method, path, body=body, headers=headers or {})
                resp = self._conn.getresponse()
                data = resp.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError,
                    http.client.CannotSendRequest):
                self.close()
                if attempt == 1:
                    raise
        hdrs = {k.lower(): v for k, v in resp.getheaders()}
        if hdrs.get("connection", "").lower() == "close":
            self.close()
        return Reply(resp.status, hdrs, data)

    def status(self):
        r = self.request("GET", "/v1/status")
        if r.status != 200:
            raise TestFailure("GET /v1/status: %r" % r)
        return r.json()

    def manifest(self, content_id):
        return self.request("GET", "/v1/manifest/" + _hex(content_id))

    def chunk(self, content_id, index, channel=None, receipt=None, headers=None):
        """GET /v1/chunk/{content_id}/{index}; channel (id) and receipt (CBOR bytes or hex)
        become Bwc-Channel and Bwc-Receipt."""
        h = dict(headers or {})
        if channel is not None:
            h["Bwc-Channel"] = _hex(channel)
        if receipt is not None:
            h["Bwc-Receipt"] = b64url_encode(_raw(receipt))
        return self.request("GET", "/v1/chunk/%s/%d" % (_hex(content_id), index), headers=h)

    def post_receipt(self, receipt):
        return self.request("POST", "/v1/receipt", body=_raw(receipt),
                            headers={"Content-Type": "application/cbor"})

    def channel(self, channel_id, consumer=None):
        h = {"Bwc-Consumer": _hex(consumer)} if consumer is not None else {}
        return self.request("GET", "/v1/channel/" + _hex(channel_id), headers=h)


def _hex(x):
    if isinstance(x, (bytes, bytearray)):
        return bytes(x).hex()
    return x


def _raw(receipt):
    return bytes.fromhex(receipt) if isinstance(receipt, str) else bytes(receipt)


# ---------------------------------------------------------------- paying through a channel

class ChannelPayer:
    """The consumer of one channel: fetches chunks one at a time (the digest depends on the
    order), checks each against the manifest before it counts, and signs cumulative receipts
    {channel, seq, bytes, amount = ceil(bytes x price / 2^20), digest} with objects.py. A relay
    serves a paid request only with a consumer-signed receipt newer than its newest one
    (doc/relay.md: the newest again is 409 receipt-replayed on a chunk request), so the first
    request carries the opening receipt (open()), and so does any request asked when nothing
    was verified since the newest went out."""

    def __init__(self, client, channel_id, consumer, price, manifest, content_id):
        self.client = client
        self.channel = bytes.fromhex(channel_id) if isinstance(channel_id, str) else channel_id
        self.consumer = consumer
        self.price = price
        self.m = manifest
        self.cid = content_id
        self.seq = 0
        self.bytes = 0            # bytes verified
        self.digest = objects.ZERO32
        self.newest = None        # CBOR bytes of the newest receipt signed
        self.newest_bytes = 0     # the bytes it covers
        self.newest_digest = objects.ZERO32  # and its digest
        self.newest_sent = False  # the newest went out with a chunk request
        self.receipts = []        # every receipt signed, in order: (seq, bytes, amount, raw)

    def sign(self, nbytes=None, amount=None, digest=None, seq=None, key=None):
        """A consumer-signed receipt (CBOR bytes); defaults: the next seq, every verified byte,
        the price's ceiling, the current digest. Does not change the payer's state."""
        nbytes = self.bytes if nbytes is None else nbytes
        amount = objects.max_amount(nbytes, self.price) if amount is None else amount
        digest = self.digest if digest is None else digest
        seq = self.seq + 1 if seq is None else seq
        return bytes.fromhex(objects.receipt(self.channel, seq, nbytes, amount, digest,
                                             key or self.consumer))

    def countersign(self):
        """Signs the next receipt covering every verified byte and makes it the newest."""
        raw = self.sign()
        self.seq += 1
        self.newest = raw
        self.newest_bytes = self.bytes
        self.newest_digest = self.digest
        self.newest_sent = False
        self.receipts.append((self.seq, self.bytes, objects.max_amount(self.bytes, self.price),
                              raw))
        return raw

    def open(self):
        """Signs the opening receipt and makes it the newest: the next seq at the newest point
        (bytes 0, amount 0, digest 0^32 before any receipt). It commits to nothing new; it shows
        the relay that the requests come from the channel's consumer."""
        amount = self.amount
        raw = self.sign(nbytes=self.newest_bytes, amount=amount, digest=self.newest_digest)
        self.seq += 1
        self.newest = raw
        self.newest_sent = False
        self.receipts.append((self.seq, self.newest_bytes, amount, raw))
        return raw

    def post(self):
        """POSTs the newest receipt (POST /v1/receipt); from then on the relay holds it, so the
        next request carries a new one. Returns the Reply."""
        self.newest_sent = True
        return self.client.post_receipt(self.newest)

    @property
    def amount(self):
        return objects.max_amount(self.newest_bytes, self.price) if self.newest else 0

    def fetch(self, index, receipt="auto", check=True):
        """Asks for chunk index. receipt: "auto" (a new receipt when bytes were verified since
        the newest; else the newest when it has not gone out yet; else a new opening receipt at
        the newest point, so that no receipt goes out twice), None (no Bwc-Receipt), or CBOR
        bytes to send as they are. A 200 is checked (Bwc-Chunk-Hash and the bytes against the
        manifest: TestFailure otherwise) and counted; with check=False it is counted unchecked,
        as the relay logs it (the manifest's hash), so the payer's receipts keep matching the
        relay's log whatever the bytes were. Returns the Reply."""
        if receipt == "auto":
            if self.bytes > self.newest_bytes:
                receipt = self.countersign()
            elif self.newest is None or self.newest_sent:
                receipt = self.open()
            else:
                receipt = self.newest
        if receipt is not None and receipt == self.newest:
            self.newest_sent = True
        r = self.client.chunk(self.cid, index, channel=self.channel, receipt=receipt)
        if r.status == 200:
            self.accept(index, r, check)
        return r

    def accept(self, index, r, check=True):
        want = self.m[3][index]
        if check and sha256(r.body) != want:
            raise TestFailure("chunk %d: its SHA-256 is not the manifest's" % index)
        if r.header("Bwc-Chunk-Hash") != want.hex():
            raise TestFailure("chunk %d: Bwc-Chunk-Hash %r, the manifest says %s" % (
                index, r.header("Bwc-Chunk-Hash"), want.hex()))
        self.bytes += len(r.body)
        self.digest = objects.delivery_next(self.digest, self.cid, index, want)


# ---------------------------------------------------------------- relay nodes

def relay_args(port, price=0, extra=()):
    return ["-relay", "-relayport=%d" % port, "-relayprice=%d" % price] + list(extra)


def read_relay_key(node):
    """The Key of a node's relay (<chain>/relay/relay.key, made at its first start)."""
    with open(os.path.join(node.chaindir, "relay", "relay.key")) as f:
        return Key(bytes.fromhex(f.read().strip()))


def chunk_dir(node, content_id):
    return os.path.join(node.chaindir, "relay", "chunks", _hex(content_id))


def endpoint(port):
    return "http://127.0.0.1:%d" % port


# ---------------------------------------------------------------- bwc-wallet

class WalletRunner:
    """Runs bwc-wallet against one node, with its wallets (-wallet=NAME) under one walletdir and
    one passphrase file. Every run is bounded in time and runs in a new session (no terminal:
    a missing passphrase is an error, never a prompt)."""

    def __init__(self, bindir, tmpdir, node):
        self.bin = os.path.join(bindir, "bwc-wallet")
        self.node = node
        self.walletdir = os.path.join(tmpdir, "wallets")
        self.pwfile = os.path.join(tmpdir, "wallet-passphrase")
        with open(self.pwfile, "w") as f:
            f.write("relay tests passphrase\n")

    def cmd(self, wallet, *args):
        return [self.bin, "-datadir=" + self.node.datadir, "-chain=dev",
                "-rpcport=%d" % self.node.rpcport, "-walletdir=" + self.walletdir,
                "-wallet=" + wallet, "-passphrase-file=" + self.pwfile] + list(args)

    def env(self):
        return {k: v for k, v in os.environ.items() if not k.startswith("BWC_WALLET_")}

    def run(self, wallet, *args, stdin=None, timeout=120):
        return subprocess.run(self.cmd(wallet, *args), capture_output=True, text=True,
                              timeout=timeout, env=self.env(), start_new_session=True,
                              input=stdin if stdin is not None else "")

    def json(self, wallet, *args, stdin=None, timeout=120):
        p = self.run(wallet, *args, "--json", stdin=stdin, timeout=timeout)
        if p.returncode != 0:
            raise TestFailure("bwc-wallet -wallet=%s %s exited %d: %s" % (
                wallet, " ".join(args), p.returncode, p.stderr.strip()[-2000:]))
        return json.loads(p.stdout)

    def popen(self, wallet, *args, stdout=None, stderr=None):
        """Starts bwc-wallet in the background (its own process group)."""
        return subprocess.Popen(self.cmd(wallet, *args), stdout=stdout or subprocess.PIPE,
                                stderr=stderr or subprocess.PIPE, stdin=subprocess.DEVNULL,
                                env=self.env(), start_new_session=True)

def stop_process(proc, sig=signal.SIGTERM, timeout=30):
    """Sends sig to a background process (its group) and waits for it; SIGKILL after
    timeout. Returns its exit code."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
    return proc.returncode


# ---------------------------------------------------------------- the chain's side

def settled_receipts(node, start_height, channels):
    """The receipts of these channels (ids, hex) confirmed in blocks above start_height, in
    block order, as getblock verbosity 2 shows them."""
    out = []
    tip = node.rpc.getblockcount()
    for h in range(start_height + 1, tip + 1):
        b = node.rpc.getblock(node.rpc.getblockhash(h), 2)
        for r in b["receipts"]:
            if r["channel"] in channels:
                out.append(dict(r, height=h))
    return out


def mine_until_settled(miner, nodes, producer, lanes, max_blocks=12, what="settlement"):
    """Mines on `miner` (paying `producer`) until, for every (relay_client, channel_id) in
    lanes, the chain's claimed amount equals the amount of the relay's newest receipt (GET
    /v1/channel). Between blocks it waits until every receipt due is in the miner's receipt
    pool (the relays submit on each new block and gossip over P2P). Returns the blocks
    mined."""
    def newest(client, cid):
        r = client.channel(cid)
        if r.status != 200:
            raise TestFailure("GET /v1/channel/%s: %r" % (cid, r))
        rc = r.json()["receipt"]
        return rc["amount"] if rc else 0

    def pending():
        return [(c, cid) for c, cid in lanes
                if miner.rpc.getchannel(cid)["claimed"] != newest(c, cid)]

    mined = 0
    while True:
        due = pending()
        if not due:
            return mined
        if mined >= max_blocks:
            raise TestFailure("%s: after %d blocks, still unsettled: %s" % (
                what, mined, ["%s claimed %d, relay's newest %d" % (
                    cid[:16], miner.rpc.getchannel(cid)["claimed"], newest(c, cid))
                    for c, cid in due]))
        if mined:
            # the relays hand receipts over when they see a block: wait until the miner has
            # them (bounded; a receipt below the settle threshold never comes, hence no error)
            try:
                wait_until(lambda: miner.rpc.getmempoolinfo()["receipts"] >= len(due),
                           timeout=10, interval=0.1)
            except TestFailure:
                pass
        miner.rpc.generate(1, producer.address)
        mined += 1
        sync_tips(nodes)


def sync_tips(nodes, timeout=60):
    def same():
        return len({n.rpc.getbestblockhash() for n in nodes}) == 1
    wait_until(same, timeout=timeout, interval=0.05,
               what="same best block on %s" % ", ".join(repr(n) for n in nodes))


# ---------------------------------------------------------------- a base for the relay tests

class RelayTestFramework(BwcTestFramework):
    """BwcTestFramework whose tests start their nodes themselves (each with the relay options
    it needs) and send transactions built with objects.py, nonces tracked per key (dev key 2
    funds them: dev key 1 is the wallets'). Blocks pay `self.producer`, a key of no one else,
    so every other balance stays exact."""

    num_nodes = 0

    def setup_nodes(self):
        self.producer = Key()
        self.nonces = {}
        self.funder = objects.dev_keys()[1]

    def relay_node(self, price=0, extra=(), keyfile_key=None):
        """A node with -relay on a port of its own (self.relay_ports[node]); with
        keyfile_key, its relay key is that Key (-relaykeyfile)."""
        port = free_port()
        args = relay_args(port, price, extra)
        if keyfile_key is not None:
            path = os.path.join(self.tmpdir, "relaykey-%d" % len(self.nodes))
            with open(path, "w") as f:
                f.write(keyfile_key.secret.hex() + "\n")
            os.chmod(path, 0o600)
            args.append("-relaykeyfile=" + path)
        node = self.add_node(args)
        node.relay_port = port
        return node

    def nonce(self, node, key):
        if key.address not in self.nonces:
            self.nonces[key.address] = node.rpc.getaccount(key.address)["nonce"]
        n = self.nonces[key.address]
        self.nonces[key.address] += 1
        return n

    def send(self, node, key, build, *args, **kw):
        """Builds a transaction with objects.py (build(key, *args, nonce=..., **kw)), sends it;
        returns its txid."""
        tx = build(key, *args, nonce=self.nonce(node, key), **kw)
        txid = node.rpc.sendrawtransaction(tx)
        assert_equal(txid, objects.txid_hex(tx))
        return txid

    def mine(self, node, n=1):
        return node.rpc.generate(n, self.producer.address)

    def fund(self, node, key, amount):
        """dev key 2 sends amount units to key (confirmed by the caller's next block)."""
        return self.send(node, self.funder, objects.transfer, key, amount)


# ---------------------------------------------------------------- a paid network

class PaidNetwork:
    """A dev network on loopback, as doc/relay.md sets one up: node0 the publisher's node and
    origin (-relay, -relayfree=<content>, the file imported with relayimport and registered
    with `bwc-wallet publish --origin`), relays node1..nodeN (bwcd -relay with keys of their
    own, imported into wallets, funded from dev key 1 and announced with `bwc-wallet relay
    announce`; they pull chunks through from the origin), and a consumer wallet funded from
    dev key 1. node0 mines; the relays connect to it over P2P.

    Attributes: origin, relays (nodes), relay_keys, clients (RelayClient per relay), w
    (WalletRunner on node0), consumer (address), cid (hex), m (manifest), path (the file)."""

    def __init__(self, test, size, chunk_size=256 * 1024, n_relays=2, price=100000,
                 relay_extra=(), consumer_funds=100 * COIN, seed=1):
        self.t = test
        self.price = price
        self.chunk_size = chunk_size
        self.path = os.path.join(test.tmpdir, "source.bin")
        data = write_random_file(self.path, size, seed=seed)
        self.m, cid = objects.manifest(data, chunk_size)
        self.cid = cid.hex()
        self.manifest_len = len(cbor.encode(self.m))
        del data

        test.log("origin node with -relayfree=%s..., %d relay nodes" % (self.cid[:16], n_relays))
        self.origin = test.relay_node(price=price, extra=["-relayfree=" + self.cid])
        self.origin.start()
        self.relays = []
        for i in range(n_relays):
            n = test.relay_node(price=price, extra=["-addnode=127.0.0.1:%d" %
                                                    self.origin.p2pport, "-debug=relay"] +
                                list(relay_extra))
            n.start()
            self.relays.append(n)
        self.nodes = [self.origin] + self.relays
        self.wait_connected()
        self.clients = [RelayClient(n.relay_port) for n in self.relays]
        self.relay_keys = [read_relay_key(n) for n in self.relays]
        for n, k in zip(self.relays, self.relay_keys):
            assert_equal(n.rpc.getrelaystats()["address"], k.address)

        self.w = w = WalletRunner(test.options.bindir, test.tmpdir, self.origin)
        test.log("relayimport on the origin; publish it with --origin")
        r = self.origin.rpc.relayimport(self.path, True, chunk_size)
        assert_equal(r["content_id"], self.cid, msg="relayimport and objects.manifest differ")
        w.json("dev1", "import", objects.dev_keys()[0].secret.hex())
        self.publisher = w.json("publisher", "create")["address"]
        self.consumer = w.json("consumer", "create")["address"]
        for i, k in enumerate(self.relay_keys):
            with open(os.path.join(self.relays[i].chaindir, "relay", "relay.key")) as f:
                r = w.json("relay%d" % (i + 1), "import", "-", stdin=f.read())
            assert_equal(r["address"], k.address)
        w.json("dev1", "send", self.publisher, "1")
        w.json("dev1", "send", self.consumer, "%du" % consumer_funds)
        for k in self.relay_keys:
            w.json("dev1", "send", k.address, "1")
        self.mine()
        pub = w.json("publisher", "publish", self.path, "--origin", endpoint(
            self.origin.relay_port), "--chunk-size", str(chunk_size))
        assert_equal(pub["content_id"], self.cid)
        test.log("announce the relays (bwc-wallet relay announce, the relay keys' wallets)")
        for i, n in enumerate(self.relays):
            w.json("relay%d" % (i + 1), "relay", "announce", "--endpoint",
                   endpoint(n.relay_port), "--region", "ZZ", "--price", "%du" % price)
        self.mine()
        listed = {r["address"]: r for r in self.origin.rpc.listrelays()}
        for n, k in zip(self.relays, self.relay_keys):
            assert_equal(listed[k.address]["endpoint"], endpoint(n.relay_port))
            assert_equal(listed[k.address]["price"], price)
        assert_equal(self.origin.rpc.getcontent(self.cid)["origin"],
                     endpoint(self.origin.relay_port))

    def wait_connected(self, timeout=30):
        """Waits until every relay node has a handshaken P2P connection with the origin, in
        either direction (after a start or a restart; -addnode makes them reconnect)."""
        port = self.origin.p2pport

        def to_origin(p):
            # outbound to its P2P port, or inbound from it (the port its version announced)
            return p.get("connected") and (
                (not p["inbound"] and p["addr"] == "127.0.0.1:%d" % port) or
                (p["inbound"] and p.get("listen_port") == port))
        for r in self.relays:
            wait_until(lambda: any(to_origin(p) for p in r.rpc.getpeerinfo()),
                       timeout=timeout, interval=0.05,
                       what="node%d connected to the origin" % r.index)

    def mine(self, n=1):
        """Mines n blocks on the origin (to the test's producer) and waits for the relays."""
        h = self.origin.rpc.generate(n, self.t.producer.address)
        sync_tips(self.nodes)
        return h

    def balances(self):
        addrs = [k.address for k in self.relay_keys] + [self.consumer]
        return {a: self.origin.rpc.getaccount(a) for a in addrs}

    def download(self, out, *extra, timeout=180, wallet="consumer", stop_when=None):
        """Runs `bwc-wallet download CID -o out --relays N --relay R... --json` in the
        background, mining a block whenever the origin's mempool holds transactions (the
        channels it opens), until it exits. stop_when(proc) returning true ends it early with
        SIGTERM. Returns (returncode, parsed JSON or None, stderr)."""
        args = ["download", self.cid, "-o", out, "--relays", str(len(self.relays))]
        for k in self.relay_keys:
            args += ["--relay", k.address]
        args += list(extra) + ["--json"]
        errpath = out + ".stderr"
        with open(out + ".stdout", "wb") as so, open(errpath, "wb") as se:
            proc = self.w.popen(wallet, *args, stdout=so, stderr=se)
            deadline = time.monotonic() + timeout
            try:
                while proc.poll() is None:
                    if time.monotonic() > deadline:
                        stop_process(proc, signal.SIGKILL)
                        raise TestFailure("bwc-wallet download did not finish in %d s: %s" % (
                            timeout, _tail(errpath)))
                    if stop_when is not None and stop_when(proc):
                        stop_process(proc, signal.SIGTERM)
                        break
                    if self.origin.rpc.getmempoolinfo()["size"]:
                        self.mine()
                    time.sleep(0.05)
            finally:
                if proc.poll() is None:
                    stop_process(proc, signal.SIGKILL)
        with open(out + ".stdout") as f:
            text = f.read()
        try:
            res = json.loads(text) if text.strip() else None
        except ValueError:
            res = None
        return proc.returncode, res, _tail(errpath, 6000)


def _tail(path, n=3000):
    try:
        with open(path, "rb") as f:
            return f.read()[-n:].decode(errors="replace")
    except OSError:
        return ""
