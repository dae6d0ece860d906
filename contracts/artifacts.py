"""Compiled contracts as typed objects: what node/, clearing/, tests and benches load instead of raw JSON."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from contracts import compiler
from contracts.errors import ArtifactNotFound

SUITE = ("Consortium", "Clearing", "CoLending")  # in deploy order: each constructor takes the ones before it


@dataclass(frozen=True)
class Artifact:
    """One compiled contract: ABI, creation and runtime bytecode, and the provenance of the build."""

    name: str
    abi: tuple[dict[str, Any], ...]
    bytecode: bytes
    deployed_bytecode: bytes
    source_hash: str
    compiler_version: str

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Artifact:
        return cls(
            name=data["contractName"],
            abi=tuple(data["abi"]),
            bytecode=bytes.fromhex(data["bytecode"][2:]),
            deployed_bytecode=bytes.fromhex(data["deployedBytecode"][2:]),
            source_hash=data["sourceHash"],
            compiler_version=data["compiler"]["version"],
        )


@cache
def load_artifact(name: str, build_dir: Path | None = None) -> Artifact:
    """The artifact of contract `name`, compiling first if the build is missing or stale."""
    result = compiler.build(out_dir=build_dir)
    if name not in result.contracts:
        known = ", ".join(sorted(result.contracts)) or "none"
        raise ArtifactNotFound(f"no compiled contract named {name!r} (known: {known})")
    return Artifact.from_json(result.contracts[name])

