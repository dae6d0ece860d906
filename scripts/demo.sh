#!/usr/bin/env bash
# Sets up a fresh machine for the demo (scripts/setup.sh --demo: no test tools) and runs the main job, the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --demo
exec .venv/bin/colend demo "$@"
