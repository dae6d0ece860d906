"""The interfaces consensus runs against, in one place (py-evm's abc style).

`network.driver.ConsensusDriver` and `network.sync.BlockSync` are synchronous and sans-I/O: everything they
touch is one of these. node/ implements them with the engine, LevelDB and asyncio (node/consensus/); the
simulator with a small deterministic fake chain, a virtual network and virtual time (network/sim/).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from network.qbft.actions import ResumeState
from network.qbft.block import ConsensusBlock

ADDRESS_LENGTH = 20  # a peer is named by its validator (or observer) address, as its certificate binds it


@dataclass(frozen=True)
class ChainHead:
    height: int
    block_hash: bytes
    timestamp_ms: int  # when the head was proposed (0 where a chain has no clock, e.g. the simulator)


@dataclass(frozen=True)
class SealedBlock:
    """A final block as sync carries it: the block and the commit seals that made it final."""

    block: ConsensusBlock
    seals: tuple[bytes, ...]


class ChainAPI(Protocol):
    """The committed chain as consensus and sync see it. Validator-set rule: the set read from the committed
    state after block h is the set in force at height h + 1 (a change voted in block h applies from h + 1)."""

    def head(self) -> ChainHead: ...

    def validators_at(self, height: int) -> tuple[bytes, ...]:
        """The set in force at `height`, for 1 <= height <= head + 1 (read from the state after height - 1)."""
        ...

    def pending_work(self, new_height: bool) -> bool:
        """Whether a block built now could hold something: on a new height anything waiting, else only what
        arrived since the last build."""
        ...

    def build_block(self, height: int, timestamp_ms: int, allow_empty: bool) -> ConsensusBlock | None:
        """Execute a new block on the head (height = head + 1); None when there is nothing to put in it."""
        ...

    def prepare_block(self, height: int, due_ms: int) -> None:
        """Txs arrived while this node waits until `due_ms` (the block period) to build block `height`: a hint
        that the chain may start on that block now; build_block still decides what it holds."""
        ...

    def validate_proposal(self, block: ConsensusBlock, block_hash: bytes) -> bool:
        """Execute a peer's proposal on the head: False if it does not extend the head or does not execute."""
        ...

    def commit(self, block: ConsensusBlock, block_hash: bytes, seals: tuple[bytes, ...]) -> None:
        """Store the block consensus finalized, with its seals, as one atomic write; the head moves to it."""
        ...

    def import_block(self, sealed: SealedBlock, block_hash: bytes) -> None:
        """Execute and store a final block fetched by sync (its seals already checked): raises BlockRejected
        for a block that does not extend the head or execute, ChainHalted when its state differs from ours."""
        ...

    def sealed_block(self, height: int) -> SealedBlock | None:
        """Final block `height` (1..head) with its seals, to serve a peer's sync request."""
        ...


class TransportHandler(Protocol):
    """What a transport calls; the node queues these onto its consensus thread, the simulator calls directly."""

    def on_peer_connected(self, peer: bytes) -> None: ...

    def on_peer_disconnected(self, peer: bytes) -> None: ...

    def on_message(self, peer: bytes, payload: bytes) -> None:
        """`payload` came from `peer`, an authenticated address (never read off the payload itself)."""
        ...


class Transport(Protocol):
    """Carries opaque bytes between authenticated peers, best effort (QBFT and sync both tolerate loss).

    Peers are named by their 20-byte address; an mTLS p2p host implements this thinly."""

    def send(self, peer: bytes, payload: bytes) -> None:
        """Queue `payload` for `peer`; never blocks on a slow peer; dropped if it is not connected."""
        ...

    def broadcast(self, payload: bytes) -> None:
        """Send `payload` to every connected peer."""
        ...

    def disconnect(self, peer: bytes, reason: str) -> None:
        """Close the session with a peer that misbehaved (sync penalises it); it may come back later."""
        ...

    def set_handler(self, handler: TransportHandler) -> None:
        """Where inbound messages and peer events go from now on."""
        ...


class TimerKind(StrEnum):
    ROUND = "round"  # the core's round timer: fires on_timeout(height, round)
    BUILD = "build"  # the proposer's block is due
    SYNC = "sync"  # block sync's periodic tick (status, request timeouts)


@dataclass(frozen=True)
class Timer:
    kind: TimerKind
    height: int = 0
    round: int = 0


class TimersAPI(Protocol):
    """Call driver.on_timer(timer) after `delay_ms`; a timer replaces the pending one of the same kind."""

    def set_timer(self, timer: Timer, delay_ms: int) -> None: ...


class ResumeStoreAPI(Protocol):
    """Where a validator keeps its consensus ResumeState; save() is durable when it returns."""

    def load(self) -> ResumeState | None: ...

    def save(self, state: ResumeState) -> None: ...


class ClockAPI(Protocol):
    """Milliseconds, only for when to build and the proposer's block timestamp: never for a consensus rule."""

    def now_ms(self) -> int: ...
