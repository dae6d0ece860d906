import csv
import datetime as dt
import io
import json
from pathlib import Path

from rich.console import Console

from bench.support.recon_scenario import generate, write_books_csv
from clearing.books import BooksMapping
from clearing.indexer.store import IndexStore
from clearing.recon.rules import MatchRules
from clearing.recon.run import run_reconciliation
from clearing.records import frame_to_records
from clearing.report.chart import breaks_chart_png, html_report
from clearing.report.export import statement_csv, to_json
from clearing.report.table import print_result
from contracts.money import fen


def scenario_result(tmp_path: Path):
    scenario = generate(600, seed=5, break_every=60, rules=MatchRules(amount_abs_fen=2, date_window_days=1))
    with IndexStore(tmp_path / "index") as store:
        store.apply_block(1, frame_to_records(scenario.chain))
    mapping = BooksMapping.from_dict(write_books_csv(scenario.books, tmp_path / "books.csv"))
    return scenario, run_reconciliation(
        tmp_path / "index", "WEBANK", tmp_path / "books.csv", mapping, as_of=dt.date(2026, 11, 30), rules=scenario.rules
    )


def test_json_and_csv_agree_with_the_statement(tmp_path: Path) -> None:
    scenario, result = scenario_result(tmp_path)
    doc = json.loads(to_json(result))
    assert doc["statement"]["overall"]["residual"] == 0
    assert {t: v["count"] for t, v in doc["statement"]["overall"]["breaks"].items()} == scenario.expected_breaks
    assert len(doc["breaks"]) == sum(scenario.expected_breaks.values())
    assert all(isinstance(b["difference"], int) for b in doc["breaks"])
    rows = list(csv.DictReader(io.StringIO(statement_csv(result))))
    assert rows[-1]["kind"] == "ALL" and int(rows[-1]["residual"]) == 0
    assert sum(int(r["chain_count"]) for r in rows[:-1]) == int(rows[-1]["chain_count"]) == scenario.chain.height


def test_chart_is_a_png_and_html_embeds_it(tmp_path: Path) -> None:
    _, result = scenario_result(tmp_path)
    png = breaks_chart_png(result)
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5_000
    page = html_report(result, png)
    assert "data:image/png;base64," in page and "BREAKS" in page and "MISSING_ON_CHAIN" in page


def test_terminal_table_renders_in_yuan(tmp_path: Path) -> None:
    _, result = scenario_result(tmp_path)
    console = Console(file=io.StringIO(), width=200)
    print_result(console, result)
    text = console.file.getvalue()
    assert "Reconciliation WEBANK" in text and "BREAKS" in text and "Breaks by type and age" in text
    assert fen(-123456) == "-1,234.56" and fen(5) == "0.05"
