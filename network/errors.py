"""The network package's errors (driver, block sync, wire format, transport, PKI): each carries a stable
`network.<reason>` code.

Refusals of peers are reported by code in one structured log line (`event=peer_refused code=...`), so an
operator can grep why a bank's node was turned away without reading a TLS alert.
"""

from __future__ import annotations


class NetworkError(Exception):
    """Base of every error raised by network/; `code` is stable and machine-readable."""

    code: str = "network.error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class MalformedWireMessage(NetworkError):
    """Bytes from a peer that are not a message of ours; the receiver drops them (and may penalise the peer)."""

    code = "network.malformed_wire_message"


class MessageTooLarge(MalformedWireMessage):
    code = "network.message_too_large"


class UnknownLane(MalformedWireMessage):
    """A consensus payload whose first byte is no lane of network/wire.py; the code is counted and kept as it was."""

    code = "network.unknown_channel"


class UnsupportedVersion(MalformedWireMessage):
    code = "network.unsupported_version"


class TooManyItems(MalformedWireMessage):
    """A list longer than the protocol allows (blocks in a response, seals on a block)."""

    code = "network.too_many_items"


class BlockRejected(NetworkError):
    """The chain refused a block offered by sync (it does not extend the head, or does not execute)."""

    code = "network.block_rejected"


class ChainHalted(NetworkError):
    """The chain computed another state than a quorum sealed: the node stops rather than fork silently."""

    code = "network.chain_halted"


class ConsensusFailed(NetworkError):
    """Consensus could not go on even after restarting from its durable state; the node stops."""

    code = "network.consensus_failed"


class CertificateInvalid(NetworkError):
    """A certificate that is not one of the consortium's, or that does not say who its holder is."""

    code = "network.cert_invalid"


class UnknownCa(CertificateInvalid):
    code = "network.unknown_ca"


class CertificateExpired(CertificateInvalid):
    code = "network.cert_expired"


class CertificateRevoked(CertificateInvalid):
    code = "network.cert_revoked"


class IdentityMismatch(NetworkError):
    """The peer claims a validator address its certificate does not bind, or cannot sign for it."""

    code = "network.identity_mismatch"


class NotAMember(NetworkError):
    """The certificate's member is not an active consortium member at the chain's head (or was suspended)."""

    code = "network.not_a_member"


class NotInGroup(NetworkError):
    """A frame of a ledger group from a peer the group does not admit (or of a group this node does not hold)."""

    code = "network.not_in_group"


class NoCommonGroup(NetworkError):
    """The peer holds none of this node's ledger groups: a session would carry nothing."""

    code = "network.no_common_group"


class UnknownGroup(NetworkError):
    """The host was asked about a ledger group it does not hold."""

    code = "network.unknown_group"


class GroupConflict(NetworkError):
    """A group added to the host reuses the name or the chain id of one it holds."""

    code = "network.group_conflict"


class HandshakeMismatch(NetworkError):
    """The peer runs another protocol version, or a group both hold with another chain id or genesis hash."""

    code = "network.handshake_mismatch"


class HandshakeFailed(NetworkError):
    """The peer broke the handshake protocol (bad frame, timeout, wrong order)."""

    code = "network.handshake_failed"


class RefusedByPeer(NetworkError):
    """The peer refused us; `code` is the reason it sent (e.g. network.cert_revoked)."""

    code = "network.refused_by_peer"


class PeerStalled(NetworkError):
    """The peer's bounded send queue filled up: it is disconnected so it cannot hold the others back."""

    code = "network.peer_stalled"


class PkiError(NetworkError):
    """The consortium's PKI files are missing or inconsistent (e.g. a CRL not signed by the CA)."""

    code = "network.pki_error"
