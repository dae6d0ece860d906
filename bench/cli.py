"""CLI start-up: wall time of `colend --help` and of `colend node status` against a running node, each a fresh
interpreter as a user would start it. Prints one JSON object (median and best of --runs; target < 0.3 s).

Run: python -m bench.cli [--runs 7] [--tiny]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.support.discover import ROOT
from colend.launcher import NodeLauncher
from colend.ports import free_loopback_port


def timed_run(args: list[str]) -> float:
    began = time.perf_counter()
    subprocess.run([sys.executable, "-m", "colend", *args], cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - began


def summary(times: list[float]) -> dict[str, float]:
    return {"median_s": round(statistics.median(times), 3), "best_s": round(min(times), 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cli", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--tiny", action="store_true", help="one run of each")
    args = parser.parse_args(argv)
    runs = 1 if args.tiny else args.runs
    help_times = [timed_run(["--help"]) for _ in range(runs)]
    with tempfile.TemporaryDirectory(prefix="colend-bench-cli-") as tmp:
        root = Path(tmp) / "node"
        subprocess.run([sys.executable, "-m", "colend", "init", "--dir", str(root), "--rpc-port", str(free_loopback_port())],
                       cwd=ROOT, check=True, capture_output=True)
        node = NodeLauncher(root / "node.toml", root / "node.log")
        node.start()
        try:
            status_times = [timed_run(["node", "status", "--config", str(root / "node.toml")]) for _ in range(runs)]
        finally:
            node.stop()
    print(json.dumps({"help": summary(help_times), "node_status": summary(status_times),
                      "inputs": {"runs": runs, "python": sys.executable}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
