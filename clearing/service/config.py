"""service.toml: one service per bank (mode "bank") or one for the regulator (mode "regulator").

    [service]
    mode = "bank"                 # or "regulator": reads every bank, writes nothing, no books
    bank = "WEBANK"               # bank mode only
    host = "127.0.0.1"
    port = 8700
    timezone = "Asia/Shanghai"    # times on the dashboard
    data_dir = "service"          # index/, settlement.sqlite, breaks.sqlite, audit.sqlite, runs.sqlite
    keys_file = "api-keys.toml"   # hashed API keys (`colend serve key add`)
    max_body_bytes = 65536
    [node]                        # optional: without it the service serves an existing index, read-only
    url = "http://127.0.0.1:8545"
    account_key_file = "keys/webank.key"   # the bank's account key: settlement actions are signed with it
    poll_s = 0.5
    deployment = "deployment.json"   # optional: the suite on a foreign chain (`colend contracts deploy`)
    [books]                       # bank mode: the bank's own ledger
    source = "books.csv"          # file (.csv/.jsonl/.db) or SQL URL
    mapping = "mapping.toml"
    schedule_s = 3600             # a run every N seconds (0: none)
    watch_s = 2.0                 # look for changed books every N seconds (0: never)
    abs_tol_fen = 0
    rel_tol_bps = 0
    date_window_days = 0
Relative paths are relative to the file's directory.
"""

from __future__ import annotations

import tomllib
import zoneinfo
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from clearing.errors import ConfigError
from clearing.recon.rules import MatchRules

Mode = Literal["bank", "regulator"]


@dataclass(frozen=True)
class NodeConfig:
    url: str
    account_key_file: Path | None
    poll_s: float = 0.5
    deployment: Path | None = None  # the suite's deployment file; None: a Colend node's own genesis suite


@dataclass(frozen=True)
class BooksConfig:
    source: str
    mapping: Path
    schedule_s: float = 0.0
    watch_s: float = 2.0
    rules: MatchRules = field(default_factory=MatchRules)


@dataclass(frozen=True)
class ServiceConfig:
    mode: Mode
    bank: str | None
    host: str
    port: int
    timezone: zoneinfo.ZoneInfo
    data_dir: Path
    keys_file: Path
    max_body_bytes: int
    node: NodeConfig | None
    books: BooksConfig | None

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    def db(self, name: str) -> Path:
        return self.data_dir / f"{name}.sqlite"


def _path(base: Path, value: Any, what: str) -> Path:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{what} must be a non-empty path")
    path = Path(value)
    return path if path.is_absolute() else base / path


def _source(base: Path, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigError("books.source must be a file path or SQL URL")
    return value if "://" in value or Path(value).is_absolute() else str(base / value)


def _number(table: dict[str, Any], key: str, default: float, what: str) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"{what}.{key} must be a number >= 0")
    return float(value)


def _int(table: dict[str, Any], key: str, default: int, what: str) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"{what}.{key} must be an integer >= 0")
    return value


def load_config(path: str | Path) -> ServiceConfig:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    return parse_config(raw, path.resolve().parent)


def parse_config(raw: dict[str, Any], base: Path) -> ServiceConfig:
    service = raw.get("service")
    if not isinstance(service, dict):
        raise ConfigError("missing [service] table")
    mode = service.get("mode", "bank")
    if mode not in ("bank", "regulator"):
        raise ConfigError(f"service.mode must be 'bank' or 'regulator', got {mode!r}")
    bank = service.get("bank")
    if mode == "bank" and (not isinstance(bank, str) or not bank):
        raise ConfigError("service.bank is required in bank mode")
    if mode == "regulator":
        bank = None
    try:
        timezone = zoneinfo.ZoneInfo(str(service.get("timezone", "Asia/Shanghai")))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"unknown service.timezone: {exc}") from exc
    node = None
    if isinstance(raw.get("node"), dict):
        table = raw["node"]
        key_file = table.get("account_key_file")
        node = NodeConfig(
            url=str(table.get("url", "")),
            account_key_file=_path(base, key_file, "node.account_key_file") if key_file else None,
            poll_s=_number(table, "poll_s", 0.5, "node"),
            deployment=_path(base, table["deployment"], "node.deployment") if table.get("deployment") else None,
        )
        if not node.url.startswith(("http://", "https://")):
            raise ConfigError("node.url must be an http(s) URL")
    books = None
    if isinstance(raw.get("books"), dict):
        if mode == "regulator":
            raise ConfigError("a regulator service reconciles no books: remove [books]")
        table = raw["books"]
        books = BooksConfig(
            source=_source(base, table.get("source")),
            mapping=_path(base, table.get("mapping"), "books.mapping"),
            schedule_s=_number(table, "schedule_s", 0.0, "books"),
            watch_s=_number(table, "watch_s", 2.0, "books"),
            rules=MatchRules(
                amount_abs_fen=_int(table, "abs_tol_fen", 0, "books"),
                amount_rel_bps=_int(table, "rel_tol_bps", 0, "books"),
                date_window_days=_int(table, "date_window_days", 0, "books"),
            ),
        )
    port = service.get("port", 8700)
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port < 65536:
        raise ConfigError("service.port must be 0..65535")
    return ServiceConfig(
        mode=mode,
        bank=bank,
        host=str(service.get("host", "127.0.0.1")),
        port=port,
        timezone=timezone,
        data_dir=_path(base, service.get("data_dir", "service"), "service.data_dir"),
        keys_file=_path(base, service.get("keys_file", "api-keys.toml"), "service.keys_file"),
        max_body_bytes=_int(service, "max_body_bytes", 65536, "service"),
        node=node,
        books=books,
    )
