"""The versioned p2p handshake, pure: hello (protocol, every ledger group this node holds as name, chain id and
genesis hash, who I am, a fresh nonce), then auth (my node key's signature over the peer's nonce and my own
group list), so a peer proves it holds the key its certificate binds, then ready (the groups I admit you in);
a refusal at any step is a `refuse` frame carrying the stable code.

A group both ends hold (by name) must have the same chain id and genesis hash at both, or the session is
refused (`network.handshake_mismatch`); ends that hold no group in common are refused
(`network.no_common_group`). Later a `groups` frame restates, in-session, what one end holds and admits the
other in, when a group is added or removed or a membership view moves.

TLS already proved the peer holds the certificate's TLS key; the auth step ties the session to the
secp256k1 key that signs its consensus messages, so a bank cannot pass off another bank's validator
address even with a certificate the CA issued it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from network.errors import HandshakeFailed, HandshakeMismatch, IdentityMismatch, NoCommonGroup, RefusedByPeer
from network.hashing import keccak256
from network.p2p.abc import GroupTag
from network.pki.identity import NodeIdentity
from network.qbft.crypto import Signer, recover_address
from network.qbft.errors import InvalidSignature

PROTOCOL_VERSION = 2  # 2: several ledger groups per session, every frame names its group
AUTH_DOMAIN = b"colend-p2p-auth/2"
NONCE_BYTES = 32
MAX_GROUPS = 4_096  # per hello or groups frame: a peer cannot make us parse an unbounded list


@dataclass(frozen=True, slots=True)
class Hello:
    groups: tuple[GroupTag, ...]
    member_id: str
    address: bytes
    nonce: bytes
    protocol: int = PROTOCOL_VERSION

    def to_json(self) -> str:
        return json.dumps({"type": "hello", "protocol": self.protocol, "groups": _tags_json(self.groups),
                           "member": self.member_id, "address": "0x" + self.address.hex(),
                           "nonce": "0x" + self.nonce.hex()})


def new_hello(groups: Iterable[GroupTag], member_id: str, address: bytes) -> Hello:
    return Hello(tuple(groups), member_id, address, os.urandom(NONCE_BYTES))


def _tags_json(tags: Iterable[GroupTag]) -> list[dict[str, Any]]:
    return [{"name": t.name, "chainId": t.chain_id, "genesis": "0x" + t.genesis_hash.hex()} for t in tags]


def _hex(doc: dict[str, Any], key: str, size: int) -> bytes:
    value = doc.get(key)
    if not isinstance(value, str) or not value.startswith("0x"):
        raise HandshakeFailed(f"handshake field {key} is missing or not 0x-hex")
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError as exc:
        raise HandshakeFailed(f"handshake field {key} is not hex") from exc
    if len(raw) != size:
        raise HandshakeFailed(f"handshake field {key} must be {size} bytes")
    return raw


def _list(doc: dict[str, Any], key: str) -> list[Any]:
    value = doc.get(key)
    if not isinstance(value, list) or len(value) > MAX_GROUPS:
        raise HandshakeFailed(f"handshake field {key} must be a list of at most {MAX_GROUPS}")
    return value


def _parse_tags(doc: dict[str, Any]) -> tuple[GroupTag, ...]:
    tags: dict[str, GroupTag] = {}
    for item in _list(doc, "groups"):
        if not isinstance(item, dict):
            raise HandshakeFailed("a group is not an object")
        name, chain_id = item.get("name"), item.get("chainId")
        if not isinstance(name, str) or not isinstance(chain_id, int) or name in tags:
            raise HandshakeFailed("a group needs a unique name and an integer chainId")
        tags[name] = GroupTag(name, chain_id, _hex(item, "genesis", 32))
    return tuple(tags.values())


def _parse_names(doc: dict[str, Any]) -> frozenset[str]:
    names = _list(doc, "admit")
    if not all(isinstance(n, str) for n in names):
        raise HandshakeFailed("admit must list group names")
    return frozenset(names)


def parse_frame(text: str, expected: str) -> dict[str, Any]:
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise HandshakeFailed("handshake frame is not JSON") from exc
    if not isinstance(doc, dict):
        raise HandshakeFailed("handshake frame is not an object")
    if doc.get("type") == "refuse":
        raise RefusedByPeer(str(doc.get("message", "")), code=str(doc.get("code", RefusedByPeer.code)))
    if doc.get("type") != expected:
        raise HandshakeFailed(f"expected a {expected} frame, got {doc.get('type')!r}")
    return doc


def parse_hello(text: str) -> Hello:
    doc = parse_frame(text, "hello")
    protocol, member = doc.get("protocol"), doc.get("member")
    if not isinstance(protocol, int) or not isinstance(member, str):
        raise HandshakeFailed("hello needs an integer protocol and a member id")
    _check_protocol(protocol)  # before the rest: another version's fields may not parse
    return Hello(_parse_tags(doc), member, _hex(doc, "address", 20), _hex(doc, "nonce", NONCE_BYTES), protocol)


def _check_protocol(protocol: int) -> None:
    if protocol != PROTOCOL_VERSION:
        raise HandshakeMismatch(f"protocol version {protocol}, this node speaks {PROTOCOL_VERSION}")


def disagreements(mine: Iterable[GroupTag], theirs: Mapping[str, GroupTag]) -> list[str]:
    """Each group both hold by name whose chain id or genesis hash differ, said in a sentence."""
    return [f"group {m.name}: chain id {t.chain_id} and genesis 0x{t.genesis_hash.hex()}, this node's are "
            f"{m.chain_id} and 0x{m.genesis_hash.hex()}"
            for m in mine if (t := theirs.get(m.name)) is not None and t != m]


def check_hello(mine: Collection[GroupTag], hello: Hello, cert: NodeIdentity) -> frozenset[str]:
    """Same protocol, every shared group agreeing, at least one in common, and the hello names who the
    certificate says the peer is; the names of the groups both hold."""
    _check_protocol(hello.protocol)
    theirs = {t.name: t for t in hello.groups}
    if problems := disagreements(mine, theirs):
        raise HandshakeMismatch("; ".join(problems))
    if hello.member_id != cert.member_id or hello.address != cert.address:
        raise IdentityMismatch(f"peer claims {hello.member_id}/0x{hello.address.hex()} but its certificate binds "
                               f"{cert.member_id}/{cert.address_hex}")
    common = frozenset(m.name for m in mine if m.name in theirs)
    if not common:
        raise NoCommonGroup(f"peer holds groups {sorted(theirs)}, this node {sorted(m.name for m in mine)}")
    return common


def groups_digest(groups: Iterable[GroupTag]) -> bytes:
    parts = [len(t.name.encode()).to_bytes(2, "big") + t.name.encode() + t.chain_id.to_bytes(8, "big")
             + t.genesis_hash for t in sorted(groups, key=lambda t: t.name)]
    return keccak256(b"".join(parts))


def auth_digest(groups: Iterable[GroupTag], peer_nonce: bytes, signer_address: bytes) -> bytes:
    """What the signer's key signs: the peer's fresh nonce, and the groups the signer's own hello listed."""
    return keccak256(AUTH_DOMAIN + groups_digest(groups) + peer_nonce + signer_address)


