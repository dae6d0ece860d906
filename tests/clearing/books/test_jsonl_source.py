from pathlib import Path

from clearing.books import RejectCode, load_mapping, open_books
from tests.clearing.factories import write_mapping


def test_jsonl_rows_bad_json_and_float_amounts(tmp_path: Path) -> None:
    path = tmp_path / "books.jsonl"
    path.write_bytes(
        b"\n".join(
            [
                b'{"ref_no": "E1", "record_type": "ENTRY", "amount_yuan": "12.34", "value_date": "2026-11-02"}',
                b'{"ref_no": "E2", "record_type": "ENTRY", "amount_yuan": 0.10, "value_date": "2026-11-02"}',
                b'{"ref_no": "E3", "record_type": "ENTRY", "amount_yuan": 1e-7, "value_date": "2026-11-02"}',
                b'{"ref_no": "E4", "record_type": "ENTRY"',
                b'["not", "an", "object"]',
                b'{"ref_no": "E5", "record_type": "ENTRY", "value_date": "2026-11-02"}',
                b'{"ref_no": "E6", "record_type": "ENTRY", "amount_yuan": "1.00", "value_date": "2026-11-02", "x": "\xff"}',
                b"",
            ]
        )
    )
    loaded = open_books(path, load_mapping(write_mapping(tmp_path))).load("WEBANK")
    assert [(r.line, r.code) for r in loaded.rejects] == [
        (3, RejectCode.BAD_AMOUNT),
        (4, RejectCode.BAD_JSON),
        (5, RejectCode.BAD_JSON),
        (6, RejectCode.MISSING_FIELD),
        (7, RejectCode.BAD_ENCODING),
    ]
    # JSON numbers are read as Decimal, so 0.10 yuan is exactly 10 fen
    assert loaded.frame.select("key", "amount", "line").rows() == [("E1", 1234, 1), ("E2", 10, 2)]
