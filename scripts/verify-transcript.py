#!/usr/bin/env python3
"""A second, independent verifier of ceremony transcripts, written from docs/ceremony.md §7-§8.

usage: scripts/verify-transcript.py TRANSCRIPT [--anchor "ENTRY: word word ..."]... [--record ENROLMENT_RECORD]... [--trust CA.pem]...
       scripts/verify-transcript.py --each TRANSCRIPT...   (one line per file: STATUS ENTRY FILE)

It checks what needs no script knowledge: every line's JSON, its ten fields and their types,
its canonical bytes, its hash (the chain rule), seq, prev_hash, the ceremony id, time form
and order, event names, BEGIN first, exactly one terminal entry last, the ceremony key in
BEGIN, the signature of every ACT_END and of the terminal entry, the terminal entry's C2SP
checkpoint, the recovery card's signature at every identify-recovery-card step (docs/ceremony.md
§7 "Card signatures", docs/recovery.md §2a), the participants' card signatures (§7 "Attestations";
with --trust, that their certificates are issued by a given CA), and the anchors given. It does NOT replay the embedded script (order, roles,
facts): `ceremony verify` does; the output says so.

Exit status (the same as `ceremony verify`): 0 verified and CLOSED; 3 verified and ABORTED;
1 does not verify (the first bad entry is named on stderr); 2 usage error.
Needs python3 and the `cryptography` package (Debian: python3-cryptography).
"""
import base64, datetime, hashlib, json, os, re, sys

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography import x509
except ImportError:
    sys.stderr.write("verify-transcript: the python3 'cryptography' package is missing (apt-get install python3-cryptography)\n")
    sys.exit(2)

FIELDS = ["act", "ceremony", "event", "hash", "payload", "prev_hash", "role", "seq", "step", "time"]
EVENTS = {"BEGIN", "ACT_START", "ACT_END", "STEP_START", "RECORD", "CONFIRM", "STEP_DONE", "STEP_FAILED",
          "REFUSED", "EXCEPTION", "PAUSE", "RESUME", "CLOSED", "ABORTED"}
TERMINAL = {"CLOSED", "ABORTED"}
SEALED = {"ACT_END", "CLOSED", "ABORTED"}
CHAIN_TAG = b"triad-ceremony-journal-v1\n"
SEAL_TAG = b"triad-ceremony-seal-v1\n"
GENESIS = "0" * 64
TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$")
INT64 = (-(1 << 63), (1 << 63) - 1)
ANCHOR_BYTES, MIN_WORDS = 16, 8


class Bad(Exception):
    """The first bad entry (1-based; one past the end for a missing one) and why."""
    def __init__(self, entry, message):
        super().__init__(message)
        self.entry, self.message = entry, message


# ---- canonical encoding (docs/ceremony.md §7 "Canonical encoding") ----

def enc_string(s):
    out = bytearray(b'"')
    for b in s.encode("utf-8"):
        if b == 0x22: out += b'\\"'
        elif b == 0x5C: out += b'\\\\'
        elif b == 0x08: out += b'\\b'
        elif b == 0x0C: out += b'\\f'
        elif b == 0x0A: out += b'\\n'
        elif b == 0x0D: out += b'\\r'
        elif b == 0x09: out += b'\\t'
        elif b < 0x20: out += b'\\u00%02x' % b
        else: out.append(b)
    out += b'"'
    return bytes(out)


def canonical(v):
    if v is None: return b"null"
    if v is True: return b"true"
    if v is False: return b"false"
    if isinstance(v, int): return str(v).encode()
    if isinstance(v, str): return enc_string(v)
    if isinstance(v, list): return b"[" + b",".join(canonical(x) for x in v) + b"]"
    if isinstance(v, dict):
        keys = sorted(v, key=lambda k: k.encode("utf-8"))
        return b"{" + b",".join(enc_string(k) + b":" + canonical(v[k]) for k in keys) + b"}"
    raise ValueError("not a journal value")


def no_duplicates(pairs):
    d = {}
    for k, v in pairs:
        if k in d: raise ValueError("duplicate key %r" % k)
        d[k] = v
    return d


def reject(what):
    def f(text): raise ValueError("%s %s is not allowed (integers only)" % (what, text))
    return f


