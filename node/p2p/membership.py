"""Which consortium members a ledger group's chain admits at its head, as that group's membership view on the
p2p host (network/p2p/groups.py).

Read from the Consortium contract after every committed block (on the thread that committed it) into an
immutable snapshot, so the event loop's admission check never waits for the EVM lock.
"""

from __future__ import annotations

import logging

from contracts.ids import id_text
from network.errors import NotAMember
from network.pki.identity import NodeIdentity
from node.chain.header import ZERO_ADDRESS
from node.errors import StoreCorrupted
from node.execution.consortium_calls import decode_member, decode_member_ids, encode_member, encode_member_ids
from node.execution.read_view import CommittedState

log = logging.getLogger("colend.membership")


class ChainMembership:
    def __init__(self, read_view: CommittedState) -> None:
        self.read_view = read_view  # the head state, read without waiting for a block to execute
        self.members: dict[str, tuple[str, bool]] = {}  # member id -> (role, active)
        self.refresh()

    def refresh(self) -> bool:
        """Re-read the members at the head; True if anything changed."""
        committed = self.read_view
        consortium = committed.consortium
        if consortium is None:
            return False
        members: dict[str, tuple[str, bool]] = {}
        result = committed.call(ZERO_ADDRESS, consortium, encode_member_ids())
        if not result.success:
            raise StoreCorrupted("Consortium.memberIds() failed on the head state")
        for raw in decode_member_ids(result.output):
            reply = committed.call(ZERO_ADDRESS, consortium, encode_member(raw))
            _name, role, active = decode_member(reply.output)
            members[id_text(raw)] = (role, active)
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
