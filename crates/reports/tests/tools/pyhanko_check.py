"""Validates the one signature of a PDF with pyHanko and prints the facts as JSON.

Usage: python pyhanko_check.py REPORT.pdf SIGNING_CA.pem TSA_ROOT.pem

Used by crates/reports/tests/report.rs: an independent PAdES validator (pyHanko), with the
report-signing CA trusted for the signer and the TSA root trusted for the time-stamp, no
revocation checks (the test PKI publishes no CRL or OCSP) and no network.
"""
import json
import sys

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext


def main() -> None:
    pdf, ca, tsa_root = sys.argv[1:4]
    signer_vc = ValidationContext(trust_roots=[load_cert_from_pemder(ca)], allow_fetching=False, revocation_mode="soft-fail")
    ts_vc = ValidationContext(trust_roots=[load_cert_from_pemder(tsa_root)], allow_fetching=False, revocation_mode="soft-fail")
    out = {}
    with open(pdf, "rb") as f:
        reader = PdfFileReader(f)
        sigs = reader.embedded_signatures
        out["signatures"] = len(sigs)
        sig = sigs[0]
        out["sub_filter"] = str(sig.sig_object.get("/SubFilter"))
        out["field"] = sig.field_name
        try:
            status = validate_pdf_signature(sig, signer_validation_context=signer_vc, ts_validation_context=ts_vc)
        except Exception as e:  # a hard failure is a result too
            out["error"] = f"{type(e).__name__}: {e}"
            print(json.dumps(out))
            return
        out["intact"] = status.intact
        out["valid"] = status.valid
        out["trusted"] = status.trusted
        out["bottom_line"] = status.bottom_line
        out["coverage"] = str(status.coverage)
        out["modification_level"] = str(status.modification_level)
        out["docmdp_ok"] = status.docmdp_ok
        ts = status.timestamp_validity
        out["timestamp"] = None if ts is None else {
            "intact": ts.intact,
            "valid": ts.valid,
            "trusted": ts.trusted,
            "timestamp": ts.timestamp.isoformat(),
        }
        out["signer_reported_dt"] = None if status.signer_reported_dt is None else status.signer_reported_dt.isoformat()
        out["signed_attributes"] = sorted(a["type"].native for a in sig.signer_info["signed_attrs"])
        out["signing_time_attribute"] = "signing_time" in out["signed_attributes"]
        unsigned = sig.signer_info["unsigned_attrs"]
        out["unsigned_attributes"] = sorted(a["type"].native for a in unsigned) if unsigned.native else []
        out["summary"] = status.summary()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