def parse(line):
    v = json.loads(line, object_pairs_hook=no_duplicates, parse_float=reject("number"), parse_constant=reject("constant"))
    def ints_in_range(x):
        if isinstance(x, bool) or x is None or isinstance(x, str): return
        if isinstance(x, int):
            if not INT64[0] <= x <= INT64[1]: raise ValueError("integer out of range")
        elif isinstance(x, list):
            for y in x: ints_in_range(y)
        elif isinstance(x, dict):
            for y in x.values(): ints_in_range(y)
    ints_in_range(v)
    return v


def unhashed(e):
    return {k: v for k, v in e.items() if k != "hash"}


def chain_hash(e):
    return hashlib.sha256(CHAIN_TAG + canonical(unhashed(e))).hexdigest()


# ---- step 1 and 2: the chain ----

def check_chain(raw_lines):
    if not raw_lines: raise Bad(1, "missing: the transcript is empty")
    entries, prev = [], None
    for i, raw in enumerate(raw_lines):
        n = i + 1
        try:
            e = parse(raw.decode("utf-8"))
            canonical(e)  # a lone surrogate parses but has no UTF-8 encoding
        except ValueError as x:
            raise Bad(n, "not a JSON object with whole numbers only (%s)" % x)
        if not isinstance(e, dict): raise Bad(n, "a line is not a JSON object")
        if sorted(e) != FIELDS: raise Bad(n, "fields are %s, not the ten of docs/ceremony.md §7" % ", ".join(sorted(e)))
        for f in FIELDS:
            want = int if f == "seq" else dict if f == "payload" else str
            if not isinstance(e[f], want) or isinstance(e[f], bool): raise Bad(n, "field %s has the wrong type" % f)
        if e["hash"] != chain_hash(e): raise Bad(n, "its hash does not match its contents: the entry was changed")
        if canonical(e) != raw: raise Bad(n, "not in canonical form (the line was re-encoded or edited)")
        if e["seq"] != n: raise Bad(n, "seq is %d but this is entry %d" % (e["seq"], n))
        if prev is not None:
            if prev["event"] in TERMINAL: raise Bad(n, "follows the terminal %s entry" % prev["event"])
            if e["prev_hash"] != prev["hash"]: raise Bad(n, "prev_hash is not the hash of entry %d" % (n - 1))
            if e["ceremony"] != prev["ceremony"]: raise Bad(n, "belongs to another ceremony")
            if e["time"] < prev["time"]: raise Bad(n, "time goes back")
            if e["event"] == "BEGIN": raise Bad(n, "a second BEGIN entry")
        else:
            if e["prev_hash"] != GENESIS: raise Bad(n, "the first entry's prev_hash must be 64 zeros")
            if e["event"] != "BEGIN": raise Bad(n, "the first entry must be BEGIN")
        if not TIME.match(e["time"]): raise Bad(n, "time is not a UTC time like 2026-01-31T12:00:00.000Z")
        if e["event"] not in EVENTS: raise Bad(n, "unknown event %r" % e["event"])
        entries.append(e)
        prev = e
    if entries[-1]["event"] not in TERMINAL:
        raise Bad(len(entries) + 1, "missing: the transcript ends without a CLOSED or ABORTED entry (cut off?)")
    return entries


# ---- signatures and the checkpoint (docs/ceremony.md §7 "Signatures", "Checkpoint") ----

def ceremony_key(begin):
    k = begin["payload"].get("ceremony_key")
    if not isinstance(k, dict): raise Bad(1, "BEGIN names no ceremony key; the transcript is unsigned")
    try:
        if k.get("algorithm") != "ecdsa-p256-sha256": raise ValueError("algorithm")
        der = bytes.fromhex(k["spki"])
        key = serialization.load_der_public_key(der)
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1": raise ValueError("curve")
        if key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo) != der: raise ValueError("DER")
    except (ValueError, KeyError, TypeError):
        raise Bad(1, "BEGIN's ceremony key is not an ecdsa-p256-sha256 public key in SPKI hex")
    return key, der


def verifies(key, signature, message):
    try:
        key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        return True
    except InvalidSignature:
        return False


