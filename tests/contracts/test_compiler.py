"""The toolchain: artifacts are reused when nothing changed, failures and missing tools are explained."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from colend.cli import main
from contracts import compiler
from contracts.errors import CompileFailed, ToolchainMissing


def test_second_build_reuses_artifacts(tmp_path: Path) -> None:
    first = compiler.build(out_dir=tmp_path)
    assert first.compiled
    assert {"Consortium", "Clearing", "CoLending"} <= set(first.contracts)
    mtime = (tmp_path / "CoLending.json").stat().st_mtime_ns
    second = compiler.build(out_dir=tmp_path)
    assert not second.compiled
    assert (tmp_path / "CoLending.json").stat().st_mtime_ns == mtime
    artifact = json.loads((tmp_path / "CoLending.json").read_text())
    assert artifact["compiler"]["version"].startswith("0.8.28")
    assert artifact["settings"]["evmVersion"] == "shanghai"
    assert len(artifact["sourceHash"]) == 64


def test_fingerprint_follows_sources_settings_and_compiler() -> None:
    sources = {"A.sol": "contract A {}"}
    base = compiler.fingerprint(sources, "0.8.28")
    assert compiler.fingerprint({"A.sol": "contract A { }"}, "0.8.28") != base
    assert compiler.fingerprint(sources, "0.8.29") != base
    assert compiler.fingerprint(dict(sources), "0.8.28") == base


def test_compile_errors_carry_solc_messages() -> None:
    with pytest.raises(CompileFailed, match="ParserError"):
        compiler._compile({"Broken.sol": "pragma solidity 0.8.28; contract {"}, compiler.solc_version(), "x")


def test_missing_node_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ToolchainMissing, match="install nodejs"):
        compiler.check_toolchain()


def test_damaged_build_directory_is_rebuilt_not_trusted(tmp_path: Path) -> None:
    compiler.build(out_dir=tmp_path)
    (tmp_path / "CoLending.json").write_text("{not json")
    rebuilt = compiler.build(out_dir=tmp_path)
    assert rebuilt.compiled
    assert json.loads((tmp_path / "CoLending.json").read_text())["contractName"] == "CoLending"
    (tmp_path / "manifest.json").write_text("[]")
    assert compiler.build(out_dir=tmp_path).compiled


def test_cli_lists_contracts_with_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contracts", "build"]) == 0
    out = capsys.readouterr().out
    for name in ("Consortium", "Clearing", "CoLending"):
        assert name in out
    assert "up to date" in out or "compiled" in out
