"""Command line of the simulator: run many seeds (optionally on several processes), print one JSON object."""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict

from network.sim.runner import SeedResult, run_seed, summarize
from network.sim.scenario import draw_scenario

DESCRIPTION = (
    "Seeded QBFT fault simulator: n validators on a virtual network with delays, losses, partitions, "
    "crashes, wiped data directories, Byzantine validators and sync peers, and validator-set changes; checks "
    "safety, agreement of heads and states, and liveness, and prints one JSON object."
)
DEFAULT_SIZES = "4,7"
DEFAULT_HEIGHTS = 3
PROGRESS_EVERY = 500
CHUNK_SIZE = 8


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seeds", type=int, default=100, help="how many seeds to run")
    parser.add_argument("--start", type=int, default=0, help="first seed")
    parser.add_argument(
        "--seed", type=int, default=None, help="replay exactly this seed (same --n and --heights), with details"
    )
    parser.add_argument("--n", default=DEFAULT_SIZES, help="validator counts to draw from, e.g. 4,7")
    parser.add_argument("--heights", type=int, default=DEFAULT_HEIGHTS, help="heights each run must reach")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes (the output does not change)")
    parser.add_argument("--progress-every", type=int, default=PROGRESS_EVERY, help="seeds between stderr lines")


def parse_sizes(text: str) -> list[int]:
    sizes = [int(part) for part in text.split(",") if part.strip()]
    if not sizes or any(n < 1 for n in sizes):
        raise argparse.ArgumentTypeError(f"bad validator counts: {text!r}")
    return sizes


def run(args: argparse.Namespace) -> int:
    quiet = logging.getLogger("colend")
    previous = quiet.level
    quiet.setLevel(logging.CRITICAL)  # thousands of runs: the JSON is the report, not their penalty lines
    try:
        return _run(args)
    finally:
        quiet.setLevel(previous)


def _run(args: argparse.Namespace) -> int:
    sizes = parse_sizes(args.n)
    if args.seed is not None:
        report = replay(args.seed, sizes, args.heights)
        print(json.dumps(report, sort_keys=True))
        return 0 if not report["safety_violations"] and not report["liveness_failures"] else 1
    assert args.seeds >= 1 and args.heights >= 1 and args.jobs >= 1
    seeds = range(args.start, args.start + args.seeds)
    results: list[SeedResult] = []
    began = time.monotonic()
    for result in _results(seeds, sizes, args.heights, args.jobs):
        results.append(result)
        if args.progress_every and len(results) % args.progress_every == 0:
            _progress(results, args.seeds, began)
    summary = summarize(results, sizes, args.heights, args.start)
    print(json.dumps(summary, sort_keys=True))
    print(json.dumps({"wall_s": round(time.monotonic() - began, 2)}), file=sys.stderr)
    return 0 if not summary["safety_violations"] and not summary["liveness_failures"] else 1


def replay(seed: int, sizes: list[int], heights: int) -> dict[str, object]:
    """One seed with its scenario and findings spelled out: what to read when a seed fails."""
    import random

    result = run_seed(seed, sizes, heights)
    report = summarize([result], sizes, heights, seed)
    detail = asdict(result)
    detail["first_final_ms"] = {str(h): t for h, t in sorted(result.first_final_ms.items())}
    report["run"] = detail
    report["scenario"] = draw_scenario(random.Random(seed), seed, sizes).describe()
    return report


def _results(seeds: range, sizes: list[int], heights: int, jobs: int) -> Iterator[SeedResult]:
    if jobs == 1:
        for seed in seeds:
            yield run_seed(seed, sizes, heights)
        return
    with multiprocessing.get_context("fork").Pool(jobs) as pool:
        yield from pool.imap(_run_one, [(seed, sizes, heights) for seed in seeds], chunksize=CHUNK_SIZE)


def _run_one(job: tuple[int, list[int], int]) -> SeedResult:
    return run_seed(*job)


def _progress(results: list[SeedResult], total: int, began: float) -> None:
    line = {
        "done": len(results),
        "of": total,
        "safety_violations": sum(len(r.safety_violations) for r in results),
        "liveness_failures": sum(1 for r in results if r.liveness_failure),
        "elapsed_s": round(time.monotonic() - began, 1),
    }
    print(json.dumps(line), file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m network.sim", description=DESCRIPTION)
    add_arguments(parser)
    return run(parser.parse_args(argv))
