"""A lock-step test driver for a few QbftCores: the test decides which messages arrive and which timers fire."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

from network.hashing import keccak256
from network.qbft import (
    Action,
    Broadcast,
    BuildBlock,
    Commit,
    ConsensusBlock,
    Persist,
    PrivateKeySigner,
    QbftConfig,
    QbftCore,
    ResumeState,
    RlpBlockCodec,
    SetTimer,
    ValidateProposal,
)

GENESIS_HASH = b"\x00" * 32
CODEC = RlpBlockCodec()


def signers(n: int) -> list[PrivateKeySigner]:
    """n test keys, ordered by address so index i is also the i-th validator in proposer order."""
    keys = [PrivateKeySigner(keccak256(b"test-validator" + bytes([i]))) for i in range(n)]
    return sorted(keys, key=lambda s: s.address)


class Cluster:
    def __init__(
        self,
        n: int,
        config: QbftConfig | None = None,
        validators: Callable[[int], Sequence[bytes]] | None = None,
        extra_signers: Sequence[PrivateKeySigner] = (),
    ) -> None:
        self.signers = signers(n) + list(extra_signers)
        self.addresses = [s.address for s in self.signers[:n]]
        self.validators_at = validators or (lambda height: self.addresses)
        self.config = config or QbftConfig()
        self.size = len(self.signers)
        self.cores: list[QbftCore | None] = [None] * self.size
        self.commits: list[list[Commit]] = [[] for _ in range(self.size)]
        self.persisted: list[ResumeState | None] = [None] * self.size
        self.timers: list[SetTimer | None] = [None] * self.size
        self.queue: deque[tuple[int, int, bytes]] = deque()  # (src, dst, message)
        self.sent: list[list[bytes]] = [[] for _ in range(self.size)]
        self.invalid_payloads: set[bytes] = set()
        self.down: set[int] = set()
        self.build_limit = 1  # BuildBlock above this height waits, or lock-step consensus never stops
        self.held_builds: dict[int, int] = {}  # node -> height it was asked to build

    # -- lifecycle -----------------------------------------------------------------------------------------

    def start(self, nodes: Sequence[int] | None = None, resume: bool = False) -> None:
        for i in nodes if nodes is not None else range(self.size):
            self.down.discard(i)
            height = len(self.commits[i]) + 1
            state = self.persisted[i] if resume and self.persisted[i] is not None else None
            if state is not None and state.height != height:
                state = None
            core = QbftCore(self.config, self.signers[i], height, self.validators_at(height), CODEC, state)
            self.cores[i] = core
            self.perform(i, core.start())

    def crash(self, i: int) -> None:
        self.down.add(i)
        self.held_builds.pop(i, None)
        self.cores[i] = None
        self.timers[i] = None

    def core(self, i: int) -> QbftCore:
        core = self.cores[i]
        assert core is not None
        return core

    # -- driving -------------------------------------------------------------------------------------------

    def perform(self, i: int, actions: list[Action]) -> None:
        todo = deque(actions)
        while todo:
            action = todo.popleft()
            if isinstance(action, Broadcast):
                self.sent[i].append(action.message)
                for j in range(self.size):
                    if j != i:
                        self.queue.append((i, j, action.message))
            elif isinstance(action, SetTimer):
                self.timers[i] = action
            elif isinstance(action, Persist):
                self.persisted[i] = action.state
            elif isinstance(action, Commit):
                self.commits[i].append(action)  # the chain holds it: now the core may read the next set
                height = action.block.height
                todo.extend(self.core(i).on_new_head(height, self.validators_at(height + 1)))
            elif isinstance(action, BuildBlock) and action.height > self.build_limit:
                self.held_builds[i] = action.height
            elif isinstance(action, BuildBlock):
                todo.extend(self.core(i).on_block_built(self.build(i, action.height)))
            elif isinstance(action, ValidateProposal):
                ok = action.block.payload not in self.invalid_payloads
                todo.extend(self.core(i).on_proposal_validated(action.block_hash, ok))

    def build(self, i: int, height: int) -> ConsensusBlock:
        return ConsensusBlock(height, self.head(i), b"block by %d at %d" % (i, height))

    def allow_heights(self, limit: int) -> None:
        """Let proposers build up to `limit`, answering the requests that waited."""
        self.build_limit = limit
        for i, height in sorted(self.held_builds.items()):
            if height <= limit and self.cores[i] is not None and i not in self.down:
                del self.held_builds[i]
                self.perform(i, self.core(i).on_block_built(self.build(i, height)))

    def head(self, i: int) -> bytes:
        return self.commits[i][-1].block_hash if self.commits[i] else GENESIS_HASH

    def deliver_all(self, drop: Callable[[int, int, bytes], bool] | None = None) -> int:
        delivered = 0
        while self.queue:
            src, dst, message = self.queue.popleft()
            if dst in self.down or self.cores[dst] is None or (drop is not None and drop(src, dst, message)):
                continue
            delivered += 1
            self.perform(dst, self.core(dst).on_message(message))
        return delivered

    def drop_all(self) -> None:
        self.queue.clear()

    def fire_timer(self, i: int) -> None:
        timer = self.timers[i]
        assert timer is not None
        self.perform(i, self.core(i).on_timeout(timer.height, timer.round))

    def fire_timers(self, nodes: Sequence[int] | None = None) -> None:
        for i in nodes if nodes is not None else range(self.size):
            if i not in self.down and self.cores[i] is not None:
                self.fire_timer(i)

    def heights(self) -> list[int]:
        return [len(c) for c in self.commits]

    def final_hashes(self, height: int) -> set[bytes]:
        return {c[height - 1].block_hash for c in self.commits if len(c) >= height}
