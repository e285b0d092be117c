"""p2p.py: a raw P2P peer for tests (doc/p2p.md): frames of magic (u32 BE), length (u32 BE)
and a canonical CBOR array [type, fields...]; the version/verack handshake; blocking reads
with a deadline. It can bind to any 127.0.0.0/8 source address, so that a peer the node
bans is not the honest nodes' 127.0.0.1.

Also here, for the p2p_*_test.py tests: P2PListener (the peer on the accepting side, for
`addnode ... onetry`), helpers that wire nodes together (-connect/-addnode arguments, "is a
connected to b" from getpeerinfo), bounded waits for block sync, a PoA chainspec writer, and
P2PTestFramework, a BwcTestFramework that adds nodes of a chainspec file with -debug=net."""

import json
import os
import socket
import struct
import time

from . import cbor, objects
from .node import TestNode
from .objects import DEV_CHAIN_ID, DEV_SPEC
from .test_framework import BwcTestFramework
from .util import TestFailure, wait_until

DEV_MAGIC = int(DEV_SPEC["magic"], 16)

VERSION, VERACK, PING, PONG, INV, GETDATA, NOTFOUND, TX, RECEIPT, BLOCK, GETHEADERS, \
    HEADERS, GETADDR, ADDR = range(14)
INV_TX, INV_RECEIPT, INV_BLOCK = 1, 2, 3
PROTOCOL_VERSION = 1
USER_AGENT = "/bwc-test:0.1/"
MAX_INV = 1000  # items per inv/getdata/notfound
MSG_NAMES = ["version", "verack", "ping", "pong", "inv", "getdata", "notfound", "tx", "receipt",
             "block", "getheaders", "headers", "getaddr", "addr"]


def magic_of(spec):
    """The network magic of a chainspec (parsed JSON) as an int."""
    m = spec["magic"]
    return int(m, 16) if isinstance(m, str) else int(m)


class PeerClosed(Exception):
    pass


