"""`colend consortium init|add-node|revoke`: the folder a consortium operator hands out, bank by bank."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from cryptography import x509

from colend.cli import main
from colend.consortium.layout import read_manifest
from colend.consortium.setup import CONSORTIUM_MAX_BLOCK_GAS
from network.pki.files import read_cert
from network.pki.identity import node_identity
from network.pki.revocation import load_crl_serials
from network.qbft import PrivateKeySigner
from node.config import load_config
from node.keyfiles import read_key

BANKS = ["WEBANK", "MYBANK", "XWBANK", "HRBANK"]


@pytest.fixture(scope="module")
def consortium(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("consortium") / "c"
    assert main(["consortium", "init", "--banks", ",".join(BANKS), "--observers", "REGULATOR", "--out", str(root),
                 "--base-port", "0"]) == 0
    return root


def chain(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def test_every_node_certificate_chains_to_the_ca_through_its_banks_agency_and_binds_its_key(consortium: Path) -> None:
    ca = read_cert(consortium / "ca" / "ca.pem")
    manifest = read_manifest(consortium)
    assert [n.member for n in manifest.nodes] == [*BANKS, "REGULATOR"]
    for entry in manifest.nodes:
        folder = entry.folder(consortium)
        node_cert, agency_cert = chain(folder / "tls" / "node.pem")
        node_cert.verify_directly_issued_by(agency_cert)
        agency_cert.verify_directly_issued_by(ca)
        assert agency_cert == read_cert(consortium / entry.member / "agency" / "agency.pem")
        identity = node_identity(node_cert)
        assert identity.member_id == entry.member
        assert identity.role == ("OBSERVER" if entry.role == "observer" else "BANK")
        assert identity.address == PrivateKeySigner(read_key(folder / "keys" / "validator.key")).address
        assert identity.address_hex == entry.address.lower()


def test_private_keys_are_0600_and_a_banks_folder_holds_no_other_banks_secrets(consortium: Path) -> None:
    keys = [p for p in consortium.rglob("*.key")]
    assert len(keys) == 1 + 5 * 4  # CA; per member: agency, account, node key, TLS key
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in keys)
    for bank in BANKS:
        inside = {p for p in keys if p.is_relative_to(consortium / bank)}
        assert len(inside) == 4
        assert not any(p.is_relative_to(consortium / bank) for p in keys if p not in inside)


def test_one_genesis_for_all_with_the_banks_nodes_as_validators_and_every_node_peering_the_others(consortium: Path) -> None:
    manifest = read_manifest(consortium)
    genesis = (consortium / "genesis.json").read_text()
    doc = json.loads(genesis)
    assert {v.lower() for v in doc["validators"]} == {n.address.lower() for n in manifest.nodes if n.role == "validator"}
    assert {m["bankId"]: m["role"] for m in doc["members"]} == {**dict.fromkeys(BANKS, "BANK"), "REGULATOR": "OBSERVER"}
    ports = [p for n in manifest.nodes for p in (n.p2p_port, n.rpc_port, n.metrics_port)]
    assert len(set(ports)) == len(ports)
    for entry in manifest.nodes:
        assert (entry.folder(consortium) / "genesis.json").read_text() == genesis
        config = load_config(entry.config(consortium))
        assert config.role == entry.role and config.member_id == entry.member and config.rpc_host == "127.0.0.1"
        assert config.max_block_gas == CONSORTIUM_MAX_BLOCK_GAS  # blocks every node executes well within a round
        assert config.p2p is not None and config.p2p.port == entry.p2p_port
        assert {(p.member, p.address) for p in config.p2p.peers} == {
            (n.member, n.address) for n in manifest.nodes if n.name != entry.name}


def test_add_node_issues_a_certificate_and_makes_it_a_static_peer_of_every_node(consortium: Path, capsys) -> None:
    assert main(["consortium", "add-node", str(consortium), "--member", "WEBANK"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["name"] == "webank-1" and "proposeAddValidator" in out["next"]
    manifest = read_manifest(consortium)
    entry = manifest.node("webank-1")
    identity = node_identity(read_cert(entry.folder(consortium) / "tls" / "node.pem"))
    assert (identity.member_id, identity.address_hex) == ("WEBANK", entry.address.lower())
    for other in manifest.nodes:
        if other.name != "webank-1":
            config = load_config(other.config(consortium))
            assert config.p2p is not None and entry.address in {p.address for p in config.p2p.peers}


def test_revoke_signs_a_new_crl_into_every_node_folder(consortium: Path) -> None:
    manifest = read_manifest(consortium)
    assert main(["consortium", "revoke", str(consortium), "--node", "hrbank-0"]) == 0
    ca = read_cert(consortium / "ca" / "ca.pem")
    serial = int(manifest.node("hrbank-0").cert_serial, 16)
    for entry in manifest.nodes:
        assert load_crl_serials(entry.folder(consortium) / "tls" / "crl.pem", ca) == {serial}


def test_init_refuses_an_existing_consortium_and_status_explains_a_missing_one(consortium: Path, tmp_path: Path,
                                                                                capsys) -> None:
    assert main(["consortium", "init", "--out", str(consortium)]) == 2
    assert "already holds a consortium" in capsys.readouterr().err
    assert main(["consortium", "status", str(tmp_path)]) == 2
    assert "not a consortium folder" in capsys.readouterr().err
