"""The revoked-certificate list every node honours: a CRL signed by the consortium CA, re-read on change.

A node checks it when a peer connects and, whenever the file changes, against every live session
(network/p2p/host.py closes the revoked ones). A list that is not signed by the CA is refused and the
previous one stays in force, so a tampered file can neither revoke nor un-revoke anyone.
"""

from __future__ import annotations

import logging
from pathlib import Path

from cryptography import x509

from network.errors import PkiError

log = logging.getLogger("colend.pki")


class RevocationList:
    def __init__(self, ca_cert: x509.Certificate, path: Path | None) -> None:
        self.ca_cert = ca_cert
        self.path = path
        self.serials: frozenset[int] = frozenset()
        self._stamp: tuple[int, int] | None = None
        self.reload_if_changed()

    def is_revoked(self, serial: int) -> bool:
        return serial in self.serials

    def reload_if_changed(self) -> bool:
        """Re-read the file if its size or mtime moved; True when the set of revoked serials changed."""
        if self.path is None:
            return False
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            return False
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._stamp:
            return False
        self._stamp = stamp
        try:
            serials = load_crl_serials(self.path, self.ca_cert)
        except PkiError as exc:
            log.error("event=crl_refused path=%s code=%s reason=%s", self.path, exc.code, exc.message)
            return False
        changed = serials != self.serials
        self.serials = serials
        if changed:
            log.info("event=crl_loaded path=%s revoked=%d", self.path, len(serials))
        return changed


def load_crl_serials(path: Path, ca_cert: x509.Certificate) -> frozenset[int]:
    try:
        crl = x509.load_pem_x509_crl(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise PkiError(f"{path}: not a CRL: {exc}") from exc
    if crl.issuer != ca_cert.subject or not crl.is_signature_valid(ca_cert.public_key()):  # type: ignore[arg-type]
        raise PkiError(f"{path}: CRL is not signed by the consortium CA")
    return frozenset(entry.serial_number for entry in crl)
