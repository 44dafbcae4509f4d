#!/usr/bin/env python3
"""Independent encoder/decoder of the zone policy (docs/zone.md §2, §3) that makes the edited and
forged policies of Fixtures/zone/edits/ and the derivation vectors of vectors.json.

Written from docs/zone.md alone: the body layout, the zone id derivation, the epoch signing key
derivation (HKDF-SHA256 from the standard library's hmac, the P-256 point by `openssl ec`), and
signatures by `openssl dgst` — nothing here calls the project."""
import hashlib, hmac, json, os, struct, subprocess, sys, tempfile

F = sys.argv[1]
LABEL = b"triad/zone-policy/v1\x00"
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def blob(b): return struct.pack(">I", len(b)) + b


def read_signed(data):
    assert data[:8] == b"TRIADZS1"
    pos, parts = 8, []
    for _ in range(3):
        (n,) = struct.unpack(">I", data[pos:pos + 4]); parts.append(data[pos + 4:pos + 4 + n]); pos += 4 + n
    assert pos == len(data)
    return parts  # body, signer DER, signature


def write_signed(body, signer, sig): return b"TRIADZS1" + blob(body) + blob(signer) + blob(sig)


def parse_body(b):
    assert b[:8] == b"TRIADZP2"
    p = {"zone_id": b[8:24], "version": struct.unpack(">Q", b[24:32])[0], "prev": b[32:64], "nonce": b[64:96],
         "created": struct.unpack(">Q", b[96:104])[0]}
    pos = 104
    for key in ("officers", "members", "recovery"):
        (n,) = struct.unpack(">H", b[pos:pos + 2]); pos += 2; certs = []
        for _ in range(n):
            (l,) = struct.unpack(">I", b[pos:pos + 4]); certs.append(b[pos + 4:pos + 4 + l]); pos += 4 + l
        p[key] = certs
    p["epoch"], n = struct.unpack(">II", b[pos:pos + 8]); pos += 8
    p["epochs"] = []
    for _ in range(n):
        (e,) = struct.unpack(">I", b[pos:pos + 4]); commitment = b[pos + 4:pos + 36]
        (l,) = struct.unpack(">I", b[pos + 36:pos + 40]); spki = b[pos + 40:pos + 40 + l]
        p["epochs"].append((e, commitment, spki)); pos += 40 + l
    p["keyring"] = b[pos:pos + 32]; pos += 32
    assert pos == len(b)
    return p


def encode_body(p):
    out = b"TRIADZP2" + p["zone_id"] + struct.pack(">Q", p["version"]) + p["prev"] + p["nonce"] + struct.pack(">Q", p["created"])
    for key in ("officers", "members", "recovery"):
        out += struct.pack(">H", len(p[key])) + b"".join(blob(c) for c in p[key])
    out += struct.pack(">II", p["epoch"], len(p["epochs"]))
    out += b"".join(struct.pack(">I", e) + c + blob(k) for e, c, k in p["epochs"])
    return out + p["keyring"]


def sha256(b): return hashlib.sha256(b).digest()


def zone_id(nonce, officers, recovery):
    m = b"triad/v1/zone-id\x00" + nonce + struct.pack(">H", len(officers)) + b"".join(sha256(c) for c in officers)
    m += struct.pack(">H", len(recovery)) + b"".join(sha256(c) for c in recovery)
    return sha256(m)[:16]


def hkdf(ikm, salt, info, length):
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    out, t, i = b"", b"", 1
    while len(out) < length:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest(); out += t; i += 1
    return out[:length]


