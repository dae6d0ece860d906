"""Which consortium members the chain admits at its head, as the p2p host's membership view.

Read from the Consortium contract after every committed block (on the thread that committed it) into an
immutable snapshot, so the event loop's admission check never waits for the EVM lock.
"""

from __future__ import annotations

import logging

from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode

from contracts.ids import id_text
from network.errors import NotAMember
from network.hashing import keccak256 as keccak
from network.pki.identity import NodeIdentity
from node.chain.header import ZERO_ADDRESS
from node.engine.chain_engine import ChainEngine
from node.errors import StoreCorrupted

log = logging.getLogger("colend.membership")
MEMBER_IDS = keccak(b"memberIds()")[:4]
MEMBER = keccak(b"member(bytes32)")[:4]
CHAIN_ROLES = {1: "BANK", 2: "OBSERVER"}


class ChainMembership:
    def __init__(self, engine: ChainEngine) -> None:
        self.engine = engine
        self.members: dict[str, tuple[str, bool]] = {}  # member id -> (role, active)
        self.refresh()

    def refresh(self) -> bool:
        """Re-read the members at the head; True if anything changed."""
        committed = self.engine.committed  # the head state, read without waiting for a block to execute
        consortium = committed.consortium
        if consortium is None:
            return False
        members: dict[str, tuple[str, bool]] = {}
        result = committed.call(ZERO_ADDRESS, consortium, MEMBER_IDS)
        if not result.success:
            raise StoreCorrupted("Consortium.memberIds() failed on the head state")
        (ids,) = abi_decode(["bytes32[]"], result.output)
        for raw in ids:
            reply = committed.call(ZERO_ADDRESS, consortium, MEMBER + abi_encode(["bytes32"], [raw]))
            _name, role, active = abi_decode(["string", "uint8", "bool"], reply.output)
            members[id_text(raw)] = (CHAIN_ROLES.get(role, "NONE"), bool(active))
        changed = members != self.members
        self.members = members
        return changed

    def __call__(self, identity: NodeIdentity) -> None:
        entry = self.members.get(identity.member_id)
        if entry is None:
            raise NotAMember(f"{identity.member_id} is not a consortium member on chain")
        role, active = entry
        if not active:
            raise NotAMember(f"{identity.member_id} is suspended on chain")
        if role != identity.role:
            raise NotAMember(f"{identity.member_id}'s certificate says {identity.role}, the chain says {role}")
