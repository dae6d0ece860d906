"""Where things live in a consortium folder, and its manifest (consortium.json) listing every group and node.

    DIR/consortium.json            groups, nodes, ports, roles, RPC URLs, the groups each node holds and runs
                                   or has stopped, removed groups (what `up`, `status` and the group commands read)
    DIR/genesis.json               the one group's genesis (a consortium made without --groups), or
    DIR/groups/<group>/genesis.json   each group's genesis (with --groups)
    DIR/ca/                        the consortium CA (ca.key 0600, ca.pem, crl.pem, revoked.json): the operator's
    DIR/<MEMBER>/                  one bank's folder, to be handed to that bank alone:
        agency/agency.key|.pem     the bank's agency key and certificate (signs its node certificates)
        keys/account.key           the bank's on-chain account key (one account in every group it is in)
        <node>/node.toml           the node's config, keys/validator.key, tls/ (key, chain, CA, CRL), and the
                                   genesis of each group its bank is in, at the group's path below DIR
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from colend.consortium.atomic import write_atomic
from node.config import DEFAULT_GROUP, GroupConfig

MANIFEST = "consortium.json"
DEFAULT_GENESIS = "genesis.json"


def group_genesis(name: str) -> str:
    """Where a group's genesis is, relative to DIR and to each of its nodes' folders alike."""
    return DEFAULT_GENESIS if name == DEFAULT_GROUP else f"groups/{name}/genesis.json"


def group_data_dir(name: str) -> str:
    """A group's store folder, relative to its node's folder."""
    return "data" if name == DEFAULT_GROUP else f"data/{name}"


def group_config(name: str) -> GroupConfig:
    """A group's `[[groups]]` entry in the node.toml of every node that runs it."""
    return GroupConfig(name, group_genesis(name), group_data_dir(name))


@dataclass(frozen=True)
class GroupEntry:
    """A ledger group: an independent chain of its member banks, the observers in it too."""

    name: str
    chain_id: int
    members: tuple[str, ...]  # the group's banks, in the order given
    observers: tuple[str, ...]
    validators: tuple[str, ...]  # 0x node addresses of the members' validator nodes

    @property
    def genesis(self) -> str:
        return group_genesis(self.name)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "chainId": self.chain_id, "members": list(self.members),
                "observers": list(self.observers), "validators": list(self.validators), "genesis": self.genesis}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> GroupEntry:
        return cls(str(doc["name"]), int(doc["chainId"]), tuple(doc["members"]), tuple(doc["observers"]),
                   tuple(doc["validators"]))


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
    groups: tuple[str, ...] = (DEFAULT_GROUP,)  # the groups it holds and runs (its node.toml's [[groups]])
    stopped: tuple[str, ...] = ()  # the groups it holds, stopped: their genesis and data stay in its folder

    def folder(self, root: Path) -> Path:
        return root / self.member / self.name

    def config(self, root: Path) -> Path:
        return self.folder(root) / "node.toml"

    def rpc_url(self, group: str | None = None) -> str:
        """A group's JSON-RPC endpoint on this node; with no group, the port's root (the node's first group's)."""
        root = f"http://127.0.0.1:{self.rpc_port}"
        return root if group is None else f"{root}/g/{group}"

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {**asdict(self), "groups": list(self.groups),
                               "rpcUrls": {g: self.rpc_url(g) for g in self.groups}}
        if self.stopped:
            doc["stopped"] = list(self.stopped)
        else:  # a folder with nothing stopped reads as before groups could be
            del doc["stopped"]
        if self.groups[:1] == (DEFAULT_GROUP,):  # the port's root serves the node's first group
            doc["rpcUrl"] = self.rpc_url()
        return doc

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> NodeEntry:
        known = {k: v for k, v in doc.items() if k in cls.__dataclass_fields__}
        return cls(**{**known, "groups": tuple(doc.get("groups", (DEFAULT_GROUP,))),
                      "stopped": tuple(doc.get("stopped", ()))})


@dataclass(frozen=True)
class Manifest:
    chain_id: int  # the consortium's base chain id: the default group's, or the one group chain ids count from
    nodes: tuple[NodeEntry, ...]
    groups: tuple[GroupEntry, ...] = ()
    removed: tuple[GroupEntry, ...] = ()  # groups removed: their chain ids are never given out again

    def write(self, root: Path) -> None:
        doc: dict[str, Any] = {"chainId": self.chain_id, "groups": [g.to_json() for g in self.groups],
                               "nodes": [n.to_json() for n in self.nodes]}
        if self.removed:
            doc["removedGroups"] = [g.to_json() for g in self.removed]
        write_atomic(root / MANIFEST, json.dumps(doc, indent=2) + "\n")

    def next_chain_id(self) -> int:
        """A new group's: one above every chain id the consortium has given out, a removed group's too (a tx
        signed for a removed group must never be valid on a new one)."""
        return max((self.chain_id, *(g.chain_id for g in (*self.groups, *self.removed)))) + 1

    def banks(self) -> list[str]:
        """The members with validator nodes, in the order of their first node."""
        return list(dict.fromkeys(n.member for n in self.nodes if n.role == "validator"))

    def observers(self) -> list[str]:
        """The members with observer nodes only (the regulator): they are in every group."""
        banks = self.banks()
        return [m for m in dict.fromkeys(n.member for n in self.nodes if n.role == "observer") if m not in banks]

    def node(self, name: str) -> NodeEntry:
        for entry in self.nodes:
            if entry.name == name:
                return entry
        raise KeyError(name)

    def group(self, name: str) -> GroupEntry:
        for group in self.groups:
            if group.name == name:
                return group
        raise KeyError(name)

    def groups_of(self, member: str, role: str) -> tuple[str, ...]:
        """The groups a node of this member holds: an observer's, every group; a bank's, those it is in."""
        if role == "observer" or [g.name for g in self.groups] == [DEFAULT_GROUP]:
            return tuple(g.name for g in self.groups)  # the one default group is every member's, later ones too
        return tuple(g.name for g in self.groups if member in g.members)


def read_manifest(root: Path) -> Manifest:
    path = root / MANIFEST
    if not path.exists():
        raise FileNotFoundError(f"{root} is not a consortium folder (no {MANIFEST}); create one with `colend consortium init`")
    doc = json.loads(path.read_text())
    nodes = tuple(NodeEntry.from_json(n) for n in doc["nodes"])
    if "groups" in doc:
        groups = tuple(GroupEntry.from_json(g) for g in doc["groups"])
    else:  # written before groups: its one group is the genesis every node starts from
        groups = (_default_group(int(doc["chainId"]), json.loads((root / DEFAULT_GENESIS).read_text())),)
    removed = tuple(GroupEntry.from_json(g) for g in doc.get("removedGroups", ()))
    return Manifest(int(doc["chainId"]), nodes, groups, removed)


def _default_group(chain_id: int, genesis: dict[str, Any]) -> GroupEntry:
    def ids(role: str) -> tuple[str, ...]:
        return tuple(str(m["bankId"]) for m in genesis["members"] if m["role"] == role)

    return GroupEntry(DEFAULT_GROUP, chain_id, ids("BANK"), ids("OBSERVER"),
                      tuple(genesis["validators"]))


def ca_dir(root: Path) -> Path:
    return root / "ca"


def agency_dir(root: Path, member: str) -> Path:
    return root / member / "agency"
