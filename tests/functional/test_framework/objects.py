"""objects.py: builds, signs, decodes and hashes bwc consensus objects exactly as
PROTOCOL.md §3-§4 describe them, independently of the node's C code: transactions,
receipts, headers, blocks, Merkle roots and the genesis block / chain_id of a chainspec."""

import hashlib
import json
import os

from . import bip340
from . import cbor
from .bech32m import decode_address, encode_address

ZERO32 = bytes(32)

TX_TRANSFER = 1
TX_CHANNEL_OPEN = 2
TX_CONTENT_REGISTER = 3
TX_RELAY_ANNOUNCE = 4
TX_RELAY_RETIRE = 5
TX_SPONSOR = 6
TX_TYPE_NAMES = {1: "transfer", 2: "channel_open", 3: "content_register",
                 4: "relay_announce", 5: "relay_retire", 6: "sponsor"}


def tagged_hash(tag, msg):
    return bip340.tagged_hash(tag, msg)


# ---------------------------------------------------------------- chainspec and genesis

def chainspec_path(name="dev"):
    return os.path.join(os.path.dirname(__file__), "..", "..", "..", "chainspec", name + ".json")


def load_chainspec(name="dev"):
    with open(chainspec_path(name)) as f:
        return json.load(f)


def _compact(v):
    return int(v, 16) if isinstance(v, str) else int(v)


def genesis_g(spec):
    """G of PROTOCOL.md §4 for a chainspec (parsed JSON)."""
    hrp = spec["hrp"]
    g = spec["genesis"]
    allocs = [[decode_address(hrp, a["address"]), a["amount"]] for a in g["allocations"]]
    if spec["engine"] == "pow":
        pw = spec["pow"]
        eng = {0: _compact(pw["initial_target"]), 1: pw["target_spacing"], 2: pw["half_life"],
               3: 1 if pw["no_retarget"] else 0}
    else:
        pa = spec["poa"]
        eng = {0: [decode_address(hrp, a) for a in pa["authorities"]], 1: pa["slot_seconds"],
               2: pa["finality_depth"]}
    e = spec["economics"]
    lim = spec["limits"]
    return {0: hrp, 1: _compact(spec["magic"]), 2: g["time"], 3: g["message"], 4: allocs,
            5: spec["engine"], 6: eng,
            7: {0: e["initial_subsidy"], 1: e["halving_interval"], 2: e["min_fee"],
                3: e["receipt_fee"], 4: e["settle_window"], 5: e["max_channel_blocks"]},
            8: {0: lim["max_block_bytes"], 1: lim["max_message_bytes"],
                2: lim["max_future_seconds"]}}


def genesis_header(spec):
    h = {0: 1, 1: 0, 2: ZERO32, 3: spec["genesis"]["time"],
         4: tagged_hash("bwc/genesis", cbor.encode(genesis_g(spec))), 5: ZERO32, 6: ZERO32}
    if spec["engine"] == "pow":
        h[7] = _compact(spec["pow"]["initial_target"])
        h[8] = 0
    return h


def block_id_of_header(h):
    return tagged_hash("bwc/block", cbor.encode({k: v for k, v in h.items() if k != 15}))


def chain_id_of(spec):
    return block_id_of_header(genesis_header(spec))


DEV_SPEC = load_chainspec("dev")
DEV_CHAIN_ID = chain_id_of(DEV_SPEC)
DEV_HRP = DEV_SPEC["hrp"]


def subsidy(height, spec=DEV_SPEC):
    e = spec["economics"]
    k = height // e["halving_interval"]
    return 0 if k >= 64 else e["initial_subsidy"] >> k


# ---------------------------------------------------------------- keys

class Key:
    """A secret key with its x-only public key and address."""

    def __init__(self, secret=None, hrp=DEV_HRP):
        if secret is None:
            while True:
                secret = os.urandom(32)
                if 1 <= int.from_bytes(secret, "big") < bip340.n:
                    break
        elif isinstance(secret, int):
            secret = secret.to_bytes(32, "big")
        self.secret = bytes(secret)
        self.pub = bip340.pubkey_gen(self.secret)
        self.hrp = hrp
        self.address = encode_address(hrp, self.pub)

    def sign(self, msg32):
        return bip340.schnorr_sign(msg32, self.secret)

    def __repr__(self):
        return "Key(%s)" % self.address


def dev_keys():
    """The four funded keys of chainspec/dev.json (secrets 1..4)."""
    return [Key(i) for i in range(1, 5)]


