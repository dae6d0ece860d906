"""Many seeds summed up: the one JSON object `python -m network.sim` prints."""

from __future__ import annotations

from collections import Counter

from network.qbft.quorum import max_faulty
from network.sim.scenario import Kind
from network.sim.world import SeedResult, run_seed

__all__ = ["SeedResult", "run_seed", "summarize"]


def summarize(results: list[SeedResult], sizes: list[int], heights: int, start: int) -> dict[str, object]:
    failing = [r.seed for r in results if r.safety_violations or r.liveness_failure]
    kinds = Counter(r.kind for r in results)
    faults: Counter[str] = Counter()
    runs_with_fault: Counter[str] = Counter()
    for r in results:
        faults.update(r.faults)
        runs_with_fault.update(set(r.faults))
    return {
        "seeds": len(results),
        "start": start,
        "n": sizes,
        "heights": heights,
        "safety_violations": sum(len(r.safety_violations) for r in results),
        "liveness_failures": sum(1 for r in results if r.liveness_failure),
        "failing_seeds": failing[:100],
        "max_height": max((r.max_height for r in results), default=0),
        "max_round": max((r.max_round for r in results), default=0),
        "messages": sum(r.messages for r in results),
        "sync_messages": sum(r.sync_messages for r in results),
        "sync_blocks_imported": sum(r.sync_imported for r in results),
        "sync_peers_penalised": sum(r.sync_penalties for r in results),
        "virtual_ms": sum(r.virtual_ms for r in results),
        "scenarios": dict(sorted(kinds.items())),
        "runs_per_fault": dict(sorted(runs_with_fault.items())),
        "faults_injected": dict(sorted(faults.items())),
        "wiped_data_recoveries": sum(r.wiped_recoveries for r in results),
        "runs_with_wiped_recovery": sum(1 for r in results if r.wiped_recoveries),
        "validator_set_changes": sum(r.set_changes for r in results),
        "runs_with_set_change": sum(1 for r in results if r.set_changes),
        "faulty_validators": sum(r.faulty for r in results),
        "max_faulty_of_n": {str(n): max_faulty(n) for n in sizes},
        "overload_runs": kinds.get(str(Kind.OVERLOAD), 0),
    }
