#!/usr/bin/env bash
# The README walk-through, run literally against `ledger-server dev`: start the development
# server, append a claim with curl, wait for the seal and its anchors, download the bundle,
# verify it with evidence-verify, fetch the signed findings report, validate it with pyHanko
# and verify a bundle extracted from it, tamper with the bundle and see it fail, then stop the server
# gracefully. Used by .ci/run; run it yourself after `cargo build --bins`.
set -euo pipefail
bin=$(cd "${BIN_DIR:-${CARGO_TARGET_DIR:-target}/debug}" && pwd)
port=${PORT:-18080}
work=$(mktemp -d)
cd "$work"
echo "working in $work"

"$bin/ledger-server" dev --listen "127.0.0.1:$port" --seal-every 5 2>server.log &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; cat server.log' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.2; done

# --- the README's commands, verbatim except for the port ---
TOKEN=$(cat data/dev/token)
curl -sf -X POST "http://127.0.0.1:$port/v1/tenants/demo/claims" \
  -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
  -d '{"kind":"leakage_finding","body":{"analyzer":"cit","deal":"D-24117","staff":"FI-07","finding":"contract in transit 41 days","amount":"1250.00"}}'
echo
# Wait for the seal (every 5 s here, 60 s by default) and its anchors.
for _ in $(seq 60); do
  curl -sf "http://127.0.0.1:$port/v1/tenants/demo/claims/0/bundle" -H "Authorization: Bearer $TOKEN" -o bundle.json \
    && grep -q '"timestamps":\[{' bundle.json && grep -q '"fabric":\[{' bundle.json && break
  sleep 1
done
"$bin/evidence-verify" bundle bundle.json --trust data/trust.json --report report.html

# The claim's inclusion as a standard tlog-proof, with the trust file or the server's key.
curl -sf "http://127.0.0.1:$port/v1/tenants/demo/claims/0/tlog-proof" -H "Authorization: Bearer $TOKEN" -o claim-0.tlog-proof
curl -sf "http://127.0.0.1:$port/v1/tenants/demo/verifier-key" -H "Authorization: Bearer $TOKEN" -o demo.vkey
LEAF=$(curl -sf "http://127.0.0.1:$port/v1/tenants/demo/claims/0" -H "Authorization: Bearer $TOKEN" \
  | sed -n 's/.*"leaf_hash":"\([0-9a-f]*\)".*/\1/p')
"$bin/evidence-verify" tlog-proof claim-0.tlog-proof --leaf-hash "$LEAF" --trust data/trust.json
"$bin/evidence-verify" tlog-proof claim-0.tlog-proof --leaf-hash "$LEAF" --key "$(cat demo.vkey)"
# Every checkpoint so far, signed and consistency-linked: the log only grew.
curl -sf "http://127.0.0.1:$port/v1/tenants/demo/checkpoint-chain" -H "Authorization: Bearer $TOKEN" -o chain.json
"$bin/evidence-verify" checkpoints chain.json --trust data/trust.json
"$bin/evidence-verify" checkpoints chain.json --key "$(cat demo.vkey)"
# --- end of the README's commands ---

# --- the README's signed report (steps 6 and 7) ---
curl -sf "http://127.0.0.1:$port/v1/tenants/demo/reports/findings.pdf?from=2000-01-01&to=2099-12-31" \
  -H "Authorization: Bearer $TOKEN" -o findings.pdf
head -c 5 findings.pdf | grep -q '%PDF-'
# pyHanko: the venv .ci/run makes ($REPORTS_PYHANKO_PYTHON), else one on PATH.
pyhanko=${REPORTS_PYHANKO_PYTHON:+$(dirname "$REPORTS_PYHANKO_PYTHON")/pyhanko}
pyhanko=${pyhanko:-$(command -v pyhanko || true)}
if [ -n "$pyhanko" ] && command -v pdfdetach >/dev/null; then
  "$pyhanko" sign validate --no-revocation-check --trust data/dev/report-signing-ca.pem \
    --trust data/dev/tsa-root.pem findings.pdf | tee pyhanko.txt
  grep -q 'INTACT:TRUSTED,TIMESTAMP_TOKEN<INTACT:TRUSTED>,UNTOUCHED' pyhanko.txt
  pdfdetach -saveall findings.pdf
  "$bin/evidence-verify" bundle claim-0.bundle.json --trust data/trust.json
elif [ "${REPORTS_REQUIRE_TOOLS:-0}" = 1 ]; then
  echo "pyhanko and pdfdetach are required (REPORTS_REQUIRE_TOOLS=1)"; exit 1
else
  echo "SKIPPED: report validation (pyhanko or pdfdetach missing)"
fi
# --- end of the report commands ---

test -s report.html
# A tampered bundle must not verify (exit 1).
sed 's/D-24117/D-24118/' bundle.json >tampered.json
status=0
"$bin/evidence-verify" bundle tampered.json --trust data/trust.json >/dev/null || status=$?
[ "$status" -eq 1 ] || { echo "tampered bundle: exit $status, expected 1"; exit 1; }
# Graceful shutdown on SIGTERM: exit 0.
kill -TERM "$pid"
wait "$pid"
trap - EXIT
echo "walk-through OK"
