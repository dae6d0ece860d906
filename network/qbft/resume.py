"""The ResumeState's durable form: deterministic RLP that a restarted validator reads back before voting.

[height, round, prepared] where prepared is [] or [round, [block height, parent hash, payload], prepares]
and each PREPARE is [vote body, signature] as on the wire, so its sender is recovered, never trusted.
The node keeps it in a file (node/consensus/resume_file.py); tests and the simulator in a MemoryResumeStore.
"""

from __future__ import annotations

import rlp

from network.qbft.actions import PreparedCertificate, ResumeState
from network.qbft.block import ConsensusBlock
from network.qbft.errors import MalformedMessage
from network.qbft.messages import MessageKind, _decode_signed, _signed_fields


def encode_resume_state(state: ResumeState) -> bytes:
    prepared: list[object] = []
    if state.prepared is not None:
        p = state.prepared
        prepared = [p.round, [p.block.height, p.block.parent_hash, p.block.payload],
                    [_signed_fields(s) for s in p.prepares]]
    return rlp.encode([state.height, state.round, prepared])


def decode_resume_state(data: bytes) -> ResumeState:
    """Raises MalformedMessage for bytes that are not a resume state (a torn or foreign file)."""
    try:
        height, round_, prepared = rlp.decode(data)
        if not prepared:
            return ResumeState(_uint(height), _uint(round_), None)
        p_round, (b_height, parent, payload), prepares = prepared
        signed = tuple(_decode_signed(s) for s in prepares)
    except MalformedMessage:
        raise
    except Exception as exc:
        raise MalformedMessage(f"resume state does not decode: {exc}") from exc
    if any(s.vote.kind is not MessageKind.PREPARE for s in signed):
        raise MalformedMessage("a prepared certificate holds only PREPAREs")
    block = ConsensusBlock(_uint(b_height), parent, payload)
    return ResumeState(_uint(height), _uint(round_), PreparedCertificate(_uint(p_round), block, signed))


class MemoryResumeStore:
    """A ResumeStoreAPI for tests and in-process simulations: 'durable' for as long as the object lives."""

    def __init__(self) -> None:
        self.state: ResumeState | None = None

    def load(self) -> ResumeState | None:
        return self.state

    def save(self, state: ResumeState) -> None:
        self.state = state


def _uint(raw: object) -> int:
    if not isinstance(raw, bytes) or (raw and raw[0] == 0):
        raise MalformedMessage("not a canonical integer")
    return int.from_bytes(raw, "big")
