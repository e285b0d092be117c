"""cbor.py: canonical CBOR (RFC 8949 core deterministic encoding) for the subset bwc uses:
unsigned integers, byte strings, text strings, arrays and maps keyed by unsigned integers.
An independent second implementation of PROTOCOL.md §2 (the node's is consensus/cbor.c)."""


class CBORError(ValueError):
    pass


def _head(major, n):
    if n < 0:
        raise CBORError("negative length or value")
    if n < 24:
        return bytes([(major << 5) | n])
    if n < 1 << 8:
        return bytes([(major << 5) | 24, n])
    if n < 1 << 16:
        return bytes([(major << 5) | 25]) + n.to_bytes(2, "big")
    if n < 1 << 32:
        return bytes([(major << 5) | 26]) + n.to_bytes(4, "big")
    if n < 1 << 64:
        return bytes([(major << 5) | 27]) + n.to_bytes(8, "big")
    raise CBORError("integer too large")


def encode(x):
    """Canonical encoding of x: int (>= 0), bytes, str, list/tuple, dict with int keys
    (written in ascending key order)."""
    if isinstance(x, bool) or x is None:
        raise CBORError("booleans and null are not used by bwc")
    if isinstance(x, int):
        return _head(0, x)
    if isinstance(x, (bytes, bytearray)):
        return _head(2, len(x)) + bytes(x)
    if isinstance(x, str):
        b = x.encode("utf-8")
        return _head(3, len(b)) + b
    if isinstance(x, (list, tuple)):
        return _head(4, len(x)) + b"".join(encode(e) for e in x)
    if isinstance(x, dict):
        out = [_head(5, len(x))]
        for k in sorted(x):
            if isinstance(k, bool) or not isinstance(k, int) or k < 0:
                raise CBORError("map keys must be unsigned integers")
            out.append(encode(k))
            out.append(encode(x[k]))
        return b"".join(out)
    raise CBORError("cannot encode %r" % type(x))


MAX_DEPTH = 8


def decode(data):
    """Decodes one canonical item that spans all of data. Raises CBORError on anything the
    node's strict checker would refuse at the CBOR level."""
    data = bytes(data)
    v, pos = _decode(data, 0, 0)
    if pos != len(data):
        raise CBORError("trailing bytes")
    return v


def _read_arg(data, pos, info):
    if info < 24:
        return info, pos
    widths = {24: 1, 25: 2, 26: 4, 27: 8}
    if info not in widths:
        raise CBORError("indefinite length or reserved info %d" % info)
    w = widths[info]
    if pos + w > len(data):
        raise CBORError("truncated")
    n = int.from_bytes(data[pos:pos + w], "big")
    minimum = {1: 24, 2: 1 << 8, 4: 1 << 16, 8: 1 << 32}[w]
    if n < minimum:
        raise CBORError("non-shortest form")
    return n, pos + w


def _decode(data, pos, depth):
    if pos >= len(data):
        raise CBORError("truncated")
    ib = data[pos]
    major, info = ib >> 5, ib & 31
    pos += 1
    if major == 7:
        raise CBORError("float or simple value")
    if major == 6:
        raise CBORError("tag")
    if major == 1:
        raise CBORError("negative integer")
    n, pos = _read_arg(data, pos, info)
    if major == 0:
        return n, pos
    if major in (2, 3):
        if n > len(data) - pos:
            raise CBORError("truncated")
        raw = data[pos:pos + n]
        pos += n
        if major == 2:
            return raw, pos
        try:
            return raw.decode("utf-8", errors="strict"), pos
        except UnicodeDecodeError:
            raise CBORError("bad utf-8")
    depth += 1
    if depth > MAX_DEPTH:
        raise CBORError("too deep")
    if major == 4:
        if n > len(data) - pos:
            raise CBORError("truncated")
        out = []
        for _ in range(n):
            v, pos = _decode(data, pos, depth)
            out.append(v)
        return out, pos
    # major 5: map
    if 2 * n > len(data) - pos:
        raise CBORError("truncated")
    out = {}
    last = -1
    for _ in range(n):
        if pos >= len(data) or data[pos] >> 5 != 0:
            raise CBORError("map key is not an unsigned integer")
        k, pos = _decode(data, pos, depth)
        if k == last:
            raise CBORError("duplicate map key")
        if k < last:
            raise CBORError("unsorted map keys")
        last = k
        v, pos = _decode(data, pos, depth)
        out[k] = v
    return out, pos


def selftest():
    # RFC 8949 Appendix A examples that are in the subset
    vectors = [
        (0, "00"), (1, "01"), (10, "0a"), (23, "17"), (24, "1818"), (25, "1819"),
        (100, "1864"), (1000, "1903e8"), (1000000, "1a000f4240"),
        (1000000000000, "1b000000e8d4a51000"), (18446744073709551615, "1bffffffffffffffff"),
        (b"", "40"), (b"\x01\x02\x03\x04", "4401020304"), ("", "60"), ("a", "6161"),
        ("IETF", "6449455446"), ("\u00fc", "62c3bc"), ([], "80"), ([1, 2, 3], "83010203"),
        ([1, [2, 3], [4, 5]], "8301820203820405"), ({}, "a0"), ({1: 2, 3: 4}, "a201020304"),
    ]
    for v, h in vectors:
        assert encode(v).hex() == h, (v, encode(v).hex(), h)
        assert decode(bytes.fromhex(h)) == v, h
    for bad in ["1817", "190017", "5f40ff", "f4", "20", "c000", "a2030401020", "a203040102",
                "a201020102", "0000", "62c3", "61ff"]:
        try:
            decode(bytes.fromhex(bad) if len(bad) % 2 == 0 else bytes.fromhex(bad + "0"))
        except CBORError:
            continue
        raise AssertionError("accepted bad CBOR " + bad)
    deep = bytes.fromhex("81" * 8 + "00")
    assert decode(deep) == [[[[[[[[0]]]]]]]]
    try:
        decode(bytes.fromhex("81" * 9 + "00"))
        raise AssertionError("accepted depth 9")
    except CBORError:
        pass


if __name__ == "__main__":
    selftest()
    print("cbor selftest ok")
