#!/usr/bin/python3
"""An independent reader of the Triad encrypted file (docs/format.md, suites 1 and 2) and of the
escrow blob (docs/escrow.md), written from those two pages alone with Python's
`cryptography` package (Debian: python3-cryptography), to check that the specs and the Swift
code agree. It opens every slot type: zone (0x0001), recovery per-file wrap (0x0002, EC and
RSA), recovery run KEM (0x0003, P-256, P-384, RSA); re-grant slots are certificate slots for
the holder's key, so they open with the holder's key here.

Usage:
    reference-decoder.py format zone:ZONE_ID_HEX:EPOCH:ZONE_KEY_HEX FILE...
    reference-decoder.py format recovery:KEY.pem[:CERT_FINGERPRINT_HEX] FILE...
    reference-decoder.py escrow CARD_KEY.pem CARD_CERT.pem RECOVERY_CERT.pem RECORD.json|- BLOB...

One line per file: "ok <plaintext length> <sha256 hex>" (format; for a suite-2 file with a write
journal beside it, followed by "journal:replayed" or "journal:discarded:<why>"; with a new-file
mark, by "mark:kept", "mark:verified", "mark:reset" or "mark:ignored"), "ok <recovery certificate
sha256 hex>" (escrow), or "fail <reason> <detail>", where <reason> is the error name the
vectors expect (FormatError / RecoveryError case names).
"""
import hashlib, hmac, json, struct, sys
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography import x509

MAGIC = bytes([0x89, 0x54, 0x52, 0x44, 0x0D, 0x0A, 0x1A, 0x0A])
S = 65536
TAG = 16


class Refused(Exception):
    def __init__(self, reason, detail=""):
        super().__init__(reason)
        self.reason, self.detail = reason, detail


class NotMine(Exception):
    """A slot that is not for this key, or does not open with it (caller decides which)."""


def refuse(reason, detail=""):
    raise Refused(reason, detail)


def hkdf(ikm, salt, info):
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=info).derive(ikm)


def sha256(data):
    return hashlib.sha256(data).digest()


# ---- key handling shared by the recovery slots and the escrow blob ----------------------

def point_of(public_key):
    return public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)


def point_length(key):
    return {"secp256r1": 65, "secp384r1": 97}[key.curve.name]


def ecdh_es(private_key, ephemeral_point, info):
    """ECDH-ES recipient side: HKDF(Z, salt = ephemeral point ‖ recipient point, info)."""
    try:
        peer = ec.EllipticCurvePublicKey.from_encoded_point(private_key.curve, ephemeral_point)
    except ValueError:
        raise NotMine("the ephemeral point is not on the curve")
    z = private_key.exchange(ec.ECDH(), peer)
    return hkdf(z, ephemeral_point + point_of(private_key.public_key()), info)


def oaep_decrypt(private_key, ciphertext, label):
    if len(ciphertext) != private_key.key_size // 8:
        raise NotMine("RSA ciphertext length")
    try:
        return private_key.decrypt(ciphertext, padding.OAEP(mgf=padding.MGF1(hashes.SHA256()),
                                                           algorithm=hashes.SHA256(), label=label or None))
    except ValueError:
        raise NotMine("OAEP decoding failed")


def public_key_unwrap(body, private_key, label):
    """PublicKeyWrap (docs/format.md §3.3): ECDH-ES + HKDF + AES-256-GCM, or RSA-OAEP."""
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        n = point_length(private_key)
        if len(body) <= n + TAG:
            raise NotMine("body too short for this curve")
        kek = ecdh_es(private_key, body[:n], b"triad/wrap/v1/ecdh-es\x00" + label)
        try:
            return AESGCM(kek).decrypt(bytes(12), body[n:], label)
        except Exception:
            raise NotMine("AES-GCM")
    return oaep_decrypt(private_key, body, label)


# ---- the encrypted file (docs/format.md) ------------------------------------------------

KEMS = {1: ("ec", 65), 2: ("ec", 97), 3: ("rsa", None)}


def parse_certificate_slot(typ, body):
    """Checks the layout of a 0x0002 / 0x0003 body (§3.3, §3.4); returns its fields."""
    if typ == 2:
        if len(body) < 33:
            refuse("malformedHeader", "recovery slot shorter than 33 bytes")
        return {"fingerprint": body[:32], "wrap": body[32:]}
    if len(body) <= 33 or body[32] not in KEMS:
        refuse("malformedHeader", "recovery KEM slot without a known kem id")
    kem_id, c = body[32], len(body) - 93
    kind, length = KEMS[kem_id]
    if (kind == "ec" and c != length) or (kind == "rsa" and not 256 <= c <= 1024):
        refuse("malformedHeader", f"kem {kem_id} with a {c}-byte KEM ciphertext")
    return {"fingerprint": body[:32], "kem": kem_id, "kemct": body[33:33 + c],
            "nonce": body[33 + c:45 + c], "sealed": body[45 + c:]}


