#!/usr/bin/env bash
# Fails when private keys or databases are committed: ledger keys (*.skey), master keys
# (*.key), PKCS#8/#12 files, SQLite databases and their WAL, or any file holding a PEM private
# key. Only the vectors under testdata/ (public certificates, tokens and blocks from their
# sources; see testdata/README.md) and the fuzz corpora may hold certificate material, and
# neither may hold a private key.
set -euo pipefail
cd "$(dirname "$0")/.."
bad=$(git ls-files | grep -E '\.(skey|key|p8|p12|pfx|db|db-wal|db-shm|sqlite|sqlite3)$' || true)
keys=$(git grep -lE -- '-----BEGIN ([A-Z]+ )?PRIVATE KEY-----' -- . ':!*.rs' ':!*.md' || true)
if [ -n "$bad$keys" ]; then
  echo "key material or databases are committed (remove them from git and ignore them):"
  printf '  %s\n' $bad $keys
  exit 1
fi
echo "no private keys or databases committed"