def epoch_signing_spki(zid, epoch, zone_key):
    seed = hkdf(zone_key, zid, b"triad/v1/epoch-signing" + struct.pack(">I", epoch), 48)
    d = int.from_bytes(seed, "big") % (P256_N - 1) + 1
    # SEC 1 ECPrivateKey without the public key; openssl computes d·G.
    sec1 = bytes.fromhex("3031020101") + b"\x04\x20" + d.to_bytes(32, "big") + bytes.fromhex("a00a06082a8648ce3d030107")
    return subprocess.run(["openssl", "ec", "-inform", "DER", "-pubout", "-outform", "DER"], input=sec1,
                          check=True, capture_output=True).stdout


def commitment(zid, epoch, zone_key):
    return sha256(b"triad/zone-key-commitment/v1" + zid + struct.pack(">I", epoch) + zone_key)


def der(name):
    return subprocess.run(["openssl", "x509", "-in", f"{F}/pki/{name}.crt", "-outform", "DER"], check=True, capture_output=True).stdout


def sign(body, keyname):
    with tempfile.NamedTemporaryFile(delete=False) as t:
        t.write(LABEL + body)
    try:
        return subprocess.run(["openssl", "dgst", "-sha256", "-sign", f"{F}/pki/{keyname}.key", t.name], check=True, capture_output=True).stdout
    finally:
        os.unlink(t.name)


def save(name, data):
    path = f"{F}/edits/{name}"
    os.makedirs(os.path.dirname(path), exist_ok=True)
    open(path, "wb").write(data)


genuine = {v: open(f"{F}/zone/.zone/policy.{v}", "rb").read() for v in (1, 2, 3)}
bodies = {v: read_signed(b)[0] for v, b in genuine.items()}
for v, body in bodies.items():
    assert encode_body(parse_body(body)) == body, "the independent encoder must reproduce every body byte for byte"
first = parse_body(bodies[1])
assert first["zone_id"] == zone_id(first["nonce"], first["officers"], first["recovery"]), "the fixture zone id is bound to policy.1"
for v in (2, 3):
    assert parse_body(bodies[v])["prev"] == sha256(genuine[v - 1]), f"policy.{v} chains to policy.{v - 1}"
_, signer, sig = read_signed(genuine[2])

# Hand edits: the officer's signature kept around a changed body.
p = parse_body(bodies[2]); p["members"] = p["members"] + [der("mallory")]
save("policy.2.member-added", write_signed(encode_body(p), signer, sig))
p = parse_body(bodies[2]); p["recovery"] = [der("mallory")]
save("policy.2.recovery-swapped", write_signed(encode_body(p), signer, sig))
save("policy.3.trailing-byte", genuine[3] + b"\x00")

# A different version 2, correctly signed by the officer (openssl): policy.3 no longer links to it.
p = parse_body(bodies[2]); p["created"] += 1
save("policy.2.resigned-by-officer", write_signed(encode_body(p), der("officer"), sign(encode_body(p), "officer")))

# Takeover: a version 4 chained to the genuine version 3, same zone id, naming mallory officer and
# member, signed by mallory (IT, or another zone's officer, listed in the trust file or not).
p = parse_body(bodies[3]); p["version"] = 4; p["prev"] = sha256(genuine[3])
p["officers"] = [der("mallory")]; p["members"] = p["members"] + [der("mallory")]
save("policy.4.signed-by-mallory", write_signed(encode_body(p), der("mallory"), sign(encode_body(p), "mallory")))
# The same takeover keeping the real officer listed: still not signed by an officer of version 3.
p = parse_body(bodies[3]); p["version"] = 4; p["prev"] = sha256(genuine[3])
p["officers"] = p["officers"] + [der("mallory")]; p["members"] = p["members"] + [der("mallory")]
save("policy.4.mallory-adds-herself", write_signed(encode_body(p), der("mallory"), sign(encode_body(p), "mallory")))
# A genuine successor written by this encoder and signed by the officer with openssl (positive control).
p = parse_body(bodies[3]); p["version"] = 4; p["prev"] = sha256(genuine[3]); p["created"] += 60
save("policy.4.signed-by-officer", write_signed(encode_body(p), der("officer"), sign(encode_body(p), "officer")))
# The officer's signature dated after the officer's certificate expired.
p = parse_body(bodies[3]); p["version"] = 4; p["prev"] = sha256(genuine[3]); p["created"] = 2 ** 40
save("policy.4.signed-after-expiry", write_signed(encode_body(p), der("officer"), sign(encode_body(p), "officer")))

