"""Declared figures: a bank declares its own tier-1 net capital and total loans; dates never go backwards."""

from __future__ import annotations

from contracts.ids import bank_id
from tests.contracts.conftest import STRANGER, Ledger

TIER1 = 80_000_000_000_00  # 80bn yuan in fen
TOTAL = 2_500_000_000_000_00


def test_a_bank_declares_its_own_figures_and_every_reader_sees_them(ledger: Ledger) -> None:
    assert ledger.call("CoLending", "figures", bank_id("MYBANK")) == (0, 0, 0)  # nothing declared yet
    declared = ledger.ok("MYBANK", "CoLending", "declareFigures", TIER1, TOTAL, 20260930)
    assert declared.events("FiguresDeclared") == [
        {"bank": bank_id("MYBANK"), "tier1NetCapital": TIER1, "totalLoans": TOTAL, "asOf": 20260930}
    ]
    assert ledger.call("CoLending", "figures", bank_id("MYBANK")) == (TIER1, TOTAL, 20260930)
    assert ledger.call("CoLending", "figures", bank_id("WEBANK")) == (0, 0, 0)  # declared for itself only


def test_same_figures_again_are_a_noop_and_a_same_day_correction_replaces_them(ledger: Ledger) -> None:
    ledger.ok("WEBANK", "CoLending", "declareFigures", TIER1, TOTAL, 20260930)
    assert ledger.ok("WEBANK", "CoLending", "declareFigures", TIER1, TOTAL, 20260930).logs == []
    corrected = ledger.ok("WEBANK", "CoLending", "declareFigures", TIER1 - 1, TOTAL, 20260930)
    assert corrected.events("FiguresDeclared")[0]["tier1NetCapital"] == TIER1 - 1
    ledger.ok("WEBANK", "CoLending", "declareFigures", TIER1, TOTAL + 5, 20261231)
    assert ledger.call("CoLending", "figures", bank_id("WEBANK")) == (TIER1, TOTAL + 5, 20261231)


def test_an_older_declaration_is_refused_as_stale(ledger: Ledger) -> None:
    ledger.ok("XWBANK", "CoLending", "declareFigures", TIER1, TOTAL, 20261231)
    outcome = ledger.tx("XWBANK", "CoLending", "declareFigures", TIER1, TOTAL, 20260930)
    assert outcome.error is not None and outcome.error.name == "StaleFigures"
    assert (outcome.error.args["asOf"], outcome.error.args["latestAsOf"]) == (20260930, 20261231)


def test_bad_figures_and_dates_are_refused(ledger: Ledger) -> None:
    assert ledger.fails("WEBANK", "CoLending", "declareFigures", 0, TOTAL, 20260930) == "InvalidFigures"
    assert ledger.fails("WEBANK", "CoLending", "declareFigures", TIER1, 0, 20260930) == "InvalidFigures"
    assert ledger.fails("WEBANK", "CoLending", "declareFigures", 2**128, TOTAL, 20260930) == "InvalidFigures"
    assert ledger.fails("WEBANK", "CoLending", "declareFigures", TIER1, TOTAL, 20261340) == "InvalidValueDate"


def test_regulators_and_strangers_cannot_declare(ledger: Ledger) -> None:
    assert ledger.fails("REGULATOR", "CoLending", "declareFigures", TIER1, TOTAL, 20260930) == "ObserverCannotWrite"
    assert ledger.fails(STRANGER, "CoLending", "declareFigures", TIER1, TOTAL, 20260930) == "UnknownAccount"
