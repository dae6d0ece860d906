"""`colend consortium init|add-node|revoke|up|status` and its groups' `add-group|stop-group|start-group|remove-group`:
a real consortium, one process per bank's node."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from node.launch.cli import DEFAULT_CHAIN_ID

if TYPE_CHECKING:
    from colend.consortium.lifecycle import GroupChange

DEFAULT_BANKS = "WEBANK,MYBANK,XWBANK,HRBANK"


def _ids(text: str) -> list[str]:
    return [part.strip().upper() for part in text.split(",") if part.strip()]


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("consortium", help="create, run and inspect a multi-process consortium")
    sub = parser.add_subparsers(dest="consortium_command", required=True, metavar="ACTION")
    init = sub.add_parser("init", help="CA, certificates, keys, genesis and a node folder per member")
    init.add_argument("--banks", default=DEFAULT_BANKS, help="comma-separated bank ids: one validator node each")
    init.add_argument("--observers", default="", help="comma-separated observer ids (e.g. REGULATOR): one observer node each")
    init.add_argument("--out", required=True, type=Path, help="the consortium folder to create")
    init.add_argument("--chain-id", type=int, default=DEFAULT_CHAIN_ID)
    init.add_argument("--base-port", type=int, default=30300, help="first port (p2p, rpc, metrics per node); 0 picks free ports")
    init.add_argument("--block-period-ms", type=int, default=200)
    init.add_argument("--groups", default=None,
                      help="ledger groups, banks joined by '+' (e.g. WEBANK+XWBANK,MYBANK+XWBANK): each its own chain "
                           "of its banks and the observers; default: one group of every member")
    init.add_argument("--nodes-per-bank", type=int, default=1, help="validator nodes per bank (default 1)")
    init.set_defaults(func=cmd_init)
    add = sub.add_parser("add-node", help="certificate and folder for one more node (it signs only once voted in)")
    add.add_argument("dir", type=Path)
    add.add_argument("--member", required=True)
    add.add_argument("--role", choices=("validator", "observer"), default="validator")
    add.add_argument("--name", default=None)
    add.add_argument("--base-port", type=int, default=0)
    add.set_defaults(func=cmd_add_node)
    revoke = sub.add_parser("revoke", help="revoke a node's certificate (new CRL to every node; live sessions close)")
    revoke.add_argument("dir", type=Path)
    revoke.add_argument("--node", required=True)
    revoke.set_defaults(func=cmd_revoke)
    up = sub.add_parser("up", help="start every node as a process (a log per node); Ctrl-C stops them all")
    up.add_argument("dir", type=Path)
    up.set_defaults(func=cmd_up)
    add_group = sub.add_parser("add-group", help="a new ledger group for the existing nodes: running nodes start it")
    add_group.add_argument("dir", type=Path)
    add_group.add_argument("--members", required=True, help="the group's banks, comma-separated (e.g. WEBANK,HRBANK)")
    add_group.set_defaults(func=cmd_add_group)
    for action, text in (("stop-group", "out of the nodes' configs: running nodes stop it; its data stays"),
                         ("start-group", "a stopped group back into the nodes' configs: running nodes start it")):
        command = sub.add_parser(action, help=text)
        command.add_argument("dir", type=Path)
        command.add_argument("--group", required=True)
        command.add_argument("--node", default=None, help="this node only (default: every node holding the group)")
        command.set_defaults(func=cmd_stop_group if action == "stop-group" else cmd_start_group)
    remove = sub.add_parser("remove-group", help="stop a group everywhere and drop it from consortium.json")
    remove.add_argument("dir", type=Path)
    remove.add_argument("--group", required=True)
    remove.add_argument("--delete-data", action="store_true",
                        help="also delete its store folders and genesis copies (without it, no data is deleted)")
    remove.add_argument("--wait", type=float, default=None, metavar="SECONDS",
                        help="with --delete-data: how long to wait for running nodes to close its store (default 20)")
    remove.set_defaults(func=cmd_remove_group)
    status = sub.add_parser("status", help="height, round, peers and lag of every node in every group; stopped ones said")
    status.add_argument("dir", type=Path)
    status.add_argument("--json", action="store_true", help="one JSON document instead of a table")
    status.set_defaults(func=cmd_status)


def cmd_init(args: argparse.Namespace) -> int:
    from colend.consortium.groups import parse_groups
    from colend.consortium.setup import init_consortium
    from colend.errors import ColendError

    try:
        manifest = init_consortium(args.out, banks=_ids(args.banks), observers=_ids(args.observers),
                                   chain_id=args.chain_id, base_port=args.base_port,
                                   block_period_ms=args.block_period_ms,
                                   groups=None if args.groups is None else parse_groups(args.groups),
                                   nodes_per_bank=args.nodes_per_bank)
    except (ColendError, FileExistsError, ValueError) as exc:
        return _refused(exc)
    print(json.dumps({"dir": str(args.out), "chainId": manifest.chain_id,
                      "groups": [g.to_json() for g in manifest.groups],
                      "nodes": [{"name": n.name, "member": n.member, "role": n.role, "address": n.address,
                                 "p2pPort": n.p2p_port, "rpcPort": n.rpc_port, "metricsPort": n.metrics_port,
                                 "rpcUrls": n.to_json()["rpcUrls"], "config": str(n.config(args.out))}
                                for n in manifest.nodes]}, indent=2))
    return 0


def _refused(exc: Exception, code: int = 2) -> int:
    """One line on stderr, with the stable code of the application's errors; the exit code."""
    from colend.errors import ColendError

    print(f"error [{exc.code}]: {exc.message}" if isinstance(exc, ColendError) else f"error: {exc}", file=sys.stderr)
    return code


