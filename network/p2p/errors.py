"""The p2p transport and consortium PKI errors: each carries a stable `network.<reason>` code.

Refusals of peers are reported by code in one structured log line (`event=peer_refused code=...`), so an
operator can grep why a bank's node was turned away without reading a TLS alert.
"""

from __future__ import annotations


class P2PError(Exception):
    """Base of every p2p and PKI error; `code` is stable and machine-readable."""

    code: str = "network.error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class CertificateInvalid(P2PError):
    """A certificate that is not one of the consortium's, or that does not say who its holder is."""

    code = "network.cert_invalid"


class UnknownCa(CertificateInvalid):
    code = "network.unknown_ca"


class CertificateExpired(CertificateInvalid):
    code = "network.cert_expired"


class CertificateRevoked(CertificateInvalid):
    code = "network.cert_revoked"


class IdentityMismatch(P2PError):
    """The peer claims a validator address its certificate does not bind, or cannot sign for it."""

    code = "network.identity_mismatch"


class NotAMember(P2PError):
    """The certificate's member is not an active consortium member at the chain's head (or was suspended)."""

    code = "network.not_a_member"


class HandshakeMismatch(P2PError):
    """The peer runs another chain (chain id, genesis hash) or another protocol version."""

    code = "network.handshake_mismatch"


class HandshakeFailed(P2PError):
    """The peer broke the handshake protocol (bad frame, timeout, wrong order)."""

    code = "network.handshake_failed"


class RefusedByPeer(P2PError):
    """The peer refused us; `code` is the reason it sent (e.g. network.cert_revoked)."""

    code = "network.refused_by_peer"


class PeerStalled(P2PError):
    """The peer's bounded send queue filled up: it is disconnected so it cannot hold the others back."""

    code = "network.peer_stalled"


class PkiError(P2PError):
    """The consortium's PKI files are missing or inconsistent (e.g. a CRL not signed by the CA)."""

    code = "network.pki_error"
