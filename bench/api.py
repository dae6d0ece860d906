"""Clearing service API benchmark: p50/p99 of the settlement-status query (GET /v1/cycles/{id}/status) at a
fixed request rate, first alone, then while a reconciliation of ROWS chain records runs in the same service.

Open loop: request i is due at t0 + i/rate and its latency counts from when it was due (so a stalled server
is charged for the queue it builds, not hidden by a slower client). The service is a real `colend serve`
process over a prepared index, books and settlement view (no node: nothing else competes for the cores but
the load generator, which shares them). Prints one JSON object. `--tiny` runs for seconds.
Targets: p99 <= 10 ms alone, <= 50 ms during the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from statistics import quantiles
from typing import Any

import aiohttp
import tomli_w

from bench.recon import fill_index
from bench.support.recon_scenario import generate, write_books_csv
from clearing.service.keys import Role, add_key
from clearing.settlement.store import SettlementStore
from contracts.abi import DecodedEvent
from contracts.ids import text_id

BANK = "WEBANK"
PARTNERS = ("MYBANK", "XWBANK", "ICBC")
CYCLE = 1
STARTED = re.compile(r"event=service_started .*\bhttp=(\S+):(\d+)")
TARGET_P99_MS = {"alone": 10.0, "during_run": 50.0}


def settlement_events() -> list[DecodedEvent]:
    """One netted, confirmed cycle between the bank and three partners, two of its instructions paid."""
    b = text_id
    events = [DecodedEvent("CycleOpened", {"cycleId": CYCLE})]
    for n, partner in enumerate(PARTNERS):
        events.append(DecodedEvent("EntryPosted", {
            "entryId": b(f"E-{n}"), "cycleId": CYCLE, "payer": b(BANK), "payee": b(partner), "amount": 1_000_000 * (n + 1),
            "kind": 0, "loanId": b"\0" * 32, "valueDate": 20261130, "ref": b"\0" * 32,
        }))  # fmt: skip
    total = sum(1_000_000 * (n + 1) for n in range(len(PARTNERS)))
    events.append(DecodedEvent("NetPosition", {"cycleId": CYCLE, "bankId": b(BANK), "position": -total}))
    for n, partner in enumerate(PARTNERS):
        amount = 1_000_000 * (n + 1)
        events += [
            DecodedEvent("NetPosition", {"cycleId": CYCLE, "bankId": b(partner), "position": amount}),
            DecodedEvent(
                "SettlementInstruction", {"cycleId": CYCLE, "index": n, "payer": b(BANK), "payee": b(partner), "amount": amount}
            ),
        ]
    events += [DecodedEvent("CycleConfirmedBy", {"cycleId": CYCLE, "bankId": b(x)}) for x in (BANK, *PARTNERS)]
    events.append(DecodedEvent("CycleStatusChanged", {"cycleId": CYCLE, "status": 4}))
    events += [
        DecodedEvent("PaymentRecorded", {"cycleId": CYCLE, "index": n, "payer": b(BANK), "paymentRef": b(f"P-{n}")})
        for n in (0, 1)
    ]
    return events


def prepare(root: Path, rows: int) -> tuple[Path, str, str]:
    """Index, books, settlement view, keys and service.toml under `root`; returns (config, viewer, officer key)."""
    data = root / "data"
    data.mkdir(parents=True)
    scenario = generate(rows, bank=BANK, seed=rows)
    fill_index(data / "index", scenario.chain)
    (root / "mapping.toml").write_text(tomli_w.dumps(write_books_csv(scenario.books, root / "books.csv")))
    store = SettlementStore(data / "settlement.sqlite")
    store.apply_block(1, settlement_events())
    store.close()
    port = _free_port()
    config = root / "service.toml"
    config.write_text(
        f'[service]\nbank = "{BANK}"\nport = {port}\ndata_dir = "data"\n'
        '[books]\nsource = "books.csv"\nmapping = "mapping.toml"\nwatch_s = 0\nschedule_s = 0\n'
        f"abs_tol_fen = {scenario.rules.amount_abs_fen}\ndate_window_days = {scenario.rules.date_window_days}\n"
    )
    viewer = add_key(root / "api-keys.toml", "bench-viewer", Role.VIEWER, BANK)
    officer = add_key(root / "api-keys.toml", "bench-officer", Role.CLEARING_OFFICER, BANK)
    return config, viewer, officer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_service(config: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "colend", "serve", "--config", str(config)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    found: list[str] = []
    started = threading.Event()

    def drain() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            if not started.is_set() and (match := STARTED.search(line)):
                found.append(f"http://127.0.0.1:{match[2]}")
                started.set()
        started.set()

    threading.Thread(target=drain, daemon=True).start()
    if not started.wait(120) or not found:
        proc.kill()
        raise SystemExit("bench.api: the service did not start")
    return proc, found[0]


class KeepAliveClient:
    """A minimal HTTP/1.1 keep-alive GET client on asyncio streams: the load generator shares the cores with
    the service, so it must spend as little CPU per request as it can (aiohttp's client spent several times
    the server's own cost per request)."""

    def __init__(self, base: str, key: str) -> None:
        host, port = base.removeprefix("http://").split(":")
        self.host, self.port, self.key = host, int(port), key
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def get(self, path: str) -> int:
        conn = self.idle.pop() if self.idle else await asyncio.open_connection(self.host, self.port)
        reader, writer = conn
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\nX-API-Key: {self.key}\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        await reader.readexactly(length)
        self.idle.append(conn)
        return status

    def close(self) -> None:
        for _, writer in self.idle:
            writer.close()


async def load(client: KeepAliveClient, path: str, rate: float, duration_s: float, stop: asyncio.Event) -> dict[str, Any]:
    """Open-loop requests at `rate`/s for `duration_s` (or until `stop`); latency from each request's due time."""
    latencies: list[float] = []
    errors = 0
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    pending: set[asyncio.Task[None]] = set()

    async def one(due: float) -> None:
        nonlocal errors
        try:
            status = await client.get(path)
        except (OSError, asyncio.IncompleteReadError, ValueError):
            errors += 1
            return
        if status != 200:
            errors += 1
            return
        latencies.append((loop.time() - due) * 1000)

    i = 0
    while not stop.is_set():
        due = t0 + i / rate
        if due - t0 >= duration_s:
            break
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(due))
        pending.add(task)
        task.add_done_callback(pending.discard)
        i += 1
    elapsed = loop.time() - t0
    if pending:
        await asyncio.wait(pending)
    return summary(latencies, errors, elapsed)


