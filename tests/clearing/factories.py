"""Small builders shared by the clearing tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from clearing.records import Record, RecordKind

BANK = "WEBANK"
DAY = dt.date(2026, 11, 2)


def rec(
    key: str,
    amount: int,
    *,
    kind: RecordKind = RecordKind.CLEARING_ENTRY,
    bank: str = BANK,
    day: dt.date = DAY,
    status: str | None = "CONFIRMED",
    reference: str | None = None,
    counterparty: str | None = "ICBC",
    loan_id: str | None = None,
    cycle_id: str | None = None,
    currency: str = "CNY",
) -> Record:
    return Record(
        kind=kind,
        key=key,
        bank=bank,
        amount=amount,
        currency=currency,
        value_date=day,
        status=status,
        counterparty=counterparty,
        loan_id=loan_id,
        cycle_id=cycle_id,
        reference=reference,
    )


CSV_MAPPING_TOML = """
[columns]
key = "ref_no"
kind = "record_type"
amount = "amount_yuan"
value_date = "value_date"
status = "status"
reference = "payment_ref"
counterparty = "cpty"

[constants]
currency = "CNY"

[values.kind]
ENTRY = "CLEARING_ENTRY"
TRANCHE = "LOAN_TRANCHE"

[format]
date = "%Y-%m-%d"
amount_unit = "yuan"
"""
CSV_HEADER = "ref_no,record_type,amount_yuan,value_date,status,payment_ref,cpty\n"


def write_mapping(directory: Path, text: str = CSV_MAPPING_TOML) -> Path:
    path = directory / "mapping.toml"
    path.write_text(text)
    return path