def check_checkpoint(e, key, der):
    n = e["seq"]
    note = e["payload"].get("checkpoint")
    if not isinstance(note, str): raise Bad(n, "%s carries no checkpoint" % e["event"])
    origin = "triad-ceremony/" + e["ceremony"]
    body = "%s\n%d\n%s\n" % (origin, n - 1, base64.b64encode(bytes.fromhex(e["prev_hash"])).decode())
    split = note.rfind("\n\n")
    if split < 0 or note[:split + 1] != body: raise Bad(n, "the checkpoint's body is not origin, size %d and entry %d's hash" % (n - 1, n - 1))
    sig_lines = note[split + 2:].split("\n")
    prefix = "\u2014 " + origin + " "
    if len(sig_lines) != 2 or sig_lines[1] != "" or not sig_lines[0].startswith(prefix):
        raise Bad(n, "the checkpoint must carry exactly one signature line by %s" % origin)
    try:
        blob = base64.b64decode(sig_lines[0][len(prefix):], validate=True)
    except ValueError:
        raise Bad(n, "the checkpoint's signature is not base64")
    if blob[:4] != hashlib.sha256(der).digest()[:4]: raise Bad(n, "the checkpoint's key ID is not the ceremony key's")
    if not verifies(key, blob[4:], body.encode("utf-8")): raise Bad(n, "the checkpoint's signature does not verify")


def check_signatures(entries):
    key, der = ceremony_key(entries[0])
    for e in entries:
        if e["event"] not in SEALED: continue
        sig = e["payload"].get("signature")
        unsigned = dict(e, payload={k: v for k, v in e["payload"].items() if k != "signature"})
        try:
            good = isinstance(sig, str) and verifies(key, bytes.fromhex(sig), SEAL_TAG + canonical(unhashed(unsigned)))
        except ValueError:
            good = False
        if not good: raise Bad(e["seq"], "%s is not signed by the ceremony key of BEGIN" % e["event"])
        if e["event"] in TERMINAL: check_checkpoint(e, key, der)
    return der


# ---- the recovery card's signature (docs/ceremony.md §7 "Card signatures") ----

CARD_AUTH_TAG = b"triad-recovery-card-auth-v1\n"
CARD_AUTH_MEMBERS = {"certificate", "certificate_fingerprint", "issuer_certificate", "serial",
                     "card_certificate_fingerprint", "signature"}


def lower_hex(value):
    if not isinstance(value, str) or not re.fullmatch(r"(?:[0-9a-f]{2})+", value): raise ValueError("not lowercase hex")
    return bytes.fromhex(value)


def issued_by(cert, issuer):
    key = issuer.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm)
        else:
            return False
        return True
    except InvalidSignature:
        return False


def load_records(paths):
    """The cards of each enrolment record (docs/escrow.md §4): (9D fingerprint, 9E fingerprint or None, issuer DER SHA-256 or None)."""
    cards = []
    for path in paths:
        with open(path, "rb") as f: record = json.load(f)
        if record.get("format") not in ("triad-recovery-enrolment/1", "triad-recovery-enrolment/2"):
            raise ValueError("%s is not a Triad enrolment record" % path)
        for c in record["cards"]:
            issuer = c.get("card_auth_issuer_pem")
            issuer_fp = hashlib.sha256(x509.load_pem_x509_certificate(issuer.encode()).public_bytes(serialization.Encoding.DER)).digest() if issuer else None
            auth = c.get("card_auth_certificate_fingerprint")
            cards.append((c["certificate_fingerprint"].lower(), auth.lower() if auth else None, issuer_fp))
    return cards