def pubkey_of(x, hrp=DEV_HRP):
    """32-byte key from a Key, bytes, hex string or address."""
    if isinstance(x, Key):
        return x.pub
    if isinstance(x, (bytes, bytearray)):
        assert len(x) == 32
        return bytes(x)
    if isinstance(x, str):
        if len(x) == 64:
            try:
                return bytes.fromhex(x)
            except ValueError:
                pass
        k = decode_address(hrp, x)
        if k is None:
            raise ValueError("not an address: %r" % x)
        return k
    raise TypeError(type(x))


def address_of(x, hrp=DEV_HRP):
    return encode_address(hrp, pubkey_of(x, hrp))


def _b32(x):
    if isinstance(x, str):
        x = bytes.fromhex(x)
    assert len(x) == 32
    return bytes(x)


# ---------------------------------------------------------------- transactions

def tx_id(tx, chain_id=DEV_CHAIN_ID):
    """txid of a tx map (or its hex) = TH("bwc/tx", chain_id || enc(tx without 15))."""
    if isinstance(tx, str):
        tx = cbor.decode(bytes.fromhex(tx))
    return tagged_hash("bwc/tx", chain_id + cbor.encode({k: v for k, v in tx.items() if k != 15}))


def txid_hex(tx, chain_id=DEV_CHAIN_ID):
    return tx_id(tx, chain_id).hex()


def sign_tx(key, tx_type, nonce, fee, body, chain_id=DEV_CHAIN_ID):
    """Returns the signed tx as hex."""
    tx = {0: tx_type, 1: key.pub, 2: nonce, 3: fee, 4: body}
    tx[15] = key.sign(tx_id(tx, chain_id))
    return cbor.encode(tx).hex()


def transfer(key, to, amount, nonce, fee=1000, memo=None, chain_id=DEV_CHAIN_ID):
    body = {0: pubkey_of(to), 1: amount}
    if memo is not None:
        body[2] = memo if isinstance(memo, bytes) else memo.encode()
    return sign_tx(key, TX_TRANSFER, nonce, fee, body, chain_id)


def channel_open(key, relay, deposit, price, expiry, nonce, fee=1000, chain_id=DEV_CHAIN_ID):
    body = {0: pubkey_of(relay), 1: deposit, 2: price, 3: expiry}
    return sign_tx(key, TX_CHANNEL_OPEN, nonce, fee, body, chain_id)


def content_register(key, content_id, size, chunk_size, nonce, name=None, origin=None,
                     mime=None, fee=1000, chain_id=DEV_CHAIN_ID):
    body = {0: _b32(content_id), 1: size, 2: chunk_size}
    if name is not None:
        body[3] = name
    if origin is not None:
        body[4] = origin
    if mime is not None:
        body[5] = mime
    return sign_tx(key, TX_CONTENT_REGISTER, nonce, fee, body, chain_id)


def relay_announce(key, endpoint, region, price, rate, quota, burst_quota, burst_hours, nonce,
                   fee=1000, chain_id=DEV_CHAIN_ID):
    body = {0: endpoint, 1: region, 2: price, 3: rate, 4: quota, 5: burst_quota, 6: burst_hours}
    return sign_tx(key, TX_RELAY_ANNOUNCE, nonce, fee, body, chain_id)


def relay_retire(key, nonce, fee=1000, chain_id=DEV_CHAIN_ID):
    return sign_tx(key, TX_RELAY_RETIRE, nonce, fee, {}, chain_id)


def sponsor(key, content_id, amount, price, per_consumer_cap, expiry, nonce, ticket_key=None,
            fee=1000, chain_id=DEV_CHAIN_ID):
    body = {0: _b32(content_id), 1: amount, 2: price, 3: per_consumer_cap, 4: expiry}
    if ticket_key is not None:
        body[5] = pubkey_of(ticket_key)
    return sign_tx(key, TX_SPONSOR, nonce, fee, body, chain_id)


def decode_tx(h):
    return cbor.decode(bytes.fromhex(h) if isinstance(h, str) else h)


# ---------------------------------------------------------------- receipts

def receipt_id(r, chain_id=DEV_CHAIN_ID):
    """TH("bwc/receipt", chain_id || enc(r without 14, 15)) of a receipt map (or its hex)."""
    if isinstance(r, str):
        r = cbor.decode(bytes.fromhex(r))
    return tagged_hash("bwc/receipt",
                       chain_id + cbor.encode({k: v for k, v in r.items() if k not in (14, 15)}))


def receipt_id_hex(r, chain_id=DEV_CHAIN_ID):
    return receipt_id(r, chain_id).hex()


def ticket(ticket_key, pool, consumer, chain_id=DEV_CHAIN_ID):
    """A pool ticket: ticket_key's signature over TH("bwc/ticket", chain_id || pool || consumer)."""
    return ticket_key.sign(tagged_hash("bwc/ticket", chain_id + _b32(pool) + pubkey_of(consumer)))


