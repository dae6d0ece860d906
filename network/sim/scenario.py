"""A run's fault plan, drawn entirely from `random.Random(seed)` so a seed number replays it exactly."""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field
from enum import StrEnum

from network.qbft.quorum import max_faulty
from network.sim.network import LinkConditions


class Role(StrEnum):
    HONEST = "honest"
    SILENT = "silent"  # never sends anything
    EQUIVOCATE = "equivocate"  # as proposer, sends different blocks to different peers
    DOUBLE_VOTE = "double_vote"  # PREPARE and COMMIT for a second block too
    FORGE = "forge"  # adds garbage, corrupted and non-validator signatures
    INVALID_BLOCK = "invalid_block"  # proposes blocks honest nodes refuse
    SELECTIVE = "selective"  # sends each message to a random subset of peers only
    FORGE_SYNC = "forge_sync"  # honest in consensus; serves forged, mis-sealed or wrong-parent blocks to sync
    LIE_HEIGHT = "lie_height"  # honest in consensus; advertises a height far above its own and serves nothing


BYZANTINE_ROLES = (
    Role.SILENT,
    Role.EQUIVOCATE,
    Role.DOUBLE_VOTE,
    Role.FORGE,
    Role.INVALID_BLOCK,
    Role.SELECTIVE,
    Role.FORGE_SYNC,
    Role.LIE_HEIGHT,
)
SYNC_ROLES = (Role.FORGE_SYNC, Role.LIE_HEIGHT)


class Kind(StrEnum):
    CLEAN = "clean"  # no fault at all: the baseline
    MIXED = "mixed"  # up to f faulty validators plus network chaos, then healed
    OVERLOAD = "overload"  # more than f validators down for a while (crash, data kept), then back
    WIPED = "wiped"  # validators restart with an empty data directory: only sync can bring them back
    BYZANTINE_SYNC = "byzantine_sync"  # honest validators fall far behind; f peers lie to their sync
    SET_CHANGE = "set_change"  # a node is voted in as validator and another voted out, mid-run


@dataclass(frozen=True)
class Crash:
    node: int
    at_ms: int
    restart_ms: int | None  # None: stays down for good (counted as one of the f faulty)
    keep_data: bool


@dataclass(frozen=True)
class Partition:
    start_ms: int
    end_ms: int
    groups: list[list[int]]


@dataclass(frozen=True)
class LinkOutage:
    """One direction of one link loses everything for a while: asymmetric, short-lived trouble."""

    src: int
    dst: int
    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class Governance:
    """At `at_ms` the consortium approves adding (or removing) node `node` as validator; every node's pool
    gets the change and the next block that carries it changes the set from the height after it."""

    at_ms: int
    add: bool
    node: int


@dataclass(frozen=True)
class Scenario:
    seed: int
    n: int  # genesis validators; nodes n .. nodes - 1 start as followers
    kind: Kind
    heal_ms: int
    chaos: LinkConditions
    healed: LinkConditions
    roles: list[Role]
    crashes: list[Crash] = field(default_factory=list)
    partitions: list[Partition] = field(default_factory=list)
    outages: list[LinkOutage] = field(default_factory=list)
    sync_interval_ms: int = 500  # slow sync leaves consensus itself to bring lagging validators along
    nodes: int = 0  # 0: n
    block_period_ms: int = 0  # the proposer waits this long after its head's timestamp
    governance: list[Governance] = field(default_factory=list)

    @property
    def size(self) -> int:
        return self.nodes or self.n

    def faulty(self) -> list[int]:
        """Nodes whose behaviour may break what honest ones rely on: Byzantine, amnesic or gone for good."""
        amnesic = {c.node for c in self.crashes if not c.keep_data or c.restart_ms is None}
        return sorted({i for i, r in enumerate(self.roles) if r is not Role.HONEST} | amnesic)

    def describe(self) -> dict[str, object]:
        return asdict(self)


MAX_CHAOS_MS = 8_000
MAX_OUTAGE_MS = 1_500
SYNC_INTERVALS_MS = (500, 2_000, 8_000)
BLOCK_PERIODS_MS = (0, 20, 100)
KIND_WEIGHTS = {
    Kind.CLEAN: 1, Kind.MIXED: 6, Kind.OVERLOAD: 2, Kind.WIPED: 2, Kind.BYZANTINE_SYNC: 2, Kind.SET_CHANGE: 2
}


