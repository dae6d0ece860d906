import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

import network.qbft.core as qbft_core
from network.hashing import keccak256
from network.sim.fake_chain import VALID_TAG, FakeChain, decode_payload
from network.sim.main import main, replay
from network.sim.network import LinkConditions
from network.sim.runner import run_seed, summarize
from network.sim.scenario import Crash, Governance, Kind, Partition, Role, Scenario
from network.sim.world import SimWorld, validator_signer

SIZES = [4, 7]
HEIGHTS = 3
MANY_SEEDS = 300
REPO_ROOT = Path(__file__).resolve().parents[3]
CALM = LinkConditions(1, 30, 0.0, 0.0, 0.0, 0)


def scenario(n: int, heal_ms: int, crashes: list[Crash], roles: list[Role] | None = None, **extra) -> Scenario:
    return Scenario(
        seed=1, n=n, kind=Kind.MIXED, heal_ms=heal_ms, chaos=CALM, healed=CALM,
        roles=roles or [Role.HONEST] * extra.get("nodes", n), crashes=crashes, **extra,
    )


def simulate(s: Scenario, heights: int) -> SimWorld:
    world = SimWorld(s, random.Random(s.seed), heights)
    world.run()
    return world


def chain_hashes(world: SimWorld, index: int) -> list[bytes]:
    return [e.block_hash for e in world.nodes[index].chain.entries]


def test_hundreds_of_seeds_with_every_fault_kind_stay_safe_live_and_in_agreement() -> None:
    results = [run_seed(seed, SIZES, HEIGHTS) for seed in range(MANY_SEEDS)]
    summary = summarize(results, SIZES, HEIGHTS, 0)
    assert summary["safety_violations"] == 0, summary["failing_seeds"]
    assert summary["liveness_failures"] == 0, summary["failing_seeds"]
    assert summary["seeds"] == MANY_SEEDS
    assert set(summary["scenarios"]) == {str(k) for k in Kind}
    assert {"crash_wiped", "forge_sync", "lie_height", "validator_added", "validator_removed"} <= set(
        summary["runs_per_fault"])
    assert summary["faulty_validators"] > MANY_SEEDS // 3  # faults were really injected
    assert summary["wiped_data_recoveries"] > 0 and summary["validator_set_changes"] > 0
    assert all(r.set_changes == 2 for r in results if r.kind == Kind.SET_CHANGE)  # added and removed, every run
    assert all(r.wiped_recoveries for r in results if r.kind == Kind.WIPED)
    assert summary["sync_blocks_imported"] > 0 and summary["sync_peers_penalised"] > 0
    assert {r.n for r in results} == set(SIZES)
    assert all(r.max_height >= HEIGHTS for r in results)


