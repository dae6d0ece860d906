"""Allocation exactness: parts always sum to the amount and each is within one minor unit of exact pro rata."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contracts.ids import bank_id
from tests.contracts.conftest import Ledger, drawdown_input, fresh_id, loan_input, repayment_input

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def assert_pro_rata(parts: list[int], amount: int, weights: list[int]) -> None:
    total = sum(weights)
    assert sum(parts) == amount
    for part, weight in zip(parts, weights, strict=True):
        exact = Fraction(amount * weight, total)
        assert abs(part - exact) < 1, (part, exact)


@PROPERTY
@given(
    amount=st.integers(min_value=0, max_value=10**15),
    weights=st.lists(st.integers(min_value=1, max_value=10**9), min_size=1, max_size=10),
    data=st.data(),
)
def test_allocate_is_exact_for_any_weights(shared_ledger: Ledger, amount: int, weights: list[int], data: st.DataObject) -> None:
    favoured = data.draw(st.integers(min_value=0, max_value=len(weights) - 1))
    parts = list(shared_ledger.call("CoLending", "allocate", amount, weights, favoured))
    assert_pro_rata(parts, amount, weights)


def test_ties_go_to_the_servicer(shared_ledger: Ledger) -> None:
    # 1 unit over three equal weights: the favoured index gets it, whichever it is.
    for favoured in range(3):
        parts = shared_ledger.call("CoLending", "allocate", 1, [1, 1, 1], favoured)
        assert list(parts) == [1 if i == favoured else 0 for i in range(3)]
    # Largest remainder beats the tie rule: 2 units over (1, 2) gives the larger remainder first.
    assert list(shared_ledger.call("CoLending", "allocate", 2, [1, 2], 0)) == [1, 1]


@st.composite
def tranche_shares(draw: st.DrawFn) -> dict[str, int]:
    """Valid tranches: the servicer WEBANK holds >= 3,000 bps (the floor), every partner >= 1 bps."""
    partners = draw(st.sampled_from([["MYBANK"], ["XWBANK"], ["MYBANK", "XWBANK"]]))
    shares = {"WEBANK": draw(st.integers(min_value=3_000, max_value=10_000 - len(partners)))}
    left = 10_000 - shares["WEBANK"]
    for i, p in enumerate(partners):
        last = i == len(partners) - 1
        shares[p] = left if last else draw(st.integers(min_value=1, max_value=left - (len(partners) - i - 1)))
        left -= shares[p]
    return shares


@PROPERTY
@given(
    shares=tranche_shares(),
    principal=st.integers(min_value=1, max_value=10**12),
    data=st.data(),
)
def test_drawdown_and_repayment_allocations_sum_exactly(
    shared_ledger: Ledger, shares: dict[str, int], principal: int, data: st.DataObject
) -> None:
    loan_id = fresh_id("LN")
    shared_ledger.ok("WEBANK", "CoLending", "registerLoan", loan_input(loan_id, shares, principal=principal))
    drawn = data.draw(st.integers(min_value=1, max_value=principal))
    funded = shared_ledger.ok("WEBANK", "CoLending", "drawdown", drawdown_input(loan_id, fresh_id("DD"), drawn))
    weights = [shares[b] for b in shares]
    assert_pro_rata([e["amount"] for e in funded.events("TrancheFunded")], drawn, weights)
    # Funders owe the servicer exactly their part of what it disbursed.
    owed = {e["payer"]: e["amount"] for e in funded.events("EntryPosted")}
    for e in funded.events("TrancheFunded"):
        if e["bank"] != bank_id("WEBANK"):
            assert owed.get(e["bank"], 0) == e["amount"]

    repaid = data.draw(st.integers(min_value=0, max_value=drawn))
    interest = data.draw(st.integers(min_value=0, max_value=10**9))
    penalty = data.draw(st.integers(min_value=0, max_value=10**6))
    if repaid + interest + penalty == 0:
        interest = 1
    outstanding_before = [e["outstanding"] for e in funded.events("TrancheFunded")]
    paid = shared_ledger.ok("WEBANK", "CoLending", "repay", repayment_input(loan_id, fresh_id("RP"), repaid, interest, penalty))
    allocations = paid.events("RepaymentAllocated")
    assert_pro_rata([a["principal"] for a in allocations], repaid, outstanding_before)
    assert_pro_rata([a["interest"] for a in allocations], interest, weights)
    assert_pro_rata([a["penalty"] for a in allocations], penalty, weights)
    assert [a["outstanding"] for a in allocations] == [
        o - a["principal"] for o, a in zip(outstanding_before, allocations, strict=True)
    ]
    # The servicer owes each funder what it collected on the funder's behalf.
    for a in allocations:
        if a["bank"] != bank_id("WEBANK"):
            due = a["principal"] + a["interest"] + a["penalty"]
            posted = [e["amount"] for e in paid.events("EntryPosted") if e["payee"] == a["bank"]]
            assert posted == ([due] if due else [])
