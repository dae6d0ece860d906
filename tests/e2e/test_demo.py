"""The README's first command: `colend demo` runs four banks and a regulator through a day, to a settled cycle
and every bank reconciled; `--check` (what CI runs) exits 0 only when every check passed."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from colend.day import BANKS

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
NARROW = 40


def test_demo_check_passes_and_reads_well_in_a_narrow_pipe(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "colend", "demo", "--check", "--dir", str(tmp_path), "--loans", "12"],
        capture_output=True, text=True, timeout=300, cwd=REPO, env={**os.environ, "COLUMNS": str(NARROW)},
    )  # fmt: skip
    out = done.stdout
    assert done.returncode == 0, out[-4000:] + done.stderr[-3000:]
    assert "demo passed every check" in out and "FAIL" not in out
    assert "stopped: node (exit 0)" in out
    assert "…" not in out, "a cell was truncated"
    assert max(len(line) for line in out.splitlines()) <= NARROW
    assert "\x1b[" not in out, "no terminal escapes when piped"
    for bank in BANKS:
        statement = json.loads((tmp_path / "report" / bank.lower() / "statement.json").read_text())["statement"]
        assert statement["overall"]["residual"] == 0
        assert sum(b["count"] for b in statement["overall"]["breaks"].values()) == 3, bank
    assert "还款分摊".encode("gb18030") in (tmp_path / "books" / "hrbank_books.csv").read_bytes()


def test_demo_stays_up_until_ctrl_c_then_stops_every_process(tmp_path: Path) -> None:
    demo = subprocess.Popen(
        [sys.executable, "-m", "colend", "demo", "--dir", str(tmp_path), "--loans", "4"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=REPO,
        env={**os.environ, "COLUMNS": "120", "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert demo.stdout is not None
    seen = []
    try:
        for line in demo.stdout:
            seen.append(line)
            if "Ctrl-C stops everything" in line:
                break
        assert any("Ctrl-C stops everything" in line for line in seen), "".join(seen)[-4000:]
        node_pids = [int(pid) for pid in re.findall(r"running at \S+ \(pid (\d+)", "".join(seen))]
        assert node_pids
        assert demo.poll() is None, "still up, for exploring"
        demo.send_signal(signal.SIGINT)
        rest, _ = demo.communicate(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
    assert demo.returncode == 0, "".join(seen)[-3000:] + rest[-3000:]
    assert "stopped: node (exit 0)" in rest
    for pid in node_pids:
        assert not Path(f"/proc/{pid}").exists(), f"node {pid} still running"
