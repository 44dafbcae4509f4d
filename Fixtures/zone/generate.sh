#!/usr/bin/env bash
# Regenerates Fixtures/zone/: a small zone made with stock openssl keys and the zone CLI, and
# the edited and forged policies the vector test (Tests/TriadZoneTests/PolicyVectorTests.swift)
# loops over. The edits are made by edit_policy.py, an independent encoder of docs/zone.md
# §2–§3, which also writes the derivation vectors into vectors.json (its "cases" are kept).
# Run from the project root after `swift build`. Keys here are test keys, never real ones.
set -euo pipefail
F=Fixtures/zone
ZONE=${ZONE:-$(swift build --show-bin-path)/zone}
WORK=$(mktemp -d); trap 'rm -rf "$WORK"' EXIT
export XDG_STATE_HOME=$WORK/state
rm -rf "$F/pki" "$F/zone" "$F/edits"; mkdir -p "$F/pki" "$F/edits" "$F/zone"
for spec in officer:P-256 mallory:P-256 recovery:P-384 carol:P-256; do
  n=${spec%%:*}; c=${spec#*:}
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:$c -out "$F/pki/$n.key" 2>/dev/null
  openssl req -x509 -new -key "$F/pki/$n.key" -subj "/CN=$n/O=Fixture Hospital" -days 36500 -out "$F/pki/$n.crt"
done
for n in alice bob; do
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$F/pki/$n.key" 2>/dev/null
  openssl req -x509 -new -key "$F/pki/$n.key" -subj "/CN=$n/O=Fixture Hospital" -days 36500 -out "$F/pki/$n.crt"
done
chmod 600 "$F"/pki/*.key
printf 'a plaintext file of the fixture zone\n' >"$F/zone/record.txt"
"$ZONE" init "$F/zone" --officer-cert "$F/pki/officer.crt" --identity "file:$F/pki/officer.key" \
  --recovery-cert "$F/pki/recovery.crt" --member "$F/pki/alice.crt" >/dev/null 2>&1
"$ZONE" grant "$F/zone" --cert "$F/pki/bob.crt" --identity "file:$F/pki/officer.key" >/dev/null
"$ZONE" revoke "$F/zone" --cert "$F/pki/bob.crt" --identity "file:$F/pki/officer.key" >/dev/null
python3 "$F/edit_policy.py" "$F"
echo "regenerated $F"
