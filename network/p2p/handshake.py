"""The versioned p2p handshake, pure: hello (protocol, chain id, genesis hash, who I am, a fresh nonce), then
auth (my node key's signature over the peer's nonce), so a peer proves it holds the key its certificate binds,
then ready (I admit you); a refusal at any step is a `refuse` frame carrying the stable code.

TLS already proved the peer holds the certificate's TLS key; the auth step ties the session to the
secp256k1 key that signs its consensus messages, so a bank cannot pass off another bank's validator
address even with a certificate the CA issued it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from network.errors import HandshakeFailed, HandshakeMismatch, IdentityMismatch, RefusedByPeer
from network.hashing import keccak256
from network.pki.identity import NodeIdentity
from network.qbft.crypto import Signer, recover_address
from network.qbft.errors import InvalidSignature

PROTOCOL_VERSION = 1
AUTH_DOMAIN = b"colend-p2p-auth/1"
NONCE_BYTES = 32
READY_FRAME = json.dumps({"type": "ready"})


@dataclass(frozen=True, slots=True)
class ChainTag:
    """What both ends must share to talk at all."""

    chain_id: int
    genesis_hash: bytes
    protocol: int = PROTOCOL_VERSION


@dataclass(frozen=True, slots=True)
class Hello:
    chain: ChainTag
    member_id: str
    address: bytes
    nonce: bytes

    def to_json(self) -> str:
        return json.dumps({"type": "hello", "protocol": self.chain.protocol, "chainId": self.chain.chain_id,
                           "genesis": "0x" + self.chain.genesis_hash.hex(), "member": self.member_id,
                           "address": "0x" + self.address.hex(), "nonce": "0x" + self.nonce.hex()})


def new_hello(chain: ChainTag, member_id: str, address: bytes) -> Hello:
    return Hello(chain, member_id, address, os.urandom(NONCE_BYTES))


def _hex(doc: dict[str, Any], key: str, size: int) -> bytes:
    value = doc.get(key)
    if not isinstance(value, str) or not value.startswith("0x"):
        raise HandshakeFailed(f"hello field {key} is missing or not 0x-hex")
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError as exc:
        raise HandshakeFailed(f"hello field {key} is not hex") from exc
    if len(raw) != size:
        raise HandshakeFailed(f"hello field {key} must be {size} bytes")
    return raw


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
    protocol, chain_id, member = doc.get("protocol"), doc.get("chainId"), doc.get("member")
    if not isinstance(protocol, int) or not isinstance(chain_id, int) or not isinstance(member, str):
        raise HandshakeFailed("hello needs integer protocol and chainId and a member id")
    return Hello(ChainTag(chain_id, _hex(doc, "genesis", 32), protocol), member, _hex(doc, "address", 20),
                 _hex(doc, "nonce", NONCE_BYTES))


def check_hello(mine: ChainTag, hello: Hello, cert: NodeIdentity) -> None:
    """Same protocol, chain and genesis; and the hello names who the certificate says the peer is."""
    theirs = hello.chain
    if theirs.protocol != mine.protocol:
        raise HandshakeMismatch(f"protocol version {theirs.protocol}, this node speaks {mine.protocol}")
    if theirs.chain_id != mine.chain_id:
        raise HandshakeMismatch(f"chain id {theirs.chain_id}, this node runs {mine.chain_id}")
    if theirs.genesis_hash != mine.genesis_hash:
        raise HandshakeMismatch(f"genesis 0x{theirs.genesis_hash.hex()}, this node's is 0x{mine.genesis_hash.hex()}")
    if hello.member_id != cert.member_id or hello.address != cert.address:
        raise IdentityMismatch(f"peer claims {hello.member_id}/0x{hello.address.hex()} but its certificate binds "
                               f"{cert.member_id}/{cert.address_hex}")


def auth_digest(chain: ChainTag, peer_nonce: bytes, signer_address: bytes) -> bytes:
    return keccak256(AUTH_DOMAIN + chain.chain_id.to_bytes(8, "big") + chain.genesis_hash + peer_nonce
                     + signer_address)


def auth_frame(chain: ChainTag, signer: Signer, peer_nonce: bytes) -> str:
    signature = signer.sign(auth_digest(chain, peer_nonce, signer.address))
    return json.dumps({"type": "auth", "signature": "0x" + signature.hex()})


def check_auth(text: str, chain: ChainTag, my_nonce: bytes, cert: NodeIdentity) -> None:
    """The peer signed our nonce with the key of the address its certificate binds."""
    signature = _hex(parse_frame(text, "auth"), "signature", 65)
    try:
        signer = recover_address(auth_digest(chain, my_nonce, cert.address), signature)
    except InvalidSignature as exc:
        raise IdentityMismatch("peer's auth signature does not recover") from exc
    if signer != cert.address:
        raise IdentityMismatch(f"peer signed with 0x{signer.hex()}, not the {cert.address_hex} its certificate binds")


def refuse_frame(code: str, message: str) -> str:
    return json.dumps({"type": "refuse", "code": code, "message": message})
