"""The consortium's clearing services: one per bank beside its node, one in regulator mode beside the observer.

Each bank's service follows its bank's node, holds the bank's account key to sign settlement actions, and
reconciles the bank's books on request; the regulator's reads every bank and writes nothing. Each gets
API keys per role (two clearing officers for four eyes, a viewer; a regulator key) and a dashboard.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clearing.service.keys import Role, add_key
from clearing.service.middlewares import API_KEY_HEADER
from colend.demo.bank_recon import BankRecon, from_statement
from colend.demo.network import DemoNetwork
from colend.demo.settlement import ChainDesk, Netting, officers
from colend.errors import ServiceCallFailed, ServiceStartFailed
from colend.launcher import ServiceLauncher

REQUEST_TIMEOUT_S = 30
WAIT_TIMEOUT_S = 60
POLL_S = 0.1


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    role: str
    secret: str  # "<key id>.<secret>", shown once


@dataclass
class ServiceSet:
    """Running services by member, their API keys, and a small JSON client for the demo's own calls."""

    launchers: dict[str, ServiceLauncher]
    keys: dict[str, list[ApiKey]]
    urls: dict[str, str] = field(default_factory=dict)

    def start(self) -> None:
        with ThreadPoolExecutor(len(self.launchers), thread_name_prefix="service") as pool:
            started = dict(zip(self.launchers, pool.map(_start, self.launchers.values()), strict=True))
        failed = [outcome for outcome in started.values() if isinstance(outcome, ServiceStartFailed)]
        if failed:
            self.stop()
            raise failed[0]
        self.urls = {member: str(url) for member, url in started.items()}

    def stop(self) -> dict[str, int]:
        """SIGTERM to every started service at once, then their exit codes."""
        started = {member: launcher for member, launcher in self.launchers.items() if launcher.proc is not None}
        for launcher in started.values():
            launcher.terminate()
        return {member: launcher.wait() for member, launcher in started.items()}

    def key(self, member: str, key_id: str) -> str:
        return next(k.secret for k in self.keys[member] if k.key_id == key_id)

    def call(self, member: str, key_id: str, method: str, path: str, body: object | None = None) -> Any:
        """One /v1 call to the member's service as `key_id`; an error response raises with its code."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.urls[member]}/v1{path}", data, method=method,
            headers={API_KEY_HEADER: self.key(member, key_id), "Content-Type": "application/json"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            error = json.loads(exc.read() or b"{}").get("error", {})
            what = f"{method} {path} at {member}'s service: {exc.code} {error.get('code')}: {error.get('message')}"
            raise ServiceCallFailed(what, data=error.get("code")) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise ServiceCallFailed(f"{method} {path}: {member}'s service did not answer: {exc}") from exc

    def wait_for(self, member: str, key_id: str, path: str, ready: Callable[[Any], bool]) -> Any:
        """Polls a GET until `ready` holds: a service sees the chain once its indexer has followed it."""
        deadline = time.monotonic() + WAIT_TIMEOUT_S
        while True:
            try:
                reply = self.call(member, key_id, "GET", path)
                if ready(reply):
                    return reply
            except ServiceCallFailed as err:
                if err.data not in ("clearing.not_found", "clearing.not_ready"):
                    raise
            if time.monotonic() > deadline:
                raise ServiceCallFailed(f"{member}'s service did not show {path} as expected within {WAIT_TIMEOUT_S} s")
            time.sleep(POLL_S)


def _start(launcher: ServiceLauncher) -> str | ServiceStartFailed:
    try:
        return launcher.start()
    except ServiceStartFailed as err:
        return err


def bank_service(network: DemoNetwork, bank: str, books: tuple[Path, Path], folder: Path) -> tuple[Path, list[ApiKey]]:
    """service.toml for a bank: beside its node, signing with its key, reconciling its books on request."""
    books_path, mapping = books
    config = folder / "service.toml"
    _write(config, {
        "service": {"mode": "bank", "bank": bank, "host": "127.0.0.1", "port": 0, "data_dir": "data",
                    "keys_file": "api-keys.toml"},
        "node": {"url": network.url(bank), "account_key_file": str(network.key_files[bank]), "poll_s": 0.2},
        "books": {"source": str(books_path), "mapping": str(mapping), "schedule_s": 0, "watch_s": 0},
    })  # fmt: skip
    first, second = officers(bank)
    roles = ((first, Role.CLEARING_OFFICER), (second, Role.CLEARING_OFFICER), (f"{bank.lower()}-viewer", Role.VIEWER))
    keys = [ApiKey(key_id, role.value, add_key(folder / "api-keys.toml", key_id, role, bank)) for key_id, role in roles]
    return config, keys


def regulator_service(network: DemoNetwork, regulator: str, folder: Path) -> tuple[Path, list[ApiKey]]:
    """service.toml in regulator mode: beside the observer node, every bank's view, read-only, no books."""
    config = folder / "service.toml"
    _write(config, {
        "service": {"mode": "regulator", "host": "127.0.0.1", "port": 0, "data_dir": "data", "keys_file": "api-keys.toml"},
        "node": {"url": network.url(regulator), "poll_s": 0.2},
    })  # fmt: skip
    key_id = f"{regulator.lower()}-examiner"
    return config, [ApiKey(key_id, Role.REGULATOR.value, add_key(folder / "api-keys.toml", key_id, Role.REGULATOR, None))]


