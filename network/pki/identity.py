"""Who a consortium certificate says its holder is: member id, role and the node's validator address.

The member id sits in the subject (O) and in the SAN as `colend:member:<ID>`; the node's address (the
secp256k1 key it signs consensus messages with, a validator's or an observer's) as
`colend:validator:0x<40 hex>`; the role as `colend:role:BANK|OBSERVER`. SAN URIs are standard X.509,
readable by openssl and any TLS stack, so no private extension needs a parser of its own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

from network.errors import CertificateInvalid

MEMBER_URI = "colend:member:"
VALIDATOR_URI = "colend:validator:0x"
ROLE_URI = "colend:role:"
ROLES = ("BANK", "OBSERVER")


@dataclass(frozen=True, slots=True)
class NodeIdentity:
    member_id: str
    address: bytes  # 20 bytes: the node's validator (or observer) key address
    role: str
    serial: int
    not_after: dt.datetime

    @property
    def address_hex(self) -> str:
        return "0x" + self.address.hex()


def identity_uris(member_id: str, address: bytes, role: str) -> list[x509.UniformResourceIdentifier]:
    return [x509.UniformResourceIdentifier(MEMBER_URI + member_id),
            x509.UniformResourceIdentifier(VALIDATOR_URI + address.hex()),
            x509.UniformResourceIdentifier(ROLE_URI + role)]


def node_identity(cert: x509.Certificate) -> NodeIdentity:
    """The identity a node certificate binds; CertificateInvalid if any part is missing or they disagree."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound as exc:
        raise CertificateInvalid("certificate has no subjectAltName identity") from exc
    uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    members = [u[len(MEMBER_URI):] for u in uris if u.startswith(MEMBER_URI)]
    addresses = [u[len(VALIDATOR_URI):] for u in uris if u.startswith(VALIDATOR_URI)]
    roles = [u[len(ROLE_URI):] for u in uris if u.startswith(ROLE_URI)]
    if len(members) != 1 or len(addresses) != 1 or len(roles) != 1:
        raise CertificateInvalid("certificate must bind exactly one member, validator address and role")
    subject_orgs = [a.value for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    if subject_orgs != [members[0]]:
        raise CertificateInvalid("certificate subject O and SAN member id differ")
    try:
        address = bytes.fromhex(addresses[0])
    except ValueError as exc:
        raise CertificateInvalid("certificate validator address is not hex") from exc
    if len(address) != 20 or roles[0] not in ROLES:
        raise CertificateInvalid("certificate validator address or role is malformed")
    return NodeIdentity(members[0], address, roles[0], cert.serial_number, cert.not_valid_after_utc)


def identity_from_der(der: bytes) -> NodeIdentity:
    return node_identity(x509.load_der_x509_certificate(der))