def open_certificate_slot(typ, slot, private_key, file_id, cache):
    fp = slot["fingerprint"]
    if typ == 2:
        return public_key_unwrap(slot["wrap"], private_key, b"triad/v1/recovery-slot" + file_id)
    kem_id, kemct = slot["kem"], slot["kemct"]
    if isinstance(private_key, ec.EllipticCurvePrivateKey):
        if kem_id != {65: 1, 97: 2}[point_length(private_key)]:
            raise NotMine("kem of another curve")
    elif kem_id != 3:
        raise NotMine("EC kem, RSA key")
    label = b"triad/v1/recovery-kem" + fp
    key = (kem_id, kemct, fp)
    if key not in cache:
        if kem_id == 3:
            secret = oaep_decrypt(private_key, kemct, label)
            if len(secret) != 32:
                raise NotMine("the RSA KEM secret is not 32 bytes")
        else:
            secret = ecdh_es(private_key, kemct, b"triad/kem/v1/ecdh-es\x00" + label)
        cache[key] = secret
    k_file = hkdf(cache[key], sha256(bytes([kem_id]) + kemct), b"triad/v1/recovery-kem-file" + file_id + fp)
    try:
        return AESGCM(k_file).decrypt(slot["nonce"], slot["sealed"], None)
    except Exception:
        raise NotMine("sealed file key does not open")


def parse_header(data):
    if not data.startswith(MAGIC[:min(len(data), 8)]) or not data:
        refuse("notEncrypted")
    if len(data) < 8:
        refuse("truncated", "inside the magic")
    if len(data) < 66:
        refuse("truncated", "inside the fixed header")
    version, suite, log2 = struct.unpack(">HBB", data[8:12])
    if version != 1: refuse("unsupportedVersion", str(version))
    if suite not in (1, 2): refuse("unsupportedSuite", str(suite))
    # §2: suite 1 takes 2^16 only; suite 2 takes 2^16 or 2^12 (§13.1).
    if (suite, log2) not in ((1, 16), (2, 16), (2, 12)): refuse("unsupportedSegmentSize", str(log2))
    area, count = struct.unpack(">IH", data[60:66])
    if area > 1 << 20: refuse("malformedHeader", "slot area over 1 MiB")
    if count < 1: refuse("malformedHeader", "no slots")
    if area < 4 * count: refuse("malformedHeader", "slot area too small for the count")
    end = 66 + area
    if len(data) < end + 32: refuse("truncated", "inside the header")
    slots, off = [], 66
    for _ in range(count):
        if end - off < 4: refuse("malformedHeader", "slot overruns the area")
        typ, n = struct.unpack(">HH", data[off:off + 4])
        if end - off - 4 < n: refuse("malformedHeader", "slot body overruns the area")
        if typ == 0: refuse("malformedHeader", "reserved slot type")
        slots.append((typ, data[off + 4:off + 4 + n])); off += 4 + n
    if off != end: refuse("malformedHeader", "area length does not match the slots")
    parsed = []
    for typ, body in slots:
        if typ == 1 and len(body) != 80: refuse("malformedHeader", "zone slot is not 80 bytes")
        parsed.append((typ, parse_certificate_slot(typ, body) if typ in (2, 3) else body))
    return data[:60], data[12:44], parsed, end


def file_key(identity, file_id, slots, cache):
    """§7.2 for one identity: the file key, or refuse (noMatchingKey / slotUnwrapFailed)."""
    if identity[0] == "zone":
        _, zone_id, epoch, zone_key = identity
        failed = False
        for typ, body in slots:
            if typ != 1 or body[:16] != zone_id or struct.unpack(">I", body[16:20])[0] != epoch:
                continue
            kek = hkdf(zone_key, file_id, b"triad/v1/zone-slot" + zone_id + struct.pack(">I", epoch))
            try:
                return AESGCM(kek).decrypt(body[20:32], body[32:], None)
            except Exception:
                failed = True
        if failed: refuse("slotUnwrapFailed", "the zone slot does not open")
        refuse("noMatchingKey", "no zone slot for this zone and epoch")
    _, private_key, fingerprint = identity
    addressed = False
    for typ, slot in slots:
        if typ not in (2, 3) or (fingerprint is not None and slot["fingerprint"] != fingerprint):
            continue
        addressed = True
        try:
            fk = open_certificate_slot(typ, slot, private_key, file_id, cache)
        except NotMine:
            continue
        if len(fk) == 32:
            return fk
    if addressed and fingerprint is not None:
        refuse("slotUnwrapFailed", "the certificate slot does not open with this key")
    refuse("noMatchingKey", "no certificate slot opens with this key")


