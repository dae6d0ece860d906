"""`colend sim ...`: the consensus fault simulator as a subcommand of the node's CLI."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    from network.sim.main import DESCRIPTION, add_arguments, run

    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sim", help="run the seeded QBFT fault simulator and print one JSON object", description=DESCRIPTION
    )
    add_arguments(parser)
    parser.set_defaults(func=run)
