"""A bank's reconciliation reads the same whether run in-process or reported as JSON by its clearing service."""

from __future__ import annotations

import json
from pathlib import Path

from clearing.indexer.store import IndexStore
from clearing.recon.rules import MatchRules
from clearing.recon.run import run_reconciliation
from clearing.records import frame_to_records
from colend.demo.bank_recon import from_run, from_statement
from colend.demo.books import plant_mistakes, write_books
from tests.colend.demo.test_books import DAY, chain_view


def test_in_process_and_json_statements_give_the_same_view(tmp_path: Path) -> None:
    chain = chain_view("XWBANK")
    with IndexStore(tmp_path / "index") as index:
        index.apply_block(1, frame_to_records(chain))
        books, planted = plant_mistakes(chain, "XWBANK", 7, DAY)
        path, mapping = write_books(books, "XWBANK", tmp_path / "books")
        result = run_reconciliation(index, "XWBANK", path, mapping, as_of=DAY, rules=MatchRules())
    direct = from_run("XWBANK", result)
    statement = json.loads(json.dumps(result.statement.to_dict(), default=str))
    listed = result.breaks.select("break_id", "break_type", "kind", "key").to_dicts()
    assert from_statement("XWBANK", statement, listed) == direct
    assert sorted(direct.break_ids) == sorted(p.break_id for p in planted)
    assert (direct.chain_rows, direct.books_rows) == (chain.height, books.height)
    assert direct.residual == 0 and direct.verdict == "BREAKS"