def test_the_checker_catches_a_broken_quorum(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(qbft_core, "quorum_size", lambda n: n // 3 + 1)
    results = [run_seed(seed, SIZES, HEIGHTS) for seed in range(10)]
    assert sum(len(r.safety_violations) for r in results) > 0


def test_the_checker_catches_a_chain_that_applies_one_block_differently(monkeypatch: pytest.MonkeyPatch) -> None:
    honest_transition = FakeChain.state_after

    def diverging(self: FakeChain, height: int, previous: bytes, payload: bytes) -> bytes:
        state = honest_transition(self, height, previous, payload)
        return keccak256(b"bug" + state) if self.author == 1 and height == 2 else state

    monkeypatch.setattr(FakeChain, "state_after", diverging)
    world = simulate(scenario(4, 500, []), heights=4)
    found = [v for v in world.result.safety_violations if v["what"] == "state_divergence"]
    assert found and min(v["height"] for v in found) == 2  # caught at the block applied differently
    assert chain_hashes(world, 0)[:5] == chain_hashes(world, 1)[:5]  # same blocks: only the state differs


def test_a_seed_replays_exactly(capsys: pytest.CaptureFixture[str]) -> None:
    assert json.dumps(replay(17, SIZES, HEIGHTS)) == json.dumps(replay(17, SIZES, HEIGHTS))
    outputs = []
    for _ in range(2):
        assert main(["--seeds", "6", "--start", "40"]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]
    summary = json.loads(outputs[0])
    for key in ("seeds", "safety_violations", "liveness_failures", "max_height", "max_round", "messages",
                "runs_per_fault", "wiped_data_recoveries", "validator_set_changes"):
        assert key in summary
    assert summary["seeds"] == 6 and summary["messages"] > 0


def test_worker_processes_do_not_change_the_result(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--seeds", "8", "--start", "3", "--jobs", "1"])
    one = capsys.readouterr().out
    main(["--seeds", "8", "--start", "3", "--jobs", "2"])
    assert capsys.readouterr().out == one


def test_a_validator_restarted_with_an_empty_data_dir_catches_up_only_through_sync() -> None:
    world = simulate(scenario(4, 3_000, [Crash(2, 1_500, 3_000, keep_data=False)]), heights=30)
    assert not world.result.safety_violations and not world.result.liveness_failure
    rejoined = world.nodes[2]
    assert rejoined.wiped and rejoined.height >= 30 and world.result.wiped_recoveries == 1
    assert chain_hashes(world, 2) == [world.final[h][0] if h else chain_hashes(world, 0)[0]
                                      for h in range(rejoined.height + 1)]
    assert rejoined.driver is not None and rejoined.driver.sync.stats["imported"] > 0


def test_byzantine_sync_peers_are_dropped_and_the_lagging_node_still_catches_up() -> None:
    by_address = sorted(range(6), key=lambda i: validator_signer(i).address)
    roles = [Role.HONEST] * 7
    roles[by_address[0]] = Role.FORGE_SYNC  # sync asks peers in address order first: the forger is asked first
    roles[by_address[1]] = Role.LIE_HEIGHT  # always "ahead": asked once the node has caught up
    world = simulate(scenario(7, 8_500, [Crash(6, 100, 8_000, keep_data=True)], roles), heights=20)
    assert not world.result.safety_violations and not world.result.liveness_failure
    lagging = world.nodes[6].driver
    assert lagging is not None and lagging.sync.stats["imported"] > 0
    assert lagging.sync.stats["network.sync_false_height"] >= 1
    forged = sum(lagging.sync.stats[r] for r in ("network.sync_bad_seals", "network.sync_wrong_parent",
                                                 "network.sync_malformed_block"))
    assert forged >= 1
    honest = next(i for i in range(6) if roles[i] is Role.HONEST)
    assert chain_hashes(world, 6)[:21] == chain_hashes(world, honest)[:21]


def test_a_validator_voted_in_and_another_voted_out_mid_run() -> None:
    governance = [Governance(300, True, 4), Governance(1_500, False, 0)]
    world = simulate(scenario(4, 2_000, [], nodes=5, governance=governance), heights=15)
    assert not world.result.safety_violations and not world.result.liveness_failure
    assert world.result.set_changes == 2
    chain = world.nodes[1].chain
    final_set = chain.validators_at(chain.head().height + 1)
    joiner, removed = world.nodes[4].signer.address, world.nodes[0].signer.address
    assert joiner in final_set and removed not in final_set and len(final_set) == 4
    assert world.nodes[4].height >= 15 and chain_hashes(world, 4)[:16] == chain_hashes(world, 1)[:16]
    added_at = next(h for h in range(1, chain.head().height + 1) if joiner in chain.validators_at(h))
    block = chain.entries[added_at].sealed  # the first block the joiner helps to seal
    from network.qbft.seals import seal_signer

    assert len(block.seals) >= 4 or joiner in {seal_signer(chain.entries[added_at].block_hash, s) for s in block.seals}


def test_only_voting_nodes_write_a_resume_state() -> None:
    """A follower never votes, so it has no vote to remember across a crash: no write per block."""
    world = simulate(scenario(4, 0, [], nodes=5), heights=5)
    assert world.nodes[4].height >= 5 and world.nodes[4].resume.state is None
    assert all(world.nodes[i].resume.state is not None and world.nodes[i].resume.state.height >= 5 for i in range(4))


def test_a_follower_executes_each_block_once_at_commit_and_never_a_proposal(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """It has no vote to give, so nothing to check before the quorum decides; the validators' window stays theirs."""
    validated: set[int] = set()  # ids of the chains that validated a proposal
    original = FakeChain.validate_proposal

    def spy(self: FakeChain, block: object, block_hash: bytes) -> bool:
        validated.add(id(self))
        return original(self, block, block_hash)

    monkeypatch.setattr(FakeChain, "validate_proposal", spy)
    world = simulate(scenario(4, 0, [], nodes=5), heights=5)
    assert world.nodes[4].height >= 5 and chain_hashes(world, 4)[:6] == chain_hashes(world, 0)[:6]
    assert id(world.nodes[4].chain) not in validated
    assert all(id(world.nodes[i].chain) in validated for i in range(4))


def test_one_validator_down_for_good_keeps_the_chain_going() -> None:
    world = simulate(scenario(4, 1_000, [Crash(3, 100, None, keep_data=False)]), heights=10)
    assert not world.result.safety_violations and not world.result.liveness_failure
    assert min(world.nodes[i].height for i in range(3)) >= 10


def test_more_than_f_down_halts_safely_and_resumes_when_they_return() -> None:
    crashes = [Crash(1, 500, 6_000, keep_data=True), Crash(2, 500, 6_000, keep_data=True)]
    world = simulate(scenario(4, 6_000, crashes), heights=5)
    assert not world.result.safety_violations and not world.result.liveness_failure
    finals = world.result.first_final_ms
    assert not [h for h, t in finals.items() if 1_000 <= t < 6_000], "a block was final without a quorum"
    assert max(finals.values()) >= 6_000 and world.result.max_height >= 5


def test_byzantine_validators_within_f_cannot_break_safety() -> None:
    roles = [Role.EQUIVOCATE, Role.DOUBLE_VOTE] + [Role.HONEST] * 5
    partitions = [Partition(200, 2_500, [[0, 2, 3], [1, 4, 5, 6]])]
    world = simulate(scenario(7, 3_000, [], roles, partitions=partitions), heights=12)
    assert not world.result.safety_violations and not world.result.liveness_failure
    cores = [n.driver.core for n in world.nodes if n.driver is not None and n.driver.core is not None]
    assert sum(core.dropped["duplicate"] for core in cores) > 0  # the second votes reached someone and were refused


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
    world = simulate(scenario(7, 1_000, [], roles), heights=10)
    assert not world.result.safety_violations and not world.result.liveness_failure
    honest = [n.driver.core for n in world.nodes[2:] if n.driver is not None and n.driver.core is not None]
    for reason in ("malformed", "not_validator", "bad_commit_seal", "invalid_block"):
        assert sum(core.dropped[reason] for core in honest) > 0, reason
    assert all(decode_payload(e.sealed.block.payload).tag.startswith(VALID_TAG) for n in world.nodes[2:]
               for e in n.chain.entries[1:])