def check_card_signatures(entries, records=None):
    """Every STEP_DONE of identify-recovery-card: result.card_auth is "not-enrolled" (reported) or verifies.
    With records (--record), the card, its 9E certificate and issuer must be enrolled, and a card with a 9E key may not say not-enrolled."""
    begin = entries[0]
    notes = []
    for e in entries:
        if e["event"] != "STEP_DONE" or e["payload"].get("action") != "identify-recovery-card": continue
        n, where = e["seq"], "the recovery card's signature at step %s: " % e["step"]
        result = e["payload"].get("result")
        auth = result.get("card_auth") if isinstance(result, dict) else None
        if auth is None: raise Bad(n, where + "missing (no card_auth in STEP_DONE): card presence is not proven")
        if auth == "not-enrolled":
            presented = [r["payload"].get("card_certificate_fingerprint") for r in entries if r["seq"] < n and r["step"] == e["step"]
                         and r["event"] == "RECORD" and r["payload"].get("kind") == "card-presented"]
            if records and presented and any(c[0] == presented[-1] and c[1] for c in records):
                raise Bad(n, where + "\"not-enrolled\", but the enrolment record gives this card a card authentication key")
            notes.append("step %s: card presence NOT proven by signature (card enrolled before card authentication)" % e["step"])
            continue
        if not isinstance(auth, dict) or set(auth) != CARD_AUTH_MEMBERS:
            raise Bad(n, where + "card_auth is neither \"not-enrolled\" nor an object with exactly the six members")
        try:
            cert_der, issuer_der = lower_hex(auth["certificate"]), lower_hex(auth["issuer_certificate"])
            fingerprint, card_fp = lower_hex(auth["certificate_fingerprint"]), lower_hex(auth["card_certificate_fingerprint"])
            signature = lower_hex(auth["signature"])
            cert, issuer = x509.load_der_x509_certificate(cert_der), x509.load_der_x509_certificate(issuer_der)
            nonce, begin_hash = bytes.fromhex(begin["payload"]["nonce"]), bytes.fromhex(begin["hash"])
        except (ValueError, KeyError, TypeError):
            raise Bad(n, where + "a member is not lowercase hex, or a certificate is not DER X.509")
        serial = auth["serial"]
        if serial is not None and (not isinstance(serial, int) or isinstance(serial, bool) or not 0 <= serial <= 0xFFFFFFFF):
            raise Bad(n, where + "serial is neither null nor a 32-bit number")
        if hashlib.sha256(cert_der).digest() != fingerprint: raise Bad(n, where + "certificate_fingerprint is not the SHA-256 of certificate")
        if len(nonce) != 16 or len(card_fp) != 32: raise Bad(n, where + "the nonce or the 9D certificate fingerprint has the wrong length")
        if not issued_by(cert, issuer): raise Bad(n, where + "the card authentication certificate is not signed by its issuer")
        key = cert.public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
            raise Bad(n, where + "the card authentication key is not EC P-256")
        message = CARD_AUTH_TAG + nonce + begin_hash + (serial or 0).to_bytes(4, "big") + card_fp
        if not verifies(key, signature, message): raise Bad(n, where + "the signature does not verify with the 9E key")
        if records and (card_fp.hex(), fingerprint.hex(), hashlib.sha256(issuer_der).digest()) not in records:
            raise Bad(n, where + "the card, its 9E certificate or its issuer is not the one the enrolment record lists")
        notes.append("step %s: card serial %s signed this ceremony's nonce; 9E certificate issued by %s"
                     % (e["step"], "unknown" if serial is None else serial, hashlib.sha256(issuer_der).hexdigest()))
    return notes


# ---- participants' card signatures (docs/ceremony.md §7 "Attestations") ----

ROLL_CALL_TAG = b"triad-ceremony-attestor-v1\n"
ATTEST_TAG = b"triad-ceremony-attest-v1\n"
NOT_SIGNED_BY_PARTICIPANTS = ("signature", "checkpoint", "attestations", "attestations_missing")


