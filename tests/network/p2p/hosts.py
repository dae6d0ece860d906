"""P2P hosts on 127.0.0.1 for the tests, with certificates the tests mint themselves (tests/network/pki_factory.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from network.p2p.abc import GroupTag, MembershipView, StaticPeer, admit_everyone
from network.p2p.host import HostConfig, P2PHost
from network.pki.tls import TlsFiles
from network.qbft.crypto import PrivateKeySigner

G = "main"
CHAIN = GroupTag(G, 20_250, b"\x11" * 32)
FAST = {"redial_min_s": 0.05, "redial_max_s": 0.2, "recheck_s": 0.05}


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for a condition the hosts reach by themselves (peer up, refusal logged)."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


class Net:
    def __init__(self) -> None:
        self.hosts: list[P2PHost] = []

    async def host(self, tls: TlsFiles, signer: PrivateKeySigner, *, peers: tuple[StaticPeer, ...] = (),
                   chain: GroupTag = CHAIN, groups: Sequence[tuple[GroupTag, MembershipView]] | None = None,
                   **kw: object) -> P2PHost:
        """A started host of one group (`chain`, admitted by `membership`), or of `groups`."""
        membership = kw.pop("membership", None) or admit_everyone
        config = HostConfig(peers=peers, **{**FAST, **kw})  # type: ignore[arg-type]
        host = P2PHost(config, tls, signer, [(chain, membership)] if groups is None else groups)  # type: ignore[list-item]
        await host.start()
        self.hosts.append(host)
        return host


def peer_of(host: P2PHost) -> StaticPeer:
    return StaticPeer(f"wss://127.0.0.1:{host.port}/p2p", host.identity.member_id, host.identity.address)


def codes(host: P2PHost) -> set[str]:
    return {code for _, code in host.refusals}
