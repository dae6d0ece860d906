"""Which modules of bench/ are benchmarks: every top-level module but the runner; found by file, not import,
so a new benchmark is run (and smoke-tested) as soon as it exists."""

from __future__ import annotations

import pkgutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BENCH_DIR = ROOT / "bench"


def benchmark_names() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules([str(BENCH_DIR)])
                  if not m.ispkg and not m.name.startswith("_"))
