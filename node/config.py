"""The node configuration file (TOML): where the data, genesis and keys are, RPC address, block and pool limits.

Relative paths are resolved against the config file's directory, so a node directory can be moved whole.
"""

from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from node.defaults import DEFAULT_BLOCK_PERIOD_MS, DEFAULT_MAX_TX_BYTES, DEFAULT_MAX_TXS_PER_BLOCK
from node.txpool.admission import PoolLimits


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
    max_tx_bytes: int = DEFAULT_MAX_TX_BYTES
    pool: PoolLimits = field(default_factory=PoolLimits)
    base_dir: str = "."

    def path(self, value: str) -> Path:
        p = Path(value)
        return p if p.is_absolute() else Path(self.base_dir) / p

    def to_toml(self) -> dict[str, Any]:
        return {
            "node": {"data_dir": self.data_dir, "genesis": self.genesis, "validator_key": self.validator_key,
                     "node_id": self.node_id},
            "rpc": {"host": self.rpc_host, "port": self.rpc_port},
            "chain": {"block_period_ms": self.block_period_ms, "allow_empty_blocks": self.allow_empty_blocks,
                      "max_txs_per_block": self.max_txs_per_block},
            "txpool": {"max_tx_bytes": self.max_tx_bytes, **asdict(self.pool)},
        }

    def write(self, path: Path) -> None:
        path.write_bytes(tomli_w.dumps(self.to_toml()).encode())


def load_config(path: str | Path) -> NodeConfig:
    path = Path(path)
    doc = tomllib.loads(path.read_text())
    node, rpc, chain, pool = (doc.get(k, {}) for k in ("node", "rpc", "chain", "txpool"))
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
        max_tx_bytes=int(pool.get("max_tx_bytes", defaults.max_tx_bytes)),
        pool=limits,
        base_dir=str(path.resolve().parent),
    )
