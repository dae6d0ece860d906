"""The demo's day on an in-process EVM: each bank's session sends through pyrevm instead of a node."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from colend.demo.day import BANKS, REGULATOR
from colend.demo.posting import BankSession
from contracts.errors import ContractReverted
from contracts.evm import EvmSession
from contracts.rpc_client import Sent
from contracts.suite import MemberSpec, Suite

DEPLOYER = "0x" + "de" * 20
VALIDATOR = "0x" + "99" * 20


@dataclass
class EvmClient:
    """The slice of SuiteClient that posting and settlement use, over a Suite in pyrevm."""

    suite: Suite
    lock: threading.Lock = field(default_factory=threading.Lock)  # the banks post from threads; one EVM

    def send(self, account: LocalAccount, contract: str, fn: str, *args: Any) -> Sent:
        with self.lock:
            outcome = self.suite.transact(account.address, contract, fn, *args)
        if not outcome.success:
            raise ContractReverted(f"{contract}.{fn} reverted: {outcome.error}", data=outcome.output, error=outcome.error)
        return Sent("0x", 0, outcome.gas_used, list(outcome.logs))

    def call(self, contract: str, fn: str, *args: Any) -> Any:
        with self.lock:
            return self.suite.call(contract, fn, *args)


@pytest.fixture
def evm_sessions() -> tuple[Suite, dict[str, BankSession]]:
    accounts = {m: Account.create(f"colend-demo-test-{m}") for m in (*BANKS, REGULATOR)}
    members = [MemberSpec(b, b.title(), "BANK", (accounts[b].address,)) for b in BANKS]
    members.append(MemberSpec(REGULATOR, "Regulator", "OBSERVER", (accounts[REGULATOR].address,)))
    suite = Suite.deploy(EvmSession(), DEPLOYER, members, [VALIDATOR])
    client = EvmClient(suite)
    return suite, {m: BankSession(m, accounts[m], client) for m in (*BANKS, REGULATOR)}  # type: ignore[arg-type]
