"""Runs every benchmark (`python -m bench.<name>` in its own process) and writes one JSON file: the machine,
then each benchmark's JSON object. Usage: python -m bench [--tiny] [--only node,recon] [--out FILE]"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

from bench.support.discover import ROOT, benchmark_names
from bench.support.machine import describe, load_average, wait_until_quiet

DEFAULT_OUT = ROOT / "bench" / "results" / "latest.json"


def run_one(name: str, tiny: bool) -> dict[str, object]:
    """One benchmark in a fresh interpreter, so one's imports and threads never skew another's figures, once
    the machine is quiet again (a full run only: the previous benchmark's processes may still be stopping)."""
    command = [sys.executable, "-m", f"bench.{name}", *(["--tiny"] if tiny else [])]
    idle_before = None if tiny else wait_until_quiet()
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    entry: dict[str, object] = {"seconds": round(time.perf_counter() - started, 1), "exit_code": done.returncode,
                                "idle_fraction_before": idle_before, "load_average_after": load_average()}
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    try:
        entry["result"] = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        entry["stderr_tail"] = done.stderr.strip().splitlines()[-20:]
    if done.returncode != 0:
        entry["stderr_tail"] = done.stderr.strip().splitlines()[-20:]
    return entry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="each benchmark in its seconds-long smoke mode")
    parser.add_argument("--only", default="", help="comma-separated benchmark names (default: all)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"JSON file to write (default {DEFAULT_OUT})")
    args = parser.parse_args(argv)
    names = benchmark_names()
    if args.only:
        wanted = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            print(f"error: unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(names)}", file=sys.stderr)
            return 2
        names = wanted
    report: dict[str, object] = {
        "started_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "tiny": args.tiny, "machine": describe(), "benchmarks": {},
    }
    failed = []
    for name in names:
        print(f"bench {name} ...", file=sys.stderr, flush=True)
        entry = run_one(name, args.tiny)
        report["benchmarks"][name] = entry  # type: ignore[index]
        if entry["exit_code"] != 0:
            failed.append(name)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(args.out)
    if failed:
        print(f"error: failed: {', '.join(failed)} (see stderr_tail in {args.out})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