# A forged first policy reusing the zone's id: mallory officer, signed by mallory.
p = parse_body(bodies[1]); p["officers"] = [der("mallory")]; p["members"] = p["members"] + [der("mallory")]
save("policy.1.forged-same-id", write_signed(encode_body(p), der("mallory"), sign(encode_body(p), "mallory")))
# The officer signs a second first policy: same nonce, officers and recovery certificate, so the
# same zone id — but a different first policy than the one a client recorded.
p = parse_body(bodies[1]); p["created"] += 1; p["members"] = p["members"][:1]
save("policy.1.regenesis", write_signed(encode_body(p), der("officer"), sign(encode_body(p), "officer")))

# A brand-new zone (its own bound id) made by mallory, to be put in place of the whole .zone/.
nonce = bytes(range(32))
mallory = [der("mallory")]
zid = zone_id(nonce, mallory, [der("recovery")])
zk = bytes([0x5A] * 32)
keyring = b"TRIADZK1" + zid + struct.pack(">I", 0)
p = {"zone_id": zid, "version": 1, "prev": bytes(32), "nonce": nonce, "created": first["created"],
     "officers": mallory, "members": mallory, "recovery": [der("recovery")], "epoch": 1,
     "epochs": [(1, commitment(zid, 1, zk), epoch_signing_spki(zid, 1, zk))], "keyring": sha256(keyring)}
save("replaced/policy.1", write_signed(encode_body(p), der("mallory"), sign(encode_body(p), "mallory")))
save(f"replaced/keyring-{sha256(keyring).hex()}", keyring)

# Derivation vectors: zone ids and epoch signing keys computed here, checked by the Swift tests.
vectors = json.load(open(f"{F}/vectors.json"))
vectors["zone_ids"] = [
    {"genesis_nonce": first["nonce"].hex(), "officers": [sha256(c).hex() for c in first["officers"]],
     "recovery": [sha256(c).hex() for c in first["recovery"]], "zone_id": first["zone_id"].hex()},
    {"genesis_nonce": nonce.hex(), "officers": [sha256(c).hex() for c in mallory],
     "recovery": [sha256(der("recovery")).hex()], "zone_id": zid.hex()},
    {"genesis_nonce": (b"\xff" * 32).hex(), "officers": [sha256(der(n)).hex() for n in ("officer", "mallory")],
     "recovery": [sha256(der(n)).hex() for n in ("recovery", "carol")],
     "zone_id": zone_id(b"\xff" * 32, [der("officer"), der("mallory")], [der("recovery"), der("carol")]).hex()},
]
vectors["epoch_signing"] = []
for zid_hex, epoch, key in [(first["zone_id"].hex(), 1, bytes(32)), (zid.hex(), 1, zk), ("00" * 16, 0, bytes([0xFF] * 32)),
                            ("ff" * 16, 0xFFFFFFFF, bytes(range(32))), (first["zone_id"].hex(), 7, sha256(b"seven"))]:
    vectors["epoch_signing"].append({"zone_id": zid_hex, "epoch": epoch, "zone_key": key.hex(),
                                     "public_key": epoch_signing_spki(bytes.fromhex(zid_hex), epoch, key).hex()})
vectors["first_policy_sha256"] = sha256(genuine[1]).hex()
vectors["policy_sha256"] = {str(v): sha256(b).hex() for v, b in genuine.items()}
vectors["zone_id"] = first["zone_id"].hex()
with open(f"{F}/vectors.json", "w") as out:
    json.dump(vectors, out, indent=1)
    out.write("\n")
