"""`colend recon limits`: the regulator's view of the 2021 notice's limits, from an index.

Exit codes: 0 when no limit is breached (banks without declared figures are listed as UNDECLARED), 1 when one
is, 2 for errors.
"""

from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console

from clearing.cli_errors import fail
from clearing.errors import ClearingError
from clearing.indexer.store import IndexStore
from clearing.policy import Limits, report
from clearing.policy.exposure import MAX_LOANS_LISTED
from clearing.policy.limits import JOINT_LENDING_LIMIT_BPS, PARTNER_LIMIT_BPS
from clearing.policy.view import print_report


def register(commands: argparse._SubParsersAction) -> None:
    """Add `limits` to the `colend recon` commands."""
    limits = commands.add_parser("limits", help="joint-lending exposures against the 2021 notice's limits")
    limits.add_argument("--index", required=True, help="LevelDB query index directory")
    limits.add_argument("--bank", help="show only this bank's checks (breach exit code still covers all banks)")
    limits.add_argument("--json", action="store_true", help="print the report as JSON")
    limits.add_argument("--currency", default="CNY", help="currency of the tranches and declared figures")
    limits.add_argument("--partner-limit-bps", type=int, default=PARTNER_LIMIT_BPS, help="per-partner limit, bps of tier-1")
    limits.add_argument("--joint-limit-bps", type=int, default=JOINT_LENDING_LIMIT_BPS, help="joint lending limit, bps of loans")
    limits.add_argument("--max-loans", type=int, default=MAX_LOANS_LISTED, help="loans listed per breach, largest first")
    limits.set_defaults(func=cmd_limits)


def cmd_limits(args: argparse.Namespace) -> int:
    try:
        bounds = Limits(partner_bps=args.partner_limit_bps, joint_lending_bps=args.joint_limit_bps)
        with IndexStore(args.index, create=False) as store:
            result = report(store, limits=bounds, currency=args.currency, max_loans=args.max_loans)
    except ClearingError as exc:
        return fail(exc)
    if args.json:
        sys.stdout.write(json.dumps(result.to_dict(), indent=2) + "\n")
    else:
        print_report(Console(), result, bank=args.bank)
    return 1 if result.breaches else 0
