"""The deployment file: where the suite lives on a chain, and the checks that a node really is that chain.

`colend contracts deploy` writes it (after every confirmed step, so an interrupted deploy resumes); the indexer,
`colend recon run`, `colend index sync` and SuiteClient read it instead of asking a Colend node for addresses.
Before trusting it they check, over standard JSON-RPC only: the node's chain id, the code at each address
(its keccak against the recorded code hash) and that the artifacts built here are the ones deployed.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from eth_utils import to_checksum_address
from web3 import Web3

from contracts.artifacts import SUITE, load_artifact
from contracts.errors import ArtifactsChanged, BytecodeMismatch, ChainIdMismatch, DeploymentFileInvalid, NodeUnreachable
from network.hashing import keccak256 as keccak

DEPLOYMENT_FORMAT = "colend-deployment/1"


def code_hash(code: bytes) -> str:
    return "0x" + keccak(code).hex()


def initcode_hash(contract: str) -> str:
    """The fingerprint of a contract's artifact: keccak of its creation bytecode (constructor args excluded)."""
    return code_hash(load_artifact(contract).bytecode)


@dataclass(frozen=True)
class DeployedContract:
    """One contract of the suite on chain, with what is needed to re-derive and check its code."""

    address: str
    block: int
    tx_hash: str
    constructor_args: bytes
    initcode_hash: str
    code_hash: str

    def to_json(self) -> dict[str, Any]:
        return {"address": self.address, "block": self.block, "tx": self.tx_hash,
                "constructorArgs": "0x" + self.constructor_args.hex(), "initcodeHash": self.initcode_hash,
                "codeHash": self.code_hash}  # fmt: skip

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> DeployedContract:
        return cls(to_checksum_address(doc["address"]), int(doc["block"]), str(doc["tx"]),
                   bytes.fromhex(str(doc["constructorArgs"]).removeprefix("0x")), str(doc["initcodeHash"]),
                   str(doc["codeHash"]))  # fmt: skip


@dataclass(frozen=True)
class Deployment:
    """The suite on one chain. `contracts` fills in deploy order; `bound` once CoLending is bound to Clearing."""

    chain_id: int
    deployer: str
    compiler: str
    contracts: dict[str, DeployedContract] = field(default_factory=dict)
    bound: bool = False
    pending: dict[str, str] = field(default_factory=dict)  # step -> hash of a sent tx whose receipt is not yet in

    @property
    def complete(self) -> bool:
        return self.bound and all(name in self.contracts for name in SUITE)

    @property
    def block(self) -> int:
        """The block of the first deployment tx: nothing of the suite can be logged before it."""
        return min(c.block for c in self.contracts.values())

    def addresses(self) -> dict[str, str]:
        return {name: c.address for name, c in self.contracts.items()}

    def with_contract(self, name: str, contract: DeployedContract) -> Deployment:
        pending = {k: v for k, v in self.pending.items() if k != name}
        return replace(self, contracts={**self.contracts, name: contract}, pending=pending)

    def with_pending(self, step: str, tx_hash: str | None) -> Deployment:
        """Records (or, with None, forgets) the tx of a step, so a re-run after a crash waits for it, not resends."""
        pending = {k: v for k, v in self.pending.items() if k != step}
        return replace(self, pending=pending if tx_hash is None else {**pending, step: tx_hash})

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"format": DEPLOYMENT_FORMAT, "chainId": self.chain_id, "deployer": self.deployer,
                               "compiler": self.compiler, "complete": self.complete, "bound": self.bound}  # fmt: skip
        if self.contracts:
            doc["block"] = self.block
        doc["contracts"] = {name: c.to_json() for name, c in self.contracts.items()}
        if self.pending:
            doc["pending"] = dict(self.pending)
        return doc

    @classmethod
    def from_json(cls, doc: Any, source: str = "deployment file") -> Deployment:
        if not isinstance(doc, dict) or doc.get("format") != DEPLOYMENT_FORMAT:
            raise DeploymentFileInvalid(f"{source} is not a {DEPLOYMENT_FORMAT} document")
        try:
            contracts = {str(n): DeployedContract.from_json(c) for n, c in doc["contracts"].items()}
            pending = {str(k): str(v) for k, v in doc.get("pending", {}).items()}
            return cls(int(doc["chainId"]), to_checksum_address(doc["deployer"]), str(doc["compiler"]), contracts,
                       bool(doc.get("bound", False)), pending)  # fmt: skip
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise DeploymentFileInvalid(f"{source} is damaged: {type(err).__name__} {err}") from err

    def save(self, path: Path) -> None:
        """Atomically (temp file + rename): a crash leaves the previous file or the new one."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(json.dumps(self.to_json(), indent=2) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    # ------------------------------------------------------------------ checks against a node

    def check_node(self, w3: Web3) -> None:
        """Refuses a node that is not this deployment's chain, or whose code differs from the artifacts'."""
        if not self.complete:
            raise DeploymentFileInvalid("the deployment is not complete: run `colend contracts deploy` again to finish it")
        check_chain_id(w3, self.chain_id)
        for name in SUITE:
            self.check_contract(w3, name)

    def check_contract(self, w3: Web3, name: str) -> None:
        contract = self.contracts[name]
        built = initcode_hash(name)
        if built != contract.initcode_hash:
            raise ArtifactsChanged(
                f"{name} was deployed from other artifacts (initcode {contract.initcode_hash[:18]}…) than the ones built"
                f" here ({built[:18]}…): use the Colend version that deployed it, or deploy anew")
        on_chain = code_hash(bytes(_rpc(w3, lambda: w3.eth.get_code(Web3.to_checksum_address(contract.address)))))
        if on_chain != contract.code_hash:
            raise BytecodeMismatch(
                f"the code at {name}'s address {contract.address} on chain {self.chain_id} is not the deployed {name}"
                f" (code hash {on_chain[:18]}…, expected {contract.code_hash[:18]}…)")


def check_chain_id(w3: Web3, expected: int) -> None:
    actual = int(_rpc(w3, lambda: w3.eth.chain_id))
    if actual != expected:
        raise ChainIdMismatch(f"the node is chain {actual}, but the deployment file is for chain {expected}")


def load_deployment(path: Path | str) -> Deployment:
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise DeploymentFileInvalid(f"no deployment file at {path}") from err
    except (OSError, ValueError) as err:
        raise DeploymentFileInvalid(f"cannot read deployment file {path}: {err}") from err
    return Deployment.from_json(doc, str(path))


def _rpc(w3: Web3, request: Any) -> Any:
    try:
        return request()
    except OSError as err:  # requests' connection errors are OSErrors
        raise NodeUnreachable(f"cannot reach the node at {_endpoint(w3)}: {err}") from err


def _endpoint(w3: Web3) -> str:
    return str(getattr(w3.provider, "endpoint_uri", "") or w3.provider)
