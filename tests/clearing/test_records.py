import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearing.errors import InvalidRecord
from clearing.records import (
    Record,
    RecordKind,
    allocation_key,
    clearing_entry_views,
    frame_to_records,
    id_bytes,
    id_text,
    records_to_frame,
)
from tests.clearing.factories import rec


@given(st.binary(min_size=32, max_size=32))
def test_any_bytes32_id_round_trips_through_text(raw: bytes) -> None:
    assert id_bytes(id_text(raw)) == raw


def test_ascii_ids_stay_readable_and_hashes_become_hex() -> None:
    assert id_text(b"WEBANK".ljust(32, b"\x00")) == "WEBANK"
    digest = bytes(range(32))
    assert id_text(digest) == "0x" + digest.hex()
    # text that itself looks like hex must not be mistaken for a hash on the way back
    tricky = b"0xabc".ljust(32, b"\x00")
    assert id_bytes(id_text(tricky)) == tricky


def test_record_refuses_floats_negative_principal_and_tabs() -> None:
    with pytest.raises(InvalidRecord):
        rec("E1", 1.5)  # type: ignore[arg-type]
    with pytest.raises(InvalidRecord):
        rec("T1", -1, kind=RecordKind.LOAN_TRANCHE)
    with pytest.raises(InvalidRecord):
        rec("E\t1", 1)
    with pytest.raises(InvalidRecord):
        rec("E1", 1, reference="")
    assert rec("E1", -5).amount == -5  # clearing entries are signed


def test_kind_text_is_coerced_and_unknown_kind_refused() -> None:
    record = Record(
        kind="CYCLE_POSITION",
        key="C1/WEBANK",
        bank="WEBANK",
        amount=-3,
        currency="CNY",  # type: ignore[arg-type]
        value_date=dt.date(2026, 1, 1),
    )
    assert record.kind is RecordKind.CYCLE_POSITION
    with pytest.raises(InvalidRecord) as info:
        Record(kind="LOAN", key="x", bank="B", amount=1, currency="CNY", value_date=dt.date(2026, 1, 1))  # type: ignore[arg-type]
    assert info.value.code == "clearing.invalid_record"


def test_frame_round_trip_keeps_every_field() -> None:
    records = [
        rec("E1", -100, reference="P1", cycle_id="C1"),
        rec("L1/WEBANK", 5, kind=RecordKind.LOAN_TRANCHE, loan_id="L1", status=None, counterparty=None),
    ]
    assert list(frame_to_records(records_to_frame(records))) == records


def test_repayment_component_keys() -> None:
    assert allocation_key("R9", "WEBANK", "INTEREST") == "R9/WEBANK/INTEREST"
    with pytest.raises(InvalidRecord):
        allocation_key("R9", "WEBANK", "FEES")


def test_a_clearing_entry_is_seen_from_both_sides_and_nets_to_zero() -> None:
    payer_view, payee_view = clearing_entry_views(
        id_text(bytes(range(32))),
        payer="WEBANK",
        payee="ICBC",
        amount=1_250,
        currency="CNY",
        value_date=dt.date(2026, 11, 2),
        cycle_id="C7",
    )
    assert (payer_view.bank, payer_view.counterparty, payer_view.amount) == ("WEBANK", "ICBC", -1_250)
    assert (payee_view.bank, payee_view.counterparty, payee_view.amount) == ("ICBC", "WEBANK", 1_250)
    assert payer_view.amount + payee_view.amount == 0 and payer_view.key == payee_view.key
    with pytest.raises(InvalidRecord):
        clearing_entry_views("E1", payer="A", payee="B", amount=0, currency="CNY", value_date=dt.date(2026, 1, 1))
