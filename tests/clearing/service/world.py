"""A small consortium's data, written straight into a service's stores, and the service around it.

WEBANK runs the service. It holds tranches of LN-1 (servicer) and LN-3; LN-2 belongs to MYBANK and
XWBANK only. Cycle 1 (WEBANK, MYBANK) is NETTED with MYBANK paying WEBANK; cycle 2 (MYBANK, XWBANK) is not
WEBANK's; cycle 3 is CONFIRMED with WEBANK paying MYBANK. The books differ from the chain in two entries.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clearing.indexer.store import IndexStore
from clearing.recon.break_store import BreakStore
from clearing.recon.run import run_reconciliation
from clearing.records import RecordKind
from clearing.service.config import ServiceConfig, parse_config
from clearing.service.keys import KeyRing, Principal, Role, StoredKey, hash_secret
from clearing.settlement.store import SettlementStore
from contracts.abi import DecodedEvent
from contracts.ids import text_id
from tests.clearing.factories import CSV_HEADER, rec, write_mapping

BANK = "WEBANK"
DAY = dt.date(2026, 11, 2)
CHEAP = {"n": 2, "r": 1, "p": 1}  # scrypt cost for tests only: the format and the check are the same
KEYS = {
    "alice": (Role.CLEARING_OFFICER, BANK),
    "bob": (Role.CLEARING_OFFICER, BANK),
    "vera": (Role.VIEWER, BANK),
    "rita": (Role.REGULATOR, None),
    "mallory": (Role.CLEARING_OFFICER, "MYBANK"),
}


def key_of(name: str) -> str:
    return f"{name}.secret-of-{name}"


def keyring() -> KeyRing:
    return KeyRing(
        [StoredKey(Principal(name, role, bank), hash_secret(f"secret-of-{name}", **CHEAP)) for name, (role, bank) in KEYS.items()]
    )


def event(name: str, **args: Any) -> DecodedEvent:
    return DecodedEvent(name, args)


def entry_event(entry: str, cycle: int, payer: str, payee: str, amount: int) -> DecodedEvent:
    return event(
        "EntryPosted", entryId=text_id(entry), cycleId=cycle, payer=text_id(payer), payee=text_id(payee),
        amount=amount, kind=0, loanId=b"\0" * 32, valueDate=20261102, ref=b"\0" * 32,
    )  # fmt: skip


def settlement_events() -> list[DecodedEvent]:
    b = text_id
    return [
        event("CycleOpened", cycleId=1),
        entry_event("E1", 1, "MYBANK", BANK, 10_000),
        entry_event("E2", 1, BANK, "MYBANK", 2_500),
        event("CycleClosed", cycleId=1, closedBy=b(BANK), entryCount=2),
        event("NetPosition", cycleId=1, bankId=b(BANK), position=7_500),
        event("NetPosition", cycleId=1, bankId=b("MYBANK"), position=-7_500),
        event("BilateralNet", cycleId=1, payer=b("MYBANK"), payee=b(BANK), amount=7_500),
        event("SettlementInstruction", cycleId=1, index=0, payer=b("MYBANK"), payee=b(BANK), amount=7_500),
        event("CycleStatusChanged", cycleId=1, status=3),
        event("CycleOpened", cycleId=2),
        entry_event("E5", 2, "MYBANK", "XWBANK", 4_000),
        event("CycleOpened", cycleId=3),
        entry_event("E6", 3, BANK, "MYBANK", 123_456_789),
        event("NetPosition", cycleId=3, bankId=b(BANK), position=-123_456_789),
        event("NetPosition", cycleId=3, bankId=b("MYBANK"), position=123_456_789),
        event("SettlementInstruction", cycleId=3, index=0, payer=b(BANK), payee=b("MYBANK"), amount=123_456_789),
        event("CycleConfirmedBy", cycleId=3, bankId=b(BANK)),
        event("CycleConfirmedBy", cycleId=3, bankId=b("MYBANK")),
        event("CycleStatusChanged", cycleId=3, status=4),
    ]


def index_records() -> list:
    tranche = RecordKind.LOAN_TRANCHE
    return [
        rec("LN-1/WEBANK", 300_000, kind=tranche, loan_id="LN-1", counterparty=None, status="ACTIVE"),
        rec("LN-1/MYBANK", 700_000, kind=tranche, bank="MYBANK", loan_id="LN-1", counterparty=BANK, status="ACTIVE"),
        rec("LN-2/MYBANK", 500_000, kind=tranche, bank="MYBANK", loan_id="LN-2", counterparty=None, status="ACTIVE"),
        rec("LN-2/XWBANK", 500_000, kind=tranche, bank="XWBANK", loan_id="LN-2", counterparty="MYBANK", status="ACTIVE"),
        rec("LN-3/WEBANK", 90_000, kind=tranche, loan_id="LN-3", counterparty="XWBANK", status="ACTIVE"),
        rec("E1", 10_000, counterparty="MYBANK", cycle_id="1", status="POSTED"),
        rec("E2", -2_500, counterparty="MYBANK", cycle_id="1", status="POSTED"),
        rec("E6", -123_456_789, counterparty="MYBANK", cycle_id="3", status="POSTED"),
        rec("E1", -10_000, bank="MYBANK", counterparty=BANK, cycle_id="1", status="POSTED"),
        # WEBANK's declaration: 25% of 1,000,000 tier-1 is 250,000 < its 300,000 in LN-1 with MYBANK: a breach
        rec("TIER1_NET_CAPITAL", 1_000_000, kind=RecordKind.DECLARED_FIGURE, counterparty=None, status="DECLARED"),
        rec("TOTAL_LOANS", 10_000_000, kind=RecordKind.DECLARED_FIGURE, counterparty=None, status="DECLARED"),
    ]


BOOKS_ROWS = [  # E1 agrees; E2 differs by 1 yuan; E6 is missing; E9 is only in the books
    "E1,ENTRY,100.00,2026-11-02,POSTED,,MYBANK",
    "E2,ENTRY,-26.00,2026-11-02,POSTED,,MYBANK",
    "E9,ENTRY,3.00,2026-11-02,POSTED,,MYBANK",
    "LN-1/WEBANK,TRANCHE,3000.00,2026-11-02,ACTIVE,,",
    "LN-3/WEBANK,TRANCHE,900.00,2026-11-02,ACTIVE,,XWBANK",
]


@dataclass
class World:
    root: Path
    config_text: str
    books: Path
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def config(self) -> ServiceConfig:
        return parse_config(tomllib.loads(self.config_text), self.root)


def build_world(root: Path, *, mode: str = "bank", watch_s: float = 0, schedule_s: float = 0) -> World:
    """Writes index, settlement view, books and mapping under `root`, runs one reconciliation, returns the
    config of a service over them (no node: the stores are already filled)."""
    data = root / "service"
    data.mkdir(parents=True, exist_ok=True)
    with IndexStore(data / "index") as index:
        index.apply_block(5, index_records())
        settlement = SettlementStore(data / "settlement.sqlite")
        settlement.apply_block(5, settlement_events())
        settlement.close()
        books = root / "books.csv"
        books.write_text(CSV_HEADER + "".join(r + "\n" for r in BOOKS_ROWS))
        write_mapping(root)
        with BreakStore(data / "breaks.sqlite") as breaks:
            run_reconciliation(index, BANK, books, root / "mapping.toml", as_of=DAY, break_store=breaks)
    lines = ["[service]", f'mode = "{mode}"', 'data_dir = "service"', 'timezone = "Asia/Shanghai"', "max_body_bytes = 4096"]
    if mode == "bank":
        lines += [f'bank = "{BANK}"', "[books]", 'source = "books.csv"', 'mapping = "mapping.toml"']
        lines += [f"watch_s = {watch_s}", f"schedule_s = {schedule_s}"]
    return World(root=root, config_text="\n".join(lines) + "\n", books=books)
