from pathlib import Path

import pytest

from clearing.books import RejectCode, load_mapping, open_books
from clearing.errors import BadHeader, MissingColumn
from tests.clearing.factories import CSV_HEADER, write_mapping


def malformed_books(directory: Path) -> Path:
    """Line numbers in the comments are the physical lines of the file."""
    lines = [
        CSV_HEADER.encode(),  # 1
        b"E1,ENTRY,100.00,2026-11-02,CONFIRMED,P1,ICBC\n",  # 2 good
        b"E2,ENTRY,12.3x,2026-11-02,CONFIRMED,,ICBC\n",  # 3 bad number
        b"E3,ENTRY,1.234,2026-11-02,CONFIRMED,,ICBC\n",  # 4 sub-fen amount
        b"E4,ENTRY,5.00,2026-02-30,CONFIRMED,,ICBC\n",  # 5 unparseable date
        b"E5,ENTRY,5.00\n",  # 6 missing columns
        b"E6,ENTRY,6.00,2026-11-02,CONFIRMED,,ICBC,surplus\n",  # 7 extra column
        "E7,ENTRY,7.00,2026-11-02,已确认,,ICBC\n".encode("gb18030"),  # 8 wrong encoding
        b"E1,ENTRY,100.00,2026-11-02,CONFIRMED,P1,ICBC\n",  # 9 duplicate key of line 2
        b"\n",  # 10 blank: no data, skipped
        b"T1,TRANCHE,-5.00,2026-11-02,ACTIVE,,\n",  # 11 negative principal
        b"E8,LOANX,8.00,2026-11-02,CONFIRMED,,ICBC\n",  # 12 unknown kind
        b"E9,ENTRY,9.00,2026-11-02,CONFIRMED,,ICBC\n",  # 13 good
    ]
    path = directory / "books.csv"
    path.write_bytes(b"".join(lines))
    return path


def test_every_bad_row_is_reported_with_line_and_code_and_good_rows_survive(tmp_path: Path) -> None:
    mapping = load_mapping(write_mapping(tmp_path))
    loaded = open_books(malformed_books(tmp_path), mapping).load("WEBANK")
    got = [(r.line, r.code) for r in loaded.rejects]
    assert got == [
        (3, RejectCode.BAD_AMOUNT),
        (4, RejectCode.BAD_AMOUNT),
        (5, RejectCode.BAD_DATE),
        (6, RejectCode.MISSING_FIELD),
        (7, RejectCode.EXTRA_FIELDS),
        (8, RejectCode.BAD_ENCODING),
        (9, RejectCode.DUPLICATE_KEY),
        (11, RejectCode.BAD_SIGN),
        (12, RejectCode.BAD_KIND),
    ]
    reasons = {r.line: r.reason for r in loaded.rejects}
    assert "12.3x" in reasons[3] and "value_date" in reasons[6] and "first at line 2" in reasons[9]
    assert [r.line for r in loaded.rejects if r.carried] == [9]
    assert loaded.frame.sort("line").select("key", "amount", "line").rows() == [
        ("E1", 10000, 2),
        ("E1", 10000, 9),
        ("E9", 900, 13),
    ]
    assert loaded.rows_read == 11  # lines 2-9 and 11-13; the blank line holds no row


def test_a_mapped_column_absent_from_the_header_is_a_coded_error(tmp_path: Path) -> None:
    path = tmp_path / "books.csv"
    path.write_text("ref_no,record_type,value_date\nE1,ENTRY,2026-11-02\n")
    mapping = load_mapping(write_mapping(tmp_path))
    with pytest.raises(MissingColumn) as info:
        open_books(path, mapping).load("WEBANK")
    assert info.value.code == "clearing.missing_column"
    assert "amount_yuan" in info.value.message


def test_gb18030_export_with_padding_and_quotes(tmp_path: Path) -> None:
    text = CSV_HEADER + ' E1 ,ENTRY, 1.50 ,2026-11-02,已确认,"P,1",ICBC\n'
    path = tmp_path / "books.csv"
    path.write_bytes(text.encode("gb18030"))
    mapping_path = write_mapping(tmp_path)
    mapping_path.write_text('[source]\nencoding = "gb18030"\n' + mapping_path.read_text())
    loaded = open_books(path, load_mapping(mapping_path)).load("WEBANK")
    assert loaded.rejects == []
    assert loaded.frame.select("key", "amount", "status", "reference").rows() == [("E1", 150, "已确认", "P,1")]


def test_tabs_inside_quoted_values_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "books.csv"
    path.write_text(CSV_HEADER + 'E1,ENTRY,1.00,2026-11-02,"CON\tFIRMED",,ICBC\nE2,ENTRY,2.00,2026-11-02,OK,,ICBC\n')
    loaded = open_books(path, load_mapping(write_mapping(tmp_path))).load("WEBANK")
    assert [(r.line, r.code) for r in loaded.rejects] == [(2, RejectCode.BAD_TEXT)]
    assert loaded.frame.get_column("key").to_list() == ["E2"]


def test_rows_of_another_bank_are_rejected_not_dropped(tmp_path: Path) -> None:
    path = tmp_path / "books.csv"
    path.write_text(
        "ref_no,record_type,amount_yuan,value_date,bank\nE1,ENTRY,1.00,2026-11-02,ICBC\nE2,ENTRY,1.00,2026-11-02,WEBANK\n"
    )
    mapping = write_mapping(
        tmp_path,
        "[columns]\nkey='ref_no'\nkind='record_type'\namount='amount_yuan'\n"
        "value_date='value_date'\nbank='bank'\n[constants]\ncurrency='CNY'\n"
        "[values.kind]\nENTRY='CLEARING_ENTRY'\n[format]\namount_unit='yuan'\n",
    )
    loaded = open_books(path, load_mapping(mapping)).load("WEBANK")
    assert [(r.line, r.code) for r in loaded.rejects] == [(2, RejectCode.WRONG_BANK)]
    assert loaded.frame.get_column("key").to_list() == ["E2"]


def test_header_only_file_loads_nothing(tmp_path: Path) -> None:
    path = tmp_path / "books.csv"
    path.write_text(CSV_HEADER)
    loaded = open_books(path, load_mapping(write_mapping(tmp_path))).load("WEBANK")
    assert loaded.frame.height == 0 and loaded.rejects == []


def test_crlf_exports_parse_like_lf(tmp_path: Path) -> None:
    path = tmp_path / "books.csv"
    text = CSV_HEADER + "E1,ENTRY,1.00,2026-11-02,OK,P1,ICBC\nE2,ENTRY,oops,2026-11-02,OK,,\n"
    path.write_bytes(text.replace("\n", "\r\n").encode())
    loaded = open_books(path, load_mapping(write_mapping(tmp_path))).load("WEBANK")
    assert [(r.line, r.code) for r in loaded.rejects] == [(3, RejectCode.BAD_AMOUNT)]
    assert loaded.frame.select("key", "status", "counterparty").rows() == [("E1", "OK", "ICBC")]


def test_a_header_repeating_a_column_is_a_coded_error(tmp_path: Path) -> None:
    path = tmp_path / "books.csv"
    path.write_text("ref_no,record_type,amount_yuan,value_date,amount_yuan\nE1,ENTRY,1.00,2026-11-02,2.00\n")
    with pytest.raises(BadHeader) as info:
        open_books(path, load_mapping(write_mapping(tmp_path))).load("WEBANK")
    assert info.value.code == "clearing.bad_header" and "amount_yuan" in info.value.message