def auth_frame(groups: Iterable[GroupTag], signer: Signer, peer_nonce: bytes) -> str:
    signature = signer.sign(auth_digest(groups, peer_nonce, signer.address))
    return json.dumps({"type": "auth", "signature": "0x" + signature.hex()})


def check_auth(text: str, groups: Iterable[GroupTag], my_nonce: bytes, cert: NodeIdentity) -> None:
    """The peer signed our nonce and the groups its hello listed with the key of the address its certificate binds."""
    signature = _hex(parse_frame(text, "auth"), "signature", 65)
    try:
        signer = recover_address(auth_digest(groups, my_nonce, cert.address), signature)
    except InvalidSignature as exc:
        raise IdentityMismatch("peer's auth signature does not recover") from exc
    if signer != cert.address:
        raise IdentityMismatch(f"peer signed with 0x{signer.hex()}, not the {cert.address_hex} its certificate binds")


def ready_frame(admit: Iterable[str]) -> str:
    """I admit you, in these groups (both of us hold them; my membership view of each admits you)."""
    return json.dumps({"type": "ready", "admit": sorted(admit)})


def parse_ready(text: str) -> frozenset[str]:
    return _parse_names(parse_frame(text, "ready"))


def groups_frame(held: Iterable[GroupTag], admit: Iterable[str]) -> str:
    """In-session: every group I now hold, and those I admit you in."""
    return json.dumps({"type": "groups", "groups": _tags_json(held), "admit": sorted(admit)})


def parse_groups(doc: dict[str, Any]) -> tuple[tuple[GroupTag, ...], frozenset[str]]:
    return _parse_tags(doc), _parse_names(doc)


def refuse_frame(code: str, message: str) -> str:
    return json.dumps({"type": "refuse", "code": code, "message": message})