class P2PPeer:
    """P2PPeer(port, source=...) connects from source to 127.0.0.1:port at once; with
    sock=... it wraps a socket accepted by P2PListener instead."""

    def __init__(self, port=None, source="127.0.0.1", magic=DEV_MAGIC, timeout=30,
                 chain_id=DEV_CHAIN_ID, sock=None, host="127.0.0.1"):
        self.magic = magic
        self.chain_id = chain_id
        self.timeout = timeout
        self.source = source
        if sock is not None:
            self.sock = sock
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.bind((source, 0))
            self.sock.settimeout(timeout)
            self.sock.connect((host, port))
        self.sock.settimeout(timeout)
        self.buf = b""
        self.received = []  # every message read, in order
        self.peer_version = None

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    # ------------------------------------------------------------------ framing

    def send_raw(self, data):
        self.sock.sendall(data)

    def frame(self, payload, magic=None):
        return struct.pack(">II", self.magic if magic is None else magic, len(payload)) + payload

    def send(self, mtype, *fields):
        self.send_raw(self.frame(cbor.encode([mtype] + list(fields))))

    def _fill(self, n, deadline):
        """Reads until the buffer holds at least n bytes (nothing is consumed)."""
        while len(self.buf) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no message from the node in time")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                raise TimeoutError("no message from the node in time")
            except ConnectionResetError:
                raise PeerClosed("connection reset")
            if not chunk:
                raise PeerClosed("connection closed")
            self.buf += chunk

    def recv(self, timeout=None):
        """The next message as a list [type, fields...]; answers pings on the way. A frame is
        taken from the buffer only when it is complete, so a timeout never loses a part."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            self._fill(8, deadline)
            magic, length = struct.unpack(">II", self.buf[:8])
            if magic != self.magic:
                raise AssertionError("bad magic %08x from the node" % magic)
            self._fill(8 + length, deadline)
            payload, self.buf = self.buf[8:8 + length], self.buf[8 + length:]
            msg = cbor.decode(payload)
            if cbor.encode(msg) != payload:
                raise AssertionError("non-canonical CBOR from the node: %s" % payload.hex())
            self.received.append(msg)
            if msg[0] == PING:
                self.send(PONG, msg[1])
                continue
            return msg

    def wait_for(self, pred, timeout=None, what="a message"):
        """Reads until pred(msg) is true (returns msg); other messages are kept in received."""
        deadline = time.monotonic() + (timeout or self.timeout)
        for _ in range(100000):
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                msg = self.recv(left)
            except TimeoutError:
                break
            if pred(msg):
                return msg
        raise TimeoutError("timed out waiting for " + what)

    def wait_closed(self, timeout=None):
        """Reads until the node closes the connection (returns True) or the timeout passes."""
        deadline = time.monotonic() + (timeout or self.timeout)
        try:
            for _ in range(100000):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.recv(left)
        except PeerClosed:
            return True
        except TimeoutError:
            return False
        return False

    def wait_closed_raw(self, timeout=None):
        """Like wait_closed, but drops bytes without parsing them (for after we broke the
        stream ourselves). Returns True when the node closed within the timeout."""
        deadline = time.monotonic() + (timeout or self.timeout)
        for _ in range(1000000):
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                return False
            except (ConnectionResetError, ConnectionAbortedError):
                return True
            if not chunk:
                return True
        return False

    def sync_with_ping(self, timeout=None, what="pong"):
        """A ping and its pong: the node has handled every message we sent before it."""
        nonce = int.from_bytes(os.urandom(8), "big") | 1
        self.send(PING, nonce)
        return self.wait_for(lambda m: m[0] == PONG and m[1] == nonce, timeout, what)

    # ------------------------------------------------------------------ handshake

    def version_msg(self, chain_id=None, height=0, best=None):
        chain_id = self.chain_id if chain_id is None else chain_id
        return [VERSION, PROTOCOL_VERSION, chain_id, height, best or chain_id, USER_AGENT, 0,
                int.from_bytes(os.urandom(8), "big"), int(time.time())]

    def handshake(self, chain_id=None, height=0, best=None):
        self.send(*self.version_msg(chain_id, height, best))
        self.peer_version = self.wait_for(lambda m: m[0] == VERSION, what="version")
        self.wait_for(lambda m: m[0] == VERACK, what="verack")
        self.send(VERACK)
        return self.peer_version

    def accept_handshake(self, chain_id=None, height=0, best=None):
        """The accepting side (the node connected to us): its version first, then ours and a
        verack, then its verack."""
        self.peer_version = self.wait_for(lambda m: m[0] == VERSION, what="version")
        self.send(*self.version_msg(chain_id, height, best))
        self.send(VERACK)
        self.wait_for(lambda m: m[0] == VERACK, what="verack")
        return self.peer_version


class P2PListener:
    """A listening socket on (ip, a free port) for a node to connect to."""

    def __init__(self, ip="127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((ip, 0))
        self.sock.listen(4)
        self.ip, self.port = self.sock.getsockname()

    def accept(self, timeout=30, **peer_args):
        """The next connection as a P2PPeer (raises socket.timeout when none comes)."""
        self.sock.settimeout(timeout)
        s, _ = self.sock.accept()
        return P2PPeer(sock=s, **peer_args)

    def close(self):
        self.sock.close()


# ---------------------------------------------------------------- wiring nodes together

def p2p_addr(node):
    return "127.0.0.1:%d" % node.p2pport


def connect_arg(node):
    return "-connect=" + p2p_addr(node)


def addnode_arg(node):
    return "-addnode=" + p2p_addr(node)


def peers_of(a, b, peers=None):
    """a's getpeerinfo entries that are a handshaken connection with node b: outbound to b's
    P2P port, or inbound from 127.0.0.1 with b's listening port (from b's version)."""
    peers = a.rpc.getpeerinfo() if peers is None else peers
    return [p for p in peers if p.get("connected") and (
        (not p["inbound"] and p["addr"] == p2p_addr(b)) or
        (p["inbound"] and p["addr"].startswith("127.0.0.1:") and
         p["listen_port"] == b.p2pport))]


def is_connected(a, b):
    return bool(peers_of(a, b)) and bool(peers_of(b, a))


def wait_connected(pairs, timeout=30):
    for a, b in pairs:
        wait_until(lambda: is_connected(a, b), timeout=timeout, interval=0.1,
                   what="node%d and node%d connected (handshake done on both sides)" % (
                       a.index, b.index))


def wait_disconnected(a, b, timeout=30):
    wait_until(lambda: not peers_of(a, b) and not peers_of(b, a), timeout=timeout,
               interval=0.1, what="node%d and node%d disconnected" % (a.index, b.index))


def wait_until_state(pred, describe, timeout=30, interval=0.1, what="condition"):
    """wait_until whose failure message ends with describe() called at the time of the
    failure (the state that did not reach the condition)."""
    try:
        return wait_until(pred, timeout=timeout, interval=interval, what=what)
    except TestFailure as e:
        try:
            now = describe()
        except Exception as e2:  # the node may be gone
            now = "(cannot describe: %r)" % e2
        raise TestFailure("%s; state at the time: %s" % (e, now))


def sync_blocks(nodes, timeout=60, what=None):
    """Waits until every node has the same best block; returns its hash."""
    def same():
        tips = {n.rpc.getbestblockhash() for n in nodes}
        return tips.pop() if len(tips) == 1 else None
    return wait_until_state(same, lambda: ", ".join(
        "node%d at %d %s" % (n.index, n.rpc.getblockcount(), n.rpc.getbestblockhash()[:16])
        for n in nodes), timeout=timeout, interval=0.1,
        what=what or "same best block on %s" % (nodes,))


def wait_for_block(node, blockhash, timeout=60):
    wait_until(lambda: node.rpc.getbestblockhash() == blockhash, timeout=timeout, interval=0.1,
               what="node%d reaches block %s" % (node.index, blockhash))


def accounts(node, addrs):
    return {a: node.rpc.getaccount(a) for a in addrs}


def banned_ips(node):
    return [b["address"].split("/")[0] for b in node.rpc.listbanned()]


# ---------------------------------------------------------------- chainspecs

def write_poa_chainspec(path, name="p2ppoa", hrp="tpoa", magic="0x5ea1c0de",
                        secrets=(0x11, 0x12, 0x13), slot_seconds=1, finality_depth=100):
    """A PoA chainspec of our own, like chainspec/poa-example.json: authorities with the given
    secret keys (public: tests only), our own name, hrp and magic. Returns (spec, [Key])."""
    spec = objects.load_chainspec("poa-example")
    keys = [objects.Key(s, hrp=hrp) for s in secrets]
    spec["name"] = name
    spec["hrp"] = hrp
    spec["magic"] = magic
    spec["genesis"]["message"] = "bwc p2p functional test chain: public keys, worthless coins"
    spec["poa"]["authorities"] = [k.address for k in keys]
    spec["poa"]["slot_seconds"] = slot_seconds
    spec["poa"]["finality_depth"] = finality_depth
    with open(path, "w") as f:
        json.dump(spec, f, indent=1)
    return spec, keys


# ---------------------------------------------------------------- framework

class P2PTestFramework(BwcTestFramework):
    """BwcTestFramework whose nodes may run a chainspec file, with -debug=net on each."""

    debug_net = True

    def add_node(self, extra_args=None, chain="dev", chainspec=None):
        args = list(extra_args or [])
        if chainspec:
            # the chain's directory is named after the chainspec's name: TestNode needs it as
            # its chain (it also passes -chain=NAME, which -chainspec overrides)
            args = ["-chainspec=" + chainspec] + args
        if self.debug_net:
            args = ["-debug=net"] + args
        node = TestNode(len(self.nodes), self.tmpdir, self.options.bindir, chain=chain,
                        extra_args=args)
        self.nodes.append(node)
        return node

    def start_p2p(self, node, connect=(), addnode=(), extra_args=None):
        """Starts node with -connect/-addnode to the given nodes, whose ports are read now:
        TestNode.start may move a node to new ports when one was taken (parallel tests), so a
        node's address is only known once it runs. The arguments stay for restarts."""
        node.extra_args += [connect_arg(o) for o in connect] + [addnode_arg(o) for o in addnode]
        node.start(extra_args=extra_args)

    def log_tail(self, node, pattern=None, lines=30):
        """The last lines of node's debug.log (those containing pattern, when given)."""
        try:
            with open(node.debug_log, "rb") as f:
                data = f.read().decode(errors="replace").splitlines()
        except OSError:
            return "(no debug.log)"
        if pattern:
            data = [l for l in data if pattern in l]
        return "\n".join(data[-lines:])
