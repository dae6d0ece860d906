"""The node configuration file (TOML): where the data, genesis and keys are, RPC address, block and pool limits,
for a node with peers, its role, member id, p2p listener, static peers and TLS files, and the ledger groups
it holds (`[[groups]]`: each an independent chain with its own genesis and store folder).

Relative paths are resolved against the config file's directory, so a node directory can be moved whole.
Without `[[groups]]` a node holds one group, DEFAULT_GROUP, whose files are `[node] genesis` and `data_dir`.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from node.defaults import (
    DEFAULT_BLOCK_PERIOD_MS,
    DEFAULT_GROUP,
    DEFAULT_MAX_TX_BYTES,
    DEFAULT_MAX_TXS_PER_BLOCK,
    EXECUTION_NICENESS,
)
from node.txpool.admission import PoolLimits

ROLES = ("validator", "observer")
# A group's name is a URL path segment (`/g/<name>` on the RPC port) and a folder name.
GROUP_NAME = re.compile(r"[a-z0-9-]{1,40}")


@dataclass(frozen=True)
class GroupConfig:
    """A ledger group the node holds: its name, its genesis document and its store folder."""

    name: str
    genesis: str
    data_dir: str


@dataclass(frozen=True)
class PeerConfig:
    """A static peer: where to dial it and who its certificate must say it is."""

    url: str
    member: str
    address: str  # 0x-hex node (validator) address


@dataclass(frozen=True)
class P2PConfig:
    host: str = "127.0.0.1"
    port: int = 0
    peers: tuple[PeerConfig, ...] = ()
    tls_cert: str = "tls/node.pem"  # node certificate, then its agency's
    tls_key: str = "tls/node.key"
    tls_ca: str = "tls/ca.pem"
    tls_crl: str = "tls/crl.pem"


@dataclass(frozen=True)
class NodeConfig:
    data_dir: str = "data"
    genesis: str = "genesis.json"
    validator_key: str = "keys/validator.key"
    node_id: str = "colend-node"
    rpc_host: str = "127.0.0.1"
    rpc_port: int = 8545
    block_period_ms: int = DEFAULT_BLOCK_PERIOD_MS
    allow_empty_blocks: bool = False
    max_txs_per_block: int = DEFAULT_MAX_TXS_PER_BLOCK
    max_block_gas: int = 0  # gas a proposer puts in one block; 0: up to the chain's block gas limit
    max_tx_bytes: int = DEFAULT_MAX_TX_BYTES
    recover_senders_in_workers: bool = True  # worker processes (node/proc/workers.py) prepare RPC tx batches
    execution_process: bool = True  # blocks execute in a child process (node/execution/process.py)
    execution_niceness: int = EXECUTION_NICENESS  # the execution process's niceness above the node's (0-19)
    pool: PoolLimits = field(default_factory=PoolLimits)
    role: str = "validator"  # an observer never votes and refuses writes
    member_id: str = ""
    p2p: P2PConfig | None = None  # None: a lone node with no peers
    metrics_port: int = 0  # 0: no Prometheus endpoint
    rpc_token_file: str = ""  # when set, RPC calls need "Authorization: Bearer <token in this file>"
    rpc_client_ca: str = ""  # when set, RPC is HTTPS and callers need a client certificate of this CA
    groups: tuple[GroupConfig, ...] = ()  # (): the default group alone; DEFAULT_GROUP's files are always [node]'s
    base_dir: str = "."

    def __post_init__(self) -> None:
        # The default group is derived, never stored apart from [node] genesis and data_dir, so that
        # `replace(config, data_dir=...)` moves it too.
        groups = tuple(self.default_group if g.name == DEFAULT_GROUP else g for g in self.groups)
        object.__setattr__(self, "groups", groups or (self.default_group,))
        check_groups(self.groups)

    @property
    def default_group(self) -> GroupConfig:
        return GroupConfig(DEFAULT_GROUP, self.genesis, self.data_dir)

    def path(self, value: str) -> Path:
        p = Path(value)
        return p if p.is_absolute() else Path(self.base_dir) / p

    def to_toml(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "node": {"data_dir": self.data_dir, "genesis": self.genesis, "validator_key": self.validator_key,
                     "node_id": self.node_id, "role": self.role, "member_id": self.member_id,
                     "execution_process": self.execution_process, "execution_niceness": self.execution_niceness},
            "rpc": {"host": self.rpc_host, "port": self.rpc_port, "token_file": self.rpc_token_file,
                    "client_ca": self.rpc_client_ca},
            "chain": {"block_period_ms": self.block_period_ms, "allow_empty_blocks": self.allow_empty_blocks,
                      "max_txs_per_block": self.max_txs_per_block, "max_block_gas": self.max_block_gas},
            "txpool": {"max_tx_bytes": self.max_tx_bytes, "recover_senders_in_workers": self.recover_senders_in_workers,
                       **asdict(self.pool)},
            "metrics": {"port": self.metrics_port},
        }
        if self.p2p is not None:
            doc["p2p"] = {**asdict(self.p2p), "peers": [asdict(p) for p in self.p2p.peers]}
        if self.groups != (self.default_group,):  # so a config of today is written byte for byte as before
            doc["groups"] = [asdict(g) for g in self.groups]
            if self.genesis == NodeConfig.genesis and self.default_group not in self.groups:
                del doc["node"]["genesis"]  # no such file: the groups name their own
        return doc

    def write(self, path: Path) -> None:
        """Written beside itself and renamed over the old file: a running node re-reads its config about once a
        second, and must never read half of one."""
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(tomli_w.dumps(self.to_toml()).encode())
        os.replace(tmp, path)


def load_config(path: str | Path) -> NodeConfig:
    path = Path(path)
    doc = tomllib.loads(path.read_text())
    node, rpc, chain, pool, metrics = (doc.get(k, {}) for k in ("node", "rpc", "chain", "txpool", "metrics"))
    defaults = NodeConfig()
    limits = PoolLimits(**{k: int(v) for k, v in pool.items() if k in PoolLimits.__dataclass_fields__})
    return NodeConfig(
        data_dir=node.get("data_dir", defaults.data_dir),
        genesis=node.get("genesis", defaults.genesis),
        validator_key=node.get("validator_key", defaults.validator_key),
        node_id=node.get("node_id", defaults.node_id),
        rpc_host=rpc.get("host", defaults.rpc_host),
        rpc_port=int(rpc.get("port", defaults.rpc_port)),
        block_period_ms=int(chain.get("block_period_ms", defaults.block_period_ms)),
        allow_empty_blocks=bool(chain.get("allow_empty_blocks", defaults.allow_empty_blocks)),
        max_txs_per_block=int(chain.get("max_txs_per_block", defaults.max_txs_per_block)),
        max_block_gas=int(chain.get("max_block_gas", defaults.max_block_gas)),
        max_tx_bytes=int(pool.get("max_tx_bytes", defaults.max_tx_bytes)),
        recover_senders_in_workers=bool(pool.get("recover_senders_in_workers", defaults.recover_senders_in_workers)),
        execution_process=bool(node.get("execution_process", defaults.execution_process)),
        execution_niceness=_niceness(node.get("execution_niceness", defaults.execution_niceness)),
        pool=limits,
        role=_role(node.get("role", defaults.role)),
        member_id=str(node.get("member_id", defaults.member_id)),
        p2p=_p2p(doc["p2p"]) if "p2p" in doc else None,
        metrics_port=int(metrics.get("port", defaults.metrics_port)),
        rpc_token_file=str(rpc.get("token_file", defaults.rpc_token_file)),
        rpc_client_ca=str(rpc.get("client_ca", defaults.rpc_client_ca)),
        groups=_groups(doc.get("groups", []), node.get("genesis", defaults.genesis),
                       node.get("data_dir", defaults.data_dir)),
        base_dir=str(path.resolve().parent),
    )


def check_groups(groups: tuple[GroupConfig, ...]) -> None:
    """Names URL-path-safe and unique, and no two groups on one store folder; a ValueError names the key."""
    names: dict[str, int] = {}
    folders: dict[str, int] = {}
    for i, group in enumerate(groups):
        if not isinstance(group.name, str) or not GROUP_NAME.fullmatch(group.name):
            raise ValueError(f"groups[{i}].name must be 1 to 40 lowercase letters, digits or '-', not {group.name!r}")
        if group.name in names:
            raise ValueError(f"groups[{i}].name {group.name!r} is also groups[{names[group.name]}]'s")
        folder = Path(group.data_dir).as_posix()
        if folder in folders:
            raise ValueError(f"groups[{i}].data_dir {group.data_dir!r} is also groups[{folders[folder]}]'s: "
                             f"each group needs its own store")
        names[group.name] = folders[folder] = i


def _groups(tables: object, genesis: str, data_dir: str) -> tuple[GroupConfig, ...]:
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise ValueError("groups must be an array of tables ([[groups]])")
    groups = []
    for i, table in enumerate(tables):
        unknown = sorted(set(table) - {"name", "genesis", "data_dir"})
        if unknown:
            raise ValueError(f"groups[{i}] has unknown keys: {', '.join(unknown)}")
        if table.get("name") == DEFAULT_GROUP:  # its files are [node]'s: it may say so, but name no others
            given = GroupConfig(DEFAULT_GROUP, table.get("genesis", genesis), table.get("data_dir", data_dir))
            if given != GroupConfig(DEFAULT_GROUP, genesis, data_dir):
                raise ValueError(f"groups[{i}]: the {DEFAULT_GROUP!r} group's genesis and data_dir are [node]'s "
                                 f"({genesis!r}, {data_dir!r}), not {given.genesis!r}, {given.data_dir!r}")
            groups.append(given)
            continue
        for key in ("name", "genesis", "data_dir"):
            if not isinstance(table.get(key), str):
                raise ValueError(f"groups[{i}].{key} must be a string, not {table.get(key)!r}")
        groups.append(GroupConfig(table["name"], table["genesis"], table["data_dir"]))
    return tuple(groups)


def _niceness(value: object) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 19:
        raise ValueError(f"node.execution_niceness must be an integer from 0 to 19, not {value!r}")
    return value


def _role(value: object) -> str:
    if value not in ROLES:
        raise ValueError(f"node.role must be one of {', '.join(ROLES)}, not {value!r}")
    return str(value)


def _p2p(section: dict[str, Any]) -> P2PConfig:
    peers = tuple(PeerConfig(str(p["url"]), str(p["member"]), str(p["address"])) for p in section.get("peers", []))
    fields = {k: section[k] for k in ("host", "tls_cert", "tls_key", "tls_ca", "tls_crl") if k in section}
    return P2PConfig(port=int(section.get("port", 0)), peers=peers, **fields)
