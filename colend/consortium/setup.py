"""Writing a consortium folder: CA, agencies, node keys and certificates, a genesis per group, node configs,
revocations."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import socket
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from eth_utils import to_checksum_address

from colend.consortium.atomic import write_atomic
from colend.consortium.groups import GroupPlan, plan_groups
from colend.consortium.layout import (
    GroupEntry,
    Manifest,
    NodeEntry,
    agency_dir,
    ca_dir,
    group_config,
    group_genesis,
    read_manifest,
)
from colend.errors import BadArguments, BankInNoGroup
from network.pki.certs import build_crl, create_ca, issue_agency, issue_node, node_validity
from network.pki.files import read_cert, read_private_key, write_certs, write_crl, write_private_key
from network.qbft import PrivateKeySigner
from node.chain.genesis import GenesisMember
from node.config import NodeConfig, P2PConfig, PeerConfig, load_config
from node.engine.genesis_build import new_genesis, new_member
from node.keyfiles import new_private_key, write_key

CA_NAME = "Colend Consortium CA"
# What a proposer puts in one block: every validator (and the observer) must execute it well within a round
# timeout on a shared machine, or multi-MB batch blocks time rounds out and round changes carry them again.
CONSORTIUM_MAX_BLOCK_GAS = 150_000_000


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class PortPlan:
    """Consecutive ports from `base`, or free ones picked now when base is 0 (tests on a shared machine)."""

    def __init__(self, base: int, taken: set[int] | None = None) -> None:
        self.next = base
        self.taken = set(taken or ())

    def take(self) -> int:
        if self.next == 0:
            while True:
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", 0))
                    port = int(sock.getsockname()[1])
                if port not in self.taken:
                    self.taken.add(port)
                    return port
        while self.next in self.taken:
            self.next += 1
        self.taken.add(self.next)
        return self.next


def _ensure_agency(root: Path, member: str) -> None:
    folder = agency_dir(root, member)
    if (folder / "agency.pem").exists():
        return
    ca_key = read_private_key(ca_dir(root) / "ca.key")
    key, cert = issue_agency(ca_key, read_cert(ca_dir(root) / "ca.pem"), member, _now())
    write_private_key(folder / "agency.key", key)
    write_certs(folder / "agency.pem", [cert])


def _issue_node_files(root: Path, member: str, name: str, role: str) -> tuple[bytes, int]:
    """Node key (0600) and TLS certificate chain in the node's folder; returns (address, serial)."""
    folder = root / member / name
    secret = new_private_key()
    write_key(folder / "keys" / "validator.key", secret)
    address = PrivateKeySigner(secret).address
    agency_key = read_private_key(agency_dir(root, member) / "agency.key")
    agency_cert = read_cert(agency_dir(root, member) / "agency.pem")
    key, cert = issue_node(agency_key, agency_cert, member, name, address,
                           "OBSERVER" if role == "observer" else "BANK", **node_validity(_now()))
    write_private_key(folder / "tls" / "node.key", key)
    write_certs(folder / "tls" / "node.pem", [cert, agency_cert])
    shutil.copyfile(ca_dir(root) / "ca.pem", folder / "tls" / "ca.pem")
    shutil.copyfile(ca_dir(root) / "crl.pem", folder / "tls" / "crl.pem")
    return address, cert.serial_number


def peer_of(entry: NodeEntry) -> PeerConfig:
    return PeerConfig(f"wss://127.0.0.1:{entry.p2p_port}/p2p", entry.member, entry.address)


def _shares_a_group(a: NodeEntry, b: NodeEntry) -> bool:
    return a.name != b.name and bool(set(a.groups) & set(b.groups))


def _write_node_config(root: Path, entry: NodeEntry, everyone: tuple[NodeEntry, ...], block_period_ms: int) -> None:
    """Its static peers are the nodes it shares a group with (an observer's: every node, as it is in every group)."""
    peers = tuple(peer_of(e) for e in everyone if _shares_a_group(entry, e))
    groups = tuple(group_config(g) for g in entry.groups)
    config = NodeConfig(node_id=entry.name, rpc_port=entry.rpc_port, block_period_ms=block_period_ms, role=entry.role,
                        max_block_gas=CONSORTIUM_MAX_BLOCK_GAS,
                        member_id=entry.member, metrics_port=entry.metrics_port,
                        p2p=P2PConfig(port=entry.p2p_port, peers=peers), groups=groups)
    config.write(entry.config(root))


def _node_names(member: str, count: int) -> list[str]:
    """`webank-0`, `webank-1`, ...: today's one node per bank keeps its name, and add-node counts on."""
    return [f"{member.lower()}-{i}" for i in range(count)]


