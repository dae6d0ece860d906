"""Compiles the Solidity sources with the solc-js pinned in package.json, driven by py-solc-x through a shim.

Artifacts (ABI, bytecode, deployed bytecode, source hash, compiler version, settings) are written per contract
to the build directory, with a manifest keyed by a fingerprint of sources + settings + compiler, so an
unchanged tree is never recompiled.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contracts.errors import CompileFailed, ToolchainMissing

PACKAGE_DIR = Path(__file__).resolve().parent
SOURCE_DIR = PACKAGE_DIR / "src"
SHIM = PACKAGE_DIR / "solc-shim.js"
SOLC_JS_DIR = PACKAGE_DIR / "node_modules" / "solc"
DEFAULT_BUILD_DIR = PACKAGE_DIR / "build"
MANIFEST_NAME = "manifest.json"

# Shanghai: the fork the node's pyrevm runs (spec_id="SHANGHAI"); keep the two in step.
EVM_VERSION = "shanghai"
SETTINGS: Mapping[str, Any] = {
    "evmVersion": EVM_VERSION,
    "optimizer": {"enabled": True, "runs": 200},
    "viaIR": True,
    "metadata": {"bytecodeHash": "none"},
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
}


@dataclass(frozen=True)
class BuildResult:
    """What a build produced: the artifact directory, the contracts and whether solc actually ran."""

    build_dir: Path
    contracts: dict[str, dict[str, Any]]
    compiled: bool


def build_dir() -> Path:
    """The artifact directory: $COLEND_BUILD_DIR, else contracts/build."""
    return Path(os.environ.get("COLEND_BUILD_DIR", DEFAULT_BUILD_DIR))


def check_toolchain() -> None:
    """Fails with what to install when Node.js or the pinned solc-js is missing."""
    if shutil.which("node") is None:
        raise ToolchainMissing("Node.js is not on PATH: install nodejs and npm (e.g. apt-get install nodejs npm)")
    if not (SOLC_JS_DIR / "package.json").exists():
        raise ToolchainMissing(f"solc-js is not installed: run `npm ci` in {PACKAGE_DIR}")


def source_files() -> dict[str, str]:
    """Every .sol file under src/, by its name relative to src/, in a stable order."""
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(SOURCE_DIR.glob("*.sol"))}


def solc_version() -> str:
    """The pinned solc-js version, read from its package.json (no process start)."""
    check_toolchain()
    return str(json.loads((SOLC_JS_DIR / "package.json").read_text())["version"])


def fingerprint(sources: Mapping[str, str], version: str) -> str:
    """Changes whenever a source, a setting or the compiler changes."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"settings": SETTINGS, "solc": version}, sort_keys=True).encode())
    for name in sorted(sources):
        digest.update(name.encode() + b"\0" + sources[name].encode() + b"\0")
    return digest.hexdigest()


def build(force: bool = False, out_dir: Path | None = None) -> BuildResult:
    """Compiles when sources, settings or compiler changed (or `force`); otherwise reuses the artifacts."""
    out = out_dir or build_dir()
    sources = source_files()
    version = solc_version()
    fp = fingerprint(sources, version)
    if not force:
        cached = _load_cached(out, fp)
        if cached is not None:
            return BuildResult(out, cached, compiled=False)
    artifacts = _compile(sources, version, fp)
    _write(out, artifacts, fp, version)
    return BuildResult(out, artifacts, compiled=True)


def _compile(sources: Mapping[str, str], version: str, fp: str) -> dict[str, dict[str, Any]]:
    import solcx  # deferred: importing it is slow and only a real compile needs it

    check_toolchain()
    standard_input = {
        "language": "Solidity",
        "sources": {name: {"content": text} for name, text in sources.items()},
        "settings": SETTINGS,
    }
    try:
        output = solcx.compile_standard(standard_input, solc_binary=str(SHIM), base_path=str(SOURCE_DIR))
    except solcx.exceptions.SolcError as err:
        raise CompileFailed(_solc_messages(err.stdout_data) or str(err)) from err
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompileFailed("\n".join(e.get("formattedMessage", e.get("message", "")) for e in errors))
    artifacts: dict[str, dict[str, Any]] = {}
    for source_name in sorted(output["contracts"]):
        source_hash = hashlib.sha256(sources[source_name].encode()).hexdigest()
        for name, contract in sorted(output["contracts"][source_name].items()):
            bytecode = contract["evm"]["bytecode"]["object"]
            if not bytecode or not contract["abi"]:  # interfaces, and libraries of internal functions only
                continue
            artifacts[name] = {
                "contractName": name,
                "sourceName": source_name,
                "abi": contract["abi"],
                "bytecode": "0x" + bytecode,
                "deployedBytecode": "0x" + contract["evm"]["deployedBytecode"]["object"],
                "sourceHash": source_hash,
                "compiler": {"name": "solc-js", "version": version},
                "settings": SETTINGS,
                "fingerprint": fp,
            }
    return artifacts


def _solc_messages(stdout: str) -> str:
    """The compiler's own formatted error messages, without py-solc-x's command dump."""
    try:
        errors = json.loads(stdout).get("errors", [])
    except (ValueError, AttributeError):
        return ""
    return "\n".join(e.get("formattedMessage", e.get("message", "")) for e in errors if e.get("severity") == "error")


def _write(out: Path, artifacts: Mapping[str, dict[str, Any]], fp: str, version: str) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, artifact in artifacts.items():
        _atomic_write(out / f"{name}.json", json.dumps(artifact, indent=1, sort_keys=True))
    manifest = {"fingerprint": fp, "compiler": version, "contracts": sorted(artifacts)}
    _atomic_write(out / MANIFEST_NAME, json.dumps(manifest, indent=1, sort_keys=True))


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _load_cached(out: Path, fp: str) -> dict[str, dict[str, Any]] | None:
    """The artifacts of a previous build with this fingerprint; None when missing, stale or unreadable."""
    try:
        manifest = json.loads((out / MANIFEST_NAME).read_text())
        if manifest.get("fingerprint") != fp:
            return None
        artifacts = {name: json.loads((out / f"{name}.json").read_text()) for name in manifest["contracts"]}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # a damaged build directory is rebuilt, never half-trusted
    if any(a.get("fingerprint") != fp for a in artifacts.values()):
        return None
    return artifacts
