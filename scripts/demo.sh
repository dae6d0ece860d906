#!/usr/bin/env bash
# Sets up a fresh machine (scripts/setup.sh) and runs the main job: the Colend walk-through.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/colend demo "$@"
