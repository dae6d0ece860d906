"""The README's first command: `colend demo` runs four banks and a regulator through a day, to a settled cycle
and every bank reconciled; `--check` (what CI runs) exits 0 only when every check passed."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from colend.demo.day import BANKS

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
    words = " ".join(out.split())
    assert "demo passed every check" in words and "FAIL" not in words
    assert "5 node(s) and 5 clearing services up" in words, "4 validators and the regulator's observer"
    assert re.findall(r"\(exit (-?\d+)\)", words) == ["0"] * 10, "five services and five nodes stopped cleanly"
    assert "check: nodes agree result: pass detail: 5 node(s) at height" in words, "all five on one block and state"
    assert "…" not in out, "a cell was truncated"
    api_key = re.compile(r"^  (CLEARING_OFFICER|VIEWER|REGULATOR) \S+$")  # printed whole so that it copies whole
    assert max(len(line) for line in out.splitlines() if not api_key.match(line)) <= NARROW
    assert "\x1b[" not in out, "no terminal escapes when piped"
    for bank in BANKS:
        log = (tmp_path / "services" / bank.lower() / "service.log").read_text()
        assert re.search(r"event=run_finished .*verdict=BREAKS", log), f"{bank}'s own service ran its reconciliation"
    assert "还款分摊".encode("gb18030") in (tmp_path / "books" / "hrbank_books.csv").read_bytes()


def test_demo_stays_up_until_ctrl_c_then_stops_every_process(tmp_path: Path) -> None:
    demo = subprocess.Popen(
        [sys.executable, "-m", "colend", "demo", "--dir", str(tmp_path), "--loans", "4", "--network", "single"],
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
        words = " ".join("".join(seen).split())
        pids = [int(pid) for pid in re.findall(r"running at \S+ \(pid (\d+)", words)]
        assert len(pids) == 6, "a node and five clearing services"
        dashboard = re.search(r"(http://127\.0\.0\.1:\d+)/dashboard/", words)
        key = re.search(r"CLEARING_OFFICER (webank-officer-a\.[A-Za-z0-9_-]+)", words)
        assert dashboard and key, words[-3000:]
        request = urllib.request.Request(f"{dashboard[1]}/v1/cycles/1", headers={"X-API-Key": key[1]})
        with urllib.request.urlopen(request, timeout=30) as response:
            assert json.loads(response.read())["cycle"]["status"] == "SETTLED", "the printed key opens WEBANK's service"
        assert demo.poll() is None, "still up, for exploring"
        demo.send_signal(signal.SIGINT)
        rest, _ = demo.communicate(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
    assert demo.returncode == 0, "".join(seen)[-3000:] + rest[-3000:]
    assert re.findall(r"\(exit (-?\d+)\)", " ".join(rest.split())) == ["0"] * 6
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists(), f"process {pid} still running"
