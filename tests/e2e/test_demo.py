"""The README's main job: `colend demo` runs a local consortium to a settled cycle and a reconciliation."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


def test_demo_settles_and_reconciles(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "colend", "demo", "--dir", str(tmp_path), "--loans", "6"],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "cycle 1 is SETTLED" in done.stdout
    assert "ObserverCannotWrite" in done.stdout
    statement = json.loads((tmp_path / "report" / "statement.json").read_text())["statement"]
    assert statement["overall"]["residual"] == 0
    assert {k for k, b in statement["overall"]["breaks"].items() if b["count"]} == {
        "AMOUNT_MISMATCH", "MISSING_IN_BOOKS", "DATE_MISMATCH",
    }  # fmt: skip
    assert (tmp_path / "report" / "breaks.png").stat().st_size > 1_000
    assert (tmp_path / "report" / "report.html").exists()
