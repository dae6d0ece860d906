"""Exposures and limit checks from tranche balances: sums that hold, breaches exactly when over the limit."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clearing.errors import InvalidLimit
from clearing.policy import (
    CheckStatus,
    DeclaredFigures,
    Limits,
    Rule,
    TranchePosition,
    compute_exposures,
    tranche_frame,
)

AS_OF = dt.date(2026, 9, 30)
BANKS = ["WEBANK", "MYBANK", "XWBANK", "ZJBANK"]


def figures(bank: str, tier1: int, total: int) -> DeclaredFigures:
    return DeclaredFigures(bank, tier1, total, AS_OF)


def loan(loan_id: str, servicer: str, balances: dict[str, int]) -> list[TranchePosition]:
    return [TranchePosition(loan_id, bank, servicer, amount) for bank, amount in balances.items()]


def test_exactly_a_quarter_of_tier1_passes_and_one_fen_more_breaches() -> None:
    tranches = loan("L1", "WEBANK", {"WEBANK": 2_500, "MYBANK": 7_500})
    at_limit = compute_exposures(tranche_frame(tranches), {"WEBANK": figures("WEBANK", 10_000, 1_000_000)})
    check = at_limit.pair("WEBANK", "MYBANK")
    assert check is not None and check.status is CheckStatus.PASS and check.headroom == 0
    over = tranches + loan("L2", "MYBANK", {"WEBANK": 1, "MYBANK": 9})
    breached = compute_exposures(tranche_frame(over), {"WEBANK": figures("WEBANK", 10_000, 1_000_000)})
    check = breached.pair("WEBANK", "MYBANK")
    assert check is not None and check.status is CheckStatus.BREACH
    assert (check.exposure, check.limit_amount, check.headroom) == (2_501, 2_500, -1)
    assert [(c.loan_id, c.servicer, c.outstanding) for c in check.contributions] == [("L1", "WEBANK", 2_500), ("L2", "MYBANK", 1)]
    assert breached.breaches == (check,)


def test_joint_lending_against_half_of_total_loans() -> None:
    tranches = loan("L1", "WEBANK", {"WEBANK": 300, "MYBANK": 700}) + loan("L2", "WEBANK", {"WEBANK": 5_000})
    result = compute_exposures(tranche_frame(tranches), {"WEBANK": figures("WEBANK", 10**9, 600)})
    joint = result.bank("WEBANK").joint_lending  # type: ignore[union-attr]
    # L2 is funded by WEBANK alone: not joint lending, so it counts towards nothing here.
    assert (joint.rule, joint.exposure, joint.loan_count, joint.status) == (Rule.JOINT_TOTAL_LOANS, 300, 1, CheckStatus.PASS)
    assert joint.ratio == Fraction(1, 2)
    tighter = compute_exposures(tranche_frame(tranches), {"WEBANK": figures("WEBANK", 10**9, 599)})
    assert tighter.bank("WEBANK").joint_lending.status is CheckStatus.BREACH  # type: ignore[union-attr]


def test_banks_without_figures_are_undeclared_never_pass_or_breach() -> None:
    tranches = loan("L1", "WEBANK", {"WEBANK": 10**12, "MYBANK": 10**12})
    result = compute_exposures(tranche_frame(tranches), {"WEBANK": figures("WEBANK", 1, 1)})
    assert result.undeclared == ("MYBANK",)
    assert {c.status for c in result.bank("MYBANK").checks} == {CheckStatus.UNDECLARED}  # type: ignore[union-attr]
    assert {(c.bank, c.rule) for c in result.breaches} == {("WEBANK", Rule.JOINT_TOTAL_LOANS), ("WEBANK", Rule.PARTNER_TIER1)}


def test_a_declared_bank_without_joint_lending_passes_with_zero() -> None:
    result = compute_exposures(tranche_frame([]), {"XWBANK": figures("XWBANK", 1_000, 1_000)})
    bank = result.bank("XWBANK")
    assert bank is not None and bank.partners == ()
    assert (bank.joint_lending.exposure, bank.joint_lending.status) == (0, CheckStatus.PASS)


def test_three_bank_loan_counts_each_tranche_towards_every_partner() -> None:
    tranches = loan("L1", "WEBANK", {"WEBANK": 3_000, "MYBANK": 5_000, "XWBANK": 2_000})
    result = compute_exposures(tranche_frame(tranches), {})
    assert result.pair("XWBANK", "WEBANK").exposure == 2_000  # type: ignore[union-attr]
    assert result.pair("XWBANK", "MYBANK").exposure == 2_000  # type: ignore[union-attr]
    assert result.pair("WEBANK", "MYBANK").exposure == 3_000  # type: ignore[union-attr]


def test_paid_off_tranches_carry_no_balance_but_keep_the_loan_joint() -> None:
    tranches = loan("L1", "WEBANK", {"WEBANK": 0, "MYBANK": 900})
    result = compute_exposures(tranche_frame(tranches), {})
    assert result.pair("MYBANK", "WEBANK").exposure == 900  # type: ignore[union-attr]
    assert result.bank("WEBANK") is None  # no balance and no figures: nothing to report about WEBANK


def test_limits_are_overridable_and_checked() -> None:
    tranches = loan("L1", "WEBANK", {"WEBANK": 1_000, "MYBANK": 1_000})
    strict = compute_exposures(
        tranche_frame(tranches), {"WEBANK": figures("WEBANK", 10_000, 10_000)}, limits=Limits(partner_bps=999)
    )
    assert strict.pair("WEBANK", "MYBANK").status is CheckStatus.BREACH  # type: ignore[union-attr]
    with pytest.raises(InvalidLimit) as err:
        Limits(joint_lending_bps=10_001)
    assert err.value.code == "clearing.invalid_limit"


def test_to_dict_is_json_and_keeps_amounts_exact() -> None:
    tranches = loan("L1", "WEBANK", {"WEBANK": 2 * 10**15 + 2, "MYBANK": 1})
    result = compute_exposures(tranche_frame(tranches), {"WEBANK": figures("WEBANK", 3, 10**18)}, index_block=42)
    doc = json.loads(json.dumps(result.to_dict()))
    assert doc["index_block"] == 42
    breach = doc["breaches"][0]
    assert breach["exposure_fen"] == 2 * 10**15 + 2 and breach["loans"][0]["outstanding_fen"] == 2 * 10**15 + 2
    assert breach["ratio"] == f"{2 * 10**15 + 2}/3"
    assert "loans" not in doc["banks"][0]["joint_lending"]


# ---------------------------------------------------------------------------------------------- properties

loans_strategy = st.lists(
    st.tuples(
        st.sampled_from(BANKS),  # servicer
        st.dictionaries(st.sampled_from(BANKS), st.integers(0, 10**13), max_size=4),  # other tranches
        st.integers(0, 10**13),  # servicer's balance
    ),
    max_size=12,
)
figures_strategy = st.dictionaries(st.sampled_from(BANKS), st.tuples(st.integers(0, 10**14), st.integers(0, 10**14)), max_size=4)


def build(raw_loans: list) -> list[TranchePosition]:
    out: list[TranchePosition] = []
    for i, (servicer, others, own) in enumerate(raw_loans):
        balances = {**others, servicer: own}
        out += loan(f"L{i}", servicer, balances)
    return out


@settings(max_examples=150, deadline=None)
@given(loans_strategy, figures_strategy, st.integers(0, 10_000), st.integers(0, 10_000))
def test_exposures_sum_to_tranche_balances_and_breach_iff_over_the_limit(
    raw_loans: list, raw_figures: dict, partner_bps: int, joint_bps: int
) -> None:
    tranches = build(raw_loans)
    declared = {b: figures(b, t1, total) for b, (t1, total) in raw_figures.items()}
    limits = Limits(partner_bps=partner_bps, joint_lending_bps=joint_bps)
    result = compute_exposures(tranche_frame(tranches), declared, limits=limits, max_loans=None)

    members: dict[str, set[str]] = defaultdict(set)
    for t in tranches:
        members[t.loan_id].add(t.bank)
    joint = [t for t in tranches if len(members[t.loan_id]) >= 2]
    assert sum(b.joint_lending.exposure for b in result.banks) == sum(t.outstanding for t in joint)
    for bank in result.banks:
        mine = [t for t in joint if t.bank == bank.bank]
        assert bank.joint_lending.exposure == sum(t.outstanding for t in mine)
        assert sum(p.exposure for p in bank.partners) == sum(t.outstanding * (len(members[t.loan_id]) - 1) for t in mine)
        for check in bank.checks:
            base = check.base
            if bank.bank not in declared:
                assert check.status is CheckStatus.UNDECLARED and base is None
                continue
            expected = (
                declared[bank.bank].tier1_net_capital if check.rule is Rule.PARTNER_TIER1 else declared[bank.bank].total_loans
            )
            assert base == expected
            over = Fraction(check.exposure) > Fraction(expected * check.limit_bps, 10_000)
            assert (check.status is CheckStatus.BREACH) == over
            if over:
                amounts = [c.outstanding for c in check.contributions]
                assert sum(amounts) == check.exposure and amounts == sorted(amounts, reverse=True)
                assert len(amounts) == check.loan_count and check.unlisted_loans == check.unlisted_outstanding == 0
                assert check in result.breaches
            else:
                assert check.contributions == ()
    assert set(result.undeclared) == {b.bank for b in result.banks} - set(declared)
    assert {b.bank for b in result.banks} == {t.bank for t in joint if t.outstanding > 0} | set(declared)


@settings(max_examples=60, deadline=None)
@given(loans_strategy, st.integers(0, 4))
def test_a_breach_lists_its_largest_loans_and_sums_up_the_rest(raw_loans: list, max_loans: int) -> None:
    frame = tranche_frame(build(raw_loans))
    banks = sorted(set(frame.get_column("bank").to_list()))
    breach_all = {b: figures(b, 0, 0) for b in banks}  # zero bases: every balance breaches
    full = compute_exposures(frame, breach_all, max_loans=None)
    short = compute_exposures(frame, breach_all, max_loans=max_loans)
    assert len(full.breaches) == len(short.breaches)
    for whole, part in zip(full.breaches, short.breaches, strict=True):
        assert part.contributions == whole.contributions[:max_loans]
        assert part.unlisted_loans == part.loan_count - len(part.contributions)
        assert part.unlisted_outstanding == sum(c.outstanding for c in whole.contributions[max_loans:])
        assert sum(c.outstanding for c in part.contributions) + part.unlisted_outstanding == part.exposure


@settings(max_examples=100, deadline=None)
@given(st.integers(10_000, 10**15), st.integers(1, 10_000))
def test_boundary_at_the_limit(tier1: int, limit_bps: int) -> None:
    exact = Fraction(tier1 * limit_bps, 10_000)
    at_most = exact.numerator // exact.denominator  # the largest balance in fen within the limit
    for balance, status in ((at_most, CheckStatus.PASS), (at_most + 1, CheckStatus.BREACH)):
        tranches = loan("L1", "MYBANK", {"WEBANK": balance, "MYBANK": 1})
        result = compute_exposures(
            tranche_frame(tranches), {"WEBANK": figures("WEBANK", tier1, 10**18)}, limits=Limits(partner_bps=limit_bps)
        )
        assert result.pair("WEBANK", "MYBANK").status is status  # type: ignore[union-attr]
