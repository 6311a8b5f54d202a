#!/usr/bin/env python3
"""Re-check an evidence-bundle/v1 from docs/FORMATS.md alone (no code of this project).

Checks: the checkpoint's signed note (Ed25519, C2SP signed-note key ids), the checkpoint body,
every claim's leaf entry, RFC 9162 inclusion proof, content hash (RFC 8785 form of
{"v":1,"kind":...,"body":...}) and salted commitment, and every later checkpoint's signed note
and RFC 9162 consistency proof. It does NOT check the anchors (the RFC 3161 token and the
Fabric block): use `openssl ts -verify` and a Fabric block verifier for those (FORMATS.md says
what they must name).

Usage:
  verify_bundle.py BUNDLE.json --trust TRUST.json
  verify_bundle.py BUNDLE.json --ledger-key BASE64_ED25519_PUBLIC_KEY

Exit status: 0 every check passed, 1 a check failed, 2 the input could not be read.
Needs Python 3.8+ and the `cryptography` package only.
"""

import argparse
import base64
import binascii
import decimal
import hashlib
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


class Fail(Exception):
    """A check failed (exit 1)."""


def sha256(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.digest()


def b64(s, what):
    try:
        raw = base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError, TypeError) as e:
        raise Fail(f"{what}: not base64 ({e})") from e
    if base64.b64encode(raw).decode() != s:
        raise Fail(f"{what}: not canonical base64")
    return raw


def unhex32(s, what):
    if not isinstance(s, str) or len(s) != 64 or s != s.lower():
        raise Fail(f"{what}: not 64 lowercase hex digits")
    try:
        return bytes.fromhex(s)
    except ValueError as e:
        raise Fail(f"{what}: not hex") from e


# ---- RFC 8785 (JCS) -------------------------------------------------------------------------

def jcs_number(x):
    if isinstance(x, bool):
        raise Fail("internal: bool as number")
    if isinstance(x, int):
        if abs(x) > 2**53:
            raise Fail(f"integer {x} is not exactly representable as an IEEE-754 double")
        return str(x)
    if x != x or x in (float("inf"), float("-inf")):
        raise Fail("NaN and infinities have no JSON form")
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    # repr() is the shortest round-trip form, as ECMAScript's Number::toString requires.
    t = decimal.Decimal(repr(abs(x))).normalize().as_tuple()
    digits = "".join(map(str, t.digits))
    k = len(digits)
    n = k + t.exponent  # value = 0.digits * 10^n
    if k <= n <= 21:
        out = digits + "0" * (n - k)
    elif 0 < n <= 21:
        out = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        out = "0." + "0" * (-n) + digits
    else:
        e = n - 1
        es = ("+" if e >= 0 else "-") + str(abs(e))
        out = digits + "e" + es if k == 1 else digits[0] + "." + digits[1:] + "e" + es
    return sign + out


def jcs(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (int, float)):
        return jcs_number(v)
    if isinstance(v, str):
        # JSON.stringify's escaping: \b \f \n \r \t \" \\, other controls as \u00xx, the rest literal.
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ",".join(jcs(e) for e in v) + "]"
    if isinstance(v, dict):
        keys = sorted(v.keys(), key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + jcs(v[k]) for k in keys) + "}"
    raise Fail(f"not a JSON value: {type(v).__name__}")


def no_duplicates(pairs):
    d = {}
    for k, val in pairs:
        if k in d:
            raise Fail(f"duplicate member name {k!r}")
        d[k] = val
    return d


# ---- RFC 9162 -------------------------------------------------------------------------------

def node(left, right):
    return sha256(b"\x01", left, right)


def root_from_inclusion(index, size, leaf_hash, path):
    if index >= size:
        raise Fail(f"leaf index {index} is not below tree size {size}")
    fn, sn, r = index, size - 1, leaf_hash
    for p in path:
        if sn == 0:
            raise Fail("inclusion path too long")
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise Fail("inclusion path too short")
    return r


