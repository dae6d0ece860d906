"""The genesis document: chain id, validators, members and the addresses of the contract suite.

Every node builds block 0 by running the same deployment from the same document (node/engine/chain_setup.py),
so the genesis state commitment (and hash) agree; `contracts` pins the addresses the deployment must yield.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from eth_utils import to_checksum_address

from network.hashing import keccak256 as keccak

GENESIS_FORMAT = "colend-genesis/1"
DEFAULT_DEPLOYER = bytes.fromhex("c01e4d000000000000000000000000000000d3b1")
DEFAULT_BLOCK_GAS_LIMIT = 1_000_000_000


@dataclass(frozen=True)
class GenesisMember:
    bank_id: str
    name: str
    role: str  # "BANK" | "OBSERVER"
    accounts: tuple[bytes, ...]


@dataclass(frozen=True)
class Genesis:
    chain_id: int
    timestamp_ms: int
    validators: tuple[bytes, ...]
    members: tuple[GenesisMember, ...]
    block_gas_limit: int = DEFAULT_BLOCK_GAS_LIMIT
    deployer: bytes = DEFAULT_DEPLOYER
    min_servicer_share_bps: int = 3000  # the 2021 notice's floor on the servicer's tranche
    contracts: dict[str, bytes] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": GENESIS_FORMAT,
            "chainId": self.chain_id,
            "timestampMs": self.timestamp_ms,
            "blockGasLimit": self.block_gas_limit,
            "validators": [to_checksum_address(v) for v in self.validators],
            "members": [{"bankId": m.bank_id, "name": m.name, "role": m.role,
                         "accounts": [to_checksum_address(a) for a in m.accounts]} for m in self.members],
            "deployer": to_checksum_address(self.deployer),
            "minServicerShareBps": self.min_servicer_share_bps,
            "contracts": {k: to_checksum_address(v) for k, v in sorted(self.contracts.items())},
        }

    def canonical_bytes(self) -> bytes:
        """Key-sorted compact JSON: what the genesis header's extra data commits to."""
        return json.dumps(self.to_json(), sort_keys=True, separators=(",", ":")).encode()

    def digest(self) -> bytes:
        return keccak(self.canonical_bytes())

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Genesis:
        if doc.get("format") != GENESIS_FORMAT:
            raise ValueError(f"not a {GENESIS_FORMAT} document")
        addr = lambda s: bytes.fromhex(s[2:])  # noqa: E731
        return cls(
            chain_id=int(doc["chainId"]),
            timestamp_ms=int(doc["timestampMs"]),
            block_gas_limit=int(doc.get("blockGasLimit", DEFAULT_BLOCK_GAS_LIMIT)),
            validators=tuple(addr(v) for v in doc["validators"]),
            members=tuple(GenesisMember(m["bankId"], m["name"], m["role"], tuple(addr(a) for a in m["accounts"]))
                          for m in doc["members"]),
            deployer=addr(doc.get("deployer", "0x" + DEFAULT_DEPLOYER.hex())),
            min_servicer_share_bps=int(doc.get("minServicerShareBps", 3000)),
            contracts={k: addr(v) for k, v in doc.get("contracts", {}).items()},
        )

    def with_contracts(self, contracts: dict[str, bytes]) -> Genesis:
        return replace(self, contracts=dict(contracts))