def receipt(channel, seq, nbytes, amount, digest, consumer_key, relay_key=None, pool=False,
            ticket_sig=None, chain_id=DEV_CHAIN_ID):
    """A receipt signed by consumer_key and, when relay_key is given, by the relay too; as hex.
    With pool=True it is a pool receipt (keys 5 and 7 carry consumer and relay)."""
    r = {0: _b32(channel), 1: seq, 2: nbytes, 3: amount, 4: _b32(digest)}
    if pool:
        r[5] = consumer_key.pub
        r[7] = relay_key.pub
        if ticket_sig is not None:
            r[6] = ticket_sig
    rid = receipt_id(r, chain_id)
    r[15] = consumer_key.sign(rid)
    if relay_key is not None:
        r[14] = relay_key.sign(rid)
    return cbor.encode(r).hex()


def delivery_next(d, content_id, index, chunk_hash):
    """One step of the delivery digest, PROTOCOL.md §3.4."""
    return tagged_hash("bwc/delivery", _b32(d) + _b32(content_id) + index.to_bytes(4, "big")
                       + _b32(chunk_hash))


def max_amount(nbytes, price):
    return (nbytes * price + (1 << 20) - 1) >> 20


# ---------------------------------------------------------------- manifests

def manifest(data, chunk_size=256 * 1024):
    """(manifest map, content_id) of the bytes data."""
    chunks = [hashlib.sha256(data[i:i + chunk_size]).digest()
              for i in range(0, len(data), chunk_size)]
    m = {0: 1, 1: len(data), 2: chunk_size, 3: chunks}
    return m, tagged_hash("bwc/manifest", cbor.encode(m))


# ---------------------------------------------------------------- blocks

def merkle_root(leaves):
    if not leaves:
        return ZERO32
    level = list(leaves)
    while len(level) > 1:
        nxt = []
        for i in range(0, len(level) - 1, 2):
            nxt.append(tagged_hash("bwc/merkle", level[i] + level[i + 1]))
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def decode_block(h):
    """The block map {0: header, 1: [tx], 2: [receipt]} of a block's hex."""
    return cbor.decode(bytes.fromhex(h) if isinstance(h, str) else h)


def block_id(block_or_hex):
    b = decode_block(block_or_hex) if isinstance(block_or_hex, (str, bytes)) else block_or_hex
    return block_id_of_header(b[0])


def block_tx_root(b):
    return merkle_root([tagged_hash("bwc/txw", cbor.encode(t)) for t in b[1]])


def block_receipt_root(b):
    return merkle_root([tagged_hash("bwc/rcw", cbor.encode(r)) for r in b[2]])


def compact_to_target(c):
    size = c >> 24
    word = c & 0x007fffff
    if size <= 3:
        return word >> (8 * (3 - size))
    return word << (8 * (size - 3))


def block_work(compact):
    return (1 << 256) // (compact_to_target(compact) + 1)


def check_pow(header):
    return int.from_bytes(block_id_of_header(header), "big") <= compact_to_target(header[7])


def mine_block(prev_header, producer, txs=(), receipts=(), time_=None, chain_id=DEV_CHAIN_ID):
    """A PoW block (hex) on top of prev_header with the given tx and receipt maps; searches
    the nonce (the dev target accepts about every second id). Bounded to 1e6 tries."""
    txs = [decode_tx(t) if isinstance(t, str) else t for t in txs]
    receipts = [cbor.decode(bytes.fromhex(r)) if isinstance(r, str) else r for r in receipts]
    b = {0: None, 1: txs, 2: receipts}
    h = {0: 1, 1: prev_header[1] + 1, 2: block_id_of_header(prev_header),
         3: time_ if time_ is not None else prev_header[3] + 1,
         4: block_tx_root(b), 5: block_receipt_root(b), 6: pubkey_of(producer), 7: prev_header[7],
         8: 0}
    for nonce in range(1000000):
        h[8] = nonce
        if check_pow(h):
            b[0] = h
            return cbor.encode(b).hex()
    raise RuntimeError("no nonce found")


def selftest():
    assert DEV_CHAIN_ID.hex() == \
        "2fb7044298a2fb4e2de79e88e7c78d863b88f5a476568528576e4ebec8b82c3c", DEV_CHAIN_ID.hex()
    keys = dev_keys()
    assert keys[0].address == DEV_SPEC["genesis"]["allocations"][0]["address"]
    h = transfer(keys[0], keys[1], 5, 0, memo=b"hi")
    tx = decode_tx(h)
    assert bip340.schnorr_verify(tx_id(tx), tx[1], tx[15])
    assert cbor.encode(tx).hex() == h
    assert merkle_root([b"\x01" * 32]) == b"\x01" * 32
    assert merkle_root([]) == ZERO32


if __name__ == "__main__":
    selftest()
    print("objects selftest ok")