def decrypt_payload(payload, key):
    """§6.2, sequential: the flag a segment's position implies, a second trial to tell
    truncation and extension from damage."""
    if len(payload) < TAG: refuse("truncated", "payload shorter than a tag")
    aead, out, i, pos = AESGCM(key), bytearray(), 0, 0
    def opens(seg, final):
        try: return aead.decrypt(i.to_bytes(11, "big") + (b"\x01" if final else b"\x00"), seg, None)
        except Exception: return None
    while True:
        seg = payload[pos:pos + S + TAG]
        final = pos + len(seg) == len(payload)
        plain = opens(seg, final) if len(seg) >= TAG else None
        if plain is None:
            if final and len(seg) >= TAG and opens(seg, False) is not None: refuse("truncated", f"segment {i} is not final")
            if not final and opens(seg, True) is not None: refuse("trailingData", f"bytes after final segment {i}")
            if len(seg) < TAG: refuse("truncated", f"segment {i} shorter than a tag")
            refuse("segmentAuthenticationFailed", f"segment {i}")
        if final and i > 0 and len(seg) == TAG: refuse("malformedPayload", "empty final segment after others")
        out += plain
        if final: return bytes(out)
        pos += len(seg); i += 1


def xaes_256_gcm_open(key, nonce, sealed, aad):
    """C2SP XAES-256-GCM (docs/format.md §13.1): the first 12 nonce bytes and the key give a
    fresh AES-256 key (SP 800-108r1 counter KDF with AES-256-CMAC, one block per half), the
    last 12 are the AES-256-GCM nonce."""
    aes = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    l = int.from_bytes(aes.update(bytes(16)), "big")
    k1 = ((l << 1) ^ (0x87 if l >> 127 else 0)) & ((1 << 128) - 1)
    def block(counter):
        m = bytes([0, counter]) + b"X" + b"\x00" + nonce[:12]
        return aes.update((int.from_bytes(m, "big") ^ k1).to_bytes(16, "big"))
    return AESGCM(block(1) + block(2)).decrypt(nonce[12:], sealed, aad)


def decrypt_payload_suite2(payload, key, size=S):
    """Payload suite 2 (docs/format.md §13.2): sealed segment i = nonce (24) || ciphertext ||
    tag (16), aad = BE64(i) || final flag; the segment rules of §6 with 40 bytes of overhead,
    segments of `size` plaintext bytes (2^16 or 2^12, the core's log2 byte, §13.1)."""
    over = 24 + TAG
    if len(payload) < over: refuse("truncated", "payload shorter than one sealed segment")
    out, i, pos = bytearray(), 0, 0
    def opens(seg, final):
        try: return xaes_256_gcm_open(key, seg[:24], seg[24:], i.to_bytes(8, "big") + (b"\x01" if final else b"\x00"))
        except Exception: return None
    while True:
        seg = payload[pos:pos + size + over]
        final = pos + len(seg) == len(payload)
        plain = opens(seg, final) if len(seg) >= over else None
        if plain is None:
            if final and len(seg) >= over and opens(seg, False) is not None: refuse("truncated", f"segment {i} is not final")
            if not final and opens(seg, True) is not None: refuse("trailingData", f"bytes after final segment {i}")
            if len(seg) < over: refuse("truncated", f"segment {i} shorter than its overhead")
            refuse("segmentAuthenticationFailed", f"segment {i}")
        if final and i > 0 and len(seg) == over: refuse("malformedPayload", "empty final segment after others")
        out += plain
        if final: return bytes(out)
        pos += len(seg); i += 1


