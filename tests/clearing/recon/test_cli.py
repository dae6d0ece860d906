import json
from pathlib import Path

import pytest

from clearing.indexer.store import IndexStore
from colend.cli import main
from tests.clearing.books.test_csv_source import malformed_books
from tests.clearing.factories import CSV_HEADER, rec, write_mapping


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    with IndexStore(tmp_path / "index") as store:
        store.apply_block(1, [rec("E1", 10_000, reference="P1"), rec("E9", 900), rec("E5", 500)])
    write_mapping(tmp_path)
    return tmp_path


def recon_run(ws: Path, books: Path, *extra: str) -> list[str]:
    return [
        "recon",
        "run",
        "--index",
        str(ws / "index"),
        "--bank",
        "WEBANK",
        "--books",
        str(books),
        "--mapping",
        str(ws / "mapping.toml"),
        "--as-of",
        "2026-11-02",
        *extra,
    ]


def test_malformed_books_give_a_rejects_report_and_non_zero_exit(workspace: Path, capsys) -> None:
    books = malformed_books(workspace)
    code = main([*recon_run(workspace, books, "--format", "json", "--out", str(workspace / "out"))])
    assert code == 4  # INCOMPLETE
    doc = json.loads(capsys.readouterr().out)
    assert [(r["line"], r["code"]) for r in doc["rejects"]] == [
        (3, "bad_amount"),
        (4, "bad_amount"),
        (5, "bad_date"),
        (6, "missing_field"),
        (7, "extra_fields"),
        (8, "bad_encoding"),
        (9, "duplicate_key"),
        (11, "bad_sign"),
        (12, "bad_kind"),
    ]
    statement = doc["statement"]
    assert statement["verdict"] == "INCOMPLETE"
    # the valid rows still reconcile: E1 and E9 match, E5 is missing in books, the E1 repeat is a duplicate
    assert statement["overall"]["matched_count"] == 2
    assert sorted(b["break_id"] for b in doc["breaks"]) == [
        "DUPLICATE/BOOKS/CLEARING_ENTRY/E1",
        "MISSING_IN_BOOKS/CLEARING_ENTRY/E5",
    ]
    rejects_csv = (workspace / "out" / "rejects.csv").read_text().splitlines()
    assert rejects_csv[0] == "line,code,reason,key,carried" and len(rejects_csv) == 10
    for name in ("statement.json", "statement.csv", "breaks.csv", "breaks.png", "report.html"):
        assert (workspace / "out" / name).stat().st_size > 0


def test_table_output_shows_rejects_and_verdict(workspace: Path, capsys) -> None:
    assert main(recon_run(workspace, malformed_books(workspace))) == 4
    out = capsys.readouterr().out
    assert "INCOMPLETE" in out and "bad_encoding" in out and "Rejected books rows" in out


def test_clean_books_exit_zero_and_breaks_workflow(workspace: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # rich wraps at the terminal width
    books = workspace / "books.csv"
    books.write_text(
        CSV_HEADER + "E1,ENTRY,100.00,2026-11-02,CONFIRMED,P1,ICBC\nE9,ENTRY,9.00,2026-11-02,CONFIRMED,,ICBC\n"
        "E5,ENTRY,5.00,2026-11-02,CONFIRMED,,ICBC\n"
    )
    assert main(recon_run(workspace, books, "--format", "csv")) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("ALL,3,11400,3,11400,3,")

    books.write_text(
        CSV_HEADER + "E1,ENTRY,100.00,2026-11-02,CONFIRMED,P1,ICBC\nE9,ENTRY,9.10,2026-11-02,CONFIRMED,,ICBC\n"
        "E5,ENTRY,5.00,2026-11-02,CONFIRMED,,ICBC\n"
    )
    assert main(recon_run(workspace, books)) == 1
    db = str(workspace / "recon-breaks.sqlite")  # default: beside the index
    bid = "AMOUNT_MISMATCH/CLEARING_ENTRY/E9"
    capsys.readouterr()
    assert (
        main(["recon", "breaks", "list", "--breaks-db", db, "--bank", "WEBANK", "--format", "json", "--as-of", "2026-11-05"]) == 0
    )
    listed = json.loads(capsys.readouterr().out)
    assert [(b["break_id"], b["state"], b["age_bucket"]) for b in listed] == [(bid, "OPEN", "2-7")]
    assert (
        main(
            ["recon", "breaks", "resolve", "--breaks-db", db, "--bank", "WEBANK", "--id", bid, "--by", "li", "--comment", "done"]
        )
        == 2
    )
    assert "clearing.illegal_transition" in capsys.readouterr().err
    assert (
        main(
            [
                "recon",
                "breaks",
                "assign",
                "--breaks-db",
                db,
                "--bank",
                "WEBANK",
                "--id",
                bid,
                "--to",
                "wang",
                "--by",
                "li",
                "--comment",
                "check fee",
            ]
        )
        == 0
    )
    assert main(recon_run(workspace, books)) == 3  # only an assigned break left: reconciled with pending
    assert (
        main(
            [
                "recon",
                "breaks",
                "resolve",
                "--breaks-db",
                db,
                "--bank",
                "WEBANK",
                "--id",
                bid,
                "--by",
                "wang",
                "--comment",
                "fee reversed in books",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["recon", "breaks", "history", "--breaks-db", db, "--bank", "WEBANK", "--id", bid]) == 0
    history = capsys.readouterr().out
    assert "fee reversed in books" in history and "ASSIGNED" in history


def test_errors_are_reported_with_their_code(workspace: Path, capsys) -> None:
    assert main(recon_run(workspace, workspace / "absent.csv")) == 2
    assert "clearing.books_unavailable" in capsys.readouterr().err
    bad_index = [
        "recon",
        "run",
        "--index",
        str(workspace / "nope"),
        "--bank",
        "WEBANK",
        "--books",
        "x.csv",
        "--mapping",
        str(workspace / "mapping.toml"),
    ]
    assert main(bad_index) == 2
    assert "clearing.index_store" in capsys.readouterr().err
