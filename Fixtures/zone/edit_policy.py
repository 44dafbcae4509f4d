#!/usr/bin/env python3
"""Independent encoder/decoder of the zone policy (docs/zone.md §2) that makes the edited
policies of Fixtures/zone/edits/. Signing a forgery uses `openssl dgst`, not the project."""
import struct, subprocess, sys, tempfile, os

F = sys.argv[1]
LABEL = b"triad/zone-policy/v1\x00"

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
    assert b[:8] == b"TRIADZP1"
    p = {"zone_id": b[8:24], "version": struct.unpack(">Q", b[24:32])[0], "prev": b[32:64],
         "created": struct.unpack(">Q", b[64:72])[0]}
    pos = 72
    for key in ("officers", "members", "recovery"):
        (n,) = struct.unpack(">H", b[pos:pos + 2]); pos += 2; certs = []
        for _ in range(n):
            (l,) = struct.unpack(">I", b[pos:pos + 4]); certs.append(b[pos + 4:pos + 4 + l]); pos += 4 + l
        p[key] = certs
    p["epoch"], n = struct.unpack(">II", b[pos:pos + 8]); pos += 8
    p["epochs"] = [(struct.unpack(">I", b[pos + 36 * i:pos + 36 * i + 4])[0], b[pos + 36 * i + 4:pos + 36 * i + 36]) for i in range(n)]
    pos += 36 * n
    p["keyring"] = b[pos:pos + 32]; pos += 32
    assert pos == len(b)
    return p

def encode_body(p):
    out = b"TRIADZP1" + p["zone_id"] + struct.pack(">Q", p["version"]) + p["prev"] + struct.pack(">Q", p["created"])
    for key in ("officers", "members", "recovery"):
        out += struct.pack(">H", len(p[key])) + b"".join(blob(c) for c in p[key])
    out += struct.pack(">II", p["epoch"], len(p["epochs"]))
    out += b"".join(struct.pack(">I", e) + c for e, c in p["epochs"])
    return out + p["keyring"]

def der(name):
    return subprocess.run(["openssl", "x509", "-in", f"{F}/pki/{name}.crt", "-outform", "DER"], check=True, capture_output=True).stdout

def sign(body, keyname):
    with tempfile.NamedTemporaryFile(delete=False) as t:
        t.write(LABEL + body)
    try:
        return subprocess.run(["openssl", "dgst", "-sha256", "-sign", f"{F}/pki/{keyname}.key", t.name], check=True, capture_output=True).stdout
    finally:
        os.unlink(t.name)

genuine = open(f"{F}/zone/.zone/policy.2", "rb").read()
body, signer, sig = read_signed(genuine)
policy = parse_body(body)
assert encode_body(policy) == body, "the independent encoder must reproduce the body byte for byte"

def save(name, data): open(f"{F}/edits/{name}", "wb").write(data)

p = parse_body(body); p["members"] = p["members"] + [der("mallory")]
save("policy.2.member-added", write_signed(encode_body(p), signer, sig))
p = parse_body(body); p["recovery"] = [der("mallory")]
save("policy.2.recovery-swapped", write_signed(encode_body(p), signer, sig))
p = parse_body(body); p["officers"] = [der("mallory")]; p["members"] = p["members"] + [der("mallory")]
forged = encode_body(p)
save("policy.2.signed-by-mallory", write_signed(forged, der("mallory"), sign(forged, "mallory")))
# The signature check of a correctly signed forgery must pass on its own: prove it here.
p = parse_body(body); p["created"] += 1
resigned = encode_body(p)
save("policy.2.resigned-by-officer", write_signed(resigned, signer, sign(resigned, "officer")))
save("policy.2.trailing-byte", genuine + b"\x00")