def journal_problem(journal, header, file_id, core, fk):
    """docs/format.md §14.1 and §14.3: why the journal must be discarded, or None with its
    (new size, entries) when it is to be replayed."""
    if len(journal) < 8 + 16 + 32 + 32 + 8 + 4 + 32: return "short", None
    if journal[:8] != b"TRIADWJ1": return "malformed", None
    if journal[24:56] != file_id: return "another file id", None
    if journal[56:88] != sha256(header): return "another header", None
    new_size, count = struct.unpack(">QI", journal[88:100])
    pos, entries, previous_end = 100, [], len(header)
    for _ in range(count):
        if len(journal) - 32 - pos < 12: return "short", None
        offset, length = struct.unpack(">QI", journal[pos:pos + 12])
        if len(journal) - 32 - pos - 12 < length: return "short", None
        # Sorted, not overlapping, at or after the header, within the new size.
        if offset < previous_end or offset + length > new_size or not 0 < length <= S + 40: return "malformed", None
        entries.append((offset, journal[pos + 12:pos + 12 + length]))
        previous_end = offset + length
        pos += 12 + length
    if pos + 32 != len(journal): return "malformed", None
    k_journal = hkdf(fk, file_id, b"triad/v1/write-journal" + core)
    mac = hmac.new(k_journal, sha256(journal[:pos]), hashlib.sha256).digest()
    if not hmac.compare_digest(mac, journal[pos:]): return "bad MAC", None
    return None, (new_size, entries)


def apply_journal(path, data, header, file_id, core, fk):
    """§14.3: the journal `.triad-journal-<file id hex>` beside a suite-2 file is replayed (in
    memory here: this reader changes no file) or, if it does not verify, ignored. Returns the
    file's bytes to decode and what happened to the journal."""
    import os
    journal_path = os.path.join(os.path.dirname(path) or ".", ".triad-journal-" + file_id.hex())
    if not os.path.exists(journal_path): return data, ""
    problem, record = journal_problem(open(journal_path, "rb").read(), header, file_id, core, fk)
    if problem: return data, " journal:discarded:" + problem.replace(" ", "-")
    new_size, entries = record
    out = bytearray(data[:new_size]) + bytes(max(0, new_size - len(data)))
    for offset, sealed in entries:
        out[offset:offset + len(sealed)] = sealed
    return bytes(out), " journal:replayed"


def mark_outcome(path, data, end, file_id, core, fk, payload_key):
    """§14.5: the new-file mark, the extended attribute user.triad.new-file. Returns what it
    does to the file: "" (none), "ignored" (not this header's mark), "verified" / "kept" (the
    payload opens whole; the mark goes, or stays on the empty file) or "reset" (it does not:
    a torn first commit, the content is the empty file)."""
    import os
    try:
        value = os.getxattr(path, "user.triad.new-file")
    except OSError:
        return ""
    k_new = hkdf(fk, file_id, b"triad/v1/new-file" + core)
    expected = b"TRIADNF1" + hmac.new(k_new, sha256(data[:end + 32]), hashlib.sha256).digest()
    if not hmac.compare_digest(value, expected): return "ignored"
    try:
        decrypt_payload_suite2(data[end + 32:], payload_key, 1 << data[11])
    except Refused:
        return "reset"
    return "kept" if len(data) == end + 32 + 40 else "verified"


def decode_file(path, identity, cache):
    data = open(path, "rb").read()
    core, file_id, slots, end = parse_header(data)
    fk = file_key(identity, file_id, slots, cache)
    mac = hmac.new(hkdf(fk, file_id, b"triad/v1/header-mac" + core), data[:end], hashlib.sha256).digest()
    if not hmac.compare_digest(mac, data[end:end + 32]): refuse("headerAuthenticationFailed")
    journal = ""
    if data[10] == 2:
        data, journal = apply_journal(path, data, data[:end + 32], file_id, core, fk)
    payload_key = hkdf(fk, file_id, b"triad/v1/payload" + core)
    mark = mark_outcome(path, data, end, file_id, core, fk, payload_key) if data[10] == 2 else ""
    if mark:
        journal += " mark:" + mark
    if mark == "reset":
        plain = b""
    elif data[10] == 2:
        plain = decrypt_payload_suite2(data[end + 32:], payload_key, 1 << data[11])
    else:
        plain = decrypt_payload(data[end + 32:], payload_key)
    return f"ok {len(plain)} {hashlib.sha256(plain).hexdigest()}{journal}"


def load_private_key(path):
    return serialization.load_pem_private_key(open(path, "rb").read(), password=None)


def parse_identity(text):
    kind, _, rest = text.partition(":")
    if kind == "zone":
        zone_id, epoch, key = rest.split(":")
        return ("zone", bytes.fromhex(zone_id), int(epoch), bytes.fromhex(key))
    if kind == "recovery":
        path, _, fingerprint = rest.partition(":")
        return ("recovery", load_private_key(path), bytes.fromhex(fingerprint) if fingerprint else None)
    sys.exit(f"unknown identity {text!r}: zone:ID:EPOCH:KEY or recovery:KEY.pem[:FINGERPRINT]")


# ---- the escrow blob (docs/escrow.md) ---------------------------------------------------

