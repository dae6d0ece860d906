"""Every benchmark runs as the README says (`python -m bench.<name>`), in its seconds-long tiny mode, and prints
one JSON object: a benchmark that cannot start on a fresh clone fails here, not in front of a reader."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench.support.discover import ROOT, benchmark_names

pytestmark = pytest.mark.e2e  # each run is a fresh interpreter; bench.node starts a node process


def test_benchmarks_are_discovered() -> None:
    assert {"cli", "contracts", "consensus", "groups", "network", "node", "recon"} <= set(benchmark_names())


@pytest.mark.parametrize("name", benchmark_names())
def test_benchmark_runs_in_tiny_mode(name: str) -> None:
    done = subprocess.run([sys.executable, "-m", f"bench.{name}", "--tiny"], cwd=ROOT, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, done.stdout[-2000:]
    assert isinstance(json.loads(lines[0]), dict)


def test_the_runner_writes_one_file_with_the_machine_and_each_result(tmp_path) -> None:
    out = tmp_path / "all.json"
    done = subprocess.run([sys.executable, "-m", "bench", "--tiny", "--only", "contracts,consensus", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == str(out)
    report = json.loads(out.read_text())
    assert report["machine"]["cores"] >= 1 and report["machine"]["cpu_model"]
    assert set(report["benchmarks"]) == {"contracts", "consensus"}
    assert report["benchmarks"]["contracts"]["result"]["calls_per_s"] > 0
