"""The consortium PKI's rules: identity binding, CA-signed revocation lists, the key-proving handshake."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import NameOID

from network.errors import CertificateInvalid, HandshakeMismatch, IdentityMismatch, RefusedByPeer
from network.p2p.abc import GroupTag
from network.p2p.handshake import auth_frame, check_auth, check_hello, new_hello, parse_hello, refuse_frame
from network.pki.certs import issue_node, node_validity
from network.pki.files import read_cert
from network.pki.identity import node_identity
from network.pki.revocation import RevocationList
from network.qbft.crypto import PrivateKeySigner
from tests.network.pki_factory import NOW, MintedCa

TAG = GroupTag("main", 7, b"\x01" * 32)
CHAIN = (TAG,)


def test_a_node_certificate_binds_member_role_and_address(tmp_path: Path) -> None:
    ca = MintedCa(tmp_path)
    tls, signer, serial = ca.node("n", "WEBANK")
    identity = node_identity(read_cert(tls.cert_chain))
    assert (identity.member_id, identity.address, identity.role, identity.serial) == ("WEBANK", signer.address, "BANK", serial)


def test_a_certificate_without_a_coherent_identity_is_invalid(tmp_path: Path) -> None:
    ca = MintedCa(tmp_path)
    agency_key, agency_cert = ca.agency("WEBANK")
    # the SAN says WEBANK, the subject O another bank
    key, cert = issue_node(agency_key, agency_cert, "WEBANK", "n", b"\x01" * 20, "BANK", **node_validity(NOW))
    forged = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "MYBANK")]))
              .issuer_name(cert.issuer).public_key(key.public_key()).serial_number(1)
              .not_valid_before(cert.not_valid_before_utc).not_valid_after(cert.not_valid_after_utc)
              .add_extension(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value, critical=False)
              .sign(agency_key, hashes.SHA256()))
    with pytest.raises(CertificateInvalid, match="differ"):
        node_identity(forged)
    bare = (x509.CertificateBuilder().subject_name(cert.subject).issuer_name(cert.issuer).public_key(key.public_key())
            .serial_number(2).not_valid_before(cert.not_valid_before_utc).not_valid_after(cert.not_valid_after_utc)
            .sign(agency_key, hashes.SHA256()))
    with pytest.raises(CertificateInvalid, match="subjectAltName"):
        node_identity(bare)
    with pytest.raises(ValueError, match="role"):
        issue_node(agency_key, agency_cert, "WEBANK", "n", b"\x01" * 20, "ADMIN", **node_validity(NOW))


def test_a_revocation_list_not_signed_by_the_ca_is_refused_and_the_last_good_one_stays(tmp_path: Path) -> None:
    ca = MintedCa(tmp_path / "ca")
    ca.revoke(11)
    crl_copy = tmp_path / "crl.pem"
    shutil.copyfile(ca.crl_path, crl_copy)
    revocations = RevocationList(ca.cert, crl_copy)
    assert revocations.is_revoked(11)
    rogue = MintedCa(tmp_path / "rogue")
    rogue.revoke(12)  # a list that would also un-revoke 11
    shutil.copyfile(rogue.crl_path, crl_copy)
    os.utime(crl_copy, ns=(1, 1))
    assert revocations.reload_if_changed() is False
    assert revocations.is_revoked(11) and not revocations.is_revoked(12)
    ca.revoke(12)
    shutil.copyfile(ca.crl_path, crl_copy)
    assert revocations.reload_if_changed() is True
    assert revocations.serials == {11, 12}


def test_the_hello_must_match_chain_protocol_and_certificate(tmp_path: Path) -> None:
    ca = MintedCa(tmp_path)
    tls, signer, _ = ca.node("n", "WEBANK")
    cert = node_identity(read_cert(tls.cert_chain))
    hello = parse_hello(new_hello(CHAIN, "WEBANK", signer.address).to_json())
    check_hello(CHAIN, hello, cert)
    for other, theirs in (((GroupTag("main", 8, TAG.genesis_hash),), hello), ((GroupTag("main", 7, b"\x02" * 32),), hello),
                          (CHAIN, replace(hello, protocol=1))):
        with pytest.raises(HandshakeMismatch):
            check_hello(other, theirs, cert)
    liar = parse_hello(new_hello(CHAIN, "WEBANK", b"\x09" * 20).to_json())
    with pytest.raises(IdentityMismatch):
        check_hello(CHAIN, liar, cert)


def test_auth_proves_the_key_of_the_certified_address_over_the_peers_fresh_nonce(tmp_path: Path) -> None:
    ca = MintedCa(tmp_path)
    tls, signer, _ = ca.node("n", "WEBANK")
    cert = node_identity(read_cert(tls.cert_chain))
    nonce = os.urandom(32)
    check_auth(auth_frame(CHAIN, signer, nonce), CHAIN, nonce, cert)
    with pytest.raises(IdentityMismatch):  # replayed against another nonce
        check_auth(auth_frame(CHAIN, signer, nonce), CHAIN, os.urandom(32), cert)
    with pytest.raises(IdentityMismatch):  # someone else's key
        check_auth(auth_frame(CHAIN, PrivateKeySigner(os.urandom(32)), nonce), CHAIN, nonce, cert)
    with pytest.raises(RefusedByPeer) as refused:
        check_auth(refuse_frame("network.cert_revoked", "revoked"), CHAIN, nonce, cert)
    assert refused.value.code == "network.cert_revoked"

