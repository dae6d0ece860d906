"""Where things live in a consortium folder, and its manifest (consortium.json) listing every node.

    DIR/consortium.json            nodes, ports, roles (what `up` and `status` read)
    DIR/genesis.json               the one genesis every node starts from
    DIR/ca/                        the consortium CA (ca.key 0600, ca.pem, crl.pem, revoked.json): the operator's
    DIR/<MEMBER>/                  one bank's folder, to be handed to that bank alone:
        agency/agency.key|.pem     the bank's agency key and certificate (signs its node certificates)
        keys/account.key           the bank's on-chain account key
        <node>/node.toml           the node's config, genesis copy, keys/validator.key, tls/ (key, chain, CA, CRL)
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

MANIFEST = "consortium.json"


@dataclass(frozen=True)
class NodeEntry:
    name: str
    member: str
    role: str  # "validator" | "observer"
    address: str  # 0x node (validator) address
    p2p_port: int
    rpc_port: int
    metrics_port: int
    cert_serial: str  # hex

    def folder(self, root: Path) -> Path:
        return root / self.member / self.name

    def config(self, root: Path) -> Path:
        return self.folder(root) / "node.toml"


@dataclass(frozen=True)
class Manifest:
    chain_id: int
    nodes: tuple[NodeEntry, ...]

    def write(self, root: Path) -> None:
        doc = {"chainId": self.chain_id, "nodes": [asdict(n) for n in self.nodes]}
        (root / MANIFEST).write_text(json.dumps(doc, indent=2) + "\n")

    def node(self, name: str) -> NodeEntry:
        for entry in self.nodes:
            if entry.name == name:
                return entry
        raise KeyError(name)


def read_manifest(root: Path) -> Manifest:
    path = root / MANIFEST
    if not path.exists():
        raise FileNotFoundError(f"{root} is not a consortium folder (no {MANIFEST}); create one with `colend consortium init`")
    doc = json.loads(path.read_text())
    return Manifest(int(doc["chainId"]), tuple(NodeEntry(**n) for n in doc["nodes"]))


def ca_dir(root: Path) -> Path:
    return root / "ca"


def agency_dir(root: Path, member: str) -> Path:
    return root / member / "agency"