def participant_verifies(cert, signature_hex, message):
    """The 9C key's signature: ECDSA SHA-256 on P-256, SHA-384 on P-384, RSA PKCS#1 v1.5 SHA-256."""
    try:
        signature = lower_hex(signature_hex)
    except ValueError:
        return False
    key = cert.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1":
            key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp384r1":
            key.verify(signature, message, ec.ECDSA(hashes.SHA384()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
        return True
    except InvalidSignature:
        return False


def attestor_record(e):
    """(role, certificate, fingerprint hex) of a RECORD attestor-card."""
    n, p, role = e["seq"], e["payload"], e["role"]
    if set(p) != {"kind", "certificate", "certificate_fingerprint", "signature"}:
        raise Bad(n, "the attestor-card record of role %s does not have exactly kind, certificate, certificate_fingerprint and signature" % role)
    try:
        der = lower_hex(p["certificate"])
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        raise Bad(n, "the attestor-card record of role %s: certificate is not a DER X.509 certificate in lowercase hex" % role)
    fingerprint = hashlib.sha256(der).hexdigest()
    if p["certificate_fingerprint"] != fingerprint:
        raise Bad(n, "the attestor-card record of role %s: certificate_fingerprint is not the SHA-256 of certificate" % role)
    return role, cert, fingerprint


def check_attestations(entries):
    """Roll-call proofs, and every present attesting role's signature on each ACT_END and terminal entry."""
    begin = entries[0]
    nonce, begin_hash = bytes.fromhex(begin["payload"]["nonce"]), bytes.fromhex(begin["hash"])
    cards, absent, notes = {}, set(), []
    for e in entries:
        n, p = e["seq"], e["payload"]
        if e["event"] == "RECORD" and p.get("kind") == "attestor-card":
            role, cert, fingerprint = attestor_record(e)
            if any(fp == fingerprint and r != role for r, (_, fp, _) in cards.items()):
                raise Bad(n, "role %s presents the card already recorded for another role" % role)
            message = ROLL_CALL_TAG + nonce + begin_hash + bytes.fromhex(fingerprint) + role.encode("utf-8")
            if not participant_verifies(cert, p["signature"], message):
                raise Bad(n, "the roll-call signature of role %s does not verify with its card's certificate" % role)
            cards[role] = (cert, fingerprint, n)
            absent.discard(role)
            notes.append("role %s: card certificate %s... signed at the roll call" % (role, fingerprint[:16]))
        elif e["event"] in SEALED:
            present = {r for r in cards if r not in absent}
            message = ATTEST_TAG + canonical(unhashed(dict(e, payload={k: v for k, v in p.items() if k not in NOT_SIGNED_BY_PARTICIPANTS})))
            items = p.get("attestations", [])
            if not isinstance(items, list): raise Bad(n, "%s: attestations is not a list" % e["event"])
            signed = set()
            for a in items:
                if not isinstance(a, dict) or set(a) != {"role", "certificate_fingerprint", "signature"} or not isinstance(a["role"], str):
                    raise Bad(n, "an attestation does not have exactly role, certificate_fingerprint and signature")
                role = a["role"]
                if role not in present or role in signed: raise Bad(n, "role %s attests although it has no card recorded, is absent, or signed already" % role)
                signed.add(role)
                cert, fingerprint, _ = cards[role]
                if a["certificate_fingerprint"] != fingerprint: raise Bad(n, "role %s attests with a card other than the roll call's" % role)
                if not participant_verifies(cert, a["signature"], message): raise Bad(n, "the signature of role %s does not verify" % role)
            excused = set()
            if "attestations_missing" in p:
                missing = p["attestations_missing"]
                if e["event"] != "ABORTED" or not isinstance(missing, list): raise Bad(n, "only ABORTED may list attestations_missing")
                for m in missing:
                    if (not isinstance(m, dict) or set(m) != {"role", "reason"} or not isinstance(m["reason"], str) or not m["reason"]
                            or m["role"] not in present or m["role"] in signed):
                        raise Bad(n, "ABORTED: attestations_missing names no present attesting role that did not sign, with a reason")
                    excused.add(m["role"])
            lacking = sorted(present - signed - excused)
            if lacking: raise Bad(n, "%s lacks the signature of role %s" % (e["event"], lacking[0]))
        elif e["event"] == "RESUME":
            absent.update(r for r in p.get("absent", []) if isinstance(r, str))
    return cards, notes


def check_trust(cards, anchors, times):
    """--trust: each participant's certificate issued by one of the CA certificates (name and signature), both valid at the roll call."""
    notes = []
    for role, (cert, fingerprint, n) in sorted(cards.items(), key=lambda kv: kv[1][2]):
        ca = next((a for a in anchors if cert.issuer == a.subject and issued_by(cert, a)), None)
        if ca is None: raise Bad(n, "the certificate of role %s is not issued by any --trust CA certificate" % role)
        when = datetime.datetime.strptime(times[n], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
        if not all(c.not_valid_before_utc <= when <= c.not_valid_after_utc for c in (cert, ca)):
            raise Bad(n, "the certificate of role %s or its CA was not valid at the roll call" % role)
        notes.append("role %s: certificate issued by %s" % (role, ca.subject.rfc4514_string()))
    return notes


# ---- anchors (docs/ceremony.md §7 "Anchors") ----

def word_lists():
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "Fixtures", "ceremony", "pgp-words.json")) as f:
        lists = json.load(f)
    return lists["even"], lists["odd"]


def anchor_words(hex_hash, even, odd):
    return [(even if i % 2 == 0 else odd)[b] for i, b in enumerate(bytes.fromhex(hex_hash)[:ANCHOR_BYTES])]


def check_anchor(anchor, entries, even, odd):
    seq, words_part = None, anchor
    if ":" in anchor:
        head, words_part = anchor.split(":", 1)
        try: seq = int(head.strip())
        except ValueError: raise Bad(1, "anchor %r: write it as 'SEQ: word word ...'" % anchor)
    words = [w for w in re.split(r"[\s\u00b7]+", words_part) if w]
    if len(words) < MIN_WORDS: raise Bad(seq or 1, "anchor %r has %d words; give at least %d" % (anchor, len(words), MIN_WORDS))
    def first_mismatch(e):
        expected = anchor_words(e["hash"], even, odd)
        if len(words) > len(expected): return 0
        for i, w in enumerate(words):
            if w.lower() != expected[i].lower(): return i
        return None
    if seq is not None:
        if not 1 <= seq <= len(entries): raise Bad(seq, "missing: the anchor names entry %d" % seq)
        bad = first_mismatch(entries[seq - 1])
        if bad is not None: raise Bad(seq, "the written-down anchor differs at word %d" % (bad + 1))
        return "entry %d: %d words match" % (seq, len(words))
    for e in entries:
        if (e["event"] == "ACT_END" or e["event"] in TERMINAL) and first_mismatch(e) is None:
            return "entry %d: %d words match" % (e["seq"], len(words))
    raise Bad(len(entries), "the anchor matches no act boundary or terminal entry")


def split_lines(data):
    lines = data.split(b"\n")
    if lines and lines[-1] == b"": lines.pop()
    return lines


def judge(path, anchors, records=None, trust=None):
    """(status, first bad entry or 0, message or summary lines) of one transcript."""
    try:
        with open(path, "rb") as f: data = f.read()
    except OSError as x:
        return 1, 0, "cannot read the transcript: %s" % x.strerror
    try:
        entries = check_chain(split_lines(data))
        der = check_signatures(entries)
        cards = check_card_signatures(entries, records)
        attestors, attested = check_attestations(entries)
        trusted = check_trust(attestors, trust, {e["seq"]: e["time"] for e in entries}) if trust is not None else None
        even, odd = word_lists() if anchors else ([], [])
        matched = [check_anchor(a, entries, even, odd) for a in anchors]
    except Bad as b:
        return 1, b.entry, "entry %d: %s" % (b.entry, b.message)
    last = entries[-1]
    lines = ["%s %s: ceremony %s, %d entries, ended %s" % ("OK" if last["event"] == "CLOSED" else "VERIFIED, ABORTED", path,
                                                          last["ceremony"], len(entries), last["event"]),
             "   ceremony key SPKI SHA-256 %s; every act end and the terminal entry signed; checkpoint verified" % hashlib.sha256(der).hexdigest()]
    lines += ["   recovery card: " + c for c in cards]
    lines += ["   participant card: " + a for a in attested]
    if attested and trusted is None:
        lines.append("   participant certificates were NOT checked against a CA (no --trust)")
    lines += ["   trusted: " + t for t in trusted or []]
    lines += ["   anchor " + m for m in matched]
    if not anchors: lines.append("   NO PAPER ANCHOR COMPARED: give the words written down in the room with --anchor")
    lines.append("   the script was NOT replayed (order, roles, facts): run `ceremony verify` for that")
    return (0 if last["event"] == "CLOSED" else 3), 0, "\n".join(lines)


def main(argv):
    if argv[:1] == ["--each"]:
        for path in argv[1:]:
            status, entry, _ = judge(path, [])
            print("%d %d %s" % (status, entry, path))
        return 0
    args, anchors, record_paths, trust_paths, i = [], [], [], [], 0
    while i < len(argv):
        if argv[i] == "--anchor" and i + 1 < len(argv):
            anchors.append(argv[i + 1]); i += 2
        elif argv[i] == "--record" and i + 1 < len(argv):
            record_paths.append(argv[i + 1]); i += 2
        elif argv[i] == "--trust" and i + 1 < len(argv):
            trust_paths.append(argv[i + 1]); i += 2
        elif argv[i].startswith("-"):
            sys.stderr.write(__doc__.split("\n\n")[1] + "\n"); return 2
        else:
            args.append(argv[i]); i += 1
    if len(args) != 1:
        sys.stderr.write(__doc__.split("\n\n")[1] + "\n"); return 2
    try:
        records = load_records(record_paths)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as x:
        sys.stderr.write("verify-transcript: enrolment record: %s — the transcript was not checked\n" % x); return 1
    trust = None
    try:
        for path in trust_paths:
            with open(path, "rb") as f: trust = (trust or []) + x509.load_pem_x509_certificates(f.read())
    except (OSError, ValueError) as x:
        sys.stderr.write("verify-transcript: --trust: %s — the transcript was not checked\n" % x); return 1
    status, _, text = judge(args[0], anchors, records, trust)
    if status == 1:
        sys.stderr.write("verify-transcript: %s: %s — the transcript does NOT verify\n" % (args[0], text))
    else:
        print(text)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