def check_consistency(m, old_root, n, new_root, path):
    if m > n:
        raise Fail(f"consistency: old size {m} is larger than new size {n}")
    if m == n:
        if path or old_root != new_root:
            raise Fail("consistency: same size needs an empty proof and equal roots")
        return
    if m == 0:
        if path:
            raise Fail("consistency from the empty tree needs an empty proof")
        return
    if m & (m - 1) == 0:
        path = [old_root] + list(path)
    if not path:
        raise Fail("consistency: empty proof")
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise Fail("consistency proof too long")
        if fn & 1 or fn == sn:
            fr = node(c, fr)
            sr = node(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise Fail("consistency proof too short")
    if fr != old_root:
        raise Fail("consistency: the proof does not give the old root")
    if sr != new_root:
        raise Fail("consistency: the proof does not give the new root")


# ---- signed notes and checkpoints ------------------------------------------------------------

def key_id(name, pub):
    return sha256(name.encode(), b"\n", b"\x01", pub)[:4]


def open_note(note, name, pubs):
    """Verifies a C2SP signed note; answers its text."""
    if not note.endswith("\n"):
        raise Fail("note does not end in a newline")
    split = note.rfind("\n\n")
    if split < 0:
        raise Fail("note has no blank line before its signatures")
    text, sigs = note[: split + 1], note[split + 2 :]
    verified = 0
    for line in sigs[:-1].split("\n"):
        if not line.startswith("\u2014 "):
            raise Fail("signature line does not start with an em dash and a space")
        parts = line[2:].split(" ")
        if len(parts) != 2:
            raise Fail("signature line needs a key name and a signature")
        blob = b64(parts[1], "signature")
        if len(blob) < 5:
            raise Fail("signature shorter than a key id")
        for pub in pubs:
            if parts[0] == name and blob[:4] == key_id(name, pub):
                try:
                    Ed25519PublicKey.from_public_bytes(pub).verify(blob[4:], text.encode())
                except InvalidSignature as e:
                    raise Fail(f"the signature by trusted key {name} does not verify") from e
                verified += 1
    if verified == 0:
        raise Fail(f"no signature by a trusted key named {name}")
    return text


def parse_checkpoint(text, origin):
    lines = text[:-1].split("\n")
    if len(lines) != 7:
        raise Fail(f"checkpoint body has {len(lines)} lines, not 7")
    if lines[0] != origin:
        raise Fail(f"checkpoint origin {lines[0]!r}, expected {origin!r}")

    def dec(s, what):
        if not s.isdigit() or not s.isascii() or (len(s) > 1 and s[0] == "0"):
            raise Fail(f"checkpoint {what} is not a decimal without leading zeros")
        return int(s)

    def ext(i, key):
        prefix = f"evidence/v1 {key} "
        if not lines[i].startswith(prefix):
            raise Fail(f"checkpoint line {i + 1} is not 'evidence/v1 {key} ...'")
        return lines[i][len(prefix) :]

    root = b64(lines[2], "checkpoint root")
    if len(root) != 32:
        raise Fail("checkpoint root is not 32 bytes")
    return {
        "size": dec(lines[1], "tree size"),
        "root": root,
        "tenant": ext(3, "tenant"),
        "seq": dec(ext(4, "seq"), "seq"),
        "prev": unhex32(ext(5, "prev"), "checkpoint prev"),
        "sealed": ext(6, "sealed"),
        "hash": sha256(text.encode()),
    }


def decode_leaf(entry):
    if len(entry) < 2 or entry[0] != 1:
        raise Fail("leaf entry: not format version 1")
    ln = entry[1]
    if not 1 <= ln <= 64 or len(entry) < 53 + ln:
        raise Fail("leaf entry: bad tenant length or truncated")
    p = 2 + ln
    out = {
        "tenant": entry[2:p].decode("ascii", "replace"),
        "seq": int.from_bytes(entry[p : p + 8], "big"),
        "kind_code": int.from_bytes(entry[p + 8 : p + 10], "big"),
        "appended_at": int.from_bytes(entry[p + 10 : p + 18], "big", signed=True),
        "commitment": entry[p + 18 : p + 50],
    }
    n = entry[p + 50]
    if n > 32 or len(entry) != 53 + ln + 32 * n:
        raise Fail("leaf entry: bad number of links or trailing bytes")
    out["links"] = [entry[p + 51 + 32 * i : p + 83 + 32 * i] for i in range(n)]
    return out


KIND_CODES = {
    "leakage_finding": 1, "gate_decision": 2, "sop_attestation": 3, "ria_submission_row": 4,
    "ai_invocation_event": 5, "pii_redaction_event": 6, "ingest_record": 7, "audit_event": 8,
    "retraction": 64, "supersession": 65, "erasure": 66, "reanchor": 67, "incident": 68,
    "report_issued": 69,
}


def verify(bundle, pubs, say):
    if bundle.get("format") != "evidence-bundle/v1":
        raise Fail(f"format is {bundle.get('format')!r}, not evidence-bundle/v1")
    ledger, tenant = bundle["ledger"], bundle["tenant"]
    origin = f"{ledger}/tenant/{tenant}"
    cp = parse_checkpoint(open_note(bundle["checkpoint"], origin, pubs), origin)
    if cp["tenant"] != tenant:
        raise Fail(f"checkpoint is of tenant {cp['tenant']}, the bundle says {tenant}")
    say(f"PASS  checkpoint {cp['seq']}: signed by the ledger key; {cp['size']} leaves, root "
        f"{cp['root'].hex()}; checkpoint hash {cp['hash'].hex()}")
    if not bundle["claims"]:
        raise Fail("the bundle holds no claim")
    for c in bundle["claims"]:
        entry = b64(c["leaf_entry"], "leaf_entry")
        e = decode_leaf(entry)
        proof = c["inclusion_proof"]
        if (e["tenant"], e["seq"], proof["leaf_index"]) != (tenant, c["seq"], c["seq"]):
            raise Fail(f"claim {c['seq']}: leaf entry, inclusion proof and bundle disagree")
        if proof["tree_size"] != cp["size"]:
            raise Fail(f"claim {c['seq']}: the proof is for {proof['tree_size']} leaves, the checkpoint has {cp['size']}")
        leaf_hash = sha256(b"\x00", entry)
        path = [unhex32(h, "inclusion path hash") for h in proof["path"]]
        if root_from_inclusion(c["seq"], cp["size"], leaf_hash, path) != cp["root"]:
            raise Fail(f"claim {c['seq']}: the inclusion proof does not give the checkpoint's root")
        say(f"PASS  claim {c['seq']}: leaf hash {leaf_hash.hex()} is leaf {c['seq']} of the {cp['size']}-leaf tree")
        status = c["record_status"]
        if status == "erased":
            if any(k in c for k in ("record", "salt", "content_hash")):
                raise Fail(f"claim {c['seq']}: erased, yet carries record, salt or content hash")
            say(f"N/A   claim {c['seq']}: record erased; nothing to open")
            continue
        ch = unhex32(c["content_hash"], "content_hash")
        salt = b64(c["salt"], "salt")
        if len(salt) != 32:
            raise Fail(f"claim {c['seq']}: the salt is not 32 bytes")
        if status == "disclosed":
            rec = c["record"]
            if KIND_CODES.get(rec["kind"]) != e["kind_code"]:
                raise Fail(f"claim {c['seq']}: the record's kind does not match the leaf's kind code {e['kind_code']}")
            canonical = jcs({"v": 1, "kind": rec["kind"], "body": rec["body"]}).encode("utf-8")
            if sha256(canonical) != ch:
                raise Fail(f"claim {c['seq']}: the record hashes to {sha256(canonical).hex()}, the bundle says {ch.hex()}")
            say(f"PASS  claim {c['seq']}: the record's RFC 8785 form hashes to the content hash")
        elif status != "withheld" or "record" in c:
            raise Fail(f"claim {c['seq']}: record_status {status!r} does not match the fields present")
        if sha256(b"evidence/v1/commitment\x00", salt, ch) != e["commitment"]:
            raise Fail(f"claim {c['seq']}: salt and content hash do not open the leaf's commitment")
        say(f"PASS  claim {c['seq']}: the commitment opens to content hash {ch.hex()}")
    for later in bundle.get("later_checkpoints", []):
        nxt = parse_checkpoint(open_note(later["checkpoint"], origin, pubs), origin)
        pr = later["proof"]
        if (pr["old_size"], pr["new_size"]) != (cp["size"], nxt["size"]):
            raise Fail(f"later checkpoint {nxt['seq']}: proof sizes do not match the checkpoints")
        path = [unhex32(h, "consistency path hash") for h in pr["path"]]
        check_consistency(cp["size"], cp["root"], nxt["size"], nxt["root"], path)
        say(f"PASS  checkpoint {cp['seq']} -> {nxt['seq']}: the log grew from {cp['size']} to {nxt['size']} leaves consistently")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("bundle")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--trust", help="evidence-trust/v1 file (its ledgers' keys are used)")
    g.add_argument("--ledger-key", help="the ledger's Ed25519 public key, base64 of 32 bytes")
    a = ap.parse_args()
    try:
        with open(a.bundle, "rb") as f:
            bundle = json.loads(f.read().decode("utf-8"), object_pairs_hook=no_duplicates)
        if a.trust:
            with open(a.trust, "rb") as f:
                trust = json.loads(f.read().decode("utf-8"))
            pubs = [base64.b64decode(k["ed25519_public_key"]) for k in trust["ledgers"] if k["name"] == bundle.get("ledger")]
        else:
            pubs = [base64.b64decode(a.ledger_key)]
        if not pubs or any(len(p) != 32 for p in pubs):
            print("could not check: no 32-byte Ed25519 key for the bundle's ledger", file=sys.stderr)
            return 2
    except (OSError, ValueError, KeyError, TypeError, Fail) as e:
        print(f"could not check: {e}", file=sys.stderr)
        return 2
    try:
        verify(bundle, pubs, print)
    except Fail as e:
        print(f"FAIL  {e}")
        return 1
    except (KeyError, TypeError, AttributeError, ValueError) as e:
        print(f"FAIL  malformed bundle: {e!r}")
        return 1
    print("OK    Merkle, signed-note and consistency parts verified (anchors not checked by this script)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
