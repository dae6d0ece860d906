"""`colend --help` and `colend node status` answer at once: building their parser imports no heavy library
(web3 alone took over a second). Checked on what is imported, not on a timing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("web3", "matplotlib", "polars", "pyrevm", "pandas", "rich", "plyvel", "aiohttp")
PROBE = """
import json, sys
from colend.cli import build_parser
argv = json.loads(sys.argv[1])
build_parser(argv)
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in json.loads(sys.argv[2]))))
"""


@pytest.mark.parametrize("argv", [["--help"], ["node", "status", "--rpc", "http://127.0.0.1:1"],
                                  ["node", "status", "--config", "node.toml"], ["init", "--dir", "x"]])
def test_parser_for_light_commands_loads_no_heavy_library(argv: list[str]) -> None:
    done = subprocess.run([sys.executable, "-c", PROBE, json.dumps(argv), json.dumps(HEAVY)], cwd=ROOT,
                          capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == []


def test_help_lists_every_command_without_loading_them() -> None:
    done = subprocess.run([sys.executable, "-m", "colend", "--help"], cwd=ROOT, capture_output=True, text=True, check=True)
    for command in ("contracts", "init", "node", "index", "recon", "sim", "demo"):
        assert f"\n    {command} " in done.stdout or f"\n    {command}\n" in done.stdout, command


def test_a_command_still_gets_its_full_parser() -> None:
    done = subprocess.run([sys.executable, "-m", "colend", "recon", "run", "--help"], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    assert "--mapping" in done.stdout