def parse_blob(data):
    """Checks 1–2 of docs/escrow.md §3."""
    pos = 0
    def take(n):
        nonlocal pos
        if pos + n > len(data): refuse("blobMalformed", f"truncated at byte {pos}")
        pos += n
        return data[pos - n:pos]
    if len(data) < 8 or take(8) != b"TRIADESC": refuse("blobMalformed", "magic")
    version = struct.unpack(">H", take(2))[0]
    if version != 1: refuse("blobUnsupportedVersion", str(version))
    if struct.unpack(">H", take(2))[0] != 0: refuse("blobMalformed", "flags")
    blob_id, cert_fp = take(16), take(32)
    count = struct.unpack(">H", take(2))[0]
    if not 1 <= count <= 16: refuse("blobMalformed", "card slot count")
    slots = []
    for _ in range(count):
        fp, n = take(32), struct.unpack(">H", take(2))[0]
        if n == 0: refuse("blobMalformed", "empty card slot")
        slots.append((fp, take(n)))
    if len({fp for fp, _ in slots}) != len(slots): refuse("blobMalformed", "two slots for one card")
    header_end = pos
    nonce = take(12)
    m = struct.unpack(">I", take(4))[0]
    if not 16 < m <= 16384: refuse("blobMalformed", "sealed length")
    sealed = take(m)
    checksum_at = pos
    checksum = take(32)
    if pos != len(data): refuse("blobMalformed", "bytes after the checksum")
    if not hmac.compare_digest(sha256(data[:checksum_at]), checksum): refuse("blobChecksumMismatch")
    return {"blob_id": blob_id, "cert_fp": cert_fp, "slots": slots, "header": data[:header_end],
            "nonce": nonce, "sealed": sealed}


def decode_blob(path, card_key, card_cert, recovery_cert, record):
    data = open(path, "rb").read()
    blob = parse_blob(data)
    recovery_fp = sha256(recovery_cert.public_bytes(serialization.Encoding.DER))
    if record is not None:                                           # checks 3–4
        if sha256(data).hex() != record["blob_sha256"].lower(): refuse("blobNotInRecord")
        if blob["cert_fp"].hex() != record["recovery_certificate_fingerprint"].lower(): refuse("blobBoundToOtherCertificate")
        if blob["blob_id"].hex() != record["blob_id"].lower(): refuse("blobIDMismatch")
    if blob["cert_fp"] != recovery_fp: refuse("blobBoundToOtherCertificate")
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if card_key.public_key().public_bytes(serialization.Encoding.DER, spki) != \
            card_cert.public_key().public_bytes(serialization.Encoding.DER, spki):
        refuse("cardNotEnrolled", "the card key is not its certificate's")
    card_fp = sha256(card_cert.public_bytes(serialization.Encoding.DER))
    body = next((b for fp, b in blob["slots"] if fp == card_fp), None)   # check 5
    if body is None: refuse("cardHasNoSlotInBlob")
    label = b"triad/escrow/v1/kek\x00" + blob["blob_id"] + blob["cert_fp"] + card_fp
    try:                                                             # check 6
        kek = public_key_unwrap(body, card_key, label)
    except NotMine:
        refuse("cardUnwrapFailed")
    try:                                                             # check 7
        pkcs8 = AESGCM(kek).decrypt(blob["nonce"], blob["sealed"], blob["header"])
    except Exception:
        refuse("blobOpenFailed")
    key = serialization.load_der_private_key(pkcs8, password=None)   # check 8
    if key.public_key().public_bytes(serialization.Encoding.DER, spki) != \
            recovery_cert.public_key().public_bytes(serialization.Encoding.DER, spki):
        refuse("blobKeyDoesNotMatchCertificate")
    return f"ok {recovery_fp.hex()}"


def main(argv):
    if len(argv) >= 3 and argv[1] == "format":
        identity, cache = parse_identity(argv[2]), {}
        run = lambda path: decode_file(path, identity, cache)
        paths = argv[3:]
    elif len(argv) >= 6 and argv[1] == "escrow":
        card_key = load_private_key(argv[2])
        card_cert = x509.load_pem_x509_certificate(open(argv[3], "rb").read())
        recovery_cert = x509.load_pem_x509_certificate(open(argv[4], "rb").read())
        record = None if argv[5] == "-" else json.load(open(argv[5]))
        run = lambda path: decode_blob(path, card_key, card_cert, recovery_cert, record)
        paths = argv[6:]
    else:
        sys.exit(__doc__)
    for path in paths:
        try:
            print(run(path))
        except Refused as refused:
            print("fail", refused.reason, refused.detail)


main(sys.argv)