def demo_services(
    network: DemoNetwork, banks: tuple[str, ...], regulator: str, books: Mapping[str, tuple[Path, Path]]
) -> ServiceSet:
    """Configs, API keys and launchers for every member's service (started with `ServiceSet.start`)."""
    root = network.root / "services"
    launchers: dict[str, ServiceLauncher] = {}
    keys: dict[str, list[ApiKey]] = {}
    for member in (*banks, regulator):
        folder = root / member.lower()
        folder.mkdir(parents=True, exist_ok=True)
        if member == regulator:
            config, keys[member] = regulator_service(network, member, folder)
        else:
            config, keys[member] = bank_service(network, member, books[member], folder)
        launchers[member] = ServiceLauncher(config, folder / "service.log")
    return ServiceSet(launchers, keys)


def _write(path: Path, doc: dict[str, dict[str, object]]) -> None:
    lines = []
    for table, values in doc.items():
        lines.append(f"[{table}]")
        lines += [f"{name} = {json.dumps(value)}" for name, value in values.items()]
        lines.append("")
    path.write_text("\n".join(lines))


class ServiceDesk:
    """Settlement through each bank's clearing service, as its clearing officers would do it.

    The service signs with the bank's key and keeps four eyes itself: officer A enters a payment reference,
    only officer B's approval sends it. Closing and netting are plain chain calls any member may make (the
    services offer no route for them), so `chain` does those. Each step waits until the acting service's
    indexer has seen what the step needs.
    """

    def __init__(self, services: ServiceSet, chain: ChainDesk) -> None:
        self.services = services
        self.chain = chain
        self._proposals: dict[tuple[str, int, int], int] = {}

    def close_and_net(self, bank: str) -> Netting:
        netting = self.chain.close_and_net(bank)
        for party in netting.positions:
            self._wait_status(party, netting.cycle, "NETTED", "CONFIRMED")
        return netting

    def confirm(self, bank: str, cycle: int) -> None:
        self.services.call(bank, officers(bank)[0], "POST", f"/cycles/{cycle}/confirm")

    def enter_payment(self, bank: str, officer: str, cycle: int, index: int, reference: str) -> None:
        self._wait_status(bank, cycle, "CONFIRMED")
        proposal = self.services.call(bank, officer, "POST", f"/cycles/{cycle}/instructions/{index}/payment",
                                      {"payment_ref": reference})  # fmt: skip
        self._proposals[(bank, cycle, index)] = int(proposal["proposal_id"])

    def approve_payment(self, bank: str, officer: str, cycle: int, index: int) -> None:
        proposal = self._proposals.pop((bank, cycle, index))
        self.services.call(bank, officer, "POST", f"/payments/{proposal}/approve")

    def acknowledge(self, bank: str, officer: str, cycle: int, index: int) -> None:
        def paid(reply: Any) -> bool:
            return any(i["index"] == index and i["state"] == "PAID" for i in reply["items"])

        self.services.wait_for(bank, officer, f"/cycles/{cycle}/instructions", paid)
        self.services.call(bank, officer, "POST", f"/cycles/{cycle}/instructions/{index}/acknowledge")

    def cycle_status(self, bank: str, cycle: int) -> str:
        return self._wait_status(bank, cycle, "SETTLED")

    def _wait_status(self, bank: str, cycle: int, *wanted: str) -> str:
        reply = self.services.wait_for(bank, officers(bank)[0], f"/cycles/{cycle}", lambda r: r["cycle"]["status"] in wanted)
        return str(reply["cycle"]["status"])


def reconcile_through_service(services: ServiceSet, bank: str, cycle: int) -> BankRecon:
    """Once the bank's service has followed the chain to the settled cycle: a run on request, its statement, its breaks."""
    officer = officers(bank)[0]
    services.wait_for(bank, officer, f"/cycles/{cycle}", lambda r: r["cycle"]["status"] == "SETTLED")
    started = services.call(bank, officer, "POST", "/runs")
    run = services.wait_for(bank, officer, f"/runs/{started['run_id']}", lambda r: r["finished_at"] is not None)
    if run["statement"] is None:
        raise ServiceCallFailed(f"{bank}'s run {run['run_id']} failed: {run['error_code']}: {run['error_message']}")
    breaks: list[dict[str, Any]] = []
    after = None
    while True:
        query = urllib.parse.urlencode({"limit": 100, **({"after": after} if after else {})})
        page = services.call(bank, officer, "GET", f"/breaks?{query}")
        breaks += [b for b in page["items"] if b["state"] != "RESOLVED"]
        after = page["next"]
        if not after:
            return from_statement(bank, run["statement"], breaks)
