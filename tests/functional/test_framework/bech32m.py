"""bech32m.py: bwc addresses, BIP350 bech32m of a 32-byte x-only key with no witness version
(PROTOCOL.md §1): data = the key regrouped in 5-bit groups."""

CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
BECH32M_CONST = 0x2bc830a3


def _polymod(values):
    gen = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3]
    chk = 1
    for v in values:
        b = chk >> 25
        chk = (chk & 0x1ffffff) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if ((b >> i) & 1) else 0
    return chk


def _hrp_expand(hrp):
    return [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp]


def _create_checksum(hrp, data):
    values = _hrp_expand(hrp) + data
    polymod = _polymod(values + [0] * 6) ^ BECH32M_CONST
    return [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]


def bech32m_encode(hrp, data):
    combined = data + _create_checksum(hrp, data)
    return hrp + "1" + "".join(CHARSET[d] for d in combined)


def bech32m_decode(s):
    """Returns (hrp, data) or (None, None) for anything that is not valid bech32m."""
    if any(ord(x) < 33 or ord(x) > 126 for x in s):
        return None, None
    if s.lower() != s and s.upper() != s:
        return None, None
    s = s.lower()
    pos = s.rfind("1")
    if pos < 1 or pos + 7 > len(s) or len(s) > 90:
        return None, None
    if not all(x in CHARSET for x in s[pos + 1:]):
        return None, None
    hrp = s[:pos]
    data = [CHARSET.find(x) for x in s[pos + 1:]]
    if _polymod(_hrp_expand(hrp) + data) != BECH32M_CONST:
        return None, None
    return hrp, data[:-6]


def convertbits(data, frombits, tobits, pad=True):
    acc = 0
    bits = 0
    ret = []
    maxv = (1 << tobits) - 1
    for value in data:
        if value < 0 or (value >> frombits):
            return None
        acc = (acc << frombits) | value
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            ret.append((acc >> bits) & maxv)
    if pad:
        if bits:
            ret.append((acc << (tobits - bits)) & maxv)
    elif bits >= frombits or ((acc << (tobits - bits)) & maxv):
        return None
    return ret


def encode_address(hrp, pubkey):
    """The address of a 32-byte key."""
    assert len(pubkey) == 32
    return bech32m_encode(hrp, convertbits(pubkey, 8, 5, True))


def decode_address(hrp, addr):
    """The 32-byte key in addr, or None when addr is not an address of this hrp."""
    h, data = bech32m_decode(addr)
    if h is None or h != hrp:
        return None
    b = convertbits(data, 5, 8, False)
    if b is None or len(b) != 32:
        return None
    return bytes(b)


def selftest():
    # the dev chain's first funded key (chainspec/dev-keys.txt): secret 1, key = G.x
    g = bytes.fromhex("79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
    a = "dbwc10xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vq54886f"
    assert encode_address("dbwc", g) == a
    assert decode_address("dbwc", a) == g
    assert decode_address("dbwc", a.upper()) == g
    assert decode_address("bwc", a) is None
    assert decode_address("dbwc", a[:-1] + ("g" if a[-1] != "g" else "q")) is None
    assert decode_address("dbwc", a[:10] + a[10:].upper()) is None  # mixed case
    import json
    import os
    path = os.path.join(os.path.dirname(__file__), "..", "..", "data", "bip350-vectors.json")
    with open(path) as f:
        vec = json.load(f)
    for s in vec["bech32m_valid"]:
        hrp, data = bech32m_decode(s)
        assert hrp is not None, s
        assert bech32m_encode(hrp, data) == s.lower(), s
    for v in vec["bech32m_invalid"]:
        assert bech32m_decode(v["string"]) == (None, None), v


if __name__ == "__main__":
    selftest()
    print("bech32m selftest ok")