def cmd_add_node(args: argparse.Namespace) -> int:
    from colend.consortium.setup import add_node
    from colend.errors import ColendError

    try:
        entry = add_node(args.dir, member=args.member.upper(), role=args.role, name=args.name, base_port=args.base_port)
    except (ColendError, FileExistsError, FileNotFoundError, ValueError) as exc:
        return _refused(exc)
    print(json.dumps({"name": entry.name, "member": entry.member, "role": entry.role, "address": entry.address,
                      "groups": list(entry.groups), "config": str(entry.config(args.dir)),
                      "next": f"it joins as a follower; to sign blocks, members vote Consortium.proposeAddValidator"
                              f"({entry.address}), then restart the other nodes to pick up the new static peer"},
                     indent=2))
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    from colend.consortium.setup import revoke_node

    try:
        serial = revoke_node(args.dir, args.node)
    except (KeyError, FileNotFoundError) as exc:
        print(f"error: no such node or consortium: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"revoked": args.node, "serial": f"{serial:x}"}))
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    from colend.consortium.operate import run_up

    try:
        return run_up(args.dir)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def cmd_add_group(args: argparse.Namespace) -> int:
    from colend.consortium.lifecycle import add_group

    members = tuple(_ids(args.members.replace("+", ",")))
    return _group_command(lambda: add_group(args.dir, members), args.dir,
                          "running nodes start it once they re-read node.toml (about a second); "
                          f"`colend consortium status {args.dir}` shows it once they do")


def cmd_stop_group(args: argparse.Namespace) -> int:
    from colend.consortium.lifecycle import stop_group

    return _group_command(lambda: stop_group(args.dir, args.group, args.node), args.dir,
                          "running nodes stop it once they re-read node.toml; its genesis and data stay; "
                          "start-group starts it again")


def cmd_start_group(args: argparse.Namespace) -> int:
    from colend.consortium.lifecycle import start_group

    return _group_command(lambda: start_group(args.dir, args.group, args.node), args.dir,
                          "running nodes start it again once they re-read node.toml, from the data they kept")


def cmd_remove_group(args: argparse.Namespace) -> int:
    from colend.consortium.lifecycle import STORE_RELEASE_S, remove_group

    wait_s = STORE_RELEASE_S if args.wait is None else args.wait
    return _group_command(lambda: remove_group(args.dir, args.group, delete_data=args.delete_data, wait_s=wait_s),
                          args.dir, "its data was deleted" if args.delete_data else
                          "no data was deleted: it stays where listed; remove-group --delete-data deletes it")


def _group_command(run: Callable[[], GroupChange], root: Path, after: str) -> int:
    """One line for the group, one per node touched, then any warning and what happens next; exit 2 on a
    refusal (nothing written), 1 when the data to delete was still in use (the group stopped everywhere)."""
    from colend.errors import ColendError, GroupDataInUse

    try:
        change = run()
    except (ColendError, FileNotFoundError, ValueError) as exc:
        return _refused(exc, 1 if isinstance(exc, GroupDataInUse) else 2)
    group = change.group
    print(f"group {group.name}: chain id {group.chain_id}, banks {'+'.join(group.members)}, observers "
          f"{'+'.join(group.observers) or '-'}, {len(group.validators)} validators, genesis {root / group.genesis}")
    width = max((len(n.node) for n in change.nodes), default=0)
    for node in change.nodes:
        parts = [f"{node.node:<{width}}", f"{node.role:<9}", f"{node.did} {group.name}"]
        parts += [f"peers +{', +'.join(node.peers_added)}"] if node.peers_added else []
        parts += [f"peers -{', -'.join(node.peers_dropped)}"] if node.peers_dropped else []
        parts += [f"kept {', '.join(node.kept)}"] if node.kept else []
        parts += [f"deleted {', '.join(node.deleted)}"] if node.deleted else []
        parts += [f"({node.note})"] if node.note else []
        print("  ".join(parts))
    for warning in change.warnings:
        print(f"warning: {warning}")
    print(after)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from colend.consortium.operate import collect_status, format_rows, status_rows

    try:
        rows = status_rows(collect_status(args.dir))
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(rows, indent=2) if args.json else format_rows(rows))
    return 0 if all(r["height"] is not None or r["stopped"] for r in rows) else 1
