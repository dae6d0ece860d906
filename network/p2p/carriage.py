"""Which ledger groups each session carries, kept up to date, and the refusal of frames of any other group.

A session carries a group when both ends hold it alike and each end's membership view of that group
admits the other; each end tells the other, in order with its frames, what it holds and whom it admits
(handshake.py `ready`, then `groups` frames). A group's frames are sent over, and taken from, only the
sessions that carry it; its peer up/down events follow the carried set, so a peer suspended in one group
goes down in that group alone. A session this end admits in no group is dropped (its view's code, e.g.
`network.not_a_member`, or `network.no_common_group`).

Frames of a group a session does not carry are dropped and counted. Those of a group this end stopped
carrying a moment ago (the peer had not yet read the news) are forgiven (`network.group_withdrawn`); any
other is logged and is a strike (`network.not_in_group`), and NOT_IN_GROUP_STRIKES strikes drop the session
(`network.peer_penalised`). Nothing a strike carries is ever delivered, so the budget only bounds what a
forger costs this node in logs and parsing; it is not one, so that a single stray frame from a case no one
foresaw does not cut an honest bank off its other groups.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from network.errors import NetworkError, NotInGroup
from network.p2p.groups import FRAME_PREFIX, UNNAMED, Group, GroupTable, admission
from network.p2p.handshake import disagreements, groups_frame, parse_groups
from network.p2p.session import PeerSession

log = logging.getLogger("colend.p2p")
NOT_IN_GROUP_STRIKES = 3
WITHDRAWN_GRACE_S = 10.0  # frames still in flight when this end stopped carrying a group: a send queue's worth


class Carriage:
    def __init__(self, table: GroupTable, enqueue: Callable[[PeerSession, bytes | str], None],
                 drop: Callable[[PeerSession, NetworkError], None], note: Callable[[str, str], None],
                 safely: Callable[..., None]) -> None:
        self.table = table
        self._enqueue = enqueue
        self._drop = drop
        self._note = note  # (peer label, code): the host's refusals
        self._safely = safely

    def reconcile(self, session: PeerSession, before: dict[str, Group] | None = None) -> None:
        """Re-apply the membership views and the table to a live session; tell the peer what changed.
        `before`: what the peer's address carried until now (a session being replaced hands over its groups)."""
        if session.closing:
            return
        admitted, refusal = admission(self.table.groups, session.identity, session.peer_held)
        if not admitted:
            self._drop(session, refusal)
            return
        session.admitted = admitted
        told = (self.table.tags, admitted)
        if session.told != told:
            session.told = told
            self._enqueue(session, groups_frame(*told))  # before any frame of a group it now carries
        self._carry(session, session.carried if before is None else before)

    def on_groups(self, session: PeerSession, doc: dict[str, object]) -> None:
        """The peer restated what it holds and admits us in."""
        held, admits = parse_groups(doc)
        session.peer_held = {tag.name: tag for tag in held}
        for problem in disagreements(self.table.tags, session.peer_held):  # never carried; the others go on
            log.warning("event=group_mismatch member=%s address=%s code=network.handshake_mismatch reason=%s",
                        session.identity.member_id, session.identity.address_hex, problem)
        session.peer_admits = admits
        self.reconcile(session)

    def _carry(self, session: PeerSession, before: dict[str, Group]) -> None:
        groups = self.table.groups
        now = {name: groups[name] for name in session.admitted & session.peer_admits if name in groups}
        address, identity = session.address, session.identity
        for name, group in before.items():
            if now.get(name) is not group:
                group.sessions.pop(address, None)
                session.withdrawn[group.tag.chain_id] = time.monotonic()
                for callback in group.down:
                    self._safely(callback, identity)
        session.carried = now
        for name, group in now.items():
            group.sessions[address] = session
            if before.get(name) is not group:
                for callback in group.up:
                    self._safely(callback, identity)

    def release(self, session: PeerSession) -> None:
        """The session is gone: it goes down in every group it carried."""
        carried, session.carried = session.carried, {}
        for group in carried.values():
            if group.sessions.get(session.address) is session:
                del group.sessions[session.address]
                for callback in group.down:
                    self._safely(callback, session.identity)

    def refuse(self, session: PeerSession, data: bytes) -> None:
        """A frame whose prefix names no group this session carries (the read loop's slow path)."""
        chain_id = int.from_bytes(data[1:FRAME_PREFIX], "big") if len(data) >= FRAME_PREFIX else UNNAMED
        group = next((g for g in session.carried.values() if g.tag.chain_id == chain_id), None)
        if group is not None:  # a group it carries, on a channel no one here reads: dropped as ever
            group.counts.received += 1
            return
        if self._forgiven(session, chain_id):
            self.table.count_refused(chain_id, "network.group_withdrawn")
            log.debug("event=frame_refused member=%s address=%s chain_id=%d code=network.group_withdrawn",
                      session.identity.member_id, session.identity.address_hex, chain_id)
            return
        self.table.count_refused(chain_id, NotInGroup.code)
        session.strikes += 1
        name = next((g.tag.name for g in self.table.groups.values() if g.tag.chain_id == chain_id), f"chain:{chain_id}")
        log.warning("event=frame_refused peer=%s member=%s group=%s channel=%d code=%s strikes=%d",
                    session.identity.address_hex, session.identity.member_id, name, data[0] if data else -1,
                    NotInGroup.code, session.strikes)
        self._note(session.identity.member_id, NotInGroup.code)
        if session.strikes >= NOT_IN_GROUP_STRIKES:
            self._drop(session, NetworkError(f"{session.strikes} frames of groups it is not in (last: {name})",
                                             code="network.peer_penalised"))

    def _forgiven(self, session: PeerSession, chain_id: int) -> bool:
        withdrawn = session.withdrawn.get(chain_id)
        if withdrawn is not None and time.monotonic() - withdrawn < WITHDRAWN_GRACE_S:
            return True
        return self.table.recently_retired(chain_id)
