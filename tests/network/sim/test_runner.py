import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

import network.qbft.core as qbft_core
from network.sim.main import main, replay
from network.sim.network import LinkConditions
from network.sim.runner import Simulation, run_seed, summarize
from network.sim.scenario import Crash, Kind, Partition, Role, Scenario

SIZES = [4, 7]
HEIGHTS = 3
MANY_SEEDS = 300
REPO_ROOT = Path(__file__).resolve().parents[3]
CALM = LinkConditions(1, 30, 0.0, 0.0, 0.0, 0)


def scenario(n: int, heal_ms: int, crashes: list[Crash], roles: list[Role] | None = None, **extra) -> Scenario:
    return Scenario(
        seed=1, n=n, kind=Kind.MIXED, heal_ms=heal_ms, chaos=CALM, healed=CALM,
        roles=roles or [Role.HONEST] * n, crashes=crashes, **extra,
    )


def simulate(s: Scenario, heights: int) -> Simulation:
    sim = Simulation(s, random.Random(s.seed), heights)
    sim.run()
    return sim


def test_hundreds_of_seeds_with_mixed_faults_stay_safe_and_live() -> None:
    results = [run_seed(seed, SIZES, HEIGHTS) for seed in range(MANY_SEEDS)]
    summary = summarize(results, SIZES, HEIGHTS, 0)
    assert summary["safety_violations"] == 0, summary["failing_seeds"]
    assert summary["liveness_failures"] == 0, summary["failing_seeds"]
    assert summary["seeds"] == MANY_SEEDS
    assert set(summary["scenarios"]) == {"clean", "mixed", "overload"}
    assert summary["faulty_validators"] > MANY_SEEDS // 3  # faults were really injected
    assert {r.n for r in results} == set(SIZES)
    assert all(r.max_height >= HEIGHTS for r in results)


def test_the_checker_catches_a_broken_quorum(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qbft_core, "quorum_size", lambda n: n // 3 + 1)
    results = [run_seed(seed, SIZES, HEIGHTS) for seed in range(10)]
    assert sum(len(r.safety_violations) for r in results) > 0


def test_a_seed_replays_exactly(capsys: pytest.CaptureFixture[str]) -> None:
    assert json.dumps(replay(17, SIZES, HEIGHTS)) == json.dumps(replay(17, SIZES, HEIGHTS))
    outputs = []
    for _ in range(2):
        assert main(["--seeds", "6", "--start", "40"]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]
    summary = json.loads(outputs[0])
    for key in ("seeds", "safety_violations", "liveness_failures", "max_height", "max_round", "messages"):
        assert key in summary
    assert summary["seeds"] == 6 and summary["messages"] > 0


def test_worker_processes_do_not_change_the_result(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--seeds", "8", "--start", "3", "--jobs", "1"])
    one = capsys.readouterr().out
    main(["--seeds", "8", "--start", "3", "--jobs", "2"])
    assert capsys.readouterr().out == one


def test_a_validator_restarted_with_an_empty_data_dir_catches_up_from_peers() -> None:
    sim = simulate(scenario(4, 3_000, [Crash(2, 1_500, 3_000, keep_data=False)]), heights=30)
    assert not sim.result.safety_violations and not sim.result.liveness_failure
    rejoined = sim.nodes[2]
    assert len(rejoined.chain) - 1 >= 30
    assert [b.block_hash for b in rejoined.chain] == [sim.final[h] for h in range(len(rejoined.chain))]
    assert sim.result.sync_messages > 0


def test_one_validator_down_for_good_keeps_the_chain_going() -> None:
    sim = simulate(scenario(4, 1_000, [Crash(3, 100, None, keep_data=False)]), heights=10)
    assert not sim.result.safety_violations and not sim.result.liveness_failure
    assert min(len(sim.nodes[i].chain) - 1 for i in range(3)) >= 10


def test_more_than_f_down_halts_safely_and_resumes_when_they_return() -> None:
    crashes = [Crash(1, 500, 6_000, keep_data=True), Crash(2, 500, 6_000, keep_data=True)]
    sim = simulate(scenario(4, 6_000, crashes), heights=5)
    assert not sim.result.safety_violations and not sim.result.liveness_failure
    finals = sim.result.first_final_ms
    assert not [h for h, t in finals.items() if 1_000 <= t < 6_000], "a block was final without a quorum"
    assert max(finals.values()) >= 6_000 and sim.result.max_height >= 5


def test_byzantine_validators_within_f_cannot_break_safety() -> None:
    roles = [Role.EQUIVOCATE, Role.DOUBLE_VOTE] + [Role.HONEST] * 5
    partitions = [Partition(200, 2_500, [[0, 2, 3], [1, 4, 5, 6]])]
    sim = simulate(scenario(7, 3_000, [], roles, partitions=partitions), heights=12)
    assert not sim.result.safety_violations and not sim.result.liveness_failure
    dropped = sum(n.core.dropped["duplicate"] for n in sim.nodes if n.core is not None)
    assert dropped > 0  # the second votes reached someone and were refused


def test_output_does_not_depend_on_the_hash_seed() -> None:
    outputs = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        command = [sys.executable, "-m", "network.sim", "--seeds", "4", "--start", "11"]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=True, cwd=REPO_ROOT)
        outputs.add(done.stdout)
    assert len(outputs) == 1


def test_forged_garbage_and_invalid_blocks_are_refused_without_harm() -> None:
    roles = [Role.FORGE, Role.INVALID_BLOCK] + [Role.HONEST] * 5
    sim = simulate(scenario(7, 1_000, [], roles), heights=10)
    assert not sim.result.safety_violations and not sim.result.liveness_failure
    honest = [n.core for n in sim.nodes[2:] if n.core is not None]
    for reason in ("malformed", "not_validator", "bad_commit_seal", "invalid_block"):
        assert sum(core.dropped[reason] for core in honest) > 0, reason
    assert all(not b.block.payload.startswith(b"invalid") for n in sim.nodes[2:] for b in n.chain)
