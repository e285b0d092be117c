"""bip340.py: BIP340 Schnorr signatures over secp256k1 in pure Python, following the BIP's
reference implementation (reference.py): pubkey_gen, schnorr_sign, schnorr_verify. Point
arithmetic uses Jacobian coordinates for speed; the algorithm is the reference one.
Never use this for real keys: it is not constant time."""

import hashlib
import os

p = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F
n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
G = (0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,
     0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8)


def tagged_hash(tag, msg):
    tag_hash = hashlib.sha256(tag.encode()).digest()
    return hashlib.sha256(tag_hash + tag_hash + msg).digest()


# Points are affine (x, y) tuples or None (infinity) at the interface; Jacobian inside.
def _to_jac(P):
    return None if P is None else (P[0], P[1], 1)


def _from_jac(J):
    if J is None:
        return None
    X, Y, Z = J
    zi = pow(Z, -1, p)
    zi2 = zi * zi % p
    return (X * zi2 % p, Y * zi2 * zi % p)


def _jac_double(J):
    if J is None:
        return None
    X, Y, Z = J
    if Y == 0:
        return None
    S = 4 * X * Y * Y % p
    M = 3 * X * X % p
    X3 = (M * M - 2 * S) % p
    Y3 = (M * (S - X3) - 8 * pow(Y, 4, p)) % p
    Z3 = 2 * Y * Z % p
    return (X3, Y3, Z3)


def _jac_add(J1, J2):
    if J1 is None:
        return J2
    if J2 is None:
        return J1
    X1, Y1, Z1 = J1
    X2, Y2, Z2 = J2
    Z1Z1 = Z1 * Z1 % p
    Z2Z2 = Z2 * Z2 % p
    U1 = X1 * Z2Z2 % p
    U2 = X2 * Z1Z1 % p
    S1 = Y1 * Z2 * Z2Z2 % p
    S2 = Y2 * Z1 * Z1Z1 % p
    if U1 == U2:
        if S1 != S2:
            return None
        return _jac_double(J1)
    H = (U2 - U1) % p
    R = (S2 - S1) % p
    H2 = H * H % p
    H3 = H * H2 % p
    U1H2 = U1 * H2 % p
    X3 = (R * R - H3 - 2 * U1H2) % p
    Y3 = (R * (U1H2 - X3) - S1 * H3) % p
    Z3 = H * Z1 * Z2 % p
    return (X3, Y3, Z3)


def point_add(P1, P2):
    return _from_jac(_jac_add(_to_jac(P1), _to_jac(P2)))


def point_mul(P, k):
    R = None
    J = _to_jac(P)
    while k:
        if k & 1:
            R = _jac_add(R, J)
        J = _jac_double(J)
        k >>= 1
    return _from_jac(R)


def bytes_from_int(x):
    return x.to_bytes(32, byteorder="big")


def bytes_from_point(P):
    return bytes_from_int(P[0])


def xor_bytes(b0, b1):
    return bytes(x ^ y for (x, y) in zip(b0, b1))


def lift_x(x):
    if x >= p:
        return None
    y_sq = (pow(x, 3, p) + 7) % p
    y = pow(y_sq, (p + 1) // 4, p)
    if pow(y, 2, p) != y_sq:
        return None
    return (x, y if y & 1 == 0 else p - y)


def int_from_bytes(b):
    return int.from_bytes(b, byteorder="big")


def has_even_y(P):
    return P[1] % 2 == 0


def is_valid_xonly(pub):
    """1 when the 32 bytes are the x coordinate of a curve point (an address's rule)."""
    return len(pub) == 32 and lift_x(int_from_bytes(pub)) is not None


def pubkey_gen(seckey):
    d0 = int_from_bytes(seckey)
    if not (1 <= d0 <= n - 1):
        raise ValueError("The secret key must be an integer in the range 1..n-1.")
    P = point_mul(G, d0)
    return bytes_from_point(P)


def schnorr_sign(msg, seckey, aux_rand=None):
    if aux_rand is None:
        aux_rand = os.urandom(32)
    d0 = int_from_bytes(seckey)
    if not (1 <= d0 <= n - 1):
        raise ValueError("The secret key must be an integer in the range 1..n-1.")
    if len(aux_rand) != 32:
        raise ValueError("aux_rand must be 32 bytes instead of %i." % len(aux_rand))
    P = point_mul(G, d0)
    d = d0 if has_even_y(P) else n - d0
    t = xor_bytes(bytes_from_int(d), tagged_hash("BIP0340/aux", aux_rand))
    k0 = int_from_bytes(tagged_hash("BIP0340/nonce", t + bytes_from_point(P) + msg)) % n
    if k0 == 0:
        raise RuntimeError("Failure. This happens only with negligible probability.")
    R = point_mul(G, k0)
    k = n - k0 if not has_even_y(R) else k0
    e = int_from_bytes(tagged_hash("BIP0340/challenge",
                                   bytes_from_point(R) + bytes_from_point(P) + msg)) % n
    sig = bytes_from_point(R) + bytes_from_int((k + e * d) % n)
    if not schnorr_verify(msg, bytes_from_point(P), sig):
        raise RuntimeError("The created signature does not pass verification.")
    return sig


def schnorr_verify(msg, pubkey, sig):
    if len(pubkey) != 32:
        raise ValueError("The public key must be a 32-byte array.")
    if len(sig) != 64:
        raise ValueError("The signature must be a 64-byte array.")
    P = lift_x(int_from_bytes(pubkey))
    r = int_from_bytes(sig[0:32])
    s = int_from_bytes(sig[32:64])
    if (P is None) or (r >= p) or (s >= n):
        return False
    e = int_from_bytes(tagged_hash("BIP0340/challenge", sig[0:32] + pubkey + msg)) % n
    R = _from_jac(_jac_add(_to_jac(point_mul(G, s)), _to_jac(point_mul(P, n - e))))
    if (R is None) or (not has_even_y(R)) or (R[0] != r):
        return False
    return True


def selftest(csv_path=None):
    """Runs the official BIP340 test vectors (tests/data/bip340-test-vectors.csv)."""
    import csv
    if csv_path is None:
        csv_path = os.path.join(os.path.dirname(__file__), "..", "..", "data",
                                "bip340-test-vectors.csv")
    count = 0
    with open(csv_path, newline="") as f:
        for row in csv.DictReader(f):
            seckey = bytes.fromhex(row["secret key"])
            pubkey = bytes.fromhex(row["public key"])
            aux = bytes.fromhex(row["aux_rand"])
            msg = bytes.fromhex(row["message"])
            sig = bytes.fromhex(row["signature"])
            expected = row["verification result"] == "TRUE"
            if seckey:
                assert pubkey_gen(seckey) == pubkey, "vector %s: pubkey" % row["index"]
                assert schnorr_sign(msg, seckey, aux) == sig, "vector %s: sig" % row["index"]
            try:
                ok = schnorr_verify(msg, pubkey, sig)
            except ValueError:
                ok = False
            assert ok == expected, "vector %s: verify gave %s" % (row["index"], ok)
            count += 1
    assert count >= 15, "only %d vectors" % count
    return count


if __name__ == "__main__":
    print("bip340 selftest ok: %d vectors" % selftest())
