"""The two pair strategies (member masks, self-join) give the same balances and the same loans."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from clearing.policy import TranchePosition, compute_exposures, tranche_frame
from clearing.policy.membership import MAX_MASK_BANKS, JoinPairs, MaskPairs, pair_balances

BANKS = [f"B{i:02d}" for i in range(6)]

loans = st.lists(
    st.tuples(st.sampled_from(BANKS), st.dictionaries(st.sampled_from(BANKS), st.integers(0, 10**12), min_size=1, max_size=5)),
    max_size=15,
)


def joint_of(raw: list) -> pl.DataFrame:
    positions = [
        TranchePosition(f"L{i}", bank, servicer, amount)
        for i, (servicer, shares) in enumerate(raw)
        for bank, amount in shares.items()
    ]
    frame = tranche_frame(positions)
    return frame.filter(pl.len().over("loan_id") >= 2)


@settings(max_examples=120, deadline=None)
@given(loans)
def test_masks_and_joins_agree(raw: list) -> None:
    joint = joint_of(raw)
    banks = sorted(joint.get_column("bank").unique().to_list())
    masked, joined = MaskPairs(joint, banks), JoinPairs(joint)
    assert masked.totals().equals(joined.totals())
    for bank, partner, *_ in masked.totals().iter_rows():
        a = masked.rows(bank, partner).sort("loan_id")
        b = joined.rows(bank, partner).sort("loan_id")
        assert a.equals(b)


def test_more_banks_than_a_mask_holds_use_the_join() -> None:
    many = [f"K{i:03d}" for i in range(MAX_MASK_BANKS + 1)]
    positions = [TranchePosition("L1", bank, many[0], 10) for bank in many]
    joint = tranche_frame(positions)
    assert isinstance(pair_balances(joint), JoinPairs)
    assert isinstance(pair_balances(joint.head(MAX_MASK_BANKS)), MaskPairs)
    result = compute_exposures(joint, {})
    assert len(result.bank("K000").partners) == MAX_MASK_BANKS  # type: ignore[union-attr]
    assert {p.exposure for p in result.bank("K007").partners} == {10}  # type: ignore[union-attr]
