"""`colend serve --config service.toml` runs the clearing service; `colend serve-key add` issues API keys."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from aiohttp import web

from clearing.errors import ClearingError
from clearing.service.config import ServiceConfig, load_config
from clearing.service.keys import Role, add_key

EXIT_ERROR = 2
log = logging.getLogger("clearing.service")


def register(subparsers: argparse._SubParsersAction) -> None:
    serve = subparsers.add_parser("serve", help="run the clearing service (API, dashboard, metrics) beside a node")
    serve.add_argument("--config", required=True, type=Path, help="service.toml")
    serve.set_defaults(func=cmd_serve)
    keys = subparsers.add_parser("serve-key", help="issue API keys for the clearing service")
    actions = keys.add_subparsers(dest="key_command", required=True, metavar="ACTION")
    add = actions.add_parser("add", help="add a key to the service's keys file and print it (shown once)")
    add.add_argument("--config", required=True, type=Path, help="service.toml (names the keys file and the bank)")
    add.add_argument("--id", required=True, dest="key_id", help="key id: the actor in audit trails")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--bank", help="the key's bank (default: the service's bank; none for REGULATOR)")
    add.set_defaults(func=cmd_key_add)


def _fail(exc: ClearingError) -> int:
    print(f"error {exc.code}: {exc.message}", file=sys.stderr)
    return EXIT_ERROR


def cmd_key_add(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
        role = Role(args.role)
        bank = None if role is Role.REGULATOR else (args.bank or config.bank)
        key = add_key(config.keys_file, args.key_id, role, bank)
    except ClearingError as exc:
        return _fail(exc)
    print(key)
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="ts=%(asctime)s level=%(levelname)s %(message)s")
    try:
        config = load_config(args.config)
        return asyncio.run(_serve(config))
    except ClearingError as exc:
        return _fail(exc)


async def _serve(config: ServiceConfig) -> int:
    from clearing.service.app import build_app

    app = build_app(config)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, config.host, config.port)
    await site.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    host, port = runner.addresses[0][:2]
    log.info("event=service_started mode=%s bank=%s http=%s:%s", config.mode, config.bank, host, port)
    await stop.wait()
    log.info("event=service_stopping")
    await runner.cleanup()
    return 0
