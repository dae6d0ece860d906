"""Drives `colend serve` child processes for e2e tests: writes service.toml, issues keys, starts, stops.

Start-up is awaited on the service's own `event=service_started` log line, never on a sleep.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from colend.ports import free_loopback_port as free_port
from tests.e2e.node_process import ROOT

STARTED = re.compile(r"event=service_started .*\bhttp=(\S+):(\d+)")
MAPPING = """\
[columns]
kind = "record_type"
key = "business_key"
amount = "amount_fen"
value_date = "value_date"
counterparty = "counterparty"
cycle_id = "cycle_no"
[constants]
currency = "CNY"
[format]
date = "%Y-%m-%d"
amount_unit = "fen"
"""
BOOKS_HEADER = "record_type,business_key,amount_fen,value_date,counterparty,cycle_no\n"


class ServiceProcess:
    def __init__(self, root: Path, *, bank: str | None, node_url: str, key_file: Path | None, watch_s: float = 0.2) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.books = root / "books.csv"
        lines = ["[service]", f'mode = "{"bank" if bank else "regulator"}"', f"port = {self.port}", 'data_dir = "data"']
        if bank:
            lines.append(f'bank = "{bank}"')
        lines += ["[node]", f'url = "{node_url}"', "poll_s = 0.1"]
        if key_file is not None:
            lines.append(f'account_key_file = "{key_file}"')
        if bank:
            (root / "mapping.toml").write_text(MAPPING)
            lines += ["[books]", 'source = "books.csv"', 'mapping = "mapping.toml"', f"watch_s = {watch_s}"]
        self.config = root / "service.toml"
        self.config.write_text("\n".join(lines) + "\n")
        self.proc: subprocess.Popen[str] | None = None
        self.lines: list[str] = []
        self.url = ""

    def add_key(self, key_id: str, role: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "colend", "serve-key", "add", "--config", str(self.config), "--id", key_id, "--role", role],
            cwd=ROOT, check=True, capture_output=True, text=True,
        )  # fmt: skip
        return done.stdout.strip()

    def start(self, timeout_s: float = 60) -> str:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "colend", "serve", "--config", str(self.config)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        started = threading.Event()
        threading.Thread(target=self._drain, args=(started,), daemon=True).start()
        if not started.wait(timeout_s) or not self.url:
            self.stop()
            raise RuntimeError("service did not start:\n" + "\n".join(self.lines[-30:]))
        return self.url

    def _drain(self, started: threading.Event) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        with (self.root / "service.log").open("a") as log:
            for line in self.proc.stderr:
                log.write(line)
                self.lines.append(line.rstrip("\n"))
                if not started.is_set() and (match := STARTED.search(line)):
                    self.url = f"http://127.0.0.1:{match[2]}"
                    started.set()
        started.set()

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def request(self, method: str, path: str, key: str | None = None, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if key:
            req.add_header("X-API-Key", key)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=60) as reply:
                return reply.status, json.loads(reply.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def wait_for(self, what: str, predicate: Any, timeout_s: float = 60) -> Any:
        """Polls `predicate()` until it returns something truthy; fails with `what` after the timeout."""
        deadline = time.monotonic() + timeout_s
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; log tail:\n" + "\n".join(self.lines[-20:]))
            time.sleep(0.05)
