#!/usr/bin/python3
"""An independent reader of docs/format.md v1, written from the spec alone (Python's
`cryptography` package: HKDF, HMAC, AES-GCM), to check that the spec and TriadFormat agree.
Zone slots only. Usage:
    reference-decoder.py ZONE_ID_HEX EPOCH ZONE_KEY_HEX FILE...
Prints one line per file: "ok <plaintext length> <sha256 hex>" or "fail <reason>"."""
import hashlib, hmac, struct, sys
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = bytes([0x89, 0x54, 0x52, 0x44, 0x0D, 0x0A, 0x1A, 0x0A])
S = 65536

class Refused(Exception):
    pass

def fail(reason):
    raise Refused(reason)

def hkdf(ikm, salt, info):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)

def decode(path, zone_id, epoch, zone_key):
    data = open(path, "rb").read()
    if data[:8] != MAGIC: fail("magic")
    if len(data) < 66: fail("truncated")
    version, suite, log2 = struct.unpack(">HBB", data[8:12])
    if (version, suite, log2) != (1, 1, 16): fail("version/suite/segment size")
    core, file_id = data[:60], data[12:44]
    area, count = struct.unpack(">IH", data[60:66])
    if area > 1 << 20 or count < 1: fail("key block limits")
    end = 66 + area
    if len(data) < end + 32: fail("truncated")
    slots, off = [], 66
    for _ in range(count):
        if off + 4 > end: fail("slot overruns area")
        typ, n = struct.unpack(">HH", data[off:off + 4])
        if typ == 0 or off + 4 + n > end: fail("slot")
        slots.append((typ, data[off + 4:off + 4 + n])); off += 4 + n
    if off != end: fail("area length")
    for typ, body in slots:
        if typ == 1 and len(body) != 80: fail("zone slot length")
        if typ == 2 and len(body) < 33: fail("recovery slot length")
    fk = None
    for typ, body in slots:
        if typ == 1 and body[:16] == zone_id and struct.unpack(">I", body[16:20])[0] == epoch:
            kek = hkdf(zone_key, file_id, b"triad/v1/zone-slot" + zone_id + struct.pack(">I", epoch))
            try: fk = AESGCM(kek).decrypt(body[20:32], body[32:], None)
            except Exception: fail("zone slot does not open")
            break
    if fk is None: fail("no zone slot for this epoch")
    mac = hmac.new(hkdf(fk, file_id, b"triad/v1/header-mac" + core), data[:end], hashlib.sha256).digest()
    if not hmac.compare_digest(mac, data[end:end + 32]): fail("header MAC")
    aead = AESGCM(hkdf(fk, file_id, b"triad/v1/payload" + core))
    payload = data[end + 32:]
    if len(payload) < 16: fail("truncated")
    out, i, pos = bytearray(), 0, 0
    while True:
        seg = payload[pos:pos + S + 16]
        final = pos + len(seg) == len(payload)
        if len(seg) < 16: fail("truncated")
        try: out += aead.decrypt(i.to_bytes(11, "big") + (b"\x01" if final else b"\x00"), seg, None)
        except Exception: fail(f"segment {i}")
        if final:
            if i > 0 and len(seg) == 16: fail("empty final segment after others")
            break
        pos += len(seg); i += 1
    return f"ok {len(out)} {hashlib.sha256(out).hexdigest()}"

zone_id, epoch, zone_key = bytes.fromhex(sys.argv[1]), int(sys.argv[2]), bytes.fromhex(sys.argv[3])
for path in sys.argv[4:]:
    try:
        print(decode(path, zone_id, epoch, zone_key))
    except Refused as refused:
        print("fail", refused)
