"""A fresh suite on pyrevm per test: three banks (WEBANK services), a regulator, a stranger."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import pytest

from contracts.evm import EvmSession, TxOutcome
from contracts.ids import bank_id, text_id
from contracts.suite import MemberSpec, Suite

DEPLOYER = "0x" + "de" * 20
VALIDATOR = "0x" + "99" * 20
ACCOUNTS = {
    "WEBANK": "0x" + "a1" * 20,
    "MYBANK": "0x" + "b1" * 20,
    "XWBANK": "0x" + "c1" * 20,
    "REGULATOR": "0x" + "d1" * 20,
}
STRANGER = "0x" + "ee" * 20
VALUE_DATE = 20261124
_ids = itertools.count(1)


def fresh_id(prefix: str) -> bytes:
    """Unique ids across hypothesis examples sharing one deployed suite."""
    return text_id(f"{prefix}-{next(_ids)}")


def default_members(banks: list[str] | None = None) -> list[MemberSpec]:
    banks = banks or ["WEBANK", "MYBANK", "XWBANK"]
    members = [MemberSpec(b, b.title(), "BANK", (ACCOUNTS.get(b) or account_of(b),)) for b in banks]
    members.append(MemberSpec("REGULATOR", "Regulator", "OBSERVER", (ACCOUNTS["REGULATOR"],)))
    return members


def account_of(bank: str) -> str:
    """Deterministic account for banks beyond the three named ones."""
    return "0x" + (bank.encode().hex() * 20)[:40]


@dataclass
class Ledger:
    """The deployed suite plus shortcuts that keep tests about behaviour, not encoding."""

    suite: Suite

    def tx(self, bank_or_account: str, contract: str, fn: str, *args: Any) -> TxOutcome:
        sender = ACCOUNTS.get(bank_or_account) or (
            bank_or_account if bank_or_account.startswith("0x") else account_of(bank_or_account)
        )
        return self.suite.transact(sender, contract, fn, *args)

    def ok(self, bank: str, contract: str, fn: str, *args: Any) -> TxOutcome:
        outcome = self.tx(bank, contract, fn, *args)
        assert outcome.success, f"{contract}.{fn} reverted: {outcome.error}"
        return outcome

    def fails(self, bank: str, contract: str, fn: str, *args: Any) -> str:
        outcome = self.tx(bank, contract, fn, *args)
        assert not outcome.success, f"{contract}.{fn} unexpectedly succeeded"
        assert outcome.error is not None, f"undecoded revert: {outcome.output.hex()}"
        return outcome.error.name

    def call(self, contract: str, fn: str, *args: Any) -> Any:
        return self.suite.call(contract, fn, *args)


def loan_input(loan_id: bytes, shares: dict[str, int], *, servicer: str = "WEBANK", principal: int = 1_000_000) -> dict[str, Any]:
    return {
        "loanId": loan_id,
        "servicer": bank_id(servicer),
        "currency": b"CNY",
        "principal": principal,
        "borrowerHash": b"\x11" * 32,
        "termsHash": b"\x22" * 32,
        "tranches": [{"bank": bank_id(b), "shareBps": s} for b, s in shares.items()],
    }


def drawdown_input(loan_id: bytes, op_id: bytes, amount: int, value_date: int = VALUE_DATE) -> dict[str, Any]:
    return {"loanId": loan_id, "drawdownId": op_id, "amount": amount, "valueDate": value_date}


def repayment_input(loan_id: bytes, op_id: bytes, principal: int, interest: int = 0, penalty: int = 0) -> dict[str, Any]:
    return {
        "loanId": loan_id,
        "repaymentId": op_id,
        "principal": principal,
        "interest": interest,
        "penalty": penalty,
        "valueDate": VALUE_DATE,
    }


def entry_input(entry_id: bytes, payer: str, payee: str, amount: int, kind: int = 2, ref: bytes = b"\0" * 32) -> dict[str, Any]:
    return {
        "entryId": entry_id,
        "payer": bank_id(payer),
        "payee": bank_id(payee),
        "amount": amount,
        "kind": kind,
        "loanId": b"\0" * 32,
        "valueDate": VALUE_DATE,
        "ref": ref,
    }


SHARES = {"WEBANK": 3_000, "MYBANK": 5_000, "XWBANK": 2_000}  # the servicer at the 30% floor


def deploy(banks: list[str] | None = None, min_share: int = 3_000) -> Ledger:
    return Ledger(Suite.deploy(EvmSession(), DEPLOYER, default_members(banks), [VALIDATOR], min_share))


@pytest.fixture
def ledger() -> Ledger:
    return deploy()


@pytest.fixture(scope="module")
def shared_ledger() -> Ledger:
    """One suite for property tests: each example uses fresh ids."""
    return deploy()


@pytest.fixture
def funded_loan(ledger: Ledger) -> bytes:
    loan_id = text_id("LN-FUNDED")
    ledger.ok("WEBANK", "CoLending", "registerLoan", loan_input(loan_id, SHARES))
    ledger.ok("WEBANK", "CoLending", "drawdown", drawdown_input(loan_id, text_id("DD-FUNDED"), 1_000_000))
    return loan_id