def init_consortium(root: Path, *, banks: list[str], observers: list[str], chain_id: int, base_port: int,
                    block_period_ms: int, groups: list[tuple[str, ...]] | None = None,
                    nodes_per_bank: int = 1) -> Manifest:
    """A new consortium: `nodes_per_bank` validator nodes per bank, one observer node per observer, and one
    genesis per group (without `groups`, one group of every member: one genesis for all)."""
    if (root / "consortium.json").exists():
        raise FileExistsError(f"{root} already holds a consortium")
    if not banks:
        raise ValueError("a consortium needs at least one bank")
    if nodes_per_bank < 1:
        raise BadArguments(f"--nodes-per-bank must be at least 1, not {nodes_per_bank}")
    plans = plan_groups(groups, banks, observers, chain_id)  # refused before any file is written
    root.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = create_ca(CA_NAME, _now())
    write_private_key(ca_dir(root) / "ca.key", ca_key)
    write_certs(ca_dir(root) / "ca.pem", [ca_cert])
    write_crl(ca_dir(root) / "crl.pem", build_crl(ca_key, ca_cert, [], _now()))
    (ca_dir(root) / "revoked.json").write_text("[]\n")
    ports = PortPlan(base_port)
    entries: list[NodeEntry] = []
    accounts: dict[str, GenesisMember] = {}
    for member, role in [(b, "validator") for b in banks] + [(o, "observer") for o in observers]:
        _ensure_agency(root, member)
        accounts[member] = new_member(member, "BANK" if role == "validator" else "OBSERVER",
                                      root / member / "keys" / "account.key")
        held = tuple(p.name for p in plans if role == "observer" or member in p.members)
        for name in _node_names(member, nodes_per_bank if role == "validator" else 1):
            address, serial = _issue_node_files(root, member, name, role)
            entries.append(NodeEntry(name, member, role, to_checksum_address(address), ports.take(), ports.take(),
                                     ports.take(), f"{serial:x}", held))
    manifest = Manifest(chain_id, tuple(entries),
                        tuple(write_group_genesis(root, plan, observers, accounts, entries)
                              for plan in plans))
    for entry in entries:
        _write_node_config(root, entry, manifest.nodes, block_period_ms)
    manifest.write(root)
    return manifest


def write_group_genesis(root: Path, plan: GroupPlan, observers: list[str], accounts: dict[str, GenesisMember],
                        nodes: Sequence[NodeEntry]) -> GroupEntry:
    """The group's genesis (its registry: its banks, then every observer; its validators: its banks' validator
    nodes; its own contract suite) into DIR and into the folder of each node that holds the group."""
    holders = [e for e in nodes if plan.name in e.groups]
    validators = tuple(e.address for e in holders if e.role == "validator")
    genesis = new_genesis(plan.chain_id, tuple(bytes.fromhex(v[2:]) for v in validators),
                          tuple(accounts[m] for m in (*plan.members, *observers)))
    text = json.dumps(genesis.to_json(), indent=2) + "\n"
    for folder in (root, *(e.folder(root) for e in holders)):
        write_atomic(folder / group_genesis(plan.name), text)  # whole before any node.toml names it
    return GroupEntry(plan.name, plan.chain_id, plan.members, tuple(observers), validators)


def add_node(root: Path, *, member: str, role: str, name: str | None, base_port: int) -> NodeEntry:
    """A certificate and folder for one more node, holding its bank's groups; every node it shares a group with
    gets it as a static peer.

    It starts as a follower: it only signs blocks once a governance vote adds its address as validator."""
    manifest = read_manifest(root)
    index = sum(1 for e in manifest.nodes if e.member == member)
    name = name or f"{member.lower()}-{index}"
    if any(e.name == name for e in manifest.nodes):
        raise FileExistsError(f"node {name} already exists")
    held = manifest.groups_of(member, role)
    if not held:
        raise BankInNoGroup(f"{member} is in no group of this consortium: a node of it would hold no ledger")
    _ensure_agency(root, member)
    if not (root / member / "keys" / "account.key").exists():
        new_member(member, "BANK" if role == "validator" else "OBSERVER", root / member / "keys" / "account.key")
    address, serial = _issue_node_files(root, member, name, role)
    taken = {p for e in manifest.nodes for p in (e.p2p_port, e.rpc_port, e.metrics_port)}
    ports = PortPlan(base_port or 0, taken)
    entry = NodeEntry(name, member, role, to_checksum_address(address), ports.take(), ports.take(), ports.take(),
                      f"{serial:x}", held)
    for group in held:
        (entry.folder(root) / group_genesis(group)).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(root / group_genesis(group), entry.folder(root) / group_genesis(group))
    everyone = (*manifest.nodes, entry)
    block_period_ms = load_config(manifest.nodes[0].config(root)).block_period_ms
    _write_node_config(root, entry, everyone, block_period_ms)
    for other in manifest.nodes:
        if _shares_a_group(entry, other):
            config = load_config(other.config(root))
            assert config.p2p is not None
            peers = (*config.p2p.peers, peer_of(entry))
            replace(config, p2p=replace(config.p2p, peers=peers)).write(other.config(root))
    Manifest(manifest.chain_id, everyone, manifest.groups).write(root)
    return entry


def revoke_node(root: Path, name: str) -> int:
    """Revoke a node's certificate: the CA signs a new CRL, copied to every node's tls/crl.pem (each node
    re-reads it within a second and closes live sessions with the revoked certificate)."""
    manifest = read_manifest(root)
    serial = int(manifest.node(name).cert_serial, 16)
    revoked_file = ca_dir(root) / "revoked.json"
    revoked = set(json.loads(revoked_file.read_text())) | {f"{serial:x}"}
    revoked_file.write_text(json.dumps(sorted(revoked)) + "\n")
    crl = build_crl(read_private_key(ca_dir(root) / "ca.key"), read_cert(ca_dir(root) / "ca.pem"),
                    [int(s, 16) for s in revoked], _now())
    write_crl(ca_dir(root) / "crl.pem", crl)
    for entry in manifest.nodes:
        write_crl(entry.folder(root) / "tls" / "crl.pem", crl)
    return serial
