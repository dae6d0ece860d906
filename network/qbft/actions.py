"""What the core asks its driver to do; the driver performs actions in the order they are returned."""

from __future__ import annotations

from dataclasses import dataclass

from network.qbft.block import ConsensusBlock
from network.qbft.messages import SignedVote


@dataclass(frozen=True)
class PreparedCertificate:
    """The block this validator saw a quorum of PREPAREs for in `round`: its lock, told on round change."""

    round: int
    block: ConsensusBlock
    prepares: tuple[SignedVote, ...]


@dataclass(frozen=True)
class ResumeState:
    """What a validator keeps across a crash so it never votes twice in a round nor forgets its lock."""

    height: int
    round: int
    prepared: PreparedCertificate | None


@dataclass(frozen=True)
class Persist:
    """Write `state` durably before performing any later action (it is a write-ahead record)."""

    state: ResumeState


@dataclass(frozen=True)
class Broadcast:
    """Send the encoded message to every other validator (the core has already processed its own copy)."""

    message: bytes


@dataclass(frozen=True)
class SetTimer:
    """Call `on_timeout(height, round)` after `delay_ms`; a newer timer makes older ones irrelevant."""

    height: int
    round: int
    delay_ms: int


@dataclass(frozen=True)
class BuildBlock:
    """This validator proposes at `height`: build a block on the current head, answer with on_block_built."""

    height: int


@dataclass(frozen=True)
class ValidateProposal:
    """Validate and execute `block` on the current head; answer with on_proposal_validated(block_hash, ok)."""

    block: ConsensusBlock
    block_hash: bytes


@dataclass(frozen=True)
class Commit:
    """`block` is final: store it with its commit seals (sorted by signer) as one atomic write."""

    block: ConsensusBlock
    block_hash: bytes
    seals: tuple[bytes, ...]


Action = Persist | Broadcast | SetTimer | BuildBlock | ValidateProposal | Commit