def draw_scenario(rng: random.Random, seed: int, sizes: list[int]) -> Scenario:
    """Draws from `rng` (seeded with `seed` by the caller, who goes on using it for the run itself)."""
    n = rng.choice(sizes)
    kind = rng.choices(list(KIND_WEIGHTS), list(KIND_WEIGHTS.values()))[0]
    max_delay = rng.choice([10, 50, 200, 700])
    healed = LinkConditions(1, max_delay, 0.0, rng.choice([0.0, 0.02, 0.1]), rng.choice([0.0, 0.02]), 1_500)
    if kind is Kind.CLEAN:
        return Scenario(seed, n, kind, 0, healed, healed, [Role.HONEST] * n,
                        block_period_ms=rng.choice(BLOCK_PERIODS_MS))
    heal_ms = rng.randint(1_000, MAX_CHAOS_MS)
    chaos = LinkConditions(
        1,
        max_delay,
        rng.choice([0.0, 0.01, 0.05, 0.15, 0.3]),
        healed.duplicate_probability,
        rng.choice([0.0, 0.02, 0.1]),
        2_000,
    )
    roles = [Role.HONEST] * n
    crashes: list[Crash] = []
    nodes, governance = n, []
    if kind is Kind.WIPED:
        wiped = sorted(rng.sample(range(n), rng.randint(1, max_faulty(n))))
        for node in wiped:
            at = rng.randint(0, heal_ms // 2)
            crashes.append(Crash(node, at, rng.randint(at + 1, heal_ms), keep_data=False))
        others = [i for i in range(n) if i not in wiped]
        for node in rng.sample(others, max_faulty(n) - len(wiped)):
            roles[node] = rng.choice(SYNC_ROLES)
    elif kind is Kind.BYZANTINE_SYNC:
        liars = rng.sample(range(n), rng.randint(1, max_faulty(n)))
        for node in liars:
            roles[node] = rng.choice(SYNC_ROLES)
        for node in rng.sample([i for i in range(n) if i not in liars], rng.randint(1, 2)):
            at = rng.randint(0, heal_ms // 4)
            crashes.append(Crash(node, at, rng.randint((at + heal_ms) // 2, heal_ms), keep_data=True))
    elif kind is Kind.SET_CHANGE:
        nodes = n + 1
        byzantine = rng.sample(range(n), rng.randint(0, max_faulty(n)))
        for node in byzantine:
            roles[node] = rng.choice(BYZANTINE_ROLES)
        roles.append(Role.HONEST)
        added = rng.randint(0, heal_ms // 2)
        removed = rng.choice([i for i in range(n) if i not in byzantine])
        governance = [Governance(added, True, n), Governance(rng.randint(added, heal_ms), False, removed)]
        for node in range(nodes):
            if roles[node] is Role.HONEST and rng.random() < 0.15:
                at = rng.randint(0, heal_ms - 1)
                crashes.append(Crash(node, at, rng.randint(at + 1, heal_ms), keep_data=True))
    elif kind is Kind.OVERLOAD:
        down = rng.sample(range(n), rng.randint(max_faulty(n) + 1, n))
        for node in sorted(down):
            at = rng.randint(0, heal_ms // 2)
            crashes.append(Crash(node, at, rng.randint(at + 1, heal_ms), keep_data=True))
    else:
        for node in sorted(rng.sample(range(n), rng.randint(0, max_faulty(n)))):
            fault = rng.choice([*BYZANTINE_ROLES, "crash_empty", "crash_forever"])
            if fault == "crash_empty":
                at = rng.randint(0, heal_ms - 1)
                crashes.append(Crash(node, at, rng.randint(at + 1, heal_ms), keep_data=False))
            elif fault == "crash_forever":
                crashes.append(Crash(node, rng.randint(0, heal_ms), None, keep_data=False))
            else:
                roles[node] = Role(fault)
        faulty = {c.node for c in crashes} | {i for i, r in enumerate(roles) if r is not Role.HONEST}
        for node in range(n):
            # honest validators may crash and restart with their data: that is not a fault
            if node not in faulty and rng.random() < 0.15:
                at = rng.randint(0, heal_ms - 1)
                crashes.append(Crash(node, at, rng.randint(at + 1, heal_ms), keep_data=True))
    partitions: list[Partition] = []
    for _ in range(rng.choice([0, 0, 1, 2])):
        start = rng.randint(0, heal_ms - 1)
        members = list(range(nodes))
        rng.shuffle(members)
        cut = rng.randint(1, nodes - 1)
        groups = [sorted(members[:cut]), sorted(members[cut:])]
        partitions.append(Partition(start, rng.randint(start + 1, heal_ms), groups))
    outages: list[LinkOutage] = []
    for _ in range(rng.choice([0, n, 4 * n])):
        src, dst = rng.sample(range(nodes), 2)
        start = rng.randint(0, heal_ms - 1)
        outages.append(LinkOutage(src, dst, start, min(heal_ms, start + rng.randint(50, MAX_OUTAGE_MS))))
    sync_interval = rng.choice(SYNC_INTERVALS_MS)
    return Scenario(seed, n, kind, heal_ms, chaos, healed, roles, crashes, partitions, outages, sync_interval,
                    nodes, rng.choice(BLOCK_PERIODS_MS), governance)
