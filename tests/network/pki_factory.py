"""Certificates the p2p and PKI tests mint themselves: a consortium, its members' nodes, and bad variants."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from network.pki.certs import PrivateKey, build_crl, create_ca, issue_agency, issue_node, node_validity
from network.pki.files import write_certs, write_crl, write_private_key
from network.pki.tls import TlsFiles
from network.qbft.crypto import PrivateKeySigner

NOW = dt.datetime.now(dt.UTC)


@dataclass
class MintedCa:
    root: Path
    name: str = "Test Consortium CA"
    key: PrivateKey = field(init=False)
    cert: x509.Certificate = field(init=False)
    agencies: dict[str, tuple[PrivateKey, x509.Certificate]] = field(default_factory=dict)
    revoked: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.key, self.cert = create_ca(self.name, NOW)
        self.root.mkdir(parents=True, exist_ok=True)
        write_certs(self.ca_path, [self.cert])
        self.write_crl()

    @property
    def ca_path(self) -> Path:
        return self.root / "ca.pem"

    @property
    def crl_path(self) -> Path:
        return self.root / "crl.pem"

    def write_crl(self) -> None:
        write_crl(self.crl_path, build_crl(self.key, self.cert, self.revoked, dt.datetime.now(dt.UTC)))

    def revoke(self, serial: int) -> None:
        self.revoked.add(serial)
        self.write_crl()

    def agency(self, member: str) -> tuple[PrivateKey, x509.Certificate]:
        if member not in self.agencies:
            self.agencies[member] = issue_agency(self.key, self.cert, member, NOW)
        return self.agencies[member]

    def node(self, name: str, member: str, *, secret: bytes | None = None, claim: bytes | None = None,
             expired: bool = False, role: str = "BANK", trust: MintedCa | None = None) -> tuple[TlsFiles, PrivateKeySigner, int]:
        """A node folder: TLS key and chain, the CA it trusts (`trust`, default this one) and its CRL.

        `claim` binds another address than the node key's into the certificate."""
        signer = PrivateKeySigner(secret or os.urandom(32))
        agency_key, agency_cert = self.agency(member)
        validity = ({"not_before": NOW - dt.timedelta(days=10), "not_after": NOW - dt.timedelta(days=1)}
                    if expired else node_validity(NOW))
        key, cert = issue_node(agency_key, agency_cert, member, name, claim or signer.address, role, **validity)
        folder = self.root / name
        write_private_key(folder / "node.key", key)
        write_certs(folder / "node.pem", [cert, agency_cert])
        trusted = trust or self
        return TlsFiles(folder / "node.pem", folder / "node.key", trusted.ca_path, trusted.crl_path), signer, cert.serial_number
