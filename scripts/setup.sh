#!/usr/bin/env bash
# Installs everything Colend needs on a fresh machine: a venv with the Python packages, and solc-js from npm.
# Idempotent: re-running only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v python3 >/dev/null || { echo "colend setup: python3 (>= 3.11) is required" >&2; exit 2; }
command -v node >/dev/null && command -v npm >/dev/null || {
  echo "colend setup: Node.js and npm are required to compile the contracts (apt-get install nodejs npm)" >&2; exit 2; }
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  python3 -m venv .venv
fi
echo "==> installing Python packages"
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
echo "==> installing solc-js (pinned in contracts/package.json)"
(cd contracts && npm ci --silent --no-audit --no-fund)
echo "==> installing ethers (the non-Python Ethereum client the e2e tests drive)"
(cd tests/e2e/js && npm ci --silent --no-audit --no-fund)
echo "==> installing anvil (the foreign Ethereum node the e2e tests deploy the suite to; pinned in tests/e2e/anvil)"
(cd tests/e2e/anvil && npm ci --silent --no-audit --no-fund)
echo "==> compiling contracts"
.venv/bin/colend contracts build
