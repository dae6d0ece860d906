"""Issuing the consortium's certificates: CA -> agency (one per bank) -> node, and the CA's revocation list.

Pure functions of keys, names and times (the caller passes `now`), so tests can mint expired or foreign
certificates exactly as the real CLI mints valid ones. Keys are ECDSA P-256: small, fast to verify in TLS.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from network.pki.identity import ROLES, identity_uris

CA_DAYS = 3650
AGENCY_DAYS = 1825
NODE_DAYS = 730
CRL_DAYS = 30

PrivateKey = ec.EllipticCurvePrivateKey


def new_tls_key() -> PrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str, org: str | None = None) -> x509.Name:
    parts = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if org is not None:
        parts.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    return x509.Name(parts)


def _builder(subject: x509.Name, issuer: x509.Name, key: PrivateKey, not_before: dt.datetime,
             not_after: dt.datetime) -> x509.CertificateBuilder:
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))


def create_ca(name: str, now: dt.datetime, *, days: int = CA_DAYS) -> tuple[PrivateKey, x509.Certificate]:
    """The consortium's self-signed root; it signs agency certificates and the revocation list."""
    key = new_tls_key()
    subject = _name(name, name)
    cert = (_builder(subject, subject, key, now - dt.timedelta(minutes=5), now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def issue_agency(ca_key: PrivateKey, ca_cert: x509.Certificate, member_id: str, now: dt.datetime, *,
                 days: int = AGENCY_DAYS) -> tuple[PrivateKey, x509.Certificate]:
    """A bank's intermediate: it may sign its own nodes' certificates and nothing below them."""
    key = new_tls_key()
    cert = (_builder(_name(f"{member_id} agency", member_id), ca_cert.subject, key, now - dt.timedelta(minutes=5),
                     now + dt.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


def issue_node(agency_key: PrivateKey, agency_cert: x509.Certificate, member_id: str, node_name: str,
               address: bytes, role: str, *, not_before: dt.datetime, not_after: dt.datetime,
               key: PrivateKey | None = None) -> tuple[PrivateKey, x509.Certificate]:
    """A node's TLS certificate, for both ends of mutual TLS, binding member id, role and validator address."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    key = key or new_tls_key()
    cert = (_builder(_name(node_name, member_id), agency_cert.subject, key, not_before, not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, True, False, True, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"), *identity_uris(member_id, address, role)]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(agency_key.public_key()), critical=False)
            .sign(agency_key, hashes.SHA256()))
    return key, cert


def node_validity(now: dt.datetime, days: int = NODE_DAYS) -> dict[str, dt.datetime]:
    return {"not_before": now - dt.timedelta(minutes=5), "not_after": now + dt.timedelta(days=days)}


def build_crl(ca_key: PrivateKey, ca_cert: x509.Certificate, serials: Iterable[int], now: dt.datetime, *,
              days: int = CRL_DAYS) -> x509.CertificateRevocationList:
    """The CA-signed list of revoked node (or agency) certificate serials that every node honours."""
    builder = (x509.CertificateRevocationListBuilder().issuer_name(ca_cert.subject).last_update(now)
               .next_update(now + dt.timedelta(days=days)))
    for serial in sorted(set(serials)):
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now).build())
    return builder.sign(ca_key, hashes.SHA256())
