"""PEM files of the PKI: private keys are created 0600 from their first byte, in 0700 folders."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from network.errors import PkiError
from network.pki.certs import PrivateKey


def write_private_key(path: Path, key: PrivateKey) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)


def write_certs(path: Path, certs: Iterable[x509.Certificate]) -> None:
    """A certificate chain, leaf first (node, then its agency), as TLS sends it."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs))
    os.replace(tmp, path)


def write_crl(path: Path, crl: x509.CertificateRevocationList) -> None:
    """Atomically (rename), so a node polling the file never reads half a list."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(crl.public_bytes(serialization.Encoding.PEM))
    os.replace(tmp, path)


def read_private_key(path: Path) -> PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, PrivateKey):
        raise PkiError(f"{path}: not an EC private key")
    return key


def read_cert(path: Path) -> x509.Certificate:
    """The first (leaf) certificate of a PEM file."""
    try:
        return x509.load_pem_x509_certificates(path.read_bytes())[0]
    except (OSError, ValueError, IndexError) as exc:
        raise PkiError(f"{path}: cannot read a certificate: {exc}") from exc
