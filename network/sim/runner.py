"""One seeded run: n validators with real QbftCores on a virtual network, checked for safety and liveness.

Safety: no two honest validators finalize different blocks at one height, and every block they finalize
carries a quorum of valid commit seals. Liveness: once the network is healed and at most f validators
are faulty, every running honest validator reaches the target height before the deadline.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from network.qbft.actions import (
    Action,
    Broadcast,
    BuildBlock,
    Commit,
    Persist,
    ResumeState,
    SetTimer,
    ValidateProposal,
)
from network.qbft.block import Block, RlpBlockCodec
from network.qbft.config import QbftConfig
from network.qbft.core import QbftCore
from network.qbft.crypto import PrivateKeySigner, keccak256
from network.qbft.quorum import max_faulty
from network.qbft.seals import verify_commit_seals
from network.sim.byzantine import invalid_block, outgoing
from network.sim.events import EventQueue
from network.sim.network import VirtualNetwork
from network.sim.scenario import Crash, Kind, Partition, Role, Scenario, draw_scenario

GENESIS = Block(0, b"\x00" * 32, b"colend-sim-genesis")
BASE_TIMEOUT_MS = 1_000
SYNC_JITTER_MS = 100
MAX_SYNC_BLOCKS = 16
LIVENESS_BUDGET_MS = 180_000  # after heal; rounds 0..6 of backoff fit in it several times over
MAX_EVENTS = 2_000_000  # a run that needs more is reported as a liveness failure
START_JITTER_MS = 50
BUILD_DELAY_MS = (0, 5)
VALIDATE_DELAY_MS = (1, 10)
VALID_PAYLOAD_PREFIX = b"valid:"


@dataclass(frozen=True)
class StoredBlock:
    block: Block
    block_hash: bytes
    seals: tuple[bytes, ...]


@dataclass
class SimNode:
    index: int
    signer: PrivateKeySigner
    role: Role
    chain: list[StoredBlock]
    resume: ResumeState | None = None
    core: QbftCore | None = None
    up: bool = False
    incarnation: int = 0
    builds: int = 0

    @property
    def head(self) -> StoredBlock:
        return self.chain[-1]


@dataclass
class SeedResult:
    seed: int
    n: int
    kind: str
    faulty: int
    safety_violations: list[dict[str, object]] = field(default_factory=list)
    liveness_failure: bool = False
    max_height: int = 0
    max_round: int = 0
    messages: int = 0
    sync_messages: int = 0
    virtual_ms: int = 0
    first_final_ms: dict[int, int] = field(default_factory=dict)  # height -> when it first became final


def validator_signer(index: int) -> PrivateKeySigner:
    return PrivateKeySigner(keccak256(b"colend-sim-validator" + index.to_bytes(4, "big")))


class Simulation:
    def __init__(
        self, scenario: Scenario, rng: random.Random, heights: int, config: QbftConfig | None = None
    ) -> None:
        assert heights >= 1
        self.scenario = scenario
        self.rng = rng
        self.heights = heights
        self.config = config or QbftConfig(base_timeout_ms=BASE_TIMEOUT_MS)
        self.codec = RlpBlockCodec()
        self.events = EventQueue()
        self.network = VirtualNetwork(self.events, rng, scenario.chaos, self._deliver)
        genesis = StoredBlock(GENESIS, self.codec.hash(GENESIS), ())
        self.nodes = [
            SimNode(i, validator_signer(i), scenario.roles[i], [genesis]) for i in range(scenario.n)
        ]
        self.validators = tuple(sorted(node.signer.address for node in self.nodes))
        self.result = SeedResult(scenario.seed, scenario.n, str(scenario.kind), len(scenario.faulty()))
        self.final: dict[int, bytes] = {0: genesis.block_hash}
        self.target: int | None = None
        self.done = False
        self._active_partition: Partition | None = None
        gone = {c.node for c in scenario.crashes if c.restart_ms is None}
        self.must_progress = [n.index for n in self.nodes if n.role is Role.HONEST and n.index not in gone]

    # -- running -------------------------------------------------------------------------------------

    def run(self) -> SeedResult:
        s = self.scenario
        for node in self.nodes:
            self.events.schedule(self.rng.randint(0, START_JITTER_MS), self._start_node, node, False)
        for crash in s.crashes:
            self.events.schedule(crash.at_ms, self._crash, crash)
        for partition in s.partitions:
            self.events.schedule(partition.start_ms, self._partition, partition)
            self.events.schedule(partition.end_ms, self._unpartition, partition)
        for outage in s.outages:
            self.events.schedule(outage.start_ms, self.network.cut_link, outage.src, outage.dst)
            self.events.schedule(outage.end_ms, self.network.restore_link, outage.src, outage.dst)
        self.events.schedule(s.heal_ms, self._heal)
        deadline = s.heal_ms + LIVENESS_BUDGET_MS
        count = 0
        while not self.done and count < MAX_EVENTS:
            when = self.events.next_time()
            if when is None or when > deadline:
                break
            self.events.run_next()
            count += 1
        self.result.liveness_failure = not self.done
        self.result.virtual_ms = self.events.now_ms
        return self.result

    def _validators_at(self, height: int) -> tuple[bytes, ...]:
        return self.validators

    def _start_node(self, node: SimNode, restarted: bool) -> None:
        node.up = True
        if node.role is Role.SILENT:
            return
        height = len(node.chain)
        resume = node.resume if node.resume is not None and node.resume.height == height else None
        node.core = QbftCore(self.config, node.signer, height, self._validators_at, self.codec, resume)
        self._perform(node, node.core.start())
        self._schedule_sync(node)

    def _crash(self, crash: Crash) -> None:
        node = self.nodes[crash.node]
        node.up, node.core = False, None
        node.incarnation += 1
        if not crash.keep_data:
            node.chain, node.resume = node.chain[:1], None
        if crash.restart_ms is not None:
            self.events.schedule(crash.restart_ms - crash.at_ms, self._start_node, node, True)

    def _partition(self, partition: Partition) -> None:
        self._active_partition = partition
        self.network.partition(partition.groups)

    def _unpartition(self, partition: Partition) -> None:
        if self._active_partition is partition:
            self._active_partition = None
            self.network.unpartition()

    def _heal(self) -> None:
        self._active_partition = None
        self.network.unpartition()
        self.network.conditions = self.scenario.healed
        self.target = max(self.heights, self.result.max_height + 1)
        self._check_done()

    def _check_done(self) -> None:
        if self.target is not None:
            target = self.target
            self.done = all(len(self.nodes[i].chain) - 1 >= target for i in self.must_progress)

    # -- the driver: what a node does with the core's actions ----------------------------------------

    def _perform(self, node: SimNode, actions: list[Action]) -> None:
        for action in actions:
            if isinstance(action, Persist):
                node.resume = action.state
            elif isinstance(action, Broadcast):
                self._broadcast(node, action.message)
            elif isinstance(action, SetTimer):
                self.result.max_round = max(self.result.max_round, action.round)
                self.events.schedule(action.delay_ms, self._on_timer, node, node.incarnation, action)
            elif isinstance(action, BuildBlock):
                delay = self.rng.randint(*BUILD_DELAY_MS)
                self.events.schedule(delay, self._on_build, node, node.incarnation)
            elif isinstance(action, Commit):
                self._store(node, StoredBlock(action.block, action.block_hash, action.seals))
            else:
                assert isinstance(action, ValidateProposal), action
                delay = self.rng.randint(*VALIDATE_DELAY_MS)
                args = (node, node.incarnation, action.block, action.block_hash)
                self.events.schedule(delay, self._on_validate, *args)

    def _live(self, node: SimNode, incarnation: int) -> QbftCore | None:
        return node.core if node.up and node.incarnation == incarnation else None

    def _on_timer(self, node: SimNode, incarnation: int, timer: SetTimer) -> None:
        core = self._live(node, incarnation)
        if core is not None:
            self._perform(node, core.on_timeout(timer.height, timer.round))

    def _on_build(self, node: SimNode, incarnation: int) -> None:
        core = self._live(node, incarnation)
        if core is None:
            return
        height = len(node.chain)
        node.builds += 1
        if node.role is Role.INVALID_BLOCK:
            block = invalid_block(height, node.head.block_hash, node.index)
        else:
            tag = b"%d:%d:%d" % (node.index, height, node.builds)
            block = Block(height, node.head.block_hash, VALID_PAYLOAD_PREFIX + tag)
        self._perform(node, core.on_block_built(block))

    def _on_validate(self, node: SimNode, incarnation: int, block: Block, block_hash: bytes) -> None:
        core = self._live(node, incarnation)
        if core is None:
            return
        ok = (
            block.height == len(node.chain)
            and block.parent_hash == node.head.block_hash
            and block.payload.startswith(VALID_PAYLOAD_PREFIX)
        )
        self._perform(node, core.on_proposal_validated(block_hash, ok))

    def _store(self, node: SimNode, stored: StoredBlock) -> None:
        """Append a final block to the node's chain, checking the safety invariants on the way."""
        block = stored.block
        honest = node.role is Role.HONEST
        if honest and (block.height != len(node.chain) or block.parent_hash != node.head.block_hash):
            self._violation("not_on_head", node, block.height)
        if honest and not verify_commit_seals(stored.block_hash, stored.seals, self.validators):
            self._violation("bad_commit_seals", node, block.height)
        node.chain.append(stored)
        if honest:
            first = self.final.setdefault(block.height, stored.block_hash)
            if first != stored.block_hash:
                self._violation("conflicting_final_blocks", node, block.height)
            self.result.first_final_ms.setdefault(block.height, self.events.now_ms)
            self.result.max_height = max(self.result.max_height, block.height)
        self._check_done()

    def _violation(self, what: str, node: SimNode, height: int) -> None:
        self.result.safety_violations.append(
            {"what": what, "node": node.index, "height": height, "at_ms": self.events.now_ms}
        )

    # -- messages ------------------------------------------------------------------------------------

    def _broadcast(self, node: SimNode, data: bytes) -> None:
        peers = [peer for peer in range(self.scenario.n) if peer != node.index]
        for peer, payload in outgoing(node.role, data, peers, node.signer, self.codec, self.rng):
            self.network.send(node.index, peer, payload)

    def _deliver(self, src: int, dst: int, payload: object) -> None:
        node = self.nodes[dst]
        if not node.up or node.core is None:
            return
        if isinstance(payload, bytes):
            self.result.messages += 1
            self._perform(node, node.core.on_message(payload))
            return
        self.result.sync_messages += 1
        assert isinstance(payload, tuple)
        if payload[0] == "sync_request":
            self._answer_sync(node, src, payload[1])
        else:
            self._import(node, payload[1])

    # -- sync: a node that fell behind fetches final blocks with their seals -------------------------

    def _schedule_sync(self, node: SimNode) -> None:
        delay = self.scenario.sync_interval_ms + self.rng.randint(0, SYNC_JITTER_MS)
        self.events.schedule(delay, self._on_sync_tick, node, node.incarnation)

    def _on_sync_tick(self, node: SimNode, incarnation: int) -> None:
        if self._live(node, incarnation) is None:
            return
        peer = self.rng.choice([p for p in range(self.scenario.n) if p != node.index])
        self.network.send(node.index, peer, ("sync_request", len(node.chain)))
        self._schedule_sync(node)

    def _answer_sync(self, node: SimNode, requester: int, from_height: int) -> None:
        blocks = tuple(node.chain[from_height : from_height + MAX_SYNC_BLOCKS])
        if blocks:
            self.network.send(node.index, requester, ("sync_response", blocks))

    def _import(self, node: SimNode, blocks: tuple[StoredBlock, ...]) -> None:
        imported = False
        for stored in blocks:
            block = stored.block
            if block.height != len(node.chain) or block.parent_hash != node.head.block_hash:
                continue
            if self.codec.hash(block) != stored.block_hash:
                break
            if not verify_commit_seals(stored.block_hash, stored.seals, self.validators):
                break
            self._store(node, stored)
            imported = True
        if imported and node.core is not None:
            self._perform(node, node.core.on_block_imported(len(node.chain) - 1))


def run_seed(seed: int, sizes: list[int], heights: int) -> SeedResult:
    """Replayable: the same (seed, sizes, heights) always yields the same result."""
    rng = random.Random(seed)
    scenario = draw_scenario(rng, seed, sizes)
    return Simulation(scenario, rng, heights).run()


def summarize(results: list[SeedResult], sizes: list[int], heights: int, start: int) -> dict[str, object]:
    failing = [r.seed for r in results if r.safety_violations or r.liveness_failure]
    kinds: dict[str, int] = {}
    for r in results:
        kinds[r.kind] = kinds.get(r.kind, 0) + 1
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
        "virtual_ms": sum(r.virtual_ms for r in results),
        "scenarios": dict(sorted(kinds.items())),
        "faulty_validators": sum(r.faulty for r in results),
        "max_faulty_of_n": {str(n): max_faulty(n) for n in sizes},
        "overload_runs": sum(1 for r in results if r.kind == Kind.OVERLOAD),
    }