def summary(latencies: list[float], errors: int, elapsed: float) -> dict[str, Any]:
    """Counts and percentiles; `achieved_rate_per_s` below the target rate means the generator fell behind."""
    if len(latencies) < 2:
        return {"requests": len(latencies), "errors": errors}
    cuts = quantiles(latencies, n=100, method="inclusive")
    return {
        "requests": len(latencies),
        "errors": errors,
        "achieved_rate_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(cuts[49], 2),
        "p99_ms": round(cuts[98], 2),
        "max_ms": round(max(latencies), 2),
    }


async def measure(base: str, viewer: str, officer: str, rate: float, duration_s: float) -> dict[str, Any]:
    path = f"/v1/cycles/{CYCLE}/status"
    client = KeepAliveClient(base, viewer)
    await load(client, path, rate, 1.0, asyncio.Event())  # warm-up: connections, caches
    alone = await load(client, path, rate, duration_s, asyncio.Event())
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{base}/v1/runs", headers={"X-API-Key": officer}) as reply:
            assert reply.status == 202, await reply.text()
            run_id = (await reply.json())["run_id"]
        run_started = time.perf_counter()
        done = asyncio.Event()

        async def watch() -> None:
            while True:
                async with session.get(f"{base}/v1/runs?limit=1", headers={"X-API-Key": viewer}) as reply:
                    page = await reply.json()
                if page["current"] is None:
                    done.set()
                    return
                await asyncio.sleep(0.25)

        watcher = asyncio.create_task(watch())
        during = await load(client, path, rate, duration_s, done)
        await watcher
        run_s = time.perf_counter() - run_started
        async with session.get(f"{base}/v1/runs/{run_id}", headers={"X-API-Key": viewer}) as reply:
            run = await reply.json()
    client.close()
    during["run_s"] = round(run_s, 2)
    during["run_verdict"] = run["verdict"]
    during["run_error"] = run["error_code"]
    return {"alone": alone, "during_run": during}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="chain records reconciled during the second phase")
    parser.add_argument("--rate", type=float, default=500.0, help="requests per second")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per phase")
    parser.add_argument("--tiny", action="store_true", help="10k rows, 100 req/s, 2 s: a seconds-long smoke run")
    args = parser.parse_args(argv)
    if args.tiny:
        args.rows, args.rate, args.duration = 10_000, 100.0, 2.0
    with tempfile.TemporaryDirectory(prefix="colend-bench-api-") as tmp:
        root = Path(tmp)
        prepare_start = time.perf_counter()
        config, viewer, officer = prepare(root, args.rows)
        prepare_s = time.perf_counter() - prepare_start
        proc, base = start_service(config)
        try:
            result = asyncio.run(measure(base, viewer, officer, args.rate, args.duration))
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                proc.kill()
    out = {
        "query": f"GET /v1/cycles/{CYCLE}/status",
        "rows": args.rows,
        "rate_per_s": args.rate,
        "duration_s": args.duration,
        **result,
        "targets_p99_ms": TARGET_P99_MS,
        "targets_met": {k: result[k].get("p99_ms", float("inf")) <= v for k, v in TARGET_P99_MS.items()},
        "prepare_s": round(prepare_s, 1),
        "load_average_1m": round(os.getloadavg()[0], 1),  # the cores are shared: context for the figures
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
