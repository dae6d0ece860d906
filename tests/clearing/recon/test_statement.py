"""The statement's JSON form reads back into the same statement and writes the same bytes: the worker's line,
the run history and the API each parse it once and pass the model on."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from clearing.books import load_mapping
from clearing.indexer.store import IndexStore
from clearing.recon.run import run_reconciliation
from clearing.recon.statement import Statement, Verdict
from tests.clearing.factories import CSV_HEADER, rec, write_mapping


@pytest.fixture
def statement(tmp_path: Path) -> Statement:
    with IndexStore(tmp_path / "index") as store:
        store.apply_block(10, [rec("E1", 10_000, reference="P1"), rec("E2", -2_500), rec("E3", 700)])
    books = tmp_path / "books.csv"
    books.write_text(CSV_HEADER + "E1,ENTRY,100.00,2026-11-02,CONFIRMED,P1,ICBC\nE3,ENTRY,7.50,2026-11-02,CONFIRMED,,ICBC\n")
    mapping = load_mapping(write_mapping(tmp_path))
    return run_reconciliation(tmp_path / "index", "WEBANK", books, mapping, as_of=dt.date(2026, 11, 2)).statement


def test_a_statement_read_from_its_json_is_the_same_and_writes_the_same_json(statement: Statement) -> None:
    assert statement.verdict is Verdict.BREAKS and statement.kinds
    text = json.dumps(statement.to_dict())
    parsed = Statement.from_dict(json.loads(text))
    assert parsed == statement
    assert json.dumps(parsed.to_dict()) == text


def test_a_statement_with_an_unknown_field_is_refused(statement: Statement) -> None:
    with pytest.raises(TypeError):
        Statement.from_dict({**statement.to_dict(), "surplus": 1})
