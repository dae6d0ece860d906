#!/usr/bin/env bash
# Installs everything Colend needs on a fresh machine: a venv with the Python packages, and solc-js from npm.
# Idempotent: re-running only installs what is missing. `--demo`: only what `colend demo` needs (no test tools).
set -euo pipefail
DEMO_ONLY=0; [ "${1:-}" = "--demo" ] && DEMO_ONLY=1
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
if [ "$DEMO_ONLY" = 1 ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
else
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
fi
echo "==> installing solc-js (pinned in contracts/package.json)"
(cd contracts && npm ci --silent --no-audit --no-fund)
if [ "$DEMO_ONLY" = 1 ]; then
  echo "==> compiling contracts"
  .venv/bin/colend contracts build
  exit 0
fi
echo "==> installing ethers (the non-Python Ethereum client the e2e tests drive)"
(cd tests/e2e/js && npm ci --silent --no-audit --no-fund)
echo "==> installing anvil (the e2e tests' foreign Ethereum node and bench.node's yardstick; pinned in tools/anvil)"
(cd tools/anvil && npm ci --silent --no-audit --no-fund)
if ! { command -v chromium >/dev/null && command -v chromedriver >/dev/null; }; then
  # the dashboard's browser test drives Debian's chromium through chromedriver (selenium)
  if command -v apt-get >/dev/null; then
    echo "==> installing chromium and chromium-driver (apt)"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "colend setup: chromium and chromedriver are missing and apt-get is not available; the browser test will fail" >&2
  fi
fi
echo "==> compiling contracts"
.venv/bin/colend contracts build
