"""TLS contexts for mutual authentication inside the consortium: TLS 1.3 only, CERT_REQUIRED both ways.

Both ends present a node certificate chained to the consortium CA (node -> agency -> CA) and verify the
other's against that CA alone; host names are not checked, identity is what the certificate binds
(network/pki/identity.py) and is checked after the handshake together with revocation and membership.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from network.errors import (
    CertificateExpired,
    CertificateInvalid,
    CertificateRevoked,
    NetworkError,
    UnknownCa,
)

# OpenSSL X509_V_ERR_* codes a verification failure carries
_VERIFY_CODES: dict[int, type[CertificateInvalid]] = {
    2: UnknownCa, 18: UnknownCa, 19: UnknownCa, 20: UnknownCa, 21: UnknownCa, 30: UnknownCa,
    9: CertificateExpired, 10: CertificateExpired, 23: CertificateRevoked,
}
# TLS alerts the other end sends when it refuses our certificate
_ALERTS: dict[str, type[NetworkError]] = {
    "UNKNOWN_CA": UnknownCa, "CERTIFICATE_EXPIRED": CertificateExpired, "CERTIFICATE_REVOKED": CertificateRevoked,
    "BAD_CERTIFICATE": CertificateInvalid, "CERTIFICATE_REQUIRED": CertificateInvalid,
}


@dataclass(frozen=True, slots=True)
class TlsFiles:
    cert_chain: Path  # node cert then agency cert (PEM)
    key: Path
    ca: Path
    crl: Path | None = None


def _context(files: TlsFiles, purpose: ssl.Purpose) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if purpose is ssl.Purpose.CLIENT_AUTH else ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.load_verify_locations(cafile=str(files.ca))
    ctx.load_cert_chain(str(files.cert_chain), str(files.key))
    return ctx


def server_context(files: TlsFiles) -> ssl.SSLContext:
    return _context(files, ssl.Purpose.CLIENT_AUTH)


def client_context(files: TlsFiles) -> ssl.SSLContext:
    return _context(files, ssl.Purpose.SERVER_AUTH)


def classify_tls_error(exc: BaseException) -> NetworkError:
    """The stable network error for a failed TLS handshake, from our verification or the peer's alert."""
    cause: BaseException | None = exc
    while cause is not None:
        inner = getattr(cause, "certificate_error", None) or getattr(cause, "os_error", None)
        if inner is not None and inner is not cause:  # aiohttp wraps the ssl error (and also subclasses it)
            cause = inner
            continue
        if isinstance(cause, ssl.SSLCertVerificationError):
            kind = _VERIFY_CODES.get(cause.verify_code, CertificateInvalid)
            return kind(f"peer certificate refused: {cause.verify_message}")
        if isinstance(cause, ssl.SSLError):
            reason = (cause.reason or "").upper()
            for alert, kind in _ALERTS.items():
                if reason.endswith(alert):
                    return kind(f"peer refused our certificate: {cause.reason}")
            return NetworkError(f"TLS handshake failed: {cause.reason or cause}", code="network.tls_failed")
        cause = cause.__cause__
    return NetworkError(f"connection failed: {exc}", code="network.unreachable")
