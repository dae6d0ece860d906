"""`colend consortium up`: every node as a process; Ctrl-C stops them all cleanly, a node that dies stops the rest."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.node_process import ROOT

pytestmark = pytest.mark.e2e
UP_TIMEOUT_S = 120


def start_up(root: Path) -> tuple[subprocess.Popen[str], list[str]]:
    proc = subprocess.Popen([sys.executable, "-m", "colend", "consortium", "up", str(root)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("consortium up:"):
            return proc, lines
    raise AssertionError("consortium up exited early:\n" + "".join(lines))


def children(pid: int) -> list[int]:
    """Child processes of every thread of `pid` (nodes may be started from worker threads side by side)."""
    return sorted(int(c) for task in Path(f"/proc/{pid}/task").iterdir()
                  for c in (task / "children").read_text().split())


def test_up_stops_every_node_on_ctrl_c_and_exits_non_zero_when_a_node_dies(tmp_path: Path) -> None:
    root = tmp_path / "c"
    subprocess.run([sys.executable, "-m", "colend", "consortium", "init", "--banks", "WEBANK,MYBANK", "--out", str(root),
                    "--base-port", "0"], cwd=ROOT, check=True, capture_output=True)
    proc, lines = start_up(root)
    nodes = children(proc.pid)
    assert len(nodes) == 2 and sum(line.startswith("started ") for line in lines) == 2
    assert (root / "logs" / "webank-0.log").exists() and (root / "logs" / "mybank-0.log").exists()
    os.kill(nodes[0], signal.SIGKILL)  # one node dies on its own
    out, _ = proc.communicate(timeout=UP_TIMEOUT_S)
    assert proc.returncode == 1 and "exited with code -9" in out and "stopped the others" in out
    assert not any(Path(f"/proc/{pid}").exists() for pid in nodes)

    proc, _ = start_up(root)
    nodes = children(proc.pid)
    proc.send_signal(signal.SIGINT)  # Ctrl-C
    out, _ = proc.communicate(timeout=UP_TIMEOUT_S)
    assert proc.returncode == 0
    assert "webank-0 exit 0" in out and "mybank-0 exit 0" in out
    assert not any(Path(f"/proc/{pid}").exists() for pid in nodes)
