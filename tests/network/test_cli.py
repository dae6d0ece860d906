import argparse
import json

import pytest

from network import cli


def test_sim_subcommand_registers_and_runs(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser(prog="colend")
    cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["sim", "--seeds", "3", "--n", "4", "--heights", "2"])
    assert args.func(args) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["seeds"] == 3 and summary["n"] == [4] and summary["safety_violations"] == 0
